"""Fitted CLV models: :class:`BgNbdResult` and :class:`GammaGammaResult`.

Each result holds the estimates, what was done to fit them (``status_``, ``attempts_``) and
``notes_``: :class:`kit.core.notes.Note` objects (message codes with parameters) for the
report, never sentences.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from kit.core.notes import Note
from kit.stages.clv import family_forms as forms
from kit.stages.clv.likelihood import GG_PARAMS

#: The section the CLV notes belong to (notebook 04_clv).
SECTION = "04_clv"


def clv_note(code: str, kind: str = "info", /, **params: Any) -> Note:
    """A note of the CLV stage: message ``code`` (``clv.*``) with its parameters."""
    return Note(code, params, kind, SECTION)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BgNbdResult:
    """A fitted BG/NBD model (FHL05) and what was done to fit it.

    Attributes
    ----------
    params_ : dict
        ``r, alpha, a, b`` (``alpha`` in ``time_unit_``); NaN when the fit failed.
    standard_errors_ : dict
        Asymptotic standard errors from the inverse Hessian of the log-likelihood at the
        optimum (delta method from lifetimes' log-parameters).
    log_likelihood_ : float
        FHL05 eq. (6) summed over customers, without the penalty term.
    n_customers_, n_patterns_ : int
        Customers fitted and distinct ``(x, t_x, T)`` patterns the optimiser saw.
    status_ : {"ok", "retried", "failed"}
        ``retried``: the first fit failed and the penalised retry succeeded.
    penalizer_ : float
        L2 penalty of the fit that produced ``params_``.
    notes_ : list of Note
        What was done, for the report (``clv.*`` message codes with their parameters).
    attempts_ : list of dict
        One per fit tried: ``{"penalizer", "ok", "reason", "params"}``; ``reason`` is a
        code (``converged``, ``not_converged``, ``implausible``, ...; message
        ``clv.attempt.<reason>``) and ``params`` its numbers.
    model_ : lifetimes.BetaGeoFitter or None
        The underlying fitter (None when failed).
    kind_ : {"bgnbd", "mbgnbd", "pareto_nbd"}
        The purchase-count model (the same class holds all three; ``params_`` are ``r, alpha,
        a, b`` or, for Pareto/NBD, ``r, alpha, s, beta``).
    """

    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_customers_: int
    n_patterns_: int
    status_: Literal["ok", "retried", "failed"]
    penalizer_: float
    time_unit_: str
    notes_: list[Note] = field(default_factory=list)
    attempts_: list[dict[str, Any]] = field(default_factory=list)
    model_: Any = field(default=None, repr=False, compare=False)
    kind_: str = "bgnbd"

    @property
    def converged_(self) -> bool:
        return self.status_ != "failed"

    def _require(self) -> None:
        if not self.converged_:
            raise ValueError(f"The {self.kind_} fit failed (see notes_); it cannot predict.")

    def p_alive(self, frequency, recency, T, pairs=None) -> np.ndarray:
        """P(alive) per customer; arrays of equal shape in, same shape out. ``pairs``:
        :class:`~kit.stages.clv.closed_forms.DistinctPairs` of the rows, when the same rows are
        evaluated under many parameter values (the same result, faster for Pareto/NBD)."""
        self._require()
        return forms.p_alive(self.kind_, self.params_, frequency, recency, T, pairs)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected repeat purchases in the next ``t`` time units given each history (eq. 10)."""
        self._require()
        return forms.conditional_expected(self.kind_, self.params_, t, frequency, recency, T)

    def expected_population(self, t) -> np.ndarray:
        """Expected repeat purchases of a new customer within ``t`` time units (eq. 9)."""
        self._require()
        return forms.expected_population(self.kind_, self.params_, t)


#: The purchase-count model result (BG/NBD, MBG/NBD or Pareto/NBD; see ``kind_``).
CountModelResult = BgNbdResult


@dataclass(frozen=True)
class GammaGammaResult:
    """A fitted Gamma-Gamma spend model (FH13), or the reason it was not fitted.

    Attributes
    ----------
    params_ : dict
        ``p, q, gamma`` (lifetimes calls ``gamma`` ``v``); NaN when not computed.
    standard_errors_ : dict
    log_likelihood_ : float
    n_customers_ : int
        Repeat buyers used (frequency > 0 and monetary_value > 0).
    n_excluded_ : int
        Customers of the summary not used (no repeat purchase or non-positive spend).
    corr_ : float
        Pearson correlation of frequency and monetary_value among the repeat buyers; the
        model assumes spend is independent of frequency.
    corr_warning_ : bool
        ``|corr_| > corr_warn``.
    computed_ : bool
        False when there were too few repeat buyers or the fit failed: spend and CLV are
        then not computed (never replaced by a substitute).
    status_ : {"ok", "retried", "failed", "too_few_repeat_buyers"}
    penalizer_ : float
    notes_ : list of Note
    attempts_ : list of dict
        As for :class:`BgNbdResult`.
    model_ : lifetimes.GammaGammaFitter or None
    """

    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_customers_: int
    n_excluded_: int
    corr_: float
    corr_warning_: bool
    computed_: bool
    status_: str
    penalizer_: float
    notes_: list[Note] = field(default_factory=list)
    attempts_: list[dict[str, Any]] = field(default_factory=list)
    model_: Any = field(default=None, repr=False, compare=False)

    @property
    def population_mean_(self) -> float:
        """Mean spend per transaction in the population, ``p gamma / (q - 1)``."""
        p, q, v = (self.params_[k] for k in GG_PARAMS)
        return v * p / (q - 1)

    def expected_avg_value(self, frequency, monetary_value) -> np.ndarray:
        """E[M | x, m_x], FH13 eq. (5), as lifetimes' ``conditional_expected_average_profit``.

        A weighted mean of the customer's own mean spend and the population mean; a
        customer without repeat purchases (x = 0) gets the population mean.
        """
        if not self.computed_:
            raise ValueError("The Gamma-Gamma model was not computed (see notes_).")
        p, q, v = (self.params_[k] for k in GG_PARAMS)
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        w = p * x / (p * x + q - 1)
        return (1 - w) * self.population_mean_ + w * m
