"""Value parsers for client exports: text, ids, amounts, ratios and dates.

The parsers :func:`normalize_text`, :func:`normalize_ids`, :func:`parse_dates`,
:func:`parse_amounts` and :func:`parse_ratio` are vectorised and work on the distinct
values of a column only (:func:`by_unique`): exports repeat dates, ids and statuses a lot.
Fast paths handle the common formats; only what they could not parse goes through slower
rules.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import numpy as np
import pandas as pd
from dateutil import parser as _dateparser

#: Values read as missing (compared after NFKC, strip and lower-casing).
MISSING_TOKENS = frozenset(
    {"", "nan", "none", "null", "n/a", "na", "#n/a", "-", "--", "—", "nat", "<na>", "(null)"}
)


def _as_text(s: pd.Series) -> pd.Series:
    """A column as strings, ``""`` for missing."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "", regex=False)
        return out.fillna("").astype("str")
    if s.dtype == object:
        return s.map(_cell_str, na_action=None).astype("str")
    return s.astype("string").fillna("").astype("str")


def _cell_str(v: object) -> str:
    """One Excel / object cell as the text a person sees."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time(0) else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


# --------------------------------------------------------------------------------------
# Value parsers
# --------------------------------------------------------------------------------------


def by_unique(series: pd.Series, fn: Callable[[pd.Series], Any]) -> Any:
    """Apply ``fn`` (Series of strings -> Series, or a tuple of Series) to the distinct
    values of ``series`` only and spread the results back over its rows.

    Exports repeat values a lot (dates, ids, statuses), so parsing distinct values once
    is much faster on large files; missing values are passed to ``fn`` once, as NA.
    """
    s = series if series.dtype == "str" else _as_text(series)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(uniques, dtype="str")
    u = pd.concat([u, pd.Series([pd.NA], dtype="str")], ignore_index=True)  # slot for NA
    codes = np.where(codes < 0, len(u) - 1, codes)
    out = fn(u)

    def spread(r: pd.Series) -> pd.Series:
        return pd.Series(r.array.take(codes), index=series.index, name=series.name)

    return tuple(spread(r) for r in out) if isinstance(out, tuple) else spread(out)


def _normalize_unique(u: pd.Series) -> pd.Series:
    wide = ~u.str.isascii().fillna(True).astype(bool)
    if wide.any():
        u = u.copy()
        u[wide] = u[wide].str.normalize("NFKC")
    u = u.str.strip()
    return u.where(~u.str.lower().isin(MISSING_TOKENS).fillna(False).astype(bool))


def normalize_text(series: pd.Series) -> pd.Series:
    """Strings with full-width characters folded (NFKC), surrounding and full-width spaces
    stripped, and missing tokens (``""``, ``null``, ``N/A``, ``-`` ...) as NA."""
    return by_unique(series, _normalize_unique)


def _ids_unique(u: pd.Series) -> pd.Series:
    u = _normalize_unique(u)
    spreadsheet_number = u.str.match(r"^\d+\.0+$").fillna(False).astype(bool)
    return u.where(~spreadsheet_number, u.str.replace(r"\.0+$", "", regex=True))


def normalize_ids(series: pd.Series) -> pd.Series:
    """Ids as strings: leading zeros kept, spaces stripped, full-width folded, ``1001.0``
    (a number that went through a spreadsheet) back to ``1001``; missing as NA."""
    return by_unique(series, _ids_unique)


_CURRENCY_RE = r"(?i)(?:rmb|cny|usd|us\$|hk\$|hkd|eur|[¥$€£]|元)"


def _amounts_unique(u: pd.Series) -> tuple[pd.Series, pd.Series]:
    t = _normalize_unique(u)
    t = t.str.replace(_CURRENCY_RE, "", regex=True).str.replace(r"[,\s'_]", "", regex=True)
    paren = t.str.match(r"^\(.*\)$").fillna(False).astype(bool)
    t = t.where(~paren, t.str.replace(r"^\(|\)$", "", regex=True))
    trailing_minus = t.str.match(r"^[0-9.]+-$").fillna(False).astype(bool)
    t = t.where(~trailing_minus, t.str.replace(r"-$", "", regex=True))
    wan = t.str.endswith("万").fillna(False).astype(bool)
    t = t.where(~wan, t.str.replace(r"万$", "", regex=True))
    values = pd.to_numeric(t, errors="coerce").astype("float64")
    values = values.where(~wan, values * 10_000)
    values = values.where(~(paren | trailing_minus), -values.abs())
    ok = values.notna() & np.isfinite(values.fillna(0))
    return values.where(ok), ok.astype(bool)


def parse_amounts(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Amounts as float64 and a mask of the values that parsed: ``(values, ok)``.

    Accepts currency marks (``¥ ￥ RMB CNY $ 元``), thousands separators, full-width digits,
    parentheses or a trailing minus for negatives and a ``万`` (x 10,000) suffix. Missing and
    unparseable values are NaN with ``ok`` False.
    """
    return by_unique(series, _amounts_unique)


def parse_ratio(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ratios (margins) as fractions: ``35%`` and ``0.35`` both give 0.35. A column without
    ``%`` signs whose values are mostly above 1.5 is taken as percent points and divided by 100."""
    t = normalize_text(series)
    pct = t.str.endswith("%").fillna(False).astype(bool)
    values, ok = parse_amounts(t.str.rstrip("%"))
    values = values.where(~pct, values / 100)
    plain = values[~pct & ok]
    if not pct.any() and len(plain) and plain.abs().median() > 1.5:
        values = values / 100
    return values, ok


def parse_numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Counts and other plain numbers (quantity, employees, days): as :func:`parse_amounts`."""
    return parse_amounts(series)


_ISO_RE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_YMD_RE = (
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2})?$"
)
#: Excel serial day numbers accepted as dates (1954-10-04 .. 2119-01-08).
EXCEL_SERIAL_RANGE = (20_000, 80_000)
#: Dates outside this range are treated as unparseable (placeholders such as 0001-01-01).
PLAUSIBLE_YEARS = (1900, 2200)


def parse_dates(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates (with or without time) as ``datetime64[ns]`` and a mask of those that parsed.

    Fast paths, each on the values still unparsed: ISO ``2024-01-05[ 10:00[:00]]``;
    ``2024/1/5``, ``2024.1.5``, ``2024年1月5日`` (time optional, a UTC offset ignored);
    ``20240105`` and ``20240105103000``; Excel serial numbers (``45296``). What remains and
    holds a four-digit year goes through ``dateutil`` one unique value at a time. Dates
    outside :data:`PLAUSIBLE_YEARS` count as unparseable.
    """
    return by_unique(series, _dates_unique)


def _dates_unique(u: pd.Series) -> tuple[pd.Series, pd.Series]:
    t = _normalize_unique(u)
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns]")
    todo = t.notna()

    iso = todo & t.str.match(_ISO_RE).fillna(False).astype(bool)
    if iso.any():
        out[iso] = _plausible_ns(pd.to_datetime(t[iso], format="ISO8601", errors="coerce"))
        todo &= out.isna()

    if todo.any():
        v = (
            t[todo].str.replace(r"[年月/.]", "-", regex=True).str.replace(r"[日号]", "", regex=True)
            .str.replace("T", " ", regex=False).str.strip()
        )
        parts = v.str.extract(_YMD_RE).astype("float64")
        parts.columns = ["year", "month", "day", "hour", "minute", "second"]
        got = parts["year"].notna()
        if got.any():
            p = parts[got].fillna({"hour": 0, "minute": 0, "second": 0})
            out[p.index] = _plausible_ns(pd.to_datetime(p, errors="coerce"))
            todo &= out.isna()

    if todo.any():
        compact = todo & t.str.match(r"^\d{8}(\d{6})?$").fillna(False).astype(bool)
        if compact.any():
            c = t[compact]
            d8 = c.str.len() == 8
            out[c.index[d8]] = _plausible_ns(pd.to_datetime(c[d8], format="%Y%m%d", errors="coerce"))
            out[c.index[~d8]] = _plausible_ns(pd.to_datetime(
                c[~d8], format="%Y%m%d%H%M%S", errors="coerce"))
            todo &= out.isna()

    if todo.any():
        num = pd.to_numeric(t[todo].where(t[todo].str.match(r"^\d+(\.\d+)?$").fillna(False)), errors="coerce")
        lo, hi = EXCEL_SERIAL_RANGE
        serial = num[(num >= lo) & (num <= hi)]
        if len(serial):
            out[serial.index] = (
                pd.Timestamp("1899-12-30") + pd.to_timedelta(serial.round(6), unit="D")
            ).dt.round("s")
            todo &= out.isna()

    if todo.any():
        rest = t[todo]
        rest = rest[rest.str.contains(r"(?:19|20|21)\d\d", regex=True).fillna(False)]
        if len(rest):
            parsed = {v: _dateutil(v) for v in rest.unique()}
            out[rest.index] = _plausible_ns(rest.map(parsed))

    return out, out.notna()


_LOW, _HIGH = (pd.Timestamp(f"{y}-01-01") for y in PLAUSIBLE_YEARS)


def _plausible_ns(s: pd.Series) -> pd.Series:
    """Dates within :data:`PLAUSIBLE_YEARS` as ``datetime64[ns]``, others NaT."""
    s = pd.Series(s)
    if s.dtype == object:
        s = pd.to_datetime(s, errors="coerce")
    return s.where((s >= _LOW) & (s < _HIGH)).astype("datetime64[ns]")


def _dateutil(value: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(_dateparser.parse(value, yearfirst=True))
    except (ValueError, OverflowError, TypeError):
        return pd.NaT
    return ts.tz_localize(None) if ts.tzinfo is not None else ts

