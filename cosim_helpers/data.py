"""The paper's simulated clustered data (Section 4, "Experiments").

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
* the form of the item power law: the item of popularity rank ``r`` within
  its cluster (r = 1, 2, ...) has ``p_i = r^(−β_c)`` (Zipf form).
* ``p_uc``: Dirichlet with all concentrations ``user_concentration = 0.5``,
  so that most users prefer one or two clusters.
* the power law of ``k_u``: Pareto with tail exponent 0.5 above
  ``min_items_per_user``, i.e. ``P(k_u >= m) = (min/m)^0.5``, rounded down
  and truncated at ``max_items_per_user`` (default: half the items).
* the seed (``seed``).
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
    block_size: int = 2_000,
) -> Simulation:
    """Simulate 0/1 user-item data with clustered items (paper Section 4).

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
        Tail exponent of the power law of ``k_u``; paper: 0.5.
    min_items_per_user, max_items_per_user : int
        Support of ``k_u`` (not given in the paper). Defaults: 1, and
        ``None`` meaning half the items (500 at the paper's scale).
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

    clusters = rng.choice(n_clusters, size=n_items, p=cluster_probs)
    betas = rng.uniform(low, high, size=n_clusters)
    popularity = np.empty(n_items)
    for c in range(n_clusters):
        members = rng.permutation(np.flatnonzero(clusters == c))
        popularity[members] = np.arange(1, len(members) + 1, dtype=float) ** -betas[c]
    if np.any(popularity == 0):
        raise ValueError(f"beta_range {beta_range} is too steep: r^(-β) underflows to 0 for the least popular "
                         "items of a cluster (keep β below about 100)")

    prefs = rng.dirichlet(np.full(n_clusters, float(user_concentration)), size=n_users)
    # Dirichlet draws with tiny concentrations can underflow to exactly 0; a
    # floor keeps every log-weight finite without changing the picture.
    prefs = np.maximum(prefs, 1e-300)
    u = 1.0 - rng.random(n_users)  # in (0, 1]
    counts = np.floor(min_items * u ** (-1.0 / activity_exponent))
    counts = np.clip(counts, min_items, max_items).astype(np.int64)

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
