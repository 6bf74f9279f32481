"""The data rows of a worksheet as XlsxWriter writes them, made a column at a time.

XlsxWriter (constant-memory mode) takes one call per cell and spends 10-20 us of Python in
each (checks, a cell tuple, the XML of the row when the next row starts): at a million
customers the two workbooks' 300,000 rows are 5.5M cells and about 55 s of 05_strategy.
Here each column's cells become their XML in one list comprehension, decided once per column
by its dtype (numbers, dates, flags, text, mixed values), the rows are joined from the
columns a block at a time and written into the worksheet's own row stream. XlsxWriter still
writes everything else of the file: the header row, styles, widths, panes, the filter, the
print setup, the zip.

The XML is byte for byte what XlsxWriter writes for the same calls
(``tests/test_deliverables_stream.py`` compares whole files with the writer that wrote cell by
cell), with one exception: a text shaped like XlsxWriter's rich-string markup (``<r>...</r>``)
is passed through unescaped by XlsxWriter in this mode, which breaks the file or injects
cells; here it is escaped like any other text.

It uses four non-public parts of XlsxWriter's worksheet, stable since 1.x: the row stream
``Worksheet.fh``, ``_write_single_row`` (writes the pending row), ``_check_dimensions`` (the
used range) and ``Format._get_xf_index`` (a format's style number). pyproject pins XlsxWriter
below 4; the file comparison above fails on any drift.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_col_to_name

from kit.present.table import as_text

#: Text a spreadsheet would read as a formula starts with one of these (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Rows joined and written at a time (memory: the XML of this many rows).
BLOCK_ROWS = 5_000
_STR_MAX = 32_767  # Excel's longest text, in UTF-16 units
_EPOCH = dt.datetime(1899, 12, 31)
# what XlsxWriter escapes, in its order: its own escape sequence, control characters, the
# two non-characters, then the XML specials
_ESCAPED = re.compile("_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff&<>]")
_ESCAPE_OF_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile("([\x00-\x08\x0b-\x1f])")


def _escaped(s: str) -> str:
    """``s`` as the text of an inline string: Excel's ``_xHHHH_`` escapes, then XML's."""
    s = _ESCAPE_OF_ESCAPE.sub(r"_x005F\1", s)
    s = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", s)
    s = s.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fits(s: str) -> str:
    """``s`` cut to Excel's 32,767 UTF-16 units (a character above U+FFFF counts two)."""
    if len(s.encode("utf-16-le", "surrogatepass")) // 2 <= _STR_MAX:
        return s
    units = 0
    for i, ch in enumerate(s):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > _STR_MAX:
            return s[:i]
    return s


def _style(xf: int | None) -> str:
    return f' s="{xf}"' if xf else ""


def _text_tail(s: str, style: str, formula_style: str) -> str:
    """A text cell's XML after its reference: formula-like text with the quote-prefix
    style, whitespace at either end kept (``xml:space``), escaped."""
    st = formula_style if s.startswith(FORMULA_START) else style
    if len(s) > _STR_MAX // 2:
        s = _fits(s)
    if _ESCAPED.search(s):
        s = _escaped(s)
    if s[:1].isspace() or s[-1:].isspace():  # XlsxWriter's ``^\s|\s$``
        return f'{st} t="inlineStr"><is><t xml:space="preserve">{s}</t></is></c>'
    return f'{st} t="inlineStr"><is><t>{s}</t></is></c>'


def text_cell(ref: str, s: str, style: str, formula_style: str) -> str:
    """One text cell (:func:`_text_tail`)."""
    return f'<c r="{ref}"{_text_tail(s, style, formula_style)}'


def _text_cells(refs: list[str], cells: list, style: str, formula_style: str) -> list[str]:
    """A text column's cells; each distinct text escaped once (a column of labels holds few)."""
    memo: dict[str, str] = {}

    def tail(v: str) -> str:
        t = memo.get(v)
        if t is None:
            t = memo[v] = _text_tail(v, style, formula_style)
        return t

    return [f'<c r="{r}"{tail(v)}' if isinstance(v, str) else "" for r, v in zip(refs, cells)]


def _number(ref: str, x: float | int, style: str) -> str:
    return f'<c r="{ref}"{style}><v>{x:.16G}</v></c>'


def excel_serial(value: dt.datetime | dt.date) -> float:
    """Excel's serial day number of a date or date-time (1900 system, with Excel's leap day)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromordinal(value.toordinal())
    delta = value.replace(tzinfo=None) - _EPOCH
    serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / (60 * 60 * 24)
    if value.isocalendar() == (1900, 1, 1):  # XlsxWriter's time-only correction, kept as it does
        serial -= 1
    return serial + 1 if serial > 59 else serial


def _mixed(v: Any) -> tuple[str, Any] | None:
    """What a value of a mixed column is written as: ``("text", str)``, ``("flag", bool)``,
    ``("number", finite int or float)`` or ``("date", serial)``; None for nothing (missing,
    not finite). Lists are joined (:func:`as_text`); anything else is its text."""
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    v = as_text(v)
    if isinstance(v, str):
        return "text", v
    if pd.isna(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return "flag", v
    if isinstance(v, (int, float)):
        return ("number", v) if math.isfinite(v) else None
    if isinstance(v, (dt.datetime, dt.date)):
        return "date", excel_serial(v)
    return "text", str(v)


def _any_cell(ref: str, v: Any, style: str, formula_style: str, date_style: str) -> str:
    """A cell of a column of mixed Python values, as :func:`_mixed` reads it."""
    kind = _mixed(v)
    if kind is None:
        return ""
    what, x = kind
    if what == "text":
        return text_cell(ref, x, style, formula_style)
    if what == "flag":
        return f'<c r="{ref}"{style} t="b"><v>{int(x)}</v></c>'
    return _number(ref, x, date_style if what == "date" else style)


def _is_text(values: pd.Series) -> bool:
    """A column of text and missing values only (Arrow's strings, or objects that are)."""
    if isinstance(values.array, pd.arrays.ArrowStringArray):
        return True
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def column_cells(values: pd.Series, col: int, first_row: int, xf: int | None, text_xf: int | None,
                 date_xf: int | None) -> list[str]:
    """The XML of each cell of one column (``""`` where nothing is written), rows numbered
    from ``first_row`` (0-based, as XlsxWriter counts). ``xf``: the column's style (its
    number format or wrap), ``text_xf``: formula-like text's, ``date_xf``: a date's when the
    column has no style of its own."""
    letter = xl_col_to_name(col)
    refs = [f"{letter}{r + 1}" for r in range(first_row, first_row + len(values))]
    style, formula_style, date_style = _style(xf), _style(text_xf), _style(xf or date_xf)
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return [f'<c r="{r}"{style} t="b"><v>{int(v)}</v></c>' for r, v in zip(refs, values.tolist())]
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        finite = np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))
        cells = values.astype(object).tolist()
        return [_number(r, v, style) if ok else "" for r, v, ok in zip(refs, cells, finite.tolist())]
    if pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
        return ["" if v is pd.NaT else _number(r, excel_serial(v), date_style)
                for r, v in zip(refs, stamps.dt.to_pydatetime())]
    if _is_text(values):
        return _text_cells(refs, values.tolist(), style, formula_style)
    return [_any_cell(r, v, style, formula_style, date_style) for r, v in zip(refs, values.tolist())]


def _first_uses(values: pd.Series, fmt, text_fmt, date_fmt) -> list[tuple[int, Any]]:
    """``(row, format)`` of the first cell of the column written with each format (rows
    counted from 0 within ``values``): XlsxWriter numbers a workbook's formats in the order
    cells first use them, so the rows are numbered the same way before they are made."""
    dtype = values.dtype
    if _is_text(values):
        cells = values.tolist()
        present = np.fromiter((isinstance(v, str) for v in cells), dtype=bool, count=len(cells))
        formula = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_START) for v in cells), dtype=bool,
                              count=len(cells))
        kinds = [(present & ~formula, fmt), (formula, text_fmt)]
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        kinds = [(values.notna().to_numpy(), fmt or date_fmt)]
    elif pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        kinds = [(np.ones(len(values), dtype=bool), fmt)]
    elif pd.api.types.is_numeric_dtype(dtype):
        kinds = [(np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan)), fmt)]
    else:  # mixed values: each value's format, as _any_cell picks it, until each was seen
        found: dict[int, tuple[int, Any]] = {}
        for i, v in enumerate(values.tolist()):
            kind = _mixed(v)
            if kind is None:
                continue
            what, x = kind
            f = (text_fmt if what == "text" and x.startswith(FORMULA_START)
                 else (fmt or date_fmt) if what == "date" else fmt)
            if f is not None and id(f) not in found:
                found[id(f)] = (i, f)
                if len(found) == 3:
                    break
        return list(found.values())
    return [(int(np.argmax(mask)), f) for mask, f in kinds if f is not None and mask.any()]


def write_rows(ws, shown: pd.DataFrame, formats: list, text_format, date_format, first_row: int = 1) -> None:
    """Write the rows of ``shown`` into worksheet ``ws`` from row ``first_row`` (0-based) on,
    after the rows XlsxWriter holds (the header row): column ``j`` with ``formats[j]`` (None:
    no style), formula-like text with ``text_format``, dates without a column format with
    ``date_format``. A row without any value is left out, as XlsxWriter leaves it out."""
    if not ws.constant_memory:
        raise ValueError("write_rows writes into a constant-memory worksheet's row stream")
    ws._write_single_row(first_row)  # the pending rows (the header) go out first
    uses = sorted((row, j, k, f) for j in range(shown.shape[1]) for k, (row, f) in enumerate(
        _first_uses(shown.iloc[:, j], formats[j], text_format, date_format)))
    used = {}
    for *_, f in uses:  # formats numbered in the order XlsxWriter, writing cell by cell, would
        used[id(f)] = f._get_xf_index()

    def xf(f) -> int | None:  # a format no cell of this sheet uses is not numbered here
        return None if f is None else used.get(id(f))

    xfs = [xf(f) for f in formats]
    text_xf, date_xf = xf(text_format), xf(date_format)
    last = None
    for start in range(0, len(shown), BLOCK_ROWS):
        block = shown.iloc[start:start + BLOCK_ROWS]
        row0 = first_row + start
        columns = [column_cells(block.iloc[:, j], j, row0, xfs[j], text_xf, date_xf) for j in range(block.shape[1])]
        out = []
        for i, cells in enumerate(zip(*columns)):
            body = "".join(cells)
            if body:
                out.append(f'<row r="{row0 + i + 1}">{body}</row>')
                last = row0 + i
        ws.fh.write("".join(out))
    if last is not None:
        ws._check_dimensions(last, 0)  # the used range reaches the last row written
        ws._write_single_row(last + 1)  # those rows are written: nothing is pending
