"""All of 03 in one call: tags, tag scores, clusters and the keys that name them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kit.core.progress import step
from kit.core.config import Personas
from kit.core.notes import Note
from kit.stages.personas.clusters import RAW_COLUMNS, ClusterResult, cluster_personas
from kit.stages.personas.naming import name_keys
from kit.stages.personas.queries import PersonaQueries
from kit.stages.personas.tags import FamilyStatus, build_tags, omitted_note
from kit.stages.personas.weights import effective_weights, tag_scores

#: The spine columns of 03 besides ``tag_*``: ``tag_score`` and ``persona_cluster`` are
#: written by :func:`attach`; ``persona_label`` and ``persona_name`` are report-language
#: text written by :func:`kit.present.personas.with_persona_text` (the notebook), from the
#: tags and :attr:`PersonaRun.naming`.
PERSONA_COLUMNS = ["tag_score", "persona_label", "persona_cluster", "persona_name"]

#: The spine columns :func:`run_personas` reads (those the spine has): the master's for the
#: static tags (plus ``Personas.size_by``, :func:`spine_inputs`), the clustering inputs the
#: spine already holds (the others are derived from the transactions) and ``quadrant``
#: (each persona's dominant customer type).
SPINE_INPUTS = ("industry", "region", "contact_title", *RAW_COLUMNS, "quadrant")
#: The clean transaction columns :func:`run_personas` reads (those the file has).
TRANSACTION_COLUMNS = ("customer_id", "order_id", "order_date", "amount", "is_return", "category", "channel")


def spine_inputs(cfg_personas: Personas | None = None) -> list[str]:
    """:data:`SPINE_INPUTS` and the column the size band is cut from (``size_by``)."""
    cfg = cfg_personas or Personas()
    return list(dict.fromkeys([*SPINE_INPUTS, cfg.size_by]))


def own_columns(names) -> list[str]:
    """Of the spine's column ``names``, those 03 writes: ``tag_*`` and :data:`PERSONA_COLUMNS`
    (an earlier run's are replaced, never left beside the new ones)."""
    return [c for c in names if c.startswith("tag_") or c in PERSONA_COLUMNS]


@dataclass
class PersonaRun:
    """Everything notebook 03 shows; ``spine`` is the customers table with the 03 columns
    computed here (``tag_*``, ``tag_score``, ``persona_cluster``)."""

    tags: pd.DataFrame
    availability: dict[str, FamilyStatus]
    weights: dict[str, float]
    clusters: ClusterResult
    naming: pd.DataFrame
    spine: pd.DataFrame
    notes: list[Note] = field(default_factory=list)


def attach(customers: pd.DataFrame, tags: pd.DataFrame, scores: pd.Series, result: ClusterResult) -> pd.DataFrame:
    """The spine with ``tag_*``, ``tag_score`` and ``persona_cluster`` (replacing any 03
    column of an earlier run, :data:`PERSONA_COLUMNS` included)."""
    old = own_columns(customers.columns)
    out = customers.drop(columns=old)
    new = tags.reindex(out.index).assign(
        tag_score=scores.reindex(out.index),
        persona_cluster=result.labels.reindex(out.index).astype("Int64"),
    )
    return pd.concat([out, new], axis=1)


def run_personas(customers: pd.DataFrame, transactions: pd.DataFrame | PersonaQueries,
                 interactions: pd.DataFrame | None, as_of: pd.Timestamp | str | None,
                 cfg_personas: Personas | None, **kwargs: Any) -> PersonaRun:
    """Tags, tag scores, clusters and their naming keys; the spine with the new columns.

    ``kwargs`` go to :func:`build_tags` (``size_by``, ``size_bins``, ``top_categories``,
    ``interaction_window_days``) and :func:`cluster_personas` (``fit_sample``,
    ``silhouette_sample``, ``n_init``).
    """
    cfg = cfg_personas or Personas()
    defaults = {
        "size_by": cfg.size_by,
        "size_bins": cfg.revenue_bins if cfg.size_by == "annual_revenue" and cfg.revenue_bins else cfg.size_bins,
        "top_categories": cfg.top_categories,
        "interaction_window_days": cfg.interaction_window_days,
    }
    tag_kw = {k: kwargs.pop(k, v) for k, v in defaults.items()}
    for k in ("fit_sample", "silhouette_sample", "n_init"):
        kwargs.setdefault(k, getattr(cfg, k))
    with step("personas", "tags", rows=len(customers)):
        tags, avail = build_tags(customers, transactions, interactions, as_of, cfg, **tag_kw)
    bool_avail = {f: s.available for f, s in avail.items()}
    scores = tag_scores(tags, cfg.tag_weights, bool_avail)
    with step("personas", "clusters", rows=len(customers)):
        result = cluster_personas(customers, transactions, cfg, as_of=as_of, **kwargs)
    naming = name_keys(result, tags)
    spine = attach(customers, tags, scores, result)
    note = omitted_note(avail)
    return PersonaRun(tags=tags, availability=avail, weights=effective_weights(cfg.tag_weights, bool_avail),
                      clusters=result, naming=naming, spine=spine, notes=[note] if note else [])
