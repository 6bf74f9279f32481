"""The run context a notebook opens in its second cell.

A notebook's ``parameters`` cell holds literals only (papermill injects overrides after
it); the next cell calls :func:`open_run`, which loads and validates the config, fixes the
period, and hands back a :class:`RunContext` that knows where every artifact lives and
speaks the report language::

    ctx = open_run(config_path, run_dir, as_of=as_of, lang=lang)
    tx = ctx.read_parquet("transactions_clean")
    ctx.h2("layering.rfm_title")

Run by hand in JupyterLab with the defaults, a notebook reads ``$KIT_CONFIG`` (else
``configs/demo.yml``) and writes to ``$KIT_RUN_DIR`` (else ``reports/_interactive``).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from IPython.display import HTML, Markdown, display

from kit.core import paths
from kit.core.config import KitConfig, load_config
from kit.core.notes import Note
from kit.core.periods import period_end, period_label, previous_period_end
from kit.core.progress import log_to_file
from kit.engines.queries import engine_transactions
from kit.io.read import latest_date
from kit.present import messages
from kit.present.cards import figure_html
from kit.present.plotting import setup
from kit.present.table import table
from kit.publish.languages import page_name, parse_languages
from kit.publish.parquet import (
    column_names,
    read_parquet,
    release_arrow_memory,
    replace_columns,
    spine_columns_to_read,
)
from kit.publish.writer import inside


@dataclass
class RunContext:
    """Config, period and artifact paths of one run, plus report-language helpers."""

    cfg: KitConfig
    run_dir: Path
    as_of: pd.Timestamp
    lang: str
    notes: list[dict[str, str]] = field(default_factory=list)
    #: every language of the run, the first one's first (``kit run --lang zh,en``)
    languages: tuple[str, ...] = ()
    #: the run's first language while a twin cell presents in another (kit.publish.languages)
    primary_lang: str | None = None

    def named(self, name: str, lang: str) -> str:
        """An artifact's file name in ``lang``: ``deliverables.xlsx`` in the run's first
        language, ``deliverables.en.xlsx`` in another (:func:`kit.publish.languages.page_name`)."""
        return page_name(paths.ARTIFACTS.get(name, name), lang, self.languages or (self.lang,))

    # ---- period ---------------------------------------------------------------------
    @property
    def period_label(self) -> str:
        return period_label(self.as_of, self.cfg.period)

    @property
    def prev_as_of(self) -> pd.Timestamp:
        """End of the previous period (the comparison point of tier migration)."""
        return previous_period_end(self.as_of, self.cfg.period)

    # ---- artifacts ------------------------------------------------------------------
    @property
    def artifacts_dir(self) -> Path:
        d = self.run_dir / "artifacts"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def artifact(self, name: str) -> Path:
        """Path of a named artifact (see ``paths.ARTIFACTS``) or of a file name, checked to
        lie inside the run folder (:func:`kit.publish.writer.inside`)."""
        return inside(self.run_dir, self.artifacts_dir / paths.ARTIFACTS.get(name, name))

    def has(self, name: str) -> bool:
        return self.artifact(name).exists()

    def read_parquet(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The artifact ``name``; ``columns``: only those of them the file has (a notebook
        reads what it needs: the clean transactions of a client can hold a dozen columns)."""
        p = self.artifact(name)
        if not p.exists():
            raise FileNotFoundError(
                f"{p} is missing: run the notebooks in order (01_clean first) or `kit run`"
            )
        return read_parquet(p, columns)

    def transactions(self, kind: str):
        """The clean transactions stage ``kind`` (``layering``, ``personas``, ``clv``) reads,
        for a ``with`` block, as the run's engine holds them: the stage's columns as a frame
        (answered in process) when pandas reads the orders, else DuckDB's or Spark's answers
        to the stage's questions, only per-customer tables coming back
        (:func:`kit.engines.queries.engine_transactions`)."""
        return engine_transactions(self.cfg, self.artifact("transactions_clean"), self.run_dir,
                                   lambda columns: self.read_parquet("transactions_clean", columns), kind)

    def use_language(self, lang: str | None) -> None:
        """Present in ``lang`` until called with None (the run's language again). Twin cells
        of ``kit run --lang zh,en`` call it (:mod:`kit.publish.languages`); while another
        language presents, writing an artifact is refused: the computation happened once."""
        if lang is None:
            if self.primary_lang is not None:
                self.lang, self.primary_lang = self.primary_lang, None
            return
        if self.primary_lang is None:
            self.primary_lang = self.lang
        self.lang = lang

    def _writing(self, name: str) -> None:
        if self.primary_lang is not None:
            raise RuntimeError(
                f"a presenting cell writes the artifact {name!r}: move the write into the notebook's "
                "computing cells (a cell that displays nothing), so both languages show one computation"
            )

    def read_optional(self, name: str) -> pd.DataFrame | None:
        """An artifact a configured-only input or an earlier stage may not have left
        (``interactions_clean``, ``subscriptions_clean`` ...): the frame, or None."""
        return self.read_parquet(name) if self.has(name) else None

    def write_parquet(self, name: str, df: pd.DataFrame) -> Path:
        self._writing(name)
        p = self.artifact(name)
        df.to_parquet(p)
        release_arrow_memory()
        return p

    def read_customers(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The spine: one row per customer, indexed by ``customer_id``; ``columns``: only those
        of them it has (a notebook reads what its stage and its page use, then writes its own
        columns back with :meth:`update_customers`). ``KIT_SPINE_COLUMNS=all`` in the
        environment reads every column whatever is asked: a notebook's pages must not change
        with it (``tests/test_spine_columns.py``), else its list lacks a column."""
        return self.read_parquet("customers", spine_columns_to_read(columns))

    def spine_columns(self) -> list[str]:
        """The spine's column names (from the file's schema; nothing is read)."""
        return [c for c in column_names(self.artifact("customers")) if c != "customer_id"]

    def update_customers(self, df: pd.DataFrame, drop: Sequence[str] = ()) -> Path:
        """Write ``df``'s columns into the spine, replacing those of the same names; the
        spine's other columns stay as they are, streamed from the file and never read into
        pandas (:func:`kit.publish.parquet.replace_columns`), but those named in ``drop``
        and not in ``df`` (a stage's columns of an earlier run it did not write again) are
        left out. ``df`` has the spine's customers, in its order (a stage that changes the
        customers writes the whole spine with :meth:`write_customers`)."""
        self._writing("customers")
        return replace_columns(self.artifact("customers"), df, drop=drop)

    def write_customers(self, df: pd.DataFrame) -> Path:
        if df.index.name != "customer_id" or not df.index.is_unique:
            raise ValueError("customers must be indexed by a unique customer_id")
        return self.write_parquet("customers", df)

    def read_json(self, name: str) -> Any:
        return json.loads(self.artifact(name).read_text(encoding="utf-8"))

    def write_json(self, name: str, obj: Any) -> Path:
        self._writing(name)
        p = self.artifact(name)
        p.write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        return p

    def table_configured(self, table: str) -> bool:
        """Whether the config names an input file for ``table`` (customers, interactions)."""
        return getattr(self.cfg.inputs, table) is not None

    # ---- language -------------------------------------------------------------------
    # Notebooks speak in message codes (kit/present/messages/*.yml): ``ctx.say(code, **params)``;
    # every word comes from the catalogue, in the run's language.
    def text(self, code: str, /, **params: Any) -> str:
        """The message ``code`` in the report language."""
        return messages.text(code, self.lang, **params)

    def label(self, vocabulary: str, key: object) -> str:
        """The report-language label of a stored key."""
        return messages.label(vocabulary, key, self.lang)

    def _safe_text(self, code: str, params: dict[str, Any]) -> str:
        """The message with its text parameters escaped for Markdown (data never becomes markup)."""
        return self.text(code, **{k: (_md_escape(v) if isinstance(v, str) else v) for k, v in params.items()})

    def h1(self, code: str, /, **params: Any) -> None:
        _markdown(f"# {self._safe_text(code, params)}")

    def h2(self, code: str, /, **params: Any) -> None:
        _markdown(f"## {self._safe_text(code, params)}")

    def h3(self, code: str, /, **params: Any) -> None:
        _markdown(f"### {self._safe_text(code, params)}")

    def say(self, code: str, /, **params: Any) -> None:
        """A paragraph of report text (Markdown; text parameters are escaped)."""
        _markdown(self._safe_text(code, params))

    def table(self, df: pd.DataFrame, /, *, caption: str | None = None, **kwargs: Any) -> None:
        """Display ``df`` through the one table function (escaped, masked, labelled)."""
        kwargs.setdefault("interactive_rows", self.cfg.report.interactive_rows)
        display(table(df, self.lang, mask_pii=self.cfg.report.mask_pii, caption=caption, **kwargs))

    def figure(self, drawn: Any, caption_code: str, alt_code: str, /, **params: Any) -> None:
        """Show a chart (a figure, or the Axes a plot function returned) as an image with alt
        text and a one-line caption below: the messages ``caption_code`` (what to read from
        it) and ``alt_code`` (what it shows), in ``kit/present/messages/charts.yml``, filled
        from ``params``. The figure is closed: call it instead of ``plt.show()``."""
        display(HTML(figure_html(drawn, self.text(caption_code, **params), self.text(alt_code, **params))))

    def note(self, note: Note, /) -> None:
        """Show a stage's :class:`Note` and keep it for the run summary (``notes.json``)."""
        entry = note.as_dict()
        if self.primary_lang is None:
            self.notes.append(entry)
        _callout(messages.render(note, self.lang), note.kind)
        self._save_notes(entry)

    def notes_of(self, notes: "list[Note]", section: str = "") -> None:
        """Show every note of a stage (``section`` fills in notes that name none)."""
        for n in notes:
            self.note(n if n.section or not section else Note(n.code, n.params, n.kind, section))

    def _save_notes(self, entry: dict[str, Any]) -> None:
        if self.primary_lang is not None:  # a twin shows the notes its first language saved
            return
        p = self.artifact("notes.json")
        existing = json.loads(p.read_text(encoding="utf-8")) if p.exists() else []
        if entry not in existing:
            existing.append(entry)
        p.write_text(json.dumps(existing, ensure_ascii=False, indent=2), encoding="utf-8")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def _md_escape(value: str) -> str:
    """A parameter shown as text in Markdown: markup characters escaped, HTML inert."""
    return _MD_SPECIAL.sub(r"\\\1", value)


def _markdown(text: str) -> None:
    display(Markdown(text))


def _callout(text: str, kind: str) -> None:
    display(HTML(f'<div class="kit-note kit-note-{kind}">{escape(text)}</div>'))


def open_run(
    config_path: str = "",
    run_dir: str = "",
    *,
    as_of: str = "",
    lang: str = "",
    setup_plots: bool = True,
) -> RunContext:
    """Load the config and fix the run's period, folder and language.

    Empty strings mean "not given": the config comes from ``$KIT_CONFIG`` or
    ``configs/demo.yml``, the folder from ``$KIT_RUN_DIR`` or ``reports/_interactive``,
    ``as_of`` and ``lang`` from the config. ``lang`` may list the run's languages (``zh,en``,
    as ``kit run`` passes them): the first presents, the others are :attr:`RunContext.languages`
    (deliverables are written in each; twin cells present in each). A relative ``config_path`` or ``run_dir`` is
    taken from the working directory (a kernel's is ``notebooks/``; ``kit run`` passes
    absolute paths); input paths inside the config from the config file's folder.
    """
    config_path = config_path or os.environ.get("KIT_CONFIG", "") or str(paths.DEFAULT_CONFIG)
    run_dir = run_dir or os.environ.get("KIT_RUN_DIR", "") or str(paths.REPORTS_DIR / "_interactive")
    languages = parse_languages(lang)
    cfg = load_config(config_path, as_of=as_of or None, language=languages[0] if languages else None)
    resolved_as_of = resolve_as_of(cfg)
    if setup_plots:
        setup()
    ctx = RunContext(cfg=cfg, run_dir=paths.resolve(run_dir), as_of=resolved_as_of, lang=cfg.language,
                     languages=languages or (cfg.language,))
    ctx.artifacts_dir  # create
    log_to_file()  # under kit run: the stages' step lines reach the console (kit.core.progress)
    return ctx


def resolve_as_of(cfg: KitConfig) -> pd.Timestamp:
    """The period end: the config's ``as_of``, else the end of the period holding the
    latest order date in the transactions file."""
    if cfg.as_of is not None:
        return pd.Timestamp(cfg.as_of)
    return period_end(latest_date(cfg), cfg.period)
