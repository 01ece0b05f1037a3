import numpy as np
import pytest

from cosim_helpers.models import fit_objective1, fit_objective2, loss_objective1, loss_objective2
from cosim_helpers.reproduction import (
    REPRODUCTION_EPOCHS,
    learned_rescalings,
    objective2_with_sigma_squared,
    train_like_reproduction,
)
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.spectral import top_singular
from cosim_helpers.training import loss_and_gradient

from .conftest import random_data


def test_reproduction_training_is_200_adam_epochs_and_stops_short():
    X = random_data(0, n=200, p=12) * np.linspace(3, 1, 12)
    lam, k = 2_000.0, 3
    run = train_like_reproduction(X, k, lam)
    assert run.steps == REPRODUCTION_EPOCHS == 200 and len(run.losses) == 201
    L_min = loss_objective1(X, *fit_objective1(X, k, lam), lam)
    assert run.losses[-1] == pytest.approx(loss_objective1(X, run.A, run.B, lam), rel=1e-9)
    assert run.losses[-1] > L_min * (1 + 1e-3)  # not at the optimum
    again = train_like_reproduction(X, k, lam)
    np.testing.assert_array_equal(run.B, again.B)


def test_learned_rescalings_use_the_singular_values_of_B():
    rng = np.random.default_rng(1)
    B = rng.standard_normal((20, 4)) * np.array([3.0, 2.0, 1.0, 0.5])
    s = np.linalg.svd(B, compute_uv=False)
    d = learned_rescalings(B, 4.0)
    assert list(d) == ["B = V_k", "B = V_k dMat(σ²)", "B = V_k dMat((1+λ/σ²)^½)", "B = V_k dMat(σ(1−λ/σ²)₊^½)"]
    np.testing.assert_allclose(d["B = V_k dMat(σ²)"], s**2)
    np.testing.assert_allclose(d["B = V_k dMat((1+λ/σ²)^½)"] ** 2, 1 + 4.0 / s**2)
    np.testing.assert_allclose(d["B = V_k dMat(σ(1−λ/σ²)₊^½)"] ** 2, s * np.clip(1 - 4.0 / s**2, 0, None), atol=1e-9)


def test_fourth_rescaling_collapses_when_B_is_small():
    # sigma_max(B) << sqrt(lam): the clamp is 0 everywhere, d = 1e-5 for every column, and the panel
    # equals the "B = V_k" panel to round-off.
    B = 0.05 * np.random.default_rng(2).standard_normal((30, 5))
    d = learned_rescalings(B, 100.0)["B = V_k dMat(σ(1−λ/σ²)₊^½)"]
    np.testing.assert_allclose(d, 1e-5)
    assert np.abs(cosine_similarity(B * d) - cosine_similarity(B)).max() < 1e-14


def test_sigma_squared_objective2_is_not_stationary_but_the_closed_form_is():
    X = random_data(3, n=80, p=8) * np.linspace(4, 1, 8)
    k, lam = 4, 6.0
    svd = top_singular(X, k)
    A, B = fit_objective2(X, k, lam, svd=svd)
    Aw, Bw = objective2_with_sigma_squared(svd, lam)
    _, gA, gB = loss_and_gradient(X, A, B, lam, 2)
    _, gAw, gBw = loss_and_gradient(X, Aw, Bw, lam, 2)
    assert max(np.abs(gA).max(), np.abs(gB).max()) < 1e-8
    assert max(np.abs(gAw).max(), np.abs(gBw).max()) > 1e-2
    assert loss_objective2(X, Aw, Bw, lam) > loss_objective2(X, A, B, lam)
    with pytest.raises(TypeError, match="Spectrum"):
        objective2_with_sigma_squared((svd.s, svd.V), lam)
