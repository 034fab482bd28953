"""Counting (binomial) intervals for one tube's fraction, and false-discovery control.

These intervals describe the sampling of events within a single tube. They do not include
biological variation between replicates, so they must never stand in for the
between-replicate intervals of :func:`bcsc_flow.compare.compare`.

Example
-------
>>> lo, hi = proportion_interval(22, 26)
>>> round(float(lo) * 100, 1), round(float(hi) * 100, 1)
(66.5, 93.8)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from bcsc_flow.errors import ComparisonError

__all__ = ["COUNTING_LABEL", "adjust_pvalues", "proportion_interval", "sample_intervals"]

COUNTING_LABEL = "counting (binomial) uncertainty within the tube; excludes replicate variation"
"""Label written next to per-sample intervals so reports cannot mistake them for CIs of a mean."""

_METHODS = ("wilson", "clopper-pearson", "jeffreys")
_DENOMINATORS = {"pct_of_parent": "parent_count", "pct_of_total": "total_count"}


def proportion_interval(
    count: float | np.ndarray,
    total: float | np.ndarray,
    *,
    alpha: float = 0.05,
    method: str = "wilson",
) -> tuple[np.ndarray, np.ndarray]:
    """Confidence interval of a binomial proportion ``count / total`` (as fractions 0–1).

    ``method`` is ``"wilson"`` (score interval, the default: well behaved near 0 and for
    small counts), ``"clopper-pearson"`` (exact, conservative) or ``"jeffreys"``
    (equal-tailed Beta(k+½, n−k+½) interval). Works elementwise on arrays.

    Example
    -------
    >>> lo, hi = proportion_interval(8, 14)
    >>> round(float(lo), 3), round(float(hi), 3)
    (0.326, 0.786)
    >>> [round(float(x), 3) for x in proportion_interval(0, 50, method="clopper-pearson")]
    [0.0, 0.071]
    """
    k = np.asarray(count, dtype=float)
    n = np.asarray(total, dtype=float)
    if not 0 < alpha < 1:
        raise ComparisonError(f"alpha must be between 0 and 1, got {alpha!r}")
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        raise ComparisonError(
            f"counts must satisfy 0 <= count <= total and total > 0; got count={count!r}, total={total!r}"
        )
    if method == "wilson":
        z = stats.norm.isf(alpha / 2)
        centre = (k + z * z / 2) / (n + z * z)
        half = z / (n + z * z) * np.sqrt(k * (n - k) / n + z * z / 4)
        return centre - half, centre + half
    if method == "clopper-pearson":
        with np.errstate(invalid="ignore"):
            low = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
            high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
        return low, high
    if method == "jeffreys":
        low = stats.beta.ppf(alpha / 2, k + 0.5, n - k + 0.5)
        high = stats.beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5)
        return np.asarray(low), np.asarray(high)
    raise ComparisonError(
        f"unknown interval method {method!r}; expected one of {', '.join(_METHODS)}"
    )


def sample_intervals(
    populations: pd.DataFrame,
    *,
    metric: str = "pct_of_parent",
    alpha: float = 0.05,
    method: str = "wilson",
) -> pd.DataFrame:
    """Add a per-sample counting interval of ``metric`` to a ``populations`` table.

    Returns a copy with ``<method>_low`` and ``<method>_high`` (e.g. ``wilson_low``,
    ``wilson_high``) in the metric's units (percent, 0–100) and ``interval_kind``, which
    states that these are counting (binomial) intervals within one tube, not
    between-replicate intervals. ``metric`` is ``pct_of_parent`` (count of
    ``parent_count``) or ``pct_of_total`` (count of ``total_count``). Rows whose
    denominator is 0 get NaN.

    Example
    -------
    >>> table = pd.DataFrame({"sample": ["a"], "population": ["BCSC"], "count": [22],
    ...                       "parent_count": [26]})
    >>> out = sample_intervals(table)
    >>> out[["wilson_low", "wilson_high"]].round(1).values.tolist()
    [[66.5, 93.8]]
    """
    if metric not in _DENOMINATORS:
        raise ComparisonError(
            f"metric {metric!r} has no counting interval; expected one of {', '.join(_DENOMINATORS)}"
        )
    denominator = _DENOMINATORS[metric]
    missing = [c for c in ("count", denominator) if c not in populations.columns]
    if missing:
        raise ComparisonError(
            f"populations table lacks column(s) {', '.join(missing)} needed for {metric} intervals"
        )
    k = populations["count"].to_numpy(dtype=float)
    n = populations[denominator].to_numpy(dtype=float)
    valid = n > 0
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    if valid.any():
        lo, hi = proportion_interval(k[valid], n[valid], alpha=alpha, method=method)
        low[valid], high[valid] = lo * 100, hi * 100
    prefix = method.replace("-", "_")
    out = populations.copy()
    out[f"{prefix}_low"] = low
    out[f"{prefix}_high"] = high
    out["interval_kind"] = COUNTING_LABEL
    return out


def adjust_pvalues(p_values: Sequence[float] | np.ndarray, method: str = "bh") -> np.ndarray:
    """Benjamini–Hochberg (``"bh"``) or Benjamini–Yekutieli (``"by"``) adjusted p-values (q).

    NaN p-values stay NaN and do not count towards the family size. BY holds under any
    dependence between tests (nested gates are positively dependent, so BH is usually fine).

    Example
    -------
    >>> adjust_pvalues([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(p_values, dtype=float)
    if method not in ("bh", "by"):
        raise ComparisonError(f"unknown FDR method {method!r}; expected 'bh' or 'by'")
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ComparisonError(f"p-values must lie in [0, 1]; got {p[ok].tolist()}")
    order = np.argsort(p[ok], kind="stable")
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    if method == "by":
        ranked = ranked * np.sum(1.0 / np.arange(1, m + 1))
    monotone = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(monotone, 1.0)
    q[ok] = adjusted
    return q
