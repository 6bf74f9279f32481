"""The one writer of every CSV and Excel file the kit leaves, and the one path check.

* Every text cell that a spreadsheet would read as a formula (starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return: OWASP's CSV injection list) is neutralised:
  in CSV with a leading ``'``, in Excel as a string cell with the quote prefix. Numbers,
  negative ones included, stay numbers.
* With ``mask_pii`` every column with a PII role in the column registry is masked
  (:func:`kit.present.table.mask`), so no writer can forget a column.
* Every path written is checked to lie inside the run's output folder (:func:`inside`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kit.present.table import display_values, header, mask

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Rows per chunk when writing CSV: only one chunk's escaped copy exists at once.
CSV_CHUNK_ROWS = 200_000


class UnsafePath(ValueError):
    """A write outside the run's output folder."""


def inside(root: str | Path, path: str | Path) -> Path:
    """``path`` resolved, after checking that it lies inside ``root`` (else :class:`UnsafePath`)."""
    root_r = Path(root).resolve()
    p = Path(path)
    p_r = (root_r / p).resolve() if not p.is_absolute() else p.resolve()
    if p_r != root_r and root_r not in p_r.parents:
        raise UnsafePath(f"refusing to write {p_r}: it is outside the run folder {root_r}")
    return p_r


def is_formula_like(value: Any) -> bool:
    """True for text a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(value: Any) -> Any:
    """Formula-like text gets a leading ``'``; anything else is returned as it is.

    >>> neutralise("=1+1"), neutralise("-5"), neutralise(-5), neutralise("张三")
    ("'=1+1", "'-5", -5, '张三')
    """
    return "'" + value if is_formula_like(value) else value


def _as_text(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return "; ".join(str(v) for v in value)
    return value


def csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as ``yyyy-mm-dd``, lists joined, every text cell and header neutralised."""
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%d")
        elif not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            s = s.map(lambda v: neutralise(_as_text(v)), na_action="ignore")
        out[neutralise(str(col))] = s
    return pd.DataFrame(out, index=df.index)


def write_csv(
    df: pd.DataFrame,
    path: str | Path,
    *,
    root: str | Path,
    lang: str | None = None,
    mask_pii: bool = False,
    bom: bool = True,
) -> Path:
    """Write ``df`` (canonical columns) as CSV inside ``root``.

    ``lang`` given: values and headers as a reader sees them (labels, 是/否) in that
    language; None: canonical headers and stored values (an artifact for the next stage
    or an analyst). PII columns are masked when ``mask_pii``; formula-like text is
    neutralised always. UTF-8 with a BOM by default (Excel opens Chinese correctly).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    target = inside(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as f:
        if bom:
            f.write(b"\xef\xbb\xbf")
        for start in range(0, max(len(df), 1), CSV_CHUNK_ROWS):
            chunk = df.iloc[start:start + CSV_CHUNK_ROWS]
            if lang is not None:
                chunk = display_values(chunk, lang, mask_pii=mask_pii)
                chunk.columns = [header(c, lang) for c in chunk.columns]
            elif mask_pii:
                chunk = mask(chunk)
            chunk = csv_ready(chunk)
            try:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column mixing numbers and text
                chunk.to_csv(f, index=False, header=start == 0, encoding="utf-8")
                continue
            pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=start == 0, quoting_style="needed"))
    return target
