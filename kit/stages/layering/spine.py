"""The spine of stage 02: every layer of DOMAIN.md section 2 on one row per customer."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from kit.core.progress import step
from kit.core.config import KitConfig
from kit.core.notes import Note, dedupe
from kit.core.periods import previous_period_end
from kit.stages.layering.churn import churn_risk, complaint_rates, satisfaction_scores
from kit.stages.layering.common import (
    DEFAULT_DEMAND_KEYWORDS,
    DEFAULT_GROWTH_STAGES,
    DEFAULT_OVERDUE_STATUSES,
    DEFAULT_ROLE_DEMAND,
    MASTER_ATTRIBUTES,
    _interactions_until,
    _master_frame,
    _note,
    _setting,
)
from kit.stages.layering.concentration import concentration_notes
from kit.stages.layering.dimensions import three_dimensional
from kit.stages.layering.dynamic import (
    downgrade_warnings,
    migration,
    special_flags,
    upgrade_triggers,
)
from kit.stages.layering.quadrant import quadrants, value_potential
from kit.stages.layering.queries import TransactionQueries, queries_of
from kit.stages.layering.rfm import rfm8, rfm_scores, rfm_segments
from kit.stages.layering.tiers import abc_classes, value_tiers


def _rfm_and_value(feats: pd.DataFrame, tq: TransactionQueries, as_of: pd.Timestamp,
                   cfg: KitConfig, master: pd.DataFrame | None, ix: pd.DataFrame | None,
                   opts: dict[str, Any]) -> tuple[pd.DataFrame, list[Note]]:
    """RFM, the 8 classes, value tiers, A/B/C, value and potential scores, the quadrant."""
    L = cfg.layering
    rfm_in = feats[["days_since_last", "orders_total", "revenue_total"]]
    if L.rfm.window_months is not None:
        w = tq.window_totals(as_of, L.rfm.window_months)
        rfm_in = rfm_in.assign(orders_total=w["orders"], revenue_total=w["amount"])
    scores = rfm_scores(rfm_in, bins=L.rfm.bins)
    out = feats.join(scores)
    out["rfm_segment"] = rfm_segments(scores, L.rfm.segments, bins=L.rfm.bins)
    out["rfm8_class"] = rfm8(rfm_in, threshold=L.rfm.rfm8_threshold)
    out["value_tier"] = value_tiers(feats["amount_12m"], L.value_tiers)
    out["abc_class"] = abc_classes(feats["amount_12m"], master, L.abc, growth_stages=opts["growth_stages"])
    vp, notes = value_potential(feats, master=master, interactions=ix, rule=L.quadrant,
                                default_margin=cfg.clv.margin)
    out = out.join(vp)
    out["quadrant"] = quadrants(out["value_score"], out["potential_score"],
                                value_threshold=L.quadrant.value_threshold,
                                potential_threshold=L.quadrant.potential_threshold)
    return out, notes


def _risk_and_dynamic(out: pd.DataFrame, feats: pd.DataFrame, tq: TransactionQueries,
                      as_of: pd.Timestamp, cfg: KitConfig,
                      master: pd.DataFrame | None, ix: pd.DataFrame | None,
                      opts: dict[str, Any]) -> tuple[pd.DataFrame, list[Note], pd.Index | None]:
    """The three dimensions, churn risk and the dynamic adjustment; also the overdue
    customers (None when the data cannot tell)."""
    L = cfg.layering
    idx = out.index
    td, notes = three_dimensional(
        feats, master=master, interactions=ix,
        category_votes=tq.category_votes(idx, as_of, opts["demand_keywords"]), as_of=as_of,
        decision_roles=cfg.personas.decision_roles, role_demand=opts["role_demand"],
        demand_keywords=opts["demand_keywords"], growth_stages=opts["growth_stages"],
        high_growth_min=opts["high_growth_min"],
    )
    out = out.join(td)
    out["satisfaction"] = satisfaction_scores(ix, as_of, L.churn.satisfaction_window_months, index=idx)
    rate, base = complaint_rates(ix, feats["orders_12m"], as_of, opts["complaint_window_months"])
    out["complaint_rate"] = rate
    out["churn_risk"] = churn_risk(feats["months_since_last"], out["satisfaction"], L.churn)
    out = out.join(upgrade_triggers(feats, out["value_tier"], L.dynamic))
    out = out.join(downgrade_warnings(out["value_tier"], feats["months_since_last"], rate, base, L.dynamic))
    overdue = tq.overdue(as_of, overdue_days=L.dynamic.overdue_days_risk,
                         window_months=opts["complaint_window_months"], overdue_statuses=opts["overdue_statuses"])
    out["special_flags"] = special_flags(idx, master=master, overdue=overdue, churn=out["churn_risk"])
    out.attrs["complaint_base_rate"] = base
    return out, notes, overdue


def _gap_notes(out: pd.DataFrame, feats: pd.DataFrame, ix: pd.DataFrame | None,
               master: pd.DataFrame | None, overdue: pd.Index | None, cfg: KitConfig) -> list[Note]:
    """The sections the data cannot support (kind ``omitted``)."""
    notes = []
    if ix is None:
        notes.append(_note("no_interactions", "omitted"))
    else:
        if "score" not in ix.columns or out["satisfaction"].isna().all():
            notes.append(_note("no_satisfaction", "omitted"))
        if "type" not in ix.columns:
            notes.append(_note("no_interaction_types", "omitted"))
    if master is None:
        notes.append(_note("no_master", "omitted"))
    if feats["n_categories"].isna().all() and cfg.layering.dynamic.upgrade_on_new_category:
        notes.append(_note("no_category", "omitted"))
    if overdue is None:
        notes.append(_note("no_overdue_data", "omitted"))
    return notes


def _layer_at(
    tq: TransactionQueries,
    as_of: pd.Timestamp,
    cfg: KitConfig,
    master: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    opts: dict[str, Any],
    *,
    full: bool,
) -> tuple[pd.DataFrame, list[Note]]:
    """One layering as of ``as_of``; ``full=False`` stops after the tiers and quadrant."""
    L = cfg.layering
    quarters = max(4, L.dynamic.upgrade_quarters + 1)
    feats = tq.features(as_of, window_months=L.value_tiers.window_months, quarters=quarters)
    ix = _interactions_until(interactions, as_of)
    if master is not None:
        master = master.reindex(feats.index)  # aligned once: every rule below reads it as is
    out, notes = _rfm_and_value(feats, tq, as_of, cfg, master, ix, opts)
    if not full:
        return out, notes
    out, td_notes, overdue = _risk_and_dynamic(out, feats, tq, as_of, cfg, master, ix, opts)
    return out, notes + td_notes + _gap_notes(out, feats, ix, master, overdue, cfg)


def _queries(transactions: pd.DataFrame | TransactionQueries) -> TransactionQueries:
    """The layering's questions answered in process over a frame, or by the engine given."""
    if not isinstance(transactions, pd.DataFrame):
        return transactions
    with step("layering", "transactions prepared", rows=len(transactions)):
        return queries_of(transactions)


def _options(cfg: KitConfig, **given: Any) -> dict[str, Any]:
    """The settings of :func:`layer`: keyword, else the config, else the documented default."""
    defaults = {
        "demand_keywords": ("three_d", DEFAULT_DEMAND_KEYWORDS),
        "role_demand": ("three_d", DEFAULT_ROLE_DEMAND),
        "growth_stages": ("three_d", DEFAULT_GROWTH_STAGES),
        "high_growth_min": ("three_d", 0.20),
        "overdue_statuses": ("dynamic", DEFAULT_OVERDUE_STATUSES),
        "complaint_window_months": ("dynamic", 12),
    }
    return {k: _setting(cfg, section, k, given[k], default) for k, (section, default) in defaults.items()}


def layer(
    transactions: pd.DataFrame | TransactionQueries,
    as_of: pd.Timestamp | str,
    cfg: KitConfig,
    master: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    *,
    previous: bool = True,
    demand_keywords: Mapping[str, Sequence[str]] | None = None,
    role_demand: Mapping[str, str] | None = None,
    growth_stages: Mapping[str, str] | None = None,
    high_growth_min: float | None = None,
    overdue_statuses: Sequence[str] | None = None,
    complaint_window_months: int | None = None,
) -> pd.DataFrame:
    """The spine of stage 02: one row per customer with every layer of DOMAIN.md section 2.

    Clean transactions (+ master, + interactions) -> ``customers`` indexed by
    ``customer_id``: master attributes, business features
    (:func:`kit.stages.features.business_features`), the lifetimes summary
    (:func:`kit.stages.summary.customer_summary`, purchases only, ``cfg.clv.time_unit``), the
    layers and the comparison with the previous period (see ``kit/core/columns/spine.yml``
    for the columns). Customers with a purchase on or before ``as_of`` are layered; master rows
    without one are not.

    Parameters
    ----------
    transactions : DataFrame or TransactionQueries
        Clean transactions (``transactions_clean.parquet``), or an engine's answers to the
        questions the layering asks of them (:mod:`kit.stages.layering.queries`).
    as_of : date-like
        End of the period, inclusive.
    cfg : KitConfig
        ``cfg.layering`` holds every rule; ``cfg.period`` fixes the previous period;
        ``cfg.clv.margin`` is the margin of the profit proxy.
    master, interactions : DataFrame, optional
        ``customers_master_clean.parquet`` and ``interactions_clean.parquet``.
    previous : bool
        Also layer as of the previous period end and add the migration columns.
    demand_keywords, role_demand, growth_stages, high_growth_min
        Three-dimensional model settings (:func:`three_dimensional`); default
        ``cfg.layering.three_d.*`` when the config has them, else the module defaults.
    overdue_statuses : sequence of str
        ``payment_status`` words meaning overdue (default ``cfg.layering.dynamic.overdue_statuses``
        or 逾期 / overdue).
    complaint_window_months : int
        Window of complaint rates and overdue orders (default 12).

    Returns
    -------
    DataFrame
        The spine. ``attrs["notes"]`` holds the proxies used and the sections the data
        cannot support (:class:`kit.core.notes.Note` as dicts, so they survive parquet; read
        them with :func:`notes`), ``attrs["as_of"]`` and ``attrs["prev_as_of"]`` the two dates.
    """
    as_of = pd.Timestamp(as_of).normalize()
    opts = _options(cfg, demand_keywords=demand_keywords, role_demand=role_demand,
                    growth_stages=growth_stages, high_growth_min=high_growth_min,
                    overdue_statuses=overdue_statuses, complaint_window_months=complaint_window_months)
    m = _master_frame(master)
    tq = _queries(transactions)
    with step("layering", f"layers as of {as_of:%Y-%m-%d}", rows=tq.n_rows):
        cur, notes = _layer_at(tq, as_of, cfg, m, interactions, opts, full=True)
    notes += concentration_notes(cur, cfg.layering.concentration_warning_share, cfg.currency)
    with step("layering", "master and lifetimes summary", rows=len(cur)):
        out, master_notes = _with_master_and_summary(cur, m, tq, as_of, cfg)
    prev_as_of = previous_period_end(as_of, cfg.period)
    if previous:
        with step("layering", f"previous period as of {prev_as_of:%Y-%m-%d}", rows=tq.n_rows):
            prev, _ = _layer_at(tq, prev_as_of, cfg, m, interactions, opts, full=False)
            out = out.join(migration(cur, prev))
        master_notes.append(_note("previous_recomputed", prev_as_of=f"{prev_as_of:%Y-%m-%d}"))
    out = out[[c for c in _column_order(out.columns)]]
    out.attrs = {
        "notes": [n.as_dict() for n in dedupe(notes + master_notes)],
        "as_of": str(as_of.date()),
        "prev_as_of": str(prev_as_of.date()),
        "complaint_base_rate": cur.attrs.get("complaint_base_rate", float("nan")),
    }
    return out


def _with_master_and_summary(cur: pd.DataFrame, master: pd.DataFrame | None, tq: TransactionQueries,
                             as_of: pd.Timestamp, cfg: KitConfig) -> tuple[pd.DataFrame, list[Note]]:
    """The layering with the master attributes in front and the lifetimes summary (purchases
    only) after it; a note on master customers without a purchase (not layered)."""
    idx = cur.index
    summ = tq.summary(as_of, cfg.clv.time_unit).reindex(idx)
    parts, notes = [], []
    if master is not None:
        parts.append(master[[c for c in MASTER_ATTRIBUTES if c in master.columns]].reindex(idx))
        n_unlayered = int((idx.get_indexer(master.index) < 0).sum())
        if n_unlayered:
            notes.append(_note("unlayered", n=n_unlayered, as_of=f"{as_of:%Y-%m-%d}"))
    out = pd.concat([*parts, cur, summ], axis=1)
    out.index.name = "customer_id"
    return out, notes


SPINE_ORDER = [
    *MASTER_ATTRIBUTES,
    "first_purchase", "last_purchase", "days_since_last", "months_since_last", "orders_total",
    "revenue_total", "orders_12m", "amount_12m",
]


def _column_order(cols: pd.Index) -> list[str]:
    """Master attributes, business features, the lifetimes summary, then the layers in the
    order they were added."""
    summary = ["frequency", "recency", "T", "monetary_value"]
    rest = [c for c in cols if c not in summary]
    cut = rest.index("tenure_days") + 1 if "tenure_days" in rest else len(rest)
    ordered = rest[:cut] + [c for c in summary if c in cols] + rest[cut:]
    head = [c for c in SPINE_ORDER if c in cols]
    return head + [c for c in ordered if c not in head]


def notes(customers: pd.DataFrame) -> list[Note]:
    """The notes :func:`layer` left (proxies, omitted sections) for ``ctx.note``.

    They are kept on the spine as plain dicts (``customers.attrs["notes"]``), so they
    survive ``to_parquet`` and ``read_parquet``; this turns them back into notes.
    """
    return [n if isinstance(n, Note) else Note.from_dict(n) for n in customers.attrs.get("notes", [])]
