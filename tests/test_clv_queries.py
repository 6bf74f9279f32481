"""Stage 04's questions to the transactions answered by an engine (DuckDB here; Spark in
tests/test_engine_spark.py) against the in-process answers: each answer on generated messy
transactions (several rows a day, returns, zero amounts that count as transactions but never
as spend, amounts such as 19.99), and the whole assessment (holdout validation, fits,
scores) on simulated purchases.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kit.core.config import Clv
from kit.datasets import simulate_bgnbd
from kit.engines.queries import EnginePurchases, duckdb_queries
from kit.stages import clv
from kit.stages.clv.assess import _purchases
from kit.stages.clv.queries import InProcessPurchases

START = pd.Timestamp("2024-01-01")


@st.composite
def messy(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 50))
    rows = st.tuples(
        st.sampled_from(["a", "b", "c", "10", "9", "客户"]),
        st.integers(0, 400),
        st.sampled_from([0.0, 0.01, 19.99, 100.0, -30.0, 12.5]),
        st.booleans(),
        st.integers(0, 23),
    )
    data = draw(st.lists(rows, min_size=n, max_size=n))
    tx = pd.DataFrame(data, columns=["customer_id", "day", "amount", "is_return", "hour"])
    tx["order_date"] = START + pd.to_timedelta(tx.pop("day"), unit="D") + pd.to_timedelta(tx.pop("hour"), unit="h")
    tx["customer_id"] = tx["customer_id"].astype("str")
    return tx.drop(columns=["is_return"]) if draw(st.booleans()) else tx


def both(tx: pd.DataFrame, folder: str, con) -> tuple[EnginePurchases, InProcessPurchases]:
    path = Path(folder) / "tx.parquet"
    tx.to_parquet(path)
    return duckdb_queries(con, path, "clv"), InProcessPurchases(_purchases(tx))


@settings(max_examples=30, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(tx=messy(), cut=st.integers(0, 400), hold=st.integers(1, 200), unit=st.sampled_from(["day", "week"]))
def test_duckdb_answers_the_models_questions_as_the_process_does(tx, cut, hold, unit):
    cal_end = START + pd.Timedelta(days=cut)
    obs_end = cal_end + pd.Timedelta(days=hold)
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as d:
        engine, local = both(tx, d, con)
        assert engine.n_rows == local.n_rows
        assert (pd.isna(engine.first_date()) and pd.isna(local.first_date())) or \
            engine.first_date() == local.first_date()
        pd.testing.assert_frame_equal(engine.summary(obs_end, unit), local.summary(obs_end, unit), rtol=1e-12)
        pd.testing.assert_frame_equal(engine.calibration_holdout(cal_end, obs_end, unit),
                                      local.calibration_holdout(cal_end, obs_end, unit), rtol=1e-12)
        pd.testing.assert_frame_equal(engine.purchase_counts(obs_end), local.purchase_counts(obs_end))
        ids = ["a", "客户", "nobody"]
        ours = engine.rows_of(ids).sort_values(["customer_id", "order_date"], ignore_index=True)
        theirs = local.rows_of(ids).sort_values(["customer_id", "order_date"], ignore_index=True)
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
    con.close()


def test_zero_amounts_count_as_transactions_but_never_as_spend(tmp_path):
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "a"],
                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]),
                       "amount": [10.0, 0.0, 20.0, 0.0], "is_return": [False, False, False, True]})
    tx.to_parquet(tmp_path / "tx.parquet")
    con = duckdb.connect()
    engine = duckdb_queries(con, tmp_path / "tx.parquet", "clv")
    s = engine.summary(pd.Timestamp("2024-01-31"), "week")
    assert engine.n_rows == 3  # the zero-amount return is no transaction
    assert s.loc["a"].to_dict() == {"frequency": 2.0, "recency": 2.0, "T": 30 / 7, "monetary_value": 20.0,
                                    "frequency_spend": 1.0}
    con.close()


def test_the_assessment_through_duckdb_equals_the_in_process_one(tmp_path):
    tx = simulate_bgnbd(600, seed=11, T_weeks=60)
    tx.loc[tx.index[::40], "amount"] = 0.0  # zero-amount orders: transactions, not spend
    tx["is_return"] = False
    as_of = pd.Timestamp(tx["order_date"].max()).normalize()
    spine = pd.DataFrame(index=pd.Index(sorted(tx["customer_id"].astype("str").unique()), name="customer_id"))
    cfg = Clv(time_unit="week", holdout_days=140, interval_draws=50)
    tx.to_parquet(tmp_path / "tx.parquet")
    con = duckdb.connect()
    engine = duckdb_queries(con, tmp_path / "tx.parquet", "clv")
    ours = clv.assess(engine, spine, as_of, cfg)
    theirs = clv.assess(tx.assign(customer_id=tx["customer_id"].astype("str")), spine, as_of, cfg)
    assert ours.validation is not None and theirs.validation is not None
    pd.testing.assert_frame_equal(ours.summary, theirs.summary, rtol=1e-12)
    pd.testing.assert_frame_equal(ours.validation.customers, theirs.validation.customers, rtol=1e-9)
    pd.testing.assert_frame_equal(ours.validation.tracking, theirs.validation.tracking, rtol=1e-9)
    assert ours.validation.chosen == theirs.validation.chosen
    assert ours.bgnbd.params_ == theirs.bgnbd.params_ and ours.gg.params_ == theirs.gg.params_
    pd.testing.assert_frame_equal(ours.scores, theirs.scores, rtol=1e-9)
    assert [n.code for n in ours.notes] == [n.code for n in theirs.notes]
    ids = clv.action_customers(ours.scores)
    pd.testing.assert_frame_equal(clv.purchases_of(engine, ids).sort_values(["customer_id", "order_date"],
                                                                           ignore_index=True),
                                  clv.purchases_of(tx.assign(customer_id=tx["customer_id"].astype("str")), ids)
                                  .sort_values(["customer_id", "order_date"], ignore_index=True), check_dtype=False)
    assert len(ids) == 3
    con.close()


def test_who_answers_follows_the_runs_engine(tmp_path):
    """pandas: every stage gets the frame; duckdb: 03 and 04 get DuckDB's answers over the
    clean file and 02 the frame (measured faster and leaner in process); the connection's
    spill folder is gone afterwards."""
    from kit.core.config import parse_config
    from kit.engines.queries import EnginePersonas, engine_transactions

    tx = simulate_bgnbd(50, seed=2)
    path = tmp_path / "transactions_clean.parquet"
    tx.to_parquet(path)

    def cfg(name):
        return parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv"}}, "engine": {"name": name}})

    for kind in ("layering", "personas", "clv"):
        with engine_transactions(cfg("pandas"), path, tmp_path, lambda columns: tx, kind) as got:
            assert got is tx
    with engine_transactions(cfg("duckdb"), path, tmp_path, lambda columns: tx, "layering") as got:
        assert got is tx
    with engine_transactions(cfg("duckdb"), path, tmp_path, lambda columns: tx, "personas") as got:
        assert isinstance(got, EnginePersonas) and got.n_rows == len(tx)
    with engine_transactions(cfg("duckdb"), path, tmp_path, lambda columns: tx, "clv") as got:
        assert isinstance(got, EnginePurchases) and got.summary(tx["order_date"].max(), "week").shape[0] == 50
    assert not (tmp_path / "work").exists()
