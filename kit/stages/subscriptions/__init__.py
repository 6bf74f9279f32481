"""Subscription and contract customers (DOMAIN.md section 6, issue 13): the health score,
the renewal pipeline and the template's demand tags.

The template names customer-success teams of SaaS and service companies among its users:
they assess the **health** of subscription customers to warn of churn early and raise the
**renewal** rate. Its step 1 lists the signals (activity in the last 6 months, usage depth,
response speed, NPS, complaints, payment) and a demand-tag family (新需求摸索型 /
产品优化型 / 续约维护型). The seeds give no formula; every weight, bound, band, window and
keyword is in ``cfg.subscriptions`` (``kit/core/defaults/subscriptions.yml``).

==========================  ==========================================  ===================
what                        function                                    notebook
==========================  ==========================================  ===================
health score, band          :func:`health_scores` -> :class:`HealthResult`  02_layering
renewal pipeline            :func:`renewal_pipeline`, :func:`renewal_headline`,  05_strategy
                            :func:`renewal_columns` (spine columns)
demand tags                 :func:`demand_tags`                         03_personas
==========================  ==========================================  ===================

Inputs: the spine ``customers.parquet`` and the optional clean tables ``subscriptions_clean``,
``usage_clean``, ``interactions_clean``, ``customers_master_clean`` (any may be None). The
rules and documented choices are in each module's docstring (:mod:`.health`,
:mod:`.renewal`, :mod:`.demand`). Computation only: frames, keys and
:class:`kit.core.notes.Note` (messages ``subscriptions.*`` in
``kit/present/messages/subscriptions.yml``); the tables and plots are in
:mod:`kit.present.subscriptions` and :mod:`kit.present.plots.subscriptions`.
"""
from __future__ import annotations

from kit.stages.subscriptions.common import (
    CONTRACT_COLUMNS,
    contract_customers,
    open_contracts,
    renewed_mask,
    with_columns,
)
from kit.stages.subscriptions.demand import BASES, DEMAND_COLUMNS, TAGS, demand_tags, keyword_matches, usage_trend
from kit.stages.subscriptions.health import (
    BANDS,
    COMPONENTS,
    DROP_REASONS,
    HealthResult,
    band_counts,
    component_values,
    health_bands,
    health_risk,
    health_scores,
    scale,
)
from kit.stages.subscriptions.renewal import (
    ACTION_SEP,
    PIPELINE_COLUMNS,
    RENEWAL_INPUTS,
    RenewalHeadline,
    renewal_actions,
    renewal_columns,
    renewal_headline,
    renewal_pipeline,
    window_of,
)

__all__ = [
    "ACTION_SEP", "BANDS", "BASES", "COMPONENTS", "CONTRACT_COLUMNS", "DEMAND_COLUMNS", "DROP_REASONS",
    "PIPELINE_COLUMNS", "RENEWAL_INPUTS", "TAGS", "HealthResult", "RenewalHeadline", "band_counts", "component_values",
    "contract_customers", "demand_tags", "health_bands", "health_risk", "health_scores", "keyword_matches", "open_contracts",
    "renewal_actions", "renewal_columns", "renewal_headline", "renewal_pipeline", "renewed_mask", "scale",
    "usage_trend", "window_of", "with_columns",
]
