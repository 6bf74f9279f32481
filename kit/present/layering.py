"""Display tables of stage 02 (customer layering).

Each builder takes the spine (:func:`kit.stages.layering.layer`) and returns a frame with
canonical columns (``kit/core/columns/*.yml``), shown with ``ctx.table(...)``, which labels,
formats, escapes and masks them. Crosstabs (:func:`crosstab`, :func:`migration_matrix`)
carry labels in the report language as index and columns instead. Words come from the
catalogue (``kit/present/messages/layering.yml``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from kit.core import registry
from kit.core.config import DEFAULT_RFM_SEGMENTS, RfmSegmentRule
from kit.core.periods import period_label
from kit.present.messages import label, text
from kit.stages.features import months_back
from kit.stages.layering import RFM8_CLASSES, RFM8_MAP, migration_counts, weight_items

#: Trailing quarters shown in the upgrade table (1 = the quarter ending at as_of).
UPGRADE_QUARTERS = (3, 2, 1)


def distribution(customers: pd.DataFrame, column: str, *, order: Sequence[str] | None = None,
                 amount_col: str = "amount_12m") -> pd.DataFrame:
    """Customers and trailing-year amount per value of ``column``, with shares.

    Parameters
    ----------
    customers : DataFrame
        The spine.
    column : str
        A layer column (``value_tier``, ``quadrant``, ``churn_risk``, ``rfm_segment`` ...);
        the first column of the result, holding the keys (the table labels them by the
        column's registered vocabulary).
    order : sequence of str, optional
        Row order of the keys (missing keys shown with 0); default: by customers.

    Returns
    -------
    DataFrame
        ``<column>, n_customers, customer_share, amount_12m, amount_share``.
    """
    key = customers[column].astype("str").fillna("–")
    amt = customers[amount_col].astype(float)
    g = pd.DataFrame({"k": key, "a": amt}).groupby("k").agg(n=("a", "size"), a=("a", "sum"))
    if order is not None:
        g = g.reindex([*order, *[k for k in g.index if k not in order]], fill_value=0)
    else:
        g = g.sort_values("n", ascending=False)
    n_tot, a_tot = g["n"].sum(), g["a"].sum()
    return pd.DataFrame({
        column: g.index.to_numpy(dtype=object),
        "n_customers": g["n"].astype("int64").to_numpy(),
        "customer_share": (g["n"] / n_tot).to_numpy() if n_tot else 0.0,
        "amount_12m": g["a"].to_numpy(),
        "amount_share": (g["a"] / a_tot).to_numpy() if a_tot else 0.0,
    })


def segment_labels(rules: Sequence[RfmSegmentRule] | None, lang: str) -> dict[str, str]:
    """RFM segment names -> the config's labels in ``lang`` (``value_labels`` of the table)."""
    rules = list(DEFAULT_RFM_SEGMENTS if rules is None else rules)
    labels = {r.name: r.label(lang) for r in rules}
    labels["Unclassified"] = text("layering.unclassified", lang)
    return labels


def segment_table(customers: pd.DataFrame, rules: Sequence[RfmSegmentRule] | None = None) -> pd.DataFrame:
    """RFM segment sizes with their share of the trailing-year amount, in the rule order
    (labels: :func:`segment_labels`)."""
    rules = list(DEFAULT_RFM_SEGMENTS if rules is None else rules)
    return distribution(customers, "rfm_segment", order=[r.name for r in rules])


def rfm_score_counts(customers: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """Customers per score 1 .. ``bins`` of R, F and M (a score nobody has: 0), for
    :func:`kit.present.plots.layering.plot_rfm_scores`; index ``score``, columns
    ``rfm_r, rfm_f, rfm_m``."""
    scores = pd.Index(range(1, bins + 1), name="score")
    return pd.DataFrame({c: customers[c].value_counts().reindex(scores, fill_value=0).astype("int64")
                         for c in ("rfm_r", "rfm_f", "rfm_m")}, index=scores)


def rfm8_table(customers: pd.DataFrame) -> pd.DataFrame:
    """The 8 classes with R/F/M levels, customers, amount and the recommended focus."""
    table = distribution(customers, "rfm8_class", order=RFM8_CLASSES)
    keys = table["rfm8_class"].tolist()
    levels = {v: k for k, v in RFM8_MAP.items()}
    for i, letter in enumerate("rfm"):
        table.insert(1 + i, f"rfm8_{letter}",
                     [("high" if levels[k][i] else "low") if k in levels else None for k in keys])
    table["rfm8_focus"] = [k if k in levels else None for k in keys]
    return table


def _key_label(vocabulary: str, key: str, lang: str) -> str:
    return text("layering.unknown", lang) if key == "–" else label(vocabulary, key, lang)


def crosstab(customers: pd.DataFrame, row: str, col: str, lang: str, *,
             row_order: Sequence[str] | None = None, col_order: Sequence[str] | None = None,
             row_vocabulary: str | None = None, col_vocabulary: str | None = None) -> pd.DataFrame:
    """Customers by two layer columns, keys labelled in ``lang`` (a missing value: unknown);
    the index is named after ``row``'s header. Show with ``ctx.table(..., index=True)``."""
    r = customers[row].astype("str").fillna("–")
    c = customers[col].astype("str").fillna("–")
    m = pd.crosstab(r, c)
    rows = [*(row_order or []), *[k for k in m.index if k not in (row_order or [])]]
    cols = [*(col_order or []), *[k for k in m.columns if k not in (col_order or [])]]
    m = m.reindex(index=rows, columns=cols, fill_value=0).astype("int64")
    m.index = pd.Index([_key_label(row_vocabulary or row, k, lang) for k in m.index],
                       name=_header(row, lang))
    m.columns = pd.Index([_key_label(col_vocabulary or col, k, lang) for k in m.columns],
                         name=_header(col, lang))
    return m


def _header(column: str, lang: str) -> str:
    c = registry.column(column)
    return c.label(lang) if c else column


def migration_matrix(customers: pd.DataFrame, *, value: str = "count", lang: str,
                     by: str = "value_tier") -> pd.DataFrame:
    """:func:`kit.stages.layering.migration_counts` with its keys labelled in ``lang``:
    rows named "previous period", columns "this period"."""
    m = migration_counts(customers, value, by=by).copy()
    vocab = {"new": "tier_change", "lost": "tier_change"}
    m.index = pd.Index([label(vocab.get(k, by), k, lang) for k in m.index],
                       name=text("layering.migration_previous", lang))
    m.columns = pd.Index([label(vocab.get(k, by), k, lang) for k in m.columns],
                         name=text("layering.migration_current", lang))
    return m


def migration_amounts(customers: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The migration matrix in this period's 12-month amount; the ``lost`` column shows
    the previous period's amount (what the lost customers took away)."""
    amt = migration_matrix(customers, value="amount_12m", lang=lang)
    prev = migration_matrix(customers, value="amount_12m_prev", lang=lang)
    amt[amt.columns[-1]] = prev[prev.columns[-1]]
    return amt


def _id_name(customers: pd.DataFrame) -> pd.DataFrame:
    """``customer_id`` and (when known) ``name``: the columns masking and stickiness key on."""
    out = pd.DataFrame({"customer_id": customers.index.to_numpy()}, index=customers.index)
    if "name" in customers.columns:
        out["name"] = customers["name"].to_numpy()
    return out


def quarter_label(as_of: pd.Timestamp | str, k: int) -> str:
    """Name of trailing quarter ``k`` (1 = the quarter ending at ``as_of``): ``2026-Q3`` when it
    is a calendar quarter, else the span ``2026-05-16..2026-08-15``."""
    end = months_back(as_of, 3 * (k - 1))
    start = months_back(as_of, 3 * k) + pd.Timedelta(days=1)
    if end == end.to_period("Q").end_time.normalize() and start == end.to_period("Q").start_time:
        return period_label(end, "quarter")
    return f"{start:%Y-%m-%d}..{end:%Y-%m-%d}"


def upgrade_candidates(customers: pd.DataFrame, lang: str, *, top_n: int | None = None,
                       as_of: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Core customers whose upgrade trigger fired, largest trailing-year amount first.

    Shows the amounts of the last three quarters and the quarter-on-quarter growth into the
    last two; quarters are named after ``as_of`` (default ``customers.attrs["as_of"]``), so
    those headers are in ``lang`` and their kinds are in ``attrs["kinds"]``
    (``ctx.table(t, kinds=t.attrs["kinds"])``); the other columns are canonical.
    """
    as_of = as_of if as_of is not None else customers.attrs.get("as_of")
    c = customers[customers["upgrade_trigger"].fillna(False).astype(bool)]
    c = c.sort_values("amount_12m", ascending=False)
    if top_n is not None:
        c = c.head(top_n)
    out = _id_name(c)
    name = {k: (quarter_label(as_of, k) if as_of is not None else f"q{k}") for k in UPGRADE_QUARTERS}
    amount = {k: text("layering.quarter_amount", lang, quarter=name[k]) for k in UPGRADE_QUARTERS}
    growth = {k: text("layering.quarter_growth", lang, quarter=name[k]) for k in UPGRADE_QUARTERS[1:]}
    for k in UPGRADE_QUARTERS:
        out[amount[k]] = c[f"amount_q{k}"].to_numpy()
    for k in UPGRADE_QUARTERS[1:]:
        before = c[f"amount_q{k + 1}"]
        out[growth[k]] = (c[f"amount_q{k}"] / before.where(before > 0) - 1).to_numpy()
    out["amount_12m"] = c["amount_12m"].to_numpy()
    out["upgrade_reason"] = c["upgrade_reason"].to_numpy()
    out = out.reset_index(drop=True)
    out.attrs["kinds"] = {**dict.fromkeys(amount.values(), "money"), **dict.fromkeys(growth.values(), "pct")}
    return out


def downgrade_list(customers: pd.DataFrame, *, top_n: int | None = None) -> pd.DataFrame:
    """High-value customers with a downgrade warning, largest trailing-year amount first
    (``attrs["kinds"]``: one decimal for months, two for complaints per order)."""
    c = customers[customers["downgrade_warning"].fillna(False).astype(bool)]
    c = c.sort_values("amount_12m", ascending=False)
    if top_n is not None:
        c = c.head(top_n)
    out = _id_name(c)
    out["amount_12m"] = c["amount_12m"].to_numpy()
    out["last_purchase"] = c["last_purchase"].to_numpy()
    out["months_since_last"] = c["months_since_last"].to_numpy()
    out["complaints_per_order"] = c["complaint_rate"].to_numpy()
    out["downgrade_reason"] = c["downgrade_reason"].to_numpy()
    out = out.reset_index(drop=True)
    out.attrs["kinds"] = {"months_since_last": "decimals:1", "complaints_per_order": "decimals:2"}
    return out


def flags_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers per special flag, with their trailing-year amount."""
    flags = customers["special_flags"].astype("str").fillna("")
    rows = []
    for key in ("strategic_partner", "overdue_payment", "churn_warning"):
        on = flags.str.split(";").map(lambda parts, k=key: k in parts)
        rows.append((key, int(on.sum()), float(customers.loc[on.to_numpy(), "amount_12m"].sum())))
    return pd.DataFrame(rows, columns=["special_flags", "n_customers", "amount_12m"])


def weights_text(weights: Mapping[str, float], lang: str) -> str:
    """Indicator weights as report text: ``近12个月金额 40 %、...`` / ``trailing-12-month amount 40 %, ...``."""
    return text("layering.weights", lang, items=weight_items(weights))


def headline_cards(customers: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    """The four headline figures of the page (``kit.present.cards.show_cards``)."""
    def n(col: str, key: str) -> str:
        return f"{int((customers[col] == key).sum()):,}"

    up, down = int(customers["upgrade_trigger"].sum()), int(customers["downgrade_warning"].sum())
    return [
        {"label": text("layering.card.high_value", lang), "value": n("value_tier", "high")},
        {"label": text("layering.card.star", lang), "value": n("quadrant", "star")},
        {"label": text("layering.card.high_churn", lang), "value": n("churn_risk", "high")},
        {"label": text("layering.card.triggers", lang), "value": f"{up:,} / {down:,}"},
    ]
