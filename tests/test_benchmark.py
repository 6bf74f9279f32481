"""The benchmark script keeps working: one small run, kit and lifetimes paths, table and parity.

Benchmarks are not tests: timings are not asserted, only that every stage is measured, the
markdown table is written and the kit agrees with lifetimes. The last tests check what the
fit timings rest on: kit.clv's likelihoods equal lifetimes' objectives, with exact
gradients and Hessians (against finite differences).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def small_benchmark(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "2000", "--out", str(out / "results.json"),
         "--table", str(out / "results.md"), "--workdir", str(out / "work")],
        capture_output=True, text=True, timeout=300, cwd=str(ROOT),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout, time.perf_counter() - t0


def test_runs_quickly_at_the_smallest_size(small_benchmark):
    _, _, seconds = small_benchmark
    assert seconds < 60


def test_every_stage_of_both_paths_is_timed_with_memory(small_benchmark):
    out, stdout, _ = small_benchmark
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    (rec,) = res["sizes"]
    assert rec["customers"] == 2000 and rec["data"]["orders"] > 2000
    kit, lt = rec["kit"]["stages"], rec["lifetimes"]["stages"]
    assert set(kit) == {"read_csv", "read_parquet", "clean", "summary", "bgnbd_fit", "gamma_gamma_fit", "score_clv",
                        "mbgnbd_fit", "pareto_nbd_fit", "intervals"}
    assert set(lt) == {"summary", "bgnbd_fit", "gamma_gamma_fit", "score_clv", "mbgnbd_fit", "pareto_nbd_fit"}
    assert rec["kit"]["mbgnbd_status"] == "ok" and rec["kit"]["pareto_nbd_status"] == "ok"
    # MBG/NBD: lifetimes' own estimates; Pareto/NBD: never a lower likelihood than lifetimes'
    par = rec["parity"]
    assert par["mbgnbd_params_max_rel_diff"] < 1e-6
    assert par["pareto_nbd_ll_gain"] > -1e-6 and par["pareto_nbd_params_max_rel_diff"] < 0.05
    for stage in (*kit.values(), *lt.values()):
        assert stage["seconds"] >= 0 and stage["peak_mb"] > 10
    # the benchmark data is clean: nothing quarantined, every customer summarised
    assert rec["kit"]["quarantined_rows"] == 0 and rec["kit"]["customers"] == 2000
    assert rec["kit"]["bgnbd_status"] == "ok" and rec["kit"]["gamma_gamma_status"] == "ok"
    assert res["machine"]["cores"] >= 1 and res["machine"]["packages"]["lifetimes"]
    # the DuckDB engine on the same file: same clean rows, same customers
    duck = rec["duckdb"]
    assert set(duck["stages"]) == {"clean_duckdb", "summary_duckdb"}
    assert duck["clean_rows"] == rec["kit"]["clean_rows"] and duck["same_customers_as_pandas"]


def test_markdown_table_is_written(small_benchmark):
    out, stdout, _ = small_benchmark
    table = (out / "results.md").read_text(encoding="utf-8")
    assert "| customers | orders | stage | kit s |" in table
    assert "**summary + fits + CLV**" in table and "2,000" in table
    assert "Machine:" in table and "Parity" in table
    assert table.strip() in stdout


def test_parity_with_lifetimes_within_1e_6(small_benchmark):
    out, _, _ = small_benchmark
    p = json.loads((out / "results.json").read_text(encoding="utf-8"))["sizes"][0]["parity"]
    assert p["same_customers"]
    # the kit runs lifetimes' own BFGS (same start and tolerance) on exact derivatives
    assert p["params_max_rel_diff"] < 1e-6
    assert p["clv_max_rel_diff"] < 1e-6
    assert p["params_rel_diff"]["r"] < 1e-9 and p["params_rel_diff"]["alpha"] < 1e-9
    # both stop where BFGS's rule stops them, within a few 1e-7 of the exact optimum
    assert p["params_max_rel_diff_converged"] < 1e-5
    assert p["bgnbd_gradient_at_kit"] < 1e-6 and p["bgnbd_gradient_at_lifetimes_converged"] < 1e-12


def test_readme_section_is_replaced(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("kit_benchmark_run", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    readme = tmp_path / "README.md"
    readme.write_text(f"# B\n\nbefore\n{bench.README_START}\nold\n{bench.README_END}\nafter\n", encoding="utf-8")
    bench.update_readme(readme, "| new |\n")
    assert readme.read_text(encoding="utf-8") == (
        f"# B\n\nbefore\n{bench.README_START}\n| new |\n{bench.README_END}\nafter\n")


# --------------------------------------------------------------------------------------
# What the fit timings rest on: kit.clv's exact likelihood derivatives
# --------------------------------------------------------------------------------------


def _finite_differences(fn, theta, eps=1e-6):
    return np.array([(fn(theta + eps * e) - fn(theta - eps * e)) / (2 * eps) for e in np.eye(len(theta))])


def test_bgnbd_objective_equals_lifetimes_with_exact_derivatives():
    from lifetimes import BetaGeoFitter

    from kit.stages.clv import _BgNbdObjective
    from kit.stages.summary import compress, customer_summary, load_cdnow

    d = compress(customer_summary(load_cdnow("sample"), "1997-09-30"))
    scale = 1.0 / d["T"].max()
    args = (d["frequency"].to_numpy(), d["recency"].to_numpy() * scale, d["T"].to_numpy() * scale,
            d["weight"].to_numpy())
    obj = _BgNbdObjective(*args, penalizer=0.01)
    theta = np.array([0.1, 0.3, -0.2, 0.5])
    f, g, h = obj(theta)

    def theirs(t):
        return BetaGeoFitter._negative_log_likelihood(t, args[0].astype(int), *args[1:], 0.01)

    assert f == pytest.approx(theirs(theta), rel=1e-12)
    np.testing.assert_allclose(g, _finite_differences(theirs, theta), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(h, _finite_differences(lambda t: obj(t)[1], theta), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(h, h.T)


def test_gamma_gamma_objective_equals_lifetimes_with_exact_derivatives():
    from lifetimes import GammaGammaFitter

    from kit.stages.clv import _GammaGammaObjective
    from kit.stages.summary import compress, customer_summary, load_cdnow

    s = customer_summary(load_cdnow("sample"), "1997-09-30")
    d = compress(s[s["frequency"] > 0], ("frequency", "monetary_value"))
    args = (d["frequency"].to_numpy(), d["monetary_value"].to_numpy() / 30.0, d["weight"].to_numpy())
    obj = _GammaGammaObjective(*args, penalizer=0.0)
    theta = np.array([1.5, 1.2, 0.1])
    f, g, h = obj(theta)

    def theirs(t):
        return GammaGammaFitter._negative_log_likelihood(t, *args, 0.0)

    assert f == pytest.approx(theirs(theta), rel=1e-12)
    np.testing.assert_allclose(g, _finite_differences(theirs, theta), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(h, _finite_differences(lambda t: obj(t)[1], theta), rtol=1e-5, atol=1e-8)
