"""Issue 12, "no double count, exact books": real client exports through ``kit.engines.clean_all``
with the pandas engine and with DuckDB.

* ``reexported.csv``: 5 orders exported twice in two styles and one order id with other
  content: 5 duplicates naming their first rows, the conflict rows quarantined as
  ``order_conflict``, unique clean order ids, exact books.
* ``reexported_lines.csv``: the same with orders of two lines (told apart by 产品类别).
* ``huge_amounts.csv``: ``1e20`` and ``1e308`` quarantined as ``implausible_amount``, books
  balanced, no 300-digit number in quality.json or on the page.

The files are made by the seeded ``tests/fixtures/exports/make_exports.py``.
"""
from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from kit.core.config import Cleaning, ConfigError, parse_config
from kit.engines import clean_all
from kit.engines.duckdb_books import check_unique_lines as check_lines_sql
from kit.present import clean as present
from kit.present.messages import render
from kit.present.table import table
from kit.stages.clean import ReconciliationError, reconcile
from kit.stages.clean.orders import to_cents

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
AS_OF = pd.Timestamp("2023-12-31")
ENGINES = ["pandas", "duckdb"]
LONG_NUMBER = re.compile(r"\d[\d,]{29,}")  # 30 digits or more: a number nobody can read


def config(name: str, engine: str, **cleaning):
    return parse_config({
        "client": "t", "language": "en", "as_of": f"{AS_OF:%Y-%m-%d}",
        "inputs": {"transactions": {"path": str(EXPORTS / name)}},
        "engine": {"name": engine}, "cleaning": cleaning,
    })


def run(name: str, engine: str, **cleaning):
    res = clean_all(config(name, engine, **cleaning), AS_OF)
    assert res.quality["engine"] == engine
    return res


def by_row(res) -> dict[int, tuple[str, str, dict]]:
    q = res.quarantine
    return {int(r): (reason, code, json.loads(p))
            for r, reason, code, p in zip(q["source_row"], q["reason"], q["detail_code"], q["detail_params"])}


def exact_total(name: str, rows: list[int]) -> Decimal:
    """The exact sum of the amounts of ``rows`` (line numbers) as the file writes them."""
    with open(EXPORTS / name, encoding="utf-8") as f:
        lines = list(csv.reader(f))
    return sum((Decimal(re.sub(r"[^\d.\-]", "", lines[r - 1][3])) for r in rows), Decimal(0))


def assert_exact_books(books: dict) -> None:
    """The books balance in whole cents, not within a tolerance."""
    assert books["balanced"]
    cents = {k: to_cents([books[k]])[0] for k in ("source_amount", "clean_amount", "quarantined_amount",
                                                 "merged_amount", "clean_net_amount")}
    assert cents["source_amount"] == cents["clean_amount"] + cents["quarantined_amount"] + cents["merged_amount"]
    assert cents["clean_net_amount"] == cents["clean_amount"] + cents["merged_amount"]
    assert books["source_rows"] == books["clean_rows"] + books["quarantined_rows"] + books["merged_rows"]


# --------------------------------------------------------------------------------------
# The same orders exported twice, one order id with other content
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_reexported_orders_count_once_and_the_conflict_is_quarantined(engine):
    res = run("reexported.csv", engine)
    rows = by_row(res)
    # rows 7..11 are rows 2..6 in the other export's style (SO0001 , 2023/01/19, "67,888.84")
    for r in range(7, 12):
        assert rows[r] == ("duplicate", "duplicate_normalized", {"row": r - 5}), r
    # SO0001 again with 913.71 instead of 903.71: both versions quarantined, each naming the other
    assert rows[2] == ("order_conflict", "order_conflict", {"order_id": "SO0001", "n_rows": 2, "rows": [12]})
    assert rows[12] == ("order_conflict", "order_conflict", {"order_id": "SO0001", "n_rows": 2, "rows": [2]})
    assert len(rows) == 7
    tx = res.transactions
    assert tx["order_id"].tolist() == ["SO0002", "SO0003", "SO0004", "SO0005"] and tx["order_id"].is_unique
    books = res.quality["reconciliation"]["transactions"]
    assert (books["source_rows"], books["clean_rows"], books["quarantined_rows"]) == (11, 4, 7)
    assert_exact_books(books)
    assert Decimal(str(books["source_amount"])) == exact_total("reexported.csv", list(range(2, 13)))
    assert Decimal(str(books["clean_net_amount"])) == exact_total("reexported.csv", [3, 4, 5, 6])
    by = res.quality["quarantine_by_reason"]["transactions"]
    assert {k: v["rows"] for k, v in by.items()} == {"duplicate": 5, "order_conflict": 2}
    assert res.quality["rules"]["order_conflicts"] == "quarantine"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rule, kept, out", [("keep_first", 2, 12), ("keep_latest", 12, 2)])
def test_order_conflict_keep_rules(engine, rule, kept, out):
    res = run("reexported.csv", engine, order_conflicts=rule)
    rows = by_row(res)
    assert rows[out] == ("order_conflict", "order_conflict_kept",
                         {"order_id": "SO0001", "n_rows": 2, "rows": [kept], "kept": [kept], "rule": rule})
    assert kept not in rows
    tx = res.transactions
    assert tx["order_id"].is_unique and tx.loc[tx["order_id"] == "SO0001", "source_row"].tolist() == [kept]
    assert_exact_books(res.quality["reconciliation"]["transactions"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_new_reasons_speak_the_report_language(lang):
    res = run("reexported.csv", "pandas")
    q = present.quarantine_file(res, lang).set_index("source_row")
    want = {
        "en": ("Duplicate row", "duplicate of row 2 (same order id, customer, date and amount, written differently)",
               "Conflicting rows of one order id", "order id SO0001: 2 rows with different content"),
        "zh": ("重复行", "与第 2 行为同一订单（订单编号、客户、日期、金额相同，仅格式不同）",
               "同一订单编号内容冲突", "订单 SO0001 共 2 行内容不同"),
    }[lang]
    assert q.loc[7, "reason_label"] == want[0] and q.loc[7, "detail"] == want[1]
    assert q.loc[2, "reason_label"] == want[2] and q.loc[2, "detail"].startswith(want[3])
    assert "12" in q.loc[2, "detail"] and "cleaning.order_conflicts" in q.loc[2, "detail"]
    notes = [render(n, lang) for n in res.notes]
    assert any("cleaning.order_conflicts" in n for n in notes)


@pytest.mark.parametrize("engine", ENGINES)
def test_orders_of_several_lines_reexported(engine):
    res = run("reexported_lines.csv", engine)
    rows = by_row(res)
    # lines 10..17 are lines 2..9 again (" SO0001", 2023年9月8日, "￥61,419.85")
    for r in range(10, 18):
        assert rows[r][:2] == ("duplicate", "duplicate_normalized") and rows[r][2] == {"row": r - 8}, r
    # SO0004's 服务 line re-exported with another amount: every row of SO0004 left is quarantined
    for r, others in ((8, [9, 18]), (9, [8, 18]), (18, [8, 9])):
        assert rows[r] == ("order_conflict", "order_conflict", {"order_id": "SO0004", "n_rows": 3, "rows": others})
    tx = res.transactions
    assert len(tx) == 8 and not tx.duplicated(["order_id", "category"]).any()
    # SO0005: two lines at the same amount and date are two lines (设备, 服务), not a duplicate
    assert tx.loc[tx["order_id"] == "SO0005", "category"].tolist() == ["设备", "服务"]
    assert_exact_books(res.quality["reconciliation"]["transactions"])
    first = run("reexported_lines.csv", engine, order_conflicts="keep_first").transactions
    assert first.loc[first["order_id"] == "SO0004", "source_row"].tolist() == [8, 9]
    latest = run("reexported_lines.csv", engine, order_conflicts="keep_latest").transactions
    assert latest.loc[latest["order_id"] == "SO0004", "source_row"].tolist() == [8, 18]


def test_order_line_columns_are_config():
    # without category as a line column one order id is one line: its two lines conflict
    res = run("reexported_lines.csv", "pandas", order_line_columns=[])
    rows = by_row(res)
    assert {r for r, v in rows.items() if v[0] == "order_conflict"} == {2, 3, 4, 5, 6, 7, 8, 9, 18}
    assert rows[20] == ("duplicate", "duplicate_normalized", {"row": 19})  # SO0005 at 500.00 twice: one line
    assert res.transactions["source_row"].tolist() == [19]
    with pytest.raises(ConfigError, match="order_line_columns"):
        config("reexported_lines.csv", "pandas", order_line_columns=["amount"])
    with pytest.raises(ConfigError, match="order_conflicts"):
        config("reexported_lines.csv", "pandas", order_conflicts="merge")


def check_unique_lines(table, clean, line_cols):
    """:func:`kit.engines.duckdb_books.check_unique_lines` over a small frame."""
    import duckdb

    con = duckdb.connect()
    con.register("c", clean)
    check_lines_sql(con, table, "SELECT * FROM c", line_cols)


def test_the_clean_table_is_checked_for_lines_counted_twice():
    clean = pd.DataFrame({"order_id": ["SO1", "SO1", "SO2"], "category": ["设备", "设备", "设备"],
                          "is_return": [False, False, False], "source_row": [2, 5, 3]})
    with pytest.raises(ReconciliationError) as e:
        check_unique_lines("transactions", clean, ["category"])
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("transactions: order line SO1 / 设备 is in the clean table 2 times (source rows 2, 5)")
    check_unique_lines("transactions", clean.assign(category=["设备", "服务", "设备"]), ["category"])
    check_unique_lines("transactions", clean.assign(is_return=[False, True, False]), ["category"])


# --------------------------------------------------------------------------------------
# Implausible amounts, exact books
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_huge_amounts_are_quarantined_and_the_books_balance(engine):
    res = run("huge_amounts.csv", engine)
    rows = by_row(res)
    assert rows == {8: ("implausible_amount", "implausible_amount", {"column": "amount", "value": "1e20", "max": 1e9}),
                    9: ("implausible_amount", "implausible_amount", {"column": "amount", "value": "1e308", "max": 1e9})}
    books = res.quality["reconciliation"]["transactions"]
    assert_exact_books(books)
    # an implausible amount counts 0, like an unparseable one: the books hold the plausible ones
    assert Decimal(str(books["source_amount"])) == exact_total("huge_amounts.csv", list(range(2, 8)))
    assert books["quarantined_amount"] == 0.0 and res.quality["implausible_amount_counts_zero"]
    assert len(res.transactions) == 6
    text = json.dumps(res.quality)
    assert not LONG_NUMBER.search(text), LONG_NUMBER.search(text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_huge_amounts_on_the_page_are_readable(lang):
    res = run("huge_amounts.csv", "pandas")
    pages = [table(present.reconciliation_table(res), lang).html,
             table(present.quarantine_summary(res), lang).html,
             table(present.quarantine_samples(res, 5, lang), lang, wrap=["detail", "original"]).html,
             *[render(n, lang) for n in res.notes]]
    for html in pages:
        assert not LONG_NUMBER.search(html), LONG_NUMBER.search(html)
    samples = present.quarantine_samples(res, 5, lang)
    assert samples["detail"].str.contains("1,000,000,000").all()
    assert samples["detail"].str.contains("1e308").any()
    assert any("cleaning.max_amount" in render(n, lang) for n in res.notes)


def test_max_amount_is_config_and_validated():
    res = run("huge_amounts.csv", "pandas", max_amount=50_000)
    assert {r for r, v in by_row(res).items() if v[0] == "implausible_amount"} == {3, 8, 9}  # 67,888.84 too
    for bad in (0, -1, 1e14):
        with pytest.raises(ConfigError, match="max_amount"):
            config("huge_amounts.csv", "pandas", max_amount=bad)
    assert Cleaning().max_amount == 1e9


def test_books_are_exact_where_floats_would_fake_an_imbalance():
    # 1e20 + 1 - 1e20 is 0 in floats: the old check saw a gap of 1 that is not there
    clean = pd.DataFrame({"source_row": [3], "amount": [1.0]})
    q = pd.DataFrame({"source_row": [2, 4], "amount": [1e20, -1e20]})
    books = reconcile("t", [2, 3, 4], clean, q, source_amounts=[1e20, 1.0, -1e20])
    assert books["balanced"] and books["source_amount"] == 1.0
    # ... and a real gap of one cent is found, however large the other amounts
    with pytest.raises(ReconciliationError, match=r"clean rows 1\.01 .*\(gap -0\.01\)"):
        reconcile("t", [2, 3, 4], clean, q, source_amounts=[1e20, 1.01, -1e20])
    assert to_cents([0.1, 0.2, 12345.675, 1e20]).tolist() == [10, 20, 1234568, 10 ** 22]


# --------------------------------------------------------------------------------------
# Every fixture: books that balance in exact cents, or a one-line stop naming the key
# --------------------------------------------------------------------------------------

#: Files whose reading the kit must refuse (the config key that settles each), and the
#: settings under which each then reads.
STOPS = {
    "decimal_ambiguous.csv": ("inputs.transactions.decimal", {"decimal": ","}),
    "decimal_contradict.csv": ("inputs.transactions.decimal", None),
    "dates_contradict.csv": ("inputs.transactions.dayfirst", None),
    "dates_ambiguous.csv": ("inputs.transactions.dayfirst", {"dayfirst": True}),
    "notes_first.xlsx": ("inputs.transactions.sheet", {"sheet": "订单明细"}),
    "utf16_nobom.csv": ("inputs.transactions.encoding", {"encoding": "utf-16"}),
}
FIXTURES = sorted(p.name for p in EXPORTS.iterdir() if p.suffix in (".csv", ".xlsx"))


def _config_with(name: str, engine: str, reading: dict | None):
    spec = {"path": str(EXPORTS / name), **(reading or {})}
    return parse_config({"client": "t", "language": "en", "as_of": f"{AS_OF:%Y-%m-%d}",
                         "inputs": {"transactions": spec}, "engine": {"name": engine}})


def test_every_fixture_is_covered():
    assert len(FIXTURES) >= 14 and set(STOPS) <= set(FIXTURES)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_balances_in_exact_cents_or_stops_with_its_key(name, engine):
    """A run on every trap file leaves books that balance in whole cents; a file the kit
    must not guess about stops in one line naming the config key, and then reads once the
    key is set (where one setting settles it)."""
    from kit.io import InputError

    if name in STOPS:
        key, settles = STOPS[name]
        with pytest.raises(InputError) as e:
            clean_all(_config_with(name, engine, None), AS_OF)
        assert key in str(e.value) and "\n" not in str(e.value)
        if settles is None:
            return
        res = clean_all(_config_with(name, engine, settles), AS_OF)
    else:
        res = clean_all(_config_with(name, engine, None), AS_OF)
    for books in res.quality["reconciliation"].values():
        assert_exact_books(books)
    assert res.quality.get("books_in_exact_cents") is True
