"""Current value x future potential (template step 2): 0-100 scores, the weighting with
renormalised weights, and the quadrant."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from kit.core.config import Quadrant
from kit.core.notes import Msg, Note
from kit.stages.layering.common import (
    _codes,
    _count_per_customer,
    _master_col,
    _master_frame,
    _note,
    _sym_growth,
)

#: The value and potential indicators (their names: messages ``layering.part.<key>``).
PART_KEYS = ("amount_12m", "profit", "avg_order_value", "industry_growth", "size_expansion",
             "cooperation_depth", "referral")

Scale = Callable[[pd.Series], pd.Series]


def scale_0_100(values: pd.Series, method: str = "percentile") -> pd.Series:
    """An indicator on 0-100 before weighting.

    ``percentile``: mid-rank percentile x 100 (ties share a value; one customer or all
    identical -> 50). ``minmax``: (x - min) / (max - min) x 100 (constant -> 50). Missing
    values get the neutral 50.
    """
    v = pd.to_numeric(values).astype(float)
    n = int(v.notna().sum())
    if n == 0:
        return pd.Series(50.0, index=values.index)
    if method == "percentile":
        out = (v.rank(method="average") - 0.5) / n * 100
    elif method == "minmax":
        lo, hi = v.min(), v.max()
        out = (v - lo) / (hi - lo) * 100 if hi > lo else v * 0 + 50.0
    else:
        raise ValueError(f"scoring must be 'percentile' or 'minmax' (got {method!r})")
    return out.fillna(50.0)


def _weighted(parts: Mapping[str, pd.Series | None], weights: Mapping[str, float],
              index: pd.Index) -> tuple[pd.Series, dict[str, float]]:
    """Weighted mean of the available 0-100 parts, weights renormalised over them."""
    used = {k: w for k, w in weights.items() if w > 0 and parts.get(k) is not None}
    total = sum(used.values())
    if total <= 0:
        return pd.Series(50.0, index=index), {}
    used = {k: w / total for k, w in used.items()}
    score = sum(parts[k].reindex(index).to_numpy() * w for k, w in used.items())
    return pd.Series(np.clip(score, 0, 100), index=index), used


def weight_items(weights: Mapping[str, float]) -> list[Msg]:
    """Indicator weights as unrendered messages (``近12个月金额 40 %`` ...), in their order."""
    return [Msg("layering.weight_item", part=Msg(f"layering.part.{k}"), pct=float(w) * 100)
            for k, w in weights.items()]


def _value_score(features: pd.DataFrame, rule: Quadrant, default_margin: float,
                 scale: Scale) -> tuple[pd.Series, list[Note]]:
    """Current value X and the note on the profit proxy."""
    idx = features.index
    notes: list[Note] = []
    profit = features["profit_total"].astype(float)
    proxy_profit = features["revenue_total"].astype(float) * default_margin
    n_missing = int(profit.isna().sum())
    if len(idx) and n_missing == len(idx):
        notes.append(_note("profit_proxy_all", margin_pct=default_margin * 100))
    elif n_missing:
        notes.append(_note("profit_proxy_some", n=n_missing, margin_pct=default_margin * 100))
    profit = profit.fillna(proxy_profit)
    value_parts = {
        "amount_12m": scale(features["amount_12m"]),
        "profit": scale(profit),
        "avg_order_value": scale(features["avg_order_value"]),
    }
    value_score, _ = _weighted(value_parts, rule.value_weights, idx)
    return value_score, notes


def _industry_growth(features: pd.DataFrame, master: pd.DataFrame | None, rule: Quadrant,
                     scale: Scale) -> tuple[pd.Series | None, list[Note]]:
    """Industry growth outlook: master, else config, else the industry's own growth."""
    idx = features.index
    industry = _master_col(master, "industry", idx)
    master_growth = _master_col(master, "industry_growth", idx)
    if master_growth is not None:
        return (scale(pd.to_numeric(master_growth, errors="coerce")),
                [_note("industry_growth_master")])
    if rule.industry_growth and industry is not None:
        outlook = {str(k).strip(): float(v) for k, v in rule.industry_growth.items()}
        mapped = industry.astype("str").str.strip().map(outlook).astype(float)
        n_unmapped = int((mapped.isna() & industry.notna()).sum() + industry.isna().sum())
        note = (_note("industry_growth_config_unlisted", n=n_unmapped) if n_unmapped
                else _note("industry_growth_config"))
        return mapped.clip(0, 100).fillna(50.0), [note]
    if industry is not None:
        key = industry.astype("str").str.strip().where(industry.notna())
        grp = pd.DataFrame({"k": key, "now": features["amount_12m"], "before": features["amount_13_24m"]})
        sums = grp.groupby("k")[["now", "before"]].sum()
        ind_growth = _sym_growth(sums["now"], sums["before"])
        return scale(key.map(ind_growth)), [_note("industry_growth_proxy")]
    return None, []


def _referrals(idx: pd.Index, master: pd.DataFrame | None, interactions: pd.DataFrame | None,
               scale: Scale) -> tuple[pd.Series | None, list[Note]]:
    """Referrals: the master's count, else referral interactions, else none."""
    master_ref = _master_col(master, "referrals", idx)
    has_ref_log = (
        interactions is not None and "type" in interactions.columns
        and bool((interactions["type"] == "referral").any())
    )
    if master_ref is not None:
        return scale(pd.to_numeric(master_ref, errors="coerce")), [_note("referral_master")]
    if has_ref_log:
        is_ref = (interactions["type"] == "referral").fillna(False).to_numpy()
        counts = _count_per_customer(_codes(interactions["customer_id"], idx), is_ref, len(idx))
        return scale(pd.Series(counts, index=idx)), [_note("referral_log")]
    return None, []


def _potential_score(features: pd.DataFrame, master: pd.DataFrame | None,
                     interactions: pd.DataFrame | None, rule: Quadrant,
                     scale: Scale) -> tuple[pd.Series, list[Note]]:
    """Future potential Y, the notes naming each proxy, and one on the dropped inputs."""
    idx = features.index
    parts: dict[str, pd.Series | None] = {}
    parts["industry_growth"], notes = _industry_growth(features, master, rule, scale)
    growth = _sym_growth(features["amount_12m"].astype(float), features["amount_13_24m"].astype(float))
    parts["size_expansion"] = scale(growth)
    notes.append(_note("size_expansion_proxy"))
    if features["n_categories"].notna().any():
        parts["cooperation_depth"] = scale(features["n_categories"])
        notes.append(_note("cooperation_depth_proxy"))
    else:
        parts["cooperation_depth"] = None
    parts["referral"], ref_notes = _referrals(idx, master, interactions, scale)
    notes += ref_notes
    potential_score, used = _weighted(parts, rule.potential_weights, idx)
    dropped = [k for k in ("industry_growth", "cooperation_depth", "referral") if parts[k] is None]
    if dropped:
        notes.append(_note("potential_dropped", "omitted",
                           dropped=[Msg(f"layering.part.{k}") for k in dropped],
                           weights=weight_items(used)))
    return potential_score, notes


def value_potential(
    features: pd.DataFrame,
    *,
    master: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    rule: Quadrant | None = None,
    default_margin: float = 0.30,
) -> tuple[pd.DataFrame, list[Note]]:
    """Current value X and future potential Y, each 0-100 (template step 2).

    X = weighted ``value_weights`` (default: trailing-12-month amount 40 %, historical
    profit 40 %, average order value 20 %). Y = weighted ``potential_weights`` (industry
    growth outlook 30 %, size expansion speed 20 %, cooperation depth 30 %, referrals
    20 %). Each indicator is first put on 0-100 with :func:`scale_0_100`
    (``rule.scoring``). Inputs and proxies, in order of preference:

    * profit: ``profit_total`` (profit or margin x amount in the data); proxy where missing:
      net revenue x ``default_margin`` (``cfg.clv.margin``), which under percentile scoring
      ranks like revenue;
    * industry growth: the master's ``industry_growth`` (scaled); else ``rule.industry_growth``
      (outlook 0-100 per industry, used as given); else, proxy, the industry's own net
      amount growth in the data (last window vs the one before, :func:`_sym_growth`);
      dropped when there is no industry;
    * size expansion: proxy, the customer's own amount growth, trailing 12 months vs the 12
      before (the master has no employee history);
    * cooperation depth: proxy, the number of product categories bought; dropped without
      categories;
    * referrals: the master's ``referrals``; else referral interactions up to as_of; dropped
      when neither exists.

    A dropped indicator's weight is shared among the others (renormalised). Customers with
    a missing value in a used indicator get the neutral 50 for it.

    Parameters
    ----------
    features : DataFrame
        :func:`kit.stages.features.business_features` output.
    master : DataFrame, optional
        Clean master (``industry``, ``industry_growth``, ``referrals`` used when present).
    interactions : DataFrame, optional
        Clean interactions already limited to ``as_of`` (``type == "referral"`` counted).
    rule : Quadrant
        ``cfg.layering.quadrant``.
    default_margin : float
        Profit margin of the profit proxy.

    Returns
    -------
    (DataFrame, list of Note)
        ``value_score, potential_score`` (float 0-100) and ``purchase_growth`` (amount
        growth, trailing year vs the one before, NaN when the year before had none), same
        index as ``features``; and the notes naming every proxy and dropped input
        (:class:`kit.core.notes.Note`, codes ``layering.*``) for ``ctx.note``.
    """
    rule = rule or Quadrant()
    master = _master_frame(master)
    idx = features.index
    scale = lambda s: scale_0_100(s, rule.scoring)  # noqa: E731
    value_score, notes = _value_score(features, rule, default_margin, scale)
    potential_score, potential_notes = _potential_score(features, master, interactions, rule, scale)
    before = features["amount_13_24m"].astype(float)
    purchase_growth = (features["amount_12m"].astype(float) / before.where(before > 0)) - 1
    out = pd.DataFrame(
        {"value_score": value_score, "potential_score": potential_score, "purchase_growth": purchase_growth},
        index=idx,
    )
    return out, notes + potential_notes


def quadrants(
    value_score: pd.Series,
    potential_score: pd.Series,
    *,
    value_threshold: float = 50,
    potential_threshold: float = 50,
) -> pd.Series:
    """star (high X, high Y) / cash_cow (high X, low Y) / potential (low X, high Y) /
    eliminate (low, low); a score equal to its threshold is high.

    Returns
    -------
    Series
        Quadrant keys (labels: ``label.quadrant.*`` in the message catalogue).
    """
    hx = (value_score >= value_threshold).to_numpy()
    hy = (potential_score >= potential_threshold).to_numpy()
    q = np.where(hx, np.where(hy, "star", "cash_cow"), np.where(hy, "potential", "eliminate"))
    return pd.Series(q, index=value_score.index, dtype="str", name="quadrant")
