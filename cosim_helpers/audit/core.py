"""The audit itself: how much does the cosine geometry depend on the gauge? (book chapter 9)."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.stats

from .._validation import as_data_matrix, as_factor, as_generator, check_nonnegative
from ..metrics import cluster_recovery
from ..similarity import cosine_similarity
from ._threads import thread_map
from .balance import BALANCE_TOL, consistent_objectives, objective_choice
from .gauges import Gauge, _align, _family, _score_error, check_factors, family_range, identity_gauge
from .lazy import is_source
from .moments import col_extremes, nonneg
from .neighbours import _unit, top_neighbours
from .objectives import Objective, as_objective
from .report import AuditResult, SideAudit, judge

_DECIMALS = 12


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def as_labels(labels, rows, name):
    """Cluster labels of some rows as integer codes, ``-1`` for unlabelled rows (the public boundary).

    Accepts integers, strings or floats; ``None``, ``NaN`` and the empty
    string mark a row without a label (it stays in the catalogue, it is only
    left out of the cluster-recovery score).
    """
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != rows:
        raise ValueError(f"{name} must have one entry per row ({rows}; empty or NaN for an unlabelled row), "
                         f"got shape {labels.shape}")
    if labels.dtype.kind == "c":
        raise TypeError(f"{name} must be integers or strings, got complex values")
    if labels.dtype.kind == "f":
        missing = np.isnan(labels)
    elif labels.dtype.kind in "OUS":
        text = np.array(["" if v is None else str(v).strip() for v in labels], dtype=object)
        missing = np.isin(text, ["", "nan", "NaN", "None"])
        labels = text
    else:
        missing = np.zeros(rows, dtype=bool)
    codes = np.full(rows, -1, dtype=np.int64)
    if not missing.all():
        codes[~missing] = np.unique(labels[~missing], return_inverse=True)[1]
    return codes


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


def _recovery(E, Ms, codes, n_queries, rng):
    """Cluster recovery on (a sample of) the labelled rows, or ``None`` and the reason it is undefined."""
    if codes is None:
        return None, "no labels given"
    rows = np.flatnonzero(codes >= 0)
    if len(rows) > n_queries:
        rows = np.sort(rng.choice(rows, n_queries, replace=False))
    sizes = np.bincount(codes[rows])
    if np.count_nonzero(sizes) < 2 or not np.any(sizes >= 2):
        return None, (f"undefined: the {len(rows)} labelled rows used hold {np.count_nonzero(sizes)} cluster(s), "
                      f"{int(np.sum(sizes >= 2))} with two or more members")
    out = np.array([cluster_recovery(cosine_similarity(E[rows] @ M), codes[rows]) for M in Ms])
    return out, f"mean per-row AUC over {len(rows)} labelled rows"


def _audit_side(name, E, Ms, family, *, labels, top, n_queries, rank_sample, pair, exact, rng, progress):
    rows = E.shape[0]
    top = min(top, rows - 1)
    nq = min(n_queries, rows)
    queries = np.arange(rows) if nq == rows else np.sort(rng.choice(rows, nq, replace=False))
    report = None if progress is None else (lambda done, total: progress(name, done, total))
    search = top_neighbours if isinstance(E, np.ndarray) else type(E).top_neighbours  # on Dask: its own
    idx, _ = search(E, queries, Ms, top=top, exact=exact, progress=report)
    jac = np.stack([_jaccard(idx[t], idx[0]) for t in range(1, len(Ms))])
    nn_changed = np.mean(idx[1:, :, 0] != idx[0, :, 0], axis=1)
    cols = np.arange(rows) if rows <= rank_sample else np.sort(rng.choice(rows, rank_sample, replace=False))
    spearman = _row_spearman(E, queries, cols, Ms)
    if pair is None:
        pair = (int(queries[0]), int(idx[0, 0, 0]))
    nearest = idx[0, :, 0]
    to_nearest = np.stack([np.einsum("qk,qk->q", _unit(E[queries], M), _unit(E[nearest], M)) for M in Ms])
    recovery, recovery_note = _recovery(E, Ms, labels, n_queries, rng)
    return SideAudit(name, rows, queries, top, tuple(g.label for g in family[1:]), tuple(g.kind for g in family[1:]),
                     nn_changed, jac.mean(axis=1), jac, spearman, pair, _pair_cosines(E, *pair, Ms),
                     to_nearest.max(axis=0) - to_nearest.min(axis=0), recovery, recovery_note=recovery_note)


def audit(P, Q, *, objective=None, weights=None, penalised=None, labels=None, user_labels=None, top: int = 10,
          n_queries: int = 1000, n_transforms: int = 20, max_cond: float = 10.0, alpha_max: float = 0.5,
          max_shift: float = 1.0, pair=None, sides=("items", "users"), rank_sample: int = 1000,
          lam: float | None = None, tol: float = 1e-6, balance_tol: float = BALANCE_TOL, exact: bool = False,
          gauges=None, exclude_constant: bool = False, seed=0, progress=None, client=None) -> AuditResult:
    """Audit how much the cosine geometry of a dot-product model depends on its gauge (book chapter 9).

    The model scores user (query) u against item i by ``p_u · q_i``; for the
    paper's model (Section 2) use :func:`audit_model`, or ``P = XA``,
    ``Q = B``. Factors cannot tell which loss trained them, so the verdict
    rests on the declared ``objective`` (:mod:`~cosim_helpers.audit.objectives`):
    its admissible gauge group, the gauge its penalty picks
    (:func:`~cosim_helpers.audit.balance.objective_choice`) and whether these
    factors sit there. Every transform of the family
    (:func:`~cosim_helpers.audit.gauges.gauge_family` of the objective's
    group) keeps all scores (checked on a sample, to ``tol``) but may move the
    cosines; this reports by how much, per side. Without a declared objective
    the verdict is never "determined" (unless no transform can move a cosine,
    k = 1, which comes with a warning); the report lists the objectives the
    factors are consistent with.

    Parameters
    ----------
    P : array_like, shape (n, k)
        User / query factors.
    Q : array_like, shape (m, k)
        Item factors.
    objective : str or Objective, optional
        A name of :data:`~cosim_helpers.audit.objectives.VOCABULARY`
        (default ``"unknown"``).
    weights : (w_P, w_Q), optional
        Weights of a penalised objective's penalty: two numbers, or one per
        row of the penalised factors (count-weighted L2).
    penalised : (A, B), optional
        The factors the penalty acts on when they are not ``(P, Q)`` (e.g.
        ``P = XA`` with weight decay on ``A``); each must have k columns and
        a gauge must move them as it moves ``P`` and ``Q`` (``A → AG``).
    labels, user_labels : array_like, shape (m,) / (n,), optional
        Known clusters of the items / users (integers or strings; ``None``,
        NaN or ``""`` for an unlabelled row): adds the range of
        :func:`~cosim_helpers.metrics.cluster_recovery` on the labelled rows.
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
    max_shift : float
        Largest item shift of a ranking objective's family, relative to the
        root-mean-square item norm.
    pair : (int, int), optional
        Item pair whose cosine range is reported; default: the first sampled
        item and its nearest neighbour. (Users always use the default.)
    sides : sequence of {"items", "users"}
        Which sides to audit.
    rank_sample : int
        Columns per row for the Spearman correlation of row rankings.
    lam : float, optional
        Penalty strength ``λ``, to express the penalty saved in absolute terms.
    tol : float
        Largest accepted relative score change of a transform; transforms
        above it are rejected (listed in the result), never used.
    balance_tol : float
        Saved-penalty fraction below which the factors sit at the objective's choice.
    exact : bool
        Use the float64 reference neighbour search throughout.
    gauges : sequence of Gauge, optional
        Your own family instead of the objective's; then ``n_transforms``,
        ``max_cond``, ``alpha_max`` and ``max_shift`` are not used.
    exclude_constant : bool
        Drop the columns that are constant over all rows of ``P`` or of ``Q``
        (a bias column and its partner, as in implicit's BPR) from both
        factors and audit the rest: the bias terms are not embeddings, and a
        constant column inflates the imbalance. Without it such columns are
        only reported (a warning).
    seed : int, None or numpy.random.Generator
    progress : callable (side, done, total), optional
        Called as the neighbour search advances (the CLI prints it).
    client : distributed.Client, optional
        Run the passes over the rows on this Dask cluster
        (:mod:`~cosim_helpers.audit.distributed`): ``P`` and ``Q`` may then
        be files opened by :func:`~cosim_helpers.audit.lazy.open_factor`
        (never loaded whole) or dask arrays. Same result as in process.

    Returns
    -------
    AuditResult
    """
    # The public boundary: every input is checked here, once; the functions below take checked arrays.
    if client is not None:
        name = objective.name if isinstance(objective, Objective) else objective
        if name in WHOLE_FACTOR_OBJECTIVES:
            raise ValueError(f"the objective {name!r} is not supported on the Dask path yet (its shears or item "
                             "shift need the whole factors): audit it in process, without client")
    P, Q = _check_factors(P, Q, client)
    constant = _constant_columns(P, Q)
    notes = []
    if constant and exclude_constant:
        if len(constant) == P.shape[1]:
            raise ValueError("every column is constant over the rows of P or Q: nothing is left to audit")
        keep = [j for j in range(P.shape[1]) if j not in constant]
        P, Q = _check_factors(P[:, keep], Q[:, keep], client)
        notes.append(f"columns {', '.join(map(str, constant))} (constant over the rows of P or Q: bias columns) "
                     "are excluded from both factors")
    elif constant:
        notes.append(f"columns {', '.join(map(str, constant))} are constant over the rows of P or Q (bias "
                     "columns?); they take part in the gauge; exclude_constant=True (--exclude-constant) "
                     "audits the rest")
    k = P.shape[1]
    if penalised is not None:
        if not (isinstance(penalised, (tuple, list)) and len(penalised) == 2):
            raise TypeError("penalised must be a pair (A, B) of the factors the penalty acts on")
        penalised = tuple(as_factor(M, name, cols=k) for M, name in zip(penalised, ("penalised A", "penalised B")))
    rows = (P.shape[0], Q.shape[0]) if penalised is None else (penalised[0].shape[0], penalised[1].shape[0])
    objective = as_objective(objective, *rows, weights=weights)
    if penalised is not None and (not objective.penalised or objective.name == "ranking-l2"):
        raise ValueError(f"penalised factors need a penalised objective (l2, nonneg-l2), got {objective.name!r}")
    if objective.group == "positive-diagonal":
        for name, M in (("P", P), ("Q", Q)):
            if not nonneg(M):
                raise ValueError(f"the objective {objective.name!r} has non-negative factors, but {name} has "
                                 "negative entries")
    top, n_queries = _check_int(top, "top", 1), _check_int(n_queries, "n_queries", 1)
    rank_sample = _check_int(rank_sample, "rank_sample", 2)
    n_transforms = _check_int(n_transforms, "n_transforms", 3)
    for value, name, low in ((tol, "tol", 0.0), (max_cond, "max_cond", 1.0), (alpha_max, "alpha_max", 0.0),
                             (max_shift, "max_shift", 0.0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low < value < np.inf:
            raise ValueError(f"{name} must be a finite number > {low:g}, got {value!r}")
    balance_tol = check_nonnegative(balance_tol, "balance_tol")
    if lam is not None:
        lam = check_nonnegative(lam)
    sides = tuple(sides)
    if not sides or any(s not in ("items", "users") for s in sides) or len(set(sides)) != len(sides):
        raise ValueError(f"sides must be a non-empty selection of 'items' and 'users', got {sides!r}")
    for name in sides:
        rows_side = (Q if name == "items" else P).shape[0]
        if rows_side < 2:
            raise ValueError(f"the {name} side needs at least 2 rows to have neighbours, got {rows_side}")
    if pair is not None:
        m = Q.shape[0]
        if (not isinstance(pair, (tuple, list)) or len(pair) != 2
                or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair)
                or not all(0 <= v < m for v in pair) or pair[0] == pair[1]):
            raise ValueError(f"pair must be two different row indices in [0, {m}), got {pair!r}")
        pair = (int(pair[0]), int(pair[1]))
    labels = as_labels(labels, Q.shape[0], "labels")
    user_labels = as_labels(user_labels, P.shape[0], "user_labels")
    if gauges is not None:
        gauges = list(gauges)
        if not gauges or not all(isinstance(g, Gauge) and g.M_P.shape[0] == k and g.M_Q.shape[0] == k
                                 for g in gauges):
            raise ValueError(f"gauges must be a non-empty sequence of Gauge with k = {k} rows in M_P and M_Q")
    rng = as_generator(seed)

    # Objective -> admissible group -> the objective's choice and the convergence check.
    alignment = _align(P, Q)
    choice = objective_choice(P, Q, objective, penalised=penalised, lam=lam, tol=balance_tol, alignment=alignment)
    consistent = None if objective.declared else consistent_objectives(P, Q, alignment=alignment, tol=balance_tol)
    # A pinning objective leaves only rotations: the family then shows what the declaration rules out.
    group = "general" if objective.group == "rotation" else objective.group
    # -> the family.
    if gauges is None:
        family = _family(Q, n_transforms, max_cond, alpha_max, rng, alignment, group, max_shift, P=P)
        frange = family_range(group, max_cond, alpha_max, max_shift)
    else:
        family, frange = gauges, {"group": "given by the caller"}
    # The objective's choice joins the family whenever it moves anything, also within the tolerance: its
    # neighbours decide whether "determined" holds for these factors (a small penalty drop can move many).
    at_choice = choice is not None and objective.name != "unit-norm" and choice.saved_fraction > 0
    if at_choice:
        family = [choice.transform] + family
    errors = [_score_error(P, Q, g, seed=i) for i, g in enumerate(family)]
    rejected = tuple(g.label for g, e in zip(family, errors) if not e <= tol)
    kept = [g for g, e in zip(family, errors) if e <= tol]
    if not kept:
        raise ValueError("no transform kept the scores to within tol: the factors are too ill-conditioned")
    # -> the search, per side.
    results = {}
    for name in sides:
        E, lab, pr = (Q, labels, pair) if name == "items" else (P, user_labels, None)
        members = [identity_gauge(k)] + [g for g in kept if name == "items" or g.shift is None
                                          or (at_choice and g is choice.transform)]
        if name == "items" and any(g.shift is not None for g in members):
            # a common shift is one more row of M
            E = np.hstack([Q, np.ones((Q.shape[0], 1))]) if isinstance(Q, np.ndarray) else Q.with_ones()
            Ms = [np.vstack([g.M_Q, np.zeros(g.M_Q.shape[1]) if g.shift is None else g.shift]) for g in members]
        else:
            Ms = [g.M_Q if name == "items" else g.M_P for g in members]
        side = _audit_side(name, E, Ms, members, labels=lab, top=top, n_queries=n_queries,
                           rank_sample=rank_sample, pair=pr, exact=exact, rng=rng, progress=progress)
        # -> the report.
        can_move = not (k == 1 and (name == "users" or group != "general+shift"))
        check = None
        if at_choice and len(members) > 1 and members[1] is choice.transform:
            check = (float(side.nn_changed[0]), float(side.jaccard[0]), _cosine_gap(E, side.queries, Ms[1]))
        verdict, sensitivity, why = judge(side, objective, choice, can_move=can_move, consistent=consistent,
                                          choice_check=check)
        results[name] = SideAudit(**{**side.__dict__, "verdict": verdict, "sensitivity": sensitivity,
                                     "explanation": why})
    warnings = notes
    if k == 1:
        warnings.append("k = 1: every cosine between two rows is +1 or -1 (same or opposite sign)")
    return AuditResult(results, choice, len(kept), max(e for e in errors if e <= tol), tol, rejected,
                       seed if isinstance(seed, int) else None, objective=objective, family_range=frange,
                       consistent=consistent, warnings=tuple(warnings))


#: Objectives whose admissible group (shears that keep non-negativity, a common item shift) the Dask path
#: cannot yet search: they need the whole factors in one process (issue 22; refused with one line).
WHOLE_FACTOR_OBJECTIVES = ("nonneg", "nonneg-l2", "ranking", "ranking-l2")


def _check_factors(P, Q, client):
    """:func:`~cosim_helpers.audit.gauges.check_factors`, or its one-pass version on a Dask cluster."""
    if client is not None:
        from .distributed import check_factors as check_on_dask
        return check_on_dask(P, Q, client)
    return check_factors(*(M.load() if is_source(M) else M for M in (P, Q)))


def _cosine_gap(E, queries, M, cols=1000):
    """Largest change of a cosine between the sampled queries and (up to ``cols``, evenly spaced) rows under ``E -> EM``."""
    rows = E.shape[0]
    cols = np.unique(np.linspace(0, rows - 1, min(rows, cols)).astype(np.int64))
    return float(np.max(np.abs(cosine_similarity(E[queries], E[cols])
                               - cosine_similarity(E[queries] @ M, E[cols] @ M))))


def _constant_columns(P, Q):
    """Columns constant over all rows of ``P`` or of ``Q`` (to 1e-12 of the column's scale; one pass per bound)."""
    constant = np.zeros(P.shape[1], dtype=bool)
    for M in (P, Q):
        if M.shape[0] > 1:
            low, high = col_extremes(M)  # on Dask: from the factor's moments
            scale = np.maximum(np.abs(high), np.abs(low))
            constant |= (high - low <= 1e-12 * scale) & (scale > 0)
    return [int(j) for j in np.flatnonzero(constant)]


def audit_model(X, A, B, *, penalty_on: str = "factors", **kwargs) -> AuditResult:
    """:func:`audit` of the paper's model ``X ≈ XABᵀ``: users ``P = XA``, items ``Q = B`` (Section 2).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A, B : array_like, shape (p, k)
    penalty_on : {"factors", "parameters"}
        Where a declared penalty acts: on ``(XA, B)`` (the paper's objective
        2) or on the parameters ``(A, B)`` (weight decay on a linear
        autoencoder). The two pick different gauges.
    **kwargs
        Passed to :func:`audit`.
    """
    X = as_data_matrix(X)
    A = as_factor(A, "A", rows=X.shape[1])
    B = as_factor(B, "B", rows=X.shape[1], cols=A.shape[1])
    if penalty_on not in ("factors", "parameters"):
        raise ValueError(f"penalty_on must be 'factors' or 'parameters', got {penalty_on!r}")
    if penalty_on == "parameters":
        kwargs["penalised"] = (A, B)
    return audit(np.asarray(X @ A), B, **kwargs)
