import numpy as np
import pytest
from autograd.misc.optimizers import adam as autograd_adam
from scipy.optimize import least_squares

from cosim_helpers.gauge_dynamics import (
    Optimiser,
    imbalance,
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
    return imbalance(A - eta * dA, B - eta * dB) - imbalance(A, B), dA, dB


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
        rates.append(np.abs(imbalance(A1, B1) - imbalance(A, B)).max() / lr)
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
    np.testing.assert_allclose(imbalance(A0, B0), (1.5**2 - 0.5**2) * np.eye(4), atol=1e-12)
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
        np.testing.assert_allclose(imbalance(*rescale(A, B, D)), c * np.eye(k), atol=1e-12)
    np.testing.assert_allclose(landing_rescaling(w, 0.0), 1.0)
    with pytest.raises(ValueError, match="w must"):
        landing_rescaling([0.5, 0.0], 1.0)


def test_gradient_descent_lands_where_the_balance_says():
    # From an orthonormal start with balance ζI, gradient descent reaches the minimum near the
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


def _imbalance_rate(A, B, dA, dB):
    # d/dt Θ along the flow -(dA, dB); a central difference is exact because Θ is quadratic.
    h = 1e-3 / max(np.abs(dA).max(), np.abs(dB).max())
    return (imbalance(A - h * dA, B - h * dB) - imbalance(A + h * dA, B + h * dB)) / (2 * h)


def test_a_penalty_on_the_factors_moves_the_imbalance_at_the_derived_rate():
    # Book chapter 11, proposition "what a penalty on the factors does": weight decay
    # μ(‖A‖² + ‖B‖²) gives dΘ/dt = -4μΘ; objective 2 gives -4λ((XA)ᵀXA - BᵀB). Objective 2's
    # gradient comes from the package (training.loss_and_gradient), not from the formula.
    X = random_data(11, n=25, p=6)
    rng = np.random.default_rng(12)
    A, B = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    lam, mu = 0.7, 2.0
    _, dA, dB = loss_and_gradient(X, A, B, lam, 1)
    np.testing.assert_allclose(_imbalance_rate(A, B, dA + 2 * mu * A, dB + 2 * mu * B),
                               -4 * mu * imbalance(A, B), atol=1e-8 * mu * np.abs(imbalance(A, B)).max())
    _, dA2, dB2 = loss_and_gradient(X, A, B, lam, 2)
    expected = -4 * lam * ((X @ A).T @ (X @ A) - B.T @ B)
    assert np.abs(expected).max() > 1
    np.testing.assert_allclose(_imbalance_rate(A, B, dA2, dB2), expected, atol=1e-8 * np.abs(expected).max())


def _gram_of_a_solution(w, Theta, seed):
    """GGᵀ for some G with GᵀWG − G⁻¹WG⁻ᵀ = Θ, by least squares from a random G."""
    k, upper = len(w), np.triu_indices(len(w))

    def residual(g):
        G = g.reshape(k, k)
        G_inv = np.linalg.inv(G)
        return (G.T @ np.diag(w) @ G - G_inv @ np.diag(w) @ G_inv.T - Theta)[upper]

    start = np.eye(k) + 0.5 * np.random.default_rng(seed).standard_normal((k, k))
    fit = least_squares(residual, start.ravel(), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert np.abs(fit.fun).max() < 1e-10
    G = fit.x.reshape(k, k)
    return G @ G.T


def test_a_scalar_imbalance_fixes_the_landing_and_a_general_one_does_not():
    # Chapter 11, corollary "scalar start, determined landing": every minimiser with imbalance ζI
    # has GGᵀ = D² (landing_rescaling), so its item cosines are fixed; for a non-scalar Θ the
    # solutions have different GGᵀ. Solved numerically, without the closed form.
    w = np.array([0.9, 0.6, 0.45, 0.2])
    for c in (-0.8, 0.0, 1.3):
        D = landing_rescaling(w, c)
        for seed in range(4):
            np.testing.assert_allclose(_gram_of_a_solution(w, c * np.eye(4), seed), np.diag(D**2), atol=1e-8)
    rng = np.random.default_rng(3)
    Theta = rng.standard_normal((4, 4)) * 0.3
    Theta = Theta + Theta.T
    grams = [_gram_of_a_solution(w, Theta, seed) for seed in range(4)]
    assert max(np.abs(H - grams[0]).max() for H in grams) > 0.05


def test_two_starts_with_the_same_imbalance_land_at_different_cosines():
    # (A0, B0) and (QA0, QB0), Q orthogonal p x p, have the same Θ0, yet gradient descent takes
    # them to minimisers with different item cosines (chapter 11's counterexample, small).
    X = random_data(7, n=60, p=8) * np.array([4.0, 2.5, 1.5, 1, 1, 1, 1, 1])
    lam, k = 150.0, 3
    svd = top_singular(X, k)
    A_s, B_s = fit_objective1(X, k, lam, svd=svd)
    target = loss_objective1(X, A_s, B_s, lam) * (1 + 1e-10)
    A0, B0 = random_start(8, k, 0.5, seed=3)
    Q = np.linalg.qr(np.random.default_rng(4).standard_normal((8, 8)))[0]
    np.testing.assert_allclose(imbalance(Q @ A0, Q @ B0), imbalance(A0, B0), atol=1e-12)
    runs = [train_factors(X, lam, Q_ @ A0, Q_ @ B0, method="gd", lr=0.02 / (svd.s[0] ** 2 + lam),
                          max_steps=200_000, target=target) for Q_ in (np.eye(8), Q)]
    assert all(run.reached for run in runs)
    drift = max(np.abs(imbalance(run.A, run.B) - imbalance(A0, B0)).max() for run in runs)
    gap = np.abs(cosine_similarity(runs[0].B) - cosine_similarity(runs[1].B)).max()
    assert gap > 0.05 and gap > 10 * drift


def test_a_balanced_depth_three_model_has_cube_root_item_factors():
    # Chapter 11's deep-linear exercise: for X ≈ XAΥBᵀ under objective 1's loss, gradient descent
    # from a small start keeps both junctions balanced and lands at item embeddings V_k W^{1/3}
    # (up to a rotation), not at the two-factor V_k W^{1/2}: depth changes the implicit D.
    X = random_data(7, n=60, p=8) * np.array([4.0, 2.5, 1.5, 1, 1, 1, 1, 1])
    lam, k, p = 150.0, 3, 8
    svd = top_singular(X, k)
    w = shrinkage_objective1(svd.s, lam)
    gram_X = X.T @ X
    rng = np.random.default_rng(0)
    A, U, B = 0.01 * rng.standard_normal((p, k)), 0.01 * rng.standard_normal((k, k)), 0.01 * rng.standard_normal((p, k))
    lr = 0.2 / (svd.s[0] ** 2 + lam)
    for _ in range(15_000):
        M = A @ U @ B.T
        Phi = -2 * gram_X @ (np.eye(p) - M) + 2 * lam * M   # gradient of objective 1 in the product
        A, U, B = A - lr * Phi @ B @ U.T, U - lr * A.T @ Phi @ B, B - lr * Phi.T @ A @ U
    np.testing.assert_allclose(A @ U @ B.T, svd.V @ np.diag(w) @ svd.V.T, atol=1e-10)
    S = cosine_similarity(B)
    cube, square = cosine_similarity(svd.V * w ** (1 / 3)), cosine_similarity(svd.V * w ** 0.5)
    assert np.abs(S - cube).max() < 1e-3 and np.abs(S - square).max() > 0.03
