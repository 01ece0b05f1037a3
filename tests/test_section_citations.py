"""The package cites the paper's sections as PAPER.md lists them (issue 8, item 6).

The D-freedom is §2.1, the objective-1 closed form §2.2, objective 2 §2.3;
"Section 4" / "Section 5" for the derivations were wrong.
"""
from cosim_helpers import models, spectral, widgets


def test_objective2_and_rescale_cite_section_2():
    assert "§2.3" in models.fit_objective2.__doc__
    assert "§2.1" in models.rescale.__doc__
    assert "§2.2" in spectral.__doc__ and "§2.3" in spectral.__doc__


def test_no_derivation_cited_as_section_4_or_5():
    for doc in (models.fit_objective2.__doc__, models.rescale.__doc__, spectral.__doc__,
                widgets.__doc__, widgets.DExplorer.__doc__):
        assert "Section 4" not in doc and "Section 5" not in doc
