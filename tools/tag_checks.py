"""Collapse the chapters' check cells: tag them ``hide-input`` (issue 21).

Every claim in the book is followed by a code cell that checks it and asserts
it (CONTRIBUTING.md). Those checks are the book's strength, but shown in full
they lead the page (chapter 4 was 20,000 px, most of it ``assert`` code). With
MyST-NB's ``hide-input`` tag the book shows a check cell's *output* (its
one-line verdict, a table) and folds its code behind "Show code cell source",
one click away; ``book/_ext/check_cells.py`` says so once on every page that
has such a cell.

The rule (also in CONTRIBUTING.md): a code cell is a **check cell** when it
contains an ``assert`` statement, unless it is

* a figure cell (it calls ``plt.show()`` or ``.static_twin(``, or carries
  MyST-NB image/figure metadata): the code that draws a figure is part of its
  explanation and stays visible;
* the chapter's first import cell (the first code cell not tagged
  ``remove-cell``);
* a cell already tagged ``remove-cell``, ``remove-input``, ``hide-cell`` or
  ``hide-input``.

The script adds ``hide-input`` to every check cell and touches nothing else,
so a second run changes nothing. ``tests/test_check_cells.py`` fails while a
check cell is untagged. The tag changes only metadata: no stored output goes
stale, but the book build re-executes the notebook (the execution cache hashes
cell metadata too).

Usage::

    python tools/tag_checks.py            # tag book/*.ipynb in place
    python tools/tag_checks.py --check    # exit 1 if a check cell is untagged
    python tools/tag_checks.py book/04_objective1.ipynb ...
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TAG = "hide-input"
#: Tags that already decide how the cell is shown.
SHOWN_ALREADY = {"remove-cell", "remove-input", "hide-cell", "hide-input"}
FIGURE_CALLS = ("plt.show(", ".static_twin(")


def _tree(source: str):
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def asserts(source: str) -> bool:
    tree = _tree(source)
    return tree is not None and any(isinstance(n, ast.Assert) for n in ast.walk(tree))


def is_figure_cell(cell) -> bool:
    mystnb = cell.get("metadata", {}).get("mystnb", {})
    return any(call in cell.source for call in FIGURE_CALLS) or "image" in mystnb or "figure" in mystnb


def check_cells(nb) -> list[int]:
    """Indices of the check cells of ``nb`` (the rule of the module docstring)."""
    found, first_import = [], None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if first_import is None and "remove-cell" not in tags:
            first_import = index
            continue
        if tags & (SHOWN_ALREADY - {TAG}) or is_figure_cell(cell) or not asserts(cell.source):
            continue
        found.append(index)
    return found


def untagged(nb) -> list[int]:
    return [i for i in check_cells(nb) if TAG not in nb.cells[i].get("metadata", {}).get("tags", [])]


def chapters() -> list[Path]:
    return sorted(BOOK.glob("*.ipynb"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every book/*.ipynb")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a check cell is untagged")
    args = parser.parse_args(argv)
    missing = 0
    for path in [p.resolve() for p in args.notebooks] or chapters():
        nb = nbformat.read(path, as_version=4)
        todo = untagged(nb)
        if not todo:
            continue
        missing += len(todo)
        if args.check:
            print(f"{path.name}: check cells without {TAG}: {todo}")
            continue
        for i in todo:
            nb.cells[i].metadata.setdefault("tags", []).append(TAG)
        nbformat.write(nb, path)
        print(f"tag_checks: {path.name}: tagged {len(todo)} check cells {TAG}")
    if not args.check and not missing:
        print("tag_checks: nothing to tag")
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    sys.exit(main())
