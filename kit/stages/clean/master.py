"""Clean a customer master: one row per ``customer_id``, typed."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.core.config import Cleaning
from kit.io.read import RawTable, normalize_ids, normalize_text, parse_dates, parse_numbers
from kit.stages.clean.books import finish_table
from kit.stages.clean.common import (
    TableResult,
    _invalid,
    _mark_duplicates,
    _regex_mask,
    _reindexed,
    _Triage,
    _values,
)

#: Growth-stage values mapped to the keys the kit stores (unknown values are kept as given).
#: The config's default mapping (``cleaning.growth_stages``), for callers without a config.
GROWTH_STAGES: dict[str, str] = Cleaning().growth_stages

FLAG_TRUE = frozenset({"是", "y", "yes", "true", "t", "1", "√", "✓", "有", "x"})
FLAG_FALSE = frozenset({"否", "n", "no", "false", "f", "0", "×", "无", "不是"})

TEXT_COLUMNS_MASTER = (
    "name", "industry", "region", "contact_name", "contact_title", "account_manager", "expansion_plan",
)
NUMBER_COLUMNS_MASTER = ("employees", "annual_revenue", "referrals", "industry_growth")
DATE_COLUMNS_MASTER = ("first_cooperation_date", "contract_end_date", "updated_at")
FLAG_COLUMNS_MASTER = ("strategic_partner", "industry_leader")


def parse_flags(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no flags (``是/否``, ``Y/N``, ``true/false``, ``1/0`` ...) as bool; missing is
    False; ``ok`` is False for a value that is neither."""
    t = normalize_text(series).str.lower()
    yes = t.isin(FLAG_TRUE).fillna(False).astype(bool)
    no = t.isin(FLAG_FALSE).fillna(False).astype(bool)
    ok = (yes | no | t.isna()).astype(bool)
    return yes, ok


def _mark_older_rows(tri: _Triage, raw: RawTable, cid: pd.Series, rows: np.ndarray) -> None:
    """Of the open rows sharing a customer id, all but the latest (by ``updated_at``,
    else the later row) are ``duplicate_id``."""
    index = cid.index
    updated = parse_dates(raw.column("updated_at"))[0] if "updated_at" in raw.mapping else pd.Series(
        pd.NaT, index=index, dtype="datetime64[ns]")
    alive = tri.open()
    if not alive.any():
        return
    order = pd.DataFrame({"cid": cid[alive], "upd": updated[alive], "row": rows[alive]})
    order = order.sort_values(["upd", "row"], na_position="first", kind="stable")
    older = order.duplicated("cid", keep="last")
    kept_row = order.groupby("cid")["row"].transform("last")
    older_mask = np.zeros(len(rows), dtype=bool)
    older_mask[order.index[older.to_numpy()]] = True
    kept = pd.Series(kept_row.to_numpy(), index=order.index).reindex(index)
    tri.mark("duplicate_id", older_mask,
             lambda m: [{"customer_id": c, "kept_row": int(k)} for c, k in zip(_values(cid, m), kept[m])])


def _master_values(raw: RawTable, col: str, keep: np.ndarray, stage_keys: dict[str, str]):
    """``(values, ok, unknown_stages)`` of one master column."""
    src = raw.column(col)
    unknown: list[str] = []
    every = pd.Series(True, index=src.index)
    if col in DATE_COLUMNS_MASTER:
        vals, ok = parse_dates(src)
    elif col in NUMBER_COLUMNS_MASTER:
        vals, ok = parse_numbers(src)
    elif col in FLAG_COLUMNS_MASTER:
        vals, ok = parse_flags(src)
    elif col == "contact_phone":
        vals, ok = normalize_ids(src), every
    elif col == "growth_stage":
        t = normalize_text(src)
        mapped = t.str.lower().map(stage_keys)
        known = (mapped.notna() | t.isna()).astype(bool)
        unknown = sorted(set(t[~known & keep].dropna().unique()))
        vals, ok = mapped.where(mapped.notna(), t).astype("str"), every
    else:
        vals, ok = normalize_text(src), every
    return vals, ok, unknown


def clean_master(
    raw: RawTable,
    cleaning: Cleaning,
    *,
    growth_stages: dict[str, str] | None = None,
) -> TableResult:
    """Clean a customer master: one row per ``customer_id``, typed (flags bool, dates
    datetime64, sizes float). ``stats['test_customer_ids']`` lists the test accounts found
    (by id or name) so their orders and interactions are quarantined too."""
    raw, f, rows = _reindexed(raw)
    cid = normalize_ids(raw.column("customer_id"))
    name = normalize_text(raw.column("name")) if "name" in raw.mapping else pd.Series(pd.NA, index=f.index, dtype="str")
    tri = _Triage(len(f))
    if cleaning.duplicates == "quarantine":
        _mark_duplicates(tri, raw)
    tri.mark("missing_customer_id", cid.isna())
    test = _regex_mask(cid, cleaning.test_account_pattern) | _regex_mask(name, cleaning.test_account_pattern)
    test_ids = set(cid[test & cid.notna()].unique())
    tri.mark("test_account", test, lambda m: [{"customer_id": c, "name": nm}
                                              for c, nm in zip(_values(cid, m), _values(name, m))],
             detail_code="test_account_named")
    _mark_older_rows(tri, raw, cid, rows)

    keep = tri.open()
    out: dict[str, pd.Series] = {"customer_id": cid[keep].astype("str")}
    invalid: dict[str, int] = {}
    unknown_stages: list[str] = []
    stages = GROWTH_STAGES if growth_stages is None else growth_stages
    stage_keys = {k.lower(): v for k, v in stages.items()}
    for col in [c for c in raw.mapping if c != "customer_id"]:
        vals, ok, unknown = _master_values(raw, col, keep, stage_keys)
        unknown_stages = unknown or unknown_stages
        n_bad = _invalid(raw.column(col), ok, keep)
        if n_bad:
            invalid[col] = n_bad
        out[col] = vals[keep]
    stats = {"test_customer_ids": sorted(test_ids), "invalid_values": invalid,
             "unknown_growth_stages": unknown_stages}
    return finish_table(raw, tri, keep, cid, out, rows, stats)
