"""Sphinx extension: every page with folded check cells says once how to open them (issue 21).

``tools/tag_checks.py`` tags the chapters' check cells (code that asserts a
claim) ``hide-input``: the page shows their results and folds their code. Before
the first such cell of a page this extension adds one sentence saying so and
naming the control that opens them (MyST-NB's ``nb_code_prompt_show`` text).
``tests/test_check_cells.py`` checks the built pages.

The sentence is generated text, not a message of the page's catalogue, so it is
written here in each edition's language (the build's ``language``, issue 23).
So are the fold's labels in the Korean edition: MyST-NB fills the ``{type}``
of its prompts with an English word (source, output, outputs, content), so
:class:`KoreanFoldLabels` replaces each whole label by its Korean form.

A fold is named by its visible label in every edition: MyST-NB writes
``aria-label="Toggle hidden content"`` on the fold's ``<summary>``, which
overrides the visible "Show code cell source" (or "코드 보기") for screen
readers and speech input (WCAG 2.5.3, label in name) and stays English on
Korean pages, so :func:`_visit_fold` drops that attribute.
"""

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

NOTE_CLASS = "check-cells-note"
#: The sentence, in each edition's language; ``{show}`` is the label that opens a fold.
NOTES = {
    "en": ("Code cells that check a result are folded to their output: select “{show}” "
           "above a result to see its check."),
    "ko": "결과를 검증하는 코드 셀은 접혀 있어 출력만 보입니다. 검증 코드를 보려면 결과 위의 “{show}”를 누르세요.",
}
#: The Korean fold labels (show, hide) for each ``{type}`` MyST-NB fills in.
PROMPTS_KO = {
    "source": ("코드 보기", "코드 숨기기"),
    "output": ("출력 보기", "출력 숨기기"),
    "outputs": ("출력 보기", "출력 숨기기"),
    "content": ("셀 보기", "셀 숨기기"),
}


def _language(language):
    return language if language in NOTES else "en"


def note_text(prompt_show: str, language: str | None = "en") -> str:
    """The sentence for a build in ``language`` whose fold label is ``prompt_show``."""
    language = _language(language)
    show = PROMPTS_KO["source"][0] if language == "ko" else prompt_show.format(type="source")
    return NOTES[language].format(show=show)


def _add_note(app, doctree):
    hidden = [n for n in doctree.findall(nodes.container) if "tag_hide-input" in n.get("classes", [])]
    if not hidden:
        return
    text = note_text(app.config.nb_code_prompt_show, app.config.language)
    note = nodes.paragraph("", "", nodes.emphasis("", text), classes=[NOTE_CLASS])
    first = hidden[0]
    first.parent.insert(first.parent.index(first), note)


class KoreanFoldLabels(SphinxPostTransform):
    """In the Korean edition, the fold labels MyST-NB wrote (priority 199) in Korean.

    A label set per cell (cell metadata) matches no configured label and stays as set.
    """

    default_priority = 200
    formats = ("html",)

    def run(self, **kwargs):
        if _language(self.config.language) != "ko":
            return
        from myst_nb.sphinx_ import HideCodeCellNode

        show, hide = self.config.nb_code_prompt_show, self.config.nb_code_prompt_hide
        labels = {(show.replace("{type}", kind), hide.replace("{type}", kind)): korean
                  for kind, korean in PROMPTS_KO.items()}
        for fold in self.document.findall(HideCodeCellNode):
            korean = labels.get((fold["prompt_show"], fold["prompt_hide"]))
            if korean:
                fold["prompt_show"], fold["prompt_hide"] = korean


#: The attribute MyST-NB writes on every fold's summary (myst_nb.sphinx_.visit_HideCellInput).
FIXED_NAME = ' aria-label="Toggle hidden content"'


def _visit_fold(self, node):
    """MyST-NB's fold, without the fixed English name that hides its visible label."""
    from myst_nb.sphinx_ import visit_HideCellInput

    start = len(self.body)
    visit_HideCellInput(self, node)
    self.body[start:] = [part.replace(FIXED_NAME, "") for part in self.body[start:]]


def setup(app):
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

    app.add_node(HideCodeCellNode, override=True, html=(_visit_fold, depart_HideCellInput))
    app.connect("doctree-read", _add_note)
    app.add_post_transform(KoreanFoldLabels)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
