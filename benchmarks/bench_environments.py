"""Binder's light runtime set against the full development set, measured in one run.

Installs ``binder/requirements.txt`` and ``requirements.txt`` (without the editable
package line) into two fresh virtual environments, one after the other, and prints
for each: packages installed, installed size and install time, and the ratios.
Uses pip's cache when it has the wheels, so run it twice and read the second run for
a network-free comparison.

    python benchmarks/bench_environments.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1 / 3  # issue 14: the runtime set under a third of the full set's size


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def measure(requirements: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = str(venv / "bin" / "python")
        base = _size(venv)
        start = time.perf_counter()
        subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        listed = json.loads(subprocess.run([py, "-m", "pip", "list", "--format=json"],
                                           capture_output=True, text=True, check=True).stdout)
        return {"packages": len(listed) - 2, "megabytes": (_size(venv) - base) / 1e6, "seconds": seconds}


def _pins(path: Path) -> list[str]:
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith(("#", "-e"))]


def main() -> None:
    light = measure(_pins(ROOT / "binder" / "requirements.txt"))
    full = measure(_pins(ROOT / "requirements.txt"))
    print(f"{'set':<28}{'packages':>10}{'installed MB':>14}{'install s':>11}")
    for name, m in (("binder/requirements.txt", light), ("requirements.txt (full)", full)):
        print(f"{name:<28}{m['packages']:>10}{m['megabytes']:>14.0f}{m['seconds']:>11.0f}")
    ratio = light["megabytes"] / full["megabytes"]
    verdict = "PASS" if ratio < GOAL else "MISS"
    print(f"size ratio light/full: {ratio:.2f} (goal < {GOAL:.2f}: {verdict}); "
          f"time ratio: {light['seconds'] / full['seconds']:.2f}")


if __name__ == "__main__":
    main()
