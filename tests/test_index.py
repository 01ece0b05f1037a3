"""The index page lists every page of the table of contents (issue 21: its list stopped at chapter 8)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_parts():
    """[(caption, numbered, [page names])] of ``_toc.yml``, in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [(part.get("caption", ""), part.get("numbered", False),
             [Path(chapter["file"]).name for chapter in part["chapters"]]) for part in toc["parts"]]


def chapters_section():
    text = (ROOT / "book" / "index.md").read_text()
    match = re.search(r"^## Chapters\n(.*?)(?=^## )", text, re.DOTALL | re.MULTILINE)
    assert match, "book/index.md has no '## Chapters' section"
    return match.group(1)


def test_index_lists_every_page_of_the_toc_in_order():
    listed = re.findall(r"\{doc\}`([^`<>]+)`", chapters_section())
    expected = [name for _, _, pages in toc_parts() for name in pages]
    assert listed == expected, f"book/index.md lists {listed}, _toc.yml has {expected}"


def test_numbered_chapters_carry_their_toc_number():
    """A numbered chapter appears as 'N. {doc}`name`' with N its number in the book (numbering runs across parts)."""
    section = chapters_section()
    number = 0
    for _, numbered, pages in toc_parts():
        for name in pages if numbered else []:
            number += 1
            assert re.search(rf"^{number}\. \{{doc\}}`{name}`", section, re.MULTILINE), f"chapter {number} ({name}) is not item {number}"

