"""The D explorer (book chapters 4 and 7): rescale an objective-1 optimum, watch the cosines move.

``D = dMat(σ_i^α)`` times optional per-dimension factors, applied to the
symmetric objective-1 optimum ``Â = B̂ = V_k dMat(w)^{1/2}`` (paper Eq. 5) as
``(ÂD, B̂D⁻¹)``; the explorer shows the objective-1 loss (paper Eq. 1), a
few predicted scores, the item-item cosine heat map and its cluster
recovery, with objective 2 (paper Eq. 2) for comparison. Every number comes
from :mod:`cosim_helpers.models`, :mod:`cosim_helpers.similarity` and
:mod:`cosim_helpers.metrics`; this module only arranges and draws them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter

from .._validation import (
    as_data_matrix,
    as_vector,
    check_bool,
    check_in_range,
    check_int,
    check_labels,
    check_nonnegative,
    check_range,
    check_rank,
)
from ..experiments import PAPER_K, PAPER_LAM1, PAPER_LAM2
from ..images import block_average
from ..metrics import ClusterScorer
from ..models import GramObjective, fit_objective1, fit_objective2, rescale
from ..similarity import cosine_similarity
from ..spectral import Spectrum, gram
from . import base


class DState(NamedTuple):
    """One state of :class:`DExplorer`.

    Attributes
    ----------
    mode : str
        ``"objective 1"`` (the rescaled optimum) or ``"objective 2"``.
    alpha : float
        Exponent of ``D = dMat(σ_i^α)``.
    log_scales : numpy.ndarray, shape (k,)
        Extra per-dimension factors ``log10 t_i``; ``D_i = σ_i^α · 10^{t_i}``.
    D : numpy.ndarray of shape (k,), or None (objective 2)
    loss : float
        Objective 1 (paper Eq. 1) at ``(ÂD, B̂D⁻¹)``, evaluated exactly from
        ``XᵀX``; for ``mode == "objective 2"``, objective 2 (Eq. 2) at its optimum.
    scores : numpy.ndarray, shape (m,)
        Predicted scores ``⟨(XA)_u, b_i⟩`` for the explorer's ``pairs``.
    recovery : float
        :func:`~cosim_helpers.metrics.cluster_recovery` of ``S``.
    S : numpy.ndarray, shape (p, p)
        Item-item cosine of the item embeddings, items in ``explorer.order``.
    image : numpy.ndarray
        ``S`` block-averaged to the heat-map size.
    """

    mode: str
    alpha: float
    log_scales: np.ndarray
    D: np.ndarray | None
    loss: float
    scores: np.ndarray
    recovery: float
    S: np.ndarray
    image: np.ndarray


class DExplorer(base.Explorer):
    """Rescale an objective-1 optimum by a diagonal D: same loss, different cosines.

    Book chapters 4 and 7; paper §2.1 (the D-freedom) and §4 (Figure 1). The explorer starts from the
    symmetric optimum of objective 1 (paper Eq. 1 and Eq. 5),
    ``Â = B̂ = V_k dMat(1/(1+λ/σ_i²))^{1/2}``, and shows the optimum
    ``(ÂD, B̂D⁻¹)`` (:func:`~cosim_helpers.models.rescale`) for
    ``D_i = σ_i^α · 10^{t_i}``: a one-parameter family (``α``, chapter 7's
    ``dMat(σ_i^α)``) times optional per-dimension factors ``t_i``. For each D
    it evaluates the objective-1 loss at the current factors (exactly, from
    ``XᵀX`` via :class:`~cosim_helpers.models.GramObjective`, reusing
    ``G(ÂD) = (GÂ)D``), the predicted scores of a few user-item pairs, the item-item cosine matrix ``cosSim(B̂D⁻¹, B̂D⁻¹)`` and its
    cluster recovery. The first two never change; the last two do.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    clusters : array_like of int, shape (p,)
        Item clusters (for the recovery score and the heat-map order).
    popularity : array_like of float, shape (p,), optional
        Item popularity; items are shown sorted by cluster, then by
        descending popularity (:func:`~cosim_helpers.data.item_order`).
    k, lam, lam2 : int, float, float
        Embedding dimension and the ``λ`` of objectives 1 and 2 (paper: 50,
        10,000 and 100).
    svd : Spectrum, optional
        Precomputed ``top_singular(X, k')``, ``k' >= k``; its top k singular
        values must be > 0.
    alpha_range : (float, float)
        Range of the ``α`` control; must contain 0.
    log_scale_range : (float, float)
        Range of each ``t_i`` (``log10`` of a factor); must contain 0.
    max_dim_sliders : int
        The widget has one slider per dimension when ``k <= max_dim_sliders``.
    pairs : sequence of (int, int), optional
        (user, item) pairs whose predicted scores are shown; default: the
        three most active users, each with one item from a different part of
        the sorted item order.
    alphas : array_like of float, optional
        Grid of ``α`` for the loss and recovery curves (default: 9 values
        spanning ``alpha_range``).
    image_size : int
        Side of the widget's heat map (block average of the p x p matrix).
    continuous_update : bool
        Whether the widget recomputes while a slider is dragged (True) or
        only when it is released (False; for slow or shared machines).

    Examples
    --------
    >>> ex = DExplorer(X, clusters, popularity)          # doctest: +SKIP
    >>> s0, s1 = ex.set_alpha(0.0), ex.set_alpha(1.0)     # doctest: +SKIP
    >>> s0.loss == s1.loss, s0.recovery == s1.recovery    # doctest: +SKIP
    (True, False)
    """

    #: Accessible description of the static twin (alt text) and its slider (issue 13).
    TWIN_ALT = "Item-item cosine heat map of B D⁻¹ (items sorted by cluster), the diagonal of D and the cluster-recovery curve, for the α chosen with the slider; the loss printed below every frame is the same"
    TWIN_SLIDER = "α, the exponent of D = dMat(σᵢ^α)"

    def __init__(self, X, clusters, popularity=None, *, k: int = PAPER_K, lam: float = PAPER_LAM1,
                 lam2: float = PAPER_LAM2, svd: Spectrum | None = None, alpha_range=(-2.0, 2.0),
                 log_scale_range=(-2.0, 2.0), max_dim_sliders: int = 8, pairs=None, alphas=None,
                 image_size: int = base.WIDGET_IMAGE_SIZE, continuous_update: bool = True):
        super().__init__()
        X = as_data_matrix(X)
        p = X.shape[1]
        self.k = check_rank(k, X.shape)
        self.lam = check_nonnegative(lam)
        self.lam2 = check_nonnegative(lam2, "lam2")
        clusters = check_labels(clusters, p)
        self.order = base.display_order(clusters, popularity)
        self.labels = clusters[self.order]
        self._recovery = ClusterScorer(self.labels)
        self.alpha_range = check_range(alpha_range, "alpha_range")
        self.log_scale_range = check_range(log_scale_range, "log_scale_range")
        for name, (low, high) in (("alpha_range", self.alpha_range), ("log_scale_range", self.log_scale_range)):
            if not low <= 0 <= high:
                raise ValueError(f"{name} must contain 0 (the default D = I), got {(low, high)}")
        self.max_dim_sliders = check_int(max_dim_sliders, "max_dim_sliders")
        self._image_size = base.check_image_size(image_size)
        self.continuous_update = check_bool(continuous_update, "continuous_update")
        svd = base.positive_spectrum(X, self.k, svd)
        self.s = svd.s

        pos = np.empty(p, dtype=np.intp)
        pos[self.order] = np.arange(p)
        self.pairs = self._check_pairs(X, pairs)
        users = np.array([u for u, _ in self.pairs], dtype=np.intp)
        self._item_pos = pos[np.array([i for _, i in self.pairs], dtype=np.intp)]
        X_users = X[users]
        X_users = X_users.toarray() if hasattr(X_users, "toarray") else np.asarray(X_users)
        self._X_users = X_users[:, self.order]

        A, B = fit_objective1(X, self.k, self.lam, svd=svd)
        self._A0, self._B0 = A[self.order], B[self.order]
        G = gram(X)[np.ix_(self.order, self.order)]
        self._loss1 = GramObjective(G, self.lam, 1)
        # G(ÂD) = (GÂ)D: one p x p x k product now instead of one per control change.
        self._GA0 = G @ self._A0

        A2, B2 = fit_objective2(X, self.k, self.lam2, svd=svd)
        A2, B2 = A2[self.order], B2[self.order]
        S2 = cosine_similarity(B2)
        self.objective2 = DState(
            "objective 2", float("nan"), np.zeros(self.k), None,
            GramObjective(G, self.lam2, 2).loss(A2, B2), self._scores(A2, B2),
            self._recovery(S2), S2, block_average(S2, self._image_size))

        if alphas is None:
            alphas = np.linspace(self.alpha_range[0], self.alpha_range[1], 9)
        self.alphas = np.sort(as_vector(alphas, "alphas", min_size=2))
        zero = np.zeros(self.k)
        curve = [self.compute(a, zero) for a in self.alphas]
        self.curve_loss = np.array([c.loss for c in curve])
        self.curve_recovery = np.array([c.recovery for c in curve])
        self._default = self.compute(0.0, zero)
        self._current = self._default
        self._show_objective2 = False

    def _check_pairs(self, X, pairs):
        n, p = X.shape
        if pairs is None:
            activity = np.asarray((X != 0).sum(axis=1)).ravel()
            users = np.argsort(-activity, kind="stable")[:3]
            items = self.order[(np.arange(len(users)) * 2 + 1) * p // (2 * len(users))]
            return tuple((int(u), int(i)) for u, i in zip(users, items))
        try:
            raw = [tuple(pair) for pair in pairs]
        except TypeError as exc:
            raise TypeError("pairs must be a sequence of (user, item) integer pairs") from exc
        if any(len(pair) != 2 for pair in raw):
            raise TypeError("pairs must be a sequence of (user, item) integer pairs")
        # Integers only: a float index would be truncated silently.
        pairs = tuple((check_int(u, "pairs: a user index"), check_int(i, "pairs: an item index")) for u, i in raw)
        if not pairs:
            raise ValueError("pairs must not be empty")
        for u, i in pairs:
            if not (0 <= u < n and 0 <= i < p):
                raise ValueError(f"pair ({u}, {i}) is out of range for X of shape {X.shape}")
        return pairs

    # --- pure computation -----------------------------------------------------------------
    def _scores(self, A, B):
        return np.einsum("ij,ij->i", self._X_users @ A, B[self._item_pos])

    def factors(self, D):
        """``(ÂD, B̂D⁻¹)`` with items in ``self.order`` (rows permuted like ``S``)."""
        return rescale(self._A0, self._B0, D)

    def compute(self, alpha, log_scales=None) -> DState:
        """The objective-1 state for ``D = dMat(σ_i^α · 10^{t_i})``; changes nothing.

        Parameters
        ----------
        alpha : float
            In ``alpha_range``.
        log_scales : array_like of shape (k,), optional
            ``t_i`` in ``log_scale_range``; default all 0.

        Returns
        -------
        DState
        """
        alpha = check_in_range(alpha, self.alpha_range, "alpha")
        log_scales = self._check_log_scales(log_scales)
        D = self.s**alpha * 10.0**log_scales
        A, B = self.factors(D)
        S = cosine_similarity(B)
        return DState("objective 1", alpha, log_scales, D, self._loss1.loss(A, B, GA=self._GA0 * D),
                      self._scores(A, B), self._recovery(S), S, block_average(S, self._image_size))

    def _check_log_scales(self, log_scales):
        if log_scales is None:
            return np.zeros(self.k)
        t = as_vector(log_scales, "log_scales", self.k).copy()
        low, high = self.log_scale_range
        if np.any(t < low - 1e-12) or np.any(t > high + 1e-12):
            raise ValueError(f"every log_scales entry must lie in [{low:g}, {high:g}]")
        return t

    # --- state changes (what the controls call) ------------------------------------------------
    @property
    def state(self) -> DState:
        """What is shown now: the objective-2 state if it is toggled on, else the current D."""
        return self.objective2 if self._show_objective2 else self._current

    def _default_state(self):
        return self._default

    def _set(self, state):
        self._current, self._show_objective2 = state, False
        return state

    def set_alpha(self, alpha) -> DState:
        """Change ``α`` (keeping the per-dimension factors); return the new state."""
        return self._set(self.compute(alpha, self._current.log_scales))

    def set_log_scale(self, i, value) -> DState:
        """Change one per-dimension factor ``t_i`` (``log10``); return the new state."""
        i = check_int(i, "i")
        if not 0 <= i < self.k:
            raise ValueError(f"i must satisfy 0 <= i < k = {self.k}, got {i}")
        t = self._current.log_scales.copy()
        t[i] = check_in_range(value, self.log_scale_range, "value")
        return self._set(self.compute(self._current.alpha, t))

    def set_log_scales(self, log_scales) -> DState:
        """Set all per-dimension factors ``t`` at once; return the new state."""
        return self._set(self.compute(self._current.alpha, log_scales))

    def reset(self) -> DState:
        """Back to ``D = I`` (the symmetric optimum) and the objective-1 view."""
        return self._set(self._default)

    def show_objective2(self, on: bool = True) -> DState:
        """Toggle the objective-2 view (its unique optimum, paper Eq. 2); return what is shown."""
        self._show_objective2 = check_bool(on, "on")
        return self.state

    # --- text ---------------------------------------------------------------------------------
    def describe(self, state: DState | None = None) -> str:
        """One-line summary of a state (the figure's caption): loss to 12 digits, recovery."""
        state = self.state if state is None else state
        if state.mode == "objective 2":
            return (f"objective 2 (unique, \u03bb = {self.lam2:g}): loss {state.loss:.{base.LOSS_DIGITS}g}, "
                    f"cluster recovery {state.recovery:.4f}")
        extra = "" if not np.any(state.log_scales) else " \u00d7 per-dimension factors"
        return (f"\u03b1 = {state.alpha:+.2f}{extra}:  objective-1 loss = {state.loss:.{base.LOSS_DIGITS}g},  "
                f"cluster recovery = {state.recovery:.4f}")

    def _info_html(self, state):
        rows = "".join(
            f"<tr><td>user {u}, item {i}</td><td style='font-family:monospace'>"
            f"{score:.{base.SCORE_DIGITS}g}</td></tr>" for (u, i), score in zip(self.pairs, state.scores))
        if state.mode == "objective 2":
            head = (f"<b>objective 2</b> (\u03bb = {self.lam2:g}, unique optimum): objective-2 loss "
                    f"<code>{state.loss:.{base.LOSS_DIGITS}g}</code>")
        else:
            head = (f"<b>objective-1 loss</b> \u2016X \u2212 XAB\u1d40\u2016\u00b2 + \u03bb\u2016AB\u1d40\u2016\u00b2 "
                    f"at (\u00c2D, B\u0302D\u207b\u00b9): <code>{state.loss:.{base.LOSS_DIGITS}g}</code> "
                    f"(unchanged by D)")
        return (f"{head}<br><b>cluster recovery</b> of the item-item cosine: <code>{state.recovery:.4f}</code>"
                f"<br><b>predicted scores</b> \u27e8(XA)<sub>u</sub>, b<sub>i</sub>\u27e9:"
                f"<table>{rows}</table>")

    # --- figure -------------------------------------------------------------------------------
    def _log_d_limits(self):
        logs = np.log10(self.s)
        corners = np.concatenate([a * logs for a in self.alpha_range])
        low = corners.min() + self.log_scale_range[0]
        high = corners.max() + self.log_scale_range[1]
        pad = 0.05 * (high - low)
        return low - pad, high + pad

    def _make_figure(self, dpi, size, live=False):
        # Two rows of two panels (issue 21): 7.2 in wide, shown at its own size on a desktop
        # page and at half of it on a phone; one row of four was 11 in and ~4-px text there.
        w, h = base.FIGURE_SIZE
        fig = Figure(figsize=(w, h), dpi=dpi)
        ax_heat, im = base.heatmap_axes(fig, *base.heatmap_rects(0.10, 0.50, 0.34 * h / w, 0.34), size)
        title = ax_heat.set_title("item-item cosine")
        ax_d = fig.add_axes([0.64, 0.50, 0.33, 0.34])
        dims = np.arange(1, self.k + 1)
        (d_line,) = ax_d.plot(dims, np.zeros(self.k), "o-", ms=3, color="C0")
        ax_d.set_xlim(0.5, self.k + 0.5)
        ax_d.set_ylim(*self._log_d_limits())
        ax_d.axhline(0.0, color="0.6", lw=0.8)
        ax_d.set_xlabel("dimension i (by decreasing \u03c3\u1d62)")
        ax_d.set_ylabel("log\u2081\u2080 d\u1d62")
        ax_d.set_title("the rescaling D = dMat(d\u1d62)")

        ax_loss = fig.add_axes([0.17, 0.08, 0.30, 0.27])
        ax_rec = fig.add_axes([0.64, 0.08, 0.33, 0.27])
        ref = self._default.loss
        ax_loss.plot(self.alphas, self.curve_loss, "-", color="C2", lw=2)
        ax_loss.set_ylim(ref * (1 - 1e-3), ref * (1 + 1e-3))
        ax_loss.set_yticks([ref * (1 - 5e-4), ref, ref * (1 + 5e-4)])
        ax_loss.yaxis.set_major_formatter(FormatStrFormatter("%.6g"))
        ax_loss.set_title("objective-1 loss vs \u03b1 (flat)")
        ax_loss.set_xlabel("\u03b1")
        ax_rec.plot(self.alphas, self.curve_recovery, "-", color="C3", lw=2,
                    label=r"objective 1, $D=\mathrm{dMat}(\sigma_i^\alpha)$")
        ax_rec.axhline(self.objective2.recovery, color="0.3", ls="--", lw=1, label="objective 2 (unique)")
        ax_rec.set_xlabel("\u03b1")
        ax_rec.set_ylabel("recovery")
        low = min(self.curve_recovery.min(), self.objective2.recovery, 0.5)
        ax_rec.set_ylim(low - 0.45 * (1.0 - low) - 0.03, 1.02)  # room for the legend below the curve
        ax_rec.legend(loc="lower left", fontsize=base.SMALL_FONT, frameon=False)
        pad = 0.04 * (self.alpha_range[1] - self.alpha_range[0])
        ax_rec.set_xlim(self.alpha_range[0] - pad, self.alpha_range[1] + pad)
        ax_loss.set_xlim(*ax_rec.get_xlim())
        (loss_dot,) = ax_loss.plot([0.0], [ref], "o", color="k", ms=6)
        (rec_dot,) = ax_rec.plot([0.0], [self._default.recovery], "o", color="k", ms=6)
        dynamic = [im, d_line, loss_dot, rec_dot]
        caption = None
        if not live:
            caption = base.caption_text(fig)
            dynamic += [title, caption]
        return fig, {"im": im, "title": title, "d_line": d_line, "loss_dot": loss_dot, "rec_dot": rec_dot,
                     "caption": caption, "dynamic": dynamic}

    def _draw_state(self, art, state):
        art["im"].set_data(base.image_data(state.image))
        obj1 = state.mode == "objective 1"
        if art["caption"] is not None:
            art["caption"].set_text(self.describe(state))
            art["title"].set_text("item-item cosine of B\u0302D\u207b\u00b9 (objective 1)" if obj1
                                  else "item-item cosine of B\u0302 (objective 2)")
        for key in ("d_line", "loss_dot", "rec_dot"):
            art[key].set_visible(obj1)
        if obj1:
            art["d_line"].set_ydata(np.log10(state.D))
            art["loss_dot"].set_data([state.alpha], [state.loss])
            art["rec_dot"].set_data([state.alpha], [state.recovery])

    # --- widget controls ----------------------------------------------------------------------
    def _build_controls(self, w):
        style = {"description_width": "initial"}
        self._alpha_slider = w.FloatSlider(
            value=self._current.alpha, min=self.alpha_range[0], max=self.alpha_range[1], step=0.05,
            description="\u03b1 in D = dMat(\u03c3\u1d62^\u03b1)", continuous_update=self.continuous_update,
            readout_format=".2f", style=style, layout=w.Layout(width="420px"))
        self._alpha_slider.observe(self._on_alpha, names="value")
        self._dim_sliders = []
        if self.k <= self.max_dim_sliders:
            for i in range(self.k):
                slider = w.FloatSlider(
                    value=float(self._current.log_scales[i]), min=self.log_scale_range[0],
                    max=self.log_scale_range[1], step=0.05, description=f"log\u2081\u2080 t{i + 1}",
                    continuous_update=self.continuous_update, readout_format=".2f", style=style,
                    layout=w.Layout(width="300px"))
                slider.observe(lambda change, i=i: self._on_dim(i, change), names="value")
                self._dim_sliders.append(slider)
        self._reset_button = w.Button(description="reset D", tooltip="back to D = I (the symmetric optimum)")
        self._reset_button.on_click(self._on_reset)
        self._obj2_button = w.ToggleButton(value=False, description="show objective 2",
                                           tooltip="the unique optimum of objective 2, for comparison")
        self._obj2_button.observe(self._on_obj2, names="value")
        rows = [w.HBox([self._alpha_slider, self._reset_button, self._obj2_button])]
        if self._dim_sliders:
            rows.append(w.HBox(self._dim_sliders[:4]))
            if len(self._dim_sliders) > 4:
                rows.append(w.HBox(self._dim_sliders[4:]))
        return rows

    def _sync_controls(self):
        """Put the controls in line with the state without re-triggering callbacks."""
        self._syncing = True
        try:
            self._alpha_slider.value = self._current.alpha
            for i, slider in enumerate(self._dim_sliders):
                slider.value = float(self._current.log_scales[i])
            self._obj2_button.value = self._show_objective2
        finally:
            self._syncing = False

    def _on_alpha(self, change):
        if not self._syncing:
            self.set_alpha(change["new"])
            self._sync_controls()
            self._refresh()

    def _on_dim(self, i, change):
        if not self._syncing:
            self.set_log_scale(i, change["new"])
            self._sync_controls()
            self._refresh()

    def _on_reset(self, _button=None):
        self.reset()
        self._sync_controls()
        self._refresh()

    def _on_obj2(self, change):
        if not self._syncing:
            self.show_objective2(bool(change["new"]))
            self._refresh()

    # --- static twin --------------------------------------------------------------------------
    def twin_states(self, alphas=None) -> tuple:
        """The states a static twin shows: ``D = dMat(σ_i^α)`` for each α (default: the curve grid)."""
        alphas = self.alphas if alphas is None else as_vector(alphas, "alphas")
        return tuple(self.compute(float(a)) for a in alphas)

    def static_twin(self, alphas=None, *, name: str = "d_explorer", fps: float = 2.0, dpi: int = base.TWIN_DPI,
                    image_size: int = base.TWIN_IMAGE_SIZE):
        """Self-contained HTML slider over precomputed D's, for the book's HTML pages.

        One frame per α (default: the explorer's grid of 9): heat map, D,
        and the loss printed to 12 significant digits, identical in every
        frame. It opens at the α nearest 0 (``D = I``, the default view). Deterministic for given data (:func:`~cosim_helpers.widgets.encoding.stable_jshtml_ids`).

        Returns
        -------
        IPython.display.HTML
        """
        states = self.twin_states(alphas)
        # Open at the α nearest the default view (D = I, α = 0), not at the grid's first α.
        start = int(np.argmin([abs(s.alpha - self._default.alpha) for s in states]))
        return self._static_twin(states, [s.S for s in states], name=name, fps=fps, dpi=dpi,
                                 image_size=image_size, start=start)
