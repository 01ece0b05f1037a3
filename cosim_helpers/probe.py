"""The practitioner's rescaling probe of book chapter 8.

Replace ``(A, B)`` by ``(AD, BD⁻¹)`` for a random positive diagonal ``D``:
every score ``(XA)_u · b_i`` stays (paper §2.1), so any move of the item
cosines is the D-freedom showing, and the loss tells whether training could
tell the two apart. For a whole family of such transforms, both sides of a
dot-product model and catalogue-sized factors, see :mod:`cosim_helpers.audit`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_factor, as_generator, check_positive
from .models import rescale
from .similarity import cosine_similarity


class ProbeResult(NamedTuple):
    """Output of :func:`rescaling_probe`.

    Attributes
    ----------
    D : numpy.ndarray, shape (k,)
        The random diagonal that was applied.
    product_change : float
        ``max |ABᵀ − (AD)(BD⁻¹)ᵀ|``: zero up to round-off, since ``ABᵀ`` is
        invariant by construction (a sanity check of the probe itself).
    cosine_change : float
        ``max |cosSim(B, B) − cosSim(BD⁻¹, BD⁻¹)|``, the largest change of an
        item-item cosine.
    loss_change : float or None
        ``loss(AD, BD⁻¹) − loss(A, B)`` if a loss was given: zero for an
        objective with a D-freedom (objective 1), positive at the optimum of
        one without (objective 2).
    """

    D: np.ndarray
    product_change: float
    cosine_change: float
    loss_change: float | None


def rescaling_probe(A, B, *, loss=None, D=None, spread: float = 1.0, seed=0) -> ProbeResult:
    """Does a diagonal rescaling move the item cosines, and does it cost loss?

    The practitioner's test of book chapter 8: replace ``(A, B)`` by
    ``(AD, BD⁻¹)``, which leaves every dot product ``(XA)_u · b_i`` unchanged,
    and report how much the item-item cosines move and (if a training loss is
    given) how much the loss moves. A cosine change with zero loss change
    means the cosines are not determined by the trained model.

    Parameters
    ----------
    A, B : array_like, shape (p, k)
    loss : callable (A, B) -> float, optional
        The training loss, e.g. ``lambda A, B: loss_objective1(X, A, B, lam)``.
    D : array_like, shape (k,), optional
        The diagonal to apply; by default ``exp(U(−spread, spread))`` drawn
        with ``seed``.
    spread : float
        Half-width of the log-uniform default ``D`` (> 0).
    seed : int, None or numpy.random.Generator

    Returns
    -------
    ProbeResult
    """
    A = as_factor(A, "A")
    B = as_factor(B, "B", rows=A.shape[0], cols=A.shape[1])
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be callable or None, got {type(loss).__name__}")
    if D is None:
        spread = check_positive(spread, "spread")
        rng = as_generator(seed)
        D = np.exp(rng.uniform(-spread, spread, size=A.shape[1]))
    A2, B2 = rescale(A, B, D)
    D = np.asarray(D, dtype=np.float64).copy()
    product_change = float(np.max(np.abs(A @ B.T - A2 @ B2.T)))
    cosine_change = float(np.max(np.abs(cosine_similarity(B) - cosine_similarity(B2))))
    loss_change = None if loss is None else float(loss(A2, B2) - loss(A, B))
    return ProbeResult(D, product_change, cosine_change, loss_change)

