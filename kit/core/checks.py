"""The kit's one input-check helper: precise messages at the boundary of every stage."""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def validate_cols(data: pd.DataFrame, required: Iterable[str | None], name: str = "transactions") -> None:
    """Raise ``ValueError`` naming every required column ``data`` lacks (``None`` entries,
    optional columns not asked for, are skipped) and the columns it has."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame (got {type(data).__name__})")
    missing = [c for c in required if c is not None and c not in data.columns]
    if missing:
        raise ValueError(
            f"Required column(s) {', '.join(map(repr, missing))} missing from {name}; "
            f"columns present: {', '.join(map(str, data.columns))}"
        )
