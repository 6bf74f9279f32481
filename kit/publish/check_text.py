"""The human-readable form of ``kit check``: a short table per input, in the report language.

:func:`render` turns the facts of :func:`kit.publish.preflight.check_inputs` into lines of
text; every word comes from the message catalogue (``kit/present/messages/cli.yml``).
Errors quote kit.io / kit.core messages as they are (one English line each).
"""
from __future__ import annotations

import unicodedata
from typing import Any

from kit.core.notes import Note
from kit.present import messages

#: Width of the text column of a table (the label column is as wide as its widest label).
WIDTH = 100


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap(parts: list[str], width: int, sep: str = " · ") -> list[str]:
    lines, cur = [], ""
    for p in parts:
        cand = p if not cur else cur + sep + p
        if cur and _width(cand) > width:
            lines.append(cur)
            cur = p
        else:
            cur = cand
    return lines + ([cur] if cur else [])


def table(rows: list[tuple[str, list[str]]], indent: str = "  ") -> list[str]:
    """Rows of (label, value parts) as aligned text; long values wrap under their column."""
    left = max((_width(label) for label, _ in rows), default=0)
    out = []
    for label, parts in rows:
        pad = " " * (left - _width(label))
        lines = _wrap(parts, WIDTH) or [""]
        out.append(f"{indent}{label}{pad}  {lines[0]}")
        out += [f"{indent}{' ' * left}  {line}" for line in lines[1:]]
    return out


def _money(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def _read_parts(entry: dict[str, Any], lang: str) -> list[str]:
    parts = [messages.text("cli.check.read.format", lang, format=entry["format"])]
    if entry.get("encoding"):
        parts.append(messages.text("cli.check.read.encoding", lang, encoding=entry["encoding"]))
    if entry.get("delimiter"):
        shown = {"\t": "\\t", " ": "' '"}.get(entry["delimiter"], entry["delimiter"])
        parts.append(messages.text("cli.check.read.delimiter", lang, delimiter=shown))
    if entry.get("sheet"):
        parts.append(messages.text("cli.check.read.sheet", lang, sheet=entry["sheet"]))
    if entry.get("header_row"):
        parts.append(messages.text("cli.check.read.header_row", lang, row=entry["header_row"]))
    parts.append(messages.text("cli.check.read.rows", lang, rows=entry["rows"]))
    return parts


def _reading_rows(entry: dict[str, Any], lang: str) -> list[tuple[str, list[str]]]:
    """How kit.io decided to read numbers and dates, and which copy of a repeated header is used."""
    readings = entry.get("readings") or {}
    parts = [messages.text("cli.check.reading_number", lang, column=c, decimal=repr(r["decimal"]),
                           thousands=repr(r["thousands"]) if r["thousands"] else "–")
             for c, r in (readings.get("numbers") or {}).items()
             if r["decimal"] == "," or r["how"] in ("file", "configured")]  # the unusual readings only
    parts += [messages.text("cli.check.reading_dayfirst" if r["dayfirst"] else "cli.check.reading_monthfirst",
                            lang, column=c) for c, r in (readings.get("dates") or {}).items() if r["how"] != "default"]
    rows = [(messages.text("cli.check.row.readings", lang), parts)] if parts else []
    dups = [messages.text("cli.check.duplicate", lang, header=h, copies=d["copies"], used=d["used"] or "–",
                          column=d["canonical"] or "–")
            for h, d in (entry.get("duplicate_headers") or {}).items()]
    if dups:
        rows.append((messages.text("cli.check.row.duplicates", lang), dups))
    return rows


def _missing_parts(entry: dict[str, Any], lang: str) -> list[str]:
    out = []
    for m in entry["missing"]:
        name = m["column"] + (f" ({messages.text('cli.check.required', lang)})" if m["required"] else "")
        near = ", ".join(n["header"] for n in m["nearest"])
        out.append(messages.text("cli.check.nearest", lang, column=name, nearest=near) if near else name)
    return out or [messages.text("cli.check.none", lang)]


def _parse_rows(entry: dict[str, Any], lang: str) -> list[tuple[str, list[str]]]:
    """A row per column with cells that fail (or no cell at all); one row for the others."""
    parsed = entry.get("parse", [])
    clean = [p["column"] for p in parsed if p["cells"] and p["parsed"] == p["cells"]]
    rows = [(messages.text("cli.check.row.all_parse", lang), clean)] if clean else []
    for p in parsed:
        if p["column"] in clean:
            continue
        if not p["cells"]:
            rows.append((p["column"], [messages.text("cli.check.parsed_none", lang, header=p["header"])]))
            continue
        parts = [messages.text("cli.check.parsed", lang, header=p["header"], rate=p["rate"], cells=p["cells"])]
        if p["failures"]:
            ex = ", ".join(messages.text("cli.check.failure", lang, row=f["row"], value=repr(f["value"])) for f in p["failures"])
            parts.append(messages.text("cli.check.failures", lang, examples=ex))
        rows.append((p["column"], parts))
    return rows


def input_table(entry: dict[str, Any], facts: dict[str, Any], lang: str) -> list[str]:
    """The lines of one input: how it was read, its mapping, parse rates, dates, thresholds."""
    lines = [messages.text("cli.check.input", lang, table=entry["table"], path=entry.get("path", ""))]
    rows: list[tuple[str, list[str]]] = []
    if "format" in entry:
        rows.append((messages.text("cli.check.row.read", lang), _read_parts(entry, lang)))
        rows += _reading_rows(entry, lang)
        rows.append((messages.text("cli.check.row.mapped", lang),
                     [f"{m['column']} ← {m['header']}" for m in entry["mapping"]]))
        rows.append((messages.text("cli.check.row.unmapped", lang), entry["unmapped"] or [messages.text("cli.check.none", lang)]))
        rows.append((messages.text("cli.check.row.missing", lang), _missing_parts(entry, lang)))
        s = entry["sample"]
        rows.append((messages.text("cli.check.row.sample", lang),
                     [messages.text("cli.check.sample_whole", lang, rows=s["of"]) if s["whole_file"]
                      else messages.text("cli.check.sample_part", lang, rows=s["rows"], of=s["of"])]))
        rows += _parse_rows(entry, lang)
    if entry.get("dates"):
        d = entry["dates"]
        shown = (messages.text("cli.check.dates", lang, first=d["first"], last=d["last"], as_of=facts["as_of"] or "–")
                 if d["first"] else messages.text("cli.check.no_dates", lang))
        rows.append((messages.text("cli.check.row.dates", lang), [shown]))
    if entry.get("billing_period"):
        rows.append((messages.text("cli.check.row.billing_period", lang), [billing_text(entry["billing_period"], lang)]))
    if entry["table"] == "transactions" and facts.get("thresholds"):
        rows += threshold_rows(facts["thresholds"], lang)
    return lines + table(rows)


def billing_text(bp: dict[str, Any], lang: str) -> str:
    """How a subscriptions file's billing period is known: its column, the amount's header,
    the config's default, or not at all."""
    how = bp["how"]
    if how == "none":
        return messages.text("cli.check.billing_none", lang)
    period = messages.label("billing_period", bp["period"], lang) if bp.get("period") else ""
    return messages.text(f"cli.check.billing_{how}", lang, header=bp.get("header") or "", period=period)


def threshold_rows(th: dict[str, Any], lang: str) -> list[tuple[str, list[str]]]:
    """How value_tiers and abc split the customers, and on what basis."""
    def classes(vocab: str, split: list[dict[str, Any]]) -> list[str]:
        out = []
        for c in split:
            label = messages.label(vocab, c["class"], lang)
            share = c["share"] or 0.0
            if c["min"] is None:
                out.append(messages.text("cli.check.tier_rest", lang, label=label, n=c["customers"], share=share))
            else:
                out.append(messages.text("cli.check.tier", lang, label=label, min=_money(c["min"]),
                              n=c["customers"], share=share))
        return out

    where = (messages.text("cli.check.basis_whole", lang) if th["basis"] == "whole file"
             else messages.text("cli.check.basis_sample", lang, rows=th["rows"]))
    basis = [messages.text("cli.check.basis", lang, start=th["window"][0], end=th["window"][1], currency=th["currency"],
                customers=th["customers"], where=where)]
    abc = classes("abc_class", th["abc"])
    if th["abc_conditions"]:
        abc.append(messages.text("cli.check.abc_conditions", lang))
    return [
        (messages.text("cli.check.row.value_tiers", lang), classes("value_tier", th["value_tiers"])),
        (messages.text("cli.check.row.abc", lang), abc),
        (messages.text("cli.check.row.basis", lang), basis),
    ]


def render(facts: dict[str, Any], lang: str) -> str:
    """The whole ``kit check`` text: header, a table per input, warnings and the verdict."""
    as_of_from = messages.text("cli.check.as_of_config" if facts["as_of_from"] == "config" else "cli.check.as_of_latest", lang)
    lines = [
        messages.text("cli.check.title", lang, config=facts["config"]),
        messages.text("cli.check.header", lang, client=facts["client"], as_of=facts["as_of"] or "–",
           as_of_from=as_of_from, period=facts["period"], currency=facts["currency"]),
        messages.text("cli.check.currency_note", lang, currency=facts["currency"]),
    ]
    for entry in facts["inputs"]:
        lines += [""] + input_table(entry, facts, lang)
    warnings = facts["warnings"] + ((facts.get("thresholds") or {}).get("concentrated") or [])
    if warnings:
        lines += ["", messages.text("cli.check.warnings_title", lang)]
        lines += [f"  - {messages.render(Note.from_dict(w), lang)}" for w in warnings]
    lines.append("")
    if facts["errors"]:
        lines.append(messages.text("cli.check.failed", lang, n=len(facts["errors"])))
        lines += [f"  - {e}" for e in facts["errors"]]
    else:
        lines.append(messages.text("cli.check.ok", lang))
    return "\n".join(lines)
