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
    for name in (ds.ORDERS_FILE, ds.INTERACTIONS_FILE, ds.SUBSCRIPTIONS_FILE, ds.USAGE_FILE, ds.MANIFEST_FILE,
                 ds.README_FILE):
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
    for name in (ds.ORDERS_FILE, ds.CUSTOMERS_FILE, ds.INTERACTIONS_FILE, ds.SUBSCRIPTIONS_FILE, ds.USAGE_FILE,
                 ds.MANIFEST_FILE, ds.README_FILE):
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
                                            ds.SUBSCRIPTIONS_FILE, ds.USAGE_FILE, ds.MANIFEST_FILE, ds.README_FILE)]
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


# ---------------------------------------------------------------------------- subscriptions and usage (issue 13)

#: sha256 of the files the subscription customers must not change: the committed sample as it was
#: before they were added (tests/test_key_figures.py and test_clean pin figures measured on them)
PINNED_SHA256 = {
    ds.ORDERS_FILE: "1a51d9cbeab9f203e60284898566f1645aa307130056eef91482d8b2d9db6976",
    ds.CUSTOMERS_FILE: "20910032432ae46e906a95a1635c97181dd68bd10c3b99c2f1d2e9e8c0c4578f",
    ds.INTERACTIONS_FILE: "3ad4536737034c9a8488d75987bd4618c5c97539e28138b06696819b89629650",
}


def sha256(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def default_sample(tmp_path_factory):
    """The committed sample regenerated (default seed and size) into a temporary folder."""
    out = tmp_path_factory.mktemp("default_sample")
    return out, ds.write_sample(out)


@pytest.fixture(scope="module")
def subscriptions(sample):
    out, _ = sample
    return pd.read_csv(out / ds.SUBSCRIPTIONS_FILE, encoding="utf-8", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def usage(sample):
    out, _ = sample
    return pd.read_csv(out / ds.USAGE_FILE, encoding="utf-8", dtype=str, keep_default_na=False)


def binomial_ok(k: int, n: int, p: float, z: float = 3.5) -> bool:
    """k successes of n within z standard errors of the rate p."""
    return abs(k / n - p) <= z * np.sqrt(p * (1 - p) / n)


def test_existing_files_keep_their_bytes(default_sample):
    """The subscription tables draw from their own stream: the generator still writes the
    orders, master and interactions byte for byte as before, and so does the committed sample."""
    out, _ = default_sample
    for name, digest in PINNED_SHA256.items():
        assert sha256(out / name) == digest, name
        assert sha256(paths.SAMPLE_DIR / name) == digest, name


def test_subscription_stream_is_independent(monkeypatch):
    """Another subscriptions stream changes the subscriptions and nothing else."""
    a = ds.generate_b2b(n_customers=80, seed=3)
    monkeypatch.setattr("kit.datasets.generate.subscription_rng", lambda seed: np.random.default_rng(seed + 1))
    b = ds.generate_b2b(n_customers=80, seed=3)
    for key in ("orders_export", "customers_export", "interactions_export", "orders", "interactions"):
        pd.testing.assert_frame_equal(a[key], b[key])
    assert not a["subscriptions_export"].equals(b["subscriptions_export"])


def test_subscription_files_are_utf8_with_chinese_headers(sample):
    out, m = sample
    for name, headers in ((ds.SUBSCRIPTIONS_FILE, ds.SUBSCRIPTIONS_HEADERS), (ds.USAGE_FILE, ds.USAGE_HEADERS)):
        raw = (out / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
        assert raw.decode("utf-8").splitlines()[0].split(",") == list(headers)
        assert m["files"][name]["columns"] == list(headers) and m["files"][name]["bytes"] == len(raw)
    assert list(ds.SUBSCRIPTIONS_HEADERS) == ["客户编号", "合同编号", "套餐", "开始日期", "到期日期", "计费周期",
                                              "订阅金额", "状态", "续约自"]
    assert list(ds.USAGE_HEADERS) == ["客户编号", "月份", "活跃用户数", "登录次数", "功能覆盖率", "工单数",
                                      "首次响应时长(小时)"]


def test_manifest_subscription_counts_match_the_file(sample, subscriptions, master):
    _, m = sample
    ms, d = m["subscriptions"], m["subscriptions"]["defects"]
    x = subscriptions
    assert len(x) == ms["rows"] == ms["true_contracts"] + sum(v["count"] for v in d.values())
    assert ms["expected_quarantine"] == {k: v["count"] for k, v in d.items()}
    ids = strip_id(x["客户编号"])
    assert (ids == "").sum() == d["missing_customer_id"]["count"] >= 1
    start, end = parse_dates(x["开始日期"]), parse_dates(x["到期日期"])
    assert start.notna().all() and end.notna().all()
    assert (end < start).sum() == d["end_before_start"]["count"] >= 1
    # a duplicated contract id is an identical row right after the first
    dup = x["合同编号"].duplicated()
    assert dup.sum() == d["duplicate_contract_id"]["count"] >= 1
    assert x.duplicated().sum() == dup.sum()
    assert (x.loc[dup].index - 1).isin(x.index[~dup]).all()
    # every other row belongs to a customer of the master and renews a contract in the file
    assert set(ids[ids != ""]) <= set(master["客户编号"])
    assert set(x["续约自"]) - {""} <= set(x["合同编号"])
    assert set(x["状态"]) <= set(ds.STATUS_LABELS) and set(x["计费周期"]) <= set(ds.BILLING_LABELS)
    assert set(x["套餐"]) <= set(ds.PLANS)
    assert x["订阅金额"].map(parse_amount).gt(0).all()
    assert x["订阅金额"].str.contains(",").any() and x["开始日期"].str.contains("/").any()
    clean = x[(ids != "") & (end >= start) & ~dup]
    assert len(clean) == ms["true_contracts"]
    assert clean["状态"].map(ds.STATUS_LABELS).value_counts().sum() == sum(ms["status"].values())
    assert clean["状态"].value_counts().to_dict() == ms["status"]


def test_manifest_usage_counts_match_the_file(sample, usage):
    _, m = sample
    mu, d = m["usage"], m["usage"]["defects"]
    assert len(usage) == mu["rows"] == mu["true_rows"] + sum(v["count"] for v in d.values())
    assert (usage["客户编号"] == "").sum() == d["missing_customer_id"]["count"] >= 1
    assert usage.duplicated().sum() == d["duplicate_rows"]["count"] >= 1
    months = pd.to_datetime(usage["月份"], format="%Y-%m-%d")
    assert (months.dt.day == 1).all() and months.max() <= AS_OF
    cover = usage["功能覆盖率"].astype(float)
    assert cover.between(0, 100).all() and cover.max() > 1  # a percent, not a share
    no_tickets = usage["工单数"].astype(int) == 0
    assert ((usage["首次响应时长(小时)"] == "") == no_tickets).all()
    assert no_tickets.sum() >= mu["rows_without_tickets"]
    assert set(usage.loc[usage["客户编号"] != "", "客户编号"]) == set(m["subscriptions"]["subscribers"]["ids"])


def test_subscription_truth_is_consistent(data):
    """Subscribers are ordering customers of the master; contracts chain without gaps, start
    by as_of and carry the status as_of gives them; usage covers the contracted months."""
    c, s, u, cust = data["subscriptions"], data["subscribers"], data["usage"], data["customers"]
    pool = cust[cust["has_orders"] & cust["in_master"]]
    assert set(s["customer_id"]) <= set(pool["customer_id"])
    assert len(s) == round(ds.SUBSCRIBER_SHARE * len(pool))
    assert (c["start_date"] <= AS_OF).all() and (c["end_date"] >= c["start_date"]).all()
    assert ((c["status"] == "active") == (c["end_date"] >= AS_OF)).all()
    assert (c.loc[c["status"] == "cancelled", "billing_period"] == "month").all()
    assert (c.loc[c["status"] == "cancelled", "end_date"] < c.loc[c["status"] == "cancelled", "nominal_end_date"]).all()
    by_id = c.set_index("subscription_id")
    ren = c[c["renewed_from"].notna()]
    prev_end = by_id.loc[ren["renewed_from"], "end_date"].to_numpy()
    assert (ren["start_date"].to_numpy() == prev_end + np.timedelta64(1, "D")).all()
    assert (by_id.loc[ren["renewed_from"], "decision"] == "renewed").all()
    # a customer who has stopped ordering by a contract's end never renews it
    assert not ((c["decision"] == "renewed") & c["stopped_ordering"]).any()
    # signing: not before the first cooperation, not after the last order
    first = c.groupby("customer_id")["start_date"].min()
    info = cust.set_index("customer_id")
    assert (first >= info.loc[first.index, "first_cooperation_date"]).all()
    stop = info.loc[first.index, "dropout_date"]
    assert (first[stop.notna()] <= stop[stop.notna()]).all()
    # usage: one row per subscriber and month a contract covers
    assert not u.duplicated(["customer_id", "date"]).any()
    assert set(u["customer_id"]) == set(s["customer_id"])
    assert (u["feature_coverage"].between(0, 1)).all()


def test_documented_rates_hold(default_truth):
    """Plan, billing and usage-pattern shares and the renewal probability of each plan and
    pattern, measured on the committed sample's truth, within 3.5 binomial standard errors."""
    d, _ = default_truth
    s, c = d["subscribers"], d["subscriptions"]
    n = len(s)
    for plan, (share, _, _) in ds.PLANS.items():
        assert binomial_ok(int((s["plan"] == plan).sum()), n, share), plan
    for label, share in ds.BILLING_SHARES.items():
        assert binomial_ok(int((s["billing_period"] == ds.BILLING_LABELS[label]).sum()), n, share), label
    for group, stopped in (("stopped_ordering", True), ("ordering", False)):
        g = s[s["stopped_ordering"] == stopped]
        assert len(g) >= 100
        assert binomial_ok(int((g["pattern"] == "declining").sum()), len(g), ds.DECLINING_SHARE[group]), group
    free = c[(c["decision"] != "pending") & ~c["stopped_ordering"]]
    for pattern, probs in ds.RENEWAL_PROBABILITY.items():
        for plan, p in probs.items():
            sel = free[(free["pattern"] == pattern) & (free["plan"] == plan)]
            assert len(sel) >= 20, (pattern, plan)
            assert binomial_ok(int((sel["decision"] == "renewed").sum()), len(sel), p), (pattern, plan)
    # declining customers renew less, whatever the plan
    rate = free.assign(r=free["decision"] == "renewed").groupby("pattern")["r"].mean()
    assert rate["declining"] < rate["healthy"] - 0.25


def test_declining_usage_declines(default_truth):
    """Declining subscribers' logins, users and coverage fall and tickets rise over their last
    months; healthy ones hold steady."""
    d, _ = default_truth
    u = d["usage"].sort_values(["customer_id", "date"])
    u = u.assign(back=u.groupby("customer_id").cumcount(ascending=False))
    long = u.groupby("customer_id")["back"].transform("max") >= 11
    recent = u[long & (u["back"] < 3)].groupby(["pattern", "customer_id"]).mean(numeric_only=True)
    before = u[long & u["back"].between(9, 11)].groupby(["pattern", "customer_id"]).mean(numeric_only=True)
    ratio = (recent / before).groupby("pattern").median()
    assert ratio.loc["declining", "logins"] < 0.6 and ratio.loc["healthy", "logins"] > 0.9
    assert ratio.loc["declining", "active_users"] < 0.75 and ratio.loc["healthy", "active_users"] > 0.95
    drop = (recent - before).groupby("pattern").median()
    assert drop.loc["declining", "feature_coverage"] < -0.15 and abs(drop.loc["healthy", "feature_coverage"]) < 0.03
    totals = (u[long & (u["back"] < 3)].groupby("pattern")[["tickets", "first_response_hours"]].mean()
              / u[long & u["back"].between(9, 11)].groupby("pattern")[["tickets", "first_response_hours"]].mean())
    assert totals.loc["declining", "tickets"] > 1.5 and totals.loc["healthy", "tickets"] < 1.3
    assert totals.loc["declining", "first_response_hours"] > 1.5 and totals.loc["healthy", "first_response_hours"] < 1.2


def test_cohorts_are_large_enough_to_fit(default_sample, default_truth):
    """At least 3 yearly signing cohorts of >= 40 contracts, each with an observed renewal
    and churn; the manifest's cohort table is the truth's."""
    _, m = default_sample
    d, _ = default_truth
    cohorts = m["subscriptions"]["cohorts"]
    assert ds.cohort_table(d["subscriptions"], AS_OF) == cohorts
    fit = [y for y, v in cohorts.items() if v["customers"] >= 40 and v["observed"] and v["observed"][0] >= 40
           and v["renewed"][0] < v["observed"][0] and v["lapsed"] > 0]
    assert len(fit) >= 3, cohorts
    assert any(len(v["observed"]) >= 3 for v in cohorts.values())  # a curve of 3 renewals for the holdout
    for v in cohorts.values():
        assert all(r <= o for o, r in zip(v["observed"], v["renewed"]))
        assert v["lapsed"] + v["active"] == v["customers"]


def test_committed_sample_fills_the_renewal_pipeline():
    """Contracts end within 30, 60 and 90 days of the demo's as_of, some of them at risk."""
    import yaml

    m = json.loads((paths.SAMPLE_DIR / ds.MANIFEST_FILE).read_text(encoding="utf-8"))
    demo = yaml.safe_load((paths.PROJ_ROOT / "configs" / "demo.yml").read_text(encoding="utf-8"))
    assert str(demo["as_of"]) == m["generator"]["as_of"]
    p = m["subscriptions"]["pipeline"]
    assert 10 <= p["30_days"]["contracts"] <= p["60_days"]["contracts"] <= p["90_days"]["contracts"]
    assert p["90_days"]["declining_usage"] >= 5 and p["90_days"]["stopped_ordering"] >= 5
    assert p["90_days"]["monthly_amount"] > p["30_days"]["monthly_amount"] > 0
    readme = (paths.SAMPLE_DIR / ds.README_FILE).read_text(encoding="utf-8")
    for phrase in ("## Subscription customers", "Renewal probability", "Signing cohorts", "Renewal pipeline"):
        assert phrase in readme
    rates = m["subscriptions"]["rates"]
    assert rates["subscriber_share"] == ds.SUBSCRIBER_SHARE and rates["renewal_probability"] == ds.RENEWAL_PROBABILITY
