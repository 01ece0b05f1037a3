"""The paper's simulated clustered data (paper §4, "Experiments").

What the paper states: n = 20,000 users, p = 1,000 items, C = 5 item
clusters; items are assigned to clusters with probabilities ``p_c``; each
cluster has an exponent ``β_c ~ U(0.25, 1.5)``; item baseline popularities
follow a power law with exponent ``β_c``; users have random cluster
preferences ``p_uc``; user u picks item i with probability
``p_ui ∝ p_{u,c_i} · p_i``; the number of items ``k_u`` of a user follows a
power law with exponent 0.5; items are drawn without replacement, so X is 0/1.

What the paper does not state, and what we chose (each is a parameter of
:func:`simulate_clustered`):

* ``p_c``: uniform, ``1/C`` (``cluster_probs``).
* the form of the item power law (``popularity_law``): by default the item
  of popularity rank ``r`` within its cluster (r = 1, 2, ...) has
  ``p_i = r^(−β_c)`` (Zipf form); ``"pareto"`` draws ``p_i`` i.i.d. with
  tail ``P(p_i > x) = x^(−β_c)`` instead (book chapter 7 compares both).
* ``p_uc``: Dirichlet with all concentrations ``user_concentration = 0.5``,
  so that most users prefer one or two clusters.
* the power law of ``k_u``: Pareto with tail exponent 0.5 above
  ``min_items_per_user``, i.e. ``P(k_u >= m) = (min/m)^0.5``, rounded down
  and clipped at ``max_items_per_user`` (default: half the items); see
  :func:`draw_items_per_user`. Clipping at ``m_max`` moves the mass above
  ``m_max`` onto ``m_max`` and leaves ``P(k_u >= m_max)`` unchanged.
* the seed (``seed``).

Book chapter 7 studies how its results depend on these choices.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._validation import as_generator, as_vector, check_int, check_positive


class Simulation(NamedTuple):
    """Output of :func:`simulate_clustered`.

    Attributes
    ----------
    X : scipy.sparse.csr_matrix, shape (n_users, n_items)
        0/1 interactions (float64).
    clusters : numpy.ndarray of int, shape (n_items,)
        Cluster of each item, in ``0 .. n_clusters − 1``.
    popularity : numpy.ndarray of float, shape (n_items,)
        Baseline popularity ``p_i`` of each item (largest = 1 in each cluster).
    """

    X: sp.csr_matrix
    clusters: np.ndarray
    popularity: np.ndarray


def draw_items_per_user(n_users: int, seed=0, *, activity_exponent: float = 0.5, min_items: int = 1,
                        max_items: int | None = None, activity_law: str = "tail") -> np.ndarray:
    """Numbers of items per user ``k_u``: a power law with tail exponent ``activity_exponent``.

    The paper (§4) says only that ``k_u`` follows a power law with exponent
    0.5. Our reading (book chapter 7): ``k_u = floor(min_items · V^(−1/a))``
    with ``V ~ U(0, 1]`` and ``a = activity_exponent``, so that
    ``P(k_u >= m) = (min_items/m)^a`` exactly for integers ``m >= min_items``,
    then clipped to ``max_items``. Clipping moves the mass above
    ``max_items`` onto ``max_items`` itself, so ``P(k_u >= max_items)`` is
    the same with and without the clip. :func:`simulate_clustered` draws its
    ``k_u`` with this function.

    Parameters
    ----------
    n_users : int
    seed : int, None or numpy.random.Generator
    activity_exponent : float
        Tail exponent ``a > 0`` (paper: 0.5).
    min_items : int
        Smallest ``k_u`` (>= 1).
    max_items : int or None
        Clip ``k_u`` here; None: no clip.
    activity_law : {"tail", "density"}
        ``"tail"`` (default): the reading above. ``"density"``: the other
        reading of "a power law with exponent a", ``P(k_u = m) ∝ m^(−a)`` for
        the integers ``min_items <= m <= max_items`` (needs ``max_items``:
        for ``a <= 1`` it has no finite normalisation without a cap). Book
        chapter 7 compares the two.

    Returns
    -------
    numpy.ndarray of int64, shape (n_users,)
    """
    n_users = check_int(n_users, "n_users", 1)
    min_items = check_int(min_items, "min_items", 1)
    if max_items is not None:
        max_items = check_int(max_items, "max_items", min_items)
    activity_exponent = check_positive(activity_exponent, "activity_exponent")
    if activity_law not in ("tail", "density"):
        raise ValueError(f"activity_law must be 'tail' or 'density', got {activity_law!r}")
    rng = as_generator(seed)
    if activity_law == "density":
        if max_items is None:
            raise ValueError("activity_law='density' needs max_items (the density has no finite mass without a cap)")
        support = np.arange(min_items, max_items + 1, dtype=np.float64)
        weights = support ** -activity_exponent
        return rng.choice(support, size=n_users, p=weights / weights.sum()).astype(np.int64)
    u = 1.0 - rng.random(n_users)  # in (0, 1]
    with np.errstate(over="ignore"):
        counts = np.floor(min_items * u ** (-1.0 / activity_exponent))
    upper = np.iinfo(np.int64).max // 2 if max_items is None else max_items
    return np.clip(counts, min_items, upper).astype(np.int64)


def _baseline_popularity(rng, clusters, betas, law):
    """Item baseline popularities ``p_i``, largest = 1 in each cluster (see the module docstring)."""
    popularity = np.empty(len(clusters))
    for c in range(len(betas)):
        members = np.flatnonzero(clusters == c)
        if law == "zipf":
            members = rng.permutation(members)
            popularity[members] = np.arange(1, len(members) + 1, dtype=float) ** -betas[c]
        elif members.size:
            # Pareto: p = V^(-1/β) with V ~ U(0, 1], so P(p > x) = x^(-β); in logs to avoid overflow.
            log_p = -np.log(1.0 - rng.random(members.size)) / betas[c]
            popularity[members] = np.exp(log_p - log_p.max())
    return popularity


def _sample_without_replacement(rng, weights, counts):
    """Draw ``counts[u]`` distinct columns from row u with probabilities ∝ ``weights[u]``.

    Gumbel-top-k: the ``c`` largest of ``log w + Gumbel noise`` are a sample
    without replacement with successive probabilities proportional to ``w``,
    exactly as ``rng.choice(p, c, replace=False, p=w/w.sum())``, but for all
    users at once.
    """
    keys = np.log(weights) + rng.gumbel(size=weights.shape)
    order = np.argsort(-keys, axis=1)
    keep = np.arange(weights.shape[1])[None, :] < counts[:, None]
    rows = np.broadcast_to(np.arange(weights.shape[0])[:, None], order.shape)[keep]
    return rows, order[keep]


def simulate_clustered(
    n_users: int = 20_000,
    n_items: int = 1_000,
    n_clusters: int = 5,
    seed=0,
    *,
    cluster_probs=None,
    beta_range=(0.25, 1.5),
    user_concentration: float = 0.5,
    activity_exponent: float = 0.5,
    min_items_per_user: int = 1,
    max_items_per_user: int | None = None,
    popularity_law: str = "zipf",
    block_size: int = 2_000,
    activity_law: str = "tail",
) -> Simulation:
    """Simulate 0/1 user-item data with clustered items (paper §4).

    Parameters
    ----------
    n_users, n_items, n_clusters : int
        Paper: 20,000, 1,000 and 5.
    seed : int, None or numpy.random.Generator
        Same seed, same data (on any machine with the same numpy).
    cluster_probs : array_like of shape (n_clusters,), optional
        ``p_c``, the probability that an item belongs to cluster c. Not given
        in the paper; default uniform.
    beta_range : (float, float)
        ``β_c ~ U(low, high)``; paper: (0.25, 1.5).
    user_concentration : float
        Dirichlet concentration of each user's cluster preferences ``p_uc``.
        Not given in the paper; default 0.5.
    activity_exponent : float
        Exponent of the power law of ``k_u``; paper: 0.5.
    activity_law : {"tail", "density"}
        How that exponent is read (not said in the paper): tail exponent,
        ``P(k_u >= m) = m^(−a)`` (default), or density exponent,
        ``P(k_u = m) ∝ m^(−a)`` on the support; see :func:`draw_items_per_user`.
    min_items_per_user, max_items_per_user : int
        Support of ``k_u`` (not given in the paper). Defaults: 1, and
        ``None`` meaning half the items (500 at the paper's scale).
    popularity_law : {"zipf", "pareto"}
        Form of the item power law (not given in the paper): ``"zipf"``,
        ``p_i = r^(−β_c)`` for the item of random rank ``r`` in its cluster
        (default); ``"pareto"``, i.i.d. ``p_i`` with ``P(p_i > x) = x^(−β_c)``,
        ``x >= 1``. Both are divided by the largest in each cluster.
    block_size : int
        Users simulated per block; bounds memory, does not change the result.

    Returns
    -------
    Simulation
        Named tuple ``(X, clusters, popularity)``.
    """
    n_users = check_int(n_users, "n_users", 1)
    n_items = check_int(n_items, "n_items", 1)
    n_clusters = check_int(n_clusters, "n_clusters", 1)
    if n_clusters > n_items:
        raise ValueError(f"n_clusters ({n_clusters}) must not exceed n_items ({n_items})")
    min_items = check_int(min_items_per_user, "min_items_per_user", 1)
    if max_items_per_user is None:
        max_items = max(min_items, n_items // 2)
    else:
        max_items = check_int(max_items_per_user, "max_items_per_user", 1)
    if not min_items <= max_items <= n_items:
        raise ValueError(
            "need min_items_per_user <= max_items_per_user <= n_items, got "
            f"{min_items}, {max_items}, {n_items}"
        )
    block_size = check_int(block_size, "block_size", 1)
    try:
        low, high = beta_range
    except (TypeError, ValueError) as exc:
        raise TypeError(f"beta_range must be a pair (low, high), got {beta_range!r}") from exc
    low, high = check_positive(low, "beta_range[0]"), check_positive(high, "beta_range[1]")
    if not low <= high:
        raise ValueError(f"beta_range must satisfy 0 < low <= high, got {beta_range}")
    user_concentration = check_positive(user_concentration, "user_concentration")
    activity_exponent = check_positive(activity_exponent, "activity_exponent")
    rng = as_generator(seed)
    if cluster_probs is None:
        cluster_probs = np.full(n_clusters, 1.0 / n_clusters)
    cluster_probs = as_vector(cluster_probs, "cluster_probs")
    if cluster_probs.shape != (n_clusters,) or np.any(cluster_probs < 0) or not np.isclose(cluster_probs.sum(), 1):
        raise ValueError(f"cluster_probs must be {n_clusters} non-negative numbers summing to 1")
    if not isinstance(popularity_law, str):
        raise TypeError(f"popularity_law must be a string, got {type(popularity_law).__name__}")
    if popularity_law not in ("zipf", "pareto"):
        raise ValueError(f"popularity_law must be 'zipf' or 'pareto', got {popularity_law!r}")

    clusters = rng.choice(n_clusters, size=n_items, p=cluster_probs)
    betas = rng.uniform(low, high, size=n_clusters)
    popularity = _baseline_popularity(rng, clusters, betas, popularity_law)
    if np.any(popularity == 0):
        raise ValueError(f"beta_range {beta_range} is too steep: the popularity of the least popular items "
                         "of a cluster underflows to 0 (keep β below about 100)")

    prefs = rng.dirichlet(np.full(n_clusters, float(user_concentration)), size=n_users)
    # Dirichlet draws with tiny concentrations can underflow to exactly 0; a
    # floor keeps every log-weight finite without changing the picture.
    prefs = np.maximum(prefs, 1e-300)
    counts = draw_items_per_user(n_users, rng, activity_exponent=float(activity_exponent),
                                 min_items=min_items, max_items=max_items, activity_law=activity_law)

    rows, cols = [], []
    for start in range(0, n_users, block_size):
        stop = min(start + block_size, n_users)
        weights = prefs[start:stop][:, clusters] * popularity[None, :]
        r, c = _sample_without_replacement(rng, weights, counts[start:stop])
        rows.append(r + start)
        cols.append(c)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))
    X.sort_indices()
    return Simulation(X, clusters, popularity)


def item_order(clusters, popularity) -> np.ndarray:
    """Permutation that sorts items by cluster, then by descending popularity.

    The order of the paper's Figure 1 heat maps (book chapter 7).
    """
    clusters = np.asarray(clusters)
    popularity = np.asarray(popularity, dtype=float)
    if clusters.shape != popularity.shape or clusters.ndim != 1:
        raise ValueError("clusters and popularity must be 1-D arrays of the same length")
    return np.lexsort((-popularity, clusters))


def cluster_similarity(clusters) -> np.ndarray:
    """Ground-truth item-item similarity: 1 within a cluster, 0 across.

    The first panel of the paper's Figure 1.
    """
    clusters = np.asarray(clusters)
    if clusters.ndim != 1:
        raise ValueError(f"clusters must be 1-D, got shape {clusters.shape}")
    return (clusters[:, None] == clusters[None, :]).astype(float)
