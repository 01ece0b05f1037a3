"""Tables for notebook output: fixed-width text for ``print``, a Markdown table for display.

Both helpers return a :class:`Table`. ``print(table)`` shows the fixed-width
text (a terminal, a script, a test); a notebook cell that ends with the table,
or calls ``display(table)``, stores a ``text/markdown`` output that the book
renders as a real table (which scrolls inside its own box on a phone instead
of wrapping into a jumble of text).

* :func:`format_rows`: rows of already formatted cells (strings) under
  headers, e.g. chapter 6's comparison of the remedies.
* :func:`format_table`: a labelled numeric matrix, rounded, e.g. chapter 1's
  data and similarities.

Both renderings are made from the same cell strings, so the rounding is the
same in the text and in the Markdown.
"""

from __future__ import annotations

import re

import numpy as np

from ._validation import as_factor, check_int

#: A cell that is a number, or a range of numbers ("0.12 .. 0.34", "0.12-0.345"): right-aligned.
_NUMBER = re.compile(r"[-+−]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?")
_NUMERIC = re.compile(rf"^{_NUMBER.pattern}(\s*(\.\.|-|−|to)\s*{_NUMBER.pattern})?$")
#: Characters with a meaning in MyST Markdown inside a table cell ($ starts maths: dollarmath is on).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|$~{}#])")


def _escape(cell: str) -> str:
    """``cell`` as literal Markdown table-cell text."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", cell.replace("\n", " "))


class Table:
    """A table that prints as fixed-width text and displays as a Markdown table.

    Returned by :func:`format_rows` and :func:`format_table`; not meant to be
    built by hand. ``str(table)`` (what ``print`` shows) and ``repr(table)`` are
    the fixed-width text; ``table._repr_markdown_()`` is what Jupyter stores as
    the ``text/markdown`` output of a cell that ends with the table.

    Attributes
    ----------
    headers : tuple of str
        One per column.
    rows : tuple of tuple of str
        The cells, formatted (rounded) once for both renderings.
    align : tuple of str
        ``"left"`` or ``"right"``, one per column, for the Markdown table.
    text : str
        The fixed-width text.
    """

    __slots__ = ("align", "headers", "rows", "text")

    def __init__(self, headers, rows, align, text: str):
        self.headers = tuple(headers)
        self.rows = tuple(tuple(r) for r in rows)
        self.align = tuple(align)
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        rule = {"left": ":--", "right": "--:"}

        def line(cells):
            return "| " + " | ".join(_escape(c) for c in cells) + " |"

        return "\n".join([line(self.headers), "|" + "|".join(rule[a] for a in self.align) + "|"]
                         + [line(r) for r in self.rows]) + "\n"


def format_rows(rows, headers) -> Table:
    """A table of already formatted cells under headers (book chapters 6, 7 and 10).

    The text has its columns left-aligned; the Markdown table right-aligns
    every column whose cells are all numbers (or ranges of numbers).

    Parameters
    ----------
    rows : sequence of sequences of str
        Cells, already formatted (e.g. rounded numbers as strings).
    headers : sequence of str
        One per column.

    Returns
    -------
    Table
        Prints as a header, a rule of dashes, then one line per row.
    """
    headers = [str(h) for h in headers]
    rows = [[str(c) for c in row] for row in rows]
    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"rows[{i}] has {len(row)} cells, expected {len(headers)}")
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    text = "\n".join([line(headers), rule] + [line(r) for r in rows])
    align = ["right" if rows and all(_NUMERIC.match(r[j].strip()) for r in rows) else "left"
             for j in range(len(headers))]
    return Table(headers, rows, align, text)


def format_table(M, row_labels, col_labels, digits: int = 3, width: int = 13) -> Table:
    """A labelled matrix, rounded, as a table (book chapters 1 to 3).

    Values are rounded to ``digits`` decimals and a rounded ``-0.000`` is
    shown as ``0.000``, so that round-off of either sign (which can differ
    between BLAS libraries) never changes the output.

    Parameters
    ----------
    M : array_like, shape (m, q)
    row_labels : sequence of str, length m
    col_labels : sequence of str, length q
    digits : int
        Decimals shown, ``>= 0``.
    width : int
        Width of each column of the text, ``>= 4``; longer column labels are
        cut to fit there (the Markdown table shows them whole).

    Returns
    -------
    Table
        Prints as fixed-width text; displays as a Markdown table with the
        numbers right-aligned.
    """
    M = as_factor(M, "M")
    row_labels = [str(r) for r in row_labels]
    col_labels = [str(c) for c in col_labels]
    if len(row_labels) != M.shape[0]:
        raise ValueError(f"row_labels must have {M.shape[0]} entries, got {len(row_labels)}")
    if len(col_labels) != M.shape[1]:
        raise ValueError(f"col_labels must have {M.shape[1]} entries, got {len(col_labels)}")
    digits, width = check_int(digits, "digits", 0), check_int(width, "width", 4)
    R = np.round(M, digits) + 0.0  # adding 0.0 turns -0.0 into 0.0
    cells = [[f"{v:.{digits}f}" for v in row] for row in R]
    first = max(len(r) for r in row_labels)
    lines = [" " * first + "".join(c[: width - 1].rjust(width) for c in col_labels)]
    for label, row in zip(row_labels, cells):
        lines.append(label.ljust(first) + "".join(c.rjust(width) for c in row))
    return Table(["", *col_labels], [[label, *row] for label, row in zip(row_labels, cells)],
                 ["left"] + ["right"] * len(col_labels), "\n".join(lines))
