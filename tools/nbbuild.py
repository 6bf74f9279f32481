"""Write a notebook from a compact cell list (used by developers, not at run time).

    python tools/nbbuild.py  # no-op; import and call write_notebook(path, cells)

Each cell is ("md" | "code", source, [tags]). The first code cell tagged ``parameters``
must hold typed, commented literals only. Outputs are never written.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PARAMETERS = '''config_path: str = ""  # YAML config; empty: $KIT_CONFIG, else configs/demo.yml
run_dir: str = ""  # run folder; empty: $KIT_RUN_DIR, else reports/_interactive
as_of: str = ""  # period end, YYYY-MM-DD; empty: the config's as_of
lang: str = ""  # report language, zh or en; empty: the config's language'''


def write_notebook(path: str | Path, cells: list[tuple]) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src, *rest in cells:
        tags = rest[0] if rest else []
        cell = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    # stable ids keep diffs small
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    path = Path(path)
    nbformat.write(nb, str(path))
    return path
