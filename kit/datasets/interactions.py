"""The true interactions (contacts, surveys, complaints, onboarding touchpoints) and the
interactions file as the CRM exports it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.datasets.common import _count, _to_dates
from kit.datasets.spec import (
    _INDUSTRY_PAINS,
    _REMARKS,
    _SCORED_SHARE,
    ARCHETYPES,
    INTERACTION_DEFECT_RATES,
    INTERACTION_TYPES,
    ONBOARDING,
    PAIN_KEYWORDS,
    SCORE_SCALE_0_10_CHANNELS,
)


def _draw_interactions(rng: np.random.Generator, cust: pd.DataFrame, categories: pd.Series,
                       start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """True interactions: a Poisson count per customer over its active life (until 45 days
    after the last order of a customer who dropped out), onboarding touchpoints of new
    customers, complaints concentrated on complainers and churners, satisfaction falling in
    the half-year before a customer drops out."""
    n_days = (end - start).days
    types = list(INTERACTION_TYPES)
    i_cust, i_day, i_type = _contacts(rng, cust, categories, types, n_days)
    i_cust, i_day, i_type, tp_key = _onboarding(rng, cust, i_cust, i_day, i_type, types, n_days)
    m = len(i_cust)
    type_name = np.array(types, dtype=object)[i_type]
    channel, score, score_raw = _channels_and_scores(rng, cust, i_cust, i_day, type_name)
    keywords, texts = _keywords_and_texts(rng, cust, i_cust, type_name)

    seconds = rng.integers(8 * 3600, 19 * 3600, size=m)
    inter = pd.DataFrame({
        "customer_id": cust["customer_id"].to_numpy()[i_cust],
        "date": (_to_dates(start, i_day) + pd.to_timedelta(seconds, unit="s")).as_unit("s"),
        "type": type_name, "type_canonical": [INTERACTION_TYPES[t][1] for t in type_name],
        "score": score, "score_raw": score_raw, "keywords": keywords, "channel": channel,
        "text": texts, "touchpoint": tp_key, "_tiebreak": rng.random(m),
    })
    return inter.sort_values(["date", "_tiebreak"], kind="stable").drop(columns="_tiebreak").reset_index(drop=True)


def _contacts(
    rng: np.random.Generator, cust: pd.DataFrame, categories: pd.Series, types: list[str], n_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer index, day and type index of the ordinary interactions (new customers: only
    pre-sales contacts before onboarding)."""
    n = len(cust)
    arche = cust["archetype"].to_numpy()
    first = cust["first_day"].to_numpy()
    death = cust["death_day"].to_numpy()
    is_new = arche == "new"
    dropped = cust["dropped"].to_numpy()
    complainer = cust["complainer"].to_numpy()

    lo = np.maximum(first - 60, 0)
    hi = np.where(dropped, np.minimum(death + 45, n_days), n_days).astype(float)
    hi = np.where(is_new, first - 1, hi)                   # only pre-sales contacts before onboarding
    rate = np.array([ARCHETYPES.get(a, ARCHETYPES["low"]).interactions_per_year for a in arche])
    k = rng.poisson(rate * np.maximum(hi - lo, 0) / 365.25)
    i_cust = np.repeat(np.arange(n), k)
    i_day = np.floor(rng.uniform(lo[i_cust], hi[i_cust] + 1)).clip(0, n_days)
    i_day = np.minimum(i_day, hi[i_cust])

    base_w = np.array([INTERACTION_TYPES[t][0] for t in types])
    has_software = categories.reindex(cust["customer_id"]).fillna("").str.contains("软件许可").to_numpy()
    w = np.tile(base_w, (n, 1))
    w[:, types.index("投诉")] *= np.where(complainer, 15.0, 1.0)
    w[:, types.index("转介绍")] *= np.where(np.isin(arche, ["star", "potential", "whale"]), 3.0, 1.0)
    w[:, types.index("登录")] *= np.where(has_software, 2.5, 0.4)
    presales = is_new[i_cust]
    ww = w[i_cust]
    ww[presales] = 0
    ww[presales, types.index("咨询")] = 1
    ww[presales, types.index("询价")] = 1
    u = rng.random(len(i_cust))[:, None] * ww.sum(1, keepdims=True)
    i_type = np.minimum((u > np.cumsum(ww, 1)).sum(1), len(types) - 1)
    return i_cust, i_day, i_type


def _onboarding(
    rng: np.random.Generator, cust: pd.DataFrame, i_cust: np.ndarray, i_day: np.ndarray,
    i_type: np.ndarray, types: list[str], n_days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The onboarding touchpoints of new customers appended; their touchpoint keys ("" for
    the other interactions)."""
    first = cust["first_day"].to_numpy()
    new_idx = np.flatnonzero(cust["archetype"].to_numpy() == "new")
    tp_key = np.full(len(i_cust), "", dtype=object)
    on_c, on_d, on_t, on_k = [], [], [], []
    for key, (offset, kinds, p) in ONBOARDING.items():
        due = first[new_idx] + offset <= n_days
        logged = new_idx[due & (rng.random(len(new_idx)) < p)]
        on_c.append(logged)
        on_d.append(first[logged] + offset - (rng.random(len(logged)) < 0.5) * (offset == 1))
        on_t.append(np.array([types.index(kinds[j]) for j in rng.integers(len(kinds), size=len(logged))], dtype=int))
        on_k.append(np.full(len(logged), key, dtype=object))
    return (np.concatenate([i_cust, *on_c]), np.concatenate([i_day, *on_d]),
            np.concatenate([i_type, *on_t]), np.concatenate([tp_key, *on_k]))


def _channels_and_scores(
    rng: np.random.Generator, cust: pd.DataFrame, i_cust: np.ndarray, i_day: np.ndarray, type_name: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Channel by type; satisfaction 0-100 (missing when not asked), and as exported: the
    短信 survey channel reports 0-10, the others 0-100."""
    n, m = len(cust), len(i_cust)
    death = cust["death_day"].to_numpy()
    dropped = cust["dropped"].to_numpy()
    complainer = cust["complainer"].to_numpy()
    channel = np.empty(m, dtype=object)
    for t in INTERACTION_TYPES:
        sel = type_name == t
        opts = np.array(INTERACTION_TYPES[t][2], dtype=object)
        channel[sel] = opts[rng.integers(len(opts), size=int(sel.sum()))]
    sat = np.where(complainer, rng.normal(55, 10, n), rng.normal(80, 7, n))
    closeness = np.clip(1 - (death[i_cust] - i_day) / 180, 0, 1) * dropped[i_cust]
    score = sat[i_cust] - 25 * closeness + rng.normal(0, 8, m) - 20 * (type_name == "投诉")
    score = np.clip(np.round(score), 0, 100)
    scored = rng.random(m) < np.array([_SCORED_SHARE.get(t, 0.0) for t in type_name])
    score = np.where(scored, score, np.nan)
    ten = np.isin(channel, SCORE_SCALE_0_10_CHANNELS)
    score_raw = np.where(ten, np.round(score / 10), score)
    return channel, score, score_raw


def _keywords_and_texts(
    rng: np.random.Generator, cust: pd.DataFrame, i_cust: np.ndarray, type_name: np.ndarray
) -> tuple[list[str], list[str]]:
    """Keywords from the customer's pain points; remarks from templates."""
    n, m = len(cust), len(i_cust)
    pains = list(PAIN_KEYWORDS)
    primary = np.array([_INDUSTRY_PAINS[ind][rng.integers(2)] for ind in cust["industry"]], dtype=object)
    second = np.array(pains, dtype=object)[rng.integers(len(pains), size=n)]
    nk = rng.integers(1, 4, size=m)
    keywords, texts = [], []
    for j in range(m):
        t = type_name[j]
        if t in ("登录", "转介绍") or (t == "满意度调查" and rng.random() < 0.5):
            kws: list[str] = []
        else:
            fams = []
            for _ in range(nk[j]):
                r = rng.random()
                fams.append(primary[i_cust[j]] if r < 0.55 else second[i_cust[j]] if r < 0.8
                            else pains[rng.integers(len(pains))])
            if t == "询价":
                fams[0] = "price"
            elif t == "投诉":
                fams[0] = ["stability", "service"][rng.integers(2)]
            kws = list(dict.fromkeys(PAIN_KEYWORDS[f][rng.integers(len(PAIN_KEYWORDS[f]))] for f in fams))
        keywords.append(("、" if rng.random() < 0.7 else ",").join(kws))
        tmpl = [x for x in _REMARKS[t] if ("{kw}" in x) == bool(kws)] or _REMARKS[t]
        texts.append(tmpl[rng.integers(len(tmpl))].format(kw=kws[0] if kws else ""))
    return keywords, texts


def _interactions_export(rng: np.random.Generator, inter: pd.DataFrame) -> pd.DataFrame:
    """Interactions as the CRM exports them, plus rows without id or with a broken date."""
    n_true = len(inter)
    cnt = {k: _count(r, n_true) for k, r in INTERACTION_DEFECT_RATES.items()}
    kinds = np.array([k for k, c in cnt.items() for _ in range(c)], dtype=object)
    extra = inter.iloc[rng.integers(n_true, size=len(kinds))].copy()
    rows = pd.concat([inter, extra], ignore_index=True)
    defect = np.concatenate([np.full(n_true, "", dtype=object), kinds])

    slash = rng.random(len(rows)) < 0.1
    dates = pd.DatetimeIndex(rows["date"])
    text_dates = np.where(slash, [f"{d.year}/{d.month}/{d.day} {d.hour:02d}:{d.minute:02d}" for d in dates],
                          dates.strftime("%Y-%m-%d %H:%M:%S").to_numpy()).astype(object)
    cid = rows["customer_id"].to_numpy().copy()
    for j in np.flatnonzero(defect == "missing_customer_id"):
        cid[j] = ""
    for j in np.flatnonzero(defect == "unparseable_date"):
        text_dates[j] = ["未知", "2025-02-30 10:00:00", "--", "2024-13-01"][rng.integers(4)]
    score = rows["score_raw"].to_numpy()
    export = pd.DataFrame({
        "客户编号": cid, "互动日期": text_dates, "互动类型": rows["type"].to_numpy(),
        "满意度": ["" if np.isnan(s) else str(int(s)) for s in score],
        "关键词": rows["keywords"].to_numpy(), "渠道": rows["channel"].to_numpy(), "备注": rows["text"].to_numpy(),
    }, dtype="str")
    export["_defect"] = defect
    # defect rows sit among the others, by their template's date
    order = np.lexsort((np.arange(len(rows)), rows["date"].to_numpy()))
    return export.iloc[order].reset_index(drop=True)
