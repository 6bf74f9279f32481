"""Fitting BG/NBD (FHL05) and Gamma-Gamma (FH13): one fit, one penalised retry, notes.

Estimation is lifetimes' (``BetaGeoFitter``, ``GammaGammaFitter``) run on exact numpy
derivatives (:mod:`kit.stages.clv.likelihood`), on compressed unique patterns with weights.
A fit that fails (exception, implausible or non-finite estimates, non-finite predictions)
is retried once with ``retry_penalizer``; what happened is recorded in ``attempts_`` (codes)
and ``notes_`` (:class:`kit.core.notes.Note`), never as sentences.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kit.core.notes import Msg, Note
from kit.stages.clv import family_forms as forms
from kit.stages.clv.closed_forms import _conditional_expected_rows, _p_alive
from kit.stages.clv.family import mbgnbd_log_likelihood, pareto_nbd_log_likelihood
from kit.stages.clv.fitters import FastModifiedBetaGeoFitter, FastParetoNBDFitter
from kit.stages.clv.likelihood import (
    BGNBD_PARAMS,
    GG_PARAMS,
    _check_summary,
    _fast_fitter,
    bgnbd_log_likelihood,
    gamma_gamma_log_likelihood,
)
from kit.stages.clv.results import BgNbdResult, GammaGammaResult, clv_note
from kit.stages.summary import compress

#: Prefix of the message codes that say why one fit attempt failed (``clv.attempt.<reason>``).
ATTEMPT_PREFIX = "clv.attempt."


def _nan_params(names: Sequence[str]) -> dict[str, float]:
    return {k: math.nan for k in names}


def _problem(scaled: Mapping[str, float], max_param: float) -> Msg | None:
    """Why the estimates are implausible (a ``clv.attempt.*`` message), None when they look fine.

    ``scaled`` holds unit-free estimates (time scaled to max(T) = 1, spend to its median),
    so one bound serves every currency and time unit: an estimate above ``max_param`` or
    below ``1 / max_param`` means the optimiser ran off to a boundary of the parameter
    space (for BG/NBD typically: the data shows almost no drop-out).
    """
    vals = np.array(list(scaled.values()), dtype=float)
    if not np.all(np.isfinite(vals)):
        return Msg(ATTEMPT_PREFIX + "non_finite")
    big = ", ".join(f"{k} = {v:.3g}" for k, v in scaled.items() if v > max_param)
    if big:
        return Msg(ATTEMPT_PREFIX + "implausible", estimates=big, bound=float(max_param))
    small = ", ".join(f"{k} = {v:.3g}" for k, v in scaled.items() if v < 1 / max_param)
    if small:
        return Msg(ATTEMPT_PREFIX + "boundary", estimates=small, bound=float(1 / max_param))
    return None


def _error_reason(e: Exception) -> Msg:
    """Why a fit raised: lifetimes' ``ConvergenceError``, else the exception's type and first line."""
    if type(e).__name__ == "ConvergenceError":
        return Msg(ATTEMPT_PREFIX + "not_converged")
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    if not msg:
        return Msg(ATTEMPT_PREFIX + "error_bare", error=type(e).__name__)
    return Msg(ATTEMPT_PREFIX + "error", error=type(e).__name__, detail=msg)


def _attempt(make_fitter, fit_args: tuple, fit_kwargs: dict, scaled_of, max_param: float, extra_check=None):
    """Fit once; return ``(fitter, None)`` or ``(None, reason)`` saying why it failed.

    ``scaled_of(fitter)`` gives the unit-free estimates :func:`_problem` checks;
    ``extra_check(fitter)`` may add a model-specific problem (a ``clv.attempt.*`` message).
    """
    fitter = make_fitter()
    try:
        # lifetimes prints the optimiser's state on failure; keep it out of the report
        with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
            fitter.fit(*fit_args, **fit_kwargs)
    except Exception as e:  # noqa: BLE001 - any failure is recorded, then retried
        return None, _error_reason(e)
    problem = _problem(scaled_of(fitter), max_param) or (extra_check(fitter) if extra_check else None)
    return (None, problem) if problem else (fitter, None)


def _fit_with_retry(
    fitter_cls, data: pd.DataFrame, args: tuple, scaled_of: Callable, max_param: float,
    extra_check: Callable | None, penalizer: float, retry_penalizer: float,
) -> tuple[str, float, Any, list[tuple[float, Msg]]]:
    """The first fit, then (if it failed) the penalised retry.

    Returns ``(status, penalizer, fitter, tried)``: status ``ok``/``retried`` with the
    fitter that succeeded, or ``failed`` with ``fitter`` None; ``tried`` lists the failed
    attempts as ``(penalizer, reason)``.
    """
    tried: list[tuple[float, Msg]] = []
    for status, pen in (("ok", penalizer), ("retried", retry_penalizer)):
        fitter, problem = _attempt(lambda pen=pen: fitter_cls(penalizer_coef=pen), args,
                                   {"weights": data["weight"]}, scaled_of, max_param, extra_check)
        if problem is None:
            return status, pen, fitter, tried
        tried.append((pen, problem))
    return "failed", math.nan, None, tried


def _standard_errors(fitter, names_out: Sequence[str]) -> dict[str, float]:
    try:
        se = fitter.standard_errors_.to_numpy(dtype=float)
    except Exception:  # noqa: BLE001 - singular Hessian: report NaN, keep the estimates
        se = np.full(len(names_out), np.nan)
    return dict(zip(names_out, (float(v) for v in se)))


def _attempts(tried: list[tuple[float, Msg]], ok_penalizer: float | None = None) -> list[dict[str, Any]]:
    """``attempts_`` entries: penalizer, ok, the reason's code and its parameters."""
    out = [{"penalizer": p, "ok": False, "reason": why.code.removeprefix(ATTEMPT_PREFIX),
            "params": dict(why.params)} for p, why in tried]
    if ok_penalizer is not None:
        out.append({"penalizer": ok_penalizer, "ok": True, "reason": "converged", "params": {}})
    return out


def attempt_reason(attempt: Mapping[str, Any]) -> Msg:
    """The ``clv.attempt.*`` message of one ``attempts_`` entry."""
    return Msg(ATTEMPT_PREFIX + str(attempt["reason"]), **dict(attempt.get("params") or {}))


def _failed_note(code: str, tried: list[tuple[float, Msg]]) -> Note:
    (p1, why1), (p2, why2) = tried
    return clv_note(code, "omitted", p1=p1, why1=why1, p2=p2, why2=why2)


def _replace(result, **changes):
    return dataclasses.replace(result, **changes)


# --------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------


#: Display name of each purchase-count model (a proper name, the same in every language).
MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}

_LOG_LIKELIHOOD = {"bgnbd": bgnbd_log_likelihood, "mbgnbd": mbgnbd_log_likelihood,
                   "pareto_nbd": pareto_nbd_log_likelihood}


def _fitter_class(kind: str):
    if kind == "bgnbd":
        return _fast_fitter("bgnbd")
    return {"mbgnbd": FastModifiedBetaGeoFitter, "pareto_nbd": FastParetoNBDFitter}[kind]


def _bgnbd_checks(data: pd.DataFrame, args: tuple, kind: str = "bgnbd") -> tuple[Callable, Callable]:
    """``(scaled_of, predictions_finite)`` for :func:`_attempt` on the compressed ``data``."""
    scale = 1.0 / float(data["T"].max())  # lifetimes fits on time scaled to max(T) = 1
    names = forms.PARAM_NAMES[kind]

    def scaled_of(f):
        v = {k: float(f.params_[k]) for k in names}
        timed = {"alpha", "beta"}
        return {(f"{k}/max(T)" if k in timed else k): (x * scale if k in timed else x) for k, x in v.items()}

    def predictions_finite(f):
        prm = dict(zip(names, (float(v) for v in f.params_.to_numpy())))
        with np.errstate(all="ignore"):
            if kind == "bgnbd":
                ok = np.isfinite(_p_alive(prm, *args)) & np.isfinite(
                    _conditional_expected_rows(prm, data["T"].max(), *args)[:, 0])
            else:
                ok = np.isfinite(forms.p_alive(kind, prm, *args)) & np.isfinite(
                    forms.conditional_expected(kind, prm, data["T"].max(), *args))
        if ok.all():
            return None
        return Msg(ATTEMPT_PREFIX + "nonfinite_predictions", n=int((~ok).sum()))

    return scaled_of, predictions_finite


def _bgnbd_notes(n: int, k: int, ll: float, status: str, tried, penalizer: float, retry_penalizer: float,
                 se: Mapping[str, float], kind: str = "bgnbd") -> list[Note]:
    """What the notes of a successful BG/NBD (MBG/NBD, Pareto/NBD) fit say."""
    if kind == "bgnbd":
        notes = [clv_note("clv.bgnbd_fitted", "info", n=n, k=k, ll=ll)]
    else:
        notes = [clv_note(f"clv.{kind}_fitted", "info", n=n, k=k, ll=ll)]
    if status == "retried":
        p1, why = tried[0]
        notes.append(clv_note("clv.bgnbd_retried", "warning", p1=p1, why=why, penalizer=retry_penalizer))
    elif penalizer > 0:
        notes.append(clv_note("clv.penalized", "info", penalizer=penalizer))
    if not all(np.isfinite(list(se.values()))):
        notes.append(clv_note("clv.singular_hessian", "warning"))
    return notes


def fit_bgnbd(
    summary: pd.DataFrame,
    penalizer: float = 0.0,
    retry_penalizer: float = 0.001,
    max_param: float = 1e4,
    *,
    time_unit: str = "week",
    kind: str = "bgnbd",
) -> BgNbdResult:
    """Fit the BG/NBD model of FHL05 by maximum likelihood, retrying once with a penalty.

    The summary is compressed to unique ``(frequency, recency, T)`` patterns and fitted with
    weights (same estimates, far fewer rows). A fit fails when lifetimes raises (no
    convergence, singular Hessian), when an estimate is not finite, beyond ``max_param`` or
    below ``1 / max_param``, or when a prediction is not finite; it is then refitted with
    ``retry_penalizer`` and the notes say so.

    Parameters
    ----------
    summary : DataFrame
        One row per customer with ``frequency, recency, T`` (:func:`kit.summary.customer_summary`).
    penalizer : float
        L2 penalty of the first fit (lifetimes' ``penalizer_coef``).
    retry_penalizer : float
        Penalty of the retry after a failed first fit.
    max_param : float
        A unit-free estimate (time scaled to max(T) = 1) above ``max_param`` or below
        ``1 / max_param`` counts as a failed fit (the optimiser ran to a boundary), and so do
        non-finite predictions for any fitted history.
    time_unit : str
        Unit of ``recency`` and ``T``, recorded with the result (``alpha`` is in it).
    kind : {"bgnbd", "mbgnbd", "pareto_nbd"}
        The model (:func:`fit_count_model`); BG/NBD by default.

    Returns
    -------
    BgNbdResult
        ``status_`` "ok", "retried" or "failed" (then ``params_`` are NaN and the model
        cannot predict).
    """
    return fit_count_model(summary, kind, penalizer, retry_penalizer, max_param, time_unit=time_unit)


def fit_count_model(
    summary: pd.DataFrame,
    kind: str = "bgnbd",
    penalizer: float = 0.0,
    retry_penalizer: float = 0.001,
    max_param: float = 1e4,
    *,
    time_unit: str = "week",
) -> BgNbdResult:
    """Fit a purchase-count model: BG/NBD (FHL05), MBG/NBD (Batislam et al. 2007) or
    Pareto/NBD (Schmittlein et al. 1987), with the manners of :func:`fit_bgnbd`.

    On compressed ``(x, t_x, T)`` patterns with weights, with the kit's fitters (lifetimes'
    objective on exact derivatives; :mod:`kit.stages.clv.fitters`), one penalised retry.
    """
    _check_summary(summary)
    names = forms.PARAM_NAMES[kind]
    data = compress(summary)
    n, k = len(summary), len(data)
    failed = BgNbdResult(_nan_params(names), _nan_params(names), math.nan, n, k,
                         "failed", math.nan, time_unit, kind_=kind)
    code = "clv.bgnbd" if kind == "bgnbd" else f"clv.{kind}"
    if n == 0 or summary["frequency"].sum() == 0:
        why = Msg("clv.why.no_customers" if n == 0 else "clv.why.no_repeat_buyer")
        return _replace(failed, notes_=[clv_note(f"{code}_not_fitted", "omitted", why=why)])
    args = (data["frequency"], data["recency"], data["T"])
    scaled_of, predictions_finite = _bgnbd_checks(data, args, kind)
    status, pen, fitter, tried = _fit_with_retry(_fitter_class(kind), data, args, scaled_of, max_param,
                                                 predictions_finite, penalizer, retry_penalizer)
    if fitter is None:
        return _replace(failed, notes_=[_failed_note(f"{code}_failed", tried)], attempts_=_attempts(tried))

    params = dict(zip(names, (float(v) for v in fitter.params_[list(names)].to_numpy())))
    ll = _LOG_LIKELIHOOD[kind](params, data["frequency"], data["recency"], data["T"], data["weight"])
    se = _standard_errors(fitter, names)
    notes = _bgnbd_notes(n, k, ll, status, tried, penalizer, retry_penalizer, se, kind)
    return BgNbdResult(params, se, ll, n, k, status, pen, time_unit, notes, _attempts(tried, pen), fitter, kind)


# --------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------


def _spend_correlation(repeat: pd.DataFrame) -> float:
    """Pearson correlation of frequency and mean spend among repeat buyers (NaN when undefined)."""
    if len(repeat) > 2 and repeat["frequency"].nunique() > 1 and repeat["monetary_value"].nunique() > 1:
        return float(np.corrcoef(repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy())[0, 1])
    return math.nan


def _gg_scaled_of(f) -> dict[str, float]:
    p, q, v = (float(f.params_[k]) for k in ("p", "q", "v"))
    return {"p": p, "q": q, "gamma/median spend": v}


def _gg_q_check(f) -> Msg | None:
    q = float(f.params_["q"])
    return Msg(ATTEMPT_PREFIX + "q_le_one", q=q) if q <= 1 else None


def _gg_notes(n: int, excluded: int, pop: float, status: str, tried, retry_penalizer: float,
              corr: float, flag: bool, corr_warn: float) -> list[Note]:
    """What the notes of a successful Gamma-Gamma fit say."""
    notes = [clv_note("clv.gg_fitted", "info", n=n, excluded=excluded, pop=pop)]
    if status == "retried":
        p1, why = tried[0]
        notes.append(clv_note("clv.gg_retried", "warning", p1=p1, why=why, penalizer=retry_penalizer))
    if flag:
        notes.append(clv_note("clv.gg_correlation", "warning", corr=corr, corr_warn=corr_warn))
    return notes


def fit_gamma_gamma(
    summary: pd.DataFrame,
    penalizer: float = 0.0,
    retry_penalizer: float = 0.001,
    max_param: float = 1e4,
    *,
    corr_warn: float = 0.3,
    min_repeat_customers: int = 20,
) -> GammaGammaResult:
    """Fit the Gamma-Gamma model of mean spend (FH13) on the repeat buyers.

    Only customers with ``frequency > 0`` and ``monetary_value > 0`` enter the likelihood
    (a first purchase carries no spend information in the model). The model assumes spend
    is independent of purchase frequency; their Pearson correlation among the repeat buyers
    is reported and flagged above ``corr_warn``. With fewer than ``min_repeat_customers``
    repeat buyers, or when both the fit and its penalised retry fail (exception, non-finite
    or > ``max_param`` estimate, or ``q <= 1`` which leaves no finite population mean), the
    result is marked ``computed_ = False`` and says why.

    Parameters
    ----------
    summary : DataFrame
        One row per customer with ``frequency, monetary_value``.
    penalizer, retry_penalizer, max_param : float
        As for :func:`fit_bgnbd`; the fit runs on spend divided by its median, so ``gamma``
        is checked in those units (any currency), then reported in currency units.
    corr_warn : float
        Threshold on ``|corr(frequency, monetary_value)|`` for the warning.
    min_repeat_customers : int
        Fewest repeat buyers the model is fitted on.

    Returns
    -------
    GammaGammaResult
    """
    _check_summary(summary, ("frequency", "monetary_value"))
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    n, excluded = len(repeat), len(summary) - len(repeat)
    corr = _spend_correlation(repeat)
    flag = bool(np.isfinite(corr) and abs(corr) > corr_warn)
    notes: list[Note] = []
    nonpos = int(((summary["frequency"] > 0) & (summary["monetary_value"] <= 0)).sum())
    if nonpos:
        notes.append(clv_note("clv.gg_nonpositive_spend", "info", n=nonpos))
    base = dict(n_customers_=n, n_excluded_=excluded, corr_=corr, corr_warning_=flag)
    not_computed = dict(params_=_nan_params(GG_PARAMS), standard_errors_=_nan_params(GG_PARAMS),
                        log_likelihood_=math.nan, computed_=False, penalizer_=math.nan, **base)
    if n < min_repeat_customers:
        notes.append(clv_note("clv.gg_too_few", "omitted", n=n, min=min_repeat_customers))
        return GammaGammaResult(status_="too_few_repeat_buyers", notes_=notes, **not_computed)

    data = compress(repeat, ("frequency", "monetary_value"))
    # fit on spend / median spend: gamma is a scale parameter (same estimates, any currency)
    scale = float(repeat["monetary_value"].median())
    args = (data["frequency"], data["monetary_value"] / scale)
    status, pen, fitter, tried = _fit_with_retry(_fast_fitter("gamma_gamma"), data, args, _gg_scaled_of,
                                                 max_param, _gg_q_check, penalizer, retry_penalizer)
    if fitter is None:
        notes.append(_failed_note("clv.gg_failed", tried))
        return GammaGammaResult(status_="failed", notes_=notes, attempts_=_attempts(tried), **not_computed)

    _unscale_gamma_gamma(fitter, scale)
    params = dict(zip(GG_PARAMS, (float(fitter.params_[k]) for k in ("p", "q", "v"))))
    ll = gamma_gamma_log_likelihood(params, data["frequency"], data["monetary_value"], data["weight"])
    se = _standard_errors(fitter, GG_PARAMS)
    pop = params["gamma"] * params["p"] / (params["q"] - 1)
    notes += _gg_notes(n, excluded, pop, status, tried, retry_penalizer, corr, flag, corr_warn)
    return GammaGammaResult(params_=params, standard_errors_=se, log_likelihood_=ll,
                            computed_=True, status_=status, penalizer_=pen, notes_=notes,
                            attempts_=_attempts(tried, pen), model_=fitter, **base)


def _unscale_gamma_gamma(fitter, scale: float) -> None:
    """Put a Gamma-Gamma fitter fitted on spend / ``scale`` back in currency units.

    Only ``v`` (gamma) carries the unit. The Hessian is of the log-parameters, where scaling
    is a shift, so lifetimes' variance matrix recomputed with the rescaled ``v`` is the
    variance in currency units.
    """
    fitter.params_["v"] = fitter.params_["v"] * scale
    fitter.data["monetary_value"] = fitter.data["monetary_value"] * scale
    fitter.variance_matrix_ = fitter._compute_variance_matrix()
    fitter.standard_errors_ = fitter._compute_standard_errors()
    fitter.confidence_intervals_ = fitter._compute_confidence_intervals()
