"""Hostile input is shown as text, written as text, and masked personal data stays masked.

One ``kit run`` of ``tests/fixtures/hostile/hostile.yml`` (made by
``tests/fixtures/make_hostile.py``: the small fixture with ``<img src=x onerror=...>``,
``<script>alert(1)</script>`` and formula-like text in customer names, regions, product
categories, inquiry keywords and account managers; ``report.mask_pii: true``), then a scan of
the WHOLE run folder:

* no HTML page holds a live ``<img src=x onerror`` or ``<script>alert`` (escaped is fine),
  and the hostile text is shown, as text, somewhere (else the check would be vacuous);
* every CSV cell holding formula-like text starts with ``'``; no xlsx cell is a formula;
* no full customer or contact name and no full phone number of the fixture's master appears
  in any HTML page, executed notebook, CSV or workbook (parquet files are machine data and
  are not scanned).

The run is slow (marked); the checks of the scanners themselves and of the committed fixture
(remade byte for byte by its seeded script) are fast.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "hostile"
CONFIG = FIXTURE / "hostile.yml"

HOSTILE_HTML = ("<img src=x onerror=alert(1)>", "<script>alert(1)</script>")
HOSTILE_FORMULAS = ('=HYPERLINK("http://evil","x")', "@SUM(1+1)", "+1", "-2+3")
#: Live markup a page must never contain (case-insensitive, any spacing).
LIVE = re.compile(r"<\s*img\s+src\s*=\s*x\s+onerror|<\s*script\s*>\s*alert", re.I)
#: Text a spreadsheet reads as a formula (OWASP: = + - @ tab CR).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?(?:inf|nan)$", re.I)
BASE64 = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """`kit run` of the hostile fixture; returns the run folder."""
    from kit.publish.run import run

    out = tmp_path_factory.mktemp("hostile")
    return run(CONFIG, out_dir=out, progress=lambda m: None).run_dir


def _files(run_dir: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in run_dir.rglob("*") if p.is_file() and p.suffix in suffixes)


def _visible(page: str) -> str:
    t = re.sub(r"(?is)<(script|style|svg)\b[^>]*>.*?</\1\s*>", " ", page)
    t = BASE64.sub(" ", t)
    t = re.sub(r"(?s)<[^>]*>", " ", t)
    return re.sub(r"\s+", " ", html.unescape(t))


# ---- HTML ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_no_page_runs_hostile_markup(hostile_run):
    pages = _files(hostile_run, ".html")
    assert len(pages) >= 6, [p.name for p in pages]
    bad = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for m in LIVE.finditer(text):
            bad.append(f"{page.relative_to(hostile_run)}: …{text[max(0, m.start() - 80):m.end() + 40]}…")
    assert not bad, "live hostile markup in pages:\n  " + "\n  ".join(bad)


@pytest.mark.slow
def test_hostile_text_is_shown_as_text(hostile_run):
    """Regions, categories, keywords and account managers are not masked: their hostile text
    must reach the pages as visible text (an escaped tag), so the test above saw it."""
    shown = " ".join(_visible(p.read_text(encoding="utf-8")) for p in _files(hostile_run, ".html"))
    missing = [h for h in HOSTILE_HTML + ('=HYPERLINK("http://evil","x")',) if h not in shown]
    assert not missing, f"hostile text never shown on any page (was it dropped?): {missing}"


# ---- CSV and Excel -----------------------------------------------------------------------------
def _read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        pytest.fail(f"{path}: neither UTF-8 nor GB18030")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.slow
def test_every_csv_cell_is_neutralised(hostile_run):
    files = _files(hostile_run, ".csv")
    assert files, "the run wrote no CSV"
    bad, neutralised = [], set()
    for path in files:
        for i, row in enumerate(_read_csv(path)):
            for j, cell in enumerate(row):
                if cell.startswith(FORMULA_START) and not NUMBER.match(cell.strip()):
                    bad.append(f"{path.relative_to(hostile_run)} row {i + 1} col {j + 1}: {cell[:60]!r}")
                if cell.startswith("'"):
                    neutralised.add(cell[1:])
    assert not bad, f"formula-like CSV cells without a leading ' ({len(bad)}):\n  " + "\n  ".join(bad[:40])
    seen = [h for h in HOSTILE_FORMULAS if h in neutralised]
    assert seen, f"no hostile formula reached any CSV (neutralised cells: {sorted(neutralised)[:20]})"


@pytest.mark.slow
def test_no_xlsx_cell_is_a_formula(hostile_run):
    books = _files(hostile_run, ".xlsx")
    assert books, "the run wrote no workbook"
    bad, texts = [], set()
    for path in books:
        wb = openpyxl.load_workbook(path)
        for ws in wb:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f" or (isinstance(c.value, str) and c.value.startswith(FORMULA_START) and c.data_type != "s"):
                        bad.append(f"{path.name}!{ws.title}!{c.coordinate}: {c.data_type} {str(c.value)[:60]!r}")
                    if isinstance(c.value, str):
                        texts.add(c.value.lstrip("'"))
    assert not bad, "formula cells in workbooks:\n  " + "\n  ".join(bad[:40])
    assert any(h in texts for h in HOSTILE_FORMULAS), "no hostile formula text reached any workbook"


# ---- masked personal data -----------------------------------------------------------------------------
def _master() -> pd.DataFrame:
    return pd.read_excel(FIXTURE / "customers.xlsx", sheet_name="客户主数据", header=2, dtype=str)


def _fixture_texts_without_pii() -> list[str]:
    """Every non-PII text of the fixture (a name inside one of them is not a leak)."""
    m = _master().drop(columns=["客户名称", "联系人", "联系电话"])
    out = [str(v) for v in m.to_numpy().ravel() if isinstance(v, str)]
    for name, enc in (("orders.csv", "gbk"), ("interactions.csv", "utf-8-sig")):
        out += [c for row in csv.reader(io.StringIO((FIXTURE / name).read_bytes().decode(enc))) for c in row]
    return out


def pii_names() -> list[str]:
    """Full customer and contact names of the master (>= 2 characters), except the hostile
    texts and names that are part of a non-PII text of the fixture (an account manager ...)."""
    m = _master()
    names = {str(v).strip() for col in ("客户名称", "联系人") for v in m[col].dropna()}
    names = {n for n in names if len(n) >= 2 and n not in HOSTILE_HTML + HOSTILE_FORMULAS}
    others = "\n".join(_fixture_texts_without_pii())
    return sorted(n for n in names if n not in others)


def pii_phones() -> list[str]:
    """Full phone numbers of the master, as digits (a leading +86 dropped)."""
    out = set()
    for v in _master()["联系电话"].dropna():
        d = re.sub(r"\D", "", str(v).removesuffix(".0"))
        if len(d) == 13 and d.startswith("86"):
            d = d[2:]
        if len(d) >= 7:
            out.add(d)
    return sorted(out)


def _phone_pattern(phones: list[str]) -> re.Pattern:
    """A phone as written plainly, grouped 3-4-4 by spaces or hyphens, or with +86."""
    alts = []
    for p in phones:
        alts.append(re.escape(p))
        if len(p) == 11:
            alts += [rf"{p[:3]}[ -]{p[3:7]}[ -]{p[7:]}"]
    return re.compile(r"(?<!\d)(?:\+?86[ -]?)?(?:" + "|".join(alts) + r")(?!\d)")


def _notebook_text(path: Path) -> str:
    """Every string of an executed notebook (sources, outputs, metadata), images left out."""
    parts: list[str] = []

    def walk(o: object, key: str = "") -> None:
        if key.startswith("image/") and not key.endswith("svg+xml"):
            return
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, k)
        elif isinstance(o, list):
            for v in o:
                walk(v, key)
        elif isinstance(o, str):
            parts.append(o)

    walk(json.loads(path.read_text(encoding="utf-8")))
    return "".join(parts)


def _scanned_texts(run_dir: Path) -> list[tuple[str, str]]:
    out = []
    for p in _files(run_dir, ".html"):
        out.append((str(p.relative_to(run_dir)), html.unescape(BASE64.sub(" ", p.read_text(encoding="utf-8")))))
    for p in _files(run_dir, ".ipynb"):
        out.append((str(p.relative_to(run_dir)), html.unescape(BASE64.sub(" ", _notebook_text(p)))))
    for p in _files(run_dir, ".csv"):
        out.append((str(p.relative_to(run_dir)), "\n".join(",".join(r) for r in _read_csv(p))))
    return out


def _leaks(texts: list[tuple[str, str]]) -> list[str]:
    names, phones = pii_names(), pii_phones()
    assert len(names) > 150 and len(phones) > 80, (len(names), len(phones))  # the lists are real
    name_re = re.compile("|".join(map(re.escape, sorted(names, key=len, reverse=True))))
    phone_re = _phone_pattern(phones)
    bad = []
    for where, text in texts:
        found = sorted({m.group() for m in name_re.finditer(text)} | {m.group() for m in phone_re.finditer(text)})
        if found:
            bad.append(f"{where}: {len(found)} full names/phones, e.g. {found[:5]}")
    return bad


@pytest.mark.slow
def test_masked_run_shows_no_full_name_or_phone(hostile_run):
    bad = _leaks(_scanned_texts(hostile_run))
    assert not bad, "mask_pii is on, yet full names or phone numbers appear in:\n  " + "\n  ".join(bad)


@pytest.mark.slow
def test_masked_workbook_holds_no_full_name_or_phone(hostile_run):
    texts = []
    for path in _files(hostile_run, ".xlsx"):
        wb = openpyxl.load_workbook(path, read_only=True)
        cells = [str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None]
        texts.append((path.name, "\n".join(cells)))
    bad = _leaks(texts)
    assert not bad, "mask_pii is on, yet full names or phone numbers appear in:\n  " + "\n  ".join(bad)


def test_leak_scan_finds_a_leak(tmp_path):
    """The scan is not vacuous: a file with one full name and one phone is reported."""
    name, phone = pii_names()[0], pii_phones()[0]
    text = f"<td>{name}</td><td>{phone[:3]}-{phone[3:7]}-{phone[7:]}</td><td>{phone[:3]}****{phone[-4:]}</td>"
    bad = _leaks([("x.html", text)])
    assert len(bad) == 1 and name in bad[0] and phone[:3] in bad[0]
    assert not _leaks([("y.html", f"{name[0]}** {phone[:3]}****{phone[-4:]}")])


def test_committed_fixture_is_what_the_script_makes(tmp_path):
    """tests/fixtures/hostile/ is generated, not edited: the seeded script remakes it byte for byte."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_hostile", ROOT / "tests" / "fixtures" / "make_hostile.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    placed = mod.make(tmp_path)
    assert set(placed) == {"name", "region", "category", "keyword", "account_manager", "plan"}
    assert all(sorted(v.values()) == sorted(HOSTILE_HTML + HOSTILE_FORMULAS) for v in placed.values())
    for name in ("orders.csv", "interactions.csv", "customers.xlsx", "subscriptions.csv", "usage.csv", "hostile.yml"):
        assert (tmp_path / name).read_bytes() == (FIXTURE / name).read_bytes(), f"{name} differs: rerun make_hostile.py"
