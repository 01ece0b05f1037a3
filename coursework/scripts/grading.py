"""The trusted half of grading: inputs from the course seed, sandboxed runs, and the scores.

Grading one submission of one problem set (``course.py autograde`` does this for everyone):

1. :func:`read_submission` parses the notebook as JSON (it never runs it) and picks the student's
   code: every code cell that is not one of the problem set's locked cells (setup, demos,
   self-checks), in notebook order, as *Run All* would execute them. Noise an honest student
   makes is tolerated and reported in plain words (:class:`Problem` notices): changed cell ids,
   cells copied or moved, self-check cells deleted or reordered, notebook metadata lost (the task
   is then found by the function it defines), IPython magics, a byte-order mark.
2. :func:`static_problems` reads the student's code as syntax trees (``ast``; nothing is run)
   for the names a task forbids (the reference implementation in ``cosim_helpers``).
3. For every task, the grader draws the inputs from the instructor's secret (:func:`course_seed`,
   ``source/<ps>/hidden_tests.py``) and :func:`run_task` runs the setup of the problem set (from
   the release), the student's cells and the calls on those inputs in a fresh bubblewrap sandbox
   (``sandbox.py``, ``runner.py``), with the task's forbidden reference poisoned in the package
   copy the sandbox sees. The sandbox returns answers as data: an ``.npz`` archive of plain
   numeric arrays, read here with ``allow_pickle=False`` after checking the archive's size.
4. :func:`score_task` checks those answers with the instructor's checks in this (trusted)
   process, which never imports or executes the student's code. The messages a student sees
   come from the instructor's checks and labels only: nothing the submission printed or raised
   (beyond the name of a standard exception type) reaches the feedback.
"""

from __future__ import annotations

import ast
import builtins
import copy
import hashlib
import importlib.util
import io
import json
import os
import re
import runpy
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
from typing import NamedTuple

import numpy as np

SCRIPTS = Path(__file__).resolve().parent


# The one loader of sibling scripts (see siblings.py).
load = runpy.run_path(str(SCRIPTS / "siblings.py"))["load"]
sandbox = load("sandbox")
runner = load("runner")

Limits = sandbox.Limits

#: The environment variable and the file (outside the repository) that hold the course seed.
SEED_ENV = "COSIM_COURSE_SEED"
SEED_FILE_ENV = "COSIM_COURSE_SEED_FILE"
SEED_FILE = Path("~/.config/cosim-course/seed")
#: The documented public default, for the sample class only: with it, hidden inputs are public.
SAMPLE_SEED = "sample-class"

_TASK = re.compile(r"^ps(\d+)-t(\d+)-")
#: Exception type names that may be shown to a student (a type name of the student's own making
#: could carry hidden inputs out of the sandbox, so any other name is shown as "an exception").
SHOWN_ERRORS = {name for name, value in vars(builtins).items()
                if isinstance(value, type) and issubclass(value, BaseException)} | {"LinAlgError"}


class Problem(NamedTuple):
    """Something about one student's submission that the instructor (and the student) should know."""

    student_id: str
    assignment: str
    task: str  # "1.3", or "" for the whole submission
    kind: str
    detail: str


def task_label(grade_id: str) -> str:
    """``"ps2-t3-check"`` -> ``"2.3"``."""
    m = _TASK.match(grade_id or "")
    return f"{m.group(1)}.{m.group(2)}" if m else ""


def _cell_source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _meta(cell) -> dict:
    meta = cell.get("metadata", {})
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


# --------------------------------------------------------------------------- the secret


def course_seed() -> tuple[str, str]:
    """The instructor's course seed and where it came from.

    In this order: the environment variable ``COSIM_COURSE_SEED``; the file named by
    ``COSIM_COURSE_SEED_FILE``, else ``~/.config/cosim-course/seed``; else the public default
    ``"sample-class"`` (fine for the sample class and for practice, not for marks: anyone can
    compute the hidden inputs from it). A seed file inside the course repository is refused.
    """
    if os.environ.get(SEED_ENV):
        return os.environ[SEED_ENV], f"${SEED_ENV}"
    path = Path(os.environ.get(SEED_FILE_ENV) or SEED_FILE).expanduser()
    if path.is_file():
        repo = SCRIPTS.parent.parent.resolve()
        if path.resolve().is_relative_to(repo):
            raise SystemExit(f"the course seed file {path} is inside the repository: move it out (it is a secret)")
        seed = path.read_text(encoding="utf-8").strip()
        if seed:
            return seed, str(path)
    return SAMPLE_SEED, "the public sample-class default"


def task_seed(seed: str, assignment: str, task: str) -> int:
    """The seed of one task's hidden inputs: a one-way function of the secret course seed.

    Both routes draw from it: this grader (:func:`task_rng`) and the Otter version, whose
    autograder zip holds these per-task integers, never the course seed (``otter_export.py``).
    """
    digest = hashlib.sha256(f"cosim-course|{seed}|{assignment}|{task}".encode()).digest()
    return int.from_bytes(digest[:16], "little")


def task_rng(seed: str, assignment: str, task: str) -> np.random.Generator:
    """The generator of one task's hidden inputs (seeded by :func:`task_seed`)."""
    return np.random.default_rng(task_seed(seed, assignment, task))


# --------------------------------------------------------------------------- the problem set


@dataclass
class Layout:
    """What the grader knows about a problem set, from the release and the hidden tests."""

    name: str
    setup: list[dict]                 #: the release's locked code cells before the first task
    locked: set[str]                  #: grade ids of all locked cells (never taken from a submission)
    solutions: dict[str, dict]        #: solution grade id -> {"task", "functions", "stub"}
    checks: dict[str, str]            #: task -> grade id of its graded (self-check) cell
    points: dict[str, float]          #: task -> points
    tasks: dict[str, dict]            #: task -> {"cases", "check", "forbidden", "functions"}
    public: dict = field(default_factory=dict, repr=False)
    setup_ok: bool | None = field(default=None, repr=False)  #: the setup alone runs in a sandbox (when asked)


def _defined_functions(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return []
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def load_hidden_tests(course: Path, name: str):
    """The instructor's ``source/<name>/hidden_tests.py`` as a module (trusted code)."""
    path = Path(course) / "source" / name / "hidden_tests.py"
    spec = importlib.util.spec_from_file_location(f"hidden_tests_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def layout(course: Path, name: str, notebook: Path | None = None) -> Layout:
    """Read the released notebook of ``name`` (trusted; or ``notebook``) and its hidden tests."""
    course = Path(course)
    notebook = notebook or course / "release" / name / f"{name}.ipynb"
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    setup, locked, solutions, checks, points = [], set(), {}, {}, {}
    seen_solution = False
    for cell in nb["cells"]:
        meta = _meta(cell)
        grade_id = meta.get("grade_id", "")
        if meta.get("solution"):
            seen_solution = True
            solutions[grade_id] = {"task": task_label(grade_id), "stub": _cell_source(cell),
                                   "functions": _defined_functions(_cell_source(cell))}
        elif meta.get("locked") or meta.get("grade"):
            locked.add(grade_id)
            if meta.get("grade"):
                checks[task_label(grade_id)] = grade_id
                points[task_label(grade_id)] = float(meta.get("points", 0))
            elif cell.get("cell_type") == "code" and not seen_solution:
                setup.append({"label": grade_id, "source": _cell_source(cell)})
    module = load_hidden_tests(course, name)
    tasks = {}
    for task, spec in module.TASKS.items():
        functions = [f for s in solutions.values() if s["task"] == task for f in s["functions"]]
        tasks[task] = {"cases": spec["cases"], "check": spec["check"], "forbidden": list(spec.get("forbidden", [])),
                       "functions": functions}
    if set(tasks) != set(points):
        raise SystemExit(f"{name}: hidden_tests.py covers tasks {sorted(tasks)}, the notebook grades {sorted(points)}")
    return Layout(name, setup, locked, solutions, checks, points, tasks)


def public_namespace(lay: Layout) -> dict:
    """The namespace of the problem set's own setup cells, run here (instructor code only)."""
    if not lay.public:
        import matplotlib

        namespace = {"__name__": "__setup__"}
        with matplotlib.rc_context():
            for cell in lay.setup:
                exec(compile(cell["source"], f"<{lay.name} {cell['label']}>", "exec"), namespace)  # noqa: S102
        lay.public = namespace
    return lay.public


def make_cases(lay: Layout, task: str, seed: str) -> list[dict]:
    """The calls of one task (inputs drawn from the course seed), with what the checks expect."""
    spec = lay.tasks[task]
    cases = spec["cases"](task_rng(seed, lay.name, task), public_namespace(lay))
    for case in cases:
        if case["call"] not in spec["functions"]:
            raise ValueError(f"{lay.name} task {task}: case calls {case['call']}, not a function of the task")
    return cases


def encode_cases(cases: list[dict]) -> tuple[list[dict], dict[str, np.ndarray]]:
    """The calls as JSON plus arrays (what the sandbox gets: labels, functions, inputs; never ``expect``)."""
    import scipy.sparse as sp

    described, arrays = [], {}
    for index, case in enumerate(cases):
        args = {}
        for name, value in case["args"].items():
            key = f"c{index}.{name}"
            if sp.issparse(value):
                csr = sp.csr_matrix(value)
                arrays[key + ".data"], arrays[key + ".indices"], arrays[key + ".indptr"] = (
                    csr.data, csr.indices, csr.indptr)
                args[name] = {"csr": key, "shape": list(csr.shape)}
            elif isinstance(value, np.ndarray):
                arrays[key] = value
                args[name] = {"array": key}
            elif isinstance(value, bool | int | float | np.integer | np.floating | np.bool_):
                args[name] = {"value": value.item() if hasattr(value, "item") else value}
            elif isinstance(value, list | tuple):
                args[name] = {"value": [float(v) for v in value]}
            else:
                raise TypeError(f"cannot pass a {type(value).__name__} to the sandbox")
        described.append({"label": case["label"], "function": case["call"], "args": args})
    return described, arrays


# --------------------------------------------------------------------------- the submission


@dataclass
class Submission:
    student: str
    assignment: str
    path: Path
    cells: list[dict] = field(default_factory=list)   #: the student's code cells to run, in order
    problems: list[Problem] = field(default_factory=list)
    gradable: bool = True
    static: dict[str, str | None] = field(default_factory=dict)  #: task -> static_problems, when computed


_MAGIC = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)


def _strip_magics(source: str) -> str:
    """IPython magics and shell lines (``%time``, ``!pip ...``) become ``pass``: not run when graded."""
    return _MAGIC.sub(lambda m: f"{m.group(1)}pass  # IPython line removed by the grader", source)


#: The largest notebook file read (bytes): far above any honest problem set, with images stored.
MAX_NOTEBOOK = 20 << 20
#: The most student code graded per submission (characters of code cells, magics removed).
MAX_CODE = 1 << 20


def read_regular(path: Path, limit: int = MAX_NOTEBOOK, *, one_name: bool = True) -> bytes:
    """The bytes of a regular file that is not a symlink or a hard link, at most ``limit`` of them, else ValueError.

    Opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat`` on the open file, so that
    a symlink (planted in an inbox), a FIFO (which would block forever), a device or a folder is
    refused without being followed or waited on, whatever the path looked like a moment before.
    A file with more than one name (``st_nlink > 1``) is refused too: a hard link planted in an
    inbox (by an archive unpacked by hand) could be the instructor's solutions. ``one_name=False``
    for the grader's own copies in ``submitted/``, which a backup by hard links (``cp -al``,
    rsnapshot) gives a second name.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ValueError(f"cannot open it ({'a symlink' if Path(path).is_symlink() else exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if one_name and info.st_nlink > 1:  # a hard link (an unpacked archive can plant one) may be any file of this disk
            raise ValueError("a hard link to a file that may lie outside the inbox")
        if info.st_size > limit:
            raise ValueError(f"larger than {limit >> 20} MB")
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > limit:
                raise ValueError(f"larger than {limit >> 20} MB")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def parse_notebook(data: bytes) -> dict:
    """A notebook's bytes as JSON, checked for the shape the grader reads, else ValueError.

    Tolerant of a byte-order mark and of CRLF line ends. Everything a malformed file can raise
    while parsed (nesting deep enough to exhaust the recursion limit included) is a ValueError.
    """
    try:
        data = json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("no list of cells")  # noqa: TRY004 - a malformed file, reported as such
    for cell in data["cells"]:
        if not isinstance(cell, dict) or not isinstance(cell.get("metadata", {}), dict):
            raise ValueError("a cell is not a notebook cell")  # noqa: TRY004 - a malformed file
        source = cell.get("source", "")
        if not (isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)):
            raise ValueError("a cell's source is not text")
    return data


def read_notebook(path: Path) -> dict:
    """Parse a collected notebook file (a regular file of at most :data:`MAX_NOTEBOOK` bytes)."""
    return parse_notebook(read_regular(path, one_name=False))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")


def csv_safe(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP's CSV-injection advice).

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``; plain
    numbers (``-1``, ``2.5``) are left alone. For every cell of a report whose text can come
    from a submission (a file name, a folder name) or from a roster.
    """
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def parse_code(source: str) -> ast.Module | None:
    """The syntax tree of a cell, or None if it has a syntax error; ValueError if it cannot be read at all.

    A cell nested or chained deeply enough (``1 + 1 + ...`` 200,000 times) makes the parser
    raise RecursionError or MemoryError; that is the submission's problem, never the grader's.
    """
    try:
        return ast.parse(source)
    except SyntaxError:
        return None
    except (RecursionError, MemoryError, ValueError):
        raise ValueError("too deeply nested or too long for Python's parser") from None


def identify(notebook: dict) -> str | None:
    """The problem set a notebook belongs to, from its cells' nbgrader ids or its title."""
    for cell in notebook.get("cells", []):
        m = re.match(r"^(ps\d+)-", str(_meta(cell).get("grade_id", "")))
        if m:
            return m.group(1)
    for cell in notebook.get("cells", []):
        m = re.search(r"^# Problem set (\d+)", _cell_source(cell), re.MULTILINE)
        if m:
            return f"ps{m.group(1)}"
    return None


def read_submission(lay: Layout, student: str, path: Path) -> Submission:
    """The student's code cells of a notebook, and the (harmless) noise found in it."""
    sub = Submission(student, lay.name, Path(path))

    def notice(task, kind, detail):
        sub.problems.append(Problem(student, lay.name, task, kind, detail))

    nb = read_notebook(path)
    seen_ids: dict[str, list[int]] = {}
    code = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        grade_id = str(_meta(cell).get("grade_id", ""))
        seen_ids.setdefault(grade_id, []).append(index)
        if grade_id in lay.locked:
            continue  # setup, demos and self-checks come from the release, never from a submission
        source = _strip_magics(_cell_source(cell))
        label = f"cell {index + 1}" + (f" ({grade_id})" if grade_id in lay.solutions else "")
        try:
            parse_code(source)
        except ValueError as exc:
            notice("", "unreadable_cell", f"{label} is {exc}: not run")
            continue
        code.append({"label": label, "source": source, "grade_id": grade_id if grade_id in lay.solutions else ""})
    for grade_id, info in lay.solutions.items():
        copies = [c for c in code if c["grade_id"] == grade_id]
        task = info["task"]
        if not copies:
            found = [c for c in code if set(info["functions"]) & set(_defined_functions(c["source"]))]
            if found:
                notice(task, "missing_cell_metadata",
                       f"the answer cell of task {task} has lost its nbgrader id (copied into a new notebook?): "
                       f"graded the cell that defines {', '.join(info['functions'])}")
            else:
                notice(task, "missing_cell", f"no cell defines {', '.join(info['functions'])}: task {task} scores 0")
        elif len(copies) > 1:
            edited = [c for c in copies if c["source"].strip() != info["stub"].strip()]
            if edited and len(edited) < len(copies):
                for c in copies:
                    if c not in edited:
                        code.remove(c)  # an unmodified copy of the stub next to real work is ignored
            if len({c["source"] for c in edited}) > 1:
                notice(task, "duplicated_cell",
                       f"the answer cell of task {task} appears {len(copies)} times with different code: "
                       "graded as Run All would run them (the last definition counts)")
    for task, grade_id in lay.checks.items():
        if grade_id not in seen_ids:
            notice(task, "missing_check_cell",
                   f"the self-check cell of task {task} was deleted; that does not change the grade "
                   "(the grader uses its own copy)")
    sub.cells = [{"label": c["label"], "source": c["source"]} for c in code]
    if sum(len(c["source"]) for c in sub.cells) > MAX_CODE:
        raise ValueError(f"its code cells hold more than {MAX_CODE >> 20} MB of code")
    return sub


# --------------------------------------------------------------------------- static checks


def _names_used(node) -> set[str]:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.add(sub.attr)
        elif isinstance(sub, ast.alias):
            names.add(sub.name.rsplit(".", 1)[-1])
            if sub.asname:
                names.add(sub.asname)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sub.value))
    return names


def static_problems(lay: Layout, sub: Submission, task: str) -> str | None:
    """Why the student's code for ``task`` breaks its rules, read from the syntax tree (or None).

    Looks at the task's functions and every function of the student's they use (by name,
    transitively) for a forbidden reference name, also as an attribute, an import or a string
    (``getattr(module, "fit_objective1")``).
    """
    forbidden = {name.rsplit(".", 1)[-1]: name for name in lay.tasks[task]["forbidden"]}
    if not forbidden:
        return None
    functions: dict[str, ast.AST] = {}
    for cell in sub.cells:
        try:
            tree = parse_code(cell["source"])
        except ValueError:
            tree = None  # read_submission drops such cells; a caller that did not is not run either
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and hasattr(node, "name"):
                functions.setdefault(node.name, [])
                functions[node.name].append(node)
    todo, done = list(lay.tasks[task]["functions"]), set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        for node in functions.get(name, []):
            used = _names_used(node)
            hit = sorted(set(forbidden) & used)
            if hit:
                return f"{name} uses {forbidden[hit[0]]}, which task {task} does not allow"
            todo += [n for n in used if n in functions]
    return None


# --------------------------------------------------------------------------- the package copies


def package_copy(work: Path, forbidden: list[str]) -> Path:
    """A copy of ``cosim_helpers`` in which each forbidden function raises when called.

    The sandbox sees only this copy, so no unpoisoned version of the reference exists inside it
    (not as a function object, an alias, a module to reload or a source file to read).
    """
    import cosim_helpers

    key = hashlib.sha256("|".join(sorted(forbidden)).encode()).hexdigest()[:12] if forbidden else "plain"
    root = Path(work) / "packages" / key
    target = root / "cosim_helpers"
    if target.is_dir():
        return root
    tmp = Path(tempfile.mkdtemp(dir=work, prefix="pkg-"))
    shutil.copytree(Path(cosim_helpers.__file__).parent, tmp / "cosim_helpers",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for dotted in forbidden:
        package, module, function = dotted.split(".")
        path = tmp / package / f"{module}.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == function:
                message = f"grading: this task must not call {dotted}"
                node.body = [ast.parse(f"raise ReferenceUsedError({message!r})").body[0]]
        tree.body.append(ast.parse("class ReferenceUsedError(RuntimeError):\n    pass").body[0])  # after __future__
        ast.fix_missing_locations(tree)
        path.write_text(ast.unparse(tree), encoding="utf-8")
    for p in [tmp, *tmp.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(root)
    except OSError:  # another worker made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def prepare_matplotlib(work: Path, limits: Limits, use_sandbox: bool) -> Path | None:
    """Build matplotlib's font cache once, so that sandboxes (private, empty /tmp) do not each rebuild it."""
    cache = Path(work) / "mplcache"
    if any(cache.glob("fontlist-*.json")):
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o777)
    command = [sys.executable, "-I", "-c", "import matplotlib.pyplot"]
    if use_sandbox:
        sandbox.run(command, {}, limits=limits, writable={str(cache): "/tmp/mpl"})
    else:
        sandbox.run(command, {"__tmp__": str(cache)}, limits=limits, sandbox=False)
    return cache if any(cache.glob("fontlist-*.json")) else None


# --------------------------------------------------------------------------- one task, sandboxed


@dataclass
class TaskResult:
    task: str
    score: float
    max_score: float
    kind: str = "passed"     #: passed, failed_check, not_attempted, error, timeout, limit, forbidden_call, ...
    message: str = ""        #: for the student and the instructor (never the submission's own text)
    seconds: float = 0.0
    cells: list = field(default_factory=list)
    printed: int = 0
    log: bytes = b""         #: the first bytes the run printed: for the instructor's log only, never feedback
    wall_limit: bool = False  #: stopped by the wall-clock limit of the whole run (which neighbours can cause)


@dataclass
class Job:
    lay: Layout
    sub: Submission
    task: str
    cases: list
    encoded: tuple


def _shown(error: str) -> str:
    return error if error in SHOWN_ERRORS else "an exception of its own type"


#: The statuses a cell record may have (anything else in a record is the submission's forgery).
CELL_STATUSES = ("ok", "error", "timeout")


def parse_answers(blob: bytes, limits: Limits, n_cases: int, labels: list[str]) -> dict:
    """The sandbox's archive as {"cells": [...], "cases": [...]} with arrays; raises ValueError if malformed.

    ``labels`` are the labels of the program the grader sent, in order. The cell records are
    matched to them by position, and each record keeps only a status and an exception type: a
    label (or any other text) written by the sandbox never reaches anyone, since the student's
    code can rewrite the whole archive (replace ``call_cases``, append records of its own). A
    manifest with a different number of cell records is malformed.
    """
    if not blob:
        raise ValueError("no answers")
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        infos = archive.infolist()
        if len(infos) > 20 * n_cases + 10:
            raise ValueError("too many arrays")
        if sum(i.file_size for i in infos) > limits.answers or any(i.compress_type != zipfile.ZIP_STORED for i in infos):
            raise ValueError("archive too large or compressed")
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    manifest = json.loads(bytes(arrays.pop("manifest").astype(np.uint8)).decode())
    cases = manifest["cases"]
    if not isinstance(cases, list) or len(cases) != n_cases:
        raise ValueError("wrong number of answers")
    parsed = []
    for index, entry in enumerate(cases):
        status = str(entry.get("status", ""))
        answer = {"status": status, "error": str(entry.get("error", ""))[:80], "result": None, "after": {}}
        if status == "ok":
            description = entry["result"]
            if description is None:
                answer["status"] = "bad_return"
            else:
                kinds = description["items"] if description["kind"] == "tuple" else [description["kind"]]
                values = []
                for j, kind in enumerate(kinds):
                    array = arrays[f"c{index}.r{j}"]
                    if array.dtype.kind not in "biufc":
                        raise ValueError("not numbers")
                    values.append({"float": lambda a: float(a), "int": lambda a: int(a), "bool": lambda a: bool(a),
                                   "array": lambda a: a}[kind](array))
                answer["result"] = tuple(values) if description["kind"] == "tuple" else values[0]
            for name in entry.get("after", []):
                answer["after"][str(name)] = arrays[f"c{index}.a.{name}"]
        parsed.append(answer)
    records = manifest.get("cells")
    if not isinstance(records, list) or len(records) != len(labels):
        raise ValueError("wrong number of cell records")
    cells = []
    for label, record in zip(labels, records, strict=True):
        status = str(record.get("status", "")) if isinstance(record, dict) else ""
        cells.append({"label": label, "status": status if status in CELL_STATUSES else "error",
                      "error": str(record.get("error", ""))[:80] if isinstance(record, dict) else ""})
    return {"cells": cells, "cases": parsed}


def score_task(lay: Layout, task: str, cases: list, answers: dict, limits: Limits) -> TaskResult:
    """Decide one task from the answers (trusted: the student's code is not involved any more)."""
    points = lay.points[task]
    check = lay.tasks[task]["check"]
    setup_labels = {cell["label"] for cell in lay.setup}
    if any(c["label"] in setup_labels and c["status"] != "ok" for c in answers["cells"]):
        return TaskResult(task, 0.0, points, "grader_error",
                          "the problem set's own setup failed in the sandbox: a problem of the grader, or code of "
                          "the submission forged its record (tell the instructor)")
    solution_cells = {c["label"]: c for c in answers["cells"] if "(" in c["label"]}
    for case, answer in zip(cases, answers["cases"], strict=True):
        status = answer["status"]
        where = f"case \u201c{case['label']}\u201d"
        if status == "missing":
            failed = [c for c in solution_cells.values() if c["status"] != "ok" and task_label(
                c["label"].split("(")[-1].rstrip(")")) == task]
            if failed:
                c = failed[0]
                if c["status"] == "timeout":
                    return TaskResult(task, 0.0, points, "timeout",
                                      f"the cell of task {task} was stopped after the {limits.call:g} s limit "
                                      "(an endless loop?)")
                return TaskResult(task, 0.0, points, "error",
                                  f"the cell of task {task} raised {_shown(c['error'])} when it ran, so "
                                  f"{case['call']} was never defined")
            return TaskResult(task, 0.0, points, "missing_function",
                              f"{case['call']} is not defined (was its cell deleted or the function renamed?)")
        if status == "timeout":
            return TaskResult(task, 0.0, points, "timeout",
                              f"{case['call']} was stopped after the {limits.call:g} s limit on {where} (an endless loop?)")
        if status == "error":
            error = answer["error"]
            if error == "NotImplementedError":
                return TaskResult(task, 0.0, points, "not_attempted", f"{case['call']} still raises NotImplementedError")
            if error == "ReferenceUsedError":
                return TaskResult(task, 0.0, points, "forbidden_call",
                                  f"{case['call']} calls {', '.join(lay.tasks[task]['forbidden'])}, "
                                  f"which task {task} does not allow")
            if error == "MemoryError":
                return TaskResult(task, 0.0, points, "limit", f"{case['call']} ran out of memory on {where}")
            return TaskResult(task, 0.0, points, "error", f"{case['call']} raised {_shown(error)} on {where}")
        if status != "ok":
            return TaskResult(task, 0.0, points, "bad_answer",
                              f"{case['call']} returned something that is not numbers or arrays on {where}")
        try:
            check(case, answer["result"], answer["after"])
        except AssertionError as exc:
            return TaskResult(task, 0.0, points, "failed_check", f"{where}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a malformed answer breaks the check's arithmetic
            return TaskResult(task, 0.0, points, "failed_check",
                              f"{where}: the answer has the wrong form ({type(exc).__name__})")
    return TaskResult(task, points, points)


def _write_bundle(folder: Path, program: list[dict], encoded) -> None:
    described, arrays = encoded
    folder.mkdir(parents=True)
    (folder / "program.json").write_text(json.dumps({"cells": program}), encoding="utf-8")
    (folder / "cases.json").write_text(json.dumps(described), encoding="utf-8")
    np.savez(folder / "inputs.npz", **arrays)
    folder.chmod(0o755)
    for p in folder.iterdir():
        p.chmod(0o644)


def run_task(job: Job, work: Path, limits: Limits, *, slot: int = 0, use_sandbox: bool = True) -> TaskResult:
    """Run one submission's code for one task in a fresh sandbox and score the answers."""
    lay, sub, task = job.lay, job.sub, job.task
    reason = sub.static[task] if task in sub.static else static_problems(lay, sub, task)
    if reason:
        return TaskResult(task, 0.0, lay.points[task], "forbidden_call", reason)
    package = package_copy(work, lay.tasks[task]["forbidden"])
    mpl = prepare_matplotlib(work, limits, use_sandbox)
    bundle = Path(tempfile.mkdtemp(dir=work, prefix="job-"))
    shutil.rmtree(bundle)
    program = lay.setup + sub.cells
    _write_bundle(bundle, program, job.encoded)
    # every call stops 2 s before the whole run is killed, so that the answers so far come back
    deadline = f"{time.monotonic() + max(limits.wall - 2.0, 1.0):.3f}"
    try:
        if use_sandbox:
            binds = {str(package): sandbox.PACKAGE_DIR, str(SCRIPTS / "runner.py"): f"{sandbox.RUNNER_DIR}/runner.py",
                     str(bundle): sandbox.BUNDLE_DIR}
            for font in (mpl.glob("fontlist-*.json") if mpl else []):
                binds[str(font)] = f"/tmp/mpl/{font.name}"
            command = [sys.executable, "-I", f"{sandbox.RUNNER_DIR}/runner.py", sandbox.BUNDLE_DIR, "{answers_fd}",
                       str(limits.call), sandbox.PACKAGE_DIR, deadline]
            result = sandbox.run(command, binds, limits=limits, slot=slot)
        else:
            tmp = bundle.parent / (bundle.name + "-tmp")
            tmp.mkdir()
            for font in (mpl.glob("fontlist-*.json") if mpl else []):
                shutil.copy(font, tmp / font.name)
            command = [sys.executable, "-I", str(SCRIPTS / "runner.py"), str(bundle), "{answers_fd}",
                       str(limits.call), str(package), deadline]
            result = sandbox.run(command, {"__tmp__": str(tmp)}, limits=limits, sandbox=False)
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        shutil.rmtree(bundle, ignore_errors=True)
    points = lay.points[task]
    if result.stopped:  # the watchdog: all the sandbox's processes together, not one of them
        cap = (f"{limits.total_memory / (1 << 30):g} GB of memory" if result.stopped == "memory" else
               f"{limits.total_cpu if limits.total_cpu is not None else limits.cpu:g} s of CPU time")
        return TaskResult(task, 0.0, points, "limit", f"grading task {task} was stopped: its processes together "
                          f"used more than {cap}", result.seconds, printed=result.output_bytes, log=result.output)
    if result.timed_out:
        return TaskResult(task, 0.0, points, "timeout",
                          f"grading task {task} was stopped after the {limits.wall:g} s limit for the whole run "
                          "(an endless loop?)", result.seconds, printed=result.output_bytes, wall_limit=True)
    if result.answers_too_large:
        return TaskResult(task, 0.0, points, "limit", f"the answers of task {task} exceed {limits.answers >> 20} MB",
                          result.seconds, printed=result.output_bytes)
    try:
        answers = parse_answers(result.answers, limits, len(job.cases), [c["label"] for c in program])
    except Exception:  # noqa: BLE001 - whatever the sandbox sent back
        how = ("it used more CPU time or memory than allowed, or ended itself" if result.returncode
               else "its answers were unreadable")
        return TaskResult(task, 0.0, points, "limit" if result.returncode else "bad_answer",
                          f"grading task {task} failed: {how}", result.seconds, printed=result.output_bytes,
                          log=result.output)
    scored = score_task(lay, task, job.cases, answers, limits)
    if scored.kind == "grader_error" and use_sandbox and setup_runs_alone(lay, work, limits, slot):
        scored = TaskResult(task, 0.0, points, "forged_record",
                            "the problem set's own setup was reported as failed, but it runs correctly alone: the "
                            "submission's code changed the grader's records")
    if scored.kind == "timeout" and any(a["status"] == "timeout" and a["error"] == "deadline" for a in
                                        [*answers["cases"], *answers["cells"]]):
        scored.wall_limit = True  # stopped by the run's wall clock, not by its CPU limit: rerun alone
    scored.seconds, scored.cells, scored.printed = result.seconds, answers["cells"], result.output_bytes
    scored.log = result.output
    return scored


def setup_runs_alone(lay: Layout, work: Path, limits: Limits, slot: int = 0) -> bool:
    """Whether the problem set's own setup cells run without error in a sandbox, with no student code.

    Asked only when a task's records say the setup failed: the records come from the sandbox,
    where the student's code could have forged them, so the trusted side tells a broken setup
    (the grader's problem) from a forged record (the submission's). Decided once per problem set.
    """
    if lay.setup_ok is None:
        bundle = Path(tempfile.mkdtemp(dir=work, prefix="setup-"))
        shutil.rmtree(bundle)
        _write_bundle(bundle, lay.setup, ([], {}))
        package = package_copy(work, [])
        try:
            binds = {str(package): sandbox.PACKAGE_DIR, str(SCRIPTS / "runner.py"): f"{sandbox.RUNNER_DIR}/runner.py",
                     str(bundle): sandbox.BUNDLE_DIR}
            command = [sys.executable, "-I", f"{sandbox.RUNNER_DIR}/runner.py", sandbox.BUNDLE_DIR, "{answers_fd}",
                       str(limits.call), sandbox.PACKAGE_DIR]
            result = sandbox.run(command, binds, limits=limits, slot=slot)
            answers = parse_answers(result.answers, limits, 0, [c["label"] for c in lay.setup])
            lay.setup_ok = all(c["status"] == "ok" for c in answers["cells"])
        except ValueError:
            lay.setup_ok = False
        finally:
            shutil.rmtree(bundle, ignore_errors=True)
    return lay.setup_ok


def run_jobs(jobs: list[Job], work: Path, limits: Limits, *, workers: int | None = None,
             use_sandbox: bool = True) -> list[TaskResult]:
    """Run many jobs on ``workers`` parallel sandboxes (default: the number of CPUs).

    A task stopped by the wall-clock limit of its whole run is run once more after all others,
    alone, and that result counts: another submission running beside it (15 busy processes of its
    own, say) can slow an honest answer past a wall-clock limit. (The per-call limits count CPU
    time, which neighbours do not use up: an endless loop stopped by one is not rerun.)
    """
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    workers = max(1, workers or os.cpu_count() or 1)
    slots: Queue = Queue()
    for slot in range(workers):
        slots.put(slot)

    def one(job):
        slot = slots.get()
        try:
            return run_task(job, work, limits, slot=slot, use_sandbox=use_sandbox)
        except Exception as exc:  # noqa: BLE001 - one submission's failure never stops the class
            return TaskResult(job.task, 0.0, job.lay.points[job.task], "grading_failed",
                              f"the grader could not grade task {job.task} of this submission "
                              f"({type(exc).__name__}): scored 0; tell the instructor")
        finally:
            slots.put(slot)

    if workers == 1:
        results = [one(job) for job in jobs]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, jobs))
    for index, (job, result) in enumerate(zip(jobs, results, strict=True)):
        if result.wall_limit and workers > 1:
            results[index] = one(job)  # alone: nothing else runs now
    return results


#: At most this many failing non-answer cells are named, with their exception type, per submission.
MAX_CELL_ERRORS = 3


def cell_problems(sub: Submission, results: list[TaskResult]) -> list[Problem]:
    """Errors in the student's own cells while they were loaded (once per cell, not per task).

    The status and exception type of a cell come from the sandbox, which the student's code can
    forge (the label cannot: :func:`parse_answers`). A chosen type name among the ~70 shown
    carries about 6 bits, so only the first :data:`MAX_CELL_ERRORS` cells are named; the rest
    are counted in one line.
    """
    found, problems = set(), []
    more = 0
    task_cells = set()
    for result in results:
        for cell in result.cells:
            if "(" in cell["label"]:
                task_cells.add(cell["label"])
    for result in results:
        for cell in result.cells:
            if cell["status"] == "ok" or cell["label"] in found or cell["label"] in task_cells:
                continue
            if not cell["label"].startswith("cell "):
                continue  # the release's own setup cells
            found.add(cell["label"])
            if len(found) > MAX_CELL_ERRORS:
                more += 1
                continue
            what = ("was stopped after the time limit" if cell["status"] == "timeout"
                    else f"raised {_shown(cell['error'])}")
            problems.append(Problem(sub.student, sub.assignment, "", "cell_error",
                                    f"{cell['label']} (not an answer cell) {what} when graded; "
                                    "this alone costs no points"))
    if more:
        problems.append(Problem(sub.student, sub.assignment, "", "cell_error",
                                f"{more} more cells (not answer cells) failed when graded; this alone costs no points"))
    if any(r.printed > 1 << 20 for r in results):
        problems.append(Problem(sub.student, sub.assignment, "", "printed_a_lot",
                                "the code printed more than 1 MB while graded; the output was dropped"))
    return problems


def score_in_process(lay: Layout, task: str, namespace: dict, cells: list[dict], cases: list[dict],
                     limits: Limits | None = None) -> TaskResult:
    """Grade cells in *this* process (tests of the course's own code only, never students')."""
    limits = limits or Limits()
    sub = Submission("in-process", lay.name, Path("in-process.ipynb"), cells=cells)
    reason = static_problems(lay, sub, task)
    if reason:
        return TaskResult(task, 0.0, lay.points[task], "forbidden_call", reason)
    ns = {k: copy.deepcopy(v) if isinstance(v, np.ndarray) else v for k, v in namespace.items()}
    records = runner.execute_cells(cells, ns, limits.call)
    described, arrays = encode_cases(cases)
    blob = runner.call_cases(ns, described, arrays, limits.call, records)
    try:
        answers = parse_answers(blob, limits, len(cases), [c["label"] for c in cells])
    except ValueError:
        return TaskResult(task, 0.0, lay.points[task], "limit", "the answers are too large or malformed")
    return score_task(lay, task, cases, answers, limits)
