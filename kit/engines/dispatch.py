"""Which engine cleans a run's transactions, and :func:`clean_all` with that engine.

:func:`choose_engine` is the dispatch rule: ``engine.name`` from the config, where
``pandas`` turns into ``duckdb`` when the transactions file is larger than
``engine.duckdb_min_bytes``. :func:`clean_transactions_by_engine` applies it, and
:func:`clean_all` injects it into :func:`kit.stages.clean.clean_all` (the stage never
imports an engine: the engines import the stages).
"""
from __future__ import annotations

import functools
from typing import Any, Iterable

from kit.core import paths
from kit.core.config import KitConfig
from kit.engines.duckdb_clean import clean_transactions_duckdb
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
) -> tuple[TableResult, dict[str, Any]]:
    """The configured transactions cleaned by the engine :func:`choose_engine` picks.

    ``pandas`` reads with :func:`kit.io.read_table` and cleans with
    :func:`kit.stages.clean.clean_transactions`; ``duckdb`` (and ``spark``, whose cluster
    data is summarised by :mod:`kit.engines.spark_engine`, for a local file) uses
    :func:`kit.engines.duckdb_clean.clean_transactions_duckdb`, except for what only the
    pandas reader reads (Excel, ``delimiter: whitespace``). Both give the same result.

    Returns
    -------
    (TableResult, dict)
        The cleaned table, and how the file was read: ``info`` (as
        :meth:`kit.io.RawTable.info`), ``mapping``, ``how``, ``columns`` (source headers),
        ``engine``.
    """
    engine = choose_engine(cfg)
    spec = cfg.inputs.transactions
    if engine != "pandas":
        try:
            result = clean_transactions_duckdb(spec, cfg.cleaning, as_of, test_customer_ids=test_customer_ids,
                                               con=con)
        except NotImplementedError:  # Excel, or a whitespace delimiter: only the pandas reader's
            pass
        else:
            source = result.stats.pop("source")
            result.stats.pop("engine", None)
            return result, {**source, "engine": "duckdb"}
    raw = read_table(spec, "transactions")
    result = clean_stage.clean_transactions(raw, cfg.cleaning, as_of, test_customer_ids=test_customer_ids)
    source = {"info": raw.info(), "mapping": dict(raw.mapping), "how": dict(raw.how),
              "columns": list(raw.source_columns)}
    return result, {**source, "engine": "pandas"}


def clean_all(cfg: KitConfig, as_of) -> CleanResult:
    """:func:`kit.stages.clean.clean_all` with the transactions cleaned by the configured
    engine (:func:`clean_transactions_by_engine`); the same results either way."""
    return clean_stage.clean_all(cfg, as_of, clean_tx=functools.partial(clean_transactions_by_engine, cfg, as_of))
