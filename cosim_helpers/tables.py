"""Plain-text tables for printed notebook output.

:func:`format_rows` lays out rows of already formatted cells (strings) under
headers, e.g. chapter 6's comparison of the remedies. (A labelled numeric
matrix, rounded, is :func:`cosim_helpers.examples.format_table`.)
"""

from __future__ import annotations


def format_rows(rows, headers) -> str:
    """Plain-text table of already formatted cells under headers, columns left-aligned (book chapter 6).

    Parameters
    ----------
    rows : sequence of sequences of str
        Cells, already formatted (e.g. rounded numbers as strings).
    headers : sequence of str
        One per column.

    Returns
    -------
    str
        Header, a rule of dashes, then one line per row.
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
    return "\n".join([line(headers), rule] + [line(r) for r in rows])
