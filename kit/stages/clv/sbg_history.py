"""Renewal histories from the subscriptions table, and the sBG model per signing cohort.

From ``subscriptions_clean.parquet`` (one row per contract; docs: issue 13's schema) to what
notebook 04 shows about contractual retention:

1. :func:`renewal_histories`: contracts linked into renewal chains, one row per chain with
   its signing cohort, the renewals it made and whether it has left by ``as_of``;
2. :func:`observed_survival`: each cohort's observed survival by renewal period
   (Kaplan-Meier over chains, so chains signed late in the cohort and still subscribed count
   while they are seen; without censoring it is the plain survivor count);
3. :func:`fit_cohorts`: the sBG model (:mod:`kit.stages.clv.sbg`) per cohort with at least
   ``min_cohort_size`` chains and churn information; every cohort left out gets a Note
   (kind ``omitted``) that says why, and no substitute;
4. :func:`retention_curves`: observed and fitted survival, projected ``horizon_periods``
   beyond the last observed period; :func:`holdout_check`: each cohort fitted without its
   last ``holdout_periods`` observed periods, predicted against observed survivors there;
5. :func:`subscription_values`: per chain still subscribed, the next renewal's probability,
   expected renewals within the horizon, DERL and the discounted expected residual value
   (recurring value per period x DERL).

:func:`retention_model` runs them all. Every threshold is a parameter (the config's values).

How chains are linked: a contract whose ``renewed_from`` names another contract of the same
customer continues that contract's chain (a contract renewed twice keeps its first renewal;
the second starts a chain of its own, counted in a Note). A contract with an empty
``renewed_from`` continues the customer's chain whose last contract ended at most
``grace_days`` before it starts (or at most ``grace_days`` after: an early renewal), the
closest such. A ``renewed_from`` that names no known contract starts a chain (a Note).

How periods are counted: the calendar months the chain's contracts covered (each contract up
to the next one's start, so neither the days between two contracts nor an overlap count), in
periods of ``period_months`` (12: one renewal decision a year), so monthly rolling and annual
contracts are counted alike and a multi-year contract counts as its years survived. A chain
has *left* when its last contract is ``cancelled`` or ended more than ``grace_days`` before
``as_of``; it left at the end of the period in which its last contract ended. A chain still
subscribed has made as many renewals as whole periods have passed by ``as_of`` (one whose last
contract ended within the grace, renewal pending, as many as the periods its contracts
covered, less the pending one). A chain whose last contract is ``cancelled`` or ``expired``
with no end date cannot be placed and is left out (a Note).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kit.core.notes import Msg, Note
from kit.stages.clv.results import SECTION
from kit.stages.clv.sbg import (
    SbgFit,
    counts_from_histories,
    derl,
    expected_remaining_renewals,
    fit_counts,
    retention_rate,
    survival,
)

#: ``cohort_freq`` values and their pandas period frequency.
COHORT_FREQS = {"year": "Y", "quarter": "Q", "month": "M"}
#: Slack when counting periods from contract dates, in days: end dates are written inclusive
#: (31 Dec) or exclusive (1 Jan) and months differ in length.
DAY_TOLERANCE = 3
DAYS_PER_MONTH = 30.4375
#: Statuses that mean the customer will not renew / the contract ran out.
CANCELLED = "cancelled"
ENDED = ("cancelled", "expired")

HISTORY_COLUMNS = ["chain_id", "customer_id", "signing_cohort", "chain_start", "chain_end", "chain_contracts",
                   "renewals_made", "chain_churned", "last_subscription_id", "period_value"]
PARAM_COLUMNS = ["signing_cohort", "cohort_chains", "churned_chains", "observed_periods", "sbg_alpha", "sbg_beta",
                 "sbg_se_alpha", "sbg_se_beta", "sbg_loglik", "sbg_fitted"]
SURVIVAL_COLUMNS = ["signing_cohort", "renewal_period", "cohort_chains", "at_risk_chains", "churned_chains",
                    "observed_survival", "observed_survivors"]
CURVE_COLUMNS = SURVIVAL_COLUMNS + ["fitted_survival", "fitted_survivors", "fitted_retention", "is_projection"]
HOLDOUT_COLUMNS = ["signing_cohort", "renewal_period", "calibration_periods", "predicted_survivors",
                   "actual_survivors", "survivors_error", "survivors_error_pct"]
VALUE_COLUMNS = ["chain_id", "customer_id", "last_subscription_id", "signing_cohort", "renewals_made",
                 "period_value", "next_renewal_prob", "expected_renewals", "derl", "residual_value"]


def _note(code: str, kind: str, **params: Any) -> Note:
    return Note(code, params, kind, SECTION)  # type: ignore[arg-type]


# ---- linking contracts into chains ---------------------------------------------------------
def _has_text(s: pd.Series) -> pd.Series:
    return s.notna() & (s.astype("string").str.strip().fillna("") != "")


def _explicit_links(df: pd.DataFrame, pred: np.ndarray, has_succ: np.ndarray) -> dict[str, int]:
    """``renewed_from`` links (same customer only), first renewal of a contract wins."""
    pos = {sid: i for i, sid in enumerate(df["subscription_id"])}
    linked = _has_text(df["renewed_from"]).to_numpy()
    counts = {"branching": 0, "unknown_predecessor": 0}
    customers = df["customer_id"].to_numpy()
    for i in np.flatnonzero(linked):
        p = pos.get(str(df["renewed_from"].iat[i]).strip())
        if p is None or p == i or customers[p] != customers[i]:
            counts["unknown_predecessor"] += 1
        elif has_succ[p]:
            counts["branching"] += 1
        else:
            pred[i], has_succ[p] = p, True
    return counts


def _grace_links(df: pd.DataFrame, pred: np.ndarray, has_succ: np.ndarray, grace_days: int) -> None:
    """Contracts without ``renewed_from`` continue the customer's chain whose last contract
    ended within ``grace_days`` of their start (either side), the closest such."""
    free = ~_has_text(df["renewed_from"]).to_numpy()
    start = df["start_date"].to_numpy("datetime64[ns]")
    end = df["end_date"].to_numpy("datetime64[ns]")
    day = np.timedelta64(1, "D")
    for idx in df.groupby("customer_id", sort=False).indices.values():
        if len(idx) < 2:
            continue
        for i in idx:  # positions are in start order within a customer
            if not free[i]:
                continue
            cand = [j for j in idx if j != i and not has_succ[j] and start[j] < start[i] and not np.isnat(end[j])]
            gaps = [abs((start[i] - end[j]) / day) for j in cand]
            ok = [(g, -k) for k, (j, g) in enumerate(zip(cand, gaps)) if g <= grace_days]
            if ok:
                j = cand[-min(ok)[1]]
                pred[i], has_succ[j] = j, True


def _components(pred: np.ndarray) -> np.ndarray:
    """Chain of each contract: the connected components of the predecessor links."""
    parent = np.arange(len(pred))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, p in enumerate(pred):
        if p >= 0:
            a, b = find(i), find(int(p))
            parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(len(pred))])


def link_contracts(subs: pd.DataFrame, grace_days: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """The contracts sorted by customer and start, with ``chain`` (the position of the
    chain's first contract); and counts of ``branching`` and ``unknown_predecessor`` links."""
    df = subs.sort_values(["customer_id", "start_date", "subscription_id"], kind="mergesort").reset_index(drop=True)
    if df["subscription_id"].duplicated().any():
        raise ValueError("subscription_id must be unique in the clean subscriptions table")
    pred = np.full(len(df), -1)
    has_succ = np.zeros(len(df), dtype=bool)
    counts = _explicit_links(df, pred, has_succ)
    _grace_links(df, pred, has_succ, grace_days)
    df["chain"] = _components(pred)
    return df, counts


# ---- renewal histories ---------------------------------------------------------------------------
def _months(start: pd.Series, end: pd.Series) -> pd.Series:
    """Calendar months from ``start`` to ``end`` (fractional: the days left over / 30.44)."""
    return ((end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month)
            + (end.dt.day - start.dt.day) / DAYS_PER_MONTH)


def _chains(df: pd.DataFrame, period_months: int) -> pd.DataFrame:
    """One row per chain; ``months_before_last``: the months its contracts before the last
    one covered (each up to the next one's start: gaps and overlaps are not counted)."""
    nxt = df.groupby("chain")["start_date"].shift(-1)
    stop = (df["end_date"] + pd.Timedelta(days=1)).where(df["end_date"].notna(), nxt)
    covered = _months(df["start_date"], stop.where(stop <= nxt, nxt)).where(nxt.notna(), 0.0)
    g = df.groupby("chain", sort=True)
    first, last = df.loc[g["start_date"].idxmin()].set_index("chain"), df.loc[g.tail(1).index].set_index("chain")
    out = pd.DataFrame({
        "chain_id": first["subscription_id"].astype(str), "customer_id": first["customer_id"].astype(str),
        "chain_start": first["start_date"], "chain_end": last["end_date"], "chain_contracts": g.size(),
        "last_subscription_id": last["subscription_id"].astype(str), "last_status": last["status"].astype("string"),
        "last_start": last["start_date"], "months_before_last": covered.groupby(df["chain"]).sum(),
        "period_value": pd.to_numeric(last["monthly_amount"], errors="coerce").astype(float) * period_months,
    })
    return out.reset_index(drop=True)


def _place(ch: pd.DataFrame, as_of: pd.Timestamp, grace_days: int, period_months: int) -> pd.DataFrame:
    """``renewals_made`` and ``chain_churned`` of each chain (see the module docstring)."""
    end, status = ch["chain_end"], ch["last_status"].fillna("")
    tol = DAY_TOLERANCE / DAYS_PER_MONTH
    span = ch["months_before_last"] + _months(ch["last_start"], end + pd.Timedelta(days=1))
    covered = np.maximum(1, np.ceil((span - tol) / period_months))  # periods its contracts covered
    now = ch["months_before_last"] + _months(ch["last_start"], pd.Series(as_of, index=ch.index))
    elapsed = np.floor(now / period_months + 1e-9)  # whole periods covered by as_of
    cancelled = end.notna() & (status == CANCELLED)
    lapsed = end.notna() & ((as_of - end).dt.days > grace_days)
    churned = cancelled | lapsed
    running = end.isna() | (end >= as_of)
    renewals = np.where(churned, covered - 1, np.where(running, elapsed, np.maximum(0, covered - 1)))
    out = ch.assign(chain_churned=churned.astype(bool), renewals_made=pd.Series(renewals, index=ch.index))
    out["renewals_made"] = out["renewals_made"].astype(int)
    return out


def renewal_histories(subs: pd.DataFrame, as_of, *, grace_days: int, cohort_freq: str = "year",
                      period_months: int = 12) -> tuple[pd.DataFrame, list[Note]]:
    """One row per renewal chain (:data:`HISTORY_COLUMNS`) and the notes on what was left out.

    ``signing_cohort`` is the period (``cohort_freq``: year, quarter or month) of the chain's
    first start; ``renewals_made`` and ``chain_churned`` as of ``as_of``; ``period_value`` the
    last contract's ``monthly_amount`` x ``period_months``.
    """
    if cohort_freq not in COHORT_FREQS:
        raise ValueError(f"cohort_freq must be one of {', '.join(COHORT_FREQS)}, got {cohort_freq!r}")
    as_of = pd.Timestamp(as_of)
    notes: list[Note] = []
    if subs["start_date"].isna().any():
        raise ValueError("start_date is required in the clean subscriptions table")
    future = subs["start_date"] > as_of
    if future.any():
        notes.append(_note("retention.future_contracts", "info", n=int(future.sum()), as_of=as_of.date().isoformat()))
    df, counts = link_contracts(subs.loc[~future], grace_days)
    for code, n in counts.items():
        if n:
            notes.append(_note(f"retention.{code}", "warning", n=n))
    if df.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS), notes
    ch = _chains(df, period_months)
    unplaced = ch["chain_end"].isna() & ch["last_status"].isin(ENDED).fillna(False)
    if unplaced.any():
        notes.append(_note("retention.end_unknown", "warning", n=int(unplaced.sum())))
    ch = _place(ch.loc[~unplaced].reset_index(drop=True), as_of, grace_days, period_months)
    ch["signing_cohort"] = ch["chain_start"].dt.to_period(COHORT_FREQS[cohort_freq]).astype(str)
    return ch[HISTORY_COLUMNS].sort_values(["signing_cohort", "chain_start", "chain_id"]).reset_index(drop=True), notes


# ---- observed survival ----------------------------------------------------------------------------
def _last_observed(h: pd.DataFrame) -> np.ndarray:
    """The last renewal decision each chain was seen to take (its leaving one, if it left)."""
    return h["renewals_made"].to_numpy() + h["chain_churned"].to_numpy().astype(int)


def _survival_table(cohort: str, h: pd.DataFrame) -> pd.DataFrame:
    seen = _last_observed(h)
    left = h["chain_churned"].to_numpy()
    t = np.arange(int(seen.max()) + 1)
    at_risk = np.array([len(h)] + [int((seen >= k).sum()) for k in t[1:]])
    churned = np.array([0] + [int((left & (seen == k)).sum()) for k in t[1:]])
    km = np.cumprod(1.0 - churned / np.maximum(at_risk, 1))
    return pd.DataFrame({"signing_cohort": cohort, "renewal_period": t, "cohort_chains": len(h),
                         "at_risk_chains": at_risk, "churned_chains": churned, "observed_survival": km,
                         "observed_survivors": len(h) * km})


def observed_survival(histories: pd.DataFrame) -> pd.DataFrame:
    """Per cohort and renewal period ``0 .. last seen``: chains at risk, chains leaving, the
    Kaplan-Meier survival and ``observed_survivors`` = chains x survival
    (:data:`SURVIVAL_COLUMNS`). Without censoring before the last period these are the
    cohort's survivor counts."""
    parts = [_survival_table(c, h) for c, h in histories.groupby("signing_cohort", sort=True)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SURVIVAL_COLUMNS)


# ---- fitting per cohort -------------------------------------------------------------------------------
def _why_not(h: pd.DataFrame, min_cohort_size: int) -> Msg | None:
    """Why a cohort's histories cannot carry an sBG fit, or None."""
    if len(h) < min_cohort_size:
        return Msg("retention.reason.too_small", n=len(h), min=min_cohort_size)
    if not h["chain_churned"].any():
        return Msg("retention.reason.no_churn")
    if int(h["renewals_made"].sum()) == 0:
        return Msg("retention.reason.no_renewal")
    periods = int(_last_observed(h).max())
    if periods < 2:
        return Msg("retention.reason.too_short", periods=periods)
    return None


def _fit(h: pd.DataFrame) -> SbgFit:
    return fit_counts(*counts_from_histories(h["renewals_made"].to_numpy(), h["chain_churned"].to_numpy()))


def _param_row(cohort: str, h: pd.DataFrame, fit: SbgFit | None) -> dict[str, Any]:
    nan = float("nan")
    return {"signing_cohort": cohort, "cohort_chains": len(h), "churned_chains": int(h["chain_churned"].sum()),
            "observed_periods": int(_last_observed(h).max()),
            "sbg_alpha": fit.alpha if fit else nan, "sbg_beta": fit.beta if fit else nan,
            "sbg_se_alpha": fit.se_alpha if fit else nan, "sbg_se_beta": fit.se_beta if fit else nan,
            "sbg_loglik": fit.loglik if fit else nan, "sbg_fitted": fit is not None}


def fit_cohorts(histories: pd.DataFrame, *, min_cohort_size: int) -> tuple[dict[str, SbgFit], pd.DataFrame, list[Note]]:
    """The sBG fit of each cohort that can carry one, the parameter table of every cohort
    (:data:`PARAM_COLUMNS`; NaN where not fitted) and a ``retention.cohort_omitted`` note
    (kind ``omitted``) per cohort left out, with the reason."""
    fits: dict[str, SbgFit] = {}
    rows, notes = [], []
    for cohort, h in histories.groupby("signing_cohort", sort=True):
        reason = _why_not(h, min_cohort_size)
        fit = None
        if reason is None:
            fit = _fit(h)
            if not fit.converged:
                reason, fit = Msg("retention.reason.not_converged"), None
        if reason is not None:
            notes.append(_note("retention.cohort_omitted", "omitted", cohort=str(cohort), chains=len(h), reason=reason))
        else:
            fits[str(cohort)] = fit
        rows.append(_param_row(str(cohort), h, fit))
    return fits, pd.DataFrame(rows, columns=PARAM_COLUMNS), notes


def retention_curves(histories: pd.DataFrame, fits: dict[str, SbgFit], *, horizon_periods: int) -> pd.DataFrame:
    """Observed and fitted survival of every fitted cohort, periods ``0 .. last observed +
    horizon_periods`` (:data:`CURVE_COLUMNS`); ``is_projection`` marks the periods beyond the
    last observed one, where the observed columns are NaN."""
    obs = observed_survival(histories)
    parts = []
    for cohort, fit in sorted(fits.items()):
        o = obs[obs["signing_cohort"] == cohort].set_index("renewal_period")
        last = int(o.index.max())
        t = np.arange(last + horizon_periods + 1)
        c = o.reindex(t).drop(columns="signing_cohort").rename_axis("renewal_period").reset_index()
        c.insert(0, "signing_cohort", cohort)
        c["cohort_chains"] = int(o["cohort_chains"].iat[0])
        c["fitted_survival"] = fit.survival(t)
        c["fitted_survivors"] = c["cohort_chains"] * c["fitted_survival"]
        c["fitted_retention"] = np.where(t >= 1, fit.retention_rate(np.maximum(t, 1)), np.nan)
        c["is_projection"] = t > last
        parts.append(c[CURVE_COLUMNS])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CURVE_COLUMNS)


# ---- holdout ----------------------------------------------------------------------------------------------
def truncate_histories(h: pd.DataFrame, periods: int) -> pd.DataFrame:
    """The histories as they stood after ``periods`` renewal decisions: a chain that left
    later, or is still subscribed with more renewals, is censored after ``periods``."""
    late = _last_observed(h) > periods
    out = h.copy()
    out.loc[late, "chain_churned"] = False
    out.loc[late, "renewals_made"] = periods
    return out


def holdout_check(histories: pd.DataFrame, *, holdout_periods: int,
                  min_cohort_size: int) -> tuple[pd.DataFrame, dict[str, SbgFit], list[Note]]:
    """Each cohort fitted on all but its last ``holdout_periods`` observed renewal periods,
    its survivors predicted in those periods against the observed ones
    (:data:`HOLDOUT_COLUMNS`: ``survivors_error`` = predicted - actual, ``survivors_error_pct``
    = error / actual), the calibration fits, and a ``retention.holdout_omitted`` note per
    cohort large enough to fit that cannot be checked. Cohorts under ``min_cohort_size``
    are left to :func:`fit_cohorts`' note."""
    if holdout_periods < 1:
        raise ValueError(f"holdout_periods must be >= 1, got {holdout_periods}")
    obs = observed_survival(histories)
    rows, fits, notes = [], {}, []
    for cohort, h in histories.groupby("signing_cohort", sort=True):
        if len(h) < min_cohort_size:
            continue
        last = int(_last_observed(h).max())
        cal = last - holdout_periods
        reason = Msg("retention.reason.holdout_short", periods=last, needed=holdout_periods + 2) if cal < 2 else None
        if reason is None:
            reason = _why_not(truncate_histories(h, cal), min_cohort_size)
        fit = None if reason is not None else _fit(truncate_histories(h, cal))
        if fit is not None and not fit.converged:
            reason = Msg("retention.reason.not_converged")
        if reason is not None:
            notes.append(_note("retention.holdout_omitted", "omitted", cohort=str(cohort), reason=reason))
            continue
        fits[str(cohort)] = fit
        o = obs[obs["signing_cohort"] == cohort].set_index("renewal_period")
        t = np.arange(cal + 1, last + 1)
        actual = o.loc[t, "observed_survivors"].to_numpy()
        predicted = len(h) * fit.survival(t)
        rows.append(pd.DataFrame({"signing_cohort": str(cohort), "renewal_period": t, "calibration_periods": cal,
                                  "predicted_survivors": predicted, "actual_survivors": actual,
                                  "survivors_error": predicted - actual,
                                  "survivors_error_pct": (predicted - actual) / np.where(actual > 0, actual, np.nan)}))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=HOLDOUT_COLUMNS)
    return table, fits, notes


# ---- value per subscription ------------------------------------------------------------------------------
def subscription_values(histories: pd.DataFrame, fits: dict[str, SbgFit], *, discount_rate: float,
                        horizon_periods: int) -> tuple[pd.DataFrame, list[Note]]:
    """Per chain still subscribed (:data:`VALUE_COLUMNS`), from its cohort's fit:

    * ``next_renewal_prob`` = r(n + 1) = (beta + n) / (alpha + beta + n), n = renewals made;
    * ``expected_renewals``: expected renewals among the next ``horizon_periods`` decisions;
    * ``derl`` = DERL(d | alpha, beta, n renewals) [FH10 eq. 6], ``discount_rate`` per period;
    * ``residual_value`` = ``period_value`` x ``derl``, valued at the next renewal date.

    Chains of cohorts without a fit have NaN (their cohort's note says why); a
    ``retention.value_missing`` warning counts the fitted chains without a recurring value.
    """
    alive = histories.loc[~histories["chain_churned"].astype(bool)]
    out = alive[["chain_id", "customer_id", "last_subscription_id", "signing_cohort", "renewals_made",
                 "period_value"]].copy().reset_index(drop=True)
    for col in ("next_renewal_prob", "expected_renewals", "derl"):
        out[col] = np.nan
    for cohort, fit in fits.items():
        m = (out["signing_cohort"] == cohort).to_numpy()
        n = out.loc[m, "renewals_made"].to_numpy(dtype=float)
        out.loc[m, "next_renewal_prob"] = retention_rate(fit.alpha, fit.beta, n + 1)
        out.loc[m, "expected_renewals"] = expected_remaining_renewals(fit.alpha, fit.beta, n, horizon_periods)
        out.loc[m, "derl"] = derl(discount_rate, fit.alpha, fit.beta, n)
    out["residual_value"] = out["period_value"] * out["derl"]
    missing = int((out["derl"].notna() & out["period_value"].isna()).sum())
    notes = [_note("retention.value_missing", "warning", n=missing)] if missing else []
    return out[VALUE_COLUMNS], notes


# ---- the stage ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetentionModel:
    """What :func:`retention_model` computed; frames with canonical (registered) columns."""

    histories: pd.DataFrame
    fits: dict[str, SbgFit]
    params: pd.DataFrame
    curves: pd.DataFrame
    holdout: pd.DataFrame
    holdout_fits: dict[str, SbgFit]
    values: pd.DataFrame
    discount_rate: float
    settings: dict[str, Any]
    notes: list[Note] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """A JSON-able summary for ``model_params.json``."""
        return {"model": "sbg", "settings": dict(self.settings), "discount_rate_per_period": self.discount_rate,
                "cohorts": {c: f.as_dict() for c, f in self.fits.items()},
                "holdout_fits": {c: f.as_dict() for c, f in self.holdout_fits.items()},
                "holdout": self.holdout.to_dict(orient="records")}


def retention_model(subs: pd.DataFrame | None, as_of, *, grace_days: int, cohort_freq: str, period_months: int,
                    min_cohort_size: int, holdout_periods: int, horizon_periods: int,
                    discount_rate_monthly: float) -> RetentionModel:
    """The contractual retention section: histories, per-cohort sBG fits, curves, holdout
    check and residual values. Without a subscriptions table (None or no rows) every frame is
    empty and a ``retention.no_subscriptions`` note (kind ``omitted``) says so; with one
    whose contracts give no renewal chain by ``as_of``, a ``retention.no_chains`` note."""
    settings = {"grace_days": grace_days, "cohort_freq": cohort_freq, "period_months": period_months,
                "min_cohort_size": min_cohort_size, "holdout_periods": holdout_periods,
                "horizon_periods": horizon_periods, "discount_rate_monthly": discount_rate_monthly}
    d = (1.0 + discount_rate_monthly) ** period_months - 1.0
    if subs is None or subs.empty:
        empty = RetentionModel(pd.DataFrame(columns=HISTORY_COLUMNS), {}, pd.DataFrame(columns=PARAM_COLUMNS),
                               pd.DataFrame(columns=CURVE_COLUMNS), pd.DataFrame(columns=HOLDOUT_COLUMNS), {},
                               pd.DataFrame(columns=VALUE_COLUMNS), d, settings,
                               [_note("retention.no_subscriptions", "omitted")])
        return empty
    hist, notes = renewal_histories(subs, as_of, grace_days=grace_days, cohort_freq=cohort_freq,
                                    period_months=period_months)
    if hist.empty:
        notes.append(_note("retention.no_chains", "omitted", as_of=pd.Timestamp(as_of).date().isoformat()))
    fits, params, fit_notes = fit_cohorts(hist, min_cohort_size=min_cohort_size)
    holdout, holdout_fits, holdout_notes = holdout_check(hist, holdout_periods=holdout_periods,
                                                         min_cohort_size=min_cohort_size)
    values, value_notes = subscription_values(hist, fits, discount_rate=d, horizon_periods=horizon_periods)
    curves = retention_curves(hist, fits, horizon_periods=horizon_periods)
    return RetentionModel(hist, fits, params, curves, holdout, holdout_fits, values, d, settings,
                          notes + fit_notes + holdout_notes + value_notes)


def customer_residual_values(values: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Per customer of ``index``: ``contract_residual_value`` (the sum of the discounted expected
    residual values of the customer's running contracts, :data:`VALUE_COLUMNS`) and
    ``contract_renewal_prob`` (the next renewal's probability of the customer's largest running
    contract); NaN for customers without a valued running contract."""
    out = pd.DataFrame(index=index)
    v = values.dropna(subset=["residual_value"]) if len(values) else values
    if not len(v):
        out["contract_residual_value"] = np.nan
        out["contract_renewal_prob"] = np.nan
        return out
    ids = v["customer_id"].astype(str)
    out["contract_residual_value"] = v.groupby(ids)["residual_value"].sum().reindex(index.astype(str)).to_numpy()
    top = v.assign(_id=ids).sort_values("residual_value", ascending=False, kind="mergesort").drop_duplicates("_id")
    out["contract_renewal_prob"] = top.set_index("_id")["next_renewal_prob"].reindex(index.astype(str)).to_numpy()
    return out
