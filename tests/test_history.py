"""Across periods: the history store, ``kit backfill``, the index page's trend and the
client landing page (issue 16)."""
import json
import os
import re
import time

import numpy as np
import pandas as pd
import pytest

from kit.core import paths
from kit.core.config import load_config, parse_config
from kit.core.notes import Note
from kit.publish import backfill as bf
from kit.publish import history as H
from kit.publish import index_page
from kit.publish import run as R
from kit.publish.cli import main
from kit.publish.html import network_references
from kit.publish.landing import landing_rows, write_landing
from kit.present.plots.trends import money_axis, plot_customer_trend, plot_value_trend
from kit.publish.safety import OutputFault
from kit.stages import layering

ROOT = paths.PROJ_ROOT
SMALL = ROOT / "tests" / "fixtures" / "small.yml"
AS_OF = pd.Timestamp("2024-06-30")


def make_cfg(lang="zh", client_name="演示公司", **extra):
    return parse_config({
        "client": "demo", "client_name": client_name, "language": lang, "period": "quarter",
        "inputs": {"transactions": {"path": "x.csv"}}, **extra,
    })


def transactions():
    rows = [
        ("A", "2023-01-10", 100_000.0), ("A", "2024-02-01", 50_000.0), ("A", "2024-05-01", 80_000.0),
        ("B", "2024-03-31", 20_000.0), ("B", "2024-06-30", 30_000.0),  # the period's last day counts
        ("C", "2024-04-15", 5_000.0), ("C", "2024-05-15", -1_000.0),  # a negative amount is no purchase
        ("D", "2023-06-01", 7_000.0), ("E", "2024-07-01", 9_000.0),  # after the period: not counted
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    tx["is_return"] = False
    return tx


def customers(clv=(200_000.0, 60_000.0, 8_000.0, np.nan)):
    return pd.DataFrame({
        "quadrant": ["star", "cash_cow", "potential", "eliminate"],
        "value_tier": ["high", "medium", "low", "low"],
        "churn_risk": ["low", "medium", "low", "high"],
        "revenue_total": [230_000.0, 50_000.0, 5_000.0, 7_000.0],
        "amount_12m": [130_000.0, 50_000.0, 5_000.0, 4_000.0],
        "clv": list(clv),
        "name": ["张三科技", "李四制造", "王五贸易", "赵六物流"],
    }, index=pd.Index(["A", "B", "C", "D"], name="customer_id", dtype="str"))


def record(cfg, as_of, customers_n=10, source="run", clv=1000.0, notes=()):
    figures = {"customers": customers_n, "active_customers": customers_n // 2, "revenue": 100.0 * customers_n,
               "new_customers": 1, "total_clv": clv, "revenue_at_high_risk": 5.0,
               "churn_risk": {"high": 1, "medium": 2, "low": customers_n - 3},
               "value_tier": {"high": 2, "medium": 3, "low": customers_n - 5},
               "quadrant": {"star": 1, "cash_cow": 2, "potential": 3, "eliminate": customers_n - 6}}
    return H.make_record(cfg, as_of, figures, source=source, notes=list(notes))


# ---- key figures --------------------------------------------------------------------------


def test_key_figures_count_the_period_and_the_spine():
    f = H.key_figures(transactions(), customers(), AS_OF, "quarter")
    assert f["customers"] == 4  # A, B, C, D bought by 2024-06-30; E only after
    assert f["active_customers"] == 3  # A, B (on the last day), C; C's refund is no purchase
    assert f["revenue"] == 115_000.0 and f["new_customers"] == 1
    assert f["total_clv"] == 268_000.0 and f["revenue_at_high_risk"] == 4_000.0
    assert f["churn_risk"] == {"high": 1, "medium": 1, "low": 2}
    assert f["value_tier"] == {"high": 1, "medium": 1, "low": 2}
    assert f["quadrant"] == {"star": 1, "cash_cow": 1, "potential": 1, "eliminate": 1}
    no_clv = H.key_figures(transactions(), customers(clv=[np.nan] * 4), AS_OF, "quarter")
    assert no_clv["total_clv"] is None  # not computed is not zero


def test_index_headline_counts_as_the_store_does():
    figs = {f["key"]: f for f in index_page.headline_figures(transactions(), customers(), AS_OF, "quarter",
                                                             previous={"total_clv": 200_000.0})}
    stored = H.key_figures(transactions(), customers(), AS_OF, "quarter")
    for key in ("customers", "active_customers", "revenue", "new_customers"):
        assert figs[key]["value"] == stored[key]
    assert figs["total_clv"]["previous"] == 200_000.0  # from the previous period's history entry
    assert figs["revenue_at_high_risk"]["previous"] is None


# ---- the store ----------------------------------------------------------------------------


def test_store_round_trips(tmp_path):
    cfg = make_cfg()
    made = H.spine_record(transactions(), customers(), cfg, AS_OF, run_folder="2024-Q2")
    rec, snap = made
    path = H.save_period(tmp_path, rec, snap)
    assert path == tmp_path / "history" / "2024-Q2.json"
    assert H.load_records(tmp_path) == [rec]
    assert H.load_record(tmp_path, "2024-Q2") == rec
    back = H.load_snapshot(tmp_path, "2024-Q2")
    assert list(back.columns) == ["customer_id", *H.SNAPSHOT_COLUMNS]  # name (PII) is not kept
    assert back["customer_id"].tolist() == ["A", "B", "C", "D"]
    assert back["value_tier"].tolist() == ["high", "medium", "low", "low"]
    assert back["clv"].iloc[:3].tolist() == [200_000.0, 60_000.0, 8_000.0] and pd.isna(back["clv"].iloc[3])
    assert rec["source"] == "run" and rec["label"] == "2024-Q2" and rec["as_of"] == "2024-06-30"


def test_rerunning_a_period_replaces_its_entry(tmp_path):
    cfg = make_cfg()
    H.save_period(tmp_path, record(cfg, "2024-03-31", 10), pd.DataFrame({"customer_id": ["A"]}))
    H.save_period(tmp_path, record(cfg, "2024-06-30", 20), pd.DataFrame({"customer_id": ["A", "B"]}))
    H.save_period(tmp_path, record(cfg, "2024-06-30", 30, source="backfill"), pd.DataFrame({"customer_id": ["C"]}))
    recs = H.load_records(tmp_path)
    assert [(r["label"], r["figures"]["customers"], r["source"]) for r in recs] == [
        ("2024-Q1", 10, "run"), ("2024-Q2", 30, "backfill")]
    assert H.load_snapshot(tmp_path, "2024-Q2")["customer_id"].tolist() == ["C"]
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == [
        "2024-Q1.customers.parquet", "2024-Q1.json", "2024-Q2.customers.parquet", "2024-Q2.json"]  # no temp file


def test_store_paths_stay_inside_the_output_folder(tmp_path):
    cfg = make_cfg()
    elsewhere, client = tmp_path / "elsewhere", tmp_path / "out" / "demo"
    elsewhere.mkdir()
    client.mkdir(parents=True)
    (client / "history").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputFault, match="outside the run folder"):
        H.save_period(client, record(cfg, "2024-06-30"), None)
    assert list(elsewhere.iterdir()) == []
    with pytest.raises(ValueError, match="not a period label"):
        H.load_snapshot(client, "../../etc")


def test_an_unreadable_entry_is_one_line(tmp_path):
    (tmp_path / "history").mkdir()
    bad = tmp_path / "history" / "2024-Q2.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(H.HistoryError, match=r"2024-Q2.json: not a readable history entry \(.*\); delete it") as e:
        H.load_records(tmp_path)
    assert "\n" not in str(e.value)
    bad.write_text('{"label": "2024-Q2"}', encoding="utf-8")
    with pytest.raises(H.HistoryError, match="a history entry needs as_of, figures, label, period, source"):
        H.load_record(tmp_path, "2024-Q2")


def test_trend_records_take_the_last_periods_up_to_the_current_one():
    cfg, month_cfg = make_cfg(), make_cfg(period="month")
    ends = pd.date_range("2022-03-31", periods=11, freq="QE")
    stored = [record(cfg, e, 10 + i) for i, e in enumerate(ends)] + [record(month_cfg, "2023-05-31")]
    current = record(cfg, ends[8], 99)  # a re-run of an older period
    got = H.trend_records(stored, current)
    assert [r["label"] for r in got] == [H.period_label(e, "quarter") for e in ends[1:9]]
    assert got[-1]["figures"]["customers"] == 99  # the run's own figures, not the stored ones


# ---- backfill ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    out = tmp_path_factory.mktemp("backfill")
    said: list[str] = []
    t0 = time.perf_counter()
    result = bf.backfill(SMALL, start="2025-Q4", end="2026-Q2", out_dir=out, progress=said.append)
    result.wall = time.perf_counter() - t0
    result.said = said
    return result


def test_backfill_records_three_periods_from_the_log(backfilled):
    client = backfilled.client_dir
    recs = H.load_records(client)
    assert [r["label"] for r in recs] == ["2025-Q4", "2026-Q1", "2026-Q2"] == backfilled.recorded
    assert {r["source"] for r in recs} == {"backfill"} and all(r["run_folder"] is None for r in recs)
    # the figures are the stages' own: layer the log as of 2026-Q2's end and count
    cfg = load_config(SMALL)
    clean = bf.clean_all(cfg, pd.Timestamp("2026-06-30"))
    spine = layering.layer(clean.transactions, "2026-06-30", cfg, clean.customers, clean.interactions)
    last = recs[-1]["figures"]
    assert last["customers"] == len(spine) == 186
    assert last["value_tier"] == {k: int((spine["value_tier"] == k).sum()) for k in ("high", "medium", "low")}
    assert last["quadrant"] == {k: int((spine["quadrant"] == k).sum()) for k in H.MIXES["quadrant"]}
    assert last["churn_risk"] == {k: int((spine["churn_risk"] == k).sum()) for k in ("high", "medium", "low")}
    assert (last["active_customers"], last["revenue"]) == (99, 27_345_415.32)
    assert all(r["figures"]["total_clv"] > 0 for r in recs)  # the CLV stage ran
    assert [r["figures"]["customers"] for r in recs] == [174, 179, 186]
    snap = H.load_snapshot(client, "2026-Q2")
    assert len(snap) == 186 and snap["clv"].notna().all()
    assert backfilled.wall < 60, f"backfill of 3 periods took {backfilled.wall:.1f} s"


def test_backfill_writes_the_landing_page_and_says_what_it_did(backfilled):
    assert backfilled.landing == backfilled.client_dir / "index.html"
    page = backfilled.landing.read_text(encoding="utf-8")
    assert page.index("2026-Q2") < page.index("2026-Q1") < page.index("2025-Q4")  # newest first
    assert page.count("回溯计算") == 3 and 'href="20' not in page  # no run folder: no link
    assert backfilled.said[-1].startswith("kit backfill: 3 periods recorded, 0 skipped, in ")


def test_backfill_keeps_a_full_runs_entry_unless_replace(tmp_path):
    cfg = load_config(SMALL)
    client = tmp_path / "small"
    H.save_period(client, record(cfg, "2026-06-30", 5), None)
    said: list[str] = []
    res = bf.backfill(SMALL, start="2026-Q2", end="2026-Q2", out_dir=tmp_path, with_clv=False, progress=said.append)
    assert res.skipped == ["2026-Q2"] and H.load_record(client, "2026-Q2")["figures"]["customers"] == 5
    assert "  2026-Q2: kept the entry of its full run (kit backfill --replace overwrites it)" in said
    res = bf.backfill(SMALL, start="2026-Q2", end="2026-Q2", out_dir=tmp_path, with_clv=False, replace_runs=True,
                      progress=said.append)
    rec = H.load_record(client, "2026-Q2")
    assert res.recorded == ["2026-Q2"] and rec["source"] == "backfill" and rec["figures"]["customers"] == 186
    assert rec["figures"]["total_clv"] is None  # --no-clv: left out, and said why
    assert rec["notes"] == [Note("history.clv_not_backfilled", {}, "omitted").as_dict()]


def test_backfill_before_the_first_purchase_records_nothing(tmp_path):
    said: list[str] = []
    res = bf.backfill(SMALL, start="2020-Q1", end="2020-Q1", out_dir=tmp_path, with_clv=False, progress=said.append)
    assert res.recorded == [] and res.skipped == ["2020-Q1"]
    assert "  2020-Q1: no purchase up to 2020-03-31; nothing recorded" in said
    assert H.load_records(tmp_path / "small") == []


def test_period_arguments():
    assert bf.parse_period("2025-Q1", "quarter") == pd.Timestamp("2025-03-31")
    assert bf.parse_period("2025-02-14", "quarter") == pd.Timestamp("2025-03-31")
    assert bf.parse_period("2025-02", "month") == pd.Timestamp("2025-02-28")
    cfg = load_config(SMALL)  # as_of 2026-09-30: --to defaults to the quarter before
    assert bf.period_ends("2026-Q1", None, cfg) == [pd.Timestamp("2026-03-31"), pd.Timestamp("2026-06-30")]
    with pytest.raises(bf.BackfillError, match=r"^--from '2025-13': give a period like 2025-Q1 \(the config's"):
        bf.parse_period("2025-13", "quarter")
    with pytest.raises(bf.BackfillError, match="--from 2026-Q2 comes after --to 2026-Q1"):
        bf.period_ends("2026-Q2", "2026-Q1", cfg)


def test_cli_backfill_errors_are_one_line(capsys, tmp_path):
    assert main(["backfill", "--config", str(SMALL), "--from", "2025-Q9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kit: --from '2025-Q9': give a period like 2025-Q1")
    assert not (tmp_path / "small").exists()


# ---- the index page's trend ---------------------------------------------------------------


def test_trend_with_one_period_says_so():
    cfg = make_cfg()
    sec = index_page.trend_section([record(cfg, "2024-06-30")], "zh")
    assert sec == {"note": index_page.text("history.too_few", "zh", n=1, labels="2024-Q2")}
    assert "至少需要两期" in sec["note"]
    assert "kit backfill" in index_page.trend_section([], "en")["note"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_trend_with_periods_shows_the_table_and_charts(lang):
    cfg = make_cfg(lang)
    omitted = Note("history.clv_not_backfilled", {}, "omitted")
    recs = [record(cfg, "2024-03-31", 10, source="backfill", clv=None, notes=[omitted]),
            record(cfg, "2024-06-30", 12), record(cfg, "2024-09-30", 15)]
    sec = index_page.trend_section(recs, lang, "¥", 12)
    table = str(sec["figures_table"])
    assert re.findall(r"<td>(20\d\d-Q\d)</td>", table) == ["2024-Q1", "2024-Q2", "2024-Q3"]
    assert "¥" not in table and ">1,500<" in table and ">–<" in table  # revenue of 2024-Q3; no CLV in 2024-Q1
    assert index_page.label("history_source", "backfill", lang) in table
    assert index_page.label("quadrant", "cash_cow", lang) in str(sec["mix_table"])
    assert len(sec["charts"]) == 2
    for c in sec["charts"]:
        assert c["png"].startswith("iVBORw0KGgo")  # a PNG
        assert "2024-Q1" in c["alt"] and "2024-Q3" in c["alt"] and c["caption"]
    assert "10 → 15" in sec["charts"][0]["alt"] and "– → ¥1,000" in sec["charts"][1]["alt"]
    texts = [n["text"] for n in sec["notes"]]
    assert texts[0] == index_page.text("history.backfilled_note", lang)
    assert texts[1].startswith("2024-Q1") and "--no-clv" in texts[1]


def test_trend_plots_draw_every_period():
    cfg = make_cfg()
    frame = H.trend_frame([record(cfg, "2024-03-31", 10, source="backfill", clv=None),
                           record(cfg, "2024-06-30", 12), record(cfg, "2024-09-30", 15)])
    assert frame["backfilled"].tolist() == [True, False, False] and np.isnan(frame.loc["2024-Q1", "total_clv"])
    ax = plot_customer_trend(frame, lang="en")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-Q1", "2024-Q2", "2024-Q3"]
    assert ax.lines[0].get_ydata().tolist() == [10, 12, 15]  # customers
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Customers", "Active customers this period", "Customers at high churn risk", "Backfilled period"]
    ax = plot_value_trend(frame, lang="zh", currency="¥")
    assert [round(b.get_height()) for b in ax.patches] == [1000, 1200, 1500]  # revenue
    assert "本期收入" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_money_axis_keeps_one_unit():
    f = money_axis(np.array([1.8e8]), "¥", "zh")
    assert [f(x) for x in (0, 2.5e7, 1e8, 1.5e8)] == ["¥0", "¥0.25亿", "¥1亿", "¥1.5亿"]
    f = money_axis(np.array([1.8e8]), "¥", "en")
    assert [f(x) for x in (2.5e7, 1.5e8)] == ["¥25M", "¥150M"]
    assert money_axis(np.array([900.0]), "$")(450) == "$450"


def _run_folder(client_dir, label, as_of, lang="zh"):
    run = client_dir / label
    (run / "artifacts").mkdir(parents=True)
    transactions().to_parquet(run / "artifacts" / paths.ARTIFACTS["transactions_clean"])
    customers().to_parquet(run / "artifacts" / paths.ARTIFACTS["customers"])
    meta = {"client": "demo", "client_name": "演示公司", "period": "quarter", "period_label": label,
            "as_of": as_of, "language": lang, "config": "c.yml", "started_utc": "s", "finished_utc": "f",
            "seconds_per_notebook": {}, "inputs": {},
            "packages": {"customer-value-kit": "0.1.0", "pandas": "3", "lifetimes": "0.11.3"}}
    return run, meta


def test_index_page_shows_the_trend_from_the_store(tmp_path):
    cfg = make_cfg()
    client = tmp_path / "demo"
    run, meta = _run_folder(client, "2024-Q2", "2024-06-30")
    index_page.build_index(run, cfg, meta, notebooks=())
    page = (run / "index.html").read_text(encoding="utf-8")
    assert "趋势至少需要两期的记录，目前只有 1 期（2024-Q2）" in page and "data:image/png" not in page
    H.save_period(client, record(cfg, "2024-03-31", 3, source="backfill", clv=250_000.0), None)
    H.save_period(client, record(cfg, "2024-06-30", 999), None)  # stale entry of this period: replaced
    H.save_period(client, record(cfg, "2024-09-30", 7), None)  # after this period: not in its trend
    index_page.build_index(run, cfg, meta, notebooks=())
    page = (run / "index.html").read_text(encoding="utf-8")
    assert page.count('<img src="data:image/png;base64,') == 2 and 'alt="折线图：2024-Q1 至 2024-Q2' in page
    assert "2024-Q3" not in page and ">999<" not in page
    assert "较上期 +7.2%" in page  # CLV 268,000 against the stored 250,000 of 2024-Q1
    assert network_references(page) == []


# ---- the landing page --------------------------------------------------------------------


def test_landing_lists_periods_and_escapes_a_hostile_client_name(tmp_path):
    hostile = '<script>alert("x")</script> & <b>"Acme"</b>'
    cfg = make_cfg("en", client_name=hostile)
    client = tmp_path / "demo"
    _run_folder(client, "2024-Q2", "2024-06-30")
    (client / "2024-Q2" / "index.html").write_text("<html></html>", encoding="utf-8")
    (client / "2023-Q4").mkdir()  # a run folder from before the store, with its page
    (client / "2023-Q4" / "index.html").write_text("<html></html>", encoding="utf-8")
    H.save_period(client, record(cfg, "2024-03-31", 3, source="backfill", clv=None), None)
    H.save_period(client, record(cfg, "2024-06-30", 12), None)
    page = write_landing(client, cfg).read_text(encoding="utf-8")
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;&#34;Acme&#34;&lt;/b&gt;" in page
    rows = landing_rows(client, "en")
    assert [(r["period"], r["source"], r["customers"], r["clv"], r["href"]) for r in rows] == [
        ("2024-Q2", "full run", "12", "¥1,000", "2024-Q2/index.html"),
        ("2024-Q1", "backfilled", "3", "–", None),
        ("2023-Q4", "–", "–", "–", "2023-Q4/index.html"),
    ]
    assert page.index("2024-Q2") < page.index("2024-Q1") < page.index("2023-Q4")
    assert 'href="2024-Q2/index.html"' in page and network_references(page) == []


def test_a_run_writes_the_landing_page_and_records_only_with_a_spine(tmp_path):
    result = R.run(SMALL, out_dir=tmp_path, notebooks=(), progress=lambda m: None)
    client = result.run_dir.parent
    assert H.load_records(client) == []  # no notebook ran: nothing to record
    assert [r["period"] for r in landing_rows(client, "zh")] == ["2026-Q3"]
    assert (client / "index.html").is_file()


@pytest.mark.slow
def test_a_full_run_records_its_period(small_run):
    client = small_run.run_dir.parent
    rec = H.load_record(client, "2026-Q3")
    assert rec["source"] == "run" and rec["run_folder"] == "2026-Q3"
    spine = pd.read_parquet(small_run.run_dir / "artifacts" / paths.ARTIFACTS["customers"])
    tx = pd.read_parquet(small_run.run_dir / "artifacts" / paths.ARTIFACTS["transactions_clean"])
    assert rec["figures"] == H.key_figures(tx, spine, pd.Timestamp("2026-09-30"), "quarter")
    assert len(H.load_snapshot(client, "2026-Q3")) == len(spine) and rec["figures"]["total_clv"] > 0
    page = small_run.index.read_text(encoding="utf-8")
    assert "趋势至少需要两期的记录，目前只有 1 期（2026-Q3）" in page
    assert "2026-Q3/index.html" in (client / "index.html").read_text(encoding="utf-8")
    assert not [p for p in client.rglob(".tmp-*")]
    assert os.path.commonpath([client, *client.rglob("*")]) == str(client)


def test_a_runs_record_reads_only_the_columns_it_uses(small_run):
    """run_record reads ACTIVITY_COLUMNS of the transactions and RECORD_COLUMNS of the spine:
    the figures and the snapshot equal those computed from the whole files."""
    run_dir = small_run.run_dir
    art = run_dir / "artifacts"
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    cfg = load_config(meta["config"], as_of=meta["as_of"])
    as_of = pd.Timestamp(meta["as_of"])
    whole = H.spine_record(pd.read_parquet(art / paths.ARTIFACTS["transactions_clean"]),
                           pd.read_parquet(art / paths.ARTIFACTS["customers"]), cfg, as_of, run_dir.name)
    read = H.run_record(run_dir, cfg, as_of)
    assert whole is not None and read is not None
    assert read[0]["figures"] == whole[0]["figures"]
    assert read[0]["figures"]["total_clv"] is not None and read[0]["figures"]["revenue_at_high_risk"] is not None
    pd.testing.assert_frame_equal(read[1], whole[1])
