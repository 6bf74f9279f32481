"""``data/sample/README.md``: what the files are and every injected rate and count."""
from __future__ import annotations

from typing import Any

import numpy as np

from kit.datasets.readme_subscriptions import file_rows, header_lines, subscriptions_section
from kit.datasets.spec import (
    _CHURNER_LEVELS,
    _FREQ_GROWTH_SHARE,
    _LAPSE_MONTHS,
    _LAPSE_SHARE,
    _SEASON,
    _SEASON_COUNT_POWER,
    ARCHETYPES,
    CUSTOMERS_HEADERS,
    INTERACTIONS_HEADERS,
    ORDERS_HEADERS,
    TEST_ACCOUNT_IDS,
    UNPARSEABLE_AMOUNTS,
    UNPARSEABLE_DATES,
    ZERO_AMOUNTS,
)

#: why each order defect is there (the README's table)
_WHY = {
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

#: an example of each format on the valid rows
_EXAMPLES = {
    "order_date": {"iso": "2024-01-05", "iso_time": "2024-01-05 14:30:00", "slash": "2024/1/5",
                   "compact": "20240105", "chinese": "2024年1月5日"},
    "amount": {"plain": "12345.60", "thousands": "12,345.60", "yuan_fullwidth": "￥12,345.60",
               "rmb": "RMB 12,345.60", "fullwidth_digits": "１２３４５.６０"},
    "customer_id": {"plain": "000123", "spaces": "' 000123', '000123 '",
                    "fullwidth_space": "'\u3000000123' (U+3000 before or after)"},
}


def _span(r: tuple[float, float]) -> str:
    return f"{r[0]:g}-{r[1]:g}"


def _years(r: tuple[float, float]) -> str:
    return "never" if not np.isfinite(r[0]) else _span(r)


def render_readme(manifest: dict[str, Any], dynamics: dict[str, Any] | None = None) -> str:
    """``data/sample/README.md``: what the files are and every injected rate and count.

    ``dynamics`` (:func:`sample_dynamics`) adds the drop-outs by year and the
    frequency / spend correlation; without it those figures are left out.
    """
    g, o, c, i, t = (manifest[k] for k in ("generator", "orders", "customers", "interactions", "truth"))
    lines = (_files_section(g, manifest["files"]) + _orders_section(o) + _master_and_interactions_section(c, i)
             + _truth_section(g, t, dynamics) + _NOTES
             + subscriptions_section(g, manifest["subscriptions"], manifest["usage"]))
    return "\n".join(lines)


def _files_section(g: dict[str, Any], f: dict[str, Any]) -> list[str]:
    """Title, how the files were made, the files and their headers."""
    return [
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
        *file_rows(f),
        "| `manifest.json` | exact injected counts and key figures of the truth | UTF-8 | |",
        "",
        "Headers:",
        "",
        "* orders: " + ", ".join(ORDERS_HEADERS),
        "* customers: " + ", ".join(CUSTOMERS_HEADERS),
        "* interactions: " + ", ".join(INTERACTIONS_HEADERS),
        *header_lines(),
        "",
        "Customer ids are six-digit strings with leading zeros (`000123`): read them as text.",
        "Order ids are `SO` + order date + a 4-digit sequence (`SO202401050003`).",
        "",
    ]


def _orders_section(o: dict[str, Any]) -> list[str]:
    """The orders file's defects, refunds, formats and statuses."""
    lines = [
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
        lines.append(f"| {k} | {d['rate']:.1%} | {d['count']} | {amount} | {_WHY[k]} |")
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
    for col, counts in o["formats"].items():
        for k, v in counts.items():
            lines.append(f"| {col} | {k}: `{_EXAMPLES[col][k]}` | {v} |")
    lines += [
        "",
        "`￥` is the full-width yuan sign: the half-width `¥` (U+00A5) has no GBK code, so a GBK",
        "export cannot hold it. Statuses of true orders: "
        + ", ".join(f"{k} {v}" for k, v in o["status_true_orders"].items())
        + f"; {o['overdue_true_orders']} true orders have 逾期天数 > 0.",
        "",
    ]
    return lines


def _master_and_interactions_section(c: dict[str, Any], i: dict[str, Any]) -> list[str]:
    """The master sheet's and the interactions file's defects and contents."""
    return [
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


def _truth_section(g: dict[str, Any], t: dict[str, Any], dynamics: dict[str, Any] | None) -> list[str]:
    """Value tiers, archetypes, drop-out, order value and seasonality, growth, new customers."""
    lines: list[str] = []
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
    return lines


#: The closing reading notes.
_NOTES = [
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
