"""What trained the factors? The objective a user declares, and the gauge freedom it leaves (book chapter 9).

Factors cannot tell which loss trained them: the same pair ``(P, Q)`` is a
minimiser of many losses, and those losses disagree on whether the cosines
of the factors mean anything. So the audit asks the user. Each entry of the
vocabulary below fixes three things (our reading of each objective; chapter
9 derives them):

* the **admissible group**: which score-preserving transforms keep the
  objective's value (and constraints), i.e. the freedom training cannot see;
* whether the objective's penalty **pins** the gauge, and where (the weighted
  balance of :mod:`~cosim_helpers.audit.balance`), so that at convergence
  only rotations remain, which change no cosine;
* how to **check convergence**: how much the objective's own penalty would
  drop by moving within the admissible group.

========================  ============================================  ===================  =====
name                      objective (penalty)                           admissible group     pins
========================  ============================================  ===================  =====
``unknown`` (default)     not declared                                  all invertible G     never
``scores``                only PQᵀ is seen: no penalty, a penalty on    all invertible G     no
                          PQᵀ (the paper's objective 1), input dropout,
                          truncated SVD
``l2``                    λ(‖P‖² + ‖Q‖²) (the paper's objective 2);     all invertible G     yes
                          ``weights=(a, b)``: a‖P‖² + b‖Q‖²;
                          ``weights=(w, v)`` arrays: Σ w_u‖p_u‖² +
                          Σ v_i‖q_i‖² (count-weighted, e.g. Surprise)
``nonneg``                P, Q ≥ 0, no penalty (NMF)                    G keeping P, Q ≥ 0   no
                                                                        (D, shears)
``nonneg-l2``             P, Q ≥ 0 and a weighted L2 penalty            G keeping P, Q ≥ 0   yes
                          (scikit-learn's NMF with ``alpha_W > 0``)
``unit-norm``             rows constrained to norm 1 (cosine-trained)   rotations            yes
``ranking``               a loss of each user's ranking only            all G and a common   no
                          (pairwise, softmax), no penalty               shift of the items
``ranking-l2``            a ranking loss and a weighted L2 penalty      all G and a common   yes
                          (implicit's BPR: per-sample L2 by SGD)        shift of the items
========================  ============================================  ===================  =====

A penalty that a library applies only to the rows of a sample (per-sample
L2 in SGD) is, in expectation, the count-weighted ``l2`` with the sampling
frequencies as weights. Under ``ranking-l2`` the penalty pins the common
item shift as well as ``G``: ``Σ v_i‖q_i + z‖²`` is smallest when the
v-weighted mean of the shifted item rows is zero.

``nonneg``: besides positive diagonal ``D``, a non-diagonal ``G`` keeps
both factors non-negative whenever some column's support (its non-zero
rows) does not cover another's, e.g. strictly positive factors; the family
then includes such ``G`` (:func:`~cosim_helpers.audit.gauges.nonneg_shears`).
Only when no such ``G`` exists (the NMF uniqueness setting) is the group
just ``D`` and permutations.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

#: Admissible groups, in words (used by the report).
GROUPS = {
    "general": "all invertible k x k transforms G",
    "positive-diagonal": "positive diagonal rescalings D of the k columns (and their permutations), and any "
                         "non-diagonal G that keeps both factors non-negative",
    "rotation": "rotations only (they change no cosine)",
    "general+shift": "all invertible G and a common shift of every item vector (it keeps each user's ranking)",
}

#: name -> (admissible group, whether the penalty / constraint pins the gauge, one-line description)
VOCABULARY = {
    "unknown": ("general", False, "not declared"),
    "scores": ("general", False, "a loss of the scores P Q^T alone"),
    "l2": ("general", True, "L2 penalty on both factors"),
    "nonneg": ("positive-diagonal", False, "non-negative factors, no penalty"),
    "nonneg-l2": ("positive-diagonal", True, "non-negative factors with an L2 penalty on both"),
    "unit-norm": ("rotation", True, "rows constrained to unit norm (a cosine-trained model)"),
    "ranking": ("general+shift", False, "a ranking loss (pairwise or softmax), no penalty"),
    "ranking-l2": ("general+shift", True, "a ranking loss (pairwise or softmax) with an L2 penalty on both"),
}


@dataclass(frozen=True)
class Objective:
    """A declared training objective: its name in :data:`VOCABULARY` and the penalty weights.

    Attributes
    ----------
    name : str
    weights_P, weights_Q : float or numpy.ndarray
        Weight of the penalty on each user / item row: a scalar (per-side
        weight) or one non-negative weight per row (count-weighted). Only the
        penalised objectives (``l2``, ``nonneg-l2``) use them.
    """

    name: str = "unknown"
    weights_P: float | np.ndarray = 1.0
    weights_Q: float | np.ndarray = 1.0

    @property
    def group(self) -> str:
        """Key of :data:`GROUPS`: the transforms that keep this objective's value."""
        return VOCABULARY[self.name][0]

    @property
    def pins(self) -> bool:
        """Whether the objective's penalty or constraint leaves only rotations at convergence."""
        return VOCABULARY[self.name][1]

    @property
    def declared(self) -> bool:
        return self.name != "unknown"

    @property
    def penalised(self) -> bool:
        return self.name in ("l2", "nonneg-l2", "ranking-l2")

    def describe(self) -> str:
        text = VOCABULARY[self.name][2]
        if self.penalised:
            text += f", weights {_describe_weights(self.weights_P)} on P and {_describe_weights(self.weights_Q)} on Q"
        return text

    def to_dict(self) -> dict:
        def w(v):
            return float(v) if np.ndim(v) == 0 else {"per_row": True, "min": float(np.min(v)), "max": float(np.max(v))}

        return {"name": self.name, "description": self.describe(), "group": self.group,
                "pins_gauge": self.pins, "weights_P": w(self.weights_P), "weights_Q": w(self.weights_Q)}


def _describe_weights(w) -> str:
    return f"{float(w):g}" if np.ndim(w) == 0 else f"per row, {float(np.min(w)):.3g} .. {float(np.max(w)):.3g}"


def _check_weights(w, rows, name):
    if isinstance(w, bool):
        raise TypeError(f"{name} must be a number or one weight per row, got a bool")
    if isinstance(w, numbers.Real):
        if not (np.isfinite(w) and w > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {w!r}")
        return float(w)
    arr = np.asarray(w)
    if arr.dtype.kind not in "iuf" or arr.ndim != 1:
        raise TypeError(f"{name} must be a number or a 1-D array of weights, got {arr.dtype} with shape {arr.shape}")
    arr = arr.astype(np.float64)
    if arr.shape[0] != rows:
        raise ValueError(f"{name} must have one weight per row ({rows}), got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or not np.any(arr > 0):
        raise ValueError(f"{name} must be finite, >= 0 and not all zero")
    return arr


def as_objective(objective, n_rows_P: int, n_rows_Q: int, *, weights=None) -> Objective:
    """The public boundary for objectives: a name (with optional ``weights``) or an :class:`Objective`, checked.

    Parameters
    ----------
    objective : str, Objective or None
        A key of :data:`VOCABULARY`; ``None`` means ``"unknown"``.
    n_rows_P, n_rows_Q : int
        Rows of the two factors (for per-row weights).
    weights : (w_P, w_Q), optional
        Penalty weights of a penalised objective: two positive numbers, or
        one non-negative weight per row of each side. Default ``(1, 1)``.
    """
    if objective is None:
        objective = "unknown"
    if isinstance(objective, Objective):
        if weights is not None:
            raise ValueError("give weights either in the Objective or as weights=, not both")
        name, weights = objective.name, (objective.weights_P, objective.weights_Q)
    elif isinstance(objective, str):
        name = objective
    else:
        raise TypeError(f"objective must be a name or an Objective, got {type(objective).__name__}")
    if name not in VOCABULARY:
        raise ValueError(f"objective must be one of {', '.join(VOCABULARY)}, got {name!r}")
    if weights is None:
        weights = (1.0, 1.0)
    elif (not VOCABULARY[name][1] or name == "unit-norm") and not isinstance(objective, Objective):
        raise ValueError(f"the objective {name!r} has no penalty, so it takes no weights")
    if not (isinstance(weights, (tuple, list)) and len(weights) == 2):
        raise TypeError("weights must be a pair (weights of P, weights of Q)")
    return Objective(name, _check_weights(weights[0], n_rows_P, "weights of P"),
                     _check_weights(weights[1], n_rows_Q, "weights of Q"))
