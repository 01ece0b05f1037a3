"""Check cells are folded to their results, and every page says how to open them (issue 21).

The rule (CONTRIBUTING.md, ``tools/tag_checks.py``): a code cell that asserts
is a check cell, unless it is a figure cell or the chapter's first import cell;
check cells carry ``hide-input``. ``book/_ext/check_cells.py`` adds one
sentence before the first folded cell of each page.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import check_cells  # book/_ext is not a package
import tag_checks  # tools/ is not a package


def test_every_check_cell_is_folded():
    missing = {path.name: tag_checks.untagged(nbformat.read(path, as_version=4)) for path in tag_checks.chapters()}
    missing = {name: cells for name, cells in missing.items() if cells}
    assert missing == {}, f"check cells without hide-input (run `python tools/tag_checks.py`): {missing}"


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_the_rule():
    code = nbformat.v4.new_code_cell
    colab = code("import cosim_helpers", metadata={"tags": ["remove-cell"]})
    imports = code("import numpy as np\nassert np")  # the first import cell, even if it asserts
    check = code("x = 1\nfor i in range(2):\n    assert x")
    figure = code("plt.plot(x)\nassert x\nplt.show()")
    figure_meta = code("twin\nassert x", metadata={"mystnb": {"image": {"alt": "a figure"}}})
    plain = code("print(x)")
    magic = code("%time y = 2\nassert y")
    nb = _nb(colab, imports, nbformat.v4.new_markdown_cell("assert x"), check, figure, figure_meta, plain, magic)
    assert tag_checks.check_cells(nb) == [3, 7]
    assert tag_checks.untagged(nb) == [3, 7]
    nb.cells[3].metadata["tags"] = ["hide-input"]
    assert tag_checks.untagged(nb) == [7]


def test_tag_checks_is_idempotent(tmp_path):
    code = nbformat.v4.new_code_cell
    path = tmp_path / "nb.ipynb"
    nbformat.write(_nb(code("import x"), code("assert x", metadata={"tags": ["nbval-ignore-output"]})), path)
    assert tag_checks.main([str(path)]) == 0
    once = path.read_text()
    assert nbformat.read(path, as_version=4).cells[1].metadata["tags"] == ["nbval-ignore-output", "hide-input"]
    assert tag_checks.main([str(path)]) == 0 and path.read_text() == once
    assert tag_checks.main(["--check", str(path)]) == 0


@pytest.mark.slow
def test_each_built_page_says_once_how_to_open_the_checks(book_html):
    """One note per page with folded cells, before the first of them; none on other pages."""
    note = re.escape(check_cells.note_text("Show code cell {type}"))
    for page in sorted((book_html / "book").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        notes = [m.start() for m in re.finditer(note, html)]
        folded = html.find("tag_hide-input")
        if folded < 0:
            assert notes == [], f"{page.name}: a note but no folded cell"
        else:
            assert len(notes) == 1 and notes[0] < folded, f"{page.name}: {len(notes)} notes before the first folded cell"


def _build_one_page(tmp_path, language):
    """A one-notebook Sphinx site with a folded check cell, built in ``language``."""
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        f"extensions = ['myst_nb', 'check_cells']\nnb_execution_mode = 'off'\nlanguage = {language!r}\n")
    check = nbformat.v4.new_code_cell("assert 1 + 1 == 2\nprint(2)", metadata={"tags": ["hide-input"]})
    check.outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    nb = _nb(nbformat.v4.new_markdown_cell("# Page"), check)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, src / "index.ipynb")
    out = tmp_path / "html"
    app = Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), "html",
                 status=None, warning=None, freshenv=True)
    app.build()
    return (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_note_and_the_fold_speak_the_page_language(tmp_path, language):
    html = _build_one_page(tmp_path, language)
    assert check_cells.note_text("Show code cell {type}", language) in html
    if language == "ko":
        assert "Show code cell" not in html and "Code cells that check" not in html
        assert ">코드 보기</p>" in html and ">코드 숨기기</p>" in html
    else:
        assert ">Show code cell source</p>" in html
    # the fold is named by its visible label, not by MyST-NB's fixed English aria-label
    assert "<summary>" in html and "Toggle hidden content" not in html
