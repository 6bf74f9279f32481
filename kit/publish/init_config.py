"""``kit init``: a commented config for a new client, written from its export files.

:func:`init_config` reads each file with :mod:`kit.io` (the run's reader), so the config
names what was detected: format, encoding, delimiter, sheet and header row per input, and
the headers mapped by synonyms (``kit/core/defaults/columns.yml``); headers left unmapped
and optional columns not found are listed as comments. The money thresholds
(``layering.value_tiers``, ``layering.abc``) are PROPOSED from the data's own distribution
(:data:`PROPOSAL_PERCENTILES` of the yearly amount per customer, two significant digits)
and marked ``# proposal from the data: review``. Input paths are written relative to the
config file's folder, as the loader reads them. The text is validated as a config before it
is written; an existing file is kept unless ``force``.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from kit.core.config import CANONICAL_COLUMNS, InputTable, default, parse_config
from kit.core.periods import add_months
from kit.io import InputError, RawTable, header_key, read_table
from kit.publish.context import resolve_as_of
from kit.publish.preflight import mapping_facts, yearly_amounts

#: The marker of a value ``kit init`` proposed from the data: a person must review it.
PROPOSAL_MARK = "proposal from the data: review"

#: Where each threshold is proposed: the percentile of the yearly amount per customer (over
#: the customers with a positive amount in the window). On the bundled demo data the brief's
#: defaults fall near these: high_min 500,000 at the 84th, medium_min 100,000 at the 51st,
#: a_min 5,000,000 at the 98th and b_min 1,000,000 at the 89th percentile.
PROPOSAL_PERCENTILES: dict[str, dict[str, int]] = {
    "value_tiers": {"high_min": 90, "medium_min": 60},
    "abc": {"a_min": 98, "b_min": 90},
}

#: The report's currency symbol for the common codes (``report.currency``); others: the code.
CURRENCY_SYMBOLS = {"CNY": "¥", "RMB": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}

#: Headers (as :func:`kit.io.header_key` compares them) that name a customer rather than an id.
NAME_KEYS = frozenset(header_key(h) for h in ("客户名称", "客户全称", "customer name", "account name", "client name"))

_TABLES = {"transactions": "transactions", "orders": "transactions", "customers": "customers",
           "interactions": "interactions"}
_CLIENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class InitError(ValueError):
    """``kit init`` cannot write the config; the message says why and what to do."""


def _q(value: Any) -> str:
    """A YAML scalar: a JSON string (valid YAML, quotes and escapes kept) or a number."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def round2(x: float) -> float:
    """``x`` to two significant digits (664,962 -> 660,000)."""
    if x <= 0 or not math.isfinite(x):
        return x
    digits = 1 - int(math.floor(math.log10(x)))
    return float(round(x, digits))


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def parse_mapping(items: list[str]) -> dict[str, dict[str, str]]:
    """``["transactions.amount=Betrag"]`` -> ``{"transactions": {"amount": "Betrag"}}``."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        m = re.match(r"^\s*(\w+)\.(\w+)\s*=\s*(.+?)\s*$", item)
        if not m or m.group(1) not in _TABLES:
            raise InitError(f"--map {item!r}: write TABLE.COLUMN=HEADER with TABLE one of "
                            "transactions, customers, interactions (e.g. transactions.amount=Betrag)")
        out.setdefault(_TABLES[m.group(1)], {})[m.group(2)] = m.group(3)
    return out


#: Keys of an input that ``kit init --set`` may give (the rest is detected or mapped).
SETTABLE = ("format", "encoding", "sheet", "header_row", "delimiter", "decimal", "thousands", "dayfirst")


def parse_settings(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["transactions.decimal=,"]`` -> ``{"transactions": {"decimal": ","}}`` (values read
    as YAML scalars: ``true``, ``3``; a lone ``,`` or ``.`` stays a string)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        m = re.match(r"^\s*(\w+)\.(\w+)\s*=(.*)$", item)
        if not m or m.group(1) not in _TABLES or m.group(2) not in SETTABLE:
            raise InitError(f"--set {item!r}: write TABLE.KEY=VALUE with TABLE one of transactions, "
                            f"customers, interactions and KEY one of {', '.join(SETTABLE)}")
        value = m.group(3)
        try:
            parsed = yaml.safe_load(value) if value.strip() not in (",", ".", "'", " ") else value
        except yaml.YAMLError:
            parsed = value
        out.setdefault(_TABLES[m.group(1)], {})[m.group(2)] = parsed if parsed is not None else value
    return out


def _read(table: str, spec: InputTable) -> RawTable:
    """Read one file as the run will; a failure says which ``kit init`` option settles it."""
    try:
        return read_table(spec, table)
    except InputError as e:
        msg = " ".join(str(e).split())
        key = re.search(rf"inputs\.{table}\.(\w+)", msg)
        if "required column" in msg:
            hint = f"; with kit init pass --map {table}.<column>=<header>"
        elif key and key.group(1) in SETTABLE:
            hint = f"; with kit init pass --set {table}.{key.group(1)}=<value>"
        else:
            hint = ""
        raise InputError(msg + hint) from None


def propose_thresholds(raw: RawTable, end: pd.Timestamp) -> dict[str, Any]:
    """Proposed money thresholds from the yearly amount per customer up to ``end``."""
    window = default("layering.value_tiers.window_months")
    per = yearly_amounts(raw, 0, end, window)
    per = per[per > 0]
    facts: dict[str, Any] = {"customers": int(len(per)), "window_months": window,
                             "start": (add_months(end, -window) + pd.Timedelta(days=1)).date().isoformat(),
                             "end": end.date().isoformat(), "values": {}}
    if per.empty:
        return facts
    for section, keys in PROPOSAL_PERCENTILES.items():
        (hi_key, hi_p), (lo_key, lo_p) = sorted(keys.items(), key=lambda kv: -kv[1])
        hi = max(round2(float(per.quantile(hi_p / 100))), 1.0)
        lo = max(round2(float(per.quantile(lo_p / 100))), 1.0)
        if lo >= hi:  # a flat distribution: keep the lower threshold below the upper one
            lo = round2(hi / 2)
        facts["values"][section] = {hi_key: (hi, hi_p), lo_key: (lo, lo_p)}
    return facts


def _input_lines(table: str, raw: RawTable, config_dir: Path, given: dict[str, Any]) -> list[str]:
    info, facts = raw.info(), mapping_facts(raw)

    def how(key: str) -> str:
        return "set with --set" if key in given else "detected"

    rel = os.path.relpath(raw.path.resolve(), config_dir)
    lines = [f"  {table}:",
             f"    path: {_q(Path(rel).as_posix())}    # relative to this file's folder",
             f"    format: {raw.format}    # {how('format')}"]
    if raw.format == "csv":
        lines.append(f"    encoding: {_q(raw.encoding)}    # {how('encoding')}")
        lines.append(f"    delimiter: {_q(raw.delimiter)}    # {how('delimiter')}")
    if raw.format == "excel":
        lines.append(f"    sheet: {_q(raw.sheet)}    # {how('sheet')}")
    if raw.header_row is not None:
        lines.append(f"    header_row: {raw.header_row}    # {how('header_row')} (0-based): the header is on "
                     f"{'row' if raw.format == 'excel' else 'line'} {info['header_row']}")
    lines += _reading_lines(info.get("readings") or {})
    lines.append("    columns:    # canonical column: the file's header")
    for m in facts["mapping"]:
        how = "configured with --map" if m["how"] == "configured" else "found by synonym"
        if m["column"] == "customer_id" and header_key(m["header"]) in NAME_KEYS:
            how += ": a name used as the key (the file has no id column); the master must use the same names"
        lines.append(f"      {m['column']}: {_q(m['header'])}    # {how}")
    missing = [m for m in facts["missing"] if not m["required"]]
    if missing:
        lines.append("      # optional columns the file does not seem to hold (map them if it does):")
        for m in missing:
            near = ", ".join(repr(n["header"]) for n in m["nearest"])
            lines.append(f"      # {m['column']}: \"\"" + (f"    (nearest header: {near})" if near else ""))
    if facts["unmapped"]:
        lines.append("    # headers of the file not mapped to a column: "
                     + ", ".join(_q(h) for h in facts["unmapped"]))
    return lines


def _reading_lines(readings: dict[str, Any]) -> list[str]:
    """``decimal`` and ``dayfirst`` as kit.io decided them from the values, when every
    column of the kind agrees (written, so the next export is read the same way)."""
    lines = []
    numbers = [r for r in (readings.get("numbers") or {}).values() if r["how"] != "default"]
    if numbers and len({r["decimal"] for r in numbers}) == 1:
        lines.append(f"    decimal: {_q(numbers[0]['decimal'])}    # {_why(numbers[0], 'values')}")
    dates = [r for r in (readings.get("dates") or {}).values() if r["how"] != "default"]
    if dates and len({r["dayfirst"] for r in dates}) == 1:
        lines.append(f"    dayfirst: {str(dates[0]['dayfirst']).lower()}    # {_why(dates[0], 'dates')}")
    return lines


def _why(reading: dict[str, Any], what: str) -> str:
    if reading["how"] == "configured":
        return "set with --set"
    if reading["how"] == "file" or not reading["examples"]:
        return "the reading of the file's other number columns"
    return f"detected from {what} such as " + ", ".join(repr(e) for e in reading["examples"][:3])


def _threshold_lines(prop: dict[str, Any], currency: str) -> list[str]:
    if not prop["values"]:
        return ["# layering: no customer has a positive yearly amount in "
                f"{prop['start']} .. {prop['end']}, so no threshold is proposed: the defaults apply"]
    lines = ["layering:",
             f"  # money thresholds in {currency}, from the yearly amount per customer of the "
             f"{prop['customers']:,} customers", f"  # with a purchase in {prop['start']} .. {prop['end']}"]
    for section, values in prop["values"].items():
        lines.append(f"  {section}:")
        for key, (value, pct) in values.items():
            lines.append(f"    {key}: {_number(value)}    # {PROPOSAL_MARK} ({pct}th percentile)")
    return lines


def render_config(client: str, raws: dict[str, RawTable], out: Path, *, currency: str, lang: str,
                  as_of_end: pd.Timestamp, proposals: dict[str, Any],
                  given: dict[str, dict[str, Any]] | None = None) -> str:
    """The commented YAML text of the new config."""
    head = [
        f"# Config of client {client}, written by `kit init` on {dt.date.today().isoformat()}.",
        f"# Review every value marked \"# {PROPOSAL_MARK}\", then run: kit check --config {out.name}",
        "# Keys not written here take the domain brief's defaults (kit check --show-config lists them all).",
        f"client: {_q(client)}",
        f"client_name: {_q(client)}    # the name shown in the report",
        f"language: {lang}    # report language: zh or en (kit run --lang overrides)",
        f"period: {default('period')}    # month or quarter",
        f"as_of: null    # null: the end of the period holding the latest order ({as_of_end.date()} for this data)",
        f"currency: {_q(currency)}    # every money value and threshold in this config is in this currency",
        "",
        "inputs:",
    ]
    body: list[str] = []
    for table, raw in raws.items():
        body += _input_lines(table, raw, out.parent, (given or {}).get(table, {}))
    tail = ["", *_threshold_lines(proposals, currency), "",
            "report:", f"  currency: {_q(CURRENCY_SYMBOLS.get(currency.upper(), currency))}    # symbol shown"]
    return "\n".join(head + body + tail) + "\n"


def init_config(
    client: str,
    files: dict[str, Path],
    out: Path,
    *,
    currency: str | None = None,
    lang: str | None = None,
    mapping: list[str] | None = None,
    settings_items: list[str] | None = None,
    force: bool = False,
) -> Path:
    """Read ``files`` (table -> path; ``transactions`` required), write the config ``out``
    and return its path. Raises :class:`InitError` or :class:`kit.io.InputError`."""
    if not _CLIENT.match(client):
        raise InitError(f"--client {client!r}: use letters, digits, '_', '-' and '.', not starting "
                        "with '.' or '-' (it names the run folder <out>/<client>/)")
    if out.exists() and not force:
        raise InitError(f"{out}: exists; pass --force to overwrite it, or --out another file")
    if out.suffix.lower() not in (".yml", ".yaml"):
        raise InitError(f"--out {out}: a config file ends in .yml")
    currency = (currency or default("currency")).strip().upper()
    lang = lang or default("language")
    configured = parse_mapping(mapping or [])
    settings = parse_settings(settings_items or [])
    specs, raws = {}, {}
    for table in CANONICAL_COLUMNS:
        if table in files:
            try:
                specs[table] = InputTable(path=str(files[table]), columns=configured.get(table, {}),
                                          **settings.get(table, {}))
            except ValidationError as e:
                err = e.errors()[0]
                where = ".".join(str(x) for x in err["loc"]) or "?"
                raise InitError(f"--set {table}.{where}: {err['msg']} (got {err.get('input')!r})") from None
            raws[table] = _read(table, specs[table])
    probe = parse_config({"client": client, "inputs": {"transactions": specs["transactions"].model_dump()}})
    end = resolve_as_of(probe)
    text = render_config(client, raws, out, currency=currency, lang=lang, as_of_end=end,
                         proposals=propose_thresholds(raws["transactions"], end), given=settings)
    parse_config(yaml.safe_load(text), out)  # never write a config that does not load
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
