"""Closed forms of the MBG/NBD and Pareto/NBD predictions (numpy, broadcasting), and one
entry per model kind for P(alive), E[Y(t) | history] and E[X(t)].

Everything is computed in logs where lifetimes multiplies powers, so a long-inactive heavy
buyer gets a finite answer (P(alive) near 0, expected purchases near 0) where lifetimes'
MBG/NBD and Pareto/NBD return NaN or jump (lifetimes' own tests
``test_conditional_expectation_underflow`` and ``test_conditional_probability_alive_matrix``).

* MBG/NBD (Batislam, Denizel & Filiztekin 2007; lifetimes' ``ModifiedBetaGeoFitter``):
  E[Y(t) | x, t_x, T] is the BG/NBD formula (FHL05 eq. 10) with ``b + 1`` for ``b`` and the
  drop-out term for every customer (one-time buyers included), P(alive) =
  ``1 / (1 + a / (b + x) ((alpha + T) / (alpha + t_x))^(r + x))``.
* Pareto/NBD (note 009 of Fader & Hardie, eq. 36-41): ``P(alive) = 1 / (1 + exp(E2 - E1))``
  with ``E1, E2`` the two terms of the likelihood, and
  ``E[Y(t) | .] = P(alive) (r + x) (beta + T) / (alpha + T) (1 - ((beta + T) / (beta + T + t))^(s - 1)) / (s - 1)``.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import expit, hyp2f1

from kit.stages.clv.closed_forms import DistinctPairs, _conditional_expected, _expected_population, _hyp_part, _p_alive
from kit.stages.clv.family import PARETO_PARAMS, _pareto_exponents

#: Parameter names per model kind.
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"), "mbgnbd": ("r", "alpha", "a", "b"), "pareto_nbd": PARETO_PARAMS,
}


def _mbg_log_odds(params: Mapping[str, float], x, tx, T):
    """``log(a / (b + x)) + (r + x) log((alpha + T) / (alpha + t_x))``: log odds of death."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    return np.log(a / (b + x)) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))


def mbg_p_alive(params: Mapping[str, float], x, tx, T) -> np.ndarray:
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    return expit(-_mbg_log_odds(params, x, tx, T))


def mbg_hyp_part(params: Mapping[str, float], t, x, T) -> np.ndarray:
    """The hypergeometric part of the MBG/NBD conditional expectation (BG/NBD's with b + 1)."""
    return _hyp_part({**params, "b": params["b"] + 1.0}, t, x, T)


def mbg_factor(params: Mapping[str, float], x, tx, T, alive=None) -> np.ndarray:
    """``(a + b + x) / (a - 1) * P(alive)``: E[Y(t) | .] = factor * hyp_part(t). ``alive``:
    :func:`mbg_p_alive` of the same rows and parameters when the caller has it."""
    x = np.asarray(x, dtype=float)
    alive = mbg_p_alive(params, x, tx, T) if alive is None else np.asarray(alive, dtype=float)
    return (params["a"] + params["b"] + x) / (params["a"] - 1) * alive


def mbg_conditional_expected(params: Mapping[str, float], t, x, tx, T) -> np.ndarray:
    t, x, tx, T = (np.asarray(v, dtype=float) for v in (t, x, tx, T))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return mbg_factor(params, x, tx, T) * mbg_hyp_part(params, t, x, T)


def mbg_population(params: Mapping[str, float], t) -> np.ndarray:
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    t = np.asarray(t, dtype=float)
    return b / (a - 1) * (1 - hyp2f1(r, b + 1, a + b, t / (alpha + t)) * (alpha / (alpha + t)) ** r)


def _pareto_tuple(params: Mapping[str, float]) -> tuple[float, float, float, float]:
    return tuple(float(params[k]) for k in PARETO_PARAMS)  # type: ignore[return-value]


def pareto_p_alive(params: Mapping[str, float], x, tx, T, pairs: DistinctPairs | None = None) -> np.ndarray:
    """``pairs``: :class:`~kit.stages.clv.closed_forms.DistinctPairs` of the rows (same values, fewer
    hypergeometric terms) when the caller evaluates them under many parameter values."""
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        e1, e2 = _pareto_exponents(_pareto_tuple(params), x, tx, T, pairs)
    return expit(e1 - e2)


def pareto_factor(params: Mapping[str, float], x, tx, T, alive=None) -> np.ndarray:
    """``P(alive) (r + x) (beta + T) / (alpha + T)``: E[Y(t) | .] = factor * time_part(t, T).
    ``alive``: :func:`pareto_p_alive` of the same rows and parameters when the caller has it
    (its hypergeometric terms are the costly part)."""
    r, alpha, s, beta = _pareto_tuple(params)
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    alive = pareto_p_alive(params, x, tx, T) if alive is None else np.asarray(alive, dtype=float)
    return alive * (r + x) * (beta + T) / (alpha + T)


def pareto_time_part(params: Mapping[str, float], t, T) -> np.ndarray:
    """``(1 - ((beta + T) / (beta + T + t))^(s - 1)) / (s - 1)`` (its limit at s = 1)."""
    s, beta = float(params["s"]), float(params["beta"])
    t, T = np.asarray(t, dtype=float), np.asarray(T, dtype=float)
    lr = np.log(beta + T) - np.log(beta + T + t)
    if abs(s - 1) < 1e-12:
        return -lr
    return -np.expm1((s - 1) * lr) / (s - 1)


def pareto_conditional_expected(params: Mapping[str, float], t, x, tx, T) -> np.ndarray:
    return pareto_factor(params, x, tx, T) * pareto_time_part(params, t, T)


def pareto_population(params: Mapping[str, float], t) -> np.ndarray:
    r, alpha, s, beta = _pareto_tuple(params)
    t = np.asarray(t, dtype=float)
    return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


def p_alive(kind: str, params: Mapping[str, float], x, tx, T, pairs: DistinctPairs | None = None) -> np.ndarray:
    """P(alive | x, t_x, T) under model ``kind`` (bgnbd, mbgnbd, pareto_nbd); ``pairs``
    (:class:`~kit.stages.clv.closed_forms.DistinctPairs` of the rows) speeds up Pareto/NBD's."""
    if kind == "mbgnbd":
        return mbg_p_alive(params, x, tx, T)
    if kind == "pareto_nbd":
        return pareto_p_alive(params, x, tx, T, pairs)
    return _p_alive(params, x, tx, T)


def conditional_expected(kind: str, params: Mapping[str, float], t, x, tx, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] under model ``kind``; arrays broadcast."""
    if kind == "mbgnbd":
        return mbg_conditional_expected(params, t, x, tx, T)
    if kind == "pareto_nbd":
        return pareto_conditional_expected(params, t, x, tx, T)
    return _conditional_expected(params, t, x, tx, T)


def expected_population(kind: str, params: Mapping[str, float], t) -> np.ndarray:
    """E[X(t)], expected repeat purchases of a new customer in (0, t], under model ``kind``."""
    if kind == "mbgnbd":
        return mbg_population(params, t)
    if kind == "pareto_nbd":
        return pareto_population(params, t)
    return _expected_population(params, t)
