"""The paper's linear model, its two training objectives and their optima.

The model is ``X ≈ X A Bᵀ`` with ``A, B`` of shape (p, k): item embeddings are
the rows of ``B``, user embeddings the rows of ``XA`` (Section 2). Chapters 3
to 5 of the book derive what is implemented here:

* Objective 1 (paper Eq. 1): ``‖X − XABᵀ‖²_F + λ‖ABᵀ‖²_F``; its optimum is
  unique only as the product ``ABᵀ`` (Eq. 5 gives one representative).
* Objective 2 (paper Eq. 2): ``‖X − XABᵀ‖²_F + λ(‖XA‖²_F + ‖B‖²_F)``; its
  optimum is unique up to a rotation.
* :func:`rescale` applies the D-freedom ``(A, B) -> (AD, BD⁻¹)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._validation import as_data_matrix, as_factor, check_nonnegative, check_rank
from .spectral import Spectrum, top_singular

# Rows of X per block when forming the residual X − XABᵀ densely: bounds the
# memory to _BLOCK x p floats while keeping BLAS calls large.
_BLOCK = 4096


def _spectrum(X, k, svd):
    """Return the top-k spectrum of X, or check and reuse a precomputed one."""
    if svd is None:
        return top_singular(X, k)
    if not isinstance(svd, Spectrum):
        raise TypeError("svd must be a Spectrum returned by cosim_helpers.spectral.top_singular")
    if svd.V.shape != (X.shape[1], len(svd.s)) or len(svd.s) < k:
        raise ValueError(
            f"svd does not match X of shape {X.shape} and k = {k}: "
            f"it holds {len(svd.s)} singular vectors of length {svd.V.shape[0]}"
        )
    return Spectrum(svd.s[:k], svd.V[:, :k])


def shrinkage_objective1(s, lam) -> np.ndarray:
    """Objective-1 shrinkage ``σ² / (σ² + λ) = 1 / (1 + λ/σ²)`` per singular value.

    ``σ = 0`` gives 0 (that direction carries no data; for ``λ = 0`` the
    loss is flat there and 0 is the minimum-norm choice).
    """
    s2 = np.asarray(s, dtype=float) ** 2
    out = np.zeros_like(s2)
    np.divide(s2, s2 + lam, out=out, where=s2 > 0)
    return out


def shrinkage_objective2(s, lam) -> np.ndarray:
    """Objective-2 shrinkage ``(1 − λ/σ)_+`` per singular value (soft threshold).

    ``σ (1 − λ/σ)_+ = (σ − λ)_+``: the singular values of ``XÂB̂ᵀ`` are those
    of ``X`` soft-thresholded at ``λ`` (book chapter 5). ``σ = 0`` gives 0.
    """
    s = np.asarray(s, dtype=float)
    out = np.zeros_like(s)
    np.divide(np.clip(s - lam, 0.0, None), s, out=out, where=s > 0)
    return out


def fit_objective1(X, k: int, lam: float, *, svd: Spectrum | None = None):
    """Symmetric closed-form optimum of objective 1 (paper Eq. 1 and Eq. 5).

    ``Â = B̂ = V_k dMat(1/(1+λ/σ_i²))^{1/2}``, so that
    ``ÂB̂ᵀ = V_k dMat(1/(1+λ/σ_i²)) V_kᵀ``. Every ``(ÂD, B̂D⁻¹)`` is optimal
    too (see :func:`rescale`).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    k : int
        Embedding dimension, ``1 <= k <= min(n, p)``.
    lam : float
        Regularisation strength ``λ >= 0``.
    svd : Spectrum, optional
        A precomputed :func:`~cosim_helpers.spectral.top_singular` of ``X``
        with at least ``k`` components, to share one decomposition between
        several fits.

    Returns
    -------
    A, B : numpy.ndarray, each of shape (p, k)
    """
    X = as_data_matrix(X)
    k = check_rank(k, X.shape)
    lam = check_nonnegative(lam)
    s, V = _spectrum(X, k, svd)
    A = V * np.sqrt(shrinkage_objective1(s, lam))
    return A, A.copy()


def fit_objective2(X, k: int, lam: float, *, svd: Spectrum | None = None):
    """Closed-form optimum of objective 2 (paper Eq. 2, §2.3).

    ``Â = V_k dMat(√((1/σ_i)(1 − λ/σ_i)_+))`` and
    ``B̂ = V_k dMat(√(σ_i (1 − λ/σ_i)_+))``, hence
    ``XÂ = U_k dMat(√((σ_i − λ)_+))``. Unique up to a common rotation
    ``(ÂR, B̂R)`` when the top-k singular values are distinct and above λ.

    Parameters and returns as in :func:`fit_objective1`. A direction with
    ``σ_i <= λ`` is switched off (zero column in both factors).
    """
    X = as_data_matrix(X)
    k = check_rank(k, X.shape)
    lam = check_nonnegative(lam)
    s, V = _spectrum(X, k, svd)
    shrink = shrinkage_objective2(s, lam)
    inv_s = np.zeros_like(s)
    np.divide(1.0, s, out=inv_s, where=s > 0)
    A = V * np.sqrt(inv_s * shrink)
    B = V * np.sqrt(s * shrink)
    return A, B


def _check_factors(X, A, B):
    X = as_data_matrix(X)
    p = X.shape[1]
    A = as_factor(A, "A", rows=p)
    B = as_factor(B, "B", rows=p, cols=A.shape[1])
    return X, A, B


def reconstruction_error(X, A, B) -> float:
    """``‖X − XABᵀ‖²_F``, the data-fit term shared by both objectives.

    Computed from the residual itself (block by block over users), not from
    an expansion ``‖X‖² − 2⟨X, XABᵀ⟩ + ‖XABᵀ‖²`` that would cancel
    catastrophically when the fit is close to exact.
    """
    X, A, B = _check_factors(X, A, B)
    P = np.asarray(X @ A)
    total = 0.0
    for start in range(0, X.shape[0], _BLOCK):
        rows = slice(start, start + _BLOCK)
        Xb = X[rows].toarray() if sp.issparse(X) else X[rows]
        R = Xb - P[rows] @ B.T
        total += float(np.einsum("ij,ij->", R, R))
    return total


def loss_objective1(X, A, B, lam: float) -> float:
    """Objective 1 (paper Eq. 1): ``‖X − XABᵀ‖²_F + λ‖ABᵀ‖²_F``.

    Depends on ``A, B`` only through ``ABᵀ`` (book chapter 4).
    """
    X, A, B = _check_factors(X, A, B)
    lam = check_nonnegative(lam)
    # ‖ABᵀ‖²_F = tr((AᵀA)(BᵀB)) needs only k x k products, never the p x p matrix.
    penalty = float(np.sum((A.T @ A) * (B.T @ B)))
    return reconstruction_error(X, A, B) + lam * penalty


def loss_objective2(X, A, B, lam: float) -> float:
    """Objective 2 (paper Eq. 2): ``‖X − XABᵀ‖²_F + λ(‖XA‖²_F + ‖B‖²_F)``."""
    X, A, B = _check_factors(X, A, B)
    lam = check_nonnegative(lam)
    P = np.asarray(X @ A)
    penalty = float(np.sum(P * P) + np.sum(B * B))
    return reconstruction_error(X, A, B) + lam * penalty


def rescale(A, B, D):
    """Apply the D-freedom of objective 1: ``(A, B) -> (AD, BD⁻¹)``.

    Parameters
    ----------
    A, B : array_like, shape (p, k)
    D : array_like, shape (k,) or (k, k)
        Either the k diagonal entries of an invertible diagonal ``D`` (paper,
        §2.1), or any invertible k x k matrix ``G``, in which case the
        result is ``(AG, BG⁻ᵀ)``. Both leave ``ABᵀ`` unchanged.

    Returns
    -------
    A2, B2 : numpy.ndarray, shape (p, k)

    Raises
    ------
    ValueError
        If D has the wrong size, a zero diagonal entry, or is singular (or so
        ill-conditioned that ``G⁻ᵀ`` cannot be computed reliably).
    """
    A = as_factor(A, "A")
    B = as_factor(B, "B", rows=A.shape[0], cols=A.shape[1])
    k = A.shape[1]
    try:
        D = np.asarray(D, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"D must be numeric, got {type(D).__name__}") from exc
    if not np.all(np.isfinite(D)):
        raise ValueError("D contains NaN or inf")
    if D.ndim == 1:
        if D.shape != (k,):
            raise ValueError(f"D must have k = {k} diagonal entries, got {D.shape[0]}")
        if np.any(D == 0):
            raise ValueError("D is singular: it has a zero diagonal entry")
        return A * D, B / D
    if D.ndim == 2:
        if D.shape != (k, k):
            raise ValueError(f"D must be a {k} x {k} matrix, got shape {D.shape}")
        if np.linalg.cond(D) > 1.0 / (np.finfo(float).eps * k):
            raise ValueError("D is singular (or numerically so): it has no reliable inverse")
        # B G⁻ᵀ = (G⁻¹ Bᵀ)ᵀ: solve instead of forming the inverse.
        return A @ D, np.linalg.solve(D, B.T).T
    raise ValueError(f"D must be 1-D (diagonal entries) or 2-D (a k x k matrix), got {D.ndim}-D")
