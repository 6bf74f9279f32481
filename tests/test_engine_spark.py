"""kit.engines.spark_engine: the Spark SQL summary (the SQL text DuckDB runs too) equals the pandas one (Spark in local mode).

Runs where pyspark and a Java runtime are installed; skipped with the reason otherwise.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

if os.environ.get("KIT_REQUIRE_SPARK") == "1":  # CI installed pyspark (.ci/run): a skip would hide a break
    import pyspark  # noqa: F401
else:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install pyspark)")


def _java_ok() -> str | None:
    java = shutil.which("java")
    if java is None:
        return "no Java runtime on PATH (Spark needs Java 17 or later)"
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return f"java -version failed: {e}"
    return None


if (why := _java_ok()) is not None:
    if os.environ.get("KIT_REQUIRE_SPARK") == "1":
        raise RuntimeError(f"KIT_REQUIRE_SPARK=1 but {why}")
    pytest.skip(why, allow_module_level=True)

from kit.core import paths  # noqa: E402
from kit.core.config import load_config  # noqa: E402
from kit.datasets import simulate_bgnbd  # noqa: E402
from kit.engines.spark_engine import features_spark, spark_session, summary_spark  # noqa: E402
from kit.stages.features import business_features, purchase_mask  # noqa: E402
from kit.stages.summary import customer_summary  # noqa: E402

AS_OF = "2026-09-30"


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]", config={"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()


def assert_same_summary(ours: pd.DataFrame, theirs: pd.DataFrame, tol: float = 1e-9) -> None:
    assert list(ours.columns) == list(theirs.columns)
    assert ours.index.name == "customer_id" and str(ours.index.dtype) == "str"
    assert ours.index.equals(theirs.index)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=tol, atol=tol)


def test_summary_equals_pandas_on_the_sample_data(spark, tmp_path):
    from kit.engines import clean_all

    tx = clean_all(load_config(paths.DEFAULT_CONFIG), pd.Timestamp(AS_OF)).transactions
    purchases = tx[purchase_mask(tx).to_numpy()]
    theirs = customer_summary(purchases, AS_OF, time_unit="week")
    # a Spark DataFrame from a Parquet file, as on a cluster (microsecond timestamps: Spark's)
    pq = tmp_path / "transactions_clean.parquet"
    tx.astype({"order_date": "datetime64[us]"}).to_parquet(pq, index=False)
    assert_same_summary(summary_spark(spark.read.parquet(str(pq)), AS_OF, "week", spark=spark), theirs)
    # a path, and a pandas frame
    assert_same_summary(summary_spark(str(pq), AS_OF, "week", spark=spark), theirs)
    assert_same_summary(summary_spark(tx, AS_OF, "week", spark=spark), theirs)


def test_summary_equals_pandas_on_simulated_csv(spark, tmp_path):
    tx = simulate_bgnbd(2000, seed=3)
    tx["customer_id"] = tx["customer_id"].map(lambda i: f"{i:06d}")
    csv = tmp_path / "orders.csv"
    tx.to_csv(csv, index=False, date_format="%Y-%m-%d")
    for unit in ("day", "month"):
        assert_same_summary(summary_spark(str(csv), "2025-06-28", unit, spark=spark),
                            customer_summary(tx, "2025-06-28", time_unit=unit))
    assert_same_summary(summary_spark(str(csv), None, "week", spark=spark), customer_summary(tx))


def test_features_equal_duckdbs_on_the_sample_data(spark, tmp_path):
    """The business features' one SQL text, run by Spark over a Parquet file and by DuckDB in
    process: the same table (the sample has order lines, returns, margins and categories)."""
    from kit.engines import clean_all

    tx = clean_all(load_config(paths.DEFAULT_CONFIG), pd.Timestamp(AS_OF)).transactions
    pq = tmp_path / "transactions_clean.parquet"
    tx.astype({"order_date": "datetime64[us]"}).to_parquet(pq, index=False)
    for as_of, quarters in ((AS_OF, 4), ("2026-06-30", 5)):
        ours = features_spark(str(pq), as_of, quarters=quarters, spark=spark)
        theirs = business_features(tx, as_of, quarters=quarters)
        assert ours.dtypes.equals(theirs.dtypes) and ours.index.equals(theirs.index)
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-12, atol=1e-9)
        assert theirs["n_categories"].gt(0).any() and theirs["profit_total"].notna().any()
    # lines without an order id are orders of their own (Spark numbers the rows itself)
    loose = tx.assign(order_id=tx["order_id"].where(tx.index % 3 != 0))
    pd.testing.assert_frame_equal(features_spark(loose, AS_OF, spark=spark), business_features(loose, AS_OF),
                                  check_exact=False, rtol=1e-12, atol=1e-9)


def test_missing_values_raise(spark):
    tx = pd.DataFrame({"customer_id": ["a", None], "order_date": pd.to_datetime(["2024-01-01"] * 2),
                       "amount": [1.0, 2.0]})
    with pytest.raises(ValueError, match="1 transaction.*'customer_id'"):
        summary_spark(tx, spark=spark)
    with pytest.raises(ValueError, match="Required column.*'amount'"):
        summary_spark(tx.drop(columns="amount"), spark=spark)


# --------------------------------------------------------------------------------------
# The cleaning cascade run by Spark: the same SQL text as DuckDB's, the same result
# --------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kit.core.config import InputTable  # noqa: E402
from kit.core.dialect import DUCKDB, SPARK  # noqa: E402
from kit.engines.duckdb_clean import clean_transactions_duckdb  # noqa: E402
from kit.engines.spark_engine import clean_transactions_spark  # noqa: E402
from kit.engines.duckdb_engine import summary_duckdb  # noqa: E402
from kit.engines.sql_backend import SPARK_SQL_CONF  # noqa: E402
from kit.io import read_table  # noqa: E402
from kit.stages.cascade import REFUND_MODES  # noqa: E402
from test_engines_property import AS_OF as MESSY_AS_OF, _write, messy_files  # noqa: E402


def assert_same_result(ours, theirs) -> None:
    """Everything a cleaning returns, equal: clean rows, quarantine (reasons, details, the
    source values), merged refunds, books and statistics (how the file was read aside)."""
    for part in ("clean", "quarantine", "merged"):
        pd.testing.assert_frame_equal(getattr(ours, part), getattr(theirs, part), check_exact=True, obj=part)
    assert ours.reconciliation == theirs.reconciliation
    drop = ("engine", "source")
    assert {k: v for k, v in ours.stats.items() if k not in drop} == {k: v for k, v in theirs.stats.items()
                                                                      if k not in drop}


def test_dialect_expressions_mean_the_same_in_both_engines(spark):
    """Each expression the dialect writes differently gives the same values in DuckDB and Spark."""
    import duckdb

    for key, value in SPARK_SQL_CONF.items():
        spark.conf.set(key, value)
    values = ["2024-01-05", "2024-02-30", "0001-01-01", "x'y\\d", "12.50", "-3", "1e5", ""]
    number = r"-?\d{1,15}(\.\d{1,6})?"
    checks = []
    for d in (DUCKDB, SPARK):
        lit = ", ".join(f"{d.lit(v)} AS c{i}" for i, v in enumerate(values))
        exprs = [f"{d.full_match(f'c{i}', number)} AS m{i}" for i in range(len(values))]
        exprs += [f"CAST({d.try_date(f'c{i}')} AS {d.text}) AS d{i}" for i in range(3)]
        exprs += ["c3 AS raw",
                  f"CAST({d.round_even('2.5')} AS BIGINT) AS r1", f"CAST({d.round_even('-0.5')} AS BIGINT) AS r2",
                  f"CAST({d.round_even('100.49999999999999')} AS BIGINT) AS r3",
                  f"{d.int_div(f'CAST(-7 AS {d.int128})', 'CAST(2 AS BIGINT)')} AS i1",
                  f"CAST(CAST(12345678901234 AS {d.int128}) * CAST(98765432109 AS {d.int128}) AS {d.text}) AS big"]
        sql = f"SELECT {', '.join(exprs)} FROM (SELECT {lit}) AS t"
        row = duckdb.sql(sql).fetchall()[0] if d is DUCKDB else tuple(spark.sql(sql).collect()[0])
        checks.append(tuple(None if v is None else str(v) if not isinstance(v, bool) else v for v in row))
    assert checks[0] == checks[1]
    assert checks[0][len(values):len(values) + 3] == ("2024-01-05", None, "0001-01-01")
    assert checks[0][len(values) + 3] == "x'y\\d"  # a quote and a backslash read back as written
    # sorted lists: ascending, and NULL (not an empty list) where the filter keeps no row
    for d in (DUCKDB, SPARK):
        sql = (f"SELECT g, {d.sorted_list('v')} AS a, {d.sorted_list('v', 'v > 5')} AS b FROM "
               "(SELECT 1 AS g, 3 AS v UNION ALL SELECT 1, 1 UNION ALL SELECT 2, 9) AS t GROUP BY g ORDER BY g")
        rows = duckdb.sql(sql).fetchall() if d is DUCKDB else [tuple(r) for r in spark.sql(sql).collect()]
        assert [(g, list(a), None if b is None else list(b)) for g, a, b in rows] == [(1, [1, 3], None), (2, [9], [9])]


@settings(max_examples=4, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(messy_files(), st.sampled_from(REFUND_MODES))
def test_spark_and_duckdb_clean_messy_files_alike(spark, case, refunds):
    """Generated messy exports (copies, re-exports in another style, conflicting order ids,
    refunds by sign and by status, odd dates and amounts, test accounts, decimal commas):
    Spark and DuckDB give the same clean rows, quarantine, merged rows, books and statistics,
    and the same customer table from them."""
    import tempfile
    from pathlib import Path

    header, body, cleaning, test_ids, reading = case
    if not any(any(v.strip() for v in r) for r in body):
        return  # an all-blank file is an input error in both
    c = cleaning.model_copy(update={"refunds": refunds})
    with tempfile.TemporaryDirectory(prefix="kit-spark-prop-") as folder:
        spec = InputTable(path=str(_write(Path(folder), header, body)), **reading)
        theirs = clean_transactions_duckdb(spec, c, MESSY_AS_OF, test_customer_ids=test_ids)
        ours = clean_transactions_spark(spec, c, MESSY_AS_OF, spark=spark, stage=Path(folder) / "stage",
                                        test_customer_ids=test_ids)
        assert_same_result(ours, theirs)
        if len(ours.clean):  # and the customer table from the clean rows: Spark's SQL, DuckDB's
            assert_same_summary(summary_spark(ours.clean, MESSY_AS_OF, "week", spark=spark),
                                summary_duckdb(theirs.clean, MESSY_AS_OF, time_unit="week"))
        # the frame the pandas reader read (Excel, whitespace files) takes the same way
        raw = read_table(spec, "transactions")
        assert_same_result(clean_transactions_spark(raw, c, MESSY_AS_OF, spark=spark, stage=Path(folder) / "stage",
                                                    test_customer_ids=test_ids), theirs)


def test_a_run_configured_for_spark_cleans_with_spark(spark, tmp_path):
    """``engine.name: spark`` on the bundled sample (order lines, refunds, conflicts, test
    accounts, Chinese headers): kit.engines.clean_all (what 01_clean calls) cleans the orders
    with Spark, says so, and gives DuckDB's clean file (typed, in file order), quarantine,
    merged rows, books and statistics; the run's work folder is left empty."""
    from kit.engines import clean_all

    cfg = load_config(paths.DEFAULT_CONFIG)
    as_of = pd.Timestamp(AS_OF)
    spark_cfg = cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"name": "spark"})})
    duck_cfg = cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"name": "duckdb"})})
    run_dir = tmp_path / "run"
    ours = clean_all(spark_cfg, as_of, clean_path=run_dir / "transactions_clean.parquet", run_dir=run_dir)
    theirs = clean_all(duck_cfg, as_of, clean_path=tmp_path / "duck.parquet", run_dir=tmp_path / "duck")
    assert ours.quality.pop("engine") == "spark" and theirs.quality.pop("engine") == "duckdb"
    clean = pd.read_parquet(run_dir / "transactions_clean.parquet")
    pd.testing.assert_frame_equal(clean, pd.read_parquet(tmp_path / "duck.parquet"), check_exact=True)
    assert len(clean) > 10_000 and clean["source_row"].is_monotonic_increasing
    for part in ("quarantine", "merged"):
        pd.testing.assert_frame_equal(getattr(ours, part), getattr(theirs, part), check_exact=True, obj=part)
    assert ours.quality == theirs.quality  # books, refunds, outliers, coverage, how the files were read
    tx = ours.quality["reconciliation"]["transactions"]
    assert tx["quarantined_rows"] > 0 and tx["merged_rows"] > 0
    assert set(ours.quarantine["reason"]) >= {"duplicate", "test_account", "bad_amount", "cancelled"}
    assert not (run_dir / "work").exists()


def test_spark_answers_the_stages_questions_as_the_process_does(spark, tmp_path):
    """``engine.name: spark`` in stages 02-04 (what ``ctx.transactions()`` gives the
    notebooks): Spark answers the layering's, the personas' and the models' questions over the
    clean sample (order lines, returns, channels, categories, master and interactions); the
    spine, the tags and clusters, and the CLV assessment (validation, fits, scores) equal the
    in-process ones; the staged rows are gone
    afterwards and the session that was running is left running."""
    from kit.engines import clean_all
    from kit.engines.queries import EnginePersonas, EnginePurchases, EngineQueries, engine_transactions
    from kit.stages import clv, layering, personas
    from test_layering_queries import assert_same_spine

    cfg = load_config(paths.DEFAULT_CONFIG)
    spark_cfg = cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"name": "spark"})})
    as_of = pd.Timestamp(AS_OF)
    run_dir = tmp_path / "run"
    path = run_dir / "transactions_clean.parquet"
    clean = clean_all(cfg, as_of, clean_path=path, run_dir=run_dir)
    frame = pd.read_parquet(path)
    with engine_transactions(spark_cfg, path, run_dir, read=lambda columns: frame) as tq:
        assert isinstance(tq, EngineQueries) and tq.db.dialect.name == "spark" and tq.n_rows == len(frame)
        ours = layering.layer(tq, as_of, spark_cfg, clean.customers, clean.interactions)
    theirs = layering.layer(frame, as_of, cfg, clean.customers, clean.interactions)
    assert len(theirs) > 1000 and theirs["demand_type"].notna().any()
    assert_same_spine(ours, theirs)

    people = theirs[[c for c in personas.spine_inputs(cfg.personas) if c in theirs.columns]]
    with engine_transactions(spark_cfg, path, run_dir, read=lambda columns: frame, kind="personas") as pz:
        assert isinstance(pz, EnginePersonas) and pz.db.dialect.name == "spark"
        by_spark = personas.run_personas(people, pz, clean.interactions, as_of, cfg.personas)
    by_frame = personas.run_personas(people, frame, clean.interactions, as_of, cfg.personas)
    assert by_frame.spine["tag_channel"].notna().any() and by_frame.spine["tag_category"].notna().any()
    pd.testing.assert_frame_equal(by_spark.spine, by_frame.spine, rtol=1e-12)
    assert by_spark.availability == by_frame.availability

    spine = theirs[list(clv.SPINE_INPUTS)]
    with engine_transactions(spark_cfg, path, run_dir, read=lambda columns: frame, kind="clv") as pq:
        assert isinstance(pq, EnginePurchases) and pq.db.dialect.name == "spark"
        mine = clv.assess(pq, spine, as_of, cfg.clv)
        followed = clv.purchases_of(pq, clv.action_customers(mine.scores))
    local = clv.assess(frame, spine, as_of, cfg.clv)
    assert mine.validation is not None and local.validation is not None
    pd.testing.assert_frame_equal(mine.summary, local.summary, rtol=1e-12)
    pd.testing.assert_frame_equal(mine.validation.customers, local.validation.customers, rtol=1e-9)
    pd.testing.assert_frame_equal(mine.validation.tracking, local.validation.tracking, rtol=1e-9)
    assert mine.bgnbd.params_ == local.bgnbd.params_ and mine.gg.params_ == local.gg.params_
    pd.testing.assert_frame_equal(mine.scores, local.scores, rtol=1e-9)
    assert len(followed) > 0 and set(followed["customer_id"]) == set(clv.action_customers(local.scores))
    assert not (run_dir / "work").exists() and spark.sparkContext._jsc is not None
