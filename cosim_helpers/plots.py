"""One figure style for the whole book (matplotlib only).

Every heat map in the book is an item-item similarity matrix drawn with
:func:`similarity_heatmap`; :func:`figure1_grid` lays out the paper's
Figure 1 (book chapter 7). Heat maps are drawn from a block-averaged image
no larger than the page can show (:data:`MAX_IMAGE_SIZE` pixels a side): a
1,000 x 1,000 matrix in a panel a few hundred pixels wide would otherwise be
resampled by the browser, which aliases thin blocks and bloats the page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._validation import as_factor
from .images import block_average

#: Diverging map centred on 0, so that positive and negative cosines read apart.
CMAP = "RdBu_r"
#: Largest side, in pixels, of the image a heat map is drawn from (a panel is at most ~400 px wide).
MAX_IMAGE_SIZE = 250
#: Most panels per row in :func:`figure1_grid`: more would shrink each panel below legibility.
MAX_COLUMNS = 3
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


def figure1_grid(panels, *, order=None, ncols=MAX_COLUMNS, panel_size=3.2):
    """The paper's Figure 1 layout: one heat map per (title, matrix) panel.

    Parameters
    ----------
    panels : sequence of (str, array_like)
        Titles and p x p similarity matrices.
    order : array_like of int, optional
        Item order shared by all panels.
    ncols : int
        Panels per row, at most :data:`MAX_COLUMNS` (beyond that each panel
        is too small on the page to see its blocks).
    panel_size : float
        Width and height of one panel in inches (at least 2.5, for legible labels).

    Returns
    -------
    matplotlib.figure.Figure
    """
    panels = list(panels)
    if not panels:
        raise ValueError("panels must not be empty")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or not 1 <= ncols <= MAX_COLUMNS:
        raise ValueError(f"ncols must be an integer from 1 to {MAX_COLUMNS}, got {ncols!r}")
    if not isinstance(panel_size, (int, float, np.number)) or not panel_size >= 2.5:
        raise ValueError(f"panel_size must be at least 2.5 (inches), got {panel_size!r}")
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows + 0.4),
                             squeeze=False, constrained_layout=True)
    for ax, (title, S) in zip(axes.flat, panels):
        im = similarity_heatmap(ax, S, title, order=order, colorbar=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=axes, shrink=0.8, label="cosine similarity")
    return fig
