"""Input checks shared by every public function.

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError``
(right kind, wrong content) with a message that names the argument, and
never modifies what it is given.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp


def as_data_matrix(X, name: str = "X"):
    """Return ``X`` as a float64 dense array or CSR matrix, checked.

    Dense input is converted without copying when it is already float64;
    callers must therefore never write into the result.
    """
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {X.shape}")
        X = sp.csr_matrix(X, dtype=np.float64)
        if not np.all(np.isfinite(X.data)):
            raise ValueError(f"{name} contains NaN or inf")
    else:
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must be a numeric array or scipy.sparse matrix, "
                f"got {type(X).__name__}"
            ) from exc
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got {X.ndim}-D with shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name} contains NaN or inf")
    if 0 in X.shape:
        raise ValueError(f"{name} must not be empty, got shape {X.shape}")
    return X


def as_factor(M, name: str, rows: int | None = None, cols: int | None = None):
    """Return a dense 2-D float64 factor matrix, checking its shape."""
    if sp.issparse(M):
        M = M.toarray()
    try:
        M = np.asarray(M, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(M).__name__}") from exc
    if M.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {M.ndim}-D with shape {M.shape}")
    if rows is not None and M.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows, got shape {M.shape}")
    if cols is not None and M.shape[1] != cols:
        raise ValueError(f"{name} must have {cols} columns, got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise ValueError(f"{name} contains NaN or inf")
    return M


def check_rank(k, shape, name: str = "k") -> int:
    """Check that ``1 <= k <= min(shape)`` and return ``k`` as an int."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(k).__name__}")
    k = int(k)
    if not 1 <= k <= min(shape):
        raise ValueError(f"{name} must satisfy 1 <= {name} <= min(n, p) = {min(shape)}, got {k}")
    return k


def check_real(value, name: str) -> float:
    """Check that ``value`` is a finite real number and return it as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_nonnegative(lam, name: str = "lam") -> float:
    """Check that ``lam`` is a finite real number >= 0 and return it as float."""
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(lam).__name__}")
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {lam}")
    return lam


def as_generator(seed) -> np.random.Generator:
    """Accept an int seed, ``None`` or a Generator; return a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, None or numpy.random.Generator, got {type(seed).__name__}")
