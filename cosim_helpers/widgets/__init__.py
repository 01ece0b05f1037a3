"""Interactive explorers (ipywidgets) and their static twins for the HTML book.

The paper's point is best felt by moving a control: rescale the embeddings of
an objective-1 optimum with a diagonal ``D`` and watch the loss stay exactly
the same while the item-item cosine heat map falls apart (paper §2.1; its Figure 1 in §4).
Three explorers, one module each:

* :class:`DExplorer` (:mod:`.d_explorer`, book chapters 4 and 7): ``D =
  dMat(σ_i^α)`` times optional per-dimension factors, applied to the
  symmetric objective-1 optimum (paper Eq. 5) as ``(ÂD, B̂D⁻¹)``.
* :class:`LambdaExplorer` (:mod:`.lambda_explorer`, chapter 5): how
  objective 2 soft-thresholds the singular values and how its unique cosine
  matrix changes with ``λ``, next to objective 1's shrinkage.
* :class:`RemediesExplorer` (:mod:`.remedies_explorer`, chapter 6): switch
  between precomputed item-item similarity matrices
  (:func:`cosim_helpers.remedies.remedy_similarities` builds the default set).

Presentation only: every number an explorer shows comes from
:mod:`~cosim_helpers.models`, :mod:`~cosim_helpers.similarity` and
:mod:`~cosim_helpers.metrics`. :mod:`.base` holds what the three share
(figure, rendering, widget, display, static twin), :mod:`.encoding` how a
figure becomes JPEG (live widget) or self-contained palette-PNG HTML (twins).

Design: each explorer is a plain class whose ``compute`` method is a pure
function of the data and the control values and returns a state named tuple;
``set_alpha``, ``set_lam``, ``select``, ``reset`` ... make a state current and
return it. All of it is testable without a front end. The ipywidgets user
interface (``widget()``) is a thin layer on top; it keeps ONE matplotlib
figure, updates its artists in place and re-renders only the artists that
change (Agg blitting), so that one control change costs a few tens of
milliseconds at the paper's scale (``benchmarks/bench_widgets.py``).

Without a live kernel (nbval, the book build) ``show()`` displays the
widget (which a static page cannot run) and a static figure of the default
state; ``static_twin()`` returns a self-contained HTML slider over
precomputed states (matplotlib's ``to_jshtml``: embedded PNG frames with a
256-colour palette, no server, no third-party file), with deterministic
element ids.
"""

from ..images import block_average
from ..models import loss_objective1_gram
from ..remedies import remedy_similarities
from .base import LOSS_DIGITS, SCORE_DIGITS, TWIN_DPI, TWIN_IMAGE_SIZE, WIDGET_IMAGE_SIZE
from .d_explorer import DExplorer, DState
from .encoding import stable_jshtml_ids
from .lambda_explorer import LambdaExplorer, LambdaState
from .remedies_explorer import RemediesExplorer, RemedyState

__all__ = [
    "LOSS_DIGITS",
    "SCORE_DIGITS",
    "TWIN_DPI",
    "TWIN_IMAGE_SIZE",
    "WIDGET_IMAGE_SIZE",
    "DExplorer",
    "DState",
    "LambdaExplorer",
    "LambdaState",
    "RemediesExplorer",
    "RemedyState",
    "block_average",  # moved to cosim_helpers.images; kept here for old imports
    "loss_objective1_gram",  # moved to cosim_helpers.models; kept here for old imports
    "remedy_similarities",  # moved to cosim_helpers.remedies; kept here for old imports
    "stable_jshtml_ids",
]
