"""Headers of client exports: synonyms, the header row below title rows, the column mapping.

:func:`map_columns` maps the canonical column names (``kit.core.config.CANONICAL_COLUMNS``)
to a file's headers, configured or recognised through :data:`SYNONYMS`;
:func:`find_header_row` finds the header among the first rows; :func:`unique_headers`
gives empty and repeated headers usable names.
"""
from __future__ import annotations

import difflib
import re
import unicodedata

from kit.core.config import CANONICAL_COLUMNS
from kit.io.formats import SOURCE_ROW, InputError

# --------------------------------------------------------------------------------------
# Header synonyms
# --------------------------------------------------------------------------------------

_CUSTOMER_ID = [
    "客户编号", "客户ID", "客户id", "客户代码", "客户编码", "客户号", "会员编号", "会员ID",
    "customer id", "customer_id", "customerid", "customer no", "customer number", "cust_no",
    "cust id", "cust_id", "client id", "client_id", "buyer id",
]

#: Common source headers per canonical column, in order of preference (first wins).
#: Headers are compared after :func:`header_key` (NFKC, case, spaces, ``_ - .`` removed),
#: and also with a parenthesised unit removed (``年营收(万元)`` matches ``年营收``).
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "transactions": {
        "customer_id": _CUSTOMER_ID,
        "order_id": [
            "订单编号", "订单号", "订单ID", "单号", "单据编号", "单据号", "order id", "order_id",
            "order no", "order number", "invoice no", "invoice number", "invoice", "transaction id",
        ],
        "order_date": [
            "订单日期", "下单时间", "下单日期", "交易日期", "交易时间", "成交日期", "购买日期",
            "订单时间", "日期", "order date", "order_date", "order time", "transaction date",
            "purchase date", "invoice date", "created at", "date",
        ],
        "amount": [
            "实付金额", "金额", "订单金额", "交易金额", "成交金额", "实收金额", "付款金额",
            "销售金额", "销售额", "总金额", "合计金额", "amount", "order amount", "net amount",
            "paid amount", "payment amount", "sales amount", "total amount", "sales", "revenue",
            "total",
        ],
        "profit": ["毛利", "毛利额", "利润", "毛利润", "profit", "gross profit"],
        "margin": ["毛利率", "利润率", "margin", "gross margin", "margin rate"],
        "category": [
            "产品类别", "产品类型", "产品品类", "品类", "类别", "产品线", "product category",
            "category", "product line", "product type",
        ],
        "channel": ["渠道", "销售渠道", "下单渠道", "channel", "sales channel"],
        "quantity": ["数量", "件数", "购买数量", "quantity", "qty", "units"],
        "status": ["订单状态", "状态", "status", "order status"],
        "payment_status": ["付款状态", "支付状态", "回款状态", "payment status"],
        "days_overdue": ["逾期天数", "账期逾期天数", "逾期", "days overdue", "overdue days"],
    },
    "customers": {
        "customer_id": _CUSTOMER_ID,
        "name": [
            "客户名称", "公司名称", "企业名称", "客户名", "名称", "customer name", "company name",
            "company", "name",
        ],
        "industry": ["所属行业", "行业", "industry", "sector"],
        "region": ["所在区域", "区域", "地区", "所在地区", "省份", "region", "area", "province"],
        "employees": ["员工人数", "员工数", "人数", "employees", "headcount", "employee count", "staff"],
        "annual_revenue": [
            "年营收", "年营业额", "年收入", "营收", "营业收入", "annual revenue", "revenue",
        ],
        "contact_name": ["联系人", "联系人姓名", "contact name", "contact"],
        "contact_title": ["联系人职位", "联系人职务", "职位", "职务", "contact title", "job title", "title"],
        "contact_phone": ["联系电话", "电话", "手机", "手机号", "contact phone", "phone", "mobile"],
        "first_cooperation_date": [
            "首次合作日期", "首次合作时间", "合作开始日期", "first cooperation date", "customer since",
        ],
        "contract_end_date": [
            "合同到期日", "合同到期日期", "合同截止日期", "合同到期", "contract end date",
            "contract end", "contract expiry",
        ],
        "growth_stage": ["成长阶段", "发展阶段", "企业阶段", "growth stage", "stage"],
        "strategic_partner": ["战略合作伙伴", "是否战略合作伙伴", "战略伙伴", "strategic partner"],
        "industry_leader": ["行业龙头", "是否行业龙头", "龙头企业", "industry leader"],
        "expansion_plan": ["扩张计划", "扩张规划", "expansion plan"],
        "industry_growth": ["行业增长", "行业增长前景", "行业前景", "industry growth"],
        "referrals": ["转介绍次数", "推荐次数", "转介绍", "referrals", "referral count"],
        "account_manager": ["客户经理", "销售负责人", "负责人", "account manager", "sales rep", "owner"],
        "updated_at": ["更新时间", "更新日期", "最后更新", "updated at", "last updated", "modified"],
    },
    "interactions": {
        "customer_id": _CUSTOMER_ID,
        "date": [
            "互动日期", "互动时间", "联系日期", "日期", "时间", "interaction date", "contact date", "date",
        ],
        "type": ["互动类型", "类型", "类别", "interaction type", "type"],
        "score": ["满意度", "满意度评分", "评分", "分数", "nps", "score", "satisfaction", "rating"],
        "keywords": ["关键词", "关键字", "keywords", "tags"],
        "channel": ["渠道", "互动渠道", "channel"],
        "text": ["备注", "内容", "描述", "说明", "text", "notes", "note", "comment", "remarks"],
        "interaction_id": ["互动编号", "记录编号", "interaction id", "interaction_id"],
    },
}


def header_key(header: object) -> str:
    """The form headers are compared in: NFKC, lower case, no spaces, ``_``, ``-`` or ``.``."""
    text = unicodedata.normalize("NFKC", str(header)).lower()
    return re.sub(r"[\s_\-.:：]+", "", text)


def _header_keys(header: object) -> set[str]:
    key = header_key(header)
    no_unit = re.sub(r"\(.*?\)|\[.*?\]", "", key)
    return {key, no_unit} - {""}


def unique_headers(headers) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        h = unicodedata.normalize("NFKC", str(h)).strip() if h is not None else ""
        if h == "" or h.startswith("Unnamed:"):
            h = f"column_{i + 1}"
        if h == SOURCE_ROW:
            h = f"{SOURCE_ROW} (source)"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        out.append(h)
    return out


def find_header_row(rows: list[list[str]], table: str, configured: dict[str, str] | None = None) -> int:
    """0-based index of the header among the first rows (title rows above it are skipped).

    The header is the first row with the most cells that name a known column (a synonym of
    ``table`` or a configured source header); when no row names any, the first row with
    as many filled cells as the widest row.
    """
    known: set[str] = set()
    for syns in SYNONYMS.get(table, {}).values():
        for s in syns:
            known |= _header_keys(s)
    for src in (configured or {}).values():
        known |= _header_keys(src)
    best_idx, best_hits = 0, 0
    filled = []
    for i, row in enumerate(rows):
        cells = [c for c in row if str(c).strip() != ""]
        filled.append(len(cells))
        hits = sum(1 for c in cells if _header_keys(c) & known)
        if hits > best_hits:
            best_idx, best_hits = i, hits
    if best_hits > 0:
        return best_idx
    if not filled or max(filled) == 0:
        return 0
    return next(i for i, n in enumerate(filled) if n == max(filled))


def map_columns(
    headers: list[str],
    table: str,
    configured: dict[str, str],
    *,
    source: str = "",
) -> tuple[dict[str, str], dict[str, str]]:
    """Map canonical names to source headers: ``(mapping, how)``.

    Configured names come first and must exist in the file; the other canonical names are
    matched by :data:`SYNONYMS` (a header is used once). A configured header the file lacks,
    an unknown canonical name, or a missing required column raises :class:`InputError`
    with the headers found and the nearest matches.
    """
    spec = CANONICAL_COLUMNS[table]
    allowed = spec["required"] + spec["optional"]
    mapping: dict[str, str] = {}
    how: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for h in headers:
        for k in _header_keys(h):
            by_key.setdefault(k, h)
    for canon, src in configured.items():
        if canon not in allowed:
            near = difflib.get_close_matches(canon, allowed, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise InputError(
                f"{source}: inputs.{table}.columns names {canon!r}, which is not a canonical "
                f"{table} column{hint}; allowed: {', '.join(allowed)}"
            )
        if src in headers:
            found = src
        else:
            found = next((by_key[k] for k in _header_keys(src) if k in by_key), None)
        if found is None:
            raise InputError(
                f"{source}: inputs.{table}.columns.{canon} names the header {src!r}, which the "
                f"file lacks. Headers found: {_preview(headers)}. "
                f"{_nearest_text(headers, [src])}Fix: correct the header in the config"
            )
        mapping[canon] = found
        how[canon] = "configured"
    used = set(mapping.values())
    for canon in allowed:
        if canon in mapping:
            continue
        for syn in SYNONYMS[table].get(canon, []):
            hit = next((by_key[k] for k in _header_keys(syn) if k in by_key and by_key[k] not in used), None)
            if hit is not None:
                mapping[canon] = hit
                how[canon] = "synonym"
                used.add(hit)
                break
    missing = [c for c in spec["required"] if c not in mapping]
    if missing:
        parts = []
        for canon in missing:
            cands = [h for h in headers if h not in used]
            parts.append(
                f"required column {canon!r} not found. "
                f"{_nearest_text(cands, SYNONYMS[table].get(canon, []) + [canon])}"
            )
        example = ", ".join(f'{c}: "<header>"' for c in missing)
        raise InputError(
            f"{source}: {table}: " + " ".join(parts)
            + f"Headers found: {_preview(headers)}. "
            + f"Fix: map it in the config, e.g. inputs.{table}.columns: {{{example}}}"
        )
    ordered = {c: mapping[c] for c in allowed if c in mapping}
    return ordered, {c: how[c] for c in ordered}


def nearest_headers(headers: list[str], wanted: list[str], n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` headers most similar to any of ``wanted`` (difflib ratio), best first."""
    scored = []
    wanted_keys = [header_key(w) for w in wanted]
    for h in headers:
        hk = header_key(h)
        score = max((difflib.SequenceMatcher(None, hk, w).ratio() for w in wanted_keys), default=0.0)
        scored.append((h, round(score, 2)))
    scored.sort(key=lambda t: -t[1])
    return [t for t in scored[:n] if t[1] > 0.2]


def _nearest_text(headers: list[str], wanted: list[str]) -> str:
    near = nearest_headers(headers, wanted)
    if not near:
        return "No similar header. "
    return "Nearest: " + ", ".join(f"{h!r} ({s:.2f})" for h, s in near) + ". "


def _preview(headers: list[str], n: int = 30) -> str:
    shown = ", ".join(repr(h) for h in headers[:n])
    return shown + (f", ... ({len(headers)} in all)" if len(headers) > n else "")
