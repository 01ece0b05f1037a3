"""`make pdf`: the book as two PDFs, printed from the built HTML by Chromium (issues 13 and 21).

Builds the instructor and the student PDF from ``_build/html`` (as ``make pdf``
does, into a temporary folder) and reads them back with poppler-utils: enough
pages, one chapter per section start in table-of-contents order, at least as
many images as the HTML pages show (figures and one frame of each explorer's
twin); the instructor PDF contains every solution of the exercises, the student
PDF none of them.
Skipped with a message when Chromium, poppler-utils or the built book is
missing; under CI each of those is a failure.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("COSIM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _load_tool():
    spec = importlib.util.spec_from_file_location("book_pdf", ROOT / "tools" / "book_pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


book_pdf = _load_tool()


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    missing = [what for what, ok in [("chromium", CHROMIUM), ("pdfinfo (poppler-utils)", shutil.which("pdfinfo")),
                                     ("the built book (make book)", (HTML / "book" / "index.html").exists())]
               if not ok]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must build the PDF, missing: {missing}")
        pytest.skip(f"PDF test skipped, missing: {missing}")
    return book_pdf.build(HTML, tmp_path_factory.mktemp("pdf") / "book-instructor.pdf", CHROMIUM,
                          variant="instructor")


@pytest.fixture(scope="module")
def student_pdf(pdf, tmp_path_factory):
    return book_pdf.build(HTML, tmp_path_factory.mktemp("pdf") / "book-student.pdf", CHROMIUM, variant="student")


def _letters(text):
    """Lower-case letters only: page numbers, line breaks and maths spacing drop out of the comparison."""
    return re.sub(r"[^a-z]+", "", text.lower())


def _words(text):
    """Lower-case words of letters only, one space apart."""
    return " ".join(re.findall(r"[a-z]+", text.lower()))


def _found(fragment, words):
    """Whether the words of ``fragment`` occur in ``words`` in order, allowing up to four short
    tokens between two of them: pdftotext puts an inline formula's sub- and superscripts
    (i, j, k, T) into the running text where the line breaks."""
    gap = r" ?(?:[a-z]{1,3} ){0,4}"
    return re.search(gap.join(map(re.escape, fragment.split())), words) is not None


def solution_fragments():
    """(page, exercise, fragments) for every solution block of the built book.

    The fragments are the solution's three longest runs of maths-free text (prose or code,
    as words of letters, at least four words) that occur nowhere else in the book's text, so
    that pdftotext must reproduce them from the solution and from nothing else.
    """
    solutions, rest = [], []
    for page in book_pdf.toc_pages():
        soup = BeautifulSoup((HTML / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
        article = soup.select_one("article.bd-article")
        for math in article.select(".math, mjx-container"):  # what pdftotext makes of maths varies
            math.replace_with("\x00")
        for solution in article.select("div.solution"):
            title = solution.select_one(".admonition-title").get_text(" ", strip=True)
            body = solution.select_one("section") or solution
            runs = {_words(run) for run in re.split(r"\x00|\n\s*\n", body.get_text())}
            solutions.append((page, title, runs))
            solution.decompose()
        rest.append(_words(article.get_text()))
    elsewhere = " ".join(rest)
    out = []
    for page, title, runs in solutions:
        unique = sorted((r for r in runs if len(r.split()) >= 4 and not _found(r, elsewhere)),
                        key=len, reverse=True)[:3]
        assert unique, f"{page}: {title} has no text of its own to look for"
        out.append((page, title, unique))
    return out


@functools.cache
def pages_text(pdf, layout=True):
    """The PDF's text, one string per page (pdftotext; read once per PDF and layout, ~2 s each)."""
    text = subprocess.run(["pdftotext", *(["-layout"] if layout else []), str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    return tuple(text.split("\f"))


@functools.cache
def html_chapters():
    """(title, number of output images) of every page, in table-of-contents order (parsed once)."""
    out = []
    for page in book_pdf.toc_pages():
        soup = BeautifulSoup((HTML / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
        article = soup.select_one("article.bd-article")
        title = article.find("h1").get_text(" ", strip=True).rstrip("#").strip()
        out.append((title, len(article.select(".cell_output img"))))
    return out


def test_pdf_has_a_title_page_contents_and_many_pages(pdf):
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    assert pages >= 60, f"only {pages} pages"
    assert re.search(r"^Tagged:\s+yes", info, re.MULTILINE)
    text = pages_text(pdf)
    assert "CC BY 4.0" in text[0] and "Version" in text[0]
    assert "Contents" in text[1]


def test_one_section_per_chapter_in_order(pdf):
    """Each page of the book starts a PDF page (a named destination the contents link to) with its title."""
    dests = subprocess.run(["pdfinfo", "-dests", str(pdf)], check=True, capture_output=True, text=True).stdout
    start = {name: int(page) for page, name in re.findall(r'^\s*(\d+) \[.*\] "page-([^"]+)"$', dests, re.MULTILINE)}
    text = pages_text(pdf)

    def bare(s):  # maths (e.g. the D of "D-freedom") loses its punctuation in pdftotext
        return re.sub(r"[^0-9A-Za-z]+", "", s)

    pages = []
    for (title, _), page in zip(html_chapters(), book_pdf.toc_pages(), strict=True):
        slug = book_pdf._slug(page)
        assert slug in start, f"no section for {page} in the PDF"
        top = " ".join(text[start[slug] - 1].split("\n")[:6])
        assert bare(top).startswith(bare(title)), f"page {start[slug]} should open with {title!r}: {top[:120]!r}"
        pages.append(start[slug])
    assert pages == sorted(set(pages)), f"sections out of table-of-contents order: {pages}"


def test_every_figure_and_twin_frame_is_in_the_pdf(pdf):
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True,
                             text=True).stdout.splitlines()[2:]
    # One image object per figure: a figure that reaches a page's foot is drawn again, clipped, on the next.
    images = {row.split()[10] for row in listing if row.split()[2] == "image"}
    expected = sum(n for _, n in html_chapters())
    assert expected >= 10  # the chapters' figures (13 today) and the four twins
    # Equal, not at least: anything else printed as an image is a rasterised effect (the theme's blurred box
    # shadows printed as 427 images, 7 MB of the PDF and a third of its printing time; legible.css drops them).
    assert len(images) == expected, f"{len(images)} images in the PDF, {expected} in the HTML pages"


def test_instructor_pdf_has_every_solution_and_the_student_pdf_none(pdf, student_pdf):
    fragments = solution_fragments()
    assert len(fragments) >= 30  # three or four exercises per chapter, each with a solution
    instructor = _words(" ".join(pages_text(pdf, layout=False)))
    student_pages = pages_text(student_pdf, layout=False)
    student = _words(" ".join(student_pages))
    # Inline maths moves sub- and superscripts (and sometimes a formula) around the text line in
    # pdftotext's output, so one of the three fragments suffices, with the solution's heading.
    headings = " ".join(pages_text(pdf, layout=False))
    missing = [(page, title) for page, title, found in fragments
               if title.split(" (")[0] not in headings or not any(_found(f, instructor) for f in found)]
    assert missing == [], f"solutions missing from the instructor PDF: {missing}"
    leaked = [(page, title, f) for page, title, found in fragments for f in found if _found(f, student)]
    assert leaked == [], f"solutions printed in the student PDF: {leaked}"
    assert "Solution to" not in " ".join(student_pages)
    # the exercises themselves stay
    assert len(re.findall(r"Exercise \d+\.\d+", " ".join(student_pages))) >= len(fragments)
    assert "Student edition" in student_pages[0] and "Instructor edition" in pages_text(pdf)[0]


def test_variants_and_editions_are_checked():
    with pytest.raises(ValueError, match="variant"):
        book_pdf.build(HTML, variant="teacher")
    with pytest.raises(ValueError, match="edition"):
        book_pdf.build(HTML, edition="xx")
