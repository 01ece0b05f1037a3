"""Execute the chapter notebooks once, and keep the committed ones light.

One execution serves everything: the notebooks are executed in parallel into
the book's jupyter-cache (``_build/.jupyter_cache``, the cache Jupyter Book
reads), and from there

* ``jupyter-book build`` renders them (it finds every notebook cached),
* the notebook tests (``tests/nbval_build.py``) compare the stored outputs
  with nbval's rules against the cached execution,
* ``execute`` copies the fresh outputs back into ``book/*.ipynb``.

The exercises' solution code runs in that same execution: each chapter is
executed with its reader notebook's solution cells appended (reader/book/,
``tools/reader_notebooks.py``; every solution comes after every chapter cell,
so this is what a student who runs the notebook to its end runs), and the
cache keeps two records of it: the chapter alone, which the book and nbval
read, and the chapter with its solutions, which the solution tests read
(:func:`solutions_run`). A solution that raises fails the build, and no
notebook runs a second time to check its solutions.

The cache is keyed by the code cells, so a change to the package would not
invalidate it: a fingerprint of everything the notebooks import besides their
own code (``cosim_helpers/``, ``data/``, ``requirements.txt``) and of the
numerical environment below is stored next to the cache, and a different
fingerprint empties it.

The kernels run in one numerical environment on every machine
(:data:`KERNEL_ENV`): one BLAS thread, and on x86-64 OpenBLAS's Haswell
(AVX2) kernels and NumPy's AVX2 loops even where the CPU has AVX-512. The
stored outputs are therefore the same on any x86-64 machine with AVX2; without
the pins, an AVX-512 machine ran chapter 11's L-BFGS fits to different
numbers (and past one of its own checks) than an AVX2 machine.

Committed notebooks keep what nbval compares (stream, text/plain and
text/markdown outputs) and nothing that bloats or churns: images, HTML (the
static twins), widget state and per-cell execution timestamps are removed,
and execution counts are renumbered 1, 2, ... (nbval only checks cells that
have a count, so the counts must stay).

Usage (see the Makefile)::

    python tools/notebooks.py cache   [NB ...]   # execute what is not cached yet
    python tools/notebooks.py execute [NB ...]   # cache, then refresh stored outputs
    python tools/notebooks.py check   [NB ...]   # storage policy; exit 1 on violations
    python tools/notebooks.py strip   [NB ...]   # apply the storage policy in place
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import platform
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
READER = ROOT / "reader"
CACHE = ROOT / "_build" / ".jupyter_cache"
FINGERPRINT = CACHE.parent / "package.sha256"
#: What the notebooks import besides their own cells: a change here re-executes them.
INPUTS = ("cosim_helpers/**/*", "data/**/*", "requirements.txt")
#: Environment of every kernel (see the module docstring). OPENBLAS_CORETYPE is read by
#: both NumPy's and SciPy's OpenBLAS; NPY_DISABLE_CPU_FEATURES turns off NumPy's AVX-512 loops.
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
if platform.machine() in ("x86_64", "AMD64"):
    KERNEL_ENV |= {"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}
#: Output data kept in committed notebooks (everything nbval compares here).
KEPT_DATA = ("text/plain", "text/markdown", "text/latex")
TIMEOUT = 900
#: Seconds each chapter took with its solutions (2 cores, quiet), to start the longest first when the
#: cache holds no earlier time (a fresh clone): both workers then stay busy to the end.
EXPECTED_SECONDS = {"06_remedies.ipynb": 110, "07_experiments.ipynb": 90, "10_real_data.ipynb": 60,
                    "11_trained_models.ipynb": 40, "09_audit.ipynb": 35}


def chapter_notebooks() -> list[Path]:
    """The book's notebooks, in file order."""
    return sorted(BOOK.glob("*.ipynb"))


def fingerprint() -> str:
    """SHA-256 over the files the notebooks depend on besides their own code."""
    digest = hashlib.sha256(repr(sorted(KERNEL_ENV.items())).encode())
    files = sorted({p for pattern in INPUTS for p in ROOT.glob(pattern) if p.is_file()})
    for path in files:
        if "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _open_cache():
    from jupyter_cache import get_cache

    return get_cache(str(CACHE))


def cache_is_current() -> bool:
    """True when the cache was filled with the package as it is now."""
    return FINGERPRINT.exists() and FINGERPRINT.read_text().strip() == fingerprint()


def cached_notebook(path: Path):
    """The cached execution of ``path`` (matched by its code cells), or None."""
    cache = _open_cache()
    nb = nbformat.read(path, as_version=4)
    try:
        _, merged = cache.merge_match_into_notebook(nb)
    except KeyError:
        return None
    return merged


def solution_cells(path: Path) -> list:
    """The solution code cells of chapter ``path``'s reader notebook, without outputs (none if it has none)."""
    if not path.is_relative_to(ROOT):
        return []
    reader = READER / path.relative_to(ROOT)
    if not reader.is_file():
        return []
    cells = [copy.deepcopy(c) for c in nbformat.read(reader, as_version=4).cells
             if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    for cell in cells:
        cell.outputs, cell.execution_count = [], None
    return cells


def with_solutions(nb, path: Path):
    """``nb`` (chapter ``path``) with its reader notebook's solution cells appended, as a student runs it."""
    full = copy.deepcopy(nb)
    full.cells += solution_cells(path)
    return full


def solutions_run(path: Path):
    """The cached execution of chapter ``path`` with its solutions appended, or None if it is not cached."""
    cache = _open_cache()
    full = with_solutions(nbformat.read(path, as_version=4), path)
    try:
        _, merged = cache.merge_match_into_notebook(full)
    except KeyError:
        return None
    return merged


def _execute(path: Path):
    """Run chapter ``path`` and then its solutions in one kernel (in a worker process)."""
    from jupyter_cache.executors.utils import single_nb_execution

    os.environ.update(KERNEL_ENV)  # the kernel inherits it
    full = with_solutions(nbformat.read(path, as_version=4), path)
    result = single_nb_execution(full, cwd=str(path.parent), timeout=TIMEOUT, allow_errors=False)
    print(f"notebooks: {path.name} {'failed' if result.err else 'executed'} in {result.time:.0f} s", flush=True)
    return result.nb, result.time, result.exc_string


def fill_cache(paths: list[Path]) -> None:
    """Execute every notebook in ``paths`` that is not cached (with its solutions), two at a time.

    Raises SystemExit with the failing notebook's traceback when one fails.
    """
    from jupyter_cache.base import CacheBundleIn

    current = fingerprint()
    previous = {}
    if CACHE.exists():
        # The last run's times order this one: the longest chapters start first, so both workers stay busy
        # (with solutions: the chapter-only records hold the same time).
        previous = {Path(r.uri).name: r.data.get("execution_seconds", 0)
                    for r in _open_cache().list_cache_records()}
        if not cache_is_current():
            print("notebooks: the package changed since the last execution; emptying the cache", flush=True)
            shutil.rmtree(CACHE)
    cache = _open_cache()
    todo = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        try:
            cache.match_cache_notebook(nb)
            cache.match_cache_notebook(with_solutions(nb, path))
        except KeyError:
            todo.append(path)
    FINGERPRINT.parent.mkdir(parents=True, exist_ok=True)
    if not todo:
        print(f"notebooks: all {len(paths)} executions are cached", flush=True)
        FINGERPRINT.write_text(current + "\n")
        return
    print(f"notebooks: executing {len(todo)} of {len(paths)} with their solutions (two at a time): "
          + ", ".join(p.name for p in todo), flush=True)
    todo.sort(key=lambda p: (previous.get(p.name) or EXPECTED_SECONDS.get(p.name, 0), p.name), reverse=True)
    start = time.perf_counter()
    failed = []
    with ProcessPoolExecutor(max_workers=2) as pool:
        for path, (full, seconds, error) in zip(todo, pool.map(_execute, todo)):
            if error:
                failed.append(path.name)
                print(f"\n--- {path.name} failed ---\n{error}", file=sys.stderr)
                continue
            chapter = copy.deepcopy(full)
            chapter.cells = full.cells[:len(full.cells) - len(solution_cells(path))]
            data = {"execution_seconds": seconds}
            records = [(chapter, path)] + ([(full, f"{path}#solutions")] if len(full.cells) > len(chapter.cells) else [])
            for nb, uri in records:   # a chapter without solutions: one record serves both lookups
                cache.cache_notebook_bundle(CacheBundleIn(nb, uri, data=data), check_validity=False, overwrite=True)
    if failed:
        raise SystemExit(f"notebooks: execution failed: {', '.join(failed)}")
    print(f"notebooks: executed in {time.perf_counter() - start:.0f} s", flush=True)
    FINGERPRINT.write_text(current + "\n")


def strip(nb) -> None:
    """Apply the storage policy to ``nb`` in place (see the module docstring)."""
    nb.metadata.pop("widgets", None)
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        outputs = []
        for out in cell.get("outputs", []):
            previous = outputs[-1] if outputs else None
            if (out.output_type == "stream" and previous is not None
                    and previous.output_type == "stream" and previous.name == out.name):
                previous.text += out.text  # one block per stream, as the book shows it
                continue
            if out.output_type in ("display_data", "execute_result"):
                out.data = {k: v for k, v in out.data.items() if k in KEPT_DATA}
                out.metadata = {}
                if not out.data:
                    continue
                if out.output_type == "execute_result":
                    out.execution_count = count
            outputs.append(out)
        cell.outputs = outputs


def violations(nb) -> list[str]:
    """Everything in ``nb`` that the storage policy forbids (empty when clean)."""
    found = []
    if "widgets" in nb.metadata:
        found.append("notebook metadata holds widget state")
    count = 0
    for index, cell in enumerate(nb.cells):
        if "execution" in cell.metadata:
            found.append(f"cell {index}: execution timestamps in metadata")
        if cell.cell_type != "code":
            continue
        count += 1
        if cell.execution_count != count:
            found.append(f"cell {index}: execution count {cell.execution_count}, expected {count}")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"cell {index}: a stored error")
            for key in out.get("data", {}):
                if key not in KEPT_DATA:
                    found.append(f"cell {index}: stored {key} output")
    return found


def execute(paths: list[Path]) -> None:
    """Execute (or reuse the cached execution of) ``paths`` and store their outputs."""
    fill_cache(paths)
    for path in paths:
        merged = cached_notebook(path)
        if merged is None:
            raise SystemExit(f"notebooks: {path.name} is not in the cache after execution")
        strip(merged)
        nbformat.write(merged, path)
        print(f"notebooks: stored outputs of {path.relative_to(ROOT)}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["cache", "execute", "check", "strip"])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every book/*.ipynb")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or chapter_notebooks()
    missing = [str(p) for p in paths if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        parser.error("not a notebook: " + ", ".join(missing))
    if args.command == "cache":
        fill_cache(paths)
    elif args.command == "execute":
        execute(paths)
    elif args.command == "strip":
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            strip(nb)
            nbformat.write(nb, path)
    else:
        bad = {p: violations(nbformat.read(p, as_version=4)) for p in paths}
        for path, found in bad.items():
            for line in found:
                print(f"{path.relative_to(ROOT)}: {line}")
        return 1 if any(bad.values()) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
