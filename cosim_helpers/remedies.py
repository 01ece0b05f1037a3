"""Remedies for arbitrary cosine similarities (paper §3; book chapter 6).

Under objective 1 the cosine similarity of the learned embeddings depends on
an arbitrary diagonal rescaling ``D`` (paper §2.1, §2.2). The paper's §3
gives exactly three remedies; chapter 6 of the book implements each and
compares them on the same simulated data:

1. *Train with respect to cosine similarity*: :func:`train_cosine_model`
   fits a model whose predicted scores are ``γ · cos((XA)_u, b_i)`` (``γ``
   a scale; our model, the paper gives none), so that the cosines are what
   the model was trained on (:func:`cosine_model_scores`,
   :func:`cosine_model_loss`, :func:`cosine_model_loss_and_gradient`).
2. *Project back to the data space*: :func:`reconstruct` gives
   ``X̂ = XABᵀ``, which depends on ``A, B`` only through ``ABᵀ`` and is
   therefore the same for every optimum of objective 1. The paper's example
   compares the *rows* of ``X̂`` (users): :func:`projected_user_cosine`.
   Comparing its *columns* (items), :func:`projected_item_cosine`, is our
   adaptation.
3. *Normalise or de-bias before or during training*: the paper's
   statistical default is to standardise ``X`` (each column zero mean and
   unit variance), :func:`standardize_items` with ``method="zscore"``;
   ``method="unit_norm"`` (unit-norm columns) is a different normalisation
   of ours. :func:`matched_lambda` carries a regularisation strength over
   to the rescaled data.

The paper's caution that deep models mix several regularisers (its §5) is
not a remedy and has no code here. The cosine model of remedy 1 lives in
:mod:`cosim_helpers.cosine_model`; its names are re-exported here.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._validation import as_data_matrix, as_factor, as_square, check_nonnegative, check_objective, check_rank
from .cosine_model import (  # noqa: F401  (remedy 1, re-exported: chapter 6 imports it from here)
    CosineModelResult,
    cosine_model_loss,
    cosine_model_loss_and_gradient,
    cosine_model_scores,
    escape_to_dot_product,
    train_cosine_model,
)
from .models import fit_objective1, objective1_factors
from .similarity import cosine_similarity
from .spectral import Spectrum, gram, gram_spectrum
from .tables import format_rows as format_table  # noqa: F401  (old name, not a copy: chapters 6, 7, 10 import it)

# ---------------------------------------------------------------------------
# Remedy 2: project back to the data space
# ---------------------------------------------------------------------------


def reconstruct(X, A, B) -> np.ndarray:
    """The model's reconstruction ``X̂ = XABᵀ`` (dense, n x p) (remedy 2).

    Depends on ``A, B`` only through ``ABᵀ``, hence is the same for every
    optimum ``(ÂD, B̂D⁻¹)`` of objective 1 (paper §3, second remedy;
    book chapter 6).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A, B : array_like, shape (p, k)

    Returns
    -------
    numpy.ndarray, shape (n, p)
    """
    X = as_data_matrix(X)
    p = X.shape[1]
    A = as_factor(A, "A", rows=p)
    B = as_factor(B, "B", rows=p, cols=A.shape[1])
    return np.asarray(X @ A) @ B.T


def projected_item_cosine(X, A, B, *, G=None) -> np.ndarray:
    """Cosines between the item columns of ``X̂ = XABᵀ`` (remedy 2).

    Items are compared as vectors over users in the data space, not in the
    embedding space (paper §3, second remedy, applied to items: our
    adaptation, the paper compares users; book chapter 6). Computed without
    forming ``X̂``: ``X̂ᵀX̂ = B (AᵀXᵀXA) Bᵀ``, then
    ``Ω X̂ᵀX̂ Ω`` with ``Ω = dMat(1/‖x̂_j‖)``.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A, B : array_like, shape (p, k)
    G : array_like, shape (p, p), optional
        A precomputed Gram matrix ``XᵀX`` (e.g. from
        :func:`cosim_helpers.spectral.gram`); without it ``(XA)ᵀ(XA)`` is
        computed from ``X``, which is cheaper than forming ``G``.

    Returns
    -------
    numpy.ndarray, shape (p, p)
        Symmetric, entries in ``[-1, 1]``; an item whose column of ``X̂``
        is zero has cosine 0 to every item, itself included.
    """
    X = as_data_matrix(X)
    p = X.shape[1]
    A = as_factor(A, "A", rows=p)
    B = as_factor(B, "B", rows=p, cols=A.shape[1])
    if G is None:
        P = np.asarray(X @ A)
        core = P.T @ P
    else:
        G = as_square(G, "G", p)
        core = A.T @ (G @ A)
    return _column_cosine(B, core)


def _column_cosine(B, core):
    """Cosines between the columns of ``YABᵀ`` given ``core = (YA)ᵀ(YA)``: ``Ω B core Bᵀ Ω``."""
    p = B.shape[0]
    core = (core + core.T) / 2.0  # AᵀGA is symmetric; remove round-off
    BC = B @ core
    H = BC @ B.T
    sq = np.einsum("ij,ij->i", BC, B)  # the diagonal of H, ‖x̂_j‖²
    inv = np.zeros(p)
    scale = max(float(np.max(np.abs(sq))), np.finfo(float).tiny)
    pos = sq > scale * np.finfo(float).eps * p
    inv[pos] = 1.0 / np.sqrt(sq[pos])
    S = H * inv[:, None] * inv[None, :]
    return np.clip((S + S.T) / 2.0, -1.0, 1.0)


def projected_user_cosine(X, A, B, users=None) -> np.ndarray:
    """Cosines between the user rows of ``X̂ = XABᵀ``: the paper's project-back (remedy 2).

    The paper's example of its second remedy (§3) views ``XÂB̂ᵀ`` as a
    smoothed ``X`` and applies cosine similarity to its rows, i.e. to users
    described by their (predicted) items in the original item space. Like
    ``X̂`` itself, the result is the same for every optimum of objective 1.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A, B : array_like, shape (p, k)
    users : array_like of int, optional
        Indices of the users to compare (all n by default; the result is
        ``len(users) x len(users)``, so pick a subset for large n).

    Returns
    -------
    numpy.ndarray, shape (m, m)
        Entries in ``[-1, 1]``; a user whose row of ``X̂`` is zero has
        cosine 0 to every user (convention of
        :func:`cosim_helpers.similarity.cosine_similarity`).
    """
    X = as_data_matrix(X)
    n, p = X.shape
    A = as_factor(A, "A", rows=p)
    B = as_factor(B, "B", rows=p, cols=A.shape[1])
    if users is None:
        users = np.arange(n)
    users = np.asarray(users)
    if users.ndim != 1 or users.size == 0 or not np.issubdtype(users.dtype, np.integer):
        raise TypeError("users must be a non-empty 1-D array of integer row indices")
    if users.min() < -n or users.max() >= n:
        raise ValueError(f"users must index the {n} rows of X")
    return cosine_similarity(np.asarray(X[users] @ A) @ B.T)


# ---------------------------------------------------------------------------
# Remedy 3: normalise the data before training
# ---------------------------------------------------------------------------


def standardize_items(X, method: str):
    """Standardise or rescale the item columns of ``X`` before training (remedy 3).

    The paper's third remedy (§3; book chapter 6) is to normalise before or
    during training rather than only afterwards; its statistical default is
    to standardise the data, ``"zscore"``. ``"unit_norm"`` is a different
    normalisation (ours): it rescales without centring. There is no
    default: the caller says which one is meant.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
        Not modified.
    method : {"zscore", "unit_norm"}
        ``"zscore"`` (the paper's standardisation): subtract each column's
        mean and divide by its standard deviation (``ddof=0``), so every
        column has zero mean and unit variance; the result is dense.
        ``"unit_norm"``: divide column j by ``‖x_j‖`` (for 0/1 data the
        square root of item j's popularity count), so every column has unit
        Euclidean norm (not zero mean, not unit variance); zeros stay zeros
        and sparse input stays sparse (CSR).
        In both, an all-zero (or constant, for z-scores) column becomes 0.

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix, shape (n, p)
    """
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    if method not in ("unit_norm", "zscore"):
        raise ValueError(f"method must be 'unit_norm' or 'zscore', got {method!r}")
    X = as_data_matrix(X)
    if method == "unit_norm":
        if sp.issparse(X):
            norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
        else:
            norms = np.linalg.norm(X, axis=0)
        inv = np.zeros_like(norms)
        np.divide(1.0, norms, out=inv, where=norms > 0)
        if sp.issparse(X):
            return sp.csr_matrix(X @ sp.diags(inv))
        return X * inv[None, :]
    mean, inv_std = _column_moments(X)
    Xd = X.toarray() if sp.issparse(X) else np.array(X, dtype=float)
    Xd -= mean
    Xd *= inv_std[None, :]
    return Xd


def _column_moments(X):
    """Column means and ``1/std`` (``ddof = 0``) of X; 0 for a column constant up to round-off.

    The variance is the mean of ``(x − μ)²`` (no ``E[x²] − μ²`` cancellation);
    for sparse X the zeros contribute ``(n − nnz_j) μ_j²`` without being formed.
    """
    n = X.shape[0]
    mean = np.asarray(X.sum(axis=0)).ravel() / n
    if sp.issparse(X):
        Xc = sp.csc_matrix(X)
        nnz = np.diff(Xc.indptr)
        dev = Xc.data - np.repeat(mean, nnz)
        sq = np.bincount(np.repeat(np.arange(X.shape[1]), nnz), weights=dev * dev, minlength=X.shape[1])
        var = (sq + (n - nnz) * mean**2) / n
    else:
        var = np.mean((X - mean) ** 2, axis=0)
    std = np.sqrt(var)
    inv = np.zeros_like(std)
    # A column constant up to round-off is treated as constant.
    tol = np.finfo(float).eps * np.sqrt(n) * np.maximum(np.abs(mean), 1.0)
    np.divide(1.0, std, out=inv, where=std > tol)
    return mean, inv


def standardized_gram(X, *, G=None) -> np.ndarray:
    """``ZᵀZ`` for ``Z = standardize_items(X, "zscore")``, without forming Z (remedy 3).

    ``ZᵀZ = Ω (XᵀX − n μμᵀ) Ω`` with ``μ`` the column means and
    ``Ω = dMat(1/std)`` (0 for a constant column), so a sparse X stays sparse
    (Z is dense: 160 MB at the paper's scale).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    G : array_like, shape (p, p), optional
        A precomputed ``XᵀX`` (:func:`cosim_helpers.spectral.gram`).

    Returns
    -------
    numpy.ndarray, shape (p, p)
        Symmetric.
    """
    X = as_data_matrix(X)
    n, p = X.shape
    G = gram(X) if G is None else as_square(G, "G", p)
    mean, inv_std = _column_moments(X)
    GZ = (G - n * np.outer(mean, mean)) * inv_std[:, None] * inv_std[None, :]
    return (GZ + GZ.T) / 2.0


def matched_lambda(lam: float, X_from, X_to, objective: int) -> float:
    """Carry a regularisation strength over to rescaled data (book chapter 6).

    Objective 1 shrinks by ``1/(1 + λ/σ²)`` and objective 2 by
    ``(1 − λ/σ)_+`` (paper §2.2 and §2.3), so multiplying ``X`` by a
    constant ``t`` and ``λ`` by ``t²`` (objective 1) or ``t`` (objective 2)
    gives exactly the same shrinkage. For a non-uniform rescaling (as in
    :func:`standardize_items`) we use the same rule with
    ``t = ‖X_to‖_F / ‖X_from‖_F``, i.e. we keep λ fixed relative to the
    total energy of the data. This is a convention, not an optimum.

    Parameters
    ----------
    lam : float
        ``λ >= 0`` used with ``X_from``.
    X_from, X_to : array_like or scipy.sparse matrix
        The original and the rescaled data (any shapes, non-zero).
    objective : {1, 2}

    Returns
    -------
    float
        ``λ t²`` (objective 1) or ``λ t`` (objective 2).
    """
    lam = check_nonnegative(lam)
    objective = check_objective(objective)
    sq_norms = []
    for name, M in (("X_from", X_from), ("X_to", X_to)):
        M = as_data_matrix(M, name)
        sq = float(M.multiply(M).sum()) if sp.issparse(M) else float(np.sum(M * M))
        if sq == 0:
            raise ValueError(f"{name} must not be all zeros")
        sq_norms.append(sq)
    return _matched(lam, *sq_norms, objective)


def _matched(lam, sq_from, sq_to, objective):
    """``λ t²`` (objective 1) or ``λ t`` (objective 2) with ``t² = sq_to / sq_from``."""
    t2 = sq_to / sq_from
    return lam * t2 if objective == 1 else lam * float(np.sqrt(t2))


def remedy_similarities(X, k: int, lam: float, *, svd: Spectrum | None = None,
                        lam_standardized: float | None = None) -> dict:
    """Item-item similarity matrices of objective 1 and its remedies (book chapter 6).

    All from objective 1 (paper Eq. 1) at its symmetric optimum
    ``Â = B̂ = V_k dMat(w)^{1/2}``, ``w_i = 1/(1+λ/σ_i²)`` (Eq. 5); the
    default set of :class:`~cosim_helpers.widgets.RemediesExplorer`:

    ``"cosine"``
        ``cosSim(B̂, B̂)``: plain cosine of the item embeddings (D = I; any
        other D gives another matrix).
    ``"dot product"``
        ``B̂B̂ᵀ`` (= ``ÂB̂ᵀ`` for this representative; under another D it is
        ``B̂D⁻²B̂ᵀ``, so not unique either). Not a cosine: its scale is the data's.
    ``"project back"``
        :func:`projected_item_cosine`: cosine between the columns (items) of
        the smoothed data ``X̂ = XÂB̂ᵀ`` (paper Section 3, remedy 2; using
        columns is our adaptation); unique, since ``ÂB̂ᵀ`` is.
    ``"standardised: cosine"``, ``"standardised: project back"``
        The same two on standardised data ``Z``
        (:func:`standardize_items` ``"zscore"``), the paper's remedy 3
        (normalise before training), fitted from :func:`standardized_gram`
        so that a sparse X stays sparse.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    k : int
    lam : float
        Objective-1 ``λ`` for X.
    svd : Spectrum, optional
        Precomputed ``top_singular(X, k')``, ``k' >= k``.
    lam_standardized : float, optional
        ``λ`` for the standardised data. Default (the book's choice, the paper
        has no such experiment): :func:`matched_lambda` from X to Z, i.e.
        ``lam · ‖Z‖²_F / ‖X‖²_F``, the same penalty relative to the data's
        total sum of squares.

    Returns
    -------
    dict str -> numpy.ndarray of shape (p, p)
        In the order above; add more (e.g. a cosine-trained model) before
        passing it to the explorer.
    """
    X = as_data_matrix(X)
    n = X.shape[0]
    k = check_rank(k, X.shape)
    lam = check_nonnegative(lam)
    A, B = fit_objective1(X, k, lam, svd=svd)
    G = gram(X)
    out = {
        "cosine": cosine_similarity(B),
        "dot product": B @ B.T,
        "project back": _column_cosine(B, A.T @ G @ A),
    }
    GZ = standardized_gram(X, G=G)
    if lam_standardized is None:
        lam_z = _matched(lam, float(np.trace(G)), float(np.trace(GZ)), 1)
    else:
        lam_z = check_nonnegative(lam_standardized, "lam_standardized")
    _, BZ = objective1_factors(gram_spectrum(GZ, k, n=n), lam_z)
    out["standardised: cosine"] = cosine_similarity(BZ)
    out["standardised: project back"] = _column_cosine(BZ, BZ.T @ GZ @ BZ)
    return out
