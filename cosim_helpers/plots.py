"""One figure style for the whole book (matplotlib only).

Every heat map in the book is an item-item similarity matrix drawn with
:func:`similarity_heatmap`; :func:`figure1_grid` lays out the paper's
Figure 1 (book chapter 7).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._validation import as_factor

#: Diverging map centred on 0, so that positive and negative cosines read apart.
CMAP = "RdBu_r"
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "axes.grid": False,
    "image.cmap": CMAP,
}


def use_book_style() -> None:
    """Apply the book's matplotlib defaults (called at the top of each chapter)."""
    plt.rcParams.update(STYLE)


def similarity_heatmap(ax, S, title: str, *, order=None, vmin=-1.0, vmax=1.0, label="cosine similarity",
                       colorbar=True):
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

    Returns
    -------
    matplotlib.image.AxesImage
        Its data can be replaced in place with ``set_data`` (widgets do).
    """
    S = as_factor(S, "S")
    if S.shape[0] != S.shape[1]:
        raise ValueError(f"S must be square, got shape {S.shape}")
    if order is not None:
        order = np.asarray(order)
        S = S[np.ix_(order, order)]
    im = ax.imshow(S, cmap=CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("item (sorted)" if order is not None else "item")
    ax.set_ylabel("item (sorted)" if order is not None else "item")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=label)
    return im


def figure1_grid(panels, *, order=None, ncols=5, panel_size=3.2):
    """The paper's Figure 1 layout: one heat map per (title, matrix) panel.

    Parameters
    ----------
    panels : sequence of (str, array_like)
        Titles and p x p similarity matrices.
    order : array_like of int, optional
        Item order shared by all panels.
    ncols : int
        Panels per row.
    panel_size : float
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    panels = list(panels)
    if not panels:
        raise ValueError("panels must not be empty")
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows + 0.4),
                             squeeze=False, constrained_layout=True)
    for ax, (title, S) in zip(axes.flat, panels):
        im = similarity_heatmap(ax, S, title, order=order, colorbar=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=axes, shrink=0.8, label="cosine similarity")
    return fig
