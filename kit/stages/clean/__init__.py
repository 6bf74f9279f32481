"""Clean the inputs, quarantine what cannot be cleaned with a reason, and balance the books.

Data shape: :class:`kit.io.RawTable` (strings as read) -> clean canonical, typed frames
(``docs/ARCHITECTURE.md``), one quarantine frame and one frame of merged rows.

Every source row ends in exactly one of three places:

* the **clean** table;
* **quarantine**, with a reason code (:data:`REASONS`), a structured detail (``detail_code``
  and ``detail_params``, rendered in the report language by :mod:`kit.present.clean`), the
  source file, the row number a person sees in Excel or an editor, and the original values;
* **merged** into another row: a refund netted against its order (``refund_netted``).

Rules run in a fixed order and the first that applies gives the reason, so each row is
counted once: ``duplicate`` (a copy of an earlier row, exact or the same order written
differently: same order id, customer id, day and amount to the cent after normalising, see
:mod:`~kit.stages.clean.orders`; the first copy stays and is judged on its own; detail
``duplicate`` or ``duplicate_normalized`` naming that row), ``missing_customer_id``,
``test_account``, ``bad_date``, ``bad_amount``, ``implausible_amount`` (above
``cleaning.max_amount``), ``cancelled``, ``future_date``, ``zero_amount``, then
``order_conflict`` over the rows still open (one order id naming two customers, or an order
line -- order id + ``cleaning.order_line_columns``, default ``category`` -- whose rows differ in
day or amount; ``cleaning.order_conflicts``: ``quarantine`` all its rows (default, nothing
guessed), ``keep_first`` or ``keep_latest``); then refunds (``refunds`` in the config):

* ``net``: a refund (negative amount, or a refund status whatever the sign) is subtracted
  from the clean order with the same customer and order id; an order of several lines takes
  the refund in proportion to its lines (profit too). The refund row is *merged*. A refund
  without such an order is quarantined as ``refund_unmatched``. An order whose net is at or
  below ``amount_tolerance`` goes to quarantine with its refunds as ``fully_refunded``.
* ``keep``: refunds stay in the clean table with ``is_return`` True and a negative amount.
* ``drop``: refunds are quarantined as ``refund_dropped``.

Outliers (``cleaning.outliers``) are flagged in ``is_outlier`` and kept.

**Amounts** are signed: a refund-status row counts negative even when the export shows a
positive number. An unparseable amount counts 0 (and its row is quarantined as
``bad_amount``), and so does an implausible one (``implausible_amount``). A partly refunded
order's net is spread over its lines in whole cents that add up exactly. Each row's source
amount lands in one bucket, so per table::

    source_rows   = clean_rows + quarantined_rows + merged_rows
    source_amount = clean_amount + quarantined_amount + merged_amount
    clean_net_amount = clean_amount + merged_amount

where ``clean_amount`` is the source amount of the rows that ended clean (before netting),
``merged_amount`` the refunds netted into them (negative), and ``clean_net_amount`` the sum
of the clean table's ``amount``. :func:`reconcile` checks these on the output frames, exactly
in whole cents (integers, no tolerance), and that no source row is missing or appears twice;
:func:`kit.engines.duckdb_books.check_unique_lines` that no order line is in the clean
table twice. Both raise :class:`ReconciliationError` (one line) when they do not hold.
quality.json keeps the amounts as numbers rounded to the cent.

The customer master follows the same rules (``duplicate``, ``missing_customer_id``,
``test_account`` on id or name) and then keeps the latest row per customer id (by
``updated_at``, else the later row): the others are quarantined as ``duplicate_id``.
Interactions: ``duplicate``, ``missing_customer_id``, ``test_account``, ``bad_date``,
``future_date``; scores on a 0-10 scale are put on 0-100.

The optional subscriptions (contracts) and usage tables follow the same books (rows in =
clean + quarantined; subscriptions' recurring amounts in whole cents too) with their own
rules, listed in :mod:`~kit.stages.clean.subscriptions` (``end_before_start``,
``negative_amount``, ``unknown_billing_period``, ``duplicate_subscription_id`` ...) and
:mod:`~kit.stages.clean.usage` (``coverage_out_of_range``, ``negative_count``,
``usage_conflict`` ...); the master's test accounts reach them as they reach interactions.

Modules: :mod:`~kit.stages.clean.common` (reasons, results, triage, the quarantine frame),
:mod:`~kit.stages.clean.orders` (order identity: cents, a conflict's detail),
:mod:`~kit.stages.clean.transactions` (the orders table's columns and details), :mod:`~kit.stages.clean.master`,
:mod:`~kit.stages.clean.interactions`, :mod:`~kit.stages.clean.subscriptions`,
:mod:`~kit.stages.clean.usage`, :mod:`~kit.stages.clean.books` (reconciliation,
coverage) and :mod:`~kit.stages.clean.pipeline` (:func:`clean_all`). The stage writes no
words and reads with pandas. The transaction rules above are written once, as SQL over the
orders, in :mod:`kit.engines.duckdb_clean` (their order and codes in
:mod:`kit.stages.cascade`); ``kit.engines.clean_all`` injects that cleaner into
:func:`clean_all`.
"""
from kit.stages.clean.books import coverage, reconcile
from kit.stages.clean.common import (
    AMOUNT_COLUMN,
    MAX_LISTED,
    MERGED_COLUMNS,
    MERGED_REASON,
    QUARANTINE_COLUMNS,
    REASONS,
    TABLES,
    CleanResult,
    ReconciliationError,
    TableResult,
    detail_json,
    month_dates,
)
from kit.stages.clean.interactions import INTERACTION_TYPES, clean_interactions, normalize_scores
from kit.stages.clean.master import (
    FLAG_FALSE,
    FLAG_TRUE,
    GROWTH_STAGES,
    clean_master,
    parse_flags,
)
from kit.stages.clean.pipeline import CleanTx, clean_all, clean_notes, source_of
from kit.stages.clean.subscriptions import (
    MONTHS_PER_PERIOD,
    check_billing_period,
    clean_subscriptions,
    fallback_period,
    header_period,
    unknown_words,
)
from kit.stages.clean.transactions import CANONICAL_OPTIONAL_TX, TEXT_COLUMNS_TX, monthly, order_details
from kit.stages.clean.usage import clean_usage, coverage_shares, response_unit

__all__ = [
    "CANONICAL_OPTIONAL_TX", "FLAG_FALSE", "FLAG_TRUE", "GROWTH_STAGES", "INTERACTION_TYPES", "MAX_LISTED",
    "MERGED_COLUMNS", "MERGED_REASON", "QUARANTINE_COLUMNS", "REASONS", "TABLES", "TEXT_COLUMNS_TX",
    "CleanResult", "CleanTx", "ReconciliationError", "TableResult", "clean_all", "clean_interactions",
    "clean_master", "clean_notes", "coverage", "detail_json", "monthly",
    "normalize_scores", "order_details", "parse_flags", "reconcile", "source_of",
    # subscriptions and usage (issue 13)
    "AMOUNT_COLUMN", "MONTHS_PER_PERIOD", "check_billing_period", "clean_subscriptions", "clean_usage", "coverage_shares",
    "fallback_period", "header_period", "month_dates", "response_unit", "unknown_words",
]
