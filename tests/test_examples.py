"""The worked examples of chapters 1 to 3: toy data, nearest neighbours, dropout.

The dropout expectation is checked against a brute-force sum over *every*
mask of *every* entry (zeros included), written here independently of the
package, and against objective 1 in the equal-column-norm case.
"""

import itertools

import numpy as np
import pytest

from cosim_helpers.examples import (
    dropout_loss_samples,
    enumerated_dropout_loss,
    expected_dropout_loss,
    format_table,
    nearest_neighbours,
    toy_interactions,
)
from cosim_helpers.models import fit_objective1, loss_objective1, rescale
from cosim_helpers.similarity import cosine_similarity


def brute_force_dropout(X, M, q):
    """Sum over all 2**(n p) keep/drop patterns of all entries, zeros included."""
    n, p = X.shape
    total = 0.0
    for bits in itertools.product((0, 1), repeat=n * p):
        keep = np.array(bits, dtype=float).reshape(n, p)
        prob = (1 - q) ** keep.sum() * q ** (n * p - keep.sum())
        Z = X * keep / (1 - q)
        total += prob * np.sum((X - Z @ M) ** 2)
    return total


@pytest.fixture
def tiny():
    rng = np.random.default_rng(3)
    X = np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 0.0]])  # zeros included on purpose
    M = rng.standard_normal((3, 3))
    return X, M


# --- toy data ------------------------------------------------------------------------------------

def test_toy_interactions_is_a_fresh_binary_matrix_with_names():
    X, users, items = toy_interactions()
    assert X.shape == (len(users), len(items)) == (7, 5)
    assert set(np.unique(X)) == {0.0, 1.0}
    assert X.sum(axis=0).min() >= 1 and X.sum(axis=1).min() >= 1
    X[0, 0] = 99.0  # a caller writing into its copy must not change the next call
    assert toy_interactions().X[0, 0] == 1.0


def test_toy_rescaling_changes_the_nearest_neighbour_of_wall_e():
    # The claim of chapter 1: same predictions, different nearest neighbour.
    X, _, items = toy_interactions()
    A, B = fit_objective1(X, k=2, lam=1.0)
    A2, B2 = rescale(A, B, np.array([2.0, 0.5]))
    np.testing.assert_allclose(X @ A2 @ B2.T, X @ A @ B.T, rtol=0, atol=1e-12)
    w = items.index("WALL-E")
    assert items[nearest_neighbours(cosine_similarity(B))[w]] == "Finding Nemo"
    assert items[nearest_neighbours(cosine_similarity(B2))[w]] == "Aliens"
    # ... and the same for users (exercise ex-ch1-users): u1's nearest user changes from u2 to u4.
    assert nearest_neighbours(cosine_similarity(X @ A))[0] == 1
    assert nearest_neighbours(cosine_similarity(X @ A2))[0] == 3


def test_toy_new_user_exercise_of_chapter_2():
    # Exercise ex-ch2-new-user: top film by score (Alien) differs from top film by cosine (Aliens).
    X, _, items = toy_interactions()
    A, B = fit_objective1(X, k=3, lam=1.0)
    xa_new = np.array([[1.0, 0.0, 1.0, 0.0, 0.0]]) @ A
    assert items[np.argmax(xa_new @ B.T)] == "Alien"
    assert items[np.argmax(cosine_similarity(xa_new, B))] == "Aliens"


# --- nearest neighbours --------------------------------------------------------------------------

def test_nearest_neighbours_never_returns_the_row_itself():
    S = np.array([[1.0, 0.2, 0.9], [0.2, 1.0, 0.1], [0.9, 0.1, 1.0]])
    np.testing.assert_array_equal(nearest_neighbours(S), [2, 0, 0])


def test_nearest_neighbours_breaks_ties_by_smallest_index_and_keeps_input():
    S = np.array([[5.0, 0.3, 0.3], [0.3, 5.0, 0.3], [0.3, 0.3, 5.0]])
    before = S.copy()
    np.testing.assert_array_equal(nearest_neighbours(S), [1, 0, 0])
    np.testing.assert_array_equal(S, before)


@pytest.mark.parametrize("S,exc", [(np.ones((2, 3)), ValueError), (np.ones((1, 1)), ValueError),
                                    (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError),
                                    ("abc", TypeError)])
def test_nearest_neighbours_rejects_bad_input(S, exc):
    with pytest.raises(exc, match="S"):
        nearest_neighbours(S)


# --- tables -------------------------------------------------------------------------------------

def test_format_table_rounds_and_never_prints_negative_zero():
    M = np.array([[-1e-17, 0.12345], [2.0, -0.0004]])
    text = str(format_table(M, ["a", "bb"], ["x", "y"], digits=3, width=8))
    lines = text.split("\n")
    assert lines[0] == "  " + "       x" + "       y"
    assert lines[1] == "a " + "   0.000" + "   0.123"
    assert lines[2] == "bb" + "   2.000" + "   0.000"
    assert "-0.000" not in text


def test_format_table_cuts_long_labels_and_checks_arguments():
    text = str(format_table(np.zeros((1, 1)), ["r"], ["Finding Nemo"], digits=1, width=6))
    assert text.split("\n")[0] == " " + " Findi"
    with pytest.raises(ValueError, match="row_labels"):
        format_table(np.zeros((2, 1)), ["r"], ["c"])
    with pytest.raises(ValueError, match="col_labels"):
        format_table(np.zeros((1, 2)), ["r"], ["c"])
    with pytest.raises(ValueError, match="digits"):
        format_table(np.zeros((1, 1)), ["r"], ["c"], digits=-1)
    with pytest.raises(TypeError, match="width"):
        format_table(np.zeros((1, 1)), ["r"], ["c"], width=5.0)


# --- dropout: the closed form against independent computations -----------------------------------

@pytest.mark.parametrize("q", [0.0, 0.2, 0.5, 0.9])
def test_expected_dropout_loss_matches_brute_force_over_all_masks(tiny, q):
    X, M = tiny
    exact = brute_force_dropout(X, M, q)
    assert expected_dropout_loss(X, M, q) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("q", [0.0, 0.3, 0.7])
def test_enumeration_over_nonzero_entries_matches_brute_force(tiny, q):
    # Skipping the zero entries of X must not change the expectation.
    X, M = tiny
    assert enumerated_dropout_loss(X, M, q) == pytest.approx(brute_force_dropout(X, M, q), rel=1e-12)


def test_enumeration_handles_more_masks_than_one_chunk():
    # 40 x 5 entries => about 10,000 masks per chunk; 2**17 masks span 13 chunks.
    rng = np.random.default_rng(5)
    X = np.zeros(200)
    X[rng.choice(200, size=17, replace=False)] = rng.uniform(0.5, 2.0, size=17)
    X = X.reshape(40, 5)
    M = rng.standard_normal((5, 5))
    assert enumerated_dropout_loss(X, M, 0.4) == pytest.approx(expected_dropout_loss(X, M, 0.4), rel=1e-11)


def test_no_dropout_is_plain_reconstruction_error(tiny):
    X, M = tiny
    assert expected_dropout_loss(X, M, 0.0) == pytest.approx(np.sum((X - X @ M) ** 2), rel=1e-14)
    samples = dropout_loss_samples(X, M, 0.0, 5, seed=1)
    np.testing.assert_allclose(samples, np.sum((X - X @ M) ** 2), rtol=1e-14)


def test_equal_column_norms_give_objective_1(tiny):
    # Γ = γ I  =>  E loss = ‖X − XABᵀ‖² + γ q/(1 − q) ‖ABᵀ‖², i.e. objective 1.
    rng = np.random.default_rng(7)
    # Checked against the enumeration of all masks, not the formula it follows from.
    X = rng.standard_normal((4, 4))
    X = 1.7 * X / np.linalg.norm(X, axis=0)  # every column has squared norm 1.7² = γ
    A, B = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    q = 0.25
    lam = 1.7**2 * q / (1 - q)
    assert enumerated_dropout_loss(X, A @ B.T, q) == pytest.approx(loss_objective1(X, A, B, lam), rel=1e-11)


def test_unequal_column_norms_weight_the_rows_of_m_by_popularity():
    # A M that only uses input item i is penalised in proportion to ‖x_i‖².
    X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])  # column norms² = 3 and 1
    q = 0.5
    for i, norm2 in [(0, 3.0), (1, 1.0)]:
        M = np.zeros((2, 2))
        M[i, 1 - i] = 1.0
        penalty = enumerated_dropout_loss(X, M, q) - np.sum((X - X @ M) ** 2)
        assert penalty == pytest.approx(q / (1 - q) * norm2, rel=1e-12)


def test_monte_carlo_mean_is_within_four_standard_errors(tiny):
    X, M = tiny
    s = dropout_loss_samples(X, M, 0.3, 40_000, seed=0)
    se = s.std(ddof=1) / np.sqrt(len(s))
    assert abs(s.mean() - expected_dropout_loss(X, M, 0.3)) < 4 * se
    assert se < 0.02 * s.mean()  # and the check is not vacuous


def test_monte_carlo_keeps_entries_with_probability_one_minus_q():
    # With M = I the loss is ‖X − Z‖², whose value reveals how many entries were dropped.
    X = np.ones((1, 1))
    s = dropout_loss_samples(X, np.eye(1), 0.2, 20_000, seed=4)
    kept = np.isclose(s, (1 - 1 / 0.8) ** 2)
    dropped = np.isclose(s, 1.0)
    assert np.all(kept | dropped)
    assert abs(kept.mean() - 0.8) < 4 * np.sqrt(0.8 * 0.2 / 20_000)


def test_monte_carlo_is_reproducible_and_spans_chunks(tiny):
    X, M = tiny
    n = 2**21 // X.size + 3  # more masks than one chunk
    a = dropout_loss_samples(X, M, 0.3, n, seed=11)
    b = dropout_loss_samples(X, M, 0.3, n, seed=np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    assert len(a) == n and np.isfinite(a).all()
    assert not np.array_equal(a, dropout_loss_samples(X, M, 0.3, n, seed=12))


def test_dropout_helpers_do_not_mutate_inputs(tiny):
    X, M = tiny
    X0, M0 = X.copy(), M.copy()
    expected_dropout_loss(X, M, 0.3)
    enumerated_dropout_loss(X, M, 0.3)
    dropout_loss_samples(X, M, 0.3, 10)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(M, M0)


@pytest.mark.parametrize("kwargs,exc,word", [
    ({"q": 1.0}, ValueError, "q"),
    ({"q": -0.1}, ValueError, "q"),
    ({"q": "0.3"}, TypeError, "q"),
    ({"q": True}, TypeError, "q"),
    ({"M": np.eye(2)}, ValueError, "M"),
    ({"X": np.ones(3)}, ValueError, "X"),
])
def test_dropout_helpers_reject_bad_input(tiny, kwargs, exc, word):
    X, M = tiny
    args = {"X": X, "M": M, "q": 0.3} | kwargs
    for fn in (expected_dropout_loss, enumerated_dropout_loss):
        with pytest.raises(exc, match=word):
            fn(**args)
    with pytest.raises(exc, match=word):
        dropout_loss_samples(**args, n_samples=3)


def test_bad_sample_counts_and_too_many_entries_are_rejected(tiny):
    X, M = tiny
    with pytest.raises(TypeError, match="n_samples"):
        dropout_loss_samples(X, M, 0.3, 2.5)
    with pytest.raises(ValueError, match="n_samples"):
        dropout_loss_samples(X, M, 0.3, 0)
    with pytest.raises(ValueError, match="non-zero entries"):
        enumerated_dropout_loss(np.ones((3, 7)), np.eye(7), 0.3)
