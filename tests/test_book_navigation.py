"""Reading the built book on a phone (issues 13 and 21), in a real browser.

Every page is opened once at 390 x 844 px (MathJax done, light mode) and all the phone checks
run on that one visit, in this order (pytest groups the tests by page):

* **Nothing cut off** at 390 px on every page of the audit (test_accessibility's check and
  page list, including the theme's index and search pages; it checks 1366 px on its desktop
  visit).
* **Menu and contents buttons**: on every page of ``_toc.yml`` Playwright taps the menu button
  and the contents button a reader sees; each opens its sidebar as a dialog showing a chapter
  link (menu) or a section link (contents). (With the themes' bug, pydata-sphinx-theme #2451,
  the taps did nothing; ``book/_static/nav.js`` fixes it.) The desktop half (the menu collapses
  the open sidebar and a second tap brings it back, the contents beside the text, one search
  field) runs on test_accessibility's desktop visit.
* **No page scrolls sideways** at 390 px, solutions opened.
* **Every wide equation shows that it scrolls** at 390 px (solutions opened): a shadow on the
  side where the line goes on (``book/_static/a11y.js`` and ``legible.css``), checked in the
  pixels of the equation's box.

Uses the book in ``_build/html`` and the browser fixtures of ``tests/conftest.py`` (skipped
without them, a failure under CI). A screenshot of the open menu goes to
``_build/screenshots/nav/``; full-page ones to ``_build/screenshots/a11y/`` (see
test_accessibility.SCREENSHOTS).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from .test_accessibility import (
    CHAPTER_LINK,
    CHAPTERS,
    CONTENTS,
    MENU,
    PAGES,
    SECTION_LINK,
    TOC_PAGES,
    WIDTHS,
    _load,
    check_nothing_cut_off,
    settle,
)
from .test_plots import MIN_PHONE_FONT_PX, figures_too_small

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots" / "nav"
PHONE = {"width": WIDTHS["phone"], "height": 844}


@pytest.fixture(scope="module", params=PAGES)
def phone(request, offline_page, site):
    """The phone visit of every page, shared by the tests below in the order they are written;
    the last one opens the solutions."""
    yield from _load(request, offline_page, site, PHONE)


def test_nothing_cut_off_on_a_phone(phone):
    check_nothing_cut_off(phone.name, phone.page, WIDTHS["phone"])


#: Figures measured per page on the phone visit.
FIGURES: dict = {}


def test_figures_are_legible_on_a_phone(phone):
    """Issue 21: the text in every figure and twin is at least MIN_PHONE_FONT_PX CSS px at 390 px."""
    seen, small = figures_too_small(phone.page, phone.name, MIN_PHONE_FONT_PX)
    FIGURES[phone.name] = seen
    assert small == [], f"text below {MIN_PHONE_FONT_PX} CSS px at 390 px: " + "; ".join(small)


def _visible_in(page, container, link):
    return page.locator(f"{container} {link}").first.is_visible()


def _dialog_open(page, dialog):
    return page.locator(dialog).evaluate("d => d.open")


DIALOG_OPEN = "d => document.querySelector(d).open"
DIALOG_CLOSED = "d => !document.querySelector(d).open"


@pytest.mark.parametrize("phone", TOC_PAGES, indirect=True)
def test_menu_and_contents_open_on_a_phone(phone):
    name, page = phone.name, phone.page
    menu = page.locator(MENU)
    assert menu.is_visible(), f"{name}: no visible menu button at 390 px"
    assert not _dialog_open(page, "#pst-primary-sidebar-modal")
    menu.click()
    settle(page, DIALOG_OPEN, "#pst-primary-sidebar-modal")
    assert _dialog_open(page, "#pst-primary-sidebar-modal"), f"{name}: the menu did not open"
    assert _visible_in(page, "#pst-primary-sidebar-modal", CHAPTER_LINK), f"{name}: no chapter link in the menu"
    if name == "book/04_objective1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "04_objective1-390-menu.png"))
    page.keyboard.press("Escape")
    settle(page, DIALOG_CLOSED, "#pst-primary-sidebar-modal")
    assert not _dialog_open(page, "#pst-primary-sidebar-modal"), f"{name}: Escape left the menu open"

    contents = page.locator(CONTENTS)
    if name in CHAPTERS:
        assert contents.count() == 1 and contents.is_visible(), f"{name}: no visible contents button at 390 px"
    if contents.count():
        contents.click()
        settle(page, DIALOG_OPEN, "#pst-secondary-sidebar-modal")
        assert _dialog_open(page, "#pst-secondary-sidebar-modal"), f"{name}: contents did not open"
        assert _visible_in(page, "#pst-secondary-sidebar-modal", SECTION_LINK), f"{name}: no section link shown"
        # closed again for the next test on this visit
        page.keyboard.press("Escape")
        settle(page, DIALOG_CLOSED, "#pst-secondary-sidebar-modal")
        assert not _dialog_open(page, "#pst-secondary-sidebar-modal"), f"{name}: Escape left the contents open"
    assert phone.outside == [] and phone.errors == [], (name, phone.outside, phone.errors)


#: Hide the equation's glyphs, keep its box: what is left at the edges is the scroll cue.
BOX_ONLY = "m => { m.querySelectorAll(':scope > *').forEach(c => c.style.visibility = 'hidden'); }"


def _edge_contrast(png: bytes):
    """(left, right): how far the 6-px strips at the box's edges are from its middle's colour."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    w, h = img.size
    rows = range(2, max(3, h - 10))  # above a scroll bar

    def mean(x0, x1):
        vals = [img.getpixel((x, y)) for x in range(x0, x1) for y in rows]
        return sum(vals) / len(vals)

    middle = mean(w // 2 - 3, w // 2 + 3)
    return abs(mean(0, 6) - middle), abs(mean(w - 6, w) - middle)


@pytest.mark.parametrize("phone", TOC_PAGES, indirect=True)
def test_no_sideways_scroll_and_wide_equations_show_they_scroll(phone):
    name, page = phone.name, phone.page
    # Open every solution: its equations must show the cue too once visible. (A click opens them at
    # once; a11y.js's ResizeObservers then mark the newly wide equations before the next frame.)
    page.evaluate("() => document.querySelectorAll('.toggle-hidden > .admonition-title, "
                  "details:not([open]) > summary').forEach(t => t.click())")
    settle(page, "() => !document.querySelector('.toggle-hidden > .admonition-title, details:not([open]) > summary')")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1] + 1, f"{name}: the page scrolls sideways at 390 px ({width[0]} > {width[1]} px)"

    wide = page.locator("mjx-container[display='true']").evaluate_all(
        "ms => ms.map((m, i) => [i, m.scrollWidth - m.clientWidth, m.getBoundingClientRect().width > 0 ? 1 : 0,"
        " m.classList.contains('math-more-right')]).filter(r => r[1] > 1 && r[2])")
    no_cue = [i for i, _, _, cue in wide if not cue]
    assert no_cue == [], f"{name}: {len(no_cue)} of {len(wide)} wide equations carry no scroll cue"
    for i, _, _, _ in wide[:3]:  # the pixels of the first few
        m = page.locator("mjx-container[display='true']").nth(i)
        m.scroll_into_view_if_needed()
        m.evaluate(BOX_ONLY)
        left, right = _edge_contrast(m.screenshot())
        assert right > 25 and left < 5, f"{name}: wide equation {i} shows no cue (edge contrast {left:.0f}, {right:.0f})"
        m.evaluate("m => { m.scrollLeft = m.scrollWidth; }")
        # a11y.js moves the cue on the scroll event (fired with the next frame)
        settle(page, "i => document.querySelectorAll(\"mjx-container[display='true']\")[i]"
                     ".classList.contains('math-more-left')", i)
        left, right = _edge_contrast(m.screenshot())
        assert left > 25 and right < 5, f"{name}: scrolled to its end, equation {i} still points right"
    assert phone.outside == [] and phone.errors == [], (name, phone.outside, phone.errors)


def test_every_figure_was_measured_on_a_phone():
    """The phone legibility check saw the book's figures and twins (not zero by a broken selector)."""
    if len(FIGURES) != len(PAGES):
        pytest.skip("needs the phone visit of every page in the same run")
    assert sum(FIGURES.values()) >= 15, FIGURES
