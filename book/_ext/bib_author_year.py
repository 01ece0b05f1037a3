"""Sphinx extension: a bibliography that reads like the in-text citations.

The book cites in author-year form (``bibtex_reference_style: author_year``
gives "[Steck et al., 2024]"), but pybtex's default bibliography labels are
alpha codes ("[SEK24]"), so a reader could not match the two. This registers
a pybtex formatting style, ``author_year``, whose labels are exactly the
in-text form and whose entries are sorted by author, year and title.

It also fixes the ARIA of the rendered list: docutils marks the list
``role="list"`` but its entries ``role="doc-biblioentry"`` (a role
deprecated in DPUB-ARIA 1.1 and not a list item), which axe-core reports as
a critical "aria-required-children" violation. Entries become list items.
"""

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _last_names(person):
    return " ".join(str(part) for part in person.rich_prelast_names + person.rich_last_names)


def author_year_label(entry) -> str:
    """``"Cain, 2026"``, ``"Srebro and Rennie, 2005"``, ``"Steck et al., 2024"``.

    The same rule as sphinxcontrib-bibtex's ``author_year`` in-text style: one
    or two authors are named, three or more become "et al.".
    """
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_names(p) for p in people]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield author_year_label(entry)


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "author_year_labels"
    default_sorting_style = "author_year_title"


def _listitem_roles(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app):
    register_plugin("pybtex.style.labels", "author_year_labels", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    app.connect("html-page-context", _listitem_roles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
