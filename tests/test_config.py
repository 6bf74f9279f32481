"""The config model: the brief's defaults, and errors that name file, key path and what is allowed."""
from pathlib import Path

import pytest
import yaml

from kit.core import paths
from kit.core.config import INPUT_TABLES, ConfigError, KitConfig, load_config, parse_config

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


# ---- defaults live in packaged YAML (kit/core/defaults/*.yml) ------------------------------------


def test_defaults_equal_the_packaged_yaml():
    from kit.core.config import CANONICAL_COLUMNS, SYNONYMS, InputTable, default, defaults_tree

    tree = defaults_tree()
    cfg = parse_config(MINIMAL).model_dump(mode="json", exclude={"client", "inputs"})
    assert cfg == {k: tree[k] for k in KitConfig.model_fields if k in tree}
    assert set(cfg) == set(KitConfig.model_fields) - {"client", "inputs", "source"}
    assert InputTable(path="x.csv").model_dump() == {"path": "x.csv", **tree["entries"]["input_table"]}
    assert CANONICAL_COLUMNS["transactions"]["required"] == tree["columns"]["transactions"]["required"]
    assert SYNONYMS["customers"]["name"] == tree["columns"]["customers"]["synonyms"]["name"]
    for table, spec in tree["columns"].items():  # synonyms only for canonical columns
        assert set(spec["synonyms"]) <= set(spec["required"]) | set(spec["optional"]), table
    from kit.io import headers  # the reader matches headers by the packaged synonyms

    assert headers.SYNONYMS == SYNONYMS and headers.CANONICAL_COLUMNS == CANONICAL_COLUMNS
    assert default("layering.value_tiers") == {"high_min": 500_000, "medium_min": 100_000, "window_months": 12}
    assert default("strategy.playbook.star.cadence_days") == 30
    default("cleaning")["refunds"] = "changed"  # a copy: the packaged defaults stay as they are
    assert default("cleaning.refunds") == "net"


def test_packaged_defaults_hold_only_known_keys():
    """The YAML tree validates as a config itself, so a misspelt default key fails here."""
    from kit.core.config import InputTable, Play, RfmSegmentRule, defaults_tree

    tree = defaults_tree()
    assert set(tree) <= set(KitConfig.model_fields) | {"entries", "columns"}
    sections = {k: v for k, v in tree.items() if k not in ("entries", "columns")}
    parse_config(sections | MINIMAL)
    entries = tree["entries"]
    assert set(entries["input_table"]) < set(InputTable.model_fields)
    assert set(entries["rfm_segment"]) < set(RfmSegmentRule.model_fields)
    assert set(entries["play"]) < set(Play.model_fields)


def test_partial_section_keeps_the_other_defaults():
    cfg = parse_config(MINIMAL | {"cleaning": {"outliers": {"method": "zscore"}},
                                  "layering": {"rfm": {"segments": [{"name": "All", "label": {"zh": "全部", "en": "All"}}]}}})
    assert cfg.cleaning.outliers.method == "zscore" and cfg.cleaning.outliers.iqr_factor == 3.0
    assert cfg.cleaning.refunds == "net" and cfg.layering.rfm.bins == 5
    seg = cfg.layering.rfm.segments[0]
    assert (seg.r, seg.f, seg.m, seg.fm) == ((1, 5), (1, 5), (1, 5), None)
    assert cfg.inputs.transactions.encoding == "auto" and cfg.inputs.customers is None
    # a given mapping replaces its default whole (weights must still sum to 1)
    cfg = parse_config(MINIMAL | {"layering": {"quadrant": {"value_weights": {"amount_12m": 0.5, "profit": 0.5}}}})
    assert cfg.layering.quadrant.value_weights == {"amount_12m": 0.5, "profit": 0.5}


def test_kit_check_prints_the_resolved_config(capsys):
    import json

    from kit.publish.cli import main

    for name in ("demo.yml", "cdnow.yml"):
        assert main(["check", "--show-config", "--config", str(paths.CONFIGS_DIR / name)]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert printed == json.loads(load_config(paths.CONFIGS_DIR / name).model_dump_json())


# ---- issue 12: client names, dates in YAML, relative paths ---------------------------------------

CLIENT_RULE = ("not a plain folder name: use letters, digits, '_', '-' and '.', not starting with '.' or '-' "
               "(it names the run folder <out>/<client>/)")


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "../x", "-x", "a b", "", "x" * 101])
def test_client_must_be_a_plain_folder_name(tmp_path, name):
    p = write(tmp_path, MINIMAL | {"client": name})
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value) == f"{p}: client: {CLIENT_RULE} (got {name!r})"


@pytest.mark.parametrize("name", ["acme", "acme_2026", "Acme-Corp.cn", "_x", "0"])
def test_plain_client_names_are_accepted(name):
    assert parse_config(MINIMAL | {"client": name}).client == name


@pytest.mark.parametrize("value, reason", [
    ("2025-13-31", "month value is outside expected range of 1-12"),
    ("2025-02-30", "day value is outside expected range"),
])
def test_impossible_as_of_in_yaml_is_one_line(tmp_path, value, reason):
    p = tmp_path / "c.yml"
    p.write_text(f"client: acme\nas_of: {value}\ninputs: {{transactions: {{path: orders.csv}}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value) == f"{p}: as_of: '{value}' is not a valid date YYYY-MM-DD ({reason})"
    with pytest.raises(ConfigError) as e:  # the same line for the command-line override
        load_config(write(tmp_path, MINIMAL), as_of=value)
    assert str(e.value) == f"{tmp_path / 'c.yml'}: as_of: '{value}' is not a valid date YYYY-MM-DD ({reason})"


def test_input_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    folder = tmp_path / "clients" / "acme"
    folder.mkdir(parents=True)
    p = folder / "acme.yml"
    p.write_text(yaml.safe_dump({"client": "acme", "inputs": {
        "transactions": {"path": "data/orders.csv"},
        "customers": {"path": "../shared/master.xlsx"},
        "interactions": {"path": str(tmp_path / "abs.csv")},
    }}), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config("../clients/acme/acme.yml")  # the config itself: from the working directory
    assert cfg.source == p
    assert cfg.inputs.transactions.path == str(folder / "data" / "orders.csv")
    assert cfg.inputs.customers.path == str(tmp_path / "clients" / "shared" / "master.xlsx")
    assert cfg.inputs.interactions.path == str(tmp_path / "abs.csv")
    cdnow = load_config(paths.CONFIGS_DIR / "cdnow.yml")
    assert cdnow.inputs.transactions.path == "lifetimes:CDNOW_master.txt"  # unchanged


def test_bundled_configs_find_their_inputs_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for cfg_path in (paths.CONFIGS_DIR / "demo.yml", ROOT_SMALL, ROOT_SMALL.parent / "hostile" / "hostile.yml"):
        cfg = load_config(cfg_path)
        for table in INPUT_TABLES:
            assert Path(getattr(cfg.inputs, table).path).is_file(), (cfg_path, table)


ROOT_SMALL = Path(__file__).resolve().parent / "fixtures" / "small.yml"
