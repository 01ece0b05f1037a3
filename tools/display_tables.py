"""Show the chapters' tables as tables: ``print(format_table(...))`` becomes ``display(format_table(...))``.

``cosim_helpers.tables.format_table`` and ``format_rows`` return a table
object: printed, it is fixed-width text (which wraps into a jumble on a
phone and in the PDF); displayed, the notebook stores a ``text/markdown``
output that the book renders as a real table, which scrolls inside its own
box on a narrow screen (issue 21). This script rewrites, in every code cell of
the chapter notebooks, each statement ``print(<helper>(...))`` whose one
argument is a call of a table helper into ``display(<helper>(...))``
(``display`` is built into every IPython kernel: Jupyter, Binder, Colab). It
changes nothing else, so running it twice changes nothing the second time.

A ``print`` that mixes a table with other arguments (``print("S =",
format_table(...))``) is not rewritten but reported: split it by hand.
``tests/test_tables.py`` fails while any chapter still prints a table.

After rewriting, refresh the stored outputs of the notebooks it names
(``make execute NB="..."``) and regenerate the reader notebooks (``make reader``).

Usage::

    python tools/display_tables.py                # rewrite book/*.ipynb in place
    python tools/display_tables.py --check        # exit 1 if any chapter prints a table
    python tools/display_tables.py book/01_introduction.ipynb ...
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
#: The package's table helpers (cosim_helpers.tables; also imported from examples and remedies).
TABLE_HELPERS = frozenset({"format_table", "format_rows"})


def _parse(source: str) -> ast.Module | None:
    """The cell's syntax tree, IPython magics and shell lines blanked out (same line numbers)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _calls_helper(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in TABLE_HELPERS
               for n in ast.walk(node))


def _is_print(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"


def printed_tables(source: str) -> list[int]:
    """Line numbers (1-based, in the cell) of every ``print(...)`` call that prints a table as text."""
    tree = _parse(source)
    if tree is None:
        return []
    return sorted(n.lineno for n in ast.walk(tree)
                  if _is_print(n) and any(_calls_helper(a) for a in [*n.args, *(k.value for k in n.keywords)]))


def _rewritable(tree: ast.Module) -> list[ast.Name]:
    """The ``print`` names of statements ``print(<helper>(...))`` (one positional argument, no keywords)."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Expr) and _is_print(node.value) and len(node.value.args) == 1
                and not node.value.keywords and isinstance(node.value.args[0], ast.Call)
                and isinstance(node.value.args[0].func, ast.Name)
                and node.value.args[0].func.id in TABLE_HELPERS):
            found.append(node.value.func)
    return found


def rewrite(source: str) -> str:
    """``source`` with each ``print(<helper>(...))`` statement turned into ``display(<helper>(...))``."""
    tree = _parse(source)
    if tree is None:
        return source
    lines = source.split("\n")
    # Right to left, so that earlier positions stay valid; ast's columns count UTF-8 bytes.
    for name in sorted(_rewritable(tree), key=lambda n: (n.lineno, n.col_offset), reverse=True):
        raw = lines[name.lineno - 1].encode()
        start, end = name.col_offset, name.end_col_offset
        assert raw[start:end] == b"print", (name.lineno, raw)
        lines[name.lineno - 1] = (raw[:start] + b"display" + raw[end:]).decode()
    return "\n".join(lines)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def chapters() -> list[Path]:
    return sorted(BOOK.glob("*.ipynb"))


def process(paths, check: bool = False) -> tuple[list[Path], list[str]]:
    """Rewrite (unless ``check``) ``paths``; return (notebooks changed or to change, prints left by hand)."""
    changed, left = [], []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        dirty = False
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            new = rewrite(cell.source)
            if new != cell.source:
                dirty = True
                if not check:
                    cell.source = new
            for line in printed_tables(cell.source):
                left.append(f"{_name(path)}: cell {index}, line {line}")
        if dirty:
            changed.append(path)
            if not check:
                nbformat.write(nb, path)
    return changed, left


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every book/*.ipynb")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table is printed")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or chapters()
    changed, left = process(paths, check=args.check)
    names = " ".join(_name(p) for p in changed)
    if args.check:
        for where in left:
            print(f"prints a table as text: {where}")
        return 1 if left else 0
    if changed:
        print(f"display_tables: rewrote {names}\nnow run: make execute NB=\"{names}\" && make reader")
    else:
        print("display_tables: nothing to rewrite")
    for where in left:
        print(f"display_tables: left as is (a print with more than the table; split it by hand): {where}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
