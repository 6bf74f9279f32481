"""A BG/NBD + Gamma-Gamma simulator for benchmarks (Fader, Hardie & Lee 2005; Fader &
Hardie 2013), vectorised for a million customers."""
from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_bgnbd(n_customers: int, r: float = 0.243, alpha: float = 4.414, a: float = 0.793,
                   b: float = 2.426, p: float = 6.25, q: float = 3.74, gamma: float = 15.44,
                   T_weeks: float = 78, seed: int = 0, start: str = "2024-01-01",
                   birth_weeks: float = 12.0) -> pd.DataFrame:
    """Draw transactions from the BG/NBD purchase story and Gamma-Gamma spend.

    Per customer (Fader, Hardie & Lee 2005, section 3; Fader & Hardie 2013):
    purchase rate ``lambda ~ Gamma(r, rate=alpha)`` per week, drop-out probability
    ``pi ~ Beta(a, b)``; the first purchase at a birth time uniform in
    ``[0, birth_weeks)``, then repeat purchases as a Poisson process with rate
    ``lambda``; after each repeat purchase the customer becomes inactive with
    probability ``pi``. Spend: ``nu ~ Gamma(q, rate=gamma)``, each order value
    ``z ~ Gamma(p, rate=nu)`` (mean ``p / nu``).

    Vectorised: with ``N ~ Poisson(lambda (T - birth))`` arrivals in the customer's
    window and ``J ~ Geometric(pi)`` the repeat purchase after which it drops out, the
    customer makes ``x = min(N, J)`` repeats at the first ``x`` order statistics of
    ``N`` uniforms, drawn as ``S_k / (S_x + G)`` with ``S_k`` sums of unit exponentials
    and ``G ~ Gamma(N + 1 - x)``.

    Parameters
    ----------
    n_customers : int
        Customers to draw.
    r, alpha, a, b : float
        BG/NBD parameters (time unit: week). Defaults: the CDNOW fit.
    p, q, gamma : float
        Gamma-Gamma parameters. Defaults: the CDNOW fit.
    T_weeks : float
        Length of the observation window in weeks, from ``start``.
    seed : int
        Seed of ``numpy.random.default_rng``.
    start : str
        Calendar date of week 0.
    birth_weeks : float
        First purchases are spread uniformly over the first ``birth_weeks`` weeks.

    Returns
    -------
    DataFrame
        ``customer_id`` (int64, 1-based), ``order_date`` (day precision), ``amount``
        (2 decimals), one row per purchase, sorted by customer and date.
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be >= 1 (got {n_customers})")
    if not 0 <= birth_weeks < T_weeks:
        raise ValueError("birth_weeks must be in [0, T_weeks)")
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    lam = rng.gamma(r, 1.0 / alpha, n)
    pi = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    birth = rng.uniform(0.0, birth_weeks, n)
    span = T_weeks - birth
    arrivals = rng.poisson(lam * span)
    drop_after = rng.geometric(pi)
    x = np.minimum(arrivals, drop_after)
    owner, t_repeat = _repeat_times(rng, x, arrivals, birth, span)

    cust = np.concatenate([np.arange(n), owner])
    t = np.concatenate([birth, t_repeat])
    order = np.lexsort((t, cust))
    cust, t = cust[order], t[order]
    nu = rng.gamma(q, 1.0 / gamma, n)
    amount = np.maximum(np.round(rng.gamma(p, 1.0 / nu[cust]), 2), 0.01)
    days = np.floor(t * 7).astype("int64")
    dates = np.datetime64(start, "D") + days.astype("timedelta64[D]")
    return pd.DataFrame({
        "customer_id": (cust + 1).astype("int64"),
        "order_date": pd.to_datetime(dates).as_unit("ns"),
        "amount": amount,
    })


def _repeat_times(
    rng: np.random.Generator, x: np.ndarray, arrivals: np.ndarray, birth: np.ndarray, span: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Owner and time of each repeat purchase: the first ``x`` order statistics of ``arrivals``
    uniforms on the customer's window, drawn as ``S_k / (S_x + G)``."""
    n = len(x)
    total = int(x.sum())
    expo = rng.exponential(1.0, total)
    csum = np.cumsum(expo)
    padded = np.concatenate([[0.0], csum])          # padded[j] = sum of the first j exponentials
    ends = np.cumsum(x)
    before = padded[ends - x]                       # sum before each customer's own draws
    s_k = csum - np.repeat(before, x)               # S_1..S_x per customer
    s_x = padded[ends] - before
    rest = rng.gamma(arrivals - x + 1.0)
    owner = np.repeat(np.arange(n), x)
    return owner, birth[owner] + span[owner] * s_k / (s_x + rest)[owner]
