"""cosim_helpers: the tested maths behind the book *Is cosine similarity of
learned embeddings really about similarity?* (Steck, Ekanadham & Kallus,
arXiv:2403.05440).

Modules (each named for one idea):

- :mod:`~cosim_helpers.similarity` cosine / dot-product similarity matrices
- :mod:`~cosim_helpers.spectral`   top-k SVD via the Gram matrix
- :mod:`~cosim_helpers.models`     objectives 1 and 2, closed forms, the D-freedom
- :mod:`~cosim_helpers.training`   gradient-based solvers for both objectives
- :mod:`~cosim_helpers.data`       the paper's clustered power-law simulator
- :mod:`~cosim_helpers.metrics`    cluster recovery of a similarity matrix
- :mod:`~cosim_helpers.plots`      the book's figure style and heat maps
- :mod:`~cosim_helpers.images`     block averaging for heat-map images
- :mod:`~cosim_helpers.examples`   the five-film toy data and dropout checks (chapters 1-3)
- :mod:`~cosim_helpers.derivations` sympy derivations of the k = 1 cases (chapters 4, 5)
- :mod:`~cosim_helpers.remedies`   the paper's remedies (chapter 6)
- :mod:`~cosim_helpers.cosine_model` remedy 1, a model trained on cosine similarity (chapter 6)
- :mod:`~cosim_helpers.tables`     plain-text tables for printed output
- :mod:`~cosim_helpers.experiments` Figure 1, scores over seeds, the D-sweep (chapter 7)
- :mod:`~cosim_helpers.sensitivity` the Figure-1 reading under other simulator choices (chapter 7)
- :mod:`~cosim_helpers.probe`      the practitioner's rescaling probe (chapter 8)
- :mod:`~cosim_helpers.widgets`    ipywidgets explorers and their static HTML twins (a subpackage)
- :mod:`~cosim_helpers.audit`      the gauge audit of your own embeddings and ``cosim-audit`` (chapter 9)
- :mod:`~cosim_helpers.real_data`  WordNet noun data and its embeddings (chapter 10)
- :mod:`~cosim_helpers.gauge_dynamics` which gauge gradient training picks (chapter 11)
- :mod:`~cosim_helpers.deep`       small autoencoders with dropout, weight decay or layer norm (chapter 11)
- :mod:`~cosim_helpers.reproduction` reproducing a paper's numbers honestly (chapter 11)
- :mod:`~cosim_helpers.twin_a11y`  accessible names for the static twins' frames

Input checks shared by all of them live in ``cosim_helpers._validation``.
"""

__version__ = "0.2.0"  # = pyproject.toml's version (tests/test_release.py)
