"""The tag weight model: strengths per family, effective weights, tag scores (0-100).

See the package docstring (tag weight model) for the rule of each family.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kit.stages.personas.tags import FAMILIES, FamilyStatus


def _infer_availability(tags: pd.DataFrame) -> dict[str, bool]:
    return {f: bool(tags[list(cols)].notna().any().any()) for f, (_, cols) in FAMILIES.items()}


def _available_map(tags: pd.DataFrame, availability: dict[str, Any] | None) -> dict[str, bool]:
    if availability is None:
        return _infer_availability(tags)
    return {f: bool(availability.get(f, False)) for f in FAMILIES}


def _relative(x: pd.Series) -> pd.Series:
    """min(1, x / q90 of the positive x); 0 when nobody has any."""
    x = x.astype("Float64").fillna(0).astype(float)
    pos = x[x > 0]
    if pos.empty:
        return x * 0.0
    ref = float(pos.quantile(0.9))
    return (x / ref).clip(0, 1)


def tag_strengths(tags: pd.DataFrame, availability: dict[str, Any] | None = None) -> pd.DataFrame:
    """Strength ``s_f`` in [0, 1] per customer and tag family (NaN for unavailable families).

    See the package docstring (tag weight model) for the rule of each family.
    """
    avail = _available_map(tags, availability)
    out = pd.DataFrame(index=tags.index)
    for fam in FAMILIES:
        if not avail[fam]:
            out[fam] = np.nan
        elif fam == "recent_activity":
            out[fam] = _relative(tags["tag_recent_orders"])
        elif fam == "category":
            out[fam] = _relative(tags["tag_n_categories"])
        elif fam == "pain_point":
            out[fam] = _relative(tags["tag_pain_hits"])
        elif fam == "channel":
            ch = tags["tag_channel"]
            out[fam] = np.where(ch.isna(), 0.0, np.where(ch == "mixed", 0.5, 1.0))
        else:
            out[fam] = tags[FAMILIES[fam][1][0]].notna().astype(float)
    return out


def effective_weights(weights: dict[str, float], availability: dict[str, Any]) -> dict[str, float]:
    """Configured weights restricted to the available families and renormalised to sum 1.

    Raises ``ValueError`` for a weight whose family is unknown.
    """
    unknown = sorted(set(weights) - set(FAMILIES))
    if unknown:
        raise ValueError(
            f"tag_weights has unknown tag families {unknown}; allowed: {', '.join(FAMILIES)}"
        )
    used = {f: float(weights.get(f, 0.0)) for f in FAMILIES if availability.get(f, False)}
    total = sum(used.values())
    if total <= 0:
        return {f: 0.0 for f in used}
    return {f: w / total for f, w in used.items()}


def tag_scores(
    tags: pd.DataFrame, weights: dict[str, float], availability: dict[str, Any] | None = None
) -> pd.Series:
    """The tag weight model: ``tag_score = 100 * sum_f w'_f * s_f`` (0-100).

    Parameters
    ----------
    tags : DataFrame
        Output of :func:`build_tags`.
    weights : dict
        family -> weight (``cfg.personas.tag_weights``); unlisted families weigh 0.
    availability : dict, optional
        family -> bool or :class:`FamilyStatus`; default: a family is available when any
        of its columns has a value.

    Returns
    -------
    Series ``tag_score``
        Missing for everyone when no weighted family is available.
    """
    avail = _available_map(tags, availability)
    w = effective_weights(weights, avail)
    s = tag_strengths(tags, avail)
    if not w or sum(w.values()) == 0:
        return pd.Series(np.nan, index=tags.index, name="tag_score")
    score = sum(s[f] * wf for f, wf in w.items())
    return (100.0 * score).rename("tag_score")


def family_weights(weights: dict[str, float], availability: dict[str, FamilyStatus],
                   tags: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per family (keys): ``family, family_group, available, configured_weight,
    effective_weight, mean_strength`` (strength: mean over customers, available families)."""
    avail = {f: bool(s) for f, s in availability.items()}
    eff = effective_weights(weights, avail)
    strength = tag_strengths(tags, avail).mean() if tags is not None else None
    rows = []
    for fam, (group, _) in FAMILIES.items():
        rows.append({
            "family": fam,
            "family_group": group,
            "available": avail[fam],
            "configured_weight": float(weights.get(fam, 0.0)),
            "effective_weight": eff.get(fam, np.nan),
            "mean_strength": float(strength[fam]) if strength is not None and avail[fam] else np.nan,
        })
    return pd.DataFrame(rows)


def recent_band(n: pd.Series) -> pd.Series:
    """``persona_tag`` key of a recent-purchase count: recent_none / _1 / _2_3 / _4_plus."""
    v = n.astype("Float64")
    out = pd.Series(
        np.select([v.fillna(-1) >= 4, v.fillna(-1) >= 2, v.fillna(-1) >= 1, v.fillna(-1) >= 0],
                  ["recent_4_plus", "recent_2_3", "recent_1", "recent_none"], default=""),
        index=n.index, dtype="str",
    )
    return out.where(out != "")
