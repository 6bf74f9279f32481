"""The sample's fixed layout and behaviour: file names and encodings, export headers, defect
rates and formats, the company's vocabularies (industries, regions, categories, channels,
interaction types, pain points) and the customer archetypes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
# Subscription customers (issue 13): contracts and monthly product usage
# --------------------------------------------------------------------------------------
# Drawn from their own random stream (SUBSCRIPTION_STREAM): adding them consumes no draw of
# the orders', master's or interactions' stream, so those files stay byte-identical.

SUBSCRIPTIONS_FILE = "subscriptions.csv"
USAGE_FILE = "usage.csv"
SUBSCRIPTIONS_ENCODING = "utf-8"
USAGE_ENCODING = "utf-8"
SUBSCRIPTIONS_LINE_TERMINATOR = "\n"  # exported from the SaaS platform's web console
#: spawn key of the subscriptions' ``numpy.random.SeedSequence(seed, spawn_key=...)``
SUBSCRIPTION_STREAM = 13
SUBSCRIPTION_PRODUCT = "设备云监控平台"

SUBSCRIPTIONS_HEADERS: dict[str, str] = {
    "客户编号": "customer_id", "合同编号": "subscription_id", "套餐": "plan", "开始日期": "start_date",
    "到期日期": "end_date", "计费周期": "billing_period", "订阅金额": "recurring_amount",
    "状态": "status", "续约自": "renewed_from",
}
USAGE_HEADERS: dict[str, str] = {
    "客户编号": "customer_id", "月份": "date", "活跃用户数": "active_users", "登录次数": "logins",
    "功能覆盖率": "feature_coverage", "工单数": "tickets", "首次响应时长(小时)": "first_response_hours",
}
#: export label -> canonical value
BILLING_LABELS: dict[str, str] = {"月付": "month", "年付": "year"}
STATUS_LABELS: dict[str, str] = {"生效": "active", "已取消": "cancelled", "已到期": "expired"}

#: share of the ordering customers present in the master who subscribe (drawn uniformly, exact count)
SUBSCRIBER_SHARE = 0.40
#: the platform went live this many months before the order window; customers from before the
#: window sign uniformly over the following EXISTING_SIGN_MONTHS months (never after their
#: drop-out), customers acquired inside the window within NEW_SIGN_DAYS of their first order
SUBS_LAUNCH_MONTHS = 12
EXISTING_SIGN_MONTHS = 24
NEW_SIGN_DAYS = 120
CONTRACT_MONTHS = 12
#: plan -> (share at signing, list price a month in CNY, active-user range at signing)
PLANS: dict[str, tuple[float, float, tuple[float, float]]] = {
    "基础版": (0.45, 1_980.0, (5, 20)),
    "专业版": (0.35, 4_800.0, (15, 60)),
    "企业版": (0.20, 12_800.0, (40, 200)),
}
#: a customer's negotiated discount on the list price (uniform)
PRICE_DISCOUNT = (0.80, 1.00)
#: yearly billing: 12 months at this factor of the monthly price
YEARLY_PRICE_FACTOR = 0.85
#: billing period label -> share of subscribers (kept over renewals)
BILLING_SHARES: dict[str, float] = {"月付": 0.35, "年付": 0.65}
#: usage pattern: share "declining" among subscribers who stop ordering by as_of / the others
DECLINING_SHARE: dict[str, float] = {"stopped_ordering": 0.55, "ordering": 0.15}
#: probability of renewing at the end of each contract year, by usage pattern and plan
#: (for customers still ordering at the contract's end; one who has stopped does not renew)
RENEWAL_PROBABILITY: dict[str, dict[str, float]] = {
    "healthy": {"基础版": 0.82, "专业版": 0.88, "企业版": 0.93},
    "declining": {"基础版": 0.40, "专业版": 0.48, "企业版": 0.58},
}
#: a healthy renewal moves to the next plan with this probability; other renewals keep the
#: plan and raise the price by a uniform factor in RENEWAL_PRICE_RISE
UPGRADE_ON_RENEWAL = 0.12
RENEWAL_PRICE_RISE = (0.0, 0.06)
#: a monthly-billed contract that is not renewed is cancelled mid-term with this probability
#: (ending after 3-11 months, status 已取消); the others run out (已到期)
MIDTERM_CANCEL_SHARE = 0.5
#: export format variety on the valid rows: dates ``2024/3/5`` and amounts ``23,760.00``
SUBS_SLASH_DATE_SHARE = 0.10
SUBS_THOUSANDS_SHARE = 0.10
#: defect rows added to the true contracts (share of true contracts; at least one each)
SUBSCRIPTION_DEFECT_RATES: dict[str, float] = {
    "missing_customer_id": 0.005,
    "end_before_start": 0.004,
    "duplicate_contract_id": 0.006,
}
#: defect rows added to the true usage rows (share of true rows; at least one each)
USAGE_DEFECT_RATES: dict[str, float] = {
    "missing_customer_id": 0.002,
    "duplicate_rows": 0.002,
}
#: usage: logins a month per active user (uniform per customer), month factor (February:
#: Spring Festival), feature coverage at signing in percent, tickets a month per active user,
#: hours to the first response (median; lognormal with USAGE_RESPONSE_SIGMA)
USAGE_LOGINS_PER_USER = (10.0, 22.0)
USAGE_FEBRUARY_FACTOR = 0.75
USAGE_HEALTHY_GROWTH = (0.0, 0.02)     # monthly growth of the active users
USAGE_COVERAGE = (45.0, 85.0)
USAGE_TICKETS_PER_USER = 0.05
USAGE_RESPONSE_HOURS = 4.0
USAGE_RESPONSE_SIGMA = 0.5
#: declining pattern: the decline starts DECLINE_MONTHS before the last month of the customer's
#: subscription (its lapse, or as_of); then each month active users fall by a uniform rate,
#: logins by DECLINE_LOGIN_FACTOR times that, feature coverage loses DECLINE_COVERAGE_POINTS,
#: tickets rise by DECLINE_TICKET_RISE and first-response hours by DECLINE_RESPONSE_RISE
DECLINE_MONTHS = (6, 12)
DECLINE_USER_RATE = (0.06, 0.12)
DECLINE_LOGIN_FACTOR = 1.5
DECLINE_COVERAGE_POINTS = (2.5, 5.0)
DECLINE_TICKET_RISE = 0.20
DECLINE_RESPONSE_RISE = 0.15
#: the renewal pipeline windows the manifest counts (days after as_of)
PIPELINE_WINDOWS = (30, 60, 90)
