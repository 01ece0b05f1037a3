"""Tests of cosim_helpers.experiments (book chapters 7 and 8).

Small simulated data sets (a few hundred users) keep the whole file fast;
closed forms are checked against an independent dense ``numpy.linalg.svd``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim_helpers.data import simulate_clustered
from cosim_helpers.experiments import (
    FIGURE1_RESCALINGS,
    RESCALING_NAMES,
    RESCALINGS,
    Panel,
    figure1_panels,
    max_prediction_change,
    mean_sd,
    panel_scores,
    power_rescaling,
    power_sweep,
    power_sweep_trend,
    rescaling_diagonal,
    rescaling_scores,
    run_seeds,
    scale_correlation,
    score_range,
    within_between_means,
)
from cosim_helpers.metrics import cluster_recovery, neighbour_precision
from cosim_helpers.models import fit_objective1, fit_objective2, loss_objective1, loss_objective2
from cosim_helpers.probe import rescaling_probe
from cosim_helpers.sensitivity import RARE_ITEM_USERS, TIE, SensitivityRow, sensitivity_study
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.spectral import top_singular

K, LAM1, LAM2 = 8, 400.0, 12.0
SMALL = {"n_users": 400, "n_items": 60, "n_clusters": 3}


@pytest.fixture(scope="module")
def data():
    X, clusters, _ = simulate_clustered(seed=3, **SMALL)
    return X, clusters


@pytest.fixture(scope="module")
def dense_svd(data):
    """Independent top-K spectrum from numpy's dense SVD (signs left as numpy gives them)."""
    X, _ = data
    _, s, Vt = np.linalg.svd(X.toarray(), full_matrices=False)
    return s[:K], Vt[:K].T


@pytest.fixture(scope="module")
def panels(data):
    X, clusters = data
    return figure1_panels(X, clusters, k=K, lam1=LAM1, lam2=LAM2, rescalings=tuple(RESCALINGS))


def test_panel_order_and_titles_name_D(panels):
    keys = [panel.key for panel in panels]
    assert keys == ["truth", *RESCALINGS, "obj2"]
    for panel in panels[1:-1]:
        assert "$D=" in panel.title and panel.title.startswith("objective 1")
    assert panels[-1].title.startswith("objective 2")


def test_objective1_panels_share_product_and_loss(data, panels):
    """Differences between objective-1 panels must come from D alone."""
    X, _ = data
    obj1 = [panel for panel in panels if panel.D is not None]
    ref = obj1[0].A @ obj1[0].B.T
    ref_loss = loss_objective1(X, obj1[0].A, obj1[0].B, LAM1)
    for panel in obj1[1:]:
        np.testing.assert_allclose(panel.A @ panel.B.T, ref, atol=1e-12)
        assert abs(loss_objective1(X, panel.A, panel.B, LAM1) - ref_loss) <= 1e-9 * ref_loss
    # ... and D does change the cosines: no two objective-1 panels are equal.
    for i in range(len(obj1)):
        for j in range(i + 1, len(obj1)):
            assert np.max(np.abs(obj1[i].S - obj1[j].S)) > 1e-3


def test_objective1_panels_match_closed_forms(panels, dense_svd):
    """B̂D⁻¹ = V_k, V_k dMat(f)^{1/2}, V_k dMat(f), V_k dMat(σf)^{1/2}: cosines are sign-free."""
    s, V = dense_svd
    f = s**2 / (s**2 + LAM1)
    expected = {
        "B=V": V,
        "symmetric": V * np.sqrt(f),
        "A=V": V * f,
        "obj2-like": V * np.sqrt(s * f),
    }
    by_key = {panel.key: panel for panel in panels}
    for key, B in expected.items():
        np.testing.assert_allclose(by_key[key].S, cosine_similarity(B), atol=1e-8, err_msg=key)
        np.testing.assert_allclose(by_key[key].B @ by_key[key].B.T, B @ B.T, atol=1e-8, err_msg=key)


def test_objective2_panel_matches_closed_form(data, panels, dense_svd):
    X, _ = data
    s, V = dense_svd
    B2 = V * np.sqrt(np.clip(s - LAM2, 0, None))
    obj2 = panels[-1]
    assert obj2.D is None
    np.testing.assert_allclose(obj2.S, cosine_similarity(B2), atol=1e-8)
    # It is the objective-2 optimum: a non-trivial D raises its loss.
    base = loss_objective2(X, obj2.A, obj2.B, LAM2)
    probe = rescaling_probe(obj2.A, obj2.B, loss=lambda A, B: loss_objective2(X, A, B, LAM2), seed=0)
    assert probe.loss_change > 1e-6 * base


def test_ground_truth_panel_scores_one(data, panels):
    _, clusters = data
    scores = panel_scores(panels, clusters)
    assert scores["truth"] == 1.0
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    assert set(scores) == {panel.key for panel in panels}


def test_figure1_default_rescalings_are_three(data):
    X, clusters = data
    panels = figure1_panels(X, clusters, k=K, lam1=LAM1, lam2=LAM2)
    assert len(panels) == 5
    assert tuple(panel.key for panel in panels[1:4]) == FIGURE1_RESCALINGS


def test_shared_svd_gives_same_panels(data, panels):
    X, clusters = data
    svd = top_singular(X, K + 4)  # more components than needed: only the top K are used
    shared = figure1_panels(X, clusters, k=K, lam1=LAM1, lam2=LAM2, rescalings=tuple(RESCALINGS), svd=svd)
    for a, b in zip(panels, shared):
        assert a.key == b.key
        np.testing.assert_allclose(a.S, b.S, atol=1e-12)


def test_rescaling_diagonal_closed_forms():
    s = np.array([9.0, 4.0, 1.0])
    lam = 2.0
    f = s**2 / (s**2 + lam)
    np.testing.assert_allclose(rescaling_diagonal("B=V", s, lam), np.sqrt(f))
    np.testing.assert_allclose(rescaling_diagonal("symmetric", s, lam), [1, 1, 1])
    np.testing.assert_allclose(rescaling_diagonal("A=V", s, lam), 1 / np.sqrt(f))
    np.testing.assert_allclose(rescaling_diagonal("obj2-like", s, lam), [1 / 3, 1 / 2, 1])
    np.testing.assert_allclose(power_rescaling(s, -0.5), rescaling_diagonal("obj2-like", s, lam))
    np.testing.assert_allclose(power_rescaling(s, 0.0), [1, 1, 1])


def test_sweep_at_symmetric_value_reproduces_symmetric_panel(data, panels):
    """α = 0 is D = I and α = −1/2 is D = dMat(σ)^{-1/2}: the sweep must reproduce those panels."""
    X, clusters = data
    scores = panel_scores(panels, clusters)
    sweep = power_sweep(X, clusters, [0.0, -0.5], k=K, lam=LAM1)
    assert sweep[0] == pytest.approx(scores["symmetric"], abs=1e-12)
    assert sweep[1] == pytest.approx(scores["obj2-like"], abs=1e-12)


def test_a_head_metric_can_replace_the_auc(data, panels):
    """metric= scores the same matrices with precision@n (issue 18, item 6)."""
    X, clusters = data
    head = panel_scores(panels, clusters, metric=neighbour_precision)
    for panel in panels:
        assert head[panel.key] == neighbour_precision(panel.S, clusters)
    sweep = power_sweep(X, clusters, [0.0], k=K, lam=LAM1, metric=lambda S, c: neighbour_precision(S, c, 3))
    assert sweep[0] == neighbour_precision(next(q for q in panels if q.key == "symmetric").S, clusters, 3)
    with pytest.raises(TypeError, match="metric"):
        panel_scores(panels, clusters, metric="precision")


def test_sweep_moves_the_score_but_not_the_model(data):
    X, clusters = data
    alphas = np.array([-2.0, 0.0, 2.0])
    sweep = power_sweep(X, clusters, alphas, k=K, lam=LAM1)
    assert np.ptp(sweep) > 0.01  # D really changes the score
    A, B = fit_objective1(X, K, LAM1)
    s = top_singular(X, K).s
    for alpha in alphas:
        D = power_rescaling(s, alpha)
        assert max_prediction_change(X, A, B, A * D, B / D) < 1e-10


def test_max_prediction_change_matches_dense_computation(data):
    X, _ = data
    rng = np.random.default_rng(0)
    p = X.shape[1]
    A, B, A2, B2 = (rng.normal(size=(p, 4)) for _ in range(4))
    Xd = X.toarray()
    expected = np.max(np.abs(Xd @ A @ B.T - Xd @ A2 @ B2.T))
    assert max_prediction_change(X, A, B, A2, B2) == pytest.approx(expected, rel=1e-12)
    assert max_prediction_change(X, A, B, A, B) == 0.0


def test_run_seeds_is_deterministic_and_seed_dependent():
    kwargs = dict(k=K, lam1=LAM1, lam2=LAM2, alphas=[-1.0, 0.0, 1.0], **SMALL)
    first = run_seeds([0, 1], **kwargs)
    again = run_seeds([0, 1], **kwargs)
    for key in first.scores:
        np.testing.assert_array_equal(first.scores[key], again.scores[key])
    np.testing.assert_array_equal(first.sweep, again.sweep)
    np.testing.assert_array_equal(first.n_kept, again.n_kept)
    # different seeds give different data, hence different scores
    assert first.scores["symmetric"][0] != first.scores["symmetric"][1]
    # the per-seed sweep at α = 0 is the symmetric panel of the same seed
    np.testing.assert_allclose(first.sweep[:, 1], first.scores["symmetric"], atol=1e-12)


def test_run_seeds_records_the_head_metric():
    study = run_seeds([3], k=K, lam1=LAM1, lam2=LAM2, **SMALL)
    X, clusters, _ = simulate_clustered(seed=3, **SMALL)
    panels = figure1_panels(X, clusters, k=K, lam1=LAM1, lam2=LAM2, rescalings=tuple(RESCALINGS))
    for panel in panels:
        assert study.head[panel.key][0] == neighbour_precision(panel.S, clusters)


def test_run_seeds_counts_kept_dimensions(data):
    X, _ = data
    study = run_seeds([3], k=K, lam1=LAM1, lam2=LAM2, **SMALL)  # seed 3 = the `data` fixture
    s = np.linalg.svd(X.toarray(), compute_uv=False)[:K]
    assert study.n_kept[0] == np.sum(s > LAM2)
    assert study.sweep is None and study.alphas is None
    assert np.count_nonzero(np.linalg.norm(fit_objective2(X, K, LAM2)[1], axis=0)) == study.n_kept[0]


def test_mean_sd_uses_sample_sd():
    mean, sd = mean_sd([1.0, 2.0, 3.0, 6.0])
    assert mean == pytest.approx(3.0)
    assert sd == pytest.approx(np.sqrt((4 + 1 + 0 + 9) / 3))
    assert np.isnan(mean_sd([0.5])[1])


def test_rescaling_probe_objective1_free_objective2_not(data):
    X, _ = data
    A, B = fit_objective1(X, K, LAM1)
    probe = rescaling_probe(A, B, loss=lambda A_, B_: loss_objective1(X, A_, B_, LAM1), seed=1)
    assert probe.product_change < 1e-12
    assert abs(probe.loss_change) < 1e-9 * loss_objective1(X, A, B, LAM1)
    assert probe.cosine_change > 1e-2
    # the same seed draws the same D
    np.testing.assert_array_equal(probe.D, rescaling_probe(A, B, seed=1).D)
    assert rescaling_probe(A, B, seed=1).loss_change is None


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3))
def test_rescaling_probe_keeps_product_for_any_D(log_d):
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    probe = rescaling_probe(A, B, D=np.exp(log_d))
    assert probe.product_change <= 1e-9 * max(1.0, np.max(np.abs(A @ B.T)))
    assert 0.0 <= probe.cosine_change <= 2.0


def test_within_between_means_by_hand():
    S = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, -0.3], [0.1, -0.3, 1.0]])
    within, between = within_between_means(S, np.array([0, 0, 1]))
    assert within == pytest.approx(0.8)  # the diagonal is excluded
    assert between == pytest.approx((0.1 - 0.3) / 2)
    with pytest.raises(ValueError, match="two clusters"):
        within_between_means(S, np.array([0, 1, 2]))


def test_inputs_are_not_mutated(data):
    X, clusters = data
    X_before, clusters_before = X.copy(), clusters.copy()
    alphas = np.array([0.0, 1.0])
    figure1_panels(X, clusters, k=K, lam1=LAM1, lam2=LAM2)
    power_sweep(X, clusters, alphas, k=K, lam=LAM1)
    assert (X != X_before).nnz == 0
    np.testing.assert_array_equal(clusters, clusters_before)
    np.testing.assert_array_equal(alphas, [0.0, 1.0])
    A, B = fit_objective1(X, K, LAM1)
    A0, B0, D = A.copy(), B.copy(), np.full(K, 2.0)
    rescaling_probe(A, B, D=D)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(B, B0)
    np.testing.assert_array_equal(D, np.full(K, 2.0))


def test_validation_errors(data):
    X, clusters = data
    with pytest.raises(ValueError, match="clusters"):
        figure1_panels(X, clusters[:-1], k=K)
    with pytest.raises(TypeError, match="clusters"):
        figure1_panels(X, clusters.astype(float), k=K)
    with pytest.raises(ValueError, match="rescaling"):
        figure1_panels(X, clusters, k=K, rescalings=("nope",))
    with pytest.raises(TypeError, match="rescalings"):
        figure1_panels(X, clusters, k=K, rescalings="B=V")
    with pytest.raises(TypeError, match="svd"):
        figure1_panels(X, clusters, k=K, svd=(1, 2))
    with pytest.raises(ValueError, match="alphas"):
        power_sweep(X, clusters, [], k=K)
    with pytest.raises(ValueError, match="alphas"):
        power_sweep(X, clusters, [np.nan], k=K)
    with pytest.raises(ValueError, match="key"):
        rescaling_diagonal("nope", [1.0], 1.0)
    with pytest.raises(ValueError, match="s must"):
        rescaling_diagonal("symmetric", [1.0, 0.0], 1.0)
    with pytest.raises(TypeError, match="alpha"):
        power_rescaling([1.0], "1")
    with pytest.raises(ValueError, match="seeds"):
        run_seeds([])
    with pytest.raises(ValueError, match="distinct"):
        run_seeds([1, 1])
    with pytest.raises(TypeError, match="seed"):
        run_seeds([1.5])
    with pytest.raises(TypeError, match="panels"):
        panel_scores([], clusters)
    with pytest.raises(ValueError, match="spread"):
        rescaling_probe(np.ones((3, 2)), np.ones((3, 2)), spread=0.0)
    with pytest.raises(TypeError, match="loss"):
        rescaling_probe(np.ones((3, 2)), np.ones((3, 2)), loss=3)
    with pytest.raises(ValueError, match="values"):
        mean_sd([])
    assert isinstance(figure1_panels(X, clusters, k=K)[0], Panel)


def test_one_name_per_rescaling():
    """Chapters 6-8 label the rescalings from one table: same keys, distinct tags (a)-(d)."""
    assert set(RESCALING_NAMES) == set(RESCALINGS)
    tags = [tag for tag, _ in RESCALING_NAMES.values()]
    assert tags == ["(a)", "(b)", "(c)", "(d)"]
    assert [RESCALING_NAMES[key][0] for key in FIGURE1_RESCALINGS] == ["(a)", "(b)", "(c)"]


def test_scale_correlation_signs():
    """Column norms constant -> 0, rising with σ -> +1, falling with σ -> −1 (computed by hand)."""
    rng = np.random.default_rng(0)
    V = np.linalg.qr(rng.normal(size=(12, 4)))[0]
    s = np.array([8.0, 4.0, 2.0, 1.0])
    assert scale_correlation(V, s) == 0.0
    assert scale_correlation(V * s, s) == pytest.approx(1.0)
    assert scale_correlation(V / s, s) == pytest.approx(-1.0)
    # a mixed trend: norms (3, 1, 2, 4) against σ (8, 4, 2, 1); Spearman by hand
    norms = np.array([3.0, 1.0, 2.0, 4.0])
    rank_n, rank_s = np.array([3, 1, 2, 4]), np.array([4, 3, 2, 1])
    expected = 1 - 6 * np.sum((rank_n - rank_s) ** 2) / (4 * (16 - 1))
    assert scale_correlation(V * norms, s) == pytest.approx(expected)


def test_power_sweep_trend_matches_the_sign_of_its_derivative(data):
    """Column norms of B̂D_α⁻¹ are √w_i σ_i^(−α); d log/d log σ = (1 − w_i) − α.

    So α <= 0 gives norms rising with σ (+1) and α >= 1 norms falling (−1):
    the extreme end the paper (§4) avoided is α >= 1 on any data.
    """
    X, _ = data
    A, B = fit_objective1(X, K, LAM1)
    s = top_singular(X, K).s
    alphas = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    trend = power_sweep_trend(A, B, s, alphas)
    np.testing.assert_allclose(trend, [1, 1, 1, -1, -1])


def test_score_range_drops_anti_correlated_members():
    scores = np.array([0.9, 0.6, 0.99, 0.8])
    trends = np.array([0.0, -1.0, 1.0, 0.2])
    assert score_range(scores) == (0.6, 0.99)
    assert score_range(scores, trends) == (0.8, 0.99)
    with pytest.raises(ValueError, match="trend"):
        score_range(scores, -np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        score_range(scores, trends[:2])


def test_run_seeds_records_trends(data):
    study = run_seeds([3], k=K, lam1=LAM1, lam2=LAM2, alphas=[-1.0, 0.0, 2.0], **SMALL)
    assert study.trends["B=V"][0] == 0.0  # items get V_k: equal column norms
    assert study.trends["symmetric"][0] == pytest.approx(1.0)
    np.testing.assert_allclose(study.sweep_trend[0], [1, 1, -1])


def test_sensitivity_study_rows_match_independent_runs():
    """Rows reproduce a direct Figure-1 run; matched λ follows ‖X‖²_F = nnz for 0/1 data."""
    settings = {"baseline": {}, "cap 5": {"max_items_per_user": 5}, "Dirichlet 0.5": {"user_concentration": 0.5}}
    rows = sensitivity_study(settings, seed=2, alphas=[0.0, 2.0], k=K, lam1=LAM1, lam2=LAM2, **SMALL)
    # "Dirichlet 0.5" is the baseline again: the same λ, so no matched row
    assert [(r.setting, r.lam_choice) for r in rows] == [
        ("baseline", "paper"), ("cap 5", "paper"), ("cap 5", "matched"), ("Dirichlet 0.5", "paper")]
    base = simulate_clustered(seed=2, **SMALL)
    capped = simulate_clustered(seed=2, max_items_per_user=5, **SMALL)
    ratio = capped.X.nnz / base.X.nnz
    matched = rows[2]
    assert matched.lam1 == pytest.approx(LAM1 * ratio) and matched.lam2 == pytest.approx(LAM2 * np.sqrt(ratio))
    direct = panel_scores(figure1_panels(capped.X, capped.clusters, k=K, lam1=matched.lam1, lam2=matched.lam2,
                                         rescalings=tuple(RESCALINGS)), capped.clusters)
    for key in [*RESCALINGS, "obj2"]:
        assert matched.scores[key] == pytest.approx(direct[key], abs=1e-12)
    assert rows[3].scores == rows[0].scores
    np.testing.assert_allclose(matched.sweep[0], direct["symmetric"], atol=1e-12)
    assert matched.n_kept == np.sum(np.linalg.svd(capped.X.toarray(), compute_uv=False)[:K] > matched.lam2)


def test_sensitivity_row_summaries():
    scores = {"B=V": 0.8, "symmetric": 0.9, "A=V": 0.95, "obj2-like": 0.93, "obj2": 0.97}
    trends = {"B=V": 0.0, "symmetric": 1.0, "A=V": 1.0, "obj2-like": 1.0}
    row = SensitivityRow("s", "paper", 1.0, 1.0, 2, scores, trends, np.array([0.96, 0.5]), np.array([1.0, -1.0]))
    assert row.order_holds and row.obj2_highest
    assert row.d_range == (0.5, 0.96) and row.reasonable_range == (0.8, 0.96)
    worse = row._replace(scores={**scores, "obj2": 0.955, "symmetric": 0.99})
    assert not worse.order_holds and not worse.obj2_highest


def test_a_tie_is_not_a_win_for_objective_2():
    """Issue 18, item 7: Dirichlet 0.1 had obj. 2 = (c) = 1.00000 counted as "highest" by >=."""
    scores = {"B=V": 0.8, "symmetric": 0.9, "A=V": 1.0, "obj2-like": 0.99, "obj2": 1.0}
    trends = dict.fromkeys(("B=V", "symmetric", "A=V", "obj2-like"), 1.0)
    row = SensitivityRow("s", "paper", 1.0, 1.0, 2, scores, trends, np.array([0.99]), np.array([1.0]))
    assert row.obj2_margin == 0.0 and row.obj2_tied and not row.obj2_highest
    near = row._replace(scores={**scores, "obj2": 1.0 - TIE / 2})
    assert near.obj2_tied and not near.obj2_highest
    win = row._replace(scores={**scores, "A=V": 0.99, "obj2": 0.99 + 2 * TIE})
    assert win.obj2_highest and not win.obj2_tied


def test_sensitivity_study_seeds_and_rare_items():
    settings = {"baseline": {}, "Pareto": {"popularity_law": "pareto"}}
    rows = sensitivity_study(settings, seeds=(2, 5), alphas=[0.0], k=K, lam1=LAM1, lam2=LAM2, **SMALL)
    assert [(r.setting, r.seed) for r in rows] == [("baseline", 2), ("Pareto", 2), ("baseline", 5), ("Pareto", 5)]
    one = sensitivity_study(settings, seed=5, alphas=[0.0], k=K, lam1=LAM1, lam2=LAM2, **SMALL)
    assert [r.scores for r in one] == [r.scores for r in rows[2:]]          # seeds= runs each seed alone
    for row in rows:
        X, clusters, _ = simulate_clustered(seed=row.seed, **SMALL, **settings[row.setting])
        users = np.asarray(X.sum(axis=0)).ravel()
        assert (row.n_empty_items, row.n_rare_items) == (np.sum(users == 0), np.sum(users <= RARE_ITEM_USERS))
        keep = users > RARE_ITEM_USERS
        panels = figure1_panels(X, clusters, k=K, lam1=LAM1, lam2=LAM2, rescalings=tuple(RESCALINGS))
        for panel in panels[1:]:
            direct = cluster_recovery(panel.S[keep][:, keep], clusters[keep])
            assert row.active_scores[panel.key] == pytest.approx(direct, abs=1e-12)
    with pytest.raises(ValueError, match="seeds"):
        sensitivity_study(settings, seeds=(1, 1), **SMALL)


def test_sensitivity_study_validation():
    with pytest.raises(ValueError, match="baseline"):
        sensitivity_study({"other": {}}, **SMALL)
    with pytest.raises(TypeError, match="seed"):
        sensitivity_study({"baseline": {"seed": 1}}, **SMALL)
    with pytest.raises(TypeError, match="settings"):
        sensitivity_study([], **SMALL)


def test_rescaling_scores_match_the_figure1_panels(data, panels):
    X, clusters = data
    A, B = fit_objective1(X, K, LAM1)
    scores = rescaling_scores(A, B, top_singular(X, K).s, LAM1, clusters)
    expected = panel_scores(panels, clusters)
    assert list(scores) == list(RESCALINGS)
    for key, value in scores.items():
        assert value == pytest.approx(expected[key], abs=1e-12)
    with pytest.raises(TypeError, match="keys"):
        rescaling_scores(A, B, top_singular(X, K).s, LAM1, clusters, keys="B=V")
