"""``kit run``: execute the notebooks of one period with papermill into a run folder.

The run folder ``<out>/<client>/<period label>/`` holds ``index.html``, one HTML page per
notebook, ``executed/`` (the executed notebooks), ``artifacts/`` and ``run.json``.
A run is built in a temporary sibling folder and swapped in only when every notebook
succeeded, so a broken run never overwrites the last good run of the same period; a
failed run is kept as ``<label>.failed-<time>/`` for inspection.

Safety (:mod:`kit.publish.safety`): one run per client and period at a time (a lock), the
builds of dead runs removed, every folder touched checked to lie inside the output folder,
a full or read-only disk one line (the partial build removed), and data without a purchase
up to ``as_of`` a stop that says what the data holds.

Paths: ``config_path`` and ``out_dir`` are taken from the working directory; input paths in
the config from the config file's folder (:func:`kit.core.config.load_config`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import sys
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable, Iterator

import papermill as pm
from papermill.exceptions import PapermillExecutionError

from kit import __version__
from kit.core import paths
from kit.core.config import INPUT_TABLES, KitConfig, load_config
from kit.core.periods import period_label
from kit.core.progress import PROGRESS_ENV, new_lines
from kit.publish.context import resolve_as_of
from kit.publish.html import export_html, footer_html, language_links, section_title, summary_label
from kit.publish.index_page import build_index
from kit.publish.landing import after_run
from kit.publish.languages import page_name, parse_languages, split_languages, with_language_twins
from kit.publish.single_file import build_single_file
from kit.publish.safety import (
    BUILD_RECORD,
    NoReport,
    OutputFault,
    RunFailed,
    RunLocked,
    RunLock,
    check_data,
    clean_stale_builds,
    notebook_os_error,
    output_fault,
    recover_swap,
    run_folders,
    safe,
    start_build,
)

__all__ = ["NoReport", "OutputFault", "RunFailed", "RunLocked", "RunResult", "run"]

#: Packages whose versions are recorded in run.json.
RECORDED_PACKAGES = (
    "pandas", "numpy", "scipy", "lifetimes", "matplotlib", "seaborn", "scikit-learn",
    "papermill", "nbconvert", "pyarrow", "openpyxl", "pydantic", "duckdb",
)


@dataclass
class RunResult:
    run_dir: Path
    index: Path
    seconds: dict[str, float] = field(default_factory=dict)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "customer-value-kit": __version__}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def input_files(cfg: KitConfig) -> dict[str, Path]:
    out = {}
    for table in INPUT_TABLES:
        spec = getattr(cfg.inputs, table)
        if spec is not None:
            out[table] = paths.resolve(spec.path)
    return out


def run(
    config_path: str | Path,
    *,
    out_dir: str | Path | None = None,
    as_of: str | None = None,
    lang: str | None = None,
    notebooks: tuple[str, ...] = paths.NOTEBOOKS,
    progress: Callable[[str], None] = print,
) -> RunResult:
    """Execute ``notebooks`` for the period of ``as_of`` and swap the run folder in.

    Raises :class:`RunFailed` (one line, except a failing notebook's cell error): a notebook
    failed, another run of the period holds the lock (:class:`RunLocked`), the output
    folder cannot take the run (:class:`OutputFault`) or the data holds no purchase up to
    ``as_of`` (:class:`NoReport`).
    """
    config_path = paths.resolve(config_path)
    requested = parse_languages(lang)
    cfg = load_config(config_path, as_of=as_of, language=requested[0] if requested else None)
    languages = cfg.run_languages(requested)
    for table, p in input_files(cfg).items():
        if not p.is_file():
            raise RunFailed(f"{config_path}: inputs.{table}.path: file not found: {p}")
    as_of_ts = resolve_as_of(cfg)
    label = period_label(as_of_ts, cfg.period)
    out_root = paths.resolve(out_dir) if out_dir else paths.REPORTS_DIR
    client_dir, final = run_folders(out_root, cfg.client, label)
    try:
        client_dir.mkdir(parents=True, exist_ok=True)
        with RunLock(client_dir, cfg.client, label, progress):
            clean_stale_builds(client_dir, label, progress)
            recover_swap(client_dir, final, progress)
            return _build(cfg, config_path, label, as_of_ts, client_dir, final, notebooks, progress, languages)
    except OSError as e:
        raise output_fault(e, out_root, final) from None


def _build(
    cfg: KitConfig,
    config_path: Path,
    label: str,
    as_of_ts: Any,
    client_dir: Path,
    final: Path,
    notebooks: tuple[str, ...],
    progress: Callable[[str], None],
    languages: tuple[str, ...],
) -> RunResult:
    """Build the run in ``.build-<label>-<time>`` and swap it in; any fault but a failing
    notebook (kept as ``<label>.failed-<time>``) removes the partial build."""
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    build = start_build(client_dir, label, stamp)
    try:
        return _build_in(cfg, config_path, label, as_of_ts, build, final, notebooks, progress, stamp, languages)
    except BaseException:
        with suppress(OSError):
            if build.exists():
                shutil.rmtree(build)
        raise


def _build_in(
    cfg: KitConfig,
    config_path: Path,
    label: str,
    as_of_ts: Any,
    build: Path,
    final: Path,
    notebooks: tuple[str, ...],
    progress: Callable[[str], None],
    stamp: str,
    languages: tuple[str, ...],
) -> RunResult:
    params = {
        "config_path": str(config_path),
        "run_dir": str(build),
        "as_of": as_of_ts.date().isoformat(),
        "lang": ",".join(languages),
    }
    progress(f"kit run: {cfg.client} {label} (as of {params['as_of']}, {', '.join(languages)}) -> {final}")
    started = dt.datetime.now(dt.timezone.utc)

    def after(name: str) -> None:
        if name == "01_clean":
            check_data(build, cfg, as_of_ts, progress)

    failed = safe(final.parent, final.parent / f"{label}.failed-{stamp}")
    seconds = _execute(notebooks, params, build, final, failed, progress, after, languages)

    t0 = time.perf_counter()
    run_meta = _run_meta(cfg, config_path, label, params, final, started, seconds, languages)
    for lang in languages:
        _pages(cfg, build, label, notebooks, run_meta, lang, languages)
    seconds["html"] = round(time.perf_counter() - t0, 2)
    run_meta["finished_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    (build / "run.json").write_text(json.dumps(run_meta, ensure_ascii=False, indent=2), encoding="utf-8")

    index = build_index(build, cfg, run_meta, notebooks=notebooks, languages=languages)
    for lang in languages:  # one file to e-mail per language: report.html, report.en.html
        nav = _nav(notebooks, lang, languages)
        build_single_file(build, [(href, title) for title, href in nav], title=f"{cfg.client_label(lang)} · {label}",
                          lang=lang, name=page_name("report.html", lang, languages),
                          switch=language_links("report.html", lang, languages))
    _swap_in(build, final)
    landing = after_run(final, cfg, run_meta)  # the period in the client's history and landing page
    progress(f"  report: {final / index.name}" + "".join(
        f", {final / page_name(index.name, x, languages)}" for x in languages[1:]))
    progress(f"  all periods: {landing}")
    return RunResult(run_dir=final, index=final / index.name, seconds=seconds)


def _nav(notebooks: tuple[str, ...], lang: str, languages: tuple[str, ...]) -> list[tuple[str, str]]:
    """The pages of one language: (title, file name), the summary first."""
    return [(summary_label(lang), page_name("index.html", lang, languages))] + [
        (section_title(n, lang), page_name(f"{n}.html", lang, languages)) for n in notebooks
    ]


def _pages(cfg: KitConfig, build: Path, label: str, notebooks: tuple[str, ...], run_meta: dict[str, Any],
           lang: str, languages: tuple[str, ...]) -> None:
    """Export the executed notebooks of ``lang`` as HTML pages, with the link to the other languages."""
    nav = _nav(notebooks, lang, languages)
    footer = footer_html(run_meta, lang)
    for name in notebooks:
        page = page_name(f"{name}.html", lang, languages)
        export_html(
            build / "executed" / page_name(f"{name}.ipynb", lang, languages), build / page,
            title=f"{cfg.client_label(lang)} · {label} · {section_title(name, lang)}",
            nav=nav, footer=footer, lang=lang, switch=language_links(f"{name}.html", lang, languages),
        )


def _execute(
    notebooks: tuple[str, ...],
    params: dict[str, str],
    build: Path,
    final: Path,
    failed: Path,
    progress: Callable[[str], None],
    after: Callable[[str], None] = lambda name: None,
    languages: tuple[str, ...] = (),
) -> dict[str, float]:
    """Run each notebook with papermill into ``build/executed``; seconds per notebook.

    On a failing cell the build folder becomes ``failed`` and :class:`RunFailed` says which
    notebook and cell failed, and where the executed notebook is kept; a cell that failed
    on a full or read-only disk raises that OS error instead (the caller removes the build).
    ``after(name)`` runs after each notebook (the data check after 01_clean). With more than
    one language each notebook runs once with twins of its presenting cells and is split
    into one executed notebook per language (:mod:`kit.publish.languages`).
    """
    seconds: dict[str, float] = {}
    for i, name in enumerate(notebooks, 1):
        src = _with_twins(paths.NOTEBOOKS_DIR / f"{name}.ipynb", build, languages)
        dst = build / "executed" / f"{name}.ipynb"
        t0 = time.perf_counter()
        progress(f"  [{i}/{len(notebooks)}] {name} ...")
        try:
            with _steps_shown(build / "work" / f"progress-{name}.log", progress):
                pm.execute_notebook(
                    str(src), str(dst), parameters=params, kernel_name="python3",
                    cwd=str(paths.NOTEBOOKS_DIR), progress_bar=False, log_output=False,
                    report_mode=False,
                    # the kernel's own log (a plain-TCP notice on loopback) is not the reader's business;
                    # cell errors still surface through papermill
                    extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                )
        except PapermillExecutionError as e:
            disk = notebook_os_error(e.ename, e.evalue)
            if disk is not None:
                raise disk from None
            build.rename(failed)
            raise RunFailed(
                f"notebook {name} failed in cell {e.exec_count}: {e.ename}: {e.evalue}\n"
                f"  executed notebook kept for inspection: {failed / 'executed' / dst.name}\n"
                f"  the last good run, if any, is untouched: {final}",
                failed_dir=failed,
            ) from None
        _split(dst, languages)
        seconds[name] = round(time.perf_counter() - t0, 2)
        progress(f"  [{i}/{len(notebooks)}] {name} done in {seconds[name]:.1f} s")
        after(name)
    shutil.rmtree(build / "work", ignore_errors=True)  # the notebooks with twins, split by now
    return seconds


@contextmanager
def _steps_shown(log: Path, progress: Callable[[str], None]) -> Iterator[None]:
    """While a notebook runs, print the step lines its stages log (:mod:`kit.core.progress`):
    the kernel inherits ``$KIT_PROGRESS_FILE``; a thread prints what is new twice a second."""
    log.parent.mkdir(parents=True, exist_ok=True)
    os.environ[PROGRESS_ENV] = str(log)
    done = threading.Event()

    def follow() -> None:
        offset = 0
        while True:
            finished = done.wait(0.5)
            lines, offset = new_lines(log, offset)
            for line in lines:
                progress(f"        {line}")
            if finished:
                return

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()
        t.join(timeout=5)
        os.environ.pop(PROGRESS_ENV, None)


def _with_twins(src: Path, build: Path, languages: tuple[str, ...]) -> Path:
    """The notebook papermill executes: ``src`` itself in one language, else a copy in the
    build's work folder with the twins of every further language."""
    if len(languages) < 2:
        return src
    work = build / "work"
    work.mkdir(parents=True, exist_ok=True)
    nb = json.loads(src.read_text(encoding="utf-8"))
    out = work / src.name
    out.write_text(json.dumps(with_language_twins(nb, languages), ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def _split(executed: Path, languages: tuple[str, ...]) -> None:
    """Replace the executed notebook with twins by one notebook per language."""
    if len(languages) < 2:
        return
    nb = json.loads(executed.read_text(encoding="utf-8"))
    for lang, one in split_languages(nb, languages).items():
        target = executed.with_name(page_name(executed.name, lang, languages))
        target.write_text(json.dumps(one, ensure_ascii=False, indent=1), encoding="utf-8")


def _run_meta(
    cfg: KitConfig,
    config_path: Path,
    label: str,
    params: dict[str, str],
    final: Path,
    started: dt.datetime,
    seconds: dict[str, float],
    languages: tuple[str, ...],
) -> dict[str, Any]:
    """What ``run.json`` records: client, period, parameters, inputs with hashes, versions."""
    return {
        "client": cfg.client,
        "client_name": cfg.client_name,
        "client_name_en": cfg.client_name_en,
        "period": cfg.period,
        "period_label": label,
        "as_of": params["as_of"],
        "language": languages[0],
        "languages": list(languages),
        "config": str(config_path),
        "parameters": params | {"run_dir": str(final)},
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": None,
        "seconds_per_notebook": seconds,
        "inputs": {t: {"path": str(p), "sha256": sha256(p), "bytes": p.stat().st_size}
                   for t, p in input_files(cfg).items()},
        "packages": package_versions(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }


def _swap_in(build: Path, final: Path) -> None:
    """Replace ``final`` with ``build`` so that a complete run is always in place (every
    folder renamed or deleted is checked to lie inside the client folder first)."""
    client_dir = final.parent
    build, final = safe(client_dir, build), safe(client_dir, final)
    if final.exists():
        old = safe(client_dir, final.with_name(f".old-{final.name}-{time.time_ns()}"))
        final.rename(old)
        try:
            build.rename(final)
        except OSError:
            old.rename(final)  # the last good run back in place
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        build.rename(final)
    (final / BUILD_RECORD).unlink(missing_ok=True)  # the run is in place: no longer a build
    # run.json records where the run lives now
    meta_path = final / "run.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["run_dir"] = str(final)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
