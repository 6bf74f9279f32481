"""What every cleaned table shares: reason codes, results, the triage of rows and the
quarantine frame.

A quarantined row carries a reason code (:data:`REASONS`) and a structured detail: a
``detail_code`` (a message of the catalogue, ``clean.detail.<code>``) and its
``detail_params`` (a JSON object: row numbers, ids, the value that did not parse). The
presentation layer renders the detail in the report language; the stage writes no words.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from kit.core.config import INPUT_TABLES
from kit.core.notes import Note
from kit.io.headers import header_key
from kit.io.read import SOURCE_ROW, RawTable, by_unique, normalize_text
from kit.stages.cascade import MERGED_REASON  # noqa: F401 - re-exported: the code of merged rows

#: Reason codes, in the order the rules run (stored in English; labelled by the
#: presentation layer through ``label.quarantine_reason.<code>``).
REASONS: tuple[str, ...] = (
    "duplicate", "missing_customer_id", "test_account", "bad_date", "bad_amount", "implausible_amount",
    "cancelled", "future_date", "zero_amount", "order_conflict", "refund_unmatched", "refund_dropped",
    "fully_refunded", "duplicate_id", "refund_netted",
    # subscriptions and usage (kit.stages.clean.subscriptions, kit.stages.clean.usage)
    "end_before_start", "negative_amount", "unknown_billing_period", "duplicate_subscription_id",
    "coverage_out_of_range", "negative_count", "usage_conflict",
)


#: The tables, in the order the quality report lists them (the input tables of the config).
TABLES = INPUT_TABLES

#: Tables whose books hold amounts (``source_amount`` ...), and the clean column holding them.
AMOUNT_COLUMN = {"transactions": "amount", "subscriptions": "recurring_amount"}

#: Ids listed in quality.json per coverage gap (the counts are always complete).
MAX_LISTED = 1000

QUARANTINE_COLUMNS = [
    "table", "source_file", "source_row", "reason", "detail_code", "detail_params", "customer_id", "amount",
    "original",
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

    transactions: pd.DataFrame | None  # None: written to the run's transactions_clean.parquet by the engine
    customers: pd.DataFrame | None
    interactions: pd.DataFrame | None
    quarantine: pd.DataFrame
    merged: pd.DataFrame
    quality: dict[str, Any]
    mapping: dict[str, dict[str, str]]
    notes: list[Note] = field(default_factory=list)
    subscriptions: pd.DataFrame | None = None
    usage: pd.DataFrame | None = None


# --------------------------------------------------------------------------------------
# Row triage: one reason per row, first rule wins
# --------------------------------------------------------------------------------------

Params = Mapping[str, Any]


def _plain(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def detail_json(params: Params | None) -> str:
    """The ``detail_params`` text of one row: a JSON object, keys sorted (both engines
    write it with this function, so their quarantine frames compare equal)."""
    return json.dumps({k: _plain(v) for k, v in (params or {}).items()}, ensure_ascii=False, sort_keys=True)


class _Triage:
    def __init__(self, n: int):
        self.reason = np.full(n, None, dtype=object)
        self.detail_code = np.full(n, None, dtype=object)
        self.detail_params = np.full(n, None, dtype=object)

    def open(self) -> np.ndarray:
        return pd.isna(self.reason)

    def mark(
        self,
        code: str,
        mask: pd.Series | np.ndarray,
        params: Callable[[np.ndarray], Iterable[Params]] | Params | None = None,
        *,
        detail_code: str | Callable[[np.ndarray], Iterable[str]] | None = None,
    ) -> int:
        """Give the open rows of ``mask`` the reason ``code``; their detail is
        ``detail_code`` (default: ``code``; or a function of the row mask giving one code per
        row) with ``params`` (one mapping for all rows, or a function of the row mask giving
        one mapping per row). Returns the rows marked."""
        m = self.open() & np.asarray(pd.Series(mask).fillna(False), dtype=bool)
        if not m.any():
            return 0
        self.reason[m] = code
        if callable(detail_code):
            self.detail_code[m] = np.asarray(list(detail_code(m)), dtype=object)
        else:
            self.detail_code[m] = detail_code or code
        if callable(params):
            self.detail_params[m] = np.asarray([detail_json(p) for p in params(m)], dtype=object)
        else:
            self.detail_params[m] = detail_json(params)
        return int(m.sum())

    def clear(self, m: np.ndarray) -> None:
        """Rows of ``m`` are accounted for apart from quarantine (merged)."""
        self.reason[m] = None
        self.detail_code[m] = None
        self.detail_params[m] = None


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
    n = int(m.sum())
    return pd.DataFrame({
        "table": pd.Series([raw.table] * n, dtype="str"),
        "source_file": pd.Series([raw.display_path] * n, dtype="str"),
        "source_row": rows.astype("int64"),
        "reason": pd.Series(tri.reason[m], dtype="str"),
        "detail_code": pd.Series(tri.detail_code[m], dtype="str"),
        "detail_params": pd.Series(tri.detail_params[m], dtype="str"),
        "customer_id": pd.Series(cid[m].to_numpy(), dtype="str"),
        "amount": (amount.to_numpy()[m] if amount is not None else np.full(n, np.nan)).astype("float64"),
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


def _mark_duplicates(tri: _Triage, raw: RawTable) -> None:
    """The first rule of every table: exact copies of an earlier row."""
    dup, first = _duplicates(raw)
    tri.mark("duplicate", dup, lambda m: [{"row": int(r)} for r in first[m]])


def _invalid(raw_col: pd.Series, ok: pd.Series, keep: np.ndarray) -> int:
    """Values present in the source that did not parse, among the kept rows."""
    present = normalize_text(raw_col).notna().to_numpy()
    return int((present & ~ok.to_numpy() & keep).sum())


def _replace_frame(raw: RawTable, frame: pd.DataFrame) -> RawTable:
    return replace(raw, frame=frame)


def _reindexed(raw: RawTable) -> tuple[RawTable, pd.DataFrame, np.ndarray]:
    """``raw`` on a 0..n-1 index, its frame and its source row numbers."""
    f = raw.frame.reset_index(drop=True)
    return _replace_frame(raw, f), f, f[SOURCE_ROW].to_numpy()


# --------------------------------------------------------------------------------------
# Shared by subscriptions and usage: month-only dates, configured words, repeated rows
# --------------------------------------------------------------------------------------

#: A part of a header in brackets (a unit: ``(小时)``, ``（分钟）``, ``[h]``).
BRACKETS_RE = re.compile(r"[(（\[【].*?[)）\]】]")

_MONTH_NAMES = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}


def _month_dates_unique(u: pd.Series, end: bool) -> pd.Series:
    t = u.str.strip()
    ym = t.str.extract(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
    compact = t.str.extract(r"^(\d{4})(0[1-9]|1[0-2])$")
    named = t.str.lower().str.extract(r"^([a-z]{3})[a-z]*\.?\s+(\d{4})$")
    year = pd.to_numeric(ym[0].fillna(compact[0]).fillna(named[1]), errors="coerce")
    by_name = named[0].map(lambda m: _MONTH_NAMES.get(m) if isinstance(m, str) else None)
    month = pd.to_numeric(ym[1].fillna(compact[1]), errors="coerce").fillna(pd.to_numeric(by_name, errors="coerce"))
    ok = year.notna() & month.between(1, 12)
    if not ok.any():
        return t
    first = pd.to_datetime(pd.DataFrame({"year": year[ok], "month": month[ok], "day": 1}), errors="coerce")
    day = first + pd.offsets.MonthEnd(0) if end else first
    return t.where(~ok, day.dt.strftime("%Y-%m-%d").reindex(t.index))


def month_dates(column: pd.Series, *, end: bool = False) -> pd.Series:
    """A date column whose month-only values (``2024-03``, ``2024/3``, ``2024年3月``,
    ``202403``, ``Mar 2024``) are written as a day of that month, the first (``2024-03-01``)
    or with ``end`` the last (an end date: ``2024-03-31``), so that no parser fills in a day
    of its own; other values as they are, the column's reading (``attrs``) kept for
    :func:`kit.io.parse_dates`."""
    out = by_unique(normalize_text(column), lambda u: _month_dates_unique(u.fillna(""), end).where(u.notna()))
    out.attrs.update(column.attrs)
    return out


def word_key(text: object) -> str:
    """How configured words (statuses, billing periods, units) are compared: NFKC, lower
    case, without spaces or ``_ - . :``."""
    return header_key(text)


def word_lookup(mapping: Mapping[str, str], passthrough: Iterable[str] = ()) -> dict[str, str]:
    """A configured word mapping keyed by :func:`word_key`; ``passthrough`` keys map to themselves."""
    out = {word_key(k): v for k, v in mapping.items()}
    out.update({word_key(k): k for k in passthrough})
    return out


def map_words(values: pd.Series, lookup: Mapping[str, str]) -> pd.Series:
    """Each value's mapped word (NA for a missing value or one the lookup lacks)."""
    def one(u: pd.Series) -> pd.Series:
        return u.map(lambda v: lookup.get(word_key(v)) if isinstance(v, str) else None).astype("object")

    return by_unique(normalize_text(values), one).astype("object")


def content_key(parts: Iterable[pd.Series]) -> pd.Series:
    """Values of several columns as one string per row (a missing value as ``\x00``), for
    :func:`repeated_rows`: equal keys are equal rows."""
    out = None
    for p in parts:
        text = p.astype("object").where(p.notna(), "\x00").astype("str")
        out = text if out is None else out + "\x1f" + text
    return out


def repeated_rows(key: pd.Series, group: pd.Series, open_rows: np.ndarray, rows: np.ndarray):
    """Among the open rows: ``(copy, first, conflict, others)``. ``copy`` marks a row whose
    ``key`` (its whole parsed content) equals an earlier open row's, ``first`` that row's
    source row; ``conflict`` marks every remaining row of a ``group`` (an id; NA: none)
    whose rows differ, ``others`` lists per row the other source rows of its group."""
    n = len(key)
    idx = np.flatnonzero(open_rows)
    k = key.iloc[idx]
    copy = np.zeros(n, dtype=bool)
    copy[idx] = k.duplicated(keep="first").to_numpy()
    first_pos = pd.Series(idx, dtype="int64").groupby(k.to_numpy(), dropna=False).transform("first").to_numpy("int64")
    first = np.zeros(n, dtype="int64")
    first[idx] = rows[first_pos]
    live = open_rows & ~copy & group.notna().to_numpy()
    g = group[live]
    conflict = np.zeros(n, dtype=bool)
    conflict[np.flatnonzero(live)] = g.duplicated(keep=False).to_numpy()
    members = pd.Series(rows[conflict], index=np.flatnonzero(conflict)).groupby(
        group[conflict].to_numpy()).agg(list)
    others = {i: [r for r in members[group.iloc[i]] if r != rows[i]] for i in np.flatnonzero(conflict)}
    return copy, first, conflict, others
