"""Hidden tests of problem set 4, for the trusted grader (format: see ``ps1/hidden_tests.py``)."""

import numpy as np

from cosim_helpers.data import item_order, simulate_clustered
from cosim_helpers.metrics import cluster_recovery
from cosim_helpers.models import fit_objective1, fit_objective2
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.spectral import top_singular


def _other_simulation(rng):
    return simulate_clustered(n_users=int(rng.integers(1200, 1800)), n_items=int(rng.integers(70, 100)),
                              n_clusters=3, seed=int(rng.integers(2**31)))


# --------------------------------------------------------------------------- task 4.1


def cases_4_1(rng, public):
    sim = _other_simulation(rng)
    cases = [("the self-check's data", (public["X"], public["clusters"], public["popularity"], public["k"],
                                         public["lam2"])),
             ("hidden: another simulated data set", (sim.X, sim.clusters, sim.popularity, 8, float(rng.uniform(3, 8))))]
    out = []
    for label, (X, clusters, popularity, k, lam) in cases:
        order = item_order(clusters, popularity)
        S = cosine_similarity(fit_objective2(X, k, lam)[1])[np.ix_(order, order)]
        out.append({"label": label, "call": "objective2_panel",
                    "args": {"X": X, "clusters": clusters, "popularity": popularity, "k": k, "lam": lam},
                    "expect": (S, cluster_recovery(S, np.asarray(clusters)[order]))})
    return out


def check_4_1(case, result, after):
    S_ref, score_ref = case["expect"]
    assert isinstance(result, tuple) and len(result) == 2, "objective2_panel must return (S_sorted, score)"
    S, score = result
    S = np.asarray(S, dtype=float)
    assert S.shape == S_ref.shape, "S_sorted must be the p x p item-item matrix"
    assert isinstance(score, float), "score must be a float"
    assert np.allclose(S, S_ref, atol=1e-10), "S_sorted is not cosSim(B_hat, B_hat) of objective 2 in Figure-1 order"
    assert np.isclose(score, score_ref, atol=1e-12), "score is not the cluster recovery of S_sorted with labels in the same order"


# --------------------------------------------------------------------------- task 4.2


def cases_4_2(rng, public):
    X, k, lam1 = public["X"], public["k"], public["lam1"]
    A1, B1 = fit_objective1(X, k, lam1)
    D = np.exp(rng.uniform(-1.5, 1.5, size=k))
    p = int(rng.integers(10, 15))
    X0 = (rng.random((50, p)) < 0.3).astype(float)
    A0, B0 = rng.standard_normal((p, 4)), rng.standard_normal((p, 4))
    cases = [("the self-check's optimum", (X, A1, B1)),
             ("hidden: the same optimum rescaled by another D", (X, A1 * D, B1 / D)),
             ("hidden: other data and factors", (X0, A0, B0))]
    return [{"label": label, "call": "data_space_item_cosine", "args": {"X": X_, "A": A_, "B": B_},
             "expect": cosine_similarity(np.asarray(X_ @ A_ @ B_.T).T)} for label, (X_, A_, B_) in cases]


def check_4_2(case, result, after):
    S = np.asarray(result, dtype=float)
    assert S.shape == case["expect"].shape, "the result must be p x p (cosines between the columns of X A B^T)"
    assert np.allclose(S, case["expect"], atol=1e-10), "not the cosines between the columns of X A B^T"


# --------------------------------------------------------------------------- task 4.3


def _scores(X, clusters, k, lam, alphas):
    s = top_singular(X, k).s
    B = fit_objective1(X, k, lam)[1]
    return np.array([cluster_recovery(cosine_similarity(B / s**a), clusters) for a in alphas])


def cases_4_3(rng, public):
    X, clusters, k, lam1 = public["X"], public["clusters"], public["k"], public["lam1"]
    sim = _other_simulation(rng)
    alphas_hidden = np.sort(rng.uniform(-2.0, 2.0, size=4))
    cases = [("the self-check's alphas", (X, clusters, k, lam1, [-1.0, 0.0, 1.0])),
             ("hidden: other alphas", (X, clusters, k, lam1, [float(a) for a in alphas_hidden])),
             ("hidden: another simulated data set", (sim.X, sim.clusters, 8, float(rng.uniform(50, 150)),
                                                     [float(a) for a in rng.uniform(-1.5, 1.5, size=2)]))]
    return [{"label": label, "call": "recovery_over_alphas",
             "args": {"X": X_, "clusters": c_, "k": k_, "lam": lam_, "alphas": a_},
             "expect": _scores(X_, c_, k_, lam_, a_)} for label, (X_, c_, k_, lam_, a_) in cases]


def check_4_3(case, result, after):
    scores = np.asarray(result, dtype=float)
    assert scores.shape == case["expect"].shape, "return one score per alpha, as a NumPy array"
    assert np.allclose(scores, case["expect"], atol=1e-10), (
        "the scores are not those of cosSim(B_hat D^-1) with D = dMat(sigma^alpha)")


TASKS = {
    "4.1": {"cases": cases_4_1, "check": check_4_1},
    "4.2": {"cases": cases_4_2, "check": check_4_2},
    "4.3": {"cases": cases_4_3, "check": check_4_3},
}
