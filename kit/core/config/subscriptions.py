"""Subscription customers (DOMAIN.md section 6, issue 13): the health score, the renewal
pipeline and its playbook, the template's demand tags, the contractual retention model.

Defaults live in ``kit/core/defaults/subscriptions.yml``. The seeds give no formula: every
weight, bound, band, window and keyword here is the kit's documented choice, tuned per
client in the YAML.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from kit.core.config.base import Defaulted, Strict, Text, deep_merge, default

#: The health components (template step 1: behaviour, feedback and cooperation data).
HealthComponent = Literal[
    "activity", "usage_depth", "response_speed", "satisfaction", "complaints", "payment", "purchase_trend",
]
#: Health bands, best first; ``unknown``: no score (outside the scope or too little data).
HealthBand = Literal["healthy", "watch", "at_risk", "unknown"]
#: The template's demand tags (新需求摸索型 / 产品优化型 / 续约维护型).
DemandTag = Literal["exploring", "optimisation", "renewal_maintenance"]


# --------------------------------------------------------------------------------------
# Health score
# --------------------------------------------------------------------------------------


class Scale(Strict):
    """How one component's raw value becomes a 0-100 sub-score.

    ``linear``: 100 at ``good``, 0 at ``bad``, straight in between and clipped outside; ``good``
    below ``bad`` means "less is better" (response hours, complaints). ``percentile``: the
    mid-rank percentile among the scored customers x 100 (ties share a value; a relative
    scale, for raw values whose size depends on the client, like login counts).
    """

    method: Literal["linear", "percentile"]
    good: float | None = Field(None, description="raw value that scores 100 (linear)")
    bad: float | None = Field(None, description="raw value that scores 0 (linear)")

    @model_validator(mode="after")
    def _bounds(self) -> "Scale":
        if self.method == "linear":
            if self.good is None or self.bad is None:
                raise ValueError("a linear scale needs both good and bad")
            if self.good == self.bad:
                raise ValueError("good and bad must differ")
        return self


class HealthScaling(Defaulted):
    """One :class:`Scale` per component (a client may override one and keep the others)."""

    defaults_at = "subscriptions.health.scaling"

    activity: Scale = Field(description="logins + inquiries + purchases in the window")
    usage_depth: Scale = Field(description="mean feature coverage 0-1 in the window")
    response_speed: Scale = Field(description="mean first-response hours in the window")
    satisfaction: Scale = Field(description="mean interaction score (survey / NPS) 0-100 in the window")
    complaints: Scale = Field(description="complaints logged in the window")
    payment: Scale = Field(description="1 when the customer has an overdue payment (spine special flag), else 0")
    purchase_trend: Scale = Field(description="purchase growth, trailing 12 months vs the 12 before")


class HealthBands(Defaulted):
    """Score >= healthy: healthy; >= watch: watch; else at risk (both bounds inclusive)."""

    defaults_at = "subscriptions.health.bands"

    healthy: float = Field(ge=0, le=100)
    watch: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> "HealthBands":
        if not self.watch < self.healthy:
            raise ValueError("bands out of order: watch must be below healthy")
        return self


class Health(Defaulted):
    defaults_at = "subscriptions.health"

    weights: dict[HealthComponent, float] = Field(
        description="weight per component; renormalised over the components the data have "
        "(a component left out or at 0 is not used)",
    )
    window_months: int = Field(
        ge=3, le=12, description="activity, usage, satisfaction and complaints of the last N months "
        "(a multiple of 3: purchases come from the spine's quarterly order counts)",
    )
    scaling: HealthScaling
    bands: HealthBands
    activity_interaction_types: list[str] = Field(
        description="interaction types that count as activity (login counts only when the usage "
        "table has no logins)",
    )
    complaint_types: list[str] = Field(description="interaction types counted as complaints")
    scope: Literal["contracts", "all"] = Field(
        description="contracts: score the customers with a contract (subscriptions table or master "
        "contract_end_date) and leave the section out, with a note, when the data hold none; all: "
        "score every customer of the spine when the data hold no contract",
    )
    min_coverage: float = Field(
        ge=0, le=1, description="a customer whose components with data carry less than this share "
        "of the used weight gets no score",
    )

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()):
            raise ValueError("weights must be >= 0")
        if sum(v.values()) <= 0:
            raise ValueError("at least one weight must be above 0")
        return v

    @field_validator("window_months")
    @classmethod
    def _quarters(cls, v: int) -> int:
        if v % 3:
            raise ValueError("window_months must be a multiple of 3 (3, 6, 9 or 12)")
        return v


# --------------------------------------------------------------------------------------
# Renewal pipeline
# --------------------------------------------------------------------------------------


class WindowPlay(Strict):
    """Actions of a band for contracts in one window (overrides the band's default)."""

    window: int = Field(ge=1, description="one of renewal.windows_days")
    actions: list[str]


class BandPlay(Strict):
    actions: list[str] = Field(description="action keys (renewal.actions) for this band")
    by_window: list[WindowPlay] = Field(default_factory=list)


class Renewal(Defaulted):
    defaults_at = "subscriptions.renewal"

    windows_days: list[int] = Field(
        description="window edges in days after as_of (ascending): a contract ending after "
        "as_of and at most N days later is in window N (its smallest)",
    )
    exclude_statuses: list[str] = Field(description="contract statuses never up for renewal")
    actions: dict[str, Text] = Field(description="action key -> words")
    playbook: dict[HealthBand, BandPlay]

    @field_validator("actions", "playbook", mode="before")
    @classmethod
    def _merge_defaults(cls, v: Any, info: ValidationInfo) -> Any:
        """A client config adds actions and overrides single cells of the playbook; the rest
        keeps the defaults."""
        if not isinstance(v, dict):
            return v
        merged: dict[str, Any] = default(f"subscriptions.renewal.{info.field_name}")
        for key, cell in v.items():
            if isinstance(cell, dict) and isinstance(merged.get(key), dict):
                merged[key] = deep_merge(merged[key], cell)
            else:
                merged[key] = cell
        return merged

    @field_validator("windows_days")
    @classmethod
    def _ascending(cls, v: list[int]) -> list[int]:
        if not v or any(d < 1 for d in v) or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("windows_days must be positive and strictly ascending")
        return v

    @model_validator(mode="after")
    def _playbook(self) -> "Renewal":
        missing = {"healthy", "watch", "at_risk", "unknown"} - set(self.playbook)
        if missing:
            raise ValueError(f"playbook lacks the band(s) {', '.join(sorted(missing))}")
        for band, play in self.playbook.items():
            keys = list(play.actions) + [k for w in play.by_window for k in w.actions]
            unknown = [k for k in keys if k not in self.actions]
            if unknown:
                raise ValueError(f"playbook.{band}: unknown action(s) {', '.join(unknown)} (not in actions)")
            wins = [w.window for w in play.by_window]
            if set(wins) - set(self.windows_days) or len(set(wins)) != len(wins):
                raise ValueError(f"playbook.{band}.by_window: each window once, one of windows_days")
        return self


# --------------------------------------------------------------------------------------
# Demand tags of the template
# --------------------------------------------------------------------------------------


class DemandRule(Strict):
    """A tag applies when any of its criteria holds."""

    keywords: list[str] = Field(description="words matched (substring, any case) in interaction keywords / text")
    usage_trend_min: float | None = Field(None, description="usage trend >= this (0.2 = +20 %)")
    usage_trend_max: float | None = Field(None, description="usage trend <= this (-0.2 = -20 %)")
    contract_end_within_days: int | None = Field(
        None, ge=1, description="a contract ends after as_of and at most this many days later",
    )


class DemandRules(Defaulted):
    defaults_at = "subscriptions.demand_tags.rules"

    exploring: DemandRule
    optimisation: DemandRule
    renewal_maintenance: DemandRule


class DemandTags(Defaulted):
    defaults_at = "subscriptions.demand_tags"

    rules: DemandRules
    precedence: list[DemandTag] = Field(description="the one tag shown when several apply: first wins")
    window_months: int = Field(ge=1, description="interactions of the last N months are read")
    trend_months: int = Field(ge=1, description="usage trend: mean of the last N months vs the N before")
    trend_metrics: list[Literal["active_users", "logins", "feature_coverage"]] = Field(
        description="usage column of the trend: the first with data",
    )

    @field_validator("precedence")
    @classmethod
    def _all_tags(cls, v: list[str]) -> list[str]:
        if sorted(v) != sorted(["exploring", "optimisation", "renewal_maintenance"]):
            raise ValueError("precedence lists each of exploring, optimisation, renewal_maintenance once")
        return v


# --------------------------------------------------------------------------------------
# Contractual retention (shifted-beta-geometric, Fader & Hardie 2007)
# --------------------------------------------------------------------------------------


class Retention(Defaulted):
    """The contractual retention model (sBG, kit.stages.clv.sbg_history.retention_model); its
    discount rate is the CLV's (``clv.discount_rate_monthly``), compounded per period."""

    defaults_at = "subscriptions.retention"

    grace_days: int = Field(
        ge=0, description="a contract starting at most this many days after another's end renews it "
        "(when renewed_from is empty); a contract ended within it is a renewal still pending",
    )
    cohort_freq: Literal["year", "quarter", "month"] = Field(description="signing cohorts: by year, quarter or month")
    period_months: int = Field(ge=1, le=36, description="months of one renewal period of the model")
    min_cohort_size: int = Field(ge=1, description="signing cohorts with fewer contracts are not fitted")
    holdout_periods: int = Field(ge=1, description="last observed periods kept out of a second fit for the check")
    horizon_periods: int = Field(ge=1, description="periods the retention curves are projected to")


# --------------------------------------------------------------------------------------
# Section
# --------------------------------------------------------------------------------------


class Subscriptions(Defaulted):
    defaults_at = "subscriptions"

    health: Health
    renewal: Renewal
    demand_tags: DemandTags
    retention: Retention

