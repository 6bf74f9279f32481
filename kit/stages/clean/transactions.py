"""The orders table's shared definitions: its optional columns, the monthly books of its
clean rows and the words of its quarantine details.

The transaction cleaning cascade itself -- the ordered rules (:mod:`kit.stages.cascade`),
duplicates, conflicts, refunds, outliers and the books -- is written once, as SQL, in
:mod:`kit.engines.duckdb_clean`: DuckDB runs it over the file or over the frame the pandas
reader read (:func:`kit.engines.clean_transactions`). The stage keeps what the SQL and the
pages share: the detail of a quarantined row (:func:`order_details`) and :func:`monthly`.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from kit.stages.clean.common import detail_json
from kit.stages.clean.orders import conflict_detail, conflict_detail_code
from kit.stages.features import purchase_mask

TEXT_COLUMNS_TX = ("category", "channel", "status", "payment_status")
CANONICAL_OPTIONAL_TX = (
    "profit", "margin", "category", "channel", "quantity", "status", "payment_status", "days_overdue",
)


def monthly(tx: pd.DataFrame) -> pd.DataFrame:
    """Purchases (:func:`kit.stages.features.purchase_mask`) per calendar month:
    ``orders`` (distinct order ids), ``revenue`` (net amount)."""
    p = tx[purchase_mask(tx).to_numpy()]
    month = p["order_date"].dt.to_period("M")
    g = p.groupby(month).agg(orders=("order_id", "nunique"), revenue=("amount", "sum"))
    if len(g):
        g = g.reindex(pd.period_range(g.index.min(), g.index.max(), freq="M"), fill_value=0)
    g.index.name = "month"
    return g


def order_details(q: pd.DataFrame, *, as_of: pd.Timestamp, order_id_column: bool, max_amount: float | None = None,
                  order_conflicts: str = "quarantine") -> tuple[list[str], list[str]]:
    """``(detail_code, detail_params)`` of quarantined order rows, from their values: the
    details of a quarantined row, from the values the cascade
    (:mod:`kit.engines.duckdb_clean`) keeps of it.

    ``q`` has the columns ``source_row, reason, first_row, exact_first, cid, oid, raw_date,
    raw_amount, raw_status, odate, order_net, conflict_rows, conflict_kept`` (the rows of the
    row's conflicting order id, and those kept); ``order_id_column``: whether the file has an
    order id column; ``max_amount`` and ``order_conflicts``: the cleaning config's.
    """
    def s(v: Any) -> str:
        return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)

    def rows(v: Any) -> list[int]:
        return [] if v is None or (not hasattr(v, "__len__") and pd.isna(v)) else [int(x) for x in v]

    as_of = pd.Timestamp(as_of)
    codes, params = [], []
    for r in q.itertuples(index=False):
        code, p = r.reason, {}
        if code == "duplicate":
            p = {"row": int(r.first_row)}
            code = "duplicate" if int(r.exact_first) == int(r.first_row) else "duplicate_normalized"
        elif code == "test_account":
            p = {"customer_id": s(r.cid)}
        elif code in ("bad_date", "bad_amount", "cancelled"):
            col, value = {"bad_date": ("order_date", r.raw_date), "bad_amount": ("amount", r.raw_amount),
                          "cancelled": ("status", r.raw_status)}[code]
            p = {"column": col, "value": s(value)}
        elif code == "implausible_amount":
            p = {"column": "amount", "value": s(r.raw_amount), "max": max_amount}
        elif code == "future_date":
            p = {"column": "order_date", "date": f"{pd.Timestamp(r.odate):%Y-%m-%d}", "as_of": f"{as_of:%Y-%m-%d}"}
        elif code == "order_conflict":
            p = conflict_detail(order_conflicts, s(r.oid), int(r.source_row), rows(r.conflict_rows),
                                rows(r.conflict_kept))
            code = conflict_detail_code(order_conflicts)
        elif code == "refund_unmatched":
            if not order_id_column:
                code = "refund_no_order_column"
            elif not s(r.oid):
                code = "refund_no_order_id"
            else:
                p = {"order_id": s(r.oid), "customer_id": s(r.cid)}
        elif code == "fully_refunded":
            p = {"order_id": s(r.oid), "net": _net(r.order_net)}
        codes.append(code)
        params.append(detail_json(p))
    return codes, params


def _net(v: float) -> float:
    """An order's net after refunds as a detail shows it (cents; no negative zero)."""
    return round(float(v), 2) + 0.0
