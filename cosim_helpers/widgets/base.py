"""What the three explorers share: figure, rendering, widget, display and static twin.

An explorer subclass provides the maths-free pieces: ``state`` (what is shown
now), ``_default_state()``, ``_make_figure(dpi, size, live) -> (fig, artists)``
(``live=True``: the widget's figure, whose changing text lives in an HTML
widget instead, because drawing text is slow in matplotlib),
``_draw_state(artists, state)`` (update artists in place), ``_info_html(state)``
and ``_build_controls(ipywidgets)``. Everything else is written once here.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from .._validation import as_vector, check_bool, check_int, check_spectrum
from ..data import item_order
from ..images import block_average
from ..plots import CMAP
from ..spectral import top_singular
from ..twin_a11y import label_twin
from .encoding import html, jpeg, jshtml, png

#: Side (in pixels of data) of the heat maps drawn by the live widgets.
WIDGET_IMAGE_SIZE = 200
#: Side of the heat maps in the static twins (kept small: every frame is an embedded PNG).
TWIN_IMAGE_SIZE = 200
#: Resolution of the static twins' frames (a 7.2-inch figure: 720 pixels, about the page column).
TWIN_DPI = 100
#: Size (inches) of every explorer's figure: two rows of two panels, 7.2 in wide (issue 21).
FIGURE_SIZE = (7.2, 6.6)
#: Smallest font (points) in an explorer's figure: legends and bar labels.
SMALL_FONT = 9
#: Significant digits of every loss the explorers show.
LOSS_DIGITS = 12
#: Significant digits of the predicted scores the D explorer shows.
SCORE_DIGITS = 10


def check_image_size(size, name: str = "image_size") -> int:
    """Side of a heat-map image: an integer ``>= 2``."""
    return check_int(size, name, 2)


def display_order(clusters, popularity) -> np.ndarray:
    """Items sorted by cluster, then by descending popularity (chapter 7's heat-map order)."""
    if popularity is None:
        return np.argsort(clusters, kind="stable")
    popularity = as_vector(popularity, "popularity")
    if popularity.shape != clusters.shape:
        raise ValueError(f"popularity must have shape {clusters.shape} (one per item), got {popularity.shape}")
    return item_order(clusters, popularity)


def positive_spectrum(X, k: int, svd):
    """``top_singular(X, k)`` or the checked ``svd``; its k singular values must be > 0."""
    svd = top_singular(X, k) if svd is None else svd
    return check_spectrum(svd, X.shape, k, positive=True)


def image_data(S):
    """Image data rounded to 4 decimals, so that BLAS round-off (~1e-16) practically never moves a pixel."""
    return np.round(S, 4).astype(np.float32)


def format_lam(x: float) -> str:
    """A regularisation strength for display: 4 significant digits, thousands separated."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def heatmap_axes(fig, rect, cbar_rect, size, *, vmin=-1.0, vmax=1.0, label="cosine"):
    """Axes with an empty ``size x size`` heat map (the book's colour map) and its colour bar."""
    ax = fig.add_axes(rect)
    im = ax.imshow(np.zeros((size, size)), cmap=CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xlabel("item (sorted by cluster, popularity)")
    ax.set_ylabel("item")
    ax.set_xticks([])
    ax.set_yticks([])
    cax = fig.add_axes(cbar_rect)
    fig.colorbar(im, cax=cax, label=label)
    return ax, im


def heatmap_rects(left: float, bottom: float, width: float, height: float):
    """Rectangles (figure fractions) of a heat map and of its colour bar just right of it."""
    return [left, bottom, width, height], [left + width + 0.015, bottom, 0.02, height]


def caption_text(fig):
    """The figure's caption line at the top (the state in words), wrapped to the figure's width."""
    return fig.text(0.5, 0.955, "", ha="center", va="center", fontsize=11, wrap=True)


class Explorer:
    """Figure, rendering, widget, display and static-twin logic shared by the explorers."""

    #: Alt text of the static twin and the accessible name of its slider (set by each explorer).
    TWIN_ALT: str = ""
    TWIN_SLIDER: str = ""

    _dpi = 80
    _full_redraw = False  # True when a change touches static parts (e.g. a colour bar)

    def __init__(self):
        self._fig = None
        self._artists = None
        self._background = None
        self._pixels = None
        self._ui = None
        self._syncing = False

    # --- rendering ------------------------------------------------------------------------
    def _ensure_figure(self):
        if self._fig is None:
            self._fig, self._artists = self._make_figure(self._dpi, self._image_size, live=True)
            FigureCanvasAgg(self._fig)

    def render(self, state=None) -> bytes:
        """Draw ``state`` (default: the current one) into the explorer's figure; return JPEG bytes.

        The figure is built once; later calls update its artists in place and
        redraw only those (the static background is cached), unless the
        explorer needs a full redraw.
        """
        self._ensure_figure()
        state = self.state if state is None else state
        fig, dynamic = self._fig, self._artists["dynamic"]
        canvas = fig.canvas
        self._draw_state(self._artists, state)
        if self._full_redraw:
            canvas.draw()
            return jpeg(canvas)
        if self._background is None:
            visible = [a.get_visible() for a in dynamic]
            for a in dynamic:
                a.set_visible(False)
            canvas.draw()
            self._background = canvas.copy_from_bbox(fig.bbox)
            for a, v in zip(dynamic, visible):
                a.set_visible(v)
        canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        heat = self._artists["im"]
        for a in dynamic:
            if a is heat:
                self._paste_heatmap(canvas, heat, renderer)
            else:
                a.draw(renderer)
        return jpeg(canvas)

    def _paste_heatmap(self, canvas, im, renderer):
        """Write the heat map's pixels straight into the canvas (nearest neighbour), then its frame.

        Matplotlib resamples an image through Agg at every draw (the largest
        part of a redraw); the live widget's heat map always covers the same
        pixels, so the pixel -> data-cell map is computed once and each
        update is one colour lookup and one gather of ~200 x 200 pixels.
        """
        data = im.get_array()
        if self._pixels is None:
            box = im.get_window_extent(renderer)
            height = canvas.get_width_height()[1]
            xs = np.arange(int(np.ceil(box.x0 - 0.5)), int(np.floor(box.x1 - 0.5)) + 1)
            ys = np.arange(int(np.ceil(box.y0 - 0.5)), int(np.floor(box.y1 - 0.5)) + 1)[::-1]  # top row first
            cols = np.minimum(((xs + 0.5 - box.x0) / box.width * data.shape[1]).astype(np.intp), data.shape[1] - 1)
            rows = np.minimum(((box.y1 - ys - 0.5) / box.height * data.shape[0]).astype(np.intp), data.shape[0] - 1)
            self._pixels = (height - 1 - ys, xs, rows, cols)
        buf_rows, buf_cols, rows, cols = self._pixels
        buffer = np.asarray(canvas.buffer_rgba())
        rgba = im.to_rgba(data, bytes=True)
        buffer[buf_rows[0]:buf_rows[-1] + 1, buf_cols[0]:buf_cols[-1] + 1] = rgba[rows][:, cols]
        for spine in im.axes.spines.values():
            spine.draw(renderer)

    def static_figure(self):
        """A new matplotlib Figure of the default state (what a page without a kernel shows)."""
        fig, artists = self._make_figure(self._dpi, self._image_size, live=False)
        FigureCanvasAgg(fig)
        self._draw_state(artists, self._default_state())
        return fig

    def static_image(self):
        """PNG image (``IPython.display.Image``) of :meth:`static_figure`, the default view.

        Displayed this way, the figure does not depend on which matplotlib
        backend the kernel uses, and its text form is a fixed string.
        """
        from IPython.display import Image

        return Image(data=png(self.static_figure(), self._dpi), format="png")

    def _static_twin(self, states, matrices, *, name, fps, dpi, image_size, start=0):
        """Self-contained HTML slider, one frame per state, each heat map block-averaged from ``matrices``.

        It opens at ``states[start]`` (the explorer's default view).
        """
        image_size = check_image_size(image_size)
        states = [s._replace(image=block_average(S, image_size)) for s, S in zip(states, matrices)]
        fig, art = self._make_figure(dpi, image_size, live=False)
        FigureCanvasAgg(fig)
        frames = jshtml(fig, lambda j: self._draw_state(art, states[j]), len(states), name, fps, start)
        return html(label_twin(frames, alt=self.TWIN_ALT, slider_label=self.TWIN_SLIDER))

    # --- widgets --------------------------------------------------------------------------
    def widget(self):
        """The ipywidgets user interface (built once, then reused)."""
        if self._ui is None:
            import ipywidgets as w

            self._image = w.Image(format="jpeg", layout=w.Layout(width="auto"))
            self._info = w.HTML()
            controls = self._build_controls(w)
            self._ui = w.VBox(controls + [self._info, self._image])
            self._refresh()
        return self._ui

    def _refresh(self):
        state = self.state
        self._image.value = self.render(state)
        self._info.value = self._info_html(state)

    def show(self, static: bool = True) -> None:
        """Display the interactive widget and (by default) a static figure of the default state.

        With a live kernel the widget responds to its controls; in a static
        page (or under nbval) it cannot, so the static figure below it shows
        the default view. The widget output's text form is a fixed sentence;
        only its model id (which nbval does not compare) varies between runs.

        Parameters
        ----------
        static : bool
            Also display :meth:`static_image` (set False when a static twin
            follows anyway).
        """
        from IPython.display import display

        static = check_bool(static, "static")
        box = self.widget()
        display({
            "text/plain": f"{type(self).__name__}: interactive controls (need a live Jupyter kernel)"
                          + ("; the figure below shows the default view." if static else "."),
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2, "version_minor": 0, "model_id": box.model_id,
            },
        }, raw=True)
        if static:
            display(self.static_image())
