"""How the explorers' figures become bytes: JPEG for the live widget, palette-PNG HTML for the twins.

Presentation only: nothing here knows what a figure shows, beyond the book's
colour map (the twins' palettes keep it exactly, :func:`cosim_helpers.images.palette_png`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import re

import numpy as np
from matplotlib import rc_context
from matplotlib.animation import FuncAnimation

from ..images import palette_png
from ..plots import CMAP

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

#: rcParams pinned while a twin or a static image is rendered, so that its bytes do not depend on the user's settings.
TWIN_RC = {
    "animation.frame_format": "png",
    "savefig.dpi": "figure",  # a twin's frames have the resolution its figure was made with
    "savefig.bbox": None,
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "savefig.pad_inches": 0.1,
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


def jshtml(fig, update, n_frames: int, name: str, fps: float, start: int = 0) -> str:
    """Render ``update(j)`` for ``j < n_frames`` into a deterministic, self-contained jshtml string.

    The twin opens at frame ``start`` (its slider too): an explorer's default
    view, not the first value of its grid (issue 21: the D explorers opened
    at α = −2, an almost uniform heat map).
    """
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start < n_frames:
        raise ValueError(f"start must be a frame index from 0 to {n_frames - 1}, got {start!r}")
    # FuncAnimation asks the canvas for an idle redraw after every frame, and
    # saving the frame draws it again; this private, never-shown canvas can
    # skip the first of the two (it halves the rendering time).
    fig.canvas.draw_idle = lambda *args, **kwargs: None
    with rc_context(TWIN_RC):
        anim = FuncAnimation(fig, lambda j: update(j) or [], frames=n_frames, interval=1000.0 / fps,
                             blit=False, repeat=False, cache_frame_data=False)
        html = anim.to_jshtml(fps=fps, default_mode="once")
    return open_at(stable_jshtml_ids(_palette_frames(html), name), int(start))


def open_at(html: str, frame: int) -> str:
    """Make a jshtml twin show ``frame`` when the page loads (matplotlib's always shows frame 0)."""
    html, n = re.subn(r"(\n(\s*)(anim\w+) = new Animation\([^;]*\);)", rf"\1\n\2\3.set_frame({frame});", html)
    if n != 1:
        raise ValueError(f"expected one Animation in the twin, found {n}")
    return html


def _palette_frames(html: str) -> str:
    """Re-encode every embedded PNG frame as a palette PNG that keeps the book's colour map.

    Frames shrink about 3-fold with no visible change
    (:func:`cosim_helpers.images.palette_png`); the encoding is
    deterministic, so equal frames stay byte-identical.
    """

    def shrink(match):
        png = palette_png(base64.b64decode(match.group(1).replace("\\\n", "")), CMAP)
        return '"data:image/png;base64,' + base64.b64encode(png).decode("ascii") + '"'

    return re.sub(r'"data:image/png;base64,([^"]*)"', shrink, html)


def html(text: str):
    """``IPython.display.HTML`` of ``text``."""
    from IPython.display import HTML

    return HTML(text)


def png(fig, dpi: float) -> bytes:
    """PNG bytes of a figure, with the rcParams pinned (:data:`TWIN_RC`)."""
    buf = io.BytesIO()
    with rc_context(TWIN_RC):
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def jpeg(canvas) -> bytes:
    """JPEG (quality 90, 4:2:0 chroma) of an Agg canvas, for the live widget.

    A few ms to encode and ~50 KB, against ~10 ms for a PNG of the same
    figure, and about half the time of 4:4:4 chroma (invisible at the heat
    map's cell size): at every control change the encoding would otherwise
    cost as much as the maths. The static figure (PNG) and the twins
    (palette PNG) are unaffected.
    """
    from PIL import Image

    width, height = canvas.get_width_height()
    buf = io.BytesIO()
    Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB") \
        .save(buf, format="jpeg", quality=90, subsampling=2)
    return buf.getvalue()
