"""``kit backfill``: past periods' key figures from the transaction log, so that a new
client's first report already shows a trend.

For each period end from ``--from`` to ``--to`` the figures the history store keeps
(:func:`kit.publish.history.key_figures`) are computed from the stages, without running
the notebooks: the inputs are cleaned once (:func:`kit.engines.clean_all`, as of the last
period end), then per period end the spine is layered
(:func:`kit.stages.layering.layer`, ``previous=False``: no migration is needed) and,
unless ``--no-clv``, the CLV stage scores it (:func:`kit.stages.clv.assess`; about 1-20 s
a period on the 2,000-customer demo, so it is kept by default). Each period is stored as
``source: backfill`` with notes of what it lacks: CLV left out (``--no-clv``) or not
computable (the CLV stage's own ``omitted`` notes).

What a backfilled period cannot know, the record's readers are told (``history.backfilled_note``
on the index page): the customer master and the interactions are used as they are now (as
the migration of 02_layering does for the previous period), and cleaning ran as of the last
period end. A period recorded by a full run is kept unless ``--replace``; a period before
the first purchase is skipped and said.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from kit.core import paths
from kit.core.config import KitConfig, load_config
from kit.core.notes import Note
from kit.core.periods import period_end, period_label, previous_period_end
from kit.engines import clean_all
from kit.publish.context import resolve_as_of
from kit.publish.history import key_figures, load_record, make_record, save_period, snapshot
from kit.publish.landing import write_landing
from kit.publish.safety import RunLock, run_folders
from kit.stages import clv, layering
from kit.stages.features import purchase_mask

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BackfillError(ValueError):
    """A backfill request the kit cannot carry out (one line: what, and the fix)."""


@dataclass
class BackfillResult:
    client_dir: Path
    landing: Path
    recorded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def parse_period(value: str, period: str, option: str = "--from") -> pd.Timestamp:
    """The period end named by ``value``: ``2025-Q1`` (quarters), ``2025-03`` (months) or a
    date ``2025-02-14`` (the end of the period holding it)."""
    v = value.strip()
    q, m = _QUARTER.match(v), _MONTH.match(v)
    if q and period == "quarter":
        return period_end(pd.Timestamp(year=int(q.group(1)), month=3 * int(q.group(2)), day=1), period)
    if m and period == "month" and 1 <= int(m.group(2)) <= 12:
        return period_end(pd.Timestamp(year=int(m.group(1)), month=int(m.group(2)), day=1), period)
    if _DATE.match(v):
        try:
            return period_end(pd.Timestamp(v), period)
        except ValueError:
            pass
    example = "2025-Q1" if period == "quarter" else "2025-03"
    raise BackfillError(f"{option} {value!r}: give a period like {example} (the config's period is {period}) "
                        "or a date YYYY-MM-DD")


def period_ends(start: str, end: str | None, cfg: KitConfig) -> list[pd.Timestamp]:
    """Every period end from ``start`` to ``end`` (default: the period before the config's
    ``as_of``, the one ``kit run`` computes), oldest first."""
    first = parse_period(start, cfg.period, "--from")
    last = parse_period(end, cfg.period, "--to") if end else previous_period_end(resolve_as_of(cfg), cfg.period)
    if first > last:
        raise BackfillError(f"--from {start} comes after --to {end or period_label(last, cfg.period)}: "
                            "give --from an earlier period than --to")
    freq = "Q" if cfg.period == "quarter" else "M"
    return [p.end_time.normalize() for p in pd.period_range(first, last, freq=freq)]


def period_entry(clean: Any, as_of: pd.Timestamp, cfg: KitConfig,
                 with_clv: bool = True) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """The backfilled record and snapshot of the period ending at ``as_of`` from the clean
    tables (:class:`kit.stages.clean.CleanResult`); None when no purchase is up to ``as_of``."""
    tx = clean.transactions
    if not ((tx["order_date"] < as_of + pd.Timedelta(days=1)) & purchase_mask(tx)).any():
        return None
    customers = layering.layer(tx, as_of, cfg, clean.customers, clean.interactions, previous=False)
    notes: list[Note] = []
    if with_clv:
        result = clv.assess(tx, customers, as_of, cfg.clv)
        customers = clv.spine_with_scores(result, customers)
        if not customers["clv"].notna().any():
            notes += [n for n in result.notes if n.kind == "omitted"]
    else:
        notes.append(Note("history.clv_not_backfilled", {}, "omitted"))
    record = make_record(cfg, as_of, key_figures(tx, customers, as_of, cfg.period), source="backfill", notes=notes)
    return record, snapshot(customers)


def backfill(
    config_path: str | Path,
    *,
    start: str,
    end: str | None = None,
    out_dir: str | Path | None = None,
    with_clv: bool = True,
    replace_runs: bool = False,
    progress: Callable[[str], None] = print,
) -> BackfillResult:
    """Compute and store the periods ``start`` .. ``end`` of the config's client in
    ``<out>/<client>/history/`` and rewrite the landing page; how long each step took."""
    t_all = time.perf_counter()
    cfg = load_config(paths.resolve(config_path))
    ends = period_ends(start, end, cfg)
    out_root = paths.resolve(out_dir) if out_dir else paths.REPORTS_DIR
    client_dir, _ = run_folders(out_root, cfg.client, period_label(ends[0], cfg.period))
    client_dir.mkdir(parents=True, exist_ok=True)
    progress(f"kit backfill: {cfg.client} {period_label(ends[0], cfg.period)} .. {period_label(ends[-1], cfg.period)} "
             f"({len(ends)} periods{'' if with_clv else ', without CLV'}) -> {client_dir}")
    t0 = time.perf_counter()
    clean = clean_all(cfg, ends[-1])
    result = BackfillResult(client_dir, client_dir, seconds={"clean": round(time.perf_counter() - t0, 2)})
    progress(f"  cleaned as of {ends[-1]:%Y-%m-%d} in {result.seconds['clean']:.1f} s")
    for as_of in ends:
        _backfill_one(clean, as_of, cfg, client_dir, result, with_clv=with_clv, replace_runs=replace_runs,
                      progress=progress)
    languages = cfg.run_languages()
    result.landing = [write_landing(client_dir, cfg, lang, languages) for lang in languages][0]
    result.seconds["total"] = round(time.perf_counter() - t_all, 2)
    progress(f"kit backfill: {len(result.recorded)} periods recorded, {len(result.skipped)} skipped, "
             f"in {result.seconds['total']:.1f} s; all periods: {result.landing}")
    return result


def _backfill_one(clean: Any, as_of: pd.Timestamp, cfg: KitConfig, client_dir: Path, result: BackfillResult, *,
                  with_clv: bool, replace_runs: bool, progress: Callable[[str], None]) -> None:
    """Compute one period and store it under the period's run lock (a run of the same period
    and this backfill never write its entry at once)."""
    label = period_label(as_of, cfg.period)
    t0 = time.perf_counter()
    with RunLock(client_dir, cfg.client, label, progress):
        stored = load_record(client_dir, label)
        if stored is not None and stored.get("source") == "run" and not replace_runs:
            result.skipped.append(label)
            progress(f"  {label}: kept the entry of its full run (kit backfill --replace overwrites it)")
            return
        made = period_entry(clean, as_of, cfg, with_clv)
        if made is None:
            result.skipped.append(label)
            progress(f"  {label}: no purchase up to {as_of:%Y-%m-%d}; nothing recorded")
            return
        save_period(client_dir, *made)
    result.recorded.append(label)
    result.seconds[label] = round(time.perf_counter() - t0, 2)
    f = made[0]["figures"]
    clv_text = "no CLV" if f["total_clv"] is None else f"CLV {f['total_clv']:,.0f}"
    progress(f"  {label}: {f['customers']:,} customers, {f['active_customers']:,} active, revenue "
             f"{f['revenue']:,.0f}, {clv_text} ({result.seconds[label]:.1f} s)")
