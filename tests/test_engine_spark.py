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
