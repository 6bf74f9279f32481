"""Offline HTML pages: notebook export, the page frame (navigation, section titles,
footer), the stylesheet and the embedded CJK font.

* :func:`export_html` turns an executed notebook into a self-contained page: inputs
  hidden, images embedded, no script or stylesheet fetched from the network, and the
  Chinese glyphs the page uses embedded as a subset web font, so the page renders the
  same on a reader's machine without Chinese fonts.
* :func:`nav_html`, :func:`section_title`, :func:`footer_html` and :data:`REPORT_CSS` are
  the frame every page shares (the notebook pages and ``index.html``).
* :func:`network_references` lists what a page would fetch from the network (should be
  nothing).
* :data:`TABLE_SCRIPT` (``templates/kit_report/kit_tables.js``) makes the long tables that
  :func:`kit.present.table.table` marks sortable and filterable; every page inlines it once
  (:func:`table_script_html`), so it works offline.
"""
from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
from fontTools import subset
from fontTools.ttLib import TTFont
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from kit.core import paths
from kit.present import messages
from kit.publish.languages import page_name
from kit.present.plotting import cjk_font_path
from kit.present.table import TABLE_CSS

#: Tag that hides a cell (code and output) from the HTML: analysts' notes, set-up cells.
HIDE_TAGS = ("remove-cell", "analyst-note")

#: The script that sorts and filters long tables (``data-kit-interactive``), inlined once per page.
TABLE_SCRIPT = (paths.TEMPLATES_DIR / "kit_report" / "kit_tables.js").read_text(encoding="utf-8")

REPORT_CSS = """
:root { --kit-accent: #2f5d8a; }
body, .jp-Notebook, .jp-RenderedHTMLCommon, .jp-RenderedMarkdown, table, th, td {
  /* the embedded subset first: a system font listed before it can claim CJK and draw boxes */
  font-family: "Kit CJK", system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "PingFang SC", "Microsoft YaHei", sans-serif;
}
.jp-Notebook { max-width: 1180px; margin: 0 auto; padding-top: 0.5rem; }
.jp-RenderedHTMLCommon table { font-size: 13px; border-collapse: collapse; }
.jp-RenderedHTMLCommon thead th { background: #eef3f8; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { padding: 4px 8px; }
.kit-nav { max-width: 1180px; margin: 0 auto; padding: 10px 20px; border-bottom: 2px solid var(--kit-accent);
  font-size: 14px; display: flex; gap: 14px; flex-wrap: wrap; }
.kit-nav a { color: var(--kit-accent); text-decoration: none; }
.kit-nav a.current { font-weight: bold; text-decoration: underline; }
.kit-nav .kit-lang-switch { float: right; margin-left: 1.5em; }
.kit-footer { max-width: 1180px; margin: 2rem auto; padding: 10px 20px; color: #666; font-size: 12px;
  border-top: 1px solid #ddd; }
.kit-note { border-left: 4px solid #2f5d8a; background: #f2f6fa; padding: 8px 12px; margin: 8px 0; }
.kit-note-warning { border-color: #d4a72c; background: #fdf8ea; }
.kit-note-omitted { border-color: #999; background: #f4f4f4; color: #444; }
.kit-cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 10px 0; }
.kit-card { border: 1px solid #d7dee6; border-radius: 6px; padding: 10px 14px; min-width: 160px; background: #fff; }
.kit-card .kit-card-label { color: #555; font-size: 12px; }
.kit-card .kit-card-value { font-size: 22px; font-weight: 600; color: #1d3b57; }
.kit-card .kit-card-delta { font-size: 12px; color: #555; }
figure.kit-figure { margin: 8px 0 18px; max-width: 100%; }
figure.kit-figure img { display: block; max-width: 100%; height: auto; }
figure.kit-figure figcaption { color: #444; font-size: 13px; margin-top: 4px; max-width: 60em; }
""" + TABLE_CSS


# --------------------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------------------


def _non_ascii_chars(text: str) -> str:
    return "".join(sorted({c for c in text if ord(c) > 0x7F}))


@lru_cache(maxsize=32)
def _subset_font_b64(chars: str) -> str:
    """Base64 WOFF of Noto Sans SC holding only ``chars`` (plus ASCII)."""
    font = TTFont(str(cjk_font_path()))
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options=options)
    ascii_chars = "".join(chr(c) for c in range(0x20, 0x7F))
    subsetter.populate(text=chars + ascii_chars)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.flavor = "woff"
    font.save(buf)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def font_face_css(text: str) -> str:
    """``@font-face`` rule embedding the CJK glyphs that ``text`` uses ('' when none)."""
    chars = _non_ascii_chars(html.unescape(re.sub(r"data:[^\"')]+", "", text)))
    if not chars:
        return ""
    b64 = _subset_font_b64(chars)
    return (
        '@font-face { font-family: "Kit CJK"; font-style: normal; font-weight: 100 900; '
        f'src: url(data:font/woff;base64,{b64}) format("woff"); }}\n'
    )


def embed_font(page: str) -> str:
    """Insert the subset font into a page's ``<head>``."""
    css = font_face_css(page)
    if not css:
        return page
    return page.replace("</head>", f'<style type="text/css">\n{css}</style>\n</head>', 1)


# --------------------------------------------------------------------------------------
# The page frame: navigation, section titles, footer, the table script
# --------------------------------------------------------------------------------------


def table_script_html() -> str:
    """``<script>`` holding :data:`TABLE_SCRIPT`: put it once in a page with kit tables."""
    return f'<script type="text/javascript">\n{TABLE_SCRIPT}</script>'


def section_title(notebook: str, lang: str) -> str:
    """The report-language title of a notebook's page (``01_clean`` -> ``数据清洗与对账``)."""
    return messages.text(f"pages.section.{notebook}", lang)


def summary_label(lang: str) -> str:
    """The navigation label of ``index.html``."""
    return messages.text("pages.nav.summary", lang)


def nav_html(links: Iterable[tuple[str, str]], current: str = "",
             switch: Iterable[tuple[str, str, str]] = ()) -> str:
    """The navigation links (label, href), escaped; the ``current`` page is marked; ``switch``
    links (label, href, language code: the same page in the run's other languages) stand
    apart at the end."""
    parts = []
    for label, href in links:
        cls = ' class="current"' if href == current else ""
        parts.append(f'<a href="{html.escape(href)}"{cls}>{html.escape(label)}</a>')
    other = [f'<a href="{html.escape(href)}" hreflang="{html.escape(code)}" lang="{html.escape(code)}">'
             f"{html.escape(label)}</a>" for label, href, code in switch]
    if other:
        parts.append(f'<span class="kit-lang-switch">{" ".join(other)}</span>')
    return "\n".join(parts)


def language_links(page: str, lang: str, languages: Sequence[str]) -> list[tuple[str, str, str]]:
    """Links from ``page`` (its first-language file name, e.g. ``02_layering.html``) in ``lang``
    to the same page in the run's other languages: (the language's own name, file name, code)."""
    return [(messages.text(f"pages.language.{x}", x), page_name(page, x, languages), x)
            for x in languages if x != lang]


def footer_html(meta: Mapping[str, Any], lang: str) -> str:
    """The run footer (client, period, inputs with their hashes, start time, versions), escaped."""
    def word(name: str, **params: Any) -> str:
        return messages.text(f"pages.footer.{name}", lang, **params)

    inputs = ", ".join(
        f"{t}: {Path(v['path']).name} (sha256 {v['sha256'][:12]}…)" for t, v in meta["inputs"].items()
    )
    packages = meta["packages"]
    parts = [
        (word("client"), (lang == "en" and meta.get("client_name_en")) or meta["client_name"] or meta["client"]),
        (word("period"), word("period_value", label=meta["period_label"], as_of=meta["as_of"])),
        (word("inputs"), inputs),
        (word("run_started"), meta["started_utc"]),
        (word("versions"), f"kit {packages['customer-value-kit']}, "
         f"pandas {packages['pandas']}, lifetimes {packages['lifetimes']}"),
    ]
    return " · ".join(f"<b>{html.escape(k)}</b>: {html.escape(str(v))}" for k, v in parts)


# --------------------------------------------------------------------------------------
# Notebook -> HTML
# --------------------------------------------------------------------------------------


def export_html(
    notebook: str | Path,
    out: str | Path,
    *,
    title: str,
    nav: Iterable[tuple[str, str]] = (),
    footer: str = "",
    lang: str = "zh",
    switch: Iterable[tuple[str, str, str]] = (),
) -> Path:
    """Write the executed ``notebook`` as a self-contained HTML page at ``out``.

    ``nav`` is a sequence of (label, href) links shown at the top (the current page is
    marked); ``footer`` is HTML text for the bottom (run metadata); ``switch`` links to the
    page in the run's other languages (:func:`language_links`).
    """
    nb = nbformat.read(str(notebook), as_version=4)
    nb.metadata["title"] = title
    exporter = HTMLExporter(
        template_name="kit_report",
        extra_template_basedirs=[str(paths.TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    remover = TagRemovePreprocessor(remove_cell_tags=set(HIDE_TAGS), enabled=True)
    exporter.register_preprocessor(remover, enabled=True)
    out = Path(out)
    resources = {
        "kit_css": REPORT_CSS,
        "kit_nav": nav_html(nav, current=out.name, switch=switch),
        "kit_footer": footer,
        "kit_script": table_script_html(),
        "language_code": "zh-CN" if lang == "zh" else "en",
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body = embed_font(body)
    out.write_text(body, encoding="utf-8")
    return out


_NETWORK_RE = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio)\b[^>]*?\b(?:src|href)\s*=\s*["']?(?:https?:)?//""",
    re.IGNORECASE,
)


def network_references(page: str) -> list[str]:
    """Tags in ``page`` that would fetch something from the network (should be none).

    Plain ``<a href>`` links are allowed: they fetch nothing until a reader clicks.
    """
    found = [m.group(0) for m in _NETWORK_RE.finditer(page)]
    found += re.findall(r"@import\s+url\(\s*['\"]?https?://[^)]+\)", page)
    found += re.findall(r"url\(\s*['\"]?https?://[^)]+\)", page)
    return found
