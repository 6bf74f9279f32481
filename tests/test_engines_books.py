"""kit.engines.duckdb_books and the summary's exact sums: the SQL forms of the stage's
whole-table functions give the stage's results (bit for bit where the stage's are exact)."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from kit.core.config import Cleaning
from kit.engines import duckdb_books
from kit.engines.duckdb_engine import summary_duckdb
from kit.stages.clean import MERGED_REASON, ReconciliationError, reconcile
from kit.stages.summary import customer_summary

PURCHASES = "SELECT amount AS v FROM t WHERE amount > 0 AND NOT is_return"


@pytest.mark.parametrize("seed", range(8))
def test_quantile_positions_are_numpys(seed):
    rng = np.random.default_rng(seed)
    for n in (1, 2, 3, 7, int(rng.integers(10, 5000))):
        a = np.round(rng.lognormal(4, 1.5, n), 3)
        s = np.sort(a)
        for q in (0.0, 0.25, 0.5, 0.51, 0.6, 0.75, 0.9, 0.999, 1.0):
            lo, hi, t = duckdb_books.quantile_positions(n, q)
            assert duckdb_books.lerp(s[lo], s[hi], t) == pd.Series(a).quantile(q), (n, q)


def numpy_outliers(tx: pd.DataFrame, rule: dict) -> dict:
    """The outlier rule of the config, computed in numpy / pandas as its definition reads:
    iqr above exp(Q3 + k IQR) of the log purchase amounts, zscore above exp(mean + z sd),
    quantile above pandas' quantile; none below four purchases."""
    base = tx["amount"][(tx["amount"] > 0) & ~tx["is_return"]]
    threshold, method = None, rule["method"]
    if method != "none" and len(base) >= 4:
        if method == "quantile":
            threshold = float(base.quantile(rule["quantile"]))
        else:
            la = np.log(base)
            if method == "iqr":
                q1, q3 = la.quantile(0.25), la.quantile(0.75)
                threshold = float(np.exp(q3 + rule["iqr_factor"] * (q3 - q1)))
            elif la.std() > 0:
                threshold = float(np.exp(la.mean() + rule["zscore"] * la.std()))
    count = 0 if threshold is None else int((base > threshold).sum())
    return {"method": method, "threshold": threshold, "count": count}


@pytest.mark.parametrize("seed", range(5))
def test_outlier_thresholds_equal_numpys(seed):
    """iqr and quantile: the same float as numpy; zscore: within 1e-13; the same rows above it."""
    rng = np.random.default_rng(100 + seed)
    con = duckdb.connect()
    n = int(rng.integers(4, 4000))
    a = np.round(rng.lognormal(4, 1.5, n), int(rng.integers(0, 4)))
    a[rng.random(n) < 0.1] *= -1
    tx = pd.DataFrame({"amount": a, "is_return": rng.random(n) < 0.05})
    con.register("t", tx)
    rules = [{"method": "iqr", "iqr_factor": 1.5}, {"method": "iqr", "iqr_factor": 3.0},
             {"method": "quantile", "quantile": 0.999}, {"method": "quantile", "quantile": 0.9},
             {"method": "zscore", "zscore": 1.0}, {"method": "none"}]
    for rule in rules:
        c = Cleaning(outliers=rule)
        theirs, ours = numpy_outliers(tx, rule), duckdb_books.outlier_rule(con, PURCHASES, c)
        assert ours["method"] == theirs["method"] and ours["count"] == theirs["count"], rule
        if rule["method"] == "zscore":
            assert ours["threshold"] == pytest.approx(theirs["threshold"], rel=1e-13)
        else:
            assert ours["threshold"] == theirs["threshold"], rule


def _tx_out(con, rows):
    frame = pd.DataFrame(rows, columns=["source_row", "reason", "signed", "net_amount"])
    con.register("tx_out_df", frame)
    con.execute("CREATE OR REPLACE TABLE tx_out AS SELECT * FROM tx_out_df")
    con.execute("CREATE OR REPLACE TABLE src AS SELECT DISTINCT source_row FROM tx_out_df")
    return frame


def test_books_are_the_stages_and_fail_alike():
    con = duckdb.connect()
    rows = [(2, None, 100.0, 80.0), (3, "duplicate", 100.0, 100.0), (4, MERGED_REASON, -20.0, -20.0),
            (5, "bad_amount", None, None), (6, None, 12.345, 12.345)]
    f = _tx_out(con, rows)
    clean = f[f.reason.isna()].rename(columns={"net_amount": "amount"})
    quar = f[f.reason.notna() & (f.reason != MERGED_REASON)].rename(columns={"signed": "amount"})
    merged = f[f.reason == MERGED_REASON].rename(columns={"signed": "amount"})
    theirs = reconcile("transactions", f.source_row.to_numpy(), clean, quar, merged,
                       source_amounts=f.signed.fillna(0.0).to_numpy())
    assert duckdb_books.books(con, "transactions", "src") == theirs
    _tx_out(con, [(2, None, 100.0, 90.0), (3, None, 5.0, 5.0)])  # a clean amount that came from nowhere
    with pytest.raises(ReconciliationError, match="net amounts: clean table 95.00 != clean rows 105.00"):
        duckdb_books.books(con, "transactions", "src")
    con.execute("INSERT INTO src VALUES (9)")  # a source row the output lost
    with pytest.raises(ReconciliationError, match=r"source rows lost \[9\]"):
        duckdb_books.books(con, "transactions", "src")


def test_unique_order_lines_fail_with_one_line_naming_the_rows():
    clean = pd.DataFrame({"order_id": ["A", "B", "A", "C", "A"], "category": ["x", "x", "x", None, "y"],
                          "is_return": [False] * 5, "source_row": [2, 3, 5, 6, 7]})
    con = duckdb.connect()
    con.register("c", clean)
    with pytest.raises(ReconciliationError) as ours:
        duckdb_books.check_unique_lines(con, "transactions", "SELECT * FROM c", ["category"])
    assert str(ours.value) == ("transactions: order line A / x is in the clean table 2 times (source rows 2, 5): "
                               "a bug of the cleaning rules, please report it")
    duckdb_books.check_unique_lines(con, "transactions", "SELECT * FROM c WHERE source_row <> 5", ["category"])


def test_summary_keeps_every_digit_where_the_subtraction_would_cancel_in_floats():
    """A first day of 1e8 and repeat days of a cent: (all - first) in doubles keeps ~1e-8 of
    the cents' digits; summed as decimals, the repeat spend is exact (0.015 to the last bit,
    what numpy's mean of the two repeat days gives)."""
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b"],
                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-09", "2024-01-01",
                                                     "2024-01-03"]),
                       "amount": [1e8, 0.01, 0.02, 10.0, 30.0]})
    assert abs(((1e8 + 0.01 + 0.02) - 1e8) / 2 / 0.015 - 1) > 1e-9  # what doubles would give
    for ours in (customer_summary(tx, "2024-01-31", time_unit="day"), summary_duckdb(tx, "2024-01-31", time_unit="day")):
        assert ours.loc["a", "monetary_value"] == np.mean([0.01, 0.02])
        assert ours.loc["b", "monetary_value"] == 30.0


def test_missing_values_in_a_parquet_file_are_found_with_and_without_statistics(tmp_path):
    """The summary's null check reads a Parquet file's statistics when it has them, else counts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tx = pd.DataFrame({"customer_id": ["a", None, "b"], "order_date": pd.to_datetime(["2024-01-01"] * 3),
                       "amount": [1.0, 2.0, 3.0]})
    for stats in (True, False):
        path = tmp_path / f"tx_{stats}.parquet"
        pq.write_table(pa.Table.from_pandas(tx), path, write_statistics=stats)
        with pytest.raises(ValueError, match="1 transaction.*'customer_id'"):
            summary_duckdb(path, "2024-01-31")
        pq.write_table(pa.Table.from_pandas(tx.dropna()), path, write_statistics=stats)
        assert list(summary_duckdb(path, "2024-01-31").index) == ["a", "b"]
