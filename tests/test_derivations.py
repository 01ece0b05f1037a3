"""The sympy derivations of chapters 4 and 5 against independent numerics.

Every symbolic optimum is checked against the numeric closed forms of
:mod:`cosim_helpers.models` and against a brute-force optimiser
(scipy.optimize) that knows nothing about the derivation; the symbolic
gradient is checked against the package's hand-derived gradient.
"""

import numpy as np
import pytest
import scipy.optimize
import sympy

from cosim_helpers import derivations as dv
from cosim_helpers.models import (
    fit_objective1,
    fit_objective2,
    loss_objective1,
    loss_objective2,
    rescale,
    shrinkage_objective1,
    shrinkage_objective2,
)
from cosim_helpers.training import loss_and_gradient

# (σ, λ) pairs: σ above λ, σ below λ, σ equal to λ, large and small scales.
CASES = [(3.0, 2.0), (1.0, 4.0), (2.5, 2.5), (40.0, 100.0), (0.3, 0.05)]

_a, _b = sympy.symbols("a b", real=True)


def _num(expr, s, lam):
    return float(expr.subs({dv.sigma: s, dv.lam: lam}))


def _scalar_loss(expr, s, lam):
    """The symbolic loss as a numeric function of (a, b)."""
    f = sympy.lambdify((_a, _b), expr.subs({dv.sigma: s, dv.lam: lam}), "numpy")
    return lambda theta: float(f(theta[0], theta[1]))


def _brute_force(fun, seed=0, starts=8):
    """Best of several BFGS runs from random starts: independent of any formula."""
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(starts):
        res = scipy.optimize.minimize(fun, rng.normal(scale=1.5, size=2), method="BFGS",
                                      options={"gtol": 1e-11})
        if best is None or res.fun < best.fun:
            best = res
    return best


@pytest.fixture(scope="module")
def obj1():
    return dv.objective1_scalar()


@pytest.fixture(scope="module")
def obj2():
    return dv.objective2_scalar()


@pytest.fixture(scope="module")
def resc():
    return dv.rescaling_scalar()


@pytest.mark.parametrize("s,lam", CASES)
def test_objective1_scalar_optimum_matches_the_numeric_closed_form(obj1, s, lam):
    A, B = fit_objective1(np.array([[s]]), 1, lam)
    assert _num(obj1.result["m"], s, lam) == pytest.approx(A[0, 0] * B[0, 0], rel=1e-12)
    assert _num(obj1.result["a"], s, lam) == pytest.approx(abs(A[0, 0]), rel=1e-12)
    assert _num(obj1.result["m"], s, lam) == pytest.approx(shrinkage_objective1(s, lam), rel=1e-12)
    # The minimal loss is the package's loss at the package's optimum.
    assert _num(obj1.result["min_loss"], s, lam) == pytest.approx(
        loss_objective1(np.array([[s]]), A, B, lam), rel=1e-12)


@pytest.mark.parametrize("s,lam", CASES)
def test_objective1_scalar_optimum_matches_brute_force(obj1, s, lam):
    best = _brute_force(_scalar_loss(obj1.result["loss"], s, lam))
    assert best.fun == pytest.approx(_num(obj1.result["min_loss"], s, lam), rel=1e-8, abs=1e-12)
    assert best.x[0] * best.x[1] == pytest.approx(_num(obj1.result["m"], s, lam), rel=1e-5)


def test_objective1_scalar_loss_depends_only_on_the_product(obj1):
    loss = _scalar_loss(obj1.result["loss"], 2.0, 3.0)
    rng = np.random.default_rng(0)
    for a, b, scale in rng.normal(size=(5, 3)):
        assert loss((a * scale, b / scale)) == pytest.approx(loss((a, b)), rel=1e-12)
        m = sympy.Symbol("m", real=True)
        assert loss((a, b)) == pytest.approx(
            float(obj1.result["loss_m"].subs({dv.sigma: 2.0, dv.lam: 3.0, m: a * b})), rel=1e-12)
    assert sympy.simplify(obj1.result["curvature"] - 2 * (dv.sigma**2 + dv.lam)) == 0


@pytest.mark.parametrize("s,lam", CASES)
def test_objective2_scalar_optimum_matches_the_numeric_closed_form(obj2, s, lam):
    X = np.array([[s]])
    A, B = fit_objective2(X, 1, lam)
    expected = np.sqrt(max(s - lam, 0.0))
    assert _num(obj2.result["P"], s, lam) == pytest.approx(expected, abs=1e-12)
    assert s * abs(A[0, 0]) == pytest.approx(_num(obj2.result["P"], s, lam), abs=1e-12)
    assert abs(B[0, 0]) == pytest.approx(_num(obj2.result["b"], s, lam), abs=1e-12)
    assert abs(A[0, 0]) == pytest.approx(_num(obj2.result["a"], s, lam), abs=1e-12)
    assert _num(obj2.result["m"], s, lam) == pytest.approx(shrinkage_objective2(s, lam), abs=1e-12)
    assert _num(obj2.result["min_loss"], s, lam) == pytest.approx(loss_objective2(X, A, B, lam), rel=1e-12)


@pytest.mark.parametrize("s,lam", CASES)
def test_objective2_scalar_optimum_matches_brute_force(obj2, s, lam):
    best = _brute_force(_scalar_loss(obj2.result["loss"], s, lam))
    assert best.fun == pytest.approx(_num(obj2.result["min_loss"], s, lam), rel=1e-8)
    a, b = best.x
    # |σa| = |b| = √((σ − λ)_+): the soft threshold, found without the formula.
    assert abs(s * a) == pytest.approx(_num(obj2.result["P"], s, lam), abs=2e-4)
    assert abs(b) == pytest.approx(_num(obj2.result["P"], s, lam), abs=2e-4)


def test_objective2_soft_threshold_is_zero_below_lambda(obj2):
    assert obj2.result["y"].subs({dv.sigma: 1, dv.lam: 2}) == 0
    assert obj2.result["y"].subs({dv.sigma: 5, dv.lam: 2}) == 3
    assert obj2.result["min_loss"].subs({dv.sigma: 1, dv.lam: 2}) == 1


@pytest.mark.parametrize("s,lam", [(1.0, 4.0), (3.0, 2.0)])  # σ < λ and σ > λ
def test_objective2_scalar_sign_step_holds_below_and_above_lambda(obj2, s, lam):
    # Chapter 5, step 3 of the k = 1 derivation (issue 8, item 1): flipping the
    # sign of one factor of a negative product PQ = −uv never raises ℓ₂, for
    # σ < λ as well as σ > λ. Checked on the loss itself, not on the
    # derivation's own expression.
    u, v = sympy.symbols("u v", positive=True)
    P, Q = sympy.symbols("P Q", real=True)
    loss_pq = ((dv.sigma - P * Q) ** 2 + dv.lam * (P**2 + Q**2)).subs({dv.sigma: s, dv.lam: lam})
    gain = sympy.expand(loss_pq.subs({P: -u, Q: v}) - loss_pq.subs({P: u, Q: v}))
    assert sympy.simplify(gain - 4 * s * u * v) == 0 and gain.is_positive
    # The derivation states the same gain, 4σt with t = |PQ|, independent of λ.
    stated = obj2.result["sign_gain"]
    assert sympy.simplify(stated - 4 * dv.sigma * dv.t) == 0
    assert stated.subs({dv.sigma: s, dv.lam: lam}).is_positive
    # The old argument compared g(−t) with g(t); that difference is
    # 4t(σ − λ), negative below λ, so it cannot justify the step there.
    gap = obj2.result["g_sign_gap"].subs({dv.sigma: s, dv.lam: lam})
    assert gap.is_negative if s < lam else gap.is_positive
    assert not any("g(-|y|) > g(|y|)" in text for text, _ in obj2.steps)


def test_rescaling_leaves_objective1_unchanged_but_not_objective2(resc):
    assert resc.result["change1"] == 0
    X = np.array([[2.0]])
    rng = np.random.default_rng(1)
    for a, b, dd in rng.normal(size=(5, 3)):
        A, B = np.array([[a]]), np.array([[b]])
        A2, B2 = rescale(A, B, [dd])
        numeric = loss_objective2(X, A2, B2, 0.7) - loss_objective2(X, A, B, 0.7)
        symbolic = float(resc.result["change2"].subs({dv.sigma: 2.0, dv.lam: 0.7, _a: a, _b: b, dv.d: dd}))
        assert symbolic == pytest.approx(numeric, rel=1e-9, abs=1e-12)
        assert loss_objective1(X, A2, B2, 0.7) == pytest.approx(loss_objective1(X, A, B, 0.7), rel=1e-12)


def test_rescaling_the_objective2_optimum_costs_a_square_minimised_at_d_equals_1(resc):
    s, lam = 3.0, 1.2
    X = np.array([[s]])
    A, B = fit_objective2(X, 1, lam)
    base = loss_objective2(X, A, B, lam)
    for dd in (0.5, 0.9, 1.0, 1.7, -1.0, -2.0):
        numeric = loss_objective2(X, *rescale(A, B, [dd]), lam) - base
        formula = float(resc.result["change2_at_optimum"].subs({dv.sigma: s, dv.lam: lam, dv.d: dd}))
        assert formula == pytest.approx(numeric, abs=1e-12)
        assert (numeric > 1e-9) == (abs(dd) != 1.0)
    assert resc.result["stationary_d"] == [1]
    assert _num(resc.result["curvature_at_1"], s, lam) == pytest.approx(8 * lam * (s - lam))


def _numeric_instance(objective, values):
    """σ's of the 2-item example for numeric parameter values (r or ε), and X."""
    params, s2, _, _ = dv._parametrisation(objective)
    sub = dict(zip(params, values)) | {dv.lam: 0.8}
    s = np.sqrt([float(v.subs(sub)) for v in s2])
    V = np.array(dv._V2.tolist(), dtype=float)
    return sub, s, np.diag(s) @ V.T


@pytest.mark.parametrize("objective", [1, 2])
@pytest.mark.parametrize("k", [1, 2])
def test_stationarity_gradient_vanishes_at_the_closed_form(objective, k):
    res = dv.stationarity(objective, k)
    assert res.result["grad_A"] == sympy.zeros(2, k)
    assert res.result["grad_B"] == sympy.zeros(2, k)
    # The symbolic closed form is the package's closed form (up to column signs).
    sub, s, X = _numeric_instance(objective, (0.9, 0.6) if objective == 1 else (2.0, 1.1))
    assert s[0] > s[1]
    fit = fit_objective1 if objective == 1 else fit_objective2
    A, B = fit(X, k, 0.8)
    A_sym = np.array(res.result["A"].subs(sub).tolist(), dtype=float)
    B_sym = np.array(res.result["B"].subs(sub).tolist(), dtype=float)
    np.testing.assert_allclose(np.abs(A_sym), np.abs(A), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(A_sym @ B_sym.T, A @ B.T, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("objective", [1, 2])
def test_symbolic_gradient_agrees_with_the_hand_gradient_away_from_the_optimum(objective):
    # A wrong "closed form" (diagonals doubled): the symbolic gradient must be
    # non-zero and equal to training.loss_and_gradient, so a zero gradient at
    # the true closed form is evidence, not an artefact of the machinery.
    _params, s2, a_diag, b_diag = dv._parametrisation(objective)
    wrong_a = [2 * v for v in a_diag]
    A_s, B_s, dA, dB = dv._gradient(objective, 2, s2, wrong_a, b_diag)
    sub, _, X = _numeric_instance(objective, (0.7, 0.4) if objective == 1 else (1.5, 0.5))
    A = np.array(A_s.subs(sub).tolist(), dtype=float)
    B = np.array(B_s.subs(sub).tolist(), dtype=float)
    _, gA, gB = loss_and_gradient(X, A, B, 0.8, objective)
    dA_num = np.array(dA.subs(sub).tolist(), dtype=float)
    dB_num = np.array(dB.subs(sub).tolist(), dtype=float)
    assert np.abs(dA_num).max() > 1e-3
    np.testing.assert_allclose(dA_num, gA, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dB_num, gB, rtol=1e-9, atol=1e-12)


def test_stationarity_rejects_bad_arguments():
    with pytest.raises(ValueError, match="objective"):
        dv.stationarity(3, 1)
    with pytest.raises(ValueError, match="k"):
        dv.stationarity(1, 3)
    with pytest.raises(TypeError, match="objective"):
        dv.stationarity(1.0, 1)
    with pytest.raises(TypeError, match="k"):
        dv.stationarity(1, True)


def test_derivation_renders_every_step_as_markdown_maths(obj1, obj2):
    for res in (obj1, obj2):
        md = res._repr_markdown_()
        assert md.startswith(f"**{res.title}**")
        assert md.count("$$") == 2 * len(res.steps)
        for tex in res.latex_steps():
            assert tex in md
        assert "steps" in repr(res)
    assert sympy.latex(obj1.result["m"]) in obj1._repr_markdown_()


def test_derivations_use_the_books_notation():
    # Issue 8, item 14: ρ_i means (σ_i − λ)_+ throughout the book; the
    # objective-1 parametrisation uses r_i = √w_i instead.
    params, s2, a_diag, _ = dv._parametrisation(1)
    assert [p.name for p in params] == ["r_1", "r_2"]
    w = sympy.simplify(s2[0] / (s2[0] + dv.lam))  # w_1 = σ₁²/(σ₁² + λ)
    assert sympy.simplify(w - params[0] ** 2) == 0 and a_diag[0] == params[0]
    params2, s2_2, _, b_diag = dv._parametrisation(2)
    rho = sympy.sqrt(s2_2[0]) - dv.lam  # ρ₁ = σ₁ − λ > 0
    assert sympy.simplify(rho - params2[0] ** 2) == 0 and b_diag[0] ** 2 == params2[0] ** 2
    text = dv.stationarity(1, 1)._repr_markdown_()
    assert r"\rho" not in text and "r_{1}" in text
