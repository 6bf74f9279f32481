"""The business features' SQL (what DuckDB and Spark run) against the stage's numpy form
(what a run computes in process), on generated messy transactions: order lines with and
without order ids, an order id reused by two customers, returns, zero and negative amounts,
profit and margin with gaps, categories with gaps, time-zone dates, any as_of, window and
number of quarters. Hypothesis draws them, derandomised. (Spark against numpy:
tests/test_engine_spark.py.)
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.engines.duckdb_engine import features_duckdb
from kit.stages.features import _empty_features, business_features, prepare
from kit.stages.layering.dimensions import votes_from_categories

START = pd.Timestamp("2024-01-01")


@st.composite
def messy(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    rows = st.tuples(
        st.sampled_from(["a", "b", "c", "10", "9", "客户"]),
        st.one_of(st.none(), st.sampled_from(["o1", "o2", "o3", "o4"])),
        st.integers(0, 900),
        st.sampled_from([0.0, 0.01, 19.99, 100.0, -30.0, 1e6, 12.5]),
        st.booleans(),
        st.one_of(st.none(), st.sampled_from([1.0, -2.5, 0.0])),
        st.one_of(st.none(), st.sampled_from([0.1, 0.35])),
        st.one_of(st.none(), st.sampled_from(["书", "tools", "", "machines"])),
    )
    data = draw(st.lists(rows, min_size=n, max_size=n))
    tx = pd.DataFrame(data, columns=["customer_id", "order_id", "day", "amount", "is_return", "profit", "margin",
                                     "category"])
    tx["order_date"] = START + pd.to_timedelta(tx.pop("day"), unit="D") + pd.Timedelta(hours=draw(st.integers(0, 23)))
    tx["customer_id"] = tx["customer_id"].astype("str")
    for col in ("order_id", "category"):
        tx[col] = tx[col].astype("str")
    if draw(st.booleans()):
        tx["order_date"] = tx["order_date"].dt.tz_localize("Asia/Shanghai")
    optional = ["order_id", "is_return", "profit", "margin", "category"]
    drop = [c for c in optional if draw(st.booleans())]
    return tx.drop(columns=drop)


def assert_same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Equal values and the documented types in both (numpy's code gave an int64 amount
    column where no row fell in the window -- its bincount of no weights -- until these
    tests found it)."""
    assert list(ours.columns) == list(theirs.columns)
    documented = _empty_features(sum(c.startswith("amount_q") for c in ours.columns)).dtypes
    assert ours.dtypes.equals(documented) and theirs.dtypes.equals(documented)
    assert ours.index.equals(theirs.index) and ours.index.name == theirs.index.name
    num = [c for c in ours.columns if ours[c].dtype == "float64"]
    other = [c for c in ours.columns if c not in num]
    pd.testing.assert_frame_equal(ours[other], theirs[other])
    np.testing.assert_allclose(ours[num].to_numpy(), theirs[num].to_numpy(), rtol=1e-12, atol=1e-9)


@settings(max_examples=80, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(tx=messy(), as_of_day=st.integers(0, 1000), window=st.sampled_from([1, 6, 12]),
       quarters=st.integers(1, 5))
def test_the_sql_equals_the_numpy_features(tx, as_of_day, window, quarters):
    as_of = START + pd.Timedelta(days=as_of_day)
    ours = features_duckdb(tx, as_of, window_months=window, quarters=quarters)
    theirs = business_features(tx, as_of, window_months=window, quarters=quarters)
    assert_same(ours, theirs)


@settings(max_examples=40, derandomize=True, database=None, deadline=None)
@given(tx=messy(), as_of_day=st.one_of(st.none(), st.integers(0, 1000)))
def test_category_votes_are_shares_and_never_fail(tx, as_of_day):
    """Categories never bought (or bought only after as_of) give no share instead of the
    crash the int64 bincount gave."""
    as_of = None if as_of_day is None else START + pd.Timedelta(days=as_of_day)
    idx = pd.Index(["a", "b", "10", "x"], name="customer_id")
    votes = votes_from_categories(tx, idx, as_of, {"tools": ["tool", "machine"], "books": ["书"]})
    if votes is not None:
        assert votes.dtype == float and ((votes >= 0) & (votes <= 1 + 1e-12)).all()


def test_one_preparation_serves_several_dates():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
                       "order_date": pd.to_datetime(["2026-01-15", "2026-08-01", "2025-12-01"]),
                       "amount": [100.0, 50.0, 10.0]})
    p = prepare(tx)
    for as_of in ("2026-09-30", "2026-06-30", "2025-12-31"):
        pd.testing.assert_frame_equal(business_features(p, as_of), business_features(tx, as_of))


def test_the_sql_sums_exactly_whatever_the_row_order():
    """Exact sums in the engines: the same purchases in another order give the same bytes
    (floats added in another order need not)."""
    amounts = [0.1, 0.2, 0.3, 1e8, -1e8, 0.7]
    rows = [("a", f"o{i}", a) for i, a in enumerate(amounts)] + [("b", f"p{i}", a) for i, a in enumerate(amounts[::-1])]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "amount"]).assign(
        order_date=pd.Timestamp("2026-05-01"))
    f = features_duckdb(tx, "2026-06-30")
    assert f.loc["a", "revenue_total"] == f.loc["b", "revenue_total"] == pytest.approx(1.3, abs=1e-12)
    assert f.loc["a"].equals(f.loc["b"])


@pytest.mark.parametrize("day, new", [("2026-06-30", False), ("2026-07-01", True)])
def test_a_category_is_new_in_the_last_quarter_from_the_day_after_its_start(day, new):
    """q1 of 2026-09-30 is (2026-06-30, 2026-09-30]: a first purchase of a category on
    2026-06-30 is before it."""
    tx = pd.DataFrame({"customer_id": ["a", "a"], "order_id": ["1", "2"], "amount": [10.0, 20.0],
                       "order_date": pd.to_datetime(["2026-01-10", day]), "category": ["tools", "books"]})
    assert bool(business_features(tx, "2026-09-30").loc["a", "new_category_last_q"]) is new
    assert bool(features_duckdb(tx, "2026-09-30").loc["a", "new_category_last_q"]) is new
