"""Sphinx extension: the Colab button opens the reader notebook of the release.

sphinx-book-theme builds every launch link from ``repository.branch`` (``main``:
the site and Binder follow it). The reader notebooks' Colab cell, however,
installs ``cosim_helpers`` at ``repository.release_tag`` (``tools/reader_notebooks.py``),
so a notebook opened from ``main`` could call what the release does not have yet.
This points the Colab link at the same tag: the notebook Colab opens and the
package it installs come from one release. Binder needs no such fix: it builds
its environment and installs the package from the commit it opens.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def colab_at_release(header_buttons: list, branch: str, tag: str) -> int:
    """Point the Colab launch link at ``tag`` instead of ``branch``; return how many changed."""
    changed = 0
    for group in header_buttons:
        if not isinstance(group, dict) or group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if button.get("text") == "Colab" and f"/blob/{branch}/" in url:
                button["url"] = url.replace(f"/blob/{branch}/", f"/blob/{tag}/", 1)
                changed += 1
    return changed


def setup(app):
    repository = yaml.safe_load((Path(app.srcdir) / "_config.yml").read_text())["repository"]

    def retarget(app, pagename, templatename, context, doctree):
        # After sphinx-book-theme's add_launch_buttons (priority 501).
        colab_at_release(context.get("header_buttons", []), repository["branch"],
                         repository["release_tag"])

    app.connect("html-page-context", retarget, priority=800)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
