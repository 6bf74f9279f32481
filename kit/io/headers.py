"""Headers of client exports: synonyms, the header row below title rows, the column mapping.

:func:`map_columns` maps the canonical column names (``kit.core.config.CANONICAL_COLUMNS``)
to a file's headers, configured or recognised through :data:`SYNONYMS`;
:func:`find_header_row` finds the header among the first rows; :func:`unique_headers`
gives empty and repeated headers usable names.
"""
from __future__ import annotations

import difflib
import re
import unicodedata

from kit.core.config import CANONICAL_COLUMNS
from kit.core.config import SYNONYMS as _SYNONYMS
from kit.io.formats import SOURCE_ROW, InputError

#: Common source headers per canonical column, in order of preference (first wins), read
#: from ``kit/core/defaults/columns.yml`` through :mod:`kit.core.config` (one place).
#: Headers are compared after :func:`header_key` (NFKC, case, spaces, ``_ - .`` removed),
#: and also with a parenthesised unit removed (``年营收(万元)`` matches ``年营收``).
SYNONYMS: dict[str, dict[str, list[str]]] = _SYNONYMS


def header_key(header: object) -> str:
    """The form headers are compared in: NFKC, lower case, no spaces, ``_``, ``-`` or ``.``."""
    text = unicodedata.normalize("NFKC", str(header)).lower()
    return re.sub(r"[\s_\-.:：]+", "", text)


def _header_keys(header: object) -> set[str]:
    key = header_key(header)
    no_unit = re.sub(r"\(.*?\)|\[.*?\]", "", key)
    return {key, no_unit} - {""}


def synonym_collisions(synonyms: dict[str, dict[str, list[str]]] | None = None) -> list[str]:
    """Headers that would map to two canonical columns of one table (compared as
    :func:`header_key` does), as ``"table: 'header' -> a, b"``; empty when there is none."""
    out = []
    for table, columns in (SYNONYMS if synonyms is None else synonyms).items():
        owners: dict[str, set[str]] = {}
        for canon, syns in columns.items():
            for s in syns:
                owners.setdefault(header_key(s), set()).add(canon)
        out += [f"{table}: {k!r} -> {', '.join(sorted(c))}" for k, c in owners.items() if len(c) > 1]
    return out


def unique_headers(headers) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        h = unicodedata.normalize("NFKC", str(h)).strip() if h is not None else ""
        if h == "" or h.startswith("Unnamed:"):
            h = f"column_{i + 1}"
        if h == SOURCE_ROW:
            h = f"{SOURCE_ROW} (source)"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        out.append(h)
    return out


def find_header_row(rows: list[list[str]], table: str, configured: dict[str, str] | None = None) -> int:
    """0-based index of the header among the first rows (title rows above it are skipped).

    The header is the first row with the most cells that name a known column (a synonym of
    ``table`` or a configured source header); when no row names any, the first row with
    as many filled cells as the widest row.
    """
    known: set[str] = set()
    for syns in SYNONYMS.get(table, {}).values():
        for s in syns:
            known |= _header_keys(s)
    for src in (configured or {}).values():
        known |= _header_keys(src)
    best_idx, best_hits = 0, 0
    filled = []
    for i, row in enumerate(rows):
        cells = [c for c in row if str(c).strip() != ""]
        filled.append(len(cells))
        hits = sum(1 for c in cells if _header_keys(c) & known)
        if hits > best_hits:
            best_idx, best_hits = i, hits
    if best_hits > 0:
        return best_idx
    if not filled or max(filled) == 0:
        return 0
    return next(i for i, n in enumerate(filled) if n == max(filled))


def map_columns(
    headers: list[str],
    table: str,
    configured: dict[str, str],
    *,
    source: str = "",
) -> tuple[dict[str, str], dict[str, str]]:
    """Map canonical names to source headers: ``(mapping, how)``.

    Configured names come first and must exist in the file; the other canonical names are
    matched by :data:`SYNONYMS` (a header is used once). A configured header the file lacks,
    an unknown canonical name, or a missing required column raises :class:`InputError`
    with the headers found and the nearest matches.
    """
    spec = CANONICAL_COLUMNS[table]
    allowed = spec["required"] + spec["optional"]
    mapping: dict[str, str] = {}
    how: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for h in headers:
        for k in _header_keys(h):
            by_key.setdefault(k, h)
    for canon, src in configured.items():
        if canon not in allowed:
            near = difflib.get_close_matches(canon, allowed, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise InputError(
                f"{source}: inputs.{table}.columns names {canon!r}, which is not a canonical "
                f"{table} column{hint}; allowed: {', '.join(allowed)}"
            )
        if src in headers:
            found = src
        else:
            found = next((by_key[k] for k in _header_keys(src) if k in by_key), None)
        if found is None:
            raise InputError(
                f"{source}: inputs.{table}.columns.{canon} names the header {src!r}, which the "
                f"file lacks. Headers found: {_preview(headers)}. "
                f"{_nearest_text(headers, [src])}Fix: correct the header in the config"
            )
        mapping[canon] = found
        how[canon] = "configured"
    used = set(mapping.values())
    for canon in allowed:
        if canon in mapping:
            continue
        for syn in SYNONYMS[table].get(canon, []):
            hit = next((by_key[k] for k in _header_keys(syn) if k in by_key and by_key[k] not in used), None)
            if hit is not None:
                mapping[canon] = hit
                how[canon] = "synonym"
                used.add(hit)
                break
    missing = [c for c in spec["required"] if c not in mapping]
    if missing:
        parts = []
        for canon in missing:
            cands = [h for h in headers if h not in used]
            parts.append(
                f"required column {canon!r} not found. "
                f"{_nearest_text(cands, SYNONYMS[table].get(canon, []) + [canon])}"
            )
        example = ", ".join(f'{c}: "<header>"' for c in missing)
        raise InputError(
            f"{source}: {table}: " + " ".join(parts)
            + f"Headers found: {_preview(headers)}. "
            + f"Fix: map it in the config, e.g. inputs.{table}.columns: {{{example}}}"
        )
    ordered = {c: mapping[c] for c in allowed if c in mapping}
    return ordered, {c: how[c] for c in ordered}


def nearest_headers(headers: list[str], wanted: list[str], n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` headers most similar to any of ``wanted`` (difflib ratio), best first."""
    scored = []
    wanted_keys = [header_key(w) for w in wanted]
    for h in headers:
        hk = header_key(h)
        score = max((difflib.SequenceMatcher(None, hk, w).ratio() for w in wanted_keys), default=0.0)
        scored.append((h, round(score, 2)))
    scored.sort(key=lambda t: -t[1])
    return [t for t in scored[:n] if t[1] > 0.2]


def _nearest_text(headers: list[str], wanted: list[str]) -> str:
    near = nearest_headers(headers, wanted)
    if not near:
        return "No similar header. "
    return "Nearest: " + ", ".join(f"{h!r} ({s:.2f})" for h, s in near) + ". "


def _preview(headers: list[str], n: int = 30) -> str:
    shown = ", ".join(repr(h) for h in headers[:n])
    return shown + (f", ... ({len(headers)} in all)" if len(headers) > n else "")
