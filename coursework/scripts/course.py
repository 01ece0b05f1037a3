#!/usr/bin/env python
"""The instructor's workflow for the graded problem sets: nbgrader around a sandboxed grader.

Each step is one subcommand (and one make target, see ``coursework/coursework.mk``)::

    python coursework/scripts/course.py release     # source/ -> release/: the student version
    python coursework/scripts/course.py collect --inbox DIR   # DIR/<student>/<ps>/ or DIR/<student>_*.ipynb
    python coursework/scripts/course.py autograde   # submitted/ -> sandboxed runs -> gradebook.db
    python coursework/scripts/course.py export      # reports/grades.csv, reports/task_grades.csv
    python coursework/scripts/course.py feedback    # feedback/<student>/<ps>/<ps>.html
    python coursework/scripts/course.py all --inbox DIR       # the five steps in order
    python coursework/scripts/course.py check-sandbox         # is bubblewrap usable here?

The course directory is the folder above this script (``--course`` selects another one, e.g. a
copy). What nbgrader does, and what it no longer does:

* **kept**: ``generate_assignment`` (the release: solutions become stubs) and the SQLite
  gradebook (students, tasks, points, scores; ``formgrader`` can still adjust scores by hand),
  and its CSV export;
* **replaced**: ``autograde``, which executes a student's notebook in a kernel of the grader's
  own user and reads the scores from outputs the student's code can forge, and
  ``generate_feedback``, which renders those outputs (and with them anything the code printed).
  Here every submission runs in a bubblewrap sandbox, one task at a time, and returns answers as
  data that a trusted process checks against the instructor's hidden tests
  (``source/<ps>/hidden_tests.py``); see ``grading.py``, ``runner.py``, ``sandbox.py``.

Around it, what a class of real submissions needs:

* ``release`` refuses to finish if any instructor-only line (solution code) or file (hidden
  tests) is left in ``release/`` (:func:`find_leaks`);
* ``collect`` only *copies* the inbox; it never modifies or deletes a submitted file, and it
  never overwrites a different earlier copy unless asked to (``--update``);
* ``autograde`` grades every student and assignment separately, so that a broken submission is
  reported for that student in ``reports/problems.csv`` and never stops the grading of the
  others; a submission that cannot be graded any more loses its earlier grade, with a problem
  saying so.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import os
import re
import runpy
import shutil
import stat
import sys
import time
import warnings
from pathlib import Path
from typing import NamedTuple

COURSE = Path(__file__).resolve().parent.parent
# nbgrader runs helper programs of its environment (``alembic``, the kernel): find them even when
# this script is started as ``.venv/bin/python coursework/scripts/course.py`` without activation.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
# nbgrader 0.9 triggers harmless SQLAlchemy session warnings while it records grades.
warnings.filterwarnings("ignore", message=r".*not in session.*")
DEFAULT_INBOX = COURSE / "class"

#: nbgrader's region markers; no released notebook may contain them.
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
#: Instructor-only files that must never be in release/.
SECRET_FILES = ("hidden_tests.py",)
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")  # \Z, not $: "$" also matches before a final newline
_TASK = re.compile(r"^ps(\d+)-t(\d+)-")
PROBLEM_FIELDS = ("student_id", "assignment", "task", "kind", "detail", "stage")


# The one loader of sibling scripts (see siblings.py).
load = runpy.run_path(str(Path(__file__).with_name("siblings.py")))["load"]
grading = load("grading")
Problem = grading.Problem


class Leak(NamedTuple):
    """An instructor-only line found in a released notebook."""

    notebook: str
    cell: int
    line: str


# --------------------------------------------------------------------------- helpers


def assignments(course: Path = COURSE) -> list[str]:
    """Names of the problem sets: the folders ``source/<name>/`` holding ``<name>.ipynb``."""
    source = Path(course) / "source"
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def task_label(grade_id: str) -> str:
    """``"ps2-t3-check"`` -> ``"2.3"`` (the task numbering used in the notebooks)."""
    m = _TASK.match(grade_id or "")
    return f"{m.group(1)}.{m.group(2)}" if m else ""


def _read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _cell_source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _nbgrader(course: Path):
    """nbgrader's config for ``course`` and a factory of CourseDirectory objects (lazy import)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(Path(course).resolve())

    def coursedir(assignment_id="", student_id="*"):
        cd = CourseDirectory(config=config)
        cd.assignment_id = assignment_id
        cd.student_id = student_id
        return cd

    return config, coursedir


def _run(app) -> dict:
    """Run an nbgrader converter, capturing its log; never raises (returns success/log/error)."""
    from nbgrader.utils import capture_log

    return capture_log(app)


def _gradebook(course: Path, db_url: str | None = None):
    from nbgrader.api import Gradebook

    _, coursedir = _nbgrader(course)
    cd = coursedir()
    return Gradebook(db_url or cd.db_url, cd.course_id)


# --------------------------------------------------------------------------- release


def instructor_only_lines(source_notebook: Path) -> set[str]:
    """Lines of solution regions and hidden-test regions that occur nowhere else in the notebook.

    These are the lines a student version must not contain: the stripped text of every line
    strictly inside ``### BEGIN SOLUTION`` / ``### END SOLUTION`` or ``### BEGIN HIDDEN TESTS``
    / ``### END HIDDEN TESTS``, minus lines that also appear outside those regions (such as a
    blank line or ``)``), which a released notebook may legitimately contain.
    """
    inside, outside = set(), set()
    for cell in _read_json(source_notebook)["cells"]:
        depth = 0
        for line in _cell_source(cell).splitlines():
            text = line.strip()
            if any(f"BEGIN {what}" in text for what in ("SOLUTION", "HIDDEN TESTS")):
                depth += 1
            elif any(f"END {what}" in text for what in ("SOLUTION", "HIDDEN TESTS")):
                depth -= 1
            elif text:
                (inside if depth > 0 else outside).add(text)
    return inside - outside


def find_leaks(course: Path = COURSE) -> list[Leak]:
    """Scan every cell (source and outputs) of every released notebook for instructor-only text.

    Returns one :class:`Leak` per offending line: a region marker, or a line of
    :func:`instructor_only_lines` of the corresponding source notebook.
    """
    course = Path(course)
    leaks = [Leak(str(p.relative_to(course)), -1, "an instructor-only file")
             for name in SECRET_FILES for p in sorted((course / "release").rglob(name))]
    for name in assignments(course):
        secret = instructor_only_lines(course / "source" / name / f"{name}.ipynb")
        for nb_path in sorted((course / "release" / name).glob("*.ipynb")):
            for index, cell in enumerate(_read_json(nb_path)["cells"]):
                texts = [_cell_source(cell)]
                for output in cell.get("outputs", []):
                    texts.append(json.dumps(output))
                for text in texts:
                    for line in text.splitlines():
                        if line.strip() in secret or any(m in line for m in MARKERS):
                            leaks.append(Leak(str(nb_path.relative_to(course)), index, line.strip()))
    return leaks


def release(course: Path = COURSE) -> list[Path]:
    """Generate the student version of every problem set into ``release/`` and check it.

    Runs ``nbgrader generate_assignment`` (which also records the assignments, their tasks and
    points in ``gradebook.db``), then :func:`find_leaks`. Raises ``SystemExit`` on failure.
    """
    from nbgrader.converters import GenerateAssignment

    course = Path(course)
    config, coursedir = _nbgrader(course)
    for name in assignments(course):
        app = GenerateAssignment(coursedir=coursedir(name), config=config)
        app.force = True
        result = _run(app)
        if not result["success"]:
            raise SystemExit(f"nbgrader generate_assignment {name} failed:\n{result.get('log', '')}"
                             f"{result.get('error', '')}")
    leaks = find_leaks(course)
    if leaks:
        lines = "\n".join(f"  {leak.notebook}, cell {leak.cell}: {leak.line}" for leak in leaks)
        raise SystemExit(f"The release contains instructor-only lines; do not hand it out:\n{lines}")
    released = sorted((course / "release").glob("*/*.ipynb"))
    for path in released:
        print(f"released {path.relative_to(course)}")
    print("checked: no solution code and no hidden test in any released cell or file")
    return released


# --------------------------------------------------------------------------- collect


#: Caps of what ``collect`` copies: per file, and per student and problem set.
MAX_FILE = 20 << 20
MAX_SUBMISSION = 50 << 20
#: How deep and how many files ``collect`` looks into one problem set's folder.
MAX_DEPTH, MAX_FILES = 8, 200


def _is_regular(path: Path) -> bool:
    """A regular file, not a symlink (whatever it points to), FIFO, device or folder."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _what(entry: os.DirEntry) -> str:
    return "a symlink" if entry.is_symlink() else "not a regular file or folder"


def _walk(folder: Path, refused: list[str], depth: int = 0) -> list[Path]:
    """The regular files under ``folder``, never following a symlink; everything else into ``refused``."""
    files = []
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.is_symlink() or not (entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False)):
            refused.append(f"{entry.name} ({_what(entry)})")
        elif entry.is_dir(follow_symlinks=False):
            if depth >= MAX_DEPTH:
                refused.append(f"{entry.name} (folders nested more than {MAX_DEPTH} deep)")
            else:
                files += _walk(path, refused, depth + 1)
        else:
            files.append(path)
    return files


def _copy_in(data: bytes, target: Path, course: Path, student: str, name: str, update: bool, problems: list) -> None:
    exists = _is_regular(target)
    if exists and target.read_bytes() == data:
        return
    if exists and not update:
        problems.append(Problem(student, name, "", "conflict",
                                f"{target.relative_to(course)} was collected before with "
                                "different content: kept the earlier copy (use --update)"))
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.collecting")
    tmp.write_bytes(data)
    tmp.replace(target)


def _refuse(problems: list, student: str, name: str, detail: str) -> None:
    problems.append(Problem(student, name, "", "refused_file", f"{detail}: not collected (only regular files "
                            "inside the inbox are read; a symlink could point at anything on this machine)"))


def _flat_inbox(inbox: Path, course: Path, names: list[str], update: bool, problems: list) -> list[str]:
    """One folder of notebooks (a Colab class, an LMS download): ``<student>_<anything>.ipynb``.

    The student id is the file name up to the first ``_``; the problem set is read from the
    notebook itself (its cells' nbgrader ids, else its title), so the rest of the name may be
    anything an LMS adds. The copy is ``submitted/<student>/<ps>/<ps>.ipynb``. Only regular
    files are read (a symlink, FIFO or folder of that name is refused).
    """
    students = set()
    for entry in _entries(inbox):
        if not entry.name.endswith(".ipynb") or entry.name.startswith("."):
            continue
        path = Path(entry.path)
        student = path.stem.split("_", 1)[0].strip()
        if not _STUDENT_ID.match(student) or "_" not in path.stem:
            problems.append(Problem(path.stem, "", "", "bad_student_id",
                                    f"{path.name}: name it <student>_<anything>.ipynb: skipped"))
            continue
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            _refuse(problems, student, "", f"{path.name} ({_what(entry)})")
            continue
        try:
            data = grading.read_regular(path, MAX_FILE)
            name = grading.identify(grading.parse_notebook(data))
        except ValueError:
            name = None
        if name not in names:
            problems.append(Problem(student, "", "", "unknown_notebook",
                                    f"{path.name} is not a notebook of any problem set (unreadable, renamed cells "
                                    f"or larger than {MAX_FILE >> 20} MB): not collected"))
            continue
        students.add(student)
        _copy_in(data, course / "submitted" / student / name / f"{name}.ipynb", course, student, name, update, problems)
    return sorted(students)


def _collect_folder(src: Path, dest: Path, course: Path, student: str, name: str, update: bool,
                    problems: list) -> None:
    """Copy one problem set's folder of one student (regular files only, within the caps)."""
    refused: list[str] = []
    files = sorted(_walk(src, refused), key=lambda p: (p.suffix != ".ipynb", p))  # the caps never cost a notebook
    if refused:
        _refuse(problems, student, name, ", ".join(refused))
    if len(files) > MAX_FILES:
        problems.append(Problem(student, name, "", "too_large", f"more than {MAX_FILES} files: only the first "
                                f"{MAX_FILES} collected"))
        files = files[:MAX_FILES]
    total = 0
    for path in files:
        try:
            data = grading.read_regular(path, MAX_FILE)
        except ValueError as exc:
            problems.append(Problem(student, name, "", "too_large" if "larger" in str(exc) else "refused_file",
                                    f"{path.relative_to(src)}: {exc}: not collected"))
            continue
        total += len(data)
        if total > MAX_SUBMISSION:
            problems.append(Problem(student, name, "", "too_large", f"the files add up to more than "
                                    f"{MAX_SUBMISSION >> 20} MB: {path.relative_to(src)} and later ones not collected"))
            break
        try:
            _copy_in(data, dest / path.relative_to(src), course, student, name, update, problems)
        except OSError as exc:  # e.g. a file where an earlier copy had a folder of that name
            problems.append(Problem(student, name, "", "conflict", f"{path.relative_to(src)} could not be copied "
                                    f"({exc.strerror}): kept the earlier copy"))


def collect(inbox: Path = DEFAULT_INBOX, course: Path = COURSE, *, update: bool = False) -> list[Problem]:
    """Copy the inbox into ``submitted/<student>/<assignment>/``.

    Two layouts: a folder per student with one folder per problem set
    (``inbox/<student>/<ps>/*``, everything in it is copied), or one flat folder of notebooks
    (``inbox/<student>_<anything>.ipynb``, see :func:`_flat_inbox`). The inbox is only read,
    and only its regular files: a symlink at any level (a student folder, a problem-set folder,
    a file; inboxes come from git clones, where students can plant them), a FIFO or a device is
    refused with a problem and never followed or opened, so nothing outside the inbox is read.
    Caps: :data:`MAX_FILE` per file, :data:`MAX_SUBMISSION` per student and problem set. A file
    already collected with the same content is left alone; one with different content is
    kept and reported as a conflict, unless ``update`` is true, in which case the new version
    replaces the old copy. Every student found is added to the gradebook. The problems found go
    to ``reports/problems.csv`` (stage ``collect``).
    """
    course, inbox = Path(course), Path(inbox)
    if not inbox.is_dir():
        raise SystemExit(f"inbox {inbox} does not exist")
    names = assignments(course)
    problems = []
    entries = [e for e in _entries(inbox) if not e.name.startswith(".")]
    students = (_flat_inbox(inbox, course, names, update, problems)
                if any(e.name.endswith(".ipynb") for e in entries) else [])
    for entry in entries:
        if entry.name.endswith(".ipynb"):
            continue  # the flat layout's notebooks, above
        if entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                _refuse(problems, entry.name, "", f"{entry.name} ({_what(entry)})")
            continue
        student_dir = Path(entry.path)
        student = student_dir.name
        if not _STUDENT_ID.match(student):
            problems.append(Problem(student, "", "", "bad_student_id",
                                    "folder name is not a valid student id (letters, digits, _ . -): skipped"))
            continue
        students.append(student)
        unknown = []
        for item in _entries(student_dir):
            if item.name not in names:
                unknown.append(item.name)
            elif item.is_symlink() or not item.is_dir(follow_symlinks=False):
                plain_file = not item.is_symlink() and item.is_file(follow_symlinks=False)
                _refuse(problems, student, item.name,
                        f"{item.name} ({'a file, not a folder' if plain_file else _what(item)})")
            else:
                _collect_folder(Path(item.path), course / "submitted" / student / item.name, course, student,
                                item.name, update, problems)
        if unknown:
            problems.append(Problem(student, "", "", "unexpected_file",
                                    f"not part of any assignment, not collected: {', '.join(unknown)}"))
    if (course / "gradebook.db").exists():  # else autograde adds them
        with _gradebook(course) as gb:
            for student in students:
                gb.update_or_create_student(student)
    for student in students:
        print(f"collected {student}")
    _write_problems(course, problems, "collect")
    _print_problems(problems)
    return problems


# --------------------------------------------------------------------------- autograde


def submission_problems(course: Path, student: str, name: str) -> list[Problem]:
    """Problems of ``submitted/<student>/<name>/`` found without reading the code.

    A notebook under another name is graded if it is the only notebook of that problem set in
    the folder (reported as ``renamed_notebook``); ``missing_notebook`` and ``invalid_notebook``
    mean that nothing can be graded.
    """
    return _find_notebook(course, student, name)[0]


def _find_notebook(course: Path, student: str, name: str) -> tuple[list[Problem], Path | None]:
    """The problems of :func:`submission_problems` and the notebook to grade (None: nothing to grade).

    The path is returned as such, never parsed back out of a problem's text (a file name can
    contain anything, ``", but "`` included).
    """
    folder = Path(course) / "submitted" / student / name
    expected = folder / f"{name}.ipynb"
    if not folder.is_dir() or folder.is_symlink():
        return [Problem(student, name, "", "not_submitted", "nothing submitted: scored 0")], None
    problems = []
    others = sorted(p for p in folder.iterdir() if p != expected and _is_regular(p))
    graded = expected
    if not _is_regular(expected):
        candidates = []
        for other in others:
            if other.suffix == ".ipynb":
                try:
                    if grading.identify(grading.read_notebook(other)) == name:
                        candidates.append(other)
                except ValueError:
                    pass
        if len(candidates) == 1:
            problems.append(Problem(student, name, "", "renamed_notebook",
                                    f"no {name}.ipynb, but {candidates[0].name} is this problem set: graded it "
                                    f"(please hand it in as {name}.ipynb next time)"))
            others = [o for o in others if o != candidates[0]]
            graded = candidates[0]
        else:
            found = f" (found: {', '.join(o.name for o in others if o.suffix == '.ipynb')})" if others else ""
            problems.append(Problem(student, name, "", "missing_notebook",
                                    f"no {name}.ipynb in the submission{found}: scored 0; "
                                    "ask the student to hand it in under that name"))
            return problems, None
    for other in others:
        problems.append(Problem(student, name, "", "unexpected_file", f"{other.name} is not graded"))
    return problems, graded


def autograde(course: Path = COURSE, *, limits=None, workers: int | None = None, use_sandbox: bool = True,
              seed: str | None = None, students: list[str] | None = None) -> list[Problem]:
    """Grade every collected submission, one sandbox per student, problem set and task.

    For each submission: the notebook is read as data; each task's calls run in a fresh
    bubblewrap sandbox (``grading.run_task``) and the answers are checked in this process. The
    scores go into ``gradebook.db`` (replacing any earlier grade of that submission; a
    submission that cannot be graded any more is removed, so it counts 0, with a
    ``grade_removed`` problem), the details into ``autograded/<student>/<ps>/result.json``, and
    every problem into ``reports/problems.csv``. The submitted files are only read. ``students``
    limits the run to some students (their rows of ``problems.csv`` are replaced, the others kept).
    """
    course = Path(course)
    if not (course / "gradebook.db").exists():
        raise SystemExit("no gradebook: run the release step first")
    submitted = course / "submitted"
    if not submitted.is_dir():
        raise SystemExit("nothing collected: run the collect step first")
    limits = limits or grading.Limits()
    if use_sandbox:
        print(grading.sandbox.check(limits))
    if seed is None:
        seed, origin = grading.course_seed()
        print(f"hidden inputs from the course seed in {origin}")
    start = time.monotonic()
    only = students
    students = sorted(p.name for p in submitted.iterdir() if p.is_dir() and _STUDENT_ID.match(p.name)
                      and (only is None or p.name in only))
    layouts = {name: grading.layout(course, name) for name in assignments(course)}
    cases = {(name, task): grading.make_cases(lay, task, seed) for name, lay in layouts.items() for task in lay.points}
    encoded = {key: grading.encode_cases(value) for key, value in cases.items()}
    problems, subs, jobs, unread = [], {}, [], {}
    for student in students:
        for name, lay in layouts.items():
            subs[(student, name)] = None
            try:
                found, path = _find_notebook(course, student, name)
                problems += found
                if path is None:
                    if any(p.kind != "not_submitted" for p in found):
                        unread[(student, name)] = None  # a folder without a notebook to grade
                    continue
                sub = grading.read_submission(lay, student, path)
                for task in lay.points:  # here, not in a worker: a failure is this submission's
                    sub.static[task] = grading.static_problems(lay, sub, task)
            except (ValueError, UnicodeDecodeError) as exc:
                message = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
                what = "not valid JSON, perhaps truncated" if isinstance(exc, json.JSONDecodeError) else "not a notebook"
                problems.append(Problem(student, name, "", "invalid_notebook",
                                        f"{name}.ipynb is {what} ({message}): not graded, scored 0"))
                unread[(student, name)] = path
                continue
            except Exception as exc:  # noqa: BLE001 - whatever a submission does, the class is graded
                problems.append(Problem(student, name, "", "invalid_notebook",
                                        f"{name}: the grader could not read this submission ({type(exc).__name__}): "
                                        "not graded, scored 0; tell the instructor"))
                unread[(student, name)] = path
                continue
            problems += sub.problems
            subs[(student, name)] = sub
            jobs += [grading.Job(lay, sub, task, cases[(name, task)], encoded[(name, task)]) for task in lay.points]
    results = grading.run_jobs(jobs, course / ".grading", limits, workers=workers, use_sandbox=use_sandbox)
    by_submission: dict = {}
    for job, result in zip(jobs, results, strict=True):
        by_submission.setdefault((job.sub.student, job.sub.assignment), []).append(result)
    # First every result file (each replaced atomically), then every grade in one transaction:
    # the gradebook is updated in a copy that replaces gradebook.db in one rename, so a grader
    # killed half way leaves the earlier grades of everybody, never a half-graded class.
    grades, removed = {}, []
    for (student, name), sub in subs.items():
        earlier = _read_result(course, student, name)
        if sub is None:
            removed.append((student, name))
            if earlier is not None:
                problems.append(Problem(student, name, "", "grade_removed",
                                        f"the earlier grade ({earlier['score']:g}/{earlier['max_score']:g}) was "
                                        "removed: the current submission cannot be graded"))
            continue
        task_results = by_submission.get((student, name), [])
        for r in task_results:
            if r.kind != "passed":
                problems.append(Problem(student, name, r.task, r.kind, r.message))
        problems += grading.cell_problems(sub, task_results)
        grades[(student, name)] = {layouts[name].checks[r.task]: r.score for r in task_results}
        _write_result(course, student, name, sub, task_results,
                      [p for p in problems if p.student_id == student and p.assignment == name])
        print(f"autograded {student}/{name}: {sum(r.score for r in task_results):g}/"
              f"{sum(r.max_score for r in task_results):g}")
    _record_grades(course, subs, grades)
    for student, name in removed:
        shutil.rmtree(course / "autograded" / student / name, ignore_errors=True)
    for (student, name), path in unread.items():  # a feedback page that says why it was not graded
        _write_unread(course, student, name, path, layouts[name],
                      [p for p in problems if p.student_id == student and p.assignment == name])
    _write_problems(course, problems, "autograde", students=None if only is None else students)
    _print_problems([p for p in problems if p.kind not in ("failed_check", "not_attempted")])
    print(f"graded {len(subs)} submissions ({len(jobs)} sandboxed runs) in {time.monotonic() - start:.1f} s")
    return problems


def _record_grades(course: Path, subs: dict, grades: dict) -> None:
    """Replace the gradebook's grades of ``subs`` in one transaction (a copy renamed over gradebook.db).

    ``grades``: (student, problem set) -> {grade id: score}; a submission of ``subs`` without
    grades has its earlier grade removed. Run nothing else on the gradebook meanwhile (formgrader
    edits made during an autograde run are lost).
    """
    import sqlite3

    db = Path(course) / "gradebook.db"
    tmp = db.with_name(".gradebook.db.autograde")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(db) as src, sqlite3.connect(tmp) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    with _gradebook(course, f"sqlite:///{tmp.resolve()}") as gb:
        for (student, name) in subs:
            gb.update_or_create_student(student)
            _remove_submission(gb, name, student)
            if (student, name) in grades:
                gb.add_submission(name, student)
                for grade_id, score in grades[(student, name)].items():
                    gb.find_grade(grade_id, name, name, student).auto_score = score
        gb.db.commit()
    tmp.replace(db)


def _remove_submission(gb, name: str, student: str) -> None:
    from nbgrader.api import MissingEntry

    try:
        gb.remove_submission(name, student)
    except MissingEntry:
        pass


def _read_result(course: Path, student: str, name: str):
    """The result of the last grading of a submission, or None (also when it could not be graded)."""
    path = Path(course) / "autograded" / student / name / "result.json"
    result = json.loads(path.read_text()) if path.is_file() else None
    return result if result is None or result.get("graded", True) else None


def _write_unread(course, student, name, path, lay, problems) -> Path:
    """``result.json`` of a submission that could not be graded: no grade, only the grader's reasons.

    It gives the student a feedback page saying why (the problems' texts are the grader's own);
    the gradebook has no grade for it (0 in the export).
    """
    tasks = [grading.TaskResult(task, 0.0, points, "not_graded", "not graded: see the notes below")
             for task, points in lay.points.items()]
    sub = grading.Submission(student, name, Path(path or f"{name}.ipynb"))
    return _write_result(course, student, name, sub, tasks, problems, graded=False)


def _write_result(course, student, name, sub, task_results, problems, *, graded: bool = True) -> Path:
    folder = Path(course) / "autograded" / student / name
    folder.mkdir(parents=True, exist_ok=True)
    result = {
        "student_id": student, "assignment": name, "notebook": sub.path.name, "graded": graded,
        "score": sum(r.score for r in task_results), "max_score": sum(r.max_score for r in task_results),
        "tasks": [{"task": r.task, "score": r.score, "max_score": r.max_score, "kind": r.kind,
                   "message": r.message, "seconds": round(r.seconds, 3)} for r in task_results],
        "problems": [p._asdict() for p in problems],
        "code": sub.cells,
    }
    path = folder / "result.json"
    log = b"".join(f"==== task {r.task} ====\n".encode() + r.log + b"\n" for r in task_results)
    for target, data in ((folder / "output.log", log),  # what the code printed (capped): instructor only
                         (path, json.dumps(result, indent=1).encode())):
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)  # never a missing or half-written result
    return path


def _write_problems(course: Path, problems: list[Problem], stage: str, students: list[str] | None = None) -> Path:
    """Replace the rows of ``stage`` (of ``students``, default all) in ``reports/problems.csv``."""
    path = Path(course) / "reports" / "problems.csv"
    path.parent.mkdir(exist_ok=True)
    kept = []
    if path.is_file():
        with path.open(newline="") as fh:
            kept = [row for row in csv.DictReader(fh)
                    if row.get("stage") != stage or (students is not None and row.get("student_id") not in students)]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(PROBLEM_FIELDS)
        for row in kept:
            writer.writerow([grading.csv_safe(row.get(f, "")) for f in PROBLEM_FIELDS])
        for p in problems:  # file and folder names are the students': one line, never a formula
            writer.writerow([grading.csv_safe(_one_line(v)) for v in (*p, stage)])
    return path


def read_problems(course: Path = COURSE) -> list[dict]:
    """The rows of ``reports/problems.csv``."""
    path = Path(course) / "reports" / "problems.csv"
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _one_line(text: str) -> str:
    """Control characters (a file name can hold a newline) shown escaped: one problem, one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        where = "/".join(x for x in (p.student_id, p.assignment) if x)
        task = f" task {p.task}" if p.task else ""
        print(_one_line(f"  PROBLEM {where}{task} [{p.kind}] {p.detail}"))


# --------------------------------------------------------------------------- export, feedback


def export(course: Path = COURSE) -> tuple[Path, Path]:
    """Write ``reports/grades.csv`` (nbgrader's CSV: one row per student and assignment) and
    ``reports/task_grades.csv`` (one row per student and graded task)."""
    from nbgrader.api import MissingEntry
    from nbgrader.plugins import CsvExportPlugin

    course = Path(course)
    reports = course / "reports"
    reports.mkdir(exist_ok=True)
    grades, tasks = reports / "grades.csv", reports / "task_grades.csv"
    with _gradebook(course) as gb:
        CsvExportPlugin(to=str(grades)).export(gb)
        with tasks.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["student_id", "assignment", "task", "grade_id", "score", "max_score"])
            for assignment in sorted(gb.assignments, key=lambda a: a.name):
                for student in sorted(gb.students, key=lambda s: s.id):
                    for notebook in assignment.notebooks:
                        for cell in sorted(notebook.grade_cells, key=lambda c: c.name):
                            try:
                                score = gb.find_grade(cell.name, notebook.name, assignment.name, student.id).score
                            except MissingEntry:
                                score = 0.0
                            writer.writerow([student.id, assignment.name, task_label(cell.name), cell.name,
                                             f"{score or 0.0:g}", f"{cell.max_score:g}"])
    print(f"wrote {grades.relative_to(course)} and {tasks.relative_to(course)}")
    print(grades.read_text(), end="")
    return grades, tasks


#: What a student reads for each kind of problem (the details come from the grader, never from
#: the submission's own output).
_FEEDBACK_STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left}
.ok{color:#1a7f37}.no{color:#b42318}pre{background:#f6f8fa;padding:.6em;overflow-x:auto}"""


def feedback_html(result: dict) -> str:
    """One student's feedback page for one problem set, from the trusted result only.

    Shows the score of every task, the instructor's message for a failed one (which case failed,
    by its label, and why), the problems found in the submission, and the student's own code of
    the graded cells. Never the hidden tests, their inputs, or anything the code printed.
    """
    e = html.escape
    graded = result.get("graded", True)
    rows = "".join(
        f"<tr><td>{e(t['task'])}</td><td class={'ok' if t['kind'] == 'passed' else 'no'}>"
        f"{t['score']:g} / {t['max_score']:g}</td><td>{e(t['message']) if t['message'] else 'correct'}</td></tr>"
        for t in result["tasks"])
    notes = [p for p in result["problems"] if not p["task"] or p["kind"] not in
             {t["kind"] for t in result["tasks"] if t["task"] == p["task"]}]
    notes_html = ("<h2>Notes on your submission</h2><ul>" + "".join(
        f"<li>{('task ' + e(p['task']) + ': ') if p['task'] else ''}{e(p['detail'])}</li>" for p in notes) + "</ul>"
        if notes else "")
    code = "".join(f"<h3>{e(c['label'])}</h3><pre>{e(c['source'][:20000])}</pre>" for c in result["code"][:60])
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(result['assignment'])}: feedback"
            f"</title><style>{_FEEDBACK_STYLE}</style></head><body>"
            f"<h1>{e(result['assignment'])}: feedback for {e(result['student_id'])}</h1>"
            f"<p><b>Score: {result['score']:g} / {result['max_score']:g}</b> "
            f"({'graded' if graded else 'not graded'}: {e(result['notebook'])})</p>"
            f"<table><tr><th>task</th><th>points</th><th>result</th></tr>{rows}</table>"
            + ("<p>Each task was run on the self-check's data and on hidden cases (other data, edge cases). "
               "A failed task names the first case that failed.</p>" if graded else "")
            + notes_html + (f"<h2>Your code, as graded</h2>{code}" if graded else "") + "</body></html>")


def feedback(course: Path = COURSE) -> list[Path]:
    """HTML feedback for every graded submission: ``feedback/<student>/<ps>/<ps>.html``."""
    course = Path(course)
    written = []
    for path in sorted((course / "autograded").glob("*/*/result.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        html_path = course / "feedback" / result["student_id"] / result["assignment"] / f"{result['assignment']}.html"
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(feedback_html(result), encoding="utf-8")
        written.append(html_path)
        print(f"feedback {html_path.relative_to(course)}")
    return written


def run_all(inbox: Path = DEFAULT_INBOX, course: Path = COURSE) -> None:
    """Release, collect, autograde, export and feedback, in that order."""
    release(course)
    collect(inbox, course)
    autograde(course)
    export(course)
    feedback(course)


# --------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, default=COURSE, help="course directory (default: %(default)s)")
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("release", help="generate the student version into release/ and check it")
    sub.add_parser("check-release", help="only scan release/ for solution code and hidden tests")
    for step in ("collect", "all"):
        p = sub.add_parser(step, help="copy submissions from an inbox" if step == "collect" else "every step")
        p.add_argument("--inbox", type=Path, default=DEFAULT_INBOX,
                       help="folder with one sub-folder per student, each with one per assignment")
        if step == "collect":
            p.add_argument("--update", action="store_true", help="replace earlier copies that changed")
    p = sub.add_parser("autograde", help="grade everything collected in submitted/")
    p.add_argument("--workers", type=int, default=None, help="parallel sandboxes (default: the number of CPUs)")
    sub.add_parser("check-sandbox", help="check that bubblewrap can isolate a submission here")
    sub.add_parser("export", help="write reports/grades.csv and reports/task_grades.csv")
    sub.add_parser("feedback", help="write feedback/<student>/<assignment>/*.html")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if args.step == "release":
        release(course)
    elif args.step == "check-release":
        leaks = find_leaks(course)
        for leak in leaks:
            print(f"LEAK {leak.notebook}, cell {leak.cell}: {leak.line}")
        print(f"{len(leaks)} instructor-only lines found in release/")
        return 1 if leaks else 0
    elif args.step == "collect":
        collect(args.inbox, course, update=args.update)
    elif args.step == "autograde":
        autograde(course, workers=args.workers)
    elif args.step == "check-sandbox":
        print(grading.sandbox.check())
    elif args.step == "export":
        export(course)
    elif args.step == "feedback":
        feedback(course)
    elif args.step == "all":
        run_all(args.inbox, course)
    return 0


if __name__ == "__main__":
    sys.exit(main())
