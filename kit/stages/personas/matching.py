"""Keyword matching for pain points and decision roles (Chinese and English).

A keyword with Latin letters matches case-insensitively at the start of a word, so stems
work (``compatib`` matches "Compatibility") and ``CTO`` does not match "Director"; any
other keyword (Chinese) matches as a plain substring. Interaction ``keywords`` may be
joined by ``、 , ， ; ；`` ``|`` ``/`` or spaces.
"""
from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import pandas as pd

_KEYWORD_SPLIT = r"[、,，;；|/\s]+"


def keyword_pattern(keywords: Iterable[str]) -> str | None:
    """One regular expression matching any of ``keywords`` (None when there are none).

    A keyword with Latin letters must start a word (case is ignored by the caller);
    other keywords (Chinese) match anywhere.
    """
    parts = []
    for kw in keywords:
        kw = str(kw).strip()
        if not kw:
            continue
        esc = re.escape(kw)
        parts.append(rf"(?<![A-Za-z]){esc}" if re.search(r"[A-Za-z]", kw) else esc)
    return "|".join(parts) if parts else None


def match_keywords(text: pd.Series, keywords: Iterable[str]) -> pd.Series:
    """Bool Series: which texts contain any of ``keywords`` (see :func:`keyword_pattern`).

    Parameters
    ----------
    text : Series of str
        Missing values never match.
    keywords : iterable of str
        ``能耗``, ``response time``, ``compatib`` ...
    """
    pattern = keyword_pattern(keywords)
    if pattern is None or len(text) == 0:
        return pd.Series(False, index=text.index)
    # match each distinct text once (titles and keyword lists repeat a lot)
    codes, uniques = pd.factorize(text.astype("str"))
    found = pd.Series(np.asarray(uniques, dtype=object)).str.contains(pattern, case=False, regex=True)
    hit = np.append(found.to_numpy(dtype=bool), False)  # code -1 (missing) -> False
    return pd.Series(hit[codes], index=text.index)


def split_keywords(keywords: pd.Series) -> pd.Series:
    """Explode joined keyword strings into one stripped keyword per row (index repeated)."""
    parts = keywords.dropna().astype("str").str.split(_KEYWORD_SPLIT, regex=True).explode()
    parts = parts.str.strip()
    return parts[parts.notna() & (parts != "")]


def normalise_keyword(kw: pd.Series) -> pd.Series:
    """English keywords lower-cased (so "Energy" and "energy" count together)."""
    latin = kw.str.contains(r"^[\x00-\x7f]+$", regex=True, na=False)
    return kw.where(~latin, kw.str.lower())
