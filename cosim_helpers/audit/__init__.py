"""Audit your own embeddings: gauge sensitivity of cosine similarity (book chapter 9).

Point :func:`audit` at the two factor matrices of a dot-product model (user /
query side ``P``, item side ``Q``, scores ``PQᵀ``; or :func:`audit_model` at
the paper's ``X, A, B``). It applies a family of transforms that keep every
score (the paper's ``D`` of Section 2.1 and the general invertible ``G``),
measures how much the cosine neighbours move and gives a verdict per side.
Factors cannot tell which loss trained them, so the verdict rests on the
objective the user declares (:mod:`~cosim_helpers.audit.objectives`): its
admissible gauge, the gauge its penalty picks and whether the factors sit
there. Without a declaration the audit reports sensitivity only.
The command ``cosim-audit P.npy Q.npy`` runs it from a shell.

Modules, in the order the audit reads: :mod:`~cosim_helpers.audit.objectives`
(what trained the factors, the admissible group),
:mod:`~cosim_helpers.audit.balance` (the gauge the objective picks),
:mod:`~cosim_helpers.audit.gauges` (the family),
:mod:`~cosim_helpers.audit.neighbours` (blocked top-k search),
:mod:`~cosim_helpers.audit.core` (the audit), :mod:`~cosim_helpers.audit.report`
(results and verdict), :mod:`~cosim_helpers.audit.seeds` (agreement of several
trained runs), :mod:`~cosim_helpers.audit.libraries` (the stored audit of seven
library models), :mod:`~cosim_helpers.audit.figure`, :mod:`~cosim_helpers.audit.cli`,
:mod:`~cosim_helpers.audit._threads` (one thread per core for the heavy loops).
"""

from .balance import Balance, balance
from .core import audit, audit_model
from .figure import plot_audit
from .gauges import Gauge, align, diagonal_gauge, gauge_family, general_gauge, power_gauge, score_error
from .neighbours import top_neighbours
from .objectives import VOCABULARY, Objective
from .report import AuditResult, SideAudit
from .seeds import seed_agreement

__all__ = [
    "VOCABULARY",
    "AuditResult",
    "Balance",
    "Gauge",
    "Objective",
    "SideAudit",
    "align",
    "audit",
    "audit_model",
    "balance",
    "diagonal_gauge",
    "gauge_family",
    "general_gauge",
    "plot_audit",
    "power_gauge",
    "score_error",
    "seed_agreement",
    "top_neighbours",
]
