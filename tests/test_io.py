"""kit.io: reading exports as they come, header mapping, value parsers, clear input errors."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kit.core.config import InputTable, parse_config
from kit.io.read import (
    InputError,
    RawTable,
    detect_encoding,
    latest_date,
    map_columns,
    normalize_ids,
    normalize_text,
    parse_amounts,
    parse_dates,
    parse_ratio,
    read_table,
)

FIXTURES = Path(__file__).parent / "fixtures" / "clean"

ORDERS_CN = (
    "客户编号,订单编号,订单日期,实付金额,订单状态\n"
    "000123,O1,2024-01-05,\"￥1,200.50\",已完成\n"
    "　000124 ,O2,2024/1/6,RMB 800,已完成\n"
    "C3,O3,2024年1月7日,１２３４.５０,已完成\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def spec(path: Path, **kw) -> InputTable:
    return InputTable(path=str(path), **kw)


def s(values) -> pd.Series:
    return pd.Series(values, dtype="str")


# --------------------------------------------------------------------------------------
# Value parsers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-01-05", "2024-01-05"),
        ("2024-01-05 14:30:00", "2024-01-05 14:30:00"),
        ("2024-01-05T14:30:00", "2024-01-05 14:30:00"),
        ("2024/1/5", "2024-01-05"),
        ("2024/01/05 9:30", "2024-01-05 09:30:00"),
        ("2024.1.5", "2024-01-05"),
        ("2024年1月5日", "2024-01-05"),
        ("2024年1月5日 10:30", "2024-01-05 10:30:00"),
        ("20240105", "2024-01-05"),
        ("20240105143000", "2024-01-05 14:30:00"),
        ("45296", "2024-01-05"),  # Excel serial number
        ("45296.5", "2024-01-05 12:00:00"),
        ("２０２４－０１－０５", "2024-01-05"),  # full-width digits
        ("  2024-1-5\u3000", "2024-01-05"),
        ("2024-01-05T10:00:00+08:00", "2024-01-05 10:00:00"),
        ("Jan 5, 2024", "2024-01-05"),
    ],
)
def test_parse_dates_formats(text, expected):
    values, ok = parse_dates(s([text]))
    assert ok.iloc[0]
    assert values.iloc[0] == pd.Timestamp(expected)
    assert values.dtype == "datetime64[ns]"


@pytest.mark.parametrize(
    "text", ["2025-13-45", "未知", "0000-00-00", "2025-02-30", "2024/00/12", "待补录", "", "--", "12", "0001-01-01"]
)
def test_parse_dates_rejects_broken_and_placeholder_dates(text):
    values, ok = parse_dates(s([text]))
    assert not ok.iloc[0]
    assert pd.isna(values.iloc[0])


def test_parse_dates_mixed_column_keeps_alignment():
    values, ok = parse_dates(s(["2024-01-05", "bad", "20240106", None, "2024年1月7日"]))
    assert ok.tolist() == [True, False, True, False, True]
    assert values[ok].dt.day.tolist() == [5, 6, 7]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12345.60", 12345.60),
        ("12,345.60", 12345.60),
        ("RMB 12,345.60", 12345.60),
        ("￥12,345.60", 12345.60),
        ("¥12,345.60", 12345.60),
        ("$99.5", 99.5),
        ("CNY 10", 10.0),
        ("100元", 100.0),
        ("１２３４５.６０", 12345.60),
        ("(1,234.00)", -1234.0),
        ("（1,234.00）", -1234.0),  # full-width parentheses
        ("-1234", -1234.0),
        ("1234-", -1234.0),
        ("1.5万", 15000.0),
        (" 0.00 ", 0.0),
    ],
)
def test_parse_amounts_formats(text, expected):
    values, ok = parse_amounts(s([text]))
    assert ok.iloc[0]
    assert values.iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize("text", ["待定", "N/A", "--", "面议", "#VALUE!", "", "abc", "1.2.3"])
def test_parse_amounts_rejects_unknown_amounts(text):
    values, ok = parse_amounts(s([text]))
    assert not ok.iloc[0]
    assert np.isnan(values.iloc[0])


def test_normalize_ids_keeps_leading_zeros_and_strips_spaces():
    ids = normalize_ids(s(["000123", " 000123", "000123 ", "\u3000000123", "０００１２３", "1001.0", "", "null"]))
    assert ids.iloc[:5].tolist() == ["000123"] * 5
    assert ids.iloc[5] == "1001"
    assert ids.iloc[6:].isna().all()


def test_normalize_text_missing_tokens():
    t = normalize_text(s(["  a ", "N/A", "null", "-", "b\u3000"]))
    assert t.iloc[0] == "a" and t.iloc[4] == "b"
    assert t.iloc[1:4].isna().all()


def test_parse_ratio_percent_and_fraction():
    v, ok = parse_ratio(s(["35%", "0.2", ""]))
    assert v.iloc[:2].tolist() == pytest.approx([0.35, 0.2])
    assert ok.tolist() == [True, True, False]
    v, _ = parse_ratio(s(["35", "20"]))  # percent points without the sign
    assert v.tolist() == pytest.approx([0.35, 0.2])


# --------------------------------------------------------------------------------------
# Formats and encodings
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, reported",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk")],
)
def test_csv_encodings_detected(tmp_path, encoding, reported):
    p = write(tmp_path / "orders.csv", ORDERS_CN, encoding)
    raw = read_table(spec(p), "transactions")
    assert raw.encoding == reported
    assert list(raw.frame.columns[:4]) == ["客户编号", "订单编号", "订单日期", "实付金额"]
    assert raw.frame["客户编号"].iloc[0] == "000123"
    assert raw.frame["source_row"].tolist() == [2, 3, 4]


def test_csv_gb18030_detected(tmp_path):
    text = ORDERS_CN + "C4,O4,2024-01-08,100,备注㐀\n"  # U+3400 is in GB18030, not in GBK
    p = write(tmp_path / "orders.csv", text, "gb18030")
    raw = read_table(spec(p), "transactions")
    assert raw.encoding == "gb18030"
    assert raw.frame["订单状态"].iloc[-1] == "备注㐀"


def test_csv_configured_encoding_wrong_is_a_clear_error(tmp_path):
    p = write(tmp_path / "orders.csv", ORDERS_CN, "gbk")
    with pytest.raises(InputError, match=r"orders\.csv.*utf-8.*encoding"):
        read_table(spec(p, encoding="utf-8"), "transactions")


def test_csv_crlf_semicolon_and_title_rows(tmp_path):
    text = "订单导出;;;\r\n导出时间 2024-02-01;;;\r\n\r\n客户编号;订单日期;金额;状态\r\nA1;2024-01-05;100;ok\r\n"
    p = write(tmp_path / "orders.csv", text)
    raw = read_table(spec(p), "transactions")
    assert raw.delimiter == ";"
    assert raw.header_row == 3
    assert raw.mapping["amount"] == "金额"
    assert raw.frame["source_row"].tolist() == [5]  # the line an editor shows


def test_csv_source_rows_count_blank_lines(tmp_path):
    p = write(tmp_path / "o.csv", "customer id,order date,amount\nA,2024-01-01,1\n\nB,2024-01-02,2\n")
    raw = read_table(spec(p), "transactions")
    assert raw.frame["source_row"].tolist() == [2, 4]
    assert raw.blank_rows == 1


def test_excel_title_rows_sheet_by_name_and_index(tmp_path):
    p = tmp_path / "customers.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    ws = wb.create_sheet("客户主数据")
    ws["A1"] = "客户主数据（导出）"
    ws.append([])
    ws.append(["客户编号", "客户名称", "首次合作日期", "员工人数"])
    ws.append(["000123", "甲公司", dt.datetime(2020, 3, 1), 120])
    ws.append([None, None, None, None])
    ws.append(["000124", "乙公司", 45296, 80.5])
    wb.save(p)
    for sheet in ("客户主数据", 1):
        raw = read_table(spec(p, sheet=sheet), "customers")
        assert raw.sheet == "客户主数据"
        assert raw.header_row == 2
        assert raw.frame["source_row"].tolist() == [4, 6]  # Excel row numbers; row 5 blank
        assert raw.frame["客户编号"].tolist() == ["000123", "000124"]
        assert raw.frame["首次合作日期"].tolist() == ["2020-03-01", "45296"]
        assert raw.frame["员工人数"].tolist() == ["120", "80.5"]
    raw = read_table(spec(p, sheet="客户主数据", header_row=2), "customers")
    assert raw.mapping["name"] == "客户名称"


def test_excel_missing_sheet_lists_sheets(tmp_path):
    p = tmp_path / "c.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "客户主数据"
    wb.active.append(["客户编号"])
    wb.active.append(["1"])
    wb.save(p)
    with pytest.raises(InputError, match=r"no sheet '客户数据'.*客户主数据"):
        read_table(spec(p, sheet="客户数据"), "customers")


def test_parquet(tmp_path):
    p = tmp_path / "orders.parquet"
    pd.DataFrame({
        "customer_id": ["007", "008"],
        "order_date": pd.to_datetime(["2024-01-05 00:00", "2024-01-06 10:00"]),
        "amount": [10.5, 20.0],
    }).to_parquet(p)
    raw = read_table(spec(p), "transactions")
    assert raw.format == "parquet"
    assert raw.frame["customer_id"].tolist() == ["007", "008"]
    assert raw.frame["order_date"].tolist() == ["2024-01-05", "2024-01-06 10:00:00"]
    assert raw.frame["source_row"].tolist() == [1, 2]
    dates, ok = parse_dates(raw.column("order_date"))
    assert ok.all()


def test_xlsx_renamed_csv_is_read_as_excel(tmp_path):
    p = tmp_path / "orders.csv"
    wb = openpyxl.Workbook()
    wb.active.append(["客户编号", "订单日期", "金额"])
    wb.active.append(["1", "2024-01-01", "5"])
    wb.save(p)
    assert read_table(spec(p), "transactions").format == "excel"
    with pytest.raises(InputError, match="configured as CSV but is a binary excel file"):
        read_table(spec(p, format="csv"), "transactions")


# --------------------------------------------------------------------------------------
# Mapping
# --------------------------------------------------------------------------------------


def test_synonyms_english_headers(tmp_path):
    p = write(tmp_path / "o.csv", "Customer ID,Order No,Order Date,Amount,QTY\nA,1,2024-01-01,5,1\n")
    raw = read_table(spec(p), "transactions")
    assert raw.mapping == {"customer_id": "Customer ID", "order_date": "Order Date", "amount": "Amount",
                           "order_id": "Order No", "quantity": "QTY"}
    assert set(raw.how.values()) == {"synonym"}


def test_synonym_preference_and_units():
    mapping, _ = map_columns(["客户ID", "订单金额", "实付金额", "下单时间"], "transactions", {})
    assert mapping["amount"] == "实付金额"  # paid amount preferred
    mapping, _ = map_columns(["客户编号", "年营收(万元)"], "customers", {})
    assert mapping["annual_revenue"] == "年营收(万元)"


def test_configured_mapping_wins_and_is_reported():
    mapping, how = map_columns(["cust_no", "dt", "金额", "订单日期"], "transactions",
                               {"customer_id": "cust_no", "order_date": "dt"})
    assert mapping["order_date"] == "dt"
    assert how == {"customer_id": "configured", "order_date": "configured", "amount": "synonym"}


def test_missing_required_column_lists_headers_and_nearest(tmp_path):
    p = write(tmp_path / "o.csv", "客户编号,下单日,付款额\nA,2024-01-01,5\n")
    with pytest.raises(InputError) as e:
        read_table(spec(p), "transactions")
    msg = str(e.value)
    assert "o.csv" in msg and "'order_date'" in msg and "'amount'" in msg
    assert "Headers found: '客户编号', '下单日', '付款额'" in msg
    assert "Nearest: '下单日'" in msg
    assert "inputs.transactions.columns" in msg


def test_configured_column_the_file_lacks(tmp_path):
    p = write(tmp_path / "o.csv", "客户编号,订单日期,实付金额\nA,2024-01-01,5\n")
    with pytest.raises(InputError) as e:
        read_table(spec(p, columns={"amount": "金额合计"}), "transactions")
    msg = str(e.value)
    assert "inputs.transactions.columns.amount names the header '金额合计'" in msg
    assert "Nearest: '实付金额'" in msg


def test_unknown_canonical_name_in_config():
    with pytest.raises(InputError, match="did you mean amount"):
        map_columns(["a"], "transactions", {"amont": "a"})


# --------------------------------------------------------------------------------------
# Clear errors for unusable files
# --------------------------------------------------------------------------------------


def test_empty_file(tmp_path):
    p = write(tmp_path / "empty.csv", "")
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
        read_table(spec(p), "transactions")


def test_blank_lines_only(tmp_path):
    p = write(tmp_path / "blank.csv", "\n\n  \n")
    with pytest.raises(InputError, match="no text"):
        read_table(spec(p), "transactions")


@pytest.mark.parametrize("name", ["header_only.csv"])
def test_header_only(name):
    with pytest.raises(InputError, match="has a header row .* but no data rows"):
        read_table(spec(FIXTURES / name), "transactions")


def test_binary_renamed_csv():
    with pytest.raises(InputError, match="binary data"):
        read_table(spec(FIXTURES / "binary.csv"), "transactions")
    with pytest.raises(InputError, match="binary"):
        detect_encoding(FIXTURES / "binary.csv")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_table(spec(tmp_path / "nope.csv"), "transactions")


def test_old_xls_is_a_clear_error(tmp_path):
    p = tmp_path / "old.xls"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(InputError, match="save it as .xlsx"):
        read_table(spec(p), "transactions")


def test_ragged_rows_are_a_clear_error(tmp_path):
    p = write(tmp_path / "r.csv", "客户编号,订单日期,金额\nA,2024-01-01,5\nB,2024-01-02,5,extra,more\n")
    with pytest.raises(InputError, match="delimiter"):
        read_table(spec(p), "transactions")


# --------------------------------------------------------------------------------------
# RawTable helpers, latest_date
# --------------------------------------------------------------------------------------


def test_raw_table_from_frame():
    raw = RawTable.from_frame(pd.DataFrame({"客户编号": ["01"], "日期": ["2024-01-01"], "金额": [5]}),
                              "transactions")
    assert raw.frame["source_row"].tolist() == [2]
    assert raw.frame["金额"].tolist() == ["5"]
    assert raw.mapping["order_date"] == "日期"


def test_latest_date_ignores_sparse_future_defects(tmp_path):
    rows = [f"C{i % 7},{d:%Y-%m-%d},10" for i, d in enumerate(pd.date_range("2024-01-01", "2024-06-30"))]
    rows += ["C1,2030-01-01,10", "C2,2027-05-05,10", "C3,bad,10"]
    p = write(tmp_path / "o.csv", "客户编号,订单日期,金额\n" + "\n".join(rows) + "\n")
    cfg = parse_config({"client": "t", "inputs": {"transactions": {"path": str(p)}}})
    assert latest_date(cfg) == pd.Timestamp("2024-06-30")


def test_read_table_only_reads_requested_columns(tmp_path):
    p = write(tmp_path / "o.csv", ORDERS_CN)
    raw = read_table(spec(p), "transactions", only=["order_date"])
    assert list(raw.frame.columns) == ["订单日期", "source_row"]
    assert raw.mapping == {"order_date": "订单日期"}


def test_io_imports_only_core_and_reexports_its_parts():
    """kit.io sits on kit.core only; its public names are importable from kit.io and kit.io.read."""
    import ast

    import kit.io
    import kit.io.read

    folder = Path(kit.io.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kit"):
                assert node.module.startswith(("kit.core", "kit.io")), (path.name, node.module)
    for name in kit.io.__all__:
        assert getattr(kit.io, name) is getattr(kit.io.read, name), name


def test_a_month_reads_as_its_first_day_never_todays_day():
    """``2024-03`` in a monthly export is March 2024, read as 2024-03-01 whatever the date of
    the run (dateutil alone fills in today's day of the month)."""
    from kit.io.parse import parse_dates

    got, ok = parse_dates(pd.Series(["2024-03", "2024/3", "2024年3月", "March 2024", "2024-03-05", "2024-13"]))
    assert ok.tolist() == [True, True, True, True, True, False]
    assert got[:5].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-01"] * 4 + ["2024-03-05"]
