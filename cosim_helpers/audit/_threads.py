"""Run the audit's heavy loops on every core (book chapter 9).

numpy releases the GIL in matrix products, sorts and elementwise passes, so
plain threads run them in parallel. Each thread uses one BLAS thread: on a
machine shared with other work, BLAS threads that wait for each other cost
several times the work they share (measured on our 2-core machine: four
times the CPU of a one-thread product at a load average of 5).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import functools
import os
import threading


def workers() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@functools.cache
def _openblas_local():
    """OpenBLAS's ``openblas_set_num_threads_local`` (0.3.27+: sets the calling thread's count), or None."""
    try:
        with open("/proc/self/maps") as maps:  # the library numpy loaded (Linux)
            paths = {line.split()[-1] for line in maps if "openblas" in line and ".so" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            setter = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
        return setter
    return None


@contextlib.contextmanager
def one_blas_thread():
    """Matrix products of the calling thread use one BLAS thread (no-op where that cannot be set)."""
    setter = _openblas_local()
    previous = None if setter is None else setter(1)
    try:
        yield
    finally:
        if setter is not None:
            setter(previous)


class Stopped(Exception):
    """Raised by a worker that found its ``stop`` event set."""


def thread_map(func, items, stop: threading.Event | None = None) -> list:
    """``[func(x) for x in items]``, on one thread per core, each with one BLAS thread.

    If a call fails, or the caller is interrupted (Ctrl-C), ``stop`` is set
    so that the other calls can return early (``func`` polls it and raises
    :class:`Stopped`); the first failure is raised.
    """
    items = list(items)
    stop = threading.Event() if stop is None else stop

    def run(item):
        try:
            with one_blas_thread():
                return func(item)
        except BaseException:
            stop.set()
            raise

    with concurrent.futures.ThreadPoolExecutor(max(1, min(workers(), len(items)))) as pool:
        futures = [pool.submit(run, item) for item in items]
        try:
            concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        except BaseException:
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)  # calls not started yet never start
            raise
        failed = [f.exception() for f in futures if f.done() and f.exception() is not None]
        if failed:
            pool.shutdown(wait=False, cancel_futures=True)
            raise next((exc for exc in failed if not isinstance(exc, Stopped)), failed[0])
        return [f.result() for f in futures]
