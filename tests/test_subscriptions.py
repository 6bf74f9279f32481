"""Subscription customers (issue 13): health score, renewal pipeline, template demand tags, their
config, display tables and plots. Handmade frames; every expected number is worked by hand."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from kit.core import registry  # noqa: E402
from kit.core.config import ConfigError, Scale, Subscriptions, default, parse_config  # noqa: E402
from kit.core.notes import Note  # noqa: E402
from kit.present import subscriptions as show  # noqa: E402
from kit.present.messages import render  # noqa: E402
from kit.present.plots import subscriptions as plots  # noqa: E402
from kit.present.table import table  # noqa: E402
from kit.stages import subscriptions as subs  # noqa: E402

AS_OF = pd.Timestamp("2025-06-30")  # a month end: the 6-month window is (2024-12-31, 2025-06-30]
D = pd.Timedelta


def spine(ids, **cols):
    return pd.DataFrame(cols, index=pd.Index(ids, name="customer_id", dtype="str"))


def ix(rows):
    """Interactions from (customer, date, type, score, keywords)."""
    return pd.DataFrame(rows, columns=["customer_id", "date", "type", "score", "keywords"]).assign(
        date=lambda d: pd.to_datetime(d["date"]))


def contracts(rows):
    """Subscriptions from (id, customer, plan, start, end, monthly, status, renewed_from)."""
    df = pd.DataFrame(rows, columns=["subscription_id", "customer_id", "plan", "start_date", "end_date",
                                     "monthly_amount", "status", "renewed_from"])
    return df.assign(start_date=pd.to_datetime(df["start_date"]), end_date=pd.to_datetime(df["end_date"]),
                     monthly_amount=df["monthly_amount"].astype(float))


def rule(**health):
    """Health rules for the component tests: every customer scored (``scope: all``), since
    most of these spines hold no contract."""
    return Subscriptions(health={"scope": "all", **health})


# ---- health: renormalisation with exact numbers ---------------------------------------------

THREE = ix([
    ("c1", "2025-03-01", "inquiry", 90, ""), ("c1", "2025-04-01", "inquiry", 90, ""),
    ("c2", "2025-03-01", "complaint", 65, ""),
    ("c3", "2025-05-01", "inquiry", np.nan, ""),
    ("c3", "2024-12-31", "complaint", np.nan, ""),  # on the window's start: outside
])


def test_weights_renormalise_over_the_components_the_data_have():
    r = subs.health_scores(spine(["c1", "c2", "c3"]), interactions=THREE, as_of=AS_OF, rule=rule())
    w = r.weights.set_index("health_component")
    # configured .20 activity, .20 satisfaction, .10 complaints -> .4 / .4 / .2; the rest lack a source
    assert r.used == pytest.approx({"activity": 0.4, "satisfaction": 0.4, "complaints": 0.2})
    assert w.loc[["usage_depth", "response_speed", "payment", "purchase_trend"], "health_drop_reason"].tolist() \
        == ["no_source"] * 4
    assert w["effective_weight"].sum() == pytest.approx(1.0)
    s = r.scores
    # activity 2 / 0 / 1 -> percentiles 83.33 / 16.67 / 50; satisfaction 90 -> 100, 65 -> 50;
    # complaints 0 -> 100, 1 -> 66.67 (3 or more -> 0)
    assert s["health_activity"].tolist() == pytest.approx([250 / 3, 50 / 3, 50])
    assert s["health_satisfaction"].iloc[:2].tolist() == pytest.approx([100, 50]) and np.isnan(s["health_satisfaction"].iloc[2])
    assert s["health_complaints"].tolist() == pytest.approx([100, 200 / 3, 100])
    assert s.loc["c1", "health_score"] == pytest.approx(0.4 * 250 / 3 + 0.4 * 100 + 0.2 * 100)  # 93.33
    assert s.loc["c2", "health_score"] == pytest.approx(0.4 * 50 / 3 + 0.4 * 50 + 0.2 * 200 / 3)  # 40.0
    # c3 has no satisfaction: activity and complaints, renormalised for him (.4 / .6, .2 / .6)
    assert s.loc["c3", "health_coverage"] == pytest.approx(0.6)
    assert s.loc["c3", "health_score"] == pytest.approx((0.4 * 50 + 0.2 * 100) / 0.6)
    assert s["health_band"].tolist() == ["healthy", "watch", "watch"]  # exactly 40 is watch
    codes = [n.code for n in r.notes]
    assert codes.count("subscriptions.health_dropped") == 4 and "subscriptions.health_scope_all" in codes


def test_min_coverage_and_a_component_without_values():
    usage = pd.DataFrame({"customer_id": ["c1"], "date": pd.to_datetime(["2024-06-30"]),  # before the window
                          "feature_coverage": [0.5]})
    r = subs.health_scores(spine(["c1", "c2", "c3"]), interactions=THREE, usage=usage, as_of=AS_OF,
                           rule=rule(min_coverage=0.7))
    w = r.weights.set_index("health_component")
    assert w.loc["usage_depth", "health_drop_reason"] == "no_values"
    assert np.isnan(r.scores.loc["c3", "health_score"]) and r.scores.loc["c3", "health_band"] == "unknown"
    assert r.scores.loc["c1", "health_band"] == "healthy"
    low = [n for n in r.notes if n.code == "subscriptions.health_low_coverage"]
    assert low and low[0].params["n"] == 1


def test_a_zero_weight_is_not_used_and_the_rest_renormalise():
    weights = {"activity": 0.0, "satisfaction": 0.3, "complaints": 0.1}
    r = subs.health_scores(spine(["c1", "c2", "c3"]), interactions=THREE, as_of=AS_OF, rule=rule(weights=weights))
    assert r.used == pytest.approx({"satisfaction": 0.75, "complaints": 0.25})
    assert r.weights.set_index("health_component").loc["activity", "health_drop_reason"] == "zero_weight"
    assert r.scores.loc["c2", "health_score"] == pytest.approx(0.75 * 50 + 0.25 * 200 / 3)


def test_scope_is_the_contract_customers():
    sub = contracts([("s1", "c1", "p", "2024-07-01", "2025-07-01", 10, "active", None),
                     ("s2", "c2", "p", "2024-07-01", "2025-07-01", 10, "cancelled", None),
                     ("s9", "c3", "p", "2025-07-01", "2026-07-01", 10, "active", None)])  # signed after as_of
    r = subs.health_scores(spine(["c1", "c2", "c3"]), interactions=THREE, subscriptions=sub, as_of=AS_OF, rule=rule())
    assert r.scores["health_score"].notna().tolist() == [True, True, False]
    assert pd.isna(r.scores.loc["c3", "health_band"])
    assert r.scores["health_activity"].iloc[:2].tolist() == pytest.approx([75, 25])  # ranked among c1, c2 only
    assert r.notes[0] == Note("subscriptions.health_scope_subscriptions", {"n": 2, "total": 3}, "info", "02_layering")
    master = pd.DataFrame({"customer_id": ["c2"], "contract_end_date": pd.to_datetime(["2026-01-01"])})
    r = subs.health_scores(spine(["c1", "c2", "c3"]), interactions=THREE, master=master, as_of=AS_OF, rule=rule())
    assert r.scores["health_score"].notna().tolist() == [False, True, False]


def test_payment_is_dropped_when_the_spine_had_no_overdue_data():
    c = spine(["c1", "c2"], special_flags=["", "overdue_payment;churn_warning"])
    r = subs.health_scores(c, as_of=AS_OF, rule=rule())
    assert r.used == {"payment": 1.0}
    assert r.scores["health_score"].tolist() == [100.0, 0.0]
    c.attrs["notes"] = [Note("layering.no_overdue_data", {}, "omitted").as_dict()]
    r = subs.health_scores(c, as_of=AS_OF, rule=rule())
    assert r.used == {} and r.scores["health_score"].isna().all()
    assert [n.code for n in r.notes][-1] == "subscriptions.health_omitted"


# ---- health: bands and scaling directions ------------------------------------------------------


def test_health_risk_is_the_complement_of_the_score():
    assert subs.health_risk(pd.Series([100.0, 25.0, 0.0])).tolist() == [0.0, 0.75, 1.0]
    assert np.isnan(subs.health_risk(pd.Series([np.nan])).iloc[0])


def test_bands_at_their_boundaries():
    s = pd.Series([100, 70, 69.99, 40, 39.99, 0, np.nan])
    assert subs.health_bands(s, rule().health).tolist() == [
        "healthy", "healthy", "watch", "watch", "at_risk", "at_risk", "unknown"]
    custom = rule(bands={"healthy": 80, "watch": 50}).health
    assert subs.health_bands(pd.Series([79.9, 80, 49.9]), custom).tolist() == ["watch", "healthy", "at_risk"]


def _one_component(component):
    """Two customers that differ in one component only: good, bad."""
    ids, inter, usage, cols = ["good", "bad"], None, None, {}
    day = "2025-05-15"
    if component == "activity":
        inter = ix([("good", day, "inquiry", np.nan, "")] * 5 + [("bad", day, "inquiry", np.nan, "")])
    elif component in ("usage_depth", "response_speed"):
        col = {"usage_depth": "feature_coverage", "response_speed": "first_response_hours"}[component]
        good, bad = {"usage_depth": (0.7, 0.2), "response_speed": (6.0, 48.0)}[component]
        usage = pd.DataFrame({"customer_id": ids, "date": pd.to_datetime([day, day]), col: [good, bad]})
    elif component == "satisfaction":
        inter = ix([("good", day, "survey", 85, ""), ("bad", day, "survey", 50, "")])
    elif component == "complaints":
        inter = ix([("bad", day, "complaint", np.nan, "")] * 2 + [("good", day, "visit", np.nan, "")])
    elif component == "payment":
        cols["special_flags"] = ["", "overdue_payment"]
    else:
        cols["purchase_growth"] = [0.1, -0.3]
    return spine(ids, **cols), inter, usage


@pytest.mark.parametrize("component,good,bad", [
    ("activity", 75.0, 25.0),                      # percentile: more is better
    ("usage_depth", (0.7 - 0.1) / 0.7 * 100, (0.2 - 0.1) / 0.7 * 100),  # 0.1 -> 0, 0.8 -> 100
    ("response_speed", (72 - 6) / 68 * 100, (72 - 48) / 68 * 100),       # 4 h -> 100, 72 h -> 0: fewer is better
    ("satisfaction", 90.0, 20.0),                  # 40 -> 0, 90 -> 100
    ("complaints", 100.0, 100 / 3),                # 0 -> 100, 3 -> 0: fewer is better
    ("payment", 100.0, 0.0),
    ("purchase_trend", (0.1 + 0.5) / 0.7 * 100, (-0.3 + 0.5) / 0.7 * 100),  # -50 % -> 0, +20 % -> 100
])
def test_each_component_scales_in_its_direction(component, good, bad):
    c, inter, usage = _one_component(component)
    weights = {component: 1.0}
    if component == "complaints":
        weights["activity"] = 0.0
    r = subs.health_scores(c, interactions=inter, usage=usage, as_of=AS_OF, rule=rule(weights=weights))
    assert r.scores[f"health_{component}"].tolist() == pytest.approx([good, bad])
    assert r.scores["health_score"].tolist() == pytest.approx([good, bad])


def test_linear_scale_clips_outside_its_bounds():
    s = Scale(method="linear", good=4, bad=72)
    assert subs.scale(pd.Series([1.0, 4, 38, 72, 200, np.nan]), s).tolist()[:5] == pytest.approx([100, 100, 50, 0, 0])


def test_activity_counts_usage_logins_interactions_and_purchases():
    c = spine(["a", "b"], orders_q1=[1, 0], orders_q2=[2, 0], orders_q3=[9, 9])  # q3 is outside 6 months
    usage = pd.DataFrame({"customer_id": ["a", "a", "b"], "date": pd.to_datetime(["2025-05-31", "2025-06-30", "2024-11-30"]),
                          "logins": [10.0, 5.0, 50.0]})
    inter = ix([("a", "2025-06-01", "inquiry", np.nan, ""), ("a", "2025-06-02", "login", np.nan, ""),
                ("b", "2025-06-01", "login", np.nan, "")])
    values, sources = subs.component_values(c, usage=usage, interactions=inter, as_of=AS_OF, rule=rule().health)
    # usage has logins, so logged logins are not counted twice: a = 15 + 1 inquiry + 3 orders
    assert values["activity"].tolist() == [19.0, 0.0]
    assert sources == ["usage_logins", "interactions", "purchases"]
    values, sources = subs.component_values(c, usage=None, interactions=inter, as_of=AS_OF, rule=rule().health)
    assert values["activity"].tolist() == [5.0, 1.0] and sources == ["interactions", "purchases"]


# ---- renewal pipeline -----------------------------------------------------------------------------


def _ends(days):
    return [(f"s{d}", f"c{d}", "p", "2024-07-01", str((AS_OF + D(days=d)).date()), 100.0, "active", None) for d in days]


def test_pipeline_windows_at_their_boundaries():
    sub = contracts(_ends([0, 1, 30, 31, 60, 61, 90, 91]))
    p, _ = subs.renewal_pipeline(spine([]), subscriptions=sub, as_of=AS_OF)
    assert p["days_to_end"].tolist() == [1, 30, 31, 60, 61, 90]
    assert p["renewal_window"].tolist() == [30, 30, 60, 60, 90, 90]
    assert subs.window_of(np.array([0, 1, 30, 31, 90, 91]), [30, 60, 90]).tolist() == [0, 30, 30, 60, 90, 0]
    assert list(p.columns) == subs.PIPELINE_COLUMNS


def test_cancelled_renewed_and_open_ended_contracts_are_not_up_for_renewal():
    end = str((AS_OF + D(days=20)).date())
    sub = contracts([
        ("a1", "A", "p", "2024-07-01", end, 100, "active", None),
        ("a2", "A", "p", "2025-06-01", "2026-07-20", 100, "active", "a1"),  # renews a1, signed before as_of
        ("b1", "B", "p", "2024-07-01", end, 100, "cancelled", None),
        ("c1", "C", "p", "2024-07-01", end, 100, "active", None),
        ("c2", "C", "p", "2025-07-10", "2026-07-10", 100, "active", "c1"),  # signed after as_of: unknown yet
        ("d1", "D", "p", "2024-07-01", end, 100, "active", None),
        ("d2", "D", "p", "2025-06-15", "2026-07-20", 100, "active", None),  # same plan, later: a renewal
        ("e1", "E", "p", "2024-07-01", end, 100, "active", None),
        ("e2", "E", "q", "2025-06-15", "2026-07-20", 100, "active", None),  # another plan: an add-on
        ("f1", "F", "p", "2024-07-01", None, 100, "active", None),            # open ended
    ])
    p, notes = subs.renewal_pipeline(spine([]), subscriptions=sub, as_of=AS_OF)
    assert sorted(p["renewal_contract"]) == ["c1", "e1"]
    excluded = [n for n in notes if n.code == "subscriptions.contracts_excluded"][0]
    assert excluded.params["n_status"] == 1 and excluded.params["n_renewed"] == 2


def test_pipeline_joins_health_clv_owner_and_the_playbook_action():
    sub = contracts(_ends([10, 45, 80, 85]))
    c = spine(["c10", "c45", "c80"], health_score=[20.0, 55.0, 90.0], health_band=["at_risk", "watch", "healthy"],
              clv=[1000.0, 2000.0, 3000.0], account_manager=["王经理", None, "刘经理"])
    p, notes = subs.renewal_pipeline(c, subscriptions=sub, as_of=AS_OF)
    p = p.set_index("customer_id")
    assert p.loc["c10", "renewal_action"] == "executive_sponsor_call;retention_offer"  # at risk, 30-day window
    assert p.loc["c45", "renewal_action"] == "success_check_in;usage_review"           # watch, 60: the default
    assert p.loc["c80", "renewal_action"] == "renewal_offer;upsell"
    assert p.loc["c85", "health_band"] == "unknown" and p.loc["c85", "renewal_action"] == "renewal_reminder;health_check"
    assert p.loc["c10", "annual_recurring_value"] == 1200.0 and p.loc["c45", "clv"] == 2000.0
    assert pd.isna(p.loc["c45", "owner"]) and p.loc["c80", "owner"] == "刘经理"
    at_risk_90 = subs.renewal_actions("at_risk", 90, Subscriptions().renewal)
    assert at_risk_90 == ["executive_sponsor_call", "value_review"]  # the example


def test_master_only_fallback():
    master = pd.DataFrame({"customer_id": ["m1", "m2", "m3"], "account_manager": ["A", "B", "C"],
                           "contract_end_date": pd.to_datetime(["2025-07-15", "2025-09-28", "2025-10-01"])})
    c = spine(["m1", "m2"], health_band=["at_risk", "healthy"], health_score=[10.0, 80.0])
    p, notes = subs.renewal_pipeline(c, master=master, as_of=AS_OF)
    assert p["customer_id"].tolist() == ["m1", "m2"] and p["days_to_end"].tolist() == [15, 90]
    assert p["renewal_source"].unique().tolist() == ["master"] and p["annual_recurring_value"].isna().all()
    assert p["owner"].tolist() == ["A", "B"]
    assert any(n.code == "subscriptions.renewal_from_master" and n.params == {"n": 2} for n in notes)
    h = subs.renewal_headline(p)
    assert not h.value_known and np.isnan(h.share_at_risk) and h.share_at_risk_contracts == 0.5
    assert "–" in show.renewal_cards(h, "zh")[1]["value"]
    p, notes = subs.renewal_pipeline(c, master=master.drop(columns="contract_end_date"), as_of=AS_OF)
    assert p.empty and notes[0].kind == "omitted"


def test_headline_share_at_risk():
    sub = contracts(_ends([5, 40, 70, 75]))
    sub.loc[3, "monthly_amount"] = np.nan
    c = spine(["c5", "c40", "c70", "c75"], health_band=["at_risk", "healthy", "at_risk", "at_risk"])
    p, notes = subs.renewal_pipeline(c, subscriptions=sub.assign(monthly_amount=[100.0, 300.0, 100.0, np.nan]),
                                     as_of=AS_OF)
    h = subs.renewal_headline(p)
    # known annual value 1200 + 3600 + 1200 = 6000, at risk 2400 -> 40 %; by count 3 of 4
    assert (h.n_contracts, h.annual_value, h.annual_value_at_risk) == (4, 6000.0, 2400.0)
    assert h.share_at_risk == pytest.approx(0.4) and h.share_at_risk_contracts == 0.75 and h.n_value_missing == 1
    assert h.counts.loc[30, "at_risk"] == 1 and h.counts.loc[90, "at_risk"] == 2 and h.counts.values.sum() == 4
    assert h.values.loc[60, "healthy"] == 3600.0 and np.isnan(h.values.loc[60, "at_risk"])
    d = h.as_dict()
    assert d["share_at_risk"] == pytest.approx(0.4) and d["counts"]["90"]["at_risk"] == 2
    assert any(n.code == "subscriptions.renewal_value_missing" and n.params == {"n": 1} for n in notes)
    cols = subs.renewal_columns(p, pd.Index(["c5", "zz"]))
    assert cols.loc["c5", "days_to_end"] == 5 and cols.loc["c5", "annual_recurring_value"] == 1200.0
    assert pd.isna(cols.loc["zz", "renewal_window"])


# ---- demand tags ------------------------------------------------------------------------------------


def test_each_demand_tag_with_its_evidence():
    inter = ix([("A", "2025-05-01", "inquiry", np.nan, "想了解新功能"),
                ("E", "2025-05-01", "inquiry", np.nan, "new feature, trial"),
                ("F", "2025-05-01", "complaint", np.nan, "系统卡顿，建议优化"),
                ("G", "2024-01-01", "inquiry", np.nan, "新功能")])  # outside the 6-month window
    usage = pd.DataFrame({"customer_id": ["B"] * 6, "active_users": [10.0, 10, 10, 5, 5, 5],
                          "date": pd.to_datetime(["2025-01-31", "2025-02-28", "2025-03-31",
                                                  "2025-04-30", "2025-05-31", "2025-06-30"])})
    sub = contracts([("c", "C", "p", "2024-08-15", "2025-08-14", 10, "active", None),
                     ("e", "E", "p", "2024-09-01", "2025-09-28", 10, "active", None)])
    c = spine(["A", "B", "C", "D", "E", "F", "G"])
    t, notes = subs.demand_tags(c, interactions=inter, usage=usage, subscriptions=sub, as_of=AS_OF)
    assert t["demand_tag_template"].tolist()[:3] == ["exploring", "optimisation", "renewal_maintenance"]
    assert pd.isna(t.loc["D", "demand_tag_template"]) and pd.isna(t.loc["G", "demand_tag_template"])
    assert (t.loc["A", "demand_tag_basis"], t.loc["A", "demand_tag_keywords"]) == ("keywords", "新功能;了解")
    assert t["days_to_contract_end"].dtype == "Int64" and pd.isna(t.loc["A", "days_to_contract_end"])
    assert t.loc["B", "demand_tag_basis"] == "usage_trend" and t.loc["B", "usage_trend"] == pytest.approx(-0.5)
    assert t.loc["C", "demand_tag_basis"] == "contract_end" and t.loc["C", "days_to_contract_end"] == 45
    # E: new-need words and a contract ending in 90 days: renewal maintenance comes first
    assert t.loc["E", "demand_tag_template"] == "renewal_maintenance" and t.loc["E", "days_to_contract_end"] == 90
    assert t.loc["E", "demand_tags_matched"] == "renewal_maintenance;exploring"
    assert (t.loc["F", "demand_tag_template"], t.loc["F", "demand_tag_keywords"]) == ("optimisation", "优化;建议;卡顿")
    counts = [n for n in notes if n.code == "subscriptions.demand_counts"][0].params
    assert counts == {"exploring": 1, "optimisation": 2, "renewal_maintenance": 2, "none": 2}
    other = Subscriptions(demand_tags={"precedence": ["exploring", "optimisation", "renewal_maintenance"]})
    t2, _ = subs.demand_tags(c, interactions=inter, usage=usage, subscriptions=sub, as_of=AS_OF, rule=other)
    assert t2.loc["E", "demand_tag_template"] == "exploring" and t2.loc["E", "demand_tag_keywords"] == "new feature;trial"


def test_demand_tags_without_evidence_are_omitted():
    t, notes = subs.demand_tags(spine(["A"]), as_of=AS_OF)
    assert t["demand_tag_template"].isna().all() and notes[0].kind == "omitted"


# ---- config ---------------------------------------------------------------------------------------


def test_defaults_are_the_packaged_yaml():
    s = Subscriptions()
    assert s.model_dump(mode="json") == default("subscriptions")
    assert sum(s.health.weights.values()) == pytest.approx(1.0) and s.health.window_months == 6
    assert (s.health.bands.healthy, s.health.bands.watch) == (70, 40)
    assert (s.health.scaling.response_speed.good, s.health.scaling.response_speed.bad) == (4, 72)
    assert s.renewal.windows_days == [30, 60, 90]
    r = s.retention
    assert (r.cohort_freq, r.period_months, r.holdout_periods, r.min_cohort_size, r.grace_days, r.horizon_periods) \
        == ("year", 12, 1, 20, 31, 10)


@pytest.mark.parametrize("bad,words", [
    ({"health": {"weights": {"activity": -0.1, "payment": 1}}}, ">= 0"),
    ({"health": {"weights": {"activity": 0, "payment": 0}}}, "above 0"),
    ({"health": {"bands": {"healthy": 40, "watch": 70}}}, "out of order"),
    ({"health": {"bands": {"healthy": 50, "watch": 50}}}, "out of order"),
    ({"health": {"window_months": 4}}, "multiple of 3"),
    ({"health": {"scaling": {"complaints": {"method": "linear", "good": 2, "bad": 2}}}}, "differ"),
    ({"health": {"scaling": {"complaints": {"method": "linear", "good": 0}}}}, "good and bad"),
    ({"renewal": {"windows_days": [60, 30]}}, "ascending"),
    ({"renewal": {"playbook": {"watch": {"actions": ["call_the_ceo"]}}}}, "unknown action"),
    ({"renewal": {"playbook": {"watch": {"actions": [], "by_window": [{"window": 45, "actions": []}]}}}}, "windows_days"),
    ({"demand_tags": {"precedence": ["exploring"]}}, "precedence"),
    ({"retention": {"period_months": 0}}, "greater than or equal to 1"),
    ({"retention": {"cohort_freq": "week"}}, "'year', 'quarter' or 'month'"),
])
def test_config_validation_errors(bad, words):
    with pytest.raises(ValidationError) as e:
        Subscriptions.model_validate(bad)
    assert words in str(e.value)


def test_partial_override_keeps_the_other_defaults_and_errors_name_the_key():
    s = Subscriptions(health={"scaling": {"complaints": {"method": "linear", "good": 0, "bad": 5}}})
    assert s.health.scaling.complaints.bad == 5 and s.health.scaling.response_speed.bad == 72
    assert s.health.weights == default("subscriptions.health.weights")
    base = {"client": "t", "inputs": {"transactions": {"path": "x.csv"}}}
    with pytest.raises(ConfigError) as e:
        parse_config(base | {"subscriptions": {"health": {"bands": {"healthy": 30}}}})
    assert "subscriptions.health.bands" in str(e.value)


# ---- display: registry, catalogue, table(), plots --------------------------------------------------


def _all_results():
    sub = contracts(_ends([5, 40, 70]))
    inter = THREE.assign(customer_id=THREE["customer_id"].str.replace("c1", "c5").str.replace("c2", "c40")
                         .str.replace("c3", "c70"))
    c = spine(["c5", "c40", "c70"], name=["甲公司", "乙公司", "丙公司"], churn_risk=["low", "high", "medium"],
              amount_12m=[10.0, 20.0, 30.0], account_manager=["王经理", None, "刘经理"], p_alive=[0.9, 0.2, 0.5])
    h = subs.health_scores(c, interactions=inter, subscriptions=sub, as_of=AS_OF, rule=rule())
    c = c.join(h.scores)
    p, pn = subs.renewal_pipeline(c, subscriptions=sub, as_of=AS_OF)
    t, tn = subs.demand_tags(c, interactions=inter, subscriptions=sub, as_of=AS_OF)
    return c.join(t), h, p, subs.renewal_headline(p), h.notes + pn + tn


class _Cfg:
    """The two config sections the display functions read."""

    def __init__(self):
        full = parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv"}}})
        self.subscriptions, self.strategy = full.subscriptions, full.strategy


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_display_tables_use_registered_columns_and_render(lang):
    c, h, p, head, notes = _all_results()
    cfg = _Cfg()
    frames = [show.health_weights_table(h), show.health_distribution(c), show.health_list(c, result=h),
              show.renewal_table(p, cfg, lang), show.renewal_sheet(p, cfg, lang), show.demand_counts(c),
              show.demand_list(c)]
    for f in frames:
        assert len(f) and all(registry.column(col) is not None for col in f.columns), list(f.columns)
        assert "<table" in table(f, lang).html
    sheet = show.renewal_sheet(p, cfg, lang)
    words = cfg.subscriptions.renewal.actions["renewal_offer"](lang)
    assert sheet.loc[sheet["customer_id"] == "c5", "renewal_action"].iloc[0].startswith(words)  # healthy c5
    assert sheet["owner"].iloc[1] == cfg.strategy.unassigned_owner(lang)
    for crosstab in (show.health_vs_churn(c, lang), show.renewal_summary(head, lang),
                     show.renewal_summary(head, lang, value=True)):
        assert "<table" in table(crosstab, lang, index=True).html
    assert show.renewal_summary(head, lang).iloc[-1, -1] == 3
    for n in notes:  # every note the stage left exists in both languages
        assert render(n, lang)
    sentence = show.renewal_headline_text(head, lang, "¥")
    assert str(head.n_contracts) in sentence and sentence == show.renewal_headline_text(head.as_dict(), lang, "¥")


def test_plots_draw_in_the_report_language():
    c, h, p, head, _ = _all_results()
    for lang, word in (("zh", "健康度"), ("en", "Health")):
        ax = plots.plot_health_bands(c, lang=lang)
        assert word in ax.get_title() and sum(b.get_height() for b in ax.patches if np.isfinite(b.get_height())) == 3
        ax2 = plots.plot_health_vs_churn(c, lang=lang)
        assert word in ax2.get_title() and len(ax2.get_xticklabels()) == 3
        ax3 = plots.plot_renewal_pipeline(head, lang=lang)
        assert len([t for t in ax3.get_xticklabels()]) == 3
        plt.close("all")


def test_without_contracts_the_health_section_is_left_out():
    """The default scope (contracts): data without a subscriptions table or contract end dates
    (CDNOW) score nobody, and one note of kind omitted says why and which key scores all."""
    r = subs.health_scores(spine(["c1", "c2", "c3"]), interactions=THREE, as_of=AS_OF)
    assert r.scores["health_score"].isna().all() and r.scores["health_band"].isna().all()
    assert r.notes == [Note("subscriptions.health_no_contracts", {"total": 3}, "omitted", "02_layering")]


def test_with_columns_keeps_the_spines_notes():
    """A plain join drops DataFrame.attrs, where the layering notes travel (02 lost them)."""
    s = spine(["c1", "c2"])
    s.attrs = {"notes": [{"code": "layering.x"}]}
    extra = pd.DataFrame({"health_score": [1.0, 2.0]}, index=s.index)
    out = subs.with_columns(s, extra)
    assert out.attrs == s.attrs and out["health_score"].tolist() == [1.0, 2.0]
    assert subs.with_columns(out, extra * 2)["health_score"].tolist() == [2.0, 4.0]  # replaced, not doubled
