"""Heat maps drawn at a resolution the page can show, Figure 1 legible (cosim_helpers.plots, issue 13)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cosim_helpers.plots import MAX_IMAGE_SIZE, figure1_grid, similarity_heatmap, use_book_style


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def cosines(p, seed=0):
    E = np.random.default_rng(seed).standard_normal((p, 5))
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    return E @ E.T


def test_large_matrix_is_drawn_from_its_block_averages():
    S = cosines(1000)
    before = S.copy()
    _fig, ax = plt.subplots()
    im = similarity_heatmap(ax, S, "t", max_size=250)
    drawn = np.asarray(im.get_array())
    assert drawn.shape == (250, 250)
    # independent computation: mean over 4 x 4 blocks by reshaping
    assert np.allclose(drawn, S.reshape(250, 4, 250, 4).mean(axis=(1, 3)))
    assert np.array_equal(S, before)  # input not mutated
    # axes stay in item units, so ticks still name items 0..999
    assert ax.get_xlim() == (-0.5, 999.5) and ax.get_ylim() == (999.5, -0.5)


def test_order_is_applied_before_averaging():
    S = cosines(400, seed=1)
    order = np.random.default_rng(2).permutation(400)
    _fig, ax = plt.subplots()
    drawn = np.asarray(similarity_heatmap(ax, S, "t", order=order, max_size=200).get_array())
    assert np.allclose(drawn, S[np.ix_(order, order)].reshape(200, 2, 200, 2).mean(axis=(1, 3)))


def test_small_matrix_is_drawn_as_is():
    S = cosines(30)
    _fig, ax = plt.subplots()
    assert np.array_equal(np.asarray(similarity_heatmap(ax, S, "t").get_array()), S)
    assert MAX_IMAGE_SIZE < 1000  # the paper's p = 1,000 is always reduced


@pytest.mark.parametrize("max_size", [1, 2.5, True, "300"])
def test_bad_max_size(max_size):
    _fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="max_size"):
        similarity_heatmap(ax, cosines(10), "t", max_size=max_size)


def test_figure1_panels_are_large_enough_to_read():
    use_book_style()
    panels = [(f"panel {i}", cosines(300, seed=i)) for i in range(5)]
    fig = figure1_grid(panels)
    fig.canvas.draw()
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.images]
    assert len(axes) == 5
    widths = [ax.get_window_extent().width for ax in axes]  # pixels at the saved dpi
    # Before: five panels of 2.3 in in one row, about 95 px each on the page.
    assert min(widths) >= 200, widths
    rows = {round(ax.get_position().y0, 3) for ax in axes}
    assert len(rows) == 2  # 3 + 2 panels
    ticks = [t for ax in axes for t in ax.get_xticklabels() if t.get_text()]
    assert min(t.get_fontsize() for t in ticks) >= 10


@pytest.mark.parametrize("kwargs, match", [({"ncols": 5}, "ncols"), ({"ncols": 0}, "ncols"),
                                           ({"panel_size": 2.0}, "panel_size")])
def test_figure1_refuses_illegible_layouts(kwargs, match):
    with pytest.raises(ValueError, match=match):
        figure1_grid([("a", cosines(10))], **kwargs)
