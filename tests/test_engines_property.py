"""One cleaning cascade, two readers: the SQL cascade gives the same result whether DuckDB
reads the file itself or runs over the frame kit.io's pandas reader read, on any file.

Hypothesis writes small messy transaction CSVs (exact duplicates, the same rows re-exported
in another style, one order id with different content, orders of several lines, bad, odd and
implausible amounts, bad and odd dates, refunds by sign and by status, zero amounts, cancelled
orders, test accounts, future dates, missing ids, with and without order id, status and
category columns) and both readers feed them to the cascade under every refunds mode, conflict rule and rule
switch. Clean rows, quarantine (rows, reasons,
details), merged refunds, books and statistics must be identical, and so must the customer
summary computed from the clean rows (pandas :func:`customer_summary` of the purchases vs
:func:`summary_duckdb`). Seeded (``derandomize``): the same examples on every run.
"""
from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kit.core.config import Cleaning, InputTable
from kit.engines.duckdb_clean import clean_transactions_duckdb
from kit.engines.duckdb_engine import summary_duckdb
from kit.io import read_table
from kit.stages.cascade import REFUND_MODES, TX_RULES, tx_rules
from kit.engines import clean_transactions
from kit.stages.features import purchase_mask
from kit.stages.summary import customer_summary

AS_OF = pd.Timestamp("2024-12-31")

# value pools: plain values repeated, so that most rows are clean and refunds find their orders
CUSTOMERS = ["C001"] * 5 + ["C002"] * 3 + [" c003 ", "０４", "C001.0", "test01", "测试A", "", "N/A"]
ORDERS = ["O1"] * 4 + ["O2"] * 3 + ["O3", "", "O1 "]
DATES = ["2024-01-05"] * 4 + ["2024/2/3", "2024-03-01 10:30", "20240405", "45300"] * 2 + [
    "2024-13-45", "", "yesterday", "2030-01-01", "2024-12-31 23:00", "2025-01-01", "2024年5月6日", "0001-01-01"]
AMOUNTS = ["100", "7", "12.25", "250"] * 3 + ["-20", "-100", "-7"] * 2 + [
    "0", "0.00", "-0", "abc", "", "1,234.5", "¥50", "(30)", "1.5万", "1e20", "1e308", "-2e9", "0.125", "1.015"]
STATUSES = ["", "paid"] * 4 + ["cancelled", "refund", "退款", "作废", "Refunded "]
CATEGORIES = ["设备", "设备", "服务", "", " 服务"]

row = st.tuples(*(st.sampled_from(pool) for pool in (CUSTOMERS, ORDERS, DATES, AMOUNTS, STATUSES, CATEGORIES)))

#: the same value written by another export: (plain, other styles)
RESTYLE = {"2024-01-05": ["2024/1/5", "20240105", "2024年1月5日", "2024-01-05 00:00"],
           "100": ["100.00", "¥100", "RMB 100.00", "1e2"], "250": ["250.0", "￥250.00"],
           "12.25": ["12.250", "¥12.25"], "-20": ["(20)", "-20.00", "20-"], "1,234.5": ["1234.50"]}


_DECIMAL_COMMA = str.maketrans({",": ".", ".": ","})


def restyled(r: tuple, draw) -> tuple:
    """``r`` as another export writes it: padded ids, another date and amount style."""
    cid, oid, date, amount, status, cat = r
    date = draw(st.sampled_from(RESTYLE.get(date, [date])))
    amount = draw(st.sampled_from(RESTYLE.get(amount, [amount])))
    return (cid + " ", " " + oid if oid else oid, date, amount, status, cat)
#: an order and a refund of it: by sign or by a refund status; partial, full or more than the order
refund_pair = st.tuples(st.sampled_from(["C001", "C002", "test01"]), st.sampled_from(["P1", "P2", ""]),
                        st.sampled_from(["100", "250"]),
                        st.sampled_from([("-20", ""), ("-100", ""), ("-250", ""), ("30", "refund"),
                                         ("100", "退款"), ("-0.004", "")]))


@st.composite
def messy_files(draw):
    rows = draw(st.lists(row, min_size=8, max_size=24))
    for i, (cid, oid, amount, (ref_amount, ref_status)) in enumerate(draw(st.lists(refund_pair, min_size=1, max_size=3))):
        oid = f"{oid}{i}" if oid else oid  # one order id per order
        cat = draw(st.sampled_from(["设备", "服务"]))
        rows += [(cid, oid, "2024-01-05", amount, "paid", cat), (cid, oid, "2024-02-03", ref_amount, ref_status, "")]
        if draw(st.booleans()):  # a second line of the same order
            rows.append((cid, oid, "2024-01-05", draw(st.sampled_from(["7", "12.25", "0.01"])), "paid", "配件"))
    rows = list(draw(st.permutations(rows)))
    copies = draw(st.lists(st.integers(0, len(rows) - 1), min_size=draw(st.integers(0, 1)), max_size=3))
    for i in copies:
        rows.insert(draw(st.integers(i + 1, len(rows))), rows[i])
    for i in draw(st.lists(st.integers(0, len(rows) - 1), max_size=4)):  # re-exported in another style
        rows.insert(draw(st.integers(i + 1, len(rows))), restyled(rows[i], draw))
    columns = ["customer_id", "order_id", "order_date", "amount", "status", "category"]
    keep = [True, draw(st.booleans()), True, True, draw(st.booleans()), draw(st.booleans())]  # optional columns
    cleaning = Cleaning(
        duplicates=draw(st.sampled_from(["quarantine", "quarantine", "keep"])),
        future_dates=draw(st.sampled_from(["quarantine", "keep"])),
        zero_amount=draw(st.sampled_from(["quarantine", "keep"])),
        order_conflicts=draw(st.sampled_from(["quarantine", "keep_first", "keep_latest"])),
        order_line_columns=draw(st.sampled_from([["category"], []])),
        max_amount=draw(st.sampled_from([1e9, 200.0])),
    )
    test_ids = draw(st.sampled_from([set(), {"c003"}]))  # the master's test accounts (" c003 " once normalised)
    if draw(st.booleans()):  # a decimal-comma export (1.234,5; ¥12,25), configured as such
        rows = [(c, o, d, a.translate(_DECIMAL_COMMA), s, g) for c, o, d, a, s, g in rows]
        reading = {"decimal": ","}
    else:
        reading = {}
    header = [c for c, k in zip(columns, keep) if k]
    body = [[v for v, k in zip(r, keep) if k] for r in rows]
    return header, body, cleaning, test_ids, reading


def _write(folder: Path, header: list[str], body: list[list[str]]) -> Path:
    path = folder / "orders.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(body)
    return path


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


def assert_same_summary(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert list(ours.columns) == list(theirs.columns)
    assert ours.index.equals(theirs.index)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-9)


@settings(max_examples=20, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(messy_files())
def test_pandas_and_duckdb_clean_alike(case):
    header, body, cleaning, test_ids, reading = case
    assume(any(any(v.strip() for v in r) for r in body))  # an all-blank file is an input error in both
    with tempfile.TemporaryDirectory(prefix="kit-prop-") as folder:
        spec = InputTable(path=str(_write(Path(folder), header, body)), **reading)
        raw = read_table(spec, "transactions")
        for mode in REFUND_MODES:
            c = cleaning.model_copy(update={"refunds": mode})
            theirs = clean_transactions(raw, c, AS_OF, test_customer_ids=test_ids)
            ours = clean_transactions_duckdb(spec, c, AS_OF, test_customer_ids=test_ids)
            assert_same_cleaning(ours, theirs)
            tx = theirs.clean
            assert_same_summary(summary_duckdb(ours.clean, AS_OF, time_unit="week"),
                                customer_summary(tx[purchase_mask(tx).to_numpy()], AS_OF, time_unit="week"))


def test_the_cascade_is_one_ordered_list():
    """Both engines read the rules from kit.stages.cascade; the switches turn rules off."""
    codes = [r.code for r in TX_RULES]
    assert codes == ["duplicate", "missing_customer_id", "test_account", "bad_date", "bad_amount",
                     "implausible_amount", "cancelled", "future_date", "zero_amount", "order_conflict"]
    everything = ["customer_id", "order_id", "order_date", "amount", "status"]
    assert [r.code for r in tx_rules(Cleaning(), everything)] == codes
    off = Cleaning(duplicates="keep", future_dates="keep", zero_amount="keep")
    assert [r.code for r in tx_rules(off, ["customer_id", "order_date", "amount"])] == [
        "missing_customer_id", "test_account", "bad_date", "bad_amount", "implausible_amount"]
    # the open-rows rule (a condition over the rows the others left open) comes last
    assert [r.code for r in TX_RULES if r.open_rows] == [codes[-1]]
