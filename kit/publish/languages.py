"""Both report languages from one computation.

A notebook computes in its setup cells (read, stage, write artifacts) and presents in the
cells that call the run context's display methods (``ctx.h2``, ``ctx.say``, ``ctx.table``,
``ctx.figure``, ``ctx.note``, ...). ``kit run --lang zh,en`` executes each notebook once:
before execution, :func:`with_language_twins` inserts after every presenting cell a twin
per further language, the same source between ``ctx.use_language("en")`` and
``ctx.use_language(None)``; the twin runs in the same kernel on the same computed objects,
so the pages of both languages show the same numbers. While a twin runs the context refuses
to write artifacts (a presenting cell that writes is a notebook defect, and the run says so).
After execution :func:`split_languages` gives one notebook per language: the computing cells
plus that language's presenting cells, read top to bottom in one language.

File names: the first language's pages keep their names (``index.html``, ``02_layering.html``,
``report.html``, ``executed/02_layering.ipynb``); another language's carry it before the
suffix (``index.en.html``): :func:`page_name`.
"""
from __future__ import annotations

import ast
import copy
from typing import Any, Sequence

#: The run-context methods and helpers whose call makes a cell a presenting cell.
PRESENTING = frozenset({"h1", "h2", "h3", "say", "table", "figure", "note", "notes_of",
                        "show_cards", "display"})
#: Tag of a twin cell: ``kit-lang-<lang>``.
TWIN_TAG = "kit-lang-"
PARAMETERS_TAG = "parameters"


def parse_languages(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"zh,en"`` / ``["zh", "en"]`` -> ``("zh", "en")``; duplicates dropped, order kept."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in (str(i).strip() for i in items):
        if item and item not in out:
            out.append(item)
    return tuple(out)


def page_name(name: str, lang: str, languages: Sequence[str]) -> str:
    """``index.html`` in the first language; ``index.en.html`` in another."""
    if not languages or lang == languages[0]:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{lang}.{suffix}" if dot else f"{name}.{lang}"


def presents(source: str) -> bool:
    """Whether a code cell calls a display method (``ctx.say(...)``, ``show_cards(...)``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in PRESENTING:
                return True
    return False


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _twin_lang(cell: dict[str, Any]) -> str | None:
    for t in _tags(cell):
        if t.startswith(TWIN_TAG):
            return t[len(TWIN_TAG):]
    return None


def with_language_twins(nb: dict[str, Any], languages: Sequence[str]) -> dict[str, Any]:
    """A copy of ``nb`` (nbformat JSON) with a twin after each presenting cell for every
    language but the first; one language: the notebook unchanged."""
    out = copy.deepcopy(nb)
    if len(languages) < 2:
        return out
    cells: list[dict[str, Any]] = []
    for cell in out["cells"]:
        cells.append(cell)
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") != "code" or PARAMETERS_TAG in _tags(cell) or not presents(source):
            continue
        for lang in languages[1:]:
            cells.append({
                "cell_type": "code", "execution_count": None, "outputs": [],
                **({"id": f"{cell['id']}-{lang}"[:64]} if "id" in cell else {}),
                "metadata": {"tags": [f"{TWIN_TAG}{lang}"]},
                "source": f"ctx.use_language({lang!r})\n{source}\nctx.use_language(None)\n",
            })
    out["cells"] = cells
    return out


def split_languages(nb: dict[str, Any], languages: Sequence[str]) -> dict[str, dict[str, Any]]:
    """One executed notebook per language from the executed notebook with twins."""
    cells = nb["cells"]
    # a cell's twins follow it directly
    has_twin = {i for i, c in enumerate(cells[:-1]) if _twin_lang(c) is None and _twin_lang(cells[i + 1])}
    out: dict[str, dict[str, Any]] = {}
    for k, lang in enumerate(languages):
        kept = []
        for i, cell in enumerate(cells):
            twin = _twin_lang(cell)
            if twin is not None:
                if twin == lang:
                    kept.append(_untwinned(cell))
            elif k == 0 or i not in has_twin:
                kept.append(copy.deepcopy(cell))
        one = copy.deepcopy({key: v for key, v in nb.items() if key != "cells"})
        one["cells"] = kept
        one.setdefault("metadata", {})["kit_language"] = lang
        out[lang] = one
    return out


def _untwinned(cell: dict[str, Any]) -> dict[str, Any]:
    """A twin as the reader of its language's notebook sees it: the cell's own source."""
    c = copy.deepcopy(cell)
    lines = "".join(c.get("source", "")).split("\n")
    if lines and lines[0].startswith("ctx.use_language("):
        lines = lines[1:]
    while lines and lines[-1] in ("", "ctx.use_language(None)"):
        lines.pop()
    c["source"] = "\n".join(lines)
    c["metadata"]["tags"] = [t for t in _tags(c) if not t.startswith(TWIN_TAG)]
    return c
