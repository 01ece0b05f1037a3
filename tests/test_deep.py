import itertools

import numpy as np
import pytest

from cosim_helpers.deep import (
    LEAK,
    LN_EPS,
    loss,
    reconstruction_error,
    scores,
    train_autoencoder,
    user_embeddings,
)
from cosim_helpers.models import rescale


def _data(seed=0, n=40, p=7):
    return (np.random.default_rng(seed).random((n, p)) < 0.4).astype(float)


def _factors(seed=1, p=7, k=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((p, k)), rng.standard_normal((p, k))


def test_dropout_penalty_is_the_expectation_over_all_masks():
    # Enumerate the 2^k keep/drop masks of inverted dropout (dropout rate q: keep with 1 - q) on the hidden units.
    X = _data()
    A, B = _factors()
    q = 0.7
    H = user_embeddings(X, A, "dropout")
    expected = 0.0
    for mask in itertools.product([0, 1], repeat=3):
        m = np.array(mask)
        prob = np.prod(np.where(m == 1, 1 - q, q))
        expected += prob * np.sum((X - (H * m / (1 - q)) @ B.T) ** 2)
    assert loss(X, A, B, "dropout", q / (1 - q)) == pytest.approx(expected, rel=1e-12)


def test_embeddings_are_leaky_relu_and_layer_norm_by_hand():
    X = _data(2)
    A, _ = _factors(3)
    Z = X @ A
    H = np.where(Z > 0, Z, LEAK * Z)
    np.testing.assert_allclose(user_embeddings(X, A, "weight_decay"), H)
    mu, var = H.mean(axis=1, keepdims=True), H.var(axis=1, keepdims=True)
    np.testing.assert_allclose(user_embeddings(X, A, "layer_norm"), (H - mu) / np.sqrt(var + LN_EPS))


def test_positive_diagonal_preserves_scores_and_dropout_loss_but_not_weight_decay():
    X = _data(4)
    A, B = _factors(5)
    D = np.array([0.3, 2.0, 5.0])
    A2, B2 = rescale(A, B, D)
    np.testing.assert_allclose(scores(X, A2, B2, "dropout"), scores(X, A, B, "dropout"), atol=1e-12)
    assert loss(X, A2, B2, "dropout", 0.4) == pytest.approx(loss(X, A, B, "dropout", 0.4), rel=1e-12)
    assert abs(loss(X, A2, B2, "weight_decay", 0.4) - loss(X, A, B, "weight_decay", 0.4)) > 1.0
    # a negative entry is not a symmetry of the (leaky) ReLU
    A3, B3 = rescale(A, B, np.array([-1.0, 1.0, 1.0]))
    assert np.abs(scores(X, A3, B3, "dropout") - scores(X, A, B, "dropout")).max() > 1e-2


def test_layer_norm_breaks_the_diagonal_but_hides_the_all_ones_direction():
    X = _data(6)
    A, B = _factors(7)
    A2, B2 = rescale(A, B, np.array([0.3, 2.0, 5.0]))
    assert np.abs(scores(X, A2, B2, "layer_norm") - scores(X, A, B, "layer_norm")).max() > 1e-2
    t = np.random.default_rng(8).standard_normal((7, 1))
    np.testing.assert_allclose(scores(X, A, B + t, "layer_norm"), scores(X, A, B, "layer_norm"), atol=1e-12)


def test_training_reaches_a_stationary_point_and_is_seeded():
    X = _data(9, n=60, p=8)
    run = train_autoencoder(X[:45], X[45:], 3, "weight_decay", 0.5, seed=0, max_iter=500)
    assert run.gradient < 1e-5
    assert run.loss == pytest.approx(loss(X[:45], run.A, run.B, "weight_decay", 0.5))
    assert run.validation == pytest.approx(reconstruction_error(X[45:], run.A, run.B, "weight_decay"))
    # stationarity of weight decay along (AD, BD^-1): each hidden unit has ||a_j|| = ||b_j||
    np.testing.assert_allclose(np.linalg.norm(run.A, axis=0), np.linalg.norm(run.B, axis=0), rtol=1e-3)
    again = train_autoencoder(X[:45], X[45:], 3, "weight_decay", 0.5, seed=0, max_iter=500)
    np.testing.assert_array_equal(run.B, again.B)


def test_bad_input():
    X = _data()
    A, B = _factors()
    with pytest.raises(ValueError, match="variant"):
        loss(X, A, B, "batch_norm", 0.1)
    with pytest.raises(ValueError, match="X_val"):
        train_autoencoder(X, X[:, :3], 2, "dropout", 0.1)
    with pytest.raises(ValueError, match="alpha"):
        loss(X, A, B, "dropout", -1.0)
