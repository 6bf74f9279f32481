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

from kit.core.notes import Note
from kit.io.read import SOURCE_ROW, RawTable, normalize_text
from kit.stages.cascade import MERGED_REASON  # noqa: F401 - re-exported: the code of merged rows

#: Reason codes, in the order the rules run (stored in English; labelled by the
#: presentation layer through ``label.quarantine_reason.<code>``).
REASONS: tuple[str, ...] = (
    "duplicate", "missing_customer_id", "test_account", "bad_date", "bad_amount", "implausible_amount",
    "cancelled", "future_date", "zero_amount", "order_conflict", "refund_unmatched", "refund_dropped",
    "fully_refunded", "duplicate_id", "refund_netted",
)


#: The tables, in the order the quality report lists them.
TABLES = ("transactions", "customers", "interactions")

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

    transactions: pd.DataFrame
    customers: pd.DataFrame | None
    interactions: pd.DataFrame | None
    quarantine: pd.DataFrame
    merged: pd.DataFrame
    quality: dict[str, Any]
    mapping: dict[str, dict[str, str]]
    notes: list[Note] = field(default_factory=list)


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
