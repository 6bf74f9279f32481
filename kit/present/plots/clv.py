"""Charts of the CLV stage (notebook 04_clv, data from :mod:`kit.stages.clv`).

Every function is ``plot_x(data, *, ax=None, lang="zh", ...) -> Axes``: a new figure when
``ax`` is None, all words from the message catalogue (``clv.plot.*``) in ``lang``, never
``show()``, never saved.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import NullFormatter

from kit.present.messages import text
from kit.present.plotting import PALETTE, money_formatter, new_ax

#: The values :func:`plot_frequency_recency` draws, and their message codes.
MATRIX_VALUES = {"p_alive": "clv.plot.p_alive", "expected_purchases": "clv.plot.expected_purchases"}


def plot_conditional_expectation(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    naive: bool = True,
) -> Axes:
    """Mean holdout purchases by calibration frequency, actual vs model (FHL05 figure 4).

    Parameters
    ----------
    table : DataFrame
        :func:`kit.stages.clv.conditional_expectation_table` (index bins, columns ``actual``,
        ``predicted`` [, ``naive``]).
    naive : bool
        Draw the naive baseline too when the table has ``naive``.
    """
    ax = new_ax(ax)
    x = np.arange(len(table))
    ax.plot(x, table["actual"], marker="o", color=PALETTE[0], label=text("clv.plot.actual", lang))
    ax.plot(x, table["predicted"], marker="s", linestyle="--", color=PALETTE[1], label=text("clv.plot.model", lang))
    if naive and "naive" in table:
        ax.plot(x, table["naive"], marker="^", linestyle=":", color=PALETTE[7], label=text("clv.plot.naive", lang))
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set(title=text("clv.plot.conditional_title", lang), xlabel=text("clv.plot.conditional_x", lang),
           ylabel=text("clv.plot.conditional_y", lang))
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax


def plot_tracking(
    tracking: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    calibration_weeks: float | None = None,
) -> Axes:
    """Cumulative repeat purchases by week, actual vs model (FHL05 figure 2).

    Parameters
    ----------
    tracking : DataFrame
        :func:`kit.stages.clv.cumulative_tracking` (index week, columns ``actual``, ``predicted``).
    calibration_weeks : float, optional
        Draws a vertical line where the calibration period ends.
    """
    ax = new_ax(ax)
    ax.plot(tracking.index, tracking["actual"], color=PALETTE[0], label=text("clv.plot.actual", lang))
    ax.plot(tracking.index, tracking["predicted"], color=PALETTE[1], linestyle="--",
            label=text("clv.plot.model", lang))
    if calibration_weeks is not None and np.isfinite(calibration_weeks):
        ax.axvline(calibration_weeks, color="#888888", linestyle=":", label=text("clv.plot.calibration_end", lang))
    ax.set(title=text("clv.plot.tracking_title", lang), xlabel=text("clv.plot.tracking_x", lang),
           ylabel=text("clv.plot.tracking_y", lang))
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax


def plot_frequency_recency(
    matrix: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    value: Literal["p_alive", "expected_purchases"] = "p_alive",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    ylabel: bool = True,
    colorbar_label: bool = False,
) -> Axes:
    """Heatmap of a frequency x recency matrix (P(alive) or expected purchases).

    Parameters
    ----------
    matrix : DataFrame
        :func:`kit.stages.clv.p_alive_matrix` or :func:`kit.stages.clv.expected_purchases_matrix`
        (index recency, columns frequency). Drawn with recency growing upwards; NaN cells
        (impossible histories) are left blank.
    value : ``p_alive`` or ``expected_purchases``
        What the matrix holds (the title, and the colour bar's label with ``colorbar_label``).
    ylabel : bool
        Label the y axis (off for the right one of two panels side by side).
    """
    ax = new_ax(ax)
    values = np.ma.masked_invalid(matrix.to_numpy(dtype=float))
    f = matrix.columns.to_numpy(dtype=float)
    r = matrix.index.to_numpy(dtype=float)
    extent = (f.min() - 0.5, f.max() + 0.5, r.min(), r.max() if len(r) > 1 else r.min() + 1)
    im = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap, extent=extent, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    cbar = ax.figure.colorbar(im, ax=ax)
    name = text(MATRIX_VALUES[value], lang)
    if colorbar_label:
        cbar.set_label(name)
    ax.set(title=name, xlabel=text("clv.plot.repeat_purchases", lang),
           ylabel=text("clv.plot.last_purchase", lang) if ylabel else "")
    ax.grid(False)
    return ax


def plot_clv_distribution(
    clv: pd.Series,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    currency: str = "",
    bins: int = 50,
    log: bool = True,
) -> Axes:
    """Histogram of CLV per customer (log-spaced bins by default: CLV is heavy-tailed).

    Non-finite values are left out; with ``log=True`` so are values <= 0 (the caller's
    text should say how many there are if it matters), and values below the 0.5th
    percentile are counted in the first bin.
    """
    ax = new_ax(ax)
    labels = dict(title=text("clv.plot.distribution_title", lang), ylabel=text("clv.plot.customers", lang),
                  xlabel=text("clv.plot.distribution_x" if log else "clv.plot.distribution_x_linear", lang))
    v = pd.Series(clv, dtype=float).to_numpy()
    v = v[np.isfinite(v)]
    if log:
        v = v[v > 0]
    if len(v) == 0:
        ax.set(**labels)
        return ax
    if log and v.max() > v.min():
        # a few near-zero values would stretch the axis over empty decades: values below
        # the 0.5th percentile are drawn in the first bin
        low = max(v.min(), float(np.quantile(v, 0.005)))
        v = np.clip(v, low, None)
        edges = np.logspace(np.log10(low), np.log10(v.max()), bins + 1)
        ax.hist(v, bins=edges, color=PALETTE[0])
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.hist(v, bins=bins, color=PALETTE[0])
    ax.xaxis.set_major_formatter(money_formatter(currency))
    ax.set(**labels)
    return ax


def plot_period_transactions(table: pd.DataFrame, *, ax: Axes | None = None, lang: str = "zh") -> Axes:
    """Customers by calibration repeat purchases, observed vs the model's expectation
    (lifetimes' ``plot_period_transactions``; :func:`kit.stages.clv.period_transactions`)."""
    ax = new_ax(ax)
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["actual"], width=0.4, color=PALETTE[0], label=text("clv.plot.actual", lang))
    ax.bar(x + 0.2, table["expected"], width=0.4, color=PALETTE[1], label=text("clv.plot.model", lang))
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set(title=text("clv.plot.period_title", lang), xlabel=text("clv.plot.conditional_x", lang),
           ylabel=text("clv.plot.customers", lang))
    ax.legend()
    return ax


def plot_tracking_incremental(incremental: pd.DataFrame, *, ax: Axes | None = None, lang: str = "zh",
                              calibration_weeks: float | None = None) -> Axes:
    """Weekly repeat purchases, actual vs model (:func:`kit.stages.clv.incremental_tracking`)."""
    ax = new_ax(ax)
    ax.plot(incremental.index, incremental["actual"], color=PALETTE[0], label=text("clv.plot.actual", lang))
    ax.plot(incremental.index, incremental["predicted"], color=PALETTE[1], linestyle="--",
            label=text("clv.plot.model", lang))
    if calibration_weeks is not None and np.isfinite(calibration_weeks):
        ax.axvline(calibration_weeks, color="#888888", linestyle=":", label=text("clv.plot.calibration_end", lang))
    ax.set(title=text("clv.plot.incremental_title", lang), xlabel=text("clv.plot.tracking_x", lang),
           ylabel=text("clv.plot.incremental_y", lang))
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax


def plot_p_alive_history(history: pd.DataFrame, *, ax: Axes | None = None, lang: str = "zh") -> Axes:
    """P(alive) over time per customer, purchases marked (lifetimes' ``plot_history_alive``;
    :func:`kit.stages.clv.p_alive_history`)."""
    ax = new_ax(ax)
    for i, (cid, d) in enumerate(history.groupby("customer_id", sort=False)):
        color = PALETTE[i % len(PALETTE)]
        ax.plot(d["date"], d["p_alive"], color=color, label=str(cid))
        bought = d[d["purchase"]]
        ax.scatter(bought["date"], bought["p_alive"], color=color, marker="o", s=18)
    ax.set(title=text("clv.plot.history_title", lang), ylabel=text("clv.plot.p_alive", lang))
    ax.set_ylim(0, 1.02)
    if len(history):
        ax.legend(title=text("clv.plot.customer", lang))
    return ax
