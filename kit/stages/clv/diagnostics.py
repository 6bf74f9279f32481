"""The diagnostics users know from lifetimes and BTYD.

* :func:`period_transactions`: observed vs model-expected number of customers by repeat
  purchases in the calibration period (lifetimes' ``plot_period_transactions``: like
  lifetimes, the expected counts come from histories simulated from the fitted model over
  each customer's own age, here seeded and averaged over ``replicates`` populations);
* :func:`incremental_tracking`: the weekly (incremental) repeat purchases beside the
  cumulative tracking curve (BTYD's ``pnbd.PlotTrackingInc``);
* :func:`p_alive_history`: P(alive) over time for a few customers (lifetimes'
  ``plot_history_alive``): at the end of every week since the first purchase, the model's
  P(alive) given the history up to then.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kit.stages.clv.results import BgNbdResult
from kit.core.periods import local_days
from kit.stages.summary import TIME_UNIT_DAYS


def _simulate_counts(fit: BgNbdResult, T: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Repeat purchases in (0, T] of one population drawn from the fitted model."""
    prm, n = fit.params_, len(T)
    lam = rng.gamma(prm["r"], 1 / prm["alpha"], n)
    if fit.kind_ == "pareto_nbd":
        life = rng.exponential(1, n) / rng.gamma(prm["s"], 1 / prm["beta"], n)
        return rng.poisson(lam * np.minimum(T, life)).astype(float)
    p = rng.beta(prm["a"], prm["b"], n)
    x, t = np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool) if fit.kind_ == "bgnbd" else rng.uniform(size=n) >= p  # MBG/NBD: may die at 0
    while alive.any():
        t = t + rng.exponential(1, n) / lam
        buy = alive & (t <= T)
        x[buy] += 1
        alive = buy & (rng.uniform(size=n) >= p)
    return x


def period_transactions(fit: BgNbdResult, frequency, T, *, max_bin: int = 7, replicates: int = 20,
                        seed: int = 0) -> pd.DataFrame:
    """Customers by repeat purchases, observed and expected under ``fit`` (seeded simulation).

    Returns
    -------
    DataFrame
        Index ``frequency_cal`` ``"0" .. "{max_bin-1}", "{max_bin}+"``; columns ``actual`` and
        ``expected`` (customers).
    """
    fit._require()
    f = np.minimum(np.asarray(frequency, dtype=float), max_bin).astype(int)
    T = np.asarray(T, dtype=float)
    rng = np.random.default_rng(seed)
    expected = np.zeros(max_bin + 1)
    for _ in range(replicates):
        sim = np.minimum(_simulate_counts(fit, T, rng), max_bin).astype(int)
        expected += np.bincount(sim, minlength=max_bin + 1)
    labels = [str(i) for i in range(max_bin)] + [f"{max_bin}+"]
    return pd.DataFrame({"actual": np.bincount(f, minlength=max_bin + 1).astype(float),
                         "expected": expected / replicates}, index=pd.Index(labels, name="frequency_cal"))


def incremental_tracking(tracking: pd.DataFrame) -> pd.DataFrame:
    """Weekly repeat purchases, actual and expected: the differences of the cumulative curve."""
    inc = tracking[["actual", "predicted"]].diff()
    if len(tracking):
        inc.iloc[0] = tracking[["actual", "predicted"]].iloc[0]
    return pd.concat([tracking[["date"]], inc], axis=1)


def p_alive_history(fit: BgNbdResult, transactions: pd.DataFrame, customer_ids: Sequence[str], as_of, *,
                    step_days: int = 7, customer_col: str = "customer_id",
                    date_col: str = "order_date") -> pd.DataFrame:
    """P(alive) at the end of each ``step_days`` from each customer's first purchase to ``as_of``
    and on each purchase day (just after the purchase).

    Returns
    -------
    DataFrame
        Columns ``customer_id``, ``date``, ``p_alive``, ``purchase`` (True on the steps
        with a purchase); one row per customer and step.
    """
    fit._require()
    unit = TIME_UNIT_DAYS[fit.time_unit_]
    end = pd.Timestamp(as_of).normalize()
    rows = []
    tx = transactions[transactions[customer_col].astype(str).isin([str(c) for c in customer_ids])]
    days_all = local_days(tx[date_col])
    for cid in customer_ids:
        days = np.unique(days_all[tx[customer_col].astype(str) == str(cid)].to_numpy())
        days = days[days <= np.datetime64(end)]
        if not len(days):
            continue
        grid = pd.date_range(pd.Timestamp(days[0]), end, freq=f"{step_days}D").union(
            pd.DatetimeIndex(days)).union([end]).to_numpy()
        n_by = np.searchsorted(days, grid, side="right")  # purchase days up to each grid date
        x = (n_by - 1).astype(float)
        tx_ = (days[n_by - 1] - days[0]) / np.timedelta64(1, "D") / unit
        T = (grid - days[0]) / np.timedelta64(1, "D") / unit
        bought = np.isin(grid, days)
        rows.append(pd.DataFrame({"customer_id": str(cid), "date": grid, "p_alive": fit.p_alive(x, tx_, T),
                                  "purchase": bought}))
    if not rows:
        return pd.DataFrame({"customer_id": pd.Series([], dtype=str), "date": pd.Series([], dtype="datetime64[ns]"),
                             "p_alive": pd.Series([], dtype=float), "purchase": pd.Series([], dtype=bool)})
    return pd.concat(rows, ignore_index=True)


def action_customers(scores: pd.DataFrame, n: int = 3) -> list[str]:
    """A few customers of the action list: the highest CLV among those the model thinks may
    have left (P(alive) < 0.5), else the highest CLV."""
    d = scores[scores["clv"].notna()]
    risky = d[d["p_alive"] < 0.5]
    pick = (risky if len(risky) >= n else d).sort_values("clv", ascending=False).head(n)
    return [str(i) for i in pick.index]
