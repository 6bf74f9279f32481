"""Per customer: the play, owner, follow-up date, priority and the actions that apply now.

See :mod:`kit.stages.strategy` for the rules. Everything here is language-free: the
owner of a customer without an account manager is missing (the report shows the
configured ``strategy.unassigned_owner``), and ``actions_now`` holds action keys
(:func:`action_keys`), put in words by :mod:`kit.present.strategy`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from kit.core.checks import validate_cols as _validate_cols
from kit.core.config import Strategy as _StrategyDefaults
from kit.stages.subscriptions.health import health_risk

#: Interaction types that count as a contact by the account team (``login`` does not).
CONTACT_TYPES: tuple[str, ...] = tuple(_StrategyDefaults().contact_types)

#: Churn risk -> urgency score of the priority formula.
CHURN_SCORES: dict[str, float] = dict(_StrategyDefaults().churn_scores)

#: Spine columns :func:`assign` returns (docs/ARCHITECTURE.md, 05_strategy).
ASSIGN_COLUMNS = [
    "strategy", "owner", "cadence_days", "last_contact", "next_follow_up",
    "follow_up_overdue", "priority", "actions_now",
]

#: Order of the situational actions in ``actions_now`` (before the playbook's actions).
SITUATIONAL_ACTIONS = ("overdue_follow_up", "retention", "churn_high", "risk_customer",
                       "upgrade_review", "activation")

#: Separator of the keys in ``actions_now``.
ACTION_SEP = ";"
#: Prefix of a playbook action key: ``play.<quadrant>.<n>`` (n from 1).
PLAY_ACTION = "play"

_ONE_DAY = pd.Timedelta(days=1)


# --------------------------------------------------------------------------------------
# Input checks and small helpers
# --------------------------------------------------------------------------------------


def _date_col(df: pd.DataFrame, col: str) -> pd.Series:
    """``df[col]`` as normalised datetimes (NaT when the column is absent)."""
    if col not in df.columns:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    return pd.to_datetime(df[col]).dt.normalize()


def _flag(df: pd.DataFrame, col: str) -> pd.Series:
    """A boolean column, False where absent or missing."""
    if col not in df.columns:
        return pd.Series(False, index=df.index)
    return df[col].astype("boolean").fillna(False).astype(bool)


def _flags_text(df: pd.DataFrame) -> pd.Series:
    """``special_flags`` as lower-case text (lists joined), '' where absent."""
    if "special_flags" not in df.columns:
        return pd.Series("", index=df.index, dtype="str")
    s = df["special_flags"]
    if s.dtype == object:  # lists read back from parquet
        s = s.map(lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else v)
    return s.astype("str").fillna("").str.lower()


def _typed(interactions: pd.DataFrame | None) -> pd.DataFrame:
    """Interactions with ``customer_id, date`` (normalised) and ``type`` (NA when absent)."""
    if interactions is None or not len(interactions):
        return pd.DataFrame({"customer_id": pd.Series([], dtype="str"),
                             "date": pd.Series([], dtype="datetime64[ns]"),
                             "type": pd.Series([], dtype="str")})
    _validate_cols(interactions, ["customer_id", "date"], "interactions")
    return pd.DataFrame({
        "customer_id": interactions["customer_id"].astype("str"),
        "date": pd.to_datetime(interactions["date"]).dt.normalize(),
        "type": interactions["type"].astype("str") if "type" in interactions.columns
        else pd.Series(pd.NA, index=interactions.index, dtype="str"),
    }).dropna(subset=["customer_id", "date"])


# --------------------------------------------------------------------------------------
# Contacts and priority
# --------------------------------------------------------------------------------------


def last_contacts(
    interactions: pd.DataFrame | None,
    index: pd.Index,
    as_of: pd.Timestamp,
    contact_types: Iterable[str] | None = CONTACT_TYPES,
) -> pd.Series:
    """Date of the last logged contact per customer, on or before ``as_of``.

    Parameters
    ----------
    interactions : DataFrame or None
        Clean interactions ``customer_id, date [, type]``.
    index : Index
        Customer ids of the result.
    as_of : Timestamp
        Last day of the period (inclusive).
    contact_types : iterable of str or None
        Types that are a contact by the team; None: every type. Interactions without a
        type count.

    Returns
    -------
    Series
        ``datetime64``, indexed like ``index``; NaT for customers never contacted.
    """
    ix = _typed(interactions)
    ix = ix[ix["date"] <= pd.Timestamp(as_of).normalize()]
    if contact_types is not None:
        ix = ix[ix["type"].isin(list(contact_types)) | ix["type"].isna()]
    last = ix.groupby("customer_id")["date"].max()
    out = last.reindex(index)
    return pd.to_datetime(out).rename("last_contact")


def priority_basis(customers: pd.DataFrame) -> str | None:
    """The value column priority ranks on: ``clv`` when computed, else ``amount_12m``.

    Returns None when neither holds a value (priority then follows churn risk alone).
    """
    for col in ("clv", "amount_12m"):
        if col in customers.columns and customers[col].notna().any():
            return col
    return None


def priority(customers: pd.DataFrame, churn_weight: float,
             churn_scores: dict[str, float] | None = None, *, use_health: bool = False) -> pd.Series:
    """Order of the team's list: 1 = first.

    ``score = (1 - churn_weight) * value_rank + churn_weight * churn_score`` (see the
    package docstring); ties go to the higher value, then the smaller customer id. With
    ``use_health`` (``cfg.strategy.priority_uses_health``), a customer with a health score
    (subscription customers, :func:`kit.stages.subscriptions.health_risk`) has as churn score
    the larger of the churn-risk score and ``1 - health / 100``: a failing subscription is
    urgent before its purchases lapse.

    Parameters
    ----------
    customers : DataFrame
        Index ``customer_id``; ``churn_risk`` and ``clv`` or ``amount_12m`` when present.
    churn_weight : float
        ``cfg.strategy.priority_churn_weight`` in [0, 1].

    Returns
    -------
    Series
        int64, 1..n, indexed like ``customers``.
    """
    if not 0 <= churn_weight <= 1:
        raise ValueError(f"churn_weight must be in [0, 1] (got {churn_weight})")
    basis = priority_basis(customers)
    if basis is None:
        value = pd.Series(np.nan, index=customers.index)
    else:
        value = pd.to_numeric(customers[basis], errors="coerce").astype(float)
    value_rank = value.rank(pct=True, method="average").fillna(0.0)
    churn = (customers["churn_risk"].astype("str").map(churn_scores or CHURN_SCORES).astype(float).fillna(0.0)
             if "churn_risk" in customers.columns else pd.Series(0.0, index=customers.index))
    if use_health and "health_score" in customers.columns:
        churn = np.fmax(churn, health_risk(customers["health_score"]).reindex(churn.index))
    score = (1 - churn_weight) * value_rank + churn_weight * churn
    keys = pd.DataFrame({
        "score": -score.to_numpy(),
        "value": -value.fillna(-np.inf).to_numpy(),
        "id": customers.index.astype("str").to_numpy(),
    })
    order = keys.sort_values(["score", "value", "id"], kind="mergesort").index.to_numpy()
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return pd.Series(ranks, index=customers.index, name="priority")


# --------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------


def play_action_keys(playbook) -> dict[str, str]:
    """Quadrant -> its play's action keys (``play.star.1;play.star.2;...``)."""
    return {k: ACTION_SEP.join(f"{PLAY_ACTION}.{k}.{i}" for i in range(1, len(p.actions) + 1))
            for k, p in playbook.items()}


def action_keys(value: object) -> list[str]:
    """The keys of one ``actions_now`` value (``[]`` for a missing or empty one)."""
    if not isinstance(value, str):
        return []
    return [k for k in value.split(ACTION_SEP) if k]


def _actions_now(
    customers: pd.DataFrame,
    strategy: pd.Series,
    overdue: pd.Series,
    cfg,
    period_start: pd.Timestamp | None,
    risk_flags: Iterable[str] = ("overdue_payment",),
) -> pd.Series:
    """Situational action keys first, then the play's action keys; joined by ``;``."""
    flags = _flags_text(customers)
    first = _date_col(customers, "first_purchase")
    applies = {
        "overdue_follow_up": overdue,
        "retention": _flag(customers, "downgrade_warning"),
        "churn_high": (customers["churn_risk"].astype("str") == "high").fillna(False)
        if "churn_risk" in customers.columns else pd.Series(False, index=customers.index),
        "risk_customer": flags.str.contains(
            r"(?:^|;)\s*(?:" + "|".join(map(re.escape, risk_flags)) + r")\s*(?:;|$)", regex=True),
        "upgrade_review": _flag(customers, "upgrade_trigger"),
        "activation": (first >= period_start).fillna(False) if period_start is not None
        else pd.Series(False, index=customers.index),
    }
    keys = pd.Series("", index=customers.index, dtype="str")
    for key in SITUATIONAL_ACTIONS:
        keys = keys.where(~applies[key].astype(bool), keys + key + ACTION_SEP)
    standard = strategy.map(play_action_keys(cfg.strategy.playbook)).astype("str").fillna("")
    return (keys + standard).str.rstrip(ACTION_SEP).rename("actions_now")


# --------------------------------------------------------------------------------------
# assign
# --------------------------------------------------------------------------------------


def assign(
    customers: pd.DataFrame,
    interactions: pd.DataFrame | None,
    as_of: pd.Timestamp | str,
    cfg,
    *,
    period_start: pd.Timestamp | str | None = None,
    contact_types: Iterable[str] | None = CONTACT_TYPES,
) -> pd.DataFrame:
    """Strategy, owner, follow-up date, priority and current actions per customer.

    Parameters
    ----------
    customers : DataFrame
        The spine, index ``customer_id``. Required: ``quadrant``. Used when present:
        ``account_manager, first_purchase, last_purchase, churn_risk, clv, amount_12m,
        downgrade_warning, upgrade_trigger, special_flags``.
    interactions : DataFrame or None
        Clean interactions ``customer_id, date [, type]``; None when not configured.
    as_of : date-like
        Last day of the period.
    cfg : KitConfig
        ``cfg.strategy``: playbook (cadence per quadrant), priority churn weight.
    period_start : date-like, optional
        First day of the period: customers whose first order is on or after it get the
        activation action. None: no activation action.
    contact_types : iterable of str or None
        Interaction types that count as a contact (:data:`CONTACT_TYPES`).

    Returns
    -------
    DataFrame
        Index ``customer_id`` as in ``customers``, columns :data:`ASSIGN_COLUMNS`:
        ``strategy`` (quadrant key of the play, NA without a quadrant), ``owner``
        (account manager, NA when none: shown as ``strategy.unassigned_owner``),
        ``cadence_days`` (Int64), ``last_contact``, ``next_follow_up`` (datetime64),
        ``follow_up_overdue`` (bool), ``priority`` (int64, 1 first), ``actions_now``
        (``;``-joined action keys: situational keys of :data:`SITUATIONAL_ACTIONS`, then
        ``play.<quadrant>.<n>``). ``attrs["priority_basis"]`` names the value column
        priority ranks on (``clv``, ``amount_12m`` or None).
    """
    _validate_cols(customers, ["quadrant"], "customers")
    if not customers.index.is_unique:
        raise ValueError("customers must be indexed by a unique customer_id")
    as_of = pd.Timestamp(as_of).normalize()
    play = cfg.strategy.playbook
    idx = customers.index

    strategy = customers["quadrant"].astype("str").where(customers["quadrant"].isin(list(play)))
    cadence = strategy.map({k: p.cadence_days for k, p in play.items()}).astype("Int64")
    if "account_manager" in customers.columns:
        owner = customers["account_manager"].astype("str").str.strip()
        owner = owner.where(owner.fillna("") != "")
    else:
        owner = pd.Series(pd.NA, index=idx, dtype="str")

    last_contact = last_contacts(interactions, idx, as_of, contact_types)
    base = last_contact.fillna(_date_col(customers, "last_purchase")).fillna(
        _date_col(customers, "first_purchase"))
    next_fu = base + pd.to_timedelta(cadence.astype(float), unit="D")
    next_fu = next_fu.where(base.notna() | cadence.isna(), as_of + _ONE_DAY)
    overdue = (next_fu <= as_of).fillna(False).astype(bool)

    start = pd.Timestamp(period_start).normalize() if period_start is not None else None
    out = pd.DataFrame({
        "strategy": strategy.rename("strategy"),
        "owner": owner.astype("str"),
        "cadence_days": cadence,
        "last_contact": last_contact,
        "next_follow_up": next_fu,
        "follow_up_overdue": overdue,
        "priority": priority(customers, cfg.strategy.priority_churn_weight, cfg.strategy.churn_scores,
                             use_health=cfg.strategy.priority_uses_health),
        "actions_now": _actions_now(customers, strategy, overdue, cfg, start,
                                    risk_flags=cfg.strategy.risk_flags),
    }, index=idx)
    out.attrs["priority_basis"] = priority_basis(customers)
    return out
