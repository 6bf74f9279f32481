"""The books of a table (rows and amounts in = clean + quarantined + merged) and the
coverage between tables."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from kit.io.read import RawTable
from kit.stages.clean.common import MAX_LISTED, ReconciliationError, TableResult, _empty_merged, _quarantine_frame, _Triage
from kit.stages.clean.orders import exact_sum, money, to_cents


def reconcile(
    table: str,
    source_rows: np.ndarray | pd.Series,
    clean: pd.DataFrame,
    quarantine: pd.DataFrame,
    merged: pd.DataFrame | None = None,
    *,
    source_amounts: np.ndarray | pd.Series | None = None,
    amount_column: str = "amount",
    raise_on_error: bool = True,
) -> dict[str, Any]:
    """The books of one table, computed from the output frames, checked.

    ``source_rows`` are the source row numbers read (one per row), ``source_amounts`` the
    signed amount of each (aligned; unparseable and implausible amounts counted 0) or None
    for a table without amounts; ``amount_column`` the clean table's column holding them
    (``recurring_amount`` for subscriptions). ``quarantine`` is this table's part of the quarantine.
    Checks that every source row is in exactly one of clean / quarantine / merged, that
    ``source_amount = clean_amount + quarantined_amount + merged_amount`` and that
    ``clean_net_amount = clean_amount + merged_amount``, exactly: each amount is taken in
    whole cents (:func:`kit.stages.clean.orders.to_cents`) and the cents are summed as
    integers, so float rounding can never fake (or hide) an imbalance. The amounts returned
    are numbers of currency units rounded to the cent. Raises :class:`ReconciliationError`
    when a check fails (unless ``raise_on_error`` is False).
    """
    merged = merged if merged is not None else _empty_merged()
    src = np.asarray(source_rows, dtype="int64")
    parts = [clean["source_row"].to_numpy("int64"), quarantine["source_row"].to_numpy("int64"),
             merged["source_row"].to_numpy("int64")]
    books: dict[str, Any] = {
        "source_rows": int(len(src)), "clean_rows": int(len(parts[0])),
        "quarantined_rows": int(len(parts[1])), "merged_rows": int(len(parts[2])),
    }
    problems = row_count_problems(books)
    together = np.sort(np.concatenate(parts))
    if len(together) != len(src) or not np.array_equal(together, np.sort(src)):
        seen, counts = np.unique(together, return_counts=True)
        twice = seen[counts > 1][:10].tolist()
        lost = np.setdiff1d(src, together)[:10].tolist()
        problems.append(identity_problem(lost, twice))
    if source_amounts is not None:
        cents = pd.Series(to_cents(np.asarray(source_amounts, dtype="float64")), index=src)
        problems += amount_problems(
            books, source=exact_sum(cents.to_numpy()),
            cleaned=exact_sum(cents.to_numpy()[np.isin(src, parts[0])]),
            quarantined=exact_sum(to_cents(quarantine["amount"].to_numpy("float64"))),
            merged=exact_sum(to_cents(merged["amount"].to_numpy("float64"))),
            clean_net=exact_sum(to_cents(clean[amount_column].to_numpy("float64"))))
    else:
        books.update({k: None for k in ("source_amount", "clean_amount", "quarantined_amount",
                                        "merged_amount", "clean_net_amount")})
    return close_books(table, books, problems, raise_on_error)


# The checks of the books, shared by :func:`reconcile` (frames) and the SQL books of the
# transactions (:func:`kit.engines.duckdb_books.books`): one wording, one rule.


def row_count_problems(books: dict[str, Any]) -> list[str]:
    """``source_rows = clean_rows + quarantined_rows + merged_rows``, or the problem."""
    n = [books[k] for k in ("source_rows", "clean_rows", "quarantined_rows", "merged_rows")]
    if n[0] == n[1] + n[2] + n[3]:
        return []
    return [f"rows: source {n[0]} != clean {n[1]} + quarantined {n[2]} + merged {n[3]}"]


def identity_problem(lost: list[int], twice: list[int]) -> str:
    """The row-identity problem: source rows the output lost, rows it counted twice."""
    return f"row identity: source rows lost {lost}, counted twice {twice}"


def amount_problems(books: dict[str, Any], *, source: int, cleaned: int, quarantined: int, merged: int,
                    clean_net: int) -> list[str]:
    """The amounts of the books from whole-cent totals (exact integers): recorded in ``books``
    as currency rounded to the cent, and checked: ``source = clean + quarantined + merged``
    and ``clean_net = clean + merged``. Returns the problems found."""
    books.update({"source_amount": money(source), "clean_amount": money(cleaned),
                  "quarantined_amount": money(quarantined), "merged_amount": money(merged),
                  "clean_net_amount": money(clean_net)})
    problems = []
    gap = source - (cleaned + quarantined + merged)
    if gap:
        problems.append(f"amounts: source {_fmt(source)} != clean {_fmt(cleaned)} + quarantined "
                        f"{_fmt(quarantined)} + merged {_fmt(merged)} (gap {_fmt(gap)})")
    net_gap = clean_net - (cleaned + merged)
    if net_gap:
        problems.append(f"net amounts: clean table {_fmt(clean_net)} != clean rows {_fmt(cleaned)} "
                        f"+ netted refunds {_fmt(merged)} (gap {_fmt(net_gap)})")
    return problems


def close_books(table: str, books: dict[str, Any], problems: list[str], raise_on_error: bool = True) -> dict[str, Any]:
    """``books`` with ``balanced`` (and ``problems``); raises :class:`ReconciliationError`,
    one line naming the table, when they do not balance (unless ``raise_on_error`` is False)."""
    books["balanced"] = not problems
    if problems:
        books["problems"] = problems
        if raise_on_error:
            raise ReconciliationError(f"{table}: the books do not balance: " + "; ".join(problems))
    return books


def _fmt(cents: int) -> str:
    """Cents as a readable amount in a one-line message (huge values in e-notation)."""
    return f"{money(cents):,.2f}" if abs(cents) < 10 ** 17 else f"{money(cents):.6g}"


def coverage(
    tx: pd.DataFrame, master: pd.DataFrame | None, interactions: pd.DataFrame | None,
    *, subscriptions: pd.DataFrame | None = None, usage: pd.DataFrame | None = None,
    max_listed: int = MAX_LISTED,
) -> dict[str, Any]:
    """Customers of one table missing from another: counts, amounts and (up to
    ``max_listed``) the ids. Subscriptions and usage: their customers, and their rows whose
    customer is neither in the orders nor in the master (``<table>_unknown_customer``)."""
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
    for name, frame in (("subscription", subscriptions), ("usage", usage)):
        if frame is not None:
            unknown = ~frame["customer_id"].isin(known)
            out[f"{name}_customers"] = int(frame["customer_id"].nunique())
            out[f"{name}_unknown_customer"] = {
                "rows": int(unknown.sum()), "customers": listed(set(frame.loc[unknown, "customer_id"].unique()))}
    return out


def finish_table(raw: RawTable, tri: _Triage, keep: np.ndarray, cid: pd.Series, out: dict[str, Any],
                 rows: np.ndarray, stats: dict[str, Any], *, amounts: pd.Series | None = None,
                 amount_column: str = "amount") -> TableResult:
    """The end of a table without merged rows (master, interactions, subscriptions, usage):
    the clean frame from the kept rows, the quarantine of the rest, and the books asserted.
    ``amounts`` (aligned with the rows; NaN counts 0) are the source amounts of a table with
    amounts, whose clean frame holds them in ``amount_column``; the books then balance them
    in whole cents too."""
    clean = pd.DataFrame(out)
    clean["source_row"] = rows[keep].astype("int64")
    clean = clean.reset_index(drop=True)
    quarantine = _quarantine_frame(raw, tri, ~keep, cid, amounts)
    merged = _empty_merged()
    books = reconcile(raw.table, rows, clean, quarantine, merged,
                      source_amounts=None if amounts is None else amounts.to_numpy("float64"),
                      amount_column=amount_column)
    return TableResult(raw.table, clean, quarantine, merged, books, stats)
