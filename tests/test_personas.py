"""Personas: tag rules, keyword matching (zh / en), the tag weight model, deterministic
clustering, and the thin-data paths (transactions only; fewer customers than k_min)."""
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from kit.core.config import Personas
from kit.core.notes import Note
from kit.present import personas as PP
from kit.present.messages import render
from kit.present.plots import personas as PL
from kit.present.table import table
from kit.stages import personas as P

matplotlib.use("Agg")

AS_OF = pd.Timestamp("2026-09-30")


def day(n: int) -> pd.Timestamp:
    """``n`` days before AS_OF."""
    return AS_OF - pd.Timedelta(days=n)


def spine(ids, **cols) -> pd.DataFrame:
    return pd.DataFrame(cols, index=pd.Index(ids, name="customer_id"))


def tx_frame(rows, cols=("customer_id", "order_id", "order_date", "amount", "category", "channel")):
    df = pd.DataFrame(rows, columns=list(cols))
    df["is_return"] = False
    return df


# --------------------------------------------------------------------------------------
# Tag rules on hand-made rows
# --------------------------------------------------------------------------------------


@pytest.fixture
def small():
    customers = spine(
        ["A", "B", "C", "D"],
        industry=["新能源汽车制造", " 电子制造 ", "", None],
        region=["长三角", "珠三角", None, "西北"],
        employees=[800, 30, 6000, np.nan],
        contact_title=["技术经理", "采购总监+技术经理", "Sales Director", "VP Engineering"],
    )
    tx = tx_frame([
        ("A", "o1", day(10), 100.0, "设备", "online"),
        ("A", "o1", day(10), 50.0, "配件", "online"),   # same order, second line
        ("A", "o2", day(40), 300.0, "配件", "online"),
        ("A", "o3", day(80), 10.0, "服务", "展会"),
        ("A", "o4", day(200), 10.0, "设备", "online"),  # outside 90 days
        ("B", "o5", day(5), 100.0, "设备", "online"),
        ("B", "o6", day(6), 100.0, "设备", "展会"),
        ("C", "o7", day(300), 20.0, None, None),
        ("C", "o8", day(-3), 20.0, "设备", "online"),   # after as_of: ignored
    ])
    tx.loc[len(tx)] = ["B", "o9", day(1), -40.0, "设备", "online", True]  # a return row
    inter = pd.DataFrame({
        "customer_id": ["A", "A", "A", "B", "B", "C"],
        "date": [day(3), day(20), day(30), day(2), day(400), day(1)],
        "type": ["inquiry", "inquiry", "complaint", "inquiry", "inquiry", "visit"],
        "keywords": ["能耗、售后响应", "能耗，兼容性", "停机 故障", "Energy, price", "价格", None],
        "text": ["", "设备经常停机", "产线停机", None, "", "need better Response Time"],
    })
    return customers, tx, inter


def test_static_tags(small):
    customers, tx, inter = small
    tags, avail = P.build_tags(customers, tx, inter, AS_OF, Personas())
    assert tags.index.tolist() == ["A", "B", "C", "D"]
    assert tags["tag_industry"].tolist()[:2] == ["新能源汽车制造", "电子制造"]
    assert tags["tag_industry"].isna().tolist() == [False, False, True, True]
    assert tags.loc["A", "tag_size"] == "500-1000"
    assert tags.loc["B", "tag_size"] == "0-50"
    assert tags.loc["C", "tag_size"] == "5000+"
    assert pd.isna(tags.loc["D", "tag_size"])
    assert tags.loc["A", "tag_decision_role"] == "technical"
    assert tags.loc["B", "tag_decision_role"] == "technical|procurement"
    assert tags.loc["C", "tag_decision_role"] == "executive"  # "CTO" is not found in "Director"
    assert tags.loc["D", "tag_decision_role"] == "technical|executive"
    assert all(avail[f].available for f in P.FAMILIES)


def test_size_band_on_revenue():
    customers = spine(["A", "B"], annual_revenue=[2_500_000, 50_000_000])
    tx = tx_frame([("A", "o1", day(1), 1.0, None, None), ("B", "o2", day(1), 1.0, None, None)])
    tags, avail = P.build_tags(customers, tx, None, AS_OF, Personas(), size_by="annual_revenue",
                               size_bins=[0, 1e6, 5e6, 1e7])
    assert tags["tag_size"].tolist() == ["1M-5M", "10M+"]
    assert PP.tag_label("size", "1M-5M", "zh", size_by="annual_revenue") == "营收1M-5M"
    assert not avail["industry"] and "industry" in render(avail["industry"].reason, "en")


def test_dynamic_tags(small):
    customers, tx, inter = small
    tags, _ = P.build_tags(customers, tx, inter, AS_OF, Personas())
    # A: orders o1, o2, o3 in 90 days (o1 has two lines); B: o5, o6 (the return is no purchase)
    assert tags["tag_recent_orders"].tolist() == [3, 2, 0, 0]
    # A: 3 of 4 orders online = 75 % >= 60 %; B: one order per channel -> mixed
    assert tags.loc["A", "tag_channel"] == "online"
    assert tags.loc["B", "tag_channel"] == "mixed"
    assert pd.isna(tags.loc["C", "tag_channel"]) and pd.isna(tags.loc["D", "tag_channel"])
    # categories by amount: 配件 350, 设备 110, 服务 10
    assert tags.loc["A", "tag_category"] == "配件|设备|服务"
    assert tags.loc["A", "tag_n_categories"] == 3
    assert tags.loc["D", "tag_n_categories"] == 0


def test_channel_mixed_share_is_config(small):
    customers, tx, inter = small
    tags, _ = P.build_tags(customers, tx, inter, AS_OF, Personas(channel_mixed_share=0.8))
    assert tags.loc["A", "tag_channel"] == "mixed"
    tags, _ = P.build_tags(customers, tx, inter, AS_OF, Personas(channel_mixed_share=0.5))
    assert tags.loc["B", "tag_channel"] == "online"  # tie 1:1, first by name


def test_inquiry_keywords(small):
    customers, tx, inter = small
    tags, _ = P.build_tags(customers, tx, inter, AS_OF, Personas(top_keywords=2))
    # A's inquiries: 能耗 x2, 售后响应, 兼容性 (the complaint's keywords are not inquiries)
    assert tags.loc["A", "tag_keywords"] == "能耗|兼容性"
    assert tags.loc["B", "tag_keywords"] == "energy|price"  # 价格 is outside the 365-day window
    assert pd.isna(tags.loc["C", "tag_keywords"])


# --------------------------------------------------------------------------------------
# Keyword matching, Chinese and English
# --------------------------------------------------------------------------------------


def test_match_keywords_chinese_substring():
    text = pd.Series(["设备经常停机，损失大", "关注能耗参数", "价格", None])
    assert P.match_keywords(text, ["停机", "故障"]).tolist() == [True, False, False, False]
    assert P.match_keywords(text, ["能耗"]).tolist() == [False, True, False, False]


def test_match_keywords_english_case_and_word_start():
    text = pd.Series(["Need better RESPONSE TIME", "Compatibility with our PLC",
                      "Sales Director", "our CTO asked", "energy-saving", "synergy"])
    assert P.match_keywords(text, ["response time"]).tolist() == [True, False, False, False, False, False]
    assert P.match_keywords(text, ["compatib"]).tolist() == [False, True, False, False, False, False]
    assert P.match_keywords(text, ["CTO"]).tolist() == [False, False, False, True, False, False]
    assert P.match_keywords(text, ["energy"]).tolist() == [False, False, False, False, True, False]
    assert P.match_keywords(text, []).tolist() == [False] * 6


def test_split_keywords_separators():
    s = pd.Series(["能耗、售后响应", "a,b", "兼容，接口", "x;y；z", "停机 故障", "p|q", None])
    assert P.split_keywords(s).tolist() == [
        "能耗", "售后响应", "a", "b", "兼容", "接口", "x", "y", "z", "停机", "故障", "p", "q"]


def test_pain_point_tags(small):
    customers, tx, inter = small
    tags, _ = P.build_tags(customers, tx, inter, AS_OF, Personas())
    # A mentions stability in 2 interactions (停机 twice), energy in 2, service in 1
    assert tags.loc["A", "tag_core_pain"] == (
        "cares about equipment stability|cares about energy use|cares about service response")
    assert tags.loc["A", "tag_decision_concern"] == "worries about compatibility"
    assert tags.loc["A", "tag_pain_hits"] == 3
    assert tags.loc["B", "tag_core_pain"] == "cares about energy use"  # English "Energy"
    assert tags.loc["B", "tag_decision_concern"] == "price-sensitive"
    assert tags.loc["C", "tag_core_pain"] == "cares about service response"  # text, English
    assert tags.loc["D", "tag_pain_hits"] == 0 and pd.isna(tags.loc["D", "tag_core_pain"])


def test_custom_pain_dictionary():
    from kit.core.config import PainPoint, Text

    cfg = Personas(pain_points=[PainPoint(family="hidden_need", label=Text(zh="需要远程运维", en="wants remote ops"),
                                          keywords=["远程", "remote"])])
    customers = spine(["A", "B"])
    tx = tx_frame([("A", "o1", day(1), 1.0, None, None), ("B", "o2", day(1), 1.0, None, None)])
    inter = pd.DataFrame({"customer_id": ["A", "B"], "date": [day(1), day(1)],
                          "keywords": ["远程诊断", None], "text": [None, "Remote monitoring please"]})
    tags, _ = P.build_tags(customers, tx, inter, AS_OF, cfg)
    assert tags["tag_hidden_need"].tolist() == ["wants remote ops", "wants remote ops"]
    assert PP.tag_label("pain_point", "wants remote ops", "zh", cfg) == "需要远程运维"


# --------------------------------------------------------------------------------------
# Tag weight model and labels
# --------------------------------------------------------------------------------------


def test_tag_scores_by_hand():
    tags = P.empty_tags(pd.Index(["A", "B"], name="customer_id"))
    tags["tag_industry"] = ["化工", None]
    tags["tag_recent_orders"] = pd.array([4, 0], dtype="Int64")
    avail = {"industry": True, "recent_activity": True}
    s = P.tag_scores(tags, {"industry": 0.3, "recent_activity": 0.1, "pain_point": 0.6}, avail)
    # pain point unavailable: weights renormalised to 0.75 / 0.25; q90 of positive recent = 4
    assert s["A"] == pytest.approx(100.0)
    assert s["B"] == pytest.approx(0.0)
    tags["tag_recent_orders"] = pd.array([4, 2], dtype="Int64")
    s = P.tag_scores(tags, {"industry": 0.3, "recent_activity": 0.1}, avail)
    q90 = float(np.quantile([4, 2], 0.9))  # 3.8
    assert s["B"] == pytest.approx(100 * 0.25 * 2 / q90)
    assert P.effective_weights({"industry": 0.3, "pain_point": 0.4, "region": 0.3},
                               {"industry": True, "region": True}) == pytest.approx(
        {"industry": 0.5, "region": 0.5})


def test_tag_scores_channel_and_unknown_family():
    tags = P.empty_tags(pd.Index(["A", "B", "C"], name="customer_id"))
    tags["tag_channel"] = ["online", "mixed", None]
    s = P.tag_scores(tags, {"channel": 1.0}, {"channel": True})
    assert s.tolist() == pytest.approx([100.0, 50.0, 0.0])
    with pytest.raises(ValueError, match="unknown tag families"):
        P.tag_scores(tags, {"chanel": 1.0}, {"channel": True})


def test_persona_label_example():
    tags = P.empty_tags(pd.Index(["A", "B"], name="customer_id"))
    tags["tag_region"] = ["长三角", None]
    tags["tag_industry"] = ["新能源汽车制造", None]
    tags["tag_decision_role"] = ["technical|procurement", None]
    tags["tag_core_pain"] = ["cares about equipment stability|cares about energy use", None]
    tags["tag_recent_orders"] = pd.array([3, 2], dtype="Int64")
    tags["tag_channel"] = ["online", "mixed"]
    zh = PP.persona_labels(tags, "zh")
    assert zh["A"] == "长三角 · 新能源汽车制造 · 技术驱动型 · 关注设备稳定性"
    assert zh["B"] == "近90天采购2次 · 多渠道"  # only dynamic tags known
    en = PP.persona_labels(tags, "en")
    assert en["A"] == "长三角 · 新能源汽车制造 · technology-driven · cares about equipment stability"
    assert en["B"] == "2 orders in 90 days · multi-channel"
    tags["tag_recent_orders"] = pd.array([3, 1], dtype="Int64")
    assert PP.persona_labels(tags, "en")["B"] == "1 order in 90 days · multi-channel"


def test_persona_labels_built_once_per_tag_combination_are_the_row_by_row_labels():
    """persona_labels builds each distinct combination of tags once and spreads it: the same
    labels as building every row (missing values, multi-valued tags, counts, both languages)."""
    rng = np.random.default_rng(7)
    n = 3000
    tags = P.empty_tags(pd.Index([f"C{i:05d}" for i in range(n)], name="customer_id"))

    def pick(values):
        return [values[i] for i in rng.integers(0, len(values), n)]

    tags["tag_region"] = pick(["长三角", "珠三角", None])
    tags["tag_industry"] = pick(["新能源汽车制造", "电子", None, None])
    tags["tag_decision_role"] = pick(["technical|procurement", "procurement", None])
    tags["tag_core_pain"] = pick(["cares about equipment stability|cares about energy use", None])
    tags["tag_hidden_need"] = pick(["cares about energy use", None, None])
    tags["tag_recent_orders"] = pd.array(pick([0, 1, 2, 5, None]), dtype="Int64")
    tags["tag_channel"] = pick(["online", "mixed", "offline", None])
    tags["tag_category"] = pick(["设备|服务", "耗材", None])
    for lang in ("zh", "en"):
        once = PP.persona_labels(tags, lang)
        rows = PP._labels(tags, lang, None, 4, " · ").rename("persona_label")
        pd.testing.assert_series_equal(once, rows)
        assert once.nunique() > 20


# --------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------


def synthetic(n_per_group: int = 40, seed: int = 1):
    """Three behaviour groups: frequent big spenders, lapsed one-off buyers, new small buyers."""
    rng = np.random.default_rng(seed)
    rows, ids, industry, quadrant = [], [], [], []
    groups = [  # (orders, days since last, order value, tenure, industry, quadrant)
        ((8, 15), (1, 30), 50_000, 700, "新能源汽车制造", "star"),
        ((1, 2), (300, 600), 3_000, 650, "化工", "eliminate"),
        ((1, 3), (1, 40), 2_000, 60, "电子制造", "potential"),
    ]
    i = 0
    for (olo, ohi), (rlo, rhi), value, tenure, ind, quad in groups:
        for _ in range(n_per_group):
            cid = f"C{i:03d}"
            k = int(rng.integers(olo, ohi + 1))
            last = int(rng.integers(rlo, rhi + 1))
            first = max(last, int(tenure * rng.uniform(0.8, 1.2)))
            dates = np.linspace(first, last, k).astype(int) if k > 1 else [last]
            for j, d in enumerate(dates):
                rows.append((cid, f"{cid}-{j}", day(int(d)), float(value * rng.lognormal(0, 0.3)),
                             "设备", "online"))
            ids.append(cid)
            industry.append(ind)
            quadrant.append(quad)
            i += 1
    tx = tx_frame(rows)
    customers = spine(ids, industry=industry, quadrant=quadrant, name=[f"客户{i}" for i in range(len(ids))])
    return customers, tx


def test_clustering_is_deterministic_and_finds_groups():
    customers, tx = synthetic()
    cfg = Personas(k_min=2, k_max=5, seed=7)
    a = P.cluster_personas(customers, tx, cfg, as_of=AS_OF)
    b = P.cluster_personas(customers, tx, cfg, as_of=AS_OF)
    assert a.k == b.k
    pd.testing.assert_series_equal(a.labels, b.labels)
    pd.testing.assert_series_equal(a.silhouette, b.silhouette)
    assert list(a.silhouette.index) == [2, 3, 4, 5]
    assert a.k == 3
    # every synthetic group lands in one cluster; cluster 1 = highest median revenue
    by_group = a.labels.groupby(customers["industry"]).nunique()
    assert (by_group == 1).all()
    assert a.labels.loc["C000"] == 1
    assert set(a.centroids.columns) == set(a.features) and len(a.centroids) == 3
    assert a.centroids.loc[1, "log_frequency"] > 5  # original units: orders, not log
    assert a.profile["customer_share"].sum() == pytest.approx(1.0)


def test_clustering_on_a_sample_assigns_everyone():
    customers, tx = synthetic(n_per_group=30)
    cfg = Personas(k_min=2, k_max=4, seed=3)
    a = P.cluster_personas(customers, tx, cfg, as_of=AS_OF, fit_sample=40, silhouette_sample=25)
    b = P.cluster_personas(customers, tx, cfg, as_of=AS_OF, fit_sample=40, silhouette_sample=25)
    assert a.n_fit == 40 and a.n_silhouette == 25
    assert a.labels.notna().all()
    pd.testing.assert_series_equal(a.labels, b.labels)


def test_names_cards_and_examples():
    customers, tx = synthetic()
    cfg = Personas(k_min=3, k_max=3)
    tags, avail = P.build_tags(customers, tx, None, AS_OF, cfg)
    res = P.cluster_personas(customers, tx, cfg, as_of=AS_OF)
    names = PP.name_clusters(res, tags, "zh", cfg)
    assert names.is_unique and len(names) == 3
    assert "高频" in names[1] and "新能源汽车制造" in names[1]
    assert "沉睡" in names.loc[res.labels["C040"]]
    en = PP.name_clusters(res, tags, "en", cfg)
    assert "frequent" in en[1].lower()
    cards = PP.persona_cards(customers, res, names, tags, "zh", cfg)
    assert cards["customer_share"].sum() == pytest.approx(1.0)
    assert cards["revenue_share"].sum() == pytest.approx(1.0)
    assert cards.loc[1, "dominant_quadrant"] == "star" and cards.loc[1, "dominant_quadrant_share"] == 1.0
    assert cards.loc[1, "typical_orders"] >= 8
    html = PP.persona_cards_html(cards, "zh")
    assert html.count('class="kit-card"') == 3 and "明星客户" in html
    ex = PP.example_customers(customers, res, n=2, names=names)
    shown = table(ex, "zh", mask_pii=True).frame  # masking happens where the table is shown
    assert len(shown) == 6 and shown["name"].str.endswith("**").all()
    assert shown["customer_id"].str.startswith("C").all()  # ids are not masked


def test_run_personas_writes_the_contract_columns_and_is_idempotent():
    customers, tx = synthetic(n_per_group=10)
    cfg = Personas(k_min=2, k_max=3)
    run = P.run_personas(customers, tx, None, AS_OF, cfg)
    spine = PP.with_persona_text(run, "en", cfg)  # what notebook 03 writes
    cols = set(spine.columns)
    assert set(P.TAG_COLUMNS) <= cols and set(P.PERSONA_COLUMNS) <= cols
    assert spine["persona_cluster"].dtype == "Int64"
    assert list(spine.columns)[-4:] == P.PERSONA_COLUMNS
    again = P.run_personas(spine, tx, None, AS_OF, cfg)
    assert list(again.spine.columns) == list(run.spine.columns)
    pd.testing.assert_frame_equal(again.spine, run.spine)
    pd.testing.assert_frame_equal(PP.with_persona_text(again, "en", cfg), spine)


# --------------------------------------------------------------------------------------
# Thin data
# --------------------------------------------------------------------------------------


def test_transactions_only_like_cdnow():
    customers, tx = synthetic(n_per_group=10)
    tx = tx[["customer_id", "order_date", "amount"]]  # no order id, category or channel
    customers = customers[[]]  # no master attributes
    run = P.run_personas(customers, tx, None, AS_OF, Personas(k_min=2, k_max=4))
    missing = P.unavailable_families(run.availability)
    assert missing == ["industry", "size", "region", "decision_role", "channel", "keywords",
                       "category", "pain_point"]
    assert "no interaction records" in render(run.availability["pain_point"].reason, "en")
    assert [n.kind for n in run.notes] == ["omitted"] and run.notes[0].section == "03_personas"
    assert render(run.notes[0], "en").startswith(
        "Tag families left out because the data cannot support them (nothing is substituted): "
        "Industry (the customer master has no industry column); Company size (the customer master has no "
        "employees column); ")
    assert render(run.notes[0], "zh").endswith("需求痛点（未提供互动记录）。")
    assert Note.from_dict(run.notes[0].as_dict()) == run.notes[0]  # notes.json round trip
    assert run.weights == {"recent_activity": 1.0}
    assert run.clusters.k is not None
    assert set(run.clusters.features) == {"log_frequency", "recency_days", "log_monetary", "tenure_days"}
    assert PP.with_persona_text(run, "en")["persona_label"].str.contains("in 90 days").all()
    assert run.spine["tag_industry"].isna().all()
    weights = PP.weight_table(Personas().tag_weights, run.availability, run.tags, "zh")
    shown = table(weights, "zh").frame
    assert shown.loc[shown["family"] == "需求痛点", "omitted_reason"].iloc[0] == "未提供互动记录"


def test_fewer_customers_than_k_min():
    customers, tx = synthetic(n_per_group=1)  # 3 customers
    cfg = Personas(k_min=4, k_max=6)
    run = P.run_personas(customers, tx, None, AS_OF, cfg)
    assert run.clusters.skipped and run.clusters.k is None
    note = run.clusters.note
    assert note.kind == "omitted" and note.params["k_min"] == 4
    assert "k_min = 4" in render(note, "zh") and "fewer than the smallest k" in render(note, "en")
    spine = PP.with_persona_text(run, "zh", cfg)
    assert spine["persona_cluster"].isna().all() and spine["persona_name"].isna().all()
    assert spine["persona_label"].notna().all()
    assert run.naming.empty
    names = PP.cluster_names(run.naming, "zh", cfg)
    assert names.empty
    assert PP.persona_cards(spine, run.clusters, names, run.tags, "zh").empty
    assert PP.example_customers(spine, run.clusters).empty
    assert PP.persona_cards_html(pd.DataFrame(), "zh") == ""


def test_identical_customers_are_not_forced_into_k_clusters():
    customers = spine([f"C{i}" for i in range(10)])
    tx = tx_frame([(f"C{i}", f"o{i}", day(5), 100.0, None, None) for i in range(10)])
    res = P.cluster_personas(customers, tx, Personas(k_min=2, k_max=3), as_of=AS_OF)
    assert res.skipped and res.note.kind == "omitted" and render(res.note, "en")


# --------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------


def test_plots_return_axes_without_warnings(small):
    import matplotlib.pyplot as plt

    from kit.present import plotting

    plotting.setup()
    customers, tx = synthetic(n_per_group=10)
    cfg = Personas(k_min=2, k_max=3)
    run = P.run_personas(customers, tx, None, AS_OF, cfg)
    names = PP.cluster_names(run.naming, "zh", cfg)
    s_customers, s_tx, s_inter = small
    s_tags, s_avail = P.build_tags(s_customers, s_tx, s_inter, AS_OF, cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        axes = PL.plot_tag_overview(s_tags, availability=s_avail, lang="zh", cfg_personas=cfg)
        assert axes.size >= 9
        _, ax = plt.subplots()
        assert PL.plot_tag_frequency(s_tags, family="pain_point", lang="en", cfg_personas=cfg, ax=ax) is ax
        assert PL.plot_silhouette(run.clusters, lang="zh") is not None
        ax = PL.plot_cluster_profile(run.clusters, lang="zh", names=names)
        assert len(ax.texts) == run.clusters.k * len(run.clusters.features)
        ax.figure.canvas.draw()
    plt.close("all")


def test_tag_frequencies_order_and_shares(small):
    customers, tx, inter = small
    tags, _ = P.build_tags(customers, tx, inter, AS_OF, Personas())
    size = PP.tag_frequencies(tags, "size", "zh")
    assert size["label"].tolist() == ["0-50人", "500-1000人", "5000+人"]
    recent = PP.tag_frequencies(tags, "recent_activity", "en")
    assert recent["label"].tolist() == ["none", "2-3 orders"]
    assert recent["customers"].tolist() == [2, 2] and recent["share"].sum() == pytest.approx(1.0)


def test_revenue_size_bands_are_labelled_as_revenue():
    customers = spine(["A", "B"], annual_revenue=[2_500_000, 50_000_000])
    tx = tx_frame([("A", "o1", day(1), 1.0, None, None), ("B", "o2", day(1), 1.0, None, None)])
    tags, _ = P.build_tags(customers, tx, None, AS_OF, Personas(), size_by="annual_revenue",
                           size_bins=[0, 1e6, 5e6, 1e7])
    assert PP.tag_frequencies(tags, "size", "en")["label"].tolist() == ["revenue 1M-5M", "revenue 10M+"]


# --------------------------------------------------------------------------------------
# Purchases, escaping
# --------------------------------------------------------------------------------------


def test_only_purchases_count(small):
    """A purchase is kit.stages.features.purchase_mask: not a return and amount > 0."""
    customers, tx, inter = small
    tx.loc[len(tx)] = ["D", "o10", day(2), 0.0, "设备", "online", False]  # zero amount: no purchase
    tags, _ = P.build_tags(customers, tx, inter, AS_OF, Personas())
    assert tags.loc["D", "tag_recent_orders"] == 0 and pd.isna(tags.loc["D", "tag_channel"])


def test_persona_cards_escape_customer_text():
    """Cards show customer-derived text (names from tags, top tags): it is escaped."""
    payload = "<img src=x onerror=alert(1)>"
    customers, tx = synthetic()
    customers["industry"] = customers["industry"].replace("新能源汽车制造", payload)
    cfg = Personas(k_min=3, k_max=3)
    tags, _ = P.build_tags(customers, tx, None, AS_OF, cfg)
    res = P.cluster_personas(customers, tx, cfg, as_of=AS_OF)
    names = PP.name_clusters(res, tags, "en", cfg)
    assert payload in names[1]
    cards = PP.persona_cards(customers, res, names, tags, "en", cfg)
    assert payload in cards.loc[1, "top_tags"]
    html = PP.persona_cards_html(cards, "en", currency="<b>¥</b>")
    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
