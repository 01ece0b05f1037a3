"""The light runtime environment Binder installs (binder/) stays light and consistent.

Binder installs ``binder/requirements.txt`` on top of its base image, whose Python
packages ``binder/repo2docker-base.txt`` lists (taken from repo2docker's frozen
environment, cited there): the light set is complete together with it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(path):
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    return {_norm(ln.split("==")[0]): ln for ln in lines if ln and not ln.startswith("#")}


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


LIGHT = _pins(ROOT / "binder" / "requirements.txt")
BASE = _pins(ROOT / "binder" / "repo2docker-base.txt")


def test_binder_pins_are_exact_and_agree_with_the_development_set():
    full = _pins(ROOT / "requirements.txt")
    assert all("==" in line for line in LIGHT.values()), "pin every runtime package with =="
    assert {name: full.get(name) for name in LIGHT} == LIGHT


def test_binder_does_not_reinstall_what_the_base_image_has():
    # A pin that differs from the base image's version makes Binder replace that package.
    assert all("==" in line for line in BASE.values()) and {"ipykernel", "ipywidgets"} <= set(BASE)
    assert set(LIGHT) & set(BASE) == set()


def test_binder_set_is_complete_on_the_base_image():
    """Every dependency of a light package is in the light set or the base image."""
    import importlib.metadata

    from packaging.requirements import Requirement

    missing = set()
    for name in LIGHT:  # the development set has the same versions installed
        for line in importlib.metadata.requires(name) or []:
            req = Requirement(line)
            needed = req.marker is None or req.marker.evaluate({"extra": ""})
            if needed and _norm(req.name) not in set(LIGHT) | set(BASE):
                missing.add(f"{req.name} (for {name})")
    assert not missing, f"neither in binder/requirements.txt nor in the base image: {sorted(missing)}"


def test_binder_installs_what_the_package_needs_and_no_local_path():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {_norm(re.split(r"[<>=\[ ;]", d)[0]) for d in deps}
    covered = set(LIGHT) | set(BASE)
    assert names <= covered, f"missing from binder/requirements.txt: {names - covered}"
    assert not any(line.startswith(("-e", ".", "/")) or "@" in line for line in LIGHT.values())
    assert "pip install --no-deps ." in (ROOT / "binder" / "postBuild").read_text()


def test_binder_leaves_out_the_development_tools():
    for tool in ("jupyter-book", "nbgrader", "playwright", "pytest", "hypothesis", "ruff", "nbval"):
        assert tool not in LIGHT


def test_binder_has_every_package_the_chapters_import():
    """Modules imported by notebook cells or the package: from binder/requirements.txt or the base image."""
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
    missing = set()
    for module in modules - set(sys.stdlib_module_names) - {"cosim_helpers"}:
        names = {_norm(d) for d in dists.get(module, [module])}
        if not names & (set(LIGHT) | set(BASE)):
            missing.add(f"{module} ({', '.join(sorted(names))})")
    assert not missing, f"imported but neither in binder/requirements.txt nor in the base image: {sorted(missing)}"
