"""What the CLV stage asks of the clean transactions, and where it is answered.

The models read no transactions, only per-customer and per-day tables computed from the rows
:func:`kit.stages.clv.assess.transaction_mask` keeps: the first purchase date (where the
holdout split can start), the lifetimes summary as of a day, the calibration / holdout
summary and the purchase counts per day behind the tracking curve. :class:`InProcessPurchases`
computes them over a pandas frame (DuckDB over the frame, as :mod:`kit.stages.summary`
does); :class:`kit.engines.queries.EnginePurchases` has an engine (DuckDB over a file, Spark
on a cluster) run the same SQL texts (:mod:`kit.stages.summary_sql`) with
:func:`transaction_sql` as the filter, and only those tables come back.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pandas as pd

from kit.stages.rules_sql import purchase_sql
from kit.stages.summary import calibration_holdout, customer_summary, purchase_counts


class PurchaseQueries(Protocol):
    """The CLV stage's questions (see the module); canonical columns, daily periods."""

    n_rows: int

    def first_date(self) -> pd.Timestamp:
        """The earliest order date kept (NaT without rows)."""

    def summary(self, as_of: pd.Timestamp, time_unit: str) -> pd.DataFrame:
        """:func:`kit.stages.summary.customer_summary` with ``positive_spend``."""

    def calibration_holdout(self, calibration_end: pd.Timestamp, observation_end: pd.Timestamp,
                            time_unit: str) -> pd.DataFrame:
        """:func:`kit.stages.summary.calibration_holdout` without amounts."""

    def purchase_counts(self, end: pd.Timestamp) -> pd.DataFrame:
        """:func:`kit.stages.summary.purchase_counts`."""

    def rows_of(self, customer_ids: Sequence[str]) -> pd.DataFrame:
        """``customer_id, order_date`` of the kept rows of a few customers (a chart's)."""


class InProcessPurchases:
    """The answers over ``purchases``, the frame of the rows the models count."""

    def __init__(self, purchases: pd.DataFrame):
        self.purchases = purchases
        self.n_rows = len(purchases)

    def first_date(self):
        return self.purchases["order_date"].min() if len(self.purchases) else pd.NaT

    def summary(self, as_of, time_unit):
        return customer_summary(self.purchases, as_of, time_unit=time_unit, positive_spend=True)

    def calibration_holdout(self, calibration_end, observation_end, time_unit):
        return calibration_holdout(self.purchases, calibration_end, observation_end, amount_col=None,
                                   time_unit=time_unit)

    def purchase_counts(self, end):
        return purchase_counts(self.purchases, end)

    def rows_of(self, customer_ids):
        p = self.purchases
        ids = p["customer_id"].astype("str")
        keep = ids.isin([str(c) for c in customer_ids]).to_numpy()
        return pd.DataFrame({"customer_id": ids[keep].to_numpy(), "order_date": p["order_date"].to_numpy()[keep]})


def transaction_sql(amount: str, is_return: str | None) -> str:
    """:func:`kit.stages.clv.assess.transaction_mask` as an SQL predicate over the (quoted)
    columns: a purchase, or an amount of 0 that is not a return."""
    not_return = f"NOT coalesce(CAST({is_return} AS BOOLEAN), false)" if is_return else "true"
    return f"(({purchase_sql(amount, is_return)}) OR (CAST({amount} AS DOUBLE) = 0 AND {not_return}))"
