"""Clean subscriptions (contracts): one row per contract, typed, its recurring amount per
month as well.

The clean table (``docs/ARCHITECTURE.md``): ``customer_id``, ``subscription_id`` (the file's,
or ``<customer_id>#<n>`` numbered by start date when it has none), ``plan``, ``start_date``,
``end_date`` (NaT: open ended), ``recurring_amount`` (per billing period), ``billing_period``
(``month`` / ``year``), ``monthly_amount`` (a yearly amount / 12), ``status`` (``active``,
``cancelled``, ``expired`` through ``cleaning.subscription_statuses``; ``unknown`` for a
value the mapping lacks or a missing one), ``renewed_from``, ``source_row``.

Rules, first wins: ``duplicate`` (an exact copy of an earlier row), ``missing_customer_id``,
``test_account``, ``bad_date`` (start date missing or unreadable, or an end date given but
unreadable), ``end_before_start``, ``bad_amount`` (a recurring amount missing or unreadable,
when the file has the column), ``implausible_amount`` (above ``cleaning.max_amount``),
``negative_amount``, ``unknown_billing_period`` (a billing period ``cleaning.billing_periods``
does not know, or none where the amount's header and ``cleaning.default_billing_period`` say
none either), ``duplicate`` (the same contract written differently: equal once parsed,
detail ``duplicate_subscription``), ``duplicate_subscription_id`` (one id on rows that
differ: every such row, nothing guessed).

The billing period of a row is its billing-period cell; without one, the period the recurring
amount's header names (``月费``, ``MRR``: month; ``年费``, ``ARR``: year, words of
``cleaning.billing_periods``), else ``cleaning.default_billing_period``. A file with amounts
whose period nothing names stops (:func:`check_billing_period`) instead of a guess.

The books hold the recurring amounts: each row's amount as read (unreadable and implausible
amounts count 0) is in the clean table or in quarantine, to the cent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from kit.core.config import SUBSCRIPTION_STATUSES, Cleaning
from kit.io.read import InputError, RawTable, normalize_ids, normalize_text, parse_amounts, parse_dates
from kit.stages.cascade import test_account_ids
from kit.stages.clean.books import finish_table
from kit.stages.clean.common import (
    BRACKETS_RE,
    TableResult,
    _mark_duplicates,
    _reindexed,
    _Triage,
    _values,
    content_key,
    map_words,
    month_dates,
    repeated_rows,
    word_key,
    word_lookup,
)

#: Billing periods and the months each covers (``monthly_amount = recurring_amount / months``).
MONTHS_PER_PERIOD = {"month": 1, "year": 12}
#: The status of a contract whose status the mapping lacks, or that has none.
UNKNOWN_STATUS = "unknown"
#: Other rows listed in the detail of an id conflict.
MAX_OTHER_ROWS = 10

def header_period(header: str | None, cleaning: Cleaning) -> str | None:
    """The billing period a recurring amount's header names (``月费``, ``MRR``: month;
    ``年费(元)``, ``ARR``: year), by the words of ``cleaning.billing_periods``; None when it names none."""
    if not header:
        return None
    lookup = word_lookup(cleaning.billing_periods)
    for key in (word_key(header), word_key(BRACKETS_RE.sub("", str(header)))):
        if key in lookup:
            return lookup[key]
    return None


def fallback_period(raw: RawTable, cleaning: Cleaning) -> tuple[str | None, str]:
    """``(period, how)`` of a row without a billing-period cell: ``header`` (the amount's
    header names one), ``config`` (``cleaning.default_billing_period``) or ``(None, "none")``."""
    named = header_period(raw.mapping.get("recurring_amount"), cleaning)
    if named is not None:
        return named, "header"
    if cleaning.default_billing_period is not None:
        return cleaning.default_billing_period, "config"
    return None, "none"


def check_billing_period(raw: RawTable, cleaning: Cleaning) -> None:
    """Stop when the file has recurring amounts but neither a billing-period column, nor a
    header that names the period, nor ``cleaning.default_billing_period``: a monthly and a
    yearly reading differ twelvefold, so nothing is guessed. Raises :class:`InputError`."""
    if "recurring_amount" not in raw.mapping or "billing_period" in raw.mapping:
        return
    if fallback_period(raw, cleaning)[0] is None:
        header = raw.mapping["recurring_amount"]
        example = ", ".join(f"'{v}'" for v in normalize_text(raw.column("recurring_amount")).dropna().head(3))
        raise InputError(
            f"{raw.display_path}: column '{header}' (recurring_amount) holds amounts per month or per year "
            f"(e.g. {example or 'none'}), and neither a billing period column nor the header says which; "
            f"set cleaning.default_billing_period: month or year, or map inputs.{raw.table}.columns.billing_period"
        )


def unknown_words(raw: RawTable, cleaning: Cleaning) -> dict[str, dict[str, Any]]:
    """Status and billing-period values the config does not map: per column its config key,
    the values (most frequent first) and the rows holding them (``kit check`` shows them)."""
    checks = (("status", "cleaning.subscription_statuses", word_lookup(cleaning.subscription_statuses,
                                                                        SUBSCRIPTION_STATUSES)),
              ("billing_period", "cleaning.billing_periods", word_lookup(cleaning.billing_periods, MONTHS_PER_PERIOD)))
    out: dict[str, dict[str, Any]] = {}
    for col, key, lookup in checks:
        if col not in raw.mapping:
            continue
        text = normalize_text(raw.column(col))
        unknown = text.notna() & map_words(text, lookup).isna()
        if unknown.any():
            counts = text[unknown].value_counts()
            out[col] = {"key": key, "header": raw.mapping[col], "rows": int(unknown.sum()),
                        "values": [str(v) for v in counts.index[:10]]}
    return out


@dataclass
class _Contracts:
    """The parsed values of a subscriptions file, aligned with its rows (index 0..n-1)."""

    raw: RawTable
    rows: np.ndarray
    cid: pd.Series
    sid: pd.Series
    start: pd.Series
    start_ok: pd.Series
    end: pd.Series
    end_bad: pd.Series  # an end date given that does not parse
    amount: pd.Series  # as read (NaN: none or unreadable); implausible ones NaN too
    amount_ok: pd.Series
    implausible: pd.Series
    period: pd.Series  # month / year, or NA
    period_raw: pd.Series
    status: pd.Series
    status_raw: pd.Series
    plan: pd.Series
    renewed_from: pd.Series

    def column(self, name: str) -> pd.Series:
        return self.raw.column(name) if name in self.raw.mapping else pd.Series("", index=self.cid.index, dtype="str")


def _na(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="str")


def _periods(raw: RawTable, cleaning: Cleaning, index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Each row's billing period (NA where none is known) and its raw cell."""
    fallback, _ = fallback_period(raw, cleaning)
    if "billing_period" not in raw.mapping:
        return pd.Series(fallback, index=index, dtype="object"), _na(index)
    text = normalize_text(raw.column("billing_period"))
    mapped = map_words(text, word_lookup(cleaning.billing_periods, MONTHS_PER_PERIOD))
    return mapped.where(text.notna(), fallback), text


def _parse(raw: RawTable, cleaning: Cleaning) -> _Contracts:
    raw, f, rows = _reindexed(raw)
    idx = f.index
    cid = normalize_ids(raw.column("customer_id"))
    sid = normalize_ids(raw.column("subscription_id")) if "subscription_id" in raw.mapping else _na(idx)
    start, start_ok = parse_dates(month_dates(raw.column("start_date")))
    if "end_date" in raw.mapping:
        end_src = month_dates(raw.column("end_date"), end=True)
        end, end_ok = parse_dates(end_src)
        end_bad = end_src.notna() & ~end_ok
    else:
        end, end_bad = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]"), pd.Series(False, index=idx)
    if "recurring_amount" in raw.mapping:
        amount, amount_ok = parse_amounts(raw.column("recurring_amount"))
    else:
        amount, amount_ok = pd.Series(np.nan, index=idx, dtype="float64"), pd.Series(True, index=idx)
    implausible = amount_ok & (amount.abs() > cleaning.max_amount).fillna(False)
    period, period_raw = _periods(raw, cleaning, idx)
    status_raw = normalize_text(raw.column("status")) if "status" in raw.mapping else _na(idx)
    status = map_words(status_raw, word_lookup(cleaning.subscription_statuses, SUBSCRIPTION_STATUSES))
    plan = normalize_text(raw.column("plan")) if "plan" in raw.mapping else _na(idx)
    renewed = normalize_ids(raw.column("renewed_from")) if "renewed_from" in raw.mapping else _na(idx)
    return _Contracts(raw, rows, cid, sid, start, start_ok.astype(bool), end, end_bad.astype(bool),
                      amount.where(~implausible), amount_ok.astype(bool), implausible.astype(bool),
                      period, period_raw, status.fillna(UNKNOWN_STATUS), status_raw, plan, renewed)


def _content_key(c: _Contracts) -> pd.Series:
    """A row's whole parsed content as one string: equal keys are the same contract."""
    cents = pd.Series(np.rint(c.amount.to_numpy("float64") * 100), index=c.cid.index)
    return content_key([c.sid, c.cid, c.plan, c.start.dt.strftime("%Y-%m-%d"), c.end.dt.strftime("%Y-%m-%d"),
                        cents, c.period, c.status, c.renewed_from])


def _triage(c: _Contracts, cleaning: Cleaning, test_customer_ids: Iterable[str]) -> _Triage:
    tri = _Triage(len(c.cid))
    if cleaning.duplicates == "quarantine":
        _mark_duplicates(tri, c.raw)
    tri.mark("missing_customer_id", c.cid.isna())
    test = c.cid.isin(test_account_ids(c.cid.dropna().unique(), cleaning.test_account_pattern, test_customer_ids))
    tri.mark("test_account", test, lambda m: [{"customer_id": v} for v in _values(c.cid, m)])
    for col, bad in (("start_date", ~c.start_ok), ("end_date", c.end_bad)):
        raw_col = c.column(col)
        tri.mark("bad_date", bad, lambda m, s=raw_col, k=col: [{"column": k, "value": v} for v in _values(s, m)])
    tri.mark("end_before_start", (c.end < c.start).fillna(False), lambda m: [
        {"start": f"{s:%Y-%m-%d}", "end": f"{e:%Y-%m-%d}"} for s, e in zip(c.start[m], c.end[m])])
    if "recurring_amount" in c.raw.mapping:
        amount_raw = c.column("recurring_amount")
        tri.mark("bad_amount", ~c.amount_ok, lambda m: [
            {"column": "recurring_amount", "value": v} for v in _values(amount_raw, m)])
        tri.mark("implausible_amount", c.implausible, lambda m: [
            {"column": "recurring_amount", "value": v, "max": cleaning.max_amount} for v in _values(amount_raw, m)])
        tri.mark("negative_amount", (c.amount < 0).fillna(False), lambda m: [
            {"column": "recurring_amount", "value": v} for v in _values(amount_raw, m)])
        tri.mark("unknown_billing_period", c.period.isna(), lambda m: [
            {"column": "billing_period", "value": v} for v in _values(c.period_raw, m)])
    key = _content_key(c)
    if cleaning.duplicates == "quarantine":
        copy, first, _, _ = repeated_rows(key, c.sid, tri.open(), c.rows)
        tri.mark("duplicate", copy, lambda m: [{"row": int(r)} for r in first[m]], detail_code="duplicate_subscription")
    _, _, conflict, others = repeated_rows(key, c.sid, tri.open(), c.rows)
    tri.mark("duplicate_subscription_id", conflict, lambda m: [
        {"subscription_id": c.sid.iloc[i], "n_rows": len(others[i]) + 1, "rows": others[i][:MAX_OTHER_ROWS]}
        for i in np.flatnonzero(m)])
    return tri


def _subscription_ids(c: _Contracts, keep: np.ndarray) -> pd.Series:
    """The file's ids; where the file has none (no column, or an empty cell)
    ``<customer_id>#<n>``, n numbering a customer's kept contracts by start date (then row)."""
    kept = pd.DataFrame({"cid": c.cid[keep], "start": c.start[keep], "row": c.rows[keep]})
    n = kept.sort_values(["start", "row"], kind="stable").groupby("cid").cumcount() + 1
    made = (kept["cid"].astype("str") + "#" + n.reindex(kept.index).astype("str")).astype("str")
    return c.sid[keep].where(c.sid[keep].notna(), made).astype("str")


def _stats(c: _Contracts, keep: np.ndarray, cleaning: Cleaning) -> dict[str, Any]:
    period, how = fallback_period(c.raw, cleaning)
    unknown = keep & (c.status == UNKNOWN_STATUS).to_numpy() & c.status_raw.notna().to_numpy()
    ids = set(c.sid[keep].dropna()) if "subscription_id" in c.raw.mapping else set()
    renewed = c.renewed_from[keep].dropna()
    return {
        "invalid_values": {},
        "subscription_id_synthesized": "subscription_id" not in c.raw.mapping,
        "subscription_ids_missing": int((keep & c.sid.isna().to_numpy()).sum()) if "subscription_id" in c.raw.mapping
        else 0,
        "billing_period": {"column": "billing_period" in c.raw.mapping, "fallback": period, "how": how,
                           "header": c.raw.mapping.get("recurring_amount")},
        "unknown_statuses": {str(k): int(v) for k, v in c.status_raw[unknown].value_counts().items()},
        "statuses": {str(k): int(v) for k, v in c.status[keep].value_counts().items()},
        "renewed_from_unknown": int((~renewed.isin(ids)).sum()) if ids else int(len(renewed)),
    }


def clean_subscriptions(raw: RawTable, cleaning: Cleaning, *, test_customer_ids: Iterable[str] = ()) -> TableResult:
    """Clean a subscriptions file (see the module). ``test_customer_ids``: the master's test
    accounts. Raises :class:`InputError` when amounts have no known billing period
    (:func:`check_billing_period`)."""
    check_billing_period(raw, cleaning)
    c = _parse(raw, cleaning)
    tri = _triage(c, cleaning, test_customer_ids)
    keep = tri.open()
    period = c.period[keep].astype("object")
    amount = c.amount[keep].astype("float64")
    months = period.map(MONTHS_PER_PERIOD).astype("float64")
    out: dict[str, pd.Series] = {
        "customer_id": c.cid[keep].astype("str"),
        "subscription_id": _subscription_ids(c, keep),
        "plan": c.plan[keep],
        "start_date": c.start[keep].astype("datetime64[ns]"),
        "end_date": c.end[keep].astype("datetime64[ns]"),
        "recurring_amount": amount,
        "billing_period": period.astype("str").where(period.notna()),
        "monthly_amount": amount / months,
        "status": c.status[keep].astype("str"),
        "renewed_from": c.renewed_from[keep],
    }
    source_amount = c.amount if "recurring_amount" in raw.mapping else None
    return finish_table(c.raw, tri, keep, c.cid, out, c.rows, _stats(c, keep, cleaning),
                        amounts=source_amount, amount_column="recurring_amount")
