"""The config model: the brief's defaults, and errors that name file, key path and what is allowed."""
from pathlib import Path

import pytest
import yaml

from kit.core import paths
from kit.core.config import ConfigError, KitConfig, load_config, parse_config

MINIMAL = {"client": "acme", "inputs": {"transactions": {"path": "orders.csv"}}}


def write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "c.yml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_bundled_configs_load():
    for name in ("demo.yml", "cdnow.yml"):
        cfg = load_config(paths.CONFIGS_DIR / name)
        assert isinstance(cfg, KitConfig)


def test_domain_defaults():
    cfg = parse_config(MINIMAL)
    lay = cfg.layering
    assert (lay.value_tiers.high_min, lay.value_tiers.medium_min) == (500_000, 100_000)
    assert (lay.abc.a_min, lay.abc.b_min) == (5_000_000, 1_000_000)
    assert lay.quadrant.value_weights == {"amount_12m": 0.4, "profit": 0.4, "avg_order_value": 0.2}
    assert lay.quadrant.potential_weights == {
        "industry_growth": 0.3, "size_expansion": 0.2, "cooperation_depth": 0.3, "referral": 0.2}
    assert (lay.churn.high_months, lay.churn.medium_months, lay.churn.satisfaction_high_risk) == (3, 1, 40)
    assert lay.dynamic.upgrade_growth == 0.2 and lay.dynamic.upgrade_quarters == 2
    assert lay.dynamic.downgrade_inactive_months == 6
    assert lay.rfm.bins == 5 and lay.rfm.rfm8_threshold == "mean"
    assert cfg.personas.tag_weights["industry"] == 0.3 and cfg.personas.tag_weights["pain_point"] == 0.4
    assert cfg.personas.recent_days == 90
    assert cfg.clv.horizon_months == 12
    assert [t.days_after_first_order for t in cfg.strategy.touchpoints] == [1, 3, 7, 30]
    assert set(cfg.strategy.playbook) == {"star", "cash_cow", "potential", "eliminate"}
    assert cfg.strategy.playbook["cash_cow"].response_hours == 24
    assert cfg.strategy.playbook["potential"].cadence_days <= 15  # >= 2 follow-ups a month
    assert cfg.strategy.playbook["eliminate"].cadence_days >= 90  # <= 1 a quarter


def test_unknown_key_names_file_path_and_allowed(tmp_path):
    p = write(tmp_path, MINIMAL | {"layering": {"value_tiers": {"hihg_min": 1}}})
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg
    assert "layering.value_tiers.hihg_min" in msg
    assert "high_min" in msg and "medium_min" in msg


def test_wrong_type_and_range(tmp_path):
    p = write(tmp_path, MINIMAL | {"language": "fr", "layering": {"churn": {"satisfaction_high_risk": 140}}})
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "language" in msg and "'zh'" in msg and "'en'" in msg
    assert "layering.churn.satisfaction_high_risk" in msg and "100" in msg


def test_weights_must_sum_to_one():
    bad = MINIMAL | {"layering": {"quadrant": {"value_weights": {"amount_12m": 0.5, "profit": 0.4, "avg_order_value": 0.2}}}}
    with pytest.raises(ConfigError, match="sum to 1"):
        parse_config(bad)


def test_ordered_thresholds():
    with pytest.raises(ConfigError, match="medium_min must be below high_min"):
        parse_config(MINIMAL | {"layering": {"value_tiers": {"high_min": 100, "medium_min": 200}}})


def test_playbook_cell_override_keeps_other_cells():
    cfg = parse_config(MINIMAL | {"strategy": {"playbook": {"star": {"yearly_cost": 80000}}}})
    assert cfg.strategy.playbook["star"].yearly_cost == 80000
    assert cfg.strategy.playbook["star"].cadence_days == 30
    assert cfg.strategy.playbook["cash_cow"].yearly_cost == 20000


def test_overrides_and_missing_file(tmp_path):
    p = write(tmp_path, MINIMAL)
    cfg = load_config(p, as_of="2025-03-31", language="en")
    assert str(cfg.as_of) == "2025-03-31" and cfg.language == "en"
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yml")


def test_bad_regex_rejected():
    with pytest.raises(ConfigError, match="cleaning.test_account_pattern"):
        parse_config(MINIMAL | {"cleaning": {"test_account_pattern": "("}})
