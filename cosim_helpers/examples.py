"""Small worked examples for the opening chapters (book chapters 1 to 3).

* :func:`toy_interactions`: a hand-made 7 x 5 user-item matrix, small enough
  to print, used in chapter 1 (cosine vs dot product) and chapter 2 (the
  model's embeddings and its three cosine similarities).
* :func:`nearest_neighbours`: the most similar *other* row of a similarity
  matrix, the quantity chapter 1 shows to be changed by a rescaling ``D``.
* :func:`format_table` (re-exported from :mod:`cosim_helpers.tables`, its
  home): a labelled matrix as a table, rounded far coarser than round-off
  (which differs between BLAS builds and thread counts by ~1e-13), so that
  the output is the same on every machine.
* Dropout on the input layer (book chapter 3: the paper, §2.1, calls its
  Eq. 1 "equivalent" to denoising autoencoders, citing Steck 2020; chapter 3
  shows the expectations agree exactly only when all columns of ``X`` have
  the same norm): the exact expectation
  :func:`expected_dropout_loss`, an exact enumeration over all dropout masks
  :func:`enumerated_dropout_loss`, and Monte-Carlo draws
  :func:`dropout_loss_samples`.

Dropout convention used throughout ("inverted dropout"): each entry of the
input is kept independently with probability ``1 − q`` and then divided by
``1 − q``, so that the corrupted input ``Z = (X ⊙ Δ) / (1 − q)`` has
expectation ``X``. The loss of one draw is the denoising loss
``‖X − Z M‖²_F`` (reconstruct the clean ``X`` from the corrupted input) for
the autoencoder's p x p weight matrix ``M`` (``M = ABᵀ`` in the paper).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_factor, as_generator, as_square, check_int, check_real
from .tables import format_table  # noqa: F401  (chapters 1 to 3 import it from here)

# Largest number of non-zero entries of X for which all 2**nnz masks are enumerated.
MAX_ENUMERATED_ENTRIES = 20
# Float64 entries (masks x n x p) held in memory at once by the dropout helpers.
_CHUNK_ENTRIES = 2**21


class ToyData(NamedTuple):
    """Output of :func:`toy_interactions`.

    Attributes
    ----------
    X : numpy.ndarray, shape (7, 5)
        0/1 interactions: ``X[u, i] = 1`` if user u watched film i.
    users : tuple of str
        Row names.
    items : tuple of str
        Column names.
    """

    X: np.ndarray
    users: tuple
    items: tuple


def toy_interactions() -> ToyData:
    """A hand-made 0/1 user-item matrix: 7 users, 5 films (book chapters 1, 2).

    Three users watch science fiction (*Alien*, *Aliens*), three watch
    animation (*Toy Story*, *Finding Nemo*), and *WALL-E*, an animated
    science-fiction film, is watched by one science-fiction fan and by three
    animation fans. Which film *WALL-E* is "most similar" to is therefore a
    genuinely open question, and chapter 1 shows that for objective 1 the
    cosine similarity of the learned embeddings does not answer it.

    Returns
    -------
    ToyData
        ``(X, users, items)``; a new array on every call.
    """
    X = np.array(
        [
            [1, 1, 1, 0, 0],
            [1, 1, 0, 0, 0],
            [1, 0, 0, 0, 0],
            [0, 0, 1, 1, 1],
            [0, 0, 1, 1, 1],
            [0, 0, 0, 1, 0],
            [0, 0, 1, 1, 1],
        ],
        dtype=float,
    )
    users = tuple(f"u{j}" for j in range(1, X.shape[0] + 1))
    items = ("Alien", "Aliens", "WALL-E", "Toy Story", "Finding Nemo")
    return ToyData(X, users, items)


def nearest_neighbours(S) -> np.ndarray:
    """Index of the most similar *other* row for each row of a similarity matrix.

    Used in book chapter 1 to show that a rescaling ``D`` that leaves every
    prediction unchanged can still change an item's nearest neighbour by
    cosine similarity.

    Parameters
    ----------
    S : array_like, shape (m, m)
        Square similarity matrix (larger = more similar), ``m >= 2``.

    Returns
    -------
    numpy.ndarray of int, shape (m,)
        ``argmax_{j != i} S[i, j]``; ties go to the smallest index.

    Raises
    ------
    TypeError, ValueError
        If ``S`` is not a finite, square numeric matrix with at least 2 rows.
    """
    S = as_square(S, "S")
    m = S.shape[0]
    if m < 2:
        raise ValueError(f"S must have at least 2 rows to have a nearest neighbour, got {m}")
    masked = S.copy()
    np.fill_diagonal(masked, -np.inf)
    return np.argmax(masked, axis=1)


def _check_dropout_inputs(X, M, q):
    X = as_factor(X, "X")
    M = as_factor(M, "M", rows=X.shape[1], cols=X.shape[1])
    q = check_real(q, "q")
    if not 0.0 <= q < 1.0:
        raise ValueError(f"q (the dropout rate) must satisfy 0 <= q < 1, got {q}")
    return X, M, q


def _masked_losses(X, M, q, keep):
    """``‖X − ((X ⊙ keep_s) / (1 − q)) M‖²_F`` for each mask ``keep_s`` (shape (s, n, p))."""
    R = X[None, :, :] - ((X[None, :, :] * keep) / (1.0 - q)) @ M
    return np.einsum("sij,sij->s", R, R)


def expected_dropout_loss(X, M, q: float) -> float:
    """Exact expectation of the denoising loss under input dropout (book chapter 3).

    ``E_Δ ‖X − ((X ⊙ Δ)/(1 − q)) M‖²_F = ‖X − XM‖²_F + (q/(1 − q)) ‖Γ^{1/2} M‖²_F``
    with ``Γ = dMat(diag(XᵀX))`` (the squared column norms of ``X``) and
    ``Δ`` a matrix of independent Bernoulli(1 − q) "keep" indicators. This is
    the relation between dropout and an L2 penalty used by Steck (2020); the
    book derives it in chapter 3. With ``M = ABᵀ`` and all columns of ``X`` of
    the same squared norm ``γ`` it is objective 1 (paper Eq. 1) with
    ``λ = γ q/(1 − q)``; with unequal column norms it is not objective 1
    for any ``λ``.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Dense data matrix.
    M : array_like, shape (p, p)
        The autoencoder's weight matrix (``ABᵀ`` in the paper).
    q : float
        Dropout rate, ``0 <= q < 1``.

    Returns
    -------
    float
    """
    X, M, q = _check_dropout_inputs(X, M, q)
    R = X - X @ M
    col_sq = np.einsum("ui,ui->i", X, X)  # diag(XᵀX)
    penalty = float(np.sum(col_sq[:, None] * M * M))  # ‖Γ^{1/2} M‖²_F
    return float(np.sum(R * R)) + q / (1.0 - q) * penalty


def enumerated_dropout_loss(X, M, q: float) -> float:
    """The same expectation as :func:`expected_dropout_loss`, by brute force.

    Sums the loss of every dropout mask times its probability. Masks that
    differ only on zero entries of ``X`` give the same corrupted input, so it
    suffices to enumerate the ``2**nnz`` keep/drop patterns of the non-zero
    entries (each kept entry has probability ``1 − q``, each dropped one
    ``q``). An independent check of the closed form in book chapter 3.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Dense data matrix with at most ``MAX_ENUMERATED_ENTRIES`` (20)
        non-zero entries.
    M : array_like, shape (p, p)
    q : float
        Dropout rate, ``0 <= q < 1``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``X`` has more than ``MAX_ENUMERATED_ENTRIES`` non-zero entries.
    """
    X, M, q = _check_dropout_inputs(X, M, q)
    rows, cols = np.nonzero(X)
    m = len(rows)
    if m > MAX_ENUMERATED_ENTRIES:
        raise ValueError(
            f"X has {m} non-zero entries; enumerating 2**{m} masks is limited to "
            f"{MAX_ENUMERATED_ENTRIES} entries"
        )
    n, p = X.shape
    chunk = max(1, _CHUNK_ENTRIES // (n * p))
    total = 0.0
    for start in range(0, 2**m, chunk):
        codes = np.arange(start, min(start + chunk, 2**m))
        bits = (codes[:, None] >> np.arange(m)[None, :]) & 1  # 1 = keep
        n_keep = bits.sum(axis=1)
        prob = (1.0 - q) ** n_keep * q ** (m - n_keep)
        keep = np.zeros((len(codes), n, p))
        keep[:, rows, cols] = bits
        total += float(np.dot(prob, _masked_losses(X, M, q, keep)))
    return total


def dropout_loss_samples(X, M, q: float, n_samples: int, seed=0) -> np.ndarray:
    """Denoising losses ``‖X − ((X ⊙ Δ)/(1 − q)) M‖²_F`` for random dropout masks.

    Their mean is a Monte-Carlo estimate of :func:`expected_dropout_loss`,
    with standard error ``std / √n_samples`` (book chapter 3).

    Parameters
    ----------
    X : array_like, shape (n, p)
    M : array_like, shape (p, p)
    q : float
        Dropout rate, ``0 <= q < 1``.
    n_samples : int
        Number of independent masks ``Δ`` (entries i.i.d. Bernoulli(1 − q)).
    seed : int, None or numpy.random.Generator
        Same seed, same draws.

    Returns
    -------
    numpy.ndarray, shape (n_samples,)
    """
    X, M, q = _check_dropout_inputs(X, M, q)
    n_samples = check_int(n_samples, "n_samples", 1)
    rng = as_generator(seed)
    n, p = X.shape
    chunk = max(1, _CHUNK_ENTRIES // (n * p))
    out = np.empty(int(n_samples))
    for start in range(0, n_samples, chunk):
        size = min(chunk, n_samples - start)
        keep = (rng.random((size, n, p)) >= q).astype(float)  # P(keep) = 1 − q
        out[start:start + size] = _masked_losses(X, M, q, keep)
    return out
