"""Committed notebooks stay light and diff like text, and a stale output still fails.

The policy and the one way to refresh outputs live in ``tools/notebooks.py``
(``make execute``); the comparison is ``tests/nbval_build.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebooks

NOTEBOOKS = notebooks.chapter_notebooks()
MAX_BYTES = 150_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_holds_text_outputs_only(path):
    found = notebooks.violations(nbformat.read(path, as_version=4))
    assert not found, f"{path.name}: {found[:5]} (run `make execute NB={path.relative_to(ROOT)}`)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_small(path):
    assert path.stat().st_size <= MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes"


def test_every_code_cell_keeps_an_execution_count():
    # nbval compares only cells with a count: stripping the counts would silence it.
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(c.execution_count for c in nb.cells if c.cell_type == "code"), path.name


def test_storage_policy_removes_what_bloats_and_keeps_what_nbval_compares():
    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    cell = nbformat.v4.new_code_cell("x", execution_count=7)
    cell.metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a "),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output("display_data", data={"image/png": "AAAA", "text/plain": "<Figure>"}),
        nbformat.v4.new_output("execute_result", data={"text/html": "<div/>"}, execution_count=7),
    ]
    nb.cells = [cell]
    assert len(notebooks.violations(nb)) == 5
    notebooks.strip(nb)
    assert notebooks.violations(nb) == []
    out = nb.cells[0].outputs
    assert [o.output_type for o in out] == ["stream", "display_data"]
    assert out[0].text == "a b\n" and out[1].data == {"text/plain": "<Figure>"}
    assert nb.cells[0].execution_count == 1 and "widgets" not in nb.metadata


def _pytest_on(path):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "--rootdir", str(ROOT),
                           "-c", str(ROOT / "pyproject.toml"), str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_editing_one_stored_output_fails_the_notebook_check(tmp_path):
    source = ROOT / "book" / "02_models.ipynb"
    nb = nbformat.read(source, as_version=4)
    intact = tmp_path / "intact.ipynb"
    nbformat.write(nb, intact)
    cell = next(c for c in nb.cells if c.cell_type == "code"
                and any(o.output_type == "stream" for o in c.outputs))
    stream = next(o for o in cell.outputs if o.output_type == "stream")
    stream.text = stream.text.replace("True", "False") if "True" in stream.text else stream.text + "x"
    edited = tmp_path / "edited.ipynb"
    nbformat.write(nb, edited)

    good, bad = _pytest_on(intact), _pytest_on(edited)
    assert good.returncode == 0, good.stdout[-2000:]
    assert bad.returncode == 1 and "Cell outputs differ" in bad.stdout, bad.stdout[-2000:]


@pytest.mark.slow
def test_kernels_run_in_the_pinned_numerical_environment(tmp_path, monkeypatch):
    """Every kernel the cache starts sees KERNEL_ENV, whatever the caller exported.

    Without the pins the stored outputs depend on the CPU (chapter 11 printed
    other numbers on an AVX-512 machine); on x86-64 NumPy must report its
    AVX-512 loops off inside the kernel even when this process has them on.
    """
    monkeypatch.setattr(notebooks, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(notebooks, "FINGERPRINT", tmp_path / "package.sha256")
    for name in notebooks.KERNEL_ENV:
        monkeypatch.setenv(name, "4" if name.endswith("THREADS") else "")
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, json, numpy._core._multiarray_umath as m\n"
        f"print(json.dumps({{k: os.environ.get(k) for k in {sorted(notebooks.KERNEL_ENV)!r}}}))\n"
        "print(m.__cpu_features__.get('X86_V4'))")])
    path = tmp_path / "probe.ipynb"
    nbformat.write(probe, path)
    notebooks.fill_cache([path])
    out = notebooks.cached_notebook(path).cells[0].outputs[0].text.splitlines()
    assert json.loads(out[0]) == notebooks.KERNEL_ENV
    if "NPY_DISABLE_CPU_FEATURES" in notebooks.KERNEL_ENV:
        assert out[1] in ("False", "None")


def test_numerical_environment_is_part_of_the_fingerprint(monkeypatch):
    before = notebooks.fingerprint()
    monkeypatch.setattr(notebooks, "KERNEL_ENV", {**notebooks.KERNEL_ENV, "OMP_NUM_THREADS": "2"})
    assert notebooks.fingerprint() != before


def test_solutions_run_after_their_chapter_and_a_failing_one_fails_the_build(tmp_path, monkeypatch):
    """The build runs a chapter's reader solutions after it, in its kernel; the book's record stays the chapter."""
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "READER", tmp_path / "reader")
    monkeypatch.setattr(notebooks, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(notebooks, "FINGERPRINT", tmp_path / "package.sha256")
    chapter = tmp_path / "book" / "x.ipynb"
    (tmp_path / "reader" / "book").mkdir(parents=True)
    chapter.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 20")]), chapter)

    def solution(source):
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["solution"]})
        reader = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 20"), cell])
        nbformat.write(reader, tmp_path / "reader" / "book" / "x.ipynb")

    solution("print(x + 1)")
    notebooks.fill_cache([chapter])
    assert len(notebooks.cached_notebook(chapter).cells) == 1
    ran = notebooks.solutions_run(chapter).cells
    assert ran[-1].outputs[0].text == "21\n"
    solution("raise ValueError('a broken solution')")
    with pytest.raises(SystemExit, match="x.ipynb"):
        notebooks.fill_cache([chapter])
