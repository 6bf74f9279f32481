"""`kit run` end to end on the small fixture: the run folder, offline HTML, failure handling."""
import json
import re
import shutil

import nbformat
import pytest
import yaml

from kit.core import paths
from kit.publish.html import network_references
from kit.publish.run import RunFailed, run, sha256

pytestmark = pytest.mark.slow


def test_run_folder_layout(small_run):
    d = small_run.run_dir
    assert d.name == "2026-Q3" and d.parent.name == "small"
    assert small_run.index == d / "index.html" and small_run.index.exists()
    for nb in paths.NOTEBOOKS:
        assert (d / f"{nb}.html").exists(), nb
        assert (d / "executed" / f"{nb}.ipynb").exists(), nb
    for art in ("transactions_clean", "quarantine", "quality", "customers", "model_params", "deliverables"):
        assert (d / "artifacts" / paths.ARTIFACTS[art]).exists(), art
    meta = json.loads((d / "run.json").read_text(encoding="utf-8"))
    assert meta["period_label"] == "2026-Q3" and meta["language"] == "zh"
    assert set(paths.NOTEBOOKS) <= set(meta["seconds_per_notebook"])  # plus "html"
    for table, inp in meta["inputs"].items():
        assert inp["sha256"] == sha256(paths.resolve(inp["path"])), table
    assert meta["packages"]["lifetimes"] and meta["packages"]["pandas"].startswith("3")
    assert not list(d.parent.glob(".build-*")), "temporary build folder left behind"
    assert any("01_clean done" in m for m in small_run.messages)


def test_html_is_offline_and_readable(small_run):
    for page in small_run.run_dir.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert network_references(text) == [], page.name
        assert "Traceback" not in text, page.name
        assert "@font-face" in text, f"{page.name}: Chinese font subset not embedded"
        assert "config_path" not in text, f"{page.name}: input cells are showing"


def test_no_warnings_or_missing_glyphs_in_notebooks(small_run):
    for nb_path in (small_run.run_dir / "executed").glob("*.ipynb"):
        nb = nbformat.read(str(nb_path), as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                text = str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
                assert "missing from font" not in text, f"{nb_path.name}: {text[:300]}"
                if out.get("name") == "stderr":
                    assert "Warning" not in text, f"{nb_path.name}: {text[:500]}"


def test_failed_run_keeps_last_good_run(small_run, tmp_path):
    good = small_run.run_dir
    before = (good / "index.html").read_bytes()
    bad_csv = tmp_path / "orders.csv"
    bad_csv.write_text("客户编号,订单编号\n000001,SO1\n", encoding="utf-8")  # no date, no amount
    small = paths.PROJ_ROOT / "tests" / "fixtures" / "small.yml"
    cfg = yaml.safe_load(small.read_text(encoding="utf-8"))
    for table in ("customers", "interactions", "subscriptions", "usage"):  # relative to small.yml's folder
        cfg["inputs"][table]["path"] = str(small.parent / cfg["inputs"][table]["path"])
    cfg["inputs"]["transactions"] = {"path": str(bad_csv), "format": "csv"}
    bad_cfg = tmp_path / "bad.yml"
    bad_cfg.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RunFailed) as e:
        run(bad_cfg, out_dir=good.parent.parent, progress=lambda m: None)
    msg = str(e.value)
    # which notebook and cell failed, the error, and every missing column by name
    assert re.match(r"notebook 01_clean failed in cell \d+: \w*Error: ", msg), msg
    assert "required column 'order_date' not found" in msg, msg
    assert "required column 'amount' not found" in msg, msg
    assert (good / "index.html").read_bytes() == before, "the last good run was overwritten"
    failed = list(good.parent.glob("2026-Q3.failed-*"))
    assert failed and (failed[0] / "executed" / "01_clean.ipynb").exists()
    shutil.rmtree(failed[0])


def test_cli_exit_codes(tmp_path, capsys):
    from kit.publish.cli import main

    bad = tmp_path / "c.yml"
    bad.write_text("client: x\ninputs: {transactions: {path: a.csv}}\nbogus: 1\n", encoding="utf-8")
    assert main(["check", "--config", str(bad)]) == 2
    assert "bogus" in capsys.readouterr().err


def test_single_file_report_holds_every_section(small_run):
    """report.html: one self-contained file to e-mail, every section inside it, links between
    pages turned into links inside the file, one font subset, nothing fetched."""
    d = small_run.run_dir
    page = (d / "report.html").read_text(encoding="utf-8")
    assert network_references(page) == []
    assert page.count("@font-face") == 1 and page.count('<script type="text/javascript">') <= 1
    for name in ("index", *paths.NOTEBOOKS):
        assert f'id="page-{name}"' in page, name
        assert f'href="{name}.html' not in page, f"a link to the separate page {name}.html is left"
    assert "目录" in page and "3,143" in page  # the table of contents; a figure of 01's reconciliation
    assert "<img" in page and "data:image/png;base64," in page


def test_duckdb_run_computes_the_pandas_runs_numbers(small_run, small_run_en):
    """``small_run`` reads and answers in process (pandas); ``small_run_en`` has DuckDB clean
    the orders and answer stages 03 and 04 over the clean file. Every spine column that is not a
    text of the page's language is the same, and so are the model parameters."""
    import json

    import numpy as np
    import pandas as pd

    def read(run, name):
        return (pd.read_parquet(run.run_dir / "artifacts" / name) if name.endswith(".parquet")
                else json.loads((run.run_dir / "artifacts" / name).read_text(encoding="utf-8")))

    assert read(small_run, "quality.json")["engine"] == "pandas"
    assert read(small_run_en, "quality.json")["engine"] == "duckdb"
    ours, theirs = read(small_run_en, "customers.parquet"), read(small_run, "customers.parquet")
    assert list(ours.columns) == list(theirs.columns) and ours.index.equals(theirs.index)
    worded = [c for c in ours.columns if c.startswith("persona_") and ours[c].dtype == "str"]  # label, name
    numbers = [c for c in ours.columns if pd.api.types.is_float_dtype(ours[c])]
    pd.testing.assert_frame_equal(ours.drop(columns=[*worded, *numbers]), theirs.drop(columns=[*worded, *numbers]))
    np.testing.assert_allclose(ours[numbers].to_numpy(float), theirs[numbers].to_numpy(float), rtol=1e-9)
    a, b = read(small_run_en, "model_params.json"), read(small_run, "model_params.json")
    assert a["bgnbd"]["params"] == pytest.approx(b["bgnbd"]["params"], rel=1e-9)
    assert a["gamma_gamma"]["params"] == pytest.approx(b["gamma_gamma"]["params"], rel=1e-9)
