"""Engine-specific execution of the transaction-level rules (DuckDB, Spark).

The engines import the stages, never the reverse: :func:`clean_all` is
:func:`kit.stages.clean.clean_all` with the transactions cleaned by the configured engine
(:mod:`kit.engines.dispatch`); with ``clean_path`` the clean transactions go to that Parquet
file (written by DuckDB itself when DuckDB cleans) and :func:`monthly` /
:func:`purchase_amounts` read what the cleaning page shows from it. Every DuckDB connection
comes from :func:`kit.engines.duckdb_source.connect` (``engine.memory_limit``, the spill
folder). The SQL both engines run is written once
(:mod:`kit.stages.summary_sql`, :mod:`kit.core.dialect`); pyspark is optional and
imported only by :mod:`kit.engines.spark_engine`'s functions.
"""
from kit.engines.duckdb_clean import clean_transactions
from kit.engines.dispatch import (
    ENGINES,
    choose_engine,
    clean_all,
    clean_transactions_by_engine,
    monthly,
    purchase_amounts,
)

__all__ = ["ENGINES", "choose_engine", "clean_all", "clean_transactions", "clean_transactions_by_engine", "monthly", "purchase_amounts"]
