"""Top-k cosine neighbours of sampled rows, by blocks, never an m x m matrix.

For an embedding matrix ``E`` (m x k), a set of query rows and a list of
k x k' transforms ``M_t``, this finds for every (transform, query) the
``top`` rows with the largest cosine to the query among all other rows of
``E M_t`` (book chapter 9). Memory is O(queries x block) per thread, plus
the transforms x queries x K running candidates and a batch of at most
``_PENDING`` new ones; time O(transforms x queries x m x k).

Two paths give the same answer:

* the exact reference (:func:`top_neighbours` with ``exact=True``): float64
  blocks, candidates kept in order by a stable sort;
* the fast path (default): float32 matrix products and a running threshold
  per query (only entries above the current ``K``-th best are looked at),
  ``K = top + pad`` candidates, which are then re-scored in float64. The
  result is provably the exact one when the float32 threshold plus its
  round-off bound lies below the float64 ``top``-th cosine; queries where
  it does not (near-ties) are recomputed by the reference path.

Speed of the fast path: the matrix products (transforms x queries x m x k
multiply-adds) are nearly all of the work. Each block of rows is
transformed and normalised once for all transforms (one product with
``[M_1 | ... | M_T]``), each block of scores gets one extra pass (its row
maxima) before almost all of it is discarded, and candidates are merged
into the running top-K lists in one sort per ``_PENDING`` of them, not per
block. The transforms are split over one thread per core, each running
its own pass with one BLAS thread (:mod:`cosim_helpers.audit._threads`).

Ties: cosines equal to 12 decimals are ties (the rule of
:mod:`cosim_helpers.metrics`), broken by the smaller row index.

Scaling out: the pass is a map over row blocks of ``E`` followed by a merge
of per-block top-K lists, which is associative. :mod:`cosim_helpers.audit.distributed`
runs it on Dask for catalogues beyond one machine: ``E`` chunked by rows,
this pass on every chunk (queries and ``M_t`` broadcast to the workers
once), the per-chunk candidate lists merged by a tree of tasks, then the
same float64 re-scoring and fallback as here.
"""

from __future__ import annotations

import numbers
import threading

import numpy as np

from ..similarity import normalize_rows
from ._threads import Stopped, thread_map, workers

_DECIMALS = 12
_BLOCK = 1024  # rows of E per matrix product (4 MB of float32 scores for 1,000 queries)
_PENDING = 1 << 20  # candidates collected before a merge (about 20 MB)


def _unit(E, M, dtype=np.float64):
    """Rows of ``E M`` scaled to unit length (zero rows stay zero), as ``dtype``.

    Like :func:`cosim_helpers.similarity.normalize_rows` without its input
    check, which would cost a pass per block (the caller checked ``E``).
    """
    Y = E @ M
    norms = np.sqrt(np.einsum("ij,ij->i", Y, Y))
    np.divide(1.0, norms, out=norms, where=norms > 0)
    Y *= norms[:, None]
    return Y.astype(dtype, copy=False)


def _unit_all(Eb, Mcat, T):
    """``_unit(Eb, M_t, float32)`` for all T transforms at once: one product with ``[M_1 | ... | M_T]``.

    Returns a contiguous (T, rows, k') float32 array (one large matrix product
    instead of T small ones; scaling, rounding and transposing in one pass).
    """
    Y = (Eb @ Mcat).reshape(len(Eb), T, -1)
    norms = np.sqrt(np.einsum("itk,itk->it", Y, Y))
    np.divide(1.0, norms, out=norms, where=norms > 0)
    out = np.empty((T, len(Eb), Y.shape[2]), dtype=np.float32)
    np.multiply(Y, norms[:, :, None], out=out.transpose(1, 0, 2), casting="unsafe")  # scale, round, transpose
    return out


def _self_positions(queries, start, stop):
    """(query position, column in block) of the queries that lie in rows start:stop."""
    inside = np.flatnonzero((queries >= start) & (queries < stop))
    return inside, queries[inside] - start


def _exact(E, queries, M, top, block):
    """Reference: float64, tie rule applied, stable merge (earlier rows first on ties)."""
    nq = len(queries)
    Z = _unit(E[queries], M)
    best_v, best_i = np.empty((nq, 0)), np.empty((nq, 0), dtype=np.int64)
    for start in range(0, E.shape[0], block):
        stop = min(start + block, E.shape[0])
        S = np.round(Z @ _unit(E[start:stop], M).T, _DECIMALS)
        rows, cols = _self_positions(queries, start, stop)
        S[rows, cols] = -np.inf
        cand_v = np.concatenate((best_v, S), axis=1)
        cand_i = np.concatenate((best_i, np.broadcast_to(np.arange(start, stop), S.shape)), axis=1)
        order = np.argsort(-cand_v, axis=1, kind="stable")[:, :top]
        best_v, best_i = np.take_along_axis(cand_v, order, 1), np.take_along_axis(cand_i, order, 1)
    return best_i, best_v


def _merge(best_v, best_i, thr, rows, cols, vals, K):
    """Fold candidates (``rows`` in any order) into each row's running top-K, kept best first."""
    active = np.unique(rows)
    all_r = np.concatenate((np.repeat(active, K), rows))
    all_v = np.concatenate((best_v[active].ravel(), vals))
    all_i = np.concatenate((best_i[active].ravel(), cols))
    # One integer sort key: row, then -value (float32 bits mapped to an order-preserving int32);
    # about twice as fast as np.lexsort((-all_v, all_r)).
    bits = (-all_v).view(np.int32)
    key = (all_r << 32) | ((bits ^ ((bits >> 31) & 0x7FFFFFFF)).astype(np.int64) + 2**31)
    order = np.argsort(key)
    sel = order[np.searchsorted(all_r[order], active)[:, None] + np.arange(K)]
    best_v[active], best_i[active] = all_v[sel], all_i[sel]
    thr[active] = best_v[active, -1]


def _search(E, queries, Ms, K, block, report):
    """float32 threshold pass over all rows for the transforms ``Ms`` at once (one read of E).

    The first ``warm`` rows are searched in one go (a partial sort), which
    gives each query a tight threshold; later blocks are screened against it
    by one pass (a row maximum) over each block of scores. Candidates that
    pass are collected over many blocks and merged into the running top-K
    lists in one sort when there are ``_PENDING`` of them; the threshold used
    in between is older, hence lower, so nothing is missed.
    """
    T, nq, m = len(Ms), len(queries), E.shape[0]
    Z = [_unit(E[queries], M, np.float32) for M in Ms]
    same_width = len({M.shape[1] for M in Ms}) == 1
    Mcat = np.concatenate(Ms, axis=1) if same_width else None
    warm = min(m, max(2 * block, 2 * K))
    best_v = np.empty((T * nq, K), dtype=np.float32)  # row t * nq + q: query q under transform t
    best_i = np.empty((T * nq, K), dtype=np.int64)
    rows_self, cols_self = _self_positions(queries, 0, warm)
    for t, M in enumerate(Ms):
        S = Z[t] @ _unit(E[:warm], M, np.float32).T  # once per transform: not worth batching
        S[rows_self, cols_self] = -np.inf
        sel = np.argpartition(-S, K - 1, axis=1)[:, :K]
        best_v[t * nq:(t + 1) * nq], best_i[t * nq:(t + 1) * nq] = np.take_along_axis(S, sel, 1), sel
    thr = best_v.min(axis=1)
    report(warm)
    buf = np.empty((nq, block), dtype=np.float32)
    pending, n_pending = [], 0
    for start in range(warm, m, block):
        stop = min(start + block, m)
        S = buf[:, :stop - start]
        rows_self, cols_self = _self_positions(queries, start, stop)
        Eb = E[start:stop]
        Y = _unit_all(Eb, Mcat, T) if same_width else [_unit(Eb, M, np.float32) for M in Ms]
        n_pending += _scan_block(S, Z, Y, thr, rows_self, cols_self, start, pending)
        if n_pending >= _PENDING or (pending and stop == m):
            _merge(best_v, best_i, thr, *map(np.concatenate, zip(*pending)), K)
            pending, n_pending = [], 0
        report(stop)
    return best_i.reshape(T, nq, K), thr.reshape(T, nq)


def _scan_block(S, Z, Y, thr, rows_self, cols_self, col0, pending) -> int:
    """One block of the threshold search, every transform: append the candidates above each query's running
    threshold to ``pending`` as (query row, item column, score); returns how many were appended.

    ``S`` is the (queries x block) buffer, ``Z[t]`` the unit queries and ``Y[t]`` the unit block under
    transform t, ``thr`` the running thresholds (row t * nq + q), ``col0`` the block's first column. Shared by
    the in-process search and the Dask chunk search (:mod:`~cosim_helpers.audit.distributed`).
    """
    nq, n = S.shape[0], 0
    for t in range(len(Z)):
        np.matmul(Z[t], Y[t].T, out=S)
        S[rows_self, cols_self] = -np.inf
        th = thr[t * nq:(t + 1) * nq]
        hit = np.flatnonzero(S.max(axis=1) > th)
        if hit.size:
            sub = S if hit.size == nq else S[hit]
            # flatnonzero, then divmod: several times faster than a 2-D nonzero
            r, c = np.divmod(np.flatnonzero(sub > th[hit, None]), sub.shape[1])
            pending.append((hit[r] + t * nq, c + col0, sub[r, c]))
            n += r.size
    return n


def _fast(E, queries, Ms, K, block, progress):
    """:func:`_search` with the transforms split over one thread per core.

    The threads are run by :func:`~cosim_helpers.audit._threads.thread_map`.

    Returns the candidates (T, nq, K) and thresholds (T, nq).
    """
    n = min(workers(), len(Ms))
    groups = [list(range(w, len(Ms), n)) for w in range(n)]
    done, lock, stop = [0] * n, threading.Lock(), threading.Event()

    def run(g):
        def report(rows):
            if stop.is_set():  # another thread failed, or the caller was interrupted
                raise Stopped
            if progress is not None:
                with lock:
                    done[g] = rows
                    progress(min(done), E.shape[0])

        return _search(E, queries, [Ms[t] for t in groups[g]], K, block, report)

    cand = np.empty((len(Ms), len(queries), K), dtype=np.int64)
    thr = np.empty((len(Ms), len(queries)), dtype=np.float32)
    for group, (c, t) in zip(groups, thread_map(run, range(n), stop)):
        cand[group], thr[group] = c, t
    return cand, thr


def _rescore(E, queries, M, idx):
    """float64 cosines of each query to its candidate rows ``idx`` (nq x K)."""
    Z = _unit(E[queries], M)
    C = normalize_rows(E[idx.ravel()] @ M).reshape(idx.shape + (-1,))
    return np.round(np.einsum("qk,qjk->qj", Z, C), _DECIMALS)


def check_queries(queries, m: int) -> np.ndarray:
    """Distinct integer row indices in ``[0, m)``, as an int64 array."""
    queries = np.asarray(queries)
    if queries.ndim != 1 or queries.size == 0:
        raise ValueError(f"queries must be a non-empty 1-D array of row indices, got shape {queries.shape}")
    if not np.issubdtype(queries.dtype, np.integer):
        raise TypeError(f"queries must hold integers, got dtype {queries.dtype}")
    if queries.min() < 0 or queries.max() >= m:
        raise ValueError(f"queries must lie in [0, {m}), got values from {queries.min()} to {queries.max()}")
    if np.unique(queries).size != queries.size:
        raise ValueError("queries must be distinct")
    return queries.astype(np.int64)


def top_neighbours(E, queries, transforms=None, *, top: int = 10, pad: int = 16, block: int = _BLOCK,
                   exact: bool = False, progress=None):
    """Top-``top`` cosine neighbours of each query row under each transform (book chapter 9).

    Parameters
    ----------
    E : numpy.ndarray, shape (m, k)
        Embeddings, one per row (float64, finite: checked by the caller,
        :func:`cosim_helpers.audit.audit`, since a check costs a pass over E).
    queries : array_like of int, shape (nq,)
        Distinct rows whose neighbours are wanted; a row is never its own
        neighbour.
    transforms : sequence of numpy.ndarray, each (k, k'), optional
        The rows of ``E M_t`` are compared; default ``[I]``.
    top : int
        Number of neighbours, ``1 <= top <= m − 1``.
    pad : int
        Extra float32 candidates kept per query before the float64 re-scoring.
    block : int
        Rows of ``E`` per matrix product.
    exact : bool
        Use the float64 reference path for every query.
    progress : callable (done, total), optional
        Called after each block with the number of rows processed.

    Returns
    -------
    idx : numpy.ndarray of int64, shape (T, nq, top)
        Neighbour rows, best first.
    cos : numpy.ndarray, shape (T, nq, top)
        Their cosines (float64, rounded to 12 decimals).
    """
    m = E.shape[0]
    queries = check_queries(queries, m)
    Ms = [np.eye(E.shape[1])] if transforms is None else [np.asarray(M, dtype=np.float64) for M in transforms]
    for name, value, low in (("top", top, 1), ("pad", pad, 0), ("block", block, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if top > m - 1:
        raise ValueError(f"top must be at most m - 1 = {m - 1} (a row is not its own neighbour), got {top}")
    if exact:
        out = [_exact(E, queries, M, top, block) for M in Ms]
        if progress is not None:
            progress(m, m)
        return np.stack([i for i, _ in out]), np.stack([v for _, v in out])
    K = min(top + pad, m - 1)
    cand, thr = _fast(E, queries, Ms, K, block, progress)
    idx = np.empty((len(Ms), len(queries), top), dtype=np.int64)
    cos = np.empty((len(Ms), len(queries), top))
    # Worst-case float32 error of a cosine of unit vectors in k' dimensions (inputs rounded,
    # k' products summed), doubled for safety.
    for t, M in enumerate(Ms):
        v = _rescore(E, queries, M, cand[t])
        order = np.lexsort((cand[t], -v), axis=1)[:, :top]
        idx[t], cos[t] = np.take_along_axis(cand[t], order, 1), np.take_along_axis(v, order, 1)
        err = 2 * (M.shape[1] + 3) * 2.0**-24
        unsure = np.flatnonzero((K < m - 1) & (thr[t] + err >= cos[t][:, -1] - 10.0**-_DECIMALS))
        if unsure.size:
            idx[t][unsure], cos[t][unsure] = _exact(E, queries[unsure], M, top, block)
    return idx, cos
