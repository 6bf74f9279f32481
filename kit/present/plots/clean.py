"""Plots of stage 01 (cleaning).

Every function takes the data, ``ax=None`` (a new figure when None) and ``lang``, returns
the ``Axes``, never calls ``show()`` and never saves. Words come from the catalogue
(``kit/present/messages/clean.yml``); a caller may override a title or an axis label.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from kit.present.messages import text
from kit.present.plotting import PALETTE, money_formatter, new_ax
from kit.stages.features import purchase_mask


def plot_monthly(
    months: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    title: str | None = None,
    orders_label: str | None = None,
    revenue_label: str | None = None,
    currency: str = "",
) -> Axes:
    """Bars: orders per month; line (right axis): net revenue per month.

    ``months`` is :func:`kit.stages.clean.monthly` of the clean transactions (``orders``,
    ``revenue``, indexed by month)."""
    orders_label = text("clean.plot.orders", lang) if orders_label is None else orders_label
    revenue_label = text("clean.plot.net_revenue", lang) if revenue_label is None else revenue_label
    ax = new_ax(ax, figsize=(9, 4))
    x = np.arange(len(months))
    ax.bar(x, months["orders"].to_numpy(), color=PALETTE[0], alpha=0.75, label=orders_label)
    ax.set_ylabel(orders_label)
    ax2 = ax.twinx()
    ax2.plot(x, months["revenue"].to_numpy(), color=PALETTE[1], marker="o", ms=3, label=revenue_label)
    ax2.set_ylabel(revenue_label)
    ax2.set_ylim(bottom=min(0.0, float(months["revenue"].min()) if len(months) else 0.0))
    ax2.yaxis.set_major_formatter(money_formatter(currency))
    ax2.grid(False)
    step = max(1, len(months) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([str(p) for p in months.index[::step]], rotation=45, ha="right")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [orders_label, revenue_label], loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=2, frameon=False)
    if title:
        ax.set_title(title, pad=24)
    return ax


def plot_amount_distribution(
    tx: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    threshold: float | None = None,
    currency: str = "",
    bins: int = 50,
) -> Axes:
    """Histogram of purchase amounts (:func:`kit.stages.features.purchase_mask`) on a log
    scale, with the outlier threshold when given."""
    ax = new_ax(ax)
    a = tx.loc[purchase_mask(tx).to_numpy(), "amount"].to_numpy()
    if len(a):
        edges = np.logspace(np.log10(a.min()), np.log10(a.max()) + 1e-9, bins + 1)
        ax.hist(a, bins=edges, color=PALETTE[0], alpha=0.85)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(money_formatter(currency))
    if threshold is not None:
        ax.axvline(threshold, color=PALETTE[3], ls="--", label=text("clean.plot.outlier_threshold", lang))
        ax.legend(frameon=False)
    ax.set_xlabel(text("clean.plot.amount_log", lang) if xlabel is None else xlabel)
    ax.set_ylabel(text("clean.plot.orders", lang) if ylabel is None else ylabel)
    if title:
        ax.set_title(title)
    return ax
