"""The deliverables (three CSVs and the capped workbook) of a large spine: time and memory.

:func:`synthetic_spine` draws a seeded spine with every column the three sheets show (the
master attributes, tags, indicators, classes, CLV; strategy columns from
:func:`kit.stages.strategy.assign`), missing values and formula-like text included; then
:func:`kit.publish.deliverables.write_deliverables` writes the deliverables in a
temporary folder, in a process of its own, and the script records the seconds and the
process's peak resident memory over that call (Linux ``VmHWM``, reset before it) on top
of the spine itself.

Usage::

    python benchmarks/deliverables_scale.py --customers 1000000

Not a test; ``tests/test_deliverables_stream.py`` uses :func:`synthetic_spine` at a small
size to prove the streamed writer writes the files the previous one wrote.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script: the kit package is one folder up
    sys.path.insert(0, str(ROOT))

AS_OF = "2024-03-31"


def synthetic_spine(n: int, seed: int = 7):
    """A seeded spine of ``n`` customers with the columns the deliverable sheets read."""
    import numpy as np
    import pandas as pd

    from kit.core.config import DEFAULT_RFM_SEGMENTS, parse_config
    from kit.stages import strategy

    rng = np.random.default_rng(seed)

    def pick(values, p_missing=0.0):
        out = np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]
        if p_missing:
            out[rng.random(n) < p_missing] = None
        return out

    def num(scale, p_missing=0.0, integer=False):
        v = rng.gamma(1.5, scale, n)
        v = np.round(v) if integer else np.round(v, 2)
        if p_missing:
            v[rng.random(n) < p_missing] = np.nan
        return v

    ids = pd.Index([f"C{i:08d}" for i in rng.permutation(n)], name="customer_id", dtype="str")
    first = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    last = first + pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    segments = [s.name for s in DEFAULT_RFM_SEGMENTS]
    cust = pd.DataFrame({
        "name": pick(["张三科技有限公司", "Acme Ltd", "=HYPERLINK(\"x\")", "+cmd", "华东机械", "Blue Sky"], 0.02),
        "industry": pick(["新能源汽车", "机械", "retail", "化工"], 0.1),
        "region": pick(["华东", "华南", "North", "-West"], 0.1),
        "employees": num(200, 0.2, integer=True),
        "annual_revenue": num(5e6, 0.3),
        "contact_name": pick(["张三", "李四", "@evil", "Ann Lee"], 0.1),
        "contact_title": pick(["采购经理", "CTO", "总经理"], 0.3),
        "contact_phone": pick(["13812345678", "+86 139 8765 4321", "021-5555-1234"], 0.2),
        "growth_stage": pick(["growth", "mature", "startup"], 0.3),
        "strategic_partner": pick([True, False, None]),
        "industry_leader": pick([True, False]),
        "account_manager": pick(["王经理", "刘经理", "Li"], 0.3),
        "first_purchase": first, "last_purchase": last,
        "orders_total": rng.integers(1, 60, n),
        "revenue_total": num(40_000), "amount_12m": num(20_000, 0.05) - 500,
        "avg_order_value": num(3_000), "n_categories": rng.integers(1, 6, n),
        "value_tier": pick(["high", "medium", "low"]), "churn_risk": pick(["high", "medium", "low"], 0.05),
        "demand_type": pick(["price_sensitive", "service", "solution"], 0.2),
        "potential_type": pick(["high_growth", "stable", "to_activate"], 0.2),
        "rfm_segment": pick(segments, 0.05),
        "persona_label": pick(["长三角新能源车企-技术驱动型", "机械", "retail"], 0.1),
        "persona_name": pick(["技术驱动型", "价格敏感型", None]),
        "tag_score": num(20, 0.1),
        "profit_total": num(9_000, 0.4), "value_score": num(30), "potential_score": num(30),
        "quadrant": pick(["star", "cash_cow", "potential", "eliminate"]),
        "abc_class": pick(["A", "B", "C"]),
        "rfm_r": rng.integers(1, 6, n), "rfm_f": rng.integers(1, 6, n), "rfm_m": rng.integers(1, 6, n),
        "rfm8_class": pick(["important_value", "general_keep", "important_retain"]),
        "satisfaction": num(30, 0.5), "complaint_rate": np.round(rng.random(n) * 0.2, 3),
        "p_alive": np.round(rng.random(n), 4), "exp_purchases": num(2), "exp_avg_value": num(3000),
        "clv": num(10_000, 0.1), "clv_rank": rng.permutation(n) + 1,
        "quadrant_prev": pick(["star", "cash_cow", "potential", "eliminate"], 0.3),
        "value_tier_prev": pick(["high", "medium", "low"], 0.3),
        "tier_change": pick(["up", "down", "same", "new", "lost"]),
        "upgrade_trigger": pick([True, False]), "upgrade_reason": pick(["growth", "new_category", None]),
        "downgrade_warning": pick([True, False]), "downgrade_reason": pick(["complaints", "inactive", None]),
        "special_flags": pick(["strategic_partner", "churn_warning", "overdue_payment", None]),
        "tag_industry": pick(["新能源汽车", "机械", "=1+1"], 0.1),
        "tag_decision_role": pick(["technical|procurement", "executive", None]),
        "tag_core_pain": pick(["cares about equipment stability", "cares about energy use", None]),
        "tag_recent_orders": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "tag_empty": pick([None]),  # no value for anyone: left out of the sheet, listed in the notes
    }, index=ids)
    ix = pd.DataFrame({"customer_id": ids[: max(1, n // 3)], "type": "visit",
                       "date": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 200, max(1, n // 3)), unit="D")})
    cfg = parse_config({"client": "bench", "inputs": {"transactions": {"path": "x.csv"}}})
    return cust.assign(**strategy.assign(cust, ix, AS_OF, cfg, period_start="2024-01-01")), cfg


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))


def worker(n: int, lang: str, mask_pii: bool) -> dict[str, Any]:
    from kit.publish.deliverables import write_deliverables

    spine, cfg = synthetic_spine(n)
    base = _peak_mb()
    with tempfile.TemporaryDirectory(prefix="kit-deliv-") as folder:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        with open("/proc/self/status") as f:
            held = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))
        t0 = time.perf_counter()
        out = write_deliverables(spine, cfg, lang, folder, Path(folder) / "deliverables.xlsx", mask_pii=mask_pii)
        seconds = time.perf_counter() - t0
        peak = _peak_mb()
        sizes = {p.name: p.stat().st_size for p in Path(folder).iterdir()}
    return {"customers": n, "seconds": round(seconds, 1), "rss_before_mb": round(held), "peak_mb": round(peak),
            "added_mb": round(peak - held), "spine_build_peak_mb": round(base), "workbook_rows": out.workbook_rows,
            "files": sizes}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--lang", default="zh")
    ap.add_argument("--mask-pii", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.customers, a.lang, a.mask_pii)))
        return 0
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--customers", str(a.customers),
           "--lang", a.lang] + (["--mask-pii"] if a.mask_pii else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    print(proc.stdout.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
