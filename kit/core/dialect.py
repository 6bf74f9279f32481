"""SQL dialects of the engines: the few things DuckDB and Spark SQL write differently.

The kit's SQL (the customer summary of :mod:`kit.stages.summary_sql`, the cleaning cascade of
:mod:`kit.engines.duckdb_clean`) is written in the SQL both engines accept; what differs is
named here and tested (``tests/test_engines_sql.py``). It sits in ``core`` because both the
stages (which run the summary's SQL in process) and the engines write SQL with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


def _duckdb_days(start: str, end: str) -> str:
    return f"date_diff('day', {start}, {end})"


def _spark_days(start: str, end: str) -> str:
    return f"datediff({end}, {start})"


@dataclass(frozen=True)
class Dialect:
    """What differs between the SQL engines, named once: the kit's SQL writes these through
    the dialect and everything else in the SQL both engines accept.

    ``quote``: identifier quote; ``text`` / ``timestamp`` / ``int128`` / ``timestamp_ns``: type
    names (a zone-less timestamp in both; Spark has
    no 128-bit integer: DECIMAL(38,0) holds the same whole numbers; its nanosecond-free
    TIMESTAMP_NTZ is written to Parquet as a zone-less timestamp, as DuckDB's TIMESTAMP_NS);
    ``semi_join`` / ``anti_join``: join keywords; ``materialized``: the CTE hint DuckDB takes
    (Spark has none); ``backslash_escapes``: string literals take backslash escapes (Spark
    SQL's default), so a backslash and a quote are escaped with one.
    """

    name: str
    quote: str
    days: Callable[[str, str], str]
    text: str = "VARCHAR"
    timestamp: str = "TIMESTAMP"
    int128: str = "HUGEINT"
    timestamp_ns: str = "TIMESTAMP_NS"
    semi_join: str = "SEMI JOIN"
    anti_join: str = "ANTI JOIN"
    materialized: str = "MATERIALIZED "
    backslash_escapes: bool = False

    def ident(self, name: str) -> str:
        """``name`` quoted as an identifier (the quote character doubled inside)."""
        return self.quote + name.replace(self.quote, self.quote * 2) + self.quote

    def days_between(self, start: str, end: str) -> str:
        """Whole days from the date ``start`` to the date ``end`` (SQL expressions)."""
        return self.days(start, end)

    def lit(self, text: str) -> str:
        """``text`` as a single-quoted string literal, read back as exactly ``text``."""
        if self.backslash_escapes:
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def full_match(self, expr: str, pattern: str) -> str:
        """``expr`` matches the regular expression ``pattern`` as a whole (NULL stays NULL)."""
        if self.name == "spark":
            return f"({expr} RLIKE {self.lit('^(?:' + pattern + ')$')})"
        return f"regexp_full_match({expr}, {self.lit(pattern)})"

    def try_date(self, expr: str) -> str:
        """``expr`` (text) as a DATE, NULL where it is not one."""
        return f"TRY_CAST({expr} AS DATE)" if self.name != "spark" else f"try_to_date({expr}, 'yyyy-MM-dd')"

    def hash64(self, exprs: str) -> str:
        """A 64-bit hash of the comma-separated SQL expressions ``exprs`` (equal values, equal hash)."""
        return f"xxhash64({exprs})" if self.name == "spark" else f"hash({exprs})"

    def int_div(self, a: str, b: str) -> str:
        """Integer division of whole numbers, truncated toward zero."""
        return f"({a} div {b})" if self.name == "spark" else f"({a} // {b})"

    def round_even(self, expr: str) -> str:
        """``expr`` rounded to a whole number, halves to even."""
        return f"bround({expr}, 0)" if self.name == "spark" else f"round_even({expr}, 0)"

    def array_of(self, sql_type: str) -> str:
        """The type of a list of ``sql_type`` values."""
        return f"ARRAY<{sql_type}>" if self.name == "spark" else f"{sql_type}[]"

    def sorted_list(self, expr: str, where: str | None = None) -> str:
        """Aggregate: the values of ``expr`` (never NULL) in ascending order, over the rows where
        ``where`` holds (every row when None); NULL when there is none."""
        if self.name == "spark":
            if where is None:
                return f"sort_array(collect_list({expr}))"
            return (f"CASE WHEN count_if({where}) = 0 THEN NULL "
                    f"ELSE sort_array(collect_list(CASE WHEN {where} THEN {expr} END)) END")
        out = f"list({expr} ORDER BY {expr})"
        return out if where is None else f"{out} FILTER (WHERE {where})"


DUCKDB = Dialect("duckdb", '"', _duckdb_days)
SPARK = Dialect("spark", "`", _spark_days, text="STRING", timestamp="TIMESTAMP_NTZ", int128="DECIMAL(38,0)", timestamp_ns="TIMESTAMP_NTZ",
                semi_join="LEFT SEMI JOIN", anti_join="LEFT ANTI JOIN", materialized="", backslash_escapes=True)


def sql_str(text: str) -> str:
    """``text`` for a single-quoted SQL string literal (DuckDB's: the quote doubled)."""
    return text.replace("'", "''")
