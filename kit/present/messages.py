"""The message catalogue: every sentence a reader sees, in Chinese and English.

Entries live in ``kit/present/messages/*.yml`` (one file per stage, plus ``common.yml``
and ``labels.yml`` for the labels of stored keys)::

    layering.rfm_intro:
      zh: "R = 距最近一次采购的天数 ... 1-{bins} 分"
      en: "R = days since the last purchase ... 1-{bins}"

Placeholders are :meth:`str.format` fields filled from the message's parameters
(``{n:,}``, ``{share:.1%}``); a missing parameter is an error, never a blank. Why YAML and
not gettext: both languages are first-class (neither is the other's msgid), a reviewer reads
zh and en side by side in one entry, and there is no compile step; ``tests/test_messages.py``
fails when an entry lacks a language or a code used in the code base is not in the catalogue.
"""
from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import yaml

from kit.core.notes import Msg, Note

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
LANGS = ("zh", "en")


class CatalogueError(ValueError):
    pass


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """Every message, by code: ``{"zh": ..., "en": ...}``."""
    out: dict[str, dict[str, str]] = {}
    where: dict[str, str] = {}
    for path in sorted(MESSAGES_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for code, entry in data.items():
            code = str(code)
            if code in out:
                raise CatalogueError(f"message {code!r} is defined twice: {where[code]} and {path.name}")
            if not isinstance(entry, dict) or any(not isinstance(entry.get(l), str) or not entry.get(l) for l in LANGS):
                raise CatalogueError(f"{path.name}: message {code!r} needs both zh and en text")
            out[code] = {l: entry[l] for l in LANGS}
            where[code] = path.name
    return out


def render(item: "Note | Msg", lang: str) -> str:
    """The text of a note or an unrendered message in ``lang``."""
    return text(item.code, lang, **item.params)


def has(code: str) -> bool:
    return code in catalogue()


def text(code: str, lang: str, /, **params: Any) -> str:
    """The message ``code`` in ``lang`` with its placeholders filled from ``params``."""
    if lang not in LANGS:
        raise CatalogueError(f"unknown report language {lang!r} (allowed: zh, en)")
    try:
        template = catalogue()[code][lang]
    except KeyError:
        raise CatalogueError(f"message {code!r} is not in the catalogue (kit/present/messages/*.yml)") from None
    if not params:
        return template
    try:
        return template.format_map(_Params(params, lang))
    except KeyError as e:
        raise CatalogueError(f"message {code!r} needs the parameter {e.args[0]!r}") from None


#: How a list parameter is joined in each language (``a、b`` / ``a, b``).
LIST_SEPARATORS = {"zh": "、", "en": ", "}


class _Params(dict):
    """Parameters for a template; a ``Msg`` value is rendered in the same language, a list
    or tuple is rendered item by item and joined (``LIST_SEPARATORS``)."""

    def __init__(self, params: Mapping[str, Any], lang: str):
        super().__init__({k: _param(v, lang) for k, v in params.items()})


def _param(v: Any, lang: str) -> Any:
    if isinstance(v, Msg):
        return text(v.code, lang, **v.params)
    if isinstance(v, (list, tuple)):
        return LIST_SEPARATORS[lang].join(str(_param(x, lang)) for x in v)
    return v


def placeholders(code: str) -> dict[str, set[str]]:
    """The placeholder names of ``code`` per language (they must agree)."""
    out = {}
    for lang, template in catalogue()[code].items():
        out[lang] = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    return out


def label(vocabulary: str, key: object, lang: str) -> str:
    """The report-language label of a stored key (``label.<vocabulary>.<key>``); the key
    itself when the vocabulary does not name it, ``–`` for a missing value."""
    if key is None or (isinstance(key, float) and key != key):
        return "–"
    try:
        if pd.isna(key):
            return "–"
    except (TypeError, ValueError):
        pass
    entry = catalogue().get(f"label.{vocabulary}.{key}")
    return entry[lang] if entry else str(key)
