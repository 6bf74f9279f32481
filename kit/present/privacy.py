"""Masking of personal data in report tables (``cfg.report.mask_pii``).

Names keep their first character (``张三`` -> ``张**``, ``John Smith`` -> ``J** S**``),
phone numbers their first three and last four digits (``13812345678`` -> ``138****5678``).
The star count is fixed, so a masked value does not reveal the length of the original.
Customer ids are never masked: they are the key an account team looks a customer up by.

Every function takes a scalar or a Series and returns the same kind; missing values stay
missing.
"""
from __future__ import annotations

import re
from typing import overload

import pandas as pd

_NON_DIGIT = re.compile(r"\D")


def _is_missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _mask_name_one(value: object) -> object:
    if _is_missing(value):
        return value
    words = str(value).split()
    if not words:
        return value
    return " ".join(w[0] + "**" for w in words)


def _mask_phone_one(value: object) -> object:
    if _is_missing(value):
        return value
    if isinstance(value, float) and value.is_integer():  # a number read from Excel
        value = int(value)
    digits = _NON_DIGIT.sub("", str(value))
    if len(digits) == 13 and digits.startswith("86"):  # +86 country code
        digits = digits[2:]
    if len(digits) >= 8:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 3:
        return f"****{digits[-2:]}"
    return "****"


@overload
def mask_name(value: pd.Series) -> pd.Series: ...
@overload
def mask_name(value: object) -> object: ...
def mask_name(value):
    """Keep the first character of each word, then two stars.

    Parameters
    ----------
    value : str or Series
        A person or company name (``张三``, ``John Smith``).

    Returns
    -------
    str or Series (string dtype)
        ``张**``, ``J** S**``; missing values unchanged.
    """
    if isinstance(value, pd.Series):
        return value.map(_mask_name_one).astype("str")
    return _mask_name_one(value)


@overload
def mask_phone(value: pd.Series) -> pd.Series: ...
@overload
def mask_phone(value: object) -> object: ...
def mask_phone(value):
    """Keep the first three and the last four digits: ``138****5678``.

    Separators and a leading ``+86`` are dropped; numbers with fewer than 8 digits keep
    only their last two digits (``****34``).

    Parameters
    ----------
    value : str or Series

    Returns
    -------
    str or Series
    """
    if isinstance(value, pd.Series):
        return value.map(_mask_phone_one).astype("str")
    return _mask_phone_one(value)
