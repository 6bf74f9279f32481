"""The synthetic B2B company: the clean truth and the defective exports, in one seeded draw."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.datasets.customers import _customer_master, _customers_export, _draw_customers
from kit.datasets.interactions import _draw_interactions, _interactions_export
from kit.datasets.orders import _draw_orders
from kit.datasets.orders_export import _orders_export
from kit.datasets.spec import CUSTOMERS_HEADERS, DEFAULT_CUSTOMERS, DEFAULT_END, DEFAULT_SEED, DEFAULT_START
from kit.datasets.subscriptions import (
    _draw_contracts,
    _draw_subscribers,
    _subscriptions_export,
    subscription_rng,
)
from kit.datasets.usage import _draw_usage, _usage_export


def generate_b2b(n_customers: int = DEFAULT_CUSTOMERS, seed: int = DEFAULT_SEED,
                 start: str = DEFAULT_START, end: str = DEFAULT_END) -> dict[str, pd.DataFrame]:
    """Draw the synthetic B2B company: clean truth and defective exports.

    Parameters
    ----------
    n_customers : int
        Customers in the master universe (ordering customers plus about 3 % prospects
        without orders).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same frames.
    start, end : str
        First and last day of the order history; ``end`` is the demo run's ``as_of``.

    Returns
    -------
    dict of str to DataFrame
        Truth, canonical column names (``kit.config.CANONICAL_COLUMNS``) plus labels:

        * ``customers``: ``customer_id, name, industry, ..., updated_at`` plus
          ``archetype, churner_group, in_master, has_orders, first_order_date,
          last_order_date, new_category_last_quarter, complainer, late_payer, dropout_date``
          (the last order of a customer who has dropped out by ``end``, NaT while active).
        * ``orders``: ``customer_id, order_id, order_date, amount, refund_amount,
          net_amount, margin, category, channel, quantity, status, days_overdue,
          new_category`` (only real purchases; ``amount`` as paid, ``net_amount`` after
          refunds).
        * ``interactions``: ``customer_id, date, type, type_canonical, score`` (0-100),
          ``score_raw`` (as exported), ``keywords, channel, text, touchpoint``.

        * ``subscribers``, ``subscriptions``, ``usage``: see :func:`_subscription_tables`.

        Exports, string cells under the Chinese headers, as written to disk, with hidden
        label columns starting with ``_`` (``_defect`` names the injected defect or is empty):
        ``orders_export``, ``customers_export``, ``interactions_export``,
        ``subscriptions_export``, ``usage_export``.
    """
    if n_customers < 50:
        raise ValueError(f"n_customers must be at least 50 (got {n_customers})")
    rng = np.random.default_rng(seed)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    if t1 <= t0 + pd.DateOffset(months=18):
        raise ValueError("the window from start to end must be longer than 18 months")

    cust = _draw_customers(rng, n_customers, t0, t1)
    orders, dropout_day = _draw_orders(rng, cust, t0, t1)
    cust["dropped"] = ~np.isnan(dropout_day)
    cust["death_day"] = np.where(cust["dropped"], dropout_day + 1, (t1 - t0).days + 1.0)
    master = _customer_master(rng, cust, t0, t1)
    cats = orders.groupby("customer_id")["category"].agg(lambda s: ",".join(sorted(set(s))))
    inter = _draw_interactions(rng, cust, cats, t0, t1)

    # referrals in the master: the logged ones plus some from before the window
    logged = inter.loc[inter["type"] == "转介绍"].groupby("customer_id").size()
    master["referrals"] = (logged.reindex(master["customer_id"]).fillna(0).to_numpy().astype(int)
                           + rng.poisson(0.2, len(master)))
    master = master[[c for c in CUSTOMERS_HEADERS.values()] + ["industry_growth"]]

    orders, orders_export = _orders_export(rng, orders, cust, t0, t1)
    customers_export = _customers_export(rng, master, cust)
    interactions_export = _interactions_export(rng, inter)

    firsts = orders.groupby("customer_id")["order_date"].agg(["min", "max"])
    customers = master.assign(
        archetype=cust["archetype"].to_numpy(), churner_group=cust["churner_group"].to_numpy(),
        in_master=master["customer_id"].isin(customers_export["客户编号"]).to_numpy(),
        has_orders=cust["has_orders"].to_numpy(),
        first_order_date=firsts["min"].reindex(master["customer_id"]).to_numpy(),
        last_order_date=firsts["max"].reindex(master["customer_id"]).to_numpy(),
        new_category_last_quarter=master["customer_id"].isin(
            orders.loc[orders["new_category"], "customer_id"]).to_numpy(),
        complainer=cust["complainer"].to_numpy(), late_payer=cust["late_payer"].to_numpy(),
        dropout_date=firsts["max"].reindex(master["customer_id"]).where(cust["dropped"].to_numpy())
        .to_numpy(),
    )
    return {
        "customers": customers, "orders": orders, "interactions": inter,
        "orders_export": orders_export, "customers_export": customers_export,
        "interactions_export": interactions_export, **_subscription_tables(seed, customers, t0, t1),
    }


def _subscription_tables(seed: int, customers: pd.DataFrame, start: pd.Timestamp,
                         end: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The subscription customers (issue 13), from their own stream (:func:`subscription_rng`):
    they change none of the other frames.

    * ``subscribers``: one row per subscription customer (``customer_id, sign_date, existing,
      stop_date, stopped_ordering, pattern`` healthy / declining, first ``plan``,
      ``billing_period, discount, account_manager``).
    * ``subscriptions``: one row per contract (the clean table's columns of the issue 13
      schema plus ``nominal_end_date, decision`` renewed / lapsed / pending,
      ``stopped_ordering, forced_lapse, pattern, contract_no, cohort``).
    * ``usage``: one row per subscriber and month (``customer_id, date`` the month's first day,
      ``plan, pattern, months_declining, active_users, logins, feature_coverage`` 0-1,
      ``tickets, first_response_hours``).
    * ``subscriptions_export``, ``usage_export``: the files' rows (the contracts' export is
      drawn before the usage, so a change of the usage leaves subscriptions.csv as it is).
    """
    srng = subscription_rng(seed)
    subscribers = _draw_subscribers(srng, customers, start, end)
    contracts = _draw_contracts(srng, subscribers, end)
    contracts_export = _subscriptions_export(srng, contracts)
    usage = _draw_usage(srng, contracts, subscribers, end)
    return {"subscribers": subscribers, "subscriptions": contracts, "usage": usage,
            "subscriptions_export": contracts_export, "usage_export": _usage_export(srng, usage)}


def value_tiers(orders: pd.DataFrame, as_of: str | pd.Timestamp = DEFAULT_END,
                high_min: float = 500_000, medium_min: float = 100_000,
                window_months: int = 12) -> pd.DataFrame:
    """Trailing-window net amount and value tier per ordering customer of the truth.

    ``customer_id, order_date, net_amount`` -> ``customer_id, amount_12m, tier`` (high /
    medium / low). Used to describe the sample; the kit's own tiers live in ``layering``.
    """
    as_of = pd.Timestamp(as_of)
    lo = as_of - pd.DateOffset(months=window_months)
    recent = orders[(orders["order_date"] > lo) & (orders["order_date"] <= as_of)]
    amt = recent.groupby("customer_id")["net_amount"].sum()
    amt = amt.reindex(orders["customer_id"].unique(), fill_value=0.0).rename("amount_12m")
    tier = np.where(amt >= high_min, "high", np.where(amt >= medium_min, "medium", "low"))
    return pd.DataFrame({"customer_id": amt.index, "amount_12m": amt.to_numpy(), "tier": tier})
