"""kit.engines.duckdb_engine: DuckDB reading the files itself gives the numbers of the pandas
reader's path (the same cleaning SQL over the frame kit.io read) and of the numpy summary.

The summary is compared with :func:`kit.summary.customer_summary` to 1e-9 on the bundled
sample data (cleaned by the pandas path), on simulated BG/NBD data, and on tiny inline
frames with the edge cases (several orders a day, rows after as_of, returns).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

duckdb = pytest.importorskip("duckdb")

from kit import engines  # noqa: E402
from kit.core import paths  # noqa: E402
from kit.core.config import Cleaning, InputTable, load_config  # noqa: E402
from kit.datasets import simulate_bgnbd  # noqa: E402
from kit.engines.duckdb_engine import (  # noqa: E402
    choose_engine,
    clean_transactions_by_engine,
    clean_transactions_duckdb,
    summary_duckdb,
)
from kit.io import read_table  # noqa: E402
from kit.stages import clean as clean_stage  # noqa: E402
from kit.stages.features import purchase_mask  # noqa: E402
from kit.stages.summary import customer_summary  # noqa: E402

AS_OF = "2026-09-30"


def assert_same_summary(ours: pd.DataFrame, theirs: pd.DataFrame, tol: float = 1e-9) -> None:
    assert list(ours.columns) == list(theirs.columns)
    assert ours.index.name == theirs.index.name == "customer_id"
    assert ours.index.equals(theirs.index), "customers or their order differ"
    assert str(ours.index.dtype) == "str"
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=tol, atol=tol)


@pytest.fixture(scope="module")
def sample_clean():
    """The bundled sample's transactions, read by the pandas reader and cleaned (kit.engines.clean_all)."""
    cfg = load_config(paths.DEFAULT_CONFIG)
    return engines.clean_all(cfg, pd.Timestamp(AS_OF)).transactions


def test_summary_equals_pandas_on_the_sample_data(sample_clean, tmp_path):
    purchases = sample_clean[purchase_mask(sample_clean).to_numpy()]
    theirs = customer_summary(purchases, AS_OF, time_unit="week")
    assert len(theirs) > 1000
    # from the frame (refunds, returns and zero rows are filtered as the CLV stage does)
    assert_same_summary(summary_duckdb(sample_clean, AS_OF, time_unit="week"), theirs)
    # from the clean Parquet artifact, out of core
    pq = tmp_path / "transactions_clean.parquet"
    sample_clean.to_parquet(pq, index=False)
    assert_same_summary(summary_duckdb(pq, AS_OF, time_unit="week"), theirs)
    # an earlier as_of leaves later orders out, in both
    assert_same_summary(summary_duckdb(pq, "2025-06-30", time_unit="month"),
                        customer_summary(purchases, "2025-06-30", time_unit="month"))


def test_summary_equals_pandas_on_simulated_data_from_csv(tmp_path):
    tx = simulate_bgnbd(3000, seed=5)
    tx["customer_id"] = tx["customer_id"].map(lambda i: f"{i:07d}")  # ids with leading zeros
    csv = tmp_path / "orders.csv"
    tx.to_csv(csv, index=False, date_format="%Y-%m-%d")
    for unit in ("day", "week", "month"):
        assert_same_summary(summary_duckdb(csv, "2025-06-28", time_unit=unit),
                            customer_summary(tx, "2025-06-28", time_unit=unit))
    # default as_of: the latest day in the data
    assert_same_summary(summary_duckdb(csv), customer_summary(tx))


def test_edge_cases_on_a_tiny_frame():
    tx = pd.DataFrame({
        "customer_id": ["b", "a", "a", "a", "a", "c", "c"],
        "order_date": pd.to_datetime(["2024-01-03", "2024-01-01 09:00", "2024-01-01 17:30", "2024-01-15",
                                      "2024-03-01", "2024-01-10", "2024-01-20"], format="ISO8601"),
        "amount": [7.0, 10.0, 5.0, 20.0, 99.0, 3.0, 4.0],
        "is_return": [False, False, False, False, False, False, True],
    })
    ours = summary_duckdb(tx, "2024-01-29", time_unit="week")
    purchases = tx[purchase_mask(tx).to_numpy()]
    assert_same_summary(ours, customer_summary(purchases, "2024-01-29", time_unit="week"))
    assert ours.loc["a"].tolist() == [1.0, 2.0, 4.0, 20.0]  # the docstring example of customer_summary
    assert ours.loc["c", "frequency"] == 0 and ours.loc["c", "monetary_value"] == 0  # the return is no purchase
    without_amount = summary_duckdb(tx, "2024-01-29", amount_col=None)
    assert list(without_amount.columns) == ["frequency", "recency", "T"]


def test_missing_values_and_columns_raise():
    tx = pd.DataFrame({"customer_id": ["a", None], "order_date": pd.to_datetime(["2024-01-01"] * 2),
                       "amount": [1.0, 2.0]})
    with pytest.raises(ValueError, match="1 transaction.*'customer_id'"):
        summary_duckdb(tx)
    with pytest.raises(ValueError, match="Required column.*'amount'"):
        summary_duckdb(tx.drop(columns="amount"))
    with pytest.raises(ValueError, match="time_unit"):
        summary_duckdb(tx.dropna(), time_unit="year")


def test_choose_engine(tmp_path):
    cfg = load_config(paths.DEFAULT_CONFIG)
    assert choose_engine(cfg) == "pandas"
    size = paths.resolve(cfg.inputs.transactions.path).stat().st_size
    cfg.engine.duckdb_min_bytes = size - 1  # a file larger than the threshold goes to DuckDB
    assert choose_engine(cfg) == "duckdb"
    cfg.engine.duckdb_min_bytes = size
    assert choose_engine(cfg) == "pandas"
    cfg.engine.name = "spark"
    assert choose_engine(cfg) == "spark"
    cfg.engine.name = "duckdb"
    cfg.engine.duckdb_min_bytes = 10**12
    assert choose_engine(cfg) == "duckdb"


# --------------------------------------------------------------------------------------
# Cleaning as SQL: the same clean data, quarantine, merged refunds and books
# --------------------------------------------------------------------------------------


def assert_same_cleaning(ours, theirs) -> None:
    for part in ("clean", "quarantine", "merged"):
        pd.testing.assert_frame_equal(getattr(ours, part), getattr(theirs, part), check_exact=False, rtol=1e-9,
                                      obj=part)
    assert ours.reconciliation == theirs.reconciliation
    stats = {k: v for k, v in ours.stats.items() if k not in ("engine", "source")}
    assert stats.keys() == theirs.stats.keys()
    for key, value in theirs.stats.items():
        if key == "outliers" and value["threshold"] is not None:
            assert stats[key]["threshold"] == pytest.approx(value["threshold"], rel=1e-12)
            assert stats[key]["count"] == value["count"]
        else:
            assert stats[key] == value, key


def pandas_cleaning(spec, cleaning, as_of, **kw):
    """The same cascade over the frame the pandas reader reads (kit.io.read_table)."""
    return engines.clean_transactions(read_table(spec, "transactions"), cleaning, pd.Timestamp(as_of), **kw)


@pytest.mark.parametrize("refunds", ["net", "keep", "drop"])
def test_cleaning_equals_pandas_on_the_sample_data(refunds):
    """data/sample/orders.csv: GBK, CRLF, every injected defect; transcoded to UTF-8 for DuckDB."""
    cfg = load_config(paths.DEFAULT_CONFIG)
    cleaning = cfg.cleaning.model_copy(update={"refunds": refunds})
    test_ids = {"000017"}  # as if the customer master marked this customer a test account
    ours = clean_transactions_duckdb(cfg.inputs.transactions, cleaning, AS_OF, test_customer_ids=test_ids)
    theirs = pandas_cleaning(cfg.inputs.transactions, cleaning, AS_OF, test_customer_ids=test_ids)
    assert len(theirs.quarantine) > 1000 and theirs.quarantine["reason"].nunique() >= 7
    assert_same_cleaning(ours, theirs)
    assert ours.stats["source"]["info"]["encoding"] == "gbk"


def test_cleaning_rules_switched_off_and_other_layouts(tmp_path):
    """Title rows above the header, blank lines, a semicolon, UTF-8 with BOM, no order id."""
    body = ["Export 2024;;;", ";;;", "Kunde;Datum;Betrag;Status", "A01;2024-01-05;100,00;",
            "A01;2024-01-05;100,00;", "", "A02;05.01.2024;;", "test9;2024-02-01;5;", "A03;2024/2/3;-20;",
            "A03;2024-02-03 10:30;0;", " a04 ;2030-01-01;7;", "A05;45300;1.5万;cancelled", ""]
    csv = tmp_path / "orders.csv"
    csv.write_text("\r\n".join(body), encoding="utf-8-sig")
    spec = InputTable(path=str(csv), columns={"customer_id": "Kunde", "order_date": "Datum", "amount": "Betrag",
                                              "status": "Status"}, decimal=",", dayfirst=True)
    for cleaning in (Cleaning(), Cleaning(duplicates="keep", future_dates="keep", zero_amount="keep",
                                          test_account_pattern="")):
        ours = clean_transactions_duckdb(spec, cleaning, "2024-12-31")
        theirs = pandas_cleaning(spec, cleaning, "2024-12-31")
        assert_same_cleaning(ours, theirs)
    raw = read_table(spec, "transactions")
    assert ours.stats["source"]["info"] == raw.info() and raw.info()["blank_rows_skipped"] == 1
    assert ours.stats["source"]["info"]["header_row"] == 3 and ours.stats["source"]["info"]["delimiter"] == ";"


def test_cleaning_equals_pandas_on_parquet(tmp_path):
    tx = simulate_bgnbd(500, seed=2)
    tx.loc[3, "amount"] = 0.0
    tx = pd.concat([tx, tx.iloc[[5]]], ignore_index=True)  # an exact duplicate
    pq = tmp_path / "orders.parquet"
    tx.to_parquet(pq, index=False)
    spec = InputTable(path=str(pq))
    ours = clean_transactions_duckdb(spec, Cleaning(), "2025-06-30")
    theirs = pandas_cleaning(spec, Cleaning(), "2025-06-30")
    assert set(theirs.quarantine["reason"]) == {"duplicate", "zero_amount"}
    assert_same_cleaning(ours, theirs)


def test_clean_by_engine_is_the_same_either_way():
    """The cleaner kit.engines.clean_all injects into the stage: the same table and source
    description from both engines."""
    cfg = load_config(paths.DEFAULT_CONFIG)
    theirs, src_pandas = clean_transactions_by_engine(cfg, pd.Timestamp(AS_OF))
    cfg.engine.name = "duckdb"
    ours, src_duckdb = clean_transactions_by_engine(cfg, pd.Timestamp(AS_OF))
    assert (src_pandas.pop("engine"), src_duckdb.pop("engine")) == ("pandas", "duckdb")
    assert src_pandas == src_duckdb
    assert_same_cleaning(ours, theirs)
    assert ours.stats.keys() == theirs.stats.keys()


def test_clean_by_engine_falls_back_to_pandas_for_what_only_pandas_reads():
    """CDNOW's whitespace-delimited text is read by kit.io only, whatever the engine."""
    cfg = load_config(paths.CONFIGS_DIR / "cdnow.yml")
    cfg.engine.name = "duckdb"
    result, source = clean_transactions_by_engine(cfg, pd.Timestamp("1998-06-30"))
    assert source["engine"] == "pandas" and source["info"]["delimiter"] == "whitespace"
    assert len(result.clean) > 60000


def test_clean_all_dispatches_to_duckdb_with_the_same_books():
    """kit.engines.clean_all (the stage's clean_all with the engine's cleaner injected):
    engine.name = duckdb gives the pandas path's results."""
    cfg = load_config("tests/fixtures/small.yml")
    a = engines.clean_all(cfg, pd.Timestamp("2026-09-30"))
    cfg.engine.name = "duckdb"
    b = engines.clean_all(cfg, pd.Timestamp("2026-09-30"))
    assert (a.quality["engine"], b.quality["engine"]) == ("pandas", "duckdb")
    pd.testing.assert_frame_equal(a.transactions.reset_index(drop=True), b.transactions.reset_index(drop=True),
                                  check_dtype=False)
    assert a.quality["reconciliation"] == b.quality["reconciliation"]
    assert a.quality["mapping"] == b.quality["mapping"]
    assert sorted(a.quarantine["source_row"]) == sorted(b.quarantine["source_row"])


# --------------------------------------------------------------------------------------
# Out of core: the clean rows written by DuckDB, the connection's memory limit and spill folder
# --------------------------------------------------------------------------------------


def test_clean_rows_go_from_duckdb_to_parquet_as_the_pandas_path_cleans_them(tmp_path):
    """clean_path: DuckDB writes the clean table itself (typed, source order); only an empty
    frame with the clean table's columns and dtypes comes back."""
    cfg = load_config(paths.DEFAULT_CONFIG)
    theirs = pandas_cleaning(cfg.inputs.transactions, cfg.cleaning, AS_OF)
    out = tmp_path / "clean.parquet"
    ours = clean_transactions_duckdb(cfg.inputs.transactions, cfg.cleaning, AS_OF, clean_path=out)
    assert ours.stats["clean_file"] == str(out) and len(ours.clean) == 0
    assert list(ours.clean.columns) == list(theirs.clean.columns)
    assert ours.clean.dtypes.astype(str).tolist() == theirs.clean.dtypes.astype(str).tolist()
    pd.testing.assert_frame_equal(pd.read_parquet(out), theirs.clean, check_exact=False, rtol=1e-12)
    assert ours.reconciliation == theirs.reconciliation
    pd.testing.assert_frame_equal(ours.quarantine, theirs.quarantine, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_clean_all_writes_the_clean_file_and_keeps_no_table(engine, tmp_path):
    """engines.clean_all(clean_path=...): the same file, quality report and page figures
    (monthly, the purchase amounts) from either engine; no table left in memory."""
    cfg = load_config("tests/fixtures/small.yml")
    as_of = pd.Timestamp("2026-09-30")
    whole = engines.clean_all(cfg, as_of)  # the frame, as before
    cfg.engine.name = engine
    run = tmp_path / "run"
    result = engines.clean_all(cfg, as_of, clean_path=run / "artifacts" / "transactions_clean.parquet", run_dir=run)
    assert result.transactions is None
    written = pd.read_parquet(run / "artifacts" / "transactions_clean.parquet")
    pd.testing.assert_frame_equal(written.reset_index(drop=True), whole.transactions.reset_index(drop=True))
    for key in whole.quality:
        if key not in ("engine", "coverage"):
            assert result.quality[key] == whole.quality[key], key
    cov, ref = result.quality["coverage"], whole.quality["coverage"]
    assert cov.keys() == ref.keys()
    assert cov["orders_without_master"]["amount"] == pytest.approx(ref["orders_without_master"]["amount"], rel=1e-12)
    for key in ref:
        if key != "orders_without_master":
            assert cov[key] == ref[key], key
    assert {k: v for k, v in cov["orders_without_master"].items() if k != "amount"} == \
        {k: v for k, v in ref["orders_without_master"].items() if k != "amount"}
    pd.testing.assert_frame_equal(engines.monthly(run / "artifacts" / "transactions_clean.parquet"),
                                  clean_stage.monthly(whole.transactions), check_exact=False, rtol=1e-12)
    amounts = engines.purchase_amounts(run / "artifacts" / "transactions_clean.parquet")["amount"].to_numpy()
    tx = whole.transactions
    np.testing.assert_array_equal(amounts, tx.loc[purchase_mask(tx).to_numpy(), "amount"].to_numpy())
    assert not (run / "work").exists()  # the spill folder is removed when DuckDB left nothing in it


def test_connect_takes_the_memory_limit_and_spill_folder_from_the_config(tmp_path):
    from kit.core.config import ConfigError, parse_config
    from kit.engines.duckdb_source import connect, spill_folder

    def settings(con):
        return con.sql("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchall()[0]

    base = {"client": "t", "inputs": {"transactions": {"path": "x.csv"}}}
    cfg = parse_config({**base, "engine": {"memory_limit": "512MB"}})
    limit, folder = settings(connect(cfg.engine, run_dir=tmp_path))
    assert limit == "488.2 MiB" and folder == str(tmp_path / "work" / "duckdb_tmp")
    assert settings(connect(cfg.engine, run_dir=tmp_path, memory_limit="1GB"))[0] == "953.6 MiB"  # the argument wins
    rel = parse_config({**base, "engine": {"temp_directory": "spill"}})
    assert spill_folder(rel.engine, tmp_path) == tmp_path / "spill"  # relative: from the run folder
    assert spill_folder(None, None) is None and settings(connect())[1] == ".tmp"  # DuckDB's own default
    for bad in ("4", "lots", "0GB", "120%"):
        with pytest.raises(ConfigError, match="memory_limit"):
            parse_config({**base, "engine": {"memory_limit": bad}})
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ConfigError, match="temp_directory"):
        parse_config({**base, "engine": {"temp_directory": str(afile)}})
    with pytest.raises(ValueError, match="not a folder"):
        spill_folder(None, tmp_path, "afile")


def test_cleaning_spills_instead_of_failing_under_a_small_memory_limit(tmp_path):
    """A memory limit well below what the cleaning of this file holds: DuckDB spills to the
    run's folder and the result is the one without a limit."""
    from kit.engines.duckdb_source import connect

    tx = simulate_bgnbd(60_000, seed=3)
    tx.insert(1, "order_id", [f"O{i}" for i in range(len(tx))])
    pq = tmp_path / "orders.parquet"
    tx.to_parquet(pq, index=False)
    spec = InputTable(path=str(pq))
    free = clean_transactions_duckdb(spec, Cleaning(), "2025-06-30", clean_path=tmp_path / "free.parquet")
    nowhere = connect(memory_limit="40MB", threads=1)
    nowhere.execute("SET temp_directory = ''")  # no spill folder: the limit binds, DuckDB fails
    with pytest.raises(duckdb.OutOfMemoryException):
        clean_transactions_duckdb(spec, Cleaning(), "2025-06-30", con=nowhere, clean_path=tmp_path / "no.parquet")
    con = connect(memory_limit="40MB", threads=1, temp_directory=tmp_path / "spill")
    tight = clean_transactions_duckdb(spec, Cleaning(), "2025-06-30", con=con, clean_path=tmp_path / "tight.parquet")
    assert tight.reconciliation == free.reconciliation
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "tight.parquet"), pd.read_parquet(tmp_path / "free.parquet"))
