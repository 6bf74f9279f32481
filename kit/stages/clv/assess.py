"""The CLV stage (notebook 04_clv): validate, fit, score the spine; the model-parameter record.

:func:`assess` returns a :class:`ClvAssessment` (data and :class:`kit.core.notes.Note`
objects); the notebook writes ``customers.parquet`` (:func:`spine_with_scores`) and
``model_params.json`` (:meth:`ClvAssessment.model_params`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from kit.core.progress import step
from kit.core.config import Clv
from kit.core.notes import Msg, Note
from kit.stages.clv.caveats import caveats
from kit.stages.clv.intervals import INTERVAL_COLUMNS, IntervalResult, spine_intervals
from kit.stages.clv.fit import MODEL_NAMES, attempt_reason, fit_count_model, fit_gamma_gamma
from kit.stages.clv.results import BgNbdResult, GammaGammaResult, clv_note
from kit.stages.clv.scoring import customer_margin, score, spend_summary
from kit.stages.clv.validation import MODELS, HoldoutValidation, holdout_split, holdout_validation
from kit.stages.features import purchase_mask
from kit.stages.clv.queries import InProcessPurchases, PurchaseQueries

#: Columns 04_clv adds to the spine (docs/ARCHITECTURE.md).
SPINE_COLUMNS = ["p_alive", "exp_purchases", "exp_avg_value", "clv", "clv_rank", *INTERVAL_COLUMNS]
#: The spine's columns :func:`assess` reads: the margin's (:func:`customer_margin`) and the
#: groups of the interval totals (:func:`spine_intervals`); 04_clv reads these and what its
#: page shows (``kit.present.clv.SPINE_SHOWN``), not the whole spine.
SPINE_INPUTS = ("profit_total", "revenue_total", "quadrant", "value_tier")

#: Notes whose code starts with this belong to the validation section of the report.
VALIDATION_PREFIX = "clv.validation."

Topic = Literal["validation", "model"]


def topic(note: Note) -> Topic:
    """Where a CLV note is shown: ``validation`` (the holdout section) or ``model``."""
    return "validation" if note.code.startswith(VALIDATION_PREFIX) else "model"


@dataclass
class ClvAssessment:
    """Everything 04_clv computes (see :func:`assess`).

    Attributes
    ----------
    summary : DataFrame
        The whole-period customer summary the models were fitted on.
    validation : HoldoutValidation or None
        None when the data is too short for a holdout (a note says so).
    bgnbd, gg : BgNbdResult, GammaGammaResult
        Fitted on ``summary``.
    scores : DataFrame
        Index = the spine's; :data:`SPINE_COLUMNS` plus ``margin`` (NaN where not computed).
    notes : list of Note
        In report order, for ``ctx.notes_of``; :func:`topic` tells whether a note belongs
        to the validation section (``clv.validation.*`` codes) or to the model.
    settings : dict
        The settings used (for ``model_params.json``).
    indicative : bool
        The chosen model's holdout error is above the naive baseline's: CLV is indicative.
    intervals : IntervalResult or None
        ``cfg.clv.interval_level`` intervals (:mod:`kit.stages.clv.intervals`): per customer
        (also in ``scores``), total CLV per quadrant and tier, per parameter.
    """

    summary: pd.DataFrame
    validation: HoldoutValidation | None
    bgnbd: BgNbdResult
    gg: GammaGammaResult
    scores: pd.DataFrame
    notes: list[Note]
    settings: dict[str, Any]
    indicative: bool = False
    intervals: IntervalResult | None = None

    def notes_on(self, about: Topic) -> list[Note]:
        """The notes of one topic (``validation`` or ``model``), in report order."""
        return [n for n in self.notes if topic(n) == about]

    def model_params(self) -> dict[str, Any]:
        """The content of ``artifacts/model_params.json`` (:func:`model_params_json`)."""
        out = model_params_json(self.bgnbd, self.gg, self.validation, self.settings)
        out["clv_indicative"] = self.indicative
        out["intervals"] = _clean(_intervals_record(self.intervals)) if self.intervals is not None else None
        return out


#: The clean transactions' columns the CLV stage reads (a notebook reads only these).
TRANSACTION_COLUMNS = ("customer_id", "order_date", "amount", "is_return")


def transaction_mask(transactions: pd.DataFrame) -> pd.Series:
    """Rows the purchase-count models count: purchases and zero-amount orders.

    :func:`kit.stages.features.purchase_mask` (not a return, amount > 0) plus the rows of
    amount 0 that are not returns. Such rows reach the clean data only with
    ``cleaning.zero_amount: keep`` (samples, free replacements: the BTYD convention counts
    them as transactions; CDNOW has 80); an order netted to zero by its refund is
    quarantined as ``fully_refunded`` and never arrives here. They never enter spend
    (:func:`kit.stages.summary.customer_summary` with ``positive_spend``).
    """
    amount = pd.to_numeric(transactions["amount"]).astype(float)
    zero = amount == 0
    if "is_return" in transactions.columns:
        zero &= ~transactions["is_return"].fillna(False).astype(bool)
    return purchase_mask(transactions) | zero


def purchases_of(transactions: pd.DataFrame | PurchaseQueries, customer_ids) -> pd.DataFrame:
    """``customer_id, order_date`` of the rows the models count (:func:`transaction_mask`)
    for a few customers (:func:`kit.stages.clv.diagnostics.p_alive_history`'s), from a frame
    or from an engine's answers."""
    if isinstance(transactions, pd.DataFrame):
        transactions = InProcessPurchases(transactions[transaction_mask(transactions).to_numpy()])
    return transactions.rows_of(list(customer_ids))


def _purchases(transactions: pd.DataFrame) -> pd.DataFrame:
    """The transactions (:func:`transaction_mask`), customer ids coded once."""
    purchases = transactions[transaction_mask(transactions).to_numpy()]
    if len(purchases) and not isinstance(purchases["customer_id"].dtype, pd.CategoricalDtype):
        # three summaries below (calibration, tracking, whole period): code the ids once
        purchases = purchases.assign(customer_id=pd.Categorical(purchases["customer_id"]))
    return purchases


def _attempts_msg(attempts: list[dict[str, Any]]) -> Msg:
    """Why every fit attempt failed, as one message (attempts chained in order)."""
    if not attempts:
        return Msg("clv.why.no_repeat_purchases")
    first = Msg("clv.why.attempt", penalizer=attempts[0]["penalizer"], why=attempt_reason(attempts[0]))
    if len(attempts) == 1:
        return first
    return Msg("clv.why.attempts", first=first, rest=_attempts_msg(attempts[1:]))


def _validate(purchases: PurchaseQueries, as_of: pd.Timestamp, cfg: Clv,
              fit_kw: dict[str, float]) -> tuple[HoldoutValidation | None, list[Note]]:
    """The holdout validation, or None with a note saying why it is omitted."""
    split = holdout_split(purchases.first_date(), as_of, cfg.holdout_days,
                          min_calibration_days=cfg.min_calibration_days)
    if split is None:
        return None, [clv_note("clv.validation.too_short", "omitted", holdout_days=cfg.holdout_days)]
    validation = holdout_validation(purchases, *split, time_unit=cfg.time_unit,
                                    max_bin=cfg.max_frequency_bin, models=MODELS, model=cfg.model, **fit_kw)
    if validation.bgnbd.converged_:
        return validation, [_choice_note(validation, cfg.model)]
    why = _attempts_msg(validation.bgnbd.attempts_)
    return None, [clv_note("clv.validation.failed", "omitted", date=f"{split[0]:%Y-%m-%d}", why=why)]


def _choice_note(validation: HoldoutValidation, model: str) -> Note:
    """Which model scores the customers and how it did on the holdout against the others."""
    cmp = validation.comparison
    chosen = validation.chosen
    mae = float(cmp.loc[chosen, "mae"])
    others = cmp.drop(index=[chosen, "naive"])["mae"].dropna()
    runner = str(others.idxmin()) if len(others) else None
    params = dict(model=MODEL_NAMES[chosen], mae=mae, naive_mae=float(cmp.loc["naive", "mae"]))
    if runner is None:
        return clv_note("clv.validation.model_only", "info", **params)
    gap = float(others.min()) - mae
    params.update(runner=MODEL_NAMES[runner], runner_mae=float(others.min()),
                  share=gap / float(others.min()) if float(others.min()) else 0.0)
    code = "clv.validation.model_auto" if model == "auto" else "clv.validation.model_set"
    return clv_note(code, "info", **params)


def _chosen_model(validation: HoldoutValidation | None, cfg: Clv) -> tuple[str, list[Note]]:
    """The model that scores: the validation's choice, else the configured one (auto without a
    holdout: BG/NBD, with a note)."""
    if validation is not None:
        return validation.chosen, []
    if cfg.model != "auto":
        return cfg.model, []
    return "bgnbd", [clv_note("clv.validation.auto_without_holdout", "warning")]


def _margin_note(margin: pd.Series, default: float) -> Note:
    n_data = margin.attrs["n_from_data"]
    if n_data:
        return clv_note("clv.margin_from_data", "info", n=n_data, n_default=len(margin) - n_data, margin=default)
    return clv_note("clv.margin_default", "info", margin=default)


def _scores(customers: pd.DataFrame, summary: pd.DataFrame, bg: BgNbdResult, gg: GammaGammaResult,
            margin: pd.Series, cfg: Clv) -> tuple[pd.DataFrame, list[Note]]:
    """:func:`score` on the spine's customers with purchases; the others NaN (and a note)."""
    scores = pd.DataFrame(np.nan, index=customers.index, columns=[*SPINE_COLUMNS, "margin"])
    scores["clv_rank"] = pd.array([pd.NA] * len(scores), dtype="Int64")
    if not bg.converged_:
        return scores, []
    common = customers.index.intersection(summary.index)
    scored = score(summary.loc[common], bg, gg, cfg.horizon_months, cfg.discount_rate_monthly,
                   margin.loc[common], periods_per_month=cfg.periods_per_month)
    missing = len(customers.index.difference(summary.index))
    notes = [clv_note("clv.unscored", "warning", n=missing)] if missing else []
    return scored.reindex(customers.index), notes


def assess(transactions: pd.DataFrame | PurchaseQueries, customers: pd.DataFrame, as_of,
           settings: Clv | None = None) -> ClvAssessment:
    """The CLV stage: validate on a holdout, fit on the whole period, score the spine.

    Clean transactions (``docs/ARCHITECTURE.md``; purchases = :func:`kit.stages.features.purchase_mask`)
    and the spine (index ``customer_id``; ``profit_total, revenue_total`` used for the
    margin) -> :class:`ClvAssessment`. ``settings`` is ``cfg.clv`` (:class:`kit.core.config.Clv`;
    default values when None). ``transactions`` may also be an engine's answers to the
    stage's questions (:mod:`kit.stages.clv.queries`): only per-customer tables come back.
    """
    cfg = settings if settings is not None else Clv()
    as_of = pd.Timestamp(as_of).normalize()
    purchases = (InProcessPurchases(_purchases(transactions)) if isinstance(transactions, pd.DataFrame)
                 else transactions)
    fit_kw = dict(penalizer=cfg.penalizer, retry_penalizer=cfg.retry_penalizer, max_param=cfg.max_param)
    with step("clv", "holdout validation", rows=purchases.n_rows):
        validation, notes = _validate(purchases, as_of, cfg, fit_kw)

    summary = purchases.summary(as_of, cfg.time_unit)
    kind, choice_notes = _chosen_model(validation, cfg)
    notes += choice_notes
    with step("clv", f"{kind} and Gamma-Gamma fitted", rows=len(summary)):
        bg = fit_count_model(summary, kind, time_unit=cfg.time_unit, **fit_kw)
        gg = fit_gamma_gamma(spend_summary(summary), corr_warn=cfg.corr_warn,
                             min_repeat_customers=cfg.min_repeat_customers, **fit_kw)
    notes += [*bg.notes_, *gg.notes_]
    cv = caveats(summary, validation, kind, time_unit=cfg.time_unit, one_time_share_warn=cfg.one_time_share_warn,
                 min_calibration_cycles=cfg.min_calibration_cycles)
    notes += cv.notes

    margin = customer_margin(customers, cfg.margin, cfg.use_order_margin)
    notes.append(_margin_note(margin, cfg.margin))
    with step("clv", "customers scored", rows=len(customers)):
        scores, score_notes = _scores(customers, summary, bg, gg, margin, cfg)
    with step("clv", f"{cfg.interval_level:.0%} intervals from {cfg.interval_draws} parameter draws", rows=len(summary)):
        iv = spine_intervals(customers, summary, bg, gg, margin, level=cfg.interval_level,
                             n_draws=cfg.interval_draws, seed=cfg.interval_seed, horizon_months=cfg.horizon_months,
                             discount_rate_monthly=cfg.discount_rate_monthly, periods_per_month=cfg.periods_per_month)
    if iv is not None:
        scores[INTERVAL_COLUMNS] = iv.customers[INTERVAL_COLUMNS]
    return ClvAssessment(summary, validation, bg, gg, scores, notes + score_notes, cfg.model_dump(), cv.indicative,
                         iv)


def spine_with_scores(result: ClvAssessment, customers: pd.DataFrame) -> pd.DataFrame:
    """The spine with :data:`SPINE_COLUMNS` from ``result`` (replacing any it had), last.

    The notebook writes it (``ctx.write_customers``) with ``result.model_params()``
    (``ctx.write_json("model_params", ...)``).
    """
    out = customers.drop(columns=[c for c in SPINE_COLUMNS if c in customers.columns])
    return out.join(result.scores[SPINE_COLUMNS])


# --------------------------------------------------------------------------------------
# model_params.json
# --------------------------------------------------------------------------------------


def _clean(v: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python, notes -> dicts."""
    if isinstance(v, Note):
        return _clean(v.as_dict())
    if isinstance(v, Mapping):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return v


def _bgnbd_record(bgnbd: BgNbdResult) -> dict[str, Any]:
    return {
        "model": bgnbd.kind_, "params": bgnbd.params_, "standard_errors": bgnbd.standard_errors_,
        "log_likelihood": bgnbd.log_likelihood_, "n_customers": bgnbd.n_customers_,
        "n_patterns": bgnbd.n_patterns_, "status": bgnbd.status_, "converged": bgnbd.converged_,
        "penalizer": bgnbd.penalizer_, "time_unit": bgnbd.time_unit_, "attempts": bgnbd.attempts_,
        "notes": bgnbd.notes_,
    }


def _gamma_gamma_record(gg: GammaGammaResult) -> dict[str, Any]:
    return {
        "params": gg.params_, "standard_errors": gg.standard_errors_,
        "log_likelihood": gg.log_likelihood_, "n_customers": gg.n_customers_,
        "n_excluded": gg.n_excluded_, "corr_frequency_spend": gg.corr_,
        "corr_warning": gg.corr_warning_, "computed": gg.computed_, "status": gg.status_,
        "penalizer": gg.penalizer_,
        "population_mean_spend": gg.population_mean_ if gg.computed_ else None,
        "attempts": gg.attempts_, "notes": gg.notes_,
    }


def _intervals_record(iv: IntervalResult) -> dict[str, Any]:
    return {
        "method": "asymptotic normal of the MLE in log-parameters, covariance inv(exact Hessian) / customers",
        "level": iv.level, "draws": iv.n_draws,
        "parameters": {k: t.to_dict(orient="index") for k, t in iv.parameters.items()},
        "totals": {k: t.to_dict(orient="index") for k, t in iv.totals.items()},
    }


def _validation_record(v: HoldoutValidation) -> dict[str, Any]:
    return {
        "calibration_end": v.calibration_end, "observation_end": v.observation_end,
        "time_unit": v.time_unit, "n_customers": int(len(v.customers)),
        "totals": v.totals, "errors": v.errors.to_dict(orient="index"),
        "calibration_params": v.bgnbd.params_, "calibration_log_likelihood": v.bgnbd.log_likelihood_,
        "calibration_status": v.bgnbd.status_, "notes": v.bgnbd.notes_,
        "model": v.chosen,
        "comparison": v.comparison.to_dict(orient="index") if v.comparison is not None else None,
        "calibration_fits": {k: {"params": f.params_, "standard_errors": f.standard_errors_,
                                 "log_likelihood": f.log_likelihood_, "status": f.status_}
                             for k, f in v.fits.items()},
    }


def model_params_json(
    bgnbd: BgNbdResult,
    gg: GammaGammaResult | None = None,
    validation: HoldoutValidation | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything ``artifacts/model_params.json`` records about the CLV models.

    Returns
    -------
    dict
        ``bgnbd`` and ``gamma_gamma`` (params, standard_errors, log_likelihood, counts,
        status, penalizer, attempts with reason codes, notes as ``{code, params, kind,
        section}``), ``validation`` (period ends, totals, errors, and the calibration
        model's parameters), ``settings`` as given, ``references``. JSON-safe (NaN becomes
        null).
    """
    out: dict[str, Any] = {"count_model": bgnbd.kind_, bgnbd.kind_: _bgnbd_record(bgnbd)}
    if gg is not None:
        out["gamma_gamma"] = _gamma_gamma_record(gg)
    if validation is not None:
        out["validation"] = _validation_record(validation)
    if settings is not None:
        out["settings"] = dict(settings)
    out["references"] = [
        "Fader, Hardie & Lee (2005), Counting Your Customers the Easy Way, Marketing Science 24(2)",
        "Fader & Hardie (2013), The Gamma-Gamma Model of Monetary Value, brucehardie.com/notes/025",
    ]
    return _clean(out)
