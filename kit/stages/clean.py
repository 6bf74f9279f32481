"""Clean the inputs, quarantine what cannot be cleaned with a reason, and balance the books.

Data shape: :class:`kit.io.RawTable` (strings as read) -> clean canonical, typed frames
(``docs/CONTRACTS.md``), one quarantine frame and one frame of merged rows.

Every source row ends in exactly one of three places:

* the **clean** table;
* **quarantine**, with a reason code (:data:`REASONS`), the source file, the row number a
  person sees in Excel or an editor, and the original values;
* **merged** into another row: a refund netted against its order (``refund_netted``).

Rules run in a fixed order and the first that applies gives the reason, so each row is
counted once: ``duplicate`` (an exact copy of an earlier row; the first copy stays and is
judged on its own), ``missing_customer_id``, ``test_account``, ``bad_date``, ``bad_amount``,
``cancelled``, ``future_date``, ``zero_amount``; then refunds (``refunds`` in the config):

* ``net``: a refund (negative amount, or a refund status whatever the sign) is subtracted
  from the clean order with the same customer and order id; an order of several lines takes
  the refund in proportion to its lines (profit too). The refund row is *merged*. A refund
  without such an order is quarantined as ``refund_unmatched``. An order whose net is at or
  below ``amount_tolerance`` goes to quarantine with its refunds as ``fully_refunded``.
* ``keep``: refunds stay in the clean table with ``is_return`` True and a negative amount.
* ``drop``: refunds are quarantined as ``refund_dropped``.

Outliers (``cleaning.outliers``) are flagged in ``is_outlier`` and kept.

**Amounts** are signed: a refund-status row counts negative even when the export shows a
positive number. An unparseable amount counts 0 (and its row is quarantined as
``bad_amount``). Each row's source amount lands in one bucket, so per table::

    source_rows   = clean_rows + quarantined_rows + merged_rows
    source_amount = clean_amount + quarantined_amount + merged_amount
    clean_net_amount = clean_amount + merged_amount

where ``clean_amount`` is the source amount of the rows that ended clean (before netting),
``merged_amount`` the refunds netted into them (negative), and ``clean_net_amount`` the sum
of the clean table's ``amount``. :func:`reconcile` checks these on the output frames
(and that no source row is missing or appears twice) and raises
:class:`ReconciliationError` when they do not hold.

The customer master follows the same rules (``duplicate``, ``missing_customer_id``,
``test_account`` on id or name) and then keeps the latest row per customer id (by
``updated_at``, else the later row): the others are quarantined as ``duplicate_id``.
Interactions: ``duplicate``, ``missing_customer_id``, ``test_account``, ``bad_date``,
``future_date``; scores on a 0-10 scale are put on 0-100.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np
import pandas as pd

from kit.core.config import Cleaning, KitConfig
from kit.present.labels import tr as _t
from kit.io.read import (
    SOURCE_ROW,
    RawTable,
    normalize_ids,
    normalize_text,
    parse_amounts,
    parse_dates,
    parse_numbers,
    parse_ratio,
    read_table,
)

if TYPE_CHECKING:  # pragma: no cover
    from kit.publish.context import RunContext

#: Reason codes (stored in English) and their labels (zh, en).
REASONS: dict[str, tuple[str, str]] = {
    "duplicate": ("完全重复行", "Exact duplicate row"),
    "missing_customer_id": ("缺少客户编号", "Missing customer id"),
    "test_account": ("测试账户", "Test account"),
    "bad_date": ("日期缺失或无法识别", "Missing or unparseable date"),
    "bad_amount": ("金额缺失或无法识别", "Missing or unparseable amount"),
    "cancelled": ("已取消订单", "Cancelled order"),
    "future_date": ("日期晚于截止日", "Date after the period end"),
    "zero_amount": ("金额为零", "Zero amount"),
    "refund_unmatched": ("退款找不到原订单", "Refund without a matching order"),
    "refund_dropped": ("退款（按配置剔除）", "Refund (dropped by config)"),
    "fully_refunded": ("订单已全额退款", "Order refunded in full"),
    "duplicate_id": ("重复客户编号（保留最新）", "Duplicate customer id (latest kept)"),
    "refund_netted": ("退款已冲抵原订单", "Refund netted against its order"),
}

#: Code of rows merged into another row (not quarantined).
MERGED_REASON = "refund_netted"

TABLE_LABELS: dict[str, tuple[str, str]] = {
    "transactions": ("交易", "Transactions"),
    "customers": ("客户主数据", "Customer master"),
    "interactions": ("互动记录", "Interactions"),
}

#: Growth-stage values mapped to the keys the kit stores (unknown values are kept as given).
#: The config's default mapping (``cleaning.growth_stages``), for callers without a config.
GROWTH_STAGES: dict[str, str] = Cleaning().growth_stages

FLAG_TRUE = frozenset({"是", "y", "yes", "true", "t", "1", "√", "✓", "有", "x"})
FLAG_FALSE = frozenset({"否", "n", "no", "false", "f", "0", "×", "无", "不是"})

INTERACTION_TYPES = ("inquiry", "complaint", "survey", "login", "visit", "referral", "call")

#: Ids listed in quality.json per coverage gap (the counts are always complete).
MAX_LISTED = 1000

QUARANTINE_COLUMNS = [
    "table", "source_file", "source_row", "reason", "detail", "customer_id", "amount", "original",
]
MERGED_COLUMNS = ["table", "source_file", "source_row", "reason", "customer_id", "order_id",
                  "amount", "merged_into", "original"]


class ReconciliationError(RuntimeError):
    """The books of a table do not balance: rows or amounts were lost or counted twice."""


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass
class TableResult:
    """One table cleaned: the clean frame, its quarantined and merged rows, its books."""

    table: str
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    merged: pd.DataFrame
    reconciliation: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class CleanResult:
    """Everything notebook 01 shows and writes."""

    transactions: pd.DataFrame
    customers: pd.DataFrame | None
    interactions: pd.DataFrame | None
    quarantine: pd.DataFrame
    merged: pd.DataFrame
    quality: dict[str, Any]
    mapping: dict[str, dict[str, str]]


# --------------------------------------------------------------------------------------
# Row triage: one reason per row, first rule wins
# --------------------------------------------------------------------------------------


class _Triage:
    def __init__(self, n: int):
        self.reason = np.full(n, None, dtype=object)
        self.detail = np.full(n, None, dtype=object)

    def open(self) -> np.ndarray:
        return pd.isna(self.reason)

    def mark(
        self,
        code: str,
        mask: pd.Series | np.ndarray,
        detail: Callable[[np.ndarray], Iterable[str]] | str | None = None,
    ) -> int:
        m = self.open() & np.asarray(pd.Series(mask).fillna(False), dtype=bool)
        if not m.any():
            return 0
        self.reason[m] = code
        if callable(detail):
            self.detail[m] = np.asarray(list(detail(m)), dtype=object)
        elif detail is not None:
            self.detail[m] = detail
        return int(m.sum())


def _values(s: pd.Series, m: np.ndarray) -> list[str]:
    return ["" if pd.isna(v) else str(v) for v in s[m].to_numpy()]


def _originals(raw: RawTable, m: np.ndarray) -> list[str]:
    """The source values of the rows in ``m``, one JSON object per row (header: value)."""
    if not m.any():
        return []
    text = raw.frame.loc[m, raw.source_columns].to_json(orient="records", lines=True, force_ascii=False)
    # to_json escapes "/" as "\/"; undo it (an escaped backslash stays escaped)
    return text.replace("\\/", "/").split("\n")[: int(m.sum())]


def _quarantine_frame(
    raw: RawTable, tri: _Triage, m: np.ndarray, cid: pd.Series, amount: pd.Series | None
) -> pd.DataFrame:
    rows = raw.frame[SOURCE_ROW].to_numpy()[m]
    return pd.DataFrame({
        "table": pd.Series([raw.table] * int(m.sum()), dtype="str"),
        "source_file": pd.Series([raw.display_path] * int(m.sum()), dtype="str"),
        "source_row": rows.astype("int64"),
        "reason": pd.Series(tri.reason[m], dtype="str"),
        "detail": pd.Series(tri.detail[m], dtype="str"),
        "customer_id": pd.Series(cid[m].to_numpy(), dtype="str"),
        "amount": (amount.to_numpy()[m] if amount is not None else np.full(int(m.sum()), np.nan)).astype("float64"),
        "original": pd.Series(_originals(raw, m), dtype="str"),
    }, columns=QUARANTINE_COLUMNS)


def _empty_merged() -> pd.DataFrame:
    return pd.DataFrame({
        "table": pd.Series([], dtype="str"), "source_file": pd.Series([], dtype="str"),
        "source_row": pd.Series([], dtype="int64"), "reason": pd.Series([], dtype="str"),
        "customer_id": pd.Series([], dtype="str"), "order_id": pd.Series([], dtype="str"),
        "amount": pd.Series([], dtype="float64"), "merged_into": pd.Series([], dtype="str"),
        "original": pd.Series([], dtype="str"),
    })


def _regex_mask(s: pd.Series, pattern: str) -> pd.Series:
    """``pattern`` searched in each value (Python ``re``, on unique values only)."""
    if not pattern:
        return pd.Series(False, index=s.index)
    rx = re.compile(pattern)
    uniq = s.dropna().unique()
    hits = {u for u in uniq if rx.search(str(u))}
    return s.isin(hits).fillna(False).astype(bool)


def _lower_set(values: Iterable[str]) -> set[str]:
    import unicodedata

    return {unicodedata.normalize("NFKC", v).strip().lower() for v in values}


def _duplicates(raw: RawTable) -> tuple[pd.Series, pd.Series]:
    """Exact duplicate rows: ``(is_copy, first)`` where ``is_copy`` marks every copy after
    the first and ``first`` is the source row of each row's first copy.

    Rows are grouped by a 64-bit hash of all their source values (one pass, fast on
    millions of rows), and each copy is then compared value by value with its first copy,
    so a hash collision can never quarantine a row that differs.
    """
    cols = raw.source_columns
    frame = raw.frame
    key = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
    first_pos = pd.Series(np.arange(len(frame))).groupby(key).transform("first").to_numpy()
    copy = first_pos != np.arange(len(frame))
    if copy.any():
        cand = np.flatnonzero(copy)
        same = (frame[cols].iloc[cand].to_numpy() == frame[cols].iloc[first_pos[cand]].to_numpy()).all(axis=1)
        copy[cand[~same]] = False
    first = pd.Series(frame[SOURCE_ROW].to_numpy()[first_pos])
    return pd.Series(copy), first


def _invalid(raw_col: pd.Series, ok: pd.Series, keep: np.ndarray) -> int:
    """Values present in the source that did not parse, among the kept rows."""
    present = normalize_text(raw_col).notna().to_numpy()
    return int((present & ~ok.to_numpy() & keep).sum())


# --------------------------------------------------------------------------------------
# Transactions
# --------------------------------------------------------------------------------------

TEXT_COLUMNS_TX = ("category", "channel", "status", "payment_status")


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
    f = raw.frame.reset_index(drop=True)
    raw = _replace_frame(raw, f)
    n = len(f)
    rows = f[SOURCE_ROW].to_numpy()
    cid = normalize_ids(raw.column("customer_id")).reset_index(drop=True)
    has_oid = "order_id" in raw.mapping
    oid = normalize_ids(raw.column("order_id")) if has_oid else pd.Series(pd.NA, index=f.index, dtype="str")
    date, date_ok = parse_dates(raw.column("order_date"))
    amount, amount_ok = parse_amounts(raw.column("amount"))
    if "status" in raw.mapping:
        skey = normalize_text(raw.column("status")).str.lower()
        cancelled = skey.isin(_lower_set(cleaning.cancelled_statuses)).fillna(False).astype(bool)
        refund_status = skey.isin(_lower_set(cleaning.refund_statuses)).fillna(False).astype(bool)
    else:
        cancelled = refund_status = pd.Series(False, index=f.index)
    signed = amount.where(~refund_status, -amount.abs())
    sign_flipped = int((refund_status & (amount > 0)).sum())
    is_refund = ((signed < 0).fillna(False) | refund_status).astype(bool)

    tri = _Triage(n)
    if cleaning.duplicates == "quarantine":
        dup, first = _duplicates(raw)
        tri.mark("duplicate", dup, lambda m: ("duplicate of row " + first[m].astype(str)).tolist())
    tri.mark("missing_customer_id", cid.isna(), "customer id is empty")
    test = _regex_mask(cid, cleaning.test_account_pattern) | cid.isin(set(test_customer_ids)).fillna(False)
    tri.mark("test_account", test, lambda m: [f"customer_id={v}" for v in _values(cid, m)])
    date_raw = raw.column("order_date")
    tri.mark("bad_date", ~date_ok, lambda m: [f"order_date={v!r}" for v in _values(date_raw, m)])
    amount_raw = raw.column("amount")
    tri.mark("bad_amount", ~amount_ok, lambda m: [f"amount={v!r}" for v in _values(amount_raw, m)])
    if "status" in raw.mapping:
        status_raw = raw.column("status")
        tri.mark("cancelled", cancelled, lambda m: [f"status={v}" for v in _values(status_raw, m)])
    if cleaning.future_dates == "quarantine":
        future = (date.dt.normalize() > as_of).fillna(False)
        tri.mark("future_date", future,
                 lambda m: [f"order_date {d:%Y-%m-%d} > {as_of:%Y-%m-%d}" for d in date[m]])
    if cleaning.zero_amount == "quarantine":
        tri.mark("zero_amount", (signed == 0).fillna(False), "amount is 0")

    alive = tri.open()
    refund = alive & is_refund.to_numpy()
    is_return = np.zeros(n, dtype=bool)
    merged_mask = np.zeros(n, dtype=bool)
    factor = pd.Series(1.0, index=f.index)
    merged_into = pd.Series(pd.NA, index=f.index, dtype="str")
    refunds = {"mode": cleaning.refunds, "rows": int(refund.sum()), "sign_flipped": sign_flipped,
               "netted": 0, "unmatched": 0, "fully_refunded_orders": 0, "dropped": 0, "kept": 0}
    if cleaning.refunds == "drop":
        refunds["dropped"] = tri.mark("refund_dropped", refund, "refund (refunds: drop)")
    elif cleaning.refunds == "keep":
        is_return = refund.copy()
        refunds["kept"] = int(refund.sum())
    elif refund.any():
        if not has_oid:
            refunds["unmatched"] = tri.mark(
                "refund_unmatched", refund, "no order id column to match the refund to its order")
        else:
            net_refunds(tri, refund, alive & ~is_refund.to_numpy(), cid, oid, signed, factor, merged_into,
                        refunds, cleaning.amount_tolerance)
            merged_mask = tri.reason == MERGED_REASON
            tri.reason[merged_mask] = None  # merged rows are accounted for apart from quarantine
            tri.detail[merged_mask] = None

    clean_mask = tri.open() & ~merged_mask
    net_amount = signed * factor

    # ---- clean frame ----------------------------------------------------------------
    out: dict[str, pd.Series] = {
        "customer_id": cid[clean_mask],
        "order_id": (oid if has_oid else "row-" + pd.Series(rows, index=f.index).astype("str"))[clean_mask],
        "order_date": date[clean_mask],
        "amount": net_amount[clean_mask].astype("float64"),
    }
    invalid: dict[str, int] = {}
    for col in CANONICAL_OPTIONAL_TX:
        if col not in raw.mapping:
            continue
        src = raw.column(col)
        if col in TEXT_COLUMNS_TX:
            out[col] = normalize_text(src)[clean_mask]
            continue
        parser = parse_ratio if col == "margin" else parse_amounts if col == "profit" else parse_numbers
        vals, ok = parser(src)
        invalid[col] = _invalid(src, ok, clean_mask)
        if col == "profit":
            vals = vals * factor
        out[col] = vals[clean_mask].astype("float64")
    out["is_return"] = pd.Series(is_return[clean_mask], index=f.index[clean_mask])
    clean = pd.DataFrame(out)
    clean["is_outlier"] = False
    outliers = flag_outliers(clean, cleaning)
    clean["is_outlier"] = outliers["mask"]
    clean["source_row"] = rows[clean_mask].astype("int64")
    clean = clean.reset_index(drop=True)
    clean["customer_id"] = clean["customer_id"].astype("str")
    clean["order_id"] = clean["order_id"].astype("str")

    # ---- quarantine and merged ------------------------------------------------------
    q_mask = ~tri.open()
    quarantine = _quarantine_frame(raw, tri, q_mask, cid, signed)
    merged = _empty_merged()
    if merged_mask.any():
        m = merged_mask
        merged = pd.DataFrame({
            "table": raw.table, "source_file": raw.display_path,
            "source_row": rows[m].astype("int64"), "reason": MERGED_REASON,
            "customer_id": cid[m].to_numpy(), "order_id": oid[m].to_numpy(),
            "amount": signed[m].to_numpy().astype("float64"), "merged_into": merged_into[m].to_numpy(),
            "original": _originals(raw, m),
        }).astype({"table": "str", "source_file": "str", "reason": "str", "customer_id": "str",
                   "order_id": "str", "merged_into": "str", "original": "str"})

    books = reconcile(
        raw.table, rows, clean, quarantine, merged,
        source_amounts=signed.fillna(0.0).to_numpy(), tolerance=cleaning.amount_tolerance,
    )
    stats = {
        "refunds": refunds,
        "outliers": {k: v for k, v in outliers.items() if k != "mask"},
        "invalid_values": invalid,
        "order_id_synthesized": not has_oid,
        "unparseable_amount_counts_zero": True,
    }
    return TableResult(raw.table, clean, quarantine, merged, books, stats)


def net_refunds(
    tri: _Triage,
    refund: np.ndarray,
    purchase: np.ndarray,
    cid: pd.Series,
    oid: pd.Series,
    signed: pd.Series,
    factor: pd.Series,
    merged_into: pd.Series,
    stats: dict[str, Any],
    tolerance: float,
) -> None:
    """Net refund rows against the clean orders with the same customer and order id.

    Marks in ``tri``: refunds without such an order ``refund_unmatched``; orders whose net is
    at or below ``tolerance`` and their refunds ``fully_refunded``; the other matched refunds
    :data:`MERGED_REASON`. Sets ``factor`` (net / gross) on the lines of partly refunded
    orders and ``merged_into`` on merged refunds. Integer codes and ``bincount`` keep it
    vectorised on millions of rows.
    """
    key = cid.fillna("") + "\x1f" + oid
    codes, uniques = pd.factorize(key, use_na_sentinel=True)
    k = len(uniques)
    valid = codes >= 0
    c = np.where(valid, codes, 0)
    amounts = signed.fillna(0.0).to_numpy()
    buy = purchase & valid
    order_tot = np.bincount(c[buy], weights=amounts[buy], minlength=k)
    has_order = np.bincount(c[buy], minlength=k) > 0
    matched = refund & valid & has_order[c]
    stats["unmatched"] = tri.mark(
        "refund_unmatched", refund & ~matched,
        lambda m: [f"no clean order {o!r} of customer {i!r}" if o else "refund has no order id"
                   for o, i in zip(_values(oid, m), _values(cid, m))])
    ref_tot = np.bincount(c[matched], weights=amounts[matched], minlength=k)
    has_refund = np.bincount(c[matched], minlength=k) > 0
    net = order_tot + ref_tot
    full = has_refund & (net <= tolerance)
    partial = has_refund & ~full
    stats["fully_refunded_orders"] = int(full.sum())
    row_full = valid & full[c] & (buy | matched)
    tri.mark("fully_refunded", row_full,
             lambda m: [f"order {o}: net after refunds {v:.2f}" for o, v in zip(_values(oid, m), net[c[m]])])
    row_partial = valid & partial[c]
    stats["netted"] = tri.mark(MERGED_REASON, matched & row_partial, "netted")
    lines = buy & row_partial
    ratio = np.divide(net, order_tot, out=np.ones(k), where=partial)
    factor[lines] = ratio[c[lines]]
    merged_into[matched & row_partial] = oid[matched & row_partial]


CANONICAL_OPTIONAL_TX = (
    "profit", "margin", "category", "channel", "quantity", "status", "payment_status", "days_overdue",
)


def _replace_frame(raw: RawTable, frame: pd.DataFrame) -> RawTable:
    from dataclasses import replace

    return replace(raw, frame=frame)


def flag_outliers(tx: pd.DataFrame, cleaning: Cleaning) -> dict[str, Any]:
    """Flag unusually large purchases (``cleaning.outliers``); returns ``mask`` (bool
    Series aligned with ``tx``), ``method``, ``threshold`` (currency) and ``count``.

    ``iqr``: amount > exp(Q3 + k * IQR) of log amounts; ``zscore``: z of log amount > z;
    ``quantile``: amount above the quantile. Only purchases with a positive amount count.
    """
    rule = cleaning.outliers
    mask = pd.Series(False, index=tx.index)
    base = tx["amount"][(~tx["is_return"]) & (tx["amount"] > 0)]
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
            mask = (tx["amount"] > threshold) & ~tx["is_return"]
    return {"mask": mask.astype(bool), "method": rule.method, "threshold": threshold,
            "count": int(mask.sum())}


# --------------------------------------------------------------------------------------
# Customer master
# --------------------------------------------------------------------------------------

TEXT_COLUMNS_MASTER = (
    "name", "industry", "region", "contact_name", "contact_title", "account_manager", "expansion_plan",
)
NUMBER_COLUMNS_MASTER = ("employees", "annual_revenue", "referrals", "industry_growth")
DATE_COLUMNS_MASTER = ("first_cooperation_date", "contract_end_date", "updated_at")
FLAG_COLUMNS_MASTER = ("strategic_partner", "industry_leader")


def parse_flags(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no flags (``是/否``, ``Y/N``, ``true/false``, ``1/0`` ...) as bool; missing is
    False; ``ok`` is False for a value that is neither."""
    t = normalize_text(series).str.lower()
    yes = t.isin(FLAG_TRUE).fillna(False).astype(bool)
    no = t.isin(FLAG_FALSE).fillna(False).astype(bool)
    ok = (yes | no | t.isna()).astype(bool)
    return yes, ok


def clean_master(
    raw: RawTable,
    cleaning: Cleaning,
    *,
    growth_stages: dict[str, str] | None = None,
) -> TableResult:
    """Clean a customer master: one row per ``customer_id``, typed (flags bool, dates
    datetime64, sizes float). ``stats['test_customer_ids']`` lists the test accounts found
    (by id or name) so their orders and interactions are quarantined too."""
    f = raw.frame.reset_index(drop=True)
    raw = _replace_frame(raw, f)
    n = len(f)
    rows = f[SOURCE_ROW].to_numpy()
    cid = normalize_ids(raw.column("customer_id"))
    name = normalize_text(raw.column("name")) if "name" in raw.mapping else pd.Series(pd.NA, index=f.index, dtype="str")
    tri = _Triage(n)
    if cleaning.duplicates == "quarantine":
        dup, first = _duplicates(raw)
        tri.mark("duplicate", dup, lambda m: ("duplicate of row " + first[m].astype(str)).tolist())
    tri.mark("missing_customer_id", cid.isna(), "customer id is empty")
    test = _regex_mask(cid, cleaning.test_account_pattern) | _regex_mask(name, cleaning.test_account_pattern)
    test_ids = set(cid[test & cid.notna()].unique())
    tri.mark("test_account", test,
             lambda m: [f"customer_id={c}, name={nm}" for c, nm in zip(_values(cid, m), _values(name, m))])
    updated = parse_dates(raw.column("updated_at"))[0] if "updated_at" in raw.mapping else pd.Series(
        pd.NaT, index=f.index, dtype="datetime64[ns]")
    alive = tri.open()
    if alive.any():
        order = pd.DataFrame({"cid": cid[alive], "upd": updated[alive], "row": rows[alive]})
        order = order.sort_values(["upd", "row"], na_position="first", kind="stable")
        older = order.duplicated("cid", keep="last")
        kept_row = order.groupby("cid")["row"].transform("last")
        older_mask = np.zeros(n, dtype=bool)
        older_mask[order.index[older.to_numpy()]] = True
        kept = pd.Series(kept_row.to_numpy(), index=order.index).reindex(f.index)
        tri.mark("duplicate_id", older_mask,
                 lambda m: [f"customer {c}: row {int(k)} is the latest" for c, k in zip(_values(cid, m), kept[m])])

    keep = tri.open()
    out: dict[str, pd.Series] = {"customer_id": cid[keep].astype("str")}
    invalid: dict[str, int] = {}
    unknown_stages: list[str] = []
    stages = GROWTH_STAGES if growth_stages is None else growth_stages
    stage_keys = {k.lower(): v for k, v in stages.items()}
    for col in [c for c in raw.mapping if c != "customer_id"]:
        src = raw.column(col)
        if col in DATE_COLUMNS_MASTER:
            vals, ok = parse_dates(src)
        elif col in NUMBER_COLUMNS_MASTER:
            vals, ok = parse_numbers(src)
        elif col in FLAG_COLUMNS_MASTER:
            vals, ok = parse_flags(src)
        elif col == "contact_phone":
            vals = normalize_ids(src)
            ok = pd.Series(True, index=f.index)
        elif col == "growth_stage":
            t = normalize_text(src)
            mapped = t.str.lower().map(stage_keys)
            ok = (mapped.notna() | t.isna()).astype(bool)
            unknown_stages = sorted(set(t[~ok & keep].dropna().unique()))
            vals = mapped.where(mapped.notna(), t).astype("str")
            ok = pd.Series(True, index=f.index)
        else:
            vals = normalize_text(src)
            ok = pd.Series(True, index=f.index)
        n_bad = _invalid(src, ok, keep)
        if n_bad:
            invalid[col] = n_bad
        out[col] = vals[keep]
    clean = pd.DataFrame(out)
    clean["source_row"] = rows[keep].astype("int64")
    clean = clean.reset_index(drop=True)
    quarantine = _quarantine_frame(raw, tri, ~keep, cid, None)
    merged = _empty_merged()
    books = reconcile(raw.table, rows, clean, quarantine, merged, tolerance=cleaning.amount_tolerance)
    stats = {"test_customer_ids": sorted(test_ids), "invalid_values": invalid,
             "unknown_growth_stages": unknown_stages}
    return TableResult(raw.table, clean, quarantine, merged, books, stats)


# --------------------------------------------------------------------------------------
# Interactions
# --------------------------------------------------------------------------------------


def normalize_scores(
    score: pd.Series, scale: str, groups: pd.Series | None = None
) -> tuple[pd.Series, dict[str, Any]]:
    """Scores on 0-100. ``scale`` ``0-10`` multiplies by 10, ``0-100`` keeps them; ``auto``
    multiplies a source (or, given ``groups``, each group such as channel x type) whose
    scores are all <= 10. Scores outside 0-100 afterwards become NaN (counted)."""
    s = score.astype("float64")
    scaled_groups: list[str] = []
    if scale == "0-10":
        s = s * 10
        scaled_groups = ["(all)"]
    elif scale == "auto":
        g = groups if groups is not None else pd.Series("(all)", index=s.index)
        g = g.fillna("(none)").astype("str")
        gmax = s.groupby(g).max()
        small = gmax[(gmax <= 10)].index
        to_scale = g.isin(small) & s.notna()
        s = s.where(~to_scale, s * 10)
        scaled_groups = sorted(map(str, small))
    out_of_range = s.notna() & ((s < 0) | (s > 100))
    return s.where(~out_of_range), {"scale": scale, "scaled_x10": scaled_groups,
                                     "out_of_range": int(out_of_range.sum())}


def _score_groups(types: pd.Series | None, channel: pd.Series | None) -> pd.Series | None:
    """Groups whose score scale is judged together: channel x type, where present (a
    survey on one channel may use 0-10 while the others use 0-100)."""
    parts = [p.fillna("-").astype("str") for p in (channel, types) if p is not None]
    if not parts:
        return None
    g = parts[0]
    for p in parts[1:]:
        g = g + " / " + p
    return g


def clean_interactions(
    raw: RawTable,
    cleaning: Cleaning,
    as_of: pd.Timestamp,
    *,
    test_customer_ids: Iterable[str] = (),
) -> TableResult:
    """Clean interactions: ``customer_id, date, type`` (canonical key or ``other``),
    ``score`` (0-100), ``keywords, channel, text`` when present, ``source_row``."""
    as_of = pd.Timestamp(as_of).normalize()
    f = raw.frame.reset_index(drop=True)
    raw = _replace_frame(raw, f)
    n = len(f)
    rows = f[SOURCE_ROW].to_numpy()
    cid = normalize_ids(raw.column("customer_id"))
    date, date_ok = parse_dates(raw.column("date"))
    tri = _Triage(n)
    if cleaning.duplicates == "quarantine":
        dup, first = _duplicates(raw)
        tri.mark("duplicate", dup, lambda m: ("duplicate of row " + first[m].astype(str)).tolist())
    tri.mark("missing_customer_id", cid.isna(), "customer id is empty")
    test = _regex_mask(cid, cleaning.test_account_pattern) | cid.isin(set(test_customer_ids)).fillna(False)
    tri.mark("test_account", test, lambda m: [f"customer_id={v}" for v in _values(cid, m)])
    date_raw = raw.column("date")
    tri.mark("bad_date", ~date_ok, lambda m: [f"date={v!r}" for v in _values(date_raw, m)])
    if cleaning.future_dates == "quarantine":
        tri.mark("future_date", (date.dt.normalize() > as_of).fillna(False),
                 lambda m: [f"date {d:%Y-%m-%d} > {as_of:%Y-%m-%d}" for d in date[m]])
    keep = tri.open()

    out: dict[str, pd.Series] = {"customer_id": cid[keep].astype("str"), "date": date[keep]}
    stats: dict[str, Any] = {"invalid_values": {}}
    types = None
    channel = normalize_text(raw.column("channel")) if "channel" in raw.mapping else None
    if "type" in raw.mapping:
        t = normalize_text(raw.column("type"))
        lookup = {k.strip(): v for k, v in cleaning.interaction_types.items()}
        lookup.update({k: k for k in INTERACTION_TYPES})
        mapped = t.map(lookup)
        mapped = mapped.where(mapped.notna(), t.str.lower().map({k: k for k in INTERACTION_TYPES}))
        unknown = t.notna() & mapped.isna()
        stats["unknown_types"] = {str(k): int(v) for k, v in t[unknown & keep].value_counts().items()}
        types = mapped.where(t.notna() & mapped.notna(), np.where(t.notna(), "other", None))
        out["type"] = types[keep].astype("str")
    if "score" in raw.mapping:
        src = raw.column("score")
        vals, ok = parse_numbers(src)
        stats["invalid_values"]["score"] = _invalid(src, ok, keep)
        groups = _score_groups(types, channel)
        scored, info = normalize_scores(vals.where(keep), cleaning.interaction_score_scale, groups)
        stats["score"] = info
        out["score"] = scored[keep].astype("float64")
    for col in ("keywords", "channel", "text", "interaction_id"):
        if col in raw.mapping:
            out[col] = normalize_text(raw.column(col))[keep]
    clean = pd.DataFrame(out)
    clean["source_row"] = rows[keep].astype("int64")
    clean = clean.reset_index(drop=True)
    quarantine = _quarantine_frame(raw, tri, ~keep, cid, None)
    merged = _empty_merged()
    books = reconcile(raw.table, rows, clean, quarantine, merged, tolerance=cleaning.amount_tolerance)
    return TableResult(raw.table, clean, quarantine, merged, books, stats)


# --------------------------------------------------------------------------------------
# Reconciliation
# --------------------------------------------------------------------------------------


def reconcile(
    table: str,
    source_rows: np.ndarray | pd.Series,
    clean: pd.DataFrame,
    quarantine: pd.DataFrame,
    merged: pd.DataFrame | None = None,
    *,
    source_amounts: np.ndarray | pd.Series | None = None,
    tolerance: float = 0.01,
    raise_on_error: bool = True,
) -> dict[str, Any]:
    """The books of one table, computed from the output frames, checked.

    ``source_rows`` are the source row numbers read (one per row), ``source_amounts`` the
    signed amount of each (aligned; unparseable counted 0) or None for a table without
    amounts. ``quarantine`` is this table's part of the quarantine. Checks that every
    source row is in exactly one of clean / quarantine / merged, that
    ``source_amount = clean_amount + quarantined_amount + merged_amount`` and that
    ``clean_net_amount = clean_amount + merged_amount`` within ``tolerance``; raises
    :class:`ReconciliationError` otherwise (unless ``raise_on_error`` is False).
    """
    merged = merged if merged is not None else _empty_merged()
    src = np.asarray(source_rows, dtype="int64")
    parts = [clean["source_row"].to_numpy("int64"), quarantine["source_row"].to_numpy("int64"),
             merged["source_row"].to_numpy("int64")]
    books: dict[str, Any] = {
        "source_rows": int(len(src)), "clean_rows": int(len(parts[0])),
        "quarantined_rows": int(len(parts[1])), "merged_rows": int(len(parts[2])),
    }
    problems = []
    if books["source_rows"] != books["clean_rows"] + books["quarantined_rows"] + books["merged_rows"]:
        problems.append(
            f"rows: source {books['source_rows']} != clean {books['clean_rows']} + quarantined "
            f"{books['quarantined_rows']} + merged {books['merged_rows']}")
    together = np.sort(np.concatenate(parts))
    if len(together) != len(src) or not np.array_equal(together, np.sort(src)):
        seen, counts = np.unique(together, return_counts=True)
        twice = seen[counts > 1][:10].tolist()
        lost = np.setdiff1d(src, together)[:10].tolist()
        problems.append(f"row identity: source rows lost {lost}, counted twice {twice}")
    if source_amounts is not None:
        amounts = pd.Series(np.asarray(source_amounts, dtype="float64"), index=src)
        source_amount = float(amounts.sum())
        clean_amount = float(amounts.reindex(parts[0]).fillna(0.0).sum())
        quarantined_amount = float(quarantine["amount"].fillna(0.0).sum())
        merged_amount = float(merged["amount"].fillna(0.0).sum())
        clean_net = float(clean["amount"].sum())
        books.update({
            "source_amount": round(source_amount, 6), "clean_amount": round(clean_amount, 6),
            "quarantined_amount": round(quarantined_amount, 6), "merged_amount": round(merged_amount, 6),
            "clean_net_amount": round(clean_net, 6),
        })
        gap = source_amount - (clean_amount + quarantined_amount + merged_amount)
        if abs(gap) > tolerance:
            problems.append(f"amounts: source {source_amount:,.2f} != clean {clean_amount:,.2f} + "
                            f"quarantined {quarantined_amount:,.2f} + merged {merged_amount:,.2f} "
                            f"(gap {gap:,.2f})")
        net_gap = clean_net - (clean_amount + merged_amount)
        if abs(net_gap) > tolerance:
            problems.append(f"net amounts: clean table {clean_net:,.2f} != clean rows {clean_amount:,.2f} "
                            f"+ netted refunds {merged_amount:,.2f} (gap {net_gap:,.2f})")
    else:
        books.update({k: None for k in ("source_amount", "clean_amount", "quarantined_amount",
                                        "merged_amount", "clean_net_amount")})
    books["balanced"] = not problems
    if problems:
        books["problems"] = problems
        if raise_on_error:
            raise ReconciliationError(f"{table}: the books do not balance: " + "; ".join(problems))
    return books


# --------------------------------------------------------------------------------------
# Coverage between tables
# --------------------------------------------------------------------------------------


def coverage(
    tx: pd.DataFrame, master: pd.DataFrame | None, interactions: pd.DataFrame | None,
    *, max_listed: int = MAX_LISTED,
) -> dict[str, Any]:
    """Customers of one table missing from another: counts, amounts and (up to
    ``max_listed``) the ids."""
    def listed(ids: Iterable[str]) -> dict[str, Any]:
        ids = sorted(ids)
        return {"count": len(ids), "ids": ids[:max_listed], "truncated": len(ids) > max_listed}

    tx_ids = set(tx["customer_id"].unique())
    out: dict[str, Any] = {"transaction_customers": len(tx_ids)}
    if master is not None:
        m_ids = set(master["customer_id"].unique())
        orphan = ~tx["customer_id"].isin(m_ids)
        out["master_customers"] = len(m_ids)
        out["orders_without_master"] = {
            "rows": int(orphan.sum()), "amount": float(tx.loc[orphan, "amount"].sum()),
            "customers": listed(set(tx.loc[orphan, "customer_id"].unique())),
        }
        out["master_without_orders"] = listed(m_ids - tx_ids)
    known = tx_ids | (set(master["customer_id"]) if master is not None else set())
    if interactions is not None:
        unknown = ~interactions["customer_id"].isin(known)
        out["interaction_customers"] = int(interactions["customer_id"].nunique())
        out["interactions_unknown_customer"] = {
            "rows": int(unknown.sum()),
            "customers": listed(set(interactions.loc[unknown, "customer_id"].unique())),
        }
        out["customers_without_interactions"] = listed(known - set(interactions["customer_id"].unique()))
    return out


# --------------------------------------------------------------------------------------
# All tables
# --------------------------------------------------------------------------------------


def clean_all(cfg: KitConfig, as_of: pd.Timestamp) -> CleanResult:
    """Read and clean every configured input, reconcile each table, gather the quality report.

    Raises :class:`kit.io.InputError` for an input that cannot be read or mapped, and
    :class:`ReconciliationError` when a table's books do not balance.
    """
    as_of = pd.Timestamp(as_of).normalize()
    c = cfg.cleaning
    from kit.engines.duckdb_engine import clean_transactions_by_engine

    raws = {t: read_table(getattr(cfg.inputs, t), t)
            for t in ("customers", "interactions") if getattr(cfg.inputs, t) is not None}
    results: dict[str, TableResult] = {}
    test_ids: set[str] = set()
    if "customers" in raws:
        results["customers"] = clean_master(raws["customers"], c, growth_stages=c.growth_stages)
        test_ids = set(results["customers"].stats["test_customer_ids"])
    # transactions: pandas, or DuckDB SQL over the file when engine.name says so or the file
    # is larger than engine.duckdb_min_bytes (same results; see kit.engine_duckdb)
    results["transactions"], tx_source = clean_transactions_by_engine(cfg, as_of, test_customer_ids=test_ids)
    sources = {"transactions": tx_source}
    sources.update({t: {"info": r.info(), "mapping": dict(r.mapping), "how": dict(r.how),
                        "columns": list(r.source_columns), "encoding": r.encoding} for t, r in raws.items()})
    if "interactions" in raws:
        results["interactions"] = clean_interactions(raws["interactions"], c, as_of, test_customer_ids=test_ids)
    order = [t for t in ("transactions", "customers", "interactions") if t in results]
    quarantine = pd.concat([results[t].quarantine for t in order], ignore_index=True)
    quarantine.insert(4, "reason_label", quarantine["reason"].map(lambda r: reason_label(r, cfg.language)))
    merged = pd.concat([results[t].merged for t in order], ignore_index=True)
    tx = results["transactions"].clean
    master = results["customers"].clean if "customers" in results else None
    inter = results["interactions"].clean if "interactions" in results else None
    by_reason = {}
    for t in order:
        q = results[t].quarantine
        g = q.groupby("reason", sort=False).agg(rows=("source_row", "size"), amount=("amount", "sum"))
        by_reason[t] = {str(r): {"rows": int(v.rows),
                                 "amount": round(float(v.amount), 2) if t == "transactions" else None}
                        for r, v in g.iterrows()}
    quality: dict[str, Any] = {
        "as_of": f"{as_of:%Y-%m-%d}",
        "rules": {"duplicates": c.duplicates, "future_dates": c.future_dates, "zero_amount": c.zero_amount,
                  "refunds": c.refunds, "test_account_pattern": c.test_account_pattern,
                  "outliers": c.outliers.model_dump(), "interaction_score_scale": c.interaction_score_scale,
                  "amount_tolerance": c.amount_tolerance},
        "engine": tx_source["engine"],
        "files": {t: sources[t]["info"] for t in order},
        "encoding": {t: sources[t].get("encoding", sources[t]["info"].get("encoding")) for t in order},
        "mapping": {t: {k: {"source": v, "how": sources[t]["how"][k]} for k, v in sources[t]["mapping"].items()}
                    for t in order},
        "unmapped_headers": {t: [h for h in sources[t]["columns"] if h not in sources[t]["mapping"].values()]
                             for t in order},
        "reconciliation": {t: results[t].reconciliation for t in order},
        "quarantine_by_reason": by_reason,
        "refunds": results["transactions"].stats["refunds"],
        "outliers": results["transactions"].stats["outliers"],
        "invalid_values": {t: results[t].stats.get("invalid_values", {}) for t in order},
        "coverage": coverage(tx, master, inter),
        "order_id_synthesized": results["transactions"].stats["order_id_synthesized"],
        "unparseable_amount_counts_zero": True,
    }
    if master is not None:
        quality["test_customer_ids"] = results["customers"].stats["test_customer_ids"]
        quality["unknown_growth_stages"] = results["customers"].stats["unknown_growth_stages"]
    if inter is not None:
        quality["interactions"] = {k: v for k, v in results["interactions"].stats.items() if k != "invalid_values"}
    return CleanResult(
        transactions=tx, customers=master, interactions=inter, quarantine=quarantine, merged=merged,
        quality=_jsonable(quality), mapping={t: dict(sources[t]["mapping"]) for t in order},
    )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if np.isnan(obj) else float(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def write_artifacts(result: CleanResult, ctx: "RunContext") -> dict[str, Any]:
    """Write the clean tables, ``quarantine.csv`` (UTF-8 with BOM, opens in Excel),
    ``merged.csv`` (netted refunds) and ``quality.json`` into the run's artifacts."""
    out = {"transactions_clean": ctx.write_parquet("transactions_clean", result.transactions)}
    if result.customers is not None:
        out["customers_master_clean"] = ctx.write_parquet("customers_master_clean", result.customers)
    if result.interactions is not None:
        out["interactions_clean"] = ctx.write_parquet("interactions_clean", result.interactions)
    q = ctx.artifact("quarantine")
    result.quarantine.to_csv(q, index=False, encoding="utf-8-sig")
    out["quarantine"] = q
    m = ctx.artifact("merged.csv")
    result.merged.to_csv(m, index=False, encoding="utf-8-sig")
    out["merged"] = m
    out["quality"] = ctx.write_json("quality", result.quality)
    return out


# --------------------------------------------------------------------------------------
# Report tables (headers in the report language)
# --------------------------------------------------------------------------------------


def reason_label(code: str, lang: str) -> str:
    """The report-language label of a reason code (the code itself when unknown)."""
    pair = REASONS.get(code)
    return code if pair is None else (pair[0] if lang == "zh" else pair[1])


def table_label(table: str, lang: str) -> str:
    pair = TABLE_LABELS.get(table)
    return table if pair is None else (pair[0] if lang == "zh" else pair[1])


def reconciliation_table(result: CleanResult, lang: str) -> pd.DataFrame:
    """One row per table: rows and amounts in, clean, quarantined, merged; balanced."""
    rec = result.quality["reconciliation"]
    rows = []
    for t, b in rec.items():
        rows.append({
            _t(lang, "表", "Table"): table_label(t, lang),
            _t(lang, "源行数", "Source rows"): b["source_rows"],
            _t(lang, "清洗后行数", "Clean rows"): b["clean_rows"],
            _t(lang, "隔离行数", "Quarantined rows"): b["quarantined_rows"],
            _t(lang, "合并行数", "Merged rows"): b["merged_rows"],
            _t(lang, "已平衡", "Balanced"): "✓" if b["balanced"] else "✗",
            _t(lang, "源金额", "Source amount"): b["source_amount"],
            _t(lang, "清洗行金额", "Clean rows' amount"): b["clean_amount"],
            _t(lang, "隔离金额", "Quarantined amount"): b["quarantined_amount"],
            _t(lang, "合并金额（冲抵退款）", "Merged amount (netted refunds)"): b["merged_amount"],
            _t(lang, "清洗后净额", "Clean net amount"): b["clean_net_amount"],
        })
    df = pd.DataFrame(rows)
    money = [c for c in df.columns[6:]]
    df[money] = df[money].astype("float64")
    return df


def quarantine_summary(result: CleanResult, lang: str) -> pd.DataFrame:
    """Quarantined rows and amounts by table and reason, with the share of source rows."""
    q = result.quarantine
    cols = [_t(lang, "表", "Table"), _t(lang, "原因", "Reason"), _t(lang, "代码", "Code"),
            _t(lang, "行数", "Rows"), _t(lang, "占源行", "Share of source rows"), _t(lang, "金额", "Amount")]
    if q.empty:
        return pd.DataFrame(columns=cols)
    g = q.groupby(["table", "reason"], sort=False).agg(rows=("source_row", "size"), amount=("amount", "sum"))
    g = g.reset_index()
    src = {t: b["source_rows"] for t, b in result.quality["reconciliation"].items()}
    order = {t: i for i, t in enumerate(src)}
    g["_o"] = g["table"].map(order)
    g = g.sort_values(["_o", "rows"], ascending=[True, False], kind="stable")
    amount = g["amount"].where(g["table"] == "transactions").round(2)
    return pd.DataFrame({
        cols[0]: g["table"].map(lambda t: table_label(t, lang)).to_numpy(),
        cols[1]: g["reason"].map(lambda r: reason_label(r, lang)).to_numpy(),
        cols[2]: g["reason"].to_numpy(),
        cols[3]: g["rows"].astype("int64").to_numpy(),
        cols[4]: (g["rows"] / g["table"].map(src)).to_numpy(),
        cols[5]: amount.astype("float64").to_numpy(),
    })


def mapping_table(result: CleanResult, lang: str) -> pd.DataFrame:
    """Source header -> canonical column per table, how it was found, and unused headers."""
    how_label = {"configured": _t(lang, "配置指定", "configured"), "synonym": _t(lang, "同义词识别", "synonym"),
                 "unused": _t(lang, "未使用", "not used")}
    rows = []
    for t, cols in result.quality["mapping"].items():
        for canon, m in cols.items():
            rows.append((table_label(t, lang), m["source"], canon, how_label[m["how"]]))
        for h in result.quality["unmapped_headers"].get(t, []):
            rows.append((table_label(t, lang), h, "–", how_label["unused"]))
    return pd.DataFrame(rows, columns=[_t(lang, "表", "Table"), _t(lang, "源表头", "Source header"),
                                       _t(lang, "标准列", "Canonical column"), _t(lang, "方式", "How")])


def files_table(result: CleanResult, lang: str) -> pd.DataFrame:
    """How each file was read: format, detected encoding, sheet, header row, rows."""
    rows = []
    for t, info in result.quality["files"].items():
        rows.append({
            _t(lang, "表", "Table"): table_label(t, lang),
            _t(lang, "文件", "File"): info["path"],
            _t(lang, "格式", "Format"): info["format"],
            _t(lang, "编码", "Encoding"): info["encoding"] or "–",
            _t(lang, "工作表", "Sheet"): info["sheet"] or "–",
            _t(lang, "表头行", "Header row"): info["header_row"] if info["header_row"] is not None else "–",
            _t(lang, "数据行", "Data rows"): info["rows"],
            _t(lang, "跳过空行", "Blank rows skipped"): info["blank_rows_skipped"],
        })
    return pd.DataFrame(rows)


def coverage_table(result: CleanResult, lang: str, examples: int = 5) -> pd.DataFrame:
    """Coverage between tables: what is missing where, with a few example ids."""
    cov = result.quality["coverage"]
    rows = [(_t(lang, "有订单的客户", "Customers with orders"), cov["transaction_customers"], "")]

    def ex(d: dict[str, Any]) -> str:
        ids = d["ids"][:examples]
        return ", ".join(ids) + (" …" if d["count"] > len(ids) else "")

    if "master_customers" in cov:
        o = cov["orders_without_master"]
        rows += [
            (_t(lang, "主数据中的客户", "Customers in the master"), cov["master_customers"], ""),
            (_t(lang, "订单客户不在主数据中（客户数）", "Order customers missing from the master (customers)"),
             o["customers"]["count"], ex(o["customers"])),
            (_t(lang, "订单客户不在主数据中（订单行）", "Order rows whose customer is not in the master"),
             o["rows"], ""),
            (_t(lang, "主数据客户没有订单", "Master customers without orders"),
             cov["master_without_orders"]["count"], ex(cov["master_without_orders"])),
        ]
    if "interactions_unknown_customer" in cov:
        u = cov["interactions_unknown_customer"]
        rows += [
            (_t(lang, "有互动记录的客户", "Customers with interactions"), cov["interaction_customers"], ""),
            (_t(lang, "互动记录的客户未知（行）", "Interaction rows of unknown customers"), u["rows"],
             ex(u["customers"])),
            (_t(lang, "客户没有互动记录", "Customers without interactions"),
             cov["customers_without_interactions"]["count"], ex(cov["customers_without_interactions"])),
        ]
    return pd.DataFrame(rows, columns=[_t(lang, "指标", "Measure"), _t(lang, "数量", "Count"),
                                       _t(lang, "示例", "Examples")])


def quarantine_samples(result: CleanResult, n: int, lang: str, *, mask_pii: bool = False) -> pd.DataFrame:
    """The first ``n`` quarantined rows of each table and reason, with their original values.

    With ``mask_pii`` the original values of the columns mapped to names and phone numbers
    are masked (:mod:`kit.privacy`)."""
    q = result.quarantine
    cols = [_t(lang, "表", "Table"), _t(lang, "原因", "Reason"), _t(lang, "文件", "File"),
            _t(lang, "行号", "Row"), _t(lang, "说明", "Detail"), _t(lang, "原始值", "Original values")]
    if q.empty:
        return pd.DataFrame(columns=cols)
    s = q.sort_values(["table", "reason", "source_row"], kind="stable").groupby(["table", "reason"]).head(n)
    original = s["original"].to_numpy()
    if mask_pii:
        original = [_mask_original(t, o, result.mapping.get(t, {})) for t, o in zip(s["table"], original)]
    return pd.DataFrame({
        cols[0]: s["table"].map(lambda t: table_label(t, lang)).to_numpy(),
        cols[1]: s["reason"].map(lambda r: reason_label(r, lang)).to_numpy(),
        cols[2]: s["source_file"].to_numpy(),
        cols[3]: s["source_row"].astype("str").to_numpy(),
        cols[4]: s["detail"].to_numpy(),
        cols[5]: original,
    })


def _mask_original(table: str, original: str, mapping: dict[str, str]) -> str:
    from kit.present.privacy import mask_name, mask_phone

    values = json.loads(original)
    for canon, masker in (("name", mask_name), ("contact_name", mask_name), ("contact_phone", mask_phone)):
        header = mapping.get(canon)
        if header in values and values[header]:
            values[header] = masker(values[header])
    return json.dumps(values, ensure_ascii=False)


def monthly(tx: pd.DataFrame) -> pd.DataFrame:
    """Purchases per calendar month: ``orders`` (distinct order ids), ``revenue`` (net amount)."""
    p = tx[~tx["is_return"]]
    month = p["order_date"].dt.to_period("M")
    g = p.groupby(month).agg(orders=("order_id", "nunique"), revenue=("amount", "sum"))
    if len(g):
        g = g.reindex(pd.period_range(g.index.min(), g.index.max(), freq="M"), fill_value=0)
    g.index.name = "month"
    return g


# --------------------------------------------------------------------------------------
# Plots (ax=None, return the Axes)
# --------------------------------------------------------------------------------------


def plot_monthly(
    tx: pd.DataFrame,
    ax=None,
    *,
    title: str = "",
    orders_label: str = "orders",
    revenue_label: str = "revenue",
    currency: str = "",
):
    """Bars: orders per month; line (right axis): net revenue per month."""
    from kit.present.plotting import PALETTE, money_formatter, new_ax

    ax = new_ax(ax, figsize=(9, 4))
    m = monthly(tx)
    x = np.arange(len(m))
    ax.bar(x, m["orders"].to_numpy(), color=PALETTE[0], alpha=0.75, label=orders_label)
    ax.set_ylabel(orders_label)
    ax2 = ax.twinx()
    ax2.plot(x, m["revenue"].to_numpy(), color=PALETTE[1], marker="o", ms=3, label=revenue_label)
    ax2.set_ylabel(revenue_label)
    ax2.set_ylim(bottom=min(0.0, float(m["revenue"].min()) if len(m) else 0.0))
    ax2.yaxis.set_major_formatter(money_formatter(currency))
    ax2.grid(False)
    step = max(1, len(m) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([str(p) for p in m.index[::step]], rotation=45, ha="right")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [orders_label, revenue_label], loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=2, frameon=False)
    if title:
        ax.set_title(title, pad=24)
    return ax


def plot_amount_distribution(
    tx: pd.DataFrame,
    ax=None,
    *,
    title: str = "",
    xlabel: str = "amount (log scale)",
    ylabel: str = "orders",
    threshold: float | None = None,
    threshold_label: str = "outlier threshold",
    currency: str = "",
    bins: int = 50,
):
    """Histogram of purchase amounts on a log scale (positive amounts), with the outlier
    threshold when given."""
    from kit.present.plotting import PALETTE, money_formatter, new_ax

    ax = new_ax(ax)
    a = tx.loc[~tx["is_return"] & (tx["amount"] > 0), "amount"].to_numpy()
    if len(a):
        edges = np.logspace(np.log10(a.min()), np.log10(a.max()) + 1e-9, bins + 1)
        ax.hist(a, bins=edges, color=PALETTE[0], alpha=0.85)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(money_formatter(currency))
    if threshold is not None:
        ax.axvline(threshold, color=PALETTE[3], ls="--", label=threshold_label)
        ax.legend(frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax
