"""Customer layering (客户分层): RFM, the Chinese 8-class model, value tiers, A/B/C,
the value x potential quadrant, the three-dimensional model, churn risk and the quarterly
dynamic adjustment (DOMAIN.md section 2; guide ch. 2.1 and 2.3, template steps 1-2).

:func:`layer` builds the spine ``customers.parquet`` (one row per customer, index
``customer_id``) from clean transactions, and optionally the customer master and the
interaction log. Every rule is also a function of its own, with the brief's defaults
taken from :class:`kit.core.config.Layering`:

==========================  ============================================================
rule                        function
==========================  ============================================================
RFM scores 1..5             :func:`quantile_scores`, :func:`rfm_scores`
named RFM segments          :func:`rfm_segments` (the config's rule table)
Chinese 8-class model       :func:`rfm8`
value tiers                 :func:`value_tiers`
A/B/C (guide's B2B case)    :func:`abc_classes`
value and potential scores  :func:`value_potential`, :func:`scale_0_100`
quadrant                    :func:`quadrants`
three-dimensional model     :func:`three_dimensional`
churn risk                  :func:`satisfaction_scores`, :func:`churn_risk`
complaint rate              :func:`complaint_rates`
tier migration              :func:`migration`, :func:`migration_counts`
upgrade trigger             :func:`upgrade_triggers`
downgrade warning           :func:`downgrade_warnings`
special flags               :func:`special_flags`
one class holds nearly all  :func:`concentration_notes` (a warning naming the config keys)
==========================  ============================================================

Documented choices (where the seeds stop)
-----------------------------------------
* **Scores from quantiles, ties equal.** A value's score comes from its mid-rank
  percentile ``p = (rank_average - 0.5) / n`` (the Hazen plotting position):
  ``score = floor(p * bins) + 1``. Equal values share one average rank, hence one score;
  distinct values fill the bins like quantiles; a single customer, or customers that are
  all identical, get the middle score (3 of 5). Recency is scored on days since the last
  purchase, fewest days best: **5 = most recent**.
* **RFM inputs.** R = days since the last purchase, F = number of orders, M = net amount;
  F and M over all history, or the last ``rfm.window_months`` when set.
* **8-class model.** R, F and M are *high* when strictly better than the mean (or median) of
  the raw values: F and M above it, R meaning **recent**: fewer days since the last purchase
  than the mean. A value equal to the threshold is low, so identical customers are all
  low (一般挽留).
* **0-100 scale.** ``percentile``: the mid-rank percentile x 100; ``minmax``: (x - min) /
  (max - min) x 100. A constant indicator scores 50 for everyone; a missing value scores
  the neutral 50.
* **Churn risk.** Months since the last purchase are days / 30.4375 (the mean month):
  high at >= ``churn.high_months`` (3 months = 91.3 days, so a purchase 92 days ago is
  high and 91 days ago medium), or when the mean satisfaction score of the last
  ``satisfaction_window_months`` is below ``satisfaction_high_risk`` (only customers with
  scored interactions); medium at >= ``medium_months`` and below ``high_months`` (the
  template's "1-2 months" with the gap up to 3 months closed); low otherwise.
* **Complaint rate** = complaints logged in the trailing 12 months / orders in them (at
  least 1); the base average is the pooled rate of all customers (total complaints /
  total orders). Per order, not per interaction, so that customers who log in often do not
  look better.
* **Upgrade** applies to core customers (value tier ``medium``, the guide's 中坚客户):
  quarterly amount growth >= ``upgrade_growth`` in each of the last ``upgrade_quarters``
  quarter-on-quarter steps (q3 -> q2 and q2 -> q1 by default; a quarter with no purchase
  cannot grow, exactly 20 % counts), or a category bought in the last quarter for the first
  time by a customer that had bought before it.
* **Downgrade warning** applies to high-value customers: no purchase for
  ``downgrade_inactive_months`` (>=, in mean months) or a complaint rate above
  ``complaint_rate_factor`` x the base average (strictly).
* **Tier migration.** The previous layering is recomputed from the log as of the end of
  the previous period (so a first run has a comparison too; the master is used as it is
  now). ``tier_change``: ``new`` = no purchase up to the previous period end; ``lost`` =
  active at the previous period end (an order in the tier window, 12 months) and none in
  the tier window now; otherwise ``up`` / ``down`` / ``same`` by tier
  (a customer dormant at both ends stays ``same``, low -> low).

Settings the config does not (yet) hold are keyword arguments with documented defaults,
read from ``cfg.layering.three_d`` / ``cfg.layering.dynamic`` when those exist.

Modules: :mod:`.rfm`, :mod:`.tiers`, :mod:`.quadrant`, :mod:`.dimensions`, :mod:`.churn`,
:mod:`.dynamic` (triggers, warnings, flags, migration and :func:`migration_counts`) and
:mod:`.spine` (:func:`layer`). The stage computes only: what the reader must know comes
back as :class:`kit.core.notes.Note` (messages ``layering.*`` in
``kit/present/messages/layering.yml``); tables and plots are in
:mod:`kit.present.layering` and :mod:`kit.present.plots.layering`.
"""
from __future__ import annotations

from kit.stages.layering.churn import churn_risk, complaint_rates, satisfaction_scores
from kit.stages.layering.common import (
    DEFAULT_DEMAND_KEYWORDS,
    DEFAULT_GROWTH_STAGES,
    DEFAULT_OVERDUE_STATUSES,
    DEFAULT_ROLE_DEMAND,
    MASTER_ATTRIBUTES,
    NO_PLAN_WORDS,
    QUADRANTS,
    RFM8_CLASSES,
    RFM8_MAP,
    SECTION,
    TIER_RANK,
    TIERS,
)
from kit.stages.layering.concentration import RULE_KEYS, concentration_notes
from kit.stages.layering.dimensions import three_dimensional
from kit.stages.layering.dynamic import (
    MIGRATION_KINDS,
    downgrade_warnings,
    migration,
    migration_counts,
    overdue_customers,
    special_flags,
    upgrade_triggers,
)
from kit.stages.layering.quadrant import PART_KEYS, quadrants, scale_0_100, value_potential, weight_items
from kit.stages.layering.queries import TRANSACTION_COLUMNS
from kit.stages.layering.rfm import quantile_scores, rf_matrix, rfm8, rfm_scores, rfm_segments
from kit.stages.layering.spine import SPINE_ORDER, layer, notes
from kit.stages.layering.tiers import abc_classes, expanding, value_tiers

__all__ = [
    "DEFAULT_DEMAND_KEYWORDS", "DEFAULT_GROWTH_STAGES", "DEFAULT_OVERDUE_STATUSES", "DEFAULT_ROLE_DEMAND",
    "MASTER_ATTRIBUTES", "MIGRATION_KINDS", "NO_PLAN_WORDS", "PART_KEYS", "QUADRANTS", "RFM8_CLASSES",
    "RFM8_MAP", "RULE_KEYS", "SECTION", "SPINE_ORDER", "TIER_RANK", "TIERS", "TRANSACTION_COLUMNS",
    "abc_classes", "churn_risk", "complaint_rates", "concentration_notes", "downgrade_warnings", "expanding", "layer",
    "migration", "migration_counts", "notes", "overdue_customers", "quadrants", "quantile_scores",
    "rf_matrix", "rfm8", "rfm_scores", "rfm_segments", "satisfaction_scores", "scale_0_100",
    "special_flags", "three_dimensional", "upgrade_triggers", "value_potential", "value_tiers",
    "weight_items",
]
