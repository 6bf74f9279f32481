"""What stage 03 asks of the clean transactions when an engine holds them.

Over a pandas frame the tags and the clustering read the purchases directly
(:mod:`kit.stages.personas.tags`, :mod:`kit.stages.personas.clusters`). When DuckDB over a
file or Spark on a cluster holds them, :class:`PersonaQueries` is what the stage asks
instead, and :class:`kit.engines.queries.EnginePersonas` answers with the SQL texts below;
only per-customer tables come back (a customer's top categories are at most
``top_categories`` rows). The rules applied to the answers (the channel share that makes a
preference, the order of the categories joined) stay in the stage, one copy for both paths.

The definitions are those of the frame path: purchases (:data:`kit.stages.rules_sql.PURCHASE_SQL`)
with ``order_date <= as_of`` (a timestamp at midnight); orders counted as distinct order ids
when every row of the subset counted has one, else as rows (:func:`kit.stages.personas.tags.order_counts`,
decided by the engine from a count, :func:`orders_sql`); channel and category texts cleaned
as ``clean_text`` does (stripped, empty = missing), in Python on the column's distinct
values, which the engine then reads through a mapping table; amounts summed exactly.
"""
from __future__ import annotations

from typing import Protocol

import pandas as pd

from kit.core.dialect import DUCKDB, Dialect
from kit.stages.rules_sql import MONEY, date_sql, purchase_sql


class PersonaQueries(Protocol):
    """The per-customer answers the persona stage needs (see the module)."""

    n_rows: int
    names: list[str]

    def recent_orders(self, as_of: pd.Timestamp, days: int) -> pd.DataFrame:
        """``customer_id, n``: orders after ``as_of - days``."""

    def top_channel(self, as_of: pd.Timestamp) -> pd.DataFrame | None:
        """``customer_id, channel, n, total``: the channel with most orders (ties: first
        by text) and its and all channels' order counts; None without channel values."""

    def top_categories(self, as_of: pd.Timestamp, n: int) -> pd.DataFrame | None:
        """``customer_id, rank, category, n_categories``: the ``n`` categories with the
        largest purchased amount (ties: first by text), ranked from 0; None without values."""

    def derived(self, as_of: pd.Timestamp) -> pd.DataFrame:
        """:func:`kit.stages.personas.clusters._derived_features`."""


def ts_sql(when: pd.Timestamp) -> str:
    """A timestamp literal both dialects read (zone-less)."""
    return f"TIMESTAMP '{pd.Timestamp(when):%Y-%m-%d %H:%M:%S}'"


def purchases_cte(table: str, as_of: pd.Timestamp, names: list[str], dialect: Dialect = DUCKDB,
                  cleaned: dict[str, str] | None = None) -> str:
    """``p``: the purchases up to ``as_of`` with typed columns; ``cleaned`` maps ``channel``
    / ``category`` to the mapping table (``raw, clean``) that cleans its texts."""
    q = dialect.ident
    cleaned = cleaned or {}
    is_return = q("is_return") if "is_return" in names else None
    cols = [f"CAST(t.{q('customer_id')} AS STRING) AS customer_id",
            f"CAST(t.{q('order_id')} AS STRING) AS order_id" if "order_id" in names else "CAST(NULL AS STRING) AS order_id",
            f"t.{q('order_date')} AS order_date", f"CAST(t.{q('amount')} AS {MONEY}) AS amount"]
    joins = []
    for col in ("channel", "category"):
        if col not in names:
            cols.append(f"CAST(NULL AS STRING) AS {col}, CAST(NULL AS STRING) AS {col}_raw")
        elif col in cleaned:
            cols.append(f"m_{col}.clean AS {col}, CAST(t.{q(col)} AS STRING) AS {col}_raw")
            joins.append(f"LEFT JOIN {cleaned[col]} AS m_{col} ON m_{col}.raw = CAST(t.{q(col)} AS STRING)")
        else:
            cols.append(f"CAST(NULL AS STRING) AS {col}, CAST(t.{q(col)} AS STRING) AS {col}_raw")
    purchase = purchase_sql(f"t.{q('amount')}", f"t.{is_return}" if is_return else None)
    return f"""p AS (
    SELECT {', '.join(cols)}
    FROM {table} AS t {' '.join(joins)}
    WHERE t.{q('order_date')} <= {ts_sql(as_of)} AND {purchase}
)"""


def orders_sql(all_ids: bool) -> str:
    """Orders of a group: distinct ids when every row of the subset has one, else rows."""
    return "count(DISTINCT order_id)" if all_ids else "count(*)"


def recent_orders_sql(cte: str, as_of: pd.Timestamp, days: int, all_ids: bool) -> str:
    return f"""
WITH {cte}
SELECT customer_id, {orders_sql(all_ids)} AS n FROM p
WHERE order_date > {ts_sql(as_of - pd.Timedelta(days=days))}
GROUP BY customer_id ORDER BY customer_id
"""


def top_channel_sql(cte: str, all_ids: bool) -> str:
    return f"""
WITH {cte}, per AS (
    SELECT customer_id, channel, {orders_sql(all_ids)} AS n FROM p WHERE channel IS NOT NULL
    GROUP BY customer_id, channel
), ranked AS (
    SELECT customer_id, channel, n, sum(n) OVER (PARTITION BY customer_id) AS total,
           row_number() OVER (PARTITION BY customer_id ORDER BY n DESC, channel) AS k
    FROM per
)
SELECT customer_id, channel, n, total FROM ranked WHERE k = 1 ORDER BY customer_id
"""


def top_categories_sql(cte: str, n: int) -> str:
    return f"""
WITH {cte}, per AS (
    SELECT customer_id, category, sum(amount) AS amount FROM p WHERE category IS NOT NULL
    GROUP BY customer_id, category
), ranked AS (
    SELECT customer_id, category, count(*) OVER (PARTITION BY customer_id) AS n_categories,
           row_number() OVER (PARTITION BY customer_id ORDER BY amount DESC, category) - 1 AS rank
    FROM per
)
SELECT customer_id, rank, category, n_categories FROM ranked WHERE rank < {int(n)}
ORDER BY customer_id, rank
"""


def _floor_days(as_of: pd.Timestamp, ts: str, dialect: Dialect) -> str:
    """Whole days from the timestamp ``ts`` (on or before ``as_of``, a midnight) to ``as_of``,
    rounded down as pandas' ``Timedelta.days``: a time of day takes one day off."""
    day = f"CAST({ts} AS DATE)"
    return (f"({dialect.days_between(day, date_sql(as_of))}"
            f" - CASE WHEN CAST({day} AS TIMESTAMP) < {ts} THEN 1 ELSE 0 END)")


def derived_sql(cte: str, as_of: pd.Timestamp, *, all_ids: bool, channel_ids: bool | None,
                category: bool, dialect: Dialect = DUCKDB) -> str:
    """Per customer: ``orders_total, revenue_total, days_since_last, tenure_days`` and, when
    the purchases have such values, ``n_categories`` (distinct raw texts) and
    ``channel_concentration`` (share of the orders in the top raw channel; ``channel_ids``
    the order-id rule over the rows with a channel, None: no channel values)."""
    cats = ", count(DISTINCT category_raw) AS n_categories" if category else ""
    conc, join = "", ""
    if channel_ids is not None:
        conc = ", CAST(c.top AS DOUBLE) / CAST(c.total AS DOUBLE) AS channel_concentration"
        join = f""" LEFT JOIN (
    SELECT customer_id, max(n) AS top, sum(n) AS total FROM (
        SELECT customer_id, channel_raw, {orders_sql(channel_ids)} AS n FROM p WHERE channel_raw IS NOT NULL
        GROUP BY customer_id, channel_raw
    ) AS per GROUP BY customer_id
) AS c ON c.customer_id = g.customer_id"""
    return f"""
WITH {cte}, g AS (
    SELECT customer_id, {orders_sql(all_ids)} AS orders_total, CAST(sum(amount) AS DOUBLE) AS revenue_total,
           {_floor_days(as_of, 'max(order_date)', dialect)} AS days_since_last,
           {_floor_days(as_of, 'min(order_date)', dialect)} AS tenure_days{cats}
    FROM p GROUP BY customer_id
)
SELECT g.*{conc} FROM g{join}
ORDER BY g.customer_id
"""
