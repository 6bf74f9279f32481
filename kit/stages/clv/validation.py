"""Holdout validation of BG/NBD: fit on a calibration period, predict the holdout.

Totals and per-customer errors against a naive baseline, the conditional expectation table
(FHL05 figure 4) and the cumulative tracking curve (figure 2).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kit.stages.clv.fit import fit_count_model
from kit.stages.clv.queries import PurchaseQueries
from kit.stages.clv.results import BgNbdResult
from kit.stages.summary import _days, _floor_one, _unit_days, purchase_counts
from kit.stages.summary import calibration_holdout


@dataclass(frozen=True)
class HoldoutValidation:
    """Out-of-sample check of BG/NBD: fit on the calibration, predict the holdout.

    Attributes
    ----------
    bgnbd : BgNbdResult
        The model fitted on the calibration summary.
    customers : DataFrame
        :func:`kit.summary.calibration_holdout` plus ``predicted`` (model) and ``naive``
        (baseline) expected holdout purchases, per customer.
    totals : dict
        ``actual``, ``predicted``, ``naive`` holdout repeat purchases summed over customers.
    errors : DataFrame
        Index ``model, naive``; columns ``mae, rmse`` of per-customer holdout purchases.
    conditional : DataFrame
        Index frequency_cal bin ``0 .. max_bin-1, "max_bin+"``; columns ``n, actual,
        predicted, naive`` (means per customer), FHL05 figure 4.
    tracking : DataFrame
        Index week 1..K since the first purchase in the data; columns ``date`` (last day
        counted), ``actual``, ``predicted`` cumulative repeat purchases, FHL05 figure 2.
    calibration_weeks : float
        Week (on the ``tracking`` index scale) where the calibration period ends.
    """

    bgnbd: BgNbdResult
    customers: pd.DataFrame
    totals: dict[str, float]
    errors: pd.DataFrame
    conditional: pd.DataFrame
    tracking: pd.DataFrame
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    calibration_weeks: float
    time_unit: str
    fits: dict[str, BgNbdResult] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None
    chosen: str = "bgnbd"


#: The purchase-count models compared on the holdout, in the order the table shows them.
MODELS = ("bgnbd", "mbgnbd", "pareto_nbd")


def _errors(pred: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Per-customer MAE and RMSE of a forecast (NaN when it has none)."""
    return float(np.mean(np.abs(pred - actual))), float(np.sqrt(np.mean((pred - actual) ** 2)))


def model_comparison(customers: pd.DataFrame, fits: dict[str, BgNbdResult]) -> pd.DataFrame:
    """The model-choice table: each model and the naive baseline on the holdout.

    Index ``model`` (the fitted kinds, then ``naive``); columns ``predicted`` and ``actual``
    (holdout repeat purchases summed over customers), ``error`` ((predicted - actual) /
    actual), ``mae``, ``rmse`` (per customer), ``log_likelihood`` (calibration fit; NaN for
    the baseline and for a failed fit).
    """
    actual = customers["frequency_holdout"].to_numpy(dtype=float)
    total = float(actual.sum())
    rows = []
    for kind, fit in fits.items():
        pred = customers[f"predicted_{kind}"].to_numpy(dtype=float)
        rows.append((kind, float(pred.sum()) if fit.converged_ else math.nan, *_errors(pred, actual),
                     fit.log_likelihood_))
    naive = customers["naive"].to_numpy(dtype=float)
    rows.append(("naive", float(naive.sum()), *_errors(naive, actual), math.nan))
    out = pd.DataFrame(rows, columns=["model", "predicted", "mae", "rmse", "log_likelihood"]).set_index("model")
    out.insert(1, "actual", total)
    out.insert(2, "error", (out["predicted"] - total) / total if total else math.nan)
    return out


def choose_model(comparison: pd.DataFrame, model: str = "auto") -> str:
    """``model`` itself, or for ``auto`` the fitted model with the lowest holdout MAE
    (BG/NBD when none could be compared)."""
    if model != "auto":
        return model
    fitted = comparison.drop(index="naive", errors="ignore")["mae"].dropna()
    return str(fitted.idxmin()) if len(fitted) else "bgnbd"


def naive_holdout_purchases(frequency_cal, T_cal, duration_holdout) -> np.ndarray:
    """Baseline forecast: each customer keeps buying at their calibration repeat rate.

    ``frequency_cal / T_cal * duration_holdout``: repeat purchases per time unit since the
    first purchase, projected over the holdout. A customer whose first purchase falls on the
    last calibration period (``T_cal = 0``) has no observed rate and is forecast 0.
    """
    f = np.asarray(frequency_cal, dtype=float)
    t = np.asarray(T_cal, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(t > 0, f / np.where(t > 0, t, 1.0), 0.0)
    return rate * np.asarray(duration_holdout, dtype=float)


def conditional_expectation_table(
    frequency_cal, actual, predicted, naive=None, *, max_bin: int = 7
) -> pd.DataFrame:
    """Mean actual vs predicted holdout purchases by calibration frequency (FHL05 fig. 4).

    Parameters
    ----------
    frequency_cal, actual, predicted, naive : array_like, one value per customer
    max_bin : int
        Frequencies >= ``max_bin`` are pooled in the bin ``"{max_bin}+"``.

    Returns
    -------
    DataFrame
        Index ``frequency_cal`` with labels ``"0" .. "{max_bin-1}", "{max_bin}+"`` (every bin,
        n = 0 where empty), columns ``n, actual, predicted [, naive]``.
    """
    f = np.minimum(np.asarray(frequency_cal, dtype=float), max_bin).astype(int)
    labels = [str(i) for i in range(max_bin)] + [f"{max_bin}+"]
    df = pd.DataFrame({"bin": np.asarray(labels)[f], "actual": np.asarray(actual, dtype=float),
                       "predicted": np.asarray(predicted, dtype=float)})
    if naive is not None:
        df["naive"] = np.asarray(naive, dtype=float)
    g = df.groupby("bin", sort=False)
    out = g.mean()
    out.insert(0, "n", g.size())
    out = out.reindex(labels)
    out["n"] = out["n"].fillna(0).astype(int)
    out.index.name = "frequency_cal"
    return out


def cumulative_tracking(
    bgnbd: BgNbdResult,
    transactions: pd.DataFrame | PurchaseQueries,
    observation_end,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    freq: str = "D",
    step_days: int = 7,
) -> pd.DataFrame:
    """Cumulative repeat purchases, actual vs the model's expectation, by calendar week.

    Every customer is counted from their first purchase date (their "birth"): at the end of
    week k, the expected cumulative repeat purchases are ``sum_customers E[X(age)]`` (FHL05
    eq. 9, unconditional) over customers born before that date, ``age`` being the time since
    birth in the model's unit; the actual count is the repeat purchase periods before that
    date. This is lifetimes' ``expected_cumulative_transactions(..., freq="D",
    freq_multiplier=7)`` (FHL05 figure 2), computed as one matrix product.

    Parameters
    ----------
    bgnbd : BgNbdResult
        Usually fitted on the calibration period.
    transactions : DataFrame
        ``customer_id, order_date`` rows; the curve starts at the earliest one.
    observation_end : date-like
        Last day shown.
    step_days : int
        Days per step of the curve (7: weeks).

    Returns
    -------
    DataFrame
        Index ``week`` 1..K (K = whole steps from the first date to ``observation_end``),
        columns ``date`` (last day counted), ``actual``, ``predicted``.
    """
    bgnbd._require()
    unit_days = _unit_days(bgnbd.time_unit_)
    end = _floor_one(observation_end, freq)
    if isinstance(transactions, pd.DataFrame):
        counts = purchase_counts(transactions, end, customer_col=customer_col, date_col=date_col, freq=freq)
    else:
        _daily(freq)
        counts = transactions.purchase_counts(end)
    if not len(counts):
        return pd.DataFrame({"date": pd.Series([], dtype="datetime64[ns]"),
                             "actual": pd.Series([], dtype=float), "predicted": pd.Series([], dtype=float)},
                            index=pd.Index([], name="week"))
    day = counts.index.to_numpy("datetime64[ns]")
    start = pd.Timestamp(day.min())
    n_steps = int((_days(end - start) + 1) // step_days)
    cuts = (start + pd.to_timedelta(np.arange(1, n_steps + 1) * step_days, unit="D")).to_numpy()

    born = counts["first_purchases"].to_numpy() > 0
    births, cohort = day[born], counts["first_purchases"].to_numpy()[born]
    age_days = _days(cuts[:, None] - births[None, :])  # (K steps, birth cohorts)
    expected = np.where(age_days > 0, bgnbd.expected_population(np.clip(age_days, 0, None) / unit_days), 0.0)
    predicted = expected @ cohort.astype(float)

    repeats_before = np.r_[0, np.cumsum(counts["repeat_purchases"].to_numpy())]
    actual = repeats_before[np.searchsorted(day, cuts, side="left")]
    return pd.DataFrame(
        {"date": cuts - np.timedelta64(1, "D"), "actual": actual.astype(float), "predicted": predicted},
        index=pd.Index(np.arange(1, n_steps + 1), name="week"),
    )


def _calibration_holdout(transactions: pd.DataFrame | PurchaseQueries, calibration_end, observation_end,
                         customer_col: str, date_col: str, freq: str, time_unit: str) -> pd.DataFrame:
    """The calibration summary and holdout counts, without amounts, from a frame or an engine."""
    if isinstance(transactions, pd.DataFrame):
        return calibration_holdout(transactions, calibration_end, observation_end, customer_col=customer_col,
                                   date_col=date_col, amount_col=None, freq=freq, time_unit=time_unit)
    _daily(freq)
    return transactions.calibration_holdout(_floor_one(calibration_end, freq), _floor_one(observation_end, freq),
                                            time_unit)


def _daily(freq: str) -> None:
    """An engine's answers count days; another period needs the frame."""
    if freq != "D":
        raise ValueError(f"an engine's purchase queries count daily periods; freq={freq!r} needs the transactions")


def _fit_and_predict(ch: pd.DataFrame, kinds: Sequence[str], penalizer: float, retry_penalizer: float,
                     max_param: float, time_unit: str) -> tuple[pd.DataFrame, dict[str, BgNbdResult]]:
    """Each model fitted on the calibration summary; ``naive`` and ``predicted_<kind>`` added."""
    cal = ch[["frequency_cal", "recency_cal", "T_cal"]].set_axis(["frequency", "recency", "T"], axis=1)
    fits = {k: fit_count_model(cal, k, penalizer, retry_penalizer, max_param, time_unit=time_unit) for k in kinds}
    ch = ch.copy()
    ch["naive"] = naive_holdout_purchases(ch["frequency_cal"], ch["T_cal"], ch["duration_holdout"])
    for k, fit in fits.items():
        ch[f"predicted_{k}"] = fit.expected_purchases(ch["duration_holdout"], ch["frequency_cal"], ch["recency_cal"],
                                                      ch["T_cal"]) if fit.converged_ else np.nan
    return ch, fits


def holdout_validation(
    transactions: pd.DataFrame | PurchaseQueries,
    calibration_end,
    observation_end,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    freq: str = "D",
    time_unit: str = "week",
    penalizer: float = 0.0,
    retry_penalizer: float = 0.001,
    max_param: float = 1e4,
    max_bin: int = 7,
    models: Sequence[str] = ("bgnbd",),
    model: str = "bgnbd",
) -> HoldoutValidation:
    """Fit BG/NBD on the calibration period and compare its holdout forecast with the data.

    Per customer, the model's forecast is E[Y(duration_holdout) | x, t_x, T] from the
    calibration history (FHL05 eq. 10); the naive baseline is
    :func:`naive_holdout_purchases` (the customer's own calibration repeat rate). Reported:
    holdout totals, per-customer MAE and RMSE of both, the conditional expectation table
    (FHL05 fig. 4) and the cumulative tracking curve over the whole period (fig. 2).

    Parameters
    ----------
    transactions : DataFrame or PurchaseQueries
        ``customer_id, order_date`` rows (extra columns are ignored), or an engine's answers
        (:mod:`kit.stages.clv.queries`: canonical columns, ``freq="D"``).
    calibration_end, observation_end : date-like
        Last day of the calibration and of the holdout period (inclusive).
    customer_col, date_col, freq, time_unit
        As for :func:`kit.summary.customer_summary`.
    penalizer, retry_penalizer, max_param
        As for :func:`fit_bgnbd`.
    max_bin : int
        Calibration frequencies >= this are pooled in the table.
    models : sequence of str
        The models fitted on the calibration period and compared (``model_comparison``).
    model : str
        The model whose forecast is ``predicted`` and ``bgnbd``: one of ``models``, or
        ``auto`` for the lowest per-customer MAE (:func:`choose_model`).

    Returns
    -------
    HoldoutValidation
        When the calibration fit fails, ``bgnbd.status_ == "failed"`` and the forecasts are NaN.
        ``bgnbd`` is the chosen model's calibration fit (``bgnbd.kind_`` says which).
    """
    ch = _calibration_holdout(transactions, calibration_end, observation_end, customer_col, date_col, freq,
                              time_unit)
    kinds = list(dict.fromkeys([*models, *([model] if model != "auto" else [])]))
    ch, fits = _fit_and_predict(ch, kinds, penalizer, retry_penalizer, max_param, time_unit)
    comparison = model_comparison(ch, fits)
    chosen = choose_model(comparison, model)
    bg = fits[chosen]
    ch["predicted"] = ch[f"predicted_{chosen}"]
    actual = ch["frequency_holdout"].to_numpy()
    errors = pd.DataFrame(
        {
            "mae": [np.mean(np.abs(ch[c].to_numpy() - actual)) for c in ("predicted", "naive")],
            "rmse": [np.sqrt(np.mean((ch[c].to_numpy() - actual) ** 2)) for c in ("predicted", "naive")],
        },
        index=pd.Index(["model", "naive"], name="forecast"),
    )
    totals = {"actual": float(actual.sum()), "predicted": float(ch["predicted"].sum(min_count=1)),
              "naive": float(ch["naive"].sum())}
    table = conditional_expectation_table(ch["frequency_cal"], ch["frequency_holdout"], ch["predicted"],
                                          ch["naive"], max_bin=max_bin)
    cal_end, obs_end = _floor_one(calibration_end, freq), _floor_one(observation_end, freq)
    if bg.converged_:
        tracking = cumulative_tracking(bg, transactions, obs_end, customer_col=customer_col,
                                       date_col=date_col, freq=freq)
        start = tracking["date"].iloc[0] - pd.Timedelta(days=6) if len(tracking) else cal_end
        cal_weeks = (_days(cal_end - start) + 1) / 7
    else:
        tracking, cal_weeks = pd.DataFrame(columns=["date", "actual", "predicted"]), math.nan
    return HoldoutValidation(bg, ch, totals, errors, table, tracking, cal_end, obs_end,
                             float(cal_weeks), time_unit, fits, comparison, chosen)


def holdout_split(first_date, as_of, holdout_days: int, *, min_calibration_days: int | None = None):
    """Calibration and observation ends for the validation, or None when the data is too short.

    The holdout is the last ``holdout_days`` days up to ``as_of``; the calibration runs from
    the first purchase to the day before. Fader, Hardie & Lee (2005) use equal halves (39 +
    39 weeks), so by default the calibration must be at least as long as the holdout.

    Returns
    -------
    (calibration_end, observation_end) : two Timestamps, or None
    """
    as_of = pd.Timestamp(as_of).normalize()
    cal_end = as_of - pd.Timedelta(days=int(holdout_days))
    need = int(holdout_days if min_calibration_days is None else min_calibration_days)
    if pd.isna(first_date) or (cal_end - pd.Timestamp(first_date).normalize()).days + 1 < need:
        return None
    return cal_end, as_of
