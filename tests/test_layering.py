"""Layering rules on hand-made data: every boundary of DOMAIN.md section 2, the recency
direction, ties, a single customer, identical customers, a period without purchases."""
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.core import registry
from kit.core.config import AbcClasses, Churn, Dynamic, Quadrant, RfmSegmentRule, Text, ValueTiers, parse_config
from kit.core.notes import Msg, Note
from kit.present import layering as P
from kit.present.messages import render, text
from kit.present.plots import layering as PL
from kit.present.table import display_values, table
from kit.stages import layering as L
from kit.stages.features import business_features

AS_OF = pd.Timestamp("2026-09-30")  # quarter end; previous period end 2026-06-30

#: Spine columns 02 must write (docs/ARCHITECTURE.md), besides the optional master attributes.
CONTRACT = """first_purchase last_purchase days_since_last months_since_last orders_total revenue_total
orders_12m amount_12m amount_q1 amount_q2 amount_q3 amount_q4 avg_order_value profit_total profit_12m
n_categories new_category_last_q tenure_days frequency recency T monetary_value rfm_r rfm_f rfm_m
rfm_score rfm_segment rfm8_class value_tier abc_class value_score potential_score quadrant demand_type
potential_type satisfaction complaint_rate churn_risk value_tier_prev quadrant_prev tier_change
upgrade_trigger upgrade_reason downgrade_warning downgrade_reason special_flags""".split()


def make_cfg(**layering):
    data = {"client": "t", "inputs": {"transactions": {"path": "x.csv"}}}
    if layering:
        data["layering"] = layering
    return parse_config(data)


def tx(rows, **extra):
    """Clean transactions from (customer, date, amount) tuples; one order per row."""
    df = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    df.insert(1, "order_id", [f"O{i}" for i in range(len(df))])
    df = df.astype({"customer_id": "str", "order_id": "str", "amount": float})
    df["order_date"] = pd.to_datetime(df["order_date"])
    for k, v in extra.items():
        df[k] = v
    df["is_return"] = False
    return df


def en(note: Note) -> str:
    """A stage note in English (what the old ``note["en"]`` held)."""
    return render(note, "en")


def feats(**cols):
    """A features-like frame indexed by customer_id from column lists."""
    n = len(next(iter(cols.values())))
    idx = pd.Index([f"c{i}" for i in range(n)], name="customer_id", dtype="str")
    return pd.DataFrame(cols, index=idx)


# --------------------------------------------------------------------------------------
# Quantile scores: ties, direction, degenerate populations
# --------------------------------------------------------------------------------------


def test_five_distinct_values_fill_the_five_scores():
    assert L.quantile_scores(pd.Series([10, 20, 30, 40, 50])).tolist() == [1, 2, 3, 4, 5]


def test_ties_get_equal_scores_from_the_middle_of_their_block():
    s = L.quantile_scores(pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 4, 5]))
    assert s.iloc[:6].nunique() == 1 and s.iloc[0] == 2  # mid-rank 3.5 of 10 -> p = 0.3
    assert s.tolist()[6:] == [4, 4, 5, 5]


def test_single_customer_and_identical_customers_score_the_middle():
    assert L.quantile_scores(pd.Series([42.0])).tolist() == [3]
    assert L.quantile_scores(pd.Series([7.0] * 9)).tolist() == [3] * 9
    assert L.quantile_scores(pd.Series([7.0] * 4), bins=4).tolist() == [3] * 4  # mid of 1..4 rounds up


def test_recency_score_five_is_the_most_recent():
    days = pd.Series([1, 30, 90, 200, 400])
    assert L.quantile_scores(days, higher_is_better=False).tolist() == [5, 4, 3, 2, 1]
    f = feats(days_since_last=[1, 400], orders_total=[1, 1], revenue_total=[1.0, 1.0])
    s = L.rfm_scores(f)
    assert s.loc["c0", "rfm_r"] > s.loc["c1", "rfm_r"]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=60), st.integers(2, 10))
def test_scores_are_monotone_in_range_and_equal_for_equal_values(values, bins):
    v = pd.Series(values, dtype=float)
    s = L.quantile_scores(v, bins)
    assert s.between(1, bins).all()
    assert (s.groupby(v).nunique() == 1).all()  # equal values, equal scores
    order = np.argsort(v.to_numpy(), kind="stable")
    assert (np.diff(s.to_numpy()[order]) >= 0).all()  # never a lower score for a higher value


def test_rfm_scores_sum():
    f = feats(days_since_last=[1, 50, 400], orders_total=[9, 3, 1], revenue_total=[900.0, 50.0, 10.0])
    s = L.rfm_scores(f)
    assert s.loc["c0"].tolist() == [5, 5, 5, 15]
    assert s.loc["c2"].tolist() == [1, 1, 1, 3]


# --------------------------------------------------------------------------------------
# Named segments
# --------------------------------------------------------------------------------------


def scores(r, f, m):
    idx = pd.Index([f"c{i}" for i in range(len(r))], name="customer_id")
    return pd.DataFrame({"rfm_r": r, "rfm_f": f, "rfm_m": m}, index=idx)


def test_default_segment_table():
    seg = L.rfm_segments(scores([5, 1, 5, 1, 3, 2, 5, 5], [5, 5, 1, 1, 3, 1, 2, 3], [5, 5, 1, 1, 2, 1, 3, 3]))
    assert seg.tolist() == ["Champions", "Can't Lose", "New", "Hibernating", "Need Attention",
                            "About to Sleep", "Potential Loyalist", "Loyal"]


def test_custom_rule_table_first_match_wins_and_unmatched_is_unclassified():
    rules = [RfmSegmentRule(name="Top", label=Text(zh="顶", en="Top"), r=(4, 5), f=(4, 5)),
             RfmSegmentRule(name="Recent", label=Text(zh="近", en="Recent"), r=(3, 5))]
    seg = L.rfm_segments(scores([5, 5, 1], [5, 1, 1], [1, 1, 1]), rules)
    assert seg.tolist() == ["Top", "Recent", "Unclassified"]


def test_segments_on_another_scale_are_mapped_to_one_to_five():
    seg = L.rfm_segments(scores([3, 1], [3, 1], [3, 1]), bins=3)  # 3 of 3 -> 5 of 5
    assert seg.tolist() == ["Champions", "Hibernating"]


# --------------------------------------------------------------------------------------
# The Chinese 8-class model
# --------------------------------------------------------------------------------------


def test_rfm8_high_recency_means_recent():
    # A bought yesterday, B a year ago; both buy often and much; C and D rarely and little.
    f = feats(days_since_last=[1, 365, 2, 300], orders_total=[20, 20, 1, 1],
              revenue_total=[90_000.0, 90_000.0, 100.0, 100.0])
    c = L.rfm8(f)
    assert c["c0"] == "important_value"   # 重要价值: recent, frequent, big
    assert c["c1"] == "important_keep"    # 重要保持: frequent and big but not recent
    assert c["c2"] == "general_develop"   # 一般发展: recent, rare, small
    assert c["c3"] == "general_retain"    # 一般挽留


def test_rfm8_all_eight_classes():
    f = feats(days_since_last=[1, 1, 99, 99, 1, 1, 99, 99], orders_total=[9, 1, 9, 1, 9, 1, 9, 1],
              revenue_total=[9.0, 9.0, 9.0, 9.0, 1.0, 1.0, 1.0, 1.0])
    assert L.rfm8(f).tolist() == L.RFM8_CLASSES


def test_rfm8_threshold_value_is_low_and_identical_customers_are_all_low():
    f = feats(days_since_last=[10, 20, 30], orders_total=[1, 2, 3], revenue_total=[1.0, 2.0, 3.0])
    c = L.rfm8(f)  # the middle customer sits exactly on every mean
    assert c["c1"] == "general_retain"
    same = feats(days_since_last=[5] * 3, orders_total=[2] * 3, revenue_total=[9.0] * 3)
    assert set(L.rfm8(same)) == {"general_retain"}


def test_rfm8_median_option_differs_from_mean():
    f = feats(days_since_last=[10, 10, 10, 10], orders_total=[1, 1, 2, 100], revenue_total=[1.0, 1.0, 1.0, 1.0])
    assert L.rfm8(f, threshold="mean")["c2"] == "general_retain"  # 2 < mean 26
    assert L.rfm8(f, threshold="median")["c2"] == "general_keep"  # 2 > median 1.5
    with pytest.raises(ValueError, match="mean"):
        L.rfm8(f, threshold="mode")


# --------------------------------------------------------------------------------------
# Value tiers and A/B/C
# --------------------------------------------------------------------------------------


def test_value_tier_boundaries():
    a = pd.Series([500_000.0, 499_999.99, 100_000.0, 99_999.99, 0.0, -10.0])
    assert L.value_tiers(a).tolist() == ["high", "medium", "medium", "low", "low", "low"]
    custom = L.value_tiers(pd.Series([500.0, 100.0]), ValueTiers(high_min=500, medium_min=100))
    assert custom.tolist() == ["high", "medium"]


def abc_master(leader, stage, plan=None):
    idx = pd.Index([f"c{i}" for i in range(len(leader))], name="customer_id", dtype="str")
    m = pd.DataFrame({"industry_leader": leader, "growth_stage": stage}, index=idx)
    if plan is not None:
        m["expansion_plan"] = plan
    return m


def test_abc_guide_rule_with_master_attributes():
    amount = pd.Series([6e6, 6e6, 6e6, 2e6, 2e6, 2e6, 5e6, 1e6, 999_999.0],
                       index=pd.Index([f"c{i}" for i in range(9)], name="customer_id"))
    m = abc_master(
        leader=[True, False, False, False, False, False, True, False, True],
        stage=["mature", "growth", "mature", "growth", "mature", "mature", "mature", "成长期", "growth"],
        plan=[None, None, None, None, None, "区域扩张", None, None, None],
    )
    assert L.abc_classes(amount, m).tolist() == ["A", "B", "C", "B", "C", "B", "A", "B", "C"]


def test_abc_without_master_follows_the_amount():
    amount = pd.Series([5e6, 4_999_999.0, 1e6, 10.0])
    assert L.abc_classes(amount).tolist() == ["A", "B", "B", "C"]


def test_abc_missing_attribute_values_follow_the_amount():
    amount = pd.Series([6e6, 2e6], index=pd.Index(["c0", "c1"], name="customer_id"))
    m = abc_master(leader=[None, None], stage=[None, None])
    assert L.abc_classes(amount, m).tolist() == ["A", "B"]


def test_abc_conditions_can_be_switched_off():
    amount = pd.Series([6e6, 2e6], index=pd.Index(["c0", "c1"], name="customer_id"))
    m = abc_master(leader=[False, False], stage=["mature", "mature"])
    rule = AbcClasses(a_requires_leader=False, b_requires_expanding=False)
    assert L.abc_classes(amount, m, rule).tolist() == ["A", "B"]


def test_expansion_plan_words():
    idx = pd.Index(["a", "b", "c", "d"], name="customer_id", dtype="str")
    m = pd.DataFrame({"expansion_plan": ["新品类尝试", "无", None, "none"]}, index=idx)
    assert L.expanding(m, idx).tolist() == [True, False, pd.NA, False]


# --------------------------------------------------------------------------------------
# Value x potential
# --------------------------------------------------------------------------------------


def test_scale_0_100():
    assert L.scale_0_100(pd.Series([1.0, 2.0, 3.0, 4.0])).tolist() == [12.5, 37.5, 62.5, 87.5]
    assert L.scale_0_100(pd.Series([5.0, 5.0])).tolist() == [50.0, 50.0]
    assert L.scale_0_100(pd.Series([5.0])).tolist() == [50.0]
    assert L.scale_0_100(pd.Series([0.0, 5.0, 10.0, np.nan]), "minmax").tolist() == [0.0, 50.0, 100.0, 50.0]
    assert L.scale_0_100(pd.Series([3.0, 3.0]), "minmax").tolist() == [50.0, 50.0]
    with pytest.raises(ValueError, match="percentile"):
        L.scale_0_100(pd.Series([1.0]), "zscore")


def vp_features(n=4):
    return feats(
        amount_12m=[100.0, 200.0, 300.0, 400.0][:n], amount_13_24m=[400.0, 300.0, 200.0, 100.0][:n],
        revenue_total=[500.0, 500.0, 500.0, 500.0][:n], profit_total=[40.0, 30.0, 20.0, 10.0][:n],
        avg_order_value=[1.0, 2.0, 3.0, 4.0][:n], n_categories=[1.0, 2.0, 3.0, 4.0][:n],
    )


def test_value_score_weights_by_hand():
    out, _ = L.value_potential(vp_features())
    # percentiles 12.5 / 37.5 / 62.5 / 87.5: amount and AOV rise, profit falls
    expected = [0.4 * a + 0.4 * p + 0.2 * o for a, p, o in
                zip([12.5, 37.5, 62.5, 87.5], [87.5, 62.5, 37.5, 12.5], [12.5, 37.5, 62.5, 87.5])]
    np.testing.assert_allclose(out["value_score"], expected)


def test_potential_drops_missing_inputs_and_says_so():
    out, notes = L.value_potential(vp_features())  # no master, no interactions
    # industry growth and referrals dropped: size expansion 0.2 / 0.5, cooperation depth 0.3 / 0.5
    growth = [12.5, 37.5, 62.5, 87.5]  # own growth rises with the index
    depth = [12.5, 37.5, 62.5, 87.5]
    np.testing.assert_allclose(out["potential_score"], [0.4 * g + 0.6 * d for g, d in zip(growth, depth)])
    omitted = [n for n in notes if n.kind == "omitted"]
    assert len(omitted) == 1 and omitted[0].code == "layering.potential_dropped"
    assert omitted[0].params["dropped"] == [Msg("layering.part.industry_growth"), Msg("layering.part.referral")]
    assert "industry growth outlook" in en(omitted[0]) and "referrals" in en(omitted[0])
    assert "40 %" in en(omitted[0]) and "60 %" in en(omitted[0])
    assert any("product categories" in en(n) for n in notes)  # the proxy is named
    assert all(n.section == "02_layering" for n in notes)
    assert out["purchase_growth"].tolist() == [-0.75, pytest.approx(-1 / 3), 0.5, 3.0]


def test_profit_proxy_when_the_data_have_none():
    f = vp_features().assign(profit_total=np.nan)
    _, notes = L.value_potential(f, default_margin=0.25)
    assert any(n.code == "layering.profit_proxy_all" and n.params["margin_pct"] == 25 for n in notes)
    assert any("25 %" in en(n) and "margin" in en(n) for n in notes)


def test_potential_inputs_from_master_config_and_interactions():
    f = vp_features()
    idx = f.index
    master = pd.DataFrame({"industry": ["EV", "EV", "retail", "unknown"]}, index=idx)
    rule = Quadrant(industry_growth={"EV": 90, "retail": 10})
    ix = pd.DataFrame({"customer_id": ["c3", "c3", "c0"], "date": pd.to_datetime(["2026-01-01"] * 3),
                       "type": ["referral", "referral", "complaint"]})
    out, notes = L.value_potential(f, master=master, interactions=ix, rule=rule)
    assert not [n for n in notes if n.kind == "omitted"]
    assert any("1 customers whose industry is not listed" in en(n) for n in notes)
    # c3: outlook neutral 50, growth 87.5, depth 87.5, referrals 87.5 (2 of them)
    assert out.loc["c3", "potential_score"] == pytest.approx(0.3 * 50 + 0.2 * 87.5 + 0.3 * 87.5 + 0.2 * 87.5)
    # master industry_growth wins over the config; master referrals over the log
    master2 = master.assign(industry_growth=[1.0, 2.0, 3.0, 4.0], referrals=[0, 0, 0, 9])
    _, notes2 = L.value_potential(f, master=master2, interactions=ix, rule=rule)
    assert any("master's industry_growth" in en(n) for n in notes2)
    assert any("master's referral count" in en(n) for n in notes2)


def test_industry_growth_proxy_from_the_data():
    f = vp_features()
    master = pd.DataFrame({"industry": ["A", "A", "B", "B"]}, index=f.index)
    out, notes = L.value_potential(f, master=master)
    assert any("each industry's own revenue growth" in en(n) for n in notes)
    assert out["potential_score"].notna().all()


def test_quadrant_thresholds_are_inclusive():
    q = L.quadrants(pd.Series([50.0, 50.0, 49.9, 49.9]), pd.Series([50.0, 49.9, 50.0, 49.9]))
    assert q.tolist() == ["star", "cash_cow", "potential", "eliminate"]
    q2 = L.quadrants(pd.Series([70.0]), pd.Series([70.0]), value_threshold=80, potential_threshold=60)
    assert q2.tolist() == ["potential"]


# --------------------------------------------------------------------------------------
# Churn risk, satisfaction, complaints
# --------------------------------------------------------------------------------------


def test_churn_risk_boundaries():
    months = pd.Series([3.0, 2.9999, 1.0, 0.9999, 0.0, 12.0])
    assert L.churn_risk(months).tolist() == ["high", "medium", "medium", "low", "low", "high"]


def test_churn_risk_satisfaction_below_40_is_high():
    months = pd.Series([0.1, 0.1, 0.1], index=["a", "b", "c"])
    sat = pd.Series([39.9, 40.0], index=["a", "b"])  # c has no survey: recency alone
    assert L.churn_risk(months, sat).tolist() == ["high", "low", "low"]


def test_churn_risk_on_day_counts_exactly_three_calendar_months():
    # 2026-06-30 -> 2026-09-30 is exactly 3 calendar months = 92 days = 3.02 mean months
    f = business_features(tx([("a", "2026-06-30", 1.0), ("b", "2026-07-01", 1.0),
                              ("c", "2026-08-30", 1.0), ("d", "2026-08-31", 1.0)]), AS_OF)
    # c: 31 days = 1.02 months, medium; d: 30 days = 0.99 months, low
    assert L.churn_risk(f["months_since_last"]).tolist() == ["high", "medium", "medium", "low"]
    # documented consequence of mean months: a 90-day calendar quarter is 2.96 months, medium
    g = business_features(tx([("a", "2025-12-31", 1.0)]), "2026-03-31")
    assert g.loc["a", "days_since_last"] == 90
    assert L.churn_risk(g["months_since_last"]).tolist() == ["medium"]


def test_churn_thresholds_from_config():
    r = L.churn_risk(pd.Series([2.0, 0.5]), rule=Churn(high_months=2, medium_months=0.5))
    assert r.tolist() == ["high", "medium"]


def interactions():
    return pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "c"],
        "date": pd.to_datetime(["2026-03-31", "2026-04-01", "2026-09-30", "2026-09-01", "2026-10-01", "2026-05-01"]),
        "type": ["survey", "survey", "complaint", "complaint", "survey", "referral"],
        "score": [0.0, 30.0, 50.0, np.nan, 0.0, np.nan],
    })


def test_satisfaction_window_is_half_open():
    s = L.satisfaction_scores(interactions(), AS_OF, 6)
    assert s["a"] == 40.0  # 03-31 (outside) excluded, 04-01 and 09-30 included
    assert np.isnan(s["b"])  # only score after as_of
    idx = pd.Index(["a", "z"], name="customer_id", dtype="str")
    aligned = L.satisfaction_scores(interactions(), AS_OF, 6, index=idx)
    assert aligned.index.equals(idx) and np.isnan(aligned["z"])
    assert L.satisfaction_scores(None, AS_OF, index=idx).isna().all()


def test_complaint_rate_per_order_and_base():
    orders = pd.Series([4, 0, 2], index=pd.Index(["a", "b", "c"], name="customer_id"))
    rate, base = L.complaint_rates(interactions(), orders, AS_OF)
    assert rate.tolist() == [0.25, 1.0, 0.0]  # b: no order counts as 1
    assert base == pytest.approx(2 / 7)
    none, nan = L.complaint_rates(None, orders, AS_OF)
    assert none.isna().all() and np.isnan(nan)


# --------------------------------------------------------------------------------------
# Dynamic adjustment
# --------------------------------------------------------------------------------------


def quarters(rows, new_cat=None):
    f = feats(**{f"amount_q{k}": [r[k - 1] for r in rows] for k in range(1, 5)})
    f["new_category_last_q"] = new_cat if new_cat is not None else [False] * len(rows)
    return f


def test_upgrade_two_quarters_at_exactly_twenty_percent():
    f = quarters([
        (144.0, 120.0, 100.0, 0.0),          # exactly +20 % twice
        (1440.144, 1200.12, 1000.10, 0.0),   # exactly +20 % with awkward floats
        (143.99, 120.0, 100.0, 0.0),         # second step 19.99 %
        (200.0, 120.0, 0.0, 0.0),            # no purchase in q3: cannot grow from nothing
        (144.0, 120.0, 100.0, 0.0),          # same growth but a high-value customer
    ])
    tier = pd.Series(["medium", "medium", "medium", "medium", "high"], index=f.index)
    up = L.upgrade_triggers(f, tier)
    assert up["upgrade_trigger"].tolist() == [True, True, False, False, False]
    assert up["upgrade_reason"].tolist() == ["growth", "growth", "", "", ""]


def test_upgrade_on_new_category_and_config():
    f = quarters([(1.0, 1.0, 1.0, 1.0), (144.0, 120.0, 100.0, 1.0)], new_cat=[True, True])
    tier = pd.Series(["medium", "medium"], index=f.index)
    assert L.upgrade_triggers(f, tier)["upgrade_reason"].tolist() == ["new_category", "growth;new_category"]
    off = L.upgrade_triggers(f, tier, Dynamic(upgrade_on_new_category=False))
    assert off["upgrade_reason"].tolist() == ["", "growth"]
    three = L.upgrade_triggers(quarters([(172.8, 144.0, 120.0, 100.0)]), pd.Series(["medium"], index=["c0"]),
                               Dynamic(upgrade_quarters=3))
    assert three["upgrade_trigger"].tolist() == [True]
    with pytest.raises(ValueError, match="amount_q5"):
        L.upgrade_triggers(quarters([(1.0, 1.0, 1.0, 1.0)]), pd.Series(["medium"], index=["c0"]),
                           Dynamic(upgrade_quarters=4))


def test_downgrade_warning_boundaries():
    idx = pd.Index(list("abcde"), name="customer_id")
    tier = pd.Series(["high", "high", "high", "high", "medium"], index=idx)
    months = pd.Series([6.0, 5.999, 1.0, 1.0, 12.0], index=idx)
    rate = pd.Series([0.0, 0.0, 0.2, 0.1, 0.9], index=idx)
    d = L.downgrade_warnings(tier, months, rate, 0.1)
    assert d["downgrade_warning"].tolist() == [True, False, True, False, False]
    assert d["downgrade_reason"].tolist() == ["inactive", "", "complaints", "", ""]
    d2 = L.downgrade_warnings(tier, months, rate, 0.1, Dynamic(complaint_rate_factor=2.5))
    assert d2["downgrade_warning"].tolist() == [True, False, False, False, False]
    assert L.downgrade_warnings(tier, months)["downgrade_reason"].tolist() == ["inactive", "", "", "", ""]


def test_special_flags_and_overdue():
    t = tx([("a", "2026-09-01", 1.0), ("b", "2025-01-01", 1.0), ("c", "2026-09-01", 1.0)],
           days_overdue=[31.0, 90.0, 30.0])
    overdue = L.overdue_customers(t, AS_OF, overdue_days=30)
    assert list(overdue) == ["a"]  # b's overdue order is older than 12 months, c is not above 30 days
    idx = pd.Index(["a", "b", "c"], name="customer_id", dtype="str")
    master = pd.DataFrame({"strategic_partner": [True, False, False]}, index=idx)
    churn = pd.Series(["high", "low", "high"], index=idx)
    flags = L.special_flags(idx, master=master, overdue=overdue, churn=churn)
    assert flags.tolist() == ["strategic_partner;overdue_payment;churn_warning", "", "churn_warning"]
    assert L.overdue_customers(tx([("a", "2026-09-01", 1.0)]), AS_OF) is None
    status = tx([("a", "2026-09-01", 1.0)], payment_status=["已逾期"])
    assert list(L.overdue_customers(status, AS_OF)) == ["a"]


def test_migration_states():
    idx = pd.Index(list("abcdef"), name="customer_id", dtype="str")
    cur = pd.DataFrame({"value_tier": ["high", "low", "medium", "low", "low", "medium"],
                        "quadrant": ["star"] * 6, "amount_12m": [9.0, 0.0, 5.0, 1.0, 0.0, 3.0],
                        "orders_12m": [3, 0, 2, 1, 0, 1]}, index=idx)
    prev = pd.DataFrame({"value_tier": ["medium", "medium", "medium", "high", "low"],
                         "quadrant": ["cash_cow"] * 5, "amount_12m": [4.0, 6.0, 5.0, 7.0, 0.0],
                         "orders_12m": [1, 2, 2, 3, 0]}, index=idx[:5])
    m = L.migration(cur, prev)
    assert m["tier_change"].tolist() == ["up", "lost", "same", "down", "same", "new"]
    assert m.loc["f", "value_tier_prev"] is np.nan or pd.isna(m.loc["f", "value_tier_prev"])
    assert m.loc["b", "amount_12m_prev"] == 6.0


# --------------------------------------------------------------------------------------
# Three-dimensional model
# --------------------------------------------------------------------------------------


def test_demand_and_potential_types():
    f = feats(amount_12m=[100.0, 100.0, 100.0, 0.0, 130.0], amount_13_24m=[100.0, 100.0, 0.0, 100.0, 100.0])
    idx = f.index
    master = pd.DataFrame({
        "contact_title": ["采购经理", "技术总监", None, None, None],
        "growth_stage": ["mature", "初创", None, None, None],
        "expansion_plan": ["区域扩张", None, None, None, None],
    }, index=idx)
    ix = pd.DataFrame({"customer_id": ["c2", "c2", "c4"], "date": pd.to_datetime(["2026-01-01"] * 3),
                       "keywords": ["售后 响应", "维修", "价格"]})
    td, notes = L.three_dimensional(f, master=master, interactions=ix)
    assert td["demand_type"].tolist()[:3] == ["price_sensitive", "solution", "service"]
    assert pd.isna(td.loc["c3", "demand_type"])
    assert td["potential_type"].tolist() == ["high_growth", "to_activate", "to_activate", "to_activate",
                                             "high_growth"]
    assert any("3 customers have no growth stage" in en(n) for n in notes)


def test_demand_from_purchased_categories():
    t = tx([("a", "2026-01-01", 100.0), ("a", "2026-02-01", 10.0), ("b", "2026-01-01", 5.0)],
           category=["备品备件", "解决方案项目", "其他"])
    f = business_features(t, AS_OF)
    td, _ = L.three_dimensional(f, transactions=t, as_of=AS_OF)
    assert td.loc["a", "demand_type"] == "service" and pd.isna(td.loc["b", "demand_type"])


def test_demand_type_omitted_without_any_signal():
    td, notes = L.three_dimensional(feats(amount_12m=[1.0], amount_13_24m=[1.0]))
    assert td["demand_type"].isna().all() and td["potential_type"].tolist() == ["stable"]
    assert notes[0].kind == "omitted" and notes[0].code == "layering.demand_omitted"


# --------------------------------------------------------------------------------------
# The spine
# --------------------------------------------------------------------------------------


def world():
    """Six customers around AS_OF = 2026-09-30 (previous period end 2026-06-30)."""
    rows = [
        # vip: 600,000 in the year, bought in every quarter
        ("vip", "2025-11-15", 150_000.0), ("vip", "2026-02-15", 150_000.0),
        ("vip", "2026-05-15", 150_000.0), ("vip", "2026-08-15", 150_000.0),
        # grower: core customer, +20 % twice (100k -> 120k -> 144k) and a new category
        ("grower", "2026-02-01", 100_000.0), ("grower", "2026-05-01", 120_000.0),
        ("grower", "2026-08-01", 144_000.0),
        # sleeper: high value a year ago, nothing since March
        ("sleeper", "2025-10-10", 400_000.0), ("sleeper", "2026-03-20", 200_000.0),
        # newbie: first order after the previous period end
        ("newbie", "2026-09-01", 5_000.0),
        # gone: active at the previous period end, nothing in the last 12 months now
        ("gone", "2025-07-15", 50_000.0),
        # small: buys a little, recently
        ("small", "2026-09-29", 1_000.0), ("small", "2026-06-01", 1_000.0),
    ]
    cats = ["设备"] * 4 + ["设备", "设备", "运维服务"] + ["设备"] * 2 + ["设备"] + ["设备"] + ["备件"] * 2
    t = tx(rows, category=cats, margin=0.3, days_overdue=0.0)
    t.loc[t["customer_id"] == "small", "days_overdue"] = 45.0
    master = pd.DataFrame({
        "customer_id": ["vip", "grower", "sleeper", "newbie", "gone", "small", "never"],
        "name": ["甲", "乙", "丙", "丁", "戊", "己", "庚"],
        "industry": ["EV"] * 7,
        "strategic_partner": [True, False, False, False, False, False, False],
        "industry_leader": [False] * 7,
    })
    ix = pd.DataFrame({
        "customer_id": ["sleeper", "sleeper", "vip", "small"],
        "date": pd.to_datetime(["2026-08-01", "2026-08-02", "2026-09-01", "2026-09-10"]),
        "type": ["complaint", "complaint", "survey", "survey"],
        "score": [np.nan, np.nan, 90.0, 30.0],
    })
    return t, master, ix


def test_layer_world():
    t, master, ix = world()
    c = L.layer(t, AS_OF, make_cfg(), master, ix)
    assert set(CONTRACT) <= set(c.columns)
    assert c.index.name == "customer_id" and c.index.is_unique and "never" not in c.index
    assert c["value_tier"].to_dict() == {"gone": "low", "grower": "medium", "newbie": "low",
                                         "sleeper": "high", "small": "low", "vip": "high"}
    assert c.loc["grower", "upgrade_trigger"] and c.loc["grower", "upgrade_reason"] == "growth;new_category"
    assert c.loc["sleeper", "downgrade_warning"] and c.loc["sleeper", "downgrade_reason"] == "inactive;complaints"
    assert not c.loc["vip", "downgrade_warning"]
    # vip had 450,000 in the year to 2026-06-30 (medium), 600,000 now (high)
    assert c["tier_change"].to_dict() == {"gone": "lost", "grower": "same", "newbie": "new",
                                          "sleeper": "same", "small": "same", "vip": "up"}
    assert c.loc["vip", "value_tier_prev"] == "medium" and c.loc["vip", "amount_12m_prev"] == 450_000.0
    assert c.loc["vip", "special_flags"] == "strategic_partner"
    assert c.loc["small", "special_flags"] == "overdue_payment;churn_warning"  # satisfaction 30 < 40
    assert c.loc["small", "churn_risk"] == "high" and c.loc["vip", "churn_risk"] == "medium"
    assert c.loc["sleeper", "churn_risk"] == "high"
    assert c.loc["vip", "frequency"] == 3 and c.loc["newbie", "frequency"] == 0
    assert c.loc["grower", "name"] == "乙"
    assert any("not layered" in en(n) for n in L.notes(c))
    assert all(isinstance(n, Note) for n in L.notes(c))
    assert c.attrs["prev_as_of"] == "2026-06-30"


def test_layer_writes_and_reads_back_as_parquet(tmp_path):
    t, master, ix = world()
    c = L.layer(t, AS_OF, make_cfg(), master, ix)
    c.to_parquet(tmp_path / "customers.parquet")
    back = pd.read_parquet(tmp_path / "customers.parquet")
    assert back.index.name == "customer_id" and list(back.columns) == list(c.columns)
    assert L.notes(back) == L.notes(c)


def test_layer_transactions_only_names_every_gap():
    t = tx([("a", "2026-01-01", 10.0), ("b", "2026-05-01", 20.0), ("a", "2026-08-01", 5.0)])
    c = L.layer(t, AS_OF, make_cfg())
    assert c["demand_type"].isna().all() and c["satisfaction"].isna().all() and c["complaint_rate"].isna().all()
    omitted = " ".join(en(n) for n in L.notes(c) if n.kind == "omitted")
    for gap in ("industry growth outlook", "No interaction log", "No customer master", "product category",
                "days overdue", "demand type"):
        assert gap in omitted


def test_layer_single_customer():
    c = L.layer(tx([("solo", "2026-08-01", 1000.0)]), AS_OF, make_cfg())
    r = c.loc["solo"]
    assert (r["rfm_r"], r["rfm_f"], r["rfm_m"]) == (3, 3, 3)
    assert r["value_score"] == 50 and r["quadrant"] == "star"
    assert r["rfm8_class"] == "general_retain" and r["tier_change"] == "new"


def test_layer_identical_customers():
    rows = [(c, d, 100.0) for c in "abcdef" for d in ("2026-01-10", "2026-07-10")]
    c = L.layer(tx(rows), AS_OF, make_cfg())
    for col in ("rfm_r", "rfm_f", "rfm_m", "rfm_segment", "rfm8_class", "value_score", "potential_score",
                "quadrant", "value_tier", "churn_risk", "tier_change"):
        assert c[col].nunique() == 1, col
    assert c["rfm_r"].iloc[0] == 3 and c["value_score"].iloc[0] == 50


def test_layer_period_without_purchases():
    t = tx([("a", "2026-01-10", 700_000.0), ("b", "2026-09-10", 200.0)])
    c = L.layer(t, "2027-09-30", make_cfg())  # previous period end 2027-06-30
    assert (c["churn_risk"] == "high").all() and (c["amount_12m"] == 0).all()
    assert (c["value_tier"] == "low").all()
    assert c["tier_change"].to_dict() == {"a": "same", "b": "lost"}  # a was already dormant at 2027-06-30
    assert not c["upgrade_trigger"].any()


def test_layer_empty_transactions():
    c = L.layer(tx([]), AS_OF, make_cfg())
    assert c.empty and set(CONTRACT) <= set(c.columns) and c.index.name == "customer_id"


def test_layer_rfm_window_and_monthly_period():
    t = tx([("a", "2024-01-01", 1e6), ("a", "2026-09-01", 1.0), ("b", "2026-09-02", 10.0)])
    all_time = L.layer(t, AS_OF, make_cfg())
    windowed = L.layer(t, AS_OF, make_cfg(rfm={"window_months": 6}))
    assert all_time.loc["a", "rfm_m"] > all_time.loc["b", "rfm_m"]
    assert windowed.loc["a", "rfm_m"] < windowed.loc["b", "rfm_m"]
    monthly = L.layer(t, AS_OF, parse_config({"client": "t", "period": "month",
                                               "inputs": {"transactions": {"path": "x.csv"}}}))
    assert monthly.attrs["prev_as_of"] == "2026-08-31"
    assert monthly.loc["a", "tier_change"] == "same" and monthly.loc["b", "tier_change"] == "new"


def test_layer_settings_from_keywords():
    t, master, ix = world()
    master["growth_stage"] = "扩张中"
    c = L.layer(t, AS_OF, make_cfg(), master, ix, growth_stages={"扩张中": "high_growth"})
    assert (c["potential_type"] == "high_growth").all()


# --------------------------------------------------------------------------------------
# Notes in words
# --------------------------------------------------------------------------------------

HAN = re.compile(r"[\u4e00-\u9fff]")
#: Words that are names or codes, allowed in zh text (config keys, column names, currency codes).
CODE_WORDS = re.compile(r"cfg\.[a-z_.]+|layering\.[a-z_.]+|industry_growth|RFM|A/B/C|CNY|USD")


def test_stage_notes_render_in_zh_without_english_and_in_en():
    t = tx([("a", "2026-01-01", 10.0), ("b", "2026-05-01", 20.0), ("a", "2026-08-01", 5.0)])
    notes = L.notes(L.layer(t, AS_OF, make_cfg()))  # every gap: most notes at once
    t2, master, ix = world()
    notes += L.notes(L.layer(t2, AS_OF, make_cfg(), master, ix))
    notes += L.value_potential(vp_features().assign(profit_total=np.nan))[1]
    assert len({n.code for n in notes}) >= 12
    for n in notes:
        zh, english = render(n, "zh"), render(n, "en")
        assert HAN.search(zh) and not HAN.search(english), n.code
        assert not re.search(r"[A-Za-z]{3,}", CODE_WORDS.sub("", zh)), (n.code, zh)
        assert zh != english
    dropped = next(n for n in L.value_potential(vp_features())[1] if n.code == "layering.potential_dropped")
    assert "行业增长前景、转介绍" in render(dropped, "zh")  # list parameters joined per language
    assert "industry growth outlook, referrals" in render(dropped, "en")


# --------------------------------------------------------------------------------------
# Report tables and plots (kit.present.layering, kit.present.plots.layering)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def layered():
    t, master, ix = world()
    return L.layer(t, AS_OF, make_cfg(), master, ix)


def test_tables_speak_the_report_language(layered):
    dist = P.distribution(layered, "value_tier", order=L.TIERS)
    assert list(dist.columns) == ["value_tier", "n_customers", "customer_share", "amount_12m", "amount_share"]
    zh = display_values(dist, "zh")
    assert zh["value_tier"].tolist() == ["高价值", "中价值", "低价值"]
    html = table(dist, "zh").html
    assert all(h in html for h in ("价值标签", "客户数", "客户占比", "近12个月合作金额", "金额占比", "高价值"))
    assert dist["customer_share"].sum() == pytest.approx(1.0) and dist["amount_share"].sum() == pytest.approx(1.0)
    assert [registry.kind(c) for c in dist.columns[1:]] == ["int", "pct", "money", "pct"]
    seg = P.segment_table(layered)
    en_seg = display_values(seg, "en", value_labels={"rfm_segment": P.segment_labels(None, "en")})
    assert en_seg["rfm_segment"].iloc[0] == "Champions" and seg["n_customers"].sum() == len(layered)
    t8 = display_values(P.rfm8_table(layered), "zh")
    assert len(t8) == 8 and t8.loc[0, "rfm8_class"] == "重要价值客户" and t8.loc[0, "rfm8_r"] == "高"
    assert t8.loc[7, "rfm8_focus"].startswith("低成本")
    assert "建议重点" in table(P.rfm8_table(layered), "zh").html
    assert P.flags_table(layered)["n_customers"].tolist() == [1, 1, 3]  # gone, sleeper, small
    assert display_values(P.flags_table(layered), "en")["special_flags"].tolist()[0] == "Strategic partner"


def test_migration_matrix(layered):
    m = L.migration_counts(layered)
    assert list(m.index) == ["high", "medium", "low", "new"] and list(m.columns) == ["high", "medium", "low", "lost"]
    assert m.to_numpy().sum() == len(layered)
    assert m.loc["new", "low"] == 1 and m.loc["low", "lost"] == 1
    lost = L.migration_counts(layered, value="amount_12m_prev")
    assert lost.loc["low", "lost"] == 50_000.0
    zh = P.migration_matrix(layered, lang="zh")
    assert zh.index.name == "上期" and "流失" in zh.columns and "新增" in zh.index
    assert (zh.to_numpy() == m.to_numpy()).all()  # the labels change, the counts do not
    amounts = P.migration_amounts(layered, "en")
    assert amounts.loc["Low value", "Lost"] == 50_000.0  # the lost column shows the previous amount
    q = L.migration_counts(layered, by="quadrant")
    assert list(q.columns) == [*L.QUADRANTS, "lost"] and q.to_numpy().sum() == len(layered)


def test_candidate_lists(layered):
    up = P.upgrade_candidates(layered, "zh")
    assert up["customer_id"].tolist() == ["grower"]
    assert display_values(up, "zh")["upgrade_reason"].iloc[0] == "连续季度采购增长达标；新增采购品类"
    assert up["2026-Q3 环比增长"].iloc[0] == pytest.approx(0.2) and up["2026-Q2 环比增长"].iloc[0] == pytest.approx(0.2)
    assert up["2026-Q1 金额"].iloc[0] == 100_000.0
    assert up.attrs["kinds"]["2026-Q1 金额"] == "money" and up.attrs["kinds"]["2026-Q3 环比增长"] == "pct"
    assert P.quarter_label("2026-08-15", 1) == "2026-05-16..2026-08-15"
    down = P.downgrade_list(layered)
    assert down["customer_id"].tolist() == ["sleeper"] and down["last_purchase"].iloc[0] == pd.Timestamp("2026-03-20")
    html = table(down, "en", kinds=down.attrs["kinds"]).html
    assert "2026-03-20" in html and "Last purchase" in html


def test_candidate_names_are_masked(layered):
    c = layered.copy()
    c["name"] = "<img src=x onerror=alert(1)> 深圳市某某科技有限公司"
    for frame in (P.upgrade_candidates(c, "zh"), P.downgrade_list(c)):
        html = table(frame, "zh", mask_pii=True, kinds=frame.attrs["kinds"]).html
        assert "某某科技有限公司" not in html and "<img" not in html
        assert "<img" not in table(frame, "zh", kinds=frame.attrs["kinds"]).html  # escaped, never markup


def test_weights_text():
    assert P.weights_text({"amount_12m": 0.4, "profit": 0.6}, "zh") == "近12个月金额 40 %、历史利润 60 %"
    assert P.weights_text({"amount_12m": 0.4, "profit": 0.6}, "en") == "trailing-12-month amount 40 %, historical profit 60 %"


def test_plots_return_axes(layered):
    from kit.present.plotting import apply_fonts

    apply_fonts()
    ax = PL.plot_rf_heatmap(layered, title="R x F", cbar_label="平均金额")
    assert ax.get_ylabel() == text("layering.rf_ylabel", "zh") and ax.get_title() == "R x F"
    assert PL.plot_rf_heatmap(layered, ylabel="R", lang="en").get_ylabel() == "R"
    plt.close("all")
    fig, ax = plt.subplots()
    assert PL.plot_quadrant(layered, lang="zh", ax=ax) is ax
    assert any(line.get_xdata()[0] == 50 for line in ax.get_lines())  # the threshold lines
    plt.close("all")
    ax = PL.plot_migration(P.migration_matrix(layered, lang="en"), title="Migration")
    assert ax.get_xlabel() == "This period"
    plt.close("all")


def test_quadrant_plot_samples_and_says_so():
    rng = np.random.default_rng(1)
    n = 150
    df = pd.DataFrame({"value_score": rng.uniform(0, 100, n), "potential_score": rng.uniform(0, 100, n)})
    df["quadrant"] = L.quadrants(df["value_score"], df["potential_score"])
    ax = PL.plot_quadrant(df, lang="en", max_points=100)
    texts = [t.get_text() for t in ax.texts]
    assert any("random sample of 100 of 150" in t for t in texts)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 100
    plt.close("all")


def test_stage_has_no_presentation():
    import ast
    from pathlib import Path

    import kit.stages.layering as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mod = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                assert not (mod or "").startswith(("kit.present", "kit.publish", "kit.engines", "matplotlib")), path
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert "lang" not in [a.arg for a in node.args.args + node.args.kwonlyargs], (path, node.name)
                assert node.end_lineno - node.lineno <= 80, (path.name, node.name)
                assert not any(isinstance(x, (ast.Import, ast.ImportFrom)) for x in ast.walk(node)), node.name
