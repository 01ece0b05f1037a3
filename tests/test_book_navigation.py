"""Reading the built book on a phone and on a desktop (issue 21), in a real browser.

* **Menu and contents buttons**: on every page of ``_toc.yml``, at 390 x 844 and
  1366 x 900, Playwright taps the menu button and the contents button a reader
  sees. On a phone each opens its sidebar as a dialog showing a chapter link
  (menu) or a section link (contents); on a desktop the menu collapses the
  open sidebar and a second tap brings it back, and the contents are shown
  beside the text. (With the themes' bug, pydata-sphinx-theme #2451, the taps
  did nothing; ``book/_static/nav.js`` fixes it.)
* **One search field** on a desktop.
* **No page scrolls sideways** at 390 px.
* **Every wide equation shows that it scrolls** at 390 px (solutions opened):
  a shadow on the side where the line goes on (``book/_static/a11y.js`` and
  ``legible.css``), checked in the pixels of the equation's box.

Uses the book in ``_build/html`` and the browser fixtures of ``tests/conftest.py``
(skipped without them, a failure under CI). Screenshots go to ``_build/screenshots/nav/``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots" / "nav"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if Path(p).name[:2].isdigit()]

#: The visible buttons of the article header (the theme's hidden twins sit in the top navbar).
MENU = ".bd-header-article .primary-toggle"
CONTENTS = ".bd-header-article .secondary-toggle"
#: A link to a chapter in the book's navigation, and a link to a section of this page.
CHAPTER_LINK = "nav.bd-docs-nav a.reference.internal[href*='0']"
SECTION_LINK = "nav.page-toc a.nav-link"


def _open(offline_page, site, name, viewport, mathjax=False):
    page, outside = offline_page(viewport=viewport)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site}/{name}.html", wait_until="load")
    if mathjax:
        # (a page without maths loads no MathJax)
        page.wait_for_function("!window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=30_000)
        page.evaluate("window.MathJax ? MathJax.startup.promise.then(() => true) : true")
    page.wait_for_timeout(400)  # the theme and a11y.js settle after load
    return page, outside, errors


def _visible_in(page, container, link):
    return page.locator(f"{container} {link}").first.is_visible()


@pytest.mark.parametrize("name", PAGES)
def test_menu_and_contents_open_on_a_phone(offline_page, site, name):
    page, outside, errors = _open(offline_page, site, name, PHONE)
    menu = page.locator(MENU)
    assert menu.is_visible(), f"{name}: no visible menu button at 390 px"
    assert not page.locator("#pst-primary-sidebar-modal").evaluate("d => d.open")
    menu.click()
    page.wait_for_timeout(300)
    assert page.locator("#pst-primary-sidebar-modal").evaluate("d => d.open"), f"{name}: the menu did not open"
    assert _visible_in(page, "#pst-primary-sidebar-modal", CHAPTER_LINK), f"{name}: no chapter link in the menu"
    if name == "book/04_objective1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "04_objective1-390-menu.png"))
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    assert not page.locator("#pst-primary-sidebar-modal").evaluate("d => d.open"), f"{name}: Escape left the menu open"

    contents = page.locator(CONTENTS)
    if name in CHAPTERS:
        assert contents.count() == 1 and contents.is_visible(), f"{name}: no visible contents button at 390 px"
    if contents.count():
        contents.click()
        page.wait_for_timeout(300)
        assert page.locator("#pst-secondary-sidebar-modal").evaluate("d => d.open"), f"{name}: contents did not open"
        assert _visible_in(page, "#pst-secondary-sidebar-modal", SECTION_LINK), f"{name}: no section link shown"
    assert outside == [] and errors == [], (outside, errors)
    page.context.close()


@pytest.mark.parametrize("name", PAGES)
def test_menu_collapses_and_restores_the_sidebar_on_a_desktop(offline_page, site, name):
    page, outside, errors = _open(offline_page, site, name, DESKTOP)
    sidebar = page.locator("#pst-primary-sidebar")
    link = page.locator(f"#pst-primary-sidebar {CHAPTER_LINK}").first
    assert link.is_visible(), f"{name}: the sidebar is not open at 1366 px"
    page.locator(MENU).click()
    page.wait_for_timeout(500)
    assert not link.is_visible(), f"{name}: the menu button did not collapse the sidebar"
    page.locator(MENU).click()
    page.wait_for_timeout(500)
    assert sidebar.is_visible() and link.is_visible(), f"{name}: a second tap did not bring the sidebar back"
    # The contents sit beside the text on a desktop (no button needed).
    if name in CHAPTERS:
        assert page.locator(f"#pst-secondary-sidebar {SECTION_LINK}").first.is_visible(), f"{name}: no contents"
    # One search field, not two.
    fields = page.locator(".search-button-field").evaluate_all(
        "bs => bs.filter(b => b.getBoundingClientRect().width > 0).length")
    assert fields == 1, f"{name}: {fields} search fields on a desktop"
    assert outside == [] and errors == [], (outside, errors)
    page.context.close()


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


@pytest.mark.parametrize("name", PAGES)
def test_no_sideways_scroll_and_wide_equations_show_they_scroll(offline_page, site, name):
    page, outside, errors = _open(offline_page, site, name, PHONE, mathjax=True)
    # Open every solution: its equations must show the cue too once visible.
    page.evaluate("() => document.querySelectorAll('.toggle-hidden > .admonition-title, "
                  "details:not([open]) > summary').forEach(t => t.click())")
    page.wait_for_timeout(500)
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
        page.wait_for_timeout(100)
        left, right = _edge_contrast(m.screenshot())
        assert left > 25 and right < 5, f"{name}: scrolled to its end, equation {i} still points right"
    assert outside == [] and errors == [], (outside, errors)
    page.context.close()
