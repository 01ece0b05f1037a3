"""Time the explorers of cosim_helpers.widgets at the paper's scale, headlessly.

Usage: ``.venv/bin/python benchmarks/bench_widgets.py`` (matplotlib Agg, no
front end needed).

Data: ``simulate_clustered()`` defaults (20,000 users x 1,000 items, paper
Section 4), k = 50, λ₁ = 10,000, λ₂ = 100. Each explorer's widget is built
once; then its controls are driven exactly as a user would (setting a
slider's ``value`` runs the same callback a browser event runs), and the
wall time of each change is recorded: computation (new state) plus redraw
(figure update and JPEG encoding). The goal is a median under 50 ms per
change; each explorer's median is printed next to it with PASS or MISS. A breakdown shows which parts take the time, and the static twins'
sizes and build times are reported. Timings depend on the machine, its load
and the BLAS thread count (``OMP_NUM_THREADS``): this is a measurement, not
a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np

from cosim_helpers.data import simulate_clustered
from cosim_helpers.experiments import PAPER_K as K
from cosim_helpers.experiments import PAPER_LAM1 as LAM1
from cosim_helpers.experiments import PAPER_LAM2 as LAM2
from cosim_helpers.images import block_average
from cosim_helpers.metrics import ClusterScorer
from cosim_helpers.models import GramObjective
from cosim_helpers.remedies import remedy_similarities
from cosim_helpers.similarity import cosine_similarity
from cosim_helpers.spectral import gram, top_singular
from cosim_helpers.widgets import DExplorer, LambdaExplorer, RemediesExplorer
from cosim_helpers.widgets.encoding import jpeg

#: Goal (README): median time of one control change.
GOAL_MS = 50.0


def load():
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def summary(times):
    ms, cpu = np.asarray(times.wall) * 1e3, np.asarray(times.cpu) * 1e3
    return (f"median {np.median(ms):7.1f} ms (CPU {np.median(cpu):5.1f} ms)   p95 {np.percentile(ms, 95):7.1f} ms   "
            f"min {np.min(ms):6.1f} ms   (n = {len(ms)})")


class Times:
    """Wall and CPU time of each control change (CPU: the whole process, BLAS and pool threads included)."""

    def __init__(self):
        self.wall, self.cpu = [], []


def drive(set_value, values):
    """Set a control to each value in turn; return the wall and CPU time of each change.

    On a loaded machine the wall time is mostly waiting for a core; the CPU
    time is what the change itself costs.
    """
    times = Times()
    for v in values:
        start, cpu = time.perf_counter(), time.process_time()
        set_value(v)
        times.wall.append(time.perf_counter() - start)
        times.cpu.append(time.process_time() - cpu)
    return times


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def breakdown_d(ex, X, clusters, repeats):
    """Median time of each step of one D-explorer update (α = 0.7), in ms, through the public API."""
    D = ex.s**0.7
    A, B = ex.factors(D)
    S = cosine_similarity(B)
    objective = GramObjective(gram(X)[np.ix_(ex.order, ex.order)], ex.lam, 1)
    GA = objective.G @ ex.factors(np.ones(ex.k))[0] * D
    scorer = ClusterScorer(ex.labels)
    state = ex.compute(0.7)
    ex.render(state)
    return {
        "rescale (AD, BD^-1)": timed(lambda: ex.factors(D), repeats),
        "objective-1 loss from X^T X": timed(lambda: objective.loss(A, B, GA=GA), repeats),
        "item-item cosine (p x p)": timed(lambda: cosine_similarity(B), repeats),
        "cluster recovery": timed(lambda: scorer(S), repeats),
        "heat-map block average": timed(lambda: block_average(S, 200), repeats),
        "whole state (compute)": timed(lambda: ex.compute(0.7), repeats),
        "redraw + JPEG (render)": timed(lambda: ex.render(state), repeats),
        "  of which JPEG encoding": timed(lambda: jpeg(ex._fig.canvas), repeats),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=41, help="control changes per explorer (default 41)")
    parser.add_argument("--repeats", type=int, default=15, help="runs per step of the breakdown (default 15)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average (1, 5, 15 min): {load()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")

    print("Simulating the paper's data (20,000 users x 1,000 items) ...", flush=True)
    X, clusters, popularity = simulate_clustered(seed=0)
    svd = top_singular(X, K)

    start = time.perf_counter()
    ex = DExplorer(X, clusters, popularity, k=K, lam=LAM1, lam2=LAM2, svd=svd)
    ex.widget()
    print(f"D explorer: construction + widget {time.perf_counter() - start:.2f} s")
    # a drag from 0 up to 2, then down to -2: every step changes the value
    up = args.changes // 2
    alphas = np.round(np.concatenate([np.linspace(0, 2, up + 1)[1:],
                                      np.linspace(2, -2, args.changes - up + 1)[1:]]), 2)
    d_times = drive(lambda v: setattr(ex._alpha_slider, "value", float(v)), alphas)
    losses = {f"{ex.state.loss:.12g}"}
    for v in alphas[:5]:
        ex._alpha_slider.value = float(v)
        losses.add(f"{ex.state.loss:.12g}")
    toggle = drive(lambda v: setattr(ex._obj2_button, "value", bool(v)), [True, False] * 5)

    small = DExplorer(X, clusters, popularity, k=6, lam=LAM1, lam2=LAM2, svd=svd)
    small.widget()
    rng = np.random.default_rng(0)
    moves = [(int(i), float(v)) for i, v in zip(rng.integers(0, 6, args.changes),
                                                  np.round(rng.uniform(-2, 2, args.changes), 2))]
    dim_times = drive(lambda m: setattr(small._dim_sliders[m[0]], "value", m[1]), moves)

    start = time.perf_counter()
    lx = LambdaExplorer(X, clusters, popularity, k=K, lam=LAM2, svd=svd)
    lx.widget()
    print(f"lambda explorer: construction + widget {time.perf_counter() - start:.2f} s")
    lams = np.geomspace(lx.lam_range[0], lx.lam_range[1], args.changes)
    l_times = drive(lambda v: setattr(lx._lam_slider, "value", float(v)), lams)

    start = time.perf_counter()
    sims = remedy_similarities(X, K, LAM1, svd=svd)
    rx = RemediesExplorer(sims, clusters, popularity)
    rx.widget()
    print(f"remedies explorer: similarities + construction + widget (pre-renders every variant) "
          f"{time.perf_counter() - start:.2f} s")
    names = [rx.names[i % len(rx.names)] for i in range(1, args.changes + 1)]
    r_times = drive(lambda v: setattr(rx._chooser, "value", v), names)

    print()
    print(f"Per control change (computation + redraw + JPEG), at the paper's scale; goal: median < {GOAL_MS:.0f} ms")
    for label, times in (("D explorer, alpha slider", d_times), ("D explorer, objective-2 toggle", toggle),
                         ("D explorer k=6, one dimension", dim_times), ("lambda explorer, lambda slider", l_times),
                         ("remedies explorer, switch", r_times)):
        print(f"  {label:31s} {summary(times)}   {'PASS' if np.median(times.wall) * 1e3 < GOAL_MS else 'MISS'}")
    print()
    print("Breakdown of one D-explorer update (medians):")
    parts = breakdown_d(ex, X, clusters, args.repeats)
    for name, ms in parts.items():
        print(f"  {name:32s} {ms:7.2f} ms")
    print()
    print(f"loss strings seen while dragging alpha: {sorted(losses)} (one value expected)")
    print()
    print("Static twins (HTML with embedded frames; budget 1.5 MB each):")
    for label, make in (("D explorer (chapter 7)", lambda: ex.static_twin(name="bench_d")),
                        ("D explorer k=6 (chapter 4)", lambda: small.static_twin(name="bench_d6")),
                        ("lambda explorer (chapter 5)", lambda: lx.static_twin(name="bench_lambda")),
                        ("remedies explorer (chapter 6)", lambda: rx.static_twin(name="bench_remedies"))):
        start = time.perf_counter()
        html = make().data
        n_frames = html.count('"data:image/png;base64,')
        print(f"  {label:30s} {len(html.encode()) / 1e6:5.2f} MB, {n_frames:2d} frames, "
              f"built in {time.perf_counter() - start:5.1f} s")
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
