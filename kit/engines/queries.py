"""The stages' questions to the transactions answered by an engine: only per-customer (and
per-day) tables leave it.

:class:`EngineQueries` implements :class:`kit.stages.layering.queries.TransactionQueries`
(stage 02), :class:`EnginePersonas` :class:`kit.stages.personas.queries.PersonaQueries`
(stage 03) and :class:`EnginePurchases` :class:`kit.stages.clv.queries.PurchaseQueries`
(stage 04), over a table of clean transactions that DuckDB (in process) or Spark (on a
cluster) holds,
with the SQL texts the stage defines (:func:`kit.stages.features_sql.features_sql`,
:func:`kit.stages.summary_sql.summary_sql`,
:func:`kit.stages.layering.queries.category_amounts_sql`,
:func:`kit.stages.layering.queries.overdue_sql`): the same rules the in-process answers
compute, held equal to them by tests. Keyword rules (demand types by category, overdue
payment statuses) are matched in Python on the column's distinct values, the few texts a
column holds, and the engine filters on the resulting lists.

:func:`engine_transactions` is what a run's stages 02-04 read: a frame (in process) when
pandas reads the orders, else the answers of the engine the run uses (DuckDB over the clean
file for 03 and 04, Spark over it staged for a cluster for all three).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kit.core.config import KitConfig
from kit.core.dialect import DUCKDB, sql_str
from kit.core.progress import step
from kit.engines.dispatch import choose_engine, run_spark
from kit.engines.duckdb_source import connection
from kit.engines.sql_backend import DuckDBBackend, SparkBackend
from kit.stages.features import features_frame
from kit.stages.features_sql import Columns, features_sql
from kit.stages.layering.common import DEFAULT_OVERDUE_STATUSES
from kit.stages.clv.assess import TRANSACTION_COLUMNS as CLV_COLUMNS
from kit.stages.layering.queries import TRANSACTION_COLUMNS as LAYERING_COLUMNS
from kit.stages.layering.queries import category_amounts_sql, matching, overdue_sql, votes_from_amounts
from kit.stages.personas.pipeline import TRANSACTION_COLUMNS as PERSONA_COLUMNS
from kit.stages.personas.queries import (
    derived_sql,
    purchases_cte,
    recent_orders_sql,
    top_categories_sql,
    top_channel_sql,
    ts_sql,
)
from kit.stages.personas.tags import clean_text
from kit.stages.clv.queries import transaction_sql
from kit.stages.summary import HOLDOUT_COLUMNS, _days, _unit_days
from kit.stages.summary_sql import (
    SUMMARY_COLUMNS,
    calibration_holdout_sql,
    purchase_counts_sql,
    purchase_filter,
    summary_frame,
    summary_sql,
)

TABLE = "kit_stage_rows"


class _Answers:
    """What every engine's answers share: the backend ``db``, its table ``table`` (the clean
    transactions' columns, ``names``, and ``row_id``, a number per row), its row count."""

    def __init__(self, db: DuckDBBackend | SparkBackend, table: str = TABLE):
        self.db, self.table = db, table
        self.names = [c for c in db.columns(f"SELECT * FROM {table}") if c != "row_id"]
        self.n_rows = int(db.rows(f"SELECT count(*) FROM {table}")[0][0])

    def _frame(self, sql: str) -> pd.DataFrame:
        return self.db.arrow(sql).to_pandas()

    def _distinct(self, column: str) -> list[str]:
        """The column's distinct texts (what keyword and cleaning rules run on in Python)."""
        q = self.db.dialect.ident
        return [r[0] for r in self.db.rows(f"SELECT DISTINCT CAST({q(column)} AS STRING) FROM {self.table} "
                                           f"WHERE {q(column)} IS NOT NULL")]


class EngineQueries(_Answers):
    """:class:`kit.stages.layering.queries.TransactionQueries` run by the backend ``db``
    over its table ``table``."""

    def __init__(self, db: DuckDBBackend | SparkBackend, table: str = TABLE):
        super().__init__(db, table)
        self.cols = Columns.of(self.names)

    def features(self, as_of, *, window_months, quarters):
        sql = features_sql(self.table, as_of, self.cols, window_months=window_months, quarters=quarters,
                           dialect=self.db.dialect)
        return features_frame(self._frame(sql), quarters)

    def window_totals(self, as_of, months):
        """The features' trailing window of ``months`` (all history when None): the same
        counting of orders and amounts as the features, one definition."""
        if months is None:
            f = self.features(as_of, window_months=12, quarters=1)
            return pd.DataFrame({"orders": f["orders_total"], "amount": f["revenue_total"]})
        f = self.features(as_of, window_months=months, quarters=1)
        return pd.DataFrame({"orders": f["orders_12m"], "amount": f["amount_12m"]})

    def category_votes(self, idx: pd.Index, as_of, demand_keywords: Mapping[str, Sequence[str]]) -> np.ndarray | None:
        if not self.cols.category:
            return None
        categories = self._distinct("category")
        if not categories:
            return None
        lists = [matching(categories, words) for words in demand_keywords.values()]
        amounts = self._frame(category_amounts_sql(self.table, pd.Timestamp(as_of).normalize(), self.cols, lists,
                                                   dialect=self.db.dialect))
        return votes_from_amounts(amounts, idx, len(lists))

    def overdue(self, as_of, *, overdue_days, window_months, overdue_statuses) -> pd.Index | None:
        has_days, has_status = "days_overdue" in self.names, "payment_status" in self.names
        if not (has_days or has_status):
            return None
        words = list(DEFAULT_OVERDUE_STATUSES if overdue_statuses is None else overdue_statuses)
        statuses = matching(self._distinct("payment_status"), words) if has_status else None
        sql = overdue_sql(self.table, pd.Timestamp(as_of).normalize(), window_months=window_months,
                          overdue_days=overdue_days if has_days else None, statuses=statuses,
                          dialect=self.db.dialect)
        return pd.Index(self._frame(sql)["customer_id"].astype("str"), dtype="str")

    def summary(self, as_of, time_unit):
        d = self.db.dialect
        sql = summary_sql(self.table, pd.Timestamp(as_of).normalize(), _unit_days(time_unit), dialect=d,
                          purchase_filter=purchase_filter(self.names, "amount", d))
        return summary_frame(self._frame(sql), SUMMARY_COLUMNS)


class EnginePurchases(_Answers):
    """:class:`kit.stages.clv.queries.PurchaseQueries` run by the backend ``db`` over its
    table ``table``: the rows the models count (``n_rows``) are those
    :func:`kit.stages.clv.queries.transaction_sql` keeps."""

    def __init__(self, db: DuckDBBackend | SparkBackend, table: str = TABLE):
        super().__init__(db, table)
        q = db.dialect.ident
        self.filter = transaction_sql(q("amount"), q("is_return") if "is_return" in self.names else None)
        self.n_rows = int(db.rows(f"SELECT count(*) FROM {table} WHERE {self.filter}")[0][0])

    def first_date(self):
        q = self.db.dialect.ident
        first = self.db.rows(f"SELECT min({q('order_date')}) FROM {self.table} WHERE {self.filter}")[0][0]
        return pd.NaT if first is None else pd.Timestamp(first)

    def summary(self, as_of, time_unit):
        sql = summary_sql(self.table, pd.Timestamp(as_of).normalize(), _unit_days(time_unit), dialect=self.db.dialect,
                          purchase_filter=self.filter, positive_spend=True)
        return summary_frame(self._frame(sql), [*SUMMARY_COLUMNS, "frequency_spend"])

    def calibration_holdout(self, calibration_end, observation_end, time_unit):
        cal_end, obs_end = pd.Timestamp(calibration_end).normalize(), pd.Timestamp(observation_end).normalize()
        if obs_end <= cal_end:
            raise ValueError(f"observation_end ({obs_end.date()}) must be after calibration_end ({cal_end.date()})")
        unit_days = _unit_days(time_unit)
        sql = calibration_holdout_sql(self.table, cal_end, obs_end, unit_days, dialect=self.db.dialect,
                                      amount_col=None, purchase_filter=self.filter)
        columns = [c for c in HOLDOUT_COLUMNS if not c.startswith("monetary_value")]
        cal = summary_frame(self._frame(sql), columns[:-1])
        cal["duration_holdout"] = _days(obs_end - cal_end) / unit_days
        return cal

    def purchase_counts(self, end):
        sql = purchase_counts_sql(self.table, pd.Timestamp(end).normalize(), dialect=self.db.dialect,
                                  purchase_filter=self.filter)
        out = self._frame(sql)
        return pd.DataFrame({c: out[c].to_numpy("int64") for c in ("first_purchases", "repeat_purchases")},
                            index=pd.DatetimeIndex(pd.to_datetime(out["day"]), name="day"))


    def rows_of(self, customer_ids):
        q = self.db.dialect.ident
        ids = ", ".join(self.db.dialect.lit(str(c)) for c in customer_ids) or "NULL"
        out = self._frame(f"SELECT CAST({q('customer_id')} AS STRING) AS customer_id, {q('order_date')} AS order_date "
                          f"FROM {self.table} WHERE {self.filter} AND CAST({q('customer_id')} AS STRING) IN ({ids}) "
                          "ORDER BY customer_id, order_date")
        return pd.DataFrame({"customer_id": out["customer_id"].astype("str").to_numpy(),
                             "order_date": pd.to_datetime(out["order_date"]).to_numpy()})


class EnginePersonas(_Answers):
    """:class:`kit.stages.personas.queries.PersonaQueries` run by the backend ``db`` over
    its table ``table``. The channel and category texts are cleaned as the stage cleans them
    (:func:`kit.stages.personas.tags.clean_text`) on the column's distinct values, kept as a
    mapping table the SQL joins."""

    def __init__(self, db: DuckDBBackend | SparkBackend, table: str = TABLE):
        super().__init__(db, table)
        self.maps = {}
        for col in ("channel", "category"):
            if col in self.names:
                values = pd.Series(self._distinct(col), dtype="str")
                db.register(f"kit_clean_{col}", pd.DataFrame({"raw": values, "clean": clean_text(values)}))
                self.maps[col] = f"kit_clean_{col}"

    def _cte(self, as_of) -> str:
        return purchases_cte(self.table, pd.Timestamp(as_of), self.names, self.db.dialect, self.maps)

    def _scalar(self, as_of, sql: str):
        return self.db.rows(f"WITH {self._cte(as_of)} {sql}")[0][0]

    def _all_ids(self, as_of, where: str = "true") -> bool:
        """The order-id rule over the purchases ``where`` holds: every row has an id."""
        return "order_id" in self.names and bool(self._scalar(as_of, f"SELECT count(*) = count(order_id) FROM p "
                                                                      f"WHERE {where}"))

    def recent_orders(self, as_of, days):
        since = ts_sql(pd.Timestamp(as_of) - pd.Timedelta(days=days))
        return self._frame(recent_orders_sql(self._cte(as_of), pd.Timestamp(as_of), days,
                                             self._all_ids(as_of, f"order_date > {since}")))

    def top_channel(self, as_of):
        if "channel" not in self.names or not self._scalar(as_of, "SELECT count(channel_raw) FROM p"):
            return None
        return self._frame(top_channel_sql(self._cte(as_of), self._all_ids(as_of, "channel IS NOT NULL")))

    def top_categories(self, as_of, n):
        if "category" not in self.names or not self._scalar(as_of, "SELECT count(category_raw) FROM p"):
            return None
        return self._frame(top_categories_sql(self._cte(as_of), n))

    def derived(self, as_of):
        as_of = pd.Timestamp(as_of)
        has = {c: c in self.names and bool(self._scalar(as_of, f"SELECT count({c}_raw) FROM p"))
               for c in ("channel", "category")}
        channel_ids = self._all_ids(as_of, "channel_raw IS NOT NULL") if has["channel"] else None
        out = self._frame(derived_sql(self._cte(as_of), as_of, all_ids=self._all_ids(as_of), channel_ids=channel_ids,
                                      category=has["category"], dialect=self.db.dialect))
        out = out.set_index(out["customer_id"].astype("str")).drop(columns="customer_id")
        out.index.name = "customer_id"
        out.insert(out.columns.get_loc("tenure_days") + 1, "avg_order_value",
                   out["revenue_total"] / out["orders_total"])
        return out


#: What each stage asks: the columns it reads and the class that answers.
KINDS = {"layering": (LAYERING_COLUMNS, EngineQueries), "clv": (CLV_COLUMNS, EnginePurchases),
         "personas": (PERSONA_COLUMNS, EnginePersonas)}


def _select(con, path: Path, columns: Sequence[str], *, for_spark: bool) -> str:
    """``columns`` of the clean file (those it has) with ``row_id``; for Spark the
    timestamps in microseconds (Spark reads no nanosecond Parquet timestamps)."""
    src = f"read_parquet('{sql_str(str(path))}')"
    kinds = con.sql(f"SELECT * FROM {src} LIMIT 0").description
    cols = []
    for name, kind, *_ in kinds:
        if name not in columns:
            continue
        q = DUCKDB.ident(name)
        cols.append(f"CAST({q} AS TIMESTAMP) AS {q}" if for_spark and str(kind).upper().startswith("TIMESTAMP")
                    else q)
    # a number per row, streamed (a window's row_number() holds every row at once)
    return (f"SELECT {', '.join(cols)}, file_row_number AS row_id "
            f"FROM read_parquet('{sql_str(str(path))}', file_row_number = true)")


def duckdb_queries(con, path: str | Path, kind: str = "layering") -> EngineQueries | EnginePurchases:
    """The ``kind`` stage's questions over the clean Parquet file ``path``, answered by
    DuckDB (streamed from the file: out of core beyond the connection's memory limit)."""
    columns, make = KINDS[kind]
    db = DuckDBBackend(con)
    db.view(TABLE, _select(con, Path(path), columns, for_spark=False))
    return make(db)


def spark_queries(spark, stage: str | Path, path: str | Path, con,
                  kind: str = "layering") -> EngineQueries | EnginePurchases:
    """The same, answered by Spark: DuckDB writes the columns the stage reads into the stage
    folder (every executor reads it), Spark keeps them as its table."""
    columns, make = KINDS[kind]
    db = SparkBackend(spark, stage)
    staged = Path(stage) / "rows.parquet"
    DuckDBBackend(con).write_parquet(_select(con, Path(path), columns, for_spark=True), staged)
    db.read_parquet(TABLE, staged)
    return make(db)


#: Stages whose questions stay in process under DuckDB (on one machine; Spark answers every
#: stage). Measured at 10M customers, 27.7M orders, 2 cores: 02's layering answered in
#: process 187 s / 13.3 GB peak, by DuckDB over the file 238 s / 16.3 GB (4 GB DuckDB limit;
#: its per-customer tables keyed by text cost more than the numpy path's integer codes),
#: while 03 through DuckDB's answers peaked at 8.2 GB (benchmarks/README.md, seventh pass).
IN_PROCESS_WITH_DUCKDB = ("layering",)


@contextlib.contextmanager
def engine_transactions(cfg: KitConfig, path: str | Path, run_dir: str | Path | None, read,
                        kind: str = "layering") -> Iterator[pd.DataFrame | EngineQueries | EnginePurchases | EnginePersonas]:
    """What stage ``kind`` (``layering``, ``personas``, ``clv``) reads, by the engine
    :func:`kit.engines.dispatch.choose_engine` picks for the run: ``pandas``,
    ``read(columns)`` (the stage's columns of the clean transactions as a frame, answered in
    process: the fastest where they fit);
    ``duckdb``, DuckDB's answers streamed from the clean file ``path`` (with
    ``engine.memory_limit``, spilling to the run's work folder), except for the stages of
    :data:`IN_PROCESS_WITH_DUCKDB`, measured better in process; ``spark``, Spark's answers
    over the file staged for its executors, the session stopped after the block
    (:func:`run_spark`). Only per-customer (and per-day) tables reach the stage."""
    engine = choose_engine(cfg)
    if engine == "pandas" or (engine == "duckdb" and kind in IN_PROCESS_WITH_DUCKDB):
        yield read(KINDS[kind][0])
        return
    if engine == "duckdb":
        with connection(cfg.engine, run_dir=run_dir) as con:
            yield duckdb_queries(con, path, kind)
        return
    with run_spark(cfg, run_dir, kind) as (spark, stage), connection(cfg.engine, run_dir=run_dir) as con:
        with step(kind, "clean transactions staged for Spark"):
            queries = spark_queries(spark, stage / kind, path, con, kind)
        try:
            yield queries
        finally:
            queries.db.close()
