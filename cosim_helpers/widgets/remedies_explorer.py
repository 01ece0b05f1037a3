"""The remedies explorer (book chapter 6): switch between item-item similarity matrices.

The matrices come from :func:`cosim_helpers.remedies.remedy_similarities`
(or anywhere else); this module scores each once with
:func:`~cosim_helpers.metrics.cluster_recovery` and draws them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from .._validation import as_square, check_labels, check_range
from ..images import block_average
from ..metrics import ClusterScorer
from . import base


def colour_limit(S):
    """1 for a cosine matrix, else the 99th percentile of the absolute off-diagonal entries."""
    diag = np.diag(S)
    cosine_like = np.all(np.abs(S) <= 1 + 1e-9) and np.all(
        (np.abs(diag - 1) <= 1e-9) | (np.abs(diag) <= 1e-9))
    if cosine_like:
        return 1.0
    off = np.abs(S[~np.eye(S.shape[0], dtype=bool)]) if S.shape[0] > 1 else np.abs(S).ravel()
    limit = float(np.percentile(off, 99))
    return limit if limit > 0 else 1.0


class RemedyState(NamedTuple):
    """One state of :class:`RemediesExplorer`: a named item-item similarity matrix.

    Attributes
    ----------
    name : str
    recovery : float
        :func:`~cosim_helpers.metrics.cluster_recovery` of the matrix.
    vmin, vmax : float
        Colour limits of its heat map.
    image : numpy.ndarray
        The matrix (items in ``explorer.order``), block-averaged.
    """

    name: str
    recovery: float
    vmin: float
    vmax: float
    image: np.ndarray


class RemediesExplorer(base.Explorer):
    """Switch between item-item similarity matrices computed on the same data (book chapter 6).

    Everything is computed up front (each matrix's cluster recovery and
    heat-map image), so a switch only redraws. Pass the output of
    :func:`~cosim_helpers.remedies.remedy_similarities`, extended with any other matrix, e.g.
    ``{**remedy_similarities(X, 50, 1e4, svd=svd), "cosine-trained": S}``.

    Parameters
    ----------
    similarities : mapping str -> array_like of shape (p, p)
        Name -> item-item similarity (items in the data's original order).
    clusters : array_like of int, shape (p,)
    popularity : array_like of float, shape (p,), optional
    image_size : int

    limits : mapping str -> (float, float), optional
        Colour limits for some of the matrices, overriding the default below.

    Notes
    -----
    Default colour limits: a cosine matrix (entries in [-1, 1], diagonal 1,
    or 0 for an item without embedding) is drawn on [-1, 1]; any other
    matrix (e.g. dot products) on ``±`` the 99th percentile of its absolute
    off-diagonal entries, so that its own scale is visible.
    """

    #: Accessible description of the static twin (alt text) and its slider (issue 13).
    TWIN_ALT = "Heat map of the similarity matrix of the remedy chosen with the slider, items sorted by cluster, with its cluster-recovery score"
    TWIN_SLIDER = "similarity matrix: which remedy is shown"

    _full_redraw = True  # colour limits (and the colour bar) change between matrices

    def render(self, state=None) -> bytes:
        """JPEG of ``state`` (default: the current one); each matrix is drawn once, then cached."""
        state = self.state if state is None else state
        cache = self.__dict__.setdefault("_image_cache", {})
        if state.name not in cache:
            cache[state.name] = super().render(state)
        return cache[state.name]

    def __init__(self, similarities, clusters, popularity=None, *, image_size: int = base.WIDGET_IMAGE_SIZE,
                 limits=None):
        super().__init__()
        if not isinstance(similarities, Mapping):
            raise TypeError(f"similarities must be a mapping name -> matrix, got {type(similarities).__name__}")
        if not similarities:
            raise ValueError("similarities must not be empty")
        self._image_size = base.check_image_size(image_size)
        names = list(similarities)
        for name in names:
            if not isinstance(name, str) or not name:
                raise TypeError(f"every key of similarities must be a non-empty string, got {name!r}")
        limits = {} if limits is None else limits
        if not isinstance(limits, Mapping):
            raise TypeError(f"limits must be a mapping name -> (vmin, vmax), got {type(limits).__name__}")
        for name in limits:
            if name not in similarities:
                raise ValueError(f"limits names {name!r}, which is not in similarities")
        first = as_square(similarities[names[0]], f"similarities[{names[0]!r}]")
        p = first.shape[0]
        clusters = check_labels(clusters, p)
        self.order = base.display_order(clusters, popularity)
        self.labels = clusters[self.order]
        recovery = ClusterScorer(self.labels)
        states, self._sorted = {}, {}
        for name in names:
            S = as_square(similarities[name], f"similarities[{name!r}]", p)
            S = S[np.ix_(self.order, self.order)]
            self._sorted[name] = S
            if name in limits:
                vmin, vmax = check_range(limits[name], f"limits[{name!r}]")
            else:
                vmax = colour_limit(S)
                vmin = -vmax
            states[name] = RemedyState(name, recovery(S), vmin, vmax, block_average(S, self._image_size))
        self.names = tuple(names)
        self.states = states
        self._current = states[names[0]]

    def select(self, name) -> RemedyState:
        """Show the matrix called ``name``; return its state."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        if name not in self.states:
            raise ValueError(f"unknown similarity {name!r}; choose from {list(self.names)}")
        self._current = self.states[name]
        return self._current

    @property
    def state(self) -> RemedyState:
        return self._current

    def _default_state(self):
        return self.states[self.names[0]]

    def reset(self) -> RemedyState:
        """Back to the first matrix."""
        return self.select(self.names[0])

    def describe(self, state: RemedyState | None = None) -> str:
        state = self.state if state is None else state
        return f"{state.name}:  cluster recovery {state.recovery:.4f}"

    def _info_html(self, state):
        rows = "".join(f"<tr><td>{'<b>' if n == state.name else ''}{n}{'</b>' if n == state.name else ''}"
                       f"</td><td><code>{self.states[n].recovery:.4f}</code></td></tr>" for n in self.names)
        return f"<b>cluster recovery</b> (mean per-item AUC, 0.5 = chance):<table>{rows}</table>"

    def _make_figure(self, dpi, size, live=False):
        # Heat map above the bar chart (issue 21: side by side they made a 9-in figure, ~5-px
        # text on a phone).
        w, h = base.FIGURE_SIZE
        fig = Figure(figsize=(w, h), dpi=dpi)
        ax_heat, im = base.heatmap_axes(fig, *base.heatmap_rects(0.5 - 0.22 * h / w, 0.42, 0.44 * h / w, 0.44),
                                        size, label="similarity")
        title = ax_heat.set_title("")
        ax_b = fig.add_axes([0.36, 0.07, 0.6, 0.27])
        y = np.arange(len(self.names))
        bars = ax_b.barh(y, [self.states[n].recovery for n in self.names], color="0.75")
        ax_b.set_yticks(y, [n for n in self.names], fontsize=base.SMALL_FONT)
        ax_b.invert_yaxis()
        ax_b.axvline(0.5, color="k", ls=":", lw=1)
        low = min(0.45, min(s.recovery for s in self.states.values()) - 0.02)
        ax_b.set_xlim(low, 1.0)
        for yi, n in zip(y, self.names):
            ax_b.text(low + 0.01, yi, f"{self.states[n].recovery:.4f}", va="center", fontsize=base.SMALL_FONT)
        ax_b.set_xlabel("cluster recovery (0.5 = chance)")
        ax_b.set_title("all variants")
        caption = base.caption_text(fig)
        return fig, {"im": im, "title": title, "bars": bars, "caption": caption,
                     "dynamic": [im, title, caption, *bars]}

    def _draw_state(self, art, state):
        art["im"].set_data(base.image_data(state.image))
        art["im"].set_clim(state.vmin, state.vmax)
        art["title"].set_text(state.name)
        for name, bar in zip(self.names, art["bars"]):
            bar.set_color("C3" if name == state.name else "0.75")
        art["caption"].set_text(self.describe(state))

    def _build_controls(self, w):
        for name in self.names:  # draw every matrix now, so that a switch only swaps images
            self.render(self.states[name])
        self._chooser = w.ToggleButtons(options=list(self.names), value=self._current.name,
                                        description="similarity", style={"button_width": "auto"})
        self._chooser.observe(self._on_choose, names="value")
        return [self._chooser]

    def _on_choose(self, change):
        if not self._syncing:
            self.select(change["new"])
            self._refresh()

    def static_twin(self, *, name: str = "remedies_explorer", fps: float = 1.0, dpi: int = base.TWIN_DPI,
                    image_size: int = base.TWIN_IMAGE_SIZE):
        """Self-contained HTML slider with one frame per similarity matrix.

        Returns
        -------
        IPython.display.HTML
        """
        return self._static_twin([self.states[n] for n in self.names], [self._sorted[n] for n in self.names],
                                 name=name, fps=fps, dpi=dpi, image_size=image_size)
