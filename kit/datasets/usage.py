"""Monthly product usage of the subscription customers (issue 13): healthy and declining
patterns, and the usage report as the platform exports it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.datasets.common import _count
from kit.datasets.spec import (
    DECLINE_COVERAGE_POINTS,
    DECLINE_LOGIN_FACTOR,
    DECLINE_MONTHS,
    DECLINE_RESPONSE_RISE,
    DECLINE_TICKET_RISE,
    DECLINE_USER_RATE,
    PLANS,
    USAGE_COVERAGE,
    USAGE_DEFECT_RATES,
    USAGE_FEBRUARY_FACTOR,
    USAGE_HEALTHY_GROWTH,
    USAGE_LOGINS_PER_USER,
    USAGE_RESPONSE_HOURS,
    USAGE_RESPONSE_SIGMA,
    USAGE_TICKETS_PER_USER,
)


def _month_plans(contracts: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """One row per subscriber and month a contract of it covers (up to the month of ``end``),
    with the plan of the latest contract that started by the month's end."""
    parts = []
    last_month = end.to_period("M")
    for c in contracts.sort_values(["customer_id", "start_date"], kind="stable").itertuples(index=False):
        first = c.start_date.to_period("M")
        last = min(c.end_date.to_period("M"), last_month)
        months = pd.period_range(first, last, freq="M")
        parts.append(pd.DataFrame({"customer_id": c.customer_id, "month": months, "plan": c.plan}))
    rows = pd.concat(parts, ignore_index=True)
    return rows.drop_duplicates(["customer_id", "month"], keep="last").reset_index(drop=True)


def _draw_usage(rng: np.random.Generator, contracts: pd.DataFrame, subs: pd.DataFrame,
                end: pd.Timestamp) -> pd.DataFrame:
    """True monthly usage per subscriber over the months its contracts cover.

    Healthy: active users grow by ``USAGE_HEALTHY_GROWTH`` a month, coverage stays near its
    level at signing. Declining: the same until ``DECLINE_MONTHS`` before the subscriber's
    last month, then each month active users fall by ``DECLINE_USER_RATE``, logins faster
    (``DECLINE_LOGIN_FACTOR``), coverage loses ``DECLINE_COVERAGE_POINTS`` and tickets and
    first-response hours rise (``DECLINE_TICKET_RISE``, ``DECLINE_RESPONSE_RISE`` of their
    healthy level per month of decline: tickets follow the users the customer would have had). ``first_response_hours`` is NaN in a month without tickets.
    """
    mp = _month_plans(contracts, end)
    ids = subs["customer_id"].to_numpy()
    n = len(ids)
    quantile = rng.random(n)                          # size: the same quantile of each plan's range
    growth = rng.uniform(*USAGE_HEALTHY_GROWTH, size=n)
    lpu = rng.uniform(*USAGE_LOGINS_PER_USER, size=n)
    cov0 = rng.uniform(*USAGE_COVERAGE, size=n)
    d_rate = rng.uniform(*DECLINE_USER_RATE, size=n)
    d_cov = rng.uniform(*DECLINE_COVERAGE_POINTS, size=n)
    d_months = rng.integers(DECLINE_MONTHS[0], DECLINE_MONTHS[1] + 1, size=n)

    pos = pd.Series(np.arange(n), index=ids)
    j = pos.reindex(mp["customer_id"]).to_numpy()
    month_no = mp["month"].map(lambda p: p.ordinal).to_numpy()
    first = pd.Series(month_no).groupby(j).transform("min").to_numpy()
    last = pd.Series(month_no).groupby(j).transform("max").to_numpy()
    t = month_no - first
    declining = (subs["pattern"].to_numpy() == "declining")[j]
    k = np.where(declining, np.maximum(0, month_no - (last - d_months[j])), 0)

    lo = np.array([PLANS[p][2][0] for p in mp["plan"]], dtype=float)
    hi = np.array([PLANS[p][2][1] for p in mp["plan"]], dtype=float)
    m = len(mp)
    size = np.exp(np.log(lo) + quantile[j] * np.log(hi / lo))
    healthy_users = size * (1 + growth[j]) ** t
    users = healthy_users * (1 - d_rate[j]) ** k * np.exp(rng.normal(0, 0.08, m))
    users = np.maximum(1, np.round(users)).astype(int)
    feb = np.where(mp["month"].map(lambda p: p.month).to_numpy() == 2, USAGE_FEBRUARY_FACTOR, 1.0)
    slower = (1 - (DECLINE_LOGIN_FACTOR - 1) * d_rate[j]) ** k
    logins = np.round(users * lpu[j] * feb * slower * np.exp(rng.normal(0, 0.12, m))).astype(int)
    coverage = np.clip(cov0[j] - d_cov[j] * k + rng.normal(0, 2.0, m), 3.0, 98.0).round(1)
    tickets = rng.poisson(healthy_users * USAGE_TICKETS_PER_USER * (1 + DECLINE_TICKET_RISE * k))
    hours = (USAGE_RESPONSE_HOURS * (1 + DECLINE_RESPONSE_RISE * k)
             * np.exp(rng.normal(0, USAGE_RESPONSE_SIGMA, m))).round(1)
    hours = np.where(tickets > 0, np.maximum(hours, 0.1), np.nan)
    return pd.DataFrame({
        "customer_id": mp["customer_id"].to_numpy(),
        "date": pd.DatetimeIndex([p.start_time for p in mp["month"]]).as_unit("s"),
        "plan": mp["plan"].to_numpy(), "pattern": subs["pattern"].to_numpy()[j],
        "months_declining": k, "active_users": users, "logins": logins,
        "feature_coverage": coverage / 100.0, "tickets": tickets, "first_response_hours": hours,
    })


def _usage_export(rng: np.random.Generator, usage: pd.DataFrame) -> pd.DataFrame:
    """The usage report as exported (one row per customer and month, 月份 as the month's first
    day, 功能覆盖率 in percent 0-100, 首次响应时长 blank without tickets), plus the defect rows
    of ``USAGE_DEFECT_RATES``: rows without a customer (copies of a random row with the id
    blank, anywhere in the file) and rows exported twice (right after the first)."""
    n_true = len(usage)
    cnt = {k: _count(r, n_true) for k, r in USAGE_DEFECT_RATES.items()}
    rows = usage.copy()
    rows["_defect"] = ""
    rows["_pos"] = np.arange(n_true, dtype=float)
    miss = rows.iloc[np.sort(rng.choice(n_true, size=cnt["missing_customer_id"], replace=False))].copy()
    miss["customer_id"] = ""
    miss["_defect"] = "missing_customer_id"
    miss["_pos"] = rng.uniform(0, n_true, size=len(miss))
    dup = rows.iloc[np.sort(rng.choice(n_true, size=cnt["duplicate_rows"], replace=False))].copy()
    dup["_defect"] = "duplicate_rows"
    dup["_pos"] = dup["_pos"] + 0.5
    rows = pd.concat([rows, miss, dup], ignore_index=True)
    rows = rows.iloc[np.argsort(rows["_pos"].to_numpy(), kind="stable")].reset_index(drop=True)
    export = pd.DataFrame({
        "客户编号": rows["customer_id"].to_numpy(),
        "月份": pd.DatetimeIndex(rows["date"]).strftime("%Y-%m-%d").to_numpy(),
        "活跃用户数": rows["active_users"].astype(str).to_numpy(),
        "登录次数": rows["logins"].astype(str).to_numpy(),
        "功能覆盖率": [f"{100 * v:.1f}" for v in rows["feature_coverage"]],
        "工单数": rows["tickets"].astype(str).to_numpy(),
        "首次响应时长(小时)": ["" if np.isnan(h) else f"{h:.1f}" for h in rows["first_response_hours"]],
    }, dtype="str")
    export["_defect"] = rows["_defect"].to_numpy()
    return export
