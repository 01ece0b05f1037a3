"""Grading, round two (issue 20): hostile inboxes, forged answers, malformed notebooks, crashes.

Each test here failed on the grader before issue 20's fixes. Most need no sandbox (collect,
parsing, the gradebook transaction); the few that do use a course of problem set 1 only, so that
they stay quick. The attacks' sources are in ``coursework_attacks.py`` (``ROUND2``).
"""

from __future__ import annotations

import csv
import json
import os
import platform
import runpy
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import coursework_attacks as attacks

ROOT = Path(__file__).resolve().parents[1]
COURSEWORK = ROOT / "coursework"
_load = runpy.run_path(str(COURSEWORK / "scripts" / "siblings.py"))["load"]
course = _load("course")
grading = course.grading
runner = grading.runner
sandbox = grading.sandbox
ADA = COURSEWORK / "class" / "ada" / "ps1" / "ps1.ipynb"
pytestmark = pytest.mark.filterwarnings("ignore:.*not in session:Warning")
SEED = "test-secret-round2"


def _course(tmp_path: Path, names=("ps1",)) -> Path:
    """A course folder with only ``names`` (not released: enough for collect)."""
    root = tmp_path / "coursework"
    for name in names:
        shutil.copytree(COURSEWORK / "source" / name, root / "source" / name)
    shutil.copy(COURSEWORK / "nbgrader_config.py", root)
    return root


def _collect(inbox: Path, root: Path, seconds: float = 60.0) -> list:
    """collect, in a thread: a FIFO that blocks it must fail the test, not hang it."""
    out = []
    thread = threading.Thread(target=lambda: out.append(course.collect(inbox, root)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "collect hangs (a FIFO opened for reading?)"
    return out[0]


def _submitted(root: Path) -> dict[str, bytes]:
    folder = root / "submitted"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.is_dir() else {}


# --------------------------------------------------------------------------- 1. forged cell labels


def test_forged_cell_labels_never_reach_a_report():
    """Labels come from the program the grader sent, by position; a forged record is refused."""
    program = [{"label": "ps1-setup", "source": "x = 1"}, {"label": "cell 3", "source": "1 / 0"}]
    records = runner.execute_cells(program, {}, 5)
    leak = [{"label": "cell c1.E[8x4]#2:1.98,-3.85", "status": "error", "error": "ValueError"}]
    labels = [c["label"] for c in program]
    with pytest.raises(ValueError, match="cell records"):  # records appended: the archive is refused
        grading.parse_answers(runner.call_cases({}, [], {}, 5, records + leak), grading.Limits(), 0, labels)
    forged = [records[0], {**leak[0], "status": "error <b>c1.E 1.98</b>"}]  # same count, label and status forged
    answers = grading.parse_answers(runner.call_cases({}, [], {}, 5, forged), grading.Limits(), 0, labels)
    assert [c["label"] for c in answers["cells"]] == labels
    sub = grading.Submission("mal", "ps1", Path("ps1.ipynb"))
    found = grading.cell_problems(sub, [grading.TaskResult("1.1", 0, 3, cells=answers["cells"])])
    assert [p.detail for p in found] == [("cell 3 (not an answer cell) raised ValueError when graded; "
                                         "this alone costs no points")]


# --------------------------------------------------------------------------- 3. symlinks, FIFOs


def test_collect_refuses_every_symlink_and_fifo_and_reads_nothing_outside_the_inbox(tmp_path):
    root = _course(tmp_path, ("ps1", "ps2", "ps3"))
    inbox = root.parent / "inbox"  # beside coursework/, as the book's example puts it
    (inbox / "ada" / "ps1").mkdir(parents=True)
    shutil.copy(ADA, inbox / "ada" / "ps1" / "ps1.ipynb")
    shutil.copytree(COURSEWORK / "class" / "ada" / "ps2", inbox / "ada" / "ps2")
    (inbox / "m02").mkdir()
    (inbox / "m02" / "ps1").symlink_to(root / "source" / "ps1")                 # absolute, to the solutions
    (inbox / "x").mkdir()
    (inbox / "x" / "ps3").symlink_to(Path("../../coursework/source/ps3"))       # relative, out of the inbox
    (inbox / "m03").mkdir()
    (inbox / "m03" / "ps2").symlink_to(Path("../ada/ps2"))                       # a classmate's work
    (inbox / "m04").symlink_to(inbox / "ada")                                    # a whole student folder
    (inbox / "m05" / "ps1" / "sub").mkdir(parents=True)
    shutil.copy(ADA, inbox / "m05" / "ps1" / "ps1.ipynb")
    (inbox / "m05" / "ps1" / "notes.txt").symlink_to("/etc/passwd")             # a file
    (inbox / "m05" / "ps1" / "sub" / "seed").symlink_to(Path.home())            # a folder, nested
    os.mkfifo(inbox / "m05" / "ps1" / "pipe.ipynb")                             # blocks a reader forever
    (inbox / "m06" / "ps1").mkdir(parents=True)
    os.mkfifo(inbox / "m06" / "ps1" / "ps1.ipynb")
    problems = _collect(inbox, root)
    copied = _submitted(root)
    assert set(copied) == {"ada/ps1/ps1.ipynb", "ada/ps2/ps2.ipynb", "m05/ps1/ps1.ipynb"}, sorted(copied)
    refused = " ".join(p.detail for p in problems if p.kind == "refused_file")
    for name in ("ps1 (a symlink)", "ps3 (a symlink)", "ps2 (a symlink)", "m04 (a symlink)", "notes.txt (a symlink)",
                 "seed (a symlink)", "pipe.ipynb (not a regular file"):
        assert name in refused, name
    assert all("\n" not in p.detail for p in problems)


def test_flat_inbox_refuses_links_folders_fifos_and_deep_json(tmp_path):
    root = _course(tmp_path)
    inbox = tmp_path / "flat"
    inbox.mkdir()
    shutil.copy(ADA, inbox / "ada_ps1.ipynb")
    (inbox / "mal_ps1.ipynb").symlink_to(root / "source" / "ps1" / "ps1.ipynb")
    (inbox / "zz_ps1.ipynb").mkdir()
    os.mkfifo(inbox / "fifo_ps1.ipynb")
    (inbox / "deep_ps1.ipynb").write_text("[" * 200_000 + "]" * 200_000)
    (inbox / "odd_ps1.ipynb").write_text('{"cells": [{"source": [1]}]}')
    problems = _collect(inbox, root)
    assert set(_submitted(root)) == {"ada/ps1/ps1.ipynb"}
    kinds = {p.student_id: p.kind for p in problems}
    assert kinds == {"mal": "refused_file", "zz": "refused_file", "fifo": "refused_file",
                     "deep": "unknown_notebook", "odd": "unknown_notebook"}, kinds


def test_collect_caps_the_size_of_a_submission(tmp_path, monkeypatch):
    monkeypatch.setattr(course, "MAX_FILE", 1 << 20)
    monkeypatch.setattr(course, "MAX_SUBMISSION", 3 << 20)
    root = _course(tmp_path)
    inbox = tmp_path / "inbox"
    folder = inbox / "big" / "ps1"
    folder.mkdir(parents=True)
    shutil.copy(ADA, folder / "ps1.ipynb")
    (folder / "huge.bin").write_bytes(b"x" * (2 << 20))
    for i in range(4):
        (folder / f"part{i}.bin").write_bytes(b"x" * (900 << 10))
    problems = _collect(inbox, root)
    copied = _submitted(root)
    assert "big/ps1/ps1.ipynb" in copied and "big/ps1/huge.bin" not in copied
    assert sum(len(v) for v in copied.values()) <= 3 << 20
    assert {p.kind for p in problems} == {"too_large"}


# --------------------------------------------------------------------------- 10. formulas in reports


def test_collect_refuses_a_hard_link_in_the_inbox(tmp_path):
    """Fresh eyes: a hard link (an archive unpacked by hand can make one) to the instructor's solutions."""
    root = _course(tmp_path)
    inbox = tmp_path / "inbox"
    (inbox / "m07" / "ps1").mkdir(parents=True)
    os.link(root / "source" / "ps1" / "ps1.ipynb", inbox / "m07" / "ps1" / "ps1.ipynb")
    (inbox / "m08").mkdir()
    os.link(root / "source" / "ps1" / "ps1.ipynb", inbox / "m08_ps1.ipynb")  # the flat layout
    (inbox / "m08_ps1.ipynb").chmod(0o644)
    problems = _collect(inbox, root)
    assert _submitted(root) == {}
    details = " ".join(p.detail for p in problems)
    assert details.count("hard link") == 1 and ("m07", "refused_file") in {(p.student_id, p.kind) for p in problems}
    assert ("m08", "unknown_notebook") in {(p.student_id, p.kind) for p in problems}
    # the grader's own copies may have a second name (a backup by hard links, cp -al): still graded
    copy = tmp_path / "submitted-ps1.ipynb"
    shutil.copy(ADA, copy)
    os.link(copy, tmp_path / "backup.ipynb")
    assert grading.identify(grading.read_notebook(copy)) == "ps1"


def test_a_notebook_that_cannot_be_read_gets_a_feedback_page_saying_why(released, tmp_path, monkeypatch, capsys):
    """Issue 21, instructors: an unreadable notebook got no feedback page, only a row in problems.csv."""
    root = _copy_course(released, tmp_path)
    inbox = tmp_path / "inbox"
    for student, data in (("ada", ADA.read_bytes()), ("bad", b'{"cells": [1]'), ("odd", b"[]")):
        (inbox / student / "ps1").mkdir(parents=True)
        (inbox / student / "ps1" / "ps1.ipynb").write_bytes(data)
    (inbox / "gone" / "ps1").mkdir(parents=True)
    (inbox / "gone" / "ps1" / "notes.txt").write_text("no notebook")
    course.collect(inbox, root)
    _canned(monkeypatch)
    for _ in range(2):  # the second run must not call it a removed grade
        problems = course.autograde(root, use_sandbox=False, seed=SEED)
    assert not [p for p in problems if p.kind == "grade_removed"]
    course.feedback(root)
    for student, words in (("bad", "is not valid JSON"), ("odd", "is not a notebook"), ("gone", "no ps1.ipynb")):
        page = (root / "feedback" / student / "ps1" / "ps1.html").read_text()
        assert "Score: 0 / 9</b> (not graded" in page and words in page, page
        assert "not graded: see the notes below" in page
    assert "(graded: ps1.ipynb)" in (root / "feedback" / "ada" / "ps1" / "ps1.html").read_text()
    with course.export(root)[0].open(newline="") as fh:
        assert {r["student_id"]: r["score"] for r in csv.DictReader(fh)} == {
            "ada": "9.0", "bad": "0.0", "odd": "0.0", "gone": "0.0"}
    capsys.readouterr()


def test_problems_csv_never_starts_a_cell_with_a_formula(tmp_path):
    root = _course(tmp_path)
    inbox = tmp_path / "inbox"
    (inbox / "eve" / "ps1").mkdir(parents=True)
    shutil.copy(ADA, inbox / "eve" / "ps1" / "ps1.ipynb")
    (inbox / "eve" / "ps1" / '=HYPERLINK("evil.example";"grades").txt').write_text("x")
    (inbox / "eve" / "@SUM(A1)").write_text("x")
    (inbox / "=cmd_ps1.ipynb").write_text("{}")
    _collect(inbox, root)
    course._write_problems(root, course.submission_problems(root, "eve", "ps1"), "autograde")  # "... is not graded"
    with (root / "reports" / "problems.csv").open(newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert any("HYPERLINK" in c for c in cells) and any("@SUM" in c for c in cells)
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells


# --------------------------------------------------------------------------- 2., 9., 12. autograde


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course of problem set 1 only, released (nbgrader), with an empty gradebook."""
    root = tmp_path_factory.mktemp("released") / "coursework"
    shutil.copytree(COURSEWORK, root, ignore=shutil.ignore_patterns(
        "release", "submitted", "autograded", "feedback", "reports", "gradebook.db", ".grading", "__pycache__",
        "class", "otter", "ps2", "ps3", "ps4"))
    course.release(root)
    return root


def _copy_course(released: Path, tmp_path: Path) -> Path:
    root = tmp_path / "coursework"
    shutil.copytree(released, root)
    return root


def _canned(monkeypatch):
    """run_jobs without sandboxes: every task passes (for tests of what happens around the runs)."""
    def run_jobs(jobs, *args, **kwargs):
        return [grading.TaskResult(job.task, job.lay.points[job.task], job.lay.points[job.task]) for job in jobs]
    monkeypatch.setattr(grading, "run_jobs", run_jobs)


def test_a_kill_while_writing_grades_leaves_every_earlier_grade(released, tmp_path, monkeypatch, capsys):
    root = _copy_course(released, tmp_path)
    inbox = tmp_path / "inbox"
    for student in ("ada", "bob", "cat"):
        (inbox / student / "ps1").mkdir(parents=True)
        shutil.copy(ADA, inbox / student / "ps1" / "ps1.ipynb")
    course.collect(inbox, root)
    _canned(monkeypatch)
    course.autograde(root, use_sandbox=False, seed=SEED)
    with course.export(root)[0].open(newline="") as fh:
        before = {r["student_id"]: r["score"] for r in csv.DictReader(fh)}
    assert set(before.values()) == {"9.0"}
    from nbgrader.api import Gradebook

    calls = []
    add = Gradebook.add_submission

    def killed(self, *args, **kwargs):  # the grader dies on the second submission it records
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return add(self, *args, **kwargs)

    monkeypatch.setattr(Gradebook, "add_submission", killed)
    with pytest.raises(KeyboardInterrupt):
        course.autograde(root, use_sandbox=False, seed=SEED)
    monkeypatch.setattr(Gradebook, "add_submission", add)
    with course.export(root)[0].open(newline="") as fh:
        after = {r["student_id"]: r["score"] for r in csv.DictReader(fh)}
    assert after == before
    assert all((root / "autograded" / s / "ps1" / "result.json").is_file() for s in before)
    capsys.readouterr()


def _malformed(inbox: Path) -> dict[str, str]:
    """{student: what}: submissions that stopped grading for the whole class before issue 20."""
    ada = attacks.load(ADA)
    out = {}

    def put(student, data, name="ps1.ipynb", what=""):
        folder = inbox / student / "ps1"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
        out[student] = what

    put("x01-deep", b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", what="deeply nested JSON")
    number = json.loads(json.dumps(ada))
    number["cells"][3]["source"] = ["x = 1\n", 2]
    put("x02-number", number, what="a source list holding a number")
    for student, code in (("x03-plus", "x = " + " + ".join(["1"] * 200_000)), ("x04-minus", "x = " + "-" * 100_000 + "1")):
        nb = json.loads(json.dumps(ada))
        attacks.insert_after(nb, "ps1-setup", attacks.code_cell(code))
        put(student, nb, what=code[:12])
    put("x05-but", ada, name="ps1 is this ok, but .ipynb", what="a file name with ', but '")
    return out


def test_one_malformed_submission_never_stops_the_class(attacked):
    """Sandboxed: each malformed notebook is one problem line of its student; everybody else is graded."""
    scores, malformed = attacked.scores, attacked.malformed
    assert scores["ada"] == 9.0
    assert scores["x05-but"] == 9.0, "graded the renamed notebook"
    assert scores["x03-plus"] == 9.0 and scores["x04-minus"] == 9.0, "only the unreadable cell is dropped"
    assert scores["x01-deep"] == 0.0 and scores["x02-number"] == 0.0
    kinds = {(p.student_id, p.kind) for p in attacked.problems}
    assert {("x01-deep", "invalid_notebook"), ("x02-number", "invalid_notebook"), ("x03-plus", "unreadable_cell"),
            ("x04-minus", "unreadable_cell"), ("x05-but", "renamed_notebook")} <= kinds
    assert set(malformed) <= set(scores)


def test_a_huge_notebook_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "ps1.ipynb"
    nb = attacks.load(ADA)
    nb["cells"].append(attacks.code_cell("# " + "x" * (grading.MAX_NOTEBOOK + 10)))
    path.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="larger than"):
        grading.read_notebook(path)
    lay = grading.layout(COURSEWORK, "ps1", COURSEWORK / "source" / "ps1" / "ps1.ipynb")
    nb["cells"][-1]["source"] = "# " + "x" * (grading.MAX_CODE + 10)
    path.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="MB of code"):
        grading.read_submission(lay, "big", path)


# --------------------------------------------------------------------------- 7. timeouts under load


def test_a_task_that_timed_out_beside_others_is_rerun_alone(monkeypatch, tmp_path):
    """A time limit is wall-clock time: what timed out while others ran is decided by a run alone."""
    active, lock = [0], threading.Lock()

    def run_task(job, work, limits, *, slot=0, use_sandbox=True):
        with lock:
            active[0] += 1
        time.sleep(0.3)
        with lock:
            crowded = active[0] > 1
        time.sleep(0.3)
        with lock:
            active[0] -= 1
        if job.task == "1.2":  # an endless loop stopped by a per-call (CPU-time) limit: same alone
            runs.append(job.task)
            return grading.TaskResult(job.task, 0.0, 1.0, "timeout")
        return grading.TaskResult(job.task, 0.0 if crowded else 1.0, 1.0, "timeout" if crowded else "passed",
                                  wall_limit=crowded)

    runs = []
    monkeypatch.setattr(grading, "run_task", run_task)
    lay = grading.Layout("ps1", [], set(), {}, {}, {"1.1": 1.0, "1.2": 1.0}, {})
    jobs = [grading.Job(lay, None, task, [], ([], {})) for task in ("1.1", "1.1", "1.2", "1.1", "1.1")]
    results = grading.run_jobs(jobs, tmp_path, grading.Limits(), workers=2)
    assert [r.kind for r in results] == ["passed", "passed", "timeout", "passed", "passed"]
    assert runs == ["1.2"], "a CPU-time limit is not rerun (the reruns are serial: keep them few)"


# --------------------------------------------------------------------------- 6., 11. the sandbox


def _sandboxed(code: str, **kwargs) -> str:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    result = sandbox.run([os.sys.executable, "-I", "-c", code], {}, limits=grading.Limits(wall=30), **kwargs)
    return result.output.decode(errors="replace").strip()


def test_kernel_keyring_calls_are_refused_in_every_sandbox():
    """A key stored by one sandbox would be readable by the next of the same uid (root mode)."""
    numbers = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(platform.machine())
    if numbers is None:
        pytest.skip("no seccomp table for this architecture")
    add_key, keyctl = numbers
    code = (f"import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            f"key = libc.syscall({add_key}, b'user', b'cosim-round2', b'secret', 6, -4)\n"
            f"err = ctypes.get_errno()\nif key > 0:\n    libc.syscall({keyctl}, 3, key)\n"  # revoke it again
            "print(key, err)")
    assert _sandboxed(code) == "-1 1", "add_key must fail with EPERM"


@pytest.fixture(scope="module")
def planted():
    """Renamed copies of the course package inside the grader's environment (removed afterwards).

    A folder and a zip in the venv's site-packages (what ``pip install .`` or a copied wheel leaves,
    under a name no syntax check knows) and a wheel and a folder elsewhere in the environment. The
    names are unique, so a test running beside this one never imports them.
    """
    import sysconfig
    import uuid
    import zipfile

    import cosim_helpers

    name = f"cosim_planted_{uuid.uuid4().hex[:8]}"
    site = Path(sysconfig.get_paths()["purelib"])
    source = Path(cosim_helpers.__file__).parent
    made = {"folder": site / name, "zip": site / f"{name}.zip", "wheel": Path(sys.prefix) / "share" / f"{name}.whl",
            "lib": Path(sys.prefix) / "lib" / name}
    try:
        for key in ("folder", "lib"):
            shutil.copytree(source, made[key], ignore=shutil.ignore_patterns("__pycache__"))
        for key in ("zip", "wheel"):
            made[key].parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(made[key], "w") as archive:
                for path in source.rglob("*.py"):
                    archive.write(path, f"cosim_helpers/{path.relative_to(source)}")
        for path in made.values():
            for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
                p.chmod(0o755 if p.is_dir() else 0o644)
        yield name, made
    finally:
        for path in made.values():
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


_SEARCH = """import json, os, sys, zipfile
planted = {planted!r}
roots = sorted({{sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(sys.executable)), *sys.path}} - {{""}})
found = [p for p in planted if os.path.exists(p)]
for root in roots:
    for folder, dirs, files in os.walk(root):
        for f in files:
            path = os.path.join(folder, f)
            try:
                if f.endswith((".zip", ".whl", ".egg")) and any("cosim" in n for n in zipfile.ZipFile(path).namelist()):
                    found.append(path)
                elif f.endswith(".py") and b"def cosine_similarity(" in open(path, "rb").read():
                    found.append(path)
            except (OSError, zipfile.BadZipFile):
                pass
print(json.dumps(sorted(set(found))))
"""


def test_no_copy_of_the_course_package_is_in_the_sandbox_under_any_name(planted):
    """Issue 20, item 6: only the standard library and the allowed distributions are mounted.

    The sandbox searches everything it can see of the environment (prefixes, ``sys.path``) for
    the package's source and for archives holding it; the grader's environment with the planted
    copies mounted whole (the Otter route, and the runner before) finds them: the search can fail.
    """
    _, made = planted
    code = _SEARCH.format(planted=[str(p) for p in made.values()])
    assert json.loads(_sandboxed(code).splitlines()[-1]) == []
    whole = _sandboxed(code.replace("for root in roots:", "for root in []:"), whole_environment=True)
    assert set(json.loads(whole.splitlines()[-1])) == {str(p) for p in made.values()}


def test_the_sandbox_check_says_so_when_the_numerical_libraries_are_not_in_the_sandboxs_view(monkeypatch):
    """A careless instructor (or an environment this view does not know, e.g. a BLAS outside
    site-packages): the check before grading fails in one line instead of every task scoring 0."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    monkeypatch.setattr(sandbox, "SANDBOX_DISTRIBUTIONS", ())
    sandbox.python_view.cache_clear()
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="cannot import numpy and scipy.*No module named 'numpy'"):
            sandbox.check(grading.Limits(wall=30))
    finally:
        monkeypatch.undo()
        sandbox.python_view.cache_clear()
    assert "private file system" in sandbox.check(grading.Limits(wall=30))


def test_a_planted_copy_of_the_package_cannot_be_imported_by_a_graded_task(attacked):
    """End to end: the forbidden reference, imported from a renamed copy (a folder, a zip), earns nothing."""
    tasks = attacked.tasks["p01-planted"]
    assert tasks == {"1.1": 0.0, "1.2": 2.0, "1.3": 2.0, "1.4": 2.0}, (tasks, attacked.problems)


def test_a_forged_setup_failure_is_the_submissions_problem_not_the_graders(attacked):
    """Fresh eyes: a record saying the release's setup failed made every task a "grader_error" asking
    the instructor to step in; the trusted side now runs the setup alone and finds the forgery."""
    problems = [p for p in attacked.problems if p.student_id == "f01-forged-setup"]
    kinds = {(p.task, p.kind) for p in problems}
    assert kinds == {(task, "forged_record") for task in ("1.1", "1.2", "1.3", "1.4")}, problems
    assert not [p for p in attacked.problems if "instructor" in p.detail or p.kind == "grader_error"]


@pytest.mark.parametrize("attack", sorted(attacks.ROUND2))
def test_round_two_attacks_score_no_more_than_their_real_work_and_leak_nothing(attacked, attack):
    """Sandboxed, end to end: the issue's attacks and the fresh-eyes ones (``coursework_attacks.ROUND2``)."""
    _, earns, _, _ = attacks.ROUND2[attack]
    assert sum(attacked.tasks[attack].values()) <= earns
    with (attacked.root / "reports" / "problems.csv").open(newline="") as fh:
        rows = [",".join(row) for row in csv.reader(fh) if row and row[0] == attack]
    shown = "\n".join(rows) + (attacked.root / "feedback" / attack / "ps1" / "ps1.html").read_text()
    shown = shown.split("Your code, as graded")[0]
    assert "LEAK" not in shown and "c0." not in shown and "c1." not in shown and SEED not in shown
    # an exception type name is shown for at most a few cells: forged names are a channel of ~6 bits each
    assert shown.count("(not an answer cell)") <= 2 * grading.MAX_CELL_ERRORS  # problems.csv + feedback


@pytest.fixture(scope="module")
def attacked(released, planted, tmp_path_factory):
    """One sandboxed autograde run of problem set 1 over every end-to-end attack of this file.

    Each attack is its own student beside ada's honest notebook: the malformed notebooks
    (``_malformed``), a forged setup record, a planted renamed copy of the package and the round
    two attacks (``coursework_attacks.ROUND2``). Sandboxes share nothing, so grading them in one
    class is what ``autograde`` does for a real class, and it starts the grader (sandbox check,
    font cache, gradebook) once instead of once per attack.
    """
    name, made = planted
    tmp = tmp_path_factory.mktemp("attacked")
    root = _copy_course(released, tmp)
    inbox = tmp / "inbox"
    (inbox / "ada" / "ps1").mkdir(parents=True)
    shutil.copy(ADA, inbox / "ada" / "ps1" / "ps1.ipynb")
    malformed = _malformed(inbox)

    def put(student, nb):
        (inbox / student / "ps1").mkdir(parents=True)
        (inbox / student / "ps1" / "ps1.ipynb").write_text(json.dumps(nb))

    put("f01-forged-setup", attacks.insert_after(attacks.load(ADA), "ps1-setup",
                                                 attacks.code_cell(attacks.FORGED_SETUP)))
    put("p01-planted", attacks.replace(attacks.load(ADA), "ps1-t1-cosine", attacks.PLANTED_REFERENCE.format(
        name=name, site=made["folder"].parent, zip=made["zip"], lib=made["lib"].parent)))
    for attack, (source, _, padding, _) in attacks.ROUND2.items():
        nb = attacks.replace(attacks.load(ADA), "ps1-t1-cosine", source) if "def cosine_rows" in source \
            else attacks.insert_after(attacks.load(ADA), "ps1-setup", attacks.code_cell(source))
        for i in range(padding):
            attacks.insert_after(nb, "ps1-setup", attacks.code_cell(f"_cell_{i} = {i}"))
        put(attack, nb)
    course.collect(inbox, root)
    problems = course.autograde(root, seed=SEED)
    course.feedback(root)
    grades, task_grades = course.export(root)
    with grades.open(newline="") as fh:
        scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    with task_grades.open(newline="") as fh:
        tasks: dict = {}
        for r in csv.DictReader(fh):
            tasks.setdefault(r["student_id"], {})[r["task"]] = float(r["score"])
    return SimpleNamespace(root=root, problems=problems, scores=scores, tasks=tasks, malformed=malformed)


# --------------------------------------------------------------------------- fresh eyes


def test_a_newline_in_a_name_never_makes_a_student_id_or_a_second_report_line(tmp_path, capsys):
    """``$`` in the id pattern matched before a final newline: a folder ``ada\\n`` became a student
    whose grades stopped ``lms.py grades`` for the class; a file name could print a fake line."""
    root = _course(tmp_path)
    inbox = tmp_path / "inbox"
    (inbox / "ada\n" / "ps1").mkdir(parents=True)
    shutil.copy(ADA, inbox / "ada\n" / "ps1" / "ps1.ipynb")
    (inbox / "eve" / "ps1").mkdir(parents=True)
    (inbox / "eve" / "x\nautograded ada\\ps1: 9\n").write_text("x")
    problems = _collect(inbox, root)
    assert ("ada\n", "bad_student_id") in {(p.student_id, p.kind) for p in problems}
    assert not (root / "submitted" / "ada\n").exists()
    out = capsys.readouterr().out
    assert all(line.startswith(("  PROBLEM", "collected")) for line in out.splitlines()), out
    rows = (root / "reports" / "problems.csv").read_text().splitlines()
    assert len(rows) == 1 + len(problems)


def test_the_per_call_limit_counts_cpu_time_not_time_spent_waiting_for_a_cpu():
    """Issue 20, item 7: busy neighbours slowed an honest call past a wall-clock limit."""
    waited = runner._run_limited(0.5, time.sleep, 0.8)  # no CPU used: as if starved by neighbours
    assert waited[0] == "ok", waited

    def spin():
        end = time.process_time() + 5
        while time.process_time() < end:
            pass

    start = time.monotonic()
    assert runner._run_limited(0.5, spin)[0] == "timeout"  # an endless loop is still stopped
    assert time.monotonic() - start < 2
    assert runner._run_limited(0.2, time.sleep, 5)[0] == "timeout"  # and so is a call that blocks


def test_a_call_stops_before_the_run_is_killed_and_says_it_was_the_wall_clock(monkeypatch):
    """The run's deadline cuts a slow call short (answers still come back), marked for a rerun alone."""
    monkeypatch.setattr(runner, "DEADLINE", time.monotonic() + 0.3)
    status, _, error = runner._run_limited(20, time.sleep, 5)
    assert (status, error) == ("timeout", "deadline")


def test_a_resubmission_turning_a_folder_into_a_file_is_one_problem(tmp_path, capsys):
    """Fresh eyes: ``notes/`` then a file ``notes`` (or back) made ``collect --update`` raise for everyone."""
    root = _course(tmp_path)
    inbox = tmp_path / "inbox"
    for student in ("ada", "mal"):
        (inbox / student / "ps1").mkdir(parents=True)
        shutil.copy(ADA, inbox / student / "ps1" / "ps1.ipynb")
    (inbox / "mal" / "ps1" / "notes").mkdir()
    (inbox / "mal" / "ps1" / "notes" / "a.txt").write_text("a")
    course.collect(inbox, root)
    shutil.rmtree(inbox / "mal" / "ps1" / "notes")
    (inbox / "mal" / "ps1" / "notes").write_text("now a file")
    (inbox / "ada" / "ps1" / "extra.txt").write_text("new")
    problems = course.collect(inbox, root, update=True)
    assert ("mal", "conflict") in {(p.student_id, p.kind) for p in problems}
    assert (root / "submitted" / "ada" / "ps1" / "extra.txt").read_text() == "new"
    capsys.readouterr()


# --------------------------------------------------------------------------- 7., 8. per sandbox


_MEMORY_HOGS = """import os, time
for _ in range(2):
    os.fork()  # 4 processes
os.setsid()
block = bytearray(400 << 20)
for i in range(0, len(block), 4096):
    block[i] = 1
time.sleep(20)
"""

_CPU_HOGS = """import os, time
for _ in range(8):  # eight busy processes, each in a session of its own, orphaned by a double fork
    if os.fork() == 0:
        os.setsid()
        if os.fork():
            os._exit(0)
        while True:
            pass
time.sleep(25)  # the graded program itself waits, as a runner would
"""


def test_the_watchdog_stops_a_sandbox_whose_processes_together_pass_the_memory_cap():
    """Issue 20, item 8: four processes of 400 MB, each far under its own 3 GB, 1.6 GB together."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    limits = grading.Limits(wall=30, total_memory=1 << 30)
    result = sandbox.run([sys.executable, "-I", "-c", _MEMORY_HOGS], {}, limits=limits)
    assert result.stopped == "memory" and not result.timed_out, result
    assert result.seconds < 15


def test_memory_outside_every_processs_resident_size_is_refused():
    """Fresh eyes: 12 memfds of 60 MB held 720 MB while the watchdog saw 9 MB resident (and 1,024
    descriptors of 64 MB each would be 64 GB); a detached System V segment is the same."""
    if platform.machine() not in ("x86_64", "aarch64"):
        pytest.skip("no seccomp table for this architecture")
    code = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "try:\n    os.memfd_create('hold')\n    memfd = 0\nexcept OSError as exc:\n    memfd = exc.errno\n"
            "shm = libc.shmget(0, 1 << 20, 0o1600)\nprint(memfd, shm, ctypes.get_errno())")
    assert _sandboxed(code) == "1 -1 1", "memfd_create and shmget must fail with EPERM"


def test_the_watchdog_stops_a_sandbox_whose_orphaned_processes_together_pass_the_cpu_cap():
    """Issue 20, items 7 and 8: eight busy setsid orphans, each under its own 20 s CPU limit."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    limits = grading.Limits(wall=30, cpu=20, total_cpu=3)
    result = sandbox.run([sys.executable, "-I", "-c", _CPU_HOGS], {}, limits=limits)
    assert result.stopped == "cpu" and not result.timed_out, result
    assert result.seconds < 20
    assert sandbox.tree_usage(os.getpid())[2] >= 1  # the measure sees this process itself


_SHORT_LIVED = """import os, signal, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reaped automatically: their time reaches no parent
while True:
    for _ in range(1):
        try:
            child = os.fork()
        except OSError:  # the process limit, while the machine is busy
            break
        if child == 0:
            end = time.process_time() + 0.3
            while time.process_time() < end:
                pass
            os._exit(0)
    time.sleep(0.5)
"""


def test_the_watchdog_counts_the_cpu_time_of_children_that_were_reaped_automatically():
    """Fresh eyes: with SIGCHLD ignored, an ended child's CPU time was in no live process's
    ``cutime``: short-lived busy children used CPU without limit until the wall clock."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    result = sandbox.run([sys.executable, "-I", "-c", _SHORT_LIVED], {}, limits=grading.Limits(wall=25, total_cpu=2))
    assert result.stopped == "cpu" and not result.timed_out, result
    assert result.seconds < 20


def test_the_watchdog_finds_the_process_tree_also_without_the_kernels_children_lists(monkeypatch):
    """Kernels built without CONFIG_PROC_CHILDREN: the full scan of /proc finds the same tree."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        time.sleep(0.3)
        fast = sandbox._tree_pids(os.getpid())
        real = open

        def no_children(path, *args, **kwargs):
            if str(path).endswith("/children"):
                raise FileNotFoundError(path)
            return real(path, *args, **kwargs)

        monkeypatch.setattr(sandbox, "open", no_children, raising=False)
        assert child.pid in fast and os.getpid() in fast
        assert len(sandbox._tree_pids(os.getpid())) > len(fast)  # every process of /proc
        assert sandbox.tree_usage(os.getpid())[2] == len(fast)  # and the walk from the root keeps the tree
    finally:
        child.kill()
        child.wait()


def test_a_sandbox_returns_when_its_program_ends_not_at_the_watchdogs_next_poll(monkeypatch):
    """The watchdog slept out its interval after the run ended, and the grader waited for it: 0.2 s
    added to every sandbox (about a third of a quick task's run). Now the end of the run wakes it."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    monkeypatch.setattr(sandbox, "WATCH_INTERVAL", 5.0)
    start = time.monotonic()
    result = sandbox.run([sys.executable, "-I", "-c", "print('done')"], {}, limits=grading.Limits(wall=30))
    assert result.output.strip() == b"done" and result.returncode == 0, result
    assert time.monotonic() - start < 4, "the grader waited for the watchdog's next poll"


def test_a_sandbox_stopped_by_the_watchdog_is_that_tasks_limit_problem(monkeypatch, tmp_path):
    lay = grading.layout(COURSEWORK, "ps1", COURSEWORK / "source" / "ps1" / "ps1.ipynb")
    sub = grading.read_submission(lay, "mal", ADA)
    cases = grading.make_cases(lay, "1.1", SEED)
    job = grading.Job(lay, sub, "1.1", cases, grading.encode_cases(cases))
    for stopped, words in (("memory", "3 GB of memory"), ("cpu", "60 s of CPU time")):
        monkeypatch.setattr(sandbox, "run", lambda *a, stopped=stopped, **k: sandbox.Result(
            -9, b"", b"", 0, 1.0, stopped=stopped))
        result = grading.run_task(job, tmp_path, grading.Limits())
        assert (result.kind, result.score, result.wall_limit) == ("limit", 0.0, False)
        assert result.message == f"grading task 1.1 was stopped: its processes together used more than {words}"


# --------------------------------------------------------------------------- the Otter route's disk


def test_the_otter_sandbox_writes_its_results_into_a_capped_tmpfs_not_onto_the_graders_disk(monkeypatch, tmp_path):
    """Fresh eyes: ``otter run`` wrote into a writable host folder, where a student's kernel could
    leave any number of 64 MB files. Now Otter's results folder is a tmpfs of ``RESULTS_SPACE``
    and the results file comes back through the answers pipe."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    otter_export = _load("otter_export")
    fill = ("for i in range(8):\n    open(f'/grade/results/f{i}', 'wb').write(b'x' * (4 << 20))\n")
    write = "open('/grade/results/results.json', 'w').write('{\"score\": 1}')"
    command = [sys.executable, "-I", "-c", otter_export.RESULTS_BACK, "{answers_fd}", sys.executable, "-I", "-c"]
    limits = grading.Limits(wall=30)
    spare = [os.pipe() for _ in range(12)]  # the answers pipe gets a descriptor above 9 (a shell redirects 0-9)
    back = sandbox.run([*command, write], {}, limits=limits, whole_environment=True,
                       scratch={"/grade/results": otter_export.RESULTS_SPACE})
    assert back.answers == b'{"score": 1}', back
    full = sandbox.run([*command, fill + write], {}, limits=limits, whole_environment=True,
                       scratch={"/grade/results": otter_export.RESULTS_SPACE})
    assert b"No space left on device" in full.output and full.answers == b"", full
    for fd in (fd for pair in spare for fd in pair):
        os.close(fd)
    seen = {}
    real = sandbox.run

    def run(command, binds, **kwargs):
        seen.update(kwargs)
        return sandbox.Result(0, b'{"tests": [], "score": 2.0}', b"", 0, 1.0)

    monkeypatch.setattr(sandbox, "run", run)
    assert otter_export.otter_run(tmp_path / "a.zip", tmp_path / "s.ipynb") == {"tests": [], "score": 2.0}
    assert not seen.get("writable") and seen["scratch"] == {"/grade/results": otter_export.RESULTS_SPACE}
    assert seen["hidden"] == otter_export._hidden_packages()
    monkeypatch.setattr(sandbox, "run", real)


def test_the_otter_sandbox_sees_the_slow_to_import_iri_checker_as_an_empty_read_only_folder():
    """``rfc3987_syntax`` (jsonschema's IRI format checks, used by neither Otter nor nbformat) compiles
    38 Earley grammars when imported, in Otter's process and again in its kernel: about half of the
    time of grading a notebook. The Otter sandbox shows its folder empty, and nothing can be put there."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    otter_export = _load("otter_export")
    hidden = otter_export._hidden_packages()
    pytest.importorskip("rfc3987_syntax")
    assert hidden and all(Path(p).name == "rfc3987_syntax" and any(Path(p).iterdir()) for p in hidden)
    code = ("import os, sys\nfrom jsonschema import FormatChecker\n"
            "print(os.listdir(sys.argv[1]), 'rfc3987_syntax.syntax_helpers' in sys.modules)\n"
            "try:\n    open(os.path.join(sys.argv[1], 'x.py'), 'w')\nexcept OSError as exc:\n    print(exc.errno)")
    result = sandbox.run([sys.executable, "-I", "-c", code, hidden[0]], {}, limits=grading.Limits(wall=60),
                         whole_environment=True, hidden=hidden)
    assert result.output.decode().split() == ["[]", "False", "30"], result.output  # EROFS


def test_a_second_grader_running_at_the_same_time_does_not_use_up_the_process_limit():
    """Fresh eyes: with one uid per worker slot (61000 + slot), the sandboxes of two graders running
    at once (the Otter route beside the nbgrader route, two courses) shared RLIMIT_NPROC, and the
    second grader's programs failed to start ("setpriv: failed to execute ...")."""
    if shutil.which("bwrap") is None or sandbox.mode() != "root":
        pytest.skip("root mode only (in user mode the limit counts the grader's own user)")
    busy = ("import os, time\nfor _ in range(30):  # the Otter route's sandboxes allow 64 processes\n"
            "    if os.fork() == 0:\n        time.sleep(5)\n        os._exit(0)\ntime.sleep(5)")
    first = threading.Thread(target=sandbox.run, args=([sys.executable, "-I", "-c", busy], {}),
                             kwargs={"limits": grading.Limits(wall=15, processes=64)}, daemon=True)
    first.start()
    time.sleep(2)
    other = ("import runpy, sys\nsandbox = runpy.run_path(sys.argv[1])\n"
             "r = sandbox['run']([sys.executable, '-I', '-c', 'print(\"started\")'], {})\nprint(r.output.decode())")
    second = subprocess.run([sys.executable, "-c", other, str(COURSEWORK / "scripts" / "sandbox.py")],
                            check=False, capture_output=True, text=True, timeout=60)
    assert "started" in second.stdout, second.stdout + second.stderr
    first.join()
