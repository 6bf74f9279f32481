"""``data/sample/README.md``, the subscription customers' section (issue 13): the documented
rates, what came of them in this draw, the signing cohorts, the renewal pipeline at as_of and
the injected defects of ``subscriptions.csv`` and ``usage.csv``."""
from __future__ import annotations

from typing import Any

from kit.datasets.spec import (
    BILLING_LABELS,
    DECLINE_LOGIN_FACTOR,
    DECLINE_RESPONSE_RISE,
    DECLINE_TICKET_RISE,
    STATUS_LABELS,
    SUBSCRIPTIONS_HEADERS,
    USAGE_FEBRUARY_FACTOR,
    USAGE_HEADERS,
    USAGE_HEALTHY_GROWTH,
    USAGE_LOGINS_PER_USER,
    USAGE_RESPONSE_HOURS,
    USAGE_TICKETS_PER_USER,
)

_SUBS_WHY = {
    "missing_customer_id": "contracts entered without a customer (empty or a full-width space); a new 合同编号",
    "end_before_start": "到期日期 typed 30-365 days before 开始日期; a new 合同编号 of a real customer",
    "duplicate_contract_id": "a true contract exported twice: an identical row right after the first",
}
_USAGE_WHY = {
    "missing_customer_id": "a copy of a true row with 客户编号 empty, anywhere in the file",
    "duplicate_rows": "a true row exported twice: an identical row right after the first",
}


def file_rows(files: dict[str, Any]) -> list[str]:
    """The two files' rows of the README's file table."""
    return [
        f"| `subscriptions.csv` | subscription contracts of the cloud platform | UTF-8, LF | {files['subscriptions.csv']['rows']} |",
        f"| `usage.csv` | monthly product usage of the subscribers | UTF-8, LF | {files['usage.csv']['rows']} |",
    ]


def header_lines() -> list[str]:
    return ["* subscriptions: " + ", ".join(SUBSCRIPTIONS_HEADERS), "* usage: " + ", ".join(USAGE_HEADERS)]


def subscriptions_section(g: dict[str, Any], s: dict[str, Any], u: dict[str, Any]) -> list[str]:
    """The whole section: rates, renewals, cohorts, pipeline, defects, reading notes."""
    return (_intro(g, s) + _rates(s) + _cohorts(g, s) + _pipeline(g, s) + _usage(u, s)
            + _defects(s, u) + _reading())


def _intro(g: dict[str, Any], s: dict[str, Any]) -> list[str]:
    r, sub = s["rates"], s["subscribers"]
    return [
        "## Subscription customers (subscriptions.csv, usage.csv)",
        "",
        f"The company also sells a SaaS product, {r['product']} (remote monitoring of the equipment it"
        f" supplies), which went live {r['platform_launch_months_before_start']} months before {g['start']}.",
        f"{r['subscriber_share']:.0%} of the {r['subscriber_pool']} subscribe ({sub['count']} of"
        f" {sub['pool']}, drawn uniformly; their orders, interactions and account managers are in the other"
        f" files). Drawn from their own random stream ({r['stream']}): adding them changed no byte of"
        " orders.csv, customers.xlsx or interactions.csv.",
        "",
        f"* Signing: customers from before the order window sign uniformly over the platform's first"
        f" {r['existing_customers_sign_within_months_of_launch']} months, customers acquired inside it within"
        f" {r['new_customers_sign_within_days_of_first_order']} days of their first order; never after their"
        f" last order nor after as_of.",
        f"* Contracts run {r['contract_months']} months; a renewal starts the day after the previous end and names"
        " it in 续约自. 订阅金额 is the amount per 计费周期 ("
        + ", ".join(f"{k} = {v}" for k, v in BILLING_LABELS.items())
        + f"): list price x a negotiated discount {r['price_discount'][0]:g}-{r['price_discount'][1]:g};"
        f" yearly billing pays 12 months at x{r['yearly_price_factor']:g}. A renewal raises the price by"
        f" {r['renewal_price_rise'][0]:.0%}-{r['renewal_price_rise'][1]:.0%}, or (healthy customers,"
        f" {r['upgrade_on_renewal']:.0%}) upgrades to the next plan.",
        "* 状态: " + ", ".join(f"{k} = {v}" for k, v in STATUS_LABELS.items())
        + f" (生效: running at as_of; 已到期: ran its full term, renewed or not; 已取消: a monthly-billed lapse"
        f" cancelled mid-term, {r['midterm_cancel_share_of_monthly_lapses']:.0%} of them, 3-11 months in)."
        " Renewals that would start after as_of are not in the file.",
        "* The master's 合同到期日 is the supply framework agreement, not these subscriptions.",
        "",
    ]


def _rates(s: dict[str, Any]) -> list[str]:
    """Plans, billing, usage patterns and renewal probabilities with what came of them."""
    r, p = s["rates"], s["patterns"]
    lines = [
        "| plan | share at signing | list price a month | active users at signing | first contracts |",
        "|---|---|---|---|---|",
    ]
    for k, v in r["plans"].items():
        lo, hi = v["active_users_at_signing"]
        lines.append(f"| {k} | {v['share']:.0%} | {v['list_price_month']:,.0f} | {lo:g}-{hi:g} | {s['first_plans'][k]} |")
    so, o = p["stopped_ordering"], p["ordering"]
    lines += [
        "",
        "Billing: " + ", ".join(f"{k} {v:.0%}" for k, v in r["billing_shares"].items()) + " of subscribers ("
        + ", ".join(f"{k} {v}" for k, v in s["billing"].items()) + "), kept over renewals.",
        f"Usage pattern: declining for {r['declining_share']['stopped_ordering']:.0%} of the subscribers who stop"
        f" ordering by as_of ({so['declining']} of {so['customers']}) and {r['declining_share']['ordering']:.0%} of"
        f" the others ({o['declining']} of {o['customers']}); healthy otherwise ({p['healthy']} healthy,"
        f" {p['declining']} declining).",
        "",
        "Renewal probability at the end of each contract year, for customers still ordering then (one whose last"
        " order falls before the contract's end does not renew); decisions = contract ends before as_of:",
        "",
        "| pattern | plan | probability | decisions | renewed | rate |",
        "|---|---|---|---|---|---|",
    ]
    for pattern, plans in s["renewals"]["still_ordering_by_pattern_and_plan"].items():
        for plan, d in plans.items():
            rate = "" if d["rate"] is None else f"{d['rate']:.1%}"
            lines.append(f"| {pattern} | {plan} | {d['probability']:.0%} | {d['decisions']} | {d['renewed']} | {rate} |")
    n = s["renewals"]
    lines += [
        "",
        f"All {n['decisions']} decisions: {n['renewed']} renewed, {n['lapsed']} lapsed ({n['lapsed_after_stopping_orders']}"
        f" after the customer stopped ordering, {n['cancelled_midterm']} cancelled mid-term); {n['upgrades']} renewals"
        " upgraded. Contracts by 状态: " + ", ".join(f"{k} {v}" for k, v in s["status"].items()) + ".",
        "",
    ]
    return lines


def _cohorts(g: dict[str, Any], s: dict[str, Any]) -> list[str]:
    lines = [
        f"Signing cohorts (year of a customer's first contract). Renewal k: customers whose k-th renewal date"
        f" (first start + k years) is on or before {g['as_of']}, and how many of them renewed k times:",
        "",
        "| cohort | customers | renewal 1 | renewal 2 | renewal 3 | renewal 4 | lapsed | active |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for year, d in s["cohorts"].items():
        cells = [f"{r} of {o}" for o, r in zip(d["observed"], d["renewed"])]
        cells += [""] * (4 - len(cells))
        lines.append(f"| {year} | {d['customers']} | " + " | ".join(cells[:4]) + f" | {d['lapsed']} | {d['active']} |")
    return lines + [""]


def _pipeline(g: dict[str, Any], s: dict[str, Any]) -> list[str]:
    a = s["active"]
    lines = [
        f"At {g['as_of']}: {a['contracts']} contracts 生效, monthly recurring amount {a['monthly_recurring_amount']:,.2f}"
        f" ({a['declining_usage']} of declining usage). Renewal pipeline (as_of < 到期日期 <= as_of + days):",
        "",
        "| window | contracts | monthly amount | declining usage | stopped ordering |",
        "|---|---|---|---|---|",
    ]
    for k, d in s["pipeline"].items():
        lines.append(f"| {k.replace('_', ' ')} | {d['contracts']} | {d['monthly_amount']:,.2f} | {d['declining_usage']}"
                     f" | {d['stopped_ordering']} |")
    return lines + [""]


def _usage(u: dict[str, Any], s: dict[str, Any]) -> list[str]:
    d = s["rates"]["decline"]
    return [
        f"usage.csv: one row per subscriber and month its contracts cover, {u['months']['first']} to"
        f" {u['months']['last']} ({u['true_rows']} true rows, {u['customers']} customers). Healthy: active users"
        f" grow {USAGE_HEALTHY_GROWTH[0]:.0%}-{USAGE_HEALTHY_GROWTH[1]:.0%} a month, {USAGE_LOGINS_PER_USER[0]:g}-"
        f"{USAGE_LOGINS_PER_USER[1]:g} logins a user (February x{USAGE_FEBRUARY_FACTOR:g}), feature coverage near its"
        f" level at signing, {USAGE_TICKETS_PER_USER:g} tickets a user a month, first response about"
        f" {USAGE_RESPONSE_HOURS:g} hours. Declining: from {d['months_before_last_month'][0]}-"
        f"{d['months_before_last_month'][1]} months before the subscriber's last month (its lapse, or as_of) active"
        f" users fall {d['user_rate'][0]:.0%}-{d['user_rate'][1]:.0%} a month, logins {DECLINE_LOGIN_FACTOR:g} times as"
        f" fast, coverage loses {d['coverage_points'][0]:g}-{d['coverage_points'][1]:g} points a month, tickets rise"
        f" {DECLINE_TICKET_RISE:.0%} and first-response hours {DECLINE_RESPONSE_RISE:.0%} of their level per month of"
        f" decline ({u['rows_declining']} rows in decline).",
        "",
    ]


def _defects(s: dict[str, Any], u: dict[str, Any]) -> list[str]:
    lines = [
        f"### subscriptions.csv ({s['true_contracts']} true contracts, {s['rows']} rows)",
        "",
        "| defect | rate | count = expected quarantine | why |",
        "|---|---|---|---|",
    ]
    for k, d in s["defects"].items():
        lines.append(f"| {k} | {d['rate']:.1%} | {d['count']} | {_SUBS_WHY[k]} |")
    lines += [
        "",
        f"### usage.csv ({u['true_rows']} true rows, {u['rows']} rows)",
        "",
        "| defect | rate | count = expected quarantine | why |",
        "|---|---|---|---|",
    ]
    for k, d in u["defects"].items():
        lines.append(f"| {k} | {d['rate']:.1%} | {d['count']} | {_USAGE_WHY[k]} |")
    r = s["rates"]["formats"]
    return lines + [
        "",
        f"Format variety on the valid contract rows: {r['slash_date_share']:.0%} of rows write dates `2024/3/5`"
        f" (the others `2024-03-05`), {r['thousands_share']:.0%} write 订阅金额 with thousands separators (`23,760.00`).",
        "",
    ]


def _reading() -> list[str]:
    return [
        "* 月份 is the month's first day (`2025-03-01`). 功能覆盖率 is a percent 0-100 (the clean table's",
        "  `feature_coverage` is 0-1). 首次响应时长(小时) is blank in a month without tickets (工单数 0).",
        "* 续约自 is empty for a customer's first contract; the subscribers' ids are in `manifest.json`.",
        "",
    ]
