"""The three deliverable sheets the guides name, as Excel and CSV files for people.

* 《客户信息档案表》 customer profile sheet: base data + tags (:func:`profile_sheet`);
* 《客户分类评估表》 classification sheet: indicators + quadrant + tier + CLV
  (:func:`classification_sheet`);
* 《客户维护策略执行表》 strategy execution sheet: type, strategy, owner, follow-up plan
  (:func:`strategy_sheet`).

A column empty for every customer (CDNOW has no master, no interactions, no categories:
fourteen profile columns) is left out of the sheet and its CSV alike
(:func:`empty_columns`), and the workbook's notes sheet (``说明`` / ``Notes``) lists each
one with the reason; the report shows the same as a note.

The sheet builders read the spine (``customers.parquet``, canonical English keys) and
return frames with canonical columns; the values that come from the config (the play's
goal, actions and resources, tag and RFM segment labels, the follow-up plan, the actions
now) are put in words in the report language. Everything else -- headers, labels of
stored keys, 是/否, masking by PII role, formula neutralisation, number formats -- is
decided once, by the column registry (``kit/core/columns``) and the one writer
(:mod:`kit.publish.writer`: :func:`~kit.publish.writer.write_workbook`,
:func:`~kit.publish.writer.write_csv`).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kit.core.config import DEFAULT_RFM_SEGMENTS
from kit.core.notes import Note
from kit.core.registry import TAG_PREFIX
from kit.present.messages import render, text
from kit.present.personas import tag_label
from kit.present.strategy import actions_series, follow_up_plan_text, owner_text
from kit.present.table import map_distinct
from kit.publish import writer
from kit.publish.writer import display_width, sheet_headers, write_csv, write_workbook

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

#: Sheets that are not one row per customer, passed to :func:`write_deliverables` as
#: ``extra`` (written whole, after the three): key -> zh, en sheet and CSV names.
EXTRA_SHEETS: dict[str, tuple[str, str, str, str]] = {
    "renewal": ("续约跟进表", "Renewal follow-up", "续约跟进表.csv", "renewal_follow_up.csv"),
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
    for zh, en, zh_csv, en_csv in (*SHEETS.values(), *EXTRA_SHEETS.values()):
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
        out[col] = map_distinct(s.astype("str"), lambda v, family=family: sep.join(
            tag_label(family, part, lang, cfg_personas) for part in v.split("|") if part)).astype("str")
    return pd.DataFrame(out, index=customers.index)


def _segment_labels(df: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    """RFM segment names in words (``cfg.layering.rfm.segments``; keys it lacks stay)."""
    if "rfm_segment" not in df.columns:
        return df
    segments = cfg.layering.rfm.segments if cfg is not None else DEFAULT_RFM_SEGMENTS
    names = {r.name: r.label(lang) for r in segments}
    df["rfm_segment"] = map_distinct(df["rfm_segment"], lambda k: names.get(k, k) if isinstance(k, str) else k)
    return df


def _pick(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``columns`` of ``df`` that exist, in that order; the ``customer_id`` index as a column."""
    src = df.reset_index() if df.index.name == "customer_id" else df
    return src[[c for c in columns if c in src.columns]].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# The three sheets (canonical columns)
# --------------------------------------------------------------------------------------


def spine_columns(available: Iterable[str]) -> list[str]:
    """The spine's columns the deliverables read, of ``available`` (the spine file's): the
    three sheets' columns and sort columns, every ``tag_*`` column, the persona words."""
    names = list(available)
    present = set(names)
    wanted = [*PROFILE_COLUMNS, *CLASSIFICATION_COLUMNS, *STRATEGY_COLUMNS, "clv", "amount_12m", "priority",
              *(c for c in names if c.startswith(TAG_PREFIX))]  # the tags in the spine's order: the sheet's
    return [c for c in dict.fromkeys(wanted) if c in present]


def _source_columns(key: str, customers: pd.DataFrame) -> list[str]:
    """The spine's columns the sheet ``key`` reads (those the spine has)."""
    wanted = {"profile": PROFILE_COLUMNS + _tag_columns(customers),
              "classification": CLASSIFICATION_COLUMNS + ["clv", "amount_12m"],
              "strategy": STRATEGY_COLUMNS + ["strategy", "quadrant", "cadence_days", "next_follow_up",
                                              "follow_up_overdue", "priority"]}[key]
    return list(dict.fromkeys(c for c in wanted if c in customers.columns))


def _positions(series: pd.Series, **sort) -> np.ndarray:
    """The positions that put ``series`` in the order ``Series.sort_values(**sort)`` gives
    (pandas' own sort on one column: the same order, ties and missing values included)."""
    return series.reset_index(drop=True).sort_values(**sort).index.to_numpy()


def sheet_order(key: str, customers: pd.DataFrame) -> np.ndarray:
    """The spine's row positions in the order of the sheet ``key``, from its sort columns
    only (no copy of the spine): profile by customer id; classification by CLV (highest
    first) when computed, else by the trailing 12-month amount, else by customer id;
    strategy by ``priority`` (1 first), else spine order."""
    n = len(customers)
    if key == "strategy":
        if "priority" in customers.columns:
            return _positions(customers["priority"], kind="mergesort")
        return np.arange(n)
    by_id = pd.Series(np.arange(n), index=customers.index, copy=False).sort_index().to_numpy()
    if key == "classification":
        for by in ("clv", "amount_12m"):
            if by in customers.columns and customers[by].notna().any():
                values = customers[by].iloc[by_id]
                return by_id[_positions(values, ascending=False, na_position="last", kind="mergesort")]
    return by_id


def _profile_rows(df: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    tags = tag_values(df, lang, cfg.personas if cfg is not None else None)
    if len(tags.columns):
        df = df.drop(columns=tags.columns).join(tags)
    cols = PROFILE_COLUMNS[:-1] + list(tags.columns) + PROFILE_COLUMNS[-1:]
    return _pick(_segment_labels(df, cfg, lang), cols)


def _classification_rows(df: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    return _pick(_segment_labels(df, cfg, lang), CLASSIFICATION_COLUMNS)


def _strategy_rows(df: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    play = cfg.strategy.playbook
    key = df["strategy"] if "strategy" in df else df.get("quadrant", pd.Series(pd.NA, index=df.index))
    df["goal"] = map_distinct(key, {k: p.goal(lang) for k, p in play.items()})
    df["strategy"] = map_distinct(
        key, {k: "; ".join(f"{i}. {a(lang)}" for i, a in enumerate(p.actions, 1)) for k, p in play.items()}
    )
    df["resources"] = map_distinct(key, {k: p.resources(lang) for k, p in play.items()})
    df["response_hours"] = map_distinct(key, {k: p.response_hours for k, p in play.items()}).astype("Int64")
    df["follow_up_plan"] = follow_up_plan_text(df, lang)
    if "owner" in df:
        df["owner"] = owner_text(df["owner"], cfg, lang)
    if "actions_now" in df:
        df["actions_now"] = actions_series(df["actions_now"], cfg, lang)
    return _pick(df, STRATEGY_COLUMNS)


#: Sheet key -> the rows of the sheet from spine rows already in the sheet's order (a copy
#: of the columns the sheet reads): row by row, so a sheet can be built in pieces.
SHEET_ROWS = {"profile": _profile_rows, "classification": _classification_rows, "strategy": _strategy_rows}


def sheet_rows(key: str, customers: pd.DataFrame, cfg, lang: str, positions: np.ndarray | None = None) -> pd.DataFrame:
    """The sheet ``key`` for the spine rows at ``positions`` (default: every row, in
    :func:`sheet_order`), in that order: only the sheet's own columns are copied."""
    pos = sheet_order(key, customers) if positions is None else positions
    cols = [customers.columns.get_loc(c) for c in _source_columns(key, customers)]
    return SHEET_ROWS[key](customers.iloc[pos, cols], cfg, lang)


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
    return sheet_rows("profile", customers, cfg, lang)


def top_customers(customers: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """The ``max_rows`` customers an account team works on first (by ``priority``, else all).

    The workbook is for people and Excel stops at 1,048,576 rows; the CSVs keep everyone.
    ``attrs["dropped"]`` counts the customers left out. The first ``max_rows`` by priority
    are found by a partial selection (:func:`first_by`), not a sort of the spine.
    """
    if len(customers) <= max_rows:
        out = customers.copy()
    elif "priority" in customers.columns:
        out = customers.iloc[first_by(customers["priority"], max_rows)]
    else:
        out = customers.head(max_rows).copy()
    out.attrs["dropped"] = len(customers) - len(out)
    return out


def first_by(values: pd.Series, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest ``values`` in the order a stable ascending sort puts
    them (ties in spine order, missing values last): ``values.sort_values(kind="mergesort")
    .head(k)`` without sorting all of them -- ``numpy.argpartition`` finds the k-th value,
    only the values up to it are sorted."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    present = np.flatnonzero(~np.isnan(v))
    if len(present) > k:
        kth = v[present[np.argpartition(v[present], k - 1)[k - 1]]]
        chosen = present[v[present] <= kth]  # every tie of the k-th value: the order decides among them
    else:
        chosen = present
    chosen = chosen[np.lexsort((chosen, v[chosen]))][:k]
    if len(chosen) < k:  # missing values come last, in spine order
        chosen = np.concatenate([chosen, np.flatnonzero(np.isnan(v))[:k - len(chosen)]])
    return chosen


def classification_sheet(customers: pd.DataFrame, lang: str, cfg=None) -> pd.DataFrame:
    """《客户分类评估表》: indicator values, quadrant, tier, churn risk and CLV.

    Sorted by CLV (highest first) when the CLV was computed, else by the trailing
    12-month amount, else by customer id. ``cfg`` (optional) names the RFM segments.
    """
    return sheet_rows("classification", customers, cfg, lang)


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
    return sheet_rows("strategy", customers, cfg, lang)


SHEET_BUILDERS = {
    "profile": lambda customers, cfg, lang: profile_sheet(customers, lang, cfg),
    "classification": lambda customers, cfg, lang: classification_sheet(customers, lang, cfg),
    "strategy": lambda customers, cfg, lang: strategy_sheet(customers, cfg, lang),
}


def _book_sheet(build, book: pd.DataFrame, cfg, lang: str, empty: list[str]) -> pd.DataFrame:
    """One sheet of the workbook: ``build`` of the workbook's customers, without ``empty``."""
    return drop_empty(build(book, cfg, lang), empty)


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


def overview(names: list[str], rows: list[int], excel_rows: int | list[int], columns: list[int],
             dropped: list[int] | None = None) -> pd.DataFrame:
    """One row per sheet: name, rows in the CSV and in Excel (one number for every sheet, or
    one per sheet), columns, empty columns left out and its CSV file name."""
    return pd.DataFrame({
        "sheet_name": names,
        "csv_rows": rows,
        "excel_rows": excel_rows if isinstance(excel_rows, list) else [excel_rows] * len(names),
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
    #: Sheet key (``profile`` ...) -> the same columns, for another language's ``empty``.
    empty_by_key: dict[str, list[str]] = field(default_factory=dict)


def sheet_chunks(key: str, customers: pd.DataFrame, cfg, lang: str, order: np.ndarray | None = None,
                 rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The sheet ``key`` in consecutive pieces of ``rows`` customers (default
    :data:`kit.publish.writer.CSV_CHUNK_ROWS`), in the sheet's order: each piece copies only
    its own rows of the sheet's columns. Together they are :func:`sheet_rows` (at least one
    piece, empty for an empty spine)."""
    order = sheet_order(key, customers) if order is None else order
    step = rows or writer.CSV_CHUNK_ROWS
    for start in range(0, max(len(order), 1), step):
        yield sheet_rows(key, customers, cfg, lang, order[start:start + step])


def _empty_over_chunks(key: str, customers: pd.DataFrame, cfg, lang: str, order: np.ndarray) -> list[str]:
    """:func:`empty_columns` of the whole sheet, judged piece by piece (a column is empty
    when it is empty in every piece)."""
    empty: list[str] | None = None
    for piece in sheet_chunks(key, customers, cfg, lang, order):
        here = set(empty_columns(piece)) if len(piece) else set()
        empty = [c for c in piece.columns if c in here] if empty is None else [c for c in empty if c in here]
        if not empty:
            break
    return empty or []


def _write_sheet_csv(key: str, customers: pd.DataFrame, cfg, lang: str, directory: Path, root, mask_pii: bool,
                     preview_rows: int, gone: list[str] | None = None) -> tuple[Path, list[str], int, pd.DataFrame]:
    """One sheet's CSV, built and written piece by piece: the file, the columns left out
    (empty for every customer: ``gone``, else judged here in a first pass), the number of
    columns written and the preview rows."""
    name = sheet_name(key, lang)
    order = sheet_order(key, customers)
    if gone is None:
        gone = _empty_over_chunks(key, customers, cfg, lang, order)
    state: dict[str, Any] = {}

    def pieces() -> Iterator[pd.DataFrame]:
        for piece in sheet_chunks(key, customers, cfg, lang, order):
            piece = drop_empty(piece, gone)
            if "preview" not in state:
                state["preview"], state["columns"] = piece.head(preview_rows), piece.shape[1]
            yield piece

    path = writer.write_csv_chunks(pieces(), directory / csv_name(name), root=root, lang=lang, mask_pii=mask_pii)
    return path, gone, state["columns"], state["preview"]


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
    extra: Mapping[str, pd.DataFrame] | None = None,
    empty: Mapping[str, list[str]] | None = None,
) -> Deliverables:
    """Every customer in the CSVs, the first ``cfg.report.excel_max_rows`` by priority in
    the workbook. The CSVs stream: each sheet is built and written
    :data:`kit.publish.writer.CSV_CHUNK_ROWS` customers at a time, in the sheet's order
    (:func:`sheet_order`, from the sort columns alone), so no sheet is ever held whole; the
    workbook's customers are found by a partial selection on priority (:func:`top_customers`).
    A column empty for every customer (:func:`empty_columns`, judged on all customers: a
    first pass over the pieces) is left out of the CSV and the workbook alike, listed in the
    workbook's notes sheet (:func:`notes_sheet`) and in a note. ``empty``: those columns
    per sheet key as another language's :attr:`Deliverables.empty_by_key` found them (a value
    has words in every language, so the same columns are empty): the first pass is skipped. Files must lie inside
    ``root`` (default: ``directory``). Previews have canonical columns (show them with
    ``ctx.table``). ``extra``: further sheets by name, not one row per customer (the renewal
    follow-up of :data:`EXTRA_SHEETS`), written whole to their CSV and after the three in the
    workbook.
    """
    root = directory if root is None else root
    directory = Path(directory)
    names, cols, csvs, previews, dropped = [], [], [], {}, {}
    for key in SHEET_ROWS:
        name = sheet_name(key, lang)
        path, dropped[name], n_cols, previews[name] = _write_sheet_csv(
            key, customers, cfg, lang, directory, root, mask_pii, preview_rows,
            None if empty is None else list(empty.get(key, [])))
        csvs.append(path)
        names.append(name)
        cols.append(n_cols)
    book = top_customers(customers, cfg.report.excel_max_rows)
    cut = book.attrs["dropped"]
    capped = Note("strategy.note_workbook_capped", {"rows": len(book), "dropped": cut}, "info",
                  "deliverables") if cut else None
    n_book = len(book)
    # each sheet built when the workbook writes it, then dropped: one sheet held at a time
    sheets: dict[str, Any] = {
        sheet_name(key, lang): functools.partial(_book_sheet, build, book, cfg, lang, dropped[sheet_name(key, lang)])
        for key, build in SHEET_BUILDERS.items()}
    extra = dict(extra or {})
    sheets.update(extra)
    csvs += write_csvs(extra, directory, lang, mask_pii, root=root)
    notes = notes_sheet(dropped, lang, capped)
    if len(notes):
        sheets[text("strategy.notes_sheet_name", lang)] = notes
    path = write_workbook(sheets, workbook, root=root, lang=lang, mask_pii=mask_pii, wrap=("sheet_note",))
    rows = [len(customers)] * len(names) + [len(x) for x in extra.values()]
    excel_rows = [n_book] * len(names) + [len(x) for x in extra.values()]
    cols += [x.shape[1] for x in extra.values()]
    gone = [len(dropped[n]) for n in names] + [0] * len(extra)
    return Deliverables(csvs, path, overview(names + list(extra), rows, excel_rows, cols, gone),
                        previews, n_book, cut, _empty_notes(dropped, lang) + ([capped] if capped else []),
                        {n: gone for n, gone in dropped.items() if gone},
                        {key: dropped[sheet_name(key, lang)] for key in SHEET_ROWS})
