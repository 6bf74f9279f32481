"""What describes a persona, as keys: tag frequencies and lifts, centroid traits, the
dominant tags of each cluster, the card figures and the most typical customers.

The words (trait and tag labels, names) are the presentation layer's
(:mod:`kit.present.personas`).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from kit.stages.personas.clusters import TRAITS, ClusterResult
from kit.stages.personas.tags import COUNT_COLUMNS, FAMILIES, SEP
from kit.stages.personas.weights import recent_band

#: Tag columns that may name a cluster, in tie-break order, and their tag family.
NAMING_COLUMNS = {
    "tag_industry": "industry", "tag_region": "region", "tag_core_pain": "pain_point",
    "tag_hidden_need": "pain_point", "tag_decision_concern": "pain_point",
    "tag_decision_role": "decision_role", "tag_size": "size", "tag_channel": "channel",
    "tag_category": "category",
}

LIFT_COLUMNS = ["persona_cluster", "column", "family", "key", "n", "share", "share_all", "lift", "order"]
RECENT_BANDS = ["recent_none", "recent_1", "recent_2_3", "recent_4_plus"]


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


def tag_counts(tags: pd.DataFrame, family: str, *, top: int = 10) -> pd.DataFrame:
    """Customers carrying each tag value of ``family`` (multi-valued tags counted per value).

    Returns
    -------
    DataFrame ``key, customers, share`` (share of all customers), most frequent first (size
    bands in their natural order), at most ``top`` rows. Recent purchases are banded
    (``recent_none`` / ``recent_1`` / ``recent_2_3`` / ``recent_4_plus``).
    """
    n_all = len(tags)
    if family == "recent_activity":
        vals = recent_band(tags["tag_recent_orders"]).dropna()
        cnt = vals.value_counts().reindex(RECENT_BANDS, fill_value=0)
        cnt = cnt[cnt > 0]
    else:
        cols = [c for c in FAMILIES[family][1] if c not in COUNT_COLUMNS]
        counts = [_tag_counts(tags[c]) for c in cols if tags[c].notna().any()]
        cnt = (pd.concat(counts).groupby("key")["n"].sum() if counts else pd.Series(dtype=int))
        if family == "size":  # bands in their natural order
            cnt = cnt.sort_index(key=lambda k: k.str.extract(r"^([\d.]+)", expand=False).astype(float))
        else:
            cnt = cnt.sort_index(kind="mergesort").sort_values(ascending=False, kind="mergesort")
        cnt = cnt.head(top)
    out = pd.DataFrame({"key": [str(k) for k in cnt.index], "customers": cnt.to_numpy(dtype=int)})
    out["share"] = out["customers"] / n_all if n_all else np.nan
    return out


def tag_lift(tags: pd.DataFrame, clusters: pd.Series, *, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Share of each cluster's customers carrying each tag, against all clustered customers.

    Returns
    -------
    DataFrame
        ``persona_cluster, column, family, key, n, share, share_all, lift, order``;
        one row per (cluster, tag value); a customer counts once per value.
    """
    cl = clusters.reindex(tags.index)
    valid = cl.notna()
    if not valid.any():
        return pd.DataFrame(columns=LIFT_COLUMNS)
    groups = cl.fillna(-1).astype(int).to_numpy()
    sizes = cl[valid].astype(int).value_counts()
    frames = []
    for order, col in enumerate(columns or NAMING_COLUMNS):
        s = tags[col].where(valid)
        if s.isna().all():
            continue
        cnt = _tag_counts(s, groups).rename(columns={"group": "persona_cluster"})
        fam = NAMING_COLUMNS.get(col, col.removeprefix("tag_"))
        cnt["column"], cnt["family"], cnt["order"] = col, fam, order
        frames.append(cnt)
    if not frames:
        return pd.DataFrame(columns=LIFT_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["share"] = out["n"] / out["persona_cluster"].map(sizes)
    total = out.groupby(["column", "key"])["n"].transform("sum")
    out["share_all"] = total / int(valid.sum())
    out["lift"] = out["share"] / out["share_all"]
    out = out.sort_values(["persona_cluster", "order", "key"], kind="mergesort").reset_index(drop=True)
    return out[LIFT_COLUMNS]


def dominant_tags(lift: pd.DataFrame, cluster: int, n: int, min_share: float, min_lift: float) -> pd.DataFrame:
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


def name_keys(result: ClusterResult, tags: pd.DataFrame, *, z_threshold: float = 0.5, max_traits: int = 3,
              min_tag_share: float = 0.3, min_lift: float = 1.25, candidates: int = 3) -> pd.DataFrame:
    """What names each cluster, as keys: its centroid traits (:func:`cluster_traits`;
    ``["average"]`` when none) and up to ``candidates`` dominant tags (``(family, key)``,
    carried by >= ``min_tag_share`` of the cluster and >= ``min_lift`` times as common there
    as overall, most distinctive first). The name itself is built in the report language by
    :func:`kit.present.personas.name_clusters`.

    Returns
    -------
    DataFrame indexed by ``persona_cluster`` (1..k): ``traits``, ``tags`` (lists); empty when
    nothing was clustered.
    """
    out = pd.DataFrame({"traits": pd.Series(dtype=object), "tags": pd.Series(dtype=object)})
    out.index.name = "persona_cluster"
    if result.skipped:
        return out
    traits = cluster_traits(result, z_threshold=z_threshold, max_traits=max_traits)
    lift = tag_lift(tags, result.labels)
    rows = {}
    for cid, keys in traits.items():
        dom = dominant_tags(lift, cid, candidates, min_tag_share, min_lift)
        rows[cid] = {"traits": list(keys or ["average"]),
                     "tags": list(zip(dom["family"], dom["key"]))}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "persona_cluster"
    return out


def persona_summary(customers: pd.DataFrame, result: ClusterResult, tags: pd.DataFrame, *, top_tags: int = 3,
                    min_tag_share: float = 0.2, min_lift: float = 1.1) -> pd.DataFrame:
    """The figures of the persona cards, one row per persona (index ``persona_cluster``).

    Columns: ``customers, customer_share, revenue_share, typical_recency_days,
    typical_orders, typical_revenue`` (medians: the typical R, F, M), ``top_tag_keys``
    (up to ``top_tags`` ``(family, key, share)``, most over-represented first: share >=
    ``min_tag_share``, lift >= ``min_lift``), ``dominant_quadrant`` (key) and
    ``dominant_quadrant_share`` when the spine has ``quadrant``, ``tag_score`` (mean) when
    present.
    """
    if result.skipped:
        return pd.DataFrame()
    prof = result.profile
    out = pd.DataFrame(index=prof.index)
    out["customers"] = prof["customers"]
    out["customer_share"] = prof["customers"] / len(customers)
    out["revenue_share"] = prof["revenue_share"]
    for col, key in (("days_since_last", "typical_recency_days"), ("orders_total", "typical_orders"),
                     ("revenue_total", "typical_revenue")):
        out[key] = prof.get(f"median_{col}", np.nan)
    clustered = result.labels.reindex(customers.index)
    valid = clustered.notna()
    lab = clustered[valid].astype(int)
    lift = tag_lift(tags, result.labels)
    out["top_tag_keys"] = [
        [(r.family, r.key, r.share) for r in dominant_tags(lift, c, top_tags, min_tag_share, min_lift).itertuples()]
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


def typical_customers(result: ClusterResult, *, n: int = 5) -> pd.DataFrame:
    """The ``n`` customers of each persona nearest to its centroid: ``persona_cluster,
    customer_id`` (by persona, nearest first; empty when nothing was clustered)."""
    if result.skipped:
        return pd.DataFrame(columns=["persona_cluster", "customer_id"])
    lab = result.labels.dropna().astype(int)
    d = pd.DataFrame({"persona_cluster": lab, "distance": result.distance.loc[lab.index]})
    d = d.rename_axis("customer_id").reset_index()
    d = d.sort_values(["persona_cluster", "distance", "customer_id"], kind="mergesort")
    d = d.groupby("persona_cluster", sort=True).head(n)
    return d[["persona_cluster", "customer_id"]].reset_index(drop=True)
