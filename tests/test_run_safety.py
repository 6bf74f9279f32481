"""Safe runs (issue 12): paths kept inside the output folder, one lock per client and period,
stale builds of dead runs removed, a full or read-only disk as one line, data that cannot make
a report stopped with what it holds, a stale as_of and a concentrated rule warned about.

Most runs here replace papermill with a stand-in (no kernel): 01_clean runs the real clean
stage and writes ``transactions_clean.parquet``, every other notebook is copied unexecuted.
That keeps the run machinery (lock, build, checks, swap) real and the tests fast; the one
end-to-end run with the real notebooks is marked slow.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from papermill.exceptions import PapermillExecutionError

import kit.publish.run as R
from kit.core import paths
from kit.core.config import load_config, parse_config
from kit.present.messages import render
from kit.publish.safety import (
    last_purchase,
    BUILD_RECORD,
    NoReport,
    OutputFault,
    RunLocked,
    alive,
    run_folders,
)
from kit.engines import clean_all
from kit.stages.layering import concentration_notes

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "fixtures" / "small.yml"
REFUNDS = ROOT / "tests" / "fixtures" / "exports" / "refunds_only.csv"


def quiet(_: str) -> None:
    pass


@pytest.fixture
def fake_papermill(monkeypatch):
    """papermill replaced: 01_clean runs the clean stage; the others are copied unexecuted."""

    def execute(src, dst, parameters, **_):
        run_dir = Path(parameters["run_dir"])
        if Path(src).stem == "01_clean":
            cfg = load_config(parameters["config_path"], as_of=parameters["as_of"])
            tx = clean_all(cfg, pd.Timestamp(parameters["as_of"])).transactions
            (run_dir / "artifacts").mkdir(exist_ok=True)
            tx.to_parquet(run_dir / "artifacts" / paths.ARTIFACTS["transactions_clean"])
        shutil.copy(src, dst)

    monkeypatch.setattr(R.pm, "execute_notebook", execute)
    return execute


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert not alive(p.pid)
    return p.pid


def good_run(out: Path) -> Path:
    """A last good run of small 2026-Q3 (no notebooks: index and run.json only)."""
    result = R.run(SMALL, out_dir=out, notebooks=(), progress=quiet)
    return result.run_dir


def leftovers(client_dir: Path) -> list[str]:
    return sorted(p.name for p in client_dir.iterdir() if p.name.startswith((".build-", ".old-")) or ".failed-" in p.name)


def write_config(tmp_path: Path, **changes) -> Path:
    cfg = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    for table in cfg["inputs"]:  # absolute: the config moves
        cfg["inputs"][table]["path"] = str(SMALL.parent / cfg["inputs"][table]["path"])
    cfg.update(changes)
    p = tmp_path / "client.yml"
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return p


# ---- paths ----------------------------------------------------------------------------------


def test_run_folders_stay_inside_the_output_folder(tmp_path):
    client_dir, final = run_folders(tmp_path, "acme", "2026-Q3")
    assert (client_dir, final) == (tmp_path.resolve() / "acme", tmp_path.resolve() / "acme" / "2026-Q3")
    with pytest.raises(OutputFault, match=r"refusing to write .*: it is outside the run folder"):
        run_folders(tmp_path / "out", "..", "2026-Q3")
    with pytest.raises(OutputFault, match="names the output folder"):
        run_folders(tmp_path, ".", "2026-Q3")


def test_symlinked_client_folder_out_of_the_output_folder_is_refused(tmp_path):
    """The issue's case: a run that would replace a folder outside --out deletes nothing."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "2026-Q3").mkdir(parents=True)
    (elsewhere / "2026-Q3" / "unrelated.txt").write_text("keep me", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "small").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputFault) as e:
        R.run(SMALL, out_dir=out, notebooks=(), progress=quiet)
    assert str(e.value) == (f"refusing to write {elsewhere}: it is outside the run folder {out}; "
                            "nothing was written or deleted")
    assert (elsewhere / "2026-Q3" / "unrelated.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["2026-Q3"]


def test_relative_out_is_taken_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = R.run(SMALL, out_dir="reports-here", notebooks=(), progress=quiet)
    assert result.run_dir == tmp_path / "reports-here" / "small" / "2026-Q3"
    assert (result.run_dir / "index.html").exists() and not (result.run_dir / BUILD_RECORD).exists()


def test_relative_config_is_taken_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(SMALL.parent)
    result = R.run("small.yml", out_dir=tmp_path, notebooks=(), progress=quiet)
    meta = json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))
    assert meta["config"] == str(SMALL)
    assert meta["inputs"]["transactions"]["path"] == str(SMALL.parent / "small" / "orders.csv")


# ---- lock -----------------------------------------------------------------------------------

HOLD_LOCK = """
import fcntl, json, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": "h", "started": "2026-11-30T10:00:00+00:00"}).encode(), 0)
print("locked", flush=True)
time.sleep(60)
"""


def test_second_run_of_a_period_stops_naming_the_running_one(tmp_path):
    final = good_run(tmp_path)
    before = (final / "index.html").read_bytes()
    lock = final.parent / ".lock-2026-Q3"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked) as e:
            R.run(SMALL, out_dir=tmp_path, notebooks=(), progress=quiet)
        assert str(e.value) == (
            f"another run of small 2026-Q3 is running (pid {holder.pid}, started 2026-11-30T10:00:00+00:00; "
            f"lock {lock}): wait for it to finish, or stop that process first"
        )
    finally:
        holder.kill()
        holder.wait()
    assert (final / "index.html").read_bytes() == before
    assert leftovers(final.parent) == []
    # the holder died (kill -9): its lock is taken over and said
    messages: list[str] = []
    R.run(SMALL, out_dir=tmp_path, notebooks=(), progress=messages.append)
    assert (f"  took over the lock of a run that is no longer running (pid {holder.pid}, "
            f"started 2026-11-30T10:00:00+00:00): {lock}") in messages
    assert lock.read_text(encoding="utf-8") == ""  # released cleanly


def test_a_lock_left_by_a_dead_run_is_taken_over(tmp_path):
    client_dir = tmp_path / "small"
    client_dir.mkdir()
    pid = dead_pid()
    lock = client_dir / ".lock-2026-Q3"
    lock.write_text(json.dumps({"pid": pid, "started": "2026-11-29T09:00:00+08:00"}), encoding="utf-8")
    messages: list[str] = []
    R.run(SMALL, out_dir=tmp_path, notebooks=(), progress=messages.append)
    assert messages[0] == (f"  took over the lock of a run that is no longer running (pid {pid}, "
                           f"started 2026-11-29T09:00:00+08:00): {lock}")


# ---- stale builds ---------------------------------------------------------------------------


def test_builds_of_dead_runs_are_removed_and_said(tmp_path):
    client_dir = tmp_path / "small"
    dead = client_dir / ".build-2026-Q2-20261001T120000"  # another period, its run killed
    same = client_dir / ".build-2026-Q3-20261001T120000"  # this period: never alive while we hold the lock
    live = client_dir / ".build-2026-Q1-20261001T120000"  # another period, still running
    pid = dead_pid()
    for build, rec in ((dead, {"pid": pid, "host": os.uname().nodename, "started": "s1"}),
                       (same, {"pid": os.getpid(), "host": os.uname().nodename, "started": "s2"}),
                       (live, {"pid": os.getpid(), "host": os.uname().nodename, "started": "s3"})):
        (build / "artifacts").mkdir(parents=True)
        (build / "artifacts" / "customers.parquet").write_text("PII", encoding="utf-8")
        (build / BUILD_RECORD).write_text(json.dumps(rec), encoding="utf-8")
    messages: list[str] = []
    R.run(SMALL, out_dir=tmp_path, notebooks=(), progress=messages.append)
    assert not dead.exists() and not same.exists() and live.exists()
    said = [m for m in messages if "unfinished build" in m]
    assert said == [
        f"  removed the unfinished build of a run that is no longer running (pid {pid}, started s1): {dead}",
        f"  removed the unfinished build of a run that is no longer running (pid {os.getpid()}, started s2): {same}",
    ]


def test_a_swap_cut_between_its_renames_is_finished(tmp_path):
    final = good_run(tmp_path)
    old = final.with_name(".old-2026-Q3-1")
    final.rename(old)  # killed after moving the last good run aside
    messages: list[str] = []
    R.run(SMALL, out_dir=tmp_path, notebooks=(), progress=messages.append)
    assert f"  restored the last good run from an interrupted swap: {final}" in messages
    assert final.exists() and not old.exists()


# ---- disk faults ----------------------------------------------------------------------------


def _fault_message(path: Path, what: str, fix: str, final: Path) -> str:
    return (f"cannot write {path}: {what}; {fix}; the partial build was removed, "
            f"the last good run is untouched: {final}")


def test_full_disk_is_one_line_and_keeps_the_last_good_run(tmp_path, monkeypatch):
    """ENOSPC simulated: the HTML export of the run fails with a full disk."""
    final = good_run(tmp_path)
    before = (final / "index.html").read_bytes()

    def full(path, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(R, "build_index", full)
    with pytest.raises(OutputFault) as e:
        R.run(SMALL, out_dir=tmp_path, notebooks=(), progress=quiet)
    build = Path(str(e.value).split(":")[0].removeprefix("cannot write "))
    assert build.name.startswith(".build-2026-Q3-")
    assert str(e.value) == _fault_message(build, "no space left on the device",
                                          f"free space there or give another --out than {tmp_path}", final)
    assert "\n" not in str(e.value)
    assert (final / "index.html").read_bytes() == before
    assert leftovers(final.parent) == []


def test_full_disk_inside_a_notebook_removes_the_build(tmp_path, monkeypatch):
    """A cell that fails with ENOSPC is a disk fault, not a notebook bug: no failed folder."""
    final = good_run(tmp_path)

    def execute(src, dst, parameters, **_):
        raise PapermillExecutionError(3, 3, "x", "OSError", "[Errno 28] No space left on device: '/o/a.parquet'", [])

    monkeypatch.setattr(R.pm, "execute_notebook", execute)
    with pytest.raises(OutputFault) as e:
        R.run(SMALL, out_dir=tmp_path, notebooks=("01_clean",), progress=quiet)
    assert str(e.value) == _fault_message(Path("/o/a.parquet"), "no space left on the device",
                                          f"free space there or give another --out than {tmp_path}", final)
    assert leftovers(final.parent) == []


def test_read_only_output_simulated(tmp_path, monkeypatch, fake_papermill):
    """We run as root, where chmod does not stop a write: the read-only file system is
    simulated by a write that fails with EROFS."""
    final = good_run(tmp_path)
    real = R.export_html

    def read_only(src, dst, **kw):
        raise PermissionError(errno.EROFS, "Read-only file system", str(dst))

    monkeypatch.setattr(R, "export_html", read_only)
    with pytest.raises(OutputFault) as e:
        R.run(SMALL, out_dir=tmp_path, notebooks=("02_layering",), progress=quiet)
    monkeypatch.setattr(R, "export_html", real)
    msg = str(e.value)
    dst = msg.split(": ")[0].removeprefix("cannot write ")
    assert dst.endswith("/02_layering.html") and ".build-2026-Q3-" in dst
    assert msg == _fault_message(Path(dst), "not writable (read-only or no permission)",
                                 f"make {tmp_path} writable or give a writable --out", final)
    assert leftovers(final.parent) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod; simulated above")
def test_read_only_output_for_real(tmp_path):
    final = good_run(tmp_path)
    client_dir = final.parent
    client_dir.chmod(0o555)
    try:
        with pytest.raises(OutputFault, match=r"^cannot write .*: not writable \(read-only or no permission\); "):
            R.run(SMALL, out_dir=tmp_path, notebooks=(), progress=quiet)
    finally:
        client_dir.chmod(0o755)
    assert (final / "index.html").exists() and leftovers(client_dir) == []


def test_read_only_output_folder_before_any_build(tmp_path, monkeypatch):
    """The output folder cannot even take the client folder: one line, nothing built."""
    real_mkdir = Path.mkdir

    def mkdir(self, *a, **k):
        if self == tmp_path / "ro" / "small":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(OutputFault) as e:
        R.run(SMALL, out_dir=tmp_path / "ro", notebooks=(), progress=quiet)
    assert str(e.value) == (
        f"cannot write {tmp_path / 'ro' / 'small'}: not writable (read-only or no permission); "
        f"make {tmp_path / 'ro'} writable or give a writable --out; the partial build was removed, "
        "no earlier run was replaced"
    )


# ---- data that cannot make a report ---------------------------------------------------------


def test_refunds_only_stops_with_what_the_data_holds(tmp_path, monkeypatch, fake_papermill):
    monkeypatch.chdir(ROOT)
    cfg = tmp_path / "refunds.yml"
    cfg.write_text(yaml.safe_dump({"client": "refunds", "as_of": "2023-03-31",
                                   "inputs": {"transactions": {"path": str(REFUNDS)}}}), encoding="utf-8")
    with pytest.raises(NoReport) as e:
        R.run(cfg, out_dir=tmp_path / "out", notebooks=("01_clean", "02_layering"), progress=quiet)
    assert str(e.value) == ("tests/fixtures/exports/refunds_only.csv: no purchase up to 2023-03-31: "
                            "5 rows, all refunds (amount < 0); the data runs 2023-01-19 .. 2023-04-22")
    assert leftovers(tmp_path / "out" / "refunds") == []  # the partial build (PII) is removed
    assert not (tmp_path / "out" / "refunds" / "2023-Q1").exists()


BEFORE_CSV = """customer_id,order_id,order_date,amount
C1,SO1,2024-01-05,100.00
C2,SO2,2024-02-10,250.50
C1,SO3,2024-03-01,-100.00
C3,SO4,2024-03-15,0
C3,SO5,not a date,80
"""


def test_as_of_before_all_data_stops(tmp_path, fake_papermill):
    orders = tmp_path / "orders.csv"
    orders.write_text(BEFORE_CSV, encoding="utf-8")
    cfg = tmp_path / "early.yml"
    cfg.write_text(yaml.safe_dump({"client": "early", "inputs": {"transactions": {"path": "orders.csv"}}}),
                   encoding="utf-8")
    with pytest.raises(NoReport) as e:
        R.run(cfg, out_dir=tmp_path / "out", as_of="2023-12-31", notebooks=("01_clean", "02_layering"),
              progress=quiet)
    assert str(e.value) == (
        f"{orders}: no purchase up to 2023-12-31: 5 rows: 1 unreadable date or amount, 1 refunds (amount < 0), "
        "1 zero amount, 2 after 2023-12-31; the data runs 2024-01-05 .. 2024-03-15; set as_of (or --as-of) within it"
    )
    assert leftovers(tmp_path / "out" / "early") == []


def test_as_of_before_the_small_fixture_stops(tmp_path, monkeypatch, fake_papermill):
    monkeypatch.chdir(ROOT)
    with pytest.raises(NoReport) as e:
        R.run(SMALL, out_dir=tmp_path, as_of="2020-12-31", notebooks=("01_clean", "02_layering"), progress=quiet)
    msg = str(e.value)
    assert msg.startswith("tests/fixtures/small/orders.csv: no purchase up to 2020-12-31: 3,143 rows: "), msg
    assert msg.endswith("after 2020-12-31; the data runs 2023-10-02 .. 2027-06-06; set as_of (or --as-of) within it")


def test_stale_as_of_warns_in_progress_and_on_the_index_page(tmp_path, monkeypatch, fake_papermill):
    cfg = write_config(tmp_path, report={"stale_after_days": 90})
    messages: list[str] = []
    result = R.run(cfg, out_dir=tmp_path / "out", as_of="2027-12-31", notebooks=("01_clean",),
                   progress=messages.append)
    tx = pd.read_parquet(result.run_dir / "artifacts" / paths.ARTIFACTS["transactions_clean"])
    last = tx.loc[tx["amount"] > 0, "order_date"].max().normalize()
    days = (pd.Timestamp("2027-12-31") - last).days
    assert days > 90
    assert (f"  warning: as of 2027-12-31 is {days} days after the last purchase ({last:%Y-%m-%d}), "
            "more than report.stale_after_days (90): is the export complete?") in messages
    page = result.index.read_text(encoding="utf-8")
    assert f"报告截止日 2027-12-31 距最后一笔购买（{last:%Y-%m-%d}）已过 {days} 天" in page
    # within the limit: no warning
    messages.clear()
    R.run(cfg, out_dir=tmp_path / "out", as_of=f"{last:%Y-%m-%d}", notebooks=("01_clean",), progress=messages.append)
    assert not any("warning" in m for m in messages)


def test_last_purchase_is_the_purchase_rule_up_to_as_of(tmp_path):
    """The runner's check reads the clean file in DuckDB: the last day with a purchase
    (positive amount, not a return) on or before ``as_of``; refunds, returns, zero amounts and
    later purchases do not count, a time of day on ``as_of`` does."""
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "c"],
        "order_date": pd.to_datetime(["2024-01-05", "2024-03-01 23:30", "2024-03-02", "2024-03-03",
                                      "2024-03-04", "2024-04-01"], format="ISO8601"),
        "amount": [10.0, 5.0, -4.0, 7.0, 0.0, 9.0],
        "is_return": [False, False, False, True, False, False],
    })
    path = tmp_path / "clean.parquet"
    tx.to_parquet(path)
    assert last_purchase(path, pd.Timestamp("2024-03-31")) == pd.Timestamp("2024-03-01")
    assert last_purchase(path, pd.Timestamp("2024-04-01")) == pd.Timestamp("2024-04-01")
    assert last_purchase(path, pd.Timestamp("2024-01-04")) is None
    tx.assign(amount=-tx["amount"].abs()).to_parquet(path)  # refunds only
    assert last_purchase(path, pd.Timestamp("2024-12-31")) is None


def test_stale_after_days_is_validated():
    with pytest.raises(Exception, match=r"report.stale_after_days: Input should be greater than or equal to 1"):
        parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv"}}, "report": {"stale_after_days": 0}})


# ---- one class holds nearly everyone ------------------------------------------------------


def test_us_dollar_client_with_the_demo_thresholds_is_warned():
    """The issue's case: High 0 / Medium 1 / Low 399, ABC 100 % C, no warning before."""
    cfg = parse_config({"client": "us", "currency": "USD", "inputs": {"transactions": {"path": "x.csv"}}})
    customers = pd.DataFrame({"value_tier": ["medium"] + ["low"] * 399, "abc_class": ["C"] * 400,
                              "quadrant": ["star", "cash_cow", "potential", "eliminate"] * 100,
                              "churn_risk": ["low", "high"] * 200})
    notes = concentration_notes(customers, cfg.layering.concentration_warning_share, cfg.currency)
    assert [(n.code, n.kind, n.section) for n in notes] == [("layering.concentrated", "warning", "02_layering")] * 2
    assert render(notes[0], "en") == (
        "99.8 % of customers (399 of 400) fall in one class, Low value (value tiers): review the config keys "
        "layering.value_tiers.high_min, layering.value_tiers.medium_min. These thresholds are amounts in the "
        "config's currency (USD); a config copied from a client in another currency puts nearly everyone in one class."
    )
    assert render(notes[1], "zh") == (
        "100.0% 的客户（400/400）属于「C类长尾客户」（A/B/C 分类）：请检查配置项 layering.abc.a_min、layering.abc.b_min。"
        "这些阈值是配置货币（USD）的金额；从其他币种客户复制来的配置会把几乎所有客户归入同一类。"
    )
    # the share is a config value; below it nothing is said
    assert concentration_notes(customers, 1.0, "USD")[0].params["keys"] == ["layering.abc.a_min", "layering.abc.b_min"]
    spread = customers.assign(value_tier=["high", "medium", "low", "low"] * 100, abc_class=["A", "C"] * 200)
    assert concentration_notes(spread, 0.95, "USD") == []


def test_concentrated_churn_risk_names_its_keys():
    notes = concentration_notes(pd.DataFrame({"churn_risk": ["high"] * 96 + ["low"] * 4}), 0.95, "CNY")
    assert render(notes[0], "en") == (
        "96.0 % of customers (96 of 100) fall in one class, High churn risk (churn risk): review the config keys "
        "layering.churn.high_months, layering.churn.medium_months, layering.churn.satisfaction_high_risk. "
        "A rule that puts nearly everyone in one class does not tell customers apart."
    )


def test_concentration_share_is_validated():
    with pytest.raises(Exception, match="layering.concentration_warning_share"):
        parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv"}},
                      "layering": {"concentration_warning_share": 0.3}})


# ---- one real run: a config in its own folder, run from elsewhere through the CLI -----------


@pytest.mark.slow
def test_cli_run_with_relative_paths_from_another_folder(tmp_path, monkeypatch, capsys):
    """Input paths relative to the config file, --config and --out relative to the cwd; a
    rule that puts everyone in one class is warned about on 02 and on the index page."""
    from kit.publish.cli import main

    client = tmp_path / "acme"
    shutil.copytree(SMALL.parent / "small", client / "data")
    cfg = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    for table in cfg["inputs"]:
        cfg["inputs"][table]["path"] = "data/" + Path(cfg["inputs"][table]["path"]).name
    cfg["client"] = "acme"
    cfg["layering"]["value_tiers"] = {"high_min": 5e9, "medium_min": 1e9}  # thresholds of another currency
    cfg["report"]["languages"] = ["zh"]  # what is checked here is in the zh pages; one language is enough
    (client / "acme.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["run", "--config", "../acme/acme.yml", "--out", "reports"]) == 0
    index = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert index == work / "reports" / "acme" / "2026-Q3" / "index.html" and index.exists()
    meta = json.loads((index.parent / "run.json").read_text(encoding="utf-8"))
    assert meta["inputs"]["transactions"]["path"] == str(client / "data" / "orders.csv")
    assert leftovers(index.parent.parent) == []
    # everyone is low value: the warning names the keys on 02 and on the index page
    warning = "属于「低价值」（价值分层）：请检查配置项 layering.value_tiers.high_min、layering.value_tiers.medium_min"
    assert warning in index.read_text(encoding="utf-8")
    assert warning in (index.parent / "02_layering.html").read_text(encoding="utf-8")


def test_other_os_errors_are_one_line_too(tmp_path):
    from kit.publish.safety import RunFailed, output_fault

    fault = output_fault(FileNotFoundError(errno.ENOENT, "No such file or directory", "/in/orders.csv"),
                         tmp_path, tmp_path / "small" / "2026-Q3")
    assert type(fault) is RunFailed
    assert str(fault) == ("/in/orders.csv: no such file or directory; the partial build was removed, "
                          "no earlier run was replaced")


def test_artifacts_stay_inside_the_run_folder(tmp_path):
    from kit.publish.context import RunContext
    from kit.publish.writer import UnsafePath

    cfg = parse_config({"client": "t", "inputs": {"transactions": {"path": "x.csv"}}})
    ctx = RunContext(cfg=cfg, run_dir=tmp_path / "run", as_of=pd.Timestamp("2026-09-30"), lang="en")
    assert ctx.artifact("customers") == (tmp_path / "run" / "artifacts" / "customers.parquet").resolve()
    with pytest.raises(UnsafePath, match="outside the run folder"):
        ctx.artifact("../../elsewhere.json")


KILLED_RUN = """
import sys, time
import kit.publish.run as R

def execute(src, dst, parameters, **_):
    print("building", parameters["run_dir"], flush=True)
    time.sleep(120)

R.pm.execute_notebook = execute
R.run(sys.argv[1], out_dir=sys.argv[2], notebooks=("01_clean",), progress=lambda m: None)
"""


@pytest.mark.slow
def test_kill_9_during_a_run_is_cleaned_up_by_the_next_run(tmp_path):
    """A real run killed with SIGKILL mid-build: its build folder and lock are left; the next
    run removes the build, takes over the lock and says both."""
    victim = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(SMALL), str(tmp_path)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = victim.stdout.readline().split()
        assert line[0] == "building", line
    finally:
        victim.kill()  # SIGKILL: no clean-up of its own
        victim.wait()
    build = Path(line[1])
    assert build.is_dir() and json.loads((build / BUILD_RECORD).read_text(encoding="utf-8"))["pid"] == victim.pid
    messages: list[str] = []
    R.run(SMALL, out_dir=tmp_path, notebooks=(), progress=messages.append)
    assert not build.exists()
    lock = tmp_path / "small" / ".lock-2026-Q3"
    assert messages[0].startswith(f"  took over the lock of a run that is no longer running (pid {victim.pid}, started ")
    assert messages[0].endswith(f"): {lock}")
    assert messages[1].startswith(f"  removed the unfinished build of a run that is no longer running (pid {victim.pid}, ")
    assert messages[1].endswith(f"): {build}")
    assert leftovers(tmp_path / "small") == []
