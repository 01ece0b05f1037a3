"""Time the closed-form fits at the paper's scale against a dense-SVD baseline.

Usage: ``make bench`` (or ``.venv/bin/python benchmarks/bench_fits.py``).

Prints medians over repeated runs, measured in this one run on this machine:
the simulation (20,000 x 1,000, paper Section 4), both closed-form fits
sharing one Gram-matrix eigendecomposition (k = 50, λ₁ = 10,000, λ₂ = 100),
and a baseline that computes the same fits from ``numpy.linalg.svd`` of the
dense X. It also checks that both routes give the same ``ABᵀ``. Each figure
is printed next to its goal with PASS or MISS; the machine's load average is
printed before and after, since a shared machine makes every timing noisy
(the ratio of two medians from the same run is the steadier figure).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from cosim_helpers.data import simulate_clustered
from cosim_helpers.experiments import PAPER_K as K
from cosim_helpers.experiments import PAPER_LAM1 as LAM1
from cosim_helpers.experiments import PAPER_LAM2 as LAM2
from cosim_helpers.models import fit_objective1, fit_objective2, shrinkage_objective1, shrinkage_objective2
from cosim_helpers.spectral import top_singular

#: Goals (README): both fits under 0.5 s, at least 5x faster than the dense SVD, same ABᵀ to 1e-8.
GOAL_SECONDS, GOAL_SPEEDUP, GOAL_ERROR = 0.5, 5.0, 1e-8


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn, repeats):
    """Run ``fn`` ``repeats`` times; return (median seconds, all times, last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def fits_via_gram(X):
    svd = top_singular(X, K)
    return fit_objective1(X, K, LAM1, svd=svd), fit_objective2(X, K, LAM2, svd=svd)


def fits_via_dense_svd(X):
    _, s, Vt = np.linalg.svd(X.toarray(), full_matrices=False)
    V, s = Vt[:K].T, s[:K]
    return V * shrinkage_objective1(s, LAM1) @ V.T, V * shrinkage_objective2(s, LAM2) @ V.T


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs of the fast fits (default 7)")
    parser.add_argument("--baseline-repeats", type=int, default=3, help="runs of the dense SVD (default 3)")
    args = parser.parse_args()

    print(f"cores: {os.cpu_count()}, load average (1, 5, 15 min): {load()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print("Simulating the paper's data (20,000 users x 1,000 items) ...", flush=True)
    t_sim, _, sim = timed(lambda: simulate_clustered(seed=0), 3)
    X = sim.X
    print(f"  X: {X.shape[0]} x {X.shape[1]}, {X.nnz} interactions; simulation median {t_sim:.3f} s")

    print(f"Both closed-form fits via the Gram matrix, {args.repeats} runs ...", flush=True)
    t_fast, times_fast, ((A1, B1), (A2, B2)) = timed(lambda: fits_via_gram(X), args.repeats)
    print(f"Baseline: numpy.linalg.svd of dense X, {args.baseline_repeats} runs ...", flush=True)
    t_base, times_base, (M1, M2) = timed(lambda: fits_via_dense_svd(X), args.baseline_repeats)

    err = max(np.abs(A1 @ B1.T - M1).max(), np.abs(A2 @ B2.T - M2).max())
    speedup = t_base / t_fast
    print()
    print(f"{'step':44s} {'median [s]':>10s} {'min [s]':>8s} {'max [s]':>8s}")
    print(f"{'simulate_clustered (seed 0)':44s} {t_sim:10.3f}")
    print(f"{'both fits, one Gram eigendecomposition':44s} {t_fast:10.3f} {min(times_fast):8.3f} {max(times_fast):8.3f}")
    print(f"{'baseline: dense SVD + both fits':44s} {t_base:10.3f} {min(times_base):8.3f} {max(times_base):8.3f}")
    print()
    print(f"{'figure':44s} {'measured':>12s} {'goal':>12s}")
    print(f"{'both fits, median':44s} {t_fast:10.3f} s {'< ' + str(GOAL_SECONDS) + ' s':>12s}  "
          f"{verdict(t_fast < GOAL_SECONDS)}")
    print(f"{'speed-up over the dense SVD (same-run medians)':44s} {speedup:11.1f}x {'>= 5x':>12s}  "
          f"{verdict(speedup >= GOAL_SPEEDUP)}")
    print(f"{'max |AB^T - baseline| (both objectives)':44s} {err:12.2e} {'< 1e-8':>12s}  {verdict(err < GOAL_ERROR)}")
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
