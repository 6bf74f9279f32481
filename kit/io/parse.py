"""Value parsers for client exports: text, ids, amounts, ratios and dates.

The parsers :func:`normalize_text`, :func:`normalize_ids`, :func:`parse_dates`,
:func:`parse_amounts` and :func:`parse_ratio` are vectorised and work on the distinct
values of a column only (:func:`by_unique`): exports repeat dates, ids and statuses a lot.
Fast paths handle the common formats; only what they could not parse goes through slower
rules.

A column writes its numbers one way (:class:`NumberStyle`: decimal mark and thousands
separator) and its day-month dates one way (:class:`DateOrder`); :mod:`kit.io.readings`
decides both per column, from the column's own values (:func:`number_evidence`,
:func:`date_evidence`) or the config, and :meth:`kit.io.RawTable.column` hands the decision
to the parsers in the column's ``attrs`` (key :data:`READING`). Called on a bare Series, a
parser decides from that Series' values alone and raises :class:`InputError` when they read
two ways.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from dateutil import parser as _dateparser

from kit.io.formats import InputError

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

#: Key of a column's ``attrs`` holding its :class:`NumberStyle` or :class:`DateOrder`.
READING = "kit.reading"


@dataclass(frozen=True)
class NumberStyle:
    """How a column writes its numbers: the ``decimal`` mark (``.`` or ``,``) and the
    ``thousands`` separator (``,``, ``.``, `` ``, ``'``; ``""`` for none). Spaces and
    apostrophes between digits are read as thousands separators in every style.

    ``how`` says what decided it: ``configured``, ``column`` (the column's own values),
    ``file`` (another column of the same file) or ``default`` (nothing needed deciding).
    ``examples`` are cells that proved it.
    """

    decimal: str = "."
    thousands: str = ","
    how: str = "default"
    examples: tuple[str, ...] = ()

    def info(self) -> dict[str, Any]:
        return {"decimal": self.decimal, "thousands": self.thousands or "none", "how": self.how,
                "examples": list(self.examples)}


@dataclass(frozen=True)
class NumberEvidence:
    """What a column's distinct values say about its decimal mark (up to three raw cells
    each, in file order): ``comma`` / ``dot`` prove a decimal comma / point (``903,71``,
    ``67.888,84``, ``0,122``, ``1.234.567``; ``903.71``, ``12,345.60``, ``1,234,567``);
    ``ambiguous_comma`` / ``ambiguous_dot`` read two ways (``1,234``, ``5.678``)."""

    comma: tuple[str, ...] = ()
    dot: tuple[str, ...] = ()
    ambiguous_comma: tuple[str, ...] = ()
    ambiguous_dot: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> tuple[str, ...]:
        return self.ambiguous_comma + self.ambiguous_dot


def _where(path: object, header: object, canonical: object) -> str:
    """``<file>: column '<header>' (<canonical>)``, the start of a reading error."""
    col = f"column '{header}'" + (f" ({canonical})" if canonical else "")
    return f"{path}: {col}" if path else col


def _quoted(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _number_parts(u: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(core, negative, wan)`` of distinct raw values: the number's digits, marks and
    sign with currency, spaces, apostrophes, parentheses, a trailing minus and ``万`` taken
    off; NA for missing values."""
    t = _normalize_unique(u)
    t = t.str.replace(_CURRENCY_RE, "", regex=True).str.replace(r"[\s'_]", "", regex=True)
    paren = t.str.match(r"^\(.*\)$").fillna(False).astype(bool)
    t = t.where(~paren, t.str.replace(r"^\(|\)$", "", regex=True))
    trailing_minus = t.str.match(r"^[0-9.,]+-$").fillna(False).astype(bool)
    t = t.where(~trailing_minus, t.str.replace(r"-$", "", regex=True))
    wan = t.str.endswith("万").fillna(False).astype(bool)
    t = t.where(~wan, t.str.replace(r"万$", "", regex=True))
    return t, (paren | trailing_minus), wan


def _first(raw: pd.Series, mask: pd.Series, n: int = 3) -> tuple[str, ...]:
    return tuple(str(v) for v in raw[mask.fillna(False).astype(bool)].head(n))


#: Values that can say something about a number's marks hold one of these.
NUMBER_MARKS_RE = r"[.,，．]"
#: The common plain decimals (``903.71``): all prove a decimal point, so three are enough.
_DOT_DECIMALS_RE = r"-?\d+\.\d{1,2}"


def number_candidates(column: pd.Series) -> pd.Series:
    """The distinct raw values of a column (in file order) that :func:`number_evidence`
    needs: those with a mark, of which only the first three plain decimals such as
    ``903.71`` (they all prove the same), so a large column is classified quickly."""
    u = pd.Series(pd.unique(column), dtype="str")
    plain = u.str.fullmatch(_DOT_DECIMALS_RE).fillna(False).astype(bool).to_numpy()
    keep = plain & (np.cumsum(plain) <= 3)
    rest = np.flatnonzero(~plain)
    keep[rest] = u.iloc[rest].str.contains(NUMBER_MARKS_RE).fillna(False).astype(bool).to_numpy()
    return u[keep].reset_index(drop=True)


def number_evidence(values: pd.Series) -> NumberEvidence:
    """The :class:`NumberEvidence` of a column's distinct raw values (in file order).

    A value with both marks has its decimal mark last (``67.888,84``, ``12,345.60``); a
    mark used twice in 3-digit groups is a thousands separator (``1.234.567``); one mark
    followed by other than three digits (``903,71``), or after a leading ``0`` (``0,122``)
    or more than three digits (``1234,567``), is a decimal mark; ``1,234`` reads two ways.
    """
    raw = pd.Series(values, dtype="str").reset_index(drop=True)
    core = _number_parts(raw)[0].str.rstrip("%").str.replace(r"^[+-]", "", regex=True)
    votes = {",": pd.Series(False, index=raw.index), ".": pd.Series(False, index=raw.index)}
    ambiguous = dict(votes)
    for dec, th in ((",", "."), (".", ",")):
        d, t = "\\" + dec, "\\" + th
        both = core.str.fullmatch(rf"\d+(?:{t}\d{{2,3}})*{t}\d{{3}}{d}\d+").fillna(False)
        grouped = core.str.fullmatch(rf"\d+(?:{t}\d{{2,3}})+{t}\d{{3}}").fillna(False)
        votes[dec] = votes[dec] | both | grouped
    single = core.str.extract(r"^(\d*)([.,])(\d+)$")
    has = single[1].notna()
    before, mark, after = single[0].fillna(""), single[1], single[2].fillna("")
    decimal_shape = (after.str.len() != 3) | (before == "") | before.str.startswith("0") | (before.str.len() > 3)
    for m in (",", "."):
        votes[m] = votes[m] | (has & (mark == m) & decimal_shape)
        ambiguous[m] = has & (mark == m) & ~decimal_shape
    return NumberEvidence(comma=_first(raw, votes[","]), dot=_first(raw, votes["."]),
                          ambiguous_comma=_first(raw, ambiguous[","]), ambiguous_dot=_first(raw, ambiguous["."]))


def number_style(
    ev: NumberEvidence,
    *,
    decimal: str = "auto",
    thousands: str = "auto",
    file_decimals: frozenset[str] | set[str] = frozenset(),
    where: tuple[object, object, object] = (None, None, None),
    table: str = "<table>",
) -> NumberStyle:
    """Decide a column's :class:`NumberStyle`: the configured ``decimal`` (or the one a
    configured ``,`` / ``.`` ``thousands`` implies), else the column's own evidence, else,
    when some values read two ways, the one decimal mark other columns of the file proved
    (``file_decimals``). Raises :class:`InputError` (``where`` = file, header, canonical
    name) when the column contradicts itself or reads two ways with nothing to decide it."""
    th_cfg = None if thousands == "auto" else ("" if thousands == "none" else thousands)
    key = f"inputs.{table}.decimal"
    if decimal != "auto" or th_cfg in (",", "."):
        dec = decimal if decimal != "auto" else ("." if th_cfg == "," else ",")
        return NumberStyle(dec, th_cfg if th_cfg is not None else ("." if dec == "," else ","), "configured")
    comma, dot = ev.comma, ev.dot
    if th_cfg is not None:  # thousands is a space, an apostrophe or none: a lone , or . is the decimal mark
        comma, dot = comma + ev.ambiguous_comma, dot + ev.ambiguous_dot
    if comma and dot:
        raise InputError(
            f"{_where(*where)} contradicts itself: a decimal comma in {_quoted(comma[:3])}, a decimal point "
            f"in {_quoted(dot[:3])}; set {key}: ',' or '.'"
        )
    if comma or dot:
        dec, how, examples = ("," if comma else "."), "column", (comma or dot)[:3]
    elif ev.ambiguous:
        if len(set(file_decimals)) != 1:
            raise InputError(
                f"{_where(*where)} reads two ways: {_quoted(ev.ambiguous[:3])} could be thousands or "
                f"decimals; set {key}: ',' or '.'"
            )
        dec, how, examples = next(iter(file_decimals)), "file", ()
    else:
        dec, how, examples = ".", "default", ()
    return NumberStyle(dec, th_cfg if th_cfg is not None else ("." if dec == "," else ","), how, examples)


def _style_of(series: pd.Series, style: NumberStyle | None) -> NumberStyle:
    """The style given, else the one in the column's ``attrs``, else decided from its values."""
    if style is None:
        style = series.attrs.get(READING)
    if isinstance(style, NumberStyle):
        return style
    values = number_candidates(_as_text(series) if series.dtype != "str" else series)
    name = series.name if series.name is not None else "values"
    return number_style(number_evidence(values), where=(None, name, None))


def _amounts_unique(u: pd.Series, style: NumberStyle) -> tuple[pd.Series, pd.Series]:
    core, negative, wan = _number_parts(u)
    dec, th = style.decimal, style.thousands
    if th in (",", "."):
        d, t = "\\" + dec, "\\" + th
        grouped = core.str.contains(th, regex=False).fillna(False).astype(bool)
        valid = core.str.fullmatch(rf"[+-]?\d+(?:{t}\d{{2,3}})*{t}\d{{3}}(?:{d}\d*)?").fillna(False).astype(bool)
        core = core.where(~grouped, core.where(valid).str.replace(th, "", regex=False))
    other = "." if dec == "," else ","
    if other != th:
        core = core.where(~core.str.contains(other, regex=False).fillna(False).astype(bool))
    if dec == ",":
        core = core.str.replace(",", ".", regex=False)
    values = pd.to_numeric(core, errors="coerce").astype("float64")
    values = values.where(~wan, values * 10_000)
    values = values.where(~negative, -values.abs())
    ok = values.notna() & np.isfinite(values.fillna(0))
    return values.where(ok), ok.astype(bool)


def parse_amounts(series: pd.Series, style: NumberStyle | None = None) -> tuple[pd.Series, pd.Series]:
    """Amounts as float64 and a mask of the values that parsed: ``(values, ok)``.

    Accepts currency marks (``¥ ￥ RMB CNY $ 元``), thousands separators, full-width digits,
    parentheses or a trailing minus for negatives and a ``万`` (x 10,000) suffix, in the
    column's :class:`NumberStyle` (``style``, else the column's ``attrs``, else decided from
    its values): ``67.888,84`` is 67888.84 in a decimal-comma column. A value that does not
    fit the style (``12,34`` with comma thousands), a missing or an unparseable value is NaN
    with ``ok`` False.
    """
    st = _style_of(series, style)
    return by_unique(series, lambda u: _amounts_unique(u, st))


def parse_ratio(series: pd.Series, style: NumberStyle | None = None) -> tuple[pd.Series, pd.Series]:
    """Ratios (margins) as fractions: ``35%`` and ``0.35`` both give 0.35 (``0,35`` in a
    decimal-comma column). A column without ``%`` signs whose values are mostly above 1.5 is
    taken as percent points and divided by 100."""
    st = _style_of(series, style)
    t = normalize_text(series)
    pct = t.str.endswith("%").fillna(False).astype(bool)
    values, ok = parse_amounts(t.str.rstrip("%"), st)
    values = values.where(~pct, values / 100)
    plain = values[~pct & ok]
    if not pct.any() and len(plain) and plain.abs().median() > 1.5:
        values = values / 100
    return values, ok


def parse_numbers(series: pd.Series, style: NumberStyle | None = None) -> tuple[pd.Series, pd.Series]:
    """Counts and other plain numbers (quantity, employees, days): as :func:`parse_amounts`."""
    return parse_amounts(series, style)


_MONTH_RE = r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$"
_ISO_RE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_YMD_RE = (
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2})?$"
)
#: Excel serial day numbers accepted as dates (1954-10-04 .. 2119-01-08).
EXCEL_SERIAL_RANGE = (20_000, 80_000)
#: Dates outside this range are treated as unparseable (placeholders such as 0001-01-01).
PLAUSIBLE_YEARS = (1900, 2200)


#: ``dd.mm.yyyy`` / ``mm/dd/yyyy`` (``.``, ``/`` or ``-``), anything after it (a time) kept.
_DM_RE = r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})(.*)$"


@dataclass(frozen=True)
class DateOrder:
    """How a column writes day-month dates (``09.10.2023``): ``dayfirst`` True (day first),
    False (month first) or None (no cell needs it: none, or day == month in each); ``how``
    ``configured``, ``column`` or ``default``; ``examples`` cells that proved it."""

    dayfirst: bool | None = None
    how: str = "default"
    examples: tuple[str, ...] = ()

    def info(self) -> dict[str, Any]:
        return {"dayfirst": self.dayfirst, "how": self.how, "examples": list(self.examples)}


@dataclass(frozen=True)
class DateEvidence:
    """What a column's distinct values say about day and month order (up to three raw cells
    each, in file order): ``dayfirst`` (first part > 12), ``monthfirst`` (second part > 12),
    ``ambiguous`` (both <= 12 and different). ISO and year-first dates do not vote."""

    dayfirst: tuple[str, ...] = ()
    monthfirst: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()


def date_evidence(values: pd.Series) -> DateEvidence:
    """The :class:`DateEvidence` of a column's distinct raw values (in file order)."""
    raw = pd.Series(values, dtype="str").reset_index(drop=True)
    parts = _normalize_unique(raw).str.extract(_DM_RE)[[0, 1]].astype("float64")
    a, b = parts[0], parts[1]
    valid = a.between(1, 31) & b.between(1, 31)
    return DateEvidence(dayfirst=_first(raw, valid & (a > 12) & (b <= 12)),
                        monthfirst=_first(raw, valid & (b > 12) & (a <= 12)),
                        ambiguous=_first(raw, valid & (a <= 12) & (b <= 12) & (a != b)))


def date_order(
    ev: DateEvidence,
    *,
    dayfirst: bool | str = "auto",
    where: tuple[object, object, object] = (None, None, None),
    table: str = "<table>",
) -> DateOrder:
    """Decide a column's :class:`DateOrder`: the configured ``dayfirst``, else the column's
    unambiguous day-month cells. Raises :class:`InputError` (``where`` = file, header,
    canonical name) when cells prove both orders, or when cells read two ways (``05/06/2023``)
    and none decides."""
    key = f"inputs.{table}.dayfirst"
    if isinstance(dayfirst, bool):
        return DateOrder(dayfirst, "configured")
    if ev.dayfirst and ev.monthfirst:
        raise InputError(
            f"{_where(*where)} reads dates two ways: day first in {_quoted(ev.dayfirst)}, month first in "
            f"{_quoted(ev.monthfirst)}; set {key}: true (day first) or false (month first)"
        )
    if ev.dayfirst or ev.monthfirst:
        return DateOrder(bool(ev.dayfirst), "column", ev.dayfirst or ev.monthfirst)
    if ev.ambiguous:
        raise InputError(
            f"{_where(*where)} reads dates two ways: {_quoted(ev.ambiguous)} could be day-month or "
            f"month-day, and no date in the column decides it; set {key}: true (day first) or false (month first)"
        )
    return DateOrder()


def _order_of(series: pd.Series, order: DateOrder | None) -> DateOrder:
    if order is None:
        order = series.attrs.get(READING)
    if isinstance(order, DateOrder):
        return order
    values = pd.Series(pd.unique(_as_text(series) if series.dtype != "str" else series), dtype="str")
    name = series.name if series.name is not None else "values"
    return date_order(date_evidence(values), where=(None, name, None))


def parse_dates(series: pd.Series, order: DateOrder | None = None) -> tuple[pd.Series, pd.Series]:
    """Dates (with or without time) as ``datetime64[ns]`` and a mask of those that parsed.

    Fast paths, each on the values still unparsed: ISO ``2024-01-05[ 10:00[:00]]``;
    ``2024/1/5``, ``2024.1.5``, ``2024年1月5日`` (time optional, a UTC offset ignored);
    ``09.10.2023`` / ``10/09/2023`` in the column's :class:`DateOrder` (``order``, else the
    column's ``attrs``, else decided from its values: one order for the whole column);
    ``20240105`` and ``20240105103000``; Excel serial numbers (``45296``). What remains and
    holds a four-digit year goes through ``dateutil`` one unique value at a time. Dates
    outside :data:`PLAUSIBLE_YEARS` count as unparseable.
    """
    od = _order_of(series, order)
    return by_unique(series, lambda u: _dates_unique(u, od))


def _day_month_as_iso(t: pd.Series, order: DateOrder) -> tuple[pd.Series, pd.Series]:
    """Day-month dates rewritten year first (``09.10.2023 10:00`` -> ``2023-10-09 10:00``)
    in the column's order, and the mask of the day-month values whose order is unknown or
    whose month is not 1-12 (unparseable)."""
    parts = t.str.extract(_DM_RE)
    has = parts[0].notna()
    a, b = parts[0].astype("float64"), parts[1].astype("float64")
    if order.dayfirst is None:
        known = a == b
        day, month = parts[0], parts[1]
    else:
        known = pd.Series(True, index=t.index)
        day, month = (parts[0], parts[1]) if order.dayfirst else (parts[1], parts[0])
    month_ok = (month.astype("float64").between(1, 12)) & known & has
    iso = parts[2] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + parts[3]
    return t.where(~month_ok, iso), has & ~month_ok


def _dates_unique(u: pd.Series, order: DateOrder = DateOrder()) -> tuple[pd.Series, pd.Series]:
    t = _normalize_unique(u)
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns]")
    t, unreadable = _day_month_as_iso(t, order)
    todo = t.notna() & ~unreadable

    iso = todo & t.str.match(_ISO_RE).fillna(False).astype(bool)
    if iso.any():
        out[iso] = _plausible_ns(pd.to_datetime(t[iso], format="ISO8601", errors="coerce"))
        todo &= out.isna()

    if todo.any():  # a month (2024-03, 2024/3, 2024年3月): its first day, never today's day of it
        month = todo & t.str.match(_MONTH_RE).fillna(False).astype(bool)
        if month.any():
            ym = t[month].str.extract(_MONTH_RE).astype("float64")
            out[ym.index] = _plausible_ns(pd.to_datetime(
                pd.DataFrame({"year": ym[0], "month": ym[1], "day": 1}), errors="coerce"))
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


_DEFAULT_DATE = dt.datetime(2000, 1, 1)


def _dateutil(value: str) -> pd.Timestamp:
    try:  # a part the text lacks is the 1st (January), never today's: "March 2024" -> 2024-03-01
        ts = pd.Timestamp(_dateparser.parse(value, yearfirst=True, default=_DEFAULT_DATE))
    except (ValueError, OverflowError, TypeError):
        return pd.NaT
    return ts.tz_localize(None) if ts.tzinfo is not None else ts

