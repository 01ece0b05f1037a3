#!/usr/bin/env python
"""The sample class in ``coursework/class/``: four students, built from the release.

    python coursework/scripts/samples.py          # (re)write coursework/class/ from release/

Run the release step first. The class exercises every path of the grading workflow:

* ``ada`` hands in the instructor solutions (the code of every solution region of ``source/``)
  and must get full marks;
* ``ben`` makes one plausible mistake per problem set (:data:`CLASS`), taken from the
  catalogue :data:`MISTAKES`, and must lose exactly the points of those tasks;
* ``cy`` hands in the released notebooks unchanged and must get zero on every task;
* ``dee`` hands in broken submissions: a truncated (not valid JSON) ps1 (scored 0), ps2 under a
  wrong file name (graded, since it is the only ps2 notebook in the folder, and reported), a ps3
  whose task-3.3 function loops forever (stopped by the time limit of one call) and a ps4 whose
  task-4.1 cell raises an ImportError; grading must report each and go on.

:data:`MISTAKES` lists, for every solution cell, wrong answers a student could plausibly give,
and whether the visible self-check already catches each one or only the hidden tests do;
``tests/test_coursework.py`` checks every entry against the instructor's tests.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent

_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
_TASK = re.compile(r"^ps(\d+)-t(\d+)-")

# --------------------------------------------------------------------------- the mistakes
# MISTAKES[solution grade_id][name] = (caught_by, full replacement source of the solution cell)
# caught_by is "visible" (the student's self-check fails) or "hidden" (only the autograder's
# hidden tests fail).

MISTAKES: dict[str, dict[str, tuple[str, str]]] = {
    "ps1-t1-cosine": {
        "dot product instead of the cosine": ("visible", '''
def cosine_rows(E):
    E = np.asarray(E, dtype=float)
    return E @ E.T
'''),
        "NaN for a zero row": ("visible", '''
def cosine_rows(E):
    E = np.asarray(E, dtype=float)
    E_unit = E / np.linalg.norm(E, axis=1, keepdims=True)
    return E_unit @ E_unit.T
'''),
        "normalises the columns instead of the rows": ("visible", '''
def cosine_rows(E):
    E = np.asarray(E, dtype=float)
    norms = np.linalg.norm(E, axis=0)
    E_unit = E / np.where(norms > 0, norms, 1.0)
    return E_unit @ E_unit.T
'''),
        "normalises E in place (modifies the caller's array)": ("hidden", '''
def cosine_rows(E):
    E = np.asarray(E, dtype=float)
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    E /= norms
    return E @ E.T
'''),
        "calls the reference implementation": ("hidden", '''
def cosine_rows(E):
    from cosim_helpers.similarity import cosine_similarity
    return cosine_similarity(E)
'''),
    },
    "ps1-t2-user-item": {
        "item embeddings A instead of user embeddings XA": ("visible", '''
def user_item_cosine(X, A, B):
    return normalize_rows(A) @ normalize_rows(B).T
'''),
        "normalises the rows of the score matrix": ("hidden", '''
def user_item_cosine(X, A, B):
    return normalize_rows(X @ A @ B.T)
'''),
        "predicted scores instead of cosines": ("visible", '''
def user_item_cosine(X, A, B):
    return X @ A @ B.T
'''),
    },
    "ps1-t3-loss1": {
        "forgotten square of the Frobenius norms": ("visible", '''
def loss_objective_1(X, A, B, lam):
    return float(np.linalg.norm(X - X @ A @ B.T) + lam * np.linalg.norm(A @ B.T))
'''),
        "fits X by A B^T instead of X A B^T": ("hidden", '''
def loss_objective_1(X, A, B, lam):
    return float(np.sum((X - A @ B.T) ** 2) + lam * np.sum((A @ B.T) ** 2))
'''),
    },
    "ps1-t4-loss2": {
        "penalises A instead of XA": ("hidden", '''
def loss_objective_2(X, A, B, lam):
    return float(np.sum((X - X @ A @ B.T) ** 2) + lam * (np.sum(A**2) + np.sum(B**2)))
'''),
        "forgotten square of the Frobenius norms": ("visible", '''
def loss_objective_2(X, A, B, lam):
    return float(np.linalg.norm(X - X @ A @ B.T) + lam * (np.linalg.norm(X @ A) + np.linalg.norm(B)))
'''),
    },
    "ps2-t1-fit": {
        "forgotten square root": ("hidden", '''
def fit_obj1(X, k, lam):
    _, s, Vt = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
    s, V = s[:k], Vt[:k].T
    A_hat = V * (s**2 / (s**2 + lam))
    return A_hat, A_hat.copy()
'''),
        "sigma instead of sigma^2 in the shrinkage": ("hidden", '''
def fit_obj1(X, k, lam):
    _, s, Vt = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
    s, V = s[:k], Vt[:k].T
    A_hat = V * np.sqrt(s / (s + lam))
    return A_hat, A_hat.copy()
'''),
        "left singular vectors U instead of V": ("visible", '''
def fit_obj1(X, k, lam):
    U, s, _ = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
    A_hat = U[:, :k] * np.sqrt(s[:k] ** 2 / (s[:k] ** 2 + lam))
    return A_hat, A_hat.copy()
'''),
        "calls the reference implementation": ("hidden", '''
def fit_obj1(X, k, lam):
    return fit_objective1(X, k, lam)
'''),
    },
    "ps2-t2-invariance": {
        "rescales both factors by D": ("visible", '''
def my_D(k):
    return 2.0 ** np.arange(k)


def invariance_report(X, A, B, lam, D):
    A_D, B_D = A * D, B * D
    loss = loss_objective1(X, A, B, lam)
    loss_change = abs(loss_objective1(X, A_D, B_D, lam) - loss) / loss
    return loss_change, np.max(np.abs(cosine_similarity(B_D) - cosine_similarity(B)))
'''),
        "compares the cosines of A D instead of B D^-1": ("hidden", '''
def my_D(k):
    return 2.0 ** np.arange(k)


def invariance_report(X, A, B, lam, D):
    A_D, B_D = A * D, B / D
    loss = loss_objective1(X, A, B, lam)
    loss_change = abs(loss_objective1(X, A_D, B_D, lam) - loss) / loss
    return loss_change, np.max(np.abs(cosine_similarity(A_D) - cosine_similarity(A)))
'''),
        "D a multiple of the identity": ("visible", '''
def my_D(k):
    return np.full(k, 3.0)


def invariance_report(X, A, B, lam, D):
    A_D, B_D = A * D, B / D
    loss = loss_objective1(X, A, B, lam)
    loss_change = abs(loss_objective1(X, A_D, B_D, lam) - loss) / loss
    return loss_change, np.max(np.abs(cosine_similarity(B_D) - cosine_similarity(B)))
'''),
    },
    "ps2-t3-extreme": {
        "most and least similar swapped": ("visible", '''
def extreme_D(B, i, j, most_similar=True):
    products = B[i] * B[j]
    D = np.full(B.shape[1], 1e4)
    D[np.argmin(products) if most_similar else np.argmax(products)] = 1.0
    return D
'''),
        "largest |product|, ignoring its sign": ("visible", '''
def extreme_D(B, i, j, most_similar=True):
    D = np.full(B.shape[1], 1e4)
    D[np.argmax(np.abs(B[i] * B[j]))] = 1.0
    return D
'''),
        "D not uneven enough": ("visible", '''
def extreme_D(B, i, j, most_similar=True):
    products = B[i] * B[j]
    D = np.full(B.shape[1], 2.0)
    D[np.argmax(products) if most_similar else np.argmin(products)] = 1.0
    return D
'''),
        "hard-coded for items 3 and 7 of the notebook": ("hidden", '''
def extreme_D(B, i, j, most_similar=True):
    D = np.full(5, 1e4)
    D[2 if most_similar else 3] = 1.0
    return D
'''),
    },
    "ps3-t1-fit": {
        "sigma^2 instead of sigma in the threshold": ("visible", '''
def fit_obj2(X, k, lam):
    _, s, Vt = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
    s, V = s[:k], Vt[:k].T
    shrink = np.clip(1.0 - lam / s**2, 0.0, None)
    return V * np.sqrt(shrink / s), V * np.sqrt(s * shrink)
'''),
        "forgotten square root": ("visible", '''
def fit_obj2(X, k, lam):
    _, s, Vt = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
    s, V = s[:k], Vt[:k].T
    kept = np.clip(s - lam, 0.0, None)
    return V * (kept / s), V * kept
'''),
        "no positive part (y)_+": ("hidden", '''
def fit_obj2(X, k, lam):
    _, s, Vt = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
    s, V = s[:k], Vt[:k].T
    kept = s - lam
    return V * (np.sqrt(kept) / s), V * np.sqrt(kept)
'''),
        "user and item scalings swapped": ("visible", '''
def fit_obj2(X, k, lam):
    _, s, Vt = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
    s, V = s[:k], Vt[:k].T
    kept = np.clip(s - lam, 0.0, None)
    return V * np.sqrt(kept), V * (np.sqrt(kept) / s)
'''),
        "calls the reference implementation": ("hidden", '''
def fit_obj2(X, k, lam):
    return fit_objective2(X, k, lam)
'''),
    },
    "ps3-t2-balance": {
        "forgotten square root": ("hidden", '''
def balancing_D(X, A, B):
    return np.linalg.norm(B, axis=0) / np.linalg.norm(X @ A, axis=0)
'''),
        "columns of A instead of XA": ("visible", '''
def balancing_D(X, A, B):
    return np.sqrt(np.linalg.norm(B, axis=0) / np.linalg.norm(A, axis=0))
'''),
        "ratio upside down": ("visible", '''
def balancing_D(X, A, B):
    return np.sqrt(np.linalg.norm(X @ A, axis=0) / np.linalg.norm(B, axis=0))
'''),
    },
    "ps3-t3-shrinkage": {
        "sigma^2 instead of sigma in the threshold": ("hidden", '''
def shrinkage(s, lam1, lam2):
    s = np.asarray(s, dtype=float)
    return s**2 / (s**2 + lam1), np.clip(1.0 - lam2 / s**2, 0.0, None)
'''),
        "sigma instead of sigma^2 in f1": ("hidden", '''
def shrinkage(s, lam1, lam2):
    s = np.asarray(s, dtype=float)
    return s / (s + lam1), np.clip(1.0 - lam2 / s, 0.0, None)
'''),
        "no positive part (y)_+": ("visible", '''
def shrinkage(s, lam1, lam2):
    s = np.asarray(s, dtype=float)
    return s**2 / (s**2 + lam1), 1.0 - lam2 / s
'''),
    },
    "ps4-t1-panel": {
        "cluster labels not reordered for the score": ("hidden", '''
def objective2_panel(X, clusters, popularity, k, lam):
    order = item_order(clusters, popularity)
    S_sorted = cosine_similarity(fit_objective2(X, k, lam)[1])[np.ix_(order, order)]
    return S_sorted, float(cluster_recovery(S_sorted, clusters))
'''),
        "rows of A_hat instead of B_hat": ("hidden", '''
def objective2_panel(X, clusters, popularity, k, lam):
    order = item_order(clusters, popularity)
    S_sorted = cosine_similarity(fit_objective2(X, k, lam)[0])[np.ix_(order, order)]
    return S_sorted, float(cluster_recovery(S_sorted, np.asarray(clusters)[order]))
'''),
        "objective 1 instead of objective 2": ("hidden", '''
def objective2_panel(X, clusters, popularity, k, lam):
    order = item_order(clusters, popularity)
    S_sorted = cosine_similarity(fit_objective1(X, k, lam)[1])[np.ix_(order, order)]
    return S_sorted, float(cluster_recovery(S_sorted, np.asarray(clusters)[order]))
'''),
    },
    "ps4-t2-data-space": {
        "raw X instead of X A B^T": ("hidden", '''
def data_space_item_cosine(X, A, B):
    return cosine_similarity(X.T)
'''),
        "embedding cosines of B": ("visible", '''
def data_space_item_cosine(X, A, B):
    return cosine_similarity(B)
'''),
        "cosines between users (rows) instead of items": ("visible", '''
def data_space_item_cosine(X, A, B):
    return cosine_similarity(np.asarray(X @ A) @ B.T)
'''),
    },
    "ps4-t3-sweep": {
        "B_hat D instead of B_hat D^-1": ("hidden", '''
def recovery_over_alphas(X, clusters, k, lam, alphas):
    s = top_singular(X, k).s
    B_hat = fit_objective1(X, k, lam)[1]
    return np.array([cluster_recovery(cosine_similarity(B_hat * s**a), clusters) for a in alphas])
'''),
        "sigma^2 instead of sigma in D": ("hidden", '''
def recovery_over_alphas(X, clusters, k, lam, alphas):
    s = top_singular(X, k).s
    B_hat = fit_objective1(X, k, lam)[1]
    return np.array([cluster_recovery(cosine_similarity(B_hat / s ** (2 * a)), clusters) for a in alphas])
'''),
        "D never applied": ("visible", '''
def recovery_over_alphas(X, clusters, k, lam, alphas):
    B_hat = fit_objective1(X, k, lam)[1]
    return np.array([cluster_recovery(cosine_similarity(B_hat), clusters) for a in alphas])
'''),
    },
}

# --------------------------------------------------------------------------- the class

_DEE_PS3 = '''
def shrinkage(s, lam1, lam2):
    s = np.asarray(s, dtype=float)
    f1 = s**2 / (s**2 + lam1)
    f2 = np.zeros_like(s)
    i = 0
    while i < len(s):  # sample class: i is never increased, so this loops until the timeout
        f2[i] = max(0.0, 1.0 - lam2 / s[i])
    return f1, f2
'''
_DEE_PS4 = '''
from cosim_helpers.plots import heatmap  # sample class: no such function, this cell raises ImportError


def objective2_panel(X, clusters, popularity, k, lam):
    order = item_order(clusters, popularity)
    S_sorted = cosine_similarity(fit_objective2(X, k, lam)[1])[np.ix_(order, order)]
    return S_sorted, float(cluster_recovery(S_sorted, np.asarray(clusters)[order]))
'''

#: What each student hands in, per problem set: "solutions", "release" (unchanged), a mistake
#: ("mistake", grade_id, name), ("code", grade_id, source) for a broken cell, "truncated"
#: (half of the solution notebook's bytes: not valid JSON) or ("renamed", file name).
CLASS = {
    "ada": {"ps1": "solutions", "ps2": "solutions", "ps3": "solutions", "ps4": "solutions"},
    "ben": {
        "ps1": ("mistake", "ps1-t1-cosine", "dot product instead of the cosine"),
        "ps2": ("mistake", "ps2-t1-fit", "forgotten square root"),
        "ps3": ("mistake", "ps3-t1-fit", "sigma^2 instead of sigma in the threshold"),
        "ps4": ("mistake", "ps4-t1-panel", "cluster labels not reordered for the score"),
    },
    "cy": {"ps1": "release", "ps2": "release", "ps3": "release", "ps4": "release"},
    "dee": {
        "ps1": "truncated",
        "ps2": ("renamed", "ps2-final.ipynb"),
        "ps3": ("code", "ps3-t3-shrinkage", _DEE_PS3),
        "ps4": ("code", "ps4-t1-panel", _DEE_PS4),
    },
}


def task_of(grade_id: str) -> str:
    """``"ps1-t3-loss1"`` -> ``"1.3"``."""
    m = _TASK.match(grade_id)
    return f"{m.group(1)}.{m.group(2)}" if m else ""


def solution_code(source: str) -> str:
    """The instructor's code of a solution cell: its source without the region markers."""
    return "\n".join(line for line in source.splitlines() if not _MARKER.match(line))


def task_points(course: Path = COURSE) -> dict[str, dict[str, float]]:
    """``{assignment: {task: points}}`` read from the grade cells of the source notebooks."""
    points = {}
    for nb_path in sorted((Path(course) / "source").glob("*/*.ipynb")):
        cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
        points[nb_path.stem] = {
            task_of(c["metadata"]["nbgrader"]["grade_id"]): float(c["metadata"]["nbgrader"]["points"])
            for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")
        }
    return points


def expected_scores(course: Path = COURSE) -> dict[tuple[str, str, str], float]:
    """``{(student, assignment, task): points}`` that grading the sample class must give."""
    expected = {}
    for student, plan in CLASS.items():
        for name, tasks in task_points(course).items():
            how = plan[name]
            for task, points in tasks.items():
                if how == "solutions" or how[0] == "renamed":
                    score = points
                elif how in ("release", "truncated"):
                    score = 0.0
                else:
                    score = 0.0 if task_of(how[1]) == task else points
                expected[(student, name, task)] = score
    return expected


def _solutions(course: Path, name: str) -> dict[str, str]:
    cells = json.loads((Path(course) / "source" / name / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    return {c["metadata"]["nbgrader"]["grade_id"]: solution_code("".join(c["source"]))
            for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


def _filled(course: Path, name: str, overrides: dict[str, str]) -> str:
    """The released notebook of ``name`` with every solution cell answered (as JSON text)."""
    import nbformat

    nb = nbformat.read(Path(course) / "release" / name / f"{name}.ipynb", as_version=4)
    solutions = _solutions(course, name)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = overrides.get(meta["grade_id"], solutions[meta["grade_id"]]).strip("\n")
    return nbformat.writes(nb) + "\n"


def build_class(course: Path = COURSE, out: Path | None = None) -> Path:
    """Write the sample class (one folder per student and problem set) into ``out``."""
    course = Path(course)
    out = Path(out) if out is not None else course / "class"
    if not (course / "release").is_dir():
        raise SystemExit("run the release step first")
    if out.exists():
        shutil.rmtree(out)
    for student, plan in CLASS.items():
        for name, how in plan.items():
            folder = out / student / name
            folder.mkdir(parents=True)
            target = folder / f"{name}.ipynb"
            if how == "release":
                shutil.copyfile(course / "release" / name / f"{name}.ipynb", target)
            elif how == "solutions":
                target.write_text(_filled(course, name, {}), encoding="utf-8")
            elif how == "truncated":
                text = _filled(course, name, {})
                target.write_text(text[: len(text) // 2], encoding="utf-8")
            elif how[0] == "renamed":
                (folder / how[1]).write_text(_filled(course, name, {}), encoding="utf-8")
            elif how[0] == "mistake":
                _, grade_id, mistake = how
                target.write_text(_filled(course, name, {grade_id: MISTAKES[grade_id][mistake][1]}),
                                  encoding="utf-8")
            elif how[0] == "code":
                target.write_text(_filled(course, name, {how[1]: how[2]}), encoding="utf-8")
            else:
                raise ValueError(f"unknown plan {how!r} for {student}/{name}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, default=COURSE)
    parser.add_argument("--out", type=Path, default=None, help="default: <course>/class")
    args = parser.parse_args(argv)
    out = build_class(args.course.resolve(), args.out)
    print(f"wrote the sample class to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
