"""Tests of cosim_helpers.tables: one table, printed as text and displayed as Markdown (issue 21)."""

import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from markdown_it import MarkdownIt

from cosim_helpers import examples, remedies
from cosim_helpers.tables import Table, format_rows, format_table


def markdown_cells(md: str):
    """The table in ``md`` as parsed by markdown-it (the parser MyST uses): (align, header, rows)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    assert [t.type for t in tokens].count("table_open") == 1, f"not one Markdown table:\n{md}"
    header, rows, row, align = None, [], None, []
    for t in tokens:
        if t.type == "tr_open":
            row = []
        elif t.type in ("th_open", "td_open"):
            style = t.attrGet("style") or ""
            if t.type == "th_open":
                align.append("right" if "right" in style else "left" if "left" in style else None)
        elif t.type == "inline" and row is not None:
            # the cell's text once the Markdown is rendered: escapes undone, no emphasis, no code
            assert all(c.type in ("text", "softbreak") for c in t.children), f"markup in a cell: {t.content!r}"
            row.append("".join(c.content for c in t.children))
        elif t.type == "tr_close":
            if header is None:
                header = row
            else:
                rows.append(row)
            row = None
    return align, header, rows


def test_format_rows_aligns_columns():
    out = str(format_rows([["a", "0.5"], ["longer name", "1"]], ["method", "AUC"]))
    lines = out.splitlines()
    assert lines[0].startswith("method") and set(lines[1]) <= {"-", " "}
    assert lines[2].index("0.5") == lines[3].index("1") == lines[0].index("AUC")
    with pytest.raises(ValueError, match="rows\\[0\\]"):
        format_rows([["a"]], ["x", "y"])


def test_print_shows_the_same_text_as_before(capsys):
    """print(...) and repr(...) of the object are the fixed-width text the chapters printed."""
    table = format_rows([["a", "0.5"]], ["method", "AUC"])
    print(table)
    assert capsys.readouterr().out == "method  AUC\n------  ---\na       0.5\n"
    assert repr(table) == str(table) == table.text
    assert isinstance(table, Table)


def test_markdown_escapes_pipes_and_markup():
    """A cell with |, *, _, $ or backticks stays one literal cell (no extra column, no emphasis or maths)."""
    cells = ["a | b", "*x* _y_ $z$", "`c` [l](u) <b>", "w_i = σ²/(σ²+λ₁)", "back\\slash"]
    table = format_rows([[c, "1"] for c in cells], ["what | who", "n"])
    _, header, rows = markdown_cells(table._repr_markdown_())
    assert header == ["what | who", "n"]
    assert [r[0] for r in rows] == cells
    assert all(len(r) == 2 for r in rows)


def test_markdown_aligns_numbers_right_and_text_left():
    rows = [["obj. 1 cosine", "no (D)", "0.5012 .. 0.7234", "0.25-0.750", "-3", "1e-05"],
            ["obj. 2 cosine", "yes", "0.9000", "0.12-0.345", "12", "2.5e+03"]]
    align, _, _ = markdown_cells(format_rows(rows, list("abcdef"))._repr_markdown_())
    assert align == ["left", "left", "right", "right", "right", "right"]


def test_format_table_markdown_has_the_texts_rounding():
    """Every number of the Markdown table is the number printed in the text (same rounding, no -0)."""
    M = np.array([[-1e-17, 0.12345, 2.0], [-0.0004, 1234.5678, -1.23456]])
    table = format_table(M, ["a", "bb"], ["x", "long column label", "z"], digits=3, width=10)
    align, header, rows = markdown_cells(table._repr_markdown_())
    assert align == ["left", "right", "right", "right"]
    assert header == ["", "x", "long column label", "z"]  # whole labels (the text cuts them to the width)
    assert rows == [["a", "0.000", "0.123", "2.000"], ["bb", "0.000", "1234.568", "-1.235"]]
    text_numbers = [line.split()[1:] for line in str(table).splitlines()[1:]]
    assert text_numbers == [r[1:] for r in rows]
    assert "-0.000" not in table._repr_markdown_() and "-0.000" not in str(table)


def test_format_table_text_is_unchanged():
    M = np.array([[-1e-17, 0.12345], [2.0, -0.0004]])
    lines = str(format_table(M, ["a", "bb"], ["x", "y"], digits=3, width=8)).split("\n")
    assert lines == ["  " + "       x" + "       y", "a " + "   0.000" + "   0.123", "bb" + "   2.000" + "   0.000"]


def test_one_home_for_the_table_helpers():
    """The chapters' imports (examples.format_table, remedies.format_table) are the tables module's functions."""
    assert examples.format_table is format_table
    assert remedies.format_table is format_rows


def test_jupyter_stores_a_markdown_output():
    """What IPython's display machinery makes of a table: text/markdown next to the text/plain fallback."""
    formatter = pytest.importorskip("IPython.core.formatters").DisplayFormatter()
    data, _ = formatter.format(format_rows([["a", "0.5"]], ["method", "AUC"]))
    assert data["text/plain"] == "method  AUC\n------  ---\na       0.5"
    assert re.match(r"\| method \| AUC \|\n\|:--\|--:\|\n\| a \| 0\.5 \|\n", data["text/markdown"])


# --- the chapters show their tables as tables (tools/display_tables.py) ------------------------

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import display_tables  # tools/ is not a package


def test_display_tables_rewrites_only_table_prints_and_is_idempotent():
    source = ('%matplotlib inline\nprint("WALL-E → Nemo:")\nprint(format_table(S, items, items))\n'
              'for r in rows:\n    print(format_rows(r, ["a"]))  # one per group\n'
              'print("x", format_table(S, a, b))\nprint(f"{n}")\nprint(format_table)\n')
    once = display_tables.rewrite(source)
    assert once == source.replace("print(format_table(S, items", "display(format_table(S, items").replace(
        "    print(format_rows", "    display(format_rows")
    assert display_tables.rewrite(once) == once
    # left for a person: a print of a table with another argument
    assert display_tables.printed_tables(once) == [6]
    assert display_tables.printed_tables(source) == [3, 5, 6]


def test_display_tables_handles_non_ascii_before_the_print():
    source = 'σ = 1; print(format_rows([["λ₁"]], ["ρ"]))'
    assert display_tables.rewrite(source) == 'σ = 1; display(format_rows([["λ₁"]], ["ρ"]))'


def _code_cells():
    for path in display_tables.chapters():
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "code":
                yield f"{path.name}, cell {index}", cell


def test_no_chapter_prints_a_table_as_text():
    """A printed table wraps into a jumble on a phone: display it (run tools/display_tables.py)."""
    printed = [f"{where}, line {line}" for where, cell in _code_cells()
               for line in display_tables.printed_tables(cell.source)]
    assert printed == [], ("tables printed as text (run `python tools/display_tables.py`, then "
                           "`make execute` on those notebooks):\n" + "\n".join(printed))


def test_displayed_tables_are_stored_as_markdown():
    """A cell that shows a table keeps its text/markdown output in the committed notebook."""
    missing = []
    for where, cell in _code_cells():
        tree = display_tables._parse(cell.source)
        shows = tree is not None and display_tables._calls_helper(tree) \
            and not display_tables.printed_tables(cell.source)
        if shows and not any("text/markdown" in out.get("data", {}) for out in cell.get("outputs", [])):
            missing.append(where)
    assert missing == [], "cells that show a table but store no text/markdown output " \
        "(run `make execute` on them):\n" + "\n".join(missing)
