"""Intervals from the parameters' sampling distribution: parameters, customers, group totals.

Method: draws from the **asymptotic normal distribution of the maximum-likelihood estimate**,
in log-parameters, with covariance ``inv(H) / W``: ``H`` the exact Hessian of lifetimes'
objective (mean negative log-likelihood in log-parameters, :mod:`kit.stages.clv.likelihood`,
:mod:`kit.stages.clv.family`) at the optimum and ``W`` the number of customers. Why not a
parametric bootstrap: it needs a refit per draw (200 fits of a million customers), while the
normal approximation needs the one Hessian the fit already has, is exact to first order at
the sample sizes the kit sees (thousands of customers and more; the coverage simulation in
tests/test_clv_models.py checks the 90 % intervals), and log-parameters keep every draw
positive (the interval of ``alpha`` is ``exp(log alpha +- z se)``, never below 0).

Each draw of the count model (and of Gamma-Gamma) gives every customer a P(alive), expected
purchases and CLV; the interval is the central ``level`` share of those values (e.g. the
5th and 95th percentiles for 90 %). These intervals carry the uncertainty of the estimates,
not the chance in a customer's own future purchases. Vectorised: the count model's
predictions are computed once per distinct ``(x, t_x, T)`` pattern and draw, CLV per customer
chunk; totals per group (quadrant, tier) are summed per draw, then their percentiles taken.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from kit.stages.clv.closed_forms import DistinctPairs, distinct_rows
from kit.stages.clv.family_forms import PARAM_NAMES
from kit.stages.clv.results import BgNbdResult, GammaGammaResult
from kit.stages.clv.scoring import _periods_per_month, discounted_expected_purchases, spend_summary

INTERVAL_COLUMNS = ["p_alive_low", "p_alive_high", "exp_purchases_low", "exp_purchases_high",
                    "clv_low", "clv_high"]


def log_covariance(fitter) -> np.ndarray | None:
    """Covariance of the log-parameters, ``inv(H) / W``, from a fitted lifetimes-style fitter
    (None when it has no Hessian or the Hessian is singular)."""
    h = getattr(fitter, "_hessian_", None)
    if h is None:
        return None
    data = getattr(fitter, "data", None)
    w = float(data["weights"].sum()) if data is not None and "weights" in data else float(len(data))
    try:
        cov = np.linalg.inv(np.asarray(h, dtype=float)) / w
    except np.linalg.LinAlgError:
        return None
    cov = (cov + cov.T) / 2
    return cov if np.all(np.isfinite(cov)) and np.all(np.linalg.eigvalsh(cov) > 0) else None


def parameter_intervals(params: Mapping[str, float], fitter, level: float = 0.9) -> pd.DataFrame:
    """Per parameter: estimate and the ``level`` interval ``exp(log p +- z se_log)``.

    Columns ``estimate, low, high``; NaN bounds without a usable Hessian.
    """
    cov = log_covariance(fitter)
    names = list(params)
    est = np.array([params[k] for k in names], dtype=float)
    z = norm.ppf(0.5 + level / 2)
    se = np.sqrt(np.diag(cov)) if cov is not None else np.full(len(names), np.nan)
    return pd.DataFrame({"estimate": est, "low": est * np.exp(-z * se), "high": est * np.exp(z * se)},
                        index=pd.Index(names, name="param"))


def _draws(params: Mapping[str, float], names: Sequence[str], fitter, n_draws: int,
           rng: np.random.Generator) -> np.ndarray | None:
    """``n_draws`` x k natural-parameter draws (log-normal around the estimate), or None."""
    cov = log_covariance(fitter)
    if cov is None:
        return None
    centre = np.log([params[k] for k in names])
    return np.exp(rng.multivariate_normal(centre, cov, size=n_draws, method="cholesky"))


@dataclass(frozen=True)
class Draws:
    """Parameter draws of the count model (``count``: draws x 4) and of Gamma-Gamma (``gg``:
    draws x 3, or None when the spend model is not computed)."""

    kind: str
    count: np.ndarray
    gg: np.ndarray | None
    level: float


def draw_parameters(count: BgNbdResult, gg: GammaGammaResult | None, *, n_draws: int = 200,
                    level: float = 0.9, seed: int = 0) -> Draws | None:
    """Draws of both models' parameters (seeded); None when the count model has no Hessian."""
    rng = np.random.default_rng(seed)
    names = PARAM_NAMES[count.kind_]
    c = _draws(count.params_, names, count.model_, n_draws, rng) if count.converged_ else None
    if c is None:
        return None
    g = None
    if gg is not None and gg.computed_:
        g = _draws({"p": gg.params_["p"], "q": gg.params_["q"], "v": gg.params_["gamma"]}, ("p", "q", "v"),
                   gg.model_, n_draws, rng)
    return Draws(count.kind_, c, g, level)


def _pattern_draws(count: BgNbdResult, draws: Draws, x, tx, T, horizon_months: int, rate: float, ppm: float,
                   chunk: int = 10_000):
    """Per distinct pattern: the ``level`` bounds over the draws of P(alive) and of expected
    purchases, and the discounted purchases of every draw (patterns x draws, what CLV needs).

    Patterns are taken ``chunk`` at a time, so only the discounted purchases are held for
    every pattern and draw (at 1M customers: 218k patterns x 200 draws, 350 MB each array
    kept whole before); every value is computed per pattern, so the result does not depend on
    the chunk."""
    (pat_x, pat_tx, pat_T), inv = distinct_rows(x, tx, T)  # sorted: a chunk's patterns share pairs
    names = PARAM_NAMES[count.kind_]
    n_draws = len(draws.count)
    fits = [dataclasses.replace(count, params_=dict(zip(names, draws.count[d]))) for d in range(n_draws)]
    disc = np.empty((len(pat_x), n_draws))
    pa_lo, pa_hi, ep_lo, ep_hi = (np.empty(len(pat_x)) for _ in range(4))
    for start in range(0, len(pat_x), chunk):
        sl = slice(start, start + chunk)
        px, ptx, pT = pat_x[sl], pat_tx[sl], pat_T[sl]
        pa, ep = np.empty((len(px), n_draws)), np.empty((len(px), n_draws))
        pairs = DistinctPairs.of(px, ptx, pT)  # found once, used by every draw
        for d, res in enumerate(fits):
            pa[:, d] = res.p_alive(px, ptx, pT, pairs)
            ep[:, d], disc[sl, d] = discounted_expected_purchases(
                res, px, ptx, pT, horizon_months=horizon_months,
                discount_rate_monthly=rate, periods_per_month=ppm, p_alive=pa[:, d], pairs=pairs)
        pa_lo[sl], pa_hi[sl] = _bounds(pa, draws.level)
        ep_lo[sl], ep_hi[sl] = _bounds(ep, draws.level)
    return inv, (pa_lo, pa_hi), (ep_lo, ep_hi), disc


def _bounds(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.quantile(values, [0.5 - level / 2, 0.5 + level / 2], axis=1)
    return lo, hi


def customer_intervals(summary: pd.DataFrame, count: BgNbdResult, gg: GammaGammaResult | None,
                       margin: float | pd.Series, draws: Draws, *, horizon_months: int = 12,
                       discount_rate_monthly: float = 0.01, periods_per_month: float | None = None,
                       groups: Mapping[str, pd.Series] | None = None, chunk: int = 10_000):
    """Per-customer ``level`` intervals of P(alive), expected purchases and CLV, and per group
    the interval of total CLV.

    Returns
    -------
    (DataFrame, dict)
        Index as ``summary``, :data:`INTERVAL_COLUMNS` (CLV bounds NaN without Gamma-Gamma);
        ``{group name: DataFrame}`` with index the group's keys and columns ``low, high`` of
        the total CLV (``groups`` maps a name to a Series of keys aligned on the index).
    """
    ppm = _periods_per_month(count.time_unit_, periods_per_month)
    x, tx, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    inv, (pa_lo, pa_hi), (ep_lo, ep_hi), disc = _pattern_draws(count, draws, x, tx, T, horizon_months,
                                                               discount_rate_monthly, ppm)
    out = pd.DataFrame(index=summary.index)
    out["p_alive_low"], out["p_alive_high"] = pa_lo[inv], pa_hi[inv]
    out["exp_purchases_low"], out["exp_purchases_high"] = ep_lo[inv], ep_hi[inv]
    out["clv_low"] = out["clv_high"] = math.nan
    totals: dict[str, pd.DataFrame] = {}
    if draws.gg is None:
        return out, totals
    spend = spend_summary(summary)
    xs, m = spend["frequency"].to_numpy(dtype=float), spend["monetary_value"].to_numpy(dtype=float)
    mg = margin.reindex(summary.index).to_numpy(dtype=float) if isinstance(margin, pd.Series) \
        else np.full(len(x), float(margin))
    codes = {name: pd.factorize(keys.reindex(summary.index)) for name, keys in (groups or {}).items()}
    sums = {name: np.zeros((len(uniq), len(draws.count))) for name, (_, uniq) in codes.items()}
    p, q, v = (draws.gg[:, i][None, :] for i in range(3))
    clv_lo, clv_hi = np.empty(len(x)), np.empty(len(x))
    for start in range(0, len(x), chunk):
        sl = slice(start, start + chunk)
        w = p * xs[sl, None] / (p * xs[sl, None] + q - 1)
        ev = (1 - w) * (v * p / (q - 1)) + w * m[sl, None]
        clv = mg[sl, None] * ev * disc[inv[sl]]
        clv_lo[sl], clv_hi[sl] = _bounds(clv, draws.level)
        for name, (c, _) in codes.items():
            cc = c[sl]
            for g in range(sums[name].shape[0]):
                sums[name][g] += clv[cc == g].sum(axis=0)
    out["clv_low"], out["clv_high"] = clv_lo, clv_hi
    for name, (_, uniq) in codes.items():
        lo_g, hi_g = _bounds(sums[name], draws.level)
        totals[name] = pd.DataFrame({"low": lo_g, "high": hi_g}, index=pd.Index(uniq, name=name))
    return out, totals



@dataclass(frozen=True)
class IntervalResult:
    """What :func:`spine_intervals` gives the stage: per customer, per group total, per parameter."""

    customers: pd.DataFrame
    totals: dict[str, pd.DataFrame]
    parameters: dict[str, pd.DataFrame]
    level: float
    n_draws: int


def spine_intervals(customers: pd.DataFrame, summary: pd.DataFrame, count: BgNbdResult,
                    gg: GammaGammaResult | None, margin: pd.Series, *, level: float, n_draws: int, seed: int,
                    horizon_months: int, discount_rate_monthly: float, periods_per_month: float | None,
                    group_columns: Sequence[str] = ("quadrant", "value_tier")) -> IntervalResult | None:
    """The intervals of the spine's scored customers (:data:`INTERVAL_COLUMNS`, reindexed on
    ``customers``), the total CLV per quadrant and tier, the parameters; None when the count
    model did not converge or has no usable Hessian."""
    if not count.converged_:
        return None
    draws = draw_parameters(count, gg, n_draws=n_draws, level=level, seed=seed)
    if draws is None:
        return None
    common = customers.index.intersection(summary.index)
    groups = {c: customers.loc[common, c].astype(object) for c in group_columns if c in customers.columns}
    per, totals = customer_intervals(summary.loc[common], count, gg, margin.loc[common], draws,
                                     horizon_months=horizon_months, discount_rate_monthly=discount_rate_monthly,
                                     periods_per_month=periods_per_month, groups=groups)
    params = {"count": parameter_intervals(count.params_, count.model_, level)}
    if gg is not None and gg.computed_:
        params["gamma_gamma"] = parameter_intervals(gg.params_, gg.model_, level)
    return IntervalResult(per.reindex(customers.index), totals, params, level, n_draws)
