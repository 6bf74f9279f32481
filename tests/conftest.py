"""Shared fixtures: one end-to-end run of the small fixture data, reused by several tests.

The runner is imported inside the fixtures, so that collecting the fast unit tests does not
import the whole publish layer (papermill, nbconvert).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SMALL_CONFIG = ROOT / "tests" / "fixtures" / "small.yml"


def pytest_collection_modifyitems(config, items):
    """Modules with a slow test first (a stable sort: each module's tests stay together, in
    order). Under ``pytest -n 2 --dist loadscope tests`` (pytest-xdist, the Makefile's
    ``test``) a worker takes a module whole, so its fixtures are made once, and the long
    modules are handed out first, so the two workers do not end on one of them. The
    whole-run fixtures are made once for all workers (:func:`_once`). The notebooks run
    after, in one process: a notebook's cells share a kernel and each notebook reads what the
    one before left in the run folder."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


def _once(tmp_path_factory, name: str, build):
    """``build(folder)``'s RunResult, made once per test session: under pytest-xdist the
    first worker that asks makes it in the workers' common temporary folder, under a file
    lock, and the others read where it is (the tests only read a run's files)."""
    from filelock import FileLock

    from kit.publish.run import RunResult

    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build(tmp_path_factory.mktemp(name))
    root = tmp_path_factory.getbasetemp().parent
    record = root / f"{name}.json"
    with FileLock(str(root / f"{name}.lock")):
        if not record.is_file():
            result = build(root / name)
            record.write_text(json.dumps({"run_dir": str(result.run_dir), "index": str(result.index),
                                          "seconds": result.seconds,
                                          "messages": getattr(result, "messages", None)}), encoding="utf-8")
    saved = json.loads(record.read_text(encoding="utf-8"))
    result = RunResult(run_dir=Path(saved["run_dir"]), index=Path(saved["index"]), seconds=saved["seconds"])
    if saved["messages"] is not None:
        result.messages = saved["messages"]
    return result


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """`kit run` on the 200-customer fixture (zh); returns the RunResult."""
    from kit.publish.run import run

    def build(folder: Path):
        out = folder / "reports"
        messages: list[str] = []
        result = run(SMALL_CONFIG, out_dir=out, progress=messages.append)
        result.messages = messages
        return result

    return _once(tmp_path_factory, "small_run", build)


@pytest.fixture(scope="session")
def small_run_en(tmp_path_factory):
    """The same data in English, with ``engine.name: duckdb``: DuckDB cleans the orders and
    answers stages 03-04 over the clean file (the path of files above
    ``engine.duckdb_min_bytes``), so the key-figure tests hold both engines to one set of
    numbers (and ``test_run.py`` compares the two spines)."""
    from kit.publish.run import run

    def build(folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        text = SMALL_CONFIG.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^(\s+path: )(small/)", lambda m: f"{m.group(1)}{SMALL_CONFIG.parent}/{m.group(2)}", text)
        config = folder / "small.yml"
        config.write_text(text + "\nengine:\n  name: duckdb\n", encoding="utf-8")
        return run(config, out_dir=folder / "reports", lang="en", progress=lambda m: None)

    return _once(tmp_path_factory, "small_run_en", build)
