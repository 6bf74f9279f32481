"""The history store: each period's key figures and customer snapshot, per client.

Every successful ``kit run`` (and ``kit backfill``, :mod:`kit.publish.backfill`) records its
period in ``<out>/<client>/history/``, beside the run folders:

* ``<label>.json``: the key figures (customers, active customers, revenue, new customers,
  predicted CLV total, 12-month revenue at high churn risk, the churn-risk, value-tier and
  quadrant mix), where they came from (``source``: ``run`` or ``backfill``), the as-of date,
  and the notes of what is left out (a backfilled period without CLV says why);
* ``<label>.customers.parquet``: the spine snapshot, one row per customer with a few key
  columns (:data:`SNAPSHOT_COLUMNS`).

Why files per period and not one DuckDB database: a period is written once and replaced
whole, never updated in place, so one JSON and one Parquet file per period is the simplest
store that does it: append-only, a re-run replaces its own files with an atomic rename
(no write can leave a half-updated database, no lock on a shared file across periods),
the figures are plain text a reviewer can diff and read, and the snapshots are read by
pandas and DuckDB alike (``SELECT * FROM 'history/*.customers.parquet'``) when SQL across
periods is wanted. Deleting a period is deleting its two files.

The key figures are computed by one function, :func:`key_figures`, for a run (from its
artifacts) and for a backfilled period (from the stages), so both count alike; the index
page's headline figures use the same :func:`period_activity`. Every path written is
checked to lie inside the client folder (:func:`kit.publish.safety.safe`, which is
:func:`kit.publish.writer.inside`).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from kit import __version__
from kit.core import paths
from kit.core.config import KitConfig
from kit.core.notes import Note
from kit.core.periods import period_label, period_start
from kit.publish.parquet import read_parquet
from kit.publish.safety import RunFailed, safe
from kit.stages.features import purchase_mask

#: The folder of the store inside ``<out>/<client>/``.
HISTORY_DIR = "history"
#: Version of the record layout (``<label>.json``).
SCHEMA = 1
#: How many periods the index page's trend shows.
TREND_PERIODS = 8
#: Spine columns kept per customer in ``<label>.customers.parquet`` (those present).
SNAPSHOT_COLUMNS = ("value_tier", "quadrant", "churn_risk", "revenue_total", "amount_12m", "clv")
#: The clean transactions' columns :func:`period_activity` reads (a purchase: amount, is_return).
ACTIVITY_COLUMNS = ("customer_id", "order_date", "amount", "is_return")
#: The mixes recorded, with their keys in display order.
MIXES: dict[str, tuple[str, ...]] = {
    "churn_risk": ("high", "medium", "low"),
    "value_tier": ("high", "medium", "low"),
    "quadrant": ("star", "cash_cow", "potential", "eliminate"),
}
#: The spine's columns :func:`key_figures` and :func:`snapshot` read.
RECORD_COLUMNS = tuple(dict.fromkeys((*SNAPSHOT_COLUMNS, *MIXES)))  # clv, churn_risk, amount_12m: in both
#: Where a record came from.
SOURCES = ("run", "backfill")

_DAY = pd.Timedelta(days=1)
_REQUIRED = {"label", "as_of", "period", "source", "figures"}


class HistoryError(RunFailed):
    """A history entry the kit cannot read (one line: the file and the fix)."""
_LABEL = re.compile(r"^\d{4}-(?:Q[1-4]|\d{2})$")


# --------------------------------------------------------------------------------------
# Key figures
# --------------------------------------------------------------------------------------


def period_activity(transactions: pd.DataFrame, as_of: pd.Timestamp, period: str) -> dict[str, Any]:
    """Customers, active customers, revenue and new customers of the period ending at ``as_of``.

    The period is ``[period_start(as_of), as_of]`` with its whole last day; only purchases
    count (:func:`kit.stages.features.purchase_mask`). ``customers`` is everyone with a first
    purchase up to the period end; ``revenue`` is rounded to cents.
    """
    tx = transactions[purchase_mask(transactions)]
    as_of = pd.Timestamp(as_of).normalize()
    start, end = period_start(as_of, period), as_of + _DAY  # exclusive end: the whole last day counts
    d = tx["order_date"]
    cur = tx[(d >= start) & (d < end)]
    first = tx.groupby("customer_id")["order_date"].min()
    return {
        "customers": int((first < end).sum()),
        "active_customers": int(cur["customer_id"].nunique()),
        "revenue": round(float(cur["amount"].sum()), 2),
        "new_customers": int(((first >= start) & (first < end)).sum()),
    }


def key_figures(
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    as_of: pd.Timestamp,
    period: str,
) -> dict[str, Any]:
    """The key figures of one period: :func:`period_activity`, then from the spine
    ``total_clv`` (None when the spine has no CLV), ``revenue_at_high_risk`` (12-month
    revenue of high churn-risk customers) and the counts per key of each of :data:`MIXES`
    (None for a mix the spine lacks)."""
    out = period_activity(transactions, as_of, period)
    has_clv = "clv" in customers.columns and customers["clv"].notna().any()
    out["total_clv"] = round(float(customers["clv"].sum()), 2) if has_clv else None
    out["revenue_at_high_risk"] = (
        round(float(customers.loc[customers["churn_risk"] == "high", "amount_12m"].sum()), 2)
        if {"churn_risk", "amount_12m"} <= set(customers.columns) else None)
    for col, keys in MIXES.items():
        if col in customers.columns:
            counts = customers[col].astype("string").value_counts()
            out[col] = {k: int(counts.get(k, 0)) for k in keys}
        else:
            out[col] = None
    return out


def snapshot(customers: pd.DataFrame) -> pd.DataFrame:
    """The spine's :data:`SNAPSHOT_COLUMNS` with ``customer_id`` as a column (str)."""
    cols = [c for c in SNAPSHOT_COLUMNS if c in customers.columns]
    out = customers[cols].copy()
    for c in ("value_tier", "quadrant", "churn_risk"):
        if c in out.columns:
            out[c] = out[c].astype("string")
    out.index = out.index.astype(str)
    out.index.name = "customer_id"
    return out.reset_index()


def make_record(
    cfg: KitConfig,
    as_of: pd.Timestamp,
    figures: dict[str, Any],
    *,
    source: str,
    notes: list[Note] = (),
    run_folder: str | None = None,
) -> dict[str, Any]:
    """One period's entry (``<label>.json``): the figures with where they came from."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    as_of = pd.Timestamp(as_of).normalize()
    return {
        "schema": SCHEMA,
        "client": cfg.client,
        "period": cfg.period,
        "label": period_label(as_of, cfg.period),
        "as_of": f"{as_of:%Y-%m-%d}",
        "source": source,
        "run_folder": run_folder,
        "recorded_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "kit_version": __version__,
        "figures": figures,
        "notes": [n.as_dict() for n in notes],
    }


# --------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------


def history_dir(client_dir: Path) -> Path:
    """``<client_dir>/history``, checked to lie inside the client folder."""
    return safe(client_dir, Path(client_dir) / HISTORY_DIR)


def _paths(client_dir: Path, label: str) -> tuple[Path, Path]:
    if not _LABEL.match(label):
        raise ValueError(f"not a period label: {label!r}")
    folder = history_dir(client_dir)
    return (safe(client_dir, folder / f"{label}.json"),
            safe(client_dir, folder / f"{label}.customers.parquet"))


def _replace(client_dir: Path, target: Path, write) -> None:
    """Write through a temporary file beside ``target``, then rename it over ``target``."""
    tmp = safe(client_dir, target.with_name(f".tmp-{os.getpid()}-{target.name}"))
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def save_period(client_dir: Path, record: dict[str, Any], spine: pd.DataFrame | None) -> Path:
    """Store (or replace) the period of ``record`` and its snapshot; the path of the record.

    The snapshot is written first and the record last, each by an atomic rename, so a
    period is listed only once both are in place; a re-run replaces both.
    """
    figures_path, spine_path = _paths(client_dir, record["label"])
    figures_path.parent.mkdir(parents=True, exist_ok=True)
    if spine is not None:
        _replace(client_dir, spine_path, lambda p: spine.to_parquet(p, index=False))
    else:
        spine_path.unlink(missing_ok=True)
    text = json.dumps(record, ensure_ascii=False, indent=1)
    _replace(client_dir, figures_path, lambda p: p.write_text(text, encoding="utf-8"))
    return figures_path


def load_records(client_dir: Path, period: str | None = None) -> list[dict[str, Any]]:
    """Every stored period (of ``period`` when given), oldest first."""
    folder = Path(client_dir) / HISTORY_DIR
    if not folder.is_dir():
        return []
    out = []
    for p in folder.glob("*.json"):
        if not _LABEL.match(p.stem):
            continue
        rec = _read_record(p)
        if period is None or rec.get("period") == period:
            out.append(rec)
    return sorted(out, key=lambda r: r["as_of"])


def _read_record(path: Path) -> dict[str, Any]:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise HistoryError(f"{path}: not a readable history entry ({e}); delete it, then re-run or backfill "
                           "that period") from None
    if not isinstance(rec, dict) or not _REQUIRED <= set(rec):
        raise HistoryError(f"{path}: a history entry needs {', '.join(sorted(_REQUIRED))}; delete it, then re-run "
                           "or backfill that period")
    return rec


def load_record(client_dir: Path, label: str) -> dict[str, Any] | None:
    """The stored record of ``label``, None when there is none."""
    figures_path, _ = _paths(client_dir, label)
    return _read_record(figures_path) if figures_path.is_file() else None


def load_snapshot(client_dir: Path, label: str) -> pd.DataFrame | None:
    """The customer snapshot of ``label``, None when there is none."""
    _, spine_path = _paths(client_dir, label)
    return pd.read_parquet(spine_path) if spine_path.is_file() else None


def trend_records(
    stored: list[dict[str, Any]],
    current: dict[str, Any] | None = None,
    n: int = TREND_PERIODS,
) -> list[dict[str, Any]]:
    """The last ``n`` periods up to ``current`` (which replaces a stored entry of its label),
    oldest first; ``stored`` of another period length than ``current`` are left out."""
    recs = {r["label"]: r for r in stored}
    if current is not None:
        recs = {k: r for k, r in recs.items() if r.get("period") == current["period"] and r["as_of"] <= current["as_of"]}
        recs[current["label"]] = current
    return sorted(recs.values(), key=lambda r: r["as_of"])[-n:]


def trend_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per period (index: the label, oldest first): ``as_of``, ``backfilled``, the
    figures, and a column ``<mix>_<key>`` per count of each mix (missing values NaN)."""
    rows = []
    for r in records:
        f = r["figures"]
        row: dict[str, Any] = {"as_of": r["as_of"], "backfilled": r["source"] == "backfill"}
        for k in ("customers", "active_customers", "revenue", "new_customers", "total_clv", "revenue_at_high_risk"):
            row[k] = f.get(k)
        for mix, keys in MIXES.items():
            counts = f.get(mix) or {}
            for k in keys:
                row[f"{mix}_{k}"] = counts.get(k)
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index([r["label"] for r in records], name="period"))
    num = [c for c in frame.columns if c not in ("as_of", "backfilled")]
    frame[num] = frame[num].astype("float64")
    return frame


# --------------------------------------------------------------------------------------
# A run's entry
# --------------------------------------------------------------------------------------


def spine_record(
    transactions: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    cfg: KitConfig,
    as_of: pd.Timestamp,
    run_folder: str | None = None,
) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """The record (source ``run``) and snapshot of a run's clean transactions and spine;
    None without a layered spine (a run of fewer notebooks than 02_layering)."""
    if transactions is None or customers is None or "value_tier" not in customers.columns:
        return None
    figures = key_figures(transactions, customers, as_of, cfg.period)
    notes = [] if figures["total_clv"] is not None else [Note("history.clv_not_in_run", {}, "omitted")]
    record = make_record(cfg, as_of, figures, source="run", notes=notes, run_folder=run_folder)
    return record, snapshot(customers)


def run_record(run_dir: Path, cfg: KitConfig, as_of: pd.Timestamp) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """:func:`spine_record` of the run in ``run_dir``, from its artifacts."""
    art = Path(run_dir) / "artifacts"
    tx_path, cust_path = art / paths.ARTIFACTS["transactions_clean"], art / paths.ARTIFACTS["customers"]
    if not (tx_path.is_file() and cust_path.is_file()):
        return None
    # the record reads four columns of the transactions and the snapshot's of the spine
    return spine_record(read_parquet(tx_path, ACTIVITY_COLUMNS), read_parquet(cust_path, RECORD_COLUMNS), cfg,
                        as_of, Path(run_dir).name)


def record_run(run_dir: Path, cfg: KitConfig, meta: dict[str, Any]) -> Path | None:
    """Record the run now in place at ``run_dir`` (``<out>/<client>/<label>``), replacing a
    stored entry of its period; the record's path, None when the run has no spine to record
    (called after the swap-in, so only a complete run is recorded)."""
    made = run_record(run_dir, cfg, pd.Timestamp(meta["as_of"]))
    if made is None:
        return None
    record, spine = made
    return save_period(Path(run_dir).parent, record, spine)
