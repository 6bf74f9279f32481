"""The deliverables writer as it was before it streamed (issue 14), kept as the reference
that ``tests/test_deliverables_stream.py`` holds the streamed writer to, file by file.

A frozen copy of ``kit/publish/deliverables.py`` (and of ``write_csv`` and ``csv_ready`` of
``kit/publish/writer.py``: the formula neutralisation cell by cell; and, at the end, of its
``write_workbook``: every cell written through one generic ``_write_row``) as of 2026-11-30:
every sheet built whole, a full sort of the spine for the capped workbook. Not imported by
the kit.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from kit.core.config import DEFAULT_RFM_SEGMENTS
from kit.core.notes import Note
from kit.core.registry import TAG_PREFIX
from kit.present.messages import render, text
from kit.present.personas import tag_label
from kit.present.strategy import actions_series, follow_up_plan_text, owner_text
import pyarrow as pa
import pyarrow.csv as pacsv

from kit.present.table import as_text as _as_text
from kit.present.table import display_values, mask
from kit.publish.writer import (
    _HEAD_STYLE,
    NUMBER_FORMATS,
    _check_sheet_names,
    _column_width,
    _FROZEN_MAX_WIDTH,
    _print_setup,
    display_width,
    excel_kind,
    frozen_columns,
    inside,
    is_formula_like,
    money_in_cents,
    neutralise,
    sheet_headers,
)

CSV_CHUNK_ROWS = 200_000


def csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as ``yyyy-mm-dd``, lists joined, every text cell and header neutralised."""
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%d")
        elif not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            s = s.map(lambda v: neutralise(_as_text(v)), na_action="ignore")
        out[neutralise(str(col))] = s
    return pd.DataFrame(out, index=df.index)


def write_csv(
    df: pd.DataFrame,
    path: str | Path,
    *,
    root: str | Path,
    lang: str | None = None,
    mask_pii: bool = False,
    bom: bool = True,
) -> Path:
    """Write ``df`` (canonical columns) as CSV inside ``root``.

    ``lang`` given: values and headers as a reader sees them (labels, 是/否) in that
    language; None: canonical headers and stored values (an artifact for the next stage
    or an analyst). PII columns are masked when ``mask_pii``; formula-like text is
    neutralised always. UTF-8 with a BOM by default (Excel opens Chinese correctly).
    """
    target = inside(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as f:
        if bom:
            f.write(b"\xef\xbb\xbf")
        for start in range(0, max(len(df), 1), CSV_CHUNK_ROWS):
            chunk = money_in_cents(df.iloc[start:start + CSV_CHUNK_ROWS])
            if lang is not None:
                chunk = display_values(chunk, lang, mask_pii=mask_pii)
                chunk.columns = sheet_headers(list(chunk.columns), lang)
            elif mask_pii:
                chunk = mask(chunk)
            chunk = csv_ready(chunk)
            try:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column mixing numbers and text
                chunk.to_csv(f, index=False, header=start == 0, encoding="utf-8")
                continue
            pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=start == 0, quoting_style="needed"))
    return target

__all__ = [
    "CLASSIFICATION_COLUMNS", "PROFILE_COLUMNS", "SHEETS", "STRATEGY_COLUMNS", "TAG_FAMILIES",
    "Deliverables", "build_sheets", "classification_sheet", "csv_name", "display_width", "drop_empty",
    "empty_columns", "notes_sheet", "overview", "profile_sheet", "sheet_name", "strategy_sheet",
    "tag_values", "top_customers", "write_csvs", "write_deliverables", "write_workbook",
]

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

#: ``tag_*`` column of 03_personas -> its tag family (tag values through
#: :func:`tag_label`); count columns have no family. Headers: ``table.tag_header``.
TAG_FAMILIES: dict[str, str | None] = {
    "tag_industry": "industry", "tag_size": "size", "tag_region": "region",
    "tag_decision_role": "decision_role", "tag_recent_orders": None, "tag_channel": "channel",
    "tag_keywords": "keywords", "tag_category": "category", "tag_n_categories": None,
    "tag_core_pain": "core_pain", "tag_hidden_need": "hidden_need",
    "tag_decision_concern": "decision_concern", "tag_pain_hits": None,
}


# --------------------------------------------------------------------------------------
# Names
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


# --------------------------------------------------------------------------------------
# Values from the config
# --------------------------------------------------------------------------------------


def _tag_columns(customers: pd.DataFrame) -> list[str]:
    return [c for c in customers.columns if c.startswith(TAG_PREFIX) and c != "tag_score"]


def tag_values(customers: pd.DataFrame, lang: str, cfg_personas=None) -> pd.DataFrame:
    """The ``tag_*`` columns with their values in the report language.

    Multi-valued tags (``a|b``) are joined with ``、`` (zh) or ``, `` (en); decision roles,
    pain points, size bands and channels go through :func:`tag_label`; counts stay numbers.
    """
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


def _segment_labels(df: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    """RFM segment names in words (``cfg.layering.rfm.segments``; keys it lacks stay)."""
    if "rfm_segment" not in df.columns:
        return df
    segments = cfg.layering.rfm.segments if cfg is not None else DEFAULT_RFM_SEGMENTS
    names = {r.name: r.label(lang) for r in segments}
    df["rfm_segment"] = df["rfm_segment"].map(lambda k: names.get(k, k) if isinstance(k, str) else k)
    return df


def _only(customers: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """The spine's columns a sheet shows (a copy of just those, not of all ~90)."""
    keep = list(dict.fromkeys(c for c in columns if c in customers.columns))
    return customers[keep].copy()


def _pick(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``columns`` of ``df`` that exist, in that order; the ``customer_id`` index as a column."""
    src = df.reset_index() if df.index.name == "customer_id" else df
    return src[[c for c in columns if c in src.columns]].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# The three sheets (canonical columns)
# --------------------------------------------------------------------------------------


def profile_sheet(customers: pd.DataFrame, lang: str, cfg=None) -> pd.DataFrame:
    """《客户信息档案表》: base data and tags, one row per customer.

    Parameters
    ----------
    customers : DataFrame
        The spine, index ``customer_id``; any subset of :data:`PROFILE_COLUMNS` and the
        ``tag_*`` columns of 03_personas (missing columns are left out).
    lang : {"zh", "en"}
        Language of the tag values and the RFM segment names.
    cfg : KitConfig, optional
        Its ``personas.pain_points`` label the pain-point tags and its RFM segments the
        segment names (default: the brief's).

    Returns
    -------
    DataFrame
        Canonical columns, sorted by customer id.
    """
    df = _only(customers, PROFILE_COLUMNS + _tag_columns(customers)).sort_index()
    tags = tag_values(df, lang, cfg.personas if cfg is not None else None)
    if len(tags.columns):
        df = df.drop(columns=tags.columns).join(tags)
    cols = PROFILE_COLUMNS[:-1] + list(tags.columns) + PROFILE_COLUMNS[-1:]
    return _pick(_segment_labels(df, cfg, lang), cols)


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
    12-month amount, else by customer id. ``cfg`` (optional) names the RFM segments.
    """
    df = _only(customers, CLASSIFICATION_COLUMNS + ["clv", "amount_12m"]).sort_index()
    for by in ("clv", "amount_12m"):
        if by in df.columns and df[by].notna().any():
            df = df.sort_values(by, ascending=False, na_position="last", kind="mergesort")
            break
    return _pick(_segment_labels(df, cfg, lang), CLASSIFICATION_COLUMNS)


def strategy_sheet(customers: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    """《客户维护策略执行表》: customer type, strategy, owner and follow-up plan.

    Parameters
    ----------
    customers : DataFrame
        The spine after :func:`kit.stages.strategy.assign` (columns ``strategy, owner,
        cadence_days, last_contact, next_follow_up, follow_up_overdue, priority,
        actions_now``).
    cfg : KitConfig
        The playbook (``cfg.strategy.playbook``) gives the goal, actions and resources.
    lang : {"zh", "en"}

    Returns
    -------
    DataFrame
        One row per customer in priority order (1 first), canonical columns.
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
    df["follow_up_plan"] = follow_up_plan_text(df, lang)
    if "owner" in df:
        df["owner"] = owner_text(df["owner"], cfg, lang)
    if "actions_now" in df:
        df["actions_now"] = actions_series(df["actions_now"], cfg, lang)
    if "priority" in df:
        df = df.sort_values("priority", kind="mergesort")
    return _pick(df, STRATEGY_COLUMNS)


SHEET_BUILDERS = {
    "profile": lambda customers, cfg, lang: profile_sheet(customers, lang, cfg),
    "classification": lambda customers, cfg, lang: classification_sheet(customers, lang, cfg),
    "strategy": lambda customers, cfg, lang: strategy_sheet(customers, cfg, lang),
}


def build_sheets(customers: pd.DataFrame, cfg, lang: str) -> dict[str, pd.DataFrame]:
    """The three sheets keyed by their report-language sheet names, in the guides' order."""
    return {sheet_name(key, lang): build(customers, cfg, lang) for key, build in SHEET_BUILDERS.items()}


# --------------------------------------------------------------------------------------
# Columns empty for every customer
# --------------------------------------------------------------------------------------

#: Columns a sheet keeps even when empty: a row without its customer id means nothing.
KEEP_COLUMNS = ("customer_id",)


def _is_blank(value) -> bool:
    """A value that says nothing: blank text or an empty list (missing values are dropped before)."""
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, np.ndarray)):
        return len(value) == 0
    return False


def empty_columns(sheet: pd.DataFrame) -> list[str]:
    """Columns of ``sheet`` without a value for any customer (missing, blank text or an empty
    list in every row), in sheet order; none for a sheet without rows (nothing was seen) and
    never ``customer_id``. ``False`` and ``0`` are values, so a flag or a count is kept."""
    if not len(sheet):
        return []
    out = []
    for col in sheet.columns:
        if col in KEEP_COLUMNS:
            continue
        values = sheet[col].dropna()
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            if all(_is_blank(v) for v in values):  # stops at the first value with content
                out.append(col)
        elif values.empty:
            out.append(col)
    return out


def drop_empty(sheet: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``sheet`` without ``columns`` (those it has)."""
    return sheet.drop(columns=[c for c in columns if c in sheet.columns])


def notes_sheet(dropped: Mapping[str, list[str]], lang: str, capped: Note | None = None) -> pd.DataFrame:
    """The workbook's notes sheet (``说明`` / ``Notes``): one row per column left out
    (sheet, column header, why), then the workbook cap when there is one. Canonical
    columns ``sheet_name, sheet_column, sheet_note``; empty when there is nothing to say."""
    rows = [(sheet, head, text("strategy.notes_empty_column", lang))
            for sheet, cols in dropped.items() for head in sheet_headers(cols, lang)]
    if capped is not None:
        rows.append((text("strategy.notes_all_sheets", lang), None, render(capped, lang)))
    return pd.DataFrame(rows, columns=["sheet_name", "sheet_column", "sheet_note"])


def _empty_notes(dropped: Mapping[str, list[str]], lang: str) -> list[Note]:
    return [Note("strategy.note_empty_columns", {"sheet": sheet, "n": len(cols),
                                                 "columns": sheet_headers(cols, lang)}, "info", "deliverables")
            for sheet, cols in dropped.items() if cols]


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def write_csvs(
    sheets: Mapping[str, pd.DataFrame],
    directory: str | Path,
    lang: str,
    mask_pii: bool = False,
    *,
    root: str | Path | None = None,
) -> list[Path]:
    """Write each sheet as CSV (UTF-8 with BOM) through :func:`kit.publish.writer.write_csv`.

    File names come from :func:`csv_name`; the files must lie inside ``root`` (default:
    ``directory``). Returns the files written, in the order of ``sheets``.
    """
    directory = Path(directory)
    root = directory if root is None else root
    return [write_csv(df, directory / csv_name(name), root=root, lang=lang, mask_pii=mask_pii)
            for name, df in sheets.items()]


def overview(names: list[str], rows: list[int], excel_rows: int, columns: list[int],
             dropped: list[int] | None = None) -> pd.DataFrame:
    """One row per sheet: name, rows in the CSV and in Excel, columns, empty columns left
    out and its CSV file name."""
    return pd.DataFrame({
        "sheet_name": names,
        "csv_rows": rows,
        "excel_rows": [excel_rows] * len(names),
        "sheet_columns": columns,
        "dropped_columns": dropped if dropped is not None else [0] * len(names),
        "csv_file": [csv_name(n) for n in names],
    })


@dataclass
class Deliverables:
    """What :func:`write_deliverables` wrote."""

    csvs: list[Path]
    workbook: Path
    overview: pd.DataFrame
    previews: dict[str, pd.DataFrame]
    workbook_rows: int
    dropped: int
    notes: list[Note] = field(default_factory=list)
    #: Sheet name -> canonical columns left out of it and its CSV (empty for every customer).
    empty_columns: dict[str, list[str]] = field(default_factory=dict)


def write_deliverables(
    customers: pd.DataFrame,
    cfg,
    lang: str,
    directory: str | Path,
    workbook: str | Path,
    *,
    mask_pii: bool = False,
    preview_rows: int = 5,
    root: str | Path | None = None,
) -> Deliverables:
    """Every customer in the CSVs, the first ``cfg.report.excel_max_rows`` by priority in
    the workbook; each sheet is built, written and dropped before the next, so a large
    spine never holds three display copies at once. A column empty for every customer
    (:func:`empty_columns`, judged on all customers) is left out of the CSV and the
    workbook alike, listed in the workbook's notes sheet (:func:`notes_sheet`) and in a
    note. Files must lie inside ``root`` (default: ``directory``). Previews have canonical
    columns (show them with ``ctx.table``).
    """
    root = directory if root is None else root
    names, rows, cols, csvs, previews, dropped = [], [], [], [], {}, {}
    for key, build in SHEET_BUILDERS.items():
        name = sheet_name(key, lang)
        sheet = build(customers, cfg, lang)
        dropped[name] = empty_columns(sheet)
        sheet = drop_empty(sheet, dropped[name])
        csvs += write_csvs({name: sheet}, directory, lang, mask_pii, root=root)
        names.append(name)
        rows.append(len(sheet))
        cols.append(sheet.shape[1])
        previews[name] = sheet.head(preview_rows)
        del sheet
    book = top_customers(customers, cfg.report.excel_max_rows)
    cut = book.attrs["dropped"]
    capped = Note("strategy.note_workbook_capped", {"rows": len(book), "dropped": cut}, "info",
                  "deliverables") if cut else None
    sheets = {name: drop_empty(sheet, dropped[name]) for name, sheet in build_sheets(book, cfg, lang).items()}
    notes = notes_sheet(dropped, lang, capped)
    if len(notes):
        sheets[text("strategy.notes_sheet_name", lang)] = notes
    path = write_workbook(sheets, workbook, root=root, lang=lang, mask_pii=mask_pii, wrap=("sheet_note",))
    return Deliverables(csvs, path, overview(names, rows, len(book), cols, [len(dropped[n]) for n in names]),
                        previews, len(book), cut, _empty_notes(dropped, lang) + ([capped] if capped else []),
                        {n: gone for n, gone in dropped.items() if gone})


# --------------------------------------------------------------------------------------
# The workbook writer as it was: one generic call per cell (frozen copy of kit/publish/writer.py)
# --------------------------------------------------------------------------------------


def _cell_value(value: Any) -> Any:
    """A Python value XlsxWriter can write (missing -> None, numpy scalars -> Python)."""
    if value is None or value is pd.NaT or value is pd.NA:
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


def _write_row(ws, i: int, row: tuple, fmts: list, text_fmt, date_fmt) -> None:
    for j, value in enumerate(row):
        v = _cell_value(value)
        if v is None:
            continue
        if isinstance(v, str):  # write_string never makes a formula, whatever the text starts with
            ws.write_string(i, j, v, text_fmt if is_formula_like(v) else None)
        elif isinstance(v, bool):
            ws.write_boolean(i, j, v)
        elif isinstance(v, (int, float)):
            if v == v and abs(v) != float("inf"):
                ws.write_number(i, j, v, fmts[j])
        elif isinstance(v, (dt.datetime, dt.date)):
            ws.write_datetime(i, j, v, fmts[j] or date_fmt)
        else:
            ws.write_string(i, j, str(v))


def _write_sheet(wb, fmt: dict, name: str, df: pd.DataFrame, lang: str, mask_pii: bool,
                 wrap: frozenset[str]) -> None:
    """One sheet: header row, columns sized and formatted, rows, panes, filter, print setup."""
    kinds = [excel_kind(c, df[c]) for c in df.columns]
    shown = display_values(df, lang, mask_pii=mask_pii)
    heads = sheet_headers(list(df.columns), lang)
    frozen = frozen_columns(df.columns)
    ws = wb.add_worksheet(name)
    fmts = [fmt["wrap"] if str(c) in wrap else fmt["num"].get(k) for c, k in zip(df.columns, kinds)]
    for j, col in enumerate(shown.columns):
        width = _column_width(heads[j], shown[col], kinds[j])
        ws.set_column(j, j, min(width, _FROZEN_MAX_WIDTH) if j < frozen else width, fmts[j])
        ws.write_string(0, j, heads[j], fmt["head_text"] if is_formula_like(heads[j]) else fmt["head"])
    ws.freeze_panes(1, frozen)
    for i, row in enumerate(shown.itertuples(index=False, name=None), start=1):
        _write_row(ws, i, row, fmts, fmt["text"], fmt["num"]["date"])
    if len(heads):
        ws.autofilter(0, 0, max(len(shown), 1), len(heads) - 1)
    _print_setup(ws)


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    root: str | Path,
    lang: str,
    mask_pii: bool = False,
    wrap: Iterable[str] = (),
) -> Path:
    """Write sheets (canonical columns) into one formatted ``.xlsx`` inside ``root``.

    Parameters
    ----------
    sheets : mapping of str to DataFrame
        Sheet name (at most 31 characters) -> table with canonical columns; values are
        shown as :func:`kit.present.table.display_values` shows them (labels, 是/否),
        headers through :func:`sheet_headers`. The index is not written.
    path : str or Path
        Target file, inside ``root`` (:func:`inside`).
    lang : {"zh", "en"}
    mask_pii : bool
        Mask every column with a PII role (``cfg.report.mask_pii``).
    wrap : iterable of str
        Text columns (canonical names) whose long text wraps inside the column's width
        (a sheet of notes) instead of running on in one line.

    Returns
    -------
    Path
        The file. Each sheet has a bold, filled header row; panes frozen below it and right
        of the id and name columns (:func:`frozen_columns`: ``C2`` when they lead); an auto
        filter over the table; widths from the content (CJK counted double); number formats
        ``#,##0`` (money, counts), ``0.0%`` (shares), ``yyyy-mm-dd`` (dates); and a print
        setup: landscape, fit to one page wide, the header row repeated on every page.
        Formula-like text is written as a string cell with the quote prefix, never as a
        formula.
    """
    _check_sheet_names(sheets)
    target = inside(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # XlsxWriter streams rows (constant memory) and takes number formats per column
    wb = xlsxwriter.Workbook(str(target), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False, "strings_to_numbers": False})
    fmt = {
        "head": wb.add_format(_HEAD_STYLE),
        "head_text": wb.add_format({**_HEAD_STYLE, "quote_prefix": True}),
        "text": wb.add_format({"quote_prefix": True}),  # formula-like text, shown as typed
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "num": {kind: wb.add_format({"num_format": f}) for kind, f in NUMBER_FORMATS.items()},
    }
    for name, df in sheets.items():
        _write_sheet(wb, fmt, name, df, lang, mask_pii, frozenset(wrap))
    if not sheets:
        wb.add_worksheet("empty")
    wb.close()
    return target
