"""Renewal pipeline: contracts ending in the next 30 / 60 / 90 days (``cfg.subscriptions.renewal``)
with their health, recurring value, CLV, owner and the playbook's action.

Documented choices
------------------
* **Up for renewal**: a contract signed on or before ``as_of``, whose end date is after
  ``as_of`` and at most the largest window later, whose status is not in
  ``renewal.exclude_statuses`` (cancelled), and that is not renewed yet: no contract names
  it in ``renewed_from``, and no later contract of the same customer and plan starts
  within ``retention.grace_days`` of its end (and ends later). Open-ended contracts
  (no end date) are never up for renewal.
* **Window**: the smallest window N with ``days_to_end <= N`` (day 30 is in the 30-day
  window, day 31 in the 60-day one); ``days_to_end`` = end date - ``as_of`` in days.
* **Master only**: without a subscriptions table, each master ``contract_end_date`` is one
  pseudo contract, recurring value NaN (a Note says so); every count still holds.
* **Action**: the playbook of the customer's health band (``unknown`` without a score), its
  ``by_window`` entry for the contract's window when there is one, else its default.
  Stored as keys joined by ``;``; the words are the config's (``renewal.actions``).
* **Recurring value**: ``monthly_amount`` of the contract (MRR); annual = 12 x monthly.
  The headline's share at risk is the annual value of at-risk contracts over the annual
  value of the contracts with a value (and, as counts, over all contracts).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kit.core.config import Renewal, Subscriptions
from kit.core.notes import Note
from kit.stages.subscriptions.common import master_frame, note, open_contracts, str_index
from kit.stages.subscriptions.health import BANDS

SECTION = "05_strategy"
#: The spine's columns :func:`renewal_pipeline` reads beside the contracts (name, owner, the
#: health and the CLV at stake).
RENEWAL_INPUTS = ("name", "owner", "account_manager", "health_score", "health_band", "clv")
PIPELINE_COLUMNS = [
    "customer_id", "name", "renewal_contract", "renewal_plan", "renewal_end_date", "days_to_end",
    "renewal_window", "health_score", "health_band", "monthly_recurring_value", "annual_recurring_value",
    "clv", "owner", "renewal_action", "renewal_source",
]
#: One action key list per contract, stored joined.
ACTION_SEP = ";"


def window_of(days: pd.Series | np.ndarray, windows: list[int]) -> np.ndarray:
    """The smallest window ``N`` with ``days <= N`` (0 beyond the largest or at <= 0 days)."""
    d = np.asarray(days, dtype=float)
    out = np.zeros(len(d), dtype="int64")
    for w in sorted(windows, reverse=True):
        out = np.where((d >= 1) & (d <= w), w, out)
    return out


def renewal_actions(band: str, window: int, rule: Renewal) -> list[str]:
    """The playbook's action keys for a health band (``unknown`` when none) and a window."""
    play = rule.playbook.get(band if band in rule.playbook else "unknown")
    for w in play.by_window:
        if w.window == window:
            return list(w.actions)
    return list(play.actions)


def _lookup(customers: pd.DataFrame, master: pd.DataFrame | None, ids: pd.Series, column: str) -> pd.Series:
    """``column`` of each id from the spine, else the master; NaN when neither has it."""
    out = pd.Series(np.nan, index=ids.index, dtype=object)
    for frame in (customers, master):
        if frame is not None and column in frame.columns:
            got = frame[column].reindex(ids.to_numpy())
            out = out.where(out.notna(), pd.Series(got.to_numpy(), index=ids.index, dtype=object))
    return out


def renewal_pipeline(customers: pd.DataFrame, *, subscriptions: pd.DataFrame | None = None,
                     master: pd.DataFrame | None = None, as_of: pd.Timestamp | str,
                     rule: Subscriptions | None = None) -> tuple[pd.DataFrame, list[Note]]:
    """The contracts up for renewal in the next ``max(renewal.windows_days)`` days.

    Parameters
    ----------
    customers : DataFrame
        The spine (index ``customer_id``): ``health_score``/``health_band`` (from
        :func:`kit.stages.subscriptions.health_scores`), ``clv``, ``account_manager``,
        ``name`` where present; a contract of a customer not on the spine takes owner and
        name from the master.
    subscriptions, master : DataFrame, optional
        ``subscriptions_clean`` (preferred) and ``customers_master_clean``.
    as_of : date-like
        End of the period, inclusive.
    rule : Subscriptions
        ``cfg.subscriptions``.

    Returns
    -------
    (DataFrame, list of Note)
        :data:`PIPELINE_COLUMNS`, soonest end first (then the larger annual value).
    """
    rule = rule or Subscriptions()
    as_of = pd.Timestamp(as_of).normalize()
    horizon = max(rule.renewal.windows_days)
    customers = customers.set_axis(str_index(customers.index))
    m = master_frame(master)
    contracts, notes = open_contracts(subscriptions, m, as_of, rule, SECTION)
    if subscriptions is None and contracts.empty and (m is None or "contract_end_date" not in m.columns):
        return pd.DataFrame(columns=PIPELINE_COLUMNS), [note("renewal_omitted", SECTION, "omitted")]
    c = contracts[(contracts["days_to_end"] <= horizon).to_numpy()].reset_index(drop=True)
    ids = c["customer_id"]
    c["renewal_window"] = window_of(c["days_to_end"], rule.renewal.windows_days)
    c["health_score"] = pd.to_numeric(_lookup(customers, None, ids, "health_score"), errors="coerce").astype(float)
    band = _lookup(customers, None, ids, "health_band")
    c["health_band"] = band.where(band.isin(BANDS), "unknown").astype("str")
    c["annual_recurring_value"] = c["monthly_recurring_value"].astype(float) * 12
    c["clv"] = pd.to_numeric(_lookup(customers, None, ids, "clv"), errors="coerce").astype(float)
    c["owner"] = _lookup(customers, m, ids, "account_manager").astype("str")
    c["name"] = _lookup(customers, m, ids, "name").astype("str")
    c["renewal_action"] = pd.Series(
        [ACTION_SEP.join(renewal_actions(b, w, rule.renewal)) for b, w in zip(c["health_band"], c["renewal_window"])],
        index=c.index, dtype="str")
    c = c.sort_values(["days_to_end", "annual_recurring_value", "customer_id"], ascending=[True, False, True],
                      na_position="last", kind="mergesort")
    notes += _pipeline_notes(c, customers, subscriptions is None, horizon)
    return c[PIPELINE_COLUMNS].reset_index(drop=True), notes


def _pipeline_notes(c: pd.DataFrame, customers: pd.DataFrame, from_master: bool, horizon: int) -> list[Note]:
    notes = []
    if from_master:
        notes.append(note("renewal_from_master", SECTION, "warning", n=len(c)))
    elif c["monthly_recurring_value"].isna().any():
        notes.append(note("renewal_value_missing", SECTION, "warning", n=int(c["monthly_recurring_value"].isna().sum())))
    if c.empty:
        notes.append(note("renewal_none", SECTION, days=horizon))
    if "health_band" not in customers.columns:
        notes.append(note("renewal_no_health", SECTION))
    return notes


@dataclass(frozen=True)
class RenewalHeadline:
    """What is up for renewal in the next ``horizon_days`` (the index page's headline).

    ``share_at_risk``: annual recurring value of at-risk contracts / annual value of the
    contracts with a value (NaN when no contract has one); ``share_at_risk_contracts``: the
    same by count. ``counts`` / ``values``: contracts / annual value per window (rows) and
    health band (columns)."""

    horizon_days: int
    n_contracts: int
    n_customers: int
    monthly_value: float
    annual_value: float
    annual_value_at_risk: float
    share_at_risk: float
    n_at_risk: int
    share_at_risk_contracts: float
    n_value_missing: int
    counts: pd.DataFrame = field(repr=False)
    values: pd.DataFrame = field(repr=False)

    @property
    def value_known(self) -> bool:
        return self.n_contracts > self.n_value_missing

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``follow_up_summary.json``): NaN as None, the tables as nested dicts."""
        def num(x: float) -> float | None:
            return None if x is None or not np.isfinite(x) else float(x)

        return {
            "horizon_days": self.horizon_days, "n_contracts": self.n_contracts, "n_customers": self.n_customers,
            "monthly_value": num(self.monthly_value), "annual_value": num(self.annual_value),
            "annual_value_at_risk": num(self.annual_value_at_risk), "share_at_risk": num(self.share_at_risk),
            "n_at_risk": self.n_at_risk, "share_at_risk_contracts": num(self.share_at_risk_contracts),
            "n_value_missing": self.n_value_missing, "value_known": self.value_known,
            "counts": {str(w): {b: int(v) for b, v in row.items()} for w, row in self.counts.iterrows()},
            "values": {str(w): {b: num(v) for b, v in row.items()} for w, row in self.values.iterrows()},
        }


def renewal_headline(pipeline: pd.DataFrame, *, rule: Subscriptions | None = None) -> RenewalHeadline:
    """Totals of :func:`renewal_pipeline`: value up for renewal, its share at risk, counts
    and value per window and band."""
    rule = rule or Subscriptions()
    windows = list(rule.renewal.windows_days)
    p = pipeline
    annual = p["annual_recurring_value"].astype(float)
    risk = (p["health_band"] == "at_risk").to_numpy()
    known = annual.notna().to_numpy()
    total = float(annual[known].sum()) if known.any() else float("nan")
    at_risk = float(annual[known & risk].sum()) if known.any() else float("nan")
    grid = pd.DataFrame({"w": p["renewal_window"].astype("int64"), "b": p["health_band"].astype("str"), "v": annual})
    counts = pd.crosstab(grid["w"], grid["b"]).reindex(index=windows, columns=list(BANDS), fill_value=0)
    values = grid.groupby(["w", "b"])["v"].sum(min_count=1).unstack("b") if len(grid) else pd.DataFrame()
    values = values.reindex(index=windows, columns=list(BANDS)).astype(float)
    counts.index.name = values.index.name = "renewal_window"
    counts.columns.name = values.columns.name = "health_band"
    n = len(p)
    return RenewalHeadline(
        horizon_days=max(windows), n_contracts=n, n_customers=int(p["customer_id"].nunique()),
        monthly_value=float(p["monthly_recurring_value"].astype(float)[known].sum()) if known.any() else float("nan"),
        annual_value=total, annual_value_at_risk=at_risk,
        share_at_risk=at_risk / total if known.any() and total > 0 else float("nan"),
        n_at_risk=int(risk.sum()), share_at_risk_contracts=float(risk.sum() / n) if n else float("nan"),
        n_value_missing=int((~known).sum()), counts=counts.astype("int64"), values=values,
    )


def renewal_columns(pipeline: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Spine columns from the pipeline, per customer of ``index``: the soonest contract's
    ``renewal_end_date, days_to_end, renewal_window, renewal_action`` and the customer's
    ``annual_recurring_value`` up for renewal (sum over his contracts; NaN when none known)."""
    idx = str_index(index)
    p = pipeline.sort_values(["days_to_end"], kind="mergesort")
    first = p.drop_duplicates("customer_id").set_index("customer_id")
    cols = ["renewal_end_date", "days_to_end", "renewal_window", "renewal_action"]
    out = first[cols].reindex(idx)
    out["days_to_end"] = out["days_to_end"].astype("Int64")
    out["renewal_window"] = out["renewal_window"].astype("Int64")
    arr = p.groupby("customer_id")["annual_recurring_value"].sum(min_count=1)
    out["annual_recurring_value"] = arr.reindex(idx).astype(float)
    return out
