import numpy as np
import pytest
import scipy.sparse as sp

from cosim_helpers.spectral import gram, top_singular


def assert_matches_numpy_svd(X, k):
    s, V = top_singular(X, k)
    Xd = X.toarray() if sp.issparse(X) else X
    _, s_ref, Vt = np.linalg.svd(Xd, full_matrices=False)
    np.testing.assert_allclose(s, s_ref[:k], rtol=1e-10, atol=1e-10 * s_ref[0])
    # Singular vectors agree up to sign: compare projectors V Vᵀ.
    np.testing.assert_allclose(V @ V.T, Vt[:k].T @ Vt[:k], atol=1e-9)
    np.testing.assert_allclose(V.T @ V, np.eye(k), atol=1e-10)


@pytest.mark.parametrize("shape,k", [((40, 10), 4), ((40, 10), 10), ((10, 40), 6), ((25, 25), 25)])
def test_top_singular_matches_numpy_dense(shape, k):
    X = np.random.default_rng(0).standard_normal(shape)
    assert_matches_numpy_svd(X, k)


def test_top_singular_sparse_equals_dense():
    X = sp.random(200, 30, density=0.2, random_state=1, format="csr")
    assert_matches_numpy_svd(X, 8)
    np.testing.assert_allclose(gram(X), X.toarray().T @ X.toarray(), atol=1e-12)


def test_gram_dense_block_path_equals_sparse_product():
    # Density above the threshold takes the blocked dense path; very sparse
    # input takes the sparse product. Both must give the exact Gram matrix.
    dense_ish = sp.random(9000, 20, density=0.3, random_state=2, format="csr")
    very_sparse = sp.random(9000, 20, density=0.001, random_state=3, format="csr")
    for X in (dense_ish, very_sparse):
        Xd = X.toarray()
        np.testing.assert_allclose(gram(X), Xd.T @ Xd, atol=1e-10)


def test_signs_are_deterministic():
    X = np.random.default_rng(5).standard_normal((30, 6))
    _, V = top_singular(X, 6)
    idx = np.argmax(np.abs(V), axis=0)
    assert np.all(V[idx, np.arange(6)] > 0)
    _, V2 = top_singular(-X, 6)  # same V up to sign, so the fixed sign makes them equal
    np.testing.assert_allclose(V, V2, atol=1e-12)


def test_rank_deficient_wide_matrix_gives_zero_singular_values():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 12))  # rank 2, p > n
    s, V = top_singular(X, 4)
    assert s[0] > 0 and s[1] > 0
    # Round-off eigenvalues of XXᵀ (~1e-14 σ₁²) must not become spurious σ ≈ 1e-7 σ₁.
    np.testing.assert_array_equal(s[2:], 0.0)
    np.testing.assert_array_equal(V[:, 2:], 0.0)
    np.testing.assert_allclose(V[:, :2].T @ V[:, :2], np.eye(2), atol=1e-12)


def test_gram_of_integer_data_is_exact():
    # 0/1 and small-count data take a float32 path that must still be exact.
    rng = np.random.default_rng(7)
    counts = sp.csr_matrix(rng.poisson(0.3, size=(20_000, 30)).astype(float))
    binary = sp.csr_matrix((rng.random((20_000, 30)) < 0.2).astype(float))
    for X in (counts, binary):
        Xd = X.toarray()
        np.testing.assert_array_equal(gram(X), Xd.T @ Xd)
    # non-integer data keeps float64 accuracy
    real = sp.csr_matrix(binary.multiply(rng.random((20_000, 30))))
    np.testing.assert_allclose(gram(real), real.toarray().T @ real.toarray(), rtol=1e-13)


def planted(shape, k, seed, density=None):
    """X with known, well-separated top singular values (plus small noise)."""
    rng = np.random.default_rng(seed)
    n, p = shape
    U = np.linalg.qr(rng.standard_normal((n, k)))[0]
    V = np.linalg.qr(rng.standard_normal((p, k)))[0]
    s = np.geomspace(100.0, 5.0, k)
    X = (U * s) @ V.T + 0.01 * rng.standard_normal(shape)
    if density is not None:  # sparse data with an unknown spectrum
        X = sp.random(n, p, density=density, random_state=seed, format="csr")
    return X


@pytest.mark.parametrize("shape", [(600, 200), (150, 400)], ids=["tall", "wide"])
def test_lanczos_matches_the_dense_solver(shape):
    # The truncated solver of chapter 10 against the exact (dense Gram) path.
    k = 12
    X = planted(shape, 2 * k, seed=8)
    s_d, V_d = top_singular(X, k)
    s_l, V_l = top_singular(X, k, solver="lanczos")
    np.testing.assert_allclose(s_l, s_d, rtol=0, atol=1e-11 * s_d[0])
    # well-separated singular values: the vectors themselves agree (same sign rule)
    np.testing.assert_allclose(V_l, V_d, atol=1e-9)


def test_lanczos_on_sparse_counts_matches_numpy():
    X = sp.random(2000, 300, density=0.02, random_state=9, format="csr")
    assert_matches_numpy_svd(X, 5)                      # the dense reference path
    s_l, V_l = top_singular(X, 20, solver="lanczos")
    _, s_ref, Vt = np.linalg.svd(X.toarray(), full_matrices=False)
    np.testing.assert_allclose(s_l, s_ref[:20], rtol=0, atol=1e-11 * s_ref[0])
    # compare projectors (random sparse data may have close singular values)
    np.testing.assert_allclose(V_l @ V_l.T, Vt[:20].T @ Vt[:20], atol=1e-7)


def test_lanczos_is_deterministic_and_falls_back_for_large_k():
    X = planted((300, 80), 10, seed=10)
    a, b = top_singular(X, 6, solver="lanczos"), top_singular(X, 6, solver="lanczos")
    np.testing.assert_array_equal(a.s, b.s)
    np.testing.assert_array_equal(a.V, b.V)
    # k >= min(n, p)/2: no saving, the dense path is used (bit-identical)
    dense, fallback = top_singular(X, 40), top_singular(X, 40, solver="lanczos")
    np.testing.assert_array_equal(dense.s, fallback.s)
    np.testing.assert_array_equal(dense.V, fallback.V)


def test_solver_is_checked():
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match="solver"):
        top_singular(X, 1, solver="arpack")
    with pytest.raises(TypeError, match="solver"):
        top_singular(X, 1, solver=None)


@pytest.mark.parametrize("t", [1e-170, 1e160, 2.0**-600])
def test_top_singular_is_scale_free(t):
    X = np.random.default_rng(5).standard_normal((15, 6))
    s, V = top_singular(X, 3)
    st, Vt = top_singular(X * t, 3)
    np.testing.assert_allclose(st, s * t, rtol=1e-12)
    np.testing.assert_allclose(Vt, V, atol=1e-12)
    st_sparse, _ = top_singular(sp.csr_matrix(X * t), 3)
    np.testing.assert_allclose(st_sparse, s * t, rtol=1e-12)


def test_gram_names_X_when_it_overflows():
    with pytest.raises(ValueError, match="X is too large"):
        gram(np.full((4, 2), 1e160))


def test_gram_splits_light_and_heavy_rows_exactly():
    # Rows with few non-zeros go through a sparse product, heavy rows through
    # dense BLAS blocks; the sum must be the exact Gram matrix (integer counts).
    rng = np.random.default_rng(8)
    p = 200
    activity = np.minimum((rng.pareto(0.5, 3000) + 1).astype(int), p)  # power law: mostly light rows
    rows = np.repeat(np.arange(3000), activity)
    cols = np.concatenate([rng.choice(p, a, replace=False) for a in activity])
    X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(3000, p))
    assert (activity < p / 10).mean() > 0.5 and (activity >= p / 10).sum() > 50
    Xd = X.toarray()
    np.testing.assert_array_equal(gram(X), Xd.T @ Xd)
    real = X.multiply(rng.random((3000, p))).tocsr()
    np.testing.assert_allclose(gram(real), real.toarray().T @ real.toarray(), rtol=1e-13)
