"""The DuckDB engine at scale: a 100M-order Parquet file under a 4 GB memory limit, and the
customer summary against a plain DuckDB SQL summary of the same file.

Three measurements (issue 14), each stage in a process of its own:

* ``big``: DuckDB itself writes a seeded order file as Parquet in a folder on disk
  (:func:`generate`: ``customer_id, order_id, order_date, amount``; skewed orders per
  customer; exact duplicates, partial refunds and zero amounts mixed in), then the
  transaction-level stages run with ``engine.memory_limit`` (default 4GB) and the spill
  folder in the work folder: the cleaning cascade
  (:func:`kit.engines.duckdb_clean.clean_transactions_duckdb`, the clean rows written by
  DuckDB to Parquet) and the customer summary over that file
  (:func:`kit.engines.duckdb_engine.summary_duckdb`). Recorded per stage: wall seconds, the
  process's peak resident memory (Linux ``VmHWM``, and psutil sampling every 0.2 s), the
  largest size of the spill folder, rows in and out.
* ``spark``: the same generated order file cleaned by DuckDB and by Spark (local mode,
  ``--master``), each in a process of its own: seconds, peak memory (Spark's JVM included)
  and whether the two clean files hold the same rows in the same order.
* ``ratio``: the kit's summary (:func:`summary_duckdb`, a pandas frame indexed by customer)
  against a plain DuckDB SQL summary of the same clean Parquet file (fetched to pandas the
  same way: Arrow, then pandas), run alternately ``--reps`` times; the ratio of the medians.
  Also timed in the same loop: the stage's summary (:func:`kit.stages.summary.customer_summary`,
  the same SQL run in process over the purchases as a frame, what a run and the model path
  use; the frame is read before, not timed). The data: :func:`kit.datasets.simulate_bgnbd` at ``--customers`` (``benchmarks/run.py``'s
  generator), cleaned by the DuckDB engine.

Usage::

    python benchmarks/engine_scale.py ratio --customers 1000000
    python benchmarks/engine_scale.py spark --orders 1000000 --out benchmarks/results_engine_spark.json
    python benchmarks/engine_scale.py big --orders 100000000 --customers 29000000 --memory-limit 4GB \\
        --workdir /tmp/kit-scale --out benchmarks/results_engine_scale.json

Benchmarks, not tests; ``tests/test_engine_scale.py`` runs both at a tiny size to keep the
script working.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
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

AS_OF = "2025-06-30"
#: The order dates: 546 days (78 weeks) ending the day before AS_OF, as benchmarks/run.py.
START = "2024-01-02"
DAYS = 546
SEED = 20240102


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def generate_sql(orders: int, customers: int, seed: int, path: Path) -> str:
    """The COPY that writes the order file: ``orders`` orders over ``customers`` customer
    ids (the share of orders falls with the id: ``floor(customers * u**2)``), dates uniform
    over :data:`DAYS` days, log-normal amounts in cents; plus an exact copy of every 997th
    row (a re-export), a partial refund (-30 %, a week later, same order id) of every
    1499th order and a zero amount on every 3001st row. Deterministic: every value is a
    hash of the row number and ``seed``."""
    u = "(CAST(hash(i, {k}, {seed}) AS DOUBLE) / 18446744073709551616.0)"
    u1, u2, u3, u4 = (u.format(k=k, seed=int(seed)) for k in (1, 2, 3, 4))
    cust = (f"'C' || lpad(CAST(CAST(floor({int(customers)} * {u1} * {u1}) AS BIGINT) AS VARCHAR), 9, '0')")
    day = f"DATE '{START}' + CAST(floor({DAYS} * {u2}) AS INTEGER)"
    z = f"sqrt(-2 * ln(1 - {u3})) * cos(2 * pi() * {u4})"
    amount = f"CASE WHEN i % 3001 = 2 THEN 0.0 ELSE round(exp(3.5 + {z}), 2) END"
    rows = (f"SELECT i, {cust} AS customer_id, 'O' || CAST(i AS VARCHAR) AS order_id, {day} AS order_date, "
            f"{amount} AS amount FROM range({int(orders)}) AS t(i)")
    return f"""COPY (
        SELECT customer_id, order_id, order_date, amount FROM ({rows})
        UNION ALL SELECT customer_id, order_id, order_date + 7, -round(amount * 0.3, 2) FROM ({rows}) WHERE i % 1499 = 1
        UNION ALL SELECT customer_id, order_id, order_date, amount FROM ({rows}) WHERE i % 997 = 0
    ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"""


def generate(orders: int, customers: int, folder: Path, *, seed: int = SEED, memory_limit: str = "4GB",
             threads: int | None = None) -> dict[str, Any]:
    """Write ``orders.parquet`` in ``folder`` with DuckDB (:func:`generate_sql`)."""
    from kit.engines.duckdb_source import connect

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "orders.parquet"
    t0 = time.perf_counter()
    con = connect(memory_limit=memory_limit, threads=threads, temp_directory=folder / "gen_tmp")
    con.execute(generate_sql(orders, customers, seed, path))
    rows, ids = con.sql(f"SELECT count(*), count(DISTINCT customer_id) FROM read_parquet('{path}')").fetchall()[0]
    con.close()
    return {"path": str(path), "rows": int(rows), "customers": int(ids), "bytes": path.stat().st_size,
            "seconds": round(time.perf_counter() - t0, 1)}


# --------------------------------------------------------------------------------------
# Measuring a worker
# --------------------------------------------------------------------------------------


def _folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, f))
            except OSError:  # a spill file removed while we looked
                pass
    return total


class Watch:
    """Peak resident memory of this process (sampled, and Linux's ``VmHWM``) and peak
    size of a folder, over one stage; with ``children`` also the peak of this process and its
    child processes together (Spark's JVM runs as a child of the Python driver)."""

    def __init__(self, spill: Path | None, every: float = 0.2, children: bool = False) -> None:
        import psutil

        self.proc, self.spill, self.every = psutil.Process(), spill, every
        self.children = children
        self.peak_rss = 0
        self.peak_total = 0
        self.peak_spill = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self.proc.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)
            if self.children:
                for child in self.proc.children(recursive=True):
                    try:
                        rss += child.memory_info().rss
                    except Exception:  # a child that ended while we looked
                        pass
                self.peak_total = max(self.peak_total, rss)
            if self.spill is not None:
                self.peak_spill = max(self.peak_spill, _folder_bytes(self.spill))
            self._stop.wait(self.every)

    def __enter__(self) -> "Watch":
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM: the stage's own peak
        except OSError:
            pass
        self.t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
        self._stop.set()
        self._thread.join()

    def result(self) -> dict[str, Any]:
        hwm = None
        try:
            with open("/proc/self/status") as f:
                hwm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
        except (OSError, StopIteration):
            pass
        peak = max(self.peak_rss, hwm or 0)
        out = {"seconds": round(self.seconds, 1), "peak_rss_mb": round(peak / 2**20),
               "peak_spill_mb": round(self.peak_spill / 2**20)}
        if self.children:
            out["peak_with_children_mb"] = round(self.peak_total / 2**20)
        return out


def worker_clean(parquet: str, out: str, memory_limit: str, threads: int | None) -> dict[str, Any]:
    """The cleaning cascade over the order file; DuckDB writes the clean rows to Parquet."""
    from kit.core.config import Cleaning, InputTable
    from kit.engines.duckdb_clean import clean_transactions_duckdb
    from kit.engines.duckdb_source import connect

    spill = Path(out) / "spill"
    con = connect(memory_limit=memory_limit, threads=threads, temp_directory=spill)
    with Watch(spill) as w:
        res = clean_transactions_duckdb(InputTable(path=parquet), Cleaning(), AS_OF, con=con,
                                        clean_path=Path(out) / "transactions_clean.parquet")
    return {**w.result(), "books": res.reconciliation, "quarantined_by_reason":
            res.quarantine["reason"].value_counts().to_dict(), "merged_rows": len(res.merged),
            "outliers": res.stats["outliers"], "refunds": res.stats["refunds"]}


def worker_spark_clean(parquet: str, out: str, master: str) -> dict[str, Any]:
    """The same cascade run by Spark (``master``, local[2] here): DuckDB opens the order file,
    stages it as Parquet, Spark cleans, DuckDB joins Spark's clean part files into one file.
    Timed from the session's start (the JVM's start-up counted, as in a run)."""
    from kit.core.config import Cleaning, InputTable
    from kit.engines.spark_engine import clean_transactions_spark, spark_session

    stage = Path(out) / "spark_stage"
    with Watch(stage, children=True) as w:
        spark = spark_session(master, config={"spark.local.dir": str(stage / "local"),
                                              "spark.driver.memory": "4g"})
        res = clean_transactions_spark(InputTable(path=parquet), Cleaning(), AS_OF, spark=spark, stage=stage,
                                       clean_path=Path(out) / "transactions_clean_spark.parquet")
        spark.stop()
    return {**w.result(), "books": res.reconciliation, "quarantined_by_reason":
            res.quarantine["reason"].value_counts().to_dict(), "merged_rows": len(res.merged),
            "outliers": res.stats["outliers"], "refunds": res.stats["refunds"]}


def same_files(a: Path, b: Path) -> bool:
    """Two clean files hold the same rows in the same order (DuckDB compares them row by row)."""
    import duckdb

    con = duckdb.connect()
    differ = con.sql(f"""SELECT count(*) FROM (
        (SELECT * FROM read_parquet('{a}') EXCEPT ALL SELECT * FROM read_parquet('{b}'))
        UNION ALL (SELECT * FROM read_parquet('{b}') EXCEPT ALL SELECT * FROM read_parquet('{a}')))""").fetchall()[0][0]
    order = con.sql(f"SELECT count(*) FROM (SELECT source_row, lag(source_row) OVER (ORDER BY file_row_number) "
                    f"AS prev FROM read_parquet('{b}', file_row_number = true)) WHERE prev >= source_row").fetchall()[0][0]
    return differ == 0 and order == 0


def run_spark(a: argparse.Namespace) -> dict[str, Any]:
    """DuckDB and Spark (local mode) clean the same generated order file; both timed, both
    files compared."""
    work = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="kit-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"machine": machine(), "master": a.master}
    try:
        data = generate(a.orders, a.customers, work / "data", seed=a.seed, memory_limit=a.memory_limit)
        out["data"] = data
        out["duckdb"] = _spawn(["clean", data["path"], str(work), a.memory_limit, str(a.threads or 0)])
        out["spark"] = _spawn(["spark_clean", data["path"], str(work), a.master])
        out["same_clean_file"] = same_files(work / "transactions_clean.parquet",
                                            work / "transactions_clean_spark.parquet")
        out["same_books"] = out["duckdb"]["books"] == out["spark"]["books"]
        out["spark_over_duckdb"] = round(out["spark"]["seconds"] / out["duckdb"]["seconds"], 1)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return out


def worker_summary(clean: str, out: str, memory_limit: str, threads: int | None) -> dict[str, Any]:
    """The customer summary over the clean Parquet file."""
    from kit.engines.duckdb_engine import summary_duckdb
    from kit.engines.duckdb_source import connect

    spill = Path(out) / "spill"
    con = connect(memory_limit=memory_limit, threads=threads, temp_directory=spill)
    with Watch(spill) as w:
        s = summary_duckdb(clean, AS_OF, time_unit="week", con=con)
    return {**w.result(), "customers": len(s), "repeat_buyers": int((s["frequency"] > 0).sum())}


def plain_summary_sql(path: str) -> str:
    """The customer summary as one would write it in plain DuckDB SQL over the clean file."""
    return f"""
WITH d AS (SELECT customer_id, CAST(order_date AS DATE) AS day, sum(amount) AS amount
           FROM read_parquet('{path}') WHERE amount > 0 AND NOT is_return AND CAST(order_date AS DATE) <= DATE '{AS_OF}'
           GROUP BY ALL)
SELECT customer_id, count(*) - 1 AS frequency,
       date_diff('day', min(day), max(day)) / 7.0 AS recency,
       date_diff('day', min(day), DATE '{AS_OF}') / 7.0 AS T,
       CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, day)) / (count(*) - 1) ELSE 0 END AS monetary_value
FROM d GROUP BY customer_id"""


def worker_ratio(customers: int, out: str, reps: int) -> dict[str, Any]:
    """The kit's summary and the plain SQL summary of the same clean file, alternately."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(HERE))
    import run as bench_run  # benchmarks/run.py: the BG/NBD data generator

    from kit.core.config import Cleaning, InputTable
    from kit.engines.duckdb_clean import clean_transactions_duckdb
    from kit.engines.duckdb_engine import summary_duckdb
    from kit.engines.duckdb_source import connect
    from kit.stages.features import purchase_mask
    from kit.stages.summary import customer_summary

    data = bench_run.generate(customers, Path(out) / "data")
    con = connect()
    clean = Path(out) / "transactions_clean.parquet"
    clean_transactions_duckdb(InputTable(path=data["parquet"]), Cleaning(), AS_OF, con=con, clean_path=clean)
    plain = plain_summary_sql(str(clean))
    # the stage's summary over the frame a run holds (the model path's): purchases read first, not timed
    frame = pd.read_parquet(clean, columns=["customer_id", "order_date", "amount", "is_return"])
    purchases = frame[purchase_mask(frame).to_numpy()]
    kit_s, plain_s, stage_s = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        ours = summary_duckdb(clean, AS_OF, time_unit="week", con=con)
        kit_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs = con.sql(plain).to_arrow_table().to_pandas()
        plain_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        stage = customer_summary(purchases, AS_OF, time_unit="week")
        stage_s.append(time.perf_counter() - t0)
    assert stage.index.equals(ours.index) and np.allclose(stage.to_numpy(), ours.to_numpy(), rtol=1e-12, atol=1e-9)
    theirs = theirs.assign(customer_id=theirs["customer_id"].astype("str")).set_index("customer_id").sort_index()
    diff = float(np.max(np.abs(ours.to_numpy() - theirs[ours.columns].astype(float).to_numpy())))
    return {"customers": len(ours), "orders": data["orders"], "reps": reps,
            "kit_seconds": [round(x, 3) for x in kit_s], "plain_seconds": [round(x, 3) for x in plain_s],
            "kit_median": round(statistics.median(kit_s), 3), "plain_median": round(statistics.median(plain_s), 3),
            "ratio": round(statistics.median(kit_s) / statistics.median(plain_s), 2),
            "ratio_of_minima": round(min(kit_s) / min(plain_s), 2), "largest_difference": diff,
            "stage_seconds": [round(x, 3) for x in stage_s], "stage_median": round(statistics.median(stage_s), 3),
            "stage_ratio": round(statistics.median(stage_s) / statistics.median(plain_s), 2),
            "same_customers": bool(ours.index.equals(pd.Index(theirs.index)))}


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def _spawn(args: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    import duckdb
    import psutil

    return {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "duckdb": duckdb.__version__, "load_average": os.getloadavg(),
            "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def run_big(a: argparse.Namespace) -> dict[str, Any]:
    work = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="kit-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(work).free
    out: dict[str, Any] = {"machine": machine(), "memory_limit": a.memory_limit, "threads": a.threads,
                           "free_disk_gb": round(free / 2**30, 1)}
    try:
        data = generate(a.orders, a.customers, work / "data", seed=a.seed, memory_limit=a.memory_limit)
        out["data"] = data
        extra = [a.memory_limit, str(a.threads or 0)]
        out["clean"] = _spawn(["clean", data["path"], str(work), *extra])
        out["summary"] = _spawn(["summary", str(work / "transactions_clean.parquet"), str(work), *extra])
        out["clean_file_bytes"] = (work / "transactions_clean.parquet").stat().st_size
        out["machine"]["load_average_end"] = os.getloadavg()
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", nargs="?", choices=["big", "ratio", "spark"])
    ap.add_argument("--master", default="local[2]", help="spark: the Spark master")
    ap.add_argument("--orders", type=int, default=100_000_000)
    ap.add_argument("--customers", type=int, default=None,
                    help="big: customer ids (default orders * 0.29); ratio: customers (default 1,000,000)")
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB's memory limit (engine.memory_limit)")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: every core)")
    ap.add_argument("--reps", type=int, default=9, help="ratio: alternate runs of each summary")
    ap.add_argument("--workdir", default=None, help="where the data and the spill go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", default=None, help="write the results as JSON")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        kind, *args = a.worker
        threads = (int(args[3]) or None) if kind in ("clean", "summary") else None
        result = {"clean": lambda: worker_clean(args[0], args[1], args[2], threads),
                  "summary": lambda: worker_summary(args[0], args[1], args[2], threads),
                  "ratio": lambda: worker_ratio(int(args[0]), args[1], int(args[2])),
                  "spark_clean": lambda: worker_spark_clean(args[0], args[1], args[2])}[kind]()
        print(json.dumps(result, default=str))
        return 0
    if a.what == "big":
        if a.customers is None:
            a.customers = int(a.orders * 0.29)
        result = run_big(a)
    elif a.what == "spark":
        if a.customers is None:
            a.customers = int(a.orders * 0.29)
        result = run_spark(a)
    elif a.what == "ratio":
        folder = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="kit-ratio-"))
        try:
            result = {"machine": machine(),
                      "ratio": _spawn(["ratio", str(a.customers or 1_000_000), str(folder), str(a.reps)])}
        finally:
            if not a.keep:
                shutil.rmtree(folder, ignore_errors=True)
    else:
        ap.error("say what to measure: big, ratio or spark")
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
