"""Sheets ready to work (issue 16): frozen panes, filters, print setup, empty columns left out
and said so, headers unique in both languages.

The workbook is read back with openpyxl, as a person's spreadsheet program would read it.
"""
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from kit.core import registry
from kit.core.config import parse_config
from kit.present.messages import render
from kit.present.table import header
from kit.publish import deliverables as dl
from kit.publish.writer import display_width, frozen_columns, sheet_headers, write_workbook
from kit.stages import strategy

AS_OF = pd.Timestamp("2024-03-31")
N = 6


def make_cfg():
    return parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv"}}})


def _value(name: str, i: int):
    """A plausible value of canonical column ``name`` for customer ``i``, by its registered kind."""
    kind = registry.kind(name)
    if kind == "date":
        return pd.Timestamp("2023-01-01") + pd.Timedelta(days=30 * i)
    if kind == "bool":
        return i % 2 == 0
    if kind in ("int", "money", "num", "score"):
        return float(i * 10 + 1) if kind != "int" else i + 1
    if kind == "pct":
        return i / 10
    if kind.startswith(("label:", "labels:")):
        return None  # set below where a sheet needs one
    return f"{name} {i}"


def demo_spine() -> pd.DataFrame:
    """A spine with every column the three sheets show, every tag column of 03_personas and
    the strategy columns of 05: what the demo data gives."""
    idx = pd.Index([f"C{i:03d}" for i in range(N)], name="customer_id", dtype="str")
    columns = dict.fromkeys(dl.PROFILE_COLUMNS + dl.CLASSIFICATION_COLUMNS + list(dl.TAG_FAMILIES))
    columns.pop("customer_id")
    cust = pd.DataFrame({c: [_value(c, i) for i in range(N)] for c in columns}, index=idx)
    for c in dl.TAG_FAMILIES:
        cust[c] = [i for i in range(N)] if dl.TAG_FAMILIES[c] is None else [f"v{i}" for i in range(N)]
    cust = cust.assign(
        name=["张三科技", "李四机械", "Acme Ltd", "王五物流", "Beta Corp", "赵六医药"],
        quadrant=["star", "cash_cow", "potential", "eliminate", "star", "potential"],
        quadrant_prev=["star"] * N, value_tier=["high", "medium", "low"] * 2, value_tier_prev=["high"] * N,
        churn_risk=["low", "medium", "high"] * 2, tier_change=["same", "up", "down"] * 2,
        abc_class=["A", "B", "C"] * 2, rfm8_class=["important_value"] * N, demand_type=["price"] * N,
        potential_type=["growth"] * N, growth_stage=["startup"] * N, rfm_segment=["Champions"] * N,
        upgrade_reason=["new_category"] * N, downgrade_reason=["amount_drop"] * N,
        special_flags=["strategic_partner"] * N,
    )
    ix = pd.DataFrame({"customer_id": ["C001"], "date": pd.to_datetime(["2024-03-10"]), "type": ["visit"]})
    return cust.assign(**strategy.assign(cust, ix, AS_OF, make_cfg(), period_start="2024-01-01"))


def headers(ws) -> list:
    return [c.value for c in ws[1]]


def write(tmp_path, customers, lang, **kw):
    return dl.write_deliverables(customers, make_cfg(), lang, tmp_path, tmp_path / "deliverables.xlsx", **kw)


# --------------------------------------------------------------------------------------
# Headers: unique and clear in both languages
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_header_of_every_sheet_is_unique(lang, tmp_path):
    customers = demo_spine()
    sheets = dl.build_sheets(customers, make_cfg(), lang)
    for name, sheet in sheets.items():
        labels = [header(c, lang) for c in sheet.columns]  # the registry's labels, no safety net
        folded = [h.casefold() for h in labels]
        dupes = sorted({h for h, f in zip(labels, folded) if folded.count(f) > 1})
        assert not dupes, (name, dupes)
    assert "tag_n_categories" in sheets[dl.sheet_name("profile", lang)].columns  # the demo has every tag
    out = write(tmp_path, customers, lang)
    for ws in load_workbook(out.workbook).worksheets:  # and as written
        heads = headers(ws)
        assert len({h.casefold() for h in heads}) == len(heads), ws.title


def test_category_headers_say_what_they_hold():
    en = {c: header(c, "en") for c in ("n_categories", "tag_category", "tag_n_categories", "tag_recent_orders",
                                      "tag_pain_hits")}
    assert en == {"n_categories": "Number of categories bought", "tag_category": "Tag: Top categories",
                  "tag_n_categories": "Tag: Number of categories", "tag_recent_orders": "Tag: Recent orders",
                  "tag_pain_hits": "Tag: Pain-point mentions"}
    zh = [header(c, "zh") for c in ("n_categories", "tag_category", "tag_n_categories")]
    assert zh == ["购买品类数", "标签·主要采购品类", "标签·采购品类数"]


def test_headers_that_would_collide_get_their_column_name():
    assert sheet_headers(["customer_id", "x", "X"], "en") == ["Customer ID", "x", "X (X)"]
    assert sheet_headers(["region", "Region"], "en") == ["Region", "Region (Region)"]
    assert sheet_headers(["region", "tag_region"], "zh") == ["地区", "标签·区域"]


# --------------------------------------------------------------------------------------
# Panes, filter, widths, print setup
# --------------------------------------------------------------------------------------


def test_panes_frozen_below_header_and_right_of_id_and_name(tmp_path):
    out = write(tmp_path, demo_spine(), "zh")
    wss = {ws.title: ws for ws in load_workbook(out.workbook).worksheets}
    assert headers(wss["客户信息档案表"])[:2] == ["客户编号", "客户名称"]
    assert wss["客户信息档案表"].freeze_panes == "C2"
    assert wss["客户分类评估表"].freeze_panes == "C2"
    assert headers(wss["客户维护策略执行表"])[:3] == ["优先级", "客户编号", "客户名称"]
    assert wss["客户维护策略执行表"].freeze_panes == "D2"


def test_frozen_columns_without_a_name_column():
    assert frozen_columns(["customer_id", "name", "industry"]) == 2
    assert frozen_columns(["customer_id", "first_purchase"]) == 1
    assert frozen_columns(["priority", "customer_id", "quadrant"]) == 2
    assert frozen_columns(["sheet_name", "sheet_column", "sheet_note"]) == 0
    assert frozen_columns(["a", "b", "c", "name"]) == 0  # far right: not a key column
    assert frozen_columns([]) == 0


def test_autofilter_covers_the_table_and_print_setup(tmp_path):
    out = write(tmp_path, demo_spine(), "en")
    wb = load_workbook(out.workbook)
    for ws in wb.worksheets:
        last = get_column_letter(len(headers(ws)))
        assert ws.auto_filter.ref == f"A1:{last}{N + 1}", ws.title
        ps = ws.page_setup
        assert ps.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        # fitToWidth 1 is the default of the file format (ECMA-376), so the attribute may be absent
        assert (ps.fitToWidth if ps.fitToWidth is not None else 1) == 1 and ps.fitToHeight == 0, ws.title
        assert ws.print_title_rows.replace("$", "") == "1:1", ws.title
        m = ws.page_margins
        assert 0.2 <= m.left <= 0.75 and 0.2 <= m.right <= 0.75 and 0.4 <= m.top <= 1 and 0.4 <= m.bottom <= 1
        assert "&P" in ws.oddFooter.right.text
    with zipfile.ZipFile(out.workbook) as z:
        sheet1 = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert 'orientation="landscape"' in sheet1 and 'fitToHeight="0"' in sheet1 and 'fitToWidth' not in sheet1


def test_widths_follow_content_with_cjk_counted_double(tmp_path):
    df = pd.DataFrame({"zh": ["客户名称很长的一家公司"], "en": ["abcdefghijk"], "customer_id": ["C1"]})
    p = write_workbook({"S": df}, tmp_path / "w.xlsx", root=tmp_path, lang="en")
    ws = load_workbook(p)["S"]
    w = {h: ws.column_dimensions[get_column_letter(j)].width for j, h in enumerate(headers(ws), 1)}
    assert display_width("客户名称很长的一家公司") == 22
    assert w["zh"] - w["en"] == pytest.approx(11, abs=0.01)  # same 11 characters, CJK twice as wide
    assert w["Customer ID"] >= display_width("Customer ID")  # never narrower than its header


def test_frozen_name_column_stays_narrow(tmp_path):
    long_name = "长三角新能源汽车零部件制造有限公司华东区域销售分公司"
    df = pd.DataFrame({"customer_id": ["C1"], "name": [long_name], "persona_label": [long_name]})
    ws = load_workbook(write_workbook({"S": df}, tmp_path / "w.xlsx", root=tmp_path, lang="zh"))["S"]
    assert ws.freeze_panes == "C2"
    assert ws.column_dimensions["B"].width < ws.column_dimensions["C"].width  # frozen: capped


# --------------------------------------------------------------------------------------
# Columns empty for every customer: left out of sheet and CSV, listed in the notes sheet
# --------------------------------------------------------------------------------------


def sparse_spine():
    """The demo spine with columns a client without master details, interactions or
    categories leaves empty: missing values, blank text, empty lists."""
    s = demo_spine()
    s["industry"] = None
    s["contact_title"] = "  "
    s["tag_core_pain"] = pd.Series([None] * N, index=s.index, dtype="str")
    s["tag_pain_hits"] = pd.array([pd.NA] * N, dtype="Int64")
    s["satisfaction"] = float("nan")
    s["last_contact"] = pd.NaT
    s["special_flags"] = [[] for _ in range(N)]
    s["industry_leader"] = False  # a flag that is always "no" is a value, not empty
    s["tag_recent_orders"] = pd.array([0] * N, dtype="Int64")  # a count of zero is a value
    return s


DROPPED = {
    "profile": ["industry", "contact_title", "tag_core_pain", "tag_pain_hits"],
    "classification": ["satisfaction", "special_flags"],
    "strategy": ["last_contact"],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_empty_columns_are_dropped_from_sheet_and_csv_and_listed(lang, tmp_path):
    out = write(tmp_path, sparse_spine(), lang)
    wb = load_workbook(out.workbook)
    notes_name = "说明" if lang == "zh" else "Notes"
    assert wb.sheetnames == [dl.sheet_name(k, lang) for k in DROPPED] + [notes_name]
    expected = []
    for key, cols in DROPPED.items():
        name = dl.sheet_name(key, lang)
        gone = [header(c, lang) for c in cols]
        heads = headers(wb[name])
        assert not set(gone) & set(heads), (name, set(gone) & set(heads))
        csv = pd.read_csv(tmp_path / dl.csv_name(name), encoding="utf-8-sig", nrows=1)
        assert list(csv.columns) == heads, name  # the CSV drops the same columns
        expected += [(name, g) for g in gone]
    profile = headers(wb[dl.sheet_name("profile", lang)])
    for kept in ("industry_leader", "tag_recent_orders", "customer_id"):
        assert header(kept, lang) in profile
    notes = wb[notes_name]
    assert headers(notes) == [header(c, lang) for c in ("sheet_name", "sheet_column", "sheet_note")]
    rows = [tuple(c.value for c in r) for r in notes.iter_rows(min_row=2)]
    assert [r[:2] for r in rows] == expected
    reason = "没有任何客户在此列有值" if lang == "zh" else "No customer has a value here"
    assert all(r[2].startswith(reason) for r in rows)
    assert notes.freeze_panes == "A2" and notes.page_setup.orientation == "landscape"
    assert notes.cell(2, 3).alignment.wrap_text
    # the report says the same; the overview counts them
    said = [n for n in out.notes if n.code == "strategy.note_empty_columns"]
    assert [n.params["n"] for n in said] == [len(c) for c in DROPPED.values()]
    assert header("industry", lang) in render(said[0], lang)
    assert out.overview["dropped_columns"].tolist() == [len(c) for c in DROPPED.values()]
    assert out.empty_columns == {dl.sheet_name(k, lang): cols for k, cols in DROPPED.items()}
    assert out.overview["sheet_columns"].tolist() == [len(headers(wb[dl.sheet_name(k, lang)])) for k in DROPPED]
    assert set(out.previews[dl.sheet_name("profile", lang)].columns).isdisjoint(DROPPED["profile"])


def test_emptiness_is_judged_on_every_customer_not_the_capped_workbook(tmp_path):
    s = sparse_spine()
    last = s.sort_values("priority").index[-1]
    s.loc[last, "satisfaction"] = 80.0  # only the customer the workbook leaves out has it
    cfg = make_cfg()
    cfg.report.excel_max_rows = N - 1
    out = dl.write_deliverables(s, cfg, "en", tmp_path, tmp_path / "deliverables.xlsx")
    wb = load_workbook(out.workbook)
    assert "Satisfaction" in headers(wb["Classification"])
    assert "Satisfaction" in pd.read_csv(tmp_path / "classification.csv", encoding="utf-8-sig").columns
    rows = [tuple(c.value for c in r) for r in wb["Notes"].iter_rows(min_row=2)]
    assert ("Classification", "Satisfaction") not in [r[:2] for r in rows]
    assert rows[-1][0] == "All sheets" and "report.excel_max_rows" in rows[-1][2]  # the cap, said in the sheet


def test_no_notes_sheet_when_nothing_is_left_out(tmp_path):
    out = write(tmp_path, demo_spine(), "zh")
    assert load_workbook(out.workbook).sheetnames == ["客户信息档案表", "客户分类评估表", "客户维护策略执行表"]
    assert not [n for n in out.notes if n.code == "strategy.note_empty_columns"]
    assert out.overview["dropped_columns"].tolist() == [0, 0, 0]
    assert out.empty_columns == {}


def test_empty_columns_rules():
    df = pd.DataFrame({
        "customer_id": [None, None], "a": [None, None], "b": ["", " "], "c": [0, 0], "d": [False, False],
        "e": [[], []], "f": [None, "x"], "g": pd.array([pd.NA, pd.NA], dtype="Int64"), "h": [pd.NaT, pd.NaT],
    })
    assert dl.empty_columns(df) == ["a", "b", "e", "g", "h"]
    assert dl.empty_columns(df.iloc[:0]) == []  # no customers: nothing to judge


# --------------------------------------------------------------------------------------
# Safety kept: formula-like text, masking, paths
# --------------------------------------------------------------------------------------


def test_notes_sheet_and_frozen_sheets_keep_the_safety(tmp_path):
    s = sparse_spine()
    s["name"] = ["=1+1", "@SUM(A1)", "+x", "-y", "张三科技有限公司", "Acme"]
    s["contact_phone"] = "13812345678"
    out = write(tmp_path, s, "en", mask_pii=True)
    wb = load_workbook(out.workbook)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate)
    with zipfile.ZipFile(out.workbook) as z:
        body = "".join(z.read(n).decode("utf-8", errors="ignore") for n in z.namelist())
    assert "张三科技有限公司" not in body and "13812345678" not in body
    names = [c.value for c in wb["Customer profile"]["B"][1:]]
    assert "=**" in names and all(c.data_type == "s" for c in wb["Customer profile"]["B"][1:])


# --------------------------------------------------------------------------------------
# End to end: the small fixture's workbook in both languages
# --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("which", ["small_run", "small_run_en"])
def test_run_workbook_is_ready_to_work(which, request):
    result = request.getfixturevalue(which)
    wb = load_workbook(next(result.run_dir.rglob("deliverables.xlsx")))
    for ws in wb.worksheets:
        heads = headers(ws)
        assert len({h.casefold() for h in heads}) == len(heads), ws.title
        assert ws.freeze_panes in ("C2", "D2"), ws.title
        assert ws.page_setup.orientation == "landscape" and ws.print_title_rows.replace("$", "") == "1:1"


def test_csv_money_is_written_in_cents(tmp_path):
    """Money columns carry no float noise in a CSV (263984.27999999997 -> 263984.28)."""
    import pandas as pd

    from kit.publish.writer import write_csv

    df = pd.DataFrame({"customer_id": ["1", "2"], "revenue_total": [263984.27999999997, 0.1 + 0.2]})
    for lang in (None, "en"):
        text = write_csv(df, tmp_path / f"m{lang}.csv", root=tmp_path, lang=lang).read_text(encoding="utf-8-sig")
        assert "263984.28" in text and "0.3" in text
        assert "263984.27999999997" not in text and "0.30000000000000004" not in text
