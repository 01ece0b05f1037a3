"""The paper's linear model, its two training objectives and their optima.

The model is ``X ≈ X A Bᵀ`` with ``A, B`` of shape (p, k): item embeddings are
the rows of ``B``, user embeddings the rows of ``XA`` (paper §2). Chapters 3
to 5 of the book derive what is implemented here:

* Objective 1 (paper Eq. 1, §2.1): ``‖X − XABᵀ‖²_F + λ‖ABᵀ‖²_F``; its optimum
  is unique only as the product ``ABᵀ`` (closed form and Eq. 5, one
  representative, in §2.2).
* Objective 2 (paper Eq. 2, §2.1): ``‖X − XABᵀ‖²_F + λ(‖XA‖²_F + ‖B‖²_F)``;
  its optimum is unique up to a rotation when the cut after ``k`` does not
  split equal singular values above ``λ`` (§2.3; book chapter 5).
* :func:`rescale` applies the D-freedom ``(A, B) -> (AD, BD⁻¹)`` (§2.1).
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_data_matrix,
    as_factor,
    as_real_array,
    as_square,
    check_nonnegative,
    check_objective,
    check_rank,
    check_spectrum,
    dense_row_blocks,
)
from .spectral import Spectrum, top_singular

#: Largest condition number of a general ``G`` that :func:`rescale` accepts:
#: ``ABᵀ`` then moves by at most about ``cond(G) · eps ≈ 2e-8`` (relative).
MAX_CONDITION = 1e8


def _spectrum(X, k, svd):
    """Return the top-k spectrum of X, or check and reuse a precomputed one."""
    if svd is None:
        return top_singular(X, k)
    return check_spectrum(svd, X.shape, k)


def shrinkage_objective1(s, lam) -> np.ndarray:
    """Objective-1 shrinkage ``w_i = σ_i² / (σ_i² + λ) = 1 / (1 + λ/σ_i²)`` (paper §2.2).

    ``σ = 0`` gives 0 (that direction carries no data; for ``λ = 0`` the
    loss is flat there and 0 is the minimum-norm choice).
    """
    s = np.asarray(s, dtype=float)
    out = np.zeros_like(s)
    pos = s > 0
    # 1/(1 + (λ/σ)/σ): never squares σ, so it neither underflows (σ = 1e-170)
    # nor overflows (σ = 1e160).
    with np.errstate(over="ignore"):
        out[pos] = 1.0 / (1.0 + (lam / s[pos]) / s[pos])
    return out


def shrinkage_objective2(s, lam) -> np.ndarray:
    """Objective-2 shrinkage ``ρ_i/σ_i = (1 − λ/σ_i)_+`` per singular value (paper §2.3).

    ``σ_i (1 − λ/σ_i)_+ = (σ_i − λ)_+ = ρ_i``: the singular values of ``XÂB̂ᵀ``
    are those of ``X`` soft-thresholded at ``λ`` (book chapter 5). ``σ = 0``
    gives 0.
    """
    s = np.asarray(s, dtype=float)
    out = np.zeros_like(s)
    np.divide(np.clip(s - lam, 0.0, None), s, out=out, where=s > 0)
    return out


def fit_objective1(X, k: int, lam: float, *, svd: Spectrum | None = None):
    """Symmetric closed-form optimum of objective 1 (paper Eq. 1; Eq. 5 in §2.2).

    ``Â = B̂ = V_k W^{1/2}`` with ``W = dMat(w_i)``,
    ``w_i = σ_i²/(σ_i² + λ) = 1/(1+λ/σ_i²)``, so that ``ÂB̂ᵀ = V_k W V_kᵀ``.
    Every ``(ÂD, B̂D⁻¹)``, indeed every ``(ÂG, B̂G⁻ᵀ)`` with ``G``
    invertible, is optimal too (see :func:`rescale`; book chapter 4).

    The optimal product ``ÂB̂ᵀ`` is unique when the cut after ``k`` does not
    split a tie: ``σ_k > σ_{k+1}`` or ``σ_{k+1} = 0``. Ties inside the top
    ``k`` are harmless (a tied group enters only through its projector). If
    ``σ_k = σ_{k+1} > 0``, any ``j``-dimensional subspace of the tied singular
    subspace may be kept (``j`` = the tied values among the top k): the
    returned ``V_k`` is one such choice.

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
    return objective1_factors(_spectrum(X, k, svd), lam)


def objective1_factors(svd: Spectrum, lam: float):
    """The symmetric objective-1 optimum (paper Eq. 5) from a spectrum ``(s, V)``.

    ``Â = B̂ = V dMat(w)^{1/2}`` with ``w_i = σ_i²/(σ_i² + λ)``: what
    :func:`fit_objective1` returns, for a spectrum obtained some other way
    (e.g. from a Gram matrix, :func:`~cosim_helpers.spectral.gram_spectrum`).
    """
    svd = check_spectrum(svd)
    lam = check_nonnegative(lam)
    A = svd.V * np.sqrt(shrinkage_objective1(svd.s, lam))
    return A, A.copy()


def fit_objective2(X, k: int, lam: float, *, svd: Spectrum | None = None):
    """Closed-form optimum of objective 2 (paper Eq. 2, §2.3).

    ``Â = V_k dMat(√((1/σ_i)(1 − λ/σ_i)_+))`` and
    ``B̂ = V_k dMat(√(σ_i (1 − λ/σ_i)_+))``, hence
    ``XÂ = U_k dMat(√ρ_i)`` and ``B̂ = V_k dMat(√ρ_i)`` with the soft
    threshold ``ρ_i = (σ_i − λ)_+`` (book chapter 5).

    Uniqueness (book chapter 5): the item embeddings ``B̂`` and the user
    embeddings ``XÂ`` are unique up to a common rotation ``(ÂR, B̂R)``, which
    changes no cosine, so their cosine similarities are unique, whenever the cut after ``k`` does not
    split a tie above λ: ``σ_k > σ_{k+1}`` or ``σ_{k+1} <= λ``. Ties inside
    the top ``k`` are harmless; only the formula's ``V_k`` is then one of
    many equivalent bases. ``A`` itself is unique only up to the null space
    of ``X`` (``A + N`` with ``XN = 0`` is optimal too).

    Parameters and returns as in :func:`fit_objective1`. A direction with
    ``σ_i <= λ`` is switched off (zero column in both factors).
    """
    X = as_data_matrix(X)
    k = check_rank(k, X.shape)
    lam = check_nonnegative(lam)
    return objective2_factors(_spectrum(X, k, svd), lam)


def objective2_factors(svd: Spectrum, lam: float):
    """The objective-2 optimum (paper Eq. 2) from a spectrum ``(s, V)``; see :func:`fit_objective2`."""
    svd = check_spectrum(svd)
    lam = check_nonnegative(lam)
    s, V = svd
    shrink = shrinkage_objective2(s, lam)
    inv_s = np.zeros_like(s)
    np.divide(1.0, s, out=inv_s, where=s > 0)
    return V * np.sqrt(inv_s * shrink), V * np.sqrt(s * shrink)


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
    for rows, Xb in dense_row_blocks(X):
        R = Xb - P[rows] @ B.T
        total += float(np.einsum("ij,ij->", R, R))
    return total


def loss_objective1(X, A, B, lam: float) -> float:
    """Objective 1 (paper Eq. 1, §2.1): ``‖X − XABᵀ‖²_F + λ‖ABᵀ‖²_F``.

    Depends on ``A, B`` only through ``ABᵀ`` (book chapter 4).
    """
    X, A, B = _check_factors(X, A, B)
    lam = check_nonnegative(lam)
    # ‖ABᵀ‖²_F = tr((AᵀA)(BᵀB)) needs only k x k products, never the p x p matrix.
    penalty = float(np.sum((A.T @ A) * (B.T @ B)))
    return reconstruction_error(X, A, B) + lam * penalty


def loss_objective2(X, A, B, lam: float) -> float:
    """Objective 2 (paper Eq. 2, §2.1): ``‖X − XABᵀ‖²_F + λ(‖XA‖²_F + ‖B‖²_F)``."""
    X, A, B = _check_factors(X, A, B)
    lam = check_nonnegative(lam)
    P = np.asarray(X @ A)
    penalty = float(np.sum(P * P) + np.sum(B * B))
    return reconstruction_error(X, A, B) + lam * penalty


def _kk(E, F):
    """``EᵀF`` (k x k) in numpy's own loops, without BLAS threads.

    These products are tiny (p·k² flops), but a multi-threaded BLAS call can
    stall for a whole scheduler time slice on a busy shared machine (measured:
    a 100 ms median for the D explorer's loss with two BLAS threads under load).
    """
    return np.einsum("ij,ik->jk", E, F)


class GramObjective:
    """Objective 1 or 2 and its exact gradient, evaluated from the Gram matrix ``G = XᵀX``.

    With ``M = ABᵀ`` the data-fit term is
    ``‖X − XM‖²_F = tr(G) − 2⟨GA, B⟩ + ⟨AᵀGA, BᵀB⟩``; objective 1 (paper
    Eq. 1) adds ``λ‖ABᵀ‖²_F = λ⟨AᵀA, BᵀB⟩``, objective 2 (paper Eq. 2) adds
    ``λ(‖XA‖²_F + ‖B‖²_F) = λ(⟨A, GA⟩ + ‖B‖²_F)``. One evaluation costs one
    p x p x k product, whatever the number of users n, and never forms the
    p x p matrix M. The gradients are ``∂/∂A = −2(GB − GA BᵀB)`` and
    ``∂/∂B = −2(GA − B AᵀGA)`` for the fit, plus ``2λA BᵀB`` and ``2λB AᵀA``
    (objective 1) or ``2λGA`` and ``2λB`` (objective 2); the tests check them
    against finite differences.

    The expansion loses about ``eps · tr(G) / loss`` in relative accuracy
    compared with the residual-based :func:`loss_objective1` (harmless
    unless the fit is nearly exact). :mod:`~cosim_helpers.training` and the
    D explorer (:mod:`~cosim_helpers.widgets`) both use this class.

    Parameters
    ----------
    G : array_like, shape (p, p)
        ``XᵀX`` (e.g. :func:`cosim_helpers.spectral.gram`); not copied, not modified.
    lam : float
        ``λ >= 0``.
    objective : {1, 2}
    """

    def __init__(self, G, lam: float, objective: int):
        self.G = as_square(G, "G")
        self.lam = check_nonnegative(lam)
        self.objective = check_objective(objective)
        self.trace = float(np.trace(self.G))

    def _factors(self, A, B, GA):
        p = self.G.shape[0]
        A = as_factor(A, "A", rows=p)
        B = as_factor(B, "B", rows=p, cols=A.shape[1])
        GA = self.G @ A if GA is None else as_factor(GA, "GA", rows=p, cols=A.shape[1])
        return A, B, GA

    def loss(self, A, B, *, GA=None) -> float:
        """The objective at ``(A, B)``.

        ``GA`` (optional) is ``G @ A`` when the caller already has it, e.g.
        ``(GÂ)D`` for the rescaled ``ÂD``; it saves the p x p x k product.
        """
        A, B, GA = self._factors(A, B, GA)
        BtB = _kk(B, B)
        AtGA = _kk(A, GA)
        fit = self.trace - 2.0 * float(np.sum(GA * B)) + float(np.sum(AtGA * BtB))
        if self.objective == 1:
            return fit + self.lam * float(np.sum(_kk(A, A) * BtB))
        return fit + self.lam * (float(np.trace(AtGA)) + float(np.sum(B * B)))

    def loss_and_gradient(self, A, B):
        """``(loss, ∂L/∂A, ∂L/∂B)`` at ``(A, B)``; the gradients have shape (p, k)."""
        A, B, GA = self._factors(A, B, None)
        BtB = _kk(B, B)
        AtGA = _kk(A, GA)
        fit = self.trace - 2.0 * float(np.sum(GA * B)) + float(np.sum(AtGA * BtB))
        dA = -2.0 * (self.G @ B - GA @ BtB)
        dB = -2.0 * (GA - B @ AtGA)
        lam = self.lam
        if self.objective == 1:
            AtA = _kk(A, A)
            return (fit + lam * float(np.sum(AtA * BtB)), dA + 2.0 * lam * A @ BtB, dB + 2.0 * lam * B @ AtA)
        return fit + lam * (float(np.trace(AtGA)) + float(np.sum(B * B))), dA + 2.0 * lam * GA, dB + 2.0 * lam * B


def loss_objective1_gram(G, A, B, lam: float) -> float:
    """Objective 1 (paper Eq. 1) from the Gram matrix ``G = XᵀX``: :class:`GramObjective` ``(G, lam, 1).loss(A, B)``."""
    return GramObjective(G, lam, 1).loss(A, B)


def rescale(A, B, D):
    """Apply the D-freedom of objective 1 (paper §2.1): ``(A, B) -> (AD, BD⁻¹)``.

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
        If D has the wrong size or a zero diagonal entry; if a diagonal D
        makes an entry of ``AD`` or ``BD⁻¹`` overflow or underflow; if a
        general ``G`` has a condition number above :data:`MAX_CONDITION`
        (1e8), beyond which ``ABᵀ`` would move by more than about 1e-8.
    """
    A = as_factor(A, "A")
    B = as_factor(B, "B", rows=A.shape[0], cols=A.shape[1])
    k = A.shape[1]
    D = as_real_array(D, "D", "numeric")
    if not np.all(np.isfinite(D)):
        raise ValueError("D contains NaN or inf")
    if D.ndim == 1:
        if D.shape != (k,):
            raise ValueError(f"D must have k = {k} diagonal entries, got {D.shape[0]}")
        if np.any(D == 0):
            raise ValueError("D is singular: it has a zero diagonal entry")
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            A2, B2 = A * D, B / D
        # Entrywise products are exact to an ulp, so ABᵀ is kept unless an
        # entry over- or underflows: that is the one way a diagonal D can fail.
        tiny = np.finfo(float).tiny
        if not (np.all(np.isfinite(A2)) and np.all(np.isfinite(B2))) or \
                np.any((A != 0) & (np.abs(A2) < tiny)) or np.any((B != 0) & (np.abs(B2) < tiny)):
            raise ValueError("D is too extreme for these factors: AD or BD⁻¹ overflows or underflows "
                             f"(|D| ranges from {np.abs(D).min():.3g} to {np.abs(D).max():.3g})")
        return A2, B2
    if D.ndim == 2:
        if D.shape != (k, k):
            raise ValueError(f"D must be a {k} x {k} matrix, got shape {D.shape}")
        cond = np.linalg.cond(D)
        if not cond <= MAX_CONDITION:
            raise ValueError(f"D is singular or too ill-conditioned: its condition number {cond:.3g} exceeds "
                             f"{MAX_CONDITION:.0e}, beyond which G⁻ᵀ would move ABᵀ by more than about 1e-8")
        # B G⁻ᵀ = (G⁻¹ Bᵀ)ᵀ: solve instead of forming the inverse.
        return A @ D, np.linalg.solve(D, B.T).T
    raise ValueError(f"D must be 1-D (diagonal entries) or 2-D (a k x k matrix), got {D.ndim}-D")
