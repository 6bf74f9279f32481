"""Read client exports as they come: CSV (UTF-8, UTF-8 with BOM, GBK / GB18030), Excel, Parquet.

:func:`read_table` turns one configured input file into a :class:`RawTable`: every value
as a string exactly as the file holds it (nothing parsed, nothing dropped), the row
number a person sees in Excel or an editor, the encoding that was detected, the header
row that was found below any title rows, and the mapping of canonical column names
(``kit.core.config.CANONICAL_COLUMNS``) to the file's headers, either configured or recognised
through :data:`SYNONYMS`.

The parts live beside this module: :mod:`kit.io.formats` (format, encoding, delimiter,
:class:`InputError`), :mod:`kit.io.headers` (synonyms, header row, column mapping) and
:mod:`kit.io.parse` (the value parsers :func:`normalize_text`, :func:`normalize_ids`,
:func:`parse_dates`, :func:`parse_amounts`, :func:`parse_ratio`, vectorised over the
distinct values of a column). Their public names are importable from here and from
:mod:`kit.io` too.

Every number and date column is read one way, decided once per column
(:mod:`kit.io.readings`: the config, else the column's own values, else for numbers the
file's other columns); :meth:`RawTable.column` hands that reading to the parsers. A
repeated header is reported (``duplicate_headers`` in :meth:`RawTable.info`).

Anything that keeps a file from being read raises :class:`InputError`, whose message
names the file, the column when there is one, and the fix: a missing sheet or a first
sheet that is not the data, UTF-16 without a byte-order mark, a column whose numbers or
dates read two ways.
"""
from __future__ import annotations

import csv
import difflib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from kit.core import paths
from kit.core.config import CANONICAL_COLUMNS, InputTable
from kit.io.formats import (  # noqa: F401 - re-exported: kit.io.read is the reading API
    HEADER_SCAN_ROWS, SOURCE_ROW, WHITESPACE, InputError, detect_encoding, detect_format, resolve_encoding,
    sniff_delimiter,
)
from kit.io.formats import _head_lines
from kit.io.headers import (  # noqa: F401 - re-exported
    SYNONYMS, find_header_row, header_key, map_columns, nearest_headers, unique_headers,
)
from kit.io.headers import _preview
from kit.io.parse import (  # noqa: F401 - re-exported
    EXCEL_SERIAL_RANGE, MISSING_TOKENS, PLAUSIBLE_YEARS, READING, DateOrder, NumberStyle, by_unique,
    normalize_ids, normalize_text, parse_amounts, parse_dates, parse_numbers, parse_ratio,
)
from kit.io.parse import _as_text, _cell_str
from kit.io.readings import (  # noqa: F401 - re-exported
    DATE_COLUMNS, NUMBER_COLUMNS, decide_readings, duplicate_headers, evidence_values, reading_columns,
    reading_notes, readings_info,
)

if TYPE_CHECKING:  # pragma: no cover
    from kit.core.config import KitConfig


# --------------------------------------------------------------------------------------
# RawTable
# --------------------------------------------------------------------------------------


@dataclass
class RawTable:
    """One input file as read: strings only, plus where each row came from.

    ``frame`` holds the file's columns under their source headers (every value a string,
    ``""`` for an empty cell) and ``source_row``: the 1-based line (CSV) or row (Excel)
    number a person sees in an editor or in Excel; for Parquet, the 1-based row index.
    ``mapping`` is canonical name -> source header; ``how`` says per canonical name
    whether the mapping was ``configured`` or found by ``synonym``.
    """

    table: str
    frame: pd.DataFrame
    path: Path
    format: str = "csv"
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    delimiter: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    blank_rows: int = 0
    readings: dict[str, NumberStyle | DateOrder] = field(default_factory=dict)
    duplicates: dict[str, Any] = field(default_factory=dict)

    @property
    def source_columns(self) -> list[str]:
        """The file's own columns (without ``source_row``)."""
        return [c for c in self.frame.columns if c != SOURCE_ROW]

    @property
    def display_path(self) -> str:
        """The path relative to the project root when inside it, else absolute."""
        try:
            return str(self.path.resolve().relative_to(paths.PROJ_ROOT))
        except ValueError:
            return str(self.path)

    def column(self, canonical: str) -> pd.Series | None:
        """The source column mapped to ``canonical`` (strings), or None when unmapped; a
        number or date column carries its decided reading in ``attrs[READING]``, which the
        parsers (:func:`parse_amounts`, :func:`parse_dates` ...) follow."""
        src = self.mapping.get(canonical)
        if src is None:
            return None
        col = self.frame[src]
        if canonical in self.readings:
            col.attrs[READING] = self.readings[canonical]
        return col

    def info(self) -> dict[str, Any]:
        """JSON-able description of how the file was read (for quality.json); here
        ``header_row`` is the 1-based line or Excel row a person sees."""
        return {
            "path": self.display_path,
            "format": self.format,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "header_row": None if self.header_row is None else self.header_row + 1,
            "delimiter": self.delimiter,
            "rows": int(len(self.frame)),
            "blank_rows_skipped": int(self.blank_rows),
            "readings": readings_info(self.readings, self.mapping),
            "duplicate_headers": dict(self.duplicates),
        }

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        table: str,
        *,
        columns: dict[str, str] | None = None,
        path: str | Path = "<memory>",
    ) -> "RawTable":
        """A RawTable from an in-memory frame of strings (tests, other engines).

        ``source_row`` is kept when present, else numbered 2, 3, ... (a header on line 1).
        """
        frame = frame.copy()
        if SOURCE_ROW not in frame.columns:
            frame[SOURCE_ROW] = np.arange(2, len(frame) + 2, dtype="int64")
        src_cols = [c for c in frame.columns if c != SOURCE_ROW]
        for c in src_cols:
            frame[c] = _as_text(frame[c])
        mapping, how = map_columns(src_cols, table, columns or {}, source=str(path))
        return cls(table=table, frame=frame, path=Path(path), format="memory",
                   mapping=mapping, how=how, readings=_readings(frame, mapping, None, table, path))


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def read_table(
    spec: InputTable,
    table: str,
    *,
    only: list[str] | None = None,
) -> RawTable:
    """Read one configured input file (see :class:`kit.core.config.InputTable`).

    ``table`` is ``transactions``, ``customers`` or ``interactions`` (which canonical
    columns and synonyms apply). ``only`` restricts the frame to the source columns mapped
    to these canonical names (a quick read, e.g. for :func:`latest_date`).

    Raises :class:`InputError` for a missing, empty, header-only or binary file, an
    undecodable text or UTF-16 without a byte-order mark (unless configured), a missing
    sheet or a default first sheet that is not data while another sheet is, a required or
    configured column the file lacks, and a number or date column that reads two ways
    (:func:`kit.io.readings.decide_readings`).
    """
    if table not in CANONICAL_COLUMNS:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(CANONICAL_COLUMNS)}")
    path = paths.resolve(spec.path)
    where = f"inputs.{table}.path"
    if not path.exists():
        raise InputError(f"{path}: file not found ({where}); check the path in the config")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file ({where})")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); ask the client for a new export")
    fmt = detect_format(path, spec.format)
    if fmt == "csv":
        frame, meta = _read_csv(path, spec, table)
    elif fmt == "excel":
        frame, meta = _read_excel(path, spec, table)
    else:
        frame, meta = _read_parquet(path)

    src_cols = [c for c in frame.columns if c != SOURCE_ROW]
    data = frame[src_cols]
    blank = (data == "").all(axis=1) if len(src_cols) else pd.Series(True, index=frame.index)
    blank_rows = int(blank.sum())
    if blank_rows:
        frame = frame.loc[~blank].reset_index(drop=True)
    if len(frame) == 0:
        raise InputError(
            f"{path}: has a header row ({_preview(src_cols)}) but no data rows; "
            "ask the client for an export with data"
        )
    mapping, how = map_columns(src_cols, table, spec.columns, source=str(path))
    header_cells = meta.pop("header_cells", None)
    typed = set(meta.pop("typed", ()))
    duplicates = duplicate_headers(header_cells, src_cols, mapping) if header_cells is not None else {}
    if only is not None:
        keep = [mapping[c] for c in only if c in mapping]
        frame = frame[keep + [SOURCE_ROW]]
        mapping = {c: mapping[c] for c in only if c in mapping}
        how = {c: how[c] for c in mapping}
    return RawTable(
        table=table, frame=frame, path=path, format=fmt, blank_rows=blank_rows,
        mapping=mapping, how=how, readings=_readings(frame, mapping, spec, table, path, typed),
        duplicates=duplicates, **meta,
    )


def _readings(frame: pd.DataFrame, mapping: dict[str, str], spec: InputTable | None, table: str,
              path: object, typed: set[str] = frozenset()) -> dict[str, NumberStyle | DateOrder]:
    """The reading of every mapped number and date column (:func:`decide_readings`);
    ``typed``: source columns of numbers stored as numbers (Excel, Parquet)."""
    numbers, dates = reading_columns(table, mapping)
    values = {c: evidence_values(frame[mapping[c]], "number") for c in numbers if mapping[c] not in typed}
    values.update({c: evidence_values(frame[mapping[c]], "date") for c in dates})
    return decide_readings(values, mapping, spec, table, path, typed={c for c in numbers if mapping[c] in typed})


# ---- CSV ------------------------------------------------------------------------------


def _read_csv(path: Path, spec: InputTable, table: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    encoding = resolve_encoding(path, spec.encoding, table)
    lines = _head_lines(path, encoding, HEADER_SCAN_ROWS, table)
    if not any(line.strip() for line in lines):
        raise InputError(f"{path}: holds no text (only blank lines); ask the client for a new export")
    delimiter = spec.delimiter or sniff_delimiter(lines)
    if delimiter == WHITESPACE:  # fixed-width-ish text such as the CDNOW files
        rows = [line.split() for line in lines]
        sep = r"\s+"
    else:
        rows = [next(csv.reader([line], delimiter=delimiter), []) for line in lines]
        sep = delimiter
    header_idx = spec.header_row if spec.header_row is not None else find_header_row(rows, table, spec.columns)
    if header_idx >= len(rows) and spec.header_row is not None:
        raise InputError(f"{path}: inputs.{table}.header_row is {spec.header_row}, but the file has "
                         f"only {len(rows)} lines")
    try:
        frame = pd.read_csv(
            path, encoding=encoding, sep=sep, skiprows=header_idx, header=0, dtype=str,
            na_filter=False, skip_blank_lines=False, keep_default_na=False, engine="c",
        )
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path}: cannot be decoded as {encoding} ({e.reason} at byte {e.start}); set "
            f"inputs.{table}.encoding to the right one (utf-8, gbk, gb18030) or to auto"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: has no header row; ask the client for a new export") from None
    except pd.errors.ParserError as e:
        raise InputError(
            f"{path}: rows do not split into the header's columns with delimiter {delimiter!r} "
            f"({e}); set inputs.{table}.delimiter, or fix the file's quoting"
        ) from None
    frame = frame.fillna("")
    frame.columns = unique_headers(frame.columns)
    # line number of data row i: header line (header_idx + 1) + 1 + i
    frame[SOURCE_ROW] = np.arange(header_idx + 2, header_idx + 2 + len(frame), dtype="int64")
    header_cells = rows[header_idx] if header_idx < len(rows) else None
    return frame, {"encoding": encoding, "header_row": header_idx, "delimiter": delimiter,
                   "header_cells": header_cells}


# ---- Excel ----------------------------------------------------------------------------


def _read_excel(path: Path, spec: InputTable, table: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    fh = open(path, "rb")  # a handle, not the name: openpyxl refuses names not ending in .xlsx
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as e:
        fh.close()
        raise InputError(f"{path}: is not a readable .xlsx workbook ({e}); re-save it from Excel") from None
    try:
        names = wb.sheetnames
        name = _sheet_name(path, names, spec.sheet, table)
        ws = wb[name]
        ws.reset_dimensions()
        rows, last_text, last_num = _sheet_rows(ws)
        if spec.sheet == 0 and len(names) > 1 and not _looks_like_data(rows, spec, table):
            _stop_if_data_elsewhere(path, wb, names, spec, table)
    finally:
        wb.close()
        fh.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(f"{path}: sheet {name!r} is empty; check inputs.{table}.sheet")
    width = max(len(r) for r in rows)
    rows = [list(r) + [""] * (width - len(r)) for r in rows]
    header_idx = (
        spec.header_row if spec.header_row is not None
        else find_header_row(rows[:HEADER_SCAN_ROWS], table, spec.columns)
    )
    if header_idx >= len(rows):
        raise InputError(f"{path}: inputs.{table}.header_row is {header_idx}, but sheet {name!r} "
                         f"has only {len(rows)} rows")
    header = rows[header_idx]
    # drop trailing columns with neither header nor data
    used = [j for j in range(width) if header[j] != "" or any(r[j] != "" for r in rows[header_idx + 1:])]
    last = (max(used) + 1) if used else 0
    body = [r[:last] for r in rows[header_idx + 1:]]
    frame = pd.DataFrame(body, columns=unique_headers(header[:last]), dtype="str")
    frame[SOURCE_ROW] = np.arange(header_idx + 2, header_idx + 2 + len(frame), dtype="int64")
    typed = [h for j, h in enumerate(frame.columns[:last])
             if last_text.get(j, -1) <= header_idx < last_num.get(j, -1)]
    return frame, {"sheet": name, "header_row": header_idx, "header_cells": header[:last], "typed": typed}


def _sheet_rows(ws) -> tuple[list[tuple[str, ...]], dict[int, int], dict[int, int]]:
    """A sheet's rows as text, and per column the last row holding a text cell and the last
    holding a number cell (a column whose cells below the header are all numbers is typed:
    its text is the kit's own, with a decimal point and no thousands separator)."""
    rows: list[tuple[str, ...]] = []
    last_text: dict[int, int] = {}
    last_num: dict[int, int] = {}
    for i, r in enumerate(ws.iter_rows(min_row=1, values_only=True)):
        for j, v in enumerate(r):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                last_num[j] = i
            elif v is not None and v != "":
                last_text[j] = i
        rows.append(tuple(_cell_str(v) for v in r))
    return rows, last_text, last_num


def _sheet_name(path: Path, names: list[str], sheet: str | int, table: str) -> str:
    """The configured sheet's name: by 0-based index, else by name (exact, then ignoring
    case and surrounding spaces)."""
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise InputError(
                f"{path}: inputs.{table}.sheet is {sheet}, but the workbook has {len(names)} "
                f"sheet(s): {', '.join(names)}"
            )
        return names[sheet]
    name = next((n for n in names if n == sheet), None) or next(
        (n for n in names if n.strip().lower() == str(sheet).strip().lower()), None
    )
    if name is None:
        near = difflib.get_close_matches(str(sheet), names, n=3, cutoff=0.3)
        hint = f"; nearest: {', '.join(near)}" if near else ""
        raise InputError(
            f"{path}: has no sheet {sheet!r} (inputs.{table}.sheet); sheets: "
            f"{', '.join(names)}{hint}"
        )
    return name


def _looks_like_data(rows: list[tuple[str, ...]], spec: InputTable, table: str) -> bool:
    """Whether a sheet's first rows hold a header row that maps every required column."""
    rows = [list(r) for r in rows[:HEADER_SCAN_ROWS] if r]
    if not rows:
        return False
    idx = spec.header_row if spec.header_row is not None else find_header_row(rows, table, spec.columns)
    if idx >= len(rows):
        return False
    try:
        map_columns(unique_headers(rows[idx]), table, spec.columns)
    except InputError:
        return False
    return True


def _stop_if_data_elsewhere(path: Path, wb, names: list[str], spec: InputTable, table: str) -> None:
    """Sheet 0 (the default) is not data: stop, naming the sheet that looks like data, if any."""
    for other in names[1:]:
        ws = wb[other]
        ws.reset_dimensions()
        head = [tuple(_cell_str(v) for v in r)
                for r in ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, values_only=True)]
        if _looks_like_data(head, spec, table):
            required = ", ".join(CANONICAL_COLUMNS[table]["required"])
            raise InputError(
                f"{path}: sheet '{names[0]}' (inputs.{table}.sheet: 0, the first) does not look like data "
                f"(no header row with {required}); sheets: {', '.join(repr(n) for n in names)}; "
                f"'{other}' does: set inputs.{table}.sheet: {other}"
            )


# ---- Parquet --------------------------------------------------------------------------


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    try:
        df = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several types for damaged files
        raise InputError(f"{path}: is not a readable Parquet file ({type(e).__name__}: {e})") from None
    df = df.reset_index(drop=not any(n is not None for n in df.index.names))
    frame = pd.DataFrame({str(c): _as_text(df[c]) for c in df.columns})
    frame.columns = unique_headers(frame.columns)
    frame[SOURCE_ROW] = np.arange(1, len(frame) + 1, dtype="int64")
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    return frame, {"typed": [h for h, n in zip(frame.columns, numeric) if n]}



# --------------------------------------------------------------------------------------
# Latest order date
# --------------------------------------------------------------------------------------


def latest_date(cfg: "KitConfig", *, min_share: float | None = None) -> pd.Timestamp:
    """The latest order date in the transactions file (used when the config has no ``as_of``).

    Reads only the order-date column. Future-dated defects (pre-booked orders, typing
    errors) must not move the period: the result is the latest date in the last calendar
    month whose order count is at least ``min_share`` (default
    ``cfg.cleaning.latest_date_min_share``) of the median monthly count.
    """
    if min_share is None:
        min_share = cfg.cleaning.latest_date_min_share
    raw = read_table(cfg.inputs.transactions, "transactions", only=["order_date"])
    dates, ok = parse_dates(raw.column("order_date"))
    dates = dates[ok]
    if dates.empty:
        raise InputError(
            f"{raw.path}: no order date parses in column {raw.mapping['order_date']!r}; "
            "set as_of in the config, or map the right column"
        )
    months = dates.dt.to_period("M")
    counts = months.value_counts()
    dense = counts[counts >= min_share * counts.median()]
    return dates[months <= dense.index.max()].max().normalize()
