"""Clean an orders table: the rule cascade, refunds, outliers, the clean frame.

The steps of :func:`clean_transactions`, in order: parse the values
(:func:`_parse_orders`), run the quarantine rules, first rule wins
(:func:`_triage_orders`), handle refunds as the config says (:func:`_apply_refunds`,
:func:`net_refunds`), build the clean frame with its optional columns and outlier flags
(:func:`_clean_orders`), then the quarantine, the merged refunds and the books.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from kit.core.config import Cleaning
from kit.io.read import (
    RawTable,
    normalize_ids,
    normalize_text,
    parse_amounts,
    parse_dates,
    parse_numbers,
    parse_ratio,
)
from kit.stages.cascade import REFUND_DROPPED, status_keys, test_account_ids, tx_rules
from kit.stages.clean.books import reconcile
from kit.stages.clean.common import (
    MERGED_REASON,
    TableResult,
    _empty_merged,
    _duplicates,
    _invalid,
    _originals,
    _quarantine_frame,
    _reindexed,
    _Triage,
    _values,
    detail_json,
)
from kit.stages.clean.orders import (
    allocate_cents,
    check_unique_lines,
    conflict_detail,
    conflict_detail_code,
    line_columns,
    money,
    order_conflicts,
    order_duplicates,
    to_cents,
)
from kit.stages.features import purchase_mask

TEXT_COLUMNS_TX = ("category", "channel", "status", "payment_status")
CANONICAL_OPTIONAL_TX = (
    "profit", "margin", "category", "channel", "quantity", "status", "payment_status", "days_overdue",
)


@dataclass
class _Orders:
    """The parsed values of an orders file, aligned with its rows (index 0..n-1)."""

    raw: RawTable
    rows: np.ndarray
    cid: pd.Series
    oid: pd.Series
    has_oid: bool
    date: pd.Series
    date_ok: pd.Series
    amount_ok: pd.Series
    implausible: pd.Series  # parsed, but above cleaning.max_amount (or not finite)
    cancelled: pd.Series
    signed: pd.Series  # refund-status rows negative whatever the sign in the file; NaN: no plausible amount
    is_refund: pd.Series
    sign_flipped: int
    lines: dict[str, pd.Series]  # the order-line columns (cleaning.order_line_columns), normalised

    @property
    def day(self) -> pd.Series:
        return self.date.dt.normalize()

    @property
    def cents(self) -> pd.Series:
        """The signed amount in whole cents (float; NaN where there is no plausible amount)."""
        return pd.Series(np.rint(self.signed.to_numpy("float64") * 100), index=self.signed.index)


@dataclass
class _RefundOutcome:
    """What the refund rule did: returns kept, rows merged, the net factor per line."""

    is_return: np.ndarray
    merged_mask: np.ndarray
    factor: pd.Series
    net_amount: pd.Series  # a partly refunded order's lines: their share of the net, whole cents
    merged_into: pd.Series
    stats: dict[str, Any]


def _parse_orders(raw: RawTable, cleaning: Cleaning) -> _Orders:
    raw, f, rows = _reindexed(raw)
    cid = normalize_ids(raw.column("customer_id")).reset_index(drop=True)
    has_oid = "order_id" in raw.mapping
    oid = normalize_ids(raw.column("order_id")) if has_oid else pd.Series(pd.NA, index=f.index, dtype="str")
    date, date_ok = parse_dates(raw.column("order_date"))
    amount, amount_ok = parse_amounts(raw.column("amount"))
    implausible = amount_ok & ~(amount.abs() <= cleaning.max_amount).fillna(False)
    amount = amount.where(~implausible)
    if "status" in raw.mapping:
        skey = normalize_text(raw.column("status")).str.lower()
        cancelled = skey.isin(status_keys(cleaning.cancelled_statuses)).fillna(False).astype(bool)
        refund_status = skey.isin(status_keys(cleaning.refund_statuses)).fillna(False).astype(bool)
    else:
        cancelled = refund_status = pd.Series(False, index=f.index)
    signed = amount.where(~refund_status, -amount.abs())
    lines = {c: normalize_text(raw.column(c)).reset_index(drop=True)
             for c in line_columns(cleaning.order_line_columns, raw.mapping)}
    return _Orders(
        raw=raw, rows=rows, cid=cid, oid=oid, has_oid=has_oid, date=date, date_ok=date_ok, amount_ok=amount_ok,
        implausible=implausible.astype(bool), cancelled=cancelled, signed=signed,
        is_refund=((signed < 0).fillna(False) | refund_status).astype(bool),
        sign_flipped=int((refund_status & (amount > 0)).sum()), lines=lines,
    )


def _dups(o: _Orders) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(is_copy, first, exact)`` of :func:`kit.stages.clean.orders.order_duplicates`."""
    _, exact_first = _duplicates(o.raw)
    if not o.has_oid:
        first = pd.Series(np.asarray(exact_first, dtype="int64"))
        return first != pd.Series(o.rows), first, pd.Series(True, index=first.index)
    return order_duplicates(o.rows, exact_first, o.oid, o.cid, o.day, o.cents, o.cancelled, o.lines)


def _order_conditions(o: _Orders, cleaning: Cleaning, as_of: pd.Timestamp, test_customer_ids: Iterable[str],
                      dups: Callable[[], tuple[pd.Series, pd.Series, pd.Series]],
                      conflicts: Callable[[], tuple[np.ndarray, dict[int, dict[str, Any]]]]):
    """The row condition of each rule of :data:`kit.stages.cascade.TX_RULES`, as a boolean
    mask (computed when the rule is active, in the cascade's order)."""
    cid = o.cid
    return {
        "is_copy": lambda: dups()[0],
        "no_customer_id": lambda: cid.isna(),
        "is_test": lambda: cid.isin(test_account_ids(cid.dropna().unique(), cleaning.test_account_pattern,
                                                     test_customer_ids)).fillna(False),
        "bad_date": lambda: ~o.date_ok,
        "bad_amount": lambda: ~o.amount_ok,
        "is_implausible": lambda: o.implausible,
        "is_cancelled": lambda: o.cancelled,
        "is_future": lambda: (o.date.dt.normalize() > as_of).fillna(False),
        "is_zero": lambda: (o.signed == 0).fillna(False),
        "is_conflict": lambda: conflicts()[0],
    }


def _order_params(o: _Orders, as_of: pd.Timestamp, max_amount: float,
                  dups: Callable[[], tuple[pd.Series, pd.Series, pd.Series]],
                  conflicts: Callable[[], tuple[np.ndarray, dict[int, dict[str, Any]]]]) -> dict[str, Any]:
    """The detail parameters of each reason: a function of the row mask, one mapping per row."""
    raw, cid = o.raw, o.cid

    def raw_values(col: str):
        return lambda m: [{"column": col, "value": v} for v in _values(raw.column(col), m)]

    def first_rows(m: np.ndarray):
        first = dups()[1]
        return [{"row": int(r)} for r in first[m]]

    return {
        "duplicate": first_rows,
        "test_account": lambda m: [{"customer_id": v} for v in _values(cid, m)],
        "bad_date": raw_values("order_date"),
        "bad_amount": raw_values("amount"),
        "implausible_amount": lambda m: [{"column": "amount", "value": v, "max": max_amount}
                                         for v in _values(raw.column("amount"), m)],
        "order_conflict": lambda m: [conflicts()[1][int(i)] for i in np.flatnonzero(m)],
        "cancelled": raw_values("status"),
        "future_date": lambda m: [{"column": "order_date", "date": f"{d:%Y-%m-%d}", "as_of": f"{as_of:%Y-%m-%d}"}
                                  for d in o.date[m]],
    }


def _triage_orders(o: _Orders, cleaning: Cleaning, as_of: pd.Timestamp, test_customer_ids: Iterable[str]) -> _Triage:
    """The quarantine rules before refunds: the cascade of :func:`kit.stages.cascade.tx_rules`,
    in its order (first rule that holds wins)."""
    tri = _Triage(len(o.rows))
    dups = cache(lambda: _dups(o))  # (is_copy, first row, exact): computed once, when needed
    conflicts = cache(lambda: order_conflicts(tri.open() & ~o.is_refund.to_numpy(), o.rows, o.oid, o.cid, o.day,
                                              o.cents, o.lines, cleaning.order_conflicts))
    conditions = _order_conditions(o, cleaning, as_of, test_customer_ids, dups, conflicts)
    params = _order_params(o, as_of, cleaning.max_amount, dups, conflicts)
    codes: dict[str, Any] = {
        "duplicate": lambda m: np.where(dups()[2].to_numpy()[m], "duplicate", "duplicate_normalized"),
        "order_conflict": conflict_detail_code(cleaning.order_conflicts),
    }
    for rule in tx_rules(cleaning, o.raw.mapping):
        tri.mark(rule.code, conditions[rule.condition](), params.get(rule.code), detail_code=codes.get(rule.code))
    return tri


def _apply_refunds(o: _Orders, tri: _Triage, cleaning: Cleaning) -> _RefundOutcome:
    """Refund rows still open: kept as returns, quarantined, or netted against their order."""
    n = len(o.rows)
    alive = tri.open()
    refund = alive & o.is_refund.to_numpy()
    out = _RefundOutcome(
        is_return=np.zeros(n, dtype=bool), merged_mask=np.zeros(n, dtype=bool),
        factor=pd.Series(1.0, index=o.cid.index), net_amount=pd.Series(np.nan, index=o.cid.index),
        merged_into=pd.Series(pd.NA, index=o.cid.index, dtype="str"),
        stats={"mode": cleaning.refunds, "rows": int(refund.sum()), "sign_flipped": o.sign_flipped,
               "netted": 0, "unmatched": 0, "fully_refunded_orders": 0, "dropped": 0, "kept": 0},
    )
    if cleaning.refunds == "drop":
        out.stats["dropped"] = tri.mark(REFUND_DROPPED, refund)
    elif cleaning.refunds == "keep":
        out.is_return = refund.copy()
        out.stats["kept"] = int(refund.sum())
    elif refund.any():
        if not o.has_oid:
            out.stats["unmatched"] = tri.mark("refund_unmatched", refund, detail_code="refund_no_order_column")
        else:
            net_refunds(tri, refund, alive & ~o.is_refund.to_numpy(), o.cid, o.oid, o.signed, out,
                        cleaning.amount_tolerance)
            out.merged_mask = tri.reason == MERGED_REASON
            tri.clear(out.merged_mask)  # merged rows are accounted for apart from quarantine
    return out


def net_refunds(
    tri: _Triage,
    refund: np.ndarray,
    purchase: np.ndarray,
    cid: pd.Series,
    oid: pd.Series,
    signed: pd.Series,
    out: _RefundOutcome,
    tolerance: float,
) -> None:
    """Net refund rows against the clean orders with the same customer and order id, in
    whole cents (:func:`kit.stages.clean.orders.to_cents`).

    ``purchase`` marks the order lines a refund can be netted against (open rows that are
    not refunds). Marks in ``tri``: refunds without such an order ``refund_unmatched``;
    orders whose net is at or below ``tolerance`` and their refunds ``fully_refunded``;
    the other matched refunds :data:`MERGED_REASON`. On the lines of a partly refunded order
    sets ``out.net_amount`` (the order's net spread over its lines in whole cents that add up
    exactly: :func:`kit.stages.clean.orders.allocate_cents`) and ``out.factor`` (net / gross,
    for profit); ``out.merged_into`` on merged refunds. Integer codes keep it vectorised.
    """
    stats = out.stats
    key = cid.fillna("") + "\x1f" + oid
    codes, uniques = pd.factorize(key, use_na_sentinel=True)
    k = len(uniques)
    valid = codes >= 0
    c = np.where(valid, codes, 0)
    cents = to_cents(signed.to_numpy("float64")).astype("int64")  # plausible amounts: <= 1e13
    buy = purchase & valid
    order_c = np.zeros(k, dtype="int64")
    np.add.at(order_c, c[buy], cents[buy])
    has_order = np.bincount(c[buy], minlength=k) > 0
    matched = refund & valid & has_order[c]
    unmatched = refund & ~matched
    no_oid = unmatched & oid.isna().to_numpy()
    stats["unmatched"] = tri.mark("refund_unmatched", no_oid, detail_code="refund_no_order_id")
    stats["unmatched"] += tri.mark(
        "refund_unmatched", unmatched & ~no_oid,
        lambda m: [{"order_id": o, "customer_id": i} for o, i in zip(_values(oid, m), _values(cid, m))])
    ref_c = np.zeros(k, dtype="int64")
    np.add.at(ref_c, c[matched], cents[matched])
    has_refund = np.bincount(c[matched], minlength=k) > 0
    net_c = order_c + ref_c
    full = has_refund & (net_c <= int(to_cents([tolerance])[0]))
    partial = has_refund & ~full
    stats["fully_refunded_orders"] = int(full.sum())
    row_full = valid & full[c] & (buy | matched)
    tri.mark("fully_refunded", row_full, lambda m: [
        {"order_id": o, "net": money(int(v))} for o, v in zip(_values(oid, m), net_c[c[m]])])
    row_partial = valid & partial[c]
    stats["netted"] = tri.mark(MERGED_REASON, matched & row_partial)
    lines = buy & row_partial
    ratio = np.divide(net_c, order_c, out=np.ones(k), where=partial)
    out.factor[lines] = ratio[c[lines]]
    alloc = allocate_cents(c[lines], cents[lines], net_c, order_c)
    out.net_amount[lines] = [int(a) / 100 for a in alloc]
    out.merged_into[matched & row_partial] = oid[matched & row_partial]


def flag_outliers(tx: pd.DataFrame, cleaning: Cleaning) -> dict[str, Any]:
    """Flag unusually large purchases (``cleaning.outliers``); returns ``mask`` (bool
    Series aligned with ``tx``), ``method``, ``threshold`` (currency) and ``count``.

    ``iqr``: amount > exp(Q3 + k * IQR) of log amounts; ``zscore``: z of log amount > z;
    ``quantile``: amount above the quantile. Only purchases
    (:func:`kit.stages.features.purchase_mask`) count.
    """
    rule = cleaning.outliers
    mask = pd.Series(False, index=tx.index)
    purchases = purchase_mask(tx)
    base = tx["amount"][purchases]
    threshold = None
    if rule.method != "none" and len(base) >= 4:
        if rule.method == "quantile":
            threshold = float(base.quantile(rule.quantile))
        else:
            la = np.log(base)
            if rule.method == "iqr":
                q1, q3 = la.quantile(0.25), la.quantile(0.75)
                threshold = float(np.exp(q3 + rule.iqr_factor * (q3 - q1)))
            else:
                sd = la.std()
                threshold = float(np.exp(la.mean() + rule.zscore * sd)) if sd > 0 else None
        if threshold is not None:
            mask = purchases & (tx["amount"] > threshold)
    return {"mask": mask.astype(bool), "method": rule.method, "threshold": threshold,
            "count": int(mask.sum())}


def _optional_columns(o: _Orders, keep: np.ndarray, factor: pd.Series) -> tuple[dict[str, pd.Series], dict[str, int]]:
    """The optional canonical columns present in the file, parsed, of the kept rows; and
    the count of values that did not parse per numeric column."""
    raw = o.raw
    out: dict[str, pd.Series] = {}
    invalid: dict[str, int] = {}
    for col in CANONICAL_OPTIONAL_TX:
        if col not in raw.mapping:
            continue
        src = raw.column(col)
        if col in TEXT_COLUMNS_TX:
            out[col] = normalize_text(src)[keep]
            continue
        parser = parse_ratio if col == "margin" else parse_amounts if col == "profit" else parse_numbers
        vals, ok = parser(src)
        invalid[col] = _invalid(src, ok, keep)
        if col == "profit":
            vals = vals * factor
        out[col] = vals[keep].astype("float64")
    return out, invalid


def _clean_orders(o: _Orders, keep: np.ndarray, r: _RefundOutcome, cleaning: Cleaning):
    """The clean orders frame, the invalid-value counts and the outlier rule's result."""
    index = o.cid.index
    out: dict[str, pd.Series] = {
        "customer_id": o.cid[keep],
        "order_id": (o.oid if o.has_oid else "row-" + pd.Series(o.rows, index=index).astype("str"))[keep],
        "order_date": o.date[keep],
        "amount": o.signed.where(r.net_amount.isna(), r.net_amount)[keep].astype("float64"),
    }
    optional, invalid = _optional_columns(o, keep, r.factor)
    out.update(optional)
    out["is_return"] = pd.Series(r.is_return[keep], index=index[keep])
    clean = pd.DataFrame(out)
    clean["is_outlier"] = False
    outliers = flag_outliers(clean, cleaning)
    clean["is_outlier"] = outliers["mask"]
    clean["source_row"] = o.rows[keep].astype("int64")
    clean = clean.reset_index(drop=True)
    clean["customer_id"] = clean["customer_id"].astype("str")
    clean["order_id"] = clean["order_id"].astype("str")
    return clean, invalid, outliers


def _merged_orders(o: _Orders, r: _RefundOutcome) -> pd.DataFrame:
    """The refund rows netted into their orders."""
    m = r.merged_mask
    if not m.any():
        return _empty_merged()
    raw = o.raw
    return pd.DataFrame({
        "table": raw.table, "source_file": raw.display_path,
        "source_row": o.rows[m].astype("int64"), "reason": MERGED_REASON,
        "customer_id": o.cid[m].to_numpy(), "order_id": o.oid[m].to_numpy(),
        "amount": o.signed[m].to_numpy().astype("float64"), "merged_into": r.merged_into[m].to_numpy(),
        "original": _originals(raw, m),
    }).astype({"table": "str", "source_file": "str", "reason": "str", "customer_id": "str",
               "order_id": "str", "merged_into": "str", "original": "str"})


def clean_transactions(
    raw: RawTable,
    cleaning: Cleaning,
    as_of: pd.Timestamp,
    *,
    test_customer_ids: Iterable[str] = (),
) -> TableResult:
    """Clean an orders table.

    ``raw`` (strings, mapped) -> clean transactions with ``customer_id, order_id,
    order_date, amount`` [optional canonical columns] ``is_return, is_outlier,
    source_row``; quarantined and merged rows; the reconciliation (raises
    :class:`ReconciliationError` when the books do not balance).
    ``test_customer_ids`` are customers the master marks as test accounts.
    """
    as_of = pd.Timestamp(as_of).normalize()
    o = _parse_orders(raw, cleaning)
    tri = _triage_orders(o, cleaning, as_of, test_customer_ids)
    refunds = _apply_refunds(o, tri, cleaning)
    clean, invalid, outliers = _clean_orders(o, tri.open() & ~refunds.merged_mask, refunds, cleaning)
    quarantine = _quarantine_frame(o.raw, tri, ~tri.open(), o.cid, o.signed)
    merged = _merged_orders(o, refunds)
    books = reconcile(o.raw.table, o.rows, clean, quarantine, merged, source_amounts=o.signed.fillna(0.0).to_numpy())
    if cleaning.duplicates == "quarantine":
        check_unique_lines(o.raw.table, clean, list(o.lines))
    stats = {
        "refunds": refunds.stats,
        "outliers": {k: v for k, v in outliers.items() if k != "mask"},
        "invalid_values": invalid,
        "order_id_synthesized": not o.has_oid,
        "unparseable_amount_counts_zero": True,
        "implausible_amount_counts_zero": True,
    }
    return TableResult(o.raw.table, clean, quarantine, merged, books, stats)


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
    details :func:`clean_transactions` gives, for an engine that finds the reasons apart
    (:mod:`kit.engines.duckdb_clean`).

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
