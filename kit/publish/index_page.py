"""The run's ``index.html``: executive summary, links to the sections, run metadata.

Built from the artifacts the notebooks left (never from notebook state), so every figure
on the page traces to a function here with a test:

* :func:`headline_figures` - customers, active customers, revenue, new customers (with the
  previous period), total predicted CLV and the 12-month revenue at high churn risk
  (no previous value: the previous period's CLV and churn risk are not recomputed, shown
  as "–");
* :func:`migration_table` - the quadrant and the value-tier migration at a glance;
* :func:`top_actions` and :func:`coming_period` - what the team does first;
* :func:`deliverable_links` - the Excel and CSV deliverables, then the data files.

The page is self-contained (no external resources; the CJK glyphs it uses are embedded)
and in the report language. With ``report.mask_pii`` customer names are masked.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from kit.core import paths
from kit.core.config import KitConfig
from kit.present.labels import label
from kit.core.periods import period_start, previous_period_end

_DAY = pd.Timedelta(days=1)


def headline_figures(
    transactions: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    as_of: pd.Timestamp,
    period: str,
) -> list[dict[str, Any]]:
    """Headline figures of the period with their change against the previous period.

    Each item: ``key``, ``value``, ``previous`` (None where it cannot be computed) and
    ``kind`` (count or money). Figures whose inputs are missing are left out, never faked.

    The period is ``[period_start(as_of), as_of]``, the previous one the period before it;
    both include their whole last day. ``customers`` counts everyone with a first order up
    to the period end; ``total_clv`` and ``revenue_at_high_risk`` have no previous value
    (the previous period's CLV and churn risk are not recomputed).
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
        end, prev_stop = as_of + _DAY, prev_end + _DAY  # exclusive ends: whole last days count
        cur = tx[(d >= start) & (d < end)]
        prv = tx[(d >= prev_start) & (d < prev_stop)]
        first = tx.groupby("customer_id")["order_date"].min()
        out += [
            {"key": "customers", "kind": "count", "value": int((first < end).sum()),
             "previous": int((first < prev_stop).sum())},
            {"key": "active_customers", "kind": "count", "value": int(cur["customer_id"].nunique()),
             "previous": int(prv["customer_id"].nunique())},
            {"key": "revenue", "kind": "money", "value": float(cur["amount"].sum()),
             "previous": float(prv["amount"].sum())},
            {"key": "new_customers", "kind": "count", "value": int(((first >= start) & (first < end)).sum()),
             "previous": int(((first >= prev_start) & (first < prev_stop)).sum())},
        ]
    if customers is not None and len(customers):
        if "clv" in customers.columns and customers["clv"].notna().any():
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
    prev = item.get("previous")
    delta = f"{'较上期' if lang == 'zh' else 'vs previous'} –"
    if prev is not None:
        if prev:
            change = (value - prev) / abs(prev)
            delta = f"{'较上期' if lang == 'zh' else 'vs previous'} {change:+.1%}"
        else:
            delta = "上期为零" if lang == "zh" else "previous period: 0"
    return {"label": zh if lang == "zh" else en, "value": text, "delta": delta}


# --------------------------------------------------------------------------------------
# Migration, actions, deliverables
# --------------------------------------------------------------------------------------

_MIGRATION = {
    "quadrant": ("quadrant_prev", "quadrant", ["star", "cash_cow", "potential", "eliminate"]),
    "value_tier": ("value_tier_prev", "value_tier", ["high", "medium", "low"]),
}


def migration_table(customers: pd.DataFrame | None, kind: str, lang: str) -> dict[str, Any] | None:
    """Customers from the previous period's quadrant or tier (rows) to this period's (columns).

    Rows are the previous classes plus ``new`` (``tier_change == "new"``, or no previous
    class when ``tier_change`` is absent); columns are this period's classes plus
    ``lost`` (``tier_change == "lost"``), as in :func:`kit.layering.migration_matrix`.

    Parameters
    ----------
    customers : DataFrame or None
        The spine with ``<kind>_prev`` and ``<kind>``.
    kind : {"quadrant", "value_tier"}
    lang : {"zh", "en"}

    Returns
    -------
    dict or None
        ``corner`` (header of the row labels), ``columns`` (labels, then the total),
        ``rows``: list of ``(label, [(count, on_diagonal)], total)``, ``stayed`` (customers on the
        diagonal) and ``n``; None when the columns are missing.
    """
    prev_col, cur_col, keys = _MIGRATION[kind]
    if customers is None or not {prev_col, cur_col} <= set(customers.columns):
        return None
    prev = customers[prev_col].astype("str")
    cur = customers[cur_col].astype("str")
    if "tier_change" in customers.columns:
        change = customers["tier_change"].astype("str")
        prev = prev.where(change != "new", "new")
        cur = cur.where(change != "lost", "lost")
    prev = prev.fillna("new")
    rows_k, cols_k = [*keys, "new"], [*keys, "lost"]
    m = pd.crosstab(prev, cur).reindex(index=rows_k, columns=cols_k, fill_value=0).astype("int64")

    def name(k: str) -> str:
        return label("tier_change", k, lang) if k in ("new", "lost") else label(kind, k, lang)

    return {
        "corner": ("上期 → 本期" if lang == "zh" else "previous → this period"),
        "columns": [name(k) for k in cols_k] + ["合计" if lang == "zh" else "Total"],
        "rows": [(name(r), [(int(m.loc[r, c]), r == c) for c in cols_k], int(m.loc[r].sum())) for r in rows_k],
        "stayed": int(sum(m.loc[k, k] for k in keys)),
        "n": int(m.to_numpy().sum()),
    }


def tier_changes(customers: pd.DataFrame | None, lang: str) -> list[tuple[str, int]]:
    """``(label, customers)`` per tier change (up, down, same, new, lost); [] without it."""
    if customers is None or "tier_change" not in customers.columns:
        return []
    counts = customers["tier_change"].astype("str").value_counts()
    return [(label("tier_change", k, lang), int(counts.get(k, 0))) for k in ("up", "down", "same", "new", "lost")]


def top_actions(
    customers: pd.DataFrame | None,
    lang: str,
    n: int = 10,
    *,
    mask_pii: bool = False,
    max_actions: int = 2,
) -> dict[str, Any] | None:
    """The first ``n`` customers of the team's list (priority 1 first).

    Each row: priority, customer id, name (masked with ``mask_pii``), customer type, owner,
    next follow-up (``!`` marks an overdue one) and the first ``max_actions`` of
    ``actions_now``. None when 05_strategy has not added ``priority`` to the spine.
    """
    if customers is None or "priority" not in customers.columns or not len(customers):
        return None
    from kit.publish.deliverables import header
    from kit.present.privacy import mask_frame

    c = mask_frame(customers, mask_pii).sort_values("priority", kind="mergesort").head(n)
    overdue = (c["follow_up_overdue"].astype("boolean").fillna(False)
               if "follow_up_overdue" in c.columns else pd.Series(False, index=c.index))
    late = "（逾期）" if lang == "zh" else " (overdue)"
    rows = []
    for cid, r in c.iterrows():
        nxt = r.get("next_follow_up")
        date = "–" if nxt is None or pd.isna(nxt) else pd.Timestamp(nxt).strftime("%Y-%m-%d")
        actions = r.get("actions_now")
        acts = "; ".join(str(actions).split("; ")[:max_actions]) if isinstance(actions, str) and actions else "–"
        name = r.get("name")
        rows.append([
            int(r["priority"]), str(cid), "–" if name is None or pd.isna(name) else str(name),
            label("quadrant", r.get("quadrant"), lang), str(r.get("owner", "–")),
            date + (late if bool(overdue[cid]) else ""), acts,
        ])
    cols = ["priority", "customer_id", "name", "quadrant", "owner", "next_follow_up", "actions_now"]
    return {"columns": [header(k, lang) for k in cols], "rows": rows}


def coming_period(
    customers: pd.DataFrame | None,
    as_of: pd.Timestamp,
    period: str,
    *,
    cfg: KitConfig | None = None,
    interactions: pd.DataFrame | None = None,
) -> dict[str, Any] | None:
    """Follow-ups the coming period holds, counted as notebook 05 counts them.

    Returns ``start``, ``end``, ``follow_ups`` (:func:`kit.strategy.follow_up_plan`,
    with the open activation touchpoints of the period's new customers when ``cfg`` is
    given), ``overdue`` (follow-ups overdue now) and ``owners``; None before 05_strategy.
    """
    need = {"owner", "cadence_days", "next_follow_up", "follow_up_overdue"}
    if customers is None or not need <= set(customers.columns):
        return None
    from kit.stages.strategy import activation_schedule, follow_up_plan, next_period

    schedule = None
    if cfg is not None and "first_purchase" in customers.columns:
        schedule = activation_schedule(customers, interactions, period_start(as_of, period), as_of, cfg,
                                       cfg.language)
    plan = follow_up_plan(customers, as_of, period, activation=schedule)
    start, end = next_period(as_of, period)
    return {
        "start": start.strftime("%Y-%m-%d"),
        "end": end.strftime("%Y-%m-%d"),
        "follow_ups": int(len(plan)),
        "overdue": int(customers["follow_up_overdue"].astype("boolean").fillna(False).sum()),
        "owners": int(plan["owner"].nunique()),
    }


def deliverable_links(artifacts: Path, lang: str) -> tuple[list[dict[str, str]], list[str]]:
    """The deliverables (workbook, then the three sheets' CSVs) with a description, and
    the other data files of the run, both as names relative to ``artifacts``."""
    from kit.publish.deliverables import SHEETS

    if not artifacts.exists():
        return [], []
    names = sorted(p.name for p in artifacts.iterdir()
                   if p.is_file() and p.suffix in {".xlsx", ".csv", ".parquet", ".json"})
    main: list[dict[str, str]] = []
    workbook = paths.ARTIFACTS["deliverables"]
    if workbook in names:
        sheets = "、".join(zh for zh, *_ in SHEETS.values()) if lang == "zh" else ", ".join(
            en for _, en, *_ in SHEETS.values())
        main.append({"name": workbook, "what": (f"Excel 交付表：{sheets}" if lang == "zh"
                                                else f"Excel workbook: {sheets}")})
    for zh, en, zh_csv, en_csv in SHEETS.values():
        for csv in (zh_csv, en_csv):
            if csv in names:
                main.append({"name": csv, "what": (f"{zh}（CSV，UTF-8）" if lang == "zh" else f"{en} (CSV, UTF-8)")})
    taken = {m["name"] for m in main}
    return main, [n for n in names if n not in taken]


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

    from kit.present.report import REPORT_CSS, cards, embed_font, nav_html
    from kit.publish.run import footer_html, section_title

    lang = meta["language"]
    art = run_dir / "artifacts"
    tx = _read(art / paths.ARTIFACTS["transactions_clean"], "parquet")
    customers = _read(art / paths.ARTIFACTS["customers"], "parquet")
    interactions = _read(art / paths.ARTIFACTS["interactions_clean"], "parquet")
    quality = _read(art / paths.ARTIFACTS["quality"], "json")
    notes = _read(art / "notes.json", "json") or []
    as_of = pd.Timestamp(meta["as_of"])
    figures = [format_figure(f, lang, cfg.report.currency) for f in headline_figures(tx, customers, as_of, cfg.period)]
    deliverables, data_files = deliverable_links(art, lang)
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
        quadrant_migration=migration_table(customers, "quadrant", lang),
        tier_migration=migration_table(customers, "value_tier", lang),
        tier_changes=tier_changes(customers, lang),
        actions=top_actions(customers, lang, cfg.report.index_top_actions, mask_pii=cfg.report.mask_pii),
        coming=coming_period(customers, as_of, cfg.period, cfg=cfg, interactions=interactions),
        strategy_page="05_strategy.html" if "05_strategy" in notebooks else None,
        layering_page="02_layering.html" if "02_layering" in notebooks else None,
        quality=quality,
        notes=notes,
        deliverables=deliverables,
        data_files=data_files,
        footer=Markup(footer_html(meta, lang)),
    )
    out = run_dir / "index.html"
    out.write_text(embed_font(page), encoding="utf-8")
    return out
