"""Display tables of notebook 05 (maintenance strategy), from the stage's language-free
results (:mod:`kit.stages.strategy`).

Tables come back with canonical column names; :func:`kit.present.table.table` (``ctx.table``)
labels, formats, masks and escapes them. Crosstabs (:func:`workload_table`,
:func:`activation_summary`) carry report-language labels as index and columns. Words
come from the catalogue (``kit/present/messages/strategy.yml``) and from the config
(the playbook's goals, actions and resources; the touchpoints' labels; the unassigned
owner).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kit.core.checks import validate_cols
from kit.present.messages import label, text
from kit.present.table import header, map_distinct
from kit.stages.strategy import (
    PLAY_ACTION,
    STATUSES,
    WORKLOAD_OVERDUE,
    WORKLOAD_TOTAL,
    action_keys,
    activation_counts,
)

MISSING = "–"
#: The spine's columns 05_strategy's page shows from the spine (the follow-up list, the open
#: touchpoints, the playbook's counts): the stage's own columns and these.
SPINE_SHOWN = ("name", "quadrant", "churn_risk", "first_purchase")


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


def unassigned(cfg, lang: str) -> str:
    """The owner shown for a customer without an account manager."""
    return cfg.strategy.unassigned_owner(lang)


def owner_text(owner: pd.Series, cfg, lang: str) -> pd.Series:
    """Owners with the missing ones shown as ``strategy.unassigned_owner``."""
    return owner.astype("object").where(owner.notna(), unassigned(cfg, lang))


def action_text(key: str, cfg, lang: str) -> str:
    """One action key in words: ``play.<quadrant>.<n>`` from the playbook, the situational
    ones from the catalogue (``label.strategy_action.*``)."""
    parts = key.split(".")
    if parts[0] == PLAY_ACTION and len(parts) == 3:
        play = cfg.strategy.playbook.get(parts[1])
        n = int(parts[2]) if parts[2].isdigit() else 0
        if play is not None and 1 <= n <= len(play.actions):
            return play.actions[n - 1](lang)
    return label("strategy_action", key, lang)


def actions_text(value: Any, cfg, lang: str, max_actions: int | None = None) -> str:
    """An ``actions_now`` value (keys) as ``; ``-joined text ('' when none)."""
    keys = action_keys(value)[:max_actions]
    return "; ".join(action_text(k, cfg, lang) for k in keys)


def actions_series(actions: pd.Series, cfg, lang: str) -> pd.Series:
    """``actions_now`` keys -> text, once per distinct value."""
    return map_distinct(actions, lambda v: actions_text(v, cfg, lang))


def touchpoint_label(key: object, cfg, lang: str) -> str:
    """The configured label of an activation touchpoint key."""
    for t in cfg.strategy.touchpoints:
        if t.key == key:
            return t.label(lang)
    return str(key)


def strategy_label(key: object, cfg, lang: str) -> str:
    """``明星客户：深化战略合作，提升LTV`` / ``Star: deepen the strategic partnership ...``."""
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return MISSING
    play = cfg.strategy.playbook.get(str(key))
    name = label("quadrant", key, lang)
    if play is None:
        return name
    return text("strategy.strategy_label", lang, name=name, goal=play.goal(lang))


def follow_up_plan_text(customers: pd.DataFrame, lang: str) -> pd.Series:
    """``每30天跟进一次，下次 2024-04-09`` (``（已逾期）`` when overdue); missing without a
    cadence or a date."""
    idx = customers.index
    cadence = customers["cadence_days"] if "cadence_days" in customers else pd.Series(pd.NA, index=idx)
    nxt = (pd.to_datetime(customers["next_follow_up"]) if "next_follow_up" in customers
           else pd.Series(pd.NaT, index=idx))
    overdue = (customers["follow_up_overdue"].astype("boolean").fillna(False)
               if "follow_up_overdue" in customers else pd.Series(False, index=idx))
    ok = cadence.notna() & nxt.notna()
    # one message per distinct (cadence, date, overdue): a million customers share a few hundred
    keys = pd.DataFrame({"c": cadence.astype("Int64"), "d": nxt.dt.strftime("%Y-%m-%d"),
                         "o": overdue.astype(bool)}, index=idx)[ok.to_numpy()]

    def one(c: int, d: str, o: bool) -> str:
        s = text("strategy.follow_up_plan_text", lang, cadence=c, date=d)
        return text("strategy.follow_up_plan_overdue", lang, text=s) if o else s

    distinct = keys.drop_duplicates()
    words = np.array([one(int(c), d, bool(o)) for c, d, o in distinct.itertuples(index=False)] + [None],
                     dtype=object)
    at = pd.MultiIndex.from_frame(distinct).get_indexer(pd.MultiIndex.from_frame(keys))  # row -> its words
    out = pd.Series(None, index=idx, dtype="object")
    out[ok.to_numpy()] = words[at]
    return out


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def playbook_table(cfg, lang: str, customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The playbook (DOMAIN.md section 5) as configured, one row per quadrant.

    With ``customers`` (spine with ``strategy`` or ``quadrant``), adds the number of
    customers on each play and its yearly cost (customers x cost per customer).
    """
    counts = None
    if customers is not None:
        key = customers["strategy"] if "strategy" in customers.columns else customers["quadrant"]
        counts = key.value_counts()
    rows = []
    for k, p in cfg.strategy.playbook.items():
        row = {
            "quadrant": k,
            "goal": p.goal(lang),
            "actions": "; ".join(f"{i}. {a(lang)}" for i, a in enumerate(p.actions, 1)),
            "resources": p.resources(lang),
            "cadence_days": p.cadence_days,
            "response_hours": p.response_hours,
            "yearly_cost": p.yearly_cost,
        }
        if counts is not None:
            n = int(counts.get(k, 0))
            row["n_customers"] = n
            row["yearly_cost_total"] = n * p.yearly_cost
        rows.append(row)
    out = pd.DataFrame(rows)
    out["response_hours"] = out["response_hours"].astype("Int64")
    return out


FOLLOW_UP_COLUMNS = ["priority", "customer_id", "name", "quadrant", "churn_risk", "owner", "last_contact",
                     "next_follow_up", "follow_up_overdue", "actions_now"]


def follow_up_list(customers: pd.DataFrame, cfg, lang: str, n: int | None = None) -> pd.DataFrame:
    """The team's follow-up list: overdue first (by priority), then by date and priority.

    Canonical columns (:data:`FOLLOW_UP_COLUMNS` that exist); owners and actions in words.
    ``n``: the first ``n`` customers of the list only (every customer is on it, so the list
    is as long as ``customers``): the order is found on the three sort columns, and only
    those rows are copied and put in words.
    """
    validate_cols(customers, ["priority", "next_follow_up", "follow_up_overdue"], "customers")
    keys = pd.DataFrame({"priority": customers["priority"].to_numpy(),
                         "next_follow_up": customers["next_follow_up"].to_numpy()})
    late = customers["follow_up_overdue"].astype(bool).to_numpy()
    order = np.concatenate([
        keys[late].sort_values("priority", kind="mergesort").index.to_numpy(),
        keys[~late].sort_values(["next_follow_up", "priority"], kind="mergesort", na_position="last").index.to_numpy(),
    ])
    src = customers.iloc[order if n is None else order[:n]]
    src = src.reset_index() if src.index.name == "customer_id" else src
    df = src[[c for c in FOLLOW_UP_COLUMNS if c in src.columns]].reset_index(drop=True)
    if "owner" in df.columns:
        df["owner"] = owner_text(df["owner"], cfg, lang)
    if "actions_now" in df.columns:
        df["actions_now"] = actions_series(df["actions_now"], cfg, lang)
    return df


ACTIVATION_COLUMNS = ["customer_id", "name", "owner", "first_purchase", "touchpoint", "due_date", "done_date",
                      "status"]


def activation_table(schedule: pd.DataFrame, cfg, lang: str,
                     customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The activation schedule for people: overdue first, then upcoming, then done.

    Canonical columns (:data:`ACTIVATION_COLUMNS`); ``touchpoint`` in words, ``status``
    a key (labelled by the table function).
    """
    df = schedule.copy()
    if customers is not None and "name" in customers.columns:
        df["name"] = df["customer_id"].map(customers["name"])
    order = {s: i for i, s in enumerate(("overdue", "upcoming", "done"))}
    df = df.assign(_o=df["status"].map(order)).sort_values(["_o", "due_date", "customer_id"], kind="mergesort")
    df["touchpoint"] = df["touchpoint"].map(lambda k: touchpoint_label(k, cfg, lang))
    if "owner" in df.columns:
        df["owner"] = owner_text(df["owner"], cfg, lang)
    return df[[c for c in ACTIVATION_COLUMNS if c in df.columns]].reset_index(drop=True)


def activation_summary(schedule: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    """Touchpoints (rows, in day order) x status (columns): counts, labelled."""
    table = activation_counts(schedule, cfg).copy()
    table.index = [touchpoint_label(k, cfg, lang) for k in table.index]
    table.index.name = header("touchpoint", lang)
    table.columns = [label("touchpoint_status", s, lang) for s in STATUSES]
    return table


def workload_table(counts: pd.DataFrame, cfg, lang: str) -> pd.DataFrame:
    """The stage's :func:`~kit.stages.strategy.workload` with labels and a total row.

    Index: owner (most work first; the unassigned as ``strategy.unassigned_owner``), then
    the total row; columns: ``YYYY-MM`` months, the total and, of it, the overdue ones.
    """
    total = text("strategy.workload_total", lang)
    table = counts.copy()
    table.index = owner_text(pd.Series(table.index, dtype="object"), cfg, lang).to_numpy()
    table = table.rename(columns={WORKLOAD_TOTAL: total, WORKLOAD_OVERDUE: text("strategy.workload_overdue", lang)})
    table.loc[total] = table.sum(axis=0)
    table = table.astype("int64")
    table.index.name = header("owner", lang)
    table.columns.name = None
    return table
