"""BG/NBD and Gamma-Gamma likelihoods, and lifetimes' fitters on exact derivatives.

The input check of a customer summary, the papers' log-likelihoods (FHL05 eq. 6, FH13
eq. 1), lifetimes' objectives with their exact gradients and Hessians, and the fitters
(:func:`_fast_fitter`) that run lifetimes' own BFGS on them.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, polygamma

#: Model time units per month in lifetimes' ``customer_lifetime_value`` (``freq`` W, D, M).
#: The kit uses them by default so its CLV equals lifetimes'; note that they differ slightly
#: from the 30.4375-day month of :data:`kit.summary.TIME_UNIT_DAYS` (4.345 vs 4.348 weeks).
LIFETIMES_PERIODS_PER_MONTH: dict[str, float] = {"day": 30.0, "week": 4.345, "month": 1.0}

BGNBD_PARAMS = ("r", "alpha", "a", "b")
GG_PARAMS = ("p", "q", "gamma")


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
# Log-likelihoods of the papers
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
    #: ``A2``'s ``b``-terms read ``b + x + shift``, ``a + b + x + shift`` (MBG/NBD: 1).
    shift = 0.0

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
        p = np.exp(np.asarray(theta, dtype=float))
        g = np.zeros(4)
        h = np.zeros((4, 4))
        ll = self._frequency_terms(p, g, h)
        if len(self.T0):
            ll -= self._no_repeat_terms(p, g, h)
        if len(self.x):
            ll += self._repeat_terms(p, g, h, hessian)
        h = np.triu(h) + np.triu(h, 1).T
        return _to_log_space(p, ll, g, h, self.w_sum, self.penalizer)

    def _frequency_terms(self, p: np.ndarray, g: np.ndarray, h: np.ndarray) -> float:
        """A1 + A2 (frequency-only terms): their log-likelihood; sets ``g`` and ``h``."""
        r, al, a, b = p
        xu, wx, W = self.xu, self.wx, self.w_sum
        xb = xu + self.shift if self.shift else xu
        ll = _dot(wx, gammaln(r + xu) - gammaln(r) + gammaln(a + b) + gammaln(b + xb) - gammaln(b)
                  - gammaln(a + b + xb)) + r * math.log(al) * W
        g[0] = wx @ (digamma(r + xu) - digamma(r)) + math.log(al) * W
        g[1] = r * W / al
        g[2] = wx @ (digamma(a + b) - digamma(a + b + xb))
        g[3] = wx @ (digamma(a + b) + digamma(b + xb) - digamma(b) - digamma(a + b + xb))
        h[0, 0] = wx @ (polygamma(1, r + xu) - polygamma(1, r))
        h[0, 1] = W / al
        h[1, 1] = -r * W / al**2
        h[2, 2] = h[2, 3] = wx @ (polygamma(1, a + b) - polygamma(1, a + b + xb))
        h[3, 3] = wx @ (polygamma(1, a + b) + polygamma(1, b + xb) - polygamma(1, b) - polygamma(1, a + b + xb))
        return ll

    def _no_repeat_terms(self, p: np.ndarray, g: np.ndarray, h: np.ndarray) -> float:
        """Customers without repeat purchases, ``A3 = -r log(alpha + T)``: the amount to
        subtract from the log-likelihood; updates ``g`` and ``h``."""
        r, al = p[0], p[1]
        i0 = 1.0 / (al + self.T0)
        sw_l0 = _dot(self.w0, np.log(al + self.T0))
        sw_i0 = _dot(self.w0, i0)
        g[0] -= sw_l0
        g[1] -= r * sw_i0
        h[0, 1] -= sw_i0
        h[1, 1] += r * _dot(self.w0, i0 * i0)
        return r * sw_l0

    def _repeat_terms(self, p: np.ndarray, g: np.ndarray, h: np.ndarray, hessian: bool) -> float:
        """Repeat buyers, ``log(exp(A3) + exp(A4))``: the amount to add to the
        log-likelihood; updates ``g`` (and ``h`` with ``hessian``)."""
        r, al, a, b = p
        w, u = self.w, r + self.x
        lT, ltx = np.log(al + self.T), np.log(al + self.tx)
        iT, itx = 1.0 / (al + self.T), 1.0 / (al + self.tx)
        ib = 1.0 / (b + self.bx)
        a3 = -u * lT
        dd = math.log(a) + np.log(ib) - u * ltx - a3  # A4 - A3
        e = np.exp(-np.abs(dd))
        ll = _dot(w, a3 + np.maximum(dd, 0.0) + np.log1p(e))
        s = np.where(dd >= 0, 1.0, e) / (1.0 + e)  # exp(A4) / (exp(A3) + exp(A4))
        ws = w * s
        d0, d1 = lT - ltx, u * (iT - itx)  # D = dA4 - dA3 = (d0, d1, 1 / a, -ib)
        uiT = u * iT
        g[0] += _dot(ws, d0) - _dot(w, lT)
        g[1] += _dot(ws, d1) - _dot(w, uiT)
        sum_ws = float(ws.sum())
        g[2] += sum_ws / a
        g[3] -= _dot(ws, ib)
        if not hessian:
            return ll
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
        return ll


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
    out = minimize(lambda t: objective(t, hessian=False)[:2], np.asarray(x0, dtype=float), jac=True,
                   method=None, tol=tol, options={"disp": disp})
    if not out.success:
        raise ConvergenceError(f"The model did not converge ({out.message}). Try adding a larger penalizer.")
    return out.x, float(out.fun), objective(out.x)[2]


_FAST_FITTERS: dict[str, type] = {}


def _fast_fitter(kind: Literal["bgnbd", "gamma_gamma"]):
    """lifetimes' ``BetaGeoFitter`` / ``GammaGammaFitter`` optimised on the exact derivatives
    above (built on first use)."""
    if kind in _FAST_FITTERS:
        return _FAST_FITTERS[kind]

    def make(base, objective_cls):
        def _fit(self, args, initial_params, params_size, disp, tol=1e-7, bounds=None, **kwargs):
            if bounds is not None or kwargs:  # options only lifetimes' own optimiser handles
                return base._fit(self, args, initial_params, params_size, disp, tol, bounds, **kwargs)
            *data, penalizer = args
            x0 = 0.1 * np.ones(params_size) if initial_params is None else initial_params
            return _bfgs_as_lifetimes(objective_cls(*data, penalizer), x0, tol, disp)

        return type(f"Fast{base.__name__}", (base,), {
            "_fit": _fit, "__module__": __name__,
            "__doc__": f"lifetimes' {base.__name__} with exact numpy derivatives (kit.stages.clv)."})

    _FAST_FITTERS["bgnbd"] = make(BetaGeoFitter, _BgNbdObjective)
    _FAST_FITTERS["gamma_gamma"] = make(GammaGammaFitter, _GammaGammaObjective)
    return _FAST_FITTERS[kind]
