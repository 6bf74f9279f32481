"""Playbook mapping, cadence and due-date arithmetic, priority, activation status, workload."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from kit.core.config import parse_config  # noqa: E402
from kit.core.notes import Note  # noqa: E402
from kit.present import strategy as show  # noqa: E402
from kit.present.messages import render, text  # noqa: E402
from kit.present.plots.strategy import plot_workload  # noqa: E402
from kit.present.table import display_values, header  # noqa: E402
from kit.stages import strategy  # noqa: E402

AS_OF = pd.Timestamp("2024-03-31")  # a leap year: February has 29 days
START = pd.Timestamp("2024-01-01")


def make_cfg(**strategy_cfg):
    data = {"client": "t", "inputs": {"transactions": {"path": "x.csv"}}}
    if strategy_cfg:
        data["strategy"] = strategy_cfg
    return parse_config(data)


def customers():
    idx = pd.Index(["A", "B", "C", "D", "E"], name="customer_id", dtype="str")
    return pd.DataFrame({
        "name": ["张三科技", "李四制造", "王五贸易", "赵六物流", "钱七"],
        "quadrant": ["star", "cash_cow", "potential", "eliminate", None],
        "account_manager": ["王经理", None, "  ", "刘经理", "刘经理"],
        "churn_risk": ["low", "high", "medium", "low", None],
        "clv": [100_000.0, 50_000.0, np.nan, 10.0, np.nan],
        "amount_12m": [600_000.0, 300_000.0, 80_000.0, 5_000.0, 0.0],
        "first_purchase": pd.to_datetime(["2020-01-01", "2021-05-05", "2023-06-01", "2024-02-10", "2019-01-01"]),
        "last_purchase": pd.to_datetime(["2024-03-01", "2024-01-10", "2024-03-25", "2024-02-10", "2022-01-01"]),
        "downgrade_warning": [False, True, False, False, False],
        "upgrade_trigger": [False, False, True, None, False],
        "special_flags": ["strategic_partner", "", None, "churn_warning;overdue_payment", ""],
    }, index=idx)


def interactions():
    return pd.DataFrame({
        "customer_id": ["A", "A", "B", "D", "D", "D", "D"],
        "date": pd.to_datetime(["2023-12-01", "2024-01-31", "2024-03-20", "2024-02-10",
                                "2024-02-12", "2024-03-30", "2024-04-05"]),
        "type": ["visit", "visit", "call", "call", "login", "login", "call"],
    })


def shown(df, lang, mask_pii=False):
    """A canonical frame as a reader sees it: labelled values and headers."""
    out = display_values(df, lang, mask_pii=mask_pii)
    out.columns = [header(c, lang) for c in out.columns]
    return out


def assigned_spine(cfg=None, **kw):
    cust = customers()
    return cust.assign(**strategy.assign(cust, interactions(), AS_OF, cfg or make_cfg(), **kw))


# --------------------------------------------------------------------------------------
# Playbook mapping
# --------------------------------------------------------------------------------------


def test_playbook_defaults_follow_the_brief_and_config_overrides_one_cell():
    cfg = make_cfg(playbook={"star": {"cadence_days": 14}})
    play = cfg.strategy.playbook
    assert play["star"].cadence_days == 14
    assert play["star"].yearly_cost == 50_000  # untouched cell keeps the default
    assert play["eliminate"].cadence_days == 90
    table = shown(show.playbook_table(cfg, "zh"), "zh")
    assert list(table["客户类型"]) == ["明星客户", "现金牛客户", "潜力客户", "淘汰客户"]
    assert table.loc[0, "跟进周期(天)"] == 14
    assert pd.isna(table.loc[3, "响应时效(小时)"])


def test_assign_maps_quadrant_to_play_owner_and_cadence():
    cfg = make_cfg()
    out = strategy.assign(customers(), interactions(), AS_OF, cfg)
    assert list(out.columns) == strategy.ASSIGN_COLUMNS
    assert out.index.equals(customers().index)
    assert out["strategy"].tolist()[:4] == ["star", "cash_cow", "potential", "eliminate"]
    assert pd.isna(out.loc["E", "strategy"]) and pd.isna(out.loc["E", "next_follow_up"])
    assert out["cadence_days"].tolist()[:4] == [30, 45, 15, 90]
    assert out.loc["A", "owner"] == "王经理"
    assert pd.isna(out.loc["B", "owner"]) and pd.isna(out.loc["C", "owner"])  # the stage has no words
    zh = show.owner_text(out["owner"], cfg, "zh")
    assert zh["A"] == "王经理"
    assert zh["B"] == "未分配"  # missing account manager
    assert zh["C"] == "未分配"  # blank account manager
    en = show.owner_text(out["owner"], cfg, "en")
    assert en["B"] == "unassigned"


def test_strategy_label_in_both_languages():
    cfg = make_cfg()
    assert show.strategy_label("star", cfg, "zh") == "明星客户：深化战略合作，提升LTV"
    assert show.strategy_label("cash_cow", cfg, "en").startswith("Cash cow: keep stable")
    assert show.strategy_label(None, cfg, "en") == "–"


def test_missing_quadrant_column_is_a_clear_error():
    with pytest.raises(ValueError, match="'quadrant' missing from customers"):
        strategy.assign(customers().drop(columns="quadrant"), None, AS_OF, make_cfg())


# --------------------------------------------------------------------------------------
# Cadence and due dates
# --------------------------------------------------------------------------------------


def test_next_follow_up_from_last_contact_across_a_leap_february():
    out = strategy.assign(customers(), interactions(), AS_OF, make_cfg())
    # A: last visit 2024-01-31 + 30 days = 2024-03-01 (Feb 29 exists), before as_of: overdue
    assert out.loc["A", "last_contact"] == pd.Timestamp("2024-01-31")
    assert out.loc["A", "next_follow_up"] == pd.Timestamp("2024-03-01")
    assert out.loc["A", "follow_up_overdue"]
    # B: call 2024-03-20 + 45 days = 2024-05-04, not overdue
    assert out.loc["B", "next_follow_up"] == pd.Timestamp("2024-05-04")
    assert not out.loc["B", "follow_up_overdue"]
    # C: never contacted: counted from the last purchase 2024-03-25 + 15
    assert pd.isna(out.loc["C", "last_contact"])
    assert out.loc["C", "next_follow_up"] == pd.Timestamp("2024-04-09")
    # D: logins are not contacts and the call after as_of is ignored: last call 2024-02-10
    assert out.loc["D", "last_contact"] == pd.Timestamp("2024-02-10")
    assert out.loc["D", "next_follow_up"] == pd.Timestamp("2024-05-10")


def test_cadence_in_a_common_year_and_on_the_due_day():
    cust = customers().iloc[:1]
    ix = pd.DataFrame({"customer_id": ["A"], "date": pd.to_datetime(["2023-01-31"]), "type": ["visit"]})
    out = strategy.assign(cust, ix, "2023-03-02", make_cfg())
    assert out.loc["A", "next_follow_up"] == pd.Timestamp("2023-03-02")  # Jan 31 + 30 days, no Feb 29
    assert out.loc["A", "follow_up_overdue"]  # due on as_of and not done by its end
    out = strategy.assign(cust, ix, "2023-03-01", make_cfg())
    assert not out.loc["A", "follow_up_overdue"]
    # leap day + 90 days
    ix = ix.assign(date=pd.to_datetime(["2024-02-29"]))
    out = strategy.assign(cust.assign(quadrant="eliminate"), ix, AS_OF, make_cfg())
    assert out.loc["A", "next_follow_up"] == pd.Timestamp("2024-05-29")


def test_without_interactions_or_orders():
    cust = customers()
    out = strategy.assign(cust, None, AS_OF, make_cfg())
    assert out["last_contact"].isna().all()
    assert out.loc["A", "next_follow_up"] == pd.Timestamp("2024-03-31")  # last purchase + 30
    nothing = cust.drop(columns=["first_purchase", "last_purchase"])
    out = strategy.assign(nothing, None, AS_OF, make_cfg())
    assert (out["next_follow_up"].iloc[:4] == AS_OF + pd.Timedelta(days=1)).all()
    assert not out["follow_up_overdue"].any()


# --------------------------------------------------------------------------------------
# Priority and actions
# --------------------------------------------------------------------------------------


def test_priority_mixes_clv_rank_and_churn_risk():
    out = strategy.assign(customers(), interactions(), AS_OF, make_cfg())
    # scores (w = 0.5): A .5, B .5*2/3 + .5, C .5*.5, D .5*1/3, E 0
    assert out["priority"].to_dict() == {"B": 1, "A": 2, "C": 3, "D": 4, "E": 5}
    assert out.attrs["priority_basis"] == "clv"
    only_value = strategy.priority(customers(), 0.0)
    assert only_value.to_dict() == {"A": 1, "B": 2, "D": 3, "C": 4, "E": 5}  # NaN CLV last, then id
    only_churn = strategy.priority(customers(), 1.0)
    assert only_churn.to_dict() == {"B": 1, "C": 2, "A": 3, "D": 4, "E": 5}  # ties: higher CLV first


def test_priority_falls_back_to_amount_when_clv_missing():
    cust = customers().drop(columns="clv")
    assert strategy.priority_basis(cust) == "amount_12m"
    p = strategy.priority(cust, 0.0)
    assert p.to_dict() == {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5}
    assert strategy.priority_basis(cust.drop(columns="amount_12m")) is None
    with pytest.raises(ValueError):
        strategy.priority(cust, 1.5)


def test_actions_now_puts_situational_actions_before_the_play():
    cfg = make_cfg()
    out = strategy.assign(customers(), interactions(), AS_OF, cfg, period_start=START)
    keys = out["actions_now"]
    assert keys["A"].split(";")[0] == "overdue_follow_up" and "play.star.1" in keys["A"]  # keys, no words
    a = keys.map(lambda v: show.actions_text(v, cfg, "en"))
    assert a["A"].startswith("follow-up overdue") and "quarterly business review" in a["A"]
    assert a["B"].startswith("downgrade warning: start the retention programme")
    assert "high churn risk" in a["B"]
    assert a["C"].startswith("upgrade trigger: review the upgrade")
    assert a["D"].startswith("risk customer") and "new customer" in a["D"]
    assert a["E"] == ""
    assert not a.str.endswith("; ").any() and not keys.str.endswith(";").any()
    zh = show.actions_series(strategy.assign(customers(), interactions(), AS_OF, cfg)["actions_now"], cfg, "zh")
    assert zh["B"].startswith("降级预警：启动挽留计划")


# --------------------------------------------------------------------------------------
# Activation
# --------------------------------------------------------------------------------------


def activation_fixture():
    idx = pd.Index(["N1", "N2", "N3", "OLD"], name="customer_id", dtype="str")
    cust = pd.DataFrame({
        "first_purchase": pd.to_datetime(["2024-02-28", "2024-03-25", "2024-03-31", "2023-12-31"]),
        "owner": ["王经理", "未分配", "刘经理", "王经理"],
    }, index=idx)
    ix = pd.DataFrame({
        "customer_id": ["N1", "N1", "N1", "N2", "N2", "OLD"],
        "date": pd.to_datetime(["2024-02-29", "2024-03-06", "2024-03-20", "2024-03-25", "2024-03-26", "2024-01-01"]),
        "type": ["visit", "call", "visit", "login", "call", "visit"],
    })
    return cust, ix


def test_activation_due_dates_and_status():
    cust, ix = activation_fixture()
    s = strategy.activation_schedule(cust, ix, START, AS_OF, make_cfg())
    assert list(s.columns) == strategy.SCHEDULE_COLUMNS
    assert set(s["customer_id"]) == {"N1", "N2", "N3"}  # OLD's first order is before the period
    assert len(s) == 3 * 4
    n1 = s[s["customer_id"] == "N1"].set_index("touchpoint")
    # first order 2024-02-28 (leap year): +1 = Feb 29, +3 = Mar 2, +7 = Mar 6, +30 = Mar 29
    assert n1["due_date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-29", "2024-03-02", "2024-03-06", "2024-03-29"]
    assert n1.loc["first_contact", "status"] == "done"  # visit on day 1
    assert n1.loc["self_check", "status"] == "overdue"  # nothing in (day 1, day 3]
    assert n1.loc["phone_review", "status"] == "done"  # call on day 7
    assert n1.loc["phone_review", "done_date"] == pd.Timestamp("2024-03-06")
    assert n1.loc["value_report", "status"] == "done"  # visit on day 21, in (day 7, day 30]
    n2 = s[s["customer_id"] == "N2"].set_index("touchpoint")
    # login on day 0 matches no first_contact type; call on day 1 does
    assert n2.loc["first_contact", "status"] == "done"
    assert n2.loc["first_contact", "done_date"] == pd.Timestamp("2024-03-26")
    assert n2.loc["self_check", "status"] == "overdue"  # due Mar 28, window over by as_of
    assert n2.loc["phone_review", "status"] == "upcoming"  # due Apr 1
    n3 = s[s["customer_id"] == "N3"]
    assert (n3["status"] == "upcoming").all()
    assert s.loc[s["customer_id"] == "N1", "owner"].iloc[0] == "王经理"
    assert show.touchpoint_label(s["touchpoint"].iloc[0], make_cfg(), "en") == "first contact within 24 h"
    assert "first contact within 24 h" in set(show.activation_table(s, make_cfg(), "en")["touchpoint"])


def test_one_visit_never_ticks_off_two_touchpoints():
    cust, _ = activation_fixture()
    ix = pd.DataFrame({"customer_id": ["N1"], "date": pd.to_datetime(["2024-02-28"]), "type": ["visit"]})
    s = strategy.activation_schedule(cust, ix, START, AS_OF, make_cfg())
    n1 = s[s["customer_id"] == "N1"].set_index("touchpoint")["status"]
    assert n1.to_dict() == {"first_contact": "done", "self_check": "overdue",
                            "phone_review": "overdue", "value_report": "overdue"}


def test_grace_days_and_untyped_interactions():
    cust, _ = activation_fixture()
    ix = pd.DataFrame({"customer_id": ["N1"], "date": pd.to_datetime(["2024-03-01"])})  # no type column
    s = strategy.activation_schedule(cust, ix, START, AS_OF, make_cfg())
    n1 = s[s["customer_id"] == "N1"].set_index("touchpoint")["status"]
    assert n1["first_contact"] == "overdue" and n1["self_check"] == "done"  # day 2 is in (1, 3]
    s = strategy.activation_schedule(cust, ix, START, AS_OF, make_cfg(), grace_days=1)
    n1 = s[s["customer_id"] == "N1"].set_index("touchpoint")["status"]
    assert n1["first_contact"] == "done"  # day 2 is within day 1 + 1 grace day


def test_activation_without_interactions_or_new_customers():
    cust, _ = activation_fixture()
    s = strategy.activation_schedule(cust, None, START, AS_OF, make_cfg())
    assert set(s["status"]) == {"overdue", "upcoming"}
    none = strategy.activation_schedule(cust, None, "2024-04-01", "2024-06-30", make_cfg())
    assert none.empty and list(none.columns) == strategy.SCHEDULE_COLUMNS
    summary = show.activation_summary(s, make_cfg(), "zh")
    assert list(summary.columns) == ["已完成", "已逾期", "待进行"]
    assert summary.to_numpy().sum() == len(s)
    assert strategy.activation_counts(s, make_cfg()).to_numpy().sum() == len(s)
    table = shown(show.activation_table(s, make_cfg(), "zh"), "zh")
    assert table.iloc[0]["状态"] == "已逾期"


# --------------------------------------------------------------------------------------
# Coming period: plan and workload
# --------------------------------------------------------------------------------------


def test_follow_up_plan_and_workload_per_owner_and_month():
    cust = customers()
    assigned = cust.assign(**strategy.assign(cust, interactions(), AS_OF, make_cfg()))
    plan = strategy.follow_up_plan(assigned, AS_OF, "quarter")
    a = plan[plan["customer_id"] == "A"]
    # overdue: moved to Apr 1, then every 30 days: May 1, May 31, Jun 30
    assert a["date"].dt.strftime("%m-%d").tolist() == ["04-01", "05-01", "05-31", "06-30"]
    assert a["kind"].tolist() == ["overdue", "follow_up", "follow_up", "follow_up"]
    b = plan[plan["customer_id"] == "B"]
    assert b["date"].dt.strftime("%m-%d").tolist() == ["05-04", "06-18"]
    assert plan["date"].between("2024-04-01", "2024-06-30").all()
    assert "E" not in set(plan["customer_id"])
    counts = strategy.workload(plan, as_of=AS_OF, period="quarter")
    assert list(counts.columns) == ["2024-04", "2024-05", "2024-06", "total", "overdue"]
    assert pd.isna(counts.index[0])  # B and C have no owner: the stage keeps it missing
    table = show.workload_table(counts, make_cfg(), "zh")
    assert list(table.columns) == ["2024-04", "2024-05", "2024-06", "合计", "其中逾期"]
    assert table.loc["王经理", "合计"] == 4 and table.loc["王经理", "其中逾期"] == 1
    assert table.loc["合计", "合计"] == len(plan)
    assert table.index[0] == "未分配"  # B and C (every 15 days): the most work first


def test_follow_up_plan_adds_activation_touchpoints_due_next_period():
    cust, ix = activation_fixture()
    cust = cust.assign(quadrant="potential", churn_risk="low", last_purchase=cust["first_purchase"])
    assigned = cust.assign(**strategy.assign(cust.drop(columns="owner"), ix, AS_OF, make_cfg()))
    sched = strategy.activation_schedule(assigned, ix, START, AS_OF, make_cfg())
    plan = strategy.follow_up_plan(assigned, AS_OF, "month", activation=sched)
    act = plan[plan["kind"] == "activation"]
    assert set(act["customer_id"]) == {"N2", "N3"}
    assert act["date"].max() <= pd.Timestamp("2024-04-30")
    # N3 first order Mar 31: day 1, 3, 7 and 30 (Apr 30) are all in April
    assert (act["customer_id"] == "N3").sum() == 4


def test_follow_up_list_puts_overdue_first_and_masks():
    cust = customers()
    assigned = cust.assign(**strategy.assign(cust, interactions(), AS_OF, make_cfg()))
    table = shown(show.follow_up_list(assigned, make_cfg(), "zh"), "zh", mask_pii=True)
    assert table.columns[:3].tolist() == ["优先级", "客户编号", "客户名称"]
    assert table.iloc[0]["客户编号"] == "A"  # the only overdue one
    assert table.iloc[0]["跟进逾期"] == "是"
    assert table.iloc[0]["客户名称"] == "张**"
    assert "张三科技" not in table.to_string()


def test_plot_workload_returns_axes():
    cust = customers()
    assigned = cust.assign(**strategy.assign(cust, interactions(), AS_OF, make_cfg()))
    table = strategy.workload(strategy.follow_up_plan(assigned, AS_OF, "quarter"))
    ax = plot_workload(table, lang="en", cfg=make_cfg(), max_owners=2)
    assert ax.get_title() == "Follow-ups per owner, by month" == text("strategy.workload_plot_title", "en")
    assert len(ax.get_yticklabels()) == 2
    assert "unassigned" in [t.get_text() for t in ax.get_yticklabels()]
    plt.close(ax.figure)
    ax = plot_workload(table, lang="zh", cfg=make_cfg())
    assert ax.get_title() == "下期各负责人跟进次数（按月）"
    plt.close(ax.figure)


# --------------------------------------------------------------------------------------
# One call for notebook 05
# --------------------------------------------------------------------------------------


def test_run_strategy_adds_the_contract_columns_and_keeps_the_rest():
    cust = customers()
    run = strategy.run_strategy(cust, interactions(), AS_OF, make_cfg())
    assert run.spine.index.equals(cust.index)
    assert set(strategy.ASSIGN_COLUMNS) <= set(run.spine.columns)
    assert set(cust.columns) <= set(run.spine.columns)
    assert run.period_start == START and run.next_start == pd.Timestamp("2024-04-01")
    assert run.next_end == pd.Timestamp("2024-06-30")
    assert run.priority_basis == "clv"
    assert set(run.schedule["customer_id"]) == {"D"}  # first order 2024-02-10
    assert show.workload_table(run.workload, make_cfg(), "zh").loc["合计", "合计"] == len(run.plan)
    assert run.workload["total"].sum() == len(run.plan)
    assert [n.kind for n in run.notes] == ["omitted", "warning"]  # no personas; E has no quadrant
    assert [n.code for n in run.notes] == ["strategy.note_no_personas", "strategy.note_no_quadrant"]
    assert run.notes[1].params == {"n": 1} and run.notes[1].section == "05_strategy"
    assert run.activation_notes == []
    assert run.coming == {"start": "2024-04-01", "end": "2024-06-30", "follow_ups": len(run.plan),
                          "overdue": int(run.spine["follow_up_overdue"].sum()),
                          "owners": int(run.plan["owner"].nunique(dropna=False))}
    again = strategy.run_strategy(run.spine, interactions(), AS_OF, make_cfg())  # re-run replaces
    assert again.spine.columns.tolist() == run.spine.columns.tolist()
    assert again.spine["priority"].equals(run.spine["priority"])


def test_input_notes_name_what_is_missing():
    cust = customers().drop(columns=["clv", "account_manager"])
    notes = strategy.input_notes(cust, None)
    assert all(isinstance(n, Note) for n in notes)
    assert [n.code for n in notes] == ["strategy.note_no_clv_amount", "strategy.note_no_personas",
                                       "strategy.note_no_interactions", "strategy.note_no_account_manager",
                                       "strategy.note_no_quadrant"]
    en = " ".join(render(n, "en") for n in notes)
    assert "CLV was not computed: priority ranks on the trailing-12-month amount" in en
    assert "No interaction records" in en and "unassigned" in en
    zh = " ".join(render(n, "zh") for n in notes)
    assert "近12个月合作金额" in zh


def test_no_new_customers_is_a_note():
    cust = customers().assign(first_purchase=pd.Timestamp("2020-01-01"))
    run = strategy.run_strategy(cust, interactions(), AS_OF, make_cfg())
    assert run.schedule.empty
    assert [(n.code, n.kind) for n in run.activation_notes] == [("strategy.note_no_new_customers", "omitted")]


def test_follow_up_plan_text_in_both_languages():
    spine = assigned_spine()
    zh = show.follow_up_plan_text(spine, "zh")
    assert zh["B"] == "每45天跟进一次，下次 2024-05-04"
    assert zh["A"] == "每30天跟进一次，下次 2024-03-01（已逾期）"
    assert pd.isna(zh["E"])
    assert show.follow_up_plan_text(spine, "en")["A"] == "every 30 days, next 2024-03-01 (overdue)"


def test_priority_takes_a_failing_subscription_as_urgent():
    """With use_health, a customer of low churn risk whose health score is 10 (health risk 0.9)
    comes before one of medium churn risk (0.5); without it, after."""
    cust = pd.DataFrame({"churn_risk": ["low", "medium"], "clv": [100.0, 100.0],
                         "health_score": [10.0, np.nan]}, index=pd.Index(["a", "b"], name="customer_id"))
    assert strategy.priority(cust, 1.0).tolist() == [2, 1]
    assert strategy.priority(cust, 1.0, use_health=True).tolist() == [1, 2]
    cust["health_score"] = [90.0, np.nan]  # a healthy subscription does not lower a churn label
    assert strategy.priority(cust, 1.0, use_health=True).tolist() == [2, 1]


@pytest.mark.parametrize("seed", range(4))
def test_follow_up_list_first_n_is_the_head_of_the_whole_list(seed):
    """follow_up_list(n=k) finds the order on the sort columns and builds k rows only: the
    same rows as the whole list's head, ties and missing dates included."""
    rng = np.random.default_rng(seed)
    n = 300
    cust = pd.DataFrame({
        "priority": rng.integers(1, 40, n),  # many ties
        "next_follow_up": pd.to_datetime("2024-04-01") + pd.to_timedelta(rng.integers(0, 20, n), unit="D"),
        "follow_up_overdue": rng.random(n) < 0.3,
        "owner": pd.Series(np.where(rng.random(n) < 0.3, None, "王五"), dtype=object),
        "strategy": rng.choice(["star", "potential"], n),
    }, index=pd.Index([f"C{i:03d}" for i in rng.permutation(n)], name="customer_id"))
    cust.loc[rng.random(n) < 0.15, "next_follow_up"] = pd.NaT
    whole = show.follow_up_list(cust, make_cfg(), "en")
    assert len(whole) == n
    for k in (1, 7, 90, n, n + 5):
        pd.testing.assert_frame_equal(show.follow_up_list(cust, make_cfg(), "en", n=k), whole.head(k))
