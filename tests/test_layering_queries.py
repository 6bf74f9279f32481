"""Stage 02's questions to the transactions answered by an engine (DuckDB here; Spark in
tests/test_engine_spark.py) against the in-process answers: the whole spine of
``layering.layer`` compared, on generated messy transactions (order lines with and without
order ids, returns, zero and negative amounts, profit and margin with gaps, categories that
name demand types, overdue days and payment statuses, any as_of, with and without an RFM
window). Hypothesis draws them, derandomised.

Amounts are multiples of 0.5, exact in binary: the engine sums money as exact decimals and
numpy as floats in row order, so with amounts such as 19.99 two customers with the same
purchases can differ in the last bit in process, and a quantile score can split them; that
difference is the in-process path's, and not what this test is about.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kit.core.config import parse_config
from kit.engines.queries import EngineQueries, duckdb_queries
from kit.stages import layering
from kit.stages.layering.queries import InProcessQueries, matching

START = pd.Timestamp("2024-01-01")


@st.composite
def messy(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    rows = st.tuples(
        st.sampled_from(["a", "b", "c", "10", "9", "客户", "d", "e"]),
        st.one_of(st.none(), st.sampled_from(["o1", "o2", "o3", "o4", "o5"])),
        st.integers(0, 900),
        st.sampled_from([0.0, 0.5, 20.0, 100.0, -30.0, 1e6, 12.5]),
        st.booleans(),
        st.one_of(st.none(), st.sampled_from([1.0, -2.5, 0.0])),
        st.one_of(st.none(), st.sampled_from([0.25, 0.5])),
        st.one_of(st.none(), st.sampled_from(["备件", "Projects", "", "tools", "price list"])),
        st.one_of(st.none(), st.sampled_from(["paid", "逾期", "Overdue 30d", ""])),
        st.one_of(st.none(), st.sampled_from([0.0, 10.0, 31.0, 90.0])),
    )
    data = draw(st.lists(rows, min_size=n, max_size=n))
    tx = pd.DataFrame(data, columns=["customer_id", "order_id", "day", "amount", "is_return", "profit", "margin",
                                     "category", "payment_status", "days_overdue"])
    tx["order_date"] = START + pd.to_timedelta(tx.pop("day"), unit="D") + pd.Timedelta(hours=draw(st.integers(0, 23)))
    for col in ("customer_id", "order_id", "category", "payment_status"):
        tx[col] = tx[col].astype("str")
    optional = ["order_id", "is_return", "profit", "margin", "category", "payment_status", "days_overdue"]
    return tx.drop(columns=[c for c in optional if draw(st.booleans())])


def cfg_of(rfm_window: int | None):
    data = {"client": "t", "inputs": {"transactions": {"path": "x.csv"}}}
    if rfm_window is not None:
        data["layering"] = {"rfm": {"window_months": rfm_window}}
    return parse_config(data)


def assert_same_spine(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """The same customers, columns and types; labels equal; numbers to 1e-9; the same notes."""
    assert list(ours.columns) == list(theirs.columns)
    assert ours.index.equals(theirs.index) and ours.index.name == theirs.index.name
    base = [a.pop("complaint_base_rate") for a in (dict(ours.attrs), dict(theirs.attrs))]
    assert {k: v for k, v in ours.attrs.items() if k != "complaint_base_rate"} == \
        {k: v for k, v in theirs.attrs.items() if k != "complaint_base_rate"}
    np.testing.assert_allclose(base[0], base[1], equal_nan=True)
    num = [c for c in ours.columns if pd.api.types.is_float_dtype(theirs[c])]
    other = [c for c in ours.columns if c not in num]
    pd.testing.assert_frame_equal(ours[other], theirs[other])
    np.testing.assert_allclose(ours[num].to_numpy(float), theirs[num].to_numpy(float), rtol=1e-9, atol=1e-9)


@settings(max_examples=25, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(tx=messy(), as_of_day=st.integers(0, 1000), rfm_window=st.sampled_from([None, 6]))
def test_duckdb_answers_the_layering_as_the_process_does(tx, as_of_day, rfm_window):
    as_of = START + pd.Timedelta(days=as_of_day)
    cfg = cfg_of(rfm_window)
    if not ((tx["order_date"].dt.normalize() <= as_of) & (tx["amount"] > 0)).any():
        return  # nobody to layer: both raise the same error (tested elsewhere)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "tx.parquet"
        tx.to_parquet(path)
        con = duckdb.connect()
        try:
            ours = layering.layer(duckdb_queries(con, path), as_of, cfg)
        finally:
            con.close()
    theirs = layering.layer(tx, as_of, cfg)
    assert_same_spine(ours, theirs)


def test_each_question_has_the_same_answer_on_a_rich_example(tmp_path):
    """Each of the five answers on one file with every optional column: demand-type shares,
    overdue customers (by days and by status, inside the window only), window totals,
    features and summary."""
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "c", "d", "e"],
        "order_id": ["1", "2", "3", None, "5", "6", "7", "8"],
        "order_date": pd.to_datetime(["2024-01-05", "2024-06-01", "2024-03-01", "2024-03-01", "2023-01-01",
                                      "2024-06-20", "2024-06-29", "2023-06-30"]),
        "amount": [100.0, 50.0, 30.0, 10.0, 80.0, 20.0, -5.0, 10.0],
        "is_return": [False, False, False, False, False, False, True, False],
        "category": ["备件", "Projects", "tools", "price list", "备件", None, "备件", None],
        "payment_status": ["paid", "逾期", "paid", "paid", "OVERDUE", "paid", "overdue", "逾期"],
        "days_overdue": [0.0, 0.0, 45.0, 0.0, 0.0, 0.0, 0.0, 99.0],
    })
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path)
    as_of = pd.Timestamp("2024-06-30")
    keywords = {"solution": ["project"], "service": ["备件"], "price_sensitive": ["price"]}
    con = duckdb.connect()
    engine, local = duckdb_queries(con, path), InProcessQueries(tx)
    assert isinstance(engine, EngineQueries) and engine.n_rows == 8
    idx = pd.Index(["a", "b", "c"], dtype="str")
    votes = engine.category_votes(idx, as_of, keywords)
    np.testing.assert_allclose(votes, local.category_votes(idx, as_of, keywords))
    np.testing.assert_allclose(votes, [[50 / 150, 100 / 150, 0], [0, 0, 10 / 40], [0, 1, 0]])
    kw = dict(overdue_days=30, window_months=12, overdue_statuses=["逾期", "overdue"])
    # c's overdue order is 18 months old, e's on the day the 12 months start (left out); d's is
    # a return but still an order with a status
    assert sorted(engine.overdue(as_of, **kw)) == sorted(local.overdue(as_of, **kw)) == ["a", "b", "d"]
    pd.testing.assert_frame_equal(engine.window_totals(as_of, 6), local.window_totals(as_of, 6))
    pd.testing.assert_frame_equal(engine.summary(as_of, "week"), local.summary(as_of, "week"))
    con.close()


def test_no_category_or_overdue_columns_mean_no_answer(tmp_path):
    tx = pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2024-01-05"]), "amount": [1.0]})
    tx.to_parquet(tmp_path / "tx.parquet")
    con = duckdb.connect()
    engine = duckdb_queries(con, tmp_path / "tx.parquet")
    as_of = pd.Timestamp("2024-06-30")
    assert engine.category_votes(pd.Index(["a"]), as_of, {"service": ["备件"]}) is None
    assert engine.overdue(as_of, overdue_days=30, window_months=12, overdue_statuses=None) is None
    con.close()


@pytest.mark.parametrize("values, words, expected", [
    (["Overdue 30d", "paid", "逾期未付"], ["overdue", "逾期"], ["Overdue 30d", "逾期未付"]),
    (["a.b", "axb"], ["a.b"], ["a.b"]),  # a keyword is text, not a pattern
    (["x"], [], []),
])
def test_matching_reads_keywords_as_the_rules_do(values, words, expected):
    assert matching(values, words) == expected
