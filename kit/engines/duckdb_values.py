"""The cleaning SQL, values: the raw text view turned into typed values (DuckDB or Spark,
:mod:`kit.engines.sql_backend`).

Values are parsed by kit.io's own parsers, exactly as :func:`kit.io.read_table`'s callers parse them, but
only once per *distinct* raw value that is not plain: a plain ASCII id, an ISO date or a
plain decimal number is converted in SQL, with the result the parsers give for it
(exports repeat their odd values a lot). Each number and date column is read in the reading
:func:`kit.io.decide_readings` gave it when the file was opened (``Source.readings``): a
decimal-comma column converts only plain integers in SQL, everything else through
:func:`kit.io.parse_amounts` with its :class:`kit.io.NumberStyle`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.core.dialect import DUCKDB, Dialect
from kit.engines.duckdb_source import Source
from kit.engines.sql_backend import backend_of
from kit.io import MISSING_TOKENS, DateOrder, NumberStyle, normalize_ids, normalize_text, parse_amounts, parse_dates

#: Plain values converted in SQL (the rest goes through kit.io's parsers).
_PLAIN_ID = r"[0-9A-Za-z_\-]+"
_PLAIN_DATE = r"\d{4}-\d{2}-\d{2}"
_PLAIN_NUMBER = r"-?\d{1,15}(\.\d{1,6})?"
#: Plain numbers of a decimal-comma column (a dot there is a thousands separator).
_PLAIN_INTEGER = r"-?\d{1,15}"


def _missing_tokens_sql(d: Dialect) -> str:
    return ", ".join(d.lit(t) for t in sorted(MISSING_TOKENS))


def _distinct(db, view: str, col: str, plain_sql: str | None) -> pd.Series:
    """The distinct raw values of ``col`` that are not plain (all of them when ``plain_sql`` is None)."""
    where = f" WHERE NOT ({plain_sql})" if plain_sql else ""
    vals = db.arrow(f"SELECT DISTINCT {db.dialect.ident(col)} AS raw FROM {view}{where}").column("raw")
    return pd.Series(vals.to_pylist(), dtype="str")


def _obj(s: pd.Series) -> np.ndarray:
    """Text values for DuckDB: Python strings, None where missing."""
    return s.astype(object).where(s.notna(), None).to_numpy()


def _plain_id(c: str, d: Dialect = DUCKDB) -> str:
    return f"({d.full_match(c, _PLAIN_ID)} AND lower({c}) NOT IN ({_missing_tokens_sql(d)}))"


def _plain_date(c: str, d: Dialect = DUCKDB) -> str:
    return (f"({d.full_match(c, _PLAIN_DATE)} AND "
            f"coalesce(year({d.try_date(c)}) BETWEEN 1900 AND 2199, false))")


def _plain_number(c: str, style: NumberStyle = NumberStyle(), d: Dialect = DUCKDB) -> str:
    return d.full_match(c, _PLAIN_NUMBER if style.decimal == '.' else _PLAIN_INTEGER)


class Parsed:
    """Builds the SELECT that turns the raw text view into typed values (LEFT JOINs to maps
    of the non-plain distinct values, parsed by kit.io). ``con``: a DuckDB connection or a
    backend (:mod:`kit.engines.sql_backend`)."""

    def __init__(self, con, src: Source):
        self.db, self.src = backend_of(con), src
        self.d = self.db.dialect
        self.joins: list[str] = []
        self.cols: list[str] = [f"r.{self.d.ident('source_row')}"]

    def raw(self, canon: str) -> str:
        return f"r.{self.d.ident(self.src.mapping[canon])}"

    def _map(self, canon: str, plain, frame_of) -> str:
        header = self.src.mapping[canon]
        u = _distinct(self.db, self.src.view, header, plain(self.d.ident(header)) if plain else None)
        name = f"map_{canon}"
        frame = frame_of(u)
        frame.insert(0, "raw", u)
        self.db.register(name, frame)
        self.joins.append(f"LEFT JOIN {name} ON {name}.raw = {self.raw(canon)}")
        return name

    def ids(self, canon: str, out: str) -> None:
        d = self.d
        m = self._map(canon, lambda col: _plain_id(col, d), lambda u: pd.DataFrame({"value": _obj(normalize_ids(u))}))
        c = self.raw(canon)
        self.cols.append(f"CASE WHEN {_plain_id(c, d)} THEN {c} ELSE {m}.value END AS {out}")

    def dates(self, canon: str, out: str) -> None:
        order = self.src.readings.get(canon)
        order = order if isinstance(order, DateOrder) else DateOrder()

        def frame_of(u):
            v, ok = parse_dates(u, order)
            return pd.DataFrame({"value": v.astype("datetime64[us]"), "ok": ok.astype(bool)})

        d = self.d
        m = self._map(canon, lambda col: _plain_date(col, d), frame_of)
        c = self.raw(canon)
        self.cols += [f"CASE WHEN {_plain_date(c, d)} THEN CAST({d.try_date(c)} AS {d.timestamp}) "
                      f"ELSE {m}.value END AS {out}",
                      f"CASE WHEN {_plain_date(c, d)} THEN true ELSE coalesce({m}.ok, false) END AS {out}_ok"]

    def numbers(self, canon: str, out: str, *, ratio: bool = False) -> None:
        style = self.src.readings.get(canon)
        style = style if isinstance(style, NumberStyle) else NumberStyle()

        def frame_of(u):
            t = normalize_text(u)
            if ratio:  # kit.io.parse_ratio, per value; its column rule is applied in SQL
                pct = t.str.endswith("%").fillna(False).astype(bool)
                v, ok = parse_amounts(t.str.rstrip("%"), style)
                v = v.where(~pct, v / 100)
            else:
                pct = pd.Series(False, index=u.index)
                v, ok = parse_amounts(u, style)
            return pd.DataFrame({"value": v.astype("float64"), "ok": ok.astype(bool), "pct": pct.to_numpy(),
                                 "present": t.notna().to_numpy()})

        m = self._map(canon, lambda col: _plain_number(col, style, self.d), frame_of)
        c = self.raw(canon)
        p = _plain_number(c, style, self.d)
        self.cols += [f"CASE WHEN {p} THEN CAST({c} AS DOUBLE) ELSE {m}.value END AS {out}",
                      f"CASE WHEN {p} THEN true ELSE coalesce({m}.ok, false) END AS {out}_ok",
                      f"CASE WHEN {p} THEN false ELSE coalesce({m}.pct, false) END AS {out}_pct",
                      f"CASE WHEN {p} THEN true ELSE coalesce({m}.present, false) END AS {out}_present"]

    def text(self, canon: str, out: str, extra=None) -> None:
        def frame_of(u):
            t = normalize_text(u)
            frame = pd.DataFrame({"value": _obj(t)})
            for name, fn in (extra or {}).items():
                frame[name] = fn(t).to_numpy()
            return frame

        m = self._map(canon, None, frame_of)
        self.cols.append(f"{m}.value AS {out}")
        for name in extra or {}:
            self.cols.append(f"coalesce({m}.{name}, false) AS {out}_{name}")

    def keep_raw(self, canon: str, out: str) -> None:
        self.cols.append(f"{self.raw(canon)} AS {out}")

    def sql(self) -> str:
        return f"SELECT {', '.join(self.cols)} FROM {self.src.view} AS r " + " ".join(self.joins)

