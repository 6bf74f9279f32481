"""Probabilistic customer lifetime value: BG/NBD, MBG/NBD or Pareto/NBD + Gamma-Gamma,
validation, scoring, intervals, ROI.

Issue 15 added: the model family (:mod:`.family`, :mod:`.family_forms`, :mod:`.fitters`:
MBG/NBD and Pareto/NBD beside BG/NBD, fitted on the calibration period and compared on the
holdout; ``cfg.clv.model: auto`` takes the lowest per-customer MAE), zero-amount orders
counted as transactions but never as spend (:func:`transaction_mask`), the notes on what
the model cannot see (:mod:`.caveats`), intervals from the parameters' sampling
distribution (:mod:`.intervals`) and lifetimes' diagnostics (:mod:`.diagnostics`).

The pipeline of DOMAIN.md section 4, in the order a notebook calls it:

1. :func:`holdout_validation` fits BG/NBD on a calibration period and predicts the holdout
   (totals, per-customer errors against a naive baseline, the conditional expectation table,
   the cumulative tracking curve);
2. :func:`fit_bgnbd` and :func:`fit_gamma_gamma` fit the models on the whole period's
   :func:`kit.summary.customer_summary`;
3. :func:`score` gives every customer P(alive), expected purchases and spend and a discounted
   CLV; :func:`roi_table` sets CLV against the maintenance plan's cost;
4. :func:`assess` runs the three for notebook 04_clv and returns data and notes
   (:class:`kit.core.notes.Note`), never sentences; the notebook writes the artifacts.

Contract customers (issue 13): :mod:`.sbg` (the shifted-beta-geometric retention model of
Fader & Hardie 2007, DERL of Fader & Hardie 2010) and :mod:`.sbg_history` (renewal chains
from the subscriptions table, fits per signing cohort, curves, holdout check, residual value
per running contract): :func:`retention_model`.

Modules: :mod:`.likelihood` (input check, log-likelihoods, lifetimes' objectives with exact
derivatives, the fast fitters), :mod:`.closed_forms` (prediction formulas), :mod:`.results`
and :mod:`.fit` (the fitted models and how they are fitted), :mod:`.validation` (holdout),
:mod:`.scoring` (scores, ROI, matrices), :mod:`.assess` (the stage, ``model_params.json``).
Nothing here imports matplotlib or the presentation layer.

Estimation is lifetimes' (``BetaGeoFitter``, ``GammaGammaFitter``: the same objective and
the same BFGS run, on exact numpy derivatives instead of autograd; see "Maximum likelihood"
below), on compressed unique patterns with weights. Prediction uses the closed forms below
in numpy, so scoring millions of customers over an H-month horizon is one broadcast (the
hypergeometric part once per distinct frequency and age), not a loop of ``predict`` calls;
tests check them against lifetimes' methods.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the Easy Way:
An Alternative to the Pareto/NBD Model. *Marketing Science* 24(2), 275-284. [FHL05]

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis. *Journal of Marketing Research* 42(4), 415-430.

Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
http://brucehardie.com/notes/025/ [FH13]

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) Using the BG/NBD
Model. http://brucehardie.com/notes/021/
"""
from kit.stages.clv.assess import (
    SPINE_COLUMNS,
    SPINE_INPUTS,
    VALIDATION_PREFIX,
    ClvAssessment,
    _clean,
    assess,
    model_params_json,
    purchases_of,
    spine_with_scores,
    topic,
    TRANSACTION_COLUMNS,
    transaction_mask,
)
from kit.stages.clv.closed_forms import (
    _conditional_expected,
    _conditional_expected_rows,
    _denominator,
    _expected_population,
    _first,
    _hyp_part,
    _p_alive,
    _pairs,
)
from kit.stages.clv.fit import (
    ATTEMPT_PREFIX,
    _attempt,
    _attempts,
    _problem,
    _standard_errors,
    _unscale_gamma_gamma,
    attempt_reason,
    MODEL_NAMES,
    fit_bgnbd,
    fit_count_model,
    fit_gamma_gamma,
)
from kit.stages.clv.likelihood import (
    BGNBD_PARAMS,
    GG_PARAMS,
    LIFETIMES_PERIODS_PER_MONTH,
    _bfgs_as_lifetimes,
    _BgNbdObjective,
    _check_summary,
    _dot,
    _fast_fitter,
    _GammaGammaObjective,
    _to_log_space,
    bgnbd_log_likelihood,
    gamma_gamma_log_likelihood,
)
from kit.stages.clv.results import SECTION, BgNbdResult, CountModelResult, GammaGammaResult, clv_note
from kit.stages.clv.scoring import (
    CHURN_ORDER,
    _periods_per_month,
    churn_value_concentration,
    customer_margin,
    discounted_expected_purchases,
    expected_purchases_matrix,
    p_alive_by_churn_risk,
    p_alive_matrix,
    roi_table,
    score,
    spend_summary,
)
from kit.stages.clv.diagnostics import action_customers, incremental_tracking, p_alive_history, period_transactions
from kit.stages.clv.family import mbgnbd_log_likelihood, pareto_nbd_log_likelihood
from kit.stages.clv.family_forms import PARAM_NAMES
from kit.stages.clv.fitters import FastModifiedBetaGeoFitter, FastParetoNBDFitter
from kit.stages.clv.sbg import SbgFit, derl, fit_sbg, fit_sbg_individual, residual_value
from kit.stages.clv.sbg_history import RetentionModel, customer_residual_values, retention_model
from kit.stages.clv.validation import (
    MODELS,
    HoldoutValidation,
    choose_model,
    model_comparison,
    conditional_expectation_table,
    cumulative_tracking,
    holdout_split,
    holdout_validation,
    naive_holdout_purchases,
)

__all__ = [
    "RetentionModel", "SbgFit", "customer_residual_values", "derl", "fit_sbg", "fit_sbg_individual",
    "residual_value", "retention_model",
    "action_customers", "incremental_tracking", "p_alive_history", "period_transactions",
    "MODELS", "MODEL_NAMES", "PARAM_NAMES", "CountModelResult", "FastModifiedBetaGeoFitter", "FastParetoNBDFitter",
    "choose_model", "fit_count_model", "mbgnbd_log_likelihood", "model_comparison", "pareto_nbd_log_likelihood",
    "ATTEMPT_PREFIX", "BGNBD_PARAMS", "CHURN_ORDER", "GG_PARAMS", "LIFETIMES_PERIODS_PER_MONTH", "SECTION",
    "SPINE_COLUMNS", "SPINE_INPUTS", "VALIDATION_PREFIX", "BgNbdResult", "ClvAssessment", "GammaGammaResult",
    "HoldoutValidation", "assess", "attempt_reason", "bgnbd_log_likelihood", "churn_value_concentration",
    "clv_note", "conditional_expectation_table", "cumulative_tracking", "customer_margin",
    "discounted_expected_purchases", "expected_purchases_matrix", "fit_bgnbd", "fit_gamma_gamma",
    "gamma_gamma_log_likelihood", "holdout_split", "holdout_validation", "model_params_json",
    "naive_holdout_purchases", "p_alive_by_churn_risk", "purchases_of", "p_alive_matrix", "roi_table", "score",
    "spine_with_scores", "spend_summary", "topic", "transaction_mask", "TRANSACTION_COLUMNS",
]
