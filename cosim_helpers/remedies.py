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
not a remedy and has no code here. :func:`format_table` prints the
chapter's comparison table.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from ._validation import as_data_matrix, as_factor, as_generator, check_nonnegative, check_rank, check_real
from .similarity import cosine_similarity, inverse_row_norms

# Rows of X per block when a dense n x p matrix is formed (bounds the memory).
_BLOCK = 4096


# ---------------------------------------------------------------------------
# Remedy 1: a model trained with respect to cosine similarity
# ---------------------------------------------------------------------------


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

    The paper's first remedy (§3) is to train a model with respect to
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
    for start in range(0, X.shape[0], _BLOCK):
        rows = slice(start, start + _BLOCK)
        Xb = X[rows].toarray() if sp.issparse(X) else X[rows]
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

    ``L = ‖X‖²_F − 2γ⟨X, P̃B̃ᵀ⟩ + γ²⟨P̃ᵀP̃, B̃ᵀB̃⟩``,

    ``∂L/∂P̃ = −2γ XB̃ + 2γ² P̃(B̃ᵀB̃)``, ``∂L/∂B̃ = −2γ XᵀP̃ + 2γ² B̃(P̃ᵀP̃)``,
    ``∂L/∂γ = −2⟨X, P̃B̃ᵀ⟩ + 2γ‖P̃B̃ᵀ‖²_F``; each row ``e`` of ``P`` or ``B``
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
    :func:`cosine_model_loss_and_gradient` (paper §3, first remedy;
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
        Starting ``(A, B)``, each of shape (p, k). Not modified.
    init_scale : float
        Standard deviation of the random start (> 0).
    max_iter : int
        Maximum number of L-BFGS iterations (>= 1).
    gtol : float
        Stop when the largest gradient entry, relative to ``‖X‖²_F``, falls
        below this.
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
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    gtol = check_nonnegative(gtol, "gtol")
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

    ``A_ε = [1 | 0 | εA']``, ``B_ε = [0 | 1 | εB']`` and ``γ_ε = 1/ε²``.

    With ``k_u = (X 1)_u`` the row sums of X (user activity for 0/1 data),
    ``(XA_ε)_u = (k_u, 0, ε(XA')_u)`` and ``b_{ε,i} = (0, 1, εb'_i)``, so

    ``γ_ε cos((XA_ε)_u, b_{ε,i}) → (XA')_u · b'_i / k_u``  as ``ε → 0``:

    a cosine model with a *learned* scale can approach the dot-product model
    ``dMat(1/k_u) X A'B'ᵀ`` while all its item embeddings collapse towards
    the same direction. This is why book chapter 6 fixes the scale.

    Parameters
    ----------
    A, B : array_like, shape (p, m)
    eps : float
        ``ε > 0``.

    Returns
    -------
    A_eps, B_eps : numpy.ndarray, shape (p, m + 2)
    scale : float
        ``1/ε²``.
    """
    A = as_factor(A, "A")
    B = as_factor(B, "B", rows=A.shape[0], cols=A.shape[1])
    eps = check_nonnegative(eps, "eps")
    if eps == 0:
        raise ValueError("eps must be > 0")
    p = A.shape[0]
    ones, zeros = np.ones((p, 1)), np.zeros((p, 1))
    return np.hstack([ones, zeros, eps * A]), np.hstack([zeros, ones, eps * B]), 1.0 / eps**2


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
        G = as_factor(G, "G", rows=p, cols=p)
        core = A.T @ (G @ A)
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
    Xd = X.toarray() if sp.issparse(X) else np.array(X, dtype=float)
    mean = Xd.mean(axis=0)
    Xd -= mean
    std = np.sqrt(np.mean(Xd * Xd, axis=0))
    inv = np.zeros_like(std)
    # A column constant up to round-off is treated as constant.
    tol = np.finfo(float).eps * np.sqrt(X.shape[0]) * np.maximum(np.abs(mean), 1.0)
    np.divide(1.0, std, out=inv, where=std > tol)
    Xd *= inv[None, :]
    return Xd


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
    if objective not in (1, 2):
        raise ValueError(f"objective must be 1 or 2, got {objective!r}")
    norms = []
    for name, M in (("X_from", X_from), ("X_to", X_to)):
        M = as_data_matrix(M, name)
        norm = float(np.sqrt(M.multiply(M).sum())) if sp.issparse(M) else float(np.linalg.norm(M))
        if norm == 0:
            raise ValueError(f"{name} must not be all zeros")
        norms.append(norm)
    t = norms[1] / norms[0]
    return lam * t**2 if objective == 1 else lam * t


# ---------------------------------------------------------------------------
# Presentation
# ---------------------------------------------------------------------------


def format_table(rows, headers) -> str:
    """Plain-text table with left-aligned columns (book chapter 6).

    Parameters
    ----------
    rows : sequence of sequences of str
        Cells, already formatted (e.g. rounded numbers as strings).
    headers : sequence of str
        One per column.

    Returns
    -------
    str
        Header, a rule of dashes, then one line per row.
    """
    headers = [str(h) for h in headers]
    rows = [[str(c) for c in row] for row in rows]
    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"rows[{i}] has {len(row)} cells, expected {len(headers)}")
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(r) for r in rows])
