"""Display labels for the keys stored in the data (stored keys stay English).

``label("quadrant", "star", "zh") -> "明星客户"``. Stages with their own vocabularies keep
them here too, so a report never shows a raw key.
"""
from __future__ import annotations

import pandas as pd

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "quadrant": {
        "star": ("明星客户", "Star"),
        "cash_cow": ("现金牛客户", "Cash cow"),
        "potential": ("潜力客户", "Potential"),
        "eliminate": ("淘汰客户", "Eliminate"),
    },
    "value_tier": {
        "high": ("高价值", "High value"),
        "medium": ("中价值", "Medium value"),
        "low": ("低价值", "Low value"),
    },
    "abc_class": {
        "A": ("A类战略客户", "A: strategic"),
        "B": ("B类成长客户", "B: growth"),
        "C": ("C类长尾客户", "C: long tail"),
    },
    "churn_risk": {
        "high": ("高流失风险", "High churn risk"),
        "medium": ("中流失风险", "Medium churn risk"),
        "low": ("低流失风险", "Low churn risk"),
    },
    "tier_change": {
        "up": ("升级", "Up"),
        "down": ("降级", "Down"),
        "same": ("不变", "Same"),
        "new": ("新增", "New"),
        "lost": ("流失", "Lost"),
    },
    "rfm8_class": {
        "important_value": ("重要价值客户", "Important value"),
        "important_develop": ("重要发展客户", "Important to develop"),
        "important_keep": ("重要保持客户", "Important to keep"),
        "important_retain": ("重要挽留客户", "Important to win back"),
        "general_value": ("一般价值客户", "General value"),
        "general_develop": ("一般发展客户", "General to develop"),
        "general_keep": ("一般保持客户", "General to keep"),
        "general_retain": ("一般挽留客户", "General to win back"),
    },
    "value_type": {
        "vip": ("高价值客户(VIP)", "VIP"),
        "core": ("中坚客户", "Core"),
        "small": ("小客户", "Small"),
    },
    "demand_type": {
        "solution": ("解决方案需求型", "Solution-need"),
        "price_sensitive": ("价格敏感型", "Price-sensitive"),
        "service": ("服务保障型", "Service-assurance"),
    },
    "potential_type": {
        "high_growth": ("高潜力增长型", "High-growth"),
        "stable": ("稳定贡献型", "Stable"),
        "to_activate": ("待激活型", "To be activated"),
    },
    # ---- layering (kit/layering.py) ---------------------------------------------------
    "rfm8_focus": {
        "important_value": ("保持现状：VIP专属服务，重点维护", "keep them: VIP service and priority care"),
        "important_develop": ("提升购买频次：交叉销售、会员计划", "raise purchase frequency: cross-sell, loyalty plan"),
        "important_keep": ("近期未购：主动联系唤回，了解原因", "lapsing: reach out and find out why"),
        "important_retain": ("高价值但将流失：重点挽留", "high value about to leave: win-back plan"),
        "general_value": ("提升客单价：推荐高价值产品", "raise order value: upsell"),
        "general_develop": ("新客或低频：引导复购", "new or occasional: encourage repeat purchases"),
        "general_keep": ("低成本唤醒", "low-cost reactivation"),
        "general_retain": ("低成本维护，自助服务为主", "minimal cost, self-service first"),
    },
    "special_flag": {
        "strategic_partner": ("战略合作伙伴", "Strategic partner"),
        "overdue_payment": ("付款逾期", "Overdue payment"),
        "churn_warning": ("流失预警", "Churn warning"),
    },
    "upgrade_reason": {
        "growth": ("连续季度采购增长达标", "quarter-on-quarter growth target met"),
        "new_category": ("新增采购品类", "started a new category"),
    },
    "downgrade_reason": {
        "inactive": ("长期无采购", "no purchase for too long"),
        "complaints": ("投诉率高于平均", "complaint rate above the average"),
    },
    # ---- personas (kit/personas.py) ----------------------------------------------------
    "tag_group": {
        "static": ("静态属性", "Static attributes"),
        "dynamic": ("动态行为", "Dynamic behaviour"),
        "pain_point": ("需求痛点", "Pain points"),
    },
    "tag_family": {
        "industry": ("行业", "Industry"),
        "size": ("企业规模", "Company size"),
        "region": ("区域", "Region"),
        "decision_role": ("决策角色", "Decision role"),
        "recent_activity": ("近期采购", "Recent purchases"),
        "channel": ("渠道偏好", "Channel preference"),
        "keywords": ("咨询关键词", "Inquiry keywords"),
        "category": ("采购品类", "Categories bought"),
        "pain_point": ("需求痛点", "Pain points"),
        "core_pain": ("核心痛点", "Core pain"),
        "hidden_need": ("隐性需求", "Hidden need"),
        "decision_concern": ("决策顾虑", "Decision concern"),
    },
    "decision_role": {
        "technical": ("技术驱动型", "technology-driven"),
        "procurement": ("采购主导型", "procurement-led"),
        "executive": ("高层决策型", "executive-led"),
    },
    "persona_tag": {
        "mixed": ("多渠道", "multi-channel"),
        "recent_none": ("无采购", "none"),
        "recent_1": ("1次", "1 order"),
        "recent_2_3": ("2-3次", "2-3 orders"),
        "recent_4_plus": ("4次及以上", "4+ orders"),
    },
    "persona_trait": {
        "active": ("活跃", "active"),
        "lapsed": ("沉睡", "lapsed"),
        "frequent": ("高频", "frequent"),
        "infrequent": ("低频", "infrequent"),
        "high_ticket": ("高客单", "high-ticket"),
        "low_ticket": ("低客单", "low-ticket"),
        "long_standing": ("资深", "long-standing"),
        "new": ("新晋", "new"),
        "multi_category": ("多品类", "multi-category"),
        "single_category": ("单品类", "single-category"),
        "multi_channel": ("多渠道", "multi-channel"),
        "single_channel": ("单渠道", "single-channel"),
        "average": ("均衡型", "average"),
    },
    "persona_feature": {
        "log_frequency": ("订单数", "Orders"),
        "recency_days": ("距上次购买天数", "Days since last order"),
        "log_monetary": ("平均客单价", "Avg order value"),
        "tenure_days": ("合作天数", "Tenure (days)"),
        "n_categories": ("品类数", "Categories"),
        "channel_concentration": ("主渠道占比", "Top-channel share"),
    },
    "persona_column": {
        "persona_cluster": ("画像编号", "Persona #"),
        "persona_name": ("画像", "Persona"),
        "persona_label": ("画像标签", "Persona label"),
        "customer_id": ("客户编号", "Customer ID"),
        "name": ("客户名称", "Name"),
        "customers": ("客户数", "Customers"),
        "customer_share": ("客户占比", "Customer share"),
        "revenue_share": ("收入占比", "Revenue share"),
        "typical_recency_days": ("典型R：距上次购买天数", "Typical R: days since last order"),
        "typical_orders": ("典型F：订单数", "Typical F: orders"),
        "typical_revenue": ("典型M：累计金额", "Typical M: revenue"),
        "top_tags": ("主要标签", "Top tags"),
        "dominant_quadrant": ("主要象限", "Dominant quadrant"),
        "orders_total": ("订单数", "Orders"),
        "revenue_total": ("累计金额", "Revenue"),
        "tag_score": ("标签得分", "Tag score"),
        "quadrant": ("象限", "Quadrant"),
        "k": ("聚类数 k", "k"),
        "silhouette": ("轮廓系数", "Silhouette score"),
        "chosen": ("选用", "Chosen"),
        "family": ("标签族", "Tag family"),
        "group": ("类别", "Group"),
        "available": ("可用", "Available"),
        "configured_weight": ("配置权重", "Configured weight"),
        "effective_weight": ("实际权重", "Effective weight"),
        "mean_strength": ("平均强度", "Mean strength"),
        "reason": ("说明", "Note"),
    },
    # ---- strategy (kit/strategy.py) ----------------------------------------------------
    "strategy_action": {
        "overdue_follow_up": ("跟进已逾期：本周内联系客户", "follow-up overdue: contact the customer this week"),
        "retention": ("降级预警：启动挽留计划（查明原因，制定挽留方案）",
                      "downgrade warning: start the retention programme (find the cause, agree a plan)"),
        "churn_high": ("高流失风险：优先回访，了解原因", "high churn risk: call first and find out why"),
        "risk_customer": ("风险客户：核查回款与信用", "risk customer: check payments and credit"),
        "upgrade_review": ("升级信号：评审客户升级并调整资源", "upgrade trigger: review the upgrade and the resources"),
        "activation": ("新客户：按激活节点跟进", "new customer: follow the activation touchpoints"),
    },
    "touchpoint_status": {
        "done": ("已完成", "done"),
        "overdue": ("已逾期", "overdue"),
        "upcoming": ("待进行", "upcoming"),
    },
    "follow_up_kind": {
        "follow_up": ("例行跟进", "follow-up"),
        "overdue": ("逾期补跟进", "overdue follow-up"),
        "activation": ("新客户激活", "activation touchpoint"),
    },
    "growth_stage": {
        "startup": ("初创期", "Start-up"),
        "growth": ("成长期", "Growth"),
        "mature": ("成熟期", "Mature"),
    },
}


def tr(lang: str, zh: str, en: str) -> str:
    """The text in the report language."""
    return zh if lang == "zh" else en


def label(vocabulary: str, key: object, lang: str) -> str:
    """The report-language label of ``key`` (the key itself when unknown or missing)."""
    if key is None or (isinstance(key, float) and pd.isna(key)):
        return "–"
    pair = LABELS.get(vocabulary, {}).get(str(key))
    if pair is None:
        return str(key)
    return pair[0] if lang == "zh" else pair[1]


def labelled(series: pd.Series, vocabulary: str, lang: str) -> pd.Series:
    """A Series of keys mapped to labels (for tables and chart axes)."""
    return series.map(lambda k: label(vocabulary, k, lang))
