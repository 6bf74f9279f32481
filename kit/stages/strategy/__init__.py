"""Differentiated maintenance (DOMAIN.md section 5): playbook, follow-ups, activation.

Reads the spine (one row per customer: ``quadrant``, ``churn_risk``, ``clv`` ...) and the
clean interactions, and decides per customer what the account team does next:

* :func:`assign` -> the 05_strategy spine columns ``strategy, owner, cadence_days,
  last_contact, next_follow_up, follow_up_overdue, priority, actions_now``;
* :func:`activation_schedule` -> one row per new customer x activation touchpoint (guide
  3.1: 24 hours, day 3, day 7, day 30) with its due date and status;
* :func:`follow_up_plan` / :func:`workload` -> the follow-ups of the coming period, per
  owner and per month;
* :func:`coming_summary` -> what the index page says about the coming period (saved by
  notebook 05 as ``follow_up_summary.json``, so the plan is computed once);
* :func:`run_strategy` -> all of it in one call, with notes (:class:`kit.core.notes.Note`)
  on missing inputs.

Computation only: no language. Owners without an account manager are missing (shown as
``strategy.unassigned_owner``), ``actions_now`` and ``touchpoint`` hold keys; the tables,
labels and the plot of notebook 05 are in :mod:`kit.present.strategy` and
:mod:`kit.present.plots.strategy`. Modules: :mod:`.assign` (per customer),
:mod:`.activation` (touchpoints), :mod:`.plan` (the coming period).

Rules (every number is a config value, ``cfg.strategy``)
--------------------------------------------------------
Cadence arithmetic
    ``cadence_days`` is a count of calendar days, added with ``Timedelta``: month ends and
    leap days need no special case (2024-01-31 + 30 days = 2024-03-01, 2023-01-31 + 30
    days = 2023-03-02, 2024-02-29 + 90 days = 2024-05-29). The brief's "monthly" is the
    playbook's 30 days and "quarterly" 90 days, so follow-ups drift against calendar
    months; no calendar-month cadence is used (one would go through
    :func:`kit.core.periods.add_months`, which clamps to month ends).
Next follow-up
    ``next_follow_up = base + cadence_days``, where ``base`` is the last logged contact
    (an interaction of a type in ``contact_types``, on or before ``as_of``). A customer
    with no logged contact is counted from the last purchase (an order is a touch with
    the sales team), else the first purchase; one with neither is due the day after
    ``as_of``. A follow-up is overdue when its date is on or before ``as_of`` (the data
    cover ``as_of`` in full, so that day has passed without a contact).
Priority
    ``score = (1 - w) * value_rank + w * churn_score`` with ``w =
    cfg.strategy.priority_churn_weight``; ``value_rank`` is the customer's CLV
    percentile rank in (0, 1] (highest CLV = 1; missing CLV = 0) and ``churn_score`` is
    1 / 0.5 / 0 for high / medium / low churn risk (missing = 0). Priority 1 is the
    highest score; ties go to the higher CLV, then the smaller customer id. When CLV was
    not computed, the trailing-12-month amount takes its place (:func:`priority_basis`
    says which, and the notebook says so).
Activation touchpoints
    Due date = first order date + ``days_after_first_order`` (rounded up to whole days:
    "24 hours" is the next day). Touchpoints split the days after the first order into
    consecutive windows ``[first order, due_1]``, ``(due_1, due_2]``, ... (each end
    shifted by ``grace_days``, default 0); a touchpoint is **done** when an interaction
    whose type is one of its ``interaction_types`` is logged in its window, on or before
    ``as_of``. Because the windows do not overlap, one visit never ticks off two
    touchpoints (a day-1 visit is the first contact, not the day-30 value report).
    Not done: **overdue** when the window has ended on or before ``as_of``, else
    **upcoming**. Interactions without a type match any touchpoint.
Actions now
    The play's actions, preceded by those the customer's situation adds: an overdue
    follow-up, the retention programme (downgrade warning), a first call (high churn
    risk), a payment check (special flag ``overdue_payment``), an upgrade review (upgrade
    trigger) and the activation touchpoints (first order in the period). Stored as keys
    (``overdue_follow_up;...;play.star.1;...``); their texts are ``label.strategy_action.*``
    in the catalogue and the play's actions in the config.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kit.core.progress import step
from kit.core.notes import Note
from kit.core.periods import period_start as _period_start
from kit.stages.strategy.activation import (
    SCHEDULE_COLUMNS,
    STATUSES,
    activation_counts,
    activation_schedule,
)
from kit.stages.strategy.assign import (
    ACTION_SEP,
    ASSIGN_COLUMNS,
    CHURN_SCORES,
    CONTACT_TYPES,
    PLAY_ACTION,
    SITUATIONAL_ACTIONS,
    action_keys,
    assign,
    last_contacts,
    play_action_keys,
    priority,
    priority_basis,
)
from kit.stages.strategy.plan import (
    WORKLOAD_OVERDUE,
    WORKLOAD_TOTAL,
    coming_summary,
    follow_up_plan,
    next_period,
    workload,
)

__all__ = [
    "ACTION_SEP", "ASSIGN_COLUMNS", "CHURN_SCORES", "CONTACT_TYPES", "PLAY_ACTION", "SCHEDULE_COLUMNS",
    "SECTION", "SITUATIONAL_ACTIONS", "SPINE_INPUTS", "STATUSES", "WORKLOAD_OVERDUE", "WORKLOAD_TOTAL", "StrategyRun",
    "action_keys", "activation_counts", "activation_schedule", "assign", "coming_summary",
    "follow_up_plan", "input_notes", "last_contacts", "next_period", "play_action_keys", "priority",
    "priority_basis", "run_strategy", "workload",
]

#: Section of the notes of this stage.
SECTION = "05_strategy"
#: The spine's columns :func:`run_strategy` reads (the plays' keys, the owner from the master,
#: the priority's inputs, the activation's first purchase, the situational actions' signals);
#: 05_strategy reads these, what the renewal follow-up, the deliverables and the page use.
SPINE_INPUTS = ("quadrant", "churn_risk", "clv", "amount_12m", "account_manager", "first_purchase", "last_purchase",
                "persona_label", "special_flags", "upgrade_trigger", "downgrade_warning", "health_score")

_QUADRANTS = ("star", "cash_cow", "potential", "eliminate")


@dataclass
class StrategyRun:
    """Everything notebook 05 shows, computed once (see :func:`run_strategy`)."""

    spine: pd.DataFrame
    schedule: pd.DataFrame
    plan: pd.DataFrame
    workload: pd.DataFrame
    priority_basis: str | None
    period_start: pd.Timestamp
    next_start: pd.Timestamp
    next_end: pd.Timestamp
    coming: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    activation_notes: list[Note] = field(default_factory=list)


def input_notes(customers: pd.DataFrame, interactions: pd.DataFrame | None) -> list[Note]:
    """What the strategy stage could not use, as notes (codes ``strategy.note_*``)."""
    notes = []
    basis = priority_basis(customers)
    if basis != "clv":
        code = "strategy.note_no_clv_amount" if basis == "amount_12m" else "strategy.note_no_clv_churn"
        notes.append(Note(code, {}, "warning", SECTION))
    if "churn_risk" not in customers.columns:
        notes.append(Note("strategy.note_no_churn_risk", {}, "omitted", SECTION))
    if not any(c.startswith("tag_") for c in customers.columns) and "persona_label" not in customers.columns:
        notes.append(Note("strategy.note_no_personas", {}, "omitted", SECTION))
    if interactions is None or not len(interactions):
        notes.append(Note("strategy.note_no_interactions", {}, "omitted", SECTION))
    if "account_manager" not in customers.columns:
        notes.append(Note("strategy.note_no_account_manager", {}, "info", SECTION))
    n_none = int((~customers["quadrant"].isin(list(_QUADRANTS))).sum()) \
        if "quadrant" in customers.columns else len(customers)
    if n_none:
        notes.append(Note("strategy.note_no_quadrant", {"n": n_none}, "warning", SECTION))
    return notes


def run_strategy(
    customers: pd.DataFrame,
    interactions: pd.DataFrame | None,
    as_of: pd.Timestamp | str,
    cfg,
    *,
    grace_days: int | None = None,
    contact_types: Iterable[str] | None = None,
) -> StrategyRun:
    """:func:`assign`, :func:`activation_schedule`, :func:`follow_up_plan`,
    :func:`workload` and :func:`coming_summary` for the period ending at ``as_of``
    (``cfg.period``).

    Returns
    -------
    StrategyRun
        ``spine`` is ``customers`` with the :data:`ASSIGN_COLUMNS` replaced or added.
    """
    as_of = pd.Timestamp(as_of).normalize()
    grace_days = cfg.strategy.activation_grace_days if grace_days is None else grace_days
    contact_types = cfg.strategy.contact_types if contact_types is None else contact_types
    start = _period_start(as_of, cfg.period)
    with step("strategy", "plays, owners, follow-ups and priority", rows=len(customers)):
        assigned = assign(customers, interactions, as_of, cfg, period_start=start, contact_types=contact_types)
        spine = customers.drop(columns=[c for c in ASSIGN_COLUMNS if c in customers.columns])
        spine = spine.join(assigned)
    with step("strategy", "activation touchpoints and the coming period's plan", rows=len(spine)):
        schedule = activation_schedule(spine, interactions, start, as_of, cfg, grace_days=grace_days)
        plan = follow_up_plan(spine, as_of, cfg.period, activation=schedule)
    nstart, nend = next_period(as_of, cfg.period)
    activation_notes = [] if len(schedule) else [Note("strategy.note_no_new_customers", {}, "omitted", SECTION)]
    return StrategyRun(
        spine=spine, schedule=schedule, plan=plan,
        workload=workload(plan, as_of=as_of, period=cfg.period),
        priority_basis=assigned.attrs.get("priority_basis"), period_start=start,
        next_start=nstart, next_end=nend, coming=coming_summary(spine, plan, as_of, cfg.period),
        notes=input_notes(customers, interactions), activation_notes=activation_notes,
    )
