"""Sphinx extension: drop repeated <script> entries from every page.

Jupyter Book 1 registers sphinx-thebe's inline configuration script twice,
so each page declares ``const THEBE_JS_URL`` twice and the browser logs a
SyntaxError. Keeping only the first of identical script entries removes the
console error without changing what the page loads.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # An inline script's filename is None or "" depending on who added it.
        key = (getattr(script, "filename", str(script)) or "",
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
