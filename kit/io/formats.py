"""How a client export is stored: its format, text encoding and delimiter.

:func:`detect_format` (CSV, Excel or Parquet, from the first bytes), :func:`detect_encoding`
(UTF-8, UTF-8 with BOM, GBK, GB18030, UTF-16) and :func:`sniff_delimiter`; the
:class:`InputError` every reader raises, and :data:`SOURCE_ROW`, the column holding the row
number a person sees in an editor or in Excel.
"""
from __future__ import annotations

import codecs
import csv
from pathlib import Path

from charset_normalizer import from_bytes


class InputError(ValueError):
    """An input file that cannot be read or mapped; the message names the file and the fix."""


#: Column of a read table holding each row's line (CSV) or row (Excel) number.
SOURCE_ROW = "source_row"

#: Rows scanned for the header below title rows.
HEADER_SCAN_ROWS = 30

#: ``delimiter: whitespace`` splits on runs of spaces and tabs (leading ones ignored).
WHITESPACE = "whitespace"

_MAGIC = {b"PK\x03\x04": "excel", b"PAR1": "parquet", b"\xd0\xcf\x11\xe0": "xls"}


def detect_format(path: Path, configured: str = "auto") -> str:
    """``csv``, ``excel`` or ``parquet``: the configured one, else from the file's first bytes,
    else from its suffix. An old ``.xls`` workbook raises :class:`InputError`."""
    with open(path, "rb") as f:
        head = f.read(8)
    magic = next((fmt for m, fmt in _MAGIC.items() if head.startswith(m)), None)
    if magic == "xls":
        raise InputError(
            f"{path}: is an old Excel 97-2003 workbook (.xls); open it in Excel and save it "
            "as .xlsx (or export CSV), then point the config at the new file"
        )
    if configured != "auto":
        if configured == "csv" and magic is not None:
            raise InputError(
                f"{path}: is configured as CSV but is a binary {magic} file; "
                f"set format: {magic} (or auto) in the config"
            )
        return configured
    if magic is not None:
        return magic
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raise InputError(f"{path}: has an Excel suffix but is not an .xlsx workbook (damaged or renamed)")
    if suffix in (".parquet", ".pq"):
        raise InputError(f"{path}: has a Parquet suffix but is not a Parquet file (damaged or renamed)")
    return "csv"



# ---- CSV ----------------------------------------------------------------------------


def detect_encoding(path: Path, sample_bytes: int = 1 << 16, *, table: str = "<table>") -> str:
    """The text encoding of a CSV file: ``utf-8-sig`` (BOM), ``utf-8``, ``gbk``, ``gb18030``.

    A BOM decides at once. Otherwise the whole file is decoded in chunks, trying UTF-8, then
    GBK, then GB18030 (GBK is a subset of GB18030, so the narrower name is reported when it
    fits). UTF-16 without a byte-order mark (a NUL every other byte) raises
    :class:`InputError` naming ``inputs.<table>.encoding: utf-16``, which reads it; so does a
    file that looks binary.
    """
    with open(path, "rb") as f:
        head = f.read(sample_bytes)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if utf16_without_bom(head):
        raise InputError(
            f"{path}: looks like UTF-16 without a byte-order mark: set inputs.{table}.encoding: utf-16"
        )
    if _looks_binary(head):
        raise InputError(
            f"{path}: does not look like a text (CSV) file: it holds binary data. If it is an "
            "Excel workbook or a Parquet file, give it the right suffix or set format in the config; "
            "otherwise ask the client for a CSV or Excel export"
        )
    for enc in ("utf-8", "gbk", "gb18030"):
        if _decodes(path, enc):
            return enc
    best = from_bytes(head).best()
    if best is None:
        raise InputError(
            f"{path}: no text encoding fits this file (tried UTF-8, GBK, GB18030); it may be "
            "binary or damaged. Set inputs.<table>.encoding in the config if you know it"
        )
    return best.encoding


def utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` when ``head`` (a file's first bytes, no BOM) has the
    pattern of UTF-16 text: a NUL in most odd (LE) or even (BE) bytes and almost none in
    the others; else None."""
    sample = head[: 1 << 12]
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd >= 0.3 and zeros_even <= 0.02:
        return "utf-16-le"
    if zeros_even >= 0.3 and zeros_odd <= 0.02:
        return "utf-16-be"
    return None


def resolve_encoding(path: Path, configured: str, table: str) -> str:
    """The encoding to read a CSV file with: detected when ``configured`` is ``auto``;
    ``utf-16`` on a file without a byte-order mark becomes ``utf-16-le`` / ``-be`` by its
    NUL pattern (Python's and pandas' ``utf-16`` need the mark)."""
    if configured == "auto":
        return detect_encoding(path, table=table)
    try:
        name = codecs.lookup(configured).name
    except LookupError:
        raise InputError(f"{path}: unknown encoding {configured!r} in inputs.{table}.encoding") from None
    if name == "utf-16":
        with open(path, "rb") as f:
            head = f.read(1 << 12)
        if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return utf16_without_bom(head) or "utf-16-le"
    return configured


def _looks_binary(head: bytes) -> bool:
    if not head:
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control / len(head) > 0.05


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True




def _head_lines(path: Path, encoding: str, n: int, table: str) -> list[str]:
    try:
        with open(path, encoding=encoding, newline="") as f:
            out = []
            for line in f:
                out.append(line.rstrip("\r\n"))
                if len(out) >= n:
                    break
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path}: cannot be decoded as {encoding} ({e.reason}); set inputs.{table}.encoding "
            "to the right one (utf-8, gbk, gb18030) or to auto"
        ) from None
    return out


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter among ``, \\t ; |`` that splits the most lines into the same number of
    fields (more than one); ``,`` when none does."""
    best, best_score = ",", (0, 0)
    sample = [line for line in lines if line.strip()][:20]
    for d in (",", "\t", ";", "|"):
        counts = [len(next(csv.reader([line], delimiter=d), [])) for line in sample]
        if not counts or max(counts) < 2:
            continue
        width = max(set(counts), key=counts.count)
        score = (sum(1 for c in counts if c == width and c > 1), width)
        if score > best_score:
            best, best_score = d, score
    return best
