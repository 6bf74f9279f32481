"""Tags per customer: static, dynamic and pain-point families (see the package docstring).

:func:`build_tags` runs one step per family; each step fills its ``tag_*`` columns and
returns the family's :class:`FamilyStatus`. Stored values are language-neutral keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from kit.core.checks import validate_cols as _require
from kit.core.config import Personas
from kit.core.notes import Msg, Note
from kit.stages.features import purchase_mask
from kit.stages.personas.matching import match_keywords, normalise_keyword, split_keywords
from kit.stages.personas.queries import PersonaQueries

SECTION = "03_personas"

#: Separator of multi-valued tags.
SEP = "|"

#: Tag families: group and columns, in display order.
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "industry": ("static", ("tag_industry",)),
    "size": ("static", ("tag_size",)),
    "region": ("static", ("tag_region",)),
    "decision_role": ("static", ("tag_decision_role",)),
    "recent_activity": ("dynamic", ("tag_recent_orders",)),
    "channel": ("dynamic", ("tag_channel",)),
    "keywords": ("dynamic", ("tag_keywords",)),
    "category": ("dynamic", ("tag_category", "tag_n_categories")),
    "pain_point": ("pain_point", ("tag_core_pain", "tag_hidden_need", "tag_decision_concern", "tag_pain_hits")),
}

#: Sub-families of the pain-point family (``PainPoint.family``) and their columns.
PAIN_COLUMNS = {
    "core_pain": "tag_core_pain",
    "hidden_need": "tag_hidden_need",
    "decision_concern": "tag_decision_concern",
}

COUNT_COLUMNS = ("tag_recent_orders", "tag_n_categories", "tag_pain_hits")
TAG_COLUMNS = [c for _, cols in FAMILIES.values() for c in cols]


# --------------------------------------------------------------------------------------
# Availability
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyStatus:
    """Whether a tag family could be built from the data, and why not (``reason``: a
    message, ``personas.reason.*``)."""

    family: str
    available: bool
    reason: Msg | None = None

    def __bool__(self) -> bool:
        return self.available


def _ok(family: str) -> FamilyStatus:
    return FamilyStatus(family, True)


def _absent(family: str, code: str, **params: Any) -> FamilyStatus:
    return FamilyStatus(family, False, Msg(f"personas.reason.{code}", **params))


def _master_absent(family: str, col: str, no_column: bool) -> FamilyStatus:
    field = Msg(f"personas.field.{family}", col=col)
    return _absent(family, "master_no_column" if no_column else "master_column_empty", field=field)


def unavailable_families(availability: dict[str, FamilyStatus]) -> list[str]:
    return [f for f, s in availability.items() if not s.available]


def omitted_note(availability: dict[str, FamilyStatus]) -> Note | None:
    """One ``omitted`` note listing the families the data cannot support and why (None
    when every family is available)."""
    missing = [availability[f] for f in unavailable_families(availability)]
    if not missing:
        return None
    items = [Msg("personas.family_reason", family=Msg(f"label.tag_family.{s.family}"), reason=s.reason)
             for s in missing]
    chain = items[-1]
    for item in reversed(items[:-1]):  # a list as nested messages: "a; b; c"
        chain = Msg("personas.family_list", item=item, rest=chain)
    return Note("personas.families_omitted", {"families": chain}, "omitted", SECTION)


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def clean_text(s: pd.Series) -> pd.Series:
    """A channel or category column as the tags read it: text, stripped, empty = missing."""
    s = s.astype("str").str.strip()
    return s.where(s.notna() & (s != ""))


def _fmt_edge(x: float) -> str:
    if x >= 1e6 and x % 1e5 == 0:
        return f"{x / 1e6:g}M"
    if x >= 1e4 and x % 1e3 == 0:
        return f"{x / 1e3:g}K"
    return f"{x:g}"


def size_band_labels(bins: Sequence[float]) -> list[str]:
    """Band keys of ``bins`` edges: ``[0, 50, 200]`` -> ``["0-50", "50-200", "200+"]``."""
    edges = list(bins)
    out = [f"{_fmt_edge(a)}-{_fmt_edge(b)}" for a, b in zip(edges[:-1], edges[1:])]
    return out + [f"{_fmt_edge(edges[-1])}+"]


def size_bands(values: pd.Series, bins: Sequence[float]) -> pd.Series:
    """Size band key per value; bands are ``[a, b)``, the last open-ended; below the
    first edge or missing -> missing."""
    edges = sorted(float(b) for b in bins)
    if len(edges) < 1:
        raise ValueError("size_bins needs at least one edge")
    v = pd.to_numeric(values, errors="coerce")
    cut = pd.cut(v, bins=[*edges, np.inf], right=False, labels=size_band_labels(edges))
    return cut.astype("str").where(cut.notna())


def purchases(transactions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Purchase rows (:func:`kit.stages.features.purchase_mask`) up to ``as_of``."""
    tx = transactions
    return tx.loc[(tx["order_date"] <= as_of) & purchase_mask(tx)]


def order_counts(tx: pd.DataFrame, by: list[str]) -> pd.Series:
    """Orders per group: distinct order ids when every row has one, else rows."""
    if "order_id" in tx.columns and tx["order_id"].notna().all():
        return tx.groupby(by, observed=True)["order_id"].nunique()
    return tx.groupby(by, observed=True).size()


def _joined_top(long: pd.DataFrame, key: str, value: str, weight: str, n: int | None) -> pd.Series:
    """Per ``key``: the ``value``s with the largest ``weight`` (ties by value), joined by SEP."""
    ordered = long.sort_values([key, weight, value], ascending=[True, False, True], kind="mergesort")
    return _join_ranked(ordered, key, value, n)


def _join_ranked(ordered: pd.DataFrame, key: str, value: str, n: int | None = None) -> pd.Series:
    """Join the ``value``s of each ``key`` (already in rank order) with SEP, vectorised:
    one column per rank, then column-wise string concatenation (no Python loop per key)."""
    rank = ordered.groupby(key, sort=False).cumcount()
    if n is not None:
        ordered, rank = ordered.loc[rank < n], rank[rank < n]
    wide = pd.DataFrame({key: ordered[key].to_numpy(), "rank": rank.to_numpy(),
                         value: ordered[value].astype("str").to_numpy()})
    wide = wide.pivot(index=key, columns="rank", values=value)
    out = wide[0].astype("str")
    for r in wide.columns[1:]:
        nxt = wide[r].astype("str")
        out = out.where(nxt.isna(), out + SEP + nxt.fillna(""))
    out.name = value
    return out


def _spine(s: pd.Series, idx: pd.Index, fill: Any = pd.NA, dtype: str = "str") -> pd.Series:
    """``s`` indexed by spine positions laid onto the spine index ``idx`` (others: ``fill``)."""
    out = pd.Series(fill, index=idx, dtype=dtype)
    if len(s):
        out.iloc[s.index.to_numpy(dtype=np.int64)] = s.to_numpy()
    return out


def _positions(ids: pd.Series, idx: pd.Index) -> np.ndarray:
    """Position of each customer id in the spine index (-1 when absent): grouping on these
    integers instead of the id strings keeps the tags fast for a million customers."""
    return idx.get_indexer(ids)


def _join_flags(flags: pd.DataFrame) -> pd.Series:
    """Names of the True columns per row joined by SEP (column order), missing when none."""
    out = pd.Series("", index=flags.index, dtype="str")
    for col in flags.columns:
        f = flags[col].to_numpy(dtype=bool)
        add = np.where(out.to_numpy(dtype=object) == "", col, SEP + col)
        out = out.where(~f, out + pd.Series(add, index=flags.index, dtype="str"))
    return out.where(out != "")


def empty_tags(index: pd.Index) -> pd.DataFrame:
    """All tag columns, missing, with their dtypes."""
    data = {c: pd.Series(pd.NA, index=index, dtype="Int64" if c in COUNT_COLUMNS else "str")
            for c in TAG_COLUMNS}
    return pd.DataFrame(data, index=index)


# --------------------------------------------------------------------------------------
# Static families (the customer master)
# --------------------------------------------------------------------------------------


def _static_tags(tags: pd.DataFrame, customers: pd.DataFrame, cfg: Personas, size_by: str,
                 bins: list[float]) -> dict[str, FamilyStatus]:
    """Industry, region, size band and decision role."""
    avail: dict[str, FamilyStatus] = {}
    for family, col in (("industry", "industry"), ("region", "region")):
        s = clean_text(customers[col]) if col in customers.columns else None
        if s is None or s.isna().all():
            avail[family] = _master_absent(family, col, s is None)
        else:
            tags[f"tag_{family}"] = s
            avail[family] = _ok(family)
    if size_by in customers.columns and pd.to_numeric(customers[size_by], errors="coerce").notna().any():
        tags["tag_size"] = size_bands(customers[size_by], bins)
        avail["size"] = _ok("size")
    else:
        avail["size"] = _master_absent("size", size_by, size_by not in customers.columns)
    avail["decision_role"] = _decision_role_tags(tags, customers, cfg)
    return avail


def _decision_role_tags(tags: pd.DataFrame, customers: pd.DataFrame, cfg: Personas) -> FamilyStatus:
    if "contact_title" not in customers.columns or not customers["contact_title"].notna().any():
        return _master_absent("decision_role", "contact_title", "contact_title" not in customers.columns)
    codes, titles = pd.factorize(clean_text(customers["contact_title"]))  # match each title once
    titles = pd.Series(np.asarray(titles, dtype=object), dtype="str")
    roles = pd.DataFrame({role: match_keywords(titles, kws) for role, kws in cfg.decision_roles.items()})
    joined = np.append(_join_flags(roles).to_numpy(dtype=object), None)  # code -1 -> missing
    tags["tag_decision_role"] = pd.Series(joined[codes], index=customers.index, dtype="str")
    return _ok("decision_role")


# --------------------------------------------------------------------------------------
# Dynamic families (purchases)
# --------------------------------------------------------------------------------------


def _preference(top: pd.DataFrame, cfg: Personas) -> pd.Series:
    """The top channel (``channel, n, total`` per customer) where its share of the orders is
    at least ``channel_mixed_share``, else ``mixed``."""
    return top["channel"].where(top["n"] / top["total"] >= cfg.channel_mixed_share, "mixed")


def _dynamic_tags(tags: pd.DataFrame, tx: pd.DataFrame, as_of: pd.Timestamp, cfg: Personas,
                  top_categories: int) -> dict[str, FamilyStatus]:
    """Recent purchases, channel preference and categories (``tx``: purchases with ``_c``)."""
    idx = tags.index
    avail: dict[str, FamilyStatus] = {}
    recent = tx.loc[tx["order_date"] > as_of - pd.Timedelta(days=cfg.recent_days)]
    counts = order_counts(recent, ["_c"]) if len(recent) else pd.Series(dtype="int64")
    tags["tag_recent_orders"] = _spine(counts, idx, 0, "Int64")
    avail["recent_activity"] = _ok("recent_activity")

    if "channel" in tx.columns and tx["channel"].notna().any():
        ch = tx.assign(channel=clean_text(tx["channel"])).dropna(subset=["channel"])
        per = order_counts(ch, ["_c", "channel"]).rename("n").reset_index()
        per = per.assign(total=per.groupby("_c")["n"].transform("sum"))
        top = per.sort_values(["_c", "n", "channel"], ascending=[True, False, True], kind="mergesort")
        top = top.groupby("_c", sort=False).head(1).set_index("_c")
        tags["tag_channel"] = _spine(_preference(top, cfg), idx)
        avail["channel"] = _ok("channel")
    else:
        avail["channel"] = _absent("channel", "no_channel")

    if "category" in tx.columns and tx["category"].notna().any():
        cat = tx.assign(category=clean_text(tx["category"])).dropna(subset=["category"])
        amt = cat.groupby(["_c", "category"], observed=True)["amount"].sum().reset_index()
        tags["tag_category"] = _spine(_joined_top(amt, "_c", "category", "amount", top_categories), idx)
        tags["tag_n_categories"] = _spine(amt.groupby("_c").size(), idx, 0, "Int64")
        avail["category"] = _ok("category")
    else:
        avail["category"] = _absent("category", "no_category")
    return avail


def _on_spine(answer: pd.DataFrame, idx: pd.Index) -> pd.DataFrame:
    """An engine's per-customer rows with ``_c``, the customer's position in the spine (rows
    of customers outside it dropped)."""
    pos = _positions(answer["customer_id"].astype("str"), idx)
    return answer.assign(_c=pos)[pos >= 0]


def _dynamic_tags_from(tags: pd.DataFrame, tq: PersonaQueries, as_of: pd.Timestamp, cfg: Personas,
                       top_categories: int) -> dict[str, FamilyStatus]:
    """:func:`_dynamic_tags` from an engine's answers (:mod:`kit.stages.personas.queries`)."""
    idx = tags.index
    avail: dict[str, FamilyStatus] = {"recent_activity": _ok("recent_activity")}
    recent = _on_spine(tq.recent_orders(as_of, cfg.recent_days), idx)
    tags["tag_recent_orders"] = _spine(recent.set_index("_c")["n"], idx, 0, "Int64")
    top = tq.top_channel(as_of)
    if top is None:
        avail["channel"] = _absent("channel", "no_channel")
    else:
        tags["tag_channel"] = _spine(_preference(_on_spine(top, idx).set_index("_c"), cfg), idx)
        avail["channel"] = _ok("channel")
    ranked = tq.top_categories(as_of, top_categories)
    if ranked is None:
        avail["category"] = _absent("category", "no_category")
    else:
        ranked = _on_spine(ranked, idx)
        tags["tag_category"] = _spine(_join_ranked(ranked, "_c", "category") if len(ranked) else ranked["category"],
                                      idx)
        tags["tag_n_categories"] = _spine(ranked.groupby("_c")["n_categories"].first(), idx, 0, "Int64")
        avail["category"] = _ok("category")
    return avail


# --------------------------------------------------------------------------------------
# Interactions: inquiry keywords and pain points
# --------------------------------------------------------------------------------------


def _window(interactions: pd.DataFrame | None, as_of: pd.Timestamp, days: int | None) -> pd.DataFrame | None:
    if interactions is None or len(interactions) == 0:
        return None
    _require(interactions, ["customer_id", "date"], "interactions")
    keep = interactions["date"] <= as_of
    if days is not None:
        keep &= interactions["date"] > as_of - pd.Timedelta(days=days)
    out = interactions.loc[keep].reset_index(drop=True)
    return out if len(out) else None


def _interaction_tags(tags: pd.DataFrame, interactions: pd.DataFrame | None, as_of: pd.Timestamp,
                      cfg: Personas, window_days: int | None) -> dict[str, FamilyStatus]:
    """Inquiry keywords and pain points from the interactions in the window."""
    idx = tags.index
    inter = _window(interactions, as_of, window_days)
    if inter is not None:
        ipos = _positions(inter["customer_id"], idx)
        inter = inter.assign(_c=ipos)[ipos >= 0].reset_index(drop=True)
        inter = inter if len(inter) else None
    no_inter = interactions is None or len(interactions) == 0
    why = "no_interactions" if no_inter else "no_interactions_in_window"
    return {"keywords": _keyword_tags(tags, inter, cfg, why),
            "pain_point": _pain_point_family(tags, inter, cfg, why)}


def _keyword_tags(tags: pd.DataFrame, inter: pd.DataFrame | None, cfg: Personas, why: str) -> FamilyStatus:
    if inter is None:
        return _absent("keywords", why)
    if "keywords" not in inter.columns or not inter["keywords"].notna().any():
        return _absent("keywords", "no_keywords_column")
    inq = inter
    if "type" in inter.columns:
        inq = inter.loc[inter["type"].astype("str").str.lower() == "inquiry"].reset_index(drop=True)
    kw = split_keywords(inq["keywords"])
    if not len(kw):
        return _absent("keywords", "no_keyword_inquiries")
    long = pd.DataFrame({"_c": inq["_c"].to_numpy()[kw.index.to_numpy()],
                         "keyword": normalise_keyword(kw).to_numpy()})
    n = long.groupby(["_c", "keyword"]).size().rename("n").reset_index()
    tags["tag_keywords"] = _spine(_joined_top(n, "_c", "keyword", "n", cfg.top_keywords), tags.index)
    return _ok("keywords")


def _pain_point_family(tags: pd.DataFrame, inter: pd.DataFrame | None, cfg: Personas, why: str) -> FamilyStatus:
    text_cols = [c for c in ("keywords", "text") if inter is not None and c in inter.columns]
    if inter is not None and text_cols and inter[text_cols].notna().any().any() and cfg.pain_points:
        text = inter[text_cols[0]].astype("str").fillna("")
        for c in text_cols[1:]:
            text = text + " " + inter[c].astype("str").fillna("")
        _pain_tags(tags, inter["_c"], text, cfg)
        return _ok("pain_point")
    if inter is not None and not cfg.pain_points:
        return _absent("pain_point", "no_pain_dictionary")
    return _absent("pain_point", why if inter is None else "no_text_columns")


def _pain_tags(tags: pd.DataFrame, position: pd.Series, text: pd.Series, cfg: Personas) -> None:
    """Fill the pain-point columns of ``tags`` in place (``position``: each interaction's
    customer position in the spine)."""
    idx = tags.index
    keys = [p.label.en for p in cfg.pain_points]
    hits = pd.DataFrame({i: match_keywords(text, p.keywords) for i, p in enumerate(cfg.pain_points)},
                        index=text.index)
    cid = position.to_numpy()
    tags["tag_pain_hits"] = _spine(hits.any(axis=1).groupby(cid).sum(), idx, 0, "Int64")
    per = hits.groupby(cid).sum()
    per.index.name = "customer_id"
    long = per.reset_index().melt(id_vars="customer_id", var_name="i", value_name="n")
    long = long.loc[long["n"] > 0]
    long = long.assign(
        key=np.array(keys, dtype=object)[long["i"].to_numpy(dtype=int)],
        family=np.array([p.family for p in cfg.pain_points], dtype=object)[long["i"].to_numpy(dtype=int)],
        order=long["i"].astype(int),
    )
    for fam, col in PAIN_COLUMNS.items():
        sub = long.loc[long["family"] == fam]
        if len(sub):
            sub = sub.sort_values(["customer_id", "n", "order"], ascending=[True, False, True], kind="mergesort")
            tags[col] = _spine(_join_ranked(sub, "customer_id", "key"), idx)


# --------------------------------------------------------------------------------------
# All families
# --------------------------------------------------------------------------------------


def build_tags(
    customers: pd.DataFrame,
    transactions: pd.DataFrame | PersonaQueries,
    interactions: pd.DataFrame | None = None,
    as_of: pd.Timestamp | str | None = None,
    cfg_personas: Personas | None = None,
    *,
    size_by: str = "employees",
    size_bins: Sequence[float] | None = None,
    top_categories: int = 3,
    interaction_window_days: int | None = 365,
) -> tuple[pd.DataFrame, dict[str, FamilyStatus]]:
    """Static, dynamic and pain-point tags per customer.

    Parameters
    ----------
    customers : DataFrame
        The spine, index ``customer_id``; master columns ``industry, region, employees
        (or annual_revenue), contact_title`` are used when present.
    transactions : DataFrame or PersonaQueries
        Clean transactions ``customer_id, order_date, amount [, order_id, channel,
        category, is_return]``. Only purchases up to ``as_of`` count. Or an engine's
        answers (:mod:`kit.stages.personas.queries`; ``as_of`` then required).
    interactions : DataFrame, optional
        Clean interactions ``customer_id, date [, type, keywords, text]``.
    as_of : Timestamp, optional
        Period end; default the latest order date.
    cfg_personas : Personas, optional
        ``cfg.personas``; default the brief's defaults.
    size_by : {"employees", "annual_revenue"}
        Master column the size band is cut from.
    size_bins : sequence of float, optional
        Band edges; default ``cfg_personas.size_bins`` (employee counts).
    top_categories : int
        Categories kept in ``tag_category``.
    interaction_window_days : int or None
        Interactions of the last N days feed keywords and pain points; None: all history.

    Returns
    -------
    tags : DataFrame
        Index ``customer_id`` (the spine's), columns :data:`TAG_COLUMNS`.
    availability : dict
        family -> :class:`FamilyStatus`, in the order of :data:`FAMILIES`.
    """
    cfg = cfg_personas or Personas()
    idx = customers.index
    if not idx.is_unique:
        raise ValueError("customers must be indexed by a unique customer_id")
    tags = empty_tags(idx)
    bins = list(size_bins) if size_bins is not None else list(cfg.size_bins)
    avail = _static_tags(tags, customers, cfg, size_by, bins)
    if isinstance(transactions, pd.DataFrame):
        _require(transactions, ["customer_id", "order_date", "amount"], "transactions")
        as_of = pd.Timestamp(as_of) if as_of is not None else transactions["order_date"].max()
        tx = purchases(transactions, as_of)
        pos = _positions(tx["customer_id"], idx)
        tx = tx.assign(_c=pos)[pos >= 0]  # "_c": the customer's position in the spine
        avail |= _dynamic_tags(tags, tx, as_of, cfg, top_categories)
    else:  # an engine's answers; the period end is the run's
        as_of = pd.Timestamp(as_of)
        avail |= _dynamic_tags_from(tags, transactions, as_of, cfg, top_categories)
    avail |= _interaction_tags(tags, interactions, as_of, cfg, interaction_window_days)
    tags.attrs["size_by"] = size_by  # how tag_size is labelled
    return tags, {f: avail[f] for f in FAMILIES}
