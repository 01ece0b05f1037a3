"""Display math is its own block, so MyST parses it as display math.

A ``$$`` that opens on the line right after text is read by MyST's dollar-math
as the end of one inline formula and the start of another: the built page then
shows raw TeX and runs the following prose together as math (found in chapter
7's Exercise 7.2 solution and chapter 11's Proposition 11.1). The fast test
checks the sources; the slow one checks the built pages for a stray ``$`` next
to a rendered formula.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.md"))


def _markdown(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text()]
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def glued_display_math(text: str) -> list[int]:
    """Line numbers (0-based) of ``$$`` blocks that open right after a line of text."""
    lines, inside, found = text.split("\n"), False, []
    for i, line in enumerate(lines):
        if not line.strip().startswith("$$"):
            continue
        if not inside:
            before = lines[i - 1].strip() if i else ""
            if before and not before.startswith(("```", ":")):
                found.append(i)
            inside = line.strip().count("$$") == 1
        else:
            inside = False
    return found


def test_the_rule_finds_glued_display_math():
    assert glued_display_math("text $x$,\n$$\ny\n$$\nmore") == [1]
    assert glued_display_math("text\n\n$$\ny\n$$\n\nmore\n$$ z $$ (eq-z)") == [7]
    assert glued_display_math("```{prf:proof}\n$$\ny\n$$\n```") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_display_math_opens_after_a_blank_line(path):
    glued = [(i, n) for i, text in enumerate(_markdown(path)) for n in glued_display_math(text)]
    assert not glued, f"$$ right after text (markdown cell, line): {glued}; put a blank line before it"


@pytest.mark.slow
def test_built_pages_show_no_stray_dollar_next_to_math(book_html):
    stray = re.compile(r'\$<span class="math|</span>\$')
    bad = {}
    for page in sorted((book_html / "book").glob("*.html")):
        prose = re.sub(r"<pre.*?</pre>", "", page.read_text(), flags=re.DOTALL)
        if stray.search(prose):
            bad[page.name] = len(stray.findall(prose))
    assert not bad, bad
