"""Every built chapter page, with the images it shows, weighs at most 1 MB (issue 9).

A page's weight is its HTML (static twins and their frames are embedded in
it) plus every file of ``_images`` it references; the theme's shared CSS,
JavaScript and fonts, cached after the first page, do not count. Reads the
book already built in ``_build/html`` (``make test`` builds it first);
skipped without it (a failure under CI). What keeps pages light: heat maps
drawn from block averages (:mod:`cosim_helpers.images`), palette PNGs for
figures and twin frames, and no dead widget state (``book/_ext/light_pages.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

#: Largest weight of a built chapter page with its images, in bytes.
PAGE_BUDGET = 1_000_000
_IMAGE = re.compile(r'src="((?:\.\./)*_images/[^"]+)"')


def page_weight(page: Path) -> tuple[int, int]:
    """``(html_bytes, image_bytes)`` of a built page: its HTML and each distinct ``_images`` file it shows."""
    html = page.read_bytes()
    images = {(page.parent / src).resolve() for src in _IMAGE.findall(html.decode("utf-8"))}
    return len(html), sum(path.stat().st_size for path in images)


def test_page_weight_counts_html_and_each_image_once(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "a.png").write_bytes(b"x" * 300)
    (tmp_path / "book").mkdir()
    page = tmp_path / "book" / "p.html"
    page.write_text('<img src="../_images/a.png"><img src="../_images/a.png">')
    assert page_weight(page) == (len(page.read_bytes()), 300)


def test_every_chapter_page_is_at_most_1_mb(book_html):
    pages = sorted((book_html / "book").glob("*.html"))
    assert len(pages) >= 11, f"expected the book's chapter pages in {book_html / 'book'}"
    weights = {page.stem: page_weight(page) for page in pages}
    heavy = {name: f"{(h + i) / 1e6:.2f} MB (HTML {h / 1e6:.2f}, images {i / 1e6:.2f})"
             for name, (h, i) in weights.items() if h + i > PAGE_BUDGET}
    assert heavy == {}, f"chapter pages over {PAGE_BUDGET / 1e6:g} MB with their images: {heavy}"
