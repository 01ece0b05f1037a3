"""The audit on Dask: factors chunked by rows, on the workers of a dask.distributed cluster (book chapter 9).

The in-process audit (threads, :mod:`cosim_helpers.audit.neighbours`) needs
the factors in memory. Here they are ``dask.array`` arrays chunked by rows
(from memory, a memory-mapped ``.npy`` or a directory of ``.npy`` chunks,
:mod:`cosim_helpers.audit.lazy`), and the work goes to the cluster of a
:class:`distributed.Client`:

* the statistics (:class:`~cosim_helpers.audit.moments.Moments`: ``MᵀM``,
  column extremes, row-norm deviation) are sums and extremes over row
  chunks, one ``dask.array`` pass per factor, which also checks every chunk
  (NaN or inf: a one-line error naming the chunk);
* the neighbour search maps a float32 top-K search over every row chunk
  (all queries, all transforms; queries and k x k transforms are small and
  broadcast to the workers once) and merges the per-chunk candidates by a
  tree reduction; the candidates are then re-scored in float64 exactly as
  in process, and a query whose float32 margin is too small is searched
  again in float64 (a second mapped pass), so both paths return the same
  neighbour lists (the tie rule of :mod:`cosim_helpers.audit.neighbours`);
* rows needed by index (queries, rank samples, pairs, and the search's
  candidates, at most transforms x queries x K rows whatever the catalogue's
  size) are read directly when the caller holds the factor (in memory, or
  files this process opened), from the cluster otherwise (a dask array).
  Fetching 5 x 10^5 candidate rows through the cluster (a dask fancy index,
  which shuffles) had cost about 10 s of the 10^6-item audit; reading them
  from the memory-mapped files costs well under a second.

Scheduling, retries after a lost worker, spilling to disk and the dashboard
are dask.distributed's own; nothing here schedules. Ctrl-C cancels the
futures of the running pass.
"""

from __future__ import annotations

import contextlib
import logging
import os

import numpy as np

from .lazy import CHUNK_ROWS, FactorSource, read_chunk, read_rows
from .moments import Moments
from .neighbours import (
    _DECIMALS,
    _PENDING,
    _merge,
    _rescore,
    _scan_block,
    _self_positions,
    _unit,
    _unit_all,
    check_queries,
)

_SPLIT = 4  # candidate lists merged per task of the tree reduction (our choice)
_BLOCK = 1024  # rows per matrix product inside a chunk (as in process)


def _dask():
    import dask
    import dask.array as da
    return dask, da


def _as_dask_array(M, name, chunk_rows):
    """A float64 ``dask.array`` of ``M`` chunked by rows, each chunk checked when it is read."""
    dask, da = _dask()
    if isinstance(M, FactorSource):
        src = M.rechunk(chunk_rows) if chunk_rows < CHUNK_ROWS else M
        blocks = [da.from_delayed(dask.delayed(read_chunk, pure=True)(c, dask_key_name=f"read-{name}-{i}-"
                                                                       + dask.base.tokenize(c)),
                                  (c.stop - c.start, M.shape[1]), np.float64) for i, c in enumerate(src.chunks)]
        return da.concatenate(blocks, axis=0)
    if isinstance(M, da.Array):
        if M.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {M.shape}")
        M = M.rechunk({1: -1})  # the caller's row chunks, all columns in each
        return M.map_blocks(_checked_block, name, dtype=np.float64)
    A = np.asarray(M)
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {A.ndim}-D with shape {A.shape}")
    if A.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, got dtype {A.dtype}")
    X = da.from_array(A, chunks=(max(1, min(chunk_rows, A.shape[0])), A.shape[1]))
    return X.map_blocks(_checked_block, name, dtype=np.float64)


def _checked_block(block, name, block_info=None):
    """A chunk of an in-memory or dask input as float64, checked finite (the error names its rows)."""
    out = np.asarray(block, dtype=np.float64)
    if not np.isfinite(out).all():
        lo, hi = block_info[0]["array-location"][0] if block_info else (0, len(out))
        raise ValueError(f"{name} rows {lo}:{hi} contain NaN or inf")
    return out


def _n_workers(client) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def _local_reader(M):
    """Rows by index read in this process, for a factor it holds (in memory or as files), else None."""
    if isinstance(M, FactorSource):
        return lambda rows: read_rows(M, rows)
    if isinstance(M, np.ndarray):
        return lambda rows: np.asarray(M[rows], dtype=np.float64)
    return None


class DaskFactor:
    """A factor matrix as a row-chunked ``dask.array`` on a cluster, with its :class:`Moments`.

    Stands in for the in-memory factor inside :func:`cosim_helpers.audit.audit`:
    ``shape``, row fetching by index (``F[rows]``), a column selection
    (``F[:, cols]``), :attr:`moments` for the statistics and
    :meth:`top_neighbours` for the search.
    """

    def __init__(self, X, client, name, moments=None, local=None):
        self.X, self.client, self.name, self._moments, self._local = X, client, name, moments, local
        self.shape = tuple(int(n) for n in X.shape)
        self.ndim = 2
        self._rows_cache = {}

    @property
    def moments(self) -> Moments:
        """Gram matrix, column extremes and row-norm deviation: one pass over the chunks (cached)."""
        if self._moments is None:
            self._moments = self._compute(_moments_graph(self.X))
        return self._moments

    def weighted(self, w) -> Moments:
        """The moments of ``W^{1/2} F`` (a penalty's row weights ``w``, or one scalar weight): one pass if per row."""
        if not np.ndim(w):
            return self.moments.weighted(w)
        _, da = _dask()
        root = da.from_array(np.sqrt(np.asarray(w, dtype=np.float64)), chunks=(self.X.chunks[0],))
        return self._compute(_moments_graph(self.X * root[:, None]))

    def _compute(self, graph):
        future = self.client.compute(graph)
        return _wait([future])[0]

    def __getitem__(self, key):
        if isinstance(key, tuple):  # F[:, cols]: a column selection, still on the cluster
            rows, cols = key
            if rows != slice(None):
                raise TypeError("only F[:, cols] and F[row_indices] are supported")
            cols = np.asarray(cols)
            local = None if self._local is None else (lambda rows, base=self._local: base(rows)[:, cols])
            return DaskFactor(self.X[:, cols], self.client, self.name, local=local)
        idx = np.asarray(key, dtype=np.int64).ravel()
        cache_key = idx.tobytes()
        if cache_key not in self._rows_cache:
            uniq, inverse = np.unique(idx, return_inverse=True)
            if self._local is not None:
                rows = self._local(uniq)
            else:
                rows = self._compute(self.X[uniq]) if uniq.size else np.empty((0, self.shape[1]))
            if len(self._rows_cache) > 8:
                self._rows_cache.clear()
            self._rows_cache[cache_key] = rows[inverse]
        return self._rows_cache[cache_key].copy()

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self.name} lives on the Dask cluster and is not loaded whole")

    def with_ones(self) -> DaskFactor:
        """``[F | 1]``: one more column of ones (a ranking objective's shift is one more row of M)."""
        _, da = _dask()
        ones = da.ones((self.shape[0], 1), chunks=(self.X.chunks[0], 1))
        local = None if self._local is None else \
            (lambda rows, base=self._local: np.hstack([base(rows), np.ones((len(rows), 1))]))
        return DaskFactor(da.concatenate([self.X, ones], axis=1), self.client, self.name, local=local)

    def top_neighbours(self, queries, transforms, *, top=10, pad=16, exact=False, progress=None):
        """:func:`cosim_helpers.audit.neighbours.top_neighbours` on the cluster; the same result."""
        return _top_neighbours(self, queries, transforms, top=top, pad=pad, exact=exact, progress=progress)


def _moments_graph(X):
    """One ``dask.array`` reduction: per-chunk :meth:`Moments.of`, summed by a tree."""
    dask, _ = _dask()
    parts = [dask.delayed(Moments.of)(b) for b in X.to_delayed().ravel()]
    while len(parts) > 1:
        parts = [dask.delayed(sum)(parts[i:i + _SPLIT][1:], parts[i]) for i in range(0, len(parts), _SPLIT)]
    return parts[0]


def check_factors(P, Q, client, *, chunk_rows=None):
    """Both factors as :class:`DaskFactor` with the checks of :func:`~cosim_helpers.audit.gauges.check_factors`.

    One pass over each factor's chunks computes its :class:`Moments` and
    checks each chunk (finite, real); a chunk that fails is named in the error.
    Rows per chunk: ``chunk_rows``, by default at most
    :data:`~cosim_helpers.audit.lazy.CHUNK_ROWS` and at least four chunks per
    worker (a smaller catalogue still keeps every worker busy).
    """
    from .gauges import check_pair
    out = []
    for M, name in ((P, "P"), (Q, "Q")):
        if not isinstance(M, DaskFactor):
            m = (getattr(M, "shape", None) or np.shape(M) or (0,))[0]
            rows = chunk_rows or min(CHUNK_ROWS, max(_BLOCK, -(-m // (4 * _n_workers(client)))))
            M = DaskFactor(_as_dask_array(M, name, rows), client, name, local=_local_reader(M))
        out.append(M)
    P, Q = out

    def largest(F):
        return lambda: float(max(np.max(np.abs(F.moments.col_min)), np.max(np.abs(F.moments.col_max))))

    check_pair(P.shape, Q.shape, ((P.name, largest(P)), (Q.name, largest(Q))))
    return P, Q


# --- the search -------------------------------------------------------------------------------------------


def _search_chunk(block, start, Z, Mcat, K, queries, floor=None):
    """float32 top-K of every (transform, query) among the rows of one chunk (global row indices).

    The in-process pass (:func:`cosim_helpers.audit.neighbours._search`) on
    one chunk: ``Z`` (T, nq, k') holds the unit query rows under each
    transform, ``Mcat`` the transforms side by side, ``queries`` the query
    rows (never their own neighbours), ``start`` the chunk's first row.
    Without ``floor``, the first rows give each query a threshold by a
    partial sort; later blocks of scores are screened against it (one row
    maximum) and the few entries above it merged in batches.

    ``floor`` (T * nq), if given, is a lower bound of each list's K-th best
    score over the whole catalogue (the K-th best of chunks searched first):
    only scores at or above it can be in the top K, so the lists start empty
    at a threshold just below it, with no partial sort of first rows. A chunk
    alone would start from its own first rows, and so loose a threshold lets
    most blocks through the screen (at 10^6 rows in eight chunks, 2.3 times
    the in-process CPU time). Slots no score filled hold row -1 and a value
    below ``floor``; the chunks that gave the floor hold K real entries at
    or above it, so the merge never keeps such a slot.
    Returns values (T, nq, K') and rows (T, nq, K'), best first; K' = K with a floor, else min(K, rows of
    the chunk).
    """
    T, nq, m = Z.shape[0], Z.shape[1], block.shape[0]
    if floor is not None:
        warm = 0
        thr = np.nextafter(np.asarray(floor, dtype=np.float32), np.float32(-np.inf))
        best_v = np.repeat(thr[:, None], K, axis=1)  # row t * nq + q: query q under transform t
        best_i = np.full((T * nq, K), -1, dtype=np.int64)
    else:
        K = min(K, m)
        warm = min(m, max(2 * _BLOCK, 2 * K))
        best_v = np.empty((T * nq, K), dtype=np.float32)
        best_i = np.empty((T * nq, K), dtype=np.int64)
        Y = _unit_all(block[:warm], Mcat, T)
        r, c = _self_positions(queries, start, start + warm)
        for t in range(T):
            S = Z[t] @ Y[t].T
            S[r, c] = -np.inf
            sel = np.argpartition(-S, K - 1, axis=1)[:, :K]
            best_v[t * nq:(t + 1) * nq], best_i[t * nq:(t + 1) * nq] = np.take_along_axis(S, sel, 1), sel + start
        thr = best_v.min(axis=1)
    buf = np.empty((nq, _BLOCK), dtype=np.float32)
    pending, n_pending = [], 0
    for lo in range(warm, m, _BLOCK):
        hi = min(lo + _BLOCK, m)
        S = buf[:, :hi - lo]
        r, c = _self_positions(queries, start + lo, start + hi)
        Y = _unit_all(block[lo:hi], Mcat, T)
        n_pending += _scan_block(S, Z, Y, thr, r, c, start + lo, pending)
        if n_pending >= _PENDING or (pending and hi == m):
            _merge(best_v, best_i, thr, *map(np.concatenate, zip(*pending)), K)
            pending, n_pending = [], 0
    order = np.argsort(-best_v, axis=1, kind="stable")
    return (np.take_along_axis(best_v, order, 1).reshape(T, nq, K),
            np.take_along_axis(best_i, order, 1).reshape(T, nq, K))


def _merge_top(parts, K):
    """Merge candidate lists (values, rows) of several chunks into one top-K per (transform, query)."""
    v = np.concatenate([p[0] for p in parts], axis=2)
    i = np.concatenate([p[1] for p in parts], axis=2)
    K = min(K, v.shape[2])
    sel = np.argpartition(-v, K - 1, axis=2)[:, :, :K]
    v, i = np.take_along_axis(v, sel, 2), np.take_along_axis(i, sel, 2)
    order = np.argsort(-v, axis=2, kind="stable")
    return np.take_along_axis(v, order, 2), np.take_along_axis(i, order, 2)


def _exact_chunk(block, start, Zs, Ms, groups, top):
    """float64 reference top-``top`` in one chunk: rounded cosines, ties to the smaller row (as in process).

    ``groups`` lists (transform, query rows) pairs; ``Zs`` their unit query rows.
    """
    out = []
    for (t, queries), Z in zip(groups, Zs):
        S = np.round(Z @ _unit(block, Ms[t]).T, _DECIMALS)
        r, c = _self_positions(queries, start, start + block.shape[0])
        S[r, c] = -np.inf
        n = min(top, S.shape[1])
        order = np.argsort(-S, axis=1, kind="stable")[:, :n]  # stable: the smaller row first on ties
        out.append((np.take_along_axis(S, order, 1), order + start))
    return out


def _merge_exact(parts, top):
    out = []
    for pieces in zip(*parts):
        v = np.concatenate([p[0] for p in pieces], axis=1)
        i = np.concatenate([p[1] for p in pieces], axis=1)
        order = np.lexsort((i, -v), axis=1)[:, :top]
        out.append((np.take_along_axis(v, order, 1), np.take_along_axis(i, order, 1)))
    return out


def _wait(futures):
    """Results of ``futures``; Ctrl-C (or any error) cancels them on the cluster."""
    try:
        return [f.result() for f in futures]
    except BaseException:
        with contextlib.suppress(Exception):
            futures[0].client.cancel(futures)
        raise


def _map_reduce(F, func, args, merge, merge_args, progress=None, done=()):
    """``func`` on every row chunk of ``F`` (broadcast ``args``), merged by a tree of ``merge`` tasks.

    ``done`` holds futures of ``func`` on the first ``len(done)`` chunks,
    submitted earlier (the search's first round, :func:`_top_neighbours`):
    they join the tree as they are. The whole tree is submitted at once (the
    scheduler runs each merge as soon as its inputs exist); a chunk's result
    is let go once it is done, so the workers hold only the candidates not
    merged yet. ``progress(rows done, rows)`` follows the chunks. Ctrl-C (or
    an error) cancels what is left.
    """
    from distributed import as_completed
    client = F.client
    dask, _ = _dask()
    sizes = F.X.chunks[0]
    starts = _chunk_starts(F)
    shared = [client.scatter(a, broadcast=True) if isinstance(a, (np.ndarray, list)) else a for a in args]
    n0 = len(done)
    leaves = client.compute([dask.delayed(func)(b, int(s), *shared)
                             for b, s in zip(F.X.to_delayed().ravel()[n0:], starts[n0:])])
    rows = {f.key: n for f, n in zip(leaves, sizes[n0:])}
    level = [*done, *leaves]
    while len(level) > 1:
        level = [client.submit(_merge_group, level[i:i + _SPLIT], merge, *merge_args)
                 for i in range(0, len(level), _SPLIT)]
    root, pending = level[0], set(leaves)
    del leaves, level, done
    try:
        count = int(sum(sizes[:n0]))
        for future in as_completed(list(pending)):
            pending.discard(future)
            count += rows[future.key]
            if progress is not None:
                progress(count, F.shape[0])
            del future
        return root.result()
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel([*pending, root])
        raise


def _first_round(F, args, K, progress):
    """The search on the first chunks, one per worker, at once: their futures and the floor they give.

    Every score of a list's true top-K is at least the K-th best of any one
    chunk (each chunk is part of the catalogue), so the largest K-th best of
    these chunks is a floor from which every other chunk starts its screen
    (:func:`_search_chunk`). The first round's results are kept and join
    the merge: no chunk is searched twice, and no worker waits while another
    computes the floor alone. Returns ``((), None)`` for a single chunk.
    """
    dask, _ = _dask()
    n_chunks = len(F.X.chunks[0])
    n = min(_n_workers(F.client), n_chunks)
    if n_chunks == 1 or n == n_chunks:
        return (), None
    blocks = F.X.to_delayed().ravel()[:n]
    starts = _chunk_starts(F)[:n]
    futures = F.client.compute([dask.delayed(_search_chunk)(b, int(s), *args) for b, s in zip(blocks, starts)])
    values = _wait(futures)
    if progress is not None:
        progress(int(sum(F.X.chunks[0][:n])), F.shape[0])
    full = [v[:, :, -1].reshape(-1) for v, _ in values if v.shape[2] == K]
    return futures, (np.max(full, axis=0) if full else None)


def _chunk_starts(F):
    """The first row of each of ``F``'s row chunks."""
    return np.concatenate(([0], np.cumsum(F.X.chunks[0])))[:-1]


def _merge_group(parts, merge, *args):
    return merge(parts, *args)


def _top_neighbours(F, queries, transforms, *, top, pad, exact, progress):
    """The search of :func:`~cosim_helpers.audit.neighbours.top_neighbours` on the cluster."""
    m = F.shape[0]
    queries = check_queries(queries, m)
    Ms = [np.asarray(M, dtype=np.float64) for M in transforms]
    if top > m - 1:
        raise ValueError(f"top must be at most m - 1 = {m - 1} (a row is not its own neighbour), got {top}")
    Eq = F[queries]
    if len({M.shape[1] for M in Ms}) != 1:
        raise ValueError("the transforms of one side must have the same number of columns")
    T, nq = len(Ms), len(queries)
    idx = np.empty((T, nq, top), dtype=np.int64)
    cos = np.empty((T, nq, top))
    if exact:
        unsure = [(t, np.arange(nq)) for t in range(T)]
    else:
        K = min(top + pad, m - 1)
        Z = np.stack([_unit(Eq, M, np.float32) for M in Ms])
        Mcat = np.concatenate(Ms, axis=1)
        done, floor = _first_round(F, (Z, Mcat, K, queries), K, progress)
        best_v, cand = _map_reduce(F, _search_chunk, (Z, Mcat, K, queries, floor), _merge_top, (K,), progress,
                                   done)
        thr = best_v[:, :, -1]
        rows = np.unique(cand)
        R = F[rows]
        unsure = []
        for t, M in enumerate(Ms):
            # The in-process re-scoring (float64, rounded), on the fetched candidate rows.
            local = np.searchsorted(rows, cand[t])
            v = _rescore(np.vstack([Eq, R]), np.arange(nq), M, local + nq)
            order = np.lexsort((cand[t], -v), axis=1)[:, :top]
            idx[t], cos[t] = np.take_along_axis(cand[t], order, 1), np.take_along_axis(v, order, 1)
            err = 2 * (M.shape[1] + 3) * 2.0**-24
            bad = np.flatnonzero((K < m - 1) & (thr[t] + err >= cos[t][:, -1] - 10.0**-_DECIMALS))
            if bad.size:
                unsure.append((t, bad))
    if unsure:
        groups = [(t, queries[q]) for t, q in unsure]
        Zs = [_unit(Eq[q], Ms[t]) for t, q in unsure]
        merged = _map_reduce(F, _exact_chunk, (Zs, Ms, groups, top), _merge_exact, (top,),
                             progress if exact else None)
        for (t, q), (v, i) in zip(unsure, merged):
            idx[t][q], cos[t][q] = i, v
    return idx, cos


# --- the cluster ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def local_client(n_workers: int, *, memory_limit="auto", quiet: bool = True):
    """A :class:`distributed.Client` of a ``LocalCluster`` of ``n_workers`` processes, closed on exit.

    One thread per worker (the search's matrix products are single-threaded
    per task, as in process). ``quiet`` keeps dask's start-up and shut-down
    logs (ports, addresses) off the terminal and out of notebook outputs.
    """
    from distributed import Client, LocalCluster
    key, previous = "DASK_LOGGING__DISTRIBUTED", os.environ.get("DASK_LOGGING__DISTRIBUTED")
    if quiet:  # worker processes, also those restarted after a crash, read their log level from the environment
        os.environ[key] = "error"
    try:
        with _quiet_logs(quiet):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   memory_limit=memory_limit, dashboard_address=":0")
            client = Client(cluster)
        try:
            yield client
        finally:
            with _quiet_logs(quiet):
                client.close()
                cluster.close()
    finally:
        if quiet and previous is None:
            os.environ.pop(key, None)
        elif quiet:
            os.environ[key] = previous


@contextlib.contextmanager
def _quiet_logs(quiet):
    if not quiet:
        yield
        return
    loggers = [logging.getLogger(n) for n in ("distributed", "distributed.scheduler", "distributed.nanny",
                                               "distributed.worker", "distributed.core", "distributed.http")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


# --- the command line -------------------------------------------------------------------------------------


def open_input(path: str, name: str, load_matrix):
    """A ``.npy`` file or a directory of ``.npy`` chunks opened lazily; other formats loaded by ``load_matrix``."""
    from pathlib import Path

    from .lazy import open_factor
    if Path(path).is_dir() or path.endswith(".npy"):
        return open_factor(path, name)
    return load_matrix(path, name)


@contextlib.contextmanager
def cli_client(scheduler: str | None, n_workers: int | None, stream):
    """The client of ``cosim-audit --scheduler ADDRESS`` or ``--dask-workers N``; the dashboard link on ``stream``."""
    if scheduler is not None:
        from distributed import Client
        with _quiet_logs(True):
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            stream.write(f"cosim-audit: Dask cluster at {scheduler}, dashboard {client.dashboard_link}\n")
            yield client
        finally:
            with _quiet_logs(True):
                client.close()
        return
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"--dask-workers must be an integer >= 1, got {n_workers!r}")
    with local_client(n_workers) as client:
        stream.write(f"cosim-audit: LocalCluster of {n_workers} worker processes, dashboard "
                     f"{client.dashboard_link}\n")
        yield client
