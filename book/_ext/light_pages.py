"""Sphinx extension: keep the chapter pages light (issue 9: a built page with its images <= 1 MB).

* **Figures as palette PNGs.** Every PNG a notebook output writes (myst-nb's
  ``jupyter_execute`` folder) is re-encoded by
  :func:`cosim_helpers.images.palette_png`, once, in place, before Sphinx
  copies it to ``_images``: a 256-colour palette that holds the book's colour
  map exactly, about a third of the bytes, and the original is kept for any
  figure the palette would change by more than a faint shade.
* **No dead widget state.** The book loads no ipywidgets JavaScript
  (``nb_ipywidgets_js: {}``: no third-party scripts, each explorer has a
  static twin), so the widget state myst-nb embeds in a page (up to 100 KB,
  mostly the live widget's JPEG) can never be shown: it is dropped. With the
  widget JavaScript configured again, the state stays.

``tests/test_page_weight.py`` checks the result.
"""

from pathlib import Path

from docutils import nodes

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _palette_figures(app, doctree):
    from cosim_helpers.images import palette_png
    from cosim_helpers.plots import CMAP

    outputs = Path(app.outdir).parent.joinpath("jupyter_execute").resolve()
    for node in doctree.findall(nodes.image):
        path = Path(app.srcdir, node["uri"].lstrip("/")).resolve()
        if path.suffix == ".png" and outputs in path.parents and path.is_file():
            png = path.read_bytes()
            light = palette_png(png, CMAP)
            if light is not png:
                path.write_bytes(light)


def _drop_widget_state(app, pagename, templatename, context, doctree):
    if app.config.nb_ipywidgets_js:
        return
    context["script_files"] = [script for script in context.get("script_files", [])
                               if getattr(script, "attributes", {}).get("type") != WIDGET_STATE]


def setup(app):
    app.connect("doctree-read", _palette_figures)
    app.connect("html-page-context", _drop_widget_state, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
