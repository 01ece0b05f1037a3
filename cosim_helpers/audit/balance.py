"""The gauge a declared objective picks, and how far given factors are from it (book chapter 9).

For fixed scores ``PQᵀ`` a penalty on the factors still depends on the gauge.
The plain L2 penalty ``λ(‖P‖²_F + ‖Q‖²_F)`` (the paper's objective 2, Eq. 2,
with ``P = XA``, ``Q = B``) has minimum ``2λ‖PQᵀ‖_*`` over all factorisations
of the same scores (twice the nuclear norm, the sum of the singular values
``s_i``), reached exactly by the *balanced* factors, ``PᵀP = QᵀQ`` (book
chapter 9 proves it). The same argument covers the weighted penalties of
:mod:`~cosim_helpers.audit.objectives`: with row weights ``w`` (users) and
``v`` (items), ``Σ w_u‖p_u‖² + Σ v_i‖q_i‖² = ‖W^{1/2}P‖² + ‖V^{1/2}Q‖²``, and
a gauge ``G`` acts on ``W^{1/2}P`` and ``V^{1/2}Q`` as on ``P`` and ``Q``; so
the penalty picks the factors whose *weighted* factors are balanced,
``PᵀWP = QᵀVQ``, and its minimum is twice the nuclear norm of
``W^{1/2}PQᵀV^{1/2}``. A per-side scalar weight (``a‖P‖² + b‖Q‖²``) is the
case of constant ``w = a``, ``v = b``. Under a non-negativity constraint the
admissible gauge is a positive diagonal ``D``; column ``j`` then costs
``a_j² d_j² + b_j²/d_j²`` (``a_j``, ``b_j`` the weighted column norms),
smallest at ``d_j² = b_j/a_j``, where it is ``2 a_j b_j``.

Which factors the penalty acts on is the user's to say: for the paper's
objective 2 it is ``(XA, B)``, for weight decay on a linear autoencoder's
parameters it is ``(A, B)``; the gauge ``G`` moves both pairs alike.

The saved fraction of the *declared* penalty is the convergence check: a
minimiser of the objective sits at its choice (saved fraction 0), so a large
saved fraction means that these factors are not a minimiser (or that the
objective was declared wrongly).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_nonnegative
from .gauges import (
    MAX_SHEAR,
    Alignment,
    Gauge,
    _align,
    check_factors,
    identity_gauge,
    power_gauge,
    shear_range,
)
from .moments import col_norms, fro, gram, row_norm_dev, sum_squares
from .moments import nonneg as _nonneg
from .objectives import Objective

#: Below this fraction of the penalty that moving to the objective's choice
#: would save, we say the factors sit at that choice (our choice: 1%, loose
#: enough for a trained model that stopped slightly before convergence).
BALANCE_TOL = 0.01
#: Unit-norm objective: largest accepted deviation of a row norm from 1 (ours).
UNIT_NORM_TOL = 1e-4


class Balance(NamedTuple):
    """How far ``(P, Q)`` is from the gauge a declared objective selects.

    Attributes
    ----------
    imbalance : float
        ``‖PᵀWP − QᵀVQ‖_F / (‖PᵀWP‖_F + ‖QᵀVQ‖_F)`` in [0, 1] (0 when
        balanced; W = V = I for the plain penalty). For ``unit-norm``: the
        largest deviation of a row norm from 1.
    penalty : float
        The declared penalty of the given factors (``‖P‖²_F + ‖Q‖²_F`` for
        the plain one; multiply by λ for the weight-decay term).
    balanced_penalty : float
        Its smallest value over the admissible gauge group.
    saved_fraction : float
        ``1 − balanced_penalty / penalty``: the share of the penalty that
        moving to the objective's choice saves (0 at the choice).
    saved : float or None
        ``λ (penalty − balanced_penalty)`` when ``λ`` was given.
    balanced : bool
        ``saved_fraction <= tol``: the factors sit at the objective's choice.
    transform : Gauge
        The transform to the objective's choice: ``(P M_P, Q M_Q)`` keeps
        every score and minimises the penalty.
    objective : str
        The objective whose choice this is.
    """

    imbalance: float
    penalty: float
    balanced_penalty: float
    saved_fraction: float
    saved: float | None
    balanced: bool
    transform: Gauge
    objective: str = "l2"


def balance(P, Q, *, lam: float | None = None, tol: float = BALANCE_TOL,
            alignment: Alignment | None = None) -> Balance:
    """Balance of ``PᵀP`` against ``QᵀQ``: the gauge the plain L2 penalty ``λ(‖P‖² + ‖Q‖²)`` picks.

    Parameters
    ----------
    P : array_like, shape (n, k)
        User / query factors (``XA`` for the paper's model).
    Q : array_like, shape (m, k)
        Item factors (``B``).
    lam : float, optional
        Weight-decay strength ``λ >= 0``; only scales :attr:`Balance.saved`.
    tol : float
        Threshold on the saved fraction below which the factors count as
        balanced (default :data:`BALANCE_TOL`).
    alignment : Alignment, optional
        A precomputed :func:`~cosim_helpers.audit.gauges.align` of ``(P, Q)``.

    Returns
    -------
    Balance
    """
    P, Q = check_factors(P, Q)
    tol = check_nonnegative(tol, "tol")
    if lam is not None:
        lam = check_nonnegative(lam)
    return objective_choice(P, Q, Objective("l2"), lam=lam, tol=tol, alignment=alignment)


def _weighted(M, w):
    if not isinstance(M, np.ndarray):  # a factor on Dask: the moments of the weighted factor
        return M.weighted(w)
    return M * np.sqrt(w)[:, None] if np.ndim(w) else M * np.sqrt(w)


def objective_choice(P, Q, objective: Objective, *, penalised=None, lam=None, tol=BALANCE_TOL,
                     alignment: Alignment | None = None) -> Balance | None:
    """The declared objective's choice of gauge and the convergence check (inputs already checked).

    ``penalised`` is the pair the penalty acts on (default ``(P, Q)``); its
    rows carry the objective's weights. Returns ``None`` for objectives
    without a penalty or constraint (they pick no gauge).
    """
    name = objective.name
    if name == "unit-norm":
        dev = max(row_norm_dev(M) for M in (P, Q))
        return Balance(dev, 0.0, 0.0, 0.0, None, dev <= UNIT_NORM_TOL, identity_gauge(P.shape[1]), name)
    if not objective.penalised:
        return None
    A, B = (P, Q) if penalised is None else penalised
    Aw, Bw = _weighted(A, objective.weights_P), _weighted(B, objective.weights_Q)
    shift = None
    if name == "l2":
        if alignment is None or penalised is not None or np.ndim(objective.weights_P) or \
                np.ndim(objective.weights_Q) or objective.weights_P != objective.weights_Q:
            alignment = _align(Aw, Bw)
        else:  # the same weight on both sides scales s, not the singular vectors
            w = objective.weights_P
            alignment = Alignment(alignment.s * w, alignment.to_U / np.sqrt(w), alignment.to_V / np.sqrt(w))
        best = 2.0 * float(np.sum(alignment.s))
        transform = power_gauge(alignment, 0.0)
        CP, CQ = gram(Aw), gram(Bw)
    elif name == "ranking-l2":
        # A common item shift z is free for the ranking loss; the penalty sum_i v_i |q_i + z|^2 is smallest at
        # z = -(v-weighted mean item row), for every G; the rest is the weighted balance of the centred items.
        v = np.broadcast_to(np.asarray(objective.weights_Q, dtype=np.float64), (B.shape[0],))
        mean = (v @ B) / float(np.sum(v))
        Bcw = _weighted(B - mean, objective.weights_Q)
        alignment = _align(Aw, Bcw)
        best = 2.0 * float(np.sum(alignment.s))
        transform = power_gauge(alignment, 0.0)
        shift = -mean @ transform.M_Q
        CP, CQ = gram(Aw), gram(Bcw)
    else:  # nonneg-l2: a positive diagonal per column, then the best non-negativity-keeping shear
        a, b = col_norms(Aw), col_norms(Bw)
        ok = (a > 0) & (b > 0)
        d = np.ones_like(a)
        d[ok] = np.sqrt(b[ok] / a[ok])
        best = 2.0 * float(np.sum(a * b))
        G, drop = best_shear(P * d, Q / d, Aw * d, Bw / d)
        best -= drop
        transform = Gauge("diagonal" if drop == 0 else "general", "objective's choice", np.diag(d) @ G,
                          np.diag(1.0 / d) @ np.linalg.inv(G).T)
        CP, CQ = np.diag(a**2), np.diag(b**2)
    penalty = sum_squares(Aw) + sum_squares(Bw)
    norm = float(np.linalg.norm(CP) + np.linalg.norm(CQ))
    imbalance = float(np.linalg.norm(CP - CQ)) / norm if norm > 0 else 0.0
    saved_fraction = max(0.0, 1.0 - best / penalty) if penalty > 0 else 0.0
    saved = None if lam is None else lam * max(0.0, penalty - best)
    transform = transform._replace(label="objective's choice", shift=shift)
    return Balance(imbalance, penalty, best, saved_fraction, saved, saved_fraction <= tol, transform, name)


def best_shear(P, Q, Aw, Bw):
    """The elementary shear ``G = I + εE_ij`` that keeps ``P, Q >= 0`` and lowers the penalty most.

    The penalty ``‖Aw G‖² + ‖Bw G⁻ᵀ‖²`` along ``I + εE_ij`` is the quadratic
    ``2ε(⟨a_i, a_j⟩ − ⟨b_i, b_j⟩) + ε²(‖a_i‖² + ‖b_j‖²)`` plus a constant; it
    is minimised over the feasible interval (:func:`shear_range`, capped at
    :data:`MAX_SHEAR`). Returns ``(G, drop)``; ``drop = 0`` and ``G = I``
    when no feasible shear lowers the penalty. A positive drop proves that
    the factors are not at the objective's choice (a one-step check, not the
    full minimum over the group).
    """
    k = P.shape[1]
    CA, CB = Aw.T @ Aw, Bw.T @ Bw
    best, G = 0.0, np.eye(k)
    for i in range(k):
        for j in range(k):
            if i == j:
                continue
            curv = CA[i, i] + CB[j, j]
            if curv <= 0:
                continue
            lo, hi = shear_range(P, Q, i, j)
            eps = float(np.clip((CB[i, j] - CA[i, j]) / curv, max(lo, -MAX_SHEAR), min(hi, MAX_SHEAR)))
            drop = -(2.0 * eps * (CA[i, j] - CB[i, j]) + eps * eps * curv)
            if drop > best:
                best, G = drop, np.eye(k)
                G[i, j] = eps
    return G, best


def consistent_objectives(P, Q, *, alignment: Alignment, tol=BALANCE_TOL) -> dict:
    """Which declarable objectives could have these factors as a minimiser, with the check behind each.

    For the penalised objectives with unknown weights the best per-side
    weight ratio is used (closed forms, chapter 9): for ``l2`` with weights
    ``(a, b)`` the saved fraction is smallest at ``b/a = ‖P‖²/‖Q‖²``, where it
    is ``1 − Σ s_i / (‖P‖ ‖Q‖)``; for ``nonneg-l2`` it is
    ``1 − Σ_j ‖p_j‖ ‖q_j‖ / (‖P‖ ‖Q‖)`` over the columns (Cauchy–Schwarz).
    Returns name -> (consistent, reason).
    """
    nP, nQ = fro(P), fro(Q)
    S = float(np.sum(alignment.s))
    equal = max(0.0, 1.0 - 2.0 * S / (nP**2 + nQ**2))
    sides = max(0.0, 1.0 - S / (nP * nQ))
    nonneg = _nonneg(P) and _nonneg(Q)
    cols = max(0.0, 1.0 - float(np.sum(col_norms(P) * col_norms(Q))) / (nP * nQ))
    dev = max(row_norm_dev(M) for M in (P, Q))
    return {
        "scores": (True, "any factors: the loss sees only the scores"),
        "ranking": (True, "any factors: the loss sees only each user's ranking"),
        "l2": (equal <= tol, f"equal weights: the penalty would drop {equal:.1%}"),
        "l2 (per-side weights)": (sides <= tol, f"best per-side weights: the penalty would drop {sides:.1%}"),
        "nonneg": (nonneg, "all entries >= 0" if nonneg else "some entries are negative"),
        "nonneg-l2 (per-side weights)": (nonneg and cols <= tol,
                                         ("" if nonneg else "some entries are negative; ")
                                         + f"best per-side weights: the penalty would drop {cols:.1%}"),
        "unit-norm": (dev <= UNIT_NORM_TOL, f"largest deviation of a row norm from 1: {dev:.2g}"),
    }
