"""Inputs and cleaning (DOMAIN.md section 1): the files, how to read them, how their headers
map to the canonical columns, and the cleaning rules.

:data:`INPUT_TABLES` names the input tables, in the order the kit reads and reports them:
``transactions`` (required), then the optional ``customers`` (the master), ``interactions``,
``subscriptions`` (contracts) and ``usage`` (product usage per customer and date). Every
loop over the inputs (loading, ``kit check``, the run's input files) goes over this one tuple.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kit.core.config.base import Defaulted, Strict, default

_COLUMNS = default("columns")

#: Canonical column names per table. ``required`` must be present after mapping.
CANONICAL_COLUMNS: dict[str, dict[str, list[str]]] = {
    table: {"required": spec["required"], "optional": spec["optional"]} for table, spec in _COLUMNS.items()
}

#: Common source headers per canonical column, in order of preference (first wins).
SYNONYMS: dict[str, dict[str, list[str]]] = {table: spec["synonyms"] for table, spec in _COLUMNS.items()}

#: The input tables, in the order the kit reads and reports them (``inputs.<table>``).
INPUT_TABLES: tuple[str, ...] = ("transactions", "customers", "interactions", "subscriptions", "usage")

#: What a contract's status becomes (``cleaning.subscription_statuses`` maps source values to these).
SUBSCRIPTION_STATUSES = ("active", "cancelled", "expired")


class InputTable(Defaulted):
    """One input file: where it is, how to read it, and how its headers map."""

    defaults_at = "entries.input_table"

    path: str = Field(description="file path, relative to the project root or absolute")
    format: Literal["auto", "csv", "excel", "parquet"]
    encoding: str = Field(description="'auto' detects UTF-8 / UTF-8-BOM / GBK / GB18030 / UTF-16 with a "
                          "byte-order mark; 'utf-16' also reads UTF-16 without one")
    sheet: str | int = Field(description="Excel sheet name or 0-based index")
    header_row: int | None = Field(ge=0, description="0-based row of the header; None finds it below title rows")
    delimiter: str | None = Field(
        description="CSV delimiter (one character, or 'whitespace' for space-aligned text); None sniffs it"
    )

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str | None) -> str | None:
        if v is not None and v != "whitespace" and len(v) != 1:
            raise ValueError("a delimiter is one character (',', ';', '\\t', '|') or 'whitespace'")
        return v
    columns: dict[str, str] = Field(
        description="canonical name -> source header; unmapped names are matched by synonyms",
    )
    decimal: Literal["auto", ".", ","] = Field(
        description="decimal mark of the file's numbers; auto decides per column from its values "
        "(903,71 or 67.888,84: comma; 12,345.60: point) and stops when a column reads two ways",
    )
    thousands: Literal["auto", ",", ".", " ", "'", "none"] = Field(
        description="thousands separator of the file's numbers; auto: the mark that is not the decimal one",
    )
    dayfirst: Literal["auto"] | bool = Field(
        description="true: 09.10.2023 is 9 October; false: September 10; auto decides per column "
        "from dates such as 13.10.2023 and stops when a column reads two ways",
    )

    @model_validator(mode="after")
    def _marks_differ(self) -> "InputTable":
        if self.decimal != "auto" and self.decimal == self.thousands:
            raise ValueError(f"decimal and thousands are both {self.decimal!r}; they must differ")
        return self


class Inputs(Strict):
    transactions: InputTable
    customers: InputTable | None = None
    interactions: InputTable | None = None
    subscriptions: InputTable | None = Field(
        None, description="contracts / subscriptions: customer, contract id, start, end, recurring amount per "
        "month or year, status, renewed-from (optional)")
    usage: InputTable | None = Field(
        None, description="product usage per customer and date: active users, logins, feature coverage 0-1, "
        "tickets, first-response hours (optional)")


class OutlierRule(Defaulted):
    """Outliers are flagged (``is_outlier``) and kept, never dropped."""

    defaults_at = "cleaning.outliers"

    method: Literal["none", "iqr", "zscore", "quantile"]
    iqr_factor: float = Field(gt=0, description="flag amount > Q3 + k * IQR (on log amount)")
    zscore: float = Field(gt=0)
    quantile: float = Field(gt=0.5, lt=1.0)


class Cleaning(Defaulted):
    defaults_at = "cleaning"

    duplicates: Literal["quarantine", "keep"]
    missing_customer_id: Literal["quarantine"]
    future_dates: Literal["quarantine", "keep"]
    zero_amount: Literal["quarantine", "keep"]
    refunds: Literal["net", "keep", "drop"] = Field(
        description="net: subtract from the matching order; keep: keep as return rows "
        "(is_return, never counted as purchases); drop: quarantine them",
    )
    cancelled_statuses: list[str]
    refund_statuses: list[str]
    test_account_pattern: str = Field(description="regex on customer id or name")
    outliers: OutlierRule
    interaction_score_scale: Literal["auto", "0-10", "0-100"] = Field(
        description="auto: a source whose scores are all <= 10 is 0-10 and is x10"
    )
    interaction_types: dict[str, str] = Field(
        description="source interaction type -> canonical type (inquiry, complaint, survey, "
        "login, visit, referral, call); English canonical names pass through",
    )
    master_duplicates: Literal["keep_latest"]
    growth_stages: dict[str, str] = Field(
        description="master growth-stage value -> startup / growth / mature; unknown values are kept and listed",
    )
    latest_date_min_share: float = Field(
        gt=0, le=1, description="without as_of: the data ends at the last month with at least this "
        "share of the median monthly order count (sparse future-dated rows do not move it)",
    )
    amount_tolerance: float = Field(
        ge=0, description="an order whose net after its refunds is at or below this (currency units) is "
        "refunded in full; the books themselves are exact (cents), with no tolerance",
    )
    max_amount: float = Field(
        gt=0, le=1e13, description="plausible maximum of one order line's amount, in the config's currency: "
        "a larger amount (either sign) is quarantined as implausible_amount and counts 0 in the books",
    )
    order_conflicts: Literal["quarantine", "keep_first", "keep_latest"] = Field(
        description="rows with the same order id and different content (customer, or an order line's date "
        "or amount): quarantine (every row of that order id, nothing guessed), keep_first (the first row "
        "in the file), keep_latest (the last row in the file); the others are quarantined as order_conflict",
    )
    order_line_columns: list[Literal["category", "channel"]] = Field(
        description="canonical columns that tell the lines of one order apart: rows with the same order id "
        "and different values here are lines of one order, not a conflict ([] : one line per order id)",
    )
    subscription_statuses: dict[str, Literal["active", "cancelled", "expired"]] = Field(
        description="source contract status -> active / cancelled / expired (compared ignoring case); "
        "English canonical names pass through; any other value is kept as 'unknown' and listed",
    )
    billing_periods: dict[str, Literal["month", "year"]] = Field(
        description="source billing-period word -> month / year (compared ignoring case and spaces); also read "
        "from the recurring amount's header (月费, MRR: month; 年费, ARR: year) when the file has no billing "
        "period column; a value not listed quarantines its row as unknown_billing_period",
    )
    default_billing_period: Literal["month", "year"] | None = Field(
        description="the billing period of a subscription row that neither a billing-period cell nor the "
        "amount's header names; None: such a file stops (or such a row is quarantined) instead of a guess",
    )
    feature_coverage_scale: Literal["auto", "0-1", "0-100"] = Field(
        description="usage feature coverage: 0-1 shares or 0-100 percent points (divided by 100); auto: "
        "cells with % are percent, and a column of plain numbers whose median is above 1 is percent points",
    )
    response_time_units: dict[str, Literal["hours", "minutes", "days"]] = Field(
        description="a unit in brackets in the first-response header (首次响应时长(分钟)) -> hours, minutes "
        "or days; the values are converted to hours (no unit: hours)",
    )

    @field_validator("test_account_pattern")
    @classmethod
    def _regex_compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from e
        return v
