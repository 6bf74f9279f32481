"""kit.stages.clv: BG/NBD + Gamma-Gamma fits, validation, scoring, ROI; its tables and plots.

The CDNOW reference numbers (Fader, Hardie & Lee 2005; Fader & Hardie 2013) are asserted
from the raw transactions through the kit's own preparation, to the published precision.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from kit.core import registry  # noqa: E402
from kit.core.notes import Msg, Note  # noqa: E402
from kit.present import clv as clv_tables  # noqa: E402
from kit.present.messages import placeholders, render, text  # noqa: E402
from kit.present.plots import clv as clv_plots  # noqa: E402
from kit.present.table import header, table  # noqa: E402
from kit.stages import clv  # noqa: E402
from kit.stages.clv import (  # noqa: E402
    bgnbd_log_likelihood,
    churn_value_concentration,
    conditional_expectation_table,
    expected_purchases_matrix,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout_validation,
    model_params_json,
    naive_holdout_purchases,
    p_alive_matrix,
    roi_table,
    score,
)
from kit.stages.summary import customer_summary, load_cdnow  # noqa: E402

CAL_END, OBS_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow("sample")


@pytest.fixture(scope="module")
def cal_summary(cdnow):
    return customer_summary(cdnow, CAL_END, time_unit="week")


@pytest.fixture(scope="module")
def full_summary(cdnow):
    return customer_summary(cdnow, OBS_END, time_unit="week")


@pytest.fixture(scope="module")
def cal_bg(cal_summary):
    return fit_bgnbd(cal_summary)


@pytest.fixture(scope="module")
def full_fits(full_summary):
    return fit_bgnbd(full_summary), fit_gamma_gamma(full_summary)


@pytest.fixture(scope="module")
def validation(cdnow):
    return holdout_validation(cdnow, CAL_END, OBS_END, time_unit="week")


def small_summary(n_repeat=30, seed=1):
    """A plausible little customer base: mixture of repeaters and one-timers."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(20, 40, n_repeat + 20).round(2)
    f = np.r_[rng.integers(1, 8, n_repeat), np.zeros(20)].astype(float)
    r = np.where(f > 0, (T * rng.uniform(0.2, 1, len(T))).round(2), 0.0)
    m = np.where(f > 0, rng.gamma(4, 10, len(T)).round(2), 0.0)
    return pd.DataFrame({"frequency": f, "recency": r, "T": T, "monetary_value": m},
                        index=pd.Index([f"c{i:03d}" for i in range(len(T))], name="customer_id"))


# --------------------------------------------------------------------------------------
# Published CDNOW reference numbers
# --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_bgnbd_reproduces_fhl2005_on_cdnow(cal_bg):
    p = cal_bg.params_
    assert (round(p["r"], 4), round(p["alpha"], 3), round(p["a"], 4), round(p["b"], 3)) == (
        0.2426, 4.414, 0.7929, 2.426)
    assert round(cal_bg.log_likelihood_, 1) == -9582.4
    assert cal_bg.n_customers_ == 2357 and cal_bg.status_ == "ok" and cal_bg.converged_
    assert all(0 < v < 1 for v in cal_bg.standard_errors_.values())


@pytest.mark.slow
def test_gamma_gamma_reproduces_fh2013_on_cdnow_calibration(cal_summary):
    """Fader & Hardie fit the 946 customers with repeat purchases in the 39-week calibration."""
    gg = fit_gamma_gamma(cal_summary)
    p = gg.params_
    assert gg.n_customers_ == 946 and gg.computed_
    assert (round(p["p"], 2), round(p["q"], 2), round(p["gamma"], 2)) == (6.25, 3.74, 15.44)
    assert gg.population_mean_ == pytest.approx(p["p"] * p["gamma"] / (p["q"] - 1))
    assert not gg.corr_warning_ and abs(gg.corr_) < 0.3


@pytest.mark.slow
def test_holdout_validation_on_cdnow(validation, cal_bg):
    v = validation
    assert v.totals["actual"] == 1882
    assert v.bgnbd.params_ == pytest.approx(cal_bg.params_)
    assert v.customers["duration_holdout"].eq(39).all()
    assert v.conditional["n"].sum() == 2357 and list(v.conditional.index)[-1] == "7+"
    assert (v.conditional.loc["0", "n"], v.conditional.loc["7+", "n"]) == (1411, 64)
    # the model beats the naive "same rate as before" forecast, per customer and in total
    assert v.errors.loc["model", "mae"] < v.errors.loc["naive", "mae"]
    assert v.errors.loc["model", "rmse"] < v.errors.loc["naive", "rmse"]
    assert abs(v.totals["predicted"] - 1882) < abs(v.totals["naive"] - 1882)
    # the tracking curve: 78 weeks, calibration ends at week 39, actual ends at all repeats
    assert len(v.tracking) == 78 and v.calibration_weeks == 39
    assert v.tracking["actual"].iloc[-1] == 4339  # 2457 calibration + 1882 holdout
    assert v.tracking["actual"].iloc[38] == 2457
    assert v.tracking["date"].iloc[-1] == pd.Timestamp(OBS_END)


@pytest.mark.slow
def test_tracking_equals_lifetimes_expected_cumulative_transactions(validation, cdnow):
    from lifetimes.utils import expected_cumulative_transactions

    try:
        theirs = expected_cumulative_transactions(validation.bgnbd.model_, cdnow, "order_date", "customer_id",
                                                  t=546, freq="D", freq_multiplier=7)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"lifetimes' expected_cumulative_transactions fails on pandas {pd.__version__}: {e}")
    np.testing.assert_array_equal(validation.tracking["actual"].to_numpy(), theirs["actual"].to_numpy())
    np.testing.assert_allclose(validation.tracking["predicted"].to_numpy(), theirs["predicted"].to_numpy(),
                               rtol=1e-9)


@pytest.mark.slow
def test_clv_equals_lifetimes_customer_lifetime_value(full_summary, full_fits):
    bg, gg = full_fits
    s = full_summary
    ours = score(s, bg, gg, horizon_months=12, discount_rate_monthly=0.01, margin=1.0)
    theirs = gg.model_.customer_lifetime_value(bg.model_, s["frequency"], s["recency"], s["T"],
                                               s["monetary_value"], time=12, discount_rate=0.01, freq="W")
    np.testing.assert_allclose(ours["clv"].to_numpy(), theirs.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        ours["exp_avg_value"].to_numpy(),
        gg.model_.conditional_expected_average_profit(s["frequency"], s["monetary_value"]).to_numpy(), rtol=1e-12)
    # margin multiplies; a per-customer margin is aligned on the index
    m = pd.Series(np.linspace(0.1, 0.9, len(s)), index=s.index)[::-1]
    scored = score(s, bg, gg, margin=m)
    np.testing.assert_allclose(scored["clv"].to_numpy(), ours["clv"].to_numpy() * m.loc[s.index].to_numpy())
    # other time bases: lifetimes' day and month factors
    for unit, freq in (("day", "D"), ("month", "M")):
        su = customer_summary(load_cdnow("sample"), OBS_END, time_unit=unit)
        bgu, ggu = fit_bgnbd(su, time_unit=unit), fit_gamma_gamma(su)
        mine = score(su, bgu, ggu, horizon_months=6, discount_rate_monthly=0.02, margin=1.0)["clv"]
        ref = ggu.model_.customer_lifetime_value(bgu.model_, su["frequency"], su["recency"], su["T"],
                                                 su["monetary_value"], time=6, discount_rate=0.02, freq=freq)
        np.testing.assert_allclose(mine.to_numpy(), ref.to_numpy(), rtol=1e-6)


@pytest.mark.slow
def test_compressed_fit_equals_per_customer_fit(cal_summary, cal_bg):
    from lifetimes import BetaGeoFitter

    direct = BetaGeoFitter().fit(cal_summary["frequency"], cal_summary["recency"], cal_summary["T"])
    assert cal_bg.n_patterns_ < cal_bg.n_customers_
    for k, v in cal_bg.params_.items():
        assert v == pytest.approx(direct.params_[k], rel=1e-5)
    for k, v in cal_bg.standard_errors_.items():
        assert v == pytest.approx(direct.standard_errors_[k], rel=1e-3)


# --------------------------------------------------------------------------------------
# Closed forms against lifetimes' methods
# --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_closed_forms_equal_lifetimes_methods(full_summary, full_fits):
    bg, _ = full_fits
    s = full_summary
    f, r, T = (s[c].to_numpy() for c in ("frequency", "recency", "T"))
    lt = bg.model_
    np.testing.assert_allclose(bg.p_alive(f, r, T), lt.conditional_probability_alive(f, r, T), rtol=1e-12)
    for t in (1.0, 10.0, 52.0):
        np.testing.assert_allclose(bg.expected_purchases(t, f, r, T), lt.predict(t, f, r, T), rtol=1e-12)
    ts = np.array([0.5, 5.0, 39.0, 78.0])
    np.testing.assert_allclose(bg.expected_population(ts), lt.expected_number_of_purchases_up_to_time(ts),
                               rtol=1e-12)
    # the paper's log-likelihood = lifetimes' objective evaluated on unscaled time
    nll = type(lt)._negative_log_likelihood(np.log(list(bg.params_.values())), f, r, T, np.ones_like(f), 0.0)
    assert bgnbd_log_likelihood(bg.params_, f, r, T) == pytest.approx(-nll * len(f), rel=1e-10)


def test_naive_baseline_definition():
    np.testing.assert_allclose(naive_holdout_purchases([2, 0, 3], [10.0, 5.0, 0.0], 39.0), [7.8, 0.0, 0.0])


def test_conditional_expectation_table_bins_and_empty_bins():
    t = conditional_expectation_table([0, 0, 1, 9, 12], [0, 1, 2, 5, 7], [0.5, 0.5, 1, 6, 6], max_bin=3)
    assert list(t.index) == ["0", "1", "2", "3+"]
    assert t["n"].tolist() == [2, 1, 0, 2]
    assert t.loc["0", "actual"] == 0.5 and t.loc["3+", "predicted"] == 6
    assert math.isnan(t.loc["2", "actual"])


# --------------------------------------------------------------------------------------
# Failure handling: retry, notes, never a silent substitute
# --------------------------------------------------------------------------------------


def test_failed_first_fit_is_retried_with_penalizer_and_noted(monkeypatch):
    from lifetimes import BetaGeoFitter

    original = BetaGeoFitter.fit

    def flaky(self, *args, **kwargs):
        if self.penalizer_coef == 0:
            raise np.linalg.LinAlgError("Singular matrix")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BetaGeoFitter, "fit", flaky)
    res = fit_bgnbd(small_summary(), penalizer=0.0, retry_penalizer=0.01)
    assert res.status_ == "retried" and res.converged_ and res.penalizer_ == 0.01
    warning = [n for n in res.notes_ if n.kind == "warning"][0]
    assert warning.code == "clv.bgnbd_retried" and warning.section == "04_clv"
    assert warning.params["why"] == Msg("clv.attempt.error", error="LinAlgError", detail="Singular matrix")
    assert warning.params["penalizer"] == 0.01
    assert "LinAlgError" in render(warning, "en") and "0.01" in render(warning, "en")
    assert "惩罚项" in render(warning, "zh")
    assert res.attempts_[0] == {"penalizer": 0.0, "ok": False, "reason": "error",
                                "params": {"error": "LinAlgError", "detail": "Singular matrix"}}
    assert res.attempts_[-1]["reason"] == "converged" and res.attempts_[-1]["ok"]


def test_implausible_estimates_fail_after_retry_and_cannot_predict():
    res = fit_bgnbd(small_summary(), max_param=1e-3)
    assert res.status_ == "failed" and not res.converged_
    assert all(math.isnan(v) for v in res.params_.values())
    assert res.notes_[-1].kind == "omitted" and res.notes_[-1].code == "clv.bgnbd_failed"
    assert "implausible" in render(res.notes_[-1], "en") and "未计算" in render(res.notes_[-1], "zh")
    assert res.attempts_[-1]["reason"] == "implausible" and not any(a["ok"] for a in res.attempts_)
    with pytest.raises(ValueError, match="failed"):
        res.p_alive([1], [1], [2])
    with pytest.raises(ValueError, match="failed"):
        score(small_summary(), res, None)


def test_bgnbd_without_repeat_purchases_is_not_fitted():
    s = small_summary().assign(frequency=0.0, recency=0.0)
    res = fit_bgnbd(s)
    assert res.status_ == "failed" and "no customer has a repeat purchase" in render(res.notes_[0], "en")
    assert res.notes_[0].code == "clv.bgnbd_not_fitted" and res.notes_[0].params["why"] == Msg("clv.why.no_repeat_buyer")


def test_summary_checks_have_precise_messages():
    s = small_summary()
    with pytest.raises(ValueError, match="recency vector are larger than T"):
        fit_bgnbd(s.assign(recency=s["T"] + 1))
    with pytest.raises(ValueError, match="Required column.*'T'"):
        fit_bgnbd(s.drop(columns="T"))
    with pytest.raises(ValueError, match="non-integer"):
        fit_bgnbd(s.assign(frequency=s["frequency"] + 0.5))


def test_gamma_gamma_with_too_few_repeat_buyers_is_not_computed():
    s = small_summary(n_repeat=5)
    gg = fit_gamma_gamma(s, min_repeat_customers=20)
    assert not gg.computed_ and gg.status_ == "too_few_repeat_buyers" and gg.n_customers_ == 5
    assert "fewer than 20" in render(gg.notes_[-1], "en") and gg.notes_[-1].kind == "omitted"
    assert gg.notes_[-1] == Note("clv.gg_too_few", {"n": 5, "min": 20}, "omitted", "04_clv")
    with pytest.raises(ValueError, match="not computed"):
        gg.expected_avg_value([1], [10])
    bg = fit_bgnbd(small_summary(n_repeat=40))
    scored = score(s, bg, gg)
    assert scored["clv"].isna().all() and scored["exp_avg_value"].isna().all()
    assert scored["clv_rank"].isna().all() and scored["p_alive"].notna().all()


def test_gamma_gamma_excludes_non_positive_spend_and_flags_correlation():
    s = small_summary(n_repeat=60, seed=3)
    rep = s["frequency"] > 0
    s.loc[rep, "monetary_value"] = 5 + 8 * s.loc[rep, "frequency"] + np.random.default_rng(0).normal(0, 1, rep.sum())
    s.iloc[0, s.columns.get_loc("monetary_value")] = -3.0  # a net refund
    gg = fit_gamma_gamma(s, corr_warn=0.3)
    assert gg.n_customers_ == 59 and gg.n_excluded_ == len(s) - 59
    assert gg.corr_ > 0.9 and gg.corr_warning_
    kinds = [n.kind for n in gg.notes_]
    assert "warning" in kinds and any("net refunds" in render(n, "en") for n in gg.notes_)
    codes = [n.code for n in gg.notes_]
    assert codes[0] == "clv.gg_nonpositive_spend" and "clv.gg_correlation" in codes


# --------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------


def test_score_columns_rank_and_non_repeat_customers(full_summary, full_fits):
    bg, gg = full_fits
    sc = score(full_summary, bg, gg)
    assert list(sc.columns) == ["p_alive", "exp_purchases", "exp_avg_value", "margin", "clv", "clv_rank"]
    assert sc.index.equals(full_summary.index)
    assert sc["clv_rank"].min() == 1 and sc.loc[sc["clv"].idxmax(), "clv_rank"] == 1
    assert str(sc["clv_rank"].dtype) == "Int64"
    one_timers = full_summary["frequency"] == 0
    np.testing.assert_allclose(sc.loc[one_timers, "exp_avg_value"], gg.population_mean_)
    assert (sc.loc[one_timers, "p_alive"] == 1).all()
    assert sc["clv"].gt(0).all() and sc["p_alive"].between(0, 1).all()
    # a 30.4375-day month instead of lifetimes' 4.345 weeks changes CLV a little, upwards
    cal_month = score(full_summary, bg, gg, periods_per_month=30.4375 / 7)
    assert (cal_month["exp_purchases"] >= sc["exp_purchases"]).all()
    with pytest.raises(ValueError, match="differs from the model"):
        score(full_summary, bg, gg, time_unit="day")
    with pytest.raises(ValueError, match="margin has no value"):
        score(full_summary, bg, gg, margin=pd.Series({"0001": 0.3}))


def test_score_horizon_and_discount_by_hand():
    """CLV = margin x E[M] x sum_i (E[Y(i m)] - E[Y((i-1) m)]) / (1+d)^i, by hand for one customer."""
    bg = fit_bgnbd(small_summary(n_repeat=40))
    gg = fit_gamma_gamma(small_summary(n_repeat=40))
    s = small_summary(n_repeat=40).iloc[[0]]
    f, r, T, m = s.iloc[0][["frequency", "recency", "T", "monetary_value"]]
    cum = [float(bg.expected_purchases(i * 4.345, f, r, T)) for i in range(4)]
    disc = sum((cum[i] - cum[i - 1]) / 1.05 ** i for i in range(1, 4))
    expected = 0.25 * float(gg.expected_avg_value(f, m)) * disc
    got = score(s, bg, gg, horizon_months=3, discount_rate_monthly=0.05, margin=0.25)
    assert got["clv"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert got["exp_purchases"].iloc[0] == pytest.approx(cum[3], rel=1e-12)


# --------------------------------------------------------------------------------------
# ROI and concentration
# --------------------------------------------------------------------------------------


def test_roi_table():
    customers = pd.DataFrame({"quadrant": ["star", "star", "cash_cow", "eliminate", None],
                              "clv": [300.0, 100.0, 50.0, 1.0, 7.0]})
    costs = {"star": 100.0, "cash_cow": 20.0, "potential": 10.0, "eliminate": 0.0}
    t = roi_table(customers, costs, horizon_months=6)
    assert list(t.index) == list(costs)
    assert t.loc["star"].to_dict() == {"customers": 2, "total_clv": 400.0, "mean_clv": 200.0,
                                       "yearly_cost_per_customer": 100.0, "total_cost": 100.0, "roi": 4.0}
    assert t.loc["cash_cow", "roi"] == 5.0
    assert t.loc["potential", "customers"] == 0 and math.isnan(t.loc["potential", "roi"])
    assert math.isnan(t.loc["eliminate", "roi"])  # zero cost: no ratio
    assert t.attrs["n_ungrouped"] == 1
    with pytest.raises(ValueError, match="no maintenance cost.*star"):
        roi_table(customers, {"cash_cow": 1.0, "eliminate": 1.0})


def test_churn_value_concentration():
    customers = pd.DataFrame({"churn_risk": ["high", "low", "high", "medium"],
                              "clv": [10.0, 60.0, 30.0, 0.0], "revenue": [5.0, 5.0, 5.0, 5.0]})
    c = churn_value_concentration(customers)
    assert c == {"n_customers": 4, "n_high": 2, "share_customers": 0.5, "share_clv": 0.4, "share_revenue": 0.5}
    assert math.isnan(churn_value_concentration(customers.drop(columns="revenue"))["share_revenue"])


# --------------------------------------------------------------------------------------
# Matrices, plots, artifact
# --------------------------------------------------------------------------------------


def test_frequency_recency_matrices(full_fits):
    bg, _ = full_fits
    pa = p_alive_matrix(bg, T=78, max_frequency=10)
    assert pa.shape == (79, 11) and pa.index.name == "recency" and pa.columns.name == "frequency"
    assert pa.loc[0.0, 0] == 1 and pa.iloc[1:, 0].isna().all()
    assert pa.loc[78.0, 5] == pytest.approx(float(bg.p_alive(5, 78, 78)))
    # at fixed frequency, a more recent last purchase means more likely alive
    assert pa[5].dropna().is_monotonic_increasing
    ex = expected_purchases_matrix(bg, t=52, T=78, max_frequency=10, n_recency=20)
    assert ex.shape == (20, 11)
    assert ex.iloc[-1, 10] == pytest.approx(float(bg.expected_purchases(52, 10, 78, 78)))


def test_plots_return_axes_without_showing(validation, full_fits, full_summary, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plots must not call show()"))
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda *a, **k: pytest.fail("plots must not save"))
    bg, gg = full_fits
    sc = score(full_summary, bg, gg)
    axes = [
        clv_plots.plot_conditional_expectation(validation.conditional, lang="en"),
        clv_plots.plot_tracking(validation.tracking, calibration_weeks=validation.calibration_weeks, lang="en"),
        clv_plots.plot_frequency_recency(p_alive_matrix(bg, 78, 20), colorbar_label=True, lang="en"),
        clv_plots.plot_clv_distribution(sc["clv"], currency="$"),
    ]
    fig, ax = plt.subplots()
    assert clv_plots.plot_clv_distribution(sc["clv"], ax=ax, log=False) is ax
    for a in axes:
        assert isinstance(a, matplotlib.axes.Axes)
    assert axes[0].get_legend() is not None and len(axes[0].lines) == 3
    # every word comes from the catalogue, in the language asked for
    assert axes[0].get_title() == text("clv.plot.conditional_title", "en")
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["Actual", "Model", "End of calibration"]
    assert axes[2].get_title() == "P(alive)" and axes[3].get_title() == text("clv.plot.distribution_title", "zh")
    ex = clv_plots.plot_frequency_recency(p_alive_matrix(bg, 78, 5), value="expected_purchases", ylabel=False)
    assert ex.get_title() == "预期购买次数" and ex.get_ylabel() == ""
    plt.close("all")


def test_model_params_json_is_plain_json(validation, full_fits):
    bg, gg = full_fits
    d = model_params_json(bg, gg, validation, settings={"horizon_months": 12})
    text = json.dumps(d, allow_nan=False, ensure_ascii=False)
    back = json.loads(text)
    assert set(back) == {"count_model", "bgnbd", "gamma_gamma", "validation", "settings", "references"}
    assert back["bgnbd"]["params"]["r"] == pytest.approx(bg.params_["r"])
    assert back["validation"]["totals"]["actual"] == 1882
    assert back["validation"]["calibration_end"] == CAL_END
    assert {"code", "params", "kind"} <= set(back["bgnbd"]["notes"][0])
    assert Note.from_dict(back["bgnbd"]["notes"][0]) == bg.notes_[0]
    assert back["bgnbd"]["attempts"] == [{"penalizer": 0.0, "ok": True, "reason": "converged", "params": {}}]
    assert not any("zh" in a or "en" in a for a in back["gamma_gamma"]["attempts"])
    failed = fit_gamma_gamma(small_summary(n_repeat=3))
    assert model_params_json(bg, failed)["gamma_gamma"]["params"]["p"] is None



# --------------------------------------------------------------------------------------
# The stage: assess, artifacts, report tables
# --------------------------------------------------------------------------------------


def test_holdout_split():
    assert clv.holdout_split(pd.Timestamp("1997-01-01"), "1998-06-30", 273) == (
        pd.Timestamp(CAL_END), pd.Timestamp(OBS_END))
    assert clv.holdout_split(pd.Timestamp("1998-01-01"), "1998-06-30", 273) is None  # calibration too short
    assert clv.holdout_split(pd.Timestamp("1998-01-01"), "1998-06-30", 90, min_calibration_days=30) is not None
    assert clv.holdout_split(pd.NaT, "1998-06-30", 90) is None


def test_customer_margin_from_data_else_default():
    spine = pd.DataFrame({"profit_total": [30.0, np.nan, 5.0, 1.0], "revenue_total": [100.0, 50.0, 0.0, 4.0]},
                         index=list("abcd"))
    m = clv.customer_margin(spine, 0.3)
    assert m.tolist() == [0.3 * 1, 0.3, 0.3, 0.25] and m.attrs["n_from_data"] == 2
    assert clv.customer_margin(spine, 0.2, use_order_margin=False).eq(0.2).all()
    assert clv.customer_margin(spine.drop(columns="profit_total"), 0.2).attrs["n_from_data"] == 0


@pytest.fixture(scope="module")
def assessed(cdnow, full_summary):
    from kit.core.config import Clv

    spine = full_summary.assign(
        quadrant=np.where(full_summary["frequency"] > 2, "star", "eliminate"),
        churn_risk=np.where(full_summary["recency"] < 30, "high", "low"),
        amount_12m=full_summary["monetary_value"] * (full_summary["frequency"] + 1),
    )
    spine.loc["9999"] = np.nan  # a spine customer without purchases
    tx = cdnow.assign(is_return=False)
    return clv.assess(tx, spine, OBS_END, Clv(time_unit="week", holdout_days=273, model="bgnbd")), spine


@pytest.mark.slow
def test_assess_on_cdnow(assessed):
    res, spine = assessed
    # the stage counts CDNOW's 8 $0 rows as transactions (the BTYD convention, issue 15) but
    # never as spend: the calibration fit is the published one (FHL 2005, 2,357 customers)
    every = load_cdnow("sample")
    ref_v = holdout_validation(every, CAL_END, OBS_END)
    assert res.validation is not None and res.validation.totals == pytest.approx(ref_v.totals)
    assert res.validation.bgnbd.params_ == pytest.approx(ref_v.bgnbd.params_)
    assert {k: round(v, 4) for k, v in res.validation.bgnbd.params_.items()} == {
        "r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    whole = customer_summary(every, OBS_END, positive_spend=True)
    assert res.bgnbd.params_ == pytest.approx(fit_bgnbd(whole).params_)
    assert res.gg.params_ == pytest.approx(fit_gamma_gamma(clv.spend_summary(whole)).params_)
    assert res.scores.index.equals(spine.index)
    scored = spine.index.intersection(res.summary.index)
    assert "9999" not in scored and len(scored) == 2357
    assert res.scores.loc[scored, "clv"].notna().all()
    assert res.scores.drop(index=scored).isna().all().all()
    assert [n.code for n in res.notes_on("validation")] == ["clv.validation.model_set"]
    assert any("no purchase" in render(n, "en") for n in res.notes)
    assert any("default margin of 30%" in render(n, "en") for n in res.notes)
    assert all(n.section == "04_clv" for n in res.notes)
    expected = score(res.summary, res.bgnbd, res.gg, 12, 0.01, 0.3)
    np.testing.assert_allclose(res.scores.loc[expected.index, "clv"], expected["clv"], rtol=1e-12)


def test_assess_too_short_history_omits_validation_with_a_note():
    rng = np.random.default_rng(5)
    n = 400
    tx = pd.DataFrame({"customer_id": [f"c{i % 60:02d}" for i in range(n)],
                       "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, n), unit="D"),
                       "amount": rng.gamma(3, 20, n)})
    spine = pd.DataFrame(index=pd.Index(sorted(tx["customer_id"].unique()), name="customer_id"))
    res = clv.assess(tx, spine, "2024-04-30")
    assert res.validation is None
    val = [n for n in res.notes if clv.topic(n) == "validation"]
    assert [n.code for n in val] == ["clv.validation.too_short", "clv.validation.auto_without_holdout"]
    assert val[0].kind == "omitted" and "holdout_days" in render(val[0], "en")
    assert res.notes_on("validation") == val and res.bgnbd.kind_ == "bgnbd"  # auto without a holdout


@pytest.mark.slow
def test_write_artifacts_and_report_tables(assessed, tmp_path):
    from kit.core.config import parse_config
    from kit.publish.context import RunContext

    res, spine = assessed
    cfg = parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv"}}})
    ctx = RunContext(cfg=cfg, run_dir=tmp_path, as_of=pd.Timestamp(OBS_END), lang="en")
    # the stage returns the data; the notebook writes it
    out = clv.spine_with_scores(res, spine.assign(clv=-1.0))
    ctx.write_customers(out)
    ctx.write_json("model_params", res.model_params())
    assert list(out.columns[-len(clv.SPINE_COLUMNS):]) == clv.SPINE_COLUMNS and (out["clv"].dropna() > 0).all()
    back = pd.read_parquet(ctx.artifact("customers"))
    assert set(clv.SPINE_COLUMNS) <= set(back.columns) and len(back) == len(spine)
    params = json.loads(ctx.artifact("model_params").read_text(encoding="utf-8"))
    assert params["validation"]["totals"]["actual"] == 1882 and params["settings"]["holdout_days"] == 273
    tables = [clv_tables.params_table(res.bgnbd, res.gg), clv_tables.validation_table(res.validation),
              clv_tables.conditional_display(res.validation), clv.p_alive_by_churn_risk(out),
              clv_tables.top_customers(out, 5),
              clv_tables.roi_display(roi_table(out, {"star": 10.0, "eliminate": 1.0}))]
    for t in tables:
        # canonical columns, each registered (label and display kind decided once)
        assert len(t) > 0 and all(registry.column(c) is not None for c in t.columns), list(t.columns)
    for lang in ("zh", "en"):
        for t in tables:
            assert "<table" in table(t, lang, kinds=clv_tables.KINDS).html
        assert len(clv_tables.headline_cards(out, 12, lang, "$")) == 5
    assert header(clv_tables.params_table(res.bgnbd, res.gg).columns[0], "zh") == "模型"
    assert clv_tables.top_customers(out, 5)["clv"].is_monotonic_decreasing


# --------------------------------------------------------------------------------------
# Layers and words: the stage computes, the presentation layer speaks
# --------------------------------------------------------------------------------------


def test_stage_imports_neither_plotting_nor_presentation():
    code = ("import sys, kit.stages.clv; print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'"
            " or m.startswith(('kit.present', 'kit.publish', 'kit.engines'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_clv_code_is_in_the_catalogue_in_both_languages():
    import re
    from pathlib import Path

    from kit.present.messages import catalogue, has

    src = "\n".join(p.read_text(encoding="utf-8") for p in Path(clv.__file__).parent.glob("*.py"))
    codes = set(re.findall(r'clv_note\(\s*"([a-z_.]+)"', src)) | set(re.findall(r'Msg\(\s*"([a-z_.]+)"', src))
    codes |= {clv.ATTEMPT_PREFIX + c for c in re.findall(r'ATTEMPT_PREFIX \+ "([a-z_]+)"', src)}
    assert len(codes) > 25
    assert [c for c in sorted(codes) if not has(c)] == []
    for code in (c for c in catalogue() if c.startswith("clv.")):
        p = placeholders(code)
        assert p["zh"] == p["en"], code


def test_failure_notes_render_in_both_languages():
    from kit.stages.clv.assess import _attempts_msg

    attempts = [{"penalizer": 0.0, "ok": False, "reason": "not_converged", "params": {}},
                {"penalizer": 0.001, "ok": False, "reason": "implausible",
                 "params": {"estimates": "alpha/max(T) = 2e+04", "bound": 1e4}}]
    note = clv.clv_note("clv.validation.failed", "omitted", date="2025-12-31", why=_attempts_msg(attempts))
    assert render(note, "en") == (
        "The holdout validation is omitted: the BG/NBD fit on the calibration period (to 2025-12-31) failed "
        "(penalizer 0: the optimiser did not converge; penalizer 0.001: implausible estimate "
        "alpha/max(T) = 2e+04 > 10000). The whole-period model below is not checked out of sample.")
    assert "惩罚项 0：优化算法未收敛；惩罚项 0.001：估计值不合理" in render(note, "zh")
    assert render(clv.clv_note("clv.validation.failed", "omitted", date="x", why=_attempts_msg([])), "zh").count(
        "没有重复购买") == 1
    # a note survives notes.json (Msg parameters included)
    back = Note.from_dict(json.loads(json.dumps(note.as_dict())))
    assert back == note and render(back, "zh") == render(note, "zh")
    assert clv_tables.attempt_text(attempts[1], "en").startswith("implausible estimate")
    assert clv_tables.attempt_text({"penalizer": 0.0, "ok": True, "reason": "converged"}, "zh") == "收敛"
    # every note of a failed and of a retried fit has both texts
    res = fit_bgnbd(small_summary(), max_param=1e-3)
    gg = fit_gamma_gamma(small_summary(n_repeat=60, seed=3), max_param=1e-3)
    for n in [*res.notes_, *gg.notes_]:
        assert render(n, "zh") and render(n, "en")
    assert gg.status_ == "failed" and gg.notes_[-1].code == "clv.gg_failed"


def test_top_customers_are_masked_and_escaped_by_the_table():
    spine = pd.DataFrame({"name": ["<img src=x onerror=alert(1)>", "Acme Trading Co"],
                          "quadrant": ["star", "eliminate"], "churn_risk": ["high", "low"],
                          "p_alive": [0.9, 0.4], "exp_purchases": [3.0, 1.0], "exp_avg_value": [10.0, 5.0],
                          "clv": [30.0, 5.0]}, index=pd.Index(["c1", "c2"], name="customer_id"))
    top = clv_tables.top_customers(spine, 5)
    assert list(top.columns) == ["customer_id", "name", "quadrant", "churn_risk", "p_alive", "exp_purchases",
                                 "exp_avg_value", "clv"]
    shown = table(top, "en").html
    assert "<img" not in shown and "&lt;img" in shown and "Star" in shown
    masked = table(top, "zh", mask_pii=True).html
    assert "Acme Trading Co" not in masked and "onerror" not in masked
