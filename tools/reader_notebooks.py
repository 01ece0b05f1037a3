"""Reader notebooks: the chapters as they read in Jupyter, Binder and Colab.

The chapter notebooks in ``book/`` are written in MyST for Jupyter Book:
theorem, proof, exercise and solution blocks are directive fences, and
cross-references and citations are roles. Opened in plain Jupyter or Colab,
those show as raw markup, and every solution is in plain sight. This script
turns each chapter into a *reader notebook* in ``reader/book/`` (the path the
launch buttons open, see ``repository.path_to_book`` in ``_config.yml``):

* ``{prf:theorem}`` and friends become a bold, numbered heading as in the book
  ("**Theorem 4.2** (Minimisers of objective 1)") followed by the statement;
  proofs end with ∎; admonitions become quotes;
* exercises stay where they are, one rule before each; each solution's
  prose is collapsed in a ``<details>`` element ("Solution to Exercise 4.1
  (click to show)"), and its Python code becomes a runnable code cell right
  after it, tagged ``solution`` and collapsed in JupyterLab
  (``jupyter.source_hidden``) and Colab (``cellView: form`` with a
  ``# @title``), so a student can run a solution without copying it;
* ``{eq}``, ``{prf:ref}``, ``{ref}`` and ``{doc}`` become the book's numbers,
  titles and links to the sibling reader notebooks ("[Theorem 4.2](04_objective1.ipynb)",
  "“Speed” in [chapter 9](09_audit.ipynb)"); ``{cite}`` becomes
  "[Author et al., year](arXiv or DOI link)"; labelled display equations get
  ``\\tag{4.1}``;
* code cells and their tags are copied unchanged (outputs are cleared:
  readers run the notebooks), except the chapter's Colab cell (collapsed
  like the solutions: in the book a ``remove-cell`` tag hides it), which
  installs ``cosim_helpers`` from ``repository.branch``: in a reader notebook it
  installs the release ``repository.release_tag`` instead (a git tag, set by
  the release procedure in ``CONTRIBUTING.md``), the same tag at which the
  Colab button opens the notebook (``book/_ext/colab_release.py``), so the
  notebook and the package Colab runs come from one release.

Numbering follows the book: chapters are numbered in ``_toc.yml`` order within
numbered parts; equations, exercises and each kind of theorem-like block are
counted per chapter.

Usage::

    python tools/reader_notebooks.py          # (re)write reader/book/*.ipynb
    python tools/reader_notebooks.py --check  # exit 1 if any is out of date
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "reader"
CONFIG = ROOT / "_config.yml"
PROOF_KINDS = {
    "prf:theorem": "Theorem", "prf:lemma": "Lemma", "prf:proposition": "Proposition",
    "prf:corollary": "Corollary", "prf:definition": "Definition", "prf:remark": "Remark",
    "prf:example": "Example", "prf:conjecture": "Conjecture", "prf:observation": "Observation",
    "prf:property": "Property", "prf:criterion": "Criterion", "prf:algorithm": "Algorithm",
    "prf:axiom": "Axiom", "prf:assumption": "Assumption",
}
ADMONITIONS = {"note", "tip", "hint", "warning", "caution", "attention", "danger", "error",
               "important", "seealso", "admonition", "margin", "dropdown", "epigraph"}
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
PLAIN_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
TARGET = re.compile(r"^\((?P<label>[^)\s]+)\)=\s*$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*$")
EQ_LABEL = re.compile(r"\$\$[ \t]*\((?P<label>[\w:.-]+)\)[ \t]*$", re.MULTILINE)
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<body>[^`]*)`")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
#: What a numbered reference shows ("Theorem 4.2", "Eq. 4.1", "Exercise 6.3").
NUMBERED = re.compile(r"[A-Z][a-z]*\.? \d+(\.\d+)?")
#: A line of rendered Markdown that stands for the n-th solution code cell (split off in ``convert``).
CODE_MARK = re.compile(r"^\x00solution-code (?P<n>\d+)\x00$", re.MULTILINE)
#: Cell metadata that collapses a code cell's source in JupyterLab (``jupyter.source_hidden``) and in
#: Colab (``cellView: form``, which shows the ``# @title`` line instead of the code).
COLLAPSED = {"jupyter": {"source_hidden": True}, "cellView": "form"}


@dataclass
class Chapter:
    """Numbers and titles of one chapter, collected before rewriting."""

    path: Path
    number: str  # "4" or "" for unnumbered pages
    title: str = ""
    labels: dict = field(default_factory=dict)  # label -> text a reference shows


def colab_install_cell(repository_url: str, ref: str) -> str:
    """The hidden first code cell: in Colab only, install ``cosim_helpers`` at ``ref``.

    Colab is recognised by the ``COLAB_RELEASE_TAG`` environment variable its
    runtime sets; the cell does nothing where the package is already importable.
    The chapters carry it with ``ref = repository.branch`` (``tests/test_publishing.py``),
    the reader notebooks with ``ref = repository.release_tag``.
    """
    return (
        "# Colab only: install the course package when it is missing. Does nothing\n"
        "# elsewhere (local, Binder, CI), where requirements.txt installed it.\n"
        "import importlib.util, os, subprocess, sys\n"
        "if \"COLAB_RELEASE_TAG\" in os.environ and importlib.util.find_spec(\"cosim_helpers\") is None:\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\",\n"
        f"                    \"cosim_helpers @ git+{repository_url}@{ref}\"], check=True)"
    )


def repository() -> dict:
    """``repository:`` of ``_config.yml``: url, branch, path_to_book, release_tag."""
    return yaml.safe_load(CONFIG.read_text())["repository"]


def toc_chapters() -> list[tuple[Path, str]]:
    """The book's notebooks with their chapter numbers, in table-of-contents order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters, n = [], 0
    for part in toc.get("parts", []):
        for entry in part.get("chapters", []):
            path = ROOT / (entry["file"] + ".ipynb")
            if not path.exists():
                continue
            if part.get("numbered"):
                n += 1
                chapters.append((path, str(n)))
            else:
                chapters.append((path, ""))
    return chapters


def _num(chapter: Chapter, count: int) -> str:
    return f"{chapter.number}.{count}" if chapter.number else str(count)


def _blocks(lines):
    """Yield ('text', line) or ('directive', name, arg, options, body_lines) items."""
    i = 0
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        plain = PLAIN_FENCE.match(line) if not m else None
        if m or plain:
            fence = (m or plain).group("fence")
            j = i + 1
            # MyST nests by fence length: an inner fence is shorter than the outer one.
            while j < len(lines):
                stripped = lines[j].strip()
                if stripped and stripped == fence[0] * len(stripped) and len(stripped) >= len(fence):
                    break
                j += 1
            inner = lines[i + 1:j]
            if plain:
                yield ("text", "\n".join(lines[i:j + 1]))
            else:
                options, k = {}, 0
                while k < len(inner) and re.match(r"^\s*:[\w-]+:", inner[k]):
                    key, _, value = inner[k].strip()[1:].partition(":")
                    options[key] = value.strip()
                    k += 1
                yield ("directive", m.group("name"), m.group("arg").strip(), options, inner[k:])
            i = j + 1
            continue
        yield ("text", line)
        i += 1


def split_code(lines) -> tuple[list[str], list[str]]:
    """A solution's lines without its top-level Python fences, and the code of those fences."""
    prose, code, i = [], [], 0
    while i < len(lines):
        m = FENCE.match(lines[i]) or PLAIN_FENCE.match(lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        fence, j = m.group("fence"), i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped and stripped == fence[0] * len(stripped) and len(stripped) >= len(fence):
                break
            j += 1
        info = m.groupdict().get("info")
        if info is not None and info.strip() in ("python", "ipython3", "ipython"):
            code.append("\n".join(lines[i + 1:j]))
        else:
            prose += lines[i:j + 1]
        i = j + 1
    return prose, code


def collect(chapter: Chapter, nb) -> None:
    """Number the chapter's labelled equations, blocks, exercises and sections."""
    counts: dict[str, int] = {}

    def bump(kind):
        counts[kind] = counts.get(kind, 0) + 1
        return _num(chapter, counts[kind])

    def walk(lines, pending_target=None):
        for item in _blocks(lines):
            if item[0] == "text":
                for line in item[1].split("\n"):
                    t, h = TARGET.match(line), HEADING.match(line)
                    if t:
                        pending_target = t.group("label")
                    elif h:
                        title = h.group("title")
                        if len(h.group("hashes")) == 1 and not chapter.title:
                            chapter.title = title
                        if pending_target:
                            chapter.labels[pending_target] = title
                            pending_target = None
                    for eq in EQ_LABEL.finditer(line):
                        chapter.labels[eq.group("label")] = f"Eq. {bump('eq')}"
                continue
            _, name, _arg, options, body = item
            label = options.get("label")
            if name in PROOF_KINDS:
                number = bump(name)
                if label:
                    chapter.labels[label] = f"{PROOF_KINDS[name]} {number}"
            elif name == "exercise":
                number = bump("exercise")
                if label:
                    chapter.labels[label] = f"Exercise {number}"
            elif name == "math" and label:
                chapter.labels[label] = f"Eq. {bump('eq')}"
            walk(body)

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            walk(cell.source.split("\n"))


class Bibliography:
    """In-text citations in the book's author-year style, linked to arXiv or DOI."""

    def __init__(self, path: Path):
        from pybtex.database import parse_file

        self.entries = parse_file(str(path)).entries

    def cite(self, key: str) -> str:
        entry = self.entries.get(key)
        if entry is None:
            raise KeyError(f"unknown citation key {key!r}")
        people = entry.persons.get("author", [])
        last = [" ".join(p.last_names) for p in people]
        who = last[0] if len(last) == 1 else (" and ".join(last) if len(last) == 2 else f"{last[0]} et al.")
        text = f"{who}, {entry.fields.get('year', 'n.d.')}"
        fields = {k.lower(): v for k, v in entry.fields.items()}
        if "eprint" in fields:
            url = f"https://arxiv.org/abs/{fields['eprint']}"
        elif "doi" in fields:
            url = f"https://doi.org/{fields['doi']}"
        else:
            url = fields.get("url")
        return f"[{text}]({url})" if url else text


class Converter:
    def __init__(self):
        self.chapters = [Chapter(p, n) for p, n in toc_chapters()]
        for ch in self.chapters:
            collect(ch, nbformat.read(ch.path, as_version=4))
        self.labels = {}
        for ch in self.chapters:
            for label, text in ch.labels.items():
                self.labels[label] = (ch, text)
        self.by_name = {ch.path.stem: ch for ch in self.chapters}
        self.bib = Bibliography(ROOT / "references.bib")
        self.repository = repository()
        self.solution_code: list[tuple[str, str]] = []  # (exercise, code) of the chapter being converted

    # -- roles ---------------------------------------------------------
    def role(self, chapter: Chapter, match) -> str:
        role, body = match.group("role"), match.group("body")
        explicit = EXPLICIT.match(body)
        text, target = (explicit.group("text"), explicit.group("target")) if explicit else (None, body)
        if role.startswith("cite"):
            return "; ".join(self.bib.cite(key.strip()) for key in target.split(","))
        if role == "math":
            return f"${body}$"
        if role == "doc":
            name = Path(target).stem
            other = self.by_name.get(name)
            shown = text or (other.title if other else name)
            return f"[{shown}]({name}.ipynb)" if other else shown
        if role in ("eq", "prf:ref", "ref", "numref", "numref:eq"):
            if target not in self.labels:
                raise KeyError(f"{chapter.path.name}: unknown reference {target!r} in {{{role}}}")
            other, shown_default = self.labels[target]
            shown = text or shown_default
            if other is chapter:
                return shown
            link = f"{other.path.stem}.ipynb"
            if text is not None or NUMBERED.fullmatch(shown) or not other.number:
                return f"[{shown}]({link})"  # the reader's words, or "Theorem 4.2" (names its chapter)
            return f"“{shown}” in [chapter {other.number}]({link})"  # a section title
        return text or body  # term, abbr, download, ...: their text

    def inline(self, chapter: Chapter, text: str) -> str:
        text = ROLE.sub(lambda m: self.role(chapter, m), text)

        def tag(m):
            return f"\\tag{{{self.labels[m.group('label')][1][4:]}}} $$"
        return EQ_LABEL.sub(tag, text)

    # -- blocks --------------------------------------------------------
    def render(self, chapter: Chapter, lines, counts) -> list[str]:
        out = []

        def bump(kind):
            counts[kind] = counts.get(kind, 0) + 1
            return _num(chapter, counts[kind])

        for item in _blocks(lines):
            if item[0] == "text":
                if not TARGET.match(item[1]):
                    out.append(self.inline(chapter, item[1]) if not item[1].lstrip().startswith(("```", "~~~"))
                               else item[1])
                continue
            _, name, arg, options, body = item
            inner = "\n".join(self.render(chapter, body, counts)).strip("\n")
            if name in PROOF_KINDS:
                head = f"**{PROOF_KINDS[name]} {bump(name)}**" + (f" ({self.inline(chapter, arg)})" if arg else "")
                out += ["", head + ".", "", inner, ""]
            elif name == "prf:proof":
                out += ["", "*Proof.*" + (f" ({self.inline(chapter, arg)})" if arg else ""), "", inner + " $\\blacksquare$", ""]
            elif name == "exercise":
                number = bump("exercise")
                head = f"**Exercise {number}**" + (f" ({self.inline(chapter, arg)})" if arg else "")
                out += ["", "---", "", head + ".", "", inner, ""]
            elif name == "solution":
                ref = self.labels.get(arg, (None, "the exercise above"))[1]
                prose, code = split_code(body)
                text = "\n".join(self.render(chapter, prose, counts)).strip("\n")
                if code:
                    text += ("\n\n*The code of this solution is in the collapsed cell below: run it, or "
                             "click the cell's bar (JupyterLab) or \"Show code\" (Colab) to read it.*")
                out += ["", "<details>", f"<summary>Solution to {ref} (click to show)</summary>", "",
                        text, "", "</details>", ""]
                for snippet in code:
                    self.solution_code.append((ref, snippet))
                    out += [f"\x00solution-code {len(self.solution_code) - 1}\x00"]
            elif name == "math":
                label = options.get("label")
                tag = f" \\tag{{{self.labels[label][1][4:]}}}" if label else ""
                out += ["$$", inner + tag, "$$"]
            elif name in ADMONITIONS:
                title = arg if name in ("admonition", "dropdown") and arg else name.capitalize()
                quoted = "\n".join("> " + line if line else ">" for line in inner.split("\n"))
                out += ["", f"> **{self.inline(chapter, title)}.**", ">", quoted, ""]
            else:
                out += ["", inner, ""]
        return out

    def convert(self, chapter: Chapter):
        nb = nbformat.read(chapter.path, as_version=4)
        reader = copy.deepcopy(nb)
        counts: dict[str, int] = {}
        self.solution_code = []
        cells = []
        for cell in reader.cells:
            if cell.cell_type == "markdown":
                text = "\n".join(self.render(chapter, cell.source.split("\n"), counts))
                cells += self._split_at_solution_code(cell, text)
                continue
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
            cells.append(cell)
        reader.cells = cells
        self.pin_colab_cell(chapter, reader)
        first_md = next((c for c in reader.cells if c.cell_type == "markdown"), None)
        if first_md is not None and chapter.number:
            first_md.source = re.sub(r"^# ", f"# {chapter.number}. ", first_md.source, count=1)
        reader.metadata.pop("widgets", None)
        reader.metadata["reader_notebook"] = {
            "source": str(chapter.path.relative_to(ROOT)),
            "generated_by": "tools/reader_notebooks.py (do not edit: edit the source and rerun)",
        }
        return reader

    def _split_at_solution_code(self, cell, text: str) -> list:
        """The rendered Markdown cell, cut where a solution's code goes: Markdown, code, Markdown, ..."""
        out, pos = [], 0
        for k, m in enumerate(list(CODE_MARK.finditer(text)) + [None]):
            chunk = re.sub(r"\n{3,}", "\n\n", text[pos:m.start() if m else len(text)]).strip("\n")
            if chunk:
                piece = copy.deepcopy(cell)
                piece.source = chunk
                if out or m is not None:  # ids stay unique when one cell becomes several
                    piece["id"] = f"{cell.get('id', 'cell')}-{k}"
                out.append(piece)
            if m is None:
                break
            ref, code = self.solution_code[int(m.group("n"))]
            solution = nbformat.v4.new_code_cell(f"# @title Solution to {ref}: run it, or show the code\n{code}")
            solution.metadata = copy.deepcopy(COLLAPSED) | {"tags": ["solution"]}
            solution["id"] = f"{cell.get('id', 'cell')}-solution-{m.group('n')}"
            out.append(solution)
            pos = m.end()
        if len(out) == 1 and "id" in cell:
            out[0]["id"] = cell["id"]
        return out

    def pin_colab_cell(self, chapter: Chapter, reader) -> None:
        """Make the chapter's Colab cell install the release instead of the branch."""
        repo = self.repository
        first = next((c for c in reader.cells if c.cell_type == "code"), None)
        if first is None or first.source != colab_install_cell(repo["url"], repo["branch"]):
            raise ValueError(f"{chapter.path.name}: the first code cell is not the Colab cell "
                             "(CONTRIBUTING.md, 'Chapters')")
        first.source = colab_install_cell(repo["url"], repo["release_tag"])
        # The book hides it with remove-cell; JupyterLab and Colab read only these.
        first.metadata.update(copy.deepcopy(COLLAPSED))

    def write_all(self, check: bool = False) -> list[str]:
        stale = []
        for chapter in self.chapters:
            target = OUT / chapter.path.relative_to(ROOT)
            text = nbformat.writes(self.convert(chapter)) + "\n"
            if check:
                if not target.exists() or target.read_text() != text:
                    stale.append(str(target.relative_to(ROOT)))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
        return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a reader notebook is out of date")
    args = parser.parse_args(argv)
    stale = Converter().write_all(check=args.check)
    if stale:
        print("out of date (run `make reader`): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
