"""Clean every configured input, reconcile each table and gather the quality report."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from kit.core.progress import step
from kit.core.config import Cleaning, KitConfig
from kit.core.notes import Msg, Note
from kit.io.read import RawTable, read_table, reading_notes
from kit.stages.clean.books import coverage
from kit.stages.clean.common import AMOUNT_COLUMN, TABLES, CleanResult, TableResult
from kit.stages.clean.interactions import clean_interactions
from kit.stages.clean.master import clean_master
from kit.stages.clean.subscriptions import clean_subscriptions
from kit.stages.clean.usage import clean_usage

#: The optional tables, cleaned after the master (whose test accounts reach them).
OPTIONAL_TABLES = tuple(t for t in TABLES if t != "transactions")

#: The transactions cleaner an engine injects: ``clean_tx(test_customer_ids=...)`` ->
#: ``(TableResult, source)`` where ``source`` says how the file was read (``info``,
#: ``mapping``, ``how``, ``columns``, ``engine``).
CleanTx = Callable[..., "tuple[TableResult, dict[str, Any]]"]


def source_of(raw: RawTable) -> dict[str, Any]:
    """How a file was read, as the quality report lists it."""
    return {"info": raw.info(), "mapping": dict(raw.mapping), "how": dict(raw.how),
            "columns": list(raw.source_columns), "encoding": raw.encoding}


def _clean_tables(cfg: KitConfig, as_of: pd.Timestamp, clean_tx: CleanTx):
    """Every configured table cleaned (master first: its test accounts reach the other
    tables); returns the results and how each file was read, in :data:`TABLES` order."""
    c = cfg.cleaning
    raws = {}
    for t in OPTIONAL_TABLES:
        if getattr(cfg.inputs, t) is not None:
            with step("clean", f"{t} read"):
                raws[t] = read_table(getattr(cfg.inputs, t), t)
    results: dict[str, TableResult] = {}
    test_ids: set[str] = set()
    if "customers" in raws:
        with step("clean", "customers cleaned", rows=len(raws["customers"].frame)):
            results["customers"] = clean_master(raws["customers"], c, growth_stages=c.growth_stages)
        test_ids = set(results["customers"].stats["test_customer_ids"])
    with step("clean", "transactions read and cleaned"):
        results["transactions"], tx_source = clean_tx(test_customer_ids=test_ids)
    sources = {"transactions": tx_source}
    sources.update({t: source_of(r) for t, r in raws.items()})
    cleaners = {
        "interactions": lambda raw: clean_interactions(raw, c, as_of, test_customer_ids=test_ids),
        "subscriptions": lambda raw: clean_subscriptions(raw, c, test_customer_ids=test_ids),
        "usage": lambda raw: clean_usage(raw, c, as_of, test_customer_ids=test_ids),
    }
    for t, clean_one in cleaners.items():
        if t in raws:
            with step("clean", f"{t} cleaned", rows=len(raws[t].frame)):
                results[t] = clean_one(raws[t])
    order = [t for t in TABLES if t in results]
    return {t: results[t] for t in order}, {t: sources[t] for t in order}


def _by_reason(results: dict[str, TableResult]) -> dict[str, dict[str, Any]]:
    by_reason = {}
    for t, r in results.items():
        g = r.quarantine.groupby("reason", sort=False).agg(rows=("source_row", "size"), amount=("amount", "sum"))
        by_reason[t] = {str(k): {"rows": int(v.rows),
                                 "amount": round(float(v.amount), 2) if t in AMOUNT_COLUMN else None}
                        for k, v in g.iterrows()}
    return by_reason


def _rules(c: Cleaning) -> dict[str, Any]:
    return {"duplicates": c.duplicates, "future_dates": c.future_dates, "zero_amount": c.zero_amount,
            "refunds": c.refunds, "test_account_pattern": c.test_account_pattern,
            "outliers": c.outliers.model_dump(), "interaction_score_scale": c.interaction_score_scale,
            "amount_tolerance": c.amount_tolerance, "max_amount": c.max_amount,
            "order_conflicts": c.order_conflicts, "order_line_columns": list(c.order_line_columns),
            "default_billing_period": c.default_billing_period, "feature_coverage_scale": c.feature_coverage_scale}


def _quality(c: Cleaning, as_of: pd.Timestamp, results: dict[str, TableResult],
             sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The quality report (``quality.json``)."""
    tx = results["transactions"]
    master, inter, subs, usage = (results[t].clean if t in results else None for t in OPTIONAL_TABLES)
    quality: dict[str, Any] = {
        "as_of": f"{as_of:%Y-%m-%d}",
        "rules": _rules(c),
        "engine": sources["transactions"]["engine"],
        "files": {t: s["info"] for t, s in sources.items()},
        "encoding": {t: s.get("encoding", s["info"].get("encoding")) for t, s in sources.items()},
        "mapping": {t: {k: {"source": v, "how": s["how"][k]} for k, v in s["mapping"].items()}
                    for t, s in sources.items()},
        "unmapped_headers": {t: [h for h in s["columns"] if h not in s["mapping"].values()]
                             for t, s in sources.items()},
        "reconciliation": {t: r.reconciliation for t, r in results.items()},
        "quarantine_by_reason": _by_reason(results),
        "refunds": tx.stats["refunds"],
        "outliers": tx.stats["outliers"],
        "invalid_values": {t: r.stats.get("invalid_values", {}) for t, r in results.items()},
        "coverage": coverage(tx.clean, master, inter, subscriptions=subs, usage=usage),
        "order_id_synthesized": tx.stats["order_id_synthesized"],
        "unparseable_amount_counts_zero": True,
        "implausible_amount_counts_zero": True,
        "books_in_exact_cents": True,  # amounts: numbers rounded to the cent; checked as whole cents
    }
    if master is not None:
        quality["test_customer_ids"] = results["customers"].stats["test_customer_ids"]
        quality["unknown_growth_stages"] = results["customers"].stats["unknown_growth_stages"]
    for t in ("interactions", "subscriptions", "usage"):
        if t in results:
            quality[t] = {k: v for k, v in results[t].stats.items() if k != "invalid_values"}
    return quality


def clean_notes(quality: dict[str, Any]) -> list[Note]:
    """What the reader of the cleaning page must know beyond the tables."""
    notes = []
    for t, info in quality["files"].items():
        notes += reading_notes(t, info)
    for t in ("customers", "interactions"):
        if t not in quality["reconciliation"]:
            notes.append(Note(f"clean.note.no_{t}", {}, "omitted"))
    if quality["order_id_synthesized"]:
        notes.append(Note("clean.note.order_id_synthesized", {}, "warning"))
    tx = quality["quarantine_by_reason"].get("transactions", {})
    if "order_conflict" in tx:
        notes.append(Note("clean.note.order_conflicts", {"n": tx["order_conflict"]["rows"],
                                                         "rule": quality["rules"]["order_conflicts"]}, "warning"))
    if "implausible_amount" in tx:
        notes.append(Note("clean.note.implausible_amounts", {"n": tx["implausible_amount"]["rows"],
                                                             "max": quality["rules"]["max_amount"]}, "warning"))
    stages = quality.get("unknown_growth_stages") or []
    if stages:
        notes.append(Note("clean.note.unknown_growth_stages",
                          {"n": len(stages), "values": ", ".join(map(str, stages[:10]))}, "warning"))
    return notes + subscription_notes(quality)


def subscription_notes(quality: dict[str, Any]) -> list[Note]:
    """What the reader must know of the subscriptions and usage read: ids synthesised, the
    billing period taken from the header or the config, statuses the mapping lacks, feature
    coverage read as percent, response times converted to hours."""
    notes = []
    subs = quality.get("subscriptions")
    if subs is not None:
        if subs["subscription_id_synthesized"]:
            notes.append(Note("clean.note.subscription_id_synthesized", {}, "info"))
        elif subs["subscription_ids_missing"]:
            notes.append(Note("clean.note.subscription_ids_missing", {"n": subs["subscription_ids_missing"]}, "warning"))
        bp = subs["billing_period"]
        if not bp["column"] and bp["header"] and bp["how"] in ("header", "config"):
            notes.append(Note(f"clean.note.billing_period_from_{bp['how']}",
                              {"period": Msg(f"label.billing_period.{bp['fallback']}"), "header": bp["header"]},
                              "info" if bp["how"] == "header" else "warning"))
        unknown = subs["unknown_statuses"]
        if unknown:
            notes.append(Note("clean.note.unknown_subscription_statuses", {
                "n": sum(unknown.values()), "values": ", ".join(list(unknown)[:10])}, "warning"))
    usage = quality.get("usage") or {}
    cov = usage.get("feature_coverage")
    if cov and (cov["percent_points"] or cov["percent_cells"]):
        notes.append(Note("clean.note.feature_coverage_percent", {"scale": cov["scale"]}, "info"))
    frt = usage.get("first_response_hours")
    if frt and frt["unit"] != "hours":
        notes.append(Note("clean.note.response_time_converted",
                          {"header": frt["header"], "unit": Msg(f"label.response_unit.{frt['unit']}")}, "info"))
    return notes


def clean_all(cfg: KitConfig, as_of: pd.Timestamp, *, clean_tx: CleanTx) -> CleanResult:
    """Read and clean every configured input, reconcile each table, gather the quality report.

    ``clean_tx(test_customer_ids=...)`` cleans the transactions and says how the file was
    read (``(TableResult, source)``); the engines layer, where the transaction cascade is
    written once as SQL, injects it (:func:`kit.engines.clean_all`: call that one).

    Raises :class:`kit.io.InputError` for an input that cannot be read or mapped, and
    :class:`ReconciliationError` when a table's books do not balance.
    """
    as_of = pd.Timestamp(as_of).normalize()
    with step("clean", "every input read, cleaned and reconciled"):
        results, sources = _clean_tables(cfg, as_of, clean_tx)
    quarantine = pd.concat([r.quarantine for r in results.values()], ignore_index=True)
    merged = pd.concat([r.merged for r in results.values()], ignore_index=True)
    quality = _jsonable(_quality(cfg.cleaning, as_of, results, sources))
    clean = {t: results[t].clean if t in results else None for t in OPTIONAL_TABLES}
    return CleanResult(
        transactions=results["transactions"].clean, **clean,
        quarantine=quarantine, merged=merged, quality=quality,
        mapping={t: dict(s["mapping"]) for t, s in sources.items()}, notes=clean_notes(quality),
    )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if np.isnan(obj) else float(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj
