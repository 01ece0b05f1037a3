"""Tests of cosim_helpers.audit (book chapter 9) and the cosim-audit command."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim_helpers.audit import (
    audit,
    audit_model,
    balance,
    diagonal_gauge,
    gauge_family,
    general_gauge,
    neighbours,
    plot_audit,
    power_gauge,
    top_neighbours,
)
from cosim_helpers.audit.cli import main
from cosim_helpers.audit.gauges import align
from cosim_helpers.data import simulate_clustered
from cosim_helpers.models import fit_objective1, fit_objective2, rescale, shrinkage_objective1
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.spectral import top_singular
from cosim_helpers.training import gradient_descent

from .conftest import random_data

ROOT = Path(__file__).resolve().parents[1]


def brute_neighbours(E, top):
    """Independent reference: the full m x m cosine matrix, 12-decimal ties, smaller index first."""
    S = np.round(cosine_similarity(E), 12)
    np.fill_diagonal(S, -np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(len(E)), S.shape), -S), axis=1)
    return order[:, :top]


# --- exact small cases ------------------------------------------------------------------------

def test_hand_computed_statistics_of_a_three_item_example():
    # Items (1,0), (0,1), (1,1): item 2 is equally close (cos 1/√2) to items 0 and 1, so its
    # nearest neighbour is item 0 (the tie goes to the smaller index). D = dMat(1, 1/3) on the
    # user side makes the items (1,0), (0,3), (1,3): now item 2's nearest neighbour is item 1
    # (cos 3/√10 against 1/√10), items 0 and 1 keep theirs (item 2).
    Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    P = np.array([[1.0, 2.0], [3.0, -1.0]])
    gauge = diagonal_gauge([1.0, 1.0 / 3.0])
    res = audit(P, Q, gauges=[gauge], top=1, sides=("items",), pair=(0, 2))
    side = res["items"]
    assert side.exact
    np.testing.assert_allclose(side.nn_changed, [1 / 3])
    np.testing.assert_allclose(side.jaccard, [2 / 3])
    np.testing.assert_allclose(side.pair_cosine, [1 / np.sqrt(2), 1 / np.sqrt(10)], atol=1e-12)
    # Rows 0 and 1 keep their order (ρ = 1); row 2 is a tie under the given factors: skipped.
    np.testing.assert_allclose(side.spearman, [1.0])
    # Range over the family of each item's cosine to its given nearest neighbour.
    np.testing.assert_allclose(side.cosine_spread,
                               [1 / np.sqrt(2) - 1 / np.sqrt(10), 3 / np.sqrt(10) - 1 / np.sqrt(2),
                                1 / np.sqrt(2) - 1 / np.sqrt(10)], atol=1e-12)


def test_orthogonal_and_scaled_orthogonal_gauges_change_nothing():
    rng = np.random.default_rng(0)
    P, Q = rng.standard_normal((40, 5)), rng.standard_normal((60, 5))
    R, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    res = audit(P, Q, gauges=[general_gauge(R), general_gauge(3.0 * R)], top=5, labels=np.arange(60) % 3)
    for side in res.sides.values():
        np.testing.assert_array_equal(side.nn_changed, 0.0)
        np.testing.assert_array_equal(side.jaccard, 1.0)
        np.testing.assert_allclose(side.spearman, 1.0)
        assert np.ptp(side.pair_cosine) < 1e-12 and side.cosine_spread.max() < 1e-12
        assert side.verdict == "stable under this family"  # never "determined" without an objective
    assert np.ptp(res["items"].recovery) < 1e-12


def test_full_rank_diagonal_gauges_reproduce_the_papers_special_cases():
    # Paper §2.2, objective 1 at full rank k = p: D = dMat(w)^{1/2} gives item embeddings V, whose
    # item-item cosines are the identity; D = dMat(w)^{-1/2} gives ÂD = V, so the user embeddings
    # are XV and the user-user cosines are those of the raw data X.
    X = random_data(1, n=30, p=6)
    lam = 2.0
    svd = top_singular(X, 6)
    A, B = fit_objective1(X, 6, lam, svd=svd)
    w = shrinkage_objective1(svd.s, lam)
    res = audit_model(X, A, B, gauges=[diagonal_gauge(np.sqrt(w)), diagonal_gauge(1 / np.sqrt(w))],
                      top=2, pair=(0, 1))
    assert abs(res["items"].pair_cosine[1]) < 1e-12          # V Vᵀ = I: every pair has cosine 0
    i, j = res["users"].pair
    assert res["users"].pair_cosine[2] == pytest.approx(cosine_similarity(X)[i, j], abs=1e-12)
    # The power family's α = +1/2 member puts the items at V as well (book chapter 9).
    g = power_gauge(align(X @ A, B), 0.5)
    S = cosine_similarity(B @ g.M_Q)
    np.testing.assert_allclose(S, np.eye(6), atol=1e-10)
    np.testing.assert_allclose(S, cosine_similarity(rescale(A, B, np.sqrt(w))[1]), atol=1e-10)


# --- every transform keeps the scores -------------------------------------------------------

@settings(max_examples=30)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 30), m=st.integers(3, 30), k=st.integers(1, 6),
       zero_cols=st.integers(0, 2))
def test_every_transform_of_the_family_keeps_every_score(seed, n, m, k, zero_cols):
    rng = np.random.default_rng(seed)
    P, Q = rng.standard_normal((n, k)), rng.standard_normal((m, k))
    P[:, :min(zero_cols, k - 1)] = 0.0   # rank-deficient, as objective 2 with switched-off directions
    family = gauge_family(P, Q, 9, seed=seed)
    assert {g.kind for g in family} == {"diagonal", "power", "general"}
    S = P @ Q.T
    for g in family:
        S2 = (P @ g.M_P) @ (Q @ g.M_Q).T
        assert np.max(np.abs(S2 - S)) <= 1e-9 * max(1.0, np.max(np.abs(S))), g.label
    for g in family:
        if g.kind in ("diagonal", "general"):
            assert np.linalg.cond(g.M_P) <= 10.0 * (1 + 1e-9)


def test_balance_formula_agrees_with_a_numerical_optimiser_over_G():
    # Independent check: minimise ‖PG‖² + ‖QG⁻ᵀ‖² over all invertible G by BFGS and compare with
    # the closed form 2Σ s_i of the balance and with its balancing transform.
    rng = np.random.default_rng(3)
    P, Q = rng.standard_normal((25, 3)) * [3.0, 1.0, 0.2], rng.standard_normal((20, 3))
    bal = balance(P, Q, lam=0.5)

    def penalty(g):
        G = g.reshape(3, 3)
        return np.sum((P @ G) ** 2) + np.sum(np.linalg.solve(G, Q.T) ** 2)

    best = scipy.optimize.minimize(penalty, np.eye(3).ravel(), method="BFGS", options={"gtol": 1e-10})
    assert best.fun == pytest.approx(bal.balanced_penalty, rel=1e-7)
    assert bal.penalty == pytest.approx(np.sum(P**2) + np.sum(Q**2))
    assert bal.saved == pytest.approx(0.5 * (bal.penalty - best.fun), rel=1e-6)
    assert not bal.balanced and bal.saved_fraction > 0.1
    P2, Q2 = P @ bal.transform.M_P, Q @ bal.transform.M_Q
    np.testing.assert_allclose(P2.T @ P2, Q2.T @ Q2, atol=1e-10)
    np.testing.assert_allclose(P2 @ Q2.T, P @ Q.T, atol=1e-10)
    again = balance(P2, Q2)
    assert again.balanced and again.saved_fraction < 1e-12 and again.imbalance < 1e-12


def test_gradient_descent_keeps_the_imbalance_and_small_starts_land_near_equation_5():
    X, _, _ = simulate_clustered(n_users=400, n_items=40, n_clusters=3, seed=0)
    k, lam = 3, 50.0
    A0, B0 = 0.3 * np.random.default_rng(1).standard_normal((2, 40, k))
    res = gradient_descent(X, k, lam, 1, lr=0.2, n_steps=2000, start=(A0, B0))
    assert np.abs(res.A - A0).max() > 0.1 and res.losses[-1] < 0.5 * res.losses[0]
    drift = np.abs((res.A.T @ res.A - res.B.T @ res.B) - (A0.T @ A0 - B0.T @ B0)).max()
    assert drift < 1e-2 * np.abs(A0.T @ A0 - B0.T @ B0).max()
    assert np.abs(res.A.T @ res.A).max() > 10 * drift     # the factors did move
    small = gradient_descent(X, k, lam, 1, init_scale=1e-3, lr=0.5, n_steps=4000, seed=1)
    B5 = fit_objective1(X, k, lam)[1]
    assert np.abs(cosine_similarity(small.B) - cosine_similarity(B5)).max() < 1e-2
    assert balance(small.A, small.B).saved_fraction < 1e-6


# --- sampled and exact agree --------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 4])
def test_blocked_search_matches_the_full_cosine_matrix(k):
    rng = np.random.default_rng(k)
    E = rng.standard_normal((700, k))
    M = rng.standard_normal((k, k)) + 3 * np.eye(k)
    queries = rng.choice(700, 90, replace=False)
    idx, cos = top_neighbours(E, queries, [np.eye(k), M], top=5, block=64)
    for t, F in enumerate((E, E @ M)):
        np.testing.assert_array_equal(idx[t], brute_neighbours(F, 5)[queries])
    exact_idx, exact_cos = top_neighbours(E, queries, [np.eye(k), M], top=5, exact=True, block=64)
    np.testing.assert_array_equal(idx, exact_idx)
    np.testing.assert_allclose(cos, exact_cos, atol=1e-11)


@pytest.mark.parametrize("pending, workers", [(1, 1), (1, 3), (10**9, 2)])
def test_blocked_search_is_exact_however_candidates_are_merged_and_split(monkeypatch, pending, workers):
    """Merged after every block (fresh thresholds) or once at the end (stale ones), over 1 to 3 threads."""
    rng = np.random.default_rng(11)
    E = rng.standard_normal((900, 5))
    Ms = [np.eye(5), rng.standard_normal((5, 5)) + 2 * np.eye(5), rng.standard_normal((5, 3))]
    monkeypatch.setattr(neighbours, "_PENDING", pending)
    monkeypatch.setattr(neighbours, "workers", lambda: workers)
    fallbacks = []  # no near-ties here: the fast path alone must be exact, without the reference path
    monkeypatch.setattr(neighbours, "_exact", lambda *args: fallbacks.append(args[1]))
    queries = rng.choice(900, 70, replace=False)
    seen = []
    idx, _ = top_neighbours(E, queries, Ms, top=6, block=50, progress=lambda done, total: seen.append(done))
    for t, M in enumerate(Ms):
        np.testing.assert_array_equal(idx[t], brute_neighbours(E @ M, 6)[queries])
    assert seen == sorted(seen) and seen[-1] == 900 and not fallbacks


def test_a_failing_progress_callback_stops_every_thread_promptly(monkeypatch):
    monkeypatch.setattr(neighbours, "workers", lambda: 2)
    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) == 3:
            raise RuntimeError("stop here")

    E = np.random.default_rng(0).standard_normal((20_000, 4))
    with pytest.raises(RuntimeError, match="stop here"):
        top_neighbours(E, np.arange(50), [np.eye(4), 2 * np.eye(4)], top=3, block=50, progress=progress)
    assert len(calls) < 20  # of about 2 x 400 reports had the search gone on


def test_ties_fall_back_to_the_exact_path():
    E = np.eye(30)   # every cosine between different rows is 0: a 29-way tie
    idx, _ = top_neighbours(E, np.arange(30), top=4)
    np.testing.assert_array_equal(idx[0], brute_neighbours(E, 4))


def test_sampled_audit_agrees_with_the_exact_audit_on_its_queries():
    rng = np.random.default_rng(5)
    P, Q = rng.standard_normal((300, 6)), rng.standard_normal((400, 6)) * np.linspace(0.5, 2, 6)
    gauges = gauge_family(P, Q, 6, seed=1)
    full = audit(P, Q, gauges=gauges, n_queries=10_000, top=10)
    sampled = audit(P, Q, gauges=gauges, n_queries=80, top=10, seed=2)
    for name in ("items", "users"):
        f, s = full[name], sampled[name]
        assert f.exact and not s.exact and len(s.queries) == 80
        np.testing.assert_allclose(s.jaccard_per_query, f.jaccard_per_query[:, s.queries])
        # The full audit against an independent m x m computation.
        E = Q if name == "items" else P
        ref = brute_neighbours(E, 10)
        for t, g in enumerate(gauges):
            other = brute_neighbours(E @ (g.M_Q if name == "items" else g.M_P), 10)
            inter = np.array([len(set(a) & set(b)) for a, b in zip(ref, other)])
            np.testing.assert_allclose(f.jaccard_per_query[t], inter / (20 - inter))
            assert f.nn_changed[t] == pytest.approx(np.mean(ref[:, 0] != other[:, 0]))


# --- verdicts on the paper's two objectives ------------------------------------------------

def test_verdicts_objective1_arbitrary_objective2_determined_once_declared():
    X, clusters, _ = simulate_clustered(n_users=600, n_items=80, n_clusters=3, seed=0)
    svd = top_singular(X, 10)
    A1, B1 = fit_objective1(X, 10, 300.0, svd=svd)
    A2, B2 = fit_objective2(X, 10, np.sqrt(300.0), svd=svd)
    opts = {"labels": clusters, "n_queries": 200, "n_transforms": 9, "rank_sample": 200}
    r1 = audit_model(X, A1, B1, objective="scores", **opts)
    r2 = audit_model(X, A2, B2, objective="l2", **opts)
    r2_unknown = audit_model(X, A2, B2, **opts)
    assert r1["items"].verdict == "arbitrary" and r1.balance is None
    assert r2["items"].verdict == r2["users"].verdict == "determined" and r2.balance.balanced
    # Undeclared, the same balanced factors are never "determined": only the sensitivity is reported.
    assert r2_unknown["items"].verdict in ("arbitrary", "fragile") and r2_unknown.balance is None
    assert "l2" in [name for name, (ok, _) in r2_unknown.consistent.items() if ok]
    assert r1.score_error < 1e-10 and r2.score_error < 1e-10
    assert np.ptp(r1["items"].recovery) > 0.05
    text, page, md = repr(r1), r1._repr_html_(), r1._repr_markdown_()
    assert "ARBITRARY" in text and "cluster recovery" in text and "<table>" in page and "| verdict |" in md
    # Nothing attributes a gauge to weight decay unless weight decay was declared.
    for r in (r1, r2_unknown):
        assert "weight decay" not in repr(r) and "weight decay" not in md
    why2 = r2["items"].explanation
    assert "picks the gauge up to a rotation, which changes no cosine" in why2
    json.dumps(r1.to_dict(), allow_nan=False)
    fig = plot_audit(r1)
    assert len(fig.axes) == 2


def test_audit_validates_its_inputs():
    P, Q = np.ones((5, 2)), np.ones((6, 3))
    with pytest.raises(ValueError, match="same number of columns"):
        audit(P, Q)
    with pytest.raises(ValueError, match="labels"):
        audit(np.ones((5, 2)), np.eye(6, 2), labels=[0, 1])
    with pytest.raises(ValueError, match="sides"):
        audit(np.eye(5, 2), np.eye(6, 2), sides=("films",))
    with pytest.raises(ValueError, match="pair"):
        audit(np.eye(5, 2), np.eye(6, 2), pair=(1, 1))
    with pytest.raises(ValueError, match="n must be"):
        gauge_family(np.eye(5, 2), np.eye(6, 2), 2)


# --- the command line ------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    paths = {}

    def save(name, array):
        paths[name] = str(tmp_path / name)
        np.save(paths[name], array) if name.endswith(".npy") else None
        return paths[name]

    save("P.npy", rng.standard_normal((50, 4)))
    save("Q.npy", rng.standard_normal((40, 4)))
    save("Q3.npy", rng.standard_normal((40, 3)))
    save("nan.npy", np.full((40, 4), np.nan))
    save("inf.npy", np.where(np.eye(40, 4) > 0, np.inf, 1.0))
    save("empty.npy", np.zeros((0, 4)))
    save("vector.npy", np.ones(4))
    save("text.npy", np.array([["a", "b"], ["c", "d"]]))
    save("labels.npy", np.arange(40) % 4)
    save("labels_short.npy", np.arange(10))
    (tmp_path / "bad.npy").write_bytes(b"not a numpy file")
    (tmp_path / "bad.csv").write_text("1,2,x\n3,4,5\n")
    (tmp_path / "Q.csv").write_text("a,b,c,d\n" + "\n".join(",".join(map(str, r)) for r in rng.random((40, 4))))
    (tmp_path / "Q.txt").write_text("1 2 3 4\n")
    np.savez(tmp_path / "two.npz", a=np.ones((3, 4)), b=np.ones((3, 4)))
    np.savez(tmp_path / "one.npz", Q=rng.standard_normal((40, 4)))
    for name in ("bad.npy", "bad.csv", "Q.csv", "Q.txt", "two.npz", "one.npz"):
        paths[name] = str(tmp_path / name)
    paths["dir"] = str(tmp_path)
    return paths


BAD = [
    (["P.npy", "missing.npy"], "no such file"),
    (["P.npy", "bad.npy"], "cannot read"),
    (["P.npy", "bad.csv"], "cannot read"),
    (["P.npy", "Q.txt"], "unsupported file type"),
    (["P.npy", "two.npz"], "exactly one array"),
    (["P.npy", "text.npy"], "must hold numbers"),
    (["P.npy", "vector.npy"], "2-D"),
    (["P.npy", "empty.npy"], "empty"),
    (["P.npy", "nan.npy"], "NaN or inf"),
    (["P.npy", "inf.npy"], "NaN or inf"),
    (["P.npy", "Q3.npy"], "k mismatch"),
    (["P.npy", "Q.npy", "--labels", "labels_short.npy"], "labels"),
    (["P.npy", "Q.npy", "--top", "0"], "--top"),
    (["P.npy", "Q.npy", "--samples", "0"], "--samples"),
    (["P.npy", "Q.npy", "--transforms", "2"], "--transforms"),
    (["P.npy", "Q.npy", "--max-cond", "1"], "--max-cond"),
    (["P.npy", "Q.npy", "--top", "ten"], "invalid int"),
    (["P.npy"], "required"),
    (["P.npy", "Q.npy", "--bogus"], "unrecognized"),
    (["P.npy", "Q.npy", "--json", "no/such/dir/out.json"], "--json"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[m for _, m in BAD])
def test_cli_bad_input_gives_one_line_and_exit_2(files, capsys, argv, message):
    argv = [files.get(a, a) if not a.startswith("no/") else str(Path(files["dir"]) / a) for a in argv]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cosim-audit: error:") and message in lines[0], err
    assert "Traceback" not in err


def test_cli_runs_writes_json_and_reads_npz_and_csv_with_header(files, capsys, tmp_path):
    out = tmp_path / "out.json"
    status = main([files["P.npy"], files["one.npz"], "--labels", files["labels.npy"], "--samples", "20",
                   "--transforms", "6", "--json", str(out)])
    captured = capsys.readouterr()
    assert status == 0 and "items (20 sampled of 40)" in captured.out
    assert "items:" in captured.err and "100%" in captured.err          # progress goes to stderr
    data = json.loads(out.read_text())
    assert data["n_transforms"] == 6 and data["sides"]["items"]["recovery"] is not None
    assert main([files["P.npy"], files["Q.csv"], "--quiet", "--side", "items"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "users" not in captured.out


def test_cli_entry_point_is_installed_and_never_shows_a_traceback(files):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["cosim-audit"] == "cosim_helpers.audit.cli:run"
    proc = subprocess.run([sys.executable, "-m", "cosim_helpers.audit", files["P.npy"], files["nan.npy"]],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"cosim-audit: error: Q: {files['nan.npy']} contains NaN or inf"]
