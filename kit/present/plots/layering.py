"""Plots of stage 02 (customer layering).

Every function takes the data, ``ax=None`` (a new figure when None) and ``lang``, returns
the ``Axes``, never calls ``show()`` and never saves. Words come from the catalogue
(``kit/present/messages/layering.yml``); a caller may override a title or an axis label.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from kit.core import registry
from kit.present.messages import label, text
from kit.present.plotting import PALETTE, money_formatter, new_ax
from kit.stages.layering import QUADRANTS, rf_matrix

_CORNERS = {"star": (98, 98, "right", "top"), "cash_cow": (98, 2, "right", "bottom"),
            "potential": (2, 98, "left", "top"), "eliminate": (2, 2, "left", "bottom")}


def _short_money(x: float, symbol: str = "") -> str:
    if not np.isfinite(x):
        return ""
    a = abs(x)
    if a >= 1e6:
        return f"{symbol}{x / 1e6:.1f}M"
    if a >= 1e3:
        return f"{symbol}{x / 1e3:.0f}K"
    return f"{symbol}{x:.0f}"


def plot_rf_heatmap(
    customers: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    value_col: str = "revenue_total",
    bins: int = 5,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    cbar_label: str | None = None,
    currency: str = "",
) -> Axes:
    """Heatmap of the mean ``value_col`` per R x F cell (R = 5 on top), cells annotated."""
    ax = new_ax(ax, figsize=(7.0, 5.0))
    m = rf_matrix(customers, value_col, bins)
    annot = m.map(lambda v: _short_money(v, currency) if pd.notna(v) else "")
    cbar = text("layering.rf_cbar", lang) if cbar_label is None else cbar_label
    sns.heatmap(m, annot=annot.to_numpy(), fmt="", cmap="Blues", ax=ax, linewidths=0.5,
                cbar_kws={"label": cbar, "format": money_formatter(currency)}, mask=m.isna())
    ax.set_xlabel(text("layering.rf_xlabel", lang) if xlabel is None else xlabel)
    ax.set_ylabel(text("layering.rf_ylabel", lang) if ylabel is None else ylabel)
    ax.tick_params(axis="y", rotation=0)
    if title:
        ax.set_title(title, fontweight="normal")  # the bundled CJK font has no bold weight
    return ax


def plot_quadrant(
    customers: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    value_threshold: float = 50,
    potential_threshold: float = 50,
    max_points: int = 20_000,
    seed: int = 0,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Axes:
    """Value (x) against potential (y), coloured by quadrant, with the two threshold lines.

    Above ``max_points`` customers a seeded random sample is drawn, and the plot says so.
    """
    ax = new_ax(ax, figsize=(7.5, 6.0))
    data = customers[["value_score", "potential_score", "quadrant"]]
    n = len(data)
    if n > max_points:
        data = data.sample(max_points, random_state=seed)
    colors = dict(zip(QUADRANTS, [PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[7]]))
    size = 18 if len(data) <= 2000 else 6
    alpha = 0.8 if len(data) <= 2000 else 0.35
    counts = customers["quadrant"].value_counts()
    for q in QUADRANTS:
        d = data[data["quadrant"] == q]
        if len(d):
            ax.scatter(d["value_score"], d["potential_score"], s=size, alpha=alpha, color=colors[q],
                       label=f"{label('quadrant', q, lang)} ({int(counts.get(q, 0)):,})", linewidths=0)
    ax.axvline(value_threshold, color="#444", lw=1, ls="--")
    ax.axhline(potential_threshold, color="#444", lw=1, ls="--")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    for q, (x, y, ha, va) in _CORNERS.items():
        ax.text(x, y, label("quadrant", q, lang), ha=ha, va=va, fontsize=11, color=colors[q], alpha=0.95)
    ax.set_xlabel(xlabel or text("layering.quadrant_xlabel", lang, threshold=value_threshold))
    ax.set_ylabel(ylabel or text("layering.quadrant_ylabel", lang, threshold=potential_threshold))
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, fontsize=9, frameon=False,
                       markerscale=1.5)
    for handle in legend.legend_handles:
        handle.set_alpha(1)
    if n > max_points:
        ax.text(0.5, -0.19, text("layering.quadrant_sampled", lang, shown=max_points, n=n),
                transform=ax.transAxes, ha="center", va="top", fontsize=9, color="#555")
    if title:
        ax.set_title(title, fontweight="normal")  # the bundled CJK font has no bold weight
    return ax


def plot_migration(
    matrix: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    title: str | None = None,
    money: bool = False,
    currency: str = "",
) -> Axes:
    """Heatmap of a labelled migration matrix (:func:`kit.present.layering.migration_matrix`;
    rows: previous period, columns: this one). Default title: customers (counts)."""
    ax = new_ax(ax, figsize=(6.5, 4.5))
    if money:
        annot = matrix.map(lambda v: _short_money(v, currency)).to_numpy()
    else:
        annot = matrix.map(lambda v: f"{int(v):,}").to_numpy()
    sns.heatmap(matrix.astype(float), annot=annot, fmt="", cmap="Oranges", ax=ax, linewidths=0.5, cbar=False)
    ax.set_xlabel(matrix.columns.name or "")
    ax.set_ylabel(matrix.index.name or "")
    ax.tick_params(axis="y", rotation=0)
    shown = title if title is not None else ("" if money else text("layering.migration_plot_title", lang))
    if shown:
        ax.set_title(shown, fontweight="normal")  # the bundled CJK font has no bold weight
    return ax


def plot_rfm_scores(
    counts: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    title: str | None = None,
) -> Axes:
    """Grouped bars: customers per score (1 .. bins) of R, F and M, counts on the bars.

    ``counts`` is :func:`kit.present.layering.rfm_score_counts` (index: the score; columns
    ``rfm_r, rfm_f, rfm_m``). Quantile scores give near-equal bars; a short bar shows a
    block of tied values (many one-order customers share one F score)."""
    ax = new_ax(ax, figsize=(7.5, 4.0))
    x = np.arange(len(counts.index))
    width = 0.8 / max(len(counts.columns), 1)
    for i, col in enumerate(counts.columns):
        offset = (i - (len(counts.columns) - 1) / 2) * width
        bars = ax.bar(x + offset, counts[col].to_numpy(), width, color=PALETTE[i % len(PALETTE)],
                      label=registry.column(str(col)).label(lang) if registry.column(str(col)) else str(col))
        ax.bar_label(bars, fmt="{:,.0f}", fontsize=8, padding=1)
    ax.set_xticks(x, [str(s) for s in counts.index])
    ax.set_xlabel(text("charts.rfm_scores.xlabel", lang, bins=len(counts.index)))
    ax.set_ylabel(text("charts.customers", lang))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(counts.columns), frameon=False)
    ax.grid(axis="x", visible=False)
    if title:
        ax.set_title(title, fontweight="normal")  # the bundled CJK font has no bold weight
    return ax


def plot_segments(
    segments: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Axes:
    """Horizontal bars per RFM segment: its share of customers and its share of the
    trailing-year amount side by side, the customers counted at the end of the bars.

    ``segments`` is :func:`kit.present.layering.segment_table` (rule order, top first);
    segments without customers are left out; ``labels`` names the segment keys
    (:func:`kit.present.layering.segment_labels`)."""
    data = segments[segments["n_customers"] > 0].iloc[::-1]
    ax = new_ax(ax, figsize=(7.5, 0.42 * max(len(data), 3) + 1.2))
    y = np.arange(len(data))
    h = 0.38
    ax.barh(y + h / 2, data["customer_share"].to_numpy(dtype=float), h, color=PALETTE[0],
            label=text("charts.segments.customer_share", lang))
    ax.barh(y - h / 2, data["amount_share"].to_numpy(dtype=float), h, color=PALETTE[1],
            label=text("charts.segments.amount_share", lang))
    ends = np.maximum(data["customer_share"].to_numpy(dtype=float), data["amount_share"].to_numpy(dtype=float))
    for yi, end, n in zip(y, ends, data["n_customers"].to_numpy()):
        ax.text(end + 0.005, yi, text("charts.segments.count", lang, n=int(n)), va="center", fontsize=8, color="#444")
    names = [(labels or {}).get(k, k) for k in data["rfm_segment"]]
    ax.set_yticks(y, names)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlim(0, max(float(ends.max()) * 1.22, 0.05) if len(ends) else 1)
    ax.set_xlabel(text("charts.segments.xlabel", lang))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False, fontsize=9)
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title, fontweight="normal")  # the bundled CJK font has no bold weight
    return ax
