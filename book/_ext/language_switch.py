"""Sphinx extension: English <-> 한국어 switch on every page, and Korean search (issue 23).

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
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from sphinx.search import languages
from sphinx.search.en import SearchEnglish

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
    app.connect("html-page-context", _switch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
