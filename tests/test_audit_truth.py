"""The audit's verdicts against cases whose truth is known (issue 19), and its inputs.

Each case of the issue's "Measured on main" list is a test here; each failed on
the audit that read its verdict off the factors' balance.
"""

import json
import warnings

import numpy as np
import pytest
import scipy.optimize

from cosim_helpers.audit import audit, audit_model, balance
from cosim_helpers.audit.balance import consistent_objectives, objective_choice
from cosim_helpers.audit.cli import main
from cosim_helpers.audit.gauges import _score_error, align, gauge_family
from cosim_helpers.audit.objectives import Objective
from cosim_helpers.data import simulate_clustered
from cosim_helpers.models import fit_objective1
from cosim_helpers.similarity import cosine_similarity

FAST = {"n_queries": 80, "n_transforms": 9, "rank_sample": 80}


def undetermined(result):
    return all(not side.verdict.startswith("determined") for side in result.sides.values())


@pytest.fixture(scope="module")
def objective1():
    X = simulate_clustered(n_users=400, n_items=80, n_clusters=4, seed=0).X
    A, B = fit_objective1(X, 6, 200.0)
    return np.asarray(X @ A), B


# --- the model-free cases of the issue -----------------------------------------------------------

def test_case1_the_verdict_does_not_depend_on_the_gauge_the_factors_were_exported_in(objective1):
    P, Q = objective1
    T = balance(P, Q).transform
    given, balanced = audit(P, Q, **FAST), audit(P @ T.M_P, Q @ T.M_Q, **FAST)
    assert undetermined(given) and undetermined(balanced)  # main: "arbitrary" vs "determined up to rotation"
    assert given["items"].verdict == balanced["items"].verdict == "arbitrary"
    # Declared, the objective (a penalty on the product only) leaves the gauge free in either export.
    for P_, Q_ in ((P, Q), (P @ T.M_P, Q @ T.M_Q)):
        r = audit(P_, Q_, objective="scores", **FAST)
        assert r["items"].verdict == "arbitrary" and r.balance is None


@pytest.mark.parametrize("shape", [((2000, 6), (2000, 6)), ((600, 20), (203, 20))])
def test_case2_random_gaussian_factors_are_never_called_determined(shape):
    rng = np.random.default_rng(0)
    P, Q = rng.standard_normal(shape[0]), rng.standard_normal(shape[1])
    r = audit(P, Q, **FAST)
    assert undetermined(r) and r.balance is None


def _gd_factorisation(Y, k, scale, steps=4000, lr=0.01, seed=0):
    """Plain gradient descent on ||Y - P Q^T||^2 / 2 (no penalty) from a start of the given scale."""
    rng = np.random.default_rng(seed)
    P, Q = scale * rng.standard_normal((Y.shape[0], k)), scale * rng.standard_normal((Y.shape[1], k))
    for _ in range(steps):
        R = P @ Q.T - Y
        P, Q = P - lr * R @ Q, Q - lr * R.T @ P
    return P, Q


def test_case3_gradient_descent_without_penalty_is_not_determined_from_any_start():
    rng = np.random.default_rng(1)
    Y = rng.standard_normal((60, 4)) @ rng.standard_normal((4, 40)) / 2
    small = _gd_factorisation(Y, 4, 1e-3)
    large = _gd_factorisation(Y, 4, 1.0)
    for P, Q in (small, large):
        assert np.linalg.norm(P @ Q.T - Y) < 1e-6 * np.linalg.norm(Y)  # both reached the optimum
    assert balance(*small).saved_fraction < 1e-3 and balance(*large).saved_fraction > 0.05
    for P, Q in (small, large):  # main: "determined up to rotation" from the small start
        assert undetermined(audit(P, Q, **FAST))
        assert undetermined(audit(P, Q, objective="scores", **FAST))
    # The truth: the two runs have the same scores and different item cosines.
    assert np.abs(cosine_similarity(small[1]) - cosine_similarity(large[1])).max() > 0.1


def _autoencoder_weight_decay(X, k, lam, seed):
    """Minimiser of ||X - X A B^T||^2 + lam (||A||^2 + ||B||^2) (weight decay on the parameters), by L-BFGS."""
    p = X.shape[1]

    def loss(theta):
        A, B = theta[: p * k].reshape(p, k), theta[p * k:].reshape(p, k)
        XA = X @ A
        R = X - XA @ B.T
        value = np.sum(R**2) + lam * (np.sum(A**2) + np.sum(B**2))
        gA = -2 * X.T @ R @ B + 2 * lam * A
        gB = -2 * R.T @ XA + 2 * lam * B
        return value, np.concatenate([gA.ravel(), gB.ravel()])

    theta0 = 0.1 * np.random.default_rng(seed).standard_normal(2 * p * k)
    res = scipy.optimize.minimize(loss, theta0, jac=True, method="L-BFGS-B",
                                  options={"maxiter": 20000, "gtol": 1e-11, "ftol": 1e-16})
    return res.x[: p * k].reshape(p, k), res.x[p * k:].reshape(p, k), np.linalg.norm(res.jac)


def test_case4_weight_decay_on_the_parameters_of_a_linear_autoencoder():
    X = simulate_clustered(n_users=200, n_items=30, n_clusters=3, seed=0).X
    X = np.asarray(X.todense()) if hasattr(X, "todense") else np.asarray(X)
    runs = [_autoencoder_weight_decay(X, 3, 5.0, seed) for seed in (0, 1)]
    (A, B, grad), (_A1, B1, _) = runs
    assert grad < 1e-5
    # The truth: the penalty on (A, B) pins the item cosines (two starts agree).
    assert np.abs(cosine_similarity(B) - cosine_similarity(B1)).max() < 1e-4
    right = audit_model(X, A, B, objective="l2", penalty_on="parameters", **FAST)
    assert right["items"].verdict == "determined" and right.balance.saved_fraction < 1e-6
    # Declaring the penalty on P = XA (the paper's objective 2) is a different objective: not its minimiser.
    wrong = audit_model(X, A, B, objective="l2", **FAST)
    assert wrong["items"].verdict == "not converged" and wrong.balance.saved_fraction > 0.05
    # Undeclared: no claim about weight decay at all (main: "no weight decay ... chose these factors").
    plain = audit_model(X, A, B, **FAST)
    assert undetermined(plain) and "weight decay" not in repr(plain)


def test_case5_the_family_range_is_in_the_text_and_the_json(objective1):
    P, Q = objective1
    r = audit(P, Q, max_cond=3.0, alpha_max=0.25, **FAST)
    assert "cond(D) <= 3" in repr(r) and "cond(G) <= 3" in repr(r) and "[-0.25, +0.25]" in repr(r)
    family = json.loads(json.dumps(r.to_dict(), allow_nan=False))["family"]
    assert family["diagonal_cond_max"] == 3.0 and family["power_alpha"] == [-0.25, 0.25]
    assert "cond(D) <= 3" in r._repr_markdown_()


# --- the gauge each objective picks, against a numerical optimiser --------------------------------

def _optimise_over_G(P, Q, w_P, w_Q):
    k = P.shape[1]

    def penalty(g):
        G = g.reshape(k, k)
        return np.sum(w_P[:, None] * (P @ G) ** 2) + np.sum(w_Q[:, None] * np.linalg.solve(G, Q.T).T ** 2)

    return scipy.optimize.minimize(penalty, np.eye(k).ravel(), method="BFGS", options={"gtol": 1e-10}).fun


def test_count_weighted_l2_choice_agrees_with_an_optimiser_over_G():
    rng = np.random.default_rng(3)
    P, Q = rng.standard_normal((30, 3)), rng.standard_normal((25, 3))
    w_P, w_Q = rng.integers(1, 20, 30).astype(float), rng.integers(1, 20, 25).astype(float)
    choice = objective_choice(P, Q, Objective("l2", w_P, w_Q))
    assert abs(choice.balanced_penalty - _optimise_over_G(P, Q, w_P, w_Q)) < 1e-6 * choice.balanced_penalty
    T = choice.transform
    P2, Q2 = P @ T.M_P, Q @ T.M_Q
    assert np.allclose(P2 @ Q2.T, P @ Q.T)
    assert np.allclose((P2 * w_P[:, None]).T @ P2, (Q2 * w_Q[:, None]).T @ Q2)  # weighted balance
    # At the weighted choice the count-weighted objective is at its optimum, the plain balance is not:
    at = audit(P2, Q2, objective="l2", weights=(w_P, w_Q), **FAST)
    assert at["items"].verdict == "determined" and at.balance.saved_fraction < 1e-9
    T0 = balance(P2, Q2).transform  # the unweighted balance raises the declared penalty
    raised = objective_choice(P2 @ T0.M_P, Q2 @ T0.M_Q, Objective("l2", w_P, w_Q))
    assert raised.saved_fraction > 0.01


def test_per_side_weights_and_nonneg_l2_choices():
    rng = np.random.default_rng(4)
    P, Q = rng.random((40, 3)), rng.random((30, 3))
    a, b = 30.0, 40.0  # scikit-learn's NMF: alpha (n_features ||W||^2 + n_samples ||H||^2)
    choice = objective_choice(P, Q, Objective("nonneg-l2", a, b))
    best = scipy.optimize.minimize(
        lambda t: a * np.sum((P * np.exp(t)) ** 2) + b * np.sum((Q * np.exp(-t)) ** 2), np.zeros(3)).fun
    # The group also holds shears that keep P, Q >= 0 (test_audit_claims): the choice is at least as good
    # as the best diagonal, and its penalty is what the transformed factors cost.
    T = choice.transform
    P2, Q2 = P @ T.M_P, Q @ T.M_Q
    assert choice.balanced_penalty <= best * (1 + 1e-9)
    assert abs(a * np.sum(P2**2) + b * np.sum(Q2**2) - choice.balanced_penalty) < 1e-9 * best
    assert np.all(P2 >= 0) and np.allclose(P2 @ Q2.T, P @ Q.T)
    declared = audit(P2, Q2, objective="nonneg-l2", weights=(a, b), **FAST)
    assert declared["items"].verdict == "determined"
    # Equal weights would report a saving that is only the per-side weighting (the NMF row).
    assert audit(P2, Q2, objective="nonneg-l2", **FAST)["items"].verdict == "not converged"
    # The undeclared audit sees that some per-side weights fit.
    fits = consistent_objectives(P2, Q2, alignment=align(P2, Q2))
    assert fits["nonneg-l2 (per-side weights)"][0] and fits["nonneg"][0]
    # The family of a non-negative objective keeps the factors non-negative.
    for g in gauge_family(P2, Q2, 9, group="positive-diagonal"):
        assert np.all(P2 @ g.M_P >= 0) and np.all(Q2 @ g.M_Q >= 0)


def test_best_per_side_weights_closed_form():
    rng = np.random.default_rng(5)
    P, Q = rng.standard_normal((30, 3)), 3 * rng.standard_normal((20, 3))
    s = align(P, Q).s
    closed = consistent_objectives(P, Q, alignment=align(P, Q))["l2 (per-side weights)"][1]
    numeric = scipy.optimize.minimize_scalar(
        lambda lt: 1 - 2 * np.exp(lt / 2) * s.sum() / (np.sum(P**2) + np.exp(lt) * np.sum(Q**2)),
        bounds=(-10, 10), method="bounded").fun
    assert f"{max(numeric, 0):.1%}" in closed


def test_unit_norm_factors_are_determined_once_declared():
    rng = np.random.default_rng(6)
    P, Q = rng.standard_normal((50, 4)), rng.standard_normal((40, 4))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    assert audit(P, Q, objective="unit-norm", **FAST)["items"].verdict == "determined"  # main: "arbitrary"
    plain = audit(P, Q, **FAST)
    assert undetermined(plain) and plain.consistent["unit-norm"][0]
    assert audit(2 * P, Q, objective="unit-norm", **FAST)["items"].verdict == "not converged"


def test_k1_is_determined_with_a_warning():
    rng = np.random.default_rng(7)
    r = audit(rng.standard_normal((20, 1)), rng.standard_normal((15, 1)), n_transforms=3)
    assert r["items"].verdict == r["users"].verdict == "determined"
    assert "every cosine" in repr(r) and "+1 or -1" in repr(r)


def test_ranking_shift_keeps_every_users_ranking_and_moves_cosines():
    rng = np.random.default_rng(8)
    P, Q = rng.standard_normal((30, 3)), rng.standard_normal((25, 3))
    r = audit(P, Q, objective="ranking", n_transforms=8)
    assert any(k == "shift" for k in r["items"].kinds) and "item shift" in repr(r)
    fam = gauge_family(P, Q, 8, group="general+shift")
    shifts = [g for g in fam if g.shift is not None]
    for g in shifts:
        S2 = P @ (Q + g.shift).T
        assert np.array_equal(np.argsort(S2, axis=1), np.argsort(P @ Q.T, axis=1))
        assert _score_error(P, Q, g) < 1e-12
        assert np.abs(cosine_similarity(Q + g.shift) - cosine_similarity(Q)).max() > 0.05
    assert undetermined(r)


def test_labels_for_some_rows_do_not_change_the_factors_audited():
    rng = np.random.default_rng(9)
    P, Q = rng.standard_normal((50, 4)), rng.standard_normal((60, 4))
    labels = np.array(["a", "b", "c"] * 20, dtype=object)
    labels[::4] = None
    with_labels = audit(P, Q, labels=labels, objective="l2", **FAST)
    without = audit(P, Q, objective="l2", **FAST)
    assert with_labels.balance.saved_fraction == without.balance.saved_fraction
    assert with_labels["items"].recovery is not None
    assert "45 labelled rows" in with_labels["items"].recovery_note
    singletons = audit(P, Q, labels=np.arange(60), **FAST)
    assert singletons["items"].recovery is None and "undefined" in singletons["items"].recovery_note
    json.dumps(singletons.to_dict(), allow_nan=False)


def test_constant_columns_are_reported_or_excluded():
    rng = np.random.default_rng(10)
    P = np.hstack([rng.standard_normal((40, 3)), np.ones((40, 1))])  # BPR: user column of ones
    Q = rng.standard_normal((30, 4))  # ... and an item bias column
    assert "columns 3 are constant" in repr(audit(P, Q, **FAST))
    r = audit(P, Q, exclude_constant=True, **FAST)
    assert "excluded" in repr(r) and r["items"].verdict != "determined"


# --- the command line (each bullet of the issue) ---------------------------------------------------

@pytest.fixture
def cli_files(tmp_path):
    rng = np.random.default_rng(0)
    P, Q = rng.standard_normal((50, 4)), rng.standard_normal((40, 4))
    np.save(tmp_path / "P.npy", P)
    np.save(tmp_path / "Q.npy", Q)
    return tmp_path, P, Q


def run_cli(capsys, *argv):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main([str(a) for a in argv] + ["--quiet", "--samples", "60", "--transforms", "6"])
    out = capsys.readouterr()
    return status, out.out, out.err, caught


def test_cli_numeric_csv_header_is_a_header(cli_files, capsys):
    tmp, _P, Q = cli_files
    (tmp / "Q.csv").write_text("0,1,2,3\n" + "\n".join(",".join(f"{v:.17g}" for v in row) for row in Q) + "\n")
    status, _out, err, caught = run_cli(capsys, tmp / "P.npy", tmp / "Q.csv", "--json", tmp / "o.json")
    assert status == 0 and err == "" and not caught
    assert json.loads((tmp / "o.json").read_text())["sides"]["items"]["n_rows"] == 40  # main: 41


@pytest.mark.parametrize("kind", ["csv-int", "csv-str", "npy-str", "csv-partial"])
def test_cli_labels_as_csv_strings_and_for_some_rows(cli_files, capsys, kind):
    tmp, _P, _Q = cli_files
    names = np.array(["cat", "dog", "fish", "bird"])[np.arange(40) % 4]
    if kind == "csv-int":
        (tmp / "L.csv").write_text("label\n" + "\n".join(str(i % 4) for i in range(40)) + "\n")
    elif kind == "csv-str":
        (tmp / "L.csv").write_text("\n".join(names) + "\n")
    elif kind == "csv-partial":
        (tmp / "L.csv").write_text("\n".join(n if i % 3 else "" for i, n in enumerate(names)) + "\n")
    else:
        np.save(tmp / "L.npy", names)
    labels = tmp / ("L.npy" if kind == "npy-str" else "L.csv")
    status, out, err, caught = run_cli(capsys, tmp / "P.npy", tmp / "Q.npy", "--labels", labels)
    assert status == 0 and err == "" and not caught, err
    assert "cluster recovery (min..max)" in out


def test_cli_all_singleton_labels_write_strict_json(cli_files, capsys):
    tmp, _P, _Q = cli_files
    np.save(tmp / "L.npy", np.arange(40))
    status, _out, err, caught = run_cli(capsys, tmp / "P.npy", tmp / "Q.npy", "--labels", tmp / "L.npy",
                                       "--json", tmp / "o.json")
    assert status == 0 and err == "" and not caught
    text = (tmp / "o.json").read_text()
    assert "NaN" not in text
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert data["sides"]["items"]["recovery"] is None and "undefined" in data["sides"]["items"]["recovery_note"]


@pytest.mark.parametrize("case", ["empty-csv", "complex", "zeros", "huge", "json-dir"])
def test_cli_bad_inputs_one_line_exit_2(cli_files, capsys, case):
    tmp, P, Q = cli_files
    argv = [tmp / "P.npy", tmp / "Q.npy"]
    if case == "empty-csv":
        (tmp / "E.csv").write_text("")
        argv[1], expect = tmp / "E.csv", "empty"
    elif case == "complex":
        np.save(tmp / "C.npy", Q + 1j)
        argv[1], expect = tmp / "C.npy", "complex"
    elif case == "zeros":
        np.save(tmp / "Z.npy", np.zeros_like(P))
        argv[0], expect = tmp / "Z.npy", "P is all zeros"
    elif case == "huge":
        np.save(tmp / "H.npy", P * 1e160)
        argv[0], expect = tmp / "H.npy", "P has entries up to"
    else:
        argv += ["--json", "."]
        expect = "is a directory"
    status, out, err, caught = run_cli(capsys, *argv)
    assert status == 2 and out == "" and not caught
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0], err
    assert " X" not in lines[0]


def test_cli_objective_and_rebalance(cli_files, capsys):
    tmp, P, Q = cli_files
    status, out, err, caught = run_cli(capsys, tmp / "P.npy", tmp / "Q.npy", "--objective", "l2",
                                       "--rebalance", tmp / "r.npz")
    assert status == 0 and err == "" and not caught
    with np.load(tmp / "r.npz") as saved:
        P2, Q2 = saved["P"], saved["Q"]
    assert np.allclose(P2 @ Q2.T, P @ Q.T)
    assert balance(P2, Q2).saved_fraction < 1e-9
    status, out, err, _ = run_cli(capsys, tmp / "r.npz", tmp / "Q.npy")  # npz with two arrays: not a factor
    assert status == 2
    np.save(tmp / "P2.npy", P2)
    np.save(tmp / "Q2.npy", Q2)
    status, out, err, _ = run_cli(capsys, tmp / "P2.npy", tmp / "Q2.npy", "--objective", "l2")
    assert status == 0 and "items (exact, all rows): DETERMINED" in out
    status, out, err, _ = run_cli(capsys, tmp / "P.npy", tmp / "Q.npy", "--rebalance", tmp / "r.npz")
    assert status == 2 and "--rebalance needs an objective" in err


def test_cli_k1_warns_that_every_cosine_is_plus_or_minus_one(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "P.npy", rng.standard_normal((20, 1)))
    np.save(tmp_path / "Q.npy", rng.standard_normal((15, 1)))
    status, out, err, caught = run_cli(capsys, tmp_path / "P.npy", tmp_path / "Q.npy")
    assert status == 0 and "+1 or -1" in out and "DETERMINED" in out and err == "" and not caught


def test_cli_unit_norm_declared(tmp_path, capsys):
    rng = np.random.default_rng(0)
    P, Q = rng.standard_normal((30, 3)), rng.standard_normal((25, 3))
    np.save(tmp_path / "P.npy", P / np.linalg.norm(P, axis=1, keepdims=True))
    np.save(tmp_path / "Q.npy", Q / np.linalg.norm(Q, axis=1, keepdims=True))
    status, out, err, caught = run_cli(capsys, tmp_path / "P.npy", tmp_path / "Q.npy", "--objective", "unit-norm")
    assert status == 0 and "items (exact, all rows): DETERMINED" in out and err == "" and not caught


def test_factors_are_checked_once_at_the_public_boundary(monkeypatch):
    from cosim_helpers.audit import gauges

    calls = []
    original = gauges.as_factor
    monkeypatch.setattr(gauges, "as_factor", lambda M, name, *a, **kw: calls.append(name) or original(M, name, *a, **kw))
    rng = np.random.default_rng(11)
    audit(rng.standard_normal((40, 3)), rng.standard_normal((30, 3)), objective="l2", **FAST)
    assert calls == ["P", "Q"]  # main: eight (check_factors in audit, align, gauge_family and balance)


def test_seed_agreement_counts_shared_neighbours():
    from cosim_helpers.audit.seeds import seed_agreement

    rng = np.random.default_rng(12)
    Q = rng.standard_normal((60, 4))
    R = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    assert seed_agreement([Q, 2 * Q @ R]) == 1.0  # a scaled rotation moves no cosine
    D = np.diag([1.0, 10.0, 0.1, 1.0])
    moved = seed_agreement([Q, Q @ D], top=5)
    # Independent count from the full cosine matrices.
    def lists(E):
        S = cosine_similarity(E)
        np.fill_diagonal(S, -np.inf)
        return np.argsort(-S, axis=1, kind="stable")[:, :5]
    A, B = lists(Q), lists(Q @ D)
    assert moved == pytest.approx(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(A, B)]))
    assert moved < 0.9
    with pytest.raises(ValueError, match="two runs"):
        seed_agreement([Q])


def test_penalty_on_parameters_takes_per_row_weights_of_the_parameters():
    rng = np.random.default_rng(13)
    X, A, B = rng.standard_normal((40, 6)), rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    w = rng.integers(1, 5, 6).astype(float)
    r = audit_model(X, A, B, objective="l2", weights=(w, w), penalty_on="parameters", **FAST)
    choice = objective_choice(A, B, Objective("l2", w, w))
    assert r.balance.saved_fraction == pytest.approx(choice.saved_fraction)
    with pytest.raises(ValueError, match="penalised objective"):
        audit_model(X, A, B, objective="scores", penalty_on="parameters", **FAST)


def test_cli_seed_agreement_of_several_runs(cli_files, capsys):
    tmp, _P, Q = cli_files
    np.save(tmp / "Q_rot.npy", 3 * Q @ np.linalg.qr(np.random.default_rng(1).standard_normal((4, 4)))[0])
    np.save(tmp / "Q_diag.npy", Q @ np.diag([1.0, 8.0, 0.2, 1.0]))
    status, out, err, caught = run_cli(capsys, tmp / "P.npy", tmp / "Q.npy", "--runs", tmp / "Q_rot.npy",
                                       "--json", tmp / "o.json")
    assert status == 0 and err == "" and not caught and "seed agreement over 2 runs: 100.0%" in out
    status, out, err, _ = run_cli(capsys, tmp / "P.npy", tmp / "Q.npy", "--runs", tmp / "Q_diag.npy",
                                  "--json", tmp / "o.json")
    share = json.loads((tmp / "o.json").read_text())["seed_agreement"]["mean_share"]
    assert status == 0 and share < 1.0
    status, out, err, _ = run_cli(capsys, tmp / "P.npy", tmp / "Q.npy", "--runs", tmp / "P.npy")
    assert status == 2 and "same items" in err


def test_bad_pair_and_one_row_sides_fail_before_any_search(monkeypatch):
    from cosim_helpers.audit import core

    monkeypatch.setattr(core, "top_neighbours", lambda *a, **kw: pytest.fail("searched before checking"))
    rng = np.random.default_rng(14)
    with pytest.raises(ValueError, match="pair"):
        audit(rng.standard_normal((5, 2)), rng.standard_normal((6, 2)), pair=(1, 9))
    with pytest.raises(ValueError, match="at least 2 rows"):
        audit(rng.standard_normal((1, 2)), rng.standard_normal((6, 2)))
