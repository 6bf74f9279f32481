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
}


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
