"""Tests of cosim_helpers.widgets: the explorers' maths, their widgets and static twins.

A small simulated data set keeps the file fast. Every number an explorer
shows is checked against an independent computation from
:mod:`cosim_helpers.models`, :mod:`cosim_helpers.similarity` and
:mod:`cosim_helpers.metrics` in the data's original item order.
"""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

from cosim_helpers.data import simulate_clustered
from cosim_helpers.metrics import cluster_recovery
from cosim_helpers.models import (
    fit_objective1,
    fit_objective2,
    loss_objective1,
    loss_objective2,
    rescale,
    shrinkage_objective1,
    shrinkage_objective2,
)
from cosim_helpers.remedies import remedy_similarities
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.spectral import top_singular
from cosim_helpers.widgets import (
    LOSS_DIGITS,
    DExplorer,
    LambdaExplorer,
    RemediesExplorer,
    stable_jshtml_ids,
)
from cosim_helpers.widgets.encoding import jpeg

K, LAM1, LAM2 = 6, 40.0, 7.0
BUDGET = 1_500_000  # bytes per static twin


@pytest.fixture(scope="module")
def data():
    X, clusters, popularity = simulate_clustered(n_users=300, n_items=60, n_clusters=3, seed=1)
    return X, clusters, popularity, top_singular(X, K)


@pytest.fixture(scope="module")
def explorer(data):
    X, clusters, popularity, svd = data
    return DExplorer(X, clusters, popularity, k=K, lam=LAM1, lam2=LAM2, svd=svd, alphas=np.linspace(-2, 2, 5))


@pytest.fixture(scope="module")
def lam_explorer(data):
    X, clusters, popularity, svd = data
    return LambdaExplorer(X, clusters, popularity, k=K, lam=LAM2, svd=svd)


@pytest.fixture(scope="module")
def remedies(data):
    X, _, _, svd = data
    return remedy_similarities(X, K, LAM1, svd=svd)


def _frames(html):
    return re.findall(r'frames\[(\d+)\] = "data:image/png;base64,', html)


def _sorted(S, order):
    return S[np.ix_(order, order)]


# --- D explorer: the maths it shows ---------------------------------------------------------------------

def test_shown_loss_and_scores_stay_fixed_while_the_cosine_matrix_changes(explorer):
    ex = explorer
    base = ex.compute(0.0)
    rng = np.random.default_rng(0)
    states = [ex.compute(a) for a in (-2.0, -0.5, 1.0, 2.0)]
    states += [ex.compute(0.3, rng.uniform(*ex.log_scale_range, K)) for _ in range(3)]
    for state in states:
        assert state.loss == pytest.approx(base.loss, rel=1e-9)
        np.testing.assert_allclose(state.scores, base.scores, rtol=1e-9)
        assert np.abs(state.S - base.S).max() > 0.05  # the heat map does change
        assert f"{state.loss:.{LOSS_DIGITS}g}" == f"{base.loss:.{LOSS_DIGITS}g}"
    assert len({round(s.recovery, 6) for s in states}) > 1


def test_shown_loss_is_objective1_at_the_current_factors_not_a_cached_constant(data, explorer):
    X, _, _, svd = data
    ex = explorer
    state = ex.compute(0.8, np.linspace(-1, 1, K))
    A, B = rescale(*fit_objective1(X, K, LAM1, svd=svd), state.D)  # original item order
    assert state.loss == pytest.approx(loss_objective1(X, A, B, LAM1), rel=1e-9)
    # A non-optimal pair must show its own, larger loss: the explorer evaluates, it does not recall.
    # (The explorer keeps Â and GÂ, reusing G(ÂD) = (GÂ)D; scale both.)
    saved = ex._A0, ex._GA0
    try:
        ex._A0, ex._GA0 = saved[0] * 1.1, saved[1] * 1.1
        moved = ex.compute(0.8, np.linspace(-1, 1, K))
    finally:
        ex._A0, ex._GA0 = saved
    assert moved.loss == pytest.approx(loss_objective1(X, A * 1.1, B, LAM1), rel=1e-9)
    assert moved.loss > state.loss * (1 + 1e-6)


def test_shown_scores_and_cosines_match_an_independent_computation(data, explorer):
    X, _, _, svd = data
    ex = explorer
    state = ex.compute(-1.5, np.full(K, 0.5))
    A, B = rescale(*fit_objective1(X, K, LAM1, svd=svd), svd.s[:K] ** -1.5 * 10**0.5)
    dense = X.toarray()
    expected_scores = [float(dense[u] @ A @ B[i]) for u, i in ex.pairs]
    np.testing.assert_allclose(state.scores, expected_scores, rtol=1e-10)
    np.testing.assert_allclose(state.S, _sorted(cosine_similarity(B), ex.order), atol=1e-12)
    assert state.recovery == pytest.approx(cluster_recovery(state.S, ex.labels), abs=1e-13)


def test_heat_map_order_is_cluster_then_descending_popularity(data, explorer):
    _, clusters, popularity, _ = data
    order = explorer.order
    assert np.all(np.diff(clusters[order]) >= 0)
    for c in np.unique(clusters):
        pops = popularity[order][clusters[order] == c]
        assert np.all(np.diff(pops) <= 0)


def test_objective2_view_matches_fit_objective2(data, explorer):
    X, _, _, svd = data
    A2, B2 = fit_objective2(X, K, LAM2, svd=svd)
    state = explorer.objective2
    np.testing.assert_allclose(state.S, _sorted(cosine_similarity(B2), explorer.order), atol=1e-12)
    assert state.loss == pytest.approx(loss_objective2(X, A2, B2, LAM2), rel=1e-9)
    assert state.recovery == pytest.approx(cluster_recovery(state.S, explorer.labels), abs=1e-13)
    assert state.mode == "objective 2" and state.D is None


def test_state_changes_reset_and_objective2_toggle(data):
    X, clusters, popularity, svd = data
    ex = DExplorer(X, clusters, popularity, k=K, lam=LAM1, lam2=LAM2, svd=svd)
    default = ex.state
    ex.set_alpha(1.0)
    ex.set_log_scale(2, -1.5)
    assert ex.state.alpha == 1.0 and ex.state.log_scales[2] == -1.5
    assert ex.state.D[2] == pytest.approx(svd.s[2] * 10**-1.5)
    ex.set_log_scales(np.full(K, 0.25))
    assert np.all(ex.state.log_scales == 0.25) and ex.state.alpha == 1.0
    assert ex.show_objective2().mode == "objective 2"
    assert ex.state is ex.objective2
    assert ex.show_objective2(False).mode == "objective 1"
    ex.show_objective2()
    state = ex.reset()
    assert state is default and ex.state is default
    assert state.alpha == 0.0 and np.all(state.log_scales == 0) and np.all(state.D == 1.0)
    np.testing.assert_array_equal(state.S, ex.compute(0.0).S)
    # moving a control leaves the objective-2 view
    ex.show_objective2()
    assert ex.set_alpha(0.5).mode == "objective 1"


def test_compute_does_not_change_the_state_or_the_inputs(data):
    X, clusters, popularity, svd = data
    copies = X.copy(), clusters.copy(), popularity.copy(), svd.s.copy(), svd.V.copy()
    ex = DExplorer(X, clusters, popularity, k=K, lam=LAM1, lam2=LAM2, svd=svd)
    before = ex.state
    ex.compute(1.0, np.ones(K))
    assert ex.state is before
    assert (X != copies[0]).nnz == 0
    for original, copy in zip((clusters, popularity, svd.s, svd.V), copies[1:]):
        np.testing.assert_array_equal(original, copy)


def test_d_explorer_rejects_bad_input(data, explorer):
    X, clusters, popularity, svd = data
    with pytest.raises(ValueError, match="alpha"):
        explorer.compute(5.0)
    with pytest.raises(ValueError, match="alpha"):
        explorer.compute(float("nan"))
    with pytest.raises(TypeError, match="alpha"):
        explorer.compute("0.5")
    with pytest.raises(ValueError, match="log_scales"):
        explorer.compute(0.0, np.zeros(K + 1))
    with pytest.raises(ValueError, match="log_scales"):
        explorer.compute(0.0, np.full(K, 9.0))
    with pytest.raises(ValueError, match="i must"):
        explorer.set_log_scale(K, 0.0)
    with pytest.raises(TypeError, match="i must"):
        explorer.set_log_scale(1.0, 0.0)
    with pytest.raises(TypeError, match="on must"):
        explorer.show_objective2("yes")
    with pytest.raises(TypeError, match="continuous_update"):
        DExplorer(X, clusters, k=K, lam=LAM1, svd=svd, continuous_update=1)
    with pytest.raises(ValueError, match="clusters"):
        DExplorer(X, clusters[:-1], k=K, lam=LAM1, svd=svd)
    with pytest.raises(TypeError, match="clusters"):
        DExplorer(X, clusters.astype(float), k=K, lam=LAM1, svd=svd)
    with pytest.raises(ValueError, match="popularity"):
        DExplorer(X, clusters, popularity[:-1], k=K, lam=LAM1, svd=svd)
    with pytest.raises(ValueError, match="contain 0"):
        DExplorer(X, clusters, k=K, lam=LAM1, svd=svd, alpha_range=(0.5, 1.0))
    with pytest.raises(ValueError, match="alpha_range"):
        DExplorer(X, clusters, k=K, lam=LAM1, svd=svd, alpha_range=(1.0, -1.0))
    with pytest.raises(TypeError, match="svd"):
        DExplorer(X, clusters, k=K, lam=LAM1, svd=(svd.s, svd.V))
    with pytest.raises(ValueError, match="pair"):
        DExplorer(X, clusters, k=K, lam=LAM1, svd=svd, pairs=[(0, 10_000)])
    with pytest.raises(ValueError, match="lam"):
        DExplorer(X, clusters, k=K, lam=-1.0, svd=svd)
    rank_one = np.outer(np.arange(1.0, 11.0), np.ones(4))
    with pytest.raises(ValueError, match="singular values > 0"):
        DExplorer(rank_one, np.array([0, 0, 1, 1]), k=2, lam=1.0)


# --- λ explorer ----------------------------------------------------------------------------------------

def test_lambda_explorer_shows_the_unique_objective2_cosine_and_both_shrinkages(data, lam_explorer):
    X, _, _, svd = data
    lx = lam_explorer
    for lam in (lx.lam_range[0], 3.0, 7.0, 13.0):
        state = lx.compute(lam)
        _, B2 = fit_objective2(X, K, lam, svd=svd)
        np.testing.assert_allclose(state.S, _sorted(cosine_similarity(B2), lx.order), atol=1e-12)
        np.testing.assert_allclose(state.shrink2, shrinkage_objective2(svd.s[:K], lam))
        np.testing.assert_allclose(state.shrink1, shrinkage_objective1(svd.s[:K], lam**2))
        assert state.lam1 == lam**2
        assert state.n_kept == int(np.sum(svd.s[:K] > lam))
        assert state.recovery == pytest.approx(cluster_recovery(state.S, lx.labels), abs=1e-13)
    # soft threshold: σ (1 − λ/σ)_+ = (σ − λ)_+
    state = lx.compute(7.0)
    np.testing.assert_allclose(svd.s[:K] * state.shrink2, np.clip(svd.s[:K] - 7.0, 0, None), atol=1e-12)


def test_lambda_explorer_set_reset_and_bad_input(data):
    X, clusters, popularity, svd = data
    lx = LambdaExplorer(X, clusters, popularity, k=K, lam=LAM2, svd=svd)
    default = lx.state
    assert lx.set_lam(12.0).lam == 12.0 and lx.state.lam == 12.0
    assert lx.reset() is default
    with pytest.raises(ValueError, match="lam"):
        lx.compute(lx.lam_range[1] * 2)
    with pytest.raises(TypeError, match="lam"):
        lx.compute(None)
    with pytest.raises(ValueError, match="lam_range"):
        LambdaExplorer(X, clusters, k=K, lam=LAM2, svd=svd, lam_range=(0.0, 10.0))
    with pytest.raises(ValueError, match="lam"):
        LambdaExplorer(X, clusters, k=K, lam=1e6, svd=svd)


# --- remedies explorer ---------------------------------------------------------------------------------

def test_remedies_explorer_takes_any_mapping_and_precomputes_every_score(data, remedies):
    _, clusters, popularity, _ = data
    extra = {**remedies, "cosine-trained (stand-in)": np.eye(len(clusters))}
    rx = RemediesExplorer(extra, clusters, popularity)
    assert rx.names == tuple(extra)
    for name, S in extra.items():
        state = rx.select(name)
        assert rx.state is state and state.name == name
        assert state.recovery == pytest.approx(cluster_recovery(S, clusters), abs=1e-13)
    assert rx.states["cosine"].vmax == 1.0  # a cosine is drawn on [-1, 1]
    assert rx.states["dot product"].vmax != 1.0  # dot products keep their own scale
    assert rx.reset().name == "cosine"
    custom = RemediesExplorer(remedies, clusters, limits={"dot product": (-0.5, 0.5)})
    assert (custom.states["dot product"].vmin, custom.states["dot product"].vmax) == (-0.5, 0.5)
    with pytest.raises(ValueError, match="limits"):
        RemediesExplorer(remedies, clusters, limits={"nope": (-1, 1)})
    with pytest.raises(ValueError, match="unknown"):
        rx.select("nope")
    with pytest.raises(TypeError, match="mapping"):
        RemediesExplorer(list(extra.values()), clusters)
    with pytest.raises(ValueError, match="empty"):
        RemediesExplorer({}, clusters)
    with pytest.raises(ValueError, match="shape"):
        RemediesExplorer({"a": np.eye(len(clusters)), "b": np.eye(3)}, clusters)


# --- widgets without a front end ----------------------------------------------------------------------------

def _is_image_of(data, canvas):
    """``data`` decodes to the canvas' pixels, up to JPEG's small losses (4:2:0 chroma: ~2.7 of 255)."""
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    expected = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int)
    return pixels.shape == expected.shape and np.abs(pixels - expected).mean() < 4.0


@pytest.mark.parametrize("alpha", [1.5, -0.7])
def test_pasted_heat_map_equals_matplotlibs_own_drawing(data, alpha):
    # The live widget writes the heat map's pixels itself instead of letting
    # matplotlib resample the image; a full matplotlib draw of the same state
    # must give the same picture (up to the odd pixel on a cell boundary).
    X, clusters, popularity, svd = data
    ex = DExplorer(X, clusters, popularity, k=K, lam=LAM1, lam2=LAM2, svd=svd, image_size=40)
    ex.render(ex.compute(0.0))  # first render caches the background and the pixel map
    ex.render(ex.set_alpha(alpha))
    canvas = ex._fig.canvas
    pasted = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int).copy()
    canvas.draw()
    drawn = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int)
    differ = np.abs(pasted - drawn).max(axis=2) > 0
    x0, _, x1, y1 = ex._artists["im"].get_window_extent().extents
    assert differ.mean() < 0.005
    assert np.ptp(pasted[int(canvas.get_width_height()[1] - y1) + 2, int(x0) + 2:int(x1) - 2]) > 0  # not blank


def test_widget_callbacks_drive_the_explorer_without_a_front_end(data, capsys):
    X, clusters, popularity, svd = data
    ex = DExplorer(X, clusters, popularity, k=K, lam=LAM1, lam2=LAM2, svd=svd)
    ex.show()  # no kernel: prints the fallbacks, must not raise or hang
    out = capsys.readouterr().out
    assert "DExplorer: interactive controls" in out and "Image object" in out
    box = ex.widget()
    assert ex.widget() is box and len(ex._dim_sliders) == K  # k <= 8: one slider per dimension
    first = ex._image.value
    loss_text = f"{ex.state.loss:.{LOSS_DIGITS}g}"
    ex._alpha_slider.value = 1.5
    assert ex.state.alpha == 1.5 and ex._image.value != first
    assert _is_image_of(ex._image.value, ex._fig.canvas)
    assert loss_text in ex._info.value
    ex._dim_sliders[1].value = -1.0
    assert ex.state.log_scales[1] == -1.0 and loss_text in ex._info.value
    ex._obj2_button.value = True
    assert ex.state.mode == "objective 2" and "objective 2" in ex._info.value
    ex._alpha_slider.value = 0.5  # moving a control returns to objective 1 and releases the toggle
    assert ex.state.mode == "objective 1" and ex._obj2_button.value is False
    ex._reset_button.click()
    assert ex.state.alpha == 0.0 and ex._alpha_slider.value == 0.0
    assert all(s.value == 0.0 for s in ex._dim_sliders)
    assert ex._image.value == first  # the redrawn default equals the first drawing


def test_lambda_and_remedies_widgets_without_a_front_end(data, remedies, capsys):
    X, clusters, popularity, svd = data
    lx = LambdaExplorer(X, clusters, popularity, k=K, lam=LAM2, svd=svd, lams=[3.0, 7.0, 12.0])
    lx.show()
    lx._lam_slider.value = 12.0
    assert lx.state.lam == pytest.approx(12.0) and "12" in lx._info.value
    lx._reset_button.click()
    assert lx.state.lam == LAM2
    rx = RemediesExplorer({k: remedies[k] for k in ("cosine", "project back")}, clusters, popularity)
    rx.show()
    rx._chooser.value = "project back"
    assert rx.state.name == "project back" and "<b>project back</b>" in rx._info.value
    assert "RemediesExplorer: interactive controls" in capsys.readouterr().out
    rx.show(static=False)
    out = capsys.readouterr().out
    assert "interactive controls" in out and "Image object" not in out
    with pytest.raises(TypeError, match="static"):
        rx.show(static="no")


def test_static_figure_shows_the_default_state(explorer):
    explorer.set_alpha(1.0)
    fig = explorer.static_figure()
    texts = [t.get_text() for t in fig.texts]
    assert explorer.describe(explorer._default) in texts
    image = explorer.static_image()
    assert image.data.startswith(b"\x89PNG")
    explorer.reset()


def test_rendered_image_shows_the_figure(explorer):
    jpeg = explorer.render()
    assert jpeg.startswith(b"\xff\xd8") and _is_image_of(jpeg, explorer._fig.canvas)


# --- static twins -------------------------------------------------------------------------------------------

def test_d_twin_has_one_frame_per_alpha_fits_the_budget_and_is_self_contained(explorer):
    html = explorer.static_twin().data
    assert len(_frames(html)) == len(explorer.alphas) == 5
    assert len(html.encode()) < BUDGET
    assert "http" not in html and "<link" not in html and 'class="fa' not in html
    assert re.search(r"[0-9a-f]{32}", html) is None  # no uuid left
    assert re.search(r'id="_anim_imgcosim_d_explorer_[0-9a-f]{16}"', html)
    losses = {f"{s.loss:.{LOSS_DIGITS}g}" for s in explorer.twin_states()}
    assert len(losses) == 1  # every frame prints the same loss


def _opening_frame(html):
    m = re.findall(r"anim\w+\.set_frame\((\d+)\);", html)
    assert len(m) == 1, "a twin says once which frame it opens at"
    return int(m[0])


def test_twins_open_at_the_default_view_not_the_first_grid_value(explorer, lam_explorer):
    """Issue 21: the D twins opened at α = −2, an almost uniform heat map; they open at D = I."""
    html = explorer.static_twin().data
    start = _opening_frame(html)
    assert explorer.alphas[start] == 0.0 and start == 2  # grid -2, -1, 0, 1, 2
    png = re.findall(r'frames\[\d+\] = "(data:image/png;base64,[^"]*)"', html)
    only = re.findall(r'frames\[\d+\] = "(data:image/png;base64,[^"]*)"', explorer.static_twin([0.0]).data)
    assert png[start] == only[0]  # the D = I frame itself
    lam_html = lam_explorer.static_twin().data
    assert lam_explorer.lams[_opening_frame(lam_html)] == pytest.approx(lam_explorer.lam0)
    assert _opening_frame(explorer.static_twin([-1.0, -0.5]).data) == 1  # nearest α to 0


@pytest.mark.parametrize("which", ["d", "lambda", "remedies"])
def test_explorer_figures_are_legible_on_desktop_and_phone(which, explorer, lam_explorer, remedies, data):
    """Issue 21: the smallest text of every explorer figure is >= 9 CSS px in the desktop column, >= 6 on a phone."""
    from cosim_helpers.plots import MIN_FONT_PX, rendered_font_px
    from tests.test_plots import DESKTOP_COLUMN, MIN_PHONE_FONT_PX, PHONE_COLUMN

    _, clusters, popularity, _ = data
    ex = {"d": explorer, "lambda": lam_explorer,
          "remedies": RemediesExplorer(remedies, clusters, popularity)}[which]
    fig = ex.static_figure()
    assert rendered_font_px(fig, DESKTOP_COLUMN, tight=False) >= MIN_FONT_PX
    assert rendered_font_px(fig, PHONE_COLUMN, tight=False) >= MIN_PHONE_FONT_PX


def test_twins_are_deterministic_and_their_ids_follow_the_content(explorer, lam_explorer, data, remedies):
    _, clusters, popularity, _ = data
    one = explorer.static_twin([1.0]).data
    assert explorer.static_twin([1.0]).data == one
    other = explorer.static_twin([0.5]).data
    ids = [re.search(r'id="_anim_img(\w+)"', h).group(1) for h in (one, other)]
    assert ids[0] != ids[1]
    lam_html = lam_explorer.static_twin([12.0], name="ch5").data
    assert lam_explorer.static_twin([12.0], name="ch5").data == lam_html
    assert len(_frames(lam_html)) == 1 and "cosim_ch5_" in lam_html and len(lam_html.encode()) < BUDGET
    rx = RemediesExplorer({"project back": remedies["project back"]}, clusters, popularity)
    rem_html = rx.static_twin().data
    assert len(_frames(rem_html)) == 1 and len(rem_html.encode()) < BUDGET
    assert RemediesExplorer({"project back": remedies["project back"]}, clusters,
                            popularity).static_twin().data == rem_html


def test_stable_jshtml_ids_rejects_bad_input():
    with pytest.raises(ValueError, match="to_jshtml"):
        stable_jshtml_ids("<div>no animation</div>")
    with pytest.raises(ValueError, match="name"):
        stable_jshtml_ids('<img id="_anim_img' + "a" * 32 + '">', name="bad name")
    with pytest.raises(TypeError, match="html"):
        stable_jshtml_ids(b"bytes")
    html = '<img id="_anim_img' + "0" * 32 + '"><i class="fa fa-play"></i>'
    out = stable_jshtml_ids(html, "x")
    assert "0" * 32 not in out and "&#9654;" in out and out == stable_jshtml_ids(html, "x")


def test_jpeg_helper_matches_the_canvas():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1), dpi=50)
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([0, 1], [1, 0])
    fig.canvas.draw()
    assert _is_image_of(jpeg(fig.canvas), fig.canvas)
    black = np.asarray(fig.canvas.buffer_rgba()).copy()
    black[:] = 0
    assert not _is_image_of(jpeg(fig.canvas), type("C", (), {"buffer_rgba": lambda self: black})())



# --- inputs that used to slip through (issue 9) ------------------------------------------------------

def test_lambda_explorer_default_lambda_works_when_sigma1_is_below_100(data):
    X, clusters, popularity, svd = data
    assert svd.s[0] < 100  # the paper's λ = 100 would switch off every dimension
    lx = LambdaExplorer(X, clusters, popularity, k=K, svd=svd)
    low, high = lx.lam_range
    assert lx.lam0 == pytest.approx(np.sqrt(low * high)) and lx.state.n_kept >= 1
    big = LambdaExplorer(X * 100.0, clusters, popularity, k=K)  # σ₁ > 100: the paper's value
    assert big.lam0 == 100.0


@pytest.mark.parametrize("pairs,error", [([(0.0, 1)], TypeError), ([(0, 1.7)], TypeError),
                                         ([(0, 1, 2)], TypeError), ([3], TypeError)])
def test_d_explorer_pair_indices_must_be_integers_not_truncated_floats(data, pairs, error):
    X, clusters, popularity, svd = data
    with pytest.raises(error, match="pair"):
        DExplorer(X, clusters, popularity, k=K, lam=LAM1, svd=svd, pairs=pairs)
    ex = DExplorer(X, clusters, popularity, k=K, lam=LAM1, svd=svd, pairs=[(np.int64(0), 1)])
    assert ex.pairs == ((0, 1),)
