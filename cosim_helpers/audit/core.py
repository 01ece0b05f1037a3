"""The audit itself: how much does the cosine geometry depend on the gauge? (book chapter 9)."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.stats

from .._validation import as_data_matrix, as_factor, as_generator
from ..metrics import cluster_recovery
from ..similarity import cosine_similarity
from ._threads import thread_map
from .balance import BALANCE_TOL, balance
from .gauges import Gauge, _score_error, align, check_factors, gauge_family, identity_gauge
from .neighbours import _unit, top_neighbours
from .report import AuditResult, SideAudit, judge

_DECIMALS = 12


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_labels(labels, rows, name):
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.shape != (rows,):
        raise ValueError(f"{name} must have one entry per row ({rows}), got shape {labels.shape}")
    return labels


def _jaccard(idx, ref):
    """Per-query Jaccard overlap of two (nq, top) neighbour lists."""
    inter = (idx[:, :, None] == ref[:, None, :]).sum(axis=(1, 2))
    return inter / (2 * idx.shape[1] - inter)


def _row_spearman(E, queries, cols, Ms):
    """Mean over queries of the Spearman correlation between each transform's and the given cosine row.

    Each row ranks ``len(cols) − 1`` of the ``cols``: the query itself is
    left out, and a row that does not contain it drops the last column, so
    that every row has the same length (with ``cols`` = all rows the rows
    are exact). Cosines equal to 12 decimals are ties (mid-ranks). A row that
    is constant under either gauge has no ranking and is skipped (NaN if all are).
    """
    nr = len(cols)
    own = cols[None, :] == queries[:, None]
    drop = np.where(own.any(axis=1), own.argmax(axis=1), nr - 1)
    J = np.arange(nr - 1)[None, :]
    J = J + (J >= drop[:, None])

    def centred_ranks(M):
        C = np.round(cosine_similarity(E[queries] @ M, E[cols] @ M), _DECIMALS)
        R = scipy.stats.rankdata(np.take_along_axis(C, J, 1), axis=1)
        return R - R.mean(axis=1, keepdims=True)

    ranks = thread_map(centred_ranks, Ms)
    out = []
    for R in ranks[1:]:
        denom = np.sqrt(np.sum(ranks[0] ** 2, axis=1) * np.sum(R**2, axis=1))
        rho = np.full(len(queries), np.nan)
        np.divide(np.sum(ranks[0] * R, axis=1), denom, out=rho, where=denom > 0)
        out.append(np.nanmean(rho) if np.any(np.isfinite(rho)) else np.nan)
    return np.asarray(out)


def _pair_cosines(E, i, j, Ms):
    return np.array([float(np.dot(*_unit(E[[i, j]], M))) for M in Ms])


def _audit_side(name, E, Ms, family, *, labels, top, n_queries, rank_sample, pair, exact, rng, progress):
    rows = E.shape[0]
    if rows < 2:
        raise ValueError(f"the {name} side needs at least 2 rows to have neighbours, got {rows}")
    top = min(top, rows - 1)
    nq = min(n_queries, rows)
    queries = np.arange(rows) if nq == rows else np.sort(rng.choice(rows, nq, replace=False))
    report = None if progress is None else (lambda done, total: progress(name, done, total))
    idx, _ = top_neighbours(E, queries, Ms, top=top, exact=exact, progress=report)
    jac = np.stack([_jaccard(idx[t], idx[0]) for t in range(1, len(Ms))])
    nn_changed = np.mean(idx[1:, :, 0] != idx[0, :, 0], axis=1)
    cols = np.arange(rows) if rows <= rank_sample else np.sort(rng.choice(rows, rank_sample, replace=False))
    spearman = _row_spearman(E, queries, cols, Ms)
    if pair is None:
        pair = (int(queries[0]), int(idx[0, 0, 0]))
    else:
        if (len(pair) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair)
                or not all(0 <= v < rows for v in pair) or pair[0] == pair[1]):
            raise ValueError(f"pair must be two different row indices in [0, {rows}), got {pair!r}")
        pair = (int(pair[0]), int(pair[1]))
    nearest = idx[0, :, 0]
    to_nearest = np.stack([np.einsum("qk,qk->q", _unit(E[queries], M), _unit(E[nearest], M)) for M in Ms])
    recovery = None
    if labels is not None:
        recovery = np.full(len(Ms), np.nan)
        for t, M in enumerate(Ms):
            try:
                recovery[t] = cluster_recovery(cosine_similarity(E[queries] @ M), labels[queries])
            except ValueError:  # the sample holds one cluster only, or singletons
                pass
    return SideAudit(name, rows, queries, top, tuple(g.label for g in family[1:]), tuple(g.kind for g in family[1:]),
                     nn_changed, jac.mean(axis=1), jac, spearman, pair, _pair_cosines(E, *pair, Ms),
                     to_nearest.max(axis=0) - to_nearest.min(axis=0), recovery)


def audit(P, Q, *, labels=None, user_labels=None, top: int = 10, n_queries: int = 1000, n_transforms: int = 20,
          max_cond: float = 10.0, alpha_max: float = 0.5, pair=None, sides=("items", "users"),
          rank_sample: int = 1000, lam: float | None = None, tol: float = 1e-6, balance_tol: float = BALANCE_TOL,
          exact: bool = False, gauges=None, seed=0, progress=None) -> AuditResult:
    """Audit how much the cosine geometry of a dot-product model depends on its gauge (book chapter 9).

    The model scores user (query) u against item i by ``p_u · q_i``; for the
    paper's model (Section 2) use :func:`audit_model`, or ``P = XA``,
    ``Q = B``. Every transform of :func:`~cosim_helpers.audit.gauges.gauge_family`
    keeps all scores (checked on a sample, to ``tol``) but may move the
    cosines; this reports by how much, per side, and whether weight decay
    would have chosen these factors (:func:`~cosim_helpers.audit.balance.balance`).

    Parameters
    ----------
    P : array_like, shape (n, k)
        User / query factors.
    Q : array_like, shape (m, k)
        Item factors.
    labels, user_labels : array_like, shape (m,) / (n,), optional
        Known clusters of the items / users: adds the range of
        :func:`~cosim_helpers.metrics.cluster_recovery` on the sampled rows.
    top : int
        Neighbours per query for the Jaccard overlap (capped at rows − 1).
    n_queries : int
        Rows sampled per side; with at least as many as there are rows,
        every row is a query and the statistics are exact.
    n_transforms : int
        Size of the gauge family (>= 3).
    max_cond : float
        Condition-number bound of the random ``D`` and ``G``.
    alpha_max : float
        Range ``[−alpha_max, alpha_max]`` of the power family ``D = dMat(s^α)``.
    pair : (int, int), optional
        Item pair whose cosine range is reported; default: the first sampled
        item and its nearest neighbour. (Users always use the default.)
    sides : sequence of {"items", "users"}
        Which sides to audit (the balance concerns both).
    rank_sample : int
        Columns per row for the Spearman correlation of row rankings.
    lam : float, optional
        Weight-decay ``λ``, to express the penalty saved in absolute terms.
    tol : float
        Largest accepted relative score change of a transform; transforms
        above it are rejected (listed in the result), never used.
    balance_tol : float
        Saved-penalty fraction below which the factors count as balanced.
    exact : bool
        Use the float64 reference neighbour search throughout.
    gauges : sequence of Gauge, optional
        Your own family (e.g. :func:`~cosim_helpers.audit.gauges.general_gauge`
        of a G you care about) instead of :func:`~cosim_helpers.audit.gauges.gauge_family`;
        then ``n_transforms``, ``max_cond`` and ``alpha_max`` are not used.
    seed : int, None or numpy.random.Generator
    progress : callable (side, done, total), optional
        Called as the neighbour search advances (the CLI prints it).

    Returns
    -------
    AuditResult
    """
    P, Q = check_factors(P, Q)
    top, n_queries = _check_int(top, "top", 1), _check_int(n_queries, "n_queries", 1)
    rank_sample = _check_int(rank_sample, "rank_sample", 2)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < np.inf:
        raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    sides = tuple(sides)
    if not sides or any(s not in ("items", "users") for s in sides) or len(set(sides)) != len(sides):
        raise ValueError(f"sides must be a non-empty selection of 'items' and 'users', got {sides!r}")
    labels = _check_labels(labels, Q.shape[0], "labels")
    user_labels = _check_labels(user_labels, P.shape[0], "user_labels")
    rng = as_generator(seed)
    alignment = align(P, Q)
    if gauges is None:
        family = gauge_family(P, Q, n_transforms, max_cond=max_cond, alpha_max=alpha_max, seed=rng,
                              alignment=alignment)
    else:
        family = list(gauges)
        k = P.shape[1]
        if not family or not all(isinstance(g, Gauge) and g.M_P.shape[0] == k and g.M_Q.shape[0] == k
                                 for g in family):
            raise ValueError(f"gauges must be a non-empty sequence of Gauge with k = {k} rows in M_P and M_Q")
    errors = [_score_error(P, Q, g, seed=i) for i, g in enumerate(family)]
    rejected = tuple(g.label for g, e in zip(family, errors) if not e <= tol)
    family = [identity_gauge(P.shape[1])] + [g for g, e in zip(family, errors) if e <= tol]
    if len(family) < 2:
        raise ValueError("no transform kept the scores to within tol: the factors are too ill-conditioned")
    bal = balance(P, Q, lam=lam, tol=balance_tol, alignment=alignment)
    setup = {"items": (Q, "M_Q", labels, pair), "users": (P, "M_P", user_labels, None)}
    results = {}
    for name in sides:
        E, attr, lab, pr = setup[name]
        side = _audit_side(name, E, [getattr(g, attr) for g in family], family, labels=lab, top=top,
                           n_queries=n_queries, rank_sample=rank_sample, pair=pr, exact=exact, rng=rng,
                           progress=progress)
        verdict, why = judge(side, bal)
        results[name] = SideAudit(**{**side.__dict__, "verdict": verdict, "explanation": why})
    return AuditResult(results, bal, len(family) - 1, max(e for e in errors if e <= tol), tol, rejected,
                       seed if isinstance(seed, int) else None)


def audit_model(X, A, B, **kwargs) -> AuditResult:
    """:func:`audit` of the paper's model ``X ≈ XABᵀ``: users ``P = XA``, items ``Q = B`` (Section 2).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A, B : array_like, shape (p, k)
    **kwargs
        Passed to :func:`audit`.
    """
    X = as_data_matrix(X)
    A = as_factor(A, "A", rows=X.shape[1])
    B = as_factor(B, "B", rows=X.shape[1], cols=A.shape[1])
    return audit(np.asarray(X @ A), B, **kwargs)
