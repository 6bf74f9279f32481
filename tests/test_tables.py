"""Tables that read well (issue 16): long tables sortable and filterable offline, wide tables
in a scroll frame whose sticky id and name columns never overlap, cells that never wrap one
character per line, and the 01 quarantine sample with the source file's columns as columns.

Fast: the markup of :func:`kit.present.table.table`, the stylesheet, one exported page (no
kernel: the notebook's outputs are made here). Where Chromium is present, one check clicks a
header and types in the filter box of a real page (skipped with the reason where it is not).
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from kit.present import clean as present_clean
from kit.present.messages import text
from kit.present.table import (
    INTERACTIVE_ROWS,
    MAX_CELL_CHARS,
    STICKY_MAX_EM,
    TABLE_CSS,
    table,
    text_width_em,
)
from kit.publish import html as page_html
from kit.publish import screenshots
from kit.stages.clean import CleanResult


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [f"{i:06d}" for i in range(n)],
        "name": [f"客户{i}" for i in range(n)],
        "amount_12m": np.arange(n, dtype=float) * 1000.5,
        "value_tier": ["high", "medium", "low"] * (n // 3) + ["low"] * (n % 3),
    })


class _Cells(HTMLParser):
    """Start tags with their attributes, in order."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def _tags(markup: str, name: str) -> list[dict[str, str]]:
    p = _Cells()
    p.feed(markup)
    return [a for t, a in p.tags if t == name]


# ---- sortable and filterable --------------------------------------------------------------------
def test_long_tables_are_marked_interactive_short_ones_are_not():
    long_html = table(_frame(INTERACTIVE_ROWS + 1), "zh").html
    short_html = table(_frame(INTERACTIVE_ROWS), "zh").html
    (t,) = _tags(long_html, "table")
    assert t.get("data-kit-interactive") == "1"
    assert t["data-kit-filter"] == text("table.filter", "zh") and "筛选" in t["data-kit-filter"]
    assert "{shown}" in t["data-kit-count"] and "{total}" in t["data-kit-count"]
    assert "data-kit-interactive" not in short_html
    # the rows a table shows decide, not the frame's: 100 rows cut to 10 are not interactive
    assert "data-kit-interactive" not in table(_frame(100), "zh", max_rows=10).html
    assert "data-kit-interactive" not in table(_frame(100), "zh", interactive_rows=None).html
    assert "data-kit-interactive" in table(_frame(6), "en", interactive_rows=5).html
    en = _tags(table(_frame(40), "en").html, "table")[0]
    assert en["data-kit-filter"] == "Filter this table…" and en["data-kit-sort"] == "Click to sort"


def test_numeric_columns_are_marked_for_sorting_as_numbers():
    df = _frame(20)
    df.loc[3, "amount_12m"] = np.nan  # a missing amount keeps the column numeric
    ths = _tags(table(df, "en").html, "th")
    classes = [set(a.get("class", "").split()) for a in ths]
    assert "num" in classes[2]  # amount_12m
    assert "num" not in classes[0] and "num" not in classes[3]  # ids and labels sort as text


def test_the_script_is_offline_and_reads_what_the_table_writes():
    js = page_html.TABLE_SCRIPT
    for word in ("http", "fetch(", "XMLHttpRequest", "import(", "src=", "//cdn"):
        assert word not in js, word
    for attribute in ("data-kit-interactive", "data-kit-filter", "data-kit-count", "data-kit-sort"):
        assert attribute in js
    assert "kit-table-tools" in js and "kit-table-tools" in TABLE_CSS
    assert page_html.network_references(page_html.table_script_html()) == []


def _notebook_with_tables(tmp_path):
    long_table = table(_frame(30), "zh").html
    short_table = table(_frame(3), "zh").html
    nb = new_notebook()
    nb.cells = [new_code_cell("x", outputs=[new_output("display_data", data={"text/html": long_table})]),
                new_code_cell("y", outputs=[new_output("display_data", data={"text/html": short_table})])]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_export_inlines_the_table_script_once_and_stays_offline(tmp_path):
    out = page_html.export_html(_notebook_with_tables(tmp_path), tmp_path / "n.html", title="表",
                                nav=[("概览", "index.html")], footer="f")
    page = out.read_text(encoding="utf-8")
    assert page.count(page_html.TABLE_SCRIPT) == 1
    assert page.count('data-kit-interactive="1"') == 1  # the long table, not the short one
    assert page_html.network_references(page) == []
    assert not re.search(r"<script[^>]+src=", page)


# ---- wide tables: scroll frame, sticky columns, no clipping -------------------------------------
def _rules(css: str) -> dict[str, str]:
    return {sel.strip(): body for sel, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)}


def test_css_keeps_wide_tables_in_a_scroll_frame_and_cells_on_one_line():
    rules = _rules(TABLE_CSS)
    wrap = rules[".kit-table-wrap"]
    assert "overflow-x: auto" in wrap and "max-width: 100%" in wrap
    assert "box-sizing: border-box" in wrap  # its border inside the 100%: no second scroll bar
    cells = next(b for s, b in rules.items() if "table.kit-table th" in s and "table.kit-table td" in s)
    assert "white-space: nowrap" in cells and "text-align: left" in cells
    wrapping = next(b for s, b in rules.items() if s.endswith("td.wrap"))
    assert "white-space: normal" in wrapping and re.search(r"min-width: \d+em", wrapping)
    # JupyterLab's `:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td` (right-aligned, wrapping)
    # has two classes and an element: every cell rule here needs two classes to win
    for selector in rules:
        for part in selector.split(","):
            if re.search(r"\b(td|th)\b", part):
                assert part.count(".") >= 2, part


def test_sticky_columns_sit_side_by_side_whatever_the_id_width():
    df = _frame(5)
    df["customer_id"] = [f"ACME-GLOBAL-CUSTOMER-{i:012d}" for i in range(5)]  # far wider than 8em
    ths = _tags(table(df, "en").html, "th")
    sticky = [a for a in ths if "kit-sticky" in a.get("class", "")]
    assert len(sticky) == 2

    def em(style, prop):
        return float(re.search(rf"(?:^|;)\s*{prop}:\s*([\d.]+)em", style).group(1))

    id_style, name_style = sticky[0]["style"], sticky[1]["style"]
    assert em(id_style, "left") == 0
    assert em(name_style, "left") == em(id_style, "width")  # the name starts where the id ends
    for s in (id_style, name_style):
        assert em(s, "width") == em(s, "min-width") == em(s, "max-width") <= STICKY_MAX_EM
    # the id is cut by its column: the full id shows on hover
    tds = _tags(table(df, "en").html, "td")
    assert tds[0]["title"] == df["customer_id"][0]
    # a short id gets a narrow column, wide enough for its text
    narrow = _tags(table(_frame(3), "zh").html, "th")
    assert em(narrow[1]["style"], "left") < 8


def test_text_width_counts_chinese_wider_than_latin():
    assert text_width_em("客户") == 2.0
    assert text_width_em("ab") == pytest.approx(1.2)


def test_long_text_is_cut_with_the_full_text_on_hover():
    df = pd.DataFrame({"customer_id": ["1"], "upgrade_reason": ["长" * (MAX_CELL_CHARS + 10)]})
    tds = _tags(table(df, "zh").html, "td")
    assert tds[1]["title"] == "长" * (MAX_CELL_CHARS + 10)
    assert "…" in table(df, "zh").html
    # a wrap column shows everything, wrapping
    assert "…" not in table(df, "zh", wrap=["upgrade_reason"]).html


# ---- the quarantine sample: the source file's columns as columns ------------------------------
def _quarantine() -> CleanResult:
    rows = [
        ("transactions", "orders.csv", 12, "bad_date", "bad_date", {"column": "order_date", "value": "2024-13-01"},
         {"客户编号": "000001", "订单日期": "2024-13-01", "amount": "1,234.50", "detail": "x", "客户名称": "张三丰"}),
        ("transactions", "orders.csv", 15, "bad_amount", "bad_amount", {"column": "amount", "value": "#VALUE!"},
         {"客户编号": "000002", "订单日期": "2024-01-03", "amount": "#VALUE!", "detail": "y", "客户名称": "李四光"}),
        ("interactions", "log.csv", 4, "missing_customer_id", "missing_customer_id", {},
         {"客户编号": "", "互动日期": "2024-02-01", "备注": "<b>报价</b>"}),
    ]
    q = pd.DataFrame([{
        "table": t, "source_file": f, "source_row": r, "reason": reason, "detail_code": code,
        "detail_params": json.dumps(params, ensure_ascii=False), "customer_id": orig.get("客户编号"),
        "amount": 0.0, "original": json.dumps(orig, ensure_ascii=False),
    } for t, f, r, reason, code, params, orig in rows])
    return CleanResult(transactions=pd.DataFrame(), customers=None, interactions=None, quarantine=q,
                       merged=pd.DataFrame(), quality={"reconciliation": {"transactions": {}, "interactions": {}}},
                       mapping={"transactions": {"customer_id": "客户编号", "name": "客户名称"}})


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_quarantine_sample_shows_source_columns_and_reasons_in_the_report_language(lang):
    samples = present_clean.quarantine_sample_tables(_quarantine(), 5, lang)
    assert list(samples) == ["transactions", "interactions"]
    tx = samples["transactions"]
    source = tx.attrs["source_columns"]
    collision = text("clean.samples_source_column", lang, header="detail")
    assert source == ["客户编号", "订单日期", "amount", collision, "客户名称"]
    assert list(tx.columns) == ["reason", "source_row", "detail", *source]
    assert "original" not in tx.columns
    page = table(tx, lang, verbatim=source, wrap=["detail"]).html
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", page)
    assert heads[3:] == source  # the file's own headers: "amount" is not relabelled 金额/Amount
    assert heads[:3] == (["原因", "行号", "说明"] if lang == "zh" else ["Reason", "Row", "Detail"])
    # the reason in the report language, the raw cells as typed (an unreadable date stays visible)
    reason = "日期缺失或无法识别" if lang == "zh" else "Missing or unparseable date"
    assert reason in page and "2024-13-01" in page and "#VALUE!" in page and "1,234.50" in page
    assert '{"' not in page  # no raw JSON row
    assert samples["transactions"].attrs["caption"].startswith(
        "交易" if lang == "zh" else "Transactions")
    inter = table(samples["interactions"], lang, verbatim=samples["interactions"].attrs["source_columns"]).html
    assert "&lt;b&gt;报价&lt;/b&gt;" in inter and "<b>" not in inter  # raw text is escaped


def test_quarantine_sample_masks_personal_fields():
    res = _quarantine()
    masked = present_clean.quarantine_sample_tables(res, 5, "zh", mask_pii=True)["transactions"]
    assert "张三丰" not in set(masked["客户名称"]) and "李四光" not in set(masked["客户名称"])
    assert masked["客户名称"].str.startswith("张").any()
    plain = present_clean.quarantine_sample_tables(res, 5, "zh")["transactions"]
    assert "张三丰" in set(plain["客户名称"])
    assert present_clean.quarantine_sample_tables(
        CleanResult(pd.DataFrame(), None, None, res.quarantine.iloc[:0], pd.DataFrame(), {}, {}), 5, "zh") == {}


# ---- in a browser: click a header, type in the box -------------------------------------------
@pytest.mark.browser
def test_sort_and_filter_work_in_a_browser(tmp_path):
    if screenshots.find_chromium() is None:
        pytest.skip("Chromium is not installed: apt-get install chromium (or set $CHROMIUM)")
    df = _frame(20).sample(frac=1, random_state=3).reset_index(drop=True)
    probe = """<script>
window.addEventListener('load', function () {
  var t = document.querySelector('table.kit-table'), th = t.tHead.rows[0].cells[2];
  th.click(); th.click();
  var first = t.tBodies[0].rows[0].cells[0].textContent;
  var box = document.querySelector('.kit-table-tools input');
  box.value = '000007'; box.dispatchEvent(new Event('input'));
  var shown = Array.prototype.filter.call(t.tBodies[0].rows, function (r) { return !r.hidden; }).length;
  var out = document.createElement('pre'); out.id = 'probe';
  out.textContent = [first, th.getAttribute('aria-sort'), shown, document.querySelector('.kit-table-tools span').textContent].join('|');
  document.body.appendChild(out);
});
</script>"""
    page = tmp_path / "t.html"
    page.write_text(f"<html lang='en'><head><style>{TABLE_CSS}</style></head><body>{table(df, 'en').html}"
                    f"{page_html.table_script_html()}{probe}</body></html>", encoding="utf-8")
    dom = screenshots.dump_dom(page)
    first, aria, shown, count = re.search(r'<pre id="probe">([^<]*)</pre>', dom).group(1).split("|")
    assert first == "000019" and aria == "descending"  # the largest amount first
    assert shown == "1" and count == "1 of 20 rows shown"


@pytest.mark.parametrize("seed", range(4))
def test_map_distinct_is_a_map_cell_by_cell(seed):
    """map_distinct spreads one call per distinct value back by codes: the same values as
    calling ``fn`` on every cell (missing values stay missing), the text dtype kept when
    text maps to text, a mapping's missing keys missing as ``Series.map`` makes them."""
    from kit.present.table import map_distinct

    rng = np.random.default_rng(seed)
    keys = np.array(["a", "b", "=c", "张", ""], dtype=object)[rng.integers(0, 5, 300)]
    keys[rng.random(300) < 0.2] = None
    for s in (pd.Series(keys, dtype="str"), pd.Series(keys, dtype=object)):
        fn = (lambda v: f"<{v}>") if seed % 2 else (lambda v: len(v))
        got = map_distinct(s, fn)
        want = [np.nan if pd.isna(v) else fn(v) for v in s]
        assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in want]
        assert got.index.equals(s.index)
        text_kept = seed % 2 and s.dtype == "str"
        assert (got.dtype == s.dtype) if text_kept else got.dtype == object
        mapped = map_distinct(s, {"a": "A", "张": "Zhang"})
        assert mapped.isna().tolist() == s.map({"a": "A", "张": "Zhang"}).isna().tolist()
