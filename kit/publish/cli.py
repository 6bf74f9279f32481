"""Command line: ``kit run`` executes an assessment, ``kit check`` is its preflight (the
config and the data, in seconds), ``kit init`` writes a commented config for a new client,
``kit backfill`` computes past periods' key figures into the history store (the trend).

Every error is one line ``kit: <message>`` on stderr and exit status 2 (a failed run: 1),
never a traceback. Paths on the command line are taken relative to the current directory;
input paths inside a config relative to the config file's folder.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from kit.core.config import ConfigError, load_config
from kit.io import InputError
from kit.present import messages
from kit.publish.backfill import BackfillError, backfill
from kit.publish.check_text import render
from kit.publish.init_config import PROPOSAL_MARK, InitError, init_config
from kit.publish.preflight import SAMPLE_ROWS, check_inputs
from kit.publish.run import RunFailed, run
from kit.publish.screenshots import find_chromium, print_pdf

PATHS_HELP = (
    "Relative paths: --config and --out are taken relative to the current directory; the "
    "input paths inside a config (inputs.<table>.path) relative to the config file's folder."
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line ``kit: ...`` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        print(f"kit: {self.prog.removeprefix('kit ')}: {message} (see kit --help)", file=sys.stderr)
        sys.exit(2)


def _one_line(e: BaseException) -> str:
    return " ".join(part.strip() for part in str(e).splitlines() if part.strip())


def _cwd_path(p: str | None) -> Path | None:
    """A command-line path: relative to the current directory (not the install folder)."""
    return None if p is None else Path(p).expanduser().resolve()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kit", description="Customer Value Kit", epilog=PATHS_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p_run = sub.add_parser("run", help="run the notebooks of one period into a run folder",
                           description="Run the notebooks of one period into <out>/<client>/<period>/.",
                           epilog=PATHS_HELP)
    p_run.add_argument("--config", required=True, help="YAML config, e.g. configs/demo.yml (relative to the current directory)")
    p_run.add_argument("--as-of", dest="as_of", help="period end date YYYY-MM-DD (default: config)")
    p_run.add_argument("--out", help="output folder, relative to the current directory (default: the kit's reports/)")
    p_run.add_argument("--lang", type=_languages, help="report languages, the first one's pages unsuffixed: zh, en, "
                       "zh,en or en,zh (default: the config's language, then the rest of report.languages; "
                       "both are built from one computation)")

    p_back = sub.add_parser(
        "backfill", help="compute past periods' key figures from the transaction log (for the trend)",
        description="Compute the key figures of past periods from the transaction log, without running the "
        "notebooks, into <out>/<client>/history/, so that the next report shows a trend; rewrites the client's "
        "landing page <out>/<client>/index.html.", epilog=PATHS_HELP)
    p_back.add_argument("--config", required=True, help="YAML config (relative to the current directory)")
    p_back.add_argument("--from", dest="start", required=True, metavar="PERIOD",
                        help="first period, e.g. 2025-Q1 (quarters) or 2025-03 (months), or a date in it")
    p_back.add_argument("--to", dest="end", metavar="PERIOD",
                        help="last period (default: the one before the config's as_of, which kit run computes)")
    p_back.add_argument("--out", help="output folder, relative to the current directory (default: the kit's reports/)")
    p_back.add_argument("--no-clv", dest="no_clv", action="store_true",
                        help="leave predicted CLV out (faster; the periods say so)")
    p_back.add_argument("--replace", action="store_true",
                        help="also replace periods recorded by a full kit run (kept by default)")

    p_check = sub.add_parser(
        "check", help="check a config and its data without running the notebooks",
        description="Open every input of a config as the run would; show how each is read and mapped, "
        "parse rates on a sample, the date range against as_of and how the money thresholds split "
        "the customers. Exit 0 when nothing checked would fail the run, 2 otherwise.", epilog=PATHS_HELP)
    p_check.add_argument("--config", required=True, help="YAML config (relative to the current directory)")
    p_check.add_argument("--sample", type=int, default=SAMPLE_ROWS,
                         help=f"rows of each input whose values are parsed (default {SAMPLE_ROWS:,}; 0: all)")
    p_check.add_argument("--json", action="store_true", help="print the facts as JSON (for machines)")
    p_check.add_argument("--show-config", dest="show_config", action="store_true",
                         help="print the resolved configuration (every value, defaults included) and stop")
    p_check.add_argument("--lang", choices=["zh", "en"], help="language of the text (default: config)")

    p_init = sub.add_parser(
        "init", help="write a commented config for a new client from its export files",
        description="Detect how each file is stored, map its headers by synonyms and propose money "
        "thresholds from the data; the written config says what to review.", epilog=PATHS_HELP)
    p_init.add_argument("--client", required=True, help="client key: letters, digits, _ . - (a folder name)")
    p_init.add_argument("--orders", required=True, help="the orders (transactions) export")
    p_init.add_argument("--customers", help="the customer master export (optional)")
    p_init.add_argument("--interactions", help="the interactions export (optional)")
    p_init.add_argument("--currency", help="currency of the money values, e.g. USD (default: CNY)")
    p_init.add_argument("--lang", choices=["zh", "en"], help="report language (default: zh)")
    p_init.add_argument("--out", help="config file to write (default: configs/<client>.yml)")
    p_init.add_argument("--map", action="append", default=[], metavar="TABLE.COLUMN=HEADER",
                        help="map a header the synonyms miss, e.g. transactions.amount=Betrag (repeatable)")
    p_init.add_argument("--set", dest="settings", action="append", default=[], metavar="TABLE.KEY=VALUE",
                        help="how to read a file where detection cannot decide, e.g. transactions.decimal=, "
                        "or customers.sheet=Data (repeatable)")
    p_init.add_argument("--force", action="store_true", help="overwrite an existing config file")

    p_pdf = sub.add_parser("pdf", help="print a run's executive summary (index.html) to PDF with headless Chromium")
    p_pdf.add_argument("run_dir", help="a run folder, e.g. reports/demo/2026-Q3 (relative to the current directory)")
    p_pdf.add_argument("--out", help="PDF to write (default: <run>/summary.pdf)")
    return parser


def _pdf(args: argparse.Namespace) -> int:
    run_dir = _cwd_path(args.run_dir)
    page = run_dir / "index.html"
    if not page.exists():
        print(f"kit: {page}: no executive summary there; give a run folder (reports/<client>/<period>)", file=sys.stderr)
        return 2
    if find_chromium() is None:
        print("kit: PDF skipped: Chromium is not installed (apt-get install chromium, or set $CHROMIUM)",
              file=sys.stderr)
        return 3
    print(print_pdf(page, _cwd_path(args.out) if args.out else run_dir / "summary.pdf"))
    return 0


def _check(args: argparse.Namespace) -> int:
    cfg = load_config(_cwd_path(args.config))
    if args.show_config:
        print(cfg.model_dump_json(indent=2))
        return 0
    facts = check_inputs(cfg, sample_rows=args.sample)
    if args.json:
        print(json.dumps(facts, ensure_ascii=False, indent=1))
    else:
        print(render(facts, args.lang or cfg.language))
    if not facts["ok"]:
        print(f"kit: {facts['errors'][0]}" + (f" (and {len(facts['errors']) - 1} more)" if len(facts["errors"]) > 1 else ""),
              file=sys.stderr)
        return 2
    return 0


def _init(args: argparse.Namespace) -> int:
    out = _cwd_path(args.out or f"configs/{args.client}.yml")
    files = {"transactions": args.orders, "customers": args.customers, "interactions": args.interactions}
    written = init_config(
        args.client, {t: _cwd_path(f) for t, f in files.items() if f}, out,
        currency=args.currency, lang=args.lang, mapping=args.map, settings_items=args.settings, force=args.force,
    )
    lang = args.lang or load_config(written).language
    print(messages.text("cli.init.wrote", lang, path=written, marker=PROPOSAL_MARK))
    return 0


def _languages(value: str) -> str:
    """``--lang``: one language or a comma list of zh and en."""
    items = [x.strip() for x in value.split(",")]
    if not items or any(x not in ("zh", "en") for x in items) or len(set(items)) != len(items):
        raise argparse.ArgumentTypeError(f"{value!r}: give zh, en, zh,en or en,zh")
    return ",".join(items)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            try:
                result = run(_cwd_path(args.config), out_dir=_cwd_path(args.out), as_of=args.as_of, lang=args.lang)
            except RunFailed as e:
                print(f"kit: run failed: {e}", file=sys.stderr)
                return 1
            print(result.index)
            return 0
        if args.command == "backfill":
            try:
                backfill(_cwd_path(args.config), start=args.start, end=args.end, out_dir=_cwd_path(args.out),
                         with_clv=not args.no_clv, replace_runs=args.replace)
            except RunFailed as e:
                print(f"kit: backfill failed: {_one_line(e)}", file=sys.stderr)
                return 1
            return 0
        if args.command == "check":
            return _check(args)
        if args.command == "init":
            return _init(args)
        if args.command == "pdf":
            return _pdf(args)
    except (ConfigError, InputError, InitError, BackfillError) as e:
        print(f"kit: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"kit: {where}{e.strerror or _one_line(e)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
