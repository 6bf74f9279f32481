"""The column registry: every canonical column's labels, display kind and PII role.

One registry serves HTML tables, the Excel sheets and the CSVs alike, so a column's label,
its format and whether it is masked are decided once. Entries live in
``kit/core/columns/*.yml`` (one file per stage); a column registered twice fails the load.

Kinds: ``id``, ``text``, ``int``, ``num``, ``score``, ``money``, ``pct``, ``date``,
``bool``, ``label:<vocabulary>`` (a key shown through its label) and
``labels:<vocabulary>`` (``;``-separated keys, each shown through its label).
PII roles: ``name`` (customer or person name), ``person`` (a person's name), ``phone``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

COLUMNS_DIR = Path(__file__).resolve().parent / "columns"
KINDS = ("id", "text", "int", "num", "score", "money", "pct", "date", "bool")
PII_ROLES = ("name", "person", "phone")
TAG_PREFIX = "tag_"


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    en: str
    kind: str = "text"
    pii: str | None = None

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    @property
    def vocabulary(self) -> str | None:
        """The label vocabulary of a ``label:``/``labels:`` column."""
        return self.kind.split(":", 1)[1] if ":" in self.kind else None


class RegistryError(ValueError):
    pass


def _check(name: str, entry: dict, source: Path) -> Column:
    missing = {"zh", "en", "kind"} - set(entry)
    if missing:
        raise RegistryError(f"{source.name}: column {name!r} lacks {', '.join(sorted(missing))}")
    kind = str(entry["kind"])
    base = kind.split(":", 1)[0]
    if base not in KINDS and base not in ("label", "labels"):
        raise RegistryError(f"{source.name}: column {name!r} has unknown kind {kind!r} (allowed: {', '.join(KINDS)}, label:<v>, labels:<v>)")
    pii = entry.get("pii")
    if pii is not None and pii not in PII_ROLES:
        raise RegistryError(f"{source.name}: column {name!r} has unknown pii role {pii!r} (allowed: {', '.join(PII_ROLES)})")
    return Column(name, str(entry["zh"]), str(entry["en"]), kind, pii)


@lru_cache(maxsize=1)
def registry() -> dict[str, Column]:
    """Every registered column, by canonical name."""
    out: dict[str, Column] = {}
    where: dict[str, str] = {}
    for path in sorted(COLUMNS_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, entry in data.items():
            if name in out:
                raise RegistryError(f"column {name!r} is registered twice: {where[name]} and {path.name}")
            out[name] = _check(name, entry, path)
            where[name] = path.name
    return out


def column(name: str) -> Column | None:
    """The registered column ``name`` (None when it is not registered)."""
    return registry().get(name)


def kind(name: str) -> str:
    """Display kind of ``name`` (``text`` when not registered)."""
    c = column(name)
    return c.kind if c else "text"


def pii_role(name: str) -> str | None:
    c = column(name)
    return c.pii if c else None


def pii_columns(names) -> dict[str, str]:
    """Of ``names``, those with a PII role, mapped to the role."""
    return {n: r for n in names if (r := pii_role(n))}
