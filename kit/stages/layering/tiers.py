"""Value tiers (high / medium / low) and the guide's B2B A/B/C classes."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kit.core.config import AbcClasses, ValueTiers
from kit.stages.layering.common import (
    DEFAULT_GROWTH_STAGES,
    _bool_flag,
    _master_col,
    _master_frame,
    _truthy_text,
)


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
