"""The built book in a real browser, with the network cut off (issue: offline site).

Reuses the book that ``make test`` built (or builds it as ``make book``
does), serves ``_build/html`` on 127.0.0.1 and opens pages in headless
Chromium (Debian's ``chromium``) through Playwright. Every request that leaves
127.0.0.1 is blocked and recorded. With ``COSIM_SCREENSHOTS=1`` screenshots
are saved to ``_build/screenshots/`` for people to look at.

Skipped, with a message, only when no Chromium is installed; under CI
(``CI`` set) a missing browser is a failure. The server, the browser and
the offline context are the fixtures of ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
SCREENSHOTS = bool(os.environ.get("COSIM_SCREENSHOTS"))
PAGES = ["book/01_introduction", "book/04_objective1", "book/07_experiments"]
#: Pages that carry a static twin of an explorer (cosim_helpers.widgets.static_twin).
TWIN_PAGES = ["book/04_objective1", "book/05_objective2", "book/07_experiments"]


@pytest.fixture(scope="module")
def book_html():
    """The built book, building it (as `make book`) only when needed.

    ``make test`` builds the book first, so this reuses that build and its one
    execution of the notebooks; run on its own, it builds the book itself.
    """
    sys.path.insert(0, str(ROOT / "tools"))
    import notebooks

    if not (HTML / "index.html").exists() or not notebooks.cache_is_current():
        notebooks.fill_cache(notebooks.chapter_notebooks())
        jb = Path(sys.executable).with_name("jupyter-book")
        build = subprocess.run([str(jb), "build", str(ROOT), "--warningiserror", "--keep-going"],
                               check=False, capture_output=True, text=True, timeout=1500)
        assert build.returncode == 0, "book build failed:\n" + build.stdout[-4000:] + build.stderr[-4000:]
    return HTML


def open_offline(offline_page, url):
    """Open ``url`` with every non-loopback request blocked; return (page, outside, errors)."""
    page, outside = offline_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page, outside, errors


def wait_for_mathjax(page):
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    page.evaluate("MathJax.startup.promise")


def prose_text(page):
    """Visible text of the page body outside code cells and outputs."""
    return page.evaluate(
        """() => { const a = document.querySelector('main').cloneNode(true);
                   a.querySelectorAll('pre, code, .cell_output, mjx-container, script').forEach(e => e.remove());
                   return a.innerText; }"""
    )


@pytest.mark.parametrize("name", PAGES)
def test_page_is_complete_offline(site, offline_page, name):
    page, outside, errors = open_offline(offline_page, f"{site}/{name}.html")
    wait_for_mathjax(page)
    # MathJax typeset the maths from the site's own copy ...
    assert page.locator("mjx-container").count() > 0
    text = prose_text(page)
    assert "$$" not in text and "\\(" not in text and "\\[" not in text
    if SCREENSHOTS:  # for looking at, not checked: a full-page shot of chapter 4 costs seconds
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{Path(name).name}.png"), full_page=True)
    # ... with no request leaving 127.0.0.1 and no console errors.
    assert outside == [], f"requests outside 127.0.0.1: {outside}"
    assert errors == [], f"console errors: {errors}"
    page.context.close()


@pytest.mark.parametrize("name", TWIN_PAGES)
def test_static_twin_slider_changes_the_frame(site, offline_page, name):
    page, outside, errors = open_offline(offline_page, f"{site}/{name}.html")
    slider = page.locator("input.anim-slider").first
    image = page.locator("img[id^='_anim_img']").first
    slider.scroll_into_view_if_needed()
    n_frames = int(slider.get_attribute("max")) + 1
    assert n_frames >= 5, f"the twin should scrub through several states, found {n_frames}"
    before = image.get_attribute("src")
    slider.evaluate("(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", n_frames - 1)
    after = image.get_attribute("src")
    assert after != before, "moving the twin's slider did not change the displayed frame"
    if SCREENSHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{Path(name).name}_twin.png"))
    assert outside == [] and errors == []
    page.context.close()
