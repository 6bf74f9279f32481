"""Business features: windows, quarters, orders, returns, profit, categories, edge cases."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.stages.features import (
    FEATURE_COLUMNS,
    business_features,
    months_back,
    prepare,
    quarter_edges,
    window_totals,
)
from kit.engines.duckdb_engine import features_duckdb

_NUMPY_FEATURES = business_features


@pytest.fixture(autouse=True, params=["numpy", "duckdb"])
def engine(request, monkeypatch):
    """Every test of the features runs twice: the stage's numpy form and the engines' SQL
    (DuckDB; Spark runs the same text, tests/test_engine_spark.py)."""
    if request.param == "duckdb":
        if request.node.get_closest_marker("numpy_only"):
            pytest.skip(request.node.get_closest_marker("numpy_only").args[0])
        monkeypatch.setitem(globals(), "business_features", features_duckdb)
    return request.param

AS_OF = pd.Timestamp("2026-09-30")


def tx(rows, **extra):
    """Transactions from (customer, order, date, amount) tuples in the clean schema."""
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    df["customer_id"] = df["customer_id"].astype("str")
    df["order_id"] = df["order_id"].astype("str")
    df["order_date"] = pd.to_datetime(df["order_date"], format="ISO8601")
    df["amount"] = df["amount"].astype(float)
    for k, v in extra.items():
        df[k] = v
    if "is_return" not in df.columns:
        df["is_return"] = False
    return df


# --------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------


def test_months_back_keeps_month_ends():
    assert months_back("2026-06-30", 3) == pd.Timestamp("2026-03-31")
    assert months_back("2026-09-30", 12) == pd.Timestamp("2025-09-30")
    assert months_back("2024-05-31", 3) == pd.Timestamp("2024-02-29")  # leap year month end
    assert months_back("2026-08-15", 3) == pd.Timestamp("2026-05-15")  # mid-month: same day


def test_quarter_edges_of_a_quarter_end_are_calendar_quarters():
    assert quarter_edges("2026-09-30", 4) == [pd.Timestamp(d) for d in
                                              ["2026-09-30", "2026-06-30", "2026-03-31", "2025-12-31", "2025-09-30"]]


# --------------------------------------------------------------------------------------
# Windows and quarters
# --------------------------------------------------------------------------------------


def test_window_and_quarter_boundaries():
    f = business_features(tx([
        ("a", "1", "2025-09-30", 1.0),    # exactly 12 months back: outside the window
        ("a", "2", "2025-10-01", 10.0),   # first day of the window, q4
        ("a", "3", "2026-06-30", 100.0),  # last day of q2
        ("a", "4", "2026-07-01", 1000.0),  # first day of q1
        ("a", "5", "2026-09-30 15:00", 10000.0),  # as_of is inclusive, with a time of day
        ("a", "6", "2026-10-01", 99999.0),  # after as_of: ignored
    ]), AS_OF)
    r = f.loc["a"]
    assert r["amount_12m"] == 11110.0
    assert r["orders_12m"] == 4
    assert (r["amount_q1"], r["amount_q2"], r["amount_q3"], r["amount_q4"]) == (11000.0, 100.0, 0.0, 10.0)
    assert (r["orders_q1"], r["orders_q2"], r["orders_q3"], r["orders_q4"]) == (2, 1, 0, 1)
    assert r["amount_13_24m"] == 1.0
    assert r["orders_total"] == 5 and r["revenue_total"] == 11111.0
    assert r["last_purchase"] == AS_OF and r["days_since_last"] == 0
    assert r["first_purchase"] == pd.Timestamp("2025-09-30")
    assert r["tenure_days"] == 365


def test_days_and_months_since_last():
    f = business_features(tx([("a", "1", "2026-06-30", 5.0)]), AS_OF)
    assert f.loc["a", "days_since_last"] == 92
    assert f.loc["a", "months_since_last"] == pytest.approx(92 / 30.4375)


def test_columns_and_dtypes():
    f = business_features(tx([("a", "1", "2026-01-01", 5.0), ("b", "2", "2026-02-01", 7.0)]), AS_OF)
    assert list(f.columns) == FEATURE_COLUMNS
    assert f.index.name == "customer_id" and list(f.index) == ["a", "b"]
    assert f["orders_total"].dtype == np.int64 and f["days_since_last"].dtype == np.int64
    assert f["new_category_last_q"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(f["first_purchase"])


def test_more_quarters_add_columns():
    f = business_features(tx([("a", "1", "2025-08-01", 5.0)]), AS_OF, quarters=5)
    assert f.loc["a", "amount_q5"] == 5.0 and f.loc["a", "orders_q5"] == 1


def test_custom_window_length():
    t = tx([("a", "1", "2026-05-01", 5.0), ("a", "2", "2026-08-01", 7.0)])
    f = business_features(t, AS_OF, window_months=3)
    assert f.loc["a", "amount_12m"] == 7.0 and f.loc["a", "amount_13_24m"] == 5.0


# --------------------------------------------------------------------------------------
# Orders, returns, profit
# --------------------------------------------------------------------------------------


def test_order_lines_are_one_order_dated_by_the_first_line():
    f = business_features(tx([
        ("a", "1", "2026-06-30", 10.0), ("a", "1", "2026-07-02", 20.0), ("a", "2", "2026-08-01", 5.0),
    ]), AS_OF)
    assert f.loc["a", "orders_total"] == 2
    assert f.loc["a", "orders_q2"] == 1 and f.loc["a", "orders_q1"] == 1  # order 1 dated 06-30
    assert f.loc["a", "amount_q1"] == 25.0 and f.loc["a", "amount_q2"] == 10.0  # amounts by line date
    assert f.loc["a", "avg_order_value"] == 17.5


def test_an_order_id_reused_by_two_customers_is_two_orders():
    f = business_features(tx([("a", "1", "2026-01-01", 10.0), ("b", "1", "2026-02-01", 20.0)]), AS_OF)
    assert f["orders_total"].tolist() == [1, 1]
    assert f.loc["b", "first_purchase"] == pd.Timestamp("2026-02-01")


def test_without_order_id_each_row_is_an_order():
    t = tx([("a", "1", "2026-01-01", 10.0), ("a", "1", "2026-01-01", 20.0)]).drop(columns="order_id")
    assert business_features(t, AS_OF).loc["a", "orders_total"] == 2


def test_lines_without_an_order_id_are_orders_of_their_own():
    t = tx([("a", "1", "2026-01-01", 10.0), ("a", "1", "2026-01-02", 20.0), ("a", None, "2026-01-03", 5.0),
            ("a", None, "2026-01-04", 5.0)])
    t["order_id"] = pd.array(["1", "1", None, None], dtype="str")
    assert business_features(t, AS_OF).loc["a", "orders_total"] == 3


def test_timezone_aware_dates_use_the_local_date():
    t = tx([("a", "1", "2026-09-30", 10.0), ("b", "2", "2026-10-01", 5.0)])
    t["order_date"] = pd.to_datetime(["2026-09-30 23:30", "2026-10-01 00:30"]).tz_localize("Asia/Shanghai")
    f = business_features(t, AS_OF)
    assert f.loc["a", "days_since_last"] == 0
    assert "b" not in f.index  # 00:30 on 1 October in Shanghai is after as_of (in UTC it is 30 September)


def test_returns_reduce_revenue_but_are_not_orders():
    t = tx([("a", "1", "2026-01-01", 100.0), ("a", "1R", "2026-08-01", -30.0), ("b", "2", "2026-02-01", -5.0)],
           is_return=[False, True, True])
    f = business_features(t, AS_OF)
    assert list(f.index) == ["a"]  # b has only a return: not a customer
    assert f.loc["a", "orders_total"] == 1
    assert f.loc["a", "revenue_total"] == 70.0 and f.loc["a", "amount_q1"] == -30.0
    assert f.loc["a", "last_purchase"] == pd.Timestamp("2026-01-01")  # a return is not a purchase


def test_an_order_netted_to_zero_is_not_a_purchase():
    f = business_features(tx([("a", "1", "2026-01-01", 100.0), ("a", "2", "2026-03-01", 0.0)]), AS_OF)
    assert f.loc["a", "orders_total"] == 1
    assert f.loc["a", "last_purchase"] == pd.Timestamp("2026-01-01")


def test_profit_from_profit_then_margin():
    t = tx([("a", "1", "2026-01-01", 100.0), ("a", "2", "2026-08-01", 200.0), ("b", "3", "2026-08-01", 50.0)],
           profit=[10.0, np.nan, np.nan], margin=[0.5, 0.25, np.nan])
    f = business_features(t, AS_OF)
    assert f.loc["a", "profit_total"] == 60.0  # 10 given + 0.25 x 200 from the margin
    assert f.loc["a", "profit_12m"] == 60.0
    assert np.isnan(f.loc["b", "profit_total"])  # neither profit nor margin on its row


def test_no_profit_columns_gives_nan():
    f = business_features(tx([("a", "1", "2026-01-01", 100.0)]), AS_OF)
    assert np.isnan(f.loc["a", "profit_total"]) and np.isnan(f.loc["a", "profit_12m"])


# --------------------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------------------


def test_category_breadth_and_new_category_in_the_last_quarter():
    t = tx([
        ("old", "1", "2026-01-01", 1.0), ("old", "2", "2026-08-01", 1.0), ("old", "3", "2026-08-02", 1.0),
        ("same", "4", "2026-01-01", 1.0), ("same", "5", "2026-08-01", 1.0),
        ("new", "6", "2026-08-01", 1.0), ("new", "7", "2026-09-01", 1.0),
        ("q1end", "8", "2026-06-30", 1.0), ("q1end", "9", "2026-07-01", 1.0),
    ], category=["设备", "设备", "运维服务", "设备", "设备", "设备", "备件", "设备", "备件"])
    f = business_features(t, AS_OF)
    assert f.loc["old", "n_categories"] == 2 and f.loc["old", "new_category_last_q"]
    assert f.loc["same", "n_categories"] == 1 and not f.loc["same", "new_category_last_q"]
    assert not f.loc["new", "new_category_last_q"]  # a new customer has no "new" category
    assert f.loc["q1end", "new_category_last_q"]  # bought before q1 (06-30), new category on 07-01


def test_no_category_column():
    f = business_features(tx([("a", "1", "2026-01-01", 1.0)]), AS_OF)
    assert np.isnan(f.loc["a", "n_categories"]) and not f.loc["a", "new_category_last_q"]


def test_missing_categories_are_not_counted():
    t = tx([("a", "1", "2026-01-01", 1.0), ("a", "2", "2026-02-01", 1.0)], category=["x", None])
    assert business_features(t, AS_OF).loc["a", "n_categories"] == 1


# --------------------------------------------------------------------------------------
# Edge cases
# --------------------------------------------------------------------------------------


def test_empty_and_before_the_first_purchase():
    empty = business_features(tx([]), AS_OF)
    assert empty.empty and list(empty.columns) == FEATURE_COLUMNS and empty.index.name == "customer_id"
    early = business_features(tx([("a", "1", "2027-01-01", 1.0)]), AS_OF)
    assert early.empty


def test_a_period_without_purchases_keeps_everyone_as_lapsed():
    f = business_features(tx([("a", "1", "2024-01-01", 1.0)]), AS_OF)
    assert f.loc["a", "amount_12m"] == 0.0 and f.loc["a", "orders_12m"] == 0
    assert f.loc["a", "days_since_last"] == (AS_OF - pd.Timestamp("2024-01-01")).days


def test_missing_ids_raise_and_missing_columns_are_named():
    t = tx([("a", "1", "2026-01-01", 1.0)])
    t.loc[0, "customer_id"] = None
    with pytest.raises(ValueError, match="missing customer_id|no 'customer_id'"):
        business_features(t, AS_OF)
    with pytest.raises(ValueError, match="'amount'"):
        business_features(tx([("a", "1", "2026-01-01", 1.0)]).drop(columns="amount"), AS_OF)


@pytest.mark.numpy_only("prepare() is the numpy form's")
def test_prepared_form_gives_the_same_features():
    t = tx([("a", "1", "2026-01-01", 1.0), ("b", "2", "2025-02-01", 3.0), ("a", "3", "2026-09-01", 2.0)])
    p = prepare(t)
    pd.testing.assert_frame_equal(business_features(p, AS_OF), business_features(t, AS_OF))
    pd.testing.assert_frame_equal(business_features(p, "2026-06-30"), business_features(t, "2026-06-30"))


def test_window_totals():
    t = tx([("a", "1", "2025-01-01", 1.0), ("a", "2", "2026-09-01", 2.0), ("b", "3", "2025-02-01", 3.0)])
    w = window_totals(t, AS_OF, 12)
    assert w.loc["a"].tolist() == [1, 2.0] and w.loc["b"].tolist() == [0, 0.0]
    assert window_totals(t, AS_OF, None).loc["a"].tolist() == [2, 3.0]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 800), st.floats(-50, 1000)),
                min_size=1, max_size=40))
def test_quarters_add_up_to_the_year(rows):
    t = tx([(c, str(i), AS_OF - pd.Timedelta(days=d), a) for i, (c, d, a) in enumerate(rows)],
           is_return=[a < 0 for _, _, a in rows])
    f = business_features(t, AS_OF)
    if f.empty:
        return
    q = f[[f"amount_q{k}" for k in range(1, 5)]].sum(axis=1)
    np.testing.assert_allclose(q, f["amount_12m"], atol=1e-6)
    assert (f[[f"orders_q{k}" for k in range(1, 5)]].sum(axis=1) == f["orders_12m"]).all()
    assert (f["orders_12m"] <= f["orders_total"]).all()
    assert (f["days_since_last"] >= 0).all() and (f["tenure_days"] >= f["days_since_last"]).all()
