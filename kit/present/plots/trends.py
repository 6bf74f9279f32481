"""Plots of the trend across periods (the index page's trend section).

``data`` is the trend frame of :func:`kit.publish.history.trend_frame`: one row per period,
oldest first, indexed by the period label, with ``customers``, ``active_customers``,
``revenue``, ``total_clv``, ``churn_risk_high`` ... and ``backfilled`` (a period computed
by ``kit backfill`` from the transaction log, drawn with an open marker). Every function
takes ``ax=None`` (a new figure when None) and ``lang``, returns the ``Axes``, never calls
``show()`` and never saves. Words come from the catalogue (``history.yml``, ``index.yml``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from kit.present.messages import text
from kit.present.plotting import PALETTE, new_ax


def _x_axis(ax: Axes, data: pd.DataFrame) -> np.ndarray:
    x = np.arange(len(data))
    ax.set_xticks(x)
    ax.set_xticklabels([str(p) for p in data.index], rotation=30 if len(data) > 6 else 0,
                       ha="right" if len(data) > 6 else "center")
    ax.set_xlim(-0.5, len(data) - 0.5)
    return x


def _backfilled(data: pd.DataFrame) -> np.ndarray:
    if "backfilled" not in data.columns:
        return np.zeros(len(data), dtype=bool)
    return data["backfilled"].fillna(False).astype(bool).to_numpy()


def _line(ax: Axes, x: np.ndarray, y: np.ndarray, back: np.ndarray, color: str, label: str) -> None:
    """A line with filled markers for run periods and open ones for backfilled periods."""
    ax.plot(x, y, color=color, marker="o", ms=5, lw=1.8, label=label)
    if back.any():
        ax.plot(x[back], y[back], ls="none", marker="o", ms=5, color=color, markerfacecolor="white")


def _legend(ax: Axes, back: np.ndarray, lang: str, handles=None, labels=None) -> None:
    h, lab = ax.get_legend_handles_labels() if handles is None else (handles, labels)
    if back.any():
        h = [*h, ax.plot([], [], ls="none", marker="o", color="#555", markerfacecolor="white")[0]]
        lab = [*lab, text("history.plot.backfilled", lang)]
    ax.legend(h, lab, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(h), 4), frameon=False,
              fontsize=9)


def _top(values: np.ndarray) -> float:
    """An axis top with room above the largest value (1 when there is none)."""
    finite = values[np.isfinite(values)]
    return float(finite.max()) * 1.15 if finite.size and finite.max() > 0 else 1.0


def money_axis(values: np.ndarray, currency: str = "", lang: str = "zh") -> FuncFormatter:
    """Tick labels in one unit for the whole axis, chosen by its largest value (亿 on a zh
    chart of yuan from 100 million, else M or K), so that one axis never mixes units."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    if top >= 1e8 and currency in ("¥", "￥", "CNY") and lang == "zh":
        scale, unit = 1e8, "亿"
    elif top >= 1e6:
        scale, unit = 1e6, "M"
    elif top >= 1e3:
        scale, unit = 1e3, "K"
    else:
        scale, unit = 1.0, ""

    def fmt(x: float, _pos: int | None = None) -> str:
        if x == 0:
            return f"{currency}0"
        return f"{currency}{f'{x / scale:.2f}'.rstrip('0').rstrip('.')}{unit}"

    return FuncFormatter(fmt)


def plot_customer_trend(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    title: str | None = None,
) -> Axes:
    """Lines per period: customers, active customers and customers at high churn risk."""
    ax = new_ax(ax, figsize=(7.2, 3.8))
    x, back = _x_axis(ax, data), _backfilled(data)
    series = [("customers", "index.figure.customers"), ("active_customers", "index.figure.active_customers"),
              ("churn_risk_high", "history.plot.high_risk")]
    for (col, code), color in zip(series, PALETTE):
        if col in data.columns:
            _line(ax, x, data[col].to_numpy(dtype=float), back, color, text(code, lang))
    shown = [data[c].to_numpy(dtype=float) for c, _ in series if c in data.columns]
    ax.set_ylim(0, _top(np.concatenate(shown)) if shown else 1.0)
    ax.set_ylabel(text("history.plot.customers_axis", lang))
    _legend(ax, back, lang)
    if title:
        ax.set_title(title, fontweight="normal", pad=28)
    return ax


def plot_value_trend(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    currency: str = "",
    title: str | None = None,
) -> Axes:
    """Bars: revenue of each period; line: the predicted CLV total as of each period's end
    (a gap where a period has no CLV)."""
    ax = new_ax(ax, figsize=(7.2, 3.8))
    x, back = _x_axis(ax, data), _backfilled(data)
    revenue = data["revenue"].to_numpy(dtype=float) if "revenue" in data.columns else np.full(len(data), np.nan)
    colors = ["#a9bfd6" if b else PALETTE[0] for b in back]
    ax.bar(x, np.nan_to_num(revenue), color=colors, width=0.6, label=text("index.figure.revenue", lang))
    ax.set_ylim(0, _top(revenue))
    ax.set_ylabel(text("index.figure.revenue", lang))
    ax.yaxis.set_major_formatter(money_axis(revenue * 1.15, currency, lang))
    ax2 = ax.twinx()
    clv = data["total_clv"].to_numpy(dtype=float) if "total_clv" in data.columns else np.full(len(data), np.nan)
    _line(ax2, x, clv, back, PALETTE[1], text("index.figure.total_clv", lang))
    ax2.set_ylabel(text("index.figure.total_clv", lang))
    ax2.yaxis.set_major_formatter(money_axis(clv * 1.15, currency, lang))
    ax2.set_ylim(0, _top(clv))
    ax2.grid(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    _legend(ax, back, lang, h1 + h2, l1 + l2)
    if title:
        ax.set_title(title, fontweight="normal", pad=28)
    return ax
