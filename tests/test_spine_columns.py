"""A notebook that reads only some of the spine's columns shows and writes what it would
reading all of them.

03_personas reads the columns its stage and its page use (``kit.stages.personas.spine_inputs``,
``kit.present.personas.SPINE_SHOWN``), 04_clv likewise (``kit.stages.clv.SPINE_INPUTS``,
``kit.present.clv.SPINE_SHOWN``), 05_strategy those of its stage, the renewal follow-up,
its page and the deliverables; each writes its own columns back (``ctx.update_customers``).
A missing name would not always fail: a section shown only ``if "churn_risk" in
customers.columns`` would silently go, a deliverable column be left out as empty. So each
such notebook is executed twice on a copy of the small run: as it is, and with
``KIT_SPINE_COLUMNS=all`` (every column read); every output of every cell, the spine it
leaves and every other file of the run's artifacts (CSV and JSON byte for byte, workbooks
part by part, Parquet frames) must be the same.
"""
from __future__ import annotations

import json
import re
import shutil
import zipfile

import pandas as pd
import papermill as pm
import pytest

from kit.core import paths

#: The notebooks that read a part of the spine.
PARTIAL_READERS = ("03_personas", "04_clv", "05_strategy")


def _outputs(executed) -> list:
    """Every code cell's outputs, the objects' memory addresses (``<... at 0x7f..>``) left out."""
    nb = json.loads(re.sub(r" at 0x[0-9a-f]+", "", executed.read_text(encoding="utf-8")))
    return [[{k: v for k, v in o.items() if k != "execution_count"} for o in c.get("outputs", [])]
            for c in nb["cells"] if c["cell_type"] == "code"]


def _artifacts(folder) -> dict:
    """Every artifact but the spine, as comparable content."""
    out = {}
    for f in sorted(folder.iterdir()):
        if f.name == paths.ARTIFACTS["customers"] or not f.is_file():
            continue
        if f.suffix == ".parquet":
            out[f.name] = pd.read_parquet(f)
        elif f.suffix == ".xlsx":
            with zipfile.ZipFile(f) as z:  # docProps/core.xml: the time of writing
                out[f.name] = {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}
        else:
            out[f.name] = f.read_bytes()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", PARTIAL_READERS)
def test_a_partial_reader_shows_what_a_whole_reader_shows(small_run, tmp_path, monkeypatch, name):
    meta = json.loads((small_run.run_dir / "run.json").read_text(encoding="utf-8"))
    got = {}
    for mode in ("columns", "all"):
        run_dir = tmp_path / mode
        shutil.copytree(small_run.run_dir / "artifacts", run_dir / "artifacts")
        if mode == "all":
            monkeypatch.setenv("KIT_SPINE_COLUMNS", "all")
        out = tmp_path / f"{name}.{mode}.ipynb"
        pm.execute_notebook(str(paths.NOTEBOOKS_DIR / f"{name}.ipynb"), str(out),
                            parameters={**meta["parameters"], "run_dir": str(run_dir)}, kernel_name="python3",
                            cwd=str(paths.NOTEBOOKS_DIR), progress_bar=False, log_output=False)
        got[mode] = (_outputs(out), pd.read_parquet(run_dir / "artifacts" / paths.ARTIFACTS["customers"]),
                     _artifacts(run_dir / "artifacts"))
    (partial, spine_p, files_p), (whole, spine_w, files_w) = got["columns"], got["all"]
    assert len(partial) == len(whole)
    for i, (a, b) in enumerate(zip(partial, whole)):
        assert a == b, f"{name}: code cell {i} shows something else when it reads every column"
    # the same columns and values (a column the notebook only read keeps its place: order is not content)
    pd.testing.assert_frame_equal(spine_p, spine_w, check_like=True)
    assert list(files_p) == list(files_w)
    for f, content in files_p.items():
        if isinstance(content, pd.DataFrame):
            pd.testing.assert_frame_equal(content, files_w[f], obj=f)
        else:
            assert content == files_w[f], f"{name}: {f} differs when it reads every column"
    assert sum(len(o) for o in partial) > 10  # the notebook showed its page
