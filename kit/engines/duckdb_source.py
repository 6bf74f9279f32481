"""DuckDB engine, reading: the connection, relations over files and frames, and the
transactions file opened as text exactly as :func:`kit.io.read_table` reads it.

DuckDB reads UTF-8 only: a file in another encoding (GBK, GB18030, UTF-16) is transcoded
first, streaming in 4 MB chunks, to a temporary UTF-8 copy (deleted afterwards). Blank
lines, which DuckDB skips but pandas counts, are kept as empty records in that copy so
that every row keeps the line number the pandas path gives it.

The number and date columns get the readings :func:`kit.io.decide_readings` gives the pandas
path (decimal mark, day or month first), decided from the same distinct values (fetched
in SQL, in file order); a repeated header is reported as :func:`kit.io.duplicate_headers`.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from kit.core import paths
from kit.core.config import Engine
from kit.core.dialect import DUCKDB, sql_str
from kit.io import (
    SOURCE_ROW,
    DateOrder,
    InputError,
    NumberStyle,
    decide_readings,
    detect_format,
    duplicate_headers,
    find_header_row,
    map_columns,
    reading_columns,
    readings_info,
    resolve_encoding,
    sniff_delimiter,
    unique_headers,
)

CHUNK_BYTES = 1 << 22

_ident = DUCKDB.ident


#: Where DuckDB spills under ``kit run`` when ``engine.temp_directory`` is not set, inside the run folder.
SPILL_FOLDER = ("work", "duckdb_tmp")


def spill_folder(engine: Engine | None = None, run_dir: str | Path | None = None,
                 temp_directory: str | Path | None = None) -> Path | None:
    """The folder DuckDB spills to: ``temp_directory`` when given, else
    ``engine.temp_directory`` (a relative one is taken from ``run_dir``, else from the working
    directory), else ``<run_dir>/work/duckdb_tmp`` when a run folder is given, else None
    (DuckDB's default). Raises ``ValueError`` when it names an existing file."""
    chosen = temp_directory if temp_directory is not None else (engine.temp_directory if engine else None)
    if chosen is not None:
        p = Path(chosen).expanduser()
        folder = p if p.is_absolute() else Path(run_dir or Path.cwd()) / p
    elif run_dir is not None:
        folder = Path(run_dir).joinpath(*SPILL_FOLDER)
    else:
        return None
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"engine.temp_directory: {folder} exists and is not a folder")
    return folder


def release_spill_folder(engine: Engine | None = None, run_dir: str | Path | None = None) -> None:
    """After the connection closed: remove the run's default spill folder
    (``<run_dir>/work/duckdb_tmp``) and ``work`` when they are empty, so that a run folder
    keeps no empty folders of the engine (DuckDB deletes its own files on close)."""
    if run_dir is None or (engine is not None and engine.temp_directory is not None):
        return
    folder = Path(run_dir).joinpath(*SPILL_FOLDER)
    for f in (folder, folder.parent):
        if f.is_dir() and not any(f.iterdir()):
            f.rmdir()


def connect(engine: Engine | None = None, *, run_dir: str | Path | None = None, memory_limit: str | None = None,
            threads: int | None = None, temp_directory: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """The one place the kit opens a DuckDB connection (in memory).

    ``engine`` (``cfg.engine``) gives ``memory_limit`` and ``temp_directory``; an argument
    given here wins. Beyond the memory limit (e.g. ``"4GB"``; None: DuckDB's default, 80 % of
    the memory) DuckDB spills to the folder :func:`spill_folder` picks -- under ``kit run``
    ``<run folder>/work/duckdb_tmp`` -- instead of failing.
    """
    limit = memory_limit if memory_limit is not None else (engine.memory_limit if engine else None)
    folder = spill_folder(engine, run_dir, temp_directory)
    con = duckdb.connect(":memory:")
    try:  # its redrawn bar would fill a terminal's or a notebook's output
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        # inside a Jupyter kernel without ipywidgets DuckDB refuses to touch the setting at all;
        # there it is off already (it would need ipywidgets to draw)
        pass
    if limit:
        con.execute(f"SET memory_limit = '{sql_str(str(limit))}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if folder is not None:
        folder.parent.mkdir(parents=True, exist_ok=True)  # DuckDB makes the folder itself, not its parents
        con.execute(f"SET temp_directory = '{sql_str(str(folder))}'")
    return con


@contextlib.contextmanager
def connection(engine: Engine | None = None, *, run_dir: str | Path | None = None):
    """:func:`connect` for the length of a ``with`` block: closed afterwards, and the run's
    default spill folder removed when DuckDB left it empty (:func:`release_spill_folder`)."""
    con = connect(engine, run_dir=run_dir)
    try:
        yield con
    finally:
        con.close()
        release_spill_folder(engine, run_dir)


def file_format(path: Path) -> str:
    """``parquet`` or ``csv``, from the file's first bytes (Parquet starts with ``PAR1``)."""
    with open(path, "rb") as f:
        return "parquet" if f.read(4) == b"PAR1" else "csv"


def relation(con: duckdb.DuckDBPyConnection, source: Any, *, customer_col: str = "customer_id"):
    """A DuckDB relation over ``source``: a CSV or Parquet path, a relation, or a DataFrame.

    CSV files are read as UTF-8 with a header; the customer id column is read as text (ids
    keep their leading zeros), the other types are detected.
    """
    if isinstance(source, duckdb.DuckDBPyRelation):
        return source
    if isinstance(source, pd.DataFrame):
        return con.from_df(source)
    path = paths.resolve(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    if file_format(path) == "parquet":
        return con.read_parquet(str(path))
    return con.read_csv(str(path), header=True, dtype={customer_col: "VARCHAR"})


# --------------------------------------------------------------------------------------
# The transactions file as text
# --------------------------------------------------------------------------------------


def _head_lines(path: Path, encoding: str, n: int) -> list[str]:
    out: list[str] = []
    with open(path, encoding=encoding, newline="") as f:
        for line in f:
            out.append(line.rstrip("\r\n"))
            if len(out) >= n:
                break
    return out


def _pandas_headers(path: Path, encoding: str, delimiter: str, header_idx: int) -> list[str]:
    """The source headers exactly as :func:`kit.io.read_table` names them (pandas reads the
    header line, then the same clean-up of empty, duplicate and reserved names)."""
    cols = pd.read_csv(path, encoding=encoding, sep=delimiter, skiprows=header_idx, header=0, nrows=0,
                       dtype=str, engine="c").columns
    return unique_headers(cols)


def _has_blank_lines(path: Path, skip_lines: int) -> bool:
    """Whether a UTF-8 / GBK file has an empty line after its first ``skip_lines`` lines.

    A binary line scan: in these encodings a byte 0x0A is always a line feed.
    """
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            if i >= skip_lines and line in (b"\n", b"\r\n"):
                return True
    return False


def utf8_copy(path: Path, encoding: str, *, fill_blank: str | None = None, folder: str | Path | None = None) -> Path:
    """A UTF-8 copy of a text file, decoded in 4 MB chunks (never held in memory whole).

    ``fill_blank``: text written in place of every empty line, so that a CSV reader that
    skips blank lines still sees them as records (e.g. the delimiters of an empty row).
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    fd, name = tempfile.mkstemp(suffix=".csv", prefix="kit-utf8-", dir=folder)
    pending, first = "", True
    with open(path, "rb") as src, open(fd, "w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(CHUNK_BYTES)
            text = pending + decoder.decode(chunk, final=not chunk)
            pending = ""
            if first:
                text, first = text.removeprefix("\ufeff"), False
            if fill_blank is not None:
                cut = text.rfind("\n") + 1 if chunk else len(text)
                text, pending = text[:cut], text[cut:]
                lines = text.split("\n")
                last = len(lines) - 1
                text = "\n".join(fill_blank if ln in ("", "\r") and i < last else ln for i, ln in enumerate(lines))
            dst.write(text)
            if not chunk:
                break
    return Path(name)


@dataclass
class Source:
    """A transactions file opened for SQL: the view of its rows as text, and how it was read."""

    view: str
    columns: list[str]
    mapping: dict[str, str]
    how: dict[str, str]
    path: Path
    display_path: str
    info: dict[str, Any]
    temp: Path | None = None
    readings: dict[str, NumberStyle | DateOrder] = field(default_factory=dict)
    duplicates: dict[str, Any] = field(default_factory=dict)


def open_transactions(con: duckdb.DuckDBPyConnection, spec, table: str = "transactions") -> Source:
    """Register a view ``raw_<table>`` of the configured file as text, as kit.io reads it.

    Every value a string (``""`` for an empty cell), ``source_row`` the line number
    (CSV) or 1-based row (Parquet) the pandas path gives, all-blank rows dropped, headers
    mapped to canonical names by :func:`kit.io.map_columns`.
    """
    path = paths.resolve(spec.path)
    if not path.exists():
        raise InputError(f"{path}: file not found (inputs.{table}.path); check the path in the config")
    fmt = detect_format(path, spec.format)
    try:
        display = str(path.resolve().relative_to(paths.PROJ_ROOT))
    except ValueError:
        display = str(path)
    temp, header_cells, typed = None, None, set()
    view = f"raw_{table}"
    if fmt == "parquet":
        rel = con.read_parquet(str(path))
        headers = [str(c) for c in rel.columns]
        cols = ", ".join(f"{_text_sql(_ident(c), str(t))} AS {_ident(c)}" for c, t in zip(rel.columns, rel.dtypes))
        con.register(f"{view}_file", rel)
        body = f"SELECT {cols}, row_number() OVER () AS {SOURCE_ROW} FROM {view}_file"
        info = {"format": "parquet", "encoding": None, "header_row": None, "delimiter": None}
        typed = {h for h, t in zip(headers, rel.dtypes) if str(t).split("(")[0].upper() in _NUMERIC_TYPES}
    elif fmt == "csv":
        encoding = resolve_encoding(path, spec.encoding, table)
        lines = _head_lines(path, encoding, 30)
        delimiter = spec.delimiter or sniff_delimiter(lines)
        if len(delimiter) != 1:
            raise NotImplementedError(f"delimiter {delimiter!r}: the DuckDB engine reads one-character "
                                      "delimiters; use the pandas engine for this file")
        rows = [next(csv.reader([line], delimiter=delimiter), []) for line in lines]
        header_idx = spec.header_row if spec.header_row is not None else find_header_row(rows, table, spec.columns)
        headers = _pandas_headers(path, encoding, delimiter, header_idx)
        read_path = path
        utf8 = codecs.lookup(encoding).name in ("utf-8", "ascii")
        blank = not utf8 or _has_blank_lines(path, header_idx + 1)
        if not utf8 or blank:
            temp = read_path = utf8_copy(path, encoding, fill_blank=delimiter * (len(headers) - 1) if blank else None)
        names = "{" + ", ".join(f"'{sql_str(h)}': 'VARCHAR'" for h in headers) + "}"
        con.execute("SET preserve_insertion_order = true")
        cols = ", ".join(f"coalesce({_ident(h)}, '') AS {_ident(h)}" for h in headers)
        body = (f"SELECT {cols}, CAST(row_number() OVER () + {header_idx + 1} AS BIGINT) AS {SOURCE_ROW} "
                f"FROM read_csv('{sql_str(str(read_path))}', header = false, skip = {header_idx + 1}, "
                f"delim = '{sql_str(delimiter)}', quote = '\"', escape = '\"', columns = {names}, "
                "auto_detect = false, null_padding = true, all_varchar = true)")
        info = {"format": "csv", "encoding": encoding, "header_row": header_idx, "delimiter": delimiter}
        header_cells = rows[header_idx] if header_idx < len(rows) else None
    else:
        raise NotImplementedError(f"{path}: the DuckDB engine reads CSV and Parquet ({fmt} is read by pandas)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {view}_all AS {body}")
    nonblank = " OR ".join(f"{_ident(h)} <> ''" for h in headers) or "false"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {view}_all WHERE {nonblank}")
    n_all, n = con.sql(f"SELECT (SELECT count(*) FROM {view}_all), (SELECT count(*) FROM {view})").fetchall()[0]
    if n == 0:
        raise InputError(f"{path}: has a header row but no data rows; ask the client for an export with data")
    mapping, how = map_columns(headers, table, spec.columns, source=str(path))
    info.update(rows=int(n), blank_rows_skipped=int(n_all - n))
    duplicates = duplicate_headers(header_cells, headers, mapping) if header_cells is not None else {}
    src = Source(view, headers, mapping, how, path, display, info, temp, duplicates=duplicates)
    try:
        src.readings = decide_readings(_evidence_values(con, src, table, typed), mapping, spec, table, path,
                                       typed={c for c, h in mapping.items() if h in typed})
    except InputError:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise
    return src


#: Values that vote for a decimal point in every reading (``903.71``): only the first three
#: are fetched, the rest of the column's marked values all are (as kit.io.number_candidates).
_DOT_DECIMALS = r"-?\d+\.\d{1,2}"


#: Parquet column types holding numbers (their text is DuckDB's: decimal point, no thousands).
_NUMERIC_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                            "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL"})


def _evidence_values(con, src: Source, table: str, typed: set[str]) -> dict[str, pd.Series]:
    """Per mapped number and date column (but number columns of ``typed`` source columns),
    the distinct raw values that can vote for its reading, in file order (as
    :func:`kit.io.evidence_values` keeps them from the frame)."""
    numbers, dates = reading_columns(table, src.mapping)
    numbers = [c for c in numbers if src.mapping[c] not in typed]
    out: dict[str, pd.Series] = {}
    for c in numbers + dates:
        col = _ident(src.mapping[c])
        first = f"SELECT {col} AS raw, min({SOURCE_ROW}) AS first FROM {src.view}"
        if c in numbers:
            sql = (f"{first} WHERE regexp_matches({col}, '[.,，．]') AND NOT regexp_full_match({col}, "
                   f"'{_DOT_DECIMALS}') GROUP BY 1 UNION ALL (SELECT * FROM ({first} WHERE "
                   f"regexp_full_match({col}, '{_DOT_DECIMALS}') GROUP BY 1) ORDER BY first LIMIT 3)")
        else:
            sql = rf"{first} WHERE NOT regexp_matches({col}, '^\d{{4}}-\d{{2}}-\d{{2}}') GROUP BY 1"
        vals = con.sql(f"SELECT raw FROM ({sql}) ORDER BY first").to_arrow_table().column("raw")
        out[c] = pd.Series(vals.to_pylist(), dtype="str")
    return out


def _text_sql(col: str, duck_type: str) -> str:
    """A Parquet column as the text kit.io gives it (dates ``YYYY-MM-DD[ hh:mm:ss]``)."""
    t = duck_type.upper()
    if t.startswith("TIMESTAMP"):
        return (f"coalesce(replace(strftime(CAST({col} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S'), ' 00:00:00', ''), '')")
    if t == "DATE":
        return f"coalesce(strftime({col}, '%Y-%m-%d'), '')"
    if t == "BOOLEAN":
        return f"coalesce(CASE WHEN {col} THEN 'True' ELSE 'False' END, '')"
    return f"coalesce(CAST({col} AS VARCHAR), '')"



def open_frame(con: duckdb.DuckDBPyConnection, raw, table: str = "transactions") -> Source:
    """Register a view ``raw_<table>`` of a file already read by :func:`kit.io.read_table`
    (a :class:`kit.io.RawTable`: an Excel workbook, a whitespace-separated file, or any file
    the pandas reader reads), in the shape :func:`open_transactions` gives a file DuckDB
    reads itself, so that the one cleaning cascade (:mod:`kit.engines.duckdb_clean`) runs
    over it. The readings, mapping and duplicate headers are the reader's."""
    frame = raw.frame
    headers = list(raw.source_columns)
    cols = {h: pa.array(frame[h].astype(object).where(frame[h].notna(), "").to_numpy(), type=pa.string())
            for h in headers}
    cols[SOURCE_ROW] = pa.array(frame[SOURCE_ROW].to_numpy("int64"), type=pa.int64())
    view = f"raw_{table}"
    con.register(f"{view}_frame", pa.table(cols))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT * FROM {view}_frame ORDER BY {SOURCE_ROW}")
    finally:
        con.unregister(f"{view}_frame")
    info = {"format": raw.format, "encoding": raw.encoding, "header_row": raw.header_row,
            "delimiter": raw.delimiter, "sheet": raw.sheet, "rows": int(len(frame)),
            "blank_rows_skipped": int(raw.blank_rows)}
    return Source(view, headers, dict(raw.mapping), dict(raw.how), raw.path, raw.display_path, info,
                  readings=dict(raw.readings), duplicates=dict(raw.duplicates))


def source_info(src: Source) -> dict[str, Any]:
    """How the file was read, in the shapes the cleaning stage's quality report uses: ``info`` as
    :meth:`kit.io.RawTable.info` (``header_row`` 1-based), ``mapping``, ``how``, ``columns``."""
    info = {"path": src.display_path, "format": src.info["format"], "encoding": src.info["encoding"],
            "sheet": src.info.get("sheet"), "header_row": None if src.info["header_row"] is None else src.info["header_row"] + 1,
            "delimiter": src.info["delimiter"], "rows": src.info["rows"],
            "blank_rows_skipped": src.info["blank_rows_skipped"],
            "readings": readings_info(src.readings, src.mapping), "duplicate_headers": dict(src.duplicates)}
    return {"info": info, "mapping": dict(src.mapping), "how": dict(src.how), "columns": list(src.columns)}

