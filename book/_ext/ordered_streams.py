"""Sphinx extension: printed text and displayed tables keep their order on the page (issue 21).

A chapter cell may print a line, display a table (a ``text/markdown`` output,
``cosim_helpers.tables``), then print more. myst-nb's ``nb_merge_streams``
merges *all* of a cell's stdout into its first stdout block, which would put
the text printed after the table above it. This extension makes that option
merge only *consecutive* stream outputs (each run through myst-nb's own merge,
which also resolves carriage returns), the rule ``tools/notebooks.py`` applies
to the committed notebooks: one block per run of printed text, in order.

It replaces ``myst_nb.core.render.coalesce_streams`` (myst-nb is pinned in
``requirements.txt``); the build fails loudly if that name ever goes away.
``tests/test_ordered_streams.py`` checks it.
"""

from __future__ import annotations

from myst_nb.core import render

_MYST_NB_MERGE = render.coalesce_streams


def merge_consecutive_streams(outputs):
    """``outputs`` with each run of consecutive stream outputs merged, other outputs left in place."""
    merged, run = [], []
    for output in outputs or []:
        if output["output_type"] == "stream":
            run.append(output)
            continue
        merged += _MYST_NB_MERGE(run) if run else []
        run = []
        merged.append(output)
    return merged + (_MYST_NB_MERGE(run) if run else [])


def setup(app):
    if not callable(getattr(render, "coalesce_streams", None)):
        raise TypeError("ordered_streams: myst_nb.core.render.coalesce_streams is gone; update book/_ext")
    render.coalesce_streams = merge_consecutive_streams
    return {"parallel_read_safe": True, "parallel_write_safe": True}
