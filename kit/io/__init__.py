"""Reading and parsing client exports (imports only kit.core).

:mod:`kit.io.read` reads a file into a :class:`RawTable`; :mod:`kit.io.formats` detects
format, encoding and delimiter; :mod:`kit.io.headers` maps headers to canonical columns;
:mod:`kit.io.parse` parses values (text, ids, amounts, ratios, dates).
"""
from kit.io.formats import (
    HEADER_SCAN_ROWS,
    SOURCE_ROW,
    WHITESPACE,
    InputError,
    detect_encoding,
    detect_format,
    sniff_delimiter,
)
from kit.io.headers import SYNONYMS, find_header_row, header_key, map_columns, nearest_headers, unique_headers
from kit.io.parse import (
    EXCEL_SERIAL_RANGE,
    MISSING_TOKENS,
    PLAUSIBLE_YEARS,
    by_unique,
    normalize_ids,
    normalize_text,
    parse_amounts,
    parse_dates,
    parse_numbers,
    parse_ratio,
)
from kit.io.read import RawTable, latest_date, read_table

__all__ = [
    "EXCEL_SERIAL_RANGE", "HEADER_SCAN_ROWS", "MISSING_TOKENS", "PLAUSIBLE_YEARS", "SOURCE_ROW", "SYNONYMS",
    "WHITESPACE", "InputError", "RawTable", "by_unique", "detect_encoding", "detect_format", "find_header_row",
    "header_key", "latest_date", "map_columns", "nearest_headers", "normalize_ids", "normalize_text",
    "parse_amounts", "parse_dates", "parse_numbers", "parse_ratio", "read_table", "sniff_delimiter",
    "unique_headers",
]
