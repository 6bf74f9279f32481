"""Both report languages from one computation (kit.publish.languages, RunContext.use_language)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kit.core.config import ConfigError, load_config
from kit.publish.context import RunContext
from kit.publish.languages import (
    page_name,
    parse_languages,
    presents,
    split_languages,
    with_language_twins,
)

ROOT = Path(__file__).resolve().parents[1]


def code(source: str, tags: list[str] | None = None) -> dict:
    return {"cell_type": "code", "execution_count": None, "outputs": [], "metadata": {"tags": tags or []},
            "source": source}


def notebook() -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {"tags": ["analyst-note"]}, "source": "# note"},
        code('lang: str = ""', ["parameters"]),
        code("ctx = open_run(lang=lang)\nresult = compute()\nctx.write_customers(result)"),
        code('ctx.h1("clean.title")\nctx.say("clean.intro", n=1)'),
        code("x = 1  # computes, shows nothing"),
        code("ctx.table(frame(x), max_rows=None)"),
    ]}


def test_parse_languages_and_page_names():
    assert parse_languages("zh, en") == ("zh", "en")
    assert parse_languages(["en", "zh", "en"]) == ("en", "zh")
    assert parse_languages("") == () and parse_languages(None) == ()
    langs = ("zh", "en")
    assert page_name("index.html", "zh", langs) == "index.html"
    assert page_name("index.html", "en", langs) == "index.en.html"
    assert page_name("02_layering.ipynb", "en", langs) == "02_layering.en.ipynb"
    assert page_name("deliverables.xlsx", "zh", ("en", "zh")) == "deliverables.zh.xlsx"


def test_presenting_cells_are_found_by_their_calls():
    assert presents('ctx.say("a.b")') and presents("show_cards(cards)") and presents("display(HTML(x))")
    assert presents("if ok:\n    ctx.figure(fig, 'a.b', 'a.c')")
    assert not presents("result = clean_all(cfg)\nctx.write_customers(result)")
    assert not presents("ctx.say(")  # not Python: left alone


def test_twins_follow_each_presenting_cell_and_split_back():
    nb = notebook()
    twinned = with_language_twins(nb, ("zh", "en"))
    sources = [c["source"] for c in twinned["cells"]]
    assert len(sources) == len(nb["cells"]) + 2  # the two presenting cells got a twin each
    assert sources[4] == ('ctx.use_language(\'en\')\nctx.h1("clean.title")\nctx.say("clean.intro", n=1)\n'
                          "ctx.use_language(None)\n")
    assert twinned["cells"][4]["metadata"]["tags"] == ["kit-lang-en"]
    assert with_language_twins(nb, ("zh",)) == nb  # one language: unchanged

    # as if executed: each cell's output says which language drew it
    for c in twinned["cells"]:
        if c["cell_type"] == "code":
            lang = "en" if "kit-lang-en" in c["metadata"]["tags"] else "zh"
            c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": lang}]
    per = split_languages(twinned, ("zh", "en"))
    for lang in ("zh", "en"):
        cells = per[lang]["cells"]
        assert [c["cell_type"] for c in cells] == [c["cell_type"] for c in nb["cells"]]
        assert [c["source"] for c in cells] == [c["source"] for c in nb["cells"]]  # no use_language lines
        assert per[lang]["metadata"]["kit_language"] == lang
        shown = [c["outputs"][0]["text"] for c in cells if c["cell_type"] == "code" and presents(c["source"])]
        assert shown == [lang, lang]
        computed = [c["outputs"][0]["text"] for c in cells if c["cell_type"] == "code" and not presents(c["source"])]
        assert computed == ["zh", "zh", "zh"]  # computing cells ran once, in the first language's pass
        assert all(not t.startswith("kit-lang-") for c in cells for t in c["metadata"].get("tags", []))


def test_a_presenting_cell_in_another_language_cannot_write(tmp_path):
    cfg = load_config(ROOT / "configs" / "demo.yml")
    ctx = RunContext(cfg=cfg, run_dir=tmp_path, as_of=pd.Timestamp("2024-06-30"), lang="zh", languages=("zh", "en"))
    ctx.write_json("model_params", {"a": 1})
    ctx.use_language("en")
    assert ctx.lang == "en" and ctx.text("pages.nav.summary") == "Summary"
    with pytest.raises(RuntimeError, match="presenting cell writes the artifact 'model_params'"):
        ctx.write_json("model_params", {"a": 2})
    with pytest.raises(RuntimeError, match="presenting cell writes"):
        ctx.write_parquet("customers", pd.DataFrame({"x": [1]}))
    ctx.use_language(None)
    assert ctx.lang == "zh" and ctx.text("pages.nav.summary") == "概览"
    assert json.loads((tmp_path / "artifacts" / "model_params.json").read_text()) == {"a": 1}
    assert ctx.named("deliverables", "en") == "deliverables.en.xlsx"
    assert ctx.named("deliverables", "zh") == "deliverables.xlsx"


def test_config_languages_and_english_client_name(tmp_path):
    cfg = load_config(ROOT / "configs" / "demo.yml")
    assert cfg.run_languages() == ("zh", "en")
    assert cfg.run_languages(("en",)) == ("en", "zh")  # English first; the Chinese pages stay
    assert cfg.run_languages(("en", "zh")) == ("en", "zh")
    assert cfg.client_label("en") == cfg.client_name  # no English name given: the name as it is
    src = (ROOT / "configs" / "demo.yml").read_text(encoding="utf-8")
    p = tmp_path / "c.yml"
    p.write_text(src + "\nclient_name_en: East China Smart Equipment Co.\nlanguage: en\n"
                 "report: {languages: [zh]}\n", encoding="utf-8")
    p.write_text(p.read_text(encoding="utf-8").replace("../data", str(ROOT / "data")), encoding="utf-8")
    cfg = load_config(p)
    assert cfg.client_label("en") == "East China Smart Equipment Co." and cfg.client_label("zh") == cfg.client_name
    assert cfg.run_languages() == ("en", "zh")
    p.write_text(src.replace("../data", str(ROOT / "data")) + "\nreport: {languages: [zh, zh]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="listed twice"):
        load_config(p)


def test_the_footer_names_the_client_in_the_pages_language():
    from kit.publish.html import footer_html

    meta = {"client": "demo", "client_name": "华东智造", "client_name_en": "East China Smart Equipment",
            "period_label": "2026-Q3", "as_of": "2026-09-30", "inputs": {}, "started_utc": "t",
            "packages": {"customer-value-kit": "0.1", "pandas": "3", "lifetimes": "0.11"}}
    assert "East China Smart Equipment" in footer_html(meta, "en") and "华东智造" not in footer_html(meta, "en")
    assert "华东智造" in footer_html(meta, "zh")
    assert "华东智造" in footer_html(meta | {"client_name_en": ""}, "en")  # no English name: the name as it is


def test_read_optional_is_none_for_an_artifact_never_written(tmp_path):
    cfg = load_config(ROOT / "configs" / "demo.yml")
    ctx = RunContext(cfg=cfg, run_dir=tmp_path, as_of=pd.Timestamp("2024-06-30"), lang="zh")
    assert ctx.read_optional("usage_clean") is None
    ctx.write_parquet("usage_clean", pd.DataFrame({"logins": [3]}))
    assert ctx.read_optional("usage_clean")["logins"].tolist() == [3]


def test_a_notebook_reads_only_the_columns_it_names(tmp_path):
    """ctx.read_parquet(columns=...): the named columns the file has, in that order; the
    customer index comes back with them."""
    cfg = load_config(ROOT / "configs" / "demo.yml")
    ctx = RunContext(cfg=cfg, run_dir=tmp_path, as_of=pd.Timestamp("2024-06-30"), lang="zh")
    tx = pd.DataFrame({"customer_id": ["a", "b"], "order_id": ["o1", "o2"], "amount": [1.0, 2.0],
                       "category": ["x", "y"]})
    ctx.write_parquet("transactions_clean", tx)
    got = ctx.read_parquet("transactions_clean", columns=("customer_id", "amount", "is_return"))
    assert list(got.columns) == ["customer_id", "amount"] and got["amount"].tolist() == [1.0, 2.0]
    ctx.write_customers(pd.DataFrame({"tier": ["high", "low"], "clv": [3.0, 4.0]},
                                     index=pd.Index(["a", "b"], name="customer_id")))
    spine = ctx.read_parquet("customers", columns=["clv"])
    assert list(spine.columns) == ["clv"] and spine.index.name == "customer_id"
