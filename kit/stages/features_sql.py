"""The business features as SQL: the one definition of the per-customer figures beside the
lifetimes summary (:mod:`kit.stages.features` states what each column means).

Every feature is one SQL text that the engines run: DuckDB over a file or frame
(:func:`kit.engines.duckdb_engine.features_duckdb`, out of core) and Spark on a cluster
(:func:`kit.engines.spark_engine.features_spark`); the dialects differ only in what
:class:`kit.core.dialect.Dialect` names. In process the stage keeps its numpy form
(:func:`kit.stages.features.business_features`: measured faster and leaner there), held
equal to this text by a property test (``tests/test_features_sql.py``). Amounts and profits are summed
as ``DECIMAL(38,12)``: exact, so the same bytes on any number of threads, and two customers
with the same purchases get the same figure (a RFM quantile cut cannot fall between them).

Input columns: ``customer_id, order_date, amount`` and, where the data have them,
``order_id, is_return, profit, margin, category``; and ``row_id``, a number per row (what
tells apart the lines without an order id: each is an order of its own).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from kit.core.dialect import DUCKDB, Dialect
from kit.stages.features import months_back, quarter_edges
from kit.stages.rules_sql import MONEY, date_sql, purchase_sql


@dataclass(frozen=True)
class Columns:
    """Which optional columns the transactions have (the SQL reads only those)."""

    order_id: bool = False
    is_return: bool = False
    profit: bool = False
    margin: bool = False
    category: bool = False

    @classmethod
    def of(cls, names: Sequence[str]) -> "Columns":
        present = set(names)
        return cls(**{f: f in present for f in ("order_id", "is_return", "profit", "margin", "category")})


def rows_cte(table: str, as_of: pd.Timestamp, cols: Columns, dialect: Dialect) -> str:
    """``src``: the rows dated on or before ``as_of``, one typed column per rule input."""
    q = dialect.ident
    purchase = purchase_sql(q("amount"), q("is_return") if cols.is_return else None)
    order = f"CAST({q('order_id')} AS STRING)" if cols.order_id else "CAST(NULL AS STRING)"
    row_id = q("row_id")
    amount = f"CAST({q('amount')} AS DOUBLE)"
    parts = ([f"CAST({q('profit')} AS DOUBLE)"] if cols.profit else []) + (
        [f"CAST({q('margin')} AS DOUBLE) * {amount}"] if cols.margin else [])
    profit = (f"CAST({parts[0] if len(parts) == 1 else 'coalesce(' + ', '.join(parts) + ')'} AS {MONEY})"
              if parts else f"CAST(NULL AS {MONEY})")
    category = f"CAST({q('category')} AS STRING)" if cols.category else "CAST(NULL AS STRING)"
    return f"""src AS (
    SELECT CAST({q('customer_id')} AS STRING) AS customer_id, {order} AS order_id, {row_id} AS row_id,
           CAST({q('order_date')} AS DATE) AS day, CAST({amount} AS {MONEY}) AS amount,
           coalesce({purchase}, false) AS purchase, {profit} AS profit, {category} AS category
    FROM {table}
    WHERE CAST({q('order_date')} AS DATE) <= {date_sql(as_of)}
), orders AS (
    SELECT customer_id, min(day) AS day FROM src WHERE purchase
    GROUP BY customer_id, order_id, CASE WHEN order_id IS NULL THEN row_id END
)"""


def _between(lo: pd.Timestamp | None, hi: pd.Timestamp) -> str:
    """``day`` in (lo, hi] (lo None: up to hi)."""
    return f"day <= {date_sql(hi)}" if lo is None else f"day > {date_sql(lo)} AND day <= {date_sql(hi)}"


def features_sql(
    table: str,
    as_of: pd.Timestamp | str,
    columns: Columns,
    *,
    window_months: int = 12,
    quarters: int = 4,
    dialect: Dialect = DUCKDB,
) -> str:
    """SQL of :func:`kit.stages.features.business_features` as of ``as_of``, with its windows
    (:func:`kit.stages.features.months_back`, :func:`kit.stages.features.quarter_edges`): the
    trailing window (``as_of`` - ``window_months``, ``as_of``], the one before it, and
    ``quarters`` quarters. One row per customer with a purchase on or before ``as_of``, sorted
    by id; dates as DATE, money as DOUBLE (NULL: no profit known), counts as BIGINT."""
    as_of = pd.Timestamp(as_of).normalize()
    window_start, window_before_start = months_back(as_of, window_months), months_back(as_of, 2 * window_months)
    edges = quarter_edges(as_of, quarters)
    days = dialect.days_between
    order_q = ", ".join(f"count(CASE WHEN {_between(edges[k], edges[k - 1])} THEN 1 END) AS orders_q{k}"
                        for k in range(1, quarters + 1))
    amount_q = ", ".join(f"sum(CASE WHEN {_between(edges[k], edges[k - 1])} THEN amount ELSE 0 END) AS amount_q{k}"
                         for k in range(1, quarters + 1))
    money_q = ", ".join(f"CAST(r.amount_q{k} AS DOUBLE) AS amount_q{k}" for k in range(1, quarters + 1))
    count_q = ", ".join(f"o.orders_q{k}" for k in range(1, quarters + 1))
    end, start_w = date_sql(as_of), date_sql(window_start)
    if columns.category:
        categories = f""", pairs AS (
    SELECT customer_id, category, min(day) AS first_day FROM src
    WHERE purchase AND category IS NOT NULL GROUP BY customer_id, category
), per_category AS (
    SELECT customer_id, count(*) AS n_categories, count(CASE WHEN first_day > {date_sql(edges[1])} THEN 1 END) AS n_new
    FROM pairs GROUP BY customer_id
)"""
        category_cols = ("CAST(coalesce(c.n_categories, 0) AS DOUBLE) AS n_categories,\n"
                         f"       coalesce(c.n_new, 0) > 0 AND o.first_day <= {date_sql(edges[1])} AS new_category_last_q")
        category_join = "\nLEFT JOIN per_category AS c ON c.customer_id = o.customer_id"
    else:
        categories, category_join = "", ""
        category_cols = "CAST(NULL AS DOUBLE) AS n_categories, false AS new_category_last_q"
    return f"""
WITH {rows_cte(table, as_of, columns, dialect)}, per_order AS (
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day, count(*) AS orders_total,
           count(CASE WHEN day > {start_w} THEN 1 END) AS orders_12m, {order_q}
    FROM orders GROUP BY customer_id
), per_row AS (
    SELECT customer_id, sum(amount) AS revenue_total,
           sum(CASE WHEN day > {start_w} THEN amount ELSE 0 END) AS amount_12m, {amount_q},
           sum(CASE WHEN {_between(window_before_start, window_start)} THEN amount ELSE 0 END) AS amount_13_24m,
           sum(profit) AS profit_total, sum(CASE WHEN day > {start_w} THEN profit END) AS profit_12m
    FROM src GROUP BY customer_id
){categories}
SELECT o.customer_id, o.first_day AS first_purchase, o.last_day AS last_purchase,
       {days('o.last_day', end)} AS days_since_last,
       o.orders_total, CAST(r.revenue_total AS DOUBLE) AS revenue_total,
       o.orders_12m, CAST(r.amount_12m AS DOUBLE) AS amount_12m, {money_q}, {count_q},
       CAST(r.amount_13_24m AS DOUBLE) AS amount_13_24m,
       CAST(r.profit_total AS DOUBLE) AS profit_total, CAST(r.profit_12m AS DOUBLE) AS profit_12m,
       {category_cols},
       {days('o.first_day', end)} AS tenure_days
FROM per_order AS o JOIN per_row AS r ON r.customer_id = o.customer_id{category_join}
ORDER BY o.customer_id
"""
