"""Churn risk, satisfaction scores and complaint rates."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.core.config import Churn
from kit.stages.features import months_back
from kit.stages.layering.common import _codes, _count_per_customer, _interactions_until


def satisfaction_scores(
    interactions: pd.DataFrame | None,
    as_of: pd.Timestamp | str,
    window_months: int = 6,
    index: pd.Index | None = None,
) -> pd.Series:
    """Mean interaction ``score`` (0-100) per customer over the last ``window_months``
    up to ``as_of`` (``as_of - window_months`` excluded, ``as_of`` included).

    Returns
    -------
    Series
        Named ``satisfaction``, indexed by ``index`` (default: the customers of the log),
        NaN for a customer without a scored interaction in the window.
    """
    as_of = pd.Timestamp(as_of).normalize()
    if interactions is None or "score" not in interactions.columns:
        idx = index if index is not None else pd.Index([], dtype="str", name="customer_id")
        return pd.Series(np.nan, index=idx, name="satisfaction", dtype=float)
    ix = _interactions_until(interactions, as_of)
    if index is None:
        index = pd.Index(np.sort(ix["customer_id"].unique()), dtype="str", name="customer_id")
    start = months_back(as_of, window_months)
    score = pd.to_numeric(ix["score"], errors="coerce").to_numpy(dtype=float)
    keep = ((ix["day"] > start).to_numpy()) & ~np.isnan(score)
    codes = _codes(ix["customer_id"], index)
    keep &= codes >= 0
    n = len(index)
    total = np.bincount(codes[keep], weights=score[keep], minlength=n)
    count = np.bincount(codes[keep], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return pd.Series(mean, index=index, name="satisfaction")


def churn_risk(
    months_since_last: pd.Series,
    satisfaction: pd.Series | None = None,
    rule: Churn | None = None,
) -> pd.Series:
    """high / medium / low churn risk (template).

    high: ``months_since_last >= rule.high_months`` (3) or satisfaction below
    ``rule.satisfaction_high_risk`` (40) where a satisfaction exists; medium:
    ``medium_months <= months < high_months`` (1 to under 3); low otherwise. Exactly 3
    months is high, exactly 1 month medium.

    Parameters
    ----------
    months_since_last : Series
        Days since the last purchase / 30.4375.
    satisfaction : Series, optional
        Mean satisfaction per customer (:func:`satisfaction_scores`), NaN or absent where
        unknown.
    rule : Churn
        ``cfg.layering.churn``.
    """
    rule = rule or Churn()
    m = pd.to_numeric(months_since_last).astype(float)
    sat_low = np.zeros(len(m), dtype=bool)
    if satisfaction is not None:
        s = satisfaction.reindex(m.index).astype(float)
        sat_low = (s < rule.satisfaction_high_risk).fillna(False).to_numpy()
    # tolerance: a value meant to be exactly on the boundary must not fall below it by rounding
    high = (m >= rule.high_months - 1e-9).to_numpy() | sat_low
    medium = (m >= rule.medium_months - 1e-9).to_numpy()
    risk = np.where(high, "high", np.where(medium, "medium", "low"))
    return pd.Series(risk, index=m.index, dtype="str", name="churn_risk")


def complaint_rates(
    interactions: pd.DataFrame | None,
    orders: pd.Series,
    as_of: pd.Timestamp | str,
    window_months: int = 12,
) -> tuple[pd.Series, float]:
    """Complaints per order over the trailing ``window_months``, and the base average.

    Parameters
    ----------
    interactions : DataFrame or None
        Clean interactions (``type == "complaint"`` counted).
    orders : Series
        Orders per customer in the same window (``orders_12m``); the index is the
        customer list. A customer with no order counts 1 order (so a complaint still shows).
    as_of : date-like
        End of the window, inclusive.

    Returns
    -------
    (Series, float)
        Rate per customer (NaN for everyone when there is no interaction log with types) and
        the pooled base rate, total complaints / total orders (NaN likewise).
    """
    as_of = pd.Timestamp(as_of).normalize()
    idx = orders.index
    if interactions is None or "type" not in interactions.columns:
        return pd.Series(np.nan, index=idx, name="complaint_rate"), float("nan")
    ix = _interactions_until(interactions, as_of)
    start = months_back(as_of, window_months)
    keep = ((ix["day"] > start) & (ix["type"] == "complaint")).fillna(False).to_numpy()
    complaints = pd.Series(
        _count_per_customer(_codes(ix["customer_id"], idx), keep, len(idx)).astype(float), index=idx
    )
    exposure = orders.astype(float).clip(lower=1)
    rate = (complaints / exposure).rename("complaint_rate")
    base = float(complaints.sum() / exposure.sum()) if len(idx) else float("nan")
    return rate, base
