"""nbval over the book's own execution: each notebook is executed once per run.

``make book`` (and so ``make test``) executes every chapter notebook once, in
parallel, into the jupyter-cache that Jupyter Book renders from
(``tools/notebooks.py``). This plugin collects ``book/*.ipynb`` with nbval's
collector and compares each stored cell output with the cached execution
using nbval's own comparison (its sanitising, its ``nbval-ignore-output`` /
``nbval-skip`` / ``raises-exception`` tags), instead of starting a second
kernel. A stale stored output therefore still fails, and so does a cell that
raised.

Committed notebooks hold text outputs only (``tools/notebooks.py``), so
``text/html`` (the explorers' static twins, rendered by the book) is compared
by neither side, like nbval's default skip of images.

Fails with a clear message when the cache is missing or was filled with
another version of the package: run ``make book`` first (``make test`` does).
Every notebook item is marked ``slow``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import IPyNbCell, IPyNbFile, NbCellError, coalesce_streams

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebooks

#: Output data never stored in committed notebooks, so never compared.
NOT_STORED = ("text/html", "application/javascript", "image/svg+xml",
              "application/vnd.jupyter.widget-state+json")


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".ipynb":
        return BuiltNotebook.from_parent(parent, path=file_path)
    return None


class BuiltNotebook(IPyNbFile):
    """A chapter notebook whose cells are checked against the cached execution."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_compare = tuple(self.skip_compare) + NOT_STORED

    def setup(self):
        self.setup_sanitize_files()
        if not notebooks.cache_is_current():
            pytest.fail("the notebooks were not executed with the current package: run `make book` "
                        "(make test does) before pytest", pytrace=False)
        executed = notebooks.cached_notebook(Path(self.fspath))
        if executed is None:
            pytest.fail(f"{Path(self.fspath).name} has no cached execution of its current code: "
                        "run `make book` (make test does) before pytest", pytrace=False)
        self.executed_cells = [c for c in executed.cells if c.cell_type == "code"]

    def collect(self):
        for item in super().collect():
            cell = BuiltCell.from_parent(self, name=item.name, cell_num=item.cell_num,
                                         cell=item.cell, options=item.options)
            cell.add_marker(pytest.mark.slow)
            yield cell

    def teardown(self):
        pass


class BuiltCell(IPyNbCell):
    """One code cell: its cached execution must not raise and must match the stored output."""

    def runtest(self):
        if self.options["skip"]:
            pytest.skip()
        outs = self.parent.executed_cells[self.cell_num].get("outputs", [])
        errors = [o for o in outs if o.output_type == "error"]
        if errors and not self.options["check_exception"]:
            raise NbCellError(self.cell_num, "Cell execution caused an exception", self.cell.source,
                              "\n".join(errors[0].get("traceback", [])))
        if self.cell.execution_count is None and self.cell.outputs:
            self.raise_cell_error("Unrun reference cell has outputs")
        if self.options["check"] and self.cell.execution_count is not None:
            test = coalesce_streams([nbformat.from_dict(dict(o)) for o in outs])
            if not self.compare_outputs(test, coalesce_streams(self.cell.outputs)):
                self.raise_cell_error("Cell outputs differ", "\n".join(self.comparison_traceback))
