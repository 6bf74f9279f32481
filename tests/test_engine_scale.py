"""The scale benchmarks keep working (benchmarks/engine_scale.py, benchmarks/deliverables_scale.py).

Benchmarks are not tests: nothing here is timed. One tiny run of each: the generated order
file is read back whole by the cleaning (books balanced, the injected duplicates, refunds
and zero amounts found), the summary covers the clean customers, the kit's summary equals
the plain SQL one, and the deliverables run writes its files.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, timeout=300, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout[proc.stdout.index("{"):])


def test_big_run_at_a_tiny_size(tmp_path):
    out = _run("engine_scale.py", "big", "--orders", "30000", "--memory-limit", "1GB", "--workdir",
               str(tmp_path / "w"), "--out", str(tmp_path / "r.json"))
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == out
    data, clean, summary = out["data"], out["clean"], out["summary"]
    books = clean["books"]
    assert books["source_rows"] == data["rows"] > 30000 and books["balanced"]
    assert clean["quarantined_by_reason"]["duplicate"] == len(range(0, 30000, 997))
    assert clean["quarantined_by_reason"]["zero_amount"] == len(range(2, 30000, 3001))
    assert clean["merged_rows"] == len(range(1, 30000, 1499))  # every partial refund netted into its order
    assert 0 < summary["customers"] <= data["customers"]
    for stage in (clean, summary):
        assert stage["seconds"] >= 0 and stage["peak_rss_mb"] > 0
    assert not (tmp_path / "w").exists()  # the work folder goes unless --keep


def test_ratio_at_a_tiny_size(tmp_path):
    out = _run("engine_scale.py", "ratio", "--customers", "2000", "--reps", "2", "--workdir", str(tmp_path / "w"))
    r = out["ratio"]
    assert r["same_customers"] and r["largest_difference"] < 1e-9
    assert len(r["kit_seconds"]) == len(r["plain_seconds"]) == 2 and r["ratio"] > 0


def test_deliverables_run_at_a_tiny_size():
    out = _run("deliverables_scale.py", "--customers", "300")
    assert out["customers"] == 300 and out["workbook_rows"] == 300
    assert set(out["files"]) == {"deliverables.xlsx", "客户信息档案表.csv", "客户分类评估表.csv", "客户维护策略执行表.csv"}
