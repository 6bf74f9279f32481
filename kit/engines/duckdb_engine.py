"""DuckDB engine: reading, the cleaning rules and the customer summary as SQL over the files.

For inputs too big for pandas on one laptop:

* :func:`clean_transactions_duckdb` applies :func:`kit.clean.clean_transactions`'s rules
  (duplicates, missing ids, test accounts, bad dates and amounts, cancellations, future
  dates, zero amounts, refund netting, outliers, the books) as SQL over the transactions
  file, CSV or Parquet, and gives the same clean table, quarantine, merged refunds and
  reconciliation (tested equal on the bundled sample data). Values are parsed by kit.io's
  own parsers, once per distinct value that is not plain. DuckDB reads UTF-8 only: a GBK /
  GB18030 / UTF-16 file is first transcoded, streaming, to a temporary UTF-8 copy.
* :func:`summary_duckdb` computes the per-customer table of
  :func:`kit.summary.customer_summary` -- ``customer_id -> frequency, recency, T,
  monetary_value`` under lifetimes' conventions (day resolution) -- as one query over a CSV
  or Parquet file, a DuckDB relation or a DataFrame; only that table (one row per customer)
  comes back to pandas. Tested equal to the pandas path to 1e-9.
* :func:`choose_engine` is the dispatch rule: ``engine.name`` from the config, where
  ``pandas`` turns into ``duckdb`` when the transactions file is larger than
  ``engine.duckdb_min_bytes``; :func:`clean_transactions_by_engine` applies it (the hook
  for :func:`kit.clean.clean_all`).

DuckDB streams files and spills to disk beyond its memory limit (:func:`connect`).

Data shape (summary): ``customer_id, order_date, amount [, is_return]`` (clean, canonical;
see ``docs/CONTRACTS.md``) -> ``customer_id`` (index, sorted) ``-> frequency, recency, T,
monetary_value`` (float).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kit.core import paths
from kit.stages.summary import SUMMARY_COLUMNS, _empty_summary, _unit_days

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from kit.core.config import KitConfig

ENGINES = ("pandas", "duckdb", "spark")


# --------------------------------------------------------------------------------------
# Engine choice
# --------------------------------------------------------------------------------------


def input_bytes(cfg: "KitConfig") -> int:
    """Size in bytes of the configured transactions file (0 when it does not exist)."""
    p = paths.resolve(cfg.inputs.transactions.path)
    return p.stat().st_size if p.is_file() else 0


def choose_engine(cfg: "KitConfig") -> str:
    """The engine that reads, cleans and summarises this run's transactions.

    ``cfg.engine.name`` when it is ``duckdb`` or ``spark``; under ``pandas``, ``duckdb``
    when the transactions file is larger than ``cfg.engine.duckdb_min_bytes`` (a file
    that would not fit comfortably in memory as pandas strings), else ``pandas``.
    """
    name = cfg.engine.name
    if name not in ENGINES:  # the config validates this; kept for configs built by hand
        raise ValueError(f"engine.name must be one of {', '.join(ENGINES)} (got {name!r})")
    if name == "pandas" and input_bytes(cfg) > cfg.engine.duckdb_min_bytes:
        return "duckdb"
    return name


def clean_transactions_by_engine(cfg: "KitConfig", as_of, *, test_customer_ids=(), con=None):
    """The configured transactions cleaned by the engine :func:`choose_engine` picks.

    The hook for :func:`kit.clean.clean_all`: ``pandas`` reads with :func:`kit.io.read_table`
    and cleans with :func:`kit.clean.clean_transactions`; ``duckdb`` (and ``spark``, whose
    cluster data is summarised by :mod:`kit.engine_spark`, for a local file) uses
    :func:`clean_transactions_duckdb`, except for what only the pandas reader reads (Excel,
    ``delimiter: whitespace``). Both give the same result.

    Returns
    -------
    (TableResult, dict)
        The cleaned table, and how the file was read: ``info`` (as
        :meth:`kit.io.RawTable.info`), ``mapping``, ``how``, ``columns`` (source headers),
        ``engine``.
    """
    engine = choose_engine(cfg)
    spec = cfg.inputs.transactions
    if engine != "pandas":
        try:
            result = clean_transactions_duckdb(spec, cfg.cleaning, as_of, test_customer_ids=test_customer_ids,
                                               con=con)
        except NotImplementedError:  # Excel, or a whitespace delimiter: only the pandas reader's
            pass
        else:
            source = result.stats.pop("source")
            result.stats.pop("engine", None)
            return result, {**source, "engine": "duckdb"}
    from kit.stages.clean import clean_transactions
    from kit.io.read import read_table

    raw = read_table(spec, "transactions")
    result = clean_transactions(raw, cfg.cleaning, as_of, test_customer_ids=test_customer_ids)
    source = {"info": raw.info(), "mapping": dict(raw.mapping), "how": dict(raw.how),
              "columns": list(raw.source_columns)}
    return result, {**source, "engine": "pandas"}


# --------------------------------------------------------------------------------------
# Connection and sources
# --------------------------------------------------------------------------------------


def connect(*, memory_limit: str | None = None, threads: int | None = None,
            temp_directory: str | Path | None = None) -> "duckdb.DuckDBPyConnection":
    """An in-memory DuckDB connection; beyond ``memory_limit`` (e.g. ``"2GB"``) DuckDB
    spills to ``temp_directory``."""
    import duckdb

    con = duckdb.connect(":memory:")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_directory:
        con.execute(f"SET temp_directory = '{_sql_str(str(temp_directory))}'")
    return con


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def file_format(path: Path) -> str:
    """``parquet`` or ``csv``, from the file's first bytes (Parquet starts with ``PAR1``)."""
    with open(path, "rb") as f:
        return "parquet" if f.read(4) == b"PAR1" else "csv"


def relation(con: "duckdb.DuckDBPyConnection", source: Any, *, customer_col: str = "customer_id"):
    """A DuckDB relation over ``source``: a CSV or Parquet path, a relation, or a DataFrame.

    CSV files are read as UTF-8 with a header; the customer id column is read as text (ids
    keep their leading zeros), the other types are detected.
    """
    import duckdb

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
# Summary
# --------------------------------------------------------------------------------------


def summary_sql(
    table: str,
    as_of: pd.Timestamp | None,
    unit_days: float,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str | None = "amount",
    purchase_filter: str | None = None,
) -> str:
    """The DuckDB SQL of :func:`summary_duckdb` over the table or view ``table``.

    Steps, as :func:`kit.summary.customer_summary`: dates floored to the day; rows after
    ``as_of`` dropped (``as_of`` None: the latest day); one purchase per customer and day
    with the day's summed amount; then per customer the count of repeat days, the days from
    the first to the last and to ``as_of`` divided by ``unit_days``, and the mean amount of
    the repeat days.
    """
    c, d = _ident(customer_col), _ident(date_col)
    amt = _ident(amount_col) if amount_col else "0.0"
    where = f"\n    WHERE {purchase_filter}" if purchase_filter else ""
    end = f"DATE '{as_of:%Y-%m-%d}'" if as_of is not None else "(SELECT max(day) FROM days)"
    money = (",\n       CASE WHEN count(*) > 1 THEN sum(amount) FILTER (WHERE day > first_day)"
             " / (count(*) - 1) ELSE 0.0 END AS monetary_value") if amount_col else ""
    return f"""
WITH src AS (
    SELECT CAST({c} AS VARCHAR) AS customer_id, CAST({d} AS DATE) AS day,
           CAST({amt} AS DOUBLE) AS amount
    FROM {table}{where}
), days AS (
    SELECT customer_id, day, sum(amount) AS amount FROM src GROUP BY customer_id, day
), kept AS (
    SELECT customer_id, day, amount, min(day) OVER (PARTITION BY customer_id) AS first_day
    FROM days WHERE day <= {end}
)
SELECT customer_id,
       CAST(count(*) - 1 AS DOUBLE) AS frequency,
       date_diff('day', min(day), max(day)) / {unit_days!r} AS recency,
       date_diff('day', min(day), {end}) / {unit_days!r} AS "T"{money}
FROM kept
GROUP BY customer_id
ORDER BY customer_id
"""


def summary_duckdb(
    source: Any,
    as_of=None,
    *,
    time_unit: str = "week",
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str | None = "amount",
    purchases_only: bool = True,
    con: "duckdb.DuckDBPyConnection | None" = None,
) -> pd.DataFrame:
    """Per-customer BG/NBD and Gamma-Gamma inputs as DuckDB SQL over a file or relation.

    Equal to :func:`kit.summary.customer_summary` (``freq="D"``) on the same rows, to 1e-9:
    ``customer_id, order_date [, amount]`` -> ``customer_id -> frequency, recency, T
    [, monetary_value]``. The file is streamed, never loaded into pandas.

    Parameters
    ----------
    source : str, Path, DuckDB relation or DataFrame
        Clean transactions: a CSV (UTF-8, header) or Parquet file, e.g. the run's
        ``transactions_clean.parquet``, or a relation / frame with the same columns.
    as_of : date-like, optional
        End of the observation period, inclusive; later rows are left out. Default: the
        latest transaction day.
    time_unit : {"day", "week", "month"}
        Unit of ``recency`` and ``T`` (day counts divided by 1, 7 or 30.4375).
    customer_col, date_col, amount_col : str
        Column names; ``amount_col=None`` omits ``monetary_value``.
    purchases_only : bool
        Keep purchases only, as the CLV stage does (``kit.features.purchase_mask``): rows
        with ``amount > 0`` and, where the column exists, ``is_return`` false.
    con : DuckDB connection, optional
        Default: a new in-memory connection (:func:`connect`).

    Returns
    -------
    DataFrame
        Index ``customer_id`` (str, sorted), float columns ``frequency, recency, T
        [, monetary_value]``.

    Raises
    ------
    ValueError
        When some row has no customer id, date or amount (the cleaning stage quarantines
        such rows; a summary never drops rows silently), or for an unknown ``time_unit``.
    """
    unit_days = _unit_days(time_unit)
    con = con if con is not None else connect()
    rel = relation(con, source, customer_col=customer_col)
    columns = list(rel.columns)
    missing = [c for c in (customer_col, date_col, amount_col) if c is not None and c not in columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(map(repr, missing))} missing from transactions; "
                         f"columns present: {', '.join(columns)}")
    view = "kit_transactions"
    con.register(view, rel)
    try:
        checks = ", ".join(f"count(*) FILTER (WHERE {_ident(c)} IS NULL)" for c in (customer_col, date_col, amount_col)
                           if c is not None)
        nulls = con.sql(f"SELECT {checks} FROM {view}").fetchall()[0]
        for n, c in zip(nulls, [c for c in (customer_col, date_col, amount_col) if c is not None]):
            if n:
                raise ValueError(f"{n} transaction(s) have no {c!r}; clean the data first "
                                 "(kit.clean quarantines such rows with a reason)")
        purchase = None
        if purchases_only:
            parts = []
            if amount_col is not None:
                parts.append(f"CAST({_ident(amount_col)} AS DOUBLE) > 0")
            if "is_return" in columns:
                parts.append("NOT coalesce(CAST(is_return AS BOOLEAN), false)")
            purchase = " AND ".join(parts) or None
        end = None if as_of is None else pd.Timestamp(as_of).normalize()
        sql = summary_sql(view, end, unit_days, customer_col=customer_col, date_col=date_col,
                          amount_col=amount_col, purchase_filter=purchase)
        out = con.sql(sql).to_arrow_table().to_pandas()
    finally:
        con.unregister(view)
    if out.empty:
        return _empty_summary(amount_col is not None)
    out["customer_id"] = out["customer_id"].astype("str")
    out = out.set_index("customer_id")
    cols = SUMMARY_COLUMNS if amount_col is not None else SUMMARY_COLUMNS[:3]
    return out[cols].astype("float64")


# --------------------------------------------------------------------------------------
# Cleaning: kit.clean's transaction rules as SQL over the file
# --------------------------------------------------------------------------------------
#
# The rows never enter pandas: reading, duplicate detection, the rule cascade, refund
# netting, outlier thresholds and the books are SQL. Values are parsed by kit.io's own
# parsers, exactly as the pandas path parses them, but only once per *distinct* raw value
# that is not plain (a plain ASCII id, an ISO date, a plain decimal number is converted in
# SQL, with the result the parsers give for it): exports repeat their odd values a lot.
#
# DuckDB reads UTF-8 only: a file in another encoding (GBK, GB18030, UTF-16) is transcoded
# first, streaming in 4 MB chunks, to a temporary UTF-8 copy (deleted afterwards). Blank
# lines, which DuckDB skips but pandas counts, are kept as empty records in that copy so
# that every row keeps the line number the pandas path gives it.

#: Plain values converted in SQL (the rest goes through kit.io's parsers).
_PLAIN_ID = r"[0-9A-Za-z_\-]+"
_PLAIN_DATE = r"\d{4}-\d{2}-\d{2}"
_PLAIN_NUMBER = r"-?\d{1,15}(\.\d{1,6})?"

CHUNK_BYTES = 1 << 22


def _missing_tokens_sql() -> str:
    from kit.io.read import MISSING_TOKENS

    return ", ".join(f"'{_sql_str(t)}'" for t in sorted(MISSING_TOKENS))


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
    from kit.io.read import unique_headers

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
    import codecs
    import tempfile

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
class _Source:
    """A transactions file opened for SQL: the view of its rows as text, and how it was read."""

    view: str
    columns: list[str]
    mapping: dict[str, str]
    how: dict[str, str]
    path: Path
    display_path: str
    info: dict[str, Any]
    temp: Path | None = None


def open_transactions(con: "duckdb.DuckDBPyConnection", spec, table: str = "transactions") -> _Source:
    """Register a view ``raw_<table>`` of the configured file as text, as kit.io reads it.

    Every value a string (``""`` for an empty cell), ``source_row`` the line number
    (CSV) or 1-based row (Parquet) the pandas path gives, all-blank rows dropped, headers
    mapped to canonical names by :func:`kit.io.map_columns`.
    """
    import codecs
    import csv

    from kit.io.read import (InputError, SOURCE_ROW, detect_encoding, detect_format, find_header_row,
                        map_columns, sniff_delimiter)

    path = paths.resolve(spec.path)
    if not path.exists():
        raise InputError(f"{path}: file not found (inputs.{table}.path); check the path in the config")
    fmt = detect_format(path, spec.format)
    try:
        display = str(path.resolve().relative_to(paths.PROJ_ROOT))
    except ValueError:
        display = str(path)
    temp = None
    view = f"raw_{table}"
    if fmt == "parquet":
        rel = con.read_parquet(str(path))
        headers = [str(c) for c in rel.columns]
        cols = ", ".join(f"{_text_sql(_ident(c), str(t))} AS {_ident(c)}" for c, t in zip(rel.columns, rel.dtypes))
        con.register(f"{view}_file", rel)
        body = f"SELECT {cols}, row_number() OVER () AS {SOURCE_ROW} FROM {view}_file"
        info = {"format": "parquet", "encoding": None, "header_row": None, "delimiter": None}
    elif fmt == "csv":
        encoding = detect_encoding(path) if spec.encoding == "auto" else spec.encoding
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
        names = "{" + ", ".join(f"'{_sql_str(h)}': 'VARCHAR'" for h in headers) + "}"
        con.execute("SET preserve_insertion_order = true")
        cols = ", ".join(f"coalesce({_ident(h)}, '') AS {_ident(h)}" for h in headers)
        body = (f"SELECT {cols}, CAST(row_number() OVER () + {header_idx + 1} AS BIGINT) AS {SOURCE_ROW} "
                f"FROM read_csv('{_sql_str(str(read_path))}', header = false, skip = {header_idx + 1}, "
                f"delim = '{_sql_str(delimiter)}', quote = '\"', escape = '\"', columns = {names}, "
                "auto_detect = false, null_padding = true, all_varchar = true)")
        info = {"format": "csv", "encoding": encoding, "header_row": header_idx, "delimiter": delimiter}
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
    return _Source(view, headers, mapping, how, path, display, info, temp)


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


def _register_map(con, name: str, frame: pd.DataFrame) -> None:
    con.register(f"{name}_df", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_df")
    con.unregister(f"{name}_df")


def _distinct(con, view: str, col: str, plain_sql: str | None) -> pd.Series:
    """The distinct raw values of ``col`` that are not plain (all of them when ``plain_sql`` is None)."""
    where = f" WHERE NOT ({plain_sql})" if plain_sql else ""
    vals = con.sql(f"SELECT DISTINCT {_ident(col)} AS raw FROM {view}{where}").to_arrow_table().column("raw")
    return pd.Series(vals.to_pylist(), dtype="str")


def clean_transactions_duckdb(
    spec,
    cleaning,
    as_of,
    *,
    test_customer_ids=(),
    con: "duckdb.DuckDBPyConnection | None" = None,
    table: str = "transactions",
):
    """:func:`kit.clean.clean_transactions` as DuckDB SQL over the configured file.

    ``spec`` is the input's :class:`kit.config.InputTable` (``cfg.inputs.transactions``),
    ``cleaning`` :class:`kit.config.Cleaning`. Same rules in the same order, same reasons,
    details, refund netting, outlier flags and books as the pandas path (tested equal on
    the bundled sample data). Returns a :class:`kit.clean.TableResult`, whose ``stats``
    also hold ``source`` (how the file was read, as :meth:`kit.io.RawTable.info`, and the
    header mapping) for the quality report.

    Reading, duplicate detection, the rule cascade, refund netting, the outlier threshold
    and the books run in DuckDB; pandas receives only the distinct odd values to parse
    (kit.io's parsers), the clean table, and the quarantined and merged rows.
    """
    con = con if con is not None else connect()
    as_of = pd.Timestamp(as_of).normalize()
    src = open_transactions(con, spec, table)
    try:
        return _clean_sql(con, src, cleaning, as_of, set(test_customer_ids), table)
    finally:
        if src.temp is not None:
            src.temp.unlink(missing_ok=True)
        _drop_temp(con)


def _drop_temp(con) -> None:
    """Drop the temporary tables and views of a cleaning run (their memory goes back)."""
    rows = con.sql("SELECT table_name, table_type FROM information_schema.tables "
                   "WHERE table_catalog = 'temp'").fetchall()
    for name, kind in rows:
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS temp.{_ident(name)}")


def _lower_set(values) -> set[str]:
    """Configured status words as compared (NFKC, stripped, lower case), as kit.clean does."""
    import unicodedata

    return {unicodedata.normalize("NFKC", v).strip().lower() for v in values}


def _obj(s: pd.Series) -> np.ndarray:
    """Text values for DuckDB: Python strings, None where missing."""
    return s.astype(object).where(s.notna(), None).to_numpy()


def _plain_id(c: str) -> str:
    return f"(regexp_full_match({c}, '{_PLAIN_ID}') AND lower({c}) NOT IN ({_missing_tokens_sql()}))"


def _plain_date(c: str) -> str:
    return (f"(regexp_full_match({c}, '{_PLAIN_DATE}') AND "
            f"coalesce(year(TRY_CAST({c} AS DATE)) BETWEEN 1900 AND 2199, false))")


def _plain_number(c: str) -> str:
    return f"regexp_full_match({c}, '{_PLAIN_NUMBER}')"


class _Parsed:
    """Builds the SELECT that turns the raw text view into typed values (LEFT JOINs to maps
    of the non-plain distinct values, parsed by kit.io)."""

    def __init__(self, con, src: _Source):
        self.con, self.src = con, src
        self.joins: list[str] = []
        self.cols: list[str] = [f"r.{_ident('source_row')}"]

    def raw(self, canon: str) -> str:
        return f"r.{_ident(self.src.mapping[canon])}"

    def _map(self, canon: str, plain, frame_of) -> str:
        header = self.src.mapping[canon]
        u = _distinct(self.con, self.src.view, header, plain(_ident(header)) if plain else None)
        name = f"map_{canon}"
        frame = frame_of(u)
        frame.insert(0, "raw", u)
        _register_map(self.con, name, frame)
        self.joins.append(f"LEFT JOIN {name} ON {name}.raw = {self.raw(canon)}")
        return name

    def ids(self, canon: str, out: str) -> None:
        from kit.io.read import normalize_ids

        m = self._map(canon, _plain_id, lambda u: pd.DataFrame({"value": _obj(normalize_ids(u))}))
        c = self.raw(canon)
        self.cols.append(f"CASE WHEN {_plain_id(c)} THEN {c} ELSE {m}.value END AS {out}")

    def dates(self, canon: str, out: str) -> None:
        from kit.io.read import parse_dates

        def frame_of(u):
            v, ok = parse_dates(u)
            return pd.DataFrame({"value": v.astype("datetime64[us]"), "ok": ok.astype(bool)})

        m = self._map(canon, _plain_date, frame_of)
        c = self.raw(canon)
        self.cols += [f"CASE WHEN {_plain_date(c)} THEN CAST(CAST({c} AS DATE) AS TIMESTAMP) ELSE {m}.value END AS {out}",
                      f"CASE WHEN {_plain_date(c)} THEN true ELSE coalesce({m}.ok, false) END AS {out}_ok"]

    def numbers(self, canon: str, out: str, *, ratio: bool = False) -> None:
        from kit.io.read import normalize_text, parse_amounts

        def frame_of(u):
            t = normalize_text(u)
            if ratio:  # kit.io.parse_ratio, per value; its column rule is applied in SQL
                pct = t.str.endswith("%").fillna(False).astype(bool)
                v, ok = parse_amounts(t.str.rstrip("%"))
                v = v.where(~pct, v / 100)
            else:
                pct = pd.Series(False, index=u.index)
                v, ok = parse_amounts(u)
            return pd.DataFrame({"value": v.astype("float64"), "ok": ok.astype(bool), "pct": pct.to_numpy(),
                                 "present": t.notna().to_numpy()})

        m = self._map(canon, _plain_number, frame_of)
        c = self.raw(canon)
        p = _plain_number(c)
        self.cols += [f"CASE WHEN {p} THEN CAST({c} AS DOUBLE) ELSE {m}.value END AS {out}",
                      f"CASE WHEN {p} THEN true ELSE coalesce({m}.ok, false) END AS {out}_ok",
                      f"CASE WHEN {p} THEN false ELSE coalesce({m}.pct, false) END AS {out}_pct",
                      f"CASE WHEN {p} THEN true ELSE coalesce({m}.present, false) END AS {out}_present"]

    def text(self, canon: str, out: str, extra=None) -> None:
        from kit.io.read import normalize_text

        def frame_of(u):
            t = normalize_text(u)
            frame = pd.DataFrame({"value": _obj(t)})
            for name, fn in (extra or {}).items():
                frame[name] = fn(t).to_numpy()
            return frame

        m = self._map(canon, None, frame_of)
        self.cols.append(f"{m}.value AS {out}")
        for name in extra or {}:
            self.cols.append(f"coalesce({m}.{name}, false) AS {out}_{name}")

    def keep_raw(self, canon: str, out: str) -> None:
        self.cols.append(f"{self.raw(canon)} AS {out}")

    def sql(self) -> str:
        return f"SELECT {', '.join(self.cols)} FROM {self.src.view} AS r " + " ".join(self.joins)


def _clean_sql(con, src: _Source, cleaning, as_of: pd.Timestamp, test_ids: set[str], table: str):
    import re

    from kit.stages.clean import CANONICAL_OPTIONAL_TX, MERGED_COLUMNS, MERGED_REASON, TEXT_COLUMNS_TX, TableResult, reconcile

    m = src.mapping
    has_oid, has_status = "order_id" in m, "status" in m
    optional = [c for c in CANONICAL_OPTIONAL_TX if c in m]

    # ---- typed values ----------------------------------------------------------------
    p = _Parsed(con, src)
    p.ids("customer_id", "cid")
    if has_oid:
        p.ids("order_id", "oid")
    p.dates("order_date", "odate")
    p.numbers("amount", "amt")
    p.keep_raw("order_date", "raw_date")
    p.keep_raw("amount", "raw_amount")
    if has_status:
        cancel, refund = _lower_set(cleaning.cancelled_statuses), _lower_set(cleaning.refund_statuses)
        p.text("status", "st", {"cancelled": lambda t: t.str.lower().isin(cancel).fillna(False).astype(bool),
                                    "refund": lambda t: t.str.lower().isin(refund).fillna(False).astype(bool)})
        p.keep_raw("status", "raw_status")
    for col in optional:
        if col == "status":
            continue
        if col in TEXT_COLUMNS_TX:
            p.text(col, f"opt_{col}")
        else:
            p.numbers(col, f"opt_{col}", ratio=col == "margin")
    con.execute(f"CREATE OR REPLACE TEMP TABLE tx_parsed AS {p.sql()}")

    # ---- duplicates and test accounts -------------------------------------------------
    src_cols = ", ".join(_ident(c) for c in src.columns)
    if cleaning.duplicates == "quarantine":
        con.execute(f"CREATE OR REPLACE TEMP TABLE tx_dup AS SELECT source_row, "
                    f"min(source_row) OVER (PARTITION BY {src_cols}) AS first_row FROM {src.view}")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE tx_dup AS SELECT source_row, source_row AS first_row FROM {src.view}")
    ids = con.sql("SELECT DISTINCT cid FROM tx_parsed WHERE cid IS NOT NULL").to_arrow_table().column("cid").to_pylist()
    rx = re.compile(cleaning.test_account_pattern) if cleaning.test_account_pattern else None
    tests = sorted({i for i in ids if (rx is not None and rx.search(i)) or i in test_ids})
    _register_map(con, "tx_test_ids", pd.DataFrame({"cid": pd.Series(tests, dtype=object)}))

    # ---- the rule cascade: first rule wins ------------------------------------------------
    status_refund = "p.st_refund" if has_status else "false"
    rules = ["WHEN first_row <> source_row THEN 'duplicate'", "WHEN cid IS NULL THEN 'missing_customer_id'",
             "WHEN is_test THEN 'test_account'", "WHEN NOT odate_ok THEN 'bad_date'",
             "WHEN NOT amt_ok THEN 'bad_amount'"]
    if has_status:
        rules.append("WHEN st_cancelled THEN 'cancelled'")
    if cleaning.future_dates == "quarantine":
        rules.append(f"WHEN CAST(odate AS DATE) > DATE '{as_of:%Y-%m-%d}' THEN 'future_date'")
    if cleaning.zero_amount == "quarantine":
        rules.append("WHEN signed = 0 THEN 'zero_amount'")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE tx_tri AS
        WITH t AS (
            SELECT p.*, d.first_row, x.cid IS NOT NULL AS is_test, {status_refund} AS refund_status,
                   CASE WHEN {status_refund} THEN -abs(p.amt) ELSE p.amt END AS signed
            FROM tx_parsed AS p JOIN tx_dup AS d USING (source_row)
            LEFT JOIN tx_test_ids AS x ON x.cid = p.cid)
        SELECT *, CASE {' '.join(rules)} END AS reason0,
               coalesce(signed < 0, false) OR refund_status AS is_refund
        FROM t
    """)
    # ---- refunds ------------------------------------------------------------------------
    mode = cleaning.refunds
    stats_ref = {"mode": mode, "rows": 0, "sign_flipped": 0, "netted": 0, "unmatched": 0,
                 "fully_refunded_orders": 0, "dropped": 0, "kept": 0}
    stats_ref["rows"], stats_ref["sign_flipped"] = con.sql(
        "SELECT count(*) FILTER (WHERE reason0 IS NULL AND is_refund), "
        "count(*) FILTER (WHERE refund_status AND amt > 0) FROM tx_tri").fetchall()[0]
    tol = float(cleaning.amount_tolerance)
    oid_col = "oid" if has_oid else "CAST(NULL AS VARCHAR)"
    if mode == "net" and has_oid:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE tx_keys AS
            WITH b AS (SELECT coalesce(cid, '') AS k, oid, signed, is_refund, reason0 IS NULL AS alive
                       FROM tx_tri WHERE oid IS NOT NULL),
            buys AS (SELECT k, oid, sum(signed) AS order_tot FROM b WHERE alive AND NOT is_refund GROUP BY k, oid),
            refs AS (SELECT b.k, b.oid, sum(b.signed) AS ref_tot FROM b JOIN buys USING (k, oid)
                     WHERE b.alive AND b.is_refund GROUP BY b.k, b.oid)
            SELECT buys.k, buys.oid, order_tot, ref_tot, order_tot + ref_tot AS net,
                   ref_tot IS NOT NULL AND order_tot + ref_tot <= {tol!r} AS full_ref,
                   ref_tot IS NOT NULL AND NOT (order_tot + ref_tot <= {tol!r}) AS partial
            FROM buys LEFT JOIN refs USING (k, oid)
        """)
        reason = f"""CASE WHEN reason0 IS NOT NULL THEN reason0
                          WHEN is_refund AND k.k IS NULL THEN 'refund_unmatched'
                          WHEN k.full_ref THEN 'fully_refunded'
                          WHEN is_refund AND k.partial THEN '{MERGED_REASON}' END"""
        factor = "CASE WHEN reason0 IS NULL AND NOT is_refund AND k.partial THEN k.net / k.order_tot ELSE 1.0 END"
        join = "LEFT JOIN tx_keys AS k ON k.k = coalesce(t.cid, '') AND k.oid = t.oid"
        extra = "k.net AS order_net"
    else:
        when = {"drop": "'refund_dropped'", "keep": "NULL", "net": "'refund_unmatched'"}[mode]
        reason = f"CASE WHEN reason0 IS NOT NULL THEN reason0 WHEN is_refund THEN {when} END"
        factor, join, extra = "1.0", "", "CAST(NULL AS DOUBLE) AS order_net"
    is_return = "reason0 IS NULL AND is_refund" if mode == "keep" else "false"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE tx_out AS
        SELECT t.*, {reason} AS reason, {factor} AS factor, {is_return} AS is_return, {extra}
        FROM tx_tri AS t {join}
    """)
    counts = dict(con.sql("SELECT reason, count(*) FROM tx_out WHERE reason IS NOT NULL GROUP BY reason").fetchall())
    stats_ref["netted"] = int(counts.get(MERGED_REASON, 0))
    stats_ref["unmatched"] = int(counts.get("refund_unmatched", 0))
    stats_ref["dropped"] = int(counts.get("refund_dropped", 0))
    if mode == "keep":
        stats_ref["kept"] = stats_ref["rows"]
    if mode == "net" and has_oid:
        stats_ref["fully_refunded_orders"] = int(con.sql("SELECT count(*) FROM tx_keys WHERE full_ref").fetchall()[0][0])
    # the margin column rule of kit.io.parse_ratio: without any % sign, values mostly above
    # 1.5 are percent points
    margin_scale = 1.0
    if "margin" in optional:
        any_pct, med = con.sql("SELECT bool_or(opt_margin_pct), median(abs(opt_margin)) FILTER "
                               "(WHERE opt_margin_ok AND NOT opt_margin_pct) FROM tx_parsed").fetchall()[0]
        if not any_pct and med is not None and med > 1.5:
            margin_scale = 0.01

    # ---- clean table --------------------------------------------------------------------
    sel = ["cid AS customer_id",
           "oid AS order_id" if has_oid else "'row-' || CAST(source_row AS VARCHAR) AS order_id",
           "odate AS order_date", "signed * factor AS amount"]
    invalid_sql = []
    for col in optional:
        name = "st" if col == "status" else f"opt_{col}"
        if col in TEXT_COLUMNS_TX:
            sel.append(f"{name} AS {col}")
            continue
        value = f"{name} * {margin_scale!r}" if col == "margin" else name
        if col == "profit":
            value = f"{name} * factor"
        sel.append(f"{value} AS {col}")
        invalid_sql.append(f"count(*) FILTER (WHERE {name}_present AND NOT {name}_ok) AS {col}")
    sel += ["is_return", "source_row"]
    clean_where = "reason IS NULL"
    clean = con.sql(f"SELECT {', '.join(sel)} FROM tx_out WHERE {clean_where} ORDER BY source_row").df()
    invalid = {}
    if invalid_sql:
        row = con.sql(f"SELECT {', '.join(invalid_sql)} FROM tx_out WHERE {clean_where}").fetchall()[0]
        invalid = {c: int(v) for c, v in zip([c for c in optional if c not in TEXT_COLUMNS_TX], row)}
    clean = _clean_dtypes(clean, optional, TEXT_COLUMNS_TX)
    from kit.stages.clean import flag_outliers

    outliers = flag_outliers(clean.assign(is_outlier=False), cleaning)
    clean.insert(len(clean.columns) - 1, "is_outlier", outliers["mask"].to_numpy())

    # ---- quarantine and merged ------------------------------------------------------------
    raw_cols = ", ".join(f"r.{_ident(h)}" for h in src.columns)
    q = con.sql(f"""SELECT o.source_row, o.reason, o.cid, {'o.oid' if has_oid else 'NULL'} AS oid, o.signed,
                           o.first_row, o.raw_date, o.raw_amount, o.odate, o.order_net,
                           {'o.raw_status' if has_status else 'NULL'} AS raw_status, {raw_cols}
                    FROM tx_out AS o JOIN {src.view} AS r ON r.source_row = o.source_row
                    WHERE o.reason IS NOT NULL ORDER BY o.source_row""").df()
    qmask = (q["reason"] != MERGED_REASON).to_numpy()
    quarantine = _quarantine(q[qmask], src, table, as_of)
    merged = pd.DataFrame({c: pd.Series([], dtype="int64" if c == "source_row" else "float64" if c == "amount"
                                         else "str") for c in MERGED_COLUMNS})
    if (~qmask).any():
        mq = q[~qmask]
        merged = pd.DataFrame({
            "table": table, "source_file": src.display_path, "source_row": mq["source_row"].to_numpy("int64"),
            "reason": MERGED_REASON, "customer_id": mq["cid"].to_numpy(), "order_id": mq["oid"].to_numpy(),
            "amount": mq["signed"].to_numpy("float64"), "merged_into": mq["oid"].to_numpy(),
            "original": _originals_json(mq, src.columns),
        }).astype({"table": "str", "source_file": "str", "reason": "str", "customer_id": "str",
                   "order_id": "str", "merged_into": "str", "original": "str"})

    allrows = con.sql("SELECT source_row, coalesce(signed, 0.0) AS s FROM tx_out ORDER BY source_row").df()
    books = reconcile(table, allrows["source_row"].to_numpy("int64"), clean, quarantine, merged,
                      source_amounts=allrows["s"].to_numpy("float64"), tolerance=cleaning.amount_tolerance)
    stats = {"refunds": stats_ref, "outliers": {k: v for k, v in outliers.items() if k != "mask"},
             "invalid_values": invalid, "order_id_synthesized": not has_oid,
             "unparseable_amount_counts_zero": True, "engine": "duckdb", "source": source_info(src)}
    return TableResult(table, clean, quarantine, merged, books, stats)


def source_info(src: _Source) -> dict[str, Any]:
    """How the file was read, in the shapes kit.clean's quality report uses: ``info`` as
    :meth:`kit.io.RawTable.info` (``header_row`` 1-based), ``mapping``, ``how``, ``columns``."""
    info = {"path": src.display_path, "format": src.info["format"], "encoding": src.info["encoding"],
            "sheet": None, "header_row": None if src.info["header_row"] is None else src.info["header_row"] + 1,
            "delimiter": src.info["delimiter"], "rows": src.info["rows"],
            "blank_rows_skipped": src.info["blank_rows_skipped"]}
    return {"info": info, "mapping": dict(src.mapping), "how": dict(src.how), "columns": list(src.columns)}


def _clean_dtypes(clean: pd.DataFrame, optional: list[str], text_cols) -> pd.DataFrame:
    """The dtypes of kit.clean's clean transactions."""
    out = clean.copy()
    for col in ("customer_id", "order_id"):
        out[col] = out[col].astype("str")
    out["order_date"] = pd.to_datetime(out["order_date"]).astype("datetime64[ns]")
    out["amount"] = out["amount"].astype("float64")
    for col in optional:
        out[col] = out[col].astype("str") if col in text_cols else out[col].astype("float64")
    out["is_return"] = out["is_return"].astype(bool)
    out["source_row"] = out["source_row"].astype("int64")
    return out.reset_index(drop=True)


def _originals_json(rows: pd.DataFrame, columns: list[str]) -> list[str]:
    """The source values of ``rows``, one JSON object per row (as kit.clean writes them)."""
    if not len(rows):
        return []
    text = rows[columns].to_json(orient="records", lines=True, force_ascii=False)
    return text.replace("\\/", "/").split("\n")[: len(rows)]


def _quarantine(q: pd.DataFrame, src: _Source, table: str, as_of: pd.Timestamp) -> pd.DataFrame:
    """kit.clean's quarantine frame (reason details written as the pandas path writes them)."""
    from kit.stages.clean import QUARANTINE_COLUMNS

    def s(v) -> str:
        return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)

    details = []
    for r in q.itertuples(index=False):
        reason = r.reason
        if reason == "duplicate":
            d = f"duplicate of row {int(r.first_row)}"
        elif reason == "missing_customer_id":
            d = "customer id is empty"
        elif reason == "test_account":
            d = f"customer_id={s(r.cid)}"
        elif reason == "bad_date":
            d = f"order_date={s(r.raw_date)!r}"
        elif reason == "bad_amount":
            d = f"amount={s(r.raw_amount)!r}"
        elif reason == "cancelled":
            d = f"status={s(r.raw_status)}"
        elif reason == "future_date":
            d = f"order_date {pd.Timestamp(r.odate):%Y-%m-%d} > {as_of:%Y-%m-%d}"
        elif reason == "zero_amount":
            d = "amount is 0"
        elif reason == "refund_dropped":
            d = "refund (refunds: drop)"
        elif reason == "refund_unmatched":
            if src.mapping.get("order_id") is None:
                d = "no order id column to match the refund to its order"
            else:
                o = s(r.oid)
                d = f"no clean order {o!r} of customer {s(r.cid)!r}" if o else "refund has no order id"
        elif reason == "fully_refunded":
            d = f"order {s(r.oid)}: net after refunds {r.order_net:.2f}"
        else:
            d = None
        details.append(d)
    n = len(q)
    return pd.DataFrame({
        "table": pd.Series([table] * n, dtype="str"),
        "source_file": pd.Series([src.display_path] * n, dtype="str"),
        "source_row": q["source_row"].to_numpy("int64"),
        "reason": pd.Series(q["reason"].to_numpy(), dtype="str"),
        "detail": pd.Series(details, dtype="str"),
        "customer_id": pd.Series(q["cid"].to_numpy(), dtype="str"),
        "amount": q["signed"].to_numpy("float64"),
        "original": pd.Series(_originals_json(q, src.columns), dtype="str"),
    }, columns=QUARANTINE_COLUMNS)
