"""Progress of the long steps inside a stage: one line per step with rows and elapsed time.

A stage wraps its long steps in :func:`step`::

    with step("layering", "business features", rows=len(transactions)):
        features = business_features(...)

and the line ``layering: business features, 2,800,000 rows, 4.2 s`` goes to the logger
``kit.progress`` only: never into a notebook's output or a report page (the logger does not
propagate, and without a handler INFO lines are dropped). ``kit run`` gives the notebook's
kernel a file through ``$KIT_PROGRESS_FILE`` (:func:`log_to_file` attaches it) and prints
each new line while the notebook runs, so a ten-minute 05_strategy is no longer silent.
"""
from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: The environment variable naming the progress file of a run's kernel.
PROGRESS_ENV = "KIT_PROGRESS_FILE"

LOGGER = logging.getLogger("kit.progress")
LOGGER.setLevel(logging.INFO)
LOGGER.propagate = False


@contextmanager
def step(stage: str, name: str, rows: int | None = None) -> Iterator[None]:
    """Log ``<stage>: <name>[, <rows> rows], <seconds> s`` when the block ends."""
    t0 = time.perf_counter()
    yield
    seconds = time.perf_counter() - t0
    count = f", {rows:,} rows" if rows is not None else ""
    LOGGER.info("%s: %s%s, %.1f s", stage, name, count, seconds)


def log_to_file(path: str | Path | None = None) -> Path | None:
    """Send the progress lines to ``path`` (default ``$KIT_PROGRESS_FILE``; none: nothing)."""
    target = path or os.environ.get(PROGRESS_ENV)
    if not target:
        return None
    target = Path(target)
    if any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == target.resolve()
           for h in LOGGER.handlers):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOGGER.addHandler(handler)
    return target


def new_lines(path: Path, offset: int) -> tuple[list[str], int]:
    """The complete lines appended to ``path`` since byte ``offset``, and the new offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    return [x for x in data[:end].decode("utf-8", "replace").splitlines() if x], offset + end
