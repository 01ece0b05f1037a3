"""Typed results of the audit, the verdict rule and their text / Markdown / HTML / JSON forms.

The verdict follows the declared objective (:mod:`~cosim_helpers.audit.objectives`):

* ``determined``: the objective pins the gauge up to rotations *at this
  optimum*, these factors sit at its choice (its penalty would drop by at
  most the tolerance) and, when the choice moves them at all, every sampled
  row keeps its nearest neighbour there; or no admissible transform can move
  any cosine (k = 1, with a warning that every cosine is ±1). For a
  non-convex objective another start can land at another optimum with other
  cosines: seed agreement (``--runs``) measures that.
* ``not converged``: the objective pins the gauge, but these factors are not
  at its choice (its penalty would drop by more than the tolerance, or the
  neighbours differ there). The rebalanced factors put these scores in the
  gauge the objective picks; longer training moves toward that gauge and
  also changes the scores.
* otherwise the objective (or its absence) leaves the gauge free, and the
  verdict is the sensitivity measured over the family: ``arbitrary``,
  ``fragile`` or ``stable under this family``. Never "determined": a
  transform outside the family may move the cosines further.

The sensitivity thresholds are ours (book chapter 9 explains them); the paper
(Sections 2.1-2.3) only says *that* cosines are arbitrary under objective 1
and unique under objective 2.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

from .balance import Balance
from .objectives import GROUPS, Objective

#: A side whose gauge is free is "stable under this family" when, over the
#: whole family, at most this share of queries changes its nearest neighbour
#: and the mean top-k Jaccard overlap is at least STABLE_JACCARD (ours).
STABLE_NN = 0.05
STABLE_JACCARD = 0.9
#: Otherwise "fragile" when the median transform changes at most FRAGILE_NN
#: of the nearest neighbours and the mean top-k Jaccard overlap is at least
#: FRAGILE_JACCARD, else "arbitrary" (ours).
FRAGILE_NN = 0.25
FRAGILE_JACCARD = 0.75


@dataclass(frozen=True)
class SideAudit:
    """Gauge sensitivity of the cosine neighbours of one side (``"items"`` or ``"users"``).

    Arrays indexed by transform hold one entry per member of the family
    (the given factors, transform 0, are the reference and not included);
    ``pair_cosine`` and ``recovery`` include the given factors first.
    """

    side: str
    n_rows: int
    queries: np.ndarray
    top: int
    labels: tuple
    kinds: tuple
    nn_changed: np.ndarray
    jaccard: np.ndarray
    jaccard_per_query: np.ndarray
    spearman: np.ndarray
    pair: tuple
    pair_cosine: np.ndarray
    cosine_spread: np.ndarray
    recovery: np.ndarray | None
    verdict: str = ""
    explanation: str = ""
    sensitivity: str = ""
    recovery_note: str = ""

    @property
    def exact(self) -> bool:
        """Whether every row was a query (then the statistics are exact, not sampled)."""
        return len(self.queries) == self.n_rows

    def summary_numbers(self) -> dict:
        """The numbers behind the verdict, rounded for printing."""
        out = {
            "nearest neighbour changed (median share)": round(float(np.median(self.nn_changed)), 3),
            "nearest neighbour changed (max share)": round(float(np.max(self.nn_changed)), 3),
            f"top-{self.top} Jaccard overlap (mean)": round(float(np.mean(self.jaccard)), 3),
            f"top-{self.top} Jaccard overlap (min)": round(float(np.min(self.jaccard)), 3),
            "Spearman of row rankings (mean)": round(float(np.nanmean(self.spearman)), 3)
            if np.any(np.isfinite(self.spearman)) else "undefined (every row constant)",
            "cosine of one pair (min..max)": f"rows {self.pair[0]}, {self.pair[1]}: "
                                             f"{self.pair_cosine.min():.3f} .. {self.pair_cosine.max():.3f}",
            "cosine to nearest neighbour, range over family (median)":
                round(float(np.median(self.cosine_spread)), 3),
        }
        if self.recovery is not None:
            out["cluster recovery (min..max)"] = (round(float(np.min(self.recovery)), 3),
                                                  round(float(np.max(self.recovery)), 3))
        elif self.recovery_note != "no labels given":
            out["cluster recovery"] = self.recovery_note
        return out


def sensitivity(side: SideAudit) -> str:
    """How far the family moved the neighbours: ``arbitrary``, ``fragile`` or ``stable under this family``."""
    nn, jac = float(np.max(side.nn_changed)), float(np.mean(side.jaccard))
    if nn <= STABLE_NN and jac >= STABLE_JACCARD:
        return "stable under this family"
    if float(np.median(side.nn_changed)) <= FRAGILE_NN and jac >= FRAGILE_JACCARD:
        return "fragile"
    return "arbitrary"


def judge(side: SideAudit, objective: Objective, choice: Balance | None, *, can_move: bool = True,
          consistent: dict | None = None, choice_check: tuple | None = None) -> tuple[str, str, str]:
    """Verdict, sensitivity over the family, and why (see the module docstring for the rule).

    ``choice_check`` is ``(share of sampled rows whose nearest neighbour
    differs at the objective's choice, mean top-k overlap with it, largest
    cosine difference)``, measured when the choice moves the factors at all.
    """
    level = sensitivity(side)
    nn, jac = float(np.max(side.nn_changed)), float(np.mean(side.jaccard))
    moved = (f"under the family, up to {nn:.0%} of sampled {side.side} change their nearest neighbour and the "
             f"mean top-{side.top} overlap is {jac:.2f}")
    if not can_move:
        return "determined", level, ("no admissible transform can move a cosine: with k = 1 every cosine is "
                                     "+1 or -1, whatever trained the factors.")
    optimum = ("The gauge is pinned at this optimum; the objective is not convex, so another start can land "
               "at another optimum with other cosines (--runs measures the agreement between seeds).")
    if objective.pins:
        if objective.name == "unit-norm":
            at = (f"rows have unit norm (largest deviation {choice.imbalance:.1e})" if choice.balanced else
                  f"rows are not unit-norm (largest deviation {choice.imbalance:.2g}): these are not the "
                  "factors the constraint holds; normalise the rows the model normalises")
            if not choice.balanced:
                return "not converged", level, f"the declared objective, {objective.describe()}, {at}."
            return "determined", level, (f"the declared objective, {objective.describe()}, admits only "
                                         f"rotations, which change no cosine; {at}. {optimum} Without the "
                                         f"declaration: {moved}.")
        drop = f"its penalty would drop {choice.saved_fraction:.1%} by moving to its choice within the gauge"
        rebalanced = ("The rebalanced factors (transform 'objective's choice', --rebalance) put these scores in "
                      "the gauge the objective picks; longer training moves toward that gauge and also changes "
                      "the scores.")
        if choice.balanced:
            if choice_check is not None and choice_check[0] > 0:
                return "not converged", level, (
                    f"the declared objective, {objective.describe()}, picks the gauge up to a rotation, and "
                    f"{drop}, within the tolerance; but at its choice {choice_check[0]:.0%} of sampled "
                    f"{side.side} have another nearest neighbour (top-{side.top} overlap "
                    f"{choice_check[1]:.2f}, cosines differ by up to {choice_check[2]:.3f}): the objective "
                    f"determines the cosines, and these factors are not at them. {rebalanced} "
                    f"{moved[0].upper() + moved[1:]}.")
            within = "" if choice_check is None else (
                f"; these factors are within {choice_check[2]:.2g} of its cosines and every sampled row keeps "
                "its nearest neighbour")
            return "determined", level, (f"the declared objective, {objective.describe()}, determines the "
                                         f"cosines: it picks the gauge up to a rotation, which changes no "
                                         f"cosine, and {drop}{within}. {optimum} Without the declaration: "
                                         f"{moved}.")
        return "not converged", level, (f"the declared objective, {objective.describe()}, picks the gauge up to "
                                        f"a rotation, but these factors are not at its choice: {drop}. "
                                        f"{rebalanced} Either training stopped early or the objective was "
                                        f"declared wrongly. {moved[0].upper() + moved[1:]}.")
    if objective.declared:
        free = (f"the declared objective, {objective.describe()}, leaves the gauge free: "
                f"{GROUPS[objective.group]} keep its value. ")
    else:
        fits = [name for name, (ok, _) in (consistent or {}).items() if ok]
        free = ("no objective was declared, and factors cannot tell which loss trained them; they are "
                f"consistent with: {', '.join(fits)}. Declare the objective for a verdict on its gauge. ")
    tail = {"arbitrary": "Do not read these cosines as similarities.",
            "fragile": "Report the sensitivity with any cosine result.",
            "stable under this family": "Not determined: a transform outside the family may move them further."}
    return level, level, f"{free}{moved[0].upper() + moved[1:]}. {tail[level]}"


def _fmt(value) -> str:
    if isinstance(value, tuple):
        return " .. ".join(_fmt(v) for v in value)
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _finite(x):
    """A float for JSON, or ``None`` (strict JSON has no NaN)."""
    x = float(x)
    return x if np.isfinite(x) else None


@dataclass(frozen=True)
class AuditResult:
    """Result of :func:`cosim_helpers.audit.audit`: one :class:`SideAudit` per side, the objective and its choice.

    ``repr`` is a plain-text summary, ``_repr_markdown_`` Markdown tables
    (what notebooks show and store), ``_repr_html_`` HTML, :meth:`to_dict`
    the strict-JSON form (no NaN: ``None`` with a reason), :meth:`figure` the
    picture (:func:`cosim_helpers.audit.figure.plot_audit`).

    ``balance`` is the declared objective's choice of gauge and its
    convergence check (:class:`~cosim_helpers.audit.balance.Balance`), or
    ``None`` when the objective picks no gauge.
    """

    sides: dict
    balance: Balance | None
    n_transforms: int
    score_error: float
    tol: float
    rejected: tuple = field(default=())
    seed: int | None = None
    objective: Objective = field(default_factory=Objective)
    family_range: dict = field(default_factory=dict)
    consistent: dict | None = None
    warnings: tuple = field(default=())

    def __getitem__(self, side: str) -> SideAudit:
        return self.sides[side]

    def _header(self) -> list[str]:
        b, o, r = self.balance, self.objective, self.family_range
        # Round-off digits differ between machines: below 1e-10 only the bound is printed.
        err = "< 1e-10" if self.score_error < 1e-10 else f"{self.score_error:.1e}"
        lines = [f"objective: {o.name}: {o.describe()}; admissible gauge: {GROUPS[o.group]}"]
        if "diagonal_cond_max" in r:
            rng = [f"cond(D) <= {r['diagonal_cond_max']:g}"]
            if "general_cond_max" in r:
                rng += [f"cond(G) <= {r['general_cond_max']:g}",
                        f"power alpha in [{r['power_alpha'][0]:+g}, {r['power_alpha'][1]:+g}]"]
            if "shear_max" in r:
                rng.append(f"shears I + eps E_ij that keep P, Q >= 0, |eps| <= {r['shear_max']:g}")
            if "shift_max_relative_to_rms_item_norm" in r:
                rng.append(f"item shift <= {r['shift_max_relative_to_rms_item_norm']:g} x rms item norm")
            lines.append(f"family ({r['group']}): " + ", ".join(rng))
        else:
            lines.append("family: given by the caller")
        lines.append(f"{self.n_transforms} transforms; largest relative score change {err} "
                     f"(tolerance {self.tol:.0e})")
        if self.rejected:
            lines.append(f"rejected (scores not kept): {', '.join(self.rejected)}")
        if b is not None and o.name != "unit-norm":
            saved = "" if b.saved is None else f" (= {b.saved if b.saved_fraction >= 1e-9 else 0.0:.4g} at this lambda)"
            lines.append(f"convergence check: the declared penalty would drop {b.saved_fraction:.1%}{saved} "
                         "by moving to the objective's choice"
                         + (" -> at its choice" if b.balanced else " -> not at its choice"))
        if self.consistent is not None:
            fits = [name for name, (ok, _) in self.consistent.items() if ok]
            lines.append("consistent with: " + ", ".join(fits))
        lines += [f"warning: {w}" for w in self.warnings]
        return lines

    def __repr__(self) -> str:
        lines = ["Gauge audit of a dot-product model (scores P Q^T)"] + ["  " + s for s in self._header()]
        for side in self.sides.values():
            kind = "exact, all rows" if side.exact else f"{len(side.queries)} sampled of {side.n_rows:,}"
            lines.append(f"{side.side} ({kind}): {side.verdict.upper()}")
            lines += [f"  {key}: {_fmt(value)}" for key, value in side.summary_numbers().items()]
            lines.append(f"  verdict: {side.explanation}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        """Markdown tables: they reflow on a narrow screen, where fixed-width text wraps."""
        def cell(text):
            return str(text).replace("|", "\\|")

        out = ["**Gauge audit of a dot-product model** (scores P Qᵀ)", ""]
        out += [f"- {cell(s)}" for s in self._header()]
        sides = list(self.sides.values())
        keys = list(dict.fromkeys(k for side in sides for k in side.summary_numbers()))
        out += ["", "| | " + " | ".join(cell(s.side) for s in sides) + " |",
                "|---|" + "---|" * len(sides),
                "| verdict | " + " | ".join(f"**{cell(s.verdict)}**" for s in sides) + " |",
                "| rows | " + " | ".join(f"all {s.n_rows:,}" if s.exact else
                                        f"{len(s.queries)} of {s.n_rows:,}" for s in sides) + " |"]
        for key in keys:
            out.append(f"| {cell(key)} | " + " | ".join(cell(_fmt(s.summary_numbers().get(key, ""))) for s in sides)
                       + " |")
        out.append("")
        out += [f"*{cell(s.side)}*: {cell(s.explanation)}" + "\n" for s in sides]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        rows = "".join(f"<li>{html.escape(s)}</li>" for s in self._header())
        out = [f"<div><strong>Gauge audit of a dot-product model</strong><ul>{rows}</ul>"]
        for side in self.sides.values():
            cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>"
                            for k, v in side.summary_numbers().items())
            out.append(f"<p><strong>{html.escape(side.side)}: {html.escape(side.verdict)}</strong></p>"
                       f"<table>{cells}</table><p>{html.escape(side.explanation)}</p>")
        return "".join(out) + "</div>"

    def to_dict(self) -> dict:
        """Strict-JSON dictionary of every number in the result (``None`` with a reason, never NaN)."""
        b = self.balance
        out = {"objective": self.objective.to_dict(), "family": dict(self.family_range),
               "n_transforms": self.n_transforms, "score_error": self.score_error, "tol": self.tol,
               "rejected": list(self.rejected), "seed": self.seed, "warnings": list(self.warnings),
               "objective_choice": None if b is None else {
                   "imbalance": b.imbalance, "penalty": b.penalty, "best_penalty": b.balanced_penalty,
                   "saved_fraction": b.saved_fraction, "saved": b.saved, "at_choice": bool(b.balanced)},
               "consistent_with": None if self.consistent is None else
               {name: {"consistent": bool(ok), "check": why} for name, (ok, why) in self.consistent.items()},
               "sides": {}}
        if b is None:
            out["objective_choice_reason"] = "the declared objective picks no gauge" if self.objective.declared \
                else "no objective declared"
        for name, s in self.sides.items():
            out["sides"][name] = {
                "verdict": s.verdict, "sensitivity": s.sensitivity, "explanation": s.explanation,
                "n_rows": s.n_rows, "n_queries": len(s.queries), "exact": s.exact, "top": s.top,
                "transforms": [{"kind": k, "label": lab, "nn_changed": float(n), "jaccard": float(j),
                                "spearman": _finite(r)}
                               for k, lab, n, j, r in zip(s.kinds, s.labels, s.nn_changed, s.jaccard, s.spearman)],
                "pair": [int(i) for i in s.pair], "pair_cosine": [float(c) for c in s.pair_cosine],
                "cosine_spread_median": float(np.median(s.cosine_spread)),
                "recovery": None if s.recovery is None else [_finite(r) for r in s.recovery],
                "recovery_note": s.recovery_note,
            }
            if not np.any(np.isfinite(s.spearman)):
                out["sides"][name]["spearman_note"] = "undefined: every sampled row's cosines are constant"
        return out

    def figure(self):
        """Neighbour-overlap distribution and cosine spread (see :func:`~cosim_helpers.audit.figure.plot_audit`)."""
        from .figure import plot_audit

        return plot_audit(self)
