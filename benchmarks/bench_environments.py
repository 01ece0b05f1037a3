"""Binder's light runtime set against the full development set, measured in one run.

Two ways, each for both sets (``binder/requirements.txt`` and ``requirements.txt``
without its editable ``-e .`` line), one install after the other:

* **on Binder's base image**, as Binder installs them: a virtual environment first
  gets the Python packages of Binder's base image (``binder/repo2docker-base.txt``:
  repo2docker's frozen environment, cited there), installed once with
  ``--no-deps`` at those versions, then copied for each set; the set is
  pip-installed on top. Counted is what that install adds to the image: the bytes
  of every file pip writes (new files, and every file of a package it replaces
  by another version: in a container image the replaced files stay in the lower
  layer, so the new ones cost their full size), and the distributions it adds
  or replaces.
* **in a bare virtual environment**: everything the set pulls in.

Sizes include the ``__pycache__`` that pip compiles at install time, for both sets
alike (repo2docker's ``pip install`` compiles too). Seconds are wall time and the
CPU time of pip and its children. pip uses its cache (``PIP_CACHE_DIR`` or the
default): run once to fill it, and read a second run for times without downloads.
The table of the largest packages of each set on the base image shows where the
size goes.

    python benchmarks/bench_environments.py
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1 / 3  # issue 14: the runtime set under a third of the full set's size
SETS = {"light": ROOT / "binder" / "requirements.txt", "full": ROOT / "requirements.txt"}
BASE_IMAGE = ROOT / "binder" / "repo2docker-base.txt"
ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def _requirements(path: Path) -> list[str]:
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith(("#", "-e"))]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _files(venv: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, _, names in os.walk(venv):
        for name in names:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def _dists(py: Path) -> dict[str, str]:
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=json"], env=ENV,
                            capture_output=True, text=True, check=True).stdout
    return {_norm(d["name"]): d["version"] for d in json.loads(listed)}


def _dist_sizes(py: Path, names: list[str]) -> dict[str, tuple[int, int]]:
    """Installed bytes of each distribution (its RECORD, compiled files included), and of its .pyc."""
    code = """
import importlib.metadata as md, json, re, sys
out = {}
for d in md.distributions():
    name = re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()
    if name in sys.argv[1:]:
        total = pyc = 0
        for f in d.files or []:
            p = d.locate_file(f)
            if p.is_file():
                total += p.stat().st_size
                pyc += p.stat().st_size if p.suffix == ".pyc" else 0
        out[name] = (total, pyc)
print(json.dumps(out))
"""
    return json.loads(subprocess.run([str(py), "-c", code, *names], env=ENV, capture_output=True,
                                     text=True, check=True).stdout)


def _pip(py: Path, args: list[str]) -> tuple[float, float]:
    """Run pip; return wall and CPU seconds (pip and its children)."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                   env=ENV, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - start, cpu


def install(venv: Path, requirements: list[str]) -> dict:
    """Install into ``venv``; measure what the install writes and which distributions it adds."""
    py = venv / "bin" / "python"
    files, dists = _files(venv), _dists(py)
    wall, cpu = _pip(py, requirements)
    written = sum(new[2] for path, new in _files(venv).items() if files.get(path) != new)
    after = _dists(py)
    changed = sorted(n for n, v in after.items() if dists.get(n) != v)
    return {"packages": len(changed), "replaced": sum(n in dists for n in changed),
            "megabytes": written / 1e6, "seconds": wall, "cpu": cpu,
            "largest": _dist_sizes(py, changed)}


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], env=ENV, check=True)
    return path


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = _venv(tmp / "base")
        start = time.perf_counter()
        _pip(base / "bin" / "python", ["--no-deps", "-r", str(BASE_IMAGE)])
        print(f"base image packages: {len(_requirements(BASE_IMAGE))} "
              f"(installed in {time.perf_counter() - start:.0f} s)", flush=True)
        for name, path in SETS.items():
            venv = tmp / f"{name}-on-base"
            shutil.copytree(base, venv, symlinks=True)
            results[("on base image", name)] = install(venv, _requirements(path))
            shutil.rmtree(venv)
        for name, path in SETS.items():
            results[("bare venv", name)] = install(_venv(tmp / f"{name}-bare"), _requirements(path))
            shutil.rmtree(tmp / f"{name}-bare")

    print(f"\n{'installed':<15}{'set':<7}{'packages':>9}{'(replaced)':>11}{'MB':>8}{'wall s':>8}{'CPU s':>8}")
    for (where, name), m in results.items():
        print(f"{where:<15}{name:<7}{m['packages']:>9}{m['replaced']:>11}{m['megabytes']:>8.0f}"
              f"{m['seconds']:>8.0f}{m['cpu']:>8.0f}")
    for where in ("on base image", "bare venv"):
        light, full = results[(where, "light")], results[(where, "full")]
        ratio = light["megabytes"] / full["megabytes"]
        print(f"{where}: size ratio light/full {ratio:.2f} (goal < {GOAL:.2f}: "
              f"{'PASS' if ratio < GOAL else 'MISS'}); wall time ratio "
              f"{light['seconds'] / full['seconds']:.2f}; CPU time ratio {light['cpu'] / full['cpu']:.2f}")
    for name in SETS:
        m = results[("on base image", name)]
        top = sorted(m["largest"].items(), key=lambda kv: -kv[1][0])[:10]
        shown = sum(size for _, (size, _) in top)
        print(f"\nlargest packages of the {name} set on the base image (MB, of which .pyc):")
        for dist, (size, pyc) in top:
            print(f"  {dist:<26}{size / 1e6:>7.1f}{pyc / 1e6:>7.1f}")
        print(f"  {'these ' + str(len(top)):<26}{shown / 1e6:>7.1f}  of {m['megabytes']:.0f} MB written")


if __name__ == "__main__":
    main()
