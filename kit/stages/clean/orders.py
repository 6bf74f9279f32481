"""Order identity: when two order rows are the same order, when they contradict each other,
and amounts as exact cents.

* **Reformatted duplicates**: a row is a copy of an earlier row
  when every source value is equal (an exact copy), or when both have an order id and agree
  on it after normalising (:func:`kit.io.normalize_ids`: trimmed, full-width folded), on
  the customer id, the order day, the signed amount to the cent (:func:`to_cents`), the
  cancelled flag and the order-line columns (``cleaning.order_line_columns``). So the same
  order re-exported in another style (``2023-10-09`` / ``2023/10/09``, ``12345.60`` /
  ``12,345.60``, ``SO1`` / ``SO1 ``) counts once.
* **Order lines**: an order id names one order of one customer; its lines are told apart by
  the order-line columns (default ``category``). A line key is the order id with those values.
* **Conflicts**: among the rows still open after the row rules
  (refunds aside: they are netted against their order), an order id whose rows name more than
  one customer, or one of whose lines has rows with different content (order day or amount),
  is a conflict. ``cleaning.order_conflicts``: ``quarantine`` (default) quarantines every such
  row of the order id as ``order_conflict`` (nothing guessed); ``keep_first`` / ``keep_latest``
  keep, per line, the first / last row in the file (of the customer of the order id's first /
  last row) and quarantine the rows that differ from it.

After these rules the clean purchases have unique line keys;
:func:`kit.engines.duckdb_books.check_unique_lines` asserts it on every run. The rules are
written once, as SQL, in :mod:`kit.engines.duckdb_clean` (with :func:`cents_sql`); this
module keeps the cents arithmetic and the words of a conflict's detail.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd


#: Other rows named in an ``order_conflict`` detail (the count is always complete).
MAX_CONFLICT_ROWS = 10

#: Largest amount converted to cents in float arithmetic (x * 100 is exact to the cent below it).
_FAST_CENTS = 9e13

#: :func:`to_cents` in DuckDB SQL, for an amount at most ``cleaning.max_amount`` (<= 1e13).
CENTS_SQL = "CAST(round_even({x} * 100, 0) AS BIGINT)"


def cents_sql(x: str, dialect=None) -> str:
    """:func:`to_cents` of the SQL expression ``x`` in ``dialect`` (a
    :class:`kit.core.dialect.Dialect`; default DuckDB's, :data:`CENTS_SQL`)."""
    if dialect is None:
        return CENTS_SQL.format(x=x)
    return f"CAST({dialect.round_even(f'{x} * 100')} AS BIGINT)"


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
