"""Subscription customers (issue 13): who subscribes to the company's cloud monitoring
platform, their chain of yearly contracts (renewals, lapses, mid-term cancellations), and
the contract list as the platform's console exports it.

Drawn from their own random stream (:func:`subscription_rng`), after and independent of the
orders, master and interactions: adding them changes none of those files.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kit.datasets.common import _count, _pick
from kit.datasets.spec import (
    BILLING_LABELS,
    BILLING_SHARES,
    CONTRACT_MONTHS,
    DECLINING_SHARE,
    EXISTING_SIGN_MONTHS,
    MIDTERM_CANCEL_SHARE,
    NEW_SIGN_DAYS,
    PLANS,
    PRICE_DISCOUNT,
    RENEWAL_PRICE_RISE,
    RENEWAL_PROBABILITY,
    STATUS_LABELS,
    SUBS_LAUNCH_MONTHS,
    SUBS_SLASH_DATE_SHARE,
    SUBS_THOUSANDS_SHARE,
    SUBSCRIBER_SHARE,
    SUBSCRIPTION_DEFECT_RATES,
    SUBSCRIPTION_STREAM,
    UPGRADE_ON_RENEWAL,
    YEARLY_PRICE_FACTOR,
)

_BILLING_TO_LABEL = {v: k for k, v in BILLING_LABELS.items()}
_STATUS_TO_LABEL = {v: k for k, v in STATUS_LABELS.items()}
_PLAN_ORDER = list(PLANS)


def subscription_rng(seed: int) -> np.random.Generator:
    """The subscriptions' own stream: ``SeedSequence(seed, spawn_key=(SUBSCRIPTION_STREAM,))``.

    ``numpy.random.default_rng(seed)`` (the orders', master's and interactions' stream) is
    ``SeedSequence(seed)`` with an empty spawn key, so the two streams are independent and
    drawing from this one leaves the other untouched.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SUBSCRIPTION_STREAM,)))


def _draw_subscribers(rng: np.random.Generator, customers: pd.DataFrame, start: pd.Timestamp,
                      end: pd.Timestamp) -> pd.DataFrame:
    """One row per subscriber: signing day, first plan, billing, discount, usage pattern.

    Subscribers are ``SUBSCRIBER_SHARE`` of the ordering customers present in the master
    (their account managers, orders and interactions exist). A customer from before the
    order window signs during the platform's first ``EXISTING_SIGN_MONTHS`` months, one
    acquired inside it within ``NEW_SIGN_DAYS`` of its first order; never after its drop-out
    (last order) nor after ``end``.
    """
    pool = customers[customers["has_orders"] & customers["in_master"]].sort_values("customer_id")
    n = int(round(SUBSCRIBER_SHARE * len(pool)))
    sub = pool.iloc[np.sort(rng.choice(len(pool), size=n, replace=False))].reset_index(drop=True)
    stop = pd.DatetimeIndex(sub["dropout_date"]).as_unit("ns")
    first_order = pd.DatetimeIndex(sub["first_order_date"]).as_unit("ns")
    coop = pd.DatetimeIndex(sub["first_cooperation_date"]).as_unit("ns")
    launch = start - pd.DateOffset(months=SUBS_LAUNCH_MONTHS)
    existing = np.asarray(coop < start)
    cap = np.minimum(stop.fillna(end).to_numpy(), np.datetime64(end, "ns"))
    lo = np.where(existing, np.maximum(coop.to_numpy(), np.datetime64(launch, "ns")), first_order.to_numpy())
    hi_new = first_order.to_numpy() + np.timedelta64(NEW_SIGN_DAYS, "D")
    hi = np.minimum(np.where(existing, np.datetime64(launch + pd.DateOffset(months=EXISTING_SIGN_MONTHS), "ns"),
                             hi_new), cap)
    hi = np.maximum(hi, lo)
    span_days = (hi - lo) / np.timedelta64(1, "D")
    sign = pd.DatetimeIndex(lo + (np.floor(rng.random(n) * (span_days + 1))).astype("int64")
                            * np.timedelta64(1, "D")).normalize()
    sign = pd.DatetimeIndex(np.minimum(sign.to_numpy(), hi)).normalize()
    stopped = np.asarray(stop.notna())
    p_decline = np.where(stopped, DECLINING_SHARE["stopped_ordering"], DECLINING_SHARE["ordering"])
    declining = rng.random(n) < p_decline
    plan = _pick(rng, {k: v[0] for k, v in PLANS.items()}, n)
    billing = _pick(rng, BILLING_SHARES, n)
    discount = rng.uniform(*PRICE_DISCOUNT, size=n)
    return pd.DataFrame({
        "customer_id": sub["customer_id"].to_numpy(), "sign_date": sign, "existing": existing,
        "stop_date": stop, "stopped_ordering": stopped,
        "pattern": np.where(declining, "declining", "healthy"), "plan": plan.astype(str),
        "billing_period": [BILLING_LABELS[b] for b in billing], "discount": discount,
        "account_manager": sub["account_manager"].to_numpy(),
    })


def _price(plan: str, billing: str, discount: float) -> float:
    """Recurring amount per billing period: list price x discount (x 12 x factor when yearly)."""
    monthly = PLANS[plan][1] * discount
    return round(monthly * 12 * YEARLY_PRICE_FACTOR, -2) if billing == "year" else round(monthly, -1)


def _draw_contracts(rng: np.random.Generator, subs: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Each subscriber's chain of ``CONTRACT_MONTHS``-month contracts up to ``end``.

    At the end of a contract before ``end`` the customer renews with
    ``RENEWAL_PROBABILITY[pattern][plan]`` while still ordering (one who has stopped
    ordering by then does not renew); a healthy renewal upgrades with ``UPGRADE_ON_RENEWAL``,
    others raise the price by ``RENEWAL_PRICE_RISE``. A monthly-billed lapse is a mid-term
    cancellation with ``MIDTERM_CANCEL_SHARE`` (3-11 months into the term).
    """
    rows: list[dict[str, Any]] = []
    for s in subs.itertuples(index=False):
        rows += _chain(rng, s, end)
    c = pd.DataFrame(rows)
    c = c.sort_values(["start_date", "customer_id"], kind="stable").reset_index(drop=True)
    c.insert(1, "subscription_id", [f"HT{d.year}{i + 1:05d}" for i, d in enumerate(c["start_date"])])
    key_to_id = dict(zip(c["_key"], c["subscription_id"]))
    c["renewed_from"] = pd.Series([key_to_id[p] if p is not None else pd.NA for p in c["_prev"]],
                                  dtype="str", index=c.index)
    c["monthly_amount"] = np.where(c["billing_period"] == "year", c["recurring_amount"] / 12, c["recurring_amount"])
    cohort = c.groupby("customer_id")["start_date"].transform("min").dt.year
    c["cohort"] = cohort.astype(int)
    return c.drop(columns=["_key", "_prev"])


def _chain(rng: np.random.Generator, s: Any, end: pd.Timestamp) -> list[dict[str, Any]]:
    """One subscriber's contracts, renewing until a lapse or a contract still running at ``end``."""
    out: list[dict[str, Any]] = []
    start, plan = s.sign_date, s.plan
    amount = _price(plan, s.billing_period, s.discount)
    prev = None
    for k in range(100):
        nominal = start + pd.DateOffset(months=CONTRACT_MONTHS) - pd.Timedelta(days=1)
        row = {"customer_id": s.customer_id, "plan": plan, "start_date": start, "end_date": nominal,
               "nominal_end_date": nominal, "billing_period": s.billing_period, "recurring_amount": amount,
               "status": "expired", "decision": "pending", "stopped_ordering": False,
               "forced_lapse": False, "pattern": s.pattern,
               "contract_no": k + 1, "_key": (s.customer_id, k), "_prev": prev}
        out.append(row)
        if nominal >= end:
            row["status"] = "active"
            break
        stopped = bool(s.stopped_ordering) and s.stop_date < nominal
        row["stopped_ordering"] = stopped
        renew = rng.random() < RENEWAL_PROBABILITY[s.pattern][plan]
        if renew and not stopped:
            row["decision"] = "renewed"
            prev, start = (s.customer_id, k), nominal + pd.Timedelta(days=1)
            if s.pattern == "healthy" and plan != _PLAN_ORDER[-1] and rng.random() < UPGRADE_ON_RENEWAL:
                plan = _PLAN_ORDER[_PLAN_ORDER.index(plan) + 1]
                amount = _price(plan, s.billing_period, s.discount)
            else:
                step = 100.0 if s.billing_period == "year" else 10.0
                amount = round(amount * (1 + rng.uniform(*RENEWAL_PRICE_RISE)) / step) * step
            continue
        row.update(decision="lapsed", forced_lapse=stopped and renew)
        if s.billing_period == "month" and rng.random() < MIDTERM_CANCEL_SHARE:
            row["end_date"] = start + pd.DateOffset(months=int(rng.integers(3, 12))) - pd.Timedelta(days=1)
            row["status"] = "cancelled"
        break
    return out


def _subscriptions_export(rng: np.random.Generator, contracts: pd.DataFrame) -> pd.DataFrame:
    """The contract list as exported: Chinese labels, a share of slash dates and thousands
    separators, plus the defect rows of ``SUBSCRIPTION_DEFECT_RATES`` (each added, none
    replacing a true contract): contracts entered without a customer, an end date typed before
    the start (both new contract ids), and contracts exported twice (an identical row right
    after the first)."""
    n_true = len(contracts)
    cnt = {k: _count(r, n_true) for k, r in SUBSCRIPTION_DEFECT_RATES.items()}
    rows = contracts.copy()
    rows["_defect"] = ""
    rows["_pos"] = np.arange(n_true, dtype=float)
    rows["_slash_date"] = rng.random(n_true) < SUBS_SLASH_DATE_SHARE
    rows["_thousands"] = rng.random(n_true) < SUBS_THOUSANDS_SHARE
    seq = n_true
    extra = []
    for kind in ("missing_customer_id", "end_before_start"):
        src = rows.iloc[np.sort(rng.choice(n_true, size=cnt[kind], replace=False))].copy()
        ids = []
        for d in src["start_date"]:
            seq += 1
            ids.append(f"HT{d.year}{seq:05d}")
        src["subscription_id"] = ids
        src["renewed_from"] = pd.NA
        src["_defect"] = kind
        src["_pos"] = rng.uniform(0, n_true, size=len(src))
        if kind == "missing_customer_id":
            src["customer_id"] = np.array(["", "\u3000"], dtype=object)[rng.integers(2, size=len(src))]
        else:
            back = pd.to_timedelta(rng.integers(30, 366, size=len(src)), unit="D")
            src["end_date"] = src["start_date"] - back
            src["status"] = "expired"
        extra.append(src)
    dup = rows.iloc[np.sort(rng.choice(n_true, size=cnt["duplicate_contract_id"], replace=False))].copy()
    dup["_defect"] = "duplicate_contract_id"
    dup["_pos"] = dup["_pos"] + 0.5
    rows = pd.concat([rows, *extra, dup], ignore_index=True)
    rows = rows.iloc[np.argsort(rows["_pos"].to_numpy(), kind="stable")].reset_index(drop=True)

    slash, thousands = rows["_slash_date"].to_numpy(), rows["_thousands"].to_numpy()
    export = pd.DataFrame({
        "客户编号": rows["customer_id"].to_numpy(), "合同编号": rows["subscription_id"].to_numpy(),
        "套餐": rows["plan"].to_numpy(),
        "开始日期": _dates(rows["start_date"], slash), "到期日期": _dates(rows["end_date"], slash),
        "计费周期": [_BILLING_TO_LABEL[b] for b in rows["billing_period"]],
        "订阅金额": [f"{a:,.2f}" if t else f"{a:.2f}" for a, t in zip(rows["recurring_amount"], thousands)],
        "状态": [_STATUS_TO_LABEL[s] for s in rows["status"]],
        "续约自": rows["renewed_from"].fillna("").to_numpy(),
    }, dtype="str")
    export["_defect"] = rows["_defect"].to_numpy()
    export["_slash_date"] = slash
    export["_thousands"] = thousands
    return export


def _dates(values: pd.Series, slash: np.ndarray) -> list[str]:
    d = pd.DatetimeIndex(values)
    return [f"{y}/{mo}/{dd}" if s else f"{y:04d}-{mo:02d}-{dd:02d}"
            for y, mo, dd, s in zip(d.year, d.month, d.day, slash)]
