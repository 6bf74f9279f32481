"""Reporting periods: labels, ends, the previous period, and calendar arithmetic."""
from __future__ import annotations

import pandas as pd


def period_end(date: pd.Timestamp | str, period: str) -> pd.Timestamp:
    """Last day of the month or quarter holding ``date``."""
    ts = pd.Timestamp(date).normalize()
    freq = "Q" if period == "quarter" else "M"
    return ts.to_period(freq).end_time.normalize()


def previous_period_end(as_of: pd.Timestamp | str, period: str) -> pd.Timestamp:
    """Last day of the period before the one ending at (or holding) ``as_of``."""
    ts = pd.Timestamp(as_of).normalize()
    freq = "Q" if period == "quarter" else "M"
    return (ts.to_period(freq) - 1).end_time.normalize()


def period_start(as_of: pd.Timestamp | str, period: str) -> pd.Timestamp:
    """First day of the period holding ``as_of``."""
    freq = "Q" if period == "quarter" else "M"
    return pd.Timestamp(as_of).to_period(freq).start_time.normalize()


def period_label(as_of: pd.Timestamp | str, period: str) -> str:
    """``2026-Q3`` for quarters, ``2026-09`` for months: the run folder's name."""
    ts = pd.Timestamp(as_of)
    if period == "quarter":
        return f"{ts.year}-Q{ts.quarter}"
    return f"{ts.year}-{ts.month:02d}"


def months_between(earlier: pd.Series | pd.Timestamp, later: pd.Timestamp) -> pd.Series | float:
    """Elapsed months as days / 30.4375 (the mean Gregorian month, as lifetimes uses)."""
    delta = later - earlier
    days = delta.dt.days if isinstance(delta, pd.Series) else delta.days
    return days / 30.4375


def add_months(date: pd.Timestamp, months: int) -> pd.Timestamp:
    """Calendar month arithmetic that clamps to month ends (Jan 31 + 1 month = Feb 28/29)."""
    return pd.Timestamp(date) + pd.DateOffset(months=months)


def local_datetimes(values: pd.Series) -> pd.Series:
    """``values`` as naive datetimes, a time zone's local wall-clock time kept (a purchase at
    23:30 in Shanghai stays on its Shanghai day): what every day count of the kit reads."""
    dates = values if pd.api.types.is_datetime64_any_dtype(values) else pd.to_datetime(values)
    return dates.dt.tz_localize(None) if dates.dt.tz is not None else dates


def local_days(values: pd.Series) -> pd.Series:
    """:func:`local_datetimes` floored to the day (lifetimes' ``to_period("D")``)."""
    return local_datetimes(values).dt.floor("D")
