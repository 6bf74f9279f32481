"""Layering (DOMAIN.md section 2): RFM and its named segments, value tiers, ABC classes,
the value x potential quadrant, churn risk, the dynamic review and the 3-D model."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kit.core.config.base import Defaulted, Text, weights_sum_to_one


class RfmSegmentRule(Defaulted):
    """A named segment: first rule whose score ranges all contain the customer wins."""

    defaults_at = "entries.rfm_segment"

    name: str
    label: Text
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]
    fm: tuple[float, float] | None = Field(description="range of (F + M) / 2, optional")

    @field_validator("r", "f", "m")
    @classmethod
    def _score_range(cls, v: tuple[int, int]) -> tuple[int, int]:
        lo, hi = v
        if not (1 <= lo <= hi <= 5):
            raise ValueError("a score range is [low, high] with 1 <= low <= high <= 5")
        return v


class Rfm(Defaulted):
    defaults_at = "layering.rfm"

    bins: int = Field(ge=2, le=10, description="scores 1..bins by quantile, bins best")
    window_months: int | None = Field(
        ge=1, description="only orders of the last N months count for F and M; None: all"
    )
    segments: list[RfmSegmentRule]
    rfm8_threshold: Literal["mean", "median"] = Field(
        description="8-class model: R/F/M high or low against the mean (or median)"
    )


class ValueTiers(Defaulted):
    """Template: high >= 500,000 a year; medium 100,000-500,000; low < 100,000."""

    defaults_at = "layering.value_tiers"

    high_min: float = Field(gt=0)
    medium_min: float = Field(gt=0)
    window_months: int = Field(ge=1, description="trailing window for the annual amount")

    @model_validator(mode="after")
    def _ordered(self) -> "ValueTiers":
        if self.medium_min >= self.high_min:
            raise ValueError("medium_min must be below high_min")
        return self


class AbcClasses(Defaulted):
    """Guide's B2B case: A > 5,000,000 a year and industry leader; B 1,000,000-5,000,000
    and expanding; C < 1,000,000."""

    defaults_at = "layering.abc"

    a_min: float = Field(gt=0)
    b_min: float = Field(gt=0)
    a_requires_leader: bool
    b_requires_expanding: bool

    @model_validator(mode="after")
    def _ordered(self) -> "AbcClasses":
        if self.b_min >= self.a_min:
            raise ValueError("b_min must be below a_min")
        return self


class Quadrant(Defaulted):
    """Value x potential (template step 2)."""

    defaults_at = "layering.quadrant"

    value_weights: dict[Literal["amount_12m", "profit", "avg_order_value"], float]
    potential_weights: dict[
        Literal["industry_growth", "size_expansion", "cooperation_depth", "referral"], float
    ]
    value_threshold: float = Field(ge=0, le=100, description="value_score >= this is high X")
    potential_threshold: float = Field(ge=0, le=100, description="potential_score >= this is high Y")
    scoring: Literal["percentile", "minmax"] = Field(
        description="how each indicator is put on 0-100 before weighting"
    )
    industry_growth: dict[str, float] = Field(
        description="industry -> growth outlook 0-100, used when the master has no industry_growth",
    )

    @field_validator("value_weights", "potential_weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        return weights_sum_to_one(v)


class Churn(Defaulted):
    """Template: high = no purchase for 3 months or satisfaction < 40; medium = 1-2 months."""

    defaults_at = "layering.churn"

    high_months: float = Field(gt=0)
    medium_months: float = Field(gt=0)
    satisfaction_high_risk: float = Field(ge=0, le=100)
    satisfaction_window_months: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> "Churn":
        if self.medium_months >= self.high_months:
            raise ValueError("medium_months must be below high_months")
        return self


class Dynamic(Defaulted):
    """Guide 2.3: quarterly review of tiers."""

    defaults_at = "layering.dynamic"

    upgrade_growth: float = Field(gt=0, description="quarter-on-quarter growth, 0.2 = 20 %")
    upgrade_quarters: int = Field(ge=1, description="consecutive quarters of that growth")
    upgrade_on_new_category: bool
    downgrade_inactive_months: float = Field(gt=0)
    complaint_rate_factor: float = Field(
        gt=0, description="warn when complaint rate > factor x the base average"
    )
    overdue_days_risk: float = Field(ge=0, description="days overdue that mark a risk customer")
    overdue_statuses: list[str] = Field(
        description="payment_status words (substring) that mean an overdue payment"
    )
    complaint_window_months: int = Field(ge=1, description="window for complaint rates and overdue orders")


class ThreeD(Defaulted):
    """Guide 2.1's value / demand / potential model: how demand and potential types are read."""

    defaults_at = "layering.three_d"

    demand_keywords: dict[Literal["solution", "service", "price_sensitive"], list[str]] = Field(
        description="demand type -> words matched in interaction keywords/text and category names",
    )
    role_demand: dict[str, Literal["solution", "service", "price_sensitive"]] = Field(
        description="decision role (personas.decision_roles keys) -> demand type",
    )
    growth_stages: dict[str, Literal["to_activate", "high_growth", "stable"]] = Field(
        description="growth stage -> potential type (also decides 'expanding' for class B)",
    )
    high_growth_min: float = Field(gt=0, description="yearly growth that counts as high-growth "
                                   "when the master is silent")


class Layering(Defaulted):
    defaults_at = "layering"

    rfm: Rfm
    value_tiers: ValueTiers
    abc: AbcClasses
    quadrant: Quadrant
    churn: Churn
    dynamic: Dynamic
    three_d: ThreeD
    concentration_warning_share: float = Field(
        gt=0.5, le=1, description="warn when one class of a rule (value tier, A/B/C, quadrant, "
        "churn risk) holds at least this share of the customers",
    )


#: The brief's named RFM segments, in the order they are tried.
DEFAULT_RFM_SEGMENTS: list[RfmSegmentRule] = Rfm().segments
