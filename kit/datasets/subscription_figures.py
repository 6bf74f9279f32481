"""The manifest's figures of the subscription tables (issue 13), measured on the generated
frames: the documented rates, the injected defects (expected quarantine), the renewals by
plan and usage pattern, the signing cohorts and the renewal pipeline at as_of."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kit.datasets.spec import (
    BILLING_LABELS,
    BILLING_SHARES,
    CONTRACT_MONTHS,
    DECLINE_COVERAGE_POINTS,
    DECLINE_MONTHS,
    DECLINE_USER_RATE,
    DECLINING_SHARE,
    EXISTING_SIGN_MONTHS,
    MIDTERM_CANCEL_SHARE,
    NEW_SIGN_DAYS,
    PIPELINE_WINDOWS,
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
    SUBSCRIPTION_PRODUCT,
    SUBSCRIPTION_STREAM,
    UPGRADE_ON_RENEWAL,
    USAGE_DEFECT_RATES,
    YEARLY_PRICE_FACTOR,
)

_STATUS_TO_LABEL = {v: k for k, v in STATUS_LABELS.items()}
_BILLING_TO_LABEL = {v: k for k, v in BILLING_LABELS.items()}


def _money(x: float) -> float:
    return round(float(x), 2)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def subscription_rates() -> dict[str, Any]:
    """The generator's documented rates (spec.py), as the manifest and README state them."""
    return {
        "stream": f"numpy SeedSequence(seed, spawn_key=({SUBSCRIPTION_STREAM},)), independent of the other files",
        "product": SUBSCRIPTION_PRODUCT,
        "subscriber_share": SUBSCRIBER_SHARE,
        "subscriber_pool": "ordering customers present in the master",
        "platform_launch_months_before_start": SUBS_LAUNCH_MONTHS,
        "existing_customers_sign_within_months_of_launch": EXISTING_SIGN_MONTHS,
        "new_customers_sign_within_days_of_first_order": NEW_SIGN_DAYS,
        "contract_months": CONTRACT_MONTHS,
        "plans": {k: {"share": v[0], "list_price_month": v[1], "active_users_at_signing": list(v[2])}
                  for k, v in PLANS.items()},
        "price_discount": list(PRICE_DISCOUNT), "yearly_price_factor": YEARLY_PRICE_FACTOR,
        "billing_shares": BILLING_SHARES,
        "declining_share": DECLINING_SHARE,
        "renewal_probability": RENEWAL_PROBABILITY,
        "renewal_rule": "at each contract end before as_of; a customer who has stopped ordering by then "
                        "(its last order before the contract's end, the truth's drop-out) does not renew",
        "upgrade_on_renewal": UPGRADE_ON_RENEWAL, "renewal_price_rise": list(RENEWAL_PRICE_RISE),
        "midterm_cancel_share_of_monthly_lapses": MIDTERM_CANCEL_SHARE,
        "decline": {"months_before_last_month": list(DECLINE_MONTHS), "user_rate": list(DECLINE_USER_RATE),
                    "coverage_points": list(DECLINE_COVERAGE_POINTS)},
        "formats": {"slash_date_share": SUBS_SLASH_DATE_SHARE, "thousands_share": SUBS_THOUSANDS_SHARE},
    }


def _renewals(c: pd.DataFrame) -> dict[str, Any]:
    """Renewal decisions (contract ends before as_of) by usage pattern and plan."""
    dec = c[c["decision"] != "pending"]
    free = dec[~dec["stopped_ordering"]]
    by: dict[str, Any] = {}
    for pattern, probs in RENEWAL_PROBABILITY.items():
        by[pattern] = {}
        for plan, p in probs.items():
            sel = free[(free["pattern"] == pattern) & (free["plan"] == plan)]
            renewed = int((sel["decision"] == "renewed").sum())
            by[pattern][plan] = {"probability": p, "decisions": int(len(sel)), "renewed": renewed,
                                 "rate": _share(renewed, len(sel))}
    return {
        "decisions": int(len(dec)), "renewed": int((dec["decision"] == "renewed").sum()),
        "lapsed": int((dec["decision"] == "lapsed").sum()),
        "lapsed_after_stopping_orders": int((dec["stopped_ordering"]).sum()),
        "cancelled_midterm": int((c["status"] == "cancelled").sum()),
        "upgrades": int(_upgrades(c)),
        "still_ordering_by_pattern_and_plan": by,
    }


def _upgrades(c: pd.DataFrame) -> int:
    prev = c.set_index("subscription_id")["plan"]
    ren = c[c["renewed_from"].notna()]
    return int((ren["plan"].to_numpy() != prev.reindex(ren["renewed_from"]).to_numpy()).sum())


def cohort_table(c: pd.DataFrame, as_of: pd.Timestamp) -> dict[int, dict[str, Any]]:
    """Per signing year (year of a customer's first contract): customers, and for renewal
    k = 1, 2, ...: ``observed`` customers whose k-th renewal date (first start + k contract
    terms) is on or before as_of, ``renewed`` those of them who renewed k times."""
    first = c.groupby("customer_id")["start_date"].min()
    renewals = c.groupby("customer_id")["decision"].agg(lambda x: int((x == "renewed").sum()))
    final = c.sort_values("start_date", kind="stable").groupby("customer_id")["decision"].last()
    out: dict[int, dict[str, Any]] = {}
    for year in sorted(first.dt.year.unique()):
        ids = first.index[first.dt.year == year]
        observed, renewed = [], []
        for k in range(1, 10):
            due = first[ids] + pd.DateOffset(months=CONTRACT_MONTHS * k)
            elig = ids[(due <= as_of).to_numpy()]
            if not len(elig):
                break
            observed.append(int(len(elig)))
            renewed.append(int((renewals[elig] >= k).sum()))
        out[int(year)] = {"customers": int(len(ids)), "observed": observed, "renewed": renewed,
                          "lapsed": int((final[ids] == "lapsed").sum()),
                          "active": int((final[ids] == "pending").sum())}
    return out


def _pipeline(c: pd.DataFrame, subs: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, Any]:
    """Active contracts ending within each window after as_of (as_of < end <= as_of + days)."""
    act = c[c["status"] == "active"]
    stopped = subs.set_index("customer_id")["stopped_ordering"]
    out: dict[str, Any] = {}
    for days in PIPELINE_WINDOWS:
        sel = act[(act["end_date"] > as_of) & (act["end_date"] <= as_of + pd.Timedelta(days=days))]
        out[f"{days}_days"] = {
            "contracts": int(len(sel)), "monthly_amount": _money(sel["monthly_amount"].sum()),
            "declining_usage": int((sel["pattern"] == "declining").sum()),
            "stopped_ordering": int(stopped.reindex(sel["customer_id"]).sum()),
        }
    return out


def subscription_figures(data: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, Any]:
    """The manifest's ``subscriptions`` entry."""
    c, s, x = data["subscriptions"], data["subscribers"], data["subscriptions_export"]
    pool = data["customers"]
    pool = pool[pool["has_orders"] & pool["in_master"]]
    defects = {k: {"rate": r, "count": int((x["_defect"] == k).sum())} for k, r in SUBSCRIPTION_DEFECT_RATES.items()}
    act = c[c["status"] == "active"]
    return {
        "rates": subscription_rates(),
        "rows": int(len(x)), "true_contracts": int(len(c)),
        "rows_balance": "rows = true_contracts + sum of defects' counts",
        "defects": defects,
        "expected_quarantine": {k: v["count"] for k, v in defects.items()},
        "subscribers": {"pool": int(len(pool)), "count": int(len(s)), "share": _share(len(s), len(pool)),
                        "ids": sorted(s["customer_id"].tolist())},
        "patterns": {
            "healthy": int((s["pattern"] == "healthy").sum()), "declining": int((s["pattern"] == "declining").sum()),
            "stopped_ordering": {"customers": int(s["stopped_ordering"].sum()),
                                 "declining": int((s["stopped_ordering"] & (s["pattern"] == "declining")).sum())},
            "ordering": {"customers": int((~s["stopped_ordering"]).sum()),
                         "declining": int((~s["stopped_ordering"] & (s["pattern"] == "declining")).sum())},
        },
        "first_plans": {k: int(v) for k, v in s["plan"].value_counts().reindex(list(PLANS), fill_value=0).items()},
        "billing": {_BILLING_TO_LABEL[k]: int(v) for k, v in s["billing_period"].value_counts().sort_index().items()},
        "status": {_STATUS_TO_LABEL[k]: int(v) for k, v in c["status"].value_counts().sort_index().items()},
        "renewals": _renewals(c),
        "cohorts": cohort_table(c, as_of),
        "active": {"contracts": int(len(act)), "monthly_recurring_amount": _money(act["monthly_amount"].sum()),
                   "declining_usage": int((act["pattern"] == "declining").sum())},
        "pipeline": _pipeline(c, s, as_of),
    }


def usage_figures(data: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The manifest's ``usage`` entry."""
    u, x = data["usage"], data["usage_export"]
    defects = {k: {"rate": r, "count": int((x["_defect"] == k).sum())} for k, r in USAGE_DEFECT_RATES.items()}
    return {
        "rows": int(len(x)), "true_rows": int(len(u)), "customers": int(u["customer_id"].nunique()),
        "rows_balance": "rows = true_rows + sum of defects' counts",
        "defects": defects, "expected_quarantine": {k: v["count"] for k, v in defects.items()},
        "months": {"first": str(u["date"].min().date()), "last": str(u["date"].max().date())},
        "feature_coverage_scale": "percent 0-100 in the file (0-1 in the clean table)",
        "rows_without_tickets": int((u["tickets"] == 0).sum()),
        "rows_declining": int((u["months_declining"] > 0).sum()),
    }
