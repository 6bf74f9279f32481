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
    """What differs between the SQL engines: identifier quotes and the day count."""

    name: str
    quote: str
    days: Callable[[str, str], str]

    def ident(self, name: str) -> str:
        """``name`` quoted as an identifier (the quote character doubled inside)."""
        return self.quote + name.replace(self.quote, self.quote * 2) + self.quote

    def days_between(self, start: str, end: str) -> str:
        """Whole days from the date ``start`` to the date ``end`` (SQL expressions)."""
        return self.days(start, end)


DUCKDB = Dialect("duckdb", '"', _duckdb_days)
SPARK = Dialect("spark", "`", _spark_days)


def sql_str(text: str) -> str:
    """``text`` for a single-quoted SQL string literal."""
    return text.replace("'", "''")
