"""One self-contained file to e-mail: ``report.html`` holds every page of a run.

The separate pages link to each other, so sending only ``index.html`` breaks every link.
:func:`build_single_file` puts the summary and the five section pages into one file: a table
of contents, one ``<section>`` per page, links between pages turned into links inside the
file, every stylesheet and the table script once, images already embedded, and one Chinese
font subset over the whole text. Nothing is fetched from the network.
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from kit.present.messages import text
from kit.publish.html import embed_font, nav_html
from kit.publish.writer import inside

SINGLE_FILE = "report.html"

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
_SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.S | re.I)
_NAV = re.compile(r'<nav class="kit-nav">.*?</nav>', re.S)
_FOOTER = re.compile(r'<footer class="kit-footer">.*?</footer>', re.S)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.S)


def anchor(page: str) -> str:
    """The id of a page's section in the single file (``01_clean.html`` -> ``page-01_clean``)."""
    return "page-" + Path(page).stem


def _local_links(body: str, pages: Sequence[str]) -> str:
    """``href="01_clean.html"`` (and ``...#x``) -> ``href="#page-01_clean"``."""
    for page in pages:
        body = re.sub(r'href="' + re.escape(page) + r'(#[^"]*)?"', f'href="#{anchor(page)}"', body)
    return body


def _parts(page_html: str) -> tuple[str, list[str], list[str], str]:
    """(body without navigation and footer, style blocks, script blocks, footer)."""
    m = _BODY.search(page_html)
    body = m.group(1) if m else page_html
    head = page_html[: m.start()] if m else ""
    styles = [_FONT_FACE.sub("", s) for s in _STYLE.findall(head)]
    styles += [_FONT_FACE.sub("", s) for s in _STYLE.findall(body)]
    body = _STYLE.sub("", body)
    scripts = _SCRIPT.findall(head) + _SCRIPT.findall(body)
    body = _SCRIPT.sub("", body)
    footer = _FOOTER.search(body)
    body = _FOOTER.sub("", _NAV.sub("", body))
    return body, styles, scripts, footer.group(0) if footer else ""


def build_single_file(run_dir: Path, sections: Sequence[tuple[str, str]], *, title: str, lang: str,
                      name: str = SINGLE_FILE, switch: Sequence[tuple[str, str, str]] = ()) -> Path:
    """Write ``report.html`` in ``run_dir`` from its pages.

    ``sections`` are (page file, title) pairs in reading order, the summary first; pages that
    do not exist are left out. ``switch``: links to the file in the run's other languages
    (:func:`kit.publish.html.language_links`), shown above the contents.
    """
    run_dir = Path(run_dir)
    present = [(p, t) for p, t in sections if (run_dir / p).exists()]
    pages = [p for p, _ in present]
    styles: list[str] = []
    scripts: list[str] = []
    bodies: list[str] = []
    footer = ""
    for page, heading in present:
        body, page_styles, page_scripts, page_footer = _parts((run_dir / page).read_text(encoding="utf-8"))
        styles += [s for s in page_styles if s.strip() and s not in styles]
        scripts += [s for s in page_scripts if s not in scripts]
        footer = footer or page_footer
        bodies.append(f'<section class="kit-page" id="{anchor(page)}">\n{_local_links(body, pages)}\n</section>')
    toc = "".join(f'<li><a href="#{anchor(p)}">{html.escape(t)}</a></li>' for p, t in present)
    style = "\n".join(f'<style type="text/css">{s}</style>' for s in styles)
    extra = (".kit-page { border-top: 3px solid #2f5d8a; margin-top: 2.5rem; padding-top: 0.5rem; }\n"
             ".kit-single-toc { max-width: 1180px; margin: 1rem auto; padding: 0 20px; }")
    page = (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n{style}\n<style type=\"text/css\">{extra}</style>\n</head>\n<body>\n"
        f'<nav class="kit-single-toc"><div class="kit-nav">{nav_html([], switch=switch)}</div>'
        f'<h1>{html.escape(title)}</h1><p>{html.escape(text("pages.single_file_note", lang))}</p>'
        f"<h2>{html.escape(text('pages.contents', lang))}</h2><ol>{toc}</ol></nav>\n"
        + "\n".join(bodies) + f"\n{footer}\n" + "\n".join(scripts) + "\n</body>\n</html>\n"
    )
    target = inside(run_dir, run_dir / name)
    target.write_text(embed_font(page), encoding="utf-8")
    return target
