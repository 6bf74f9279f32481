"""Offline HTML, embedded CJK font, the page frame, cards, and Chinese in plots without
missing glyphs."""
import warnings

import matplotlib
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from kit.present import cards, plotting
from kit.publish import html

matplotlib.use("Agg")


def test_chinese_plot_has_no_missing_glyphs(tmp_path):
    plotting.setup()
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any glyph warning fails here
        fig, ax = plt.subplots()
        ax.bar(["明星客户", "现金牛客户", "潜力客户", "淘汰客户"], [3, 5, 2, -1])
        ax.set_title("价值 × 潜力 四象限（客户数）")
        ax.set_xlabel("象限")
        fig.savefig(tmp_path / "p.png")
        plt.close(fig)
    assert (tmp_path / "p.png").stat().st_size > 5000


def test_seaborn_theme_does_not_undo_fonts():
    import seaborn as sns

    plotting.setup()
    assert plotting.CJK_FAMILY in matplotlib.rcParams["font.sans-serif"]
    sns.set_theme()  # what a notebook author might call later resets fonts ...
    plotting.apply_fonts()  # ... and this puts them back
    assert matplotlib.rcParams["font.sans-serif"][0] == plotting.CJK_FAMILY


def test_font_face_subset_only_when_needed():
    assert html.font_face_css("<p>plain ascii</p>") == ""
    css = html.font_face_css("<p>客户价值</p>")
    assert "@font-face" in css and "data:font/woff;base64," in css
    assert len(css) < 200_000  # a subset, not the 8 MB font


def test_network_references_detects_cdn():
    assert html.network_references('<script src="https://cdn.x/require.js"></script>')
    assert html.network_references('<link rel="stylesheet" href="//fonts.x/css">')
    assert not html.network_references('<a href="https://example.com">link</a><img src="data:image/png;base64,AA">')


@pytest.mark.slow
def test_export_html_is_offline_and_hides_inputs(tmp_path):
    from nbclient import NotebookClient

    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("analyst note, hidden", metadata={"tags": ["analyst-note"]}),
        new_code_cell("from kit.present import plotting\nplotting.setup()\nimport matplotlib.pyplot as plt\n"
                      "SECRET_INPUT = 1\nfig, ax = plt.subplots(); ax.set_title('客户分层'); plt.show()"),
        new_code_cell("from IPython.display import Markdown\nMarkdown('## 明星客户')"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    src = tmp_path / "n.ipynb"
    nbformat.write(nb, str(src))
    out = html.export_html(src, tmp_path / "n.html", title="测试", nav=[("概览", "index.html")], footer="f")
    page = out.read_text(encoding="utf-8")
    assert html.network_references(page) == []
    assert "SECRET_INPUT" not in page and "analyst note" not in page
    assert "data:image/png;base64" in page
    assert "明星客户" in page and "@font-face" in page
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert "missing from font" not in str(o)


def test_cards_escape_every_part():
    page = cards.cards([{"label": "<b>客户</b>", "value": "<img src=x onerror=alert(1)>", "delta": "&+1"}])
    assert "<img" not in page and "<b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&amp;+1" in page
    assert cards.cards([{"label": "a", "value": 1}]).count("kit-card-delta") == 0


def test_nav_and_footer_are_escaped_and_in_the_report_language():
    nav = html.nav_html([("<x>", "a.html?b=1&c=2"), ("b", "b.html")], current="b.html")
    assert "&lt;x&gt;" in nav and "a.html?b=1&amp;c=2" in nav and 'class="current">b<' in nav
    meta = {
        "client": "c", "client_name": "<script>x</script>", "period_label": "2026-Q3", "as_of": "2026-09-30",
        "inputs": {"transactions": {"path": "/d/orders.csv", "sha256": "ab" * 32}},
        "started_utc": "2026-10-01T00:00:00+00:00",
        "packages": {"customer-value-kit": "0.1.0", "pandas": "3.0", "lifetimes": "0.11.3"},
    }
    zh, en = html.footer_html(meta, "zh"), html.footer_html(meta, "en")
    assert "<script>" not in zh and "&lt;script&gt;" in zh
    assert "<b>客户</b>" in zh and "2026-Q3 (截至 2026-09-30)" in zh and "orders.csv (sha256 abababababab…)" in zh
    assert "<b>Client</b>" in en and "2026-Q3 (as of 2026-09-30)" in en
    assert html.section_title("01_clean", "zh") == "数据清洗与对账"
    assert html.section_title("05_strategy", "en") == "Maintenance strategy and deliverables"
    assert html.summary_label("zh") == "概览" and html.summary_label("en") == "Summary"


def test_plotting_helpers_are_typed_and_work():
    import matplotlib.pyplot as plt

    ax = plotting.new_ax()
    assert plotting.new_ax(ax) is ax
    plt.close(ax.figure)
    fmt = plotting.money_formatter("¥")
    assert fmt(1.5e8) == "¥1.5亿" and fmt(2.5e6) == "¥2.5M" and fmt(3500) == "¥4K" and fmt(12) == "¥12"
    assert plotting.money_formatter()(2e8) == "200M"
    assert plotting.cjk_font_path().exists() and len(plotting.PALETTE) == 8
