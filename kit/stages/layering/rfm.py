"""RFM: quantile scores 1..bins, named segments from the config's rule table, the Chinese
8-class model and the R x F matrix."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kit.core.config import DEFAULT_RFM_SEGMENTS, RfmSegmentRule
from kit.stages.layering.common import RFM8_MAP


def quantile_scores(values: pd.Series, bins: int = 5, *, higher_is_better: bool = True) -> pd.Series:
    """Scores ``1..bins`` by quantile, ``bins`` best; equal values always get equal scores.

    ``score = floor(p * bins) + 1`` with the mid-rank percentile
    ``p = (rank_average - 0.5) / n``: a block of tied values takes the score of its middle,
    distinct values fill the bins like quantiles, and one customer or all-identical values
    score the middle (3 of 5). Missing values score 1.

    Parameters
    ----------
    values : Series
        Numeric values, one per customer.
    bins : int
        Number of scores (5 for RFM).
    higher_is_better : bool
        False for recency in days (fewest days = most recent = ``bins``).

    Returns
    -------
    Series
        int64 scores, same index as ``values``.

    Examples
    --------
    >>> quantile_scores(pd.Series([10, 20, 20, 30, 40])).tolist()
    [1, 3, 3, 4, 5]
    >>> quantile_scores(pd.Series([7, 7, 7])).tolist()
    [3, 3, 3]
    """
    v = pd.to_numeric(values).astype(float)
    if not higher_is_better:
        v = -v
    n = int(v.notna().sum())
    if n == 0:
        return pd.Series(1, index=values.index, dtype="int64")
    rank = v.rank(method="average")
    # exact arithmetic: (rank - 0.5) * bins is a multiple of 0.5, so an exact bin boundary
    # divides exactly and never lands one bin low by rounding
    score = np.floor(((rank - 0.5) * bins) / n) + 1
    return score.clip(1, bins).fillna(1).astype("int64")


def rfm_scores(
    features: pd.DataFrame,
    *,
    bins: int = 5,
    recency_col: str = "days_since_last",
    frequency_col: str = "orders_total",
    monetary_col: str = "revenue_total",
) -> pd.DataFrame:
    """R, F, M scores ``1..bins`` (``bins`` best; 5 = most recent) and their sum.

    Parameters
    ----------
    features : DataFrame
        One row per customer with the three input columns (days since the last purchase,
        number of orders, net amount: :func:`kit.stages.features.business_features`).
    bins : int
        ``cfg.layering.rfm.bins``.

    Returns
    -------
    DataFrame
        ``rfm_r, rfm_f, rfm_m`` (int) and ``rfm_score`` = R + F + M (int, 3 .. 3 x bins).
    """
    out = pd.DataFrame(
        {
            "rfm_r": quantile_scores(features[recency_col], bins, higher_is_better=False),
            "rfm_f": quantile_scores(features[frequency_col], bins),
            "rfm_m": quantile_scores(features[monetary_col], bins),
        },
        index=features.index,
    )
    out["rfm_score"] = out.sum(axis=1).astype("int64")
    return out


def rfm_segments(
    scores: pd.DataFrame,
    rules: Sequence[RfmSegmentRule] | None = None,
    *,
    bins: int = 5,
    default: str = "Unclassified",
) -> pd.Series:
    """Named RFM segments from a rule table: the first rule whose ranges all hold wins.

    Parameters
    ----------
    scores : DataFrame
        ``rfm_r, rfm_f, rfm_m`` from :func:`rfm_scores`.
    rules : sequence of RfmSegmentRule
        ``cfg.layering.rfm.segments`` (default: the common ten segments). Ranges are
        inclusive on the 1-5 scale; ``fm`` bounds (F + M) / 2.
    bins : int
        The scores' scale; scores on another scale than 1-5 are mapped to it linearly
        (rounded) before the rules are applied.
    default : str
        Segment of a customer no rule matches.

    Returns
    -------
    Series
        The segment ``name`` per customer (str).
    """
    rules = list(DEFAULT_RFM_SEGMENTS if rules is None else rules)
    r, f, m = (scores[c].astype(float) for c in ("rfm_r", "rfm_f", "rfm_m"))
    if bins != 5:
        r, f, m = (np.round(1 + (s - 1) * 4 / (bins - 1)) for s in (r, f, m))
    fm = (f + m) / 2
    conds, names = [], []
    for rule in rules:
        c = r.between(*rule.r) & f.between(*rule.f) & m.between(*rule.m)
        if rule.fm is not None:
            c &= fm.between(*rule.fm)
        conds.append(c.to_numpy())
        names.append(rule.name)
    chosen = np.select(conds, names, default=default) if conds else np.full(len(scores), default)
    return pd.Series(chosen, index=scores.index, dtype="str", name="rfm_segment")


def rfm8(
    features: pd.DataFrame,
    *,
    threshold: str = "mean",
    recency_col: str = "days_since_last",
    frequency_col: str = "orders_total",
    monetary_col: str = "revenue_total",
) -> pd.Series:
    """The Chinese 8-class RFM model (重要价值 ... 一般挽留客户).

    R, F and M are each high or low against the mean (or median) of the raw values over
    all customers. **High R means recent**: fewer days since the last purchase than the
    threshold (many published snippets compare the raw recency the other way round and
    call long-lapsed customers "important value"). F and M are high above the threshold.
    Values equal to the threshold are low.

    Parameters
    ----------
    features : DataFrame
        Days since the last purchase, orders and net amount per customer.
    threshold : {"mean", "median"}
        ``cfg.layering.rfm.rfm8_threshold``.

    Returns
    -------
    Series
        Class keys (``important_value`` ...; labels ``label.rfm8_class.*`` in the message
        catalogue).
    """
    if threshold not in ("mean", "median"):
        raise ValueError(f"threshold must be 'mean' or 'median' (got {threshold!r})")
    cols = {"r": recency_col, "f": frequency_col, "m": monetary_col}
    values = {k: pd.to_numeric(features[c]).astype(float) for k, c in cols.items()}
    cut = {k: getattr(v, threshold)() for k, v in values.items()}
    r_high = (values["r"] < cut["r"]).to_numpy()
    f_high = (values["f"] > cut["f"]).to_numpy()
    m_high = (values["m"] > cut["m"]).to_numpy()
    code = r_high.astype(int) * 4 + f_high.astype(int) * 2 + m_high.astype(int)
    lookup = np.empty(8, dtype=object)
    for (rh, fh, mh), key in RFM8_MAP.items():
        lookup[int(rh) * 4 + int(fh) * 2 + int(mh)] = key
    return pd.Series(lookup[code], index=features.index, dtype="str", name="rfm8_class")



def rf_matrix(customers: pd.DataFrame, value_col: str = "revenue_total", bins: int = 5) -> pd.DataFrame:
    """Mean ``value_col`` by R score (rows, ``bins`` first) x F score (columns)."""
    g = customers.groupby(["rfm_r", "rfm_f"])[value_col].mean().unstack("rfm_f")
    return g.reindex(index=range(bins, 0, -1), columns=range(1, bins + 1))

