"""The cleaning SQL, what the cleaning stage computes over the whole clean table (DuckDB
or Spark, :mod:`kit.engines.sql_backend`; the functions over a clean Parquet file: DuckDB).

So that the clean transactions can go from DuckDB straight to a Parquet file (``COPY ... TO``)
without a pass through pandas, what the cascade computes over the whole clean table is SQL
here:

* :func:`outlier_rule` -- ``cleaning.outliers``. The ``quantile`` and ``iqr`` thresholds are
  numpy's linear quantile (the one pandas calls) from the two order statistics it
  interpolates, fetched in SQL: the same float to the last bit (tested against numpy).
  ``zscore`` takes the mean and standard deviation of the log amounts in SQL (~1e-15).
* :func:`books` -- the books :func:`kit.stages.clean.reconcile` keeps for the other tables:
  rows and amounts in = clean + quarantined + merged, in whole cents summed as integers,
  and the row identity (tested equal).
* :func:`check_unique_lines` -- each order line of the clean purchases once.
* :func:`coverage`, :func:`monthly` and :func:`purchase_amounts` over a clean transactions
  Parquet file: :func:`kit.stages.clean.coverage`, :func:`kit.stages.clean.monthly` and the
  purchase amounts the amount chart draws.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from kit.core.dialect import DUCKDB, sql_str
from kit.stages.clean import MERGED_REASON, ReconciliationError
from kit.stages.clean.books import amount_problems, close_books, identity_problem, row_count_problems
from kit.engines.sql_backend import backend_of
from kit.stages.clean.orders import cents_sql
from kit.stages.features import purchase_sql

_ident = DUCKDB.ident

# --------------------------------------------------------------------------------------
# Quantiles as numpy computes them (method "linear", the one pandas' Series.quantile uses)
# --------------------------------------------------------------------------------------


def quantile_positions(n: int, q: float) -> tuple[int, int, np.float64]:
    """Where numpy's linear quantile ``q`` of ``n`` sorted values reads: the 0-based
    positions of the two values it interpolates and the weight of the second
    (``numpy.lib._function_base_impl._quantile``: virtual index ``(n - 1) * q``, clamped to
    the ends; ``tests/test_engines_books.py`` holds it to pandas bit for bit)."""
    virtual = np.float64(n - 1) * np.float64(q)
    prev = np.floor(virtual)
    if virtual >= n - 1:
        lo = hi = n - 1
        prev = np.float64(-1.0)  # numpy's index -1, whose weight is then (virtual + 1)
    elif virtual < 0:
        lo = hi = 0
        prev = np.float64(0.0)
    else:
        lo, hi = int(prev), int(prev) + 1
    return lo, hi, np.float64(virtual - prev)


def lerp(a: np.float64, b: np.float64, t: np.float64) -> np.float64:
    """numpy's ``_lerp``: ``a + (b - a) * t``, from the upper end when ``t >= 0.5``."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def order_statistics(con, values_sql: str, positions: Sequence[int]) -> dict[int, float]:
    """The values at 0-based ``positions`` of the sorted values of the column ``v`` of
    ``values_sql``: one aggregation to distinct values with their counts, a running sum
    over those (no sort of the rows themselves)."""
    ks = sorted(set(int(k) for k in positions))
    if not ks:
        return {}
    picks = ", ".join(f"min(v) FILTER (WHERE upto > {k})" for k in ks)
    row = backend_of(con).rows(f"""
        WITH c AS (SELECT v, count(*) AS n FROM ({values_sql}) GROUP BY v),
        r AS (SELECT v, sum(n) OVER (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto FROM c)
        SELECT {picks} FROM r""")[0]
    return dict(zip(ks, row))


def _quantile(con, values_sql: str, n: int, q: float, transform=None) -> np.float64:
    lo, hi, t = quantile_positions(n, q)
    stats = order_statistics(con, values_sql, (lo, hi))
    pair = np.array([stats[lo], stats[hi]], dtype="float64")
    if transform is not None:
        pair = transform(pair)
    return lerp(pair[0], pair[1], t)


def outlier_rule(con, purchases_sql: str, cleaning) -> dict[str, Any]:
    """Unusually large purchases (``cleaning.outliers``): ``method``, ``threshold`` (currency;
    None when there is none) and ``count`` of purchases above it. ``purchases_sql`` selects
    the purchase amounts as column ``v`` (``amount > 0``, not a return).

    ``iqr``: above exp(Q3 + k * IQR) of the log amounts; ``zscore``: z of the log amount above
    z; ``quantile``: above the quantile; none below four purchases."""
    rule = cleaning.outliers
    con = backend_of(con)
    n = int(con.rows(f"SELECT count(*) FROM ({purchases_sql})")[0][0])
    threshold = None
    if rule.method != "none" and n >= 4:
        if rule.method == "quantile":
            threshold = float(_quantile(con, purchases_sql, n, rule.quantile))
        elif rule.method == "iqr":
            q1 = _quantile(con, purchases_sql, n, 0.25, np.log)
            q3 = _quantile(con, purchases_sql, n, 0.75, np.log)
            threshold = float(np.exp(q3 + rule.iqr_factor * (q3 - q1)))
        else:
            mean, sd = con.rows(f"SELECT avg(ln(v)), stddev_samp(ln(v)) FROM ({purchases_sql})")[0]
            threshold = float(np.exp(np.float64(mean) + rule.zscore * np.float64(sd))) if sd and sd > 0 else None
    count = 0
    if threshold is not None:
        count = int(con.rows(f"SELECT count(*) FROM ({purchases_sql}) WHERE v > {threshold!r}")[0][0])
    return {"method": rule.method, "threshold": threshold, "count": count}


# --------------------------------------------------------------------------------------
# The books (kit.stages.clean.reconcile) over tx_out
# --------------------------------------------------------------------------------------


def books(con, table: str, source_view: str, out: str = "tx_out") -> dict[str, Any]:
    """:func:`kit.stages.clean.reconcile` of the rows of ``out`` (one per source row of
    ``source_view``; ``reason`` NULL: clean, :data:`MERGED_REASON`: merged, else
    quarantined; ``signed`` the source amount, ``net_amount`` the clean amount). Raises
    :class:`kit.stages.clean.ReconciliationError` when the books do not balance.

    The row identity (every source row once in the output) is checked by the count, sum and
    sum of squares of the row numbers on both sides -- constant memory at any size, where a
    ``count(DISTINCT ...)`` would hold every row number at once; when they differ the rows
    lost and counted twice are looked up to say which."""
    con = backend_of(con)
    d = con.dialect
    big = d.int128
    src_c = cents_sql("coalesce(signed, 0.0)", d)
    net_c = cents_sql("coalesce(net_amount, 0.0)", d)
    merged = f"reason = '{MERGED_REASON}'"
    identity = (f"count(*), coalesce(sum(CAST(source_row AS {big})), 0), "
                f"coalesce(sum(CAST(source_row AS {big}) * CAST(source_row AS {big})), 0)")
    src_rows = tuple(int(v) for v in con.rows(f"SELECT {identity} FROM {source_view}")[0])
    row = con.rows(f"""
        SELECT {identity},
               count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL AND NOT {merged}),
               count(*) FILTER (WHERE {merged}),
               coalesce(sum(CAST({src_c} AS {big})), 0),
               coalesce(sum(CAST({src_c} AS {big})) FILTER (WHERE reason IS NULL), 0),
               coalesce(sum(CAST({src_c} AS {big})) FILTER (WHERE reason IS NOT NULL AND NOT {merged}), 0),
               coalesce(sum(CAST({src_c} AS {big})) FILTER (WHERE {merged}), 0),
               coalesce(sum(CAST({net_c} AS {big})) FILTER (WHERE reason IS NULL), 0)
        FROM {out}""")[0]
    row = tuple(int(v) for v in row)
    n_src = int(src_rows[0])
    n_clean, n_quar, n_merged = (int(v) for v in row[3:6])
    source, cleaned, quarantined, merged_c, clean_net = (int(v) for v in row[6:])
    out_books: dict[str, Any] = {"source_rows": n_src, "clean_rows": n_clean, "quarantined_rows": n_quar,
                                 "merged_rows": n_merged}
    problems = row_count_problems(out_books)
    if tuple(src_rows) != tuple(row[:3]):  # the row numbers' count, sum and sum of squares: the same rows
        lost = [int(r[0]) for r in con.rows(f"SELECT s.source_row FROM {source_view} AS s {d.anti_join} {out} AS o "
                                            "ON o.source_row = s.source_row ORDER BY s.source_row LIMIT 10")]
        twice = [int(r[0]) for r in con.rows(f"SELECT source_row FROM {out} GROUP BY source_row HAVING count(*) > 1 "
                                            "ORDER BY source_row LIMIT 10")]
        problems.append(identity_problem(lost, twice))
    problems += amount_problems(out_books, source=source, cleaned=cleaned, quarantined=quarantined,
                                merged=merged_c, clean_net=clean_net)
    close_books(table, out_books, problems)
    return out_books


def check_unique_lines(con, table: str, clean_sql: str, line_cols: Sequence[str]) -> None:
    """Each order line (order id + ``line_cols``) of the purchases among the clean rows of
    ``clean_sql`` (canonical columns) once. Raises :class:`ReconciliationError` (a bug of the
    rules, never the data's fault: one line naming the line and its source rows) otherwise."""
    key = ["order_id", *line_cols]
    con = backend_of(con)
    _ident = con.dialect.ident
    cols = ", ".join(_ident(c) for c in key)
    same = " AND ".join(f"c.{_ident(c)} IS NOT DISTINCT FROM d.{_ident(c)}" for c in key)
    rows = con.rows(f"""
        WITH c AS (SELECT * FROM ({clean_sql}) AS x WHERE NOT is_return AND order_id IS NOT NULL),
        d AS (SELECT {cols}, min(source_row) AS first_row FROM c GROUP BY {cols} HAVING count(*) > 1
              ORDER BY first_row LIMIT 1)
        SELECT c.source_row, {', '.join(f'c.{_ident(k)}' for k in key)} FROM c JOIN d ON {same}
        ORDER BY c.source_row""")
    if rows:
        first = rows[0][1:]
        raise ReconciliationError(
            f"{table}: order line {' / '.join(str(v) for v in first)} is in the clean table "
            f"{len(rows)} times (source rows {', '.join(str(r[0]) for r in rows[:10])}): "
            f"a bug of the cleaning rules, please report it")


# --------------------------------------------------------------------------------------
# Over the clean transactions file
# --------------------------------------------------------------------------------------


def parquet_sql(path: str | Path) -> str:
    """``read_parquet('<path>')`` for a FROM clause."""
    return f"read_parquet('{sql_str(str(path))}')"


def _purchases(source: str) -> str:
    return f"SELECT * FROM {source} WHERE {purchase_sql(_ident('amount'), _ident('is_return'))}"


def monthly(con, path: str | Path) -> pd.DataFrame:
    """:func:`kit.stages.clean.monthly` of the clean transactions in the Parquet file
    ``path``: purchases per calendar month, ``orders`` (distinct order ids) and ``revenue``,
    every month from the first to the last (0 where there is none). The distinct order ids
    are a grouping (DuckDB spills it), not a ``count(DISTINCT ...)`` held in memory."""
    g = con.sql(f"""
        WITH p AS (SELECT CAST(date_trunc('month', order_date) AS DATE) AS m, order_id, amount
                   FROM ({_purchases(parquet_sql(path))})),
        o AS (SELECT m, count(*) AS orders FROM (SELECT DISTINCT m, order_id FROM p WHERE order_id IS NOT NULL)
              GROUP BY m),
        r AS (SELECT m, sum(amount) AS revenue FROM p GROUP BY m)
        SELECT r.m, coalesce(o.orders, 0) AS orders, r.revenue FROM r LEFT JOIN o USING (m) ORDER BY r.m""").df()
    index = pd.PeriodIndex(pd.to_datetime(g["m"]), freq="M")
    out = pd.DataFrame({"orders": g["orders"].to_numpy("int64"), "revenue": g["revenue"].to_numpy("float64")},
                       index=index)
    if len(out):
        out = out.reindex(pd.period_range(out.index.min(), out.index.max(), freq="M"), fill_value=0)
    out.index.name = "month"
    return out


def purchase_amounts(con, path: str | Path) -> pd.DataFrame:
    """The ``amount`` of every purchase in the clean transactions file (what
    :func:`kit.present.plots.clean.plot_amount_distribution` draws): one float column,
    8 bytes a purchase."""
    arrow = con.sql(f"SELECT amount FROM ({_purchases(parquet_sql(path))})").to_arrow_table()
    return pd.DataFrame({"amount": arrow.column("amount").to_numpy()})


def coverage(con, path: str | Path, cover: Callable[[pd.DataFrame], dict[str, Any]],
             master: pd.DataFrame | None) -> dict[str, Any]:
    """:func:`kit.stages.clean.coverage` with the clean transactions in the Parquet file
    ``path``: ``cover(tx)`` is the stage's function with the other tables bound; it is given
    one row per customer of the file (what its sets of ids need: customers, not orders,
    leave the engine), and the two figures that count order rows -- the rows and amount of
    the orders whose customer the master lacks -- are summed in SQL (the amount a float sum,
    as the stage's: equal to ~1e-12)."""
    tx = parquet_sql(path)
    ids = con.sql(f"SELECT DISTINCT customer_id FROM {tx}").to_arrow_table().column(0).to_pandas()
    out = cover(pd.DataFrame({"customer_id": ids.astype("str"), "amount": 0.0}))
    if master is not None and "orders_without_master" in out:
        con.register("cov_master", pd.DataFrame({"id": master["customer_id"].astype(object).to_numpy()}))
        try:
            rows, amount = con.sql(f"SELECT count(*), coalesce(sum(amount), 0.0) FROM {tx} "
                                   "WHERE customer_id NOT IN (SELECT id FROM cov_master)").fetchall()[0]
        finally:
            con.unregister("cov_master")
        out["orders_without_master"].update(rows=int(rows), amount=float(amount))
    return out
