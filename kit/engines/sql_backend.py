"""Where the kit's transaction SQL runs: DuckDB in process, or Spark on a cluster.

The cleaning cascade (:mod:`kit.engines.duckdb_clean`, :mod:`kit.engines.duckdb_values`,
:mod:`kit.engines.duckdb_books`) is one SQL text per step, written through a
:class:`kit.core.dialect.Dialect`; what it asks of an engine is the short list below, and a
backend is that list for one engine:

* ``table(name, sql)`` / ``view(name, sql)``: a named intermediate, stored or not;
* ``rows(sql)``, ``frame(sql)`` (pandas), ``arrow(sql)``, ``columns(sql)``: results (only
  small ones: statistics, distinct odd values, the quarantined rows);
* ``register(name, frame)``: a small pandas table (the parsed odd values, the test accounts)
  as a stored table;
* ``drop(names)``: intermediates given back;
* ``write_parquet(sql, path, order_by)``: the rows of ``sql`` as one Parquet file, never
  through pandas.

:class:`DuckDBBackend` wraps a DuckDB connection; :class:`SparkBackend` a Spark session, with
a *stage* folder the driver and the executors both read (a local folder in local mode, a
shared mount on a cluster): the raw rows go there as Parquet for Spark to read, and Spark's
clean rows come back through it, joined into the one Parquet file in file order by DuckDB.
"""
from __future__ import annotations

import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kit.core.dialect import DUCKDB, SPARK, Dialect, sql_str


def arrow_of(frame: pd.DataFrame) -> pa.Table:
    """A small pandas table as Arrow with a type for every column, empty or all-missing ones
    too (text where pandas has objects, zone-less microsecond timestamps); NaN and NaT are
    missing values (NULL), as DuckDB reads a pandas frame."""
    cols = {}
    for name in frame.columns:
        s = frame[name]
        if pd.api.types.is_bool_dtype(s):
            cols[name] = pa.array(s.to_numpy(bool), type=pa.bool_())
        elif pd.api.types.is_datetime64_any_dtype(s):
            cols[name] = pa.array(s.astype("datetime64[us]"), type=pa.timestamp("us"), from_pandas=True)
        elif pd.api.types.is_float_dtype(s):
            cols[name] = pa.array(s.to_numpy("float64"), type=pa.float64(), from_pandas=True)
        elif pd.api.types.is_integer_dtype(s):
            cols[name] = pa.array(s.to_numpy("int64"), type=pa.int64())
        else:
            cols[name] = pa.array(s.astype(object).where(s.notna(), None).to_numpy(), type=pa.string())
    return pa.table(cols) if cols else pa.table({})


class DuckDBBackend:
    """The backend of a DuckDB connection (in process)."""

    dialect: Dialect = DUCKDB

    def __init__(self, con):
        self.con = con

    def table(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple]:
        return self.con.sql(sql).fetchall()

    def frame(self, sql: str) -> pd.DataFrame:
        return self.con.sql(sql).df()

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def batches(self, sql: str, rows: int) -> Iterator[pa.RecordBatch]:
        return iter(self.con.sql(sql).to_arrow_reader(rows))

    def columns(self, sql: str) -> list[str]:
        return [d[0] for d in self.con.sql(f"SELECT * FROM ({sql}) LIMIT 0").description]

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(f"{name}_df", arrow_of(frame))
        try:
            self.table(name, f"SELECT * FROM {name}_df")
        finally:
            self.con.unregister(f"{name}_df")

    def drop(self, names=None) -> None:
        """Drop temporary tables and views (``names``, else every one of the connection): their
        memory, or their spilled pages, go back at once."""
        rows = self.con.sql("SELECT table_name, table_type FROM information_schema.tables "
                            "WHERE table_catalog = 'temp'").fetchall()
        for name, kind in rows:
            if names is None or name in names:
                self.con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS temp.{DUCKDB.ident(name)}")

    def write_parquet(self, sql: str, path: str | Path, order_by: str | None = None) -> Path:
        """The rows of ``sql`` written by DuckDB to the Parquet file ``path`` (zstd; DuckDB
        streams them, spilling a sort to disk when it must)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = sql if order_by is None else f"{sql} ORDER BY {order_by}"
        self.con.execute(f"COPY ({body}) TO '{sql_str(str(path))}' (FORMAT parquet, COMPRESSION zstd)")
        return path


#: Spark settings the cascade relies on: dates taken as written (UTC, zone-less TIMESTAMP),
#: invalid casts NULL as DuckDB's TRY_CAST (the SQL casts only what it has checked, but Spark
#: may evaluate a branch it does not take), zone-less timestamps written to Parquet as such.
SPARK_SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.constraintPropagation.enabled": "false",
}


class SparkBackend:
    """The backend of a Spark session; ``stage`` the folder Spark and the driver share."""

    dialect: Dialect = SPARK

    def __init__(self, spark, stage: str | Path):
        self.spark = spark
        self.stage = Path(stage)
        self.stage.mkdir(parents=True, exist_ok=True)
        self._stored: dict[str, Any] = {}
        for key, value in SPARK_SQL_CONF.items():
            spark.conf.set(key, value)

    def _sql(self, sql: str):
        return self.spark.sql(sql)

    def _keep(self, name: str, df) -> None:
        """``df`` computed now and kept (memory, then the executors' disks) as ``name``. A
        local checkpoint, not a cache: later plans start from the stored rows, not from the
        plans that made them (the cascade's steps read their predecessors several times each,
        and with the plans inlined the analysis ran out of the driver's heap)."""
        old = self._stored.pop(name, None)
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        self._stored[name] = df
        if old is not None:
            old.unpersist()

    def table(self, name: str, sql: str) -> None:
        self._keep(name, self._sql(sql))

    def view(self, name: str, sql: str) -> None:
        """Stored, as a table (:meth:`_keep`): a view's plan is inlined into every plan that
        reads it."""
        self.table(name, sql)

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self._sql(sql).collect()]

    def frame(self, sql: str) -> pd.DataFrame:
        with warnings.catch_warnings():  # pyspark warns about pandas >= 3 on every transfer
            warnings.simplefilter("ignore")
            return self.arrow(sql).to_pandas()

    def arrow(self, sql: str) -> pa.Table:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._sql(sql).toArrow()

    def batches(self, sql: str, rows: int) -> Iterator[pa.RecordBatch]:
        return iter(self.arrow(sql).to_batches(rows))

    def columns(self, sql: str) -> list[str]:
        return list(self._sql(sql).columns)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        table = arrow_of(frame)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = self.spark.createDataFrame(table)
        self._keep(name, df)

    def read_parquet(self, name: str, path: str | Path) -> None:
        """The Parquet file or folder ``path`` (in the stage) as the stored table ``name``."""
        self._keep(name, self.spark.read.parquet(str(path)))

    def drop(self, names=None) -> None:
        for name in list(self._stored if names is None else names):
            df = self._stored.pop(name, None)
            self.spark.catalog.dropTempView(name)
            if df is not None:
                df.unpersist()
        if names is None:
            for t in self.spark.catalog.listTables():
                if t.isTemporary:
                    self.spark.catalog.dropTempView(t.name)

    def write_parquet(self, sql: str, path: str | Path, order_by: str | None = None) -> Path:
        """Spark writes the rows of ``sql`` as part files in the stage; DuckDB joins them into
        the one file ``path``, in ``order_by`` order (the driver reads the parts as they
        stream: the rows never enter pandas), with timestamps in nanoseconds as the DuckDB
        backend writes them."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        parts = self.stage / f"out-{uuid.uuid4().hex}"
        df = self._sql(sql)
        try:
            df.write.mode("overwrite").parquet(str(parts))
            files = sorted(parts.glob("*.parquet"))
            if not files:  # no rows and no part file: the schema from Spark, no rows
                pq.write_table(df.limit(0).toArrow(), parts / "empty.parquet")
                files = [parts / "empty.parquet"]
            con = duckdb.connect()
            try:
                src = f"read_parquet('{sql_str(str(parts))}/*.parquet')"
                kinds = con.sql(f"SELECT * FROM {src} LIMIT 0").description
                cast = [f"CAST({DUCKDB.ident(n)} AS TIMESTAMP_NS) AS {DUCKDB.ident(n)}"
                        if str(t).upper().startswith("TIMESTAMP") else DUCKDB.ident(n) for n, t, *_ in kinds]
                DuckDBBackend(con).write_parquet(f"SELECT {', '.join(cast)} FROM {src}", path, order_by)
            finally:
                con.close()
        finally:
            shutil.rmtree(parts, ignore_errors=True)
        return path

    def close(self) -> None:
        """Give back every stored table and remove the stage folder's contents of this backend."""
        self.drop()
        shutil.rmtree(self.stage, ignore_errors=True)


def backend_of(con) -> DuckDBBackend | SparkBackend:
    """``con`` as a backend: a backend as it is, a DuckDB connection wrapped."""
    return con if isinstance(con, (DuckDBBackend, SparkBackend)) else DuckDBBackend(con)
