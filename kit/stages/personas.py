"""Personas (DOMAIN.md section 3; guide ch. 2.2): tags, the tag weight model, and
data-driven personas found by clustering.

Data flow (each step one public function, pandas in, pandas out)::

    spine + clean transactions + clean interactions
      -> build_tags        tags per customer (tag_* columns) + which families are available
      -> tag_scores        tag weight model: tag_score 0-100
      -> persona_labels    short label, e.g. "长三角 · 新能源汽车制造 · 技术驱动型 · 关注设备稳定性"
      -> cluster_personas  k-means on behaviour and value, k chosen by silhouette
      -> name_clusters     a name per cluster from its centroid and its dominant tags
      -> persona_cards     one row per persona for the cards, plus plots
    run_personas does all of it and returns the spine with the 03 columns added.

Tag families
------------
=================  =======  ========================================================
family             group    column(s) and rule
=================  =======  ========================================================
industry           static   ``tag_industry``: the master's industry
size               static   ``tag_size``: band of ``employees`` (or ``annual_revenue``)
                            on ``cfg.size_bins``, e.g. ``500-1000``; last band ``5000+``
region             static   ``tag_region``: the master's region
decision_role      static   ``tag_decision_role``: roles of ``cfg.decision_roles`` whose
                            keywords occur in ``contact_title`` (``technical|procurement``)
recent_activity    dynamic  ``tag_recent_orders``: purchases in the last ``cfg.recent_days``
channel            dynamic  ``tag_channel``: the channel with most orders, ``mixed`` when its
                            share of the customer's orders is below ``cfg.channel_mixed_share``
keywords           dynamic  ``tag_keywords``: the ``cfg.top_keywords`` most frequent keywords
                            of the customer's inquiries (interaction type ``inquiry``)
category           dynamic  ``tag_category``: top categories by amount;
                            ``tag_n_categories``: number of categories bought
pain_point         pain     ``tag_core_pain``, ``tag_hidden_need``, ``tag_decision_concern``:
                            pain points of ``cfg.pain_points`` whose keywords occur in the
                            customer's interaction keywords or text, most mentioned first;
                            ``tag_pain_hits``: interactions that mention any pain point
=================  =======  ========================================================

Multi-valued tags are stored as keys joined by ``|``. Stored keys are language-neutral
(data values, role keys, the English label of a pain point); report labels are looked
up at display time (:func:`tag_label`). A family the data cannot support is
*unavailable*: its columns are all missing and :func:`build_tags` says why.

Keyword matching (pain points, decision roles): a keyword with Latin letters matches
case-insensitively at the start of a word, so stems work (``compatib`` matches
"Compatibility") and ``CTO`` does not match "Director"; any other keyword (Chinese)
matches as a plain substring. Interaction ``keywords`` may be joined by ``、 , ， ; ；``
``|`` ``/`` or spaces.

Tag weight model
----------------
Each family ``f`` has a configured weight ``w_f`` (``cfg.tag_weights``; the brief's example:
industry 30 %, pain point 40 %; a family not listed weighs 0) and, per customer, a
strength ``s_f`` in [0, 1]:

* static families and ``keywords``: 1 when the tag is known, else 0 (coverage);
* ``channel``: 1 for a clear preference, 0.5 for ``mixed``, 0 when unknown;
* ``recent_activity``, ``category``, ``pain_point``: intensity relative to the most
  engaged customers, ``min(1, x / q90)`` where ``x`` is recent orders, categories bought
  or pain-point mentions and ``q90`` the 90th percentile of ``x`` among customers with
  ``x > 0`` (0 when nobody has any).

``tag_score = 100 * sum_f w'_f * s_f`` with ``w'_f = w_f / sum of w over the available
families``: the weights of unavailable families are dropped and the rest renormalised to
sum to 1, so the score stays on 0-100 and is comparable within a run (not across runs
whose available families differ; the notebook shows the effective weights).

Data-driven personas
--------------------
Features per customer (spine columns, derived from transactions when absent):
``log_frequency = log1p(orders_total)``, ``recency_days = days_since_last``,
``log_monetary = log1p(avg_order_value)``, ``tenure_days``, ``n_categories`` and
``channel_concentration`` (share of orders in the top channel) when the data has
categories / channels. Customers without purchases are not clustered. Features that are
constant are dropped; each feature is clipped to its 0.5-99.5 % quantiles and standardised.

k-means (scikit-learn, ``random_state = cfg.seed``, ``n_init`` fixed) is fitted for every
k in ``[cfg.k_min, cfg.k_max]`` on a seeded sample of at most ``fit_sample`` customers;
the silhouette score of each fit is computed on a seeded sub-sample of at most
``silhouette_sample`` of them; the k with the highest score wins (ties: the smaller k).
All customers are then assigned to the nearest centroid of that fit, so the cost grows
linearly with the number of customers and a fixed seed gives the same personas every run.
The fits run single-threaded: on samples this small OpenMP's thread start-up costs more
than it saves (seconds instead of milliseconds on a busy machine), and the result cannot
depend on the machine's core count.
Clusters are numbered 1..k by descending median revenue per customer. With fewer
clusterable customers (or distinct feature rows) than ``k_min`` nothing is clustered and
the result says why.

A cluster's name (:func:`name_clusters`) joins up to three traits of its standardised
centroid (features at least 0.5 sd from the average customer: active / lapsed, frequent /
infrequent, high- / low-ticket, long-standing / new, multi- / single-category, single- /
multi-channel) and its most distinctive tag (carried by >= 30 % of the cluster and >= 1.25
times as common there as overall), e.g. ``高频高客单多品类客户 · 软件许可``.
Keywords and pain points read the interactions of the last ``interaction_window_days``
(default 365) before ``as_of``.
"""
from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from kit.core.checks import validate_cols as _require
from kit.core.config import Personas
from kit.present.labels import label

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
PERSONA_COLUMNS = ["tag_score", "persona_label", "persona_cluster", "persona_name"]

#: Clustering features: name -> (spine column, log1p?).
FEATURES: dict[str, tuple[str, bool]] = {
    "log_frequency": ("orders_total", True),
    "recency_days": ("days_since_last", False),
    "log_monetary": ("avg_order_value", True),
    "tenure_days": ("tenure_days", False),
    "n_categories": ("n_categories", False),
    "channel_concentration": ("channel_concentration", False),
}

#: Trait keys (``labels.LABELS["persona_trait"]``) of a feature's high / low centroid.
TRAITS: dict[str, tuple[str, str]] = {
    "recency_days": ("lapsed", "active"),
    "log_frequency": ("frequent", "infrequent"),
    "log_monetary": ("high_ticket", "low_ticket"),
    "tenure_days": ("long_standing", "new"),
    "n_categories": ("multi_category", "single_category"),
    "channel_concentration": ("single_channel", "multi_channel"),
}

_KEYWORD_SPLIT = r"[、,，;；|/\s]+"


# --------------------------------------------------------------------------------------
# Availability
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyStatus:
    """Whether a tag family could be built from the data, and why not."""

    family: str
    available: bool
    reason_zh: str = ""
    reason_en: str = ""

    def __bool__(self) -> bool:
        return self.available

    def reason(self, lang: str) -> str:
        return self.reason_zh if lang == "zh" else self.reason_en


def _ok(family: str) -> FamilyStatus:
    return FamilyStatus(family, True)


def _absent(family: str, zh: str, en: str) -> FamilyStatus:
    return FamilyStatus(family, False, zh, en)


def unavailable_families(availability: dict[str, FamilyStatus]) -> list[str]:
    return [f for f, s in availability.items() if not s.available]


# --------------------------------------------------------------------------------------
# Keyword matching
# --------------------------------------------------------------------------------------


def keyword_pattern(keywords: Iterable[str]) -> str | None:
    """One regular expression matching any of ``keywords`` (None when there are none).

    A keyword with Latin letters must start a word (case is ignored by the caller);
    other keywords (Chinese) match anywhere.
    """
    parts = []
    for kw in keywords:
        kw = str(kw).strip()
        if not kw:
            continue
        esc = re.escape(kw)
        parts.append(rf"(?<![A-Za-z]){esc}" if re.search(r"[A-Za-z]", kw) else esc)
    return "|".join(parts) if parts else None


def match_keywords(text: pd.Series, keywords: Iterable[str]) -> pd.Series:
    """Bool Series: which texts contain any of ``keywords`` (see :func:`keyword_pattern`).

    Parameters
    ----------
    text : Series of str
        Missing values never match.
    keywords : iterable of str
        ``能耗``, ``response time``, ``compatib`` ...
    """
    pattern = keyword_pattern(keywords)
    if pattern is None or len(text) == 0:
        return pd.Series(False, index=text.index)
    # match each distinct text once (titles and keyword lists repeat a lot)
    codes, uniques = pd.factorize(text.astype("str"))
    found = pd.Series(np.asarray(uniques, dtype=object)).str.contains(pattern, case=False, regex=True)
    hit = np.append(found.to_numpy(dtype=bool), False)  # code -1 (missing) -> False
    return pd.Series(hit[codes], index=text.index)


def split_keywords(keywords: pd.Series) -> pd.Series:
    """Explode joined keyword strings into one stripped keyword per row (index repeated)."""
    parts = keywords.dropna().astype("str").str.split(_KEYWORD_SPLIT, regex=True).explode()
    parts = parts.str.strip()
    return parts[parts.notna() & (parts != "")]


# --------------------------------------------------------------------------------------
# Tags
# --------------------------------------------------------------------------------------


def _clean_str(s: pd.Series) -> pd.Series:
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


def _purchases(transactions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    tx = transactions
    keep = tx["order_date"] <= as_of
    if "is_return" in tx.columns:
        keep &= ~tx["is_return"].fillna(False).astype(bool)
    return tx.loc[keep]


def _order_counts(tx: pd.DataFrame, by: list[str]) -> pd.Series:
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


def empty_tags(index: pd.Index) -> pd.DataFrame:
    """All tag columns, missing, with their dtypes."""
    data = {c: pd.Series(pd.NA, index=index, dtype="Int64" if c in COUNT_COLUMNS else "str")
            for c in TAG_COLUMNS}
    return pd.DataFrame(data, index=index)


def build_tags(
    customers: pd.DataFrame,
    transactions: pd.DataFrame,
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
    transactions : DataFrame
        Clean transactions ``customer_id, order_date, amount [, order_id, channel,
        category, is_return]``. Only purchases up to ``as_of`` count.
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
    _require(transactions, ["customer_id", "order_date", "amount"], "transactions")
    idx = customers.index
    if not idx.is_unique:
        raise ValueError("customers must be indexed by a unique customer_id")
    as_of = pd.Timestamp(as_of) if as_of is not None else transactions["order_date"].max()
    tx = _purchases(transactions, as_of)
    pos = _positions(tx["customer_id"], idx)
    tx = tx.assign(_c=pos)[pos >= 0]  # "_c": the customer's position in the spine
    tags = empty_tags(idx)
    avail: dict[str, FamilyStatus] = {}

    # ---- static ---------------------------------------------------------------------
    for family, col, zh_name in (("industry", "industry", "行业"), ("region", "region", "区域")):
        s = _clean_str(customers[col]) if col in customers.columns else None
        if s is None or s.isna().all():
            avail[family] = _master_absent(family, col, zh_name, s is None)
        else:
            tags[f"tag_{family}"] = s
            avail[family] = _ok(family)

    bins = list(size_bins) if size_bins is not None else list(cfg.size_bins)
    if size_by in customers.columns and pd.to_numeric(customers[size_by], errors="coerce").notna().any():
        tags["tag_size"] = size_bands(customers[size_by], bins)
        avail["size"] = _ok("size")
    else:
        avail["size"] = _master_absent("size", size_by, "规模", size_by not in customers.columns)

    if "contact_title" in customers.columns and customers["contact_title"].notna().any():
        codes, titles = pd.factorize(_clean_str(customers["contact_title"]))  # match each title once
        titles = pd.Series(np.asarray(titles, dtype=object), dtype="str")
        roles = pd.DataFrame({role: match_keywords(titles, kws) for role, kws in cfg.decision_roles.items()})
        joined = np.append(_join_flags(roles).to_numpy(dtype=object), None)  # code -1 -> missing
        tags["tag_decision_role"] = pd.Series(joined[codes], index=idx, dtype="str")
        avail["decision_role"] = _ok("decision_role")
    else:
        avail["decision_role"] = _master_absent(
            "decision_role", "contact_title", "联系人职务", "contact_title" not in customers.columns
        )

    # ---- dynamic --------------------------------------------------------------------
    recent = tx.loc[tx["order_date"] > as_of - pd.Timedelta(days=cfg.recent_days)]
    counts = _order_counts(recent, ["_c"]) if len(recent) else pd.Series(dtype="int64")
    tags["tag_recent_orders"] = _spine(counts, idx, 0, "Int64")
    avail["recent_activity"] = _ok("recent_activity")

    if "channel" in tx.columns and tx["channel"].notna().any():
        ch = tx.assign(channel=_clean_str(tx["channel"])).dropna(subset=["channel"])
        per = _order_counts(ch, ["_c", "channel"]).rename("n").reset_index()
        total = per.groupby("_c")["n"].transform("sum")
        per = per.assign(share=per["n"] / total)
        top = per.sort_values(["_c", "n", "channel"], ascending=[True, False, True], kind="mergesort")
        top = top.groupby("_c", sort=False).head(1).set_index("_c")
        pref = top["channel"].where(top["share"] >= cfg.channel_mixed_share, "mixed")
        tags["tag_channel"] = _spine(pref, idx)
        avail["channel"] = _ok("channel")
    else:
        avail["channel"] = _absent("channel", "交易数据没有渠道（channel）字段", "the transactions have no channel column")

    if "category" in tx.columns and tx["category"].notna().any():
        cat = tx.assign(category=_clean_str(tx["category"])).dropna(subset=["category"])
        amt = cat.groupby(["_c", "category"], observed=True)["amount"].sum().reset_index()
        tags["tag_category"] = _spine(_joined_top(amt, "_c", "category", "amount", top_categories), idx)
        tags["tag_n_categories"] = _spine(amt.groupby("_c").size(), idx, 0, "Int64")
        avail["category"] = _ok("category")
    else:
        avail["category"] = _absent("category", "交易数据没有品类（category）字段", "the transactions have no category column")

    # ---- interactions: keywords and pain points -------------------------------------
    inter = _window(interactions, as_of, interaction_window_days)
    if inter is not None:
        ipos = _positions(inter["customer_id"], idx)
        inter = inter.assign(_c=ipos)[ipos >= 0].reset_index(drop=True)
        inter = inter if len(inter) else None
    no_inter = interactions is None or len(interactions) == 0
    why_zh = "未提供互动记录" if no_inter else "所选时间窗内没有互动记录"
    why_en = "no interaction records were given" if no_inter else "no interactions in the window"

    if inter is not None and "keywords" in inter.columns and inter["keywords"].notna().any():
        inq = inter
        if "type" in inter.columns:
            inq = inter.loc[inter["type"].astype("str").str.lower() == "inquiry"].reset_index(drop=True)
        kw = split_keywords(inq["keywords"])
        if len(kw):
            long = pd.DataFrame({"_c": inq["_c"].to_numpy()[kw.index.to_numpy()],
                                 "keyword": _normalise_keyword(kw).to_numpy()})
            n = long.groupby(["_c", "keyword"]).size().rename("n").reset_index()
            tags["tag_keywords"] = _spine(_joined_top(n, "_c", "keyword", "n", cfg.top_keywords), idx)
            avail["keywords"] = _ok("keywords")
        else:
            avail["keywords"] = _absent("keywords", "互动记录中没有带关键词的咨询", "no inquiries with keywords")
    else:
        avail["keywords"] = _absent(
            "keywords", why_zh if inter is None else "互动记录没有关键词（keywords）字段",
            why_en if inter is None else "the interactions have no keywords column")

    text_cols = [c for c in ("keywords", "text") if inter is not None and c in inter.columns]
    if inter is not None and text_cols and inter[text_cols].notna().any().any() and cfg.pain_points:
        text = inter[text_cols[0]].astype("str").fillna("")
        for c in text_cols[1:]:
            text = text + " " + inter[c].astype("str").fillna("")
        _pain_tags(tags, inter["_c"], text, cfg)
        avail["pain_point"] = _ok("pain_point")
    elif inter is not None and not cfg.pain_points:
        avail["pain_point"] = _absent("pain_point", "配置中没有痛点关键词词典", "the config has no pain-point dictionary")
    else:
        avail["pain_point"] = _absent(
            "pain_point", why_zh if inter is None else "互动记录没有关键词或文本字段",
            why_en if inter is None else "the interactions have no keywords or text column")

    tags.attrs["size_by"] = size_by  # how tag_size is labelled (tag_label)
    return tags, {f: avail[f] for f in FAMILIES}


def _master_absent(family: str, col: str, zh_name: str, no_column: bool) -> FamilyStatus:
    if no_column:
        return _absent(family, f"客户主数据中没有{zh_name}（{col}）字段", f"the customer master has no {col} column")
    return _absent(family, f"客户主数据的{zh_name}（{col}）字段全部为空", f"the customer master's {col} column is empty")


def _join_flags(flags: pd.DataFrame) -> pd.Series:
    """Names of the True columns per row joined by SEP (column order), missing when none."""
    out = pd.Series("", index=flags.index, dtype="str")
    for col in flags.columns:
        f = flags[col].to_numpy(dtype=bool)
        add = np.where(out.to_numpy(dtype=object) == "", col, SEP + col)
        out = out.where(~f, out + pd.Series(add, index=flags.index, dtype="str"))
    return out.where(out != "")


def _normalise_keyword(kw: pd.Series) -> pd.Series:
    """English keywords lower-cased (so "Energy" and "energy" count together)."""
    latin = kw.str.contains(r"^[\x00-\x7f]+$", regex=True, na=False)
    return kw.where(~latin, kw.str.lower())


def _window(interactions: pd.DataFrame | None, as_of: pd.Timestamp, days: int | None) -> pd.DataFrame | None:
    if interactions is None or len(interactions) == 0:
        return None
    _require(interactions, ["customer_id", "date"], "interactions")
    keep = interactions["date"] <= as_of
    if days is not None:
        keep &= interactions["date"] > as_of - pd.Timedelta(days=days)
    out = interactions.loc[keep].reset_index(drop=True)
    return out if len(out) else None


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
# Tag weight model
# --------------------------------------------------------------------------------------


def _infer_availability(tags: pd.DataFrame) -> dict[str, bool]:
    return {f: bool(tags[list(cols)].notna().any().any()) for f, (_, cols) in FAMILIES.items()}


def _available_map(tags: pd.DataFrame, availability: dict[str, Any] | None) -> dict[str, bool]:
    if availability is None:
        return _infer_availability(tags)
    return {f: bool(availability.get(f, False)) for f in FAMILIES}


def _relative(x: pd.Series) -> pd.Series:
    """min(1, x / q90 of the positive x); 0 when nobody has any."""
    x = x.astype("Float64").fillna(0).astype(float)
    pos = x[x > 0]
    if pos.empty:
        return x * 0.0
    ref = float(pos.quantile(0.9))
    return (x / ref).clip(0, 1)


def tag_strengths(tags: pd.DataFrame, availability: dict[str, Any] | None = None) -> pd.DataFrame:
    """Strength ``s_f`` in [0, 1] per customer and tag family (NaN for unavailable families).

    See the module docstring (tag weight model) for the rule of each family.
    """
    avail = _available_map(tags, availability)
    out = pd.DataFrame(index=tags.index)
    for fam in FAMILIES:
        if not avail[fam]:
            out[fam] = np.nan
        elif fam == "recent_activity":
            out[fam] = _relative(tags["tag_recent_orders"])
        elif fam == "category":
            out[fam] = _relative(tags["tag_n_categories"])
        elif fam == "pain_point":
            out[fam] = _relative(tags["tag_pain_hits"])
        elif fam == "channel":
            ch = tags["tag_channel"]
            out[fam] = np.where(ch.isna(), 0.0, np.where(ch == "mixed", 0.5, 1.0))
        else:
            out[fam] = tags[FAMILIES[fam][1][0]].notna().astype(float)
    return out


def effective_weights(weights: dict[str, float], availability: dict[str, Any]) -> dict[str, float]:
    """Configured weights restricted to the available families and renormalised to sum 1.

    Raises ``ValueError`` for a weight whose family is unknown.
    """
    unknown = sorted(set(weights) - set(FAMILIES))
    if unknown:
        raise ValueError(
            f"tag_weights has unknown tag families {unknown}; allowed: {', '.join(FAMILIES)}"
        )
    used = {f: float(weights.get(f, 0.0)) for f in FAMILIES if availability.get(f, False)}
    total = sum(used.values())
    if total <= 0:
        return {f: 0.0 for f in used}
    return {f: w / total for f, w in used.items()}


def tag_scores(
    tags: pd.DataFrame, weights: dict[str, float], availability: dict[str, Any] | None = None
) -> pd.Series:
    """The tag weight model: ``tag_score = 100 * sum_f w'_f * s_f`` (0-100).

    Parameters
    ----------
    tags : DataFrame
        Output of :func:`build_tags`.
    weights : dict
        family -> weight (``cfg.personas.tag_weights``); unlisted families weigh 0.
    availability : dict, optional
        family -> bool or :class:`FamilyStatus`; default: a family is available when any
        of its columns has a value.

    Returns
    -------
    Series ``tag_score``
        Missing for everyone when no weighted family is available.
    """
    avail = _available_map(tags, availability)
    w = effective_weights(weights, avail)
    s = tag_strengths(tags, avail)
    if not w or sum(w.values()) == 0:
        return pd.Series(np.nan, index=tags.index, name="tag_score")
    score = sum(s[f] * wf for f, wf in w.items())
    return (100.0 * score).rename("tag_score")


def weight_table(weights: dict[str, float], availability: dict[str, FamilyStatus],
                 tags: pd.DataFrame | None = None, lang: str = "zh") -> pd.DataFrame:
    """One row per family: group, available, configured and effective weight, mean
    strength, reason when unavailable (report-language labels, canonical column keys)."""
    avail = {f: bool(s) for f, s in availability.items()}
    eff = effective_weights(weights, avail)
    strength = tag_strengths(tags, avail).mean() if tags is not None else None
    rows = []
    for fam, (group, _) in FAMILIES.items():
        rows.append({
            "family": label("tag_family", fam, lang),
            "group": label("tag_group", group, lang),
            "available": ("是" if lang == "zh" else "yes") if avail[fam] else ("否" if lang == "zh" else "no"),
            "configured_weight": float(weights.get(fam, 0.0)),
            "effective_weight": eff.get(fam, np.nan),
            "mean_strength": float(strength[fam]) if strength is not None and avail[fam] else np.nan,
            "reason": availability[fam].reason(lang),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------


def pain_point_labels(cfg_personas: Personas | None = None) -> dict[str, tuple[str, str]]:
    """Stored pain-point key (the English label) -> (zh, en) label."""
    cfg = cfg_personas or Personas()
    return {p.label.en: (p.label.zh, p.label.en) for p in cfg.pain_points}


def recent_band(n: pd.Series) -> pd.Series:
    """``persona_tag`` key of a recent-purchase count: recent_none / _1 / _2_3 / _4_plus."""
    v = n.astype("Float64")
    out = pd.Series(
        np.select([v.fillna(-1) >= 4, v.fillna(-1) >= 2, v.fillna(-1) >= 1, v.fillna(-1) >= 0],
                  ["recent_4_plus", "recent_2_3", "recent_1", "recent_none"], default=""),
        index=n.index, dtype="str",
    )
    return out.where(out != "")


def tag_label(family: str, key: object, lang: str, cfg_personas: Personas | None = None,
              *, size_by: str = "employees") -> str:
    """The report-language label of one tag key of ``family``."""
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return "–"
    key = str(key)
    if family == "size":
        if size_by == "employees":
            return f"{key}人" if lang == "zh" else f"{key} employees"
        return f"营收{key}" if lang == "zh" else f"revenue {key}"
    if family == "decision_role":
        return label("decision_role", key, lang)
    if family == "channel" and key == "mixed" or family == "recent_activity":
        return label("persona_tag", key, lang)
    if family in ("pain_point", *PAIN_COLUMNS):
        pair = pain_point_labels(cfg_personas).get(key)
        return key if pair is None else pair[0 if lang == "zh" else 1]
    return key


def _first(s: pd.Series) -> pd.Series:
    """The first value of a multi-valued tag."""
    return s.astype("str").str.replace(r"\|.*$", "", regex=True)


def _map_labels(s: pd.Series, family: str, lang: str, cfg: Personas, **kw) -> pd.Series:
    uniq = s.dropna().unique()
    mapping = {k: tag_label(family, k, lang, cfg, **kw) for k in uniq}
    return s.map(mapping).astype("str")


def persona_labels(tags: pd.DataFrame, lang: str, cfg_personas: Personas | None = None,
                   *, max_parts: int = 4, sep: str = " · ") -> pd.Series:
    """A short persona label per customer, in the report language.

    Parts, in order, the first ``max_parts`` that are known: region, industry, decision
    style (first decision role), top pain point (core pain, else hidden need, else
    decision concern), then the dynamic tags (recent purchases, channel preference, top
    category) for customers whose static and pain-point tags are missing:
    ``长三角 · 新能源汽车制造 · 技术驱动型 · 关注设备稳定性``.

    Returns
    -------
    Series ``persona_label`` (str)
    """
    cfg = cfg_personas or Personas()
    zh = lang == "zh"
    pain = _first(tags["tag_core_pain"]).fillna(_first(tags["tag_hidden_need"])).fillna(
        _first(tags["tag_decision_concern"]))
    n = tags["tag_recent_orders"]
    days = cfg.recent_days
    k = n.fillna(0).to_numpy(dtype=int)
    unit = "次" if zh else np.where(k == 1, f" order in {days} days", f" orders in {days} days")
    recent_txt = pd.Series(
        np.where(k > 0, np.char.add(np.char.add(f"近{days}天采购" if zh else "", k.astype(str)), unit),
                 f"近{days}天未采购" if zh else f"no order in {days} days"),
        index=tags.index, dtype="str").where(n.notna())
    ch = tags["tag_channel"]
    ch_txt = pd.Series(np.where(ch == "mixed", label("persona_tag", "mixed", lang),
                                ("偏好" if zh else "prefers ") + ch.fillna("").astype(str)),
                       index=tags.index, dtype="str").where(ch.notna())
    cat = _first(tags["tag_category"])
    cat_txt = (("主购" if zh else "buys ") + cat).where(cat.notna())
    parts = [
        tags["tag_region"], tags["tag_industry"],
        _map_labels(_first(tags["tag_decision_role"]), "decision_role", lang, cfg),
        _map_labels(pain, "pain_point", lang, cfg),
        recent_txt, ch_txt, cat_txt,
    ]
    out = pd.Series("", index=tags.index, dtype="str")
    count = pd.Series(0, index=tags.index)
    for part in parts:
        part = part.astype("str")
        add = part.notna() & (count < max_parts)
        glue = pd.Series(np.where(count > 0, sep, ""), index=tags.index, dtype="str")
        out = out.where(~add, out + glue + part.fillna(""))
        count = count + add.astype(int)
    return out.where(out != "").rename("persona_label")


# --------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------


@dataclass
class ClusterResult:
    """Outcome of :func:`cluster_personas` (``k`` is None when nothing was clustered).

    Attributes
    ----------
    features : list of str
        Features used (names of :data:`FEATURES`).
    silhouette : Series
        Silhouette score per k tried (index ``k``).
    k : int or None
        The chosen number of clusters.
    labels : Series (Int64)
        Cluster 1..k per customer (index ``customer_id``), missing when not clustered.
    distance : Series
        Distance to the own centroid in standardised units (typical customers first).
    centroids : DataFrame
        Cluster x feature in original units (orders, days, currency, ...); log features
        are back-transformed with ``expm1``, so orders and order value are geometric-mean
        centres.
    centroids_std : DataFrame
        Cluster x feature in standard deviations from the mean (for the heatmap).
    profile : DataFrame
        Per cluster: customers, share, revenue share and medians of the raw features.
    """

    features: list[str] = field(default_factory=list)
    dropped_features: list[str] = field(default_factory=list)
    k_range: tuple[int, int] = (0, 0)
    silhouette: pd.Series = field(default_factory=lambda: pd.Series(dtype=float, name="silhouette"))
    k: int | None = None
    labels: pd.Series = field(default_factory=lambda: pd.Series(dtype="Int64"))
    distance: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    centroids: pd.DataFrame = field(default_factory=pd.DataFrame)
    centroids_std: pd.DataFrame = field(default_factory=pd.DataFrame)
    profile: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_customers: int = 0
    n_clustered: int = 0
    n_fit: int = 0
    n_silhouette: int = 0
    seed: int = 0
    message_zh: str = ""
    message_en: str = ""

    @property
    def skipped(self) -> bool:
        return self.k is None

    def message(self, lang: str) -> str:
        return self.message_zh if lang == "zh" else self.message_en


def cluster_features(customers: pd.DataFrame, transactions: pd.DataFrame | None = None,
                     as_of: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Raw (original-unit) clustering inputs per customer.

    Columns ``orders_total, days_since_last, avg_order_value, tenure_days, n_categories,
    channel_concentration, revenue_total``: taken from the spine when present, derived
    from purchases (up to ``as_of``) otherwise; ``channel_concentration`` is the share of
    a customer's orders in its top channel (needs a ``channel`` column).
    """
    idx = customers.index
    out = pd.DataFrame(index=idx)
    need = [c for c in ("orders_total", "days_since_last", "avg_order_value", "tenure_days",
                        "n_categories", "revenue_total") if c not in customers.columns]
    derived = None
    if transactions is not None and (need or "channel" in transactions.columns):
        as_of = pd.Timestamp(as_of) if as_of is not None else transactions["order_date"].max()
        tx = _purchases(transactions, as_of)
        g = tx.groupby("customer_id")
        derived = pd.DataFrame({
            "orders_total": _order_counts(tx, ["customer_id"]),
            "revenue_total": g["amount"].sum(),
            "days_since_last": (as_of - g["order_date"].max()).dt.days,
            "tenure_days": (as_of - g["order_date"].min()).dt.days,
        })
        derived["avg_order_value"] = derived["revenue_total"] / derived["orders_total"]
        if "category" in tx.columns and tx["category"].notna().any():
            derived["n_categories"] = g["category"].nunique()
        if "channel" in tx.columns and tx["channel"].notna().any():
            per = _order_counts(tx.dropna(subset=["channel"]), ["customer_id", "channel"])
            derived["channel_concentration"] = per.groupby(level=0).max() / per.groupby(level=0).sum()
        derived = derived.reindex(idx)
    for col in ("orders_total", "days_since_last", "avg_order_value", "tenure_days",
                "n_categories", "channel_concentration", "revenue_total"):
        if col in customers.columns:
            out[col] = pd.to_numeric(customers[col], errors="coerce").astype(float)
        elif derived is not None and col in derived.columns:
            out[col] = derived[col].astype(float)
    if "avg_order_value" not in out.columns and {"revenue_total", "orders_total"} <= set(out.columns):
        out["avg_order_value"] = out["revenue_total"] / out["orders_total"].where(out["orders_total"] > 0)
    return out


def _skip(result: ClusterResult, zh: str, en: str) -> ClusterResult:
    result.message_zh, result.message_en = zh, en
    return result


def cluster_personas(
    customers: pd.DataFrame,
    transactions: pd.DataFrame | None = None,
    cfg_personas: Personas | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    fit_sample: int = 20_000,
    silhouette_sample: int = 5_000,
    n_init: int = 10,
) -> ClusterResult:
    """Data-driven personas: seeded k-means on standardised behaviour and value features,
    k chosen in ``[cfg.k_min, cfg.k_max]`` by silhouette score (see the module docstring).

    Parameters
    ----------
    customers : DataFrame
        The spine (index ``customer_id``).
    transactions : DataFrame, optional
        Clean transactions, for features the spine lacks and channel concentration.
    cfg_personas : Personas, optional
        ``k_min``, ``k_max``, ``seed``.
    fit_sample, silhouette_sample : int
        Sample sizes for fitting and scoring (all customers are assigned afterwards).
    n_init : int
        k-means restarts (fixed, for determinism).

    Returns
    -------
    ClusterResult
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    cfg = cfg_personas or Personas()
    idx = customers.index
    res = ClusterResult(k_range=(cfg.k_min, cfg.k_max), seed=cfg.seed, n_customers=len(idx),
                        labels=pd.Series(pd.NA, index=idx, dtype="Int64", name="persona_cluster"),
                        distance=pd.Series(np.nan, index=idx, name="distance"))
    raw = cluster_features(customers, transactions, as_of)
    feats = pd.DataFrame(index=idx)
    for name, (col, log) in FEATURES.items():
        if col in raw.columns:
            v = raw[col].clip(lower=0)
            feats[name] = np.log1p(v) if log else v
    # customers with purchases only (boolean masks keep this linear for 1M customers)
    keep = (feats["log_frequency"] > 0).fillna(False).to_numpy(dtype=bool) if "log_frequency" in feats.columns \
        else np.ones(len(idx), dtype=bool)
    feats, raw = feats[keep], raw[keep]
    feats = feats.dropna(axis=1, how="all")
    # a feature missing for some purchasing customers (e.g. channel unknown) is filled
    # with its median so those customers are still clustered
    feats = feats.fillna(feats.median())
    constant = [c for c in feats.columns if feats[c].nunique() <= 1]
    res.dropped_features = [f for f in FEATURES if f not in feats.columns or f in constant]
    feats = feats.drop(columns=constant)
    res.features = list(feats.columns)
    n = len(feats)
    res.n_clustered = 0
    if not res.features:
        return _skip(res, "没有可用于聚类的行为特征（全部缺失或为常数），未做聚类。",
                     "No behaviour feature varies across customers; no clustering was done.")
    n_distinct = len(feats.drop_duplicates())
    k_hi = min(cfg.k_max, n_distinct, n - 1)
    if n < cfg.k_min or k_hi < cfg.k_min:
        return _skip(
            res,
            f"有购买记录的客户只有 {n} 位（不同的特征组合 {n_distinct} 种），少于最小聚类数 k_min = {cfg.k_min}，"
            "未做数据驱动画像；画像只由标签描述。",
            f"Only {n} customers with purchases ({n_distinct} distinct feature rows), fewer than the "
            f"smallest k (k_min = {cfg.k_min}): no data-driven personas; personas are described by tags only.",
        )
    lo, hi = feats.quantile(0.005), feats.quantile(0.995)
    X_raw = feats.clip(lower=lo, upper=hi, axis=1)
    rng = np.random.default_rng(cfg.seed)
    fit_pos = np.sort(rng.choice(n, size=fit_sample, replace=False)) if n > fit_sample else np.arange(n)
    mean = X_raw.iloc[fit_pos].mean()
    std = X_raw.iloc[fit_pos].std(ddof=0).replace(0, 1.0)
    X = ((X_raw - mean) / std).to_numpy(dtype=float)
    X_fit = X[fit_pos]
    res.n_fit = len(fit_pos)
    res.n_silhouette = min(silhouette_sample, len(fit_pos))
    sample_size = silhouette_sample if len(fit_pos) > silhouette_sample else None
    scores, models = {}, {}
    with threadpool_limits(limits=1):  # see the module docstring
        for k in range(cfg.k_min, k_hi + 1):
            km = KMeans(n_clusters=k, random_state=cfg.seed, n_init=n_init).fit(X_fit)
            if len(np.unique(km.labels_)) < 2:
                continue
            scores[k] = float(silhouette_score(X_fit, km.labels_, sample_size=sample_size,
                                               random_state=cfg.seed))
            models[k] = km
    if not scores:
        return _skip(res, "k-means 没有找到至少两个不同的簇，未做聚类。",
                     "k-means found fewer than two distinct clusters; no clustering was done.")
    res.silhouette = pd.Series(scores, name="silhouette").rename_axis("k")
    best = max(scores, key=lambda k: (round(scores[k], 10), -k))
    km = models[best]
    with threadpool_limits(limits=1):
        assigned = km.predict(X)
        dist = km.transform(X)[np.arange(n), assigned]
    # number clusters 1..k by descending median revenue per customer
    if "revenue_total" not in raw.columns:
        raw = raw.assign(revenue_total=np.expm1(feats.get("log_frequency", 0)) * np.expm1(feats.get("log_monetary", 0)))
    rev = raw["revenue_total"].fillna(0)
    med = pd.Series(rev.to_numpy(), index=assigned).groupby(level=0).median().reindex(range(best)).fillna(-np.inf)
    order = sorted(range(best), key=lambda c: (-med[c], c))
    new_id = np.empty(best, dtype=int)
    new_id[order] = np.arange(1, best + 1)
    lab_kept = new_id[assigned]
    res.k = best
    full = np.full(len(idx), -1)
    full[keep] = lab_kept
    res.labels = pd.Series(pd.array(full, dtype="Int64"), index=idx, name="persona_cluster")
    res.labels = res.labels.where(res.labels > 0)
    dist_full = np.full(len(idx), np.nan)
    dist_full[keep] = dist
    res.distance = pd.Series(dist_full, index=idx, name="distance")
    res.n_clustered = n
    cstd = pd.DataFrame(km.cluster_centers_[order], columns=res.features,
                        index=pd.Index(range(1, best + 1), name="persona_cluster"))
    res.centroids_std = cstd
    orig = cstd * std.to_numpy() + mean.to_numpy()
    for name in res.features:
        if FEATURES[name][1]:
            orig[name] = np.expm1(orig[name])
    res.centroids = orig
    res.profile = _profile(raw, pd.Series(lab_kept, index=raw.index), rev)
    res.message_zh = (f"在 {n:,} 位有购买的客户上聚类：k 从 {cfg.k_min} 到 {k_hi}，按轮廓系数选 k = {best}"
                      f"（拟合样本 {res.n_fit:,}，轮廓系数样本 {res.n_silhouette:,}，随机种子 {cfg.seed}）。")
    res.message_en = (f"Clustered {n:,} customers with purchases: k from {cfg.k_min} to {k_hi}, "
                      f"k = {best} chosen by silhouette score (fit sample {res.n_fit:,}, silhouette "
                      f"sample {res.n_silhouette:,}, seed {cfg.seed}).")
    return res


def _profile(raw: pd.DataFrame, labels: pd.Series, revenue: pd.Series) -> pd.DataFrame:
    """Per cluster: customers, shares, medians of the raw inputs (typical R, F, M, ...)."""
    g = raw.groupby(labels.astype(int))
    prof = pd.DataFrame({"customers": g.size()})
    prof["customer_share"] = prof["customers"] / prof["customers"].sum()
    rev = revenue.groupby(labels.astype(int)).sum()
    prof["revenue_share"] = rev / rev.sum() if rev.sum() > 0 else np.nan
    for col in ("days_since_last", "orders_total", "revenue_total", "avg_order_value", "tenure_days",
                "n_categories", "channel_concentration"):
        if col in raw.columns:
            prof[f"median_{col}"] = g[col].median()
    prof.index.name = "persona_cluster"
    return prof


# --------------------------------------------------------------------------------------
# Naming and cards
# --------------------------------------------------------------------------------------

#: Tag columns that may name a cluster, in tie-break order.
_NAMING_COLUMNS = {
    "tag_industry": "industry", "tag_region": "region", "tag_core_pain": "pain_point",
    "tag_hidden_need": "pain_point", "tag_decision_concern": "pain_point",
    "tag_decision_role": "decision_role", "tag_size": "size", "tag_channel": "channel",
    "tag_category": "category",
}


_LIFT_COLUMNS = ["persona_cluster", "column", "family", "key", "label", "n", "share", "share_all",
                 "lift", "order"]


def tag_lift(tags: pd.DataFrame, clusters: pd.Series, lang: str = "zh",
             cfg_personas: Personas | None = None, *, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Share of each cluster's customers carrying each tag, against all clustered customers.

    Returns
    -------
    DataFrame
        ``persona_cluster, column, family, key, label, n, share, share_all, lift, order``;
        one row per (cluster, tag value); a customer counts once per value.
    """
    cfg = cfg_personas or Personas()
    cl = clusters.reindex(tags.index)
    valid = cl.notna()
    if not valid.any():
        return pd.DataFrame(columns=_LIFT_COLUMNS)
    groups = cl.fillna(-1).astype(int).to_numpy()
    sizes = cl[valid].astype(int).value_counts()
    frames = []
    for order, col in enumerate(columns or _NAMING_COLUMNS):
        s = tags[col].where(valid)
        if s.isna().all():
            continue
        cnt = _tag_counts(s, groups).rename(columns={"group": "persona_cluster"})
        fam = _NAMING_COLUMNS.get(col, col.removeprefix("tag_"))
        cnt["column"], cnt["family"], cnt["order"] = col, fam, order
        frames.append(cnt)
    if not frames:
        return pd.DataFrame(columns=_LIFT_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["share"] = out["n"] / out["persona_cluster"].map(sizes)
    total = out.groupby(["column", "key"])["n"].transform("sum")
    out["share_all"] = total / int(valid.sum())
    out["lift"] = out["share"] / out["share_all"]
    pairs = out[["family", "key"]].drop_duplicates()
    size_by = tags.attrs.get("size_by", "employees")
    names = {(f, k): tag_label(f, k, lang, cfg, size_by=size_by) for f, k in zip(pairs["family"], pairs["key"])}
    out["label"] = [names[(f, k)] for f, k in zip(out["family"], out["key"])]
    out = out.sort_values(["persona_cluster", "order", "key"], kind="mergesort").reset_index(drop=True)
    return out[_LIFT_COLUMNS]


def _tag_counts(s: pd.Series, groups: np.ndarray | None = None) -> pd.DataFrame:
    """Customers per (group, tag value) of a tag column, multi-valued tags counted once
    per value and customer: ``group, key, n``. Only the distinct strings are split, so
    the cost stays linear in customers."""
    mask = s.notna().to_numpy()
    codes, uniques = pd.factorize(s[mask])
    g = groups[mask] if groups is not None else np.zeros(int(mask.sum()), dtype=int)
    per = pd.DataFrame({"group": g, "code": codes}).groupby(["group", "code"]).size().rename("n").reset_index()
    keys = pd.Series(np.asarray(uniques, dtype=object)).str.split(SEP, regex=False).explode()
    mapping = pd.DataFrame({"code": keys.index.to_numpy(), "key": keys.to_numpy()}).drop_duplicates()
    return per.merge(mapping, on="code").groupby(["group", "key"], as_index=False)["n"].sum()


def _dominant_tags(lift: pd.DataFrame, cluster: int, n: int, min_share: float, min_lift: float) -> pd.DataFrame:
    """The ``n`` most over-represented tags of a cluster: carried by >= ``min_share`` of
    it and >= ``min_lift`` times as common there as among all clustered customers."""
    sub = lift.loc[(lift["persona_cluster"] == cluster) & (lift["share"] >= min_share)
                   & (lift["lift"] >= min_lift)]
    return sub.sort_values(["lift", "share", "order"], ascending=[False, False, True], kind="mergesort").head(n)


def cluster_traits(result: ClusterResult, *, z_threshold: float = 0.5, max_traits: int = 3) -> dict[int, list[str]]:
    """Trait keys per cluster from its standardised centroid: the up-to ``max_traits``
    features furthest (>= ``z_threshold`` sd) from the mean, listed in feature order."""
    out: dict[int, list[str]] = {}
    for cid, row in result.centroids_std.iterrows():
        strong = row[row.abs() >= z_threshold].abs().sort_values(ascending=False, kind="mergesort")
        chosen = set(strong.index[:max_traits])
        out[int(cid)] = [TRAITS[f][0] if row[f] > 0 else TRAITS[f][1] for f in result.features if f in chosen]
    return out


def name_clusters(result: ClusterResult, tags: pd.DataFrame, lang: str,
                  cfg_personas: Personas | None = None, *, z_threshold: float = 0.5,
                  max_traits: int = 3, min_tag_share: float = 0.3, min_lift: float = 1.25) -> pd.Series:
    """A name per cluster in the report language: centroid traits (:func:`cluster_traits`)
    + the most distinctive dominant tag (carried by >= ``min_tag_share`` of the cluster and
    >= ``min_lift`` times as common there as overall; none when no tag qualifies), e.g.
    ``活跃高频客户 · 关注设备稳定性`` / ``Active frequent customers · ...``.

    Returns
    -------
    Series indexed by ``persona_cluster`` (1..k); empty when nothing was clustered.
    """
    if result.skipped:
        return pd.Series(dtype="str", name="persona_name")
    zh = lang == "zh"
    traits = cluster_traits(result, z_threshold=z_threshold, max_traits=max_traits)
    lift = tag_lift(tags, result.labels, lang, cfg_personas)
    names = {}
    for cid, keys in traits.items():
        words = [label("persona_trait", k, lang) for k in (keys or ["average"])]
        base = ("".join(words) + "客户") if zh else (" ".join(words) + " customers").capitalize()
        dom = _dominant_tags(lift, cid, 3, min_tag_share, min_lift)
        dom = dom.loc[[lab not in base for lab in dom["label"]]]  # say nothing twice
        names[cid] = base + (f" · {dom['label'].iloc[0]}" if len(dom) else "")
    s = pd.Series(names, name="persona_name", dtype="str")
    s.index.name = "persona_cluster"
    dup = s.duplicated(keep=False)
    s = s.where(~dup, s + pd.Series([f" (P{c})" for c in s.index], index=s.index, dtype="str"))
    return s


def persona_cards(customers: pd.DataFrame, result: ClusterResult, names: pd.Series,
                  tags: pd.DataFrame, lang: str, cfg_personas: Personas | None = None,
                  *, top_tags: int = 3, min_tag_share: float = 0.2, min_lift: float = 1.1) -> pd.DataFrame:
    """Data of the persona cards, one row per persona (index ``persona_cluster``).

    Columns: ``persona_name, customers, customer_share, revenue_share,
    typical_recency_days, typical_orders, typical_revenue`` (medians: the typical R, F, M),
    ``top_tags`` (up to ``top_tags`` report-language labels with their share of the
    persona, most over-represented first: share >= ``min_tag_share``, lift >= ``min_lift``),
    ``dominant_quadrant`` (key) and ``dominant_quadrant_share`` when the spine has
    ``quadrant``, ``tag_score`` (mean) when present.
    """
    if result.skipped:
        return pd.DataFrame()
    prof = result.profile
    out = pd.DataFrame(index=prof.index)
    out["persona_name"] = names.reindex(prof.index)
    out["customers"] = prof["customers"]
    out["customer_share"] = prof["customers"] / len(customers)
    out["revenue_share"] = prof["revenue_share"]
    for col, key in (("days_since_last", "typical_recency_days"), ("orders_total", "typical_orders"),
                     ("revenue_total", "typical_revenue")):
        out[key] = prof.get(f"median_{col}", np.nan)
    clustered = result.labels.reindex(customers.index)
    valid = clustered.notna()
    lab = clustered[valid].astype(int)
    lift = tag_lift(tags, result.labels, lang, cfg_personas)
    out["top_tags"] = [
        " / ".join(f"{r.label} {r.share:.0%}" for r in
                   _dominant_tags(lift, c, top_tags, min_tag_share, min_lift).itertuples())
        for c in out.index
    ]
    if "quadrant" in customers.columns:
        q = customers["quadrant"][valid]
        counts = q.groupby(lab).value_counts(normalize=True).rename("share").reset_index()
        counts = counts.sort_values(["persona_cluster", "share", "quadrant"], ascending=[True, False, True],
                                    kind="mergesort").groupby("persona_cluster").head(1).set_index("persona_cluster")
        out["dominant_quadrant"] = counts["quadrant"].reindex(out.index).astype("str")
        out["dominant_quadrant_share"] = counts["share"].reindex(out.index)
    if "tag_score" in customers.columns:
        out["tag_score"] = customers["tag_score"][valid].groupby(lab).mean()
    return out


def persona_cards_html(cards: pd.DataFrame, lang: str, *, currency: str = "¥") -> str:
    """HTML persona cards (one panel per persona; styled by the report CSS ``kit-card``)."""
    if cards.empty:
        return ""
    zh = lang == "zh"
    t = (lambda a, b: a if zh else b)  # noqa: E731
    parts = ['<div class="kit-cards">']
    for cid, row in cards.iterrows():
        lines = [
            f'<div class="kit-card-label">P{cid}</div>',
            f'<div style="font-size:16px;font-weight:600;color:#1d3b57;margin-bottom:4px">'
            f'{html.escape(str(row["persona_name"]))}</div>',
            f'<div class="kit-card-value">{row["customer_share"]:.0%}'
            f'<span style="font-size:13px;font-weight:400;color:#555"> {t("的客户", "of customers")} · '
            f'{_pct(row["revenue_share"])} {t("的收入", "of revenue")}</span></div>',
            f'<div class="kit-card-delta">{t("客户数", "Customers")}: {int(row["customers"]):,}</div>',
            f'<div class="kit-card-delta">{t("典型 R/F/M", "Typical R/F/M")}: '
            f'{_num(row["typical_recency_days"])} {t("天", "days")} / {_num(row["typical_orders"])} '
            f'{t("单", "order" if row["typical_orders"] == 1 else "orders")} / '
            f'{currency}{_num(row["typical_revenue"], money=True)}</div>',
        ]
        if row.get("top_tags"):
            lines.append(f'<div class="kit-card-delta">{t("主要标签", "Top tags")}: '
                         f'{html.escape(str(row["top_tags"]))}</div>')
        if "dominant_quadrant" in cards.columns and pd.notna(row["dominant_quadrant"]):
            q = label("quadrant", row["dominant_quadrant"], lang)
            lines.append(f'<div class="kit-card-delta">{t("主要象限", "Dominant quadrant")}: '
                         f'{html.escape(q)} ({row["dominant_quadrant_share"]:.0%})</div>')
        parts.append('<div class="kit-card" style="width:260px">' + "".join(lines) + "</div>")
    parts.append("</div>")
    return "".join(parts)


def _pct(x: float) -> str:
    return "–" if pd.isna(x) else f"{x:.0%}"


def _num(x: float, money: bool = False) -> str:
    if pd.isna(x):
        return "–"
    if money and abs(x) >= 1e4:
        return f"{x / 1e3:,.0f}K" if abs(x) < 1e6 else f"{x / 1e6:,.1f}M"
    return f"{x:,.0f}"


def example_customers(customers: pd.DataFrame, result: ClusterResult, *, n: int = 5,
                      mask: bool = False, names: pd.Series | None = None) -> pd.DataFrame:
    """The ``n`` most typical customers of each persona (nearest to its centroid).

    Columns (those present): ``persona_cluster, persona_name, customer_id, name,
    persona_label, orders_total, revenue_total, quadrant, tag_score``; ``name`` masked
    with :func:`kit.privacy.mask_name` when ``mask``.
    """
    from kit.present.privacy import mask_frame

    if result.skipped:
        return pd.DataFrame()
    lab = result.labels.dropna().astype(int)
    d = pd.DataFrame({"persona_cluster": lab, "distance": result.distance.loc[lab.index]})
    d = d.rename_axis("customer_id").reset_index()
    d = d.sort_values(["persona_cluster", "distance", "customer_id"], kind="mergesort")
    d = d.groupby("persona_cluster", sort=True).head(n)
    cols = [c for c in ("persona_name", "name", "persona_label", "orders_total", "revenue_total",
                        "quadrant", "tag_score") if c in customers.columns or c == "persona_name"]
    out = d[["persona_cluster", "customer_id"]].copy()
    if names is not None:
        out["persona_name"] = out["persona_cluster"].map(names)
    elif "persona_name" in customers.columns:
        out["persona_name"] = customers.loc[out["customer_id"], "persona_name"].to_numpy()
    for c in cols:
        if c != "persona_name":
            out[c] = customers.loc[out["customer_id"], c].to_numpy()
    out = mask_frame(out, enabled=mask)
    return out.reset_index(drop=True)


def localise(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Column headers and quadrant keys in the report language (for display)."""
    out = df.copy()
    if "quadrant" in out.columns:
        out["quadrant"] = out["quadrant"].map(lambda k: label("quadrant", k, lang))
    if "dominant_quadrant" in out.columns:
        out["dominant_quadrant"] = out["dominant_quadrant"].map(lambda k: label("quadrant", k, lang))
    out = out.rename(columns=lambda c: label("persona_column", c, lang))
    out.index = out.index.rename(label("persona_column", out.index.name, lang) if out.index.name else None)
    return out


def report_table(df: pd.DataFrame, lang: str, *, money: Iterable[str] = (), pct: Iterable[str] = (),
                 decimals: dict[str, int] | None = None, index: bool = False, **kwargs: Any):
    """:func:`kit.report.table` of ``df`` with report-language headers (:func:`localise`);
    formats are given by canonical column names."""
    from kit.present import report

    tr = lambda cols: [label("persona_column", c, lang) for c in cols]  # noqa: E731
    dec = {label("persona_column", c, lang): d for c, d in (decimals or {}).items()}
    return report.table(localise(df, lang), money=tr(money), pct=tr(pct), decimals=dec, index=index, **kwargs)


def label_summary(spine: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The most common persona labels: ``persona_label, customers, customer_share, tag_score``
    (mean)."""
    s = spine.dropna(subset=["persona_label"])
    g = s.groupby("persona_label")
    out = pd.DataFrame({"customers": g.size(), "tag_score": g["tag_score"].mean()})
    out["customer_share"] = out["customers"] / len(spine)
    out = out.sort_index(kind="mergesort").sort_values("customers", ascending=False, kind="mergesort")
    return out.head(top).reset_index()[["persona_label", "customers", "customer_share", "tag_score"]]


# --------------------------------------------------------------------------------------
# All of it
# --------------------------------------------------------------------------------------


@dataclass
class PersonaRun:
    """Everything notebook 03 shows; ``spine`` is the customers table with the 03 columns."""

    tags: pd.DataFrame
    availability: dict[str, FamilyStatus]
    weights: dict[str, float]
    clusters: ClusterResult
    names: pd.Series
    spine: pd.DataFrame


def attach(customers: pd.DataFrame, tags: pd.DataFrame, scores: pd.Series, labels: pd.Series,
           result: ClusterResult, names: pd.Series) -> pd.DataFrame:
    """The spine with ``tag_*``, ``tag_score``, ``persona_label``, ``persona_cluster`` and
    ``persona_name`` (replacing any from an earlier run)."""
    old = [c for c in customers.columns if c.startswith("tag_") or c in PERSONA_COLUMNS]
    out = customers.drop(columns=old)
    cl = result.labels.reindex(out.index).astype("Int64")
    new = tags.reindex(out.index).assign(
        tag_score=scores.reindex(out.index),
        persona_label=labels.reindex(out.index).astype("str"),
        persona_cluster=cl,
        persona_name=cl.map(names).astype("str") if len(names) else pd.Series(pd.NA, index=out.index, dtype="str"),
    )
    return pd.concat([out, new], axis=1)


def run_personas(customers: pd.DataFrame, transactions: pd.DataFrame,
                 interactions: pd.DataFrame | None, as_of: pd.Timestamp | str | None,
                 cfg_personas: Personas | None, lang: str, **kwargs: Any) -> PersonaRun:
    """Tags, tag scores, persona labels, clusters and names; the spine with the new columns.

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
    tags, avail = build_tags(customers, transactions, interactions, as_of, cfg, **tag_kw)
    bool_avail = {f: s.available for f, s in avail.items()}
    scores = tag_scores(tags, cfg.tag_weights, bool_avail)
    labels = persona_labels(tags, lang, cfg)
    result = cluster_personas(customers, transactions, cfg, as_of=as_of, **kwargs)
    names = name_clusters(result, tags, lang, cfg)
    spine = attach(customers, tags, scores, labels, result, names)
    return PersonaRun(tags=tags, availability=avail, weights=effective_weights(cfg.tag_weights, bool_avail),
                      clusters=result, names=names, spine=spine)


# --------------------------------------------------------------------------------------
# Plots (ax=None, return the Axes; labels in the report language)
# --------------------------------------------------------------------------------------


def tag_frequencies(tags: pd.DataFrame, family: str, lang: str, cfg_personas: Personas | None = None,
                    *, top: int = 10, size_by: str | None = None) -> pd.DataFrame:
    """Customers carrying each tag value of ``family`` (multi-valued tags counted per value).

    Returns
    -------
    DataFrame ``label, customers, share`` (share of all customers), most frequent first,
    at most ``top`` rows. Recent purchases are banded (none / 1 / 2-3 / 4+).
    """
    n_all = len(tags)
    size_by = size_by or tags.attrs.get("size_by", "employees")
    if family == "recent_activity":
        vals = recent_band(tags["tag_recent_orders"]).dropna()
        order = ["recent_none", "recent_1", "recent_2_3", "recent_4_plus"]
        cnt = vals.value_counts().reindex(order, fill_value=0)
        cnt = cnt[cnt > 0]
        fam = "recent_activity"
    else:
        cols = [c for c in FAMILIES[family][1] if c not in COUNT_COLUMNS]
        counts = [_tag_counts(tags[c]) for c in cols if tags[c].notna().any()]
        cnt = (pd.concat(counts).groupby("key")["n"].sum() if counts else pd.Series(dtype=int))
        if family == "size":  # bands in their natural order
            cnt = cnt.sort_index(key=lambda k: k.str.extract(r"^([\d.]+)", expand=False).astype(float))
        else:
            cnt = cnt.sort_index(kind="mergesort").sort_values(ascending=False, kind="mergesort")
        cnt = cnt.head(top)
        fam = family
    out = pd.DataFrame({
        "label": [tag_label(fam, k, lang, cfg_personas, size_by=size_by) for k in cnt.index],
        "customers": cnt.to_numpy(dtype=int),
    })
    out["share"] = out["customers"] / n_all if n_all else np.nan
    return out


def plot_tag_frequency(tags: pd.DataFrame, family: str, lang: str, cfg_personas: Personas | None = None,
                       *, top: int = 10, ax=None, title: str | None = None, color: str | None = None):
    """Horizontal bars: share of customers per tag value of one family."""
    from matplotlib.ticker import PercentFormatter

    from kit.present.plotting import PALETTE, new_ax

    ax = new_ax(ax)
    freq = tag_frequencies(tags, family, lang, cfg_personas, top=top)
    y = np.arange(len(freq))[::-1]
    ax.barh(y, freq["share"], color=color or PALETTE[0])
    ax.set_yticks(y, [_short(s) for s in freq["label"]])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("客户占比" if lang == "zh" else "Share of customers")
    ax.set_title(title or label("tag_family", family, lang))
    ax.grid(axis="y", visible=False)
    return ax


def _short(s: str, n: int = 22) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def plot_tag_overview(tags: pd.DataFrame, availability: dict[str, Any], lang: str,
                      cfg_personas: Personas | None = None, *, top: int = 8, ncols: int = 3, axes=None):
    """One tag frequency chart per available family, in a grid; returns the array of Axes."""
    import matplotlib.pyplot as plt

    from kit.present.plotting import PALETTE

    fams = [f for f in FAMILIES if availability.get(f, False)]
    ncols = max(1, min(ncols, len(fams)))
    if axes is None:
        nrows = max(1, -(-len(fams) // ncols))
        _, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.0 * nrows), squeeze=False)
    flat = np.asarray(axes).ravel()
    groups = list(dict.fromkeys(g for g, _ in FAMILIES.values()))
    for ax, fam in zip(flat, fams):
        color = PALETTE[groups.index(FAMILIES[fam][0]) % len(PALETTE)]
        group = FAMILIES[fam][0]
        title = label("tag_family", fam, lang)
        if group != fam:
            group_label = label("tag_group", group, lang)
            title += f"（{group_label}）" if lang == "zh" else f" ({group_label.lower()})"
        plot_tag_frequency(tags, fam, lang, cfg_personas, top=top, ax=ax, title=title, color=color)
    for ax in flat[len(fams):]:
        ax.set_visible(False)
    flat[0].figure.tight_layout()
    return np.asarray(axes)


def plot_silhouette(result: ClusterResult, lang: str, *, ax=None):
    """Silhouette score per k; the chosen k highlighted."""
    from kit.present.plotting import PALETTE, new_ax

    ax = new_ax(ax, figsize=(6, 3.2))
    s = result.silhouette
    colors = [PALETTE[1] if k == result.k else PALETTE[0] for k in s.index]
    ax.bar([str(k) for k in s.index], s.to_numpy(), color=colors)
    for i, v in enumerate(s.to_numpy()):
        ax.annotate(f"{v:.3f}", (i, v), ha="center", va="bottom", fontsize=9)
    ax.set_xlabel("聚类数 k" if lang == "zh" else "Number of clusters k")
    ax.set_ylabel("轮廓系数" if lang == "zh" else "Silhouette score")
    ax.set_title((f"按轮廓系数选择 k（选用 k = {result.k}）" if lang == "zh"
                  else f"Choosing k by silhouette score (k = {result.k})"))
    ax.set_ylim(0, max(0.05, float(s.max()) * 1.18))
    return ax


_CELL_FORMATS = {"log_frequency": "{:,.1f}", "recency_days": "{:,.0f}", "log_monetary": "{:,.0f}",
                 "tenure_days": "{:,.0f}", "n_categories": "{:,.1f}", "channel_concentration": "{:.0%}"}


def plot_cluster_profile(result: ClusterResult, lang: str, names: pd.Series | None = None, *, ax=None):
    """Heatmap of standardised centroids (colour: sd from the mean, clipped to +-2)
    annotated with the centroid in original units (orders, days, currency)."""
    from kit.present.plotting import new_ax

    z = result.centroids_std
    ax = new_ax(ax, figsize=(1.5 * len(z.columns) + 4.5, 0.7 * max(len(z), 2) + 1.8))
    im = ax.imshow(z.to_numpy(dtype=float), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    orig = result.centroids.to_numpy(dtype=float)
    for (i, j), v in np.ndenumerate(orig):
        ax.text(j, i, _CELL_FORMATS.get(z.columns[j], "{:,.1f}").format(v), ha="center", va="center",
                fontsize=9, color="white" if abs(z.iat[i, j]) > 1.2 else "#222")
    rows = [textwrap.fill(f"P{c} {names[c]}", 34) if names is not None and c in names.index else f"P{c}"
            for c in z.index]
    ax.set_yticks(range(len(z)), rows)
    ax.set_xticks(range(len(z.columns)), [label("persona_feature", f, lang) for f in z.columns])
    ax.tick_params(axis="x", labelsize=9)
    ax.grid(False)
    cbar = ax.figure.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cbar.set_label("标准化簇中心（标准差）" if lang == "zh" else "standardised centroid (sd)")
    ax.set_title("画像聚类特征（格内为原始单位的簇中心）" if lang == "zh"
                 else "Persona cluster profile (cells: centroid in original units)")
    return ax
