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
- :mod:`~cosim_helpers.experiments` Figure 1, scores over seeds, the D-sweep (chapters 7, 8)
- :mod:`~cosim_helpers.widgets`    ipywidgets explorers and their static HTML twins (a subpackage)
- :mod:`~cosim_helpers.audit`      the gauge audit of your own embeddings and ``cosim-audit`` (chapter 9)

Input checks shared by all of them live in ``cosim_helpers._validation``.
"""

__version__ = "0.1.0"
