"""The graded problem sets in ``coursework/`` and the instructor's workflow around them.

The sandboxed properties need the sample class, plus a class of hostile and of
malformed-but-honest submissions (``coursework_attacks.py``), graded end to end through the
real pipeline (release, collect, autograde in bubblewrap, export, feedback). That runs once, in
a copy of ``coursework/`` under a temporary directory, so the repository is never written to;
those tests are marked ``slow``. The catalogue of plausible mistakes is checked in-process
(the course's own code, no sandbox), which makes it fast enough to try every entry.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import html
import json
import os
import re
import runpy
import shutil
import socket
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
import yaml

from tests import coursework_attacks as attacks

ROOT = Path(__file__).resolve().parents[1]
COURSEWORK = ROOT / "coursework"
GENERATED = ("release", "submitted", "autograded", "feedback", "reports", "gradebook.db", ".grading")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
# nbgrader 0.9 triggers harmless SQLAlchemy session warnings while it records grades.
pytestmark = pytest.mark.filterwarnings("ignore:.*not in session:Warning")
SEED = "test-secret-7f3a9c"  # the tests' course seed (not the public sample-class default)


#: The one loader of the coursework scripts (coursework/scripts/siblings.py).
_load = runpy.run_path(str(COURSEWORK / "scripts" / "siblings.py"))["load"]
course = _load("course")
samples = _load("samples")
grading = course.grading
ASSIGNMENTS = course.assignments(COURSEWORK)
#: Limits of the graded fixture: the course's defaults, with a shorter wall and CPU limit so that
#: the programs that ignore the alarm are stopped sooner, and 10 s of CPU per cell or call (the
#: slowest honest call, in problem set 4, takes about 2 s) so that the endless loops of the sample
#: class and the attacks cost half as long.
LIMITS = grading.Limits(wall=30.0, cpu=25, call=10.0)


def _cells(name, root=COURSEWORK):
    return json.loads((root / "source" / name / f"{name}.ipynb").read_text())["cells"]


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _source(cell):
    return "".join(cell["source"])


def _checksums(folder: Path) -> dict:
    """Content hash and permission bits of every file under ``folder``."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _hidden_lines():
    """Lines of the instructors' hidden tests long enough to be recognisable (and not in a notebook)."""
    public = {line.strip() for name in ASSIGNMENTS for c in _cells(name) for line in _source(c).splitlines()}
    return {line.strip() for name in ASSIGNMENTS
            for line in (COURSEWORK / "source" / name / "hidden_tests.py").read_text().splitlines()
            if len(line.strip()) > 30} - public


def _processes_with(marker: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(f"{entry}: {cmdline}")
    return found


# --------------------------------------------------------------------------- the graded class


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Release, collect, autograde (sandboxed), export and feedback: the sample class + the attacks."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap); CI installs it (.ci/run)")
    root = tmp_path_factory.mktemp("course") / "coursework"
    shutil.copytree(COURSEWORK, root, ignore=shutil.ignore_patterns(*GENERATED, "__pycache__"))
    course.release(root)
    fresh_class = samples.build_class(root, root.parent / "fresh_class")
    inbox = root.parent / "inbox"
    shutil.copytree(root / "class", inbox)
    ada = attacks.load(inbox / "ada" / "ps1" / "ps1.ipynb")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    received = []

    def listen():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                received.append(conn.recv(100))
            except OSError:
                pass

    stop = threading.Event()
    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    hostile = attacks.build_hostile(ada, root, SEED, listener.getsockname()[1])
    honest = attacks.build_honest(ada)
    for student, (nb, _, _) in hostile.items():
        (inbox / student / "ps1").mkdir(parents=True)
        (inbox / student / "ps1" / "ps1.ipynb").write_text(json.dumps(nb, indent=1))
    for student, (nb, extra, _) in honest.items():
        folder = inbox / student / "ps1"
        folder.mkdir(parents=True)
        (folder / "ps1.ipynb").write_bytes(nb if isinstance(nb, bytes) else json.dumps(nb, indent=1).encode())
        for name, data in extra.items():
            (folder / name).write_bytes(data)
    # "eve" hands in ada's ps1 and later resubmits it unreadable: the first version is graded with the
    # class, the resubmission alone (a resubmission that cannot be graded replaces a good grade)
    (inbox / "eve" / "ps1").mkdir(parents=True)
    shutil.copy(inbox / "ada" / "ps1" / "ps1.ipynb", inbox / "eve" / "ps1" / "ps1.ipynb")
    inbox_before = _checksums(inbox)
    collect_problems = course.collect(inbox, root)
    submitted_before = _checksums(root / "submitted")
    os.environ[grading.SEED_ENV] = SEED  # the grader's own environment: must never reach a sandbox
    try:
        problems = course.autograde(root, limits=LIMITS)
        problem_rows = course.read_problems(root)
        eve_first = _read_csv(course.export(root)[1])
        (inbox / "eve" / "ps1" / "ps1.ipynb").write_text("{ not json")
        course.collect(inbox, root, update=True)
        course.autograde(root, limits=LIMITS, students=["eve"])
    finally:
        del os.environ[grading.SEED_ENV]
        stop.set()
        thread.join()
        listener.close()
    grades, tasks = course.export(root)
    html_pages = course.feedback(root)
    return SimpleNamespace(
        root=root, inbox=inbox, fresh_class=fresh_class, collect_problems=collect_problems,
        problems=problems, problem_rows=problem_rows, html=html_pages, grades=_read_csv(grades),
        tasks=_read_csv(tasks), eve_first=eve_first, eve_rows=course.read_problems(root),
        inbox_before=inbox_before, inbox_after=_checksums(inbox), received=received,
        submitted_before=submitted_before, submitted_after=_checksums(root / "submitted"),
        hostile=hostile, honest=honest,
    )


def _task_scores(graded) -> dict:
    return {(r["student_id"], r["assignment"], r["task"]): float(r["score"]) for r in graded.tasks}


def _score(graded, student, name="ps1") -> float:
    return sum(v for (s, a, _), v in _task_scores(graded).items() if (s, a) == (student, name))


@pytest.mark.slow
def test_release_contains_no_solution_code_and_no_hidden_test(graded):
    released = sorted((graded.root / "release").glob("*/*.ipynb"))
    assert [p.stem for p in released] == ASSIGNMENTS
    assert course.find_leaks(graded.root) == []
    assert sorted(p.name for p in (graded.root / "release").rglob("*") if p.is_file()) == sorted(
        f"{name}.ipynb" for name in ASSIGNMENTS), "only the notebooks are released (never hidden_tests.py)"
    hidden = _hidden_lines()
    for path in released:
        secret = course.instructor_only_lines(graded.root / "source" / path.stem / path.name)
        assert len(secret) >= 8, f"{path.stem}: too few instructor-only lines to make the scan meaningful"
        for cell in json.loads(path.read_text())["cells"]:
            text = _source(cell)
            assert not any(m in text for m in course.MARKERS)
            assert not secret & {line.strip() for line in text.splitlines()}
            assert not hidden & {line.strip() for line in text.splitlines()}
            assert cell.get("outputs", []) == []
            if _meta(cell).get("solution"):
                assert "raise NotImplementedError()" in text, "every task keeps a stub for the student"


@pytest.mark.slow
def test_leak_scan_catches_a_solution_line_or_the_hidden_tests_left_in_a_release(graded, tmp_path):
    """The scanner of the previous test is not vacuous: it flags a leaked line and a leaked file."""
    copy_root = tmp_path / "coursework"
    shutil.copytree(graded.root / "source", copy_root / "source")
    cells = _cells("ps3")
    solution = next(_source(c) for c in cells if _meta(c).get("solution"))
    line = samples.solution_code(solution).splitlines()[3]
    shutil.copytree(graded.root / "release", copy_root / "release", dirs_exist_ok=True)
    path = copy_root / "release" / "ps3" / "ps3.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][-1]["source"] = ["Notes\n", line]
    path.write_text(json.dumps(nb))
    assert [leak.line for leak in course.find_leaks(copy_root)] == [line.strip()]
    shutil.copy(copy_root / "source" / "ps3" / "hidden_tests.py", copy_root / "release" / "ps3")
    assert "an instructor-only file" in [leak.line for leak in course.find_leaks(copy_root)]


@pytest.mark.slow
def test_release_check_runs_from_the_command_line(graded):
    import subprocess

    run = subprocess.run([sys.executable, "-B", str(COURSEWORK / "scripts" / "course.py"), "--course",
                          str(graded.root), "check-release"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 instructor-only lines found" in run.stdout


@pytest.mark.slow
def test_instructor_solutions_get_full_marks_on_every_task(graded):
    scores = _task_scores(graded)
    points = samples.task_points(COURSEWORK)
    for name, tasks in points.items():
        for task, maximum in tasks.items():
            assert scores[("ada", name, task)] == maximum, f"ada {name} task {task}"
    assert not [p for p in graded.problems if p.student_id == "ada"]


@pytest.mark.slow
def test_unmodified_release_scores_zero_on_every_task_without_crashing(graded):
    scores = _task_scores(graded)
    for name, tasks in samples.task_points(COURSEWORK).items():
        assert (graded.root / "autograded" / "cy" / name / "result.json").is_file(), "graded, not crashed"
        for task in tasks:
            assert scores[("cy", name, task)] == 0.0
    kinds = {p.kind for p in graded.problems if p.student_id == "cy"}
    assert kinds == {"not_attempted"}


@pytest.mark.slow
def test_one_wrong_answer_per_set_loses_exactly_its_points(graded):
    scores = _task_scores(graded)
    expected = samples.expected_scores(COURSEWORK)
    plan = samples.CLASS["ben"]
    assert sorted(plan) == ASSIGNMENTS and all(how[0] == "mistake" for how in plan.values())
    assert {how[2] for how in plan.values()} >= {
        "dot product instead of the cosine", "forgotten square root", "sigma^2 instead of sigma in the threshold"}
    for name, tasks in samples.task_points(COURSEWORK).items():
        wrong = samples.task_of(plan[name][1])
        for task, maximum in tasks.items():
            assert scores[("ben", name, task)] == (0.0 if task == wrong else maximum), f"ben {name} {task}"
            assert scores[("ben", name, task)] == expected[("ben", name, task)]
    failed = {(p.assignment, p.task) for p in graded.problems if p.student_id == "ben"}
    assert failed == {(name, samples.task_of(how[1])) for name, how in plan.items()}


@pytest.mark.slow
def test_grading_leaves_every_submitted_file_byte_identical(graded):
    """Not the grader, not the hostile submissions: the inbox and every collected file are unchanged."""
    def others(checksums):  # eve's notebook is the test's resubmission: changed on purpose
        return {k: v for k, v in checksums.items() if not k.startswith("eve/")}

    assert others(graded.inbox_after) == others(graded.inbox_before)
    assert others(graded.submitted_after) == others(graded.submitted_before)
    assert {k: v[0] for k, v in others(graded.submitted_before).items()} == {
        k: v[0] for k, v in others(graded.inbox_before).items() if k.count("/") == 2}


@pytest.mark.slow
def test_malformed_submissions_are_reported_for_that_student_only(graded):
    dee = {(p.assignment, p.task, p.kind) for p in graded.problems if p.student_id == "dee"}
    assert ("ps1", "", "invalid_notebook") in dee
    assert ("ps2", "", "renamed_notebook") in dee
    assert ("ps3", "3.3", "timeout") in dee
    assert ("ps4", "4.1", "error") in dee
    messages = " ".join(p.detail for p in graded.problems if p.student_id == "dee")
    assert "not valid JSON" in messages and "ps2-final.ipynb" in messages
    assert f"{LIMITS.call:g} s limit" in messages and "ImportError" in messages
    # the rest of dee's work, and everybody else's in the sample class, was graded as usual
    scores = {k: v for k, v in _task_scores(graded).items() if k[0] in samples.CLASS}
    assert scores == samples.expected_scores(COURSEWORK)


@pytest.mark.slow
def test_grades_csv_lists_every_student_and_assignment(graded):
    expected = samples.expected_scores(COURSEWORK)
    points = samples.task_points(COURSEWORK)
    rows = {(r["student_id"], r["assignment"]): r for r in graded.grades}
    assert {(s, a) for s in samples.CLASS for a in ASSIGNMENTS} <= set(rows)
    for (student, name), row in rows.items():
        assert float(row["max_score"]) == sum(points[name].values())
        if student in samples.CLASS:
            assert float(row["score"]) == sum(v for (s, a, _), v in expected.items() if (s, a) == (student, name))


@pytest.mark.slow
def test_feedback_html_for_every_graded_submission_without_leaks(graded):
    results = sorted((graded.root / "autograded").glob("*/*/result.json"))
    assert len(graded.html) == len(results)
    sample = [p for p in graded.html if p.parts[-3] in samples.CLASS]
    assert len(sample) == 16  # 16 submissions; dee's truncated ps1 cannot be graded, its page says why
    dee = (graded.root / "feedback" / "dee" / "ps1" / "ps1.html").read_text()
    assert "(not graded: ps1.ipynb)" in dee and "not valid JSON" in dee and "Your code" not in dee
    hidden = _hidden_lines()
    for path in graded.html:
        text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))  # the page as a reader sees it
        assert "Score:" in text
        assert not [line for line in hidden if line in text], path
        assert SEED not in text and "BEGIN HIDDEN TESTS" not in text
        # above the student's own code: only the grader's words (no invented exception names, no printing)
        verdict = text.split("Your code, as graded")[0]
        assert "Leak_" not in verdict and "PEEK" not in verdict and "FOUND" not in verdict, path
        assert "an exception of its own type" in verdict or path.parts[-3] != "h07-peek"
        assert path.stat().st_size < 200_000


@pytest.mark.slow
def test_problems_of_collect_and_grading_all_reach_problems_csv(graded):
    rows = graded.problem_rows
    assert not [r for r in rows if r["kind"] == "grader_error"], "the trusted setup must work in every sandbox"
    keys = {(r["student_id"], r["assignment"], r["task"], r["kind"], r["stage"]) for r in rows}
    for p in graded.collect_problems:
        assert (*p[:4], "collect") in keys
    for p in graded.problems:
        assert (*p[:4], "autograde") in keys


@pytest.mark.slow
def test_committed_sample_class_is_in_sync_with_the_sources(graded):
    """coursework/class was built by scripts/samples.py from the current sources and release."""
    assert _checksums(graded.fresh_class) == _checksums(COURSEWORK / "class")


# --------------------------------------------------------------------------- the attack suite


@pytest.mark.slow
def test_at_least_15_hostile_and_8_honest_submissions_went_through_the_pipeline(graded):
    assert len(graded.hostile) >= 15 and len(graded.honest) >= 8
    graded_students = {p.parts[-3] for p in (graded.root / "autograded").glob("*/ps1/result.json")}
    assert set(graded.hostile) | set(graded.honest) <= graded_students


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(attacks.build_hostile({"cells": []} and attacks.load(
    COURSEWORK / "class" / "ada" / "ps1" / "ps1.ipynb"), Path("/x"), "", 0)))
def test_hostile_submission_scores_no_more_than_its_real_work(graded, student):
    _, earns, what = graded.hostile[student]
    assert _score(graded, student) <= earns, f"{student} ({what}) got {_score(graded, student)} > {earns}"


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(attacks.build_honest(attacks.load(
    COURSEWORK / "class" / "ada" / "ps1" / "ps1.ipynb"))))
def test_honest_noise_keeps_full_marks(graded, student):
    what = graded.honest[student][2]
    assert _score(graded, student) == 9.0, f"{student} ({what})"


@pytest.mark.slow
def test_honest_noise_is_reported_in_plain_words(graded):
    kinds = {(p.student_id, p.kind) for p in graded.problems}
    assert ("n03-duplicate", "duplicated_cell") not in kinds  # identical copies are simply fine
    assert ("n06-deleted-checks", "missing_check_cell") in kinds
    assert ("n08-no-metadata", "missing_cell_metadata") in kinds
    assert ("n10-magic-helper-scratch", "cell_error") in kinds
    assert any(p.student_id == "n07-extra-files" and p.kind == "unexpected_file" for p in graded.problems)


@pytest.mark.slow
def test_hostile_submissions_cannot_read_or_change_what_they_must_not(graded):
    hidden = _hidden_lines()
    for student in graded.hostile:
        log = (graded.root / "autograded" / student / "ps1" / "output.log").read_text(errors="replace")
        assert SEED not in log, f"{student} saw the course seed"
        assert not [line for line in hidden if line in log], f"{student} read the hidden tests"
        assert "BEGIN SOLUTION" not in log and "auto_score" not in log, f"{student} read source/ or the gradebook"
    assert not list(graded.root.rglob(f"PWNED-{attacks.MARKER}")), "a pickled answer was executed"
    assert graded.received == [], "a submission reached the network"
    assert not _processes_with(attacks.MARKER), "a process started by a submission survived grading"
    kinds = {(p.student_id, p.task, p.kind) for p in graded.problems}
    assert ("h11-reference-alias", "1.1", "forbidden_call") in kinds
    assert ("h12-reference-reload", "1.1", "forbidden_call") in kinds
    assert ("h17-busy", "1.1", "timeout") in kinds


@pytest.mark.slow
def test_a_resubmission_that_cannot_be_graded_loses_the_earlier_grade_visibly(graded):
    first = sum(float(r["score"]) for r in graded.eve_first if r["student_id"] == "eve" and r["assignment"] == "ps1")
    assert first == 9.0
    assert _score(graded, "eve") == 0.0
    kinds = {(r["student_id"], r["kind"]) for r in graded.eve_rows}
    assert ("eve", "grade_removed") in kinds and ("eve", "invalid_notebook") in kinds


# --------------------------------------------------------------------------- the hidden tests themselves


def _run(source, namespace, name):
    exec(compile(source, name, "exec"), namespace)  # noqa: S102 (the course's own notebook code)


@pytest.mark.parametrize("name", ASSIGNMENTS)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # some mistakes divide by zero or take sqrt(-1)
def test_hidden_tests_catch_every_catalogued_mistake(name, capsys):
    """Each solution passes the grader's checks; each catalogued mistake fails them.

    Mistakes marked "visible" already fail the student's self-check (the notebook's check cell);
    those marked "hidden" pass it and are caught only by the grader's hidden cases. The grader's
    part runs in-process here (the course's own code, no sandbox): the same cases, answers as
    data and trusted checks as ``autograde``, plus its static check for forbidden references.
    """
    lay = grading.layout(COURSEWORK, name, COURSEWORK / "source" / name / f"{name}.ipynb")
    with matplotlib.rc_context():  # the setup may apply the book's plot style: keep it local
        base = dict(grading.public_namespace(lay))
        cases = {task: grading.make_cases(lay, task, SEED) for task in lay.points}
    cells = [c for c in _cells(name) if c["cell_type"] == "code"]
    checks = {samples.task_of(_meta(c)["grade_id"]): _source(c) for c in cells if _meta(c).get("grade")}
    solutions = {_meta(c)["grade_id"]: samples.solution_code(_source(c)) for c in cells if _meta(c).get("solution")}
    assert solutions, name
    for grade_id, solution in solutions.items():
        task = samples.task_of(grade_id)
        mistakes = samples.MISTAKES[grade_id]
        assert len(mistakes) >= 2, f"{grade_id}: catalogue at least two plausible mistakes"
        for label, (caught_by, code) in [("solution", ("nothing", solution)), *mistakes.items()]:
            ns = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in base.items()}
            _run(code, ns, f"<{grade_id}: {label}>")
            try:
                with matplotlib.rc_context():
                    _run(checks[task], ns, f"<{grade_id} self-check>")
                visible = False
            except AssertionError as exc:
                visible = True
                assert len(str(exc)) > 20, f"{grade_id}: self-check without a helpful message"
            student = [{"label": f"cell 1 ({grade_id})", "source": code}]
            passed = grading.score_in_process(lay, task, base, student, cases[task]).kind == "passed"
            stage = "visible" if visible else "nothing" if passed else "hidden"
            assert stage == caught_by, f"{grade_id}, {label!r}: expected to be caught by {caught_by}, got {stage}"
            if caught_by != "nothing":
                assert not passed, f"{grade_id}, {label!r}: the grader gives points to a wrong answer"
    capsys.readouterr()


def test_hidden_tests_matter_for_every_problem_set():
    """Every problem set has mistakes only the hidden tests catch, including the issue's examples."""
    by_set = {name: [kind for gid, m in samples.MISTAKES.items() if gid.startswith(name) for kind, _ in m.values()]
              for name in ASSIGNMENTS}
    assert all(kinds.count("hidden") >= 2 for kinds in by_set.values()), by_set
    named = {(gid, label) for gid, m in samples.MISTAKES.items() for label in m}
    assert ("ps1-t1-cosine", "dot product instead of the cosine") in named
    assert ("ps3-t1-fit", "sigma^2 instead of sigma in the threshold") in named
    assert ("ps3-t3-shrinkage", "sigma^2 instead of sigma in the threshold") in named
    assert {("ps2-t1-fit", "forgotten square root"), ("ps3-t1-fit", "forgotten square root"),
            ("ps3-t2-balance", "forgotten square root")} <= named


# --------------------------------------------------------------------------- the problem sets (static)


def _tasks():
    """[(assignment, task, title, points, markdown)] from the task statements of the sources."""
    found = []
    for name in ASSIGNMENTS:
        for cell in _cells(name):
            m = re.match(r"## Task (\d+\.\d+): (.+) \((\d+) points?\)", _source(cell))
            if m:
                found.append((name, m.group(1), m.group(2), int(m.group(3)), _source(cell)))
    return found


def test_problem_sets_cover_chapters_2_to_7_with_at_least_12_graded_tasks():
    tasks = _tasks()
    assert len(ASSIGNMENTS) >= 4 and len(tasks) >= 12
    points = samples.task_points(COURSEWORK)
    assert {(name, task): p for name, task, _, p, _ in tasks} == {
        (name, task): p for name, ts in points.items() for task, p in ts.items()}
    for name in ASSIGNMENTS:
        cells = _cells(name)
        for task in points[name]:
            sol = [c for c in cells if _meta(c).get("solution") and samples.task_of(_meta(c)["grade_id"]) == task]
            test = [c for c in cells if _meta(c).get("grade") and samples.task_of(_meta(c)["grade_id"]) == task]
            assert len(sol) == 1 and len(test) == 1, f"{name} task {task}: one solution cell, one graded test cell"
            assert "### BEGIN SOLUTION" in _source(sol[0])
            assert "visible checks pass" in _source(test[0])
        assert set(grading.load_hidden_tests(COURSEWORK, name).TASKS) == set(points[name]), f"{name}: hidden tests"
    linked = set(re.findall(r"/book/(0\d_\w+)\.html", " ".join(md for *_, md in tasks)))
    assert {f"0{n}" for n in range(2, 8)} == {chapter[:2] for chapter in linked}


def test_notebooks_state_the_grading_time_limit():
    for name in ASSIGNMENTS:
        assert f"at most {grading.Limits().call:g} seconds" in _source(_cells(name)[0]), name


def test_every_task_links_to_a_chapter_of_the_book():
    toc = (ROOT / "_toc.yml").read_text()
    owner, repo = re.match(r"https://github\.com/([^/]+)/([^/]+?)/?$", CONFIG["repository"]["url"]).groups()
    book = f"https://{owner}.github.io/{repo}/book/"
    for name, task, _, _, markdown in _tasks():
        links = re.findall(r"\]\((https://[^)]+)\)", markdown)
        assert links, f"{name} task {task}: no link to the book"
        for link in links:
            assert link.startswith(book) and link.endswith(".html"), link
            assert f"file: book/{link[len(book):-len('.html')]}" in toc, f"{link} is not a chapter in _toc.yml"


def test_notebooks_start_with_the_books_colab_cell_and_need_only_pinned_packages():
    repo, branch = CONFIG["repository"]["url"], CONFIG["repository"]["branch"]
    requirements = {re.split(r"[=<> ]", line)[0].lower().replace("-", "_")
                    for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line and not line.startswith(("#", "-"))}
    allowed = set(sys.stdlib_module_names) | {"cosim_helpers"} | requirements
    for name in ASSIGNMENTS:
        code = [c for c in _cells(name) if c["cell_type"] == "code"]
        first = _source(code[0])
        assert first.startswith("# Colab only: install the course package")
        assert f'"cosim_helpers @ git+{repo}@{branch}"' in first
        for cell in code:
            for node in ast.walk(ast.parse(_source(cell))):
                modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                           else [node.module] if isinstance(node, ast.ImportFrom) else [])
                for module in modules:
                    assert module.split(".")[0] in allowed, f"{name} imports {module}, not in requirements.txt"
            assert not re.search(r"^\s*[!%]", _source(cell), re.MULTILINE), f"{name}: shell or magic line"


def test_instructors_page_lists_every_task_and_its_points_without_solutions():
    page = (ROOT / "book" / "instructors.md").read_text()
    rows = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| (\d+\.\d+) \|.*\| (\d+) \|$", page, re.MULTILINE)}
    assert rows == {task: p for _, task, _, p, _ in _tasks()}
    total = sum(rows.values())
    assert f"**{total}**" in page
    solution_lines = {line for name in ASSIGNMENTS for line in course.instructor_only_lines(
        COURSEWORK / "source" / name / f"{name}.ipynb") if len(line) > 25}
    assert not [line for line in solution_lines if line in page]


def test_coursework_notebooks_are_not_collected_by_pytest():
    """nbval must never run the instructor or student notebooks (stubs fail, hidden tests leak)."""
    config = (ROOT / "pyproject.toml").read_text()
    testpaths = re.search(r"testpaths\s*=\s*\[(.*?)\]", config).group(1)
    assert "coursework" not in testpaths
    conftest = (COURSEWORK / "conftest.py").read_text()
    assert 'collect_ignore_glob = ["*"]' in conftest


# --------------------------------------------------------------------------- collect (no kernels)


def test_collect_copies_never_overwrites_and_updates_only_on_request(tmp_path, capsys):
    root = tmp_path / "coursework"
    shutil.copytree(COURSEWORK / "source", root / "source")
    shutil.copy(COURSEWORK / "nbgrader_config.py", root)
    inbox = tmp_path / "inbox"
    (inbox / "eve" / "ps1").mkdir(parents=True)
    (inbox / "eve" / "notes.txt").write_text("hello")
    (inbox / "bad id!" / "ps1").mkdir(parents=True)
    original = (COURSEWORK / "class" / "ada" / "ps1" / "ps1.ipynb").read_bytes()
    handed_in = inbox / "eve" / "ps1" / "ps1.ipynb"
    handed_in.write_bytes(original)
    problems = course.collect(inbox, root)
    assert {p.kind for p in problems} == {"unexpected_file", "bad_student_id"}
    copied = root / "submitted" / "eve" / "ps1" / "ps1.ipynb"
    assert copied.read_bytes() == original
    handed_in.write_bytes(original + b"\n")  # the student sends a new version
    problems = course.collect(inbox, root)
    assert "conflict" in {p.kind for p in problems}
    assert copied.read_bytes() == original, "an earlier copy is never overwritten silently"
    course.collect(inbox, root, update=True)
    assert copied.read_bytes() == original + b"\n"
    assert handed_in.read_bytes() == original + b"\n", "the inbox is only read"
    assert [p.kind for p in course.submission_problems(root, "eve", "ps2")] == ["not_submitted"]
    capsys.readouterr()
