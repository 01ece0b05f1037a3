"""Time the gauge audit at catalogue scale against the naive m x m approach, and on Dask.

Usage: ``.venv/bin/python benchmarks/bench_audit.py`` (options: ``--help``);
``--dask`` for the Dask path (below).

Random factors (users n x k, items m x k; default m = 1,000,000 items,
n = 100,000 users, k = 64), the full audit of both sides (1,000 sampled
queries per side, 20 transforms; :func:`cosim_helpers.audit.audit`), then the
naive approach on a subsample it can hold: one full m_sub x m_sub cosine
matrix per transform, every row's top-10 by a partial sort. On the same
subsample the blocked search computes the same exact statistics
(every row a query), so the two times are directly comparable; the ratio is
printed. Targets (issue 11): the full audit under 60 s and under 2 GB peak
memory on a 2-core machine. Peak memory is the process's maximum resident
set size, factors included.

The audit runs on one thread per core, each with one BLAS thread
(:mod:`cosim_helpers.audit._threads`). On a shared machine the wall time
depends on the other jobs, so the CPU time of all threads and the load
average are printed too: the CPU time divided by the cores is close to the
wall time of an otherwise idle machine (the audit's serial part is a few
seconds).

``--dask`` (issue 22): the factors are written as float32 ``.npy`` files
(default 10,000,000 items and 1,000,000 users, k = 64; streamed to disk, never
in memory whole) and audited on a ``LocalCluster`` of ``--dask-workers``
worker processes reading them by row chunks
(:mod:`cosim_helpers.audit.distributed`). Printed: wall time, CPU time and
peak resident memory of all processes together (this one, which runs the
client and the scheduler, and the workers; sampled every 0.1 s), the load
average, and the matrix products' flop count against this machine's
measured single-thread float32 matrix-product rate times the workers.
``--compare`` also runs the threaded in-process path on the same files
(loaded whole, float64) and checks that both give the same result;
``--scaling 100000,1000000,10000000`` prints the table of both paths over
catalogue sizes (the threaded path only where its float64 factors fit in
``--memory-gb``). Targets (issue 22): 10⁷ items under 10 minutes and 4 GB
peak on two cores; at 10⁶ items the Dask path within 1.5x of the threaded one.
"""

from __future__ import annotations

import argparse
import resource
import threading
import time

import numpy as np

from cosim_helpers.audit import audit, gauge_family, top_neighbours
from cosim_helpers.audit._threads import workers
from cosim_helpers.similarity import cosine_similarity


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads): robust to other load on the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def random_factors(rows, k, rng, chunk=100_000):
    """Gaussian factors with unequal column scales (so that the gauge matters), made in chunks."""
    scales = np.geomspace(3.0, 0.3, k)
    out = np.empty((rows, k))
    for start in range(0, rows, chunk):
        stop = min(start + chunk, rows)
        out[start:stop] = rng.standard_normal((stop - start, k)) * scales
    return out


def naive_top(E, Ms, top):
    """The m x m way: one full cosine matrix per transform, top-``top`` of every row."""
    out = []
    for M in Ms:
        S = cosine_similarity(E @ M)
        np.fill_diagonal(S, -np.inf)
        sel = np.argpartition(-S, top - 1, axis=1)[:, :top]
        order = np.argsort(-np.take_along_axis(S, sel, 1), axis=1, kind="stable")
        out.append(np.take_along_axis(sel, order, 1))
        del S
    return np.stack(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dask", action="store_true", help="the Dask path on float32 .npy files (issue 22)")
    parser.add_argument("--dask-workers", type=int, default=2)
    parser.add_argument("--compare", action="store_true", help="with --dask: also the threaded path, same files")
    parser.add_argument("--scaling", help="with --dask: comma-separated item counts for the scaling table")
    parser.add_argument("--workdir", help="with --dask: where the .npy files go (default: a temporary directory)")
    parser.add_argument("--memory-gb", type=float, default=4.0,
                        help="with --dask: largest float64 factors the threaded path may load (default 4)")
    parser.add_argument("--items", type=int, help="default 1,000,000 (--dask: 10,000,000)")
    parser.add_argument("--users", type=int, help="default 100,000 (--dask: 1,000,000)")
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--transforms", type=int, default=20)
    parser.add_argument("--subsample", type=int, default=5000, help="rows for the naive m x m comparison")
    args = parser.parse_args()
    if args.dask:
        args.items, args.users = args.items or 10_000_000, args.users or 1_000_000
        return run_dask(args)
    args.items, args.users = args.items or 1_000_000, args.users or 100_000
    rng = np.random.default_rng(0)
    Q = random_factors(args.items, args.k, rng)
    P = random_factors(args.users, args.k, rng)
    print(f"factors: P {P.shape[0]:,} x {args.k}, Q {Q.shape[0]:,} x {args.k} (float64); "
          f"{args.queries:,} queries per side, {args.transforms} transforms", flush=True)

    start, cpu = time.perf_counter(), cpu_seconds()
    result = audit(P, Q, n_queries=args.queries, n_transforms=args.transforms, seed=0)
    t_full, cpu_full = time.perf_counter() - start, cpu_seconds() - cpu
    mem_full = peak_gb()
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    print(f"full audit (both sides): {t_full:.1f} s wall, {cpu_full:.1f} s CPU (all threads, {workers()} cores), "
          f"peak memory {mem_full:.2f} GB (targets: < 60 s, < 2 GB); 1-minute load average of the machine {load}",
          flush=True)
    print(f"  verdicts: items {result['items'].verdict}, users {result['users'].verdict}; "
          f"largest relative score change {result.score_error:.1e}")

    m = args.subsample
    E = Q[:m]
    Ms = [np.eye(args.k)] + [g.M_Q for g in gauge_family(P, E, args.transforms, seed=0)]
    start = time.perf_counter()
    naive = naive_top(E, Ms, 10)
    t_naive = time.perf_counter() - start
    start = time.perf_counter()
    blocked, _ = top_neighbours(E, np.arange(m), Ms, top=10)
    t_blocked = time.perf_counter() - start
    same = float(np.mean(naive == blocked))
    print(f"subsample of {m:,} items, every row a query, {len(Ms)} gauges (given + {args.transforms}):")
    print(f"  naive m x m cosine + partial sort: {t_naive:.1f} s "
          f"(one {m:,} x {m:,} matrix = {m * m * 8 / 1e9:.2f} GB)")
    print(f"  blocked top-k search:              {t_blocked:.1f} s (memory O(queries x block))")
    print(f"  ratio naive / blocked: {t_naive / t_blocked:.2f}x; identical neighbour lists: {same:.4%}")
    scale = (args.items / m) ** 2
    print(f"  naive at m = {args.items:,} (every row): one matrix = {args.items**2 * 8 / 1e12:.0f} TB, "
          f"about {t_naive * scale / 3600:.0f} h by m^2 scaling; the sampled blocked audit took {t_full:.1f} s")


# --- the Dask path (issue 22) ------------------------------------------------------------------------------


class TreeSampler:
    """Peak resident memory and CPU time of this process and all its descendants, sampled every 0.1 s."""

    def __init__(self):
        import psutil
        self.root = psutil.Process()
        self.peak, self.cpu, self._start_cpu = 0, {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _procs(self):
        return [self.root] + self.root.children(recursive=True)

    def _sample(self):
        import psutil
        rss = 0
        for p in self._procs():
            try:
                rss += p.memory_info().rss
                t = p.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):  # ended between listing and reading
                continue
            self.cpu[p.pid] = t.user + t.system
        self.peak = max(self.peak, rss)

    def __enter__(self):
        self._sample()
        self._start_cpu, self.peak = dict(self.cpu), 0
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.1):
            self._sample()

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        self.cpu_seconds = sum(v - self._start_cpu.get(pid, 0.0) for pid, v in self.cpu.items())
        self.peak_gb = self.peak / 1024**3


def load_average() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def write_factor(path, rows, k, rng, chunk=1 << 18):
    """Gaussian float32 factors with unequal column scales, written to ``path`` chunk by chunk."""
    scales = np.geomspace(3.0, 0.3, k).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, k))
    for start in range(0, rows, chunk):
        stop = min(start + chunk, rows)
        out[start:stop] = rng.standard_normal((stop - start, k), dtype=np.float32) * scales
    out.flush()
    del out


def matmul_rate(k, repeats=200):
    """Single-thread float32 matrix-product rate (flop per CPU second) on the search's product shape.

    Per CPU second of the measuring thread, so that other jobs on a shared machine do not lower it.
    """
    from cosim_helpers.audit._threads import one_blas_thread
    rng = np.random.default_rng(0)
    Z, Y = rng.standard_normal((1000, k), dtype=np.float32), rng.standard_normal((1024, k), dtype=np.float32)
    with one_blas_thread():
        Z @ Y.T
        start = time.thread_time()
        for _ in range(repeats):
            Z @ Y.T
        elapsed = time.thread_time() - start
    return 2 * 1000 * 1024 * k * repeats / elapsed


def search_flops(rows, k, queries, transforms):
    """Flops of the matrix products of one side: rows x all transforms, then queries x rows per transform."""
    T = transforms + 1  # the given factors and the family
    return 2.0 * T * rows * k * (min(queries, rows) + k)


def _same(a, b):
    """Same neighbour statistics and verdicts (exact), the other statistics to a relative 1e-12."""
    for side in a.sides:
        x, y = a[side], b[side]
        if x.verdict != y.verdict or not np.array_equal(x.jaccard_per_query, y.jaccard_per_query) \
                or not np.array_equal(x.nn_changed, y.nn_changed):
            return False
        if not np.allclose(x.spearman, y.spearman, rtol=1e-12, atol=0, equal_nan=True):
            return False
    return True


def run_dask(args):
    import tempfile

    from cosim_helpers.audit.distributed import local_client
    from cosim_helpers.audit.lazy import open_factor

    sizes = [int(float(v)) for v in args.scaling.split(",")] if args.scaling else [args.items]
    rate = matmul_rate(args.k)
    cores = workers()
    print(f"machine: {cores} cores; single-thread float32 matrix-product rate {rate / 1e9:.1f} GFLOP/s; "
          f"load average {load_average()}", flush=True)
    rows_out = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        rng = np.random.default_rng(0)
        users = f"{tmp}/P.npy"
        write_factor(users, args.users, args.k, rng)
        for m in sizes:
            items = f"{tmp}/Q-{m}.npy"
            write_factor(items, m, args.k, rng)
            P, Q = open_factor(users, "P"), open_factor(items, "Q")
            flops = search_flops(m, args.k, args.queries, args.transforms) + \
                search_flops(args.users, args.k, args.queries, args.transforms)
            print(f"factors: P {args.users:,} x {args.k}, Q {m:,} x {args.k} (float32 .npy, "
                  f"{(args.users + m) * args.k * 4 / 1e9:.2f} GB); {args.queries:,} queries per side, "
                  f"{args.transforms} transforms; matrix products {flops / 1e12:.2f} TFLOP", flush=True)
            with local_client(args.dask_workers, memory_limit=f"{args.memory_gb / args.dask_workers:.2f}GB") as c:
                load = load_average()
                with TreeSampler() as s:
                    start = time.perf_counter()
                    res_dask = audit(P, Q, n_queries=args.queries, n_transforms=args.transforms, seed=0, client=c)
                    wall = time.perf_counter() - start
            bound = flops / (rate * args.dask_workers)
            rows_out.append(("dask", m, wall, s.cpu_seconds, s.peak_gb, bound, load))
            print(f"  dask ({args.dask_workers} workers): {wall:.1f} s wall, {s.cpu_seconds:.1f} s CPU (all "
                  f"processes), peak memory of all processes {s.peak_gb:.2f} GB; products alone at the measured "
                  f"rate {bound:.1f} s ({bound / wall:.0%} of wall); load average before the run {load}; "
                  f"verdicts items {res_dask['items'].verdict}, users {res_dask['users'].verdict}", flush=True)
            need = (args.users + m) * args.k * 8 / 1e9
            if not (args.compare or args.scaling):
                continue
            if need > args.memory_gb:
                rows_out.append(("threads", m, None, None, None, None, None))
                print(f"  threads: not run (float64 factors need {need:.1f} GB > --memory-gb {args.memory_gb:g})")
                continue
            load = load_average()
            with TreeSampler() as s:
                start = time.perf_counter()
                Pm, Qm = P.load(), Q.load()
                res = audit(Pm, Qm, n_queries=args.queries, n_transforms=args.transforms, seed=0)
                wall_t = time.perf_counter() - start
                del Pm, Qm
            bound = flops / (rate * cores)
            rows_out.append(("threads", m, wall_t, s.cpu_seconds, s.peak_gb, bound, load))
            print(f"  threads ({cores} cores, files loaded whole): {wall_t:.1f} s wall, {s.cpu_seconds:.1f} s CPU, "
                  f"peak memory {s.peak_gb:.2f} GB; products alone {bound:.1f} s ({bound / wall_t:.0%} of wall); "
                  f"load average before the run {load}", flush=True)
            print(f"  dask / threads wall: {wall / wall_t:.2f}x (target <= 1.5x at 10^6 items); "
                  f"same result: {'yes' if _same(res, res_dask) else 'NO'}", flush=True)
    if len(rows_out) > 1:
        print("\nscaling (wall and CPU in s, peak in GB of all processes; products: their CPU seconds at the "
              "measured rate over the cores, as a share of wall, and their CPU seconds as a share of CPU)")
        print(f"{'path':8} {'items':>12} {'wall':>8} {'CPU':>8} {'peak':>6} {'products':>9} {'of wall':>8} "
              f"{'of CPU':>7}  load")
        for path, m, wall, cpu, peak, bound, load in rows_out:
            if wall is None:
                print(f"{path:8} {m:>12,} {'not run: does not fit':>42}")
            else:
                share = bound * (args.dask_workers if path == "dask" else cores) / cpu
                print(f"{path:8} {m:>12,} {wall:8.1f} {cpu:8.1f} {peak:6.2f} {bound:9.1f} {bound / wall:8.0%} "
                      f"{share:7.0%}  {load}")


if __name__ == "__main__":
    main()
