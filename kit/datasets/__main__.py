"""``python -m kit.datasets --out data/sample [--seed N] [--customers N]``: write the sample."""
from __future__ import annotations

import argparse

import kit.datasets
from kit.core import paths
from kit.datasets.files import write_sample
from kit.datasets.spec import (
    CUSTOMERS_FILE,
    DEFAULT_CUSTOMERS,
    DEFAULT_END,
    DEFAULT_SEED,
    DEFAULT_START,
    INTERACTIONS_FILE,
    MANIFEST_FILE,
    ORDERS_FILE,
    README_FILE,
    SUBSCRIPTIONS_FILE,
    USAGE_FILE,
)


def main(argv: list[str] | None = None) -> int:
    """``python -m kit.datasets --out data/sample [--seed N] [--customers N]``."""
    ap = argparse.ArgumentParser(prog="python -m kit.datasets", description=(kit.datasets.__doc__ or "").split("\n\n")[0])
    ap.add_argument("--out", default=str(paths.SAMPLE_DIR), help="output folder (default: data/sample)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    ap.add_argument("--start", default=DEFAULT_START)
    ap.add_argument("--end", default=DEFAULT_END, help="last day of the history (the demo as_of)")
    args = ap.parse_args(argv)
    m = write_sample(args.out, seed=args.seed, n_customers=args.customers, start=args.start, end=args.end)
    out = paths.resolve(args.out)
    for name in (ORDERS_FILE, CUSTOMERS_FILE, INTERACTIONS_FILE, SUBSCRIPTIONS_FILE, USAGE_FILE, MANIFEST_FILE,
                 README_FILE):
        print(f"{out / name}  {(out / name).stat().st_size:>10,d} bytes")
    v = m["truth"]["value_tiers_12m"]
    print(f"orders {m['orders']['rows']} rows ({m['orders']['true_orders']} true), customers.xlsx "
          f"{m['customers']['rows']} rows, interactions {m['interactions']['rows']} rows")
    s, u = m["subscriptions"], m["usage"]
    print(f"subscriptions {s['rows']} rows ({s['true_contracts']} true contracts of {s['subscribers']['count']}"
          f" subscribers), usage {u['rows']} rows ({u['true_rows']} true)")
    print(f"value tiers (12 m, {v['customers']} ordering customers): high {v['high']}, "
          f"medium {v['medium']}, low {v['low']}, above 5M {v['above_5m']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
