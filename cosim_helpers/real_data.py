"""A real data set with known clusters, shipped with the package (book chapter 10).

The paper shows its effect on simulated data only (Section 4). Chapter 10
repeats the experiment on real text: a word-by-context co-occurrence matrix
built from the glosses of Princeton WordNet 3.0 (Debian's ``wordnet-base``),
whose target nouns carry WordNet's lexicographer categories (``noun.animal``,
``noun.food``, ...) as ground-truth clusters. ``scripts/build_real_data.py``
rebuilds the shipped file byte for byte from the Debian package; this module
only reads it (no network) and applies the standard positive-PMI weighting.

Orientation, as everywhere in the book: ``X`` is n x p with the *items*
(target words) as columns; the n rows are context words, playing the role of
the paper's users.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._validation import as_data_matrix, as_generator, check_int, check_labels

#: Folder of the shipped data files (package data, so that pip installs it).
DATA_DIR = Path(__file__).resolve().parent / "_data"
WORDNET_STEM = "wordnet_glosses"
_ARRAYS = ("categories", "context_words", "counts_data", "counts_indices", "counts_indptr", "labels",
           "licence", "target_words")


class RealData(NamedTuple):
    """Output of :func:`load_wordnet_glosses`.

    Attributes
    ----------
    X : scipy.sparse.csr_matrix, shape (n, p), float64
        Co-occurrence counts: ``X[c, w]`` is the number of WordNet synset
        documents containing both context word c and target word w.
    labels : numpy.ndarray of int, shape (p,)
        Category (cluster) index of each target word.
    targets : tuple of str, length p
        The target nouns (the items, columns of ``X``).
    contexts : tuple of str, length n
        The context words (rows of ``X``).
    categories : tuple of str
        WordNet lexicographer file of each cluster index.
    meta : dict
        The metadata file: provenance, licence, parameters, checksums.
    """

    X: sp.csr_matrix
    labels: np.ndarray
    targets: tuple
    contexts: tuple
    categories: tuple
    meta: dict


def _words(array, name: str) -> tuple:
    if array.dtype != np.uint8 or array.ndim != 1:
        raise ValueError(f"{name} must be newline-separated ASCII bytes (1-D uint8)")
    return tuple(array.tobytes().decode("ascii").split("\n"))


def load_wordnet_glosses(folder=None) -> RealData:
    """Load the WordNet gloss co-occurrence data of book chapter 10, checked.

    Parameters
    ----------
    folder : str or pathlib.Path, optional
        Folder holding ``wordnet_glosses.npz`` and ``wordnet_glosses.json``;
        by default the copy shipped with the package (:data:`DATA_DIR`).

    Returns
    -------
    RealData

    Raises
    ------
    FileNotFoundError
        If either file is missing.
    ValueError
        If the ``.npz`` does not match the SHA-256 recorded in the metadata,
        or its arrays are inconsistent (shapes, index ranges, labels).
    """
    folder = DATA_DIR if folder is None else Path(folder)
    npz_path, json_path = folder / f"{WORDNET_STEM}.npz", folder / f"{WORDNET_STEM}.json"
    for path in (npz_path, json_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (rebuild it with scripts/build_real_data.py)")
    meta = json.loads(json_path.read_text(encoding="utf-8"))
    digest = hashlib.sha256(npz_path.read_bytes()).hexdigest()
    if digest != meta.get("npz_sha256"):
        raise ValueError(f"{npz_path.name}: SHA-256 {digest} does not match the metadata "
                         f"({meta.get('npz_sha256')}); the file is corrupt or was changed")
    with np.load(npz_path, allow_pickle=False) as npz:
        missing = sorted(set(_ARRAYS) - set(npz.files))
        if missing:
            raise ValueError(f"{npz_path.name} lacks the arrays {missing}")
        arrays = {name: npz[name] for name in _ARRAYS}
    targets = _words(arrays["target_words"], "target_words")
    contexts = _words(arrays["context_words"], "context_words")
    categories = _words(arrays["categories"], "categories")
    n, p = len(contexts), len(targets)
    indptr, indices = arrays["counts_indptr"].astype(np.int64), arrays["counts_indices"].astype(np.int64)
    data = arrays["counts_data"].astype(np.float64)
    if indptr.shape != (p + 1,) or indptr[0] != 0 or indptr[-1] != len(data) or np.any(np.diff(indptr) < 0):
        raise ValueError("counts_indptr is inconsistent with the number of target words and non-zeros")
    if indices.shape != data.shape or (len(indices) and not 0 <= indices.min() <= indices.max() < n):
        raise ValueError("counts_indices must hold one row index < n per non-zero")
    labels = arrays["labels"].astype(np.int64)
    if labels.shape != (p,) or labels.min() < 0 or labels.max() >= len(categories):
        raise ValueError("labels must hold one category index per target word")
    if [n, p] != meta.get("shape") or list(categories) != meta.get("categories"):
        raise ValueError("the arrays do not match the shape and categories recorded in the metadata")
    X = sp.csc_matrix((data, indices, indptr), shape=(n, p)).tocsr()
    return RealData(X, labels, targets, contexts, categories, meta)


def ppmi(X, cds: float = 1.0) -> sp.csr_matrix:
    """Positive pointwise mutual information of a context-by-word count matrix.

    With the rows of ``X`` as contexts c and its columns as words w, and
    ``N = Σ X``, ``P(c, w) = X[c, w] / N``, ``P(w) = Σ_c X[c, w] / N`` and the
    smoothed context distribution ``P_cds(c) ∝ (Σ_w X[c, w])^cds``,

    ``PPMI[c, w] = max(0, log(P(c, w) / (P(c)_cds · P(w))))``,

    and 0 where ``X[c, w] = 0``. ``cds = 0.75`` is the context distribution
    smoothing of Levy, Goldberg & Dagan (2015), the counterpart of
    word2vec's negative sampling ∝ freq^{3/4} (book chapters 6 and 10).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
        Non-negative counts. Not modified.
    cds : float
        Exponent of the context distribution, ``0 < cds <= 1``.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n, p)
        Non-negative, with no stored zeros.
    """
    X = as_data_matrix(X)
    if isinstance(cds, bool) or not isinstance(cds, numbers.Real) or not 0 < cds <= 1:
        raise ValueError(f"cds must be a number in (0, 1], got {cds!r}")
    C = sp.coo_matrix(X)
    if np.any(C.data < 0):
        raise ValueError("X must hold non-negative counts")
    total = C.data.sum()
    if total == 0:
        raise ValueError("X must not be all zeros")
    context = np.asarray(C.sum(axis=1)).ravel() ** float(cds)
    p_context = context / context.sum()
    p_word = np.asarray(C.sum(axis=0)).ravel() / total
    keep = C.data > 0
    rows, cols, vals = C.row[keep], C.col[keep], C.data[keep]
    pmi = np.log(vals / total) - np.log(p_context[rows]) - np.log(p_word[cols])
    pos = pmi > 0
    return sp.csr_matrix((pmi[pos], (rows[pos], cols[pos])), shape=X.shape)


def bootstrap_contexts(counts, statistic, n_boot: int, seed=0) -> list:
    """``statistic`` on ``n_boot`` resamples of the context rows of ``counts`` (book chapter 10).

    Each replicate draws n rows of the n x p count matrix uniformly with
    replacement (the contexts are the "users" of chapter 10; the items, its
    columns, are kept) and calls ``statistic`` on that matrix, e.g. to
    recompute the PPMI weighting, the fits and the scores. The spread of the
    results is a bootstrap estimate of how much a number depends on which
    contexts happened to be in the data (our choice of uncertainty measure).

    Parameters
    ----------
    counts : scipy.sparse matrix or array_like, shape (n, p)
        Not modified.
    statistic : callable
        ``statistic(counts_resampled) -> anything``.
    n_boot : int
        Number of replicates, >= 1.
    seed : int, None or numpy.random.Generator
        The resampling is deterministic for a given seed.

    Returns
    -------
    list
        One result of ``statistic`` per replicate.
    """
    counts = sp.csr_matrix(as_data_matrix(counts))
    if not callable(statistic):
        raise TypeError(f"statistic must be callable, got {type(statistic).__name__}")
    n_boot = check_int(n_boot, "n_boot", 1)
    rng = as_generator(seed)
    n = counts.shape[0]
    return [statistic(counts[rng.integers(0, n, n)]) for _ in range(n_boot)]


def category_specific_contexts(counts, labels, per_category: int) -> np.ndarray:
    """Row indices of the contexts most specific to each category (book chapter 10).

    WordNet glosses define a noun by its genus ("a tree of the genus ...",
    "a person who ...", "a city in ..."), so some contexts all but name a
    target's category: the ground truth is partly written into ``X``. To
    measure how much a score rides on them, chapter 10 removes, for each
    category c, the ``per_category`` contexts with the largest

    ``coverage(r, c) · share(r, c)``,

    where ``coverage`` is the fraction of category c's targets that context r
    co-occurs with and ``share`` the fraction of r's co-occurrence counts
    that fall on category c (both ours; ties broken by row index). The
    choice uses the labels on purpose: it finds the label-revealing contexts.

    Parameters
    ----------
    counts : scipy.sparse matrix or array_like, shape (n, p)
        Non-negative co-occurrence counts (contexts x targets). Not modified.
    labels : array_like of int, shape (p,)
        Category of each target.
    per_category : int
        Contexts to pick per category, ``1 <= per_category <= n``.

    Returns
    -------
    numpy.ndarray of int
        Sorted, distinct row indices (at most ``per_category`` x the number of
        categories: a context can top several categories).
    """
    counts = sp.csr_matrix(as_data_matrix(counts))
    if counts.nnz and counts.data.min() < 0:
        raise ValueError("counts must be non-negative")
    n, p = counts.shape
    labels = check_labels(labels, p, "labels")
    per_category = check_int(per_category, "per_category", 1)
    if per_category > n:
        raise ValueError(f"per_category must be at most the number of contexts {n}, got {per_category}")
    onehot = (labels[:, None] == np.unique(labels)[None, :]).astype(np.float64)
    mass = np.asarray(counts @ onehot)                                  # n x categories
    coverage = np.asarray((counts > 0).astype(np.float64) @ onehot) / onehot.sum(axis=0)
    share = mass / np.maximum(mass.sum(axis=1, keepdims=True), np.finfo(float).tiny)
    score = coverage * share
    picked = {int(r) for c in range(onehot.shape[1])
              for r in np.argsort(-score[:, c], kind="stable")[:per_category]}
    return np.array(sorted(picked), dtype=np.int64)
