"""``kit run``: execute the notebooks of one period with papermill into a run folder.

The run folder ``<out>/<client>/<period label>/`` holds ``index.html``, one HTML page per
notebook, ``executed/`` (the executed notebooks), ``artifacts/`` and ``run.json``.
A run is built in a temporary sibling folder and swapped in only when every notebook
succeeded, so a broken run never overwrites the last good run of the same period; a
failed run is kept as ``<label>.failed-<time>/`` for inspection.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kit import __version__
from kit.core import paths
from kit.core.config import KitConfig, load_config
from kit.publish.context import resolve_as_of
from kit.core.periods import period_label

#: Section titles, in both languages, keyed by notebook name.
SECTION_TITLES = {
    "01_clean": ("数据清洗与对账", "Data cleaning and reconciliation"),
    "02_layering": ("客户分层", "Customer layering"),
    "03_personas": ("客户画像", "Customer personas"),
    "04_clv": ("客户终身价值", "Customer lifetime value"),
    "05_strategy": ("维护策略与交付表", "Maintenance strategy and deliverables"),
}

#: Packages whose versions are recorded in run.json.
RECORDED_PACKAGES = (
    "pandas", "numpy", "scipy", "lifetimes", "matplotlib", "seaborn", "scikit-learn",
    "papermill", "nbconvert", "pyarrow", "openpyxl", "pydantic", "duckdb",
)


class RunFailed(RuntimeError):
    """A notebook failed; the message names it and the cell's error."""

    def __init__(self, message: str, failed_dir: Path | None = None):
        super().__init__(message)
        self.failed_dir = failed_dir


@dataclass
class RunResult:
    run_dir: Path
    index: Path
    seconds: dict[str, float] = field(default_factory=dict)


def section_title(notebook: str, lang: str) -> str:
    zh, en = SECTION_TITLES[notebook]
    return zh if lang == "zh" else en


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "customer-value-kit": __version__}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def input_files(cfg: KitConfig) -> dict[str, Path]:
    out = {}
    for table in ("transactions", "customers", "interactions"):
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

    Raises :class:`RunFailed` naming the notebook and the error of the failing cell.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    config_path = paths.resolve(config_path)
    cfg = load_config(config_path, as_of=as_of, language=lang)
    for table, p in input_files(cfg).items():
        if not p.exists():
            raise RunFailed(f"{config_path}: inputs.{table}.path: file not found: {p}")
    as_of_ts = resolve_as_of(cfg)
    label = period_label(as_of_ts, cfg.period)
    out_root = paths.resolve(out_dir) if out_dir else paths.REPORTS_DIR
    client_dir = out_root / cfg.client
    client_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    build = client_dir / f".build-{label}-{stamp}"
    executed = build / "executed"
    executed.mkdir(parents=True)
    final = client_dir / label
    language = cfg.language

    params = {
        "config_path": str(config_path),
        "run_dir": str(build),
        "as_of": as_of_ts.date().isoformat(),
        "lang": language,
    }
    progress(f"kit run: {cfg.client} {label} (as of {params['as_of']}, {language}) -> {final}")
    started = dt.datetime.now(dt.timezone.utc)
    seconds: dict[str, float] = {}
    for i, name in enumerate(notebooks, 1):
        src = paths.NOTEBOOKS_DIR / f"{name}.ipynb"
        dst = executed / f"{name}.ipynb"
        t0 = time.perf_counter()
        progress(f"  [{i}/{len(notebooks)}] {name} ...")
        try:
            pm.execute_notebook(
                str(src), str(dst), parameters=params, kernel_name="python3",
                cwd=str(paths.NOTEBOOKS_DIR), progress_bar=False, log_output=False,
                report_mode=False,
                # the kernel's own log (a plain-TCP notice on loopback) is not the reader's business;
                # cell errors still surface through papermill
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )
        except PapermillExecutionError as e:
            failed = client_dir / f"{label}.failed-{stamp}"
            build.rename(failed)
            raise RunFailed(
                f"notebook {name} failed in cell {e.exec_count}: {e.ename}: {e.evalue}\n"
                f"  executed notebook kept for inspection: {failed / 'executed' / dst.name}\n"
                f"  the last good run, if any, is untouched: {final}",
                failed_dir=failed,
            ) from None
        seconds[name] = round(time.perf_counter() - t0, 2)
        progress(f"  [{i}/{len(notebooks)}] {name} done in {seconds[name]:.1f} s")

    t0 = time.perf_counter()
    nav = [(label_for_index(language), "index.html")] + [
        (section_title(n, language), f"{n}.html") for n in notebooks
    ]
    run_meta = {
        "client": cfg.client,
        "client_name": cfg.client_name,
        "period": cfg.period,
        "period_label": label,
        "as_of": params["as_of"],
        "language": language,
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
    footer = footer_html(run_meta, language)
    from kit.present.report import export_html

    for name in notebooks:
        export_html(
            executed / f"{name}.ipynb", build / f"{name}.html",
            title=f"{cfg.client_name or cfg.client} · {label} · {section_title(name, language)}",
            nav=nav, footer=footer, lang=language,
        )
    seconds["html"] = round(time.perf_counter() - t0, 2)
    run_meta["finished_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    (build / "run.json").write_text(json.dumps(run_meta, ensure_ascii=False, indent=2), encoding="utf-8")

    from kit.publish.index_page import build_index

    index = build_index(build, cfg, run_meta, nav=nav, notebooks=notebooks)
    _swap_in(build, final)
    progress(f"  report: {final / index.name}")
    return RunResult(run_dir=final, index=final / index.name, seconds=seconds)


def label_for_index(lang: str) -> str:
    return "概览" if lang == "zh" else "Summary"


def footer_html(meta: dict, lang: str) -> str:
    from html import escape

    zh = lang == "zh"
    inputs = ", ".join(f"{t}: {Path(v['path']).name} (sha256 {v['sha256'][:12]}…)" for t, v in meta["inputs"].items())
    parts = [
        ("客户" if zh else "Client", meta["client_name"] or meta["client"]),
        ("期间" if zh else "Period", f"{meta['period_label']} ({'截至' if zh else 'as of'} {meta['as_of']})"),
        ("输入" if zh else "Inputs", inputs),
        ("运行时间" if zh else "Run started", meta["started_utc"]),
        ("版本" if zh else "Versions", f"kit {meta['packages']['customer-value-kit']}, "
         f"pandas {meta['packages']['pandas']}, lifetimes {meta['packages']['lifetimes']}"),
    ]
    return " · ".join(f"<b>{escape(k)}</b>: {escape(str(v))}" for k, v in parts)


def _swap_in(build: Path, final: Path) -> None:
    """Replace ``final`` with ``build`` so that a complete run is always in place."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{time.time_ns()}")
        final.rename(old)
        build.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        build.rename(final)
    # run.json records where the run lives now
    meta_path = final / "run.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["run_dir"] = str(final)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
