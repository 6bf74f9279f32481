"""Stage 03's questions to the transactions answered by an engine (DuckDB here; Spark in
tests/test_engine_spark.py) against the frame path: the tags (recent orders, channel
preference, top categories) and the clustering inputs derived from purchases, on generated
messy transactions (order lines with and without order ids, returns, zero and negative
amounts, times of day, also on the period's last day, channel and category texts with
padding, empty texts and gaps). Hypothesis draws them, derandomised.

Amounts are multiples of 0.5 (exact in binary): the engine sums money exactly and the
frame path as floats in row order, which can split two equal category totals in the last bit.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kit.core.config import Personas
from kit.engines.queries import EnginePersonas, duckdb_queries
from kit.stages.personas.clusters import _derived_features, cluster_features
from kit.stages.personas.tags import build_tags

START = pd.Timestamp("2024-01-01")
AS_OF = pd.Timestamp("2024-12-31")


@st.composite
def messy(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    rows = st.tuples(
        st.sampled_from(["a", "b", "c", "10", "客户"]),
        st.one_of(st.none(), st.sampled_from(["o1", "o2", "o3", "o4", "o5", "o6"])),
        st.integers(0, 400),
        st.sampled_from([0, 9, 23]),
        st.sampled_from([0.0, 0.5, 20.0, 100.0, -30.0, 12.5]),
        st.booleans(),
        st.one_of(st.none(), st.sampled_from(["web", " web ", "store", "", "app"])),
        st.one_of(st.none(), st.sampled_from(["tools", "tools ", "书", "", "parts", "Parts"])),
    )
    data = draw(st.lists(rows, min_size=n, max_size=n))
    tx = pd.DataFrame(data, columns=["customer_id", "order_id", "day", "hour", "amount", "is_return", "channel",
                                     "category"])
    tx["order_date"] = START + pd.to_timedelta(tx.pop("day"), unit="D") + pd.to_timedelta(tx.pop("hour"), unit="h")
    for col in ("customer_id", "order_id", "channel", "category"):
        tx[col] = tx[col].astype("str")
    optional = ["order_id", "is_return", "channel", "category"]
    return tx.drop(columns=[c for c in optional if draw(st.booleans())])


@settings(max_examples=30, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(tx=messy(), recent_days=st.sampled_from([30, 90, 365]), top=st.integers(1, 3))
def test_duckdb_answers_the_persona_questions_as_the_frame_does(tx, recent_days, top):
    cfg = Personas(recent_days=recent_days)
    spine = pd.DataFrame(index=pd.Index(sorted(tx["customer_id"].unique()) + ["nobody"], name="customer_id",
                                        dtype="str"))
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as d:
        tx.to_parquet(Path(d) / "tx.parquet")
        engine = duckdb_queries(con, Path(d) / "tx.parquet", "personas")
        assert isinstance(engine, EnginePersonas)
        ours, ours_avail = build_tags(spine, engine, None, AS_OF, cfg, top_categories=top)
        features = cluster_features(spine, engine, AS_OF)
        derived = engine.derived(AS_OF)
    con.close()
    theirs, theirs_avail = build_tags(spine, tx, None, AS_OF, cfg, top_categories=top)
    pd.testing.assert_frame_equal(ours, theirs)
    assert ours_avail == theirs_avail
    pd.testing.assert_frame_equal(features, cluster_features(spine, tx, AS_OF), rtol=1e-12)
    expected = _derived_features(tx, AS_OF)
    if len(expected):
        pd.testing.assert_frame_equal(derived, expected.rename_axis("customer_id"), check_dtype=False, rtol=1e-12)
    else:
        assert derived.empty


def test_each_answer_on_a_small_example(tmp_path):
    """Padding and empty texts cleaned, ties broken by text, the order-id rule, a purchase on
    the period's last day with a time of day left out (as the frame path does)."""
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "b"],
        "order_id": ["1", "1", "2", "3", "4", "5"],
        "order_date": pd.to_datetime(["2024-12-01", "2024-12-01", "2024-06-01 10:00", "2024-12-31 09:00",
                                      "2024-11-30", "2024-12-30"], format="mixed"),
        "amount": [10.0, 5.0, 15.0, 99.0, 20.0, 20.0],
        "channel": [" web", "web ", "store", "app", "", "store"],
        "category": ["tools", "tools", "书", "parts", "parts", "tools"],
    })
    tx.to_parquet(tmp_path / "tx.parquet")
    con = duckdb.connect()
    engine = duckdb_queries(con, tmp_path / "tx.parquet", "personas")
    # after 2024-12-01 00:00 (strictly); a's order of 2024-12-31 09:00 is after the period
    assert engine.recent_orders(AS_OF, 30).set_index("customer_id")["n"].to_dict() == {"b": 1}
    top = engine.top_channel(AS_OF).set_index("customer_id")  # " web" and "web " are one channel
    assert top.loc["a"].tolist() == ["store", 1, 2] and top.loc["b"].tolist() == ["store", 1, 1]
    cats = engine.top_categories(AS_OF, 2)
    assert cats.values.tolist() == [["a", 0, "tools", 2], ["a", 1, "书", 2], ["b", 0, "parts", 2],
                                    ["b", 1, "tools", 2]]
    d = engine.derived(AS_OF)
    assert d.loc["a", "orders_total"] == 2 and d.loc["a", "days_since_last"] == 30
    assert d.loc["a", "tenure_days"] == 212  # 2024-06-01 10:00 to 2024-12-31: 212 days and 14 hours
    np.testing.assert_allclose(d["channel_concentration"], [1 / 3, 0.5])  # raw texts, as the frame path
    con.close()
