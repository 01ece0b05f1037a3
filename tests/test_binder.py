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


def test_binder_has_every_package_the_chapters_import():
    """Modules imported by notebook cells or the package come from binder/requirements.txt."""
    import ast
    import importlib.metadata
    import sys

    import nbformat

    modules = set()
    sources = [c.source for nb in sorted((ROOT / "book").glob("*.ipynb"))
               for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code"]
    sources += [p.read_text() for p in (ROOT / "cosim_helpers").rglob("*.py")]
    for src in sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:  # IPython magics; none of our cells has one
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    dists = importlib.metadata.packages_distributions()
    provided_by_binder_base = {"ipython", "ipykernel", "traitlets", "comm"}
    light = set(_pins(ROOT / "binder" / "requirements.txt"))
    missing = set()
    for module in modules - set(sys.stdlib_module_names) - {"cosim_helpers"}:
        names = {d.lower() for d in dists.get(module, [module])}
        if not names & (light | provided_by_binder_base):
            missing.add(f"{module} ({', '.join(sorted(names))})")
    assert not missing, f"imported but not in binder/requirements.txt: {sorted(missing)}"
