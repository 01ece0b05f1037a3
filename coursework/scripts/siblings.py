"""The one loader of the coursework scripts: import ``coursework/scripts/<name>.py`` by its path.

The scripts are run as files (``python coursework/scripts/course.py``), not installed as a
package, so each one imports its siblings through :func:`load`, and gets :func:`load` itself
with ``runpy.run_path`` (which compiles the file without caching it)::

    load = runpy.run_path(str(Path(__file__).with_name("siblings.py")))["load"]
    grading = load("grading")

A module is registered as ``coursework_<name>`` in ``sys.modules`` (one copy per process, so
that its dataclasses and exceptions work across scripts) and no ``__pycache__`` is written into
the repository.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


def load(name: str):
    """The module of ``coursework/scripts/<name>.py``, imported once per process."""
    key = f"coursework_{name}"
    if key not in sys.modules:
        path = SCRIPTS / f"{name}.py"
        if not path.is_file():
            raise ModuleNotFoundError(f"no coursework script {path}")
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]
            raise
        finally:
            sys.dont_write_bytecode = dont_write
    return sys.modules[key]
