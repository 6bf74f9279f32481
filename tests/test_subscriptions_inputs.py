"""The optional inputs of issue 13: ``subscriptions`` (contracts) and ``usage``, read, mapped by
their synonyms, cleaned, quarantined with a reason per row, reconciled (rows; recurring amounts
in whole cents), listed in quality.json and reported by ``kit check``. Hand-made small files
(a GBK CSV with Chinese headers, an Excel workbook with English ones) cover each rule."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.core.config import (
    CANONICAL_COLUMNS,
    INPUT_TABLES,
    Cleaning,
    ConfigError,
    InputTable,
    Inputs,
    load_config,
    parse_config,
)
from kit.io import InputError, headers, read_table
from kit.io.read import RawTable
from kit.present import clean as present
from kit.publish.artifacts import write_clean
from kit.publish.cli import main
from kit.publish.context import RunContext
from kit.engines import clean_all
from kit.stages.clean import (
    ReconciliationError,
    clean_subscriptions,
    clean_usage,
    coverage_shares,
    header_period,
    reconcile,
    response_unit,
)

AS_OF = pd.Timestamp("2024-06-30")

SUBS_HEADER = "客户编号,合同编号,套餐,生效日期,结束日期,年费,计费周期,合同状态,续约自"
#: (line in the file, row, reason or None when the row is clean)
SUBS_ROWS = [
    (2, "C1,K1,基础版,2022-01-01,2022-12-31,\"1,200.00\",年付,已到期,", None),
    (3, "C1,K2,基础版,2023-01-01,2023-12-31,1320,年,已续约,K1", None),
    (4, "C1,K3,专业版,2024-01-01,,99.90,月付,生效,K2", None),
    (5, "C2,K4,基础版,2024-03-01,2025-02-28,2400,,Active,", None),  # no period: the header 年费 says year
    (6, "C1,K1,基础版,2022-01-01,2022-12-31,\"1,200.00\",年付,已到期,", "duplicate"),
    (7, ",K5,基础版,2024-01-01,,100,月付,生效,", "missing_customer_id"),
    (8, "测试客户,K6,基础版,2024-01-01,,100,月付,生效,", "test_account"),
    (9, "C3,K7,基础版,2024-13-45,,100,月付,生效,", "bad_date"),
    (10, "C3,K8,基础版,2024-01-01,不详,100,月付,生效,", "bad_date"),
    (11, "C3,K9,基础版,2024-05-01,2024-04-30,100,月付,生效,", "end_before_start"),
    (12, "C4,K10,基础版,2024-01-01,,面议,月付,生效,", "bad_amount"),
    (13, "C4,K11,基础版,2024-01-01,,-300,月付,生效,", "negative_amount"),
    (14, "C4,K12,基础版,2024-01-01,,5000000000,月付,生效,", "implausible_amount"),
    (15, "C5,K13,基础版,2024-01-01,,100,季付,生效,", "unknown_billing_period"),
    (16, "C1,K3,专业版,2024/1/1,,99.9,月,生效,K2", "duplicate"),  # line 4 written differently
    (17, "C6,K14,基础版,2024-01-01,2024-12-31,1000,年付,生效,", "duplicate_subscription_id"),
    (18, "C6,K14,基础版,2024-01-01,2024-12-31,1100,年付,生效,", "duplicate_subscription_id"),
    (19, "C7,K15,旗舰版,2024-02-01,2025-01-31,3600,年付,暂停,", None),  # a status the mapping lacks
    (20, "C8,K16,旗舰版,2023-06-01,2024-05-31,3600,年付,terminated,", None),
    (21, "C9,K17,旗舰版,2023-06-01,2024-05-31,3600,年付,生效,", None),  # C9: a test account in the master
]


def _subs_file(tmp_path: Path, rows=SUBS_ROWS, header: str = SUBS_HEADER, name: str = "subscriptions.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(("\n".join([header] + [r for _, r, _ in rows]) + "\n").encode("gbk"))
    return p


USAGE_HEADER = ["Customer ID", "Month", "Active Users", "Logins", "Feature Coverage", "Tickets",
                "First Response Time (min)"]
#: (Excel row, values, reason or None)
USAGE_ROWS = [
    (2, ["C1", dt.datetime(2024, 1, 1), 10, 120, 0.45, 2, 90], None),
    (3, ["C1", "2024-02", 11, 130, 0.5, 1, 30], None),
    (4, ["C1", "2024-03", 12, 140, 1.5, 0, 60], "coverage_out_of_range"),
    (5, ["C2", "2024-01", -1, 10, 0.2, 0, 60], "negative_count"),
    (6, ["C2", "2024-02", 5, 10, 0.2, -2, 60], "negative_count"),
    (7, ["C3", "2024-01", 5, 50, 0.3, 1, 60], None),
    (8, ["C3", "2024/01", 5, 50, 0.3, 1, 60], "duplicate"),  # row 7 written differently
    (9, ["C3", "2024-02", 5, 50, 0.3, 1, 60], "usage_conflict"),
    (10, ["C3", "2024年2月", 6, 55, 0.3, 1, 60], "usage_conflict"),
    (11, [None, "2024-01", 1, 1, 0.1, 0, 60], "missing_customer_id"),
    (12, ["demo-account", "2024-01", 1, 1, 0.1, 0, 60], "test_account"),
    (13, ["C4", "2030-01", 1, 1, 0.1, 0, 60], "future_date"),
    (14, ["C4", "someday", 1, 1, 0.1, 0, 60], "bad_date"),
    (15, ["C3", "2024-01", 5, 50, 0.3, 1, 60], "duplicate"),  # an exact copy of row 7
    (16, ["C5", "2024-03", 3, 20, 0.1, 0, 120], None),
    (17, ["C9", "2024-03", 3, 20, 0.1, 0, 120], None),  # C9: a test account in the master
]


def _usage_file(tmp_path: Path, rows=USAGE_ROWS) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "使用情况"
    ws.append(USAGE_HEADER)
    for _, values, _ in rows:
        ws.append(values)
    p = tmp_path / "usage.xlsx"
    wb.save(p)
    return p


def _reasons(res) -> dict[int, str]:
    return dict(zip(res.quarantine["source_row"].tolist(), res.quarantine["reason"].tolist()))


def _expected(rows, without=()) -> dict[int, str]:
    return {line: reason for line, _, reason in rows if reason is not None and line not in without}


@pytest.fixture()
def subs(tmp_path):
    raw = read_table(InputTable(path=str(_subs_file(tmp_path))), "subscriptions")
    return clean_subscriptions(raw, Cleaning())


@pytest.fixture()
def usage(tmp_path):
    raw = read_table(InputTable(path=str(_usage_file(tmp_path))), "usage")
    return clean_usage(raw, Cleaning(), AS_OF)


# ---- config ---------------------------------------------------------------------------------------


def test_input_tables_are_one_tuple_for_config_columns_and_loading(tmp_path):
    assert INPUT_TABLES == tuple(CANONICAL_COLUMNS) == tuple(Inputs.model_fields)
    assert INPUT_TABLES[-2:] == ("subscriptions", "usage")
    (tmp_path / "data").mkdir()
    (tmp_path / "c.yml").write_text(yaml.safe_dump({"client": "t", "inputs": {
        "transactions": {"path": "data/o.csv"}, "subscriptions": {"path": "data/s.csv"},
        "usage": {"path": "data/u.xlsx", "sheet": "使用情况"}}}, allow_unicode=True), encoding="utf-8")
    cfg = load_config(tmp_path / "c.yml")  # relative input paths: from the config's folder
    assert cfg.inputs.subscriptions.path == str(tmp_path / "data" / "s.csv")
    assert cfg.inputs.usage.path == str(tmp_path / "data" / "u.xlsx")
    assert parse_config({"client": "t", "inputs": {"transactions": {"path": "o.csv"}}}).inputs.usage is None


def test_cleaning_keys_validate():
    c = Cleaning()
    assert c.subscription_statuses["已到期"] == "expired" and c.subscription_statuses["terminated"] == "cancelled"
    assert c.billing_periods["年付"] == "year" and c.billing_periods["mrr"] == "month"
    assert c.default_billing_period is None and c.feature_coverage_scale == "auto"
    with pytest.raises(ConfigError, match="cleaning.subscription_statuses.暂停"):
        parse_config({"client": "t", "inputs": {"transactions": {"path": "o.csv"}},
                      "cleaning": {"subscription_statuses": {"暂停": "paused"}}})
    with pytest.raises(ConfigError, match="cleaning.default_billing_period"):
        parse_config({"client": "t", "inputs": {"transactions": {"path": "o.csv"}},
                      "cleaning": {"default_billing_period": "quarter"}})


# ---- mapping by synonyms ------------------------------------------------------------------------


@pytest.mark.parametrize("header, table, column", [
    ("合同编号", "subscriptions", "subscription_id"), ("合同号", "subscriptions", "subscription_id"),
    ("订阅编号", "subscriptions", "subscription_id"), ("Contract ID", "subscriptions", "subscription_id"),
    ("Subscription ID", "subscriptions", "subscription_id"), ("开始日期", "subscriptions", "start_date"),
    ("生效日期", "subscriptions", "start_date"), ("Start Date", "subscriptions", "start_date"),
    ("到期日期", "subscriptions", "end_date"), ("结束日期", "subscriptions", "end_date"),
    ("End Date", "subscriptions", "end_date"), ("月费", "subscriptions", "recurring_amount"),
    ("年费(元)", "subscriptions", "recurring_amount"), ("续费金额", "subscriptions", "recurring_amount"),
    ("Recurring Amount", "subscriptions", "recurring_amount"), ("MRR", "subscriptions", "recurring_amount"),
    ("ARR", "subscriptions", "recurring_amount"), ("计费周期", "subscriptions", "billing_period"),
    ("Billing Period", "subscriptions", "billing_period"), ("状态", "subscriptions", "status"),
    ("Status", "subscriptions", "status"), ("续约自", "subscriptions", "renewed_from"),
    ("原合同编号", "subscriptions", "renewed_from"), ("Renewed From", "subscriptions", "renewed_from"),
    ("套餐", "subscriptions", "plan"),
    ("日期", "usage", "date"), ("月份", "usage", "date"), ("Month", "usage", "date"), ("Date", "usage", "date"),
    ("活跃用户数", "usage", "active_users"), ("Active Users", "usage", "active_users"),
    ("登录次数", "usage", "logins"), ("Logins", "usage", "logins"), ("功能覆盖率", "usage", "feature_coverage"),
    ("功能使用率", "usage", "feature_coverage"), ("Feature Coverage", "usage", "feature_coverage"),
    ("工单数", "usage", "tickets"), ("Tickets", "usage", "tickets"),
    ("首次响应时长(小时)", "usage", "first_response_hours"), ("First Response Hours", "usage", "first_response_hours"),
])
def test_each_listed_header_maps(header, table, column):
    others = {"subscriptions": {"customer_id": "客户编号", "start_date": "签约日期"},
              "usage": {"customer_id": "客户编号", "date": "统计月份"}}[table]
    cols = [header] + [h for c, h in others.items() if c != column]
    mapping, how = headers.map_columns(cols, table, {})
    assert mapping[column] == header and how[column] == "synonym"


def test_no_header_maps_to_two_columns_of_the_new_tables():
    assert headers.synonym_collisions() == []


def test_a_configured_header_wins_and_a_missing_required_column_stops(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("acct,since,fee\nC1,2024-01-01,100\n", encoding="utf-8")
    raw = read_table(InputTable(path=str(p), columns={"customer_id": "acct", "start_date": "since",
                                                      "recurring_amount": "fee"}), "subscriptions")
    assert raw.how == {"customer_id": "configured", "start_date": "configured", "recurring_amount": "configured"}
    p.write_text("客户编号,年费\nC1,100\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"required column 'start_date' not found.*inputs\.subscriptions\.columns"):
        read_table(InputTable(path=str(p)), "subscriptions")


# ---- subscriptions: each rule, status, monthly amount, books ------------------------------------


def test_each_subscription_rule_quarantines_its_row(subs):
    assert _reasons(subs) == _expected(SUBS_ROWS)
    q = subs.quarantine.set_index("source_row")
    assert json.loads(q.loc[6, "detail_params"]) == {"row": 2}
    assert q.loc[16, "detail_code"] == "duplicate_subscription" and json.loads(q.loc[16, "detail_params"]) == {"row": 4}
    assert json.loads(q.loc[10, "detail_params"]) == {"column": "end_date", "value": "不详"}
    assert json.loads(q.loc[11, "detail_params"]) == {"start": "2024-05-01", "end": "2024-04-30"}
    assert json.loads(q.loc[15, "detail_params"]) == {"column": "billing_period", "value": "季付"}
    assert json.loads(q.loc[17, "detail_params"]) == {"subscription_id": "K14", "n_rows": 2, "rows": [18]}
    assert json.loads(q.loc[18, "original"])["年费"] == "1100"
    assert (q["table"] == "subscriptions").all()


def test_clean_subscriptions_are_typed_with_status_and_monthly_amount(subs):
    c = subs.clean.set_index("subscription_id")
    assert list(c.index) == ["K1", "K2", "K3", "K4", "K15", "K16", "K17"]
    assert c.loc["K1", "recurring_amount"] == 1200.0 and c.loc["K1", "billing_period"] == "year"
    assert c.loc["K1", "monthly_amount"] == 100.0 and c.loc["K2", "monthly_amount"] == 110.0
    assert c.loc["K3", "billing_period"] == "month" and c.loc["K3", "monthly_amount"] == pytest.approx(99.9)
    assert c.loc["K4", "billing_period"] == "year" and c.loc["K4", "monthly_amount"] == 200.0  # header 年费
    assert c["status"].to_dict() == {"K1": "expired", "K2": "active", "K3": "active", "K4": "active",
                                     "K15": "unknown", "K16": "cancelled", "K17": "active"}
    assert pd.isna(c.loc["K3", "end_date"]) and c.loc["K3", "renewed_from"] == "K2"
    assert c["start_date"].dtype == "datetime64[ns]" and c["end_date"].dtype == "datetime64[ns]"
    assert c["recurring_amount"].dtype == "float64" and c["plan"].tolist()[:2] == ["基础版", "基础版"]
    assert subs.stats["unknown_statuses"] == {"暂停": 1} and subs.stats["renewed_from_unknown"] == 0


def test_subscription_books_balance_in_exact_cents(subs):
    b = subs.reconciliation
    assert b["balanced"] and b["source_rows"] == len(SUBS_ROWS) == b["clean_rows"] + b["quarantined_rows"]
    assert b["merged_rows"] == 0
    # unreadable (面议) and implausible (5e9) amounts count 0; the negative one counts as it is
    assert b["clean_amount"] == b["clean_net_amount"] == 1200 + 1320 + 99.90 + 2400 + 3 * 3600
    assert b["source_amount"] == pytest.approx(b["clean_amount"] + b["quarantined_amount"], abs=0)
    assert b["quarantined_amount"] == 1200 + 5 * 100 - 300 + 100 + 99.9 + 1000 + 1100
    # a lost row, or a changed amount, cannot balance
    src = subs.clean["source_row"].tolist() + subs.quarantine["source_row"].tolist()
    amounts = subs.clean["recurring_amount"].tolist() + subs.quarantine["amount"].fillna(0).tolist()
    with pytest.raises(ReconciliationError, match="subscriptions: the books do not balance: rows"):
        reconcile("subscriptions", src, subs.clean.iloc[1:], subs.quarantine, source_amounts=amounts,
                  amount_column="recurring_amount")
    moved = subs.clean.assign(recurring_amount=subs.clean["recurring_amount"] + 0.01)
    with pytest.raises(ReconciliationError, match="net amounts"):
        reconcile("subscriptions", src, moved, subs.quarantine, source_amounts=amounts,
                  amount_column="recurring_amount")


def test_status_mapping_comes_from_the_config(tmp_path):
    raw = read_table(InputTable(path=str(_subs_file(tmp_path))), "subscriptions")
    res = clean_subscriptions(raw, Cleaning(subscription_statuses={"暂停": "cancelled", "生效": "active"}))
    status = res.clean.set_index("subscription_id")["status"]
    # a given mapping replaces the default one whole; English canonical names pass through
    assert status["K15"] == "cancelled" and status["K1"] == "unknown" and status["K4"] == "active"


def test_billing_period_from_header_config_or_stop(tmp_path):
    rows = [(2, "C1,2024-01-01,1200", None), (3, "C2,2024-02-01,600", None)]
    for header, period in (("MRR", "month"), ("年费(元)", "year"), ("Annual Fee", "year")):
        raw = read_table(InputTable(path=str(_subs_file(tmp_path, rows, f"客户编号,开始日期,{header}"))), "subscriptions")
        assert header_period(raw.mapping["recurring_amount"], Cleaning()) == period
        res = clean_subscriptions(raw, Cleaning())
        assert res.clean["billing_period"].tolist() == [period] * 2
        assert res.clean["monthly_amount"].tolist() == ([1200.0, 600.0] if period == "month" else [100.0, 50.0])
    path = _subs_file(tmp_path, rows, "客户编号,开始日期,续费金额")
    raw = read_table(InputTable(path=str(path)), "subscriptions")
    with pytest.raises(InputError) as e:
        clean_subscriptions(raw, Cleaning())
    msg = str(e.value)
    assert "subscriptions.csv" in msg and "'续费金额'" in msg and "'1200'" in msg
    assert "cleaning.default_billing_period" in msg and "inputs.subscriptions.columns.billing_period" in msg
    res = clean_subscriptions(raw, Cleaning(default_billing_period="year"))
    assert res.clean["monthly_amount"].tolist() == [100.0, 50.0]


def test_month_only_dates_start_on_the_first_and_end_on_the_last_day(tmp_path):
    rows = [(2, "C1,K1,2024-03,2025年2月,100,月", None), (3, "C2,K2,202403,2024-02,100,月", None)]
    raw = read_table(InputTable(path=str(_subs_file(tmp_path, rows, "客户编号,合同编号,开始日期,到期日期,月费,周期"))),
                     "subscriptions")
    res = clean_subscriptions(raw, Cleaning())
    assert res.clean["start_date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-01"]
    assert res.clean["end_date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-02-28"]
    assert _reasons(res) == {3: "end_before_start"}  # February 2024 ends before March 2024 starts


def test_ids_are_synthesised_by_start_date_when_the_file_has_none(tmp_path):
    rows = [(2, "C1,2024-01-01,100,月", None), (3, "C1,2023-01-01,100,月", None), (4, "C2,2024-01-01,100,月", None)]
    raw = read_table(InputTable(path=str(_subs_file(tmp_path, rows, "客户编号,开始日期,月费,周期"))), "subscriptions")
    res = clean_subscriptions(raw, Cleaning())
    assert res.clean["subscription_id"].tolist() == ["C1#2", "C1#1", "C2#1"]
    assert res.stats["subscription_id_synthesized"] is True
    rows = [(2, "C1,K1,2024-01-01,100", None), (3, "C1,,2023-01-01,100", None)]  # one cell empty
    raw = read_table(InputTable(path=str(_subs_file(tmp_path, rows, "客户编号,合同编号,开始日期,月费"))), "subscriptions")
    res = clean_subscriptions(raw, Cleaning())
    assert res.clean["subscription_id"].tolist() == ["K1", "C1#1"] and res.stats["subscription_ids_missing"] == 1


# ---- usage --------------------------------------------------------------------------------------


def test_each_usage_rule_quarantines_its_row(usage):
    assert _reasons(usage) == _expected(USAGE_ROWS)
    q = usage.quarantine.set_index("source_row")
    assert json.loads(q.loc[4, "detail_params"]) == {"column": "feature_coverage", "value": "1.5", "scaled": 1.5}
    assert json.loads(q.loc[6, "detail_params"]) == {"column": "tickets", "value": "-2"}
    assert q.loc[8, "detail_code"] == "duplicate_usage" and json.loads(q.loc[8, "detail_params"]) == {"row": 7}
    assert json.loads(q.loc[15, "detail_params"]) == {"row": 7} and q.loc[15, "detail_code"] == "duplicate"
    assert json.loads(q.loc[9, "detail_params"]) == {"customer_id": "C3", "date": "2024-02-01", "n_rows": 2, "rows": [10]}
    b = usage.reconciliation
    assert b["balanced"] and b["source_rows"] == len(USAGE_ROWS) == b["clean_rows"] + b["quarantined_rows"]
    assert b["source_amount"] is None


def test_clean_usage_is_typed_by_month_with_hours(usage):
    u = usage.clean
    assert u["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-01", "2024-01-01", "2024-03-01",
                                                          "2024-03-01"]
    assert u["customer_id"].tolist() == ["C1", "C1", "C3", "C5", "C9"]
    assert u["feature_coverage"].tolist() == [0.45, 0.5, 0.3, 0.1, 0.1]
    assert u["first_response_hours"].tolist() == [1.5, 0.5, 1.0, 2.0, 2.0]  # minutes in the header
    assert u["logins"].dtype == "float64" and u["active_users"].tolist()[0] == 10.0
    assert usage.stats["first_response_hours"]["unit"] == "minutes"
    assert usage.stats["feature_coverage"]["percent_points"] is False


def test_feature_coverage_scales():
    pct = pd.Series(["45%", "50%", "150%", ""], dtype="str")
    v, ok, info = coverage_shares(pct, "auto")
    assert v.tolist()[:3] == [0.45, 0.5, 1.5] and info["percent_cells"] == 3 and ok.tolist() == [True] * 3 + [False]
    points = pd.Series(["45", "60.5", "80"], dtype="str")
    assert coverage_shares(points, "auto")[0].tolist() == pytest.approx([0.45, 0.605, 0.8])
    assert coverage_shares(points, "auto")[2]["percent_points"] is True
    shares = pd.Series(["0.45", "0.6", "1"], dtype="str")
    assert coverage_shares(shares, "auto")[0].tolist() == [0.45, 0.6, 1.0]
    assert coverage_shares(shares, "0-100")[0].tolist() == pytest.approx([0.0045, 0.006, 0.01])
    assert coverage_shares(points, "0-1")[0].tolist() == [45.0, 60.5, 80.0]  # then out of range


def test_coverage_scale_from_the_config_quarantines_percent_points(tmp_path):
    p = tmp_path / "u.csv"
    p.write_text("客户编号,月份,功能覆盖率\nC1,2024-01,45\nC1,2024-02,0.5\n", encoding="utf-8")
    raw = read_table(InputTable(path=str(p)), "usage")
    assert _reasons(clean_usage(raw, Cleaning(feature_coverage_scale="0-1"), AS_OF)) == {2: "coverage_out_of_range"}
    res = clean_usage(raw, Cleaning(feature_coverage_scale="0-100"), AS_OF)
    assert res.clean["feature_coverage"].tolist() == pytest.approx([0.45, 0.005])
    # every measure is a column, NaN where the file has none
    assert list(res.clean.columns) == ["customer_id", "date", "active_users", "logins", "feature_coverage", "tickets",
                                       "first_response_hours", "source_row"]
    assert res.clean["logins"].isna().all() and res.clean["logins"].dtype == "float64"


@pytest.mark.parametrize("header, unit", [("首次响应时长(小时)", "hours"), ("首次响应时长（分钟）", "minutes"),
                                          ("first response time [days]", "days"), ("响应时长", "hours")])
def test_response_unit_from_the_header(header, unit):
    assert response_unit(header, Cleaning()) == unit


# ---- number and date conventions per column, as for the other tables ---------------------------


def test_an_ambiguous_amount_column_stops_with_file_column_examples_and_key(tmp_path):
    rows = [(2, 'C1,K1,2024-01-01,"1,200",年', None), (3, 'C2,K2,2024-01-01,"2,400",年', None)]
    path = _subs_file(tmp_path, rows, "客户编号,合同编号,开始日期,金额,计费周期")
    with pytest.raises(InputError) as e:
        read_table(InputTable(path=str(path)), "subscriptions")
    msg = str(e.value)
    assert "subscriptions.csv" in msg and "'金额'" in msg and "'1,200'" in msg and "inputs.subscriptions.decimal" in msg
    raw = read_table(InputTable(path=str(path), decimal=","), "subscriptions")
    assert clean_subscriptions(raw, Cleaning()).clean["recurring_amount"].tolist() == [1.2, 2.4]
    raw = read_table(InputTable(path=str(path), decimal="."), "subscriptions")
    assert clean_subscriptions(raw, Cleaning()).clean["recurring_amount"].tolist() == [1200.0, 2400.0]


def test_usage_dates_read_one_way_per_column(tmp_path):
    p = tmp_path / "u.csv"
    p.write_text("客户编号,日期,登录次数\nC1,05/06/2024,3\nC1,07/08/2024,4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"u\.csv: column '日期' \(date\) reads dates two ways.*inputs\.usage\.dayfirst"):
        read_table(InputTable(path=str(p)), "usage")
    p.write_text("客户编号,日期,登录次数\nC1,05/06/2024,3\nC1,25/08/2024,4\n", encoding="utf-8")
    raw = read_table(InputTable(path=str(p)), "usage")  # 25/08 proves day first for the column
    dates = clean_usage(raw, Cleaning(), pd.Timestamp("2024-12-31")).clean["date"]
    assert dates.dt.strftime("%Y-%m-%d").tolist() == ["2024-06-05", "2024-08-25"]


# ---- the pipeline: quality.json, artifacts, notes, test accounts of the master --------------------


@pytest.fixture()
def kit_cfg(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "客户编号,订单日期,实付金额\nC1,2024-01-05,1000\nC2,2024-02-05,500\nC9,2024-02-06,80\n", encoding="utf-8")
    (tmp_path / "customers.csv").write_text("客户编号,客户名称\nC1,甲公司\nC2,乙公司\nC9,测试公司\n", encoding="utf-8")
    return parse_config({"client": "t", "language": "zh", "as_of": "2024-06-30", "inputs": {
        "transactions": {"path": str(tmp_path / "orders.csv")},
        "customers": {"path": str(tmp_path / "customers.csv")},
        "subscriptions": {"path": str(_subs_file(tmp_path))},
        "usage": {"path": str(_usage_file(tmp_path)), "sheet": "使用情况"},
    }})


def test_clean_all_reports_the_new_tables(kit_cfg, tmp_path):
    res = clean_all(kit_cfg, AS_OF)
    q = res.quality
    assert list(q["reconciliation"]) == ["transactions", "customers", "subscriptions", "usage"]
    assert all(b["balanced"] for b in q["reconciliation"].values())
    assert q["files"]["usage"]["sheet"] == "使用情况" and q["encoding"]["subscriptions"] == "gbk"
    assert q["mapping"]["subscriptions"]["recurring_amount"] == {"source": "年费", "how": "synonym"}
    assert q["mapping"]["usage"]["first_response_hours"]["source"] == "First Response Time (min)"
    # the master's test account (测试公司, C9) reaches both tables, as it reaches the orders
    assert _reasons(clean_subscriptions(read_table(kit_cfg.inputs.subscriptions, "subscriptions"), kit_cfg.cleaning,
                                        test_customer_ids={"C9"}))[21] == "test_account"
    assert "C9" not in set(res.subscriptions["customer_id"]) | set(res.usage["customer_id"])
    by = q["quarantine_by_reason"]
    assert by["subscriptions"]["test_account"]["rows"] == 2 and by["usage"]["test_account"]["rows"] == 2
    assert by["subscriptions"]["negative_amount"] == {"rows": 1, "amount": -300.0}
    assert by["usage"]["usage_conflict"] == {"rows": 2, "amount": None}
    assert q["subscriptions"]["unknown_statuses"] == {"暂停": 1}
    assert q["coverage"]["subscription_unknown_customer"]["customers"]["ids"] == ["C7", "C8"]  # clean rows only
    assert q["coverage"]["usage_customers"] == 3
    codes = {n.code for n in res.notes}
    assert {"clean.note.unknown_subscription_statuses", "clean.note.response_time_converted"} <= codes
    assert "clean.note.billing_period_from_header" not in codes  # the file has a billing period column
    json.dumps(q)
    ctx = RunContext(cfg=kit_cfg, run_dir=tmp_path / "run", as_of=AS_OF, lang="zh")
    written = write_clean(ctx, res)
    assert {"subscriptions_clean", "usage_clean"} <= set(written)
    back = pd.read_parquet(ctx.artifact("subscriptions_clean"))
    assert back["monthly_amount"].tolist() == res.subscriptions["monthly_amount"].tolist()
    assert pd.read_parquet(ctx.artifact("usage_clean"))["date"].dtype.kind == "M"
    qcsv = pd.read_csv(ctx.artifact("quarantine"), encoding="utf-8-sig", dtype=str)
    row = qcsv[(qcsv["table"] == "subscriptions") & (qcsv["source_row"] == "11")].iloc[0]
    assert row["reason_label"] == "到期日早于开始日" and row["detail"] == "到期日 2024-04-30 早于开始日 2024-05-01"


def test_new_details_render_in_both_languages(subs, usage):
    q = pd.concat([subs.quarantine, usage.quarantine], ignore_index=True)
    for lang in ("zh", "en"):
        shown = present.details(q, lang)
        assert shown.str.len().gt(0).all()
        labels = q["reason"].map(lambda r: present.reason_label(r, lang))
        assert (labels != q["reason"]).all(), "every reason has a label"
    en = dict(zip(q["source_row"].astype(str) + q["table"], present.details(q, "en")))
    assert en["17subscriptions"] == ("contract id K14: 2 rows with different content, see also row(s) 18; "
                                     "all quarantined, nothing guessed")
    assert en["4usage"] == "feature coverage='1.5' is 1.5 after scaling, outside 0-1 (cleaning.feature_coverage_scale)"


def test_notes_say_how_the_billing_period_was_taken(tmp_path):
    rows = [(2, "C1,2024-01-01,1200", None)]
    (tmp_path / "o.csv").write_text("客户编号,订单日期,实付金额\nC1,2024-01-05,1000\n", encoding="utf-8")
    for header, cleaning, code in (("ARR", {}, "clean.note.billing_period_from_header"),
                                   ("续费金额", {"default_billing_period": "month"},
                                    "clean.note.billing_period_from_config")):
        cfg = parse_config({"client": "t", "as_of": "2024-06-30", "cleaning": cleaning, "inputs": {
            "transactions": {"path": str(tmp_path / "o.csv")},
            "subscriptions": {"path": str(_subs_file(tmp_path, rows, f"客户编号,开始日期,{header}"))}}})
        notes = [n for n in clean_all(cfg, AS_OF).notes if n.code.startswith("clean.note.billing_period")]
        assert [n.code for n in notes] == [code] and notes[0].params["header"] == header


# ---- kit check -----------------------------------------------------------------------------------


def _check_config(tmp_path: Path, subs: Path, usage: Path | None = None, **cleaning) -> Path:
    (tmp_path / "o.csv").write_text("customer_id,order_date,amount\nC1,2024-01-05,1000\nC2,2024-02-05,500\n",
                                    encoding="utf-8")
    inputs = {"transactions": {"path": "o.csv"}, "subscriptions": {"path": str(subs)}}
    if usage is not None:
        inputs["usage"] = {"path": str(usage), "sheet": "使用情况"}
    p = tmp_path / "c.yml"
    p.write_text(yaml.safe_dump({"client": "t", "language": "en", "inputs": inputs,
                                 **({"cleaning": cleaning} if cleaning else {})}, allow_unicode=True), encoding="utf-8")
    return p


def test_check_reports_the_new_inputs(capsys, tmp_path):
    cfg = _check_config(tmp_path, _subs_file(tmp_path), _usage_file(tmp_path))
    assert main(["check", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "[subscriptions]" in out and "[usage]" in out and "encoding gbk" in out and "sheet 使用情况" in out
    assert "recurring_amount ← 年费" in out and "first_response_hours ← First Response Time (min)" in out
    assert "billing period    per row, from column '计费周期'" in out
    assert "2022-01-01 .. 2024-05-01" in out  # start dates (2024-13-45 does not parse)
    assert "column '合同状态' (status) has 1 rows with values the config does not map: 暂停" in out
    assert "column '计费周期' (billing_period) has 1 rows" in out and "季付" in out
    assert main(["check", "--config", str(cfg), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert [i["table"] for i in facts["inputs"]] == ["transactions", "subscriptions", "usage"]
    subs, usage = facts["inputs"][1], facts["inputs"][2]
    start = next(p for p in subs["parse"] if p["column"] == "start_date")
    assert start["cells"] == len(SUBS_ROWS) and start["failures"] == [{"row": 9, "value": "2024-13-45"}]
    amount = next(p for p in subs["parse"] if p["column"] == "recurring_amount")
    assert amount["kind"] == "money" and amount["failures"] == [{"row": 12, "value": "面议"}]
    assert usage["dates"]["first"] == "2024-01-01" and usage["dates"]["last"] == "2030-01-01"
    assert {p["column"] for p in usage["parse"]} >= {"date", "feature_coverage", "logins"}
    assert main(["check", "--config", str(cfg), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "【subscriptions】" in out and "计费周期" in out and "请在 cleaning.subscription_statuses 中补充" in out


def test_check_stops_when_the_billing_period_is_not_known(capsys, tmp_path):
    rows = [(2, "C1,2024-01-01,1200", None)]
    cfg = _check_config(tmp_path, _subs_file(tmp_path, rows, "客户编号,开始日期,续费金额"))
    assert main(["check", "--config", str(cfg)]) == 2
    out, err = capsys.readouterr()
    assert "1 problem(s) would fail the run" in out
    assert "'续费金额'" in err and "cleaning.default_billing_period" in err and len(err.strip().splitlines()) == 1
    cfg = _check_config(tmp_path, _subs_file(tmp_path, rows, "客户编号,开始日期,续费金额"), default_billing_period="year")
    assert main(["check", "--config", str(cfg)]) == 0
    assert "per year (cleaning.default_billing_period)" in capsys.readouterr().out


# ---- property: no row lost or counted twice, whatever the rows hold ------------------------------

_CELLS = {
    "客户编号": ["C1", "C2", "C3", "", "测试A"],
    "合同编号": ["K1", "K2", "K3", ""],
    "开始日期": ["2024-01-01", "2024/2/1", "2024-03", "坏", ""],
    "到期日期": ["2024-12-31", "2023-01-01", "", "不详"],
    "金额": ["100", "99.95", "-5", "面议", "", "2000000000"],
    "计费周期": ["月", "年付", "季付", ""],
    "状态": ["生效", "已到期", "暂停", ""],
}


@settings(max_examples=40, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(*[st.sampled_from(v) for v in _CELLS.values()]), min_size=1, max_size=25),
       duplicates=st.sampled_from(["quarantine", "keep"]))
def test_property_every_subscription_row_lands_once(rows, duplicates):
    df = pd.DataFrame([list(r) for r in rows], columns=list(_CELLS))
    raw = RawTable.from_frame(df, "subscriptions")
    res = clean_subscriptions(raw, Cleaning(duplicates=duplicates, default_billing_period="month"))
    b = res.reconciliation  # reconcile() raised if the books did not balance
    assert b["balanced"] and b["source_rows"] == len(rows) == b["clean_rows"] + b["quarantined_rows"]
    landed = sorted(res.clean["source_row"].tolist() + res.quarantine["source_row"].tolist())
    assert landed == list(range(2, len(rows) + 2))
    c = res.clean
    assert c["customer_id"].notna().all() and (c["recurring_amount"] >= 0).all()
    assert set(c["billing_period"]) <= {"month", "year"} and set(c["status"]) <= {"active", "cancelled", "expired",
                                                                                 "unknown"}
    assert ((c["end_date"] >= c["start_date"]) | c["end_date"].isna()).all()
    months = c["billing_period"].map({"month": 1, "year": 12}).astype("float64")
    assert (c["monthly_amount"] * months).round(6).tolist() == c["recurring_amount"].round(6).tolist()
    if duplicates == "quarantine":
        assert not c["subscription_id"].duplicated().any()
