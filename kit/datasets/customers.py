"""The customers of the truth: archetypes and behaviour, the master data, and the
master-data sheet as exported."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.datasets.common import _count, _log_uniform, _pick, _quarter_start, _to_dates
from kit.datasets.spec import (
    _BRAND_1,
    _BRAND_2,
    _CHURNER_COMPLAINER_SHARE,
    _CHURNER_LEVELS,
    _COMPANY_SUFFIX,
    _COMPLAINER_SHARE,
    _GIVEN,
    _LAPSE_MONTHS,
    _LAPSE_SHARE,
    _LATE_PAYER_SHARE,
    _PHONE_PREFIXES,
    _SURNAMES,
    ACCOUNT_MANAGERS,
    ARCHETYPES,
    CONTACT_TITLES_LARGE,
    CONTACT_TITLES_SMALL,
    EXPANSION_PLANS,
    GROWTH_STAGES,
    INDUSTRIES,
    INDUSTRY_GROWTH,
    MASTER_DEFECT_RATES,
    REGIONS,
    Archetype,
)


def _draw_customers(rng: np.random.Generator, n: int, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """One row per customer: archetype, behaviour parameters (level, orders a year, growth,
    drop-out probability after each repeat purchase, first order day) and master attributes."""
    arche = _archetypes(rng, n)
    ordering = arche != "prospect"
    spec = {k: ARCHETYPES[k] for k in ARCHETYPES}
    spec["prospect"] = ARCHETYPES["low"]
    level, freq, growth, churn_idx, sub = _behaviour(rng, arche, spec)
    first, death, dropout, lapse = _life(rng, arche, spec, freq, churn_idx[sub == 0], ordering, start, end)
    attributes = _firm_attributes(rng, arche, spec, level)

    cust = pd.DataFrame({
        "archetype": arche, "has_orders": ordering, "level": level, "freq": freq, "growth": growth,
        "first_day": first, "death_day": death, "dropout": dropout, "lapse": lapse, **attributes,
    })
    cust["churner_group"] = ""
    cust.loc[churn_idx, "churner_group"] = np.array(["high", "medium", "low"], dtype=object)[sub]
    cust["complainer"] = rng.random(n) < np.where(arche == "churner", _CHURNER_COMPLAINER_SHARE, _COMPLAINER_SHARE)
    cust["late_payer"] = rng.random(n) < _LATE_PAYER_SHARE
    # ids follow the first order (sign-up for prospects): long-standing customers have small numbers
    order_key = first + rng.random(n) * 0.5
    cust = cust.iloc[np.argsort(order_key, kind="stable")].reset_index(drop=True)
    cust.insert(0, "customer_id", [f"{i + 1:06d}" for i in range(n)])
    return cust


def _archetypes(rng: np.random.Generator, n: int) -> np.ndarray:
    """The archetype of each customer, in random order: fixed shares of the ordering
    customers ("low" takes the remainder), plus the prospects without orders."""
    n_prospects = _count(MASTER_DEFECT_RATES["master_without_orders"], n)
    n_ord = n - n_prospects
    counts = {k: int(round(a.share * n_ord)) for k, a in ARCHETYPES.items() if k != "low"}
    counts["low"] = n_ord - sum(counts.values())
    arche = np.array([k for k, c in counts.items() for _ in range(c)] + ["prospect"] * n_prospects, dtype=object)
    return arche[rng.permutation(n)]


def _behaviour(
    rng: np.random.Generator, arche: np.ndarray, spec: dict[str, Archetype]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Level (annual amount), orders a year and yearly growth per customer; churners split
    into high / medium / low value sub-groups (their indices and sub-group numbers)."""
    lo = np.array([spec[a].level[0] for a in arche])
    hi = np.array([spec[a].level[1] for a in arche])
    flo = np.array([spec[a].freq[0] for a in arche])
    fhi = np.array([spec[a].freq[1] for a in arche])
    churn_idx = np.flatnonzero(arche == "churner")
    sub = _pick(rng, [s for s, _, _ in _CHURNER_LEVELS], len(churn_idx))
    for j, (_, lv, fq) in enumerate(_CHURNER_LEVELS):
        sel = churn_idx[sub == j]
        lo[sel], hi[sel], flo[sel], fhi[sel] = lv[0], lv[1], fq[0], fq[1]
    level = _log_uniform(rng, lo, hi)
    freq = rng.uniform(flo, fhi)
    growth = rng.uniform([spec[a].growth[0] for a in arche], [spec[a].growth[1] for a in arche])
    return level, freq, growth, churn_idx, sub


def _life(
    rng: np.random.Generator, arche: np.ndarray, spec: dict[str, Archetype], freq: np.ndarray,
    high_churners: np.ndarray, ordering: np.ndarray, start: pd.Timestamp, end: pd.Timestamp,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First order day (birth), the day after the last possible order (death), the drop-out
    probability after each repeat purchase, and which high-value churners lapse."""
    n = len(arche)
    n_days = (end - start).days  # the end day's offset; orders fall on days 0..n_days
    q3 = (_quarter_start(end) - start).days
    born = rng.random(n) < np.array([spec[a].born_share for a in arche])
    first = rng.integers(0, 91, size=n).astype(float)                     # existing customers
    born_day = rng.integers(91, q3, size=n).astype(float)                 # joined inside the window
    # upgraders join at least a quarter before the three quarters that show their growth
    q_prev2 = (_quarter_start(end - pd.DateOffset(months=6)) - start).days
    born_day = np.where(arche == "upgrader", rng.integers(91, q_prev2 - 90, size=n), born_day)
    first = np.where(born, born_day, first)
    is_new = arche == "new"
    n_new = int(is_new.sum())
    n_recent = int(round(0.3 * n_new))
    new_days = np.concatenate([rng.integers(q3, n_days - 30, size=n_new - n_recent),
                               rng.integers(n_days - 29, n_days + 1, size=n_recent)]).astype(float)
    first[is_new] = new_days
    # drop-out (BG/NBD's story): after each repeat purchase the customer becomes inactive with
    # probability ``dropout``, set so that the expected active life is ``lifetime`` years
    life_lo = np.array([spec[a].lifetime[0] for a in arche])
    life_hi = np.array([spec[a].lifetime[1] for a in arche])
    finite = np.isfinite(life_lo)
    u_life = rng.random(n)
    life = np.full(n, np.inf)
    life[finite] = np.exp(np.log(life_lo[finite]) + u_life[finite] * np.log(life_hi[finite] / life_lo[finite]))
    dropout = np.where(finite, np.minimum(1.0, 1.0 / (life * freq)), 0.0)
    # lapsing high-value churners: the last order falls _LAPSE_MONTHS before the end
    death = np.full(n, float(n_days + 1))  # the day after the last possible order
    lapse = np.zeros(n, dtype=bool)
    lapse[high_churners] = True
    lapse &= rng.random(n) < _LAPSE_SHARE
    months_gone = rng.uniform(*_LAPSE_MONTHS, size=n)
    death[lapse] = np.floor(n_days - months_gone[lapse] * 30.44)
    dropout[lapse] = 0.0
    # a lapsing customer buys for at least 8 months before stopping
    first[lapse] = np.minimum(first[lapse], np.maximum(death[lapse] - 240, 0))
    # prospects: the day they signed up (they never order)
    first[~ordering] = rng.integers(180, n_days - 30, size=int((~ordering).sum()))
    return first, death, dropout, lapse


def _firm_attributes(
    rng: np.random.Generator, arche: np.ndarray, spec: dict[str, Archetype], level: np.ndarray
) -> dict[str, np.ndarray]:
    """Industry, region and city, size, growth stage, expansion plan, partner and leader flags."""
    n = len(arche)
    industries = np.array(list(INDUSTRIES), dtype=object)
    ind_w = np.array([v[0] for v in INDUSTRIES.values()])
    boost = np.isin(industries, ["新能源汽车制造", "电子制造", "医药", "互联网"])
    industry = np.empty(n, dtype=object)
    for growing in (False, True):
        sel = np.isin(arche, ["star", "potential", "upgrader"]) == growing
        w = ind_w * np.where(boost, 1.8, 1.0) if growing else ind_w
        industry[sel] = industries[rng.choice(len(industries), size=int(sel.sum()), p=w / w.sum())]
    region = _pick(rng, {k: v[0] for k, v in REGIONS.items()}, n)
    city = np.array([REGIONS[r][1][rng.integers(len(REGIONS[r][1]))] for r in region], dtype=object)

    employees = 10 ** (1.5 + 0.5 * np.log10(level / 1e4) + rng.normal(0, 0.3, n))
    employees = np.where(arche == "whale", employees * 5, employees)
    employees = np.clip(np.round(employees), 5, 50_000).astype(int)
    revenue = np.round(employees * np.exp(rng.normal(np.log(80), 0.5, n)), 1)  # 万元

    stage = np.array([GROWTH_STAGES[_pick(rng, spec[a].stages, 1)[0]] for a in arche], dtype=object)
    plan = np.array([EXPANSION_PLANS[_pick(rng, spec[a].plans, 1)[0]] for a in arche], dtype=object)
    partner = rng.random(n) < np.array([spec[a].partner for a in arche])
    leader = rng.random(n) < np.array([spec[a].leader for a in arche])
    return {
        "industry": industry, "region": region, "city": city,
        "employees": employees, "annual_revenue": revenue, "growth_stage": stage,
        "expansion_plan": plan, "strategic_partner": partner, "industry_leader": leader,
    }


def _customer_master(rng: np.random.Generator, cust: pd.DataFrame, start: pd.Timestamp,
                     end: pd.Timestamp) -> pd.DataFrame:
    """Names, contacts, dates and owners of every customer (truth, canonical names)."""
    n = len(cust)
    # company names, unique
    names = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        b1 = rng.integers(len(_BRAND_1), size=len(todo))
        b2 = rng.integers(len(_BRAND_2), size=len(todo))
        for i, x, y in zip(todo, b1, b2):
            names[i] = f"{cust.at[i, 'city']}{_BRAND_1[x]}{_BRAND_2[y]}{_COMPANY_SUFFIX[cust.at[i, 'industry']]}"
        dup = pd.Series(names).duplicated(keep="first").to_numpy()
        todo = np.flatnonzero(dup)
    large = cust["level"].to_numpy() >= 3e5
    contact = _person_names(rng, n)
    titles = np.where(large, np.array(CONTACT_TITLES_LARGE, dtype=object)[rng.integers(6, size=n)],
                      np.array(CONTACT_TITLES_SMALL, dtype=object)[rng.integers(6, size=n)])
    phones = _phones(rng, n)
    first_day = cust["first_day"].to_numpy()
    has_orders = cust["has_orders"].to_numpy()
    arche = cust["archetype"].to_numpy()
    # first cooperation: years before the window for existing customers, at signing otherwise
    existing = has_orders & (first_day < 91) & (arche != "new")
    coop_day = np.where(existing, -rng.integers(30, 8 * 365, size=n),
                        first_day - np.where(arche == "new", 0, rng.integers(0, 15, size=n)))
    coop_day = np.where(has_orders, coop_day, first_day)
    first_coop = _to_dates(start, coop_day).to_numpy().copy()
    no_coop = (~has_orders) & (rng.random(n) < 0.5)
    first_coop[no_coop] = np.datetime64("NaT")
    n_days = (end - start).days
    contract = np.where(cust["dropped"].to_numpy(), cust["death_day"].to_numpy() + rng.integers(-60, 121, size=n),
                        n_days + rng.integers(-30, 900, size=n))
    updated = (end - pd.to_timedelta(rng.integers(0, 120 * 86400, size=n), unit="s")).floor("s")
    manager = np.array(ACCOUNT_MANAGERS, dtype=object)[rng.integers(len(ACCOUNT_MANAGERS), size=n)]
    manager[rng.random(n) < 0.01] = None
    return pd.DataFrame({
        "customer_id": cust["customer_id"], "name": names, "industry": cust["industry"],
        "region": cust["region"], "employees": cust["employees"], "annual_revenue": cust["annual_revenue"],
        "contact_name": contact, "contact_title": titles, "contact_phone": phones,
        "first_cooperation_date": pd.DatetimeIndex(first_coop).as_unit("s"),
        "contract_end_date": _to_dates(start, contract).as_unit("s"),
        "growth_stage": cust["growth_stage"], "strategic_partner": cust["strategic_partner"],
        "industry_leader": cust["industry_leader"], "expansion_plan": cust["expansion_plan"],
        "industry_growth": cust["industry"].map(INDUSTRY_GROWTH).astype(float),
        "account_manager": pd.Series(manager, dtype="str"), "updated_at": updated.as_unit("s"),
    })


def _person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    sur = np.array(_SURNAMES, dtype=object)[rng.integers(len(_SURNAMES), size=n)]
    g1 = np.array(_GIVEN, dtype=object)[rng.integers(len(_GIVEN), size=n)]
    g2 = np.array(_GIVEN, dtype=object)[rng.integers(len(_GIVEN), size=n)]
    two = rng.random(n) < 0.6
    return np.where(two, sur + g1 + g2, sur + g1)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = np.array(_PHONE_PREFIXES)[rng.integers(len(_PHONE_PREFIXES), size=n)]
    numbers = prefix.astype(np.int64) * 10**8 + rng.choice(10**8, size=n, replace=False)
    return np.array([str(x) for x in numbers], dtype=object)



def _customers_export(rng: np.random.Generator, master: pd.DataFrame, cust: pd.DataFrame) -> pd.DataFrame:
    """The master-data sheet: some ordering customers missing, older duplicate rows added."""
    n = len(master)
    ordering = cust["has_orders"].to_numpy()
    arche = cust["archetype"].to_numpy()
    n_absent = _count(MASTER_DEFECT_RATES["ordering_customer_absent"], int(ordering.sum()))
    # master not yet updated for some new customers; the rest are small accounts
    new_pool = np.flatnonzero(arche == "new")
    small_pool = np.flatnonzero(np.isin(arche, ["low", "medium", "potential"]))
    n_from_new = min(len(new_pool), int(round(0.4 * n_absent)))
    absent = np.concatenate([rng.choice(new_pool, size=n_from_new, replace=False),
                             rng.choice(small_pool, size=n_absent - n_from_new, replace=False)])
    in_master = np.ones(n, dtype=bool)
    in_master[absent] = False

    rows = master[in_master].copy()
    rows["_defect"] = ""
    n_dup = _count(MASTER_DEFECT_RATES["older_duplicate"], len(rows))
    src = np.sort(rng.choice(len(rows), size=n_dup, replace=False))
    old = rows.iloc[src].copy()
    old["_defect"] = "older_duplicate"
    old["updated_at"] = (old["updated_at"] - pd.to_timedelta(rng.integers(200, 700, size=n_dup), unit="D")).dt.floor("s")
    old["contact_name"] = _person_names(rng, n_dup)
    old["contact_phone"] = _phones(rng, n_dup)
    old["employees"] = np.maximum(5, np.round(old["employees"].to_numpy() * rng.uniform(0.6, 0.95, n_dup))).astype(int)
    old["growth_stage"] = np.where(old["growth_stage"] == "成熟", "成长", "初创")
    old["account_manager"] = np.array(ACCOUNT_MANAGERS, dtype=object)[rng.integers(len(ACCOUNT_MANAGERS), size=n_dup)]
    rows = pd.concat([rows, old], ignore_index=True)
    # sorted by id; the older copy before or after the current one
    rows = rows.iloc[np.lexsort((rng.random(len(rows)), rows["customer_id"].to_numpy()))].reset_index(drop=True)

    yn = {True: "是", False: "否"}
    export = pd.DataFrame({
        "客户编号": rows["customer_id"], "客户名称": rows["name"], "所属行业": rows["industry"],
        "所在区域": rows["region"], "员工人数": rows["employees"], "年营收(万元)": rows["annual_revenue"],
        "联系人": rows["contact_name"], "联系人职位": rows["contact_title"], "联系电话": rows["contact_phone"],
        "首次合作日期": rows["first_cooperation_date"], "合同到期日": rows["contract_end_date"],
        "成长阶段": rows["growth_stage"], "战略合作伙伴": rows["strategic_partner"].map(yn),
        "行业龙头": rows["industry_leader"].map(yn), "扩张计划": rows["expansion_plan"],
        "转介绍次数": rows["referrals"], "客户经理": rows["account_manager"], "更新时间": rows["updated_at"],
    })
    export["_defect"] = rows["_defect"].to_numpy()
    return export
