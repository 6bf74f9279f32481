"""Writing a stage's results into the run's artifacts, where it is more than one call.

The notebooks call these instead of spelling out file by file what a stage leaves, so the
list of artifacts (``kit.core.paths.ARTIFACTS``) and how each is written (parquet, or CSV
through the one writer) live in the package.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from kit.present.clean import merged_file, quarantine_file
from kit.present.personas import in_language
from kit.present.subscriptions import renewal_sheets
from kit.publish.context import RunContext
from kit.publish.deliverables import Deliverables, spine_columns, write_deliverables
from kit.publish.writer import write_csv
from kit.stages.clean import CleanResult


def write_clean(ctx: RunContext, result: CleanResult) -> dict[str, Path]:
    """What 01_clean leaves: the clean tables (parquet: transactions, and the master,
    interactions, subscriptions and usage when configured), ``quarantine.csv`` and ``merged.csv``
    (through the one writer: formula-like cells neutralised, PII masked when
    ``report.mask_pii``; the raw source rows masked too) and ``quality.json``."""
    mask_pii = ctx.cfg.report.mask_pii
    # the engine wrote the clean transactions itself (clean_all(..., clean_path=...)): DuckDB
    # with COPY, never through pandas; else the frame is written here
    out = {"transactions_clean": (ctx.artifact("transactions_clean") if result.transactions is None
                                  else ctx.write_parquet("transactions_clean", result.transactions))}
    optional = (("customers_master_clean", result.customers), ("interactions_clean", result.interactions),
                ("subscriptions_clean", result.subscriptions), ("usage_clean", result.usage))
    for name, frame in optional:
        if frame is not None:
            out[name] = ctx.write_parquet(name, frame)
    out["quarantine"] = write_csv(quarantine_file(result, ctx.lang, mask_pii=mask_pii), ctx.artifact("quarantine"),
                                  root=ctx.run_dir, mask_pii=mask_pii)
    out["merged"] = write_csv(merged_file(result, mask_pii=mask_pii), ctx.artifact("merged"),
                              root=ctx.run_dir, mask_pii=mask_pii)
    out["quality"] = ctx.write_json("quality", result.quality)
    return out


def deliverables_columns(ctx: RunContext) -> list[str]:
    """The spine's columns :func:`write_deliverables_all` reads (those the run's spine has)."""
    return spine_columns(ctx.spine_columns())


def write_deliverables_all(ctx: RunContext, spine: pd.DataFrame, pipeline: pd.DataFrame) -> dict[str, Deliverables]:
    """What 05_strategy leaves for the client, in every language of the run: the workbook
    (``deliverables.xlsx``, ``deliverables.en.xlsx`` ...) and the sheets' CSVs, the persona words
    of each language from 03's ``persona_text.parquet``, the renewal follow-up of ``pipeline``
    as the fourth sheet. The columns empty for every customer are judged once, in the first
    language. Returns what was written per language."""
    text = ctx.read_optional("persona_text.parquet")
    r = ctx.cfg.report
    out: dict[str, Deliverables] = {}
    empty = None  # the columns empty for everyone, found by the first language, are those of every language
    for lang in ctx.languages:
        out[lang] = write_deliverables(in_language(spine, text, lang), ctx.cfg, lang, ctx.artifacts_dir,
                                       ctx.artifact(ctx.named("deliverables", lang)), mask_pii=r.mask_pii,
                                       preview_rows=r.sample_rows, extra=renewal_sheets(pipeline, ctx.cfg, lang),
                                       empty=empty)
        empty = out[lang].empty_by_key
    return out
