"""The true orders: when each customer buys, what, for how much, and the order ids."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from kit.datasets.common import _count, _log_uniform, _pick, _quarter_start, _to_dates
from kit.datasets.spec import (
    _FREQ_GROWTH_SHARE,
    _NEW_CATEGORY_SHARE,
    _SEASON,
    _SEASON_COUNT_POWER,
    _UPGRADE_GROWTH,
    _ORDER_NOISE_SIGMA,
    ARCHETYPES,
    CATEGORIES,
    ORDER_CHANNELS,
)


class _Calendar(NamedTuple):
    """Day offsets (from ``start``) of the window's end, its last three quarters and its months."""

    n_days: int
    q_last: int  # this quarter
    q_prev: int
    q_prev2: int
    m0: np.ndarray  # first day of each month
    m1: np.ndarray  # first day of the next month
    season: np.ndarray  # the month's seasonal factor


def _calendar(start: pd.Timestamp, end: pd.Timestamp) -> _Calendar:
    n_days = (end - start).days
    month_start = pd.date_range(start, end, freq="MS")
    m0 = np.asarray((month_start - start).days, dtype=float)
    return _Calendar(
        n_days=n_days,
        q_last=(_quarter_start(end) - start).days,
        q_prev=(_quarter_start(end - pd.DateOffset(months=3)) - start).days,
        q_prev2=(_quarter_start(end - pd.DateOffset(months=6)) - start).days,
        m0=m0,
        m1=np.append(m0[1:], n_days + 1.0),
        season=_SEASON[month_start.month - 1],
    )


def _draw_orders(rng: np.random.Generator, cust: pd.DataFrame, start: pd.Timestamp,
                 end: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
    """True orders: a monthly Poisson process per customer, growth split between order
    count and order size, drop-out after each repeat purchase with the customer's
    probability, plus the forced orders that pin the archetypes.

    Returns the orders and, per customer, the day of the last order of a customer who has
    dropped out (lapsing churners included), NaN for a customer still active at the end.
    """
    cal = _calendar(start, end)
    o_cust, o_day, dropped, dropout_day = _order_days(rng, cust, cal)
    o_cust, o_day, o_cat, is_newcat, expected_factor = _order_categories(rng, cust, o_cust, o_day, dropped, cal)
    amount = _order_amounts(rng, cust, o_cust, o_day, o_cat, expected_factor, cal)
    details = _order_details(rng, cust, o_cust, o_day, o_cat, cal)
    m = len(o_cust)
    orders = pd.DataFrame({
        "customer_id": cust["customer_id"].to_numpy()[o_cust],
        "order_date": _to_dates(start, o_day).as_unit("s"),
        "amount": amount, "margin": details["margin"], "category": np.array(list(CATEGORIES), dtype=object)[o_cat],
        "channel": details["channel"], "quantity": details["quantity"], "status": details["status"],
        "days_overdue": details["days_overdue"],
        "new_category": is_newcat, "_day": o_day.astype(int),
        "_tiebreak": rng.random(m),
    })
    return orders.sort_values(["_day", "_tiebreak"], kind="stable").reset_index(drop=True), dropout_day


def _order_days(
    rng: np.random.Generator, cust: pd.DataFrame, cal: _Calendar
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Customer index and day of every order; who dropped out and the day of their last order."""
    n = len(cust)
    n_days, m0, m1, season = cal.n_days, cal.m0, cal.m1, cal.season
    first = cust["first_day"].to_numpy()
    death = cust["death_day"].to_numpy()
    freq = cust["freq"].to_numpy()
    growth = cust["growth"].to_numpy()
    arche = cust["archetype"].to_numpy()
    ordering = cust["has_orders"].to_numpy()

    lo = np.maximum(first[:, None] + 1, m0[None, :])
    hi = np.minimum(death[:, None], m1[None, :])
    exposure = np.clip(hi - lo, 0, None) * ordering[:, None]
    years_to_end = ((m0 + m1) / 2 - n_days)[None, :] / 365.25
    lam = (freq[:, None] / 365.25 * exposure * season[None, :] ** _SEASON_COUNT_POWER
           * np.exp(growth[:, None] * _FREQ_GROWTH_SHARE * years_to_end))
    k = rng.poisson(lam)
    ci, mi = np.nonzero(k)
    reps = k[ci, mi]
    o_cust = np.repeat(ci, reps)
    o_day = np.floor(rng.uniform(np.repeat(lo[ci, mi], reps), np.repeat(hi[ci, mi], reps)))

    lapse = np.flatnonzero(cust["lapse"].to_numpy())                  # the last order of a lapse
    o_cust = np.concatenate([o_cust, np.flatnonzero(ordering), lapse])  # the first order
    o_day = np.minimum(np.concatenate([o_day, first[ordering], death[lapse]]), n_days)

    # drop-out: the customer becomes inactive after its J-th repeat purchase, J ~ Geometric(p)
    p = cust["dropout"].to_numpy()
    j_max = np.where(p > 0, rng.geometric(np.where(p > 0, p, 1.0)), np.iinfo(np.int64).max)
    srt = np.lexsort((o_day, o_cust))
    o_cust, o_day = o_cust[srt], o_day[srt]
    starts = np.r_[0, np.flatnonzero(np.diff(o_cust)) + 1]
    rank = np.arange(len(o_cust)) - np.repeat(starts, np.diff(np.r_[starts, len(o_cust)]))
    keep = rank <= j_max[o_cust]
    dropped = np.zeros(n, dtype=bool)
    dropped[o_cust[~keep]] = True
    o_cust, o_day = o_cust[keep], o_day[keep]
    dropped[lapse] = True
    last_day = np.full(n, -1.0)
    np.maximum.at(last_day, o_cust, o_day)
    dropout_day = np.where(dropped, last_day, np.nan)

    upg = np.flatnonzero(arche == "upgrader")                          # an order in each of the last 3 quarters
    forced_c, forced_d = [], []
    for q0, q1 in ((cal.q_prev2, cal.q_prev), (cal.q_prev, cal.q_last), (cal.q_last, n_days + 1)):
        forced_c.append(upg)
        forced_d.append(rng.integers(q0, q1, size=len(upg)).astype(float))
    o_cust = np.concatenate([o_cust, *forced_c])
    o_day = np.minimum(np.concatenate([o_day, *forced_d]), n_days)
    return o_cust, o_day, dropped, dropout_day


def _order_categories(
    rng: np.random.Generator, cust: pd.DataFrame, o_cust: np.ndarray, o_day: np.ndarray,
    dropped: np.ndarray, cal: _Calendar,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The category of each order (each customer has an ordered set; potential accounts widen
    it over time), plus the new-category orders of the last quarter. Returns the orders
    (customer, day, category, new-category flag) and each customer's expected size factor."""
    n = len(cust)
    n_days, q_last = cal.n_days, cal.q_last
    first = cust["first_day"].to_numpy()
    arche = cust["archetype"].to_numpy()
    ordering = cust["has_orders"].to_numpy()
    cats = list(CATEGORIES)
    pop = np.array([CATEGORIES[c][0] for c in cats])
    factor = np.array([CATEGORIES[c][1] for c in cats])
    cat_order = np.argsort(-(np.log(pop)[None, :] + rng.gumbel(size=(n, len(cats)))), axis=1)
    kmin = np.array([ARCHETYPES.get(a, ARCHETYPES["low"]).n_categories[0] for a in arche])
    kmax = np.array([ARCHETYPES.get(a, ARCHETYPES["low"]).n_categories[1] for a in arche])
    breadth = rng.integers(kmin, kmax + 1)
    rank_w = 0.55 ** np.arange(len(cats))
    cust_w = rank_w[None, :] * (np.arange(len(cats))[None, :] < breadth[:, None])
    cust_w /= cust_w.sum(1, keepdims=True)
    expected_factor = (cust_w * factor[cat_order]).sum(1)

    allowed = breadth[o_cust].astype(float)
    pot = arche[o_cust] == "potential"
    cut = cal.q_prev2 - 30.0
    frac = np.clip((o_day - first[o_cust]) / np.maximum(cut - first[o_cust], 1.0), 0, 1)
    allowed[pot] = np.clip(1 + np.floor(breadth[o_cust][pot] * frac[pot]), 1, breadth[o_cust][pot])
    w = rank_w[None, :] * (np.arange(len(cats))[None, :] < allowed[:, None])
    u = rng.random(len(o_cust))[:, None] * w.sum(1, keepdims=True)
    rank = np.minimum((u > np.cumsum(w, 1)).sum(1), len(cats) - 1)
    o_cat = cat_order[o_cust, rank]

    # no category may first appear in the last quarter, except for the chosen customers below
    before = o_day < q_last
    key = o_cust * len(cats) + o_cat
    seen = np.zeros(n * len(cats), dtype=int)
    np.add.at(seen, key[before], 1)
    seen = seen.reshape(n, len(cats))
    fix = (~before) & (seen[o_cust, o_cat] == 0) & (seen.sum(1)[o_cust] > 0)
    o_cat[fix] = seen.argmax(1)[o_cust[fix]]
    eligible = np.flatnonzero(np.isin(arche, ["whale", "star", "cash_cow", "medium", "potential", "low"])
                              & (seen.sum(1) > 0) & (seen.min(1) == 0) & ~dropped)
    n_newcat = min(len(eligible), _count(_NEW_CATEGORY_SHARE, int(ordering.sum())))
    newcat = np.sort(rng.choice(eligible, size=n_newcat, replace=False))
    unseen = seen[newcat] == 0
    pick_rank = np.argmax(unseen[np.arange(n_newcat)[:, None], cat_order[newcat]], axis=1)
    new_cat = cat_order[newcat, pick_rank]
    o_cust = np.concatenate([o_cust, newcat])
    o_day = np.concatenate([o_day, rng.integers(q_last, n_days + 1, size=n_newcat).astype(float)])
    o_cat = np.concatenate([o_cat, new_cat])
    is_newcat = np.concatenate([np.zeros(len(o_cat) - n_newcat, bool), np.ones(n_newcat, bool)])
    return o_cust, o_day, o_cat, is_newcat, expected_factor


def _order_amounts(
    rng: np.random.Generator, cust: pd.DataFrame, o_cust: np.ndarray, o_day: np.ndarray,
    o_cat: np.ndarray, expected_factor: np.ndarray, cal: _Calendar,
) -> np.ndarray:
    """Amounts: level / frequency, grown to the order's date, category size, log-normal
    noise; upgraders' last three quarters rescaled to grow quarter on quarter."""
    n = len(cust)
    n_days, q_last, q_prev, q_prev2 = cal.n_days, cal.q_last, cal.q_prev, cal.q_prev2
    level = cust["level"].to_numpy()
    freq = cust["freq"].to_numpy()
    growth = cust["growth"].to_numpy()
    arche = cust["archetype"].to_numpy()
    factor = np.array([CATEGORIES[c][1] for c in CATEGORIES])
    years = (o_day - n_days) / 365.25
    noise = rng.lognormal(-_ORDER_NOISE_SIGMA**2 / 2, _ORDER_NOISE_SIGMA, len(o_cust))
    month = np.searchsorted(cal.m0, o_day, side="right") - 1
    amount = (level[o_cust] / freq[o_cust] * np.exp(growth[o_cust] * (1 - _FREQ_GROWTH_SHARE) * years)
              * cal.season[month] ** (1 - _SEASON_COUNT_POWER) * factor[o_cat] / expected_factor[o_cust] * noise)
    amount = np.maximum(amount, 200.0)

    # upgraders: the last 3 quarters rescaled to level / 4, then x g1, then x g1 * g2, so they
    # grow >= 20 % (here 30-80 %) quarter on quarter in each of the last 2 quarters
    is_upg = arche[o_cust] == "upgrader"
    qidx = np.select([o_day >= q_last, o_day >= q_prev, o_day >= q_prev2], [2, 1, 0], -1)
    qsum = np.zeros((n, 3))
    sel = is_upg & (qidx >= 0)
    np.add.at(qsum, (o_cust[sel], qidx[sel]), amount[sel])
    g1 = rng.uniform(*_UPGRADE_GROWTH, size=n)
    g2 = rng.uniform(*_UPGRADE_GROWTH, size=n)
    target = level[:, None] / 4 * np.stack([np.ones(n), g1, g1 * g2], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = target / qsum
    amount[sel] *= scale[o_cust[sel], qidx[sel]]
    return np.round(amount, 2)


def _order_details(
    rng: np.random.Generator, cust: pd.DataFrame, o_cust: np.ndarray, o_day: np.ndarray,
    o_cat: np.ndarray, cal: _Calendar,
) -> dict[str, np.ndarray]:
    """Margin, quantity, channel, days overdue and status of each order."""
    n, m = len(cust), len(o_cust)
    n_days = cal.n_days
    cats = list(CATEGORIES)
    level = cust["level"].to_numpy()
    margin_mu = np.array([CATEGORIES[c][2] for c in cats])[o_cat]
    cust_shift = rng.normal(0, 0.03, n) - 0.03 * (level >= 1e6)
    margin = np.round(np.clip(margin_mu + cust_shift[o_cust] + rng.normal(0, 0.04, m), 0.10, 0.50), 3)
    qlo = np.array([CATEGORIES[c][3][0] for c in cats])[o_cat]
    qhi = np.array([CATEGORIES[c][3][1] for c in cats])[o_cat]
    quantity = np.round(_log_uniform(rng, qlo, qhi + 1) - 0.5).astype(int).clip(qlo, qhi)

    ch_labels = np.array(list(ORDER_CHANNELS), dtype=object)
    preferred = _pick(rng, list(ORDER_CHANNELS.values()), n)
    other = _pick(rng, list(ORDER_CHANNELS.values()), m)
    channel = ch_labels[np.where(rng.random(m) < 0.75, preferred[o_cust], other)]

    late = cust["late_payer"].to_numpy()[o_cust]
    overdue_p = np.where(late, 0.35, 0.055)
    days = np.where(late, rng.gamma(1.5, 25, m), rng.gamma(1.2, 10, m)) + 1
    room = np.clip(n_days - o_day - 30, 0, None)  # 30-day payment terms
    days_overdue = np.where(rng.random(m) < overdue_p, np.minimum(np.floor(days), room), 0).astype(int)
    status = np.where((o_day > n_days - 15) & (rng.random(m) < 0.5), "已发货", "已完成")
    return {"margin": margin, "quantity": quantity, "channel": channel, "days_overdue": days_overdue,
            "status": status}


def _assign_order_ids(days: np.ndarray, origin: pd.Timestamp, rng: np.random.Generator) -> np.ndarray:
    """Order ids ``SO`` + yyyymmdd + a 4-digit sequence within the day."""
    ord_ = np.lexsort((rng.random(len(days)), days))
    seq = np.empty(len(days), dtype=int)
    sorted_days = days[ord_]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_days)) + 1]
    run = np.arange(len(days)) - np.repeat(starts, np.diff(np.r_[starts, len(days)]))
    seq[ord_] = run + 1
    stamps = _to_dates(origin, days).strftime("%Y%m%d")
    return np.array([f"SO{s}{q:04d}" for s, q in zip(stamps, seq)], dtype=object)
