"""Customer layering (客户分层): RFM, the Chinese 8-class model, value tiers, A/B/C,
the value x potential quadrant, the three-dimensional model, churn risk and the quarterly
dynamic adjustment (DOMAIN.md section 2; guide ch. 2.1 and 2.3, template steps 1-2).

:func:`layer` builds the spine ``customers.parquet`` (one row per customer, index
``customer_id``) from clean transactions, and optionally the customer master and the
interaction log. Every rule is also a function of its own, with the brief's defaults
taken from :class:`kit.config.Layering`:

==========================  ============================================================
rule                        function
==========================  ============================================================
RFM scores 1..5             :func:`quantile_scores`, :func:`rfm_scores`
named RFM segments          :func:`rfm_segments` (the config's rule table)
Chinese 8-class model       :func:`rfm8`
value tiers                 :func:`value_tiers`
A/B/C (guide's B2B case)    :func:`abc_classes`
value and potential scores  :func:`value_potential`, :func:`scale_0_100`
quadrant                    :func:`quadrants`
three-dimensional model     :func:`three_dimensional`
churn risk                  :func:`satisfaction_scores`, :func:`churn_risk`
complaint rate              :func:`complaint_rates`
tier migration              :func:`migration`
upgrade trigger             :func:`upgrade_triggers`
downgrade warning           :func:`downgrade_warnings`
special flags               :func:`special_flags`
==========================  ============================================================

Documented choices (where the seeds stop)
-----------------------------------------
* **Scores from quantiles, ties equal.** A value's score comes from its mid-rank
  percentile ``p = (rank_average - 0.5) / n`` (the Hazen plotting position):
  ``score = floor(p * bins) + 1``. Equal values share one average rank, hence one score;
  distinct values fill the bins like quantiles; a single customer, or customers that are
  all identical, get the middle score (3 of 5). Recency is scored on days since the last
  purchase, fewest days best: **5 = most recent**.
* **RFM inputs.** R = days since the last purchase, F = number of orders, M = net amount;
  F and M over all history, or the last ``rfm.window_months`` when set.
* **8-class model.** R, F and M are *high* when strictly better than the mean (or median) of
  the raw values: F and M above it, R meaning **recent**: fewer days since the last purchase
  than the mean. A value equal to the threshold is low, so identical customers are all
  low (一般挽留).
* **0-100 scale.** ``percentile``: the mid-rank percentile x 100; ``minmax``: (x - min) /
  (max - min) x 100. A constant indicator scores 50 for everyone; a missing value scores
  the neutral 50.
* **Churn risk.** Months since the last purchase are days / 30.4375 (the mean month):
  high at >= ``churn.high_months`` (3 months = 91.3 days, so a purchase 92 days ago is
  high and 91 days ago medium), or when the mean satisfaction score of the last
  ``satisfaction_window_months`` is below ``satisfaction_high_risk`` (only customers with
  scored interactions); medium at >= ``medium_months`` and below ``high_months`` (the
  template's "1-2 months" with the gap up to 3 months closed); low otherwise.
* **Complaint rate** = complaints logged in the trailing 12 months / orders in them (at
  least 1); the base average is the pooled rate of all customers (total complaints /
  total orders). Per order, not per interaction, so that customers who log in often do not
  look better.
* **Upgrade** applies to core customers (value tier ``medium``, the guide's 中坚客户):
  quarterly amount growth >= ``upgrade_growth`` in each of the last ``upgrade_quarters``
  quarter-on-quarter steps (q3 -> q2 and q2 -> q1 by default; a quarter with no purchase
  cannot grow, exactly 20 % counts), or a category bought in the last quarter for the first
  time by a customer that had bought before it.
* **Downgrade warning** applies to high-value customers: no purchase for
  ``downgrade_inactive_months`` (>=, in mean months) or a complaint rate above
  ``complaint_rate_factor`` x the base average (strictly).
* **Tier migration.** The previous layering is recomputed from the log as of the end of
  the previous period (so a first run has a comparison too; the master is used as it is
  now). ``tier_change``: ``new`` = no purchase up to the previous period end; ``lost`` =
  active at the previous period end (an order in the tier window, 12 months) and none in
  the tier window now; otherwise ``up`` / ``down`` / ``same`` by tier
  (a customer dormant at both ends stays ``same``, low -> low).

Settings the config does not (yet) hold are keyword arguments with documented defaults,
read from ``cfg.layering.three_d`` / ``cfg.layering.dynamic`` when those exist.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kit.core.config import (
    DEFAULT_RFM_SEGMENTS,
    AbcClasses,
    Churn,
    Dynamic,
    KitConfig,
    Quadrant,
    RfmSegmentRule,
    ThreeD,
    ValueTiers,
)
from kit.stages.features import (
    PreparedTransactions,
    business_features,
    day_number,
    months_back,
    prepare,
    window_totals,
)
from kit.present.labels import label
from kit.present.labels import tr as _t
from kit.present.report import with_formats as _with_formats
from kit.core.periods import previous_period_end
from kit.stages.summary import customer_summary

#: ``section`` of the notes this stage leaves for the report (``ctx.note``).
SECTION = "02_layering"

#: Master attributes copied onto the spine when the master has them.
MASTER_ATTRIBUTES = [
    "name", "industry", "region", "employees", "annual_revenue", "contact_name",
    "contact_title", "contact_phone", "growth_stage", "strategic_partner",
    "industry_leader", "account_manager",
]

TIER_RANK = {"low": 0, "medium": 1, "high": 2}
TIERS = ["high", "medium", "low"]
QUADRANTS = ["star", "cash_cow", "potential", "eliminate"]
RFM8_CLASSES = [
    "important_value", "important_develop", "important_keep", "important_retain",
    "general_value", "general_develop", "general_keep", "general_retain",
]
#: (R high, F high, M high) -> 8-class key; high R means a recent purchase.
RFM8_MAP = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_keep",
    (False, False, True): "important_retain",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_keep",
    (False, False, False): "general_retain",
}

# Defaults of the three-dimensional model and overdue words: the config's (one source).
DEFAULT_GROWTH_STAGES: dict[str, str] = ThreeD().growth_stages
DEFAULT_DEMAND_KEYWORDS: dict[str, list[str]] = ThreeD().demand_keywords
DEFAULT_ROLE_DEMAND: dict[str, str] = ThreeD().role_demand
DEFAULT_OVERDUE_STATUSES: list[str] = Dynamic().overdue_statuses
#: Words that mean "no expansion plan" in a free-text ``expansion_plan`` column.
NO_PLAN_WORDS = {"", "无", "否", "没有", "暂无", "none", "no", "false", "0", "n/a", "na", "-", "nan"}


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _note(kind: str, zh: str, en: str) -> dict[str, str]:
    return {"section": SECTION, "kind": kind, "zh": zh, "en": en}


def _setting(cfg: KitConfig | None, section: str, name: str, given: Any, default: Any) -> Any:
    """A keyword argument, else ``cfg.layering.<section>.<name>`` when the config has it,
    else the documented default."""
    if given is not None:
        return given
    part = getattr(getattr(cfg, "layering", None), section, None) if cfg is not None else None
    value = getattr(part, name, None)
    return default if value is None else value


def _master_frame(master: pd.DataFrame | None) -> pd.DataFrame | None:
    """The master indexed by a unique str ``customer_id`` (last row of a duplicate kept)."""
    if master is None:
        return None
    m = master
    if m.index.name == "customer_id" and m.index.dtype == "str" and m.index.is_unique:
        return m
    if m.index.name != "customer_id":
        if "customer_id" not in m.columns:
            raise ValueError("Required column 'customer_id' missing from the customer master")
        m = m.set_index("customer_id")
    m = m[~m.index.duplicated(keep="last")]
    m.index = m.index.astype("str").rename("customer_id")
    return m


def _master_col(master: pd.DataFrame | None, col: str, index: pd.Index) -> pd.Series | None:
    """A master column aligned on ``index``; None when absent or entirely empty."""
    if master is None or col not in master.columns:
        return None
    s = master[col]
    if not s.index.equals(index):
        s = s.reindex(index)
    return None if s.isna().all() else s


def _interactions_until(interactions: pd.DataFrame | None, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """Interactions dated on or before ``as_of`` with a day-resolution ``day`` column."""
    if interactions is None:
        return None
    missing = [c for c in ("customer_id", "date") if c not in interactions.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(map(repr, missing))} missing from interactions")
    day = pd.to_datetime(interactions["date"])
    if day.dt.tz is not None:
        day = day.dt.tz_localize(None)
    day = day.dt.floor("D")
    out = interactions.assign(day=day, customer_id=interactions["customer_id"].astype("str"))
    return out[(out["day"] <= as_of).to_numpy()]


def _codes(ids: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each id in ``index`` (-1 when absent): integer keys for ``np.bincount``."""
    return index.get_indexer(ids.astype("str"))


def _count_per_customer(codes: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    keep = mask & (codes >= 0)
    return np.bincount(codes[keep], minlength=n)


def _bool_flag(s: pd.Series) -> pd.Series:
    """A yes/no column as nullable boolean: bools, 0/1, 是/否, yes/no, true/false, Y/N."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean")
    if pd.api.types.is_numeric_dtype(s):
        return (s != 0).astype("boolean").mask(s.isna())
    text = s.astype("str").str.strip().str.lower()
    yes = text.isin(["true", "1", "yes", "y", "是", "√", "✓", "t"])
    no = text.isin(["false", "0", "no", "n", "否", "×", "f", ""])
    return yes.astype("boolean").mask(~yes & ~no | s.isna())


def _truthy_text(s: pd.Series) -> pd.Series:
    """Whether a free-text / flag column states something (an expansion plan); NA if missing."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return _bool_flag(s)
    text = s.astype("str").str.strip().str.lower()
    return (~text.isin(NO_PLAN_WORDS)).astype("boolean").mask(s.isna())


def _keyword_hits(text: pd.Series, words: Sequence[str]) -> pd.Series:
    """Case-insensitive substring match of any of ``words`` (vectorised regex)."""
    import re

    if not words:
        return pd.Series(False, index=text.index)
    pattern = "|".join(re.escape(w) for w in words)
    return text.str.contains(pattern, case=False, regex=True, na=False)


def _sym_growth(now: pd.Series, before: pd.Series) -> pd.Series:
    """(now - before) / (|now| + |before|), in [-1, 1]; 0 when both are 0.

    Monotone in now / before wherever that ratio exists, and defined where it does not
    (a customer with nothing the year before scores +1, one with nothing this year -1).
    """
    den = now.abs() + before.abs()
    return ((now - before) / den.where(den > 0)).fillna(0.0)


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


# --------------------------------------------------------------------------------------
# RFM
# --------------------------------------------------------------------------------------


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
        number of orders, net amount: :func:`kit.features.business_features`).
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
        Class keys (``important_value`` ...; labels in ``kit.labels``, vocabulary
        ``rfm8_class``).
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


# --------------------------------------------------------------------------------------
# Value tiers and A/B/C
# --------------------------------------------------------------------------------------


def value_tiers(amount_12m: pd.Series, rule: ValueTiers | None = None) -> pd.Series:
    """high / medium / low by the trailing-year amount (template: >= 500,000 high,
    >= 100,000 medium, else low; the boundaries belong to the upper tier).

    Parameters
    ----------
    amount_12m : Series
        Net amount of the trailing ``rule.window_months`` per customer.
    rule : ValueTiers
        ``cfg.layering.value_tiers``.

    Returns
    -------
    Series
        ``high`` / ``medium`` / ``low`` (str).
    """
    rule = rule or ValueTiers()
    a = pd.to_numeric(amount_12m).astype(float).fillna(0.0).to_numpy()
    tier = np.where(a >= rule.high_min, "high", np.where(a >= rule.medium_min, "medium", "low"))
    return pd.Series(tier, index=amount_12m.index, dtype="str", name="value_tier")


def expanding(master: pd.DataFrame | None, index: pd.Index,
              growth_stages: Mapping[str, str] | None = None) -> pd.Series:
    """Whether a customer is expanding: growth stage "growth" (成长期) or an expansion plan.

    NA where the master says neither (no master, or both values missing).
    """
    growth_stages = dict(DEFAULT_GROWTH_STAGES if growth_stages is None else growth_stages)
    out = pd.Series(pd.NA, index=index, dtype="boolean")
    stage = _master_col(master, "growth_stage", index)
    if stage is not None:
        mapped = stage.astype("str").str.strip().str.lower().map(
            {str(k).lower(): v for k, v in growth_stages.items()}
        )
        known = mapped.notna() & stage.notna()
        out = out.mask(known, (mapped == "high_growth") & known)
    plan = _master_col(master, "expansion_plan", index)
    if plan is not None:
        has_plan = _truthy_text(plan)
        out = out.mask(has_plan.fillna(False), True)
        out = out.mask(out.isna() & has_plan.notna(), False)
    return out


def abc_classes(
    amount_12m: pd.Series,
    master: pd.DataFrame | None = None,
    rule: AbcClasses | None = None,
    *,
    growth_stages: Mapping[str, str] | None = None,
) -> pd.Series:
    """The guide's B2B classes: A > 5,000,000 a year and industry leader; B 1,000,000 -
    5,000,000 and expanding; C the rest (< 1,000,000, or failing a condition).

    Attributes are used where given: ``industry_leader`` (master flag) for A,
    :func:`expanding` (growth stage or expansion plan) for B. Where the master does not say
    (no master, no column, or a missing value), the class follows the amount alone. A
    customer meeting an amount but not its attribute falls to the next class whose
    conditions it meets (a 6,000,000 non-leader that is expanding is B, one that is not is C).
    Boundaries belong to the upper class (exactly 1,000,000 is B-sized).

    Parameters
    ----------
    amount_12m : Series
        Annual amount per customer.
    master : DataFrame, optional
        Clean customer master (index or column ``customer_id``).
    rule : AbcClasses
        ``cfg.layering.abc``.

    Returns
    -------
    Series
        ``A`` / ``B`` / ``C`` (str).
    """
    rule = rule or AbcClasses()
    master = _master_frame(master)
    idx = amount_12m.index
    a = pd.to_numeric(amount_12m).astype(float).fillna(0.0)
    leader = _master_col(master, "industry_leader", idx)
    leader = pd.Series(pd.NA, index=idx, dtype="boolean") if leader is None else _bool_flag(leader)
    expand = expanding(master, idx, growth_stages)
    leader_ok = leader.fillna(True).astype(bool) if rule.a_requires_leader else True
    expand_ok = expand.fillna(True).astype(bool) if rule.b_requires_expanding else True
    is_a = (a >= rule.a_min) & leader_ok
    is_b = (a >= rule.b_min) & expand_ok
    cls = np.where(is_a, "A", np.where(is_b, "B", "C"))
    return pd.Series(cls, index=idx, dtype="str", name="abc_class")


# --------------------------------------------------------------------------------------
# Value x potential
# --------------------------------------------------------------------------------------


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


PART_NAMES = {
    "amount_12m": ("近12个月金额", "trailing-12-month amount"),
    "profit": ("历史利润", "historical profit"),
    "avg_order_value": ("平均客单价", "average order value"),
    "industry_growth": ("行业增长前景", "industry growth outlook"),
    "size_expansion": ("规模扩张速度", "size expansion speed"),
    "cooperation_depth": ("合作深度", "cooperation depth"),
    "referral": ("转介绍", "referrals"),
}


def weights_text(weights: Mapping[str, float]) -> tuple[str, str]:
    """Indicator weights as report text, ``("近12个月金额 40 %、...", "trailing-12-month amount 40 %, ...")``."""
    zh = "、".join(f"{PART_NAMES[k][0]} {_pct(w)}" for k, w in weights.items())
    en = ", ".join(f"{PART_NAMES[k][1]} {_pct(w)}" for k, w in weights.items())
    return zh, en


def value_potential(
    features: pd.DataFrame,
    *,
    master: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    rule: Quadrant | None = None,
    default_margin: float = 0.30,
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
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
        :func:`kit.features.business_features` output.
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
    (DataFrame, list of dict)
        ``value_score, potential_score`` (float 0-100) and ``purchase_growth`` (amount
        growth, trailing year vs the one before, NaN when the year before had none), same
        index as ``features``; and the notes naming every proxy and dropped input
        (``section, kind, zh, en``) for ``ctx.note``.
    """
    rule = rule or Quadrant()
    master = _master_frame(master)
    idx = features.index
    notes: list[dict[str, str]] = []
    scale = lambda s: scale_0_100(s, rule.scoring)  # noqa: E731

    # ---- value X --------------------------------------------------------------------
    profit = features["profit_total"].astype(float)
    proxy_profit = features["revenue_total"].astype(float) * default_margin
    n_missing = int(profit.isna().sum())
    if len(idx) and n_missing == len(idx):
        notes.append(_note(
            "info",
            f"数据中没有利润或毛利率：当前价值中的“历史利润”以净收入 × 默认毛利率 {_pct(default_margin)}"
            "（cfg.clv.margin）代替，其排序与净收入相同。",
            f"The data have no profit or margin: 'historical profit' in the value score is net revenue "
            f"x the default margin {_pct(default_margin)} (cfg.clv.margin), which ranks like revenue.",
        ))
    elif n_missing:
        notes.append(_note(
            "info",
            f"{n_missing:,} 个客户没有利润数据，其“历史利润”以净收入 × 默认毛利率 {_pct(default_margin)} 代替。",
            f"{n_missing:,} customers have no profit data; their historical profit is net revenue x the "
            f"default margin {_pct(default_margin)}.",
        ))
    profit = profit.fillna(proxy_profit)
    value_parts = {
        "amount_12m": scale(features["amount_12m"]),
        "profit": scale(profit),
        "avg_order_value": scale(features["avg_order_value"]),
    }
    value_score, _ = _weighted(value_parts, rule.value_weights, idx)

    # ---- potential Y ----------------------------------------------------------------
    parts: dict[str, pd.Series | None] = {}
    dropped: list[str] = []
    industry = _master_col(master, "industry", idx)
    master_growth = _master_col(master, "industry_growth", idx)
    if master_growth is not None:
        parts["industry_growth"] = scale(pd.to_numeric(master_growth, errors="coerce"))
        notes.append(_note("info", "行业增长前景取自客户主数据的 industry_growth。",
                           "Industry growth outlook comes from the master's industry_growth."))
    elif rule.industry_growth and industry is not None:
        outlook = {str(k).strip(): float(v) for k, v in rule.industry_growth.items()}
        mapped = industry.astype("str").str.strip().map(outlook).astype(float)
        n_unmapped = int((mapped.isna() & industry.notna()).sum() + industry.isna().sum())
        parts["industry_growth"] = mapped.clip(0, 100).fillna(50.0)
        extra_zh = f"；{n_unmapped:,} 个客户的行业不在配置中，取中性值 50" if n_unmapped else ""
        extra_en = f"; {n_unmapped:,} customers whose industry is not listed get the neutral 50" if n_unmapped else ""
        notes.append(_note(
            "info",
            f"行业增长前景取自配置（layering.quadrant.industry_growth）{extra_zh}。",
            f"Industry growth outlook comes from the config (layering.quadrant.industry_growth){extra_en}.",
        ))
    elif industry is not None:
        key = industry.astype("str").str.strip().where(industry.notna())
        grp = pd.DataFrame({"k": key, "now": features["amount_12m"], "before": features["amount_13_24m"]})
        sums = grp.groupby("k")[["now", "before"]].sum()
        ind_growth = _sym_growth(sums["now"], sums["before"])
        parts["industry_growth"] = scale(key.map(ind_growth))
        notes.append(_note(
            "info",
            "未提供行业增长前景：以各行业客户在数据中的收入增长（近12个月对比前12个月）代替。",
            "No industry growth outlook given: proxy = each industry's own revenue growth in the data "
            "(trailing 12 months vs the 12 before).",
        ))
    else:
        parts["industry_growth"] = None
        dropped.append("industry_growth")

    growth = _sym_growth(features["amount_12m"].astype(float), features["amount_13_24m"].astype(float))
    parts["size_expansion"] = scale(growth)
    notes.append(_note(
        "info",
        "规模扩张速度以客户自身采购额增长（近12个月对比前12个月）代替（没有员工数的历史数据）。",
        "Size expansion speed: proxy = the customer's own purchase growth, trailing 12 months vs the "
        "12 before (no history of employee counts).",
    ))

    if features["n_categories"].notna().any():
        parts["cooperation_depth"] = scale(features["n_categories"])
        notes.append(_note("info", "合作深度以购买的产品类别数代替。",
                           "Cooperation depth: proxy = number of product categories bought."))
    else:
        parts["cooperation_depth"] = None
        dropped.append("cooperation_depth")

    master_ref = _master_col(master, "referrals", idx)
    has_ref_log = (
        interactions is not None and "type" in interactions.columns
        and bool((interactions["type"] == "referral").any())
    )
    if master_ref is not None:
        parts["referral"] = scale(pd.to_numeric(master_ref, errors="coerce"))
        notes.append(_note("info", "转介绍取自客户主数据的转介绍次数。",
                           "Referrals come from the master's referral count."))
    elif has_ref_log:
        is_ref = (interactions["type"] == "referral").fillna(False).to_numpy()
        counts = _count_per_customer(_codes(interactions["customer_id"], idx), is_ref, len(idx))
        parts["referral"] = scale(pd.Series(counts, index=idx))
        notes.append(_note("info", "转介绍取自互动记录中类型为“转介绍”的次数。",
                           "Referrals are the interactions of type referral."))
    else:
        parts["referral"] = None
        dropped.append("referral")

    potential_score, used = _weighted(parts, rule.potential_weights, idx)
    if dropped:
        wz, we = weights_text(used)
        dz = "、".join(PART_NAMES[k][0] for k in dropped)
        de = ", ".join(PART_NAMES[k][1] for k in dropped)
        notes.append(_note(
            "omitted",
            f"数据不足以计算潜力指标：{dz}。其权重已按比例分给其余指标：{wz}。",
            f"The data cannot support these potential inputs: {de}. Their weight is shared among the "
            f"others: {we}.",
        ))
    before = features["amount_13_24m"].astype(float)
    purchase_growth = (features["amount_12m"].astype(float) / before.where(before > 0)) - 1
    out = pd.DataFrame(
        {"value_score": value_score, "potential_score": potential_score, "purchase_growth": purchase_growth},
        index=idx,
    )
    return out, notes


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
        Quadrant keys (labels: ``kit.labels``, vocabulary ``quadrant``).
    """
    hx = (value_score >= value_threshold).to_numpy()
    hy = (potential_score >= potential_threshold).to_numpy()
    q = np.where(hx, np.where(hy, "star", "cash_cow"), np.where(hy, "potential", "eliminate"))
    return pd.Series(q, index=value_score.index, dtype="str", name="quadrant")


# --------------------------------------------------------------------------------------
# Three-dimensional model (guide 2.1)
# --------------------------------------------------------------------------------------


def three_dimensional(
    features: pd.DataFrame,
    *,
    master: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    transactions: pd.DataFrame | PreparedTransactions | None = None,
    as_of: pd.Timestamp | str | None = None,
    decision_roles: Mapping[str, Sequence[str]] | None = None,
    role_demand: Mapping[str, str] | None = None,
    demand_keywords: Mapping[str, Sequence[str]] | None = None,
    growth_stages: Mapping[str, str] | None = None,
    high_growth_min: float = 0.20,
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Demand and potential types of the guide's value-demand-potential model.

    The value dimension is the value tier (high = VIP, medium = core, low = small).

    **Demand type** (solution / price_sensitive / service), from three sources that each
    cast one vote split over the types they point to: the contact's decision role
    (``contact_title`` matched against ``decision_roles``, mapped by ``role_demand``:
    technical and executive -> solution, procurement -> price-sensitive); interaction
    keywords and text matched against ``demand_keywords`` (share of matching interactions
    per type); purchase scenario, the share of the purchased amount whose category matches
    ``demand_keywords`` (spare parts -> service, projects -> solution). The type with most
    votes wins (ties in the order of ``demand_keywords``); NA when no source says anything.

    **Potential type** (high_growth / stable / to_activate): from the master where it says
    (expansion plan or growth stage "growth" -> high growth; mature -> stable; startup ->
    to be activated); elsewhere from the data: no purchase in the trailing year, or none in
    the year before (new) -> to be activated; amount growth >= ``high_growth_min`` ->
    high growth; otherwise stable.

    Returns
    -------
    (DataFrame, list of dict)
        ``demand_type, potential_type`` (str keys, NA where unknown) and notes.
    """
    demand_keywords = {k: list(v) for k, v in (demand_keywords or DEFAULT_DEMAND_KEYWORDS).items()}
    role_demand = dict(DEFAULT_ROLE_DEMAND if role_demand is None else role_demand)
    growth_stages = dict(DEFAULT_GROWTH_STAGES if growth_stages is None else growth_stages)
    if decision_roles is None:
        from kit.core.config import Personas

        decision_roles = Personas().decision_roles
    master = _master_frame(master)
    idx = features.index
    types = list(demand_keywords)
    votes = np.zeros((len(idx), len(types)))
    sources: list[tuple[str, str]] = []

    title = _master_col(master, "contact_title", idx)
    if title is not None:
        text = title.astype("str").where(title.notna(), "")
        for role, words in decision_roles.items():
            dtype_ = role_demand.get(role)
            if dtype_ in types:
                votes[:, types.index(dtype_)] += _keyword_hits(text, words).to_numpy(dtype=float)
        sources.append(("联系人职位（决策角色）", "contact title (decision role)"))

    n = len(idx)
    if interactions is not None and len(interactions):
        text_cols = [c for c in ("keywords", "text") if c in interactions.columns]
        if text_cols:
            text = interactions[text_cols[0]].astype("str").fillna("")
            for c in text_cols[1:]:
                text = text + " " + interactions[c].astype("str").fillna("")
            codes = _codes(interactions["customer_id"], idx)
            per = np.column_stack([
                _count_per_customer(codes, _keyword_hits(text, w).to_numpy(), n) for w in demand_keywords.values()
            ]).astype(float)
            total = per.sum(axis=1, keepdims=True)
            votes += np.divide(per, total, out=np.zeros_like(per), where=total > 0)
            sources.append(("互动关键词", "interaction keywords"))

    if transactions is not None and (
        isinstance(transactions, PreparedTransactions) or "category" in transactions.columns
    ):
        pt = prepare(transactions)
        if pt.category is not None and len(pt.categories):
            rows = pt.purchase & (pt.category >= 0)
            if as_of is not None:
                rows &= pt.day <= day_number(as_of)
            # category -> type matches, then amount per customer and type
            names = pd.Series(pt.categories.astype("str"))
            cat_type = np.column_stack([_keyword_hits(names, w).to_numpy() for w in demand_keywords.values()])
            pos = idx.get_indexer(pt.ids)  # customer code -> row of idx (-1 when not layered)
            cust = pos[pt.cust[rows]]
            ok = cust >= 0
            cust, cat, amt = cust[ok], pt.category[rows][ok], pt.amount[rows][ok]
            total = np.bincount(cust, weights=amt, minlength=n)
            per = np.column_stack([
                np.bincount(cust, weights=amt * cat_type[cat, j], minlength=n) for j in range(len(types))
            ])
            votes += np.divide(per, total[:, None], out=np.zeros_like(per), where=total[:, None] > 0)
            sources.append(("采购品类（采购场景）", "purchased categories (purchase scenario)"))

    best = votes.argmax(axis=1) if len(types) and len(idx) else np.zeros(len(idx), dtype=int)
    any_vote = votes.max(axis=1) > 0 if len(types) and len(idx) else np.zeros(len(idx), dtype=bool)
    demand = pd.Series(np.asarray(types, dtype=object)[best] if types else None, index=idx, dtype="str")
    demand = demand.where(any_vote)

    # ---- potential type -------------------------------------------------------------
    stage = _master_col(master, "growth_stage", idx)
    from_master = pd.Series(pd.NA, index=idx, dtype="str")
    if stage is not None:
        low = {str(k).lower(): v for k, v in growth_stages.items()}
        from_master = stage.astype("str").str.strip().str.lower().map(low).astype("str").where(stage.notna())
    plan = _master_col(master, "expansion_plan", idx)
    if plan is not None:
        from_master = from_master.mask(_truthy_text(plan).fillna(False).astype(bool), "high_growth")
    now = features["amount_12m"].astype(float)
    before = features["amount_13_24m"].astype(float)
    growth = now / before.where(before > 0) - 1
    from_data = np.where(
        (now <= 0) | (before <= 0), "to_activate",
        np.where(growth >= high_growth_min - 1e-12, "high_growth", "stable"),
    )
    potential = from_master.fillna(pd.Series(from_data, index=idx, dtype="str"))

    notes = []
    n_unknown = int(demand.isna().sum())
    if sources:
        sz = "、".join(s[0] for s in sources)
        se = ", ".join(s[1] for s in sources)
        extra_zh = f"；{n_unknown:,} 个客户没有任何信号，需求类型留空" if n_unknown else ""
        extra_en = f"; {n_unknown:,} customers show no signal and have no demand type" if n_unknown else ""
        notes.append(_note("info", f"需求类型依据：{sz}{extra_zh}。", f"Demand type from: {se}{extra_en}."))
    else:
        notes.append(_note(
            "omitted",
            "数据中没有联系人职位、互动关键词或产品类别，无法判断需求类型（解决方案/价格敏感/服务保障）。",
            "The data have no contact titles, interaction keywords or product categories: the demand type "
            "(solution / price-sensitive / service) cannot be told.",
        ))
    n_data = int(from_master.isna().sum())
    if n_data:
        notes.append(_note(
            "info",
            f"{n_data:,} 个客户没有成长阶段或扩张计划，潜力类型按采购数据判断：近12个月增长 ≥ {_pct(high_growth_min)} 为高潜力增长型，"
            "近12个月或前12个月无采购为待激活型，其余为稳定贡献型。",
            f"{n_data:,} customers have no growth stage or expansion plan; their potential type comes from "
            f"purchases: growth >= {_pct(high_growth_min)} over the trailing year is high-growth, no purchase "
            "in the trailing year or in the year before is to-be-activated, the rest stable.",
        ))
    return pd.DataFrame({"demand_type": demand, "potential_type": potential}, index=idx), notes


# --------------------------------------------------------------------------------------
# Churn risk, satisfaction, complaints
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Dynamic adjustment (guide 2.3)
# --------------------------------------------------------------------------------------


def upgrade_triggers(features: pd.DataFrame, value_tier: pd.Series,
                     rule: Dynamic | None = None) -> pd.DataFrame:
    """Core customers (tier ``medium``) due for an upgrade review.

    ``growth``: in each of the last ``rule.upgrade_quarters`` quarter-on-quarter steps the
    amount grew by at least ``rule.upgrade_growth`` (q3 -> q2 and q2 -> q1 for 2 quarters;
    exactly 20 % counts, a quarter with no purchase cannot be grown from).
    ``new_category``: ``new_category_last_q`` (when ``rule.upgrade_on_new_category``).

    Parameters
    ----------
    features : DataFrame
        ``amount_q1 .. amount_q{upgrade_quarters + 1}`` and ``new_category_last_q``.
    value_tier : Series
        From :func:`value_tiers`.

    Returns
    -------
    DataFrame
        ``upgrade_trigger`` (bool) and ``upgrade_reason`` (``growth``, ``new_category``
        or ``growth;new_category``; empty string when none).
    """
    rule = rule or Dynamic()
    n = rule.upgrade_quarters
    need = [f"amount_q{k}" for k in range(1, n + 2)]
    missing = [c for c in need if c not in features.columns]
    if missing:
        raise ValueError(
            f"upgrade_quarters={n} needs {', '.join(need)}; missing {', '.join(missing)} "
            f"(business_features(..., quarters={n + 1}))"
        )
    core = (value_tier == "medium").to_numpy()
    grew = np.ones(len(features), dtype=bool)
    for k in range(1, n + 1):
        now = features[f"amount_q{k}"].astype(float).to_numpy()
        base = features[f"amount_q{k + 1}"].astype(float).to_numpy()
        target = base * (1 + rule.upgrade_growth)
        grew &= (base > 0) & (now - target >= -1e-9 * np.abs(target))
    growth = core & grew
    newcat = core & features["new_category_last_q"].fillna(False).astype(bool).to_numpy()
    if not rule.upgrade_on_new_category:
        newcat = np.zeros_like(newcat)
    reason = np.where(growth & newcat, "growth;new_category",
                      np.where(growth, "growth", np.where(newcat, "new_category", "")))
    return pd.DataFrame(
        {"upgrade_trigger": growth | newcat, "upgrade_reason": pd.array(reason, dtype="str")},
        index=features.index,
    )


def downgrade_warnings(
    value_tier: pd.Series,
    months_since_last: pd.Series,
    complaint_rate: pd.Series | None = None,
    base_rate: float | None = None,
    rule: Dynamic | None = None,
) -> pd.DataFrame:
    """High-value customers to retain (guide: 启动客户挽留专项).

    ``inactive``: no purchase for ``rule.downgrade_inactive_months`` (>=, mean months);
    ``complaints``: complaint rate > ``rule.complaint_rate_factor`` x ``base_rate``.

    Returns
    -------
    DataFrame
        ``downgrade_warning`` (bool) and ``downgrade_reason`` (``inactive``,
        ``complaints`` or ``inactive;complaints``; empty string when none).
    """
    rule = rule or Dynamic()
    high = (value_tier == "high").to_numpy()
    m = pd.to_numeric(months_since_last).astype(float).to_numpy()
    inactive = high & (m >= rule.downgrade_inactive_months - 1e-9)
    complained = np.zeros(len(high), dtype=bool)
    if complaint_rate is not None and base_rate is not None and np.isfinite(base_rate):
        rate = complaint_rate.reindex(value_tier.index).astype(float)
        complained = high & (rate > rule.complaint_rate_factor * base_rate).fillna(False).to_numpy()
    reason = np.where(inactive & complained, "inactive;complaints",
                      np.where(inactive, "inactive", np.where(complained, "complaints", "")))
    return pd.DataFrame(
        {"downgrade_warning": inactive | complained, "downgrade_reason": pd.array(reason, dtype="str")},
        index=value_tier.index,
    )


def overdue_customers(
    transactions: pd.DataFrame | None,
    as_of: pd.Timestamp | str,
    *,
    overdue_days: float = 30,
    window_months: int = 12,
    overdue_statuses: Sequence[str] | None = None,
) -> pd.Index | None:
    """Customers with an order of the trailing ``window_months`` more than ``overdue_days``
    overdue (``days_overdue``) or with an overdue ``payment_status``; None when the data
    have neither column."""
    if transactions is None:
        return None
    has_days = "days_overdue" in transactions.columns
    has_status = "payment_status" in transactions.columns
    if not (has_days or has_status):
        return None
    as_of = pd.Timestamp(as_of).normalize()
    day = pd.to_datetime(transactions["order_date"])
    if day.dt.tz is not None:
        day = day.dt.tz_localize(None)
    day = day.dt.floor("D")
    in_w = ((day > months_back(as_of, window_months)) & (day <= as_of)).to_numpy()
    flag = np.zeros(len(transactions), dtype=bool)
    if has_days:
        flag |= (pd.to_numeric(transactions["days_overdue"], errors="coerce") > overdue_days).fillna(False).to_numpy()
    if has_status:
        words = list(DEFAULT_OVERDUE_STATUSES if overdue_statuses is None else overdue_statuses)
        flag |= _keyword_hits(transactions["payment_status"].astype("str"), words).to_numpy()
    ids = transactions.loc[flag & in_w, "customer_id"].astype("str").unique()
    return pd.Index(ids, dtype="str")


def special_flags(
    index: pd.Index,
    *,
    master: pd.DataFrame | None = None,
    overdue: pd.Index | None = None,
    churn: pd.Series | None = None,
) -> pd.Series:
    """Special marks (guide 2.3): ``strategic_partner`` (master flag), ``overdue_payment``
    (:func:`overdue_customers`), ``churn_warning`` (churn risk high).

    Returns
    -------
    Series
        The keys that apply, joined by ``;`` (empty string when none).
    """
    master = _master_frame(master)
    flags = []
    partner = _master_col(master, "strategic_partner", index)
    flags.append(("strategic_partner", np.zeros(len(index), bool) if partner is None
                  else _bool_flag(partner).fillna(False).astype(bool).to_numpy()))
    on_overdue = np.zeros(len(index), bool)
    if overdue is not None and len(overdue):
        pos = index.get_indexer(overdue)
        on_overdue[pos[pos >= 0]] = True
    flags.append(("overdue_payment", on_overdue))
    flags.append(("churn_warning", np.zeros(len(index), bool) if churn is None
                  else (churn.reindex(index) == "high").fillna(False).to_numpy()))
    out = pd.Series("", index=index, dtype="str")
    for key, on in flags:
        out = out + np.where(on, key + ";", "")
    return out.str.rstrip(";").rename("special_flags")


def migration(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Tier migration from the previous period's layering to this one.

    Parameters
    ----------
    current, previous : DataFrame
        Layerings (index ``customer_id``) with ``value_tier``, ``quadrant``, ``amount_12m``
        and ``orders_12m`` as of this and the previous period end.

    Returns
    -------
    DataFrame
        ``value_tier_prev``, ``quadrant_prev``, ``amount_12m_prev`` (NA for new customers)
        and ``tier_change``: ``new`` (not in the previous layering), ``lost`` (an order in
        the tier window then, none now), else ``up`` / ``down`` / ``same`` by tier.
    """
    idx = current.index
    prev = previous.reindex(idx)
    in_prev = prev["orders_12m"].notna().to_numpy()
    active_now = (current["orders_12m"] > 0).to_numpy()
    active_prev = (prev["orders_12m"].fillna(0) > 0).to_numpy()
    r_now = current["value_tier"].map(TIER_RANK).to_numpy(dtype=float)
    r_prev = prev["value_tier"].map(TIER_RANK).to_numpy(dtype=float)
    change = np.select(
        [~in_prev, active_prev & ~active_now, r_now > r_prev, r_now < r_prev],
        ["new", "lost", "up", "down"],
        default="same",
    )
    return pd.DataFrame(
        {
            "value_tier_prev": prev["value_tier"].astype("str"),
            "quadrant_prev": prev["quadrant"].astype("str"),
            "amount_12m_prev": prev["amount_12m"].astype(float),
            "tier_change": pd.array(change, dtype="str"),
        },
        index=idx,
    )


# --------------------------------------------------------------------------------------
# The spine
# --------------------------------------------------------------------------------------


def _layer_at(
    transactions: pd.DataFrame,
    prepared: PreparedTransactions,
    as_of: pd.Timestamp,
    cfg: KitConfig,
    master: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    opts: dict[str, Any],
    *,
    full: bool,
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """One layering as of ``as_of``; ``full=False`` stops after the tiers and quadrant."""
    L = cfg.layering
    notes: list[dict[str, str]] = []
    quarters = max(4, L.dynamic.upgrade_quarters + 1)
    feats = business_features(prepared, as_of, window_months=L.value_tiers.window_months,
                              quarters=quarters)
    idx = feats.index
    ix = _interactions_until(interactions, as_of)
    if master is not None:
        master = master.reindex(idx)  # aligned once: every rule below reads it as is

    rfm_in = feats[["days_since_last", "orders_total", "revenue_total"]]
    if L.rfm.window_months is not None:
        w = window_totals(prepared, as_of, L.rfm.window_months)
        rfm_in = rfm_in.assign(orders_total=w["orders"], revenue_total=w["amount"])
    scores = rfm_scores(rfm_in, bins=L.rfm.bins)
    out = feats.join(scores)
    out["rfm_segment"] = rfm_segments(scores, L.rfm.segments, bins=L.rfm.bins)
    out["rfm8_class"] = rfm8(rfm_in, threshold=L.rfm.rfm8_threshold)
    out["value_tier"] = value_tiers(feats["amount_12m"], L.value_tiers)
    growth_stages = opts["growth_stages"]
    out["abc_class"] = abc_classes(feats["amount_12m"], master, L.abc, growth_stages=growth_stages)
    vp, vp_notes = value_potential(feats, master=master, interactions=ix, rule=L.quadrant,
                                   default_margin=cfg.clv.margin)
    notes += vp_notes
    out = out.join(vp)
    out["quadrant"] = quadrants(out["value_score"], out["potential_score"],
                                value_threshold=L.quadrant.value_threshold,
                                potential_threshold=L.quadrant.potential_threshold)
    if not full:
        return out, notes

    td, td_notes = three_dimensional(
        feats, master=master, interactions=ix,
        transactions=prepared, as_of=as_of,
        decision_roles=cfg.personas.decision_roles, role_demand=opts["role_demand"],
        demand_keywords=opts["demand_keywords"], growth_stages=growth_stages,
        high_growth_min=opts["high_growth_min"],
    )
    notes += td_notes
    out = out.join(td)
    out["satisfaction"] = satisfaction_scores(ix, as_of, L.churn.satisfaction_window_months, index=idx)
    rate, base = complaint_rates(ix, feats["orders_12m"], as_of, opts["complaint_window_months"])
    out["complaint_rate"] = rate
    out["churn_risk"] = churn_risk(feats["months_since_last"], out["satisfaction"], L.churn)
    out = out.join(upgrade_triggers(feats, out["value_tier"], L.dynamic))
    out = out.join(downgrade_warnings(out["value_tier"], feats["months_since_last"], rate, base, L.dynamic))
    overdue = overdue_customers(transactions, as_of, overdue_days=L.dynamic.overdue_days_risk,
                                window_months=opts["complaint_window_months"],
                                overdue_statuses=opts["overdue_statuses"])
    out["special_flags"] = special_flags(idx, master=master, overdue=overdue, churn=out["churn_risk"])
    out.attrs["complaint_base_rate"] = base

    if ix is None:
        notes.append(_note(
            "omitted",
            "没有互动记录：流失风险只按未采购时长判断（无满意度），降级预警不含投诉率，转介绍不计入潜力。",
            "No interaction log: churn risk uses the months without purchase only (no satisfaction), "
            "the downgrade warning has no complaint-rate test, and referrals are not in the potential score.",
        ))
    else:
        if "score" not in ix.columns or out["satisfaction"].isna().all():
            notes.append(_note("omitted", "互动记录中没有满意度评分：流失风险只按未采购时长判断。",
                               "The interaction log has no satisfaction scores: churn risk uses the months "
                               "without purchase only."))
        if "type" not in ix.columns:
            notes.append(_note("omitted", "互动记录没有类型：无法计算投诉率。",
                               "The interaction log has no types: no complaint rate."))
    if master is None:
        notes.append(_note(
            "omitted",
            "没有客户主数据：A/B/C 分类只按年采购额（不判断行业龙头与扩张期），无战略合作伙伴标记。",
            "No customer master: A/B/C uses the annual amount only (industry leader and expansion not "
            "known), and there is no strategic-partner flag.",
        ))
    if feats["n_categories"].isna().all() and L.dynamic.upgrade_on_new_category:
        notes.append(_note("omitted", "数据中没有产品类别：升级触发条件“新增采购品类”无法判断。",
                           "The data have no product category: the 'new category' upgrade trigger "
                           "cannot be tested."))
    if overdue is None:
        notes.append(_note("omitted", "数据中没有逾期天数或回款状态：无法标记付款逾期的风险客户。",
                           "The data have no days overdue or payment status: overdue-payment risk "
                           "customers cannot be flagged."))
    return out, notes


def layer(
    transactions: pd.DataFrame,
    as_of: pd.Timestamp | str,
    cfg: KitConfig,
    master: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    *,
    previous: bool = True,
    demand_keywords: Mapping[str, Sequence[str]] | None = None,
    role_demand: Mapping[str, str] | None = None,
    growth_stages: Mapping[str, str] | None = None,
    high_growth_min: float | None = None,
    overdue_statuses: Sequence[str] | None = None,
    complaint_window_months: int | None = None,
) -> pd.DataFrame:
    """The spine of stage 02: one row per customer with every layer of DOMAIN.md section 2.

    Clean transactions (+ master, + interactions) -> ``customers`` indexed by
    ``customer_id``: master attributes, business features
    (:func:`kit.features.business_features`), the lifetimes summary
    (:func:`kit.summary.customer_summary`, purchases only, ``cfg.clv.time_unit``), the
    layers and the comparison with the previous period (see ``docs/CONTRACTS.md`` for the
    columns). Customers with a purchase on or before ``as_of`` are layered; master rows
    without one are not.

    Parameters
    ----------
    transactions : DataFrame
        Clean transactions (``transactions_clean.parquet``).
    as_of : date-like
        End of the period, inclusive.
    cfg : KitConfig
        ``cfg.layering`` holds every rule; ``cfg.period`` fixes the previous period;
        ``cfg.clv.margin`` is the margin of the profit proxy.
    master, interactions : DataFrame, optional
        ``customers_master_clean.parquet`` and ``interactions_clean.parquet``.
    previous : bool
        Also layer as of the previous period end and add the migration columns.
    demand_keywords, role_demand, growth_stages, high_growth_min
        Three-dimensional model settings (:func:`three_dimensional`); default
        ``cfg.layering.three_d.*`` when the config has them, else the module defaults.
    overdue_statuses : sequence of str
        ``payment_status`` words meaning overdue (default ``cfg.layering.dynamic.overdue_statuses``
        or 逾期 / overdue).
    complaint_window_months : int
        Window of complaint rates and overdue orders (default 12).

    Returns
    -------
    DataFrame
        The spine. ``attrs["notes"]`` holds the proxies used and the sections the data
        cannot support (dicts ``section, kind, zh, en`` for ``ctx.note``; also
        :func:`notes`), ``attrs["as_of"]`` and ``attrs["prev_as_of"]`` the two dates.
    """
    as_of = pd.Timestamp(as_of).normalize()
    opts = {
        "demand_keywords": _setting(cfg, "three_d", "demand_keywords", demand_keywords, DEFAULT_DEMAND_KEYWORDS),
        "role_demand": _setting(cfg, "three_d", "role_demand", role_demand, DEFAULT_ROLE_DEMAND),
        "growth_stages": _setting(cfg, "three_d", "growth_stages", growth_stages, DEFAULT_GROWTH_STAGES),
        "high_growth_min": _setting(cfg, "three_d", "high_growth_min", high_growth_min, 0.20),
        "overdue_statuses": _setting(cfg, "dynamic", "overdue_statuses", overdue_statuses, DEFAULT_OVERDUE_STATUSES),
        "complaint_window_months": _setting(cfg, "dynamic", "complaint_window_months",
                                            complaint_window_months, 12),
    }
    m = _master_frame(master)
    tx = transactions
    prepared = prepare(tx)
    cur, notes = _layer_at(tx, prepared, as_of, cfg, m, interactions, opts, full=True)
    base_rate = cur.attrs.get("complaint_base_rate", float("nan"))
    idx = cur.index

    purchases = tx[_purchase_rows(tx)]
    summ = customer_summary(purchases, as_of, time_unit=cfg.clv.time_unit)
    summ = summ.reindex(idx)

    parts = []
    if m is not None:
        attrs = [c for c in MASTER_ATTRIBUTES if c in m.columns]
        parts.append(m[attrs].reindex(idx))
        n_unlayered = int((idx.get_indexer(m.index) < 0).sum())
        if n_unlayered:
            notes.append(_note(
                "info",
                f"客户主数据中有 {n_unlayered:,} 个客户截至 {as_of:%Y-%m-%d} 没有采购记录，未参与分层。",
                f"{n_unlayered:,} customers of the master have no purchase up to {as_of:%Y-%m-%d} and are "
                "not layered.",
            ))
    out = pd.concat([*parts, cur, summ], axis=1)
    out.index.name = "customer_id"

    prev_as_of = previous_period_end(as_of, cfg.period)
    if previous:
        prev, _ = _layer_at(tx, prepared, prev_as_of, cfg, m, interactions, opts, full=False)
        out = out.join(migration(cur, prev))
        notes.append(_note(
            "info",
            f"上期（截至 {prev_as_of:%Y-%m-%d}）分层由交易记录按同一规则重算；客户主数据按当前版本。",
            f"The previous period's layering (as of {prev_as_of:%Y-%m-%d}) is recomputed from the "
            "transaction log with the same rules; the customer master is taken as it is now.",
        ))
    out = out[[c for c in _column_order(out.columns)]]
    out.attrs = {
        "notes": _dedupe(notes),
        "as_of": str(as_of.date()),
        "prev_as_of": str(prev_as_of.date()),
        "complaint_base_rate": base_rate,
    }
    return out


def _purchase_rows(tx: pd.DataFrame) -> np.ndarray:
    from kit.stages.features import purchase_mask

    return purchase_mask(tx).to_numpy()


def _dedupe(notes: list[dict[str, str]]) -> list[dict[str, str]]:
    seen, out = set(), []
    for n in notes:
        key = (n["kind"], n["en"])
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out


SPINE_ORDER = [
    *MASTER_ATTRIBUTES,
    "first_purchase", "last_purchase", "days_since_last", "months_since_last", "orders_total",
    "revenue_total", "orders_12m", "amount_12m",
]


def _column_order(cols: pd.Index) -> list[str]:
    """Master attributes, business features, the lifetimes summary, then the layers in the
    order they were added."""
    summary = ["frequency", "recency", "T", "monetary_value"]
    rest = [c for c in cols if c not in summary]
    cut = rest.index("tenure_days") + 1 if "tenure_days" in rest else len(rest)
    ordered = rest[:cut] + [c for c in summary if c in cols] + rest[cut:]
    head = [c for c in SPINE_ORDER if c in cols]
    return head + [c for c in ordered if c not in head]


def notes(customers: pd.DataFrame) -> list[dict[str, str]]:
    """The notes :func:`layer` left (proxies, omitted sections) for ``ctx.note``."""
    return list(customers.attrs.get("notes", []))


# --------------------------------------------------------------------------------------
# Report tables (headers in the report language)
# --------------------------------------------------------------------------------------


def distribution(customers: pd.DataFrame, column: str, lang: str, *,
                 vocabulary: str | None = None, order: Sequence[str] | None = None,
                 labels: Mapping[str, str] | None = None,
                 amount_col: str = "amount_12m") -> pd.DataFrame:
    """Customers and trailing-year amount per value of ``column``, with shares.

    Parameters
    ----------
    customers : DataFrame
        The spine.
    column : str
        A layer column (``value_tier``, ``quadrant``, ``churn_risk``, ``rfm_segment`` ...).
    lang : {"zh", "en"}
        Report language of the headers and labels.
    vocabulary : str, optional
        ``kit.labels`` vocabulary of the keys (default: ``column``).
    order : sequence of str, optional
        Row order of the keys (missing keys shown with 0); default: by customers.
    labels : mapping, optional
        Key -> label, overriding the vocabulary (e.g. RFM segment labels from the config).
    """
    key = customers[column].astype("str").fillna("–")
    amt = customers[amount_col].astype(float)
    g = pd.DataFrame({"k": key, "a": amt}).groupby("k").agg(n=("a", "size"), a=("a", "sum"))
    if order is not None:
        g = g.reindex([*order, *[k for k in g.index if k not in order]], fill_value=0)
    else:
        g = g.sort_values("n", ascending=False)
    vocab = vocabulary or column
    names = [labels.get(k, k) if labels else label(vocab, k, lang) for k in g.index]
    n_tot, a_tot = g["n"].sum(), g["a"].sum()
    h = {
        "k": _t(lang, "类别", "Group"), "n": _t(lang, "客户数", "Customers"),
        "ns": _t(lang, "客户占比", "Share of customers"), "a": _t(lang, "近12个月金额", "12-month amount"),
        "as": _t(lang, "金额占比", "Share of amount"),
    }
    out = pd.DataFrame({
        h["k"]: names,
        h["n"]: g["n"].astype("int64").to_numpy(),
        h["ns"]: (g["n"] / n_tot).to_numpy() if n_tot else 0.0,
        h["a"]: g["a"].to_numpy(),
        h["as"]: (g["a"] / a_tot).to_numpy() if a_tot else 0.0,
    })
    return _with_formats(out, money=[h["a"]], pct=[h["ns"], h["as"]], ints=[h["n"]])


def segment_table(customers: pd.DataFrame, lang: str,
                  rules: Sequence[RfmSegmentRule] | None = None) -> pd.DataFrame:
    """RFM segment sizes with their share of the trailing-year amount, in the rule order."""
    rules = list(DEFAULT_RFM_SEGMENTS if rules is None else rules)
    labels = {r.name: r.label(lang) for r in rules}
    labels["Unclassified"] = _t(lang, "未分类", "Unclassified")
    return distribution(customers, "rfm_segment", lang, order=[r.name for r in rules], labels=labels)


def rfm8_table(customers: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The 8 classes with R/F/M levels, customers, amount and the recommended focus."""
    table = distribution(customers, "rfm8_class", lang, order=RFM8_CLASSES)
    keys = RFM8_CLASSES + [k for k in customers["rfm8_class"].dropna().unique() if k not in RFM8_CLASSES]
    levels = {v: k for k, v in RFM8_MAP.items()}
    hi, lo = _t(lang, "高", "high"), _t(lang, "低", "low")
    for i, letter in enumerate("RFM"):
        table.insert(1 + i, letter, [(hi if levels[k][i] else lo) if k in levels else "–" for k in keys])
    table[_t(lang, "建议重点", "Recommended focus")] = [label("rfm8_focus", k, lang) for k in keys]
    return table


def crosstab(customers: pd.DataFrame, row: str, col: str, lang: str, *,
             row_order: Sequence[str] | None = None, col_order: Sequence[str] | None = None,
             row_vocabulary: str | None = None, col_vocabulary: str | None = None) -> pd.DataFrame:
    """Customers by two layer columns (keys as labels; a missing value shows as "–")."""
    r = customers[row].astype("str").fillna("–")
    c = customers[col].astype("str").fillna("–")
    m = pd.crosstab(r, c)
    rows = [*(row_order or []), *[k for k in m.index if k not in (row_order or [])]]
    cols = [*(col_order or []), *[k for k in m.columns if k not in (col_order or [])]]
    m = m.reindex(index=rows, columns=cols, fill_value=0).astype("int64")
    m.index = [label(row_vocabulary or row, k, lang) if k != "–" else _t(lang, "未知", "unknown") for k in m.index]
    m.columns = [label(col_vocabulary or col, k, lang) if k != "–" else _t(lang, "未知", "unknown") for k in m.columns]
    return _with_formats(m, ints=list(m.columns))


def rf_matrix(customers: pd.DataFrame, value_col: str = "revenue_total", bins: int = 5) -> pd.DataFrame:
    """Mean ``value_col`` by R score (rows, ``bins`` first) x F score (columns)."""
    g = customers.groupby(["rfm_r", "rfm_f"])[value_col].mean().unstack("rfm_f")
    return g.reindex(index=range(bins, 0, -1), columns=range(1, bins + 1))


def migration_matrix(customers: pd.DataFrame, *, value: str = "count", lang: str | None = None) -> pd.DataFrame:
    """Customers (or amounts) from last period's tier (rows) to this period's (columns).

    Rows: ``high, medium, low`` of the previous period and ``new``; columns: this period's
    ``high, medium, low`` and ``lost``. ``value``: ``count``, ``amount_12m`` (this
    period's trailing-year amount) or ``amount_12m_prev`` (the previous one's: the revenue a
    lost customer took away). With ``lang`` the keys become labels.
    """
    change = customers["tier_change"].astype("str")
    row = customers["value_tier_prev"].astype("str").where(change != "new", "new")
    col = customers["value_tier"].astype("str").where(change != "lost", "lost")
    rows, cols = [*TIERS, "new"], [*TIERS, "lost"]
    frame = pd.DataFrame({"r": row, "c": col})
    if value == "count":
        m = frame.groupby(["r", "c"]).size()
    else:
        m = frame.assign(v=customers[value].astype(float).fillna(0.0)).groupby(["r", "c"])["v"].sum()
    m = m.unstack("c").reindex(index=rows, columns=cols).fillna(0)
    m = m.astype("int64") if value == "count" else m.astype(float)
    if lang is not None:
        vocab = {"new": "tier_change", "lost": "tier_change"}
        m.index = [label(vocab.get(k, "value_tier"), k, lang) for k in m.index]
        m.columns = [label(vocab.get(k, "value_tier"), k, lang) for k in m.columns]
        m.index.name = _t(lang, "上期", "Previous period")
        m.columns.name = _t(lang, "本期", "This period")
    return m


def _id_name(customers: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = pd.DataFrame({_t(lang, "客户编号", "Customer"): customers.index.to_numpy()}, index=customers.index)
    if "name" in customers.columns:
        out[_t(lang, "客户名称", "Name")] = customers["name"].to_numpy()
    return out


def quarter_label(as_of: pd.Timestamp | str, k: int) -> str:
    """Name of trailing quarter ``k`` (1 = the quarter ending at ``as_of``): ``2026-Q3`` when it
    is a calendar quarter, else the span ``2026-05-16..2026-08-15``."""
    from kit.stages.features import months_back
    from kit.core.periods import period_label

    end = months_back(as_of, 3 * (k - 1))
    start = months_back(as_of, 3 * k) + pd.Timedelta(days=1)
    if end == end.to_period("Q").end_time.normalize() and start == end.to_period("Q").start_time:
        return period_label(end, "quarter")
    return f"{start:%Y-%m-%d}..{end:%Y-%m-%d}"


def upgrade_candidates(customers: pd.DataFrame, lang: str, *, top_n: int | None = None,
                       as_of: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Core customers whose upgrade trigger fired, largest trailing-year amount first.

    Shows the amounts of the last three quarters and the quarter-on-quarter growth into the
    last two; quarters are named after ``as_of`` (default ``customers.attrs["as_of"]``).
    """
    as_of = as_of if as_of is not None else customers.attrs.get("as_of")
    c = customers[customers["upgrade_trigger"].fillna(False).astype(bool)]
    c = c.sort_values("amount_12m", ascending=False)
    if top_n is not None:
        c = c.head(top_n)
    out = _id_name(c, lang)
    name = {k: (quarter_label(as_of, k) if as_of is not None else f"q{k}") for k in (1, 2, 3)}
    amount = {k: _t(lang, f"{name[k]} 金额", f"{name[k]} amount") for k in (3, 2, 1)}
    growth = {k: _t(lang, f"{name[k]} 环比增长", f"{name[k]} growth") for k in (2, 1)}
    for k in (3, 2, 1):
        out[amount[k]] = c[f"amount_q{k}"].to_numpy()
    for k in (2, 1):
        before = c[f"amount_q{k + 1}"]
        out[growth[k]] = (c[f"amount_q{k}"] / before.where(before > 0) - 1).to_numpy()
    total = _t(lang, "近12个月金额", "12-month amount")
    out[total] = c["amount_12m"].to_numpy()
    out[_t(lang, "触发原因", "Reason")] = [_reasons(r, "upgrade_reason", lang) for r in c["upgrade_reason"]]
    out = out.reset_index(drop=True)
    return _with_formats(out, money=[*amount.values(), total], pct=list(growth.values()))


def downgrade_list(customers: pd.DataFrame, lang: str, *, top_n: int | None = None) -> pd.DataFrame:
    """High-value customers with a downgrade warning, largest trailing-year amount first."""
    c = customers[customers["downgrade_warning"].fillna(False).astype(bool)]
    c = c.sort_values("amount_12m", ascending=False)
    if top_n is not None:
        c = c.head(top_n)
    out = _id_name(c, lang)
    amt = _t(lang, "近12个月金额", "12-month amount")
    out[amt] = c["amount_12m"].to_numpy()
    out[_t(lang, "最近采购", "Last purchase")] = c["last_purchase"].dt.strftime("%Y-%m-%d").to_numpy()
    mon = _t(lang, "未采购月数", "Months without purchase")
    out[mon] = c["months_since_last"].to_numpy()
    rate = _t(lang, "投诉率（每单）", "Complaints per order")
    out[rate] = c["complaint_rate"].to_numpy()
    out[_t(lang, "预警原因", "Reason")] = [_reasons(r, "downgrade_reason", lang) for r in c["downgrade_reason"]]
    out = out.reset_index(drop=True)
    return _with_formats(out, money=[amt], decimals={mon: 1, rate: 2})


def flags_table(customers: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Customers per special flag, with their trailing-year amount."""
    flags = customers["special_flags"].astype("str").fillna("")
    rows = []
    for key in ("strategic_partner", "overdue_payment", "churn_warning"):
        on = flags.str.split(";").map(lambda parts, k=key: k in parts)
        rows.append((label("special_flag", key, lang), int(on.sum()),
                     float(customers.loc[on.to_numpy(), "amount_12m"].sum())))
    n, a = _t(lang, "客户数", "Customers"), _t(lang, "近12个月金额", "12-month amount")
    out = pd.DataFrame(rows, columns=[_t(lang, "标记", "Flag"), n, a])
    return _with_formats(out, money=[a], ints=[n])


def _reasons(value: object, vocabulary: str, lang: str) -> str:
    if not isinstance(value, str) or not value:
        return "–"
    sep = "；" if lang == "zh" else "; "
    return sep.join(label(vocabulary, k, lang) for k in value.split(";"))


# --------------------------------------------------------------------------------------
# Plots (ax=None, return the Axes, never show or save)
# --------------------------------------------------------------------------------------


def _short_money(x: float, symbol: str = "") -> str:
    if not np.isfinite(x):
        return ""
    a = abs(x)
    if a >= 1e6:
        return f"{symbol}{x / 1e6:.1f}M"
    if a >= 1e3:
        return f"{symbol}{x / 1e3:.0f}K"
    return f"{symbol}{x:.0f}"


def plot_rf_heatmap(
    customers: pd.DataFrame,
    *,
    value_col: str = "revenue_total",
    bins: int = 5,
    ax=None,
    title: str | None = None,
    xlabel: str = "F",
    ylabel: str = "R",
    cbar_label: str = "",
    currency: str = "",
):
    """Heatmap of the mean ``value_col`` per R x F cell (R = 5 on top), cells annotated."""
    import seaborn as sns

    from kit.present.plotting import new_ax

    ax = new_ax(ax, figsize=(7.0, 5.0))
    m = rf_matrix(customers, value_col, bins)
    annot = m.map(lambda v: _short_money(v, currency) if pd.notna(v) else "")
    from kit.present.plotting import money_formatter

    sns.heatmap(m, annot=annot.to_numpy(), fmt="", cmap="Blues", ax=ax, linewidths=0.5,
                cbar_kws={"label": cbar_label, "format": money_formatter(currency)}, mask=m.isna())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="y", rotation=0)
    if title:
        ax.set_title(title, fontweight="normal")  # the bundled CJK font has no bold weight
    return ax


def plot_quadrant(
    customers: pd.DataFrame,
    *,
    value_threshold: float = 50,
    potential_threshold: float = 50,
    lang: str = "zh",
    max_points: int = 20_000,
    seed: int = 0,
    ax=None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
):
    """Value (x) against potential (y), coloured by quadrant, with the two threshold lines.

    Above ``max_points`` customers a seeded random sample is drawn, and the plot says so.
    """
    from kit.present.plotting import PALETTE, new_ax

    ax = new_ax(ax, figsize=(7.5, 6.0))
    data = customers[["value_score", "potential_score", "quadrant"]]
    n = len(data)
    if n > max_points:
        data = data.sample(max_points, random_state=seed)
    colors = dict(zip(QUADRANTS, [PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[7]]))
    size = 18 if len(data) <= 2000 else 6
    alpha = 0.8 if len(data) <= 2000 else 0.35
    counts = customers["quadrant"].value_counts()
    for q in QUADRANTS:
        d = data[data["quadrant"] == q]
        if len(d):
            ax.scatter(d["value_score"], d["potential_score"], s=size, alpha=alpha, color=colors[q],
                       label=f"{label('quadrant', q, lang)} ({int(counts.get(q, 0)):,})", linewidths=0)
    ax.axvline(value_threshold, color="#444", lw=1, ls="--")
    ax.axhline(potential_threshold, color="#444", lw=1, ls="--")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    corners = {"star": (98, 98, "right", "top"), "cash_cow": (98, 2, "right", "bottom"),
               "potential": (2, 98, "left", "top"), "eliminate": (2, 2, "left", "bottom")}
    for q, (x, y, ha, va) in corners.items():
        ax.text(x, y, label("quadrant", q, lang), ha=ha, va=va, fontsize=11, color=colors[q], alpha=0.95)
    ax.set_xlabel(xlabel or _t(lang, f"当前价值得分（阈值 {value_threshold:g}）",
                               f"Current value score (threshold {value_threshold:g})"))
    ax.set_ylabel(ylabel or _t(lang, f"未来潜力得分（阈值 {potential_threshold:g}）",
                               f"Future potential score (threshold {potential_threshold:g})"))
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, fontsize=9, frameon=False,
                       markerscale=1.5)
    for handle in legend.legend_handles:
        handle.set_alpha(1)
    if n > max_points:
        ax.text(0.5, -0.19, _t(lang, f"随机抽样显示 {max_points:,} / {n:,} 个客户",
                               f"random sample of {max_points:,} of {n:,} customers"),
                transform=ax.transAxes, ha="center", va="top", fontsize=9, color="#555")
    if title:
        ax.set_title(title, fontweight="normal")  # the bundled CJK font has no bold weight
    return ax


def plot_migration(
    matrix: pd.DataFrame,
    *,
    ax=None,
    title: str | None = None,
    money: bool = False,
    currency: str = "",
):
    """Heatmap of a :func:`migration_matrix` (rows: previous period, columns: this one)."""
    import seaborn as sns

    from kit.present.plotting import new_ax

    ax = new_ax(ax, figsize=(6.5, 4.5))
    if money:
        annot = matrix.map(lambda v: _short_money(v, currency)).to_numpy()
    else:
        annot = matrix.map(lambda v: f"{int(v):,}").to_numpy()
    sns.heatmap(matrix.astype(float), annot=annot, fmt="", cmap="Oranges", ax=ax, linewidths=0.5, cbar=False)
    ax.set_xlabel(matrix.columns.name or "")
    ax.set_ylabel(matrix.index.name or "")
    ax.tick_params(axis="y", rotation=0)
    if title:
        ax.set_title(title, fontweight="normal")  # the bundled CJK font has no bold weight
    return ax
