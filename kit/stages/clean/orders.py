"""Order identity: when two order rows are the same order, when they contradict each other,
and amounts as exact cents.

* **Reformatted duplicates** (:func:`order_duplicates`): a row is a copy of an earlier row
  when every source value is equal (an exact copy), or when both have an order id and agree
  on it after normalising (:func:`kit.io.normalize_ids`: trimmed, full-width folded), on
  the customer id, the order day, the signed amount to the cent (:func:`to_cents`), the
  cancelled flag and the order-line columns (``cleaning.order_line_columns``). So the same
  order re-exported in another style (``2023-10-09`` / ``2023/10/09``, ``12345.60`` /
  ``12,345.60``, ``SO1`` / ``SO1 ``) counts once.
* **Order lines**: an order id names one order of one customer; its lines are told apart by
  the order-line columns (default ``category``). A line key is the order id with those values.
* **Conflicts** (:func:`order_conflicts`): among the rows still open after the row rules
  (refunds aside: they are netted against their order), an order id whose rows name more than
  one customer, or one of whose lines has rows with different content (order day or amount),
  is a conflict. ``cleaning.order_conflicts``: ``quarantine`` (default) quarantines every such
  row of the order id as ``order_conflict`` (nothing guessed); ``keep_first`` / ``keep_latest``
  keep, per line, the first / last row in the file (of the customer of the order id's first /
  last row) and quarantine the rows that differ from it.

After these rules the clean purchases have unique line keys; :func:`check_unique_lines`
asserts it on every run. Both engines use these definitions (the DuckDB engine writes them
as SQL in :mod:`kit.engines.duckdb_clean`, with :data:`CENTS_SQL`).
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from kit.stages.clean.common import ReconciliationError

#: Other rows named in an ``order_conflict`` detail (the count is always complete).
MAX_CONFLICT_ROWS = 10

#: Largest amount converted to cents in float arithmetic (x * 100 is exact to the cent below it).
_FAST_CENTS = 9e13

#: :func:`to_cents` in DuckDB SQL, for an amount at most ``cleaning.max_amount`` (<= 1e13).
CENTS_SQL = "CAST(round_even({x} * 100, 0) AS BIGINT)"


def _cents_exact(x: float) -> int:
    if not np.isfinite(x):
        raise ValueError(f"an amount is not finite: {x!r}")
    return int(Decimal(repr(float(x))).scaleb(2).to_integral_value(rounding=ROUND_HALF_EVEN))


def to_cents(values: Iterable[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Amounts as whole cents, one per value (NaN counts 0): ``x * 100`` rounded half to
    even, in float arithmetic below 9e13 (DuckDB's ``round_even`` gives the same), exactly
    from the value's decimal form above (Python ints: no overflow). int64 when every value
    is below 9e13, else an object array of Python ints."""
    v = np.asarray(values, dtype="float64")
    v = np.where(np.isnan(v), 0.0, v)
    small = np.abs(v) < _FAST_CENTS
    if small.all():
        return np.rint(v * 100).astype("int64")
    out = np.empty(len(v), dtype=object)
    out[small] = [int(c) for c in np.rint(v[small] * 100)]
    out[~small] = [_cents_exact(x) for x in v[~small]]
    return out


def exact_sum(cents: np.ndarray) -> int:
    """The exact sum of whole cents (a Python int; int64 parts summed without overflow)."""
    c = np.asarray(cents)
    if c.dtype == object:
        return int(sum(int(x) for x in c))
    hi, lo = np.divmod(c.astype("int64"), 1 << 31)
    return int(hi.sum()) * (1 << 31) + int(lo.sum())


def money(cents: int) -> float:
    """Whole cents as a number of currency units, rounded to the cent (for quality.json)."""
    return float(Decimal(cents).scaleb(-2)) + 0.0


def line_columns(order_line_columns: Sequence[str], mapped: Iterable[str]) -> list[str]:
    """The order-line columns of ``cleaning.order_line_columns`` that the file maps."""
    mapped = set(mapped)
    return [c for c in order_line_columns if c in mapped]


# --------------------------------------------------------------------------------------
# Duplicates after normalising
# --------------------------------------------------------------------------------------


def order_duplicates(
    rows: np.ndarray, exact_first: pd.Series, oid: pd.Series, cid: pd.Series, day: pd.Series,
    cents: pd.Series, cancelled: pd.Series, lines: dict[str, pd.Series],
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(is_copy, first, exact)``: copies of an earlier row (exact, or the same order after
    normalising), the source row of each row's first copy, and whether that first copy is
    an exact copy (detail ``duplicate``) or a reformatted one (``duplicate_normalized``).

    ``exact_first`` is the first exact copy of each row; ``cents`` the signed amount in
    cents (NaN where there is no plausible amount); all aligned on 0..n-1.
    """
    rows = pd.Series(np.asarray(rows, dtype="int64"))
    eligible = (oid.notna() & cid.notna() & day.notna() & cents.notna()).to_numpy()
    first = pd.Series(np.asarray(exact_first, dtype="int64"))
    if eligible.any():
        key = pd.DataFrame({"oid": oid, "cid": cid, "day": day, "cents": cents,
                            "cancelled": cancelled.astype(bool), **{f"l_{k}": v for k, v in lines.items()}})
        key = key[eligible]
        norm = rows[eligible].groupby([key[c] for c in key.columns], dropna=False, sort=False).transform("min")
        first[eligible] = norm.to_numpy()
    is_copy = first != rows
    exact = first == pd.Series(np.asarray(exact_first, dtype="int64"))
    return is_copy, first, exact


# --------------------------------------------------------------------------------------
# Conflicts: one order id, different content
# --------------------------------------------------------------------------------------


def order_conflicts(
    candidates: np.ndarray, rows: np.ndarray, oid: pd.Series, cid: pd.Series, day: pd.Series,
    cents: pd.Series, lines: dict[str, pd.Series], mode: str,
) -> tuple[np.ndarray, dict[int, dict[str, Any]]]:
    """The rows quarantined as ``order_conflict`` and their detail (row position -> params).

    ``candidates``: the rows still open after the row rules that are not refunds; only those
    with an order id take part. ``mode`` is ``cleaning.order_conflicts``.
    """
    n = len(rows)
    hit = np.zeros(n, dtype=bool)
    e = np.asarray(candidates, dtype=bool) & oid.notna().to_numpy()
    if not e.any():
        return hit, {}
    pos = np.flatnonzero(e)
    f = pd.DataFrame({"pos": pos, "row": np.asarray(rows)[pos], "oid": oid.to_numpy()[pos],
                      "cid": cid.to_numpy()[pos], "day": day.to_numpy()[pos], "cents": cents.to_numpy()[pos],
                      **{f"l_{k}": v.to_numpy()[pos] for k, v in lines.items()}})
    f["content"] = f.groupby(["cid", "day", "cents"], dropna=False, sort=True).ngroup()
    line_key = ["oid", *[f"l_{k}" for k in lines]]
    by_line = f.groupby(line_key, dropna=False, sort=False)["content"]
    by_order = f.groupby("oid", sort=False)["cid"]
    bad = (by_line.transform("min") != by_line.transform("max")) | (by_order.transform("min") != by_order.transform("max"))
    g = f[bad.groupby(f["oid"], sort=False).transform("any").to_numpy()]
    if g.empty:
        return hit, {}
    if mode == "quarantine":
        out = np.ones(len(g), dtype=bool)
    else:
        pick = "first" if mode == "keep_first" else "last"
        ref_content = g.groupby(line_key, dropna=False, sort=False)["content"].transform(pick)
        ref_cid = g.groupby("oid", sort=False)["cid"].transform(pick)
        out = ((g["content"] != ref_content) | (g["cid"] != ref_cid)).to_numpy()
    g = g.assign(out=out)
    params: dict[int, dict[str, Any]] = {}
    for o, grp in g.groupby("oid", sort=False):
        group_rows = grp["row"].tolist()
        kept = grp.loc[~grp["out"], "row"].tolist()
        for p, r in zip(grp.loc[grp["out"], "pos"], grp.loc[grp["out"], "row"]):
            params[int(p)] = conflict_detail(mode, str(o), int(r), group_rows, kept)
    hit[g.loc[g["out"], "pos"].to_numpy()] = True
    return hit, params


def conflict_detail(mode: str, order_id: str, row: int, group_rows: Sequence[int], kept: Sequence[int]) -> dict[str, Any]:
    """The detail of one ``order_conflict`` row (both engines): the order id, how many rows
    of it conflict, the other rows (at most :data:`MAX_CONFLICT_ROWS`) and, under a keep
    rule, the rows kept."""
    others = sorted(int(r) for r in group_rows if int(r) != row)
    params: dict[str, Any] = {"order_id": order_id, "n_rows": len(group_rows),
                              "rows": others[:MAX_CONFLICT_ROWS]}
    if mode != "quarantine":
        params["kept"] = sorted(int(r) for r in kept)[:MAX_CONFLICT_ROWS]
        params["rule"] = mode
    return params


def conflict_detail_code(mode: str) -> str:
    """The detail code of an ``order_conflict`` row under ``cleaning.order_conflicts``."""
    return "order_conflict" if mode == "quarantine" else "order_conflict_kept"


# --------------------------------------------------------------------------------------
# Refund netting in cents
# --------------------------------------------------------------------------------------


def allocate_cents(codes: np.ndarray, line_cents: np.ndarray, net_cents: np.ndarray,
                   order_cents: np.ndarray) -> np.ndarray:
    """An order's net (cents) spread over its lines in proportion to their cents, whole
    cents that add up exactly (largest remainder; ties to the earlier line).

    ``codes``: each line's order (index into ``net_cents`` / ``order_cents``), lines in file
    order; ``line_cents`` >= 0 and ``order_cents`` > 0. Python ints: no overflow.
    """
    k = len(codes)
    if k == 0:
        return np.zeros(0, dtype="int64")
    num = [int(lc) * int(net_cents[c]) for lc, c in zip(line_cents, codes)]
    den = [int(order_cents[c]) for c in codes]
    base = [a // b for a, b in zip(num, den)]
    rem = [a % b for a, b in zip(num, den)]
    frame = pd.DataFrame({"code": codes, "base": base, "rem": rem, "i": np.arange(k)}).astype({"base": object})
    given = frame.groupby("code")["base"].apply(lambda s: sum(int(x) for x in s))
    left = {c: int(net_cents[c]) - int(v) for c, v in given.items()}
    frame = frame.sort_values(["code", "rem", "i"], ascending=[True, False, True], kind="stable")
    frame["rank"] = frame.groupby("code").cumcount()
    frame["extra"] = [1 if r < left[c] else 0 for c, r in zip(frame["code"], frame["rank"])]
    frame = frame.sort_values("i")
    return np.array([int(b) + int(x) for b, x in zip(frame["base"], frame["extra"])], dtype=object)


def check_unique_lines(table: str, clean: pd.DataFrame, line_cols: Sequence[str]) -> None:
    """The clean purchases hold each order line once: (order id, order-line columns) unique
    among the rows that are not returns and have an order id. Raises
    :class:`ReconciliationError` (a bug of the rules, never the data's fault) otherwise."""
    if clean.empty:
        return
    rows = clean[~clean["is_return"].astype(bool) & clean["order_id"].notna()]
    key = ["order_id", *[c for c in line_cols if c in rows.columns]]
    twice = rows[rows.duplicated(key, keep=False)]
    if len(twice):
        first = twice.iloc[0]
        filled = twice[key].astype(object).where(twice[key].notna(), None)
        same = twice[[tuple(r) == tuple(filled.iloc[0]) for r in filled.itertuples(index=False)]]
        raise ReconciliationError(
            f"{table}: order line {' / '.join(str(first[c]) for c in key)} is in the clean table "
            f"{len(same)} times (source rows {', '.join(map(str, same['source_row'].tolist()[:10]))}): "
            f"a bug of the cleaning rules, please report it")
