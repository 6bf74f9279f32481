"""Display tables of the subscription sections (issue 13): health (02_layering), the template's
demand tags (03_personas), the renewal pipeline and its sheet 续约跟进表 (05_strategy).

Builders take the language-free results of :mod:`kit.stages.subscriptions` (or the spine
carrying their columns) and return frames with canonical columns
(``kit/core/columns/subscriptions.yml``), shown with ``ctx.table(...)``, which labels,
formats, escapes and masks them. Crosstabs (:func:`health_vs_churn`,
:func:`renewal_summary`) carry report-language labels as index and columns instead. Words
come from the catalogue (``kit/present/messages/subscriptions.yml``) and the config (the
renewal actions' words, ``subscriptions.renewal.actions``; the unassigned owner).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kit.present.layering import crosstab
from kit.present.messages import label, text
from kit.present.strategy import owner_text
from kit.present.table import header
from kit.stages.subscriptions import ACTION_SEP, BANDS, COMPONENTS, TAGS, HealthResult, RenewalHeadline

MISSING = "–"
CHURN_ORDER = ["high", "medium", "low"]


# --------------------------------------------------------------------------------------
# Health (02_layering)
# --------------------------------------------------------------------------------------


def health_weights_table(result: HealthResult) -> pd.DataFrame:
    """One row per component: configured and effective weight, used or why not."""
    return result.weights[["health_component", "configured_weight", "effective_weight", "health_available",
                           "health_drop_reason"]].reset_index(drop=True)


def _scored(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers in the health scope (a band, ``unknown`` included)."""
    if "health_band" not in customers.columns:
        return customers.iloc[:0]
    return customers[customers["health_band"].notna().to_numpy()]


def health_distribution(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers per health band (band order), share, mean score and trailing-year amount."""
    c = _scored(customers)
    band = c["health_band"].astype("str") if len(c) else pd.Series([], dtype="str")
    score = c["health_score"].astype(float) if len(c) else pd.Series([], dtype=float)
    amount = c["amount_12m"].astype(float) if "amount_12m" in c.columns else pd.Series(np.nan, index=c.index)
    g = pd.DataFrame({"b": band.to_numpy(), "s": score.to_numpy(), "a": amount.to_numpy()}).groupby("b")
    n = g.size().reindex(list(BANDS), fill_value=0)
    out = pd.DataFrame({
        "health_band": list(BANDS), "n_customers": n.astype("int64").to_numpy(),
        "customer_share": (n / n.sum()).to_numpy() if n.sum() else 0.0,
        "health_score_mean": g["s"].mean().reindex(list(BANDS)).to_numpy(),
        "amount_12m": g["a"].sum(min_count=1).reindex(list(BANDS)).to_numpy(),
    })
    if amount.isna().all():
        out = out.drop(columns="amount_12m")
    return out[out["n_customers"] > 0].reset_index(drop=True)


def health_vs_churn(customers: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Scored customers by health band (rows) and churn risk (columns), labelled in ``lang``;
    show with ``ctx.table(..., index=True)``."""
    c = _scored(customers)
    bands = [b for b in BANDS if b != "unknown" or (c["health_band"] == "unknown").any()]
    return crosstab(c, "health_band", "churn_risk", lang, row_order=bands, col_order=CHURN_ORDER)


def health_vs_p_alive(customers: pd.DataFrame) -> pd.DataFrame:
    """Scored customers per health band (band order): customers, mean P(alive) and mean CLV of
    the lifetime-value model, to set the health score beside the model (04_clv)."""
    c = _scored(customers)
    if not len(c) or "p_alive" not in c.columns:
        return pd.DataFrame(columns=["health_band", "n_customers", "mean_p_alive", "mean_clv"])
    clv = c["clv"].astype(float) if "clv" in c.columns else pd.Series(np.nan, index=c.index)
    g = pd.DataFrame({"b": c["health_band"].astype("str").to_numpy(), "p": c["p_alive"].astype(float).to_numpy(),
                      "v": clv.to_numpy()}).groupby("b")
    bands = [b for b in BANDS if b in g.groups]
    return pd.DataFrame({"health_band": bands, "n_customers": g.size().reindex(bands).astype("int64").to_numpy(),
                         "mean_p_alive": g["p"].mean().reindex(bands).to_numpy(),
                         "mean_clv": g["v"].mean().reindex(bands).to_numpy()})


def health_list(customers: pd.DataFrame, *, top_n: int | None = None, result: HealthResult | None = None) -> pd.DataFrame:
    """The lowest health first: score, band, the sub-scores of the components used (all
    that have a value when ``result`` is not given), churn risk, P(alive) and the owner."""
    c = customers[customers["health_score"].notna().to_numpy()] if "health_score" in customers.columns \
        else customers.iloc[:0]
    c = c.sort_values(["health_score"], kind="mergesort")
    if top_n is not None:
        c = c.head(top_n)
    used = list(result.used) if result is not None else [k for k in COMPONENTS if f"health_{k}" in c.columns
                                                             and c[f"health_{k}"].notna().any()]
    cols = ["name", "health_score", "health_band", *[f"health_{k}" for k in used], "churn_risk", "p_alive",
            "account_manager"]
    out = pd.DataFrame({"customer_id": c.index.to_numpy()})
    for col in cols:
        if col in c.columns:
            out[col] = c[col].to_numpy()
    return out


def health_cards(customers: pd.DataFrame, lang: str) -> list[dict[str, str]]:
    """Headline figures: mean health of the scored, customers at risk (of the scored)."""
    c = _scored(customers)
    score = c["health_score"].astype(float) if len(c) else pd.Series([], dtype=float)
    n_risk = int((c["health_band"] == "at_risk").sum()) if len(c) else 0
    n_scored = int(score.notna().sum())
    return [
        {"label": text("subscriptions.card.mean_health", lang),
         "value": f"{score.mean():.1f}" if n_scored else MISSING},
        {"label": text("subscriptions.card.at_risk", lang), "value": f"{n_risk:,} / {n_scored:,}"},
    ]


# --------------------------------------------------------------------------------------
# Renewal pipeline (05_strategy)
# --------------------------------------------------------------------------------------


def action_words(value: Any, cfg, lang: str) -> str:
    """A ``renewal_action`` value (keys joined by ``;``) in words from the config."""
    if not isinstance(value, str) or not value:
        return ""
    acts = cfg.subscriptions.renewal.actions
    sep = "；" if lang == "zh" else "; "
    return sep.join(acts[k](lang) if k in acts else k for k in value.split(ACTION_SEP))


def renewal_table(pipeline: pd.DataFrame, cfg, lang: str, *, top_n: int | None = None,
                  drop_empty: bool = True) -> pd.DataFrame:
    """The pipeline for a page or the 续约跟进表 sheet: actions in words, missing owners as
    the unassigned owner; ``drop_empty`` leaves out columns nobody has a value in (the
    contract id and plan, values, CLV without the data)."""
    p = pipeline if top_n is None else pipeline.head(top_n)
    out = p.drop(columns=["renewal_source"]) if p["renewal_source"].nunique() <= 1 else p.copy()
    out["owner"] = owner_text(out["owner"], cfg, lang).to_numpy()
    out["renewal_action"] = out["renewal_action"].map(lambda v: action_words(v, cfg, lang)).astype("object")
    if drop_empty and len(out):
        out = out[[c for c in out.columns if c == "customer_id" or out[c].notna().any()]]
    return out.reset_index(drop=True)


def renewal_sheet(pipeline: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    """Every contract of the pipeline for the deliverables' fourth sheet (its name:
    ``text("subscriptions.sheet_name", lang)``); the same columns whatever the data."""
    return renewal_table(pipeline, cfg, lang, drop_empty=False)


def renewal_sheets(pipeline: pd.DataFrame, cfg, lang: str) -> dict[str, pd.DataFrame]:
    """The fourth deliverable sheet by its name (续约跟进表 / Renewal follow-up), for
    ``write_deliverables(..., extra=...)``; none when no contract is up for renewal."""
    return {text("subscriptions.sheet_name", lang): renewal_sheet(pipeline, cfg, lang)} if len(pipeline) else {}


def window_text(days: int, lang: str) -> str:
    return text("subscriptions.window_label", lang, days=int(days))


def renewal_summary(headline: RenewalHeadline, lang: str, *, value: bool = False) -> pd.DataFrame:
    """Contracts (or, ``value=True``, annual recurring value) per window (rows) and health
    band (columns) with totals, labelled in ``lang``; show with ``ctx.table(..., index=True)``."""
    m = (headline.values if value else headline.counts).copy()
    m = m.loc[:, [b for b in m.columns if b != "unknown" or m[b].fillna(0).any()]]
    total = text("subscriptions.total", lang)
    m[total] = m.sum(axis=1, min_count=1)
    m.loc[total] = m.sum(axis=0, min_count=1)
    m.index = pd.Index([window_text(w, lang) if w != total else w for w in m.index],
                       name=header("renewal_window", lang))
    m.columns = pd.Index([label("health_band", b, lang) if b != total else b for b in m.columns],
                         name=header("health_band", lang))
    return m if value else m.astype("int64")


def _money(x: float, currency: str) -> str:
    return MISSING if x is None or not np.isfinite(x) else f"{currency}{x:,.0f}"


def renewal_headline_text(headline: RenewalHeadline | Mapping[str, Any], lang: str, currency: str = "") -> str:
    """One sentence for the page and the index: value up for renewal and its share at risk
    (by count when no contract has a value); the 'none' note when the pipeline is empty.
    ``headline`` may be :meth:`RenewalHeadline.as_dict` (as saved for the index page)."""
    h = headline.as_dict() if isinstance(headline, RenewalHeadline) else headline
    if h["n_contracts"] == 0:
        return text("subscriptions.renewal_none", lang, days=h["horizon_days"])
    if h["value_known"]:
        return text("subscriptions.renewal_headline", lang, n=h["n_contracts"], days=h["horizon_days"],
                    value=_money(h["annual_value"], currency), share=_share(h["share_at_risk"]))
    return text("subscriptions.renewal_headline_count", lang, n=h["n_contracts"], days=h["horizon_days"],
                share=_share(h["share_at_risk_contracts"]))


def _share(x: float) -> float:
    return 0.0 if x is None or not np.isfinite(x) else float(x)


def renewal_cards(headline: RenewalHeadline, lang: str, currency: str = "") -> list[dict[str, str]]:
    """Headline figures: contracts up for renewal, their annual value and the share at risk."""
    share = headline.share_at_risk if headline.value_known else headline.share_at_risk_contracts
    return [
        {"label": text("subscriptions.card.renewal_contracts", lang), "value": f"{headline.n_contracts:,}"},
        {"label": text("subscriptions.card.renewal_value", lang),
         "value": _money(headline.annual_value, currency) if headline.value_known else MISSING},
        {"label": text("subscriptions.card.renewal_at_risk", lang),
         "value": f"{share:.0%}" if np.isfinite(share) else MISSING},
    ]


# --------------------------------------------------------------------------------------
# Demand tags (03_personas)
# --------------------------------------------------------------------------------------


def demand_counts(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers per template demand tag (``none``: no tag applies), with shares."""
    tag = customers["demand_tag_template"].astype("object").where(customers["demand_tag_template"].notna(), "none")
    n = tag.value_counts().reindex([*TAGS, "none"], fill_value=0).astype("int64")
    return pd.DataFrame({"demand_tag_template": n.index.to_numpy(), "n_customers": n.to_numpy(),
                         "customer_share": (n / n.sum()).to_numpy() if n.sum() else 0.0})


def demand_list(customers: pd.DataFrame, *, top_n: int | None = None) -> pd.DataFrame:
    """Customers with a demand tag and its evidence, in tag order (then the soonest contract
    end, the steepest usage change)."""
    c = customers[customers["demand_tag_template"].notna().to_numpy()]
    order = {t: i for i, t in enumerate(TAGS)}
    key = pd.DataFrame({"t": c["demand_tag_template"].map(order).to_numpy(),
                        "d": c["days_to_contract_end"].astype("Float64").to_numpy(dtype=float, na_value=np.inf),
                        "u": -c["usage_trend"].abs().fillna(0).to_numpy()}, index=c.index)
    c = c.loc[key.sort_values(["t", "d", "u"], kind="mergesort").index]
    if top_n is not None:
        c = c.head(top_n)
    out = pd.DataFrame({"customer_id": c.index.to_numpy()})
    for col in ("name", "demand_tag_template", "demand_tag_basis", "demand_tag_keywords", "usage_trend",
                "days_to_contract_end", "demand_tags_matched"):
        if col in c.columns:
            out[col] = c[col].to_numpy()
    return out
