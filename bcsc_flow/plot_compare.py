"""Comparison figures: replicate dots per condition, group means with CIs, q-values.

Input is the tidy ``populations`` table (one row per sample × population) and, optionally,
the table of :func:`bcsc_flow.compare` (one row per population × contrast) whose
``diff``, ``ci_low``, ``ci_high`` and ``q_value`` are printed above each level.

Example
-------
>>> import pandas as pd
>>> pops = pd.DataFrame({"population": ["BCSC"] * 4, "condition": ["u", "u", "irr", "irr"],
...                      "pct_of_parent": [2.0, 2.4, 4.1, 4.6]})
>>> ax = comparison_plot(pops, population="BCSC")
>>> [t.get_text() for t in ax.get_xticklabels()]
['u', 'irr']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bcsc_flow.errors import ComparisonError
from bcsc_flow.plot_density import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["METRIC_LABELS", "comparison_plot", "mean_ci"]

METRIC_LABELS = {
    "pct_of_parent": "% of parent",
    "pct_of_total": "% of all events",
    "count": "events",
}


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of replicate values (``nan`` CI for n < 2).

    Example
    -------
    >>> m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    >>> m, round(lo, 3), round(hi, 3)
    (2.0, -0.484, 4.484)
    """
    from scipy.stats import t

    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(arr.mean())
    if arr.size < 2:
        return (mean, math.nan, math.nan)
    half = float(t.ppf(0.5 + confidence / 2, arr.size - 1) * arr.std(ddof=1) / math.sqrt(arr.size))
    return (mean, mean - half, mean + half)


def _format_p(q: float) -> str:
    if not np.isfinite(q):
        return "q = n/a"
    return f"q = {q:.2g}" if q >= 0.001 else "q < 0.001"


def _contrast_rows(
    comparison: pd.DataFrame | None, population: str, metric: str
) -> dict[str, pd.Series]:
    if comparison is None or len(comparison) == 0:
        return {}
    needed = {"population", "level"}
    if not needed <= set(comparison.columns):
        raise ComparisonError(
            f"comparison_plot: the comparison table needs columns {sorted(needed)}, has "
            f"{list(comparison.columns)}; pass the DataFrame returned by bcsc_flow.compare."
        )
    rows = comparison[comparison["population"] == population]
    if "metric" in rows:
        rows = rows[rows["metric"] == metric]
    return {str(r["level"]): r for _, r in rows.iterrows()}


def _group_order(
    values: pd.DataFrame, by: str, order: Sequence[str] | None, reference: str | None
) -> list[str]:
    present = list(dict.fromkeys(values[by].astype(str)))
    if order is not None:
        missing = [g for g in order if g not in present]
        if missing:
            raise ComparisonError(
                f"comparison_plot: order names {missing} with no rows; {by!r} has {present}."
            )
        return list(order)
    if reference is not None and reference in present:
        present.remove(reference)
        present.insert(0, reference)
    return present


def comparison_plot(
    populations: pd.DataFrame,
    comparison: pd.DataFrame | None = None,
    *,
    population: str,
    by: str = "condition",
    metric: str = "pct_of_parent",
    order: Sequence[str] | None = None,
    reference: str | None = None,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Axes:
    """Replicates of one population per group, with group mean ± CI and contrast q-values.

    Each replicate is a dot; the group mean is a bar with its Student-t ``confidence``
    interval. For each row of ``comparison`` for this population (and ``metric``, when
    the table has that column) the label ``Δ diff [ci_low, ci_high]`` and ``q = …`` is
    written above its level. The reference group (``reference``, else the comparison's
    ``reference`` column) is drawn first.

    Example
    -------
    >>> import pandas as pd
    >>> pops = pd.DataFrame({"population": ["BCSC"] * 4, "condition": ["u", "u", "irr", "irr"],
    ...                      "pct_of_parent": [2.0, 2.4, 4.1, 4.6]})
    >>> cmp = pd.DataFrame({"population": ["BCSC"], "reference": ["u"], "level": ["irr"],
    ...                     "diff": [2.15], "ci_low": [0.9], "ci_high": [3.4], "q_value": [0.021]})
    >>> ax = comparison_plot(pops, cmp, population="BCSC")
    >>> [t.get_text() for t in ax.texts]
    ['Δ 2.15 [0.9, 3.4]\\nq = 0.021']
    """
    for column in ("population", by, metric):
        if column not in populations:
            raise ComparisonError(
                f"comparison_plot: the populations table has no column {column!r}; columns are "
                f"{list(populations.columns)}."
            )
    rows = populations[populations["population"] == population]
    if rows.empty:
        known = sorted(set(populations["population"].astype(str)))
        raise ComparisonError(
            f"comparison_plot: no rows for population {population!r}; the table has {known}."
        )
    contrasts = _contrast_rows(comparison, population, metric)
    if reference is None and contrasts:
        first = next(iter(contrasts.values()))
        reference = str(first["reference"]) if "reference" in first else None
    groups = _group_order(rows, by, order, reference)
    ax = ax if ax is not None else new_axes((1.2 + 1.1 * len(groups), 3.6))
    colors = [f"C{k % 10}" for k in range(len(groups))]
    top = -math.inf
    for k, group in enumerate(groups):
        vals = rows.loc[rows[by].astype(str) == group, metric].to_numpy(dtype=np.float64)
        offsets = np.linspace(-0.12, 0.12, vals.size) if vals.size > 1 else np.zeros(vals.size)
        ax.scatter(
            k + offsets, vals, s=28, color=colors[k], edgecolor="black", linewidth=0.5, zorder=3
        )
        mean, lo, hi = mean_ci(vals, confidence)
        ax.hlines(mean, k - 0.25, k + 0.25, color="black", linewidth=2.0, zorder=2)
        if np.isfinite(lo):
            ax.vlines(k, lo, hi, color="black", linewidth=1.0, zorder=2)
        top = max(
            top, np.nanmax(vals) if vals.size else -math.inf, hi if np.isfinite(hi) else -math.inf
        )
    bottom, upper = ax.get_ylim()
    span = (upper - bottom) or 1.0
    for k, group in enumerate(groups):
        row = contrasts.get(group)
        if row is None:
            continue
        lines = []
        if "diff" in row and np.isfinite(row["diff"]):
            ci = ""
            if {"ci_low", "ci_high"} <= set(row.index):
                ci = f" [{row['ci_low']:.3g}, {row['ci_high']:.3g}]"
            lines.append(f"Δ {row['diff']:.3g}{ci}")
        lines.append(_format_p(float(row.get("q_value", math.nan))))
        ax.text(k, top + 0.06 * span, "\n".join(lines), ha="center", va="bottom", fontsize="small")
    ax.set_ylim(bottom, max(upper, top + 0.3 * span))
    ax.set_xticks(range(len(groups)), groups)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(population)
    return ax
