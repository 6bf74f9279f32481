"""The kit's fitters for MBG/NBD and Pareto/NBD: drop-ins for lifetimes' own.

:class:`FastModifiedBetaGeoFitter` runs lifetimes' BFGS on :class:`~kit.stages.clv.family._MbgNbdObjective`
(the same estimates as lifetimes', to about 1e-12); :class:`FastParetoNBDFitter` maximises
lifetimes' Pareto/NBD objective by Newton trust-region steps on exact derivatives (deterministic, to the maximum
lifetimes' random-start Nelder-Mead stops short of). Both replace lifetimes' P(alive) and
conditional expectation with the closed forms of :mod:`kit.stages.clv.family_forms`, computed
in logs (finite for long-inactive heavy buyers, where lifetimes underflows).
"""
from __future__ import annotations

import numpy as np
from lifetimes import ModifiedBetaGeoFitter, ParetoNBDFitter

from kit.stages.clv import family_forms as forms
from kit.stages.clv.family import _MbgNbdObjective, _pareto_minimise, _ParetoNbdObjective
from kit.stages.clv.likelihood import _bfgs_as_lifetimes


def _params(fitter, names):
    return dict(zip(names, (float(v) for v in fitter._unload_params(*names))))


MBG = ("r", "alpha", "a", "b")


class FastParetoNBDFitter(ParetoNBDFitter):
    """lifetimes' ParetoNBDFitter maximised by Newton trust-region steps on exact derivatives (kit.stages.clv).

    Deterministic (start 1 for every parameter, lifetimes' mean start) and run to the
    maximum (``tol=1e-10``) where lifetimes' Nelder-Mead stops at ``tol=1e-4``; the Hessian of
    the objective in log-parameters is kept in ``_hessian_`` (lifetimes keeps None).
    """

    def _fit(self, minimizing_function_args, iterative_fitting, initial_params, params_size, disp,
             tol=1e-6, fit_method="Nelder-Mead", maxiter=2000, **kwargs):
        *data, penalizer = minimizing_function_args
        x0 = np.ones(params_size) if initial_params is None else np.asarray(initial_params, dtype=float)
        objective = _ParetoNbdObjective(*data, penalizer)
        params, nll, hess = _pareto_minimise(objective, x0, disp=disp)
        self._kit_hessian = hess
        return params, nll

    def fit(self, frequency, recency, T, weights=None, *args, **kwargs):
        super().fit(frequency, recency, T, weights, *args, **kwargs)
        self._hessian_ = getattr(self, "_kit_hessian", None)
        if self._hessian_ is not None:  # lifetimes has no Hessian for this model: standard errors too
            self.variance_matrix_ = self._compute_variance_matrix()
            self.standard_errors_ = self._compute_standard_errors()
            self.confidence_intervals_ = self._compute_confidence_intervals()
        return self

    def conditional_probability_alive(self, frequency, recency, T):
        return forms.pareto_p_alive(_params(self, forms.PARETO_PARAMS), frequency, recency, T)

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        return forms.pareto_conditional_expected(_params(self, forms.PARETO_PARAMS), t, frequency, recency, T)


def _make_mbg_fitter():
    def _fit(self, args, initial_params, params_size, disp, tol=1e-7, bounds=None, **kwargs):
        if bounds is not None or kwargs:
            return ModifiedBetaGeoFitter._fit(self, args, initial_params, params_size, disp, tol, bounds, **kwargs)
        *data, penalizer = args
        x0 = 0.1 * np.ones(params_size) if initial_params is None else initial_params
        return _bfgs_as_lifetimes(_MbgNbdObjective(*data, penalizer), x0, tol, disp)

    def conditional_probability_alive(self, frequency, recency, T):
        return np.atleast_1d(forms.mbg_p_alive(_params(self, MBG), frequency, recency, T))

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        return forms.mbg_conditional_expected(_params(self, MBG), t, frequency, recency, T)

    return type("FastModifiedBetaGeoFitter", (ModifiedBetaGeoFitter,), {
        "_fit": _fit, "__module__": __name__,
        "conditional_probability_alive": conditional_probability_alive,
        "conditional_expected_number_of_purchases_up_to_time": conditional_expected_number_of_purchases_up_to_time,
        "__doc__": "lifetimes' ModifiedBetaGeoFitter with exact numpy derivatives (kit.stages.clv)."})


#: lifetimes' ModifiedBetaGeoFitter optimised on :class:`_MbgNbdObjective`.
FastModifiedBetaGeoFitter = _make_mbg_fitter()
