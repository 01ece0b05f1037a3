"""The Korean edition (issue 23): catalogues, translations, glossary, site and PDF.

Fast tests read the catalogues (``locales/ko/LC_MESSAGES/*.po``, polib) and
the glossary (``locales/ko/glossary.toml``):

* completeness: every page declared translated (``locales/ko/translated.txt``)
  has 0 untranslated and 0 fuzzy messages; the pages still to do are named
  in a warning (they fall back to English);
* per message: the maths spans, the roles with their targets and the numbers
  of each translation are those of its English message, and the glossary's
  terms are used as the glossary says (regularisation is 규제, never 정규화);
* the Korean search splitter finds a term followed by a particle.

Slow tests regenerate the message templates from the sources (the catalogues
must be current: a changed English sentence fails until ``make catalogues``
and a translation), build the Korean site with warnings as errors, follow
the language switch both ways, and print the Korean PDF.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import polib
import pytest
import yaml
from bs4 import BeautifulSoup
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locales" / "ko"
CATALOGUES = LOCALE / "LC_MESSAGES"
HTML = ROOT / "_build" / "html"
HTML_KO = HTML / "ko"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
GLOSSARY = tomllib.loads((LOCALE / "glossary.toml").read_text(encoding="utf-8"))["term"]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def toc_pages():
    return _load("book_pdf", ROOT / "tools" / "book_pdf.py").toc_pages(ROOT)


def translated_pages():
    lines = (LOCALE / "translated.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def catalogue(page):
    return polib.pofile(str(CATALOGUES / f"{page}.po"))


def translated_entries():
    """(page, entry) of every translated, non-fuzzy message of every catalogue."""
    for path in sorted(CATALOGUES.rglob("*.po")):
        page = path.relative_to(CATALOGUES).with_suffix("").as_posix()
        for entry in polib.pofile(str(path)).translated_entries():
            yield page, entry


# --- what a message must keep -------------------------------------------------------------------
MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+\$", re.DOTALL)
ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


def maths(text):
    return collections.Counter(m.strip() for m in MATH.findall(text))


def roles(text):
    """Role and target of every role: a link's own title (``title <target>``) may be translated."""
    out = collections.Counter()
    for name, content in ROLE.findall(text):
        target = re.search(r"<([^<>]+)>\s*$", content)
        out[(name, target.group(1) if target else content)] += 1
    return out


def numbers(text):
    text = ROLE.sub(" ", MATH.sub(" ", text))
    return {n.replace(",", "") for n in NUMBER.findall(text)}


def _myst_parser():
    """MyST's own Markdown parser with the book's extensions (``_config.yml``): what Sphinx uses
    to parse a translated message, so maths is a token and emphasis closes as it will render."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    extensions = set(config["parse"]["myst_enable_extensions"])
    return create_md_parser(MdParserConfig(enable_extensions=extensions), RendererHTML)


MYST = _myst_parser()


def emphasis(text):
    """Emphasis and strong spans as MyST renders them, and the asterisks it leaves as text.

    Korean particles follow a word without a space, and CommonMark does not close
    ``*...?*`` before a letter (the closing ``*`` after punctuation must be
    followed by a space or punctuation): such a span would print its asterisks.
    Maths stays a token, as in the book, so ``**... $A$**:`` closes and ``$A$**를`` does not.
    """
    html = MYST.render(text)
    return html.count("<em>"), html.count("<strong>"), html.count("*")


PARAGRAPH = ["paragraph_open", "paragraph_close"]


def blocks(text):
    """The kinds of block a message parses into. Sphinx patches a translation in only if it
    parses as one paragraph (``sphinx.transforms.i18n``: anything else is skipped, and the
    English shows; a second paragraph is dropped): a Korean message starting with ``1. `` or
    ``- `` would parse as a list."""
    return [token.type for token in MYST.parse(text) if token.type != "inline"]


def _forms(term):
    return [term["en"], *term.get("forms", [])]


CODE = re.compile(r"`[^`]*`")


def _mentions(term, text):
    text = CODE.sub(" ", text)      # `users.npy` or `cosim_helpers.training` names no term
    return any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w])", text, re.IGNORECASE) for f in _forms(term))


def glossary_problems(msgid, msgstr):
    """How ``msgstr`` departs from the glossary, for the English message ``msgid``."""
    problems = []
    if msgstr == msgid:       # kept in English on purpose (a name, the glossary's English column)
        return problems
    for term in GLOSSARY:
        if not _mentions(term, msgid):
            continue
        wanted = [term["ko"], *term.get("ko_forms", [])]
        if term.get("check", True) and not any(w in msgstr for w in wanted):
            problems.append(f"{term['en']!r} should be {term['ko']!r}")
        for bad in term.get("never", []):
            # allowed only where the English also names the term that owns that word
            owners = [t for t in GLOSSARY if t["ko"] == bad and _mentions(t, msgid)]
            if bad in msgstr and not owners:
                problems.append(f"{term['en']!r} rendered as {bad!r}")
    return problems


# --- fast: the catalogues -----------------------------------------------------------------------
def test_every_page_has_a_catalogue_and_translated_pages_exist():
    pages = toc_pages()
    missing = [p for p in pages if not (CATALOGUES / f"{p}.po").exists()]
    assert not missing, f"no catalogue for {missing}: run `make catalogues`"
    unknown = [p for p in translated_pages() if p not in pages]
    assert not unknown, f"locales/ko/translated.txt names pages not in _toc.yml: {unknown}"


def test_translated_pages_are_complete():
    problems = {}
    for page in translated_pages():
        po = catalogue(page)
        untranslated, fuzzy = po.untranslated_entries(), po.fuzzy_entries()
        if untranslated or fuzzy:
            problems[page] = (f"{len(untranslated)} untranslated, {len(fuzzy)} fuzzy, e.g. "
                              f"{(untranslated or fuzzy)[0].msgid[:80]!r}")
    assert not problems, "pages declared translated are not: " + "; ".join(f"{p}: {m}" for p, m in problems.items())
    todo = [p for p in toc_pages() if p not in translated_pages()]
    if todo:
        stats = ", ".join(f"{p} ({catalogue(p).percent_translated()}%)" for p in todo)
        warnings.warn(f"Korean edition: {len(todo)} pages still in English: {stats}", UserWarning, stacklevel=1)


def test_translations_keep_maths_roles_and_numbers():
    problems = []
    for page, entry in translated_entries():
        for what, get in (("maths", maths), ("roles", roles)):
            if get(entry.msgid) != get(entry.msgstr):
                lost = get(entry.msgid) - get(entry.msgstr)
                added = get(entry.msgstr) - get(entry.msgid)
                problems.append(f"{page}: {what} differ (missing {dict(lost)}, extra {dict(added)}) "
                                f"in {entry.msgid[:60]!r}")
        if entry.msgstr != entry.msgid and blocks(entry.msgstr) != PARAGRAPH:
            problems.append(f"{page}: the translation parses as {blocks(entry.msgstr)}, not one paragraph "
                            f"(Sphinx would show the English) in {entry.msgstr[:60]!r}")
        if emphasis(entry.msgid) != emphasis(entry.msgstr):
            problems.append(f"{page}: emphasis (em, strong, stray *) {emphasis(entry.msgid)} became "
                            f"{emphasis(entry.msgstr)} in {entry.msgstr[:60]!r}")
        lost = numbers(entry.msgid) - numbers(entry.msgstr)
        if lost:
            problems.append(f"{page}: numbers {sorted(lost)} missing in the translation of {entry.msgid[:60]!r}")
    assert not problems, "\n".join(problems)


def test_translations_use_the_glossary():
    problems = [f"{page}: {p} in {entry.msgid[:70]!r}"
                for page, entry in translated_entries() for p in glossary_problems(entry.msgid, entry.msgstr)]
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_are_for():
    # regularisation rendered as normalisation, a lost formula, a changed reference, a changed number
    assert glossary_problems("a common kind of regularisation", "흔한 종류의 정규화")
    assert not glossary_problems("a common kind of regularisation", "흔한 종류의 규제")
    assert not glossary_problems("regularisation is not normalisation", "규제는 정규화가 아니다")
    assert not glossary_problems("load `users.npy`", "`users.npy`를 읽습니다")
    assert maths("loss $L_1$ and $D$") != maths("손실 $L_1$")
    assert roles("see {doc}`04_objective1`") != roles("{doc}`05_objective2` 참고")
    assert roles("{ref}`the exercise <ex-1>`") == roles("{ref}`앞 연습문제 <ex-1>`")
    assert numbers("cosine 0.87 with 1,000 items") - numbers("코사인 0.78, 아이템 1,000개")
    assert emphasis("ask *which are alike?*. This") != emphasis("*무엇이 비슷한가?*를 묻는다")
    assert emphasis("ask *which are alike?*. This") == emphasis("*무엇이 비슷한가?* 하는 질문")
    assert emphasis("**only through $AB^\\top$**:") == emphasis("**오직 $AB^\\top$** 하나")
    assert emphasis("**only through $AB^\\top$**:") != emphasis("**오직 $AB^\\top$**을 통해")
    assert blocks("1\\. 배포") == PARAGRAPH != blocks("1. 배포")
    assert blocks("첫 문단.\n\n둘째 문단.") != PARAGRAPH


def test_glossary_page_lists_every_term():
    page = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    rows = {(m.group(1).strip(), m.group(2).strip()) for m in re.finditer(r"^\| ([^|]+) \| ([^|]+) \|", page, re.MULTILINE)}
    missing = [(t["en"], t["ko"]) for t in GLOSSARY if (t["en"], t["ko"]) not in rows]
    assert not missing, f"book/glossary.md lacks the rows {missing} of locales/ko/glossary.toml"
    regularisation = next(t for t in GLOSSARY if t["en"] == "regularisation")
    assert regularisation["ko"] == "규제" and "정규화" in regularisation["never"]


def test_korean_search_splits_off_particles():
    ext = _load("language_switch", ROOT / "book" / "_ext" / "language_switch.py")
    search = ext.SearchKorean({})
    words = search.split("규제는 정규화와 다르며, 코사인 유사도를 임베딩에서 계산한다 (weight decay)")
    for term in ("규제", "정규화", "유사도", "임베딩", "코사인", "weight"):
        assert term in words, term


# --- slow: regenerate, build, print -------------------------------------------------------------
def _run(*args, timeout=1200):
    result = subprocess.run([sys.executable, *args], check=False, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.slow
def test_catalogues_are_current():
    """Regenerating the templates from the sources changes no msgid of any catalogue."""
    _run("tools/i18n.py", "pot")
    stale = []
    for pot in sorted((ROOT / "_build" / "gettext").rglob("*.pot")):
        page = pot.relative_to(ROOT / "_build" / "gettext").with_suffix("").as_posix()
        source = {e.msgid for e in polib.pofile(str(pot)) if e.msgid}
        po = CATALOGUES / f"{page}.po"
        kept = {e.msgid for e in polib.pofile(str(po)) if not e.obsolete} if po.exists() else set()
        if source != kept:
            stale.append(f"{page}: {len(source - kept)} new or changed, {len(kept - source)} gone "
                         f"(e.g. {min(source ^ kept)[:70]!r})")
    assert not stale, "catalogues out of date, run `make catalogues` and translate:\n" + "\n".join(stale)


@pytest.fixture(scope="module")
def korean_site():
    """The Korean site, built with warnings as errors (as `make book` does) unless that build is current."""
    if not (HTML / "book" / "index.html").exists():
        pytest.skip("build the English book first (make book)")
    inputs = [*CATALOGUES.rglob("*.po"), *(ROOT / "book").rglob("*.*"), ROOT / "_config.yml", ROOT / "_toc.yml"]
    built = HTML_KO / "searchindex.js"
    if not built.exists() or built.stat().st_mtime < max(p.stat().st_mtime for p in inputs):
        _run("tools/i18n.py", "html-ko")
    return HTML_KO


def _switch(soup):
    nav = soup.select_one("nav.language-switch a")
    assert nav is not None, "no language switch"
    return nav


@pytest.mark.slow
def test_korean_site_language_and_switch(korean_site):
    for page in toc_pages():
        ko_file, en_file = korean_site / f"{page}.html", HTML / f"{page}.html"
        ko, en = (BeautifulSoup(f.read_text(encoding="utf-8"), "html.parser") for f in (ko_file, en_file))
        assert ko.html["lang"] == "ko" and en.html["lang"] == "en", page
        to_ko, to_en = _switch(en), _switch(ko)
        assert (en_file.parent / to_ko["href"]).resolve() == ko_file.resolve(), page
        assert (ko_file.parent / to_en["href"]).resolve() == en_file.resolve(), page
        assert to_ko.get_text() == "한국어" and to_en.get_text() == "English"
        if "book/index" in translated_pages():   # the parts of the contents, in the sidebar
            captions = [c.get_text() for c in ko.select(".bd-sidebar-primary .caption-text")]
            assert captions and all(HANGUL.search(c) for c in captions), (page, captions)
    theme_words = [e.msgid for e in catalogue("sphinx")] + ["Search this book", "Toggle hidden content"]
    for page in translated_pages():
        text = (korean_site / f"{page}.html").read_text(encoding="utf-8")
        h1 = BeautifulSoup(text, "html.parser").select_one("article h1").get_text()
        assert HANGUL.search(h1), f"{page}: title not translated: {h1!r}"
        # the theme's labels too (locales/ko/LC_MESSAGES/sphinx.po, the search box in tools/i18n.py)
        english = [w for w in theme_words if w and w in text]
        assert not english, f"{page}: the theme's labels in English: {english}"


@pytest.mark.slow
def test_korean_search_finds_glossary_terms(korean_site):
    """Each glossary word typed alone finds every translated page whose text contains it."""
    raw = (korean_site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(raw[raw.index("(") + 1: raw.rindex(")")])
    docnames, missing = index["docnames"], []

    def found(word):   # a word in a page's titles is indexed under titleterms only
        docs = []
        for kind in ("terms", "titleterms"):
            hit = index[kind].get(word, [])
            docs += hit if isinstance(hit, list) else [hit]
        return docs

    for page in translated_pages():
        soup = BeautifulSoup((korean_site / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
        text = soup.select_one("article").get_text(" ")
        doc = docnames.index(page)
        for word in {w for t in GLOSSARY for w in t["ko"].split()}:
            if word in text and doc not in found(word):
                missing.append(f"{word} on {page}")
    assert not missing, f"search does not find: {missing}"


@pytest.mark.slow
def test_korean_pdf_has_hangul_on_every_translated_chapter(korean_site, tmp_path):
    chromium = os.environ.get("COSIM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium or not shutil.which("pdftotext"):
        if os.environ.get("CI"):
            pytest.fail("CI must print the Korean PDF (chromium, poppler-utils)")
        pytest.skip("chromium or poppler-utils missing")
    # Chromium sets Hangul in a font fontconfig offers for Korean (Debian's fonts-noto-cjk);
    # it embeds Noto CJK as unnamed Type 3 fonts, so pdffonts cannot name it.
    font = subprocess.run(["fc-match", "-f", "%{family}", "sans-serif:lang=ko"], capture_output=True, text=True,
                          check=False).stdout
    assert "CJK" in font, f"no CJK font for Korean (fonts-noto-cjk), fontconfig offers {font!r}"
    pdf = tmp_path / "book-ko.pdf"
    _run("tools/book_pdf.py", "--edition", "ko", "--variant", "instructor", "--out", str(pdf))
    assert_hangul_on_first_pages(pdf, korean_site)


def _words(text):
    return " ".join(text.split())


def assert_hangul_on_first_pages(pdf, site):
    """Each translated page's first PDF page (the last one starting with its title) is in Korean."""
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = [_words(text) for text in pages.split("\f")]
    # pdftotext may give a heading's number after its words ("행렬 분해 모델 2. 이 장에서는"): compare without it
    unnumbered = [_words(" ".join(w for w in text.split()[:40] if not re.fullmatch(r"[\d.]+", w))) for text in pages]
    for page in translated_pages():
        soup = BeautifulSoup((site / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
        title = _words(soup.select_one("article h1").get_text(" ", strip=True).rstrip("#"))
        title = _words(" ".join(w for w in title.split() if not re.fullmatch(r"[\d.]+", w)))
        starts = [i for i, text in enumerate(unnumbered) if text.startswith(title[:12])]
        assert starts, f"{page}: no PDF page starts with {title!r}"
        # In Korean, not just titled in Korean: at least 50 syllables (more than any title), and
        # Hangul at least half as common as Latin letters (an English page has ~0 Hangul to >1000
        # letters; a Korean first page that shows code, such as chapter 2's, about as many of
        # each). A higher count would fail a short first page: the notation page's first PDF
        # page holds only its 99-syllable introduction, its first table starts on the next page.
        if len(catalogue(page)) <= 1:
            continue        # nothing to translate but the title (the bibliography: its entries are references)
        first = pages[starts[-1]]
        hangul, latin = len(HANGUL.findall(first)), len(re.findall(r"[A-Za-z]", first))
        assert hangul >= 50 and 2 * hangul >= latin, \
            f"{page}: first page not in Korean ({hangul} Hangul, {latin} Latin)"


def test_output_tables_are_not_extracted_for_translation():
    """A Markdown table output (one paragraph per cell) yields no message; printed prose still does."""
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document
    from sphinx.util.nodes import extract_messages

    ext = _load("language_switch", ROOT / "book" / "_ext" / "language_switch.py")
    document = new_document("page.ipynb", get_default_settings(Parser))
    prose = nodes.paragraph("After the rescaling", "After the rescaling")
    printed = nodes.paragraph("The unique stationary point:", "The unique stationary point:")
    cell = nodes.paragraph("0.655", "0.655")
    table = nodes.table("", nodes.tgroup("", nodes.tbody("", nodes.row("", nodes.entry("", cell)))))
    output = nodes.container("", printed, table, classes=["cell_output"])
    for node in (prose, printed, cell):
        node.source, node.line = "page.ipynb", 1
    document += [prose, output]
    transform = ext.KeepOutputTablesUntranslated(document)
    transform.apply()
    assert [message for _, message in extract_messages(document)] == ["After the rescaling",
                                                                      "The unique stationary point:"]


def test_korean_pdf_front_matter_is_korean(tmp_path):
    """Title page, variant line and contents heading of the Korean PDF (printing it is slow, below)."""
    book_pdf = _load("book_pdf", ROOT / "tools" / "book_pdf.py")
    english, korean = book_pdf.EDITIONS["en"](tmp_path), book_pdf.EDITIONS["ko"](tmp_path)
    assert korean["html"] == tmp_path / "ko" and korean["lang"] == "ko"
    assert set(korean["variant_notes"]) == set(book_pdf.VARIANTS) == set(english["variant_notes"])
    for text in (korean["title"], korean["front"], korean["contents"], *korean["variant_notes"].values()):
        assert HANGUL.search(text), text
    assert korean["title"] == catalogue("book/index").find(english["title"]).msgstr
    page = tmp_path / "ko" / "book" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text('<html><head><title>t</title></head><body><article class="bd-article"><h1>제목</h1>'
                    "</article></body></html>", encoding="utf-8")
    combined = book_pdf.combine(korean["html"], ["book/index"], korean["title"], korean["front"],
                                lang="ko", contents=korean["contents"])
    assert "<h1>차례</h1>" in combined and "Contents" not in combined and '<html lang="ko"' in combined
