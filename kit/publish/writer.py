"""The one writer of every CSV and Excel file the kit leaves, and the one path check.

* :func:`write_csv` writes one frame as CSV; :func:`write_workbook` writes sheets into one
  formatted ``.xlsx`` ready to work in: a bold filled header row, panes frozen below it and
  right of the id and name columns, an auto filter over the table, widths from the content
  with CJK characters counted double, number formats by the column's registered kind, and
  a print setup (landscape, one page wide, the header row on every page). Both take frames
  with canonical columns and label them with :func:`kit.present.table.display_values` and
  :func:`sheet_headers` (the registry's labels, made unique within the sheet).

* Every text cell that a spreadsheet would read as a formula (starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return: OWASP's CSV injection list) is neutralised:
  in CSV with a leading ``'``, in Excel as a string cell with the quote prefix. Numbers,
  negative ones included, stay numbers.
* With ``mask_pii`` every column with a PII role in the column registry is masked
  (:func:`kit.present.table.mask`), so no writer can forget a column.
* Every path written is checked to lie inside the run's output folder (:func:`inside`).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import xlsxwriter

from kit.core import registry
from kit.present.table import STICKY_COLUMNS, as_text, display_values, header, mask
from kit.publish.xlsx_rows import FORMULA_START, write_rows

#: :data:`FORMULA_START` as a regular expression (RE2, for Arrow): the first character, kept.
_FORMULA_RE = "^([" + "".join(re.escape(c) for c in FORMULA_START) + "])"
#: Rows per chunk when writing CSV: only one chunk's escaped copy exists at once. Measured
#: on the deliverables of a million customers (two languages): 200,000 rows held 1,079 MB
#: above the spine, 50,000 495 MB, in the same time (58 s); 20,000 358 MB but 66 s. At 3M,
#: 50,000 with the spine's text in one piece (:func:`kit.publish.parquet.one_chunk`): 111 s,
#: +708 MB; 200,000 before it: 121 s, +1,381 MB.
CSV_CHUNK_ROWS = 50_000


class UnsafePath(ValueError):
    """A write outside the run's output folder."""


def inside(root: str | Path, path: str | Path) -> Path:
    """``path`` resolved, after checking that it lies inside ``root`` (else :class:`UnsafePath`)."""
    root_r = Path(root).resolve()
    p = Path(path)
    p_r = (root_r / p).resolve() if not p.is_absolute() else p.resolve()
    if p_r != root_r and root_r not in p_r.parents:
        raise UnsafePath(f"refusing to write {p_r}: it is outside the run folder {root_r}")
    return p_r


def is_formula_like(value: Any) -> bool:
    """True for text a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(value: Any) -> Any:
    """Formula-like text gets a leading ``'``; anything else is returned as it is.

    >>> neutralise("=1+1"), neutralise("-5"), neutralise(-5), neutralise("张三")
    ("'=1+1", "'-5", -5, '张三')
    """
    return "'" + value if is_formula_like(value) else value


def sheet_headers(columns, lang: str) -> list[str]:
    """Report-language headers of canonical ``columns``, unique within the sheet.

    Labels come from :func:`kit.present.table.header`. Two columns whose labels would read
    the same (compared case-insensitively) cannot be told apart in a filter or a formula, so
    the later one gets its canonical name added: ``Region (tag_region)``. The registry keeps
    the labels of every sheet distinct (``tests/test_sheets.py``); this is the safety net for
    a column added without a label of its own.
    """
    heads = [header(c, lang) for c in columns]
    seen: set[str] = set()
    out = []
    for col, head in zip(columns, heads):
        if head.casefold() in seen:
            head = f"{head} ({col})"
        seen.add(head.casefold())
        out.append(head)
    return out


def money_in_cents(df: pd.DataFrame) -> pd.DataFrame:
    """Money columns (registered kind ``money``) rounded to the cent, so a CSV says
    ``263984.28``, not the float noise ``263984.27999999997``."""
    money = [c for c in df.columns if registry.kind(str(c)) == "money" and pd.api.types.is_float_dtype(df[c])]
    if not money:
        return df
    out = df.copy()
    out[money] = out[money].round(2)
    return out


def _neutralised(s: pd.Series) -> pd.Series:
    """``neutralise(as_text(v))`` of every value of ``s`` but the missing ones (kept as
    they are). A text column held by Arrow (pandas' ``str``) is done in Arrow, one regular
    expression over the column (:data:`_FORMULA_RE`); any other column once per distinct
    value (a column of a million customers holds a few thousand distinct texts). Values
    that cannot be told apart by hashing (lists) are taken one by one."""
    if isinstance(s.array, pd.arrays.ArrowStringArray):
        quoted = pc.replace_substring_regex(s.array.__arrow_array__(), pattern=_FORMULA_RE, replacement=r"'\1",
                                            max_replacements=1)
        return pd.Series(quoted, index=s.index, dtype=s.dtype)
    try:
        codes, uniques = pd.factorize(s)
    except TypeError:  # unhashable values: one by one
        return s.map(lambda v: neutralise(as_text(v)), na_action="ignore")
    done = np.empty(len(uniques), dtype=object)
    done[:] = [neutralise(as_text(u)) for u in uniques]
    out = s.to_numpy(dtype=object, copy=True)
    present = codes >= 0
    out[present] = done[codes[present]]
    return pd.Series(out, index=s.index, dtype=object)


def csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as ``yyyy-mm-dd``, lists joined, every text cell and header neutralised."""
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%d")
        elif not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            s = _neutralised(s)
        out[neutralise(str(col))] = s
    return pd.DataFrame(out, index=df.index)


def write_csv(
    df: pd.DataFrame,
    path: str | Path,
    *,
    root: str | Path,
    lang: str | None = None,
    mask_pii: bool = False,
    bom: bool = True,
) -> Path:
    """Write ``df`` (canonical columns) as CSV inside ``root``.

    ``lang`` given: values and headers as a reader sees them (labels, 是/否) in that
    language; None: canonical headers and stored values (an artifact for the next stage
    or an analyst). PII columns are masked when ``mask_pii``; formula-like text is
    neutralised always. UTF-8 with a BOM by default (Excel opens Chinese correctly).
    Written :data:`CSV_CHUNK_ROWS` rows at a time (:func:`write_csv_chunks`).
    """
    chunks = (df.iloc[start:start + CSV_CHUNK_ROWS] for start in range(0, max(len(df), 1), CSV_CHUNK_ROWS))
    return write_csv_chunks(chunks, path, root=root, lang=lang, mask_pii=mask_pii, bom=bom)


def write_csv_chunks(
    chunks: Iterable[pd.DataFrame],
    path: str | Path,
    *,
    root: str | Path,
    lang: str | None = None,
    mask_pii: bool = False,
    bom: bool = True,
) -> Path:
    """Write consecutive pieces of one table as one CSV inside ``root``, a piece at a time.

    Each piece (the same canonical columns, in order; the first one gives the header, so
    give at least one, empty when the table is) is made ready as :func:`write_csv` makes a
    table -- values in ``lang``, PII masked when ``mask_pii``, formula-like text
    neutralised -- written and dropped before the next is drawn: a caller that builds its
    table piece by piece never holds it whole.
    """
    target = inside(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as f:
        if bom:
            f.write(b"\xef\xbb\xbf")
        for i, piece in enumerate(chunks):
            chunk = money_in_cents(piece)
            if lang is not None:
                chunk = display_values(chunk, lang, mask_pii=mask_pii)
                chunk.columns = sheet_headers(list(chunk.columns), lang)
            elif mask_pii:
                chunk = mask(chunk)
            chunk = csv_ready(chunk)
            try:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column mixing numbers and text
                chunk.to_csv(f, index=False, header=i == 0, encoding="utf-8")
                continue
            pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=i == 0, quoting_style="needed"))
    return target


# --------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------

#: Excel number format per display kind.
NUMBER_FORMATS = {
    "int": "#,##0",
    "num": "#,##0.00",
    "score": "0.0",
    "money": "#,##0",
    "pct": "0.0%",
    "date": "yyyy-mm-dd",
}
_MAX_WIDTH = 60
#: The frozen id and name columns stay narrower, so the columns that scroll keep the screen.
_FROZEN_MAX_WIDTH = 30
_SAMPLE_ROWS = 2_000  # rows read to size a column
#: Print margins in inches (Excel's "narrow" preset, with room for the page footer).
_MARGINS = {"left": 0.25, "right": 0.25, "top": 0.5, "bottom": 0.6}
#: Page footer: the sheet name on the left, "page / pages" on the right.
_FOOTER = "&L&A&R&P / &N"
_HEAD_STYLE = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#2F5D8A", "valign": "vcenter",
               "text_wrap": True, "bottom": 1, "bottom_color": "#1D3B57"}


def display_width(text: str) -> int:
    """Width of ``text`` in Excel character units: East Asian wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def excel_kind(column: object, values: pd.Series) -> str:
    """The number format kind of a canonical column: its registered kind (labels, flags and
    ids are text), else from the dtype of its values."""
    col = registry.column(str(column))
    if col is not None:
        k = col.kind
        return "text" if k.startswith(("label:", "labels:")) or k in ("bool", "id") else k
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if pd.api.types.is_bool_dtype(values):
        return "text"
    if pd.api.types.is_integer_dtype(values):
        return "int"
    if pd.api.types.is_float_dtype(values):
        return "num"
    return "text"


def _column_width(head: str, values: pd.Series, kind: str) -> float:
    sample = values.head(_SAMPLE_ROWS)
    if kind == "date":
        widest = 10
    elif kind in NUMBER_FORMATS:
        nums = pd.to_numeric(sample, errors="coerce").abs()
        top = float(nums.max()) if nums.notna().any() else 0.0
        widest = len(f"{top:,.2f}") + 1
    else:
        texts = sample.dropna().astype(str)
        widest = max((display_width(t) for t in texts), default=0)
    return float(min(max(display_width(head), widest) + 2, _MAX_WIDTH))


def frozen_columns(columns) -> int:
    """How many leading columns stay in view when a sheet scrolls sideways: up to and
    including the last of the id and name columns (:data:`kit.present.table.STICKY_COLUMNS`)
    among the first few; 0 when a sheet has neither (its header row alone is frozen)."""
    lead = [str(c) for c in list(columns)[:len(STICKY_COLUMNS) + 1]]
    at = [j for j, c in enumerate(lead) if c in STICKY_COLUMNS]
    return max(at) + 1 if at else 0


def _print_setup(ws) -> None:
    """Landscape, one page wide (as many pages tall as it takes), the header row repeated
    on every printed page, narrow margins, the sheet name and page number in the footer."""
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_margins(**_MARGINS)
    ws.set_footer(_FOOTER)


def _check_sheet_names(names) -> None:
    for name in names:
        if len(name) > 31 or re.search(r"[\[\]:*?/\\]", name):
            raise ValueError(f"not a valid Excel sheet name (max 31 characters, no []:*?/\\): {name!r}")


def _write_sheet(wb, fmt: dict, name: str, df: pd.DataFrame, lang: str, mask_pii: bool,
                 wrap: frozenset[str]) -> None:
    """One sheet: header row, columns sized and formatted, rows, panes, filter, print setup."""
    kinds = [excel_kind(c, df[c]) for c in df.columns]
    shown = display_values(df, lang, mask_pii=mask_pii)
    heads = sheet_headers(list(df.columns), lang)
    frozen = frozen_columns(df.columns)
    ws = wb.add_worksheet(name)
    fmts = [fmt["wrap"] if str(c) in wrap else fmt["num"].get(k) for c, k in zip(df.columns, kinds)]
    for j, col in enumerate(shown.columns):
        width = _column_width(heads[j], shown[col], kinds[j])
        ws.set_column(j, j, min(width, _FROZEN_MAX_WIDTH) if j < frozen else width, fmts[j])
        ws.write_string(0, j, heads[j], fmt["head_text"] if is_formula_like(heads[j]) else fmt["head"])
    ws.freeze_panes(1, frozen)
    # the rows as XML a column at a time, into XlsxWriter's row stream (one call a cell
    # costs ~10-20 us of XlsxWriter's Python: 55 s for the two workbooks of a 1M run)
    write_rows(ws, shown, fmts, fmt["text"], fmt["num"]["date"])
    if len(heads):
        ws.autofilter(0, 0, max(len(shown), 1), len(heads) - 1)
    _print_setup(ws)


def write_workbook(
    sheets: Mapping[str, pd.DataFrame | Callable[[], pd.DataFrame]],
    path: str | Path,
    *,
    root: str | Path,
    lang: str,
    mask_pii: bool = False,
    wrap: Iterable[str] = (),
) -> Path:
    """Write sheets (canonical columns) into one formatted ``.xlsx`` inside ``root``.

    Parameters
    ----------
    sheets : mapping of str to DataFrame, or to a function that builds it
        Sheet name (at most 31 characters) -> table with canonical columns; values are
        shown as :func:`kit.present.table.display_values` shows them (labels, 是/否),
        headers through :func:`sheet_headers`. The index is not written. A function is
        called when its sheet is written and its table dropped after: only one sheet of a
        large workbook is held at a time.
    path : str or Path
        Target file, inside ``root`` (:func:`inside`).
    lang : {"zh", "en"}
    mask_pii : bool
        Mask every column with a PII role (``cfg.report.mask_pii``).
    wrap : iterable of str
        Text columns (canonical names) whose long text wraps inside the column's width
        (a sheet of notes) instead of running on in one line.

    Returns
    -------
    Path
        The file. Each sheet has a bold, filled header row; panes frozen below it and right
        of the id and name columns (:func:`frozen_columns`: ``C2`` when they lead); an auto
        filter over the table; widths from the content (CJK counted double); number formats
        ``#,##0`` (money, counts), ``0.0%`` (shares), ``yyyy-mm-dd`` (dates); and a print
        setup: landscape, fit to one page wide, the header row repeated on every page.
        Formula-like text is written as a string cell with the quote prefix, never as a
        formula.
    """
    _check_sheet_names(sheets)
    target = inside(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # XlsxWriter streams rows (constant memory) and takes number formats per column
    wb = xlsxwriter.Workbook(str(target), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False, "strings_to_numbers": False})
    fmt = {
        "head": wb.add_format(_HEAD_STYLE),
        "head_text": wb.add_format({**_HEAD_STYLE, "quote_prefix": True}),
        "text": wb.add_format({"quote_prefix": True}),  # formula-like text, shown as typed
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "num": {kind: wb.add_format({"num_format": f}) for kind, f in NUMBER_FORMATS.items()},
    }
    for name, df in sheets.items():
        _write_sheet(wb, fmt, name, df() if callable(df) else df, lang, mask_pii, frozenset(wrap))
    if not sheets:
        wb.add_worksheet("empty")
    wb.close()
    return target
