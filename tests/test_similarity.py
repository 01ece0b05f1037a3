import numpy as np
import pytest

from cosim_helpers.similarity import cosine_similarity, dot_similarity, inverse_row_norms, normalize_rows


def brute_force_cosine(E, F):
    out = np.zeros((len(E), len(F)))
    for i, e in enumerate(E):
        for j, f in enumerate(F):
            ne, nf = np.linalg.norm(e), np.linalg.norm(f)
            out[i, j] = 0.0 if ne == 0 or nf == 0 else e @ f / (ne * nf)
    return out


def test_cosine_matches_definition_row_by_row():
    rng = np.random.default_rng(1)
    E, F = rng.standard_normal((7, 3)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(cosine_similarity(E, F), brute_force_cosine(E, F), atol=1e-14)
    np.testing.assert_allclose(cosine_similarity(E), brute_force_cosine(E, E), atol=1e-14)


def test_cosine_is_the_papers_omega_formula():
    # cosSim(E, E) = Ω_E E Eᵀ Ω_E with Ω_E = dMat(1/‖e_j‖)  (paper, Section 2)
    E = np.random.default_rng(2).standard_normal((6, 4))
    Omega = np.diag(1 / np.linalg.norm(E, axis=1))
    np.testing.assert_allclose(cosine_similarity(E), Omega @ E @ E.T @ Omega, atol=1e-14)


def test_zero_row_has_cosine_zero_and_no_nan():
    E = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    S = cosine_similarity(E)
    assert not np.isnan(S).any()
    assert np.all(S[1] == 0) and np.all(S[:, 1] == 0)
    assert S[0, 0] == pytest.approx(1.0)
    assert S[0, 2] == pytest.approx(1 / np.sqrt(2))


def test_cosine_is_scale_invariant_per_row_and_bounded():
    rng = np.random.default_rng(3)
    E = rng.standard_normal((9, 3))
    scales = rng.uniform(0.01, 100, size=9)
    S = cosine_similarity(E)
    np.testing.assert_allclose(cosine_similarity(E * scales[:, None]), S, atol=1e-13)
    assert S.max() <= 1.0 and S.min() >= -1.0
    np.testing.assert_allclose(np.diag(S), 1.0)


def test_dot_similarity_and_normalisers():
    rng = np.random.default_rng(4)
    E, F = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(dot_similarity(E, F), E @ F.T)
    np.testing.assert_allclose(dot_similarity(E), E @ E.T)
    np.testing.assert_allclose(np.linalg.norm(normalize_rows(E), axis=1), 1.0)
    np.testing.assert_allclose(inverse_row_norms(E), 1 / np.linalg.norm(E, axis=1))


def test_column_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="same number of columns"):
        cosine_similarity(np.ones((3, 2)), np.ones((3, 4)))


@pytest.mark.parametrize("scale", [1e155, 1e300, 1e-160, 1e-300])
def test_huge_and_tiny_norms_give_the_same_cosines(scale):
    # Squaring entries first would overflow (norm inf) or underflow (norm 0),
    # and the rows would get cosine 0; normalising first keeps them exact.
    E = np.random.default_rng(3).standard_normal((6, 4))
    expected = cosine_similarity(E)
    np.testing.assert_allclose(cosine_similarity(E * scale), expected, atol=1e-14)
    np.testing.assert_allclose(cosine_similarity(E * scale, E), expected, atol=1e-14)
    np.testing.assert_allclose(normalize_rows(E * scale), normalize_rows(E), atol=1e-15)
    assert np.all(np.diag(cosine_similarity(E * scale)) > 1 - 1e-14)


def test_inverse_row_norms_of_large_rows_is_not_zero():
    E = np.full((2, 3), 1e200)
    np.testing.assert_allclose(inverse_row_norms(E), 1 / (np.sqrt(3) * 1e200), rtol=1e-15)


def test_complex_E_is_rejected():
    with pytest.raises(TypeError, match="E must be real"):
        cosine_similarity(np.ones((2, 2)) * (1 + 1j))
    with pytest.raises(TypeError, match="F must be real"):
        cosine_similarity(np.ones((2, 2)), np.ones((2, 2)) * 1j)
