"""The SQL pieces every per-customer table shares (:mod:`kit.stages.summary_sql`,
:mod:`kit.stages.features_sql`, the cleaning cascade of :mod:`kit.engines.duckdb_clean`):
what a purchase is, how money is summed, how a date is written. Valid in DuckDB and Spark SQL.
"""
from __future__ import annotations

import pandas as pd

#: :func:`kit.stages.features.purchase_mask` as an SQL predicate, valid in DuckDB and Spark SQL
#: alike; fill in the quoted column names with :func:`purchase_sql`.
PURCHASE_SQL = "CAST({amount} AS DOUBLE) > 0 AND NOT coalesce(CAST({is_return} AS BOOLEAN), false)"

#: The SQL type of summed money: exact decimals with 12 places (26 digits before the point).
#: Exact sums do not depend on the order in which threads add rows, and a difference of two
#: sums (all days' spend minus the first day's) loses no digit.
MONEY = "DECIMAL(38,12)"


def purchase_sql(amount: str | None, is_return: str | None) -> str:
    """:data:`PURCHASE_SQL` over the (already quoted) columns ``amount`` and ``is_return``.

    ``is_return`` None (the data have no such column): no row is a return. ``amount`` None
    (a summary without amounts): every row that is not a return counts.
    """
    return PURCHASE_SQL.format(amount=amount or "1", is_return=is_return or "NULL")


def date_sql(when: pd.Timestamp) -> str:
    """A date literal both dialects read."""
    return f"DATE '{pd.Timestamp(when):%Y-%m-%d}'"
