"""How well an item-item similarity matrix recovers known clusters (chapters 6, 7, 10).

The paper judges Figure 1 by eye. We add a number: for each item, rank all
other items by similarity and ask how often a same-cluster item is ranked
above an other-cluster item, i.e. the ROC AUC of that ranking. Averaged over
items this is :func:`cluster_recovery`: 1 is perfect, 0.5 is chance (a
random or constant similarity), below 0.5 is worse than chance.

The AUC weighs every pair of the ranking alike, so it mostly measures the
long tail of each row. What a user of "the ten most similar items" sees is
the head: :func:`neighbour_precision` (precision@10 by default) is the share
of each item's nearest neighbours that lie in its own cluster. The two can
disagree a lot (chapter 7): the book reports both.

Tie rule (ours): two similarities of one row are tied when they agree to
:data:`TIE_DECIMALS` (12) decimal places *relative to the matrix's scale*
(``S`` divided by the power of two just above ``max |S|``, then rounded), so
that round-off, which differs between BLAS builds and thread counts, never
decides an order, and ``S`` and ``c·S`` score the same for any ``c > 0``.
Ties count one half.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.stats

from ._validation import as_square, check_int, check_labels

#: Similarities of one row that agree to this many decimals, relative to the
#: matrix's scale, are ties.
TIE_DECIMALS = 12

_UNDEFINED = "labels need at least two clusters and one cluster with two items"


def _tie_factor(S) -> float:
    """``10^12 / 2^e``, ``2^e`` the power of two just above ``max |S|`` (exact: a power of two times 10^12)."""
    top = max(float(S.max()), -float(S.min()))
    if top == 0.0:
        return 1.0
    mantissa, e = np.frexp(top)
    if mantissa == 0.5:  # top is a power of two itself
        e -= 1
    return float(np.ldexp(10.0**TIE_DECIMALS, -int(e)))


def _tie_keys(S, factor, dtype=np.float64):
    """Integer-valued keys ``rint(S · factor)``: equal keys are ties.

    With :func:`_tie_factor` the keys order and tie exactly like
    ``round(S / 2^e, 12)``: a cosine matrix (``max |S| = 1``) is rounded as
    it is, any other scale is first brought to (1/2, 1]. Computed a block of
    rows at a time (cache-sized temporaries), converted to ``dtype``.
    """
    out = np.empty(S.shape, dtype=dtype)
    tmp = np.empty((min(128, S.shape[0]), S.shape[1]))
    for a in range(0, S.shape[0], tmp.shape[0]):
        t = tmp[: S[a:a + tmp.shape[0]].shape[0]]
        np.multiply(S[a:a + t.shape[0]], factor, out=t)
        np.rint(t, out=t)
        np.add(t, 0.0, out=t)  # -0.0 -> 0.0 (the fast path compares bit patterns)
        out[a:a + t.shape[0]] = t
    return out


def _rank_aucs(K, same, rows):
    """AUCs by mid-ranks (the definition); NaN where undefined.

    Row j of ``K`` (tie keys) and of ``same`` (same-cluster mask) belong to item ``rows[j]``.
    """
    p = K.shape[1]
    out = np.empty(len(rows))
    for j, i in enumerate(rows):
        keep = np.arange(p) != i
        ranks = scipy.stats.rankdata(K[j, keep])
        pos = same[j, keep]
        n_pos, n_neg = int(pos.sum()), int((~pos).sum())
        if n_pos == 0 or n_neg == 0:
            out[j] = np.nan
        else:
            out[j] = (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return out


_ROWS = 64  # rows per block in the fast path
_TOP_POSITIVE = np.array([0x7F7FFFFF], dtype=np.int32).view(np.float32)[0]  # float32 max, last bit 1


def _fast_aucs(S, factor, same, start, stop):
    """AUCs of the rows ``start:stop`` with one float32 sort per row; rows that could tie fall back to ranks.

    Each key is rounded to float32 (monotone, so the order is kept) and its
    last mantissa bit is replaced by the label (1 = same cluster), so that
    one ``np.sort`` (vectorised) orders a row and carries the labels along.
    After sorting, a same-cluster item's numerator ``#{other-cluster items
    below it}`` follows from its position. Two keys of different labels that are
    equal up to the label bit may be tied, or ordered by the label bit only:
    such rows (rare unless the matrix has genuine ties) are computed exactly
    by :func:`_rank_aucs`. The item itself sorts last (key: float32 max).
    """
    p = S.shape[0]
    positions = np.arange(p, dtype=np.int32 if p < 46_000 else np.int64)  # Σ t < p²/2 fits
    U = np.empty(stop - start, dtype=np.int64)
    suspect = np.empty(stop - start, dtype=bool)
    for a in range(start, stop, _ROWS):  # blocks of rows: every pass stays in the cache
        b = min(a + _ROWS, stop)
        keys = _tie_keys(S[a:b], factor, np.float32)  # float32 rounding is monotone: order kept
        bits = keys.view(np.int32)
        np.bitwise_and(bits, np.int32(-2), out=bits)
        np.bitwise_or(bits, same[a:b], out=bits)
        keys[np.arange(b - a), np.arange(a, b)] = _TOP_POSITIVE
        keys.sort(axis=1)
        # Two neighbours that differ only in the label bit: equal keys (up to
        # float32) with different labels, which only the exact path can order.
        suspect[a - start:b - start] = np.any((bits[:, 1:] ^ bits[:, :-1]) == 1, axis=1)
        np.bitwise_and(bits, 1, out=bits)
        U[a - start:b - start] = bits @ positions
    n_pos = np.count_nonzero(same[start:stop], axis=1) - 1
    n_neg = p - 1 - n_pos
    # The j-th same-cluster key (0-based, the item itself included, last) at
    # position t has t − j other-cluster keys below it: U = Σ t − P(P−1)/2 − n_neg.
    total = n_pos + 1
    U -= total * (total - 1) // 2 + n_neg
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = U / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    if suspect.any():
        bad = np.arange(start, stop)[suspect]
        auc[suspect] = _rank_aucs(_tie_keys(S[bad], factor), same[bad], bad)
    return auc


_POOL = None


def _pool():
    """A small thread pool (numpy's sorts release the GIL, so row chunks are scored in parallel)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                   thread_name_prefix="cosim-metrics")
    return _POOL


class ClusterScorer:
    """:func:`cluster_recovery` against fixed labels, for many matrices in one item order.

    The explorers (:mod:`~cosim_helpers.widgets`) score a new matrix at every
    control change; this keeps the label comparison and scores large
    matrices in parallel row chunks (each row's AUC does not depend on the
    chunking, so neither does the result).

    Parameters
    ----------
    labels : array_like of int, shape (p,)
        Cluster of each item, in the item order of the matrices to score.
    """

    def __init__(self, labels):
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be 1-D (one label per item), got shape {labels.shape}")
        self.labels = check_labels(labels, labels.shape[0], "labels")
        self._same = self.labels[:, None] == self.labels[None, :]
        if not np.any((self._same.sum(axis=1) > 1) & (self._same.sum(axis=1) < len(self.labels))):
            raise ValueError(_UNDEFINED)

    def per_item(self, S) -> np.ndarray:
        """Per-item AUCs of ``S`` (as :func:`per_item_auc`, computed fast)."""
        p = len(self.labels)
        S = as_square(S, "S", p)
        factor = _tie_factor(S)
        if p >= 300 and (os.cpu_count() or 1) > 1:
            half = p // 2
            chunks = [(0, half), (half, p)]
            return np.concatenate(list(_pool().map(lambda ab: _fast_aucs(S, factor, self._same, *ab), chunks)))
        return _fast_aucs(S, factor, self._same, 0, p)

    def __call__(self, S) -> float:
        """:func:`cluster_recovery` of ``S``."""
        return float(np.nanmean(self.per_item(S)))


def _check_similarity(S, labels):
    """A finite square item-item matrix and one integer label per item, or a clear error."""
    S = as_square(S, "S")
    return S, check_labels(labels, S.shape[0], "labels")


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
        left out) from mid-ranks, ties counting one half (see the module's
        tie rule). Items whose cluster has no other member, or that are in
        the only cluster, get NaN.
    """
    S, labels = _check_similarity(S, labels)
    same = labels[:, None] == labels[None, :]
    return _rank_aucs(_tie_keys(S, _tie_factor(S)), same, np.arange(S.shape[0]))


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
        Mean of :func:`per_item_auc` over the items where it is defined,
        computed with one vectorised float32 sort per row (exact: rows where
        float32 could merge or misorder two keys are recomputed by ranks), so
        that an explorer can recompute it for 1,000 items within its time
        budget. The tests check it against :func:`per_item_auc`. Scale-free
        (see the module's tie rule).

    Raises
    ------
    ValueError
        If it is defined for no item (one cluster only, or all singletons).
    """
    S, labels = _check_similarity(S, labels)
    return ClusterScorer(labels)(S)


def neighbour_overlap(S1, S2, n_neighbours: int = 10) -> float:
    """Mean share of each item's top neighbours that two similarity matrices agree on.

    For item i, take its ``n_neighbours`` most similar other items under
    ``S1`` and under ``S2`` (the item itself is left out) and count the
    items in both lists; the result is that count divided by
    ``n_neighbours``, averaged over items. 1 means every item keeps exactly
    its neighbours; two unrelated random similarities of p items score about
    ``n_neighbours / (p − 1)``. Book chapter 11 uses it to measure how far a
    change of gauge, optimiser or seed moves "the 10 most similar items".
    Equal similarities (the relative tie rule of :func:`per_item_auc`)
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
    S1 = as_square(S1, "S1")
    p = S1.shape[0]
    S2 = as_square(S2, "S2", size=p)
    n_neighbours = check_int(n_neighbours, "n_neighbours")
    if not 1 <= n_neighbours <= p - 1:
        raise ValueError(f"n_neighbours must be between 1 and p − 1 = {p - 1}, got {n_neighbours}")

    def top(S):
        S = _tie_keys(S, _tie_factor(S))
        np.fill_diagonal(S, -np.inf)
        order = np.argsort(-S, axis=1, kind="stable")[:, :n_neighbours]
        mask = np.zeros((p, p), dtype=bool)
        mask[np.arange(p)[:, None], order] = True
        return mask

    return float(np.mean(np.sum(top(S1) & top(S2), axis=1)) / n_neighbours)


def per_item_precision(S, labels, n_neighbours: int = 10) -> np.ndarray:
    """Share of each item's ``n_neighbours`` most similar other items that lie in its cluster.

    Row i of ``S`` ranks the items ``j != i``; the result for item i is the
    number of same-cluster items among the top ``n_neighbours`` of that
    ranking, divided by ``n_neighbours`` (precision@n). Ties (the module's
    relative tie rule) are broken uniformly at random *in expectation*: if
    the cut-off falls inside a group of tied items, each of them counts with
    the share of the group's places that are left, so the result does not
    depend on the order of the items.

    Parameters
    ----------
    S : array_like, shape (p, p)
        Item-item similarity; row i scores every item against item i.
    labels : array_like of int, shape (p,)
        Cluster of each item.
    n_neighbours : int
        ``1 <= n_neighbours <= p − 1``.

    Returns
    -------
    numpy.ndarray, shape (p,)
        In ``[0, 1]``; NaN where :func:`per_item_auc` is NaN (an item whose
        cluster has no other member, or when all items share one cluster).
    """
    S, labels = _check_similarity(S, labels)
    p = S.shape[0]
    n_neighbours = check_int(n_neighbours, "n_neighbours")
    if not 1 <= n_neighbours <= p - 1:
        raise ValueError(f"n_neighbours must be between 1 and p − 1 = {p - 1}, got {n_neighbours}")
    factor = _tie_factor(S)
    out = np.empty(p)
    for a in range(0, p, _ROWS):
        b = min(a + _ROWS, p)
        K = _tie_keys(S[a:b], factor)
        K[np.arange(b - a), np.arange(a, b)] = -np.inf  # the item itself is never a neighbour
        same = labels[a:b, None] == labels[None, :]
        same[np.arange(b - a), np.arange(a, b)] = False
        # the n-th largest key of each row: everything above it is in, the tied group shares the rest
        cut = -np.partition(-K, n_neighbours - 1, axis=1)[:, n_neighbours - 1:n_neighbours]
        above, tied = K > cut, K == cut
        n_above = above.sum(axis=1)
        hits = (above & same).sum(axis=1) + (n_neighbours - n_above) * (tied & same).sum(axis=1) / tied.sum(axis=1)
        out[a:b] = hits / n_neighbours
    n_same = np.bincount(labels)[labels] - 1
    out[(n_same == 0) | (n_same == p - 1)] = np.nan
    return out


def neighbour_precision(S, labels, n_neighbours: int = 10) -> float:
    """Mean precision@``n_neighbours`` of a similarity matrix against known clusters.

    The head-of-the-ranking companion of :func:`cluster_recovery` (book
    chapters 6, 7 and 10): the mean over items of :func:`per_item_precision`,
    i.e. the average share of "the ten most similar items" that are in the
    item's own cluster. 1 is perfect; a similarity that ignores the clusters
    scores, in expectation, the mean over items of ``(|cluster| − 1)/(p − 1)``
    (about 0.2 for five equal clusters), not 0.5.

    Parameters
    ----------
    S : array_like, shape (p, p)
    labels : array_like of int, shape (p,)
    n_neighbours : int
        Default 10.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If it is defined for no item (one cluster only, or all singletons).
    """
    values = per_item_precision(S, labels, n_neighbours)
    if np.all(np.isnan(values)):
        raise ValueError(_UNDEFINED)
    return float(np.nanmean(values))
