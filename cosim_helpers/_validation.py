"""The package's one vocabulary of input checks (and how it walks a data matrix).

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError``
(right kind, wrong content) with a message that names the argument, and
never modifies what it is given. Every public function of the package
checks its inputs with these, so that one kind of input is checked one way
everywhere:

=====================================  ===========================================
input                                  check
=====================================  ===========================================
data matrix ``X`` (dense or sparse)    :func:`as_data_matrix`
factor or other dense 2-D matrix       :func:`as_factor`
square matrix (``S``, ``G``)           :func:`as_square`
1-D array of reals                     :func:`as_vector`
singular values                        :func:`check_singular_values`
a precomputed ``svd=``                 :func:`check_spectrum`
item cluster labels                    :func:`check_labels`
the objective number (1 or 2)          :func:`check_objective`
``k``                                  :func:`check_rank`
integers, booleans, reals, ranges      :func:`check_int`, :func:`check_bool`,
                                       :func:`check_real`, :func:`check_nonnegative`,
                                       :func:`check_positive`, :func:`check_range`,
                                       :func:`check_in_range`
``seed``                               :func:`as_generator`
=====================================  ===========================================

Complex input is rejected everywhere (casting it to float would silently
drop the imaginary part).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

#: Rows of X densified at once wherever an n x p quantity is formed block by
#: block (residuals, predicted scores, the Gram matrix): bounds the memory to
#: ROW_BLOCK x p floats while keeping every BLAS call large.
ROW_BLOCK = 4096


def as_real_array(value, name: str, what: str = "a numeric array") -> np.ndarray:
    """``value`` as a float64 ndarray of any shape (no copy if it already is one); complex is an error."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # e.g. ragged nested sequences
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}") from exc
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex values (the imaginary part would be dropped)")
    try:
        return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}") from exc


def as_data_matrix(X, name: str = "X"):
    """Return ``X`` as a float64 dense array or CSR matrix, checked.

    Dense input is converted without copying when it is already float64;
    callers must therefore never write into the result.
    """
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {X.shape}")
        if X.dtype.kind == "c":
            raise TypeError(f"{name} must be real, got complex values (the imaginary part would be dropped)")
        X = sp.csr_matrix(X, dtype=np.float64)
        if not np.all(np.isfinite(X.data)):
            raise ValueError(f"{name} contains NaN or inf")
    else:
        X = as_real_array(X, name, "a numeric array or scipy.sparse matrix")
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got {X.ndim}-D with shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name} contains NaN or inf")
    if 0 in X.shape:
        raise ValueError(f"{name} must not be empty, got shape {X.shape}")
    return X


def dense_row_blocks(X, size: int = ROW_BLOCK):
    """Yield ``(rows, block)``: consecutive row slices of ``X`` and those rows as a dense array."""
    for start in range(0, X.shape[0], size):
        rows = slice(start, start + size)
        block = X[rows]
        yield rows, (block.toarray() if sp.issparse(block) else block)


def as_factor(M, name: str, rows: int | None = None, cols: int | None = None):
    """Return a dense 2-D float64 factor matrix, checking its shape."""
    if sp.issparse(M):
        M = M.toarray()
    M = as_real_array(M, name)
    if M.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {M.ndim}-D with shape {M.shape}")
    if rows is not None and M.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows, got shape {M.shape}")
    if cols is not None and M.shape[1] != cols:
        raise ValueError(f"{name} must have {cols} columns, got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise ValueError(f"{name} contains NaN or inf")
    return M


def as_square(S, name: str = "S", size: int | None = None) -> np.ndarray:
    """A finite square matrix (``size x size`` if ``size`` is given)."""
    S = as_factor(S, name)
    if S.shape[0] != S.shape[1]:
        raise ValueError(f"{name} must be square, got shape {S.shape}")
    if size is not None and S.shape[0] != size:
        raise ValueError(f"{name} must be {size} x {size}, got shape {S.shape}")
    return S


def as_vector(v, name: str, size: int | None = None, *, min_size: int = 1) -> np.ndarray:
    """A finite 1-D float64 array with at least ``min_size`` entries (exactly ``size`` if given)."""
    v = as_real_array(v, name)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {v.shape}")
    if size is not None and v.shape != (size,):
        raise ValueError(f"{name} must have {size} entries, got shape {v.shape}")
    if v.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} entries, got {v.size}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or inf")
    return v


def check_singular_values(s, name: str = "s", *, positive: bool = True) -> np.ndarray:
    """Non-empty 1-D singular values, all ``> 0`` (or ``>= 0`` when ``positive`` is False)."""
    s = as_vector(s, name)
    if positive and np.any(s <= 0):
        raise ValueError(f"{name} must contain singular values > 0 (rank(X) >= k; else D = dMat(σ^α) "
                         "is singular)")
    if np.any(s < 0):
        raise ValueError(f"{name} must contain singular values >= 0")
    return s


def check_spectrum(svd, shape=None, k: int | None = None, *, positive: bool = False):
    """A precomputed ``svd=`` argument: a :class:`~cosim_helpers.spectral.Spectrum`.

    With ``shape`` (of X) its vectors must have length ``p = shape[1]``; it
    must hold at least ``k`` components (default: all it has). Returns its
    top ``k`` as a new float64 Spectrum; its singular values must be
    descending and ``>= 0``, and ``> 0`` with ``positive`` (``rank(X) >= k``).
    """
    from .spectral import Spectrum  # spectral imports this module

    if not isinstance(svd, Spectrum):
        raise TypeError("svd must be a Spectrum returned by cosim_helpers.spectral.top_singular")
    s = check_singular_values(svd.s, "svd.s", positive=False)
    V = as_factor(svd.V, "svd.V")
    k = s.size if k is None else k
    p = V.shape[0] if shape is None else shape[1]
    if V.shape != (p, s.size) or s.size < k:
        what = f"X of shape {tuple(shape)}" if shape is not None else f"its {V.shape[0]} x {V.shape[1]} V"
        raise ValueError(
            f"svd does not match {what} and k = {k}: "
            f"it holds {s.size} singular values and singular vectors of length {V.shape[0]}"
        )
    s = s[:k]
    if np.any(np.diff(s) > 0):
        raise ValueError("svd.s must be in descending order (as top_singular returns it)")
    if positive and np.any(s <= 0):
        raise ValueError("X must have k singular values > 0 (rank(X) >= k): D = dMat(σ^α) needs σ > 0")
    return Spectrum(s, V[:, :k])


def check_labels(labels, p: int, name: str = "clusters") -> np.ndarray:
    """One integer cluster label per item: a new array of shape ``(p,)``."""
    labels = np.asarray(labels)
    if labels.shape != (p,):
        raise ValueError(f"{name} must have one entry per item ({p}), got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{name} must hold integer cluster labels, got dtype {labels.dtype}")
    return labels.copy()


def check_objective(objective) -> int:
    """The paper's objective number: 1 (Eq. 1) or 2 (Eq. 2)."""
    if isinstance(objective, bool) or not isinstance(objective, numbers.Integral):
        raise TypeError(f"objective must be the integer 1 or 2, got {type(objective).__name__}")
    if objective not in (1, 2):
        raise ValueError(f"objective must be 1 or 2, got {objective!r}")
    return int(objective)


def check_int(value, name: str, minimum: int | None = None) -> int:
    """An integer (not a bool, not a float with an integral value), ``>= minimum`` if given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_rank(k, shape, name: str = "k") -> int:
    """Check that ``1 <= k <= min(shape)`` and return ``k`` as an int."""
    k = check_int(k, name)
    if not 1 <= k <= min(shape):
        raise ValueError(f"{name} must satisfy 1 <= {name} <= min(n, p) = {min(shape)}, got {k}")
    return k


def check_bool(value, name: str) -> bool:
    """A bool (Python or numpy), not a number that happens to be 0 or 1."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


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


def check_positive(value, name: str) -> float:
    """A finite real number ``> 0``."""
    value = check_nonnegative(value, name)
    if value == 0:
        raise ValueError(f"{name} must be > 0, got 0")
    return value


def check_range(bounds, name: str) -> tuple:
    """A pair ``(low, high)`` of finite reals with ``low < high``."""
    try:
        low, high = bounds
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a pair (low, high), got {bounds!r}") from exc
    low, high = check_real(low, f"{name}[0]"), check_real(high, f"{name}[1]")
    if not low < high:
        raise ValueError(f"{name} must satisfy low < high, got {bounds!r}")
    return low, high


def check_in_range(value, bounds, name: str) -> float:
    """A finite real inside ``bounds`` (a checked range; 1e-12 of slack for round-off)."""
    value = check_real(value, name)
    low, high = bounds
    if not low - 1e-12 <= value <= high + 1e-12:
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}] (the control's range), got {value:g}")
    return value


def as_generator(seed) -> np.random.Generator:
    """Accept an int seed ``>= 0``, ``None`` or a Generator; return a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be >= 0 (numpy seeds are non-negative), got {seed}")
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be an int, None or numpy.random.Generator, got {type(seed).__name__}")
