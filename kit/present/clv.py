"""Display tables of the CLV stage (notebook 04_clv).

Every builder returns a frame with canonical columns (``kit/core/columns/*.yml``); the one
table function (``ctx.table`` / :func:`kit.present.table.table`) labels, formats, masks and
escapes it. Columns shown with more decimals than their registered kind are in
:data:`KINDS` (pass ``kinds=KINDS``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kit.present import messages
from kit.stages.clv import (
    GG_PARAMS,
    MODEL_NAMES,
    PARAM_NAMES,
    BgNbdResult,
    GammaGammaResult,
    HoldoutValidation,
    attempt_reason,
    conditional_expectation_table,
)
from kit.stages.clv.intervals import IntervalResult

#: Display kinds of the CLV tables beyond the registry's (estimates to 4 decimals, errors to 3).
KINDS: dict[str, str] = {"clv_estimate": "decimals:4", "clv_std_error": "decimals:4", "calibration_ll": "decimals:1",
                         "param_low": "decimals:4", "param_high": "decimals:4", "calibration_estimate": "decimals:4",
                         "mae": "decimals:3", "rmse": "decimals:3"}

#: Columns of :func:`top_customers`, those the spine has, in this order.
TOP_COLUMNS = ("name", "quadrant", "churn_risk")
#: The spine's columns 04_clv's page shows beside the model's (:data:`TOP_COLUMNS`, P(alive)
#: by churn risk and by health band, the ROI per quadrant, the 12-month revenue at risk).
SPINE_SHOWN = (*TOP_COLUMNS, "amount_12m", "health_score", "health_band")
MISSING = "–"


def params_table(bgnbd: BgNbdResult, gg: GammaGammaResult, intervals: IntervalResult | None = None,
                 calibration: BgNbdResult | None = None) -> pd.DataFrame:
    """Estimates and standard errors of both models, one row per parameter; with
    ``intervals`` their bounds (``param_low``, ``param_high``), with ``calibration`` the
    calibration fit's estimate beside the whole period's (``calibration_estimate``)."""
    rows = []
    count = (MODEL_NAMES[bgnbd.kind_], bgnbd, PARAM_NAMES[bgnbd.kind_], "count")
    for model, res, names, key in (count, ("Gamma-Gamma", gg, GG_PARAMS, "gamma_gamma")):
        bounds = intervals.parameters.get(key) if intervals is not None else None
        for k in names:
            lo, hi = (bounds.loc[k, "low"], bounds.loc[k, "high"]) if bounds is not None else (np.nan, np.nan)
            cal = calibration.params_.get(k, np.nan) if calibration is not None and key == "count" else np.nan
            rows.append((model, k, res.params_[k], res.standard_errors_[k], lo, hi, cal))
    out = pd.DataFrame(rows, columns=["clv_model", "clv_param", "clv_estimate", "clv_std_error", "param_low",
                                      "param_high", "calibration_estimate"])
    return out.drop(columns=[c for c in ("param_low", "param_high", "calibration_estimate") if out[c].isna().all()])


def interval_totals(customers: pd.DataFrame, intervals: IntervalResult, group: str) -> pd.DataFrame:
    """Total CLV per ``group`` (quadrant, value_tier) with its interval, one row per key."""
    t = intervals.totals[group]
    point = customers.groupby(customers[group].astype(object))["clv"].sum()
    return pd.DataFrame({group: list(t.index), "total_clv": point.reindex(t.index).to_numpy(),
                         "total_clv_low": t["low"].to_numpy(), "total_clv_high": t["high"].to_numpy()})


def validation_table(validation: HoldoutValidation) -> pd.DataFrame:
    """Holdout totals and per-customer errors of the model and of the naive baseline."""
    v = validation
    actual = v.totals["actual"]
    pred = [v.totals["predicted"], v.totals["naive"]]
    return pd.DataFrame({
        "clv_forecast": [v.chosen, "naive"],
        "predicted_purchases": pred,
        "actual_purchases": [actual] * 2,
        "forecast_error": [(p - actual) / actual if actual else np.nan for p in pred],
        "mae": v.errors["mae"].to_numpy(),
        "rmse": v.errors["rmse"].to_numpy(),
    })


def comparison_table(validation: HoldoutValidation) -> pd.DataFrame:
    """The model-choice table (:func:`kit.stages.clv.model_comparison`) with canonical columns."""
    c = validation.comparison
    return pd.DataFrame({
        "count_model": list(c.index), "predicted_purchases": c["predicted"].to_numpy(),
        "actual_purchases": c["actual"].to_numpy(), "forecast_error": c["error"].to_numpy(),
        "mae": c["mae"].to_numpy(), "rmse": c["rmse"].to_numpy(), "calibration_ll": c["log_likelihood"].to_numpy()})


def conditional_display(validation: HoldoutValidation) -> pd.DataFrame:
    """The conditional expectation table (FHL05 figure 4) with canonical columns: the chosen
    model (``holdout_model``) and, when several were compared, each model (``holdout_<kind>``)."""
    t = validation.conditional
    out = pd.DataFrame({"frequency_cal": t.index.astype(str), "n_customers": t["n"].to_numpy(),
                        "holdout_actual": t["actual"].to_numpy(), "holdout_model": t["predicted"].to_numpy()})
    c = validation.customers
    kinds = [k for k in validation.fits if f"predicted_{k}" in c.columns]
    if len(kinds) > 1:
        out = out.drop(columns="holdout_model")
        max_bin = len(t) - 1
        for k in kinds:
            by = conditional_expectation_table(c["frequency_cal"], c["frequency_holdout"], c[f"predicted_{k}"],
                                               max_bin=max_bin)
            out[f"holdout_{k}"] = by["predicted"].to_numpy()
    out["holdout_naive"] = t["naive"].to_numpy()
    return out


def roi_display(roi: pd.DataFrame) -> pd.DataFrame:
    """:func:`kit.stages.clv.roi_table` with canonical columns, one row per quadrant."""
    return pd.DataFrame({
        "quadrant": list(roi.index), "n_customers": roi["customers"].to_numpy(),
        "total_clv": roi["total_clv"].to_numpy(), "mean_clv": roi["mean_clv"].to_numpy(),
        "yearly_cost": roi["yearly_cost_per_customer"].to_numpy(),
        "cost_over_horizon": roi["total_cost"].to_numpy(), "roi": roi["roi"].to_numpy()})


def top_customers(customers: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The ``n`` customers with the highest CLV, with their layers.

    Names are shown as stored: ``ctx.table`` masks them by their registered PII role when
    ``report.mask_pii`` is on.
    """
    d = customers[customers["clv"].notna()].sort_values("clv", ascending=False).head(n)
    out = pd.DataFrame({"customer_id": d.index.astype(str)})
    for col in TOP_COLUMNS:
        if col in d.columns:
            out[col] = d[col].to_numpy()
    for col in ("p_alive", "exp_purchases", "exp_avg_value", "clv", "clv_low", "clv_high"):
        if col in d.columns:
            out[col] = d[col].to_numpy()
    return out


def headline_cards(customers: pd.DataFrame, horizon_months: int, lang: str, currency: str = "") -> list[dict[str, str]]:
    """Headline figures of the stage for ``kit.present.cards.show_cards``: scored customers,
    total and mean CLV, expected purchases over the horizon, mean P(alive)."""
    scored = customers[customers["p_alive"].notna()] if "p_alive" in customers else customers.iloc[:0]
    clv_known = scored["clv"].notna().any() if len(scored) else False

    def label(code: str) -> str:
        return messages.text(code, lang, horizon=horizon_months)

    return [
        {"label": label("clv.card.scored"), "value": f"{len(scored):,} / {len(customers):,}"},
        {"label": label("clv.card.total_clv"),
         "value": f"{currency}{scored['clv'].sum():,.0f}" if clv_known else MISSING},
        {"label": label("clv.card.mean_clv"),
         "value": f"{currency}{scored['clv'].mean():,.0f}" if clv_known else MISSING},
        {"label": label("clv.card.expected_purchases"),
         "value": f"{scored['exp_purchases'].sum():,.0f}" if len(scored) else MISSING},
        {"label": label("clv.card.mean_p_alive"),
         "value": f"{scored['p_alive'].mean():.1%}" if len(scored) else MISSING},
    ]


def attempt_text(attempt: Mapping[str, Any], lang: str) -> str:
    """One entry of ``attempts`` (``model_params.json``) in words: ``converged`` or why it failed."""
    return messages.render(attempt_reason(attempt), lang)
