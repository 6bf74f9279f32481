"""The orders file as the ERP exports it: refunds, cancellations and every injected defect
added to the true orders, each cell written in one of the formats a real export mixes."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.datasets.common import _count, _format_amount, _format_dates, _format_id, _pick, _to_dates
from kit.datasets.orders import _assign_order_ids
from kit.datasets.spec import (
    AMOUNT_FORMATS,
    DATE_FORMATS,
    ID_FORMATS,
    ORDER_DEFECT_RATES,
    REFUND_FULL_SHARE,
    REFUND_PARENTHESES_SHARE,
    TEST_ACCOUNT_IDS,
    UNPARSEABLE_AMOUNTS,
    UNPARSEABLE_DATES,
    ZERO_AMOUNTS,
)


def _orders_export(rng: np.random.Generator, orders: pd.DataFrame, cust: pd.DataFrame,
                   start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders as the ERP would export them, with refunds, cancellations and defects added.

    Returns the truth with order ids, refunds and net amounts, and the export frame
    (Chinese headers, strings; hidden ``_defect`` / ``_*_format`` columns label each row).
    """
    n_true = len(orders)
    n_days = (end - start).days
    cnt = {k: _count(r, n_true) for k, r in ORDER_DEFECT_RATES.items()}
    extra = _extra_order_rows(rng, orders, cust, cnt, start, n_days)

    # order ids for true orders and extra rows together (unique per day)
    truth = orders.drop(columns="new_category").copy()
    truth["_defect"] = ""
    both = pd.concat([truth, extra], ignore_index=True)
    both.insert(1, "order_id", _assign_order_ids(both["_day"].to_numpy(), start, rng))
    orders = orders.assign(order_id=both["order_id"].to_numpy()[:n_true])
    extra = both.iloc[n_true:].reset_index(drop=True)
    truth = both.iloc[:n_true].reset_index(drop=True)

    orders, refunds = _refund_rows(rng, orders, truth, cust, cnt["refund"], start, n_days)
    # the formatted rows: true orders, refunds, extra defect rows
    rows = pd.concat([truth, refunds, extra], ignore_index=True)
    export = _export_rows(rng, rows)
    sort_day = rows["_day"].to_numpy().astype(float)

    # exact duplicates of true rows, next to their original
    dup_src = np.sort(rng.choice(n_true, size=cnt["duplicate_rows"], replace=False))
    dups = export.iloc[dup_src].copy()
    dups["_defect"] = "duplicate_rows"
    export = pd.concat([export, dups], ignore_index=True)
    sort_day = np.concatenate([sort_day, sort_day[dup_src]])
    # by date, in random order within a day; defect rows sit at their template's date
    order = np.lexsort((rng.random(len(export)), sort_day))
    export = export.iloc[order].reset_index(drop=True)

    orders = orders.drop(columns=["_tiebreak"]).rename(columns={"_day": "day"})
    orders = orders[["customer_id", "order_id", "order_date", "amount", "refund_amount", "net_amount",
                     "margin", "category", "channel", "quantity", "status", "days_overdue", "new_category"]]
    return orders, export


def _extra_order_rows(
    rng: np.random.Generator, orders: pd.DataFrame, cust: pd.DataFrame, cnt: dict[str, int],
    start: pd.Timestamp, n_days: int,
) -> pd.DataFrame:
    """Extra single-defect order rows, drawn from true orders as templates."""
    n_true = len(orders)
    ids_ordering = cust.loc[cust["has_orders"], "customer_id"].to_numpy()
    extra_kinds = ["missing_customer_id", "unparseable_date", "future_date", "zero_amount",
                   "cancelled", "test_account", "unparseable_amount"]
    kinds = np.array([k for k in extra_kinds for _ in range(cnt[k])], dtype=object)
    tmpl = orders.iloc[rng.integers(n_true, size=len(kinds))].reset_index(drop=True)
    extra = tmpl.drop(columns=["new_category"]).copy()
    extra["customer_id"] = ids_ordering[rng.integers(len(ids_ordering), size=len(kinds))]
    shift = rng.integers(-20, 21, size=len(kinds))
    day = np.clip(extra["_day"].to_numpy() + shift, 0, n_days)
    fut = kinds == "future_date"
    day[fut] = n_days + rng.integers(1, 271, size=int(fut.sum()))
    extra["_day"] = day
    extra["order_date"] = _to_dates(start, day).as_unit("s")
    # not a copy of the template: another amount, margin and quantity
    extra["amount"] = np.round(extra["amount"].to_numpy() * rng.uniform(0.6, 1.4, len(kinds)), 2)
    extra["margin"] = np.round(np.clip(extra["margin"].to_numpy() + rng.normal(0, 0.03, len(kinds)), 0.1, 0.5), 3)
    extra["quantity"] = np.maximum(1, np.round(extra["quantity"].to_numpy() * rng.uniform(0.5, 1.5, len(kinds)))).astype(int)
    extra["status"] = np.where(kinds == "cancelled", "已取消", "已完成")
    extra["days_overdue"] = 0
    extra["_defect"] = kinds
    return extra


def _refund_rows(
    rng: np.random.Generator, orders: pd.DataFrame, truth: pd.DataFrame, cust: pd.DataFrame,
    n_refunds: int, start: pd.Timestamp, n_days: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refunds: separate negative rows referencing a true order (upgraders' orders spared).

    Returns the orders with ``refund_amount`` and ``net_amount``, and the refund rows.
    """
    n_true = len(orders)
    upg_ids = cust.loc[cust["archetype"] == "upgrader", "customer_id"]
    eligible = np.flatnonzero(~orders["customer_id"].isin(upg_ids).to_numpy() & ~orders["new_category"].to_numpy())
    ref_idx = np.sort(rng.choice(eligible, size=n_refunds, replace=False))
    full = rng.random(len(ref_idx)) < REFUND_FULL_SHARE
    paid = orders["amount"].to_numpy()[ref_idx]
    ref_amount = np.where(full, paid, np.round(paid * rng.uniform(0.1, 0.7, len(ref_idx)), 2))
    refunds = truth.iloc[ref_idx].reset_index(drop=True)
    ref_day = np.minimum(refunds["_day"].to_numpy() + rng.integers(3, 61, size=len(ref_idx)), n_days)
    refunds["_day"] = ref_day
    refunds["order_date"] = _to_dates(start, ref_day).as_unit("s")
    refunds["amount"] = -ref_amount
    qty = refunds["quantity"].to_numpy()
    refunds["quantity"] = -np.where(full, qty, np.maximum(1, np.round(qty * ref_amount / paid))).astype(int)
    refunds["status"] = "退款"
    refunds["days_overdue"] = 0
    refunds["_defect"] = "refund"
    refunds["_refund_kind"] = np.where(full, "full", "partial")
    refund_per_order = np.zeros(n_true)
    refund_per_order[ref_idx] = ref_amount
    orders["refund_amount"] = refund_per_order
    orders["net_amount"] = np.round(orders["amount"] - orders["refund_amount"], 2)
    return orders, refunds


def _export_rows(rng: np.random.Generator, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as export strings under the Chinese headers, each cell in a drawn format and
    each defect written in; hidden columns label the defect and the formats."""
    m = len(rows)
    id_fmt = _pick(rng, ID_FORMATS, m)
    date_fmt = _pick(rng, DATE_FORMATS, m)
    amt_fmt = _pick(rng, AMOUNT_FORMATS, m)
    is_refund = (rows["_defect"] == "refund").to_numpy()
    amt_fmt[is_refund] = np.where(rng.random(int(is_refund.sum())) < REFUND_PARENTHESES_SHARE, "parentheses", "plain")
    defect = rows["_defect"].to_numpy()

    cid = [_format_id(c, k, rng) for c, k in zip(rows["customer_id"], id_fmt)]
    dates = _format_dates(pd.DatetimeIndex(rows["order_date"]), date_fmt, rng)
    amounts = [_format_amount(v, k) for v, k in zip(rows["amount"], amt_fmt)]
    for j in np.flatnonzero(defect == "missing_customer_id"):
        cid[j], id_fmt[j] = ["", " ", "\u3000"][rng.integers(3)], "missing"
    for j in np.flatnonzero(defect == "test_account"):
        cid[j], id_fmt[j] = TEST_ACCOUNT_IDS[rng.integers(len(TEST_ACCOUNT_IDS))], "test"
    for j in np.flatnonzero(defect == "unparseable_date"):
        dates[j], date_fmt[j] = UNPARSEABLE_DATES[rng.integers(len(UNPARSEABLE_DATES))], "unparseable"
    for j in np.flatnonzero(defect == "zero_amount"):
        amounts[j], amt_fmt[j] = ZERO_AMOUNTS[rng.integers(len(ZERO_AMOUNTS))], "zero"
    for j in np.flatnonzero(defect == "unparseable_amount"):
        amounts[j], amt_fmt[j] = UNPARSEABLE_AMOUNTS[rng.integers(len(UNPARSEABLE_AMOUNTS))], "unparseable"

    export = pd.DataFrame({
        "客户编号": cid, "订单编号": rows["order_id"].to_numpy(), "订单日期": dates, "实付金额": amounts,
        "毛利率": [f"{v:.3f}" for v in rows["margin"]], "产品类别": rows["category"].to_numpy(),
        "渠道": rows["channel"].to_numpy(), "数量": [str(int(v)) for v in rows["quantity"]],
        "订单状态": rows["status"].to_numpy(), "逾期天数": [str(int(v)) for v in rows["days_overdue"]],
    }, dtype="str")
    export["_defect"] = defect
    export["_refund_kind"] = rows.get("_refund_kind", pd.Series(index=rows.index, dtype="str")).fillna("").to_numpy()
    export["_amount"] = rows["amount"].to_numpy()
    export["_id_format"], export["_date_format"], export["_amount_format"] = id_fmt, date_fmt, amt_fmt
    return export
