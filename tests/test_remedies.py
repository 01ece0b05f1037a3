"""Tests for cosim_helpers.remedies (book chapter 6, paper §3).

Each closed form or gradient is checked against an independent computation:
finite differences, an explicit dense formula, or a loop.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim_helpers.data import simulate_clustered
from cosim_helpers.models import fit_objective1, fit_objective2, rescale
from cosim_helpers.remedies import (
    cosine_model_loss,
    cosine_model_loss_and_gradient,
    cosine_model_scores,
    escape_to_dot_product,
    matched_lambda,
    projected_item_cosine,
    projected_user_cosine,
    reconstruct,
    remedy_similarities,
    standardize_items,
    train_cosine_model,
)
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.spectral import top_singular


def _binary(n=40, p=12, density=0.3, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, p)) < density).astype(float)
    X[np.arange(n), rng.integers(0, p, n)] = 1.0  # every user has an item
    return X


def _factors(p=12, k=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((p, k)), rng.standard_normal((p, k))


def _explicit_scores(X, A, B, c):
    """Scores by a double loop over users and items: c · cos((XA)_u, b_i)."""
    P = X @ A
    S = np.empty((X.shape[0], B.shape[0]))
    for u in range(X.shape[0]):
        for i in range(B.shape[0]):
            S[u, i] = c * P[u] @ B[i] / (np.linalg.norm(P[u]) * np.linalg.norm(B[i]))
    return S


# ---------------------------------------------------------------- remedy 1


def test_cosine_scores_match_explicit_loop():
    X = _binary()
    A, B = _factors()
    np.testing.assert_allclose(cosine_model_scores(X, A, B, 1.7), _explicit_scores(X, A, B, 1.7), atol=1e-12)


def test_cosine_loss_equals_squared_residual_and_expansion():
    X = _binary()
    A, B = _factors()
    direct = float(np.sum((X - _explicit_scores(X, A, B, 0.8)) ** 2))
    assert cosine_model_loss(X, A, B, 0.8) == pytest.approx(direct, rel=1e-12)
    loss, *_ = cosine_model_loss_and_gradient(sp.csr_matrix(X), A, B, 0.8)
    assert loss == pytest.approx(direct, rel=1e-10)


def test_cosine_gradient_matches_central_finite_differences():
    X = _binary()
    A, B = _factors()
    c = 1.3
    _, dA, dB, dc = cosine_model_loss_and_gradient(X, A, B, c)
    h = 1e-6
    rng = np.random.default_rng(5)
    for (M, dM) in ((A, dA), (B, dB)):
        for _ in range(8):
            i, j = rng.integers(M.shape[0]), rng.integers(M.shape[1])
            Mp, Mm = M.copy(), M.copy()
            Mp[i, j] += h
            Mm[i, j] -= h
            if M is A:
                fd = (cosine_model_loss(X, Mp, B, c) - cosine_model_loss(X, Mm, B, c)) / (2 * h)
            else:
                fd = (cosine_model_loss(X, A, Mp, c) - cosine_model_loss(X, A, Mm, c)) / (2 * h)
            assert dM[i, j] == pytest.approx(fd, rel=1e-5, abs=1e-7)
    fd_c = (cosine_model_loss(X, A, B, c + h) - cosine_model_loss(X, A, B, c - h)) / (2 * h)
    assert dc == pytest.approx(fd_c, rel=1e-6)


def test_cosine_gradient_directional_derivative_all_entries():
    """The full gradient, not only sampled entries: a random direction."""
    X = _binary(seed=3)
    A, B = _factors(seed=4)
    c = -0.6
    _, dA, dB, dc = cosine_model_loss_and_gradient(X, A, B, c)
    rng = np.random.default_rng(6)
    EA, EB, ec = rng.standard_normal(A.shape), rng.standard_normal(B.shape), rng.standard_normal()
    h = 1e-6
    fd = (cosine_model_loss(X, A + h * EA, B + h * EB, c + h * ec)
          - cosine_model_loss(X, A - h * EA, B - h * EB, c - h * ec)) / (2 * h)
    analytic = np.sum(dA * EA) + np.sum(dB * EB) + dc * ec
    assert analytic == pytest.approx(fd, rel=1e-6)


def test_cosine_loss_changes_under_diagonal_rescaling_but_not_rotation():
    X = _binary()
    A, B = _factors()
    base = cosine_model_loss(X, A, B, 1.0)
    A2, B2 = rescale(A, B, np.array([0.2, 1.0, 5.0]))
    assert abs(cosine_model_loss(X, A2, B2, 1.0) - base) > 1e-3 * base
    R, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((3, 3)))
    assert cosine_model_loss(X, A @ R, B @ R, 1.0) == pytest.approx(base, rel=1e-12)
    # the remaining freedom: a positive factor on A, positive factors on the rows of B
    gamma = np.random.default_rng(3).uniform(0.1, 10.0, size=B.shape[0])
    assert cosine_model_loss(X, 7.0 * A, gamma[:, None] * B, 1.0) == pytest.approx(base, rel=1e-12)


def test_train_cosine_model_lowers_loss_and_converges_with_fixed_scale():
    X = _binary(n=60, p=15, seed=7)
    res = train_cosine_model(X, 3, seed=0, max_iter=1000)
    assert res.scale == 1.0
    assert res.converged
    assert res.losses[-1] < 0.8 * res.losses[0]
    assert res.losses[-1] == pytest.approx(cosine_model_loss(X, res.A, res.B, 1.0), rel=1e-9)
    assert np.all(np.diff(res.losses) <= 1e-9 * res.losses[0])  # L-BFGS never goes up
    _, dA, dB, _ = cosine_model_loss_and_gradient(X, res.A, res.B, 1.0)
    assert max(np.abs(dA).max(), np.abs(dB).max()) < 1e-3  # a stationary point


def test_train_cosine_model_learned_scale_is_least_squares():
    X = _binary(n=60, p=15, seed=7)
    res = train_cosine_model(X, 3, scale=None, seed=0, max_iter=200)
    assert res.losses[-1] < 0.8 * res.losses[0]
    S = cosine_model_scores(X, res.A, res.B, 1.0)
    c_star = np.sum(X * S) / np.sum(S * S)  # least-squares c for the final embeddings
    assert res.scale == pytest.approx(c_star, rel=1e-2)
    assert res.losses[-1] == pytest.approx(cosine_model_loss(X, res.A, res.B, res.scale), rel=1e-9)


def test_escape_to_dot_product_limit():
    X = _binary(n=30, p=8, seed=22)
    A, B = _factors(p=8, k=2, seed=23)
    target = (X @ A @ B.T) / X.sum(axis=1, keepdims=True)
    errors = []
    for eps in (1e-1, 1e-2, 1e-3):
        Ae, Be, c = escape_to_dot_product(A, B, eps)
        assert Ae.shape == (8, 4) and c == pytest.approx(eps**-2)
        errors.append(np.abs(cosine_model_scores(X, Ae, Be, c) - target).max())
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-4
    Ae, Be, _ = escape_to_dot_product(A, B, 1e-3)
    assert cosine_similarity(Be).min() > 0.99  # all item embeddings collapse to one direction
    with pytest.raises(ValueError, match="eps"):
        escape_to_dot_product(A, B, 0.0)


def test_train_cosine_model_deterministic_for_a_seed():
    X = sp.csr_matrix(_binary(n=50, p=10, seed=8))
    r1 = train_cosine_model(X, 2, seed=11, max_iter=50)
    r2 = train_cosine_model(X, 2, seed=11, max_iter=50)
    r3 = train_cosine_model(X, 2, seed=12, max_iter=50)
    np.testing.assert_array_equal(r1.A, r2.A)
    np.testing.assert_array_equal(r1.B, r2.B)
    np.testing.assert_array_equal(r1.losses, r2.losses)
    assert not np.allclose(r1.A, r3.A)


def test_train_cosine_model_fixed_scale_and_init_not_mutated():
    X = _binary(n=30, p=8, seed=9)
    A0, B0 = _factors(p=8, k=2, seed=10)
    A0c, B0c = A0.copy(), B0.copy()
    res = train_cosine_model(X, 2, scale=0.5, init=(A0, B0), max_iter=30)
    assert res.scale == 0.5
    assert res.losses[0] == pytest.approx(cosine_model_loss(X, A0, B0, 0.5), rel=1e-10)
    assert res.losses[-1] < res.losses[0]
    np.testing.assert_array_equal(A0, A0c)
    np.testing.assert_array_equal(B0, B0c)


def test_train_cosine_model_callback_receives_every_iteration():
    X = _binary(n=30, p=8, seed=9)
    seen = []
    res = train_cosine_model(X, 2, seed=0, max_iter=10, callback=lambda i, A, B, c: seen.append(i))
    assert seen == list(range(1, len(res.losses)))


def test_cosine_model_input_validation():
    X = _binary()
    A, B = _factors()
    with pytest.raises(TypeError, match="scale"):
        cosine_model_scores(X, A, B, "1")
    with pytest.raises(ValueError, match="B"):
        cosine_model_loss(X, A, B[:, :2], 1.0)
    with pytest.raises(ValueError, match="max_iter"):
        train_cosine_model(X, 2, max_iter=0)
    with pytest.raises(TypeError, match="init"):
        train_cosine_model(X, 2, init=A)
    with pytest.raises(ValueError, match="init\\[0\\]"):
        train_cosine_model(X, 2, init=(A, B))  # k = 3 factors for k = 2
    with pytest.raises(TypeError, match="callback"):
        train_cosine_model(X, 2, callback=3)


# ---------------------------------------------------------------- remedy 2


def test_reconstruct_is_the_same_for_every_objective1_optimum():
    X = _binary(n=50, p=12, seed=12)
    A, B = fit_objective1(X, 4, 3.0)
    Xhat = reconstruct(X, A, B)
    np.testing.assert_allclose(Xhat, X @ A @ B.T, atol=1e-12)
    for D in (np.array([0.1, 1.0, 10.0, 100.0]), np.random.default_rng(0).standard_normal((4, 4))):
        A2, B2 = rescale(A, B, D)
        assert not np.allclose(cosine_similarity(B2), cosine_similarity(B))  # embeddings changed ...
        np.testing.assert_allclose(reconstruct(X, A2, B2), Xhat, atol=1e-10)  # ... X̂ did not
        np.testing.assert_allclose(projected_item_cosine(X, A2, B2), projected_item_cosine(X, A, B), atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.05, 20.0), min_size=3, max_size=3), st.integers(0, 10_000))
def test_projected_item_cosine_invariant_to_any_positive_D(d, seed):
    X = _binary(n=30, p=9, seed=seed)
    A, B = _factors(p=9, k=3, seed=seed + 1)
    A2, B2 = rescale(A, B, np.array(d))
    np.testing.assert_allclose(projected_item_cosine(X, A2, B2), projected_item_cosine(X, A, B), atol=1e-9)


def test_projected_item_cosine_equals_cosine_of_explicit_columns():
    X = _binary(n=50, p=12, seed=13)
    A, B = _factors(p=12, k=4, seed=14)
    explicit = cosine_similarity((X @ A @ B.T).T)  # columns of X̂ as rows
    np.testing.assert_allclose(projected_item_cosine(X, A, B), explicit, atol=1e-12)
    np.testing.assert_allclose(projected_item_cosine(X, A, B, G=X.T @ X), explicit, atol=1e-12)
    np.testing.assert_allclose(projected_item_cosine(sp.csr_matrix(X), A, B), explicit, atol=1e-12)


def test_projected_item_cosine_objective1_closed_form():
    """Columns of X̂ = U_k Σ_k S V_kᵀ have the cosines of the rows of V_k Σ_k S."""
    X = _binary(n=60, p=10, seed=15)
    k, lam = 4, 2.0
    A, B = fit_objective1(X, k, lam)
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    V, s = Vt[:k].T, s[:k]
    shrink = s**2 / (s**2 + lam)
    np.testing.assert_allclose(projected_item_cosine(X, A, B), cosine_similarity(V * (s * shrink)), atol=1e-10)


def test_projected_item_cosine_objective2_closed_form():
    X = _binary(n=60, p=10, seed=16)
    k, lam = 3, 1.0
    A, B = fit_objective2(X, k, lam)
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    V, s = Vt[:k].T, s[:k]
    np.testing.assert_allclose(projected_item_cosine(X, A, B), cosine_similarity(V * np.clip(s - lam, 0, None)),
                               atol=1e-10)


def test_projected_item_cosine_zero_column_gets_zero():
    X = _binary(n=20, p=6, seed=17)
    A, B = _factors(p=6, k=2, seed=18)
    B[2] = 0.0
    S = projected_item_cosine(X, A, B)
    assert np.all(S[2] == 0) and np.all(S[:, 2] == 0)
    assert np.all(np.isfinite(S))


def test_projected_item_cosine_validation():
    X = _binary()
    A, B = _factors()
    with pytest.raises(ValueError, match="G"):
        projected_item_cosine(X, A, B, G=np.eye(3))
    with pytest.raises(ValueError, match="A"):
        reconstruct(X, A[:5], B)


def test_projected_user_cosine_is_the_cosine_of_the_rows_of_X_hat_for_every_D():
    """The paper's project-back (§3): rows of X̂ = XÂB̂ᵀ, computed explicitly, invariant to D."""
    X = _binary(n=40, p=12, seed=23)
    A, B = fit_objective1(X, 4, 3.0)
    explicit = cosine_similarity(X @ A @ B.T)
    np.testing.assert_allclose(projected_user_cosine(X, A, B), explicit, atol=1e-12)
    users = np.array([3, 0, 17])
    np.testing.assert_allclose(projected_user_cosine(sp.csr_matrix(X), A, B, users), explicit[np.ix_(users, users)],
                               atol=1e-12)
    A2, B2 = rescale(A, B, np.array([0.1, 1.0, 10.0, 100.0]))
    assert not np.allclose(cosine_similarity(X @ A2), cosine_similarity(X @ A))  # user embeddings moved ...
    np.testing.assert_allclose(projected_user_cosine(X, A2, B2), explicit, atol=1e-10)  # ... X̂ rows did not


def test_projected_user_cosine_is_user_cosine_at_D_of_panel_a():
    """For the closed form, rows of X̂ = U_k dMat(σ_i w_i) V_kᵀ have the cosines of XÂD with D = dMat(w)^{1/2}."""
    X = _binary(n=50, p=10, seed=24)
    k, lam = 4, 2.0
    A, B = fit_objective1(X, k, lam)
    s = np.linalg.svd(X, compute_uv=False)
    w = s[:k] ** 2 / (s[:k] ** 2 + lam)
    A_D, _ = rescale(A, B, np.sqrt(w))
    np.testing.assert_allclose(projected_user_cosine(X, A, B), cosine_similarity(X @ A_D), atol=1e-10)


def test_projected_user_cosine_validation():
    X = _binary(n=10, p=5, seed=25)
    A, B = _factors(p=5, k=2)
    with pytest.raises(TypeError, match="users"):
        projected_user_cosine(X, A, B, users=[0.5])
    with pytest.raises(ValueError, match="users"):
        projected_user_cosine(X, A, B, users=[10])


# ---------------------------------------------------------------- remedy 3


def test_standardize_unit_norm_columns():
    X = _binary(n=30, p=7, seed=19)
    X[:, 3] = 0.0
    X_before = X.copy()
    Z = standardize_items(X, "unit_norm")
    norms = np.linalg.norm(Z, axis=0)
    np.testing.assert_allclose(np.delete(norms, 3), 1.0, atol=1e-12)
    assert np.all(Z[:, 3] == 0)
    for j in (0, 1, 6):  # each column is the original column over its norm
        np.testing.assert_allclose(Z[:, j], X[:, j] / np.sqrt(X[:, j].sum()), atol=1e-12)
    np.testing.assert_array_equal(X, X_before)
    Zs = standardize_items(sp.csr_matrix(X), "unit_norm")
    assert sp.issparse(Zs)
    np.testing.assert_allclose(Zs.toarray(), Z, atol=1e-12)


def test_standardize_zscore_columns():
    X = _binary(n=30, p=7, seed=20)
    X[:, 2] = 1.0  # constant column
    Xs = sp.csr_matrix(X)
    Z = standardize_items(Xs, method="zscore")
    assert isinstance(Z, np.ndarray)
    keep = [0, 1, 3, 4, 5, 6]
    np.testing.assert_allclose(Z[:, keep].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z[:, keep].std(axis=0), 1.0, atol=1e-12)
    assert np.all(Z[:, 2] == 0)
    expected = (X[:, keep] - X[:, keep].mean(0)) / X[:, keep].std(0)
    np.testing.assert_allclose(Z[:, keep], expected, atol=1e-12)
    np.testing.assert_array_equal(Xs.toarray(), X)  # input untouched


def test_standardize_has_no_default_method():
    """The paper's standardisation (z-score) and unit-norm columns differ; the caller must say which."""
    with pytest.raises(TypeError):
        standardize_items(np.eye(3))
    X = _binary(n=30, p=5, seed=22)
    Z, U = standardize_items(X, "zscore"), standardize_items(X, "unit_norm")
    assert np.allclose(Z.mean(axis=0), 0.0) and not np.allclose(U.mean(axis=0), 0.0)


def test_standardize_validation():
    with pytest.raises(ValueError, match="method"):
        standardize_items(np.eye(3), method="l1")
    with pytest.raises(TypeError, match="method"):
        standardize_items(np.eye(3), method=1)


def test_matched_lambda_makes_uniform_scaling_irrelevant():
    X = _binary(n=40, p=10, seed=21)
    t = 3.7
    lam1, lam2 = 5.0, 1.5
    l1 = matched_lambda(lam1, X, t * X, 1)
    l2 = matched_lambda(lam2, X, t * X, 2)
    assert l1 == pytest.approx(lam1 * t**2) and l2 == pytest.approx(lam2 * t)
    A, B = fit_objective1(X, 4, lam1)
    At, Bt = fit_objective1(t * X, 4, l1)
    np.testing.assert_allclose(At, A, atol=1e-10)  # same shrinkage, same V
    A, B = fit_objective2(X, 4, lam2)
    At, Bt = fit_objective2(t * X, 4, l2)
    np.testing.assert_allclose(cosine_similarity(Bt), cosine_similarity(B), atol=1e-10)
    np.testing.assert_allclose(At @ Bt.T, A @ B.T, atol=1e-10)


def test_matched_lambda_validation():
    with pytest.raises(ValueError, match="objective"):
        matched_lambda(1.0, np.eye(2), np.eye(2), 3)
    with pytest.raises(ValueError, match="X_to"):
        matched_lambda(1.0, np.eye(2), np.zeros((2, 2)), 1)
    with pytest.raises(ValueError, match="lam"):
        matched_lambda(-1.0, np.eye(2), np.eye(2), 1)


# ---------------------------------------------------------------- table


def test_remedy_similarities_match_direct_computations():
    X, _, _ = simulate_clustered(n_users=300, n_items=60, n_clusters=3, seed=1)
    K, LAM1 = 6, 40.0
    svd = top_singular(X, K)
    remedies = remedy_similarities(X, K, LAM1, svd=svd)
    dense = X.toarray()
    A, B = fit_objective1(X, K, LAM1, svd=svd)
    np.testing.assert_allclose(remedies["cosine"], cosine_similarity(B), atol=1e-12)
    np.testing.assert_allclose(remedies["dot product"], A @ B.T, atol=1e-12)
    X_hat = dense @ A @ B.T
    np.testing.assert_allclose(remedies["project back"], cosine_similarity(X_hat.T), atol=1e-10)
    # standardised data, built densely
    sd = dense.std(axis=0)
    Z = (dense - dense.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    lam_z = LAM1 * np.sum(Z**2) / np.sum(dense**2)
    AZ, BZ = fit_objective1(Z, K, lam_z)
    np.testing.assert_allclose(remedies["standardised: cosine"], cosine_similarity(BZ), atol=1e-8)
    np.testing.assert_allclose(remedies["standardised: project back"], cosine_similarity((Z @ AZ @ BZ.T).T),
                               atol=1e-8)
    assert list(remedies) == ["cosine", "dot product", "project back", "standardised: cosine",
                              "standardised: project back"]


def test_train_cosine_model_refuses_zero_factors_instead_of_claiming_convergence():
    X = _binary()
    A, B = _factors()
    with pytest.raises(ValueError, match="init\\[1\\] \\(B\\) has a zero row"):
        train_cosine_model(X, 3, init=(np.zeros_like(A), np.zeros_like(B)))
    B0 = B.copy()
    B0[4] = 0.0
    with pytest.raises(ValueError, match="zero row"):
        train_cosine_model(X, 3, init=(A, B0))
    with pytest.raises(ValueError, match="init\\[0\\] \\(A\\) gives a zero embedding"):
        train_cosine_model(X, 3, init=(np.zeros_like(A), B))
    with pytest.raises(ValueError, match="gtol must be finite"):
        train_cosine_model(X, 3, gtol=float("nan"))
    with pytest.raises(TypeError, match="max_iter must be an integer"):
        train_cosine_model(X, 3, max_iter=5.0)


def test_escape_to_dot_product_refuses_an_eps_whose_scale_overflows():
    A, B = _factors()
    with pytest.raises(ValueError, match="eps must be >= about 1e-154"):
        escape_to_dot_product(A, B, 1e-300)  # 1/eps² = inf: a division by zero downstream
    _, _, scale = escape_to_dot_product(A, B, 1e-150)
    assert np.isfinite(scale)
