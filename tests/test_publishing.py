"""What Binder, Colab and the published site rely on stays consistent.

The repository URL, branch and release tag live in one place, ``repository:`` in
``_config.yml``. Every chapter's Colab install cell points at the repository and
branch; every reader notebook's (what the Colab button opens) at the release tag,
and the built Colab button opens the reader notebook at that tag.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from colab_release import colab_at_release
from problem_set_links import problem_sets, rewrite, site_url, sync
from reader_notebooks import colab_install_cell


def colab_cell_source(ref=None):
    """The exact first code cell every chapter (``ref``: the branch) or reader notebook starts with."""
    return colab_install_cell(CONFIG["repository"]["url"], ref or CONFIG["repository"]["branch"])


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
def test_reader_notebook_installs_the_release_in_colab(path):
    reader = ROOT / CONFIG["repository"]["path_to_book"] / path.relative_to(ROOT)
    first = next(c for c in json.loads(reader.read_text())["cells"] if c["cell_type"] == "code")
    tag = CONFIG["repository"]["release_tag"]
    assert "".join(first["source"]) == colab_cell_source(tag), (
        f"{reader.name}: its Colab cell must install the release {tag} (run `make reader`)")
    assert f"@{tag}\"" in colab_cell_source(tag) and "remove-cell" in first["metadata"]["tags"]


def test_colab_button_is_pointed_at_the_release():
    # The group sphinx-book-theme's add_launch_buttons appends to header_buttons.
    base = "https://colab.research.google.com/github/o/r/blob"
    buttons = [{"type": "group", "label": "launch-buttons", "buttons": [
        {"text": "Binder", "url": "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/reader/book/a.ipynb"},
        {"text": "Colab", "url": f"{base}/main/reader/book/a.ipynb"}]}]
    assert colab_at_release(buttons, "main", "v1.2.3") == 1
    assert buttons[0]["buttons"][1]["url"] == f"{base}/v1.2.3/reader/book/a.ipynb"
    assert buttons[0]["buttons"][0]["url"].startswith("https://mybinder.org/v2/gh/o/r/main?")


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
def test_built_launch_links_point_at_the_repository_ref_and_reader_notebook():
    html_dir = ROOT / "_build" / "html"
    if not (html_dir / "index.html").exists():
        pytest.fail("build the book first (make test does)")
    owner_repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    branch, path = CONFIG["repository"]["branch"], CONFIG["repository"]["path_to_book"]
    tag = CONFIG["repository"]["release_tag"]
    for nb in NOTEBOOKS:
        page = (html_dir / nb.relative_to(ROOT)).with_suffix(".html").read_text()
        target = f"{path}/{nb.relative_to(ROOT)}"
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{target}"
        # Colab opens the reader notebook of the release its Colab cell installs.
        colab = f"https://colab.research.google.com/github/{owner_repo}/blob/{tag}/{target}"
        assert binder in page and colab in page, nb.name
        if branch != tag:
            assert f"colab.research.google.com/github/{owner_repo}/blob/{branch}/" not in page, nb.name
        assert (ROOT / target).is_file()


# --- the problem sets follow repository: too (issue 21) --------------------------------------


def test_problem_sets_follow_the_repository_setting():
    assert len(problem_sets()) == 4
    assert sync(check=True) == [], "run python tools/problem_set_links.py after changing _config.yml"
    book = site_url(CONFIG["repository"]["url"])
    for path in problem_sets():
        text = path.read_text()
        links = re.findall(r"https://[\w.-]+\.github\.io/[^\s)\"]*", text)
        assert links and all(link.startswith(book) for link in links), path.name
        assert re.findall(r"git\+(https://[^@\"]+)@([\w.-]+)", text) == [
            (CONFIG["repository"]["url"], CONFIG["repository"]["branch"])], path.name


def test_a_fork_changes_one_setting_and_the_problem_sets_follow(tmp_path):
    fork = {"url": "https://github.com/someone/my-course", "branch": "spring"}
    nb = json.loads(problem_sets()[0].read_text())
    out = json.dumps(rewrite(nb, fork))
    assert "https://someone.github.io/my-course/book/02_models.html" in out
    assert "git+https://github.com/someone/my-course@spring" in out
    assert "cosim-course" not in out
    with pytest.raises(ValueError, match="repository.url"):
        site_url("https://gitlab.com/someone/my-course")
