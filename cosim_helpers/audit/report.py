"""Typed results of the audit, the verdict rule and their text / HTML / JSON forms.

The verdict thresholds are ours (book chapter 9 explains them); the paper
(Sections 2.1-2.3) only says *that* cosines are arbitrary under objective 1
and unique under objective 2.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

from .balance import Balance

#: A side is "determined" when, over the whole family, at most this share of
#: queries changes its nearest neighbour and the mean top-k Jaccard overlap is
#: at least DETERMINED_JACCARD (our thresholds).
DETERMINED_NN = 0.05
DETERMINED_JACCARD = 0.9
#: An unbalanced side that is not determined is "fragile" when the median
#: transform changes at most FRAGILE_NN of the nearest neighbours and the mean
#: top-k Jaccard overlap is at least FRAGILE_JACCARD, else "arbitrary" (ours).
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
            if np.any(np.isfinite(self.spearman)) else float("nan"),
            f"cosine of pair {self.pair} (min..max)": (round(float(self.pair_cosine.min()), 3),
                                                       round(float(self.pair_cosine.max()), 3)),
            "cosine to nearest neighbour, range over family (median)":
                round(float(np.median(self.cosine_spread)), 3),
        }
        if self.recovery is not None:
            out["cluster recovery (min..max)"] = (round(float(np.nanmin(self.recovery)), 3),
                                                  round(float(np.nanmax(self.recovery)), 3))
        return out


def judge(side: SideAudit, bal: Balance) -> tuple[str, str]:
    """Verdict (``determined``, ``determined up to rotation``, ``fragile``, ``arbitrary``) and why."""
    nn, jac = float(np.max(side.nn_changed)), float(np.mean(side.jaccard))
    moved = (f"under score-preserving transforms up to {nn:.0%} of sampled {side.side} change their "
             f"nearest neighbour and the mean top-{side.top} overlap is {jac:.2f}")
    if nn <= DETERMINED_NN and jac >= DETERMINED_JACCARD:
        return "determined", f"cosine neighbours are determined: {moved}."
    if bal.balanced:
        why = (f"the factors are balanced (P^T P = Q^T Q up to {bal.saved_fraction:.1%} of the penalty), "
               "the gauge that weight decay lambda(|P|^2 + |Q|^2) selects; if the model was trained with "
               "it to convergence, the factors are fixed up to a rotation, which changes no cosine. "
               f"Without it: {moved}.")
        return "determined up to rotation", why
    why = (f"{moved}; no weight decay trained to convergence chose these factors (balancing saves "
           f"{bal.saved_fraction:.1%} of the penalty), so either the loss had no such penalty or "
           "training stopped before convergence.")
    if float(np.median(side.nn_changed)) <= FRAGILE_NN and jac >= FRAGILE_JACCARD:
        return "fragile", "cosine neighbours are fragile: " + why
    return "arbitrary", "cosine neighbours are arbitrary: " + why


def _fmt(value) -> str:
    if isinstance(value, tuple):
        return " .. ".join(_fmt(v) for v in value)
    return f"{value:.3f}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class AuditResult:
    """Result of :func:`cosim_helpers.audit.audit`: one :class:`SideAudit` per side and the balance.

    ``repr`` is a plain-text summary, ``_repr_html_`` a table for notebooks,
    :meth:`to_dict` the JSON form, :meth:`figure` the picture
    (:func:`cosim_helpers.audit.figure.plot_audit`).
    """

    sides: dict
    balance: Balance
    n_transforms: int
    score_error: float
    tol: float
    rejected: tuple = field(default=())
    seed: int | None = None

    def __getitem__(self, side: str) -> SideAudit:
        return self.sides[side]

    def _header(self) -> list[str]:
        b = self.balance
        # Round-off digits differ between machines: below 1e-10 only the bound is printed.
        err = "< 1e-10" if self.score_error < 1e-10 else f"{self.score_error:.1e}"
        lines = [(f"{self.n_transforms} score-preserving transforms; largest relative score change "
                  f"{err} (tolerance {self.tol:.0e})")]
        if self.rejected:
            lines.append(f"rejected (scores not kept): {', '.join(self.rejected)}")
        saved = "" if b.saved is None else f" (= {b.saved if b.saved_fraction >= 1e-9 else 0.0:.4g} at this lambda)"
        lines.append(f"balance: imbalance {b.imbalance:.3f}, weight-decay penalty saved by balancing "
                     f"{b.saved_fraction:.1%}{saved}" + (" -> balanced" if b.balanced else " -> not balanced"))
        return lines

    def __repr__(self) -> str:
        lines = ["Gauge audit of a dot-product model (scores P Q^T)"] + ["  " + s for s in self._header()]
        for side in self.sides.values():
            kind = "exact, all rows" if side.exact else f"{len(side.queries)} sampled of {side.n_rows:,}"
            lines.append(f"{side.side} ({kind}): {side.verdict.upper()}")
            lines += [f"  {key}: {_fmt(value)}" for key, value in side.summary_numbers().items()]
            lines.append(f"  verdict: {side.explanation}")
        return "\n".join(lines)

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
        """Plain JSON-serialisable dictionary of every number in the result."""
        b = self.balance
        out = {"n_transforms": self.n_transforms, "score_error": self.score_error, "tol": self.tol,
               "rejected": list(self.rejected), "seed": self.seed,
               "balance": {"imbalance": b.imbalance, "penalty": b.penalty, "balanced_penalty": b.balanced_penalty,
                           "saved_fraction": b.saved_fraction, "saved": b.saved, "balanced": bool(b.balanced)},
               "sides": {}}
        for name, s in self.sides.items():
            out["sides"][name] = {
                "verdict": s.verdict, "explanation": s.explanation, "n_rows": s.n_rows,
                "n_queries": len(s.queries), "exact": s.exact, "top": s.top,
                "transforms": [{"kind": k, "label": lab, "nn_changed": float(n), "jaccard": float(j),
                                "spearman": None if not np.isfinite(r) else float(r)}
                               for k, lab, n, j, r in zip(s.kinds, s.labels, s.nn_changed, s.jaccard, s.spearman)],
                "pair": [int(i) for i in s.pair], "pair_cosine": [float(c) for c in s.pair_cosine],
                "cosine_spread_median": float(np.median(s.cosine_spread)),
                "recovery": None if s.recovery is None else [float(r) for r in s.recovery],
            }
        return out

    def figure(self):
        """Neighbour-overlap distribution and cosine spread (see :func:`~cosim_helpers.audit.figure.plot_audit`)."""
        from .figure import plot_audit

        return plot_audit(self)
