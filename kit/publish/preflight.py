"""``kit check``: a preflight of a config's inputs, in seconds, without running a notebook.

:func:`check_inputs` opens every configured input with :mod:`kit.io` (the same reader the
run uses: format, encoding, sheet, header row, mapping) and returns the facts as one
JSON-able dict: per input how it was read, the mapping (mapped, unmapped source headers,
missing canonical columns with the nearest headers), the parse rates of its dates and
numbers on a sample (the first ``sample_rows`` rows) with up to three failing cells, the
date range against ``as_of``, and how the money thresholds (``layering.value_tiers``,
``layering.abc``) split the customers. Subscriptions also say how the billing period of their
amounts is known (a column, the amount's header, ``cleaning.default_billing_period``: none
stops the run) and which status and billing-period words the config does not map (warnings). ``errors`` lists what would fail the run (a missing
or unreadable file, a missing required column, a reading :mod:`kit.io` refuses); ``ok`` is
True when there is none. Words for a reader are rendered by :mod:`kit.publish.check_text`.
"""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from kit.core.config import CANONICAL_COLUMNS, INPUT_TABLES, SYNONYMS, Cleaning, KitConfig
from kit.core.periods import add_months
from kit.io import (
    DATE_COLUMNS,
    NUMBER_COLUMNS,
    InputError,
    RawTable,
    nearest_headers,
    normalize_ids,
    parse_amounts,
    parse_dates,
    parse_numbers,
    parse_ratio,
    read_table,
)
from kit.publish.context import resolve_as_of
from kit.publish.safety import no_purchase_message
from kit.stages.clean import check_billing_period, fallback_period, month_dates, unknown_words
from kit.stages.layering import abc_classes, concentration_notes, value_tiers

#: Rows of each input whose values are parsed (``kit check --sample``); 0: every row.
SAMPLE_ROWS = 5000
#: Failing cells shown per column.
EXAMPLES = 3

Parser = Callable[[pd.Series], tuple[pd.Series, pd.Series]]

#: Number columns read as money (amounts) or as ratios (margins); other numbers are counts.
MONEY_COLUMNS = ("amount", "profit", "annual_revenue", "recurring_amount")
RATIO_COLUMNS = ("margin", "feature_coverage")
#: Tables whose dates may be months only (``2024-03``: the month's first day, as the run reads them).
MONTH_DATE_TABLES = ("subscriptions", "usage")


def _month_dates(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    return parse_dates(month_dates(series))


def parsers(table: str) -> dict[str, tuple[str, Parser]]:
    """The columns of ``table`` whose values are checked (kit.io's number and date columns):
    canonical name -> (kind, parser)."""
    dates = _month_dates if table in MONTH_DATE_TABLES else parse_dates
    out: dict[str, tuple[str, Parser]] = {c: ("date", dates) for c in DATE_COLUMNS.get(table, ())}
    for c in NUMBER_COLUMNS.get(table, ()):
        out[c] = (("ratio", parse_ratio) if c in RATIO_COLUMNS else ("money", parse_amounts)
                  if c in MONEY_COLUMNS else ("number", parse_numbers))
    return out


#: The date column of a table whose range is shown.
DATE_COLUMN = {"transactions": "order_date", "interactions": "date", "subscriptions": "start_date", "usage": "date"}


def check_inputs(cfg: KitConfig, *, sample_rows: int = SAMPLE_ROWS) -> dict[str, Any]:
    """The preflight facts of ``cfg`` (see the module docstring)."""
    facts: dict[str, Any] = {
        "config": str(cfg.source) if cfg.source else None, "client": cfg.client,
        "currency": cfg.currency, "period": cfg.period, "sample_rows": int(sample_rows),
        "as_of": None, "as_of_from": "config" if cfg.as_of is not None else "latest order date",
        "inputs": [], "thresholds": None, "errors": [], "warnings": [],
    }
    raws: dict[str, RawTable] = {}
    for table in INPUT_TABLES:
        spec = getattr(cfg.inputs, table)
        if spec is None:
            continue
        entry, raw = _check_input(spec, table, sample_rows)
        if raw is not None and table == "subscriptions" and not entry.get("error"):
            subscription_facts(entry, raw, cfg.cleaning, facts["warnings"])
        facts["inputs"].append(entry)
        if entry.get("error"):
            facts["errors"].append(entry["error"])
        if raw is not None:
            raws[table] = raw
    tx = raws.get("transactions")
    if tx is not None and not facts["inputs"][0].get("error"):
        try:
            as_of = resolve_as_of(cfg)
        except InputError as e:
            facts["errors"].append(_one_line(e))
            as_of = None
        if as_of is not None:
            facts["as_of"] = as_of.date().isoformat()
            _count_after(facts, tx, as_of)
            _check_as_of(facts, tx, cfg, as_of, sample_rows)
            facts["thresholds"] = threshold_split(tx, cfg, as_of, sample_rows)
    facts["ok"] = not facts["errors"]
    return facts


def _check_input(spec, table: str, sample_rows: int) -> tuple[dict[str, Any], RawTable | None]:
    entry: dict[str, Any] = {"table": table, "path": spec.path}
    try:
        raw = read_table(spec, table)
    except InputError as e:
        entry["error"] = _one_line(e)
        return entry, None
    except OSError as e:  # unreadable: permissions, a device error
        entry["error"] = f"{spec.path}: cannot be read ({e.strerror or e}); check the file and its permissions"
        return entry, None
    entry.update(raw.info())
    entry.update(mapping_facts(raw))
    sample = raw.frame if sample_rows <= 0 else raw.frame.head(sample_rows)
    entry["sample"] = {"rows": int(len(sample)), "of": int(len(raw.frame)),
                       "whole_file": len(sample) == len(raw.frame)}
    try:
        entry["parse"] = [parse_facts(raw, sample, canon, kind, fn)
                          for canon, (kind, fn) in parsers(table).items() if canon in raw.mapping]
        col = DATE_COLUMN.get(table)
        if col:
            entry["dates"] = date_range(raw, col)
    except InputError as e:
        entry["error"] = _one_line(e)
    return entry, raw


def subscription_facts(entry: dict[str, Any], raw: RawTable, cleaning: Cleaning,
                       warnings: list[dict[str, Any]]) -> None:
    """How the billing period of the amounts is known (``entry["billing_period"]``: ``how``
    column / header / config / none, ``period``, ``header``; none with amounts is an error,
    as in the run), and a warning per column holding words the config does not map (a status
    becomes ``unknown``; a billing period quarantines its row)."""
    period, how = fallback_period(raw, cleaning)
    if "billing_period" in raw.mapping:
        period, how = None, "column"
    entry["billing_period"] = {"how": how, "period": period,
                               "header": raw.mapping.get("billing_period" if how == "column" else "recurring_amount")}
    try:
        check_billing_period(raw, cleaning)
    except InputError as e:
        entry["error"] = _one_line(e)
    for col, u in unknown_words(raw, cleaning).items():
        warnings.append({"code": "cli.check.warn_unknown_values", "params": {
            "table": raw.table, "header": u["header"], "column": col, "n": u["rows"],
            "values": ", ".join(u["values"]), "key": u["key"]}})


def _one_line(e: Exception) -> str:
    return " ".join(part.strip() for part in str(e).splitlines() if part.strip())


def mapping_facts(raw: RawTable) -> dict[str, Any]:
    """Mapped columns (with how), unmapped source headers, missing canonical columns and
    the nearest unmapped headers for each."""
    spec = CANONICAL_COLUMNS[raw.table]
    used = set(raw.mapping.values())
    unmapped = [h for h in raw.source_columns if h not in used]
    missing = []
    for canon in spec["required"] + spec["optional"]:
        if canon in raw.mapping:
            continue
        near = nearest_headers(unmapped, SYNONYMS[raw.table].get(canon, []) + [canon])
        missing.append({"column": canon, "required": canon in spec["required"],
                        "nearest": [{"header": h, "score": s} for h, s in near]})
    return {
        "mapping": [{"column": c, "header": h, "how": raw.how.get(c, "")} for c, h in raw.mapping.items()],
        "unmapped": unmapped,
        "missing": missing,
    }


def _head(raw: RawTable, canon: str, n: int) -> pd.Series:
    """The first ``n`` cells (all when ``n`` <= 0) of a mapped column, carrying the reading
    kit.io decided for the column (so the parsers read them as the run does)."""
    col = raw.column(canon)
    out = col if n <= 0 else col.iloc[:n]
    out.attrs.update(col.attrs)
    return out


def parse_facts(raw: RawTable, sample: pd.DataFrame, canon: str, kind: str, fn: Parser) -> dict[str, Any]:
    """How the cells of one mapped column parse on ``sample`` (the first rows of the file):
    filled cells, parsed, the rate, and up to :data:`EXAMPLES` failing cells with their row."""
    header = raw.mapping[canon]
    cells = _head(raw, canon, len(sample))
    filled = cells.astype("str").str.strip() != ""
    _, ok = fn(cells)
    ok = ok.astype(bool) & filled
    bad = filled & ~ok
    examples = [{"row": int(r), "value": str(v)}
                for r, v in zip(sample.loc[bad, "source_row"].head(EXAMPLES), cells[bad].head(EXAMPLES))]
    n = int(filled.sum())
    return {"column": canon, "header": header, "kind": kind, "cells": n, "empty": int((~filled).sum()),
            "parsed": int(ok.sum()), "rate": (float(ok.sum()) / n) if n else None, "failures": examples}


def date_range(raw: RawTable, canon: str) -> dict[str, Any]:
    """First and last date of a column over the whole file (dates parse per distinct value,
    so this is cheap) and how many filled cells do not parse."""
    dates, ok = (_month_dates if raw.table in MONTH_DATE_TABLES else parse_dates)(raw.column(canon))
    good = dates[ok.astype(bool)]
    return {"column": canon, "whole_file": True,
            "first": None if good.empty else good.min().date().isoformat(),
            "last": None if good.empty else good.max().date().isoformat()}


def _count_after(facts: dict[str, Any], raw: RawTable, as_of: pd.Timestamp) -> None:
    entry = next(i for i in facts["inputs"] if i["table"] == "transactions")
    if entry.get("dates"):
        dates, ok = parse_dates(raw.column("order_date"))
        entry["dates"]["after_as_of"] = int((ok.astype(bool) & (dates.dt.normalize() > as_of)).sum())


def _check_as_of(facts: dict[str, Any], raw: RawTable, cfg: KitConfig, as_of: pd.Timestamp, sample_rows: int) -> None:
    """As the run after 01_clean (:func:`kit.publish.safety.check_data`): no purchase up to
    ``as_of`` stops it; ``as_of`` more than ``report.stale_after_days`` after the last purchase
    warns. Decided on the whole file: a file sorted by date has its last purchase at the end,
    so a sample of its first rows would warn wrongly."""
    last = _last_purchase(raw, as_of, 0)
    if last is None:
        facts["errors"].append(no_purchase_message(cfg, as_of))
        return
    days = int((as_of.normalize() - last).days)
    if days > cfg.report.stale_after_days:
        facts["warnings"].append({"code": "index.stale_as_of", "params": {
            "as_of": f"{as_of:%Y-%m-%d}", "last": f"{last:%Y-%m-%d}", "days": days,
            "limit": cfg.report.stale_after_days}})
    dates = next(i.get("dates") for i in facts["inputs"] if i["table"] == "transactions")
    if dates and dates.get("after_as_of"):
        facts["warnings"].append({"code": "cli.check.warn_orders_after_as_of", "params": {
            "as_of": f"{as_of:%Y-%m-%d}", "last": dates["last"], "n": dates["after_as_of"]}})


def _last_purchase(raw: RawTable, as_of: pd.Timestamp, rows: int) -> pd.Timestamp | None:
    """The latest date up to ``as_of`` of a row with a positive amount (before cleaning)."""
    dates, d_ok = parse_dates(_head(raw, "order_date", rows))
    amounts, a_ok = parse_amounts(_head(raw, "amount", rows))
    bought = dates[d_ok.astype(bool) & a_ok.astype(bool) & (amounts > 0) & (dates.dt.normalize() <= as_of)]
    return None if bought.empty else bought.max().normalize()


def yearly_amounts(raw: RawTable, rows: int, end: pd.Timestamp, months: int) -> pd.Series:
    """Amount per customer over the ``months`` up to ``end`` in the first ``rows`` rows (all
    when ``rows`` <= 0), before cleaning (refunds net, nothing quarantined); every customer
    with a purchase (a positive amount) up to ``end`` is listed (0 when nothing falls in the
    window), as the run's spine lists them."""
    ids = normalize_ids(_head(raw, "customer_id", rows))
    dates, d_ok = parse_dates(_head(raw, "order_date", rows))
    dates = dates.dt.normalize()
    amounts, a_ok = parse_amounts(_head(raw, "amount", rows))
    keep = d_ok.astype(bool) & a_ok.astype(bool) & ids.notna() & (dates <= end)
    start = add_months(end, -months)
    in_window = keep & (dates > start)
    per = amounts[in_window].groupby(ids[in_window]).sum()
    buyers = pd.Index(ids[keep & (amounts > 0)].unique())
    return per.reindex(buyers, fill_value=0.0).astype(float)


def threshold_split(raw: RawTable, cfg: KitConfig, as_of: pd.Timestamp, sample_rows: int) -> dict[str, Any]:
    """How ``layering.value_tiers`` and ``layering.abc`` (by amount alone: the master's
    leader and expansion conditions are not read here) split the customers, by the run's own
    rules, over the whole file (a yearly amount needs every row of a customer; the first rows
    of a file sorted by date would show an old year). The parsers work per distinct value, so
    this stays in seconds for a million rows."""
    whole = True
    rows = 0
    dates, ok = parse_dates(_head(raw, "order_date", rows))
    last = dates[ok.astype(bool)].max()
    end = as_of if whole or pd.isna(last) else min(as_of, last.normalize())
    vt, abc = cfg.layering.value_tiers, cfg.layering.abc
    per = yearly_amounts(raw, rows, end, vt.window_months)
    classes = pd.DataFrame({"value_tier": value_tiers(per, vt), "abc_class": abc_classes(per, None, abc)})
    n = len(per)

    def split(col: str, bounds: list[tuple[str, float | None]]) -> list[dict[str, Any]]:
        counts = classes[col].value_counts()
        return [{"class": name, "min": lo, "customers": int(counts.get(name, 0)),
                 "share": (int(counts.get(name, 0)) / n) if n else None} for name, lo in bounds]

    return {
        "basis": "whole file" if whole else "sample", "rows": int(len(raw.frame) if whole else rows),
        "window": [(add_months(end, -vt.window_months) + pd.Timedelta(days=1)).date().isoformat(),
                   end.date().isoformat()],
        "customers": n, "currency": cfg.currency,
        "value_tiers": split("value_tier", [("high", vt.high_min), ("medium", vt.medium_min), ("low", None)]),
        "abc": split("abc_class", [("A", abc.a_min), ("B", abc.b_min), ("C", None)]),
        "abc_conditions": bool(abc.a_requires_leader or abc.b_requires_expanding),
        "concentrated": [note.as_dict() for note in concentration_notes(
            classes, cfg.layering.concentration_warning_share, cfg.currency)],
    }
