"""The customer summary as SQL, written once for DuckDB and Spark SQL.

:func:`summary_sql` is the one SQL text of :func:`kit.stages.summary.customer_summary`
(day resolution, lifetimes' conventions) that both engines run
(:func:`kit.engines.duckdb_engine.summary_duckdb`, :func:`kit.engines.spark_engine.summary_spark`).
The two dialects differ in three things only, named in :class:`kit.engines.dialect.Dialect`: how an
identifier is quoted, and the day count between two dates (``date_diff('day', a, b)`` in
DuckDB, ``datediff(b, a)`` in Spark). Everything else -- ``CAST(... AS STRING / DOUBLE /
DATE)``, ``DATE 'yyyy-mm-dd'``, window functions, ``coalesce`` -- is written in the part of
SQL both accept. (sqlglot could transpile one dialect into the other, but it would be a new
dependency for these two differences; a named, tested function is smaller.)

Data shape: ``customer_id, order_date, amount [, is_return]`` -> ``customer_id`` (index,
sorted) ``-> frequency, recency, T, monetary_value`` (float).
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from kit.engines.dialect import DUCKDB, Dialect
from kit.stages.features import purchase_sql
from kit.stages.summary import SUMMARY_COLUMNS, _empty_summary


def summary_sql(
    table: str,
    as_of: pd.Timestamp | None,
    unit_days: float,
    *,
    dialect: Dialect = DUCKDB,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str | None = "amount",
    purchase_filter: str | None = None,
) -> str:
    """The SQL of the customer summary over the table or view ``table``.

    Steps, as :func:`kit.stages.summary.customer_summary`: dates floored to the day; rows
    after ``as_of`` dropped (``as_of`` None: the latest day); one purchase per customer and
    day with the day's summed amount; then per customer the count of repeat days, the days
    from the first to the last and to ``as_of`` divided by ``unit_days``, and the mean
    amount of the repeat days. ``purchase_filter`` (e.g. :func:`purchase_filter`) keeps
    only the rows it holds for.
    """
    q = dialect.ident
    amt = q(amount_col) if amount_col else "0"
    where = f"\n    WHERE {purchase_filter}" if purchase_filter else ""
    end = f"DATE '{as_of:%Y-%m-%d}'" if as_of is not None else "(SELECT max(day) FROM days)"
    unit = f"CAST({unit_days!r} AS DOUBLE)"  # a bare 7.0 is a DECIMAL literal in both dialects
    zero = "CAST(0 AS DOUBLE)"
    money = (f",\n       CASE WHEN count(*) > 1 THEN sum(CASE WHEN day > first_day THEN amount ELSE {zero} END)"
             f" / (count(*) - 1) ELSE {zero} END AS monetary_value") if amount_col else ""
    return f"""
WITH src AS (
    SELECT CAST({q(customer_col)} AS STRING) AS customer_id, CAST({q(date_col)} AS DATE) AS day,
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
       CAST({dialect.days_between('min(day)', 'max(day)')} AS DOUBLE) / {unit} AS recency,
       CAST({dialect.days_between('min(day)', end)} AS DOUBLE) / {unit} AS {q('T')}{money}
FROM kept
GROUP BY customer_id
ORDER BY customer_id
"""


def purchase_filter(columns: Sequence[str], amount_col: str | None, dialect: Dialect) -> str:
    """:data:`kit.stages.features.PURCHASE_SQL` over these columns (``is_return`` when present)."""
    return purchase_sql(dialect.ident(amount_col) if amount_col else None,
                        dialect.ident("is_return") if "is_return" in columns else None)


def needed_columns(columns: Sequence[str], customer_col: str, date_col: str, amount_col: str | None) -> list[str]:
    """The summary's input columns; raises ``ValueError`` naming those ``columns`` lack."""
    needed = [c for c in (customer_col, date_col, amount_col) if c is not None]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(map(repr, missing))} missing from transactions; "
                         f"columns present: {', '.join(columns)}")
    return needed


def check_no_nulls(counts: Sequence[int], needed: Sequence[str]) -> None:
    """Raise ``ValueError`` when a needed column has missing values (a summary drops no row)."""
    for n, c in zip(counts, needed):
        if n:
            raise ValueError(f"{n} transaction(s) have no {c!r}; clean the data first "
                             "(kit.stages.clean quarantines such rows with a reason)")


def summary_frame(out: pd.DataFrame, with_amount: bool) -> pd.DataFrame:
    """The engine's result as :func:`customer_summary` gives it: index ``customer_id``
    (str, sorted), float columns ``frequency, recency, T [, monetary_value]``."""
    if out.empty:
        return _empty_summary(with_amount)
    out = out.copy()
    out["customer_id"] = out["customer_id"].astype("str")
    out = out.set_index("customer_id")
    cols = SUMMARY_COLUMNS if with_amount else SUMMARY_COLUMNS[:3]
    return out[cols].astype("float64")
