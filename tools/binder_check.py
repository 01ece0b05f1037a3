"""Run every reader notebook in Binder's light environment, as a student would.

Creates (or reuses) a virtual environment in ``_build/binder-venv`` with exactly
``binder/requirements.txt``, plus what the notebooks need from Binder's base image
(ipykernel, ipywidgets, and nbclient to run them) at the base image's versions
(``binder/repo2docker-base.txt``, used as constraints so that their dependencies
take the base image's versions too), installs ``cosim_helpers`` the way
``binder/postBuild`` does (``--no-deps``), and
executes each notebook in ``reader/book/`` top to bottom in that environment.
Fails if a notebook raises, or imports something the light set does not have.

    python tools/binder_check.py [NB ...]
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "_build" / "binder-venv"
PY = VENV / "bin" / "python"
REQS = ROOT / "binder" / "requirements.txt"
BASE_IMAGE = ROOT / "binder" / "repo2docker-base.txt"
#: What the notebooks (and this runner) take from Binder's base image.
BASE = ("ipykernel", "ipywidgets", "nbclient")


def ensure_env() -> None:
    stamp = VENV / ".binder-requirements.sha256"
    wanted = hashlib.sha256(REQS.read_bytes() + BASE_IMAGE.read_bytes()
                            + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    start = time.perf_counter()
    print("binder: creating the light environment in _build/binder-venv", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + ["-r", str(REQS), "-c", str(BASE_IMAGE), *BASE], check=True)
    subprocess.run(pip + ["--no-deps", str(ROOT)], check=True)
    stamp.write_text(wanted)
    print(f"binder: environment ready in {time.perf_counter() - start:.0f} s", flush=True)


RUNNER = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=900, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
"""


def run(path: Path) -> tuple[Path, float, str]:
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH="")  # the light env only, never the dev checkout
    # The chapters read nothing relative to their folder, so they run where the book has them.
    proc = subprocess.run([str(PY), "-c", RUNNER, str(path), str(ROOT / "book")],
                          capture_output=True, text=True, env=env, cwd=ROOT / "_build", check=False)
    return path, time.perf_counter() - start, "" if proc.returncode == 0 else proc.stderr[-3000:]


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "reader" / "book").glob("*.ipynb"))
    ensure_env()
    failed = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for path, seconds, error in pool.map(run, paths):
            print(f"binder: {path.name}: {'ok' if not error else 'FAILED'} ({seconds:.0f} s)", flush=True)
            if error:
                failed.append(path.name)
                print(error, file=sys.stderr)
    freeze = subprocess.run([str(PY), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True)
    print(f"binder: {len(json.loads(freeze.stdout))} packages in the light environment", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
