"""Who picks D when objective 1 is trained by an optimiser (book chapter 11).

Objective 1 (paper Eq. 1) depends on ``A, B`` only through ``M = ABᵀ``, so its
minimisers form a family ``(ÂG, B̂G⁻ᵀ)`` (book chapter 4). An optimiser
started somewhere lands on *one* member. Chapter 11 shows which:

* Gradient flow keeps the k x k imbalance :func:`imbalance` ``Θ = AᵀA − BᵀB``
  constant (chapter 11 derives it). For a scalar start ``Θ₀ = ζI`` this
  fixes the landing: every minimiser with that imbalance has the item
  cosines of :func:`landing_rescaling` (``ζ = 0``, e.g. a small start: the
  symmetric closed form of paper Eq. 5). For a non-scalar ``Θ₀`` it does
  not: the minimisers with a given ``Θ`` form a set of dimension
  ``k(k − 1)/2`` along which the cosines move (chapter 11's counterexample).
* A penalty on the factors is not a function of ``ABᵀ`` and makes ``Θ``
  move: weight decay ``μ(‖A‖² + ‖B‖²)`` gives ``dΘ/dt = −4μΘ``, objective
  2's penalty ``−4λ((XA)ᵀXA − BᵀB)`` (chapter 11).
* Plain gradient descent with step ``η`` changes ``Θ`` by exactly
  ``η²(∇_Aᵀ∇_A − ∇_Bᵀ∇_B)`` per step; adaptive optimisers (Adam, RMSprop,
  Adagrad) rescale the gradient entry by entry and do not keep ``Θ`` at all.

:class:`Optimiser` implements these update rules on lists of arrays (it is
also used for the small deep models of :mod:`cosim_helpers.deep`);
:func:`train_factors` runs one of them on objective 1 or 2 with the exact
gradient of :mod:`cosim_helpers.training`; it is the package's only
first-order step loop (:func:`cosim_helpers.training.gradient_descent`, used
in chapter 9, is ``train_factors`` with ``method="gd"``).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from ._validation import as_data_matrix, as_factor, as_generator, check_nonnegative
from .models import GramObjective
from .spectral import gram

#: Update rules understood by :class:`Optimiser`.
METHODS = ("gd", "adam", "rmsprop", "adagrad")


def imbalance(A, B) -> np.ndarray:
    """The k x k imbalance ``Θ = AᵀA − BᵀB`` that gradient flow keeps constant.

    For any loss that depends on ``(A, B)`` only through ``ABᵀ`` (objective
    1, paper Eq. 1), ``dΘ/dt = 0`` along the gradient flow (book chapter 11,
    proposition "conserved balance"). Among the minimisers ``(ÂG, B̂G⁻ᵀ)``,
    ``Θ = 0`` holds exactly for orthogonal ``G`` (the balanced optimum). The
    name differs from the audit's ``balance`` (:mod:`cosim_helpers.audit`),
    which balances a trained ``(P, Q)`` (chapter 9).

    Parameters
    ----------
    A, B : array_like, shape (p, k)

    Returns
    -------
    numpy.ndarray, shape (k, k), symmetric
    """
    A = as_factor(A, "A")
    B = as_factor(B, "B", rows=A.shape[0], cols=A.shape[1])
    return A.T @ A - B.T @ B


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


class Optimiser:
    """One of four first-order update rules, applied to a list of arrays.

    Parameters
    ----------
    method : {"gd", "adam", "rmsprop", "adagrad"}
        ``"gd"``: ``x ← x − η g``. ``"adam"``: Kingma & Ba's Adam with bias
        correction, ``x ← x − η m̂/(√v̂ + ε)`` (the rule of PyTorch's and
        autograd's ``adam``). ``"rmsprop"``: ``v ← ρv + (1−ρ)g²``,
        ``x ← x − η g/(√v + ε)`` with ``ρ = beta2``. ``"adagrad"``:
        ``v ← v + g²``, ``x ← x − η g/(√v + ε)``.
    lr : float
        Step size ``η > 0``.
    beta1, beta2 : float
        Adam's moment decay rates (``beta2`` is also RMSprop's ``ρ``).
    eps : float
        Added to the root of the second moment.

    Notes
    -----
    The three adaptive rules divide each gradient *entry* by its own running
    scale, so an update is no longer ``−η∇``: that is why they do not keep
    :func:`imbalance` (book chapter 11).
    """

    def __init__(self, method: str, lr: float, *, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        if not isinstance(method, str):
            raise TypeError(f"method must be a string, got {type(method).__name__}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        self.method = method
        self.lr = _positive(lr, "lr")
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = _positive(eps, "eps")
        self.t = 0
        self._m = None
        self._v = None

    def step(self, params, grads) -> list:
        """Return the updated parameters (new arrays; the inputs are not modified)."""
        params = [np.asarray(x, dtype=float) for x in params]
        grads = [np.asarray(g, dtype=float) for g in grads]
        if len(params) != len(grads) or any(x.shape != g.shape for x, g in zip(params, grads)):
            raise ValueError("params and grads must be lists of arrays of matching shapes")
        self.t += 1
        if self.method == "gd":
            return [x - self.lr * g for x, g in zip(params, grads)]
        if self._v is None:
            self._m = [np.zeros_like(x) for x in params]
            self._v = [np.zeros_like(x) for x in params]
        out = []
        for i, (x, g) in enumerate(zip(params, grads)):
            if self.method == "adagrad":
                self._v[i] = self._v[i] + g * g
                out.append(x - self.lr * g / (np.sqrt(self._v[i]) + self.eps))
            elif self.method == "rmsprop":
                self._v[i] = self.beta2 * self._v[i] + (1 - self.beta2) * g * g
                out.append(x - self.lr * g / (np.sqrt(self._v[i]) + self.eps))
            else:
                self._m[i] = self.beta1 * self._m[i] + (1 - self.beta1) * g
                self._v[i] = self.beta2 * self._v[i] + (1 - self.beta2) * g * g
                m_hat = self._m[i] / (1 - self.beta1**self.t)
                v_hat = self._v[i] / (1 - self.beta2**self.t)
                out.append(x - self.lr * m_hat / (np.sqrt(v_hat) + self.eps))
        return out


class Trajectory(NamedTuple):
    """Output of :func:`train_factors`.

    Attributes
    ----------
    A, B : numpy.ndarray, shape (p, k)
        The factors after the last step.
    losses : numpy.ndarray
        Loss before every step and after the last one (``steps + 1`` values).
    steps : int
        Number of update steps taken.
    reached : bool
        Whether the loss fell to ``target`` (always False without a target).
    """

    A: np.ndarray
    B: np.ndarray
    losses: np.ndarray
    steps: int
    reached: bool


def random_start(p: int, k: int, scale_A: float, scale_B: float | None = None, *, orthonormal: bool = False,
                 seed=0):
    """A random starting point ``(A₀, B₀)`` for :func:`train_factors`.

    Parameters
    ----------
    p, k : int
        Number of items and embedding dimension (``1 <= k <= p``).
    scale_A, scale_B : float
        Entries are ``N(0, scale²)`` (``scale_B`` defaults to ``scale_A``).
        With ``orthonormal=True`` the columns are instead orthonormal and
        multiplied by the scale, so that ``imbalance(A₀, B₀)`` is exactly
        ``(scale_A² − scale_B²) I``.
    orthonormal : bool
    seed : int, None or numpy.random.Generator

    Returns
    -------
    A0, B0 : numpy.ndarray, shape (p, k)
    """
    for name, value in (("p", p), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not 1 <= k <= p:
        raise ValueError(f"need 1 <= k <= p, got k = {k}, p = {p}")
    scale_A = check_nonnegative(scale_A, "scale_A")
    scale_B = scale_A if scale_B is None else check_nonnegative(scale_B, "scale_B")
    rng = as_generator(seed)
    Z = rng.standard_normal((2, p, k))
    if orthonormal:
        Z = np.stack([np.linalg.qr(z)[0] for z in Z])
    return scale_A * Z[0], scale_B * Z[1]


def train_factors(X, lam: float, A0, B0, *, method: str = "gd", lr: float, max_steps: int,
                  objective: int = 1, target: float | None = None, **optimiser_options) -> Trajectory:
    """Train the paper's factors ``(A, B)`` with a first-order optimiser (book chapter 11).

    Full-batch steps on objective 1 (paper Eq. 1) or 2 (Eq. 2), with the
    exact gradient of :func:`cosim_helpers.training.loss_and_gradient`
    (evaluated through ``XᵀX``), from the start ``(A0, B0)``. With
    ``method="gd"`` every step is ``(A, B) ← (A − lr ∇_A, B − lr ∇_B)``;
    :func:`cosim_helpers.training.gradient_descent` (book chapter 9) is this
    loop with a step size scaled to the data.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    lam : float
        ``λ >= 0``.
    A0, B0 : array_like, shape (p, k)
        Starting factors (see :func:`random_start`); not modified.
    method : str
        One of :data:`METHODS` (see :class:`Optimiser`).
    lr : float
        Step size.
    max_steps : int
        Upper bound on the number of steps.
    objective : {1, 2}
    target : float, optional
        Stop as soon as the loss is ``<= target`` (e.g. the closed-form
        minimum times ``1 + 1e-6``).
    **optimiser_options
        ``beta1``, ``beta2``, ``eps`` of :class:`Optimiser`.

    Returns
    -------
    Trajectory

    Raises
    ------
    FloatingPointError
        If the loss becomes infinite or NaN (the step is too large).
    """
    X = as_data_matrix(X)
    lam = check_nonnegative(lam)
    p = X.shape[1]
    A = as_factor(A0, "A0", rows=p)
    B = as_factor(B0, "B0", rows=p, cols=A.shape[1])
    if isinstance(max_steps, bool) or not isinstance(max_steps, numbers.Integral) or max_steps < 0:
        raise ValueError(f"max_steps must be an integer >= 0, got {max_steps!r}")
    if target is not None:
        target = float(target)
    fun = GramObjective(gram(X), lam, objective).loss_and_gradient
    optimiser = Optimiser(method, lr, **optimiser_options)
    losses = []
    reached = False
    for _ in range(int(max_steps)):
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
            loss, dA, dB = fun(A, B)
        losses.append(loss)
        if not np.isfinite(loss):
            raise FloatingPointError(f"the loss diverged at step {optimiser.t}: lower lr")
        if target is not None and loss <= target:
            reached = True
            break
        A, B = optimiser.step([A, B], [dA, dB])
    else:
        loss = fun(A, B)[0]
        losses.append(loss)
        reached = target is not None and loss <= target
    return Trajectory(A, B, np.asarray(losses), optimiser.t, bool(reached))


def landing_rescaling(w, zeta: float) -> np.ndarray:
    """The diagonal ``D`` with ``imbalance(ÂD, B̂D⁻¹) = ζI`` for the symmetric optimum.

    With ``Â = B̂ = V_k W^{1/2}`` (paper Eq. 5, ``W = dMat(w)``),
    ``imbalance(ÂD, B̂D⁻¹) = W(D² − D⁻²)``, which equals ``ζI`` when
    ``w_i d_i⁴ − ζ d_i² − w_i = 0``, i.e.
    ``d_i² = (ζ + √(ζ² + 4w_i²)) / (2w_i)``. Every minimiser
    ``(ÂG, B̂G⁻ᵀ)`` with imbalance ``ζI`` has ``GGᵀ = D²`` (book chapter 11,
    corollary "scalar start, determined landing"), so it has the item cosines
    of ``B̂D⁻¹``. Gradient flow from a start with ``imbalance = ζI`` keeps it,
    so if it reaches a minimum it lands there; chapter 11 checks that gradient
    descent does. ``ζ = 0`` gives ``D = I``. For a non-scalar imbalance there
    is no such formula: the imbalance does not fix the landing.

    Parameters
    ----------
    w : array_like, shape (k,)
        Objective-1 shrinkage ``w_i = σ_i²/(σ_i² + λ)``, all > 0.
    zeta : float
        The scalar ``ζ`` of the imbalance ``Θ₀ = ζI`` (chapter 11).

    Returns
    -------
    numpy.ndarray, shape (k,)
        The diagonal of ``D`` (all > 0).
    """
    try:
        w = np.asarray(w, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"w must be numeric, got {type(w).__name__}") from exc
    if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("w must be a non-empty 1-D array of finite numbers > 0")
    if isinstance(zeta, bool) or not isinstance(zeta, numbers.Real) or not np.isfinite(zeta):
        raise TypeError(f"zeta must be a finite real number, got {zeta!r}")
    return np.sqrt((zeta + np.sqrt(zeta * zeta + 4.0 * w * w)) / (2.0 * w))
