"""MBG/NBD and Pareto/NBD beside BG/NBD: log-likelihoods, lifetimes' objectives with exact
derivatives, and the fast fitters.

* **MBG/NBD** (Batislam, Denizel & Filiztekin 2007): BG/NBD where a customer may also drop
  out right after the first purchase, so one-time buyers age. lifetimes'
  ``ModifiedBetaGeoFitter`` runs ``BetaGeoFitter``'s BFGS (start 0.1 in log-parameters,
  ``tol=1e-7``) on autograd; :class:`_MbgNbdObjective` is the same objective with its exact
  gradient and Hessian in numpy (the BG/NBD algebra of :class:`_BgNbdObjective` with ``b + x``
  for ``b + x - 1``, applied to every row), so the kit's fit is lifetimes' own.
* **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987; the likelihood as in Fader, Hardie &
  Lee's 2005 note 009, eq. 18-20). lifetimes' ``ParetoNBDFitter`` minimises its objective with
  Nelder-Mead from a *random* start (``normal(1, 0.05)``), ``tol=1e-4``: its estimates move
  from run to run in the fourth digit. The kit minimises the same objective (lifetimes'
  closed form of ``A_0`` with the Gauss hypergeometric function, computed without the
  cancellation that makes lifetimes return NaN for long-inactive heavy buyers) by Newton's
  method with a trust region in log-parameters from the deterministic start 1 (lifetimes'
  mean start), on the exact gradient and Hessian
  (the derivatives of ``A_0``, an integral over the drop-out time, computed under the
  integral by Gauss-Legendre quadrature, 16 to 128 nodes on a log scale) to ``tol=1e-10``: it reaches
  the maximum lifetimes stops short of (a higher log-likelihood, always) and is deterministic.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from lifetimes.utils import ConvergenceError
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1, polygamma

from kit.stages.clv.closed_forms import DistinctPairs
from kit.stages.clv.likelihood import _BgNbdObjective, _dot, _to_log_space

MBGNBD_PARAMS = ("r", "alpha", "a", "b")
PARETO_PARAMS = ("r", "alpha", "s", "beta")

#: Gauss-Legendre nodes on [0, 1] for the Pareto/NBD drop-out integral (log-spaced in time), by
#: how steep the integrand is: ``(r + x + s + 1) * log((c + T) / (c + t_x))`` below each bound.
_GL_RULES = [(bound, (np.polynomial.legendre.leggauss(n)[0] + 1) / 2, np.polynomial.legendre.leggauss(n)[1] / 2)
             for bound, n in ((6.0, 16), (24.0, 32), (80.0, 64), (np.inf, 128))]


# --------------------------------------------------------------------------------------
# MBG/NBD
# --------------------------------------------------------------------------------------


def mbgnbd_log_likelihood(params: Mapping[str, float], frequency, recency, T, weights=None) -> float:
    """MBG/NBD log-likelihood (Batislam et al. 2007), summed over customers (times ``weights``)."""
    r, alpha, a, b = (params[k] for k in MBGNBD_PARAMS)
    x, tx, t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
    a3 = -(r + x) * np.log(alpha + t)
    a4 = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + tx)
    return float(np.sum(w * (a1 + a2 + np.logaddexp(a3, a4))))


class _MbgNbdObjective(_BgNbdObjective):
    """lifetimes' MBG/NBD objective with its exact gradient and Hessian.

    Per row ``A1 + A2 + log(exp(A3) + exp(A4))`` as BG/NBD, except that ``A2`` has
    ``b + x + 1`` and ``a + b + x + 1`` and ``A4 = log a - log(b + x) - (r + x) log(alpha + t_x)``
    applies to every row (also ``x = 0``, with ``t_x = 0``).
    """

    shift = 1.0

    def __init__(self, x, tx, T, w, penalizer: float):
        x, tx, T, w = (np.asarray(v, dtype=float).ravel() for v in (x, tx, T, w))
        self.penalizer = float(penalizer)
        self.w_sum = float(w.sum())
        self.xu, inv = np.unique(x, return_inverse=True)
        self.wx = np.bincount(inv.ravel(), weights=w, minlength=len(self.xu))
        self.T0, self.w0 = T[:0], w[:0]
        self.x, self.tx, self.T, self.w = x, tx, T, w
        self.bx = x  # b + x


# --------------------------------------------------------------------------------------
# Pareto/NBD
# --------------------------------------------------------------------------------------


def _log_A0(params, x, tx, T, pairs: DistinctPairs | None = None):
    """log A_0 of note 009 (eq. 19-20), lifetimes' formula without cancellation.

    ``A_0 = 2F1(z1) / q1^k - 2F1(z2) / q2^k`` (``k = r + s + x``, ``q = max(alpha, beta) + t``);
    both terms are positive and the first is the larger (``t_x <= T``), so
    ``log A_0 = log 2F1(z1) - k log q1 + log1p(-ratio)``: finite wherever ``t_x < T``
    (``-inf`` when ``t_x = T``), where lifetimes' signed ``logsumexp`` underflows to NaN.
    ``pairs``: :class:`DistinctPairs` of the rows, to compute each term once per pair.
    """
    r, alpha, s, beta = params
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    lo, hi = min(alpha, beta), max(alpha, beta)

    def term(xs, t):  # log 2F1(k, ., k + 1, (hi - lo) / (hi + t)) - k log(hi + t)
        k = r + s + xs
        b = r + xs if alpha < beta else s + 1.0
        return np.log(hyp2f1(k, b, k + 1.0, (hi - lo) / (hi + t))) - k * np.log(hi + t)

    with np.errstate(divide="ignore", invalid="ignore"):
        if pairs is None:
            l1, l2 = term(x, tx), term(x, T)
        else:
            (x1, t1, at1), (x2, t2, at2) = pairs.x_tx, pairs.x_T
            l1, l2 = term(x1, t1)[at1].reshape(x.shape), term(x2, t2)[at2].reshape(x.shape)
        d = np.minimum(l2 - l1, 0.0)
        return l1 + np.where(d < 0, np.log(-np.expm1(d)), -np.inf)


def _pareto_terms(params, x, tx, T, pairs: DistinctPairs | None = None):
    """``(A1, E1, E2)`` per row: ``LL = A1 + logaddexp(E1, E2)`` (note 009 eq. 18)."""
    r, alpha, s, beta = params
    a1 = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
    return (a1, *_pareto_exponents(params, x, tx, T, pairs))


def _pareto_exponents(params, x, tx, T, pairs: DistinctPairs | None = None):
    """``(E1, E2)`` of :func:`_pareto_terms` (all P(alive) needs); with ``pairs``, ``E1`` (a
    function of ``(x, T)``) once per pair too."""
    r, alpha, s, beta = params
    if pairs is None:
        e1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    else:
        xu, tu, at = pairs.x_T
        e1 = (-(r + xu) * np.log(alpha + tu) - s * np.log(beta + tu))[at].reshape(np.shape(x))
    e2 = math.log(s) + _log_A0(params, x, tx, T, pairs) - np.log(r + s + x)
    return e1, e2


def pareto_nbd_log_likelihood(params: Mapping[str, float], frequency, recency, T, weights=None) -> float:
    """Pareto/NBD log-likelihood summed over customers (times ``weights``); CDNOW sample in
    weeks: about -9595.0 (Fader, Hardie & Lee's note on implementing the Pareto/NBD)."""
    p = tuple(float(params[k]) for k in PARETO_PARAMS)
    x, tx, t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    a1, e1, e2 = _pareto_terms(p, x, tx, t)
    return float(np.sum(w * (a1 + np.logaddexp(e1, e2))))


def _dropout_moments(p, x, tx, T, hessian: bool = True):
    """Mean and covariance of ``phi = d log f / d(r, alpha, s, beta)`` and the mean of
    ``d2 log f`` under the drop-out density ``f(tau) = (alpha+tau)^-(r+x) (beta+tau)^-(s+1)``
    on ``(t_x, T)``, by Gauss-Legendre quadrature on a log scale of ``min(alpha, beta) + tau``
    (16 to 128 nodes, more where the density is steeper).

    Returns ``(mean_phi (n, 4), second (n, 4, 4) or None)`` with ``second = Cov(phi) +
    E[d2 log f]`` (the Hessian of ``log I``); rows with ``t_x = T`` are zeros.
    """
    r, alpha, s, beta = p
    c = min(alpha, beta)
    span = np.log(c + T) - np.log(c + tx)
    steep = (r + x + s + 1.0) * span
    mean = np.zeros((len(x), 4))
    second = np.zeros((len(x), 4, 4)) if hessian else None
    lower = -np.inf
    for bound, y, w in _GL_RULES:
        rows = np.flatnonzero((steep > lower) & (steep <= bound) & (span > 0))
        lower = bound
        if len(rows):
            m, sec = _moments_block(p, x[rows], tx[rows], span[rows], y, w, hessian)
            mean[rows] = m
            if hessian:
                second[rows] = sec
    return mean, second


def _moments_block(p, x, tx, span, y, w, hessian: bool):
    """:func:`_dropout_moments` on rows sharing one quadrature rule (nodes ``y``, weights ``w``)."""
    r, alpha, s, beta = p
    c = min(alpha, beta)
    tau = (c + tx)[:, None] * np.exp(span[:, None] * y[None, :]) - c  # (n, nodes)
    base = [np.log(alpha + tau), 1.0 / (alpha + tau), np.log(beta + tau), 1.0 / (beta + tau)]  # ga ua gb ub
    rx = r + x
    logf = -rx[:, None] * base[0] - (s + 1.0) * base[2] + np.log(c + tau)  # dtau = (c + tau) span dy
    q = np.exp(logf - logf.max(axis=1, keepdims=True)) * w[None, :]
    q /= q.sum(axis=1, keepdims=True)
    eb = np.stack([np.einsum("nk,nk->n", q, b) for b in base], axis=1)  # E[ga], E[ua], E[gb], E[ub]
    scale = np.stack([np.ones_like(rx), rx, np.ones_like(rx), np.full_like(rx, s + 1.0)], axis=1)
    mean = -eb * scale
    if not hessian:
        return mean, None
    dev = [b - eb[:, i, None] for i, b in enumerate(base)]
    sec = np.zeros((len(x), 4, 4))
    for i in range(4):
        qd = q * dev[i]
        for j in range(i, 4):
            sec[:, i, j] = sec[:, j, i] = np.einsum("nk,nk->n", qd, dev[j]) * scale[:, i] * scale[:, j]
    eua2 = np.einsum("nk,nk->n", q, base[1] * base[1])
    eub2 = np.einsum("nk,nk->n", q, base[3] * base[3])
    sec[:, 0, 1] -= eb[:, 1]
    sec[:, 1, 0] -= eb[:, 1]
    sec[:, 1, 1] += rx * eua2
    sec[:, 2, 3] -= eb[:, 3]
    sec[:, 3, 2] -= eb[:, 3]
    sec[:, 3, 3] += (s + 1.0) * eub2
    return mean, sec


class _ParetoNbdObjective:
    """lifetimes' Pareto/NBD objective (mean negative log-likelihood + penalty) in
    log-parameters, with its exact gradient and Hessian (the integral part by quadrature)."""

    n_params = 4

    def __init__(self, x, tx, T, w, penalizer: float):
        self.x, self.tx, self.T, self.w = (np.asarray(v, dtype=float).ravel() for v in (x, tx, T, w))
        self.penalizer = float(penalizer)
        self.w_sum = float(self.w.sum())

    def __call__(self, theta: np.ndarray, hessian: bool = True):
        p = np.exp(np.asarray(theta, dtype=float))
        r, alpha, s, beta = p
        x, T, w = self.x, self.T, self.w
        with np.errstate(all="ignore"):
            a1, e1, e2 = _pareto_terms(tuple(p), x, self.tx, T)
            ll = _dot(w, a1 + np.logaddexp(e1, e2))
            if not np.isfinite(ll):
                return math.inf, np.zeros(4), np.eye(4)
            m, sec = _dropout_moments(tuple(p), x, self.tx, T, hessian)
        v = expit(e2 - e1)  # weight of the drop-out term
        n = len(x)
        dA1 = np.stack([digamma(r + x) - digamma(r) + math.log(alpha), np.full(n, r / alpha),
                        np.full(n, math.log(beta)), np.full(n, s / beta)], axis=1)
        dE1 = np.stack([-np.log(alpha + T), -(r + x) / (alpha + T), -np.log(beta + T), -s / (beta + T)], axis=1)
        dE2 = m + np.array([0.0, 0.0, 1.0 / s, 0.0])
        g = w @ (dA1 + (1 - v)[:, None] * dE1 + v[:, None] * dE2)
        h = np.zeros((4, 4))
        if hessian:
            h = self._hessian(p, w, v, sec, dE1, dE2)
        return _to_log_space(p, ll, g, h, self.w_sum, self.penalizer)

    def _hessian(self, p, w, v, sec, dE1, dE2) -> np.ndarray:
        r, alpha, s, beta = p
        x, T = self.x, self.T
        h = np.zeros((4, 4))
        h[0, 0] = w @ (polygamma(1, r + x) - polygamma(1, r))
        h[0, 1] = h[1, 0] = self.w_sum / alpha
        h[1, 1] = -r * self.w_sum / alpha**2
        h[2, 3] = h[3, 2] = self.w_sum / beta
        h[3, 3] = -s * self.w_sum / beta**2
        d2e1 = np.zeros((len(x), 4, 4))
        d2e1[:, 0, 1] = d2e1[:, 1, 0] = -1.0 / (alpha + T)
        d2e1[:, 1, 1] = (r + x) / (alpha + T) ** 2
        d2e1[:, 2, 3] = d2e1[:, 3, 2] = -1.0 / (beta + T)
        d2e1[:, 3, 3] = s / (beta + T) ** 2
        d2e2 = sec.copy()
        d2e2[:, 2, 2] -= 1.0 / s**2
        dd = dE2 - dE1
        h += np.einsum("n,nij->ij", w * (1 - v), d2e1) + np.einsum("n,nij->ij", w * v, d2e2)
        h += np.einsum("n,ni,nj->ij", w * v * (1 - v), dd, dd)
        return h


def _pareto_minimise(objective: _ParetoNbdObjective, x0, tol: float = 1e-10, disp: bool = False):
    """Newton's method with a trust region (scipy ``trust-exact``) in log-parameters on the
    exact gradient and Hessian: ``(params, objective value, Hessian)``, the value in lifetimes'
    convention (natural parameters, ``-sum(w ll) / mean(w)``); ``ConvergenceError`` on failure.

    About ten steps where BFGS takes sixty evaluations and lifetimes' Nelder-Mead hundreds.
    """
    cache: dict[bytes, tuple] = {}

    def at(theta):
        key = np.asarray(theta, dtype=float).tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = objective(theta)
        return cache[key]

    out = minimize(lambda t: at(t)[0], np.log(np.asarray(x0, dtype=float)), jac=lambda t: at(t)[1],
                   hess=lambda t: at(t)[2], method="trust-exact", tol=tol, options={"disp": disp, "maxiter": 500})
    f, g, h = at(out.x)
    if not np.isfinite(f) or (not out.success and np.linalg.norm(g) > 1e-6):
        raise ConvergenceError(f"The model did not converge ({out.message}). Try adding a larger penalizer.")
    p = np.exp(out.x)
    pen = objective.penalizer * float(np.sum(p**2))
    mean_w = objective.w_sum / len(objective.w)
    return p, (f - pen) * objective.w_sum / mean_w + pen, h
