"""Heat maps drawn at a resolution the page can show, Figure 1 legible (cosim_helpers.plots, issue 13)."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cosim_helpers.experiments import figure1_panels
from cosim_helpers.plots import (
    DEFAULT_COLUMNS,
    MAX_IMAGE_SIZE,
    MIN_FONT_PX,
    figure1_grid,
    label_number,
    legend_below,
    rendered_font_px,
    similarity_heatmap,
    use_book_style,
)


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
    assert len(rows) == 3  # 2 + 2 + 1 panels: at most two a row by default (issue 21)
    assert len({round(ax.get_position().y0, 3) for ax in figure1_grid(panels, ncols=3).axes if ax.images}) == 2
    ticks = [t for ax in axes for t in ax.get_xticklabels() if t.get_text()]
    assert min(t.get_fontsize() for t in ticks) >= 10


@pytest.mark.parametrize("kwargs, match", [({"ncols": 5}, "ncols"), ({"ncols": 0}, "ncols"),
                                           ({"panel_size": 2.0}, "panel_size")])
def test_figure1_refuses_illegible_layouts(kwargs, match):
    with pytest.raises(ValueError, match=match):
        figure1_grid([("a", cosines(10))], **kwargs)


# --- legibility on the page (issue 21) -----------------------------------------------------
#: CSS pixels an image gets in the article column of the built book at 1366 x 900 and at 390 x 844
#: (measured in Chromium by :func:`figures_too_small`, which checks every figure of the built book
#: itself on the browser tests' visits: test_accessibility at 1366 px, test_book_navigation at 390 px).
DESKTOP_COLUMN, PHONE_COLUMN = 757, 358
#: Smallest text of a multi-panel figure on a 390-px phone: our threshold (pinch-zoom does the rest).
MIN_PHONE_FONT_PX = 6.0


def test_rendered_font_px_matches_the_saved_image():
    """Independent check: the size of a 10-pt text in the PNG Jupyter would save, scaled by the page."""
    import io

    from PIL import Image

    fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
    ax.plot([0, 1], [0, 1])
    ax.set_title("a title", fontsize=14)
    ax.tick_params(labelsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=100)
    width = Image.open(buf).size[0]
    assert rendered_font_px(fig, 300) == pytest.approx(10 * 100 / 72 * 300 / width, rel=0.01)
    assert rendered_font_px(fig, 10_000) == pytest.approx(10 * 100 / 72, rel=1e-9)  # never enlarged


def test_label_number_rounds_to_three_digits():
    assert label_number(154.97312) == "155"  # was "λ₂ = 154.973" in chapter 10's panel title
    assert label_number(100.0) == "100" and label_number(10_000.0) == "10,000"
    assert label_number(0.012345) == "0.0123" and label_number(2.5) == "2.5"


def test_figure1_title_carries_a_rounded_lambda():
    X = np.random.default_rng(0).poisson(1.0, size=(60, 12)).astype(float)
    panels = figure1_panels(X, np.repeat([0, 1, 2], 4), k=3, lam1=10.0, lam2=154.97312)
    assert panels[-1].title.endswith(r"$\lambda_2=155$")


def test_a_long_suptitle_wraps_instead_of_widening_the_figure():
    use_book_style()
    panels = [(f"panel {i}", cosines(50, seed=i)) for i in range(6)]
    fig = figure1_grid(panels)
    fig.canvas.draw()
    bare = fig.get_tightbbox(fig.canvas.get_renderer()).width
    fig.suptitle("Item-item cosines on WordNet nouns (8 categories, sorted by category and frequency); "
                 "(a)-(d) are the same objective-1 model")
    fig.canvas.draw()
    assert fig.get_tightbbox(fig.canvas.get_renderer()).width <= max(bare, fig.get_figwidth()) + 0.05
    assert rendered_font_px(fig, DESKTOP_COLUMN) >= MIN_FONT_PX


@pytest.mark.parametrize("n", [2, 4, 5, 6, 8])
def test_heat_map_grids_are_legible_on_desktop_and_phone(n):
    """Chapters 6, 7, 10 and 11's grids: at most two panels a row, text >= 9 px (desktop), >= 6 px (phone)."""
    use_book_style()
    fig = figure1_grid([(f"objective 1\n$D=\\mathrm{{dMat}}(1/(1+\\lambda_1/\\sigma_i^2))^{{1/2}}$ {i}",
                         cosines(100, seed=i)) for i in range(n)])
    fig.suptitle("Item-item cosine similarities on one simulated data set (seed 0); (a)-(c) are the same model")
    rows = {round(ax.get_position().y0, 3) for ax in fig.axes if ax.images}
    assert len(rows) == -(-n // DEFAULT_COLUMNS) and DEFAULT_COLUMNS <= 2
    assert rendered_font_px(fig, DESKTOP_COLUMN) >= MIN_FONT_PX
    assert rendered_font_px(fig, PHONE_COLUMN) >= MIN_PHONE_FONT_PX


def test_legend_below_keeps_the_plot_area_free():
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot([0, 1], [0.5, 1.0], label="curve")
    ax.axhline(0.5, label="chance")
    legend = legend_below(ax)
    fig.canvas.draw()
    box, frame = legend.get_window_extent(), ax.get_window_extent()
    assert box.y1 < frame.y0  # entirely under the axes: it can hide no curve


def _smallest_points(source: str, twin: bool) -> float:
    """Smallest font (points) of a figure: the book style's, or a size its cell's code sets.

    The package's figures use the style's sizes (``test_package_figures_use_the_style_sizes``);
    the explorers' twins use ``SMALL_FONT``.
    """
    from cosim_helpers.plots import STYLE
    from cosim_helpers.widgets.base import SMALL_FONT

    if twin:
        return float(SMALL_FONT)
    sizes = [v for k, v in STYLE.items() if k.endswith("size")]
    sizes += [float(v) for v in re.findall(r"\b(?:fontsize|labelsize)\s*=\s*(\d+(?:\.\d+)?)", source)]
    return min(sizes)


def test_package_figures_use_the_style_sizes():
    """No plotting module of the package sets a font below the style's 10 pt (the widgets: SMALL_FONT)."""
    import cosim_helpers
    from cosim_helpers.plots import STYLE

    smallest = min(v for k, v in STYLE.items() if k.endswith("size"))
    root = Path(cosim_helpers.__file__).parent
    for path in root.rglob("*.py"):
        if "widgets" in path.parts:
            continue
        for value in re.findall(r"(?:fontsize|labelsize)\s*=\s*(\d+(?:\.\d+)?)", path.read_text()):
            assert float(value) >= smallest, f"{path.name}: font size {value} below the style's {smallest}"


def figures_too_small(page, name: str, minimum: float) -> tuple[int, list[str]]:
    """Every figure and twin on the open book page ``name``: smallest text in CSS px against ``minimum``.

    Rendered size = points x dpi / 72 x (displayed width / image width): the dpi is the book
    style's (100, twins too), the widths are what the browser reports (issue 21). Returns how
    many figures were measured and a line for each below ``minimum``. Run on the browser tests'
    one visit of each page: at 1366 px in test_accessibility, at 390 px in test_book_navigation.
    """
    from cosim_helpers.plots import STYLE

    dpi = STYLE["savefig.dpi"]
    images = page.evaluate("""() => [...document.querySelectorAll('.cell_output img, img[id^=_anim_img]')]
        .map(i => { const cell = i.closest('.cell');
                    const code = cell && cell.querySelector('.cell_input pre');
                    return {natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
                            twin: i.id.startsWith('_anim_img'), source: code ? code.textContent : ''}; })""")
    small = []
    for k, im in enumerate(images):
        assert im["natural"] > 0, f"{name}: image {k} did not load"
        px = _smallest_points(im["source"], im["twin"]) * dpi / 72 * min(im["shown"] / im["natural"], 1)
        if px < minimum:
            small.append(f"{name} figure {k + 1}: {px:.1f} px ({im['natural']} px shown at {im['shown']:.0f})")
    return len(images), small


def test_audit_figure_is_legible_on_desktop_and_phone():
    from cosim_helpers.audit import audit

    rng = np.random.default_rng(0)
    result = audit(rng.standard_normal((40, 5)), rng.standard_normal((60, 5)), top=5, labels=np.arange(60) % 3)
    fig = result.figure()
    fig.suptitle("Objective 1: cosine neighbours under 12 score-preserving transforms")  # as chapter 9
    assert rendered_font_px(fig, DESKTOP_COLUMN) >= MIN_FONT_PX
    assert rendered_font_px(fig, PHONE_COLUMN) >= MIN_PHONE_FONT_PX  # 5.2 px side by side
