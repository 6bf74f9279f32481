"""The books of a table (rows and amounts in = clean + quarantined + merged) and the
coverage between tables."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from kit.io.read import RawTable
from kit.stages.clean.common import MAX_LISTED, ReconciliationError, TableResult, _empty_merged, _quarantine_frame, _Triage


def reconcile(
    table: str,
    source_rows: np.ndarray | pd.Series,
    clean: pd.DataFrame,
    quarantine: pd.DataFrame,
    merged: pd.DataFrame | None = None,
    *,
    source_amounts: np.ndarray | pd.Series | None = None,
    tolerance: float = 0.01,
    raise_on_error: bool = True,
) -> dict[str, Any]:
    """The books of one table, computed from the output frames, checked.

    ``source_rows`` are the source row numbers read (one per row), ``source_amounts`` the
    signed amount of each (aligned; unparseable counted 0) or None for a table without
    amounts. ``quarantine`` is this table's part of the quarantine. Checks that every
    source row is in exactly one of clean / quarantine / merged, that
    ``source_amount = clean_amount + quarantined_amount + merged_amount`` and that
    ``clean_net_amount = clean_amount + merged_amount`` within ``tolerance``; raises
    :class:`ReconciliationError` otherwise (unless ``raise_on_error`` is False).
    """
    merged = merged if merged is not None else _empty_merged()
    src = np.asarray(source_rows, dtype="int64")
    parts = [clean["source_row"].to_numpy("int64"), quarantine["source_row"].to_numpy("int64"),
             merged["source_row"].to_numpy("int64")]
    books: dict[str, Any] = {
        "source_rows": int(len(src)), "clean_rows": int(len(parts[0])),
        "quarantined_rows": int(len(parts[1])), "merged_rows": int(len(parts[2])),
    }
    problems = []
    if books["source_rows"] != books["clean_rows"] + books["quarantined_rows"] + books["merged_rows"]:
        problems.append(
            f"rows: source {books['source_rows']} != clean {books['clean_rows']} + quarantined "
            f"{books['quarantined_rows']} + merged {books['merged_rows']}")
    together = np.sort(np.concatenate(parts))
    if len(together) != len(src) or not np.array_equal(together, np.sort(src)):
        seen, counts = np.unique(together, return_counts=True)
        twice = seen[counts > 1][:10].tolist()
        lost = np.setdiff1d(src, together)[:10].tolist()
        problems.append(f"row identity: source rows lost {lost}, counted twice {twice}")
    if source_amounts is not None:
        amounts = pd.Series(np.asarray(source_amounts, dtype="float64"), index=src)
        source_amount = float(amounts.sum())
        clean_amount = float(amounts.reindex(parts[0]).fillna(0.0).sum())
        quarantined_amount = float(quarantine["amount"].fillna(0.0).sum())
        merged_amount = float(merged["amount"].fillna(0.0).sum())
        clean_net = float(clean["amount"].sum())
        books.update({
            "source_amount": round(source_amount, 6), "clean_amount": round(clean_amount, 6),
            "quarantined_amount": round(quarantined_amount, 6), "merged_amount": round(merged_amount, 6),
            "clean_net_amount": round(clean_net, 6),
        })
        gap = source_amount - (clean_amount + quarantined_amount + merged_amount)
        if abs(gap) > tolerance:
            problems.append(f"amounts: source {source_amount:,.2f} != clean {clean_amount:,.2f} + "
                            f"quarantined {quarantined_amount:,.2f} + merged {merged_amount:,.2f} "
                            f"(gap {gap:,.2f})")
        net_gap = clean_net - (clean_amount + merged_amount)
        if abs(net_gap) > tolerance:
            problems.append(f"net amounts: clean table {clean_net:,.2f} != clean rows {clean_amount:,.2f} "
                            f"+ netted refunds {merged_amount:,.2f} (gap {net_gap:,.2f})")
    else:
        books.update({k: None for k in ("source_amount", "clean_amount", "quarantined_amount",
                                        "merged_amount", "clean_net_amount")})
    books["balanced"] = not problems
    if problems:
        books["problems"] = problems
        if raise_on_error:
            raise ReconciliationError(f"{table}: the books do not balance: " + "; ".join(problems))
    return books


def coverage(
    tx: pd.DataFrame, master: pd.DataFrame | None, interactions: pd.DataFrame | None,
    *, max_listed: int = MAX_LISTED,
) -> dict[str, Any]:
    """Customers of one table missing from another: counts, amounts and (up to
    ``max_listed``) the ids."""
    def listed(ids: Iterable[str]) -> dict[str, Any]:
        ids = sorted(ids)
        return {"count": len(ids), "ids": ids[:max_listed], "truncated": len(ids) > max_listed}

    tx_ids = set(tx["customer_id"].unique())
    out: dict[str, Any] = {"transaction_customers": len(tx_ids)}
    if master is not None:
        m_ids = set(master["customer_id"].unique())
        orphan = ~tx["customer_id"].isin(m_ids)
        out["master_customers"] = len(m_ids)
        out["orders_without_master"] = {
            "rows": int(orphan.sum()), "amount": float(tx.loc[orphan, "amount"].sum()),
            "customers": listed(set(tx.loc[orphan, "customer_id"].unique())),
        }
        out["master_without_orders"] = listed(m_ids - tx_ids)
    known = tx_ids | (set(master["customer_id"]) if master is not None else set())
    if interactions is not None:
        unknown = ~interactions["customer_id"].isin(known)
        out["interaction_customers"] = int(interactions["customer_id"].nunique())
        out["interactions_unknown_customer"] = {
            "rows": int(unknown.sum()),
            "customers": listed(set(interactions.loc[unknown, "customer_id"].unique())),
        }
        out["customers_without_interactions"] = listed(known - set(interactions["customer_id"].unique()))
    return out


def finish_table(raw: RawTable, tri: _Triage, keep: np.ndarray, cid: pd.Series, out: dict[str, Any],
                 rows: np.ndarray, tolerance: float, stats: dict[str, Any]) -> TableResult:
    """The end of a table without amounts (master, interactions): the clean frame from the
    kept rows, the quarantine of the rest, and the books asserted."""
    clean = pd.DataFrame(out)
    clean["source_row"] = rows[keep].astype("int64")
    clean = clean.reset_index(drop=True)
    quarantine = _quarantine_frame(raw, tri, ~keep, cid, None)
    merged = _empty_merged()
    books = reconcile(raw.table, rows, clean, quarantine, merged, tolerance=tolerance)
    return TableResult(raw.table, clean, quarantine, merged, books, stats)
