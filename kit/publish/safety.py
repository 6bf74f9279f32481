"""Safe runs: what ``kit run`` checks so that a fault never costs the last good run.

* :class:`RunLock` - one run per client and period at a time (an OS lock on
  ``<out>/<client>/.lock-<period>``, released by the OS when the process dies; the file
  records the holder's pid and start, so a second run names the running one and a lock
  left by a dead run is taken over and said).
* :func:`clean_stale_builds` - a run builds in ``.build-<period>-<time>/`` (which records
  its pid, :data:`BUILD_RECORD`); a build whose run is dead (``kill -9``, a power cut)
  holds that run's partial data, PII included: the next run removes it and says so.
  :func:`recover_swap` finishes a swap-in that was cut between its two renames.
* :func:`run_folders` and :func:`safe` - every folder the run writes, deletes or replaces
  lies inside the output folder (:func:`kit.publish.writer.inside`), checked before
  anything is touched.
* :func:`output_fault` - a read-only folder, a full disk: one line naming the path and the fix.
* :func:`check_data` - after 01_clean: no purchase up to ``as_of`` stops the run with what
  the data holds (:func:`no_purchase_message`); ``as_of`` long after the last purchase is a
  warning (``index.stale_as_of``).

Every fault is a :class:`RunFailed` with a one-line message (the CLI prints it).
"""
from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from kit.core import paths
from kit.core.config import KitConfig
from kit.core.notes import Note
from kit.io.parse import parse_amounts, parse_dates
from kit.engines.duckdb_books import parquet_sql
from kit.engines.duckdb_source import connect
from kit.io.read import read_table
from kit.publish.writer import UnsafePath, inside
from kit.stages.rules_sql import purchase_sql

#: The file in a build folder that names the run building it (pid, host, start).
BUILD_RECORD = ".kit-build.json"
#: A build without a record (an older kit, or killed at once) counts as stale after this.
UNRECORDED_STALE_SECONDS = 3600
#: errno values that mean "the output folder cannot take the run" (not a bug of the kit).
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
_ERRNO_TEXT = re.compile(r"\[Errno (\d+)\] ([^:]+)(?:: '(.*)')?")


class RunFailed(RuntimeError):
    """A run that cannot finish; the message says why (a failing notebook names the cell)."""

    def __init__(self, message: str, failed_dir: Path | None = None):
        super().__init__(message)
        self.failed_dir = failed_dir


class RunLocked(RunFailed):
    """Another run of the same client and period is running."""


class OutputFault(RunFailed):
    """The output folder cannot take the run (read-only, full, outside the output folder)."""


class NoReport(RunFailed):
    """The data holds no purchase up to ``as_of``: there is nothing to report."""


def record() -> dict[str, Any]:
    """Who is running: pid, host and start time (local, to the second)."""
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": dt.datetime.now().astimezone().isoformat(timespec="seconds")}


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _load(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _holder(rec: dict[str, Any]) -> str:
    return f"pid {rec.get('pid', '?')}, started {rec.get('started', '?')}"


# ---- paths --------------------------------------------------------------------------------


def safe(root: Path, path: Path) -> Path:
    """``path`` resolved, after checking it lies inside ``root`` (else :class:`OutputFault`)."""
    try:
        return inside(root, path)
    except UnsafePath as e:
        raise OutputFault(f"{e}; nothing was written or deleted") from None


def run_folders(out_root: Path, client: str, label: str) -> tuple[Path, Path]:
    """``<out>/<client>`` and ``<out>/<client>/<label>``, both checked to lie strictly inside
    the output folder (a client key ``..`` or a symlink out of it is refused)."""
    client_dir = safe(out_root, out_root / client)
    if client_dir == out_root.resolve():
        raise OutputFault(f"client {client!r} names the output folder {out_root} itself; "
                          "use a plain folder name as client")
    return client_dir, safe(client_dir, client_dir / label)


def output_fault(e: OSError, out_root: Path, final: Path) -> RunFailed:
    """One line for an OS error during the run: the path, what happened, the fix
    (:class:`OutputFault` for a full or read-only disk)."""
    where = e.filename or out_root
    last = f"the last good run is untouched: {final}" if final.exists() else "no earlier run was replaced"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        what, fix = "no space left on the device", f"free space there or give another --out than {out_root}"
    elif e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what, fix = "not writable (read-only or no permission)", \
            f"make {out_root} writable or give a writable --out"
    else:
        return RunFailed(f"{where}: {(e.strerror or str(e)).lower()}; the partial build was removed, {last}")
    return OutputFault(f"cannot write {where}: {what}; {fix}; the partial build was removed, {last}")


def notebook_os_error(ename: str, evalue: str) -> OSError | None:
    """The OS error of a notebook cell that failed on a full or read-only disk, else None."""
    if ename not in ("OSError", "PermissionError", "IOError"):
        return None
    m = _ERRNO_TEXT.search(evalue)
    if not m or int(m.group(1)) not in DISK_ERRNOS:
        return None
    return OSError(int(m.group(1)), m.group(2), m.group(3))


# ---- lock -----------------------------------------------------------------------------------


class RunLock:
    """An exclusive lock on ``<client_dir>/.lock-<label>`` for the length of a ``with``."""

    def __init__(self, client_dir: Path, client: str, label: str, progress: Callable[[str], None]):
        self.path = safe(client_dir, client_dir / f".lock-{label}")
        self.what = f"{client} {label}"
        self.progress = progress
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _load(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            os.close(fd)
            raise RunLocked(
                f"another run of {self.what} is running ({_holder(holder)}; lock {self.path}): "
                "wait for it to finish, or stop that process first"
            ) from None
        left = _load(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        if left.get("pid"):  # written by a run that died without releasing it
            self.progress(f"  took over the lock of a run that is no longer running ({_holder(left)}): {self.path}")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record()).encode("utf-8"), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # empty: released cleanly
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


# ---- builds ---------------------------------------------------------------------------------


def start_build(client_dir: Path, label: str, stamp: str) -> Path:
    """Create ``.build-<label>-<stamp>/executed`` and record this run in it."""
    build = safe(client_dir, client_dir / f".build-{label}-{stamp}")
    (build / "executed").mkdir(parents=True)
    (build / BUILD_RECORD).write_text(json.dumps(record()), encoding="utf-8")
    return build


def _build_is_stale(build: Path, label: str) -> tuple[bool, dict[str, Any]]:
    """Stale: a build of this period (this run holds its lock), or one whose recorded run is
    dead; unrecorded builds of other periods count as stale after an hour."""
    rec_path = build / BUILD_RECORD
    rec = _load(rec_path.read_text(encoding="utf-8")) if rec_path.is_file() else {}
    if build.name.startswith(f".build-{label}-"):
        return True, rec
    if not rec:
        return time.time() - build.stat().st_mtime > UNRECORDED_STALE_SECONDS, rec
    if rec.get("host") not in (None, socket.gethostname()):
        return False, rec  # another machine's run: its pid says nothing here
    return not alive(int(rec.get("pid") or 0)), rec


def clean_stale_builds(client_dir: Path, label: str, progress: Callable[[str], None]) -> list[Path]:
    """Remove the build folders of runs that died (they hold partial data with PII); say so."""
    removed = []
    for build in sorted(client_dir.glob(".build-*")):
        if not build.is_dir() or build.is_symlink():
            continue
        build = safe(client_dir, build)
        stale, rec = _build_is_stale(build, label)
        if stale:
            shutil.rmtree(build)
            removed.append(build)
            progress(f"  removed the unfinished build of a run that is no longer running "
                     f"({_holder(rec)}): {build}")
    return removed


def recover_swap(client_dir: Path, final: Path, progress: Callable[[str], None]) -> None:
    """Finish a swap-in cut between its renames: ``.old-<label>-*`` is the last good run when
    ``final`` is missing (put it back), else a leftover (removed)."""
    for old in sorted(client_dir.glob(f".old-{final.name}-*"), reverse=True):
        old = safe(client_dir, old)
        if not final.exists():
            old.rename(final)
            progress(f"  restored the last good run from an interrupted swap: {final}")
        else:
            shutil.rmtree(old)
            progress(f"  removed the replaced run an interrupted swap left: {old}")


# ---- data -----------------------------------------------------------------------------------


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def no_purchase_message(cfg: KitConfig, as_of: pd.Timestamp) -> str:
    """What the transactions file holds when no purchase is up to ``as_of``: its rows by kind
    and the date range, in one line."""
    raw = read_table(cfg.inputs.transactions, "transactions", only=["order_date", "amount"])
    dates, dok = parse_dates(raw.column("order_date"))
    amounts, aok = parse_amounts(raw.column("amount"))
    dok, aok = dok.to_numpy(bool), aok.to_numpy(bool)
    dates, amounts = dates.to_numpy(), amounts.to_numpy(float)
    end = (as_of.normalize() + pd.Timedelta(days=1)).to_datetime64()
    ok = dok & aok
    kinds = [
        ("unreadable date or amount", ~ok),
        ("refunds (amount < 0)", ok & (amounts < 0)),
        ("zero amount", ok & (amounts == 0)),
        (f"after {as_of:%Y-%m-%d}", ok & (amounts > 0) & (dates >= end)),
        ("quarantined by the cleaning rules", ok & (amounts > 0) & (dates < end)),
    ]
    n = len(amounts)
    counts = [(name, int(mask.sum())) for name, mask in kinds if mask.sum()]
    if len(counts) == 1:
        held = f"{n:,} rows, all {counts[0][0]}"
    else:
        held = f"{n:,} rows: " + ", ".join(f"{c:,} {name}" for name, c in counts)
    if dok.any():
        first, last = pd.Timestamp(dates[dok].min()), pd.Timestamp(dates[dok].max())
        span = f"the data runs {first:%Y-%m-%d} .. {last:%Y-%m-%d}"
        if first >= pd.Timestamp(end):
            span += "; set as_of (or --as-of) within it"
    else:
        span = f"no order date is readable in column {raw.mapping.get('order_date')!r}"
    return f"{_shown(raw.path)}: no purchase up to {as_of:%Y-%m-%d}: {held}; {span}"


def last_purchase(clean: Path, as_of: pd.Timestamp) -> pd.Timestamp | None:
    """The day of the last purchase (:data:`kit.stages.rules_sql.PURCHASE_SQL`, the purchase
    rule's SQL form) up to ``as_of`` in the clean transactions file, None when there is none.
    DuckDB reads the file itself: the runner, whose memory adds to every notebook's kernel,
    holds nothing of it after (reading the three columns into pandas left 120 MB resident at
    a million customers)."""
    end = (as_of.normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    with connect() as con:
        (last,) = con.sql(f"SELECT max(order_date) FROM {parquet_sql(clean)} "
                          f"WHERE {purchase_sql('amount', 'is_return')} AND order_date < TIMESTAMP '{end}'").fetchall()[0]
    return None if last is None else pd.Timestamp(last).normalize()


def check_data(build: Path, cfg: KitConfig, as_of: pd.Timestamp,
               progress: Callable[[str], None]) -> None:
    """After 01_clean: stop (:class:`NoReport`) when no purchase is up to ``as_of``; add a
    warning note (``index.stale_as_of``) when ``as_of`` is more than
    ``report.stale_after_days`` after the last purchase."""
    art = build / "artifacts"
    clean = art / paths.ARTIFACTS["transactions_clean"]
    if not clean.is_file():  # 01_clean failed to leave it: the next notebook says so
        return
    last = last_purchase(clean, as_of)
    if last is None:
        raise NoReport(no_purchase_message(cfg, as_of))
    days = int((as_of.normalize() - last).days)
    limit = cfg.report.stale_after_days
    if days > limit:
        params = {"as_of": f"{as_of:%Y-%m-%d}", "last": f"{last:%Y-%m-%d}", "days": days, "limit": limit}
        progress(f"  warning: as of {params['as_of']} is {days} days after the last purchase "
                 f"({params['last']}), more than report.stale_after_days ({limit}): is the export complete?")
        note = Note("index.stale_as_of", params, "warning", "index").as_dict()
        notes_path = art / "notes.json"
        notes = json.loads(notes_path.read_text(encoding="utf-8")) if notes_path.exists() else []
        notes_path.write_text(json.dumps([note, *notes], ensure_ascii=False, indent=2), encoding="utf-8")
