"""Business features per customer: the plain-language numbers beside the lifetimes summary.

Transforms clean transactions (``docs/ARCHITECTURE.md``: ``customer_id, order_id, order_date,
amount [, profit, margin, category, is_return, ...]``, one row per order line) into one row
per customer with the figures an account team reads: first and last purchase, days since
the last one, orders and amount in the trailing year and in each of the last quarters,
average order value, profit, category breadth and tenure.

Definitions (the same everywhere in the kit)
--------------------------------------------
* Only transactions dated on or before ``as_of`` count; dates are taken to the day, and
  ``as_of`` is inclusive (an order at 15:00 on ``as_of`` belongs to the period).
* A **purchase** is a row that is not a return (``~is_return`` when the column exists) with
  a positive amount (an order netted to zero by its refund is not a purchase):
  :func:`purchase_mask`, and :data:`PURCHASE_SQL` for the SQL engines -- the one
  definition every stage and engine uses. Orders are distinct ``order_id`` values of a customer's purchases (each
  purchase row when there is no ``order_id``); an order's date is the earliest date of its
  lines.
* **Amounts** (``revenue_total``, ``amount_12m``, ``amount_q*``) are net: every row counts,
  return rows (negative amounts, ``refunds: keep``) on their own date.
* **Windows** end at ``as_of`` and step back in calendar months: ``amount_12m`` covers
  (as_of - window_months, as_of]; quarter ``k`` (``amount_q1`` .. ``amount_qN``) covers
  (as_of - 3k months, as_of - 3(k-1) months], so ``q1`` is the quarter ending at ``as_of``.
  When ``as_of`` is a month end, every boundary is a month end (2026-06-30 minus 3 months is
  2026-03-31, not 03-30), so the quarters of a quarter-end ``as_of`` are calendar quarters.
* A customer appears when it has at least one purchase on or before ``as_of``.

* **Profit** is ``profit`` where a row gives it, else ``margin x amount``.

How: every rule above is one SQL text (:mod:`kit.stages.features_sql`) that DuckDB runs in
process over the frame (:func:`prepare` checks and types it once and registers it, so the
features as of this period and the previous one read it without a copy) and Spark runs on a
cluster (:func:`kit.engines.spark_engine.features_spark`). Amounts and profits are summed
exactly (decimals). 2.8 million order lines of a million customers: about a second a date.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from kit.core.checks import validate_cols as _validate_cols
from kit.stages.features_sql import Columns, category_amounts_sql, features_sql, window_totals_sql
from kit.stages.rules_sql import PURCHASE_SQL, purchase_sql  # noqa: F401 - the purchase rule's SQL form, named here

#: Mean Gregorian month in days (365.25 / 12), as ``kit.core.periods.months_between`` uses.
DAYS_PER_MONTH = 30.4375

#: Columns of :func:`business_features` for ``quarters=4`` (more quarters add more columns).
FEATURE_COLUMNS = [
    "first_purchase", "last_purchase", "days_since_last", "months_since_last",
    "orders_total", "revenue_total", "orders_12m", "amount_12m",
    "amount_q1", "amount_q2", "amount_q3", "amount_q4",
    "orders_q1", "orders_q2", "orders_q3", "orders_q4",
    "amount_13_24m", "avg_order_value", "profit_total", "profit_12m",
    "n_categories", "new_category_last_q", "tenure_days",
]



def months_back(as_of: pd.Timestamp | str, months: int) -> pd.Timestamp:
    """``as_of`` minus ``months`` calendar months, month-end aware.

    A month-end ``as_of`` maps to the month end ``months`` earlier (2026-06-30 -> 2026-03-31
    for 3 months), any other day to the same day of that month (clamped).
    """
    ts = pd.Timestamp(as_of).normalize()
    if ts.is_month_end:
        return (ts.to_period("M") - months).end_time.normalize()
    return ts - pd.DateOffset(months=months)


def quarter_edges(as_of: pd.Timestamp | str, quarters: int = 4) -> list[pd.Timestamp]:
    """Boundaries ``[as_of, as_of - 3 months, ..., as_of - 3*quarters months]``; quarter ``k``
    is (edges[k], edges[k-1]]."""
    return [months_back(as_of, 3 * k) for k in range(quarters + 1)]


def purchase_mask(transactions: pd.DataFrame) -> pd.Series:
    """Rows that are purchases: not a return, amount > 0.

    The one definition of a purchase in the kit; :data:`PURCHASE_SQL` is the same rule for
    the SQL engines (a missing amount is no purchase, a missing ``is_return`` is not a return).
    """
    mask = pd.to_numeric(transactions["amount"]).astype(float) > 0
    if "is_return" in transactions.columns:
        mask &= ~transactions["is_return"].fillna(False).astype(bool)
    return mask


@dataclass(frozen=True)
class PreparedTransactions:
    """Transactions checked and typed once, registered with an in-process DuckDB connection
    (see :func:`prepare`), so that features as of several dates read them without copying.

    Attributes
    ----------
    frame : DataFrame
        ``customer_id`` (text), ``order_date`` (naive timestamps: a time zone's local time),
        ``amount`` (float) and the optional columns the rules read (``order_id``,
        ``is_return``, ``profit``, ``margin``, ``category``) and ``row_id`` (0, 1, ...).
    columns : Columns
        Which optional columns are present.
    """

    frame: pd.DataFrame
    columns: Columns
    con: duckdb.DuckDBPyConnection

    VIEW = "kit_transactions"

    def query(self, sql_of: Callable[[str], str]) -> pd.DataFrame:
        """``sql_of(view)`` run over the transactions, as pandas."""
        return self.con.sql(sql_of(self.VIEW)).to_arrow_table().to_pandas()


def prepare(transactions: pd.DataFrame | PreparedTransactions) -> PreparedTransactions:
    """Check and type clean transactions once for repeated feature computation.

    ``customer_id, order_date, amount [, order_id, profit, margin, category, is_return]``
    -> :class:`PreparedTransactions`. Missing ids or dates raise ``ValueError`` (the cleaning
    stage quarantines such rows; nothing is dropped here).
    """
    if isinstance(transactions, PreparedTransactions):
        return transactions
    _validate_cols(transactions, ["customer_id", "order_date", "amount"])
    tx = transactions
    if tx["customer_id"].isna().any() or tx["order_date"].isna().any():
        raise ValueError(
            "transactions have missing customer_id or order_date; clean the data first "
            "(kit.stages.clean quarantines such rows with a reason)"
        )
    ids = tx["customer_id"]
    if not pd.api.types.is_string_dtype(ids.dtype) or isinstance(ids.dtype, pd.CategoricalDtype):
        ids = ids.astype("str")  # a categorical would become a (slow) DuckDB ENUM
    dates = pd.to_datetime(tx["order_date"])
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)  # local wall-clock dates
    cols = Columns.of(tx.columns)
    frame = {"customer_id": ids, "order_date": dates, "amount": pd.to_numeric(tx["amount"]).astype(float),
             "row_id": np.arange(len(tx), dtype=np.int64)}  # a line without an order id is an order of its own
    if cols.order_id:
        frame["order_id"] = tx["order_id"]
    if cols.is_return:
        frame["is_return"] = tx["is_return"].fillna(False).astype(bool)
    for col in ("profit", "margin"):
        if getattr(cols, col):
            frame[col] = pd.to_numeric(tx[col], errors="coerce").astype(float)
    if cols.category:
        frame["category"] = tx["category"]
    frame = pd.DataFrame(frame)
    con = duckdb.connect()
    con.register(PreparedTransactions.VIEW, frame)
    return PreparedTransactions(frame=frame, columns=cols, con=con)


def _empty_features(quarters: int) -> pd.DataFrame:
    cols: dict[str, str] = {
        "first_purchase": "datetime64[ns]", "last_purchase": "datetime64[ns]",
        "days_since_last": "int64", "months_since_last": "float64",
        "orders_total": "int64", "revenue_total": "float64",
        "orders_12m": "int64", "amount_12m": "float64",
        **{f"amount_q{k}": "float64" for k in range(1, quarters + 1)},
        **{f"orders_q{k}": "int64" for k in range(1, quarters + 1)},
        "amount_13_24m": "float64", "avg_order_value": "float64", "profit_total": "float64",
        "profit_12m": "float64", "n_categories": "float64", "new_category_last_q": "bool",
        "tenure_days": "int64",
    }
    idx = pd.Index([], name="customer_id", dtype="str")
    return pd.DataFrame({c: np.array([], dtype=t) for c, t in cols.items()}, index=idx)


def business_features(
    transactions: pd.DataFrame | PreparedTransactions,
    as_of: pd.Timestamp | str,
    *,
    window_months: int = 12,
    quarters: int = 4,
) -> pd.DataFrame:
    """Per-customer business features as of ``as_of``.

    ``customer_id, order_id, order_date, amount [, profit, margin, category, is_return]``
    (one row per order line) -> one row per customer (see the module docstring for what
    counts as a purchase, an order and a window).

    Parameters
    ----------
    transactions : DataFrame or PreparedTransactions
        Clean transactions in the canonical schema (``docs/ARCHITECTURE.md``), or their
        :func:`prepare` form (to compute several dates from one factorization).
    as_of : date-like
        Last day of the period, inclusive; later transactions are ignored.
    window_months : int
        Length of the trailing window of ``orders_12m``, ``amount_12m`` and ``profit_12m``
        (the value-tier window, ``cfg.layering.value_tiers.window_months``). The column
        names keep "12m" whatever the length. ``amount_13_24m`` is the window before it.
    quarters : int
        Number of trailing quarters with ``amount_q*`` / ``orders_q*`` columns (>= 1).

    Returns
    -------
    DataFrame
        Index ``customer_id`` (str, sorted), columns:

        * ``first_purchase``, ``last_purchase`` (datetime64, day), ``days_since_last`` (int,
          ``as_of - last_purchase``), ``months_since_last`` (days / 30.4375),
          ``tenure_days`` (int, ``as_of - first_purchase``);
        * ``orders_total``, ``revenue_total``: all history up to ``as_of``;
        * ``orders_12m``, ``amount_12m``, ``amount_13_24m``: trailing window and the one before;
        * ``amount_q1..amount_qN``, ``orders_q1..orders_qN``: ``q1`` is the quarter ending
          at ``as_of``, ``q2`` the one before, ...;
        * ``avg_order_value`` = ``revenue_total / orders_total`` (net revenue per order);
        * ``profit_total``, ``profit_12m``: sum of ``profit`` (``margin x amount`` where a row
          has no profit); NaN when the data have neither column (or the customer's rows
          carry none);
        * ``n_categories``: distinct categories purchased (NaN when there is no
          ``category`` column); ``new_category_last_q``: the customer bought in ``q1`` a
          category it had never bought before ``q1`` and it had purchased before ``q1``
          (False when there is no ``category`` column).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
    ...     "order_date": pd.to_datetime(["2026-01-15", "2026-08-01", "2025-12-01"]),
    ...     "amount": [100.0, 50.0, 10.0]})
    >>> f = business_features(tx, "2026-09-30")
    >>> f[["orders_total", "amount_12m", "amount_q1", "days_since_last"]]
                 orders_total  amount_12m  amount_q1  days_since_last
    customer_id
    a                       2       150.0       50.0               60
    b                       1        10.0        0.0              303
    """
    if quarters < 1:
        raise ValueError(f"quarters must be >= 1 (got {quarters})")
    if window_months < 1:
        raise ValueError(f"window_months must be >= 1 (got {window_months})")
    p = prepare(transactions)
    as_of = pd.Timestamp(as_of).normalize()
    edges = quarter_edges(as_of, quarters)
    out = p.query(lambda view: features_sql(view, as_of, months_back(as_of, window_months),
                                            months_back(as_of, 2 * window_months), edges, p.columns))
    return features_frame(out, quarters)


def features_frame(out: pd.DataFrame, quarters: int) -> pd.DataFrame:
    """The result of :func:`kit.stages.features_sql.features_sql` (any engine) as
    :func:`business_features` gives it: index ``customer_id`` (str, sorted), the columns in
    :data:`FEATURE_COLUMNS`' order and types, ``months_since_last`` and ``avg_order_value``
    derived."""
    if out.empty:
        return _empty_features(quarters)
    empty = _empty_features(quarters)
    days_since = out["days_since_last"].to_numpy("int64")
    orders = out["orders_total"].to_numpy("int64")
    derived = {"months_since_last": days_since / DAYS_PER_MONTH,
               "avg_order_value": out["revenue_total"].to_numpy("float64") / orders}
    cols = {}
    for c, dtype in empty.dtypes.items():
        values = derived[c] if c in derived else out[c]
        if c in ("first_purchase", "last_purchase"):
            cols[c] = pd.to_datetime(values).to_numpy("datetime64[ns]")
        elif c in ("profit_total", "profit_12m", "n_categories"):
            cols[c] = pd.to_numeric(values).to_numpy("float64", na_value=np.nan)
        else:
            cols[c] = np.asarray(values, dtype=dtype)
    return pd.DataFrame(cols, index=pd.Index(out["customer_id"].astype("str"), name="customer_id"))


def window_totals(
    transactions: pd.DataFrame | PreparedTransactions,
    as_of: pd.Timestamp | str,
    months: int | None,
) -> pd.DataFrame:
    """Orders and net amount per customer in the trailing ``months`` (all history when None).

    Returns
    -------
    DataFrame
        Index ``customer_id`` (customers with a purchase on or before ``as_of``), columns
        ``orders`` (int) and ``amount`` (float); customers without a purchase in the window
        have 0 and 0.0.
    """
    p = prepare(transactions)
    as_of = pd.Timestamp(as_of).normalize()
    start = months_back(as_of, months) if months is not None else None
    out = p.query(lambda view: window_totals_sql(view, as_of, start, p.columns))
    return pd.DataFrame({"orders": out["orders"].to_numpy("int64"), "amount": out["amount"].to_numpy("float64")},
                        index=pd.Index(out["customer_id"].astype("str"), name="customer_id"))


def category_amounts(transactions: pd.DataFrame | PreparedTransactions,
                     as_of: pd.Timestamp | str | None) -> pd.DataFrame | None:
    """``customer_id, category, amount``: purchased amount per customer and category on or
    before ``as_of`` (None: every date); None when the data have no ``category`` column."""
    p = prepare(transactions)
    if not p.columns.category:
        return None
    end = pd.Timestamp(as_of).normalize() if as_of is not None else None
    return p.query(lambda view: category_amounts_sql(view, end, p.columns))
