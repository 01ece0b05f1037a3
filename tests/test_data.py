import numpy as np
import pytest
import scipy.sparse as sp

from cosim_helpers.data import cluster_similarity, draw_items_per_user, item_order, simulate_clustered


@pytest.fixture(scope="module")
def sim():
    return simulate_clustered(n_users=3000, n_items=200, n_clusters=4, seed=0)


def test_shapes_types_and_binary_values(sim):
    X, clusters, popularity = sim
    assert sp.isspmatrix_csr(X) and X.shape == (3000, 200)
    assert set(np.unique(X.data)) == {1.0}
    assert clusters.shape == popularity.shape == (200,)
    assert set(np.unique(clusters)) <= set(range(4))
    assert X.max() == 1  # no duplicates summed: sampling is without replacement


def test_every_user_has_at_least_one_item_and_at_most_the_cap():
    X = simulate_clustered(n_users=2000, n_items=100, seed=1, min_items_per_user=2, max_items_per_user=30).X
    counts = np.diff(X.indptr)
    assert counts.min() >= 2 and counts.max() <= 30


def test_same_seed_same_data_other_seed_other_data():
    a = simulate_clustered(n_users=500, n_items=80, seed=3)
    b = simulate_clustered(n_users=500, n_items=80, seed=3)
    c = simulate_clustered(n_users=500, n_items=80, seed=4)
    assert (a.X != b.X).nnz == 0 and np.array_equal(a.clusters, b.clusters)
    assert (a.X != c.X).nnz > 0


def test_block_size_does_not_change_the_result():
    a = simulate_clustered(n_users=700, n_items=60, seed=5, block_size=700)
    b = simulate_clustered(n_users=700, n_items=60, seed=5, block_size=700)
    assert (a.X != b.X).nnz == 0


def top_decile_share(X):
    counts = np.sort(np.asarray(X.sum(axis=0)).ravel())[::-1]
    return counts[: len(counts) // 10].sum() / counts.sum()


def test_item_popularity_is_heavy_tailed(sim):
    # Baseline popularity is a power law within each cluster: p_i = r^(-β_c), largest = 1.
    for c in np.unique(sim.clusters):
        p = np.sort(sim.popularity[sim.clusters == c])[::-1]
        slope = np.polyfit(np.log(np.arange(1, len(p) + 1)), np.log(p), 1)[0]
        assert -1.5 <= slope <= -0.25 and p[0] == 1.0
    # Observed counts: the top 10% of items get far more than 10% of the
    # interactions; heavy users (who take up to half the catalogue) flatten
    # this, so it shows most clearly with a lower cap on items per user.
    assert top_decile_share(sim.X) > 0.15
    capped = simulate_clustered(n_users=3000, n_items=200, n_clusters=4, seed=0, max_items_per_user=20)
    assert top_decile_share(capped.X) > 0.25


def test_user_activity_is_heavy_tailed(sim):
    counts = np.diff(sim.X.indptr)
    assert counts.max() > 10 * np.median(counts)


def test_items_co_occur_more_within_clusters(sim):
    # The point of the simulation: same-cluster items are consumed together.
    X, clusters = sim.X, sim.clusters
    G = (X.T @ X).toarray()
    np.fill_diagonal(G, 0)
    same = clusters[:, None] == clusters[None, :]
    assert G[same].mean() > 1.5 * G[~same].mean()  # 1.0 without cluster structure


def test_cluster_probabilities_are_used():
    sim = simulate_clustered(n_users=50, n_items=2000, n_clusters=2, seed=6, cluster_probs=[0.9, 0.1])
    assert 0.85 < np.mean(sim.clusters == 0) < 0.95


def test_item_order_and_ground_truth():
    clusters = np.array([1, 0, 1, 0])
    popularity = np.array([0.5, 0.2, 1.0, 0.9])
    np.testing.assert_array_equal(item_order(clusters, popularity), [3, 1, 2, 0])
    S = cluster_similarity(clusters)
    np.testing.assert_array_equal(S, [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]])


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"n_users": 0}, ValueError, "n_users"),
        ({"n_items": 2.5}, TypeError, "n_items"),
        ({"n_clusters": 300, "n_items": 100}, ValueError, "n_clusters"),
        ({"cluster_probs": [0.5, 0.5]}, ValueError, "cluster_probs"),
        ({"beta_range": (0.0, 1.0)}, ValueError, "beta_range"),
        ({"user_concentration": -1.0}, ValueError, "user_concentration"),
        ({"min_items_per_user": 50, "max_items_per_user": 10}, ValueError, "min_items_per_user"),
        ({"seed": "abc"}, TypeError, "seed"),
    ],
)
def test_bad_parameters_are_rejected(kwargs, error, match):
    params = {"n_users": 100, "n_items": 100, **kwargs}
    with pytest.raises(error, match=match):
        simulate_clustered(**params)


def test_items_per_user_tail_is_exact_and_the_clip_does_not_change_it():
    """P(k_u >= m) = m^(-1/2) for integer m (min 1); clipping at 500 moves mass onto 500 only.

    Book chapter 7: the share of users with k_u >= 500 is therefore not raised
    by the clip; its deviation from 500^(-1/2) on one data set is sampling noise.
    """
    clipped = draw_items_per_user(200_000, 7, max_items=500)
    free = draw_items_per_user(200_000, 7)
    assert clipped.max() == 500 and free.max() > 500
    np.testing.assert_array_equal(clipped >= 500, free >= 500)
    np.testing.assert_array_equal(np.minimum(free, 500), clipped)
    for m in (1, 4, 16, 100, 500):
        share, expected = np.mean(free >= m), m ** -0.5
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / free.size) + 1e-12


def test_items_per_user_density_reading():
    """activity_law="density": P(k_u = m) ∝ m^(-1/2) on 1..500 (the other reading of the paper's power law)."""
    k = draw_items_per_user(200_000, 7, max_items=500, activity_law="density")
    assert k.min() >= 1 and k.max() <= 500
    m = np.arange(1, 501)
    prob = m ** -0.5 / np.sum(m ** -0.5)                       # the definition, independently
    for lo, hi in ((1, 1), (2, 10), (11, 100), (101, 500)):
        expected = prob[lo - 1:hi].sum()
        share = np.mean((k >= lo) & (k <= hi))
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / k.size)
    assert abs(k.mean() - np.sum(m * prob)) < 1.0               # about 176 items, not 45
    with pytest.raises(ValueError, match="needs max_items"):
        draw_items_per_user(10, 0, activity_law="density")
    with pytest.raises(ValueError, match="activity_law"):
        draw_items_per_user(10, 0, max_items=5, activity_law="pdf")
    dense = simulate_clustered(n_users=300, n_items=100, seed=1, activity_law="density")
    tail = simulate_clustered(n_users=300, n_items=100, seed=1)
    assert dense.X.nnz > 1.3 * tail.X.nnz           # cap 50: mean k_u about 18.5 against about 12


def test_items_per_user_validation():
    with pytest.raises(ValueError, match="max_items"):
        draw_items_per_user(10, 0, min_items=5, max_items=4)
    with pytest.raises(ValueError, match="activity_exponent"):
        draw_items_per_user(10, 0, activity_exponent=0.0)
    with pytest.raises(TypeError, match="activity_exponent"):
        draw_items_per_user(10, 0, activity_exponent="1")


def test_pareto_popularity_has_the_stated_tail():
    """popularity_law="pareto": p_i = V^(-1/β) / max, so P(p > x·min) = x^(-β) in each cluster (Hill estimate)."""
    sim = simulate_clustered(n_users=50, n_items=4000, n_clusters=2, seed=4, popularity_law="pareto",
                             beta_range=(0.5, 0.5))
    for c in (0, 1):
        p = np.sort(sim.popularity[sim.clusters == c])
        assert p[-1] == 1.0
        ratio = p / p[0]  # = V^(-1/β) / V_max^(-1/β); V_max is close to 1
        hill = 1.0 / np.mean(np.log(ratio))  # MLE of the Pareto tail exponent
        assert abs(hill - 0.5) < 0.05
    zipf = simulate_clustered(n_users=50, n_items=4000, n_clusters=2, seed=4, beta_range=(0.5, 0.5))
    assert not np.allclose(np.sort(zipf.popularity), np.sort(sim.popularity))
    with pytest.raises(ValueError, match="popularity_law"):
        simulate_clustered(n_users=10, n_items=10, popularity_law="lognormal")


@pytest.mark.parametrize("beta_range", [(1.0, np.inf), (np.nan, 1.0), (300.0, 400.0)])
def test_beta_range_that_would_overflow_or_underflow_is_rejected(beta_range):
    with pytest.raises(ValueError, match="beta_range"):
        simulate_clustered(n_users=20, n_items=60, n_clusters=2, seed=0, beta_range=beta_range)


def test_negative_seed_names_seed():
    with pytest.raises(ValueError, match="seed must be >= 0"):
        simulate_clustered(n_users=20, n_items=10, n_clusters=2, seed=-1)
