"""Cosine and dot-product similarity between the rows of embedding matrices.

Chapter 2 (*Matrix-factorisation models*) introduces these; the paper (§2) writes
``cosSim(E, F)`` for the matrix of cosines between the rows of ``E`` and ``F``
and, for ``F = E``, ``cosSim(E, E) = Ω_E E Eᵀ Ω_E`` with
``Ω_E = dMat(1 / ‖e_j‖)``.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_factor


def _unit_rows(E):
    """``(Ω_E E, ‖e_j‖)`` with every row scaled by its largest |entry| before squaring.

    Squaring entries directly would overflow for norms near 1e155 and
    underflow for norms near 1e-160 (both turning a perfectly good row into
    "zero"); dividing by the row's largest entry first keeps every step in
    range. Zero rows stay zero and get norm 0.
    """
    top = np.max(np.abs(E), axis=1)
    scale = np.where(top > 0, top, 1.0)
    scaled = E / scale[:, None]
    unit_norms = np.sqrt(np.einsum("ij,ij->i", scaled, scaled))  # in [1, √k] for non-zero rows
    inv = np.zeros_like(unit_norms)
    np.divide(1.0, unit_norms, out=inv, where=top > 0)
    with np.errstate(over="ignore"):
        return scaled * inv[:, None], top * unit_norms


def inverse_row_norms(E) -> np.ndarray:
    """Diagonal of the paper's normaliser ``Ω_E = dMat(1/‖e_j‖)``.

    A zero row gets ``0`` instead of ``inf``, so that it ends up with cosine
    0 to every row (see :func:`cosine_similarity`). The norms are computed
    without squaring raw entries (see :func:`normalize_rows`), so they are
    accurate for any finite row; only a row whose norm is below about 5.6e-309
    (``1/norm`` beyond the float range) gets ``inf``.

    Parameters
    ----------
    E : array_like, shape (m, k)

    Returns
    -------
    numpy.ndarray, shape (m,)
    """
    E = as_factor(E, "E")
    norms = _unit_rows(E)[1]
    out = np.zeros_like(norms)
    with np.errstate(over="ignore"):
        np.divide(1.0, norms, out=out, where=norms > 0)
    return out


def normalize_rows(E) -> np.ndarray:
    """Return ``Ω_E E``: each non-zero row scaled to unit Euclidean length.

    Zero rows stay zero. The input is not modified. Each row is divided by
    its largest |entry| before its norm is taken, so rows with norms near
    1e155 or 1e-160 are normalised correctly (squaring them first would
    overflow or underflow).
    """
    return _unit_rows(as_factor(E, "E"))[0]


def dot_similarity(E, F=None) -> np.ndarray:
    """Matrix of dot products ``E Fᵀ`` between rows (``F`` defaults to ``E``).

    For user embeddings ``E = XA`` and item embeddings ``F = B`` this is the
    model's matrix of predicted scores (paper §2).
    """
    E = as_factor(E, "E")
    F = E if F is None else as_factor(F, "F", cols=E.shape[1])
    return E @ F.T


def cosine_similarity(E, F=None) -> np.ndarray:
    """Cosines between the rows of ``E`` and the rows of ``F``.

    Implements the paper's ``cosSim(E, F) = Ω_E E Fᵀ Ω_F`` (paper §2; its
    Eq. 4 in §2.1 applies it to the rescaled embeddings).

    Parameters
    ----------
    E : array_like, shape (m, k)
    F : array_like, shape (q, k), optional
        Defaults to ``E``, giving the symmetric ``m x m`` matrix.

    Returns
    -------
    numpy.ndarray, shape (m, q)
        Entries in ``[-1, 1]`` (clipped against round-off). A zero row has
        cosine 0 to every row, itself included: its direction is undefined,
        and 0 ("no evidence of similarity") is the value that keeps the
        matrix finite. The result is never NaN. Rows are normalised before
        any entry is squared, so rows of any finite size work (norms near
        1e155 or 1e-160 included).

    Raises
    ------
    TypeError, ValueError
        If ``E`` or ``F`` is not a finite 2-D numeric array, or if their
        numbers of columns differ.
    """
    E = as_factor(E, "E")
    if F is None:
        En = _unit_rows(E)[0]
        S = En @ En.T
    else:
        F = as_factor(F, "F")
        if F.shape[1] != E.shape[1]:
            raise ValueError(
                f"E and F must have the same number of columns, got {E.shape[1]} and {F.shape[1]}"
            )
        S = _unit_rows(E)[0] @ _unit_rows(F)[0].T
    return np.clip(S, -1.0, 1.0, out=S)
