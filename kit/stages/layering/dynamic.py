"""The quarterly dynamic adjustment (guide 2.3): upgrade triggers, downgrade warnings,
special flags, tier migration and its matrix."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kit.core.config import Dynamic
from kit.core.periods import local_days
from kit.stages.features import months_back
from kit.stages.layering.common import (
    DEFAULT_OVERDUE_STATUSES,
    QUADRANTS,
    TIER_RANK,
    TIERS,
    _bool_flag,
    _keyword_hits,
    _master_col,
    _master_frame,
)


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
    day = local_days(transactions["order_date"])
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


#: Per kind of migration: (previous column, current column, keys in display order).
MIGRATION_KINDS = {
    "value_tier": ("value_tier_prev", "value_tier", TIERS),
    "quadrant": ("quadrant_prev", "quadrant", QUADRANTS),
}


def migration_counts(customers: pd.DataFrame, value: str = "count", *, by: str = "value_tier") -> pd.DataFrame:
    """Customers (or amounts) from last period's class (rows) to this period's (columns).

    The one count of the migration matrix: the 02 page and the index page both label it.

    Parameters
    ----------
    customers : DataFrame
        The spine with ``<by>_prev``, ``<by>`` and (normally) ``tier_change``.
    value : str
        ``count``, ``amount_12m`` (this period's trailing-year amount) or
        ``amount_12m_prev`` (the previous one's: the revenue a lost customer took away).
    by : {"value_tier", "quadrant"}
        The classes compared.

    Returns
    -------
    DataFrame
        Rows: the previous classes (``high, medium, low`` for tiers) and ``new``
        (``tier_change == "new"``, or no previous class); columns: this period's classes
        and ``lost`` (``tier_change == "lost"``). int64 counts or float amounts; keys, not
        labels.
    """
    prev_col, cur_col, keys = MIGRATION_KINDS[by]
    row = customers[prev_col].astype("str")
    col = customers[cur_col].astype("str")
    if "tier_change" in customers.columns:
        change = customers["tier_change"].astype("str")
        row = row.where(change != "new", "new")
        col = col.where(change != "lost", "lost")
    row = row.fillna("new")
    rows, cols = [*keys, "new"], [*keys, "lost"]
    frame = pd.DataFrame({"r": row, "c": col})
    if value == "count":
        m = frame.groupby(["r", "c"]).size()
    else:
        m = frame.assign(v=customers[value].astype(float).fillna(0.0)).groupby(["r", "c"])["v"].sum()
    m = m.unstack("c").reindex(index=rows, columns=cols).fillna(0)
    m = m.astype("int64") if value == "count" else m.astype(float)
    m.index.name, m.columns.name = "previous", "current"
    return m
