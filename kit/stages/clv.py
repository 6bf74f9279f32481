"""Probabilistic customer lifetime value: BG/NBD + Gamma-Gamma, validation, scoring, ROI.

The pipeline of DOMAIN.md section 4, in the order a notebook calls it:

1. :func:`holdout_validation` fits BG/NBD on a calibration period and predicts the holdout
   (totals, per-customer errors against a naive baseline, the conditional expectation table,
   the cumulative tracking curve);
2. :func:`fit_bgnbd` and :func:`fit_gamma_gamma` fit the models on the whole period's
   :func:`kit.summary.customer_summary`;
3. :func:`score` gives every customer P(alive), expected purchases and spend and a discounted
   CLV; :func:`roi_table` sets CLV against the maintenance plan's cost.

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
from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit, gammaln, hyp2f1

from kit.stages.summary import _days, _floor_one, _period_purchases, _unit_days
from kit.stages.summary import calibration_holdout, compress, customer_summary
from kit.present.labels import tr as _t
from kit.present.report import with_formats as _with_formats

#: Model time units per month in lifetimes' ``customer_lifetime_value`` (``freq`` W, D, M).
#: The kit uses them by default so its CLV equals lifetimes'; note that they differ slightly
#: from the 30.4375-day month of :data:`kit.summary.TIME_UNIT_DAYS` (4.345 vs 4.348 weeks).
LIFETIMES_PERIODS_PER_MONTH: dict[str, float] = {"day": 30.0, "week": 4.345, "month": 1.0}

BGNBD_PARAMS = ("r", "alpha", "a", "b")
GG_PARAMS = ("p", "q", "gamma")

Note = dict[str, str]  # {"kind": "info" | "warning" | "omitted", "zh": ..., "en": ...}


def _note(kind: str, zh: str, en: str) -> Note:
    return {"kind": kind, "zh": zh, "en": en}


# --------------------------------------------------------------------------------------
# Input check (the one place; precise messages)
# --------------------------------------------------------------------------------------


def _check_summary(
    summary: pd.DataFrame,
    cols: Sequence[str] = ("frequency", "recency", "T"),
    *,
    name: str = "summary",
) -> None:
    """Raise ``ValueError`` when ``summary`` is not a valid customer summary.

    Checks, in lifetimes' order: required columns, missing values, recency > T, non-zero
    recency with zero frequency, negative recency, non-integer or negative frequency.
    """
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame (got {type(summary).__name__})")
    missing = [c for c in cols if c not in summary.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(map(repr, missing))} missing from {name}")
    for c in cols:
        if summary[c].isna().any():
            raise ValueError(f"{name}[{c!r}] has missing values")
    if len(cols) >= 3:
        f, r, t = (summary[c].to_numpy(dtype=float) for c in cols[:3])
        if np.any(r > t + 1e-12):
            raise ValueError("Some values in recency vector are larger than T vector.")
        if np.any(r[f == 0] != 0):
            raise ValueError("There exist non-zero recency values when frequency is zero.")
        if np.any(r < 0):
            raise ValueError("There exist negative recency (ex: last order set before first order)")
    f = summary[cols[0]].to_numpy(dtype=float)
    if np.any(f != np.round(f)) or np.any(f < 0):
        raise ValueError("There exist non-integer or negative values in the frequency vector.")


# --------------------------------------------------------------------------------------
# Closed forms (numpy, broadcasting)
# --------------------------------------------------------------------------------------


def bgnbd_log_likelihood(
    params: Mapping[str, float],
    frequency,
    recency,
    T,
    weights=None,
) -> float:
    """BG/NBD log-likelihood, FHL05 eq. (6), in the time unit of ``recency`` and ``T``.

    ``weights`` counts customers per row (compressed data). Unlike lifetimes' objective,
    which works on time scaled to max(T) = 1 and averages, this is the paper's total, so
    it is comparable with published values (CDNOW sample: -9582.4 in weeks).
    """
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    t = np.asarray(T, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + t)
    a4 = np.where(
        x > 0,
        np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + tx),
        -np.inf,
    )
    return float(np.sum(w * (a1 + a2 + np.logaddexp(a3, a4))))


def gamma_gamma_log_likelihood(params: Mapping[str, float], frequency, monetary_value, weights=None) -> float:
    """Gamma-Gamma log-likelihood of the mean spends ``m_x`` given ``x``, FH13 eq. (1)."""
    p, q, v = (params[k] for k in GG_PARAMS)
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    ll = (
        gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(v + m * x)
    )
    return float(np.sum(w * ll))


def _first(params: Mapping[str, float], x):
    """``(a + b + x - 1) / (a - 1)``, the leading factor of FHL05 eq. (10)."""
    return (params["a"] + params["b"] + x - 1) / (params["a"] - 1)


def _hyp_part(params: Mapping[str, float], t, x, T) -> np.ndarray:
    """``1 - 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t)) ((alpha + T) / (alpha + T + t))^(r + x)``.

    The part of FHL05 eq. (10) that depends on ``t, x, T`` but not on ``t_x``: the costly
    one (a Gauss hypergeometric function), so callers evaluate it once per distinct
    ``(x, T)``. Where the series overflows, Euler's transformation is used (as lifetimes does).
    Call under ``np.errstate(all="ignore")``.
    """
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    _a, _b, _c = r + x, b + x, a + b + x - 1
    z = t / (alpha + T + t)
    ln_hyp = np.log(hyp2f1(_a, _b, _c, z))
    bad = np.isinf(ln_hyp)
    if np.any(bad):
        ln_alt = np.log(hyp2f1(_c - _a, _c - _b, _c, z)) + (_c - _a - _b) * np.log1p(-z)
        ln_hyp = np.where(bad, ln_alt, ln_hyp)
    return 1 - np.exp(ln_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))


def _denominator(params: Mapping[str, float], x, tx, T):
    """``1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)`` of FHL05 eq. (10)."""
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    return 1 + (x > 0) * (a / (b + np.maximum(x, 1) - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)


def _conditional_expected(params: Mapping[str, float], t, x, tx, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T], FHL05 eq. (10); arrays broadcast (same steps as lifetimes)."""
    t, x, tx, T = (np.asarray(v, dtype=float) for v in (t, x, tx, T))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return _first(params, x) * _hyp_part(params, t, x, T) / _denominator(params, x, tx, T)


def _pairs(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(x, T)`` pairs of two 1-D arrays and, per row, the index of its pair.

    Hash-based (``pd.factorize``), no sort: customers share few (frequency, age) pairs.
    """
    cx, ux = pd.factorize(x)
    ct, ut = pd.factorize(T)
    k = max(len(ut), 1)
    pair, keys = pd.factorize(cx.astype(np.int64) * k + ct)
    return np.asarray(ux)[keys // k], np.asarray(ut)[keys % k], pair


def _conditional_expected_rows(params: Mapping[str, float], ts, x, tx, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] for 1-D customer arrays and each ``t`` of ``ts``: (customers, len(ts)).

    Same formula as :func:`_conditional_expected`; the hypergeometric part is evaluated once
    per distinct ``(x, T)`` pair and horizon instead of once per customer and horizon.
    """
    x, tx, T = (np.asarray(v, dtype=float).ravel() for v in (x, tx, T))
    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    xu, tu, pair = _pairs(x, T)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        hyp = _hyp_part(params, ts[None, :], xu[:, None], tu[:, None])
        return (_first(params, x) / _denominator(params, x, tx, T))[:, None] * hyp[pair]


def _p_alive(params: Mapping[str, float], x, tx, T) -> np.ndarray:
    """P(alive | x, t_x, T) of the BG/NBD (Fader, Hardie & Lee 2008, note 021); 1 when x = 0."""
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    log_div = (r + x) * np.log((alpha + T) / (alpha + tx)) + np.log(a / (b + np.maximum(x, 1) - 1))
    return np.where(x == 0, 1.0, expit(-log_div))


def _expected_population(params: Mapping[str, float], t) -> np.ndarray:
    """E[X(t)], expected repeat purchases of a new customer in (0, t], FHL05 eq. (9)."""
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    t = np.asarray(t, dtype=float)
    hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - hyp * (alpha / (alpha + t)) ** r)


# --------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdResult:
    """A fitted BG/NBD model (FHL05) and what was done to fit it.

    Attributes
    ----------
    params_ : dict
        ``r, alpha, a, b`` (``alpha`` in ``time_unit_``); NaN when the fit failed.
    standard_errors_ : dict
        Asymptotic standard errors from the inverse Hessian of the log-likelihood at the
        optimum (delta method from lifetimes' log-parameters).
    log_likelihood_ : float
        FHL05 eq. (6) summed over customers, without the penalty term.
    n_customers_, n_patterns_ : int
        Customers fitted and distinct ``(x, t_x, T)`` patterns the optimiser saw.
    status_ : {"ok", "retried", "failed"}
        ``retried``: the first fit failed and the penalised retry succeeded.
    penalizer_ : float
        L2 penalty of the fit that produced ``params_``.
    notes_ : list of dict
        What was done, for the report: ``{"kind", "zh", "en"}``.
    attempts_ : list of dict
        One per fit tried: ``{"penalizer", "ok", "en", "zh"}`` (why it failed, when it did).
    model_ : lifetimes.BetaGeoFitter or None
        The underlying fitter (None when failed).
    """

    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_customers_: int
    n_patterns_: int
    status_: Literal["ok", "retried", "failed"]
    penalizer_: float
    time_unit_: str
    notes_: list[Note] = field(default_factory=list)
    attempts_: list[dict[str, Any]] = field(default_factory=list)
    model_: Any = field(default=None, repr=False, compare=False)

    @property
    def converged_(self) -> bool:
        return self.status_ != "failed"

    def _require(self) -> None:
        if not self.converged_:
            raise ValueError("The BG/NBD fit failed (see notes_); it cannot predict.")

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """P(alive) per customer; arrays of equal shape in, same shape out."""
        self._require()
        return _p_alive(self.params_, frequency, recency, T)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected repeat purchases in the next ``t`` time units given each history (eq. 10)."""
        self._require()
        return _conditional_expected(self.params_, t, frequency, recency, T)

    def expected_population(self, t) -> np.ndarray:
        """Expected repeat purchases of a new customer within ``t`` time units (eq. 9)."""
        self._require()
        return _expected_population(self.params_, t)


@dataclass(frozen=True)
class GammaGammaResult:
    """A fitted Gamma-Gamma spend model (FH13), or the reason it was not fitted.

    Attributes
    ----------
    params_ : dict
        ``p, q, gamma`` (lifetimes calls ``gamma`` ``v``); NaN when not computed.
    standard_errors_ : dict
    log_likelihood_ : float
    n_customers_ : int
        Repeat buyers used (frequency > 0 and monetary_value > 0).
    n_excluded_ : int
        Customers of the summary not used (no repeat purchase or non-positive spend).
    corr_ : float
        Pearson correlation of frequency and monetary_value among the repeat buyers; the
        model assumes spend is independent of frequency.
    corr_warning_ : bool
        ``|corr_| > corr_warn``.
    computed_ : bool
        False when there were too few repeat buyers or the fit failed: spend and CLV are
        then not computed (never replaced by a substitute).
    status_ : {"ok", "retried", "failed", "too_few_repeat_buyers"}
    penalizer_ : float
    notes_ : list of dict
    attempts_ : list of dict
        As for :class:`BgNbdResult`.
    model_ : lifetimes.GammaGammaFitter or None
    """

    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_customers_: int
    n_excluded_: int
    corr_: float
    corr_warning_: bool
    computed_: bool
    status_: str
    penalizer_: float
    notes_: list[Note] = field(default_factory=list)
    attempts_: list[dict[str, Any]] = field(default_factory=list)
    model_: Any = field(default=None, repr=False, compare=False)

    @property
    def population_mean_(self) -> float:
        """Mean spend per transaction in the population, ``p gamma / (q - 1)``."""
        p, q, v = (self.params_[k] for k in GG_PARAMS)
        return v * p / (q - 1)

    def expected_avg_value(self, frequency, monetary_value) -> np.ndarray:
        """E[M | x, m_x], FH13 eq. (5), as lifetimes' ``conditional_expected_average_profit``.

        A weighted mean of the customer's own mean spend and the population mean; a
        customer without repeat purchases (x = 0) gets the population mean.
        """
        if not self.computed_:
            raise ValueError("The Gamma-Gamma model was not computed (see notes_).")
        p, q, v = (self.params_[k] for k in GG_PARAMS)
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        w = p * x / (p * x + q - 1)
        return (1 - w) * self.population_mean_ + w * m


def _nan_params(names: Sequence[str]) -> dict[str, float]:
    return {k: math.nan for k in names}


def _problem(scaled: Mapping[str, float], max_param: float) -> tuple[str, str] | None:
    """``(en, zh)`` description of implausible estimates, None when they look fine.

    ``scaled`` holds unit-free estimates (time scaled to max(T) = 1, spend to its median),
    so one bound serves every currency and time unit: an estimate above ``max_param`` or
    below ``1 / max_param`` means the optimiser ran off to a boundary of the parameter
    space (for BG/NBD typically: the data shows almost no drop-out).
    """
    vals = np.array(list(scaled.values()), dtype=float)
    if not np.all(np.isfinite(vals)):
        return "non-finite estimates", "估计值非有限数"
    big = ", ".join(f"{k} = {v:.3g}" for k, v in scaled.items() if v > max_param)
    if big:
        return (f"implausible estimate {big} > {max_param:g}", f"估计值不合理（{big} > {max_param:g}）")
    small = ", ".join(f"{k} = {v:.3g}" for k, v in scaled.items() if v < 1 / max_param)
    if small:
        return (f"estimate {small} < {1 / max_param:g} ran to the boundary",
                f"估计值 {small} < {1 / max_param:g}，已退化到参数边界")
    return None


# --------------------------------------------------------------------------------------
# Maximum likelihood: lifetimes' optimiser run on exact gradients
# --------------------------------------------------------------------------------------
#
# lifetimes' fitters minimise their objective (mean negative log-likelihood over the weighted
# rows plus ``penalizer * sum(params ** 2)``, in log-parameters, time scaled to max(T) = 1)
# with scipy's BFGS from ``0.1`` and ``tol=1e-7``, differentiating through autograd's tracer:
# about forty traced passes over every row, then an autograd Hessian. The two classes below
# compute the *same* objective with its exact gradient and Hessian in plain numpy (terms that
# depend on the frequency alone summed once per distinct frequency), and the fitters run the
# *same* BFGS on them: same start, same tolerance, same path, so the estimates are lifetimes'
# own (to about 1e-10), including where BFGS's stopping rule leaves them (about 1e-7 relative
# from the exact optimum, far inside the standard errors). Subclassing lifetimes' fitters
# keeps their ``fit`` (input checks, time scaling, ``params_``, variance matrix, failures as
# ``ConvergenceError``) and every prediction method, so ``model_`` is still a lifetimes
# fitter; only the optimiser's derivatives are replaced.


def _to_log_space(p: np.ndarray, ll: float, g: np.ndarray, h: np.ndarray, w_sum: float, penalizer: float):
    """Objective ``-ll / w_sum + penalizer * sum(p**2)`` and its derivatives in ``log p``.

    ``g`` and ``h`` are the gradient and Hessian of ``ll`` in the natural parameters ``p``;
    with ``theta = log p``: ``d/dtheta_i = p_i d/dp_i`` and
    ``d2/dtheta_i dtheta_j = p_i p_j d2/dp_i dp_j + [i == j] p_i d/dp_i``.
    """
    f = -ll / w_sum + penalizer * float(np.sum(p**2))
    grad = -(p * g) / w_sum + 2.0 * penalizer * p**2
    hess = -(p[:, None] * h * p[None, :] + np.diag(p * g)) / w_sum + np.diag(4.0 * penalizer * p**2)
    return f, grad, hess


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of ``a * b`` without BLAS: a multi-threaded BLAS dot spins its threads on a busy
    machine and can be 50 times slower than this plain loop."""
    return float(np.einsum("i,i->", a, b))


class _BgNbdObjective:
    """lifetimes' BG/NBD objective (FHL05 eq. 6, time scaled by lifetimes) with derivatives.

    Per row: ``A1 + A2 + log(exp(A3) + [x > 0] exp(A4))`` with ``A1, A2`` functions of the
    frequency ``x`` only (summed per distinct ``x``), ``A3 = -(r + x) log(alpha + T)`` and
    ``A4 = log a - log(b + x - 1) - (r + x) log(alpha + t_x)``. Writing ``s`` for the
    weight ``exp(A4) / (exp(A3) + exp(A4))``, the mixture term has gradient
    ``dA3 + s (dA4 - dA3)`` and Hessian ``(1 - s) d2A3 + s d2A4 + s (1 - s) D D'`` with
    ``D = dA4 - dA3``.
    """

    n_params = 4

    def __init__(self, x, tx, T, w, penalizer: float):
        x, tx, T, w = (np.asarray(v, dtype=float).ravel() for v in (x, tx, T, w))
        self.penalizer = float(penalizer)
        self.w_sum = float(w.sum())
        self.xu, inv = np.unique(x, return_inverse=True)
        self.wx = np.bincount(inv.ravel(), weights=w, minlength=len(self.xu))
        zero = x == 0
        self.T0, self.w0 = T[zero], w[zero]
        pos = ~zero
        self.x, self.tx, self.T, self.w = x[pos], tx[pos], T[pos], w[pos]
        self.bx = self.x - 1.0  # b + x - 1 = b + bx

    def __call__(self, theta: np.ndarray, hessian: bool = True):
        from scipy.special import digamma, polygamma

        p = np.exp(np.asarray(theta, dtype=float))
        r, al, a, b = p
        xu, wx, W = self.xu, self.wx, self.w_sum
        g = np.zeros(4)
        h = np.zeros((4, 4))
        # A1 + A2: frequency-only terms
        ll = _dot(wx, gammaln(r + xu) - gammaln(r) + gammaln(a + b) + gammaln(b + xu) - gammaln(b)
                  - gammaln(a + b + xu)) + r * math.log(al) * W
        g[0] = wx @ (digamma(r + xu) - digamma(r)) + math.log(al) * W
        g[1] = r * W / al
        g[2] = wx @ (digamma(a + b) - digamma(a + b + xu))
        g[3] = wx @ (digamma(a + b) + digamma(b + xu) - digamma(b) - digamma(a + b + xu))
        h[0, 0] = wx @ (polygamma(1, r + xu) - polygamma(1, r))
        h[0, 1] = W / al
        h[1, 1] = -r * W / al**2
        h[2, 2] = h[2, 3] = wx @ (polygamma(1, a + b) - polygamma(1, a + b + xu))
        h[3, 3] = wx @ (polygamma(1, a + b) + polygamma(1, b + xu) - polygamma(1, b) - polygamma(1, a + b + xu))
        # customers without repeat purchases: A3 = -r log(alpha + T)
        if len(self.T0):
            i0 = 1.0 / (al + self.T0)
            sw_l0 = _dot(self.w0, np.log(al + self.T0))
            sw_i0 = _dot(self.w0, i0)
            ll -= r * sw_l0
            g[0] -= sw_l0
            g[1] -= r * sw_i0
            h[0, 1] -= sw_i0
            h[1, 1] += r * _dot(self.w0, i0 * i0)
        # repeat buyers: log(exp(A3) + exp(A4))
        if len(self.x):
            w, u = self.w, r + self.x
            lT, ltx = np.log(al + self.T), np.log(al + self.tx)
            iT, itx = 1.0 / (al + self.T), 1.0 / (al + self.tx)
            ib = 1.0 / (b + self.bx)
            a3 = -u * lT
            dd = math.log(a) + np.log(ib) - u * ltx - a3  # A4 - A3
            e = np.exp(-np.abs(dd))
            ll += _dot(w, a3 + np.maximum(dd, 0.0) + np.log1p(e))
            s = np.where(dd >= 0, 1.0, e) / (1.0 + e)  # exp(A4) / (exp(A3) + exp(A4))
            ws = w * s
            d0, d1 = lT - ltx, u * (iT - itx)  # D = dA4 - dA3 = (d0, d1, 1 / a, -ib)
            uiT = u * iT
            g[0] += _dot(ws, d0) - _dot(w, lT)
            g[1] += _dot(ws, d1) - _dot(w, uiT)
            sum_ws = float(ws.sum())
            g[2] += sum_ws / a
            g[3] -= _dot(ws, ib)
        if hessian and len(self.x):
            wss = ws * (1.0 - s)
            sum_wss = float(wss.sum())
            h[0, 1] += _dot(ws, iT - itx) - _dot(w, iT)
            h[1, 1] += _dot(w, uiT * iT) + _dot(ws, u * (itx * itx - iT * iT))
            h[2, 2] -= sum_ws / a**2
            h[3, 3] += _dot(ws, ib * ib)
            # s (1 - s) D D'
            wd0, wd1, wib = wss * d0, wss * d1, wss * ib
            h[0, 0] += _dot(wd0, d0)
            h[0, 1] += _dot(wd0, d1)
            h[0, 2] += float(wd0.sum()) / a
            h[0, 3] -= _dot(wd0, ib)
            h[1, 1] += _dot(wd1, d1)
            h[1, 2] += float(wd1.sum()) / a
            h[1, 3] -= _dot(wd1, ib)
            h[2, 2] += sum_wss / a**2
            h[2, 3] -= float(wib.sum()) / a
            h[3, 3] += _dot(wib, ib)
        h = np.triu(h) + np.triu(h, 1).T
        return _to_log_space(p, ll, g, h, W, self.penalizer)


class _GammaGammaObjective:
    """lifetimes' Gamma-Gamma objective (FH13 eq. 1a) with its gradient and Hessian.

    Per row ``gammaln(px + q) - gammaln(px) - gammaln(q) + q log v + (px - 1) log m +
    px log x - (px + q) log(v + m x)``: only the last term needs every row, the others are
    sums per distinct ``x`` and two constants.
    """

    n_params = 3

    def __init__(self, x, m, w, penalizer: float):
        x, m, w = (np.asarray(v, dtype=float).ravel() for v in (x, m, w))
        self.penalizer = float(penalizer)
        self.w_sum = float(w.sum())
        self.xu, inv = np.unique(x, return_inverse=True)
        self.wx = np.bincount(inv.ravel(), weights=w, minlength=len(self.xu))
        lm = np.log(m)
        self.c1, self.c2 = _dot(w, x * lm), _dot(w, lm)
        self.x, self.mx, self.w = x, m * x, w

    def __call__(self, theta: np.ndarray, hessian: bool = True):
        from scipy.special import digamma, polygamma

        pv = np.exp(np.asarray(theta, dtype=float))
        p, q, v = pv
        xu, wx, W = self.xu, self.wx, self.w_sum
        px = p * xu
        lxu = np.log(xu)
        ll = _dot(wx, gammaln(px + q) - gammaln(px) - gammaln(q) + px * lxu) + q * math.log(v) * W
        ll += p * self.c1 - self.c2
        x, w = self.x, self.w
        c = p * x + q
        lv = np.log(v + self.mx)
        iv = 1.0 / (v + self.mx)
        ll -= _dot(w, c * lv)
        g = np.array([
            wx @ (xu * (digamma(px + q) - digamma(px) + lxu)) + self.c1 - _dot(w, x * lv),
            wx @ (digamma(px + q) - digamma(q)) + math.log(v) * W - _dot(w, lv),
            W * q / v - _dot(w, c * iv),
        ])
        h = np.zeros((3, 3))
        if not hessian:
            return _to_log_space(pv, ll, g, h, W, self.penalizer)
        t1q, t1p = polygamma(1, px + q), polygamma(1, px)
        h[0, 0] = wx @ (xu * xu * (t1q - t1p))
        h[0, 1] = wx @ (xu * t1q)
        h[1, 1] = wx @ (t1q - polygamma(1, q))
        h[0, 2] = -_dot(w, x * iv)
        h[1, 2] = W / v - _dot(w, iv)
        h[2, 2] = -W * q / v**2 + _dot(w, c * iv * iv)
        h = np.triu(h) + np.triu(h, 1).T
        return _to_log_space(pv, ll, g, h, W, self.penalizer)


def _bfgs_as_lifetimes(objective, x0, tol: float = 1e-7, disp: bool = False):
    """lifetimes' ``BaseFitter._fit`` on an objective with exact derivatives.

    The same call as lifetimes (scipy ``minimize``, BFGS, ``tol``, ``x0``): returns
    ``(theta, f, hessian)`` at BFGS's optimum, the Hessian exact (it gives the standard
    errors); raises lifetimes' ``ConvergenceError`` where lifetimes does.
    """
    from scipy.optimize import minimize

    from lifetimes.utils import ConvergenceError

    out = minimize(lambda t: objective(t, hessian=False)[:2], np.asarray(x0, dtype=float), jac=True,
                   method=None, tol=tol, options={"disp": disp})
    if not out.success:
        raise ConvergenceError(f"The model did not converge ({out.message}). Try adding a larger penalizer.")
    return out.x, float(out.fun), objective(out.x)[2]


_FAST_FITTERS: dict[str, type] = {}


def _fast_fitter(kind: Literal["bgnbd", "gamma_gamma"]):
    """lifetimes' ``BetaGeoFitter`` / ``GammaGammaFitter`` optimised on the exact derivatives
    above (built on first use: importing lifetimes takes about a second)."""
    if kind in _FAST_FITTERS:
        return _FAST_FITTERS[kind]
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    def make(base, objective_cls):
        def _fit(self, args, initial_params, params_size, disp, tol=1e-7, bounds=None, **kwargs):
            if bounds is not None or kwargs:  # options only lifetimes' own optimiser handles
                return base._fit(self, args, initial_params, params_size, disp, tol, bounds, **kwargs)
            *data, penalizer = args
            x0 = 0.1 * np.ones(params_size) if initial_params is None else initial_params
            return _bfgs_as_lifetimes(objective_cls(*data, penalizer), x0, tol, disp)

        return type(f"Fast{base.__name__}", (base,), {
            "_fit": _fit, "__module__": __name__,
            "__doc__": f"lifetimes' {base.__name__} with exact numpy derivatives (kit.clv)."})

    _FAST_FITTERS["bgnbd"] = make(BetaGeoFitter, _BgNbdObjective)
    _FAST_FITTERS["gamma_gamma"] = make(GammaGammaFitter, _GammaGammaObjective)
    return _FAST_FITTERS[kind]


def _attempt(make_fitter, fit_args: tuple, fit_kwargs: dict, scaled_of, max_param: float, extra_check=None):
    """Fit once; return ``(fitter, None)`` or ``(None, (en, zh))`` saying why it failed.

    ``scaled_of(fitter)`` gives the unit-free estimates :func:`_problem` checks;
    ``extra_check(fitter)`` may add a model-specific problem.
    """
    fitter = make_fitter()
    try:
        # lifetimes prints the optimiser's state on failure; keep it out of the report
        with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
            fitter.fit(*fit_args, **fit_kwargs)
    except Exception as e:  # noqa: BLE001 - any failure is recorded, then retried
        if type(e).__name__ == "ConvergenceError":
            return None, ("the optimiser did not converge", "优化算法未收敛")
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return None, (f"{type(e).__name__}: {msg}".rstrip(": "), f"{type(e).__name__}：{msg}".rstrip("："))
    problem = _problem(scaled_of(fitter), max_param) or (extra_check(fitter) if extra_check else None)
    return (None, problem) if problem else (fitter, None)


def _standard_errors(fitter, names_out: Sequence[str]) -> dict[str, float]:
    try:
        se = fitter.standard_errors_.to_numpy(dtype=float)
    except Exception:  # noqa: BLE001 - singular Hessian: report NaN, keep the estimates
        se = np.full(len(names_out), np.nan)
    return dict(zip(names_out, (float(v) for v in se)))


def fit_bgnbd(
    summary: pd.DataFrame,
    penalizer: float = 0.0,
    retry_penalizer: float = 0.001,
    max_param: float = 1e4,
    *,
    time_unit: str = "week",
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

    Returns
    -------
    BgNbdResult
        ``status_`` "ok", "retried" or "failed" (then ``params_`` are NaN and the model
        cannot predict).
    """
    BetaGeoFitter = _fast_fitter("bgnbd")

    _check_summary(summary)
    data = compress(summary)
    n, k = len(summary), len(data)
    failed = BgNbdResult(_nan_params(BGNBD_PARAMS), _nan_params(BGNBD_PARAMS), math.nan, n, k,
                         "failed", math.nan, time_unit)
    if n == 0 or summary["frequency"].sum() == 0:
        why_en = "no customers" if n == 0 else "no customer has a repeat purchase"
        why_zh = "没有客户" if n == 0 else "没有任何客户有重复购买"
        return _replace(failed, notes_=[_note(
            "omitted", f"BG/NBD 模型无法拟合：{why_zh}；P(存活)、预期购买次数和 CLV 均未计算。",
            f"The BG/NBD model cannot be fitted: {why_en}; P(alive), expected purchases and CLV "
            "are not computed.")])
    args = (data["frequency"], data["recency"], data["T"])
    scale = 1.0 / float(data["T"].max())  # lifetimes fits on time scaled to max(T) = 1

    def scaled_of(f):
        r, alpha, a, b = (float(f.params_[k]) for k in BGNBD_PARAMS)
        return {"r": r, "alpha/max(T)": alpha * scale, "a": a, "b": b}

    def predictions_finite(f):
        prm = dict(zip(BGNBD_PARAMS, (float(v) for v in f.params_.to_numpy())))
        with np.errstate(all="ignore"):
            ok = np.isfinite(_p_alive(prm, *args)) & np.isfinite(
                _conditional_expected_rows(prm, data["T"].max(), *args)[:, 0])
        if ok.all():
            return None
        return (f"predictions are not finite for {int((~ok).sum())} purchase histories",
                f"{int((~ok).sum())} 种购买历史的预测值非有限数")

    notes: list[Note] = []
    tried: list[tuple[float, tuple[str, str]]] = []
    for status, pen in (("ok", penalizer), ("retried", retry_penalizer)):
        fitter, problem = _attempt(lambda pen=pen: BetaGeoFitter(penalizer_coef=pen), args,
                                   {"weights": data["weight"]}, scaled_of, max_param, predictions_finite)
        if problem is None:
            break
        tried.append((pen, problem))
    else:
        (p1, (e1, z1)), (p2, (e2, z2)) = tried
        notes.append(_note(
            "omitted",
            f"BG/NBD 模型拟合失败：惩罚项 {p1:g} 时{z1}，惩罚项 {p2:g} 重试时{z2}。"
            "P(存活)、预期购买次数和 CLV 均未计算。",
            f"The BG/NBD fit failed: with penalizer {p1:g} ({e1}) and on the retry with penalizer "
            f"{p2:g} ({e2}). P(alive), expected purchases and CLV are not computed."))
        return _replace(failed, notes_=notes, attempts_=_attempts(tried))

    params = dict(zip(BGNBD_PARAMS, (float(v) for v in fitter.params_.to_numpy())))
    ll = bgnbd_log_likelihood(params, data["frequency"], data["recency"], data["T"], data["weight"])
    se = _standard_errors(fitter, BGNBD_PARAMS)
    notes.append(_note(
        "info",
        f"BG/NBD 模型（Fader, Hardie & Lee 2005）以最大似然法拟合 {n:,} 位客户"
        f"（{k:,} 种不同的 (x, t_x, T) 组合，按人数加权）；对数似然 {ll:,.1f}。",
        f"BG/NBD model (Fader, Hardie & Lee 2005) fitted by maximum likelihood on {n:,} customers "
        f"({k:,} distinct (x, t_x, T) patterns, weighted by head count); log-likelihood {ll:,.1f}."))
    if status == "retried":
        p1, (e1, z1) = tried[0]
        notes.append(_note(
            "warning",
            f"首次拟合（惩罚项 {p1:g}）失败：{z1}；已改用 L2 惩罚项 {retry_penalizer:g}"
            "（cfg.clv.retry_penalizer）重新拟合。参数估计经过正则化，会随该设置而变。",
            f"The first fit (penalizer {p1:g}) failed: {e1}; refitted with an L2 penalizer of "
            f"{retry_penalizer:g} (cfg.clv.retry_penalizer). The estimates are regularised and depend "
            "on that setting."))
    elif penalizer > 0:
        notes.append(_note("info", f"拟合使用了 L2 惩罚项 {penalizer:g}。",
                           f"The fit used an L2 penalizer of {penalizer:g}."))
    if not all(np.isfinite(list(se.values()))):
        notes.append(_note("warning", "Hessian 矩阵不可逆，部分标准误无法计算。",
                           "The Hessian is singular; some standard errors are not available."))
    return BgNbdResult(params, se, ll, n, k, status, pen, time_unit, notes, _attempts(tried, pen), fitter)


def _attempts(tried, ok_penalizer: float | None = None) -> list[dict[str, Any]]:
    out = [{"penalizer": p, "ok": False, "en": en, "zh": zh} for p, (en, zh) in tried]
    if ok_penalizer is not None:
        out.append({"penalizer": ok_penalizer, "ok": True, "en": "converged", "zh": "收敛"})
    return out


def _replace(result, **changes):
    import dataclasses

    return dataclasses.replace(result, **changes)


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
    GammaGammaFitter = _fast_fitter("gamma_gamma")

    _check_summary(summary, ("frequency", "monetary_value"))
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    n, excluded = len(repeat), len(summary) - len(repeat)
    corr = (float(np.corrcoef(repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy())[0, 1])
            if n > 2 and repeat["frequency"].nunique() > 1 and repeat["monetary_value"].nunique() > 1
            else math.nan)
    flag = bool(np.isfinite(corr) and abs(corr) > corr_warn)
    notes: list[Note] = []
    nonpos = int(((summary["frequency"] > 0) & (summary["monetary_value"] <= 0)).sum())
    if nonpos:
        notes.append(_note("info", f"{nonpos:,} 位重复购买客户的平均消费额 ≤ 0（净退款），未参与消费模型拟合。",
                           f"{nonpos:,} repeat buyers with mean spend <= 0 (net refunds) are left out "
                           "of the spend model."))
    base = dict(n_customers_=n, n_excluded_=excluded, corr_=corr, corr_warning_=flag)
    not_computed = dict(params_=_nan_params(GG_PARAMS), standard_errors_=_nan_params(GG_PARAMS),
                        log_likelihood_=math.nan, computed_=False, penalizer_=math.nan, **base)
    if n < min_repeat_customers:
        notes.append(_note(
            "omitted",
            f"仅有 {n:,} 位重复购买客户（少于 {min_repeat_customers}），Gamma-Gamma 消费模型未拟合；"
            "预期客单价与 CLV 未计算。",
            f"Only {n:,} repeat buyers (fewer than {min_repeat_customers}): the Gamma-Gamma spend "
            "model is not fitted, so expected spend and CLV are not computed."))
        return GammaGammaResult(status_="too_few_repeat_buyers", notes_=notes, **not_computed)

    data = compress(repeat, ("frequency", "monetary_value"))
    # fit on spend / median spend: gamma is a scale parameter (same estimates, any currency)
    scale = float(repeat["monetary_value"].median())
    args = (data["frequency"], data["monetary_value"] / scale)

    def scaled_of(f):
        p, q, v = (float(f.params_[k]) for k in ("p", "q", "v"))
        return {"p": p, "q": q, "gamma/median spend": v}

    def q_check(f):
        q = float(f.params_["q"])
        if q <= 1:
            return (f"q = {q:.3g} <= 1 leaves no finite population mean spend",
                    f"q = {q:.3g} ≤ 1，总体平均消费额不存在")
        return None

    tried = []
    for status, pen in (("ok", penalizer), ("retried", retry_penalizer)):
        fitter, problem = _attempt(lambda pen=pen: GammaGammaFitter(penalizer_coef=pen), args,
                                   {"weights": data["weight"]}, scaled_of, max_param, q_check)
        if problem is None:
            break
        tried.append((pen, problem))
    else:
        (p1, (e1, z1)), (p2, (e2, z2)) = tried
        notes.append(_note(
            "omitted",
            f"Gamma-Gamma 模型拟合失败：惩罚项 {p1:g} 时{z1}，惩罚项 {p2:g} 重试时{z2}；"
            "预期客单价与 CLV 未计算。",
            f"The Gamma-Gamma fit failed: with penalizer {p1:g} ({e1}) and on the retry with "
            f"penalizer {p2:g} ({e2}); expected spend and CLV are not computed."))
        return GammaGammaResult(status_="failed", notes_=notes, attempts_=_attempts(tried), **not_computed)

    _unscale_gamma_gamma(fitter, scale)
    params = dict(zip(GG_PARAMS, (float(fitter.params_[k]) for k in ("p", "q", "v"))))
    ll = gamma_gamma_log_likelihood(params, data["frequency"], data["monetary_value"], data["weight"])
    se = _standard_errors(fitter, GG_PARAMS)
    pop = params["gamma"] * params["p"] / (params["q"] - 1)
    notes.append(_note(
        "info",
        f"Gamma-Gamma 消费模型（Fader & Hardie 2013）以 {n:,} 位重复购买客户拟合；"
        f"其余 {excluded:,} 位客户的预期客单价取总体均值 {pop:,.2f}。",
        f"Gamma-Gamma spend model (Fader & Hardie 2013) fitted on {n:,} repeat buyers; the other "
        f"{excluded:,} customers get the population mean spend of {pop:,.2f}."))
    if status == "retried":
        p1, (e1, z1) = tried[0]
        notes.append(_note(
            "warning",
            f"首次拟合（惩罚项 {p1:g}）失败：{z1}；已改用 L2 惩罚项 {retry_penalizer:g}"
            "（cfg.clv.retry_penalizer）重新拟合。",
            f"The first fit (penalizer {p1:g}) failed: {e1}; refitted with an L2 penalizer of "
            f"{retry_penalizer:g} (cfg.clv.retry_penalizer)."))
    if flag:
        notes.append(_note(
            "warning",
            f"重复购买客户的购买频次与平均消费额相关系数为 {corr:.2f}（|r| > {corr_warn:g}）；"
            "Gamma-Gamma 模型假设二者独立，预期客单价可能有偏。",
            f"Purchase frequency and mean spend of repeat buyers correlate at {corr:.2f} "
            f"(|r| > {corr_warn:g}); the Gamma-Gamma model assumes independence, so expected "
            "spend may be biased."))
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


# --------------------------------------------------------------------------------------
# Holdout validation
# --------------------------------------------------------------------------------------


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
    transactions: pd.DataFrame,
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
    per, _ = _period_purchases(transactions, customer_col, date_col, None, freq, end)
    if not len(per):
        return pd.DataFrame({"date": pd.Series([], dtype="datetime64[ns]"),
                             "actual": pd.Series([], dtype=float), "predicted": pd.Series([], dtype=float)},
                            index=pd.Index([], name="week"))
    is_first = per.is_first
    start = pd.Timestamp(per.period.min())
    n_steps = int((_days(end - start) + 1) // step_days)
    cuts = (start + pd.to_timedelta(np.arange(1, n_steps + 1) * step_days, unit="D")).to_numpy()

    births, counts = np.unique(per.period[is_first], return_counts=True)
    age_days = _days(cuts[:, None] - births[None, :])  # (K steps, birth cohorts)
    expected = np.where(age_days > 0, bgnbd.expected_population(np.clip(age_days, 0, None) / unit_days), 0.0)
    predicted = expected @ counts.astype(float)

    repeats = np.sort(per.period[~is_first])
    actual = np.searchsorted(repeats, cuts, side="left")
    return pd.DataFrame(
        {"date": cuts - np.timedelta64(1, "D"), "actual": actual.astype(float), "predicted": predicted},
        index=pd.Index(np.arange(1, n_steps + 1), name="week"),
    )


def holdout_validation(
    transactions: pd.DataFrame,
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
) -> HoldoutValidation:
    """Fit BG/NBD on the calibration period and compare its holdout forecast with the data.

    Per customer, the model's forecast is E[Y(duration_holdout) | x, t_x, T] from the
    calibration history (FHL05 eq. 10); the naive baseline is
    :func:`naive_holdout_purchases` (the customer's own calibration repeat rate). Reported:
    holdout totals, per-customer MAE and RMSE of both, the conditional expectation table
    (FHL05 fig. 4) and the cumulative tracking curve over the whole period (fig. 2).

    Parameters
    ----------
    transactions : DataFrame
        ``customer_id, order_date`` rows (extra columns are ignored).
    calibration_end, observation_end : date-like
        Last day of the calibration and of the holdout period (inclusive).
    customer_col, date_col, freq, time_unit
        As for :func:`kit.summary.customer_summary`.
    penalizer, retry_penalizer, max_param
        As for :func:`fit_bgnbd`.
    max_bin : int
        Calibration frequencies >= this are pooled in the table.

    Returns
    -------
    HoldoutValidation
        When the calibration fit fails, ``bgnbd.status_ == "failed"`` and the forecasts are NaN.
    """
    ch = calibration_holdout(transactions, calibration_end, observation_end, customer_col=customer_col,
                             date_col=date_col, amount_col=None, freq=freq, time_unit=time_unit)
    cal = ch[["frequency_cal", "recency_cal", "T_cal"]].set_axis(["frequency", "recency", "T"], axis=1)
    bg = fit_bgnbd(cal, penalizer, retry_penalizer, max_param, time_unit=time_unit)
    ch = ch.copy()
    if bg.converged_:
        ch["predicted"] = bg.expected_purchases(ch["duration_holdout"], ch["frequency_cal"],
                                                ch["recency_cal"], ch["T_cal"])
    else:
        ch["predicted"] = np.nan
    ch["naive"] = naive_holdout_purchases(ch["frequency_cal"], ch["T_cal"], ch["duration_holdout"])
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
                             float(cal_weeks), time_unit)


# --------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------


def _periods_per_month(time_unit: str, periods_per_month: float | None) -> float:
    if periods_per_month is not None:
        if periods_per_month <= 0:
            raise ValueError(f"periods_per_month must be positive (got {periods_per_month})")
        return float(periods_per_month)
    try:
        return LIFETIMES_PERIODS_PER_MONTH[time_unit]
    except KeyError:
        raise ValueError(f"time_unit must be one of {', '.join(LIFETIMES_PERIODS_PER_MONTH)}") from None


def discounted_expected_purchases(
    bgnbd: BgNbdResult,
    frequency,
    recency,
    T,
    *,
    horizon_months: int = 12,
    discount_rate_monthly: float = 0.01,
    periods_per_month: float = 4.345,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases over the horizon, undiscounted and discounted by month.

    ``sum_{i=1..H} (E[Y(i m) | hist] - E[Y((i-1) m) | hist]) / (1 + d)^i`` with ``m`` =
    ``periods_per_month``: lifetimes' ``_customer_lifetime_value`` without the spend factor.
    The hypergeometric part of FHL05 eq. (10), which does not depend on ``t_x``, is evaluated
    once per distinct ``(x, T)`` pair as one (pairs x H+1) matrix; the rest once per customer.

    Returns
    -------
    (expected, discounted) : two 1-D arrays, one value per customer
    """
    bgnbd._require()
    x, tx, T = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, T))
    if len(x) == 0:
        return np.zeros(0), np.zeros(0)
    prm = bgnbd.params_
    months = np.arange(horizon_months + 1)
    # E[Y(t) | x, t_x, T] = first(x) / denominator(x, t_x, T) * hyp_part(t, x, T): the costly
    # hypergeometric part once per distinct (x, T) pair and month, the rest once per customer
    xu, tu, pair = _pairs(x, T)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        hyp = _hyp_part(prm, months[None, :] * periods_per_month, xu[:, None], tu[:, None])
        hyp[:, 0] = 0.0
        discount = (1.0 + discount_rate_monthly) ** -months[1:].astype(float)
        per_pair = np.einsum("ij,j->i", np.diff(hyp, axis=1), discount)  # no threaded BLAS
        factor = _first(prm, x) / _denominator(prm, x, tx, T)
    return factor * hyp[pair, -1], factor * per_pair[pair]


def score(
    summary: pd.DataFrame,
    bgnbd: BgNbdResult,
    gg: GammaGammaResult | None,
    horizon_months: int = 12,
    discount_rate_monthly: float = 0.01,
    margin: float | pd.Series = 0.3,
    time_unit: str | None = None,
    *,
    periods_per_month: float | None = None,
) -> pd.DataFrame:
    """Per-customer P(alive), expected purchases, expected spend and discounted CLV.

    ``clv = margin * E[M | x, m_x] * sum_{i=1..H} E[purchases in month i] / (1 + d)^i``:
    lifetimes' ``GammaGammaFitter.customer_lifetime_value(bgf, ..., time=H,
    discount_rate=d, freq=unit)`` times the profit margin (lifetimes has no margin), from
    FHL05 eq. (10) and FH13 eq. (5). Months are ``periods_per_month`` model time units,
    lifetimes' 4.345 weeks, 30 days or 1 month unless given.

    Parameters
    ----------
    summary : DataFrame
        One row per customer (index ``customer_id``) with ``frequency, recency, T,
        monetary_value`` over the whole observed period, in the model's time unit.
    bgnbd : BgNbdResult
        Fitted on ``summary`` (must have converged).
    gg : GammaGammaResult or None
        When None or not computed, ``exp_avg_value``, ``clv`` and ``clv_rank`` are NaN / NA.
    horizon_months : int
        H, months ahead.
    discount_rate_monthly : float
        d, monthly discount rate.
    margin : float or Series
        Profit margin, one number or one per customer (aligned on the index; a customer
        missing from the Series is an error).
    time_unit : str, optional
        The model's unit; defaults to ``bgnbd.time_unit_`` and must agree with it.
    periods_per_month : float, optional
        Model time units per month; default lifetimes' value for the unit.

    Returns
    -------
    DataFrame
        Index as ``summary``; columns ``p_alive``, ``exp_purchases`` (next H months),
        ``exp_avg_value``, ``margin``, ``clv``, ``clv_rank`` (Int64, 1 = highest CLV, ties
        share the best rank).
    """
    _check_summary(summary, ("frequency", "recency", "T", "monetary_value"))
    bgnbd._require()
    unit = time_unit or bgnbd.time_unit_
    if unit != bgnbd.time_unit_:
        raise ValueError(f"time_unit {unit!r} differs from the model's {bgnbd.time_unit_!r}")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be >= 1 (got {horizon_months})")
    ppm = _periods_per_month(unit, periods_per_month)
    f, r, t, m = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value"))
    expected, discounted = discounted_expected_purchases(
        bgnbd, f, r, t, horizon_months=horizon_months,
        discount_rate_monthly=discount_rate_monthly, periods_per_month=ppm)
    if isinstance(margin, pd.Series):
        missing = summary.index.difference(margin.index)
        if len(missing):
            raise ValueError(f"margin has no value for {len(missing)} customer(s), e.g. {missing[0]!r}")
        margin_v = margin.reindex(summary.index).to_numpy(dtype=float)
    else:
        margin_v = np.full(len(summary), float(margin))
    out = pd.DataFrame({"p_alive": bgnbd.p_alive(f, r, t), "exp_purchases": expected}, index=summary.index)
    if gg is not None and gg.computed_:
        out["exp_avg_value"] = gg.expected_avg_value(f, m)
    else:
        out["exp_avg_value"] = np.nan
    out["margin"] = margin_v
    out["clv"] = out["exp_avg_value"].to_numpy() * margin_v * discounted
    out["clv_rank"] = out["clv"].rank(ascending=False, method="min").astype("Int64")
    return out


# --------------------------------------------------------------------------------------
# ROI and concentration
# --------------------------------------------------------------------------------------


def roi_table(
    customers: pd.DataFrame,
    costs_by_quadrant: Mapping[str, float],
    group_col: str = "quadrant",
    horizon_months: int = 12,
    *,
    clv_col: str = "clv",
) -> pd.DataFrame:
    """Expected CLV against the maintenance plan's cost, per group (DOMAIN.md section 4).

    ``total_cost = yearly cost per customer x customers x H / 12`` (the plan runs over the
    CLV horizon); ``roi = total_clv / total_cost`` (value returned per unit of cost; NaN
    when the cost is 0). Customers with no group are left out and counted in
    ``attrs["n_ungrouped"]``.

    Parameters
    ----------
    customers : DataFrame
        One row per customer with ``group_col`` and ``clv_col``.
    costs_by_quadrant : mapping
        Group -> yearly maintenance cost per customer (config ``strategy.playbook.*.yearly_cost``).
        A group present in the data but missing here raises ``ValueError``.
    group_col, clv_col : str
    horizon_months : int

    Returns
    -------
    DataFrame
        Index ``group_col`` (in the mapping's order); columns ``customers, total_clv,
        mean_clv, yearly_cost_per_customer, total_cost, roi``.
    """
    for c in (group_col, clv_col):
        if c not in customers.columns:
            raise ValueError(f"Required column {c!r} missing from customers")
    grouped = customers[customers[group_col].notna()]
    unknown = sorted(set(grouped[group_col].astype(str)) - set(map(str, costs_by_quadrant)))
    if unknown:
        raise ValueError(f"no maintenance cost for {group_col} value(s): {', '.join(unknown)}")
    g = grouped.groupby(grouped[group_col].astype(str), sort=False)[clv_col]
    order = [str(k) for k in costs_by_quadrant]
    out = pd.DataFrame({"customers": g.size(), "total_clv": g.sum(), "mean_clv": g.mean()}).reindex(order)
    out["customers"] = out["customers"].fillna(0).astype(int)
    out["total_clv"] = out["total_clv"].fillna(0.0)
    out["yearly_cost_per_customer"] = [float(costs_by_quadrant[k]) for k in costs_by_quadrant]
    out["total_cost"] = out["yearly_cost_per_customer"] * out["customers"] * horizon_months / 12
    out["roi"] = out["total_clv"] / out["total_cost"].where(out["total_cost"] > 0)
    out.index.name = group_col
    out.attrs["n_ungrouped"] = int(len(customers) - len(grouped))
    return out


def churn_value_concentration(
    customers: pd.DataFrame,
    *,
    churn_col: str = "churn_risk",
    high: str = "high",
    clv_col: str = "clv",
    revenue_col: str = "revenue",
) -> dict[str, float]:
    """How much value sits with the customers labelled at high churn risk.

    Parameters
    ----------
    customers : DataFrame
        One row per customer with ``churn_col``, ``clv_col`` and ``revenue_col`` (a
        missing value column gives NaN shares for it).

    Returns
    -------
    dict
        ``n_customers``, ``n_high``, ``share_customers``, ``share_clv``, ``share_revenue``
        (shares in 0..1 of the totals over all customers; NaN when a total is 0).
    """
    if churn_col not in customers.columns:
        raise ValueError(f"Required column {churn_col!r} missing from customers")
    is_high = (customers[churn_col] == high).fillna(False).to_numpy(dtype=bool)

    def share(col: str) -> float:
        if col not in customers.columns:
            return math.nan
        v = customers[col].to_numpy(dtype=float)
        total = np.nansum(v)
        return float(np.nansum(v[is_high]) / total) if total else math.nan

    n = len(customers)
    return {"n_customers": n, "n_high": int(is_high.sum()),
            "share_customers": float(is_high.sum() / n) if n else math.nan,
            "share_clv": share(clv_col), "share_revenue": share(revenue_col)}


# --------------------------------------------------------------------------------------
# Matrices for plots
# --------------------------------------------------------------------------------------


def _grid(T: float, max_frequency: int, n_recency: int | None):
    recency = np.arange(0, math.floor(T) + 1, dtype=float) if n_recency is None else np.linspace(0, T, n_recency)
    freq = np.arange(0, max_frequency + 1, dtype=float)
    x, tx = np.meshgrid(freq, recency)  # rows recency, columns frequency
    return freq, recency, x, tx


def _frame(values, freq, recency, x, tx) -> pd.DataFrame:
    values = np.where((x == 0) & (tx > 0), np.nan, values)  # x = 0 implies t_x = 0
    return pd.DataFrame(values, index=pd.Index(recency, name="recency"),
                        columns=pd.Index(freq.astype(int), name="frequency"))


def p_alive_matrix(bgnbd: BgNbdResult, T: float, max_frequency: int, *, n_recency: int | None = None) -> pd.DataFrame:
    """P(alive) over a frequency x recency grid for customers of age ``T``.

    Returns
    -------
    DataFrame
        Index ``recency`` 0..T (whole units, or ``n_recency`` points), columns ``frequency``
        0..max_frequency; cells with frequency 0 and recency > 0 (impossible) are NaN.
    """
    freq, recency, x, tx = _grid(T, max_frequency, n_recency)
    return _frame(bgnbd.p_alive(x, tx, np.full_like(x, T)), freq, recency, x, tx)


def expected_purchases_matrix(
    bgnbd: BgNbdResult, t: float, T: float, max_frequency: int, *, n_recency: int | None = None
) -> pd.DataFrame:
    """Expected purchases in the next ``t`` units over a frequency x recency grid at age ``T``.

    Same layout as :func:`p_alive_matrix`.
    """
    freq, recency, x, tx = _grid(T, max_frequency, n_recency)
    return _frame(bgnbd.expected_purchases(t, x, tx, np.full_like(x, T)), freq, recency, x, tx)


# --------------------------------------------------------------------------------------
# Artifact
# --------------------------------------------------------------------------------------


def _clean(v: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
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
        status, penalizer, notes), ``validation`` (period ends, totals, errors, and the
        calibration model's parameters), ``settings`` as given, ``references``. JSON-safe
        (NaN becomes null).
    """
    out: dict[str, Any] = {
        "bgnbd": {
            "params": bgnbd.params_, "standard_errors": bgnbd.standard_errors_,
            "log_likelihood": bgnbd.log_likelihood_, "n_customers": bgnbd.n_customers_,
            "n_patterns": bgnbd.n_patterns_, "status": bgnbd.status_, "converged": bgnbd.converged_,
            "penalizer": bgnbd.penalizer_, "time_unit": bgnbd.time_unit_, "attempts": bgnbd.attempts_,
            "notes": bgnbd.notes_,
        },
    }
    if gg is not None:
        out["gamma_gamma"] = {
            "params": gg.params_, "standard_errors": gg.standard_errors_,
            "log_likelihood": gg.log_likelihood_, "n_customers": gg.n_customers_,
            "n_excluded": gg.n_excluded_, "corr_frequency_spend": gg.corr_,
            "corr_warning": gg.corr_warning_, "computed": gg.computed_, "status": gg.status_,
            "penalizer": gg.penalizer_,
            "population_mean_spend": gg.population_mean_ if gg.computed_ else None,
            "attempts": gg.attempts_, "notes": gg.notes_,
        }
    if validation is not None:
        v = validation
        out["validation"] = {
            "calibration_end": v.calibration_end, "observation_end": v.observation_end,
            "time_unit": v.time_unit, "n_customers": int(len(v.customers)),
            "totals": v.totals, "errors": v.errors.to_dict(orient="index"),
            "calibration_params": v.bgnbd.params_, "calibration_log_likelihood": v.bgnbd.log_likelihood_,
            "calibration_status": v.bgnbd.status_, "notes": v.bgnbd.notes_,
        }
    if settings is not None:
        out["settings"] = dict(settings)
    out["references"] = [
        "Fader, Hardie & Lee (2005), Counting Your Customers the Easy Way, Marketing Science 24(2)",
        "Fader & Hardie (2013), The Gamma-Gamma Model of Monetary Value, brucehardie.com/notes/025",
    ]
    return _clean(out)


# --------------------------------------------------------------------------------------
# The stage (notebook 04_clv): assess, write, report tables
# --------------------------------------------------------------------------------------

#: Columns 04_clv adds to the spine (docs/CONTRACTS.md).
SPINE_COLUMNS = ["p_alive", "exp_purchases", "exp_avg_value", "clv", "clv_rank"]


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


def customer_margin(customers: pd.DataFrame, default: float, use_order_margin: bool = True) -> pd.Series:
    """Profit margin per customer for CLV: the data's, else the configured default.

    With ``use_order_margin`` and the spine's ``profit_total`` (profit or margin x amount of
    the orders) and ``revenue_total`` columns, a customer's margin is
    ``profit_total / revenue_total`` where both are known and revenue is positive; every
    other customer gets ``default`` (``cfg.clv.margin``). ``attrs["n_from_data"]`` counts
    customers with their own margin.

    Returns
    -------
    Series
        Index as ``customers``, float margins.
    """
    out = pd.Series(float(default), index=customers.index, name="margin")
    n = 0
    if use_order_margin and {"profit_total", "revenue_total"} <= set(customers.columns):
        profit = pd.to_numeric(customers["profit_total"], errors="coerce").astype(float)
        revenue = pd.to_numeric(customers["revenue_total"], errors="coerce").astype(float)
        ok = profit.notna() & revenue.gt(0)
        out[ok] = profit[ok] / revenue[ok]
        n = int(ok.sum())
    out.attrs["n_from_data"] = n
    return out


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
    notes : list of dict
        ``{"kind", "zh", "en", "topic"}`` in report order, for ``ctx.note``; ``topic`` is
        ``"validation"`` (shown in the validation section) or ``"model"``.
    settings : dict
        The settings used (for ``model_params.json``).
    """

    summary: pd.DataFrame
    validation: HoldoutValidation | None
    bgnbd: BgNbdResult
    gg: GammaGammaResult
    scores: pd.DataFrame
    notes: list[Note]
    settings: dict[str, Any]


def assess(transactions: pd.DataFrame, customers: pd.DataFrame, as_of, settings=None) -> ClvAssessment:
    """The CLV stage: validate on a holdout, fit on the whole period, score the spine.

    Clean transactions (``docs/CONTRACTS.md``; purchases = not a return, amount > 0) and the
    spine (index ``customer_id``; ``profit_total, revenue_total`` used for the margin) ->
    :class:`ClvAssessment`. ``settings`` is ``cfg.clv`` (:class:`kit.config.Clv`; default
    values when None).
    """
    from kit.core.config import Clv
    from kit.stages.features import purchase_mask

    cfg = settings if settings is not None else Clv()
    as_of = pd.Timestamp(as_of).normalize()
    purchases = transactions[purchase_mask(transactions).to_numpy()]
    if len(purchases) and not isinstance(purchases["customer_id"].dtype, pd.CategoricalDtype):
        # three summaries below (calibration, tracking, whole period): code the ids once
        purchases = purchases.assign(customer_id=pd.Categorical(purchases["customer_id"]))
    notes: list[Note] = []
    fit_kw = dict(penalizer=cfg.penalizer, retry_penalizer=cfg.retry_penalizer, max_param=cfg.max_param)

    split = holdout_split(purchases["order_date"].min() if len(purchases) else pd.NaT, as_of, cfg.holdout_days,
                          min_calibration_days=cfg.min_calibration_days)
    validation = None
    if split is None:
        notes.append(_note(
            "omitted",
            f"交易记录不足以做留出验证：需要至少 {cfg.holdout_days} 天的校准期加 {cfg.holdout_days} 天的留出期"
            "（cfg.clv.holdout_days）。模型未经样本外检验，请谨慎解读。",
            f"The history is too short for a holdout validation: it needs a calibration period of at least "
            f"{cfg.holdout_days} days before a {cfg.holdout_days}-day holdout (cfg.clv.holdout_days). The "
            "model is not checked out of sample; read its forecasts with care.") | {"topic": "validation"})
    else:
        validation = holdout_validation(purchases, *split, time_unit=cfg.time_unit,
                                        max_bin=cfg.max_frequency_bin, **fit_kw)
        if not validation.bgnbd.converged_:
            why_en = "; ".join(f"penalizer {a['penalizer']:g}: {a['en']}" for a in validation.bgnbd.attempts_)
            why_zh = "；".join(f"惩罚项 {a['penalizer']:g}：{a['zh']}" for a in validation.bgnbd.attempts_)
            notes.append(_note(
                "omitted",
                f"留出验证未完成：截至 {split[0]:%Y-%m-%d} 的校准期上 BG/NBD 模型拟合失败（{why_zh or '没有重复购买'}）。"
                "下文的全期模型未经样本外检验。",
                f"The holdout validation is omitted: the BG/NBD fit on the calibration period (to "
                f"{split[0]:%Y-%m-%d}) failed ({why_en or 'no repeat purchases'}). The whole-period model "
                "below is not checked out of sample.") | {"topic": "validation"})
            validation = None

    summary = customer_summary(purchases, as_of, time_unit=cfg.time_unit)
    bg = fit_bgnbd(summary, time_unit=cfg.time_unit, **fit_kw)
    gg = fit_gamma_gamma(summary, corr_warn=cfg.corr_warn, min_repeat_customers=cfg.min_repeat_customers, **fit_kw)
    notes.extend(dict(n) for n in bg.notes_)
    notes.extend(dict(n) for n in gg.notes_)

    margin = customer_margin(customers, cfg.margin, cfg.use_order_margin)
    n_data = margin.attrs["n_from_data"]
    if n_data:
        notes.append(_note(
            "info",
            f"{n_data:,} 位客户的利润率取自订单数据（利润合计 / 净收入），其余 {len(margin) - n_data:,} 位按默认 "
            f"{cfg.margin:.0%}（cfg.clv.margin）。",
            f"The margin of {n_data:,} customers comes from their orders (profit / net revenue); the other "
            f"{len(margin) - n_data:,} use the default {cfg.margin:.0%} (cfg.clv.margin)."))
    else:
        notes.append(_note("info", f"数据中没有利润或毛利率，CLV 按默认利润率 {cfg.margin:.0%}（cfg.clv.margin）计算。",
                           f"The data carries no profit or margin: CLV uses the default margin of "
                           f"{cfg.margin:.0%} (cfg.clv.margin)."))

    scores = pd.DataFrame(np.nan, index=customers.index, columns=[*SPINE_COLUMNS, "margin"])
    scores["clv_rank"] = pd.array([pd.NA] * len(scores), dtype="Int64")
    if bg.converged_:
        common = customers.index.intersection(summary.index)
        scored = score(summary.loc[common], bg, gg, cfg.horizon_months, cfg.discount_rate_monthly,
                       margin.loc[common], periods_per_month=cfg.periods_per_month)
        scores = scored.reindex(customers.index)
        missing = len(customers.index.difference(summary.index))
        if missing:
            notes.append(_note("warning", f"{missing:,} 位客户截至期末没有采购记录，未评分。",
                               f"{missing:,} customers have no purchase up to the period end and are not scored."))
    for n in notes:
        n.setdefault("topic", "model")
    return ClvAssessment(summary, validation, bg, gg, scores, notes, cfg.model_dump())


def write_artifacts(result: ClvAssessment, customers: pd.DataFrame, ctx) -> pd.DataFrame:
    """Add :data:`SPINE_COLUMNS` to the spine and write it and ``model_params.json``.

    Returns the updated spine.
    """
    out = customers.drop(columns=[c for c in SPINE_COLUMNS if c in customers.columns])
    out = out.join(result.scores[SPINE_COLUMNS])
    ctx.write_customers(out)
    ctx.write_json("model_params", model_params_json(result.bgnbd, result.gg, result.validation, result.settings))
    return out


def params_table(bgnbd: BgNbdResult, gg: GammaGammaResult, lang: str) -> pd.DataFrame:
    """Estimates and standard errors of both models, one row per parameter."""
    rows = []
    for model, res, names in (("BG/NBD", bgnbd, BGNBD_PARAMS), ("Gamma-Gamma", gg, GG_PARAMS)):
        for k in names:
            rows.append((model, k, res.params_[k], res.standard_errors_[k]))
    h = [_t(lang, "模型", "Model"), _t(lang, "参数", "Parameter"), _t(lang, "估计值", "Estimate"),
         _t(lang, "标准误", "Std. error")]
    df = pd.DataFrame(rows, columns=h)
    return _with_formats(df, decimals={h[2]: 4, h[3]: 4})


def validation_table(validation: HoldoutValidation, lang: str) -> pd.DataFrame:
    """Holdout totals and per-customer errors of the model and of the naive baseline."""
    v = validation
    h = [_t(lang, "预测方法", "Forecast"), _t(lang, "预测购买次数合计", "Predicted purchases"),
         _t(lang, "实际购买次数合计", "Actual purchases"), _t(lang, "误差", "Error"), "MAE", "RMSE"]
    names = [_t(lang, "BG/NBD 模型", "BG/NBD model"), _t(lang, "朴素基准（沿用校准期购买率）",
                                                         "Naive (calibration rate carried on)")]
    pred = [v.totals["predicted"], v.totals["naive"]]
    df = pd.DataFrame({h[0]: names, h[1]: pred, h[2]: [v.totals["actual"]] * 2,
                       h[3]: [(p - v.totals["actual"]) / v.totals["actual"] if v.totals["actual"] else np.nan
                              for p in pred],
                       h[4]: v.errors["mae"].to_numpy(), h[5]: v.errors["rmse"].to_numpy()})
    return _with_formats(df, ints=[h[1], h[2]], pct=[h[3]], decimals={h[4]: 3, h[5]: 3})


def conditional_display(validation: HoldoutValidation, lang: str) -> pd.DataFrame:
    """The conditional expectation table with report-language headers."""
    t = validation.conditional
    h = [_t(lang, "校准期重复购买次数", "Calibration repeat purchases"), _t(lang, "客户数", "Customers"),
         _t(lang, "留出期实际（均值）", "Holdout actual (mean)"), _t(lang, "模型预测（均值）", "Model (mean)"),
         _t(lang, "朴素基准（均值）", "Naive (mean)")]
    df = pd.DataFrame({h[0]: t.index.astype(str), h[1]: t["n"].to_numpy(), h[2]: t["actual"].to_numpy(),
                       h[3]: t["predicted"].to_numpy(), h[4]: t["naive"].to_numpy()})
    return _with_formats(df, ints=[h[1]], decimals={h[2]: 2, h[3]: 2, h[4]: 2})


def roi_display(roi: pd.DataFrame, lang: str) -> pd.DataFrame:
    """:func:`roi_table` with quadrant labels and report-language headers."""
    from kit.present.labels import label

    h = [_t(lang, "象限", "Quadrant"), _t(lang, "客户数", "Customers"), _t(lang, "预测CLV合计", "Total CLV"),
         _t(lang, "人均CLV", "Mean CLV"), _t(lang, "每客户年维护成本", "Yearly cost per customer"),
         _t(lang, "期内维护成本合计", "Total cost over the horizon"), _t(lang, "ROI（CLV/成本）", "ROI (CLV / cost)")]
    df = pd.DataFrame({
        h[0]: [label("quadrant", k, lang) for k in roi.index], h[1]: roi["customers"].to_numpy(),
        h[2]: roi["total_clv"].to_numpy(), h[3]: roi["mean_clv"].to_numpy(),
        h[4]: roi["yearly_cost_per_customer"].to_numpy(), h[5]: roi["total_cost"].to_numpy(),
        h[6]: roi["roi"].to_numpy()})
    return _with_formats(df, money=h[2:6], ints=[h[1]], decimals={h[6]: 2})


def p_alive_by_churn_risk(customers: pd.DataFrame, lang: str, *, churn_col: str = "churn_risk") -> pd.DataFrame:
    """The rule-based churn label (DOMAIN.md section 2) beside the model's P(alive).

    Per label: customers, mean and median P(alive), share with P(alive) < 0.5, total CLV.
    """
    from kit.present.labels import label

    order = ["high", "medium", "low"]
    d = customers[[churn_col, "p_alive", "clv"]].dropna(subset=["p_alive"])
    g = d.groupby(d[churn_col].astype(str), sort=False)
    keys = [k for k in order if k in g.groups] + [k for k in g.groups if k not in order]
    h = [_t(lang, "规则流失风险", "Rule-based churn risk"), _t(lang, "客户数", "Customers"),
         _t(lang, "平均P(存活)", "Mean P(alive)"), _t(lang, "P(存活)中位数", "Median P(alive)"),
         _t(lang, "P(存活)<50%占比", "Share with P(alive) < 50%"), _t(lang, "预测CLV合计", "Total CLV")]
    df = pd.DataFrame({
        h[0]: [label("churn_risk", k, lang) for k in keys],
        h[1]: [int(g.size()[k]) for k in keys],
        h[2]: [g["p_alive"].mean()[k] for k in keys], h[3]: [g["p_alive"].median()[k] for k in keys],
        h[4]: [float((g.get_group(k)["p_alive"] < 0.5).mean()) for k in keys],
        h[5]: [g["clv"].sum(min_count=1)[k] for k in keys]})
    return _with_formats(df, ints=[h[1]], pct=h[2:5], money=[h[5]])


def top_customers(customers: pd.DataFrame, lang: str, n: int = 20, *, mask_pii: bool = False) -> pd.DataFrame:
    """The ``n`` customers with the highest CLV, with their layers, in the report language."""
    from kit.present.labels import label
    from kit.present.privacy import mask_frame

    d = customers[customers["clv"].notna()].sort_values("clv", ascending=False).head(n)
    d = mask_frame(d, mask_pii)
    cols = {"customer_id": _t(lang, "客户编号", "Customer")}
    out = pd.DataFrame({cols["customer_id"]: d.index.astype(str)})
    if "name" in d.columns:
        out[_t(lang, "客户名称", "Name")] = d["name"].to_numpy()
    for col, zh, en in (("quadrant", "象限", "Quadrant"), ("churn_risk", "规则流失风险", "Churn risk")):
        if col in d.columns:
            out[_t(lang, zh, en)] = [label(col, k, lang) for k in d[col]]
    h = {"p_alive": _t(lang, "P(存活)", "P(alive)"), "exp_purchases": _t(lang, "预期购买次数", "Expected purchases"),
         "exp_avg_value": _t(lang, "预期客单价", "Expected order value"), "clv": _t(lang, "预测CLV", "CLV")}
    for col, head in h.items():
        out[head] = d[col].to_numpy()
    return _with_formats(out, pct=[h["p_alive"]], money=[h["exp_avg_value"], h["clv"]],
                         decimals={h["exp_purchases"]: 2})


def headline_cards(customers: pd.DataFrame, horizon_months: int, lang: str, currency: str = "") -> list[dict[str, str]]:
    """Headline figures of the stage for ``kit.report.show_cards``: scored customers, total and
    mean CLV, expected purchases over the horizon, mean P(alive)."""
    scored = customers[customers["p_alive"].notna()] if "p_alive" in customers else customers.iloc[:0]
    clv_known = scored["clv"].notna().any() if len(scored) else False
    dash = "–"
    return [
        {"label": _t(lang, "已评分客户", "Customers scored"), "value": f"{len(scored):,} / {len(customers):,}"},
        {"label": _t(lang, f"未来{horizon_months}个月预测CLV合计", f"Total CLV, next {horizon_months} months"),
         "value": f"{currency}{scored['clv'].sum():,.0f}" if clv_known else dash},
        {"label": _t(lang, "人均CLV", "Mean CLV per customer"),
         "value": f"{currency}{scored['clv'].mean():,.0f}" if clv_known else dash},
        {"label": _t(lang, f"未来{horizon_months}个月预期购买次数", f"Expected purchases, next {horizon_months} months"),
         "value": f"{scored['exp_purchases'].sum():,.0f}" if len(scored) else dash},
        {"label": _t(lang, "平均P(存活)", "Mean P(alive)"),
         "value": f"{scored['p_alive'].mean():.1%}" if len(scored) else dash},
    ]
