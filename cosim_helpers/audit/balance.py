"""Which gauge are the factors in? Balance and what weight decay would prefer.

For fixed scores ``PQᵀ``, the weight-decay penalty ``λ(‖P‖²_F + ‖Q‖²_F)``
(the paper's objective 2, Eq. 2, with ``P = XA``, ``Q = B``) still depends
on the gauge. Over all factorisations of the same scores its minimum is
``2λ‖PQᵀ‖_*`` (twice the nuclear norm, the sum of the singular values
``s_i``), reached exactly by the *balanced* factors, those with
``PᵀP = QᵀQ``, e.g. ``(U dMat(s)^{1/2}, V dMat(s)^{1/2})`` (book chapter 9
proves it). So factors that are not balanced could not be a minimiser of a
loss with weight decay: the penalty would drop, the scores staying put,
by moving to the balanced gauge.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_nonnegative
from ..spectral import gram
from .gauges import Alignment, Gauge, align, check_factors, power_gauge

#: Below this fraction of the penalty that balancing would save, we call the
#: factors balanced (our choice: 1%, loose enough for a trained model that
#: stopped slightly before convergence).
BALANCE_TOL = 0.01


class Balance(NamedTuple):
    """How far ``(P, Q)`` is from the gauge that weight decay selects.

    Attributes
    ----------
    imbalance : float
        ``‖PᵀP − QᵀQ‖_F / (‖PᵀP‖_F + ‖QᵀQ‖_F)`` in [0, 1]; 0 when balanced.
    penalty : float
        ``‖P‖²_F + ‖Q‖²_F`` (multiply by λ for the weight-decay term).
    balanced_penalty : float
        ``2 Σ s_i``, the smallest penalty of any factorisation of ``PQᵀ``.
    saved_fraction : float
        ``1 − balanced_penalty / penalty``: the share of the penalty that
        moving to the balanced gauge saves (0 when balanced).
    saved : float or None
        ``λ (penalty − balanced_penalty)`` when ``λ`` was given.
    balanced : bool
        ``saved_fraction <= tol``.
    transform : Gauge
        The balancing transform (the power-family member with ``α = 0``):
        ``(P M_P, Q M_Q)`` is balanced and keeps every score.
    """

    imbalance: float
    penalty: float
    balanced_penalty: float
    saved_fraction: float
    saved: float | None
    balanced: bool
    transform: Gauge


def balance(P, Q, *, lam: float | None = None, tol: float = BALANCE_TOL,
            alignment: Alignment | None = None) -> Balance:
    """Balance of ``PᵀP`` against ``QᵀQ`` and the penalty weight decay would save.

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
        A precomputed :func:`~cosim_helpers.audit.gauges.align`.

    Returns
    -------
    Balance
    """
    P, Q = check_factors(P, Q)
    tol = check_nonnegative(tol, "tol")
    if lam is not None:
        lam = check_nonnegative(lam)
    alignment = align(P, Q) if alignment is None else alignment
    CP, CQ = gram(P), gram(Q)
    norm = float(np.linalg.norm(CP) + np.linalg.norm(CQ))
    imbalance = float(np.linalg.norm(CP - CQ)) / norm if norm > 0 else 0.0
    penalty = float(np.trace(CP) + np.trace(CQ))
    best = 2.0 * float(np.sum(alignment.s))
    saved_fraction = max(0.0, 1.0 - best / penalty) if penalty > 0 else 0.0
    saved = None if lam is None else lam * max(0.0, penalty - best)
    return Balance(imbalance, penalty, best, saved_fraction, saved, saved_fraction <= tol,
                   power_gauge(alignment, 0.0))
