import numpy as np
import pytest

from cosim_helpers.models import fit_objective1, fit_objective2, loss_objective1, loss_objective2
from cosim_helpers.training import loss_and_gradient, train

from .conftest import random_data


@pytest.mark.parametrize("objective,loss", [(1, loss_objective1), (2, loss_objective2)])
def test_analytic_gradient_matches_finite_differences(objective, loss):
    X = random_data(0, n=20, p=5)
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    lam = 0.8
    value, dA, dB = loss_and_gradient(X, A, B, lam, objective)
    assert value == pytest.approx(loss(X, A, B, lam), rel=1e-10)
    h = 1e-6
    for M, grad, which in ((A, dA, 0), (B, dB, 1)):
        for idx in np.ndindex(M.shape):
            E = np.zeros_like(M)
            E[idx] = h
            args_p = (A + E, B) if which == 0 else (A, B + E)
            args_m = (A - E, B) if which == 0 else (A, B - E)
            fd = (loss(X, *args_p, lam) - loss(X, *args_m, lam)) / (2 * h)
            assert grad[idx] == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_training_is_deterministic_for_a_seed_and_differs_across_seeds():
    X = random_data(2, n=25, p=6)
    r1, r2, r3 = (train(X, 2, 1.0, 1, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(r1.A, r2.A)
    assert np.abs(r1.A - r3.A).max() > 1e-3


def test_loss_history_starts_at_the_random_start_and_decreases():
    X = random_data(3, n=25, p=6)
    result = train(X, 3, 2.0, 2, seed=0)
    assert result.converged
    assert result.losses[0] > result.losses[-1]
    assert np.all(np.diff(result.losses) <= 1e-9 * result.losses[0])
    assert result.losses[-1] == pytest.approx(loss_objective2(X, result.A, result.B, 2.0), rel=1e-9)


def test_objective1_training_lands_on_the_product_but_not_on_the_factors():
    # The optimiser finds ÂB̂ᵀ of the closed form, but a different (A, B):
    # the D-freedom (indeed G-freedom) of objective 1, chapter 4.
    X = random_data(4, n=30, p=7)
    A0, B0 = fit_objective1(X, 3, 1.0)
    result = train(X, 3, 1.0, 1, seed=1)
    np.testing.assert_allclose(result.A @ result.B.T, A0 @ B0.T, atol=1e-6)
    assert np.abs(result.B - B0).max() > 1e-2


def test_objective2_training_lands_on_the_closed_form_up_to_rotation():
    X = random_data(5, n=30, p=7)
    lam = 0.5
    A0, B0 = fit_objective2(X, 3, lam)
    result = train(X, 3, lam, 2, seed=2)
    # Unique up to a rotation R: Gram matrices BBᵀ and (XA)(XA)ᵀ are rotation-invariant.
    # L-BFGS pins the loss to ~1e-13 relative, hence the factors to about its square root.
    np.testing.assert_allclose(result.B @ result.B.T, B0 @ B0.T, atol=1e-5)
    np.testing.assert_allclose((X @ result.A) @ (X @ result.A).T, (X @ A0) @ (X @ A0).T, atol=1e-5)


def test_bad_objective_is_rejected():
    with pytest.raises(ValueError, match="objective must be 1 or 2"):
        train(random_data(0), 2, 1.0, 3)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"init_scale": 0.0}, ValueError, "init_scale must be > 0"),  # A = B = 0 is stationary: "converged"
        ({"max_iter": -1}, ValueError, "max_iter must be >= 1"),
        ({"max_iter": 10.0}, TypeError, "max_iter must be an integer"),
        ({"gtol": float("nan")}, ValueError, "gtol must be finite"),
        ({"gtol": 0.0}, ValueError, "gtol must be > 0"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
    ],
)
def test_train_rejects_settings_that_would_fake_convergence(kwargs, error, match):
    with pytest.raises(error, match=match):
        train(random_data(0, n=10, p=4), 2, 1.0, 1, **kwargs)


def test_loss_and_gradient_checks_its_factors():
    X = random_data(0, n=10, p=4)
    A = np.ones((4, 2))
    with pytest.raises(ValueError, match="A contains NaN"):
        loss_and_gradient(X, np.full((4, 2), np.nan), A, 1.0, 1)
    with pytest.raises(ValueError, match="B must have 4 rows"):
        loss_and_gradient(X, A, np.ones((3, 2)), 1.0, 1)
    with pytest.raises(ValueError, match="B must have 2 columns"):
        loss_and_gradient(X, A, np.ones((4, 3)), 1.0, 2)
    with pytest.raises(ValueError, match="A must have 4 rows"):
        loss_and_gradient(X, np.ones((5, 2)), np.ones((5, 2)), 1.0, 1)
    with pytest.raises(TypeError, match="objective must be the integer 1 or 2"):
        loss_and_gradient(X, A, A, 1.0, 1.0)


def test_gradient_descent_validates_and_is_deterministic():
    from cosim_helpers.training import gradient_descent

    X = random_data(6, n=20, p=5)
    with pytest.raises(ValueError, match="n_steps"):
        gradient_descent(X, 2, 1.0, 1, n_steps=0)
    with pytest.raises(ValueError, match="rows"):
        gradient_descent(X, 2, 1.0, 1, start=(np.ones((4, 2)), np.ones((5, 2))))
    r1, r2 = (gradient_descent(X, 2, 1.0, 2, n_steps=50, seed=3) for _ in range(2))
    np.testing.assert_array_equal(r1.A, r2.A)
    assert r1.losses[-1] < r1.losses[0]
    with pytest.raises(ValueError, match="lr"):
        gradient_descent(X, 2, 1.0, 1, lr=0.0)
    with pytest.raises(FloatingPointError, match="diverged"):
        gradient_descent(X, 2, 1.0, 1, lr=1e3, n_steps=500)


@pytest.mark.parametrize("objective", [1, 2])
def test_gradient_descent_is_train_factors_with_the_documented_step(objective):
    # One step loop in the package: gradient_descent (chapter 9) must be train_factors(method="gd")
    # (chapter 11) at the step size its docstring states, to the last bit.
    from cosim_helpers.gauge_dynamics import train_factors
    from cosim_helpers.training import gradient_descent

    X = random_data(9, n=20, p=5)
    lam, lr = 0.7, 0.3
    A0, B0 = 0.5 * np.random.default_rng(2).standard_normal((2, 5, 2))
    res = gradient_descent(X, 2, lam, objective, lr=lr, n_steps=40, start=(A0, B0))
    s1 = np.linalg.svd(X, compute_uv=False)[0] ** 2
    c = (s1 + lam) * (1 + np.linalg.norm(A0, 2) ** 2 + np.linalg.norm(B0, 2) ** 2) + (lam * s1 if objective == 2 else 0)
    run = train_factors(X, lam, A0, B0, method="gd", lr=lr / c, max_steps=40, objective=objective)
    np.testing.assert_allclose(res.losses, run.losses, rtol=1e-12)
    np.testing.assert_allclose(res.A, run.A, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.B, run.B, rtol=1e-12, atol=1e-14)
    assert len(res.losses) == 41 and res.losses[-1] < res.losses[0]
