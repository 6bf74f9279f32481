"""kit.stages.clean: one test per defect class, refunds in every mode, master and interactions,
reconciliation, the artifacts, and a property test that no row is lost or counted twice;
kit.present.clean: the page's tables, the quarantine in the report language, masked."""
from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.core.config import Cleaning, InputTable, parse_config
from kit.core.notes import Note
from kit.io import parse_dates
from kit.io.read import RawTable, read_table
from kit.present import clean as present
from kit.present.messages import text
from kit.present.plots.clean import plot_amount_distribution, plot_monthly
from kit.present.table import table
from kit.publish.context import RunContext
from kit.publish.writer import write_csv
from kit.stages import clean
from kit.engines import clean_all, clean_transactions
from kit.stages.clean import (
    ReconciliationError,
    clean_interactions,
    clean_master,
    monthly,
    reconcile,
)

FIXTURES = Path(__file__).parent / "fixtures" / "clean"
AS_OF = pd.Timestamp("2024-06-30")
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def orders(rows: list[tuple], columns=("客户编号", "订单编号", "订单日期", "实付金额", "订单状态")) -> RawTable:
    df = pd.DataFrame([[str(v) for v in r] for r in rows], columns=list(columns))
    return RawTable.from_frame(df, "transactions")


def run(raw: RawTable, **cleaning) -> clean.TableResult:
    return clean_transactions(raw, Cleaning(**cleaning), AS_OF)


def reasons(res: clean.TableResult) -> dict[int, str]:
    return dict(zip(res.quarantine["source_row"], res.quarantine["reason"]))


# --------------------------------------------------------------------------------------
# The defects fixture: one row per defect class
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def defects() -> clean.TableResult:
    raw = read_table(InputTable(path=str(FIXTURES / "orders_defects.csv")), "transactions")
    return clean_transactions(raw, Cleaning(), AS_OF)


@pytest.mark.parametrize(
    "line, reason",
    [
        (10, "duplicate"),
        (11, "missing_customer_id"),
        (12, "bad_date"),
        (13, "bad_amount"),
        (14, "cancelled"),
        (16, "future_date"),  # line 15 is blank
        (17, "zero_amount"),
        (18, "test_account"),
        (9, "refund_unmatched"),
        (19, "refund_unmatched"),  # (1,000.00): a negative in parentheses
        (7, "fully_refunded"),
        (8, "fully_refunded"),  # status 已退款 with a positive amount: a refund
    ],
)
def test_defect_classes_are_quarantined_with_their_reason(defects, line, reason):
    assert reasons(defects)[line] == reason


def test_defects_fixture_books(defects):
    b = defects.reconciliation
    assert (b["source_rows"], b["clean_rows"], b["quarantined_rows"], b["merged_rows"]) == (18, 5, 12, 1)
    assert b["balanced"]
    assert b["source_amount"] == pytest.approx(b["clean_amount"] + b["quarantined_amount"] + b["merged_amount"])
    assert b["clean_net_amount"] == pytest.approx(7500.0)
    assert defects.clean["source_row"].tolist() == [2, 3, 4, 5, 20]


def test_clean_values_are_typed_and_normalised(defects):
    tx = defects.clean
    assert tx["customer_id"].tolist() == ["C001", "C001", "00123", "C002", "C006"]  # zeros kept, spaces gone
    assert tx["amount"].tolist() == [1200.0, 800.0, 1500.0, 1500.0, 2500.0]  # O004 net of its refund
    assert tx["order_date"].dtype == "datetime64[ns]"
    assert tx["margin"].tolist() == pytest.approx([0.35, 0.30, 0.30, 0.40, 0.20])
    assert tx["is_return"].dtype == bool and not tx["is_return"].any()
    assert tx["is_outlier"].dtype == bool
    assert tx["source_row"].dtype == "int64"
    q = defects.quarantine.set_index("source_row")
    assert json.loads(q.loc[13, "original"])["实付金额"] == "abc"
    assert (q.loc[10, "detail_code"], json.loads(q.loc[10, "detail_params"])) == ("duplicate", {"row": 2})
    assert present.detail_text(q.loc[10, "detail_code"], q.loc[10, "detail_params"], "en") == "duplicate of row 2"
    assert defects.merged["merged_into"].tolist() == ["O004"]


# --------------------------------------------------------------------------------------
# Rules switched by the config
# --------------------------------------------------------------------------------------

BASE = [("C1", "O1", "2024-01-05", "100", "已完成")]


def test_duplicates_keep():
    raw = orders(BASE * 2)
    assert reasons(run(raw)) == {3: "duplicate"}
    assert run(raw, duplicates="keep").reconciliation["clean_rows"] == 2


def test_future_dates_keep_and_as_of_is_inclusive():
    raw = orders([("C1", "O1", "2024-06-30 23:00", "100", ""), ("C1", "O2", "2024-07-01", "100", "")])
    assert reasons(run(raw)) == {3: "future_date"}
    assert run(raw, future_dates="keep").reconciliation["clean_rows"] == 2


def test_zero_amount_keep():
    raw = orders([("C1", "O1", "2024-01-05", "￥0.00", "")])
    assert reasons(run(raw)) == {2: "zero_amount"}
    assert run(raw, zero_amount="keep").clean["amount"].tolist() == [0.0]


def test_cancelled_statuses_configurable():
    raw = orders([("C1", "O1", "2024-01-05", "100", "Cancelled"), ("C1", "O2", "2024-01-05", "100", "作废 ")])
    assert reasons(run(raw)) == {2: "cancelled", 3: "cancelled"}
    assert run(raw, cancelled_statuses=["作废"]).reconciliation["clean_rows"] == 1


def test_test_accounts_by_pattern_and_by_master_ids():
    raw = orders([("TEST001", "O1", "2024-01-05", "1", ""), ("测试客户02", "O2", "2024-01-05", "1", ""),
                  ("demo01", "O3", "2024-01-05", "1", ""), ("C9", "O4", "2024-01-05", "1", "")])
    res = clean_transactions(raw, Cleaning(), AS_OF, test_customer_ids={"C9"})
    assert set(reasons(res).values()) == {"test_account"} and len(res.quarantine) == 4


def test_missing_id_variants():
    raw = orders([("", "O1", "2024-01-05", "1", ""), ("\u3000", "O2", "2024-01-05", "1", ""),
                  (" ", "O3", "2024-01-05", "1", "")])
    assert set(reasons(run(raw)).values()) == {"missing_customer_id"}


def test_rule_order_first_reason_wins():
    # a copy of a cancelled row is a duplicate; the first copy is cancelled
    raw = orders([("C1", "O1", "2024-01-05", "100", "已取消")] * 2 + [("", "O2", "bad", "x", "已取消")])
    assert reasons(run(raw)) == {2: "cancelled", 3: "duplicate", 4: "missing_customer_id"}


# --------------------------------------------------------------------------------------
# Refunds
# --------------------------------------------------------------------------------------

REFUNDS = [
    ("C1", "O1", "2024-01-05", "1000", "已完成"),
    ("C1", "O1", "2024-01-09", "-300", "退款"),  # partial
    ("C2", "O2", "2024-01-05", "500", "已完成"),
    ("C2", "O2", "2024-01-09", "500", "退货"),  # full, written positive with a refund status
    ("C3", "O9", "2024-01-09", "(50)", "已完成"),  # no such order
    ("C4", "O4", "2024-01-05", "200", "已完成"),
]


def test_refunds_net():
    res = run(orders(REFUNDS), refunds="net")
    assert res.clean.set_index("order_id")["amount"].to_dict() == {"O1": 700.0, "O4": 200.0}
    assert reasons(res) == {4: "fully_refunded", 5: "fully_refunded", 6: "refund_unmatched"}
    assert res.merged["source_row"].tolist() == [3] and res.merged["amount"].tolist() == [-300.0]
    b = res.reconciliation
    assert b["source_amount"] == pytest.approx(1000 - 300 + 500 - 500 - 50 + 200)
    assert b["clean_amount"] == pytest.approx(1200) and b["merged_amount"] == pytest.approx(-300)
    assert b["clean_net_amount"] == pytest.approx(900) and b["quarantined_amount"] == pytest.approx(-50)
    assert res.stats["refunds"]["sign_flipped"] == 1


def test_refunds_keep():
    res = run(orders(REFUNDS), refunds="keep")
    returns = res.clean[res.clean["is_return"]]
    assert returns["amount"].tolist() == [-300.0, -500.0, -50.0]  # never counted as purchases
    assert (res.clean.loc[~res.clean["is_return"], "amount"] > 0).all()
    assert res.reconciliation["merged_rows"] == 0 and res.reconciliation["balanced"]


def test_refunds_drop():
    res = run(orders(REFUNDS), refunds="drop")
    assert reasons(res) == {3: "refund_dropped", 5: "refund_dropped", 6: "refund_dropped"}
    assert res.clean["amount"].sum() == pytest.approx(1700)


def test_refund_spread_over_order_lines_in_proportion():
    # two lines of one order, told apart by their category (cleaning.order_line_columns)
    raw = orders([("C1", "O1", "2024-01-05", "300", "", "90", "设备"), ("C1", "O1", "2024-01-05", "100", "", "10", "服务"),
                  ("C1", "O1", "2024-01-06", "-200", "退款", "", "")],
                 columns=("客户编号", "订单编号", "订单日期", "实付金额", "订单状态", "毛利", "产品类别"))
    res = run(raw)
    assert res.clean["amount"].tolist() == pytest.approx([150.0, 50.0])
    assert res.clean["profit"].tolist() == pytest.approx([45.0, 5.0])


def test_refund_spread_in_whole_cents_that_add_up_exactly():
    lines = [("C1", "O1", "2024-01-05", "100", "", c) for c in ("A", "B", "C")]
    raw = orders(lines + [("C1", "O1", "2024-01-06", "-100", "退款", "")],
                 columns=("客户编号", "订单编号", "订单日期", "实付金额", "订单状态", "产品类别"))
    res = run(raw)
    assert res.clean["amount"].tolist() == [66.67, 66.67, 66.66]  # largest remainder, ties to the earlier line
    b = res.reconciliation
    assert b["balanced"] and b["clean_net_amount"] == 200.0 and b["merged_amount"] == -100.0


def test_lines_without_a_line_column_are_a_conflict():
    # without a column that tells lines apart, one order id with two amounts is a conflict
    raw = orders([("C1", "O1", "2024-01-05", "300", ""), ("C1", "O1", "2024-01-05", "100", "")])
    assert reasons(run(raw)) == {2: "order_conflict", 3: "order_conflict"}
    cols = ("客户编号", "订单编号", "订单日期", "实付金额", "订单状态", "产品类别")
    two = orders([("C1", "O1", "2024-01-05", "300", "", "设备"), ("C1", "O1", "2024-01-05", "100", "", "服务")], cols)
    assert run(two).reconciliation["clean_rows"] == 2  # two categories: two lines of one order
    assert set(reasons(run(two, order_line_columns=[])).values()) == {"order_conflict"}  # one line per order id
    same = orders([("C1", "O1", "2024-01-05", "300", "", "设备"), ("C1", "O1", "2024-01-05", "100", "", "设备")], cols)
    assert reasons(run(same)) == {2: "order_conflict", 3: "order_conflict"}
    other = orders([("C1", "O1", "2024-01-05", "300", "", "设备"), ("C2", "O1", "2024-01-05", "100", "", "服务")], cols)
    assert reasons(run(other)) == {2: "order_conflict", 3: "order_conflict"}  # one order id, two customers


def test_refund_without_order_id_column_is_unmatched():
    raw = orders([("C1", "2024-01-05", "100"), ("C1", "2024-01-06", "-20")], columns=("客户编号", "订单日期", "金额"))
    res = run(raw)
    assert reasons(res) == {3: "refund_unmatched"}
    assert res.clean["order_id"].tolist() == ["row-2"]  # synthesised when the file has none
    assert res.stats["order_id_synthesized"]


def test_refund_of_a_cancelled_order_is_unmatched():
    raw = orders([("C1", "O1", "2024-01-05", "100", "已取消"), ("C1", "O1", "2024-01-06", "-100", "退款")])
    assert reasons(run(raw)) == {2: "cancelled", 3: "refund_unmatched"}


# --------------------------------------------------------------------------------------
# Outliers: flagged, kept
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, extra", [("iqr", {}), ("zscore", {"zscore": 2.0}), ("quantile", {"quantile": 0.99})])
def test_outliers_flagged_and_kept(method, extra):
    rows = [(f"C{i}", f"O{i}", "2024-01-05", str(100 + i), "") for i in range(40)]
    rows.append(("C99", "O99", "2024-01-05", "1000000", ""))
    res = run(orders(rows), outliers={"method": method, **extra})
    assert res.reconciliation["clean_rows"] == 41
    flagged = res.clean.loc[res.clean["is_outlier"], "customer_id"].tolist()
    assert flagged == ["C99"]
    assert res.stats["outliers"]["count"] == 1 and res.stats["outliers"]["threshold"] < 1_000_000


def test_outliers_none():
    rows = [(f"C{i}", f"O{i}", "2024-01-05", str(10 ** (i % 7)), "") for i in range(20)]
    assert not run(orders(rows), outliers={"method": "none"}).clean["is_outlier"].any()


# --------------------------------------------------------------------------------------
# Customer master and interactions
# --------------------------------------------------------------------------------------

MASTER_COLUMNS = ("客户编号", "客户名称", "战略合作伙伴", "成长阶段", "首次合作日期", "员工人数", "联系电话", "更新时间")


def master(rows) -> RawTable:
    return RawTable.from_frame(pd.DataFrame([list(r) for r in rows], columns=list(MASTER_COLUMNS)), "customers")


def test_master_duplicate_ids_keep_the_latest():
    res = clean_master(master([
        ("000001", "甲", "是", "成长期", "2020/1/5", "120", "13800138000", "2026-07-01"),
        ("000001", "甲(旧)", "否", "初创期", "2020/1/5", "80", "13900000000", "2025-01-01"),
        ("000002", "乙", "否", "成熟期", "bad", "1,200", "", ""),
        ("000002", "乙2", "否", "成熟期", "", "", "", ""),
    ]), Cleaning())
    assert reasons(res) == {3: "duplicate_id", 4: "duplicate_id"}  # undated: the later row wins
    m = res.clean.set_index("customer_id")
    assert m.loc["000001", "name"] == "甲" and bool(m.loc["000001", "strategic_partner"]) is True
    assert m.loc["000001", "growth_stage"] == "growth" and m.loc["000001", "employees"] == 120.0
    assert m.loc["000002", "name"] == "乙2"
    assert res.clean["strategic_partner"].dtype == bool
    assert res.clean["first_cooperation_date"].dtype == "datetime64[ns]"


def test_master_test_account_by_name_quarantines_its_orders(tmp_path):
    res = clean_master(master([("000009", "测试客户", "否", "", "", "", "", ""),
                               ("000010", "丙", "否", "", "", "", "", "")]), Cleaning())
    assert reasons(res) == {2: "test_account"}
    assert res.stats["test_customer_ids"] == ["000009"]


def interactions(rows, columns=("客户编号", "互动日期", "互动类型", "满意度", "渠道")) -> RawTable:
    return RawTable.from_frame(pd.DataFrame([list(r) for r in rows], columns=list(columns)), "interactions")


def test_interaction_scores_scaled_per_channel_and_types_mapped():
    res = clean_interactions(interactions([
        ("1", "2024-01-05 10:00:00", "满意度调查", "8", "短信"),
        ("1", "2024/1/6 10:00", "满意度调查", "9", "短信"),
        ("2", "2024-01-07", "满意度调查", "85", "邮件"),
        ("2", "2024-01-08", "满意度调查", "7", "邮件"),  # low on a 0-100 channel: kept as is
        ("3", "2024-01-09", "投诉", "", "电话"),
        ("3", "2024-01-10", "其他事项", "", "电话"),
        ("", "2024-01-10", "咨询", "", "电话"),
        ("4", "未知", "咨询", "", "电话"),
        ("4", "2024-08-01", "咨询", "", "电话"),
    ]), Cleaning(), AS_OF)
    assert res.clean["score"].tolist()[:4] == [80.0, 90.0, 85.0, 7.0]
    assert res.clean["type"].tolist() == ["survey", "survey", "survey", "survey", "complaint", "other"]
    assert res.stats["unknown_types"] == {"其他事项": 1}
    assert reasons(res) == {8: "missing_customer_id", 9: "bad_date", 10: "future_date"}


def test_interaction_score_scale_configured():
    rows = [("1", "2024-01-05", "调研", "8", "短信"), ("1", "2024-01-06", "调研", "120", "短信")]
    res = clean_interactions(interactions(rows), Cleaning(interaction_score_scale="0-10"), AS_OF)
    assert res.clean["score"].iloc[0] == 80.0 and np.isnan(res.clean["score"].iloc[1])  # 1200: out of range


# --------------------------------------------------------------------------------------
# Reconciliation fails loudly
# --------------------------------------------------------------------------------------


def test_reconcile_detects_lost_and_double_counted_rows(defects):
    rows = [*range(2, 15), *range(16, 21)]  # line 15 is blank
    books = reconcile("transactions", rows, defects.clean, defects.quarantine, defects.merged)
    assert books["balanced"]
    with pytest.raises(ReconciliationError, match=r"transactions: the books do not balance: rows.*lost \[2\]"):
        reconcile("transactions", rows, defects.clean.iloc[1:], defects.quarantine, defects.merged)
    twice = pd.concat([defects.clean, defects.clean.iloc[:1]])
    with pytest.raises(ReconciliationError, match=r"counted twice \[2\]"):
        reconcile("transactions", rows + [999], twice, defects.quarantine, defects.merged)


def test_reconcile_detects_amount_gaps():
    clean_df = pd.DataFrame({"source_row": [2], "amount": [100.0]})
    q = pd.DataFrame({"source_row": [3], "amount": [50.0]})
    ok = reconcile("t", [2, 3], clean_df, q, source_amounts=[100.0, 50.0])
    assert ok["balanced"]
    with pytest.raises(ReconciliationError, match="amounts"):
        reconcile("t", [2, 3], clean_df, q, source_amounts=[100.0, 60.0])
    books = reconcile("t", [2, 3], clean_df.assign(amount=[90.0]), q, source_amounts=[100.0, 50.0],
                      raise_on_error=False)
    assert not books["balanced"] and "net amounts" in books["problems"][0]


# --------------------------------------------------------------------------------------
# Property: no row lost or counted twice, amounts balance, for random mixes of defects
# --------------------------------------------------------------------------------------

KINDS = ["good", "good", "good", "dup", "redup", "redup", "conflict", "missing_id", "bad_date", "bad_amount",
         "cancelled", "future", "zero", "test", "refund", "refund_status", "refund_orphan"]
#: kinds whose rows have an order id, a customer id, a date and an amount that parse: a
#: reformatted copy of one of them is a duplicate (after normalising)
ELIGIBLE = {"good", "cancelled", "future", "zero", "test", "refund", "refund_status", "refund_orphan"}
AMOUNT_STYLES = ["{:.2f}", "¥{:,.2f}", "RMB {:,.2f}", "{:.2f}元"]
DATES = ["2024-01-05", "2024/2/6", "20240307", "2024年4月8日", "45300"]


_DECIMAL_COMMA = str.maketrans({",": ".", ".": ","})


def reformatted(row: tuple, value: float, draw) -> tuple:
    """The same order as exported by another system: padded ids, another date style,
    another amount style (the value unchanged)."""
    cid, oid, date, text, status = row
    d, ok = parse_dates(pd.Series([date]))
    if ok.iloc[0]:
        day = d.iloc[0]
        date = draw(st.sampled_from([f"{day.year}/{day.month}/{day.day}", f"{day:%Y%m%d}", f"{day:%Y-%m-%d} 00:00"]))
    if value < 0:
        text = draw(st.sampled_from([f"({-value:,.2f})", f"-{-value:.2f}", f"RMB -{-value:,.2f}"]))
    elif text not in ("0.00",) and value > 0:
        text = draw(st.sampled_from(AMOUNT_STYLES)).format(value)
    return (f" {cid}" if cid.strip() else cid, f"{oid} ", date, text, status)
ALLOWED = {
    "missing_id": {"missing_customer_id", "duplicate"},
    "bad_date": {"bad_date", "duplicate"},
    "bad_amount": {"bad_amount", "duplicate"},
    "cancelled": {"cancelled", "duplicate"},
    "future": {"future_date", "duplicate"},
    "zero": {"zero_amount", "duplicate"},
    "test": {"test_account", "duplicate"},
}


@st.composite
def order_files(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    rows, kinds, signed = [], [], []
    for _ in range(n):
        kind = draw(st.sampled_from(KINDS))
        if kind in ("dup", "redup", "conflict") and rows:
            i = draw(st.integers(0, len(rows) - 1))
            if kind == "dup":
                rows.append(rows[i]), kinds.append(kinds[i]), signed.append(signed[i])
            elif kind == "redup":
                rows.append(reformatted(rows[i], signed[i], draw)), signed.append(signed[i])
                kinds.append(("redup", kinds[i], i))
            else:  # the same order id with another amount
                value = signed[i] + 10 if signed[i] > 0 else 10.0
                rows.append((rows[i][0], rows[i][1], rows[i][2], f"{value:.2f}", "已完成"))
                kinds.append("conflict"), signed.append(value)
            continue
        if kind in ("dup", "redup", "conflict"):
            kind = "good"
        cid = draw(st.sampled_from(["C1", "C2", "C3", "０4", " C5"]))
        # mostly one order id per order; a few shared ones make conflicts and multi-row orders
        oid = draw(st.sampled_from([f"O{len(rows) + 1}"] * 3 + ["O1", "O2"]))
        amount = draw(st.integers(1, 5000)) / 4
        text = draw(st.sampled_from(AMOUNT_STYLES)).format(amount)
        date = draw(st.sampled_from(DATES))
        status, value = "已完成", amount
        if kind == "missing_id":
            cid = draw(st.sampled_from(["", " ", "\u3000"]))
        elif kind == "bad_date":
            date = draw(st.sampled_from(["2025-13-45", "未知", "0000-00-00", "2025-02-30"]))
        elif kind == "bad_amount":
            text, value = draw(st.sampled_from(["待定", "N/A", "面议", "#VALUE!"])), 0.0
        elif kind == "cancelled":
            status = "已取消"
        elif kind == "future":
            date = "2031-01-01"
        elif kind == "zero":
            text, value = "0.00", 0.0
        elif kind == "test":
            cid = draw(st.sampled_from(["TEST001", "测试客户", "demo01"]))
        elif kind in ("refund", "refund_orphan"):
            text, value = draw(st.sampled_from([f"-{amount:.2f}", f"({amount:,.2f})"])), -amount
            if kind == "refund_orphan":
                oid = "O404"
            elif rows:  # a refund of an earlier order
                cid, oid = rows[draw(st.integers(0, len(rows) - 1))][:2]
            status = draw(st.sampled_from(["已完成", "退款"]))
        elif kind == "refund_status":
            status, value = "退货", -amount
        rows.append((cid, oid, date, text, status))
        kinds.append(kind)
        signed.append(value)
    return rows, kinds, signed


@settings(max_examples=40, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=order_files(), refunds=st.sampled_from(["net", "keep", "drop"]),
       duplicates=st.sampled_from(["quarantine", "quarantine", "keep"]),
       conflicts=st.sampled_from(["quarantine", "keep_first", "keep_latest"]), decimal_comma=st.booleans())
def test_property_no_row_lost_or_counted_twice(data, refunds, duplicates, conflicts, decimal_comma):
    rows, kinds, signed = data
    if decimal_comma:  # the same file from a decimal-comma export: 1.234,50 (the reading decided from the values)
        rows = [(c, o, d, a.translate(_DECIMAL_COMMA), s) for c, o, d, a, s in rows]
    raw = orders(rows)
    res = clean_transactions(raw, Cleaning(refunds=refunds, duplicates=duplicates, order_conflicts=conflicts), AS_OF)
    src = raw.frame["source_row"].tolist()
    out = res.clean["source_row"].tolist() + res.quarantine["source_row"].tolist() + res.merged["source_row"].tolist()
    assert sorted(out) == sorted(src)  # every row once: none lost, none twice
    # amounts: what the clean table holds plus what was quarantined is what the file holds
    total = res.clean["amount"].sum() + res.quarantine["amount"].fillna(0).sum()
    assert total == pytest.approx(sum(signed), abs=0.01)
    assert res.reconciliation["balanced"]
    why = dict(zip(res.quarantine["source_row"], res.quarantine["reason"]))
    for row, kind in zip(src, kinds):
        if isinstance(kind, tuple):  # a reformatted copy of an earlier row: counted once
            original = kinds[kind[2]]
            if duplicates == "quarantine" and original in ELIGIBLE:
                assert why.get(row) == "duplicate", (row, kind, why.get(row))
        elif kind in ALLOWED:
            assert why.get(row) in ALLOWED[kind], (row, kind, why.get(row))
    purchases = res.clean[~res.clean["is_return"]]
    assert (purchases["amount"] > 0).all()  # refunds are never purchases
    if duplicates == "quarantine":  # each order once: no order id twice among the clean purchases
        assert not purchases["order_id"].duplicated().any()
    if refunds != "keep":
        assert not res.clean["is_return"].any()


# --------------------------------------------------------------------------------------
# All tables, artifacts, report helpers
# --------------------------------------------------------------------------------------


@pytest.fixture()
def kit_files(tmp_path) -> dict:
    o = ("客户编号,订单编号,订单日期,实付金额,订单状态\r\n"
         "000001,O1,2024-01-05,\"￥1,000.00\",已完成\r\n"
         "000001,O1,2024-01-08,-100,退款\r\n"
         "000002,O2,2024/2/5,RMB 500,已完成\r\n"
         "000003,O3,2024年3月5日,300,已完成\r\n"
         "000009,O9,2024-03-06,300,已完成\r\n"
         "000003,O4,2024-03-07,300,已取消\r\n")
    (tmp_path / "orders.csv").write_bytes(o.encode("gbk"))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户主数据"
    ws["A1"] = "客户主数据导出"
    ws.append([])
    ws.append(["客户编号", "客户名称", "战略合作伙伴", "更新时间", "联系人"])
    for r in [("000001", "甲", "是", "2024-01-01", "张三"), ("000002", "乙", "否", "2024-01-01", "李四"),
              ("000002", "乙", "否", "2023-01-01", "王五"), ("000009", "测试客户", "否", "", "赵六"),
              ("000004", "丁", "否", "", "孙七")]:
        ws.append(list(r))
    wb.save(tmp_path / "customers.xlsx")
    i = ("客户编号,互动日期,互动类型,满意度,渠道\n000001,2024-01-06 10:00:00,咨询,,电话\n"
         "000004,2024/3/1 9:00,满意度调查,9,短信\n000077,2024-03-02,投诉,40,电话\n")
    (tmp_path / "interactions.csv").write_bytes(i.encode("utf-8-sig"))
    return parse_config({
        "client": "t", "language": "en", "as_of": "2024-06-30",
        "inputs": {
            "transactions": {"path": str(tmp_path / "orders.csv")},
            "customers": {"path": str(tmp_path / "customers.xlsx"), "sheet": "客户主数据"},
            "interactions": {"path": str(tmp_path / "interactions.csv")},
        },
    })


def test_clean_all_three_tables(kit_files, tmp_path):
    res = clean_all(kit_files, AS_OF)
    q = res.quality
    assert q["encoding"] == {"transactions": "gbk", "customers": None, "interactions": "utf-8-sig"}
    assert q["files"]["customers"]["header_row"] == 3
    assert set(q["reconciliation"]) == {"transactions", "customers", "interactions"}
    assert all(b["balanced"] for b in q["reconciliation"].values())
    assert res.transactions["customer_id"].tolist() == ["000001", "000002", "000003"]
    assert res.transactions["amount"].tolist() == [900.0, 500.0, 300.0]
    by = {(t, r): v["rows"] for t, rs in q["quarantine_by_reason"].items() for r, v in rs.items()}
    assert by == {("transactions", "test_account"): 1, ("transactions", "cancelled"): 1,
                  ("customers", "test_account"): 1, ("customers", "duplicate_id"): 1}
    cov = q["coverage"]
    assert cov["orders_without_master"]["customers"]["ids"] == ["000003"]
    assert cov["master_without_orders"]["ids"] == ["000004"]
    assert cov["interactions_unknown_customer"]["customers"]["ids"] == ["000077"]
    assert res.interactions["score"].tolist()[1] == 90.0
    assert res.mapping["transactions"]["amount"] == "实付金额"
    assert set(present.quarantine_file(res, "en")["reason_label"]) >= {"Test account"}
    assert "reason_label" not in res.quarantine.columns  # the stage stores codes, no words
    json.dumps(q)  # JSON-able


def write_artifacts(res: clean.CleanResult, ctx: RunContext) -> None:
    """What notebook 01 writes, as it writes it."""
    mask_pii = ctx.cfg.report.mask_pii
    ctx.write_parquet("transactions_clean", res.transactions)
    if res.customers is not None:
        ctx.write_parquet("customers_master_clean", res.customers)
    if res.interactions is not None:
        ctx.write_parquet("interactions_clean", res.interactions)
    write_csv(present.quarantine_file(res, ctx.lang, mask_pii=mask_pii), ctx.artifact("quarantine"),
              root=ctx.run_dir, mask_pii=mask_pii)
    write_csv(present.merged_file(res, mask_pii=mask_pii), ctx.artifact("merged"), root=ctx.run_dir,
              mask_pii=mask_pii)
    ctx.write_json("quality", res.quality)


def test_write_artifacts(kit_files, tmp_path):
    res = clean_all(kit_files, AS_OF)
    ctx = RunContext(cfg=kit_files, run_dir=tmp_path / "run", as_of=AS_OF, lang="en")
    write_artifacts(res, ctx)
    tx = pd.read_parquet(ctx.artifact("transactions_clean"))
    assert tx["customer_id"].tolist() == ["000001", "000002", "000003"]
    assert tx["order_date"].dtype.kind == "M"
    assert ctx.has("customers_master_clean") and ctx.has("interactions_clean")
    q = pd.read_csv(ctx.artifact("quarantine"), encoding="utf-8-sig", dtype=str)
    assert list(q.columns[:4]) == ["table", "source_file", "source_row", "reason"]
    assert json.loads(q.loc[q["reason"] == "cancelled", "original"].iloc[0])["订单状态"] == "已取消"
    quality = json.loads(ctx.artifact("quality").read_text(encoding="utf-8"))
    assert set(quality["reconciliation"]["transactions"]) >= {
        "source_rows", "clean_rows", "quarantined_rows", "merged_rows", "balanced", "source_amount",
        "clean_amount", "quarantined_amount", "merged_amount"}


@pytest.mark.parametrize("lang, header", [("zh", "源行数"), ("en", "Source rows")])
def test_report_tables_speak_the_report_language(kit_files, lang, header):
    res = clean_all(kit_files, AS_OF)
    rec = present.reconciliation_table(res)
    assert header in table(rec, lang).html and len(rec) == 3
    assert len(present.quarantine_summary(res)) == 4
    mt = present.mapping_table(res)
    assert ("实付金额", "amount") in set(zip(mt["source_header"], mt["canonical_column"]))
    assert len(present.coverage_table(res)) >= 5
    assert len(present.files_table(res)) == 3
    samples = present.quarantine_samples(res, 1, lang, mask_pii=True)
    assert len(samples) == 4
    assert "赵六" not in " ".join(samples["original"])
    for df in (rec, present.quarantine_summary(res), mt, present.coverage_table(res), present.files_table(res),
               samples):
        table(df, lang)  # every column registered or labelled: renders


def test_plots_return_axes(defects):
    import matplotlib.pyplot as plt

    ax = plot_monthly(monthly(defects.clean), orders_label="orders", revenue_label="revenue")
    assert ax.get_ylabel() == "orders"
    assert plot_monthly(monthly(defects.clean), lang="en").get_ylabel() == text("clean.plot.orders", "en")
    ax2 = plot_amount_distribution(defects.clean, threshold=2000)
    assert ax2.get_xscale() == "log"
    assert ax2.get_ylabel() == text("clean.plot.orders", "zh")
    plt.close("all")


# --------------------------------------------------------------------------------------
# The quarantine in one language, masked; the engines injected
# --------------------------------------------------------------------------------------

_LATIN_WORDS = re.compile(r"[A-Za-z]{3,}(?:\s+[A-Za-z]{2,})+")


def test_quarantine_in_zh_has_no_english_reason_or_detail(defects, kit_files):
    res = clean_all(kit_files, AS_OF)
    for q in (defects.quarantine, res.quarantine):
        zh = pd.DataFrame({"reason": q["reason"].map(lambda r: present.reason_label(r, "zh")),
                           "detail": present.details(q, "zh")})
        english = {t for t in zh.to_numpy().ravel() if _LATIN_WORDS.search(t)}
        assert not english, english
        assert (zh["reason"] != q["reason"]).all()  # every reason labelled
    # every detail code the cascade can give renders in both languages
    every = present.details(defects.quarantine, "en")
    assert "duplicate of row 2" in set(every) and "amount is 0" in set(every)
    samples = present.quarantine_samples(defects_result(defects), 5, "zh")
    assert "与第 2 行完全相同" in set(samples["detail"])


def defects_result(defects: clean.TableResult) -> clean.CleanResult:
    return clean.CleanResult(transactions=defects.clean, customers=None, interactions=None,
                             quarantine=defects.quarantine, merged=defects.merged, quality={}, mapping={})


def test_quarantine_csv_masked_and_formulas_neutralised(kit_files, tmp_path):
    wb = openpyxl.load_workbook(Path(kit_files.inputs.customers.path))
    ws = wb["客户主数据"]
    ws.cell(row=3, column=6, value="联系电话")
    ws.append(["000002", "=HYPERLINK(\"http://x\")", "否", "2022-01-01", "周八"])  # older duplicate id
    ws.append(["000011", "测试公司张三丰", "否", "", "吴九", "13812345678"])  # a test account, by name
    for r in range(4, ws.max_row + 1):
        if ws.cell(row=r, column=6).value is None:
            ws.cell(row=r, column=6, value="13900001111")
    wb.save(kit_files.inputs.customers.path)
    cfg = kit_files.model_copy(update={"report": kit_files.report.model_copy(update={"mask_pii": True})})
    cfg.inputs.customers.columns = {"contact_phone": "联系电话"}
    res = clean_all(cfg, AS_OF)
    assert res.mapping["customers"]["contact_phone"] == "联系电话"
    ctx = RunContext(cfg=cfg, run_dir=tmp_path / "run", as_of=AS_OF, lang="zh")
    write_artifacts(res, ctx)
    raw = ctx.artifact("quarantine").read_text(encoding="utf-8-sig")
    for secret in ("测试公司张三丰", "13812345678", "13900001111", "赵六", "王五", "周八", "HYPERLINK(\"http"):
        assert secret not in raw, secret
    assert "138****5678" in raw and "测**" in raw
    q = pd.read_csv(ctx.artifact("quarantine"), encoding="utf-8-sig", dtype=str)
    named = q[q["detail_code"] == "test_account_named"]
    assert json.loads(named["detail_params"].iloc[0])["name"] == "测**"
    assert q["detail"].str.contains("名称 测**", regex=False).any()  # the detail in zh, masked
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in q.to_numpy().ravel() if isinstance(v, str))
    # the unmasked run keeps the names (the masking is the switch's doing)
    plain = kit_files.model_copy()
    plain.inputs.customers.columns = {"contact_phone": "联系电话"}
    ctx2 = RunContext(cfg=plain, run_dir=tmp_path / "plain", as_of=AS_OF, lang="zh")
    write_artifacts(clean_all(plain, AS_OF), ctx2)
    assert "13812345678" in ctx2.artifact("quarantine").read_text(encoding="utf-8-sig")


def test_formula_like_values_are_neutralised_in_the_csv(tmp_path):
    raw = orders([("=cmd|' /C calc'!A0", "O1", "2024-01-05", "100", "已取消"), ("C1", "O2", "bad", "+1", "")])
    res = run(raw)
    cr = clean.CleanResult(transactions=res.clean, customers=None, interactions=None, quarantine=res.quarantine,
                           merged=res.merged, quality={}, mapping={})
    out = write_csv(present.quarantine_file(cr, "en"), tmp_path / "q.csv", root=tmp_path)
    q = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert q["customer_id"].tolist() == ["'=cmd|' /C calc'!A0", "C1"]
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in q.to_numpy().ravel() if isinstance(v, str))


def test_clean_all_takes_the_engines_cleaner(kit_files):
    calls = []

    def clean_tx(test_customer_ids=()):
        calls.append(set(test_customer_ids))
        raw = read_table(kit_files.inputs.transactions, "transactions")
        result = clean_transactions(raw, kit_files.cleaning, AS_OF, test_customer_ids=test_customer_ids)
        return result, {"info": raw.info(), "mapping": dict(raw.mapping), "how": dict(raw.how),
                        "columns": list(raw.source_columns), "engine": "fake"}

    res = clean.clean_all(kit_files, AS_OF, clean_tx=clean_tx)
    assert calls == [{"000009"}] and res.quality["engine"] == "fake"
    assert clean_all(kit_files, AS_OF).quality["engine"] == "pandas"  # the engines' cleaner, pandas reader


def test_missing_tables_are_notes_not_sentences(kit_files):
    cfg = kit_files.model_copy(deep=True)
    cfg.inputs.customers = None
    cfg.inputs.interactions = None
    res = clean_all(cfg, AS_OF)
    assert res.notes == [Note("clean.note.no_customers", {}, "omitted"),
                         Note("clean.note.no_interactions", {}, "omitted")]
    assert text(res.notes[0].code, "zh").startswith("配置中没有客户主数据文件")


@pytest.mark.slow
@pytest.mark.skipif(not (SAMPLE / "manifest.json").exists(), reason="data/sample not generated")
def test_sample_counts_match_manifest():
    from kit.core.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "demo.yml")
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    res = clean_all(cfg, pd.Timestamp(manifest["generator"]["as_of"]))
    by = {r: v["rows"] for r, v in res.quality["quarantine_by_reason"]["transactions"].items()}
    d = manifest["orders"]["defects"]
    for ours, theirs in [("duplicate", "duplicate_rows"), ("missing_customer_id", "missing_customer_id"),
                         ("bad_date", "unparseable_date"), ("future_date", "future_date"),
                         ("zero_amount", "zero_amount"), ("cancelled", "cancelled"),
                         ("test_account", "test_account"), ("bad_amount", "unparseable_amount")]:
        assert by[ours] == d[theirs]["count"], ours
    assert by["fully_refunded"] == 2 * d["refund"]["full"]
    rec = res.quality["reconciliation"]["transactions"]
    assert rec["merged_rows"] == d["refund"]["partial"]
    assert rec["clean_rows"] == manifest["orders"]["true_orders"] - d["refund"]["full"]
    assert rec["clean_net_amount"] == pytest.approx(manifest["orders"]["net_amount"], abs=0.01)
    assert res.quality["reconciliation"]["customers"]["quarantined_rows"] == 20
    cov = res.quality["coverage"]
    assert cov["orders_without_master"]["customers"]["ids"] == manifest["customers"]["ordering_customer_absent"]["ids"]
    # master rows without orders: the manifest's prospects, plus customers whose only orders were
    # refunded in full (no net purchase left)
    extra = set(cov["master_without_orders"]["ids"]) - set(manifest["customers"]["master_without_orders"]["ids"])
    assert set(manifest["customers"]["master_without_orders"]["ids"]) <= set(cov["master_without_orders"]["ids"])
    q = res.quarantine
    assert extra <= set(q.loc[q["reason"] == "fully_refunded", "customer_id"])
