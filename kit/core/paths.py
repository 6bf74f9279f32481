"""The one module that owns the project's paths.

Everything else asks here (``PROJ_ROOT``, ``resolve``) instead of building paths by hand.
"""
from __future__ import annotations

import importlib.resources as resources
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[2]
CONFIGS_DIR = PROJ_ROOT / "configs"
DATA_DIR = PROJ_ROOT / "data"
SAMPLE_DIR = DATA_DIR / "sample"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
REPORTS_DIR = PROJ_ROOT / "reports"
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "publish" / "templates"
DEFAULT_CONFIG = CONFIGS_DIR / "demo.yml"

#: The notebooks of one run, in the order data flows.
NOTEBOOKS = ("01_clean", "02_layering", "03_personas", "04_clv", "05_strategy")

#: Files a stage hands on, relative to ``<run>/artifacts``.
ARTIFACTS = {
    "transactions_clean": "transactions_clean.parquet",
    "customers_master_clean": "customers_master_clean.parquet",
    "interactions_clean": "interactions_clean.parquet",
    "subscriptions_clean": "subscriptions_clean.parquet",  # when inputs.subscriptions is configured
    "usage_clean": "usage_clean.parquet",  # when inputs.usage is configured
    "quarantine": "quarantine.csv",
    "merged": "merged.csv",
    "quality": "quality.json",
    "customers": "customers.parquet",
    "model_params": "model_params.json",
    "deliverables": "deliverables.xlsx",
    "follow_up_summary": "follow_up_summary.json",  # 05_strategy -> index.html (the coming period)
}


LIFETIMES_SCHEME = "lifetimes:"


def resolve(path: str | Path, base: Path | None = None) -> Path:
    """Absolute path: ``path`` as given when absolute, else relative to ``base``
    (default: the current working directory, as a command-line user expects).

    The rule of the kit: a path given on the command line (``--config``, ``--out``) is
    relative to the working directory; an input path inside a config file is relative to
    the config file's folder (:func:`kit.core.config.load_config` passes that ``base``).
    ``lifetimes:NAME`` names a data file shipped inside the lifetimes package
    (``lifetimes:CDNOW_master.txt``), so configs stay portable across machines.
    """
    if isinstance(path, str) and path.startswith(LIFETIMES_SCHEME):
        return lifetimes_dataset(path[len(LIFETIMES_SCHEME):])
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    return ((base or Path.cwd()) / p).resolve()


def lifetimes_dataset(name: str) -> Path:
    """Path of a data file shipped inside the ``lifetimes`` package (e.g. ``CDNOW_sample.txt``).

    Read through ``importlib.resources``; ``lifetimes.datasets`` itself is not imported
    because its import needs ``pkg_resources``, absent from new setuptools.
    """
    ref = resources.files("lifetimes") / "datasets" / name
    path = Path(str(ref))
    if not path.exists():
        raise FileNotFoundError(
            f"{name} is not shipped in the installed lifetimes package ({path}); "
            "reinstall lifetimes>=0.11.3"
        )
    return path
