"""One figure style for the whole book (matplotlib only).

Every heat map in the book is an item-item similarity matrix drawn with
:func:`similarity_heatmap`; :func:`figure1_grid` lays out the paper's
Figure 1 (book chapter 7) and every other grid of heat maps, at most
:data:`DEFAULT_COLUMNS` panels a row so that a phone still shows them.
:func:`rendered_font_px` says how large a figure's smallest text is on the
page (the book's figures must keep it at :data:`MIN_FONT_PX` or more). Heat maps are drawn from a block-averaged image
no larger than the page can show (:data:`MAX_IMAGE_SIZE` pixels a side): a
1,000 x 1,000 matrix in a panel a few hundred pixels wide would otherwise be
resampled by the browser, which aliases thin blocks and bloats the page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

from ._validation import as_factor
from .images import block_average

#: Diverging map centred on 0, so that positive and negative cosines read apart.
CMAP = "RdBu_r"
#: Largest side, in pixels, of the image a heat map is drawn from (a panel is at most ~400 px wide).
MAX_IMAGE_SIZE = 250
#: Most panels per row in :func:`figure1_grid`: more would shrink each panel below legibility.
MAX_COLUMNS = 3
#: Panels per row by default (issue 21): a two-panel row is ~7.5 in, shown at its own size in the
#: desktop column and at half of it on a 390-px phone; three or four in a row were 90 px tall there.
DEFAULT_COLUMNS = 2
#: Smallest text of a figure, in CSS pixels, on a 1366-px-wide desktop page (issue 21; our threshold).
MIN_FONT_PX = 9.0
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.grid": False,
    "image.cmap": CMAP,
}


def label_number(x: float) -> str:
    """A number for a figure label: 3 significant digits, thousands separated (154.973 -> "155").

    Labels name a setting (e.g. a λ chosen by a rule); the exact value, when
    it matters, is printed by the chapter.
    """
    return f"{float(f'{float(x):.3g}'):,g}"


class BookFigure(Figure):
    """A matplotlib Figure whose ``suptitle`` wraps to the figure's width (``wrap=True`` by default).

    A long one-line suptitle widened the saved (tight) image far beyond the
    panels, and the page then shrank everything in it (chapter 10's figure:
    ~5-px tick labels, issue 21).
    """

    def suptitle(self, t, **kwargs):
        kwargs.setdefault("wrap", True)
        return super().suptitle(t, **kwargs)


def rendered_font_px(fig, displayed_width: float, *, tight: bool = True) -> float:
    """Smallest visible text of ``fig``, in CSS pixels, when its saved image is shown ``displayed_width`` wide.

    A ``s``-point font is ``s * dpi / 72`` image pixels; the page scales the
    image by ``displayed_width / image width``. With ``tight`` the image is
    the tight box of the drawn figure plus ``savefig.pad_inches`` on each
    side (what Jupyter's inline backend saves), so text sticking out of the
    figure counts; otherwise it is the whole figure (the explorers' frames).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    displayed_width : float
        CSS pixels the image gets on the page (at most its own width: the
        book's images are never enlarged).
    tight : bool
        Whether the image is saved with ``bbox_inches="tight"``.

    Returns
    -------
    float
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    if tight:  # the tight box is in inches
        width_px = (fig.get_tightbbox(renderer).width + 2 * plt.rcParams["savefig.pad_inches"]) * fig.dpi
    else:
        width_px = fig.get_figwidth() * fig.dpi
    scale = min(float(displayed_width), width_px) / width_px
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    if not sizes:
        raise ValueError("the figure has no visible text")
    return min(sizes) * fig.dpi / 72 * scale


def legend_below(ax, ncols: int = 2, **kwargs):
    """Put ``ax``'s legend under the axes, centred, in ``ncols`` columns.

    For curves that fill the plot (chapter 7's sweep: a legend inside sat on
    the curve and hid the chance line, issue 21). Extra keyword arguments go
    to ``Axes.legend``.
    """
    kwargs = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16), "ncols": ncols, "frameon": False, **kwargs}
    return ax.legend(**kwargs)


def use_book_style() -> None:
    """Apply the book's matplotlib defaults (called at the top of each chapter)."""
    plt.rcParams.update(STYLE)


def similarity_heatmap(ax, S, title: str, *, order=None, vmin=-1.0, vmax=1.0, label="cosine similarity",
                       colorbar=True, max_size: int = MAX_IMAGE_SIZE):
    """Draw an item-item similarity matrix as a heat map.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    S : array_like, shape (p, p)
    title : str
        Names what is shown (e.g. which D).
    order : array_like of int, optional
        Permutation applied to rows and columns before drawing (e.g.
        :func:`cosim_helpers.data.item_order`).
    vmin, vmax : float
        Colour limits; the default [-1, 1] is the range of a cosine.
    label : str
        Colour-bar label.
    colorbar : bool
        Whether to attach a colour bar to ``ax``.
    max_size : int
        Largest side of the drawn image: a larger matrix is block-averaged
        (``cosim_helpers.images.block_average``) after ordering. The axes
        keep item units, so ticks still name items.

    Returns
    -------
    matplotlib.image.AxesImage
        Its data can be replaced in place with ``set_data`` (widgets do).
    """

    S = as_factor(S, "S")
    if S.shape[0] != S.shape[1]:
        raise ValueError(f"S must be square, got shape {S.shape}")
    if isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer)) or max_size < 2:
        raise ValueError(f"max_size must be an integer >= 2, got {max_size!r}")
    p = S.shape[0]
    if order is not None:
        order = np.asarray(order)
        S = S[np.ix_(order, order)]
    image = block_average(S, int(max_size)) if p > max_size else S
    im = ax.imshow(image, cmap=CMAP, vmin=vmin, vmax=vmax, interpolation="nearest",
                   extent=(-0.5, p - 0.5, p - 0.5, -0.5))
    ax.set_title(title)
    ax.set_xlabel("item (sorted)" if order is not None else "item")
    ax.set_ylabel("item (sorted)" if order is not None else "item")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=label)
    return im


def figure1_grid(panels, *, order=None, ncols=DEFAULT_COLUMNS, panel_size=3.2):
    """The paper's Figure 1 layout: one heat map per (title, matrix) panel.

    Parameters
    ----------
    panels : sequence of (str, array_like)
        Titles and p x p similarity matrices.
    order : array_like of int, optional
        Item order shared by all panels.
    ncols : int
        Panels per row, at most :data:`MAX_COLUMNS` (beyond that each panel
        is too small on the page to see its blocks); default
        :data:`DEFAULT_COLUMNS`, which a phone still shows legibly.
    panel_size : float
        Width and height of one panel in inches (at least 2.5, for legible labels).

    Returns
    -------
    BookFigure
        Its ``suptitle`` wraps to the figure's width.
    """
    panels = list(panels)
    if not panels:
        raise ValueError("panels must not be empty")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or not 1 <= ncols <= MAX_COLUMNS:
        raise ValueError(f"ncols must be an integer from 1 to {MAX_COLUMNS}, got {ncols!r}")
    if not isinstance(panel_size, (int, float, np.number)) or not panel_size >= 2.5:
        raise ValueError(f"panel_size must be at least 2.5 (inches), got {panel_size!r}")
    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows + 0.4),
                             squeeze=False, constrained_layout=True, FigureClass=BookFigure)
    for i, (ax, (title, S)) in enumerate(zip(axes.flat, panels)):
        im = similarity_heatmap(ax, S, title, order=order, colorbar=False)
        if i % ncols:  # same items in every panel: the left column's axis labels serve the row
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=axes, shrink=0.8, label="cosine similarity")
    return fig
