"""Exact (sympy) derivations behind chapters 4 and 5 of the book.

The paper's two objectives (Eq. 1 and Eq. 2, §2.1) are solved in closed form
for any ``X`` (§2.2 and §2.3); here we do the cases small enough for a
computer-algebra system to do *exactly*, so that the chapters can display
every step and the tests can check it:

* :func:`objective1_scalar` and :func:`objective2_scalar`: the one-dimensional
  case (``X = [σ]``, ``k = 1``, scalar embeddings ``a, b``) of Eq. 1 and
  Eq. 2, minimised step by step (book chapters 4 and 5);
* :func:`rescaling_scalar`: the D-freedom ``(a, b) -> (ad, b/d)`` leaves
  Eq. 1 unchanged but not Eq. 2, whose optimum pins ``d = ±1`` (chapter 5);
* :func:`stationarity`: the gradient of Eq. 1 or Eq. 2, obtained by sympy's
  own differentiation of the loss, vanishes *identically* at the general
  closed form for a 2-item ``X`` with a non-diagonal ``V`` (chapters 4, 5).

Each function returns a :class:`Derivation`: a title, a list of
``(explanation, sympy object)`` steps and a dict of results. In a notebook
it renders as Markdown with LaTeX maths; the results are ordinary sympy
expressions in the module's symbols :data:`sigma`, :data:`lam`, :data:`d`
and :data:`t`, e.g. ``float(res.result["m"].subs({sigma: 2, lam: 1}))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from ._validation import check_int, check_objective

#: The singular value ``σ > 0`` of the one-dimensional data "matrix" ``X = [σ]``.
sigma = sympy.Symbol("sigma", positive=True)
#: The regularisation strength ``λ > 0``.
lam = sympy.Symbol("lambda", positive=True)
#: A diagonal rescaling of a scalar embedding (``D = [d]``), ``d != 0``.
d = sympy.Symbol("d", nonzero=True, real=True)

# Scalar embeddings and the auxiliary variables of the derivations.
_a, _b = sympy.symbols("a b", real=True)
_m, _y = sympy.symbols("m y", real=True)
_P, _Q = sympy.symbols("P Q", real=True)
#: The size ``t = |PQ| > 0`` of a negative product ``PQ = −t`` (objective 2, step 3).
t = sympy.Symbol("t", positive=True)
_d_pos = sympy.Symbol("d", positive=True)

# An exact, non-diagonal rotation (the Pythagorean triple 3-4-5) for the
# right singular vectors of the 2-item X in :func:`stationarity`.
_V2 = sympy.Matrix([[3, -4], [4, 3]]) / 5


@dataclass(frozen=True)
class Derivation:
    """A derivation: explanations paired with sympy objects, plus results.

    Attributes
    ----------
    title : str
        What is derived (shown as a bold heading).
    steps : tuple of (str, sympy object)
        Each step is an explanation (Markdown, may contain ``$...$``) and the
        equation, expression or matrix it establishes.
    result : dict of str -> sympy object
        The named outcomes (e.g. ``"m"``, the optimal product ``ab``).

    Notes
    -----
    Jupyter and the book display a Derivation through
    :meth:`_repr_markdown_`: a numbered list of steps, each followed by its
    maths as a display equation.
    """

    title: str
    steps: tuple = ()
    result: dict = field(default_factory=dict)

    def latex_steps(self) -> list[str]:
        """LaTeX of each step's sympy object, in order."""
        # order="old" prints polynomials as a reader writes them: (σ − abσ)² + λa²b².
        return [sympy.latex(obj, order="old") for _, obj in self.steps]

    def _repr_markdown_(self) -> str:
        lines = [f"**{self.title}**", ""]
        for i, ((text, _), tex) in enumerate(zip(self.steps, self.latex_steps()), start=1):
            lines += [f"{i}. {text}", "", f"   $$ {tex} $$", ""]
        return "\n".join(lines)

    def __repr__(self) -> str:
        names = ", ".join(self.result)
        return f"Derivation({self.title!r}: {len(self.steps)} steps; results: {names})"


class _Tex(sympy.Symbol):
    """A display label: its name is printed verbatim as LaTeX.

    (A plain Symbol would have ``_`` and ``^`` in its name reinterpreted, so
    that ``\\ell_2(ad, b/d)`` came out with everything after ``_`` as a subscript.)
    """

    def _latex(self, printer):
        return self.name


def _eq(lhs, rhs):
    """An unevaluated equation ``lhs = rhs`` for display."""
    return sympy.Eq(lhs, rhs, evaluate=False)


def _ell(index, *args):
    """Display symbol ``ℓ_index(args)``."""
    return sympy.Function(rf"\ell_{index}")(*args)


def _scalar_losses():
    """The 1 x 1 versions of paper Eq. 1 and Eq. 2 (``X = [σ]``, ``A = [a]``, ``B = [b]``)."""
    loss1 = (sigma - sigma * _a * _b) ** 2 + lam * (_a * _b) ** 2
    loss2 = (sigma - sigma * _a * _b) ** 2 + lam * ((sigma * _a) ** 2 + _b**2)
    return loss1, loss2


def objective1_scalar() -> Derivation:
    """Minimise objective 1 (paper Eq. 1, §2.1; solved in §2.2) for ``X = [σ]``, ``k = 1``.

    ``ℓ₁(a, b) = (σ − σab)² + λ(ab)²`` depends on ``(a, b)`` only through
    ``m = ab``; it is a convex quadratic in ``m`` with minimiser
    ``m* = σ²/(σ² + λ) = 1/(1 + λ/σ²)`` (book chapter 4). Every ``(a, b)``
    with ``ab = m*`` is optimal: a whole hyperbola of optima (the D-freedom
    of §2.1).

    Returns
    -------
    Derivation
        ``result`` holds ``"loss"`` (ℓ₁ in ``a, b``), ``"loss_m"`` (in
        ``m``), ``"m"`` (``m*``), ``"curvature"`` (``d²ℓ₁/dm²``),
        ``"min_loss"`` and ``"a"`` (= ``b``, the symmetric optimum of paper
        Eq. 5, ``√m*``).
    """
    loss1, _ = _scalar_losses()
    # The same loss written in m = ab only (checked by expanding the difference).
    loss_m = (sigma - sigma * _m) ** 2 + lam * _m**2
    if sympy.expand(loss1.subs(_b, _m / _a) - loss_m) != 0:  # pragma: no cover - algebra check
        raise AssertionError("objective 1 does not reduce to a function of m = ab")
    grad = sympy.diff(loss_m, _m)
    (m_star,) = sympy.solve(sympy.Eq(grad, 0), _m)
    curvature = sympy.diff(loss_m, _m, 2)
    min_loss = sympy.factor(sympy.simplify(loss_m.subs(_m, m_star)))
    a_sym = sympy.sqrt(m_star)
    steps = (
        (("Objective 1 for a $1\\times 1$ data matrix $X = [\\sigma]$ and scalar embeddings "
         "$A = [a]$, $B = [b]$:"), _eq(_ell(1, _a, _b), loss1)),
        (("Substituting $b = m/a$ makes $a$ disappear: the loss depends on $(a, b)$ only "
         "through the product $m = ab$."), _eq(_ell(1, _a, _m / _a), loss_m)),
        ("Setting the derivative with respect to $m$ to zero:", _eq(grad, 0)),
        ("The unique stationary point:", _eq(_Tex("m^{*}"), m_star)),
        (("It is the global minimum, because the loss is a quadratic in $m$ with positive "
         "curvature:"), _eq(sympy.Derivative(_ell(1, _m), (_m, 2)), curvature)),
        (("The optimum shrinks the fit $\\sigma$ by the factor $1/(1+\\lambda/\\sigma^2)$; the "
         "minimal loss is"), _eq(_Tex(r"\ell_1^{*}"), min_loss)),
        ("Every pair with $ab = m^*$ is optimal; the symmetric one (paper Eq. 5) is",
         _eq(_Tex("a"), _eq(_Tex("b"), a_sym))),
    )
    return Derivation(
        "Objective 1 (paper Eq. 1) with k = 1",
        steps,
        {"loss": loss1, "loss_m": loss_m, "m": m_star, "curvature": curvature,
         "min_loss": min_loss, "a": a_sym},
    )


def objective2_scalar() -> Derivation:
    """Minimise objective 2 (paper Eq. 2, §2.1; solved in §2.3) for ``X = [σ]``, ``k = 1``.

    ``ℓ₂(a, b) = (σ − σab)² + λ((σa)² + b²)``. With ``P = σa`` (the user
    embedding) and ``Q = b`` (the item embedding):

    1. Replacing ``(P, Q)`` by ``(|P|, |Q|)`` keeps the penalty and never
       increases the residual, because ``σ > 0``: for ``PQ = −t < 0`` the
       residual drops by ``(σ + t)² − (σ − t)² = 4σt >= 0``, whatever ``λ``.
       So it suffices to minimise over ``P, Q >= 0``, i.e. ``y = PQ >= 0``.
       (Comparing ``g(−|y|)`` with ``g(|y|)`` instead would not do:
       ``g(−|y|) − g(|y|) = 4|y|(σ − λ)`` is negative for ``σ < λ``.)
    2. ``λ(P² + Q²) = 2λPQ + λ(P − Q)²`` (AM-GM with its remainder), so
       ``ℓ₂ >= g(y) = (σ − y)² + 2λy`` with equality iff ``P = Q``.
    3. Minimising the convex ``g`` over ``y >= 0`` gives the soft threshold
       ``y* = (σ − λ)_+ = ρ`` (the case ``σ <= λ`` gives 0), hence
       ``σa = b = √ρ`` up to a common sign (book chapter 5).

    Returns
    -------
    Derivation
        ``result`` holds ``"loss"`` (ℓ₂ in ``a, b``), ``"y"`` (optimal
        ``PQ = σab``, a Piecewise), ``"P"`` (= ``"b"`` = ``√y*``), ``"a"``,
        ``"b"``, ``"m"`` (optimal ``ab = (1 − λ/σ)_+``), ``"min_loss"``
        (a Piecewise: ``2λσ − λ²`` if ``σ > λ``, else ``σ²``),
        ``"sign_gain"`` (the residual drop ``(σ + t)² − (σ − t)²`` from
        flipping a negative product ``PQ = −t``, expanded: ``4σt``) and
        ``"g_sign_gap"`` (``g(−t) − g(t) = 4t(σ − λ)``, the comparison that
        does *not* justify step 1), both in the positive symbol :data:`t`.
    """
    _, loss2 = _scalar_losses()
    loss_pq = (sigma - _P * _Q) ** 2 + lam * (_P**2 + _Q**2)
    if sympy.expand(loss2.subs(_a, _P / sigma).subs(_b, _Q) - loss_pq) != 0:  # pragma: no cover
        raise AssertionError("objective 2 does not reduce to the P, Q form")
    remainder = loss_pq - ((sigma - _P * _Q) ** 2 + 2 * lam * _P * _Q)
    remainder = sympy.factor(remainder)
    # Step 3: flipping a negative product PQ = −t to +t lowers the residual by 4σt >= 0.
    sign_drop = (sigma + t) ** 2 - (sigma - t) ** 2
    sign_gain = sympy.expand(sign_drop)
    g = (sigma - _y) ** 2 + 2 * lam * _y
    g_sign_gap = sympy.factor(sympy.expand(g.subs(_y, -t) - g.subs(_y, t)))
    grad = sympy.diff(g, _y)
    (y_root,) = sympy.solve(sympy.Eq(grad, 0), _y)
    y_star = sympy.Piecewise((y_root, sigma > lam), (0, True))
    p_star = sympy.sqrt(y_star)
    a_star = sympy.Piecewise((sympy.sqrt(y_root) / sigma, sigma > lam), (0, True))
    b_star = sympy.Piecewise((sympy.sqrt(y_root), sigma > lam), (0, True))
    m_star = sympy.Piecewise((sympy.simplify(y_root / sigma), sigma > lam), (0, True))
    min_loss = sympy.Piecewise((sympy.expand(g.subs(_y, y_root)), sigma > lam), (sigma**2, True))
    steps = (
        ("Objective 2 for $X = [\\sigma]$ and scalar embeddings $a, b$:", _eq(_ell(2, _a, _b), loss2)),
        (("With the user embedding $P = \\sigma a$ and the item embedding $Q = b$ it is the usual "
         "matrix-factorisation loss:"), _eq(_Tex(r"\ell_2"), loss_pq)),
        (("Replacing $(P, Q)$ by $(|P|, |Q|)$ keeps the penalty and never increases the residual: "
         "if $PQ = -t < 0$, the residual drops from $(\\sigma + t)^2$ to $(\\sigma - t)^2$, by "
         "$4\\sigma t \\ge 0$ for every $\\lambda$. So we may take $P, Q \\ge 0$, hence $PQ \\ge 0$. "
         "(Comparing $g(-t)$ with $g(t)$ for the $g$ of the next steps would not do: "
         "$g(-t) - g(t) = 4t(\\sigma - \\lambda)$ is negative when $\\sigma < \\lambda$.)"),
         _eq(sign_drop, sign_gain)),
        (("Its penalty exceeds $2\\lambda PQ$ by a square (AM-GM with the remainder written out), "
         "so $\\ell_2 \\ge g(PQ)$ with equality if and only if $P = Q$:"),
         _eq(loss_pq - ((sigma - _P * _Q) ** 2 + 2 * lam * _P * _Q), remainder)),
        (("Here $g(y) = (\\sigma - y)^2 + 2\\lambda y$, to be minimised over $y \\ge 0$ "
         "(step 3). Stationarity:"), _eq(grad, 0)),
        (("$g$ is convex ($g'' = 2$). If $\\sigma > \\lambda$ the stationary point "
         "$y = \\sigma - \\lambda$ is feasible; if $\\sigma \\le \\lambda$, $g' \\ge 0$ on "
         "$y \\ge 0$ and the minimum is at $y = 0$. Together: the soft threshold"),
         _eq(_Tex("y^{*}"), y_star)),
        (("Equality in steps 3 and 4 needs $|P| = |Q|$ and $PQ \\ge 0$, i.e. $P = Q$ (up to a "
          "common sign, the $1\\times1$ rotation):"),
         _eq(_Tex(r"\sigma a"), _eq(_Tex("b"), p_star))),
        ("So the optimal product $ab$ shrinks by $(1 - \\lambda/\\sigma)_+$ and the minimal loss is",
         _eq(_Tex(r"\ell_2^{*}"), min_loss)),
    )
    return Derivation(
        "Objective 2 (paper Eq. 2) with k = 1",
        steps,
        {"loss": loss2, "y": y_star, "P": p_star, "a": a_star, "b": b_star, "m": m_star,
         "min_loss": min_loss, "sign_gain": sign_gain, "g_sign_gap": g_sign_gap},
    )


def rescaling_scalar() -> Derivation:
    """The rescaling ``(a, b) -> (ad, b/d)`` (paper §2.1) in both objectives, ``k = 1``.

    Objective 1 (paper Eq. 1) is unchanged for every ``d != 0`` (book
    chapter 4). Objective 2 (paper Eq. 2) changes by
    ``λ(σ²a²(d² − 1) + b²(1/d² − 1))``; at its optimum
    ``σa = b = √ρ``, ``ρ = σ − λ > 0``, this is ``λρ(d − 1/d)²``,
    zero only for ``d = ±1`` (book chapter 5).

    Returns
    -------
    Derivation
        ``result`` holds ``"change1"`` (identically 0), ``"change2"``,
        ``"change2_at_optimum"``, ``"stationary_d"`` (the positive
        stationary points of the latter: ``[1]``) and ``"curvature_at_1"``.
    """
    loss1, loss2 = _scalar_losses()
    rescaled = {_a: _a * d, _b: _b / d}
    change1 = sympy.simplify(loss1.xreplace(rescaled) - loss1)
    # The change of objective 2, written the way the docstring states it; the
    # check below makes sure it is the actual difference.
    change2 = lam * (sigma**2 * _a**2 * (d**2 - 1) + _b**2 * (1 / d**2 - 1))
    if sympy.simplify(loss2.xreplace(rescaled) - loss2 - change2) != 0:  # pragma: no cover
        raise AssertionError("objective-2 change is not λ(σ²a²(d² − 1) + b²(1/d² − 1))")
    root_rho = sympy.sqrt(sigma - lam)  # σa = b = √ρ at the optimum (σ > λ)
    at_opt = change2.xreplace({_a: root_rho / sigma, _b: root_rho})
    at_opt_pos = at_opt.xreplace({d: _d_pos})
    stationary = sympy.solve(sympy.diff(at_opt_pos, _d_pos), _d_pos)
    curvature = sympy.simplify(sympy.diff(at_opt_pos, _d_pos, 2).subs(_d_pos, 1))
    target = lam * (sigma - lam) * (d - 1 / d) ** 2
    if sympy.simplify(at_opt - target) != 0:  # pragma: no cover - algebra check
        raise AssertionError("objective-2 change at the optimum is not λ(σ − λ)(d − 1/d)²")
    diff1 = _Tex(r"\ell_1(ad, b/d) - \ell_1(a, b)")
    diff2 = _Tex(r"\ell_2(ad, b/d) - \ell_2(a, b)")
    steps = (
        (("Objective 1 after rescaling $(a, b) \\to (ad, b/d)$, minus before: zero for every "
         "$d \\ne 0$, because $(ad)(b/d) = ab$."), _eq(diff1, change1)),
        ("Objective 2: the data term is unchanged, the penalty is not.",
         _eq(diff2, change2)),
        (("At the optimum of objective 2, $\\sigma a = b = \\sqrt{\\sigma - \\lambda}$ (for "
         "$\\sigma > \\lambda$), the change is a square:"),
         _eq(diff2, target)),
        ("Over $d > 0$ its only stationary point is", _eq(_Tex("d"), stationary[0])),
        (("where it has positive curvature, so $d = 1$ (and, by the sign symmetry, $d = -1$) is the "
         "only rescaling that keeps the optimum optimal:"),
         _eq(_Tex(r"\partial_d^2 \left[\ell_2(ad, b/d) - \ell_2(a, b)\right]_{d=1}"), curvature)),
    )
    return Derivation(
        "Rescaling a scalar embedding by d (paper Eq. 1 vs Eq. 2)",
        steps,
        {"change1": change1, "change2": change2, "change2_at_optimum": target,
         "stationary_d": stationary, "curvature_at_1": curvature},
    )


def _check_objective_and_k(objective, k):
    check_objective(objective)
    check_int(k, "k")
    if k not in (1, 2):
        raise ValueError(f"k must be 1 or 2 (the 2-item example), got {k}")


def _parametrisation(objective):
    """Symbols, σ² and the closed-form diagonals of Â, B̂ for the 2-item X.

    Objective 1: ``r_i = √w_i = √(σ_i²/(σ_i²+λ))`` in (0, 1), so
    ``σ_i² = λr_i²/(1 − r_i²)`` and ``Â = B̂ = V dMat(r)``. Objective 2:
    ``σ_i = λ + ε_i²`` (``σ_i > λ``, so ``ρ_i = ε_i²``), hence
    ``Â = V dMat(ε_i/σ_i)``, ``B̂ = V dMat(ε_i)``. Both are bijections of
    the admissible σ's onto positive parameters and keep everything rational.
    """
    if objective == 1:
        params = sympy.symbols("r_1 r_2", positive=True)
        s2 = [lam * r**2 / (1 - r**2) for r in params]
        return params, s2, list(params), list(params)
    params = sympy.symbols("epsilon_1 epsilon_2", positive=True)
    s = [lam + e**2 for e in params]
    return params, [si**2 for si in s], [e / si for e, si in zip(params, s)], list(params)


def _gradient(objective, k, s2, a_diag, b_diag):
    """Exact gradient of objective 1 or 2 at ``A = V_k dMat(a)``, ``B = V_k dMat(b)``.

    ``X = U dMat(σ) Vᵀ`` (any ``U`` with orthonormal columns) enters both
    losses only through ``XᵀX = V dMat(σ²) Vᵀ``:
    ``‖X − XABᵀ‖² = tr((I − ABᵀ)ᵀ XᵀX (I − ABᵀ))`` and
    ``‖XA‖² = tr(Aᵀ XᵀX A)``. Sympy differentiates the loss written with
    symbolic entries of ``A`` and ``B``; no hand-derived gradient is used.
    """
    p = 2
    gram = _V2 * sympy.diag(*s2) * _V2.T
    A = sympy.Matrix(p, k, lambda i, j: sympy.Symbol(f"a_{i}{j}"))
    B = sympy.Matrix(p, k, lambda i, j: sympy.Symbol(f"b_{i}{j}"))
    M = A * B.T
    R = sympy.eye(p) - M
    loss = (R.T * gram * R).trace()
    if objective == 1:
        loss += lam * (M.T * M).trace()
    else:
        loss += lam * ((A.T * gram * A).trace() + (B.T * B).trace())
    A_hat = _V2[:, :k] * sympy.diag(*a_diag[:k])
    B_hat = _V2[:, :k] * sympy.diag(*b_diag[:k])
    at = {**dict(zip(A, A_hat)), **dict(zip(B, B_hat))}

    def simplify(expr):
        return sympy.factor(sympy.together(expr.xreplace(at)))

    dA = sympy.Matrix(p, k, lambda i, j: simplify(sympy.diff(loss, A[i, j])))
    dB = sympy.Matrix(p, k, lambda i, j: simplify(sympy.diff(loss, B[i, j])))
    return A_hat, B_hat, dA, dB


def stationarity(objective: int, k: int) -> Derivation:
    """Gradient of paper Eq. 1 or Eq. 2 at its closed form (§2.2, §2.3), exactly (2 items).

    ``X = U dMat(σ₁, σ₂) Vᵀ`` with symbolic ``σ₁, σ₂, λ > 0``, the
    non-diagonal rotation ``V = [[3, −4], [4, 3]]/5`` and any ``U`` with
    orthonormal columns (the losses see ``X`` only through ``XᵀX``). At

    * objective 1 (book chapter 4): ``Â = B̂ = V_k dMat(1/(1+λ/σ_i²))^{1/2}``,
    * objective 2 (book chapter 5): ``Â = V_k dMat(√((1/σ_i)(1 − λ/σ_i)))``,
      ``B̂ = V_k dMat(√(σ_i(1 − λ/σ_i)))``, for ``σ_i > λ``,

    sympy differentiates the loss and the gradient simplifies to the zero
    matrix for all admissible ``σ₁, σ₂, λ``. To keep the algebra rational
    (and fast) the σ's are parametrised: ``r_i = √w_i = √(σ_i²/(σ_i²+λ))``
    for objective 1, ``σ_i = λ + ε_i²`` (i.e. ``ρ_i = ε_i²``) for objective 2;
    both are bijections.
    Stationarity is necessary, not sufficient, for optimality; the proofs
    in chapters 4 and 5 show these stationary points are the minima.

    Parameters
    ----------
    objective : {1, 2}
    k : {1, 2}
        Embedding dimension (``k = 1`` truncates to the top direction).

    Returns
    -------
    Derivation
        ``result`` holds ``"A"``, ``"B"`` (the closed form), ``"grad_A"``,
        ``"grad_B"`` (both the zero matrix) and ``"sigma_squared"`` (σ_i² in
        the parameters).
    """
    _check_objective_and_k(objective, k)
    params, s2, a_diag, b_diag = _parametrisation(objective)
    A_hat, B_hat, dA, dB = _gradient(objective, k, s2, a_diag, b_diag)
    sig2 = sympy.Matrix(s2)
    names = ", ".join(sympy.latex(p_) for p_ in params)
    if objective == 1:
        param_text = (f"Parametrise by the roots ${names}$ of the shrinkage factors, "
                      "$r_i^2 = w_i = \\sigma_i^2/(\\sigma_i^2+\\lambda)$, so that")
    else:
        param_text = (f"Parametrise by ${names} > 0$ with $\\sigma_i = \\lambda + \\epsilon_i^2$ "
                      "(i.e. $\\sigma_i > \\lambda$ and $\\rho_i = \\epsilon_i^2$), so that")
    steps = (
        ("Two items, $X = U\\,\\mathrm{dMat}(\\sigma_1, \\sigma_2)\\,V^\\top$ with the rotation",
         _eq(_Tex("V"), _V2)),
        (param_text, _eq(sympy.Matrix([sympy.Symbol("sigma_1") ** 2, sympy.Symbol("sigma_2") ** 2]),
                         sig2)),
        (f"The closed form of objective {objective} with $k = {k}$:", _eq(_Tex(r"\hat{A}"), A_hat)),
        ("and", _eq(_Tex(r"\hat{B}"), B_hat)),
        (("Sympy differentiates the loss with respect to every entry of $A$ and substitutes the "
         "closed form:"), _eq(_Tex(r"\partial L / \partial A"), dA)),
        ("and with respect to every entry of $B$:", _eq(_Tex(r"\partial L / \partial B"), dB)),
    )
    return Derivation(
        f"Objective {objective} (paper Eq. {objective}): the gradient vanishes at the closed form, k = {k}",
        steps,
        {"A": A_hat, "B": B_hat, "grad_A": dA, "grad_B": dB, "sigma_squared": sig2},
    )
