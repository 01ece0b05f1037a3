"""The hidden checks of the Otter version, run by Otter inside its grading kernel.

Instructor only: ``otter_export.py`` puts this file into each problem set's *autograder* zip
(never into the student files), next to ``runner.py``, the problem set's ``hidden_tests.py``
(as ``hidden_tests_<ps>.py``) and ``otter_<ps>.json`` (the release's setup cells). Otter copies
them into the submission's folder, which is on ``sys.path`` while it grades; the hidden test
case of every task (``tests/task_<n>_<m>.py``) then calls :func:`check_task`.

The cases and checks are those of the nbgrader route (``source/<ps>/hidden_tests.py``, inputs
drawn from the same course seed, see ``grading.task_rng``), so both routes ask the same
questions. What differs is where the code runs: here, in the same kernel as the student's code
(see coursework/README.md, "What each route defends against").
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: Seconds for one call of a student's function (as ``grading.Limits.call``).
CALL_SECONDS = 20.0


class ReferenceUsedError(RuntimeError):
    """Raised by a reference implementation the task does not allow, while the task is checked."""


def _module(key: str, path: Path):
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[key] = module
    return sys.modules[key]


def hidden_cases(ps: str, task: str, seed: int) -> tuple[dict, list[dict]]:
    """The task's spec and its cases, drawn with ``seed`` from a fresh run of the setup cells."""
    layout = json.loads((HERE / f"otter_{ps}.json").read_text(encoding="utf-8"))
    public = {"__name__": "__setup__"}
    for source in layout["setup"]:  # the release's own setup, never the student's variables
        exec(compile(source, f"<{ps} setup>", "exec"), public)  # noqa: S102 - instructor code
    spec = _module(f"hidden_tests_{ps}", HERE / f"hidden_tests_{ps}.py").TASKS[task]
    return spec, spec["cases"](np.random.default_rng(seed), public)


@contextmanager
def _refused(dotted_names: list[str], namespace: dict):
    """Replace the forbidden reference implementations (in the package and ``namespace``) by a refusal."""
    saved = []
    for dotted in dotted_names:
        module_name, attr = dotted.rsplit(".", 1)
        original = getattr(importlib.import_module(module_name), attr)

        def refuse(*args, _dotted=dotted, **kwargs):
            raise ReferenceUsedError(f"grading: this task must not call {_dotted}")

        package = module_name.split(".")[0]
        spaces = [m.__dict__ for name, m in list(sys.modules.items())
                  if (name == package or name.startswith(package + ".")) and hasattr(m, "__dict__")]
        for space in [*spaces, namespace]:
            for key, value in list(space.items()):
                if value is original:
                    saved.append((space, key, value))
                    space[key] = refuse
    try:
        yield
    finally:
        for space, key, value in reversed(saved):
            space[key] = value


def _plain(value):
    """A returned value as the nbgrader route sees it: plain numbers and arrays (``runner.to_data``)."""
    runner = _module("coursework_runner", HERE / "runner.py")
    description, arrays = runner.to_data(value)
    convert = {"float": float, "int": int, "bool": bool, "array": lambda a: a}
    kinds = description["items"] if description["kind"] == "tuple" else [description["kind"]]
    values = [convert[kind](array) for kind, array in zip(kinds, arrays, strict=True)]
    return tuple(values) if description["kind"] == "tuple" else values[0]


def check_task(env: dict, ps: str, task: str, seed: int) -> None:
    """Call the student's functions in ``env`` on every case of ``task``; raise AssertionError at the first failure.

    The messages are those of the nbgrader route: the case's label and the instructor's check,
    never a hidden value.
    """
    runner = _module("coursework_runner", HERE / "runner.py")
    spec, cases = hidden_cases(ps, task, seed)
    for case in cases:
        where, call = f"case \u201c{case['label']}\u201d", case["call"]
        function = env.get(call)
        if not callable(function):
            raise AssertionError(f"{call} is not defined (was its cell deleted or the function renamed?)")  # noqa: TRY004
        args = {name: copy.deepcopy(value) for name, value in case["args"].items()}
        with _refused(list(spec.get("forbidden", [])), env):
            status, value, error = runner._run_limited(CALL_SECONDS, lambda f=function, kw=args: f(**kw))
        if status == "timeout":
            raise AssertionError(f"{call} was stopped after the {CALL_SECONDS:g} s limit on {where} (an endless loop?)")
        if error == "NotImplementedError":
            raise AssertionError(f"{call} still raises NotImplementedError")
        if error == "ReferenceUsedError":
            raise AssertionError(f"{call} calls {', '.join(spec['forbidden'])}, which task {task} does not allow")
        if status != "ok":
            raise AssertionError(f"{call} raised {error} on {where}")
        try:
            result = _plain(value)
        except Exception:  # noqa: BLE001 - whatever the student returned
            raise AssertionError(f"{call} returned something that is not numbers or arrays on {where}") from None
        after = {name: np.asarray(arg) for name, arg in args.items() if isinstance(arg, np.ndarray)}
        try:
            spec["check"](case, result, after)
        except AssertionError as exc:
            raise AssertionError(f"{where}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a malformed answer breaks the check's arithmetic
            raise AssertionError(f"{where}: the answer has the wrong form ({type(exc).__name__})") from None
