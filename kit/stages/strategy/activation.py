"""New-customer activation (guide 3.1): touchpoints, due dates, windows and status.

See :mod:`kit.stages.strategy` for the rules.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kit.core.checks import validate_cols as _validate_cols
from kit.stages.strategy.assign import _date_col, _typed

SCHEDULE_COLUMNS = [
    "customer_id", "owner", "first_purchase", "touchpoint", "due_date", "done_date", "status",
]

#: Touchpoint status keys, in the order the summary shows them.
STATUSES = ("done", "overdue", "upcoming")


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


def _done_dates(sched: pd.DataFrame, interactions: pd.DataFrame | None, windows: pd.DataFrame,
                end: pd.Timestamp, cfg) -> pd.DataFrame:
    """First matching interaction in each touchpoint's window: ``customer_id, touchpoint, date``."""
    types = pd.DataFrame(
        [(t.key, ty) for t in cfg.strategy.touchpoints for ty in t.interaction_types],
        columns=["touchpoint", "type"],
    )
    ix = _typed(interactions)
    ix = ix[(ix["date"] <= end) & ix["customer_id"].isin(sched["customer_id"])]
    typed = ix[ix["type"].notna()].merge(types, on="type")
    untyped = ix[ix["type"].isna()].merge(windows[["touchpoint"]], how="cross")
    hits = pd.concat([typed, untyped], ignore_index=True)[["customer_id", "touchpoint", "date"]]
    hits = hits.merge(sched[["customer_id", "touchpoint", "first_purchase", "lo", "hi"]],
                      on=["customer_id", "touchpoint"])
    offset = (hits["date"] - hits["first_purchase"]).dt.days
    hits = hits[(offset >= hits["lo"]) & (offset <= hits["hi"])]
    return hits.groupby(["customer_id", "touchpoint"], as_index=False)["date"].min()


def activation_schedule(
    customers: pd.DataFrame,
    interactions: pd.DataFrame | None,
    period_start: pd.Timestamp | str,
    as_of: pd.Timestamp | str,
    cfg,
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
        ``cfg.strategy.touchpoints``: key, days after the first order, the interaction
        types that mark it done.
    grace_days : int
        Days after a due date that still count as on time (package docstring).

    Returns
    -------
    DataFrame
        One row per new customer x touchpoint, columns :data:`SCHEDULE_COLUMNS`
        (``owner`` only when known): ``touchpoint`` (key; labelled by
        :func:`kit.present.strategy.touchpoint_label`), ``due_date``, ``done_date``
        (first matching interaction in the window, NaT if none), ``status`` (``done``,
        ``overdue``, ``upcoming``). Sorted by first order date, customer id and
        touchpoint day.
    """
    _validate_cols(customers, ["first_purchase"], "customers")
    if grace_days < 0:
        raise ValueError(f"grace_days must be >= 0 (got {grace_days})")
    start, end = pd.Timestamp(period_start).normalize(), pd.Timestamp(as_of).normalize()
    first = _date_col(customers, "first_purchase")
    new = first[(first >= start) & (first <= end)].rename("first_purchase")
    windows = _touchpoint_windows(cfg, grace_days)
    sched = (new.rename_axis("customer_id").reset_index()
             .merge(windows, how="cross"))
    sched["customer_id"] = sched["customer_id"].astype("str")
    sched["due_date"] = sched["first_purchase"] + pd.to_timedelta(sched["due"], unit="D")
    window_end = sched["first_purchase"] + pd.to_timedelta(sched["hi"], unit="D")

    done = _done_dates(sched, interactions, windows, end, cfg)
    sched = sched.merge(done.rename(columns={"date": "done_date"}), on=["customer_id", "touchpoint"],
                        how="left")
    sched["done_date"] = pd.to_datetime(sched["done_date"])
    status = np.where(sched["done_date"].notna(), "done",
                      np.where(window_end <= end, "overdue", "upcoming"))
    sched["status"] = pd.Series(status, index=sched.index, dtype="str")
    owner_col = next((c for c in ("owner", "account_manager") if c in customers.columns), None)
    if owner_col is not None:
        sched["owner"] = sched["customer_id"].map(customers[owner_col].astype("str")).astype("str")
    sched = sched.sort_values(["first_purchase", "customer_id", "order"], kind="mergesort")
    cols = [c for c in SCHEDULE_COLUMNS if c in sched.columns]
    return sched[cols].reset_index(drop=True)


def activation_counts(schedule: pd.DataFrame, cfg) -> pd.DataFrame:
    """Touchpoints (rows, keys in day order) x status (columns :data:`STATUSES`): counts."""
    tps = sorted(cfg.strategy.touchpoints, key=lambda t: t.days_after_first_order)
    return pd.crosstab(schedule["touchpoint"], schedule["status"]).reindex(
        index=[t.key for t in tps], columns=list(STATUSES), fill_value=0).astype("int64")
