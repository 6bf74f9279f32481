"""The cleaning page's tables and the quarantine as a reader sees it.

Display-table builders return frames with canonical columns (``kit/core/columns/clean.yml``);
the one table function (:func:`kit.present.table.table`, ``ctx.table``) labels, formats,
escapes and masks them. Quarantine reasons and details are rendered in the report
language through the catalogue (``kit/present/messages/clean.yml``): the stage stores a
reason code and a structured detail (``detail_code``, ``detail_params``), never a sentence.

With ``mask_pii`` the raw source row kept in ``original`` has the fields that map to a PII
column (customer name, contact person, phone: the table's header mapping says which source
header is which) masked, and so have the detail parameters with a PII role.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import pandas as pd

from kit.core import registry
from kit.present.messages import label, text
from kit.present.privacy import mask_name, mask_phone
from kit.stages.clean import AMOUNT_COLUMN, CleanResult

#: Placeholders of a detail that name a source field (shown through ``label.clean_field``).
_FIELD_PARAMS = ("column",)


# --------------------------------------------------------------------------------------
# Labels and details in the report language
# --------------------------------------------------------------------------------------


def reason_label(code: str, lang: str) -> str:
    """The report-language label of a reason code (the code itself when unknown)."""
    return label("quarantine_reason", code, lang)


def table_label(table: str, lang: str) -> str:
    """The report-language name of a cleaned table (``transactions``, ``customers``, ``interactions``)."""
    return label("clean_table", table, lang)


def detail_text(code: Any, params: Any, lang: str) -> str:
    """A quarantined row's detail in ``lang``: the message ``clean.detail.<code>`` filled
    from ``params`` (the JSON object of ``detail_params``); empty when there is none."""
    if not isinstance(code, str) or not code:
        return ""
    values = json.loads(params) if isinstance(params, str) and params else {}
    for key in _FIELD_PARAMS:
        if key in values:
            values[key] = label("clean_field", values[key], lang)
    for key, v in values.items():  # row lists (an order conflict's other rows): "3, 7, 12"
        if isinstance(v, list):
            more = " …" if key == "rows" and values.get("n_rows", 0) - 1 > len(v) else ""
            values[key] = ", ".join(map(str, v)) + more if v else "—"
    return text(f"clean.detail.{code}", lang, **values)


def details(quarantine: pd.DataFrame, lang: str) -> pd.Series:
    """The detail of every quarantined row in ``lang`` (rendered once per distinct detail)."""
    if quarantine.empty:
        return pd.Series([], dtype="str", index=quarantine.index)
    keys = list(zip(quarantine["detail_code"], quarantine["detail_params"]))
    rendered = {k: detail_text(k[0], k[1], lang) for k in set(keys)}
    return pd.Series([rendered[k] for k in keys], index=quarantine.index, dtype="str")


# --------------------------------------------------------------------------------------
# Masking the raw rows
# --------------------------------------------------------------------------------------


def _masker(role: str | None):
    if role in ("name", "person"):
        return mask_name
    if role == "phone":
        return mask_phone
    return None


def mask_original(original: Any, mapping: Mapping[str, str]) -> Any:
    """A raw source row (JSON object, header: value) with the values of the headers that
    ``mapping`` (canonical column -> source header) maps to a PII column masked."""
    if not isinstance(original, str) or not original:
        return original
    values = json.loads(original)
    for canon, header in mapping.items():
        masker = _masker(registry.pii_role(canon))
        if masker is not None and header in values and values[header]:
            values[header] = masker(values[header])
    return json.dumps(values, ensure_ascii=False)


def mask_params(params: Any) -> Any:
    """``detail_params`` with the parameters of a PII role (e.g. a test account's ``name``) masked."""
    if not isinstance(params, str) or not params:
        return params
    values = json.loads(params)
    masked = {k: (m(v) if (m := _masker(registry.pii_role(k))) is not None and v else v) for k, v in values.items()}
    return json.dumps(masked, ensure_ascii=False, sort_keys=True) if masked != values else params


def masked_rows(frame: pd.DataFrame, mappings: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """A quarantine or merged frame with its raw rows (``original``) and detail parameters
    masked; ``mappings`` is :attr:`CleanResult.mapping` (per table)."""
    out = frame.copy()
    if "original" in out.columns:
        out["original"] = [mask_original(o, mappings.get(t, {})) for t, o in zip(out["table"], out["original"])]
    if "detail_params" in out.columns:
        out["detail_params"] = out["detail_params"].map(mask_params)
    return out


def quarantine_file(result: CleanResult, lang: str, *, mask_pii: bool = False) -> pd.DataFrame:
    """The frame written to ``quarantine.csv``: every quarantined row with its reason label
    and detail in ``lang`` beside the stored codes; raw rows masked with ``mask_pii``."""
    q = masked_rows(result.quarantine, result.mapping) if mask_pii else result.quarantine.copy()
    q.insert(q.columns.get_loc("reason") + 1, "reason_label", q["reason"].map(lambda r: reason_label(r, lang)))
    q.insert(q.columns.get_loc("reason_label") + 1, "detail", details(q, lang))
    return q


def merged_file(result: CleanResult, *, mask_pii: bool = False) -> pd.DataFrame:
    """The frame written to ``merged.csv`` (netted refunds); raw rows masked with ``mask_pii``."""
    return masked_rows(result.merged, result.mapping) if mask_pii else result.merged


# --------------------------------------------------------------------------------------
# Display tables (canonical columns)
# --------------------------------------------------------------------------------------

_BOOK_COLUMNS = ["source_rows", "clean_rows", "quarantined_rows", "merged_rows", "balanced", "source_amount",
                 "clean_amount", "quarantined_amount", "merged_amount", "clean_net_amount"]


def reconciliation_table(result: CleanResult) -> pd.DataFrame:
    """One row per table: rows and amounts in, clean, quarantined, merged; balanced."""
    rows = [{"table": t, **{c: b.get(c) for c in _BOOK_COLUMNS}} for t, b in result.quality["reconciliation"].items()]
    df = pd.DataFrame(rows, columns=["table", *_BOOK_COLUMNS])
    money = _BOOK_COLUMNS[5:]
    df[money] = df[money].astype("float64")
    df["balanced"] = df["balanced"].astype(bool)
    return df


def quarantine_summary(result: CleanResult) -> pd.DataFrame:
    """Quarantined rows and amounts by table and reason, with the share of source rows."""
    q = result.quarantine
    cols = ["table", "reason", "reason_code", "quarantined_rows", "share_of_source_rows", "quarantined_amount"]
    if q.empty:
        return pd.DataFrame(columns=cols)
    g = q.groupby(["table", "reason"], sort=False).agg(rows=("source_row", "size"), amount=("amount", "sum"))
    g = g.reset_index()
    src = {t: b["source_rows"] for t, b in result.quality["reconciliation"].items()}
    order = {t: i for i, t in enumerate(src)}
    g["_o"] = g["table"].map(order)
    g = g.sort_values(["_o", "rows"], ascending=[True, False], kind="stable")
    amount = g["amount"].where(g["table"].isin(AMOUNT_COLUMN)).round(2)  # tables with money: orders, contracts
    return pd.DataFrame({
        "table": g["table"].to_numpy(),
        "reason": g["reason"].to_numpy(),
        "reason_code": g["reason"].to_numpy(),
        "quarantined_rows": g["rows"].astype("int64").to_numpy(),
        "share_of_source_rows": (g["rows"] / g["table"].map(src)).to_numpy(),
        "quarantined_amount": amount.astype("float64").to_numpy(),
    }, columns=cols)


def mapping_table(result: CleanResult) -> pd.DataFrame:
    """Source header -> canonical column per table, how it was found, and unused headers."""
    rows = []
    for t, cols in result.quality["mapping"].items():
        for canon, m in cols.items():
            rows.append((t, m["source"], canon, m["how"]))
        for h in result.quality["unmapped_headers"].get(t, []):
            rows.append((t, h, None, "unused"))
    return pd.DataFrame(rows, columns=["table", "source_header", "canonical_column", "mapping_how"])


def files_table(result: CleanResult) -> pd.DataFrame:
    """How each file was read: format, detected encoding, sheet, header row, rows."""
    rows = []
    for t, info in result.quality["files"].items():
        rows.append({
            "table": t, "source_file": info["path"], "source_format": info["format"],
            "source_encoding": info["encoding"], "source_sheet": info["sheet"],
            "header_row": info["header_row"], "data_rows": info["rows"],
            "blank_rows_skipped": info["blank_rows_skipped"],
        })
    df = pd.DataFrame(rows)
    df["header_row"] = df["header_row"].astype("Int64")
    return df


def _examples(d: dict[str, Any], n: int) -> str:
    ids = d["ids"][:n]
    return ", ".join(ids) + (" …" if d["count"] > len(ids) else "")


def coverage_table(result: CleanResult, examples: int = 5) -> pd.DataFrame:
    """Coverage between tables: what is missing where, with a few example ids."""
    cov = result.quality["coverage"]
    rows = [("transaction_customers", cov["transaction_customers"], "")]
    if "master_customers" in cov:
        o = cov["orders_without_master"]
        rows += [
            ("master_customers", cov["master_customers"], ""),
            ("orders_without_master_customers", o["customers"]["count"], _examples(o["customers"], examples)),
            ("orders_without_master_rows", o["rows"], ""),
            ("master_without_orders", cov["master_without_orders"]["count"],
             _examples(cov["master_without_orders"], examples)),
        ]
    if "interactions_unknown_customer" in cov:
        u = cov["interactions_unknown_customer"]
        rows += [
            ("interaction_customers", cov["interaction_customers"], ""),
            ("interactions_unknown_customer", u["rows"], _examples(u["customers"], examples)),
            ("customers_without_interactions", cov["customers_without_interactions"]["count"],
             _examples(cov["customers_without_interactions"], examples)),
        ]
    for table in ("subscription", "usage"):
        if f"{table}_unknown_customer" in cov:
            u = cov[f"{table}_unknown_customer"]
            rows += [(f"{table}_customers", cov[f"{table}_customers"], ""),
                     (f"{table}_unknown_customer", u["rows"], _examples(u["customers"], examples))]
    return pd.DataFrame(rows, columns=["coverage_measure", "coverage_count", "coverage_examples"])


def quarantine_samples(result: CleanResult, n: int, lang: str, *, mask_pii: bool = False) -> pd.DataFrame:
    """The first ``n`` quarantined rows of each table and reason, with their detail in
    ``lang`` and their original values (masked with ``mask_pii``, see :func:`mask_original`)."""
    q = result.quarantine
    cols = ["table", "reason", "source_file", "source_row", "detail", "original"]
    if q.empty:
        return pd.DataFrame(columns=cols)
    s = q.sort_values(["table", "reason", "source_row"], kind="stable").groupby(["table", "reason"]).head(n)
    if mask_pii:
        s = masked_rows(s, result.mapping)
    return pd.DataFrame({
        "table": s["table"].to_numpy(),
        "reason": s["reason"].to_numpy(),
        "source_file": s["source_file"].to_numpy(),
        "source_row": s["source_row"].astype("str").to_numpy(),
        "detail": details(s, lang).to_numpy(),
        "original": s["original"].to_numpy(),
    }, columns=cols)


#: Columns of a sample table beside the source file's own (see :func:`quarantine_sample_tables`).
_SAMPLE_COLUMNS = ("reason", "source_row", "detail")


def _source_fields(original: Any) -> dict[str, Any]:
    """The fields of a raw source row (``original``: a JSON object, header: value)."""
    if not isinstance(original, str) or not original:
        return {}
    values = json.loads(original)
    return values if isinstance(values, dict) else {}


def _source_frame(rows: list[dict[str, Any]], lang: str) -> tuple[pd.DataFrame, list[str]]:
    """The source fields as columns in the file's order (first seen); a header that is also
    one of :data:`_SAMPLE_COLUMNS` is shown as ``source column: <header>``."""
    headers = list(dict.fromkeys(h for r in rows for h in r))
    names = [text("clean.samples_source_column", lang, header=h) if h in _SAMPLE_COLUMNS else h for h in headers]
    data = {name: [None if r.get(h) is None else str(r[h]) for r in rows] for name, h in zip(names, headers)}
    return pd.DataFrame(data, columns=names), names


def quarantine_sample_tables(result: CleanResult, n: int, lang: str, *,
                             mask_pii: bool = False) -> dict[str, pd.DataFrame]:
    """The first ``n`` quarantined rows of each reason, one frame per source table: the
    reason, the row number in the file and the detail in ``lang``, then the row's fields as
    columns under the file's own headers, as read (raw text; with ``mask_pii`` the fields of
    a PII column masked, see :func:`mask_original`).

    Each frame's ``attrs``: ``source_columns`` (show them as they are:
    ``ctx.table(t, verbatim=t.attrs["source_columns"])``), ``caption`` (the table and its
    file, in ``lang``).
    """
    q = result.quarantine
    if q.empty:
        return {}
    s = q.sort_values(["table", "reason", "source_row"], kind="stable").groupby(["table", "reason"]).head(n)
    if mask_pii:
        s = masked_rows(s, result.mapping)
    out = {}
    order = list(result.quality.get("reconciliation", {})) if result.quality else []
    for t in sorted(s["table"].unique(), key=lambda t: (order.index(t) if t in order else len(order), t)):
        part = s[s["table"] == t]
        fields, names = _source_frame([_source_fields(o) for o in part["original"]], lang)
        frame = pd.concat([pd.DataFrame({
            "reason": part["reason"].to_numpy(),
            "source_row": part["source_row"].astype("str").to_numpy(),
            "detail": details(part, lang).to_numpy(),
        }), fields], axis=1)
        files = ", ".join(dict.fromkeys(str(f) for f in part["source_file"]))
        frame.attrs = {"source_columns": names,
                       "caption": text("clean.samples_caption", lang, table=table_label(t, lang), file=files)}
        out[t] = frame
    return out
