"""What the sample holds, measured on the generated frames: the manifest (exact injected
counts and the truth's key figures, for tests of the cleaner) and the README's dynamics."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kit.datasets.generate import value_tiers
from kit.datasets.subscription_figures import subscription_figures, usage_figures
from kit.datasets.spec import (
    CUSTOMERS_FILE,
    CUSTOMERS_HEADERS,
    CUSTOMERS_SHEET,
    DEFAULT_END,
    INTERACTION_DEFECT_RATES,
    INTERACTIONS_ENCODING,
    INTERACTIONS_FILE,
    INTERACTIONS_HEADERS,
    MASTER_DEFECT_RATES,
    ONBOARDING,
    ORDER_DEFECT_RATES,
    ORDERS_ENCODING,
    ORDERS_FILE,
    ORDERS_HEADERS,
    SCORE_SCALE_0_10_CHANNELS,
    SUBSCRIPTIONS_ENCODING,
    SUBSCRIPTIONS_FILE,
    SUBSCRIPTIONS_HEADERS,
    USAGE_ENCODING,
    USAGE_FILE,
    USAGE_HEADERS,
)


def _rows(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    return frame[frame["_defect"] == label]


def _money(x: float) -> float:
    return round(float(x), 2)


def _counts(series: pd.Series) -> dict[Any, int]:
    return {k: int(v) for k, v in series.value_counts().sort_index().items()}


def build_manifest(data: dict[str, pd.DataFrame], *, seed: int, n_customers: int,
                   start: str, end: str) -> dict[str, Any]:
    """The injected counts and the truth's key figures, for tests of the cleaner.

    Every count is measured on the frames :func:`generate_b2b` returned, so it is exactly
    what the files hold.
    """
    o, ox = data["orders"], data["orders_export"]
    c, cx = data["customers"], data["customers_export"]
    i, ix = data["interactions"], data["interactions_export"]
    as_of = pd.Timestamp(end)
    q_this = as_of.to_period("Q")
    return {
        "generator": {"module": "kit.datasets", "function": "generate_b2b", "seed": seed,
                      "n_customers": n_customers, "start": start, "end": end,
                      "as_of": end, "period": str(q_this).replace("Q", "-Q")},
        "files": {
            ORDERS_FILE: {"encoding": ORDERS_ENCODING, "rows": int(len(ox)), "columns": list(ORDERS_HEADERS)},
            CUSTOMERS_FILE: {"sheet": CUSTOMERS_SHEET, "title_rows": 2, "header_row": 2,
                             "rows": int(len(cx)), "columns": list(CUSTOMERS_HEADERS)},
            INTERACTIONS_FILE: {"encoding": INTERACTIONS_ENCODING, "rows": int(len(ix)),
                                "columns": list(INTERACTIONS_HEADERS)},
            SUBSCRIPTIONS_FILE: {"encoding": SUBSCRIPTIONS_ENCODING, "rows": int(len(data["subscriptions_export"])),
                                 "columns": list(SUBSCRIPTIONS_HEADERS)},
            USAGE_FILE: {"encoding": USAGE_ENCODING, "rows": int(len(data["usage_export"])),
                         "columns": list(USAGE_HEADERS)},
        },
        "orders": _order_figures(o, ox),
        "customers": _customer_figures(c, cx),
        "interactions": {
            "rows": int(len(ix)), "true_interactions": int(len(i)),
            "defects": {k: {"rate": r, "count": int((ix["_defect"] == k).sum())}
                        for k, r in INTERACTION_DEFECT_RATES.items()},
            "types": _counts(i["type"]),
            "score_scale": {"0-10": SCORE_SCALE_0_10_CHANNELS, "0-100": "every other channel"},
            "scores_below_40": int((i["score"] < 40).sum()),
        },
        "truth": _truth_figures(o, c, i, as_of),
        "subscriptions": subscription_figures(data, as_of),
        "usage": usage_figures(data),
    }


def _order_figures(o: pd.DataFrame, ox: pd.DataFrame) -> dict[str, Any]:
    """Rows, true orders and amounts, each defect's rate, count and amount, formats, statuses."""
    order_defects: dict[str, Any] = {}
    for key, rate in ORDER_DEFECT_RATES.items():
        sel = _rows(ox, key)
        entry: dict[str, Any] = {"rate": rate, "count": int(len(sel))}
        if key not in ("zero_amount", "unparseable_amount"):
            entry["amount"] = _money(sel["_amount"].sum())
        order_defects[key] = entry
    ref = _rows(ox, "refund")
    order_defects["refund"].update({
        "full": int((ref["_refund_kind"] == "full").sum()),
        "partial": int((ref["_refund_kind"] == "partial").sum()),
        "parentheses": int((ref["_amount_format"] == "parentheses").sum()),
        "orders_referenced": int(ref["订单编号"].nunique()),
    })
    valid = ox[ox["_defect"] == ""]
    return {
        "rows": int(len(ox)), "true_orders": int(len(o)),
        "true_amount": _money(o["amount"].sum()), "refunded_amount": _money(o["refund_amount"].sum()),
        "net_amount": _money(o["net_amount"].sum()), "customers": int(o["customer_id"].nunique()),
        "rows_balance": "rows = true_orders + sum of defects' counts (refund rows included)",
        "defects": order_defects,
        "formats": {"order_date": _counts(valid["_date_format"]),
                    "amount": _counts(valid["_amount_format"]),
                    "customer_id": _counts(valid["_id_format"])},
        "status_true_orders": _counts(o["status"]),
        "overdue_true_orders": int((o["days_overdue"] > 0).sum()),
    }


def _customer_figures(c: pd.DataFrame, cx: pd.DataFrame) -> dict[str, Any]:
    """Master rows, the ids of each master defect, partner / leader / owner counts."""
    dup_ids = sorted(_rows(cx, "older_duplicate")["客户编号"].unique().tolist())
    absent = sorted(c.loc[c["has_orders"] & ~c["in_master"], "customer_id"].tolist())
    no_orders = sorted(c.loc[~c["has_orders"] & c["in_master"], "customer_id"].tolist())
    return {
        "rows": int(len(cx)), "unique_ids": int(cx["客户编号"].nunique()),
        "older_duplicate": {"rate": MASTER_DEFECT_RATES["older_duplicate"], "count": len(dup_ids), "ids": dup_ids},
        "ordering_customer_absent": {"rate": MASTER_DEFECT_RATES["ordering_customer_absent"],
                                     "count": len(absent), "ids": absent},
        "master_without_orders": {"rate": MASTER_DEFECT_RATES["master_without_orders"],
                                  "count": len(no_orders), "ids": no_orders},
        "strategic_partners": int(c["strategic_partner"].sum()),
        "industry_leaders": int(c["industry_leader"].sum()),
        "missing_account_manager": int(c["account_manager"].isna().sum()),
    }


def _truth_figures(o: pd.DataFrame, c: pd.DataFrame, i: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, Any]:
    """Archetypes, value tiers, upgraders, new categories, inactive high-value customers,
    new customers and their onboarding touchpoints, churners."""
    tiers = value_tiers(o, as_of)
    tier_counts = tiers["tier"].value_counts()
    q = o.assign(q=o["order_date"].dt.to_period("Q"))
    q_this = as_of.to_period("Q")
    qsum = q.groupby(["customer_id", "q"])["net_amount"].sum().unstack(fill_value=0.0)
    qcols = [q_this - 2, q_this - 1, q_this]
    qsum = qsum.reindex(columns=qcols, fill_value=0.0)
    grow = ((qsum[qcols[0]] > 0) & (qsum[qcols[1]] >= 1.2 * qsum[qcols[0]])
            & (qsum[qcols[2]] >= 1.2 * qsum[qcols[1]]))
    last = o.groupby("customer_id")["order_date"].max()
    six = last <= as_of - pd.DateOffset(months=6)
    hv_inactive = sorted(set(tiers.loc[tiers["tier"] == "high", "customer_id"]) & set(last[six].index))
    new = c[c["first_order_date"].dt.to_period("Q") == q_this].sort_values("customer_id")
    tp = i[i["touchpoint"] != ""]
    onboarding = {
        key: {"days_after_first_order": off, "types": types, "chance": p,
              "due": int(((new["first_order_date"] + pd.Timedelta(days=off)) <= as_of).sum()),
              "logged": int((tp["touchpoint"] == key).sum())}
        for key, (off, types, p) in ONBOARDING.items()
    }
    return {
        "archetypes": _counts(c["archetype"]),
        "value_tiers_12m": {
            "customers": int(len(tiers)),
            **{t: int(tier_counts.get(t, 0)) for t in ("high", "medium", "low")},
            "above_5m": int((tiers["amount_12m"] > 5_000_000).sum()),
            "basis": "net amount (after refunds) of true orders, order_date in (as_of - 12 months, as_of]",
        },
        "upgrade_growth_2q": {"count": int(grow.sum()), "ids": sorted(grow[grow].index.tolist()),
                              "rule": ">= 20 % quarter-on-quarter net amount growth in each of the last 2 quarters"},
        "new_category_last_quarter": {
            "count": int(c["new_category_last_quarter"].sum()),
            "ids": sorted(c.loc[c["new_category_last_quarter"], "customer_id"].tolist())},
        "high_value_inactive_6m": {"count": len(hv_inactive), "ids": hv_inactive},
        "new_customers": {
            "count": int(len(new)),
            "first_order_last_30_days": int((new["first_order_date"] > as_of - pd.Timedelta(days=30)).sum()),
            "onboarding": onboarding,
            "logged": {cid: sorted(g["touchpoint"].tolist()) for cid, g in tp.groupby("customer_id")},
        },
        "churners": _counts(c.loc[c["archetype"] == "churner", "churner_group"]),
        "ordering_customers": int(c["has_orders"].sum()),
    }


def sample_dynamics(data: dict[str, pd.DataFrame], as_of: str | pd.Timestamp = DEFAULT_END) -> dict[str, Any]:
    """Drop-out and spend figures of the truth, for the README (not part of the manifest).

    ``first_order_by_year``: ordering customers by the year of their first order in the window;
    ``dropped``: ordering customers who have dropped out by ``as_of``, ``dropped_by_year``:
    by the year of their last order. ``corr_frequency_spend``: Pearson correlation of
    frequency (repeat purchase days) and monetary value (mean amount of those days) over the
    ``repeat_buyers``, computed the lifetimes way on the net amounts of the true orders, as
    ``kit.clv.fit_gamma_gamma`` checks it.
    """
    c, o = data["customers"], data["orders"]
    as_of = pd.Timestamp(as_of)
    ordering = c[c["has_orders"]]
    gone = ordering["dropout_date"].dropna()
    paid = o[(o["net_amount"] > 0) & (o["order_date"] <= as_of)]
    daily = paid.groupby(["customer_id", paid["order_date"].dt.normalize()])["net_amount"].sum().reset_index()
    daily = daily.sort_values(["customer_id", "order_date"], kind="stable")
    repeat = daily[daily.groupby("customer_id").cumcount() > 0]
    per = repeat.groupby("customer_id")["net_amount"].agg(["size", "mean"])
    corr = float(np.corrcoef(per["size"], per["mean"])[0, 1]) if len(per) > 2 else float("nan")
    return {
        "first_order_by_year": {int(k): int(v) for k, v in
                                ordering["first_order_date"].dt.year.value_counts().sort_index().items()},
        "dropped": int(len(gone)),
        "dropped_by_year": {int(k): int(v) for k, v in gone.dt.year.value_counts().sort_index().items()},
        "repeat_buyers": int(len(per)),
        "corr_frequency_spend": round(corr, 3),
    }
