"""The summary's one SQL definition against a plain per-customer loop written from lifetimes'
definition: every period (day, week from Monday, calendar month), the positive-spend
convention, the calibration/holdout split, the tracking curve's counts, and the id types a
caller may pass (text, integers, categories in any order, time-zone dates).

The loop is deliberately naive (Python dicts, ``datetime``); hypothesis draws the frames
(derandomised, so the run is the same every time).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.stages.summary import calibration_holdout, customer_summary, purchase_counts

START = dt.date(2024, 1, 1)


def period_start(day: dt.date, freq: str) -> dt.date:
    if freq == "W":
        return day - dt.timedelta(days=day.weekday())  # weeks from Monday
    if freq == "M":
        return day.replace(day=1)
    return day


def periods(rows, end: dt.date, freq: str) -> dict:
    """{customer: {period: summed amount}} of the rows on or before ``end`` (floored)."""
    out: dict = {}
    for cust, when, amount in rows:
        p = period_start(when, freq)
        if p <= end:
            out.setdefault(cust, {}).setdefault(p, 0.0)
            out[cust][p] += amount
    return out


def reference(rows, as_of: dt.date, freq: str, unit: float, positive: bool) -> pd.DataFrame:
    end = period_start(as_of, freq)
    out = {}
    for cust, per in periods(rows, end, freq).items():
        days = sorted(per)
        repeat = [per[d] for d in days[1:]]
        spend = [a for a in repeat if a > 0] if positive else repeat
        row = {"frequency": len(days) - 1, "recency": (days[-1] - days[0]).days / unit,
               "T": (end - days[0]).days / unit, "monetary_value": sum(spend) / len(spend) if spend else 0.0}
        if positive:
            row["frequency_spend"] = len(spend)
        out[str(cust)] = row
    return pd.DataFrame.from_dict(out, orient="index").sort_index()


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [str(r[0]) for r in rows],
                         "order_date": pd.to_datetime([r[1] for r in rows]),
                         "amount": [r[2] for r in rows]})


rows_strategy = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e10", "e9", "中"]),
              st.integers(0, 400).map(lambda d: START + dt.timedelta(days=d)),
              st.sampled_from([0.0, 0.01, 0.1, 1.0, 19.99, 1e6, -5.0, 1e8])),
    min_size=1, max_size=60)


@settings(max_examples=60, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy, freq=st.sampled_from(["D", "W", "M"]), positive=st.booleans(),
       as_of=st.integers(0, 420).map(lambda d: START + dt.timedelta(days=d)))
def test_summary_equals_the_definition_for_every_period(rows, freq, positive, as_of):
    unit = 7.0
    ref = reference(rows, as_of, freq, unit, positive)
    ours = customer_summary(frame(rows), as_of, freq=freq, time_unit="week", positive_spend=positive)
    assert list(ours.index) == list(ref.index)
    if len(ref):
        np.testing.assert_allclose(ours[ref.columns].to_numpy(), ref.to_numpy(dtype=float), rtol=1e-12, atol=1e-9)


@settings(max_examples=40, derandomize=True, database=None, deadline=None)
@given(rows=rows_strategy, cut=st.integers(30, 300), freq=st.sampled_from(["D", "W", "M"]))
def test_calibration_holdout_equals_the_definition(rows, cut, freq):
    cal_end, obs_end = START + dt.timedelta(days=cut), START + dt.timedelta(days=420)
    c_end, o_end = period_start(cal_end, freq), period_start(obs_end, freq)
    if o_end <= c_end:
        return
    ours = calibration_holdout(frame(rows), cal_end, obs_end, freq=freq, time_unit="day")
    cal = reference(rows, cal_end, freq, 1.0, False)
    per = periods(rows, o_end, freq)
    hold = {c: [a for p, a in per[c].items() if p > c_end] for c in cal.index}
    assert list(ours.index) == list(cal.index)
    if not len(cal):
        return
    np.testing.assert_allclose(ours[[f"{c}_cal" for c in cal.columns]].to_numpy(), cal.to_numpy(float),
                               rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(ours["frequency_holdout"], [len(hold[c]) for c in cal.index])
    np.testing.assert_allclose(ours["monetary_value_holdout"],
                               [sum(h) / len(h) if h else 0.0 for h in (hold[c] for c in cal.index)],
                               rtol=1e-12, atol=1e-9)
    assert (ours["duration_holdout"] == (o_end - c_end).days).all()


@settings(max_examples=40, derandomize=True, database=None, deadline=None)
@given(rows=rows_strategy, freq=st.sampled_from(["D", "W", "M"]))
def test_purchase_counts_equal_the_definition(rows, freq):
    end = START + dt.timedelta(days=300)
    per = periods(rows, period_start(end, freq), freq)
    first, repeat = {}, {}
    for days in per.values():
        ordered = sorted(days)
        first[ordered[0]] = first.get(ordered[0], 0) + 1
        for d in ordered[1:]:
            repeat[d] = repeat.get(d, 0) + 1
    ours = purchase_counts(frame(rows), end, freq=freq)
    expected = sorted(set(first) | set(repeat))
    assert [d.date() for d in ours.index] == expected
    assert ours["first_purchases"].tolist() == [first.get(d, 0) for d in expected]
    assert ours["repeat_purchases"].tolist() == [repeat.get(d, 0) for d in expected]


def test_ids_keep_their_kind_and_order():
    """Text sorts as text; integers as integers (and stay integers); categories -- in any
    order of categories, with unused ones -- give their values as sorted text."""
    days = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-02", "2024-01-03", "2024-01-20"])
    amounts = [1.0, 2.0, 3.0, 4.0, 5.0]
    text = pd.DataFrame({"customer_id": ["10", "10", "9", "9", "b"], "order_date": days, "amount": amounts})
    expected = customer_summary(text, "2024-01-31")
    assert list(expected.index) == ["10", "9", "b"]
    cats = pd.Categorical(text["customer_id"], categories=["b", "zz", "9", "10"])
    ours = customer_summary(text.assign(customer_id=cats), "2024-01-31")
    pd.testing.assert_frame_equal(ours, expected)
    ints = customer_summary(text[text["customer_id"] != "b"].assign(customer_id=[10, 10, 9, 9]), "2024-01-31")
    assert list(ints.index) == [9, 10] and ints.index.dtype == np.int64
    np.testing.assert_array_equal(ints.to_numpy(), expected.loc[["9", "10"]].to_numpy())


def test_time_zone_dates_count_by_local_day():
    """A purchase at 23:30 in Shanghai is on that local day, whatever UTC says."""
    local = pd.to_datetime(["2024-01-01 23:30", "2024-01-02 00:30"]).tz_localize("Asia/Shanghai")
    tx = pd.DataFrame({"customer_id": ["a", "a"], "order_date": local, "amount": [1.0, 2.0]})
    s = customer_summary(tx, "2024-01-03", time_unit="day")
    assert s.loc["a", "frequency"] == 1.0 and s.loc["a", "T"] == 2.0


def test_an_unsupported_period_is_refused_by_name():
    tx = pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2024-01-01"]), "amount": [1.0]})
    with pytest.raises(ValueError, match=r"freq must be one of D, W, M .*'h'"):
        customer_summary(tx, "2024-01-03", freq="h")


def test_the_same_bytes_on_one_thread_or_two(monkeypatch):
    """Decimal sums do not depend on the order threads add rows in."""
    import duckdb

    rng = np.random.default_rng(7)
    n = 200_000
    tx = pd.DataFrame({"customer_id": rng.integers(0, 5_000, n).astype(str),
                       "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
                       "amount": rng.gamma(2.0, 40.0, n).round(2) * rng.choice([1, 1e-3, 1e5], n)})
    two = customer_summary(tx, "2024-12-31")
    connect = duckdb.connect

    def one_thread(*args, **kwargs):
        con = connect(*args, **kwargs)
        con.execute("SET threads = 1")
        return con

    monkeypatch.setattr(duckdb, "connect", one_thread)
    one = customer_summary(tx, "2024-12-31")
    pd.testing.assert_frame_equal(one, two, check_exact=True)
