"""The graded problem sets in ``coursework/`` and the instructor's workflow around nbgrader.

Most properties need the sample class graded end to end (release, collect, autograde, export,
feedback). That runs once, in a copy of ``coursework/`` under a temporary directory, so the
repository is never written to. The in-process test of the mistake catalogue runs the
instructor's test cells directly (no kernel), which makes it fast enough to try every
catalogued wrong answer.
"""

from __future__ import annotations

import ast
import copy
import csv
import hashlib
import html
import importlib.util
import json
import linecache
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
import scipy.sparse as sp
import yaml

ROOT = Path(__file__).resolve().parents[1]
COURSEWORK = ROOT / "coursework"
GENERATED = ("release", "submitted", "autograded", "feedback", "reports", "gradebook.db")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.DOTALL)
# nbgrader 0.9 triggers harmless SQLAlchemy session warnings while it records grades.
pytestmark = pytest.mark.filterwarnings("ignore:.*not in session:Warning")


def _load(name):
    """Import coursework/scripts/<name>.py without leaving a __pycache__ in the repository."""
    spec = importlib.util.spec_from_file_location(f"coursework_{name}", COURSEWORK / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write
    return module


course = _load("course")
samples = _load("samples")
ASSIGNMENTS = course.assignments(COURSEWORK)


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


# --------------------------------------------------------------------------- the graded sample class


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Release, collect, autograde, export and feedback for a copy of the sample class."""
    root = tmp_path_factory.mktemp("course") / "coursework"
    shutil.copytree(COURSEWORK, root, ignore=shutil.ignore_patterns(*GENERATED, "__pycache__"))
    inbox = root / "class"
    inbox_before = _checksums(inbox)
    course.release(root)
    fresh_class = samples.build_class(root, root.parent / "fresh_class")
    collect_problems = course.collect(inbox, root)
    submitted_before = _checksums(root / "submitted")
    problems = course.autograde(root)
    grades, tasks = course.export(root)
    html = course.feedback(root)
    return SimpleNamespace(
        root=root, inbox=inbox, fresh_class=fresh_class, collect_problems=collect_problems,
        problems=problems, html=html, grades=_read_csv(grades), tasks=_read_csv(tasks),
        inbox_before=inbox_before, inbox_after=_checksums(inbox),
        submitted_before=submitted_before, submitted_after=_checksums(root / "submitted"),
    )


def _task_scores(graded) -> dict:
    return {(r["student_id"], r["assignment"], r["task"]): float(r["score"]) for r in graded.tasks}


def test_release_contains_no_solution_code_and_no_hidden_test(graded):
    released = sorted((graded.root / "release").glob("*/*.ipynb"))
    assert [p.stem for p in released] == ASSIGNMENTS
    assert course.find_leaks(graded.root) == []
    for path in released:
        secret = course.instructor_only_lines(graded.root / "source" / path.stem / path.name)
        assert len(secret) >= 25, f"{path.stem}: too few instructor-only lines to make the scan meaningful"
        for cell in json.loads(path.read_text())["cells"]:
            text = _source(cell)
            assert not any(m in text for m in course.MARKERS)
            assert not secret & {line.strip() for line in text.splitlines()}
            assert cell.get("outputs", []) == []
            if _meta(cell).get("solution"):
                assert "raise NotImplementedError()" in text, "every task keeps a stub for the student"


def test_leak_scan_catches_a_solution_or_hidden_line_left_in_a_release(graded, tmp_path):
    """The scanner of the previous test is not vacuous: it flags one leaked line of each kind."""
    copy_root = tmp_path / "coursework"
    shutil.copytree(graded.root / "source", copy_root / "source")
    cells = _cells("ps3")
    solution = next(_source(c) for c in cells if _meta(c).get("solution"))
    hidden = next(HIDDEN_REGION.search(_source(c)).group(0) for c in cells if _meta(c).get("grade"))
    leaked = [samples.solution_code(solution).splitlines()[3], hidden.splitlines()[2]]
    for line in leaked:
        shutil.copytree(graded.root / "release", copy_root / "release", dirs_exist_ok=True)
        path = copy_root / "release" / "ps3" / "ps3.ipynb"
        nb = json.loads(path.read_text())
        nb["cells"][-1]["source"] = ["Notes\n", line]
        path.write_text(json.dumps(nb))
        assert [leak.line for leak in course.find_leaks(copy_root)] == [line.strip()]


def test_release_check_runs_from_the_command_line(graded):
    import subprocess

    run = subprocess.run([sys.executable, "-B", str(COURSEWORK / "scripts" / "course.py"), "--course",
                          str(graded.root), "check-release"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 instructor-only lines found" in run.stdout


def test_instructor_solutions_get_full_marks_on_every_task(graded):
    scores = _task_scores(graded)
    points = samples.task_points(COURSEWORK)
    for name, tasks in points.items():
        for task, maximum in tasks.items():
            assert scores[("ada", name, task)] == maximum, f"ada {name} task {task}"
    assert not [p for p in graded.problems if p.student_id == "ada"]


def test_unmodified_release_scores_zero_on_every_task_without_crashing(graded):
    scores = _task_scores(graded)
    for name, tasks in samples.task_points(COURSEWORK).items():
        assert (graded.root / "autograded" / "cy" / name / f"{name}.ipynb").is_file(), "graded, not crashed"
        for task in tasks:
            assert scores[("cy", name, task)] == 0.0
    kinds = {p.kind for p in graded.problems if p.student_id == "cy"}
    assert kinds == {"not_attempted"}


def test_one_wrong_answer_per_set_loses_exactly_its_points(graded):
    scores = _task_scores(graded)
    expected = samples.expected_scores(COURSEWORK)
    plan = samples.CLASS["ben"]
    assert sorted(plan) == ASSIGNMENTS and all(how[0] == "mistake" for how in plan.values())
    # the kinds of mistake the issue names, each in the set that covers it
    assert {how[2] for how in plan.values()} >= {
        "dot product instead of the cosine", "forgotten square root", "sigma^2 instead of sigma in the threshold"}
    for name, tasks in samples.task_points(COURSEWORK).items():
        wrong = samples.task_of(plan[name][1])
        for task, maximum in tasks.items():
            assert scores[("ben", name, task)] == (0.0 if task == wrong else maximum), f"ben {name} {task}"
            assert scores[("ben", name, task)] == expected[("ben", name, task)]
    failed = {(p.assignment, p.task) for p in graded.problems if p.student_id == "ben"}
    assert failed == {(name, samples.task_of(how[1])) for name, how in plan.items()}


def test_grading_leaves_every_submitted_file_byte_identical(graded):
    assert graded.inbox_after == graded.inbox_before
    assert graded.submitted_after == graded.submitted_before
    # and the collected copies are the students' files, byte for byte
    assert {k: v[0] for k, v in graded.submitted_before.items()} == {k: v[0] for k, v in graded.inbox_before.items()}


def test_malformed_submissions_are_reported_for_that_student_only(graded):
    dee = {(p.assignment, p.task, p.kind) for p in graded.problems if p.student_id == "dee"}
    assert ("ps1", "", "invalid_notebook") in dee
    assert ("ps2", "", "missing_notebook") in dee
    assert ("ps3", "3.3", "timeout") in dee
    assert ("ps4", "4.1", "error") in dee
    messages = " ".join(p.detail for p in graded.problems if p.student_id == "dee")
    assert "not valid JSON" in messages and "ps2-final.ipynb" in messages
    assert "20 s limit" in messages and "ImportError" in messages
    # the rest of dee's work, and everybody else's, was graded as usual
    assert _task_scores(graded) == samples.expected_scores(COURSEWORK)
    others = {p.student_id for p in graded.problems if p.kind in ("autograde_failed", "timeout", "invalid_notebook")}
    assert others == {"dee"}


def test_grades_csv_lists_every_student_and_assignment(graded):
    expected = samples.expected_scores(COURSEWORK)
    points = samples.task_points(COURSEWORK)
    rows = {(r["student_id"], r["assignment"]): r for r in graded.grades}
    assert set(rows) == {(s, a) for s in samples.CLASS for a in ASSIGNMENTS}
    for (student, name), row in rows.items():
        assert float(row["score"]) == sum(v for (s, a, _), v in expected.items() if (s, a) == (student, name))
        assert float(row["max_score"]) == sum(points[name].values())


def test_feedback_html_for_every_graded_submission(graded):
    graded_nbs = sorted((graded.root / "autograded").glob("*/*/*.ipynb"))
    assert len(graded.html) == len(graded_nbs) == 14  # 16 submissions, dee's ps1 and ps2 ungradable
    secret = set()
    for name in ASSIGNMENTS:
        secret |= {line.strip() for c in _cells(name) if _meta(c).get("grade")
                   for line in HIDDEN_REGION.search(_source(c)).group(0).splitlines()[1:-1] if line.strip()}
    for path in graded.html:
        text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))  # the page as a reader sees it
        assert "Score:" in text
        assert "BEGIN HIDDEN TESTS" not in text
        shown = [line for line in secret if len(line) > 30 and line in text]
        # a failing hidden check shows the one assert line that failed (Plain tracebacks), no more
        assert all(line.startswith("assert") for line in shown), (path, shown)
        if path.parts[-3] == "ada":
            assert shown == []


def test_committed_sample_class_is_in_sync_with_the_sources(graded):
    """coursework/class was built by scripts/samples.py from the current sources and release."""
    assert _checksums(graded.fresh_class) == _checksums(COURSEWORK / "class")


# --------------------------------------------------------------------------- the hidden tests themselves


def _run(source, namespace, name):
    """Execute notebook code in-process, registering it so that inspect.getsource works."""
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    exec(compile(source, name, "exec"), namespace)  # noqa: S102 (the course's own notebook code)


def _copy_namespace(namespace):
    return {k: copy.deepcopy(v) if isinstance(v, np.ndarray | sp.spmatrix | tuple) else v
            for k, v in namespace.items()}


@pytest.mark.parametrize("name", ASSIGNMENTS)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # some mistakes divide by zero or take sqrt(-1)
def test_hidden_tests_catch_every_catalogued_mistake(name, capsys):
    """Each solution passes its task's tests; each catalogued mistake fails them with an assertion.

    Mistakes marked "visible" already fail the student's self-check; those marked "hidden" pass
    it and are caught only by the autograder's hidden tests.
    """
    cells = [c for c in _cells(name) if c["cell_type"] == "code"]
    first_task = next(i for i, c in enumerate(cells) if _meta(c).get("solution"))
    base = {}
    with matplotlib.rc_context():  # the setup may apply the book's plot style: keep it local
        for cell in cells[:first_task]:
            _run(_source(cell), base, f"<{name}-{_meta(cell)['grade_id']}>")
    checks = {samples.task_of(_meta(c)["grade_id"]): _source(c) for c in cells if _meta(c).get("grade")}
    solutions = {_meta(c)["grade_id"]: samples.solution_code(_source(c)) for c in cells if _meta(c).get("solution")}
    assert solutions, name
    for grade_id, solution in solutions.items():
        check = checks[samples.task_of(grade_id)]
        visible, hidden = HIDDEN_REGION.sub("", check), HIDDEN_REGION.search(check).group(0)
        mistakes = samples.MISTAKES[grade_id]
        assert len(mistakes) >= 2, f"{grade_id}: catalogue at least two plausible mistakes"
        for label, (caught_by, code) in [("solution", ("nothing", solution)), *mistakes.items()]:
            ns = _copy_namespace(base)
            _run(code, ns, f"<{grade_id}: {label}>")
            stage = "nothing"
            for stage_name, part in (("visible", visible), ("hidden", hidden)):
                try:
                    _run(part, ns, f"<{grade_id} {stage_name} tests>")
                except AssertionError as exc:
                    stage = stage_name
                    if stage_name == "visible":
                        assert len(str(exc)) > 20, f"{grade_id}: self-check without a helpful message"
                    break
            assert stage == caught_by, f"{grade_id}, {label!r}: expected to be caught by {caught_by}, got {stage}"
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
            assert "### BEGIN SOLUTION" in _source(sol[0]) and HIDDEN_REGION.search(_source(test[0]))
            assert "visible checks pass" in HIDDEN_REGION.sub("", _source(test[0]))
    linked = set(re.findall(r"/book/(0\d_\w+)\.html", " ".join(md for *_, md in tasks)))
    assert {f"0{n}" for n in range(2, 8)} == {chapter[:2] for chapter in linked}


def test_notebooks_state_the_grading_timeout_of_the_config():
    timeout = re.search(r"^c\.Execute\.timeout = (\d+)$", (COURSEWORK / "nbgrader_config.py").read_text(), re.MULTILINE)
    for name in ASSIGNMENTS:
        assert f"at most {timeout.group(1)} seconds" in _source(_cells(name)[0]), name


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
