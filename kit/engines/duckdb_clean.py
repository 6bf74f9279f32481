"""The transaction cleaning cascade, written once, as SQL run by DuckDB in process or by Spark.

This is the one implementation of the transaction-level cleaning rules: duplicate
detection, the rule cascade, order conflicts, refund netting, the outlier threshold and the
books are SQL, and the engine writes the clean rows to Parquet itself. DuckDB runs it over a
CSV or Parquet file it reads (:func:`clean_transactions_duckdb`, big files: the rows never
enter pandas) or over the frame :func:`kit.io.read_table` read (:func:`clean_transactions`:
Excel, whitespace-separated files, small files); Spark runs the same text over those rows
staged as Parquet (:func:`kit.engines.spark_engine.clean_transactions_spark`, ``engine.name:
spark``). Each step is one
SQL text written through a :class:`kit.core.dialect.Dialect` (the few spellings the engines
differ in) and run through a backend (:mod:`kit.engines.sql_backend`: stored tables, small
results, Parquet output); the readers give the same strings and the engines the same result
(tested on generated messy files: ``tests/test_engines_property.py``,
``tests/test_engine_spark.py``). The order of the rules, their reason codes and switches and
the refund modes are :mod:`kit.stages.cascade`; here each rule's row condition is SQL
(:data:`CONDITIONS_SQL`). Values are parsed by kit.io's own parsers
(:mod:`kit.engines.duckdb_values`); the whole-table steps (outlier threshold, books, unique
order lines) are :mod:`kit.engines.duckdb_books`. Only the quarantined and merged rows come
to pandas, for their details.

Tables between the steps: ``tx_parsed`` (every row typed) and ``tx_out`` (every row's
reason and net amount) are the two wide ones; the steps between are views over
``tx_parsed`` joined to small tables of the exceptions (the rows that copy an earlier row,
the rows of conflicting order ids, the refunded orders), so DuckDB writes -- and, beyond its
memory limit, spills -- as little as it can (Spark stores each step: see
:class:`kit.engines.sql_backend.SparkBackend`).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from kit.engines import duckdb_books
from kit.core.dialect import Dialect
from kit.core.progress import step
from kit.engines.duckdb_source import Source, connect, open_frame, open_transactions, source_info
from kit.engines.sql_backend import backend_of
from kit.io import RawTable
from kit.engines.duckdb_values import Parsed
from kit.stages.cascade import (
    CONFLICT_MODES,
    FULLY_REFUNDED,
    MERGED_REASON,
    REFUND_REASON,
    REFUND_UNMATCHED,
    status_keys,
    test_account_ids,
    tx_rules,
)
from kit.stages.clean import (
    CANONICAL_OPTIONAL_TX,
    MERGED_COLUMNS,
    QUARANTINE_COLUMNS,
    TEXT_COLUMNS_TX,
    TableResult,
    order_details,
)
from kit.stages.clean.orders import cents_sql, line_columns, to_cents
from kit.stages.features import purchase_sql

#: The row condition of each rule of :data:`kit.stages.cascade.TX_RULES`, over ``tx_tri``'s
#: columns (``{as_of}`` is the period end as a DATE literal).
CONDITIONS_SQL: dict[str, str] = {
    "is_copy": "first_row <> source_row",
    "no_customer_id": "cid IS NULL",
    "is_test": "is_test",
    "bad_date": "NOT odate_ok",
    "bad_amount": "NOT amt_ok",
    "is_implausible": "implausible",
    "is_cancelled": "st_cancelled",
    "is_future": "CAST(odate AS DATE) > {as_of}",
    "is_zero": "signed = 0",
    "is_conflict": "conflict",  # an open-rows rule: tx_conf (:func:`_conflicts`)
}


def clean_transactions_duckdb(
    spec,
    cleaning,
    as_of,
    *,
    test_customer_ids=(),
    con: duckdb.DuckDBPyConnection | None = None,
    table: str = "transactions",
    clean_path: str | Path | None = None,
):
    """The transaction cascade as DuckDB SQL over the configured file (CSV or Parquet).

    ``spec`` is the input's :class:`kit.core.config.InputTable` (``cfg.inputs.transactions``),
    ``cleaning`` :class:`kit.core.config.Cleaning`. Returns a
    :class:`kit.stages.clean.TableResult`, whose ``stats`` also hold ``source`` (how the file
    was read, as :meth:`kit.io.RawTable.info`, and the header mapping) for the quality report.

    Reading, duplicate detection, the rule cascade, refund netting, the outlier threshold
    and the books run in DuckDB, and DuckDB writes the clean rows to Parquet itself
    (``COPY ... TO``, typed columns, source order); pandas receives only the distinct odd
    values to parse (kit.io's parsers) and the quarantined and merged rows.

    ``clean_path`` None: the clean rows come back as ``TableResult.clean`` (read from a
    temporary Parquet file: text ids, nanosecond dates, float amounts). ``clean_path`` given: they stay in
    that Parquet file, ``TableResult.clean`` is an empty frame with the clean table's columns
    and dtypes, and ``stats["clean_file"]`` names the file.
    """
    con = con if con is not None else connect()
    return run_cascade(con, open_transactions(con, spec, table), cleaning, as_of, test_customer_ids, table,
                         clean_path)


def clean_transactions(
    raw: RawTable,
    cleaning,
    as_of,
    *,
    test_customer_ids=(),
    con: duckdb.DuckDBPyConnection | None = None,
    clean_path: str | Path | None = None,
) -> TableResult:
    """Clean an orders table already read by :func:`kit.io.read_table` (a
    :class:`kit.io.RawTable`: strings, mapped): the same cascade as
    :func:`clean_transactions_duckdb`, in DuckDB over the frame, for what only the pandas
    reader reads (Excel, whitespace-separated files) and for small files.

    Returns clean transactions with ``customer_id, order_id, order_date, amount`` [optional
    canonical columns] ``is_return, is_outlier, source_row``; the quarantined and merged
    rows; the reconciliation (raises :class:`kit.stages.clean.ReconciliationError` when the
    books do not balance). ``test_customer_ids``: customers the master marks as test
    accounts. ``con`` and ``clean_path`` as in :func:`clean_transactions_duckdb`.
    """
    con = con if con is not None else connect()
    result = run_cascade(con, open_frame(con, raw, raw.table), cleaning, as_of, test_customer_ids, raw.table,
                           clean_path)
    for key in ("source", "engine"):  # the caller has the RawTable: how it was read is raw.info()
        result.stats.pop(key, None)
    return result


def run_cascade(con, src: Source, cleaning, as_of, test_customer_ids, table: str,
                clean_path: str | Path | None) -> TableResult:
    """The cascade over the opened source ``src`` on ``con``: a DuckDB connection, or a
    :class:`kit.engines.sql_backend.SparkBackend` whose session holds ``src.view``. Every
    intermediate is dropped afterwards, and ``src``'s temporary UTF-8 copy deleted."""
    as_of = pd.Timestamp(as_of).normalize()
    db = backend_of(con)
    try:
        return _clean_sql(db, src, cleaning, as_of, set(test_customer_ids), table, clean_path)
    finally:
        if src.temp is not None:
            src.temp.unlink(missing_ok=True)
        db.drop()


def _clean_sql(db, src: Source, cleaning, as_of: pd.Timestamp, test_ids: set[str], table: str,
               clean_path: str | Path | None) -> TableResult:
    has_oid = "order_id" in src.mapping
    optional = [c for c in CANONICAL_OPTIONAL_TX if c in src.mapping]
    lines = line_columns(cleaning.order_line_columns, src.mapping)
    n, where = src.info.get("rows"), f"{table} ({db.dialect.name})"  # a line per step: kit.core.progress
    with step("clean", f"{where}: values parsed", rows=n):
        _typed_values(db, src, cleaning, optional)
        margin_scale = _margin_scale(db, optional)
    with step("clean", f"{where}: rules and refunds applied", rows=n):
        _triage(db, src, cleaning, as_of, test_ids, lines)
        stats_ref = _refunds(db, cleaning, has_oid)
    with step("clean", f"{where}: books and outliers", rows=n):
        books = duckdb_books.books(db, table, src.view)
        purchases = (f"SELECT net_amount AS v FROM tx_out WHERE reason IS NULL AND "
                     f"{purchase_sql('net_amount', 'is_return')}")
        outliers = duckdb_books.outlier_rule(db, purchases, cleaning)
        clean_sql, invalid = _clean_select(db, optional, has_oid, outliers["threshold"], margin_scale)
        if cleaning.duplicates == "quarantine":
            duckdb_books.check_unique_lines(db, table, clean_sql, lines)
    with step("clean", f"{where}: quarantine details", rows=books["quarantined_rows"] + books["merged_rows"]):
        quarantine, merged = _quarantine_and_merged(db, src, table, as_of, cleaning)
    stats = {"refunds": stats_ref, "outliers": outliers, "invalid_values": invalid,
             "order_id_synthesized": not has_oid, "unparseable_amount_counts_zero": True,
             "implausible_amount_counts_zero": True, "engine": "duckdb", "source": source_info(src)}
    with step("clean", f"{where}: clean rows written", rows=books["clean_rows"]):
        if clean_path is None:
            clean = _clean_frame(db, clean_sql, optional)
        else:
            db.write_parquet(clean_sql, clean_path, order_by="source_row")
            clean = _clean_dtypes(db.frame(f"{clean_sql} LIMIT 0"), optional, TEXT_COLUMNS_TX)
            stats["clean_file"] = str(clean_path)
    return TableResult(table, clean, quarantine, merged, books, stats)


def _clean_frame(db, clean_sql: str, optional: list[str]) -> pd.DataFrame:
    """The clean rows in pandas, read from the Parquet file the engine writes (one code path
    for both results)."""
    with tempfile.TemporaryDirectory(prefix="kit-clean-") as folder:
        path = db.write_parquet(clean_sql, Path(folder) / "clean.parquet", order_by="source_row")
        frame = pq.read_table(path).to_pandas()
    return _clean_dtypes(frame, optional, TEXT_COLUMNS_TX)


def _typed_values(db, src: Source, cleaning, optional: list[str]) -> None:
    """``tx_parsed``: every row's typed values (the raw text the details quote is read
    from the source view again, for the quarantined rows only)."""
    p = Parsed(db, src)
    p.ids("customer_id", "cid")
    if "order_id" in src.mapping:
        p.ids("order_id", "oid")
    p.dates("order_date", "odate")
    p.numbers("amount", "amt")
    if "status" in src.mapping:
        cancel, refund = status_keys(cleaning.cancelled_statuses), status_keys(cleaning.refund_statuses)
        p.text("status", "st", {"cancelled": lambda t: t.str.lower().isin(cancel).fillna(False).astype(bool),
                                "refund": lambda t: t.str.lower().isin(refund).fillna(False).astype(bool)})
    for col in optional:
        if col == "status":
            continue
        if col in TEXT_COLUMNS_TX:
            p.text(col, f"opt_{col}")
        else:
            p.numbers(col, f"opt_{col}", ratio=col == "margin")
    db.table("tx_parsed", p.sql())


def _triage(db, src: Source, cleaning, as_of: pd.Timestamp, test_ids: set[str], lines: list[str]) -> None:
    """``tx_tri`` (a view over ``tx_parsed``): the signed amount (NULL when implausible), its
    cents, refund flags and ``reason0``, the reason the cascade of
    :func:`kit.stages.cascade.tx_rules` gives (first rule that holds wins; the open-rows rule
    ``order_conflict`` from :func:`_conflicts`). Only the rows that are copies (``tx_dup``)
    and the rows of conflicting order ids (``tx_conf``) are stored apart: the views join those
    small tables, so no wide table is written between parsing and ``tx_out``."""
    d = db.dialect
    rules = tx_rules(cleaning, src.mapping)
    tests = sorted(_test_accounts(db, cleaning.test_account_pattern, test_ids))
    db.register("tx_test_ids", pd.DataFrame({"cid": pd.Series(tests, dtype=object)}))
    status_refund = "p.st_refund" if "status" in src.mapping else "false"
    cancelled = "p.st_cancelled" if "status" in src.mapping else "false"
    implausible = f"(p.amt_ok AND NOT coalesce(abs(p.amt) <= {float(cleaning.max_amount)!r}, false))"
    db.view("tx_sig", f"""
        WITH t AS (
            SELECT p.*, x.cid IS NOT NULL AS is_test, {status_refund} AS refund_status, {cancelled} AS is_cancelled,
                   {implausible} AS implausible,
                   CASE WHEN {implausible} THEN NULL ELSE p.amt END AS amt_p
            FROM tx_parsed AS p LEFT JOIN tx_test_ids AS x ON x.cid = p.cid),
        s AS (SELECT *, CASE WHEN refund_status THEN -abs(amt_p) ELSE amt_p END AS signed FROM t)
        SELECT *, {cents_sql("signed", d)} AS cents FROM s
    """)
    _duplicates(db, src, any(r.code == "duplicate" for r in rules), lines)
    conditions = {k: v.format(as_of=f"DATE '{as_of:%Y-%m-%d}'") for k, v in CONDITIONS_SQL.items()}
    row_rules = [r for r in rules if not r.open_rows]
    cases = " ".join(f"WHEN {conditions[r.condition]} THEN '{r.code}'" for r in row_rules)
    db.view("tx_pre", f"""
        WITH s AS (SELECT s.*, coalesce(d.first_row, s.source_row) AS first_row,
                          coalesce(d.exact_first, s.source_row) AS exact_first
                   FROM tx_sig AS s LEFT JOIN tx_dup AS d ON d.source_row = s.source_row)
        SELECT *, CASE {cases} END AS reason_a, coalesce(signed < 0, false) OR refund_status AS is_refund FROM s
    """)
    _conflicts(db, cleaning, lines, any(r.code == "order_conflict" for r in rules))
    db.view("tx_tri", """
        SELECT t.*, CASE WHEN t.reason_a IS NOT NULL THEN t.reason_a
                         WHEN c.hit THEN 'order_conflict' END AS reason0,
               c.conflict_rows, c.conflict_kept
        FROM tx_pre AS t LEFT JOIN tx_conf AS c ON c.source_row = t.source_row
    """)


def _first_copies(d: Dialect, rows_sql: str, key: str, out: str) -> str:
    """SQL of ``source_row, <out>``: each row of ``rows_sql`` whose ``key`` (SQL expressions)
    an earlier row shares, with the first such row. A 64-bit hash of the key finds the
    candidates in one aggregation; the exact comparison (a window over the key) runs over
    those only, so hash collisions cost time, never a wrong answer."""
    return f"""(WITH r AS ({rows_sql}),
        h AS (SELECT {d.hash64(key)} AS h FROM r GROUP BY 1 HAVING count(*) > 1),
        c AS (SELECT source_row, min(source_row) OVER (PARTITION BY {key}) AS {out}
              FROM r WHERE {d.hash64(key)} IN (SELECT h FROM h))
        SELECT source_row, {out} FROM c WHERE {out} <> source_row)"""


def _test_accounts(db, pattern: str, listed: set[str], batch: int = 1_000_000) -> set[str]:
    """:func:`kit.stages.cascade.test_account_ids` of the distinct customer ids, read in
    batches: Python's ``re`` decides (the pattern is a Python regex in the config), and only the matches are kept."""
    if not pattern:
        return set(listed)
    found: set[str] = set()
    for part in db.batches("SELECT DISTINCT cid FROM tx_parsed WHERE cid IS NOT NULL", batch):
        found |= test_account_ids(part.column(0).to_pylist(), pattern, listed)
    return found | set(listed)


def _duplicates(db, src: Source, active: bool, lines: list[str]) -> None:
    """``tx_dup``: the rows that copy an earlier one, with their first exact copy
    ``exact_first`` and their first copy after normalising ``first_row``
    (the order identity of :mod:`kit.stages.clean.orders`); every other row is its own first
    copy (``source_row``). Empty when the duplicate rule is off."""
    d = db.dialect
    if not active:
        db.table("tx_dup", "SELECT CAST(NULL AS BIGINT) AS source_row, "
                           "CAST(NULL AS BIGINT) AS first_row, CAST(NULL AS BIGINT) AS exact_first WHERE false")
        return
    src_cols = ", ".join(d.ident(c) for c in src.columns)
    exact = _first_copies(d, f"SELECT * FROM {src.view}", src_cols, "exact_first")
    if "order_id" not in src.mapping:
        db.table("tx_dup", f"SELECT source_row, exact_first AS first_row, exact_first FROM {exact} AS x")
        return
    key = ", ".join(["oid", "cid", "CAST(odate AS DATE)", "cents", "is_cancelled", *[f"opt_{c}" for c in lines]])
    norm = _first_copies(d, "SELECT * FROM tx_sig WHERE oid IS NOT NULL AND cid IS NOT NULL AND odate IS NOT NULL "
                            "AND cents IS NOT NULL", key, "norm_first")
    db.table("tx_dup", f"""
        SELECT coalesce(x.source_row, n.source_row) AS source_row,
               coalesce(x.exact_first, x.source_row, n.source_row) AS exact_first,
               least(coalesce(n.norm_first, n.source_row, x.source_row),
                     coalesce(x.exact_first, x.source_row, n.source_row)) AS first_row
        FROM {exact} AS x FULL JOIN {norm} AS n ON n.source_row = x.source_row
    """)


def _conflicts(db, cleaning, lines: list[str], active: bool) -> None:
    """``tx_conf``: the rows of ``order_conflict`` (``hit``) among the open rows that are not
    refunds, with the rows of their order id and those kept
    (:func:`kit.stages.clean.orders.order_conflicts`). Only order ids with more than one
    open row can conflict: the windows run over those."""
    d = db.dialect
    if not active:
        db.table("tx_conf", f"SELECT CAST(NULL AS BIGINT) AS source_row, false AS hit, "
                            f"CAST(NULL AS {d.array_of('BIGINT')}) AS conflict_rows, "
                            f"CAST(NULL AS {d.array_of('BIGINT')}) AS conflict_kept WHERE false")
        return
    mode = cleaning.order_conflicts
    if mode not in CONFLICT_MODES:
        raise ValueError(f"cleaning.order_conflicts must be one of {', '.join(CONFLICT_MODES)} (got {mode!r})")
    line_part = ", ".join(["oid", *[f"opt_{c}" for c in lines]])
    # a row's content (customer, day, cents) as one text that two rows share only when all
    # three are equal (the id's length first, so no id can run into the day): compared, never
    # ranked, so no window over every row (Spark would gather those on one executor)
    content = (f"concat(CAST(length(cid) AS {d.text}), ':', cid, '|', CAST(day AS {d.text}), '|', "
               f"CAST(cents AS {d.text}))")
    if mode == "quarantine":
        hit = "true"
    else:
        order = "source_row" if mode == "keep_first" else "source_row DESC"
        hit = (f"content <> first_value(content) OVER (PARTITION BY {line_part} ORDER BY {order}) "
               f"OR cid <> first_value(cid) OVER (PARTITION BY oid ORDER BY {order})")
    db.table("tx_conf", f"""
        WITH e0 AS {d.materialized}(
                   SELECT source_row, oid, cid, CAST(odate AS DATE) AS day, cents
                          {''.join(f', opt_{c}' for c in lines)}
                   FROM tx_pre WHERE reason_a IS NULL AND NOT is_refund AND oid IS NOT NULL),
        e AS (SELECT * FROM e0 WHERE oid IN (SELECT oid FROM e0 GROUP BY oid HAVING count(*) > 1)),
        c AS (SELECT *, {content} AS content FROM e),
        w AS (SELECT *, min(content) OVER (PARTITION BY {line_part}) <> max(content) OVER (PARTITION BY {line_part})
                        OR min(cid) OVER (PARTITION BY oid) <> max(cid) OVER (PARTITION BY oid) AS bad FROM c),
        g AS (SELECT * FROM (SELECT *, bool_or(bad) OVER (PARTITION BY oid) AS any_bad FROM w) AS w2 WHERE any_bad),
        h AS (SELECT *, {hit} AS hit FROM g),
        r AS (SELECT oid, {d.sorted_list('source_row')} AS conflict_rows,
                     {d.sorted_list('source_row', 'NOT hit')} AS conflict_kept
              FROM h GROUP BY oid)
        SELECT h.source_row, h.hit, r.conflict_rows, r.conflict_kept FROM h JOIN r ON r.oid = h.oid
    """)


def _refunds(db, cleaning, has_oid: bool) -> dict[str, Any]:
    """``tx_out``: the final ``reason`` of each row, the netting ``factor`` and ``is_return``;
    returns the refund statistics (``stats['refunds']``)."""
    mode = cleaning.refunds
    stats = {"mode": mode, "rows": 0, "sign_flipped": 0, "netted": 0, "unmatched": 0,
             "fully_refunded_orders": 0, "dropped": 0, "kept": 0}
    stats["rows"], stats["sign_flipped"] = (int(v) for v in db.rows(
        "SELECT count(*) FILTER (WHERE reason0 IS NULL AND is_refund), "
        "count(*) FILTER (WHERE refund_status AND amt_p > 0) FROM tx_tri")[0])
    if mode == "net" and has_oid:
        _refund_keys(db, int(to_cents([cleaning.amount_tolerance])[0]))
        reason = f"""CASE WHEN reason0 IS NOT NULL THEN reason0
                          WHEN is_refund AND k.k IS NULL THEN '{REFUND_UNMATCHED}'
                          WHEN k.full_ref THEN '{FULLY_REFUNDED}'
                          WHEN is_refund AND k.partial THEN '{MERGED_REASON}' END"""
        factor = ("CASE WHEN reason0 IS NULL AND NOT is_refund AND k.partial "
                  "THEN CAST(k.net_c AS DOUBLE) / CAST(k.order_c AS DOUBLE) ELSE 1.0 END")
        join = ("LEFT JOIN tx_keys AS k ON k.k = coalesce(t.cid, '') AND k.oid = t.oid "
                "LEFT JOIN tx_alloc AS a ON a.source_row = t.source_row")
        extra = ("CAST(k.net_c AS DOUBLE) / CAST(100 AS DOUBLE) AS order_net, "
                 "CASE WHEN a.alloc_c IS NULL THEN t.signed ELSE CAST(a.alloc_c AS DOUBLE) / CAST(100 AS DOUBLE) END AS net_amount")
    else:
        when = REFUND_REASON[mode]
        reason = f"CASE WHEN reason0 IS NOT NULL THEN reason0 WHEN is_refund THEN {_literal(when)} END"
        factor, join, extra = "1.0", "", "CAST(NULL AS DOUBLE) AS order_net, t.signed AS net_amount"
    is_return = "reason0 IS NULL AND is_refund" if REFUND_REASON[mode] is None else "false"
    db.table("tx_out", f"""
        SELECT {_kept_columns(db)}, {reason} AS reason, CAST({factor} AS DOUBLE) AS factor, {is_return} AS is_return,
               {extra}
        FROM tx_tri AS t {join}
    """)
    counts = {r: int(n) for r, n in db.rows("SELECT reason, count(*) FROM tx_out WHERE reason IS NOT NULL GROUP BY reason")}
    stats["netted"] = int(counts.get(MERGED_REASON, 0))
    stats["unmatched"] = int(counts.get(REFUND_UNMATCHED, 0))
    stats["dropped"] = int(counts.get(REFUND_REASON["drop"], 0))
    if REFUND_REASON[mode] is None:
        stats["kept"] = stats["rows"]
    if mode == "net" and has_oid:
        stats["fully_refunded_orders"] = int(db.rows("SELECT count(*) FROM tx_keys WHERE full_ref")[0][0])
    db.drop({"tx_tri", "tx_pre", "tx_sig", "tx_parsed", "tx_keys", "tx_alloc", "tx_dup", "tx_conf"})
    return stats


#: Columns of ``tx_tri`` that ``tx_out`` keeps (with the typed optional columns ``st``,
#: ``opt_*`` and the ``_ok`` / ``_present`` flags of the numeric ones): what the clean table,
#: the books, the statistics and the quarantine details read.
_KEPT = ("source_row", "cid", "oid", "odate", "signed", "first_row", "exact_first", "conflict_rows", "conflict_kept")


def _kept_columns(db) -> str:
    cols = db.columns("SELECT * FROM tx_tri")
    keep = [c for c in cols if c in _KEPT or c == "st" or (c.startswith("opt_") and not c.endswith("_pct"))]
    return ", ".join(f"t.{db.dialect.ident(c)}" for c in keep)


def _refund_keys(db, tol_c: int) -> None:
    """``tx_keys``: per (customer, order id) with open purchases and open refunds (the orders
    a refund can touch), the order's cents, its refunds' cents, the net and whether it is
    refunded in full (net <= ``tol_c``) or in part; ``tx_alloc``: a partly refunded order's net spread over its lines in whole cents
    (largest remainder, ties to the earlier row)."""
    d = db.dialect
    db.table("tx_keys", f"""
        WITH b AS (SELECT coalesce(cid, '') AS k, oid, coalesce(cents, 0) AS c, is_refund, reason0 IS NULL AS alive
                   FROM tx_tri WHERE oid IS NOT NULL),
        rk AS {d.materialized}(SELECT DISTINCT k, oid FROM b WHERE alive AND is_refund),
        buys AS (SELECT b.k, b.oid, sum(b.c) AS order_c FROM b {d.semi_join} rk ON rk.k = b.k AND rk.oid = b.oid
                 WHERE b.alive AND NOT b.is_refund GROUP BY b.k, b.oid),
        refs AS (SELECT b.k, b.oid, sum(b.c) AS ref_c FROM b JOIN buys ON buys.k = b.k AND buys.oid = b.oid
                 WHERE b.alive AND b.is_refund GROUP BY b.k, b.oid)
        SELECT buys.k, buys.oid, order_c, ref_c, order_c + ref_c AS net_c,
               ref_c IS NOT NULL AND order_c + ref_c <= {tol_c} AS full_ref,
               ref_c IS NOT NULL AND NOT (order_c + ref_c <= {tol_c}) AS partial
        FROM buys LEFT JOIN refs ON refs.k = buys.k AND refs.oid = buys.oid
    """)
    db.table("tx_alloc", f"""
        WITH l AS (SELECT t.source_row, k.k, k.oid, k.net_c, k.order_c,
                          CAST(coalesce(t.cents, 0) AS {d.int128}) * CAST(k.net_c AS {d.int128}) AS num
                   FROM tx_tri AS t JOIN tx_keys AS k ON k.k = coalesce(t.cid, '') AND k.oid = t.oid
                   WHERE t.reason0 IS NULL AND NOT t.is_refund AND k.partial),
        b AS (SELECT *, CAST({d.int_div('num', 'order_c')} AS BIGINT) AS base,
                     CAST(num % order_c AS BIGINT) AS rem FROM l),
        r AS (SELECT *, net_c - sum(base) OVER (PARTITION BY k, oid) AS leftover,
                     row_number() OVER (PARTITION BY k, oid ORDER BY rem DESC, source_row) - 1 AS rnk FROM b)
        SELECT source_row, base + CASE WHEN rnk < leftover THEN 1 ELSE 0 END AS alloc_c FROM r
    """)


def _literal(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def _margin_scale(db, optional: list[str]) -> float:
    """The margin column rule of :func:`kit.io.parse_ratio`: without any % sign, values
    mostly above 1.5 are percent points."""
    if "margin" not in optional:
        return 1.0
    any_pct, med = db.rows("SELECT bool_or(opt_margin_pct), median(abs(opt_margin)) FILTER "
                           "(WHERE opt_margin_ok AND NOT opt_margin_pct) FROM tx_parsed")[0]
    return 0.01 if not any_pct and med is not None and med > 1.5 else 1.0


def _clean_select(db, optional: list[str], has_oid: bool, threshold: float | None,
                  margin_scale: float) -> tuple[str, dict[str, int]]:
    """The SELECT of the clean rows (the clean table's columns, typed: ``order_date`` a
    nanosecond timestamp, outliers flagged above ``threshold``), and the count of values
    that did not parse per optional numeric column."""
    d = db.dialect
    sel = ["cid AS customer_id",
           "oid AS order_id" if has_oid else f"concat('row-', CAST(source_row AS {d.text})) AS order_id",
           f"CAST(odate AS {d.timestamp_ns}) AS order_date", "net_amount AS amount"]
    invalid_sql = []
    for col in optional:
        name = "st" if col == "status" else f"opt_{col}"
        if col in TEXT_COLUMNS_TX:
            sel.append(f"CAST({name} AS {d.text}) AS {col}")
            continue
        value = f"{name} * {margin_scale!r}" if col == "margin" else name
        if col == "profit":
            value = f"{name} * factor"
        sel.append(f"CAST({value} AS DOUBLE) AS {col}")
        invalid_sql.append(f"count(*) FILTER (WHERE {name}_present AND NOT {name}_ok) AS {col}")
    purchase = purchase_sql("net_amount", "is_return")
    flag = "false" if threshold is None else f"coalesce({purchase} AND net_amount > {threshold!r}, false)"
    sel += ["is_return", f"{flag} AS is_outlier", "source_row"]
    invalid = {}
    if invalid_sql:
        row = db.rows(f"SELECT {', '.join(invalid_sql)} FROM tx_out WHERE reason IS NULL")[0]
        invalid = {c: int(v) for c, v in zip([c for c in optional if c not in TEXT_COLUMNS_TX], row)}
    return f"SELECT {', '.join(sel)} FROM tx_out WHERE reason IS NULL", invalid


def _quarantine_and_merged(db, src: Source, table: str, as_of: pd.Timestamp,
                           cleaning) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The quarantine and merged frames (:data:`kit.stages.clean.QUARANTINE_COLUMNS`,
    :data:`kit.stages.clean.MERGED_COLUMNS`), from ``tx_out``."""
    has_oid, has_status = "order_id" in src.mapping, "status" in src.mapping
    _ident = db.dialect.ident
    raw_cols = ", ".join(f"r.{_ident(h)}" for h in src.columns)
    null_text = f"CAST(NULL AS {db.dialect.text})"
    q = db.frame(f"""SELECT o.source_row, o.reason, o.cid, {'o.oid' if has_oid else null_text} AS oid, o.signed,
                           o.first_row, o.exact_first, r.{_ident(src.mapping["order_date"])} AS raw_date,
                           r.{_ident(src.mapping["amount"])} AS raw_amount, o.odate, o.order_net,
                           o.conflict_rows, o.conflict_kept,
                           {f'r.{_ident(src.mapping["status"])}' if has_status else null_text} AS raw_status, {raw_cols}
                    FROM tx_out AS o JOIN {src.view} AS r ON r.source_row = o.source_row
                    WHERE o.reason IS NOT NULL ORDER BY o.source_row""")
    qmask = (q["reason"] != MERGED_REASON).to_numpy()
    quarantine = _quarantine(q[qmask], src, table, as_of, cleaning)
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
    return quarantine, merged


def _clean_dtypes(clean: pd.DataFrame, optional: list[str], text_cols) -> pd.DataFrame:
    """The clean transactions' dtypes in pandas (text ids, nanosecond dates, bool flags,
    float numbers), whichever reader read the file."""
    out = {}
    for col in clean.columns:
        s = clean[col]
        if col in ("customer_id", "order_id") or (col in optional and col in text_cols):
            out[col] = s.astype("str")
        elif col == "order_date":
            out[col] = pd.to_datetime(s).astype("datetime64[ns]")
        elif col in ("is_return", "is_outlier"):
            out[col] = s.astype(bool)
        elif col == "source_row":
            out[col] = s.astype("int64")
        else:
            out[col] = s.astype("float64")
    return pd.DataFrame(out, columns=clean.columns).reset_index(drop=True)


def _originals_json(rows: pd.DataFrame, columns: list[str]) -> list[str]:
    """The source values of ``rows``, one JSON object per row (as the other tables' quarantine writes them)."""
    if not len(rows):
        return []
    text = rows[columns].to_json(orient="records", lines=True, force_ascii=False)
    return text.replace("\\/", "/").split("\n")[: len(rows)]


def _quarantine(q: pd.DataFrame, src: Source, table: str, as_of: pd.Timestamp, cleaning) -> pd.DataFrame:
    """The quarantine frame (details from :func:`kit.stages.clean.order_details`)."""
    codes, params = order_details(q, as_of=as_of, order_id_column=src.mapping.get("order_id") is not None,
                                  max_amount=cleaning.max_amount, order_conflicts=cleaning.order_conflicts)
    n = len(q)
    return pd.DataFrame({
        "table": pd.Series([table] * n, dtype="str"),
        "source_file": pd.Series([src.display_path] * n, dtype="str"),
        "source_row": q["source_row"].to_numpy("int64"),
        "reason": pd.Series(q["reason"].to_numpy(), dtype="str"),
        "detail_code": pd.Series(codes, dtype="str"),
        "detail_params": pd.Series(params, dtype="str"),
        "customer_id": pd.Series(q["cid"].to_numpy(), dtype="str"),
        "amount": q["signed"].to_numpy("float64"),
        "original": pd.Series(_originals_json(q, src.columns), dtype="str"),
    }, columns=QUARANTINE_COLUMNS)
