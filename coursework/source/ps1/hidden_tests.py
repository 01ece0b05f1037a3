"""Hidden tests of problem set 1, for the trusted grader (``coursework/scripts/grading.py``).

Instructor only: nbgrader never copies this file into ``release/`` (``nbgrader_config.py``) and
the release step checks that it is absent. The *code* is public in the course repository; what
students cannot know are the hidden inputs, which ``cases_*`` draw from ``rng``, a generator
seeded from the instructor's secret course seed.

For every task, ``cases_<set>_<task>(rng, public)`` returns the calls the sandbox makes, each a
dict with ``label`` (shown to the student: describe the case, never its values), ``call`` (the
student's function), ``args`` (its keyword arguments: arrays, scipy.sparse matrices, numbers)
and ``expect`` (anything the check needs; it never enters the sandbox). ``public`` is the
namespace of the notebook's own setup cell, run by the grader. ``check_<set>_<task>(case,
result, after)`` receives what the student's function returned, as plain numbers and arrays,
and the array arguments as they were after the call; it raises ``AssertionError`` with a
message for the student (again: no hidden values in it) when the answer is wrong.
"""

import numpy as np

from cosim_helpers.models import loss_objective1, loss_objective2
from cosim_helpers.similarity import cosine_similarity


def _matrix(result, shape):
    S = np.asarray(result, dtype=float)
    assert S.shape == shape, "the result has the wrong shape"
    assert np.all(np.isfinite(S)), "the result contains NaN or inf"
    return S


# --------------------------------------------------------------------------- task 1.1


def cases_1_1(rng, public):
    E_check = np.array([[3.0, 4.0], [6.0, 8.0], [4.0, -3.0], [0.0, 0.0]])
    m = int(rng.integers(7, 12))
    E = rng.standard_normal((m, 4)) * rng.uniform(0.1, 10.0, size=(m, 1))
    E[rng.choice(m, size=2, replace=False)] = 0.0
    E_wide = rng.standard_normal((3, int(rng.integers(5, 9))))
    return [{"label": label, "call": "cosine_rows", "args": {"E": M}, "expect": (M.copy(), cosine_similarity(M))}
            for label, M in (("the self-check's example", E_check),
                             ("hidden: rows of very different lengths, two of them zero", E),
                             ("hidden: more columns than rows", E_wide))]


def check_1_1(case, result, after):
    E, reference = case["expect"]
    S = _matrix(result, reference.shape)
    assert np.array_equal(after["E"], E), "cosine_rows modified its argument E"
    assert np.allclose(S, reference, atol=1e-10), "cosine_rows(E) differs from cosSim(E, E)"


# --------------------------------------------------------------------------- task 1.2


def cases_1_2(rng, public):
    n, p = int(rng.integers(9, 14)), int(rng.integers(5, 8))
    X = (rng.random((n, p)) < 0.4).astype(float)
    X[int(rng.integers(n))] = 0.0  # a user with no items: zero embedding, cosine 0
    A, B = rng.standard_normal((p, 3)), rng.standard_normal((p, 3)) * rng.uniform(0.1, 5, size=(p, 1))
    return [{"label": label, "call": "user_item_cosine", "args": {"X": X_, "A": A_, "B": B_},
             "expect": cosine_similarity(X_ @ A_, B_)}
            for label, (X_, A_, B_) in (("the self-check's data", (public["X"], public["A"], public["B"])),
                                        ("hidden: other data, one user without items", (X, A, B)))]


def check_1_2(case, result, after):
    C = _matrix(result, case["expect"].shape)
    assert np.allclose(C, case["expect"], atol=1e-10), "user_item_cosine differs from cosSim(XA, B)"


# --------------------------------------------------------------------------- tasks 1.3 and 1.4


def _loss_cases(rng, name, reference):
    I2, Z2 = np.eye(2), np.zeros((2, 2))
    p = int(rng.integers(4, 7))
    X_rect = (rng.random((int(rng.integers(6, 10)), p)) < 0.5).astype(float)
    X_square = (rng.random((p, p)) < 0.5).astype(float)
    A, B = rng.standard_normal((p, 3)), rng.standard_normal((p, 3))
    cases = [("the self-check's first example", (I2, Z2, Z2, 1.0)),
             ("the self-check's second example", (I2, I2, I2, 3.0))]
    for lam in (0.0, float(rng.uniform(0.5, 5.0))):
        which = "lambda = 0" if lam == 0 else "lambda > 0"
        cases += [(f"hidden: square X, {which}", (X_square, A, B, lam)),
                  (f"hidden: more users than items, {which}", (X_rect, A, B, lam))]
    return [{"label": label, "call": name, "args": dict(zip("X A B lam".split(), args)),
             "expect": reference(*args)} for label, args in cases]


def _check_loss(name, case, result):
    value = float(np.asarray(result, dtype=float))
    assert np.isclose(value, case["expect"], rtol=1e-10), f"{name} is wrong (for this case)"


def cases_1_3(rng, public):
    return _loss_cases(rng, "loss_objective_1", loss_objective1)


def check_1_3(case, result, after):
    _check_loss("loss_objective_1", case, result)


def cases_1_4(rng, public):
    return _loss_cases(rng, "loss_objective_2", loss_objective2)


def check_1_4(case, result, after):
    _check_loss("loss_objective_2", case, result)


#: task -> what the grader needs; "forbidden" names the reference implementation a task must not
#: call (it is poisoned inside the sandbox and searched for in the student's code).
TASKS = {
    "1.1": {"cases": cases_1_1, "check": check_1_1, "forbidden": ["cosim_helpers.similarity.cosine_similarity"]},
    "1.2": {"cases": cases_1_2, "check": check_1_2},
    "1.3": {"cases": cases_1_3, "check": check_1_3},
    "1.4": {"cases": cases_1_4, "check": check_1_4},
}
