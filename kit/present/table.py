"""One table function for every table a reader sees.

:func:`table` is the only way a frame becomes an HTML table in a report: it escapes every
cell, index label and header; masks PII by the column's registered role when masking is
on; formats each cell by the column's registered kind (money, share, count, date, id,
free text); labels the headers and the stored keys in the report language; and keeps wide
tables readable (a horizontal scroll frame with the id and name columns sticky; long text
cut with the full text on hover).

:func:`display_values` is the same value conversion without HTML, used by the Excel and
CSV writers, so a label, a mask or a format is decided once for every output.
"""
from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from kit.core import registry
from kit.present import privacy
from kit.present.messages import catalogue, label, text

#: Columns kept in view while a wide table scrolls sideways.
STICKY_COLUMNS = ("customer_id", "name")
#: Longer text is cut in HTML tables (the full text shows on hover).
MAX_CELL_CHARS = 60
MISSING = "–"

TABLE_CSS = """
.kit-table-wrap { display: inline-block; vertical-align: top; max-width: 100%; overflow-x: auto; margin: 6px 0 14px; border: 1px solid #e3e8ee; }
table.kit-table { border-collapse: separate; border-spacing: 0; font-size: 13px; }
table.kit-table caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 8px; }
table.kit-table th, table.kit-table td { padding: 4px 8px; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
table.kit-table thead th { background: #eef3f8; position: sticky; top: 0; }
table.kit-table th, table.kit-table td { text-align: left; }
table.kit-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kit-table .kit-sticky { position: sticky; background: #fff; z-index: 1; }
table.kit-table thead .kit-sticky { background: #eef3f8; z-index: 2; }
table.kit-table td.wrap { white-space: normal; min-width: 12em; max-width: 28em; }
"""


# --------------------------------------------------------------------------------------
# Headers and values
# --------------------------------------------------------------------------------------


def header(column: object, lang: str) -> str:
    """Report-language header of a canonical column; other headers as they are."""
    name = str(column)
    col = registry.column(name)
    if col is not None:
        return col.label(lang)
    if name.startswith(registry.TAG_PREFIX):
        return text("table.tag_header", lang, name=_tag_name(name, lang))
    return name


def _tag_name(column: str, lang: str) -> str:
    key = f"label.tag_column.{column}"
    if key in catalogue():
        return catalogue()[key][lang]
    family = f"label.tag_family.{column[len(registry.TAG_PREFIX):]}"  # tag_<family> columns of 03_personas
    if family in catalogue():
        return catalogue()[family][lang]
    return column[len(registry.TAG_PREFIX):]


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _map_distinct(series: pd.Series, fn) -> pd.Series:
    """``fn`` once per distinct value (a million-row column repeats a few labels); missing
    values stay missing; unhashable values (lists) fall back to one call per cell."""
    try:
        distinct = pd.unique(series.dropna())
    except TypeError:
        return series.map(lambda v: None if _is_missing(v) else fn(v))
    return series.map({v: fn(v) for v in distinct})


def _keys(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value if str(v)]
    if isinstance(value, str):
        return [k.strip(" ") for k in value.split(";") if k.strip(" ")]  # spaces only: "\tx" stays as typed
    return []


def _joined_labels(series: pd.Series, vocabulary: str, lang: str) -> pd.Series:
    sep = "；" if lang == "zh" else "; "

    def one(value: Any) -> Any:
        keys = _keys(value)
        return sep.join(label(vocabulary, k, lang) for k in keys) if keys else None

    return _map_distinct(series, one).astype("object")


def _yes_no(series: pd.Series, lang: str) -> pd.Series:
    yes, no = text("table.yes", lang), text("table.no", lang)
    flags = series.astype("boolean")
    return flags.map({True: yes, False: no}).astype("object").where(flags.notna(), None)


def _as_text(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return "; ".join(str(v) for v in value)
    return value


def mask(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every column of a PII role masked (index included)."""
    out = df.copy()
    for col, role in registry.pii_columns(out.columns).items():
        out[col] = privacy.mask_name(out[col]) if role in ("name", "person") else privacy.mask_phone(out[col])
    names = [n for n in (out.index.names or []) if n]
    for n in names:
        role = registry.pii_role(n)
        if role:
            masker = privacy.mask_name if role in ("name", "person") else privacy.mask_phone
            if isinstance(out.index, pd.MultiIndex):
                out.index = out.index.set_levels(masker(pd.Series(out.index.levels[out.index.names.index(n)])).values, level=n)
            else:
                out.index = pd.Index(masker(pd.Series(out.index, dtype="object")).values, name=n)
    return out


def display_values(
    df: pd.DataFrame,
    lang: str,
    *,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
    mask_pii: bool = False,
) -> pd.DataFrame:
    """``df`` with its values as a reader sees them; headers stay canonical.

    Label columns are mapped to report-language labels, flags to 是/否 (yes/no), lists
    joined, dates normalised; ``value_labels`` maps a column's keys to given labels (e.g.
    RFM segment names from the config); with ``mask_pii`` every PII column is masked.
    Numbers stay numbers (formatting is the writer's: HTML text, Excel number formats).
    """
    out = mask(df) if mask_pii else df.copy()
    for col in out.columns:
        s = out[col]
        k = registry.kind(str(col))
        if value_labels and col in value_labels:
            m = value_labels[col]
            out[col] = _map_distinct(s, lambda v, m=m: m.get(v, v) if isinstance(v, str) else v).astype("object")
        elif k.startswith("label:"):
            vocab = k.split(":", 1)[1]
            out[col] = _map_distinct(s, lambda v, vocab=vocab: label(vocab, v, lang)).astype("object")
        elif k.startswith("labels:"):
            out[col] = _joined_labels(s, k.split(":", 1)[1], lang)
        elif k == "bool":
            out[col] = _yes_no(s, lang)
        elif k == "date":
            out[col] = pd.to_datetime(s, errors="coerce").dt.normalize()
        elif s.dtype == object:
            out[col] = _map_distinct(s, _as_text)
    return out


# --------------------------------------------------------------------------------------
# Formatting one cell for HTML
# --------------------------------------------------------------------------------------


def _fmt_number(v: Any, k: str) -> str:
    x = float(v)
    if not math.isfinite(x):
        return MISSING if math.isnan(x) else ("∞" if x > 0 else "-∞")
    if k == "money":
        return f"{round(x) + 0:,.0f}"  # no "-0" for amounts that net to a few cents
    if k == "pct":
        return f"{x:.1%}"
    if k == "score":
        return f"{x:,.1f}"
    if k == "int":
        return f"{x:,.0f}"
    if k == "num":
        return f"{x:,.2f}"
    if k.startswith("decimals:"):
        return f"{x:,.{int(k.split(':')[1])}f}"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.2f}"


def format_cell(v: Any, k: str) -> tuple[str, bool]:
    """(text, is_number) of one value of kind ``k``."""
    if _is_missing(v):
        return MISSING, False
    if isinstance(v, (bool, np.bool_)):
        return str(v), False
    if k == "date" or isinstance(v, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(v)
        return (MISSING if pd.isna(ts) else f"{ts:%Y-%m-%d}"), False
    if k in ("id", "text") or k.startswith("label"):
        return str(_as_text(v)), False
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return _fmt_number(v, k), True
    return str(_as_text(v)), False


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------


class Table:
    """An HTML table ready for a notebook (``display(t)``) or a page (``t.html``)."""

    def __init__(self, html_text: str, frame: pd.DataFrame):
        self.html = html_text
        self.frame = frame  # the displayed values (masked, labelled), for tests

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


def _cell(value_text: str, *, tag: str = "td", cls: list[str] | None = None, style: str = "") -> str:
    esc = html.escape(value_text, quote=True)
    title = ""
    if tag == "td" and len(value_text) > MAX_CELL_CHARS:
        title = f' title="{esc}"'
        esc = html.escape(value_text[: MAX_CELL_CHARS - 1], quote=True) + "…"
    c = f' class="{" ".join(cls)}"' if cls else ""
    s = f' style="{style}"' if style else ""
    return f"<{tag}{c}{s}{title}>{esc}</{tag}>"


def table(
    df: pd.DataFrame,
    lang: str,
    *,
    mask_pii: bool = False,
    kinds: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
    caption: str | None = None,
    index: bool = False,
    max_rows: int | None = 60,
    wrap: Iterable[str] = (),
) -> Table:
    """An escaped, masked, formatted and labelled HTML table of ``df``.

    Parameters
    ----------
    df : DataFrame
        Canonical column names (registered in ``kit/core/columns``) or headers already in
        the report language (a crosstab's labels); values as computed.
    lang : ``zh`` or ``en``
    mask_pii : mask every column (and index level) with a PII role
    kinds : display kind per column, for columns the registry does not know or where a
        table needs another kind (``{"share": "pct"}``)
    value_labels : keys -> labels per column (e.g. the config's RFM segment names)
    caption : text above the table (escaped)
    index : show the index as the first column(s)
    max_rows : show at most this many rows (None: all)
    wrap : columns whose text may wrap (long free text) instead of being cut
    """
    if max_rows is not None and len(df) > max_rows:
        df = df.head(max_rows)
    if index:
        df = df.reset_index()
    kinds = dict(kinds or {})
    shown = display_values(df, lang, value_labels=value_labels, mask_pii=mask_pii)
    cols = list(shown.columns)
    col_kinds = [kinds.get(str(c)) or registry.kind(str(c)) for c in cols]
    for i, c in enumerate(cols):
        if col_kinds[i] == "text" and registry.column(str(c)) is None and pd.api.types.is_numeric_dtype(shown[c]) \
                and not pd.api.types.is_bool_dtype(shown[c]):
            col_kinds[i] = "int" if pd.api.types.is_integer_dtype(shown[c]) else "auto"
    sticky = [i for i, c in enumerate(cols) if str(c) in STICKY_COLUMNS]
    sticky_left = {i: f"left: {j * 8}em; min-width: 8em;" for j, i in enumerate(sticky)}
    wrap_set = {str(w) for w in wrap}
    parts = ['<div class="kit-table-wrap"><table class="kit-table">']
    if caption:
        parts.append(f"<caption>{html.escape(caption, quote=True)}</caption>")
    parts.append("<thead><tr>")
    for i, c in enumerate(cols):
        parts.append(_cell(header(c, lang), tag="th", cls=["kit-sticky"] if i in sticky_left else None,
                           style=sticky_left.get(i, "")))
    parts.append("</tr></thead><tbody>")
    values = shown.to_numpy(dtype=object)
    for row in values:
        parts.append("<tr>")
        for i, v in enumerate(row):
            t, is_num = format_cell(v, col_kinds[i])
            cls = []
            if is_num:
                cls.append("num")
            if i in sticky_left:
                cls.append("kit-sticky")
            if str(cols[i]) in wrap_set:
                cls.append("wrap")
                parts.append(f'<td class="{" ".join(cls)}">{html.escape(t, quote=True)}</td>')
                continue
            parts.append(_cell(t, cls=cls, style=sticky_left.get(i, "")))
        parts.append("</tr>")
    parts.append("</tbody></table></div>")
    return Table("".join(parts), shown)
