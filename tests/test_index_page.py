"""The executive summary (index.html) built from a hand-made run folder."""
import json
import re

import numpy as np
import pandas as pd
import pytest

from kit.core import paths
from kit.core.config import parse_config
from kit.core.notes import Note
from kit.publish import deliverables as dl
from kit.publish import index_page
from kit.publish.html import network_references
from kit.publish.writer import write_workbook
from kit.stages import strategy

AS_OF = pd.Timestamp("2024-06-30")


def make_cfg(lang="zh", mask_pii=False):
    return parse_config({
        "client": "demo", "client_name": "演示公司", "language": lang, "period": "quarter",
        "inputs": {"transactions": {"path": "x.csv"}},
        "report": {"mask_pii": mask_pii},
    })


def transactions():
    rows = [
        ("A", "2023-01-10", 100_000.0), ("A", "2024-02-01", 50_000.0), ("A", "2024-05-01", 80_000.0),
        ("B", "2024-03-31", 20_000.0), ("B", "2024-06-30", 30_000.0),  # the period's last day counts
        ("C", "2024-04-15", 5_000.0),  # new this quarter
        ("D", "2023-06-01", 7_000.0),
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    tx["is_return"] = False
    return tx


def customers(cfg):
    idx = pd.Index(["A", "B", "C", "D"], name="customer_id", dtype="str")
    cust = pd.DataFrame({
        "name": ["张三科技", "李四制造", "王五贸易", "赵六物流"],
        "account_manager": ["王经理", "王经理", None, "刘经理"],
        "quadrant": ["star", "cash_cow", "potential", "eliminate"],
        "quadrant_prev": ["cash_cow", "cash_cow", None, "potential"],
        "value_tier": ["high", "medium", "low", "low"],
        "value_tier_prev": ["medium", "medium", None, "low"],
        "tier_change": ["up", "same", "new", "lost"],
        "churn_risk": ["low", "medium", "low", "high"],
        "amount_12m": [130_000.0, 50_000.0, 5_000.0, 0.0],
        "clv": [200_000.0, 60_000.0, 8_000.0, np.nan],
        "first_purchase": pd.to_datetime(["2023-01-10", "2024-03-31", "2024-04-15", "2023-06-01"]),
        "last_purchase": pd.to_datetime(["2024-05-01", "2024-06-30", "2024-04-15", "2023-06-01"]),
    }, index=idx)
    return cust.assign(**strategy.assign(cust, None, AS_OF, cfg, period_start="2024-04-01"))


def meta(lang):
    return {
        "client": "demo", "client_name": "演示公司", "period": "quarter", "period_label": "2024-Q2",
        "as_of": "2024-06-30", "language": lang, "config": "configs/demo.yml",
        "started_utc": "2024-07-01T08:00:00+00:00", "finished_utc": "2024-07-01T08:01:00+00:00",
        "seconds_per_notebook": {"01_clean": 1.0, "05_strategy": 2.0},
        "inputs": {"transactions": {"path": "/data/tx.csv", "sha256": "ab" * 32, "bytes": 10}},
        "packages": {"customer-value-kit": "0.1.0", "pandas": "3.1", "lifetimes": "0.11.3"},
    }


def run_folder(tmp_path, lang="zh", mask_pii=False, with_strategy=True, cust=None):
    cfg = make_cfg(lang, mask_pii)
    run = tmp_path / "run"
    art = run / "artifacts"
    art.mkdir(parents=True)
    transactions().to_parquet(art / paths.ARTIFACTS["transactions_clean"])
    cust = customers(cfg) if cust is None else cust
    if not with_strategy:
        cust = cust.drop(columns=strategy.ASSIGN_COLUMNS)
    cust.to_parquet(art / paths.ARTIFACTS["customers"])
    (art / "quality.json").write_text(json.dumps({"reconciliation": {"transactions": {
        "source_rows": 8, "clean_rows": 7, "quarantined_rows": 1, "merged_rows": 0, "balanced": True}}}))
    (art / "notes.json").write_text(json.dumps([
        Note("clv.validation.too_short", {"holdout_days": 90}, "omitted", "04_clv").as_dict(),
        Note("strategy.note_no_quadrant", {"n": 1234}, "warning", "05_strategy").as_dict(),
    ]))
    if with_strategy:
        sheets = dl.build_sheets(cust, cfg, lang)
        write_workbook(sheets, art / paths.ARTIFACTS["deliverables"], root=art, lang=lang, mask_pii=mask_pii)
        dl.write_csvs(sheets, art, lang, mask_pii)
        summary = strategy.run_strategy(cust, None, AS_OF, cfg).coming
        (art / index_page.FOLLOW_UP_SUMMARY).write_text(json.dumps(summary))
    out = index_page.build_index(run, cfg, meta(lang), notebooks=paths.NOTEBOOKS)
    return out.read_text(encoding="utf-8")


def text_of(page):
    body = re.sub(r"<style.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------


def test_headline_figures_with_previous_period():
    figs = {f["key"]: f for f in index_page.headline_figures(transactions(), customers(make_cfg()), AS_OF, "quarter")}
    assert figs["customers"]["value"] == 4 and figs["customers"]["previous"] == 3
    assert figs["active_customers"]["value"] == 3 and figs["active_customers"]["previous"] == 2
    assert figs["revenue"]["value"] == 115_000 and figs["revenue"]["previous"] == 70_000
    assert figs["new_customers"]["value"] == 1 and figs["new_customers"]["previous"] == 1
    assert figs["total_clv"]["value"] == 268_000 and figs["total_clv"]["previous"] is None
    assert figs["revenue_at_high_risk"]["value"] == 0 and figs["revenue_at_high_risk"]["previous"] is None


def test_figures_left_out_when_inputs_missing():
    cust = customers(make_cfg()).assign(clv=np.nan)
    keys = [f["key"] for f in index_page.headline_figures(None, cust, AS_OF, "quarter")]
    assert keys == ["revenue_at_high_risk"]  # no transactions, CLV not computed


def test_format_figure_says_dash_for_unknown_previous():
    f = index_page.format_figure({"key": "total_clv", "kind": "money", "value": 1234.5, "previous": None}, "zh")
    assert f == {"label": "预测客户终身价值合计", "value": "¥1,234", "delta": "较上期 –"}
    f = index_page.format_figure({"key": "revenue", "kind": "money", "value": 110.0, "previous": 100.0}, "en", "$")
    assert f["value"] == "$110" and f["delta"] == "vs previous +10.0%"
    assert index_page.format_figure({"key": "customers", "kind": "count", "value": 3, "previous": 0}, "en")["delta"] \
        == "previous period: 0"


def test_migration_tables():
    cust = customers(make_cfg())
    q = index_page.migration_table(cust, "quadrant", "zh")
    assert q["columns"] == ["明星客户", "现金牛客户", "潜力客户", "淘汰客户", "流失", "合计"]
    rows = {name: [v for v, _ in cells] for name, cells, _ in q["rows"]}
    assert rows["现金牛客户"] == [1, 1, 0, 0, 0]  # A moved up to star, B stayed
    assert rows["新增"] == [0, 0, 1, 0, 0]
    assert rows["潜力客户"] == [0, 0, 0, 0, 1]  # D lost
    assert q["stayed"] == 1 and q["n"] == 4
    t = index_page.migration_table(cust, "value_tier", "en")
    assert t["rows"][1][0] == "Medium value" and [v for v, _ in t["rows"][1][1]] == [1, 1, 0, 0]
    assert index_page.migration_table(cust.drop(columns="quadrant_prev"), "quadrant", "en") is None
    assert index_page.tier_changes(cust, "en") == [("Up", 1), ("Down", 0), ("Same", 1), ("New", 1), ("Lost", 1)]


def test_top_actions_in_priority_order_and_masked():
    cust = customers(make_cfg())
    top = index_page.top_actions(cust, "zh", 3, mask_pii=True)
    assert top["columns"] == ["优先级", "客户编号", "客户名称", "客户类型", "负责人", "下次跟进日期", "当前行动"]
    assert [r["cells"][0] for r in top["rows"]] == [1, 2, 3]
    assert all(r["cells"][2].endswith("**") for r in top["rows"])
    owners = [r["cells"][4] for r in index_page.top_actions(cust, "zh", 4)["rows"]]
    assert "未分配" in owners  # C has no account manager
    assert all(";" not in r["cells"][6] or "; " in r["cells"][6] for r in top["rows"])  # words, not keys
    assert not any("play." in r["cells"][6] for r in top["rows"])
    assert index_page.top_actions(cust.drop(columns="priority"), "zh") is None


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------


def test_index_page_zh(tmp_path):
    page = run_folder(tmp_path, "zh")
    text = text_of(page)
    for s in ("客户价值评估报告", "核心指标", "客户数", "本期收入", "预测客户终身价值合计", "较上期 –",
              "四象限迁移", "价值分层迁移", "下期重点行动", "计划跟进", "交付文件", "运行信息",
              "客户信息档案表", "交易记录不足以做留出验证", "1,234 位客户没有四象限分类", "计划跟进 "):
        assert s in text, s
    assert 'href="artifacts/deliverables.xlsx"' in page
    assert 'href="artifacts/客户维护策略执行表.csv"' in page
    assert 'href="05_strategy.html"' in page and 'href="#deliverables"' in page
    assert "张三科技" in page  # not masked by default
    assert network_references(page) == []
    assert "@font-face" in page  # CJK glyphs embedded
    # no English headings leak into the Chinese page
    for s in ("Headline figures", "Top actions", "Deliverables", "Run metadata"):
        assert s not in text


def test_index_page_en_masked(tmp_path):
    page = run_folder(tmp_path, "en", mask_pii=True)
    text = text_of(page)
    for s in ("Customer value assessment", "Headline figures", "Quadrant migration", "Top actions for the coming period",
              "Deliverables", "customer_profile.csv", "Run metadata", "vs previous"):
        assert s in text, s
    assert "张三科技" not in page and "张**" in page
    for s in ("核心指标", "交付文件", "下期重点行动"):
        assert s not in text
    assert "The history is too short for a holdout validation" in text and "1,234 customers have no quadrant" in text
    assert network_references(page) == []


def test_index_page_without_strategy_says_so(tmp_path):
    page = text_of(run_folder(tmp_path, "en", with_strategy=False))
    assert "05_strategy did not run" in page
    assert "This run wrote no deliverable sheets" in page


def test_coming_period_counts_like_notebook_05(tmp_path):
    cfg = make_cfg()
    cust = customers(cfg)
    run = strategy.run_strategy(cust, None, AS_OF, cfg)
    c = index_page.coming_period(json.loads(json.dumps(run.coming)))  # as saved by notebook 05
    assert c["follow_ups"] == len(run.plan)
    assert (c["start"], c["end"]) == ("2024-07-01", "2024-09-30")
    assert c["overdue"] == int(cust["follow_up_overdue"].sum())
    assert c["owners"] == 3  # 王经理, 刘经理 and the unassigned
    assert index_page.coming_period(None) is None and index_page.coming_period({"start": "x"}) is None
    text = text_of(run_folder(tmp_path, "zh"))
    assert f"计划跟进 {len(run.plan):,} 次，涉及负责人 3 位" in text


def test_headline_figures_count_purchases_only():
    tx = transactions()
    extra = pd.DataFrame({"customer_id": ["Z", "B"], "order_date": pd.to_datetime(["2024-05-01", "2024-05-02"]),
                          "amount": [0.0, -500.0], "is_return": [False, False]})
    figs = {f["key"]: f for f in index_page.headline_figures(pd.concat([tx, extra]), None, AS_OF, "quarter")}
    assert figs["customers"]["value"] == 4  # Z bought nothing
    assert figs["revenue"]["value"] == 115_000  # a negative non-return row is not a purchase


def test_index_page_escapes_every_value(tmp_path):
    cfg = make_cfg("en")
    hostile = "<img src=x onerror=alert(1)>"
    cust = customers(cfg).assign(name=[hostile, "李四制造", "王五贸易", "赵六物流"],
                                 owner=[hostile, "王经理", None, "刘经理"])
    page = run_folder(tmp_path, "en", cust=cust)
    assert hostile not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img" not in page


@pytest.mark.parametrize("lang,mask_pii", [("zh", False), ("en", True)])
def test_index_page_reads_its_columns_and_shows_what_every_column_shows(tmp_path, monkeypatch, lang, mask_pii):
    """build_index reads INDEX_COLUMNS of the spine; with KIT_SPINE_COLUMNS=all (every
    column) the page must be the same, else the list lacks a column."""
    partial = run_folder(tmp_path / "columns", lang=lang, mask_pii=mask_pii)
    monkeypatch.setenv("KIT_SPINE_COLUMNS", "all")
    whole = run_folder(tmp_path / "all", lang=lang, mask_pii=mask_pii)
    assert partial == whole
    assert "star" in text_of(partial) or "明星" in text_of(partial)  # the page shows its tables
