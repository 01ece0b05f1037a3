"""The paper's experiment (§4, Figure 1) and the book's extensions of it.

Book chapter 7 reproduces Figure 1 of Steck, Ekanadham & Kallus at the
paper's scale and then goes beyond it (the sensitivity study lives in
:mod:`cosim_helpers.sensitivity`; chapter 8's practitioner's probe in
:mod:`cosim_helpers.probe`). Everything here is built from the closed
forms of :mod:`cosim_helpers.models`, and every function that needs the SVD
of ``X`` accepts a precomputed one (``svd=``), so that one decomposition per
data set serves every panel, rescaling and sweep value.

Figure 1 has five item-item cosine heat maps: the ground truth, three
rescalings ``D`` of one objective-1 optimum, and the unique objective-2
optimum. The paper's caption says its three ``D`` are "indicated above each
plot"; its text does not restate them. The named choices in
:data:`RESCALINGS` are ours (chapter 7 defines each one), and so is the
one-parameter family ``D_α = dMat(σ_i^α)`` of :func:`power_sweep` (the
"D-sweep"). Writing ``w_i = 1/(1 + λ/σ_i²)`` for the objective-1 shrinkage
and starting from the symmetric representative ``Â = B̂ = V_k dMat(w)^{1/2}``
(paper Eq. 5, §2.2), the optimum ``(ÂD, B̂D⁻¹)`` has item embeddings
``B̂D⁻¹``:

===================  ===  ======================  ===========================
key                  tag  ``D``                    item embeddings ``B̂D⁻¹``
===================  ===  ======================  ===========================
``"B=V"``            (a)  ``dMat(w)^{1/2}``        ``V_k``
``"symmetric"``      (b)  ``I``                    ``V_k dMat(w)^{1/2}``
``"A=V"``            (c)  ``dMat(w)^{-1/2}``       ``V_k dMat(w)``
``"obj2-like"``      (d)  ``dMat(σ)^{-1/2}``       ``V_k dMat(σ w)^{1/2}``
===================  ===  ======================  ===========================

The paper (§4) says it avoided extreme rescalings, e.g. ones
"anti-correlated with the singular values". We read that as item
embeddings whose column scales fall as ``σ_i`` rises, and measure it with
:func:`scale_correlation`; :func:`score_range` reports the range of scores
with and without such members (our reading, see chapter 7).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.stats

from ._validation import (
    ROW_BLOCK,
    as_data_matrix,
    as_factor,
    as_vector,
    check_int,
    check_labels,
    check_nonnegative,
    check_rank,
    check_real,
    check_singular_values,
    check_spectrum,
)
from .data import cluster_similarity, simulate_clustered
from .metrics import cluster_recovery, neighbour_precision
from .models import fit_objective1, fit_objective2, rescale, shrinkage_objective1
from .plots import label_number
from .similarity import cosine_similarity
from .spectral import Spectrum, top_singular

#: The paper's settings (§4): embedding dimension and both λ.
PAPER_K = 50
PAPER_LAM1 = 10_000.0
PAPER_LAM2 = 100.0

#: Named rescalings of the symmetric objective-1 optimum (our choices, not the
#: paper's): key -> panel title (matplotlib mathtext). See
#: :func:`rescaling_diagonal` for the formulas.
RESCALINGS = {
    "B=V": r"$D=\mathrm{dMat}(1/(1+\lambda_1/\sigma_i^2))^{1/2}$",
    "symmetric": r"$D=I$ (symmetric, Eq. 5)",
    "A=V": r"$D=\mathrm{dMat}(1/(1+\lambda_1/\sigma_i^2))^{-1/2}$",
    "obj2-like": r"$D=\mathrm{dMat}(\sqrt{1/\sigma_i})$",
}

#: The one name of each rescaling in prose, tables and plot labels of chapters
#: 6-8: key -> (tag, plain-text formula with w_i = 1/(1 + λ₁/σ_i²)).
RESCALING_NAMES = {
    "B=V": ("(a)", "D = dMat(w)^(1/2)"),
    "symmetric": ("(b)", "D = I"),
    "A=V": ("(c)", "D = dMat(w)^(-1/2)"),
    "obj2-like": ("(d)", "D = dMat(sigma)^(-1/2)"),
}

#: The D-sweep of :func:`power_sweep` (our family): plain text and mathtext.
SWEEP_NAME = ("D_alpha = dMat(sigma_i^alpha)", r"$D_\alpha=\mathrm{dMat}(\sigma_i^\alpha)$")

#: The three rescalings the book plots in its Figure 1 (our choice).
FIGURE1_RESCALINGS = ("B=V", "symmetric", "A=V")


class Panel(NamedTuple):
    """One heat map of Figure 1.

    Attributes
    ----------
    key : str
        ``"truth"``, ``"obj2"`` or a key of :data:`RESCALINGS`.
    title : str
        Panel title naming the model and ``D`` (matplotlib mathtext).
    S : numpy.ndarray, shape (p, p)
        Item-item similarity shown in the panel.
    A, B : numpy.ndarray of shape (p, k), or None
        The factors whose item embeddings (rows of ``B``) give ``S``; None for
        the ground truth.
    D : numpy.ndarray of shape (k,), or None
        Diagonal of the rescaling applied to the symmetric objective-1
        optimum; None for the ground truth and objective 2.
    """

    key: str
    title: str
    S: np.ndarray
    A: np.ndarray | None
    B: np.ndarray | None
    D: np.ndarray | None


class SeedStudy(NamedTuple):
    """Output of :func:`run_seeds`: one simulated data set per seed.

    Attributes
    ----------
    seeds : tuple of int
    scores : dict str -> numpy.ndarray of shape (n_seeds,)
        :func:`~cosim_helpers.metrics.cluster_recovery` of every panel
        (same keys as the panels of :func:`figure1_panels`).
    n_kept : numpy.ndarray of int, shape (n_seeds,)
        Number of the top-k singular values above ``λ₂``, i.e. the
        dimensions objective 2 does not switch off.
    alphas : numpy.ndarray or None
        The exponents of the sweep, if one was run.
    sweep : numpy.ndarray of shape (n_seeds, n_alphas), or None
        :func:`power_sweep` scores per seed.
    trends : dict str -> numpy.ndarray of shape (n_seeds,)
        :func:`scale_correlation` of the item embeddings of every named
        objective-1 rescaling (negative: anti-correlated with ``σ``).
    sweep_trend : numpy.ndarray of shape (n_seeds, n_alphas), or None
        :func:`power_sweep_trend` per seed.
    head : dict str -> numpy.ndarray of shape (n_seeds,)
        :func:`~cosim_helpers.metrics.neighbour_precision` (precision@10) of
        every panel: the head of each ranking, beside the AUC of ``scores``.
    """

    seeds: tuple
    scores: dict
    n_kept: np.ndarray
    alphas: np.ndarray | None
    sweep: np.ndarray | None
    trends: dict
    sweep_trend: np.ndarray | None
    head: dict | None = None


def _spectrum_for(X, k: int, svd) -> Spectrum:
    return top_singular(X, k) if svd is None else check_spectrum(svd, X.shape, k)


def rescaling_diagonal(key: str, s, lam: float) -> np.ndarray:
    """Diagonal of one named rescaling ``D`` of the symmetric objective-1 optimum.

    With ``w_i = 1/(1 + λ/σ_i²)`` (paper Eq. 5, §2.2; book chapter 4):

    * ``"B=V"``: ``D = dMat(w)^{1/2}``, so ``B̂D⁻¹ = V_k`` (paper §2.2,
      first full-rank special case);
    * ``"symmetric"``: ``D = I``, the symmetric representative itself;
    * ``"A=V"``: ``D = dMat(w)^{-1/2}``, so ``ÂD = V_k`` (§2.2, second
      special case);
    * ``"obj2-like"``: ``D = dMat(σ)^{-1/2}``, the choice the paper (§2.3)
      says a comparison with objective 2 suggests.

    Parameters
    ----------
    key : str
        One of the keys of :data:`RESCALINGS`.
    s : array_like, shape (k,)
        Singular values, all > 0.
    lam : float
        The objective-1 ``λ >= 0``.

    Returns
    -------
    numpy.ndarray, shape (k,)
        The diagonal entries of ``D`` (all > 0).
    """
    if not isinstance(key, str):
        raise TypeError(f"key must be a string, got {type(key).__name__}")
    if key not in RESCALINGS:
        raise ValueError(f"key must be one of {sorted(RESCALINGS)}, got {key!r}")
    s = check_singular_values(s)
    lam = check_nonnegative(lam)
    w = shrinkage_objective1(s, lam)
    if key == "B=V":
        return np.sqrt(w)
    if key == "symmetric":
        return np.ones_like(s)
    if key == "A=V":
        return 1.0 / np.sqrt(w)
    return 1.0 / np.sqrt(s)


def rescaling_scores(A, B, s, lam: float, clusters, keys=tuple(RESCALINGS)) -> dict:
    """Cluster recovery of ``cosSim(BD⁻¹)`` for each named rescaling ``D`` (book chapter 6).

    Parameters
    ----------
    A, B : array_like, shape (p, k)
        The symmetric objective-1 optimum (paper Eq. 5), e.g. from
        :func:`~cosim_helpers.models.fit_objective1`.
    s : array_like, shape (k,)
        Its singular values (all > 0).
    lam : float
        Its ``λ``.
    clusters : array_like of int, shape (p,)
    keys : sequence of str
        Keys of :data:`RESCALINGS` (default: all four).

    Returns
    -------
    dict str -> float
    """
    A = as_factor(A, "A")
    B = as_factor(B, "B", rows=A.shape[0], cols=A.shape[1])
    clusters = check_labels(clusters, A.shape[0])
    if isinstance(keys, str):
        raise TypeError("keys must be a sequence of keys, not a single string")
    return {key: cluster_recovery(cosine_similarity(rescale(A, B, rescaling_diagonal(key, s, lam))[1]), clusters)
            for key in keys}


def power_rescaling(s, alpha: float) -> np.ndarray:
    """Diagonal of ``D = dMat(σ_i^α)``, the one-parameter family of chapter 7.

    ``α = 0`` is the symmetric representative (``D = I``) and ``α = −1/2``
    the objective-2-like ``D = dMat(√(1/σ_i))``.

    Parameters
    ----------
    s : array_like, shape (k,)
        Singular values, all > 0.
    alpha : float

    Returns
    -------
    numpy.ndarray, shape (k,)
    """
    s = check_singular_values(s)
    return s ** check_real(alpha, "alpha")


def figure1_panels(X, clusters, *, k: int = PAPER_K, lam1: float = PAPER_LAM1, lam2: float = PAPER_LAM2,
                   rescalings=FIGURE1_RESCALINGS, svd: Spectrum | None = None) -> tuple:
    """The panels of the paper's Figure 1 for one data set (book chapter 7).

    In order: the ground truth (:func:`~cosim_helpers.data.cluster_similarity`),
    one panel per named rescaling ``D`` of the symmetric objective-1 optimum
    (paper Eq. 1 and Eq. 5; the choice of ``D`` is ours), and the
    objective-2 optimum (paper Eq. 2, §2.3). Each
    objective-1 panel shows ``cosSim(B̂D⁻¹, B̂D⁻¹)`` for the factors
    ``(ÂD, B̂D⁻¹)``, which all have the same ``ÂB̂ᵀ`` and hence the same loss
    and predictions.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    clusters : array_like of int, shape (p,)
        Cluster of each item.
    k : int
        Embedding dimension (paper: 50).
    lam1, lam2 : float
        ``λ`` of objective 1 (paper: 10,000) and objective 2 (paper: 100).
    rescalings : sequence of str
        Keys of :data:`RESCALINGS`; default :data:`FIGURE1_RESCALINGS`.
    svd : Spectrum, optional
        ``top_singular(X, k')`` with ``k' >= k``, shared by all fits.

    Returns
    -------
    tuple of Panel
        ``2 + len(rescalings)`` panels.
    """
    X = as_data_matrix(X)
    p = X.shape[1]
    clusters = check_labels(clusters, p)
    k = check_rank(k, X.shape)
    lam1 = check_nonnegative(lam1, "lam1")
    lam2 = check_nonnegative(lam2, "lam2")
    if isinstance(rescalings, str):
        raise TypeError("rescalings must be a sequence of keys, not a single string")
    rescalings = tuple(rescalings)
    for key in rescalings:
        if key not in RESCALINGS:
            raise ValueError(f"unknown rescaling {key!r}; choose from {sorted(RESCALINGS)}")
    svd = _spectrum_for(X, k, svd)

    panels = [Panel("truth", "ground truth\n(item clusters)", cluster_similarity(clusters), None, None, None)]
    A1, B1 = fit_objective1(X, k, lam1, svd=svd)
    s = svd.s[:k]
    for key in rescalings:
        D = rescaling_diagonal(key, s, lam1)
        A, B = rescale(A1, B1, D)
        panels.append(Panel(key, "objective 1\n" + RESCALINGS[key], cosine_similarity(B), A, B, D))
    A2, B2 = fit_objective2(X, k, lam2, svd=svd)
    panels.append(Panel("obj2", "objective 2 (unique)\n" + rf"$\lambda_2={label_number(lam2)}$", cosine_similarity(B2),
                        A2, B2, None))
    return tuple(panels)


def panel_scores(panels, clusters, metric=cluster_recovery) -> dict:
    """Cluster-recovery score of every panel: ``{panel.key: score}``.

    The score is ``metric(S, clusters)``, by default
    :func:`~cosim_helpers.metrics.cluster_recovery` (mean per-item ROC AUC;
    1 is perfect, 0.5 is chance); pass
    :func:`~cosim_helpers.metrics.neighbour_precision` for precision@10.
    """
    panels = tuple(panels)
    if not panels or not all(isinstance(panel, Panel) for panel in panels):
        raise TypeError("panels must be a non-empty sequence of Panel (see figure1_panels)")
    if not callable(metric):
        raise TypeError("metric must be a function metric(S, clusters) -> float")
    return {panel.key: metric(panel.S, clusters) for panel in panels}


def power_sweep(X, clusters, alphas, *, k: int = PAPER_K, lam: float = PAPER_LAM1,
                svd: Spectrum | None = None, metric=cluster_recovery) -> np.ndarray:
    """Cluster recovery of objective 1 under ``D = dMat(σ_i^α)``, for each α.

    The item embeddings are ``B̂D⁻¹ = V_k dMat(w)^{1/2} dMat(σ)^{−α}`` with
    ``w_i = 1/(1 + λ/σ_i²)``: every α gives an optimum of objective 1 with the
    same ``ÂB̂ᵀ`` (book chapter 7). The family is ours, not the paper's.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    clusters : array_like of int, shape (p,)
    alphas : array_like of float, shape (m,)
    k : int
    lam : float
        Objective-1 ``λ``.
    svd : Spectrum, optional
        Precomputed ``top_singular(X, k')``, ``k' >= k``.
    metric : callable, optional
        ``metric(S, clusters) -> float``; default
        :func:`~cosim_helpers.metrics.cluster_recovery`.

    Returns
    -------
    numpy.ndarray, shape (m,)
        The score for each α.
    """
    if not callable(metric):
        raise TypeError("metric must be a function metric(S, clusters) -> float")
    X = as_data_matrix(X)
    clusters = check_labels(clusters, X.shape[1])
    alphas = as_vector(alphas, "alphas")
    k = check_rank(k, X.shape)
    lam = check_nonnegative(lam)
    svd = _spectrum_for(X, k, svd)
    A, B = fit_objective1(X, k, lam, svd=svd)
    s = check_singular_values(svd.s, "svd.s")
    scores = np.empty(len(alphas))
    for i, alpha in enumerate(alphas):
        _, B_alpha = rescale(A, B, power_rescaling(s, float(alpha)))
        scores[i] = metric(cosine_similarity(B_alpha), clusters)
    return scores


def scale_correlation(E, s) -> float:
    """Spearman correlation between the column scales of embeddings and the singular values.

    For item embeddings ``E = B̂D⁻¹`` built from the closed forms (columns
    aligned with the singular directions ``V_k``), column ``i`` of ``E`` has
    norm ``√w_i / d_i``. The paper (§4) says it avoided rescalings
    "anti-correlated with the singular values"; we read that as a negative
    value of this correlation (the weak directions get the largest scale).
    Equal column norms (e.g. ``E = V_k``) give 0: neither correlated nor
    anti-correlated. Our reading, book chapter 7.

    Parameters
    ----------
    E : array_like, shape (p, k)
        Embeddings whose columns belong to the singular directions.
    s : array_like, shape (k,)
        Singular values, in the order of the columns of ``E``.

    Returns
    -------
    float
        In ``[-1, 1]``.
    """
    E = as_factor(E, "E")
    s = check_singular_values(s)
    if s.shape != (E.shape[1],):
        raise ValueError(f"s must have one entry per column of E ({E.shape[1]}), got shape {s.shape}")
    norms = np.linalg.norm(E, axis=0)
    # Column norms equal up to round-off count as equal (no trend).
    if np.ptp(norms) <= 1e-9 * max(float(np.max(norms)), np.finfo(float).tiny) or np.ptp(s) == 0:
        return 0.0
    return float(scipy.stats.spearmanr(norms, s).statistic)


def power_sweep_trend(A, B, s, alphas) -> np.ndarray:
    """:func:`scale_correlation` of the item embeddings of each member of the D-sweep.

    ``B`` is rescaled to ``BD_α⁻¹`` with ``D_α = dMat(σ_i^α)``
    (:func:`power_rescaling`), as in :func:`power_sweep`.

    Parameters
    ----------
    A, B : array_like, shape (p, k)
        An objective-1 optimum from :func:`~cosim_helpers.models.fit_objective1`.
    s : array_like, shape (k,)
        Its singular values.
    alphas : array_like of float, shape (m,)

    Returns
    -------
    numpy.ndarray, shape (m,)
    """
    A = as_factor(A, "A")
    B = as_factor(B, "B", rows=A.shape[0], cols=A.shape[1])
    s = check_singular_values(s)
    alphas = as_vector(alphas, "alphas")
    return np.array([scale_correlation(rescale(A, B, power_rescaling(s, float(alpha)))[1], s)
                     for alpha in alphas])


def score_range(scores, trends=None) -> tuple:
    """Smallest and largest score, optionally over the non-extreme rescalings only.

    Parameters
    ----------
    scores : array_like of float
        Cluster-recovery scores of several rescalings of one model (any shape).
    trends : array_like of float, same shape, optional
        Their :func:`scale_correlation`. If given, only the entries with
        ``trend >= 0`` (not anti-correlated with the singular values, our
        reading of the paper's "reasonable" choices) are used.

    Returns
    -------
    (float, float)
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0 or not np.all(np.isfinite(scores)):
        raise ValueError("scores must be a non-empty array of finite numbers")
    if trends is not None:
        trends = np.asarray(trends, dtype=np.float64)
        if trends.shape != scores.shape:
            raise ValueError(f"trends must have the shape of scores {scores.shape}, got {trends.shape}")
        scores = scores[trends >= 0]
        if scores.size == 0:
            raise ValueError("no score has trend >= 0")
    return float(scores.min()), float(scores.max())


def run_seeds(seeds, *, k: int = PAPER_K, lam1: float = PAPER_LAM1, lam2: float = PAPER_LAM2,
              rescalings=tuple(RESCALINGS), alphas=None, **simulate_kwargs) -> SeedStudy:
    """Figure-1 scores (and optionally the α-sweep) on one simulated data set per seed.

    For each seed: :func:`~cosim_helpers.data.simulate_clustered` with that
    seed (and ``simulate_kwargs``), ONE :func:`~cosim_helpers.spectral.top_singular`,
    then :func:`figure1_panels`, :func:`panel_scores` and, if ``alphas`` is
    given, :func:`power_sweep`, all sharing that decomposition.

    Parameters
    ----------
    seeds : sequence of int
        Distinct seeds, at least one.
    k, lam1, lam2 : as in :func:`figure1_panels`
    rescalings : sequence of str
        Named objective-1 rescalings to score (default: all of
        :data:`RESCALINGS`).
    alphas : array_like of float, optional
        Exponents for :func:`power_sweep`; None skips the sweep.
    **simulate_kwargs
        Passed to :func:`~cosim_helpers.data.simulate_clustered` (not ``seed``).

    Returns
    -------
    SeedStudy
    """
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds).__name__}")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    for i, seed in enumerate(seeds):
        check_int(seed, f"seeds[{i}]", 0)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    if "seed" in simulate_kwargs:
        raise TypeError("pass seeds through `seeds`, not `seed`")
    if alphas is not None:
        alphas = as_vector(alphas, "alphas")
    scores: dict = {}
    head: dict = {}
    trends: dict = {}
    n_kept = np.empty(len(seeds), dtype=int)
    sweep = None if alphas is None else np.empty((len(seeds), len(alphas)))
    sweep_trend = None if alphas is None else np.empty((len(seeds), len(alphas)))
    for i, seed in enumerate(seeds):
        X, clusters, _ = simulate_clustered(seed=int(seed), **simulate_kwargs)
        svd = top_singular(X, k)
        panels = figure1_panels(X, clusters, k=k, lam1=lam1, lam2=lam2, rescalings=rescalings, svd=svd)
        for key, value in panel_scores(panels, clusters).items():
            scores.setdefault(key, np.empty(len(seeds)))[i] = value
        for key, value in panel_scores(panels, clusters, metric=neighbour_precision).items():
            head.setdefault(key, np.empty(len(seeds)))[i] = value
        for panel in panels:
            if panel.D is not None:
                trends.setdefault(panel.key, np.empty(len(seeds)))[i] = scale_correlation(panel.B, svd.s[:k])
        n_kept[i] = int(np.sum(svd.s[:k] > lam2))
        if alphas is not None:
            sweep[i] = power_sweep(X, clusters, alphas, k=k, lam=lam1, svd=svd)
            sym = next(panel for panel in panels if panel.key == "symmetric") if "symmetric" in rescalings else None
            A1, B1 = (sym.A, sym.B) if sym is not None else fit_objective1(X, k, lam1, svd=svd)
            sweep_trend[i] = power_sweep_trend(A1, B1, svd.s[:k], alphas)
    return SeedStudy(seeds, scores, n_kept, alphas, sweep, trends, sweep_trend, head)


def mean_sd(values) -> tuple:
    """Mean and sample standard deviation (``ddof = 1``) of a 1-D array.

    Used for the "mean ± sd over seeds" tables of chapter 7. A single value
    has sd NaN (undefined), not 0.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {values.shape}")
    sd = float(np.std(values, ddof=1)) if values.size > 1 else float("nan")
    return float(np.mean(values)), sd


def within_between_means(S, clusters) -> tuple:
    """Mean similarity of same-cluster pairs and of different-cluster pairs.

    The diagonal (an item with itself) is left out. Their difference is the
    visual contrast of the blocks in a Figure-1 heat map (book chapter 7),
    which :func:`~cosim_helpers.metrics.cluster_recovery`, being rank-based
    per item, does not see.

    Parameters
    ----------
    S : array_like, shape (p, p)
    clusters : array_like of int, shape (p,)

    Returns
    -------
    (float, float)
        ``(within, between)``.
    """
    S = as_factor(S, "S")
    p = S.shape[0]
    if S.shape != (p, p):
        raise ValueError(f"S must be square, got shape {S.shape}")
    clusters = check_labels(clusters, p)
    same = clusters[:, None] == clusters[None, :]
    off_diagonal = ~np.eye(p, dtype=bool)
    within, between = same & off_diagonal, ~same
    if not within.any() or not between.any():
        raise ValueError("clusters need at least two clusters and one cluster with two items")
    return float(S[within].mean()), float(S[between].mean())


def max_prediction_change(X, A, B, A2, B2) -> float:
    """``max_{u,i} |(XA)_u · b_i − (XA₂)_u · b₂_i|`` over all users and items.

    The model's predicted scores are ``XABᵀ`` (paper §2); this checks
    that two sets of factors make the same predictions, user block by user
    block so that the n x p score matrix is never held in memory at once.
    """
    X = as_data_matrix(X)
    p = X.shape[1]
    A = as_factor(A, "A", rows=p)
    B = as_factor(B, "B", rows=p, cols=A.shape[1])
    A2 = as_factor(A2, "A2", rows=p)
    B2 = as_factor(B2, "B2", rows=p, cols=A2.shape[1])
    P, P2 = np.asarray(X @ A), np.asarray(X @ A2)
    worst = 0.0
    for start in range(0, X.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        worst = max(worst, float(np.max(np.abs(P[rows] @ B.T - P2[rows] @ B2.T))))
    return worst
