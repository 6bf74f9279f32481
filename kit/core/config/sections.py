"""Personas, lifetime value, strategy, report and engine (DOMAIN.md sections 3-5)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kit.core.config.base import Defaulted, Strict, Text, deep_merge, default, weights_sum_to_one

# --------------------------------------------------------------------------------------
# Personas (DOMAIN.md section 3)
# --------------------------------------------------------------------------------------


class PainPoint(Strict):
    family: Literal["core_pain", "hidden_need", "decision_concern"]
    label: Text
    keywords: list[str]


class Personas(Defaulted):
    defaults_at = "personas"

    tag_weights: dict[str, float] = Field(
        description="weight per tag family (brief's example: industry 30 %, pain point 40 %)",
    )
    size_bins: list[float] = Field(description="employee-count band edges (last is open-ended)")
    recent_days: int = Field(ge=1, description="dynamic tag: purchases in the last N days")
    channel_mixed_share: float = Field(
        gt=0, le=1, description="channel preference is 'mixed' when the top channel is below this share"
    )
    top_keywords: int = Field(ge=1)
    pain_points: list[PainPoint]
    decision_roles: dict[str, list[str]]
    size_by: Literal["employees", "annual_revenue"] = Field(description="column the size band is cut from")
    revenue_bins: list[float] | None = Field(description="band edges when size_by is annual_revenue")
    top_categories: int = Field(ge=1, description="categories kept in the category tag")
    interaction_window_days: int | None = Field(
        ge=1, description="interactions that feed keywords and pain points; None: all history"
    )
    k_min: int = Field(ge=2)
    k_max: int = Field(ge=2)
    seed: int
    fit_sample: int = Field(ge=100, description="customers sampled (seeded) to fit k-means")
    silhouette_sample: int = Field(ge=100, description="customers sampled for silhouette scores")
    n_init: int = Field(ge=1, description="k-means restarts")

    @field_validator("tag_weights")
    @classmethod
    def _tw(cls, v: dict[str, float]) -> dict[str, float]:
        return weights_sum_to_one(v)

    @model_validator(mode="after")
    def _k_range(self) -> "Personas":
        if self.k_min > self.k_max:
            raise ValueError("k_min must be <= k_max")
        return self


# --------------------------------------------------------------------------------------
# Lifetime value (DOMAIN.md section 4)
# --------------------------------------------------------------------------------------


class Clv(Defaulted):
    defaults_at = "clv"

    time_unit: Literal["day", "week", "month"] = Field(description="model time unit")
    model: Literal["auto", "bgnbd", "mbgnbd", "pareto_nbd"] = Field(
        description="purchase-count model; auto: the lowest per-customer holdout MAE of the three",
    )
    holdout_days: int = Field(ge=1, description="holdout length for validation (CDNOW: 39 weeks)")
    horizon_months: int = Field(ge=1, description="expected purchases and CLV horizon H")
    discount_rate_monthly: float = Field(ge=0, lt=1)
    margin: float = Field(gt=0, le=1, description="profit margin when orders carry none")
    use_order_margin: bool = Field(description="use the data's margin when present")
    penalizer: float = Field(ge=0, description="first fit's penalizer")
    retry_penalizer: float = Field(ge=0, description="penalizer of the retry on failure")
    max_param: float = Field(gt=0, description="a parameter above this is implausible")
    corr_warn: float = Field(ge=0, le=1, description="warn when |corr(frequency, spend)| exceeds")
    min_repeat_customers: int = Field(ge=1, description="below this, Gamma-Gamma is not fitted")
    periods_per_month: float | None = Field(
        gt=0, description="model time units per month for the CLV horizon; None: lifetimes' "
        "(4.345 weeks, 30 days, 1 month), so CLV equals lifetimes' customer_lifetime_value",
    )
    min_calibration_days: int | None = Field(
        ge=1, description="shortest calibration period for the holdout validation; None: holdout_days",
    )
    max_frequency_bin: int = Field(ge=1, description="calibration frequencies >= this are pooled ('7+')")
    one_time_share_warn: float = Field(
        ge=0, le=1, description="note when more than this share of customers never bought again",
    )
    min_calibration_cycles: float = Field(
        gt=0, description="note when the calibration period is shorter than this many median purchase cycles",
    )
    interval_level: float = Field(gt=0, lt=1, description="coverage of the intervals (0.9: the 5th to 95th percentile)")
    interval_draws: int = Field(ge=20, description="parameter draws behind the intervals")
    interval_seed: int = Field(ge=0, description="seed of the parameter draws (reproducible intervals)")


# --------------------------------------------------------------------------------------
# Strategy (DOMAIN.md section 5)
# --------------------------------------------------------------------------------------


class Play(Defaulted):
    defaults_at = "entries.play"

    goal: Text
    actions: list[Text]
    resources: Text
    cadence_days: int = Field(ge=1, description="days between follow-ups")
    response_hours: int | None = Field(ge=1)
    yearly_cost: float = Field(ge=0, description="maintenance cost per customer per year")


class Touchpoint(Strict):
    key: str
    label: Text
    days_after_first_order: float = Field(ge=0)
    interaction_types: list[str] = Field(description="logged interaction types that mark it done")


class Strategy(Defaulted):
    defaults_at = "strategy"

    playbook: dict[Literal["star", "cash_cow", "potential", "eliminate"], Play]
    touchpoints: list[Touchpoint]
    unassigned_owner: Text
    priority_churn_weight: float = Field(
        ge=0, le=1, description="priority = (1-w) * CLV rank + w * churn risk score"
    )
    churn_scores: dict[Literal["high", "medium", "low"], float] = Field(
        description="churn risk label -> 0-1 score used in the priority",
    )
    priority_uses_health: bool = Field(
        description="for a customer with a health score (subscriptions.health), the churn side of the "
        "priority is the larger of the churn-risk score and 1 - health / 100",
    )
    contact_types: list[str] = Field(
        description="interaction types that count as a contact for the next follow-up date",
    )
    risk_flags: list[str] = Field(description="special flags that add the risk-customer action")
    activation_grace_days: int = Field(ge=0, description="days a touchpoint may be late and still count as done")

    @field_validator("playbook", mode="before")
    @classmethod
    def _merge_playbook(cls, v: Any) -> Any:
        """A client config overrides single cells; the rest keeps the brief's defaults."""
        if not isinstance(v, dict):
            return v
        merged: dict[str, Any] = default("strategy.playbook")
        for quadrant, cells in v.items():
            if quadrant in merged and isinstance(cells, dict):
                merged[quadrant] = deep_merge(merged[quadrant], cells)
            else:
                merged[quadrant] = cells
        return merged


# --------------------------------------------------------------------------------------
# Report, engine
# --------------------------------------------------------------------------------------


class Report(Defaulted):
    defaults_at = "report"

    mask_pii: bool
    top_n: int = Field(ge=1, description="rows in top-N tables")
    sample_rows: int = Field(ge=1, description="example rows per quarantine reason / persona")
    max_plot_points: int = Field(ge=100, description="scatter plots sample above this")
    interactive_rows: int = Field(
        ge=1, description="HTML tables showing more rows than this are sortable and filterable"
    )
    index_top_actions: int = Field(ge=1, description="rows of 'top actions' on the index page")
    excel_max_rows: int = Field(
        ge=1, le=1_048_575,
        description="customers in deliverables.xlsx (first by priority); the CSVs hold every customer",
    )
    currency: str
    stale_after_days: int = Field(
        ge=1, description="warn (index page, progress) when as_of is more than this many days after the last order"
    )
    languages: list[Literal["zh", "en"]] = Field(
        min_length=1, description="the languages every run builds from one computation; the config's `language` "
        "comes first and keeps the plain page names (index.html), another's carry it (index.en.html)",
    )

    @field_validator("languages")
    @classmethod
    def _distinct_languages(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"a language is listed twice: {v}")
        return v


class Engine(Defaulted):
    defaults_at = "engine"

    name: Literal["pandas", "duckdb", "spark"]
    duckdb_min_bytes: int = Field(
        ge=0, description="orders files larger than this are read by DuckDB even under 'pandas' "
        "(the cleaning SQL is the same whichever reader reads)"
    )
    spark_master: str
    memory_limit: str | None = Field(
        description="DuckDB's memory limit (4GB, 512MB, 3.5GiB, 50%); beyond it DuckDB spills to "
        "temp_directory instead of failing. None: DuckDB's default (80 % of the machine's memory)",
    )
    temp_directory: str | None = Field(
        description="folder DuckDB spills to; relative paths are taken from the run folder. None: "
        "<run folder>/work/duckdb_tmp when kit runs the engine, else DuckDB's default",
    )
    spark_stage: str | None = Field(
        description="folder the kit and Spark share under engine.name spark: the orders go there as "
        "Parquet for Spark to clean and the clean rows come back through it. Relative paths are taken "
        "from the run folder; None: <run folder>/work/spark. On a cluster: a mount every executor reads",
    )

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, v: str | None) -> str | None:
        if v is None:
            return v
        text = v.strip()
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%|[KMGT]i?B|[KMGT])", text, flags=re.IGNORECASE)
        if m is None or float(m.group(1)) <= 0 or (m.group(2) == "%" and float(m.group(1)) > 100):
            raise ValueError(f"memory_limit must be a size such as 4GB, 512MB, 3.5GiB or a share "
                             f"of the memory such as 50% (got {v!r})")
        return text

    @field_validator("temp_directory", "spark_stage")
    @classmethod
    def _folder(cls, v: str | None, info) -> str | None:
        if v is None:
            return v
        if not v.strip() or "\0" in v:
            raise ValueError(f"{info.field_name} must be a folder path (got {v!r})")
        p = Path(v).expanduser()
        if p.is_absolute() and p.exists() and not p.is_dir():  # a relative one is checked in the run folder
            raise ValueError(f"{info.field_name} {v!r} exists and is not a folder")
        return v


#: The brief's defaults as model instances (read from kit/core/defaults/*.yml).
DEFAULT_PAIN_POINTS: list[PainPoint] = Personas().pain_points
DEFAULT_PLAYBOOK: dict[str, Play] = Strategy().playbook
DEFAULT_TOUCHPOINTS: list[Touchpoint] = Strategy().touchpoints
