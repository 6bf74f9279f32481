"""kit.summary: lifetimes-compatible customer summaries.

The reference is an independent, deliberately slow per-customer loop written from
lifetimes' documented definition (``summary_data_from_transaction_data``); lifetimes' own
helpers are also called when they run under the installed pandas, and the published CDNOW
summary shipped with lifetimes is compared at its printed precision.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from kit.core import paths
from kit.stages.summary import (
    TIME_UNIT_DAYS,
    calibration_holdout,
    compress,
    customer_summary,
    load_cdnow,
)

CAL_END, OBS_END = "1997-09-30", "1998-06-30"


# --------------------------------------------------------------------------------------
# The reference: plain Python, one customer at a time
# --------------------------------------------------------------------------------------


def reference_summary(rows, as_of, unit_days, with_amount=True):
    """lifetimes' definition, day resolution, written as plainly as possible.

    rows: iterable of (customer, datetime, amount). Returns {customer: (f, r, T[, m])}.
    """
    end = dt.datetime.combine(pd.Timestamp(as_of).date(), dt.time())
    by_customer: dict = {}
    for cust, when, amount in rows:
        day = dt.datetime.combine(pd.Timestamp(when).date(), dt.time())
        if day > end:
            continue
        days = by_customer.setdefault(cust, {})
        days[day] = days.get(day, 0.0) + (amount if with_amount else 0.0)
    out = {}
    for cust, days in by_customer.items():
        dates = sorted(days)
        first, last = dates[0], dates[-1]
        frequency = len(dates) - 1
        recency = (last - first).days / unit_days
        T = (end - first).days / unit_days
        repeat = [days[d] for d in dates[1:]]
        money = sum(repeat) / len(repeat) if repeat else 0.0
        out[cust] = (frequency, recency, T, money) if with_amount else (frequency, recency, T)
    return out


def assert_matches_reference(summary, reference, with_amount=True, tol=1e-9):
    cols = ["frequency", "recency", "T"] + (["monetary_value"] if with_amount else [])
    assert set(summary.index) == set(reference)
    ref = pd.DataFrame.from_dict(reference, orient="index", columns=cols).loc[summary.index]
    np.testing.assert_allclose(summary[cols].to_numpy(), ref.to_numpy(), rtol=0, atol=tol)


def lifetimes_or_skip(fn, *args, **kwargs):
    """Call lifetimes' pandas helper; skip (with the reason) when it fails on this pandas."""
    from lifetimes import utils

    try:
        return getattr(utils, fn)(*args, **kwargs)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"lifetimes.utils.{fn} does not run on pandas {pd.__version__}: {type(e).__name__}: {e}")


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow("sample")


@pytest.fixture(scope="module")
def example_transactions():
    return pd.read_csv(paths.lifetimes_dataset("example_transactions.csv"), parse_dates=["date"])


# --------------------------------------------------------------------------------------
# Hand-made frames
# --------------------------------------------------------------------------------------


def tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"], format="mixed")
    )


def test_same_day_purchases_are_one_purchase_with_summed_amount():
    s = customer_summary(
        tx([("a", "2024-01-01 09:00", 10.0), ("a", "2024-01-01 17:00", 5.0),
            ("a", "2024-01-08", 20.0), ("a", "2024-01-08 12:00", 4.0), ("a", "2024-01-15", 30.0)]),
        "2024-01-29", time_unit="day",
    )
    assert s.loc["a"].tolist() == [2.0, 14.0, 28.0, 27.0]  # repeat days: 24 and 30


def test_single_purchase_has_zero_frequency_recency_and_monetary():
    s = customer_summary(tx([("b", "2024-03-01", 99.0)]), "2024-03-15", time_unit="day")
    assert s.loc["b"].tolist() == [0.0, 0.0, 14.0, 0.0]


def test_time_units_divide_day_counts():
    t = tx([("a", "2024-01-01", 1.0), ("a", "2024-02-01", 1.0)])
    by_unit = {u: customer_summary(t, "2024-03-01", time_unit=u).loc["a"] for u in TIME_UNIT_DAYS}
    assert by_unit["day"]["recency"] == 31 and by_unit["day"]["T"] == 60
    assert by_unit["week"]["recency"] == pytest.approx(31 / 7)
    assert by_unit["month"]["T"] == pytest.approx(60 / 30.4375)


def test_transactions_after_as_of_are_excluded_and_as_of_day_is_included():
    t = tx([("a", "2024-01-01", 1.0), ("a", "2024-01-10 23:59", 2.0), ("a", "2024-01-11", 3.0),
            ("c", "2024-01-12", 5.0)])
    s = customer_summary(t, "2024-01-10", time_unit="day")
    assert list(s.index) == ["a"]
    assert s.loc["a"].tolist() == [1.0, 9.0, 9.0, 2.0]


def test_as_of_defaults_to_latest_date_and_index_is_sorted_customer_id():
    s = customer_summary(tx([("z", "2024-01-01", 1.0), ("a", "2024-01-05", 1.0)]), time_unit="day")
    assert s.index.name == "customer_id" and list(s.index) == ["a", "z"]
    assert s.loc["z", "T"] == 4 and s.loc["a", "T"] == 0


def test_weekly_resolution_merges_purchases_of_one_week():
    t = tx([("a", "2024-01-01", 1.0), ("a", "2024-01-03", 2.0), ("a", "2024-01-09", 4.0)])  # Mon, Wed, Tue
    s = customer_summary(t, "2024-01-21", freq="W", time_unit="week")
    assert s.loc["a"].tolist() == [1.0, 1.0, 2.0, 4.0]


def test_without_amount_column():
    s = customer_summary(tx([("a", "2024-01-01", 1.0)]).drop(columns="amount"), "2024-01-02",
                         amount_col=None, time_unit="day")
    assert list(s.columns) == ["frequency", "recency", "T"]


def test_missing_values_raise_instead_of_dropping_rows():
    t = tx([("a", "2024-01-01", 1.0), (None, "2024-01-02", 1.0)])
    with pytest.raises(ValueError, match="1 transaction.*'customer_id'"):
        customer_summary(t, "2024-01-05")
    with pytest.raises(ValueError, match="Required column.*'amount'"):
        customer_summary(t.drop(columns="amount"), "2024-01-05")
    with pytest.raises(ValueError, match="time_unit"):
        customer_summary(t.dropna(), "2024-01-05", time_unit="fortnight")


def test_custom_column_names_and_empty_result():
    t = pd.DataFrame({"cid": ["x"], "when": pd.to_datetime(["2024-05-01"]), "value": [3.0]})
    s = customer_summary(t, "2024-04-01", customer_col="cid", date_col="when", amount_col="value")
    assert s.empty and list(s.columns) == ["frequency", "recency", "T", "monetary_value"]


def test_compress_counts_customers_per_pattern():
    s = pd.DataFrame({"frequency": [0.0, 0.0, 1.0, 1.0, 1.0], "recency": [0, 0, 2, 2, 3.0],
                      "T": [5, 5, 5, 5, 5.0]}, index=list("abcde"))
    c = compress(s)
    assert c.to_dict("list") == {"frequency": [0.0, 1.0, 1.0], "recency": [0.0, 2.0, 3.0],
                                 "T": [5.0, 5.0, 5.0], "weight": [2, 2, 1]}
    assert c["weight"].sum() == len(s)


def test_calibration_holdout_on_hand_made_frame():
    t = tx([("a", "2024-01-01", 10.0), ("a", "2024-01-05", 20.0),           # calibration
            ("a", "2024-01-12", 5.0), ("a", "2024-01-12", 7.0), ("a", "2024-01-20", 30.0),  # holdout
            ("b", "2024-01-09", 8.0),                                        # born on cal end
            ("c", "2024-01-15", 9.0), ("c", "2024-01-16", 9.0),              # born in holdout: out
            ("a", "2024-02-01", 99.0)])                                      # after observation
    h = calibration_holdout(t, "2024-01-09", "2024-01-30", time_unit="day")
    assert list(h.index) == ["a", "b"]
    assert h.loc["a"].tolist() == [1.0, 4.0, 8.0, 20.0, 2.0, 21.0, 21.0]  # holdout days: 12, 30
    assert h.loc["b"].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 21.0]
    with pytest.raises(ValueError, match="observation_end"):
        calibration_holdout(t, "2024-01-09", "2024-01-09")


# --------------------------------------------------------------------------------------
# CDNOW and lifetimes' example transactions
# --------------------------------------------------------------------------------------


def test_load_cdnow_sample_and_master():
    s = load_cdnow("sample")
    assert list(s.columns) == ["customer_id", "order_date", "amount", "quantity"]
    assert len(s) == 6919 and s["customer_id"].nunique() == 2357
    assert s["customer_id"].iloc[0] == "0001" and pd.api.types.is_string_dtype(s["customer_id"])
    assert pd.api.types.is_datetime64_any_dtype(s["order_date"]) and s["amount"].dtype == float
    assert s["order_date"].min() == pd.Timestamp("1997-01-01")
    assert s["order_date"].max() == pd.Timestamp(OBS_END)
    m = load_cdnow("master")
    assert len(m) == 69659 and m["customer_id"].nunique() == 23570
    with pytest.raises(ValueError, match="kind"):
        load_cdnow("full")


def test_cdnow_calibration_summary_matches_published_summary(cdnow):
    """lifetimes ships Fader-Hardie's CDNOW summary (x, t_x, T in weeks, zbar = mean spend
    of the calibration repeat purchases), rounded to 2 decimals: our definition is theirs."""
    s = customer_summary(cdnow, CAL_END, time_unit="week")
    assert len(s) == 2357
    pub = pd.read_csv(paths.lifetimes_dataset("cdnow_customers_summary_with_transactions.csv"))
    pub.index = pub["ID"].map(lambda i: f"{i:04d}")
    pub = pub.loc[s.index]
    assert (s["frequency"] == pub["x"]).all()
    half_cent = 0.005 + 1e-9
    for ours, theirs in (("recency", "t_x"), ("T", "T"), ("monetary_value", "zbar")):
        assert np.abs(s[ours] - pub[theirs]).max() <= half_cent, ours
    assert int((s["frequency"] > 0).sum()) == 946


def test_equals_reference_loop_on_cdnow(cdnow):
    rows = zip(cdnow["customer_id"], cdnow["order_date"], cdnow["amount"])
    rows = list(rows)
    for as_of in (CAL_END, OBS_END):
        s = customer_summary(cdnow, as_of, time_unit="week")
        assert len(s) == 2357
        assert_matches_reference(s, reference_summary(rows, as_of, 7.0))


def test_equals_reference_loop_on_lifetimes_example_transactions(example_transactions):
    t = example_transactions
    as_of = t["date"].max()
    s = customer_summary(t, None, customer_col="id", date_col="date", amount_col=None, time_unit="day")
    ref = reference_summary(zip(t["id"], t["date"], [0.0] * len(t)), as_of, 1.0, with_amount=False)
    assert_matches_reference(s, ref, with_amount=False)
    assert s.index.dtype == t["id"].dtype  # ids keep their type


def test_equals_lifetimes_summary_helper_when_it_runs(cdnow, example_transactions):
    ours = customer_summary(cdnow, CAL_END, time_unit="day")
    theirs = lifetimes_or_skip("summary_data_from_transaction_data", cdnow, "customer_id", "order_date",
                               monetary_value_col="amount", observation_period_end=CAL_END)
    pd.testing.assert_frame_equal(ours, theirs.loc[ours.index].rename_axis("customer_id"),
                                  check_exact=False, rtol=0, atol=1e-9)
    t = example_transactions
    ours = customer_summary(t, None, customer_col="id", date_col="date", amount_col=None, time_unit="day")
    theirs = lifetimes_or_skip("summary_data_from_transaction_data", t, "id", "date")
    pd.testing.assert_frame_equal(ours, theirs.loc[ours.index].rename_axis("customer_id"),
                                  check_exact=False, rtol=0, atol=1e-9, check_index_type=False)


def test_cdnow_calibration_holdout(cdnow):
    h = calibration_holdout(cdnow, CAL_END, OBS_END, time_unit="week")
    assert len(h) == 2357
    assert h["frequency_holdout"].sum() == 1882
    assert (h["duration_holdout"] == 39).all()
    cal = customer_summary(cdnow, CAL_END, time_unit="week")
    pd.testing.assert_frame_equal(h.iloc[:, :4], cal.add_suffix("_cal"))
    # the holdout against the reference loop: holdout periods = full-period minus calibration
    full = customer_summary(cdnow, OBS_END, time_unit="week")
    np.testing.assert_array_equal(h["frequency_holdout"], full["frequency"] - cal["frequency"])


def test_calibration_holdout_equals_lifetimes_helper_when_it_runs(cdnow):
    ours = calibration_holdout(cdnow, CAL_END, OBS_END, time_unit="day")
    theirs = lifetimes_or_skip("calibration_and_holdout_data", cdnow, "customer_id", "order_date",
                               CAL_END, OBS_END, monetary_value_col="amount").loc[ours.index]
    same = [c for c in ours.columns if c != "monetary_value_holdout"]
    np.testing.assert_allclose(ours[same].to_numpy(), theirs[same].to_numpy(), rtol=0, atol=1e-9)
    # lifetimes averages raw holdout transactions, the kit averages holdout purchase periods
    # (one period's amounts summed, like the calibration): equal for every customer with
    # at most one transaction per holdout day.
    h = cdnow[(cdnow["order_date"] > CAL_END) & (cdnow["order_date"] <= OBS_END)]
    multi = h.groupby(["customer_id", "order_date"]).size().loc[lambda n: n > 1].index.get_level_values(0).unique()
    single = ours.index.difference(multi)
    np.testing.assert_allclose(ours.loc[single, "monetary_value_holdout"],
                               theirs.loc[single, "monetary_value_holdout"], rtol=0, atol=1e-9)
    assert len(multi) > 0


@pytest.mark.slow
def test_vectorised_on_a_million_rows():
    import time

    rng = np.random.default_rng(0)
    n = 1_000_000
    t = pd.DataFrame({
        "customer_id": pd.Series(np.char.add("C", rng.integers(0, 200_000, n).astype(str)), dtype="str"),
        "order_date": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 86400, n), unit="s"),
        "amount": rng.gamma(2.0, 50.0, n),
    })
    start = time.perf_counter()
    s = customer_summary(t, "2024-12-31")
    assert time.perf_counter() - start < 10
    assert math.isclose(s["frequency"].sum() + len(s),
                        t.assign(d=t["order_date"].dt.floor("D"))[["customer_id", "d"]].drop_duplicates().shape[0])
