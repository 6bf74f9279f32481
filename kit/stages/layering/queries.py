"""What stage 02 asks of the clean transactions, and where it is answered.

:func:`kit.stages.layering.layer` reads the transactions through five questions, each
answered per customer: the business features as of a day, the totals of a trailing window,
the shares of the purchased amount per demand type (by category), the customers with an
overdue order, and the lifetimes summary. Nothing else of the transactions reaches the rules.

* :class:`InProcessQueries` answers them in process over a pandas frame (numpy: measured
  faster and leaner than an engine at the sizes one machine holds);
* :class:`kit.engines.queries.EngineQueries` has an engine (DuckDB, Spark on a cluster)
  answer them with the SQL texts of :mod:`kit.stages.features_sql`,
  :mod:`kit.stages.summary_sql` and this module; only the per-customer tables come back.

The two are held equal by ``tests/test_layering_queries.py`` (generated transactions, the
whole spine compared).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from kit.core.dialect import DUCKDB, Dialect
from kit.stages.features import (
    PreparedTransactions,
    business_features,
    months_back,
    prepare,
    purchase_mask,
    window_totals,
)
from kit.stages.features_sql import Columns, rows_cte
from kit.stages.layering.common import _keyword_hits
from kit.stages.layering.dimensions import votes_from_categories
from kit.stages.layering.dynamic import overdue_customers
from kit.stages.rules_sql import date_sql
from kit.stages.summary import customer_summary


#: The clean transactions' columns the layering reads (those the file has).
TRANSACTION_COLUMNS = ("customer_id", "order_id", "order_date", "amount", "is_return", "profit", "margin",
                       "category", "days_overdue", "payment_status")


class TransactionQueries(Protocol):
    """The per-customer questions of the layering (see the module)."""

    n_rows: int

    def features(self, as_of: pd.Timestamp, *, window_months: int, quarters: int) -> pd.DataFrame:
        """:func:`kit.stages.features.business_features` as of ``as_of``."""

    def window_totals(self, as_of: pd.Timestamp, months: int) -> pd.DataFrame:
        """:func:`kit.stages.features.window_totals` (``orders``, ``amount``)."""

    def category_votes(self, idx: pd.Index, as_of: pd.Timestamp,
                       demand_keywords: Mapping[str, Sequence[str]]) -> np.ndarray | None:
        """Per customer of ``idx`` and demand type, the share of the purchased amount whose
        category matches the type's keywords; None without categories."""

    def overdue(self, as_of: pd.Timestamp, *, overdue_days: float, window_months: int,
                overdue_statuses: Sequence[str]) -> pd.Index | None:
        """:func:`kit.stages.layering.dynamic.overdue_customers`."""

    def summary(self, as_of: pd.Timestamp, time_unit: str) -> pd.DataFrame:
        """The lifetimes summary of the purchases (:func:`kit.stages.summary.customer_summary`)."""


class InProcessQueries:
    """The answers computed in process from a frame of clean transactions (prepared once)."""

    def __init__(self, transactions: pd.DataFrame, prepared: PreparedTransactions | None = None):
        self.transactions = transactions
        self.prepared = prepared if prepared is not None else prepare(transactions)
        self.n_rows = len(transactions)

    def features(self, as_of, *, window_months, quarters):
        return business_features(self.prepared, as_of, window_months=window_months, quarters=quarters)

    def window_totals(self, as_of, months):
        return window_totals(self.prepared, as_of, months)

    def category_votes(self, idx, as_of, demand_keywords):
        return votes_from_categories(self.prepared, idx, as_of, demand_keywords)

    def overdue(self, as_of, *, overdue_days, window_months, overdue_statuses):
        return overdue_customers(self.transactions, as_of, overdue_days=overdue_days,
                                 window_months=window_months, overdue_statuses=overdue_statuses)

    def summary(self, as_of, time_unit):
        tx = self.transactions
        return customer_summary(tx[purchase_mask(tx).to_numpy()], as_of, time_unit=time_unit)


def queries_of(transactions: pd.DataFrame | TransactionQueries) -> TransactionQueries:
    """A frame answered in process; anything else (an engine's queries) as it is."""
    return InProcessQueries(transactions) if isinstance(transactions, pd.DataFrame) else transactions


def matching(values: Sequence[str], words: Sequence[str]) -> list[str]:
    """The ``values`` (a column's distinct texts) that contain one of ``words``, as the
    in-process rules match them (case-insensitive substrings): an engine filters on this list,
    so both read a keyword the same way."""
    s = pd.Series(list(values), dtype="str")
    return sorted(s[_keyword_hits(s, list(words)).to_numpy()].tolist())


def category_amounts_sql(table: str, as_of: pd.Timestamp, columns: Columns,
                         type_categories: Sequence[Sequence[str]], dialect: Dialect = DUCKDB) -> str:
    """Per customer with a categorised purchase on or before ``as_of``: ``total`` (the amount
    of those purchases) and ``t0, t1, ...`` (the amount whose category is one of
    ``type_categories[j]``), exact decimals cast to DOUBLE."""
    per_type = []
    for j, cats in enumerate(type_categories):
        cond = f"category IN ({', '.join(dialect.lit(c) for c in cats)})" if cats else "false"
        per_type.append(f"CAST(sum(CASE WHEN {cond} THEN amount ELSE 0 END) AS DOUBLE) AS t{j}")
    return f"""
WITH {rows_cte(table, as_of, columns, dialect)}
SELECT customer_id, CAST(sum(amount) AS DOUBLE) AS total{''.join(', ' + p for p in per_type)}
FROM src WHERE purchase AND category IS NOT NULL
GROUP BY customer_id ORDER BY customer_id
"""


def votes_from_amounts(amounts: pd.DataFrame, idx: pd.Index, n_types: int) -> np.ndarray:
    """The shares of :meth:`TransactionQueries.category_votes` from
    :func:`category_amounts_sql`'s table."""
    a = amounts.set_index(amounts["customer_id"].astype("str")).reindex(idx.astype("str"))
    total = a["total"].fillna(0.0).to_numpy(float)[:, None]
    per = np.column_stack([a[f"t{j}"].fillna(0.0).to_numpy(float) for j in range(n_types)]) if n_types \
        else np.zeros((len(idx), 0))
    return np.divide(per, total, out=np.zeros_like(per), where=total > 0)


def overdue_sql(table: str, as_of: pd.Timestamp, *, window_months: int, overdue_days: float | None,
                statuses: Sequence[str] | None, dialect: Dialect = DUCKDB) -> str:
    """The customers of :func:`kit.stages.layering.dynamic.overdue_customers`: an order of the
    trailing window more than ``overdue_days`` overdue (None: no ``days_overdue`` column) or
    with a ``payment_status`` among ``statuses`` (None: no such column)."""
    q = dialect.ident
    day = f"CAST({q('order_date')} AS DATE)"
    flags = []
    if overdue_days is not None:
        flags.append(f"TRY_CAST({q('days_overdue')} AS DOUBLE) > CAST({float(overdue_days)!r} AS DOUBLE)")
    if statuses:
        flags.append(f"CAST({q('payment_status')} AS STRING) IN ({', '.join(dialect.lit(s) for s in statuses)})")
    flag = " OR ".join(f"({f})" for f in flags) or "false"
    return f"""
SELECT DISTINCT CAST({q('customer_id')} AS STRING) AS customer_id FROM {table}
WHERE {day} > {date_sql(months_back(as_of, window_months))} AND {day} <= {date_sql(as_of)} AND ({flag})
ORDER BY customer_id
"""
