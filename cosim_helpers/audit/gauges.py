"""The gauge family: transforms of a dot-product model that keep every score.

A model with user (query) factors ``P`` (n x k) and item factors ``Q``
(m x k) scores user u against item i by ``p_u · q_i``, i.e. ``S = PQᵀ``.
For the paper's model (Section 2) ``P = XA`` and ``Q = B``. Any pair of
k x k' matrices ``(M_P, M_Q)`` with ``P M_P M_Qᵀ Qᵀ = PQᵀ`` gives another
factorisation ``(P M_P, Q M_Q)`` with the same scores (book chapter 9). The
family used by the audit (our choice, chapter 9 explains it):

* ``"diagonal"``: the paper's ``D`` (Section 2.1), ``M_P = D``,
  ``M_Q = D⁻¹``, with ``log d_i ~ U(−½ ln κ, ½ ln κ)`` so ``cond(D) <= κ``;
* ``"power"``: ``D = dMat(s_i^α)`` on the SVD-aligned factors: with the
  thin SVD ``PQᵀ = U dMat(s) Vᵀ`` the new factors are
  ``(U dMat(s)^{1/2+α}, V dMat(s)^{1/2−α})``; ``α = 0`` is the balanced
  pair, ``α = ±1/2`` put all of ``s`` on one side (the paper's full-rank
  special cases of Section 2.2 have this form);
* ``"general"``: ``M_P = G``, ``M_Q = G⁻ᵀ`` with ``G = R₁ dMat(c) R₂``,
  ``R₁, R₂`` random rotations and ``cond(G) <= κ``.

One decomposition (:func:`align`, two k x k Gram matrices and one k x k SVD)
serves the whole family, whatever the number of rows.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from .._validation import as_factor, as_generator
from .moments import gram, rms_row_norm


class Gauge(NamedTuple):
    """One score-preserving transform ``(P, Q) -> (P M_P, Q M_Q)``.

    Attributes
    ----------
    kind : str
        ``"identity"``, ``"diagonal"``, ``"power"``, ``"general"``, ``"shear"`` or ``"shift"``.
    label : str
        Short human-readable name (e.g. ``"power a=+0.25"``).
    M_P, M_Q : numpy.ndarray, shape (k, k')
        Right factors for the user and the item side.
    shift : numpy.ndarray, shape (k',), optional
        Added to every transformed item row (``"shift"`` members of a ranking
        objective's family): the scores of each user then move by a constant,
        which keeps every user's ranking of the items, not the scores.
    """

    kind: str
    label: str
    M_P: np.ndarray
    M_Q: np.ndarray
    shift: np.ndarray | None = None


class Alignment(NamedTuple):
    """Thin SVD ``PQᵀ = U dMat(s) Vᵀ`` expressed through the factors.

    ``P @ to_U = U`` and ``Q @ to_V = V`` (columns orthonormal); ``s`` holds
    the r non-zero singular values of the score matrix, descending.
    """

    s: np.ndarray
    to_U: np.ndarray
    to_V: np.ndarray


#: Largest accepted entry of a factor: its square times k times rows must stay far from overflow.
_LARGEST = 1e100


def check_factors(P, Q):
    """Both factor matrices as float64 arrays with the same number of columns k."""
    P = as_factor(P, "P")
    Q = as_factor(Q, "Q")
    check_pair(P.shape, Q.shape, (("P", lambda: float(np.max(np.abs(P)))), ("Q", lambda: float(np.max(np.abs(Q))))))
    return P, Q


def check_pair(shape_P, shape_Q, largest):
    """The checks both audit paths share: one k, no empty factor, no all-zero or overflowing one.

    ``largest`` holds ``(name, callable)`` pairs giving each factor's largest absolute entry, computed only
    after the shapes passed (in process from the array, on Dask from the chunks' column extremes).
    """
    if shape_P[1] != shape_Q[1]:
        raise ValueError(f"P and Q must have the same number of columns k, got {shape_P[1]} and {shape_Q[1]}")
    for (name, big), shape in zip(largest, (shape_P, shape_Q)):
        if 0 in shape:
            raise ValueError(f"{name} must not be empty, got shape {shape}")
        big = big()
        if big == 0:
            raise ValueError(f"{name} is all zeros: every score is 0 and no row has a cosine")
        if big > _LARGEST:
            raise ValueError(f"{name} has entries up to {big:.1e}, whose products overflow; divide {name} by "
                             "a constant (no cosine changes)")


def _root_and_pinv(M):
    """``L`` with ``MᵀM = LᵀL`` and its pseudo-inverse, from the k x k Gram matrix."""
    w, E = np.linalg.eigh(gram(M))
    floor = np.finfo(float).eps * max(M.shape) * max(float(w[-1]), 0.0)
    root = np.sqrt(np.where(w > floor, w, 0.0))
    inv = np.zeros_like(root)
    np.divide(1.0, root, out=inv, where=root > 0)
    return root[:, None] * E.T, E * inv


def align(P, Q) -> Alignment:
    """SVD of the score matrix ``PQᵀ`` without forming it (book chapter 9).

    With ``PᵀP = L_PᵀL_P`` and ``QᵀQ = L_QᵀL_Q`` (k x k square roots from
    the Gram matrices), ``PQᵀ = (P L_P⁺)(L_P L_Qᵀ)(Q L_Q⁺)ᵀ`` where both outer
    factors have orthonormal columns, so the SVD of the k x k core
    ``L_P L_Qᵀ = u dMat(s) vᵀ`` gives ``U = P L_P⁺ u`` and ``V = Q L_Q⁺ v``.
    Cost: O((n + m) k²); accuracy: the Gram matrices square the condition
    number of each factor, which is why every transform built from this is
    checked on the scores (:func:`score_error`).

    Parameters
    ----------
    P : array_like, shape (n, k)
    Q : array_like, shape (m, k)

    Returns
    -------
    Alignment
        Only the directions with ``s_i > k · eps · s_1`` are kept (a rank-
        deficient model, e.g. objective 2 with switched-off dimensions, has
        fewer than k).
    """
    P, Q = check_factors(P, Q)
    return _align(P, Q)


def _align(P, Q) -> Alignment:
    """:func:`align` of factors already checked."""
    L_P, L_P_pinv = _root_and_pinv(P)
    L_Q, L_Q_pinv = _root_and_pinv(Q)
    u, s, vt = np.linalg.svd(L_P @ L_Q.T)
    keep = s > P.shape[1] * np.finfo(float).eps * max(float(s[0]), np.finfo(float).tiny)
    return Alignment(s[keep], L_P_pinv @ u[:, keep], L_Q_pinv @ vt[keep].T)


def power_gauge(alignment: Alignment, alpha: float) -> Gauge:
    """``D = dMat(s^α)`` on the balanced SVD-aligned factors.

    New factors ``(U dMat(s)^{1/2+α}, V dMat(s)^{1/2−α})``; their product is
    ``U dMat(s) Vᵀ = PQᵀ`` for every α.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not np.isfinite(alpha):
        raise TypeError(f"alpha must be a finite real number, got {alpha!r}")
    s = alignment.s
    return Gauge("power", f"power a={alpha:+.2f}", alignment.to_U * s ** (0.5 + alpha),
                 alignment.to_V * s ** (0.5 - alpha))


def diagonal_gauge(d) -> Gauge:
    """The paper's ``(P, Q) -> (PD, QD⁻¹)`` for the diagonal entries ``d`` (all non-zero)."""
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 1 or not np.all(np.isfinite(d)) or np.any(d == 0):
        raise ValueError("d must be a 1-D array of finite non-zero diagonal entries")
    return Gauge("diagonal", f"diagonal cond={np.abs(d).max() / np.abs(d).min():.1f}", np.diag(d), np.diag(1 / d))


def general_gauge(G) -> Gauge:
    """``(P, Q) -> (PG, QG⁻ᵀ)`` for an invertible k x k ``G`` (book chapter 8's gauge view)."""
    G = as_factor(G, "G")
    if G.shape[0] != G.shape[1]:
        raise ValueError(f"G must be square, got shape {G.shape}")
    cond = np.linalg.cond(G)
    if not cond < 1.0 / (np.finfo(float).eps * G.shape[0]):
        raise ValueError("G is singular (or numerically so)")
    return _general_gauge(G.copy(), cond)


def _general_gauge(G, cond):
    """:func:`general_gauge` of a checked, well-conditioned ``G`` (the family's own draws)."""
    return Gauge("general", f"general cond={cond:.1f}", G, np.linalg.inv(G).T)


def _random_rotation(rng, k):
    R, T = np.linalg.qr(rng.standard_normal((k, k)))
    return R * np.sign(np.diag(T))  # Haar-distributed


def gauge_family(P, Q, n: int = 20, *, max_cond: float = 10.0, alpha_max: float = 0.5,
                 seed=0, alignment: Alignment | None = None, group: str = "general",
                 max_shift: float = 1.0) -> list[Gauge]:
    """The audit's family of ``n`` score-preserving transforms of an admissible group (book chapter 9).

    Parameters
    ----------
    P : array_like, shape (n_users, k)
    Q : array_like, shape (m, k)
    n : int
        Number of transforms (>= 3). For ``group="general"``: ``n // 3``
        power-family members with α evenly spaced in ``[−alpha_max, alpha_max]``,
        ``n // 3`` general ``G`` and the rest random diagonal ``D``. For
        ``"positive-diagonal"``: random positive ``D`` and, where the
        supports leave room, up to ``n // 3`` shears that keep ``P, Q >= 0``. For
        ``"general+shift"``: the general family of ``n − n // 4`` members and
        ``n // 4`` common shifts of the items.
    max_cond : float
        Bound ``κ > 1`` on the condition number of the random ``D`` and ``G``.
    alpha_max : float
        Largest ``|α|`` of the power family (> 0).
    seed : int, None or numpy.random.Generator
    alignment : Alignment, optional
        A precomputed :func:`align` of ``(P, Q)``.
    group : {"general", "positive-diagonal", "general+shift"}
        The admissible group to sample (:data:`~cosim_helpers.audit.objectives.GROUPS`).
    max_shift : float
        Largest shift, relative to the root-mean-square item norm.

    Returns
    -------
    list of Gauge
    """
    P, Q = check_factors(P, Q)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 3:
        raise ValueError(f"n must be an integer >= 3, got {n!r}")
    if isinstance(max_cond, bool) or not isinstance(max_cond, numbers.Real) or not 1 < max_cond < np.inf:
        raise ValueError(f"max_cond must be a finite number > 1, got {max_cond!r}")
    if isinstance(alpha_max, bool) or not isinstance(alpha_max, numbers.Real) or not 0 < alpha_max < np.inf:
        raise ValueError(f"alpha_max must be a finite number > 0, got {alpha_max!r}")
    if group not in ("general", "positive-diagonal", "general+shift"):
        raise ValueError(f"group must be 'general', 'positive-diagonal' or 'general+shift', got {group!r}")
    alignment = _align(P, Q) if alignment is None else alignment
    return _family(Q, n, max_cond, alpha_max, as_generator(seed), alignment, group, max_shift, P=P)


#: Largest |ε| of a shear ``I + εE_ij`` (ours): keeps its condition number below about 2.6.
MAX_SHEAR = 1.0


def shear_range(P, Q, i, j):
    """Interval of ``ε`` for which ``G = I + εE_ij`` keeps ``PG >= 0`` and ``QG⁻ᵀ >= 0`` (non-negative P, Q).

    ``PG`` changes column j to ``P_j + εP_i`` and ``QG⁻ᵀ`` column i to
    ``Q_i − εQ_j``; so ``ε <= min Q_i/Q_j`` over the rows with ``Q_j > 0``
    and ``ε >= −min P_j/P_i`` over the rows with ``P_i > 0``. The interval
    is ``{0}`` exactly when the support of ``P_i`` lies in that of ``P_j``
    and the support of ``Q_j`` in that of ``Q_i`` (chapter 9).
    """
    def room(num, den):
        rows = den > 0
        return float(np.min(num[rows] / den[rows])) if np.any(rows) else np.inf
    return -room(P[:, j], P[:, i]), room(Q[:, i], Q[:, j])


def nonneg_shears(P, Q, n, rng):
    """Up to ``n`` shears ``G = I + εE_ij`` that keep both non-negative factors non-negative (chapter 9).

    Positive diagonal ``D`` are not the only such transforms: whenever some
    column's support does not contain another's (strictly positive factors,
    for one), :func:`shear_range` leaves room. Each member takes a random
    feasible pair ``(i, j)`` and a random ``ε`` within 90% of its room
    (capped at :data:`MAX_SHEAR`); none when no pair has room.
    """
    k = P.shape[1]
    pairs = []
    for i in range(k):
        for j in range(k):
            if i != j:
                lo, hi = shear_range(P, Q, i, j)
                lo, hi = max(lo, -MAX_SHEAR), min(hi, MAX_SHEAR)
                if hi - lo > 1e-6:
                    pairs.append((i, j, lo, hi))
    out = []
    for _ in range(n if pairs else 0):
        i, j, lo, hi = pairs[rng.integers(len(pairs))]
        eps = 0.9 * (hi if rng.random() < hi / (hi - lo) else lo) * rng.uniform(0.5, 1.0)
        G = np.eye(k)
        G[i, j] = eps
        out.append(Gauge("shear", f"shear {i},{j} eps={eps:+.2f}", G, np.linalg.inv(G).T))
    return out


def _family(Q, n, max_cond, alpha_max, rng, alignment, group, max_shift, P=None):
    """:func:`gauge_family` of checked inputs (the core reads top-down: objective, group, family).

    For ``"positive-diagonal"`` with ``P`` given, up to ``n // 3`` members are
    non-negativity-keeping shears (:func:`nonneg_shears`), the rest diagonal.
    """
    k = Q.shape[1]
    half = 0.5 * np.log(max_cond)
    if group == "positive-diagonal":
        shears = [] if P is None or k < 2 else nonneg_shears(P, Q, n // 3, rng)
        return [diagonal_gauge(np.exp(rng.uniform(-half, half, k))) for _ in range(n - len(shears))] + shears
    n_shift = n // 4 if group == "general+shift" else 0
    n_gen = n - n_shift
    n_power = n_general = n_gen // 3
    family = [diagonal_gauge(np.exp(rng.uniform(-half, half, k))) for _ in range(n_gen - n_power - n_general)]
    family += [power_gauge(alignment, float(a)) for a in np.linspace(-alpha_max, alpha_max, n_power)]
    for _ in range(n_general):
        c = np.exp(np.concatenate(([-half, half], rng.uniform(-half, half, k - 2))))[:k] if k > 1 else [1.0]
        # cond(R1 dMat(c) R2) = max(c) / min(c) <= max_cond by construction
        family.append(_general_gauge(_random_rotation(rng, k) * c @ _random_rotation(rng, k), np.max(c) / np.min(c)))
    if n_shift:
        rms = rms_row_norm(Q)
        for t in range(1, n_shift + 1):
            c = rng.standard_normal(k)
            c *= max_shift * rms * t / n_shift / np.linalg.norm(c)
            family.append(Gauge("shift", f"shift {t / n_shift * max_shift:.2f} x rms", np.eye(k), np.eye(k), c))
    return family


def family_range(group, max_cond, alpha_max, max_shift) -> dict:
    """The family's range, as printed in the report and written to the JSON."""
    out = {"group": group, "diagonal_cond_max": float(max_cond)}
    if group != "positive-diagonal":
        out.update(general_cond_max=float(max_cond), power_alpha=[-float(alpha_max), float(alpha_max)])
    if group == "general+shift":
        out["shift_max_relative_to_rms_item_norm"] = float(max_shift)
    if group == "positive-diagonal":
        out["shear_max"] = MAX_SHEAR
    return out


def identity_gauge(k: int) -> Gauge:
    """The given factors themselves (``M_P = M_Q = I``)."""
    return Gauge("identity", "given factors", np.eye(k), np.eye(k))


def score_error(P, Q, gauge: Gauge, *, sample: int = 500, seed=0) -> float:
    """Largest change of a score under ``gauge``, relative to the largest score.

    ``max |P_s M_P M_Qᵀ Q_sᵀ − P_s Q_sᵀ| / max |P_s Q_sᵀ|`` over ``sample``
    random rows of each factor (all rows when there are fewer), computed from
    the transformed factors themselves, not from ``M_P M_Qᵀ``.
    """
    P, Q = check_factors(P, Q)
    return _score_error(P, Q, gauge, sample, seed)


def _score_error(P, Q, gauge, sample=500, seed=0):
    """:func:`score_error` of factors already checked (checking costs a pass over them).

    A gauge with a ``shift`` keeps each user's ranking, not the scores: there
    the error is the largest spread, over the items, of each user's score change.
    """
    rng = as_generator(seed)
    rows_P = np.sort(rng.choice(P.shape[0], min(sample, P.shape[0]), replace=False))
    rows_Q = np.sort(rng.choice(Q.shape[0], min(sample, Q.shape[0]), replace=False))
    Ps, Qs = P[rows_P], Q[rows_Q]
    S = Ps @ Qs.T
    Qt = Qs @ gauge.M_Q if gauge.shift is None else Qs @ gauge.M_Q + gauge.shift
    change = (Ps @ gauge.M_P) @ Qt.T - S
    if gauge.shift is not None:
        change -= change.mean(axis=1, keepdims=True)
    scale = float(np.max(np.abs(S)))
    return float(np.max(np.abs(change))) / scale if scale > 0 else float(np.max(np.abs(change + S)))
