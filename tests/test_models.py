"""The closed forms of both objectives, their losses and the D-freedom.

Every closed form is checked against something independent of it: a
brute-force optimiser started at random points, finite differences of the
loss, and the paper's own special cases.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from cosim_helpers.models import (
    fit_objective1,
    fit_objective2,
    loss_objective1,
    loss_objective1_gram,
    loss_objective2,
    reconstruction_error,
    rescale,
    shrinkage_objective1,
    shrinkage_objective2,
)
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.training import train

from .conftest import random_data

OBJECTIVES = {1: (fit_objective1, loss_objective1), 2: (fit_objective2, loss_objective2)}


# --- the losses are the paper's formulas ---------------------------------------------------------

def test_losses_match_their_definitions_dense_and_sparse():
    rng = np.random.default_rng(0)
    X = (rng.random((50, 7)) < 0.3).astype(float)
    A, B = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    lam = 0.7
    fit = np.linalg.norm(X - X @ A @ B.T) ** 2
    l1 = fit + lam * np.linalg.norm(A @ B.T) ** 2
    l2 = fit + lam * (np.linalg.norm(X @ A) ** 2 + np.linalg.norm(B) ** 2)
    for data in (X, sp.csr_matrix(X), sp.coo_matrix(X)):
        assert reconstruction_error(data, A, B) == pytest.approx(fit, rel=1e-12)
        assert loss_objective1(data, A, B, lam) == pytest.approx(l1, rel=1e-12)
        assert loss_objective2(data, A, B, lam) == pytest.approx(l2, rel=1e-12)


def test_reconstruction_error_is_exact_near_a_perfect_fit():
    # With k = p and lam = 0 the fit is exact; an expansion
    # ‖X‖² − 2⟨X, XM⟩ + ‖XM‖² would return round-off of size eps·‖X‖².
    X = random_data(1, n=40, p=6) * 1e3
    A, B = fit_objective1(X, 6, 0.0)
    assert reconstruction_error(X, A, B) < 1e-12 * np.linalg.norm(X) ** 2 * 1e-6


# --- closed forms are optima -------------------------------------------------------------------

@pytest.mark.parametrize("objective,lam", [(1, 0.0), (1, 3.0), (1, 40.0), (2, 0.5), (2, 3.0)])
def test_closed_form_is_the_minimum_found_by_an_independent_optimiser(objective, lam):
    X = random_data(2, n=30, p=8)
    k = 3
    fit, loss = OBJECTIVES[objective]
    best = loss(X, *fit(X, k, lam), lam)
    for seed in range(4):
        result = train(X, k, lam, objective, seed=seed)
        found = loss(X, result.A, result.B, lam)
        # the optimiser reaches the closed-form loss from every start ...
        assert found == pytest.approx(best, rel=1e-9)
        # ... and never beats it (beyond round-off)
        assert found >= best * (1 - 1e-12)


@pytest.mark.parametrize("objective,lam", [(1, 2.0), (2, 1.0)])
def test_gradient_of_the_loss_vanishes_at_the_closed_form(objective, lam):
    # Finite differences of the loss itself, independent of any analytic gradient.
    X = random_data(3, n=25, p=6)
    fit, loss = OBJECTIVES[objective]
    A, B = fit(X, 3, lam)
    h = 1e-5
    scale = loss(X, A, B, lam)
    for M, name in ((A, "A"), (B, "B")):
        for idx in np.ndindex(M.shape):
            E = np.zeros_like(M)
            E[idx] = h
            plus = loss(X, A + E, B, lam) if name == "A" else loss(X, A, B + E, lam)
            minus = loss(X, A - E, B, lam) if name == "A" else loss(X, A, B - E, lam)
            assert abs(plus - minus) / (2 * h) < 1e-6 * scale


def test_a_perturbed_closed_form_has_a_larger_loss():
    X = random_data(4)
    rng = np.random.default_rng(4)
    for objective, lam in ((1, 5.0), (2, 1.0)):
        fit, loss = OBJECTIVES[objective]
        A, B = fit(X, 3, lam)
        base = loss(X, A, B, lam)
        for _ in range(5):
            dA, dB = 1e-3 * rng.standard_normal(A.shape), 1e-3 * rng.standard_normal(B.shape)
            assert loss(X, A + dA, B + dB, lam) > base


def test_closed_forms_match_the_papers_formulas():
    X = random_data(5, n=40, p=7)
    k, lam1, lam2 = 4, 6.0, 1.5
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    V, s = Vt[:k].T, s[:k]
    A, B = fit_objective1(X, k, lam1)
    np.testing.assert_allclose(A @ B.T, V @ np.diag(1 / (1 + lam1 / s**2)) @ V.T, atol=1e-12)
    np.testing.assert_allclose(A, B)
    A, B = fit_objective2(X, k, lam2)
    shrink = np.clip(1 - lam2 / s, 0, None)
    np.testing.assert_allclose(A @ B.T, V @ np.diag(shrink) @ V.T, atol=1e-12)
    # XÂ = U_k dMat(√((σ − λ)_+)) and B̂ = V_k dMat(√((σ − λ)_+)): same scaling for users and items
    np.testing.assert_allclose(np.linalg.norm(X @ A, axis=0), np.sqrt(np.clip(s - lam2, 0, None)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(B, axis=0), np.sqrt(np.clip(s - lam2, 0, None)), atol=1e-12)


def test_shrinkage_curves():
    s = np.array([0.0, 1.0, 2.0, 10.0])
    np.testing.assert_allclose(shrinkage_objective1(s, 4.0), [0.0, 1 / 5, 4 / 8, 100 / 104])
    np.testing.assert_allclose(shrinkage_objective2(s, 2.0), [0.0, 0.0, 0.0, 0.8])
    # objective 1 halves a direction exactly at σ = √λ; objective 2 removes it at σ = λ
    assert shrinkage_objective1(np.array([3.0]), 9.0)[0] == pytest.approx(0.5)


def test_objective2_switches_off_directions_below_lambda():
    X = random_data(6, n=30, p=6)
    s = np.linalg.svd(X, compute_uv=False)
    lam = (s[1] + s[2]) / 2  # exactly two singular values above λ
    A, B = fit_objective2(X, 5, lam)
    assert np.all(np.linalg.norm(B, axis=0)[2:] == 0) and np.all(np.linalg.norm(A, axis=0)[2:] == 0)
    assert np.all(np.linalg.norm(B, axis=0)[:2] > 0)


def test_shared_decomposition_gives_identical_fits():
    from cosim_helpers.spectral import top_singular

    X = sp.random(300, 40, density=0.1, random_state=7, format="csr")
    svd = top_singular(X, 10)
    for fit in (fit_objective1, fit_objective2):
        np.testing.assert_allclose(fit(X, 6, 0.5, svd=svd)[1], fit(X, 6, 0.5)[1], atol=1e-12)
    with pytest.raises(ValueError, match="svd does not match"):
        fit_objective1(X, 12, 0.5, svd=svd)
    with pytest.raises(TypeError, match="svd must be a Spectrum"):
        fit_objective1(X, 6, 0.5, svd=(svd.s, svd.V))


# --- the D-freedom (property tests) --------------------------------------------------------------

problem = st.tuples(
    st.integers(0, 10_000),  # seed of X
    st.integers(3, 9),  # p
    st.integers(2, 12),  # extra users: n = p + extra
).flatmap(lambda t: st.tuples(st.just(t), st.integers(1, t[1] - 1), st.floats(0.0, 20.0)))


def diagonal(seed, k, nontrivial=True):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.2, 5.0, size=k) * rng.choice([-1.0, 1.0], size=k)
    if nontrivial:
        d[0] = 3.0  # at least one entry far from ±1
    return d


def invertible(seed, k):
    # G = Q₁ dMat(s) Q₂ with singular values in [0.2, 5]: invertible, condition number <= 25
    rng = np.random.default_rng(seed)
    Q1, _ = np.linalg.qr(rng.standard_normal((k, k)))
    Q2, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return Q1 @ np.diag(rng.uniform(0.2, 5.0, size=k)) @ Q2


@given(problem, st.integers(0, 10_000))
def test_objective1_loss_is_unchanged_by_any_invertible_diagonal_D(prob, dseed):
    (seed, p, extra), k, lam = prob
    X = random_data(seed, n=p + extra, p=p)
    A, B = fit_objective1(X, k, lam)
    base = loss_objective1(X, A, B, lam)
    A2, B2 = rescale(A, B, diagonal(dseed, k))
    assert loss_objective1(X, A2, B2, lam) == pytest.approx(base, rel=1e-9)


@given(problem, st.integers(0, 10_000))
def test_objective1_loss_is_unchanged_by_any_invertible_G(prob, gseed):
    (seed, p, extra), k, lam = prob
    X = random_data(seed, n=p + extra, p=p)
    rng = np.random.default_rng(seed + 1)
    A, B = rng.standard_normal((p, k)), rng.standard_normal((p, k))  # any point, not only optima
    base = loss_objective1(X, A, B, lam)
    A2, B2 = rescale(A, B, invertible(gseed, k))
    np.testing.assert_allclose(A2 @ B2.T, A @ B.T, atol=1e-10 * np.abs(A @ B.T).max())
    assert loss_objective1(X, A2, B2, lam) == pytest.approx(base, rel=1e-9)


@given(problem, st.integers(0, 10_000))
def test_item_item_cosine_changes_under_a_generic_D(prob, dseed):
    (seed, p, extra), k, lam = prob
    if k < 2:
        return  # with k = 1 every cosine is ±1 whatever D is
    X = random_data(seed, n=p + extra, p=p)
    A, B = fit_objective1(X, k, lam)
    _, B2 = rescale(A, B, diagonal(dseed, k))
    assert np.abs(cosine_similarity(B2) - cosine_similarity(B)).max() > 1e-6
    # ... while every prediction (XA)_u · b_i is unchanged
    A2, _ = rescale(A, B, diagonal(dseed, k))
    np.testing.assert_allclose((X @ A2) @ B2.T, (X @ A) @ B.T, atol=1e-10)


objective2_problem = st.tuples(st.integers(0, 10_000), st.integers(3, 8), st.integers(2, 10))


def objective2_optimum(seed, p, extra):
    """Objective-2 optimum with every direction active (λ below σ_k)."""
    X = random_data(seed, n=p + extra, p=p)
    k = p - 1
    s = np.linalg.svd(X, compute_uv=False)
    lam = 0.5 * s[k - 1]
    return X, k, lam, fit_objective2(X, k, lam)


@given(objective2_problem, st.integers(0, 10_000))
def test_objective2_loss_is_unchanged_by_rotations(prob, rseed):
    X, k, lam, (A, B) = objective2_optimum(*prob)
    R, _ = np.linalg.qr(np.random.default_rng(rseed).standard_normal((k, k)))
    base = loss_objective2(X, A, B, lam)
    A2, B2 = rescale(A, B, R)  # R⁻ᵀ = R for an orthogonal R
    np.testing.assert_allclose(B2, B @ R, atol=1e-12)
    assert loss_objective2(X, A2, B2, lam) == pytest.approx(base, rel=1e-9)


@given(objective2_problem, st.integers(0, 10_000))
def test_objective2_loss_strictly_increases_under_a_nontrivial_diagonal_D(prob, dseed):
    X, k, lam, (A, B) = objective2_optimum(*prob)
    d = diagonal(dseed, k)
    base = loss_objective2(X, A, B, lam)
    A2, B2 = rescale(A, B, d)
    # The increase is exactly λ Σ (σ_i − λ)(|d_i| − 1/|d_i|)²; check both strictness and size.
    s = np.linalg.svd(X, compute_uv=False)[:k]
    expected = lam * np.sum((s - lam) * (np.abs(d) - 1 / np.abs(d)) ** 2)
    increase = loss_objective2(X, A2, B2, lam) - base
    assert increase > 0
    assert increase == pytest.approx(expected, rel=1e-6)


# --- the paper's full-rank special cases (k = p) --------------------------------------------------

def test_full_rank_special_cases():
    X = random_data(8, n=30, p=6)
    k, lam = 6, 4.0
    A, B = fit_objective1(X, k, lam)
    s = np.linalg.svd(X, compute_uv=False)
    half = np.sqrt(1 / (1 + lam / s**2))
    # D = dMat(1/(1+λ/σ²))^{1/2}: B̂D⁻¹ = V, item-item cosine = V Vᵀ = I
    _, B_id = rescale(A, B, half)
    np.testing.assert_allclose(cosine_similarity(B_id), np.eye(6), atol=1e-10)
    # D = dMat(1/(1+λ/σ²))^{-1/2}: ÂD = V, user-user cosine = cosine of the raw rows of X
    A_raw, _ = rescale(A, B, 1 / half)
    np.testing.assert_allclose(cosine_similarity(X @ A_raw), cosine_similarity(X), atol=1e-10)
    # ... and the symmetric representative gives neither
    assert np.abs(cosine_similarity(B) - np.eye(6)).max() > 1e-3


def test_user_item_cosine_depends_on_D_only_through_the_normalisers():
    X = random_data(9, n=20, p=5)
    A, B = fit_objective1(X, 3, 2.0)
    d = np.array([0.3, 1.0, 4.0])
    A2, B2 = rescale(A, B, d)
    omega_a = 1 / np.linalg.norm(X @ A2, axis=1)
    omega_b = 1 / np.linalg.norm(B2, axis=1)
    expected = omega_a[:, None] * (X @ A @ B.T) * omega_b[None, :]
    np.testing.assert_allclose(cosine_similarity(X @ A2, B2), expected, atol=1e-12)
    assert np.abs(cosine_similarity(X @ A2, B2) - cosine_similarity(X @ A, B)).max() > 1e-3


# --- rescale --------------------------------------------------------------------------------------

def test_rescale_diagonal_equals_matrix_form():
    rng = np.random.default_rng(10)
    A, B = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    d = np.array([2.0, -0.5, 3.0])
    A1, B1 = rescale(A, B, d)
    A2, B2 = rescale(A, B, np.diag(d))
    np.testing.assert_allclose(A1, A2)
    np.testing.assert_allclose(B1, B2)
    np.testing.assert_allclose(B1, B @ np.linalg.inv(np.diag(d)).T)


# --- objectives from the Gram matrix ---------------------------------------------------------

@pytest.mark.parametrize("sparse", [False, True])
def test_loss_objective1_gram_agrees_with_the_residual_based_loss(sparse):
    rng = np.random.default_rng(2)
    X = (rng.random((80, 12)) < 0.3).astype(float)
    A, B = rng.standard_normal((12, 4)), rng.standard_normal((12, 4))
    data = sp.csr_matrix(X) if sparse else X
    expected = loss_objective1(data, A, B, 3.5)
    assert loss_objective1_gram(X.T @ X, A, B, 3.5) == pytest.approx(expected, rel=1e-9)


def test_loss_objective1_gram_rejects_bad_input():
    G, A = np.eye(5), np.ones((5, 2))
    with pytest.raises(ValueError, match="G must be square"):
        loss_objective1_gram(np.ones((5, 4)), A, A, 1.0)
    with pytest.raises(ValueError, match="B"):
        loss_objective1_gram(G, A, np.ones((5, 3)), 1.0)
    with pytest.raises(ValueError, match="lam"):
        loss_objective1_gram(G, A, A, -1.0)


# --- inputs that used to slip through (issue 9) ------------------------------------------------------

def _conditioned(k, cond, seed=0):
    rng = np.random.default_rng(seed)
    Q1, _ = np.linalg.qr(rng.standard_normal((k, k)))
    Q2, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return Q1 @ np.diag(np.geomspace(1.0, 1.0 / cond, k)) @ Q2


def test_rescale_refuses_a_G_whose_inverse_would_move_ABt():
    rng = np.random.default_rng(11)
    A, B = rng.standard_normal((20, 4)), rng.standard_normal((20, 4))
    with pytest.raises(ValueError, match="condition number"):
        rescale(A, B, _conditioned(4, 1e15))  # accepted before, while ABᵀ moved by 1-2.5%
    A2, B2 = rescale(A, B, _conditioned(4, 1e7))  # below the stated limit: ABᵀ kept to ~1e-8
    M = A @ B.T
    assert np.abs(A2 @ B2.T - M).max() < 1e-8 * np.abs(M).max()


@pytest.mark.parametrize("d", [1e-320, 1e300, 1e-300])
def test_rescale_refuses_a_D_that_over_or_underflows(d):
    rng = np.random.default_rng(12)
    A, B = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    with pytest.raises(ValueError, match="D is too extreme"):
        rescale(A * 1e10, B * 1e10, np.array([1.0, d]))


def test_rescale_keeps_ABt_for_a_wide_but_safe_diagonal_D():
    rng = np.random.default_rng(13)
    A, B = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    A2, B2 = rescale(A, B, np.array([1e-150, 1e150]))
    np.testing.assert_allclose(A2 @ B2.T, A @ B.T, rtol=1e-14)


def test_complex_D_is_rejected():
    A = np.ones((3, 2))
    with pytest.raises(TypeError, match="D must be real"):
        rescale(A, A, np.array([1.0, 1j]))


@pytest.mark.parametrize("t", [1e-170, 1e160])
def test_fits_of_a_rescaled_X_are_the_fits_of_X(t):
    # X·t with λ₂·t (objective 2) and λ₁ = 0 (objective 1) has exactly the
    # same optimum ABᵀ as X; squaring X·t would underflow to 0 (all-zero fit)
    # or overflow (an error inside scipy that did not name X).
    X = random_data(7, n=12, p=5)
    for fit, lam, lam_t in ((fit_objective1, 0.0, 0.0), (fit_objective2, 0.9, 0.9 * t)):
        A, B = fit(X, 3, lam)
        At, Bt = fit(X * t, 3, lam_t)
        np.testing.assert_allclose(At @ Bt.T, A @ B.T, atol=1e-10)


def test_objective1_shrinkage_never_squares_sigma():
    s = np.array([2.0, 1.0])
    np.testing.assert_array_equal(shrinkage_objective1(s * 1e-170, 0.0), [1.0, 1.0])  # σ² underflowed: 0
    np.testing.assert_allclose(shrinkage_objective1(s * 1e160, 3.0), [1.0, 1.0])  # σ² overflowed: NaN
    np.testing.assert_allclose(shrinkage_objective1(s * 1e-155, 1e-310), [0.8, 0.5], rtol=1e-6)  # λ = σ²/4, σ²

