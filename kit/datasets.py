"""Seeded synthetic data: the bundled B2B sample and a BG/NBD simulator for benchmarks.

Two generators live here.

* :func:`generate_b2b` draws a synthetic Chinese B2B supplier of industrial equipment and
  services (about 2,000 business customers, 2023-10-01 to 2026-09-30) with every behaviour
  the domain brief (``shared/DOMAIN.md``) needs to show: value tiers, stars and cash cows,
  fast-growing potential accounts, churners, upgraders, new customers with onboarding
  touchpoints, complaints and pain-point keywords. Customers are acquired throughout the
  window and drop out throughout it (after each repeat purchase with a small probability,
  the BG/NBD story), and the order value follows the customer's size rather than its order
  frequency, so the kit's BG/NBD and Gamma-Gamma models can be fitted and validated on a
  calibration / holdout split. It returns the **clean truth** (canonical
  English column names) and the **exports** a real CRM would give (Chinese headers, mixed
  formats and the defects of DOMAIN.md section 1 injected at known rates).
  :func:`write_sample` writes the exports as ``orders.csv`` (GBK), ``customers.xlsx``
  (title row above the header), ``interactions.csv`` (UTF-8 with BOM), plus
  ``manifest.json`` (the exact injected counts) and ``README.md``.
* :func:`simulate_bgnbd` draws transactions from the BG/NBD + Gamma-Gamma story
  (Fader, Hardie & Lee 2005; Fader & Hardie 2013), vectorised for a million customers.

Every defect row is *added* to the true orders; none replaces one. A correct cleaner
therefore keeps exactly the truth's rows (after netting refunds against their orders) and
quarantines exactly the rows counted in the manifest.

Command line::

    python -m kit.datasets --out data/sample [--seed 20260930] [--customers 2000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kit.core import paths

# --------------------------------------------------------------------------------------
# Defaults and export layout
# --------------------------------------------------------------------------------------

DEFAULT_SEED = 20260930
DEFAULT_START = "2023-10-01"
DEFAULT_END = "2026-09-30"
DEFAULT_CUSTOMERS = 2000

ORDERS_FILE = "orders.csv"
CUSTOMERS_FILE = "customers.xlsx"
INTERACTIONS_FILE = "interactions.csv"
MANIFEST_FILE = "manifest.json"
README_FILE = "README.md"

ORDERS_ENCODING = "gbk"
INTERACTIONS_ENCODING = "utf-8-sig"
CUSTOMERS_SHEET = "客户主数据"
LINE_TERMINATOR = "\r\n"  # the exports come from Windows tools

#: export header -> canonical column (``kit.config.CANONICAL_COLUMNS``)
ORDERS_HEADERS: dict[str, str] = {
    "客户编号": "customer_id", "订单编号": "order_id", "订单日期": "order_date",
    "实付金额": "amount", "毛利率": "margin", "产品类别": "category", "渠道": "channel",
    "数量": "quantity", "订单状态": "status", "逾期天数": "days_overdue",
}
CUSTOMERS_HEADERS: dict[str, str] = {
    "客户编号": "customer_id", "客户名称": "name", "所属行业": "industry", "所在区域": "region",
    "员工人数": "employees", "年营收(万元)": "annual_revenue", "联系人": "contact_name",
    "联系人职位": "contact_title", "联系电话": "contact_phone",
    "首次合作日期": "first_cooperation_date", "合同到期日": "contract_end_date",
    "成长阶段": "growth_stage", "战略合作伙伴": "strategic_partner", "行业龙头": "industry_leader",
    "扩张计划": "expansion_plan", "转介绍次数": "referrals", "客户经理": "account_manager",
    "更新时间": "updated_at",
}
INTERACTIONS_HEADERS: dict[str, str] = {
    "客户编号": "customer_id", "互动日期": "date", "互动类型": "type", "满意度": "score",
    "关键词": "keywords", "渠道": "channel", "备注": "text",
}

#: Injected defect rates, as a share of the true rows of the same table (DOMAIN.md section 1).
ORDER_DEFECT_RATES: dict[str, float] = {
    "duplicate_rows": 0.010,
    "missing_customer_id": 0.005,
    "unparseable_date": 0.003,
    "future_date": 0.003,
    "zero_amount": 0.003,
    "cancelled": 0.020,
    "refund": 0.015,
    "test_account": 0.003,
    "unparseable_amount": 0.002,
}
INTERACTION_DEFECT_RATES: dict[str, float] = {
    "missing_customer_id": 0.005,
    "unparseable_date": 0.003,
}
#: Master-data defects: share of master rows (duplicates, no orders) or of ordering customers.
MASTER_DEFECT_RATES: dict[str, float] = {
    "older_duplicate": 0.01,
    "ordering_customer_absent": 0.02,
    "master_without_orders": 0.03,
}
REFUND_FULL_SHARE = 0.4
REFUND_PARENTHESES_SHARE = 0.15

#: Format variety on valid rows (cleanable, not defects): label -> share.
DATE_FORMATS: dict[str, float] = {
    "iso": 0.55, "iso_time": 0.13, "slash": 0.15, "compact": 0.09, "chinese": 0.08,
}
AMOUNT_FORMATS: dict[str, float] = {
    "plain": 0.60, "thousands": 0.12, "yuan_fullwidth": 0.14, "rmb": 0.12, "fullwidth_digits": 0.02,
}
ID_FORMATS: dict[str, float] = {"plain": 0.985, "spaces": 0.01, "fullwidth_space": 0.005}

UNPARSEABLE_DATES = ["2025-13-45", "未知", "0000-00-00", "2025-02-30", "2024/00/12", "待补录"]
UNPARSEABLE_AMOUNTS = ["待定", "N/A", "--", "面议", "#VALUE!"]
ZERO_AMOUNTS = ["0", "0.00", "￥0.00", "0.0"]
TEST_ACCOUNT_IDS = ["TEST001", "TEST002", "test_003", "测试客户", "测试客户02", "DEMO01"]

# --------------------------------------------------------------------------------------
# The company's world
# --------------------------------------------------------------------------------------

#: industry -> (share of customers, growth outlook 0-100; configs/demo.yml repeats the latter)
INDUSTRIES: dict[str, tuple[float, float]] = {
    "新能源汽车制造": (0.13, 85), "电子制造": (0.15, 65), "医药": (0.10, 70),
    "化工": (0.11, 45), "食品饮料": (0.10, 50), "机械加工": (0.16, 40),
    "物流": (0.09, 55), "零售连锁": (0.08, 35), "互联网": (0.08, 60),
}
INDUSTRY_GROWTH: dict[str, float] = {k: v[1] for k, v in INDUSTRIES.items()}
_COMPANY_SUFFIX = {
    "新能源汽车制造": "新能源汽车有限公司", "电子制造": "电子科技有限公司", "医药": "制药有限公司",
    "化工": "化工有限公司", "食品饮料": "食品有限公司", "机械加工": "精密机械有限公司",
    "物流": "物流有限公司", "零售连锁": "商贸连锁有限公司", "互联网": "网络科技有限公司",
}
#: region -> (share, cities)
REGIONS: dict[str, tuple[float, list[str]]] = {
    "长三角": (0.28, ["上海", "苏州", "杭州", "宁波", "南京", "无锡"]),
    "珠三角": (0.22, ["深圳", "广州", "东莞", "佛山", "珠海"]),
    "京津冀": (0.15, ["北京", "天津", "石家庄", "廊坊"]),
    "成渝": (0.11, ["成都", "重庆", "绵阳"]),
    "华中": (0.12, ["武汉", "长沙", "郑州", "合肥"]),
    "东北": (0.06, ["沈阳", "大连", "长春", "哈尔滨"]),
    "西北": (0.06, ["西安", "兰州", "银川", "乌鲁木齐"]),
}
_BRAND_1 = list("恒鼎瑞海远金博宏新华盛嘉德汇睿领泰弘科正中东安永康诚信达卓凯")
_BRAND_2 = list("远盛丰川航桥达图锐创源晟泽邦力通辉宇联越")

#: product category -> (popularity, order-size factor, mean gross margin, quantity range)
CATEGORIES: dict[str, tuple[float, float, float, tuple[int, int]]] = {
    "设备采购": (0.20, 3.0, 0.22, (1, 5)),
    "备品备件": (0.25, 0.8, 0.38, (5, 200)),
    "运维服务": (0.15, 1.0, 0.42, (1, 12)),
    "软件许可": (0.10, 1.2, 0.46, (1, 50)),
    "培训服务": (0.10, 0.4, 0.40, (1, 30)),
    "耗材": (0.20, 0.3, 0.18, (10, 1000)),
}
ORDER_CHANNELS: dict[str, float] = {
    "销售拜访": 0.45, "线下展会": 0.15, "官网": 0.15, "电商平台": 0.10, "代理商": 0.15,
}
GROWTH_STAGES = ["初创", "成长", "成熟"]
EXPANSION_PLANS = ["区域扩张", "新品类尝试", "无"]
ACCOUNT_MANAGERS = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄涛", "周杰", "吴婷", "徐斌", "孙丽"]
CONTACT_TITLES_LARGE = ["采购总监", "技术总监", "采购经理", "技术经理", "设备主管", "运营总监"]
CONTACT_TITLES_SMALL = ["总经理", "副总经理", "采购专员", "工程师", "技术经理", "采购经理"]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉鹏飞宇浩然凯峰晨欣怡婷雪琳晓东海波斌宁")
_PHONE_PREFIXES = [130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155,
                   156, 157, 158, 159, 180, 181, 182, 183, 185, 186, 187, 188, 189]

#: interaction type as exported -> (base weight, canonical type, channels)
INTERACTION_TYPES: dict[str, tuple[float, str, list[str]]] = {
    "咨询": (0.20, "inquiry", ["电话", "微信", "官网", "邮件"]),
    "询价": (0.17, "inquiry", ["电话", "微信", "邮件"]),
    "投诉": (0.015, "complaint", ["电话", "微信", "邮件"]),
    "调研": (0.05, "survey", ["邮件", "微信", "上门"]),
    "满意度调查": (0.10, "survey", ["短信", "短信", "微信", "邮件"]),
    "登录": (0.20, "login", ["官网", "APP"]),
    "拜访": (0.10, "visit", ["上门"]),
    "转介绍": (0.02, "referral", ["微信", "电话", "上门"]),
    "电话回访": (0.11, "call", ["电话"]),
}
#: satisfaction scale per interaction channel; the others report 0-100
SCORE_SCALE_0_10_CHANNELS = ["短信"]
#: share of interactions of a type that carry a satisfaction score
_SCORED_SHARE = {"满意度调查": 1.0, "调研": 0.7, "电话回访": 0.6, "投诉": 0.5, "拜访": 0.3}
#: pain-point vocabulary (the families of kit.config.DEFAULT_PAIN_POINTS)
PAIN_KEYWORDS: dict[str, list[str]] = {
    "stability": ["停机", "故障", "稳定"],
    "energy": ["能耗", "节能", "耗电"],
    "service": ["售后", "响应", "维修"],
    "data": ["预测", "数据", "监控"],
    "training": ["培训", "操作", "教程"],
    "compatibility": ["兼容", "接口", "对接"],
    "price": ["价格", "折扣", "报价", "优惠"],
}
_INDUSTRY_PAINS = {
    "新能源汽车制造": ["stability", "data"], "电子制造": ["compatibility", "stability"],
    "医药": ["service", "stability"], "化工": ["energy", "service"],
    "食品饮料": ["price", "energy"], "机械加工": ["stability", "training"],
    "物流": ["data", "price"], "零售连锁": ["price", "service"], "互联网": ["data", "compatibility"],
}
_REMARKS = {
    "咨询": ["咨询{kw}相关方案", "了解{kw}方面的产品", "询问{kw}问题的解决办法"],
    "询价": ["询价，关注{kw}", "索取报价，提到{kw}", "比价中，关心{kw}"],
    "投诉": ["投诉{kw}问题，要求尽快处理", "反映{kw}，情绪不满", "设备{kw}，要求上门"],
    "调研": ["参与年度需求调研，提到{kw}", "调研反馈：{kw}"],
    "满意度调查": ["满意度回访完成", "季度满意度调查", "满意度调查，提到{kw}"],
    "登录": ["登录客户门户", "登录查看订单与工单", "登录下载资料"],
    "拜访": ["客户经理上门拜访，讨论{kw}", "上门拜访，了解{kw}需求", "技术交流，关注{kw}"],
    "转介绍": ["推荐同行客户", "转介绍一家合作伙伴"],
    "电话回访": ["电话回访，客户反馈{kw}", "电话回访，使用正常", "回访：关注{kw}"],
}


@dataclass(frozen=True)
class Archetype:
    """How one kind of customer behaves (levels are trailing-year amounts in CNY)."""

    share: float
    level: tuple[float, float]          # log-uniform annual amount at the end of the window
    freq: tuple[float, float]           # orders a year
    growth: tuple[float, float]         # continuous yearly growth of the level
    n_categories: tuple[int, int]
    born_share: float                   # share whose first order falls inside the window
    stages: tuple[float, float, float]  # 初创 / 成长 / 成熟
    plans: tuple[float, float, float]   # 区域扩张 / 新品类尝试 / 无
    partner: float
    leader: float
    interactions_per_year: float
    lifetime: tuple[float, float]       # log-uniform expected active years (inf: never drops out)


_NEVER = (np.inf, np.inf)

#: Behaviour archetypes of the ordering customers; "low" takes the share the others leave.
#: Prospects (master rows without orders) reuse "low" for their attributes.
#: Order frequency overlaps across archetypes (size drives the order value, the buying pattern
#: the frequency); ``lifetime`` sets the drop-out probability after each repeat purchase.
ARCHETYPES: dict[str, Archetype] = {
    "whale": Archetype(  # > 5,000,000 a year, industry leaders (guide's A class)
        share=0.015, level=(6.0e6, 1.4e7), freq=(10, 16), growth=(-0.05, 0.15), n_categories=(4, 6),
        born_share=0.0, stages=(0.0, 0.2, 0.8), plans=(0.4, 0.2, 0.4), partner=0.5, leader=1.0,
        interactions_per_year=16, lifetime=(40.0, 150.0)),
    "star": Archetype(  # high value, growing
        share=0.04, level=(6.5e5, 3.0e6), freq=(10, 20), growth=(0.3, 0.7), n_categories=(3, 5),
        born_share=0.1, stages=(0.05, 0.7, 0.25), plans=(0.5, 0.3, 0.2), partner=0.2, leader=0.15,
        interactions_per_year=12, lifetime=(15.0, 50.0)),
    "cash_cow": Archetype(  # high value, flat
        share=0.045, level=(6.0e5, 2.5e6), freq=(25, 40), growth=(-0.05, 0.05), n_categories=(2, 4),
        born_share=0.05, stages=(0.0, 0.15, 0.85), plans=(0.1, 0.1, 0.8), partner=0.15, leader=0.15,
        interactions_per_year=9, lifetime=(10.0, 40.0)),
    "upgrader": Archetype(  # flat, then >= 20 % growth in each of the last 2 quarters
        share=0.04, level=(0.9e5, 2.6e5), freq=(8, 12), growth=(0.0, 0.0), n_categories=(2, 3),
        born_share=0.15, stages=(0.1, 0.7, 0.2), plans=(0.4, 0.4, 0.2), partner=0.01, leader=0.0,
        interactions_per_year=8, lifetime=_NEVER),
    "potential": Archetype(  # small, growing fast, widening its categories
        share=0.10, level=(5.0e4, 2.2e5), freq=(5, 9), growth=(0.8, 1.4), n_categories=(3, 5),
        born_share=0.5, stages=(0.35, 0.6, 0.05), plans=(0.35, 0.4, 0.25), partner=0.005, leader=0.0,
        interactions_per_year=9, lifetime=(5.0, 20.0)),
    "medium": Archetype(
        share=0.25, level=(1.1e5, 4.0e5), freq=(6, 11), growth=(-0.1, 0.15), n_categories=(2, 3),
        born_share=0.3, stages=(0.1, 0.35, 0.55), plans=(0.15, 0.15, 0.7), partner=0.005, leader=0.005,
        interactions_per_year=6, lifetime=(3.0, 15.0)),
    "churner": Archetype(  # drops out within a year or two; level and frequency from _CHURNER_LEVELS
        share=0.12, level=(5.0e3, 9.0e4), freq=(2, 5), growth=(-0.2, 0.0), n_categories=(1, 3),
        born_share=0.5, stages=(0.25, 0.25, 0.5), plans=(0.05, 0.05, 0.9), partner=0.005, leader=0.005,
        interactions_per_year=6, lifetime=(0.5, 2.0)),
    "new": Archetype(  # first order in the last quarter
        share=0.04, level=(2.0e4, 6.0e5), freq=(4, 12), growth=(0.0, 0.0), n_categories=(1, 2),
        born_share=1.0, stages=(0.4, 0.45, 0.15), plans=(0.2, 0.2, 0.6), partner=0.0, leader=0.0,
        interactions_per_year=6, lifetime=(2.0, 10.0)),
    "low": Archetype(
        share=0.0, level=(5.0e3, 9.0e4), freq=(1.5, 5), growth=(-0.2, 0.1), n_categories=(1, 2),
        born_share=0.5, stages=(0.3, 0.3, 0.4), plans=(0.05, 0.1, 0.85), partner=0.003, leader=0.003,
        interactions_per_year=2.5, lifetime=(1.0, 6.0)),
}
#: churners: (share, level range, orders a year) of their high / medium / low value sub-groups
_CHURNER_LEVELS = [(0.20, (8.0e5, 4.0e6), (10, 20)), (0.40, (1.1e5, 4.5e5), (6, 12)),
                   (0.40, (5.0e3, 9.0e4), (2, 5))]
#: high-value churners who lapse: share of that sub-group, and months before the end of the
#: window their last order falls (they stay high value by trailing-12-month amount)
_LAPSE_SHARE = 0.6
_LAPSE_MONTHS = (6.2, 10.0)
#: share of the yearly growth that raises the order count (the rest raises the order value)
_FREQ_GROWTH_SHARE = 0.5
_SEASON = np.array([0.9, 0.6, 1.0, 1.0, 1.0, 1.05, 0.95, 0.95, 1.05, 1.0, 1.1, 1.35])  # Jan..Dec
#: the monthly amount follows _SEASON; this power of it acts on the order count, the rest on the
#: order value (year-end budgets bring both more and larger orders)
_SEASON_COUNT_POWER = 0.5
_ORDER_NOISE_SIGMA = 0.55
_NEW_CATEGORY_SHARE = 0.03        # established customers whose last quarter brings a new category
_UPGRADE_GROWTH = (1.3, 1.8)      # quarter-on-quarter factor of upgraders in the last 2 quarters
_COMPLAINER_SHARE = 0.08          # customers who complain often (churners: the next share)
_CHURNER_COMPLAINER_SHARE = 0.4
_LATE_PAYER_SHARE = 0.10
#: new-customer onboarding: touchpoint key -> (days after the first order, types, chance logged)
ONBOARDING: dict[str, tuple[int, list[str], float]] = {
    "first_contact": (1, ["电话回访", "拜访"], 0.75),
    "self_check": (3, ["登录"], 0.60),
    "phone_review": (7, ["电话回访"], 0.65),
    "value_report": (30, ["拜访", "满意度调查"], 0.55),
}


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _count(rate: float, base: int) -> int:
    """Injected rows for a rate: at least one, so small samples still show every defect."""
    return max(1, int(round(rate * base)))


def _pick(rng: np.random.Generator, weights: dict[str, float] | list[float], size: int) -> np.ndarray:
    """Draw ``size`` labels (or indices for a list) with the given weights."""
    if isinstance(weights, dict):
        labels = np.array(list(weights), dtype=object)
        w = np.array(list(weights.values()), dtype=float)
        return labels[rng.choice(len(labels), size=size, p=w / w.sum())]
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def _log_uniform(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi)))


def _to_dates(origin: pd.Timestamp, days: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(origin + pd.to_timedelta(np.asarray(days, dtype="int64"), unit="D"))


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _format_dates(dates: pd.DatetimeIndex, kinds: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Write each date in its export format (``DATE_FORMATS`` labels)."""
    hours = rng.integers(8, 19, size=len(dates))
    minutes = rng.integers(0, 60, size=len(dates))
    seconds = rng.integers(0, 60, size=len(dates))
    out = []
    for y, m, d, k, hh, mm, ss in zip(dates.year, dates.month, dates.day, kinds, hours, minutes, seconds):
        if k == "iso":
            out.append(f"{y:04d}-{m:02d}-{d:02d}")
        elif k == "iso_time":
            out.append(f"{y:04d}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}")
        elif k == "slash":
            out.append(f"{y}/{m}/{d}")
        elif k == "compact":
            out.append(f"{y:04d}{m:02d}{d:02d}")
        else:
            out.append(f"{y}年{m}月{d}日")
    return out


def _format_amount(value: float, kind: str) -> str:
    """Write one amount in its export format (``AMOUNT_FORMATS`` labels, or ``parentheses``)."""
    if kind == "plain":
        return f"{value:.2f}"
    if kind == "thousands":
        return f"{value:,.2f}"
    if kind == "yuan_fullwidth":
        return f"￥{value:,.2f}"
    if kind == "rmb":
        return f"RMB {value:,.2f}"
    if kind == "fullwidth_digits":
        return f"{value:.2f}".translate(_FULLWIDTH)
    if kind == "parentheses":
        return f"({abs(value):,.2f})"
    raise ValueError(f"unknown amount format {kind!r}")


def _format_id(cid: str, kind: str, rng: np.random.Generator) -> str:
    if kind == "spaces":
        return [" " + cid, cid + " ", " " + cid + "  "][int(rng.integers(3))]
    if kind == "fullwidth_space":
        return ["\u3000" + cid, cid + "\u3000"][int(rng.integers(2))]
    return cid


def _quarter_start(day: pd.Timestamp) -> pd.Timestamp:
    return day.to_period("Q").start_time


# --------------------------------------------------------------------------------------
# The clean truth
# --------------------------------------------------------------------------------------


def _draw_customers(rng: np.random.Generator, n: int, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """One row per customer: archetype, behaviour parameters (level, orders a year, growth,
    drop-out probability after each repeat purchase, first order day) and master attributes."""
    n_days = (end - start).days  # the end day's offset; orders fall on days 0..n_days
    q3 = (_quarter_start(end) - start).days
    n_prospects = _count(MASTER_DEFECT_RATES["master_without_orders"], n)
    n_ord = n - n_prospects

    # archetype counts: fixed shares, "low" takes the remainder
    counts = {k: int(round(a.share * n_ord)) for k, a in ARCHETYPES.items() if k != "low"}
    counts["low"] = n_ord - sum(counts.values())
    arche = np.array([k for k, c in counts.items() for _ in range(c)] + ["prospect"] * n_prospects, dtype=object)
    arche = arche[rng.permutation(n)]
    ordering = arche != "prospect"

    spec = {k: ARCHETYPES[k] for k in ARCHETYPES}
    spec["prospect"] = ARCHETYPES["low"]
    lo = np.array([spec[a].level[0] for a in arche])
    hi = np.array([spec[a].level[1] for a in arche])
    flo = np.array([spec[a].freq[0] for a in arche])
    fhi = np.array([spec[a].freq[1] for a in arche])
    # churners split into high / medium / low value sub-groups
    churn_idx = np.flatnonzero(arche == "churner")
    sub = _pick(rng, [s for s, _, _ in _CHURNER_LEVELS], len(churn_idx))
    for j, (_, lv, fq) in enumerate(_CHURNER_LEVELS):
        sel = churn_idx[sub == j]
        lo[sel], hi[sel], flo[sel], fhi[sel] = lv[0], lv[1], fq[0], fq[1]
    level = _log_uniform(rng, lo, hi)
    freq = rng.uniform(flo, fhi)
    growth = rng.uniform([spec[a].growth[0] for a in arche], [spec[a].growth[1] for a in arche])

    # first order (birth) and last possible day (death)
    born = rng.random(n) < np.array([spec[a].born_share for a in arche])
    first = rng.integers(0, 91, size=n).astype(float)                     # existing customers
    born_day = rng.integers(91, q3, size=n).astype(float)                 # joined inside the window
    # upgraders join at least a quarter before the three quarters that show their growth
    q_prev2 = (_quarter_start(end - pd.DateOffset(months=6)) - start).days
    born_day = np.where(arche == "upgrader", rng.integers(91, q_prev2 - 90, size=n), born_day)
    first = np.where(born, born_day, first)
    is_new = arche == "new"
    n_new = int(is_new.sum())
    n_recent = int(round(0.3 * n_new))
    new_days = np.concatenate([rng.integers(q3, n_days - 30, size=n_new - n_recent),
                               rng.integers(n_days - 29, n_days + 1, size=n_recent)]).astype(float)
    first[is_new] = new_days
    # drop-out (BG/NBD's story): after each repeat purchase the customer becomes inactive with
    # probability ``dropout``, set so that the expected active life is ``lifetime`` years
    life_lo = np.array([spec[a].lifetime[0] for a in arche])
    life_hi = np.array([spec[a].lifetime[1] for a in arche])
    finite = np.isfinite(life_lo)
    u_life = rng.random(n)
    life = np.full(n, np.inf)
    life[finite] = np.exp(np.log(life_lo[finite]) + u_life[finite] * np.log(life_hi[finite] / life_lo[finite]))
    dropout = np.where(finite, np.minimum(1.0, 1.0 / (life * freq)), 0.0)
    # lapsing high-value churners: the last order falls _LAPSE_MONTHS before the end
    death = np.full(n, float(n_days + 1))  # the day after the last possible order
    lapse = np.zeros(n, dtype=bool)
    lapse[churn_idx[sub == 0]] = True
    lapse &= rng.random(n) < _LAPSE_SHARE
    months_gone = rng.uniform(*_LAPSE_MONTHS, size=n)
    death[lapse] = np.floor(n_days - months_gone[lapse] * 30.44)
    dropout[lapse] = 0.0
    # a lapsing customer buys for at least 8 months before stopping
    first[lapse] = np.minimum(first[lapse], np.maximum(death[lapse] - 240, 0))
    # prospects: the day they signed up (they never order)
    first[~ordering] = rng.integers(180, n_days - 30, size=int((~ordering).sum()))

    # master attributes
    industries = np.array(list(INDUSTRIES), dtype=object)
    ind_w = np.array([v[0] for v in INDUSTRIES.values()])
    boost = np.isin(industries, ["新能源汽车制造", "电子制造", "医药", "互联网"])
    industry = np.empty(n, dtype=object)
    for growing in (False, True):
        sel = np.isin(arche, ["star", "potential", "upgrader"]) == growing
        w = ind_w * np.where(boost, 1.8, 1.0) if growing else ind_w
        industry[sel] = industries[rng.choice(len(industries), size=int(sel.sum()), p=w / w.sum())]
    region = _pick(rng, {k: v[0] for k, v in REGIONS.items()}, n)
    city = np.array([REGIONS[r][1][rng.integers(len(REGIONS[r][1]))] for r in region], dtype=object)

    employees = 10 ** (1.5 + 0.5 * np.log10(level / 1e4) + rng.normal(0, 0.3, n))
    employees = np.where(arche == "whale", employees * 5, employees)
    employees = np.clip(np.round(employees), 5, 50_000).astype(int)
    revenue = np.round(employees * np.exp(rng.normal(np.log(80), 0.5, n)), 1)  # 万元

    stage = np.array([GROWTH_STAGES[_pick(rng, spec[a].stages, 1)[0]] for a in arche], dtype=object)
    plan = np.array([EXPANSION_PLANS[_pick(rng, spec[a].plans, 1)[0]] for a in arche], dtype=object)
    partner = rng.random(n) < np.array([spec[a].partner for a in arche])
    leader = rng.random(n) < np.array([spec[a].leader for a in arche])

    cust = pd.DataFrame({
        "archetype": arche, "has_orders": ordering, "level": level, "freq": freq, "growth": growth,
        "first_day": first, "death_day": death, "dropout": dropout, "lapse": lapse,
        "industry": industry, "region": region, "city": city,
        "employees": employees, "annual_revenue": revenue, "growth_stage": stage,
        "expansion_plan": plan, "strategic_partner": partner, "industry_leader": leader,
    })
    cust["churner_group"] = ""
    cust.loc[churn_idx, "churner_group"] = np.array(["high", "medium", "low"], dtype=object)[sub]
    cust["complainer"] = rng.random(n) < np.where(arche == "churner", _CHURNER_COMPLAINER_SHARE, _COMPLAINER_SHARE)
    cust["late_payer"] = rng.random(n) < _LATE_PAYER_SHARE
    # ids follow the first order (sign-up for prospects): long-standing customers have small numbers
    order_key = first + rng.random(n) * 0.5
    cust = cust.iloc[np.argsort(order_key, kind="stable")].reset_index(drop=True)
    cust.insert(0, "customer_id", [f"{i + 1:06d}" for i in range(n)])
    return cust


def _customer_master(rng: np.random.Generator, cust: pd.DataFrame, start: pd.Timestamp,
                     end: pd.Timestamp) -> pd.DataFrame:
    """Names, contacts, dates and owners of every customer (truth, canonical names)."""
    n = len(cust)
    # company names, unique
    names = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        b1 = rng.integers(len(_BRAND_1), size=len(todo))
        b2 = rng.integers(len(_BRAND_2), size=len(todo))
        for i, x, y in zip(todo, b1, b2):
            names[i] = f"{cust.at[i, 'city']}{_BRAND_1[x]}{_BRAND_2[y]}{_COMPANY_SUFFIX[cust.at[i, 'industry']]}"
        dup = pd.Series(names).duplicated(keep="first").to_numpy()
        todo = np.flatnonzero(dup)
    large = cust["level"].to_numpy() >= 3e5
    contact = _person_names(rng, n)
    titles = np.where(large, np.array(CONTACT_TITLES_LARGE, dtype=object)[rng.integers(6, size=n)],
                      np.array(CONTACT_TITLES_SMALL, dtype=object)[rng.integers(6, size=n)])
    phones = _phones(rng, n)
    first_day = cust["first_day"].to_numpy()
    has_orders = cust["has_orders"].to_numpy()
    arche = cust["archetype"].to_numpy()
    # first cooperation: years before the window for existing customers, at signing otherwise
    existing = has_orders & (first_day < 91) & (arche != "new")
    coop_day = np.where(existing, -rng.integers(30, 8 * 365, size=n),
                        first_day - np.where(arche == "new", 0, rng.integers(0, 15, size=n)))
    coop_day = np.where(has_orders, coop_day, first_day)
    first_coop = _to_dates(start, coop_day).to_numpy().copy()
    no_coop = (~has_orders) & (rng.random(n) < 0.5)
    first_coop[no_coop] = np.datetime64("NaT")
    n_days = (end - start).days
    contract = np.where(cust["dropped"].to_numpy(), cust["death_day"].to_numpy() + rng.integers(-60, 121, size=n),
                        n_days + rng.integers(-30, 900, size=n))
    updated = (end - pd.to_timedelta(rng.integers(0, 120 * 86400, size=n), unit="s")).floor("s")
    manager = np.array(ACCOUNT_MANAGERS, dtype=object)[rng.integers(len(ACCOUNT_MANAGERS), size=n)]
    manager[rng.random(n) < 0.01] = None
    return pd.DataFrame({
        "customer_id": cust["customer_id"], "name": names, "industry": cust["industry"],
        "region": cust["region"], "employees": cust["employees"], "annual_revenue": cust["annual_revenue"],
        "contact_name": contact, "contact_title": titles, "contact_phone": phones,
        "first_cooperation_date": pd.DatetimeIndex(first_coop).as_unit("s"),
        "contract_end_date": _to_dates(start, contract).as_unit("s"),
        "growth_stage": cust["growth_stage"], "strategic_partner": cust["strategic_partner"],
        "industry_leader": cust["industry_leader"], "expansion_plan": cust["expansion_plan"],
        "industry_growth": cust["industry"].map(INDUSTRY_GROWTH).astype(float),
        "account_manager": pd.Series(manager, dtype="str"), "updated_at": updated.as_unit("s"),
    })


def _person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    sur = np.array(_SURNAMES, dtype=object)[rng.integers(len(_SURNAMES), size=n)]
    g1 = np.array(_GIVEN, dtype=object)[rng.integers(len(_GIVEN), size=n)]
    g2 = np.array(_GIVEN, dtype=object)[rng.integers(len(_GIVEN), size=n)]
    two = rng.random(n) < 0.6
    return np.where(two, sur + g1 + g2, sur + g1)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = np.array(_PHONE_PREFIXES)[rng.integers(len(_PHONE_PREFIXES), size=n)]
    numbers = prefix.astype(np.int64) * 10**8 + rng.choice(10**8, size=n, replace=False)
    return np.array([str(x) for x in numbers], dtype=object)


def _draw_orders(rng: np.random.Generator, cust: pd.DataFrame, start: pd.Timestamp,
                 end: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
    """True orders: a monthly Poisson process per customer, growth split between order
    count and order size, drop-out after each repeat purchase with the customer's
    probability, plus the forced orders that pin the archetypes.

    Returns the orders and, per customer, the day of the last order of a customer who has
    dropped out (lapsing churners included), NaN for a customer still active at the end.
    """
    n = len(cust)
    n_days = (end - start).days
    q_last = (_quarter_start(end) - start).days                                  # this quarter
    q_prev = (_quarter_start(end - pd.DateOffset(months=3)) - start).days
    q_prev2 = (_quarter_start(end - pd.DateOffset(months=6)) - start).days
    month_start = pd.date_range(start, end, freq="MS")
    m0 = np.asarray((month_start - start).days, dtype=float)
    m1 = np.append(m0[1:], n_days + 1.0)
    season = _SEASON[month_start.month - 1]

    first = cust["first_day"].to_numpy()
    death = cust["death_day"].to_numpy()
    freq = cust["freq"].to_numpy()
    level = cust["level"].to_numpy()
    growth = cust["growth"].to_numpy()
    arche = cust["archetype"].to_numpy()
    ordering = cust["has_orders"].to_numpy()

    lo = np.maximum(first[:, None] + 1, m0[None, :])
    hi = np.minimum(death[:, None], m1[None, :])
    exposure = np.clip(hi - lo, 0, None) * ordering[:, None]
    years_to_end = ((m0 + m1) / 2 - n_days)[None, :] / 365.25
    lam = (freq[:, None] / 365.25 * exposure * season[None, :] ** _SEASON_COUNT_POWER
           * np.exp(growth[:, None] * _FREQ_GROWTH_SHARE * years_to_end))
    k = rng.poisson(lam)
    ci, mi = np.nonzero(k)
    reps = k[ci, mi]
    o_cust = np.repeat(ci, reps)
    o_day = np.floor(rng.uniform(np.repeat(lo[ci, mi], reps), np.repeat(hi[ci, mi], reps)))

    lapse = np.flatnonzero(cust["lapse"].to_numpy())                  # the last order of a lapse
    o_cust = np.concatenate([o_cust, np.flatnonzero(ordering), lapse])  # the first order
    o_day = np.minimum(np.concatenate([o_day, first[ordering], death[lapse]]), n_days)

    # drop-out: the customer becomes inactive after its J-th repeat purchase, J ~ Geometric(p)
    p = cust["dropout"].to_numpy()
    j_max = np.where(p > 0, rng.geometric(np.where(p > 0, p, 1.0)), np.iinfo(np.int64).max)
    srt = np.lexsort((o_day, o_cust))
    o_cust, o_day = o_cust[srt], o_day[srt]
    starts = np.r_[0, np.flatnonzero(np.diff(o_cust)) + 1]
    rank = np.arange(len(o_cust)) - np.repeat(starts, np.diff(np.r_[starts, len(o_cust)]))
    keep = rank <= j_max[o_cust]
    dropped = np.zeros(n, dtype=bool)
    dropped[o_cust[~keep]] = True
    o_cust, o_day = o_cust[keep], o_day[keep]
    dropped[lapse] = True
    last_day = np.full(n, -1.0)
    np.maximum.at(last_day, o_cust, o_day)
    dropout_day = np.where(dropped, last_day, np.nan)

    upg = np.flatnonzero(arche == "upgrader")                          # an order in each of the last 3 quarters
    forced_c, forced_d = [], []
    for q0, q1 in ((q_prev2, q_prev), (q_prev, q_last), (q_last, n_days + 1)):
        forced_c.append(upg)
        forced_d.append(rng.integers(q0, q1, size=len(upg)).astype(float))
    o_cust = np.concatenate([o_cust, *forced_c])
    o_day = np.minimum(np.concatenate([o_day, *forced_d]), n_days)

    # categories: each customer has an ordered set; potential accounts widen it over time
    cats = list(CATEGORIES)
    pop = np.array([CATEGORIES[c][0] for c in cats])
    factor = np.array([CATEGORIES[c][1] for c in cats])
    cat_order = np.argsort(-(np.log(pop)[None, :] + rng.gumbel(size=(n, len(cats)))), axis=1)
    kmin = np.array([ARCHETYPES.get(a, ARCHETYPES["low"]).n_categories[0] for a in arche])
    kmax = np.array([ARCHETYPES.get(a, ARCHETYPES["low"]).n_categories[1] for a in arche])
    breadth = rng.integers(kmin, kmax + 1)
    rank_w = 0.55 ** np.arange(len(cats))
    cust_w = rank_w[None, :] * (np.arange(len(cats))[None, :] < breadth[:, None])
    cust_w /= cust_w.sum(1, keepdims=True)
    expected_factor = (cust_w * factor[cat_order]).sum(1)

    allowed = breadth[o_cust].astype(float)
    pot = arche[o_cust] == "potential"
    cut = q_prev2 - 30.0
    frac = np.clip((o_day - first[o_cust]) / np.maximum(cut - first[o_cust], 1.0), 0, 1)
    allowed[pot] = np.clip(1 + np.floor(breadth[o_cust][pot] * frac[pot]), 1, breadth[o_cust][pot])
    w = rank_w[None, :] * (np.arange(len(cats))[None, :] < allowed[:, None])
    u = rng.random(len(o_cust))[:, None] * w.sum(1, keepdims=True)
    rank = np.minimum((u > np.cumsum(w, 1)).sum(1), len(cats) - 1)
    o_cat = cat_order[o_cust, rank]

    # no category may first appear in the last quarter, except for the chosen customers below
    before = o_day < q_last
    key = o_cust * len(cats) + o_cat
    seen = np.zeros(n * len(cats), dtype=int)
    np.add.at(seen, key[before], 1)
    seen = seen.reshape(n, len(cats))
    fix = (~before) & (seen[o_cust, o_cat] == 0) & (seen.sum(1)[o_cust] > 0)
    o_cat[fix] = seen.argmax(1)[o_cust[fix]]
    eligible = np.flatnonzero(np.isin(arche, ["whale", "star", "cash_cow", "medium", "potential", "low"])
                              & (seen.sum(1) > 0) & (seen.min(1) == 0) & ~dropped)
    n_newcat = min(len(eligible), _count(_NEW_CATEGORY_SHARE, int(ordering.sum())))
    newcat = np.sort(rng.choice(eligible, size=n_newcat, replace=False))
    unseen = seen[newcat] == 0
    pick_rank = np.argmax(unseen[np.arange(n_newcat)[:, None], cat_order[newcat]], axis=1)
    new_cat = cat_order[newcat, pick_rank]
    o_cust = np.concatenate([o_cust, newcat])
    o_day = np.concatenate([o_day, rng.integers(q_last, n_days + 1, size=n_newcat).astype(float)])
    o_cat = np.concatenate([o_cat, new_cat])
    is_newcat = np.concatenate([np.zeros(len(o_cat) - n_newcat, bool), np.ones(n_newcat, bool)])

    # amounts: level / frequency, grown to the order's date, category size, log-normal noise
    years = (o_day - n_days) / 365.25
    noise = rng.lognormal(-_ORDER_NOISE_SIGMA**2 / 2, _ORDER_NOISE_SIGMA, len(o_cust))
    month = np.searchsorted(m0, o_day, side="right") - 1
    amount = (level[o_cust] / freq[o_cust] * np.exp(growth[o_cust] * (1 - _FREQ_GROWTH_SHARE) * years)
              * season[month] ** (1 - _SEASON_COUNT_POWER) * factor[o_cat] / expected_factor[o_cust] * noise)
    amount = np.maximum(amount, 200.0)

    # upgraders: the last 3 quarters rescaled to level / 4, then x g1, then x g1 * g2, so they
    # grow >= 20 % (here 30-80 %) quarter on quarter in each of the last 2 quarters
    is_upg = arche[o_cust] == "upgrader"
    qidx = np.select([o_day >= q_last, o_day >= q_prev, o_day >= q_prev2], [2, 1, 0], -1)
    qsum = np.zeros((n, 3))
    sel = is_upg & (qidx >= 0)
    np.add.at(qsum, (o_cust[sel], qidx[sel]), amount[sel])
    g1 = rng.uniform(*_UPGRADE_GROWTH, size=n)
    g2 = rng.uniform(*_UPGRADE_GROWTH, size=n)
    target = level[:, None] / 4 * np.stack([np.ones(n), g1, g1 * g2], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = target / qsum
    amount[sel] *= scale[o_cust[sel], qidx[sel]]
    amount = np.round(amount, 2)

    m = len(o_cust)
    margin_mu = np.array([CATEGORIES[c][2] for c in cats])[o_cat]
    cust_shift = rng.normal(0, 0.03, n) - 0.03 * (level >= 1e6)
    margin = np.round(np.clip(margin_mu + cust_shift[o_cust] + rng.normal(0, 0.04, m), 0.10, 0.50), 3)
    qlo = np.array([CATEGORIES[c][3][0] for c in cats])[o_cat]
    qhi = np.array([CATEGORIES[c][3][1] for c in cats])[o_cat]
    quantity = np.round(_log_uniform(rng, qlo, qhi + 1) - 0.5).astype(int).clip(qlo, qhi)

    ch_labels = np.array(list(ORDER_CHANNELS), dtype=object)
    preferred = _pick(rng, list(ORDER_CHANNELS.values()), n)
    other = _pick(rng, list(ORDER_CHANNELS.values()), m)
    channel = ch_labels[np.where(rng.random(m) < 0.75, preferred[o_cust], other)]

    late = cust["late_payer"].to_numpy()[o_cust]
    overdue_p = np.where(late, 0.35, 0.055)
    days = np.where(late, rng.gamma(1.5, 25, m), rng.gamma(1.2, 10, m)) + 1
    room = np.clip(n_days - o_day - 30, 0, None)  # 30-day payment terms
    days_overdue = np.where(rng.random(m) < overdue_p, np.minimum(np.floor(days), room), 0).astype(int)
    status = np.where((o_day > n_days - 15) & (rng.random(m) < 0.5), "已发货", "已完成")

    orders = pd.DataFrame({
        "customer_id": cust["customer_id"].to_numpy()[o_cust],
        "order_date": _to_dates(start, o_day).as_unit("s"),
        "amount": amount, "margin": margin, "category": np.array(cats, dtype=object)[o_cat],
        "channel": channel, "quantity": quantity, "status": status, "days_overdue": days_overdue,
        "new_category": is_newcat, "_day": o_day.astype(int),
        "_tiebreak": rng.random(m),
    })
    return orders.sort_values(["_day", "_tiebreak"], kind="stable").reset_index(drop=True), dropout_day


def _draw_interactions(rng: np.random.Generator, cust: pd.DataFrame, categories: pd.Series,
                       start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """True interactions: a Poisson count per customer over its active life (until 45 days
    after the last order of a customer who dropped out), onboarding touchpoints of new
    customers, complaints concentrated on complainers and churners, satisfaction falling in
    the half-year before a customer drops out."""
    n = len(cust)
    n_days = (end - start).days
    arche = cust["archetype"].to_numpy()
    first = cust["first_day"].to_numpy()
    death = cust["death_day"].to_numpy()
    is_new = arche == "new"
    dropped = cust["dropped"].to_numpy()
    complainer = cust["complainer"].to_numpy()

    lo = np.maximum(first - 60, 0)
    hi = np.where(dropped, np.minimum(death + 45, n_days), n_days).astype(float)
    hi = np.where(is_new, first - 1, hi)                   # only pre-sales contacts before onboarding
    rate = np.array([ARCHETYPES.get(a, ARCHETYPES["low"]).interactions_per_year for a in arche])
    k = rng.poisson(rate * np.maximum(hi - lo, 0) / 365.25)
    i_cust = np.repeat(np.arange(n), k)
    i_day = np.floor(rng.uniform(lo[i_cust], hi[i_cust] + 1)).clip(0, n_days)
    i_day = np.minimum(i_day, hi[i_cust])

    types = list(INTERACTION_TYPES)
    base_w = np.array([INTERACTION_TYPES[t][0] for t in types])
    has_software = categories.reindex(cust["customer_id"]).fillna("").str.contains("软件许可").to_numpy()
    w = np.tile(base_w, (n, 1))
    w[:, types.index("投诉")] *= np.where(complainer, 15.0, 1.0)
    w[:, types.index("转介绍")] *= np.where(np.isin(arche, ["star", "potential", "whale"]), 3.0, 1.0)
    w[:, types.index("登录")] *= np.where(has_software, 2.5, 0.4)
    presales = is_new[i_cust]
    ww = w[i_cust]
    ww[presales] = 0
    ww[presales, types.index("咨询")] = 1
    ww[presales, types.index("询价")] = 1
    u = rng.random(len(i_cust))[:, None] * ww.sum(1, keepdims=True)
    i_type = np.minimum((u > np.cumsum(ww, 1)).sum(1), len(types) - 1)
    tp_key = np.full(len(i_cust), "", dtype=object)

    # onboarding touchpoints of new customers
    new_idx = np.flatnonzero(is_new)
    on_c, on_d, on_t, on_k = [], [], [], []
    for key, (offset, kinds, p) in ONBOARDING.items():
        due = first[new_idx] + offset <= n_days
        logged = new_idx[due & (rng.random(len(new_idx)) < p)]
        on_c.append(logged)
        on_d.append(first[logged] + offset - (rng.random(len(logged)) < 0.5) * (offset == 1))
        on_t.append(np.array([types.index(kinds[j]) for j in rng.integers(len(kinds), size=len(logged))], dtype=int))
        on_k.append(np.full(len(logged), key, dtype=object))
    i_cust = np.concatenate([i_cust, *on_c])
    i_day = np.concatenate([i_day, *on_d])
    i_type = np.concatenate([i_type, *on_t])
    tp_key = np.concatenate([tp_key, *on_k])
    m = len(i_cust)
    type_name = np.array(types, dtype=object)[i_type]

    # channel by type; the 短信 survey channel reports 0-10, the others 0-100
    channel = np.empty(m, dtype=object)
    for t in types:
        sel = type_name == t
        opts = np.array(INTERACTION_TYPES[t][2], dtype=object)
        channel[sel] = opts[rng.integers(len(opts), size=int(sel.sum()))]
    sat = np.where(complainer, rng.normal(55, 10, n), rng.normal(80, 7, n))
    closeness = np.clip(1 - (death[i_cust] - i_day) / 180, 0, 1) * dropped[i_cust]
    score = sat[i_cust] - 25 * closeness + rng.normal(0, 8, m) - 20 * (type_name == "投诉")
    score = np.clip(np.round(score), 0, 100)
    scored = rng.random(m) < np.array([_SCORED_SHARE.get(t, 0.0) for t in type_name])
    score = np.where(scored, score, np.nan)
    ten = np.isin(channel, SCORE_SCALE_0_10_CHANNELS)
    score_raw = np.where(ten, np.round(score / 10), score)

    # keywords from the customer's pain points; remarks from templates
    pains = list(PAIN_KEYWORDS)
    primary = np.array([_INDUSTRY_PAINS[ind][rng.integers(2)] for ind in cust["industry"]], dtype=object)
    second = np.array(pains, dtype=object)[rng.integers(len(pains), size=n)]
    nk = rng.integers(1, 4, size=m)
    keywords, texts = [], []
    for j in range(m):
        t = type_name[j]
        if t in ("登录", "转介绍") or (t == "满意度调查" and rng.random() < 0.5):
            kws: list[str] = []
        else:
            fams = []
            for _ in range(nk[j]):
                r = rng.random()
                fams.append(primary[i_cust[j]] if r < 0.55 else second[i_cust[j]] if r < 0.8
                            else pains[rng.integers(len(pains))])
            if t == "询价":
                fams[0] = "price"
            elif t == "投诉":
                fams[0] = ["stability", "service"][rng.integers(2)]
            kws = list(dict.fromkeys(PAIN_KEYWORDS[f][rng.integers(len(PAIN_KEYWORDS[f]))] for f in fams))
        keywords.append(("、" if rng.random() < 0.7 else ",").join(kws))
        tmpl = [x for x in _REMARKS[t] if ("{kw}" in x) == bool(kws)] or _REMARKS[t]
        texts.append(tmpl[rng.integers(len(tmpl))].format(kw=kws[0] if kws else ""))

    seconds = rng.integers(8 * 3600, 19 * 3600, size=m)
    inter = pd.DataFrame({
        "customer_id": cust["customer_id"].to_numpy()[i_cust],
        "date": (_to_dates(start, i_day) + pd.to_timedelta(seconds, unit="s")).as_unit("s"),
        "type": type_name, "type_canonical": [INTERACTION_TYPES[t][1] for t in type_name],
        "score": score, "score_raw": score_raw, "keywords": keywords, "channel": channel,
        "text": texts, "touchpoint": tp_key, "_tiebreak": rng.random(m),
    })
    return inter.sort_values(["date", "_tiebreak"], kind="stable").drop(columns="_tiebreak").reset_index(drop=True)


def _assign_order_ids(days: np.ndarray, origin: pd.Timestamp, rng: np.random.Generator) -> np.ndarray:
    """Order ids ``SO`` + yyyymmdd + a 4-digit sequence within the day."""
    ord_ = np.lexsort((rng.random(len(days)), days))
    seq = np.empty(len(days), dtype=int)
    sorted_days = days[ord_]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_days)) + 1]
    run = np.arange(len(days)) - np.repeat(starts, np.diff(np.r_[starts, len(days)]))
    seq[ord_] = run + 1
    stamps = _to_dates(origin, days).strftime("%Y%m%d")
    return np.array([f"SO{s}{q:04d}" for s, q in zip(stamps, seq)], dtype=object)


# --------------------------------------------------------------------------------------
# The exports
# --------------------------------------------------------------------------------------


def _orders_export(rng: np.random.Generator, orders: pd.DataFrame, cust: pd.DataFrame,
                   start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders as the ERP would export them, with refunds, cancellations and defects added.

    Returns the truth with order ids, refunds and net amounts, and the export frame
    (Chinese headers, strings; hidden ``_defect`` / ``_*_format`` columns label each row).
    """
    n_true = len(orders)
    n_days = (end - start).days
    cnt = {k: _count(r, n_true) for k, r in ORDER_DEFECT_RATES.items()}
    ids_ordering = cust.loc[cust["has_orders"], "customer_id"].to_numpy()

    # extra single-defect order rows, drawn from true orders as templates
    extra_kinds = ["missing_customer_id", "unparseable_date", "future_date", "zero_amount",
                   "cancelled", "test_account", "unparseable_amount"]
    kinds = np.array([k for k in extra_kinds for _ in range(cnt[k])], dtype=object)
    tmpl = orders.iloc[rng.integers(n_true, size=len(kinds))].reset_index(drop=True)
    extra = tmpl.drop(columns=["new_category"]).copy()
    extra["customer_id"] = ids_ordering[rng.integers(len(ids_ordering), size=len(kinds))]
    shift = rng.integers(-20, 21, size=len(kinds))
    day = np.clip(extra["_day"].to_numpy() + shift, 0, n_days)
    fut = kinds == "future_date"
    day[fut] = n_days + rng.integers(1, 271, size=int(fut.sum()))
    extra["_day"] = day
    extra["order_date"] = _to_dates(start, day).as_unit("s")
    # not a copy of the template: another amount, margin and quantity
    extra["amount"] = np.round(extra["amount"].to_numpy() * rng.uniform(0.6, 1.4, len(kinds)), 2)
    extra["margin"] = np.round(np.clip(extra["margin"].to_numpy() + rng.normal(0, 0.03, len(kinds)), 0.1, 0.5), 3)
    extra["quantity"] = np.maximum(1, np.round(extra["quantity"].to_numpy() * rng.uniform(0.5, 1.5, len(kinds)))).astype(int)
    extra["status"] = np.where(kinds == "cancelled", "已取消", "已完成")
    extra["days_overdue"] = 0
    extra["_defect"] = kinds

    # order ids for true orders and extra rows together (unique per day)
    truth = orders.drop(columns="new_category").copy()
    truth["_defect"] = ""
    both = pd.concat([truth, extra], ignore_index=True)
    both.insert(1, "order_id", _assign_order_ids(both["_day"].to_numpy(), start, rng))
    orders = orders.assign(order_id=both["order_id"].to_numpy()[:n_true])
    extra = both.iloc[n_true:].reset_index(drop=True)
    truth = both.iloc[:n_true].reset_index(drop=True)

    # refunds: separate negative rows referencing a true order (upgraders' orders spared)
    upg_ids = cust.loc[cust["archetype"] == "upgrader", "customer_id"]
    eligible = np.flatnonzero(~orders["customer_id"].isin(upg_ids).to_numpy() & ~orders["new_category"].to_numpy())
    ref_idx = np.sort(rng.choice(eligible, size=cnt["refund"], replace=False))
    full = rng.random(len(ref_idx)) < REFUND_FULL_SHARE
    paid = orders["amount"].to_numpy()[ref_idx]
    ref_amount = np.where(full, paid, np.round(paid * rng.uniform(0.1, 0.7, len(ref_idx)), 2))
    refunds = truth.iloc[ref_idx].reset_index(drop=True)
    ref_day = np.minimum(refunds["_day"].to_numpy() + rng.integers(3, 61, size=len(ref_idx)), n_days)
    refunds["_day"] = ref_day
    refunds["order_date"] = _to_dates(start, ref_day).as_unit("s")
    refunds["amount"] = -ref_amount
    qty = refunds["quantity"].to_numpy()
    refunds["quantity"] = -np.where(full, qty, np.maximum(1, np.round(qty * ref_amount / paid))).astype(int)
    refunds["status"] = "退款"
    refunds["days_overdue"] = 0
    refunds["_defect"] = "refund"
    refunds["_refund_kind"] = np.where(full, "full", "partial")
    refund_per_order = np.zeros(n_true)
    refund_per_order[ref_idx] = ref_amount
    orders["refund_amount"] = refund_per_order
    orders["net_amount"] = np.round(orders["amount"] - orders["refund_amount"], 2)

    # the formatted rows: true orders, refunds, extra defect rows
    rows = pd.concat([truth, refunds, extra], ignore_index=True)
    m = len(rows)
    id_fmt = _pick(rng, ID_FORMATS, m)
    date_fmt = _pick(rng, DATE_FORMATS, m)
    amt_fmt = _pick(rng, AMOUNT_FORMATS, m)
    is_refund = (rows["_defect"] == "refund").to_numpy()
    amt_fmt[is_refund] = np.where(rng.random(int(is_refund.sum())) < REFUND_PARENTHESES_SHARE, "parentheses", "plain")
    defect = rows["_defect"].to_numpy()

    cid = [_format_id(c, k, rng) for c, k in zip(rows["customer_id"], id_fmt)]
    dates = _format_dates(pd.DatetimeIndex(rows["order_date"]), date_fmt, rng)
    amounts = [_format_amount(v, k) for v, k in zip(rows["amount"], amt_fmt)]
    for j in np.flatnonzero(defect == "missing_customer_id"):
        cid[j], id_fmt[j] = ["", " ", "\u3000"][rng.integers(3)], "missing"
    for j in np.flatnonzero(defect == "test_account"):
        cid[j], id_fmt[j] = TEST_ACCOUNT_IDS[rng.integers(len(TEST_ACCOUNT_IDS))], "test"
    for j in np.flatnonzero(defect == "unparseable_date"):
        dates[j], date_fmt[j] = UNPARSEABLE_DATES[rng.integers(len(UNPARSEABLE_DATES))], "unparseable"
    for j in np.flatnonzero(defect == "zero_amount"):
        amounts[j], amt_fmt[j] = ZERO_AMOUNTS[rng.integers(len(ZERO_AMOUNTS))], "zero"
    for j in np.flatnonzero(defect == "unparseable_amount"):
        amounts[j], amt_fmt[j] = UNPARSEABLE_AMOUNTS[rng.integers(len(UNPARSEABLE_AMOUNTS))], "unparseable"

    export = pd.DataFrame({
        "客户编号": cid, "订单编号": rows["order_id"].to_numpy(), "订单日期": dates, "实付金额": amounts,
        "毛利率": [f"{v:.3f}" for v in rows["margin"]], "产品类别": rows["category"].to_numpy(),
        "渠道": rows["channel"].to_numpy(), "数量": [str(int(v)) for v in rows["quantity"]],
        "订单状态": rows["status"].to_numpy(), "逾期天数": [str(int(v)) for v in rows["days_overdue"]],
    }, dtype="str")
    export["_defect"] = defect
    export["_refund_kind"] = rows.get("_refund_kind", pd.Series(index=rows.index, dtype="str")).fillna("").to_numpy()
    export["_amount"] = rows["amount"].to_numpy()
    export["_id_format"], export["_date_format"], export["_amount_format"] = id_fmt, date_fmt, amt_fmt
    sort_day = rows["_day"].to_numpy().astype(float)

    # exact duplicates of true rows, next to their original
    dup_src = np.sort(rng.choice(n_true, size=cnt["duplicate_rows"], replace=False))
    dups = export.iloc[dup_src].copy()
    dups["_defect"] = "duplicate_rows"
    export = pd.concat([export, dups], ignore_index=True)
    sort_day = np.concatenate([sort_day, sort_day[dup_src]])
    # by date, in random order within a day; defect rows sit at their template's date
    order = np.lexsort((rng.random(len(export)), sort_day))
    export = export.iloc[order].reset_index(drop=True)

    orders = orders.drop(columns=["_tiebreak"]).rename(columns={"_day": "day"})
    orders = orders[["customer_id", "order_id", "order_date", "amount", "refund_amount", "net_amount",
                     "margin", "category", "channel", "quantity", "status", "days_overdue", "new_category"]]
    return orders, export


def _customers_export(rng: np.random.Generator, master: pd.DataFrame, cust: pd.DataFrame) -> pd.DataFrame:
    """The master-data sheet: some ordering customers missing, older duplicate rows added."""
    n = len(master)
    ordering = cust["has_orders"].to_numpy()
    arche = cust["archetype"].to_numpy()
    n_absent = _count(MASTER_DEFECT_RATES["ordering_customer_absent"], int(ordering.sum()))
    # master not yet updated for some new customers; the rest are small accounts
    new_pool = np.flatnonzero(arche == "new")
    small_pool = np.flatnonzero(np.isin(arche, ["low", "medium", "potential"]))
    n_from_new = min(len(new_pool), int(round(0.4 * n_absent)))
    absent = np.concatenate([rng.choice(new_pool, size=n_from_new, replace=False),
                             rng.choice(small_pool, size=n_absent - n_from_new, replace=False)])
    in_master = np.ones(n, dtype=bool)
    in_master[absent] = False

    rows = master[in_master].copy()
    rows["_defect"] = ""
    n_dup = _count(MASTER_DEFECT_RATES["older_duplicate"], len(rows))
    src = np.sort(rng.choice(len(rows), size=n_dup, replace=False))
    old = rows.iloc[src].copy()
    old["_defect"] = "older_duplicate"
    old["updated_at"] = (old["updated_at"] - pd.to_timedelta(rng.integers(200, 700, size=n_dup), unit="D")).dt.floor("s")
    old["contact_name"] = _person_names(rng, n_dup)
    old["contact_phone"] = _phones(rng, n_dup)
    old["employees"] = np.maximum(5, np.round(old["employees"].to_numpy() * rng.uniform(0.6, 0.95, n_dup))).astype(int)
    old["growth_stage"] = np.where(old["growth_stage"] == "成熟", "成长", "初创")
    old["account_manager"] = np.array(ACCOUNT_MANAGERS, dtype=object)[rng.integers(len(ACCOUNT_MANAGERS), size=n_dup)]
    rows = pd.concat([rows, old], ignore_index=True)
    # sorted by id; the older copy before or after the current one
    rows = rows.iloc[np.lexsort((rng.random(len(rows)), rows["customer_id"].to_numpy()))].reset_index(drop=True)

    yn = {True: "是", False: "否"}
    export = pd.DataFrame({
        "客户编号": rows["customer_id"], "客户名称": rows["name"], "所属行业": rows["industry"],
        "所在区域": rows["region"], "员工人数": rows["employees"], "年营收(万元)": rows["annual_revenue"],
        "联系人": rows["contact_name"], "联系人职位": rows["contact_title"], "联系电话": rows["contact_phone"],
        "首次合作日期": rows["first_cooperation_date"], "合同到期日": rows["contract_end_date"],
        "成长阶段": rows["growth_stage"], "战略合作伙伴": rows["strategic_partner"].map(yn),
        "行业龙头": rows["industry_leader"].map(yn), "扩张计划": rows["expansion_plan"],
        "转介绍次数": rows["referrals"], "客户经理": rows["account_manager"], "更新时间": rows["updated_at"],
    })
    export["_defect"] = rows["_defect"].to_numpy()
    return export


def _interactions_export(rng: np.random.Generator, inter: pd.DataFrame) -> pd.DataFrame:
    """Interactions as the CRM exports them, plus rows without id or with a broken date."""
    n_true = len(inter)
    cnt = {k: _count(r, n_true) for k, r in INTERACTION_DEFECT_RATES.items()}
    kinds = np.array([k for k, c in cnt.items() for _ in range(c)], dtype=object)
    extra = inter.iloc[rng.integers(n_true, size=len(kinds))].copy()
    rows = pd.concat([inter, extra], ignore_index=True)
    defect = np.concatenate([np.full(n_true, "", dtype=object), kinds])

    slash = rng.random(len(rows)) < 0.1
    dates = pd.DatetimeIndex(rows["date"])
    text_dates = np.where(slash, [f"{d.year}/{d.month}/{d.day} {d.hour:02d}:{d.minute:02d}" for d in dates],
                          dates.strftime("%Y-%m-%d %H:%M:%S").to_numpy()).astype(object)
    cid = rows["customer_id"].to_numpy().copy()
    for j in np.flatnonzero(defect == "missing_customer_id"):
        cid[j] = ""
    for j in np.flatnonzero(defect == "unparseable_date"):
        text_dates[j] = ["未知", "2025-02-30 10:00:00", "--", "2024-13-01"][rng.integers(4)]
    score = rows["score_raw"].to_numpy()
    export = pd.DataFrame({
        "客户编号": cid, "互动日期": text_dates, "互动类型": rows["type"].to_numpy(),
        "满意度": ["" if np.isnan(s) else str(int(s)) for s in score],
        "关键词": rows["keywords"].to_numpy(), "渠道": rows["channel"].to_numpy(), "备注": rows["text"].to_numpy(),
    }, dtype="str")
    export["_defect"] = defect
    # defect rows sit among the others, by their template's date
    order = np.lexsort((np.arange(len(rows)), rows["date"].to_numpy()))
    return export.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def generate_b2b(n_customers: int = DEFAULT_CUSTOMERS, seed: int = DEFAULT_SEED,
                 start: str = DEFAULT_START, end: str = DEFAULT_END) -> dict[str, pd.DataFrame]:
    """Draw the synthetic B2B company: clean truth and defective exports.

    Parameters
    ----------
    n_customers : int
        Customers in the master universe (ordering customers plus about 3 % prospects
        without orders).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same frames.
    start, end : str
        First and last day of the order history; ``end`` is the demo run's ``as_of``.

    Returns
    -------
    dict of str to DataFrame
        Truth, canonical column names (``kit.config.CANONICAL_COLUMNS``) plus labels:

        * ``customers``: ``customer_id, name, industry, ..., updated_at`` plus
          ``archetype, churner_group, in_master, has_orders, first_order_date,
          last_order_date, new_category_last_quarter, complainer, late_payer, dropout_date``
          (the last order of a customer who has dropped out by ``end``, NaT while active).
        * ``orders``: ``customer_id, order_id, order_date, amount, refund_amount,
          net_amount, margin, category, channel, quantity, status, days_overdue,
          new_category`` (only real purchases; ``amount`` as paid, ``net_amount`` after
          refunds).
        * ``interactions``: ``customer_id, date, type, type_canonical, score`` (0-100),
          ``score_raw`` (as exported), ``keywords, channel, text, touchpoint``.

        Exports, string cells under the Chinese headers, as written to disk, with hidden
        label columns starting with ``_`` (``_defect`` names the injected defect or is empty):
        ``orders_export``, ``customers_export``, ``interactions_export``.
    """
    if n_customers < 50:
        raise ValueError(f"n_customers must be at least 50 (got {n_customers})")
    rng = np.random.default_rng(seed)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    if t1 <= t0 + pd.DateOffset(months=18):
        raise ValueError("the window from start to end must be longer than 18 months")

    cust = _draw_customers(rng, n_customers, t0, t1)
    orders, dropout_day = _draw_orders(rng, cust, t0, t1)
    cust["dropped"] = ~np.isnan(dropout_day)
    cust["death_day"] = np.where(cust["dropped"], dropout_day + 1, (t1 - t0).days + 1.0)
    master = _customer_master(rng, cust, t0, t1)
    cats = orders.groupby("customer_id")["category"].agg(lambda s: ",".join(sorted(set(s))))
    inter = _draw_interactions(rng, cust, cats, t0, t1)

    # referrals in the master: the logged ones plus some from before the window
    logged = inter.loc[inter["type"] == "转介绍"].groupby("customer_id").size()
    master["referrals"] = (logged.reindex(master["customer_id"]).fillna(0).to_numpy().astype(int)
                           + rng.poisson(0.2, len(master)))
    master = master[[c for c in CUSTOMERS_HEADERS.values()] + ["industry_growth"]]

    orders, orders_export = _orders_export(rng, orders, cust, t0, t1)
    customers_export = _customers_export(rng, master, cust)
    interactions_export = _interactions_export(rng, inter)

    firsts = orders.groupby("customer_id")["order_date"].agg(["min", "max"])
    customers = master.assign(
        archetype=cust["archetype"].to_numpy(), churner_group=cust["churner_group"].to_numpy(),
        in_master=master["customer_id"].isin(customers_export["客户编号"]).to_numpy(),
        has_orders=cust["has_orders"].to_numpy(),
        first_order_date=firsts["min"].reindex(master["customer_id"]).to_numpy(),
        last_order_date=firsts["max"].reindex(master["customer_id"]).to_numpy(),
        new_category_last_quarter=master["customer_id"].isin(
            orders.loc[orders["new_category"], "customer_id"]).to_numpy(),
        complainer=cust["complainer"].to_numpy(), late_payer=cust["late_payer"].to_numpy(),
        dropout_date=firsts["max"].reindex(master["customer_id"]).where(cust["dropped"].to_numpy())
        .to_numpy(),
    )
    return {
        "customers": customers, "orders": orders, "interactions": inter,
        "orders_export": orders_export, "customers_export": customers_export,
        "interactions_export": interactions_export,
    }


def value_tiers(orders: pd.DataFrame, as_of: str | pd.Timestamp = DEFAULT_END,
                high_min: float = 500_000, medium_min: float = 100_000,
                window_months: int = 12) -> pd.DataFrame:
    """Trailing-window net amount and value tier per ordering customer of the truth.

    ``customer_id, order_date, net_amount`` -> ``customer_id, amount_12m, tier`` (high /
    medium / low). Used to describe the sample; the kit's own tiers live in ``layering``.
    """
    as_of = pd.Timestamp(as_of)
    lo = as_of - pd.DateOffset(months=window_months)
    recent = orders[(orders["order_date"] > lo) & (orders["order_date"] <= as_of)]
    amt = recent.groupby("customer_id")["net_amount"].sum()
    amt = amt.reindex(orders["customer_id"].unique(), fill_value=0.0).rename("amount_12m")
    tier = np.where(amt >= high_min, "high", np.where(amt >= medium_min, "medium", "low"))
    return pd.DataFrame({"customer_id": amt.index, "amount_12m": amt.to_numpy(), "tier": tier})


def build_manifest(data: dict[str, pd.DataFrame], *, seed: int, n_customers: int,
                   start: str, end: str) -> dict[str, Any]:
    """The injected counts and the truth's key figures, for tests of the cleaner.

    Every count is measured on the frames :func:`generate_b2b` returned, so it is exactly
    what the files hold.
    """
    o, ox = data["orders"], data["orders_export"]
    c, cx = data["customers"], data["customers_export"]
    i, ix = data["interactions"], data["interactions_export"]
    as_of = pd.Timestamp(end)

    def rows(frame: pd.DataFrame, label: str) -> pd.DataFrame:
        return frame[frame["_defect"] == label]

    def money(x: float) -> float:
        return round(float(x), 2)

    order_defects: dict[str, Any] = {}
    for key, rate in ORDER_DEFECT_RATES.items():
        sel = rows(ox, key)
        entry: dict[str, Any] = {"rate": rate, "count": int(len(sel))}
        if key not in ("zero_amount", "unparseable_amount"):
            entry["amount"] = money(sel["_amount"].sum())
        order_defects[key] = entry
    ref = rows(ox, "refund")
    order_defects["refund"].update({
        "full": int((ref["_refund_kind"] == "full").sum()),
        "partial": int((ref["_refund_kind"] == "partial").sum()),
        "parentheses": int((ref["_amount_format"] == "parentheses").sum()),
        "orders_referenced": int(ref["订单编号"].nunique()),
    })
    valid = ox[ox["_defect"] == ""]

    def fmt_counts(col: str, frame: pd.DataFrame) -> dict[str, int]:
        return {k: int(v) for k, v in frame[col].value_counts().sort_index().items()}

    ordering = c[c["has_orders"]]
    dup_ids = sorted(rows(cx, "older_duplicate")["客户编号"].unique().tolist())
    absent = sorted(c.loc[c["has_orders"] & ~c["in_master"], "customer_id"].tolist())
    no_orders = sorted(c.loc[~c["has_orders"] & c["in_master"], "customer_id"].tolist())
    master_rows = int(len(cx))

    tiers = value_tiers(o, as_of)
    tier_counts = tiers["tier"].value_counts()
    q = o.assign(q=o["order_date"].dt.to_period("Q"))
    q_this = as_of.to_period("Q")
    qsum = q.groupby(["customer_id", "q"])["net_amount"].sum().unstack(fill_value=0.0)
    qcols = [q_this - 2, q_this - 1, q_this]
    qsum = qsum.reindex(columns=qcols, fill_value=0.0)
    grow = ((qsum[qcols[0]] > 0) & (qsum[qcols[1]] >= 1.2 * qsum[qcols[0]])
            & (qsum[qcols[2]] >= 1.2 * qsum[qcols[1]]))
    last = o.groupby("customer_id")["order_date"].max()
    six = last <= as_of - pd.DateOffset(months=6)
    hv_inactive = sorted(set(tiers.loc[tiers["tier"] == "high", "customer_id"]) & set(last[six].index))
    new = c[c["first_order_date"].dt.to_period("Q") == q_this].sort_values("customer_id")
    tp = i[i["touchpoint"] != ""]
    onboarding = {
        key: {"days_after_first_order": off, "types": types, "chance": p,
              "due": int(((new["first_order_date"] + pd.Timedelta(days=off)) <= as_of).sum()),
              "logged": int((tp["touchpoint"] == key).sum())}
        for key, (off, types, p) in ONBOARDING.items()
    }

    return {
        "generator": {"module": "kit.datasets", "function": "generate_b2b", "seed": seed,
                      "n_customers": n_customers, "start": start, "end": end,
                      "as_of": end, "period": str(q_this).replace("Q", "-Q")},
        "files": {
            ORDERS_FILE: {"encoding": ORDERS_ENCODING, "rows": int(len(ox)), "columns": list(ORDERS_HEADERS)},
            CUSTOMERS_FILE: {"sheet": CUSTOMERS_SHEET, "title_rows": 2, "header_row": 2,
                             "rows": master_rows, "columns": list(CUSTOMERS_HEADERS)},
            INTERACTIONS_FILE: {"encoding": INTERACTIONS_ENCODING, "rows": int(len(ix)),
                                "columns": list(INTERACTIONS_HEADERS)},
        },
        "orders": {
            "rows": int(len(ox)), "true_orders": int(len(o)),
            "true_amount": money(o["amount"].sum()), "refunded_amount": money(o["refund_amount"].sum()),
            "net_amount": money(o["net_amount"].sum()), "customers": int(o["customer_id"].nunique()),
            "rows_balance": "rows = true_orders + sum of defects' counts (refund rows included)",
            "defects": order_defects,
            "formats": {"order_date": fmt_counts("_date_format", valid),
                        "amount": fmt_counts("_amount_format", valid),
                        "customer_id": fmt_counts("_id_format", valid)},
            "status_true_orders": {k: int(v) for k, v in o["status"].value_counts().sort_index().items()},
            "overdue_true_orders": int((o["days_overdue"] > 0).sum()),
        },
        "customers": {
            "rows": master_rows, "unique_ids": int(cx["客户编号"].nunique()),
            "older_duplicate": {"rate": MASTER_DEFECT_RATES["older_duplicate"], "count": len(dup_ids), "ids": dup_ids},
            "ordering_customer_absent": {"rate": MASTER_DEFECT_RATES["ordering_customer_absent"],
                                         "count": len(absent), "ids": absent},
            "master_without_orders": {"rate": MASTER_DEFECT_RATES["master_without_orders"],
                                      "count": len(no_orders), "ids": no_orders},
            "strategic_partners": int(c["strategic_partner"].sum()),
            "industry_leaders": int(c["industry_leader"].sum()),
            "missing_account_manager": int(c["account_manager"].isna().sum()),
        },
        "interactions": {
            "rows": int(len(ix)), "true_interactions": int(len(i)),
            "defects": {k: {"rate": r, "count": int((ix["_defect"] == k).sum())}
                        for k, r in INTERACTION_DEFECT_RATES.items()},
            "types": {k: int(v) for k, v in i["type"].value_counts().sort_index().items()},
            "score_scale": {"0-10": SCORE_SCALE_0_10_CHANNELS, "0-100": "every other channel"},
            "scores_below_40": int((i["score"] < 40).sum()),
        },
        "truth": {
            "archetypes": {k: int(v) for k, v in c["archetype"].value_counts().sort_index().items()},
            "value_tiers_12m": {
                "customers": int(len(tiers)),
                **{t: int(tier_counts.get(t, 0)) for t in ("high", "medium", "low")},
                "above_5m": int((tiers["amount_12m"] > 5_000_000).sum()),
                "basis": "net amount (after refunds) of true orders, order_date in (as_of - 12 months, as_of]",
            },
            "upgrade_growth_2q": {"count": int(grow.sum()), "ids": sorted(grow[grow].index.tolist()),
                                  "rule": ">= 20 % quarter-on-quarter net amount growth in each of the last 2 quarters"},
            "new_category_last_quarter": {
                "count": int(c["new_category_last_quarter"].sum()),
                "ids": sorted(c.loc[c["new_category_last_quarter"], "customer_id"].tolist())},
            "high_value_inactive_6m": {"count": len(hv_inactive), "ids": hv_inactive},
            "new_customers": {
                "count": int(len(new)),
                "first_order_last_30_days": int((new["first_order_date"] > as_of - pd.Timedelta(days=30)).sum()),
                "onboarding": onboarding,
                "logged": {cid: sorted(g["touchpoint"].tolist()) for cid, g in tp.groupby("customer_id")},
            },
            "churners": {k: int(v) for k, v in
                         c.loc[c["archetype"] == "churner", "churner_group"].value_counts().sort_index().items()},
            "ordering_customers": int(len(ordering)),
        },
    }


def write_sample(out_dir: str | Path = paths.SAMPLE_DIR, seed: int = DEFAULT_SEED,
                 n_customers: int = DEFAULT_CUSTOMERS, start: str = DEFAULT_START,
                 end: str = DEFAULT_END) -> dict[str, Any]:
    """Generate the sample and write it as a real export would look.

    Writes ``orders.csv`` (GBK), ``customers.xlsx`` (sheet 客户主数据, a title row and a
    blank row above the header), ``interactions.csv`` (UTF-8 with BOM), ``manifest.json``
    and ``README.md`` into ``out_dir`` (created if needed).

    Returns
    -------
    dict
        The manifest (also written to ``manifest.json``).
    """
    out = paths.resolve(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate_b2b(n_customers=n_customers, seed=seed, start=start, end=end)
    public = lambda df: df[[c for c in df.columns if not c.startswith("_")]]  # noqa: E731
    public(data["orders_export"]).to_csv(out / ORDERS_FILE, index=False, encoding=ORDERS_ENCODING,
                                         lineterminator=LINE_TERMINATOR)
    public(data["interactions_export"]).to_csv(out / INTERACTIONS_FILE, index=False,
                                               encoding=INTERACTIONS_ENCODING, lineterminator=LINE_TERMINATOR)
    _write_customers_xlsx(public(data["customers_export"]), out / CUSTOMERS_FILE, as_of=end)
    manifest = build_manifest(data, seed=seed, n_customers=n_customers, start=start, end=end)
    manifest["files"][ORDERS_FILE]["bytes"] = (out / ORDERS_FILE).stat().st_size
    manifest["files"][INTERACTIONS_FILE]["bytes"] = (out / INTERACTIONS_FILE).stat().st_size
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    readme = render_readme(manifest, dynamics=sample_dynamics(data, end))
    (out / README_FILE).write_text(readme, encoding="utf-8")
    return manifest


def _write_customers_xlsx(frame: pd.DataFrame, path: Path, as_of: str) -> None:
    """One sheet: a title row, a blank row, the header, then the rows (ids and phones as text)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = CUSTOMERS_SHEET
    ws.append([f"客户主数据导出 截至{as_of}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(list(frame.columns))
    for cell in ws[3]:
        cell.font = Font(bold=True)
    date_cols = {"首次合作日期", "合同到期日"}
    for rec in frame.itertuples(index=False):
        values: list[Any] = []
        for col, v in zip(frame.columns, rec):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                values.append(None)
            elif col in date_cols:
                values.append(pd.Timestamp(v).date())
            elif isinstance(v, pd.Timestamp):
                values.append(v.to_pydatetime())
            elif isinstance(v, np.integer):
                values.append(int(v))
            elif isinstance(v, np.floating):
                values.append(float(v))
            else:
                values.append(v)
        ws.append(values)
    for col_idx, col in enumerate(frame.columns, start=1):
        fmt = {"首次合作日期": "yyyy-mm-dd", "合同到期日": "yyyy-mm-dd", "更新时间": "yyyy-mm-dd hh:mm:ss",
               "客户编号": "@", "联系电话": "@"}.get(col)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=4, min_col=col_idx, max_col=col_idx):
                cell.number_format = fmt
    ws.freeze_panes = "A4"
    stamp = dt.datetime.fromisoformat(as_of)
    wb.properties.creator = "kit.datasets"
    wb.properties.created = stamp
    wb.save(path)
    _pin_zip_times(path, stamp)


def _span(r: tuple[float, float]) -> str:
    return f"{r[0]:g}-{r[1]:g}"


def _years(r: tuple[float, float]) -> str:
    return "never" if not np.isfinite(r[0]) else _span(r)


def _pin_zip_times(path: Path, stamp: dt.datetime) -> None:
    """Rewrite an xlsx with fixed entry times and modified date, so reruns are byte-identical.

    openpyxl stamps both with the time of saving.
    """
    import re
    import zipfile

    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, payload in entries:
            if name == "docProps/core.xml":
                payload = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + iso + rb"\2", payload)
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, payload)


def sample_dynamics(data: dict[str, pd.DataFrame], as_of: str | pd.Timestamp = DEFAULT_END) -> dict[str, Any]:
    """Drop-out and spend figures of the truth, for the README (not part of the manifest).

    ``first_order_by_year``: ordering customers by the year of their first order in the window;
    ``dropped``: ordering customers who have dropped out by ``as_of``, ``dropped_by_year``:
    by the year of their last order. ``corr_frequency_spend``: Pearson correlation of
    frequency (repeat purchase days) and monetary value (mean amount of those days) over the
    ``repeat_buyers``, computed the lifetimes way on the net amounts of the true orders, as
    ``kit.clv.fit_gamma_gamma`` checks it.
    """
    c, o = data["customers"], data["orders"]
    as_of = pd.Timestamp(as_of)
    ordering = c[c["has_orders"]]
    gone = ordering["dropout_date"].dropna()
    paid = o[(o["net_amount"] > 0) & (o["order_date"] <= as_of)]
    daily = paid.groupby(["customer_id", paid["order_date"].dt.normalize()])["net_amount"].sum().reset_index()
    daily = daily.sort_values(["customer_id", "order_date"], kind="stable")
    repeat = daily[daily.groupby("customer_id").cumcount() > 0]
    per = repeat.groupby("customer_id")["net_amount"].agg(["size", "mean"])
    corr = float(np.corrcoef(per["size"], per["mean"])[0, 1]) if len(per) > 2 else float("nan")
    return {
        "first_order_by_year": {int(k): int(v) for k, v in
                                ordering["first_order_date"].dt.year.value_counts().sort_index().items()},
        "dropped": int(len(gone)),
        "dropped_by_year": {int(k): int(v) for k, v in gone.dt.year.value_counts().sort_index().items()},
        "repeat_buyers": int(len(per)),
        "corr_frequency_spend": round(corr, 3),
    }


def render_readme(manifest: dict[str, Any], dynamics: dict[str, Any] | None = None) -> str:
    """``data/sample/README.md``: what the files are and every injected rate and count.

    ``dynamics`` (:func:`sample_dynamics`) adds the drop-outs by year and the
    frequency / spend correlation; without it those figures are left out.
    """
    g, o, c, i, t = (manifest[k] for k in ("generator", "orders", "customers", "interactions", "truth"))
    f = manifest["files"]
    why = {
        "duplicate_rows": "the same order exported twice (overlapping exports, re-sent batches)",
        "missing_customer_id": "manual entries without a customer (blank, space or full-width space)",
        "unparseable_date": "broken or placeholder dates: " + ", ".join(UNPARSEABLE_DATES),
        "future_date": "orders dated after as_of (pre-booked, typing errors)",
        "zero_amount": "zero-value rows (samples, free replacements): " + ", ".join(ZERO_AMOUNTS),
        "cancelled": "cancelled orders, status 已取消; never purchases",
        "refund": "refunds as separate rows, status 退款, negative amount, same 订单编号 as the order they refund",
        "test_account": "test customers: " + ", ".join(TEST_ACCOUNT_IDS),
        "unparseable_amount": "amounts not yet known: " + ", ".join(UNPARSEABLE_AMOUNTS),
    }
    lines = [
        "# Sample data: a synthetic B2B customer base",
        "",
        f"Made by `python -m kit.datasets --out data/sample --seed {g['seed']} --customers {g['n_customers']}`",
        "(`make sample-data`). Do not edit by hand: the files, `manifest.json` and this page are",
        "regenerated together, and the same seed gives byte-identical files.",
        "",
        "A fictional supplier of industrial equipment and services in China. Customers are businesses",
        "(新能源汽车制造, 电子制造, 医药, 化工, 食品饮料, 机械加工, 物流, 零售连锁, 互联网) in seven regions",
        f"(长三角 ... 西北). Orders run from {g['start']} to {g['end']}; the demo run's as_of is {g['as_of']},"
        f" period {g['period']}. Everything is invented; names and phone numbers belong to nobody.",
        "",
        "## Files",
        "",
        "| file | what | encoding | rows |",
        "|---|---|---|---|",
        f"| `orders.csv` | orders, refunds, cancellations | GBK, CRLF | {f['orders.csv']['rows']} |",
        f"| `customers.xlsx` | customer master, sheet `客户主数据`: title row, blank row, header on row 3 | xlsx | {f['customers.xlsx']['rows']} |",
        f"| `interactions.csv` | CRM interactions | UTF-8 with BOM, CRLF | {f['interactions.csv']['rows']} |",
        "| `manifest.json` | exact injected counts and key figures of the truth | UTF-8 | |",
        "",
        "Headers:",
        "",
        "* orders: " + ", ".join(ORDERS_HEADERS),
        "* customers: " + ", ".join(CUSTOMERS_HEADERS),
        "* interactions: " + ", ".join(INTERACTIONS_HEADERS),
        "",
        "Customer ids are six-digit strings with leading zeros (`000123`): read them as text.",
        "Order ids are `SO` + order date + a 4-digit sequence (`SO202401050003`).",
        "",
        "## Injected defects (DOMAIN.md section 1)",
        "",
        "Every defect row is **added** to the true orders; none replaces one, and each carries",
        "exactly one defect. A correct cleaner keeps exactly the true orders (refunds netted",
        "against their orders) and quarantines the rest. Rates are a share of the true rows of",
        "the same table; the count is what the file holds.",
        "",
        f"### orders.csv ({o['true_orders']} true orders, {o['rows']} rows)",
        "",
        "| defect | rate | count | amount | why |",
        "|---|---|---|---|---|",
    ]
    for k, d in o["defects"].items():
        amount = f"{d['amount']:,.2f}" if "amount" in d else ""
        lines.append(f"| {k} | {d['rate']:.1%} | {d['count']} | {amount} | {why[k]} |")
    r = o["defects"]["refund"]
    lines += [
        "",
        f"Refunds: {r['full']} full and {r['partial']} partial, referencing {r['orders_referenced']} orders;"
        f" {r['parentheses']} are written in parentheses, `(1,234.00)`, the others with a minus sign."
        f" Refunded in total: {o['refunded_amount']:,.2f}. Duplicates are copies of true orders"
        " (amount column: what double counting would add).",
        "",
        "Format variety on the valid rows (cleanable, not defects):",
        "",
        "| column | format | rows |",
        "|---|---|---|",
    ]
    examples = {
        "order_date": {"iso": "2024-01-05", "iso_time": "2024-01-05 14:30:00", "slash": "2024/1/5",
                       "compact": "20240105", "chinese": "2024年1月5日"},
        "amount": {"plain": "12345.60", "thousands": "12,345.60", "yuan_fullwidth": "￥12,345.60",
                   "rmb": "RMB 12,345.60", "fullwidth_digits": "１２３４５.６０"},
        "customer_id": {"plain": "000123", "spaces": "' 000123', '000123 '",
                        "fullwidth_space": "'\u3000000123' (U+3000 before or after)"},
    }
    for col, counts in o["formats"].items():
        for k, v in counts.items():
            lines.append(f"| {col} | {k}: `{examples[col][k]}` | {v} |")
    lines += [
        "",
        "`￥` is the full-width yuan sign: the half-width `¥` (U+00A5) has no GBK code, so a GBK",
        "export cannot hold it. Statuses of true orders: "
        + ", ".join(f"{k} {v}" for k, v in o["status_true_orders"].items())
        + f"; {o['overdue_true_orders']} true orders have 逾期天数 > 0.",
        "",
        "### customers.xlsx",
        "",
        "| defect | rate | count | why |",
        "|---|---|---|---|",
        f"| older_duplicate | {c['older_duplicate']['rate']:.0%} of master rows | {c['older_duplicate']['count']}"
        " | a second row for the same 客户编号 with an older 更新时间 (old contact, phone, size, stage); keep the latest |",
        f"| ordering_customer_absent | {c['ordering_customer_absent']['rate']:.0%} of ordering customers |"
        f" {c['ordering_customer_absent']['count']} | customers with orders but no master row (many are new this quarter) |",
        f"| master_without_orders | {c['master_without_orders']['rate']:.0%} of customers |"
        f" {c['master_without_orders']['count']} | signed-up prospects that never ordered |",
        "",
        f"{c['rows']} rows, {c['unique_ids']} distinct ids; {c['strategic_partners']} strategic partners,"
        f" {c['industry_leaders']} industry leaders, {c['missing_account_manager']} without an account manager.",
        "The ids of each group are in `manifest.json`.",
        "",
        f"### interactions.csv ({i['true_interactions']} true interactions)",
        "",
        "| defect | rate | count | why |",
        "|---|---|---|---|",
        f"| missing_customer_id | {i['defects']['missing_customer_id']['rate']:.1%} |"
        f" {i['defects']['missing_customer_id']['count']} | interactions logged without a customer |",
        f"| unparseable_date | {i['defects']['unparseable_date']['rate']:.1%} |"
        f" {i['defects']['unparseable_date']['count']} | broken dates (未知, 2025-02-30 10:00:00, --, 2024-13-01) |",
        "",
        "Types as exported: " + ", ".join(f"{k} {v}" for k, v in i["types"].items()) + ".",
        "满意度 is 0-10 on the 短信 (SMS survey) channel and 0-100 on every other channel;",
        f"{i['scores_below_40']} scores are below 40 (on the 0-100 scale). 关键词 joins pain-point words",
        "with `、` or `,`. Dates are `YYYY-MM-DD HH:MM:SS`, about 10 % `YYYY/M/D HH:MM`.",
        "",
        "## What the truth holds",
        "",
    ]
    v = t["value_tiers_12m"]
    n_o = v["customers"]
    lines += [
        f"* Value tiers by trailing-12-month net amount at {g['as_of']}, {n_o} ordering customers:"
        f" high (>= 500,000) {v['high']} ({v['high'] / n_o:.1%}), medium (>= 100,000) {v['medium']}"
        f" ({v['medium'] / n_o:.1%}), low {v['low']} ({v['low'] / n_o:.1%}); {v['above_5m']} above 5,000,000.",
        "* Archetypes: " + ", ".join(f"{k} {n}" for k, n in t["archetypes"].items()) + ".",
        "* Customers are acquired throughout the window; those from before it place their first order of"
        " the window in its first quarter. They drop out throughout it: after each repeat purchase a customer"
        " becomes inactive with a small probability (the BG/NBD story), set per customer so that its expected"
        " active life (years, log-uniform in the archetype's range) is "
        + ", ".join(f"{k} {_years(a.lifetime)}" for k, a in ARCHETYPES.items()) + ".",
    ]
    if dynamics is not None:
        lines.append(
            "  First order in the window by year: "
            + ", ".join(f"{y} {n}" for y, n in dynamics["first_order_by_year"].items())
            + f". {dynamics['dropped']} ordering customers have dropped out by {g['as_of']}; by year of their"
            " last order: " + ", ".join(f"{y} {n}" for y, n in dynamics["dropped_by_year"].items()) + ".")
    churn_freq = " / ".join(f"{k} {_span(fq)}" for k, (_, _, fq) in zip(("high", "medium", "low"), _CHURNER_LEVELS))
    lines += [
        "* Churners drop out fastest (by value: " + ", ".join(f"{k} {n}" for k, n in t["churners"].items()) + ");"
        f" {_LAPSE_SHARE:.0%} of the high-value ones lapse, their last order falling"
        f" {_LAPSE_MONTHS[0]:g}-{_LAPSE_MONTHS[1]:g} months before {g['end']}, and"
        f" {t['high_value_inactive_6m']['count']} high-value customers have bought nothing for 6 months.",
        "* Order value follows the customer's size (annual level / orders a year), while order frequency"
        " overlaps across archetypes (orders a year: "
        + ", ".join(f"{k} {churn_freq if k == 'churner' else _span(a.freq)}" for k, a in ARCHETYPES.items())
        + f"; {_FREQ_GROWTH_SHARE:.0%} of a customer's growth raises its order count, the rest its order value)."
        " The monthly amount is seasonal (" + ", ".join(
            f"{m} x{_SEASON[i]:g}" for i, m in ((1, "February"), (11, "December")))
        + f", other months {np.delete(_SEASON, [1, 11]).min():g}-{np.delete(_SEASON, [1, 11]).max():g}), the order count following the factor to the power {_SEASON_COUNT_POWER:g}"
        " and the order value the rest.",
    ]
    if dynamics is not None:
        lines.append(
            f"  Frequency and mean repeat spend of the {dynamics['repeat_buyers']} repeat buyers correlate at"
            f" r = {dynamics['corr_frequency_spend']:.2f} (Gamma-Gamma assumes independence).")
    lines += [
        f"* {t['upgrade_growth_2q']['count']} customers grow >= 20 % quarter on quarter in each of the last"
        f" two quarters; {t['new_category_last_quarter']['count']} established customers buy a new category"
        " for the first time in the last quarter (no other customer does).",
        f"* {t['new_customers']['count']} new customers place their first order in {g['period']},"
        f" {t['new_customers']['first_order_last_30_days']} of them in the last 30 days. Onboarding touchpoints"
        " logged (due = the day has come by as_of):",
        "",
        "| touchpoint | day | logged as | chance | due | logged |",
        "|---|---|---|---|---|---|",
    ]
    for k, d in t["new_customers"]["onboarding"].items():
        lines.append(f"| {k} | {d['days_after_first_order']} | {' / '.join(d['types'])} | {d['chance']:.0%}"
                     f" | {d['due']} | {d['logged']} |")
    lines += [
        "",
        "New customers have no other interaction after their first order (only pre-sales 咨询 / 询价 before it).",
        "",
        "## Reading notes",
        "",
        "* True orders have status 已完成, or 已发货 in the last 15 days; both are purchases.",
        "* A refund row repeats the 订单编号 of the order it refunds and is dated 3-60 days after it",
        "  (never after as_of); netting it leaves 0 for a full refund.",
        "* Some valid dates carry a time of day (`2026-09-30 14:30:00`): compare calendar dates with",
        "  as_of, or such an order on the last day looks like a future date.",
        "* Missing customer ids are empty, a space, or a full-width space (U+3000); valid ids may",
        "  carry leading / trailing spaces of either kind.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# BG/NBD + Gamma-Gamma simulator
# --------------------------------------------------------------------------------------


def simulate_bgnbd(n_customers: int, r: float = 0.243, alpha: float = 4.414, a: float = 0.793,
                   b: float = 2.426, p: float = 6.25, q: float = 3.74, gamma: float = 15.44,
                   T_weeks: float = 78, seed: int = 0, start: str = "2024-01-01",
                   birth_weeks: float = 12.0) -> pd.DataFrame:
    """Draw transactions from the BG/NBD purchase story and Gamma-Gamma spend.

    Per customer (Fader, Hardie & Lee 2005, section 3; Fader & Hardie 2013):
    purchase rate ``lambda ~ Gamma(r, rate=alpha)`` per week, drop-out probability
    ``pi ~ Beta(a, b)``; the first purchase at a birth time uniform in
    ``[0, birth_weeks)``, then repeat purchases as a Poisson process with rate
    ``lambda``; after each repeat purchase the customer becomes inactive with
    probability ``pi``. Spend: ``nu ~ Gamma(q, rate=gamma)``, each order value
    ``z ~ Gamma(p, rate=nu)`` (mean ``p / nu``).

    Vectorised: with ``N ~ Poisson(lambda (T - birth))`` arrivals in the customer's
    window and ``J ~ Geometric(pi)`` the repeat purchase after which it drops out, the
    customer makes ``x = min(N, J)`` repeats at the first ``x`` order statistics of
    ``N`` uniforms, drawn as ``S_k / (S_x + G)`` with ``S_k`` sums of unit exponentials
    and ``G ~ Gamma(N + 1 - x)``.

    Parameters
    ----------
    n_customers : int
        Customers to draw.
    r, alpha, a, b : float
        BG/NBD parameters (time unit: week). Defaults: the CDNOW fit.
    p, q, gamma : float
        Gamma-Gamma parameters. Defaults: the CDNOW fit.
    T_weeks : float
        Length of the observation window in weeks, from ``start``.
    seed : int
        Seed of ``numpy.random.default_rng``.
    start : str
        Calendar date of week 0.
    birth_weeks : float
        First purchases are spread uniformly over the first ``birth_weeks`` weeks.

    Returns
    -------
    DataFrame
        ``customer_id`` (int64, 1-based), ``order_date`` (day precision), ``amount``
        (2 decimals), one row per purchase, sorted by customer and date.
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be >= 1 (got {n_customers})")
    if not 0 <= birth_weeks < T_weeks:
        raise ValueError("birth_weeks must be in [0, T_weeks)")
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    lam = rng.gamma(r, 1.0 / alpha, n)
    pi = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    birth = rng.uniform(0.0, birth_weeks, n)
    span = T_weeks - birth
    arrivals = rng.poisson(lam * span)
    drop_after = rng.geometric(pi)
    x = np.minimum(arrivals, drop_after)

    total = int(x.sum())
    expo = rng.exponential(1.0, total)
    csum = np.cumsum(expo)
    padded = np.concatenate([[0.0], csum])          # padded[j] = sum of the first j exponentials
    ends = np.cumsum(x)
    before = padded[ends - x]                       # sum before each customer's own draws
    s_k = csum - np.repeat(before, x)               # S_1..S_x per customer
    s_x = padded[ends] - before
    rest = rng.gamma(arrivals - x + 1.0)
    owner = np.repeat(np.arange(n), x)
    t_repeat = birth[owner] + span[owner] * s_k / (s_x + rest)[owner]

    cust = np.concatenate([np.arange(n), owner])
    t = np.concatenate([birth, t_repeat])
    order = np.lexsort((t, cust))
    cust, t = cust[order], t[order]
    nu = rng.gamma(q, 1.0 / gamma, n)
    amount = np.maximum(np.round(rng.gamma(p, 1.0 / nu[cust]), 2), 0.01)
    days = np.floor(t * 7).astype("int64")
    dates = np.datetime64(start, "D") + days.astype("timedelta64[D]")
    return pd.DataFrame({
        "customer_id": (cust + 1).astype("int64"),
        "order_date": pd.to_datetime(dates).as_unit("ns"),
        "amount": amount,
    })


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m kit.datasets --out data/sample [--seed N] [--customers N]``."""
    ap = argparse.ArgumentParser(prog="python -m kit.datasets", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(paths.SAMPLE_DIR), help="output folder (default: data/sample)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    ap.add_argument("--start", default=DEFAULT_START)
    ap.add_argument("--end", default=DEFAULT_END, help="last day of the history (the demo as_of)")
    args = ap.parse_args(argv)
    m = write_sample(args.out, seed=args.seed, n_customers=args.customers, start=args.start, end=args.end)
    out = paths.resolve(args.out)
    for name in (ORDERS_FILE, CUSTOMERS_FILE, INTERACTIONS_FILE, MANIFEST_FILE, README_FILE):
        print(f"{out / name}  {(out / name).stat().st_size:>10,d} bytes")
    v = m["truth"]["value_tiers_12m"]
    print(f"orders {m['orders']['rows']} rows ({m['orders']['true_orders']} true), customers.xlsx "
          f"{m['customers']['rows']} rows, interactions {m['interactions']['rows']} rows")
    print(f"value tiers (12 m, {v['customers']} ordering customers): high {v['high']}, "
          f"medium {v['medium']}, low {v['low']}, above 5M {v['above_5m']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
