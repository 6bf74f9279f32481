"""The shifted-beta-geometric (sBG) model of contractual retention, and its valuation.

A customer signs a contract and, at the end of every period (a year, by default), renews or
leaves. A customer's churn probability ``theta`` stays the same from period to period
(a geometric lifetime) and varies across customers as ``Beta(alpha, beta)`` [FH07]. With
``T`` the period at whose end the customer leaves (``T = 1`` when the first renewal fails):

* ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)``                   (FH07 eq. 6)
* ``S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)``: the share of a cohort that has
  made ``t`` renewals                                                         (FH07 eq. 7)
* ``r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)``: the retention
  rate at the t-th renewal, rising with t as the customers prone to leave drop out (eq. 8).

Estimation is by maximum likelihood on renewal histories with right censoring: a customer
who left after ``n`` renewals contributes ``ln P(T = n + 1)``, one still subscribed after
``n`` renewals (the next decision not yet observed) ``ln S(n)``. A cohort's survivor counts
``[N, s_1, ..., s_m]`` are the same data summed (``s_{t-1} - s_t`` customers with
``T = t``, ``s_m`` still subscribed after ``m`` renewals), so :func:`fit_sbg` and
:func:`fit_sbg_individual` maximise one function. The optimiser works on ``ln alpha,
ln beta`` with the exact gradient; standard errors come from the observed information (a
central-difference Hessian of the log-likelihood at the optimum, in log space, mapped to
``alpha, beta`` by the delta method).

Reference check (tests/test_sbg.py): the paper's "regular" and "high end" cohorts, fitted
on years 1-7 (survivor counts for years 0..7, i.e. 7 renewal decisions and the year-7
survivors censored), give alpha 0.668, beta 3.806, LL -1611.16 and alpha 0.704, beta 1.182,
LL -1680.27 as published.

Valuation [FH10]: the discounted expected residual lifetime of a customer who has made
``n - 1`` renewals, valued just before the n-th renewal decision, with discount rate ``d``
per period and one unit of value per period paid at each renewal::

    DERL(d | alpha, beta, n - 1 renewals) = sum_{t >= n} S(t) / S(n - 1) / (1 + d) ** (t - n)
        = (beta + n - 1) / (alpha + beta + n - 1)
          * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))                   (FH10 eq. 6)

:func:`derl` takes the renewals already made (``renewals = n - 1``); the residual value of a
subscription is its recurring value per period times DERL.

Nothing here knows a language or draws: the stage returns numbers and dataclasses.

References
----------
Fader, P. S. & Hardie, B. G. S. (2007). How to Project Customer Retention. *Journal of
Interactive Marketing* 21(1), 76-90. [FH07]

Fader, P. S. & Hardie, B. G. S. (2010). Customer-Base Valuation in a Contractual Setting:
The Perils of Ignoring Heterogeneity. *Marketing Science* 29(1), 85-93. [FH10]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, hyp2f1

#: Bounds of ``ln alpha`` and ``ln beta`` for the optimiser; an optimum on a bound is not
#: converged (the data push the model to a degenerate edge).
LOG_BOUNDS = (-12.0, 12.0)
#: Largest gradient of the log-likelihood per customer (log space) at a converged optimum.
GRADIENT_TOL = 1e-6
#: Step of the central-difference Hessian in log space.
HESSIAN_STEP = 1e-5
#: Starting points ``(ln alpha, ln beta)``; the fit keeps the best optimum.
STARTS = ((0.0, 0.0), (np.log(0.5), np.log(3.0)), (np.log(3.0), np.log(12.0)))


@dataclass(frozen=True)
class SbgFit:
    """A fitted sBG model.

    Attributes
    ----------
    alpha, beta : float
        Parameters of the Beta distribution of the churn probability across customers.
    se_alpha, se_beta : float
        Asymptotic standard errors (observed information, delta method); NaN when the
        Hessian is not positive definite.
    loglik : float
        The log-likelihood at the optimum (FH07 eq. 9 with censoring).
    n : int
        Customers (or renewal chains) in the fit.
    converged : bool
        The optimum is a stationary point inside :data:`LOG_BOUNDS` with a positive definite
        information matrix.
    periods : int
        Renewal periods the data cover: the latest renewal decision observed.
    """

    alpha: float
    beta: float
    se_alpha: float
    se_beta: float
    loglik: float
    n: int
    converged: bool
    periods: int

    def survival(self, t) -> np.ndarray:
        return survival(self.alpha, self.beta, t)

    def retention_rate(self, t) -> np.ndarray:
        return retention_rate(self.alpha, self.beta, t)

    def derl(self, d: float, renewals=0) -> np.ndarray:
        return derl(d, self.alpha, self.beta, renewals)

    def as_dict(self) -> dict[str, float | int | bool]:
        return {"alpha": self.alpha, "beta": self.beta, "se_alpha": self.se_alpha, "se_beta": self.se_beta,
                "loglik": self.loglik, "n": self.n, "converged": self.converged, "periods": self.periods}


# ---- the model's closed forms --------------------------------------------------------------
def survival(alpha: float, beta: float, t) -> np.ndarray:
    """``S(t) = B(alpha, beta + t) / B(alpha, beta)``: the share still subscribed after ``t``
    renewals (``S(0) = 1``) [FH07 eq. 7]."""
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def churn_probability(alpha: float, beta: float, t) -> np.ndarray:
    """``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)``, ``t >= 1`` [FH07 eq. 6]."""
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(alpha + 1.0, beta + t - 1.0) - betaln(alpha, beta))


def retention_rate(alpha: float, beta: float, t) -> np.ndarray:
    """``r(t) = (beta + t - 1) / (alpha + beta + t - 1)``: the share of those subscribed in
    period ``t`` who renew at its end (``t >= 1``) [FH07 eq. 8]."""
    t = np.asarray(t, dtype=float)
    return (beta + t - 1.0) / (alpha + beta + t - 1.0)


def expected_survivors(alpha: float, beta: float, size: float, t) -> np.ndarray:
    """Expected survivors of a cohort of ``size`` after ``t`` renewals: ``size * S(t)``."""
    return size * survival(alpha, beta, t)


def projected_survivors(alpha: float, beta: float, alive: float, renewals: int, periods: int) -> np.ndarray:
    """Expected survivors of the ``alive`` customers who have made ``renewals`` renewals, after
    each of the next ``periods`` renewal decisions: ``alive * S(renewals + k) / S(renewals)``,
    ``k = 1 .. periods``."""
    k = np.arange(1, periods + 1)
    return alive * survival(alpha, beta, renewals + k) / survival(alpha, beta, renewals)


def expected_remaining_renewals(alpha: float, beta: float, renewals=0, horizon: int | None = None) -> np.ndarray:
    """Expected further renewals of a customer who has made ``renewals`` renewals and is
    still subscribed: ``sum_{k >= 1} S(renewals + k) / S(renewals)``.

    Without ``horizon`` the sum is ``(beta + renewals) / (alpha - 1)`` for ``alpha > 1`` and
    infinite for ``alpha <= 1`` (the Beta mixing puts enough customers near a churn
    probability of 0 that the mean lifetime diverges); with ``horizon`` it counts only the
    next ``horizon`` renewal decisions and is always finite.
    """
    n = np.asarray(renewals, dtype=float)
    if horizon is None:
        if alpha <= 1.0:
            return np.full(n.shape, np.inf)
        return (beta + n) / (alpha - 1.0)
    k = np.arange(1, int(horizon) + 1)
    ratio = np.exp(betaln(alpha, beta + n[..., None] + k) - betaln(alpha, beta + n[..., None]))
    return ratio.sum(axis=-1)


def derl(d: float, alpha: float, beta: float, renewals=0) -> np.ndarray:
    """Discounted expected residual lifetime [FH10 eq. 6].

    For a customer who has made ``renewals`` renewals (the paper's ``n - 1``), valued just
    before the next renewal decision, one unit of value paid at each future renewal and
    discount rate ``d`` per period::

        DERL = sum_{t >= n} S(t) / S(n - 1) / (1 + d) ** (t - n),   n = renewals + 1
             = (beta + n - 1) / (alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))

    The first term is the next renewal, undiscounted (it happens at the valuation point).
    A newly acquired customer (``renewals = 0``) is worth ``1 + DERL`` units: the payment
    at signing plus the residual (FH10's discounted expected lifetime value).
    """
    if d <= 0:
        raise ValueError(f"DERL needs a positive discount rate per period, got {d!r}")
    n = np.asarray(renewals, dtype=float) + 1.0
    return (beta + n - 1.0) / (alpha + beta + n - 1.0) * hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + d))


def residual_value(value, d: float, alpha: float, beta: float, renewals=0) -> np.ndarray:
    """Discounted expected residual lifetime value: recurring ``value`` per period x DERL."""
    return np.asarray(value, dtype=float) * derl(d, alpha, beta, renewals)


# ---- the likelihood ----------------------------------------------------------------------------
def _check_counts(churned_at: np.ndarray, alive_at: np.ndarray) -> None:
    if np.any(churned_at < 0) or np.any(alive_at < 0):
        raise ValueError("sBG counts must be non-negative")
    if churned_at.sum() <= 0:
        raise ValueError("no customer left: the data hold no churn information for the sBG model")
    survived = (alive_at * np.arange(len(alive_at))).sum() + (churned_at * np.arange(len(churned_at))).sum()
    if survived <= 0:
        raise ValueError("no customer renewed: the data hold no retention information for the sBG model")


def counts_from_survivors(survivors: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """``(churned_at, alive_at)`` of a cohort's survivor counts ``[N, s_1, ..., s_m]``:
    ``churned_at[t - 1]`` customers left at the t-th decision, ``alive_at[t]`` are still
    subscribed after ``t`` renewals, their next decision unseen (here only ``t = m``)."""
    s = np.asarray(survivors, dtype=float)
    if s.ndim != 1 or len(s) < 2:
        raise ValueError("survivor counts need at least two values: the cohort size and one period")
    if s[0] <= 0 or np.any(s < 0) or np.any(np.diff(s) > 0):
        raise ValueError(f"survivor counts must start positive and never rise, got {s.tolist()}")
    alive = np.zeros(len(s))
    alive[-1] = s[-1]
    return s[:-1] - s[1:], alive


def counts_from_histories(renewals, churned, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """``(churned_at, alive_at)`` of individual renewal histories: a customer who made
    ``renewals`` renewals and then left (``churned``) has ``T = renewals + 1``; one still
    subscribed is censored after ``renewals`` renewals."""
    n = np.asarray(renewals)
    c = np.asarray(churned, dtype=bool)
    w = np.ones(len(n)) if weights is None else np.asarray(weights, dtype=float)
    if n.shape != c.shape or n.shape != w.shape or n.ndim != 1 or len(n) == 0:
        raise ValueError("renewals, churned and weights must be one-dimensional, of one non-zero length")
    if np.any(n < 0) or np.any(n != np.round(n)):
        raise ValueError("renewals must be whole numbers >= 0")
    n = n.astype(int)
    m = int(n.max()) + 1
    churned_at = np.bincount(n[c], weights=w[c], minlength=m).astype(float)  # index t - 1
    alive_at = np.bincount(n[~c], weights=w[~c], minlength=m).astype(float)  # index t
    return churned_at, alive_at


def _loglik_grad(log_params: np.ndarray, churned_at: np.ndarray, alive_at: np.ndarray) -> tuple[float, np.ndarray]:
    """Log-likelihood and its gradient in ``(ln alpha, ln beta)``."""
    a, b = np.exp(log_params)
    t_churn = np.arange(1, len(churned_at) + 1)
    t_alive = np.arange(len(alive_at))
    base = betaln(a, b)
    ll = (churned_at * (betaln(a + 1.0, b + t_churn - 1.0) - base)).sum()
    ll += (alive_at * (betaln(a, b + t_alive) - base)).sum()
    da0, db0 = digamma(a) - digamma(a + b), digamma(b) - digamma(a + b)
    psi_c = digamma(a + b + t_churn)
    ga = (churned_at * (digamma(a + 1.0) - psi_c - da0)).sum()
    gb = (churned_at * (digamma(b + t_churn - 1.0) - psi_c - db0)).sum()
    psi_s = digamma(a + b + t_alive)
    ga += (alive_at * (digamma(a) - psi_s - da0)).sum()
    gb += (alive_at * (digamma(b + t_alive) - psi_s - db0)).sum()
    return float(ll), np.array([a * ga, b * gb])


def log_likelihood(alpha: float, beta: float, churned_at, alive_at) -> float:
    """sBG log-likelihood of the counts of :func:`counts_from_survivors` /
    :func:`counts_from_histories`."""
    ll, _ = _loglik_grad(np.log([alpha, beta]), np.asarray(churned_at, float), np.asarray(alive_at, float))
    return ll


def sbg_log_likelihood(alpha: float, beta: float, renewals, churned, weights=None) -> float:
    """sBG log-likelihood of individual renewal histories (right-censored)."""
    return log_likelihood(alpha, beta, *counts_from_histories(renewals, churned, weights))


def _hessian(x: np.ndarray, churned_at: np.ndarray, alive_at: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of the log-likelihood in log space (from the exact gradient)."""
    h = np.zeros((2, 2))
    for j in range(2):
        e = np.zeros(2)
        e[j] = HESSIAN_STEP
        h[:, j] = (_loglik_grad(x + e, churned_at, alive_at)[1] - _loglik_grad(x - e, churned_at, alive_at)[1]) / (
            2 * HESSIAN_STEP)
    return (h + h.T) / 2


def _optimum(churned_at: np.ndarray, alive_at: np.ndarray) -> tuple[np.ndarray, bool]:
    """The best of the L-BFGS-B runs from :data:`STARTS`, polished by Newton steps; and
    whether it is a stationary point (gradient per customer under :data:`GRADIENT_TOL`)."""
    scale = churned_at.sum() + alive_at.sum()

    def objective(x):
        ll, g = _loglik_grad(x, churned_at, alive_at)
        return -ll / scale, -g / scale

    runs = [minimize(objective, np.array(x0), jac=True, method="L-BFGS-B", bounds=[LOG_BOUNDS] * 2,
                     options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000}) for x0 in STARTS]
    best = min(runs, key=lambda r: r.fun)
    x = best.x.copy()
    for _ in range(5):  # Newton polish: L-BFGS-B stops a little short on flat likelihoods
        h = _hessian(x, churned_at, alive_at)
        g = _loglik_grad(x, churned_at, alive_at)[1]
        if not np.all(np.linalg.eigvalsh(-h) > 0):
            break
        step = np.linalg.solve(h, g)
        x_new = np.clip(x - step, *LOG_BOUNDS)
        if _loglik_grad(x_new, churned_at, alive_at)[0] < _loglik_grad(x, churned_at, alive_at)[0] - 1e-12:
            break
        x = x_new
        if np.max(np.abs(step)) < 1e-12:
            break
    return x, bool(np.max(np.abs(_loglik_grad(x, churned_at, alive_at)[1])) / scale < GRADIENT_TOL)


def fit_counts(churned_at, alive_at) -> SbgFit:
    """Maximum-likelihood sBG fit of ``(churned_at, alive_at)`` counts (see
    :func:`counts_from_histories`). Raises ValueError when the data hold no churn or no
    renewal."""
    churned_at, alive_at = np.asarray(churned_at, float), np.asarray(alive_at, float)
    _check_counts(churned_at, alive_at)
    x, ok = _optimum(churned_at, alive_at)
    ll = _loglik_grad(x, churned_at, alive_at)[0]
    info = -_hessian(x, churned_at, alive_at)
    pd_ok = bool(np.all(np.isfinite(info)) and np.all(np.linalg.eigvalsh(info) > 0))
    if pd_ok:
        se_log = np.sqrt(np.diag(np.linalg.inv(info)))
    else:
        se_log = np.full(2, np.nan)
    a, b = np.exp(x)
    interior = bool(np.all(np.abs(x - LOG_BOUNDS[0]) > 1e-6) and np.all(np.abs(x - LOG_BOUNDS[1]) > 1e-6))
    periods = max(int(np.flatnonzero(churned_at).max()) + 1 if churned_at.any() else 0,
                  int(np.flatnonzero(alive_at).max()) if alive_at.any() else 0)
    return SbgFit(alpha=float(a), beta=float(b), se_alpha=float(a * se_log[0]), se_beta=float(b * se_log[1]),
                  loglik=float(ll), n=int(round(churned_at.sum() + alive_at.sum())),
                  converged=ok and pd_ok and interior, periods=periods)


def fit_sbg(survivors: Sequence[float]) -> SbgFit:
    """Fit the sBG model to a cohort's survivor counts ``[N, s_1, ..., s_m]`` (``N``
    customers at signing, ``s_t`` still subscribed after ``t`` renewals) [FH07 eq. 9].

    >>> f = fit_sbg([1000, 869, 743, 653, 593, 551, 517, 491])   # FH07, "regular"
    >>> round(f.alpha, 3), round(f.beta, 3), round(f.loglik, 2)
    (0.668, 3.806, -1611.16)
    """
    return fit_counts(*counts_from_survivors(survivors))


def fit_sbg_individual(renewals, churned, weights=None) -> SbgFit:
    """Fit the sBG model to individual renewal histories with right censoring: per customer
    (or renewal chain) the renewals made and whether it has left (``False``: still
    subscribed, its next decision not yet seen). ``weights`` count identical histories."""
    return fit_counts(*counts_from_histories(renewals, churned, weights))
