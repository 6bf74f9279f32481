"""Differentiated maintenance (DOMAIN.md section 5): playbook, follow-ups, activation.

Reads the spine (one row per customer: ``quadrant``, ``churn_risk``, ``clv`` ...) and the
clean interactions, and decides per customer what the account team does next:

* :func:`assign` -> the 05_strategy spine columns ``strategy, owner, cadence_days,
  last_contact, next_follow_up, follow_up_overdue, priority, actions_now``;
* :func:`activation_schedule` -> one row per new customer x activation touchpoint (guide
  3.1: 24 hours, day 3, day 7, day 30) with its due date and status;
* :func:`follow_up_plan` / :func:`workload` -> the follow-ups of the coming period, per
  owner and per month;
* :func:`run_strategy` -> all of it in one call, with notes on missing inputs;
* display helpers for notebook 05 (:func:`playbook_table`, :func:`follow_up_list`,
  :func:`activation_table`, :func:`plot_workload`).

Rules (every number is a config value, ``cfg.strategy``)
--------------------------------------------------------
Cadence arithmetic
    ``cadence_days`` is a count of calendar days, added with ``Timedelta``: month ends and
    leap days need no special case (2024-01-31 + 30 days = 2024-03-01, 2023-01-31 + 30
    days = 2023-03-02, 2024-02-29 + 90 days = 2024-05-29). The brief's "monthly" is the
    playbook's 30 days and "quarterly" 90 days, so follow-ups drift against calendar
    months; no calendar-month cadence is used (one would go through
    :func:`kit.periods.add_months`, which clamps to month ends).
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
    trigger) and the activation touchpoints (first order in the period). Texts are in
    :mod:`kit.labels` (``strategy_action``).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kit.core.checks import validate_cols as _validate_cols
from kit.present import privacy
from kit.publish.deliverables import display_frame, header
from kit.present.labels import label
from kit.core.periods import period_end
from kit.core.config import Strategy as _StrategyDefaults

#: Interaction types that count as a contact by the account team (``login`` does not).
CONTACT_TYPES: tuple[str, ...] = tuple(_StrategyDefaults().contact_types)

#: Churn risk -> urgency score of the priority formula.
CHURN_SCORES: dict[str, float] = dict(_StrategyDefaults().churn_scores)

#: Spine columns :func:`assign` returns (docs/CONTRACTS.md, 05_strategy).
ASSIGN_COLUMNS = [
    "strategy", "owner", "cadence_days", "last_contact", "next_follow_up",
    "follow_up_overdue", "priority", "actions_now",
]

SCHEDULE_COLUMNS = [
    "customer_id", "owner", "first_purchase", "touchpoint", "touchpoint_label",
    "due_date", "done_date", "status",
]

#: Order of the situational actions in ``actions_now`` (before the playbook's actions).
SITUATIONAL_ACTIONS = ("overdue_follow_up", "retention", "churn_high", "risk_customer",
                       "upgrade_review", "activation")

_ONE_DAY = pd.Timedelta(days=1)


# --------------------------------------------------------------------------------------
# Input checks and small helpers
# --------------------------------------------------------------------------------------


def _date_col(df: pd.DataFrame, col: str) -> pd.Series:
    """``df[col]`` as normalised datetimes (NaT when the column is absent)."""
    if col not in df.columns:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    return pd.to_datetime(df[col]).dt.normalize()


def _flag(df: pd.DataFrame, col: str) -> pd.Series:
    """A boolean column, False where absent or missing."""
    if col not in df.columns:
        return pd.Series(False, index=df.index)
    return df[col].astype("boolean").fillna(False).astype(bool)


def _flags_text(df: pd.DataFrame) -> pd.Series:
    """``special_flags`` as lower-case text (lists joined), '' where absent."""
    if "special_flags" not in df.columns:
        return pd.Series("", index=df.index, dtype="str")
    s = df["special_flags"]
    if s.dtype == object:  # lists read back from parquet
        s = s.map(lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else v)
    return s.astype("str").fillna("").str.lower()


def _typed(interactions: pd.DataFrame | None) -> pd.DataFrame:
    """Interactions with ``customer_id, date`` (normalised) and ``type`` (NA when absent)."""
    if interactions is None or not len(interactions):
        return pd.DataFrame({"customer_id": pd.Series([], dtype="str"),
                             "date": pd.Series([], dtype="datetime64[ns]"),
                             "type": pd.Series([], dtype="str")})
    _validate_cols(interactions, ["customer_id", "date"], "interactions")
    return pd.DataFrame({
        "customer_id": interactions["customer_id"].astype("str"),
        "date": pd.to_datetime(interactions["date"]).dt.normalize(),
        "type": interactions["type"].astype("str") if "type" in interactions.columns
        else pd.Series(pd.NA, index=interactions.index, dtype="str"),
    }).dropna(subset=["customer_id", "date"])


# --------------------------------------------------------------------------------------
# Per customer: strategy, owner, follow-up, priority, actions
# --------------------------------------------------------------------------------------


def last_contacts(
    interactions: pd.DataFrame | None,
    index: pd.Index,
    as_of: pd.Timestamp,
    contact_types: Iterable[str] | None = CONTACT_TYPES,
) -> pd.Series:
    """Date of the last logged contact per customer, on or before ``as_of``.

    Parameters
    ----------
    interactions : DataFrame or None
        Clean interactions ``customer_id, date [, type]``.
    index : Index
        Customer ids of the result.
    as_of : Timestamp
        Last day of the period (inclusive).
    contact_types : iterable of str or None
        Types that are a contact by the team; None: every type. Interactions without a
        type count.

    Returns
    -------
    Series
        ``datetime64``, indexed like ``index``; NaT for customers never contacted.
    """
    ix = _typed(interactions)
    ix = ix[ix["date"] <= pd.Timestamp(as_of).normalize()]
    if contact_types is not None:
        ix = ix[ix["type"].isin(list(contact_types)) | ix["type"].isna()]
    last = ix.groupby("customer_id")["date"].max()
    out = last.reindex(index)
    return pd.to_datetime(out).rename("last_contact")


def priority_basis(customers: pd.DataFrame) -> str | None:
    """The value column priority ranks on: ``clv`` when computed, else ``amount_12m``.

    Returns None when neither holds a value (priority then follows churn risk alone).
    """
    for col in ("clv", "amount_12m"):
        if col in customers.columns and customers[col].notna().any():
            return col
    return None


def priority(customers: pd.DataFrame, churn_weight: float,
             churn_scores: dict[str, float] | None = None) -> pd.Series:
    """Order of the team's list: 1 = first.

    ``score = (1 - churn_weight) * value_rank + churn_weight * churn_score`` (see the
    module docstring); ties go to the higher value, then the smaller customer id.

    Parameters
    ----------
    customers : DataFrame
        Index ``customer_id``; ``churn_risk`` and ``clv`` or ``amount_12m`` when present.
    churn_weight : float
        ``cfg.strategy.priority_churn_weight`` in [0, 1].

    Returns
    -------
    Series
        int64, 1..n, indexed like ``customers``.
    """
    if not 0 <= churn_weight <= 1:
        raise ValueError(f"churn_weight must be in [0, 1] (got {churn_weight})")
    basis = priority_basis(customers)
    if basis is None:
        value = pd.Series(np.nan, index=customers.index)
    else:
        value = pd.to_numeric(customers[basis], errors="coerce").astype(float)
    value_rank = value.rank(pct=True, method="average").fillna(0.0)
    churn = (customers["churn_risk"].astype("str").map(churn_scores or CHURN_SCORES).astype(float).fillna(0.0)
             if "churn_risk" in customers.columns else pd.Series(0.0, index=customers.index))
    score = (1 - churn_weight) * value_rank + churn_weight * churn
    keys = pd.DataFrame({
        "score": -score.to_numpy(),
        "value": -value.fillna(-np.inf).to_numpy(),
        "id": customers.index.astype("str").to_numpy(),
    })
    order = keys.sort_values(["score", "value", "id"], kind="mergesort").index.to_numpy()
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return pd.Series(ranks, index=customers.index, name="priority")


def _actions_now(
    customers: pd.DataFrame,
    strategy: pd.Series,
    overdue: pd.Series,
    cfg,
    lang: str,
    period_start: pd.Timestamp | None,
    risk_flags: Iterable[str] = ("overdue_payment",),
) -> pd.Series:
    """Situational actions first, then the playbook's actions; joined by ``; ``."""
    flags = _flags_text(customers)
    first = _date_col(customers, "first_purchase")
    applies = {
        "overdue_follow_up": overdue,
        "retention": _flag(customers, "downgrade_warning"),
        "churn_high": (customers["churn_risk"].astype("str") == "high").fillna(False)
        if "churn_risk" in customers.columns else pd.Series(False, index=customers.index),
        "risk_customer": flags.str.contains(
            r"(?:^|;)\s*(?:" + "|".join(map(re.escape, risk_flags)) + r")\s*(?:;|$)", regex=True),
        "upgrade_review": _flag(customers, "upgrade_trigger"),
        "activation": (first >= period_start).fillna(False) if period_start is not None
        else pd.Series(False, index=customers.index),
    }
    text = pd.Series("", index=customers.index, dtype="str")
    for key in SITUATIONAL_ACTIONS:
        text = text.where(~applies[key].astype(bool), text + label("strategy_action", key, lang) + "; ")
    play = {k: "; ".join(a(lang) for a in p.actions) for k, p in cfg.strategy.playbook.items()}
    standard = strategy.map(play).astype("str").fillna("")
    return (text + standard).str.replace(r"(; )+$", "", regex=True).rename("actions_now")


def assign(
    customers: pd.DataFrame,
    interactions: pd.DataFrame | None,
    as_of: pd.Timestamp | str,
    cfg,
    lang: str,
    *,
    period_start: pd.Timestamp | str | None = None,
    contact_types: Iterable[str] | None = CONTACT_TYPES,
) -> pd.DataFrame:
    """Strategy, owner, follow-up date, priority and current actions per customer.

    Parameters
    ----------
    customers : DataFrame
        The spine, index ``customer_id``. Required: ``quadrant``. Used when present:
        ``account_manager, first_purchase, last_purchase, churn_risk, clv, amount_12m,
        downgrade_warning, upgrade_trigger, special_flags``.
    interactions : DataFrame or None
        Clean interactions ``customer_id, date [, type]``; None when not configured.
    as_of : date-like
        Last day of the period.
    cfg : KitConfig
        ``cfg.strategy``: playbook (cadence per quadrant), unassigned owner label,
        priority churn weight.
    lang : {"zh", "en"}
        Language of ``owner`` (for unassigned customers) and ``actions_now``.
    period_start : date-like, optional
        First day of the period: customers whose first order is on or after it get the
        activation action. None: no activation action.
    contact_types : iterable of str or None
        Interaction types that count as a contact (:data:`CONTACT_TYPES`).

    Returns
    -------
    DataFrame
        Index ``customer_id`` as in ``customers``, columns :data:`ASSIGN_COLUMNS`:
        ``strategy`` (quadrant key of the play, NA without a quadrant; label with
        :func:`strategy_label`), ``owner`` (account manager, else the unassigned label),
        ``cadence_days`` (Int64), ``last_contact``, ``next_follow_up`` (datetime64),
        ``follow_up_overdue`` (bool), ``priority`` (int64, 1 first), ``actions_now``
        (str, ``; ``-joined, report language). ``attrs["priority_basis"]`` names the
        value column priority ranks on (``clv``, ``amount_12m`` or None).
    """
    _validate_cols(customers, ["quadrant"], "customers")
    if not customers.index.is_unique:
        raise ValueError("customers must be indexed by a unique customer_id")
    as_of = pd.Timestamp(as_of).normalize()
    play = cfg.strategy.playbook
    idx = customers.index

    strategy = customers["quadrant"].astype("str").where(customers["quadrant"].isin(list(play)))
    cadence = strategy.map({k: p.cadence_days for k, p in play.items()}).astype("Int64")

    unassigned = cfg.strategy.unassigned_owner(lang)
    if "account_manager" in customers.columns:
        owner = customers["account_manager"].astype("str").str.strip()
        owner = owner.where(owner.fillna("") != "", unassigned).fillna(unassigned)
    else:
        owner = pd.Series(unassigned, index=idx, dtype="str")

    last_contact = last_contacts(interactions, idx, as_of, contact_types)
    base = last_contact.fillna(_date_col(customers, "last_purchase")).fillna(
        _date_col(customers, "first_purchase"))
    next_fu = base + pd.to_timedelta(cadence.astype(float), unit="D")
    next_fu = next_fu.where(base.notna() | cadence.isna(), as_of + _ONE_DAY)
    overdue = (next_fu <= as_of).fillna(False).astype(bool)

    start = pd.Timestamp(period_start).normalize() if period_start is not None else None
    out = pd.DataFrame({
        "strategy": strategy.rename("strategy"),
        "owner": owner.astype("str"),
        "cadence_days": cadence,
        "last_contact": last_contact,
        "next_follow_up": next_fu,
        "follow_up_overdue": overdue,
        "priority": priority(customers, cfg.strategy.priority_churn_weight, cfg.strategy.churn_scores),
        "actions_now": _actions_now(customers, strategy, overdue, cfg, lang, start,
                                    risk_flags=cfg.strategy.risk_flags),
    }, index=idx)
    out.attrs["priority_basis"] = priority_basis(customers)
    return out


def strategy_label(key: object, cfg, lang: str) -> str:
    """``明星客户：深化战略合作，提升LTV`` / ``Star: deepen the strategic partnership ...``."""
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return "–"
    play = cfg.strategy.playbook.get(str(key))
    name = label("quadrant", key, lang)
    if play is None:
        return name
    return f"{name}：{play.goal(lang)}" if lang == "zh" else f"{name}: {play.goal(lang)}"


# --------------------------------------------------------------------------------------
# New-customer activation (guide 3.1)
# --------------------------------------------------------------------------------------


def _touchpoint_windows(cfg, grace_days: int) -> pd.DataFrame:
    """Touchpoints sorted by day, with due offset and the window ``[lo, hi]`` in days."""
    tps = sorted(cfg.strategy.touchpoints, key=lambda t: t.days_after_first_order)
    due = [int(math.ceil(t.days_after_first_order)) for t in tps]
    lo: list[int] = []
    for i, d in enumerate(due):
        if d == due[0]:
            lo.append(0)  # the earliest touchpoint(s) open on the first order date
        elif d == due[i - 1]:
            lo.append(lo[-1])  # same day as the previous one: same window
        else:
            lo.append(due[i - 1] + grace_days + 1)  # opens after the previous window
    return pd.DataFrame({
        "touchpoint": [t.key for t in tps],
        "order": range(len(tps)),
        "due": due,
        "lo": lo,
        "hi": [d + grace_days for d in due],
    })


def activation_schedule(
    customers: pd.DataFrame,
    interactions: pd.DataFrame | None,
    period_start: pd.Timestamp | str,
    as_of: pd.Timestamp | str,
    cfg,
    lang: str = "zh",
    *,
    grace_days: int = 0,
) -> pd.DataFrame:
    """Activation touchpoints of the customers whose first order falls in the period.

    Parameters
    ----------
    customers : DataFrame
        The spine, index ``customer_id``, with ``first_purchase``; ``owner`` (after
        :func:`assign`) or ``account_manager`` is carried along when present.
    interactions : DataFrame or None
        Clean interactions ``customer_id, date [, type]``.
    period_start, as_of : date-like
        First and last day of the period (inclusive).
    cfg : KitConfig
        ``cfg.strategy.touchpoints``: key, label, days after the first order, the
        interaction types that mark it done.
    lang : {"zh", "en"}
        Language of ``touchpoint_label``.
    grace_days : int
        Days after a due date that still count as on time (module docstring).

    Returns
    -------
    DataFrame
        One row per new customer x touchpoint, columns :data:`SCHEDULE_COLUMNS`
        (``owner`` only when known): ``due_date``, ``done_date`` (first matching
        interaction in the window, NaT if none), ``status`` (``done``, ``overdue``,
        ``upcoming``). Sorted by first order date, customer id and touchpoint day.
    """
    _validate_cols(customers, ["first_purchase"], "customers")
    if grace_days < 0:
        raise ValueError(f"grace_days must be >= 0 (got {grace_days})")
    start, end = pd.Timestamp(period_start).normalize(), pd.Timestamp(as_of).normalize()
    first = _date_col(customers, "first_purchase")
    new = first[(first >= start) & (first <= end)].rename("first_purchase")
    windows = _touchpoint_windows(cfg, grace_days)
    labels = {t.key: t.label(lang) for t in cfg.strategy.touchpoints}
    types = pd.DataFrame(
        [(t.key, ty) for t in cfg.strategy.touchpoints for ty in t.interaction_types],
        columns=["touchpoint", "type"],
    )
    sched = (new.rename_axis("customer_id").reset_index()
             .merge(windows, how="cross"))
    sched["customer_id"] = sched["customer_id"].astype("str")
    sched["due_date"] = sched["first_purchase"] + pd.to_timedelta(sched["due"], unit="D")
    window_end = sched["first_purchase"] + pd.to_timedelta(sched["hi"], unit="D")

    ix = _typed(interactions)
    ix = ix[(ix["date"] <= end) & ix["customer_id"].isin(sched["customer_id"])]
    typed = ix[ix["type"].notna()].merge(types, on="type")
    untyped = ix[ix["type"].isna()].merge(windows[["touchpoint"]], how="cross")
    hits = pd.concat([typed, untyped], ignore_index=True)[["customer_id", "touchpoint", "date"]]
    hits = hits.merge(sched[["customer_id", "touchpoint", "first_purchase", "lo", "hi"]],
                      on=["customer_id", "touchpoint"])
    offset = (hits["date"] - hits["first_purchase"]).dt.days
    hits = hits[(offset >= hits["lo"]) & (offset <= hits["hi"])]
    done = hits.groupby(["customer_id", "touchpoint"], as_index=False)["date"].min()
    sched = sched.merge(done.rename(columns={"date": "done_date"}), on=["customer_id", "touchpoint"],
                        how="left")
    sched["done_date"] = pd.to_datetime(sched["done_date"])
    status = np.where(sched["done_date"].notna(), "done",
                      np.where(window_end <= end, "overdue", "upcoming"))
    sched["status"] = pd.Series(status, index=sched.index, dtype="str")
    sched["touchpoint_label"] = sched["touchpoint"].map(labels).astype("str")
    owner_col = next((c for c in ("owner", "account_manager") if c in customers.columns), None)
    if owner_col is not None:
        sched["owner"] = sched["customer_id"].map(customers[owner_col].astype("str")).astype("str")
    sched = sched.sort_values(["first_purchase", "customer_id", "order"], kind="mergesort")
    cols = [c for c in SCHEDULE_COLUMNS if c in sched.columns]
    return sched[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# The coming period: follow-up plan and workload
# --------------------------------------------------------------------------------------


def next_period(as_of: pd.Timestamp | str, period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the period after the one ending at ``as_of``."""
    start = pd.Timestamp(as_of).normalize() + _ONE_DAY
    return start, period_end(start, period)


def follow_up_plan(
    customers: pd.DataFrame,
    as_of: pd.Timestamp | str,
    period: str,
    activation: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every follow-up due in the coming period, one row each.

    A customer's first follow-up is its ``next_follow_up``; an overdue one is moved to
    the first day of the coming period (kind ``overdue``). Later ones repeat every
    ``cadence_days`` until the period ends. Activation touchpoints still to do whose due
    date falls in the coming period are added (kind ``activation``).

    Parameters
    ----------
    customers : DataFrame
        Spine with the :func:`assign` columns.
    as_of : date-like
        Last day of the current period.
    period : {"month", "quarter"}
        ``cfg.period``.
    activation : DataFrame, optional
        Output of :func:`activation_schedule`.

    Returns
    -------
    DataFrame
        ``customer_id, owner, date, month`` (``YYYY-MM``), ``kind`` (``follow_up``,
        ``overdue``, ``activation``), sorted by date, then customer id.
    """
    _validate_cols(customers, ["owner", "cadence_days", "next_follow_up", "follow_up_overdue"], "customers")
    start, end = next_period(as_of, period)
    c = customers[customers["next_follow_up"].notna() & customers["cadence_days"].notna()]
    first = pd.to_datetime(c["next_follow_up"]).clip(lower=start)
    c, first = c[first <= end], first[first <= end]
    cadence = c["cadence_days"].astype("int64").to_numpy()
    n = ((end - first).dt.days.to_numpy() // cadence) + 1
    pos = np.repeat(np.arange(len(c)), n)
    k = np.arange(len(pos)) - np.repeat(np.cumsum(n) - n, n)
    dates = first.to_numpy()[pos] + (k * cadence[pos]).astype("timedelta64[D]")
    overdue = c["follow_up_overdue"].to_numpy(dtype=bool)[pos] & (k == 0)
    plan = pd.DataFrame({
        "customer_id": c.index.astype("str").to_numpy()[pos],
        "owner": c["owner"].astype("str").to_numpy()[pos],
        "date": pd.to_datetime(dates),
        "kind": np.where(overdue, "overdue", "follow_up"),
    })
    if activation is not None and len(activation):
        a = activation[(activation["status"] != "done") & (activation["due_date"] >= start)
                       & (activation["due_date"] <= end)]
        owners = (a["owner"] if "owner" in a.columns
                  else a["customer_id"].map(customers["owner"].astype("str")))
        plan = pd.concat([plan, pd.DataFrame({
            "customer_id": a["customer_id"].astype("str").to_numpy(),
            "owner": owners.astype("str").to_numpy(),
            "date": pd.to_datetime(a["due_date"]).to_numpy(),
            "kind": "activation",
        })], ignore_index=True)
    plan["kind"] = plan["kind"].astype("str")
    plan["month"] = plan["date"].dt.strftime("%Y-%m").astype("str")
    plan = plan.sort_values(["date", "customer_id"], kind="mergesort").reset_index(drop=True)
    return plan[["customer_id", "owner", "date", "month", "kind"]]


def workload(plan: pd.DataFrame, lang: str, *, as_of=None, period: str | None = None) -> pd.DataFrame:
    """Follow-ups per owner (rows) and month (columns) of the coming period.

    Parameters
    ----------
    plan : DataFrame
        Output of :func:`follow_up_plan`.
    lang : {"zh", "en"}
        Language of the total and overdue headers.
    as_of, period : optional
        When given, every month of the coming period gets a column, even an empty one.

    Returns
    -------
    DataFrame
        Index: owner (most work first), then a total row; columns: ``YYYY-MM`` months,
        the total and, of it, the overdue follow-ups moved to the period's first day.
    """
    total, of_overdue, total_row = (("合计", "其中逾期", "合计") if lang == "zh"
                                    else ("Total", "of which overdue", "Total"))
    months = sorted(plan["month"].unique()) if len(plan) else []
    if as_of is not None and period is not None:
        start, end = next_period(as_of, period)
        months = [str(p) for p in pd.period_range(start, end, freq="M")]
    table = pd.crosstab(plan["owner"], plan["month"]).reindex(columns=months, fill_value=0)
    table[total] = table.sum(axis=1)
    table[of_overdue] = (plan["kind"] == "overdue").groupby(plan["owner"]).sum().reindex(table.index).fillna(0)
    table = table.astype("int64")
    table = table.sort_values(total, ascending=False, kind="mergesort")
    table.loc[total_row] = table.sum(axis=0)
    table.index.name = header("owner", lang)
    table.columns.name = None
    return table


# --------------------------------------------------------------------------------------
# Display (notebook 05)
# --------------------------------------------------------------------------------------


def playbook_table(cfg, lang: str, customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The playbook (DOMAIN.md section 5) as configured, one row per quadrant.

    With ``customers`` (spine with ``strategy`` or ``quadrant``), adds the number of
    customers on each play and its yearly cost (customers x cost per customer).
    """
    rows = []
    counts = None
    if customers is not None:
        key = customers["strategy"] if "strategy" in customers.columns else customers["quadrant"]
        counts = key.value_counts()
    for k, p in cfg.strategy.playbook.items():
        row = {
            header("quadrant", lang): label("quadrant", k, lang),
            header("goal", lang): p.goal(lang),
            header("actions", lang): "; ".join(f"{i}. {a(lang)}" for i, a in enumerate(p.actions, 1)),
            header("resources", lang): p.resources(lang),
            header("cadence_days", lang): p.cadence_days,
            header("response_hours", lang): p.response_hours,
            header("yearly_cost", lang): p.yearly_cost,
        }
        if counts is not None:
            n = int(counts.get(k, 0))
            row[header("n_customers", lang)] = n
            row[header("yearly_cost_total", lang)] = n * p.yearly_cost
        rows.append(row)
    out = pd.DataFrame(rows)
    out[header("response_hours", lang)] = out[header("response_hours", lang)].astype("Int64")
    return out


def follow_up_list(customers: pd.DataFrame, lang: str, mask_pii: bool = False) -> pd.DataFrame:
    """The team's follow-up list: overdue first (by priority), then by date and priority."""
    _validate_cols(customers, ["priority", "next_follow_up", "follow_up_overdue"], "customers")
    cols = ["priority", "customer_id", "name", "quadrant", "churn_risk", "owner", "last_contact",
            "next_follow_up", "follow_up_overdue", "actions_now"]
    # only the shown columns are copied, masked and sorted (the spine has ~90; 1M rows)
    df = privacy.mask_frame(customers[[c for c in cols if c in customers.columns]], mask_pii)
    late = df["follow_up_overdue"].astype(bool)
    df = pd.concat([
        df[late].sort_values("priority", kind="mergesort"),
        df[~late].sort_values(["next_follow_up", "priority"], kind="mergesort", na_position="last"),
    ])
    return display_frame(df, cols, lang)


def activation_table(
    schedule: pd.DataFrame,
    lang: str,
    customers: pd.DataFrame | None = None,
    mask_pii: bool = False,
) -> pd.DataFrame:
    """The activation schedule for people: overdue first, then upcoming, then done."""
    df = schedule.copy()
    if customers is not None and "name" in customers.columns:
        df["name"] = df["customer_id"].map(customers["name"])
        df = privacy.mask_frame(df, mask_pii)
    order = {"overdue": 0, "upcoming": 1, "done": 2}
    df = df.assign(_o=df["status"].map(order)).sort_values(["_o", "due_date", "customer_id"], kind="mergesort")
    df["touchpoint"] = df["touchpoint_label"]
    cols = ["customer_id", "name", "owner", "first_purchase", "touchpoint", "due_date", "done_date", "status"]
    return display_frame(df, cols, lang)


def activation_summary(schedule: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    """Touchpoints (rows, in day order) x status (columns): counts."""
    statuses = ["done", "overdue", "upcoming"]
    tps = sorted(cfg.strategy.touchpoints, key=lambda t: t.days_after_first_order)
    table = pd.crosstab(schedule["touchpoint"], schedule["status"]).reindex(
        index=[t.key for t in tps], columns=statuses, fill_value=0).astype("int64")
    table.index = [t.label(lang) for t in tps]
    table.index.name = header("touchpoint", lang)
    table.columns = [label("touchpoint_status", s, lang) for s in statuses]
    return table


def plot_workload(table: pd.DataFrame, *, ax=None, title: str = "", xlabel: str = "", max_owners: int = 15):
    """Stacked horizontal bars: follow-ups per owner, one colour per month.

    ``table`` is :func:`workload`'s output (its total row and total columns are left
    out); owners beyond ``max_owners`` are summed into one bar labelled ``…``.
    Returns the Axes.
    """
    from kit.present.plotting import new_ax

    ax = new_ax(ax)
    month_cols = [c for c in table.columns if isinstance(c, str) and len(c) == 7 and c[4] == "-"]
    body = table.iloc[:-1][month_cols]
    if len(body) > max_owners:
        rest = body.iloc[max_owners - 1:].sum().rename("…")
        body = pd.concat([body.iloc[: max_owners - 1], rest.to_frame().T])
    body = body.iloc[::-1]
    left = np.zeros(len(body))
    for col in month_cols:
        ax.barh(body.index.astype(str), body[col].to_numpy(), left=left, label=col)
        left += body[col].to_numpy()
    ax.set_title(title, fontweight="normal")  # the bundled CJK font has no bold face
    ax.set_xlabel(xlabel)
    if month_cols:
        ax.legend(loc="lower right", fontsize=9)
    return ax


# --------------------------------------------------------------------------------------
# One call for notebook 05
# --------------------------------------------------------------------------------------


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
    notes: list[dict[str, str]] = field(default_factory=list)


def input_notes(customers: pd.DataFrame, interactions: pd.DataFrame | None) -> list[dict[str, str]]:
    """What the strategy stage could not use, as report notes (``kind``, ``zh``, ``en``)."""
    notes = []
    basis = priority_basis(customers)
    if basis != "clv":
        what = ("近12个月合作金额", "the trailing-12-month amount") if basis == "amount_12m" else (
            "流失风险", "churn risk alone")
        notes.append({"kind": "warning",
                      "zh": f"客户终身价值（CLV）未计算，优先级改按{what[0]}与流失风险排序。",
                      "en": f"CLV was not computed: priority ranks on {what[1]}"
                            + (" and churn risk." if basis == "amount_12m" else ".")})
    if "churn_risk" not in customers.columns:
        notes.append({"kind": "omitted", "zh": "没有流失风险标签：优先级只按价值排序，不加高流失风险行动。",
                      "en": "No churn-risk labels: priority ranks on value alone and no high-churn action is added."})
    if not any(c.startswith("tag_") for c in customers.columns) and "persona_label" not in customers.columns:
        notes.append({"kind": "omitted", "zh": "画像标签未计算（03_personas 未产出），客户信息档案表不含标签列。",
                      "en": "Persona tags were not computed (no 03_personas output): the profile sheet has no tag columns."})
    if interactions is None or not len(interactions):
        notes.append({"kind": "omitted",
                      "zh": "没有互动记录：上次联系日期未知，下次跟进从最近一次购买起算；激活节点无法判定是否完成（只显示逾期或待进行）。",
                      "en": "No interaction records: the last contact is unknown, so follow-ups count from the last "
                            "purchase, and no activation touchpoint can be shown as done (only overdue or upcoming)."})
    if "account_manager" not in customers.columns:
        notes.append({"kind": "info", "zh": "客户主数据没有客户经理字段，所有客户的负责人为“未分配”。",
                      "en": "The customer master has no account manager: every customer's owner is 'unassigned'."})
    n_none = int((~customers["quadrant"].isin(["star", "cash_cow", "potential", "eliminate"])).sum()) \
        if "quadrant" in customers.columns else len(customers)
    if n_none:
        notes.append({"kind": "warning", "zh": f"{n_none:,} 位客户没有四象限分类，未分配维护策略与跟进周期。",
                      "en": f"{n_none:,} customers have no quadrant: no play and no follow-up cadence is assigned."})
    return notes


def run_strategy(
    customers: pd.DataFrame,
    interactions: pd.DataFrame | None,
    as_of: pd.Timestamp | str,
    cfg,
    lang: str,
    *,
    grace_days: int | None = None,
    contact_types: Iterable[str] | None = None,
) -> StrategyRun:
    """:func:`assign`, :func:`activation_schedule`, :func:`follow_up_plan` and
    :func:`workload` for the period ending at ``as_of`` (``cfg.period``).

    Returns
    -------
    StrategyRun
        ``spine`` is ``customers`` with the :data:`ASSIGN_COLUMNS` replaced or added.
    """
    from kit.core.periods import period_start as _period_start

    as_of = pd.Timestamp(as_of).normalize()
    grace_days = cfg.strategy.activation_grace_days if grace_days is None else grace_days
    contact_types = cfg.strategy.contact_types if contact_types is None else contact_types
    start = _period_start(as_of, cfg.period)
    assigned = assign(customers, interactions, as_of, cfg, lang, period_start=start,
                      contact_types=contact_types)
    spine = customers.drop(columns=[c for c in ASSIGN_COLUMNS if c in customers.columns])
    spine = spine.join(assigned)
    schedule = activation_schedule(spine, interactions, start, as_of, cfg, lang, grace_days=grace_days)
    plan = follow_up_plan(spine, as_of, cfg.period, activation=schedule)
    nstart, nend = next_period(as_of, cfg.period)
    return StrategyRun(
        spine=spine, schedule=schedule, plan=plan,
        workload=workload(plan, lang, as_of=as_of, period=cfg.period),
        priority_basis=assigned.attrs.get("priority_basis"), period_start=start,
        next_start=nstart, next_end=nend, notes=input_notes(customers, interactions),
    )
