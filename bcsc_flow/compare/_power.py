"""Planning replicates: power and sample size for a two-arm comparison of one fraction.

The model is the one behind DOMAIN §4.1: each replicate's true fraction varies around the
arm's fraction with a normal spread ``logit_sd`` on the logit scale (biological variation),
and its positive events are a binomial draw from ``parent_events``. Power is the rate at
which the test of :func:`bcsc_flow.compare.compare` rejects at ``alpha``:

* ``approach="simulation"`` (default): seeded Monte-Carlo experiments analysed with the
  closed-form quasi-binomial GLM (or Welch on logits), vectorised;
* ``approach="analytic"``: a noncentral-t approximation on the logit scale, with each
  sample's logit variance ``logit_sd² + 1 / (n p (1 − p))`` and a Student t with
  2·(replicates − 1) degrees of freedom. Fast and smooth; close to the simulation.

Example
-------
>>> round(power(0.02, 0.04, n_replicates=6, approach="analytic"), 2)
0.96
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from bcsc_flow.compare._models import haldane_logit, quasibinomial_two_group
from bcsc_flow.errors import ComparisonError

__all__ = ["power", "replicates_needed"]

DEFAULT_LOGIT_SD = 0.3
"""Default between-replicate SD of logit fractions (DOMAIN §0: simulator default)."""
_APPROACHES = ("simulation", "analytic")
_TESTS = ("quasibinomial", "welch")


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _spread(p_reference: float, logit_sd: float | None, cv: float | None) -> float:
    if logit_sd is not None and cv is not None:
        raise ComparisonError(f"give logit_sd ({logit_sd!r}) or cv ({cv!r}), not both")
    if cv is not None:
        # A small coefficient of variation of a fraction p is about (1 - p) times its logit SD.
        sd = float(cv) / (1 - p_reference)
    else:
        sd = DEFAULT_LOGIT_SD if logit_sd is None else float(logit_sd)
    if not sd >= 0:
        raise ComparisonError(f"the replicate spread must be >= 0, got {sd!r}")
    return float(sd)


def _check(
    p_reference: float, p_level: float, n_replicates: int, parent_events: int, alpha: float
) -> None:
    for name, p in (("p_reference", p_reference), ("p_level", p_level)):
        if not 0 < p < 1:
            raise ComparisonError(f"{name} is a fraction between 0 and 1 (not percent), got {p!r}")
    if n_replicates < 2:
        raise ComparisonError(f"n_replicates must be at least 2 per arm, got {n_replicates!r}")
    if parent_events < 1:
        raise ComparisonError(f"parent_events must be positive, got {parent_events!r}")
    if not 0 < alpha < 1:
        raise ComparisonError(f"alpha must be between 0 and 1, got {alpha!r}")


def power(
    p_reference: float,
    p_level: float,
    *,
    n_replicates: int = 3,
    parent_events: int = 20_000,
    logit_sd: float | None = None,
    cv: float | None = None,
    alpha: float = 0.05,
    test: str = "quasibinomial",
    approach: str = "simulation",
    n_sim: int = 4000,
    seed: int = 0,
) -> float:
    """Probability that a two-sided test at ``alpha`` detects ``p_reference`` → ``p_level``.

    Fractions are 0–1. ``n_replicates`` per arm, ``parent_events`` per sample; the
    between-replicate spread is ``logit_sd`` (SD of logit fractions, default 0.3) or ``cv``
    (coefficient of variation of the fraction; converted as ``cv / (1 − p_reference)``).
    ``test`` is ``"quasibinomial"`` or ``"welch"`` (simulation only).

    Example
    -------
    >>> 0.4 < power(0.02, 0.04, n_replicates=3, n_sim=2000) < 0.7  # about a coin flip
    True
    """
    _check(p_reference, p_level, n_replicates, parent_events, alpha)
    sd = _spread(p_reference, logit_sd, cv)
    if approach == "analytic":
        return _analytic_power(p_reference, p_level, n_replicates, parent_events, sd, alpha)
    if approach != "simulation":
        raise ComparisonError(
            f"unknown approach {approach!r}; expected one of {', '.join(_APPROACHES)}"
        )
    if test not in _TESTS:
        raise ComparisonError(f"unknown test {test!r}; expected one of {', '.join(_TESTS)}")
    rng = np.random.default_rng(seed)
    shape = (n_sim, n_replicates)
    n = np.full(shape, parent_events)
    arms = []
    for p in (p_reference, p_level):
        true = 1 / (1 + np.exp(-(_logit(p) + sd * rng.standard_normal(shape))))
        arms.append(rng.binomial(n, true))
    if test == "quasibinomial":
        p_values = quasibinomial_two_group(arms[0], n, arms[1], n)["p_value"]
    else:
        p_values = stats.ttest_ind(
            haldane_logit(arms[1], n), haldane_logit(arms[0], n), axis=1, equal_var=False
        ).pvalue
    # An undefined test (an arm with no positives at all) counts as no rejection.
    return float(np.mean(np.nan_to_num(p_values, nan=1.0) < alpha))


def _analytic_power(p0: float, p1: float, reps: int, events: int, sd: float, alpha: float) -> float:
    var0 = sd**2 + 1 / (events * p0 * (1 - p0))
    var1 = sd**2 + 1 / (events * p1 * (1 - p1))
    df = 2 * (reps - 1)
    ncp = (_logit(p1) - _logit(p0)) / np.sqrt((var0 + var1) / reps)
    crit = stats.t.isf(alpha / 2, df)
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))


def replicates_needed(
    p_reference: float,
    p_level: float,
    *,
    target_power: float = 0.8,
    parent_events: int = 20_000,
    logit_sd: float | None = None,
    cv: float | None = None,
    alpha: float = 0.05,
    approach: str = "simulation",
    max_replicates: int = 50,
    n_sim: int = 4000,
    seed: int = 0,
) -> int:
    """Smallest number of replicates per arm whose :func:`power` reaches ``target_power``.

    Raises :class:`~bcsc_flow.errors.ComparisonError` if even ``max_replicates`` fall short.

    Example
    -------
    >>> replicates_needed(0.02, 0.04, target_power=0.8, approach="analytic")
    5
    """
    if not 0 < target_power < 1:
        raise ComparisonError(f"target_power must be between 0 and 1, got {target_power!r}")
    achieved = float("nan")
    for reps in range(2, max_replicates + 1):
        achieved = power(
            p_reference, p_level, n_replicates=reps, parent_events=parent_events, logit_sd=logit_sd,
            cv=cv, alpha=alpha, approach=approach, n_sim=n_sim, seed=seed,
        )  # fmt: skip
        if achieved >= target_power:
            return reps
    raise ComparisonError(
        f"{max_replicates} replicates per arm reach only power {achieved:.2f} < {target_power}; "
        "raise max_replicates, or plan for a larger effect or less variable replicates"
    )
