"""Charts of contractual retention (notebook 04_clv, data from :mod:`kit.stages.clv.sbg_history`).

``plot_x(data, *, ax=None, lang="zh", ...) -> Axes``: a new figure when ``ax`` is None, all
words from the message catalogue (``retention.plot.*``) in ``lang``, never ``show()``, never
saved. Show with ``ctx.figure(ax, "charts.retention_curves.caption",
"charts.retention_curves.alt", n=<cohorts>, horizon=<periods>)``.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from kit.present.messages import text
from kit.present.plotting import PALETTE, new_ax

GREY = "#666666"


def _style_handles(lang: str, holdout: bool) -> list:
    """Legend entries for what the line styles and markers mean (in grey)."""
    out = [Line2D([], [], color=GREY, marker="o", linestyle="", label=text("retention.plot.observed", lang)),
           Line2D([], [], color=GREY, linestyle="-", label=text("retention.plot.fitted", lang)),
           Line2D([], [], color=GREY, linestyle="--", label=text("retention.plot.projected", lang))]
    if holdout:
        out += [Patch(facecolor=GREY, alpha=0.15, label=text("retention.plot.holdout", lang)),
                Line2D([], [], color=GREY, marker="x", linestyle="", label=text("retention.plot.holdout_prediction", lang))]
    return out


def _draw_cohort(ax: Axes, c: pd.DataFrame, h: pd.DataFrame, color: str, share: bool) -> None:
    scale = 1.0 / float(c["cohort_chains"].iat[0]) if share else 1.0
    t = c["renewal_period"].to_numpy(dtype=float)
    fitted = c["fitted_survivors"].to_numpy(dtype=float) * scale
    proj = c["is_projection"].to_numpy(dtype=bool)
    last = int(np.flatnonzero(~proj).max()) if (~proj).any() else 0
    ax.plot(t[: last + 1], fitted[: last + 1], color=color, linestyle="-")
    ax.plot(t[last:], fitted[last:], color=color, linestyle="--")
    obs = c["observed_survivors"].to_numpy(dtype=float) * scale
    seen = np.isfinite(obs)
    ax.plot(t[seen], obs[seen], color=color, marker="o", linestyle="", markersize=5)
    if len(h):
        hp = h["renewal_period"].to_numpy(dtype=float)
        ax.axvspan(hp.min() - 0.5, hp.max() + 0.5, color=color, alpha=0.08, linewidth=0)
        ax.plot(hp, h["predicted_survivors"].to_numpy(dtype=float) * scale, color=color, marker="x",
                linestyle="", markersize=7)


def plot_retention_curves(
    curves: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    *,
    ax: Axes | None = None,
    lang: str = "zh",
    value: Literal["share", "count"] = "share",
) -> Axes:
    """Retention curves per signing cohort: observed survival as points, the sBG fit as a
    solid line over the observed periods and dashed beyond them (the projection), each
    cohort's holdout periods shaded in its colour with the holdout fit's predictions as
    crosses.

    Parameters
    ----------
    curves : DataFrame
        :func:`kit.stages.clv.sbg_history.retention_curves` (``signing_cohort``,
        ``renewal_period``, ``cohort_chains``, ``observed_survivors``, ``fitted_survivors``,
        ``is_projection``).
    holdout : DataFrame, optional
        :func:`kit.stages.clv.sbg_history.holdout_check`'s table (``signing_cohort``,
        ``renewal_period``, ``predicted_survivors``).
    value : ``share`` or ``count``
        The share of the cohort still subscribed (comparable across cohorts) or the number
        of chains.
    """
    ax = new_ax(ax)
    share = value == "share"
    has_holdout = holdout is not None and len(holdout) > 0
    handles = []
    for i, (cohort, c) in enumerate(curves.groupby("signing_cohort", sort=True)):
        color = PALETTE[i % len(PALETTE)]
        h = holdout[holdout["signing_cohort"] == cohort] if has_holdout else pd.DataFrame()
        _draw_cohort(ax, c.sort_values("renewal_period"), h, color, share)
        handles.append(Line2D([], [], color=color, linewidth=3, label=str(cohort)))
    ax.set(title=text("retention.plot.title", lang), xlabel=text("retention.plot.x", lang),
           ylabel=text("retention.plot.y_share" if share else "retention.plot.y_count", lang))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if share:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1.05)
    else:
        ax.set_ylim(bottom=0)
    ax.legend(handles=handles + _style_handles(lang, has_holdout), fontsize="small", ncol=2)
    return ax
