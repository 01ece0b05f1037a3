import itertools
from itertools import permutations

import numpy as np
import pytest

from cosim_helpers.data import cluster_similarity
from cosim_helpers.metrics import (
    cluster_recovery,
    neighbour_overlap,
    neighbour_precision,
    per_item_auc,
    per_item_precision,
)


def brute_force_auc(S, labels, i):
    pos = [S[i, j] for j in range(len(labels)) if j != i and labels[j] == labels[i]]
    neg = [S[i, j] for j in range(len(labels)) if labels[j] != labels[i]]
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def test_per_item_auc_equals_pairwise_count_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=25)
    S = np.round(rng.standard_normal((25, 25)), 1)  # rounding creates ties
    auc = per_item_auc(S, labels)
    for i in range(25):
        assert auc[i] == pytest.approx(brute_force_auc(S, labels, i))


def test_reference_levels():
    labels = np.repeat([0, 1, 2, 3], 10)
    truth = cluster_similarity(labels)
    assert cluster_recovery(truth, labels) == 1.0
    assert cluster_recovery(-truth, labels) == 0.0
    assert cluster_recovery(np.ones((40, 40)), labels) == 0.5
    # the identity: self-similarity is excluded, so all other items tie
    assert cluster_recovery(np.eye(40), labels) == 0.5
    rng = np.random.default_rng(1)
    assert abs(cluster_recovery(rng.standard_normal((40, 40)), labels) - 0.5) < 0.05


def test_self_similarity_is_ignored():
    labels = np.repeat([0, 1], 5)
    truth = cluster_similarity(labels)
    S = truth.copy()
    np.fill_diagonal(S, -100.0)
    assert cluster_recovery(S, labels) == 1.0


def test_undefined_cases():
    with pytest.raises(ValueError, match="at least two clusters"):
        cluster_recovery(np.eye(4), np.zeros(4, dtype=int))
    auc = per_item_auc(np.eye(3), np.array([0, 0, 1]))
    assert np.isnan(auc[2]) and not np.isnan(auc[0])
    with pytest.raises(ValueError, match="square"):
        cluster_recovery(np.ones((3, 4)), np.zeros(3))
    with pytest.raises(ValueError, match="labels"):
        cluster_recovery(np.ones((3, 3)), np.zeros(4))


def test_round_off_does_not_break_ties():
    # Cosines that are all mathematically 1 but differ in the last bits
    # (one-dimensional embeddings) must score exactly chance, on any BLAS.
    labels = np.repeat([0, 1], 6)
    rng = np.random.default_rng(2)
    S = 1.0 - rng.uniform(0, 4e-16, size=(12, 12))
    assert cluster_recovery(S, labels) == 0.5


def reference_recovery(S, labels):
    """The definition: mean of the rank-based per-item AUCs."""
    auc = per_item_auc(S, labels)
    if np.all(np.isnan(auc)):
        raise ValueError("undefined")
    return float(np.nanmean(auc))


@pytest.mark.parametrize("seed", range(12))
def test_cluster_recovery_equals_the_mean_of_per_item_aucs_with_and_without_ties(seed):
    # cluster_recovery merges sorted runs instead of ranking; it must agree
    # with the rank-based definition, ties and singleton clusters included.
    rng = np.random.default_rng(seed)
    p = int(rng.integers(4, 50))
    labels = rng.integers(0, int(rng.integers(2, 6)), p)  # unsorted, possibly singletons
    S = rng.standard_normal((p, p))
    for matrix in (S, (S + S.T) / 2, np.round(S, 1), np.round(S, 0), np.zeros((p, p))):
        try:
            expected = reference_recovery(matrix, labels)
        except ValueError:
            with pytest.raises(ValueError, match="two clusters"):
                cluster_recovery(matrix, labels)
            continue
        assert cluster_recovery(matrix, labels) == pytest.approx(expected, abs=1e-13)


def test_cluster_recovery_at_the_papers_scale_matches_the_definition():
    # 1,000 items: the multi-threaded path (clusters scored in parallel).
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 5, 1000)
    S = rng.standard_normal((1000, 1000)) + 0.3 * cluster_similarity(labels)
    assert cluster_recovery(S, labels) == pytest.approx(reference_recovery(S, labels), abs=1e-12)


def brute_force_overlap(S1, S2, m):
    p = len(S1)
    shares = []
    for i in range(p):
        others = [j for j in range(p) if j != i]
        n1 = set(sorted(others, key=lambda j: (-S1[i, j], j))[:m])
        n2 = set(sorted(others, key=lambda j: (-S2[i, j], j))[:m])
        shares.append(len(n1 & n2) / m)
    return np.mean(shares)


def test_neighbour_overlap_matches_a_loop_over_items():
    rng = np.random.default_rng(3)
    S1 = rng.standard_normal((30, 30))
    S2 = S1 + 0.8 * rng.standard_normal((30, 30))
    for m in (1, 5, 29):
        assert neighbour_overlap(S1, S2, m) == pytest.approx(brute_force_overlap(S1, S2, m))
    assert neighbour_overlap(S1, S1, 5) == 1.0
    assert neighbour_overlap(S1, S2, 29) == 1.0  # every other item is a neighbour


def test_neighbour_overlap_ignores_the_item_itself_and_monotone_maps():
    rng = np.random.default_rng(4)
    S = rng.standard_normal((20, 20))
    T = np.exp(S)  # same order in every row
    np.fill_diagonal(T, -1e9)  # the item itself never counts
    assert neighbour_overlap(S, T, 4) == 1.0
    assert neighbour_overlap(S, -S, 4) == 0.0


def test_neighbour_overlap_random_level_and_bad_input():
    rng = np.random.default_rng(5)
    p, m = 200, 10
    values = [neighbour_overlap(rng.standard_normal((p, p)), rng.standard_normal((p, p)), m) for _ in range(3)]
    assert abs(np.mean(values) - m / (p - 1)) < 0.02
    with pytest.raises(ValueError, match="n_neighbours"):
        neighbour_overlap(np.eye(5), np.eye(5), 5)
    with pytest.raises(ValueError, match="S2"):
        neighbour_overlap(np.eye(5), np.eye(4), 2)


@pytest.mark.parametrize("scale", [1e-13, 1e300, 2.0**-40, 3.0])
def test_tie_rule_is_relative_so_the_score_does_not_depend_on_the_scale(scale):
    # An absolute 12-decimal rule made every entry of S·1e-13 a tie (score 0.5)
    # and overflowed for S·1e300.
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 3, 60)
    S = rng.standard_normal((60, 60)) + cluster_similarity(labels)
    expected = cluster_recovery(S, labels)
    assert expected > 0.7
    assert cluster_recovery(S * scale, labels) == expected
    np.testing.assert_array_equal(per_item_auc(S * scale, labels), per_item_auc(S, labels))


def test_scaled_round_off_still_ties():
    labels = np.repeat([0, 1], 6)
    S = 1.0 - np.random.default_rng(2).uniform(0, 4e-16, size=(12, 12))
    assert cluster_recovery(S * 1e-13, labels) == 0.5
    assert cluster_recovery(S * 1e300, labels) == 0.5


def precision_by_enumeration(S, labels, i, m):
    """Precision@m of row i, averaged over every order of the tied similarities (the definition)."""
    others = [j for j in range(len(labels)) if j != i]
    values = sorted({S[i, j] for j in others}, reverse=True)
    groups = [[j for j in others if S[i, j] == v] for v in values]  # exact ties (test data: decimals)
    results = []
    for orders in itertools.product(*(list(permutations(g)) for g in groups)):
        ranked = [j for order in orders for j in order][:m]
        results.append(sum(labels[j] == labels[i] for j in ranked) / m)
    return np.mean(results)


def test_per_item_precision_by_hand():
    # item 0 (cluster 0): its neighbours in order 1 (same), then 2 (other) and 3 (same) tied, then 4
    S = np.array([[0, 0.9, 0.5, 0.5, 0.1],
                  [0.9, 0, 0.2, 0.3, 0.4],
                  [0.5, 0.2, 0, 0.6, 0.7],
                  [0.5, 0.3, 0.6, 0, 0.8],
                  [0.1, 0.4, 0.7, 0.8, 0]])
    labels = np.array([0, 0, 1, 0, 1])
    prec = per_item_precision(S, labels, n_neighbours=2)
    assert prec[0] == pytest.approx((1 + 0.5) / 2)   # 1 for item 1, half of one place for the tie
    assert prec[1] == pytest.approx(0.5)             # neighbours 4 (other), 3 (same)
    assert prec[4] == pytest.approx(0.5)             # neighbours 3 (other), 2 (same)
    assert per_item_precision(S, labels, n_neighbours=1)[0] == 1.0


@pytest.mark.parametrize("seed", range(6))
def test_per_item_precision_equals_the_average_over_tie_orders(seed):
    rng = np.random.default_rng(seed)
    p = 7
    labels = rng.integers(0, 3, p)
    S = np.round(rng.standard_normal((p, p)), 0)   # coarse rounding: many ties
    for m in (1, 3, 6):
        prec = per_item_precision(S, labels, m)
        for i in range(p):
            n_same = np.sum(labels == labels[i]) - 1
            if n_same in (0, p - 1):
                assert np.isnan(prec[i])
            else:
                assert prec[i] == pytest.approx(precision_by_enumeration(S, labels, i, m), abs=1e-12)


def test_neighbour_precision_levels_and_scale():
    labels = np.repeat([0, 1, 2, 3], 12)
    truth = cluster_similarity(labels)
    assert neighbour_precision(truth, labels) == 1.0
    assert neighbour_precision(truth, labels, 20) == pytest.approx(11 / 20)  # only 11 same-cluster items
    assert neighbour_precision(-truth, labels) == 0.0
    assert neighbour_precision(np.ones((48, 48)), labels) == pytest.approx(11 / 47)  # all tied: chance
    rng = np.random.default_rng(7)
    S = rng.standard_normal((48, 48)) + 0.5 * truth
    assert neighbour_precision(S * 1e-13, labels, 5) == neighbour_precision(S, labels, 5)
    # a perfect tail but a broken head: the AUC barely moves, precision@1 collapses
    S = truth.copy()
    for i in range(48):
        S[i, (i + 12) % 48] = 2.0           # one other-cluster item on top of every row
    assert cluster_recovery(S, labels) > 0.96 and neighbour_precision(S, labels, 1) == 0.0


def test_neighbour_precision_bad_input():
    with pytest.raises(ValueError, match="n_neighbours"):
        neighbour_precision(np.eye(5), np.array([0, 0, 1, 1, 1]), 5)
    with pytest.raises(ValueError, match="at least two clusters"):
        neighbour_precision(np.eye(4), np.zeros(4, dtype=int), 2)
    with pytest.raises(ValueError, match="square"):
        neighbour_precision(np.ones((3, 4)), np.zeros(3))
