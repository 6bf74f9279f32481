"""The distinct rows and pairs the intervals compute once: the same values as row by row."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kit.stages.clv.closed_forms import DistinctPairs, distinct_rows
from kit.stages.clv.family_forms import PARAM_NAMES
from kit.stages.clv.results import BgNbdResult
from kit.stages.clv.scoring import discounted_expected_purchases

PARAMS = {"bgnbd": (0.24, 4.4, 0.79, 2.4), "mbgnbd": (0.5, 6.0, 0.9, 3.0),
          "pareto_nbd": (0.55, 10.6, 0.61, 11.7)}


def _rows(seed: int, n: int = 6_000):
    """Customers sharing few (x, t_x, T) values, as real summaries do; t_x <= T, t_x = 0
    when x = 0, and some t_x = T (A_0 is 0 there)."""
    rng = np.random.default_rng(seed)
    T = rng.choice(np.arange(1.0, 16.0), n)
    x = rng.choice(np.arange(0.0, 6.0), n)
    tx = np.where(x > 0, np.minimum(T, rng.choice(np.arange(0.0, 16.0), n)), 0.0)
    tx[::97] = T[::97]
    return x, tx, T


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distinct_rows_are_numpys_unique_rows(seed):
    x, tx, T = _rows(seed)
    x[::11] = -0.0 * x[::11]  # signed zeros: one row value, as np.unique sees them
    (ux, utx, uT), inv = distinct_rows(x, tx, T)
    want, want_inv = np.unique(np.stack([x, tx, T], axis=1), axis=0, return_inverse=True)
    np.testing.assert_array_equal(np.stack([ux, utx, uT], axis=1), want)
    np.testing.assert_array_equal(inv, want_inv.ravel())
    assert len(ux) < len(x) / 2  # the rows do repeat: the test checks the grouping
    (none,), empty_inv = distinct_rows(np.zeros(0))
    assert len(none) == 0 and len(empty_inv) == 0


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_predictions_with_pairs_are_the_row_by_row_values(kind):
    x, tx, T = _rows(7)
    fit = BgNbdResult(params_=dict(zip(PARAM_NAMES[kind], PARAMS[kind])), standard_errors_={},
                      log_likelihood_=0.0, n_customers_=len(x), n_patterns_=len(x), status_="ok",
                      penalizer_=0.0, time_unit_="week", kind_=kind)
    pairs = DistinctPairs.of(x, tx, T)
    assert len(pairs.x_tx[0]) < len(x) / 4 and len(pairs.x_T[0]) < len(x) / 4
    alone = fit.p_alive(x, tx, T)
    assert np.isfinite(alone).all() and alone.min() < 0.5 < alone.max()
    np.testing.assert_array_equal(fit.p_alive(x, tx, T, pairs), alone)
    kw = dict(horizon_months=12, discount_rate_monthly=0.01, periods_per_month=4.345, p_alive=alone)
    for got, want in zip(discounted_expected_purchases(fit, x, tx, T, pairs=pairs, **kw),
                         discounted_expected_purchases(fit, x, tx, T, **kw)):
        np.testing.assert_array_equal(got, want)
    other = dataclasses.replace(fit, params_={k: v * 1.1 for k, v in fit.params_.items()})
    assert not np.array_equal(other.p_alive(x, tx, T, pairs), alone)  # the pairs carry no values
