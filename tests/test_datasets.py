"""The seeded sample generator (kit.datasets): file layout, determinism, manifest counts."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kit import datasets as ds
from kit.core import paths
from kit.core.config import Cleaning

N_CUSTOMERS = 150
SEED = 7
AS_OF = pd.Timestamp(ds.DEFAULT_END)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    manifest = ds.write_sample(out, seed=SEED, n_customers=N_CUSTOMERS)
    return out, manifest


@pytest.fixture(scope="module")
def data():
    return ds.generate_b2b(n_customers=N_CUSTOMERS, seed=SEED)


@pytest.fixture(scope="module")
def orders(sample):
    out, _ = sample
    return pd.read_csv(out / ds.ORDERS_FILE, encoding="gbk", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def master(sample):
    out, _ = sample
    return pd.read_excel(out / ds.CUSTOMERS_FILE, sheet_name=ds.CUSTOMERS_SHEET, header=2, dtype={"客户编号": str})


@pytest.fixture(scope="module")
def interactions(sample):
    out, _ = sample
    return pd.read_csv(out / ds.INTERACTIONS_FILE, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def parse_dates(s: pd.Series) -> pd.Series:
    """A minimal reader for the sample's date formats (unparseable -> NaT)."""
    s = s.str.replace("年", "-").str.replace("月", "-").str.replace("日", "")
    return pd.to_datetime(s, format="mixed", errors="coerce")


def parse_amount(text: str) -> float:
    """A minimal reader for the sample's amount formats (unparseable -> NaN)."""
    t = text.translate(str.maketrans("０１２３４５６７８９", "0123456789")).strip()
    neg = t.startswith("(") and t.endswith(")")
    t = re.sub(r"[()￥¥,\s]|RMB", "", t)
    try:
        v = float(t)
    except ValueError:
        return float("nan")
    return -v if neg else v


def strip_id(s: pd.Series) -> pd.Series:
    return s.str.strip().str.strip("\u3000")


# ---------------------------------------------------------------------------- layout


def test_orders_csv_is_gbk_with_chinese_headers(sample):
    out, _ = sample
    raw = (out / ds.ORDERS_FILE).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header = raw.decode("gbk").splitlines()[0]
    assert header.split(",") == list(ds.ORDERS_HEADERS)
    assert list(ds.ORDERS_HEADERS) == [
        "客户编号", "订单编号", "订单日期", "实付金额", "毛利率", "产品类别", "渠道", "数量", "订单状态", "逾期天数"]


def test_interactions_csv_has_bom(sample):
    out, _ = sample
    raw = (out / ds.INTERACTIONS_FILE).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode("utf-8").splitlines()[0].split(",") == list(ds.INTERACTIONS_HEADERS)


def test_customers_xlsx_title_row_then_blank_then_header(sample):
    out, _ = sample
    ws = openpyxl.load_workbook(out / ds.CUSTOMERS_FILE, read_only=True).worksheets[0]
    assert ws.title == "客户主数据"
    rows = list(ws.iter_rows(min_row=1, max_row=4, values_only=True))
    assert rows[0][0] == f"客户主数据导出 截至{ds.DEFAULT_END}"
    assert all(v is None for v in rows[1])
    assert list(rows[2]) == list(ds.CUSTOMERS_HEADERS)
    assert isinstance(rows[3][0], str) and re.fullmatch(r"\d{6}", rows[3][0])


def test_ids_keep_leading_zeros(orders, master):
    ids = strip_id(orders["客户编号"])
    real = ids[ids.str.fullmatch(r"\d+")]
    assert real.str.len().eq(6).all() and real.str.startswith("0").all()
    assert master["客户编号"].str.fullmatch(r"\d{6}").all()


# ---------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_files(sample, tmp_path):
    out, manifest = sample
    again = ds.write_sample(tmp_path, seed=SEED, n_customers=N_CUSTOMERS)
    for name in (ds.ORDERS_FILE, ds.INTERACTIONS_FILE, ds.MANIFEST_FILE, ds.README_FILE):
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name
    a = pd.read_excel(out / ds.CUSTOMERS_FILE, header=2, dtype=str)
    b = pd.read_excel(tmp_path / ds.CUSTOMERS_FILE, header=2, dtype=str)
    pd.testing.assert_frame_equal(a, b)
    assert again == manifest


def test_command_line_regenerates_the_committed_fixture(tmp_path):
    """``python -m kit.datasets`` with the seed the fixture's README names rewrites
    tests/fixtures/small byte for byte (the README and the manifest included)."""
    fixture = paths.PROJ_ROOT / "tests" / "fixtures" / "small"
    readme = (fixture / ds.README_FILE).read_text(encoding="utf-8")
    made_by = re.search(r"`python -m kit\.datasets --out \S+ --seed (\d+) --customers (\d+)`", readme)
    assert made_by, "the fixture's README names the command that made it"
    subprocess.run([sys.executable, "-m", "kit.datasets", "--out", str(tmp_path), "--seed", made_by[1],
                    "--customers", made_by[2]], check=True, capture_output=True, cwd=paths.PROJ_ROOT)
    for name in (ds.ORDERS_FILE, ds.CUSTOMERS_FILE, ds.INTERACTIONS_FILE, ds.MANIFEST_FILE, ds.README_FILE):
        assert (tmp_path / name).read_bytes() == (fixture / name).read_bytes(), name


def test_other_seed_gives_other_orders():
    a = ds.generate_b2b(n_customers=60, seed=1)["orders_export"]
    b = ds.generate_b2b(n_customers=60, seed=2)["orders_export"]
    assert not a.equals(b)


# ---------------------------------------------------------------------------- manifest = files


def test_manifest_order_counts_match_the_file(sample, orders):
    _, m = sample
    mo, d = m["orders"], m["orders"]["defects"]
    assert len(orders) == mo["rows"] == mo["true_orders"] + sum(v["count"] for v in d.values())
    status, amount, ids = orders["订单状态"], orders["实付金额"], strip_id(orders["客户编号"])
    assert (status == "已取消").sum() == d["cancelled"]["count"]
    assert (status == "退款").sum() == d["refund"]["count"]
    assert amount[status == "退款"].str.startswith("(").sum() == d["refund"]["parentheses"]
    assert d["refund"]["full"] + d["refund"]["partial"] == d["refund"]["count"]
    assert orders.duplicated().sum() == d["duplicate_rows"]["count"]
    assert (ids == "").sum() == d["missing_customer_id"]["count"]
    test_ids = ids.map(lambda s: re.search(Cleaning().test_account_pattern, s) is not None)
    assert test_ids.sum() == d["test_account"]["count"]
    assert amount.isin(ds.UNPARSEABLE_AMOUNTS).sum() == d["unparseable_amount"]["count"]
    assert amount.isin(ds.ZERO_AMOUNTS).sum() == d["zero_amount"]["count"]
    assert orders["订单日期"].isin(ds.UNPARSEABLE_DATES).sum() == d["unparseable_date"]["count"]
    dates = parse_dates(orders["订单日期"])
    assert dates.isna().sum() == d["unparseable_date"]["count"]
    assert (dates.dt.normalize() > AS_OF).sum() == d["future_date"]["count"]  # some carry a time of day
    values = amount.map(parse_amount)
    assert values[status == "已取消"].sum() == pytest.approx(d["cancelled"]["amount"], abs=0.01)
    assert values[status == "退款"].sum() == pytest.approx(d["refund"]["amount"], abs=0.01)
    refunded = set(orders.loc[status == "退款", "订单编号"])
    assert refunded <= set(orders.loc[status.isin(["已完成", "已发货"]), "订单编号"])


def test_exports_hold_the_truth_losslessly(data):
    ox, truth = data["orders_export"], data["orders"]
    valid = ox[ox["_defect"] == ""]
    assert len(valid) == len(truth)
    assert valid["实付金额"].map(parse_amount).sum() == pytest.approx(truth["amount"].sum(), abs=0.01)
    assert set(strip_id(valid["客户编号"])) == set(truth["customer_id"])
    parsed = parse_dates(valid["订单日期"]).dt.normalize()
    assert parsed.sort_values().to_numpy().tolist() == truth["order_date"].sort_values().to_numpy().tolist()
    # refunds net to what the truth says
    assert (truth["net_amount"] >= 0).all()
    assert truth["refund_amount"].sum() == pytest.approx(-ox.loc[ox["_defect"] == "refund", "_amount"].sum())


def test_manifest_master_counts_match_the_file(sample, orders, master):
    _, m = sample
    mc = m["customers"]
    assert len(master) == mc["rows"]
    dup = master[master["客户编号"].duplicated(keep=False)]
    assert dup["客户编号"].nunique() == mc["older_duplicate"]["count"]
    assert sorted(dup["客户编号"].unique()) == mc["older_duplicate"]["ids"]
    latest = master.sort_values("更新时间").drop_duplicates("客户编号", keep="last")
    assert len(latest) == mc["unique_ids"]
    valid = orders[orders["订单状态"].isin(["已完成", "已发货"])]
    ordering = set(strip_id(valid["客户编号"])) - {""}
    ordering = {i for i in ordering if re.fullmatch(r"\d{6}", i)}
    assert sorted(ordering - set(master["客户编号"])) == mc["ordering_customer_absent"]["ids"]
    assert sorted(set(master["客户编号"]) - ordering) == mc["master_without_orders"]["ids"]


def test_manifest_interaction_counts_match_the_file(sample, interactions):
    _, m = sample
    mi = m["interactions"]
    assert len(interactions) == mi["rows"]
    assert (interactions["客户编号"] == "").sum() == mi["defects"]["missing_customer_id"]["count"]
    bad = pd.to_datetime(interactions["互动日期"], format="mixed", errors="coerce").isna()
    assert bad.sum() == mi["defects"]["unparseable_date"]["count"]
    assert set(interactions["互动类型"]) <= set(ds.INTERACTION_TYPES)
    scores = pd.to_numeric(interactions["满意度"], errors="coerce")
    sms = interactions["渠道"].isin(ds.SCORE_SCALE_0_10_CHANNELS)
    assert scores[sms].max() <= 10 and scores[~sms].max() > 10


# ---------------------------------------------------------------------------- the truth's behaviour


def test_truth_shows_what_the_brief_needs(sample):
    _, m = sample
    t = m["truth"]
    assert t["new_customers"]["count"] >= 1
    assert t["new_category_last_quarter"]["count"] >= 1
    assert t["upgrade_growth_2q"]["count"] >= t["archetypes"]["upgrader"]
    tiers = t["value_tiers_12m"]
    assert tiers["high"] + tiers["medium"] + tiers["low"] == tiers["customers"]


def test_new_category_only_for_the_chosen_customers(data):
    o, c = data["orders"], data["customers"]
    q = AS_OF.to_period("Q").start_time
    first_buy = o.groupby(["customer_id", "category"])["order_date"].min().reset_index()
    started = first_buy[first_buy["order_date"] >= q]["customer_id"]
    established = c.loc[c["first_order_date"] < q, "customer_id"]
    expected = c.loc[c["new_category_last_quarter"], "customer_id"]
    assert sorted(set(started) & set(established)) == sorted(expected)


def test_customers_drop_out_throughout_the_window(data):
    o, c = data["orders"], data["customers"]
    ordering = c[c["has_orders"]]
    gone = ordering.dropna(subset=["dropout_date"])
    # churned customers in every full year of the window, not only in the last months
    assert {2024, 2025, 2026} <= set(gone["dropout_date"].dt.year)
    assert (gone["dropout_date"] < AS_OF - pd.DateOffset(months=12)).any()
    # the drop-out date is the customer's last order; upgraders never drop out
    last = o.groupby("customer_id")["order_date"].max()
    assert (last.reindex(gone["customer_id"]).to_numpy() == gone["dropout_date"].to_numpy()).all()
    assert not (gone["archetype"] == "upgrader").any()
    # and customers keep being acquired: first orders in every year
    assert {2023, 2024, 2025, 2026} <= set(ordering["first_order_date"].dt.year)


@pytest.fixture(scope="module")
def default_truth():
    """The committed sample's truth (default seed and size), as the kit's CLV stage sees it."""
    d = ds.generate_b2b()
    o = d["orders"]
    tx = o.loc[o["net_amount"] > 0, ["customer_id", "order_date", "net_amount"]].rename(
        columns={"net_amount": "amount"})
    return d, tx


def test_default_sample_validates_bgnbd_on_a_holdout(default_truth):
    from kit.stages.clv import fit_bgnbd, holdout_validation
    from kit.stages.summary import customer_summary

    _, tx = default_truth
    v = holdout_validation(tx, pd.Timestamp("2025-12-31"), AS_OF, time_unit="week")
    # drop-out shows in the calibration period: the fit converges without the penalised retry
    assert v.bgnbd.status_ == "ok"
    assert min(v.bgnbd.params_["a"], v.bgnbd.params_["b"]) > 0.05
    assert v.totals["predicted"] == pytest.approx(v.totals["actual"], rel=0.15)
    assert v.errors.loc["model", "mae"] < v.errors.loc["naive", "mae"]
    assert fit_bgnbd(customer_summary(tx, AS_OF)).status_ == "ok"


def test_default_sample_spend_is_independent_of_frequency(default_truth):
    from kit.stages.clv import fit_gamma_gamma
    from kit.stages.summary import customer_summary

    d, tx = default_truth
    gg = fit_gamma_gamma(customer_summary(tx, AS_OF))
    assert gg.computed_ and not gg.corr_warning_
    assert abs(gg.corr_) < 0.3
    assert gg.params_["q"] > 1.2  # a finite, stable population mean spend
    dyn = ds.sample_dynamics(d)
    assert dyn["corr_frequency_spend"] == pytest.approx(gg.corr_, abs=0.001)
    assert dyn["repeat_buyers"] == gg.n_customers_


# ---------------------------------------------------------------------------- simulator


def test_simulate_bgnbd_shape_and_rates():
    sim = ds.simulate_bgnbd(20_000, seed=1)
    assert list(sim.columns) == ["customer_id", "order_date", "amount"]
    assert sim["customer_id"].nunique() == 20_000
    per_customer = len(sim) / 20_000
    assert 2.5 < per_customer < 3.1  # about 2.8 with the CDNOW parameters
    assert 30 < sim["amount"].mean() < 40  # p * gamma / (q - 1) = 35.2
    assert (sim["amount"] > 0).all()
    start = pd.Timestamp("2024-01-01")
    assert sim["order_date"].min() >= start
    assert sim["order_date"].max() < start + pd.Timedelta(weeks=78)
    first = sim.groupby("customer_id")["order_date"].min()
    assert first.max() < start + pd.Timedelta(weeks=12)
    assert sim.equals(ds.simulate_bgnbd(20_000, seed=1))


def test_simulate_bgnbd_no_repeat_without_rate():
    sim = ds.simulate_bgnbd(500, r=1e-6, alpha=1e3, seed=0)
    assert len(sim) == 500


# ---------------------------------------------------------------------------- the committed sample


def test_committed_sample_is_complete_and_small():
    files = [paths.SAMPLE_DIR / f for f in (ds.ORDERS_FILE, ds.CUSTOMERS_FILE, ds.INTERACTIONS_FILE,
                                            ds.MANIFEST_FILE, ds.README_FILE)]
    for f in files:
        assert f.exists(), f"{f} missing: run `make sample-data`"
    assert sum(f.stat().st_size for f in files) < 10 * 1024 * 1024
    manifest = json.loads((paths.SAMPLE_DIR / ds.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["generator"]["seed"] == ds.DEFAULT_SEED
    assert manifest["generator"]["n_customers"] == ds.DEFAULT_CUSTOMERS
    assert manifest["generator"]["as_of"] == "2026-09-30"
    assert np.isclose(manifest["truth"]["value_tiers_12m"]["high"] / manifest["truth"]["value_tiers_12m"]["customers"],
                      0.10, atol=0.03)


def test_committed_sample_keeps_the_archetypes_the_report_needs():
    m = json.loads((paths.SAMPLE_DIR / ds.MANIFEST_FILE).read_text(encoding="utf-8"))
    t = m["truth"]
    tiers = t["value_tiers_12m"]
    assert 0.10 <= tiers["high"] / tiers["customers"] <= 0.12
    assert 0.01 <= tiers["above_5m"] / tiers["customers"] <= 0.02
    assert t["high_value_inactive_6m"]["count"] >= 10
    assert 70 <= t["new_customers"]["count"] <= 90
    assert t["upgrade_growth_2q"]["count"] >= t["archetypes"]["upgrader"]
    readme = (paths.SAMPLE_DIR / ds.README_FILE).read_text(encoding="utf-8")
    assert "dropped out by" in readme and "correlate at" in readme
