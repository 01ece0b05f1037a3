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
"""

__version__ = "0.1.0"
