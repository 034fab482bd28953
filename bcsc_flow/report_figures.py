"""Figures of the batch report, drawn with :mod:`bcsc_flow.plot` and embedded as PNGs.

Sizes and resolution are chosen for a screen page and for speed: a gating-path grid of a
30,000-event sample renders in about a second. matplotlib is imported inside the
functions only.

Example
-------
>>> import pandas as pd
>>> pops = pd.DataFrame({"population": ["BCSC"] * 4, "condition": ["u", "u", "irr", "irr"],
...                      "pct_of_parent": [2.0, 2.4, 4.1, 4.6]})
>>> comparison_figure(pops, pd.DataFrame({"population": ["BCSC"], "reference": ["u"],
...                   "level": ["irr"], "q_value": [0.01]})).count("<img ")
1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape
from typing import Any

import pandas as pd

from bcsc_flow.report_html import figure_img

__all__ = ["DPI", "comparison_figure", "gating_figures"]

DPI = 72
"""Resolution of embedded figures (dots per inch of the figure size)."""

GATING_BINS = 128
"""Density bins per axis in gating panels (fewer than the interactive default: speed)."""


def comparison_figure(populations: pd.DataFrame, comparison: pd.DataFrame, ncols: int = 5) -> str:
    """One figure with a comparison plot per population of the comparison table.

    Replicates are dots, group means bars with 95 % CIs, and each level is labelled with
    its difference, CI and q-value (see :func:`bcsc_flow.plot.comparison_plot`).
    """
    from matplotlib.figure import Figure

    from bcsc_flow.plot import comparison_plot

    metric = "pct_of_parent"
    if "metric" in comparison.columns and len(comparison):
        metric = str(comparison["metric"].iloc[0])
    by = "condition"
    if "by" in comparison.columns and len(comparison) and pd.notna(comparison["by"].iloc[0]):
        by = str(comparison["by"].iloc[0])
    present = set(populations["population"].astype(str))
    names = [n for n in dict.fromkeys(comparison["population"].astype(str)) if n in present]
    if not names or by not in populations.columns or metric not in populations.columns:
        return '<p class="note">No comparison plot: the populations table lacks the rows.</p>'
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(2.9 * ncols, 3.3 * nrows), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    rows = comparison[comparison["metric"] == metric] if "metric" in comparison else comparison
    for ax, name in zip(axes, names, strict=False):
        comparison_plot(populations, rows, population=name, by=by, metric=metric, ax=ax)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    return figure_img(
        fig,
        alt=f"comparison of {', '.join(names)} by {by}",
        caption=(
            f"Each dot is one sample ({metric}); bars: group mean and 95% CI; labels: "
            "difference to the reference with its CI, and the q-value."
        ),
        dpi=DPI,
    )


def gating_figures(results: Mapping[str, Any], captions: Mapping[str, str]) -> str:
    """One gating-path grid per sample (a :class:`~bcsc_flow.strategy.GatingResult` each)."""
    from bcsc_flow.plot import gating_path

    parts = []
    for name, result in results.items():
        fig = gating_path(result, ncols=5, panel_size=2.6, bins=GATING_BINS)
        caption = captions.get(name, name)
        parts.append(
            f'<div class="sample-figure" id="gating-{_slug(name)}"><h3>'
            + escape(caption)
            + "</h3>"
            + figure_img(fig, alt=f"gating path of {name}", dpi=DPI)
            + "</div>"
        )
    return "".join(parts)


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(name))
