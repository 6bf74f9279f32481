"""Personas for readers: tag labels, the persona label and cluster names in the report
language, the display tables and the persona cards of notebook 03.

The stage (:mod:`kit.stages.personas`) stores keys (tag values, role keys, the English
label of a pain point, trait keys); every word shown for them is built here from the
message catalogue (``kit/present/messages/personas.yml``) and the config's pain-point
dictionary. Tables are frames with canonical columns for :func:`kit.present.table.table`;
the cards are HTML with every value escaped.
"""
from __future__ import annotations

import html
from typing import Any, Sequence

import numpy as np
import pandas as pd

from kit.core.config import Personas
from kit.core.notes import Msg
from kit.present.messages import label, render, text
from kit.stages.personas import (
    PAIN_COLUMNS,
    PERSONA_COLUMNS,
    ClusterResult,
    FamilyStatus,
    PersonaRun,
    family_weights,
    name_keys,
    persona_summary,
    tag_counts,
    typical_customers,
)

MISSING = "–"
#: The spine columns 03's page shows besides the stage's (:data:`kit.stages.personas.SPINE_INPUTS`):
#: the customer's name in the example customers and the demand-tag list.
SPINE_SHOWN = ("name", "orders_total", "revenue_total", "quadrant")


# --------------------------------------------------------------------------------------
# Tag labels
# --------------------------------------------------------------------------------------


def pain_point_labels(cfg_personas: Personas | None = None) -> dict[str, tuple[str, str]]:
    """Stored pain-point key (the English label) -> (zh, en) label."""
    cfg = cfg_personas or Personas()
    return {p.label.en: (p.label.zh, p.label.en) for p in cfg.pain_points}


def tag_label(family: str, key: object, lang: str, cfg_personas: Personas | None = None,
              *, size_by: str = "employees") -> str:
    """The report-language label of one tag key of ``family`` (``–`` when missing)."""
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return MISSING
    key = str(key)
    if family == "size":
        code = "personas.tag.size_employees" if size_by == "employees" else "personas.tag.size_revenue"
        return text(code, lang, band=key)
    if family == "decision_role":
        return label("decision_role", key, lang)
    if family == "channel" and key == "mixed" or family == "recent_activity":
        return label("persona_tag", key, lang)
    if family in ("pain_point", *PAIN_COLUMNS):
        pair = pain_point_labels(cfg_personas).get(key)
        return key if pair is None else pair[0 if lang == "zh" else 1]
    return key


def _map_labels(s: pd.Series, family: str, lang: str, cfg: Personas, **kw: Any) -> pd.Series:
    """:func:`tag_label` of each value (computed once per distinct value)."""
    uniq = s.dropna().unique()
    mapping = {k: tag_label(family, k, lang, cfg, **kw) for k in uniq}
    return s.map(mapping).astype("str")


def _first(s: pd.Series) -> pd.Series:
    """The first value of a multi-valued tag."""
    return s.astype("str").str.replace(r"\|.*$", "", regex=True)


def _recent_text(n: pd.Series, days: int, lang: str) -> pd.Series:
    def one(k: int) -> str:
        if k <= 0:
            return text("personas.label.recent_none", lang, days=days)
        return text("personas.label.recent_one" if k == 1 else "personas.label.recent_many", lang, n=k, days=days)

    k = n.fillna(0).astype(int)
    mapping = {v: one(int(v)) for v in pd.unique(k)}
    return k.map(mapping).astype("str").where(n.notna())


def _template_text(s: pd.Series, code: str, param: str, lang: str) -> pd.Series:
    mapping = {v: text(code, lang, **{param: v}) for v in s.dropna().unique()}
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
    # a label is a function of its row's tags alone: build it once per distinct combination
    # (a few thousand at a million customers) and spread it by the rows' group codes
    key = tags[list(LABEL_INPUTS)]
    codes = key.groupby(list(LABEL_INPUTS), dropna=False, sort=False).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    labels = _labels(key.iloc[first], lang, cfg_personas, max_parts, sep)
    return pd.Series(labels.to_numpy()[codes], index=tags.index, dtype="str", name="persona_label")


#: The tags a persona label reads (:func:`persona_labels`).
LABEL_INPUTS = ("tag_core_pain", "tag_hidden_need", "tag_decision_concern", "tag_channel", "tag_region",
                "tag_industry", "tag_decision_role", "tag_recent_orders", "tag_category")


def _labels(tags: pd.DataFrame, lang: str, cfg_personas: Personas | None, max_parts: int, sep: str) -> pd.Series:
    """:func:`persona_labels` row by row (vectorised over the rows given)."""
    cfg = cfg_personas or Personas()
    pain = _first(tags["tag_core_pain"]).fillna(_first(tags["tag_hidden_need"])).fillna(
        _first(tags["tag_decision_concern"]))
    ch = tags["tag_channel"].astype("str")
    mixed = (ch == "mixed").fillna(False).astype(bool)
    ch_txt = _template_text(ch.where(~mixed), "personas.label.prefers", "channel", lang)
    ch_txt = ch_txt.where(~mixed, label("persona_tag", "mixed", lang)).where(ch.notna())
    parts = [
        tags["tag_region"], tags["tag_industry"],
        _map_labels(_first(tags["tag_decision_role"]), "decision_role", lang, cfg),
        _map_labels(pain, "pain_point", lang, cfg),
        _recent_text(tags["tag_recent_orders"], cfg.recent_days, lang),
        ch_txt,
        _template_text(_first(tags["tag_category"]), "personas.label.buys", "category", lang),
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
# Cluster names
# --------------------------------------------------------------------------------------


def cluster_names(naming: pd.DataFrame, lang: str, cfg_personas: Personas | None = None,
                  *, size_by: str = "employees") -> pd.Series:
    """A name per cluster from its naming keys (:func:`kit.stages.personas.name_keys`):
    the centroid traits, then `` · `` and the first dominant tag whose label the traits
    do not already say (``活跃高频客户 · 关注设备稳定性`` / ``Active frequent customers · ...``);
    names that come out equal get `` (P<n>)``.

    Returns
    -------
    Series indexed by ``persona_cluster`` (1..k); empty when nothing was clustered.
    """
    if naming.empty:
        return pd.Series(dtype="str", name="persona_name").rename_axis("persona_cluster")
    names = {}
    for cid, row in naming.iterrows():
        words = {f"t{i}": label("persona_trait", k, lang) for i, k in enumerate(row["traits"])}
        base = text(f"personas.name.traits_{len(words)}", lang, **words).capitalize()
        tag_words = [tag_label(f, k, lang, cfg_personas, size_by=size_by) for f, k in row["tags"]]
        tag_words = [w for w in tag_words if w not in base]  # say nothing twice
        names[cid] = base + (f" · {tag_words[0]}" if tag_words else "")
    s = pd.Series(names, name="persona_name", dtype="str")
    s.index.name = "persona_cluster"
    dup = s.duplicated(keep=False)
    return s.where(~dup, s + pd.Series([f" (P{c})" for c in s.index], index=s.index, dtype="str"))


def name_clusters(result: ClusterResult, tags: pd.DataFrame, lang: str,
                  cfg_personas: Personas | None = None, **kwargs: Any) -> pd.Series:
    """:func:`cluster_names` of :func:`kit.stages.personas.name_keys` (``kwargs`` go there)."""
    naming = name_keys(result, tags, **kwargs)
    return cluster_names(naming, lang, cfg_personas, size_by=tags.attrs.get("size_by", "employees"))


def run_names(run: PersonaRun, lang: str, cfg_personas: Personas | None = None) -> pd.Series:
    """:func:`cluster_names` of a :class:`~kit.stages.personas.PersonaRun`."""
    return cluster_names(run.naming, lang, cfg_personas, size_by=run.tags.attrs.get("size_by", "employees"))


def with_persona_text(run: PersonaRun, lang: str, cfg_personas: Personas | None = None) -> pd.DataFrame:
    """``run.spine`` with ``persona_label`` and ``persona_name`` in the report language,
    the 03 columns in the order of :data:`~kit.stages.personas.PERSONA_COLUMNS` (what
    notebook 03 writes to ``customers.parquet``; the deliverables read these columns)."""
    spine = run.spine
    names = run_names(run, lang, cfg_personas)
    cl = spine["persona_cluster"]
    extra = pd.DataFrame({
        "persona_label": persona_labels(run.tags, lang, cfg_personas).reindex(spine.index).astype("str"),
        "persona_name": (cl.map(names).astype("str") if len(names)
                         else pd.Series(pd.NA, index=spine.index, dtype="str")),
    }, index=spine.index)
    out = pd.concat([spine.drop(columns=[c for c in extra.columns if c in spine.columns]), extra], axis=1)
    rest = [c for c in out.columns if c not in PERSONA_COLUMNS]
    return out[rest + [c for c in PERSONA_COLUMNS if c in out.columns]]


PERSONA_TEXT = ("persona_label", "persona_name")


def persona_text_of(shown: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The persona text columns in every language of the run, one row per customer, from the
    spines :func:`with_persona_text` gave per language: ``persona_label.<lang>`` and
    ``persona_name.<lang>`` (``persona_text.parquet``: the deliverables of each language take
    their persona words from it, :func:`in_language`)."""
    return pd.concat([s[list(PERSONA_TEXT)].rename(columns={c: f"{c}.{lang}" for c in PERSONA_TEXT})
                      for lang, s in shown.items()], axis=1)


def in_language(spine: pd.DataFrame, text: pd.DataFrame | None, lang: str) -> pd.DataFrame:
    """``spine`` with its persona text in ``lang`` (from :func:`persona_text_of`); the spine as
    it is when there is no text of that language (no 03 run, or one language only)."""
    cols = [f"{c}.{lang}" for c in PERSONA_TEXT]
    if text is None or not set(cols) <= set(text.columns):
        return spine
    out = spine.copy(deep=False)
    for c in PERSONA_TEXT:
        if c in out.columns:
            out[c] = text[f"{c}.{lang}"].reindex(out.index)
    return out


# --------------------------------------------------------------------------------------
# Display tables (canonical columns; kit.present.table labels and formats them)
# --------------------------------------------------------------------------------------


def weight_table(weights: dict[str, float], availability: dict[str, FamilyStatus],
                 tags: pd.DataFrame | None = None, lang: str = "zh") -> pd.DataFrame:
    """One row per family: ``family, family_group`` (keys), ``family_available``,
    configured and effective weight, mean strength, ``omitted_reason`` (report language)."""
    out = family_weights(weights, availability, tags).rename(columns={"available": "family_available"})
    out["omitted_reason"] = [render(availability[f].reason, lang) if availability[f].reason else ""
                             for f in out["family"]]
    return out


def label_summary(spine: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The most common persona labels: ``persona_label, n_customers, customer_share,
    tag_score`` (mean)."""
    s = spine.dropna(subset=["persona_label"])
    g = s.groupby("persona_label")
    out = pd.DataFrame({"n_customers": g.size(), "tag_score": g["tag_score"].mean()})
    out["customer_share"] = out["n_customers"] / len(spine)
    out = out.sort_index(kind="mergesort").sort_values("n_customers", ascending=False, kind="mergesort")
    return out.head(top).reset_index()[["persona_label", "n_customers", "customer_share", "tag_score"]]


def tag_frequencies(tags: pd.DataFrame, family: str, lang: str, cfg_personas: Personas | None = None,
                    *, top: int = 10, size_by: str | None = None) -> pd.DataFrame:
    """Customers carrying each tag value of ``family`` with its label:
    ``label, customers, share`` (see :func:`kit.stages.personas.tag_counts`)."""
    size_by = size_by or tags.attrs.get("size_by", "employees")
    cnt = tag_counts(tags, family, top=top)
    out = pd.DataFrame({
        "label": [tag_label(family, k, lang, cfg_personas, size_by=size_by) for k in cnt["key"]],
        "customers": cnt["customers"].to_numpy(dtype=int),
    })
    out["share"] = cnt["share"].to_numpy()
    return out


def persona_cards(customers: pd.DataFrame, result: ClusterResult, names: pd.Series,
                  tags: pd.DataFrame, lang: str, cfg_personas: Personas | None = None,
                  *, top_tags: int = 3, min_tag_share: float = 0.2, min_lift: float = 1.1) -> pd.DataFrame:
    """Data of the persona cards, one row per persona (index ``persona_cluster``):
    ``persona_name`` and :func:`kit.stages.personas.persona_summary` with ``top_tags`` as
    text (``label share%`` joined by `` / ``)."""
    summary = persona_summary(customers, result, tags, top_tags=top_tags, min_tag_share=min_tag_share,
                              min_lift=min_lift)
    if summary.empty:
        return summary
    size_by = tags.attrs.get("size_by", "employees")
    out = summary.drop(columns=["top_tag_keys"])
    out.insert(0, "persona_name", names.reindex(out.index))
    out.insert(list(out.columns).index("typical_revenue") + 1, "top_tags", [
        " / ".join(f"{tag_label(f, k, lang, cfg_personas, size_by=size_by)} {share:.0%}" for f, k, share in keys)
        for keys in summary["top_tag_keys"]
    ])
    return out


def _pct(x: float) -> str:
    return MISSING if pd.isna(x) else f"{x:.0%}"


def _num(x: float, money: bool = False) -> str:
    if pd.isna(x):
        return MISSING
    if money and abs(x) >= 1e4:
        return f"{x / 1e3:,.0f}K" if abs(x) < 1e6 else f"{x / 1e6:,.1f}M"
    return f"{x:,.0f}"


def _card(cid: object, row: pd.Series, lang: str, currency: str) -> str:
    """One card; every shown value is escaped."""
    esc = html.escape
    orders = row["typical_orders"]
    order_code = "personas.card.orders_one" if orders == 1 else "personas.card.orders_many"
    lines = [
        f'<div class="kit-card-label">P{esc(str(cid))}</div>',
        '<div style="font-size:16px;font-weight:600;color:#1d3b57;margin-bottom:4px">'
        f'{esc(str(row["persona_name"]))}</div>',
        f'<div class="kit-card-value">{esc(_pct(row["customer_share"]))}'
        '<span style="font-size:13px;font-weight:400;color:#555"> '
        f'{esc(text("personas.card.shares", lang, revenue=_pct(row["revenue_share"])))}</span></div>',
        f'<div class="kit-card-delta">{esc(text("personas.card.customers", lang, n=int(row["customers"])))}</div>',
        '<div class="kit-card-delta">' + esc(text(
            "personas.card.typical_rfm", lang, days=_num(row["typical_recency_days"]),
            orders=text(order_code, lang, n=_num(orders)), currency=currency,
            revenue=_num(row["typical_revenue"], money=True))) + "</div>",
    ]
    if row.get("top_tags"):
        lines.append(f'<div class="kit-card-delta">{esc(text("personas.card.top_tags", lang, tags=str(row["top_tags"])))}</div>')
    if "dominant_quadrant" in row.index and pd.notna(row["dominant_quadrant"]):
        q = label("quadrant", row["dominant_quadrant"], lang)
        lines.append('<div class="kit-card-delta">' + esc(text(
            "personas.card.dominant_quadrant", lang, quadrant=q, share=_pct(row["dominant_quadrant_share"]))) + "</div>")
    return '<div class="kit-card" style="width:260px">' + "".join(lines) + "</div>"


def persona_cards_html(cards: pd.DataFrame, lang: str, *, currency: str = "¥") -> str:
    """HTML persona cards (one panel per persona; styled by the report CSS ``kit-card``).
    Names and tags come from customer data: every value is HTML-escaped."""
    if cards.empty:
        return ""
    return '<div class="kit-cards">' + "".join(_card(cid, row, lang, currency) for cid, row in cards.iterrows()) \
        + "</div>"


def example_customers(customers: pd.DataFrame, result: ClusterResult, *, n: int = 5,
                      names: pd.Series | None = None) -> pd.DataFrame:
    """The ``n`` most typical customers of each persona (nearest to its centroid).

    Columns (those present): ``persona_cluster, customer_id, persona_name, name,
    persona_label, orders_total, revenue_total, quadrant, tag_score``. Names are not
    masked here: show the frame through :func:`kit.present.table.table` (``ctx.table``),
    which masks by column role.
    """
    d = typical_customers(result, n=n)
    if result.skipped:
        return pd.DataFrame()
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
    return out.reset_index(drop=True)


def feature_list(result: ClusterResult) -> Msg:
    """The clustering features as a message (``personas.features.*``)."""
    cats = "n_categories" in result.features
    chan = "channel_concentration" in result.features
    return Msg("personas.features." + {(False, False): "base", (True, False): "categories",
                                       (False, True): "channel", (True, True): "categories_channel"}[(cats, chan)])


def cluster_summary(result: ClusterResult) -> Msg:
    """What the clustering did and on which features (``personas.cluster_paragraph``)."""
    note = result.note
    return Msg("personas.cluster_paragraph", summary=Msg(note.code, **note.params), features=feature_list(result))
