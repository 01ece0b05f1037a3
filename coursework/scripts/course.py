#!/usr/bin/env python
"""The instructor's workflow for the graded problem sets, on top of nbgrader.

Each step is one subcommand (and one make target, see ``coursework/coursework.mk``)::

    python coursework/scripts/course.py release     # source/ -> release/: the student version
    python coursework/scripts/course.py collect --inbox DIR   # DIR/<student>/<ps>/ -> submitted/
    python coursework/scripts/course.py autograde   # submitted/ -> autograded/ + gradebook.db
    python coursework/scripts/course.py export      # reports/grades.csv, reports/task_grades.csv
    python coursework/scripts/course.py feedback    # autograded/ -> feedback/<student>/<ps>/*.html
    python coursework/scripts/course.py all --inbox DIR       # the five steps in order

The course directory is the folder above this script (``--course`` selects another one, e.g. a
copy). nbgrader does the work: ``generate_assignment`` strips the solutions and hidden tests,
``autograde`` runs each submission in a fresh kernel with the instructor's tests restored,
``export`` and ``generate_feedback`` write the grades and the HTML feedback. This script adds
what a class of real submissions needs around it:

* ``release`` refuses to finish if any instructor-only line (solution code, hidden test) is left
  in a released notebook (:func:`find_leaks`);
* ``collect`` only *copies* the inbox; it never modifies or deletes a submitted file, and it
  never overwrites a different earlier copy unless asked to (``--update``);
* ``autograde`` grades every student and assignment separately, so that a broken submission
  (not valid JSON, a missing notebook, a cell that raises or loops until the per-cell timeout of
  ``nbgrader_config.py``) is reported for that student in ``reports/problems.csv`` and never
  stops the grading of the others.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import sys
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
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TASK = re.compile(r"^ps(\d+)-t(\d+)-")
PROBLEM_FIELDS = ("student_id", "assignment", "task", "kind", "detail")


class Problem(NamedTuple):
    """Something about one student's submission that the instructor should know."""

    student_id: str
    assignment: str
    task: str  # "1.3", or "" for the whole submission
    kind: str
    detail: str


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
    leaks = []
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
    print("checked: no solution code and no hidden test in any released cell")
    return released


# --------------------------------------------------------------------------- collect


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()


def collect(inbox: Path = DEFAULT_INBOX, course: Path = COURSE, *, update: bool = False) -> list[Problem]:
    """Copy ``inbox/<student>/<assignment>/*`` to ``submitted/<student>/<assignment>/``.

    The inbox is only read. A file already collected with the same content is left alone; one
    with different content is kept and reported as a conflict, unless ``update`` is true, in
    which case the new version replaces the old copy. Every student found is added to the
    gradebook (here, or at the latest by :func:`autograde`), so that the grades list them even
    if nothing they sent can be graded.
    """
    course, inbox = Path(course), Path(inbox)
    if not inbox.is_dir():
        raise SystemExit(f"inbox {inbox} does not exist")
    names = assignments(course)
    problems = []
    students = []
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
            for path in sorted(p for p in src.rglob("*") if p.is_file()):
                target = dest / path.relative_to(src)
                if target.exists() and not _same_file(path, target):
                    if not update:
                        problems.append(Problem(student, name, "", "conflict",
                                                f"{target.relative_to(course)} was collected before with "
                                                "different content: kept the earlier copy (use --update)"))
                        continue
                    target.chmod(0o644)
                if not target.exists() or not _same_file(path, target):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, target)
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
    _print_problems(problems)
    return problems


# --------------------------------------------------------------------------- autograde


def submission_problems(course: Path, student: str, name: str) -> list[Problem]:
    """Problems that prevent grading ``submitted/<student>/<name>/`` (empty list: gradable)."""
    folder = Path(course) / "submitted" / student / name
    expected = folder / f"{name}.ipynb"
    if not folder.is_dir():
        return [Problem(student, name, "", "not_submitted", "nothing submitted: scored 0")]
    problems = []
    others = sorted(p.name for p in folder.iterdir() if p.suffix == ".ipynb" and p != expected)
    if not expected.is_file():
        found = f" (found: {', '.join(others)})" if others else ""
        problems.append(Problem(student, name, "", "missing_notebook",
                                f"no {name}.ipynb in the submission{found}: scored 0; "
                                "ask the student to hand it in under that name"))
        return problems
    for other in others:
        problems.append(Problem(student, name, "", "unexpected_file", f"{other} is not graded"))
    import nbformat

    try:
        text = expected.read_text(encoding="utf-8")
        json.loads(text)
        nbformat.validate(nbformat.reads(text, as_version=4))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(Problem(student, name, "", "invalid_notebook",
                                f"{name}.ipynb is not valid JSON ({exc}), perhaps truncated: "
                                "not graded, scored 0"))
    except (ValueError, TypeError, KeyError, AttributeError, nbformat.ValidationError) as exc:  # not a notebook
        message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        problems.append(Problem(student, name, "", "invalid_notebook",
                                f"{name}.ipynb is not a valid notebook ({message}): not graded, scored 0"))
    return problems


def _cell_problems(course: Path, student: str, name: str, timeout: int) -> list[Problem]:
    """Errors recorded in the outputs of an autograded notebook, one problem per failing cell."""
    path = Path(course) / "autograded" / student / name / f"{name}.ipynb"
    problems = []
    for cell in _read_json(path)["cells"]:
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id, is_test = meta.get("grade_id", ""), meta.get("grade", False)
        where = f"cell {grade_id}" if grade_id else "an ungraded cell of the student's own"
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        names = {o.get("ename", "") for o in errors}
        last = errors[-1]
        evalue = str(last.get("evalue", "")).strip().splitlines()
        evalue = evalue[0] if evalue else ""
        if "CellTimeoutError" in names:
            kind, detail = "timeout", f"{where} was stopped after the {timeout} s limit (an endless loop?)"
        elif "NotImplementedError" in names:
            kind, detail = "not_attempted", f"{where}: the task's stub raises NotImplementedError"
        elif is_test and names == {"AssertionError"}:
            kind, detail = "failed_check", f"{where}: {evalue or 'an assertion failed'}"
        else:
            kind, detail = "error", f"{where} raised {last.get('ename')}: {evalue}"
        problems.append(Problem(student, name, task_label(grade_id), kind, detail))
    return problems


def autograde(course: Path = COURSE) -> list[Problem]:
    """Autograde every collected submission, one student and assignment at a time.

    Unreadable or missing notebooks are reported and scored 0 without running anything; every
    other submission goes through ``nbgrader autograde`` (which restores the instructor's test
    cells, executes the notebook in a fresh kernel with the per-cell timeout of
    ``nbgrader_config.py`` and records the points in ``gradebook.db``). Errors in cells are
    reported per task. Writes ``reports/problems.csv``; the submitted files are only read.
    """
    from nbgrader.converters import Autograde

    course = Path(course)
    if not (course / "gradebook.db").exists():
        raise SystemExit("no gradebook: run the release step first")
    submitted = course / "submitted"
    if not submitted.is_dir():
        raise SystemExit("nothing collected: run the collect step first")
    config, coursedir = _nbgrader(course)
    timeout = int(config.Execute.get("timeout", 30))
    students = sorted(p.name for p in submitted.iterdir() if p.is_dir() and _STUDENT_ID.match(p.name))
    problems = []
    for student in students:
        with _gradebook(course) as gb:
            gb.update_or_create_student(student)
        for name in assignments(course):
            found = submission_problems(course, student, name)
            problems += found
            if any(p.kind in ("not_submitted", "missing_notebook", "invalid_notebook") for p in found):
                _forget(course, student, name)
                continue
            app = Autograde(coursedir=coursedir(name, student), config=config)
            app.force = True
            app.create_student = True
            result = _run(app)
            graded = course / "autograded" / student / name / f"{name}.ipynb"
            if not result["success"] or not graded.is_file():
                error = (result.get("error") or result.get("log") or "").strip().splitlines()
                problems.append(Problem(student, name, "", "autograde_failed",
                                        f"nbgrader could not grade it: {error[-1] if error else 'unknown error'}"))
                continue
            problems += _cell_problems(course, student, name, timeout)
            print(f"autograded {student}/{name}")
    _write_problems(course, problems)
    _print_problems([p for p in problems if p.kind not in ("failed_check", "not_attempted")])
    return problems


def _forget(course: Path, student: str, name: str) -> None:
    """Drop an earlier grade of a submission that can no longer be graded (so it counts 0)."""
    from nbgrader.api import MissingEntry

    stale = course / "autograded" / student / name
    if stale.exists():
        shutil.rmtree(stale)
    with _gradebook(course) as gb:
        try:
            gb.remove_submission(name, student)
        except MissingEntry:
            pass


def _write_problems(course: Path, problems: list[Problem]) -> Path:
    path = Path(course) / "reports" / "problems.csv"
    path.parent.mkdir(exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(PROBLEM_FIELDS)
        writer.writerows(problems)
    return path


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


def feedback(course: Path = COURSE) -> list[Path]:
    """HTML feedback for every autograded submission: ``feedback/<student>/<ps>/<ps>.html``."""
    from nbgrader.converters import GenerateFeedback

    course = Path(course)
    config, coursedir = _nbgrader(course)
    written = []
    autograded = course / "autograded"
    for folder in sorted(autograded.glob("*/*")) if autograded.is_dir() else []:
        student, name = folder.parent.name, folder.name
        app = GenerateFeedback(coursedir=coursedir(name, student), config=config)
        app.force = True
        result = _run(app)
        html = course / "feedback" / student / name / f"{name}.html"
        if not result["success"] or not html.is_file():
            print(f"  PROBLEM {student}/{name} [feedback_failed] {result.get('error', '').strip()[-300:]}")
            continue
        written.append(html)
        print(f"feedback {html.relative_to(course)}")
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
    sub.add_parser("autograde", help="grade everything collected in submitted/")
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
        autograde(course)
    elif args.step == "export":
        export(course)
    elif args.step == "feedback":
        feedback(course)
    elif args.step == "all":
        run_all(args.inbox, course)
    return 0


if __name__ == "__main__":
    sys.exit(main())
