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
counted once: ``duplicate`` (an exact copy of an earlier row; the first copy stays and is
judged on its own), ``missing_customer_id``, ``test_account``, ``bad_date``, ``bad_amount``,
``cancelled``, ``future_date``, ``zero_amount``; then refunds (``refunds`` in the config):

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
``bad_amount``). Each row's source amount lands in one bucket, so per table::

    source_rows   = clean_rows + quarantined_rows + merged_rows
    source_amount = clean_amount + quarantined_amount + merged_amount
    clean_net_amount = clean_amount + merged_amount

where ``clean_amount`` is the source amount of the rows that ended clean (before netting),
``merged_amount`` the refunds netted into them (negative), and ``clean_net_amount`` the sum
of the clean table's ``amount``. :func:`reconcile` checks these on the output frames
(and that no source row is missing or appears twice) and raises
:class:`ReconciliationError` when they do not hold.

The customer master follows the same rules (``duplicate``, ``missing_customer_id``,
``test_account`` on id or name) and then keeps the latest row per customer id (by
``updated_at``, else the later row): the others are quarantined as ``duplicate_id``.
Interactions: ``duplicate``, ``missing_customer_id``, ``test_account``, ``bad_date``,
``future_date``; scores on a 0-10 scale are put on 0-100.

Modules: :mod:`~kit.stages.clean.common` (reasons, results, triage, the quarantine frame),
:mod:`~kit.stages.clean.transactions`, :mod:`~kit.stages.clean.master`,
:mod:`~kit.stages.clean.interactions`, :mod:`~kit.stages.clean.books` (reconciliation,
coverage) and :mod:`~kit.stages.clean.pipeline` (:func:`clean_all`). The stage writes no
words and reads with pandas; an engine injects its transactions cleaner into
:func:`clean_all` (``kit.engines.clean_all``).
"""
from kit.stages.clean.books import coverage, reconcile
from kit.stages.clean.common import (
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
)
from kit.stages.clean.interactions import INTERACTION_TYPES, clean_interactions, normalize_scores
from kit.stages.clean.master import (
    FLAG_FALSE,
    FLAG_TRUE,
    GROWTH_STAGES,
    clean_master,
    parse_flags,
)
from kit.stages.clean.pipeline import CleanTx, clean_all, clean_notes, pandas_clean_tx, source_of
from kit.stages.clean.transactions import (
    CANONICAL_OPTIONAL_TX,
    TEXT_COLUMNS_TX,
    clean_transactions,
    flag_outliers,
    monthly,
    net_refunds,
    order_details,
)

__all__ = [
    "CANONICAL_OPTIONAL_TX", "FLAG_FALSE", "FLAG_TRUE", "GROWTH_STAGES", "INTERACTION_TYPES", "MAX_LISTED",
    "MERGED_COLUMNS", "MERGED_REASON", "QUARANTINE_COLUMNS", "REASONS", "TABLES", "TEXT_COLUMNS_TX",
    "CleanResult", "CleanTx", "ReconciliationError", "TableResult", "clean_all", "clean_interactions",
    "clean_master", "clean_notes", "clean_transactions", "coverage", "detail_json", "flag_outliers", "monthly",
    "net_refunds", "normalize_scores", "order_details", "pandas_clean_tx", "parse_flags", "reconcile", "source_of",
]
