"""Cosine and dot-product similarity between the rows of embedding matrices.

Chapter 2 (*Matrix-factorisation models*) introduces these; the paper (§2) writes
``cosSim(E, F)`` for the matrix of cosines between the rows of ``E`` and ``F``
and, for ``F = E``, ``cosSim(E, E) = Ω_E E Eᵀ Ω_E`` with
``Ω_E = dMat(1 / ‖e_j‖)``.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_factor


def inverse_row_norms(E) -> np.ndarray:
    """Diagonal of the paper's normaliser ``Ω_E = dMat(1/‖e_j‖)``.

    A zero row gets ``0`` instead of ``inf``, so that it ends up with cosine
    0 to every row (see :func:`cosine_similarity`).

    Parameters
    ----------
    E : array_like, shape (m, k)

    Returns
    -------
    numpy.ndarray, shape (m,)
    """
    E = as_factor(E, "E")
    norms = np.linalg.norm(E, axis=1)
    out = np.zeros_like(norms)
    np.divide(1.0, norms, out=out, where=norms > 0)
    return out


def normalize_rows(E) -> np.ndarray:
    """Return ``Ω_E E``: each non-zero row scaled to unit Euclidean length.

    Zero rows stay zero. The input is not modified.
    """
    E = as_factor(E, "E")
    return E * inverse_row_norms(E)[:, None]


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
        matrix finite. The result is never NaN.

    Raises
    ------
    TypeError, ValueError
        If ``E`` or ``F`` is not a finite 2-D numeric array, or if their
        numbers of columns differ.
    """
    E = as_factor(E, "E")
    if F is None:
        En = normalize_rows(E)
        S = En @ En.T
    else:
        F = as_factor(F, "F")
        if F.shape[1] != E.shape[1]:
            raise ValueError(
                f"E and F must have the same number of columns, got {E.shape[1]} and {F.shape[1]}"
            )
        S = normalize_rows(E) @ normalize_rows(F).T
    return np.clip(S, -1.0, 1.0)
