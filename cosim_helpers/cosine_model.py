"""Remedy 1: a model trained with respect to cosine similarity (paper Section 3; book chapter 6).

The paper's first remedy is to train a model with respect to cosine
similarity itself. Book chapter 6 uses the model of this module: the linear
autoencoder's user embeddings ``XA`` and item embeddings ``B`` with the dot
product replaced by a scaled cosine, ``γ · cos((XA)_u, b_i)``
(:func:`cosine_model_scores`), fitted by :func:`train_cosine_model` on the
squared error (:func:`cosine_model_loss`, with its exact gradient
:func:`cosine_model_loss_and_gradient`). :func:`escape_to_dot_product` shows
why the scale ``γ`` is fixed rather than learned. :mod:`cosim_helpers.remedies`
re-exports every name.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from ._validation import (
    as_data_matrix,
    as_factor,
    as_generator,
    check_int,
    check_nonnegative,
    check_positive,
    check_rank,
    check_real,
    dense_row_blocks,
)
from .similarity import inverse_row_norms


class CosineModelResult(NamedTuple):
    """Output of :func:`train_cosine_model`.

    Attributes
    ----------
    A, B : numpy.ndarray, shape (p, k)
        User embeddings are the rows of ``XA``, item embeddings the rows of
        ``B``; only their directions (and ``A`` up to a positive factor)
        enter the scores.
    scale : float
        The scale ``γ`` of the scores ``γ · cos((XA)_u, b_i)``.
    losses : numpy.ndarray
        Loss at the start and after every L-BFGS iteration.
    converged : bool
        Whether L-BFGS met its tolerance before ``max_iter``.
    """

    A: np.ndarray
    B: np.ndarray
    scale: float
    losses: np.ndarray
    converged: bool


def _cosine_factors(X, A, B):
    """Check ``X, A, B`` and return them with ``XA``, ``Ω_{XA} XA`` and ``Ω_B B``."""
    X = as_data_matrix(X)
    p = X.shape[1]
    A = as_factor(A, "A", rows=p)
    B = as_factor(B, "B", rows=p, cols=A.shape[1])
    P = np.asarray(X @ A)
    inv_p = inverse_row_norms(P)
    inv_b = inverse_row_norms(B)
    return X, A, B, P, inv_p, inv_b


def cosine_model_scores(X, A, B, scale: float) -> np.ndarray:
    """Predicted scores of the cosine model, ``γ · cos((XA)_u, b_i)`` (remedy 1).

    The paper's first remedy (Section 3) is to train a model with respect to
    cosine similarity; book chapter 6 uses this model: the usual linear
    autoencoder's user embeddings ``XA`` and item embeddings ``B``, with the
    dot product replaced by a scaled cosine,

    ``Ŝ = γ · Ω_{XA} XA Bᵀ Ω_B``.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A, B : array_like, shape (p, k)
    scale : float
        The scale ``γ``.

    Returns
    -------
    numpy.ndarray, shape (n, p)
        Dense. A user whose embedding ``(XA)_u`` is zero, or an item with
        ``b_i = 0``, gets score 0 (the convention of
        :func:`cosim_helpers.similarity.cosine_similarity`).
    """
    X, A, B, P, inv_p, inv_b = _cosine_factors(X, A, B)
    scale = check_real(scale, "scale")
    return scale * (P * inv_p[:, None]) @ (B * inv_b[:, None]).T


def cosine_model_loss(X, A, B, scale: float) -> float:
    """Squared error ``‖X − γ · Ω_{XA} XA Bᵀ Ω_B‖²_F`` of the cosine model.

    Computed from the residual itself, a block of users at a time, so that
    it stays accurate when the fit is close to exact (book chapter 6). The
    model has no penalty term: the unit normalisation already makes the
    scores independent of the lengths of ``(XA)_u`` and ``b_i``, so a
    penalty on those lengths would not constrain the scores at all.

    Parameters and conventions as in :func:`cosine_model_scores`.

    Returns
    -------
    float
    """
    X, A, B, P, inv_p, inv_b = _cosine_factors(X, A, B)
    scale = check_real(scale, "scale")
    Pn = P * inv_p[:, None]
    Bn = B * inv_b[:, None]
    total = 0.0
    for rows, Xb in dense_row_blocks(X):
        R = Xb - scale * (Pn[rows] @ Bn.T)
        total += float(np.einsum("ij,ij->", R, R))
    return total


def _normalised_backprop(g, En, inv_norm):
    """Gradient with respect to ``e`` from the gradient ``g`` with respect to ``e/‖e‖``.

    ``∂(e/‖e‖)/∂e = (I − ẽẽᵀ)/‖e‖`` row by row; a zero row gets gradient 0.
    """
    return (g - np.sum(g * En, axis=1, keepdims=True) * En) * inv_norm[:, None]


def _cosine_loss_grad(X, XT, sq_norm_X, A, B, scale):
    """Loss and gradient of the cosine model (fast: ``n x p`` never formed).

    The small dense products use ``np.einsum`` rather than BLAS on purpose:
    this function is called hundreds of times per fit, and multithreaded
    BLAS on such small matrices can be many times slower than one thread
    when the cores are shared (numpy and scipy each bring a BLAS thread pool).
    """
    P = np.asarray(X @ A)
    inv_p = inverse_row_norms(P)
    inv_b = inverse_row_norms(B)
    Pn = P * inv_p[:, None]
    Bn = B * inv_b[:, None]
    XBn = np.asarray(X @ Bn)
    PtP = np.einsum("ni,nj->ij", Pn, Pn)
    BtB = np.einsum("ni,nj->ij", Bn, Bn)
    cross = float(np.sum(Pn * XBn))  # ⟨X, P̃B̃ᵀ⟩
    quad = float(np.sum(PtP * BtB))  # ‖P̃B̃ᵀ‖²_F
    loss = sq_norm_X - 2.0 * scale * cross + scale**2 * quad
    g_Pn = -2.0 * scale * XBn + 2.0 * scale**2 * np.einsum("ni,ij->nj", Pn, BtB)
    g_Bn = -2.0 * scale * np.asarray(XT @ Pn) + 2.0 * scale**2 * np.einsum("ni,ij->nj", Bn, PtP)
    dA = np.asarray(XT @ _normalised_backprop(g_Pn, Pn, inv_p))
    dB = _normalised_backprop(g_Bn, Bn, inv_b)
    dscale = -2.0 * cross + 2.0 * scale * quad
    return loss, dA, dB, dscale


def cosine_model_loss_and_gradient(X, A, B, scale: float):
    """Loss of the cosine model and its exact gradient (book chapter 6).

    With ``P = XA``, ``P̃ = Ω_P P``, ``B̃ = Ω_B B`` and ``γ`` the scale,

    ``L = ‖X‖²_F − 2c⟨X, P̃B̃ᵀ⟩ + c²⟨P̃ᵀP̃, B̃ᵀB̃⟩``,

    ``∂L/∂P̃ = −2γ XB̃ + 2γ² P̃(B̃ᵀB̃)``, ``∂L/∂B̃ = −2γ XᵀP̃ + 2γ² B̃(P̃ᵀP̃)``,
    ``∂L/∂c = −2⟨X, P̃B̃ᵀ⟩ + 2γ‖P̃B̃ᵀ‖²_F``; each row ``e`` of ``P`` or ``B``
    then gets ``(I − ẽẽᵀ)(∂L/∂ẽ)/‖e‖`` and finally ``∂L/∂A = Xᵀ ∂L/∂P``.
    Only products with ``X`` and ``k x k`` matrices are needed, so one call
    costs ``O(nnz(X)·k + (n + p)k²)``.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A, B : array_like, shape (p, k)
    scale : float

    Returns
    -------
    loss : float
        Equal to :func:`cosine_model_loss` up to round-off (it is computed
        by the expansion above, which can lose relative accuracy when the
        fit is almost exact).
    dA, dB : numpy.ndarray, shape (p, k)
    dscale : float
        A zero row of ``XA`` or ``B`` (where the cosine is not
        differentiable) contributes gradient 0.
    """
    X, A, B, _, _, _ = _cosine_factors(X, A, B)
    scale = check_real(scale, "scale")
    sq = float(X.multiply(X).sum()) if sp.issparse(X) else float(np.sum(X * X))
    return _cosine_loss_grad(X, X.T, sq, A, B, scale)


def train_cosine_model(
    X,
    k: int,
    *,
    scale: float | None = 1.0,
    seed=0,
    init=None,
    init_scale: float = 0.1,
    max_iter: int = 500,
    gtol: float = 1e-9,
    callback=None,
) -> CosineModelResult:
    """Fit the cosine model ``γ · cos((XA)_u, b_i)`` with L-BFGS (remedy 1).

    Minimises :func:`cosine_model_loss` over ``A``, ``B`` (and ``γ`` unless
    it is fixed) using the exact gradient of
    :func:`cosine_model_loss_and_gradient` (paper Section 3, first remedy;
    book chapter 6). The loss is not convex; the result depends on the
    start, which is random (``seed``) unless ``init`` is given.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    k : int
        Embedding dimension, ``1 <= k <= min(n, p)``.
    scale : float or None
        A number (default 1.0): ``γ`` is held fixed at that value. With 0/1
        data, ``γ = 1`` lets a perfectly aligned pair predict 1 and an
        orthogonal pair 0. ``None``: ``γ`` is learned together with ``A``
        and ``B``, starting from the least-squares value for the initial
        embeddings. Beware: the loss can then keep decreasing while ``|γ|``
        grows, and as ``|γ| → ∞`` the cosine model can imitate a dot-product
        model (see :func:`escape_to_dot_product`).
    seed : int, None or numpy.random.Generator
        Random start: entries of ``A`` and ``B`` are ``N(0, init_scale²)``.
        Ignored when ``init`` is given.
    init : (array_like, array_like), optional
        Starting ``(A, B)``, each of shape (p, k). Not modified. No row of
        ``B``, and no row of ``XA`` for a user with data, may be zero (the
        cosine is undefined there and the row would never move).
    init_scale : float
        Standard deviation of the random start (> 0).
    max_iter : int
        Maximum number of L-BFGS iterations (>= 1).
    gtol : float
        Stop when the largest gradient entry, relative to ``‖X‖²_F``, falls
        below this (> 0).
    callback : callable, optional
        Called after every iteration as ``callback(iteration, A, B, γ)``
        (copies), e.g. to record snapshots.

    Returns
    -------
    CosineModelResult
    """
    X = as_data_matrix(X)
    k = check_rank(k, X.shape)
    p = X.shape[1]
    init_scale = check_nonnegative(init_scale, "init_scale")
    max_iter = check_int(max_iter, "max_iter", 1)
    gtol = check_positive(gtol, "gtol")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    learn_scale = scale is None
    if not learn_scale:
        scale = check_real(scale, "scale")
    if init is None:
        if init_scale == 0:
            raise ValueError("init_scale must be > 0 for a random start (cosines of zero vectors are undefined)")
        rng = as_generator(seed)
        A0 = init_scale * rng.standard_normal((p, k))
        B0 = init_scale * rng.standard_normal((p, k))
    else:
        try:
            A0, B0 = init
        except (TypeError, ValueError) as exc:
            raise TypeError("init must be a pair (A, B) of p x k arrays") from exc
        A0 = as_factor(A0, "init[0]", rows=p, cols=k).copy()
        B0 = as_factor(B0, "init[1]", rows=p, cols=k).copy()
        # A zero row of B, or of XA for a user with data, is where the cosine
        # is undefined: its gradient is 0 by convention, so the row would
        # never move, and all-zero factors would "converge" at once.
        active = np.asarray(abs(X).sum(axis=1)).ravel() > 0
        if not np.all(np.any(B0 != 0, axis=1)):
            raise ValueError("init[1] (B) has a zero row: that item's cosine is undefined and would never train")
        if not np.all(np.any(np.asarray(X @ A0)[active] != 0, axis=1)):
            raise ValueError("init[0] (A) gives a zero embedding XA to a user with data: "
                             "that user's cosine is undefined and would never train")

    XT = X.T
    sq = float(X.multiply(X).sum()) if sp.issparse(X) else float(np.sum(X * X))
    norm = max(sq, 1.0)  # scale the loss so that gtol means the same for any X
    if learn_scale:
        # dL/dγ = −2⟨X, P̃B̃ᵀ⟩ + 2γ‖P̃B̃ᵀ‖² is linear in γ: its value at γ = 0
        # and its slope give the least-squares scale for the initial embeddings.
        _, _, _, slope_at_0 = _cosine_loss_grad(X, XT, sq, A0, B0, 0.0)
        _, _, _, slope_at_1 = _cosine_loss_grad(X, XT, sq, A0, B0, 1.0)
        curvature = slope_at_1 - slope_at_0
        scale = -slope_at_0 / curvature if curvature > 0 else 1.0
    m = p * k

    def unpack(theta):
        A = theta[:m].reshape(p, k)
        B = theta[m : 2 * m].reshape(p, k)
        return A, B, (theta[-1] if learn_scale else scale)

    def fun(theta):
        A, B, c = unpack(theta)
        loss, dA, dB, dc = _cosine_loss_grad(X, XT, sq, A, B, c)
        parts = [dA.ravel(), dB.ravel()] + ([[dc]] if learn_scale else [])
        return loss / norm, np.concatenate(parts) / norm

    theta0 = np.concatenate([A0.ravel(), B0.ravel()] + ([[scale]] if learn_scale else []))
    losses = [fun(theta0)[0] * norm]

    def record(intermediate_result):
        losses.append(float(intermediate_result.fun) * norm)
        if callback is not None:
            A, B, c = unpack(intermediate_result.x)
            callback(len(losses) - 1, A.copy(), B.copy(), float(c))

    res = scipy.optimize.minimize(
        fun,
        theta0,
        jac=True,
        method="L-BFGS-B",
        callback=record,
        options={"maxiter": int(max_iter), "gtol": gtol, "ftol": 1e-15, "maxcor": 10},
    )
    A, B, c = unpack(res.x)
    return CosineModelResult(A.copy(), B.copy(), float(c), np.asarray(losses), bool(res.success))


def escape_to_dot_product(A, B, eps: float):
    """Cosine-model factors that mimic a dot-product model as ``eps → 0`` (chapter 6).

    Given factors ``A', B'`` of dimension m, returns the (m + 2)-dimensional

    ``A_ε = [1 | 0 | εA']``, ``B_ε = [0 | 1 | εB']`` and ``c_ε = 1/ε²``.

    With ``k_u = (X 1)_u`` the row sums of X (user activity for 0/1 data),
    ``(XA_ε)_u = (k_u, 0, ε(XA')_u)`` and ``b_{ε,i} = (0, 1, εb'_i)``, so

    ``c_ε cos((XA_ε)_u, b_{ε,i}) → (XA')_u · b'_i / k_u``  as ``ε → 0``:

    a cosine model with a *learned* scale can approach the dot-product model
    ``dMat(1/k_u) X A'B'ᵀ`` while all its item embeddings collapse towards
    the same direction. This is why book chapter 6 fixes the scale.

    Parameters
    ----------
    A, B : array_like, shape (p, m)
    eps : float
        ``ε > 0``, large enough that ``1/ε²`` is a finite float (about 1e-154).

    Returns
    -------
    A_eps, B_eps : numpy.ndarray, shape (p, m + 2)
    scale : float
        ``1/ε²``.
    """
    A = as_factor(A, "A")
    B = as_factor(B, "B", rows=A.shape[0], cols=A.shape[1])
    eps = check_positive(eps, "eps")
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        scale = float(1.0 / np.float64(eps) ** 2)
    if not np.isfinite(scale):
        raise ValueError(f"eps must be >= about 1e-154 so that the scale 1/eps² is finite, got {eps:g}")
    p = A.shape[0]
    ones, zeros = np.ones((p, 1)), np.zeros((p, 1))
    return np.hstack([ones, zeros, eps * A]), np.hstack([zeros, ones, eps * B]), scale
