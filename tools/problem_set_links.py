"""Point the problem sets at the repository named in ``_config.yml`` (issue 21).

The problem sets in ``coursework/source/`` link each task to its chapter on
the published book and start with the chapters' Colab cell, which installs
``cosim_helpers`` from the repository. Both follow the one ``repository:``
setting of ``_config.yml``: the book's address is its GitHub Pages site
(``https://<owner>.github.io/<name>/book/``) and the install is
``repository.url`` at ``repository.branch`` (the same cell as the chapters',
``tools/reader_notebooks.py``). A fork changes ``_config.yml`` and runs::

    python tools/problem_set_links.py          # rewrite the links and installs
    python tools/problem_set_links.py --check  # exit 1 if a problem set disagrees

``tests/test_publishing.py`` runs the check.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from reader_notebooks import colab_install_cell

PROBLEM_SETS = ROOT / "coursework" / "source"
BOOK_LINK = re.compile(r"https://[\w.-]+\.github\.io/[\w.-]+/book/")


def site_url(repository_url: str) -> str:
    """The book's address on GitHub Pages for a ``https://github.com/<owner>/<name>`` repository."""
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)/?", repository_url)
    if m is None:
        raise ValueError(f"repository.url must be https://github.com/<owner>/<name>, got {repository_url!r}")
    return f"https://{m.group(1)}.github.io/{m.group(2)}/book/"


def rewrite(nb: dict, repository: dict) -> dict:
    """``nb`` with its book links and its Colab cell following ``repository`` (changed in place)."""
    book = site_url(repository["url"])
    first = next((c for c in nb["cells"] if c["cell_type"] == "code"), None)
    if first is None or not "".join(first["source"]).startswith("# Colab only: install the course package"):
        raise ValueError("the first code cell of a problem set must be the Colab cell")
    first["source"] = _lines(colab_install_cell(repository["url"], repository["branch"]))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = _lines(BOOK_LINK.sub(book, "".join(cell["source"])))
    return nb


def _lines(text: str) -> list[str]:
    """A cell source as stored in the problem sets: one string per line."""
    return text.splitlines(keepends=True)


def problem_sets() -> list[Path]:
    return sorted(PROBLEM_SETS.glob("ps*/ps*.ipynb"))


def sync(check: bool = False, repository: dict | None = None) -> list[str]:
    """Rewrite every problem set (or, with ``check``, list those that disagree)."""
    repository = repository or yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    stale = []
    for path in problem_sets():
        before = path.read_text(encoding="utf-8")
        nb = rewrite(json.loads(before), repository)
        after = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        if json.loads(after) != json.loads(before):
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                path.write_text(after, encoding="utf-8")
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a problem set disagrees with _config.yml")
    args = parser.parse_args(argv)
    stale = sync(check=args.check)
    if stale and args.check:
        print("not following _config.yml's repository (run python tools/problem_set_links.py): " + ", ".join(stale))
        return 1
    for path in stale:
        print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
