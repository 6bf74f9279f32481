"""Seeded synthetic data: the bundled B2B sample and a BG/NBD simulator for benchmarks.

Two generators live here.

* :func:`generate_b2b` draws a synthetic Chinese B2B supplier of industrial equipment and
  services (about 2,000 business customers, 2023-10-01 to 2026-09-30) with every behaviour
  the domain brief (``shared/DOMAIN.md``) needs to show: value tiers, stars and cash cows,
  fast-growing potential accounts, churners, upgraders, new customers with onboarding
  touchpoints, complaints and pain-point keywords. Customers are acquired throughout the
  window and drop out throughout it (after each repeat purchase with a small probability,
  the BG/NBD story), and the order value follows the customer's size rather than its order
  frequency, so the kit's BG/NBD and Gamma-Gamma models can be fitted and validated on a
  calibration / holdout split. It returns the **clean truth** (canonical
  English column names) and the **exports** a real CRM would give (Chinese headers, mixed
  formats and the defects of DOMAIN.md section 1 injected at known rates).
  A share of the customers also subscribe to the company's SaaS platform (issue 13): yearly
  contracts with renewals, lapses and cancellations, and monthly product usage with healthy
  and declining patterns, drawn from a separate random stream so the other files do not
  change. :func:`write_sample` writes the exports as ``orders.csv`` (GBK), ``customers.xlsx``
  (title row above the header), ``interactions.csv`` (UTF-8 with BOM), ``subscriptions.csv``
  and ``usage.csv`` (UTF-8), plus ``manifest.json`` (the exact injected counts and the
  documented rates) and ``README.md``.
* :func:`simulate_bgnbd` draws transactions from the BG/NBD + Gamma-Gamma story
  (Fader, Hardie & Lee 2005; Fader & Hardie 2013), vectorised for a million customers.

Every defect row is *added* to the true orders; none replaces one. A correct cleaner
therefore keeps exactly the truth's rows (after netting refunds against their orders) and
quarantines exactly the rows counted in the manifest.

Command line (``kit/datasets/__main__.py``)::

    python -m kit.datasets --out data/sample [--seed 20260930] [--customers 2000]

Modules, in the order of a draw: ``spec`` (layout, rates, vocabularies, archetypes),
``customers``, ``orders``, ``interactions``, ``subscriptions``, ``usage`` (the truth;
``orders_export`` and the export functions next to each truth write the files' rows),
``generate`` (:func:`generate_b2b`), ``manifest`` (with ``subscription_figures``), ``readme``
(with ``readme_subscriptions``), ``files`` (:func:`write_sample`), ``bgnbd`` (:func:`simulate_bgnbd`).
"""
from __future__ import annotations

from kit.datasets.bgnbd import simulate_bgnbd
from kit.datasets.files import write_sample
from kit.datasets.generate import generate_b2b, value_tiers
from kit.datasets.manifest import build_manifest, sample_dynamics
from kit.datasets.readme import render_readme
from kit.datasets.spec import (
    ACCOUNT_MANAGERS,
    AMOUNT_FORMATS,
    ARCHETYPES,
    Archetype,
    BILLING_LABELS,
    BILLING_SHARES,
    CATEGORIES,
    CONTACT_TITLES_LARGE,
    CONTACT_TITLES_SMALL,
    CUSTOMERS_FILE,
    CUSTOMERS_HEADERS,
    CUSTOMERS_SHEET,
    DATE_FORMATS,
    DECLINING_SHARE,
    DEFAULT_CUSTOMERS,
    DEFAULT_END,
    DEFAULT_SEED,
    DEFAULT_START,
    EXPANSION_PLANS,
    GROWTH_STAGES,
    ID_FORMATS,
    INDUSTRIES,
    INDUSTRY_GROWTH,
    INTERACTIONS_ENCODING,
    INTERACTIONS_FILE,
    INTERACTIONS_HEADERS,
    INTERACTION_DEFECT_RATES,
    INTERACTION_TYPES,
    LINE_TERMINATOR,
    MANIFEST_FILE,
    MASTER_DEFECT_RATES,
    ONBOARDING,
    ORDERS_ENCODING,
    ORDERS_FILE,
    ORDERS_HEADERS,
    ORDER_CHANNELS,
    ORDER_DEFECT_RATES,
    PAIN_KEYWORDS,
    PIPELINE_WINDOWS,
    PLANS,
    README_FILE,
    REFUND_FULL_SHARE,
    REFUND_PARENTHESES_SHARE,
    REGIONS,
    RENEWAL_PROBABILITY,
    SCORE_SCALE_0_10_CHANNELS,
    STATUS_LABELS,
    SUBSCRIBER_SHARE,
    SUBSCRIPTION_DEFECT_RATES,
    SUBSCRIPTIONS_ENCODING,
    SUBSCRIPTIONS_FILE,
    SUBSCRIPTIONS_HEADERS,
    TEST_ACCOUNT_IDS,
    UNPARSEABLE_AMOUNTS,
    UNPARSEABLE_DATES,
    USAGE_DEFECT_RATES,
    USAGE_ENCODING,
    USAGE_FILE,
    USAGE_HEADERS,
    ZERO_AMOUNTS,
)
from kit.datasets.subscription_figures import cohort_table
from kit.datasets.subscriptions import subscription_rng

__all__ = [
    "build_manifest", "cohort_table", "generate_b2b", "render_readme", "sample_dynamics", "simulate_bgnbd",
    "subscription_rng", "value_tiers", "write_sample",
    "ACCOUNT_MANAGERS",
    "AMOUNT_FORMATS",
    "ARCHETYPES",
    "Archetype",
    "BILLING_LABELS",
    "BILLING_SHARES",
    "CATEGORIES",
    "CONTACT_TITLES_LARGE",
    "CONTACT_TITLES_SMALL",
    "CUSTOMERS_FILE",
    "CUSTOMERS_HEADERS",
    "CUSTOMERS_SHEET",
    "DATE_FORMATS",
    "DECLINING_SHARE",
    "DEFAULT_CUSTOMERS",
    "DEFAULT_END",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "EXPANSION_PLANS",
    "GROWTH_STAGES",
    "ID_FORMATS",
    "INDUSTRIES",
    "INDUSTRY_GROWTH",
    "INTERACTIONS_ENCODING",
    "INTERACTIONS_FILE",
    "INTERACTIONS_HEADERS",
    "INTERACTION_DEFECT_RATES",
    "INTERACTION_TYPES",
    "LINE_TERMINATOR",
    "MANIFEST_FILE",
    "MASTER_DEFECT_RATES",
    "ONBOARDING",
    "ORDERS_ENCODING",
    "ORDERS_FILE",
    "ORDERS_HEADERS",
    "ORDER_CHANNELS",
    "ORDER_DEFECT_RATES",
    "PAIN_KEYWORDS",
    "PIPELINE_WINDOWS",
    "PLANS",
    "README_FILE",
    "REFUND_FULL_SHARE",
    "REFUND_PARENTHESES_SHARE",
    "REGIONS",
    "RENEWAL_PROBABILITY",
    "SCORE_SCALE_0_10_CHANNELS",
    "STATUS_LABELS",
    "SUBSCRIBER_SHARE",
    "SUBSCRIPTION_DEFECT_RATES",
    "SUBSCRIPTIONS_ENCODING",
    "SUBSCRIPTIONS_FILE",
    "SUBSCRIPTIONS_HEADERS",
    "TEST_ACCOUNT_IDS",
    "UNPARSEABLE_AMOUNTS",
    "UNPARSEABLE_DATES",
    "USAGE_DEFECT_RATES",
    "USAGE_ENCODING",
    "USAGE_FILE",
    "USAGE_HEADERS",
    "ZERO_AMOUNTS",
]
