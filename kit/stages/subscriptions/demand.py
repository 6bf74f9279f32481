"""The template's demand tags (需求标签): 新需求摸索型 exploring new needs, 产品优化型 product
optimisation, 续约维护型 renewal maintenance (``cfg.subscriptions.demand_tags``).

Documented choices
------------------
* **Evidence.** Interaction ``keywords`` and ``text`` of the last ``window_months`` (as_of
  included), matched against each rule's keywords (substring, any case); the **usage
  trend** = mean of the first available ``trend_metrics`` column (active users, logins,
  feature coverage) over the usage rows of the last ``trend_months`` / its mean over the
  ``trend_months`` before, minus 1 (NaN without rows in either span or a zero before);
  **days to contract end** = the soonest end after ``as_of`` of a contract not yet
  renewed (the renewal pipeline's rule, without its window cut; from the master's
  ``contract_end_date`` when there is no subscriptions table).
* **Rules.** A tag applies when any of its criteria holds: a keyword matched, the trend at
  or above ``usage_trend_min``, at or below ``usage_trend_max``, or a contract ending within
  ``contract_end_within_days`` (1 .. N days after ``as_of``). By default exploring = new-need
  words or usage up >= 20 %; optimisation = improvement / defect words or usage down >= 20 %;
  renewal maintenance = renewal words or a contract ending within 90 days.
* **One tag per customer**: the first of ``precedence`` that applies (default renewal
  maintenance, optimisation, exploring: the most time-bound first); none -> missing. Every
  tag that applies stays in ``demand_tags_matched``; the evidence of the shown tag in
  ``demand_tag_basis`` (keywords / usage_trend / contract_end) and ``demand_tag_keywords``
  (the matched words, ``;``-joined), with ``usage_trend`` and ``days_to_contract_end`` for
  every customer.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from kit.core.config import DemandRule, Subscriptions
from kit.core.notes import Msg, Note
from kit.stages.features import months_back
from kit.stages.subscriptions.common import has_values, in_window, master_frame, note, open_contracts, str_index

SECTION = "03_personas"
TAGS = ("exploring", "optimisation", "renewal_maintenance")
BASES = ("keywords", "usage_trend", "contract_end")
DEMAND_COLUMNS = ["demand_tag_template", "demand_tags_matched", "demand_tag_basis", "demand_tag_keywords",
                  "usage_trend", "days_to_contract_end"]
SEP = ";"


def _texts(interactions: pd.DataFrame | None, as_of: pd.Timestamp, months: int) -> pd.DataFrame | None:
    """``customer_id, text`` of the interactions in the window (keywords and text joined)."""
    if interactions is None:
        return None
    cols = [c for c in ("keywords", "text") if c in interactions.columns]
    if not cols:
        return None
    ix = interactions[in_window(interactions["date"], months_back(as_of, months), as_of)]
    text = ix[cols[0]].astype("str").fillna("")
    for c in cols[1:]:
        text = text + " " + ix[c].astype("str").fillna("")
    return pd.DataFrame({"customer_id": ix["customer_id"].astype("str").to_numpy(), "text": text.to_numpy()})


def keyword_matches(texts: pd.DataFrame | None, words: list[str], idx: pd.Index) -> pd.Series:
    """Per customer, the ``words`` found in his texts (``;``-joined in the rule's order; '' none)."""
    out = pd.Series("", index=idx, dtype="str")
    if texts is None or not words or texts.empty:
        return out
    lower = texts["text"].str.lower()
    any_hit = lower.str.contains("|".join(re.escape(w.lower()) for w in words), regex=True, na=False)
    sub, low = texts[any_hit.to_numpy()], lower[any_hit.to_numpy()]
    found: dict[str, list[str]] = {}
    for w in words:
        hit = low.str.contains(w.lower(), regex=False, na=False).to_numpy()
        for cid in pd.unique(sub["customer_id"].to_numpy()[hit]):
            found.setdefault(cid, []).append(w)
    matched = pd.Series({k: SEP.join(v) for k, v in found.items()}, dtype="str")
    return matched.reindex(idx).fillna("").astype("str")


def usage_trend(usage: pd.DataFrame | None, as_of: pd.Timestamp, months: int, metrics: list[str],
                idx: pd.Index) -> tuple[pd.Series, str | None]:
    """Mean of the metric over the last ``months`` / over the ``months`` before, minus 1; and
    the metric used (None when the usage table has none of ``metrics``)."""
    metric = next((m for m in metrics if has_values(usage, m)), None)
    if metric is None:
        return pd.Series(np.nan, index=idx, name="usage_trend"), None
    mid, start = months_back(as_of, months), months_back(as_of, 2 * months)
    v = pd.to_numeric(usage[metric], errors="coerce")
    ids = usage["customer_id"].astype("str")
    recent = v[in_window(usage["date"], mid, as_of)].groupby(ids).mean().reindex(idx)
    before = v[in_window(usage["date"], start, mid)].groupby(ids).mean().reindex(idx)
    trend = recent / before.where(before > 0) - 1
    return trend.astype(float).rename("usage_trend"), metric


def _applies(rule: DemandRule, kw: pd.Series, trend: pd.Series, days: pd.Series) -> pd.DataFrame:
    """Which criteria of one rule hold, per customer (a column per basis)."""
    t, d = trend.to_numpy(dtype=float), days.to_numpy(dtype=float)
    up = t >= rule.usage_trend_min - 1e-12 if rule.usage_trend_min is not None else np.zeros(len(t), bool)
    down = t <= rule.usage_trend_max + 1e-12 if rule.usage_trend_max is not None else np.zeros(len(t), bool)
    within = rule.contract_end_within_days
    soon = (d >= 1) & (d <= within) if within is not None else np.zeros(len(d), bool)
    return pd.DataFrame({"keywords": (kw != "").to_numpy(), "usage_trend": up | down, "contract_end": soon},
                        index=kw.index)


def demand_tags(customers: pd.DataFrame, *, interactions: pd.DataFrame | None = None,
                usage: pd.DataFrame | None = None, subscriptions: pd.DataFrame | None = None,
                as_of: pd.Timestamp | str, rule: Subscriptions | None = None,
                master: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[Note]]:
    """One template demand tag per customer of the spine, with its evidence.

    Returns
    -------
    (DataFrame, list of Note)
        Indexed like ``customers``: :data:`DEMAND_COLUMNS` (``demand_tag_template`` a key of
        :data:`TAGS` or missing; ``demand_tags_matched`` and ``demand_tag_basis`` keys joined
        by ``;``; ``days_to_contract_end`` Int64, missing without an open contract).
    """
    rule = rule or Subscriptions()
    d = rule.demand_tags
    as_of = pd.Timestamp(as_of).normalize()
    idx = str_index(customers.index)
    texts = _texts(interactions, as_of, d.window_months)
    trend, metric = usage_trend(usage, as_of, d.trend_months, list(d.trend_metrics), idx)
    contracts, _ = open_contracts(subscriptions, master, as_of, rule, SECTION)
    days = contracts.groupby("customer_id")["days_to_end"].min().reindex(idx).astype(float) if len(contracts) \
        else pd.Series(np.nan, index=idx)
    keywords = {t: keyword_matches(texts, list(getattr(d.rules, t).keywords), idx) for t in TAGS}
    applies = {t: _applies(getattr(d.rules, t), keywords[t], trend, days) for t in TAGS}
    tag = pd.Series(pd.NA, index=idx, dtype="str")
    for t in reversed(d.precedence):  # the first of the precedence is written last: it wins
        tag = tag.mask(applies[t].any(axis=1).to_numpy(), t)
    matched = pd.Series("", index=idx, dtype="str")
    basis = pd.Series("", index=idx, dtype="str")
    words = pd.Series("", index=idx, dtype="str")
    for t in d.precedence:
        on = applies[t].any(axis=1)
        matched = matched + np.where(on, t + SEP, "")
        mine = (tag == t).fillna(False).to_numpy()
        for b in BASES:
            basis = basis + np.where(mine & applies[t][b].to_numpy(), b + SEP, "")
        words = words.mask(mine, keywords[t])
    out = pd.DataFrame({
        "demand_tag_template": tag, "demand_tags_matched": matched.str.rstrip(SEP),
        "demand_tag_basis": basis.str.rstrip(SEP), "demand_tag_keywords": words,
        "usage_trend": trend.to_numpy(), "days_to_contract_end": days.round().astype("Int64"),
    }, index=idx)
    m = master_frame(master)
    has_contracts = subscriptions is not None or (m is not None and "contract_end_date" in m.columns)
    notes = _notes(texts is not None, metric, has_contracts, out, d.trend_months)
    return out, notes


def _notes(has_text: bool, metric: str | None, has_contracts: bool, out: pd.DataFrame, months: int) -> list[Note]:
    sources = [s for s, on in (("keywords", has_text), ("usage_trend", metric is not None),
                               ("contract_end", has_contracts)) if on]
    if not sources:
        return [note("demand_omitted", SECTION, "omitted")]
    missing = [s for s in BASES if s not in sources]
    counts = out["demand_tag_template"].value_counts()
    notes = [note("demand_counts", SECTION, exploring=int(counts.get("exploring", 0)),
                  optimisation=int(counts.get("optimisation", 0)),
                  renewal_maintenance=int(counts.get("renewal_maintenance", 0)),
                  none=int(out["demand_tag_template"].isna().sum()))]
    if metric is not None:
        notes.append(note("demand_trend_metric", SECTION, metric=Msg(f"label.usage_metric.{metric}"), months=months))
    if missing:
        notes.append(note("demand_sources_missing", SECTION, "omitted",
                          missing=[Msg(f"label.demand_basis.{s}") for s in missing]))
    return notes
