"""Small drawing and formatting helpers shared by the generator's steps."""
from __future__ import annotations

import numpy as np
import pandas as pd

def _count(rate: float, base: int) -> int:
    """Injected rows for a rate: at least one, so small samples still show every defect."""
    return max(1, int(round(rate * base)))


def _pick(rng: np.random.Generator, weights: dict[str, float] | list[float], size: int) -> np.ndarray:
    """Draw ``size`` labels (or indices for a list) with the given weights."""
    if isinstance(weights, dict):
        labels = np.array(list(weights), dtype=object)
        w = np.array(list(weights.values()), dtype=float)
        return labels[rng.choice(len(labels), size=size, p=w / w.sum())]
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def _log_uniform(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi)))


def _to_dates(origin: pd.Timestamp, days: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(origin + pd.to_timedelta(np.asarray(days, dtype="int64"), unit="D"))


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _format_dates(dates: pd.DatetimeIndex, kinds: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Write each date in its export format (``DATE_FORMATS`` labels)."""
    hours = rng.integers(8, 19, size=len(dates))
    minutes = rng.integers(0, 60, size=len(dates))
    seconds = rng.integers(0, 60, size=len(dates))
    out = []
    for y, m, d, k, hh, mm, ss in zip(dates.year, dates.month, dates.day, kinds, hours, minutes, seconds):
        if k == "iso":
            out.append(f"{y:04d}-{m:02d}-{d:02d}")
        elif k == "iso_time":
            out.append(f"{y:04d}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}")
        elif k == "slash":
            out.append(f"{y}/{m}/{d}")
        elif k == "compact":
            out.append(f"{y:04d}{m:02d}{d:02d}")
        else:
            out.append(f"{y}年{m}月{d}日")
    return out


def _format_amount(value: float, kind: str) -> str:
    """Write one amount in its export format (``AMOUNT_FORMATS`` labels, or ``parentheses``)."""
    if kind == "plain":
        return f"{value:.2f}"
    if kind == "thousands":
        return f"{value:,.2f}"
    if kind == "yuan_fullwidth":
        return f"￥{value:,.2f}"
    if kind == "rmb":
        return f"RMB {value:,.2f}"
    if kind == "fullwidth_digits":
        return f"{value:.2f}".translate(_FULLWIDTH)
    if kind == "parentheses":
        return f"({abs(value):,.2f})"
    raise ValueError(f"unknown amount format {kind!r}")


def _format_id(cid: str, kind: str, rng: np.random.Generator) -> str:
    if kind == "spaces":
        return [" " + cid, cid + " ", " " + cid + "  "][int(rng.integers(3))]
    if kind == "fullwidth_space":
        return ["\u3000" + cid, cid + "\u3000"][int(rng.integers(2))]
    return cid


def _quarter_start(day: pd.Timestamp) -> pd.Timestamp:
    return day.to_period("Q").start_time
