"""Time the top-k spectrum of the real data of chapter 10: dense Gram path vs Lanczos.

Usage: ``.venv/bin/python benchmarks/bench_real_data.py`` (also run by ``make bench``).

On the shipped WordNet data (PPMI of 6,000 contexts x 2,032 nouns, sparse),
both solvers of :func:`cosim_helpers.spectral.top_singular` compute the top
k = 50 singular values and vectors, in this one run on this machine. The
script reports median wall-clock and CPU times, the largest differences of
the singular values (relative to σ₁) and of the objective-1 product
``ÂB̂ᵀ``, and the cluster-recovery scores of chapter 10's panel (b) from
both, which must agree.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from cosim_helpers.metrics import cluster_recovery
from cosim_helpers.models import fit_objective1
from cosim_helpers.real_data import load_wordnet_glosses, ppmi
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.spectral import top_singular

K, LAM1 = 50, 24_017.0  # chapter 10's k and (rounded) lambda_1


def timed(fn, repeats):
    """Median wall and CPU seconds over ``repeats`` runs, and the last result."""
    wall, cpu, result = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per solver (default 3)")
    args = parser.parse_args()

    t_load, _, data = timed(load_wordnet_glosses, args.repeats)
    X = ppmi(data.X)
    print(f"WordNet data: X {X.shape[0]} x {X.shape[1]}, {X.nnz} non-zeros; load median {t_load:.3f} s")
    results = {}
    for solver in ("dense", "lanczos"):
        wall, cpu, svd = timed(lambda solver=solver: top_singular(X, K, solver=solver), args.repeats)
        results[solver] = svd
        print(f"  top_singular(k = {K}, solver={solver!r}): median {wall:.2f} s wall, {cpu:.2f} s CPU")
    dense, lanczos = results["dense"], results["lanczos"]
    ds = np.max(np.abs(dense.s - lanczos.s)) / dense.s[0]
    A_d, B_d = fit_objective1(X, K, LAM1, svd=dense)
    A_l, B_l = fit_objective1(X, K, LAM1, svd=lanczos)
    dprod = np.max(np.abs(A_d @ B_d.T - A_l @ B_l.T)) / np.max(np.abs(A_d @ B_d.T))
    score_d = cluster_recovery(cosine_similarity(B_d), data.labels)
    score_l = cluster_recovery(cosine_similarity(B_l), data.labels)
    print(f"  max |s_dense - s_lanczos| / s_1 = {ds:.1e}; max relative difference of A B^T = {dprod:.1e}")
    print(f"  cluster recovery of obj. 1 (D = I): dense {score_d:.6f}, lanczos {score_l:.6f}")
    assert ds < 1e-10 and dprod < 1e-8 and abs(score_d - score_l) < 1e-6


if __name__ == "__main__":
    main()
