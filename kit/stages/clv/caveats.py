"""What the model cannot see: notes on the data's limits for the purchase-count model.

* **One-time buyers dominate**: when more than ``one_time_share_warn`` of the customers never
  bought again, the model learns drop-out from few histories; under BG/NBD every one of them
  has P(alive) = 1 whatever their age (the model lets a customer drop out only after a repeat
  purchase), which MBG/NBD and Pareto/NBD do not assume.
* **Short calibration window**: when the calibration period is shorter than
  ``min_calibration_cycles`` median purchase cycles (the median time between purchases of
  the repeat buyers), the holdout check sees little of the customers' rhythm.
* **Worse than the naive baseline**: when the chosen model's per-customer holdout MAE is
  above the naive baseline's, CLV is shown as indicative (:attr:`Caveats.indicative`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kit.core.notes import Note
from kit.stages.clv.fit import MODEL_NAMES
from kit.stages.clv.results import clv_note
from kit.stages.clv.validation import HoldoutValidation
from kit.stages.summary import TIME_UNIT_DAYS


@dataclass(frozen=True)
class Caveats:
    """The notes and whether CLV is only indicative (holdout error above the baseline's)."""

    notes: list[Note] = field(default_factory=list)
    indicative: bool = False


def purchase_cycle_days(summary: pd.DataFrame, time_unit: str) -> float:
    """Median time between purchases of the repeat buyers (``recency / frequency``), in days;
    NaN without repeat buyers."""
    rep = summary[summary["frequency"] > 0]
    if not len(rep):
        return math.nan
    return float(np.median(rep["recency"].to_numpy() / rep["frequency"].to_numpy())) * TIME_UNIT_DAYS[time_unit]


def caveats(summary: pd.DataFrame, validation: HoldoutValidation | None, kind: str, *,
            time_unit: str, one_time_share_warn: float, min_calibration_cycles: float) -> Caveats:
    """The notes on what the model cannot see (see the module docstring)."""
    notes: list[Note] = []
    n = len(summary)
    one_time = int((summary["frequency"] == 0).sum()) if n else 0
    if n and one_time / n > one_time_share_warn:
        code = "clv.caveat.one_time_bgnbd" if kind == "bgnbd" else "clv.caveat.one_time"
        notes.append(clv_note(code, "warning", n=one_time, share=one_time / n, model=MODEL_NAMES[kind]))
    if validation is None:
        return Caveats(notes)
    cal = validation.customers
    cal_summary = pd.DataFrame({"frequency": cal["frequency_cal"], "recency": cal["recency_cal"]})
    cycle = purchase_cycle_days(cal_summary, time_unit)
    cal_days = float(cal["T_cal"].max()) * TIME_UNIT_DAYS[time_unit] if len(cal) else math.nan
    if np.isfinite(cycle) and cycle > 0 and cal_days < min_calibration_cycles * cycle:
        notes.append(clv_note("clv.validation.short_calibration", "warning", days=cal_days, cycle=cycle,
                              cycles=cal_days / cycle, min_cycles=min_calibration_cycles))
    errors = validation.errors["mae"]
    model_mae, naive_mae = float(errors["model"]), float(errors["naive"])
    indicative = bool(np.isfinite(model_mae) and model_mae > naive_mae)
    if indicative:
        notes.append(clv_note("clv.validation.worse_than_naive", "warning", model=MODEL_NAMES[kind],
                              mae=model_mae, naive_mae=naive_mae))
    return Caveats(notes, indicative)
