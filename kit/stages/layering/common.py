"""Shared constants and small helpers of the layering stage (no rule lives here)."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kit.core.config import Dynamic, KitConfig, ThreeD
from kit.core.notes import Note
from kit.core.periods import local_days

#: ``section`` of the notes this stage leaves for the report (``ctx.note``).
SECTION = "02_layering"

#: Master attributes copied onto the spine when the master has them.
MASTER_ATTRIBUTES = [
    "name", "industry", "region", "employees", "annual_revenue", "contact_name",
    "contact_title", "contact_phone", "growth_stage", "strategic_partner",
    "industry_leader", "account_manager",
]

TIER_RANK = {"low": 0, "medium": 1, "high": 2}
TIERS = ["high", "medium", "low"]
QUADRANTS = ["star", "cash_cow", "potential", "eliminate"]
RFM8_CLASSES = [
    "important_value", "important_develop", "important_keep", "important_retain",
    "general_value", "general_develop", "general_keep", "general_retain",
]
#: (R high, F high, M high) -> 8-class key; high R means a recent purchase.
RFM8_MAP = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_keep",
    (False, False, True): "important_retain",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_keep",
    (False, False, False): "general_retain",
}

# Defaults of the three-dimensional model and overdue words: the config's (one source).
DEFAULT_GROWTH_STAGES: dict[str, str] = ThreeD().growth_stages
DEFAULT_DEMAND_KEYWORDS: dict[str, list[str]] = ThreeD().demand_keywords
DEFAULT_ROLE_DEMAND: dict[str, str] = ThreeD().role_demand
DEFAULT_OVERDUE_STATUSES: list[str] = Dynamic().overdue_statuses
#: Words that mean "no expansion plan" in a free-text ``expansion_plan`` column.
NO_PLAN_WORDS = {"", "无", "否", "没有", "暂无", "none", "no", "false", "0", "n/a", "na", "-", "nan"}


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _note(code: str, kind: str = "info", **params: Any) -> Note:
    """A note of this stage: message ``layering.<code>`` with its parameters."""
    return Note(f"layering.{code}", params, kind, SECTION)


def _setting(cfg: KitConfig | None, section: str, name: str, given: Any, default: Any) -> Any:
    """A keyword argument, else ``cfg.layering.<section>.<name>`` when the config has it,
    else the documented default."""
    if given is not None:
        return given
    part = getattr(getattr(cfg, "layering", None), section, None) if cfg is not None else None
    value = getattr(part, name, None)
    return default if value is None else value


def _master_frame(master: pd.DataFrame | None) -> pd.DataFrame | None:
    """The master indexed by a unique str ``customer_id`` (last row of a duplicate kept)."""
    if master is None:
        return None
    m = master
    if m.index.name == "customer_id" and m.index.dtype == "str" and m.index.is_unique:
        return m
    if m.index.name != "customer_id":
        if "customer_id" not in m.columns:
            raise ValueError("Required column 'customer_id' missing from the customer master")
        m = m.set_index("customer_id")
    m = m[~m.index.duplicated(keep="last")]
    m.index = m.index.astype("str").rename("customer_id")
    return m


def _master_col(master: pd.DataFrame | None, col: str, index: pd.Index) -> pd.Series | None:
    """A master column aligned on ``index``; None when absent or entirely empty."""
    if master is None or col not in master.columns:
        return None
    s = master[col]
    if not s.index.equals(index):
        s = s.reindex(index)
    return None if s.isna().all() else s


def _interactions_until(interactions: pd.DataFrame | None, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """Interactions dated on or before ``as_of`` with a day-resolution ``day`` column."""
    if interactions is None:
        return None
    missing = [c for c in ("customer_id", "date") if c not in interactions.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(map(repr, missing))} missing from interactions")
    day = local_days(interactions["date"])
    out = interactions.assign(day=day, customer_id=interactions["customer_id"].astype("str"))
    return out[(out["day"] <= as_of).to_numpy()]


def _codes(ids: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each id in ``index`` (-1 when absent): integer keys for ``np.bincount``."""
    return index.get_indexer(ids.astype("str"))


def _count_per_customer(codes: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    keep = mask & (codes >= 0)
    return np.bincount(codes[keep], minlength=n)


def _bool_flag(s: pd.Series) -> pd.Series:
    """A yes/no column as nullable boolean: bools, 0/1, 是/否, yes/no, true/false, Y/N."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean")
    if pd.api.types.is_numeric_dtype(s):
        return (s != 0).astype("boolean").mask(s.isna())
    text = s.astype("str").str.strip().str.lower()
    yes = text.isin(["true", "1", "yes", "y", "是", "√", "✓", "t"])
    no = text.isin(["false", "0", "no", "n", "否", "×", "f", ""])
    return yes.astype("boolean").mask(~yes & ~no | s.isna())


def _truthy_text(s: pd.Series) -> pd.Series:
    """Whether a free-text / flag column states something (an expansion plan); NA if missing."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return _bool_flag(s)
    text = s.astype("str").str.strip().str.lower()
    return (~text.isin(NO_PLAN_WORDS)).astype("boolean").mask(s.isna())


def _keyword_hits(text: pd.Series, words: Sequence[str]) -> pd.Series:
    """Case-insensitive substring match of any of ``words`` (vectorised regex)."""
    if not words:
        return pd.Series(False, index=text.index)
    pattern = "|".join(re.escape(w) for w in words)
    return text.str.contains(pattern, case=False, regex=True, na=False)


def _sym_growth(now: pd.Series, before: pd.Series) -> pd.Series:
    """(now - before) / (|now| + |before|), in [-1, 1]; 0 when both are 0.

    Monotone in now / before wherever that ratio exists, and defined where it does not
    (a customer with nothing the year before scores +1, one with nothing this year -1).
    """
    den = now.abs() + before.abs()
    return ((now - before) / den.where(den > 0)).fillna(0.0)
