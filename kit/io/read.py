"""Read client exports as they come: CSV (UTF-8, UTF-8 with BOM, GBK / GB18030), Excel, Parquet.

:func:`read_table` turns one configured input file into a :class:`RawTable`: every value
as a string exactly as the file holds it (nothing parsed, nothing dropped), the row
number a person sees in Excel or an editor, the encoding that was detected, the header
row that was found below any title rows, and the mapping of canonical column names
(``kit.config.CANONICAL_COLUMNS``) to the file's headers, either configured or recognised
through :data:`SYNONYMS`.

The value parsers :func:`normalize_text`, :func:`normalize_ids`, :func:`parse_dates`,
:func:`parse_amounts` and :func:`parse_ratio` are vectorised and work on the distinct
values of a column only (:func:`by_unique`): exports repeat dates, ids and statuses a lot.
Fast paths handle the common formats; only what they could not parse goes through slower
rules.

Anything that keeps a file from being read raises :class:`InputError`, whose message
names the file, the column when there is one, and the fix.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from kit.core import paths
from kit.core.config import CANONICAL_COLUMNS, InputTable

if TYPE_CHECKING:  # pragma: no cover
    from kit.core.config import KitConfig


class InputError(ValueError):
    """An input file that cannot be read or mapped; the message names the file and the fix."""


# --------------------------------------------------------------------------------------
# Header synonyms
# --------------------------------------------------------------------------------------

_CUSTOMER_ID = [
    "客户编号", "客户ID", "客户id", "客户代码", "客户编码", "客户号", "会员编号", "会员ID",
    "customer id", "customer_id", "customerid", "customer no", "customer number", "cust_no",
    "cust id", "cust_id", "client id", "client_id", "buyer id",
]

#: Common source headers per canonical column, in order of preference (first wins).
#: Headers are compared after :func:`header_key` (NFKC, case, spaces, ``_ - .`` removed),
#: and also with a parenthesised unit removed (``年营收(万元)`` matches ``年营收``).
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "transactions": {
        "customer_id": _CUSTOMER_ID,
        "order_id": [
            "订单编号", "订单号", "订单ID", "单号", "单据编号", "单据号", "order id", "order_id",
            "order no", "order number", "invoice no", "invoice number", "invoice", "transaction id",
        ],
        "order_date": [
            "订单日期", "下单时间", "下单日期", "交易日期", "交易时间", "成交日期", "购买日期",
            "订单时间", "日期", "order date", "order_date", "order time", "transaction date",
            "purchase date", "invoice date", "created at", "date",
        ],
        "amount": [
            "实付金额", "金额", "订单金额", "交易金额", "成交金额", "实收金额", "付款金额",
            "销售金额", "销售额", "总金额", "合计金额", "amount", "order amount", "net amount",
            "paid amount", "payment amount", "sales amount", "total amount", "sales", "revenue",
            "total",
        ],
        "profit": ["毛利", "毛利额", "利润", "毛利润", "profit", "gross profit"],
        "margin": ["毛利率", "利润率", "margin", "gross margin", "margin rate"],
        "category": [
            "产品类别", "产品类型", "产品品类", "品类", "类别", "产品线", "product category",
            "category", "product line", "product type",
        ],
        "channel": ["渠道", "销售渠道", "下单渠道", "channel", "sales channel"],
        "quantity": ["数量", "件数", "购买数量", "quantity", "qty", "units"],
        "status": ["订单状态", "状态", "status", "order status"],
        "payment_status": ["付款状态", "支付状态", "回款状态", "payment status"],
        "days_overdue": ["逾期天数", "账期逾期天数", "逾期", "days overdue", "overdue days"],
    },
    "customers": {
        "customer_id": _CUSTOMER_ID,
        "name": [
            "客户名称", "公司名称", "企业名称", "客户名", "名称", "customer name", "company name",
            "company", "name",
        ],
        "industry": ["所属行业", "行业", "industry", "sector"],
        "region": ["所在区域", "区域", "地区", "所在地区", "省份", "region", "area", "province"],
        "employees": ["员工人数", "员工数", "人数", "employees", "headcount", "employee count", "staff"],
        "annual_revenue": [
            "年营收", "年营业额", "年收入", "营收", "营业收入", "annual revenue", "revenue",
        ],
        "contact_name": ["联系人", "联系人姓名", "contact name", "contact"],
        "contact_title": ["联系人职位", "联系人职务", "职位", "职务", "contact title", "job title", "title"],
        "contact_phone": ["联系电话", "电话", "手机", "手机号", "contact phone", "phone", "mobile"],
        "first_cooperation_date": [
            "首次合作日期", "首次合作时间", "合作开始日期", "first cooperation date", "customer since",
        ],
        "contract_end_date": [
            "合同到期日", "合同到期日期", "合同截止日期", "合同到期", "contract end date",
            "contract end", "contract expiry",
        ],
        "growth_stage": ["成长阶段", "发展阶段", "企业阶段", "growth stage", "stage"],
        "strategic_partner": ["战略合作伙伴", "是否战略合作伙伴", "战略伙伴", "strategic partner"],
        "industry_leader": ["行业龙头", "是否行业龙头", "龙头企业", "industry leader"],
        "expansion_plan": ["扩张计划", "扩张规划", "expansion plan"],
        "industry_growth": ["行业增长", "行业增长前景", "行业前景", "industry growth"],
        "referrals": ["转介绍次数", "推荐次数", "转介绍", "referrals", "referral count"],
        "account_manager": ["客户经理", "销售负责人", "负责人", "account manager", "sales rep", "owner"],
        "updated_at": ["更新时间", "更新日期", "最后更新", "updated at", "last updated", "modified"],
    },
    "interactions": {
        "customer_id": _CUSTOMER_ID,
        "date": [
            "互动日期", "互动时间", "联系日期", "日期", "时间", "interaction date", "contact date", "date",
        ],
        "type": ["互动类型", "类型", "类别", "interaction type", "type"],
        "score": ["满意度", "满意度评分", "评分", "分数", "nps", "score", "satisfaction", "rating"],
        "keywords": ["关键词", "关键字", "keywords", "tags"],
        "channel": ["渠道", "互动渠道", "channel"],
        "text": ["备注", "内容", "描述", "说明", "text", "notes", "note", "comment", "remarks"],
        "interaction_id": ["互动编号", "记录编号", "interaction id", "interaction_id"],
    },
}

#: Values read as missing (compared after NFKC, strip and lower-casing).
MISSING_TOKENS = frozenset(
    {"", "nan", "none", "null", "n/a", "na", "#n/a", "-", "--", "—", "nat", "<na>", "(null)"}
)

#: Rows scanned for the header below title rows.
HEADER_SCAN_ROWS = 30


def header_key(header: object) -> str:
    """The form headers are compared in: NFKC, lower case, no spaces, ``_``, ``-`` or ``.``."""
    text = unicodedata.normalize("NFKC", str(header)).lower()
    return re.sub(r"[\s_\-.:：]+", "", text)


def _header_keys(header: object) -> set[str]:
    key = header_key(header)
    no_unit = re.sub(r"\(.*?\)|\[.*?\]", "", key)
    return {key, no_unit} - {""}


# --------------------------------------------------------------------------------------
# RawTable
# --------------------------------------------------------------------------------------

SOURCE_ROW = "source_row"


@dataclass
class RawTable:
    """One input file as read: strings only, plus where each row came from.

    ``frame`` holds the file's columns under their source headers (every value a string,
    ``""`` for an empty cell) and ``source_row``: the 1-based line (CSV) or row (Excel)
    number a person sees in an editor or in Excel; for Parquet, the 1-based row index.
    ``mapping`` is canonical name -> source header; ``how`` says per canonical name
    whether the mapping was ``configured`` or found by ``synonym``.
    """

    table: str
    frame: pd.DataFrame
    path: Path
    format: str = "csv"
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    delimiter: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    blank_rows: int = 0

    @property
    def source_columns(self) -> list[str]:
        """The file's own columns (without ``source_row``)."""
        return [c for c in self.frame.columns if c != SOURCE_ROW]

    @property
    def display_path(self) -> str:
        """The path relative to the project root when inside it, else absolute."""
        try:
            return str(self.path.resolve().relative_to(paths.PROJ_ROOT))
        except ValueError:
            return str(self.path)

    def column(self, canonical: str) -> pd.Series | None:
        """The source column mapped to ``canonical`` (strings), or None when unmapped."""
        src = self.mapping.get(canonical)
        return None if src is None else self.frame[src]

    def info(self) -> dict[str, Any]:
        """JSON-able description of how the file was read (for quality.json); here
        ``header_row`` is the 1-based line or Excel row a person sees."""
        return {
            "path": self.display_path,
            "format": self.format,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "header_row": None if self.header_row is None else self.header_row + 1,
            "delimiter": self.delimiter,
            "rows": int(len(self.frame)),
            "blank_rows_skipped": int(self.blank_rows),
        }

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        table: str,
        *,
        columns: dict[str, str] | None = None,
        path: str | Path = "<memory>",
    ) -> "RawTable":
        """A RawTable from an in-memory frame of strings (tests, other engines).

        ``source_row`` is kept when present, else numbered 2, 3, ... (a header on line 1).
        """
        frame = frame.copy()
        if SOURCE_ROW not in frame.columns:
            frame[SOURCE_ROW] = np.arange(2, len(frame) + 2, dtype="int64")
        src_cols = [c for c in frame.columns if c != SOURCE_ROW]
        for c in src_cols:
            frame[c] = _as_text(frame[c])
        mapping, how = map_columns(src_cols, table, columns or {}, source=str(path))
        return cls(table=table, frame=frame, path=Path(path), format="memory",
                   mapping=mapping, how=how)


def _as_text(s: pd.Series) -> pd.Series:
    """A column as strings, ``""`` for missing."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "", regex=False)
        return out.fillna("").astype("str")
    if s.dtype == object:
        return s.map(_cell_str, na_action=None).astype("str")
    return s.astype("string").fillna("").astype("str")


def _cell_str(v: object) -> str:
    """One Excel / object cell as the text a person sees."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time(0) else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def read_table(
    spec: InputTable,
    table: str,
    *,
    only: list[str] | None = None,
) -> RawTable:
    """Read one configured input file (see :class:`kit.config.InputTable`).

    ``table`` is ``transactions``, ``customers`` or ``interactions`` (which canonical
    columns and synonyms apply). ``only`` restricts the frame to the source columns mapped
    to these canonical names (a quick read, e.g. for :func:`latest_date`).

    Raises :class:`InputError` for a missing, empty, header-only or binary file, an
    undecodable text, a missing sheet, and a required or configured column the file lacks.
    """
    if table not in CANONICAL_COLUMNS:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(CANONICAL_COLUMNS)}")
    path = paths.resolve(spec.path)
    where = f"inputs.{table}.path"
    if not path.exists():
        raise InputError(f"{path}: file not found ({where}); check the path in the config")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file ({where})")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); ask the client for a new export")
    fmt = detect_format(path, spec.format)
    if fmt == "csv":
        frame, meta = _read_csv(path, spec, table)
    elif fmt == "excel":
        frame, meta = _read_excel(path, spec, table)
    else:
        frame, meta = _read_parquet(path)

    src_cols = [c for c in frame.columns if c != SOURCE_ROW]
    data = frame[src_cols]
    blank = (data == "").all(axis=1) if len(src_cols) else pd.Series(True, index=frame.index)
    blank_rows = int(blank.sum())
    if blank_rows:
        frame = frame.loc[~blank].reset_index(drop=True)
    if len(frame) == 0:
        raise InputError(
            f"{path}: has a header row ({_preview(src_cols)}) but no data rows; "
            "ask the client for an export with data"
        )
    mapping, how = map_columns(src_cols, table, spec.columns, source=str(path))
    if only is not None:
        keep = [mapping[c] for c in only if c in mapping]
        frame = frame[keep + [SOURCE_ROW]]
        mapping = {c: mapping[c] for c in only if c in mapping}
        how = {c: how[c] for c in mapping}
    return RawTable(
        table=table, frame=frame, path=path, format=fmt, blank_rows=blank_rows,
        mapping=mapping, how=how, **meta,
    )


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


def detect_encoding(path: Path, sample_bytes: int = 1 << 16) -> str:
    """The text encoding of a CSV file: ``utf-8-sig`` (BOM), ``utf-8``, ``gbk``, ``gb18030``.

    A BOM decides at once. Otherwise the whole file is decoded in chunks, trying UTF-8, then
    GBK, then GB18030 (GBK is a subset of GB18030, so the narrower name is reported when it
    fits). A file that looks binary raises :class:`InputError`.
    """
    with open(path, "rb") as f:
        head = f.read(sample_bytes)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _looks_binary(head):
        raise InputError(
            f"{path}: does not look like a text (CSV) file: it holds binary data. If it is an "
            "Excel workbook or a Parquet file, give it the right suffix or set format in the config; "
            "otherwise ask the client for a CSV or Excel export"
        )
    for enc in ("utf-8", "gbk", "gb18030"):
        if _decodes(path, enc):
            return enc
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise InputError(
            f"{path}: no text encoding fits this file (tried UTF-8, GBK, GB18030); it may be "
            "binary or damaged. Set inputs.<table>.encoding in the config if you know it"
        )
    return best.encoding


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


#: ``delimiter: whitespace`` splits on runs of spaces and tabs (leading ones ignored).
WHITESPACE = "whitespace"


def _read_csv(path: Path, spec: InputTable, table: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    encoding = detect_encoding(path) if spec.encoding == "auto" else spec.encoding
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"{path}: unknown encoding {encoding!r} in inputs.{table}.encoding") from None
    lines = _head_lines(path, encoding, HEADER_SCAN_ROWS, table)
    if not any(line.strip() for line in lines):
        raise InputError(f"{path}: holds no text (only blank lines); ask the client for a new export")
    delimiter = spec.delimiter or sniff_delimiter(lines)
    if delimiter == WHITESPACE:  # fixed-width-ish text such as the CDNOW files
        rows = [line.split() for line in lines]
        sep = r"\s+"
    else:
        rows = [next(csv.reader([line], delimiter=delimiter), []) for line in lines]
        sep = delimiter
    header_idx = spec.header_row if spec.header_row is not None else find_header_row(rows, table, spec.columns)
    if header_idx >= len(rows) and spec.header_row is not None:
        raise InputError(f"{path}: inputs.{table}.header_row is {spec.header_row}, but the file has "
                         f"only {len(rows)} lines")
    try:
        frame = pd.read_csv(
            path, encoding=encoding, sep=sep, skiprows=header_idx, header=0, dtype=str,
            na_filter=False, skip_blank_lines=False, keep_default_na=False, engine="c",
        )
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path}: cannot be decoded as {encoding} ({e.reason} at byte {e.start}); set "
            f"inputs.{table}.encoding to the right one (utf-8, gbk, gb18030) or to auto"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: has no header row; ask the client for a new export") from None
    except pd.errors.ParserError as e:
        raise InputError(
            f"{path}: rows do not split into the header's columns with delimiter {delimiter!r} "
            f"({e}); set inputs.{table}.delimiter, or fix the file's quoting"
        ) from None
    frame = frame.fillna("")
    frame.columns = unique_headers(frame.columns)
    # line number of data row i: header line (header_idx + 1) + 1 + i
    frame[SOURCE_ROW] = np.arange(header_idx + 2, header_idx + 2 + len(frame), dtype="int64")
    return frame, {"encoding": encoding, "header_row": header_idx, "delimiter": delimiter}


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


# ---- Excel ----------------------------------------------------------------------------


def _read_excel(path: Path, spec: InputTable, table: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    fh = open(path, "rb")  # a handle, not the name: openpyxl refuses names not ending in .xlsx
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as e:
        fh.close()
        raise InputError(f"{path}: is not a readable .xlsx workbook ({e}); re-save it from Excel") from None
    try:
        names = wb.sheetnames
        sheet = spec.sheet
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise InputError(
                    f"{path}: inputs.{table}.sheet is {sheet}, but the workbook has {len(names)} "
                    f"sheet(s): {', '.join(names)}"
                )
            name = names[sheet]
        else:
            name = next((n for n in names if n == sheet), None) or next(
                (n for n in names if n.strip().lower() == str(sheet).strip().lower()), None
            )
            if name is None:
                near = difflib.get_close_matches(str(sheet), names, n=3, cutoff=0.3)
                hint = f"; nearest: {', '.join(near)}" if near else ""
                raise InputError(
                    f"{path}: has no sheet {sheet!r} (inputs.{table}.sheet); sheets: "
                    f"{', '.join(names)}{hint}"
                )
        ws = wb[name]
        ws.reset_dimensions()
        rows = [tuple(_cell_str(v) for v in r) for r in ws.iter_rows(min_row=1, values_only=True)]
    finally:
        wb.close()
        fh.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(f"{path}: sheet {name!r} is empty; check inputs.{table}.sheet")
    width = max(len(r) for r in rows)
    rows = [list(r) + [""] * (width - len(r)) for r in rows]
    header_idx = (
        spec.header_row if spec.header_row is not None
        else find_header_row(rows[:HEADER_SCAN_ROWS], table, spec.columns)
    )
    if header_idx >= len(rows):
        raise InputError(f"{path}: inputs.{table}.header_row is {header_idx}, but sheet {name!r} "
                         f"has only {len(rows)} rows")
    header = rows[header_idx]
    # drop trailing columns with neither header nor data
    used = [j for j in range(width) if header[j] != "" or any(r[j] != "" for r in rows[header_idx + 1:])]
    last = (max(used) + 1) if used else 0
    body = [r[:last] for r in rows[header_idx + 1:]]
    frame = pd.DataFrame(body, columns=unique_headers(header[:last]), dtype="str")
    frame[SOURCE_ROW] = np.arange(header_idx + 2, header_idx + 2 + len(frame), dtype="int64")
    return frame, {"sheet": name, "header_row": header_idx}


# ---- Parquet --------------------------------------------------------------------------


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    try:
        df = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several types for damaged files
        raise InputError(f"{path}: is not a readable Parquet file ({type(e).__name__}: {e})") from None
    df = df.reset_index(drop=not any(n is not None for n in df.index.names))
    frame = pd.DataFrame({str(c): _as_text(df[c]) for c in df.columns})
    frame.columns = unique_headers(frame.columns)
    frame[SOURCE_ROW] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame, {}


# ---- headers --------------------------------------------------------------------------


def unique_headers(headers) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        h = unicodedata.normalize("NFKC", str(h)).strip() if h is not None else ""
        if h == "" or h.startswith("Unnamed:"):
            h = f"column_{i + 1}"
        if h == SOURCE_ROW:
            h = f"{SOURCE_ROW} (source)"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        out.append(h)
    return out


def find_header_row(rows: list[list[str]], table: str, configured: dict[str, str] | None = None) -> int:
    """0-based index of the header among the first rows (title rows above it are skipped).

    The header is the first row with the most cells that name a known column (a synonym of
    ``table`` or a configured source header); when no row names any, the first row with
    as many filled cells as the widest row.
    """
    known: set[str] = set()
    for syns in SYNONYMS.get(table, {}).values():
        for s in syns:
            known |= _header_keys(s)
    for src in (configured or {}).values():
        known |= _header_keys(src)
    best_idx, best_hits = 0, 0
    filled = []
    for i, row in enumerate(rows):
        cells = [c for c in row if str(c).strip() != ""]
        filled.append(len(cells))
        hits = sum(1 for c in cells if _header_keys(c) & known)
        if hits > best_hits:
            best_idx, best_hits = i, hits
    if best_hits > 0:
        return best_idx
    if not filled or max(filled) == 0:
        return 0
    return next(i for i, n in enumerate(filled) if n == max(filled))


def map_columns(
    headers: list[str],
    table: str,
    configured: dict[str, str],
    *,
    source: str = "",
) -> tuple[dict[str, str], dict[str, str]]:
    """Map canonical names to source headers: ``(mapping, how)``.

    Configured names come first and must exist in the file; the other canonical names are
    matched by :data:`SYNONYMS` (a header is used once). A configured header the file lacks,
    an unknown canonical name, or a missing required column raises :class:`InputError`
    with the headers found and the nearest matches.
    """
    spec = CANONICAL_COLUMNS[table]
    allowed = spec["required"] + spec["optional"]
    mapping: dict[str, str] = {}
    how: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for h in headers:
        for k in _header_keys(h):
            by_key.setdefault(k, h)
    for canon, src in configured.items():
        if canon not in allowed:
            near = difflib.get_close_matches(canon, allowed, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise InputError(
                f"{source}: inputs.{table}.columns names {canon!r}, which is not a canonical "
                f"{table} column{hint}; allowed: {', '.join(allowed)}"
            )
        if src in headers:
            found = src
        else:
            found = next((by_key[k] for k in _header_keys(src) if k in by_key), None)
        if found is None:
            raise InputError(
                f"{source}: inputs.{table}.columns.{canon} names the header {src!r}, which the "
                f"file lacks. Headers found: {_preview(headers)}. "
                f"{_nearest_text(headers, [src])}Fix: correct the header in the config"
            )
        mapping[canon] = found
        how[canon] = "configured"
    used = set(mapping.values())
    for canon in allowed:
        if canon in mapping:
            continue
        for syn in SYNONYMS[table].get(canon, []):
            hit = next((by_key[k] for k in _header_keys(syn) if k in by_key and by_key[k] not in used), None)
            if hit is not None:
                mapping[canon] = hit
                how[canon] = "synonym"
                used.add(hit)
                break
    missing = [c for c in spec["required"] if c not in mapping]
    if missing:
        parts = []
        for canon in missing:
            cands = [h for h in headers if h not in used]
            parts.append(
                f"required column {canon!r} not found. "
                f"{_nearest_text(cands, SYNONYMS[table].get(canon, []) + [canon])}"
            )
        example = ", ".join(f'{c}: "<header>"' for c in missing)
        raise InputError(
            f"{source}: {table}: " + " ".join(parts)
            + f"Headers found: {_preview(headers)}. "
            + f"Fix: map it in the config, e.g. inputs.{table}.columns: {{{example}}}"
        )
    ordered = {c: mapping[c] for c in allowed if c in mapping}
    return ordered, {c: how[c] for c in ordered}


def nearest_headers(headers: list[str], wanted: list[str], n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` headers most similar to any of ``wanted`` (difflib ratio), best first."""
    scored = []
    wanted_keys = [header_key(w) for w in wanted]
    for h in headers:
        hk = header_key(h)
        score = max((difflib.SequenceMatcher(None, hk, w).ratio() for w in wanted_keys), default=0.0)
        scored.append((h, round(score, 2)))
    scored.sort(key=lambda t: -t[1])
    return [t for t in scored[:n] if t[1] > 0.2]


def _nearest_text(headers: list[str], wanted: list[str]) -> str:
    near = nearest_headers(headers, wanted)
    if not near:
        return "No similar header. "
    return "Nearest: " + ", ".join(f"{h!r} ({s:.2f})" for h, s in near) + ". "


def _preview(headers: list[str], n: int = 30) -> str:
    shown = ", ".join(repr(h) for h in headers[:n])
    return shown + (f", ... ({len(headers)} in all)" if len(headers) > n else "")


# --------------------------------------------------------------------------------------
# Value parsers
# --------------------------------------------------------------------------------------


def by_unique(series: pd.Series, fn: Callable[[pd.Series], Any]) -> Any:
    """Apply ``fn`` (Series of strings -> Series, or a tuple of Series) to the distinct
    values of ``series`` only and spread the results back over its rows.

    Exports repeat values a lot (dates, ids, statuses), so parsing distinct values once
    is much faster on large files; missing values are passed to ``fn`` once, as NA.
    """
    s = series if series.dtype == "str" else _as_text(series)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(uniques, dtype="str")
    u = pd.concat([u, pd.Series([pd.NA], dtype="str")], ignore_index=True)  # slot for NA
    codes = np.where(codes < 0, len(u) - 1, codes)
    out = fn(u)

    def spread(r: pd.Series) -> pd.Series:
        return pd.Series(r.array.take(codes), index=series.index, name=series.name)

    return tuple(spread(r) for r in out) if isinstance(out, tuple) else spread(out)


def _normalize_unique(u: pd.Series) -> pd.Series:
    wide = ~u.str.isascii().fillna(True).astype(bool)
    if wide.any():
        u = u.copy()
        u[wide] = u[wide].str.normalize("NFKC")
    u = u.str.strip()
    return u.where(~u.str.lower().isin(MISSING_TOKENS).fillna(False).astype(bool))


def normalize_text(series: pd.Series) -> pd.Series:
    """Strings with full-width characters folded (NFKC), surrounding and full-width spaces
    stripped, and missing tokens (``""``, ``null``, ``N/A``, ``-`` ...) as NA."""
    return by_unique(series, _normalize_unique)


def _ids_unique(u: pd.Series) -> pd.Series:
    u = _normalize_unique(u)
    spreadsheet_number = u.str.match(r"^\d+\.0+$").fillna(False).astype(bool)
    return u.where(~spreadsheet_number, u.str.replace(r"\.0+$", "", regex=True))


def normalize_ids(series: pd.Series) -> pd.Series:
    """Ids as strings: leading zeros kept, spaces stripped, full-width folded, ``1001.0``
    (a number that went through a spreadsheet) back to ``1001``; missing as NA."""
    return by_unique(series, _ids_unique)


_CURRENCY_RE = r"(?i)(?:rmb|cny|usd|us\$|hk\$|hkd|eur|[¥$€£]|元)"


def _amounts_unique(u: pd.Series) -> tuple[pd.Series, pd.Series]:
    t = _normalize_unique(u)
    t = t.str.replace(_CURRENCY_RE, "", regex=True).str.replace(r"[,\s'_]", "", regex=True)
    paren = t.str.match(r"^\(.*\)$").fillna(False).astype(bool)
    t = t.where(~paren, t.str.replace(r"^\(|\)$", "", regex=True))
    trailing_minus = t.str.match(r"^[0-9.]+-$").fillna(False).astype(bool)
    t = t.where(~trailing_minus, t.str.replace(r"-$", "", regex=True))
    wan = t.str.endswith("万").fillna(False).astype(bool)
    t = t.where(~wan, t.str.replace(r"万$", "", regex=True))
    values = pd.to_numeric(t, errors="coerce").astype("float64")
    values = values.where(~wan, values * 10_000)
    values = values.where(~(paren | trailing_minus), -values.abs())
    ok = values.notna() & np.isfinite(values.fillna(0))
    return values.where(ok), ok.astype(bool)


def parse_amounts(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Amounts as float64 and a mask of the values that parsed: ``(values, ok)``.

    Accepts currency marks (``¥ ￥ RMB CNY $ 元``), thousands separators, full-width digits,
    parentheses or a trailing minus for negatives and a ``万`` (x 10,000) suffix. Missing and
    unparseable values are NaN with ``ok`` False.
    """
    return by_unique(series, _amounts_unique)


def parse_ratio(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ratios (margins) as fractions: ``35%`` and ``0.35`` both give 0.35. A column without
    ``%`` signs whose values are mostly above 1.5 is taken as percent points and divided by 100."""
    t = normalize_text(series)
    pct = t.str.endswith("%").fillna(False).astype(bool)
    values, ok = parse_amounts(t.str.rstrip("%"))
    values = values.where(~pct, values / 100)
    plain = values[~pct & ok]
    if not pct.any() and len(plain) and plain.abs().median() > 1.5:
        values = values / 100
    return values, ok


def parse_numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Counts and other plain numbers (quantity, employees, days): as :func:`parse_amounts`."""
    return parse_amounts(series)


_ISO_RE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_YMD_RE = (
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2})?$"
)
#: Excel serial day numbers accepted as dates (1954-10-04 .. 2119-01-08).
EXCEL_SERIAL_RANGE = (20_000, 80_000)
#: Dates outside this range are treated as unparseable (placeholders such as 0001-01-01).
PLAUSIBLE_YEARS = (1900, 2200)


def parse_dates(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates (with or without time) as ``datetime64[ns]`` and a mask of those that parsed.

    Fast paths, each on the values still unparsed: ISO ``2024-01-05[ 10:00[:00]]``;
    ``2024/1/5``, ``2024.1.5``, ``2024年1月5日`` (time optional, a UTC offset ignored);
    ``20240105`` and ``20240105103000``; Excel serial numbers (``45296``). What remains and
    holds a four-digit year goes through ``dateutil`` one unique value at a time. Dates
    outside :data:`PLAUSIBLE_YEARS` count as unparseable.
    """
    return by_unique(series, _dates_unique)


def _dates_unique(u: pd.Series) -> tuple[pd.Series, pd.Series]:
    t = _normalize_unique(u)
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns]")
    todo = t.notna()

    iso = todo & t.str.match(_ISO_RE).fillna(False).astype(bool)
    if iso.any():
        out[iso] = _plausible_ns(pd.to_datetime(t[iso], format="ISO8601", errors="coerce"))
        todo &= out.isna()

    if todo.any():
        v = (
            t[todo].str.replace(r"[年月/.]", "-", regex=True).str.replace(r"[日号]", "", regex=True)
            .str.replace("T", " ", regex=False).str.strip()
        )
        parts = v.str.extract(_YMD_RE).astype("float64")
        parts.columns = ["year", "month", "day", "hour", "minute", "second"]
        got = parts["year"].notna()
        if got.any():
            p = parts[got].fillna({"hour": 0, "minute": 0, "second": 0})
            out[p.index] = _plausible_ns(pd.to_datetime(p, errors="coerce"))
            todo &= out.isna()

    if todo.any():
        compact = todo & t.str.match(r"^\d{8}(\d{6})?$").fillna(False).astype(bool)
        if compact.any():
            c = t[compact]
            d8 = c.str.len() == 8
            out[c.index[d8]] = _plausible_ns(pd.to_datetime(c[d8], format="%Y%m%d", errors="coerce"))
            out[c.index[~d8]] = _plausible_ns(pd.to_datetime(
                c[~d8], format="%Y%m%d%H%M%S", errors="coerce"))
            todo &= out.isna()

    if todo.any():
        num = pd.to_numeric(t[todo].where(t[todo].str.match(r"^\d+(\.\d+)?$").fillna(False)), errors="coerce")
        lo, hi = EXCEL_SERIAL_RANGE
        serial = num[(num >= lo) & (num <= hi)]
        if len(serial):
            out[serial.index] = (
                pd.Timestamp("1899-12-30") + pd.to_timedelta(serial.round(6), unit="D")
            ).dt.round("s")
            todo &= out.isna()

    if todo.any():
        rest = t[todo]
        rest = rest[rest.str.contains(r"(?:19|20|21)\d\d", regex=True).fillna(False)]
        if len(rest):
            parsed = {v: _dateutil(v) for v in rest.unique()}
            out[rest.index] = _plausible_ns(rest.map(parsed))

    return out, out.notna()


_LOW, _HIGH = (pd.Timestamp(f"{y}-01-01") for y in PLAUSIBLE_YEARS)


def _plausible_ns(s: pd.Series) -> pd.Series:
    """Dates within :data:`PLAUSIBLE_YEARS` as ``datetime64[ns]``, others NaT."""
    s = pd.Series(s)
    if s.dtype == object:
        s = pd.to_datetime(s, errors="coerce")
    return s.where((s >= _LOW) & (s < _HIGH)).astype("datetime64[ns]")


def _dateutil(value: str) -> pd.Timestamp:
    from dateutil import parser

    try:
        ts = pd.Timestamp(parser.parse(value, yearfirst=True))
    except (ValueError, OverflowError, TypeError):
        return pd.NaT
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


# --------------------------------------------------------------------------------------
# Latest order date
# --------------------------------------------------------------------------------------


def latest_date(cfg: "KitConfig", *, min_share: float | None = None) -> pd.Timestamp:
    """The latest order date in the transactions file (used when the config has no ``as_of``).

    Reads only the order-date column. Future-dated defects (pre-booked orders, typing
    errors) must not move the period: the result is the latest date in the last calendar
    month whose order count is at least ``min_share`` (default
    ``cfg.cleaning.latest_date_min_share``) of the median monthly count.
    """
    if min_share is None:
        min_share = cfg.cleaning.latest_date_min_share
    raw = read_table(cfg.inputs.transactions, "transactions", only=["order_date"])
    dates, ok = parse_dates(raw.column("order_date"))
    dates = dates[ok]
    if dates.empty:
        raise InputError(
            f"{raw.path}: no order date parses in column {raw.mapping['order_date']!r}; "
            "set as_of in the config, or map the right column"
        )
    months = dates.dt.to_period("M")
    counts = months.value_counts()
    dense = counts[counts >= min_share * counts.median()]
    return dates[months <= dense.index.max()].max().normalize()
