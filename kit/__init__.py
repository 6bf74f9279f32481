"""Customer Value Kit: a periodic, quantified customer-value assessment.

The pipeline, in the order data flows (one module each):

``io`` read exports -> ``clean`` map, clean, quarantine, reconcile ->
``summary`` lifetimes-compatible customer summary -> ``features`` business features ->
``layering`` RFM, tiers, quadrant, churn risk, migration -> ``personas`` tags and clusters ->
``clv`` BG/NBD + Gamma-Gamma, holdout validation, CLV, ROI ->
``strategy`` playbook, activation, deliverables -> ``report`` offline HTML ->
``run`` papermill orchestration (``kit run``).
"""
__version__ = "0.1.0"

import warnings as _warnings

# lifetimes 0.11.3 sets a pandas option at import that pandas 3 deprecates; the option has
# no effect and the warning would show in every report that fits a model.
_warnings.filterwarnings(
    "ignore", message=r"The 'mode\.chained_assignment' option is deprecated", module=r"lifetimes(\.|$)"
)
