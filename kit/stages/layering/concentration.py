"""A rule that puts nearly every customer in one class: a warning that names the config keys.

A value tier, an A/B/C class, a quadrant or a churn risk that holds at least
``layering.concentration_warning_share`` of the customers tells the reader little and is
often a sign of thresholds that do not fit the client (a config copied from a client in
another currency: value tiers High 0 / Medium 1 / Low 399). :func:`concentration_notes`
returns one ``layering.concentrated`` warning per such rule, naming the rule, the class,
the share and the keys that decide it; money rules also say that their thresholds are in
the config's currency.
"""
from __future__ import annotations

import pandas as pd

from kit.core.notes import Msg, Note
from kit.stages.layering.common import _note

#: Spine column of each rule -> the config keys that decide its classes.
RULE_KEYS: dict[str, tuple[str, ...]] = {
    "value_tier": ("layering.value_tiers.high_min", "layering.value_tiers.medium_min"),
    "abc_class": ("layering.abc.a_min", "layering.abc.b_min"),
    "quadrant": ("layering.quadrant.value_threshold", "layering.quadrant.potential_threshold"),
    "churn_risk": ("layering.churn.high_months", "layering.churn.medium_months",
                   "layering.churn.satisfaction_high_risk"),
}
#: Rules whose thresholds are amounts of money (in the config's currency).
MONEY_RULES = frozenset({"value_tier", "abc_class"})


def concentration_notes(customers: pd.DataFrame, share: float, currency: str) -> list[Note]:
    """One warning per rule whose largest class holds ``>= share`` of the customers.

    Parameters
    ----------
    customers : DataFrame
        The layering (one row per customer) with any of the columns of :data:`RULE_KEYS`.
    share : float
        ``cfg.layering.concentration_warning_share`` (0.95: 95 %).
    currency : str
        ``cfg.currency``, named in the warning of a money rule.

    Returns
    -------
    list of Note
        ``layering.concentrated`` (kind ``warning``): ``pct`` (one decimal), ``n``, ``total``,
        ``rule`` and ``group`` (messages), ``keys`` (the config keys), ``why`` (a message).
    """
    total = len(customers)
    notes: list[Note] = []
    if total == 0:
        return notes
    for col, keys in RULE_KEYS.items():
        if col not in customers.columns:
            continue
        counts = customers[col].value_counts(dropna=True)
        if counts.empty or counts.iloc[0] < share * total:
            continue
        top, n = str(counts.index[0]), int(counts.iloc[0])
        why = (Msg("layering.concentrated_money", currency=currency) if col in MONEY_RULES
               else Msg("layering.concentrated_rule"))
        notes.append(_note("concentrated", "warning", pct=round(100 * n / total, 1), n=n, total=total,
                           rule=Msg(f"layering.rule.{col}"), group=Msg(f"label.{col}.{top}"),
                           keys=list(keys), why=why))
    return notes
