"""Heat-map images of large similarity matrices: block averaging.

A 1,000 x 1,000 item-item matrix is drawn in a few hundred screen pixels, so
the book's heat maps (figures and explorers) draw a block average of it:
as legible, and a fraction of the bytes.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_square, check_int


def block_average(S, size: int) -> np.ndarray:
    """Shrink a p x p matrix to at most ``size x size`` by averaging blocks.

    Row and column blocks are the same contiguous index ranges, as equal as
    possible (``p/size`` rounded), so the block structure of a
    cluster-sorted matrix is kept. A matrix with ``p <= size`` is returned
    unchanged (as a copy).

    Parameters
    ----------
    S : array_like, shape (p, p)
    size : int
        Largest side of the result, ``>= 2``.

    Returns
    -------
    numpy.ndarray, shape (min(p, size), min(p, size))
    """
    S = as_square(S)
    size = check_int(size, "size", 2)
    p = S.shape[0]
    if p <= size:
        return S.copy()
    if p % size == 0:  # equal blocks: strided sums, much faster than a 4-D mean
        f = p // size
        rows = S[0::f].copy()
        for i in range(1, f):
            rows += S[i::f]
        out = rows[:, 0::f].copy()
        for i in range(1, f):
            out += rows[:, i::f]
        return out / (f * f)
    edges = np.rint(np.linspace(0, p, size + 1)).astype(np.intp)
    counts = np.diff(edges).astype(np.float64)
    summed = np.add.reduceat(np.add.reduceat(S, edges[:-1], axis=0), edges[:-1], axis=1)
    return summed / counts[:, None] / counts[None, :]
