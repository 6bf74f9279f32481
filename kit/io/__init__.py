"""Reading and parsing client exports (imports only kit.core).

:mod:`kit.io.read` reads a file into a :class:`RawTable`; :mod:`kit.io.formats` detects
format, encoding and delimiter; :mod:`kit.io.headers` maps headers to canonical columns;
:mod:`kit.io.parse` parses values (text, ids, amounts, ratios, dates); :mod:`kit.io.readings`
decides once per column how its numbers (decimal mark) and dates (day or month first) read.
"""
from kit.io.formats import (
    HEADER_SCAN_ROWS,
    SOURCE_ROW,
    WHITESPACE,
    InputError,
    detect_encoding,
    detect_format,
    resolve_encoding,
    sniff_delimiter,
)
from kit.io.headers import SYNONYMS, find_header_row, header_key, map_columns, nearest_headers, unique_headers
from kit.io.parse import (
    EXCEL_SERIAL_RANGE,
    MISSING_TOKENS,
    PLAUSIBLE_YEARS,
    READING,
    DateOrder,
    NumberStyle,
    by_unique,
    normalize_ids,
    normalize_text,
    parse_amounts,
    parse_dates,
    parse_numbers,
    parse_ratio,
)
from kit.io.read import RawTable, latest_date, read_table
from kit.io.readings import (
    DATE_COLUMNS,
    NUMBER_COLUMNS,
    decide_readings,
    duplicate_headers,
    evidence_values,
    reading_columns,
    reading_notes,
    readings_info,
)

__all__ = [
    "DATE_COLUMNS", "EXCEL_SERIAL_RANGE", "HEADER_SCAN_ROWS", "MISSING_TOKENS", "NUMBER_COLUMNS", "PLAUSIBLE_YEARS",
    "READING", "SOURCE_ROW", "SYNONYMS", "WHITESPACE", "DateOrder", "InputError", "NumberStyle", "RawTable",
    "by_unique", "decide_readings", "detect_encoding", "detect_format", "duplicate_headers", "evidence_values",
    "find_header_row", "header_key", "latest_date", "map_columns", "nearest_headers", "normalize_ids",
    "normalize_text", "parse_amounts", "parse_dates", "parse_numbers", "parse_ratio", "read_table",
    "reading_columns", "reading_notes", "readings_info", "resolve_encoding", "sniff_delimiter", "unique_headers",
]
