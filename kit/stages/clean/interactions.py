"""Clean interactions: ``customer_id, date, type, score`` (0-100) and the free text."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from kit.core.config import Cleaning
from kit.io.read import RawTable, normalize_ids, normalize_text, parse_dates, parse_numbers
from kit.stages.cascade import test_account_ids
from kit.stages.clean.books import finish_table
from kit.stages.clean.common import (
    TableResult,
    _invalid,
    _mark_duplicates,
    _reindexed,
    _Triage,
    _values,
)

INTERACTION_TYPES = ("inquiry", "complaint", "survey", "login", "visit", "referral", "call")


def normalize_scores(
    score: pd.Series, scale: str, groups: pd.Series | None = None
) -> tuple[pd.Series, dict[str, Any]]:
    """Scores on 0-100. ``scale`` ``0-10`` multiplies by 10, ``0-100`` keeps them; ``auto``
    multiplies a source (or, given ``groups``, each group such as channel x type) whose
    scores are all <= 10. Scores outside 0-100 afterwards become NaN (counted)."""
    s = score.astype("float64")
    scaled_groups: list[str] = []
    if scale == "0-10":
        s = s * 10
        scaled_groups = ["(all)"]
    elif scale == "auto":
        g = groups if groups is not None else pd.Series("(all)", index=s.index)
        g = g.fillna("(none)").astype("str")
        gmax = s.groupby(g).max()
        small = gmax[(gmax <= 10)].index
        to_scale = g.isin(small) & s.notna()
        s = s.where(~to_scale, s * 10)
        scaled_groups = sorted(map(str, small))
    out_of_range = s.notna() & ((s < 0) | (s > 100))
    return s.where(~out_of_range), {"scale": scale, "scaled_x10": scaled_groups,
                                     "out_of_range": int(out_of_range.sum())}


def _score_groups(types: pd.Series | None, channel: pd.Series | None) -> pd.Series | None:
    """Groups whose score scale is judged together: channel x type, where present (a
    survey on one channel may use 0-10 while the others use 0-100)."""
    parts = [p.fillna("-").astype("str") for p in (channel, types) if p is not None]
    if not parts:
        return None
    g = parts[0]
    for p in parts[1:]:
        g = g + " / " + p
    return g


def _interaction_types(raw: RawTable, cleaning: Cleaning, keep: np.ndarray, stats: dict[str, Any]) -> pd.Series:
    """Interaction types as canonical keys (``other`` for an unknown one, counted)."""
    t = normalize_text(raw.column("type"))
    lookup = {k.strip(): v for k, v in cleaning.interaction_types.items()}
    lookup.update({k: k for k in INTERACTION_TYPES})
    mapped = t.map(lookup)
    mapped = mapped.where(mapped.notna(), t.str.lower().map({k: k for k in INTERACTION_TYPES}))
    unknown = t.notna() & mapped.isna()
    stats["unknown_types"] = {str(k): int(v) for k, v in t[unknown & keep].value_counts().items()}
    return mapped.where(t.notna() & mapped.notna(), np.where(t.notna(), "other", None))


def triage_dated(raw: RawTable, cid: pd.Series, date: pd.Series, date_ok: pd.Series, cleaning: Cleaning,
                 as_of: pd.Timestamp, test_customer_ids: Iterable[str]) -> _Triage:
    """The reasons every table of dated rows per customer shares (interactions, usage):
    duplicates, missing customer id, test accounts, unreadable and (when configured) future
    dates. A table adds its own reasons to the triage this returns."""
    tri = _Triage(len(cid))
    if cleaning.duplicates == "quarantine":
        _mark_duplicates(tri, raw)
    tri.mark("missing_customer_id", cid.isna())
    test = cid.isin(test_account_ids(cid.dropna().unique(), cleaning.test_account_pattern, test_customer_ids))
    tri.mark("test_account", test, lambda m: [{"customer_id": v} for v in _values(cid, m)])
    date_raw = raw.column("date")
    tri.mark("bad_date", ~date_ok, lambda m: [{"column": "date", "value": v} for v in _values(date_raw, m)])
    if cleaning.future_dates == "quarantine":
        tri.mark("future_date", (date.dt.normalize() > as_of).fillna(False), lambda m: [
            {"column": "date", "date": f"{d:%Y-%m-%d}", "as_of": f"{as_of:%Y-%m-%d}"} for d in date[m]])
    return tri


def clean_interactions(
    raw: RawTable,
    cleaning: Cleaning,
    as_of: pd.Timestamp,
    *,
    test_customer_ids: Iterable[str] = (),
) -> TableResult:
    """Clean interactions: ``customer_id, date, type`` (canonical key or ``other``),
    ``score`` (0-100), ``keywords, channel, text`` when present, ``source_row``."""
    as_of = pd.Timestamp(as_of).normalize()
    raw, f, rows = _reindexed(raw)
    cid = normalize_ids(raw.column("customer_id"))
    date, date_ok = parse_dates(raw.column("date"))
    tri = triage_dated(raw, cid, date, date_ok, cleaning, as_of, test_customer_ids)
    keep = tri.open()

    out: dict[str, pd.Series] = {"customer_id": cid[keep].astype("str"), "date": date[keep]}
    stats: dict[str, Any] = {"invalid_values": {}}
    types = None
    channel = normalize_text(raw.column("channel")) if "channel" in raw.mapping else None
    if "type" in raw.mapping:
        types = _interaction_types(raw, cleaning, keep, stats)
        out["type"] = types[keep].astype("str")
    if "score" in raw.mapping:
        src = raw.column("score")
        vals, ok = parse_numbers(src)
        stats["invalid_values"]["score"] = _invalid(src, ok, keep)
        scored, info = normalize_scores(vals.where(keep), cleaning.interaction_score_scale,
                                        _score_groups(types, channel))
        stats["score"] = info
        out["score"] = scored[keep].astype("float64")
    for col in ("keywords", "channel", "text", "interaction_id"):
        if col in raw.mapping:
            out[col] = normalize_text(raw.column(col))[keep]
    return finish_table(raw, tri, keep, cid, out, rows, stats)
