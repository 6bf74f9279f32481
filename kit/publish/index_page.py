"""The run's ``index.html``: executive summary, links to the sections, run metadata.

Built from the artifacts the notebooks left (never from notebook state, never recomputing
a stage), so every figure on the page traces to a function with a test:

* :func:`headline_figures` - customers, active customers, revenue, new customers (with the
  previous period), total predicted CLV and the 12-month revenue at high churn risk
  (their previous values from the previous period's history entry, else "–"; never
  recomputed); counted by :func:`kit.publish.history.period_activity`;
* :func:`trend_section` - the last 8 periods from the client's history store
  (:mod:`kit.publish.history`, this run's own figures for its period): a table of the key
  figures, one of the churn-risk, tier and quadrant mix, two charts
  (:mod:`kit.present.plots.trends`, embedded PNGs with alt text and a caption) and what the
  backfilled periods lack; with fewer than two periods a note says why there is no trend;
* :func:`migration_table` - the quadrant and the value-tier migration at a glance, counted
  by :func:`kit.stages.layering.migration_counts` (the count 02_layering shows);
* :func:`top_actions` and :func:`coming_period` - what the team does first; the coming
  period is the summary notebook 05 saved (``follow_up_summary.json``), not a second plan;
* :func:`deliverable_links` - the Excel and CSV deliverables, then the data files;
* :func:`page_notes` - the notes the notebooks left (``notes.json``), in the report language.

The page is a Jinja template with autoescape on: every value is escaped. It is
self-contained (no external resources; the CJK glyphs it uses are embedded) and in the
report language. With ``report.mask_pii`` customer names are masked.
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import matplotlib
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from matplotlib.figure import Figure

from kit.core import paths
from kit.core.config import KitConfig, Strategy
from kit.core.notes import Note
from kit.core.periods import period_label, previous_period_end
from kit.present import messages
from kit.present import plotting
from kit.present.messages import label, text
from kit.present.plots.trends import plot_customer_trend, plot_value_trend
from kit.present.strategy import actions_text, owner_text
from kit.present.subscriptions import renewal_headline_text
from kit.present.table import header, mask, table
from kit.publish.deliverables import EXTRA_SHEETS, SHEETS, first_by
from kit.publish.parquet import read_parquet, spine_columns_to_read
from kit.publish.history import ACTIVITY_COLUMNS, MIXES, load_records, period_activity, spine_record, trend_frame, trend_records
from kit.publish.html import REPORT_CSS, embed_font, footer_html, language_links, nav_html, section_title, summary_label
from kit.publish.languages import page_name
from kit.stages.layering import migration_counts

#: The artifact notebook 05 leaves for this page (:func:`kit.stages.strategy.coming_summary`).
FOLLOW_UP_SUMMARY = paths.ARTIFACTS["follow_up_summary"]


def headline_figures(
    transactions: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    as_of: pd.Timestamp,
    period: str,
    previous: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Headline figures of the period with their change against the previous period.

    Each item: ``key``, ``value``, ``previous`` (None where it cannot be computed) and
    ``kind`` (count or money). Figures whose inputs are missing are left out, never faked.

    The period is ``[period_start(as_of), as_of]``, the previous one the period before it;
    both include their whole last day. Only purchases count
    (:func:`kit.stages.features.purchase_mask`). ``customers`` counts everyone with a first
    purchase up to the period end (:func:`kit.publish.history.period_activity`, the counts
    the history store records). ``total_clv`` and ``revenue_at_high_risk`` take their previous
    value from ``previous``, the previous period's figures in the history store
    (:func:`kit.publish.history.key_figures`); without them it is None (never recomputed here).
    """
    before = previous or {}
    out: list[dict[str, Any]] = []
    if transactions is not None and len(transactions):
        cur = period_activity(transactions, as_of, period)
        prv = period_activity(transactions, previous_period_end(as_of, period), period)
        out += [{"key": k, "kind": "money" if k == "revenue" else "count", "value": cur[k], "previous": prv[k]}
                for k in ("customers", "active_customers", "revenue", "new_customers")]
    if customers is not None and len(customers):
        if "clv" in customers.columns and customers["clv"].notna().any():
            out.append({"key": "total_clv", "kind": "money", "value": float(customers["clv"].sum()),
                        "previous": before.get("total_clv")})
        if "churn_risk" in customers.columns and "amount_12m" in customers.columns:
            at_risk = customers.loc[customers["churn_risk"] == "high", "amount_12m"].sum()
            out.append({"key": "revenue_at_high_risk", "kind": "money", "value": float(at_risk),
                        "previous": before.get("revenue_at_high_risk")})
    return out


def format_figure(item: dict[str, Any], lang: str, currency: str = "¥") -> dict[str, str]:
    """A figure as ``label``, ``value`` and ``delta`` text in the report language."""
    code = f"index.figure.{item['key']}"
    name = text(code, lang) if messages.has(code) else str(item["key"])
    value = item["value"]
    shown = f"{currency}{value:,.0f}" if item["kind"] == "money" else f"{value:,}"
    prev = item.get("previous")
    delta = text("index.vs_previous", lang, change="–")
    if prev is not None:
        if prev:
            delta = text("index.vs_previous", lang, change=f"{(value - prev) / abs(prev):+.1%}")
        else:
            delta = text("index.previous_zero", lang)
    return {"label": name, "value": shown, "delta": delta}


# --------------------------------------------------------------------------------------
# Migration, actions, coming period
# --------------------------------------------------------------------------------------

_MIGRATION = {
    "quadrant": ("quadrant_prev", "quadrant", ["star", "cash_cow", "potential", "eliminate"]),
    "value_tier": ("value_tier_prev", "value_tier", ["high", "medium", "low"]),
}
#: The spine's columns the summary page reads (the headline figures, the two migrations, the
#: tier changes, the team's first customers); ``tests/test_index_page.py`` holds the page to
#: the one built from every column.
INDEX_COLUMNS = ("clv", "churn_risk", "amount_12m", "quadrant", "quadrant_prev", "value_tier", "value_tier_prev",
                 "tier_change", "priority", "name", "owner", "next_follow_up", "follow_up_overdue", "actions_now")


def migration_table(customers: pd.DataFrame | None, kind: str, lang: str) -> dict[str, Any] | None:
    """Customers from the previous period's quadrant or tier (rows) to this period's (columns).

    Counted by :func:`kit.stages.layering.migration_counts`: rows are the previous
    classes plus ``new``, columns this period's classes plus ``lost``.

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
    m = migration_counts(customers, "count", by=kind)

    def name(k: str) -> str:
        return label("tier_change", k, lang) if k in ("new", "lost") else label(kind, k, lang)

    return {
        "corner": text("index.migration_corner", lang),
        "columns": [name(k) for k in m.columns] + [text("index.total", lang)],
        "rows": [(name(r), [(int(m.loc[r, c]), r == c) for c in m.columns], int(m.loc[r].sum())) for r in m.index],
        "stayed": int(sum(m.loc[k, k] for k in keys)),
        "n": int(m.to_numpy().sum()),
    }


def tier_changes(customers: pd.DataFrame | None, lang: str) -> list[tuple[str, int]]:
    """``(label, customers)`` per tier change (up, down, same, new, lost); [] without it."""
    if customers is None or "tier_change" not in customers.columns:
        return []
    counts = customers["tier_change"].astype("str").value_counts()
    return [(label("tier_change", k, lang), int(counts.get(k, 0))) for k in ("up", "down", "same", "new", "lost")]


def _with_strategy(cfg: KitConfig | None):
    """``cfg``, or the default strategy settings when no config is given."""
    return cfg if cfg is not None else SimpleNamespace(strategy=Strategy())


def top_actions(
    customers: pd.DataFrame | None,
    lang: str,
    n: int = 10,
    *,
    mask_pii: bool = False,
    max_actions: int = 2,
    cfg: KitConfig | None = None,
) -> dict[str, Any] | None:
    """The first ``n`` customers of the team's list (priority 1 first).

    Each row: priority, customer id, name (masked with ``mask_pii``), customer type, owner,
    next follow-up (marked when overdue) and the first ``max_actions`` of ``actions_now``
    in words. None when 05_strategy has not added ``priority`` to the spine.
    """
    if customers is None or "priority" not in customers.columns or not len(customers):
        return None
    scfg = _with_strategy(cfg)
    c = customers.iloc[first_by(customers["priority"], n)]  # the first n, without sorting everyone
    c = mask(c) if mask_pii else c
    overdue = (c["follow_up_overdue"].astype("boolean").fillna(False)
               if "follow_up_overdue" in c.columns else pd.Series(False, index=c.index))
    owners = owner_text(c["owner"], scfg, lang) if "owner" in c.columns else pd.Series("–", index=c.index)
    late = text("index.late", lang)
    rows = []
    for cid, r in c.iterrows():
        nxt = r.get("next_follow_up")
        date = "–" if nxt is None or pd.isna(nxt) else pd.Timestamp(nxt).strftime("%Y-%m-%d")
        acts = actions_text(r.get("actions_now"), scfg, lang, max_actions) or "–"
        name = r.get("name")
        rows.append({
            "cells": [int(r["priority"]), str(cid), "–" if name is None or pd.isna(name) else str(name),
                      label("quadrant", r.get("quadrant"), lang), str(owners[cid]),
                      date + (late if bool(overdue[cid]) else ""), acts],
            "late": bool(overdue[cid]),
        })
    cols = ["priority", "customer_id", "name", "quadrant", "owner", "next_follow_up", "actions_now"]
    return {"columns": [header(k, lang) for k in cols], "rows": rows}


def coming_period(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The coming period as notebook 05 counted it (:func:`kit.stages.strategy.coming_summary`,
    saved as ``follow_up_summary.json``): ``start``, ``end``, ``follow_ups``, ``overdue``,
    ``owners``; None before 05_strategy."""
    need = {"start", "end", "follow_ups", "overdue", "owners"}
    if not isinstance(summary, dict) or not need <= set(summary):
        return None
    return {k: summary[k] for k in need}


# --------------------------------------------------------------------------------------
# Trend across periods (the history store)
# --------------------------------------------------------------------------------------

#: Chart size (inches) and resolution of the trend charts embedded in the page.
CHART_SIZE = (7.0, 3.8)
CHART_DPI = 110
_COUNT_COLUMNS = ("customers", "active_customers", "new_customers")


def _shown(v: Any, money: bool = False, currency: str = "") -> str:
    if v is None or pd.isna(v):
        return "–"
    return f"{currency}{float(v):,.0f}" if money else f"{int(v):,}"


def trend_tables(frame: pd.DataFrame, lang: str) -> tuple[str, str]:
    """The trend frame (:func:`kit.publish.history.trend_frame`) as two HTML tables made by
    :func:`kit.present.table.table`: the key figures per period, and the churn-risk,
    value-tier and quadrant mix per period (headers in the report language)."""
    period, source = text("history.col.period", lang), text("history.col.source", lang)
    figs = pd.DataFrame({period: frame.index.astype(str),
                         source: [label("history_source", "backfill" if b else "run", lang) for b in frame["backfilled"]]})
    kinds = {}
    for key in (*_COUNT_COLUMNS, "revenue", "total_clv", "revenue_at_high_risk"):
        name = text(f"index.figure.{key}", lang)
        figs[name] = frame[key].to_numpy()
        kinds[name] = "int" if key in _COUNT_COLUMNS else "money"
    mix = pd.DataFrame({period: frame.index.astype(str)})
    for col, keys in MIXES.items():
        for k in keys:
            name = label(col, k, lang)
            mix[name] = frame[f"{col}_{k}"].to_numpy()
            kinds[name] = "int"
    return (table(figs, lang, kinds=kinds, caption=text("history.figures_caption", lang), max_rows=None).html,
            table(mix, lang, kinds=kinds, caption=text("history.mix_caption", lang), max_rows=None).html)


def chart_png(plot: Callable[..., Any], data: pd.DataFrame, lang: str, **kw: Any) -> str:
    """``plot(data, ax=..., lang=lang, **kw)`` drawn on its own figure (the kit's theme and
    CJK font, rc settings restored afterwards) as a base64 PNG."""
    with matplotlib.rc_context():
        plotting.setup()
        fig = Figure(figsize=CHART_SIZE)
        plot(data, ax=fig.add_subplot(), lang=lang, **kw)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=CHART_DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def trend_charts(frame: pd.DataFrame, lang: str, currency: str, horizon_months: int) -> list[dict[str, str]]:
    """The two trend charts (``png`` base64, ``alt`` text with the first and last values,
    ``caption``: what to read from the chart)."""
    first, last = frame.iloc[0], frame.iloc[-1]
    span = {"first": str(frame.index[0]), "last": str(frame.index[-1])}
    counts = {f"{k}{i}": _shown(row[col]) for i, row in enumerate((first, last))
              for k, col in (("c", "customers"), ("a", "active_customers"), ("h", "churn_risk_high"))}
    money = {f"{k}{i}": _shown(row[col], True, currency) for i, row in enumerate((first, last))
             for k, col in (("r", "revenue"), ("v", "total_clv"))}
    return [
        {"png": chart_png(plot_customer_trend, frame, lang),
         "alt": text("history.chart.customers_alt", lang, **span, **counts),
         "caption": text("history.chart.customers_caption", lang)},
        {"png": chart_png(plot_value_trend, frame, lang, currency=currency),
         "alt": text("history.chart.value_alt", lang, **span, **money),
         "caption": text("history.chart.value_caption", lang, months=horizon_months)},
    ]


def trend_section(records: list[dict[str, Any]], lang: str, currency: str = "¥",
                  horizon_months: int = 12) -> dict[str, Any]:
    """The index page's trend over the periods of ``records`` (oldest first, at most
    :data:`kit.publish.history.TREND_PERIODS`): with fewer than two periods only ``note``
    (why there is no trend); else ``intro``, ``figures_table`` and ``mix_table`` (HTML),
    ``charts`` and ``notes`` (backfilled periods, figures a period lacks, in words)."""
    labels = [r["label"] for r in records]
    if len(records) < 2:
        return {"note": text("history.too_few", lang, n=len(records), labels=", ".join(labels) or "–")}
    frame = trend_frame(records)
    figures_table, mix_table = trend_tables(frame, lang)
    notes = [{"kind": "info", "text": text("history.backfilled_note", lang)}] if frame["backfilled"].any() else []
    for r in records:
        seen = set()
        for d in r.get("notes", []):
            note = Note.from_dict(d)
            if note.kind == "omitted" and note.code not in seen:
                seen.add(note.code)
                notes.append({"kind": "omitted", "text": text("history.period_note", lang, period=r["label"],
                                                               note=messages.render(note, lang))})
    return {
        "note": None,
        "intro": text("history.trend_intro", lang, n=len(records), first=labels[0], last=labels[-1]),
        "figures_table": Markup(figures_table),  # made by table(): every cell escaped
        "mix_table": Markup(mix_table),
        "charts": trend_charts(frame, lang, currency, horizon_months),
        "notes": notes,
    }


# --------------------------------------------------------------------------------------
# Deliverables and notes
# --------------------------------------------------------------------------------------


def deliverable_links(artifacts: Path, lang: str,
                      languages: tuple[str, ...] = ()) -> tuple[list[dict[str, str]], list[str]]:
    """The deliverables of ``lang`` (its workbook, then the three sheets' CSVs) with a
    description, and the other data files of the run, both as names relative to
    ``artifacts``; another language's deliverables are listed on that language's page."""
    if not artifacts.exists():
        return [], []
    names = sorted(p.name for p in artifacts.iterdir()
                   if p.is_file() and p.suffix in {".xlsx", ".csv", ".parquet", ".json"})
    languages = languages or (lang,)
    zh = lang == "zh"
    main: list[dict[str, str]] = []
    workbook = page_name(paths.ARTIFACTS["deliverables"], lang, languages)
    if workbook in names:
        sheets = "、".join(s[0] for s in SHEETS.values()) if zh else ", ".join(s[1] for s in SHEETS.values())
        main.append({"name": workbook, "what": text("index.workbook_what", lang, sheets=sheets)})
    for zh_name, en_name, zh_csv, en_csv in (*SHEETS.values(), *EXTRA_SHEETS.values()):
        csv = zh_csv if zh else en_csv
        if csv in names:
            main.append({"name": csv, "what": text("index.csv_what", lang, sheet=zh_name if zh else en_name)})
    others = {page_name(paths.ARTIFACTS["deliverables"], x, languages) for x in languages if x != lang}
    others |= {csv for x in languages if x != lang for s in (*SHEETS.values(), *EXTRA_SHEETS.values())
               for csv in [s[2] if x == "zh" else s[3]]}
    taken = {m["name"] for m in main} | others
    return main, [n for n in names if n not in taken]


def page_notes(entries: list[dict[str, Any]], lang: str) -> list[dict[str, str]]:
    """``notes.json`` entries (Note dicts: ``code``, ``params``, ``kind``) as ``kind`` and
    ``text`` rendered from the catalogue in ``lang``."""
    out = []
    for d in entries:
        note = Note.from_dict(d)
        out.append({"kind": note.kind, "text": messages.render(note, lang)})
    return out


def _read(path: Path, kind: str, columns=None) -> Any:
    if not path.exists():
        return None
    if kind == "parquet":
        return read_parquet(path, columns)
    return json.loads(path.read_text(encoding="utf-8"))


def build_index(
    run_dir: Path,
    cfg: KitConfig,
    meta: dict[str, Any],
    *,
    notebooks: tuple[str, ...],
    languages: tuple[str, ...] = (),
    client_dir: Path | None = None,
) -> Path:
    """Render the summary page of every language of the run into ``run_dir`` (``index.html``
    in the first, ``index.en.html`` ...) from its artifacts and ``run.json`` data, reading
    them once; the first language's page is returned.

    The trend and the previous period's CLV come from the history store of ``client_dir``
    (default: the folder holding ``run_dir``, where the run folders and ``history/`` live),
    with this run's own figures in place of any stored entry of its period.
    """
    languages = tuple(languages) or tuple(meta.get("languages") or [meta["language"]])
    art = run_dir / "artifacts"
    tx = _read(art / paths.ARTIFACTS["transactions_clean"], "parquet", ACTIVITY_COLUMNS)  # period_activity's
    customers = _read(art / paths.ARTIFACTS["customers"], "parquet", spine_columns_to_read(INDEX_COLUMNS))
    as_of = pd.Timestamp(meta["as_of"])
    stored = [r for r in load_records(client_dir or run_dir.parent, cfg.period) if r["as_of"] <= f"{as_of:%Y-%m-%d}"]
    current = spine_record(tx, customers, cfg, as_of)
    prev_label = period_label(previous_period_end(as_of, cfg.period), cfg.period)
    previous = next((r["figures"] for r in stored if r["label"] == prev_label), None)
    summary = _read(art / FOLLOW_UP_SUMMARY, "json")  # 05's coming period and renewal headline
    data = SimpleNamespace(
        art=art, customers=customers, meta=meta, notebooks=notebooks, languages=languages,
        headline=headline_figures(tx, customers, as_of, cfg.period, previous),
        trend=trend_records(stored, current[0] if current else None),
        coming=coming_period(summary),
        renewal=(summary or {}).get("renewal"),
        quality=_read(art / paths.ARTIFACTS["quality"], "json"),
        notes=_read(art / "notes.json", "json") or [],
    )
    del tx
    pages = [_render_index(run_dir, cfg, data, lang) for lang in languages]
    return pages[0]


def _render_index(run_dir: Path, cfg: KitConfig, data: SimpleNamespace, lang: str) -> Path:
    """The summary page of one language."""
    def page(name: str) -> str:
        return page_name(name, lang, data.languages)

    notebooks, customers = data.notebooks, data.customers
    nav = [(summary_label(lang), page("index.html"))] + [(section_title(n, lang), page(f"{n}.html")) for n in notebooks]
    deliverables, data_files = deliverable_links(data.art, lang, data.languages)
    env = Environment(loader=FileSystemLoader(str(paths.TEMPLATES_DIR)), autoescape=select_autoescape(["html", "j2"]))
    html_page = env.get_template("index.html.j2").render(
        lang=lang,
        m=lambda code, **params: text(code, lang, **params),
        label=lambda vocabulary, key: messages.label(vocabulary, key, lang),
        title=f"{cfg.client_label(lang)} · {data.meta['period_label']}",
        meta=data.meta,
        css=Markup(REPORT_CSS),  # the kit's own stylesheet, not data
        # escaped by nav_html
        nav=Markup(nav_html(nav, current=page("index.html"),
                            switch=language_links("index.html", lang, data.languages))),
        figures=[format_figure(f, lang, cfg.report.currency) for f in data.headline],
        trends=trend_section(data.trend, lang, cfg.report.currency, cfg.clv.horizon_months),
        sections=nav[1:],
        quadrant_migration=migration_table(customers, "quadrant", lang),
        tier_migration=migration_table(customers, "value_tier", lang),
        tier_changes=tier_changes(customers, lang),
        actions=top_actions(customers, lang, cfg.report.index_top_actions, mask_pii=cfg.report.mask_pii, cfg=cfg),
        coming=data.coming,
        # contracts up for renewal and the share at risk (05_strategy), when the data hold contracts
        renewal=renewal_headline_text(data.renewal, lang, cfg.report.currency) if data.renewal else None,
        strategy_page=page("05_strategy.html") if "05_strategy" in notebooks else None,
        layering_page=page("02_layering.html") if "02_layering" in notebooks else None,
        quality=data.quality,
        notes=page_notes(data.notes, lang),
        deliverables=deliverables,
        data_files=data_files,
        footer=Markup(footer_html(data.meta, lang)),  # escaped by footer_html
    )
    out = run_dir / page("index.html")
    out.write_text(embed_font(html_page), encoding="utf-8")
    return out
