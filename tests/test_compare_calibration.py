"""Calibration of the default comparison on simulated experiments with known truth.

Each experiment has 3 replicates per arm. A replicate's positive count is a direct
beta-binomial draw: its true fraction p_i ~ Beta with mean p and intra-class correlation
rho (over-dispersion phi = 1 + (n - 1) rho), then k_i ~ Binomial(n_i, p_i). Parent counts
vary between replicates (log-normal, CV about 20-25 %). All experiments go through the public
``compare`` in one call (one "population" per experiment), seeded.

Acceptance: type-I error of the default test within 5 +/- 1.5 %; coverage of the 95 % CI of
the difference (points) within 95 +/- 2 %.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bcsc_flow.compare import compare as _compare
from bcsc_flow.errors import StatisticsWarning


def compare(table: pd.DataFrame) -> pd.DataFrame:
    """The default comparison. Notes are tested in test_compare.py; among thousands of
    simulated experiments a few legitimately trip a flag (e.g. the under-dispersion check
    fires in about 0.1 % of binomial experiments), so their warnings are not errors here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticsWarning)
        return _compare(table)


EXPERIMENTS = 2000
REPLICATES = 3


def _simulate(p_reference, p_level, *, rho, parent_events, parent_cv, seed):
    rng = np.random.default_rng(seed)
    parts = []
    for condition, p in (("untreated", p_reference), ("irradiated", p_level)):
        a, b = p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho
        shape = (EXPERIMENTS, REPLICATES)
        n = np.round(parent_events * rng.lognormal(-(parent_cv**2) / 2, parent_cv, shape)).astype(
            int
        )
        k = rng.binomial(n, rng.beta(a, b, shape))
        exp_id, rep = np.indices(shape)
        parts.append(
            pd.DataFrame(
                {
                    "sample": [f"{condition}_{e}_{r}" for e, r in zip(exp_id.ravel(), rep.ravel())],
                    "population": [f"experiment {e}" for e in exp_id.ravel()],
                    "count": k.ravel(),
                    "parent_count": n.ravel(),
                    "condition": condition,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# Realistic settings (DOMAIN §0, §1.9): BCSC of live (2 %, ~20,000 live events, replicate
# logit SD about 0.3 -> rho 0.002) and HER2+ within BCSC (15 %, ~600 BCSC events, rho 0.01).
SCENARIOS = {
    "BCSC of live": dict(p_reference=0.02, rho=0.002, parent_events=20_000, parent_cv=0.2),
    "HER2+ of BCSC": dict(p_reference=0.15, rho=0.01, parent_events=600, parent_cv=0.25),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_type_one_error_of_the_default_test(name):
    settings = SCENARIOS[name]
    table = _simulate(
        settings["p_reference"],
        settings["p_reference"],
        **{k: v for k, v in settings.items() if k != "p_reference"},
        seed=1,
    )
    out = compare(table)
    assert (out["test"] == "quasibinomial_glm_t").all() and len(out) == EXPERIMENTS
    rate = float(np.mean(out["p_value"] < 0.05))
    assert 0.035 <= rate <= 0.065, f"{name}: type-I error {rate:.3f}"
    # the pseudo-replicated alternative (pooled events) would be far off; the replicate-level
    # CI of the difference must cover the true difference (0) as often as the test accepts
    covered = float(np.mean((out["ci_low"] <= 0) & (out["ci_high"] >= 0)))
    assert covered == pytest.approx(1 - rate, abs=0.005)


@pytest.mark.parametrize("name,fold", [("BCSC of live", 2.0), ("HER2+ of BCSC", 40 / 15)])
def test_coverage_of_the_difference_interval(name, fold):
    settings = SCENARIOS[name]
    p0 = settings["p_reference"]
    p1 = p0 * fold
    rest = {k: v for k, v in settings.items() if k != "p_reference"}
    out = compare(_simulate(p0, p1, **rest, seed=2))
    true_diff = 100 * (p1 - p0)
    coverage = float(np.mean((out["ci_low"] <= true_diff) & (true_diff <= out["ci_high"])))
    assert 0.93 <= coverage <= 0.97, f"{name}: coverage {coverage:.3f}"
    # the other intervals are calibrated too (same t reference, delta method)
    ratio_cov = float(np.mean((out["ratio_ci_low"] <= fold) & (fold <= out["ratio_ci_high"])))
    odds = (p1 / (1 - p1)) / (p0 / (1 - p0))
    or_cov = float(
        np.mean((out["odds_ratio_ci_low"] <= odds) & (odds <= out["odds_ratio_ci_high"]))
    )
    assert 0.93 <= ratio_cov <= 0.97 and 0.93 <= or_cov <= 0.97
    # the arm estimates are unbiased for the true fractions
    assert out["mean_reference"].mean() == pytest.approx(100 * p0, rel=0.01)
    assert out["mean_level"].mean() == pytest.approx(100 * p1, rel=0.01)
