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
from ..spectral import gram


class Gauge(NamedTuple):
    """One score-preserving transform ``(P, Q) -> (P M_P, Q M_Q)``.

    Attributes
    ----------
    kind : str
        ``"identity"``, ``"diagonal"``, ``"power"`` or ``"general"``.
    label : str
        Short human-readable name (e.g. ``"power a=+0.25"``).
    M_P, M_Q : numpy.ndarray, shape (k, k')
        Right factors for the user and the item side.
    """

    kind: str
    label: str
    M_P: np.ndarray
    M_Q: np.ndarray


class Alignment(NamedTuple):
    """Thin SVD ``PQᵀ = U dMat(s) Vᵀ`` expressed through the factors.

    ``P @ to_U = U`` and ``Q @ to_V = V`` (columns orthonormal); ``s`` holds
    the r non-zero singular values of the score matrix, descending.
    """

    s: np.ndarray
    to_U: np.ndarray
    to_V: np.ndarray


def check_factors(P, Q):
    """Both factor matrices as float64 arrays with the same number of columns k."""
    P = as_factor(P, "P")
    Q = as_factor(Q, "Q")
    if P.shape[1] != Q.shape[1]:
        raise ValueError(f"P and Q must have the same number of columns k, got {P.shape[1]} and {Q.shape[1]}")
    for name, M in (("P", P), ("Q", Q)):
        if 0 in M.shape:
            raise ValueError(f"{name} must not be empty, got shape {M.shape}")
    return P, Q


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
    return Gauge("general", f"general cond={cond:.1f}", G.copy(), np.linalg.inv(G).T)


def _random_rotation(rng, k):
    R, T = np.linalg.qr(rng.standard_normal((k, k)))
    return R * np.sign(np.diag(T))  # Haar-distributed


def gauge_family(P, Q, n: int = 20, *, max_cond: float = 10.0, alpha_max: float = 0.5,
                 seed=0, alignment: Alignment | None = None) -> list[Gauge]:
    """The audit's family of ``n`` score-preserving transforms (book chapter 9).

    Parameters
    ----------
    P : array_like, shape (n_users, k)
    Q : array_like, shape (m, k)
    n : int
        Number of transforms (>= 3): ``n // 3`` power-family members with α
        evenly spaced in ``[−alpha_max, alpha_max]``, ``n // 3`` general
        ``G`` and the rest random diagonal ``D``.
    max_cond : float
        Bound ``κ > 1`` on the condition number of the random ``D`` and ``G``.
    alpha_max : float
        Largest ``|α|`` of the power family (> 0).
    seed : int, None or numpy.random.Generator
    alignment : Alignment, optional
        A precomputed :func:`align` of ``(P, Q)``.

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
    rng = as_generator(seed)
    k = P.shape[1]
    alignment = align(P, Q) if alignment is None else alignment
    n_power = n_general = n // 3
    half = 0.5 * np.log(max_cond)
    family = [diagonal_gauge(np.exp(rng.uniform(-half, half, k))) for _ in range(n - n_power - n_general)]
    family += [power_gauge(alignment, float(a)) for a in np.linspace(-alpha_max, alpha_max, n_power)]
    for _ in range(n_general):
        c = np.exp(np.concatenate(([-half, half], rng.uniform(-half, half, k - 2))))[:k] if k > 1 else [1.0]
        family.append(general_gauge(_random_rotation(rng, k) * c @ _random_rotation(rng, k)))
    return family


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
    """:func:`score_error` of factors already checked (checking costs a pass over them)."""
    rng = as_generator(seed)
    rows_P = np.sort(rng.choice(P.shape[0], min(sample, P.shape[0]), replace=False))
    rows_Q = np.sort(rng.choice(Q.shape[0], min(sample, Q.shape[0]), replace=False))
    Ps, Qs = P[rows_P], Q[rows_Q]
    S = Ps @ Qs.T
    S2 = (Ps @ gauge.M_P) @ (Qs @ gauge.M_Q).T
    scale = float(np.max(np.abs(S)))
    return float(np.max(np.abs(S2 - S))) / scale if scale > 0 else float(np.max(np.abs(S2)))
