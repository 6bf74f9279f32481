"""Shared fixtures: one end-to-end run of the small fixture data, reused by several tests.

The runner is imported inside the fixtures, so that collecting the fast unit tests does not
import the whole publish layer (papermill, nbconvert).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SMALL_CONFIG = ROOT / "tests" / "fixtures" / "small.yml"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """`kit run` on the 200-customer fixture (zh); returns the RunResult."""
    from kit.publish.run import run

    out = tmp_path_factory.mktemp("reports")
    messages: list[str] = []
    result = run(SMALL_CONFIG, out_dir=out, progress=messages.append)
    result.messages = messages
    return result


@pytest.fixture(scope="session")
def small_run_en(tmp_path_factory):
    """The same data in English, with ``engine.name: duckdb``: DuckDB cleans the orders and
    answers stages 03-04 over the clean file (the path of files above
    ``engine.duckdb_min_bytes``), so the key-figure tests hold both engines to one set of
    numbers (and ``test_run.py`` compares the two spines)."""
    import re

    from kit.publish.run import run

    out = tmp_path_factory.mktemp("reports_en")
    text = SMALL_CONFIG.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s+path: )(small/)", lambda m: f"{m.group(1)}{SMALL_CONFIG.parent}/{m.group(2)}", text)
    config = tmp_path_factory.mktemp("config_en") / "small.yml"
    config.write_text(text + "\nengine:\n  name: duckdb\n", encoding="utf-8")
    return run(config, out_dir=out, lang="en", progress=lambda m: None)
