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
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from kit.core import registry
from kit.present import privacy
from kit.present.messages import catalogue, label, text

#: Columns kept in view while a wide table scrolls sideways.
STICKY_COLUMNS = ("customer_id", "name")
#: Longer text is cut in HTML tables (the full text shows on hover).
MAX_CELL_CHARS = 60
MISSING = "–"

#: Tables showing more rows than this are sortable (click a header) and filterable (a text box
#: above the table) in the HTML pages; ``report.interactive_rows`` in the config.
INTERACTIVE_ROWS = 15
#: Width of a sticky column, in em: from its longest text, within these bounds (longer text
#: is cut with an ellipsis, the full text on hover).
STICKY_MIN_EM, STICKY_MAX_EM = 4.0, 13.0
#: Horizontal padding of a cell (8px each side at 13px), in em.
CELL_PADDING_EM = 1.25

# The selectors start at .kit-table-wrap: JupyterLab's own table rules (right-aligned,
# wrapping cells, ``:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td``) are more specific
# than ``table.kit-table td`` and would win.
TABLE_CSS = """
.kit-table-wrap { display: block; box-sizing: border-box; width: fit-content; max-width: 100%; overflow-x: auto;
  margin: 6px 0 14px; border: 1px solid #e3e8ee; }
.kit-table-wrap table.kit-table { border-collapse: separate; border-spacing: 0; font-size: 13px; table-layout: auto;
  margin: 0; width: auto; }
.kit-table-wrap table.kit-table caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 8px;
  white-space: normal; }
.kit-table-wrap table.kit-table th, .kit-table-wrap table.kit-table td { padding: 4px 8px; border: none;
  border-bottom: 1px solid #eef1f4; white-space: nowrap; text-align: left; vertical-align: top; max-width: none;
  line-height: 1.45; }
.kit-table-wrap table.kit-table thead th { background: #eef3f8; position: sticky; top: 0; font-weight: 600; }
.kit-table-wrap table.kit-table tbody tr:nth-child(even) td { background: #fafbfc; }
.kit-table-wrap table.kit-table td.num, .kit-table-wrap table.kit-table th.num { text-align: right;
  font-variant-numeric: tabular-nums; }
.kit-table-wrap table.kit-table .kit-sticky { position: sticky; z-index: 1; background: #fff; box-sizing: border-box;
  overflow: hidden; text-overflow: ellipsis; }
.kit-table-wrap table.kit-table tbody tr:nth-child(even) td.kit-sticky { background: #fafbfc; }
.kit-table-wrap table.kit-table thead .kit-sticky { background: #eef3f8; z-index: 2; }
.kit-table-wrap table.kit-table .kit-sticky-last { box-shadow: inset -1px 0 0 #d7dee6; }
.kit-table-wrap table.kit-table td.wrap { white-space: normal; min-width: 12em; max-width: 28em;
  overflow-wrap: break-word; }
.kit-table-wrap table.kit-table td[title] { cursor: help; }
.kit-table-wrap table.kit-table[data-kit-interactive] thead th { cursor: pointer; user-select: none; }
.kit-table-wrap table.kit-table thead th[aria-sort=ascending]::after { content: " ▲"; font-size: 10px; }
.kit-table-wrap table.kit-table thead th[aria-sort=descending]::after { content: " ▼"; font-size: 10px; }
.kit-table-tools { display: flex; gap: 10px; align-items: center; margin: 8px 0 -2px; font-size: 13px; color: #555; }
.kit-table-tools input { font: inherit; padding: 3px 8px; border: 1px solid #c9d3dd; border-radius: 4px;
  min-width: 16em; }
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


def map_distinct(series: pd.Series, fn) -> pd.Series:
    """``fn(v)`` of every value of ``series``, called once per distinct value (a
    million-row column repeats a few labels) and spread back by the values' codes
    (``pandas.factorize``: no Python step per row); missing values stay missing (NaN); the
    result is an object column (a text column mapped to text stays pandas' ``str``). ``fn`` may be a mapping: a value it lacks becomes NaN, as
    ``Series.map(mapping)`` does. Unhashable values (lists) fall back to one call per cell."""
    get = (lambda v, m=fn: m.get(v, np.nan)) if isinstance(fn, Mapping) else fn
    try:
        codes, uniques = pd.factorize(series)
    except TypeError:
        return series.map(lambda v: np.nan if _is_missing(v) else get(v)).astype("object")
    done = np.empty(len(uniques) + 1, dtype=object)
    for k, v in enumerate(uniques):
        done[k] = get(v)
    done[-1] = np.nan  # code -1: missing
    if isinstance(series.array, pd.arrays.ArrowStringArray) and all(isinstance(v, str) or _is_missing(v)
                                                                    for v in done):
        # text to text: spread in Arrow, the column stays pandas' ``str``
        words = pa.array([None if _is_missing(v) else v for v in done[:-1]], type=pa.large_string())
        return pd.Series(words.take(pa.array(codes, mask=codes < 0)), index=series.index, dtype=series.dtype)
    return pd.Series(done[codes], index=series.index, dtype=object)


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

    return map_distinct(series, one).astype("object")


def _yes_no(series: pd.Series, lang: str) -> pd.Series:
    yes, no = text("table.yes", lang), text("table.no", lang)
    flags = series.astype("boolean")
    return flags.map({True: yes, False: no}).astype("object").where(flags.notna(), None)


def as_text(value: Any) -> Any:
    """A list (or tuple, array) as the text a cell shows, items joined with ``; ``; any other
    value as it is."""
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
    verbatim: Iterable[str] = (),
) -> pd.DataFrame:
    """``df`` with its values as a reader sees them; headers stay canonical.

    Label columns are mapped to report-language labels, flags to 是/否 (yes/no), lists
    joined, dates normalised; ``value_labels`` maps a column's keys to given labels (e.g.
    RFM segment names from the config); with ``mask_pii`` every PII column is masked.
    Numbers stay numbers (formatting is the writer's: HTML text, Excel number formats).
    ``verbatim`` columns (a source file's raw cells) keep their values as they are.
    """
    out = mask(df) if mask_pii else df.copy()
    keep = {str(v) for v in verbatim}
    for col in out.columns:
        s = out[col]
        if str(col) in keep:
            continue
        k = registry.kind(str(col))
        if value_labels and col in value_labels:
            m = value_labels[col]
            out[col] = map_distinct(s, lambda v, m=m: m.get(v, v) if isinstance(v, str) else v).astype("object")
        elif k.startswith("label:"):
            vocab = k.split(":", 1)[1]
            out[col] = map_distinct(s, lambda v, vocab=vocab: label(vocab, v, lang)).astype("object")
        elif k.startswith("labels:"):
            out[col] = _joined_labels(s, k.split(":", 1)[1], lang)
        elif k == "bool":
            out[col] = _yes_no(s, lang)
        elif k == "date":
            out[col] = pd.to_datetime(s, errors="coerce").dt.normalize()
        elif s.dtype == object:
            out[col] = map_distinct(s, as_text)
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
        return str(as_text(v)), False
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return _fmt_number(v, k), True
    return str(as_text(v)), False


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


def text_width_em(value: str) -> float:
    """Rough width of ``value`` in the table font, in em: a CJK or full-width character is
    1 em, any other 0.6 em (digits and Latin letters of Noto Sans / system-ui at 13 px)."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in value)


def _cut(value_text: str) -> str:
    return value_text if len(value_text) <= MAX_CELL_CHARS else value_text[: MAX_CELL_CHARS - 1] + "…"


def _cell(value_text: str, *, tag: str = "td", cls: list[str] | None = None, style: str = "",
          cut: bool = True, hover: bool = False) -> str:
    """One escaped cell; text longer than :data:`MAX_CELL_CHARS` is cut (``cut``) with the
    full text on hover (``title``), as is text a fixed-width column may cut (``hover``)."""
    shown = _cut(value_text) if cut and tag == "td" else value_text
    title = f' title="{html.escape(value_text, quote=True)}"' if shown != value_text or hover else ""
    c = f' class="{" ".join(cls)}"' if cls else ""
    s = f' style="{style}"' if style else ""
    return f"<{tag}{c}{s}{title}>{html.escape(shown, quote=True)}</{tag}>"


def _sticky_widths(cols: list[object], heads: list[str], texts: list[list[str]]) -> dict[int, float]:
    """Width in em (padding included) of each sticky column: from its header and its longest
    (cut) text, within :data:`STICKY_MIN_EM` .. :data:`STICKY_MAX_EM`."""
    out = {}
    for j, c in enumerate(cols):
        if str(c) not in STICKY_COLUMNS:
            continue
        longest = max([text_width_em(heads[j]) * 1.05, *(text_width_em(_cut(row[j])) for row in texts)])
        out[j] = min(max(round(longest + CELL_PADDING_EM + 0.3, 1), STICKY_MIN_EM), STICKY_MAX_EM)
    return out


def _sticky_styles(widths: dict[int, float]) -> dict[int, str]:
    """``left`` and a fixed width per sticky column: each starts where the ones before it end,
    so a wide id column never slides under the name column."""
    styles, left = {}, 0.0
    for j in sorted(widths):
        w = widths[j]
        styles[j] = f"left: {left:g}em; width: {w:g}em; min-width: {w:g}em; max-width: {w:g}em;"
        left += w
    return styles


def _table_open(caption: str | None, interactive: bool, lang: str) -> str:
    attrs = ""
    if interactive:  # kit/publish/templates/kit_report/kit_tables.js reads these
        attrs = (' data-kit-interactive="1"'
                 f' data-kit-filter="{html.escape(text("table.filter", lang), quote=True)}"'
                 f' data-kit-count="{html.escape(text("table.count", lang), quote=True)}"'
                 f' data-kit-sort="{html.escape(text("table.sort_hint", lang), quote=True)}"')
    out = f'<div class="kit-table-wrap"><table class="kit-table"{attrs}>'
    if caption:
        out += f"<caption>{html.escape(caption, quote=True)}</caption>"
    return out


def _overflows(value_text: str, width: float | None) -> bool:
    """Whether a cell of a fixed ``width`` (em) may cut ``value_text`` (then it shows it on hover)."""
    return width is not None and text_width_em(_cut(value_text)) + CELL_PADDING_EM > width


def _body(cells: list[list[tuple[str, bool]]], widths: dict[int, float], sticky: dict[int, str],
          wrap_cols: set[int]) -> list[str]:
    last_sticky = max(sticky) if sticky else None
    parts = []
    for row in cells:
        parts.append("<tr>")
        for j, (t, is_num) in enumerate(row):
            cls = ["num"] if is_num else []
            if j in sticky:
                cls += ["kit-sticky", *(["kit-sticky-last"] if j == last_sticky else [])]
            if j in wrap_cols:
                parts.append(_cell(t, cls=[*cls, "wrap"], cut=False))
            else:
                parts.append(_cell(t, cls=cls, style=sticky.get(j, ""), hover=_overflows(t, widths.get(j))))
        parts.append("</tr>")
    return parts


def _numeric_column(column: list[tuple[str, bool]]) -> bool:
    """Every shown value a number (or missing), at least one: the header aligns right, the
    column sorts as numbers."""
    return any(num for _, num in column) and all(num or t == MISSING for t, num in column)


def _column_kinds(shown: pd.DataFrame, kinds: Mapping[str, str], verbatim: set[str]) -> list[str]:
    out = []
    for c in shown.columns:
        if str(c) in verbatim:
            out.append("text")
            continue
        k = kinds.get(str(c)) or registry.kind(str(c))
        if k == "text" and registry.column(str(c)) is None and pd.api.types.is_numeric_dtype(shown[c]) \
                and not pd.api.types.is_bool_dtype(shown[c]):
            k = "int" if pd.api.types.is_integer_dtype(shown[c]) else "auto"
        out.append(k)
    return out


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
    verbatim: Iterable[str] = (),
    interactive_rows: int | None = INTERACTIVE_ROWS,
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
    verbatim : columns shown as they are (a source file's own headers and raw cells): the
        header is not looked up in the registry, the values are text, never converted
    interactive_rows : a table showing more rows than this is sortable (click a header)
        and filterable (a text box above it) in the HTML pages (None: never)
    """
    if max_rows is not None and len(df) > max_rows:
        df = df.head(max_rows)
    if index:
        df = df.reset_index()
    verbatim_set = {str(v) for v in verbatim}
    shown = display_values(df, lang, value_labels=value_labels, mask_pii=mask_pii, verbatim=verbatim_set)
    cols = list(shown.columns)
    col_kinds = _column_kinds(shown, dict(kinds or {}), verbatim_set)
    cells = [[format_cell(v, col_kinds[j]) for j, v in enumerate(row)] for row in shown.to_numpy(dtype=object)]
    heads = [str(c) if str(c) in verbatim_set else header(c, lang) for c in cols]
    numeric = {j for j in range(len(cols)) if _numeric_column([r[j] for r in cells])}
    widths = _sticky_widths(cols, heads, [[t for t, _ in r] for r in cells])
    sticky = _sticky_styles(widths)
    last_sticky = max(sticky) if sticky else None
    interactive = interactive_rows is not None and len(cells) > interactive_rows
    parts = [_table_open(caption, interactive, lang), "<thead><tr>"]
    for j, h in enumerate(heads):
        cls = (["num"] if j in numeric else []) + (["kit-sticky"] if j in sticky else []) \
            + (["kit-sticky-last"] if j == last_sticky else [])
        parts.append(_cell(h, tag="th", cls=cls, style=sticky.get(j, ""), hover=_overflows(h, widths.get(j))))
    parts.append("</tr></thead><tbody>")
    parts += _body(cells, widths, sticky, {j for j, c in enumerate(cols) if str(c) in {str(w) for w in wrap}})
    parts.append("</tbody></table></div>")
    return Table("".join(parts), shown)
