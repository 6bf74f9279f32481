"""The notebooks' key figures, checked for real on the small fixture.

``kit run`` executes the five notebooks on ``tests/fixtures/small.yml`` (the session fixtures
``small_run`` and ``small_run_en`` of conftest.py); the figures below must come out of the
artifacts, and the same figures must be shown by the executed notebooks and the HTML pages,
formatted as the page formats them.

The expected values were measured on the code before the architecture redesign (issue 11),
in a zh and an en run of the same fixture (kit 0.1.0, 2026-11-30), and are written here as
literals: a change of any of them is a change of behaviour, to be explained, not absorbed.
(``nbval-check-output`` tags compared nothing: notebooks are committed without outputs.)

``check_*`` take a run folder, so they can be pointed at any run (the test of this file's
own failure: change one figure in a copy of a run and the check fails).
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from kit.present import messages

pytestmark = pytest.mark.slow

# ---- expected values (measured before the redesign) --------------------------------------
#: quality.json ``reconciliation``: table -> (source rows, clean rows, quarantined rows, merged rows)
ROWS = {
    "transactions": (3143, 2939, 174, 30),
    "customers": (198, 196, 2, 0),
    "interactions": (2222, 2204, 18, 0),
}
#: quality.json ``reconciliation.transactions`` amounts (CNY, to the cent)
AMOUNTS = {
    "source_amount": 222636366.25,
    "clean_amount": 209818844.38,
    "quarantined_amount": 13877229.54,
    "merged_amount": -1059707.67,
    "clean_net_amount": 208759136.71,
}
#: quality.json ``quarantine_by_reason``: table -> reason -> rows
QUARANTINE = {
    "transactions": {"duplicate": 30, "missing_customer_id": 15, "cancelled": 59, "fully_refunded": 28,
                     "bad_date": 9, "zero_amount": 9, "test_account": 9, "bad_amount": 6, "future_date": 9},
    "customers": {"duplicate_id": 2},
    "interactions": {"missing_customer_id": 11, "bad_date": 7},
    # issue 13: the fixture gained its contracts and usage (kit.datasets, seed 7); their defect
    # rows as the generator's manifest lists them
    "subscriptions": {"duplicate": 1, "missing_customer_id": 1, "end_before_start": 1},
    "usage": {"missing_customer_id": 3, "duplicate": 3},
}
CUSTOMERS = 194  # rows of customers.parquet: customers with a purchase up to as_of
#: customers.parquet: column -> key -> customers
DISTRIBUTIONS = {
    "value_tier": {"low": 128, "medium": 47, "high": 19},
    "quadrant": {"eliminate": 71, "star": 69, "cash_cow": 27, "potential": 27},
    "churn_risk": {"high": 92, "low": 55, "medium": 47},
    "abc_class": {"C": 184, "B": 7, "A": 3},
    "tier_change": {"same": 166, "lost": 14, "new": 8, "up": 3, "down": 3},
    "rfm8_class": {"general_develop": 77, "general_retain": 62, "general_value": 28, "important_value": 22,
                   "important_keep": 2, "general_keep": 2, "important_develop": 1},
}
FLAGS = {"upgrade_trigger": 11, "downgrade_warning": 4, "follow_up_overdue": 147}
#: model_params.json (relative tolerance 1e-9)
BGNBD = {"r": 1.9119092436191563, "alpha": 12.682824578360512, "a": 0.2646582842034045, "b": 4.197478761079237}
BGNBD_LL = -7299.515720800406
GAMMA_GAMMA = {"p": 0.36690575363744726, "q": 1.4270362622468846, "gamma": 53469.75523791515}
GAMMA_GAMMA_LL = -2114.8861147590924
GAMMA_GAMMA_N = (188, 6)  # customers fitted, customers given the population mean
POPULATION_MEAN_SPEND = 45940.737536324355
#: customers.parquet model outputs (relative tolerance 1e-6: sums of 194 predictions)
CLV_TOTAL = 16355193.608228713
P_ALIVE_MEAN = 0.6886052041577536
EXP_PURCHASES_TOTAL = 968.0573607613658
PLANNED_FOLLOW_UPS = 646  # follow-ups due in the coming period (05 intro, index page)
REL = 1e-9


# ---- reading a run -------------------------------------------------------------------------
def visible_text(page: str) -> str:
    """What a reader sees: scripts, styles, tags and embedded images removed."""
    t = re.sub(r"(?is)<(script|style|svg)\b[^>]*>.*?</\1\s*>", " ", page)
    t = re.sub(r"(?s)<!--.*?-->", " ", t)
    t = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+", " ", t)
    t = re.sub(r"(?s)<[^>]*>", " ", t)
    return re.sub(r"\s+", " ", html.unescape(t))


def page_text(run_dir: Path, name: str, suffix: str = "") -> str:
    return visible_text((run_dir / f"{name}{suffix}.html").read_text(encoding="utf-8"))


def notebook_text(run_dir: Path, name: str, suffix: str = "") -> str:
    """The outputs of an executed notebook as a reader sees them (markdown, HTML, plain text)."""
    nb = nbformat.read(run_dir / "executed" / f"{name}{suffix}.ipynb", as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                parts.append(visible_text(data["text/html"]))
            elif "text/markdown" in data:
                parts.append(data["text/markdown"])
            elif "text/plain" in data:
                parts.append(data["text/plain"])
            elif "text" in out:
                parts.append(out["text"])
    return re.sub(r"\s+", " ", " ".join(parts))


def artifact(run_dir: Path, name: str):
    p = run_dir / "artifacts" / name
    return json.loads(p.read_text(encoding="utf-8")) if p.suffix == ".json" else pd.read_parquet(p)


def _n(x: int) -> str:
    return f"{x:,}"


def _shown(text: str, pattern: str, what: str, where: str) -> list[str]:
    return [] if re.search(pattern, text) else [f"{where}: {what} not shown (pattern {pattern!r})"]


# ---- the checks ------------------------------------------------------------------------------------
def check_artifacts(run_dir: Path) -> list[str]:
    bad = []
    q = artifact(run_dir, "quality.json")
    rec = q["reconciliation"]
    for table, expected in ROWS.items():
        got = tuple(rec[table][k] for k in ("source_rows", "clean_rows", "quarantined_rows", "merged_rows"))
        if got != expected:
            bad.append(f"quality.json {table} rows (source, clean, quarantined, merged): {got} != {expected}")
        if not rec[table]["balanced"]:
            bad.append(f"quality.json {table}: not balanced")
    for k, v in AMOUNTS.items():
        if rec["transactions"][k] != pytest.approx(v, abs=0.005):
            bad.append(f"quality.json transactions {k}: {rec['transactions'][k]} != {v}")
    got_q = {t: {r: d["rows"] for r, d in reasons.items()} for t, reasons in q["quarantine_by_reason"].items()}
    if got_q != QUARANTINE:
        bad.append(f"quality.json quarantine_by_reason: {got_q} != {QUARANTINE}")

    c = artifact(run_dir, "customers.parquet")
    if len(c) != CUSTOMERS:
        bad.append(f"customers.parquet: {len(c)} customers != {CUSTOMERS}")
    for col, expected in DISTRIBUTIONS.items():
        got = {str(k): int(v) for k, v in c[col].value_counts().items()}
        if got != expected:
            bad.append(f"customers.parquet {col}: {got} != {expected}")
    for col, expected in FLAGS.items():
        if int(c[col].sum()) != expected:
            bad.append(f"customers.parquet {col}: {int(c[col].sum())} != {expected}")
    for col, expected, how in (("clv", CLV_TOTAL, "sum"), ("p_alive", P_ALIVE_MEAN, "mean"),
                               ("exp_purchases", EXP_PURCHASES_TOTAL, "sum")):
        got = getattr(c[col], how)()
        if got != pytest.approx(expected, rel=1e-6):
            bad.append(f"customers.parquet {col} {how}: {got!r} != {expected!r}")

    m = artifact(run_dir, "model_params.json")
    bg, gg = m["bgnbd"], m["gamma_gamma"]
    for k, v in BGNBD.items():
        if bg["params"][k] != pytest.approx(v, rel=REL):
            bad.append(f"model_params.json BG/NBD {k}: {bg['params'][k]!r} != {v!r}")
    if bg["log_likelihood"] != pytest.approx(BGNBD_LL, rel=REL):
        bad.append(f"model_params.json BG/NBD log-likelihood: {bg['log_likelihood']!r} != {BGNBD_LL!r}")
    for k, v in GAMMA_GAMMA.items():
        if gg["params"][k] != pytest.approx(v, rel=REL):
            bad.append(f"model_params.json Gamma-Gamma {k}: {gg['params'][k]!r} != {v!r}")
    if gg["log_likelihood"] != pytest.approx(GAMMA_GAMMA_LL, rel=REL):
        bad.append(f"model_params.json Gamma-Gamma log-likelihood: {gg['log_likelihood']!r} != {GAMMA_GAMMA_LL!r}")
    if (gg["n_customers"], gg["n_excluded"]) != GAMMA_GAMMA_N:
        bad.append(f"model_params.json Gamma-Gamma customers (fitted, excluded): {(gg['n_customers'], gg['n_excluded'])} != {GAMMA_GAMMA_N}")
    if gg["population_mean_spend"] != pytest.approx(POPULATION_MEAN_SPEND, rel=REL):
        bad.append(f"model_params.json Gamma-Gamma population mean spend: {gg['population_mean_spend']!r}")
    return bad


def shown_figures(text: str, name: str, lang: str, where: str) -> list[str]:
    """The key figures of notebook ``name`` in ``text`` (a page or an executed notebook)."""
    bad = []
    if name == "01_clean":
        for table, (src, clean, quar, merged) in ROWS.items():
            pat = r"\s+".join(map(re.escape, map(_n, (src, clean, quar, merged))))
            bad += _shown(text, pat, f"reconciliation row of {table}", where)
    elif name == "02_layering":
        bad += _shown(text, rf"(?<![\d,.]){CUSTOMERS}(?![\d,.])", "the number of customers", where)
        for col in ("value_tier", "quadrant", "churn_risk"):
            for key, n in DISTRIBUTIONS[col].items():
                label = messages.label(col, key, lang)
                # a distribution row: label, customers, share of customers
                pat = rf"{re.escape(label)}\s+{n}\s+{re.escape(f'{n / CUSTOMERS:.1%}')}"
                bad += _shown(text, pat, f"{col} {key} = {n}", where)
    elif name == "04_clv":
        for k, v in {**BGNBD, **GAMMA_GAMMA}.items():
            bad += _shown(text, rf"\b{k}\s+{re.escape(f'{v:,.4f}')}(?!\d)", f"parameter {k} = {v:,.4f}", where)
        bad += _shown(text, re.escape(f"{BGNBD_LL:,.1f}"), "BG/NBD log-likelihood", where)
        bad += _shown(text, rf"(?<![\d,.]){re.escape(f'{CLV_TOTAL:,.0f}')}(?![\d,.])", "the CLV total", where)
    elif name == "05_strategy":
        for what, n in (("follow-ups overdue", FLAGS["follow_up_overdue"]), ("planned follow-ups", PLANNED_FOLLOW_UPS)):
            bad += _shown(text, rf"(?<![\d,.]){n:,}(?![\d,.])", f"{what} ({n})", where)
    elif name == "index":
        bad += _shown(text, rf"(?:客户数|Customers)\s+{CUSTOMERS}(?![\d,.])", "the customers card", where)
        bad += _shown(text, rf"(?<![\d,.]){re.escape(f'{CLV_TOTAL:,.0f}')}(?![\d,.])", "the CLV total", where)
    return bad


def check_pages(run_dir: Path, lang: str, suffix: str = "") -> list[str]:
    """``suffix``: ``.en`` for the pages of a run's second language (index.en.html ...)."""
    bad = []
    for name in ("01_clean", "02_layering", "04_clv", "05_strategy", "index"):
        bad += shown_figures(page_text(run_dir, name, suffix), name, lang, f"{name}{suffix}.html")
    for name in ("01_clean", "02_layering", "04_clv", "05_strategy"):
        bad += shown_figures(notebook_text(run_dir, name, suffix), name, lang, f"executed/{name}{suffix}.ipynb")
    return bad


# ---- the tests -----------------------------------------------------------------------------------------
def test_artifacts_hold_the_key_figures(small_run):
    bad = check_artifacts(small_run.run_dir)
    assert not bad, "key figures changed:\n  " + "\n  ".join(bad)


def test_english_run_computes_the_same_figures(small_run_en):
    bad = check_artifacts(small_run_en.run_dir)
    assert not bad, "key figures of the en run changed:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("fixture, lang, suffix", [
    ("small_run", "zh", ""), ("small_run_en", "en", ""),
    # the second language of one computation: the zh run's English pages and notebooks
    ("small_run", "en", ".en"), ("small_run_en", "zh", ".zh"),
])
def test_pages_and_notebooks_show_the_key_figures(request, fixture, lang, suffix):
    run = request.getfixturevalue(fixture)
    bad = check_pages(run.run_dir, lang, suffix)
    assert not bad, f"{fixture} {lang}: key figures not shown:\n  " + "\n  ".join(bad)


def test_checks_fail_when_a_figure_changes(small_run, tmp_path):
    """The checks are not vacuous: one figure changed in a copy of the run, each check fails."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(small_run.run_dir, run)
    q = artifact(run, "quality.json")
    q["reconciliation"]["transactions"]["clean_rows"] += 1
    (run / "artifacts" / "quality.json").write_text(json.dumps(q), encoding="utf-8")
    m = artifact(run, "model_params.json")
    m["bgnbd"]["params"]["r"] *= 1 + 1e-8
    (run / "artifacts" / "model_params.json").write_text(json.dumps(m), encoding="utf-8")
    c = artifact(run, "customers.parquet")
    c.loc[c.index[c["value_tier"] == "high"][0], "value_tier"] = "medium"
    c.to_parquet(run / "artifacts" / "customers.parquet")
    page = run / "04_clv.html"
    page.write_text(page.read_text(encoding="utf-8").replace(f"{BGNBD['alpha']:,.4f}", "12.6829"), encoding="utf-8")

    bad = "\n".join(check_artifacts(run) + check_pages(run, "zh"))
    assert "transactions rows (source, clean, quarantined, merged): (3143, 2940, 174, 30)" in bad
    assert "BG/NBD r: " in bad
    assert "value_tier: {'low': 128, 'medium': 48, 'high': 18}" in bad
    assert "04_clv.html: parameter alpha = 12.6828 not shown" in bad
