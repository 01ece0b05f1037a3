"""A plain ``pip install`` (Colab, Binder's postBuild) ships the whole package.

The development venv installs the repository in editable mode, so a module
missing from the wheel goes unnoticed there; this builds the wheel and
compares it with the source tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_holds_every_module_and_data_file(tmp_path):
    # Build from a copy of the tracked files: a checkout's own build/ and *.egg-info
    # (left by the editable install) would hide a missing package.
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout.split("\0")
    source = tmp_path / "source"
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "--wheel-dir", str(tmp_path), str(source)], check=True, cwd=tmp_path)
    wheel, = tmp_path.glob("cosim_helpers-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "cosim_helpers"
    wanted = {p.relative_to(ROOT).as_posix() for p in package.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts
              and (p.suffix == ".py" or p.parent.name == "_data")}
    assert {"cosim_helpers/widgets/__init__.py", "cosim_helpers/audit/cli.py"} <= wanted
    assert wanted - shipped == set()
