"""The streamed deliverables (issue 14) write the files the whole-sheet writer wrote.

The reference is the writer as it was (``tests/deliverables_reference.py``: each sheet built
whole, the spine sorted in full for the capped workbook). On a seeded spine of 2,500
customers -- missing values, formula-like text, a column empty for everyone, the workbook
capped -- both write the CSVs and the workbook in both languages, with and without masking,
with small pieces so that a sheet takes many: every CSV byte and every workbook part but
its time stamp must be the same. And the streamed writer must never hold a sheet whole nor
sort the spine.
"""
from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kit.publish import deliverables as dl
from kit.publish import writer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import deliverables_reference as reference  # noqa: E402 - the frozen previous writer, next to this file

PIECE = 300  # customers per piece: 2,500 customers make 9 pieces per sheet


def _bench_module():
    spec = importlib.util.spec_from_file_location("deliverables_scale", HERE.parent / "benchmarks" / "deliverables_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def seeded():
    spine, cfg = _bench_module().synthetic_spine(2500, seed=11)
    cfg.report.excel_max_rows = 700
    return spine, cfg


def _parts(xlsx: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(xlsx) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}  # core.xml: the time of writing


@pytest.mark.parametrize("lang,mask_pii", [("zh", False), ("en", True)])
def test_streamed_files_equal_the_whole_sheet_writer(seeded, tmp_path, monkeypatch, lang, mask_pii):
    spine, cfg = seeded
    monkeypatch.setattr(writer, "CSV_CHUNK_ROWS", PIECE)
    monkeypatch.setattr(reference, "CSV_CHUNK_ROWS", PIECE)
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old = reference.write_deliverables(spine, cfg, lang, old_dir, old_dir / "d.xlsx", mask_pii=mask_pii)
    new = dl.write_deliverables(spine, cfg, lang, new_dir, new_dir / "d.xlsx", mask_pii=mask_pii)
    assert [p.name for p in new.csvs] == [p.name for p in old.csvs]
    for a, b in zip(old.csvs, new.csvs):
        assert a.read_bytes() == b.read_bytes(), b.name
    assert _parts(old.workbook) == _parts(new.workbook)
    pd.testing.assert_frame_equal(new.overview, old.overview)
    for name, preview in old.previews.items():
        pd.testing.assert_frame_equal(new.previews[name], preview)
    assert (new.workbook_rows, new.dropped) == (old.workbook_rows, old.dropped) == (700, 1800)
    assert new.notes == old.notes and new.empty_columns == old.empty_columns
    assert any("tag_empty" in cols for cols in new.empty_columns.values())  # the empty column was seen as such


def test_second_language_takes_the_first_languages_empty_columns(seeded, tmp_path, monkeypatch):
    """``write_deliverables_all`` judges the empty columns in the first language only; the
    second language given them writes the very files it writes judging them itself, and
    does not build its sheets twice."""
    spine, cfg = seeded
    monkeypatch.setattr(writer, "CSV_CHUNK_ROWS", PIECE)
    first = dl.write_deliverables(spine, cfg, "zh", tmp_path / "zh", tmp_path / "zh" / "d.xlsx")
    assert any("tag_empty" in cols for cols in first.empty_by_key.values())
    own = dl.write_deliverables(spine, cfg, "en", tmp_path / "own", tmp_path / "own" / "d.xlsx", mask_pii=True)
    monkeypatch.setattr(dl, "_empty_over_chunks", lambda *a, **k: pytest.fail("the first pass ran again"))
    given = dl.write_deliverables(spine, cfg, "en", tmp_path / "given", tmp_path / "given" / "d.xlsx", mask_pii=True,
                                  empty=first.empty_by_key)
    assert given.empty_by_key == own.empty_by_key == first.empty_by_key
    for a, b in zip(own.csvs, given.csvs):
        assert a.read_bytes() == b.read_bytes(), b.name
    assert _parts(own.workbook) == _parts(given.workbook)
    assert given.notes == own.notes


def test_no_sheet_is_held_whole_and_the_spine_is_not_sorted(seeded, tmp_path, monkeypatch):
    spine, cfg = seeded
    monkeypatch.setattr(writer, "CSV_CHUNK_ROWS", PIECE)
    seen = []
    for key, rows in list(dl.SHEET_ROWS.items()):
        def recording(df, c, lang, rows=rows):
            seen.append(len(df))
            return rows(df, c, lang)
        monkeypatch.setitem(dl.SHEET_ROWS, key, recording)

    def no_sort(self, *args, **kwargs):
        if len(self) > cfg.report.excel_max_rows:
            raise AssertionError("a frame of the spine's length was sorted")
        return original(self, *args, **kwargs)

    original = pd.DataFrame.sort_values
    monkeypatch.setattr(pd.DataFrame, "sort_values", no_sort)
    dl.write_deliverables(spine, cfg, "zh", tmp_path, tmp_path / "d.xlsx")
    assert max(seen) <= cfg.report.excel_max_rows and len(seen) >= 3 * (len(spine) // PIECE)


def test_the_workbook_builds_each_sheet_when_it_writes_it(seeded, tmp_path, monkeypatch):
    """One customer sheet of the workbook exists at a time: each is built just before it is
    written, not all three first (at a million customers three sheets of 50,000 rows)."""
    spine, cfg = seeded
    monkeypatch.setattr(writer, "CSV_CHUNK_ROWS", PIECE)
    events = []
    for key, rows in list(dl.SHEET_ROWS.items()):
        def recording(df, c, lang, rows=rows, key=key):
            events.append(("build", key))
            return rows(df, c, lang)
        monkeypatch.setitem(dl.SHEET_ROWS, key, recording)
    write_sheet = writer._write_sheet

    def writing(wb, fmt, name, df, *args):
        events.append(("write", name))
        return write_sheet(wb, fmt, name, df, *args)

    monkeypatch.setattr(writer, "_write_sheet", writing)
    dl.write_deliverables(spine, cfg, "en", tmp_path, tmp_path / "d.xlsx")
    first_write = next(i for i, e in enumerate(events) if e[0] == "write")
    names = [dl.sheet_name(k, "en") for k in dl.SHEET_ROWS]
    assert events[first_write - 1:first_write + 5] == [
        e for key, name in zip(dl.SHEET_ROWS, names) for e in (("build", key), ("write", name))]


@pytest.mark.parametrize("seed", range(6))
def test_first_by_is_a_stable_sort_cut_short(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    values = pd.Series(rng.integers(0, 12, n).astype(float))  # many ties
    values[rng.random(n) < 0.2] = np.nan
    if seed % 2:
        values = values.astype("Int64")  # the nullable integers a spine holds
    for k in (1, 5, n // 2 + 1, n, n + 3):
        expected = values.reset_index(drop=True).sort_values(kind="mergesort").head(k).index.to_numpy()
        np.testing.assert_array_equal(dl.first_by(values, k), expected)


def test_top_customers_keeps_the_order_and_counts_the_rest(seeded):
    spine, _ = seeded
    top = dl.top_customers(spine, 40)
    expected = spine.sort_values("priority", kind="mergesort").head(40)
    pd.testing.assert_frame_equal(top, expected)
    assert top.attrs["dropped"] == len(spine) - 40


def test_sheet_pieces_are_the_sheet(seeded):
    spine, cfg = seeded
    for key, build in dl.SHEET_BUILDERS.items():
        whole = build(spine, cfg, "en")
        pieces = pd.concat(list(dl.sheet_chunks(key, spine, cfg, "en", rows=777)), ignore_index=True)
        pd.testing.assert_frame_equal(pieces, whole, check_dtype=False)
        assert whole.equals(reference.SHEET_BUILDERS[key](spine, cfg, "en")), key
