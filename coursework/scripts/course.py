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
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
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


def _gradebook(course: Path):
    from nbgrader.api import Gradebook

    _, coursedir = _nbgrader(course)
    cd = coursedir()
    return Gradebook(cd.db_url, cd.course_id)


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


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()


def _copy_in(path: Path, target: Path, course: Path, student: str, name: str, update: bool, problems: list) -> None:
    if target.exists() and not _same_file(path, target):
        if not update:
            problems.append(Problem(student, name, "", "conflict",
                                    f"{target.relative_to(course)} was collected before with "
                                    "different content: kept the earlier copy (use --update)"))
            return
        target.chmod(0o644)
    if not target.exists() or not _same_file(path, target):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _flat_inbox(inbox: Path, course: Path, names: list[str], update: bool, problems: list) -> list[str]:
    """One folder of notebooks (a Colab class, an LMS download): ``<student>_<anything>.ipynb``.

    The student id is the file name up to the first ``_``; the problem set is read from the
    notebook itself (its cells' nbgrader ids, else its title), so the rest of the name may be
    anything an LMS adds. The copy is ``submitted/<student>/<ps>/<ps>.ipynb``.
    """
    students = set()
    for path in sorted(inbox.glob("*.ipynb")):
        student = path.stem.split("_", 1)[0].strip()
        if not _STUDENT_ID.match(student) or "_" not in path.stem:
            problems.append(Problem(path.stem, "", "", "bad_student_id",
                                    f"{path.name}: name it <student>_<anything>.ipynb: skipped"))
            continue
        try:
            name = grading.identify(grading.read_notebook(path))
        except (ValueError, UnicodeDecodeError):
            name = None
        if name not in names:
            problems.append(Problem(student, "", "", "unknown_notebook",
                                    f"{path.name} is not a notebook of any problem set (unreadable or renamed cells): "
                                    "not collected"))
            continue
        students.add(student)
        _copy_in(path, course / "submitted" / student / name / f"{name}.ipynb", course, student, name, update, problems)
    return sorted(students)


def collect(inbox: Path = DEFAULT_INBOX, course: Path = COURSE, *, update: bool = False) -> list[Problem]:
    """Copy the inbox into ``submitted/<student>/<assignment>/``.

    Two layouts: a folder per student with one folder per problem set
    (``inbox/<student>/<ps>/*``, everything in it is copied), or one flat folder of notebooks
    (``inbox/<student>_<anything>.ipynb``, see :func:`_flat_inbox`). The inbox is only read. A
    file already collected with the same content is left alone; one with different content is
    kept and reported as a conflict, unless ``update`` is true, in which case the new version
    replaces the old copy. Every student found is added to the gradebook. The problems found go
    to ``reports/problems.csv`` (stage ``collect``).
    """
    course, inbox = Path(course), Path(inbox)
    if not inbox.is_dir():
        raise SystemExit(f"inbox {inbox} does not exist")
    names = assignments(course)
    problems = []
    students = _flat_inbox(inbox, course, names, update, problems) if any(inbox.glob("*.ipynb")) else []
    for student_dir in sorted(p for p in inbox.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = student_dir.name
        if not _STUDENT_ID.match(student):
            problems.append(Problem(student, "", "", "bad_student_id",
                                    "folder name is not a valid student id (letters, digits, _ . -): skipped"))
            continue
        students.append(student)
        for name in names:
            src = student_dir / name
            if not src.is_dir():
                continue  # reported as not_submitted by autograde
            dest = course / "submitted" / student / name
            for path in sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink()):
                _copy_in(path, dest / path.relative_to(src), course, student, name, update, problems)
        unknown = sorted(p.name for p in student_dir.iterdir() if p.name not in names)
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
    folder = Path(course) / "submitted" / student / name
    expected = folder / f"{name}.ipynb"
    if not folder.is_dir():
        return [Problem(student, name, "", "not_submitted", "nothing submitted: scored 0")]
    problems = []
    others = sorted(p for p in folder.iterdir() if p != expected and p.is_file())
    if not expected.is_file():
        candidates = []
        for other in others:
            if other.suffix == ".ipynb":
                try:
                    if grading.identify(grading.read_notebook(other)) == name:
                        candidates.append(other)
                except (ValueError, UnicodeDecodeError):
                    pass
        if len(candidates) == 1:
            problems.append(Problem(student, name, "", "renamed_notebook",
                                    f"no {name}.ipynb, but {candidates[0].name} is this problem set: graded it "
                                    f"(please hand it in as {name}.ipynb next time)"))
            others = [o for o in others if o != candidates[0]]
        else:
            found = f" (found: {', '.join(o.name for o in others if o.suffix == '.ipynb')})" if others else ""
            problems.append(Problem(student, name, "", "missing_notebook",
                                    f"no {name}.ipynb in the submission{found}: scored 0; "
                                    "ask the student to hand it in under that name"))
            return problems
    for other in others:
        problems.append(Problem(student, name, "", "unexpected_file", f"{other.name} is not graded"))
    return problems


def _graded_path(course: Path, student: str, name: str, problems: list[Problem]) -> Path:
    for p in problems:
        if p.kind == "renamed_notebook":
            return Path(course) / "submitted" / student / name / p.detail.split(", but ")[1].split(" is this")[0]
    return Path(course) / "submitted" / student / name / f"{name}.ipynb"


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
    problems, subs, jobs = [], {}, []
    for student in students:
        for name, lay in layouts.items():
            found = submission_problems(course, student, name)
            problems += found
            if any(p.kind in ("not_submitted", "missing_notebook") for p in found):
                subs[(student, name)] = None
                continue
            try:
                sub = grading.read_submission(lay, student, _graded_path(course, student, name, found))
            except (ValueError, UnicodeDecodeError) as exc:
                message = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
                what = "not valid JSON, perhaps truncated" if isinstance(exc, json.JSONDecodeError) else "not a notebook"
                problems.append(Problem(student, name, "", "invalid_notebook",
                                        f"{name}.ipynb is {what} ({message}): not graded, scored 0"))
                subs[(student, name)] = None
                continue
            problems += sub.problems
            subs[(student, name)] = sub
            jobs += [grading.Job(lay, sub, task, cases[(name, task)], encoded[(name, task)]) for task in lay.points]
    results = grading.run_jobs(jobs, course / ".grading", limits, workers=workers, use_sandbox=use_sandbox)
    by_submission: dict = {}
    for job, result in zip(jobs, results, strict=True):
        by_submission.setdefault((job.sub.student, job.sub.assignment), []).append(result)
    with _gradebook(course) as gb:
        for (student, name), sub in subs.items():
            gb.update_or_create_student(student)
            earlier = _read_result(course, student, name)
            folder = course / "autograded" / student / name
            if folder.exists():
                shutil.rmtree(folder)
            _remove_submission(gb, name, student)
            if sub is None:
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
            gb.add_submission(name, student)
            for r in task_results:
                grade = gb.find_grade(layouts[name].checks[r.task], name, name, student)
                grade.auto_score = r.score
            gb.db.commit()
            _write_result(course, student, name, sub, task_results,
                          [p for p in problems if p.student_id == student and p.assignment == name])
            print(f"autograded {student}/{name}: {sum(r.score for r in task_results):g}/"
                  f"{sum(r.max_score for r in task_results):g}")
    _write_problems(course, problems, "autograde", students=None if only is None else students)
    _print_problems([p for p in problems if p.kind not in ("failed_check", "not_attempted")])
    print(f"graded {len(subs)} submissions ({len(jobs)} sandboxed runs) in {time.monotonic() - start:.1f} s")
    return problems


def _remove_submission(gb, name: str, student: str) -> None:
    from nbgrader.api import MissingEntry

    try:
        gb.remove_submission(name, student)
    except MissingEntry:
        pass


def _read_result(course: Path, student: str, name: str):
    path = Path(course) / "autograded" / student / name / "result.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _write_result(course, student, name, sub, task_results, problems) -> Path:
    folder = Path(course) / "autograded" / student / name
    folder.mkdir(parents=True, exist_ok=True)
    result = {
        "student_id": student, "assignment": name, "notebook": sub.path.name,
        "score": sum(r.score for r in task_results), "max_score": sum(r.max_score for r in task_results),
        "tasks": [{"task": r.task, "score": r.score, "max_score": r.max_score, "kind": r.kind,
                   "message": r.message, "seconds": round(r.seconds, 3)} for r in task_results],
        "problems": [p._asdict() for p in problems],
        "code": sub.cells,
    }
    path = folder / "result.json"
    path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    log = b"".join(f"==== task {r.task} ====\n".encode() + r.log + b"\n" for r in task_results)
    (folder / "output.log").write_bytes(log)  # what the code printed (capped): for the instructor only
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
            writer.writerow([row.get(f, "") for f in PROBLEM_FIELDS])
        for p in problems:
            writer.writerow([*p, stage])
    return path


def read_problems(course: Path = COURSE) -> list[dict]:
    """The rows of ``reports/problems.csv``."""
    path = Path(course) / "reports" / "problems.csv"
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        where = "/".join(x for x in (p.student_id, p.assignment) if x)
        task = f" task {p.task}" if p.task else ""
        print(f"  PROBLEM {where}{task} [{p.kind}] {p.detail}")


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
            f"<p><b>Score: {result['score']:g} / {result['max_score']:g}</b> (graded: {e(result['notebook'])})</p>"
            f"<table><tr><th>task</th><th>points</th><th>result</th></tr>{rows}</table>"
            "<p>Each task was run on the self-check's data and on hidden cases (other data, edge cases). "
            "A failed task names the first case that failed.</p>"
            f"{notes_html}<h2>Your code, as graded</h2>{code}</body></html>")


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
