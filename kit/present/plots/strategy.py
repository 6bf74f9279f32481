"""Plots of notebook 05 (maintenance strategy)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from kit.present.messages import text
from kit.present.plotting import new_ax
from kit.present.strategy import owner_text
from kit.stages.strategy import WORKLOAD_OVERDUE, WORKLOAD_TOTAL

OTHERS = "…"


def plot_workload(data: pd.DataFrame, *, ax: Axes | None = None, lang: str = "zh", cfg=None,
                  max_owners: int = 15) -> Axes:
    """Stacked horizontal bars: follow-ups per owner, one colour per month.

    ``data`` is :func:`kit.stages.strategy.workload` (per owner, most work first; its
    total columns are left out); owners beyond ``max_owners`` are summed into one bar
    labelled ``…``; the unassigned owner is named by ``cfg.strategy.unassigned_owner``.
    """
    ax = new_ax(ax)
    month_cols = [c for c in data.columns if c not in (WORKLOAD_TOTAL, WORKLOAD_OVERDUE)]
    body = data[month_cols].copy()
    if cfg is not None:
        body.index = owner_text(pd.Series(body.index, dtype="object"), cfg, lang).to_numpy()
    if len(body) > max_owners:
        rest = body.iloc[max_owners - 1:].sum().rename(OTHERS)
        body = pd.concat([body.iloc[: max_owners - 1], rest.to_frame().T])
    body = body.iloc[::-1]
    left = np.zeros(len(body))
    for col in month_cols:
        ax.barh(body.index.astype(str), body[col].to_numpy(), left=left, label=col)
        left += body[col].to_numpy()
    ax.set_title(text("strategy.workload_plot_title", lang), fontweight="normal")  # no bold CJK face
    ax.set_xlabel(text("strategy.workload_xlabel", lang))
    if month_cols:
        ax.legend(loc="lower right", fontsize=9)
    return ax
