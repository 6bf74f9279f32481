"""Offline HTML, embedded CJK font, and Chinese in plots without missing glyphs."""
import warnings

import matplotlib
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from kit.present import plotting
from kit.present import report

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
    assert report.font_face_css("<p>plain ascii</p>") == ""
    css = report.font_face_css("<p>客户价值</p>")
    assert "@font-face" in css and "data:font/woff;base64," in css
    assert len(css) < 200_000  # a subset, not the 8 MB font


def test_network_references_detects_cdn():
    assert report.network_references('<script src="https://cdn.x/require.js"></script>')
    assert report.network_references('<link rel="stylesheet" href="//fonts.x/css">')
    assert not report.network_references('<a href="https://example.com">link</a><img src="data:image/png;base64,AA">')


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
    out = report.export_html(src, tmp_path / "n.html", title="测试", nav=[("概览", "index.html")], footer="f")
    page = out.read_text(encoding="utf-8")
    assert report.network_references(page) == []
    assert "SECRET_INPUT" not in page and "analyst note" not in page
    assert "data:image/png;base64" in page
    assert "明星客户" in page and "@font-face" in page
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert "missing from font" not in str(o)
