"""The command line: ``kit check`` (the preflight), ``kit init`` (a new client's config), the
header synonyms they rely on, and one-line errors (``kit: ...``, exit 2, never a traceback)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from kit.core import paths
from kit.core.config import SYNONYMS, InputTable, load_config
from kit.io import headers, read_table
from kit.publish.cli import build_parser, main
from kit.publish.init_config import PROPOSAL_MARK, round2

DEMO = paths.CONFIGS_DIR / "demo.yml"
SAMPLE = paths.SAMPLE_DIR
EXPORTS = Path(__file__).resolve().parent / "fixtures" / "exports"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kit: ") and "Traceback" not in err, err
    return lines[0]


# ---- kit check ----------------------------------------------------------------------------------


def test_check_demo_human_and_json(capsys):
    rc, out, err = _run(capsys, "check", "--config", str(DEMO), "--lang", "en")
    assert rc == 0, err
    assert err == ""
    assert "currency: CNY" in out and "in the config's currency, CNY" in out
    for table in ("[transactions]", "[customers]", "[interactions]", "[subscriptions]", "[usage]"):
        assert table in out
    assert "billing period    per row, from column '计费周期'" in out  # the demo's contracts
    assert "encoding gbk" in out and "sheet 客户主数据" in out and "first 5,000 of 32,343 rows" in out
    assert "amount ← 实付金额" in out and re.search(r"missing columns +profit · payment_status", out)
    # the sample's failing cells, with their source rows
    assert "row 385 '待补录'" in out and "row 1696 '面议'" in out
    assert "High value ≥ 500,000" in out and "whole file" in out
    # the file is sorted by date: its first rows end in 2024, yet the last purchase is 2026-09-30
    assert "stale_after_days" not in out
    assert out.strip().endswith("OK: nothing checked would fail the run.")
    assert len(out.splitlines()) < 100, "one short table per input (five inputs), not a dump"

    rc, out, err = _run(capsys, "check", "--config", str(DEMO), "--json")
    assert rc == 0, err
    facts = json.loads(out)
    assert facts["ok"] is True and facts["errors"] == [] and facts["currency"] == "CNY"
    assert [i["table"] for i in facts["inputs"]] == ["transactions", "customers", "interactions", "subscriptions",
                                                     "usage"]
    tx = facts["inputs"][0]
    assert (tx["encoding"], tx["delimiter"], tx["header_row"], tx["rows"]) == ("gbk", ",", 1, 32343)
    assert {m["column"]: m["header"] for m in tx["mapping"]}["amount"] == "实付金额"
    amount = next(p for p in tx["parse"] if p["column"] == "amount")
    assert amount["cells"] == 5000 and 0.99 < amount["rate"] < 1 and len(amount["failures"]) == 3
    assert tx["dates"]["first"] == "2023-10-01"
    th = facts["thresholds"]
    assert th["basis"] == "whole file" and th["rows"] == 32343 and th["window"] == ["2025-10-01", "2026-09-30"]
    assert sum(c["customers"] for c in th["value_tiers"]) == th["customers"] == sum(c["customers"] for c in th["abc"])
    assert [c["min"] for c in th["value_tiers"]] == [500000, 100000, None]


def test_check_show_config_prints_the_resolved_config(capsys):
    rc, out, _ = _run(capsys, "check", "--config", str(DEMO), "--show-config")
    assert rc == 0 and json.loads(out) == json.loads(load_config(DEMO).model_dump_json())


def _config(tmp_path: Path, orders: str, name: str = "c.yml", **extra) -> Path:
    data = {"client": "t", "language": "en", "inputs": {"transactions": {"path": orders, **extra}}}
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_check_missing_orders_file_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --config relative to the current directory
    _config(tmp_path, "no_such_orders.csv")
    rc, out, err = _run(capsys, "check", "--config", "c.yml")
    assert rc == 2
    line = _one_line_error(err)
    assert "no_such_orders.csv" in line and "file not found" in line
    assert str(tmp_path / "no_such_orders.csv") in line  # input paths: relative to the config's folder
    assert "1 problem(s) would fail the run" in out


def test_check_stops_on_an_ambiguous_decimal_column(capsys, tmp_path):
    cfg = _config(tmp_path, str(EXPORTS / "decimal_ambiguous.csv"))
    rc, out, err = _run(capsys, "check", "--config", str(cfg))
    assert rc == 2
    line = _one_line_error(err)
    # kit.io's message: the column, example cells and the config key that settles it
    assert "decimal_ambiguous.csv" in line and "'amount'" in line and "inputs.transactions.decimal" in line
    assert re.search(r"'\d,\d{3}'", line), line
    # the key settles it
    cfg = _config(tmp_path, str(EXPORTS / "decimal_ambiguous.csv"), decimal=",")
    assert _run(capsys, "check", "--config", str(cfg))[0] == 0


def test_check_small_file_splits_the_whole_file(capsys, tmp_path):
    rows = ["customer_id,order_date,amount"] + [f"C{i % 5},2024-0{1 + i % 6}-15,{(i + 1) * 1000}" for i in range(30)]
    (tmp_path / "o.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    cfg = _config(tmp_path, "o.csv")
    rc, out, err = _run(capsys, "check", "--config", str(cfg), "--json")
    assert rc == 0, err
    th = json.loads(out)["thresholds"]
    assert th["basis"] == "whole file" and th["customers"] == 5
    assert th["window"] == ["2023-07-01", "2024-06-30"]  # as_of: the end of the latest order's quarter
    # customer Ck: 6 orders, (6k + 81) x 1,000 in all: 81,000 .. 105,000; only C4 reaches 100,000
    assert [c["customers"] for c in th["value_tiers"]] == [0, 1, 4]
    rc, out, _ = _run(capsys, "check", "--config", str(cfg), "--lang", "zh")
    assert rc == 0 and "全文件" in out and "currency: CNY" in out


@pytest.mark.parametrize("text, needle", [
    ("client: x\ninputs: [unclosed\n", "not valid YAML"),
    ("client: x\ninputs: {transactions: {path: a.csv}}\nbogus: 1\n", "bogus"),
    ("client: x\nas_of: 2025-13-31\ninputs: {transactions: {path: a.csv}}\n", "as_of"),
])
def test_config_errors_are_one_line(capsys, tmp_path, text, needle):
    p = tmp_path / "c.yml"
    p.write_text(text, encoding="utf-8")
    for argv in (["check", "--config", str(p)], ["run", "--config", str(p), "--out", str(tmp_path / "r")]):
        rc, _, err = _run(capsys, *argv)
        assert rc == 2, argv
        assert needle in _one_line_error(err)


def test_missing_config_and_usage_errors_are_one_line(capsys, tmp_path):
    rc, _, err = _run(capsys, "check", "--config", str(tmp_path / "nope.yml"))
    assert rc == 2 and "nope.yml" in _one_line_error(err)
    with pytest.raises(SystemExit) as e:
        main(["check"])
    assert e.value.code == 2 and "--config" in _one_line_error(capsys.readouterr().err)


def test_run_help_says_how_relative_paths_resolve():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    text = " ".join(sub.choices["run"].format_help().split())
    assert "--config and --out are taken relative to the current directory" in text
    assert "input paths inside a config (inputs.<table>.path) relative to the config file's folder" in text


# ---- kit init -----------------------------------------------------------------------------------


def test_init_on_the_sample_data(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = _run(capsys, "init", "--client", "acme", "--orders", str(SAMPLE / "orders.csv"),
                        "--customers", str(SAMPLE / "customers.xlsx"), "--interactions",
                        str(SAMPLE / "interactions.csv"), "--currency", "USD", "--lang", "en")
    assert rc == 0, err
    written = tmp_path / "configs" / "acme.yml"  # default --out, relative to the current directory
    assert "Wrote" in out and str(written) in out
    text = written.read_text(encoding="utf-8")
    cfg = load_config(written)
    assert (cfg.client, cfg.currency, cfg.language, cfg.report.currency) == ("acme", "USD", "en", "$")
    raw_paths = yaml.safe_load(text)["inputs"]
    for table, name in (("transactions", "orders.csv"), ("customers", "customers.xlsx"),
                        ("interactions", "interactions.csv")):
        assert not Path(raw_paths[table]["path"]).is_absolute()  # relative to the config's folder
        assert Path(getattr(cfg.inputs, table).path) == SAMPLE / name
    tx, cu = cfg.inputs.transactions, cfg.inputs.customers
    assert (tx.format, tx.encoding, tx.delimiter, tx.header_row) == ("csv", "gbk", ",", 0)
    assert (cu.format, cu.sheet, cu.header_row) == ("excel", "客户主数据", 2)
    assert tx.columns["amount"] == "实付金额" and cu.columns["account_manager"] == "客户经理"
    assert '# profit: ""' in text and '# industry_growth: ""' in text  # missing optional columns, commented
    marked = [line for line in text.splitlines() if PROPOSAL_MARK in line and not line.lstrip().startswith("#")]
    assert len(marked) == 4, marked
    vt, abc = cfg.layering.value_tiers, cfg.layering.abc
    for v in (vt.high_min, vt.medium_min, abc.a_min, abc.b_min):
        assert v == round2(v) and v != 500_000  # two significant digits, from the data
    assert vt.medium_min < vt.high_min and abc.b_min < abc.a_min
    rc, out, err = _run(capsys, "check", "--config", "configs/acme.yml")
    assert rc == 0, err
    assert "currency: USD" in out


def test_init_refuses_to_overwrite(capsys, tmp_path):
    out = tmp_path / "x.yml"
    out.write_text("keep me\n", encoding="utf-8")
    argv = ["init", "--client", "x", "--orders", str(EXPORTS / "decimal_comma.csv"), "--out", str(out)]
    rc, _, err = _run(capsys, *argv)
    assert rc == 2 and "--force" in _one_line_error(err)
    assert out.read_text(encoding="utf-8") == "keep me\n"
    rc, _, err = _run(capsys, *argv, "--force")
    assert rc == 0, err and load_config(out).client == "x"


def test_init_and_check_on_a_decimal_comma_file(capsys, tmp_path):
    out = tmp_path / "sub" / "dc.yml"
    rc, _, err = _run(capsys, "init", "--client", "dc", "--orders", str(EXPORTS / "decimal_comma.csv"),
                      "--currency", "EUR", "--out", str(out))
    assert rc == 0, err
    cfg = load_config(out)
    tx = cfg.inputs.transactions
    assert (tx.delimiter, tx.decimal, tx.dayfirst) == (";", ",", True)
    assert tx.columns == {"customer_id": "Kunde", "order_date": "Datum", "amount": "Betrag",
                          "order_id": "Bestellung", "margin": "Marge"}
    rc, out_text, err = _run(capsys, "check", "--config", str(out), "--json")
    assert rc == 0, err
    facts = json.loads(out_text)
    assert all(p["rate"] == 1.0 for p in facts["inputs"][0]["parse"])
    assert facts["thresholds"]["basis"] == "whole file"


def test_init_errors_are_one_line(capsys, tmp_path):
    base = ["init", "--out", str(tmp_path / "a.yml")]
    for argv, needle in (
        (["--client", "..", "--orders", str(EXPORTS / "decimal_comma.csv")], "--client"),
        (["--client", "a", "--orders", str(tmp_path / "none.csv")], "file not found"),
        (["--client", "a", "--orders", str(EXPORTS / "decimal_ambiguous.csv")], "inputs.transactions.decimal"),
        (["--client", "a", "--orders", str(EXPORTS / "decimal_comma.csv"), "--map", "bad"], "--map"),
    ):
        rc, _, err = _run(capsys, *base, *argv)
        assert rc == 2 and needle in _one_line_error(err), argv
    assert not (tmp_path / "a.yml").exists()


# ---- synonyms -----------------------------------------------------------------------------------


def test_english_erp_headers_map_by_synonyms(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text("Customer,Invoice Date,Net Sales,Sales Rep,Qty,Invoice No\n"
                      "ACME,2024-01-05,1200.50,Ann,3,INV-1\nBETA,2024-02-11,80,Bob,1,INV-2\n", encoding="utf-8")
    raw = read_table(InputTable(path=str(orders)), "transactions")
    assert raw.mapping == {"customer_id": "Customer", "order_date": "Invoice Date", "amount": "Net Sales",
                           "order_id": "Invoice No", "quantity": "Qty"}
    assert set(raw.how.values()) == {"synonym"}
    # no canonical orders column for a sales rep: it stays unmapped (the master carries it)
    assert "Sales Rep" not in raw.mapping.values()
    master = tmp_path / "customers.csv"
    master.write_text("Customer ID,Customer Name,Account Manager,Industry\nACME,Acme Ltd,Ann,Retail\n", encoding="utf-8")
    raw = read_table(InputTable(path=str(master)), "customers")
    assert raw.mapping == {"customer_id": "Customer ID", "name": "Customer Name",
                           "industry": "Industry", "account_manager": "Account Manager"}


@pytest.mark.parametrize("header, table, column", [
    ("Account", "transactions", "customer_id"), ("Client", "transactions", "customer_id"),
    ("Order Date", "transactions", "order_date"), ("Date", "transactions", "order_date"),
    ("开票日期", "transactions", "order_date"), ("Revenue", "transactions", "amount"),
    ("Sales", "transactions", "amount"), ("Amount", "transactions", "amount"), ("Total", "transactions", "amount"),
    ("不含税金额", "transactions", "amount"), ("含税金额(元)", "transactions", "amount"),
    ("Quantity", "transactions", "quantity"), ("Units", "transactions", "quantity"),
    ("商品数量", "transactions", "quantity"), ("销售数量", "transactions", "quantity"),
    ("Product Category", "transactions", "category"), ("Category", "transactions", "category"),
    ("Channel", "transactions", "channel"), ("Margin", "transactions", "margin"), ("Profit", "transactions", "profit"),
    ("Status", "transactions", "status"), ("Order No", "transactions", "order_id"),
    ("Order Number", "transactions", "order_id"), ("客户全称", "customers", "name"),
    ("Account Name", "customers", "name"), ("Owner", "customers", "account_manager"),
    ("Sales Rep", "customers", "account_manager"), ("Customer", "customers", "customer_id"),
    ("Customer Name", "transactions", "customer_id"), ("Account Name", "transactions", "customer_id"),
])
def test_each_listed_header_maps(header, table, column):
    required = {"transactions": ["customer_id", "order_date", "amount"], "customers": ["customer_id"]}[table]
    others = {"customer_id": "cust_no", "order_date": "交易日期", "amount": "实收金额"}
    cols = [header] + [others[c] for c in required if c != column]
    mapping, _ = headers.map_columns(cols, table, {})
    assert mapping[column] == header


def test_net_of_tax_amount_wins_over_gross():
    mapping, _ = headers.map_columns(["客户编号", "开票日期", "含税金额", "不含税金额"], "transactions", {})
    assert mapping["amount"] == "不含税金额"


def test_no_header_maps_to_two_columns():
    assert headers.synonym_collisions() == []
    broken = {"transactions": {"amount": ["Sales", "total"], "quantity": ["qty", "SALES "]}}
    assert headers.synonym_collisions(broken) == ["transactions: 'sales' -> amount, quantity"]


def test_synonyms_live_in_one_place():
    assert headers.SYNONYMS is SYNONYMS  # kit.io reads kit/core/defaults/columns.yml through kit.core.config
    assert "SYNONYMS: dict[str, dict[str, list[str]]] = {" not in Path(headers.__file__).read_text(encoding="utf-8")


def test_check_warns_when_thresholds_do_not_fit_the_currency(capsys, tmp_path):
    """A config in USD with the brief's CNY thresholds puts everyone in one class: check says
    so, naming the keys and the currency (before a run is wasted on it)."""
    cfg = _config(tmp_path, str(EXPORTS / "decimal_comma.csv"))
    text = cfg.read_text(encoding="utf-8") + "currency: USD\n"
    cfg.write_text(text, encoding="utf-8")
    rc, out, err = _run(capsys, "check", "--config", str(cfg), "--lang", "en")
    assert rc == 0, err
    assert "currency: USD" in out and "amount: decimal ',', thousands '.'" in out and "order_date: day first" in out
    warning = next(line for line in out.splitlines() if "layering.value_tiers.high_min" in line)
    assert "100.0 % of customers (8 of 8)" in warning and "(USD)" in warning
    rc, out, _ = _run(capsys, "check", "--config", str(cfg), "--json")
    codes = [n["code"] for n in json.loads(out)["thresholds"]["concentrated"]]
    assert codes == ["layering.concentrated", "layering.concentrated"]


def test_check_stops_when_no_purchase_is_up_to_as_of(capsys, tmp_path):
    cfg = _config(tmp_path, str(EXPORTS / "refunds_only.csv"))
    rc, _, err = _run(capsys, "check", "--config", str(cfg))
    assert rc == 2
    assert "no purchase up to" in _one_line_error(err) and "all refunds" in err


def test_init_set_and_map_settle_what_detection_cannot(capsys, tmp_path):
    out = tmp_path / "a.yml"
    base = ["init", "--client", "a", "--out", str(out), "--force", "--lang", "en"]
    ambiguous = ["--orders", str(EXPORTS / "decimal_ambiguous.csv")]
    rc, _, err = _run(capsys, *base, *ambiguous)
    assert rc == 2 and "with kit init pass --set transactions.decimal=<value>" in _one_line_error(err)
    rc, _, err = _run(capsys, *base, *ambiguous, "--set", "transactions.decimal=,")
    assert rc == 0, err
    assert load_config(out).inputs.transactions.decimal == ","
    assert 'decimal: ","    # set with --set' in out.read_text(encoding="utf-8")
    assert _run(capsys, "check", "--config", str(out))[0] == 0

    odd = tmp_path / "odd.csv"
    odd.write_text("Kd,Tag,Wert\nK1,2024-03-01,10.5\nK2,2024-03-02,20\n", encoding="utf-8")
    rc, _, err = _run(capsys, *base, "--orders", str(odd))
    assert rc == 2 and "--map transactions.<column>=<header>" in _one_line_error(err)
    rc, _, err = _run(capsys, *base, "--orders", str(odd), "--map", "transactions.customer_id=Kd",
                      "--map", "orders.order_date=Tag", "--map", "transactions.amount=Wert")
    assert rc == 0, err
    cfg = load_config(out)
    assert cfg.inputs.transactions.columns == {"customer_id": "Kd", "order_date": "Tag", "amount": "Wert"}
    rc, _, err = _run(capsys, *base, *ambiguous, "--set", "transactions.decimal=x")
    assert rc == 2 and "--set transactions.decimal" in _one_line_error(err)


def test_init_says_when_a_name_is_the_customer_key(capsys, tmp_path):
    orders = tmp_path / "names.csv"
    orders.write_text("Customer Name,Order Date,Revenue\nAcme,2024-03-01,100\nBeta,2024-04-02,50\n", encoding="utf-8")
    out = tmp_path / "n.yml"
    rc, _, err = _run(capsys, "init", "--client", "n", "--orders", str(orders), "--out", str(out), "--currency", "usd")
    assert rc == 0, err
    text = out.read_text(encoding="utf-8")
    assert 'customer_id: "Customer Name"    # found by synonym: a name used as the key' in text
    assert load_config(out).currency == "USD"


@pytest.mark.slow
def test_pdf_is_skipped_with_a_message_without_chromium(small_run, monkeypatch, capsys):
    """kit pdf where Chromium is absent: one line saying why and how to get it, exit 3."""
    import kit.publish.cli as cli

    monkeypatch.setattr(cli, "find_chromium", lambda: None)
    assert cli.main(["pdf", str(small_run.run_dir)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PDF skipped" in err and "apt-get install chromium" in err


@pytest.mark.slow
def test_pdf_of_the_executive_summary(small_run, tmp_path, capsys):
    """kit pdf prints the run's index.html to a PDF (where Chromium is present)."""
    from kit.publish.screenshots import find_chromium

    if find_chromium() is None:
        pytest.skip("Chromium is not installed: apt-get install chromium")
    from kit.publish.cli import main

    out = tmp_path / "summary.pdf"
    assert main(["pdf", str(small_run.run_dir), "--out", str(out)]) == 0
    assert out.read_bytes()[:5] == b"%PDF-" and out.stat().st_size > 20_000
    assert capsys.readouterr().out.strip() == str(out)
