"""The Otter-Grader version of the problem sets (coursework/scripts/otter_export.py).

Exported once per module into a temporary folder, with the tests' own course seed, from the
committed instructor sources. The fast tests read the files; the ``slow`` one grades with
``otter run`` (no Docker), inside the bubblewrap sandbox when bubblewrap is installed.
"""

from __future__ import annotations

import json
import re
import runpy
import shutil
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("otter", reason="otter-grader is not installed (requirements.txt pins it)")

ROOT = Path(__file__).resolve().parents[1]
COURSEWORK = ROOT / "coursework"
load = runpy.run_path(str(COURSEWORK / "scripts" / "siblings.py"))["load"]
otter_export = load("otter_export")
grading = load("grading")
SEED = "test-secret-7f3a9c"
ASSIGNMENTS = otter_export.course_assignments(COURSEWORK)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("otter")
    return out, otter_export.export(COURSEWORK, out, seed=SEED)


def _student_files(out: Path, ps: str) -> dict[str, str]:
    return otter_export._student_texts(out, ps)


def _points(ps: str) -> dict[str, float]:
    return grading.layout(COURSEWORK, ps, COURSEWORK / "source" / ps / f"{ps}.ipynb").points


def test_every_problem_set_is_exported(exported):
    _, paths = exported
    assert sorted(paths) == ASSIGNMENTS == ["ps1", "ps2", "ps3", "ps4"]
    for ps in ASSIGNMENTS:
        nb = json.loads(paths[ps]["student"].read_text())
        sources = ["".join(c["source"]) for c in nb["cells"]]
        checks = [s for s in sources if s.startswith("grader.check(")]
        assert checks == [f'grader.check("{otter_export.question(t)}")' for t in sorted(_points(ps))]
        assert any("otter.Notebook(" in s for s in sources)
        assert nb["metadata"]["otter"] == {"assignment_name": ps}
        with zipfile.ZipFile(paths[ps]["student_zip"]) as zf:
            assert sorted(zf.namelist()) == sorted([f"{ps}.ipynb"] + [f"tests/{otter_export.question(t)}.py"
                                                                      for t in _points(ps)])


def test_no_hidden_test_or_solution_text_in_the_student_files(exported):
    out, _ = exported
    assert otter_export.find_leaks(COURSEWORK, out) == []
    seeds = {str(grading.task_seed(SEED, ps, t)) for ps in ASSIGNMENTS for t in _points(ps)}
    for ps in ASSIGNMENTS:
        hidden_labels = set(re.findall(r'"(hidden: [^"]*)"', (COURSEWORK / "source" / ps / "hidden_tests.py").read_text()))
        assert hidden_labels, ps
        for name, text in _student_files(out, ps).items():
            assert not any(seed in text for seed in seeds), name
            assert not any(label in text for label in hidden_labels), name
            assert "hidden=True" not in text and "otter_support" not in text, name


def test_the_autograder_holds_the_hidden_cases_with_the_points(exported):
    _, paths = exported
    for ps in ASSIGNMENTS:
        with zipfile.ZipFile(paths[ps]["autograder"]) as zf:
            names = set(zf.namelist())
            assert {"run_autograder", "otter_config.json", "environment.yml", "files/otter_support.py",
                    "files/runner.py", f"files/hidden_tests_{ps}.py", f"files/otter_{ps}.json",
                    "files/cosim_helpers/similarity.py"} <= names
            assert json.loads(zf.read("otter_config.json"))["assignment_name"] == ps
            for task, points in _points(ps).items():
                test = zf.read(f"tests/{otter_export.question(task)}.py").decode()
                assert f"@test_case(points={points:g}, hidden=True)" in test
                assert str(grading.task_seed(SEED, ps, task)) in test
                assert SEED not in test  # the per-task seeds only, never the course seed
            assert b"- numpy==" in zf.read("environment.yml")  # Gradescope installs the pinned versions


def test_a_leak_is_found(exported, tmp_path):
    out, _ = exported
    copy = tmp_path / "otter"
    shutil.copytree(out, copy)
    hidden_line = next(line.strip() for line in (COURSEWORK / "source/ps1/hidden_tests.py").read_text().splitlines()
                       if line.strip().startswith("E[rng.choice("))
    test = copy / "ps1" / "student" / "tests" / "task_1_1.py"
    test.write_text(test.read_text() + f"\n# {hidden_line}\n")
    leaks = otter_export.find_leaks(COURSEWORK, copy)
    assert len(leaks) == 1 and leaks[0].startswith("ps1/student/tests/task_1_1.py:")


def test_export_is_deterministic(exported, tmp_path):
    _, paths = exported
    again = otter_export.export(COURSEWORK, tmp_path / "again", seed=SEED)
    for ps in ASSIGNMENTS:
        for key in ("student", "student_zip", "autograder", "solution"):
            assert again[ps][key].read_bytes() == paths[ps][key].read_bytes(), (ps, key)


def _with_cell(nb_path: Path, function: str, source: str, dest: Path) -> Path:
    """The notebook with the cell that defines ``function`` replaced by ``source``."""
    nb = json.loads(nb_path.read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code" and f"def {function}(" in "".join(c["source"])]
    assert len(cells) == 1
    cells[0]["source"] = source
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1))
    return dest


IN_PLACE = '''def cosine_rows(E):
    norms = np.linalg.norm(E, axis=1)
    E /= np.where(norms > 0, norms, 1.0)[:, None]   # passes the self-check, but modifies E
    return E @ E.T
'''
FORBIDDEN = '''from cosim_helpers.similarity import cosine_similarity

def cosine_rows(E):
    return cosine_similarity(E)   # the reference the task forbids
'''

FORGE = """import otter.test_files.exception_test as _et
from otter.test_files.abstract_test import TestCaseResult as _R
def _run(self, env):
    self.test_case_results = [_R(test_case=tc, message="ok", passed=True) for tc in self.test_cases]
_et.ExceptionTestFile.run = _run
"""


@pytest.mark.slow
def test_otter_run_gives_the_solution_full_marks_and_a_blank_notebook_zero(exported, tmp_path, capsys):
    """``otter run`` (no Docker) on every problem set, through ``grade`` and its grades CSV."""
    out, paths = exported
    inbox = tmp_path / "inbox"
    for ps in ASSIGNMENTS:
        for student, key in (("solution", "solution"), ("blank", "student")):
            (inbox / student / ps).mkdir(parents=True)
            shutil.copy(paths[ps][key], inbox / student / ps / f"{ps}.ipynb")
    # hidden cases that the visible self-check does not catch (task 1.1 of 3 points)
    _with_cell(paths["ps1"]["solution"], "cosine_rows", IN_PLACE, inbox / "inplace" / "ps1" / "ps1.ipynb")
    _with_cell(paths["ps1"]["solution"], "cosine_rows", FORBIDDEN, inbox / "forbidden" / "ps1" / "ps1.ipynb")
    # the documented weakness (coursework/README.md): Otter runs the tests in the student's kernel, so a
    # blank notebook that patches Otter's test runner gets full marks; the nbgrader route gives it 0
    nb = json.loads(paths["ps1"]["student"].read_text())
    nb["cells"].insert(4, {"cell_type": "code", "execution_count": None, "id": "forge", "metadata": {},
                           "outputs": [], "source": FORGE})
    (inbox / "forger" / "ps1").mkdir(parents=True)
    (inbox / "forger" / "ps1" / "ps1.ipynb").write_text(json.dumps(nb))
    # the nbgrader version of the notebook: Otter refuses it (no Otter assignment name), scored 0 and said so
    (inbox / "nbgrader" / "ps1").mkdir(parents=True)
    shutil.copy(COURSEWORK / "class" / "ada" / "ps1" / "ps1.ipynb", inbox / "nbgrader" / "ps1" / "ps1.ipynb")
    sandboxed = shutil.which("bwrap") is not None
    report = otter_export.grade(inbox, out, COURSEWORK, use_sandbox=sandboxed, report=tmp_path / "grades.csv")
    printed = capsys.readouterr().out
    assert "PROBLEM nbgrader/ps1: not graded, scored 0: otter run gave no results (exit 1): " \
           "Received submission for assignment 'None' (this is assignment 'ps1')" in printed
    rows = [line.split(",") for line in report.read_text().splitlines()[1:]]
    scores = {(s, a): (float(g), float(m)) for s, a, g, m in rows}
    for ps in ASSIGNMENTS:
        total = sum(_points(ps).values())
        assert scores[("solution", ps)] == (total, total), ps
        assert scores[("blank", ps)] == (0.0, total), ps
    assert scores[("inplace", "ps1")] == (6.0, 9.0)
    assert scores[("forbidden", "ps1")] == (6.0, 9.0)
    assert scores[("nbgrader", "ps1")] == (0.0, 9.0)
    assert scores[("forger", "ps1")] == (9.0, 9.0)  # not a wish: what Otter's design allows
    assert len(scores) == 2 * len(ASSIGNMENTS) + 4


@pytest.mark.slow
def test_grader_check_in_the_students_notebook_passes_for_the_solution(exported, tmp_path):
    """The student's side: the solution, run top to bottom next to the student tests/, passes every grader.check."""
    import nbformat
    from nbclient import NotebookClient

    _, paths = exported
    folder = tmp_path / "ps1"
    shutil.copytree(paths["ps1"]["student"].parent, folder)
    shutil.copy(paths["ps1"]["solution"], folder / "ps1.ipynb")
    nb = nbformat.read(folder / "ps1.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(folder)}}).execute()
    outputs = {"".join(c.source): json.dumps(c.outputs) for c in nb.cells if c.cell_type == "code"}
    checks = {src: out for src, out in outputs.items() if src.startswith("grader.check(")}
    assert len(checks) == 4
    for src, out in checks.items():
        assert "passed" in out and "failed" not in out.lower(), (src, out[:300])


def _code_cells(cells):
    """(source, nbgrader id) of the code cells that are not self-checks nor Otter's init cell."""
    return [("".join(c["source"]).rstrip(), c["metadata"].get("nbgrader", {}).get("grade_id"))
            for c in cells if c["cell_type"] == "code" and not c["metadata"].get("nbgrader", {}).get("grade")
            and not str(c.get("id", "")).endswith("-otter-init")]


def test_the_student_code_is_nbgraders_release(exported, tmp_path):
    """One source, two routes: every code cell but the self-checks is nbgrader's released cell, stubs included."""
    course = load("course")
    root = tmp_path / "coursework"
    shutil.copytree(COURSEWORK, root, ignore=shutil.ignore_patterns("class", "release", "otter", "__pycache__"))
    course.release(root)
    _, paths = exported
    for ps in ASSIGNMENTS:
        released = json.loads((root / "release" / ps / f"{ps}.ipynb").read_text())["cells"]
        otter_nb = json.loads(paths[ps]["student"].read_text())["cells"]
        assert _code_cells(otter_nb) == _code_cells(released), ps


def test_grade_refuses_symlinks_and_fifos_in_the_inbox(tmp_path, monkeypatch, capsys):
    """Issue 20: ``inbox/mal/ps1 -> source/ps1`` was resolved and Otter graded the instructor's notebook."""
    import os

    out = tmp_path / "otter"
    for ps in ASSIGNMENTS:
        (out / ps).mkdir(parents=True)
        (out / ps / f"{ps}-autograder.zip").write_bytes(b"")
    inbox = tmp_path / "inbox"
    (inbox / "ada" / "ps1").mkdir(parents=True)
    (inbox / "ada" / "ps1" / "ps1.ipynb").write_text('{"cells": []}')
    (inbox / "mal").mkdir()
    (inbox / "mal" / "ps1").symlink_to(COURSEWORK / "source" / "ps1")
    (inbox / "mal" / "ps2").mkdir()
    (inbox / "mal" / "ps2" / "ps2.ipynb").symlink_to(COURSEWORK / "source" / "ps2" / "ps2.ipynb")
    (inbox / "eve").symlink_to(inbox / "ada")
    (inbox / "fif" / "ps1").mkdir(parents=True)
    os.mkfifo(inbox / "fif" / "ps1" / "ps1.ipynb")
    graded = []

    def otter_run(autograder, submission, **kwargs):
        graded.append(Path(submission).read_text())
        return {"score": 1.0}

    monkeypatch.setattr(otter_export, "otter_run", otter_run)
    report = otter_export.grade(inbox, out, COURSEWORK, report=tmp_path / "grades.csv", workers=1)
    rows = {(r.split(",")[0], r.split(",")[1]): r.split(",")[2] for r in report.read_text().splitlines()[1:]}
    assert graded == ['{"cells": []}'], "only ada's own regular file reached Otter"
    assert rows == {("ada", "ps1"): "1", ("mal", "ps1"): "0", ("mal", "ps2"): "0", ("fif", "ps1"): "0"}, rows
    assert "PROBLEM eve: a symlink in the inbox" in capsys.readouterr().out
