"""The three deliverable sheets the guides name, as Excel and CSV files for people.

* 《客户信息档案表》 customer profile sheet: base data + tags (:func:`profile_sheet`);
* 《客户分类评估表》 classification sheet: indicators + quadrant + tier + CLV
  (:func:`classification_sheet`);
* 《客户维护策略执行表》 strategy execution sheet: type, strategy, owner, follow-up plan
  (:func:`strategy_sheet`).

The sheet builders read the spine (``customers.parquet``, canonical English keys) and
return frames whose headers and label values are in the report language.
:func:`write_workbook` writes them into one formatted workbook (bold header with a fill,
column widths from the content with CJK characters counted double, frozen header,
auto filter, number and date formats) and :func:`write_csvs` as UTF-8-with-BOM CSV files,
which Excel opens with Chinese intact.

Both writers are safe against formula injection: a text cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is written as text, never as a formula (in the
workbook as a string cell with Excel's quote prefix, in CSV with a leading ``'``, see
:func:`escape_formula`). Numbers, negative ones included, stay numbers.

With ``mask_pii`` the customer names, contact persons and phone numbers are masked with
:mod:`kit.privacy` (``张**``, ``138****5678``); customer ids are kept.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kit.present import privacy
from kit.present.labels import label

# --------------------------------------------------------------------------------------
# Column registry: canonical spine column -> header in both languages and display kind
# --------------------------------------------------------------------------------------

#: ``kind`` is one of ``text``, ``int``, ``num``, ``score``, ``money``, ``pct``, ``date``,
#: ``bool``, ``label:<vocabulary>`` (the key is shown through :func:`kit.labels.label`) or
#: ``labels:<vocabulary>`` (``;``-joined keys, each shown through its label).
COLUMNS: dict[str, tuple[str, str, str]] = {
    "customer_id": ("客户编号", "Customer ID", "text"),
    "name": ("客户名称", "Customer name", "text"),
    "industry": ("行业", "Industry", "text"),
    "region": ("地区", "Region", "text"),
    "employees": ("员工人数", "Employees", "int"),
    "annual_revenue": ("年营业收入", "Annual revenue", "money"),
    "contact_name": ("联系人", "Contact person", "text"),
    "contact_title": ("联系人职务", "Contact title", "text"),
    "contact_phone": ("联系电话", "Contact phone", "text"),
    "growth_stage": ("发展阶段", "Growth stage", "label:growth_stage"),
    "strategic_partner": ("战略合作伙伴", "Strategic partner", "bool"),
    "industry_leader": ("行业龙头", "Industry leader", "bool"),
    "account_manager": ("客户经理", "Account manager", "text"),
    "first_purchase": ("首次购买日期", "First purchase", "date"),
    "last_purchase": ("最近购买日期", "Last purchase", "date"),
    "days_since_last": ("距上次购买天数", "Days since last purchase", "int"),
    "tenure_days": ("合作天数", "Tenure (days)", "int"),
    "orders_total": ("累计订单数", "Orders (all time)", "int"),
    "revenue_total": ("累计合作金额", "Revenue (all time)", "money"),
    "orders_12m": ("近12个月订单数", "Orders (12 months)", "int"),
    "amount_12m": ("近12个月合作金额", "Amount (12 months)", "money"),
    "avg_order_value": ("平均客单价", "Average order value", "money"),
    "profit_total": ("历史合作利润总额", "Profit (all time)", "money"),
    "profit_12m": ("近12个月利润", "Profit (12 months)", "money"),
    "n_categories": ("购买品类数", "Categories bought", "int"),
    "rfm_r": ("R得分", "R score", "int"),
    "rfm_f": ("F得分", "F score", "int"),
    "rfm_m": ("M得分", "M score", "int"),
    "rfm_score": ("RFM得分", "RFM score", "score"),
    "rfm_segment": ("RFM分群", "RFM segment", "text"),
    "rfm8_class": ("RFM八类客户", "RFM 8-class", "label:rfm8_class"),
    "value_score": ("当前价值得分", "Current value score", "score"),
    "potential_score": ("未来潜力得分", "Future potential score", "score"),
    "quadrant": ("客户类型", "Customer type", "label:quadrant"),
    "value_tier": ("价值标签", "Value tier", "label:value_tier"),
    "abc_class": ("ABC分类", "ABC class", "label:abc_class"),
    "demand_type": ("需求类型", "Demand type", "label:demand_type"),
    "potential_type": ("潜力类型", "Potential type", "label:potential_type"),
    "satisfaction": ("满意度", "Satisfaction", "score"),
    "complaint_rate": ("投诉率", "Complaint rate", "pct"),
    "churn_risk": ("风险标签", "Churn risk", "label:churn_risk"),
    "value_tier_prev": ("上期价值标签", "Previous value tier", "label:value_tier"),
    "quadrant_prev": ("上期客户类型", "Previous customer type", "label:quadrant"),
    "tier_change": ("层级变动", "Tier change", "label:tier_change"),
    "upgrade_trigger": ("升级信号", "Upgrade trigger", "bool"),
    "upgrade_reason": ("升级原因", "Upgrade reason", "labels:upgrade_reason"),
    "downgrade_warning": ("降级预警", "Downgrade warning", "bool"),
    "downgrade_reason": ("降级原因", "Downgrade reason", "labels:downgrade_reason"),
    "special_flags": ("特殊标记", "Special flags", "labels:special_flag"),
    "tag_score": ("标签加权得分", "Tag score", "score"),
    "persona_label": ("客户画像", "Persona", "text"),
    "persona_name": ("画像分群", "Persona group", "text"),
    "p_alive": ("存活概率", "P(alive)", "pct"),
    "exp_purchases": ("预期购买次数", "Expected purchases", "num"),
    "exp_avg_value": ("预期客单价", "Expected order value", "money"),
    "clv": ("预测客户终身价值", "Predicted CLV", "money"),
    "clv_rank": ("CLV排名", "CLV rank", "int"),
    # 05_strategy
    "goal": ("维护目标", "Goal", "text"),
    "strategy": ("维护策略", "Maintenance strategy", "text"),
    "resources": ("资源配置", "Resources", "text"),
    "owner": ("负责人", "Owner", "text"),
    "cadence_days": ("跟进周期(天)", "Cadence (days)", "int"),
    "response_hours": ("响应时效(小时)", "Response time (hours)", "int"),
    "last_contact": ("上次联系日期", "Last contact", "date"),
    "next_follow_up": ("下次跟进日期", "Next follow-up", "date"),
    "follow_up_overdue": ("跟进逾期", "Follow-up overdue", "bool"),
    "priority": ("优先级", "Priority", "int"),
    "actions_now": ("当前行动", "Actions now", "text"),
    "follow_up_plan": ("跟进计划", "Follow-up plan", "text"),
    "yearly_cost": ("年度维护成本(每客户)", "Yearly cost per customer", "money"),
    "actions": ("核心策略", "Actions", "text"),
    "n_customers": ("客户数", "Customers", "int"),
    "yearly_cost_total": ("年度维护成本合计", "Yearly cost in total", "money"),
    # activation schedule
    "touchpoint": ("激活节点", "Touchpoint", "text"),
    "due_date": ("到期日", "Due date", "date"),
    "done_date": ("完成日期", "Done on", "date"),
    "status": ("状态", "Status", "label:touchpoint_status"),
}

#: Excel number format per kind.
NUMBER_FORMATS = {
    "int": "#,##0",
    "num": "#,##0.00",
    "score": "0.0",
    "money": "#,##0",
    "pct": "0.0%",
    "date": "yyyy-mm-dd",
}

#: Sheet key -> (zh sheet name, en sheet name, zh CSV name, en CSV name).
SHEETS: dict[str, tuple[str, str, str, str]] = {
    "profile": ("客户信息档案表", "Customer profile", "客户信息档案表.csv", "customer_profile.csv"),
    "classification": ("客户分类评估表", "Classification", "客户分类评估表.csv", "classification.csv"),
    "strategy": ("客户维护策略执行表", "Strategy execution", "客户维护策略执行表.csv", "strategy_execution.csv"),
}

PROFILE_COLUMNS = [
    "customer_id", "name", "industry", "region", "employees", "annual_revenue", "contact_name",
    "contact_title", "contact_phone", "growth_stage", "strategic_partner", "industry_leader",
    "account_manager", "first_purchase", "last_purchase", "orders_total", "revenue_total",
    "amount_12m", "avg_order_value", "n_categories", "value_tier", "churn_risk", "demand_type",
    "potential_type", "rfm_segment", "persona_label", "persona_name", "tag_score",
]
CLASSIFICATION_COLUMNS = [
    "customer_id", "name", "amount_12m", "profit_total", "avg_order_value", "value_score",
    "potential_score", "quadrant", "value_tier", "abc_class", "rfm_r", "rfm_f", "rfm_m",
    "rfm_segment", "rfm8_class", "satisfaction", "complaint_rate", "churn_risk", "p_alive",
    "exp_purchases", "exp_avg_value", "clv", "clv_rank", "quadrant_prev", "value_tier_prev",
    "tier_change", "upgrade_trigger", "upgrade_reason", "downgrade_warning", "downgrade_reason",
    "special_flags",
]
STRATEGY_COLUMNS = [
    "priority", "customer_id", "name", "quadrant", "value_tier", "churn_risk", "goal", "strategy",
    "resources", "owner", "cadence_days", "response_hours", "last_contact", "next_follow_up",
    "follow_up_overdue", "follow_up_plan", "actions_now", "contact_name", "contact_phone",
]

#: ``tag_*`` column of 03_personas -> its tag family (``tag_family`` labels, tag values
#: through :func:`kit.personas.tag_label`); count columns have no family.
TAG_FAMILIES: dict[str, str | None] = {
    "tag_industry": "industry", "tag_size": "size", "tag_region": "region",
    "tag_decision_role": "decision_role", "tag_recent_orders": None, "tag_channel": "channel",
    "tag_keywords": "keywords", "tag_category": "category", "tag_n_categories": None,
    "tag_core_pain": "core_pain", "tag_hidden_need": "hidden_need",
    "tag_decision_concern": "decision_concern", "tag_pain_hits": None,
}
_TAG_HEADERS = {
    "tag_recent_orders": ("近期采购次数", "recent orders"),
    "tag_n_categories": ("采购品类数", "categories bought"),
    "tag_pain_hits": ("痛点提及次数", "pain-point mentions"),
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TAG_PREFIX = "tag_"
_MAX_WIDTH = 60
_SAMPLE_ROWS = 2_000  # rows read to size a column


# --------------------------------------------------------------------------------------
# Headers and display values
# --------------------------------------------------------------------------------------


def header(column: str, lang: str) -> str:
    """Report-language header of a canonical column (``tag_*`` columns: ``标签·x``)."""
    if column in COLUMNS:
        zh, en, _ = COLUMNS[column]
        return zh if lang == "zh" else en
    if column.startswith(_TAG_PREFIX):
        family = TAG_FAMILIES.get(column)
        if family is not None:
            name = label("tag_family", family, lang)
        elif column in _TAG_HEADERS:
            name = _TAG_HEADERS[column][0 if lang == "zh" else 1]
        else:
            name = column[len(_TAG_PREFIX):]
        return f"标签·{name}" if lang == "zh" else f"Tag: {name}"
    return column


def column_kind(column: str) -> str:
    """Display kind of a canonical column (``text`` when unknown)."""
    return COLUMNS.get(column, ("", "", "text"))[2]


def _header_lookup(lang: str) -> dict[str, str]:
    return {header(c, lang): c for c in COLUMNS}


def _map_distinct(series: pd.Series, fn) -> pd.Series:
    """``fn`` applied once per distinct value, not once per cell (1M-customer spines repeat
    a few labels millions of times). Missing values stay missing; columns holding lists
    or arrays (unhashable) fall back to one call per cell."""
    try:
        distinct = pd.unique(series.dropna())
    except TypeError:
        return series.map(lambda v: None if v is None or (not isinstance(v, (list, tuple, np.ndarray))
                                                          and pd.isna(v)) else fn(v))
    return series.map({v: fn(v) for v in distinct})


def _yes_no(series: pd.Series, lang: str) -> pd.Series:
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    flags = series.astype("boolean")
    return flags.map({True: yes, False: no}).astype("str").where(flags.notna())


def _joined_labels(series: pd.Series, vocabulary: str, lang: str) -> pd.Series:
    """``a;b`` keys (or lists of keys) -> ``label a；label b``; empty and missing -> missing."""
    sep = "；" if lang == "zh" else "; "

    def one(value: Any) -> Any:
        if isinstance(value, (list, tuple, np.ndarray)):
            keys = [str(v) for v in value]
        elif isinstance(value, str):
            keys = [k.strip(" ") for k in value.split(";")]
        else:
            return None
        keys = [k for k in keys if k]
        return sep.join(label(vocabulary, k, lang) for k in keys) if keys else None

    return _map_distinct(series, one).astype("str")


def _as_text(value: Any) -> Any:
    """Lists and arrays (e.g. flags read from parquet) as ``a; b``; other values unchanged."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "; ".join(str(v) for v in value)
    return value


def display_frame(
    df: pd.DataFrame,
    columns: Iterable[str],
    lang: str,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """Pick ``columns`` (those present, in that order) and show them for people.

    Label columns are mapped to report-language labels, flags to 是/否 (yes/no), list
    values joined with ``; ``, dates normalised; headers become report-language headers.
    ``value_labels`` maps a column's keys to labels (e.g. RFM segment names from the
    config); keys it does not hold are shown as they are. The index is dropped (include
    ``customer_id`` in ``columns`` to show it).
    """
    src = df.reset_index() if df.index.name in set(columns) else df
    out = {}
    for col in columns:
        if col not in src.columns:
            continue
        s = src[col]
        kind = column_kind(col)
        if value_labels and col in value_labels:
            s = _map_distinct(s, lambda k, m=value_labels[col]: m.get(k, k) if isinstance(k, str) else k)
            s = s.astype("str")
        elif kind.startswith("label:"):
            vocab = kind.split(":", 1)[1]
            s = _map_distinct(s, lambda k, v=vocab: label(v, k, lang)).astype("str")
        elif kind.startswith("labels:"):
            s = _joined_labels(s, kind.split(":", 1)[1], lang)
        elif kind == "bool":
            s = _yes_no(s, lang)
        elif kind == "date":
            s = pd.to_datetime(s).dt.normalize()
        elif s.dtype == object:
            s = _map_distinct(s, _as_text)
        out[header(col, lang)] = s.reset_index(drop=True)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------
# The three sheets
# --------------------------------------------------------------------------------------


def sheet_name(key: str, lang: str) -> str:
    """Sheet name of ``profile``, ``classification`` or ``strategy`` in the report language."""
    zh, en, _, _ = SHEETS[key]
    return zh if lang == "zh" else en


def csv_name(sheet: str) -> str:
    """CSV file name of a sheet (``客户信息档案表.csv`` / ``customer_profile.csv``)."""
    for zh, en, zh_csv, en_csv in SHEETS.values():
        if sheet == zh:
            return zh_csv
        if sheet == en:
            return en_csv
    slug = re.sub(r"[^\w.-]+", "_", sheet, flags=re.UNICODE).strip("_") or "sheet"
    return f"{slug}.csv"


def _tag_columns(customers: pd.DataFrame) -> list[str]:
    return [c for c in customers.columns if c.startswith(_TAG_PREFIX) and c != "tag_score"]


def tag_values(customers: pd.DataFrame, lang: str, cfg_personas=None) -> pd.DataFrame:
    """The ``tag_*`` columns with their values in the report language.

    Multi-valued tags (``a|b``) are joined with ``、`` (zh) or ``, `` (en); decision roles,
    pain points, size bands and channels go through :func:`kit.personas.tag_label`;
    counts stay numbers.
    """
    from kit.stages.personas import tag_label

    sep = "、" if lang == "zh" else ", "
    out = {}
    for col in _tag_columns(customers):
        s = customers[col]
        family = TAG_FAMILIES.get(col)
        if family is None or pd.api.types.is_numeric_dtype(s):
            out[col] = s
            continue
        uniq = s.dropna().astype(str).unique()
        mapping = {v: sep.join(tag_label(family, part, lang, cfg_personas) for part in v.split("|") if part)
                   for v in uniq}
        out[col] = s.astype("str").map(mapping).astype("str")
    return pd.DataFrame(out, index=customers.index)


def _value_labels(cfg, lang: str) -> dict[str, dict[str, str]]:
    """Config-defined labels: RFM segment names (``cfg.layering.rfm.segments``)."""
    from kit.core.config import DEFAULT_RFM_SEGMENTS

    segments = cfg.layering.rfm.segments if cfg is not None else DEFAULT_RFM_SEGMENTS
    return {"rfm_segment": {r.name: r.label(lang) for r in segments}}


def _only(customers: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """The spine's columns a sheet shows (a copy of just those, not of all ~90)."""
    keep = list(dict.fromkeys(c for c in columns if c in customers.columns))
    return customers[keep].copy()


def profile_sheet(customers: pd.DataFrame, lang: str, cfg=None) -> pd.DataFrame:
    """《客户信息档案表》: base data and tags, one row per customer.

    Parameters
    ----------
    customers : DataFrame
        The spine, index ``customer_id``; any subset of :data:`PROFILE_COLUMNS` and the
        ``tag_*`` columns of 03_personas (missing columns are left out).
    lang : {"zh", "en"}
    cfg : KitConfig, optional
        Its ``personas.pain_points`` label the pain-point tags and its RFM segments the
        segment names (default: the brief's).

    Returns
    -------
    DataFrame
        Report-language headers and labels, sorted by customer id.
    """
    df = _only(customers, PROFILE_COLUMNS + _tag_columns(customers)).sort_index()
    tags = tag_values(df, lang, cfg.personas if cfg is not None else None)
    if len(tags.columns):
        df = df.drop(columns=tags.columns).join(tags)
    cols = PROFILE_COLUMNS[:-1] + list(tags.columns) + PROFILE_COLUMNS[-1:]
    return display_frame(df, cols, lang, _value_labels(cfg, lang))


def top_customers(customers: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """The ``max_rows`` customers an account team works on first (by ``priority``, else all).

    The workbook is for people and Excel stops at 1,048,576 rows; the CSVs keep everyone.
    ``attrs["dropped"]`` counts the customers left out.
    """
    if len(customers) <= max_rows:
        out = customers
    elif "priority" in customers.columns:
        out = customers.sort_values("priority", kind="mergesort").head(max_rows)
    else:
        out = customers.head(max_rows)
    out = out.copy()
    out.attrs["dropped"] = len(customers) - len(out)
    return out


def classification_sheet(customers: pd.DataFrame, lang: str, cfg=None) -> pd.DataFrame:
    """《客户分类评估表》: indicator values, quadrant, tier, churn risk and CLV.

    Sorted by CLV (highest first) when the CLV was computed, else by the trailing
    12-month amount, else by customer id. ``cfg`` (optional) labels the RFM segments.
    """
    df = _only(customers, CLASSIFICATION_COLUMNS + ["clv", "amount_12m"]).sort_index()
    for by in ("clv", "amount_12m"):
        if by in df.columns and df[by].notna().any():
            df = df.sort_values(by, ascending=False, na_position="last", kind="mergesort")
            break
    return display_frame(df, CLASSIFICATION_COLUMNS, lang, _value_labels(cfg, lang))


def _follow_up_plan(customers: pd.DataFrame, lang: str) -> pd.Series:
    cadence = customers["cadence_days"] if "cadence_days" in customers else pd.Series(pd.NA, index=customers.index)
    nxt = (pd.to_datetime(customers["next_follow_up"]) if "next_follow_up" in customers
           else pd.Series(pd.NaT, index=customers.index))
    overdue = (customers["follow_up_overdue"].astype("boolean").fillna(False)
               if "follow_up_overdue" in customers else pd.Series(False, index=customers.index))
    cad = cadence.astype("Int64").astype("str")
    date = nxt.dt.strftime("%Y-%m-%d")
    if lang == "zh":
        text = "每" + cad + "天跟进一次，下次 " + date
        text = text.where(~overdue, text + "（已逾期）")
    else:
        text = "every " + cad + " days, next " + date
        text = text.where(~overdue, text + " (overdue)")
    return text.where(cadence.notna() & nxt.notna())


def strategy_sheet(customers: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    """《客户维护策略执行表》: customer type, strategy, owner and follow-up plan.

    Parameters
    ----------
    customers : DataFrame
        The spine after :func:`kit.strategy.assign` (columns ``strategy, owner,
        cadence_days, last_contact, next_follow_up, follow_up_overdue, priority,
        actions_now``).
    cfg : KitConfig
        The playbook (``cfg.strategy.playbook``) gives the goal, actions and resources.
    lang : {"zh", "en"}

    Returns
    -------
    DataFrame
        One row per customer in priority order (1 first), report-language headers.
    """
    play = cfg.strategy.playbook
    df = _only(customers, STRATEGY_COLUMNS + ["strategy", "quadrant", "cadence_days", "next_follow_up",
                                              "follow_up_overdue", "priority"])
    key = df["strategy"] if "strategy" in df else df.get("quadrant", pd.Series(pd.NA, index=df.index))
    df["goal"] = key.map({k: p.goal(lang) for k, p in play.items()})
    df["strategy"] = key.map(
        {k: "; ".join(f"{i}. {a(lang)}" for i, a in enumerate(p.actions, 1)) for k, p in play.items()}
    )
    df["resources"] = key.map({k: p.resources(lang) for k, p in play.items()})
    df["response_hours"] = key.map({k: p.response_hours for k, p in play.items()}).astype("Int64")
    df["follow_up_plan"] = _follow_up_plan(df, lang)
    if "priority" in df:
        df = df.sort_values("priority", kind="mergesort")
    return display_frame(df, STRATEGY_COLUMNS, lang)


SHEET_BUILDERS = {
    "profile": lambda customers, cfg, lang: profile_sheet(customers, lang, cfg),
    "classification": lambda customers, cfg, lang: classification_sheet(customers, lang, cfg),
    "strategy": lambda customers, cfg, lang: strategy_sheet(customers, cfg, lang),
}


def build_sheets(customers: pd.DataFrame, cfg, lang: str) -> dict[str, pd.DataFrame]:
    """The three sheets keyed by their report-language sheet names, in the guides' order."""
    return {sheet_name(key, lang): build(customers, cfg, lang) for key, build in SHEET_BUILDERS.items()}


@dataclass
class Deliverables:
    """What :func:`write_deliverables` wrote."""

    csvs: list[Path]
    workbook: Path
    overview: pd.DataFrame
    previews: dict[str, pd.DataFrame]
    workbook_rows: int
    dropped: int


def write_deliverables(
    customers: pd.DataFrame,
    cfg,
    lang: str,
    directory: str | Path,
    workbook: str | Path,
    *,
    mask_pii: bool = False,
    preview_rows: int = 5,
) -> Deliverables:
    """Every customer in the CSVs, the first ``cfg.report.excel_max_rows`` by priority in
    the workbook; each sheet is built, written and dropped before the next, so a large
    spine never holds three display copies at once.
    """
    names, rows, cols, csvs, previews = [], [], [], [], {}
    for key, build in SHEET_BUILDERS.items():
        name = sheet_name(key, lang)
        sheet = build(customers, cfg, lang)
        csvs += write_csvs({name: sheet}, directory, lang, mask_pii)
        names.append(name)
        rows.append(len(sheet))
        cols.append(sheet.shape[1])
        previews[name] = sheet.head(preview_rows)
        del sheet
    book = top_customers(customers, cfg.report.excel_max_rows)
    path = write_workbook(build_sheets(book, cfg, lang), workbook, lang, mask_pii)
    zh = lang == "zh"
    table = pd.DataFrame({
        ("工作表" if zh else "Sheet"): names,
        ("行数（CSV）" if zh else "Rows (CSV)"): rows,
        ("行数（Excel）" if zh else "Rows (Excel)"): [len(book)] * len(names),
        ("列数" if zh else "Columns"): cols,
        ("CSV 文件" if zh else "CSV file"): [csv_name(n) for n in names],
    })
    return Deliverables(csvs, path, table, previews, len(book), book.attrs["dropped"])


# --------------------------------------------------------------------------------------
# Safety: formula injection and personal data
# --------------------------------------------------------------------------------------


def is_formula_like(value: Any) -> bool:
    """True for text that a spreadsheet would read as a formula (``=``, ``+``, ``-``,
    ``@``, tab or carriage return first)."""
    return isinstance(value, str) and value.startswith(_FORMULA_START)


def escape_formula(value: Any) -> Any:
    """Text that would start a formula gets a leading ``'``; anything else is returned as is.

    Used for CSV, where a spreadsheet evaluates ``=HYPERLINK(...)`` on opening. Numbers
    (negative ones too) are not text and are left alone.

    >>> escape_formula("=1+1"), escape_formula("-5"), escape_formula(-5), escape_formula("张三")
    ("'=1+1", "'-5", -5, '张三')
    """
    return "'" + value if is_formula_like(value) else value


def mask_sheet(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Mask the name, contact person and phone columns of a report-language sheet."""
    lookup = _header_lookup(lang)
    out = df.copy()
    for col in out.columns:
        canonical = lookup.get(col)
        if canonical in privacy.NAME_COLUMNS:
            out[col] = privacy.mask_name(out[col])
        elif canonical in privacy.PHONE_COLUMNS:
            out[col] = privacy.mask_phone(out[col])
    return out


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Width of ``text`` in Excel character units: East Asian wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _kinds(df: pd.DataFrame, lang: str) -> dict[str, str]:
    lookup = _header_lookup(lang)
    kinds = {}
    for col in df.columns:
        kind = column_kind(lookup[col]) if col in lookup else ""
        s = df[col]
        if kind.startswith(("label:", "labels:")) or kind == "bool":
            kind = "text"
        if not kind:
            if pd.api.types.is_datetime64_any_dtype(s):
                kind = "date"
            elif pd.api.types.is_bool_dtype(s):
                kind = "text"
            elif pd.api.types.is_integer_dtype(s):
                kind = "int"
            elif pd.api.types.is_float_dtype(s):
                kind = "num"
            else:
                kind = "text"
        kinds[col] = kind
    return kinds


def _cell_value(value: Any) -> Any:
    """A Python value openpyxl can write (missing -> None, numpy scalars -> Python)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return _as_text(value)
    if not isinstance(value, str) and pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _column_width(head: str, values: pd.Series, kind: str) -> float:
    sample = values.head(_SAMPLE_ROWS)
    if kind == "date":
        widest = 10
    elif kind in NUMBER_FORMATS:
        nums = pd.to_numeric(sample, errors="coerce").abs()
        top = float(nums.max()) if nums.notna().any() else 0.0
        widest = len(f"{top:,.2f}") + 1
    else:
        texts = sample.dropna().astype(str)
        widest = max((display_width(t) for t in texts), default=0)
    return float(min(max(display_width(head), widest) + 2, _MAX_WIDTH))


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    lang: str,
    mask_pii: bool = False,
) -> Path:
    """Write report-language sheets into one formatted ``.xlsx`` workbook.

    Parameters
    ----------
    sheets : mapping of str to DataFrame
        Sheet name (at most 31 characters) -> table with report-language headers, as
        :func:`build_sheets` returns. The index is not written.
    path : str or Path
        Target file (``artifacts/deliverables.xlsx``).
    lang : {"zh", "en"}
        Language of the headers: it decides which columns are money, shares, dates,
        names and phone numbers.
    mask_pii : bool
        Mask names, contact persons and phone numbers (``cfg.report.mask_pii``).

    Returns
    -------
    Path
        ``path``. Each sheet has a bold, filled header row frozen at ``A2``, an auto
        filter over the table, widths from the content and number formats ``#,##0``
        (money, counts), ``0.0%`` (shares), ``yyyy-mm-dd`` (dates). Text that would start
        a formula is written as a text cell (see :func:`escape_formula`).
    """
    import xlsxwriter

    for name in sheets:
        if len(name) > 31 or re.search(r"[\[\]:*?/\\]", name):
            raise ValueError(f"not a valid Excel sheet name (max 31 characters, no []:*?/\\): {name!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # XlsxWriter streams rows (constant memory) and takes number formats per column; strings
    # go through write_string, which never creates a formula whatever the text starts with.
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    head_fmt = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#2F5D8A",
                              "valign": "vcenter", "text_wrap": True, "bottom": 1,
                              "bottom_color": "#1D3B57"})
    head_text_fmt = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#2F5D8A",
                                   "valign": "vcenter", "text_wrap": True, "bottom": 1,
                                   "bottom_color": "#1D3B57", "quote_prefix": True})
    text_fmt = wb.add_format({"quote_prefix": True})  # formula-like text, shown as typed
    num_fmts = {kind: wb.add_format({"num_format": f}) for kind, f in NUMBER_FORMATS.items()}
    for name, df in sheets.items():
        if mask_pii:
            df = mask_sheet(df, lang)
        ws = wb.add_worksheet(name)
        kinds = _kinds(df, lang)
        columns = list(df.columns)
        fmts = [num_fmts.get(kinds[col]) for col in columns]
        for j, col in enumerate(columns):
            ws.set_column(j, j, _column_width(str(col), df[col], kinds[col]), fmts[j])
            ws.write_string(0, j, str(col), head_text_fmt if is_formula_like(str(col)) else head_fmt)
        ws.freeze_panes(1, 0)
        for i, row in enumerate(df.itertuples(index=False, name=None), start=1):
            for j, value in enumerate(row):
                v = _cell_value(value)
                if v is None:
                    continue
                if isinstance(v, str):
                    ws.write_string(i, j, v, text_fmt if is_formula_like(v) else None)
                elif isinstance(v, bool):
                    ws.write_boolean(i, j, v)
                elif isinstance(v, (int, float)):
                    if v == v and abs(v) != float("inf"):
                        ws.write_number(i, j, v, fmts[j])
                elif isinstance(v, (dt.datetime, dt.date)):
                    ws.write_datetime(i, j, v, fmts[j] or num_fmts["date"])
                else:
                    ws.write_string(i, j, str(v))
        if columns:
            ws.autofilter(0, 0, max(len(df), 1), len(columns) - 1)
    if not sheets:
        wb.add_worksheet("empty")
    wb.close()
    return path


def _csv_frame(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    kinds = _kinds(df, lang)
    out = {}
    for col in df.columns:
        s = df[col]
        if kinds[col] == "date":
            s = pd.to_datetime(s).dt.strftime("%Y-%m-%d")
        elif not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            s = _map_distinct(s, lambda v: escape_formula(_as_text(v)))
        out[escape_formula(str(col))] = s
    return pd.DataFrame(out)


#: Rows per chunk when writing CSV: only one chunk's escaped copy and Arrow table exist at once.
CSV_CHUNK_ROWS = 200_000


def _write_csv_bom(df: pd.DataFrame, path: Path, lang: str) -> None:
    """UTF-8 CSV with a BOM, written chunk by chunk by pyarrow's C++ writer (pandas' to_csv
    took 13-17 s per million-row sheet); missing values are empty fields, as with to_csv."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf")
        for start in range(0, max(len(df), 1), CSV_CHUNK_ROWS):
            chunk = _csv_frame(df.iloc[start:start + CSV_CHUNK_ROWS], lang)
            try:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column mixing numbers and text
                chunk.to_csv(f, index=False, header=start == 0, encoding="utf-8")
                continue
            pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=start == 0, quoting_style="needed"))


def write_csvs(
    sheets: Mapping[str, pd.DataFrame],
    directory: str | Path,
    lang: str,
    mask_pii: bool = False,
) -> list[Path]:
    """Write each sheet as CSV in UTF-8 with BOM (Excel opens the Chinese correctly).

    File names come from :func:`csv_name` (``客户信息档案表.csv`` / ``customer_profile.csv``);
    dates are ``yyyy-mm-dd``; text that would start a formula gets a leading ``'``
    (:func:`escape_formula`); ``mask_pii`` masks names and phone numbers.

    Returns
    -------
    list of Path
        The files written, in the order of ``sheets``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in sheets.items():
        if mask_pii:
            df = mask_sheet(df, lang)
        p = directory / csv_name(name)
        _write_csv_bom(df, p, lang)
        written.append(p)
    return written


def overview(sheets: Mapping[str, pd.DataFrame], lang: str) -> pd.DataFrame:
    """One row per sheet: name, rows, columns and its CSV file name."""
    zh = lang == "zh"
    return pd.DataFrame({
        ("工作表" if zh else "Sheet"): list(sheets),
        ("行数" if zh else "Rows"): [len(df) for df in sheets.values()],
        ("列数" if zh else "Columns"): [df.shape[1] for df in sheets.values()],
        ("CSV 文件" if zh else "CSV file"): [csv_name(n) for n in sheets],
    })


def styled(
    df: pd.DataFrame,
    lang: str,
    *,
    money: Iterable[str] = (),
    caption: str | None = None,
    index: bool = False,
    max_rows: int | None = 60,
):
    """A report-language table (headers from :data:`COLUMNS`) as a formatted Styler.

    Money, share and count columns are found from their headers (plus ``money``), dates
    are shown as ``yyyy-mm-dd``; see :func:`kit.report.table`.
    """
    from kit.present.report import table

    kinds = _kinds(df, lang)
    out = df.copy()
    for col, kind in kinds.items():
        if kind == "date":
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return table(
        out,
        money=[c for c, k in kinds.items() if k == "money"] + list(money),
        pct=[c for c, k in kinds.items() if k == "pct"],
        ints=[c for c, k in kinds.items() if k == "int"],
        decimals={c: 1 for c, k in kinds.items() if k == "score"},
        caption=caption, index=index, max_rows=max_rows,
    )
