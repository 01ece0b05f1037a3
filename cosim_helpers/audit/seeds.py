"""Seed agreement: how much several trained runs of one model agree on cosine neighbours (book chapter 9).

A freedom that the objective leaves is resolved by the optimiser, differently
from each start: two runs of the same model with different seeds can have
(nearly) the same scores and different cosine neighbours. This measures it
directly, without any gauge family: the mean share of each sampled row's
top-``top`` cosine neighbours that two runs agree on, averaged over all pairs
of runs. Runs must list the same rows in the same order (their ``k`` may
differ).
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from .._validation import as_factor, as_generator
from .neighbours import top_neighbours


def seed_agreement(runs, *, top: int = 10, n_queries: int = 1000, seed=0) -> float:
    """Mean top-``top`` neighbour overlap (share in [0, 1]) between every pair of runs.

    Parameters
    ----------
    runs : sequence of array_like, each (m, k_r)
        The same side (e.g. the item factors) of two or more trained runs.
    top : int
        Neighbours compared per row (capped at m − 1).
    n_queries : int
        Rows sampled (all rows when there are fewer).
    seed : int, None or numpy.random.Generator

    Returns
    -------
    float
        1 when every run has the same neighbour lists.
    """
    runs = [as_factor(E, f"run {r}") for r, E in enumerate(runs)]
    if len(runs) < 2:
        raise ValueError(f"seed agreement needs at least two runs, got {len(runs)}")
    m = runs[0].shape[0]
    if any(E.shape[0] != m for E in runs) or m < 2:
        raise ValueError(f"every run must have the same number of rows (>= 2), got {[E.shape[0] for E in runs]}")
    for name, value in (("top", top), ("n_queries", n_queries)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    rng = as_generator(seed)
    top = min(top, m - 1)
    queries = np.arange(m) if n_queries >= m else np.sort(rng.choice(m, n_queries, replace=False))
    lists = [top_neighbours(E, queries, top=top)[0][0] for E in runs]
    shares = [np.mean([len(set(a) & set(b)) / top for a, b in zip(A, B)])
              for A, B in itertools.combinations(lists, 2)]
    return float(np.mean(shares))
