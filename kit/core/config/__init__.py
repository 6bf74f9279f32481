"""Typed, validated run configuration.

One YAML file per client or run (``configs/demo.yml``). Every threshold, weight and
window of the domain brief (``shared/DOMAIN.md``) is a field here; its default lives in
the packaged ``kit/core/defaults/*.yml`` (read by one loader, :func:`default`), so a
consultant tunes a client in YAML and never in code.

``load_config(path)`` merges the file over these defaults and validates it. An unknown
key, a wrong type or an out-of-range value raises :class:`ConfigError`, whose message
names the file, the key path and what is allowed.

Modules: ``base`` (the loader of the defaults, the base models), ``inputs`` (input files,
canonical columns and their synonyms, cleaning), ``layering``, ``sections`` (personas,
CLV, strategy, report, engine), ``load`` (the root :class:`KitConfig` and reading a file).
"""
from __future__ import annotations

from kit.core.config.base import (
    DEFAULTS_DIR,
    ConfigError,
    Defaulted,
    Strict,
    Text,
    deep_merge,
    default,
    defaults_tree,
    weights_sum_to_one,
)
from kit.core.config.inputs import (
    CANONICAL_COLUMNS,
    INPUT_TABLES,
    SUBSCRIPTION_STATUSES,
    SYNONYMS,
    Cleaning,
    InputTable,
    Inputs,
    OutlierRule,
)
from kit.core.config.layering import (
    DEFAULT_RFM_SEGMENTS,
    AbcClasses,
    Churn,
    Dynamic,
    Layering,
    Quadrant,
    Rfm,
    RfmSegmentRule,
    ThreeD,
    ValueTiers,
)
from kit.core.config.load import KitConfig, Lang, load_config, parse_config
from kit.core.config.subscriptions import (
    BandPlay,
    DemandRule,
    DemandRules,
    DemandTags,
    Health,
    HealthBands,
    HealthScaling,
    Renewal,
    Retention,
    Scale,
    Subscriptions,
    WindowPlay,
)
from kit.core.config.sections import (
    DEFAULT_PAIN_POINTS,
    DEFAULT_PLAYBOOK,
    DEFAULT_TOUCHPOINTS,
    Clv,
    Engine,
    PainPoint,
    Personas,
    Play,
    Report,
    Strategy,
    Touchpoint,
)

__all__ = [
    "CANONICAL_COLUMNS", "DEFAULTS_DIR", "DEFAULT_PAIN_POINTS", "DEFAULT_PLAYBOOK", "DEFAULT_RFM_SEGMENTS",
    "DEFAULT_TOUCHPOINTS", "SYNONYMS", "AbcClasses", "Churn", "Cleaning", "Clv", "ConfigError", "Defaulted",
    "Dynamic", "Engine", "InputTable", "Inputs", "KitConfig", "Lang", "Layering", "OutlierRule", "PainPoint",
    "Personas", "Play", "Quadrant", "Report", "Rfm", "RfmSegmentRule", "Strategy", "Strict", "Text", "ThreeD",
    "Touchpoint", "ValueTiers", "deep_merge", "default", "defaults_tree", "load_config", "parse_config",
    "weights_sum_to_one",
    # subscriptions (issue 13)
    "BandPlay", "DemandRule", "DemandRules", "DemandTags", "Health", "HealthBands", "HealthScaling", "Renewal",
    "Retention", "Scale", "Subscriptions", "WindowPlay",
    # the input tables (issue 13: subscriptions and usage)
    "INPUT_TABLES", "SUBSCRIPTION_STATUSES",
]
