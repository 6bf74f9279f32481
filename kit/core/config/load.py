"""The root model :class:`KitConfig`, and reading a YAML config into it with errors that name
the file, the key path and what is allowed."""
from __future__ import annotations

import datetime as dt
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from kit.core import paths
from kit.core.config.base import ConfigError, Defaulted
from kit.core.config.inputs import Cleaning, Inputs
from kit.core.config.layering import Layering
from kit.core.config.sections import Clv, Engine, Personas, Report, Strategy

Lang = Literal["zh", "en"]


class KitConfig(Defaulted):
    defaults_at = ""  # the top-level keys of kit/core/defaults/*.yml

    client: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="folder-safe client key")
    client_name: str
    language: Lang
    period: Literal["month", "quarter"]
    as_of: dt.date | None = Field(description="last day of the period; None: the latest order date")
    currency: str
    inputs: Inputs
    cleaning: Cleaning
    layering: Layering
    personas: Personas
    clv: Clv
    strategy: Strategy
    report: Report
    engine: Engine

    #: where the file was loaded from (not part of the YAML)
    source: Path | None = Field(None, exclude=True)


def _describe_error(err: dict[str, Any], schema_root: type[BaseModel]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = err["loc"][:-1]
        allowed = _allowed_keys(schema_root, parent)
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{loc}: unknown key{hint}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    given = err.get("input")
    shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
    return f"{loc}: {err['msg']} (got {shown})"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_of(field.annotation)
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def parse_config(data: dict[str, Any], source: str | Path = "<dict>") -> KitConfig:
    """Validate a mapping into a :class:`KitConfig`; errors name ``source`` and key paths."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the file must hold a mapping of keys (got {type(data).__name__})")
    try:
        cfg = KitConfig.model_validate(data)
    except ValidationError as e:
        lines = [_describe_error(err, KitConfig) for err in e.errors()]
        raise ConfigError(f"{source}: invalid configuration\n  - " + "\n  - ".join(lines)) from None
    cfg.source = Path(source) if source != "<dict>" else None
    return cfg


def load_config(path: str | Path, **overrides: Any) -> KitConfig:
    """Read a YAML config, apply top-level ``overrides`` (``as_of``, ``language``) and validate.

    Relative input paths in the file are taken relative to the project root.
    """
    p = paths.resolve(path)
    if not p.exists():
        raise ConfigError(f"{p}: config file not found (see configs/ for examples)")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from None
    if isinstance(data, dict):
        data.update({k: v for k, v in overrides.items() if v is not None})
    return parse_config(data, p)
