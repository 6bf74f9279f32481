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


#: A customer's repeat spend is taken as (all days' spend - the first day's) unless the two
#: are within this share of each other, where the subtraction could lose digits beyond
#: 1e-10 relative; such customers' repeat days are summed apart (:func:`repeat_spend_sql`).
CANCELLATION_SHARE = 1e-6

#: The flag column of :func:`summary_sql` (dropped by :func:`summary_frame`).
RISKY = "repeat_risky"


def _days_cte(table: str, as_of, dialect: Dialect, customer_col: str, date_col: str, amount_col: str | None,
              purchase_filter: str | None) -> tuple[str, str]:
    """``src`` (id, day, amount of each row kept) and ``days`` (one purchase per customer
    and day up to the end, the day's amounts summed); and the end as SQL."""
    q = dialect.ident
    amt = q(amount_col) if amount_col else "0"
    where = f"\n    WHERE {purchase_filter}" if purchase_filter else ""
    end = f"DATE '{as_of:%Y-%m-%d}'" if as_of is not None else "(SELECT max(day) FROM src)"
    return f"""src AS (
    SELECT CAST({q(customer_col)} AS STRING) AS customer_id, CAST({q(date_col)} AS DATE) AS day,
           CAST({amt} AS DOUBLE) AS amount
    FROM {table}{where}
), days AS (
    SELECT customer_id, day, sum(amount) AS amount FROM src WHERE day <= {end} GROUP BY customer_id, day
)""", end


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

    Two aggregations and no window: the repeat days' spend is all days' spend minus the
    first day's (``min_by``), which a hash aggregation computes in one pass and DuckDB
    spills beyond its memory limit. Where that subtraction could cancel digits the column
    ``repeat_risky`` is true, and :func:`exact_repeat_spend` sums those customers' repeat
    days apart (:func:`repeat_spend_sql`).
    """
    q = dialect.ident
    days, end = _days_cte(table, as_of, dialect, customer_col, date_col, amount_col, purchase_filter)
    unit = f"CAST({unit_days!r} AS DOUBLE)"  # a bare 7.0 is a DECIMAL literal in both dialects
    zero = "CAST(0 AS DOUBLE)"
    spend = (", sum(amount) AS total, min_by(amount, day) AS first_amount" if amount_col else "")
    money = (f",\n       CASE WHEN n > 1 THEN (total - first_amount) / (n - 1) ELSE {zero} END AS monetary_value,"
             f"\n       n > 1 AND abs(total - first_amount) < {CANCELLATION_SHARE!r} * (abs(total) + abs(first_amount))"
             f" AS {RISKY}") if amount_col else ""
    return f"""
WITH {days}, per AS (
    SELECT customer_id, count(*) AS n, min(day) AS first_day, max(day) AS last_day{spend}
    FROM days GROUP BY customer_id
)
SELECT customer_id,
       CAST(n - 1 AS DOUBLE) AS frequency,
       CAST({dialect.days_between('first_day', 'last_day')} AS DOUBLE) / {unit} AS recency,
       CAST({dialect.days_between('first_day', end)} AS DOUBLE) / {unit} AS {q('T')}{money}
FROM per
ORDER BY customer_id
"""


def repeat_spend_sql(table: str, customers: str, as_of: pd.Timestamp | None, *, dialect: Dialect = DUCKDB,
                     customer_col: str = "customer_id", date_col: str = "order_date", amount_col: str = "amount",
                     purchase_filter: str | None = None) -> str:
    """SQL of ``customer_id, repeat_total``: the summed spend of the repeat days (every day
    after the first) of the customers listed in the table or view ``customers`` (column
    ``customer_id``), over the rows :func:`summary_sql` reads."""
    days, _ = _days_cte(table, as_of, dialect, customer_col, date_col, amount_col, purchase_filter)
    return f"""
WITH {days}, picked AS (
    SELECT d.customer_id, d.day, d.amount FROM days AS d JOIN {customers} AS c ON d.customer_id = c.customer_id
), firsts AS (
    SELECT customer_id, min(day) AS first_day FROM picked GROUP BY customer_id
)
SELECT p.customer_id, sum(p.amount) AS repeat_total
FROM picked AS p JOIN firsts AS f ON p.customer_id = f.customer_id
WHERE p.day > f.first_day
GROUP BY p.customer_id
"""


def exact_repeat_spend(out: pd.DataFrame, repeat_totals) -> pd.DataFrame:
    """``out`` (a :func:`summary_sql` result) with the ``monetary_value`` of the customers
    flagged ``repeat_risky`` recomputed from their repeat days' spend: ``repeat_totals(ids)``
    runs :func:`repeat_spend_sql` for those ids and returns ``customer_id, repeat_total``.
    Nothing is run when no customer is flagged (the usual case)."""
    if RISKY not in out.columns:
        return out
    risky = out[RISKY].fillna(False).to_numpy(bool)
    if not risky.any():
        return out
    ids = out.loc[risky, "customer_id"].astype("str")
    totals = repeat_totals(pd.DataFrame({"customer_id": ids.to_numpy(object)}))
    by_id = pd.Series(totals["repeat_total"].to_numpy("float64"), index=totals["customer_id"].astype("str"))
    out = out.copy()
    out.loc[risky, "monetary_value"] = ids.map(by_id).to_numpy("float64") / out.loc[risky, "frequency"].to_numpy()
    return out


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
