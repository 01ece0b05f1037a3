"""Hidden tests of problem set 3, for the trusted grader (format: see ``ps1/hidden_tests.py``)."""

import numpy as np

from cosim_helpers.models import (fit_objective1, fit_objective2, loss_objective2, shrinkage_objective1,
                                  shrinkage_objective2)

# --------------------------------------------------------------------------- task 3.1


def cases_3_1(rng, public):
    n, p = int(rng.integers(12, 18)), int(rng.integers(19, 25))
    X_wide = rng.standard_normal((n, p)) * np.linspace(3.0, 0.5, p)
    s = np.linalg.svd(X_wide, compute_uv=False)
    lam_wide = float((s[2] + s[3]) / 2)  # switches off directions 4 .. k
    cases = [("the self-check's data", (public["X"], public["k"], public["lam"]))]
    cases += [(f"hidden: more items than users, some sigma_i <= lambda ({which})", (X_wide, k, lam_wide))
              for which, k in (("small k", 3), ("larger k", 6))]
    out = []
    for label, (X, k, lam) in cases:
        A2, B2 = fit_objective2(X, k, lam)
        out.append({"label": label, "call": "fit_obj2", "args": {"X": X, "k": k, "lam": lam},
                    "expect": (X.shape[1], k, A2 @ B2.T, A2 @ A2.T, B2 @ B2.T)})
    return out


def check_3_1(case, result, after):
    p, k, AB, AA, BB = case["expect"]
    assert isinstance(result, tuple) and len(result) == 2, "fit_obj2 must return the pair (A_hat, B_hat)"
    A, B = (np.asarray(M, dtype=float) for M in result)
    assert A.shape == (p, k) and B.shape == (p, k), "A_hat and B_hat must be p x k"
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(B)), "A_hat or B_hat contains NaN or inf"
    assert np.allclose(A @ B.T, AB, atol=1e-8), "A_hat B_hat^T differs from the optimum"
    assert np.allclose(B @ B.T, BB, atol=1e-8), "B_hat B_hat^T differs from the optimum"
    assert np.allclose(A @ A.T, AA, atol=1e-8), "A_hat A_hat^T differs from the optimum"


# --------------------------------------------------------------------------- task 3.2


def cases_3_2(rng, public):
    X, k, lam = public["X"], public["k"], public["lam"]
    A2, B2 = fit_objective2(X, k, lam)
    A1, B1 = fit_objective1(X, k, 20.0)
    p = int(rng.integers(7, 11))
    X0 = (rng.random((30, p)) < 0.5).astype(float)
    A0 = rng.standard_normal((p, 4))
    B0 = rng.standard_normal((p, 4)) * np.exp(rng.uniform(-3.0, 3.0, size=4))
    expected = np.sqrt(np.linalg.norm(B0, axis=0) / np.linalg.norm(X0 @ A0, axis=0))
    return [
        {"label": "the self-check's objective-2 optimum", "call": "balancing_D", "args": {"X": X, "A": A2, "B": B2},
         "expect": ("identity", k, None)},
        {"label": "the self-check's objective-1 optimum", "call": "balancing_D", "args": {"X": X, "A": A1, "B": B1},
         "expect": ("lowers", k, (X, A1, B1, lam))},
        {"label": "hidden: any A, B with columns of very different sizes", "call": "balancing_D",
         "args": {"X": X0, "A": A0, "B": B0}, "expect": ("equals", 4, expected)},
    ]


def check_3_2(case, result, after):
    what, k, data = case["expect"]
    D = np.asarray(result, dtype=float)
    assert D.shape == (k,), "balancing_D must return the k diagonal entries of D"
    assert np.all(np.isfinite(D)) and np.all(D > 0), "the entries of D must be positive and finite"
    if what == "identity":
        assert np.allclose(D, 1.0, atol=1e-6), "at the objective-2 optimum the balancing D is the identity"
    elif what == "lowers":
        X, A1, B1, lam = data
        assert loss_objective2(X, A1 * D, B1 / D, lam) <= loss_objective2(X, A1, B1, lam) + 1e-9, (
            "rescaling an objective-1 optimum by your D raised the objective-2 loss")
    else:
        assert np.allclose(D, data, rtol=1e-8), "balancing_D does not minimise the penalty"


# --------------------------------------------------------------------------- task 3.3


def cases_3_3(rng, public):
    s_hidden = np.sort(np.exp(rng.uniform(np.log(0.5), np.log(60.0), size=6)))[::-1]
    cases = [("the self-check's example", np.array([4.0, 2.0, 1.0, 0.5]), 1.0, 1.0)]
    cases += [(f"hidden: other singular values and lambdas ({n})", s_hidden, lam1, lam2)
              for n, (lam1, lam2) in enumerate(((float(rng.uniform(50, 150)), float(rng.uniform(3, 8))),
                                                (float(rng.uniform(1, 3)), float(rng.uniform(0.6, 1.0)))), 1)]
    return [{"label": label, "call": "shrinkage", "args": {"s": s, "lam1": lam1, "lam2": lam2},
             "expect": (shrinkage_objective1(s, lam1), shrinkage_objective2(s, lam2))} for label, s, lam1, lam2 in cases]


def check_3_3(case, result, after):
    f1_ref, f2_ref = case["expect"]
    assert isinstance(result, tuple) and len(result) == 2, "shrinkage must return the pair (f1, f2)"
    f1, f2 = (np.asarray(f, dtype=float) for f in result)
    assert f1.shape == f1_ref.shape and f2.shape == f2_ref.shape, "f1 and f2 must be shaped like s"
    assert np.allclose(f1, f1_ref, rtol=1e-12), "f1 is wrong"
    assert np.allclose(f2, f2_ref, rtol=1e-12, atol=1e-15), "f2 is wrong"


TASKS = {
    "3.1": {"cases": cases_3_1, "check": check_3_1, "forbidden": ["cosim_helpers.models.fit_objective2"]},
    "3.2": {"cases": cases_3_2, "check": check_3_2},
    "3.3": {"cases": cases_3_3, "check": check_3_3},
}
