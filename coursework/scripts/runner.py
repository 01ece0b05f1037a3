"""The untrusted half of grading: runs one student's code for one task and writes answers as data.

This file is executed *inside the sandbox* (see ``sandbox.py``), once per submission and task::

    python -I runner.py BUNDLE ANSWERS_FD CASE_SECONDS PACKAGE_DIR [DEADLINE]

``PACKAGE_DIR`` holds the copy of ``cosim_helpers`` the grader prepared for the task. ``BUNDLE`` is a read-only folder prepared by the trusted grader (``grading.py``):

* ``program.json``: ``{"cells": [{"label": ..., "source": ...}, ...]}``, the problem set's own
  setup code (taken from the release, never from the submission) followed by the student's
  code cells in notebook order;
* ``cases.json``: ``[{"label": ..., "function": ..., "args": {name: encoded value}}, ...]``, the
  calls to make (the grader chose the inputs; hidden ones derive from the instructor's secret);
* ``inputs.npz``: the arrays the encoded values refer to.

The runner executes every cell (an error or a timeout in one cell is recorded and the next cell
runs), then calls the student's functions on the inputs and writes one ``.npz`` archive to the
file descriptor ``ANSWERS_FD``: every returned value converted to plain numeric arrays, every
array argument as it was after the call (to detect in-place modification), and a JSON manifest.
Nothing is pickled. The runner decides nothing: everything it writes, the student's code could
have forged, so the trusted grader checks the answers as untrusted data (``grading.py``).

The module imports only the standard library and NumPy, so that the in-process helpers
(:func:`execute_cells`, :func:`call_cases`) can also be used by the tests.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import signal
import sys
import time

import numpy as np

#: Exception raised by the per-cell / per-call alarm. A BaseException, so that a student's
#: ``except Exception`` does not swallow it.


class GradingTimeout(BaseException):
    pass


def _alarm(signum, frame):  # pragma: no cover - exercised in the sandbox
    raise GradingTimeout()


#: The wall-clock backstop of one call, in multiples of its CPU-time limit (a call that blocks
#: uses no CPU time: it is stopped by this one).
WALL_FACTOR = 2.0
#: time.monotonic() by which every call must have stopped: a little before the grader kills the
#: whole run (set by :func:`main`), so that the answers so far are still written.
DEADLINE: float | None = None


def _run_limited(seconds: float, fn, *args):
    """Run ``fn(*args)`` for at most ``seconds`` of CPU time; return (status, value, error type).

    CPU time (``ITIMER_PROF``, SIGPROF), not wall-clock time: other sandboxes busy beside this
    one slow a call down but do not use up its limit. A call that blocks instead of computing
    is stopped after ``WALL_FACTOR * seconds`` of wall-clock time (``ITIMER_REAL``, SIGALRM).
    """
    use_alarm = seconds and seconds > 0 and hasattr(signal, "setitimer")
    wall, cut = WALL_FACTOR * seconds if use_alarm else 0.0, False
    if use_alarm and DEADLINE is not None and DEADLINE - time.monotonic() < wall:
        wall, cut = max(DEADLINE - time.monotonic(), 0.001), True
    if use_alarm:
        signal.signal(signal.SIGALRM, _alarm)
        signal.signal(signal.SIGPROF, _alarm)
        signal.setitimer(signal.ITIMER_PROF, seconds)
        signal.setitimer(signal.ITIMER_REAL, wall)
    start = time.monotonic()
    try:
        value = fn(*args)
        status, error = "ok", ""
    except GradingTimeout:
        # "deadline": stopped by the run's wall clock, which busy neighbours can make run out
        value, status = None, "timeout"
        error = "deadline" if cut and time.monotonic() - start >= wall * 0.99 else ""
    except BaseException as exc:  # noqa: BLE001 - a student's code may raise anything, SystemExit included
        value, status, error = None, "error", type(exc).__name__
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.setitimer(signal.ITIMER_PROF, 0)
    return status, value, error


# --------------------------------------------------------------------------- values as data


def decode(spec: dict, arrays):
    """One argument from its JSON description (``{"value": x}``, ``{"array": key}``, ``{"csr": key}``)."""
    if "value" in spec:
        return spec["value"]
    if "array" in spec:
        return np.array(arrays[spec["array"]])  # a fresh, writable copy for every call
    if "csr" in spec:
        import scipy.sparse as sp

        key = spec["csr"]
        return sp.csr_matrix((np.array(arrays[key + ".data"]), np.array(arrays[key + ".indices"]),
                              np.array(arrays[key + ".indptr"])), shape=tuple(spec["shape"]))
    raise ValueError(f"unknown argument encoding {sorted(spec)}")


def _as_array(value) -> tuple[str, np.ndarray]:
    if isinstance(value, bool | np.bool_):
        return "bool", np.asarray(bool(value))
    if isinstance(value, int | np.integer):
        return "int", np.asarray(int(value), dtype=np.int64)
    if isinstance(value, float):  # np.float64 included
        return "float", np.asarray(float(value))
    if hasattr(value, "toarray"):  # a scipy.sparse matrix
        value = value.toarray()
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise TypeError("not numbers")
    return "array", np.ascontiguousarray(array)


def to_data(value) -> tuple[dict, list[np.ndarray]]:
    """A returned value as (description, arrays): a number, an array, or a short tuple of those."""
    if isinstance(value, tuple | list) and 0 < len(value) <= 8 and not isinstance(value, np.ndarray):
        kinds, arrays = [], []
        for item in value:
            kind, array = _as_array(item)
            kinds.append(kind)
            arrays.append(array)
        return {"kind": "tuple", "items": kinds}, arrays
    kind, array = _as_array(value)
    return {"kind": kind}, [array]


# --------------------------------------------------------------------------- the two phases


def execute_cells(cells: list[dict], namespace: dict, seconds: float) -> list[dict]:
    """Execute each cell in ``namespace``; one record (label, status, error type) per cell."""
    records = []
    for cell in cells:
        def run(source=cell["source"], label=cell["label"]):
            exec(compile(source, f"<{label}>", "exec"), namespace)  # noqa: S102 - this is the sandbox

        status, _, error = _run_limited(seconds, run)
        records.append({"label": cell["label"], "status": status, "error": error})
    return records


def call_cases(namespace: dict, cases: list[dict], arrays, seconds: float, cells: list[dict] = ()) -> bytes:
    """Call the student's functions on every case; the answers as one ``.npz`` archive (bytes).

    ``cells`` (the records of :func:`execute_cells`) go into the archive's manifest too.
    """
    out: dict[str, np.ndarray] = {}
    manifest = []
    stop = False
    for index, case in enumerate(cases):
        entry = {"label": case["label"], "status": "ok", "error": "", "result": None, "after": []}
        if stop:  # a task fails at its first failed call: do not spend the time limit again
            entry["status"] = "skipped"
            manifest.append(entry)
            continue
        function = namespace.get(case["function"])
        if not callable(function):
            entry["status"] = "missing"
            manifest.append(entry)
            continue
        kwargs = {name: decode(spec, arrays) for name, spec in case["args"].items()}
        status, value, error = _run_limited(seconds, lambda f=function, kw=kwargs: f(**kw))
        entry["status"], entry["error"] = status, error
        stop = status != "ok"
        if status == "ok":
            try:
                description, parts = to_data(value)
            except Exception:  # noqa: BLE001 - whatever the student returned
                entry["status"] = "bad_return"
            else:
                entry["result"] = description
                for j, part in enumerate(parts):
                    out[f"c{index}.r{j}"] = part
            for name, argument in kwargs.items():
                if isinstance(argument, np.ndarray) and argument.dtype.kind in "biufc":
                    out[f"c{index}.a.{name}"] = np.ascontiguousarray(argument)
                    entry["after"].append(name)
        manifest.append(entry)
    document = json.dumps({"cells": list(cells), "cases": manifest}).encode()
    out["manifest"] = np.frombuffer(document, dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **out)
    return buffer.getvalue()


def main(argv: list[str]) -> int:  # pragma: no cover - runs in the sandbox
    global DEADLINE
    bundle, fd, seconds = argv[1], int(argv[2]), float(argv[3])
    if len(argv) > 5:  # when the grader kills the run (its time.monotonic(), the same clock here), less 2 s
        DEADLINE = float(argv[5])
    sys.path.insert(0, argv[4])  # the grader's copy of the course package, before any other
    answers = os.fdopen(fd, "wb")
    with open(os.path.join(bundle, "program.json"), encoding="utf-8") as fh:
        program = json.load(fh)
    with open(os.path.join(bundle, "cases.json"), encoding="utf-8") as fh:
        cases = json.load(fh)
    with np.load(os.path.join(bundle, "inputs.npz"), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    cells = execute_cells(program["cells"], namespace, seconds)
    answers.write(call_cases(namespace, cases, arrays, seconds, cells))
    answers.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv))
