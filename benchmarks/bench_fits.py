"""Time the closed-form fits at the paper's scale against a dense-SVD baseline.

Usage: ``make bench`` (or ``.venv/bin/python benchmarks/bench_fits.py``).

Prints medians over repeated runs, measured in this one run on this machine:
the simulation (20,000 x 1,000, paper Section 4), both closed-form fits
sharing one Gram-matrix eigendecomposition (k = 50, λ₁ = 10,000, λ₂ = 100),
and a baseline that computes the same fits from ``numpy.linalg.svd`` of the
dense X. It also checks that both routes give the same ``ABᵀ``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from cosim_helpers.data import simulate_clustered
from cosim_helpers.models import fit_objective1, fit_objective2, shrinkage_objective1, shrinkage_objective2
from cosim_helpers.spectral import top_singular

K, LAM1, LAM2 = 50, 10_000.0, 100.0


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

    print("Simulating the paper's data (20,000 users x 1,000 items) ...", flush=True)
    t_sim, _, sim = timed(lambda: simulate_clustered(seed=0), 3)
    X = sim.X
    print(f"  X: {X.shape[0]} x {X.shape[1]}, {X.nnz} interactions; simulation median {t_sim:.3f} s")

    print(f"Both closed-form fits via the Gram matrix, {args.repeats} runs ...", flush=True)
    t_fast, times_fast, ((A1, B1), (A2, B2)) = timed(lambda: fits_via_gram(X), args.repeats)
    print(f"Baseline: numpy.linalg.svd of dense X, {args.baseline_repeats} runs ...", flush=True)
    t_base, times_base, (M1, M2) = timed(lambda: fits_via_dense_svd(X), args.baseline_repeats)

    err1 = np.abs(A1 @ B1.T - M1).max()
    err2 = np.abs(A2 @ B2.T - M2).max()
    print()
    print(f"{'step':44s} {'median [s]':>10s} {'min [s]':>8s} {'max [s]':>8s}")
    print(f"{'simulate_clustered (seed 0)':44s} {t_sim:10.3f}")
    print(f"{'both fits, one Gram eigendecomposition':44s} {t_fast:10.3f} {min(times_fast):8.3f} {max(times_fast):8.3f}")
    print(f"{'baseline: dense SVD + both fits':44s} {t_base:10.3f} {min(times_base):8.3f} {max(times_base):8.3f}")
    print(f"speed-up (baseline median / fits median): {t_base / t_fast:.1f}x")
    print(f"max|AB^T - baseline|: objective 1 {err1:.2e}, objective 2 {err2:.2e}")
    ok = t_fast < 0.5 and t_base / t_fast >= 5 and max(err1, err2) < 1e-8
    print("targets (fits < 0.5 s, >= 5x faster, error < 1e-8):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
