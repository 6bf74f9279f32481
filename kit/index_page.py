"""The run's ``index.html``: executive summary, links to the sections, run metadata.

Built from the artifacts the notebooks left (never from notebook state), so every figure
on the page traces to a function here with a test.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from kit import paths
from kit.config import KitConfig
from kit.periods import period_start, previous_period_end


def headline_figures(
    transactions: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    as_of: pd.Timestamp,
    period: str,
) -> list[dict[str, Any]]:
    """Headline figures of the period with their change against the previous period.

    Each item: ``key``, ``value``, ``previous`` (None where it cannot be computed) and
    ``kind`` (count or money). Figures whose inputs are missing are left out, never faked.
    """
    out: list[dict[str, Any]] = []
    if transactions is not None and len(transactions):
        tx = transactions
        if "is_return" in tx.columns:
            tx = tx[~tx["is_return"].astype(bool)]
        start = period_start(as_of, period)
        prev_end = previous_period_end(as_of, period)
        prev_start = period_start(prev_end, period)
        d = tx["order_date"]
        cur = tx[(d >= start) & (d <= as_of + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))]
        prv = tx[(d >= prev_start) & (d <= prev_end + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))]
        first = tx.groupby("customer_id")["order_date"].min()
        seen_cur = first[first <= as_of + pd.Timedelta(days=1)]
        seen_prev = first[first <= prev_end + pd.Timedelta(days=1)]
        out += [
            {"key": "customers", "kind": "count", "value": int(len(seen_cur)), "previous": int(len(seen_prev))},
            {"key": "active_customers", "kind": "count", "value": int(cur["customer_id"].nunique()),
             "previous": int(prv["customer_id"].nunique())},
            {"key": "revenue", "kind": "money", "value": float(cur["amount"].sum()),
             "previous": float(prv["amount"].sum())},
            {"key": "new_customers", "kind": "count", "value": int(((first >= start) & (first <= as_of + pd.Timedelta(days=1))).sum()),
             "previous": int(((first >= prev_start) & (first <= prev_end + pd.Timedelta(days=1))).sum())},
        ]
    if customers is not None and len(customers):
        if "clv" in customers.columns:
            out.append({"key": "total_clv", "kind": "money", "value": float(customers["clv"].sum()),
                        "previous": None})
        if "churn_risk" in customers.columns and "amount_12m" in customers.columns:
            at_risk = customers.loc[customers["churn_risk"] == "high", "amount_12m"].sum()
            out.append({"key": "revenue_at_high_risk", "kind": "money", "value": float(at_risk),
                        "previous": None})
    return out


LABELS = {
    "customers": ("客户数", "Customers"),
    "active_customers": ("本期活跃客户", "Active customers this period"),
    "revenue": ("本期收入", "Revenue this period"),
    "new_customers": ("本期新客户", "New customers this period"),
    "total_clv": ("预测客户终身价值合计", "Total predicted CLV"),
    "revenue_at_high_risk": ("高流失风险客户近12月收入", "12-month revenue at high churn risk"),
}


def format_figure(item: dict[str, Any], lang: str, currency: str = "¥") -> dict[str, str]:
    zh, en = LABELS.get(item["key"], (item["key"], item["key"]))
    value = item["value"]
    text = f"{currency}{value:,.0f}" if item["kind"] == "money" else f"{value:,}"
    delta = ""
    prev = item.get("previous")
    if prev is not None:
        if prev:
            change = (value - prev) / abs(prev)
            delta = f"{'较上期' if lang == 'zh' else 'vs previous'} {change:+.1%}"
        else:
            delta = "上期为零" if lang == "zh" else "previous period: 0"
    return {"label": zh if lang == "zh" else en, "value": text, "delta": delta}


def _read(path: Path, kind: str) -> Any:
    if not path.exists():
        return None
    if kind == "parquet":
        return pd.read_parquet(path)
    return json.loads(path.read_text(encoding="utf-8"))


def build_index(
    run_dir: Path,
    cfg: KitConfig,
    meta: dict[str, Any],
    *,
    nav: list[tuple[str, str]],
    notebooks: tuple[str, ...],
) -> Path:
    """Render ``index.html`` into ``run_dir`` from its artifacts and ``run.json`` data."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from kit.report import REPORT_CSS, cards, embed_font, nav_html
    from kit.run import footer_html, section_title

    lang = meta["language"]
    art = run_dir / "artifacts"
    tx = _read(art / paths.ARTIFACTS["transactions_clean"], "parquet")
    customers = _read(art / paths.ARTIFACTS["customers"], "parquet")
    quality = _read(art / paths.ARTIFACTS["quality"], "json")
    notes = _read(art / "notes.json", "json") or []
    as_of = pd.Timestamp(meta["as_of"])
    figures = [format_figure(f, lang, cfg.report.currency) for f in headline_figures(tx, customers, as_of, cfg.period)]
    deliverables = sorted(
        p.name for p in art.glob("*") if p.suffix in {".xlsx", ".csv", ".parquet", ".json"}
    ) if art.exists() else []
    env = Environment(
        loader=FileSystemLoader(str(paths.TEMPLATES_DIR)), autoescape=select_autoescape(["html", "j2"])
    )
    from markupsafe import Markup

    page = env.get_template("index.html.j2").render(
        lang=lang,
        t=lambda zh, en: zh if lang == "zh" else en,
        title=f"{cfg.client_name or cfg.client} · {meta['period_label']}",
        meta=meta,
        css=Markup(REPORT_CSS),
        nav=Markup(nav_html(nav, current="index.html")),
        cards=Markup(cards(figures)),
        sections=[(section_title(n, lang), f"{n}.html") for n in notebooks],
        quality=quality,
        notes=notes,
        deliverables=deliverables,
        footer=Markup(footer_html(meta, lang)),
    )
    out = run_dir / "index.html"
    out.write_text(embed_font(page), encoding="utf-8")
    return out
