"""Spark engine: the per-customer tables as Spark SQL, for transactions that live in a cluster.

:func:`summary_spark` computes the same per-customer table as
:func:`kit.stages.summary.customer_summary` (day resolution, lifetimes' conventions) with Spark SQL
over a Spark DataFrame or a Parquet / CSV path that the cluster can read (``hdfs://``,
``s3a://``, a shared folder). Only the per-customer table -- one row per customer, four
numbers -- comes back to pandas; the transactions never leave the cluster. The models
(:mod:`kit.stages.clv`) then run on that table on the driver as usual. :func:`features_spark`
does the same for the business features of :func:`kit.stages.features.business_features`
(the SQL of :mod:`kit.stages.features_sql`), and :func:`clean_transactions_spark` runs the
transaction cleaning cascade (:mod:`kit.engines.duckdb_clean`, the SQL DuckDB runs) in Spark.

The master URL is ``engine.spark_master`` in the config (``local[2]`` by default: Spark on
this machine, two cores; ``spark://host:7077``, ``yarn`` or ``k8s://...`` for a cluster).
Needs ``pyspark`` and a Java runtime (Spark 4: Java 17 or later); see
``benchmarks/README.md`` for a cluster example.

The SQL is :func:`kit.stages.summary_sql.summary_sql`, the text DuckDB runs too, in the
Spark dialect (:data:`kit.core.dialect.SPARK`). pyspark is optional (``pip install
customer-value-kit[spark]``): it is imported inside the functions that need it, so that
``import kit.engines`` works without it.

Data shape: ``customer_id, order_date, amount [, is_return]`` -> ``customer_id`` (index,
sorted) ``-> frequency, recency, T, monetary_value`` (float).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from kit.core.dialect import SPARK
from kit.core.progress import step
from kit.engines.duckdb_clean import run_cascade
from kit.engines.duckdb_source import connect, open_frame, open_transactions
from kit.engines.sql_backend import DuckDBBackend, SparkBackend
from kit.io import SOURCE_ROW, RawTable
from kit.stages.clean import TableResult
from kit.stages.features import features_frame
from kit.stages.features_sql import Columns, features_sql
from kit.stages.summary import _unit_days
from kit.stages.summary_sql import SUMMARY_COLUMNS, check_no_nulls, needed_columns, purchase_filter, summary_frame, summary_sql

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

    from kit.core.config import KitConfig

APP_NAME = "customer-value-kit"

#: Spark's log configuration under the kit (errors only): shipped with the package.
LOG_CONFIG = Path(__file__).with_name("spark_log4j2.properties")


def spark_session(master: str = "local[2]", *, app_name: str = APP_NAME,
                  config: dict[str, str] | None = None) -> "SparkSession":
    """A Spark session on ``master`` (reused when one is already running).

    Session time zone UTC (dates are taken as written, never shifted), Arrow for the
    transfer of the per-customer table to pandas, no web UI, no console progress bars, and
    Spark's log at errors only (:data:`LOG_CONFIG`: a run's console and a notebook's output are
    for the analyst). ``config`` adds or overrides Spark settings (``spark.executor.memory``,
    ``spark.local.dir`` ...); settings that start the JVM apply only when no session runs yet.
    """
    from pyspark.sql import SparkSession  # optional dependency: imported only when Spark is used

    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}"))
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def session_for(cfg: "KitConfig", **kwargs: Any) -> "SparkSession":
    """The Spark session of a run: ``cfg.engine.spark_master``."""
    return spark_session(cfg.engine.spark_master, **kwargs)


def spark_frame(spark: "SparkSession", source: Any, *, customer_col: str = "customer_id") -> "SparkDataFrame":
    """A Spark DataFrame over ``source``: a Spark DataFrame, a Parquet or CSV path (any URL
    the cluster reads; a folder of part files too), or a pandas DataFrame (small data, tests).

    CSV files need a header; they are read as text (ids keep their leading zeros) and the
    summary casts dates (``YYYY-MM-DD[ hh:mm:ss]``) and amounts.
    """
    from pyspark.sql import DataFrame as SparkDataFrame  # optional dependency, see spark_session

    if isinstance(source, SparkDataFrame):
        return source
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]):
                frame[col] = frame[col].astype("datetime64[us]")  # Spark's timestamp precision
            elif frame[col].dtype == "str":
                frame[col] = frame[col].astype(object)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return spark.createDataFrame(frame)
    path = str(source)
    if path.lower().endswith((".csv", ".txt", ".csv.gz")):
        # every column as text (ids keep leading zeros); the summary's SQL casts date and amount
        return spark.read.option("header", True).option("inferSchema", False).csv(path)
    return spark.read.parquet(path)


def summary_spark(
    source: Any,
    as_of=None,
    time_unit: str = "week",
    *,
    master: str | None = None,
    spark: "SparkSession | None" = None,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str | None = "amount",
    purchases_only: bool = True,
) -> pd.DataFrame:
    """Per-customer BG/NBD and Gamma-Gamma inputs as Spark SQL; only that table comes back.

    Equal to :func:`kit.stages.summary.customer_summary` (``freq="D"``) on the same rows, to 1e-9:
    ``customer_id, order_date [, amount]`` -> ``customer_id -> frequency, recency, T
    [, monetary_value]``.

    Parameters
    ----------
    source : Spark DataFrame, str or pandas DataFrame
        Clean transactions: a Spark DataFrame, or a Parquet / CSV path Spark can read.
    as_of : date-like, optional
        End of the observation period, inclusive. Default: the latest transaction day.
    time_unit : {"day", "week", "month"}
        Unit of ``recency`` and ``T``.
    master : str, optional
        Spark master URL for a new session (``cfg.engine.spark_master``); ignored when
        ``spark`` is given. Default ``local[2]``.
    spark : SparkSession, optional
        An existing session (e.g. on a cluster).
    customer_col, date_col, amount_col : str
        Column names; ``amount_col=None`` omits ``monetary_value``.
    purchases_only : bool
        Keep purchases only, as the CLV stage does (:data:`kit.stages.features.PURCHASE_SQL`).

    Returns
    -------
    DataFrame
        pandas, index ``customer_id`` (str, sorted), float columns ``frequency, recency, T
        [, monetary_value]``.

    Raises
    ------
    ValueError
        For missing columns, rows without id, date or amount, or an unknown ``time_unit``.
    """
    unit_days = _unit_days(time_unit)
    spark = spark if spark is not None else spark_session(master or "local[2]")
    frame = spark_frame(spark, source, customer_col=customer_col)
    needed = needed_columns(frame.columns, customer_col, date_col, amount_col)
    from pyspark.sql import functions as F  # optional dependency, see spark_session

    nulls = frame.select([F.sum(F.col(c).isNull().cast("long")).alias(c) for c in needed]).collect()[0]
    check_no_nulls([nulls[c] for c in needed], needed)
    purchase = purchase_filter(frame.columns, amount_col, SPARK) if purchases_only else None
    view = "kit_transactions"
    frame.createOrReplaceTempView(view)
    end = None if as_of is None else pd.Timestamp(as_of).normalize()
    cols = dict(customer_col=customer_col, date_col=date_col, purchase_filter=purchase)
    sql = summary_sql(view, end, unit_days, dialect=SPARK, amount_col=amount_col, **cols)
    with warnings.catch_warnings():  # pyspark 4.3 warns about pandas >= 3 on every transfer
        warnings.simplefilter("ignore")
        out = spark.sql(sql).toPandas()
    spark.catalog.dropTempView(view)
    return summary_frame(out, SUMMARY_COLUMNS if amount_col is not None else SUMMARY_COLUMNS[:3])


def features_spark(
    source: Any,
    as_of,
    *,
    window_months: int = 12,
    quarters: int = 4,
    master: str | None = None,
    spark: "SparkSession | None" = None,
) -> pd.DataFrame:
    """:func:`kit.stages.features.business_features` as Spark SQL (the SQL text DuckDB runs
    in process, :func:`kit.stages.features_sql.features_sql`); only the per-customer table
    comes back.

    ``source``: clean transactions in the canonical columns (``customer_id, order_date,
    amount`` and, where present, ``order_id, is_return, profit, margin, category``), as for
    :func:`summary_spark`. Lines without an order id are told apart by
    ``monotonically_increasing_id()``. Returns what ``business_features`` returns.
    """
    from pyspark.sql import functions as F  # optional dependency, see spark_session

    spark = spark if spark is not None else spark_session(master or "local[2]")
    frame = spark_frame(spark, source)
    needed_columns(frame.columns, "customer_id", "order_date", "amount")
    columns = Columns.of(frame.columns)
    frame = frame.withColumn("row_id", F.monotonically_increasing_id())
    view = "kit_transactions"
    frame.createOrReplaceTempView(view)
    sql = features_sql(view, as_of, columns, window_months=window_months, quarters=quarters, dialect=SPARK)
    with warnings.catch_warnings():  # pyspark 4.3 warns about pandas >= 3 on every transfer
        warnings.simplefilter("ignore")
        out = spark.sql(sql).toPandas()
    spark.catalog.dropTempView(view)
    return features_frame(out, quarters)


def clean_transactions_spark(
    spec_or_raw,
    cleaning,
    as_of,
    *,
    spark,
    stage: str | Path,
    test_customer_ids=(),
    con: duckdb.DuckDBPyConnection | None = None,
    table: str = "transactions",
    clean_path: str | Path | None = None,
) -> TableResult:
    """The transaction cleaning cascade run by Spark: DuckDB opens the file as text as for
    :func:`kit.engines.duckdb_clean.clean_transactions_duckdb` (or takes the
    :class:`kit.io.RawTable` the pandas reader read), writes those rows to ``stage`` as Parquet, and Spark (``spark``, a session on any
    master) runs every step of the cascade over them; only the quarantined rows and the
    statistics come back, and the clean rows go to ``clean_path`` through the stage
    (:meth:`kit.engines.sql_backend.SparkBackend.write_parquet`). ``stage``: a folder the
    driver and every executor read (a shared mount on a cluster). Returns what
    :func:`kit.engines.duckdb_clean.clean_transactions_duckdb` returns, equal to it (tested).
    """
    con = con if con is not None else connect()
    if isinstance(spec_or_raw, RawTable):
        src, table = open_frame(con, spec_or_raw, spec_or_raw.table), spec_or_raw.table
    else:
        src = open_transactions(con, spec_or_raw, table)
    db = SparkBackend(spark, Path(stage) / f"clean-{table}")
    try:
        with step("clean", f"{table} (spark): rows staged for Spark", rows=src.info.get("rows")):
            raw = db.stage / "raw.parquet"
            DuckDBBackend(con).write_parquet(f"SELECT * FROM {src.view}", raw, order_by=SOURCE_ROW)
            db.read_parquet(src.view, raw)
        result = run_cascade(db, src, cleaning, as_of, test_customer_ids, table, clean_path)
    finally:
        DuckDBBackend(con).drop()
        db.close()
    result.stats["engine"] = "spark"
    if isinstance(spec_or_raw, RawTable):
        result.stats.pop("source", None)
    return result
