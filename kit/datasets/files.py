"""Writing the sample as a real export looks: GBK CSV, an xlsx with title rows, UTF-8 CSV
with BOM, the manifest and the README; byte-identical for the same seed."""
from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from kit.core import paths
from kit.datasets.generate import generate_b2b
from kit.datasets.manifest import build_manifest, sample_dynamics
from kit.datasets.readme import render_readme
from kit.datasets.spec import (
    CUSTOMERS_FILE,
    CUSTOMERS_SHEET,
    DEFAULT_CUSTOMERS,
    DEFAULT_END,
    DEFAULT_SEED,
    DEFAULT_START,
    INTERACTIONS_ENCODING,
    INTERACTIONS_FILE,
    LINE_TERMINATOR,
    MANIFEST_FILE,
    ORDERS_ENCODING,
    ORDERS_FILE,
    README_FILE,
    SUBSCRIPTIONS_ENCODING,
    SUBSCRIPTIONS_FILE,
    SUBSCRIPTIONS_LINE_TERMINATOR,
    USAGE_ENCODING,
    USAGE_FILE,
)


def write_sample(out_dir: str | Path = paths.SAMPLE_DIR, seed: int = DEFAULT_SEED,
                 n_customers: int = DEFAULT_CUSTOMERS, start: str = DEFAULT_START,
                 end: str = DEFAULT_END) -> dict[str, Any]:
    """Generate the sample and write it as a real export would look.

    Writes ``orders.csv`` (GBK), ``customers.xlsx`` (sheet 客户主数据, a title row and a
    blank row above the header), ``interactions.csv`` (UTF-8 with BOM),
    ``subscriptions.csv`` and ``usage.csv`` (UTF-8, LF), ``manifest.json`` and ``README.md``
    into ``out_dir`` (created if needed).

    Returns
    -------
    dict
        The manifest (also written to ``manifest.json``).
    """
    out = paths.resolve(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate_b2b(n_customers=n_customers, seed=seed, start=start, end=end)
    public = lambda df: df[[c for c in df.columns if not c.startswith("_")]]  # noqa: E731
    public(data["orders_export"]).to_csv(out / ORDERS_FILE, index=False, encoding=ORDERS_ENCODING,
                                         lineterminator=LINE_TERMINATOR)
    public(data["interactions_export"]).to_csv(out / INTERACTIONS_FILE, index=False,
                                               encoding=INTERACTIONS_ENCODING, lineterminator=LINE_TERMINATOR)
    _write_customers_xlsx(public(data["customers_export"]), out / CUSTOMERS_FILE, as_of=end)
    public(data["subscriptions_export"]).to_csv(out / SUBSCRIPTIONS_FILE, index=False, encoding=SUBSCRIPTIONS_ENCODING,
                                                lineterminator=SUBSCRIPTIONS_LINE_TERMINATOR)
    public(data["usage_export"]).to_csv(out / USAGE_FILE, index=False, encoding=USAGE_ENCODING,
                                        lineterminator=SUBSCRIPTIONS_LINE_TERMINATOR)
    manifest = build_manifest(data, seed=seed, n_customers=n_customers, start=start, end=end)
    for name in (ORDERS_FILE, INTERACTIONS_FILE, SUBSCRIPTIONS_FILE, USAGE_FILE):
        manifest["files"][name]["bytes"] = (out / name).stat().st_size
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    readme = render_readme(manifest, dynamics=sample_dynamics(data, end))
    (out / README_FILE).write_text(readme, encoding="utf-8")
    return manifest


def _write_customers_xlsx(frame: pd.DataFrame, path: Path, as_of: str) -> None:
    """One sheet: a title row, a blank row, the header, then the rows (ids and phones as text)."""
    wb = Workbook()
    ws = wb.active
    ws.title = CUSTOMERS_SHEET
    ws.append([f"客户主数据导出 截至{as_of}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(list(frame.columns))
    for cell in ws[3]:
        cell.font = Font(bold=True)
    date_cols = {"首次合作日期", "合同到期日"}
    for rec in frame.itertuples(index=False):
        values: list[Any] = []
        for col, v in zip(frame.columns, rec):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                values.append(None)
            elif col in date_cols:
                values.append(pd.Timestamp(v).date())
            elif isinstance(v, pd.Timestamp):
                values.append(v.to_pydatetime())
            elif isinstance(v, np.integer):
                values.append(int(v))
            elif isinstance(v, np.floating):
                values.append(float(v))
            else:
                values.append(v)
        ws.append(values)
    for col_idx, col in enumerate(frame.columns, start=1):
        fmt = {"首次合作日期": "yyyy-mm-dd", "合同到期日": "yyyy-mm-dd", "更新时间": "yyyy-mm-dd hh:mm:ss",
               "客户编号": "@", "联系电话": "@"}.get(col)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=4, min_col=col_idx, max_col=col_idx):
                cell.number_format = fmt
    ws.freeze_panes = "A4"
    stamp = dt.datetime.fromisoformat(as_of)
    wb.properties.creator = "kit.datasets"
    wb.properties.created = stamp
    wb.save(path)
    _pin_zip_times(path, stamp)


def _pin_zip_times(path: Path, stamp: dt.datetime) -> None:
    """Rewrite an xlsx with fixed entry times and modified date, so reruns are byte-identical.

    openpyxl stamps both with the time of saving.
    """
    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, payload in entries:
            if name == "docProps/core.xml":
                payload = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + iso + rb"\2", payload)
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, payload)
