"""The guide's three-dimensional model (2.1): value x demand type x potential type."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kit.core.config import Personas
from kit.core.notes import Msg, Note
from kit.stages.features import PreparedTransactions, day_number, prepare
from kit.stages.layering.common import (
    DEFAULT_DEMAND_KEYWORDS,
    DEFAULT_GROWTH_STAGES,
    DEFAULT_ROLE_DEMAND,
    _codes,
    _count_per_customer,
    _keyword_hits,
    _master_col,
    _master_frame,
    _note,
    _truthy_text,
)


def _votes_from_titles(master: pd.DataFrame | None, idx: pd.Index, types: list[str],
                       decision_roles: Mapping[str, Sequence[str]],
                       role_demand: Mapping[str, str]) -> np.ndarray | None:
    """One vote per matching decision role of the contact title (None: no titles)."""
    title = _master_col(master, "contact_title", idx)
    if title is None:
        return None
    votes = np.zeros((len(idx), len(types)))
    text = title.astype("str").where(title.notna(), "")
    for role, words in decision_roles.items():
        dtype_ = role_demand.get(role)
        if dtype_ in types:
            votes[:, types.index(dtype_)] += _keyword_hits(text, words).to_numpy(dtype=float)
    return votes


def _votes_from_interactions(interactions: pd.DataFrame | None, idx: pd.Index,
                             demand_keywords: Mapping[str, list[str]]) -> np.ndarray | None:
    """Share of a customer's interactions whose keywords / text match each type."""
    if interactions is None or not len(interactions):
        return None
    text_cols = [c for c in ("keywords", "text") if c in interactions.columns]
    if not text_cols:
        return None
    n = len(idx)
    text = interactions[text_cols[0]].astype("str").fillna("")
    for c in text_cols[1:]:
        text = text + " " + interactions[c].astype("str").fillna("")
    codes = _codes(interactions["customer_id"], idx)
    per = np.column_stack([
        _count_per_customer(codes, _keyword_hits(text, w).to_numpy(), n) for w in demand_keywords.values()
    ]).astype(float)
    total = per.sum(axis=1, keepdims=True)
    return np.divide(per, total, out=np.zeros_like(per), where=total > 0)


def votes_from_categories(transactions: pd.DataFrame | PreparedTransactions | None, idx: pd.Index,
                           as_of: pd.Timestamp | str | None,
                           demand_keywords: Mapping[str, list[str]]) -> np.ndarray | None:
    """Share of a customer's purchased amount whose category matches each type."""
    if transactions is None or not (
        isinstance(transactions, PreparedTransactions) or "category" in transactions.columns
    ):
        return None
    pt = prepare(transactions)
    if pt.category is None or not len(pt.categories):
        return None
    n, n_types = len(idx), len(demand_keywords)
    rows = pt.purchase & (pt.category >= 0)
    if as_of is not None:
        rows &= pt.day <= day_number(as_of)
    # category -> type matches, then amount per customer and type
    names = pd.Series(pt.categories.astype("str"))
    cat_type = np.column_stack([_keyword_hits(names, w).to_numpy() for w in demand_keywords.values()])
    pos = idx.get_indexer(pt.ids)  # customer code -> row of idx (-1 when not layered)
    cust = pos[pt.cust[rows]]
    ok = cust >= 0
    cust, cat, amt = cust[ok], pt.category[rows][ok], pt.amount[rows][ok]
    # astype: numpy's bincount of no weights is int64 (categories never bought yet)
    total = np.bincount(cust, weights=amt, minlength=n).astype(float)
    per = np.column_stack([
        np.bincount(cust, weights=amt * cat_type[cat, j], minlength=n) for j in range(n_types)
    ]).astype(float)
    return np.divide(per, total[:, None], out=np.zeros_like(per), where=total[:, None] > 0)


def _demand_type(idx: pd.Index, types: list[str], votes: np.ndarray) -> pd.Series:
    """The type with most votes (ties in the order of ``types``); NA without a vote."""
    best = votes.argmax(axis=1) if len(types) and len(idx) else np.zeros(len(idx), dtype=int)
    any_vote = votes.max(axis=1) > 0 if len(types) and len(idx) else np.zeros(len(idx), dtype=bool)
    demand = pd.Series(np.asarray(types, dtype=object)[best] if types else None, index=idx, dtype="str")
    return demand.where(any_vote)


def _potential_type(features: pd.DataFrame, master: pd.DataFrame | None,
                    growth_stages: Mapping[str, str], high_growth_min: float) -> tuple[pd.Series, int]:
    """Potential type from the master where it says, else from purchases; and how many
    customers it came from purchases for."""
    idx = features.index
    stage = _master_col(master, "growth_stage", idx)
    from_master = pd.Series(pd.NA, index=idx, dtype="str")
    if stage is not None:
        low = {str(k).lower(): v for k, v in growth_stages.items()}
        from_master = stage.astype("str").str.strip().str.lower().map(low).astype("str").where(stage.notna())
    plan = _master_col(master, "expansion_plan", idx)
    if plan is not None:
        from_master = from_master.mask(_truthy_text(plan).fillna(False).astype(bool), "high_growth")
    now = features["amount_12m"].astype(float)
    before = features["amount_13_24m"].astype(float)
    growth = now / before.where(before > 0) - 1
    from_data = np.where(
        (now <= 0) | (before <= 0), "to_activate",
        np.where(growth >= high_growth_min - 1e-12, "high_growth", "stable"),
    )
    potential = from_master.fillna(pd.Series(from_data, index=idx, dtype="str"))
    return potential, int(from_master.isna().sum())


def three_dimensional(
    features: pd.DataFrame,
    *,
    master: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    transactions: pd.DataFrame | PreparedTransactions | None = None,
    as_of: pd.Timestamp | str | None = None,
    decision_roles: Mapping[str, Sequence[str]] | None = None,
    role_demand: Mapping[str, str] | None = None,
    demand_keywords: Mapping[str, Sequence[str]] | None = None,
    growth_stages: Mapping[str, str] | None = None,
    high_growth_min: float = 0.20,
    category_votes: np.ndarray | None = None,
) -> tuple[pd.DataFrame, list[Note]]:
    """Demand and potential types of the guide's value-demand-potential model.

    The value dimension is the value tier (high = VIP, medium = core, low = small).

    **Demand type** (solution / price_sensitive / service), from three sources that each
    cast one vote split over the types they point to: the contact's decision role
    (``contact_title`` matched against ``decision_roles``, mapped by ``role_demand``:
    technical and executive -> solution, procurement -> price-sensitive); interaction
    keywords and text matched against ``demand_keywords`` (share of matching interactions
    per type); purchase scenario, the share of the purchased amount whose category matches
    ``demand_keywords`` (spare parts -> service, projects -> solution). The type with most
    votes wins (ties in the order of ``demand_keywords``); NA when no source says anything.

    **Potential type** (high_growth / stable / to_activate): from the master where it says
    (expansion plan or growth stage "growth" -> high growth; mature -> stable; startup ->
    to be activated); elsewhere from the data: no purchase in the trailing year, or none in
    the year before (new) -> to be activated; amount growth >= ``high_growth_min`` ->
    high growth; otherwise stable.

    ``category_votes``: the purchase-scenario shares already computed (an engine's answer,
    :mod:`kit.stages.layering.queries`); otherwise they come from ``transactions``.

    Returns
    -------
    (DataFrame, list of Note)
        ``demand_type, potential_type`` (str keys, NA where unknown) and notes.
    """
    demand_keywords = {k: list(v) for k, v in (demand_keywords or DEFAULT_DEMAND_KEYWORDS).items()}
    role_demand = dict(DEFAULT_ROLE_DEMAND if role_demand is None else role_demand)
    growth_stages = dict(DEFAULT_GROWTH_STAGES if growth_stages is None else growth_stages)
    if decision_roles is None:
        decision_roles = Personas().decision_roles
    master = _master_frame(master)
    idx = features.index
    types = list(demand_keywords)
    votes = np.zeros((len(idx), len(types)))
    sources: list[str] = []
    for source, v in (
        ("contact_title", _votes_from_titles(master, idx, types, decision_roles, role_demand)),
        ("interactions", _votes_from_interactions(interactions, idx, demand_keywords)),
        ("categories", category_votes if category_votes is not None
         else votes_from_categories(transactions, idx, as_of, demand_keywords)),
    ):
        if v is not None:
            votes += v
            sources.append(source)
    demand = _demand_type(idx, types, votes)
    potential, n_data = _potential_type(features, master, growth_stages, high_growth_min)
    notes = _dimension_notes(sources, int(demand.isna().sum()), n_data, high_growth_min)
    return pd.DataFrame({"demand_type": demand, "potential_type": potential}, index=idx), notes


def _dimension_notes(sources: list[str], n_unknown: int, n_data: int, high_growth_min: float) -> list[Note]:
    """What the demand type was told from, or that it could not be; where the potential
    type came from purchases."""
    notes = []
    if sources:
        names = [Msg(f"layering.demand_source.{s}") for s in sources]
        notes.append(_note("demand_sources_unknown", sources=names, n=n_unknown) if n_unknown
                     else _note("demand_sources", sources=names))
    else:
        notes.append(_note("demand_omitted", "omitted"))
    if n_data:
        notes.append(_note("potential_from_data", n=n_data, growth_pct=high_growth_min * 100))
    return notes
