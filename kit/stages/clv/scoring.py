"""Scoring: P(alive), expected purchases and spend, discounted CLV, ROI, matrices.

Prediction uses the closed forms of :mod:`kit.stages.clv.closed_forms` in numpy, so scoring
millions of customers over an H-month horizon is one broadcast (the hypergeometric part
once per distinct frequency and age), not a loop of ``predict`` calls.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from kit.stages.clv import family_forms as forms
from kit.stages.clv.closed_forms import DistinctPairs, _denominator, _first, _hyp_part, _pairs
from kit.stages.clv.likelihood import LIFETIMES_PERIODS_PER_MONTH, _check_summary
from kit.stages.clv.results import BgNbdResult, GammaGammaResult


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
    p_alive: np.ndarray | None = None,
    pairs: DistinctPairs | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases over the horizon, undiscounted and discounted by month.

    ``sum_{i=1..H} (E[Y(i m) | hist] - E[Y((i-1) m) | hist]) / (1 + d)^i`` with ``m`` =
    ``periods_per_month``: lifetimes' ``_customer_lifetime_value`` without the spend factor.
    The hypergeometric part of FHL05 eq. (10), which does not depend on ``t_x``, is evaluated
    once per distinct ``(x, T)`` pair as one (pairs x H+1) matrix; the rest once per customer.
    ``p_alive``: ``bgnbd.p_alive`` of these customers when the caller has computed it (the
    MBG/NBD and Pareto/NBD expectations are built on it; it is then not computed twice).
    ``pairs``: :class:`~kit.stages.clv.closed_forms.DistinctPairs` of these customers, when
    the caller evaluates them under many parameter values (found once, not per call).

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
    # E[Y(t) | x, t_x, T] = factor(x, t_x, T) * time_part(t, x, T): the costly (hypergeometric)
    # time part once per distinct (x, T) pair and month, the factor once per customer
    xu, tu, pair = _pairs(x, T) if pairs is None else pairs.x_T
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        hyp = _time_part(bgnbd.kind_, prm, months[None, :] * periods_per_month, xu[:, None], tu[:, None])
        hyp[:, 0] = 0.0
        discount = (1.0 + discount_rate_monthly) ** -months[1:].astype(float)
        per_pair = np.einsum("ij,j->i", np.diff(hyp, axis=1), discount)  # no threaded BLAS
        factor = _factor(bgnbd.kind_, prm, x, tx, T, p_alive)
    return factor * hyp[pair, -1], factor * per_pair[pair]


def _time_part(kind: str, prm, t, x, T) -> np.ndarray:
    """The part of E[Y(t) | x, t_x, T] that depends on ``t`` (and ``x, T``), per model."""
    if kind == "mbgnbd":
        return forms.mbg_hyp_part(prm, t, x, T)
    if kind == "pareto_nbd":
        return forms.pareto_time_part(prm, t, T + 0.0 * x)
    return _hyp_part(prm, t, x, T)


def _factor(kind: str, prm, x, tx, T, alive=None) -> np.ndarray:
    """The rest of E[Y(t) | x, t_x, T]: ``E = factor * time_part``, per model (``alive``:
    P(alive) of the rows, when known)."""
    if kind == "mbgnbd":
        return forms.mbg_factor(prm, x, tx, T, alive)
    if kind == "pareto_nbd":
        return forms.pareto_factor(prm, x, tx, T, alive)
    return _first(prm, x) / _denominator(prm, x, tx, T)


def spend_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The Gamma-Gamma input of a summary: ``frequency`` (repeat periods with spend) and
    ``monetary_value``.

    With ``frequency_spend`` (:func:`kit.stages.summary.customer_summary` with
    ``positive_spend``: zero-amount transactions counted for the purchase model but not for
    spend) that column is the spend model's ``x``; otherwise ``frequency`` is.
    """
    x = summary["frequency_spend"] if "frequency_spend" in summary.columns else summary["frequency"]
    return pd.DataFrame({"frequency": x, "monetary_value": summary["monetary_value"]}, index=summary.index)


def _score_periods_per_month(bgnbd: BgNbdResult, horizon_months: int, time_unit: str | None,
                             periods_per_month: float | None) -> float:
    """Check :func:`score`'s time settings; the model time units per month."""
    unit = time_unit or bgnbd.time_unit_
    if unit != bgnbd.time_unit_:
        raise ValueError(f"time_unit {unit!r} differs from the model's {bgnbd.time_unit_!r}")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be >= 1 (got {horizon_months})")
    return _periods_per_month(unit, periods_per_month)


def _margin_values(index: pd.Index, margin: float | pd.Series) -> np.ndarray:
    """One margin per customer of ``index``: a number repeated, or a Series aligned on the index."""
    if isinstance(margin, pd.Series):
        missing = index.difference(margin.index)
        if len(missing):
            raise ValueError(f"margin has no value for {len(missing)} customer(s), e.g. {missing[0]!r}")
        return margin.reindex(index).to_numpy(dtype=float)
    return np.full(len(index), float(margin))


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
    ppm = _score_periods_per_month(bgnbd, horizon_months, time_unit, periods_per_month)
    f, r, t, m = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value"))
    alive = bgnbd.p_alive(f, r, t)
    expected, discounted = discounted_expected_purchases(
        bgnbd, f, r, t, horizon_months=horizon_months,
        discount_rate_monthly=discount_rate_monthly, periods_per_month=ppm, p_alive=alive)
    margin_v = _margin_values(summary.index, margin)
    out = pd.DataFrame({"p_alive": alive, "exp_purchases": expected}, index=summary.index)
    if gg is not None and gg.computed_:
        spend = spend_summary(summary)
        out["exp_avg_value"] = gg.expected_avg_value(spend["frequency"].to_numpy(dtype=float), m)
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


#: Order of the rule-based churn labels in :func:`p_alive_by_churn_risk`.
CHURN_ORDER = ("high", "medium", "low")


def p_alive_by_churn_risk(customers: pd.DataFrame, *, churn_col: str = "churn_risk") -> pd.DataFrame:
    """The rule-based churn label (DOMAIN.md section 2) beside the model's P(alive).

    Per label (high, medium, low, then any other): customers, mean and median P(alive),
    share with P(alive) < 0.5, total CLV. Customers without P(alive) are left out.

    Returns
    -------
    DataFrame
        Columns ``churn_risk, n_customers, mean_p_alive, median_p_alive,
        share_p_alive_below_half, total_clv``; one row per label.
    """
    d = customers[[churn_col, "p_alive", "clv"]].dropna(subset=["p_alive"])
    g = d.groupby(d[churn_col].astype(str), sort=False)
    keys = [k for k in CHURN_ORDER if k in g.groups] + [k for k in g.groups if k not in CHURN_ORDER]
    return pd.DataFrame({
        "churn_risk": keys,
        "n_customers": [int(g.size()[k]) for k in keys],
        "mean_p_alive": [g["p_alive"].mean()[k] for k in keys],
        "median_p_alive": [g["p_alive"].median()[k] for k in keys],
        "share_p_alive_below_half": [float((g.get_group(k)["p_alive"] < 0.5).mean()) for k in keys],
        "total_clv": [g["clv"].sum(min_count=1)[k] for k in keys],
    })
