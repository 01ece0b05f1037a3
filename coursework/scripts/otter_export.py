#!/usr/bin/env python
"""The Otter-Grader version of the problem sets, generated from the same instructor sources.

For classes that work in Colab or grade on Gradescope (nbgrader does not run in Colab). One
source of truth: ``source/<ps>/<ps>.ipynb`` (nbgrader markup) and ``source/<ps>/hidden_tests.py``;
nothing here is edited by hand. Needs ``otter-grader`` (pinned in requirements.txt)::

    python coursework/scripts/otter_export.py export [--out DIR]    # default coursework/otter/
    python coursework/scripts/otter_export.py grade --inbox DIR [--no-sandbox]
    python coursework/scripts/otter_export.py check                 # scan the student files

``export`` writes, per problem set (``DIR/<ps>/``):

* ``student/<ps>.ipynb`` and ``student/tests/task_<n>_<m>.py``, zipped as ``<ps>-student.zip``:
  the notebook students get (solutions replaced by stubs as nbgrader's release does; each
  self-check cell replaced by ``grader.check("task_<n>_<m>")``, whose test file holds that
  self-check, worth 0 points) -- **hand these out**;
* ``<ps>-autograder.zip``: Otter's autograder configuration (``otter generate``) whose test files
  add, to each visible self-check, one hidden case worth the task's points that runs every case
  of ``hidden_tests.py`` on inputs drawn from the course seed (``otter_support.py``) --
  **instructor only** (upload it to Gradescope, or grade locally with ``grade``);
* ``solution/<ps>.ipynb``: the same notebook with the solutions, to check the autograder.

Every file is written deterministically (same sources and seed, same bytes). The export refuses
to finish if a student file contains hidden-test or solution text (:func:`find_leaks`).

``grade`` runs ``otter run`` on every ``<inbox>/<student>/<ps>/<ps>.ipynb`` (see ``lms.py`` for an
LMS download), each in its own bubblewrap sandbox (``sandbox.py``) unless ``--no-sandbox``, and
writes ``reports/otter_grades.csv`` (student_id, assignment, score, max_score).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import runpy
import shutil
import site
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Queue

COURSE = Path(__file__).resolve().parent.parent
SCRIPTS = COURSE / "scripts"
ROOT = COURSE.parent
DEFAULT_OUT = COURSE / "otter"
load = runpy.run_path(str(SCRIPTS / "siblings.py"))["load"]
grading = load("grading")

#: What the autograder installs on Gradescope besides otter-grader (cosim_helpers is shipped as
#: source in the zip): the package's runtime dependencies, at the versions of requirements.txt.
RUNTIME = ("numpy", "scipy", "matplotlib", "sympy", "ipywidgets", "autograd")
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_REGION = re.compile(r"^([ \t]*)### BEGIN (SOLUTION|HIDDEN TESTS)\s*\n(.*?)^[ \t]*### END \2[ \t]*\n?",
                     re.MULTILINE | re.DOTALL)
#: Text that only the autograder may contain: the hidden case, its helper, the seeds' use.
HIDDEN_MARKERS = ("hidden=True", "otter_support", "check_task(", "hidden_tests", "BEGIN SOLUTION",
                  "END SOLUTION", "BEGIN HIDDEN TESTS")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def question(task: str) -> str:
    """``"1.3"`` -> ``"task_1_3"``: the Otter question (and test file) of a task."""
    return "task_" + task.replace(".", "_")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _strip_regions(source: str, solutions: bool) -> str:
    """nbgrader's markup resolved: solutions kept (``solutions``) or stubbed; hidden-test regions dropped."""
    def replace(m):
        indent, what, body = m.group(1), m.group(2), m.group(3)
        if what == "HIDDEN TESTS":
            return ""
        if solutions:
            return body
        return "".join(f"{indent}{line}\n" for line in STUB.splitlines())
    return _REGION.sub(replace, source)


INIT_CELL = '''# Otter-Grader: grader.check("task_n_m") runs the visible checks of a task (their files are in
# tests/, next to this notebook). In Colab, first upload {ps}-student.zip (Files pane): this cell unpacks its tests.
import os, subprocess, sys, zipfile
if "COLAB_RELEASE_TAG" in os.environ:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "otter-grader=={version}"], check=True)
if not os.path.isdir("tests") and os.path.isfile("{ps}-student.zip"):
    with zipfile.ZipFile("{ps}-student.zip") as zf:
        zf.extractall(members=[n for n in zf.namelist() if n.startswith("tests/")])
import otter
grader = otter.Notebook(tests_dir="tests")'''


def notebook(course: Path, ps: str, *, solutions: bool, otter_version: str) -> dict:
    """The Otter version of ``source/<ps>/<ps>.ipynb`` (a notebook as a dict)."""
    nb = json.loads((Path(course) / "source" / ps / f"{ps}.ipynb").read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        cell = json.loads(json.dumps(cell))
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if grade_id.endswith("-setup"):
            cells.append({"cell_type": "code", "execution_count": None, "id": f"{ps}-otter-init",
                          "metadata": {"editable": False, "deletable": False}, "outputs": [],
                          "source": INIT_CELL.format(ps=ps, version=otter_version)})
        if meta.get("grade"):
            cell["source"] = f'grader.check("{question(grading.task_label(grade_id))}")'
        elif cell["cell_type"] == "code":
            cell["source"] = _strip_regions(_source(cell), solutions)
        cells.append(cell)
    if not any(c.get("id") == f"{ps}-otter-init" for c in cells):
        raise SystemExit(f"{ps}: no setup cell (grade id ending in -setup) to put Otter's init cell before")
    nb["cells"] = cells
    nb["metadata"]["otter"] = {"assignment_name": ps}
    return nb


def test_file(ps: str, task: str, self_check: str, points: float, seed: int | None) -> str:
    """One Otter exception-based test file: the visible self-check, plus the hidden case if ``seed``."""
    q = question(task)
    text = (f'"""Otter test of task {task} of {ps}: generated by coursework/scripts/otter_export.py from\n'
            f'coursework/source/{ps}/ (do not edit here)."""\n\n'
            "from otter.test_files import test_case\n\n"
            "OK_FORMAT = False\n\n"
            f"name = {q!r}\n\n"
            f"SELF_CHECK = {self_check!r}\n\n\n"
            "@test_case(points=0, hidden=False)\n"
            "def self_check(env):\n"
            "    # the notebook's self-check cell (worth nothing: the points are for the hidden case)\n"
            f"    exec(compile(SELF_CHECK, '<self-check of task {task}>', 'exec'), dict(env))\n")
    if seed is not None:
        text += ("\n\n"
                 f"@test_case(points={points:g}, hidden=True)\n"
                 "def hidden_cases(env):\n"
                 "    # every case of hidden_tests.py, inputs drawn from the course seed\n"
                 "    import otter_support\n\n"
                 f"    otter_support.check_task(env, {ps!r}, {task!r}, {seed})\n")
    return text


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip with fixed dates and sorted names: the same members give the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name == "run_autograder" else 0o644) << 16
            zf.writestr(info, members[name])
    return path


def _notebook_bytes(nb: dict) -> bytes:
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _pins(names=RUNTIME) -> list[str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = line.strip()
    missing = [n for n in names if n not in pins]
    if missing:
        raise SystemExit(f"requirements.txt pins none of {', '.join(missing)}: cannot write the autograder's requirements")
    return [pins[n] for n in names]


def _autograder(course: Path, ps: str, tests: dict[str, str], lay, otter_version: str) -> dict[str, bytes]:
    """The members of ``<ps>-autograder.zip``, made by ``otter generate`` in a scratch folder."""
    from otter.generate import main as generate

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "tests").mkdir()
        for name, text in tests.items():
            (tmp / "tests" / name).write_text(text, encoding="utf-8")
        (tmp / "otter_config.json").write_text(json.dumps({"assignment_name": ps, "lang": "python"}, indent=2))
        (tmp / "requirements.txt").write_text("\n".join(_pins()) + "\n")
        shutil.copy(SCRIPTS / "otter_support.py", tmp / "otter_support.py")
        shutil.copy(SCRIPTS / "runner.py", tmp / "runner.py")
        shutil.copy(Path(course) / "source" / ps / "hidden_tests.py", tmp / f"hidden_tests_{ps}.py")
        (tmp / f"otter_{ps}.json").write_text(json.dumps({"setup": [c["source"] for c in lay.setup]}, indent=1))
        shutil.copytree(ROOT / "cosim_helpers", tmp / "cosim_helpers", ignore=shutil.ignore_patterns("__pycache__"))
        files = ["otter_support.py", "runner.py", f"hidden_tests_{ps}.py", f"otter_{ps}.json", "cosim_helpers"]
        out = tmp / "autograder.zip"
        with contextlib.chdir(tmp):
            generate(tests_dir="tests", output_path=str(out), config="otter_config.json",
                     requirements="requirements.txt", no_environment=True, files=files, python_version="3.11")
        with zipfile.ZipFile(out) as zf:
            return {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}


def export(course: Path = COURSE, out: Path = DEFAULT_OUT, seed: str | None = None) -> dict[str, dict[str, Path]]:
    """Write the Otter version of every problem set into ``out`` (see the module docstring)."""
    import otter

    course, out = Path(course), Path(out)
    if seed is None:
        seed, origin = grading.course_seed()
        print(f"hidden inputs from the course seed in {origin}")
    written = {}
    for ps in course_assignments(course):
        source = course / "source" / ps / f"{ps}.ipynb"
        lay = grading.layout(course, ps, notebook=source)
        checks = {}
        for cell in json.loads(source.read_text(encoding="utf-8"))["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                checks[grading.task_label(meta["grade_id"])] = _source(cell)
        folder = out / ps
        if folder.exists():
            shutil.rmtree(folder)
        student_tests, tests = {}, {}
        for task, points in sorted(lay.points.items()):
            name = f"{question(task)}.py"
            student_tests[name] = test_file(ps, task, checks[task], points, None)
            tests[name] = test_file(ps, task, checks[task], points, grading.task_seed(seed, ps, task))
        student_nb = _notebook_bytes(notebook(course, ps, solutions=False, otter_version=otter.__version__))
        members = {f"{ps}.ipynb": student_nb, **{f"tests/{n}": t.encode() for n, t in student_tests.items()}}
        for name, data in members.items():
            (folder / "student" / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / "student" / name).write_bytes(data)
        paths = {"student": folder / "student" / f"{ps}.ipynb",
                 "student_zip": _write_zip(folder / f"{ps}-student.zip", members),
                 "autograder": _write_zip(folder / f"{ps}-autograder.zip",
                                          _autograder(course, ps, tests, lay, otter.__version__)),
                 "solution": folder / "solution" / f"{ps}.ipynb"}
        paths["solution"].parent.mkdir(parents=True, exist_ok=True)
        paths["solution"].write_bytes(_notebook_bytes(notebook(course, ps, solutions=True,
                                                               otter_version=otter.__version__)))
        written[ps] = paths
        print(f"exported {ps}: {paths['student_zip'].relative_to(out)} (hand out), "
              f"{paths['autograder'].relative_to(out)} (instructor only)")
    leaks = find_leaks(course, out)
    if leaks:
        raise SystemExit("The Otter student files contain instructor-only text; do not hand them out:\n"
                         + "\n".join(f"  {leak}" for leak in leaks))
    print("checked: no solution code and no hidden test in any student file")
    return written


def course_assignments(course: Path) -> list[str]:
    source = Path(course) / "source"
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def _student_texts(out: Path, ps: str) -> dict[str, str]:
    """Every student file of ``ps``: the folder and the zip's members."""
    texts = {}
    folder = Path(out) / ps
    for path in sorted((folder / "student").rglob("*")):
        if path.is_file():
            texts[str(path.relative_to(out))] = path.read_text(encoding="utf-8")
    zpath = folder / f"{ps}-student.zip"
    if zpath.is_file():
        with zipfile.ZipFile(zpath) as zf:
            for info in zf.infolist():
                texts[f"{zpath.relative_to(out)}:{info.filename}"] = zf.read(info).decode("utf-8")
    return texts


def instructor_only_text(course: Path, ps: str) -> set[str]:
    """Lines a student file must not contain: solution lines, and ``hidden_tests.py``'s own lines.

    Lines of ``hidden_tests.py`` that also occur in the student version of the notebook (an
    import, a self-check's example) or are shorter than 12 characters are left out: they reveal
    nothing.
    """
    course_mod = load("course")
    solution = course_mod.instructor_only_lines(Path(course) / "source" / ps / f"{ps}.ipynb")
    cells = json.loads((Path(course) / "source" / ps / f"{ps}.ipynb").read_text(encoding="utf-8"))["cells"]
    released = "\n".join(_strip_regions(_source(c), solutions=False) for c in cells)  # self-checks included
    hidden = {line.strip() for line in (Path(course) / "source" / ps / "hidden_tests.py").read_text().splitlines()}
    return solution | {line for line in hidden if len(line) >= 12 and line not in released}


def find_leaks(course: Path = COURSE, out: Path = DEFAULT_OUT) -> list[str]:
    """``"<file>: <text>"`` for each instructor-only line or hidden marker found in a student file."""
    leaks = []
    for ps in course_assignments(course):
        secret = instructor_only_text(course, ps)
        long = [line for line in secret if len(line) >= 12]  # found inside a line too (a comment, a string)
        for name, text in _student_texts(out, ps).items():
            lines = text.splitlines()
            if name.endswith(".ipynb"):
                nb = json.loads(text)
                lines = [line for c in nb["cells"] for line in _source(c).splitlines()]
            for line in lines:
                if line.strip() in secret or any(m in line for m in (*long, *HIDDEN_MARKERS)):
                    leaks.append(f"{name}: {line.strip()[:100]}")
    return leaks


# --------------------------------------------------------------------------- grading with otter run


#: Bytes of the sandbox's writable results folder in the Otter route (a tmpfs; Otter's results
#: of one notebook take a few kB).
RESULTS_SPACE = 16 << 20
#: Runs inside the Otter sandbox: ``python -c RESULTS_BACK FD COMMAND...`` runs the command (which
#: does not inherit FD), then sends ``/grade/results/results.json`` through FD to the grader and
#: exits with the command's status.
RESULTS_BACK = """import subprocess, sys
code = subprocess.run(sys.argv[2:], check=False).returncode
try:
    with open("/grade/results/results.json", "rb") as fh:
        data = fh.read()
except OSError:
    data = b""
with open(int(sys.argv[1]), "wb") as out:
    out.write(data)
sys.exit(code)
"""


#: Installed packages the Otter sandbox sees as empty folders: ``rfc3987_syntax`` gives
#: ``jsonschema`` its IRI format checks, which neither Otter nor nbformat use, and its import
#: compiles 38 Earley grammars (about 2 s of CPU time) in Otter's process and again in the kernel,
#: of each notebook graded. Without it ``jsonschema`` simply has no IRI format check.
OTTER_HIDDEN = ("rfc3987_syntax",)


def _hidden_packages() -> tuple[str, ...]:
    import importlib.util

    found = []
    for name in OTTER_HIDDEN:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            found += [p for p in spec.submodule_search_locations if Path(p).is_dir()]
    return tuple(found)


def otter_run(autograder: Path, submission: Path, *, use_sandbox: bool = True,
              limits=None, slot: int = 0) -> dict:
    """Grade one notebook with ``otter run`` (no Docker); Otter's results.json as a dict.

    With ``use_sandbox`` (default) the whole ``otter run`` -- Otter, its kernel and the student's
    code -- runs in one bubblewrap sandbox (``sandbox.py``): no network, a private /tmp, nothing of
    the course but the two files, limits on time and memory. Raises ``RuntimeError`` with Otter's
    last output line if no results came back.
    """
    sandbox = grading.sandbox
    limits = limits or sandbox.Limits(wall=300.0, cpu=300, processes=64, call=300.0)
    autograder, submission = Path(autograder).resolve(), Path(submission).resolve()
    with tempfile.TemporaryDirectory(prefix="otter-run-") as tmp:
        out = Path(tmp) / "results"
        out.mkdir()
        out.chmod(0o777)
        name = "submission.ipynb"
        if use_sandbox:
            # the environment's site-packages folders (one may lie outside sys.prefix, linked by a .pth);
            # never the user's own (in the home folder)
            user = site.getusersitepackages()
            binds = {p: p for p in sys.path if p.endswith("site-packages") and p != user and Path(p).is_dir()}
            binds |= {str(autograder): "/grade/autograder.zip", str(submission): f"/grade/{name}"}
            if Path("/etc/hosts").is_file():  # Otter talks to its kernel over the sandbox's own loopback
                binds["/etc/hosts"] = "/etc/hosts"
            # Otter writes into a size-capped tmpfs of the sandbox (never a folder of this disk); the
            # results file comes back through the answers pipe, read up to its cap like any answer
            command = [sys.executable, "-I", "-c", RESULTS_BACK, "{answers_fd}", sys.executable, "-I", "-m", "otter",
                       "run", "--no-logo", "-a", "/grade/autograder.zip", "-o", "/grade/results", f"/grade/{name}"]
            result = sandbox.run(command, binds, limits=limits, slot=slot, whole_environment=True,
                                 scratch={"/grade/results": RESULTS_SPACE}, hidden=_hidden_packages())
            if result.answers and not result.answers_too_large:
                path = out / "results.json"
                path.write_bytes(result.answers)
        else:
            command = [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(autograder), "-o", str(out),
                       str(submission)]
            result = sandbox.run(command, {"__tmp__": tmp}, limits=limits, sandbox=False)
        path = out / "results.json"
        if not path.is_file():
            lines = result.output.decode(errors="replace").strip().splitlines() or ["(no output)"]
            last = lines[-1].split("OtterRuntimeError: ")[-1]  # Otter refused it (e.g. another assignment)
            raise RuntimeError(f"otter run gave no results (exit {result.returncode}): {last}")
        return json.loads(path.read_text(encoding="utf-8"))


def score(results: dict) -> float:
    """The score in an Otter results.json; ``RuntimeError`` with Otter's message if it could not grade."""
    tests = results.get("tests", [])
    for test in tests:
        if test.get("name") == "Autograder Error":
            lines = [line for line in str(test.get("output", "")).splitlines() if line.strip()]
            raise RuntimeError(lines[-1] if lines else "Otter could not grade it")
    return float(results.get("score", sum(t.get("score") or 0 for t in tests)))


def grade(inbox: Path, out: Path = DEFAULT_OUT, course: Path = COURSE, *, use_sandbox: bool = True,
          report: Path | None = None, workers: int | None = None) -> Path:
    """Grade ``<inbox>/<student>/<ps>/<ps>.ipynb`` with the exported autograders; write the grades CSV.

    ``workers`` notebooks at a time (default: the number of CPUs), each in its own sandbox.
    """
    inbox, out, course = Path(inbox), Path(out), Path(course)
    if not inbox.is_dir():
        raise SystemExit(f"inbox {inbox} does not exist")
    report = Path(report or Path(course) / "reports" / "otter_grades.csv")
    jobs, refused = [], []
    for ps in course_assignments(course):
        autograder = out / ps / f"{ps}-autograder.zip"
        if not autograder.is_file():
            raise SystemExit(f"{autograder} is missing: run `otter_export.py export` first")
        possible = sum(grading.layout(course, ps, course / "source" / ps / f"{ps}.ipynb").points.values())
        for student_dir in sorted(p for p in inbox.iterdir() if not p.name.startswith(".")):
            nb = student_dir / ps / f"{ps}.ipynb"
            # nothing of the inbox is followed out of it: a symlinked student folder, problem-set
            # folder or notebook (planted in a git clone) is refused, never resolved and graded
            if student_dir.is_symlink():
                if ps == course_assignments(course)[0]:
                    print(f"  PROBLEM {student_dir.name}: a symlink in the inbox, not a folder: not graded")
            elif (student_dir / ps).is_symlink() or nb.is_symlink():
                refused.append((student_dir.name, ps, 0.0, possible, "a symlink in the inbox: refused"))
            elif student_dir.is_dir() and (student_dir / ps).is_dir() and nb.exists():
                jobs.append((student_dir.name, ps, autograder, nb, possible))
    slots: Queue = Queue()
    for slot in range(max(1, workers or os.cpu_count() or 1)):
        slots.put(slot)

    def one(job):
        student, ps, autograder, nb, possible = job
        slot = slots.get()
        try:
            with tempfile.TemporaryDirectory(prefix="otter-nb-") as tmp:
                # a copy of a regular file (never a FIFO, a symlink or more than 20 MB) is what is graded
                copy = Path(tmp) / f"{ps}.ipynb"
                copy.write_bytes(grading.read_regular(nb))
                return student, ps, score(otter_run(autograder, copy, use_sandbox=use_sandbox, slot=slot)), possible, ""
        except ValueError as exc:
            return student, ps, 0.0, possible, f"{ps}.ipynb: {exc}"
        except RuntimeError as exc:  # e.g. not the Otter version of the notebook: scored 0, said so
            return student, ps, 0.0, possible, str(exc)
        except Exception as exc:  # noqa: BLE001 - e.g. a results file the student's kernel forged: theirs only
            return student, ps, 0.0, possible, f"could not be graded ({type(exc).__name__})"
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=slots.qsize()) as pool:
        rows = sorted(refused + list(pool.map(one, jobs)), key=lambda row: (row[1], row[0]))
    for student, ps, got, possible, problem in rows:
        if problem:
            print(f"  PROBLEM {student}/{ps}: not graded, scored 0: {problem}")
        print(f"graded {student}/{ps}: {got:g}/{possible:g}")
    report.parent.mkdir(parents=True, exist_ok=True)
    with report.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "assignment", "score", "max_score"])
        writer.writerows((s, a, f"{g:g}", f"{m:g}") for s, a, g, m, _ in rows)
    print(f"wrote {report}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="build folder (default: %(default)s)")
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("export", help="write the student files and the autograder zips")
    sub.add_parser("check", help="scan the exported student files for instructor-only text")
    p = sub.add_parser("grade", help="otter run every <inbox>/<student>/<ps>/<ps>.ipynb")
    p.add_argument("--inbox", type=Path, required=True)
    p.add_argument("--no-sandbox", action="store_true", help="run otter without bubblewrap (trusted notebooks only)")
    p.add_argument("--workers", type=int, default=None, help="notebooks graded at a time (default: the number of CPUs)")
    args = parser.parse_args(argv)
    if args.step == "export":
        export(COURSE, args.out)
    elif args.step == "check":
        leaks = find_leaks(COURSE, args.out)
        for leak in leaks:
            print(f"LEAK {leak}")
        print(f"{len(leaks)} instructor-only lines found in the Otter student files")
        return 1 if leaks else 0
    elif args.step == "grade":
        grade(args.inbox, args.out, use_sandbox=not args.no_sandbox, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
