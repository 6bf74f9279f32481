"""Reading client exports right (issue 12): numbers and dates read one way per column, decided
from evidence or the config, else a one-line stop; a notes sheet, UTF-16 without a BOM and a
repeated header are named. Files: tests/fixtures/exports/ (made by make_exports.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from kit.core.config import ConfigError, InputTable, parse_config
from kit.engines import clean_all
from kit.engines.duckdb_source import connect, open_transactions, source_info
from kit.io import (
    DateOrder,
    InputError,
    NumberStyle,
    RawTable,
    parse_amounts,
    parse_dates,
    parse_numbers,
    parse_ratio,
    read_table,
    reading_notes,
)
from kit.present import messages

EXPORTS = Path(__file__).resolve().parent / "fixtures" / "exports"
GERMAN = {"customer_id": "Kunde", "order_id": "Bestellung", "order_date": "Datum", "amount": "Betrag",
          "margin": "Marge"}


def spec(name: str, **kw) -> InputTable:
    """An input table built from a dict, as a config file gives it."""
    return InputTable.model_validate({"path": str(EXPORTS / name), **kw})


def read(name: str, table: str = "transactions", **kw) -> RawTable:
    return read_table(spec(name, **kw), table)


def amounts(raw: RawTable, col: str = "amount") -> list[float]:
    values, ok = parse_amounts(raw.column(col))
    return [float(v) if k else None for v, k in zip(values, ok)]


def dates(raw: RawTable, col: str = "order_date") -> list:
    values, _ = parse_dates(raw.column(col))
    return [None if pd.isna(v) else f"{v:%Y-%m-%d}" for v in values]


def german(text: str) -> float:
    """What a German cell means, computed independently of kit: ``67.888,84`` -> 67888.84."""
    return float(text.replace(".", "").replace(",", "."))


def stop_message(name: str, **kw) -> str:
    with pytest.raises(InputError) as e:
        read(name, **kw)
    return str(e.value)


def duckdb_stop_message(name: str, **kw) -> str:
    with pytest.raises(InputError) as e:
        open_transactions(connect(), spec(name, **kw))
    return str(e.value)


# --------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------


def test_decimal_comma_file_reads_every_amount_and_margin_right():
    raw = read("decimal_comma.csv", columns=GERMAN)
    cells = raw.column("amount").tolist()
    assert cells[:2] == ["903,71", "67.888,84"]
    assert amounts(raw) == pytest.approx([german(c) for c in cells], abs=0)
    assert amounts(raw)[:2] == [903.71, 67888.84]
    margin, ok = parse_ratio(raw.column("margin"))
    assert ok.all()
    assert margin.tolist() == pytest.approx([german(c) for c in raw.column("margin")])
    assert margin.iloc[0] == pytest.approx(0.538)
    assert dates(raw)[:3] == ["2023-01-19", "2023-02-10", "2023-03-22"]
    info = raw.info()["readings"]
    assert info["numbers"]["amount"] == {"header": "Betrag", "decimal": ",", "thousands": ".", "how": "column",
                                         "examples": ["903,71", "67.888,84", "28.119,26"]}
    assert info["numbers"]["margin"]["decimal"] == "," and info["dates"]["order_date"]["dayfirst"] is True


def test_configured_decimal_point_on_a_decimal_comma_file_misreads_nothing():
    """The config wins; a value that does not fit it is unparseable (quarantined), never misread."""
    raw = read("decimal_comma.csv", columns=GERMAN, decimal=".")
    values, ok = parse_amounts(raw.column("amount"))
    assert not ok.any() and values.isna().all()
    assert raw.info()["readings"]["numbers"]["amount"]["how"] == "configured"


def test_ambiguous_column_stops_with_file_column_examples_and_key():
    path = EXPORTS / "decimal_ambiguous.csv"
    expected = (f"{path}: column 'amount' (amount) reads two ways: '2,844', '7,588', '3,369' could be "
                "thousands or decimals; set inputs.transactions.decimal: ',' or '.'")
    assert stop_message("decimal_ambiguous.csv") == expected
    assert duckdb_stop_message("decimal_ambiguous.csv") == expected


@pytest.mark.parametrize("config, first", [
    ({"decimal": ","}, 2.844), ({"decimal": "."}, 2844.0), ({"thousands": ","}, 2844.0),
    ({"thousands": "."}, 2.844), ({"thousands": "none"}, 2.844),
])
def test_config_settles_an_ambiguous_column(config, first):
    raw = read("decimal_ambiguous.csv", **config)
    got = amounts(raw)
    assert got[0] == first and None not in got  # every value parsed


def test_column_that_contradicts_itself_stops():
    path = EXPORTS / "decimal_contradict.csv"
    expected = (f"{path}: column 'amount' (amount) contradicts itself: a decimal comma in '903,71', "
                "'67.888,84', '28.119,26', a decimal point in '30,848.48'; set inputs.transactions.decimal: ',' or '.'")
    assert stop_message("decimal_contradict.csv") == expected
    assert duckdb_stop_message("decimal_contradict.csv") == expected
    raw = read("decimal_contradict.csv", decimal=",")
    assert amounts(raw) == [903.71, 67888.84, 28119.26, 8925.53, None]  # the odd one out: unparseable


def test_another_column_of_the_file_decides_an_ambiguous_one():
    raw = read("decimal_by_file.csv", columns=GERMAN)
    cells = raw.column("amount").tolist()
    assert all(len(c.split(",")[1]) == 3 for c in cells)  # every amount alone reads two ways
    assert amounts(raw) == pytest.approx([german(c) for c in cells])  # 67,394 -> 67.394, as the margins 0,54
    info = raw.info()
    assert info["readings"]["numbers"]["amount"]["how"] == "file"
    notes = reading_notes("transactions", info)
    assert [n.code for n in notes] == ["io.note.file_decimal_comma", "io.note.decimal_comma"]
    src = open_transactions(connect(), spec("decimal_by_file.csv", columns=GERMAN))
    assert source_info(src)["info"]["readings"] == info["readings"]


def test_whole_number_columns_read_a_mark_before_three_digits_as_thousands():
    frame = pd.DataFrame({"客户编号": ["1", "2", "3"], "员工人数": ["1,200", "35", "2,500"]})
    raw = RawTable.from_frame(frame, "customers")
    values, ok = parse_numbers(raw.column("employees"))
    assert values.tolist() == [1200.0, 35.0, 2500.0] and ok.all()
    frame["员工人数"] = ["1,200", "1.500", "3"]
    with pytest.raises(InputError, match=r"column '员工人数' \(employees\) contradicts itself"):
        RawTable.from_frame(frame, "customers")


def test_accepted_forms_are_kept_in_either_reading():
    comma = NumberStyle(",", ".")
    cells = pd.Series(["¥1.234,50", "(1.234,00)", "1.234,00-", "１２３,５", "1,5万", "RMB 12"], dtype="str")
    values, ok = parse_amounts(cells, comma)
    assert ok.all()
    assert values.tolist() == pytest.approx([1234.5, -1234.0, -1234.0, 123.5, 15000.0, 12.0])
    point = pd.Series(["¥1,234.50", "(1,234.00)", "1,234.00-", "１２３.５", "1.5万", "1'234.5"], dtype="str")
    values, ok = parse_amounts(point)
    assert ok.all()
    assert values.tolist() == pytest.approx([1234.5, -1234.0, -1234.0, 123.5, 15000.0, 1234.5])


def test_a_bare_series_decides_from_its_own_values():
    assert parse_amounts(pd.Series(["903,71", "1,234"], dtype="str"))[0].tolist() == [903.71, 1.234]
    assert parse_amounts(pd.Series(["903.71", "1,234"], dtype="str"))[0].tolist() == [903.71, 1234.0]
    with pytest.raises(InputError, match=r"^column 'x' reads two ways: '1,234' could be"):
        parse_amounts(pd.Series(["1,234"], dtype="str", name="x"))


# --------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------


def test_day_first_decided_once_per_column():
    raw = read("dates_dayfirst.csv")
    assert raw.column("order_date").tolist() == ["09.10.2023", "13.10.2023", "01.02.2023"]
    assert dates(raw) == ["2023-10-09", "2023-10-13", "2023-02-01"]
    assert raw.info()["readings"]["dates"]["order_date"] == {
        "header": "order_date", "dayfirst": True, "how": "column", "examples": ["13.10.2023"]}
    assert [n.code for n in reading_notes("transactions", raw.info())] == ["io.note.dates_dayfirst"]


def test_configured_month_first_wins():
    raw = read("dates_dayfirst.csv", dayfirst=False)
    assert dates(raw) == ["2023-09-10", None, "2023-01-02"]  # 13.10.2023 has no month 13: unparseable


def test_contradicting_dates_stop():
    path = EXPORTS / "dates_contradict.csv"
    expected = (f"{path}: column 'order_date' (order_date) reads dates two ways: day first in '13/10/2023', "
                "month first in '10/13/2023'; set inputs.transactions.dayfirst: true (day first) or false (month first)")
    assert stop_message("dates_contradict.csv") == expected
    assert duckdb_stop_message("dates_contradict.csv") == expected
    assert dates(read("dates_contradict.csv", dayfirst=True)) == ["2023-10-13", None, "2023-06-05"]
    assert dates(read("dates_contradict.csv", dayfirst=False)) == [None, "2023-10-13", "2023-05-06"]


def test_only_ambiguous_dates_stop_unless_day_equals_month():
    path = EXPORTS / "dates_ambiguous.csv"
    expected = (f"{path}: column 'order_date' (order_date) reads dates two ways: '05/06/2023', '03/04/2023', "
                "'01/02/2023' could be day-month or month-day, and no date in the column decides it; set "
                "inputs.transactions.dayfirst: true (day first) or false (month first)")
    assert stop_message("dates_ambiguous.csv") == expected
    assert dates(read("dates_ambiguous.csv", dayfirst=True)) == ["2023-06-05", "2023-04-03", "2023-07-07",
                                                                 "2023-02-01"]
    same = parse_dates(pd.Series(["07/07/2023", "2023-01-05"], dtype="str"))[0]
    assert same.tolist() == [pd.Timestamp("2023-07-07"), pd.Timestamp("2023-01-05")]
    assert parse_dates(pd.Series(["05/06/2023"], dtype="str"), DateOrder(False))[0].iloc[0] == pd.Timestamp(
        "2023-05-06")


# --------------------------------------------------------------------------------------
# Sheets, encodings, headers, config
# --------------------------------------------------------------------------------------


def test_notes_sheet_first_names_the_sheets_and_the_data_sheet():
    path = EXPORTS / "notes_first.xlsx"
    assert stop_message("notes_first.xlsx") == (
        f"{path}: sheet '说明' (inputs.transactions.sheet: 0, the first) does not look like data (no header "
        "row with customer_id, order_date, amount); sheets: '说明', '订单明细'; '订单明细' does: set "
        "inputs.transactions.sheet: 订单明细")
    raw = read("notes_first.xlsx", sheet="订单明细")
    assert raw.sheet == "订单明细" and len(raw.frame) == 8
    assert read("notes_first.xlsx", sheet=1).sheet == "订单明细"


def test_utf16_without_bom_is_named_and_read_when_configured(tmp_path):
    path = EXPORTS / "utf16_nobom.csv"
    expected = f"{path}: looks like UTF-16 without a byte-order mark: set inputs.transactions.encoding: utf-16"
    assert stop_message("utf16_nobom.csv") == expected
    assert duckdb_stop_message("utf16_nobom.csv") == expected
    for encoding in ("utf-16", "utf-16-le", "UTF16"):
        raw = read("utf16_nobom.csv", encoding=encoding)
        assert len(raw.frame) == 6 and amounts(raw)[:2] == [903.71, 67888.84]
        assert raw.column("customer_id").iloc[0] == "C003"
    src = open_transactions(connect(), spec("utf16_nobom.csv", encoding="utf-16"))
    assert src.info["rows"] == 6 and src.info["encoding"] == "utf-16-le"
    be = tmp_path / "be.csv"  # big-endian without BOM: the same pattern, the other byte
    be.write_bytes((EXPORTS / "utf16_nobom.csv").read_bytes().decode("utf-16-le").encode("utf-16-be"))
    assert read_table(InputTable(path=str(be), encoding="utf-16"), "transactions").frame.shape[0] == 6


def test_duplicate_headers_say_which_copy_is_used():
    raw = read("duplicate_headers.csv")
    info = raw.info()
    assert info["duplicate_headers"] == {"金额": {"copies": 2, "used": 1, "canonical": "amount",
                                                  "columns": ["金额", "金额.1"]}}
    assert amounts(raw)[0] == 903.71  # the first copy, not the second (1021.19)
    notes = reading_notes("transactions", info)
    assert [(n.code, n.kind) for n in notes] == [("io.note.duplicate_headers", "warning")]
    assert messages.render(notes[0], "en") == (
        "tests/fixtures/exports/duplicate_headers.csv: the header '金额' appears 2 times; copy 1 is used "
        "(as amount), the other copies are not.")
    assert "第 1 列" in messages.render(notes[0], "zh")
    src = open_transactions(connect(), spec("duplicate_headers.csv"))
    assert source_info(src)["info"]["duplicate_headers"] == info["duplicate_headers"]


def test_reading_keys_are_validated():
    base = {"client": "t", "inputs": {"transactions": {"path": "x.csv"}}}
    cfg = parse_config(base)
    t = cfg.inputs.transactions
    assert (t.decimal, t.thousands, t.dayfirst) == ("auto", "auto", "auto")
    for bad in ({"decimal": ";"}, {"thousands": "_"}, {"dayfirst": "maybe"}, {"decimal": ",", "thousands": ","}):
        with pytest.raises(ConfigError):
            parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv", **bad}}})
    ok = parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv", "thousands": " ", "dayfirst": True}}})
    assert ok.inputs.transactions.thousands == " " and ok.inputs.transactions.dayfirst is True


# --------------------------------------------------------------------------------------
# Both engines, through the clean stage
# --------------------------------------------------------------------------------------


def test_both_engines_clean_the_decimal_comma_file_alike(tmp_path):
    csv = tmp_path / "decimal_comma.csv"
    shutil.copy(EXPORTS / "decimal_comma.csv", csv)
    cells = pd.read_csv(csv, sep=";", dtype=str)
    clean = {}
    for engine in ("pandas", "duckdb"):
        cfg = parse_config({"client": "t", "engine": {"name": engine},
                            "inputs": {"transactions": {"path": str(csv), "columns": GERMAN}}})
        result = clean_all(cfg, "2023-12-31")
        assert result.quality["engine"] == engine
        assert result.quality["files"]["transactions"]["readings"]["numbers"]["amount"]["decimal"] == ","
        assert result.quality["reconciliation"]["transactions"]["balanced"]
        clean[engine] = result.transactions.sort_values("order_id").reset_index(drop=True)
    pd.testing.assert_series_equal(clean["pandas"]["amount"], clean["duckdb"]["amount"], check_exact=True)
    pd.testing.assert_series_equal(clean["pandas"]["margin"], clean["duckdb"]["margin"], rtol=1e-12)
    assert clean["pandas"]["order_id"].tolist() == cells["Bestellung"].sort_values().tolist()  # nothing lost
    expected = dict(zip(cells["Bestellung"], (german(c) for c in cells["Betrag"])))
    assert clean["duckdb"]["amount"].tolist() == [expected[o] for o in clean["duckdb"]["order_id"]]
    assert clean["duckdb"]["amount"].iloc[:2].tolist() == [903.71, 67888.84]
    assert clean["duckdb"]["margin"].iloc[0] == pytest.approx(0.538)
    assert clean["duckdb"]["order_date"].iloc[0] == pd.Timestamp("2023-01-19")


def test_numbers_stored_as_numbers_need_no_deciding(tmp_path):
    """Excel number cells and numeric Parquet columns are written by the kit (decimal point):
    values like 12.345 are not ambiguous there, while the same text in a text cell is."""
    wb = Workbook()
    ws = wb.active
    ws.append(["客户编号", "订单日期", "实付金额"])
    for i, a in enumerate([12.345, 1.5, 2.25]):
        ws.append([f"C{i}", "2024-01-05", a])
    wb.save(tmp_path / "typed.xlsx")
    raw = read_table(InputTable(path=str(tmp_path / "typed.xlsx"), decimal=","), "transactions")
    assert amounts(raw) == [12.345, 1.5, 2.25]  # number cells: the config's decimal comma is about text
    assert raw.info()["readings"]["numbers"]["amount"]["how"] == "typed"
    ws["C2"] = "12,5"  # a text cell beside number cells: the column is read as text, and contradicts itself
    wb.save(tmp_path / "mixed.xlsx")
    with pytest.raises(InputError, match=r"column '实付金额' \(amount\) contradicts itself"):
        read_table(InputTable(path=str(tmp_path / "mixed.xlsx")), "transactions")

    pq = tmp_path / "typed.parquet"
    pd.DataFrame({"customer_id": ["C1", "C2"], "order_date": ["2024-01-05", "2024-01-06"],
                  "amount": [1.234, 5.678]}).to_parquet(pq, index=False)
    raw = read_table(InputTable(path=str(pq)), "transactions")
    assert amounts(raw) == [1.234, 5.678]
    src = open_transactions(connect(), InputTable(path=str(pq)))
    assert source_info(src)["info"]["readings"] == raw.info()["readings"]
