"""The light runtime environment Binder installs (binder/) stays light and consistent."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(path):
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    return {ln.split("==")[0].lower(): ln for ln in lines if ln and not ln.startswith("#")}


def test_binder_pins_are_exact_and_agree_with_the_development_set():
    light, full = _pins(ROOT / "binder" / "requirements.txt"), _pins(ROOT / "requirements.txt")
    assert all("==" in line for line in light.values()), "pin every runtime package with =="
    assert {name: full.get(name) for name in light} == light


def test_binder_installs_what_the_package_needs_and_no_local_path():
    light = _pins(ROOT / "binder" / "requirements.txt")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ;]", d)[0].lower() for d in deps}
    assert names <= set(light), f"missing from binder/requirements.txt: {names - set(light)}"
    assert not any(line.startswith(("-e", ".", "/")) or "@" in line for line in light.values())
    assert "pip install --no-deps ." in (ROOT / "binder" / "postBuild").read_text()


def test_binder_leaves_out_the_development_tools():
    light = set(_pins(ROOT / "binder" / "requirements.txt"))
    for tool in ("jupyter-book", "nbgrader", "playwright", "pytest", "hypothesis", "ruff", "nbval"):
        assert tool not in light
