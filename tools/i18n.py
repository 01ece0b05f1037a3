"""The Korean edition (issue 23): message catalogues and the Korean build.

The book is translated with Sphinx's own internationalisation: the gettext
builder extracts every translatable paragraph, heading, caption, theorem and
exercise of every page (a notebook's Markdown cells included; code cells and
their outputs are not translated) into one ``.pot`` template per page,
``sphinx-intl`` keeps one catalogue per page in
``locales/ko/LC_MESSAGES/<page>.po``, and a build with ``language = "ko"``
replaces each message by its translation. A message without a translation
stays English, so an untranslated page falls back to English.

Both builds go through Jupyter Book's own configuration (``_config.yml``
turned into Sphinx's by :func:`jupyter_book.sphinx.build_sphinx`, exactly as
``jupyter-book build`` does) with a few overrides, and read the notebooks from
the one execution cache ``_build/.jupyter_cache`` (``tools/notebooks.py``):
no notebook runs twice. Each build keeps its own doctrees (the language and
the gettext builder's versioning each need a separate environment), so a
second run only re-reads the pages that changed.

Usage (see the Makefile)::

    python tools/i18n.py pot          # _build/gettext/<page>.pot from the sources
    python tools/i18n.py catalogues   # pot, then update locales/ko/LC_MESSAGES/*.po
    python tools/i18n.py html-ko      # the Korean site into _build/html/ko
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"
LOCALES = ROOT / "locales"
LANGUAGE = "ko"
POT = BUILD / "gettext"
#: Built apart, then copied into the English site. MyST-NB writes the notebooks' figures into
#: ``jupyter_execute`` beside the output folder: building into _build/html/ko would leave a
#: second such folder inside the English site, and building beside the English site would
#: share _build/jupyter_execute with the English build, which ``make book`` runs at the same time.
HTML_KO_BUILD = BUILD / "ko" / "html"
HTML_KO = BUILD / "html" / LANGUAGE


def _sphinx(builder: str, outdir: Path, doctrees: Path, **overrides) -> None:
    from jupyter_book.sphinx import build_sphinx

    config = {
        "external_toc_path": (ROOT / "_toc.yml").as_posix(),
        "latex_individualpages": False,
        # The one execution cache (tools/notebooks.py fills it): nothing is executed here.
        "nb_execution_cache_path": str(CACHE),
        "gettext_compact": False,
        **overrides,
    }
    result = build_sphinx(ROOT, outdir, noconfig=True, path_config=str(ROOT / "_config.yml"),
                          confoverrides=config, builder=builder, doctreedir=doctrees,
                          warningiserror=True, keep_going=True, quiet=True)
    if result != 0:
        raise SystemExit(f"the {builder} build failed ({result}); see the warnings above")


def pot() -> Path:
    """Message templates of every page, ``_build/gettext/<page>.pot`` (one per page)."""
    _sphinx("gettext", POT, BUILD / ".doctrees-gettext")
    return POT


def catalogues() -> None:
    """Regenerate the templates and merge them into ``locales/ko/LC_MESSAGES``."""
    pot()
    subprocess.run([sys.executable, "-m", "sphinx_intl", "update", "-p", str(POT), "-d", str(LOCALES),
                    "-l", LANGUAGE], check=True, cwd=ROOT)
    prune_obsolete()


def prune_obsolete() -> None:
    """Drop the obsolete messages nobody translated (a sentence gone from the English).

    sphinx-intl keeps every message that left the sources as an obsolete ``#~``
    entry; an untranslated one carries nothing worth keeping, while a translated
    one is kept, a translator may still reuse it.
    """
    from sphinx_intl import catalog

    for path in sorted((LOCALES / LANGUAGE / "LC_MESSAGES").rglob("*.po")):
        po = catalog.load_po(str(path))
        empty = [key for key, message in po.obsolete.items() if not message.string]
        if empty:
            for key in empty:
                del po.obsolete[key]
            catalog.dump_po(str(path), po)


def title_ko() -> str:
    """The book's title in Korean: the translation of the root page's title, if there is one."""
    import polib
    import yaml

    title = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]
    entry = polib.pofile(str(LOCALES / LANGUAGE / "LC_MESSAGES" / "book" / "index.po")).find(title)
    return entry.msgstr if entry is not None and entry.msgstr and "fuzzy" not in entry.flags else title


def html_ko() -> Path:
    """The Korean site, ``_build/html/ko`` (warnings are errors)."""
    _sphinx("html", HTML_KO_BUILD, BUILD / ".doctrees-ko", language=LANGUAGE,
            locale_dirs=[str(LOCALES)], html_title=title_ko(),
            # "Eq. 1.1" is generated text, not a message: the Korean form of _config.yml's.
            math_eqref_format="식 {number}",
            # the search box's placeholder is a theme option (Jupyter Book sets it), not a message
            html_theme_options={"search_bar_text": "이 책에서 검색..."})
    if HTML_KO.exists():
        shutil.rmtree(HTML_KO)
    shutil.copytree(HTML_KO_BUILD, HTML_KO)
    return HTML_KO


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["pot", "catalogues", "html-ko"])
    args = parser.parse_args(argv)
    {"pot": pot, "catalogues": catalogues, "html-ko": html_ko}[args.command]()


if __name__ == "__main__":
    main()
