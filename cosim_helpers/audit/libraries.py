"""The stored audit of seven library models (book chapter 9, "Auditing the libraries you use").

``scripts/audit_libraries.py`` trains the models (implicit, gensim,
scikit-learn, scikit-surprise: the development set, not Binder's light set)
on the shipped real data, audits each with the objective declared from its
library's source, and stores the table here; chapter 9 reads it with
:func:`library_results`.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).with_name("_library_results.json")


def agrees(theory: str, verdict: str) -> bool:
    """Whether the audit's verdict matches theory's prediction for the declared objective.

    ``theory`` is ``"pinned"`` when the objective's penalty picks the gauge
    (then the verdict must be ``determined`` or, if the factors are not at
    its choice, ``not converged``) and ``"free"`` when it leaves the gauge
    free (then the verdict must be a sensitivity, never ``determined``).
    """
    if theory == "pinned":
        return verdict in ("determined", "not converged")
    return not verdict.startswith("determined") and verdict != "not converged"


def library_results() -> dict:
    """The stored table: ``k``, the audit settings, the library versions and one row per model."""
    return json.loads(RESULTS.read_text())
