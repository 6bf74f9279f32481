"""The sBG contractual retention model (kit/stages/clv/sbg.py, sbg_history.py) and its chart.

* reference: Fader & Hardie (2007), "How to project customer retention", the "regular" and
  "high end" cohorts fitted on years 1-7;
* recovery of known alpha, beta from simulated, censored cohorts (within 2 standard errors;
  and the coverage of +-2 SE over many cohorts near 95 %);
* the survivor-count and individual forms are one likelihood; DERL against a direct sum;
* renewal chains from a small handmade subscriptions table; holdout numbers on the paper's
  data; the stage end to end on a simulated subscriptions table; the chart in zh and en.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from kit.core import registry  # noqa: E402
from kit.core.notes import Msg  # noqa: E402
from kit.present.messages import render, text  # noqa: E402
from kit.present.plots.retention import plot_retention_curves  # noqa: E402
from kit.stages.clv.sbg import (  # noqa: E402
    churn_probability,
    counts_from_survivors,
    derl,
    expected_remaining_renewals,
    expected_survivors,
    fit_sbg,
    fit_sbg_individual,
    log_likelihood,
    projected_survivors,
    residual_value,
    retention_rate,
    sbg_log_likelihood,
    survival,
)
from kit.stages.clv.sbg_history import (  # noqa: E402
    CURVE_COLUMNS,
    HISTORY_COLUMNS,
    HOLDOUT_COLUMNS,
    PARAM_COLUMNS,
    VALUE_COLUMNS,
    fit_cohorts,
    holdout_check,
    observed_survival,
    renewal_histories,
    retention_curves,
    retention_model,
    subscription_values,
    truncate_histories,
)

#: FH07 table 1, years 0-7 (the calibration data of the paper's fits).
REGULAR = [1000, 869, 743, 653, 593, 551, 517, 491]
HIGH_END = [1000, 631, 468, 382, 326, 289, 262, 241]
T = pd.Timestamp
SUBS_COLUMNS = ["customer_id", "subscription_id", "start_date", "end_date", "status", "renewed_from", "monthly_amount"]


def sig3(x: float) -> str:
    return f"{x:.3g}"


def histories_of(survivors, cohort: str) -> pd.DataFrame:
    """Individual histories equal to a cohort's survivor counts (no censoring before the end)."""
    s = np.asarray(survivors, dtype=int)
    renewals = np.concatenate([np.full(s[t - 1] - s[t], t - 1) for t in range(1, len(s))] + [np.full(s[-1], len(s) - 1)])
    churned = np.concatenate([np.ones(s[0] - s[-1], bool), np.zeros(s[-1], bool)])
    n = len(renewals)
    return pd.DataFrame({"chain_id": [f"{cohort}{i}" for i in range(n)], "customer_id": [f"{cohort}{i}" for i in range(n)],
                         "signing_cohort": cohort, "renewals_made": renewals, "chain_churned": churned,
                         "last_subscription_id": [f"{cohort}{i}" for i in range(n)], "period_value": 100.0})


def simulate(alpha: float, beta: float, n: int, periods: int, seed: int, stagger: bool = True):
    """``(renewals, churned)`` of ``n`` customers with churn probability ~ Beta(alpha, beta),
    each observed for ``periods`` renewal decisions (``stagger``: a random 1 .. periods)."""
    rng = np.random.default_rng(seed)
    lifetime = rng.geometric(rng.beta(alpha, beta, n))  # T: the period at whose end it leaves
    seen = rng.integers(1, periods + 1, n) if stagger else np.full(n, periods)
    churned = lifetime <= seen
    return np.where(churned, lifetime - 1, seen), churned


# ---- the paper ---------------------------------------------------------------------------------
@pytest.mark.parametrize("survivors, alpha, beta, ll", [
    (REGULAR, 0.668, 3.806, -1611.16),
    (HIGH_END, 0.704, 1.182, -1680.27),
])
def test_reference_fh07(survivors, alpha, beta, ll):
    """FH07 fit years 1-7: eight survivor counts (year 0 = 1000 at signing, years 1-7), i.e.
    seven renewal decisions and the year-7 survivors censored. This window reproduces the
    published alpha, beta and LL (to the 0.01 printed); dropping year 7 does not (regular:
    alpha 0.749, beta 4.335, LL -1507.03)."""
    f = fit_sbg(survivors)
    assert f.converged and f.n == 1000 and f.periods == 7
    assert (sig3(f.alpha), sig3(f.beta), sig3(f.loglik)) == (sig3(alpha), sig3(beta), sig3(ll))
    assert (round(f.alpha, 3), round(f.beta, 3), round(f.loglik, 2)) == (alpha, beta, ll)  # as printed
    assert f.se_alpha > 0 and f.se_beta > 0
    assert sig3(fit_sbg(survivors[:-1]).alpha) != sig3(alpha)


def test_closed_forms_agree_with_each_other():
    a, b = 0.668, 3.806
    t = np.arange(1, 30)
    s = survival(a, b, t)
    assert survival(a, b, 0) == pytest.approx(1.0)
    np.testing.assert_allclose(s / survival(a, b, t - 1), retention_rate(a, b, t), rtol=1e-12)
    np.testing.assert_allclose(survival(a, b, t - 1) - s, churn_probability(a, b, t), rtol=1e-10)
    np.testing.assert_allclose(np.cumprod(retention_rate(a, b, t)), s, rtol=1e-12)
    np.testing.assert_allclose(expected_survivors(a, b, 1000, t), 1000 * s)
    np.testing.assert_allclose(projected_survivors(a, b, 491, 7, 3), 491 * survival(a, b, [8, 9, 10]) / survival(a, b, 7))
    # log-likelihood by hand: sum of churners x ln P(T=t) + survivors x ln S(7)
    d = -np.diff(REGULAR)
    by_hand = (d * np.log(churn_probability(a, b, np.arange(1, 8)))).sum() + 491 * np.log(survival(a, b, 7))
    assert log_likelihood(a, b, *counts_from_survivors(REGULAR)) == pytest.approx(by_hand, rel=1e-12)


# ---- recovery and the two forms --------------------------------------------------------------
@pytest.mark.parametrize("alpha, beta", [(0.7, 3.8), (1.5, 4.0), (3.0, 12.0)])
@pytest.mark.parametrize("seed", [11, 12])
def test_recovery_within_two_standard_errors(alpha, beta, seed):
    renewals, churned = simulate(alpha, beta, 2000, 8, seed)
    f = fit_sbg_individual(renewals, churned)
    assert f.converged and f.n == 2000 and f.periods == 8
    assert abs(f.alpha - alpha) < 2 * f.se_alpha, (f.alpha, f.se_alpha)
    assert abs(f.beta - beta) < 2 * f.se_beta, (f.beta, f.se_beta)


def test_standard_errors_cover_the_truth_about_95_percent():
    """Over 200 simulated cohorts, +-2 SE holds the true value about 95 % of the time (a
    wrong Hessian or delta method gives far less, or far more)."""
    alpha, beta = 1.2, 5.0
    hits = np.zeros(2)
    for seed in range(200):
        f = fit_sbg_individual(*simulate(alpha, beta, 1000, 6, 1000 + seed))
        hits += [abs(f.alpha - alpha) < 2 * f.se_alpha, abs(f.beta - beta) < 2 * f.se_beta]
    assert np.all(hits / 200 > 0.9) and np.all(hits / 200 < 0.99), hits / 200


def test_survivor_and_individual_forms_give_the_same_fit():
    h = histories_of(HIGH_END, "H")
    a = fit_sbg(HIGH_END)
    b = fit_sbg_individual(h["renewals_made"], h["chain_churned"])
    for k in ("alpha", "beta", "se_alpha", "se_beta", "loglik"):
        assert getattr(b, k) == pytest.approx(getattr(a, k), rel=1e-9), k
    assert (a.n, a.periods) == (b.n, b.periods)
    # on simulated data without staggered censoring too, and weights count histories
    renewals, churned = simulate(0.9, 2.5, 3000, 6, 5, stagger=False)
    survivors = [3000] + [int((renewals >= t).sum()) for t in range(1, 7)]
    assert fit_sbg(survivors).alpha == pytest.approx(fit_sbg_individual(renewals, churned).alpha, rel=1e-9)
    keys, w = np.unique(np.c_[renewals, churned], axis=0, return_counts=True)
    assert fit_sbg_individual(keys[:, 0], keys[:, 1].astype(bool), w).beta == pytest.approx(
        fit_sbg_individual(renewals, churned).beta, rel=1e-9)
    assert sbg_log_likelihood(0.9, 2.5, renewals, churned) == pytest.approx(
        sbg_log_likelihood(0.9, 2.5, keys[:, 0], keys[:, 1].astype(bool), w), rel=1e-12)


def test_fit_refuses_data_without_churn_or_renewal():
    with pytest.raises(ValueError, match="churn"):
        fit_sbg([100, 100, 100])
    with pytest.raises(ValueError, match="renewed"):
        fit_sbg_individual([0, 0, 0], [True, True, False])
    with pytest.raises(ValueError):
        fit_sbg([100, 120, 90])


# ---- valuation -------------------------------------------------------------------------------------
@pytest.mark.parametrize("d, alpha, beta, renewals", [
    (0.10, 0.668, 3.806, 0), (0.10, 0.668, 3.806, 4), (0.05, 0.704, 1.182, 2), (0.20, 3.0, 12.0, 0), (0.10, 1.5, 0.8, 9),
])
def test_derl_equals_the_discounted_sum_of_survival(d, alpha, beta, renewals):
    """DERL(d | alpha, beta, n) = sum_{k>=0} S(n+1+k) / S(n) / (1+d)^k for n renewals made."""
    k = np.arange(0, 4000)
    direct = (survival(alpha, beta, renewals + 1 + k) / survival(alpha, beta, renewals) * np.exp(-k * np.log1p(d))).sum()
    assert float(derl(d, alpha, beta, renewals)) == pytest.approx(direct, abs=1e-6)
    assert float(residual_value(1200.0, d, alpha, beta, renewals)) == pytest.approx(1200 * direct, abs=1e-3)


def test_derl_grows_with_tenure_and_shrinks_with_the_discount_rate():
    v = derl(0.1, 0.668, 3.806, np.arange(6))
    assert np.all(np.diff(v) > 0)
    assert derl(0.2, 0.668, 3.806, 3) < derl(0.1, 0.668, 3.806, 3)
    with pytest.raises(ValueError):
        derl(0.0, 1.0, 1.0)


def test_expected_remaining_renewals():
    a, b = 2.5, 6.0
    k = np.arange(1, 200_000)
    for n in (0, 3):
        direct = (survival(a, b, n + k) / survival(a, b, n)).sum()
        assert float(expected_remaining_renewals(a, b, n)) == pytest.approx(direct, rel=1e-3)
        assert float(expected_remaining_renewals(a, b, n)) == pytest.approx((b + n) / (a - 1))
        h5 = (survival(a, b, n + np.arange(1, 6)) / survival(a, b, n)).sum()
        assert float(expected_remaining_renewals(a, b, n, horizon=5)) == pytest.approx(h5, rel=1e-12)
    assert np.isinf(expected_remaining_renewals(0.7, 3.0, 2))


# ---- renewal chains from a subscriptions table ------------------------------------------------------
def handmade() -> pd.DataFrame:
    rows = [
        # c1: three annual contracts linked by renewed_from, the last running at as_of
        ("c1", "s1", T("2021-01-01"), T("2021-12-31"), "expired", None, 100.0),
        ("c1", "s2", T("2022-01-01"), T("2022-12-31"), "expired", "s1", 100.0),
        ("c1", "s3", T("2023-01-01"), T("2023-12-31"), "active", "s2", 120.0),
        # c2: two contracts 10 days apart, no renewed_from (grace link), lapsed
        ("c2", "t1", T("2021-03-01"), T("2022-02-28"), "expired", None, 50.0),
        ("c2", "t2", T("2022-03-10"), T("2023-03-09"), "expired", "", 50.0),
        # c3: cancelled in its first year
        ("c3", "u1", T("2022-05-01"), T("2023-04-30"), "cancelled", None, 10.0),
        # c4: monthly rolling, open ended, since mid 2021
        ("c4", "v1", T("2021-06-15"), pd.NaT, "active", None, 8.0),
        # c5: ended 10 days before as_of, renewal pending (within the grace)
        ("c5", "w1", T("2022-06-24"), T("2023-06-23"), "expired", None, 20.0),
        # c6: a gap longer than the grace: two chains; the second running
        ("c6", "x1", T("2021-02-01"), T("2022-01-31"), "expired", None, 30.0),
        ("c6", "x2", T("2022-06-01"), T("2023-05-31"), "expired", None, 30.0),
        ("c6", "x3", T("2023-06-01"), T("2024-05-31"), "active", "x2", 30.0),
        # c7: renewed_from names an unknown contract; c8: a contract renewed twice
        ("c7", "y1", T("2022-02-01"), T("2024-01-31"), "active", "zz", 5.0),
        ("c8", "z1", T("2022-01-01"), T("2022-12-31"), "expired", None, 7.0),
        ("c8", "z2", T("2023-01-01"), T("2023-12-31"), "active", "z1", 7.0),
        ("c8", "z3", T("2023-01-01"), T("2023-12-31"), "active", "z1", 7.0),
        # c9: cancelled with no end date (cannot be placed); c10: signs after as_of
        ("c9", "q1", T("2022-01-01"), pd.NaT, "cancelled", None, 9.0),
        ("c10", "p1", T("2023-08-01"), T("2024-07-31"), "active", None, 9.0),
    ]
    return pd.DataFrame(rows, columns=SUBS_COLUMNS)


def test_renewal_histories_from_a_handmade_table():
    h, notes = renewal_histories(handmade(), "2023-07-03", grace_days=30)
    assert list(h.columns) == HISTORY_COLUMNS
    got = {r.chain_id: (r.customer_id, r.signing_cohort, r.chain_contracts, r.renewals_made, r.chain_churned,
                        r.last_subscription_id) for r in h.itertuples()}
    assert got == {
        "s1": ("c1", "2021", 3, 2, False, "s3"),  # renewed_from links; running: 2 renewals made
        "t1": ("c2", "2021", 2, 1, True, "t2"),   # grace link (10 days); left after 1 renewal
        "u1": ("c3", "2022", 1, 0, True, "u1"),   # cancelled: left at its first decision
        "v1": ("c4", "2021", 1, 2, False, "v1"),  # open ended since 2021-06-15: 2 years covered
        "w1": ("c5", "2022", 1, 0, False, "w1"),  # pending: censored after 0 renewals
        "x1": ("c6", "2021", 1, 0, True, "x1"),   # 4-month gap > grace: lapsed
        "x2": ("c6", "2022", 2, 1, False, "x3"),
        "y1": ("c7", "2022", 1, 1, False, "y1"),  # unknown predecessor: a chain of its own
        "z1": ("c8", "2022", 2, 1, False, "z2"),  # first renewal of z1 kept ...
        "z3": ("c8", "2023", 1, 0, False, "z3"),  # ... the second starts a chain
    }
    assert h.set_index("chain_id").loc["s1", "period_value"] == pytest.approx(120.0 * 12)
    codes = {(n.code, n.kind): n.params for n in notes}
    assert codes[("retention.future_contracts", "info")]["n"] == 1
    assert codes[("retention.unknown_predecessor", "warning")] == {"n": 1}
    assert codes[("retention.branching", "warning")] == {"n": 1}
    assert codes[("retention.end_unknown", "warning")] == {"n": 1}
    for n in notes:
        assert render(n, "zh") and render(n, "en")


def test_grace_and_cohort_frequency_are_parameters():
    h, _ = renewal_histories(handmade(), "2023-07-03", grace_days=5)
    assert {"t1", "t2"} <= set(h["chain_id"])  # 10 days apart: no longer one chain
    h, _ = renewal_histories(handmade(), "2023-07-03", grace_days=200, cohort_freq="quarter")
    row = h.set_index("chain_id").loc["x1"]
    assert (row["chain_contracts"], row["signing_cohort"]) == (3, "2021Q1")
    with pytest.raises(ValueError):
        renewal_histories(handmade(), "2023-07-03", grace_days=30, cohort_freq="week")


def test_observed_survival_counts_and_censoring():
    obs = observed_survival(histories_of(REGULAR, "R"))
    np.testing.assert_allclose(obs["observed_survivors"], REGULAR)
    # censoring: of 4 chains, one left at decision 1, one is seen only to decision 1 (alive),
    # two survive 2 decisions: KM(2) = 3/4 * 2/2
    h = pd.DataFrame({"signing_cohort": "X", "renewals_made": [0, 1, 2, 2], "chain_churned": [True, False, False, False]})
    o = observed_survival(h)
    assert o["at_risk_chains"].tolist() == [4, 4, 2]
    np.testing.assert_allclose(o["observed_survival"], [1.0, 0.75, 0.75])
    t = truncate_histories(histories_of(REGULAR, "R"), 3)
    assert t["renewals_made"].max() == 3 and t["chain_churned"].sum() == 1000 - 653


# ---- cohorts, holdout, values ------------------------------------------------------------------------------
def _three_cohorts() -> pd.DataFrame:
    small = histories_of([20, 15, 12, 10], "2019")
    no_churn = histories_of([50, 50, 50], "2020").assign(chain_churned=False)
    short = histories_of([80, 60], "2021")
    return pd.concat([histories_of(REGULAR, "2017"), histories_of(HIGH_END, "2018"), small, no_churn, short],
                     ignore_index=True)


def test_fit_cohorts_fits_large_cohorts_and_notes_the_rest():
    fits, params, notes = fit_cohorts(_three_cohorts(), min_cohort_size=30)
    assert list(params.columns) == PARAM_COLUMNS
    assert sorted(fits) == ["2017", "2018"]
    assert round(fits["2017"].alpha, 3) == 0.668 and round(fits["2018"].beta, 3) == 1.182
    p = params.set_index("signing_cohort")
    assert p.loc["2019", "cohort_chains"] == 20 and np.isnan(p.loc["2019", "sbg_alpha"]) and not p.loc["2019", "sbg_fitted"]
    reasons = {n.params["cohort"]: n.params["reason"] for n in notes}
    assert all(n.kind == "omitted" and n.code == "retention.cohort_omitted" for n in notes)
    assert reasons == {"2019": Msg("retention.reason.too_small", n=20, min=30),
                       "2020": Msg("retention.reason.no_churn"),
                       "2021": Msg("retention.reason.too_short", periods=1)}
    assert "20" in render(notes[0], "en") and "30" in render(notes[0], "zh")


def test_holdout_table_on_the_paper_cohorts():
    """Holding out the last 2 of 7 years: the fit on years 1-5 predicts years 6-7, against
    the actual 551, 517 (regular) and 289, 262 (high end)."""
    h = pd.concat([histories_of(REGULAR, "R"), histories_of(HIGH_END, "H")], ignore_index=True)
    table, fits, notes = holdout_check(h, holdout_periods=2, min_cohort_size=30)
    assert list(table.columns) == HOLDOUT_COLUMNS and not notes
    for cohort, s in (("R", REGULAR), ("H", HIGH_END)):
        rows = table[table["signing_cohort"] == cohort]
        assert rows["renewal_period"].tolist() == [6, 7] and set(rows["calibration_periods"]) == {5}
        assert rows["actual_survivors"].tolist() == pytest.approx(s[6:])
        cal = fit_sbg(s[:6])
        assert fits[cohort].alpha == pytest.approx(cal.alpha, rel=1e-9)
        rates = np.array([(cal.beta + t - 1) / (cal.alpha + cal.beta + t - 1) for t in range(1, 8)])
        predicted = 1000 * np.cumprod(rates)[5:]
        np.testing.assert_allclose(rows["predicted_survivors"], predicted, rtol=1e-9)
        np.testing.assert_allclose(rows["survivors_error"], predicted - np.array(s[6:]), rtol=1e-9)
        np.testing.assert_allclose(rows["survivors_error_pct"], (predicted - np.array(s[6:])) / np.array(s[6:]))
        assert np.all(np.abs(rows["survivors_error_pct"]) < 0.05)  # the paper: sBG projects well
    short, _, notes = holdout_check(histories_of([500, 300, 200, 150], "S"), holdout_periods=2, min_cohort_size=30)
    assert short.empty and notes[0].params["reason"] == Msg("retention.reason.holdout_short", periods=3, needed=4)


def test_curves_and_values():
    h = pd.concat([histories_of(REGULAR, "R"), histories_of([40, 30, 25], "Z")], ignore_index=True)
    fits, _, _ = fit_cohorts(h, min_cohort_size=100)
    curves = retention_curves(h, fits, horizon_periods=5)
    assert list(curves.columns) == CURVE_COLUMNS and set(curves["signing_cohort"]) == {"R"}
    assert curves["renewal_period"].tolist() == list(range(13))
    assert curves["is_projection"].tolist() == [False] * 8 + [True] * 5
    assert curves["observed_survivors"].iloc[:8].tolist() == pytest.approx(REGULAR)
    assert curves["observed_survivors"].iloc[8:].isna().all()
    np.testing.assert_allclose(curves["fitted_survivors"], 1000 * survival(fits["R"].alpha, fits["R"].beta, np.arange(13)))
    values, notes = subscription_values(h, fits, discount_rate=0.1, horizon_periods=5)
    assert list(values.columns) == VALUE_COLUMNS and not notes
    assert len(values) == 491 + 25  # the chains still subscribed
    r = values[values["signing_cohort"] == "R"].iloc[0]
    a, b = fits["R"].alpha, fits["R"].beta
    assert r["next_renewal_prob"] == pytest.approx((b + 7) / (a + b + 7))
    assert r["derl"] == pytest.approx(float(derl(0.1, a, b, 7)))
    assert r["residual_value"] == pytest.approx(100.0 * r["derl"])
    assert values.loc[values["signing_cohort"] == "Z", "derl"].isna().all()  # not fitted: no substitute


def simulated_subscriptions(alpha: float, beta: float, n: int, seed: int) -> tuple[pd.DataFrame, str]:
    """Annual contracts signed in 2018 and 2019 by customers with churn ~ Beta(alpha, beta),
    half linked by renewed_from, half by dates only; as of 2025-03-31."""
    rng = np.random.default_rng(seed)
    lifetime = rng.geometric(rng.beta(alpha, beta, n))
    starts = T("2018-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    as_of, rows = T("2025-03-31"), []
    for i in range(n):
        prev = None
        for k in range(int(lifetime[i])):
            s = starts[i] + pd.DateOffset(years=k)
            if s > as_of:
                break
            e = s + pd.DateOffset(years=1) - pd.Timedelta(days=1)
            sid = f"S{i}-{k}"
            rows.append((f"C{i}", sid, s, e, "active" if e >= as_of else "expired",
                         prev if i % 2 else None, 100.0 + i % 7))
            prev = sid
    return pd.DataFrame(rows, columns=SUBS_COLUMNS), as_of


def test_retention_model_end_to_end_recovers_the_parameters():
    subs, as_of = simulated_subscriptions(0.9, 3.0, 3000, 7)
    m = retention_model(subs, as_of, grace_days=30, cohort_freq="year", period_months=12, min_cohort_size=100,
                        holdout_periods=1, horizon_periods=10, discount_rate_monthly=0.01)
    assert sorted(m.fits) == ["2018", "2019"] and len(m.histories) == 3000
    for f in m.fits.values():
        assert abs(f.alpha - 0.9) < 3 * f.se_alpha and abs(f.beta - 3.0) < 3 * f.se_beta
    assert m.discount_rate == pytest.approx(1.01 ** 12 - 1)
    assert set(m.holdout["signing_cohort"]) == {"2018", "2019"}
    assert np.all(np.abs(m.holdout["survivors_error_pct"]) < 0.1)
    assert (m.values["residual_value"] > 0).all() and not m.values.empty
    record = m.record()
    assert set(record["cohorts"]) == {"2018", "2019"}
    empty = retention_model(None, as_of, grace_days=30, cohort_freq="year", period_months=12, min_cohort_size=100,
                            holdout_periods=1, horizon_periods=10, discount_rate_monthly=0.01)
    assert empty.values.empty and [n.code for n in empty.notes] == ["retention.no_subscriptions"]
    assert empty.notes[0].kind == "omitted"


def test_every_frame_column_is_registered():
    cols = set(HISTORY_COLUMNS + PARAM_COLUMNS + CURVE_COLUMNS + HOLDOUT_COLUMNS + VALUE_COLUMNS)
    missing = sorted(c for c in cols if registry.column(c) is None)
    assert not missing, missing


# ---- the chart ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_retention_plot_draws_with_catalogue_labels(lang):
    h = pd.concat([histories_of(REGULAR, "2017"), histories_of(HIGH_END, "2018")], ignore_index=True)
    fits, _, _ = fit_cohorts(h, min_cohort_size=30)
    curves = retention_curves(h, fits, horizon_periods=5)
    holdout, _, _ = holdout_check(h, holdout_periods=2, min_cohort_size=30)
    ax = plot_retention_curves(curves, holdout, lang=lang)
    assert ax.get_title() == text("retention.plot.title", lang)
    assert ax.get_xlabel() == text("retention.plot.x", lang)
    assert ax.get_ylabel() == text("retention.plot.y_share", lang)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["2017", "2018"] + [text(f"retention.plot.{k}", lang) for k in
                                         ("observed", "fitted", "projected", "holdout", "holdout_prediction")]
    assert len(ax.patches) == 2  # one shaded holdout span per cohort
    observed = [l for l in ax.lines if l.get_marker() == "o"]
    assert sorted(len(l.get_xdata()) for l in observed) == [8, 8]
    ax2 = plot_retention_curves(curves, lang=lang, value="count")
    assert ax2.get_ylabel() == text("retention.plot.y_count", lang) and not ax2.patches
    plt.close("all")


def test_retention_model_says_when_no_contract_has_started():
    m = retention_model(handmade(), "2015-01-01", grace_days=30, cohort_freq="year", period_months=12,
                        min_cohort_size=10, holdout_periods=1, horizon_periods=5, discount_rate_monthly=0.01)
    assert m.histories.empty and m.params.empty and m.curves.empty and m.values.empty
    assert [(n.code, n.kind) for n in m.notes] == [("retention.future_contracts", "info"), ("retention.no_chains", "omitted")]
    assert "2015-01-01" in render(m.notes[1], "zh")
