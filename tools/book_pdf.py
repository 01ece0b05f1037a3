"""Print the built HTML book to PDF with headless Chromium, a student and an instructor variant (``make pdf``; issues 13, 21).

Why this route: the book's HTML is already complete and tested (MathJax
typesets and numbers every equation, the theme draws theorem, proof and
exercise boxes, the figures are the executed outputs, and every explorer has
a static twin whose first frame is an image). The tests already drive
Debian's Chromium through Playwright, so printing needs nothing new. The
other route, Sphinx's LaTeX builder, needs ~700 MB of TeX Live, drops the
twins (HTML outputs) and would need LaTeX counterparts for the proof and
exercise directives and for the Unicode in the prose (σ, λ, ⁻¹).

What it does: reads ``_toc.yml``; takes the article of every page in
``_build/html`` in that order; makes ids unique per page and turns links
between pages into links inside the PDF; adds a title page with the
licence and a table of contents; serves ``_build/html`` on 127.0.0.1 (every
other request is blocked), waits for MathJax and the images, opens every
solution, and prints A4 with page numbers, a PDF outline (bookmarks) and
tags.

Two variants (issue 21): the **student** PDF leaves out the solutions of the
exercises (the book's ``solution`` blocks, and the links to them), so it can
be handed to a class; the **instructor** PDF prints every solution, opened.
One function per variant (:data:`VARIANTS`), each a change to the combined
page's articles; an edition (e.g. a translation) is a function giving the
HTML folder, the table of contents, the title and the front matter
(:data:`EDITIONS`). Output: ``_build/pdf/book-student.pdf`` and
``_build/pdf/book-instructor.pdf`` (and the combined pages
``_build/html/_pdf/book-<variant>.html``, kept for debugging).

Usage: ``python tools/book_pdf.py [--variant student|instructor|all] [--edition en] [--html _build/html]
[--out-dir _build/pdf | --out FILE]`` (``make pdf``, ``make pdf VARIANT=student``; ``--edition ko``
or ``make pdf EDITION=ko``: the Korean edition, ``book-<variant>-ko.pdf``)
"""

from __future__ import annotations

import argparse
import functools
import http.server
import importlib.util
import os
import re
import shutil
import threading
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
html, body { background: white !important; }
body { font-size: 10.5pt; }
.pdf-page { max-width: none; margin: 0; padding: 0; }
.pdf-chapter { break-before: page; }
.pdf-title { break-after: page; text-align: center; padding-top: 30mm; }
.pdf-title h1 { font-size: 22pt; }
.pdf-toc { break-after: page; }
.pdf-toc ol { list-style: none; padding-left: 0; }
.pdf-toc ol ol { padding-left: 1.5em; font-size: 0.95em; }
.pdf-toc a { text-decoration: none; color: inherit; }
h1, h2, h3, h4 { break-after: avoid; }
img, figure, .proof, div.exercise, div.solution, .admonition, table, mjx-container,
div.cell_input, div.cell_output { break-inside: avoid; }
a.headerlink, button.copybtn, .anim-controls, .toggle-button, .dropdown summary .summary-chevron-down,
.dropdown summary .summary-chevron-up, .bd-header, .bd-sidebar, .bd-footer { display: none !important; }
div.cell_input pre, div.cell_output pre, div.highlight pre { white-space: pre-wrap; overflow-wrap: anywhere; }
mjx-container[display="true"] { overflow: visible !important; }
img { max-width: 100% !important; height: auto !important; }
.animation { display: block; text-align: center; }
"""


def toc_pages(root: Path = ROOT) -> list[str]:
    """Page names in ``_toc.yml`` order, e.g. ``["book/index", "book/01_introduction", ...]``."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part["chapters"]]
    return pages


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", Path(name).name)


def keep_solutions(article) -> None:
    """The instructor variant: every solution stays, opened (``print_pdf`` opens every dropdown)."""


def drop_solutions(article) -> None:
    """The student variant: remove every solution block, and turn links to one into plain text."""
    removed = set()
    for solution in article.select("div.solution"):
        removed |= {el["id"] for el in solution.find_all(id=True)} | ({solution["id"]} if solution.get("id") else set())
        solution.decompose()
    for a in article.find_all("a", href=True):
        if a["href"].startswith("#") and a["href"][1:] in removed:
            a.unwrap()


#: Variant -> what it does to each page's article (after ids are made unique).
VARIANTS = {"student": drop_solutions, "instructor": keep_solutions}
#: Line of the title page that names the variant.
VARIANT_NOTES = {
    "student": "Student edition: the exercises without their solutions.",
    "instructor": "Instructor edition: every exercise with its solution. Do not hand out to students.",
}


def combine(html_dir: Path, pages: list[str], title: str, front: str, variant=keep_solutions,
            lang: str = "en", contents: str = "Contents") -> str:
    """One HTML document: title page, contents, then every page's article, ids made unique.

    ``variant`` (a function of :data:`VARIANTS`) then changes each article in place.
    """
    stems = {Path(p).name: _slug(p) for p in pages}
    first = BeautifulSoup((html_dir / f"{pages[0]}.html").read_text(encoding="utf-8"), "html.parser")
    head = first.head
    # The combined page lives in _build/html/_pdf/, as deep as the pages in _build/html/book/.
    articles, toc_items = [], []
    for page in pages:
        soup = BeautifulSoup((html_dir / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
        article = soup.select_one("article.bd-article")
        if article is None:
            raise ValueError(f"{page}.html has no article.bd-article: is it a page of this book?")
        slug = stems[Path(page).name]
        for el in article.find_all(id=True):
            # The twins' scripts look their elements up by id (already unique: a content hash).
            if not el["id"].startswith("_anim"):
                el["id"] = f"{slug}--{el['id']}"
        for a in article.find_all("a", href=True):
            href = a["href"]
            if href.startswith("#"):
                a["href"] = f"#{slug}--{href[1:]}"
                continue
            m = re.fullmatch(r"(?:\./)?([\w.-]+)\.html(?:#(.*))?", href)
            if m and m.group(1) in stems:
                target = stems[m.group(1)]
                a["href"] = f"#{target}--{m.group(2)}" if m.group(2) else f"#page-{target}"
        variant(article)
        for details in article.find_all("details"):
            details["open"] = ""
        h1 = article.find("h1")
        sections = [(h2.get_text(" ", strip=True).rstrip("#").strip(), h2.parent.get("id"))
                    for h2 in article.find_all("h2") if h2.parent and h2.parent.get("id")]
        toc_items.append((h1.get_text(" ", strip=True).rstrip("#").strip() if h1 else page,
                          slug, sections))
        articles.append(f'<section class="pdf-chapter" id="page-{slug}">{article.decode_contents()}</section>')
    toc = [f'<nav class="pdf-toc"><h1>{contents}</h1><ol>']
    for name, slug, sections in toc_items:
        subs = "".join(f'<li><a href="#{sid}">{s}</a></li>' for s, sid in sections)
        toc.append(f'<li><a href="#page-{slug}">{name}</a>' + (f"<ol>{subs}</ol>" if subs else "") + "</li>")
    toc.append("</ol></nav>")
    head.append(BeautifulSoup(f"<style>{PRINT_CSS}</style>", "html.parser"))
    if head.title:
        head.title.string = title
    return (f"<!DOCTYPE html>\n<html lang=\"{lang}\" data-theme=\"light\" data-mode=\"light\">"
            + str(head) + '<body><main class="pdf-page bd-content"><div class="bd-article-container">'
            + f'<div class="pdf-title"><h1>{title}</h1>{front}</div>' + "".join(toc)
            + '<article class="bd-article">' + "".join(articles) + "</article></div></main></body></html>")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def print_pdf(html_dir: Path, page_path: str, out: Path, chromium: str) -> None:
    """Serve ``html_dir`` on 127.0.0.1 and print ``page_path`` to ``out`` with Chromium."""
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1000, "height": 1400})
            context.add_init_script("localStorage.setItem('mode', 'light'); localStorage.setItem('theme', 'light');")
            context.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname == "127.0.0.1"
                          else r.abort())
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/{page_path}", wait_until="load",
                      timeout=600_000)
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=120_000)
            page.evaluate("MathJax.startup.promise.then(() => true)")
            # Every image decoded (the twins show their first frame), every solution open.
            page.evaluate("""() => Promise.all([...document.images].map(i => i.decode().catch(() => null)))""")
            page.evaluate("""() => {
                document.querySelectorAll('details').forEach(d => d.open = true);
                document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
            }""")
            page.emulate_media(media="print")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                     display_header_footer=True, header_template="<span></span>",
                     footer_template='<div style="font-size:8pt;width:100%;text-align:center;color:#555">'
                                     '<span class="pageNumber"></span> / <span class="totalPages"></span></div>',
                     margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
            browser.close()
    finally:
        server.shutdown()


def english_edition(html_dir: Path = ROOT / "_build" / "html") -> dict:
    """The book as built by ``make book``: HTML folder, pages, title and title-page lines."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    front = (f"<p>{config.get('author', '')}</p><p>Version {version}</p>"
             "<p>Text and figures: CC BY 4.0. Code: MIT licence. "
             "Cite with the repository's CITATION.cff.</p>"
             "<p>Static PDF of the HTML book: the explorers appear as one frame of their static twin; "
             "run the notebooks for the live versions.</p>")
    return {"html": Path(html_dir), "pages": toc_pages(), "title": config["title"], "front": front, "lang": "en",
            "contents": "Contents", "variant_notes": VARIANT_NOTES}


def korean_edition(html_dir: Path = ROOT / "_build" / "html") -> dict:
    """The Korean edition (issue 23): ``make book`` builds it into ``<html_dir>/ko``; Chromium sets its
    Hangul in Debian's ``fonts-noto-cjk`` (``.ci/run`` installs it)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    # The title as the Korean site has it (the root page's translated title, tools/i18n.py).
    spec = importlib.util.spec_from_file_location("i18n", ROOT / "tools" / "i18n.py")
    i18n = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(i18n)
    front = (f"<p>{config.get('author', '')}</p><p>버전 {version}</p>"
             "<p>글과 그림: CC BY 4.0. 코드: MIT 라이선스. "
             "인용할 때는 저장소의 CITATION.cff를 따라 주세요.</p>"
             "<p>HTML 책을 정적인 PDF로 옮긴 것입니다. 탐색기(explorer)는 정적 사본의 한 장면으로만 실리니, "
             "직접 움직여 보려면 노트북을 실행하세요.</p>")
    html = Path(html_dir)
    return {"html": html if html.name == "ko" else html / "ko", "pages": toc_pages(), "title": i18n.title_ko(),
            "front": front, "lang": "ko", "contents": "차례", "variant_notes": {
                "student": "학생용: 연습문제만 싣고 풀이는 뺐습니다.",
                "instructor": "강사용: 모든 연습문제에 풀이를 실었습니다. 학생에게 나눠 주지 마세요.",
            }}


#: Edition -> function giving its HTML folder, pages, title, title-page lines, contents heading and
#: variant lines, all in the edition's language (a translation adds one).
EDITIONS = {"en": english_edition, "ko": korean_edition}


def _chromium(chromium: str | None) -> str:
    chromium = chromium or os.environ.get("COSIM_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("make pdf needs Debian's chromium (apt-get install chromium)")
    return chromium


def build(html_dir: Path = ROOT / "_build" / "html", out: Path | None = None,
          chromium: str | None = None, *, variant: str = "instructor", edition: str = "en") -> Path:
    """Build one PDF of the book (``variant`` of :data:`VARIANTS`, ``edition`` of :data:`EDITIONS`).

    Returns the PDF's path (default ``_build/pdf/book-<variant>.pdf``, with ``-<edition>`` for
    editions other than English).
    """
    target = combined_page(html_dir, variant=variant, edition=edition)   # checks variant and edition
    chromium = _chromium(chromium)
    suffix = variant if edition == "en" else f"{variant}-{edition}"
    out = Path(out) if out is not None else ROOT / "_build" / "pdf" / f"book-{suffix}.pdf"
    print_pdf(target.parent.parent, f"_pdf/{target.name}", out, chromium)
    return out


def combined_page(html_dir: Path = ROOT / "_build" / "html", *, variant: str = "instructor",
                  edition: str = "en") -> Path:
    """Write the one page that :func:`build` prints, ``<edition's html>/_pdf/book-<variant>[-<edition>].html``.

    Everything a PDF holds comes from this page (Chromium prints it and adds page numbers), so
    text that is not in it is not in the PDF: the tests check the student variant here.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {sorted(EDITIONS)}, got {edition!r}")
    book = EDITIONS[edition](html_dir)
    html_dir = book["html"]
    if not (html_dir / "book" / "index.html").exists():
        raise FileNotFoundError(f"no built book in {html_dir}: run `make book` first")
    suffix = variant if edition == "en" else f"{variant}-{edition}"
    front = book["front"] + f"<p><b>{book['variant_notes'][variant]}</b></p>"
    combined = combine(html_dir, book["pages"], book["title"], front, VARIANTS[variant], book["lang"],
                       book["contents"])
    target = html_dir / "_pdf" / f"book-{suffix}.html"
    target.parent.mkdir(exist_ok=True)
    target.write_text(combined, encoding="utf-8")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=[*VARIANTS, "all"], default="all")
    parser.add_argument("--edition", choices=list(EDITIONS), default="en")
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "_build" / "pdf")
    parser.add_argument("--out", type=Path, help="the PDF's path, for one --variant")
    args = parser.parse_args(argv)
    if args.out is not None and args.variant == "all":
        parser.error("--out names one PDF: give --variant student or --variant instructor")
    for variant in VARIANTS if args.variant == "all" else [args.variant]:
        suffix = variant if args.edition == "en" else f"{variant}-{args.edition}"
        out = args.out or args.out_dir / f"book-{suffix}.pdf"
        path = build(args.html, out, variant=variant, edition=args.edition)
        print(f"The {variant} PDF is at {path}")


if __name__ == "__main__":
    main()
