"""The closed forms of both objectives, their losses and the D-freedom.

Every closed form is checked against something independent of it: a
brute-force optimiser started at random points, finite differences of the
loss, and the paper's own special cases.
"""

import itertools

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
from cosim_helpers.training import loss_and_gradient, train

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


@given(objective2_problem, st.integers(0, 10_000))
def test_objective2_cost_of_a_general_G_is_a_weighted_square(prob, gseed):
    # Chapter 5: L₂(ÂG, B̂G⁻ᵀ) − L₂(Â, B̂) = λ‖dMat(√ρ)(G − G⁻ᵀ)‖²_F with
    # ρ = (σ − λ)_+, so with every direction on (all ρ_j > 0) every
    # non-orthogonal G raises the loss.
    X, k, lam, (A, B) = objective2_optimum(*prob)
    G = invertible(gseed, k)
    rho = np.clip(np.linalg.svd(X, compute_uv=False)[:k] - lam, 0, None)
    assert np.all(rho > 0)
    increase = loss_objective2(X, *rescale(A, B, G), lam) - loss_objective2(X, A, B, lam)
    expected = lam * np.sum(rho[:, None] * (G - np.linalg.inv(G).T) ** 2)
    assert increase > 0
    assert increase == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_objective2_optimum_is_kept_by_a_non_orthogonal_G_on_switched_off_directions():
    # Issue 8, item 2: "every non-orthogonal G raises the loss" needs every
    # ρ_j = (σ_j − λ)_+ > 0. With directions 3 and 4 switched off (σ_j <= λ),
    # G = blockdiag(I, M) is not orthogonal, yet changes neither the loss nor
    # the factors (their switched-off columns are zero).
    X = random_data(21, n=12, p=6)
    s = np.linalg.svd(X, compute_uv=False)
    k, lam = 4, 0.5 * (s[1] + s[2])  # σ₁, σ₂ > λ > σ₃ >= σ₄
    A, B = fit_objective2(X, k, lam)
    G = np.eye(k)
    G[2:, 2:] = [[2.0, 1.0], [0.0, 3.0]]
    assert np.abs(G @ G.T - np.eye(k)).max() > 1
    A2, B2 = rescale(A, B, G)
    assert loss_objective2(X, A2, B2, lam) == pytest.approx(loss_objective2(X, A, B, lam), rel=1e-12)
    np.testing.assert_allclose(A2, A, atol=1e-12)
    np.testing.assert_allclose(B2, B, atol=1e-12)
    # With all four directions on, the same G raises the loss.
    lam_on = 0.5 * s[k - 1]
    A, B = fit_objective2(X, k, lam_on)
    assert loss_objective2(X, *rescale(A, B, G), lam_on) > loss_objective2(X, A, B, lam_on) + 1e-3


@pytest.mark.parametrize("objective", [1, 2])
def test_closed_form_beats_every_other_stationary_point_of_singular_directions(objective):
    # Issue 8, item 5: a zero gradient and random perturbations also hold at
    # saddle points. Every k-subset S of singular directions gives a
    # stationary point; the closed form (the top k) must have the smallest
    # loss, strictly, and the others must really be stationary.
    X = random_data(40, n=15, p=6)
    k = 2
    _, s, Vt = np.linalg.svd(X)
    lam = 2.0 if objective == 1 else 0.5 * s[-1]  # objective 2: every direction on
    fit, loss = OBJECTIVES[objective]
    best = loss(X, *fit(X, k, lam), lam)
    others = []
    for S in itertools.combinations(range(6), k):
        A, B = product_from_basis(X, Vt[list(S)].T, lam, objective)
        _, gA, gB = loss_and_gradient(X, A, B, lam, objective)
        assert max(np.abs(gA).max(), np.abs(gB).max()) < 1e-9 * best
        if S != (0, 1):
            others.append(loss(X, A, B, lam))
    assert min(others) > best * (1 + 1e-6)


# --- uniqueness and ties (issue 8, item 3) -------------------------------------------------------

def with_singular_values(s, n=9, seed=30):
    """X = U dMat(s) Vᵀ (n x p) with random orthonormal U, V and the given singular values."""
    rng = np.random.default_rng(seed)
    p = len(s)
    U, _ = np.linalg.qr(rng.standard_normal((n, p)))
    V, _ = np.linalg.qr(rng.standard_normal((p, p)))
    return U @ np.diag(s) @ V.T, V


def product_from_basis(X, V_sel, lam, objective):
    """X Â B̂ᵀ of the closed-form factors built on the chosen right singular vectors."""
    s = np.linalg.norm(X @ V_sel, axis=0)
    if objective == 1:
        A = B = V_sel * np.sqrt(shrinkage_objective1(s, lam))
    else:
        rho = np.clip(s - lam, 0, None)
        A, B = V_sel * np.sqrt(rho) / s, V_sel * np.sqrt(rho)
    return A, B


def rotate_within(V, cols, angle):
    """V with the two columns ``cols`` rotated into each other by ``angle``."""
    V = V.copy()
    i, j = cols
    c, s_ = np.cos(angle), np.sin(angle)
    V[:, i], V[:, j] = c * V[:, i] + s_ * V[:, j], -s_ * V[:, i] + c * V[:, j]
    return V


@pytest.mark.parametrize("objective", [1, 2])
def test_ties_inside_the_top_k_do_not_change_the_optimum(objective):
    # σ₂ = σ₃ both among the top k = 3: every basis of the tied subspace gives
    # the same product and the same item-item cosines.
    X, V = with_singular_values([5.0, 3.0, 3.0, 1.0, 0.5])
    lam = 2.0 if objective == 1 else 0.8
    k = 3
    fit, loss = OBJECTIVES[objective]
    A, B = fit(X, k, lam)
    for angle in (0.4, 1.3):
        A2, B2 = product_from_basis(X, rotate_within(V, (1, 2), angle)[:, :k], lam, objective)
        assert loss(X, A2, B2, lam) == pytest.approx(loss(X, A, B, lam), rel=1e-12)
        np.testing.assert_allclose(A2 @ B2.T, A @ B.T, atol=1e-12)
        if objective == 2:  # for objective 1 the cosines are free anyway (chapter 4)
            np.testing.assert_allclose(cosine_similarity(B2), cosine_similarity(B), atol=1e-10)


@pytest.mark.parametrize("objective", [1, 2])
def test_a_tie_split_by_the_cut_above_the_threshold_gives_many_optima(objective):
    # σ₂ = σ₃ = 3 > λ and k = 2: keeping v₂ or a rotated mix of v₂, v₃ is
    # equally good, and the products differ.
    X, V = with_singular_values([5.0, 3.0, 3.0, 1.0, 0.5])
    lam, k = 0.8, 2
    _, loss = OBJECTIVES[objective]
    A, B = product_from_basis(X, V[:, :k], lam, objective)
    A2, B2 = product_from_basis(X, rotate_within(V, (1, 2), 0.9)[:, :k], lam, objective)
    assert loss(X, A2, B2, lam) == pytest.approx(loss(X, A, B, lam), rel=1e-12)
    assert np.abs(A2 @ B2.T - A @ B.T).max() > 0.1
    # Both are minima: an optimiser from a random start reaches the same loss.
    run = train(X, k, lam, objective, seed=0)
    assert loss(X, run.A, run.B, lam) == pytest.approx(loss(X, A, B, lam), rel=1e-8)


def test_objective2_tie_split_below_lambda_is_harmless():
    # σ₃ = σ₄ = 2 <= λ = 2.5, k = 3: the cut splits the tie, but both tied
    # directions are switched off, so the optimum is unique up to rotation:
    # random starts land on the closed form's product and cosines.
    X, _ = with_singular_values([5.0, 4.0, 2.0, 2.0, 0.5])
    k, lam = 3, 2.5
    A, B = fit_objective2(X, k, lam)
    for seed in (0, 1):
        run = train(X, k, lam, 2, seed=seed)
        np.testing.assert_allclose(X @ run.A @ run.B.T, X @ A @ B.T, atol=1e-5)
        np.testing.assert_allclose(cosine_similarity(run.B), cosine_similarity(B[:, :2]), atol=1e-4)


def test_objective1_tie_at_zero_is_harmless():
    # rank(X) = 2 < k = 3, so σ₃ = σ₄ = 0 tie at the cut: the product is still
    # unique (the tied directions get weight 0), as random starts confirm.
    X, _ = with_singular_values([5.0, 3.0, 0.0, 0.0])
    k, lam = 3, 1.0
    A, B = fit_objective1(X, k, lam)
    for seed in (0, 1):
        run = train(X, k, lam, 1, seed=seed)
        np.testing.assert_allclose(run.A @ run.B.T, A @ B.T, atol=1e-5)


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


# --- book exercises whose solutions quote numbers -------------------------------------------------

def test_ch4_ranking_exercise_fine_ratio_search():
    # Chapter 4, ex-ch4-ranking (issue 8, item 13): on a fine grid of the two
    # ratios of D, ten items become user 0's top item by user-item cosine;
    # none of them has a non-positive score (the limit that holds for every D).
    from cosim_helpers.data import simulate_clustered

    toy = simulate_clustered(n_users=500, n_items=30, n_clusters=3, seed=1, max_items_per_user=15)
    X = toy.X.toarray()
    A, B = fit_objective1(X, 3, 50.0)
    score0 = X[0] @ A @ B.T
    by_score = list(np.argsort(-score0))
    ratios = np.logspace(-4, 4, 801)
    t2, t3 = (r.ravel() for r in np.meshgrid(ratios, ratios, indexing="ij"))
    norms = np.sqrt((B**2) @ np.stack([np.ones_like(t2), t2**-2.0, t3**-2.0]))
    top = np.argmax(score0[:, None] / norms, axis=0)
    for g in np.random.default_rng(0).choice(top.size, 20, replace=False):
        A_D, B_D = rescale(A, B, np.array([1.0, t2[g], t3[g]]))
        assert cosine_similarity(X[:1] @ A_D, B_D)[0].argmax() == top[g]
    reachable = {int(i): by_score.index(i) + 1 for i in sorted(set(top.tolist()))}
    assert reachable == {1: 2, 3: 6, 6: 9, 10: 5, 13: 7, 20: 1, 23: 4, 24: 3, 25: 8, 29: 10}
    assert all(score0[i] > 0 for i in reachable) and int(np.sum(score0 <= 0)) == 7
    # "(A coarse grid of nine values per d_j finds only four of them.)"
    coarse = np.logspace(-4, 4, 9)
    c2, c3 = (r.ravel() for r in np.meshgrid(coarse, coarse, indexing="ij"))
    coarse_norms = np.sqrt((B**2) @ np.stack([np.ones_like(c2), c2**-2.0, c3**-2.0]))
    assert len(set(np.argmax(score0[:, None] / coarse_norms, axis=0).tolist())) == 4


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

