"""The reader notebooks' Colab cell, run as Colab runs it, offline.

The cell (``tools/reader_notebooks.py``, ``colab_install_cell``) recognises Colab
by the ``COLAB_RELEASE_TAG`` environment variable that Colab's runtime sets, and
then pip-installs ``cosim_helpers`` from the GitHub repository at
``repository.release_tag``. Here the cell's text, unchanged, runs in a scratch
virtual environment without ``cosim_helpers``, against a temporary clone of this
repository in which that tag is created and a later commit moves the branch on:

* git's ``url.<base>.insteadOf`` (given through ``GIT_CONFIG_*`` variables) sends
  the cell's ``https://github.com/...`` URL to the clone, so nothing leaves the
  machine, and ``protocol.https.allow=never`` makes sure of it;
* pip runs with ``--no-index --no-deps`` and without build isolation (through
  ``PIP_*`` variables), building the package with the setuptools and wheel this
  environment has; Colab's own dependencies (numpy, scipy, ...) come from here.

It then checks that the package imports from the scratch environment, at the
tagged commit, not at the branch's newer one.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
sys.path.insert(0, str(ROOT / "tools"))
from reader_notebooks import colab_install_cell

#: What pip needs to build the package from source without an index (in the development
#: venv: pip, ensurepip's setuptools, wheel via sphinx-togglebutton, packaging).
BUILD_TOOLS = ("pip", "setuptools", "wheel", "packaging")


def reader_cell() -> str:
    """The Colab cell as committed in the first reader notebook."""
    import nbformat

    first = min((ROOT / REPOSITORY["path_to_book"] / "book").glob("*.ipynb"))
    cell = next(c for c in nbformat.read(first, as_version=4).cells if c.cell_type == "code")
    assert cell.source == colab_install_cell(REPOSITORY["url"], REPOSITORY["release_tag"])
    return cell.source


def scratch_env(tmp_path: Path) -> tuple[Path, Path]:
    """A virtual environment with only pip's build tools (linked from this one): no cosim_helpers."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    for name in BUILD_TOOLS:
        dist = importlib.metadata.distribution(name)
        for top in {Path(f).parts[0] for f in dist.files if not str(f).startswith("..")}:
            if Path(dist.locate_file(top)).exists() and not (site / top).exists():
                (site / top).symlink_to(dist.locate_file(top))
    return venv / "bin" / "python", site


def run_cell(python: Path, source: str, clone: Path, colab: bool, cwd: Path):
    """Run ``source`` as a notebook cell would, with GitHub redirected to ``clone``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "GIT_", "COLAB_"))}
    env.update({
        "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads this variable inverted: 0 turns isolation off
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_COUNT": "3",
        "GIT_CONFIG_KEY_0": f"url.{clone.as_uri()}.insteadOf", "GIT_CONFIG_VALUE_0": REPOSITORY["url"],
        "GIT_CONFIG_KEY_1": "protocol.https.allow", "GIT_CONFIG_VALUE_1": "never",
        "GIT_CONFIG_KEY_2": "protocol.file.allow", "GIT_CONFIG_VALUE_2": "always",
    })
    if colab:
        env["COLAB_RELEASE_TAG"] = "release-colab_20261201-060000_RC00"  # the form Colab uses
    return subprocess.run([str(python), "-c", source], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False)


def git(*args, cwd: Path) -> str:
    ident = ["-c", "user.name=test", "-c", "user.email=test@example.org", "-c", "tag.gpgSign=false",
             "-c", "commit.gpgSign=false"]
    return subprocess.run(["git", *ident, *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def clone(tmp_path):
    """A clone of this repository's HEAD with the release tag on it and one commit after the tag."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    repo = tmp_path / "repo"
    git("clone", "--quiet", str(ROOT), str(repo), cwd=tmp_path)
    tag = REPOSITORY["release_tag"]
    if not git("tag", "--list", tag, cwd=repo):  # once released, the clone has the real tag
        git("tag", "-a", tag, "-m", "release under test", cwd=repo)
    init = repo / "cosim_helpers" / "__init__.py"
    init.write_text(init.read_text() + "\nAFTER_THE_TAG = True\n")
    git("commit", "--quiet", "-am", "a commit after the tag", cwd=repo)
    return repo


def test_cell_does_nothing_outside_colab(tmp_path):
    python, site = scratch_env(tmp_path)
    missing = tmp_path / "no-such-repository"
    proc = run_cell(python, reader_cell(), missing, colab=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not list(site.glob("cosim_helpers*")), "installed although not in Colab"


def test_cell_installs_the_release_tag_in_colab(tmp_path, clone):
    python, site = scratch_env(tmp_path)
    tag = REPOSITORY["release_tag"]
    proc = run_cell(python, reader_cell(), clone, colab=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # pip recorded the repository URL the cell names and the tag's commit, not the branch's.
    (dist_info,) = site.glob("cosim_helpers-*.dist-info")
    direct = json.loads((dist_info / "direct_url.json").read_text())
    tagged = git("rev-parse", f"{tag}^{{commit}}", cwd=clone).strip()
    assert direct["url"] == REPOSITORY["url"]
    assert direct["vcs_info"] == {"vcs": "git", "requested_revision": tag, "commit_id": tagged}
    assert tagged != git("rev-parse", "HEAD", cwd=clone).strip()
    version = git("show", f"{tag}:pyproject.toml", cwd=clone).split('version = "')[1].split('"')[0]
    assert tag == f"v{version}" and dist_info.name == f"cosim_helpers-{version}.dist-info"

    # It imports from the scratch environment (its dependencies from this one), as tagged.
    probe = ("import json, cosim_helpers; print(json.dumps([cosim_helpers.__file__, "
             "hasattr(cosim_helpers, 'AFTER_THE_TAG')]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run([sys.executable, "-c", probe], env=dict(env, PYTHONPATH=str(site)),
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    file, after_tag = json.loads(out)
    assert Path(file).is_relative_to(site) and not after_tag
    assert (site / "cosim_helpers" / "__init__.py").read_text() == \
        git("show", f"{tag}:cosim_helpers/__init__.py", cwd=clone)

    # Run again, as a student re-running the notebook would: the package is there, nothing happens.
    again = run_cell(python, reader_cell(), tmp_path / "no-such-repository", colab=True, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
