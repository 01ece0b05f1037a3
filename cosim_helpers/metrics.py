"""How well an item-item similarity matrix recovers known clusters (chapters 6, 7).

The paper judges Figure 1 by eye. We add a number: for each item, rank all
other items by similarity and ask how often a same-cluster item is ranked
above an other-cluster item, i.e. the ROC AUC of that ranking. Averaged over
items this is :func:`cluster_recovery`: 1 is perfect, 0.5 is chance (a
random or constant similarity), below 0.5 is worse than chance.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.stats

from ._validation import as_factor

_TIE_DECIMALS = 12


def _check_similarity(S, labels):
    """A finite square item-item matrix and one label per item, or a clear error."""
    S = as_factor(S, "S")
    labels = np.asarray(labels)
    p = S.shape[0]
    if S.shape != (p, p):
        raise ValueError(f"S must be square, got shape {S.shape}")
    if labels.shape != (p,):
        raise ValueError(f"labels must have one entry per row of S ({p}), got shape {labels.shape}")
    return S, labels


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
    S, labels = _check_similarity(S, labels)
    p = S.shape[0]
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
    labels : array_like, shape (p,)

    Returns
    -------
    float
        Mean of :func:`per_item_auc` over the items where it is defined,
        computed without ranking every row (a merge of two sorted runs per
        row, see ``_block_auc_sum``), so that an explorer can recompute it
        for 1,000 items within its time budget. The tests check it against
        :func:`per_item_auc`.

    Raises
    ------
    ValueError
        If it is defined for no item (one cluster only, or all singletons).
    """
    S, labels = _check_similarity(S, labels)
    perm = np.argsort(labels, kind="stable")
    return _grouped_recovery(S[np.ix_(perm, perm)], *_group_bounds(labels[perm]))


def _group_bounds(sorted_labels):
    """Start and stop of each run of equal labels in a grouped label vector."""
    change = np.flatnonzero(sorted_labels[1:] != sorted_labels[:-1]) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [len(sorted_labels)]))
    return starts, stops


def _block_auc_sum(S, a, b):
    """Sum of the per-item AUCs of the items ``a:b`` (one whole cluster) of a cluster-grouped ``S``.

    For item i in the cluster, the AUC numerator is
    ``U_i = Σ_{j∈c, j≠i} (#{l∉c: S_il < S_ij} + ½ #{l∉c: S_il = S_ij})``, the
    Mann-Whitney form of the mid-rank formula of
    :func:`~cosim_helpers.metrics.per_item_auc`. Each row is laid out as
    [its negatives, sorted | its positives, sorted]; one stable sort of these
    two runs (a linear-time merge) puts the j-th positive (0-based) at a
    position t with ``t − j = #{negatives <= it}``. A positive that equals
    the largest negative at or below it is tied; only rows with such a tie
    are merged a second time with the positives first, which counts
    ``#{negatives < it}``, and ``U_i`` is the mean of the two counts.
    """
    p = S.shape[0]
    m, n_neg = b - a, p - (b - a)
    C = np.empty((m, p))
    C[:, :a] = S[a:b, :a]
    C[:, a:n_neg] = S[a:b, b:]
    C[:, n_neg:] = S[a:b, a:b]
    C[np.arange(m), n_neg + np.arange(m)] = np.inf  # the item itself: the last positive, dropped below
    C[:, :n_neg].sort(axis=1)
    C[:, n_neg:].sort(axis=1)
    order = np.argsort(C, axis=1, kind="stable")
    positions = np.nonzero(order >= n_neg)[1].reshape(m, m)[:, :-1]
    at_most = positions - np.arange(m - 1)  # #{negatives <= x_j}, shape (m, m − 1)
    below = np.take_along_axis(C, np.maximum(at_most - 1, 0), axis=1)  # largest negative <= x_j
    tied = np.flatnonzero(np.any((at_most > 0) & (below == C[:, n_neg:p - 1]), axis=1))
    U = at_most.sum(axis=1).astype(np.float64)
    if tied.size:
        C2 = np.concatenate((C[tied, n_neg:], C[tied, :n_neg]), axis=1)
        order2 = np.argsort(C2, axis=1, kind="stable")
        positions2 = np.nonzero(order2 < m)[1].reshape(tied.size, m)[:, :-1]
        U[tied] = (U[tied] + (positions2 - np.arange(m - 1)).sum(axis=1)) / 2.0
    return float(np.sum(U / ((m - 1) * n_neg)))


_POOL = None


def _pool():
    """A small thread pool (numpy's sorts release the GIL, so clusters are scored in parallel)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                   thread_name_prefix="cosim-metrics")
    return _POOL


def _grouped_recovery(S, starts, stops):
    """:func:`~cosim_helpers.metrics.cluster_recovery` of an ``S`` grouped by cluster (runs ``starts:stops``).

    Clusters are scored in parallel threads when ``S`` is large; the partial
    sums are added in cluster order, so the result does not depend on the
    number of threads.
    """
    # Same tie rule as per_item_auc: equal to 12 decimals is a tie.
    S = np.round(S, _TIE_DECIMALS)
    p = S.shape[0]
    blocks = [(a, b) for a, b in zip(starts, stops) if 2 <= b - a < p]  # else AUC undefined (NaN)
    if not blocks:
        raise ValueError("labels need at least two clusters and one cluster with two items")
    if p >= 300 and len(blocks) > 1 and (os.cpu_count() or 1) > 1:
        sums = list(_pool().map(lambda ab: _block_auc_sum(S, *ab), blocks))
    else:
        sums = [_block_auc_sum(S, a, b) for a, b in blocks]
    return sum(sums) / sum(b - a for a, b in blocks)


def neighbour_overlap(S1, S2, n_neighbours: int = 10) -> float:
    """Mean share of each item's top neighbours that two similarity matrices agree on.

    For item i, take its ``n_neighbours`` most similar other items under
    ``S1`` and under ``S2`` (the item itself is left out) and count the
    items in both lists; the result is that count divided by
    ``n_neighbours``, averaged over items. 1 means every item keeps exactly
    its neighbours; two unrelated random similarities of p items score about
    ``n_neighbours / (p − 1)``. Book chapter 11 uses it to measure how far a
    change of gauge, optimiser or seed moves "the 10 most similar items".
    Equal similarities (to 12 decimals, the tie rule of :func:`per_item_auc`)
    are broken by item index.

    Parameters
    ----------
    S1, S2 : array_like, shape (p, p)
    n_neighbours : int
        ``1 <= n_neighbours <= p − 1``.

    Returns
    -------
    float in [0, 1]
    """
    S1 = as_factor(S1, "S1")
    p = S1.shape[0]
    if S1.shape != (p, p):
        raise ValueError(f"S1 must be square, got shape {S1.shape}")
    S2 = as_factor(S2, "S2", rows=p, cols=p)
    if isinstance(n_neighbours, bool) or not isinstance(n_neighbours, (int, np.integer)):
        raise TypeError(f"n_neighbours must be an integer, got {type(n_neighbours).__name__}")
    if not 1 <= n_neighbours <= p - 1:
        raise ValueError(f"n_neighbours must be between 1 and p − 1 = {p - 1}, got {n_neighbours}")

    def top(S):
        S = np.round(S, _TIE_DECIMALS)
        np.fill_diagonal(S, -np.inf)
        order = np.argsort(-S, axis=1, kind="stable")[:, :n_neighbours]
        mask = np.zeros((p, p), dtype=bool)
        mask[np.arange(p)[:, None], order] = True
        return mask

    return float(np.mean(np.sum(top(S1) & top(S2), axis=1)) / n_neighbours)
