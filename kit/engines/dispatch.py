"""Which engine cleans a run's transactions, and :func:`clean_all` with that engine.

:func:`choose_engine` is the dispatch rule: ``engine.name`` from the config, where
``pandas`` turns into ``duckdb`` when the transactions file is larger than
``engine.duckdb_min_bytes``. :func:`clean_transactions_by_engine` applies it, and
:func:`clean_all` injects it into :func:`kit.stages.clean.clean_all` (the stage never
imports an engine: the engines import the stages).
"""
from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from kit.core import paths
from kit.core.config import ConfigError, KitConfig
from kit.engines import duckdb_books
from kit.core.progress import step
from kit.engines.duckdb_clean import clean_transactions, clean_transactions_duckdb
from kit.engines.duckdb_source import connection
from kit.engines.spark_engine import clean_transactions_spark, session_for
from kit.io import read_table
from kit.stages import clean as clean_stage
from kit.stages.clean import CleanResult, TableResult

ENGINES = ("pandas", "duckdb", "spark")


def input_bytes(cfg: KitConfig) -> int:
    """Size in bytes of the configured transactions file (0 when it does not exist)."""
    p = paths.resolve(cfg.inputs.transactions.path)
    return p.stat().st_size if p.is_file() else 0


def choose_engine(cfg: KitConfig) -> str:
    """The engine that reads, cleans and summarises this run's transactions.

    ``cfg.engine.name`` when it is ``duckdb`` or ``spark``; under ``pandas``, ``duckdb``
    when the transactions file is larger than ``cfg.engine.duckdb_min_bytes`` (a file
    that would not fit comfortably in memory as pandas strings), else ``pandas``.
    """
    name = cfg.engine.name
    if name not in ENGINES:  # the config validates this; kept for configs built by hand
        raise ValueError(f"engine.name must be one of {', '.join(ENGINES)} (got {name!r})")
    if name == "pandas" and input_bytes(cfg) > cfg.engine.duckdb_min_bytes:
        return "duckdb"
    return name


def clean_transactions_by_engine(
    cfg: KitConfig, as_of, test_customer_ids: Iterable[str] = (), *, con=None,
    clean_path: str | Path | None = None, run_dir: str | Path | None = None,
) -> tuple[TableResult, dict[str, Any]]:
    """The configured transactions cleaned by the engine :func:`choose_engine` picks.

    The cleaning rules are one SQL cascade (:mod:`kit.engines.duckdb_clean`) whichever
    engine is named; the engine says who *reads* the file. ``pandas``: :func:`kit.io.read_table`
    reads it (small files, and what only the pandas reader reads: Excel, ``delimiter:
    whitespace``), then DuckDB runs the cascade over the frame
    (:func:`kit.engines.duckdb_clean.clean_transactions`); ``duckdb``: DuckDB
    reads the CSV or Parquet file itself and runs the same cascade
    (:func:`kit.engines.duckdb_clean.clean_transactions_duckdb`); ``spark``: DuckDB reads the
    file as text and Spark on ``engine.spark_master`` runs the same cascade
    (:func:`kit.engines.spark_engine.clean_transactions_spark`, through the folder
    :func:`spark_stage`). The readers give the same strings and the engines the same
    result (tested).

    ``con``: a DuckDB connection (default: :func:`connect` with ``cfg.engine``'s memory limit
    and spill folder, ``run_dir`` the run folder, closed before returning). ``clean_path``:
    DuckDB writes the clean rows to this Parquet file itself and returns an empty clean
    frame (``stats["clean_file"]``).

    Returns
    -------
    (TableResult, dict)
        The cleaned table, and how the file was read: ``info`` (as
        :meth:`kit.io.RawTable.info`), ``mapping``, ``how``, ``columns`` (source headers),
        ``engine``.
    """
    if con is None:
        with connection(cfg.engine, run_dir=run_dir) as con:
            return clean_transactions_by_engine(cfg, as_of, test_customer_ids, con=con, clean_path=clean_path,
                                                run_dir=run_dir)
    engine = choose_engine(cfg)
    spec = cfg.inputs.transactions
    if engine == "spark":
        return _clean_by_spark(cfg, as_of, test_customer_ids, con=con, clean_path=clean_path, run_dir=run_dir)
    if engine != "pandas":
        try:
            result = clean_transactions_duckdb(spec, cfg.cleaning, as_of, test_customer_ids=test_customer_ids,
                                               con=con, clean_path=clean_path)
        except NotImplementedError:  # Excel, or a whitespace delimiter: only the pandas reader's
            pass
        else:
            source = result.stats.pop("source")
            result.stats.pop("engine", None)
            return result, {**source, "engine": "duckdb"}
    raw = read_table(spec, "transactions")
    result = clean_transactions(raw, cfg.cleaning, as_of, test_customer_ids=test_customer_ids, con=con,
                                clean_path=clean_path)
    return result, {**_read_by(raw), "engine": "pandas"}


def _read_by(raw) -> dict[str, Any]:
    """How the pandas reader read the file (:class:`kit.io.RawTable`), in the shape
    :func:`kit.engines.duckdb_source.source_info` gives for a file DuckDB read."""
    return {"info": raw.info(), "mapping": dict(raw.mapping), "how": dict(raw.how),
            "columns": list(raw.source_columns)}


def spark_stage(cfg: KitConfig, run_dir: str | Path | None = None) -> Path:
    """The folder the kit and Spark share (``engine.spark_stage``; a relative one from the run
    folder; default ``<run folder>/work/spark``, or a temporary folder outside a run)."""
    chosen = cfg.engine.spark_stage
    if chosen is None:
        if run_dir is None:
            return Path(tempfile.mkdtemp(prefix="kit-spark-"))
        return Path(run_dir) / "work" / "spark"
    p = Path(chosen).expanduser()
    return p if p.is_absolute() else Path(run_dir or Path.cwd()) / p


def spark_for(cfg: KitConfig, local_dir: str | Path | None = None):
    """The Spark session of ``engine.spark_master`` (its scratch files in ``local_dir`` when it
    starts here); one line to act on when pyspark or Java is missing."""
    # scratch files, and the catalogue's folder (else spark-warehouse/ in the working folder)
    config = None if local_dir is None else {"spark.local.dir": str(local_dir),
                                              "spark.sql.warehouse.dir": str(Path(local_dir) / "warehouse")}
    try:
        return session_for(cfg, config=config)
    except ImportError as e:
        raise ConfigError(f"engine.name: spark needs pyspark ({e}): pip install -e \".[spark]\" "
                          "(and a Java 17+ runtime), or set engine.name: duckdb") from None
    except Exception as e:  # the JVM did not start: no Java, or a master that cannot be reached
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"engine.name: spark: no Spark session on engine.spark_master "
                          f"{cfg.engine.spark_master!r} ({first}); check Java 17+ and the master URL, "
                          "or set engine.name: duckdb") from None


def _running_spark():
    """The Spark session already running in this process, if any (pyspark may be absent)."""
    try:
        from pyspark.sql import SparkSession  # noqa: PLC0415  optional dependency
    except ImportError:
        return None
    return SparkSession.getActiveSession()


@contextlib.contextmanager
def run_spark(cfg: KitConfig, run_dir: str | Path | None, section: str):
    """The Spark session of ``engine.spark_master`` and the stage folder (:func:`spark_stage`)
    for a ``with`` block. A session started here writes its scratch files in the stage and
    is stopped afterwards (its JVM's memory given back before the notebook goes on); one that
    was running is left running. The run's default work folders go when left empty."""
    stage = spark_stage(cfg, run_dir)
    started = _running_spark() is None
    with step(section, f"Spark session on {cfg.engine.spark_master}"):
        spark = spark_for(cfg, local_dir=stage / "local")
    try:
        yield spark, stage
    finally:
        if started:
            spark.stop()
            shutil.rmtree(stage / "local", ignore_errors=True)
        for folder in (stage, stage.parent):  # the run's work folders, when the engine left them empty
            if folder.is_dir() and not any(folder.iterdir()) and cfg.engine.spark_stage is None:
                folder.rmdir()


def _clean_by_spark(cfg: KitConfig, as_of, test_customer_ids, *, con, clean_path, run_dir):
    """The orders cleaned by Spark (:func:`kit.engines.spark_engine.clean_transactions_spark`):
    DuckDB opens a CSV or Parquet file as text (the pandas reader an Excel or
    whitespace-separated one), Spark runs the cascade (:func:`run_spark`)."""
    spec = cfg.inputs.transactions
    with run_spark(cfg, run_dir, "clean") as (spark, stage):
        kw = dict(spark=spark, stage=stage, test_customer_ids=test_customer_ids, con=con, clean_path=clean_path)
        try:
            result = clean_transactions_spark(spec, cfg.cleaning, as_of, **kw)
        except NotImplementedError:  # Excel, or a whitespace delimiter: only the pandas reader's
            raw = read_table(spec, "transactions")
            result = clean_transactions_spark(raw, cfg.cleaning, as_of, **kw)
            source = _read_by(raw)
        else:
            source = result.stats.pop("source")
    result.stats.pop("engine", None)
    return result, {**source, "engine": "spark"}


def clean_all(cfg: KitConfig, as_of, *, clean_path: str | Path | None = None,
              run_dir: str | Path | None = None) -> CleanResult:
    """:func:`kit.stages.clean.clean_all` with the transactions cleaned by the configured
    engine (:func:`clean_transactions_by_engine`); the same results either way.

    ``clean_path`` (the run's ``transactions_clean.parquet``): DuckDB writes the clean
    transactions there itself (``COPY``, never through pandas) and
    ``CleanResult.transactions`` is None: read the file, or :func:`monthly` /
    :func:`purchase_amounts` of it, for what a page shows. The quality report's ``coverage``
    is then computed over the file. ``run_dir``: the run folder (DuckDB spills to
    ``<run_dir>/work/duckdb_tmp`` unless ``engine.temp_directory`` says otherwise).
    """
    with connection(cfg.engine, run_dir=run_dir) as con:
        clean_tx = functools.partial(clean_transactions_by_engine, cfg, as_of, con=con, clean_path=clean_path,
                                     run_dir=run_dir)
        result = clean_stage.clean_all(cfg, as_of, clean_tx=clean_tx)
        if clean_path is None:
            return result
        cover = functools.partial(clean_stage.coverage, master=result.customers,
                                  interactions=result.interactions, subscriptions=result.subscriptions,
                                  usage=result.usage)
        result.quality["coverage"] = duckdb_books.coverage(con, clean_path, cover, result.customers)
        result.transactions = None
        return result


def monthly(path: str | Path, cfg: KitConfig | None = None, *, run_dir: str | Path | None = None) -> pd.DataFrame:
    """:func:`kit.stages.clean.monthly` of a clean transactions Parquet file (DuckDB over the
    file: purchases per calendar month, ``orders`` and ``revenue``)."""
    with connection(cfg.engine if cfg else None, run_dir=run_dir) as con:
        return duckdb_books.monthly(con, path)


def purchase_amounts(path: str | Path, cfg: KitConfig | None = None, *,
                     run_dir: str | Path | None = None) -> pd.DataFrame:
    """The purchase amounts of a clean transactions Parquet file (column ``amount``), what
    :func:`kit.present.plots.clean.plot_amount_distribution` draws."""
    with connection(cfg.engine if cfg else None, run_dir=run_dir) as con:
        return duckdb_books.purchase_amounts(con, path)
