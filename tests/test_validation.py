"""Bad input gets a clear error naming the argument; no function mutates its inputs."""

import numpy as np
import pytest
import scipy.sparse as sp

from cosim_helpers import metrics, models, similarity, spectral, training

from .conftest import random_data

X = random_data(0, n=12, p=5)
A = np.random.default_rng(1).standard_normal((5, 2))
B = np.random.default_rng(2).standard_normal((5, 2))
X_nan = X.copy()
X_nan[0, 0] = np.nan
X_inf = X.copy()
X_inf[1, 1] = np.inf


@pytest.mark.parametrize("fit", [models.fit_objective1, models.fit_objective2])
@pytest.mark.parametrize(
    "args,error,match",
    [
        ((X_nan, 2, 1.0), ValueError, "X contains NaN or inf"),
        ((X_inf, 2, 1.0), ValueError, "X contains NaN or inf"),
        ((sp.csr_matrix(X_nan), 2, 1.0), ValueError, "X contains NaN or inf"),
        ((X[0], 2, 1.0), ValueError, "X must be 2-D"),
        ((X[None], 2, 1.0), ValueError, "X must be 2-D"),
        (("not a matrix", 2, 1.0), TypeError, "X must be a numeric array"),
        ((X, 0, 1.0), ValueError, "k must satisfy"),
        ((X, 6, 1.0), ValueError, "k must satisfy"),
        ((X, 2.0, 1.0), TypeError, "k must be an integer"),
        ((X, 2, -1.0), ValueError, "lam must be finite and >= 0"),
        ((X, 2, np.nan), ValueError, "lam must be finite and >= 0"),
        ((X, 2, "1"), TypeError, "lam must be a real number"),
    ],
)
def test_fits_reject_bad_input(fit, args, error, match):
    with pytest.raises(error, match=match):
        fit(*args)


@pytest.mark.parametrize("loss", [models.loss_objective1, models.loss_objective2])
@pytest.mark.parametrize(
    "args,error,match",
    [
        ((X_nan, A, B, 1.0), ValueError, "X contains NaN"),
        ((X, A[:4], B, 1.0), ValueError, "A must have 5 rows"),
        ((X, A, B[:, :1], 1.0), ValueError, "B must have 2 columns"),
        ((X, A, B[:3], 1.0), ValueError, "B must have 5 rows"),
        ((X, A[:, 0], B, 1.0), ValueError, "A must be 2-D"),
        ((X, A, B, -0.1), ValueError, "lam must be finite"),
    ],
)
def test_losses_reject_bad_input(loss, args, error, match):
    with pytest.raises(error, match=match):
        loss(*args)


@pytest.mark.parametrize(
    "D,error,match",
    [
        (np.array([1.0, 0.0]), ValueError, "D is singular"),
        (np.array([[1.0, 2.0], [2.0, 4.0]]), ValueError, "D is singular"),
        (np.array([1.0, 2.0, 3.0]), ValueError, "D must have k = 2 diagonal entries"),
        (np.eye(3), ValueError, "D must be a 2 x 2 matrix"),
        (np.ones((2, 2, 2)), ValueError, "D must be 1-D"),
        (np.array([1.0, np.nan]), ValueError, "D contains NaN"),
        ("ab", TypeError, "D must be numeric"),
    ],
)
def test_rescale_rejects_bad_D(D, error, match):
    with pytest.raises(error, match=match):
        models.rescale(A, B, D)


def test_rescale_rejects_mismatched_factors():
    with pytest.raises(ValueError, match="B must have 5 rows"):
        models.rescale(A, B[:4], np.ones(2))


def test_other_functions_reject_bad_input():
    with pytest.raises(ValueError, match="E contains NaN"):
        similarity.cosine_similarity(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="E must be 2-D"):
        similarity.cosine_similarity(np.ones(3))
    with pytest.raises(ValueError, match="k must satisfy"):
        spectral.top_singular(X, 9)
    with pytest.raises(ValueError, match="X must not be empty"):
        spectral.top_singular(np.zeros((0, 3)), 1)
    with pytest.raises(TypeError, match="seed must be"):
        training.train(X, 2, 1.0, 1, seed="x")
    with pytest.raises(ValueError, match="S contains NaN"):
        metrics.cluster_recovery(np.full((3, 3), np.nan), np.array([0, 0, 1]))


def test_no_function_mutates_its_inputs():
    rng = np.random.default_rng(3)
    Xd = rng.random((15, 6))
    Xs = sp.csr_matrix(Xd * (Xd > 0.5))
    A0, B0 = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    d, G = np.array([2.0, 0.5, -1.0]), rng.standard_normal((3, 3)) + 3 * np.eye(3)
    S, labels = rng.standard_normal((6, 6)), np.array([0, 0, 1, 1, 2, 2])
    originals = [Xd, Xs.toarray(), A0, B0, d, G, S, labels]
    inputs = [Xd, Xs, A0, B0, d, G, S, labels]
    snapshots = [x.copy() for x in originals]

    for data in (Xd, Xs):
        models.fit_objective1(data, 3, 1.0)
        models.fit_objective2(data, 3, 1.0)
        models.loss_objective1(data, A0, B0, 1.0)
        models.loss_objective2(data, A0, B0, 1.0)
        spectral.top_singular(data, 3)
        training.train(data, 2, 1.0, 1, max_iter=5)
        training.loss_and_gradient(data, A0, B0, 1.0, 2)
    models.rescale(A0, B0, d)
    models.rescale(A0, B0, G)
    similarity.cosine_similarity(A0, B0)
    similarity.normalize_rows(A0)
    metrics.cluster_recovery(S, labels)

    for current, snapshot in zip([x.toarray() if sp.issparse(x) else x for x in inputs], snapshots):
        np.testing.assert_array_equal(current, snapshot)


# --- inputs that used to slip through (issue 9) ------------------------------------------------------

@pytest.mark.parametrize("make", [lambda Z: Z, sp.csr_matrix, lambda Z: Z.tolist()])
def test_complex_X_is_rejected_not_silently_made_real(make):
    Z = X + 1j * np.ones_like(X)  # imaginary part would be dropped by a float cast
    with pytest.raises(TypeError, match="X must be real, got complex"):
        models.fit_objective1(make(Z), 2, 1.0)
    with pytest.raises(TypeError, match="X must be real"):
        spectral.top_singular(make(Z), 2)

