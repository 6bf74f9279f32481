"""nbval runs every notebook against the small fixture config, in order, into one run folder.

The notebooks read ``$KIT_CONFIG`` and ``$KIT_RUN_DIR`` when their parameters are empty
(see ``kit.publish.context.open_run``); the kernels nbval starts inherit this environment.
"""
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KIT_CONFIG", str(ROOT / "tests" / "fixtures" / "small.yml"))
os.environ.setdefault("KIT_RUN_DIR", tempfile.mkdtemp(prefix="kit-nbval-"))
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
