import numpy as np
import pytest
from autograd.misc.optimizers import adam as autograd_adam

from cosim_helpers.gauge_dynamics import (
    Optimiser,
    balance,
    landing_rescaling,
    random_start,
    train_factors,
)
from cosim_helpers.models import fit_objective1, loss_objective1, rescale, shrinkage_objective1
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.spectral import top_singular
from cosim_helpers.training import loss_and_gradient

from .conftest import random_data


def _grad_step_balance_change(X, A, B, lam, objective, eta):
    _, dA, dB = loss_and_gradient(X, A, B, lam, objective)
    return balance(A - eta * dA, B - eta * dB) - balance(A, B), dA, dB


def test_gradient_flow_keeps_the_balance_of_objective1_but_not_of_objective2():
    # dΘ/dt along -grad is the first-order term of Θ(A - h dA, B - h dB) - Θ(A, B).
    X = random_data(0, n=25, p=6)
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    for objective, conserved in ((1, True), (2, False)):
        rates = [np.abs(_grad_step_balance_change(X, A, B, 0.7, objective, h)[0]).max() / h
                 for h in (1e-4, 1e-6)]
        if conserved:
            assert rates[1] < 0.02 * rates[0]  # rate ∝ h (100x smaller): the change is O(h²)
        else:
            assert rates[1] > 0.5 * rates[0] > 0  # a genuine first-order change


def test_one_gradient_step_changes_the_balance_by_exactly_eta_squared_terms():
    X = random_data(2, n=25, p=6)
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    eta = 0.01
    change, dA, dB = _grad_step_balance_change(X, A, B, 0.4, 1, eta)
    predicted = eta**2 * (dA.T @ dA - dB.T @ dB)
    assert np.abs(predicted).max() > 1e-3
    np.testing.assert_allclose(change, predicted, atol=1e-9 * np.abs(predicted).max())


def test_adam_matches_autograds_implementation():
    target = np.array([1.0, -2.0, 3.0, 0.5])

    def grad(x, i):
        return 2 * (x - target) * np.array([1.0, 10.0, 0.1, 3.0])

    x0 = np.zeros(4)
    expected = autograd_adam(grad, x0, num_iters=50, step_size=0.05)
    opt = Optimiser("adam", 0.05)
    x = [x0]
    for i in range(50):
        x = opt.step(x, [grad(x[0], i)])
    np.testing.assert_allclose(x[0], expected, rtol=1e-12, atol=1e-14)


def test_rmsprop_and_adagrad_first_steps_by_hand():
    g1, g2 = np.array([2.0, -0.5]), np.array([1.0, 1.0])
    x0 = np.array([1.0, 1.0])
    rms = Optimiser("rmsprop", 0.1, beta2=0.9, eps=0.0 + 1e-300)
    x1 = rms.step([x0], [g1])[0]
    v1 = 0.1 * g1**2
    np.testing.assert_allclose(x1, x0 - 0.1 * g1 / np.sqrt(v1))
    x2 = rms.step([x1], [g2])[0]
    np.testing.assert_allclose(x2, x1 - 0.1 * g2 / np.sqrt(0.9 * v1 + 0.1 * g2**2))
    ada = Optimiser("adagrad", 0.1, eps=1e-300)
    y1 = ada.step([x0], [g1])[0]
    y2 = ada.step([y1], [g2])[0]
    np.testing.assert_allclose(y2, x0 - 0.1 * np.sign(g1) - 0.1 * g2 / np.sqrt(g1**2 + g2**2))


def test_adaptive_steps_change_the_balance_at_first_order():
    # Adam's first step is -lr * sign(g) (up to eps): not a gradient step, so Θ moves by O(lr).
    X = random_data(4, n=25, p=6)
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    _, dA, dB = loss_and_gradient(X, A, B, 0.5, 1)
    rates = []
    for lr in (1e-4, 1e-6):
        A1, B1 = Optimiser("adam", lr).step([A, B], [dA, dB])
        rates.append(np.abs(balance(A1, B1) - balance(A, B)).max() / lr)
    assert rates[1] > 0.5 * rates[0] > 1e-2


def test_optimiser_does_not_mutate_and_rejects_bad_input():
    x, g = np.ones(3), np.ones(3)
    Optimiser("adam", 0.1).step([x], [g])
    assert np.all(x == 1) and np.all(g == 1)
    with pytest.raises(ValueError, match="method"):
        Optimiser("sgd", 0.1)
    with pytest.raises(ValueError, match="lr"):
        Optimiser("gd", 0.0)
    with pytest.raises(ValueError, match="beta1"):
        Optimiser("adam", 0.1, beta1=1.0)
    with pytest.raises(ValueError, match="shapes"):
        Optimiser("gd", 0.1).step([x], [np.ones(2)])


def test_random_start_orthonormal_has_a_scalar_balance():
    A0, B0 = random_start(9, 4, 1.5, 0.5, orthonormal=True, seed=0)
    np.testing.assert_allclose(balance(A0, B0), (1.5**2 - 0.5**2) * np.eye(4), atol=1e-12)
    A1, _ = random_start(9, 4, 1.5, 0.5, orthonormal=True, seed=0)
    np.testing.assert_array_equal(A0, A1)
    with pytest.raises(ValueError, match="k <= p"):
        random_start(3, 4, 1.0)


def test_landing_rescaling_has_the_requested_balance():
    X = random_data(6, n=40, p=7)
    lam, k = 3.0, 3
    A, B = fit_objective1(X, k, lam)
    w = shrinkage_objective1(top_singular(X, k).s, lam)
    for c in (-2.0, 0.0, 0.7):
        D = landing_rescaling(w, c)
        np.testing.assert_allclose(balance(*rescale(A, B, D)), c * np.eye(k), atol=1e-12)
    np.testing.assert_allclose(landing_rescaling(w, 0.0), 1.0)
    with pytest.raises(ValueError, match="w must"):
        landing_rescaling([0.5, 0.0], 1.0)


def test_gradient_descent_lands_where_the_balance_says():
    # From an orthonormal start with balance cI, gradient descent reaches the minimum near the
    # rescaling D of landing_rescaling; the gap is the O(lr) drift of Θ of a finite step, so it
    # shrinks with the step (the flow limit). A balanced small start lands on the symmetric optimum.
    X = random_data(7, n=60, p=8) * np.array([4.0, 2.5, 1.5, 1, 1, 1, 1, 1])  # spread-out spectrum
    lam, k = 150.0, 3
    svd = top_singular(X, k)
    A_s, B_s = fit_objective1(X, k, lam, svd=svd)
    L_min = loss_objective1(X, A_s, B_s, lam)
    w = shrinkage_objective1(svd.s, lam)

    def landing_error(c, a, b, step):
        A0, B0 = random_start(8, k, a, b, orthonormal=True, seed=1)
        run = train_factors(X, lam, A0, B0, method="gd", lr=step / (svd.s[0] ** 2 + lam),
                            max_steps=100_000, target=L_min * (1 + 1e-12))
        assert run.reached
        _, B_pred = rescale(A_s, B_s, landing_rescaling(w, c))
        return np.abs(cosine_similarity(run.B) - cosine_similarity(B_pred)).max()

    coarse, fine = landing_error(1.0, 1.0, 1e-3, 0.05), landing_error(1.0, 1.0, 1e-3, 0.0125)
    assert fine < 0.35 * coarse and fine < 2e-3
    assert landing_error(0.0, 1e-3, 1e-3, 0.05) < 1e-4
    _, B_far = rescale(A_s, B_s, landing_rescaling(w, 1.0))
    assert np.abs(cosine_similarity(B_far) - cosine_similarity(B_s)).max() > 50 * fine  # a real move


def test_train_factors_stops_at_target_and_leaves_inputs_alone():
    X = random_data(8, n=30, p=6)
    A0, B0 = random_start(6, 2, 0.1, seed=0)
    A0c, B0c = A0.copy(), B0.copy()
    run = train_factors(X, 1.0, A0, B0, method="adam", lr=0.01, max_steps=50, target=np.inf)
    assert run.reached and run.steps == 0 and len(run.losses) == 1
    run = train_factors(X, 1.0, A0, B0, method="adam", lr=0.01, max_steps=50)
    assert run.steps == 50 and len(run.losses) == 51 and not run.reached
    assert run.losses[-1] == pytest.approx(loss_objective1(X, run.A, run.B, 1.0), rel=1e-9)
    np.testing.assert_array_equal(A0, A0c)
    np.testing.assert_array_equal(B0, B0c)
    with pytest.raises(FloatingPointError, match="diverged"):
        train_factors(X, 1.0, A0, B0, method="gd", lr=10.0, max_steps=500)
