"""Customer Value Kit: a periodic, quantified customer-value assessment.

The package in layers, lowest first; a layer imports only from itself and the layers below
(``tests/test_architecture.py`` holds this, ``docs/ARCHITECTURE.md`` draws it):

``core`` config (defaults in ``core/defaults/*.yml``), paths, periods, checks, the column
registry, notes -> ``io`` reading exports -> ``stages`` pure computation in data-flow order
(clean, layering, personas, clv, strategy) -> ``engines`` DuckDB / Spark execution ->
``present`` tables, plots, the message catalogue -> ``publish`` HTML pages, index page,
deliverables, the CSV writer, the runner (``kit run``) and the CLI.

``datasets`` (the seeded sample generator, ``python -m kit.datasets``) is a tool beside the
layers that uses only ``core``.
"""
__version__ = "0.1.0"

import warnings as _warnings

# lifetimes 0.11.3 sets a pandas option at import that pandas 3 deprecates; the option has
# no effect and the warning would show in every report that fits a model.
_warnings.filterwarnings(
    "ignore", message=r"The 'mode\.chained_assignment' option is deprecated", module=r"lifetimes(\.|$)"
)
