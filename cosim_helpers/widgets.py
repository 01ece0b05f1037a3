"""Interactive explorers (ipywidgets) and their static twins for the HTML book.

The paper's point is best felt by moving a control: rescale the embeddings of
an objective-1 optimum with a diagonal ``D`` and watch the loss stay exactly
the same while the item-item cosine heat map falls apart (paper §2.1; its Figure 1 in §4).
This module has three explorers:

* :class:`DExplorer` (book chapters 4 and 7): ``D = dMat(σ_i^α)`` times
  optional per-dimension factors, applied to the symmetric objective-1 optimum
  ``Â = B̂ = V_k dMat(1/(1+λ/σ_i²))^{1/2}`` (paper Eq. 5) as ``(ÂD, B̂D⁻¹)``;
  shows the objective-1 loss (paper Eq. 1), a few predicted scores, the
  item-item cosine heat map and its cluster recovery; objective 2 (paper
  Eq. 2) for comparison.
* :class:`LambdaExplorer` (chapter 5): how objective 2 soft-thresholds the
  singular values and how its unique cosine matrix changes with ``λ``, next
  to objective 1's shrinkage.
* :class:`RemediesExplorer` (chapter 6): switch between precomputed item-item
  similarity matrices (:func:`remedy_similarities` builds the default set).

Design: each explorer is a plain class whose ``compute`` method is a pure
function of the data and the control values and returns a state named tuple;
``set_alpha``, ``set_lam``, ``select``, ``reset`` ... make a state current and
return it. All of it is testable without a front end. The
ipywidgets user interface (:meth:`~DExplorer.widget`) is a thin layer on
top; it keeps ONE matplotlib figure, updates its artists in place and
re-renders only the artists that change (Agg blitting), so that one control
change costs a few tens of milliseconds at the paper's scale
(``benchmarks/bench_widgets.py``).

Without a live kernel (nbval, the book build) :meth:`~DExplorer.show`
displays the widget (which a static page cannot run) and a static figure of
the default state; :meth:`~DExplorer.static_twin` returns a self-contained
HTML slider over precomputed states (matplotlib's ``to_jshtml``: embedded PNG
frames with a 256-colour palette, no server, no third-party file), with
deterministic element ids.
"""

from __future__ import annotations

import base64
import hashlib
import io
import numbers
import re
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import scipy.linalg
from matplotlib import rc_context
from matplotlib.animation import FuncAnimation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter

from ._validation import as_data_matrix, as_factor, check_nonnegative, check_rank, check_real
from .data import item_order
from .metrics import _group_bounds, _grouped_recovery
from .models import fit_objective1, fit_objective2, rescale, shrinkage_objective1, shrinkage_objective2
from .plots import CMAP
from .similarity import cosine_similarity
from .spectral import Spectrum, _fix_signs, gram, top_singular

__all__ = [
    "DExplorer",
    "DState",
    "LambdaExplorer",
    "LambdaState",
    "RemediesExplorer",
    "RemedyState",
    "block_average",
    "loss_objective1_gram",
    "remedy_similarities",
    "stable_jshtml_ids",
]

#: Side (in pixels of data) of the heat maps drawn by the live widgets.
WIDGET_IMAGE_SIZE = 200
#: Side of the heat maps in the static twins (kept small: every frame is an embedded PNG).
TWIN_IMAGE_SIZE = 200
#: Resolution of the static twins' frames.
TWIN_DPI = 80
#: Significant digits of every loss the explorers show.
LOSS_DIGITS = 12
#: Significant digits of the predicted scores the D explorer shows.
SCORE_DIGITS = 10


# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------

def _check_range(bounds, name: str) -> tuple:
    try:
        low, high = bounds
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a pair (low, high), got {bounds!r}") from exc
    low, high = check_real(low, f"{name}[0]"), check_real(high, f"{name}[1]")
    if not low < high:
        raise ValueError(f"{name} must satisfy low < high, got {bounds!r}")
    return low, high


def _check_in_range(value, bounds, name: str) -> float:
    value = check_real(value, name)
    low, high = bounds
    if not low - 1e-12 <= value <= high + 1e-12:
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}] (the control's range), got {value:g}")
    return value


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def _check_size(size, name: str = "image_size") -> int:
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(size).__name__}")
    if size < 2:
        raise ValueError(f"{name} must be >= 2, got {size}")
    return int(size)


def _check_labels(clusters, p: int, name: str = "clusters") -> np.ndarray:
    clusters = np.asarray(clusters)
    if clusters.shape != (p,):
        raise ValueError(f"{name} must have one entry per item ({p}), got shape {clusters.shape}")
    if not np.issubdtype(clusters.dtype, np.integer):
        raise TypeError(f"{name} must hold integer cluster labels, got dtype {clusters.dtype}")
    return clusters.copy()


def _display_order(clusters, popularity) -> np.ndarray:
    """Items sorted by cluster, then by descending popularity (chapter 7's heat-map order)."""
    if popularity is None:
        return np.argsort(clusters, kind="stable")
    popularity = np.asarray(popularity, dtype=np.float64)
    if popularity.shape != clusters.shape:
        raise ValueError(f"popularity must have shape {clusters.shape} (one per item), got {popularity.shape}")
    if not np.all(np.isfinite(popularity)):
        raise ValueError("popularity contains NaN or inf")
    return item_order(clusters, popularity)


def _check_square(S, name: str = "S") -> np.ndarray:
    S = as_factor(S, name)
    if S.shape[0] != S.shape[1]:
        raise ValueError(f"{name} must be square, got shape {S.shape}")
    return S


def block_average(S, size: int) -> np.ndarray:
    """Shrink a p x p matrix to at most ``size x size`` by averaging blocks.

    Used for the heat maps (a 1,000 x 1,000 cosine matrix is drawn in a few
    hundred screen pixels anyway). Row and column blocks are the same
    contiguous index ranges, as equal as possible (``p/size`` rounded), so
    the block structure of a cluster-sorted matrix is kept. A matrix with
    ``p <= size`` is returned unchanged (as a copy).

    Parameters
    ----------
    S : array_like, shape (p, p)
    size : int
        Largest side of the result, ``>= 2``.

    Returns
    -------
    numpy.ndarray, shape (min(p, size), min(p, size))
    """
    S = _check_square(S)
    size = _check_size(size, "size")
    return _block_average(S, size)


def _block_average(S, size):
    p = S.shape[0]
    if p <= size:
        return S.copy()
    if p % size == 0:  # equal blocks: strided sums, much faster than a 4-D mean
        f = p // size
        rows = S[0::f].copy()
        for i in range(1, f):
            rows += S[i::f]
        out = rows[:, 0::f].copy()
        for i in range(1, f):
            out += rows[:, i::f]
        return out / (f * f)
    edges = np.rint(np.linspace(0, p, size + 1)).astype(np.intp)
    counts = np.diff(edges).astype(np.float64)
    summed = np.add.reduceat(np.add.reduceat(S, edges[:-1], axis=0), edges[:-1], axis=1)
    return summed / counts[:, None] / counts[None, :]


def _gram_kk(E, F):
    """``EᵀF`` (k x k) without BLAS threads.

    These products are tiny (p·k² flops) but a multi-threaded BLAS call can
    stall for a whole scheduler time slice on a busy shared machine; numpy's
    own loops take well under a millisecond at the paper's scale.
    """
    return np.einsum("ij,ik->jk", E, F)


def _loss1_gram(G, trace_G, A, B, lam):
    """Objective 1 at (A, B) from the Gram matrix (no validation; see loss_objective1_gram)."""
    GA = G @ A
    BtB = _gram_kk(B, B)
    fit = trace_G - 2.0 * float(np.sum(GA * B)) + float(np.sum(_gram_kk(A, GA) * BtB))
    return fit + lam * float(np.sum(_gram_kk(A, A) * BtB))


def loss_objective1_gram(G, A, B, lam: float) -> float:
    """Objective 1 (paper Eq. 1) evaluated from the Gram matrix ``G = XᵀX``.

    ``‖X − XM‖²_F = tr(G) − 2 tr(GM) + tr(MᵀGM)`` with ``M = ABᵀ``, computed
    without forming M: ``tr(GM) = Σ (GA) ⊙ B`` and
    ``tr(MᵀGM) = Σ (AᵀGA) ⊙ (BᵀB)``; the penalty is
    ``λ‖ABᵀ‖² = λ Σ (AᵀA) ⊙ (BᵀB)``. One p x p x k product instead of the
    n x p x k of :func:`~cosim_helpers.models.loss_objective1`, which is what
    lets the D explorer evaluate the loss genuinely at every control change.
    The expansion loses about ``eps · tr(G) / loss`` in relative accuracy
    (harmless unless the fit is nearly exact; the tests check agreement with
    the residual-based loss to 1e-9).

    Parameters
    ----------
    G : array_like, shape (p, p)
        ``XᵀX`` (e.g. :func:`cosim_helpers.spectral.gram`).
    A, B : array_like, shape (p, k)
    lam : float

    Returns
    -------
    float
    """
    G = _check_square(G, "G")
    p = G.shape[0]
    A = as_factor(A, "A", rows=p)
    B = as_factor(B, "B", rows=p, cols=A.shape[1])
    lam = check_nonnegative(lam)
    return _loss1_gram(G, float(np.trace(G)), A, B, lam)


def _loss2_gram(G, trace_G, A, B, lam):
    """Objective 2 (paper Eq. 2) from the Gram matrix: the fit as above, ``‖XA‖² = tr(AᵀGA)``."""
    GA = G @ A
    AtGA = _gram_kk(A, GA)
    fit = trace_G - 2.0 * float(np.sum(GA * B)) + float(np.sum(AtGA * _gram_kk(B, B)))
    return fit + lam * (float(np.trace(AtGA)) + float(np.sum(B * B)))


def _column_cosine(B, M):
    """Cosines between the columns of ``Y A Bᵀ`` given ``M = (YA)ᵀ(YA)``: ``Ω B M Bᵀ Ω``."""
    C = B @ M @ B.T
    d = np.sqrt(np.clip(np.diag(C), 0.0, None))
    inv = np.zeros_like(d)
    np.divide(1.0, d, out=inv, where=d > 0)
    return np.clip(C * inv[:, None] * inv[None, :], -1.0, 1.0)


def remedy_similarities(X, k: int, lam: float, *, svd: Spectrum | None = None,
                        lam_standardized: float | None = None) -> dict:
    """Item-item similarity matrices for the remedies explorer (book chapter 6).

    All from objective 1 (paper Eq. 1) at its symmetric optimum
    ``Â = B̂ = V_k dMat(w)^{1/2}``, ``w_i = 1/(1+λ/σ_i²)`` (Eq. 5):

    ``"cosine"``
        ``cosSim(B̂, B̂)``: plain cosine of the item embeddings (D = I; any
        other D gives another matrix).
    ``"dot product"``
        ``B̂B̂ᵀ`` (= ``ÂB̂ᵀ`` for this representative; under another D it is
        ``B̂D⁻²B̂ᵀ``, so not unique either). Not a cosine: its scale is the data's.
    ``"project back"``
        Cosine between the columns (items) of the smoothed data
        ``X̂ = XÂB̂ᵀ`` (paper Section 3, remedy 2): unique, since ``ÂB̂ᵀ`` is.
        Computed as ``Ω B̂ (ÂᵀXᵀXÂ) B̂ᵀ Ω`` without forming the n x p ``X̂``.
    ``"standardised: cosine"``, ``"standardised: project back"``
        The same two on standardised data ``Z`` (each column of X centred and
        scaled to unit variance; a constant column becomes 0), the paper's
        remedy 3 (normalise before training). ``ZᵀZ`` is formed from ``XᵀX``
        (``ZᵀZ = Ω_s (XᵀX − n μμᵀ) Ω_s``) so a sparse X stays sparse.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n, p)
    k : int
    lam : float
        Objective-1 ``λ`` for X.
    svd : Spectrum, optional
        Precomputed ``top_singular(X, k')``, ``k' >= k``.
    lam_standardized : float, optional
        ``λ`` for the standardised data. Default (the book's choice, the paper
        has no such experiment): ``lam · tr(ZᵀZ) / tr(XᵀX)``, the same
        penalty relative to the data's total sum of squares.

    Returns
    -------
    dict str -> numpy.ndarray of shape (p, p)
        In the order above; add more (e.g. a cosine-trained model) before
        passing it to :class:`RemediesExplorer`.
    """
    X = as_data_matrix(X)
    n, p = X.shape
    k = check_rank(k, X.shape)
    lam = check_nonnegative(lam)
    if svd is None:
        svd = top_singular(X, k)
    elif not isinstance(svd, Spectrum):
        raise TypeError("svd must be a Spectrum returned by cosim_helpers.spectral.top_singular")
    A, B = fit_objective1(X, k, lam, svd=svd)
    G = gram(X)
    out = {
        "cosine": cosine_similarity(B),
        "dot product": B @ B.T,
        "project back": _column_cosine(B, A.T @ G @ A),
    }
    mean = np.asarray(X.sum(axis=0)).ravel() / n
    var = np.clip(np.diag(G) / n - mean**2, 0.0, None)
    scale = np.zeros(p)
    np.divide(1.0, np.sqrt(var), out=scale, where=var > 1e-12 * max(float(var.max()), 1e-300))
    GZ = (G - n * np.outer(mean, mean)) * scale[:, None] * scale[None, :]
    GZ = (GZ + GZ.T) / 2.0
    if lam_standardized is None:
        lam_z = lam * float(np.trace(GZ)) / float(np.trace(G))
    else:
        lam_z = check_nonnegative(lam_standardized, "lam_standardized")
    w, VZ = scipy.linalg.eigh(GZ, subset_by_index=[p - k, p - 1])
    w, VZ = w[::-1], _fix_signs(VZ[:, ::-1])
    sz2 = np.clip(w, 0.0, None)
    fz = np.zeros(k)
    np.divide(sz2, sz2 + lam_z, out=fz, where=sz2 > 0)
    BZ = VZ * np.sqrt(fz)
    out["standardised: cosine"] = cosine_similarity(BZ)
    out["standardised: project back"] = _column_cosine(BZ, BZ.T @ GZ @ BZ)
    return out


# --------------------------------------------------------------------------------------------
# HTML twin helpers
# --------------------------------------------------------------------------------------------

_ICONS = {
    "fa fa-minus": "&minus;",
    "fa fa-fast-backward": "|&#9664;&#9664;",
    "fa fa-step-backward": "|&#9664;",
    "fa fa-play fa-flip-horizontal": "&#9664;",
    "fa fa-pause": "&#10074;&#10074;",
    "fa fa-play": "&#9654;",
    "fa fa-step-forward": "&#9654;|",
    "fa fa-fast-forward": "&#9654;&#9654;|",
    "fa fa-plus": "+",
}


def stable_jshtml_ids(html: str, name: str = "twin") -> str:
    """Make matplotlib's ``to_jshtml`` output deterministic and self-contained.

    * The random ``uuid4`` element id is replaced by
      ``cosim_<name>_<hash>``, the hash being SHA-256 of the HTML with the id
      removed (same frames, same id; different content, different id).
    * The Font Awesome stylesheet link (a third-party CDN file) is removed and
      the button icons are replaced by plain Unicode symbols (the buttons
      keep their ``title`` tooltips).

    Parameters
    ----------
    html : str
        Output of ``matplotlib.animation.Animation.to_jshtml``.
    name : str
        Letters, digits and ``_`` only; keeps twins on one page apart.

    Returns
    -------
    str
    """
    if not isinstance(html, str):
        raise TypeError(f"html must be a string, got {type(html).__name__}")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"name must be a non-empty string of letters, digits and _, got {name!r}")
    match = re.search(r'id="_anim_img([0-9a-f]{32})"', html)
    if match is None:
        raise ValueError("html is not the output of matplotlib's to_jshtml (no animation id found)")
    html = re.sub(r'<link rel="stylesheet"\s*href="[^"]*font-awesome[^"]*">\s*', "", html)
    html = re.sub(r'<i class="(fa [^"]*)"></i>', lambda m: _ICONS.get(m.group(1), "?"), html)
    old = match.group(1)
    digest = hashlib.sha256(html.replace(old, "").encode("utf-8")).hexdigest()[:16]
    return html.replace(old, f"cosim_{name}_{digest}")


#: rcParams pinned while a twin is rendered, so that its bytes do not depend on the user's settings.
_TWIN_RC = {
    "animation.frame_format": "png",
    "savefig.bbox": None,
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "savefig.pad_inches": 0.1,
}


def _jshtml(fig, update, n_frames: int, name: str, fps: float) -> str:
    """Render ``update(j)`` for ``j < n_frames`` into a deterministic jshtml string."""
    # FuncAnimation asks the canvas for an idle redraw after every frame, and
    # saving the frame draws it again; this private, never-shown canvas can
    # skip the first of the two (it halves the rendering time).
    fig.canvas.draw_idle = lambda *args, **kwargs: None
    with rc_context(_TWIN_RC):
        anim = FuncAnimation(fig, lambda j: update(j) or [], frames=n_frames, interval=1000.0 / fps,
                             blit=False, repeat=False, cache_frame_data=False)
        html = anim.to_jshtml(fps=fps, default_mode="once")
    return stable_jshtml_ids(_palette_frames(html), name)


def _palette_frames(html: str) -> str:
    """Re-encode every embedded PNG frame with a 256-colour palette (no dithering).

    Frames shrink about 2.5-fold with no visible change (a heat map uses one
    256-entry colour map); median-cut quantisation is deterministic, so equal
    frames stay byte-identical.
    """
    from PIL import Image

    def shrink(match):
        png = base64.b64decode(match.group(1).replace("\\\n", ""))
        image = Image.open(io.BytesIO(png)).convert("RGB")
        image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        image.save(buf, format="png", optimize=True)
        return '"data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode("ascii") + '"'

    return re.sub(r'"data:image/png;base64,([^"]*)"', shrink, html)


def _html(text: str):
    from IPython.display import HTML

    return HTML(text)


def _jpeg(canvas) -> bytes:
    """JPEG (quality 92, no chroma subsampling) of an Agg canvas, for the live widget.

    About 1 ms to encode and ~60 KB, against ~10 ms for a PNG of the same
    figure: at every control change the encoding would otherwise cost as
    much as the maths. The static figure (PNG) and the twins (palette PNG) are unaffected.
    """
    from PIL import Image

    width, height = canvas.get_width_height()
    buf = io.BytesIO()
    Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB") \
        .save(buf, format="jpeg", quality=92, subsampling=0)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Shared explorer machinery
# --------------------------------------------------------------------------------------------

class _Explorer:
    """Figure, rendering, widget and display logic shared by the explorers.

    Subclasses implement ``_make_figure(dpi, size, live) -> (fig, artists)``
    (``live=True``: the widget's figure, whose changing text lives in an
    HTML widget instead, because drawing text is slow in matplotlib),
    ``_draw_state(artists, state)`` (update artists in place), ``state``
    (current state), ``_default_state()`` and ``_build_controls()``.
    """

    _dpi = 80
    _full_redraw = False  # True when a change touches static parts (e.g. a colour bar)

    def __init__(self):
        self._fig = None
        self._artists = None
        self._background = None
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
            return _jpeg(canvas)
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
        for a in dynamic:
            a.draw(renderer)
        return _jpeg(canvas)

    def static_figure(self):
        """A new matplotlib Figure of the default state (what a page without a kernel shows)."""
        fig, artists = self._make_figure(self._dpi, self._image_size, live=False)
        FigureCanvasAgg(fig)
        self._draw_state(artists, self._default_state())
        return fig

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

        static = _check_bool(static, "static")

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

    def static_image(self):
        """PNG image (``IPython.display.Image``) of :meth:`static_figure`, the default view.

        Displayed this way, the figure does not depend on which matplotlib
        backend the kernel uses, and its text form is a fixed string.
        """
        from IPython.display import Image

        buf = io.BytesIO()
        with rc_context(_TWIN_RC):
            self.static_figure().savefig(buf, format="png", dpi=self._dpi)
        return Image(data=buf.getvalue(), format="png")


def _heatmap_axes(fig, rect, cbar_rect, size, *, vmin=-1.0, vmax=1.0, label="cosine"):
    ax = fig.add_axes(rect)
    im = ax.imshow(np.zeros((size, size)), cmap=CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xlabel("item (sorted by cluster, popularity)")
    ax.set_ylabel("item")
    ax.set_xticks([])
    ax.set_yticks([])
    cax = fig.add_axes(cbar_rect)
    fig.colorbar(im, cax=cax, label=label)
    return ax, im


def _fmt(x: float) -> str:
    """A regularisation strength for display: 4 significant digits, thousands separated."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _image_data(S):
    """Image data rounded to 4 decimals, so that BLAS round-off (~1e-16) practically never moves a pixel."""
    return np.round(S, 4).astype(np.float32)


def _spectrum_with_positive(X, k, svd):
    if svd is None:
        svd = top_singular(X, k)
    elif not isinstance(svd, Spectrum):
        raise TypeError("svd must be a Spectrum returned by cosim_helpers.spectral.top_singular")
    if svd.V.shape[0] != X.shape[1] or len(svd.s) < k:
        raise ValueError(f"svd does not match X of shape {X.shape} and k = {k}")
    svd = Spectrum(np.asarray(svd.s[:k], dtype=np.float64), np.asarray(svd.V[:, :k], dtype=np.float64))
    if np.any(svd.s <= 0):
        raise ValueError("X must have k singular values > 0 (rank(X) >= k): D = dMat(σ^α) needs σ > 0")
    return svd


# --------------------------------------------------------------------------------------------
# D explorer (chapters 4 and 7)
# --------------------------------------------------------------------------------------------

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


class DExplorer(_Explorer):
    """Rescale an objective-1 optimum by a diagonal D: same loss, different cosines.

    Book chapters 4 and 7; paper §2.1 (the D-freedom) and §4 (Figure 1). The explorer starts from the
    symmetric optimum of objective 1 (paper Eq. 1 and Eq. 5),
    ``Â = B̂ = V_k dMat(1/(1+λ/σ_i²))^{1/2}``, and shows the optimum
    ``(ÂD, B̂D⁻¹)`` (:func:`~cosim_helpers.models.rescale`) for
    ``D_i = σ_i^α · 10^{t_i}``: a one-parameter family (``α``, chapter 7's
    ``dMat(σ_i^α)``) times optional per-dimension factors ``t_i``. For each D
    it evaluates, from scratch, the objective-1 loss (exactly, via
    :func:`loss_objective1_gram`), the predicted scores of a few user-item
    pairs, the item-item cosine matrix ``cosSim(B̂D⁻¹, B̂D⁻¹)`` and its
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

    def __init__(self, X, clusters, popularity=None, *, k: int = 50, lam: float = 10_000.0,
                 lam2: float = 100.0, svd: Spectrum | None = None, alpha_range=(-2.0, 2.0),
                 log_scale_range=(-2.0, 2.0), max_dim_sliders: int = 8, pairs=None, alphas=None,
                 image_size: int = WIDGET_IMAGE_SIZE, continuous_update: bool = True):
        super().__init__()
        X = as_data_matrix(X)
        p = X.shape[1]
        self.k = check_rank(k, X.shape)
        self.lam = check_nonnegative(lam)
        self.lam2 = check_nonnegative(lam2, "lam2")
        clusters = _check_labels(clusters, p)
        self.order = _display_order(clusters, popularity)
        self.labels = clusters[self.order]
        self._bounds = _group_bounds(self.labels)
        self.alpha_range = _check_range(alpha_range, "alpha_range")
        self.log_scale_range = _check_range(log_scale_range, "log_scale_range")
        for name, (low, high) in (("alpha_range", self.alpha_range), ("log_scale_range", self.log_scale_range)):
            if not low <= 0 <= high:
                raise ValueError(f"{name} must contain 0 (the default D = I), got {(low, high)}")
        if isinstance(max_dim_sliders, bool) or not isinstance(max_dim_sliders, numbers.Integral):
            raise TypeError(f"max_dim_sliders must be an integer, got {type(max_dim_sliders).__name__}")
        self.max_dim_sliders = int(max_dim_sliders)
        self._image_size = _check_size(image_size)
        self.continuous_update = _check_bool(continuous_update, "continuous_update")
        svd = _spectrum_with_positive(X, self.k, svd)
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
        G = gram(X)
        self._G = G[np.ix_(self.order, self.order)]
        self._trace_G = float(np.trace(G))

        A2, B2 = fit_objective2(X, self.k, self.lam2, svd=svd)
        A2, B2 = A2[self.order], B2[self.order]
        S2 = cosine_similarity(B2)
        self.objective2 = DState(
            "objective 2", float("nan"), np.zeros(self.k), None,
            _loss2_gram(self._G, self._trace_G, A2, B2, self.lam2), self._scores(A2, B2),
            _grouped_recovery(S2, *self._bounds), S2, _block_average(S2, self._image_size))

        if alphas is None:
            alphas = np.linspace(self.alpha_range[0], self.alpha_range[1], 9)
        alphas = np.asarray(alphas, dtype=np.float64)
        if alphas.ndim != 1 or alphas.size < 2 or not np.all(np.isfinite(alphas)):
            raise ValueError("alphas must be a 1-D array of at least two finite values")
        self.alphas = np.sort(alphas)
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
            pairs = tuple((int(u), int(i)) for u, i in pairs)
        except (TypeError, ValueError) as exc:
            raise TypeError("pairs must be a sequence of (user, item) integer pairs") from exc
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
        alpha = _check_in_range(alpha, self.alpha_range, "alpha")
        log_scales = self._check_log_scales(log_scales)
        D = self.s**alpha * 10.0**log_scales
        A, B = self.factors(D)
        S = cosine_similarity(B)
        return DState("objective 1", alpha, log_scales, D, _loss1_gram(self._G, self._trace_G, A, B, self.lam),
                      self._scores(A, B), _grouped_recovery(S, *self._bounds), S,
                      _block_average(S, self._image_size))

    def _check_log_scales(self, log_scales):
        if log_scales is None:
            return np.zeros(self.k)
        try:
            t = np.array(log_scales, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"log_scales must be numeric, got {type(log_scales).__name__}") from exc
        if t.shape != (self.k,):
            raise ValueError(f"log_scales must have k = {self.k} entries, got shape {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError("log_scales contains NaN or inf")
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
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise TypeError(f"i must be an integer dimension index, got {type(i).__name__}")
        if not 0 <= i < self.k:
            raise ValueError(f"i must satisfy 0 <= i < k = {self.k}, got {i}")
        t = self._current.log_scales.copy()
        t[i] = _check_in_range(value, self.log_scale_range, "value")
        return self._set(self.compute(self._current.alpha, t))

    def set_log_scales(self, log_scales) -> DState:
        """Set all per-dimension factors ``t`` at once; return the new state."""
        return self._set(self.compute(self._current.alpha, log_scales))

    def reset(self) -> DState:
        """Back to ``D = I`` (the symmetric optimum) and the objective-1 view."""
        return self._set(self._default)

    def show_objective2(self, on: bool = True) -> DState:
        """Toggle the objective-2 view (its unique optimum, paper Eq. 2); return what is shown."""
        self._show_objective2 = _check_bool(on, "on")
        return self.state

    # --- text ---------------------------------------------------------------------------------
    def describe(self, state: DState | None = None) -> str:
        """One-line summary of a state (the figure's caption): loss to 12 digits, recovery."""
        state = self.state if state is None else state
        if state.mode == "objective 2":
            return (f"objective 2 (unique, \u03bb = {self.lam2:g}): loss {state.loss:.{LOSS_DIGITS}g}, "
                    f"cluster recovery {state.recovery:.4f}")
        extra = "" if not np.any(state.log_scales) else " \u00d7 per-dimension factors"
        return (f"\u03b1 = {state.alpha:+.2f}{extra}:  objective-1 loss = {state.loss:.{LOSS_DIGITS}g},  "
                f"cluster recovery = {state.recovery:.4f}")

    def _info_html(self, state):
        rows = "".join(
            f"<tr><td>user {u}, item {i}</td><td style='font-family:monospace'>"
            f"{score:.{SCORE_DIGITS}g}</td></tr>" for (u, i), score in zip(self.pairs, state.scores))
        if state.mode == "objective 2":
            head = (f"<b>objective 2</b> (\u03bb = {self.lam2:g}, unique optimum): objective-2 loss "
                    f"<code>{state.loss:.{LOSS_DIGITS}g}</code>")
        else:
            head = (f"<b>objective-1 loss</b> \u2016X \u2212 XAB\u1d40\u2016\u00b2 + \u03bb\u2016AB\u1d40\u2016\u00b2 "
                    f"at (\u00c2D, B\u0302D\u207b\u00b9): <code>{state.loss:.{LOSS_DIGITS}g}</code> "
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
        fig = Figure(figsize=(11.0, 3.6), dpi=dpi)
        ax_heat, im = _heatmap_axes(fig, [0.04, 0.13, 0.24, 0.68], [0.278, 0.13, 0.01, 0.68], size)
        title = ax_heat.set_title("item-item cosine")
        ax_d = fig.add_axes([0.445, 0.13, 0.2, 0.68])
        dims = np.arange(1, self.k + 1)
        (d_line,) = ax_d.plot(dims, np.zeros(self.k), "o-", ms=3, color="C0")
        ax_d.set_xlim(0.5, self.k + 0.5)
        ax_d.set_ylim(*self._log_d_limits())
        ax_d.axhline(0.0, color="0.6", lw=0.8)
        ax_d.set_xlabel("dimension i (by decreasing \u03c3\u1d62)")
        ax_d.set_ylabel("log\u2081\u2080 d\u1d62")
        ax_d.set_title("the rescaling D = dMat(d\u1d62)")

        ax_loss = fig.add_axes([0.755, 0.53, 0.23, 0.28])
        ax_rec = fig.add_axes([0.755, 0.13, 0.23, 0.28], sharex=ax_loss)
        ref = self._default.loss
        ax_loss.plot(self.alphas, self.curve_loss, "-", color="C2", lw=2)
        ax_loss.set_ylim(ref * (1 - 1e-3), ref * (1 + 1e-3))
        ax_loss.set_yticks([ref * (1 - 5e-4), ref, ref * (1 + 5e-4)])
        ax_loss.yaxis.set_major_formatter(FormatStrFormatter("%.6g"))
        ax_loss.set_title("objective-1 loss vs \u03b1 (flat)")
        ax_loss.tick_params(labelbottom=False)
        ax_rec.plot(self.alphas, self.curve_recovery, "-", color="C3", lw=2,
                    label=r"objective 1, $D=\mathrm{dMat}(\sigma_i^\alpha)$")
        ax_rec.axhline(self.objective2.recovery, color="0.3", ls="--", lw=1, label="objective 2 (unique)")
        ax_rec.set_xlabel("\u03b1")
        ax_rec.set_ylabel("recovery")
        low = min(self.curve_recovery.min(), self.objective2.recovery, 0.5)
        ax_rec.set_ylim(low - 0.3 * (1.0 - low) - 0.03, 1.02)  # room for the legend below the curve
        ax_rec.legend(loc="lower left", fontsize=8, frameon=False)
        pad = 0.04 * (self.alpha_range[1] - self.alpha_range[0])
        ax_rec.set_xlim(self.alpha_range[0] - pad, self.alpha_range[1] + pad)
        (loss_dot,) = ax_loss.plot([0.0], [ref], "o", color="k", ms=6)
        (rec_dot,) = ax_rec.plot([0.0], [self._default.recovery], "o", color="k", ms=6)
        dynamic = [im, d_line, loss_dot, rec_dot]
        caption = None
        if not live:
            caption = fig.text(0.5, 0.95, "", ha="center", va="center", fontsize=11)
            dynamic += [title, caption]
        return fig, {"im": im, "title": title, "d_line": d_line, "loss_dot": loss_dot, "rec_dot": rec_dot,
                     "caption": caption, "dynamic": dynamic}

    def _draw_state(self, art, state):
        art["im"].set_data(_image_data(state.image))
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
        alphas = self.alphas if alphas is None else np.asarray(alphas, dtype=np.float64)
        if alphas.ndim != 1 or alphas.size == 0:
            raise ValueError("alphas must be a non-empty 1-D array")
        return tuple(self.compute(float(a)) for a in alphas)

    def static_twin(self, alphas=None, *, name: str = "d_explorer", fps: float = 2.0, dpi: int = TWIN_DPI,
                    image_size: int = TWIN_IMAGE_SIZE):
        """Self-contained HTML slider over precomputed D's, for the book's HTML pages.

        One frame per α (default: the explorer's grid of 9): heat map, D,
        and the loss printed to 12 significant digits, identical in every
        frame. Deterministic for given data (:func:`stable_jshtml_ids`).

        Returns
        -------
        IPython.display.HTML
        """
        image_size = _check_size(image_size)
        states = self.twin_states(alphas)
        states = [s._replace(image=_block_average(s.S, image_size)) for s in states]
        fig, art = self._make_figure(dpi, image_size, live=False)
        FigureCanvasAgg(fig)
        return _html(_jshtml(fig, lambda j: self._draw_state(art, states[j]), len(states), name, fps))


# --------------------------------------------------------------------------------------------
# λ explorer (chapter 5)
# --------------------------------------------------------------------------------------------

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


class LambdaExplorer(_Explorer):
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
    lam : float
        Initial ``λ`` (paper: 100).
    lam_range : (float, float), optional
        Range of the log-scale control, ``0 < low < high``; default from
        ``σ_k / 10`` to ``σ_1`` (at ``λ >= σ_1`` every dimension is off).
    lams : array_like, optional
        Grid for the recovery curve and the twin (default: 8 log-spaced
        values over ``lam_range`` plus ``lam``).
    """

    def __init__(self, X, clusters, popularity=None, *, k: int = 50, lam: float = 100.0, lam_range=None,
                 lams=None, svd: Spectrum | None = None, image_size: int = WIDGET_IMAGE_SIZE,
                 continuous_update: bool = True):
        super().__init__()
        X = as_data_matrix(X)
        p = X.shape[1]
        self.k = check_rank(k, X.shape)
        clusters = _check_labels(clusters, p)
        self.order = _display_order(clusters, popularity)
        self.labels = clusters[self.order]
        self._bounds = _group_bounds(self.labels)
        self._image_size = _check_size(image_size)
        self.continuous_update = _check_bool(continuous_update, "continuous_update")
        svd = _spectrum_with_positive(X, self.k, svd)
        self.s, self._V = svd.s, svd.V[self.order]
        if lam_range is None:
            lam_range = (float(self.s[-1]) / 10.0, float(self.s[0]))
        self.lam_range = _check_range(lam_range, "lam_range")
        if self.lam_range[0] <= 0:
            raise ValueError(f"lam_range must be positive (a log-scale control), got {lam_range!r}")
        self.lam0 = _check_in_range(check_nonnegative(lam), self.lam_range, "lam")
        if lams is None:
            lams = np.append(np.geomspace(*self.lam_range, 8), self.lam0)
        lams = np.unique(np.asarray(lams, dtype=np.float64))
        if lams.ndim != 1 or lams.size < 2 or np.any(lams < self.lam_range[0] * (1 - 1e-12)) \
                or np.any(lams > self.lam_range[1] * (1 + 1e-12)):
            raise ValueError("lams must hold at least two values inside lam_range")
        self.lams = lams
        self._default = self.compute(self.lam0)
        self._current = self._default
        self.curve_recovery = np.array([self.compute(v).recovery for v in self.lams])
        self.curve_kept = np.array([int(np.sum(self.s > v)) for v in self.lams])

    def compute(self, lam) -> LambdaState:
        """The state at objective-2 ``λ`` (in ``lam_range``); changes nothing."""
        lam = _check_in_range(lam, self.lam_range, "lam")
        shrink2 = shrinkage_objective2(self.s, lam)
        B = self._V * np.sqrt(self.s * shrink2)  # fit_objective2's B̂, items in display order
        S = cosine_similarity(B)
        return LambdaState(lam, lam**2, shrink2, shrinkage_objective1(self.s, lam**2), int(np.sum(shrink2 > 0)),
                           _grouped_recovery(S, *self._bounds), S, _block_average(S, self._image_size))

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
        return (f"\u03bb = {state.lam:.4g} (objective 2), \u03bb\u2081 = \u03bb\u00b2 = {_fmt(state.lam1)} "
                f"(objective 1):  objective 2 keeps {state.n_kept} of {self.k} dimensions,  "
                f"cluster recovery {state.recovery:.4f}")

    def _info_html(self, state):
        return (f"<b>objective 2</b>, \u03bb = <code>{state.lam:.4g}</code>: keeps <code>{state.n_kept}</code> "
                f"of {self.k} dimensions (\u03c3\u1d62 &gt; \u03bb); its unique item-item cosine has cluster "
                f"recovery <code>{state.recovery:.4f}</code>.<br>Objective 1 at \u03bb\u2081 = \u03bb\u00b2 = "
                f"<code>{_fmt(state.lam1)}</code> shrinks every dimension but switches none off "
                f"(smallest factor <code>{state.shrink1.min():.3f}</code>).")

    def _make_figure(self, dpi, size, live=False):
        fig = Figure(figsize=(11.0, 3.6), dpi=dpi)
        ax_s = fig.add_axes([0.055, 0.14, 0.26, 0.68])
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
        ax_s.legend(loc="upper left", fontsize=8, frameon=False)
        ax_heat, im = _heatmap_axes(fig, [0.35, 0.13, 0.25, 0.68], [0.595, 0.13, 0.01, 0.68], size)
        ax_heat.set_title("objective 2: unique item-item cosine")
        ax_r = fig.add_axes([0.755, 0.14, 0.23, 0.68])
        ax_r.set_xscale("log")
        ax_r.plot(self.lams, self.curve_recovery, "-", color="C3", lw=2)
        ax_r.set_xlim(self.lam_range)
        ax_r.set_ylim(min(self.curve_recovery.min(), 0.5) - 0.03, 1.01)
        ax_r.set_xlabel("\u03bb (objective 2)")
        ax_r.set_ylabel("cluster recovery")
        ax_r.set_title("recovery of the unique cosine")
        (dot,) = ax_r.plot([self.lam0], [self._default.recovery], "o", color="k", ms=6)
        caption = None if live else fig.text(0.5, 0.95, "", ha="center", va="center", fontsize=11)
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
        art["im"].set_data(_image_data(state.image))
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

    def static_twin(self, lams=None, *, name: str = "lambda_explorer", fps: float = 2.0, dpi: int = TWIN_DPI,
                    image_size: int = TWIN_IMAGE_SIZE):
        """Self-contained HTML slider over precomputed λ (default: the explorer's grid of ~11).

        Returns
        -------
        IPython.display.HTML
        """
        image_size = _check_size(image_size)
        lams = self.lams if lams is None else np.asarray(lams, dtype=np.float64)
        if lams.ndim != 1 or lams.size == 0:
            raise ValueError("lams must be a non-empty 1-D array")
        states = [self.compute(float(v)) for v in lams]
        states = [s._replace(image=_block_average(s.S, image_size)) for s in states]
        fig, art = self._make_figure(dpi, image_size, live=False)
        FigureCanvasAgg(fig)
        return _html(_jshtml(fig, lambda j: self._draw_state(art, states[j]), len(states), name, fps))


# --------------------------------------------------------------------------------------------
# Remedies explorer (chapter 6)
# --------------------------------------------------------------------------------------------

def _colour_limit(S):
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


class RemediesExplorer(_Explorer):
    """Switch between item-item similarity matrices computed on the same data (book chapter 6).

    Everything is computed up front (each matrix's cluster recovery and
    heat-map image), so a switch only redraws. Pass the output of
    :func:`remedy_similarities`, extended with any other matrix, e.g.
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

    _full_redraw = True  # colour limits (and the colour bar) change between matrices

    def render(self, state=None) -> bytes:
        """JPEG of ``state`` (default: the current one); each matrix is drawn once, then cached."""
        state = self.state if state is None else state
        cache = self.__dict__.setdefault("_image_cache", {})
        if state.name not in cache:
            cache[state.name] = super().render(state)
        return cache[state.name]

    def __init__(self, similarities, clusters, popularity=None, *, image_size: int = WIDGET_IMAGE_SIZE,
                 limits=None):
        super().__init__()
        if not isinstance(similarities, Mapping):
            raise TypeError(f"similarities must be a mapping name -> matrix, got {type(similarities).__name__}")
        if not similarities:
            raise ValueError("similarities must not be empty")
        self._image_size = _check_size(image_size)
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
        first = _check_square(similarities[names[0]], f"similarities[{names[0]!r}]")
        p = first.shape[0]
        clusters = _check_labels(clusters, p)
        self.order = _display_order(clusters, popularity)
        self.labels = clusters[self.order]
        bounds = _group_bounds(self.labels)
        states, self._sorted = {}, {}
        for name in names:
            S = _check_square(similarities[name], f"similarities[{name!r}]")
            if S.shape != (p, p):
                raise ValueError(f"similarities[{name!r}] must have shape {(p, p)}, got {S.shape}")
            S = S[np.ix_(self.order, self.order)]
            self._sorted[name] = S
            if name in limits:
                vmin, vmax = _check_range(limits[name], f"limits[{name!r}]")
            else:
                vmax = _colour_limit(S)
                vmin = -vmax
            states[name] = RemedyState(name, _grouped_recovery(S, *bounds), vmin, vmax,
                                       _block_average(S, self._image_size))
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
        fig = Figure(figsize=(9.0, 3.6), dpi=dpi)
        ax_heat, im = _heatmap_axes(fig, [0.03, 0.13, 0.32, 0.68], [0.335, 0.13, 0.012, 0.68], size,
                                    label="similarity")
        title = ax_heat.set_title("")
        ax_b = fig.add_axes([0.66, 0.13, 0.3, 0.68])
        y = np.arange(len(self.names))
        bars = ax_b.barh(y, [self.states[n].recovery for n in self.names], color="0.75")
        ax_b.set_yticks(y, [n for n in self.names], fontsize=8)
        ax_b.invert_yaxis()
        ax_b.axvline(0.5, color="k", ls=":", lw=1)
        low = min(0.45, min(s.recovery for s in self.states.values()) - 0.02)
        ax_b.set_xlim(low, 1.0)
        for yi, n in zip(y, self.names):
            ax_b.text(low + 0.01, yi, f"{self.states[n].recovery:.4f}", va="center", fontsize=8)
        ax_b.set_xlabel("cluster recovery (0.5 = chance)")
        ax_b.set_title("all variants")
        caption = fig.text(0.5, 0.95, "", ha="center", va="center", fontsize=11)
        return fig, {"im": im, "title": title, "bars": bars, "caption": caption,
                     "dynamic": [im, title, caption, *bars]}

    def _draw_state(self, art, state):
        art["im"].set_data(_image_data(state.image))
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

    def static_twin(self, *, name: str = "remedies_explorer", fps: float = 1.0, dpi: int = TWIN_DPI,
                    image_size: int = TWIN_IMAGE_SIZE):
        """Self-contained HTML slider with one frame per similarity matrix.

        Returns
        -------
        IPython.display.HTML
        """
        image_size = _check_size(image_size)
        states = [self.states[n]._replace(image=_block_average(self._sorted[n], image_size)) for n in self.names]
        fig, art = self._make_figure(dpi, image_size, live=False)
        FigureCanvasAgg(fig)
        return _html(_jshtml(fig, lambda j: self._draw_state(art, states[j]), len(states), name, fps))

