"""The root model :class:`KitConfig`, and reading a YAML config into it with errors that name
the file, the key path and what is allowed."""
from __future__ import annotations

import datetime as dt
import re
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from kit.core import paths
from kit.core.config.base import ConfigError, Defaulted
from kit.core.config.inputs import INPUT_TABLES, Cleaning, Inputs
from kit.core.config.layering import Layering
from kit.core.config.sections import Clv, Engine, Personas, Report, Strategy
from kit.core.config.subscriptions import Subscriptions

Lang = Literal["zh", "en"]

#: A client key is one plain folder name: never ``.``, ``..``, a hidden name or a path.
CLIENT_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


class KitConfig(Defaulted):
    defaults_at = ""  # the top-level keys of kit/core/defaults/*.yml

    client: str = Field(description="folder-safe client key: the run folder <out>/<client>/")
    client_name: str
    client_name_en: str = Field(description="the client's name in the English report; empty: client_name")
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
    subscriptions: Subscriptions
    report: Report
    engine: Engine

    #: where the file was loaded from (not part of the YAML)
    source: Path | None = Field(None, exclude=True)

    @field_validator("client")
    @classmethod
    def _plain_folder_name(cls, v: str) -> str:
        if not CLIENT_KEY.match(v):
            raise ValueError(
                "not a plain folder name: use letters, digits, '_', '-' and '.', "
                "not starting with '.' or '-' (it names the run folder <out>/<client>/)"
            )
        return v

    def client_label(self, lang: str) -> str:
        """The client's name as the report of ``lang`` shows it."""
        if lang == "en" and self.client_name_en:
            return self.client_name_en
        return self.client_name or self.client

    def run_languages(self, requested: "tuple[str, ...]" = ()) -> tuple[str, ...]:
        """The languages a run builds: a list of ``requested`` (``kit run --lang zh,en``) as
        given; else one language first (``--lang en``, or the config's ``language``), then
        the rest of ``report.languages``: a run in one language never drops the other's pages."""
        if len(requested) > 1:
            return tuple(requested)
        first = requested[0] if requested else self.language
        return (first, *[x for x in self.report.languages if x != first])


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
    if kind.startswith("date") and isinstance(given, str):
        reason = err["msg"].split(", ", 1)[-1] if ", " in err["msg"] else err["msg"]
        return f"{loc}: {shown} is not a valid date YYYY-MM-DD ({reason})"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{loc}: {msg} (got {shown})"


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
        if len(lines) == 1:  # one fault, one line
            raise ConfigError(f"{source}: {lines[0]}") from None
        raise ConfigError(f"{source}: invalid configuration\n  - " + "\n  - ".join(lines)) from None
    cfg.source = Path(source) if source != "<dict>" else None
    return cfg


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, except that a date-like value that is no real day
    (``2025-13-31``) stays text, so that validation names its key instead of a traceback."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def load_config(path: str | Path, **overrides: Any) -> KitConfig:
    """Read a YAML config, apply top-level ``overrides`` (``as_of``, ``language``) and validate.

    A relative ``path`` is taken from the working directory; relative input paths in the
    file from the config file's folder (``lifetimes:NAME`` names a file in that package).
    The returned config holds them as absolute paths.
    """
    p = paths.resolve(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found (see configs/ for examples)")
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_Loader) or {}  # noqa: S506 (a safe loader)
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {' '.join(str(e).split())}") from None
    if isinstance(data, dict):
        data.update({k: v for k, v in overrides.items() if v is not None})
    cfg = parse_config(data, p)
    for table in INPUT_TABLES:
        spec = getattr(cfg.inputs, table)
        if spec is not None and not spec.path.startswith(paths.LIFETIMES_SCHEME):
            spec.path = str(paths.resolve(spec.path, p.parent))
    return cfg
