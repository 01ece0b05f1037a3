"""Tests of cosim_helpers.images: the block average every heat map is drawn from, and its palette PNGs."""

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from cosim_helpers.images import PALETTE_MAX_ERROR, block_average, palette_png
from cosim_helpers.plots import CMAP


@pytest.mark.parametrize("p,size", [(12, 4), (13, 4), (10, 3), (6, 6), (5, 8)])
def test_block_average_is_the_mean_of_each_block(p, size):
    S = np.random.default_rng(p).standard_normal((p, p))
    out = block_average(S, size)
    if p <= size:
        assert np.array_equal(out, S) and out is not S
        return
    edges = np.rint(np.linspace(0, p, size + 1)).astype(int)
    expected = np.array([[S[edges[i]:edges[i + 1], edges[j]:edges[j + 1]].mean() for j in range(size)]
                         for i in range(size)])
    assert out.shape == (size, size)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-14)


def test_block_average_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        block_average(np.ones((3, 4)), 2)
    with pytest.raises(ValueError, match="size"):
        block_average(np.eye(4), 1)
    with pytest.raises(TypeError, match="size"):
        block_average(np.eye(4), 2.0)


def _heatmap_png(seed=0, dpi=100):
    """A book-like figure: a noisy heat map, its colour bar (every colour of the map), text and lines."""
    rng = np.random.default_rng(seed)
    fig = Figure(figsize=(6, 3), dpi=dpi)
    ax, ax2 = fig.subplots(1, 2)
    im = ax.imshow(np.clip(rng.standard_normal((120, 120)) * 0.5, -1, 1), cmap=CMAP, vmin=-1, vmax=1,
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, label="cosine similarity")
    for c in ("C0", "C1", "C2", "C3", "k"):
        ax2.plot(rng.standard_normal(30).cumsum(), color=c, label=c)
    ax2.legend(fontsize=7)
    ax.set_title("item-item cosine")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return buf.getvalue()


def _rgb(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_palette_png_keeps_every_pixel_close_and_is_smaller():
    png = _heatmap_png()
    light = palette_png(png, CMAP)
    assert Image.open(io.BytesIO(light)).mode == "P"
    assert len(light) < 0.6 * len(png)
    error = np.abs(_rgb(light) - _rgb(png)).max(axis=2)
    assert error.max() <= PALETTE_MAX_ERROR and error.mean() < 0.5 and np.mean(error > 8) < 0.01
    assert palette_png(png, CMAP) == light  # deterministic


def test_palette_png_keeps_the_colour_maps_whole_ramp():
    """A colour bar stays smooth: a median-cut palette bands its rarely used ends by ~60 levels."""
    from matplotlib import colormaps

    rgb = np.rint(colormaps[CMAP](np.linspace(0, 1, 1000))[:, :3] * 255).astype(np.uint8)
    image = np.full((1000, 400, 3), 255, dtype=np.uint8)
    image[:, :20] = rgb[:, None, :]  # a thin bar: few pixels of each colour
    image[200:800, 100:300] = rgb[500]  # a large area of one colour
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="png")
    light = palette_png(buf.getvalue(), CMAP)
    assert np.abs(_rgb(light) - image.astype(int)).max() <= 8


def test_palette_png_leaves_what_it_cannot_keep_legible_unchanged():
    transparent = io.BytesIO()
    Image.new("RGBA", (8, 8), (255, 0, 0, 128)).save(transparent, format="png")
    assert palette_png(transparent.getvalue(), CMAP) == transparent.getvalue()
    photo = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(photo, format="png")
    assert palette_png(photo.getvalue(), CMAP) == photo.getvalue()
    light = palette_png(_heatmap_png(), CMAP)
    assert palette_png(light, CMAP) == light  # already a palette image
    # a strict bound sends the figure back unchanged
    png = _heatmap_png()
    assert palette_png(png, CMAP, max_error=0) == png
    assert PALETTE_MAX_ERROR >= 16


def test_palette_png_rejects_bad_levels():
    with pytest.raises(ValueError, match="levels"):
        palette_png(_heatmap_png(), CMAP, levels=256)
    with pytest.raises(TypeError, match="levels"):
        palette_png(_heatmap_png(), CMAP, levels=2.5)
