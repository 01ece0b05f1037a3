"""The λ explorer (book chapter 5): objective 2's soft threshold and its unique cosines as λ varies.

Every number comes from :func:`~cosim_helpers.models.fit_objective2`, the
shrinkage functions of :mod:`cosim_helpers.models` and
:func:`~cosim_helpers.metrics.cluster_recovery`; this module arranges and
draws them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from .._validation import (
    as_data_matrix,
    as_vector,
    check_bool,
    check_in_range,
    check_labels,
    check_nonnegative,
    check_range,
    check_rank,
)
from ..experiments import PAPER_K, PAPER_LAM2
from ..images import block_average
from ..metrics import ClusterScorer
from ..models import fit_objective2, shrinkage_objective1, shrinkage_objective2
from ..similarity import cosine_similarity
from ..spectral import Spectrum
from . import base


class LambdaState(NamedTuple):
    """One state of :class:`LambdaExplorer`.

    Attributes
    ----------
    lam : float
        ``λ`` of objective 2.
    lam1 : float
        The comparable ``λ₁ = λ²`` of objective 1 (paper: 100 ↔ 10,000).
    shrink2, shrink1 : numpy.ndarray, shape (k,)
        :func:`~cosim_helpers.models.shrinkage_objective2` at ``λ`` and
        :func:`~cosim_helpers.models.shrinkage_objective1` at ``λ₁``.
    n_kept : int
        Dimensions objective 2 keeps (``σ_i > λ``).
    recovery : float
        Cluster recovery of ``S``.
    S : numpy.ndarray, shape (p, p)
        The unique item-item cosine of objective 2, items in ``explorer.order``.
    image : numpy.ndarray
    """

    lam: float
    lam1: float
    shrink2: np.ndarray
    shrink1: np.ndarray
    n_kept: int
    recovery: float
    S: np.ndarray
    image: np.ndarray


class LambdaExplorer(base.Explorer):
    """Objective 2's soft threshold and its unique cosine matrix as λ varies (book chapter 5).

    Objective 2 (paper Eq. 2) has the optimum ``B̂ = V_k dMat(√(σ_i (1 − λ/σ_i)_+))``:
    the singular values are soft-thresholded, ``σ ↦ (σ − λ)_+``, and the
    item-item cosine ``cosSim(B̂, B̂)`` is unique. Objective 1 (paper Eq. 1)
    shrinks smoothly, by ``1/(1 + λ₁/σ²)``; the explorer pairs ``λ`` with
    ``λ₁ = λ²`` (the paper's 100 and 10,000): at ``σ = λ`` objective 1
    keeps half of the singular value while objective 2 keeps nothing; at
    ``σ = 2λ`` objective 2 keeps half and objective 1 keeps 4/5.

    Parameters
    ----------
    X, clusters, popularity, k, svd, image_size, continuous_update : as in :class:`DExplorer`
    lam : float, optional
        Initial ``λ``. Default: the paper's 100 (:data:`~cosim_helpers.experiments.PAPER_LAM2`)
        when it lies in ``lam_range``, else the geometric middle of
        ``lam_range`` (data whose ``σ_1`` is below 100 would otherwise have
        every dimension switched off, outside the control's range).
    lam_range : (float, float), optional
        Range of the log-scale control, ``0 < low < high``; default from
        ``σ_k / 10`` to ``σ_1`` (at ``λ >= σ_1`` every dimension is off).
    lams : array_like, optional
        Grid for the recovery curve and the twin (default: 8 log-spaced
        values over ``lam_range`` plus ``lam``).
    """

    #: Accessible description of the static twin (alt text) and its slider (issue 13).
    TWIN_ALT = "Item-item cosine heat map of objective 2's unique item embeddings, its shrinkage factors and the number of kept dimensions, for the λ chosen with the slider"
    TWIN_SLIDER = "λ, the regularisation strength of objective 2"

    def __init__(self, X, clusters, popularity=None, *, k: int = PAPER_K, lam: float | None = None, lam_range=None,
                 lams=None, svd: Spectrum | None = None, image_size: int = base.WIDGET_IMAGE_SIZE,
                 continuous_update: bool = True):
        super().__init__()
        self._X = X = as_data_matrix(X)
        p = X.shape[1]
        self.k = check_rank(k, X.shape)
        clusters = check_labels(clusters, p)
        self.order = base.display_order(clusters, popularity)
        self.labels = clusters[self.order]
        self._recovery = ClusterScorer(self.labels)
        self._image_size = base.check_image_size(image_size)
        self.continuous_update = check_bool(continuous_update, "continuous_update")
        self._svd = svd = base.positive_spectrum(X, self.k, svd)
        self.s = svd.s
        if lam_range is None:
            lam_range = (float(self.s[-1]) / 10.0, float(self.s[0]))
        self.lam_range = check_range(lam_range, "lam_range")
        if self.lam_range[0] <= 0:
            raise ValueError(f"lam_range must be positive (a log-scale control), got {lam_range!r}")
        if lam is None:
            low, high = self.lam_range
            lam = PAPER_LAM2 if low <= PAPER_LAM2 <= high else float(np.sqrt(low * high))
        self.lam0 = check_in_range(check_nonnegative(lam), self.lam_range, "lam")
        if lams is None:
            lams = np.append(np.geomspace(*self.lam_range, 8), self.lam0)
        lams = np.unique(as_vector(lams, "lams"))
        if lams.size < 2 or np.any(lams < self.lam_range[0] * (1 - 1e-12)) \
                or np.any(lams > self.lam_range[1] * (1 + 1e-12)):
            raise ValueError("lams must hold at least two values inside lam_range")
        self.lams = lams
        self._default = self.compute(self.lam0)
        self._current = self._default
        self.curve_recovery = np.array([self.compute(v).recovery for v in self.lams])
        self.curve_kept = np.array([int(np.sum(self.s > v)) for v in self.lams])

    def compute(self, lam) -> LambdaState:
        """The state at objective-2 ``λ`` (in ``lam_range``); changes nothing."""
        lam = check_in_range(lam, self.lam_range, "lam")
        _, B = fit_objective2(self._X, self.k, lam, svd=self._svd)
        S = cosine_similarity(B[self.order])
        shrink2 = shrinkage_objective2(self.s, lam)
        return LambdaState(lam, lam**2, shrink2, shrinkage_objective1(self.s, lam**2), int(np.sum(shrink2 > 0)),
                           self._recovery(S), S, block_average(S, self._image_size))

    @property
    def state(self) -> LambdaState:
        return self._current

    def _default_state(self):
        return self._default

    def set_lam(self, lam) -> LambdaState:
        """Change ``λ``; return the new state."""
        self._current = self.compute(lam)
        return self._current

    def reset(self) -> LambdaState:
        """Back to the initial ``λ``."""
        self._current = self._default
        return self._current

    def describe(self, state: LambdaState | None = None) -> str:
        state = self.state if state is None else state
        return (f"\u03bb = {state.lam:.4g} (objective 2), \u03bb\u2081 = \u03bb\u00b2 = {base.format_lam(state.lam1)} "
                f"(objective 1):  objective 2 keeps {state.n_kept} of {self.k} dimensions,  "
                f"cluster recovery {state.recovery:.4f}")

    def _info_html(self, state):
        return (f"<b>objective 2</b>, \u03bb = <code>{state.lam:.4g}</code>: keeps <code>{state.n_kept}</code> "
                f"of {self.k} dimensions (\u03c3\u1d62 &gt; \u03bb); its unique item-item cosine has cluster "
                f"recovery <code>{state.recovery:.4f}</code>.<br>Objective 1 at \u03bb\u2081 = \u03bb\u00b2 = "
                f"<code>{base.format_lam(state.lam1)}</code> shrinks every dimension but switches none off "
                f"(smallest factor <code>{state.shrink1.min():.3f}</code>).")

    def _make_figure(self, dpi, size, live=False):
        # Shrinkage curves across the top, heat map and recovery below (issue 21: one row of
        # three was 11 in wide, ~4-px text on a phone).
        w, h = base.FIGURE_SIZE
        fig = Figure(figsize=(w, h), dpi=dpi)
        ax_s = fig.add_axes([0.11, 0.56, 0.86, 0.30])
        grid = np.geomspace(min(self.s[-1], self.lam_range[0]) / 1.5, max(self.s[0], self.lam_range[1]) * 1.5, 300)
        ax_s.set_xscale("log")
        (line2,) = ax_s.plot(grid, np.zeros_like(grid), "-", color="C3", lw=2, label="objective 2: (1 \u2212 \u03bb/\u03c3)\u208a")
        (line1,) = ax_s.plot(grid, np.zeros_like(grid), "-", color="C0", lw=2,
                             label="objective 1: 1/(1 + \u03bb\u00b2/\u03c3\u00b2)")
        (dots,) = ax_s.plot(self.s, np.zeros(self.k), "o", color="C3", ms=3, label="the data's \u03c3\u1d62 (top k)")
        vline = ax_s.axvline(self.lam0, color="k", ls=":", lw=1)
        ax_s.set_ylim(-0.03, 1.5)  # headroom above 1 for the legend: no curve goes there
        ax_s.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
        ax_s.set_xlim(grid[0], grid[-1])
        ax_s.set_xlabel("singular value \u03c3")
        ax_s.set_ylabel("shrinkage factor")
        ax_s.set_title("shrinkage of each singular value")
        ax_s.legend(loc="upper left", fontsize=base.SMALL_FONT, frameon=False)
        ax_heat, im = base.heatmap_axes(fig, *base.heatmap_rects(0.10, 0.08, 0.33 * h / w, 0.33), size)
        ax_heat.set_title("objective 2: unique item-item cosine")
        ax_r = fig.add_axes([0.66, 0.08, 0.31, 0.33])
        ax_r.set_xscale("log")
        ax_r.plot(self.lams, self.curve_recovery, "-", color="C3", lw=2)
        ax_r.set_xlim(self.lam_range)
        ax_r.set_ylim(min(self.curve_recovery.min(), 0.5) - 0.03, 1.01)
        ax_r.set_xlabel("\u03bb (objective 2)")
        ax_r.set_ylabel("cluster recovery")
        ax_r.set_title("recovery of the unique cosine")
        (dot,) = ax_r.plot([self.lam0], [self._default.recovery], "o", color="k", ms=6)
        caption = None if live else base.caption_text(fig)
        art = {"line1": line1, "line2": line2, "dots": dots, "vline": vline, "im": im, "dot": dot,
               "caption": caption, "grid": grid}
        art["dynamic"] = [line1, line2, dots, vline, im, dot] + ([] if live else [caption])
        return fig, art

    def _draw_state(self, art, state):
        grid = art["grid"]
        art["line2"].set_ydata(shrinkage_objective2(grid, state.lam))
        art["line1"].set_ydata(shrinkage_objective1(grid, state.lam1))
        art["dots"].set_ydata(state.shrink2)
        art["vline"].set_xdata([state.lam, state.lam])
        art["im"].set_data(base.image_data(state.image))
        art["dot"].set_data([state.lam], [state.recovery])
        if art["caption"] is not None:
            art["caption"].set_text(self.describe(state))

    def _build_controls(self, w):
        low, high = np.log10(self.lam_range)
        self._lam_slider = w.FloatLogSlider(
            value=self._current.lam, base=10, min=low, max=high, step=(high - low) / 100,
            description="\u03bb (objective 2)", continuous_update=self.continuous_update, readout_format=".4g",
            style={"description_width": "initial"}, layout=w.Layout(width="460px"))
        self._lam_slider.observe(self._on_lam, names="value")
        self._reset_button = w.Button(description="reset \u03bb")
        self._reset_button.on_click(self._on_reset)
        return [w.HBox([self._lam_slider, self._reset_button])]

    def _on_lam(self, change):
        if not self._syncing:
            lam = float(np.clip(change["new"], *self.lam_range))
            self.set_lam(lam)
            self._refresh()

    def _on_reset(self, _button=None):
        self.reset()
        self._syncing = True
        try:
            self._lam_slider.value = self._current.lam
        finally:
            self._syncing = False
        self._refresh()

    def static_twin(self, lams=None, *, name: str = "lambda_explorer", fps: float = 2.0, dpi: int = base.TWIN_DPI,
                    image_size: int = base.TWIN_IMAGE_SIZE):
        """Self-contained HTML slider over precomputed λ (default: the explorer's grid of ~11).

        It opens at the λ nearest the explorer's ``lam`` (its default view).

        Returns
        -------
        IPython.display.HTML
        """
        lams = self.lams if lams is None else as_vector(lams, "lams")
        states = [self.compute(float(v)) for v in lams]
        # Open at the λ nearest the explorer's own (in the default grid: it), not at the grid's smallest.
        start = int(np.argmin([abs(s.lam - self.lam0) for s in states]))
        return self._static_twin(states, [s.S for s in states], name=name, fps=fps, dpi=dpi,
                                 image_size=image_size, start=start)
