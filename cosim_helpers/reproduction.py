"""The set-up of a public code reproduction of the paper, re-implemented (chapter 11 exercise).

One public reproduction of the paper's Figure 1 (Section 4) that we know of
trains the factors instead of using the closed forms and builds its
rescalings in a way that differs from the paper. Book chapter 11 rebuilds
that set-up here, in our own code and on our own simulated data, so that
each difference can be checked with a test from this book. What is
re-implemented (our reading of that set-up, not the paper's method):

* both objectives trained from ``N(0, 0.01²)`` starts by full-batch Adam,
  learning rate 10⁻³, for 200 epochs (:func:`train_like_reproduction`);
* four rescalings built from the singular values ``σ_i`` of the *learned*
  ``B`` (not of ``X``), multiplying the ``i``-th column of ``B`` by the
  ``i``-th entry (:func:`learned_rescalings`): ``I`` (labelled "B = V_k"),
  ``dMat(σ²)``, ``dMat((1 + λ/σ²)^{1/2})`` and
  ``dMat((σ(1 − λ/σ²)_+)^{1/2})`` with ``λ`` the objective-1 value and a
  floor of 10⁻¹⁰ as in that code;
* an objective-2 solution with ``σ²`` where the closed form has ``σ``
  (:func:`objective2_with_sigma_squared`).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_data_matrix, as_factor, check_nonnegative, check_rank
from .gauge_dynamics import Trajectory, random_start, train_factors
from .spectral import Spectrum

#: Adam's learning rate, the number of full-batch epochs and the scale of the random start.
REPRODUCTION_LR = 1e-3
REPRODUCTION_EPOCHS = 200
REPRODUCTION_INIT = 0.01

#: Floor added inside the rescalings, as in the reproduction's code.
_FLOOR = 1e-10


def train_like_reproduction(X, k: int, lam: float, objective: int = 1, *, seed=0) -> Trajectory:
    """Train objective 1 or 2 the reproduction's way: Adam, lr 10⁻³, 200 epochs.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    k : int
    lam : float
    objective : {1, 2}
        Paper Eq. 1 or Eq. 2.
    seed : int, None or numpy.random.Generator
        Start: ``A, B`` with entries ``N(0, 0.01²)``.

    Returns
    -------
    Trajectory
        See :func:`cosim_helpers.gauge_dynamics.train_factors`; ``losses``
        shows where training stopped.
    """
    X = as_data_matrix(X)
    k = check_rank(k, X.shape)
    A0, B0 = random_start(X.shape[1], k, REPRODUCTION_INIT, seed=seed)
    return train_factors(X, lam, A0, B0, method="adam", lr=REPRODUCTION_LR,
                         max_steps=REPRODUCTION_EPOCHS, objective=objective)


def learned_rescalings(B, lam: float) -> dict:
    """The reproduction's four rescalings, from the singular values of the learned ``B``.

    The item embeddings of panel ``name`` are ``B * d`` (column ``i`` of ``B``
    times ``d[i]``), with ``σ`` the singular values of ``B`` in descending
    order. The paper instead rescales the closed form, whose columns are the
    singular directions, with the singular values of ``X`` (chapter 7).

    Parameters
    ----------
    B : array_like, shape (p, k)
        Learned item factor.
    lam : float
        The objective-1 ``λ`` (the reproduction uses it in all four).

    Returns
    -------
    dict
        Panel label -> diagonal ``d`` (numpy array of shape (k,)), in the
        reproduction's order.
    """
    B = as_factor(B, "B")
    lam = check_nonnegative(lam)
    s = np.linalg.svd(B, compute_uv=False)
    return {
        "B = V_k": np.ones_like(s),
        "B = V_k dMat(σ²)": s**2,
        "B = V_k dMat((1+λ/σ²)^½)": np.sqrt(1.0 + lam / (s**2 + _FLOOR)),
        "B = V_k dMat(σ(1−λ/σ²)₊^½)": np.sqrt(s * np.clip(1.0 - lam / (s**2 + _FLOOR), 0.0, None) + _FLOOR),
    }


def objective2_with_sigma_squared(svd: Spectrum, lam: float):
    """Objective-2 factors with the threshold on ``σ²`` instead of ``σ`` (a misreading).

    The closed form (paper Section 2.3, book chapter 5) shrinks by
    ``(1 − λ/σ_i)_+``; this returns ``Â = V_k dMat(√((1/σ)(1 − λ/σ²)_+))``,
    ``B̂ = V_k dMat(√(σ(1 − λ/σ²)_+))``, the same formula with ``σ²`` in the
    threshold. Chapter 11 shows it is not a stationary point of objective 2.

    Parameters
    ----------
    svd : Spectrum
        Top-k singular values (all > 0) and right singular vectors of ``X``.
    lam : float

    Returns
    -------
    A, B : numpy.ndarray, shape (p, k)
    """
    if not isinstance(svd, Spectrum):
        raise TypeError("svd must be a Spectrum returned by cosim_helpers.spectral.top_singular")
    lam = check_nonnegative(lam)
    s, V = np.asarray(svd.s, dtype=float), np.asarray(svd.V, dtype=float)
    if np.any(s <= 0):
        raise ValueError("svd must hold singular values > 0")
    shrink = np.clip(1.0 - lam / s**2, 0.0, None)
    return V * np.sqrt(shrink / s), V * np.sqrt(s * shrink)
