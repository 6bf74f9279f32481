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

Speed: the id columns are factorized once (:func:`prepare`); every aggregation after that
is a ``numpy.bincount`` or ``ufunc.at`` over integer codes, so features as of several dates
(this period and the previous one) cost one factorization. A million customers with five
million order lines take seconds.

The same rules are one SQL text (:mod:`kit.stages.features_sql`) for the engines: DuckDB over
a file (:func:`kit.engines.duckdb_engine.features_duckdb`) and Spark on a cluster
(:func:`kit.engines.spark_engine.features_spark`); a property test holds the three equal on
generated messy transactions. In process this numpy form stays: measured at 1M customers it
is 2.2x faster than DuckDB over the same frame and holds 0.6 GB less (2.2 GB less in the
layering notebook at 3M; benchmarks/README.md, "Issue 14, fourth pass").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.core.checks import validate_cols as _validate_cols
from kit.core.periods import local_datetimes
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

_EPOCH = np.datetime64("1970-01-01", "D")
_BIG = np.iinfo(np.int64).max


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


def row_profit(transactions: pd.DataFrame) -> pd.Series | None:
    """Profit per row: ``profit`` where given, else ``margin x amount``; None when neither
    column exists."""
    amount = pd.to_numeric(transactions["amount"]).astype(float)
    profit = None
    if "profit" in transactions.columns:
        profit = pd.to_numeric(transactions["profit"], errors="coerce").astype(float)
    if "margin" in transactions.columns:
        from_margin = pd.to_numeric(transactions["margin"], errors="coerce").astype(float) * amount
        profit = from_margin if profit is None else profit.fillna(from_margin)
    return profit


def day_number(ts: pd.Timestamp | str) -> int:
    """Days since 1970-01-01 of a date (the integer day scale of :class:`PreparedTransactions`)."""
    return int((np.datetime64(pd.Timestamp(ts).date(), "D") - _EPOCH).astype(np.int64))


def _from_day_numbers(days: np.ndarray) -> np.ndarray:
    return (days.astype("timedelta64[D]") + _EPOCH).astype("datetime64[ns]")


@dataclass(frozen=True)
class PreparedTransactions:
    """Transactions as integer arrays, factorized once (see :func:`prepare`).

    Attributes
    ----------
    ids : Index
        Sorted distinct customer ids (str); ``cust`` indexes into it.
    cust : ndarray of int64
        Customer code of each row.
    day : ndarray of int64
        Day number of each row's date (days since 1970-01-01).
    amount : ndarray of float64
    purchase : ndarray of bool
        Rows that are purchases (:func:`purchase_mask`).
    profit : ndarray of float64 or None
        :func:`row_profit`; None when the data have neither profit nor margin.
    order : ndarray of int64
        Order code of each row: rows of one order of one customer share a code (a row
        without an ``order_id``, or every row when the column is absent, is its own order).
    category : ndarray of int64 or None
        Category code (-1 when missing); None without a ``category`` column.
    categories : Index or None
        Category names of the codes.
    """

    ids: pd.Index
    cust: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    purchase: np.ndarray
    profit: np.ndarray | None
    order: np.ndarray
    category: np.ndarray | None
    categories: pd.Index | None

    @property
    def n_customers(self) -> int:
        return len(self.ids)


def prepare(transactions: pd.DataFrame | PreparedTransactions) -> PreparedTransactions:
    """Factorize clean transactions once for repeated feature computation.

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
    cust, ids = pd.factorize(tx["customer_id"].astype("str"), sort=True)
    dates = local_datetimes(tx["order_date"]).to_numpy()
    day = (dates.astype("datetime64[D]") - _EPOCH).astype(np.int64)
    amount = pd.to_numeric(tx["amount"]).astype(float).to_numpy()
    purchase = purchase_mask(tx).to_numpy()
    profit = row_profit(tx)
    profit_arr = None if profit is None else profit.to_numpy(dtype=float)

    cust = cust.astype(np.int64)
    if "order_id" in tx.columns and tx["order_id"].notna().any():
        order, _ = pd.factorize(tx["order_id"])  # a missing id is -1
        order = order.astype(np.int64)
        missing = order < 0
        if missing.any():  # a line without an order id is an order of its own
            order[missing] = order.max() + 1 + np.arange(int(missing.sum()))
        # an order id reused by two customers is two orders: only then pair it with the customer
        lo = np.full(order.max() + 1 if len(order) else 0, _BIG)
        hi = np.full(len(lo), -1)
        np.minimum.at(lo, order, cust)
        np.maximum.at(hi, order, cust)
        if (lo != hi).any():
            order, _ = pd.factorize(cust * (order.max() + 1) + order)
            order = order.astype(np.int64)
    else:
        order = np.arange(len(tx), dtype=np.int64)

    category = categories = None
    if "category" in tx.columns:
        codes, uniques = pd.factorize(tx["category"])
        category, categories = codes.astype(np.int64), pd.Index(uniques)
    return PreparedTransactions(
        ids=pd.Index(ids, name="customer_id", dtype="str"), cust=cust, day=day, amount=amount,
        purchase=purchase, profit=profit_arr, order=order, category=category, categories=categories,
    )


def _orders(p: PreparedTransactions, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Customer code and day (earliest line) of each order among the purchase ``rows``."""
    codes, first_row = np.unique(p.order[rows], return_index=True)
    if len(codes) == rows.sum():  # one row per order: nothing to collapse
        return p.cust[rows], p.day[rows]
    inv = np.searchsorted(codes, p.order[rows])
    o_day = np.full(len(codes), _BIG)
    np.minimum.at(o_day, inv, p.day[rows])
    return p.cust[rows][first_row], o_day


def _quarter_of(day: np.ndarray, edges: list[int]) -> np.ndarray:
    """Quarter number 1..N of each day number ((edges[k], edges[k-1]]), 0 when outside."""
    asc = np.asarray(edges[::-1], dtype=np.int64)
    below = np.searchsorted(asc, day, side="left")  # edges strictly before the day
    return np.where((below >= 1) & (below < len(edges)), len(edges) - below, 0)


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


def _per_customer_sum(p: PreparedTransactions, sel: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over ``rows`` per customer, for the customers ``sel``."""
    # astype: numpy's bincount of no weights is int64 (no row in the window)
    return np.bincount(p.cust[rows], weights=values[rows], minlength=p.n_customers).astype(float)[sel]


def _profit_columns(p: PreparedTransactions, sel: np.ndarray, in_period: np.ndarray,
                    in_w: np.ndarray) -> dict[str, np.ndarray]:
    """``profit_total`` and ``profit_12m``: NaN without profit data or for a customer
    whose rows carry none."""
    if p.profit is None:
        return {"profit_total": np.full(len(sel), np.nan), "profit_12m": np.full(len(sel), np.nan)}
    known = ~np.isnan(p.profit)
    values = np.where(known, p.profit, 0.0)
    out = {}
    for col, rows in (("profit_total", in_period), ("profit_12m", in_w)):
        total = _per_customer_sum(p, sel, rows, values)
        count = np.bincount(p.cust[rows & known], minlength=p.n_customers)[sel]
        out[col] = np.where(count > 0, total, np.nan)
    return out


def _category_columns(p: PreparedTransactions, sel: np.ndarray, buys: np.ndarray, first: np.ndarray,
                      q1_start: int) -> dict[str, np.ndarray]:
    """``n_categories`` (NaN without a category column) and ``new_category_last_q``."""
    if p.category is None:
        return {"n_categories": np.full(len(sel), np.nan), "new_category_last_q": np.zeros(len(sel), dtype=bool)}
    n = p.n_customers
    rows = buys & (p.category >= 0)
    n_cat = max(len(p.categories), 1)
    pair = p.cust[rows] * n_cat + p.category[rows]
    pairs, inv = np.unique(pair, return_inverse=True)
    pair_first = np.full(len(pairs), _BIG)
    np.minimum.at(pair_first, inv, p.day[rows])
    pair_cust = pairs // n_cat
    new_pair = np.bincount(pair_cust[pair_first > q1_start], minlength=n)[sel] > 0
    return {"n_categories": np.bincount(pair_cust, minlength=n)[sel].astype(float),
            "new_category_last_q": new_pair & (first <= q1_start)}


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
    return _features(prepare(transactions), pd.Timestamp(as_of).normalize(), window_months, quarters)


def _features(p: PreparedTransactions, as_of: pd.Timestamp, window_months: int, quarters: int) -> pd.DataFrame:
    """The computation of :func:`business_features` on prepared transactions."""
    D = day_number(as_of)
    n = p.n_customers
    in_period = p.day <= D
    buys = in_period & p.purchase
    has = np.bincount(p.cust[buys], minlength=n) > 0
    if not has.any():
        return _empty_features(quarters)
    sel = np.flatnonzero(has)

    def per_customer_sum(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        return _per_customer_sum(p, sel, rows, values)

    o_cust, o_day = _orders(p, buys)
    first = np.full(n, _BIG)
    last = np.full(n, -_BIG)
    np.minimum.at(first, o_cust, o_day)
    np.maximum.at(last, o_cust, o_day)
    first, last = first[sel], last[sel]

    start_w = day_number(months_back(as_of, window_months))
    start_2w = day_number(months_back(as_of, 2 * window_months))
    edges = [day_number(e) for e in quarter_edges(as_of, quarters)]

    out: dict[str, np.ndarray] = {}
    out["first_purchase"] = _from_day_numbers(first)
    out["last_purchase"] = _from_day_numbers(last)
    out["days_since_last"] = (D - last).astype(np.int64)
    out["months_since_last"] = out["days_since_last"] / DAYS_PER_MONTH
    orders_total = np.bincount(o_cust, minlength=n)[sel]
    out["orders_total"] = orders_total.astype(np.int64)
    out["revenue_total"] = per_customer_sum(in_period, p.amount)
    in_w = in_period & (p.day > start_w)
    out["orders_12m"] = np.bincount(o_cust[o_day > start_w], minlength=n)[sel].astype(np.int64)
    out["amount_12m"] = per_customer_sum(in_w, p.amount)

    q_row = _quarter_of(p.day, edges)
    q_order = _quarter_of(o_day, edges)
    for k in range(1, quarters + 1):
        out[f"amount_q{k}"] = per_customer_sum(in_period & (q_row == k), p.amount)
    for k in range(1, quarters + 1):
        out[f"orders_q{k}"] = np.bincount(o_cust[q_order == k], minlength=n)[sel].astype(np.int64)
    out["amount_13_24m"] = per_customer_sum((p.day > start_2w) & (p.day <= start_w), p.amount)
    out["avg_order_value"] = out["revenue_total"] / orders_total

    out.update(_profit_columns(p, sel, in_period, in_w))
    out.update(_category_columns(p, sel, buys, first, edges[1]))
    out["tenure_days"] = (D - first).astype(np.int64)
    return pd.DataFrame(out, index=p.ids[sel])


def features_frame(out: pd.DataFrame, quarters: int) -> pd.DataFrame:
    """The result of :func:`kit.stages.features_sql.features_sql` (any engine) as
    :func:`business_features` gives it: index ``customer_id`` (str, sorted), the columns in
    :data:`FEATURE_COLUMNS`' order and types, ``months_since_last`` and ``avg_order_value``
    derived as here."""
    empty = _empty_features(quarters)
    if out.empty:
        return empty
    days_since = out["days_since_last"].to_numpy("int64")
    derived = {"months_since_last": days_since / DAYS_PER_MONTH,
               "avg_order_value": out["revenue_total"].to_numpy("float64") / out["orders_total"].to_numpy("int64")}
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
    D = day_number(pd.Timestamp(as_of))
    n = p.n_customers
    in_period = p.day <= D
    buys = in_period & p.purchase
    sel = np.flatnonzero(np.bincount(p.cust[buys], minlength=n) > 0)
    start = day_number(months_back(as_of, months)) if months is not None else np.iinfo(np.int64).min
    o_cust, o_day = _orders(p, buys)
    rows = in_period & (p.day > start)
    return pd.DataFrame(
        {
            "orders": np.bincount(o_cust[o_day > start], minlength=n)[sel].astype(np.int64),
            "amount": np.bincount(p.cust[rows], weights=p.amount[rows], minlength=n).astype(float)[sel],
        },
        index=p.ids[sel],
    )
