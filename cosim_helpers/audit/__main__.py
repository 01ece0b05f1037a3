"""``python -m cosim_helpers.audit``: the same as the ``cosim-audit`` command."""

from .cli import run

run()
