"""Charts of the CLV stage (:mod:`kit.clv`).

Every function takes ``ax=None`` (a new figure when None), returns the ``Axes``, never
calls ``show()`` and never saves. Text comes from the caller, already in the report
language (``ctx.t("...", "...")``); nothing here is worded in one language.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from kit.present.plotting import PALETTE, money_formatter, new_ax


def plot_conditional_expectation(
    table: pd.DataFrame,
    ax=None,
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    actual_label: str = "actual",
    predicted_label: str = "model",
    naive_label: str | None = None,
):
    """Mean holdout purchases by calibration frequency, actual vs model (FHL05 figure 4).

    Parameters
    ----------
    table : DataFrame
        :func:`kit.clv.conditional_expectation_table` (index bins, columns ``actual``,
        ``predicted`` [, ``naive``]).
    naive_label : str, optional
        When given and the table has ``naive``, the baseline is drawn too.
    """
    ax = new_ax(ax)
    x = np.arange(len(table))
    ax.plot(x, table["actual"], marker="o", color=PALETTE[0], label=actual_label)
    ax.plot(x, table["predicted"], marker="s", linestyle="--", color=PALETTE[1], label=predicted_label)
    if naive_label and "naive" in table:
        ax.plot(x, table["naive"], marker="^", linestyle=":", color=PALETTE[7], label=naive_label)
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax


def plot_tracking(
    tracking: pd.DataFrame,
    ax=None,
    *,
    calibration_weeks: float | None = None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    actual_label: str = "actual",
    predicted_label: str = "model",
    calibration_label: str = "",
):
    """Cumulative repeat purchases by week, actual vs model (FHL05 figure 2).

    Parameters
    ----------
    tracking : DataFrame
        :func:`kit.clv.cumulative_tracking` (index week, columns ``actual``, ``predicted``).
    calibration_weeks : float, optional
        Draws a vertical line where the calibration period ends.
    """
    ax = new_ax(ax)
    ax.plot(tracking.index, tracking["actual"], color=PALETTE[0], label=actual_label)
    ax.plot(tracking.index, tracking["predicted"], color=PALETTE[1], linestyle="--", label=predicted_label)
    if calibration_weeks is not None and np.isfinite(calibration_weeks):
        ax.axvline(calibration_weeks, color="#888888", linestyle=":", label=calibration_label or None)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax


def plot_frequency_recency(
    matrix: pd.DataFrame,
    ax=None,
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    cbar_label: str = "",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
):
    """Heatmap of a frequency x recency matrix (P(alive) or expected purchases).

    Parameters
    ----------
    matrix : DataFrame
        :func:`kit.clv.p_alive_matrix` or :func:`kit.clv.expected_purchases_matrix`
        (index recency, columns frequency). Drawn with recency growing upwards; NaN cells
        (impossible histories) are left blank.
    """
    ax = new_ax(ax)
    values = np.ma.masked_invalid(matrix.to_numpy(dtype=float))
    f = matrix.columns.to_numpy(dtype=float)
    r = matrix.index.to_numpy(dtype=float)
    extent = (f.min() - 0.5, f.max() + 0.5, r.min(), r.max() if len(r) > 1 else r.min() + 1)
    im = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap, extent=extent, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    cbar = ax.figure.colorbar(im, ax=ax)
    if cbar_label:
        cbar.set_label(cbar_label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(False)
    return ax


def plot_clv_distribution(
    clv: pd.Series,
    ax=None,
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    currency: str = "",
    bins: int = 50,
    log: bool = True,
):
    """Histogram of CLV per customer (log-spaced bins by default: CLV is heavy-tailed).

    Non-finite values are left out; with ``log=True`` so are values <= 0 (the caller's
    text should say how many there are if it matters), and values below the 0.5th
    percentile are counted in the first bin.
    """
    ax = new_ax(ax)
    v = pd.Series(clv, dtype=float).to_numpy()
    v = v[np.isfinite(v)]
    if log:
        v = v[v > 0]
    if len(v) == 0:
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
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
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax
