"""The transaction cleaning cascade's order, reason codes and switches.

The cascade runs as one SQL implementation (:mod:`kit.engines.duckdb_clean`), whichever
reader read the file; this module says which rules apply, in which order, under which
config switch: each rule names a row condition in :data:`TX_RULES`, the SQL writes it, and
the first rule that holds gives the row its reason code. What the conditions mean:

* ``is_copy``: an exact copy (every source value equal) of an earlier row; the first
  copy stays and is judged on its own;
* ``no_customer_id``: the customer id is missing after :func:`kit.io.normalize_ids`;
* ``is_test``: the id matches ``cleaning.test_account_pattern`` (Python ``re.search``) or is
  one of the master's test accounts (:func:`test_account_ids`);
* ``is_copy``, beyond exact copies: the same order after normalising (order id, customer
  id, order day, signed amount to the cent, cancelled flag, order-line columns; see
  :mod:`kit.stages.clean.orders`): a re-export in another style counts once;
* ``bad_date`` / ``bad_amount``: the value does not parse (:func:`kit.io.parse_dates`,
  :func:`kit.io.parse_amounts`);
* ``is_implausible``: the amount parses but its absolute value is above
  ``cleaning.max_amount`` (or is not finite); such an amount counts 0 in the books, like an
  unparseable one;
* ``is_cancelled``: the status is one of ``cleaning.cancelled_statuses`` (:func:`status_keys`);
* ``is_future``: the order day is after ``as_of``;
* ``is_zero``: the signed amount is 0;
* ``is_conflict`` (an *open-rows* rule, after every row rule): among the rows still open
  that are not refunds, an order id naming two customers, or an order line (order id +
  ``cleaning.order_line_columns``) whose rows differ in day or amount;
  ``cleaning.order_conflicts`` says which of its rows are quarantined (:data:`CONFLICT_MODES`).

The *signed* amount of a row is its amount, made negative (``-abs``) for a refund status
(``cleaning.refund_statuses``); a row is a *refund* when its signed amount is negative or
its status is a refund status. Rows still open after the rules go through the refunds
step (``cleaning.refunds``, :data:`REFUND_MODES`); :data:`REFUND_REASON` names the reason
of a refund that is not netted.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from kit.core.config import Cleaning

#: Code of rows merged into another row (a refund netted against its order), not quarantined.
MERGED_REASON = "refund_netted"
REFUND_UNMATCHED = "refund_unmatched"
REFUND_DROPPED = "refund_dropped"
FULLY_REFUNDED = "fully_refunded"


@dataclass(frozen=True)
class Rule:
    """One step of the cascade: rows where ``condition`` holds get ``code``.

    ``switch``: the :class:`kit.core.config.Cleaning` field that turns the rule on when it
    is ``"quarantine"`` (None: always on); ``needs``: the canonical column the rule reads
    when that column is optional (the rule is skipped when the file lacks it).
    """

    code: str
    condition: str
    switch: str | None = None
    needs: str | None = None
    open_rows: bool = False  # the condition is over the rows the rules before it left open

    def active(self, cleaning: Cleaning, mapped: Iterable[str]) -> bool:
        if self.switch is not None and getattr(cleaning, self.switch) != "quarantine":
            return False
        return self.needs is None or self.needs in set(mapped)


#: The transaction rules in the order they apply (first rule that holds wins).
TX_RULES: tuple[Rule, ...] = (
    Rule("duplicate", "is_copy", switch="duplicates"),
    Rule("missing_customer_id", "no_customer_id"),
    Rule("test_account", "is_test"),
    Rule("bad_date", "bad_date"),
    Rule("bad_amount", "bad_amount"),
    Rule("implausible_amount", "is_implausible"),
    Rule("cancelled", "is_cancelled", needs="status"),
    Rule("future_date", "is_future", switch="future_dates"),
    Rule("zero_amount", "is_zero", switch="zero_amount"),
    Rule("order_conflict", "is_conflict", needs="order_id", open_rows=True),
)

#: ``cleaning.order_conflicts``: ``quarantine`` every row of a conflicting order id, or keep
#: per order line the first / last row in the file and quarantine the rows that differ.
CONFLICT_MODES = ("quarantine", "keep_first", "keep_latest")

#: Refund handling (``cleaning.refunds``): ``net`` subtracts a refund from its clean order
#: (same customer and order id), ``keep`` keeps refunds as return rows, ``drop`` quarantines them.
REFUND_MODES = ("net", "keep", "drop")

#: Reason of a refund that is not netted, per mode (None: it stays clean, as a return).
REFUND_REASON: dict[str, str | None] = {"net": REFUND_UNMATCHED, "keep": None, "drop": REFUND_DROPPED}


def tx_rules(cleaning: Cleaning, mapped: Iterable[str]) -> list[Rule]:
    """The rules of :data:`TX_RULES` that apply under ``cleaning`` to a file whose mapped
    canonical columns are ``mapped``, in order."""
    mapped = set(mapped)
    return [r for r in TX_RULES if r.active(cleaning, mapped)]


def status_keys(values: Iterable[str]) -> set[str]:
    """Status words as compared: NFKC, stripped, lower case."""
    return {unicodedata.normalize("NFKC", v).strip().lower() for v in values}


def test_account_ids(ids: Iterable[str], pattern: str, listed: Iterable[str] = ()) -> set[str]:
    """The ids among ``ids`` that are test accounts: ``pattern`` found in them (Python ``re``
    search; an empty pattern finds none) or named in ``listed`` (the master's test accounts)."""
    listed = set(listed)
    rx = re.compile(pattern) if pattern else None
    return {i for i in ids if (rx is not None and rx.search(str(i))) or i in listed}
