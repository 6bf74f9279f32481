"""The client landing page ``<out>/<client>/index.html``: every period with its headline.

One row per period, newest first: the period, its as-of date, where its figures came from
(a full run or ``kit backfill``), customers, active customers, revenue, the predicted CLV
total and a link to the period's ``index.html`` when its run folder holds one. The periods
are those of the history store (:mod:`kit.publish.history`) and any run folder without an
entry (a run from before the store, shown with its link and "–" figures).

Rewritten after each run and each backfill. A Jinja template with autoescape on (every
value escaped, the client's name too), self-contained (no external resource; the CJK glyphs
embedded), in the language given (the run's).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from kit import __version__
from kit.core import paths
from kit.core.config import KitConfig
from kit.present.messages import label, text
from kit.publish.history import HISTORY_DIR, load_records, record_run
from kit.publish.html import REPORT_CSS, embed_font, language_links, nav_html
from kit.publish.languages import page_name
from kit.publish.safety import RunFailed, safe

#: The page's name inside the client folder.
LANDING = "index.html"
_RUN_FOLDER = re.compile(r"^\d{4}-(?:Q[1-4]|\d{2})$")


def _money(v: Any, currency: str) -> str:
    return "–" if v is None else f"{currency}{float(v):,.0f}"


def _count(v: Any) -> str:
    return "–" if v is None else f"{int(v):,}"


def _period_page(run_dir: Path, lang: str) -> Path:
    """A period's summary page in ``lang`` (its run.json names the run's languages), else its
    first language's ``index.html``."""
    try:
        languages = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("languages") or []
    except (OSError, ValueError):
        languages = []
    if lang in languages:
        return run_dir / page_name("index.html", lang, languages)
    return run_dir / "index.html"


def landing_rows(client_dir: Path, lang: str, currency: str = "¥") -> list[dict[str, Any]]:
    """One row per period (newest first): ``period``, ``as_of``, ``source``, ``customers``,
    ``active``, ``revenue``, ``clv`` (text) and ``href`` (the period's index.html relative to
    the client folder, None when there is none)."""
    client_dir = Path(client_dir)
    records = {r["label"]: r for r in load_records(client_dir)}
    folders = {p.name for p in client_dir.iterdir()
               if p.is_dir() and not p.is_symlink() and _RUN_FOLDER.match(p.name)} if client_dir.is_dir() else set()
    rows = []
    for name in sorted(set(records) | folders, reverse=True):  # labels sort as their periods do
        r = records.get(name)
        f = r["figures"] if r else {}
        page = _period_page(client_dir / name, lang)
        rows.append({
            "period": name,
            "as_of": r["as_of"] if r else "–",
            "source": label("history_source", r["source"], lang) if r else "–",
            "customers": _count(f.get("customers")),
            "active": _count(f.get("active_customers")),
            "revenue": _money(f.get("revenue"), currency),
            "clv": _money(f.get("total_clv"), currency),
            "href": f"{name}/{page.name}" if page.is_file() else None,
        })
    return rows


def write_landing(client_dir: Path, cfg: KitConfig, lang: str | None = None,
                  languages: tuple[str, ...] = ()) -> Path:
    """Write ``<client_dir>/index.html`` in ``lang`` (``index.en.html`` when ``lang`` is not the
    first of ``languages``), checked to lie inside the client folder."""
    lang = lang or cfg.language
    client_dir = Path(client_dir)
    out = safe(client_dir, client_dir / page_name(LANDING, lang, languages or (lang,)))
    client = cfg.client_label(lang)
    env = Environment(loader=FileSystemLoader(str(paths.TEMPLATES_DIR)), autoescape=select_autoescape(["html", "j2"]))
    page = env.get_template("landing.html.j2").render(
        lang=lang,
        m=lambda code, **params: text(code, lang, **params),
        client=client,
        # the same page in the other languages, escaped by nav_html
        switch=Markup(nav_html([], switch=language_links(LANDING, lang, languages or (lang,)))),
        css=Markup(REPORT_CSS),  # the kit's own stylesheet, not data
        rows=landing_rows(client_dir, lang, cfg.report.currency),
        generated=text("history.landing.generated", lang, version=__version__,
                       time=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z")),
    )
    tmp = safe(client_dir, client_dir / f".tmp-{os.getpid()}-{LANDING}")
    tmp.write_text(embed_font(page), encoding="utf-8")
    tmp.replace(out)
    return out


def after_run(run_dir: Path, cfg: KitConfig, meta: dict[str, Any]) -> Path:
    """After a run is in place at ``run_dir``: record it in the history store
    (:func:`kit.publish.history.record_run`) and rewrite the landing page; the page's path.

    A write that fails here says in one line that the run is in place but its history entry
    or the landing page is not (:class:`kit.publish.safety.RunFailed`).
    """
    run_dir = Path(run_dir)
    try:
        record_run(run_dir, cfg, meta)
        languages = tuple(meta.get("languages") or [cfg.language])
        pages = [write_landing(run_dir.parent, cfg, lang, languages) for lang in languages]
        return pages[0]
    except OSError as e:
        where = e.filename or run_dir.parent / HISTORY_DIR
        raise RunFailed(f"the run is in place ({run_dir}) but its history entry or the client page was not "
                        f"written: {where}: {(e.strerror or str(e)).lower()}") from None
