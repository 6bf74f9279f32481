"""The workbook's rows made a column at a time (kit/publish/xlsx_rows.py) are the file
XlsxWriter writes cell by cell: the frozen cell-by-cell writer of
``tests/deliverables_reference.py`` and the kit's writer are given the same generated sheets
(hostile text, missing values, infinities, big integers, dates, flags, mixed columns) and
must leave the same bytes in every part of the file, once each style number is read as the
style it names. (XlsxWriter numbers styles in the order cells first use them and keeps the
last row of each sheet until the file closes; the kit numbers them in the same order but
writes every row at once, so a style first used in a sheet's last row can get another number
when a later sheet is written. ``tests/test_deliverables_stream.py`` also compares the
deliverables' workbooks unresolved, byte for byte.)"""
from __future__ import annotations

import datetime as dt
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kit.publish import writer, xlsx_rows

sys.path.insert(0, str(Path(__file__).parent))
import deliverables_reference as reference  # noqa: E402 - the frozen cell-by-cell writer, next to this file

HOSTILE = ["=1+1", "-5", "+x", "@SUM(A1)", "\tx", "\rx", " lead", "trail ", "a\x01b\x1fc", "_x0041_",
           "x&<>\"'", "中文客户", "😀" * 3, "\ufffe\uffff", "a\nb", "", " ", "\n", "\u00a0nbsp", "é" * 20,
           "😀" * 16_400]  # the last one: over Excel's 32,767 UTF-16 units, cut
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
FLOAT = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.1, 1e16, -1e-300, 123456.789]))
DAY = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1))
MIXED = st.one_of(st.none(), TEXT, st.booleans(), st.integers(-2**60, 2**60), FLOAT, st.dates(),
                  st.lists(st.integers(0, 9), max_size=3))


@st.composite
def sheets(draw):
    n = draw(st.integers(0, 14))
    cols = {
        "text": pd.Series(draw(st.lists(st.one_of(st.none(), TEXT), min_size=n, max_size=n)), dtype="str"),
        "objtext": pd.Series(draw(st.lists(st.one_of(st.none(), TEXT), min_size=n, max_size=n)), dtype=object),
        "num": pd.Series(draw(st.lists(FLOAT, min_size=n, max_size=n)), dtype="float64"),
        "count": pd.Series(draw(st.lists(st.one_of(st.none(), st.integers(-2**62, 2**62)), min_size=n, max_size=n)),
                           dtype="Int64"),
        "flag": pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool),
        "day": pd.Series(draw(st.lists(st.one_of(st.none(), DAY), min_size=n, max_size=n)), dtype="datetime64[ns]"),
        "mixed": pd.Series(draw(st.lists(MIXED, min_size=n, max_size=n)), dtype=object),
    }
    order = draw(st.permutations(list(cols)))
    return pd.DataFrame({c: cols[c] for c in order})


def _parts(xlsx: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(xlsx) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}  # core.xml: the time of writing


def _elements(styles: str, group: str, tag: str) -> list[str]:
    body = re.search(rf"<{group} count=\"\d+\">(.*?)</{group}>", styles, re.S)
    return re.findall(rf"<{tag}\b[^>]*?/>|<{tag}\b[^>]*>.*?</{tag}>", body.group(1), re.S) if body else []


def _resolved(xlsx: Path) -> dict[str, object]:
    """The file's parts with every style number (``s=``, ``style=``) replaced by the style it
    names (its number format, font, fill, border, alignment and protection written out);
    the style sheet becomes the set of those styles."""
    parts = _parts(xlsx)
    styles = parts.pop("xl/styles.xml").decode()
    codes = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"/>', styles))
    refs = {"fontId": _elements(styles, "fonts", "font"), "fillId": _elements(styles, "fills", "fill"),
            "borderId": _elements(styles, "borders", "border")}

    def spelled(xf: str) -> str:
        xf = re.sub(r'numFmtId="(\d+)"', lambda m: f"numFmt={codes.get(m.group(1), m.group(1))!r}", xf)
        return re.sub(r'(fontId|fillId|borderId)="(\d+)"', lambda m: f"{m.group(1)}={refs[m.group(1)][int(m.group(2))]!r}",
                      xf)

    xfs = [spelled(x) for x in _elements(styles, "cellXfs", "xf")]
    out: dict[str, object] = {"styles": sorted(set(xfs))}
    for name, data in parts.items():
        if name.startswith("xl/worksheets/"):
            data = re.sub(rb' (s|style)="(\d+)"', lambda m: b" %s=%r" % (m.group(1), xfs[int(m.group(2))].encode()), data)
        out[name] = data
    return out


@settings(max_examples=60, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(first=sheets(), second=sheets(), block=st.sampled_from([1, 3, 5_000]))
def test_rows_made_by_column_are_the_bytes_xlsxwriter_writes_cell_by_cell(tmp_path, monkeypatch, first, second,
                                                                           block):
    monkeypatch.setattr(xlsx_rows, "BLOCK_ROWS", block)
    books = {"one": first, "two": second}
    ours = writer.write_workbook(books, tmp_path / "ours.xlsx", root=tmp_path, lang="en", wrap=["objtext", "day"])
    theirs = reference.write_workbook(books, tmp_path / "theirs.xlsx", root=tmp_path, lang="en", wrap=["objtext", "day"])
    assert _resolved(ours) == _resolved(theirs)


def test_markup_shaped_text_stays_text(tmp_path):
    """XlsxWriter writes a text shaped like its rich-string markup unescaped in this mode (a
    customer named ``<r><t>x</t></r>`` would inject XML); the kit escapes it."""
    names = ["<r><t>x</t></r>", "<r>=1+1</r>", "plain"]
    path = writer.write_workbook({"s": pd.DataFrame({"name": pd.Series(names, dtype="str")})}, tmp_path / "m.xlsx",
                                 root=tmp_path, lang="en")
    ws = openpyxl.load_workbook(path)["s"]
    assert [ws.cell(row=i + 2, column=1).value for i in range(3)] == names


def test_a_sheet_of_missing_values_only_has_its_header_and_range(tmp_path):
    df = pd.DataFrame({"a": [np.nan, np.nan], "b": pd.Series([None, None], dtype="str")})
    ours = writer.write_workbook({"s": df}, tmp_path / "o.xlsx", root=tmp_path, lang="en")
    theirs = reference.write_workbook({"s": df}, tmp_path / "t.xlsx", root=tmp_path, lang="en")
    assert _resolved(ours) == _resolved(theirs)
    assert b'<dimension ref="A1:B1"/>' in _parts(ours)["xl/worksheets/sheet1.xml"]


def test_rows_go_only_into_a_constant_memory_worksheet(tmp_path):
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    ws = wb.add_worksheet()
    fmt = wb.add_format()
    with pytest.raises(ValueError, match="constant-memory"):
        xlsx_rows.write_rows(ws, pd.DataFrame({"a": [1]}), [None], fmt, fmt)
    wb.close()


@pytest.mark.parametrize("value", [dt.datetime(1900, 1, 1), dt.datetime(1900, 2, 28), dt.datetime(1900, 2, 28, 12), dt.datetime(1900, 3, 1),
                                   dt.date(2024, 2, 29), dt.datetime(2025, 6, 30, 23, 59, 59, 999999)])
def test_serial_days_are_xlsxwriters(value):
    from xlsxwriter.utility import _datetime_to_excel_datetime

    assert xlsx_rows.excel_serial(value) == _datetime_to_excel_datetime(value, False, False)
