"""Data-driven personas: features, seeded k-means with k chosen by silhouette.

See the package docstring (data-driven personas) for the rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from kit.core.config import Personas
from kit.core.notes import Note
from kit.stages.personas.tags import SECTION, order_counts, purchases
from kit.stages.personas.queries import PersonaQueries

#: Clustering features: name -> (spine column, log1p?).
FEATURES: dict[str, tuple[str, bool]] = {
    "log_frequency": ("orders_total", True),
    "recency_days": ("days_since_last", False),
    "log_monetary": ("avg_order_value", True),
    "tenure_days": ("tenure_days", False),
    "n_categories": ("n_categories", False),
    "channel_concentration": ("channel_concentration", False),
}

#: Trait keys (``label.persona_trait.<key>``) of a feature's high / low centroid.
TRAITS: dict[str, tuple[str, str]] = {
    "recency_days": ("lapsed", "active"),
    "log_frequency": ("frequent", "infrequent"),
    "log_monetary": ("high_ticket", "low_ticket"),
    "tenure_days": ("long_standing", "new"),
    "n_categories": ("multi_category", "single_category"),
    "channel_concentration": ("single_channel", "multi_channel"),
}

RAW_COLUMNS = ("orders_total", "days_since_last", "avg_order_value", "tenure_days",
                "n_categories", "channel_concentration", "revenue_total")


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
    note : Note
        What was done (``personas.clustered``) or why nothing was clustered (``omitted``).
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
    note: Note | None = None

    @property
    def skipped(self) -> bool:
        return self.k is None


def _derived_features(transactions: pd.DataFrame, as_of: pd.Timestamp | str | None) -> pd.DataFrame:
    """Per customer with purchases up to ``as_of``: orders, revenue, recency, tenure,
    average order value, categories and top-channel share (when the data has them)."""
    as_of = pd.Timestamp(as_of) if as_of is not None else transactions["order_date"].max()
    tx = purchases(transactions, as_of)
    g = tx.groupby("customer_id")
    derived = pd.DataFrame({
        "orders_total": order_counts(tx, ["customer_id"]),
        "revenue_total": g["amount"].sum(),
        "days_since_last": (as_of - g["order_date"].max()).dt.days,
        "tenure_days": (as_of - g["order_date"].min()).dt.days,
    })
    derived["avg_order_value"] = derived["revenue_total"] / derived["orders_total"]
    if "category" in tx.columns and tx["category"].notna().any():
        derived["n_categories"] = g["category"].nunique()
    if "channel" in tx.columns and tx["channel"].notna().any():
        per = order_counts(tx.dropna(subset=["channel"]), ["customer_id", "channel"])
        derived["channel_concentration"] = per.groupby(level=0).max() / per.groupby(level=0).sum()
    return derived


def cluster_features(customers: pd.DataFrame, transactions: pd.DataFrame | PersonaQueries | None = None,
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
    if isinstance(transactions, pd.DataFrame) and (need or "channel" in transactions.columns):
        derived = _derived_features(transactions, as_of).reindex(idx)
    elif transactions is not None and not isinstance(transactions, pd.DataFrame) and (
            need or "channel" in transactions.names):  # an engine's answers
        derived = transactions.derived(pd.Timestamp(as_of)).reindex(idx)
    for col in RAW_COLUMNS:
        if col in customers.columns:
            out[col] = pd.to_numeric(customers[col], errors="coerce").astype(float)
        elif derived is not None and col in derived.columns:
            out[col] = derived[col].astype(float)
    if "avg_order_value" not in out.columns and {"revenue_total", "orders_total"} <= set(out.columns):
        out["avg_order_value"] = out["revenue_total"] / out["orders_total"].where(out["orders_total"] > 0)
    return out


def _skip(result: ClusterResult, code: str, **params) -> ClusterResult:
    result.note = Note(f"personas.{code}", params, "omitted", SECTION)
    return result


def _feature_matrix(raw: pd.DataFrame, res: ClusterResult) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Features of the customers with purchases (constant ones dropped, gaps filled with
    the median): ``(features, raw rows kept, keep mask over the spine)``."""
    feats = pd.DataFrame(index=raw.index)
    for name, (col, log) in FEATURES.items():
        if col in raw.columns:
            v = raw[col].clip(lower=0)
            feats[name] = np.log1p(v) if log else v
    # customers with purchases only (boolean masks keep this linear for 1M customers)
    keep = (feats["log_frequency"] > 0).fillna(False).to_numpy(dtype=bool) if "log_frequency" in feats.columns \
        else np.ones(len(raw), dtype=bool)
    feats, raw = feats[keep], raw[keep]
    feats = feats.dropna(axis=1, how="all")
    # a feature missing for some purchasing customers (e.g. channel unknown) is filled
    # with its median so those customers are still clustered
    feats = feats.fillna(feats.median())
    constant = [c for c in feats.columns if feats[c].nunique() <= 1]
    res.dropped_features = [f for f in FEATURES if f not in feats.columns or f in constant]
    feats = feats.drop(columns=constant)
    res.features = list(feats.columns)
    return feats, raw, keep


def _standardise(feats: pd.DataFrame, fit_pos: np.ndarray) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Clip to the 0.5-99.5 % quantiles, standardise on the fit sample: ``(X, mean, std)``."""
    lo, hi = feats.quantile(0.005), feats.quantile(0.995)
    X_raw = feats.clip(lower=lo, upper=hi, axis=1)
    mean = X_raw.iloc[fit_pos].mean()
    std = X_raw.iloc[fit_pos].std(ddof=0).replace(0, 1.0)
    return ((X_raw - mean) / std).to_numpy(dtype=float), mean, std


def _fit_k_range(X_fit: np.ndarray, k_lo: int, k_hi: int, seed: int, n_init: int,
                 sample_size: int | None) -> tuple[dict[int, float], dict[int, KMeans]]:
    """k-means for every k in ``[k_lo, k_hi]`` and its silhouette score (fits with fewer
    than two distinct clusters are left out)."""
    scores, models = {}, {}
    with threadpool_limits(limits=1):  # see the package docstring
        for k in range(k_lo, k_hi + 1):
            km = KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit(X_fit)
            if len(np.unique(km.labels_)) < 2:
                continue
            scores[k] = float(silhouette_score(X_fit, km.labels_, sample_size=sample_size, random_state=seed))
            models[k] = km
    return scores, models


def _renumber(assigned: np.ndarray, revenue: pd.Series, k: int) -> tuple[np.ndarray, list[int]]:
    """Cluster ids 1..k by descending median revenue: ``(new id per fitted cluster, fitted
    clusters in the new order)``."""
    med = pd.Series(revenue.to_numpy(), index=assigned).groupby(level=0).median().reindex(range(k)).fillna(-np.inf)
    order = sorted(range(k), key=lambda c: (-med[c], c))
    new_id = np.empty(k, dtype=int)
    new_id[order] = np.arange(1, k + 1)
    return new_id, order


def _store_assignment(res: ClusterResult, idx: pd.Index, keep: np.ndarray, labels: np.ndarray,
                      dist: np.ndarray) -> None:
    full = np.full(len(idx), -1)
    full[keep] = labels
    res.labels = pd.Series(pd.array(full, dtype="Int64"), index=idx, name="persona_cluster")
    res.labels = res.labels.where(res.labels > 0)
    dist_full = np.full(len(idx), np.nan)
    dist_full[keep] = dist
    res.distance = pd.Series(dist_full, index=idx, name="distance")


def _store_centroids(res: ClusterResult, km: KMeans, order: list[int], mean: pd.Series, std: pd.Series) -> None:
    cstd = pd.DataFrame(km.cluster_centers_[order], columns=res.features,
                        index=pd.Index(range(1, len(order) + 1), name="persona_cluster"))
    res.centroids_std = cstd
    orig = cstd * std.to_numpy() + mean.to_numpy()
    for name in res.features:
        if FEATURES[name][1]:
            orig[name] = np.expm1(orig[name])
    res.centroids = orig


def cluster_personas(
    customers: pd.DataFrame,
    transactions: pd.DataFrame | PersonaQueries | None = None,
    cfg_personas: Personas | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    fit_sample: int = 20_000,
    silhouette_sample: int = 5_000,
    n_init: int = 10,
) -> ClusterResult:
    """Data-driven personas: seeded k-means on standardised behaviour and value features,
    k chosen in ``[cfg.k_min, cfg.k_max]`` by silhouette score (see the package docstring).

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
    cfg = cfg_personas or Personas()
    idx = customers.index
    res = ClusterResult(k_range=(cfg.k_min, cfg.k_max), seed=cfg.seed, n_customers=len(idx),
                        labels=pd.Series(pd.NA, index=idx, dtype="Int64", name="persona_cluster"),
                        distance=pd.Series(np.nan, index=idx, name="distance"))
    feats, raw, keep = _feature_matrix(cluster_features(customers, transactions, as_of), res)
    n = len(feats)
    if not res.features:
        return _skip(res, "cluster_no_features")
    n_distinct = len(feats.drop_duplicates())
    k_hi = min(cfg.k_max, n_distinct, n - 1)
    if n < cfg.k_min or k_hi < cfg.k_min:
        return _skip(res, "cluster_too_few", n=n, n_distinct=n_distinct, k_min=cfg.k_min)
    rng = np.random.default_rng(cfg.seed)
    fit_pos = np.sort(rng.choice(n, size=fit_sample, replace=False)) if n > fit_sample else np.arange(n)
    X, mean, std = _standardise(feats, fit_pos)
    res.n_fit = len(fit_pos)
    res.n_silhouette = min(silhouette_sample, len(fit_pos))
    sample_size = silhouette_sample if len(fit_pos) > silhouette_sample else None
    scores, models = _fit_k_range(X[fit_pos], cfg.k_min, k_hi, cfg.seed, n_init, sample_size)
    if not scores:
        return _skip(res, "cluster_degenerate")
    res.silhouette = pd.Series(scores, name="silhouette").rename_axis("k")
    best = max(scores, key=lambda k: (round(scores[k], 10), -k))
    km = models[best]
    with threadpool_limits(limits=1):
        assigned = km.predict(X)
        dist = km.transform(X)[np.arange(n), assigned]
    if "revenue_total" not in raw.columns:
        raw = raw.assign(revenue_total=np.expm1(feats.get("log_frequency", 0)) * np.expm1(feats.get("log_monetary", 0)))
    rev = raw["revenue_total"].fillna(0)
    new_id, order = _renumber(assigned, rev, best)
    lab_kept = new_id[assigned]
    res.k, res.n_clustered = best, n
    _store_assignment(res, idx, keep, lab_kept, dist)
    _store_centroids(res, km, order, mean, std)
    res.profile = _profile(raw, pd.Series(lab_kept, index=raw.index), rev)
    res.note = Note("personas.clustered", {"n": n, "k_min": cfg.k_min, "k_hi": k_hi, "k": best,
                                           "n_fit": res.n_fit, "n_silhouette": res.n_silhouette,
                                           "seed": cfg.seed}, "info", SECTION)
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
