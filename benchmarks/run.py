"""Benchmark suite: the kit's pipeline against the plain lifetimes path, stage by stage.

Generates transaction logs from the BG/NBD process itself (:func:`kit.datasets.simulate_bgnbd`:
Gamma-distributed purchase rates, Beta-distributed drop-out, Gamma-Gamma spend; seeded) at
each size, written as a date-ordered CSV and Parquet with canonical headers
(``customer_id, order_id, order_date, amount``), then times, each in its own process:

* **kit**: read (CSV and Parquet, :func:`kit.io.read_table`), clean
  (:func:`kit.clean.clean_transactions`), summary (:func:`kit.summary.customer_summary`),
  BG/NBD fit, Gamma-Gamma fit, scoring and CLV (:mod:`kit.clv`);
* **lifetimes** on the kit's clean transactions: ``summary_data_from_transaction_data``,
  ``BetaGeoFitter.fit`` on all rows, ``GammaGammaFitter.fit`` on the repeat buyers,
  ``customer_lifetime_value``;
* optionally the whole ``kit run`` (all notebooks, HTML, deliverables) at chosen sizes and on
  the bundled demo.

It prints per stage the seconds, the ratio lifetimes / kit and the peak memory, and the
largest relative difference of the fitted parameters and of the CLV between the two paths.

Peak memory per stage is the process's resident-set high-water mark over that stage (Linux
``VmHWM``, reset at the start of each stage through ``/proc/self/clear_refs``), so it
includes what earlier stages still hold; elsewhere the process's ``ru_maxrss`` so far. For
``kit run``, memory is the sum of the resident sets of the run's process tree (the runner
and its notebook kernels), sampled every 0.1 s.

Usage::

    python benchmarks/run.py                                  # 10k, 100k, 1M customers
    python benchmarks/run.py --sizes 10000,100000,1000000 --kit-run-sizes 1000000 --demo \\
        --out benchmarks/results.json --readme benchmarks/README.md

Benchmarks are not tests; ``tests/test_benchmark.py`` only runs this script at a small size
to keep it working.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script: the kit package is one folder up
    sys.path.insert(0, str(ROOT))

#: Simulated history: 78 weeks (546 days) ending on a quarter end, so ``kit run``'s period
#: is the whole last quarter and lifetimes' and the kit's ``T`` agree.
AS_OF = "2025-06-30"
START = "2024-01-02"
T_WEEKS = 78.0
DEFAULT_SIZES = "10000,100000,1000000"
SEED = 20240102

KIT_STAGES = ["read_csv", "read_parquet", "clean", "summary", "bgnbd_fit", "gamma_gamma_fit", "score_clv",
              "mbgnbd_fit", "pareto_nbd_fit", "intervals"]
#: DuckDB's memory limit in the benchmark (beyond it DuckDB spills to disk).
DUCKDB_MEMORY_LIMIT = "1GB"
#: The DuckDB engine, in a process of its own: read + clean over the CSV, summary over Parquet.
DUCKDB_STAGES = ["clean_duckdb", "summary_duckdb"]
LIFETIMES_STAGES = ["summary", "bgnbd_fit", "gamma_gamma_fit", "score_clv", "mbgnbd_fit", "pareto_nbd_fit"]
#: Stages of the 10x target: summary + BG/NBD + Gamma-Gamma + CLV for every customer.
MODEL_STAGES = ["summary", "bgnbd_fit", "gamma_gamma_fit", "score_clv"]
STAGE_LABELS = {
    "read_csv": "read (CSV)", "read_parquet": "read (Parquet)", "clean": "clean",
    "summary": "summary", "bgnbd_fit": "BG/NBD fit", "gamma_gamma_fit": "Gamma-Gamma fit",
    "score_clv": "scoring + CLV", "model_total": "summary + fits + CLV",
    "mbgnbd_fit": "MBG/NBD fit", "pareto_nbd_fit": "Pareto/NBD fit",
    "intervals": "90 % intervals, 200 draws (BG/NBD + Gamma-Gamma)",
    "clean_duckdb": "read + clean, DuckDB engine", "summary_duckdb": "summary, DuckDB engine (Parquet)",
}
README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"


# --------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------


class StageMemory:
    """Peak resident memory of this process over one stage.

    Linux keeps the resident-set high-water mark (``VmHWM``); writing ``5`` to
    ``/proc/self/clear_refs`` resets it, so the mark read at the end of a stage is that
    stage's peak. Where that is not possible the process's ``ru_maxrss`` so far is used.
    """

    def __init__(self) -> None:
        self.exact = self._reset()

    @staticmethod
    def _reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def start(self) -> None:
        if self.exact:
            self._reset()

    def peak_mb(self) -> float:
        if self.exact:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    @property
    def method(self) -> str:
        return "VmHWM per stage (clear_refs)" if self.exact else "ru_maxrss so far"


def _timed(stages: dict[str, dict[str, float]], mem: StageMemory, name: str, fn):
    mem.start()
    t0 = time.perf_counter()
    out = fn()
    stages[name] = {"seconds": time.perf_counter() - t0, "peak_mb": mem.peak_mb()}
    return out


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def generate(n_customers: int, folder: Path, seed: int = SEED) -> dict[str, Any]:
    """Simulated transactions for ``n_customers`` as ``orders.csv`` and ``orders.parquet``.

    Rows are in date order (as an export from an order system comes), ``order_id`` is
    unique, amounts have two decimals.
    """
    import numpy as np

    from kit.datasets import simulate_bgnbd

    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tx = simulate_bgnbd(n_customers, seed=seed, start=START, T_weeks=T_WEEKS)
    tx = tx.sort_values(["order_date", "customer_id"], kind="stable").reset_index(drop=True)
    tx.insert(1, "order_id", np.char.add("O", np.arange(1, len(tx) + 1).astype(str)))
    tx["customer_id"] = tx["customer_id"].astype(str)
    csv, parquet = folder / "orders.csv", folder / "orders.parquet"
    tx.to_csv(csv, index=False, date_format="%Y-%m-%d")
    tx.to_parquet(parquet, index=False)
    return {"customers": n_customers, "orders": len(tx), "csv": str(csv), "parquet": str(parquet),
            "csv_bytes": csv.stat().st_size, "parquet_bytes": parquet.stat().st_size,
            "seconds": time.perf_counter() - t0}


# --------------------------------------------------------------------------------------
# Workers (each in its own process)
# --------------------------------------------------------------------------------------


def worker_kit(csv: str, parquet: str, out: str) -> dict[str, Any]:
    """The kit's stages on one data set; writes the clean transactions, params and CLV."""
    import numpy as np
    import pandas as pd

    from kit.stages import clv, summary  # noqa: F401 - imports are not part of any stage
    from kit.stages.clv import intervals
    from kit.engines import clean_transactions
    from kit.core.config import Cleaning, InputTable
    from kit.io.read import read_table

    clv._fast_fitter("bgnbd")  # lifetimes is imported with kit.stages.clv, as the other worker imports it
    mem, st = StageMemory(), {}
    as_of = pd.Timestamp(AS_OF)
    _timed(st, mem, "read_parquet", lambda: read_table(InputTable(path=parquet, format="parquet"), "transactions"))
    raw = _timed(st, mem, "read_csv", lambda: read_table(InputTable(path=csv, format="csv"), "transactions"))
    res = _timed(st, mem, "clean", lambda: clean_transactions(raw, Cleaning(), as_of))
    del raw
    tx = res.clean
    purchases = tx[~tx["is_return"].to_numpy()]
    s = _timed(st, mem, "summary", lambda: summary.customer_summary(purchases, as_of, time_unit="week"))
    bg = _timed(st, mem, "bgnbd_fit", lambda: clv.fit_bgnbd(s, time_unit="week"))
    gg = _timed(st, mem, "gamma_gamma_fit", lambda: clv.fit_gamma_gamma(s))
    sc = _timed(st, mem, "score_clv", lambda: clv.score(s, bg, gg, horizon_months=12,
                                                        discount_rate_monthly=0.01, margin=1.0))
    mb = _timed(st, mem, "mbgnbd_fit", lambda: clv.fit_count_model(s, "mbgnbd", time_unit="week"))
    pn = _timed(st, mem, "pareto_nbd_fit", lambda: clv.fit_count_model(s, "pareto_nbd", time_unit="week"))
    _timed(st, mem, "intervals", lambda: intervals.customer_intervals(
        s, bg, gg, 1.0, intervals.draw_parameters(bg, gg, n_draws=200, level=0.9)))
    purchases[["customer_id", "order_date", "amount"]].to_parquet(Path(out) / "clean.parquet", index=False)
    np.savez(Path(out) / "kit.npz", ids=s.index.to_numpy(dtype=str), clv=sc["clv"].to_numpy(),
             params=[bg.params_[k] for k in clv.BGNBD_PARAMS] + [gg.params_[k] for k in clv.GG_PARAMS],
             mbgnbd=[mb.params_[k] for k in clv.PARAM_NAMES["mbgnbd"]], mbgnbd_ll=mb.log_likelihood_,
             pareto_nbd=[pn.params_[k] for k in clv.PARAM_NAMES["pareto_nbd"]], pareto_nbd_ll=pn.log_likelihood_)
    return {"stages": st, "memory_method": mem.method, "clean_rows": len(tx),
            "quarantined_rows": len(res.quarantine), "customers": len(s),
            "bgnbd_patterns": bg.n_patterns_, "bgnbd_status": bg.status_, "gamma_gamma_status": gg.status_,
            "mbgnbd_status": mb.status_, "pareto_nbd_status": pn.status_,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def worker_duckdb(csv: str, out: str) -> dict[str, Any]:
    """The DuckDB engine on the same CSV: read + clean as SQL, then the summary over Parquet.

    Checks that it gives the pandas path's clean rows and summary (written by the kit worker).
    """
    import numpy as np
    import pandas as pd

    from kit.core.config import Cleaning, InputTable
    from kit.engines.duckdb_engine import clean_transactions_duckdb, connect, summary_duckdb

    mem, st = StageMemory(), {}
    con = connect(memory_limit=DUCKDB_MEMORY_LIMIT, temp_directory=Path(out) / "duckdb-spill")
    res = _timed(st, mem, "clean_duckdb", lambda: clean_transactions_duckdb(
        InputTable(path=csv, format="csv"), Cleaning(), AS_OF, con=con))
    pq = Path(out) / "clean_duckdb.parquet"
    res.clean[["customer_id", "order_date", "amount", "is_return"]].to_parquet(pq, index=False)
    n_clean = len(res.clean)
    del res
    s = _timed(st, mem, "summary_duckdb", lambda: summary_duckdb(pq, AS_OF, time_unit="week", con=con))
    kit = np.load(Path(out) / "kit.npz")
    same = bool(np.array_equal(s.index.to_numpy(dtype=str), kit["ids"]))
    return {"stages": st, "memory_method": mem.method, "clean_rows": n_clean, "customers": len(s),
            "same_customers_as_pandas": same,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def worker_lifetimes(out: str) -> dict[str, Any]:
    """lifetimes' own path on the kit's clean transactions; writes params and CLV."""
    import warnings

    import numpy as np
    import pandas as pd

    warnings.filterwarnings("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import summary_data_from_transaction_data

    tx = pd.read_parquet(Path(out) / "clean.parquet")  # loading is not a stage
    mem, st = StageMemory(), {}

    def summarise():
        s = summary_data_from_transaction_data(tx, "customer_id", "order_date", "amount",
                                               observation_period_end=AS_OF, freq="D")
        s["recency"] = s["recency"] / 7.0  # days -> weeks, as the kit's time_unit="week"
        s["T"] = s["T"] / 7.0
        return s

    s = _timed(st, mem, "summary", summarise)
    bgf = _timed(st, mem, "bgnbd_fit", lambda: BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"]))
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    ggf = _timed(st, mem, "gamma_gamma_fit", lambda: GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"]))
    clv = _timed(st, mem, "score_clv", lambda: ggf.customer_lifetime_value(
        bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"], time=12, discount_rate=0.01, freq="W"))
    params = [bgf.params_[k] for k in ("r", "alpha", "a", "b")] + [ggf.params_[k] for k in ("p", "q", "v")]
    mbf = _timed(st, mem, "mbgnbd_fit", lambda: ModifiedBetaGeoFitter().fit(s["frequency"], s["recency"], s["T"]))
    np.random.seed(SEED)  # lifetimes' Pareto/NBD starts at random
    pnf = _timed(st, mem, "pareto_nbd_fit", lambda: ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"]))
    # not timed: lifetimes' estimates moved to the exact optimum of lifetimes' own objective,
    # so that parity is also judged against that optimum, not only against BFGS's stopping point
    bgc = _newton_polish(bgf, BetaGeoFitter._negative_log_likelihood,
                         {c: s[c].to_numpy() for c in ("frequency", "recency", "T")}, 1.0 / s["T"].max())
    ggc = _newton_polish(ggf, GammaGammaFitter._negative_log_likelihood,
                         {c: rep[c].to_numpy() for c in ("frequency", "monetary_value")})
    clv_c = ggc.customer_lifetime_value(bgc, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                        time=12, discount_rate=0.01, freq="W")
    params_c = [bgc.params_[k] for k in ("r", "alpha", "a", "b")] + [ggc.params_[k] for k in ("p", "q", "v")]
    np.savez(Path(out) / "lifetimes.npz", ids=s.index.to_numpy(dtype=str), clv=np.asarray(clv, dtype=float),
             params=params, clv_converged=np.asarray(clv_c, dtype=float), params_converged=params_c,
             mbgnbd=[mbf.params_[k] for k in ("r", "alpha", "a", "b")],
             pareto_nbd=[pnf.params_[k] for k in ("r", "alpha", "s", "beta")])
    return {"stages": st, "memory_method": mem.method, "customers": len(s),
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _newton_polish(fitter, nll, data: dict, scaled_alpha: float | None = None):
    """``fitter`` with its parameters moved to where the gradient of its own objective is 0.

    lifetimes' BFGS stops at |gradient| ~ 1e-7 and cannot go further on function values
    alone (the objective is flat to machine precision there), so this takes Newton steps
    with autograd's exact gradient and Hessian of lifetimes' own ``_negative_log_likelihood``
    on the rows compressed to distinct values with weights (the same objective).
    """
    import copy

    import numpy as np
    import pandas as pd
    from autograd import grad, hessian

    cols = list(data)
    frame = pd.DataFrame(data).groupby(cols, sort=False).size().rename("w").reset_index()
    args = [frame[c].to_numpy() for c in cols]
    if scaled_alpha is not None:  # BG/NBD: integer frequency, time scaled to max(T) = 1
        args = [args[0].astype(int), args[1] * scaled_alpha, args[2] * scaled_alpha]
    args += [frame["w"].to_numpy(), 0.0]
    x = np.log(fitter.params_.to_numpy(dtype=float))
    if scaled_alpha is not None:
        x[1] += np.log(scaled_alpha)
    for _ in range(4):
        step = np.linalg.solve(hessian(nll)(x, *args), grad(nll)(x, *args))
        x = x - step
        if np.max(np.abs(step)) < 1e-13:
            break
    out = copy.copy(fitter)
    for name, value in vars(fitter).items():  # fit() stores bound methods (predict): rebind them
        if getattr(value, "__self__", None) is fitter:
            setattr(out, name, getattr(out, value.__func__.__name__))
    params = np.exp(x)
    if scaled_alpha is not None:
        params[1] /= scaled_alpha
    out.params_ = pd.Series(params, index=fitter.params_.index)
    return out


def worker_kit_run(config: str, out: str) -> dict[str, Any]:
    """The whole ``kit run`` on one config; memory of the process tree sampled every 0.1 s."""
    import psutil

    from kit.publish.run import run

    peak = {"mb": 0.0}
    per_stage: dict[str, float] = {}
    current = {"name": "start"}
    stop = threading.Event()

    def progress(message: str) -> None:  # "  [i/n] 04_clv ..." starts a notebook; then the HTML
        text = message.strip()
        if text.startswith("[") and text.endswith("..."):
            current["name"] = text.split()[1]
        elif " done in " in text and text.split()[1] == "05_strategy":
            current["name"] = "html"

    def sample() -> None:
        me = psutil.Process()
        while not stop.is_set():
            try:
                total = 0
                for p in [me, *me.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                mb = total / 2**20
                peak["mb"] = max(peak["mb"], mb)
                per_stage[current["name"]] = max(per_stage.get(current["name"], 0.0), mb)
            except psutil.Error:
                pass
            stop.wait(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    res = run(config, out_dir=out, progress=progress)
    seconds = time.perf_counter() - t0
    stop.set()
    thread.join()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "per_notebook": res.seconds, "peak_tree_mb": peak["mb"],
            "peak_tree_mb_per_notebook": per_stage,
            "max_single_process_mb": max(children, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "run_dir": str(res.run_dir)}


def _spawn(args: list[str], timeout: float | None = None) -> dict[str, Any]:
    """Run this script as a worker in a fresh process; its last stdout line is JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"worker {' '.join(args[:2])} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------


def parity(folder: Path) -> dict[str, Any]:
    """Largest relative differences between the kit's and lifetimes' parameters and CLV.

    Also against the exact optimum of lifetimes' objective ("converged": lifetimes' estimates
    Newton-polished), and the largest absolute gradient of lifetimes' BG/NBD objective (mean
    negative log-likelihood in log-parameters, time scaled to max(T) = 1) at each estimate:
    zero at the exact maximum-likelihood estimate.
    """
    import numpy as np
    import pandas as pd

    from kit.stages import clv
    from kit.stages.summary import compress, customer_summary

    k, lt = np.load(folder / "kit.npz"), np.load(folder / "lifetimes.npz")
    names = ["r", "alpha", "a", "b", "p", "q", "gamma"]
    rel = np.abs(k["params"] - lt["params"]) / np.abs(lt["params"])
    theirs = pd.Series(lt["clv"], index=lt["ids"])
    ours = pd.Series(k["clv"], index=k["ids"])
    same_customers = len(ours) == len(theirs) and bool(ours.index.equals(theirs.index))
    theirs = theirs.reindex(ours.index)
    clv_rel = np.abs(ours.to_numpy() - theirs.to_numpy()) / np.abs(theirs.to_numpy())

    tx = pd.read_parquet(folder / "clean.parquet")
    data = compress(customer_summary(tx, AS_OF, time_unit="week"))
    scale = 1.0 / float(data["T"].max())
    objective = clv._BgNbdObjective(data["frequency"], data["recency"] * scale, data["T"] * scale,
                                    data["weight"], 0.0)

    def grad(params):
        r, alpha, a, b = params[:4]
        return float(np.max(np.abs(objective(np.log([r, alpha * scale, a, b]))[1])))

    rel_c = np.abs(k["params"] - lt["params_converged"]) / np.abs(lt["params_converged"])
    theirs_c = pd.Series(lt["clv_converged"], index=lt["ids"]).reindex(ours.index).to_numpy()
    clv_rel_c = np.abs(ours.to_numpy() - theirs_c) / np.abs(theirs_c)
    return {"params_max_rel_diff": float(rel.max()),
            "params_max_rel_diff_converged": float(rel_c.max()),
            "clv_max_rel_diff_converged": float(np.nanmax(clv_rel_c)),
            "bgnbd_gradient_at_lifetimes_converged": grad(lt["params_converged"]),
            "params_rel_diff": dict(zip(names, (float(v) for v in rel))),
            "clv_max_rel_diff": float(np.nanmax(clv_rel)), "same_customers": same_customers,
            "bgnbd_gradient_at_kit": grad(k["params"]), "bgnbd_gradient_at_lifetimes": grad(lt["params"]),
            "kit_params": dict(zip(names, (float(v) for v in k["params"]))),
            "lifetimes_params": dict(zip(names, (float(v) for v in lt["params"]))),
            **_family_parity(k, lt, data)}


def _family_parity(k, lt, data) -> dict[str, float]:
    """MBG/NBD: largest relative parameter difference; Pareto/NBD (lifetimes' Nelder-Mead stops
    at tol 1e-4): the kit's log-likelihood gain over lifetimes' estimate, and the parameter gap."""
    import numpy as np

    from kit.stages import clv

    if "mbgnbd" not in k.files or "mbgnbd" not in lt.files:
        return {}
    args = (data["frequency"], data["recency"], data["T"], data["weight"])
    pareto = dict(zip(("r", "alpha", "s", "beta"), (float(v) for v in lt["pareto_nbd"])))
    return {
        "mbgnbd_params_max_rel_diff": float(np.max(np.abs(k["mbgnbd"] - lt["mbgnbd"]) / np.abs(lt["mbgnbd"]))),
        "pareto_nbd_params_max_rel_diff": float(np.max(np.abs(k["pareto_nbd"] - lt["pareto_nbd"])
                                                       / np.abs(lt["pareto_nbd"]))),
        "pareto_nbd_ll_gain": float(k["pareto_nbd_ll"]) - clv.pareto_nbd_log_likelihood(pareto, *args),
    }


# --------------------------------------------------------------------------------------
# Machine and report
# --------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the benchmark ran on."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        import psutil

        mem_gb = psutil.virtual_memory().total / 2**30
    except ImportError:  # pragma: no cover
        mem_gb = math.nan
    versions = {}
    for pkg in ("numpy", "pandas", "scipy", "lifetimes", "pyarrow", "duckdb"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "packages": versions, "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _fmt_s(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"


def _fmt_mb(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"


def markdown(results: dict[str, Any]) -> str:
    """The results as markdown tables (the README's results section)."""
    m = results["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM; {m['os']}; Python "
        f"{m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + f". Run {m['date']}, load average at start {m['load_average_at_start']}.",
        "",
        "Seconds per stage (peak resident memory of the process over the stage, MB); ratio = "
        "lifetimes / kit.",
        "",
        "| customers | orders | stage | kit s | kit MB | lifetimes s | lifetimes MB | ratio |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results["sizes"]:
        kit, lt = dict(r["kit"]["stages"]), (r.get("lifetimes") or {}).get("stages", {})
        kit.update((r.get("duckdb") or {}).get("stages", {}))
        stages = [s for s in KIT_STAGES if s in kit]  # results of an earlier version lack the newer stages
        for stage in [*stages, "model_total", *[s for s in DUCKDB_STAGES if s in kit]]:
            if stage == "model_total":
                ks = sum(kit[s]["seconds"] for s in MODEL_STAGES)
                kmb = max(kit[s]["peak_mb"] for s in MODEL_STAGES)
                ls = sum(lt[s]["seconds"] for s in MODEL_STAGES) if lt else None
                lmb = max(lt[s]["peak_mb"] for s in MODEL_STAGES) if lt else None
                label = f"**{STAGE_LABELS[stage]}**"
            else:
                ks, kmb = kit[stage]["seconds"], kit[stage]["peak_mb"]
                ls = lt[stage]["seconds"] if stage in lt else None
                lmb = lt[stage]["peak_mb"] if stage in lt else None
                label = STAGE_LABELS[stage]
            ratio = f"{ls / ks:.1f}x" if ls is not None and ks > 0 else "–"
            if stage == "model_total" and ls is not None:
                ratio = f"**{ratio}**"
            lines.append(f"| {r['customers']:,} | {r['data']['orders']:,} | {label} | {_fmt_s(ks)} | "
                         f"{_fmt_mb(kmb)} | {_fmt_s(ls)} | {_fmt_mb(lmb)} | {ratio} |")
    with_parity = [r for r in results["sizes"] if r.get("parity")]
    if with_parity:
        lines += ["", "Parity: largest relative difference of the 7 parameters and of every customer's CLV, "
                  "kit against lifetimes as timed, and both against the exact optimum of lifetimes' objective "
                  "(lifetimes' estimates Newton-polished with autograd, not timed; BFGS's stopping rule, "
                  "tol=1e-7, leaves both a few 1e-7 from it). Gradient: the largest absolute gradient of "
                  "lifetimes' BG/NBD objective at each estimate (0 at the exact optimum).",
                  "", "| customers | parameters | CLV | parameters vs optimum | CLV vs optimum | "
                  "gradient at kit | gradient at lifetimes | gradient at optimum |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in with_parity:
            p = r["parity"]
            lines.append(f"| {r['customers']:,} | {p['params_max_rel_diff']:.1e} | {p['clv_max_rel_diff']:.1e} | "
                         f"{p['params_max_rel_diff_converged']:.1e} | {p['clv_max_rel_diff_converged']:.1e} | "
                         f"{p['bgnbd_gradient_at_kit']:.0e} | {p['bgnbd_gradient_at_lifetimes']:.0e} | "
                         f"{p['bgnbd_gradient_at_lifetimes_converged']:.0e} |")
    lines += _family_lines([r for r in with_parity if "mbgnbd_params_max_rel_diff" in r["parity"]])
    runs = results.get("kit_runs") or []
    if runs:
        lines += ["", "Whole `kit run` (all notebooks, HTML, deliverables): seconds per notebook (peak MB "
                  "while it ran); memory = the summed resident sets of the run's processes (runner and "
                  "kernels), sampled every 0.1 s:", "",
                  "| data | orders | total s | " + " | ".join(
                      ["01", "02", "03", "04", "05", "HTML"]) + " | peak MB |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for k in runs:
            nb, mem = k["per_notebook"], k.get("peak_tree_mb_per_notebook", {})
            cells = [f"{_fmt_s(nb.get(n))} ({_fmt_mb(mem.get(n))})" for n in
                     ("01_clean", "02_layering", "03_personas", "04_clv", "05_strategy", "html")]
            orders = f"{k['orders']:,}" if isinstance(k.get("orders"), int) else "–"
            lines.append(f"| {k['label']} | {orders} | {_fmt_s(k['seconds'])} | " + " | ".join(cells)
                         + f" | {_fmt_mb(k['peak_tree_mb'])} |")
    return "\n".join(lines) + "\n"


def _family_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Parity of MBG/NBD and Pareto/NBD against lifetimes' fitters (markdown lines)."""
    if not rows:
        return []
    out = ["", "MBG/NBD and Pareto/NBD against lifetimes' ModifiedBetaGeoFitter and ParetoNBDFitter: largest "
           "relative parameter difference; for Pareto/NBD (lifetimes: Nelder-Mead from a random start, "
           "tol=1e-4) also the kit's log-likelihood gain over lifetimes' estimate (>= 0: the kit's "
           "is the better maximum).", "",
           "| customers | MBG/NBD parameters | Pareto/NBD parameters | Pareto/NBD log-likelihood gain |",
           "| ---: | ---: | ---: | ---: |"]
    for r in rows:
        p = r["parity"]
        out.append(f"| {r['customers']:,} | {p['mbgnbd_params_max_rel_diff']:.1e} | "
                   f"{p['pareto_nbd_params_max_rel_diff']:.1e} | {p['pareto_nbd_ll_gain']:.2e} |")
    return out


def update_readme(readme: Path, table: str) -> None:
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise SystemExit(f"{readme}: no {README_START} ... {README_END} section to replace")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{table}{README_END}{tail}", encoding="utf-8")


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def kit_run_config(data: dict[str, Any], folder: Path, engine: str | None = None) -> Path:
    """A transactions-only config for the simulated data (the CDNOW config's B2C settings);
    ``engine``: ``engine.name`` (None: the default rule, pandas below 500 MB)."""
    import yaml

    cfg = yaml.safe_load((ROOT / "configs" / "cdnow.yml").read_text(encoding="utf-8"))
    cfg.update(client=f"bench_{data['customers']}", client_name=f"Benchmark, {data['customers']:,} simulated customers",
               as_of=AS_OF, language="en")
    cfg["inputs"] = {"transactions": {
        "path": data["csv"], "format": "csv", "encoding": "auto",
        "columns": {c: c for c in ("customer_id", "order_id", "order_date", "amount")}}}
    if engine is not None:
        cfg["engine"] = {"name": engine}
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help=f"customers per data set (default {DEFAULT_SIZES})")
    ap.add_argument("--skip-lifetimes-above", type=int, default=None, metavar="N",
                    help="do not run the lifetimes path above N customers")
    ap.add_argument("--kit-run-sizes", default="", help="sizes at which to time the whole kit run too")
    ap.add_argument("--demo", action="store_true", help="also time kit run on the bundled demo (configs/demo.yml)")
    ap.add_argument("--kit-run-engine", default=None, choices=["pandas", "duckdb", "spark"],
                    help="engine.name of the whole runs (default: the config's rule)")
    ap.add_argument("--out", default=None, help="results JSON (default: print only)")
    ap.add_argument("--table", default=None, help="write the markdown table to this file")
    ap.add_argument("--readme", default=None, help="replace the results section of this README")
    ap.add_argument("--workdir", default=None, help="where data and runs go (default: a temporary folder)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--render", default=None, metavar="JSON",
                    help="only print (and --table / --readme) the tables of an earlier results JSON")
    ap.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB engine's stages")
    ap.add_argument("--worker", choices=["kit", "lifetimes", "duckdb", "kit-run"], help=argparse.SUPPRESS)
    ap.add_argument("--args", nargs="*", default=[], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker == "kit":
        print(json.dumps(worker_kit(*a.args)))
        return 0
    if a.worker == "lifetimes":
        print(json.dumps(worker_lifetimes(*a.args)))
        return 0
    if a.worker == "duckdb":
        print(json.dumps(worker_duckdb(*a.args)))
        return 0
    if a.worker == "kit-run":
        print(json.dumps(worker_kit_run(*a.args)))
        return 0

    if a.render:
        _report(json.loads(Path(a.render).read_text(encoding="utf-8")), a)
        return 0
    sizes, run_sizes = _sizes(a.sizes), set(_sizes(a.kit_run_sizes))
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as tmp:
        work = Path(a.workdir) if a.workdir else Path(tmp)
        results: dict[str, Any] = {"machine": machine(), "as_of": AS_OF, "seed": a.seed, "sizes": [],
                                   "kit_runs": []}
        for n in sorted(set(sizes) | run_sizes):
            folder = work / f"n{n}"
            print(f"== {n:,} customers: generating ...", flush=True)
            data = generate(n, folder, a.seed)
            print(f"   {data['orders']:,} orders, CSV {data['csv_bytes'] / 2**20:,.0f} MB", flush=True)
            if n in sizes:
                rec: dict[str, Any] = {"customers": n, "data": data}
                rec["kit"] = _spawn(["--worker", "kit", "--args", data["csv"], data["parquet"], str(folder)])
                _print_stages("kit", rec["kit"]["stages"])
                if not a.no_duckdb:
                    rec["duckdb"] = _spawn(["--worker", "duckdb", "--args", data["csv"], str(folder)])
                    _print_stages("duckdb", rec["duckdb"]["stages"])
                if a.skip_lifetimes_above is None or n <= a.skip_lifetimes_above:
                    rec["lifetimes"] = _spawn(["--worker", "lifetimes", "--args", str(folder)])
                    _print_stages("lifetimes", rec["lifetimes"]["stages"], rec["kit"]["stages"])
                    rec["parity"] = parity(folder)
                    p = rec["parity"]
                    print(f"   parity (max rel diff): parameters {p['params_max_rel_diff']:.2e}, CLV "
                          f"{p['clv_max_rel_diff']:.2e}; kit against the exact optimum: parameters "
                          f"{p['params_max_rel_diff_converged']:.2e}, CLV {p['clv_max_rel_diff_converged']:.2e}; "
                          f"|gradient| at kit {p['bgnbd_gradient_at_kit']:.0e}, at lifetimes "
                          f"{p['bgnbd_gradient_at_lifetimes']:.0e}", flush=True)
                results["sizes"].append(rec)
            if n in run_sizes:
                cfg = kit_run_config(data, folder, a.kit_run_engine)
                k = _spawn(["--worker", "kit-run", "--args", str(cfg), str(folder / "reports")])
                engine = f", engine {a.kit_run_engine}" if a.kit_run_engine else ""
                k.update(label=f"{n:,} customers{engine}", customers=n, orders=data["orders"], engine=a.kit_run_engine)
                results["kit_runs"].append(k)
                print(f"   kit run: {k['seconds']:.1f} s, peak {k['peak_tree_mb']:,.0f} MB; {k['per_notebook']}",
                      flush=True)
        if a.demo:
            print("== demo (configs/demo.yml) ...", flush=True)
            k = _spawn(["--worker", "kit-run", "--args", str(ROOT / "configs" / "demo.yml"), str(work / "demo")])
            k.update(label="bundled demo (data/sample)")
            results["kit_runs"].append(k)
            print(f"   kit run: {k['seconds']:.1f} s, peak {k['peak_tree_mb']:,.0f} MB; {k['per_notebook']}", flush=True)

    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=2), encoding="utf-8")
    _report(results, a)
    return 0


def _report(results: dict[str, Any], a: argparse.Namespace) -> None:
    table = markdown(results)
    print()
    print(table)
    if a.table:
        Path(a.table).write_text(table, encoding="utf-8")
    if a.readme:
        update_readme(Path(a.readme), table)


def _print_stages(who: str, stages: dict[str, Any], base: dict[str, Any] | None = None) -> None:
    parts = []
    for name, v in stages.items():
        ratio = f" ({v['seconds'] / base[name]['seconds']:.1f}x)" if base and name in base else ""
        parts.append(f"{name} {v['seconds']:.2f}s{ratio} {v['peak_mb']:,.0f}MB")
    print(f"   {who}: " + ", ".join(parts), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
