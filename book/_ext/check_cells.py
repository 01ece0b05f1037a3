"""Sphinx extension: every page with folded check cells says once how to open them (issue 21).

``tools/tag_checks.py`` tags the chapters' check cells (code that asserts a
claim) ``hide-input``: the page shows their results and folds their code. Before
the first such cell of a page this extension adds one sentence saying so and
naming the control that opens them (MyST-NB's ``nb_code_prompt_show`` text).
``tests/test_check_cells.py`` checks the built pages.
"""

from docutils import nodes

NOTE_CLASS = "check-cells-note"


def note_text(prompt_show: str) -> str:
    show = prompt_show.format(type="source")
    return (f"Code cells that check a result are folded to their output: select “{show}” "
            "above a result to see its check.")


def _add_note(app, doctree):
    hidden = [n for n in doctree.findall(nodes.container) if "tag_hide-input" in n.get("classes", [])]
    if not hidden:
        return
    note = nodes.paragraph("", "", nodes.emphasis("", note_text(app.config.nb_code_prompt_show)),
                           classes=[NOTE_CLASS])
    first = hidden[0]
    first.parent.insert(first.parent.index(first), note)


def setup(app):
    app.connect("doctree-read", _add_note)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
