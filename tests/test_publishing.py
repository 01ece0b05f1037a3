"""What Binder, Colab and the published site rely on stays consistent.

The repository URL and branch live in one place, ``_config.yml``; the Colab
install cell of every chapter must point at the same repository and branch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def colab_cell_source():
    """The exact first code cell every chapter starts with."""
    repo, branch = CONFIG["repository"]["url"], CONFIG["repository"]["branch"]
    return (
        "# Colab only: install the course package when it is missing. Does nothing\n"
        "# elsewhere (local, Binder, CI), where requirements.txt installed it.\n"
        "import importlib.util, os, subprocess, sys\n"
        "if \"COLAB_RELEASE_TAG\" in os.environ and importlib.util.find_spec(\"cosim_helpers\") is None:\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\",\n"
        f"                    \"cosim_helpers @ git+{repo}@{branch}\"], check=True)"
    )


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_the_hidden_colab_install(path):
    nb = json.loads(path.read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "".join(first["source"]) == colab_cell_source(), (
        f"{path.name}: the first code cell must be the Colab install cell "
        "(see CONTRIBUTING.md), pointing at _config.yml's repository and branch"
    )
    assert "remove-cell" in first["metadata"].get("tags", []), "hide it in the book with the remove-cell tag"
    assert first["outputs"] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_install_cells_or_path_hacks_elsewhere(path):
    nb = json.loads(path.read_text())
    code = [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "code"][1:]
    for src in code:
        assert not re.search(r"^\s*[!%]\s*pip", src, re.MULTILINE), f"{path.name}: pip install cell"
        assert "sys.path" not in src, f"{path.name}: sys.path hack"


def test_requirements_are_pinned_and_install_the_package():
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    reqs = [ln for ln in lines if ln and not ln.startswith("#")]
    assert reqs[-1] == "-e ."
    unpinned = [r for r in reqs[:-1] if "==" not in r]
    assert unpinned == []
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_live_code_says_it_needs_the_network():
    # Thebe loads its script from a CDN and a kernel from Binder: the one online feature.
    if CONFIG.get("launch_buttons", {}).get("thebe"):
        readme = (ROOT / "README.md").read_text()
        index = (ROOT / "book" / "index.md").read_text()
        assert "Live code needs the network" in readme
        assert '"Live code" button' in index and "need the network" in index


def test_launch_buttons_open_the_reader_notebooks():
    path = CONFIG["repository"]["path_to_book"]
    assert path == "reader"
    for nb in NOTEBOOKS:
        assert (ROOT / path / nb.relative_to(ROOT)).is_file(), f"no reader notebook for {nb.name}"


@pytest.mark.slow
def test_built_launch_links_point_at_the_repository_branch_and_reader_notebook():
    html_dir = ROOT / "_build" / "html"
    if not (html_dir / "index.html").exists():
        pytest.fail("build the book first (make test does)")
    owner_repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    branch, path = CONFIG["repository"]["branch"], CONFIG["repository"]["path_to_book"]
    for nb in NOTEBOOKS:
        page = (html_dir / nb.relative_to(ROOT)).with_suffix(".html").read_text()
        target = f"{path}/{nb.relative_to(ROOT)}"
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{target}"
        colab = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{target}"
        assert binder in page and colab in page, nb.name
        assert (ROOT / target).is_file()
