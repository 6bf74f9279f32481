"""Typed, validated run configuration.

One YAML file per client or run (``configs/demo.yml``). Every threshold, weight and
window of the domain brief (``shared/DOMAIN.md``) is a field here with the brief's
default, so a consultant tunes a client in YAML and never in code.

``load_config(path)`` merges the file over these defaults and validates it. An unknown
key, a wrong type or an out-of-range value raises :class:`ConfigError`, whose message
names the file, the key path and what is allowed.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kit.core import paths

Lang = Literal["zh", "en"]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says where and why."""


class Strict(BaseModel):
    """Base: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Text(Strict):
    """A label in both report languages."""

    zh: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


# --------------------------------------------------------------------------------------
# Inputs (DOMAIN.md section 1)
# --------------------------------------------------------------------------------------

#: Canonical column names per table. ``required`` must be present after mapping.
CANONICAL_COLUMNS: dict[str, dict[str, list[str]]] = {
    "transactions": {
        "required": ["customer_id", "order_date", "amount"],
        "optional": [
            "order_id", "profit", "margin", "category", "channel", "quantity",
            "status", "payment_status", "days_overdue",
        ],
    },
    "customers": {
        "required": ["customer_id"],
        "optional": [
            "name", "industry", "region", "employees", "annual_revenue", "contact_name",
            "contact_title", "contact_phone", "first_cooperation_date", "contract_end_date",
            "growth_stage", "strategic_partner", "industry_leader", "expansion_plan",
            "industry_growth", "referrals", "account_manager", "updated_at",
        ],
    },
    "interactions": {
        "required": ["customer_id", "date"],
        "optional": ["type", "score", "keywords", "channel", "text", "interaction_id"],
    },
}


class InputTable(Strict):
    """One input file: where it is, how to read it, and how its headers map."""

    path: str = Field(description="file path, relative to the project root or absolute")
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    encoding: str = Field("auto", description="'auto' detects UTF-8 / UTF-8-BOM / GBK / GB18030")
    sheet: str | int = Field(0, description="Excel sheet name or 0-based index")
    header_row: int | None = Field(
        None, ge=0, description="0-based row of the header; None finds it below title rows"
    )
    delimiter: str | None = Field(
        None, description="CSV delimiter (one character, or 'whitespace' for space-aligned text); None sniffs it"
    )

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str | None) -> str | None:
        if v is not None and v != "whitespace" and len(v) != 1:
            raise ValueError("a delimiter is one character (',', ';', '\\t', '|') or 'whitespace'")
        return v
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="canonical name -> source header; unmapped names are matched by synonyms",
    )


class Inputs(Strict):
    transactions: InputTable
    customers: InputTable | None = None
    interactions: InputTable | None = None


# --------------------------------------------------------------------------------------
# Cleaning (DOMAIN.md section 1)
# --------------------------------------------------------------------------------------


class OutlierRule(Strict):
    """Outliers are flagged (``is_outlier``) and kept, never dropped."""

    method: Literal["none", "iqr", "zscore", "quantile"] = "iqr"
    iqr_factor: float = Field(3.0, gt=0, description="flag amount > Q3 + k * IQR (on log amount)")
    zscore: float = Field(4.0, gt=0)
    quantile: float = Field(0.999, gt=0.5, lt=1.0)


class Cleaning(Strict):
    duplicates: Literal["quarantine", "keep"] = "quarantine"
    missing_customer_id: Literal["quarantine"] = "quarantine"
    future_dates: Literal["quarantine", "keep"] = "quarantine"
    zero_amount: Literal["quarantine", "keep"] = "quarantine"
    refunds: Literal["net", "keep", "drop"] = Field(
        "net",
        description="net: subtract from the matching order; keep: keep as return rows "
        "(is_return, never counted as purchases); drop: quarantine them",
    )
    cancelled_statuses: list[str] = ["已取消", "取消", "作废", "cancelled", "canceled", "void"]
    refund_statuses: list[str] = ["退款", "退货", "已退款", "refund", "refunded", "return", "returned"]
    test_account_pattern: str = Field(
        r"(?i)^(test|demo|测试|样例)|测试", description="regex on customer id or name"
    )
    outliers: OutlierRule = OutlierRule()
    interaction_score_scale: Literal["auto", "0-10", "0-100"] = Field(
        "auto", description="auto: a source whose scores are all <= 10 is 0-10 and is x10"
    )
    interaction_types: dict[str, str] = Field(
        default_factory=lambda: {
            "咨询": "inquiry", "询价": "inquiry", "投诉": "complaint", "调研": "survey",
            "满意度调查": "survey", "问卷": "survey", "登录": "login", "拜访": "visit",
            "上门拜访": "visit", "转介绍": "referral", "推荐": "referral", "电话": "call",
            "电话回访": "call",
        },
        description="source interaction type -> canonical type (inquiry, complaint, survey, "
        "login, visit, referral, call); English canonical names pass through",
    )
    master_duplicates: Literal["keep_latest"] = "keep_latest"
    growth_stages: dict[str, str] = Field(
        default_factory=lambda: {
            "初创": "startup", "初创期": "startup", "起步期": "startup", "种子期": "startup",
            "startup": "startup", "start-up": "startup",
            "成长": "growth", "成长期": "growth", "扩张期": "growth", "快速成长期": "growth", "growth": "growth",
            "成熟": "mature", "成熟期": "mature", "稳定期": "mature", "mature": "mature",
        },
        description="master growth-stage value -> startup / growth / mature; unknown values are kept and listed",
    )
    latest_date_min_share: float = Field(
        0.25, gt=0, le=1, description="without as_of: the data ends at the last month with at least this "
        "share of the median monthly order count (sparse future-dated rows do not move it)",
    )
    amount_tolerance: float = Field(0.01, ge=0, description="reconciliation tolerance, currency units")

    @field_validator("test_account_pattern")
    @classmethod
    def _regex_compiles(cls, v: str) -> str:
        import re

        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from e
        return v


# --------------------------------------------------------------------------------------
# Layering (DOMAIN.md section 2)
# --------------------------------------------------------------------------------------


class RfmSegmentRule(Strict):
    """A named segment: first rule whose score ranges all contain the customer wins."""

    name: str
    label: Text
    r: tuple[int, int] = (1, 5)
    f: tuple[int, int] = (1, 5)
    m: tuple[int, int] = (1, 5)
    fm: tuple[float, float] | None = Field(None, description="range of (F + M) / 2, optional")

    @field_validator("r", "f", "m")
    @classmethod
    def _score_range(cls, v: tuple[int, int]) -> tuple[int, int]:
        lo, hi = v
        if not (1 <= lo <= hi <= 5):
            raise ValueError("a score range is [low, high] with 1 <= low <= high <= 5")
        return v


def _t(zh: str, en: str) -> Text:
    return Text(zh=zh, en=en)


DEFAULT_RFM_SEGMENTS = [
    RfmSegmentRule(name="Champions", label=_t("冠军客户", "Champions"), r=(4, 5), fm=(4, 5)),
    RfmSegmentRule(name="Loyal", label=_t("忠诚客户", "Loyal"), r=(3, 5), fm=(3, 5)),
    RfmSegmentRule(name="Can't Lose", label=_t("不能失去", "Can't Lose"), r=(1, 2), fm=(4, 5)),
    RfmSegmentRule(name="At Risk", label=_t("流失风险", "At Risk"), r=(1, 2), fm=(3, 5)),
    RfmSegmentRule(name="Potential Loyalist", label=_t("潜在忠诚", "Potential Loyalist"), r=(4, 5), fm=(2, 3)),
    RfmSegmentRule(name="New", label=_t("新客户", "New"), r=(5, 5), f=(1, 1)),
    RfmSegmentRule(name="Promising", label=_t("有潜力", "Promising"), r=(4, 5), fm=(1, 2)),
    RfmSegmentRule(name="Need Attention", label=_t("需要关注", "Need Attention"), r=(3, 3), fm=(2, 3)),
    RfmSegmentRule(name="About to Sleep", label=_t("即将沉睡", "About to Sleep"), r=(2, 3), fm=(1, 2)),
    RfmSegmentRule(name="Hibernating", label=_t("沉睡客户", "Hibernating"), r=(1, 5), f=(1, 5), m=(1, 5)),
]


class Rfm(Strict):
    bins: int = Field(5, ge=2, le=10, description="scores 1..bins by quantile, bins best")
    window_months: int | None = Field(
        None, ge=1, description="only orders of the last N months count for F and M; None: all"
    )
    segments: list[RfmSegmentRule] = Field(default_factory=lambda: list(DEFAULT_RFM_SEGMENTS))
    rfm8_threshold: Literal["mean", "median"] = Field(
        "mean", description="8-class model: R/F/M high or low against the mean (or median)"
    )


class ValueTiers(Strict):
    """Template: high >= 500,000 a year; medium 100,000-500,000; low < 100,000."""

    high_min: float = Field(500_000, gt=0)
    medium_min: float = Field(100_000, gt=0)
    window_months: int = Field(12, ge=1, description="trailing window for the annual amount")

    @model_validator(mode="after")
    def _ordered(self) -> "ValueTiers":
        if self.medium_min >= self.high_min:
            raise ValueError("medium_min must be below high_min")
        return self


class AbcClasses(Strict):
    """Guide's B2B case: A > 5,000,000 a year and industry leader; B 1,000,000-5,000,000
    and expanding; C < 1,000,000."""

    a_min: float = Field(5_000_000, gt=0)
    b_min: float = Field(1_000_000, gt=0)
    a_requires_leader: bool = True
    b_requires_expanding: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> "AbcClasses":
        if self.b_min >= self.a_min:
            raise ValueError("b_min must be below a_min")
        return self


def _weights_sum_to_one(weights: dict[str, float]) -> dict[str, float]:
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must be >= 0")
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"weights must sum to 1 (they sum to {total:g})")
    return weights


class Quadrant(Strict):
    """Value x potential (template step 2)."""

    value_weights: dict[Literal["amount_12m", "profit", "avg_order_value"], float] = {
        "amount_12m": 0.4,
        "profit": 0.4,
        "avg_order_value": 0.2,
    }
    potential_weights: dict[
        Literal["industry_growth", "size_expansion", "cooperation_depth", "referral"], float
    ] = {
        "industry_growth": 0.3,
        "size_expansion": 0.2,
        "cooperation_depth": 0.3,
        "referral": 0.2,
    }
    value_threshold: float = Field(50, ge=0, le=100, description="value_score >= this is high X")
    potential_threshold: float = Field(50, ge=0, le=100, description="potential_score >= this is high Y")
    scoring: Literal["percentile", "minmax"] = Field(
        "percentile", description="how each indicator is put on 0-100 before weighting"
    )
    industry_growth: dict[str, float] = Field(
        default_factory=dict,
        description="industry -> growth outlook 0-100, used when the master has no industry_growth",
    )

    @field_validator("value_weights", "potential_weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        return _weights_sum_to_one(v)


class Churn(Strict):
    """Template: high = no purchase for 3 months or satisfaction < 40; medium = 1-2 months."""

    high_months: float = Field(3, gt=0)
    medium_months: float = Field(1, gt=0)
    satisfaction_high_risk: float = Field(40, ge=0, le=100)
    satisfaction_window_months: int = Field(6, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> "Churn":
        if self.medium_months >= self.high_months:
            raise ValueError("medium_months must be below high_months")
        return self


class Dynamic(Strict):
    """Guide 2.3: quarterly review of tiers."""

    upgrade_growth: float = Field(0.20, gt=0, description="quarter-on-quarter growth, 0.2 = 20 %")
    upgrade_quarters: int = Field(2, ge=1, description="consecutive quarters of that growth")
    upgrade_on_new_category: bool = True
    downgrade_inactive_months: float = Field(6, gt=0)
    complaint_rate_factor: float = Field(
        1.0, gt=0, description="warn when complaint rate > factor x the base average"
    )
    overdue_days_risk: float = Field(30, ge=0, description="days overdue that mark a risk customer")
    overdue_statuses: list[str] = Field(
        ["逾期", "overdue"], description="payment_status words (substring) that mean an overdue payment"
    )
    complaint_window_months: int = Field(12, ge=1, description="window for complaint rates and overdue orders")


class ThreeD(Strict):
    """Guide 2.1's value / demand / potential model: how demand and potential types are read."""

    demand_keywords: dict[Literal["solution", "service", "price_sensitive"], list[str]] = Field(
        default_factory=lambda: {
            "solution": ["方案", "定制", "新项目", "项目", "集成", "升级", "solution", "custom", "project",
                         "integration", "upgrade"],
            "service": ["售后", "维修", "维保", "运维", "响应", "故障", "停机", "备件", "配件", "保养",
                        "after-sales", "repair", "response", "failure", "downtime", "spare", "maintenance"],
            "price_sensitive": ["价格", "折扣", "报价", "优惠", "便宜", "降价", "price", "discount", "quote",
                                "cheap", "cost"],
        },
        description="demand type -> words matched in interaction keywords/text and category names",
    )
    role_demand: dict[str, Literal["solution", "service", "price_sensitive"]] = Field(
        default_factory=lambda: {"technical": "solution", "executive": "solution",
                                 "procurement": "price_sensitive"},
        description="decision role (personas.decision_roles keys) -> demand type",
    )
    growth_stages: dict[str, Literal["to_activate", "high_growth", "stable"]] = Field(
        default_factory=lambda: {
            "startup": "to_activate", "初创": "to_activate", "初创期": "to_activate",
            "growth": "high_growth", "成长": "high_growth", "成长期": "high_growth", "扩张": "high_growth",
            "扩张期": "high_growth",
            "mature": "stable", "成熟": "stable", "成熟期": "stable",
        },
        description="growth stage -> potential type (also decides 'expanding' for class B)",
    )
    high_growth_min: float = Field(0.20, gt=0, description="yearly growth that counts as high-growth "
                                   "when the master is silent")


class Layering(Strict):
    rfm: Rfm = Rfm()
    value_tiers: ValueTiers = ValueTiers()
    abc: AbcClasses = AbcClasses()
    quadrant: Quadrant = Quadrant()
    churn: Churn = Churn()
    dynamic: Dynamic = Dynamic()
    three_d: ThreeD = ThreeD()


# --------------------------------------------------------------------------------------
# Personas (DOMAIN.md section 3)
# --------------------------------------------------------------------------------------


class PainPoint(Strict):
    family: Literal["core_pain", "hidden_need", "decision_concern"]
    label: Text
    keywords: list[str]


DEFAULT_PAIN_POINTS = [
    PainPoint(family="core_pain", label=_t("关注设备稳定性", "cares about equipment stability"),
              keywords=["停机", "故障", "稳定", "downtime", "failure", "stability"]),
    PainPoint(family="core_pain", label=_t("关注能耗", "cares about energy use"),
              keywords=["能耗", "耗电", "节能", "energy", "power consumption"]),
    PainPoint(family="core_pain", label=_t("关注售后响应", "cares about service response"),
              keywords=["售后", "响应", "维修", "after-sales", "response time", "repair"]),
    PainPoint(family="hidden_need", label=_t("需要数据预测服务", "wants predictive data services"),
              keywords=["预测", "数据", "监控", "predict", "analytics", "monitoring"]),
    PainPoint(family="hidden_need", label=_t("需要培训", "wants training"),
              keywords=["培训", "操作", "教程", "training", "tutorial"]),
    PainPoint(family="decision_concern", label=_t("担心兼容性", "worries about compatibility"),
              keywords=["兼容", "接口", "对接", "compatib", "integration", "interface"]),
    PainPoint(family="decision_concern", label=_t("价格敏感", "price-sensitive"),
              keywords=["价格", "折扣", "报价", "优惠", "price", "discount", "quote"]),
]


class Personas(Strict):
    tag_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "industry": 0.30, "pain_point": 0.40, "region": 0.05, "size": 0.05,
            "decision_role": 0.05, "recent_activity": 0.05, "channel": 0.05, "category": 0.05,
        },
        description="weight per tag family (brief's example: industry 30 %, pain point 40 %)",
    )
    size_bins: list[float] = Field(
        [0, 50, 200, 500, 1000, 5000], description="employee-count band edges (last is open-ended)"
    )
    recent_days: int = Field(90, ge=1, description="dynamic tag: purchases in the last N days")
    channel_mixed_share: float = Field(
        0.6, gt=0, le=1, description="channel preference is 'mixed' when the top channel is below this share"
    )
    top_keywords: int = Field(3, ge=1)
    pain_points: list[PainPoint] = Field(default_factory=lambda: list(DEFAULT_PAIN_POINTS))
    decision_roles: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "technical": ["技术", "工程", "研发", "CTO", "engineer", "technical"],
            "procurement": ["采购", "purchas", "procurement", "buyer"],
            "executive": ["总经理", "董事", "总裁", "CEO", "director", "president", "VP"],
        }
    )
    size_by: Literal["employees", "annual_revenue"] = Field("employees", description="column the size band is cut from")
    revenue_bins: list[float] | None = Field(None, description="band edges when size_by is annual_revenue")
    top_categories: int = Field(3, ge=1, description="categories kept in the category tag")
    interaction_window_days: int | None = Field(
        365, ge=1, description="interactions that feed keywords and pain points; None: all history"
    )
    k_min: int = Field(3, ge=2)
    k_max: int = Field(8, ge=2)
    seed: int = 42
    fit_sample: int = Field(20_000, ge=100, description="customers sampled (seeded) to fit k-means")
    silhouette_sample: int = Field(5_000, ge=100, description="customers sampled for silhouette scores")
    n_init: int = Field(10, ge=1, description="k-means restarts")

    @field_validator("tag_weights")
    @classmethod
    def _tw(cls, v: dict[str, float]) -> dict[str, float]:
        return _weights_sum_to_one(v)

    @model_validator(mode="after")
    def _k_range(self) -> "Personas":
        if self.k_min > self.k_max:
            raise ValueError("k_min must be <= k_max")
        return self


# --------------------------------------------------------------------------------------
# Lifetime value (DOMAIN.md section 4)
# --------------------------------------------------------------------------------------


class Clv(Strict):
    time_unit: Literal["day", "week", "month"] = Field("week", description="model time unit")
    holdout_days: int = Field(273, ge=1, description="holdout length for validation (CDNOW: 39 weeks)")
    horizon_months: int = Field(12, ge=1, description="expected purchases and CLV horizon H")
    discount_rate_monthly: float = Field(0.01, ge=0, lt=1)
    margin: float = Field(0.30, gt=0, le=1, description="profit margin when orders carry none")
    use_order_margin: bool = Field(True, description="use the data's margin when present")
    penalizer: float = Field(0.0, ge=0, description="first fit's penalizer")
    retry_penalizer: float = Field(0.001, ge=0, description="penalizer of the retry on failure")
    max_param: float = Field(1e4, gt=0, description="a parameter above this is implausible")
    corr_warn: float = Field(0.3, ge=0, le=1, description="warn when |corr(frequency, spend)| exceeds")
    min_repeat_customers: int = Field(20, ge=1, description="below this, Gamma-Gamma is not fitted")
    periods_per_month: float | None = Field(
        None, gt=0, description="model time units per month for the CLV horizon; None: lifetimes' "
        "(4.345 weeks, 30 days, 1 month), so CLV equals lifetimes' customer_lifetime_value",
    )
    min_calibration_days: int | None = Field(
        None, ge=1, description="shortest calibration period for the holdout validation; None: holdout_days",
    )
    max_frequency_bin: int = Field(7, ge=1, description="calibration frequencies >= this are pooled ('7+')")


# --------------------------------------------------------------------------------------
# Strategy (DOMAIN.md section 5)
# --------------------------------------------------------------------------------------


class Play(Strict):
    goal: Text
    actions: list[Text]
    resources: Text
    cadence_days: int = Field(ge=1, description="days between follow-ups")
    response_hours: int | None = Field(None, ge=1)
    yearly_cost: float = Field(ge=0, description="maintenance cost per customer per year")


DEFAULT_PLAYBOOK: dict[str, Play] = {
    "star": Play(
        goal=_t("深化战略合作，提升LTV", "deepen the strategic partnership, raise LTV"),
        actions=[
            _t("季度业务回顾会，高层互访", "quarterly business review and executive visits"),
            _t("优先满足定制化需求", "custom needs served first"),
            _t("新产品/服务优先试用", "first to trial new products and services"),
        ],
        resources=_t("专属客户经理+技术支持团队+管理层对接",
                     "dedicated account manager + technical team + management contact"),
        cadence_days=30, response_hours=4, yearly_cost=50_000,
    ),
    "cash_cow": Play(
        goal=_t("稳定合作，防止流失", "keep stable, prevent churn"),
        actions=[
            _t("定期满意度调研，快速响应问题", "regular satisfaction surveys, fast response"),
            _t("推广增值产品/服务", "promote value-added products and services"),
            _t("节日关怀+生日祝福", "holiday and birthday care"),
        ],
        resources=_t("标准客户经理+售后支持团队，响应时效≤24小时",
                     "standard account manager + after-sales; response <= 24 h"),
        cadence_days=45, response_hours=24, yearly_cost=20_000,
    ),
    "potential": Play(
        goal=_t("提升合作规模，转化价值", "grow the account, convert potential into value"),
        actions=[
            _t("行业案例分享，引导需求拓展", "industry case sharing to widen demand"),
            _t("提供免费培训/工具试用", "free training and trial tools"),
            _t("阶段性促销活动", "periodic promotions"),
        ],
        resources=_t("客户经理+市场支持团队，月度跟进频次≥2次",
                     "account manager + marketing; >= 2 follow-ups a month"),
        cadence_days=15, response_hours=48, yearly_cost=10_000,
    ),
    "eliminate": Play(
        goal=_t("控制成本，优化结构", "control cost, improve the portfolio"),
        actions=[
            _t("评估低价值原因（价格/服务/产品适配性）", "find why value is low (price / service / fit)"),
            _t("若无改善，逐步减少资源投入", "reduce investment if nothing changes"),
        ],
        resources=_t("标准化服务流程，自助服务优先，跟进频次≤1次/季度",
                     "standard process, self-service first; <= 1 follow-up a quarter"),
        cadence_days=90, response_hours=None, yearly_cost=1_000,
    ),
}


class Touchpoint(Strict):
    key: str
    label: Text
    days_after_first_order: float = Field(ge=0)
    interaction_types: list[str] = Field(description="logged interaction types that mark it done")


DEFAULT_TOUCHPOINTS = [
    Touchpoint(key="first_contact", label=_t("24小时内首次沟通", "first contact within 24 h"),
               days_after_first_order=1, interaction_types=["visit", "call", "inquiry", "survey"]),
    Touchpoint(key="self_check", label=_t("第3天产品使用自查清单", "day-3 self-check list"),
               days_after_first_order=3, interaction_types=["login", "visit", "survey"]),
    Touchpoint(key="phone_review", label=_t("第7天电话回访", "day-7 phone review"),
               days_after_first_order=7, interaction_types=["call", "visit", "survey"]),
    Touchpoint(key="value_report", label=_t("第30天客户价值初评报告", "day-30 value report"),
               days_after_first_order=30, interaction_types=["visit", "survey"]),
]


class Strategy(Strict):
    playbook: dict[Literal["star", "cash_cow", "potential", "eliminate"], Play] = Field(
        default_factory=lambda: dict(DEFAULT_PLAYBOOK)
    )
    touchpoints: list[Touchpoint] = Field(default_factory=lambda: list(DEFAULT_TOUCHPOINTS))
    unassigned_owner: Text = _t("未分配", "unassigned")
    priority_churn_weight: float = Field(
        0.5, ge=0, le=1, description="priority = (1-w) * CLV rank + w * churn risk score"
    )
    churn_scores: dict[Literal["high", "medium", "low"], float] = Field(
        default_factory=lambda: {"high": 1.0, "medium": 0.5, "low": 0.0},
        description="churn risk label -> 0-1 score used in the priority",
    )
    contact_types: list[str] = Field(
        ["visit", "call", "survey", "inquiry", "complaint", "referral"],
        description="interaction types that count as a contact for the next follow-up date",
    )
    risk_flags: list[str] = Field(["overdue_payment"], description="special flags that add the risk-customer action")
    activation_grace_days: int = Field(0, ge=0, description="days a touchpoint may be late and still count as done")

    @field_validator("playbook", mode="before")
    @classmethod
    def _merge_playbook(cls, v: Any) -> Any:
        """A client config overrides single cells; the rest keeps the brief's defaults."""
        if not isinstance(v, dict):
            return v
        merged: dict[str, Any] = {k: p.model_dump() for k, p in DEFAULT_PLAYBOOK.items()}
        for quadrant, cells in v.items():
            if quadrant in merged and isinstance(cells, dict):
                merged[quadrant] = _deep_merge(merged[quadrant], cells)
            else:
                merged[quadrant] = cells
        return merged


# --------------------------------------------------------------------------------------
# Report, engine, root
# --------------------------------------------------------------------------------------


class Report(Strict):
    mask_pii: bool = False
    top_n: int = Field(20, ge=1, description="rows in top-N tables")
    sample_rows: int = Field(5, ge=1, description="example rows per quarantine reason / persona")
    max_plot_points: int = Field(20_000, ge=100, description="scatter plots sample above this")
    index_top_actions: int = Field(10, ge=1, description="rows of 'top actions' on the index page")
    excel_max_rows: int = Field(
        50_000, ge=1, le=1_048_575,
        description="customers in deliverables.xlsx (first by priority); the CSVs hold every customer",
    )
    currency: str = "¥"


class Engine(Strict):
    name: Literal["pandas", "duckdb", "spark"] = "pandas"
    duckdb_min_bytes: int = Field(
        500_000_000, ge=0, description="inputs larger than this use DuckDB even under 'pandas'"
    )
    spark_master: str = "local[2]"


class KitConfig(Strict):
    client: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="folder-safe client key")
    client_name: str = ""
    language: Lang = "zh"
    period: Literal["month", "quarter"] = "quarter"
    as_of: dt.date | None = Field(None, description="last day of the period; None: the latest order date")
    currency: str = "CNY"
    inputs: Inputs
    cleaning: Cleaning = Cleaning()
    layering: Layering = Layering()
    personas: Personas = Personas()
    clv: Clv = Clv()
    strategy: Strategy = Strategy()
    report: Report = Report()
    engine: Engine = Engine()

    #: where the file was loaded from (not part of the YAML)
    source: Path | None = Field(None, exclude=True)


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _describe_error(err: dict[str, Any], schema_root: type[BaseModel]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = err["loc"][:-1]
        allowed = _allowed_keys(schema_root, parent)
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{loc}: unknown key{hint}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    given = err.get("input")
    shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
    return f"{loc}: {err['msg']} (got {shown})"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_of(field.annotation)
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def _model_of(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def parse_config(data: dict[str, Any], source: str | Path = "<dict>") -> KitConfig:
    """Validate a mapping into a :class:`KitConfig`; errors name ``source`` and key paths."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the file must hold a mapping of keys (got {type(data).__name__})")
    try:
        cfg = KitConfig.model_validate(data)
    except ValidationError as e:
        lines = [_describe_error(err, KitConfig) for err in e.errors()]
        raise ConfigError(f"{source}: invalid configuration\n  - " + "\n  - ".join(lines)) from None
    cfg.source = Path(source) if source != "<dict>" else None
    return cfg


def load_config(path: str | Path, **overrides: Any) -> KitConfig:
    """Read a YAML config, apply top-level ``overrides`` (``as_of``, ``language``) and validate.

    Relative input paths in the file are taken relative to the project root.
    """
    p = paths.resolve(path)
    if not p.exists():
        raise ConfigError(f"{p}: config file not found (see configs/ for examples)")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from None
    if isinstance(data, dict):
        data.update({k: v for k, v in overrides.items() if v is not None})
    return parse_config(data, p)
