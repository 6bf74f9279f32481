"""Closed forms of the BG/NBD predictions (numpy, broadcasting).

P(alive), the conditional expectation E[Y(t) | x, t_x, T] (FHL05 eq. 10) and the population
expectation E[X(t)] (eq. 9), with the costly hypergeometric part evaluated once per distinct
``(x, T)`` pair where many customers are scored.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import expit, hyp2f1

from kit.stages.clv.likelihood import BGNBD_PARAMS


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

