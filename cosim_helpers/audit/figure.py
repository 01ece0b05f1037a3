"""The audit's figure: neighbour-overlap distribution and cosine spread (book chapter 9)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

_COLOURS = {"items": "tab:blue", "users": "tab:orange"}


def plot_audit(result):
    """Two panels per audit: where the top-k overlaps fall, and how far cosines move.

    Left: histogram of the per-query top-k Jaccard overlap with the given
    factors, pooled over every transform of the family (1 = same neighbours).
    Right: per query, the range (max − min over the family) of its cosine to
    its nearest neighbour under the given factors.

    Parameters
    ----------
    result : AuditResult

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .report import AuditResult

    if not isinstance(result, AuditResult):
        raise TypeError(f"result must be an AuditResult, got {type(result).__name__}")
    # One panel above the other, 6.4 in wide: side by side (9.5 in) the text was ~5 CSS px on a
    # 390-px phone (issue 21).
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6.4, 6.4), constrained_layout=True)
    bins = np.linspace(0.0, 1.0, 21)
    for name, side in result.sides.items():
        colour = _COLOURS.get(name)
        ax1.hist(side.jaccard_per_query.ravel(), bins=bins, alpha=0.6, color=colour,
                 label=f"{name}: {side.verdict}", weights=np.full(side.jaccard_per_query.size,
                                                                   1.0 / side.jaccard_per_query.size))
        ax2.hist(side.cosine_spread, bins=20, alpha=0.6, color=colour, label=name,
                 weights=np.full(side.cosine_spread.size, 1.0 / side.cosine_spread.size))
    top = next(iter(result.sides.values())).top
    ax1.set_xlabel(f"top-{top} Jaccard overlap with the given factors")
    ax1.set_ylabel("share of (query, transform)")
    ax1.set_title("Do the cosine neighbours survive the gauge?")
    ax1.legend(fontsize=10)  # the book style's smallest size: >= 9 CSS px on the page (issue 21)
    ax2.set_xlabel("range of cosine to nearest neighbour over the family")
    ax2.set_ylabel("share of queries")
    ax2.set_title("How far does a cosine move?")
    ax2.legend(fontsize=10)
    return fig
