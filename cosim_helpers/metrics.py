"""How well an item-item similarity matrix recovers known clusters (chapters 6, 7).

The paper judges Figure 1 by eye. We add a number: for each item, rank all
other items by similarity and ask how often a same-cluster item is ranked
above an other-cluster item, i.e. the ROC AUC of that ranking. Averaged over
items this is :func:`cluster_recovery`: 1 is perfect, 0.5 is chance (a
random or constant similarity), below 0.5 is worse than chance.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from ._validation import as_factor

_TIE_DECIMALS = 12


def per_item_auc(S, labels) -> np.ndarray:
    """ROC AUC of each row of ``S`` for separating same-cluster items from others.

    Parameters
    ----------
    S : array_like, shape (p, p)
        Item-item similarity; row i scores every item against item i.
    labels : array_like of int, shape (p,)
        Cluster of each item.

    Returns
    -------
    numpy.ndarray, shape (p,)
        AUC of row i, computed over the items ``j != i`` (the item itself is
        left out). Ties count one half (mid-ranks); values equal to 12
        decimal places are ties. Items whose cluster has
        no other member, or that are in the only cluster, get NaN.
    """
    S = as_factor(S, "S")
    labels = np.asarray(labels)
    p = S.shape[0]
    if S.shape != (p, p):
        raise ValueError(f"S must be square, got shape {S.shape}")
    if labels.shape != (p,):
        raise ValueError(f"labels must have one entry per row of S ({p}), got shape {labels.shape}")
    same = labels[:, None] == labels[None, :]
    off_diag = ~np.eye(p, dtype=bool)
    # Rank the p − 1 other items of each row; the diagonal is removed first.
    # Similarities equal to 12 decimals are ties: otherwise round-off (which
    # differs between BLAS builds and thread counts) would decide the order
    # of, e.g., cosines that are all mathematically 1.
    others = np.round(S[off_diag].reshape(p, p - 1), _TIE_DECIMALS)
    pos = same[off_diag].reshape(p, p - 1)
    ranks = scipy.stats.rankdata(others, axis=1)
    n_pos = pos.sum(axis=1)
    n_neg = (p - 1) - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (np.sum(ranks * pos, axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc


def cluster_recovery(S, labels) -> float:
    """Mean per-item ROC AUC of a similarity matrix against known clusters.

    The book's score for the heat maps of the paper's Figure 1 (chapter 7).
    Chance level is 0.5: any similarity that is independent of the clusters
    (random, or constant, as in the identity matrix with ties) scores 0.5 in
    expectation; the ground-truth block matrix scores 1.

    Parameters
    ----------
    S : array_like, shape (p, p)
    labels : array_like of int, shape (p,)

    Returns
    -------
    float
        Mean of :func:`per_item_auc` over the items where it is defined.

    Raises
    ------
    ValueError
        If it is defined for no item (one cluster only, or all singletons).
    """
    auc = per_item_auc(S, labels)
    if np.all(np.isnan(auc)):
        raise ValueError("labels need at least two clusters and one cluster with two items")
    return float(np.nanmean(auc))
