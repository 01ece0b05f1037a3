"""Sphinx extension: English <-> 한국어 switch on every page, Korean search and captions (issue 23).

The book is built twice from the same sources (``make book``): English into
``_build/html`` and Korean (``language = "ko"``, the catalogues in
``locales/ko/LC_MESSAGES``) into ``_build/html/ko``. Every page of each edition
starts with a link to the same page of the other one. The link is relative,
so it works offline and wherever the site is published.

Korean search: Sphinx has no Korean word splitter. Its default (English)
splitter cuts at spaces, so a term followed by a particle (규제는, 임베딩을)
would only be found with that particle. :class:`SearchKorean` indexes every
Hangul word also without its trailing particle, and every glossary term
(``locales/ko/glossary.toml``) contained in a word, so a term typed as it
appears in the text (``규제``, ``임베딩``) finds its pages.

:class:`TranslateTocCaptions` translates the captions of the book's parts
(``_toc.yml``), which Sphinx's own translation step runs too early to see.

:class:`KeepOutputTablesUntranslated`: a table output is Markdown
(``cosim_helpers.tables``), so MyST-NB parses it into paragraphs that gettext
would extract, one message per table cell (every number of every table); this
marks the text of every table in a cell output untranslatable, so a re-executed
table does not make a translated page stale. Prose a cell prints as Markdown
(the derivations of chapters 4 and 5) stays translatable.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.locale import init as init_locale
from sphinx.search import languages
from sphinx.search.en import SearchEnglish
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain

#: The other edition of each language: (its language code, its name in it, the path
#: from this edition's root to the other's root).
OTHER = {"en": ("ko", "한국어", "ko/"), "ko": ("en", "English", "../")}
GLOSSARY = Path(__file__).resolve().parents[2] / "locales" / "ko" / "glossary.toml"
#: Korean particles and endings that follow a noun, longest first.
PARTICLES = sorted(["은", "는", "이", "가", "을", "를", "의", "에", "에서", "에게", "으로", "로", "와", "과",
                    "도", "만", "까지", "부터", "보다", "처럼", "이다", "이며", "이고", "입니다", "이라", "라는",
                    "이라는", "으로서", "로서", "으로는", "로는", "에는", "에서는", "와의", "과의", "만큼", "마다"],
                   key=len, reverse=True)
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _glossary_words() -> list[str]:
    terms = tomllib.loads(GLOSSARY.read_text(encoding="utf-8"))["term"]
    return sorted({w for t in terms for w in t["ko"].split()}, key=len, reverse=True)


class SearchKorean(SearchEnglish):
    """English splitting and stemming, plus Hangul words without their particles."""

    lang = "ko"
    language_name = "Korean"

    def init(self, options):
        super().init(options)
        self.glossary_words = _glossary_words()

    def split(self, input: str) -> list[str]:
        words = super().split(input)
        extra = []
        for word in words:
            if not HANGUL.search(word):
                continue
            for particle in PARTICLES:
                if word.endswith(particle) and len(word) > len(particle):
                    extra.append(word[: -len(particle)])
            extra += [term for term in self.glossary_words if term in word and term != word]
        return words + extra


class TranslateTocCaptions(SphinxTransform):
    """Translate the captions of the parts of the table of contents.

    sphinx-external-toc inserts the toctrees (priority 100) after Sphinx's
    translation of the page (priority 20), so their captions, though extracted
    into the root page's catalogue, would stay English; this runs after the
    insertion and before the toctrees are collected (the doctree-read event).
    """

    default_priority = 150

    def apply(self, **kwargs):
        if not self.config.language or self.config.language == "en":
            return
        dirs = [str(Path(self.env.srcdir, d)) for d in self.config.locale_dirs]
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        catalog, has_catalog = init_locale(dirs, self.config.language, domain)
        if not has_catalog:
            return
        for toctree in self.document.findall(addnodes.toctree):
            if toctree.get("caption"):
                toctree["caption"] = catalog.gettext(toctree["caption"])


class KeepOutputTablesUntranslated(SphinxTransform):
    """Mark the text of every table in a code cell's output as not translatable.

    Runs before Sphinx's own translatable-node bookkeeping (priority 10) and
    its translation (priority 20); the gettext builder then skips these nodes.
    """

    default_priority = 5

    def apply(self, **kwargs):
        for output in self.document.findall(nodes.container):
            if "cell_output" in output.get("classes", []):
                for table in output.findall(nodes.table):
                    for text in table.findall(nodes.TextElement):
                        text["translatable"] = False


def _switch(app, pagename, templatename, context, doctree):
    if "body" not in context:
        return
    language = app.config.language if app.config.language in OTHER else "en"
    other, name, root = OTHER[language]
    href = context["pathto"]("index").rsplit("index.html", 1)[0] + root + pagename + ".html"
    context["body"] = (f'<nav class="language-switch" aria-label="Language / 언어">'
                       f'<a href="{href}" hreflang="{other}" lang="{other}">{name}</a></nav>\n'
                       + context["body"])


def setup(app):
    languages["ko"] = SearchKorean
    app.add_css_file("language_switch.css")
    app.add_transform(TranslateTocCaptions)
    app.add_transform(KeepOutputTablesUntranslated)
    app.connect("html-page-context", _switch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
