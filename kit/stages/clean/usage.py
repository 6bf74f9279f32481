"""Clean product usage: one row per customer and date (a month such as ``2024-03`` is its
first day), typed.

The clean table (``docs/ARCHITECTURE.md``): ``customer_id``, ``date``, ``active_users``,
``logins``, ``feature_coverage`` (a share 0-1: percent values are
divided by 100, see ``cleaning.feature_coverage_scale``), ``tickets``,
``first_response_hours`` (converted to hours when the header names another unit in brackets,
``cleaning.response_time_units``), all float64 (NaN: the file has no such column, the cell is
empty, or its value did not parse, counted in ``invalid_values``); ``source_row``.

Rules, first wins: ``duplicate`` (an exact copy of an earlier row), ``missing_customer_id``,
``test_account``, ``bad_date``, ``future_date`` (after ``as_of``, as
``cleaning.future_dates`` says), ``coverage_out_of_range`` (feature coverage outside 0-1
after scaling), ``negative_count`` (a negative count or response time), ``duplicate``
(the same customer, date and values written differently, detail ``duplicate_usage``),
``usage_conflict`` (one customer and date on rows with different values: every such row,
nothing guessed).
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from kit.core.config import Cleaning
from kit.io.read import RawTable, normalize_ids, normalize_text, parse_dates, parse_numbers
from kit.stages.clean.books import finish_table
from kit.stages.clean.common import (
    BRACKETS_RE,
    TableResult,
    _invalid,
    _reindexed,
    _Triage,
    _values,
    content_key,
    month_dates,
    repeated_rows,
    word_key,
)
from kit.stages.clean.interactions import triage_dated

#: The usage measures, in the clean table's order; all but feature coverage are counts or
#: durations that cannot be negative.
MEASURES = ("active_users", "logins", "feature_coverage", "tickets", "first_response_hours")
COUNTS = ("active_users", "logins", "tickets", "first_response_hours")
#: Hours per unit of a response time.
HOURS_PER_UNIT = {"hours": 1.0, "minutes": 1 / 60, "days": 24.0}
#: Other rows listed in the detail of a usage conflict.
MAX_OTHER_ROWS = 10


def response_unit(header: str | None, cleaning: Cleaning) -> str:
    """The unit a first-response header names in brackets (``首次响应时长(分钟)``: minutes),
    by ``cleaning.response_time_units``; ``hours`` when it names none."""
    units = {word_key(k): v for k, v in cleaning.response_time_units.items()}
    for inner in BRACKETS_RE.findall(str(header or "")):
        unit = units.get(word_key(inner[1:-1]))
        if unit is not None:
            return unit
    return "hours"


def coverage_shares(column: pd.Series, scale: str) -> tuple[pd.Series, pd.Series, dict[str, Any]]:
    """Feature coverage as shares 0-1: ``(values, ok, info)``. Cells with ``%`` are percent;
    plain numbers are percent points when ``scale`` is ``0-100``, or under ``auto`` when
    their median is above 1 (a 0-1 column has no median above 1). Values stay as scaled:
    the caller quarantines those outside 0-1."""
    text = normalize_text(column)
    pct = text.str.endswith("%").fillna(False).astype(bool)
    bare = text.str.rstrip("%")
    bare.attrs.update(column.attrs)
    values, ok = parse_numbers(bare)
    plain = values[~pct & ok]
    points = scale == "0-100" or (scale == "auto" and len(plain) > 0 and float(plain.median()) > 1)
    scaled = values.where(~(pct | (points & ~pct)), values / 100)
    info = {"scale": scale, "percent_points": bool(points), "percent_cells": int(pct.sum())}
    return scaled, ok.astype(bool), info


def _measures(raw: RawTable, cleaning: Cleaning) -> tuple[dict[str, pd.Series], dict[str, pd.Series], dict[str, Any]]:
    """``(values, ok, info)`` of the mapped measures (ok: the cell is empty or parses)."""
    values, oks, info = {}, {}, {}
    for col in (c for c in MEASURES if c in raw.mapping):
        src = raw.column(col)
        if col == "feature_coverage":
            v, ok, info[col] = coverage_shares(src, cleaning.feature_coverage_scale)
        else:
            v, ok = parse_numbers(src)
        if col == "first_response_hours":
            unit = response_unit(raw.mapping[col], cleaning)
            v = v * HOURS_PER_UNIT[unit]
            info[col] = {"unit": unit, "header": raw.mapping[col]}
        values[col], oks[col] = v.astype("float64"), ok.astype(bool)
    return values, oks, info


def _triage(raw: RawTable, cid: pd.Series, date: pd.Series, date_ok: pd.Series, values: dict[str, pd.Series],
            cleaning: Cleaning, as_of: pd.Timestamp, test_customer_ids: Iterable[str], rows: np.ndarray) -> _Triage:
    tri = triage_dated(raw, cid, date, date_ok, cleaning, as_of, test_customer_ids)
    if "feature_coverage" in values:
        cov, src = values["feature_coverage"], raw.column("feature_coverage")
        tri.mark("coverage_out_of_range", ((cov < 0) | (cov > 1)).fillna(False), lambda m: [
            {"column": "feature_coverage", "value": v, "scaled": round(float(s), 6)}
            for v, s in zip(_values(src, m), cov[m])])
    for col in (c for c in COUNTS if c in values):
        src = raw.column(col)
        tri.mark("negative_count", (values[col] < 0).fillna(False), lambda m, s=src, k=col: [
            {"column": k, "value": v} for v in _values(s, m)])
    group = content_key([cid, date.dt.strftime("%Y-%m-%d %H:%M:%S")])
    key = content_key([group] + [v.round(9) for v in values.values()])
    if cleaning.duplicates == "quarantine":
        copy, first, _, _ = repeated_rows(key, group, tri.open(), rows)
        tri.mark("duplicate", copy, lambda m: [{"row": int(r)} for r in first[m]], detail_code="duplicate_usage")
    _, _, conflict, others = repeated_rows(key, group, tri.open(), rows)
    tri.mark("usage_conflict", conflict, lambda m: [
        {"customer_id": cid.iloc[i], "date": f"{date.iloc[i]:%Y-%m-%d}", "n_rows": len(others[i]) + 1,
         "rows": others[i][:MAX_OTHER_ROWS]} for i in np.flatnonzero(m)])
    return tri


def clean_usage(
    raw: RawTable,
    cleaning: Cleaning,
    as_of: pd.Timestamp,
    *,
    test_customer_ids: Iterable[str] = (),
) -> TableResult:
    """Clean a usage file (see the module). ``test_customer_ids``: the master's test accounts."""
    as_of = pd.Timestamp(as_of).normalize()
    raw, f, rows = _reindexed(raw)
    cid = normalize_ids(raw.column("customer_id"))
    date, date_ok = parse_dates(month_dates(raw.column("date")))
    values, oks, info = _measures(raw, cleaning)
    tri = _triage(raw, cid, date, date_ok.astype(bool), values, cleaning, as_of, test_customer_ids, rows)
    keep = tri.open()
    out: dict[str, pd.Series] = {"customer_id": cid[keep].astype("str"), "date": date[keep].astype("datetime64[ns]")}
    invalid: dict[str, int] = {}
    for col in MEASURES:  # every measure, NaN where the file has no such column
        if col not in values:
            out[col] = pd.Series(np.nan, index=cid.index, dtype="float64")[keep]
            continue
        n_bad = _invalid(raw.column(col), oks[col], keep)
        if n_bad:
            invalid[col] = n_bad
        out[col] = values[col][keep]
    stats = {"invalid_values": invalid, **info}
    return finish_table(raw, tri, keep, cid, out, rows, stats)
