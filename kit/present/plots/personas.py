"""Plots of notebook 03: tag frequencies, the silhouette per k, the cluster profile.

Each function draws on ``ax`` (a new figure when None) and returns it; every word comes
from the message catalogue in ``lang``.
"""
from __future__ import annotations

import textwrap
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from kit.core.config import Personas
from kit.present.messages import label, text
from kit.present.personas import tag_frequencies
from kit.present.plotting import PALETTE, new_ax
from kit.stages.personas import FAMILIES, ClusterResult

_CELL_FORMATS = {"log_frequency": "{:,.1f}", "recency_days": "{:,.0f}", "log_monetary": "{:,.0f}",
                 "tenure_days": "{:,.0f}", "n_categories": "{:,.1f}", "channel_concentration": "{:.0%}"}


def _short(s: str, n: int = 22) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def plot_tag_frequency(data: pd.DataFrame, *, family: str, ax: Axes | None = None, lang: str = "zh",
                       cfg_personas: Personas | None = None, top: int = 10, title: str | None = None,
                       color: str | None = None) -> Axes:
    """Horizontal bars: share of customers per tag value of one family (``data``: the tags)."""
    ax = new_ax(ax)
    freq = tag_frequencies(data, family, lang, cfg_personas, top=top)
    y = np.arange(len(freq))[::-1]
    ax.barh(y, freq["share"], color=color or PALETTE[0])
    ax.set_yticks(y, [_short(s) for s in freq["label"]])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(text("personas.plot.share_of_customers", lang))
    ax.set_title(title or label("tag_family", family, lang))
    ax.grid(axis="y", visible=False)
    return ax


def plot_tag_overview(data: pd.DataFrame, *, availability: dict[str, Any], axes: Any = None, lang: str = "zh",
                      cfg_personas: Personas | None = None, top: int = 8, ncols: int = 3) -> np.ndarray:
    """One tag frequency chart per available family, in a grid; returns the array of Axes."""
    fams = [f for f in FAMILIES if availability.get(f, False)]
    ncols = max(1, min(ncols, len(fams)))
    if axes is None:
        nrows = max(1, -(-len(fams) // ncols))
        _, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.0 * nrows), squeeze=False)
    flat = np.asarray(axes).ravel()
    groups = list(dict.fromkeys(g for g, _ in FAMILIES.values()))
    for ax, fam in zip(flat, fams):
        group = FAMILIES[fam][0]
        color = PALETTE[groups.index(group) % len(PALETTE)]
        title = label("tag_family", fam, lang)
        if group != fam:
            title = text("personas.plot.family_in_group", lang, family=title,
                         group=label("tag_group", group, lang).lower())
        plot_tag_frequency(data, family=fam, ax=ax, lang=lang, cfg_personas=cfg_personas, top=top,
                           title=title, color=color)
    for ax in flat[len(fams):]:
        ax.set_visible(False)
    flat[0].figure.tight_layout()
    return np.asarray(axes)


def plot_silhouette(data: ClusterResult, *, ax: Axes | None = None, lang: str = "zh") -> Axes:
    """Silhouette score per k; the chosen k highlighted (``data``: the cluster result)."""
    ax = new_ax(ax, figsize=(6, 3.2))
    s = data.silhouette
    colors = [PALETTE[1] if k == data.k else PALETTE[0] for k in s.index]
    ax.bar([str(k) for k in s.index], s.to_numpy(), color=colors)
    for i, v in enumerate(s.to_numpy()):
        ax.annotate(f"{v:.3f}", (i, v), ha="center", va="bottom", fontsize=9)
    ax.set_xlabel(text("personas.plot.k", lang))
    ax.set_ylabel(text("personas.plot.silhouette", lang))
    ax.set_title(text("personas.plot.silhouette_title", lang, k=data.k))
    ax.set_ylim(0, max(0.05, float(s.max()) * 1.18))
    return ax


def plot_cluster_profile(data: ClusterResult, *, ax: Axes | None = None, lang: str = "zh",
                         names: pd.Series | None = None) -> Axes:
    """Heatmap of standardised centroids (colour: sd from the mean, clipped to +-2)
    annotated with the centroid in original units (orders, days, currency)."""
    z = data.centroids_std
    ax = new_ax(ax, figsize=(1.5 * len(z.columns) + 4.5, 0.7 * max(len(z), 2) + 1.8))
    im = ax.imshow(z.to_numpy(dtype=float), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    orig = data.centroids.to_numpy(dtype=float)
    for (i, j), v in np.ndenumerate(orig):
        ax.text(j, i, _CELL_FORMATS.get(z.columns[j], "{:,.1f}").format(v), ha="center", va="center",
                fontsize=9, color="white" if abs(z.iat[i, j]) > 1.2 else "#222")
    rows = [textwrap.fill(f"P{c} {names[c]}", 34) if names is not None and c in names.index else f"P{c}"
            for c in z.index]
    ax.set_yticks(range(len(z)), rows)
    ax.set_xticks(range(len(z.columns)), [label("persona_feature", f, lang) for f in z.columns])
    ax.tick_params(axis="x", labelsize=9)
    ax.grid(False)
    cbar = ax.figure.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cbar.set_label(text("personas.plot.centroid_sd", lang))
    ax.set_title(text("personas.plot.profile_title", lang))
    return ax
