"""Top-k singular values and right singular vectors of a data matrix.

Every closed form in the paper (§2.2, Eq. 5; §2.3) is a function of
the top-k part of the SVD ``X = U Σ Vᵀ``. For the paper's shapes
(n = 20,000 users >> p = 1,000 items) a full dense SVD of ``X`` wastes most of
its time on ``U``; we instead eigendecompose the p x p Gram matrix ``XᵀX``
(its eigenvalues are ``σ_i²``, its eigenvectors the columns of ``V``) and ask
the symmetric eigensolver for the top k pairs only.

For sparse data with thousands of items (book chapter 10, real data) even
that dense p x p problem is the bottleneck: ``solver="lanczos"`` finds the
same top-k pairs with the Lanczos method (ARPACK via
:func:`scipy.sparse.linalg.eigsh`), touching ``X`` only through products
``Xᵀ(Xv)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg

from ._validation import as_data_matrix, check_rank


class Spectrum(NamedTuple):
    """Top-k singular values ``s`` (descending) and right vectors ``V`` (p x k)."""

    s: np.ndarray
    V: np.ndarray


# Below this density a sparse product beats dense BLAS on row blocks.
_DENSE_GRAM_DENSITY = 0.01
_GRAM_BLOCK = 8192


def gram(X) -> np.ndarray:
    """Dense Gram matrix ``XᵀX`` (p x p) of a dense or sparse ``X``.

    Sparse input that is not very sparse (the paper's simulated data has a
    density of about 5%) is densified a block of rows at a time and
    multiplied with BLAS, which is several times faster than a sparse
    product and needs only one block of extra memory.
    """
    X = as_data_matrix(X)
    if not sp.issparse(X):
        return X.T @ X
    n, p = X.shape
    if X.nnz < _DENSE_GRAM_DENSITY * n * p:
        return (X.T @ X).toarray()
    # Integer data (0/1 interactions, counts) whose block sums stay below 2^24
    # is multiplied in float32: every product and partial sum is then an
    # integer that float32 represents exactly, so the result is exact and the
    # BLAS call twice as fast. Blocks are added up in float64.
    data = X.data
    exact32 = bool(np.all(data == np.round(data))) and (
        float(np.max(np.abs(data), initial=0.0)) ** 2 * _GRAM_BLOCK < 2.0**24)
    dtype = np.float32 if exact32 else np.float64
    G = np.zeros((p, p))
    for start in range(0, n, _GRAM_BLOCK):
        Xb = X[start:start + _GRAM_BLOCK].toarray().astype(dtype, copy=False)
        G += Xb.T @ Xb
    return G


def _fix_signs(V: np.ndarray) -> np.ndarray:
    """Flip columns so each one's largest-magnitude entry is positive.

    Singular vectors are defined up to sign; fixing it makes every output of
    the package identical across machines and BLAS libraries.
    """
    idx = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[idx, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs


def top_singular(X, k: int, *, solver: str = "dense") -> Spectrum:
    """Top-k singular values and right singular vectors of ``X``.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    k : int
        ``1 <= k <= min(n, p)``.
    solver : {"dense", "lanczos"}
        ``"dense"`` (default): a dense eigendecomposition of the smaller Gram
        matrix, exact to round-off. ``"lanczos"``: the Lanczos method on the
        same Gram matrix as an operator ``v -> Xᵀ(Xv)`` (or ``XXᵀ``), never
        formed; much faster for sparse ``X`` with thousands of columns and
        ``k`` far below ``min(n, p)`` (book chapter 10). Its start vector is
        drawn from a fixed seed and it iterates to machine precision
        (``tol=0``), so it is deterministic and agrees with ``"dense"`` to
        round-off in the singular values (``tests/test_spectral.py``). When
        ``k >= min(n, p) / 2`` it offers no saving and the dense solver is
        used instead.

    Returns
    -------
    Spectrum
        ``s`` of shape (k,), descending and >= 0, and ``V`` of shape (p, k)
        with orthonormal columns and a deterministic sign (the largest entry
        of each column is positive).

    Notes
    -----
    When ``p <= n`` we use ``eigh(XᵀX)`` restricted to its top k eigenpairs.
    When ``p > n`` we eigendecompose ``XXᵀ`` (n x n) instead and map its
    eigenvectors ``u_i`` to ``v_i = Xᵀu_i / σ_i``; a direction with
    ``σ_i = 0`` (rank of X below k) then gets a zero column, which every fit
    in :mod:`cosim_helpers.models` multiplies by 0 anyway.

    Accuracy: squaring doubles the condition number, so a singular value is
    accurate to about ``eps · max(n, p) · σ₁² / σ_i`` in absolute terms; this
    is far below what the closed forms need for ``σ_i`` of interest, and
    values at the noise floor (``σ_i² < eps · max(n, p) · σ₁²``) are set to 0.
    A singular vector whose singular value is (nearly) repeated is only
    defined up to a rotation within its eigenspace, by either solver.
    """
    X = as_data_matrix(X)
    n, p = X.shape
    k = check_rank(k, X.shape)
    if not isinstance(solver, str):
        raise TypeError(f"solver must be a string, got {type(solver).__name__}")
    if solver not in ("dense", "lanczos"):
        raise ValueError(f"solver must be 'dense' or 'lanczos', got {solver!r}")
    lanczos = solver == "lanczos" and 2 * k < min(n, p)
    if p <= n:
        w, V = _lanczos_gram(X, k) if lanczos else scipy.linalg.eigh(gram(X), subset_by_index=[p - k, p - 1])
        order = np.argsort(w)[::-1]
        return Spectrum(_singular_values(w[order], X.shape), _fix_signs(V[:, order]))
    if lanczos:
        w, U = _lanczos_gram(X.T, k)
    else:
        w, U = scipy.linalg.eigh(gram(X.T), subset_by_index=[n - k, n - 1])
    order = np.argsort(w)[::-1]
    s = _singular_values(w[order], X.shape)
    XtU = np.asarray(X.T @ U[:, order])
    V = np.zeros((p, k))
    pos = s > 0
    V[:, pos] = XtU[:, pos] / s[pos]
    return Spectrum(s, _fix_signs(V))


# Seed of the Lanczos start vector: fixed, so that results are reproducible.
_LANCZOS_SEED = 0


def _lanczos_gram(X, k):
    """Top-k eigenpairs of ``XᵀX`` (ascending, as ``eigh``) by Lanczos, without forming it."""
    p = X.shape[1]
    Xr = X.tocsr() if sp.issparse(X) else X
    Xt = Xr.T.tocsr() if sp.issparse(Xr) else Xr.T
    op = scipy.sparse.linalg.LinearOperator((p, p), matvec=lambda v: Xt @ (Xr @ v), dtype=np.float64)
    v0 = np.random.default_rng(_LANCZOS_SEED).standard_normal(p)
    return scipy.sparse.linalg.eigsh(op, k=k, which="LA", v0=v0, tol=0)


def _singular_values(eigenvalues, shape):
    """``σ_i = √λ_i`` of the Gram matrix, with its round-off floor set to 0.

    Eigenvalues of ``XᵀX`` carry an absolute error of about
    ``eps · max(n, p) · σ₁²``; below that floor a computed eigenvalue is noise
    (it would become a spurious ``σ ≈ 1e-7 σ₁``), so it is reported as an
    exact zero, i.e. X is treated as rank-deficient there.
    """
    floor = np.finfo(float).eps * max(shape) * max(float(eigenvalues[0]), 0.0)
    return np.sqrt(np.where(eigenvalues > floor, eigenvalues, 0.0))
