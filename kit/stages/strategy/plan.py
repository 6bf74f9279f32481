"""The coming period: every follow-up due in it, the work per owner and month, and the
summary the index page shows (computed here once).

See :mod:`kit.stages.strategy` for the rules.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kit.core.checks import validate_cols as _validate_cols
from kit.core.periods import period_end

#: Columns of :func:`workload` after the months.
WORKLOAD_TOTAL, WORKLOAD_OVERDUE = "total", "overdue"

_ONE_DAY = pd.Timedelta(days=1)


def next_period(as_of: pd.Timestamp | str, period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the period after the one ending at ``as_of``."""
    start = pd.Timestamp(as_of).normalize() + _ONE_DAY
    return start, period_end(start, period)


def _activation_rows(activation: pd.DataFrame, customers: pd.DataFrame,
                     start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    a = activation[(activation["status"] != "done") & (activation["due_date"] >= start)
                   & (activation["due_date"] <= end)]
    owners = (a["owner"] if "owner" in a.columns
              else a["customer_id"].map(customers["owner"].astype("str")))
    return pd.DataFrame({
        "customer_id": a["customer_id"].astype("str").to_numpy(),
        "owner": owners.astype("str").to_numpy(),
        "date": pd.to_datetime(a["due_date"]).to_numpy(),
        "kind": "activation",
    })


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
        ``customer_id, owner`` (NA: unassigned), ``date, month`` (``YYYY-MM``), ``kind``
        (``follow_up``, ``overdue``, ``activation``), sorted by date, then customer id.
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
        plan = pd.concat([plan, _activation_rows(activation, customers, start, end)], ignore_index=True)
    plan["owner"] = plan["owner"].astype("str")
    plan["kind"] = plan["kind"].astype("str")
    plan["month"] = plan["date"].dt.strftime("%Y-%m").astype("str")
    plan = plan.sort_values(["date", "customer_id"], kind="mergesort").reset_index(drop=True)
    return plan[["customer_id", "owner", "date", "month", "kind"]]


def workload(plan: pd.DataFrame, *, as_of=None, period: str | None = None) -> pd.DataFrame:
    """Follow-ups per owner (rows) and month (columns) of the coming period.

    Parameters
    ----------
    plan : DataFrame
        Output of :func:`follow_up_plan`.
    as_of, period : optional
        When given, every month of the coming period gets a column, even an empty one.

    Returns
    -------
    DataFrame
        Index ``owner`` (NA: unassigned; most work first); columns: ``YYYY-MM`` months,
        ``total`` and, of it, ``overdue`` (the overdue follow-ups moved to the period's
        first day). int64. :func:`kit.present.strategy.workload_table` adds the total row
        and the labels.
    """
    months = sorted(plan["month"].unique()) if len(plan) else []
    if as_of is not None and period is not None:
        start, end = next_period(as_of, period)
        months = [str(p) for p in pd.period_range(start, end, freq="M")]
    counts = plan.groupby(["owner", "month"], dropna=False).size()
    table = (counts.unstack("month", fill_value=0) if len(counts)
             else pd.DataFrame(index=pd.Index([], name="owner", dtype="str")))
    table = table.reindex(columns=months, fill_value=0)
    table[WORKLOAD_TOTAL] = table.sum(axis=1)
    late = (plan["kind"] == "overdue").groupby(plan["owner"], dropna=False).sum()
    table[WORKLOAD_OVERDUE] = late.reindex(table.index).fillna(0)
    table = table.astype("int64").sort_values(WORKLOAD_TOTAL, ascending=False, kind="mergesort")
    table.index.name = "owner"
    table.columns.name = None
    return table


def coming_summary(customers: pd.DataFrame, plan: pd.DataFrame, as_of, period: str) -> dict[str, Any]:
    """What the index page says about the coming period, from the one plan of 05.

    Returns ``start``, ``end`` (``YYYY-MM-DD``), ``follow_ups`` (rows of ``plan``),
    ``overdue`` (follow-ups overdue now) and ``owners`` (distinct owners in the plan, the
    unassigned counted as one).
    """
    start, end = next_period(as_of, period)
    return {
        "start": start.strftime("%Y-%m-%d"),
        "end": end.strftime("%Y-%m-%d"),
        "follow_ups": int(len(plan)),
        "overdue": int(customers["follow_up_overdue"].astype("boolean").fillna(False).sum()),
        "owners": int(plan["owner"].nunique(dropna=False)),
    }
