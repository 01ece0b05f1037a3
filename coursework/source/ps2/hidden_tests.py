"""Hidden tests of problem set 2, for the trusted grader (format: see ``ps1/hidden_tests.py``)."""

import numpy as np

from cosim_helpers.models import fit_objective1, loss_objective1, rescale
from cosim_helpers.similarity import cosine_similarity


def _diagonal(result, k):
    D = np.asarray(result, dtype=float)
    assert D.shape == (k,), "D must be given as its k diagonal entries"
    assert np.all(np.isfinite(D)) and np.all(D != 0), "D must be invertible: finite, non-zero entries"
    return D


# --------------------------------------------------------------------------- task 2.1


def cases_2_1(rng, public):
    X, k, lam = public["X"], public["k"], public["lam"]
    n, p = int(rng.integers(10, 15)), int(rng.integers(25, 35))
    X_wide = rng.standard_normal((n, p))
    k_wide, lam_wide = int(rng.integers(3, 6)), float(rng.uniform(2.0, 12.0))
    cases = [("the self-check's data", (X, k, lam)),
             ("the self-check's least-squares limit (k = p, lambda -> 0)", (X, X.shape[1], 1e-12)),
             ("hidden: more items than users, another lambda", (X_wide, k_wide, lam_wide))]
    out = []
    for label, (X_, k_, lam_) in cases:
        A1, B1 = fit_objective1(X_, k_, lam_)
        out.append({"label": label, "call": "fit_obj1", "args": {"X": X_, "k": k_, "lam": lam_},
                    "expect": (X_.shape[1], k_, A1 @ B1.T)})
    return out


def check_2_1(case, result, after):
    p, k, product = case["expect"]
    assert isinstance(result, tuple) and len(result) == 2, "fit_obj1 must return the pair (A_hat, B_hat)"
    A, B = (np.asarray(M, dtype=float) for M in result)
    assert A.shape == (p, k) and B.shape == (p, k), "A_hat and B_hat must both be p x k"
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(B)), "A_hat or B_hat contains NaN or inf"
    assert np.allclose(A, B), "the symmetric optimum has A_hat = B_hat"
    gram = A.T @ A
    assert np.allclose(gram, np.diag(np.diag(gram)), atol=1e-10), "the columns of A_hat must be orthogonal"
    assert np.allclose(A @ B.T, product, atol=1e-6 if k == p else 1e-10), "A_hat B_hat^T is not the objective-1 optimum"


# --------------------------------------------------------------------------- task 2.2


def cases_2_2(rng, public):
    X, k, lam = public["X"], public["k"], public["lam"]
    A1, B1 = fit_objective1(X, k, lam)
    k_hidden = int(rng.integers(3, 9))
    cases = [{"label": "my_D for the self-check's k", "call": "my_D", "args": {"k": k}, "expect": (k, X, A1, B1, lam)},
             {"label": "hidden: my_D for another k", "call": "my_D", "args": {"k": k_hidden}, "expect": (k_hidden,)}]
    D = rng.uniform(0.1, 8.0, size=k) * rng.choice([-1.0, 1.0], size=k)
    p = int(rng.integers(8, 12))
    X0 = (rng.random((40, p)) < 0.4).astype(float)
    A0, B0 = rng.standard_normal((p, 3)), rng.standard_normal((p, 3))
    D3 = rng.uniform(0.1, 5.0, size=3)
    for label, (X_, A_, B_, lam_, D_) in (("hidden: the optimum of the data, another D", (X, A1, B1, lam, D)),
                                          ("hidden: any A, B (not an optimum)", (X0, A0, B0, 2.0, D3))):
        _, BD = rescale(A_, B_, D_)
        cases.append({"label": label, "call": "invariance_report",
                      "args": {"X": X_, "A": A_, "B": B_, "lam": lam_, "D": D_},
                      "expect": float(np.max(np.abs(cosine_similarity(BD) - cosine_similarity(B_))))})
    return cases


def check_2_2(case, result, after):
    if case["call"] == "my_D":
        k = case["expect"][0]
        D = _diagonal(result, k)
        assert not np.allclose(np.abs(D), np.abs(D[0])), (
            "D must not be a multiple of the identity (up to signs): it would change no cosine")
        if len(case["expect"]) > 1:  # the self-check's requirement, computed here from D alone
            _, X, A1, B1, lam = case["expect"]
            A_D, B_D = rescale(A1, B1, D)
            change = np.max(np.abs(cosine_similarity(B_D) - cosine_similarity(B1)))
            assert change > 0.1, "your D changes no item-item cosine by more than 0.1: choose a more uneven D"
        return
    assert isinstance(result, tuple) and len(result) == 2, "invariance_report must return (loss_change, cosine_change)"
    loss_change, cosine_change = (float(np.asarray(v, dtype=float)) for v in result)
    assert abs(loss_change) < 1e-10, "loss_change is not at round-off level: rescale to (A D, B D^-1)"
    assert np.isclose(cosine_change, case["expect"], rtol=1e-8, atol=1e-12), (
        "cosine_change is not the largest change of an item-item cosine (rows of B D^-1)")


# --------------------------------------------------------------------------- task 2.3


def cases_2_3(rng, public):
    X, k, lam = public["X"], public["k"], public["lam"]
    A1, B1 = fit_objective1(X, k, lam)
    cases = [{"label": f"the self-check's items 3 and 7, most_similar={most}", "call": "extreme_D",
              "args": {"B": B1, "i": 3, "j": 7, "most_similar": most}, "expect": (B1.copy(), 3, 7, most, (X, A1))}
             for most in (True, False)]
    B = rng.standard_normal((15, 6))
    pairs = [(i, j) for i in range(15) for j in range(i + 1, 15)
             if (B[i] * B[j]).max() >= 0.2 and (B[i] * B[j]).min() <= -0.2]
    for index in rng.choice(len(pairs), size=8, replace=False):
        i, j = pairs[index]
        for most in (True, False):
            cases.append({"label": f"hidden: another pair of items, most_similar={most}", "call": "extreme_D",
                          "args": {"B": B, "i": i, "j": j, "most_similar": most}, "expect": (B.copy(), i, j, most, None)})
    return cases


def check_2_3(case, result, after):
    B, i, j, most, model = case["expect"]
    assert np.array_equal(after["B"], B), "extreme_D modified its argument B"
    D = _diagonal(result, B.shape[1])
    cos = cosine_similarity(B / D)[i, j]
    assert (cos >= 0.99) if most else (cos <= -0.99), (
        "the cosine of the two items is not >= 0.99" if most else "the cosine of the two items is not <= -0.99")
    if model is not None:
        X, A1 = model
        A2, B2 = rescale(A1, B, D)
        assert np.allclose(X @ A2 @ B2.T, X @ A1 @ B.T, rtol=1e-8, atol=1e-10), (
            "the predictions changed: D is so extreme that round-off matters")


TASKS = {
    "2.1": {"cases": cases_2_1, "check": check_2_1, "forbidden": ["cosim_helpers.models.fit_objective1"]},
    "2.2": {"cases": cases_2_2, "check": check_2_2},
    "2.3": {"cases": cases_2_3, "check": check_2_3},
}
