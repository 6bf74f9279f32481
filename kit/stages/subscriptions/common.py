"""Shared helpers of the subscription stage: dates, windows, the contracts up for renewal."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kit.core.config import Subscriptions
from kit.core.notes import Note

#: Columns of :func:`open_contracts` (one row per contract that ends after ``as_of``).
CONTRACT_COLUMNS = [
    "customer_id", "renewal_contract", "renewal_plan", "renewal_end_date", "days_to_end",
    "monthly_recurring_value", "renewal_source",
]


def note(code: str, section: str, kind: str = "info", **params: Any) -> Note:
    """A note of this stage: message ``subscriptions.<code>``."""
    return Note(f"subscriptions.{code}", params, kind, section)


def day(values: pd.Series) -> pd.Series:
    """Datetimes at day resolution, time zone dropped."""
    d = pd.to_datetime(values, errors="coerce")
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    return d.dt.floor("D")


def in_window(dates: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """``start < date <= end`` (the window excludes its start, includes its end)."""
    d = day(dates)
    return ((d > start) & (d <= end)).fillna(False).to_numpy(dtype=bool)


def has_values(frame: pd.DataFrame | None, column: str) -> bool:
    """Whether ``frame`` has ``column`` with at least one value."""
    return frame is not None and column in frame.columns and bool(frame[column].notna().any())


def str_index(ids: pd.Index | pd.Series) -> pd.Index:
    return pd.Index(pd.Series(ids).astype("str").to_numpy(), dtype="str", name="customer_id")


def master_frame(master: pd.DataFrame | None) -> pd.DataFrame | None:
    """The master indexed by a unique str ``customer_id`` (last duplicate kept)."""
    if master is None:
        return None
    m = master if master.index.name == "customer_id" else master.set_index("customer_id")
    m = m[~m.index.duplicated(keep="last")]
    m.index = str_index(m.index)
    return m


def started(subscriptions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The contracts signed on or before ``as_of`` (a later one is unknown at ``as_of``)."""
    s = subscriptions.assign(customer_id=subscriptions["customer_id"].astype("str"),
                             start_date=day(subscriptions["start_date"]),
                             end_date=day(subscriptions["end_date"]))
    return s[(s["start_date"] <= as_of).fillna(False).to_numpy()]


def renewed_mask(s: pd.DataFrame, grace_days: int, candidates: np.ndarray | None = None) -> np.ndarray:
    """Contracts already renewed at ``as_of`` (``s`` = :func:`started`): named in another
    contract's ``renewed_from``, or followed by a contract of the same customer and plan
    (a missing plan matches a missing plan) that starts later, no more than ``grace_days``
    after this one's end, and ends later (or is open ended): an add-on that ends with the
    contract it joins renews nothing. Only the ``candidates`` (default all) are checked,
    each against every contract of its customer."""
    ids = s["subscription_id"].astype("str") if "subscription_id" in s.columns else None
    out = np.zeros(len(s), dtype=bool)
    if ids is not None and "renewed_from" in s.columns:
        successors = set(s["renewed_from"].dropna().astype("str"))
        out |= ids.isin(successors).to_numpy()
    plan = s["plan"].astype("str").fillna("") if "plan" in s.columns else pd.Series("", index=s.index)
    frame = pd.DataFrame({"c": s["customer_id"].to_numpy(), "p": plan.to_numpy(),
                          "start": s["start_date"].to_numpy(), "end": s["end_date"].to_numpy(),
                          "pos": np.arange(len(s))})
    mine = frame if candidates is None else frame[candidates]
    pairs = mine.merge(frame, on=["c", "p"], suffixes=("", "_n"))
    grace = pd.Timedelta(days=grace_days)
    longer = (pairs["end_n"] > pairs["end"]) | pairs["end_n"].isna()
    hit = (pairs["start_n"] > pairs["start"]) & (pairs["start_n"] <= pairs["end"] + grace) & longer
    out[pairs.loc[hit.fillna(False).to_numpy(), "pos"].to_numpy(dtype=int)] = True
    return out if candidates is None else out & candidates


def open_contracts(subscriptions: pd.DataFrame | None, master: pd.DataFrame | None,
                   as_of: pd.Timestamp, rule: Subscriptions, section: str) -> tuple[pd.DataFrame, list[Note]]:
    """Every contract that ends after ``as_of`` and is not yet renewed (no window cut).

    From the subscriptions table when there is one: contracts signed on or before
    ``as_of``, not in ``renewal.exclude_statuses``, with an end date, not already renewed
    (:func:`renewed_mask`, grace ``retention.grace_days``). Else from the master's
    ``contract_end_date``: one pseudo contract per customer, recurring value NaN.
    ``days_to_end`` = end date - ``as_of`` in days (>= 1).
    """
    notes: list[Note] = []
    if subscriptions is not None:
        s = started(subscriptions, as_of)
        excluded = s["status"].astype("str").isin(rule.renewal.exclude_statuses).fillna(False).to_numpy() \
            if "status" in s.columns else np.zeros(len(s), dtype=bool)
        ends = (s["end_date"] > as_of).fillna(False).to_numpy()
        renewed = renewed_mask(s, rule.retention.grace_days, ends) & ~excluded
        keep = ends & ~excluded & ~renewed
        if (excluded & ends).any() or (renewed & ends).any():
            notes.append(note("contracts_excluded", section, n_status=int((excluded & ends).sum()),
                              statuses=list(rule.renewal.exclude_statuses), n_renewed=int((renewed & ends).sum())))
        k = s[keep]
        monthly = pd.to_numeric(k["monthly_amount"], errors="coerce") if "monthly_amount" in k.columns \
            else pd.Series(np.nan, index=k.index)
        out = pd.DataFrame({
            "customer_id": k["customer_id"].to_numpy(),
            "renewal_contract": (k["subscription_id"].astype("str") if "subscription_id" in k.columns
                                 else pd.Series(pd.NA, index=k.index, dtype="str")).to_numpy(),
            "renewal_plan": (k["plan"] if "plan" in k.columns else pd.Series(pd.NA, index=k.index)).to_numpy(),
            "renewal_end_date": k["end_date"].to_numpy(),
            "monthly_recurring_value": monthly.astype(float).to_numpy(),
            "renewal_source": "subscriptions",
        })
    else:
        m = master_frame(master)
        if m is None or "contract_end_date" not in m.columns:
            return pd.DataFrame(columns=CONTRACT_COLUMNS), notes
        end = day(m["contract_end_date"])
        k = end[(end > as_of).fillna(False).to_numpy()]
        out = pd.DataFrame({
            "customer_id": k.index.astype("str").to_numpy(), "renewal_contract": pd.NA, "renewal_plan": pd.NA,
            "renewal_end_date": k.to_numpy(), "monthly_recurring_value": np.nan, "renewal_source": "master",
        })
    out["days_to_end"] = (out["renewal_end_date"] - as_of).dt.days.astype("int64") if len(out) \
        else pd.Series(dtype="int64")
    out["renewal_contract"] = out["renewal_contract"].astype("str")
    out["renewal_plan"] = out["renewal_plan"].astype("str")
    out["renewal_source"] = out["renewal_source"].astype("str")
    return out[CONTRACT_COLUMNS].reset_index(drop=True), notes


def contract_customers(subscriptions: pd.DataFrame | None, master: pd.DataFrame | None,
                       as_of: pd.Timestamp) -> tuple[pd.Index | None, str]:
    """Customers with a contract: any subscription signed on or before ``as_of``, else any
    master row with a ``contract_end_date``; ``(None, "none")`` when the data have neither."""
    if subscriptions is not None and len(subscriptions):
        s = started(subscriptions, as_of)
        return str_index(s["customer_id"].unique()), "subscriptions"
    m = master_frame(master)
    if m is not None and has_values(m, "contract_end_date"):
        return str_index(m.index[m["contract_end_date"].notna().to_numpy()]), "master"
    return None, "none"


def with_columns(spine: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """``spine`` with the columns of ``extra`` (same index; columns it already had replaced),
    keeping ``spine.attrs`` (the layering notes travel there; a plain join drops them)."""
    out = spine.drop(columns=[c for c in extra.columns if c in spine.columns]).join(extra)
    out.attrs = dict(spine.attrs)
    return out
