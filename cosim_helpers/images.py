"""Heat-map images of large similarity matrices: block averaging and palette PNGs.

A 1,000 x 1,000 item-item matrix is drawn in a few hundred screen pixels, so
the book's heat maps (figures and explorers) draw a block average of it:
as legible, and a fraction of the bytes. A rendered heat map is then stored
as a 256-colour PNG whose palette holds its colour map exactly
(:func:`palette_png`): about a third of the bytes of the full-colour PNG.
"""

from __future__ import annotations

import io

import numpy as np

from ._validation import as_square, check_int


def block_average(S, size: int) -> np.ndarray:
    """Shrink a p x p matrix to at most ``size x size`` by averaging blocks.

    Row and column blocks are the same contiguous index ranges, as equal as
    possible (``p/size`` rounded), so the block structure of a
    cluster-sorted matrix is kept. A matrix with ``p <= size`` is returned
    unchanged (as a copy).

    Parameters
    ----------
    S : array_like, shape (p, p)
    size : int
        Largest side of the result, ``>= 2``.

    Returns
    -------
    numpy.ndarray, shape (min(p, size), min(p, size))
    """
    S = as_square(S)
    size = check_int(size, "size", 2)
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


#: Colour-map entries always in a :func:`palette_png` palette (the rest of the 256 go to the image's own colours).
PALETTE_CMAP_LEVELS = 96
#: Palette entries kept for the colours served worst by the others (antialiased edges of rare colours).
PALETTE_WORST = 32
#: Largest change (of 255, in any channel) :func:`palette_png` accepts in any pixel; else it keeps the original.
PALETTE_MAX_ERROR = 32


def palette_png(png: bytes, cmap: str, *, levels: int = PALETTE_CMAP_LEVELS,
                max_error: int = PALETTE_MAX_ERROR) -> bytes:
    """Re-encode an opaque PNG with a 256-colour palette that contains the colour map ``cmap``.

    The palette is ``levels`` evenly spaced entries of ``cmap`` (so heat maps
    and colour bars keep a smooth ramp: a median-cut palette drops the rare
    ends of a colour bar and bands it), then the image's most frequent
    other colours (text, lines, background), each more than 3 levels from
    every entry already chosen, and last (:data:`PALETTE_WORST` entries) the
    colours farthest from all of those, one at a time. Every pixel takes its
    nearest palette colour (exact search, no dithering): deterministic, so
    equal inputs give equal bytes.

    Parameters
    ----------
    png : bytes
        A PNG image.
    cmap : str
        Name of the matplotlib colour map the image's heat maps use.
    levels : int
        Colour-map entries in the palette, from 2 to 255.
    max_error : int
        If any pixel would change by more than this (of 255, in any
        channel), ``png`` is returned unchanged: legibility first. So it is
        for an image with transparent pixels or more than 65,536 colours
        (a photograph, not a plot).

    Returns
    -------
    bytes
        A palette PNG (or ``png`` itself, see ``max_error``).
    """
    from matplotlib import colormaps
    from PIL import Image

    levels = check_int(levels, "levels", 2)
    if levels > 255:
        raise ValueError(f"levels must be at most 255, got {levels}")
    image = Image.open(io.BytesIO(png))
    if image.mode == "P" or (image.mode == "RGBA" and image.getextrema()[3][0] < 255):
        return png
    pixels = np.asarray(image.convert("RGB"))
    packed = (pixels[..., 0].astype(np.int32) << 16) | (pixels[..., 1].astype(np.int32) << 8) | pixels[..., 2]
    colours, inverse, counts = np.unique(packed.ravel(), return_inverse=True, return_counts=True)
    if len(colours) > 65_536:
        return png
    colours = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], axis=1)
    palette = np.zeros((256, 3), dtype=np.int32)
    palette[:levels] = np.rint(colormaps[cmap](np.linspace(0.0, 1.0, levels))[:, :3] * 255)
    n = levels
    for i in np.argsort(-counts, kind="stable"):  # the most frequent other colours ...
        if n == 256 - PALETTE_WORST:
            break
        if np.abs(palette[:n] - colours[i]).max(axis=1).min() > 3:
            palette[n] = colours[i]
            n += 1

    def distances(entries):
        d = np.zeros((len(colours), len(entries)), dtype=np.int32)
        for channel in range(3):
            d += (colours[:, None, channel] - entries[None, :, channel]) ** 2
        return d

    error = distances(palette[:n]).min(axis=1)
    while n < 256 and error.max() > 3 * 3 * 3:  # ... then the worst-served ones (rare edge blends)
        palette[n] = colours[error.argmax()]
        error = np.minimum(error, distances(palette[n:n + 1])[:, 0])
        n += 1
    palette = palette[:n]
    nearest = distances(palette).argmin(axis=1)
    if np.abs(palette[nearest] - colours).max() > max_error:
        return png
    out = Image.fromarray(nearest.astype(np.uint8)[inverse].reshape(pixels.shape[:2]), "P")
    out.putpalette(palette.astype(np.uint8).ravel().tolist())
    buf = io.BytesIO()
    out.save(buf, format="png", optimize=True)
    return buf.getvalue()
