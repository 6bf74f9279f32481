"""The message catalogue and the language of every page.

* every entry of ``kit/present/messages/*.yml`` has zh and en, with the same placeholders;
  every zh text is Chinese (no run of three English words that are not a name or a term);
* every message code the code base uses (``ctx.say/h1/h2/h3/text``, ``Note``, ``Msg``,
  ``messages.text``) is in the catalogue;
* notebooks read in one language: no legacy zh/en pair, no ``def``/``class``;
* rendered: a zh page shows no English sentence, an en page no Chinese except the
  customer data of the fixture (slow: one ``kit run`` per language, shared with other tests).
"""
from __future__ import annotations

import ast
import csv
import html
import json
import re
import string
from pathlib import Path

import nbformat
import openpyxl
import pytest
import yaml

from kit.core.config import load_config
from kit.present import messages
from kit.publish.languages import page_name

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "kit"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MESSAGES_DIR = ROOT / "kit" / "present" / "messages"
SMALL_CONFIG = ROOT / "tests" / "fixtures" / "small.yml"

#: Message codes: dotted, lowercase (``layering.rfm_intro``, ``pages.section.01_clean``).
CODE = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+$")
#: Calls whose first argument (or ``code=``) is a message code.
MESSAGE_CALLS = {"say", "h1", "h2", "h3", "text", "figure", "Note", "Msg"}

#: English that a Chinese text may hold: model and method names, authors, abbreviations,
#: file formats and units. Matched case-sensitively as whole terms.
ALLOWED_TERMS = (
    "BG/NBD", "Gamma-Gamma", "P(alive)", "RFM", "CLV", "ROI", "A/B/C", "ABC", "MAE", "RMSE",
    "Fader", "Hardie", "Lee", "Hessian", "Excel", "CSV", "UTF-8", "BOM", "HTML", "DuckDB", "Spark",
    "JupyterLab", "k-means", "KMeans", "IQR", "VIP", "LTV", "SaaS", "et al",
)
#: Code-like tokens: placeholders, `code spans`, dotted names, snake_case, file names, paths.
CODE_LIKE = re.compile(
    r"\{[^{}]*\}|`[^`]*`|\b[\w-]+(?:[./][\w-]+)+\b|\b\w*_\w*\b|\b[\w-]+\.(?:csv|xlsx|json|parquet|html|ipynb|yml)\b"
)
#: Chinese characters and CJK / full-width punctuation.
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff1f]")
WORD = re.compile(r"^[A-Za-z][A-Za-z]*(?:['’-][A-Za-z]+)*$")
STRIP = " ,.;:!?\"'“”‘’()（）[]<>«»…"


def english_runs(text: str, min_words: int, extra_allowed: tuple[str, ...] = ()) -> list[str]:
    """Runs of at least ``min_words`` English words (separated by spaces only) in ``text``,
    after removing code-like tokens and the allowed terms."""
    text = HAN.sub(" | ", CODE_LIKE.sub(" | ", text))  # Chinese separates, never joins, English words
    terms = sorted(set(ALLOWED_TERMS) | set(extra_allowed), key=len, reverse=True)
    text = re.sub(r"(?<![A-Za-z])(?:" + "|".join(map(re.escape, terms)) + r")(?![A-Za-z])", " | ", text)
    runs, cur = [], []
    for chunk in text.split() + ["|"]:
        w = chunk.strip(STRIP)
        if w and WORD.match(w):
            cur.append(w)
            continue
        if len(cur) >= min_words:
            runs.append(" ".join(cur))
        cur = []
    return runs


# ---- the catalogue ------------------------------------------------------------------------
def _raw_entries() -> list[tuple[str, str, object]]:
    out = []
    for path in sorted(MESSAGES_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out += [(path.name, str(code), entry) for code, entry in data.items()]
    return out


def test_catalogue_loads():
    cat = messages.catalogue()
    assert cat, "the catalogue is empty"


def test_every_entry_has_zh_and_en():
    bad = [
        f"{f}: {code}"
        for f, code, entry in _raw_entries()
        if not isinstance(entry, dict) or any(not isinstance(entry.get(l), str) or not entry[l].strip() for l in ("zh", "en"))
    ]
    assert not bad, "entries without zh or en text:\n  " + "\n  ".join(bad)


def test_codes_are_dotted_lowercase_and_unique():
    seen: dict[str, str] = {}
    bad, dup = [], []
    for f, code, _ in _raw_entries():
        if not CODE.match(code):
            bad.append(f"{f}: {code}")
        if code in seen:
            dup.append(f"{code}: {seen[code]} and {f}")
        seen[code] = f
    # label codes keep the stored key as it is (``label.abc_class.A``)
    bad = [b for b in bad if not b.split(": ", 1)[1].startswith("label.")]
    assert not bad, "codes that are not dotted lowercase:\n  " + "\n  ".join(bad)
    assert not dup, "codes defined twice:\n  " + "\n  ".join(dup)


def _fields(template: str) -> set[str]:
    return {re.split(r"[.\[]", f, maxsplit=1)[0] for _, f, _, _ in string.Formatter().parse(template) if f}


def test_placeholders_agree():
    bad = []
    for code, entry in messages.catalogue().items():
        try:
            zh, en = _fields(entry["zh"]), _fields(entry["en"])
        except ValueError as e:
            bad.append(f"{code}: not a valid format string ({e})")
            continue
        if zh != en:
            bad.append(f"{code}: zh {sorted(zh)} vs en {sorted(en)}")
    assert not bad, "placeholders differ between zh and en:\n  " + "\n  ".join(bad)


def test_zh_texts_are_chinese():
    bad = []
    for code, entry in messages.catalogue().items():
        runs = english_runs(entry["zh"], 3)
        if runs:
            bad.append(f"{code}: {runs} in {entry['zh']!r}")
    assert not bad, "zh texts with English phrases:\n  " + "\n  ".join(bad)


def test_english_runs_finds_sentences_and_spares_terms():
    assert english_runs("客户编号为空（customer id is empty）", 3) == ["customer id is empty"]
    assert english_runs("BG/NBD 模型（Fader, Hardie & Lee 2005）以 {n:,} 位客户拟合", 3) == []
    assert english_runs("见 `report.excel_max_rows` 与 deliverables.xlsx 和 cfg.clv.margin", 3) == []
    assert english_runs("Gamma-Gamma 消费模型 P(alive) 与 RFM 得分 CLV ROI", 3) == []


# ---- codes used in the code base ---------------------------------------------------------------
def _notebook_code(path: Path) -> list[tuple[str, str]]:
    """``(cell id, source)`` of each code cell, IPython magics blanked."""
    nb = nbformat.read(path, as_version=4)
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        src = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())
        out.append((cell.get("id", str(i)), src))
    return out


def _sources() -> list[tuple[str, ast.AST]]:
    out = []
    for path in sorted(KIT.rglob("*.py")):
        out.append((path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))))
    for nb in NOTEBOOKS:
        for cid, src in _notebook_code(nb):
            out.append((f"{nb.relative_to(ROOT).as_posix()}#{cid}", ast.parse(src)))
    return out


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


#: The static start of a code built at run time (``f"clean.reason.{r}"``, ``"clv." + k``).
CODE_PREFIX = re.compile(r"^[a-z][a-z0-9_]*\.(?:[a-z0-9_]+\.)*[a-z0-9_]*$")


def _code_literals(node: ast.AST) -> list[tuple[str, bool]]:
    """``(text, is_prefix)`` of the codes an argument can be: a literal, both branches of a
    conditional, or the literal start of an f-string or a ``+`` concatenation."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(node.value, False)] if CODE.match(node.value) else []
    if isinstance(node, ast.IfExp):
        return _code_literals(node.body) + _code_literals(node.orelse)
    head = None
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        head = node.values[0].value
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = node.left
        while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add):
            left = left.left
        if isinstance(left, ast.Constant) and isinstance(left.value, str):
            head = left.value
    return [(head, True)] if isinstance(head, str) and CODE_PREFIX.match(head) else []


def used_codes() -> list[tuple[str, int, str, bool]]:
    """``(where, line, code, is_prefix)`` of every message code (or the literal start of one)
    passed to a message call."""
    out = []
    for where, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _call_name(node) not in MESSAGE_CALLS:
                continue
            args = list(node.args[:1]) + [k.value for k in node.keywords if k.arg == "code"]
            for a in args:
                out += [(where, node.lineno, code, prefix) for code, prefix in _code_literals(a)]
    return out


def test_every_used_code_is_in_the_catalogue():
    cat = messages.catalogue()
    used = used_codes()
    assert used, "no message code found in kit/ or notebooks/: the scan is broken"
    missing = sorted({
        f"{w}:{line}: {code}{'…' if prefix else ''}"
        for w, line, code, prefix in used
        if (not any(c.startswith(code) for c in cat) if prefix else code not in cat)
    })
    assert not missing, "message codes (… : codes starting so) not in the catalogue:\n  " + "\n  ".join(missing)


def test_code_scan_reads_literals_conditionals_and_prefixes():
    tree = ast.parse(
        "ctx.say('layering.intro', n=1)\nNote('a.b' if x else 'c.d')\nMsg(f'clean.reason.{r}')\n"
        "messages.text('clv.note.' + k, lang)\nax.text(0.5, 0.5, 'not.a.code')\nctx.h2('Plain words')\n"
    )
    found = [(c, p) for n in ast.walk(tree) if isinstance(n, ast.Call) and _call_name(n) in MESSAGE_CALLS
             for a in n.args[:1] for c, p in _code_literals(a)]
    assert sorted(found) == sorted([("layering.intro", False), ("a.b", False), ("c.d", False),
                                    ("clean.reason.", True), ("clv.note.", True)])


# ---- notebooks read in one language ----------------------------------------------------------
def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) or isinstance(node, ast.JoinedStr)


def legacy_forms(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append(f"line {node.lineno}: {'class' if isinstance(node, ast.ClassDef) else 'def'} {node.name}")
        if not isinstance(node, ast.Call):
            continue
        f, name = node.func, _call_name(node)
        on_ctx = isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "ctx"
        pos_str = sum(_is_str(a) for a in node.args)
        if on_ctx and name == "t":
            found.append(f"line {node.lineno}: ctx.t(zh, en)")
        elif on_ctx and name in ("say", "h1", "h2", "h3") and pos_str >= 2:
            found.append(f"line {node.lineno}: ctx.{name}(zh, en)")
        elif on_ctx and name == "note" and len(node.args) >= 2:
            found.append(f"line {node.lineno}: ctx.note(section, zh, en)")
        elif name == "display" and node.args and isinstance(node.args[0], ast.Call):
            inner = node.args[0].func
            if isinstance(inner, ast.Attribute) and inner.attr == "table" and isinstance(inner.value, ast.Name) and inner.value.id == "report":
                found.append(f"line {node.lineno}: display(report.table(...))")
    return found


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_reads_in_one_language(nb):
    bad = []
    for cid, src in _notebook_code(nb):
        bad += [f"cell {cid} {x}" for x in legacy_forms(ast.parse(src))]
    assert not bad, f"{nb.name}: legacy two-language forms or definitions:\n  " + "\n  ".join(bad)


def test_legacy_scan_finds_the_old_forms():
    src = (
        "ctx.t('中', 'en')\nctx.say('中文', 'English')\nctx.note('02_layering', '中', 'en', kind='omitted')\n"
        "display(report.table(df))\ndef f():\n    pass\nctx.say('layering.intro', n=3)\nctx.note(note)\n"
    )
    found = sorted(x.split(": ", 1)[1] for x in legacy_forms(ast.parse(src)))
    assert found == sorted([
        "def f", "ctx.t(zh, en)", "ctx.say(zh, en)", "ctx.note(section, zh, en)", "display(report.table(...))",
    ])


# ---- rendered pages ------------------------------------------------------------------------------
def visible_text(page: str) -> str:
    """What a reader sees: scripts, styles, comments, tags and embedded images removed; a link
    marked as another language's (``<a hreflang="zh" lang="zh">中文</a>``, the page in the
    run's other language) is that language's text, not this page's."""
    t = re.sub(r"(?is)<a\b[^>]*\bhreflang=[^>]*>.*?</a\s*>", " ", page)
    t = re.sub(r"(?is)<(script|style|svg)\b[^>]*>.*?</\1\s*>", " ", t)
    t = re.sub(r"(?s)<!--.*?-->", " ", t)
    t = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+", " ", t)
    t = re.sub(r"(?s)<[^>]*>", " ", t)
    return re.sub(r"\s+", " ", html.unescape(t))


def _add_value(values: set[str], v: object) -> None:
    if v is None:
        return
    s = str(v).strip()
    if not s:
        return
    values.add(s)
    values.update(p for p in re.split(r"[,，、;；|\s]+", s) if p)


def fixture_values(config: Path) -> set[str]:
    """Every text of a fixture a page may show as data: cell values and headers of its input
    files (keyword lists also split into keywords) and the config's own values and keys."""
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    values: set[str] = set()

    def walk(o: object) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                _add_value(values, k)
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
        else:
            _add_value(values, o)

    walk(cfg)
    # the demand-tag keywords the report shows as a customer's evidence (the words matched in
    # the customer's own interactions; the packaged defaults where the fixture sets none)
    for rule in load_config(config).subscriptions.demand_tags.rules.model_dump().values():
        walk(list(rule["keywords"]))
    for spec in cfg["inputs"].values():
        if not spec:
            continue
        path = config.parent / spec["path"]  # input paths are relative to the config file
        if path.suffix in (".xlsx", ".xls"):
            wb = openpyxl.load_workbook(path, read_only=True)
            for ws in wb:
                _add_value(values, ws.title)
                for row in ws.iter_rows(values_only=True):
                    for v in row:
                        _add_value(values, v)
        else:
            raw = path.read_bytes()
            text = next(t for t in (_decode(raw, e) for e in ("utf-8-sig", "gb18030")) if t is not None)
            for row in csv.reader(text.splitlines()):
                for v in row:
                    _add_value(values, v)
    return values


def _decode(raw: bytes, enc: str) -> str | None:
    try:
        return raw.decode(enc)
    except UnicodeDecodeError:
        return None


def _pages(run_dir: Path, lang: str) -> list[Path]:
    """The run's pages in ``lang`` (index.html or index.en.html ...: run.json lists the languages)."""
    languages = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["languages"]
    names = ["index", "01_clean", "02_layering", "03_personas", "04_clv", "05_strategy", "report"]
    pages = [run_dir / page_name(f"{n}.html", lang, languages) for n in names]
    missing = [p.name for p in pages if not p.exists()]
    assert not missing, f"pages of {lang} missing in {run_dir}: {missing}"
    return pages


def _context(text: str, start: int, end: int, width: int = 40) -> str:
    return text[max(0, start - width):end + width]


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["small_run", "small_run_en"])
def test_zh_pages_show_no_english_sentence(request, fixture):
    """The zh pages of a zh run and the zh pages (index.zh.html ...) of an en run."""
    names = tuple(v for v in fixture_values(SMALL_CONFIG) if re.search(r"[A-Za-z]", v))
    bad = []
    for page in _pages(request.getfixturevalue(fixture).run_dir, "zh"):
        text = visible_text(page.read_text(encoding="utf-8"))
        for run in sorted(set(english_runs(text, 4, names))):
            m = re.search(r"\W+".join(map(re.escape, run.split())), text)
            where = _context(text, m.start(), m.end()) if m else ""
            bad.append(f"{page.name}: {run!r} (…{where}…)")
    assert not bad, "English sentences on zh pages:\n  " + "\n  ".join(bad)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["small_run", "small_run_en"])
def test_en_pages_show_no_chinese_except_customer_data(request, fixture):
    """The en pages of an en run and those of a zh run (index.en.html ...: one computation)."""
    values = [v for v in fixture_values(SMALL_CONFIG) if HAN.search(v)]
    long = sorted((v for v in values if len(v) >= 2), key=len, reverse=True)
    single = sorted(v for v in values if len(v) == 1)  # 是, 否, 无: only where they stand alone
    h = HAN.pattern
    data_re = re.compile("|".join(map(re.escape, long)) + rf"|(?<!{h})(?:{'|'.join(map(re.escape, single))})(?!{h})")
    bad = []
    for page in _pages(request.getfixturevalue(fixture).run_dir, "en"):
        text = data_re.sub(" ", visible_text(page.read_text(encoding="utf-8")))
        seen = set()
        for m in HAN.finditer(text):
            ctx = _context(text, m.start(), m.end(), 25)
            if ctx not in seen:
                seen.add(ctx)
                bad.append(f"{page.name}: …{ctx}…")
    assert not bad, f"Chinese text on en pages ({len(bad)} places; fixture data removed):\n  " + "\n  ".join(bad[:60])
