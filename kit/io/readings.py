"""How each number and date column of an input file is read, decided once per column.

:func:`decide_readings` gives every mapped number column its :class:`NumberStyle` (decimal
mark, thousands separator) and every mapped date column its :class:`DateOrder` (day or month
first), from, in order:

1. the config: ``inputs.<table>.decimal`` (``auto`` | ``.`` | ``,``), ``inputs.<table>.thousands``
   (``auto`` | ``,`` | ``.`` | `` `` | ``'`` | ``none``) and ``inputs.<table>.dayfirst``
   (``auto`` | true | false);
2. the column's own values (:func:`kit.io.parse.number_evidence`,
   :func:`kit.io.parse.date_evidence`): ``67.888,84``, ``903,71`` or ``0,122`` prove a decimal
   comma, ``12,345.60`` or ``903.71`` a decimal point; ``13.10.2023`` proves day first;
3. for numbers only, the file: a column whose values all read two ways (``1,234``) takes the
   decimal mark that the file's other number columns proved from their own values, when
   they agree on one (a file writes its numbers one way). In a column of whole numbers
   (:data:`WHOLE_NUMBER_COLUMNS`: employees, referrals, days overdue) a mark before three
   digits is a thousands separator, so ``1,200`` employees are 1200 (and prove nothing for
   the file).

Nothing else decides: a column that contradicts itself, or reads two ways with nothing to
decide it, stops the read with :class:`InputError` naming the file, the column, three example
cells and the config key. Never two readings in one column.

:func:`duplicate_headers` says which copy of a repeated header is used; :func:`reading_notes`
turns a file's reading info into the notes a reader of the cleaning page sees.
"""
from __future__ import annotations

import unicodedata
from typing import Any, Mapping

import pandas as pd

from kit.core.notes import Note
from kit.io.parse import (
    DateOrder,
    NumberEvidence,
    NumberStyle,
    date_evidence,
    date_order,
    number_candidates,
    number_evidence,
    number_style,
)

#: Canonical columns parsed as numbers, per table.
NUMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "transactions": ("amount", "profit", "margin", "quantity", "days_overdue"),
    "customers": ("employees", "annual_revenue", "referrals", "industry_growth"),
    "interactions": ("score",),
    "subscriptions": ("recurring_amount",),
    "usage": ("active_users", "logins", "feature_coverage", "tickets", "first_response_hours"),
}
#: Number columns that hold whole numbers: there ``1,200`` or ``1.200`` (a mark before three
#: digits) can only be a thousands separator, so such values decide the column's reading.
WHOLE_NUMBER_COLUMNS = frozenset({"employees", "referrals", "days_overdue", "active_users", "logins", "tickets"})
#: Canonical columns parsed as dates, per table.
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "transactions": ("order_date",),
    "customers": ("first_cooperation_date", "contract_end_date", "updated_at"),
    "interactions": ("date",),
    "subscriptions": ("start_date", "end_date"),
    "usage": ("date",),
}

#: Raw values that can say something about a date's order (plain ISO dates are skipped).
DATE_SKIP_RE = r"^\d{4}-\d{2}-\d{2}"


def reading_columns(table: str, mapping: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The mapped number columns and date columns of ``table`` (canonical names)."""
    return ([c for c in NUMBER_COLUMNS.get(table, ()) if c in mapping],
            [c for c in DATE_COLUMNS.get(table, ()) if c in mapping])


def evidence_values(column: pd.Series, kind: str) -> pd.Series:
    """The distinct raw values of a column (in file order) that can vote for its reading
    (``kind`` ``number`` or ``date``)."""
    if kind == "number":
        return number_candidates(column)
    u = pd.Series(pd.unique(column), dtype="str")
    return u[~u.str.match(DATE_SKIP_RE).fillna(False).astype(bool)].reset_index(drop=True)


def _config(spec: Any) -> tuple[str, str, bool | str]:
    if spec is None:
        return "auto", "auto", "auto"
    return spec.decimal, spec.thousands, spec.dayfirst


def decide_readings(
    values: Mapping[str, pd.Series],
    mapping: Mapping[str, str],
    spec: Any,
    table: str,
    path: object,
    *,
    typed: set[str] | frozenset[str] = frozenset(),
) -> dict[str, NumberStyle | DateOrder]:
    """Canonical column -> its :class:`NumberStyle` or :class:`DateOrder` (see the module).

    ``values`` holds, per mapped number and date column, its distinct raw values in file
    order (at least those :func:`evidence_values` keeps); ``spec`` the input's
    :class:`kit.core.config.InputTable` (None: everything ``auto``). ``typed`` number columns
    hold numbers stored as numbers (an Excel column of number cells, a numeric Parquet
    column), written by the kit itself: decimal point, no thousands separator, whatever the
    config says of the file's text. Raises :class:`InputError` for a column that reads two ways.
    """
    decimal, thousands, dayfirst = _config(spec)
    numbers, dates = reading_columns(table, mapping)
    out: dict[str, NumberStyle | DateOrder] = {c: NumberStyle(".", "", "typed") for c in numbers if c in typed}
    numbers = [c for c in numbers if c not in typed]
    evidence = {c: number_evidence(values[c]) for c in numbers}
    auto = decimal == "auto" and thousands == "auto"
    own = {c for c in numbers if evidence[c].comma or evidence[c].dot}
    if auto:
        evidence.update({c: _whole(evidence[c]) for c in numbers if c in WHOLE_NUMBER_COLUMNS})
    pending = [c for c in numbers if auto and not (evidence[c].comma or evidence[c].dot) and evidence[c].ambiguous]
    for c in numbers:
        if c not in pending:
            out[c] = number_style(evidence[c], decimal=decimal, thousands=thousands,
                                  where=(path, mapping[c], c), table=table)
    proved = {out[c].decimal for c in own if c in out}
    for c in pending:
        out[c] = number_style(evidence[c], file_decimals=proved, where=(path, mapping[c], c), table=table)
    for c in dates:
        out[c] = date_order(date_evidence(values[c]), dayfirst=dayfirst, where=(path, mapping[c], c), table=table)
    return {c: out[c] for c in reading_columns(table, mapping)[0] + dates}


def _whole(ev: NumberEvidence) -> NumberEvidence:
    """A whole-number column's evidence: ``1,200`` votes for comma thousands (a decimal
    point), ``1.200`` for dot thousands (a decimal comma)."""
    return NumberEvidence(comma=(ev.comma + ev.ambiguous_dot)[:3], dot=(ev.dot + ev.ambiguous_comma)[:3])


def readings_info(readings: Mapping[str, NumberStyle | DateOrder], mapping: Mapping[str, str]) -> dict[str, Any]:
    """The readings that something decided (not ``default``), JSON-able, for the quality
    report: ``{"numbers": {canonical: {header, decimal, thousands, how, examples}},
    "dates": {canonical: {header, dayfirst, how, examples}}}``."""
    info: dict[str, Any] = {"numbers": {}, "dates": {}}
    for c, r in readings.items():
        if r.how == "default":
            continue
        kind = "numbers" if isinstance(r, NumberStyle) else "dates"
        info[kind][c] = {"header": mapping.get(c), **r.info()}
    return info


def _header_norm(h: object) -> str:
    return unicodedata.normalize("NFKC", str(h)).strip() if h is not None else ""


def duplicate_headers(raw: list[object], final: list[str], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Headers the file repeats: ``{header: {copies, used, canonical, columns}}``.

    ``raw`` are the header cells as the file has them, ``final`` the column names the read
    table gives them (``金额``, ``金额.1``: same positions); ``used`` is the 1-based copy
    mapped to ``canonical`` (None when no copy is mapped), ``columns`` the names of all copies.
    """
    if len(raw) != len(final):
        return {}
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(raw):
        name = _header_norm(h)
        if name:
            positions.setdefault(name, []).append(i)
    by_source = {src: canon for canon, src in mapping.items()}
    out: dict[str, Any] = {}
    for name, pos in positions.items():
        if len(pos) < 2:
            continue
        names = [final[p] for p in pos]
        used = next((k + 1 for k, n in enumerate(names) if n in by_source), None)
        out[name] = {"copies": len(pos), "used": used,
                     "canonical": by_source.get(names[used - 1]) if used else None, "columns": names}
    return out


def _examples(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def reading_notes(table: str, info: Mapping[str, Any]) -> list[Note]:
    """What a reader must know about how one file was read (``info`` as
    :meth:`kit.io.RawTable.info`): repeated headers and which copy is used, number columns
    read with a decimal comma or by the file's other columns, dates read day or month first."""
    notes: list[Note] = []
    file = info.get("path", "")
    for header, d in (info.get("duplicate_headers") or {}).items():
        params = {"table": table, "file": file, "header": header, "copies": d["copies"]}
        if d["used"] is None:
            notes.append(Note("io.note.duplicate_headers_unused", params, "warning"))
        else:
            notes.append(Note("io.note.duplicate_headers",
                              {**params, "used": d["used"], "column": d["canonical"]}, "warning"))
    readings = info.get("readings") or {}
    for c, r in (readings.get("numbers") or {}).items():
        params = {"table": table, "file": file, "header": r["header"], "column": c}
        if r["how"] == "file":
            code = "io.note.file_decimal_comma" if r["decimal"] == "," else "io.note.file_decimal_point"
            notes.append(Note(code, params, "warning"))
        elif r["how"] == "column" and r["decimal"] == ",":
            notes.append(Note("io.note.decimal_comma", {**params, "examples": _examples(r["examples"])}, "info"))
    for c, r in (readings.get("dates") or {}).items():
        if r["how"] == "column":
            code = "io.note.dates_dayfirst" if r["dayfirst"] else "io.note.dates_monthfirst"
            notes.append(Note(code, {"table": table, "file": file, "header": r["header"], "column": c,
                                     "examples": _examples(r["examples"])}, "info"))
    return notes
