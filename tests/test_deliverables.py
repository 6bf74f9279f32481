"""The three deliverable sheets: names, headers, Excel formatting, formula injection, masking, CSV."""
import zipfile

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from kit.core.config import parse_config
from kit.present.table import display_values, header, table
from kit.publish import deliverables as dl
from kit.publish import writer
from kit.publish.writer import UnsafePath, inside, neutralise, write_workbook
from kit.stages import strategy

AS_OF = pd.Timestamp("2024-03-31")
INJECTION = '=HYPERLINK("http://evil.example","click")'


def make_cfg():
    return parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv"}}})


def spine():
    idx = pd.Index(["C001", "C002", "C003"], name="customer_id", dtype="str")
    cust = pd.DataFrame({
        "name": ["张三科技", INJECTION, "Acme Ltd"],
        "industry": ["新能源汽车", "机械", "retail"],
        "contact_name": ["张三", "李四", "@evil"],
        "contact_phone": ["13812345678", "+86 139 8765 4321", "021-5555-1234"],
        "account_manager": ["王经理", None, "刘经理"],
        "strategic_partner": [True, False, None],
        "first_purchase": pd.to_datetime(["2020-01-15", "2024-02-29", "2023-06-01"]),
        "last_purchase": pd.to_datetime(["2024-03-01", "2024-03-20", "2023-12-01"]),
        "amount_12m": [650_000.0, -1_200.5, 80_000.0],
        "profit_total": [120_000.0, 0.0, 9_000.0],
        "avg_order_value": [32_500.0, 600.0, 4_000.0],
        "value_score": [88.1, 12.0, 40.5],
        "potential_score": [70.0, 80.0, 20.0],
        "quadrant": ["star", "potential", "eliminate"],
        "value_tier": ["high", "low", "low"],
        "churn_risk": ["low", "medium", "high"],
        "p_alive": [0.95, 0.6, 0.1],
        "clv": [300_000.0, 2_000.0, 500.0],
        "clv_rank": [1, 2, 3],
        "tier_change": ["same", "new", "down"],
        "upgrade_trigger": [False, False, False],
        "upgrade_reason": [None, "-2+3", None],
        "downgrade_warning": [False, False, True],
        "special_flags": ["strategic_partner", "+risk", "\tcmd"],
        "tag_industry": ["新能源汽车", "机械", "=1+1"],
        "tag_decision_role": ["technical|procurement", None, "executive"],
        "tag_core_pain": ["cares about equipment stability", None, "cares about energy use"],
        "tag_recent_orders": pd.array([2, 0, 1], dtype="Int64"),
        "persona_label": ["长三角新能源车企-技术驱动型-关注设备稳定性", "机械", "retail"],
    }, index=idx)
    ix = pd.DataFrame({"customer_id": ["C001"], "date": pd.to_datetime(["2024-03-10"]), "type": ["visit"]})
    return cust.assign(**strategy.assign(cust, ix, AS_OF, make_cfg(), period_start="2024-01-01"))


def shown(df, lang, mask_pii=False):
    """A canonical sheet as the writer shows it: labelled values and headers."""
    out = display_values(df, lang, mask_pii=mask_pii)
    out.columns = [header(c, lang) for c in out.columns]
    return out


def read_back(path):
    wb = load_workbook(path)
    return wb, {ws.title: ws for ws in wb.worksheets}


def headers(ws):
    return [c.value for c in ws[1]]


def column(ws, head):
    j = headers(ws).index(head)
    return [row[j] for row in ws.iter_rows(min_row=2)]


# --------------------------------------------------------------------------------------
# Sheets
# --------------------------------------------------------------------------------------


def test_sheet_names_in_both_languages():
    zh = dl.build_sheets(spine(), make_cfg(), "zh")
    assert list(zh) == ["客户信息档案表", "客户分类评估表", "客户维护策略执行表"]
    en = dl.build_sheets(spine(), make_cfg(), "en")
    assert list(en) == ["Customer profile", "Classification", "Strategy execution"]
    assert all(len(n) <= 31 for n in en)
    assert [dl.csv_name(n) for n in zh] == ["客户信息档案表.csv", "客户分类评估表.csv", "客户维护策略执行表.csv"]
    assert [dl.csv_name(n) for n in en] == ["customer_profile.csv", "classification.csv", "strategy_execution.csv"]


def test_profile_sheet_has_base_data_and_tags():
    sheet = shown(dl.profile_sheet(spine(), "zh"), "zh")
    assert sheet.columns[:3].tolist() == ["客户编号", "客户名称", "行业"]
    assert "标签·行业" in sheet.columns and "客户画像" in sheet.columns
    assert sheet["标签·决策角色"].tolist()[0] == "技术驱动型、采购主导型" and pd.isna(sheet["标签·决策角色"][1])
    assert sheet["标签·核心痛点"].tolist()[0] == "关注设备稳定性"
    assert sheet["标签·近期采购次数"].tolist() == [2, 0, 1]
    assert sheet["价值标签"].tolist() == ["高价值", "低价值", "低价值"]
    assert sheet["战略合作伙伴"].iloc[:2].tolist() == ["是", "否"] and pd.isna(sheet["战略合作伙伴"].iloc[2])
    en = shown(dl.profile_sheet(spine(), "en"), "en")
    assert en["Churn risk"].tolist() == ["Low churn risk", "Medium churn risk", "High churn risk"]
    assert en["Tag: Core pain"].tolist()[2] == "cares about energy use"
    assert en["Tag: Decision role"].tolist()[0] == "technology-driven, procurement-led"


def test_classification_sheet_sorted_by_clv_with_indicators():
    sheet = shown(dl.classification_sheet(spine(), "zh"), "zh")
    assert sheet["客户编号"].tolist() == ["C001", "C002", "C003"]
    for head in ("近12个月合作金额", "当前价值得分", "未来潜力得分", "客户类型", "价值标签", "预测客户终身价值", "存活概率"):
        assert head in sheet.columns
    assert sheet["客户类型"].tolist() == ["明星客户", "潜力客户", "淘汰客户"]


def test_strategy_sheet_has_type_strategy_owner_and_plan():
    sheet = shown(dl.strategy_sheet(spine(), make_cfg(), "zh"), "zh")
    assert sheet["优先级"].tolist() == sorted(sheet["优先级"])
    row = sheet.set_index("客户编号").loc["C001"]
    assert row["客户类型"] == "明星客户"
    assert row["维护目标"] == "深化战略合作，提升LTV"
    assert row["维护策略"].startswith("1. 季度业务回顾会")
    assert row["负责人"] == "王经理"
    assert row["跟进计划"] == "每30天跟进一次，下次 2024-04-09"
    assert sheet.set_index("客户编号").loc["C002", "负责人"] == "未分配"
    en = shown(dl.strategy_sheet(spine(), make_cfg(), "en"), "en").set_index("Customer ID")
    assert en.loc["C001", "Follow-up plan"] == "every 30 days, next 2024-04-09"
    overdue = en.loc[en["Follow-up overdue"] == "yes", "Follow-up plan"]
    assert overdue.str.endswith("(overdue)").all()


# --------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------


def test_workbook_formatting(tmp_path):
    p = write_workbook(dl.build_sheets(spine(), make_cfg(), "zh"), tmp_path / "deliverables.xlsx", root=tmp_path,
                       lang="zh")
    wb, sheets = read_back(p)
    assert wb.sheetnames == ["客户信息档案表", "客户分类评估表", "客户维护策略执行表"]
    ws = sheets["客户分类评估表"]
    assert ws.freeze_panes == "C2"  # below the header, right of id and name (tests/test_sheets.py)
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}4"
    head = ws["A1"]
    assert head.font.bold and head.fill.fgColor.rgb.endswith("2F5D8A")
    j = headers(ws).index("近12个月合作金额") + 1
    assert ws.cell(2, j).number_format == "#,##0"
    assert ws.cell(2, headers(ws).index("存活概率") + 1).number_format == "0.0%"
    profile = sheets["客户信息档案表"]
    dates = profile.cell(2, headers(profile).index("首次购买日期") + 1)
    assert dates.is_date and dates.number_format == "yyyy-mm-dd"
    assert dates.value.date().isoformat() == "2020-01-15"
    # widths: CJK counts double, so the long Chinese persona column is wider than the id column
    letter = profile.cell(1, headers(profile).index("客户画像") + 1).column_letter
    assert profile.column_dimensions[letter].width > profile.column_dimensions["A"].width >= 10


def test_display_width_counts_cjk_double():
    assert dl.display_width("abc") == 3
    assert dl.display_width("客户") == 4
    assert dl.display_width("客户ab") == 6


def test_formula_injection_is_written_as_text(tmp_path):
    p = write_workbook(dl.build_sheets(spine(), make_cfg(), "zh"), tmp_path / "d.xlsx", root=tmp_path, lang="zh")
    _, sheets = read_back(p)
    profile = sheets["客户信息档案表"]
    cell = profile.cell(3, headers(profile).index("客户名称") + 1)
    assert cell.value == INJECTION
    assert cell.data_type == "s" and cell.quotePrefix
    for ws in sheets.values():
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
    with zipfile.ZipFile(p) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(name).decode("utf-8")
    cls = sheets["客户分类评估表"]
    amount = column(cls, "近12个月合作金额")
    assert [c.value for c in amount] == [650_000, -1_200.5, 80_000] and amount[1].data_type == "n"
    flags = [c.value for c in column(cls, "特殊标记")]
    assert flags == ["战略合作伙伴", "+risk", "\tcmd"]
    reason = column(cls, "升级原因")[1]
    assert reason.value == "-2+3" and reason.data_type == "s"


def test_escape_formula():
    assert neutralise("=1+1") == "'=1+1"
    for s in ("+1", "-1", "@x", "\tx", "\rx"):
        assert neutralise(s) == "'" + s
    assert neutralise(-5) == -5 and neutralise(-5.5) == -5.5
    assert neutralise("张三") == "张三" and neutralise(None) is None


def test_masking_in_workbook_keeps_ids(tmp_path):
    sheets = dl.build_sheets(spine(), make_cfg(), "en")
    p = write_workbook(sheets, tmp_path / "d.xlsx", root=tmp_path, lang="en", mask_pii=True)
    _, wss = read_back(p)
    profile = wss["Customer profile"]
    assert [c.value for c in column(profile, "Customer name")] == ["张**", "=**", "A** L**"]
    assert [c.value for c in column(profile, "Contact person")] == ["张**", "李**", "@**"]
    assert [c.value for c in column(profile, "Contact phone")] == ["138****5678", "139****4321", "021****1234"]
    assert [c.value for c in column(profile, "Customer ID")] == ["C001", "C002", "C003"]
    assert column(profile, "Customer name")[1].data_type == "s"  # "=**" is still text
    strat = wss["Strategy execution"]
    assert "138****5678" in [c.value for c in column(strat, "Contact phone")]
    # unmasked without the flag
    p = write_workbook(sheets, tmp_path / "plain.xlsx", root=tmp_path, lang="en")
    assert column(read_back(p)[1]["Customer profile"], "Contact person")[0].value == "张三"


def test_invalid_sheet_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sheet name"):
        write_workbook({"x" * 32: pd.DataFrame({"a": [1]})}, tmp_path / "x.xlsx", root=tmp_path, lang="en")


def test_unknown_columns_use_dtype_formats(tmp_path):
    df = pd.DataFrame({"when": pd.to_datetime(["2024-02-29", None]), "n": [1, 2], "x": [1.5, np.nan], "t": ["a", None]})
    p = write_workbook({"S": df}, tmp_path / "x.xlsx", root=tmp_path, lang="en")
    ws = read_back(p)[1]["S"]
    assert ws["A2"].number_format == "yyyy-mm-dd" and ws["A3"].value is None
    assert ws["B2"].number_format == "#,##0" and ws["C2"].number_format == "#,##0.00"
    assert ws["C3"].value is None and ws["D3"].value is None


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------


def test_csvs_are_utf8_bom_escaped_and_masked(tmp_path):
    sheets = dl.build_sheets(spine(), make_cfg(), "zh")
    files = dl.write_csvs(sheets, tmp_path, "zh", mask_pii=False)
    assert [f.name for f in files] == ["客户信息档案表.csv", "客户分类评估表.csv", "客户维护策略执行表.csv"]
    raw = files[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(files[0], encoding="utf-8-sig", dtype=str)
    assert back.loc[1, "客户名称"] == "'" + INJECTION
    assert back.loc[0, "首次购买日期"] == "2020-01-15"
    assert back.loc[2, "标签·行业"] == "'=1+1"
    cls = pd.read_csv(files[1], encoding="utf-8-sig")
    assert cls["近12个月合作金额"].tolist() == [650_000.0, -1_200.5, 80_000.0]  # numbers stay numbers
    masked = dl.write_csvs(dl.build_sheets(spine(), make_cfg(), "en"), tmp_path / "en", "en", mask_pii=True)
    prof = pd.read_csv(masked[0], encoding="utf-8-sig", dtype=str)
    assert prof["Contact phone"].tolist() == ["138****5678", "139****4321", "021****1234"]
    assert prof["Customer ID"].tolist() == ["C001", "C002", "C003"]


def test_sheet_tables_format_dates_and_money():
    html = table(dl.strategy_sheet(spine(), make_cfg(), "zh"), "zh").html
    assert "2024-04-09" in html and "00:00:00" not in html
    html = table(dl.classification_sheet(spine(), "en"), "en").html
    assert "650,000" in html and "95.0%" in html


def test_rfm_segments_and_growth_stage_are_labelled():
    cust = spine().assign(rfm_segment=["Champions", "At Risk", "custom"], growth_stage=["startup", None, "mature"])
    zh = shown(dl.profile_sheet(cust, "zh", make_cfg()), "zh")
    assert zh["RFM分群"].tolist() == ["冠军客户", "流失风险", "custom"]
    assert zh["发展阶段"].tolist()[0] == "初创期" and pd.isna(zh["发展阶段"][1])
    assert shown(dl.classification_sheet(cust, "en", make_cfg()), "en")["RFM segment"].tolist()[1] == "At Risk"


def test_top_customers_caps_the_workbook_by_priority():
    import pandas as pd

    from kit.publish.deliverables import top_customers

    spine = pd.DataFrame({"priority": [3, 1, 2, 4]}, index=pd.Index(["a", "b", "c", "d"], name="customer_id"))
    top = top_customers(spine, 2)
    assert list(top.index) == ["b", "c"] and top.attrs["dropped"] == 2
    assert top_customers(spine, 10).attrs["dropped"] == 0


def test_write_deliverables_csv_has_everyone_workbook_the_top_by_priority(tmp_path):
    import pandas as pd

    from kit.publish.deliverables import write_deliverables

    cfg = make_cfg()
    cfg.report.excel_max_rows = 1
    s = spine()
    out = write_deliverables(s, cfg, "zh", tmp_path, tmp_path / "deliverables.xlsx", preview_rows=2)
    assert out.workbook_rows == 1 and out.dropped == len(s) - 1
    for p in out.csvs:
        assert len(pd.read_csv(p, encoding="utf-8-sig")) == len(s), p.name
    wb, _ = read_back(out.workbook)
    for ws in wb.worksheets:
        assert ws.max_row == 2, ws.title  # header + the one customer first by priority
    first = s.sort_values("priority").index[0]
    assert first in [c.value for c in wb.worksheets[0]["A"]] + [c.value for c in wb.worksheets[0]["B"]]
    assert list(out.overview.iloc[:, 1]) == [len(s)] * 3


def test_csv_written_in_chunks_reads_back_whole(tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.setattr(writer, "CSV_CHUNK_ROWS", 2)
    sheets = dl.build_sheets(spine(), make_cfg(), "zh")
    (p,) = dl.write_csvs({"客户分类评估表": list(sheets.values())[1]}, tmp_path, "zh")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    back = pd.read_csv(p, encoding="utf-8-sig")
    assert len(back) == len(spine()) and list(back.columns) == [header(c, "zh") for c in list(sheets.values())[1].columns]


# --------------------------------------------------------------------------------------
# Hostile text in the spine: written as text everywhere; masking; paths
# --------------------------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://x")', "@SUM(1)", "+1", "-1+2", "\tcmd", "\r=1", "<img src=x onerror=alert(1)>"]


def hostile_spine():
    s = spine().iloc[[0] * len(HOSTILE)].copy()
    s.index = pd.Index([f"H{i}" for i in range(len(HOSTILE))], name="customer_id", dtype="str")
    s["name"] = HOSTILE
    s["region"] = HOSTILE[::-1]
    s["account_manager"] = HOSTILE
    s["owner"] = HOSTILE
    s["contact_name"] = "张三丰"
    s["contact_phone"] = "13812345678"
    s["priority"] = range(1, len(HOSTILE) + 1)
    return s


def test_hostile_text_is_written_as_text_in_sheets_and_csvs(tmp_path):
    cfg = make_cfg()
    out = dl.write_deliverables(hostile_spine(), cfg, "en", tmp_path, tmp_path / "deliverables.xlsx",
                                preview_rows=len(HOSTILE))
    wb = load_workbook(out.workbook)
    seen = set()
    for ws in wb.worksheets:
        heads = headers(ws)
        for head in ("Customer name", "Region", "Account manager", "Owner"):
            if head not in heads:
                continue
            for cell in column(ws, head):
                assert cell.data_type == "s", (ws.title, head, cell.value)
                value = unescape(cell.value)  # XlsxWriter stores a CR as _x000D_, as Excel does
                assert value in HOSTILE, (ws.title, head, cell.value)
                seen.add(value)
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
    assert seen == set(HOSTILE)
    with zipfile.ZipFile(out.workbook) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(name).decode("utf-8")
    profile = pd.read_csv(tmp_path / "customer_profile.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    for col in ("Customer name", "Region", "Account manager"):
        for v in profile[col]:
            original = v[1:] if v.startswith("'") else v
            assert original in HOSTILE
            assert v.startswith("'") == original.startswith(("=", "+", "-", "@", "\t", "\r")), (col, v)
    assert "<img src=x onerror=alert(1)>" in set(profile["Customer name"])  # text, as typed
    strat = pd.read_csv(tmp_path / "strategy_execution.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert set(strat["Owner"]) == {("'" + h if h.startswith(("=", "+", "-", "@", "\t", "\r")) else h) for h in HOSTILE}
    # the preview a notebook shows goes through the one table function: escaped
    html = table(out.previews["Strategy execution"], "en").html
    assert "<img" not in html and "&lt;img" in html


def test_mask_pii_leaves_no_full_name_or_phone_in_csv_or_xlsx(tmp_path):
    spine_ = hostile_spine()
    spine_["name"] = "张三科技有限公司"
    out = dl.write_deliverables(spine_, make_cfg(), "zh", tmp_path, tmp_path / "deliverables.xlsx", mask_pii=True)
    for p in out.csvs:
        raw = p.read_text(encoding="utf-8-sig")
        assert "张三科技有限公司" not in raw and "13812345678" not in raw and "张三丰" not in raw, p.name
    assert "张**" in (tmp_path / "客户信息档案表.csv").read_text(encoding="utf-8-sig")
    with zipfile.ZipFile(out.workbook) as z:
        for name in z.namelist():
            body = z.read(name).decode("utf-8", errors="ignore")
            assert "张三科技有限公司" not in body and "13812345678" not in body and "张三丰" not in body, name
    # previews (canonical) are masked where they are shown
    assert "张三科技" not in table(out.previews["客户维护策略执行表"], "zh", mask_pii=True).html


def test_inside_refuses_paths_outside_the_run_folder(tmp_path):
    root = tmp_path / "run"
    root.mkdir()
    assert inside(root, "artifacts/x.csv") == (root / "artifacts" / "x.csv").resolve()
    for bad in ("../x.csv", "artifacts/../../x.csv", tmp_path / "x.csv", "/etc/passwd"):
        with pytest.raises(UnsafePath):
            inside(root, bad)
    with pytest.raises(UnsafePath):
        write_workbook({"S": pd.DataFrame({"a": [1]})}, root / ".." / "x.xlsx", root=root, lang="en")
    with pytest.raises(UnsafePath):
        dl.write_csvs({"S": pd.DataFrame({"a": [1]})}, tmp_path, "en", root=root)
    assert not (tmp_path / "x.xlsx").exists() and not (tmp_path / "S.csv").exists()


@pytest.mark.parametrize("lang, csv", [("zh", "续约跟进表.csv"), ("en", "renewal_follow_up.csv")])
def test_an_extra_sheet_is_the_fourth_in_workbook_csv_and_overview(tmp_path, lang, csv):
    """Issue 13: the renewal follow-up is written whole after the three customer sheets, with a
    formula-like plan name neutralised like every other cell."""
    name = "续约跟进表" if lang == "zh" else "Renewal follow-up"
    renewal = pd.DataFrame({"customer_id": ["001", "002"], "plan": ["=HYPERLINK(\"x\")", "基础版"],
                            "days_to_end": [3, 45]})
    out = dl.write_deliverables(spine(), make_cfg(), lang, tmp_path, tmp_path / "d.xlsx", extra={name: renewal})
    assert [p.name for p in out.csvs][-1] == csv
    back = pd.read_csv(tmp_path / csv, encoding="utf-8-sig", dtype=str)
    assert back.iloc[:, 0].tolist() == ["001", "002"] and back.iloc[0, 1].startswith("'=")
    assert back.columns[0] == header("customer_id", lang)  # headers in the sheet's language
    wb, _ = read_back(out.workbook)
    assert wb.sheetnames[3] == name and wb.worksheets[3].max_row == 3
    row = out.overview.iloc[-1]
    assert (row["sheet_name"], row["csv_rows"], row["excel_rows"], row["csv_file"]) == (name, 2, 2, csv)
    assert len(out.overview) == 4
