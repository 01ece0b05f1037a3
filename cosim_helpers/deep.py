"""A small nonlinear autoencoder, three regularisers, and the gauge each leaves (chapter 11).

The paper's conclusions (§5) caution that deep models, which mix several
regularisers, can make the cosines of their embeddings even more opaque
(our paraphrase). Book chapter 11 tests that on the smallest
deep relative of the paper's ``X ≈ XABᵀ``: one nonlinear layer,

    user embedding ``h_u = φ(x_u A)`` (k numbers), score ``s_ui = ⟨h_u, b_i⟩``,

with ``φ`` the leaky ReLU (slope :data:`LEAK` below zero) applied entry by entry, ``A, B`` of shape (p, k) and item
embeddings the rows of ``B``, trained in one of three ways (:data:`VARIANTS`):

``"dropout"``
    inverted dropout on the k hidden units with dropout rate ``q`` (each unit
    kept with probability ``1 − q``, as in chapter 3), in its expected form:
    ``E‖x − (m⊙h/(1 − q))Bᵀ‖² = ‖x − hBᵀ‖² + α Σ_j h_j²‖B_{:,j}‖²``
    with ``α = q/(1 − q)`` (a product-type penalty, like the paper's
    objective 1).
``"weight_decay"``
    ``α(‖A‖² + ‖B‖²)`` added to the loss (an L2 penalty, as in the paper's
    objective 2; not the decoupled decay of AdamW).
``"layer_norm"``
    ``h_u = LN(φ(x_u A))``, where LN centres and scales each user's k
    numbers (no learnable gain or bias), with the dropout penalty of
    ``"dropout"`` (so that the two differ only by the normalisation; without
    any penalty this model over-fits our small data).

Because ``φ(zD) = φ(z)D`` for a positive diagonal ``D`` (``φ`` is positively
homogeneous, as ReLU is), the first two
variants have exactly the paper's score-preserving ``(AD, BD⁻¹)``; layer
normalisation breaks it but makes each item's component along the all-ones
vector invisible to the scores (chapter 11).

Gradients come from the ``autograd`` package (reverse-mode automatic
differentiation of numpy code), and training is full-batch L-BFGS, which
reaches a stationary point far sooner than Adam on models this small.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np
import scipy.optimize
from autograd import value_and_grad

from ._validation import as_data_matrix, as_factor, as_generator, check_nonnegative, check_rank

#: The three training set-ups of chapter 11.
VARIANTS = ("dropout", "weight_decay", "layer_norm")

#: Slope of the leaky ReLU for negative inputs (keeps every hidden unit alive).
LEAK = 0.1

#: Added to the variance in layer normalisation (PyTorch's default).
LN_EPS = 1e-5


def _check_variant(variant):
    if not isinstance(variant, str):
        raise TypeError(f"variant must be a string, got {type(variant).__name__}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def _dense(X):
    X = as_data_matrix(X)
    return X.toarray() if hasattr(X, "toarray") else X


def _embed(X, A, variant):
    Z = anp.dot(X, A)
    H = anp.where(Z > 0, Z, LEAK * Z)
    if variant == "layer_norm":
        centred = H - anp.mean(H, axis=1, keepdims=True)
        H = centred / anp.sqrt(anp.mean(centred**2, axis=1, keepdims=True) + LN_EPS)
    return H


def _loss(A, B, X, variant, alpha):
    H = _embed(X, A, variant)
    fit = anp.sum((X - anp.dot(H, B.T)) ** 2)
    if variant in ("dropout", "layer_norm"):
        return fit + alpha * anp.sum(anp.sum(H**2, axis=0) * anp.sum(B**2, axis=0))
    if variant == "weight_decay":
        return fit + alpha * (anp.sum(A**2) + anp.sum(B**2))
    return fit


def user_embeddings(X, A, variant: str) -> np.ndarray:
    """User embeddings ``h_u`` (rows) of the autoencoder: ``φ(XA)``, layer-normalised for ``"layer_norm"``.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A : array_like, shape (p, k)
    variant : str
        One of :data:`VARIANTS`.

    Returns
    -------
    numpy.ndarray, shape (n, k)
    """
    variant = _check_variant(variant)
    X = _dense(X)
    A = as_factor(A, "A", rows=X.shape[1])
    return np.asarray(_embed(X, A, variant))


def scores(X, A, B, variant: str) -> np.ndarray:
    """Predicted scores ``s_ui = ⟨h_u, b_i⟩`` (n x p) of the autoencoder."""
    X = _dense(X)
    A = as_factor(A, "A", rows=X.shape[1])
    B = as_factor(B, "B", rows=X.shape[1], cols=A.shape[1])
    return user_embeddings(X, A, variant) @ B.T


def loss(X, A, B, variant: str, alpha: float) -> float:
    """Training loss of one of the :data:`VARIANTS` (see the module docstring).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A, B : array_like, shape (p, k)
    variant : str
    alpha : float
        Penalty weight ``α >= 0`` (ignored for ``"layer_norm"``).
    """
    variant = _check_variant(variant)
    X = _dense(X)
    A = as_factor(A, "A", rows=X.shape[1])
    B = as_factor(B, "B", rows=X.shape[1], cols=A.shape[1])
    return float(_loss(A, B, X, variant, check_nonnegative(alpha, "alpha")))


def reconstruction_error(X, A, B, variant: str) -> float:
    """Mean squared error per user, ``‖X − scores‖²_F / n``: the validation loss of chapter 11."""
    X = _dense(X)
    return float(np.sum((X - scores(X, A, B, variant)) ** 2) / X.shape[0])


class DeepRun(NamedTuple):
    """Output of :func:`train_autoencoder`.

    Attributes
    ----------
    A, B : numpy.ndarray, shape (p, k)
        Encoder weights and item embeddings (rows of ``B``).
    A0, B0 : numpy.ndarray, shape (p, k)
        The random start.
    loss : float
        Final training loss.
    gradient : float
        Largest entry of the final gradient, relative to ``max(1, loss)``.
    validation : float
        :func:`reconstruction_error` on the held-out users.
    """

    A: np.ndarray
    B: np.ndarray
    A0: np.ndarray
    B0: np.ndarray
    loss: float
    gradient: float
    validation: float


def train_autoencoder(X_train, X_val, k: int, variant: str, alpha: float, *, seed=0, max_iter: int = 300,
                      init_scale: float = 0.1) -> DeepRun:
    """Train the one-layer autoencoder of chapter 11 with full-batch L-BFGS.

    Parameters
    ----------
    X_train, X_val : array_like or scipy.sparse matrix, shapes (n, p) and (m, p)
        Training users and held-out users (same items).
    k : int
        Number of hidden units = embedding dimension.
    variant : str
        One of :data:`VARIANTS`.
    alpha : float
        Penalty weight: ``q/(1 − q)`` for dropout with dropout rate q
        (``"dropout"`` and ``"layer_norm"``), the weight decay for
        ``"weight_decay"``.
    seed : int, None or numpy.random.Generator
        Start: entries of ``A`` and ``B`` are ``N(0, init_scale²)``.
    max_iter : int
        Maximum number of L-BFGS iterations (gradients by ``autograd``).
    init_scale : float

    Returns
    -------
    DeepRun
    """
    variant = _check_variant(variant)
    X = _dense(X_train)
    X_val = _dense(X_val)
    if X_val.shape[1] != X.shape[1]:
        raise ValueError(f"X_val must have {X.shape[1]} columns (items), got {X_val.shape[1]}")
    k = check_rank(k, X.shape)
    alpha = check_nonnegative(alpha, "alpha")
    init_scale = check_nonnegative(init_scale, "init_scale")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    p = X.shape[1]
    rng = as_generator(seed)
    theta0 = init_scale * rng.standard_normal(2 * p * k)

    def unpack(theta):
        return theta[: p * k].reshape(p, k), theta[p * k:].reshape(p, k)

    objective = value_and_grad(lambda theta: _loss(*unpack(theta), X, variant, alpha))
    res = scipy.optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                  options={"maxiter": int(max_iter), "gtol": 1e-9, "ftol": 1e-15})
    A, B = (M.copy() for M in unpack(res.x))
    A0, B0 = (M.copy() for M in unpack(theta0))
    value, gradient = objective(res.x)
    return DeepRun(A, B, A0, B0, float(value), float(np.abs(gradient).max() / max(1.0, abs(value))),
                   reconstruction_error(X_val, A, B, variant))
