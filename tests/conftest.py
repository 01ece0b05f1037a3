"""Shared fixtures and hypothesis settings for the package tests, and the built book in a browser."""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Deterministic, CI-friendly property tests: a fixed number of examples, no
# per-example deadline (BLAS timing varies on shared 2-core machines) and a
# derandomised search so that a failure reproduces on every run.
settings.register_profile(
    "book", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("book")

#: Test modules in the order the two workers take them up (`make test` runs pytest with
#: ``--dist loadfile --no-loadscope-reorder``): the longest first, so that the last files to start
#: are short and both workers end together. xdist's own order (most tests first) left the three
#: whole-book PDF prints, files of few tests, to the end, where one worker ran them alone for about
#: 90 s. Longest first by worker seconds in a fresh clone's `make test`; the rest keep their order.
LONGEST_FIRST = ("test_accessibility", "test_pdf", "test_coursework", "test_i18n", "test_book_navigation",
                 "test_audit_dask", "test_otter", "test_plots", "test_audit_libraries", "test_coursework_round2",
                 "test_browser", "test_real_data")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: a module stays in one piece


def random_data(seed, n=30, p=8):
    """A dense random X (n x p) with distinct singular values (almost surely)."""
    return np.random.default_rng(seed).standard_normal((n, p))


@pytest.fixture
def X_small():
    return random_data(0)


# --- the built book in a browser (test_browser, test_accessibility, test_page_weight) ------------
ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("COSIM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing(what: str):
    """Skip the test for lack of ``what``; under CI (``CI`` set) fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {what}")
    pytest.skip(f"skipped: {what}")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def book_html():
    """The built book's HTML folder; skipped (a failure under CI) before `make book` has run.

    A test module may override this fixture (test_browser builds the book when needed).
    """
    if not (HTML / "book" / "index.html").exists():
        missing("the book is not built (_build/html): run `make book` first")
    return HTML


@pytest.fixture(scope="module")
def site(book_html):
    """The built book served on 127.0.0.1 (a free port); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's ``chromium``) through Playwright; skipped (a failure under CI) without it."""
    if CHROMIUM is None:
        missing("no Chromium installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def offline_page(browser):
    """``new(**context_options) -> (page, outside)``: a page in a fresh browser context, offline.

    Every request that leaves 127.0.0.1 is blocked and its URL appended to
    ``outside``. The viewport defaults to 1280 x 900. Close the page's
    context when done (``page.context.close()``).
    """

    def new(**context_options):
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context_options})
        outside = []

        def route(r):
            if urlparse(r.request.url).hostname == "127.0.0.1":
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        return context.new_page(), outside

    return new


def open_book_page(offline_page, site, name: str, viewport: dict, mode: str = "light"):
    """``(page, outside, errors)``: the book's page ``name`` opened once, offline, as a reader sees it.

    The page is in colour ``mode`` (pydata-sphinx-theme reads it from localStorage before it
    paints) at ``viewport``, with MathJax's typesetting done (a page without maths loads no
    MathJax). ``outside`` collects requests that left 127.0.0.1, ``errors`` the page's
    uncaught JavaScript errors, for the tests to assert on. The browser tests open each page
    once per viewport and run all their checks on that one visit (a module-scoped fixture per
    viewport: test_accessibility at 1366 px, test_book_navigation at 390 px); each load costs
    seconds under ``make test``'s load.
    """
    page, outside = offline_page(viewport=viewport, color_scheme=mode)
    page.context.add_init_script(f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site}/{name}.html", wait_until="load")
    page.wait_for_function("!window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=30_000)
    page.evaluate("window.MathJax ? MathJax.startup.promise.then(() => true) : true")
    assert page.evaluate("document.documentElement.dataset.theme") == mode, f"{name}: not in {mode} mode"
    assert outside == [], f"{name}: requests outside 127.0.0.1: {outside}"
    return page, outside, errors
