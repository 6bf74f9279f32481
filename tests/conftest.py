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
    """The same run in English."""
    from kit.publish.run import run

    out = tmp_path_factory.mktemp("reports_en")
    return run(SMALL_CONFIG, out_dir=out, lang="en", progress=lambda m: None)
