"""The base of every config model, and the one loader of the packaged defaults.

The defaults of the domain brief live in ``kit/core/defaults/*.yml``, never in Python
literals. Each file holds top-level keys of one tree (``cleaning:``, ``layering:``, ...,
``entries:`` for list entries, ``columns:`` for the canonical columns); :func:`default`
returns a copy of the node at a dotted path. A :class:`Defaulted` model names its node
(``defaults_at``) and takes every key the input leaves out from there, so ``Cleaning()``,
``KitConfig`` sections left out of a file and a client's partial section all get the
brief's values, while the model keeps the types and the validation.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

#: Where the packaged defaults live (``pyproject.toml`` ships ``core/defaults/*.yml``).
DEFAULTS_DIR = Path(__file__).resolve().parents[1] / "defaults"


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says where and why."""


@lru_cache(maxsize=1)
def defaults_tree() -> dict[str, Any]:
    """Every packaged default, one tree merged from ``kit/core/defaults/*.yml`` (read once)."""
    tree: dict[str, Any] = {}
    where: dict[str, str] = {}
    for path in sorted(DEFAULTS_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a defaults file holds a mapping of keys")
        for key, value in data.items():
            if key in tree:
                raise ConfigError(f"default {key!r} is defined twice: {where[key]} and {path.name}")
            tree[key] = value
            where[key] = path.name
    return tree


def default(path: str = "") -> Any:
    """A copy of the default at the dotted ``path`` (``"layering.rfm"``; ``""``: the tree)."""
    node: Any = defaults_tree()
    for part in filter(None, path.split(".")):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"no packaged default at {path!r} (kit/core/defaults/*.yml)")
        node = node[part]
    return copy.deepcopy(node)


class Strict(BaseModel):
    """Base: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Defaulted(Strict):
    """A model whose defaults are the packaged node at ``defaults_at`` (a dotted path)."""

    defaults_at: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        """Keys the input leaves out come from the packaged defaults (a given key replaces
        its default whole; a nested section fills its own missing keys)."""
        if not isinstance(data, dict):
            return data
        node = default(cls.defaults_at)
        missing = {k: v for k, v in node.items() if k in cls.model_fields and k not in data}
        return {**data, **missing}


class Text(Strict):
    """A label in both report languages."""

    zh: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``, mappings merged key by key."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def weights_sum_to_one(weights: dict[str, float]) -> dict[str, float]:
    """Validate a weight mapping: every weight >= 0, the sum 1 (to 1e-6)."""
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must be >= 0")
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"weights must sum to 1 (they sum to {total:g})")
    return weights
