"""Cohort rates: positive specimens per cohort, Wilson CIs, Fisher's exact test and χ².

Example
-------
>>> row = compare_cohorts(pd.DataFrame({"positive": [True, True, False, True, False, False] * 5,
...                                     "cohort": ["a"] * 15 + ["primary"] * 15})).iloc[0]
>>> int(row["n_positive_level"]), int(row["n_positive_reference"])
(8, 7)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bcsc_flow.compare import adjust_pvalues, proportion_interval
from bcsc_flow.errors import ComparisonError, StatisticsWarning, did_you_mean, warn

__all__ = ["compare_cohorts"]


def compare_cohorts(
    calls: pd.DataFrame,
    *,
    by: str = "cohort",
    reference: Any = "primary",
    alternative: str = "two-sided",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Compare the positive rate of each cohort with the reference cohort (specimens as units).

    ``calls`` has a boolean ``positive`` column (from :func:`call_specimens`) and ``by``.
    One row per non-reference level with: ``n_positive_*``, ``n_*``, ``pct_*`` and their
    Wilson ``(1 − alpha)`` CIs (``pct_*_ci_low/high``); ``diff`` (level − reference, points)
    with Newcombe's hybrid-score CI (``diff_ci_low/high``); ``odds_ratio`` (the sample
    cross-product ratio, as :func:`scipy.stats.fisher_exact` reports it) with the exact
    conditional CI that goes with Fisher's test; ``p_value`` from Fisher's exact test
    (``alternative``: ``"two-sided"``, or ``"greater"``/``"less"`` for the level's rate
    above/below the reference's); ``p_value_chi2`` and ``p_value_chi2_yates`` (Pearson χ²
    without and with continuity correction, two-sided, for reference); ``min_expected``;
    ``q_value`` (BH across levels); ``note``. A
    :class:`~bcsc_flow.errors.StatisticsWarning` is emitted when an expected cell count is
    under 5 (χ² unreliable; Fisher's test stays valid).

    Example
    -------
    >>> calls = pd.DataFrame({"positive": [True] * 22 + [False] * 4 + [True] * 8 + [False] * 6,
    ...                       "cohort": ["recurrent"] * 26 + ["primary"] * 14})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     row = compare_cohorts(calls).iloc[0]
    >>> [round(float(row[c]), 3) for c in ("pct_level", "pct_reference", "p_value")]
    [84.615, 57.143, 0.123]
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise ComparisonError(
            f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}"
        )
    for column in ("positive", by):
        if column not in calls.columns:
            raise ComparisonError(
                f"calls table lacks column {column!r}.{did_you_mean(column, calls.columns)}"
            )
    decided = calls[calls["positive"].notna() & calls[by].notna()]
    levels = list(pd.unique(decided[by]))
    matches = [lv for lv in levels if lv == reference or str(lv) == str(reference)]
    if not matches:
        raise ComparisonError(
            f"reference {reference!r} is not a value of column {by!r}; levels present: "
            f"{', '.join(map(repr, levels))}.{did_you_mean(str(reference), map(str, levels))}"
        )
    reference = matches[0]
    undecided = len(calls) - len(decided)
    rows = []
    ref = decided[decided[by] == reference]["positive"].astype(bool)
    for level in (lv for lv in levels if lv != reference):
        lvl = decided[decided[by] == level]["positive"].astype(bool)
        rows.append(
            _two_by_two(int(lvl.sum()), len(lvl), int(ref.sum()), len(ref), alternative, alpha)
        )
        rows[-1].update(by=by, reference=reference, level=level)
        if undecided:
            rows[-1]["note"] = "; ".join(
                filter(None, [rows[-1]["note"], f"{undecided} specimen(s) without a call left out"])
            )
    if not rows:
        raise ComparisonError(
            f"column {by!r} has only the reference level {reference!r}; nothing to compare"
        )
    out = pd.DataFrame(rows)
    out["q_value"] = adjust_pvalues(out["p_value"].to_numpy(float))
    small = out[out["min_expected"] < 5]
    if len(small):
        warn(
            f"expected cell count under 5 for {', '.join(map(str, small['level']))} vs {reference}: "
            "the chi-squared p-values are unreliable; use Fisher's exact p_value",
            StatisticsWarning,
        )
    return out[_COHORT_COLUMNS]


_COHORT_COLUMNS = [
    "by", "reference", "level",
    "n_positive_reference", "n_reference", "pct_reference", "pct_reference_ci_low", "pct_reference_ci_high",
    "n_positive_level", "n_level", "pct_level", "pct_level_ci_low", "pct_level_ci_high",
    "diff", "diff_ci_low", "diff_ci_high", "odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high",
    "p_value", "alternative", "test", "p_value_chi2", "p_value_chi2_yates", "min_expected",
    "q_value", "note",
]  # fmt: skip


def _two_by_two(
    k1: int, n1: int, k0: int, n0: int, alternative: str, alpha: float
) -> dict[str, Any]:
    """Statistics of the table [[k1, n1-k1], [k0, n0-k0]] (level row first)."""
    if n1 == 0 or n0 == 0:
        raise ComparisonError(f"a cohort has no specimens with a call (level {n1}, reference {n0})")
    table = np.array([[k1, n1 - k1], [k0, n0 - k0]])
    lo1, hi1 = proportion_interval(k1, n1, alpha=alpha)
    lo0, hi0 = proportion_interval(k0, n0, alpha=alpha)
    p1, p0 = k1 / n1, k0 / n0
    # Newcombe (1998) hybrid score interval for p1 - p0, from the two Wilson intervals.
    diff_lo = p1 - p0 - np.sqrt((p1 - lo1) ** 2 + (hi0 - p0) ** 2)
    diff_hi = p1 - p0 + np.sqrt((hi1 - p1) ** 2 + (p0 - lo0) ** 2)
    fisher = stats.fisher_exact(table, alternative=alternative)
    degenerate = (table.sum(axis=0) == 0).any()
    if degenerate:
        chi2_p = chi2_yates_p = float("nan")
        expected_min = 0.0
        or_lo = or_hi = float("nan")
    else:
        chi2_p = float(stats.chi2_contingency(table, correction=False)[1])
        chi2_yates_p = float(stats.chi2_contingency(table, correction=True)[1])
        expected_min = float(stats.contingency.expected_freq(table).min())
        ci = stats.contingency.odds_ratio(table, kind="conditional").confidence_interval(1 - alpha)
        or_lo, or_hi = float(ci.low), float(ci.high)
    note = "expected cell count under 5: chi-squared unreliable" if expected_min < 5 else ""
    return {
        "n_positive_reference": k0, "n_reference": n0, "pct_reference": 100 * p0,
        "pct_reference_ci_low": 100 * float(lo0), "pct_reference_ci_high": 100 * float(hi0),
        "n_positive_level": k1, "n_level": n1, "pct_level": 100 * p1,
        "pct_level_ci_low": 100 * float(lo1), "pct_level_ci_high": 100 * float(hi1),
        "diff": 100 * (p1 - p0), "diff_ci_low": 100 * float(diff_lo), "diff_ci_high": 100 * float(diff_hi),
        "odds_ratio": float(fisher.statistic), "odds_ratio_ci_low": or_lo, "odds_ratio_ci_high": or_hi,
        "p_value": float(fisher.pvalue), "alternative": alternative, "test": "fisher_exact",
        "p_value_chi2": chi2_p, "p_value_chi2_yates": chi2_yates_p, "min_expected": expected_min,
        "note": note,
    }  # fmt: skip
