"""Plots of the subscription sections (issue 13): the health distribution by band, health
against churn risk, and the renewal pipeline by window and band.

Every function takes the data, ``ax=None`` (a new figure when None) and ``lang``, returns
the ``Axes``, never calls ``show()`` and never saves. Words come from the catalogue
(``kit/present/messages/subscriptions.yml``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from kit.core.config import Subscriptions
from kit.present.messages import label, text
from kit.present.plotting import PALETTE, money_formatter, new_ax
from kit.present.subscriptions import window_text
from kit.stages.subscriptions import RenewalHeadline

#: Band colours: healthy green, watch amber, at risk red, not enough data grey.
BAND_COLORS = {"healthy": PALETTE[2], "watch": PALETTE[5], "at_risk": PALETTE[3], "unknown": PALETTE[7]}
BAND_ORDER = ("at_risk", "watch", "healthy")


def plot_health_bands(customers: pd.DataFrame, *, ax: Axes | None = None, lang: str = "zh",
                      rule: Subscriptions | None = None, bins: int = 20) -> Axes:
    """Histogram of the health scores (0-100), the bars coloured by band, dashed lines at the
    band bounds (``rule.health.bands``), the band's customers in the legend."""
    rule = rule or Subscriptions()
    bands = rule.health.bands
    ax = new_ax(ax, figsize=(8.0, 4.5))
    score = customers["health_score"].astype(float).dropna() if "health_score" in customers.columns \
        else pd.Series([], dtype=float)
    edges = np.unique(np.r_[np.linspace(0, 100, bins + 1), bands.watch, bands.healthy])  # no bin straddles a bound
    counts, _ = np.histogram(score.to_numpy(), bins=edges)
    mids = (edges[:-1] + edges[1:]) / 2
    colour = np.where(mids >= bands.healthy, BAND_COLORS["healthy"],
                      np.where(mids >= bands.watch, BAND_COLORS["watch"], BAND_COLORS["at_risk"]))
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=colour, edgecolor="white", linewidth=0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    n = {"healthy": int((score >= bands.healthy).sum()),
         "watch": int(((score >= bands.watch) & (score < bands.healthy)).sum()),
         "at_risk": int((score < bands.watch).sum())}
    for b in BAND_ORDER:
        ax.bar([np.nan], [np.nan], color=BAND_COLORS[b], label=f"{label('health_band', b, lang)} ({n[b]:,})")
    for x in (bands.watch, bands.healthy):
        ax.axvline(x, color="#444", lw=1, ls="--")
    ax.set_xlim(0, 100)
    ax.set_xlabel(text("subscriptions.plot.health_xlabel", lang))
    ax.set_ylabel(text("subscriptions.plot.customers", lang))
    ax.set_title(text("subscriptions.plot.health_hist_title", lang), fontweight="normal")
    ax.legend(loc="upper left", fontsize=9)
    return ax


def plot_health_vs_churn(customers: pd.DataFrame, *, ax: Axes | None = None, lang: str = "zh",
                         rule: Subscriptions | None = None) -> Axes:
    """Box plot of the health scores per churn-risk label (high, medium, low), band bounds dashed."""
    rule = rule or Subscriptions()
    ax = new_ax(ax, figsize=(7.0, 4.5))
    c = customers[customers["health_score"].notna().to_numpy()] if "health_score" in customers.columns \
        else customers.iloc[:0]
    keys = [k for k in ("high", "medium", "low") if "churn_risk" in c.columns and (c["churn_risk"] == k).any()]
    data = [c.loc[(c["churn_risk"] == k).to_numpy(), "health_score"].astype(float).to_numpy() for k in keys]
    if data:
        ax.boxplot(data, tick_labels=[f"{label('churn_risk', k, lang)} ({len(d):,})" for k, d in zip(keys, data)],
                   widths=0.5, patch_artist=True, boxprops={"facecolor": "#dbe6f1"},
                   medianprops={"color": PALETTE[0]})
    for x, b in ((rule.health.bands.watch, "at_risk"), (rule.health.bands.healthy, "healthy")):
        ax.axhline(x, color=BAND_COLORS[b], lw=1, ls="--")
    ax.set_ylim(0, 100)
    ax.set_ylabel(text("subscriptions.plot.health_xlabel", lang))
    ax.set_title(text("subscriptions.plot.health_churn_title", lang), fontweight="normal")
    return ax


def plot_renewal_pipeline(headline: RenewalHeadline, *, ax: Axes | None = None, lang: str = "zh",
                          value: bool | None = None, currency: str = "") -> Axes:
    """Stacked bars per renewal window (30 / 60 / 90 days), one segment per health band:
    annual recurring value when the contracts have one (``value=None``: when known), else
    contracts."""
    ax = new_ax(ax, figsize=(7.5, 4.5))
    use_value = headline.value_known if value is None else value
    m = (headline.values if use_value else headline.counts).fillna(0).astype(float)
    windows = [window_text(w, lang) for w in m.index]
    bottom = np.zeros(len(m))
    for b in [*BAND_ORDER, "unknown"]:
        if b not in m.columns or not m[b].any():
            continue
        ax.bar(windows, m[b].to_numpy(), bottom=bottom, color=BAND_COLORS[b], label=label("health_band", b, lang),
               width=0.6)
        bottom += m[b].to_numpy()
    ax.set_ylabel(text("subscriptions.plot.pipeline_value" if use_value else "subscriptions.plot.pipeline_count", lang))
    if use_value:
        ax.yaxis.set_major_formatter(money_formatter(currency))
    ax.set_title(text("subscriptions.plot.pipeline_title", lang), fontweight="normal")
    if bottom.any():
        ax.legend(loc="upper left", fontsize=9)
    return ax
