"""Health score 0-100 of subscription customers (template step 1 signals, issue 13).

Seven weighted components, each a raw value per customer put on 0-100 by its configured
:class:`kit.core.config.Scale` (``cfg.subscriptions.health``):

==================  =========================================================  ==========================
component           raw value (window: the last ``window_months``, as_of incl.)  source
==================  =========================================================  ==========================
activity            logins + inquiries + purchases in the window                usage ``logins``;
                                                                                interactions of
                                                                                ``activity_interaction_types``
                                                                                (``login`` only when the
                                                                                usage table has no logins);
                                                                                spine ``orders_q1..q<k>``
usage_depth         mean ``feature_coverage`` (0-1) of the usage rows            usage
response_speed      mean ``first_response_hours`` of the usage rows              usage
satisfaction        mean interaction ``score`` (survey / NPS, 0-100)             interactions
complaints          interactions of ``complaint_types``                          interactions ``type``
payment             1 with an overdue payment, else 0                            spine ``special_flags``
                                                                                (``overdue_payment``)
purchase_trend      ``purchase_growth`` (12 months vs the 12 before)             spine
==================  =========================================================  ==========================

Documented choices
------------------
* **Scope.** Customers of the spine with a contract: a subscription signed on or before
  ``as_of`` (any status: a lapsed customer is the one to watch), else, without a
  subscriptions table, a ``contract_end_date`` in the master. Without either, every
  customer of the spine is scored (a Note says so). Outside the scope the score is NaN and
  the band missing.
* **A component the data lack** (no source table or column, or no customer in the scope
  has a value) is dropped and the weights renormalised over the others; a Note names it
  and why. Payment counts as lacking when the spine says the data had no overdue
  information (note ``layering.no_overdue_data``) or has no ``special_flags``.
* **A customer lacking one component's value** (no usage rows in the window, no scored
  interaction, no purchases the year before for the trend) is scored on the components
  he has, their weights renormalised for him alone (``health_coverage`` = the share of the
  used weight he has data for). Below ``min_coverage`` he gets no score (band
  ``unknown``). Counts are real zeros: no login, inquiry, purchase or complaint in the
  window is 0, not missing, once the source exists.
* **Bands**: score >= ``bands.healthy`` healthy, >= ``bands.watch`` watch, else at risk
  (exactly 70 is healthy, exactly 40 watch).
* **Percentile scale** (the activity default): mid-rank percentile among the scored
  customers with a value, ties equal (the layering's convention).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kit.core.config import Health, Scale, Subscriptions
from kit.core.notes import Msg, Note
from kit.stages.features import months_back
from kit.stages.layering import satisfaction_scores
from kit.stages.subscriptions.common import contract_customers, has_values, in_window, note, str_index

SECTION = "02_layering"
COMPONENTS = ("activity", "usage_depth", "response_speed", "satisfaction", "complaints", "payment",
              "purchase_trend")
BANDS = ("healthy", "watch", "at_risk", "unknown")
#: Why a component is not used (``label.health_drop_reason.<key>``).
DROP_REASONS = ("zero_weight", "no_source", "no_values")


@dataclass(frozen=True)
class HealthResult:
    """``scores``: per customer of the spine (its index): ``health_score``, ``health_band``,
    ``health_coverage``, ``health_<component>`` (0-100 sub-scores) and
    ``health_<component>_value`` (raw values); ``weights``: one row per component
    (``health_component, configured_weight, effective_weight, health_available,
    health_drop_reason``); ``notes`` for the report."""

    scores: pd.DataFrame
    weights: pd.DataFrame
    notes: list[Note] = field(default_factory=list)

    @property
    def used(self) -> dict[str, float]:
        """Effective weight of each component used (summing to 1)."""
        w = self.weights[self.weights["health_available"]]
        return dict(zip(w["health_component"], w["effective_weight"].astype(float)))


def scale(values: pd.Series, rule: Scale) -> pd.Series:
    """Raw values -> 0-100 (NaN stays NaN); see :class:`kit.core.config.Scale`."""
    v = pd.to_numeric(values, errors="coerce").astype(float)
    if rule.method == "percentile":
        n = int(v.notna().sum())
        return (v.rank(method="average") - 0.5) / n * 100 if n else v
    return ((v - rule.bad) / (rule.good - rule.bad)).clip(0, 1) * 100


def health_bands(score: pd.Series, rule: Health) -> pd.Series:
    """healthy / watch / at_risk by the configured lower bounds (inclusive); NaN -> unknown."""
    s = pd.to_numeric(score, errors="coerce").astype(float)
    eps = 1e-9  # a score meant to sit on a bound must not fall below it by rounding
    band = np.select([s >= rule.bands.healthy - eps, s >= rule.bands.watch - eps, s.notna()],
                     ["healthy", "watch", "at_risk"], default="unknown")
    return pd.Series(band, index=score.index, dtype="str", name="health_band")


def _count(frame: pd.DataFrame, mask: np.ndarray, idx: pd.Index, weights: pd.Series | None = None) -> pd.Series:
    sel = frame.loc[mask]
    if weights is None:
        out = sel.groupby("customer_id").size()
    else:
        out = pd.to_numeric(weights[mask], errors="coerce").fillna(0).groupby(sel["customer_id"]).sum()
    return out.reindex(idx, fill_value=0).astype(float)


def _activity(idx: pd.Index, customers: pd.DataFrame, usage: pd.DataFrame | None,
              ix: pd.DataFrame | None, rule: Health) -> tuple[pd.Series | None, list[str]]:
    """Logins + inquiries + purchases in the window, and the sources used."""
    total, sources = pd.Series(0.0, index=idx), []
    usage_logins = has_values(usage, "logins")
    if usage_logins:
        total += _count(usage, np.ones(len(usage), bool), idx, usage["logins"])
        sources.append("usage_logins")
    if ix is not None and "type" in ix.columns:
        types = [t for t in rule.activity_interaction_types if not (usage_logins and t == "login")]
        total += _count(ix, ix["type"].isin(types).fillna(False).to_numpy(), idx)
        sources.append("interactions")
    quarters = [f"orders_q{k}" for k in range(1, rule.window_months // 3 + 1)]
    if all(c in customers.columns for c in quarters):
        total += customers[quarters].reindex(idx).astype(float).fillna(0).sum(axis=1)
        sources.append("purchases")
    return (total if sources else None), sources


def _usage_mean(usage: pd.DataFrame, column: str, idx: pd.Index) -> pd.Series:
    """Mean of ``column`` over the (window's) usage rows per customer; NaN without a row."""
    v = pd.to_numeric(usage[column], errors="coerce")
    return v.groupby(usage["customer_id"]).mean().reindex(idx).astype(float)


def _payment(customers: pd.DataFrame, idx: pd.Index, overdue_known: bool | None) -> pd.Series | None:
    if "special_flags" not in customers.columns:
        return None
    if overdue_known is None:
        codes = [n.code if isinstance(n, Note) else n.get("code") for n in customers.attrs.get("notes", [])]
        overdue_known = "layering.no_overdue_data" not in codes
    if not overdue_known:
        return None
    flags = customers["special_flags"].reindex(idx).astype("str").fillna("")
    return flags.str.split(";").map(lambda parts: "overdue_payment" in parts).astype(float)


def component_values(customers: pd.DataFrame, *, usage: pd.DataFrame | None, interactions: pd.DataFrame | None,
                     as_of: pd.Timestamp, rule: Health, overdue_known: bool | None = None,
                     ) -> tuple[dict[str, pd.Series | None], list[str]]:
    """Raw value of each component per customer of the spine (None: the data lack its
    source), and the sources of activity."""
    idx = customers.index
    start = months_back(as_of, rule.window_months)
    uw = ix = None
    if usage is not None:
        uw = usage.assign(customer_id=usage["customer_id"].astype("str"))
        uw = uw[in_window(uw["date"], start, as_of)]
    if interactions is not None:
        ix = interactions.assign(customer_id=interactions["customer_id"].astype("str"))
        ix = ix[in_window(ix["date"], start, as_of)]
    activity, sources = _activity(idx, customers, uw, ix, rule)
    has_type = ix is not None and "type" in ix.columns
    values = {
        "activity": activity,
        "usage_depth": _usage_mean(uw, "feature_coverage", idx) if has_values(usage, "feature_coverage") else None,
        "response_speed": (_usage_mean(uw, "first_response_hours", idx)
                           if has_values(usage, "first_response_hours") else None),
        "satisfaction": (satisfaction_scores(interactions, as_of, rule.window_months, index=idx)
                         if has_values(interactions, "score") else None),
        "complaints": _count(ix, ix["type"].isin(rule.complaint_types).fillna(False).to_numpy(), idx)
        if has_type else None,
        "payment": _payment(customers, idx, overdue_known),
        "purchase_trend": (customers["purchase_growth"].reindex(idx).astype(float)
                           if "purchase_growth" in customers.columns else None),
    }
    return values, sources


def _weights_table(rule: Health, values: dict[str, pd.Series | None], scope: np.ndarray) -> pd.DataFrame:
    rows = []
    for c in COMPONENTS:
        w = float(rule.weights.get(c, 0.0))
        v = values[c]
        reason = ("zero_weight" if w <= 0 else "no_source" if v is None
                  else "no_values" if not v[scope].notna().any() else None)
        rows.append((c, w, reason is None, reason))
    t = pd.DataFrame(rows, columns=["health_component", "configured_weight", "health_available", "health_drop_reason"])
    used = t["configured_weight"].where(t["health_available"], 0.0)
    t.insert(2, "effective_weight", used / used.sum() if used.sum() > 0 else 0.0)
    t["health_drop_reason"] = t["health_drop_reason"].astype("str")
    return t


def _combine(subs: dict[str, pd.Series], weights: pd.DataFrame, rule: Health,
             idx: pd.Index, scope: np.ndarray) -> pd.DataFrame:
    """Weighted mean of the sub-scores each customer has (per-customer renormalisation)."""
    used = weights[weights["health_available"]]
    num, cover = np.zeros(len(idx)), np.zeros(len(idx))
    for c, w in zip(used["health_component"], used["effective_weight"].astype(float)):
        s = subs[c].to_numpy(dtype=float)
        present = ~np.isnan(s)
        num += np.where(present, s * w, 0.0)
        cover += np.where(present, w, 0.0)
    cover = np.where(scope, cover, np.nan)
    ok = scope & (cover > 0) & (cover >= rule.min_coverage - 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(ok, num / np.where(cover > 0, cover, 1.0), np.nan)
    out = pd.DataFrame({"health_score": score, "health_coverage": cover}, index=idx)
    band = health_bands(out["health_score"], rule)
    out.insert(1, "health_band", band.where(scope, pd.NA).astype("str"))
    return out


def _notes(weights: pd.DataFrame, sources: list[str], scope_src: str, n_scope: int, n_total: int,
           n_unscored: int, rule: Health) -> list[Note]:
    if scope_src == "no_contracts":
        return [note("health_no_contracts", SECTION, "omitted", total=n_total)]
    notes = [note("health_scope_all" if scope_src == "none" else f"health_scope_{scope_src}", SECTION,
                  n=n_scope, total=n_total)]
    used = weights[weights["health_available"]]
    if used.empty:
        return notes + [note("health_omitted", SECTION, "omitted")]
    notes.append(note("health_weights", SECTION, window=rule.window_months, items=[
        Msg("subscriptions.weight_item", component=Msg(f"label.health_component.{c}"), pct=float(w) * 100)
        for c, w in zip(used["health_component"], used["effective_weight"])]))
    for c, reason in zip(weights["health_component"], weights["health_drop_reason"]):
        if reason in ("no_source", "no_values"):
            notes.append(note("health_dropped", SECTION, "omitted", component=Msg(f"label.health_component.{c}"),
                              reason=Msg(f"label.health_drop_reason.{reason}")))
    if "activity" in used["health_component"].tolist():
        notes.append(note("health_activity_sources", SECTION,
                          sources=[Msg(f"label.activity_source.{s}") for s in sources]))
    if n_unscored:
        notes.append(note("health_low_coverage", SECTION, "warning", n=n_unscored, pct=rule.min_coverage * 100))
    return notes


def health_scores(customers: pd.DataFrame, *, usage: pd.DataFrame | None = None,
                  interactions: pd.DataFrame | None = None, subscriptions: pd.DataFrame | None = None,
                  as_of: pd.Timestamp | str, rule: Subscriptions | None = None,
                  master: pd.DataFrame | None = None, overdue_known: bool | None = None) -> HealthResult:
    """Health score 0-100, band and sub-scores of the subscription customers of the spine.

    Parameters
    ----------
    customers : DataFrame
        The spine (index ``customer_id``); reads ``orders_q1..``, ``special_flags``,
        ``purchase_growth`` where present.
    usage, interactions, subscriptions, master : DataFrame, optional
        ``usage_clean``, ``interactions_clean``, ``subscriptions_clean``,
        ``customers_master_clean`` (the last two fix the scope; see the module).
    as_of : date-like
        End of the period, inclusive.
    rule : Subscriptions
        ``cfg.subscriptions`` (its ``health``); default the packaged defaults.
    overdue_known : bool, optional
        Whether ``special_flags`` knows overdue payments; default: from the spine's notes.
    """
    rule = rule or Subscriptions()
    h = rule.health
    as_of = pd.Timestamp(as_of).normalize()
    idx = str_index(customers.index)
    customers = customers.set_axis(idx)
    values, sources = component_values(customers, usage=usage, interactions=interactions, as_of=as_of, rule=h,
                                       overdue_known=overdue_known)
    members, scope_src = contract_customers(subscriptions, master, as_of)
    if members is None and h.scope == "contracts":  # no contract in the data: the section is left out
        members, scope_src = [], "no_contracts"
    scope = np.ones(len(idx), bool) if members is None else idx.isin(members)
    weights = _weights_table(h, values, scope)
    subs = {}
    for c in COMPONENTS:
        v = values[c] if values[c] is not None else pd.Series(np.nan, index=idx)
        v = v.where(scope)
        values[c] = v
        subs[c] = scale(v, getattr(h.scaling, c))
    out = _combine(subs, weights, h, idx, scope)
    for c in COMPONENTS:
        out[f"health_{c}"] = subs[c].to_numpy()
    for c in COMPONENTS:
        out[f"health_{c}_value"] = values[c].to_numpy()
    n_unscored = int((scope & out["health_score"].isna().to_numpy()).sum()) if weights["health_available"].any() else 0
    notes = _notes(weights, sources, scope_src, int(scope.sum()), len(idx), n_unscored, h)
    return HealthResult(out, weights, notes)


def health_risk(health_score: pd.Series) -> pd.Series:
    """``1 - score / 100`` in [0, 1] (NaN without a score): the health side of a priority
    score, on the scale of ``cfg.strategy.churn_scores``."""
    return (1 - pd.to_numeric(health_score, errors="coerce").astype(float) / 100).clip(0, 1).rename("health_risk")


def band_counts(scores: pd.DataFrame) -> pd.Series:
    """Customers per band (healthy, watch, at_risk, unknown; outside the scope left out)."""
    return scores["health_band"].value_counts().reindex(list(BANDS), fill_value=0).astype("int64")


__all__ = ["BANDS", "COMPONENTS", "DROP_REASONS", "HealthResult", "SECTION", "band_counts", "component_values",
           "health_bands", "health_risk", "health_scores", "scale"]
