"""Command line: ``kit run`` executes an assessment; ``kit check`` validates a config."""
from __future__ import annotations

import argparse
import sys

from kit.core.config import ConfigError, load_config
from kit.publish.run import RunFailed, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kit", description="Customer Value Kit")
    sub = parser.add_subparsers(dest="command", required=True)

    p_run = sub.add_parser("run", help="run the notebooks of one period into a run folder")
    p_run.add_argument("--config", required=True, help="YAML config, e.g. configs/demo.yml")
    p_run.add_argument("--as-of", dest="as_of", help="period end date YYYY-MM-DD (default: config)")
    p_run.add_argument("--out", help="output folder (default: reports/)")
    p_run.add_argument("--lang", choices=["zh", "en"], help="report language (default: config)")

    p_check = sub.add_parser("check", help="validate a config file and print its resolved values")
    p_check.add_argument("--config", required=True)

    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            try:
                result = run(args.config, out_dir=args.out, as_of=args.as_of, lang=args.lang)
            except RunFailed as e:
                print(f"kit run failed: {e}", file=sys.stderr)
                return 1
            print(result.index)
            return 0
        if args.command == "check":
            cfg = load_config(args.config)
            print(cfg.model_dump_json(indent=2))
            return 0
    except ConfigError as e:
        print(f"kit: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
