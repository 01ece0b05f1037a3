"""Gradient-based training of both objectives (paper Eq. 1 and 2, §2.1; book chapter 3).

The closed forms of :mod:`cosim_helpers.models` are what an optimiser should
find. Here we find it the way a practitioner would: from a random start,
with L-BFGS on the exact gradient. Chapter 3 shows both routes agree on the
loss; chapter 4 shows that under objective 1 they disagree on ``A`` and ``B``
(a different ``D`` each run) and chapter 5 that under objective 2 they agree
up to a rotation.

Both losses are evaluated through the p x p Gram matrix ``G = XᵀX``, so one
iteration costs O(p²k) whatever the number of users, and the p x p product
``ABᵀ`` is never formed.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import scipy.optimize

from ._validation import (
    as_data_matrix,
    as_factor,
    as_generator,
    check_int,
    check_nonnegative,
    check_objective,
    check_positive,
    check_rank,
)
from .gauge_dynamics import train_factors
from .models import GramObjective
from .spectral import gram


class TrainingResult(NamedTuple):
    """Fitted factors and the loss after every L-BFGS iteration.

    Attributes
    ----------
    A, B : numpy.ndarray, shape (p, k)
    losses : numpy.ndarray
        Loss at the start and after each iteration (non-increasing up to
        line-search round-off).
    converged : bool
        Whether L-BFGS met its tolerance before ``max_iter``.
    """

    A: np.ndarray
    B: np.ndarray
    losses: np.ndarray
    converged: bool


def loss_and_gradient(X, A, B, lam: float, objective: int):
    """Loss and exact gradient ``(∂L/∂A, ∂L/∂B)`` of objective 1 or 2.

    Used by :func:`train` and checked against finite differences in the
    tests. With ``M = ABᵀ`` and ``G = XᵀX``:
    ``∂L₁/∂M = −2(G − GM) + 2λM``, ``∂L/∂A = (∂L/∂M) B``,
    ``∂L/∂B = (∂L/∂M)ᵀ A``; objective 2 adds ``2λGA`` and ``2λB``
    (evaluated without forming M, see
    :class:`~cosim_helpers.models.GramObjective`).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    A, B : array_like, shape (p, k)
    lam : float
    objective : {1, 2}

    Returns
    -------
    loss : float
    dA, dB : numpy.ndarray, shape (p, k)
    """
    X = as_data_matrix(X)
    p = X.shape[1]
    A = as_factor(A, "A", rows=p)
    B = as_factor(B, "B", rows=p, cols=A.shape[1])
    return GramObjective(gram(X), lam, objective).loss_and_gradient(A, B)


def train(
    X,
    k: int,
    lam: float,
    objective: int,
    *,
    seed=0,
    init_scale: float = 0.1,
    max_iter: int = 5000,
    gtol: float = 1e-10,
) -> TrainingResult:
    """Minimise objective 1 or 2 with L-BFGS from a random start.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    k : int
        Embedding dimension.
    lam : float
        ``λ >= 0``.
    objective : {1, 2}
        Paper Eq. 1 (penalty on ``ABᵀ``) or Eq. 2 (penalty on ``XA`` and
        ``B``), both in §2.1.
    seed : int, None or numpy.random.Generator
        Random start: entries of ``A`` and ``B`` are ``N(0, init_scale²)``.
    init_scale : float
        Standard deviation of the random start, ``> 0`` (``A = B = 0`` is a
        stationary point, from which L-BFGS would report convergence at once).
    max_iter : int
        Maximum number of L-BFGS iterations, ``>= 1``.
    gtol : float
        Stop when the largest gradient entry, relative to ``max(1, ‖X‖²_F)``,
        falls below this (``> 0``).

    Returns
    -------
    TrainingResult
    """
    X = as_data_matrix(X)
    k = check_rank(k, X.shape)
    objective = check_objective(objective)
    lam = check_nonnegative(lam)
    # A = B = 0 is a stationary point of both objectives: a zero start would
    # "converge" at once without having fitted anything.
    init_scale = check_positive(init_scale, "init_scale")
    max_iter = check_int(max_iter, "max_iter", 1)
    gtol = check_positive(gtol, "gtol")
    rng = as_generator(seed)
    p = X.shape[1]
    fun = GramObjective(gram(X), lam, objective).loss_and_gradient
    # Scale the gradient tolerance to the size of the problem so that
    # "converged" means the same for a toy X and for the paper's X.
    scale = max(1.0, float(abs(fun(np.zeros((p, k)), np.zeros((p, k)))[0])))

    def flat(theta):
        A, B = theta[: p * k].reshape(p, k), theta[p * k :].reshape(p, k)
        loss, dA, dB = fun(A, B)
        return loss / scale, np.concatenate([dA.ravel(), dB.ravel()]) / scale

    theta0 = init_scale * rng.standard_normal(2 * p * k)
    losses = [flat(theta0)[0] * scale]
    res = scipy.optimize.minimize(
        flat,
        theta0,
        jac=True,
        method="L-BFGS-B",
        callback=lambda intermediate_result: losses.append(intermediate_result.fun * scale),
        options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e-15, "maxcor": 20},
    )
    A, B = res.x[: p * k].reshape(p, k), res.x[p * k :].reshape(p, k)
    return TrainingResult(A.copy(), B.copy(), np.asarray(losses), bool(res.success))


def gradient_descent(
    X,
    k: int,
    lam: float,
    objective: int,
    *,
    seed=0,
    init_scale: float = 0.1,
    lr: float = 0.2,
    n_steps: int = 5000,
    start=None,
) -> TrainingResult:
    """Plain gradient descent on objective 1 or 2 from a random start (book chapter 9).

    Unlike :func:`train` (L-BFGS), small steps of plain gradient descent
    follow the gradient flow, which keeps ``AᵀA − BᵀB`` fixed for any loss
    that depends on ``A, B`` only through ``ABᵀ`` (objective 1; chapters 9
    and 11 prove it). The starting scale therefore decides where on the set
    of optima the run ends: near the balanced ``AᵀA = BᵀB`` from a small
    start.

    This is :func:`cosim_helpers.gauge_dynamics.train_factors` with
    ``method="gd"`` (the one home of the step loop, book chapter 11), with a
    step size scaled to the data and a random start by default.

    Parameters
    ----------
    X, k, lam, objective, seed, init_scale
        As in :func:`train`.
    lr : float
        Step size relative to a bound on the curvature at the start, ``> 0``:
        the step is ``lr / c`` with ``c = (σ₁² + λ)(1 + ‖A₀‖₂² + ‖B₀‖₂²)``,
        plus ``λσ₁²`` for objective 2 (its penalty ``λ‖XA‖²`` is that curved
        in ``A``); ``σ₁`` is the largest singular value of ``X`` and
        ``A₀, B₀`` the start. Values well below 1 are stable.
    n_steps : int
        Number of steps.
    start : (array_like, array_like), optional
        The starting ``(A, B)``, each p x k, instead of the random start
        (``seed`` and ``init_scale`` are then not used).

    Returns
    -------
    TrainingResult
        ``losses`` holds the loss before each step and after the last;
        ``converged`` says whether the last 1% of the steps changed the loss
        by less than ``1e-9`` of its value.

    Raises
    ------
    FloatingPointError
        If the loss diverges (``lr`` too large), as in ``train_factors``.
    """
    X = as_data_matrix(X)
    k = check_rank(k, X.shape)
    objective = check_objective(objective)
    lam = check_nonnegative(lam)
    init_scale = check_nonnegative(init_scale, "init_scale")
    lr = check_positive(lr, "lr")
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    rng = as_generator(seed)
    p = X.shape[1]
    if start is None:
        A, B = init_scale * rng.standard_normal((p, k)), init_scale * rng.standard_normal((p, k))
    else:
        A, B = (as_factor(M, name, rows=p, cols=k) for M, name in zip(start, ("A", "B")))
    s1 = float(np.linalg.eigvalsh(gram(X))[-1])
    curvature = (s1 + lam) * (1.0 + np.linalg.norm(A, 2) ** 2 + np.linalg.norm(B, 2) ** 2)
    step = lr / (curvature + (lam * s1 if objective == 2 else 0.0))
    run = train_factors(X, lam, A, B, method="gd", lr=step, max_steps=n_steps, objective=objective)
    tail = run.losses[-max(2, n_steps // 100):]
    converged = bool(abs(tail[0] - tail[-1]) <= 1e-9 * max(1.0, abs(tail[-1])))
    return TrainingResult(run.A, run.B, run.losses, converged)
