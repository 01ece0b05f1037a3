"""What the audit's statistics need of a factor, summed over row chunks (book chapter 9).

The balance, the alignment and the consistency checks
(:mod:`~cosim_helpers.audit.balance`, :mod:`~cosim_helpers.audit.gauges`)
read a factor ``M`` (rows x k) only through its Gram matrix ``MᵀM``, its
column minima and maxima and the largest deviation of a row norm from 1.
Each is a sum or an extreme over rows, so a factor that is never in memory
whole (:mod:`~cosim_helpers.audit.distributed`) provides them as
:class:`Moments`, one pass over its row chunks. The functions below take
either an array (and compute exactly what the in-process audit always
computed) or an object with a ``moments`` attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Moments:
    """Row sums and extremes of a factor ``M`` (rows x k).

    Attributes
    ----------
    shape : tuple
        ``(rows, k)``.
    gram : numpy.ndarray, shape (k, k)
        ``MᵀM``.
    col_min, col_max : numpy.ndarray, shape (k,)
        Column extremes.
    row_norm_dev : float
        ``max_r |‖m_r‖ − 1|``.
    """

    shape: tuple
    gram: np.ndarray
    col_min: np.ndarray
    col_max: np.ndarray
    row_norm_dev: float

    @property
    def moments(self) -> Moments:
        """Itself: a :class:`Moments` stands in for its factor in the functions below."""
        return self

    @classmethod
    def of(cls, M) -> Moments:
        """The moments of an in-memory chunk of rows."""
        return cls(M.shape, M.T @ M, M.min(axis=0), M.max(axis=0), row_norm_dev(M))

    def __add__(self, other: Moments) -> Moments:
        """The moments of two row chunks stacked (same k)."""
        return Moments((self.shape[0] + other.shape[0], self.shape[1]), self.gram + other.gram,
                       np.minimum(self.col_min, other.col_min), np.maximum(self.col_max, other.col_max),
                       max(self.row_norm_dev, other.row_norm_dev))

    def weighted(self, w) -> Moments:
        """The moments of ``sqrt(w) M`` for a scalar weight ``w`` (per-row weights need a pass over ``M``)."""
        if np.ndim(w):
            raise ValueError("per-row weights need the factor's rows, not its moments")
        root = np.sqrt(w)
        return replace(self, gram=self.gram * w, col_min=self.col_min * root, col_max=self.col_max * root,
                       row_norm_dev=np.nan)


def _moments(M):
    return None if isinstance(M, np.ndarray) else M.moments


def gram(M) -> np.ndarray:
    """``MᵀM``."""
    m = _moments(M)
    return M.T @ M if m is None else m.gram


def sum_squares(M) -> float:
    """``‖M‖²_F``."""
    m = _moments(M)
    return float(np.sum(M * M)) if m is None else float(np.trace(m.gram))


def fro(M) -> float:
    """``‖M‖_F``."""
    m = _moments(M)
    return float(np.linalg.norm(M)) if m is None else float(np.sqrt(np.trace(m.gram)))


def col_norms(M) -> np.ndarray:
    """Euclidean norm of each column."""
    m = _moments(M)
    return np.linalg.norm(M, axis=0) if m is None else np.sqrt(np.diag(m.gram))


def col_extremes(M):
    """(minimum, maximum) of each column."""
    m = _moments(M)
    return (M.min(axis=0), M.max(axis=0)) if m is None else (m.col_min, m.col_max)


def nonneg(M) -> bool:
    """Every entry ``>= 0``."""
    m = _moments(M)
    return bool(np.all(M >= 0)) if m is None else bool(np.all(m.col_min >= 0))


def row_norm_dev(M) -> float:
    """``max_r |‖m_r‖ − 1|``: how far the rows are from unit length."""
    m = _moments(M)
    return float(np.max(np.abs(np.linalg.norm(M, axis=1) - 1.0))) if m is None else m.row_norm_dev


def rms_row_norm(M) -> float:
    """Root-mean-square row norm."""
    m = _moments(M)
    return float(np.sqrt(np.mean(np.sum(M * M, axis=1)))) if m is None else \
        float(np.sqrt(np.trace(m.gram) / m.shape[0]))
