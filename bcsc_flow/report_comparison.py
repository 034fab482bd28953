"""The comparison section of the batch report: the table of :func:`bcsc_flow.compare` and plots.

Columns shared by every row (metric, test, a common note) are stated once above the
table; the difference's confidence interval is shown as one ``[low, high]`` cell.

Example
-------
>>> import pandas as pd
>>> from types import SimpleNamespace
>>> c = pd.DataFrame({"population": ["BCSC"], "reference": ["u"], "level": ["irr"],
...                   "diff": [3.2], "ci_low": [2.0], "ci_high": [4.5], "q_value": [0.0031]})
>>> '<td data-population="BCSC" class="num">0.0031</td>' in comparison_section(
...     SimpleNamespace(), c, figures=False)
True
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from bcsc_flow.report_figures import comparison_figure
from bcsc_flow.report_html import fixed, table
from bcsc_flow.report_sections import PCT_DIGITS, column_formats, note_html, rows_of_tests, table_of

__all__ = ["COMPARISON_COLUMNS", "KEY_POPULATIONS", "comparison_section", "key_results"]

COMPARISON_COLUMNS = (
    "population", "metric", "contrast", "n_reference", "n_level", "mean_reference",
    "mean_level", "diff", "ci", "ratio", "p_value", "q_value", "test", "note",
)  # fmt: skip


def comparison_section(results: Any, comparison: pd.DataFrame | None, figures: bool) -> str:
    """The comparison table (one row per population × contrast) and its plots.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> c = pd.DataFrame({"population": ["BCSC"], "reference": ["u"], "level": ["irr"],
    ...                   "diff": [3.2], "ci_low": [2.0], "ci_high": [4.5], "q_value": [0.0031]})
    >>> html = comparison_section(SimpleNamespace(), c, figures=False)
    >>> "<td>irr vs u</td>" in html, "[2.00, 4.50]" in html, "0.0031" in html
    (True, True, True)
    """
    if comparison is None or len(comparison) == 0:
        return note_html("No comparison: a single condition, or the comparison was not computed.")
    frame = comparison.copy()
    if {"level", "reference"} <= set(frame.columns):
        frame["contrast"] = frame["level"].astype(str) + " vs " + frame["reference"].astype(str)
    if {"ci_low", "ci_high"} <= set(frame.columns):
        lo, hi = fixed(PCT_DIGITS), fixed(PCT_DIGITS)
        frame["ci"] = [f"[{lo(a)}, {hi(b)}]" for a, b in zip(frame["ci_low"], frame["ci_high"])]
    shared = []
    for column in ("metric", "test", "note"):
        if column in frame and len(frame) > 1 and frame[column].astype(str).nunique() == 1:
            value = str(frame[column].iloc[0])
            if value and value != "nan":
                shared.append(f"{column} (every row): {value}")
            frame = frame.drop(columns=column)
    shown = frame[[c for c in COMPARISON_COLUMNS if c in frame.columns]]
    formats = column_formats(shown)
    if "ci" in shown:
        formats["ci"] = str
    headers = {
        "mean_reference": "mean ref. (%)",
        "mean_level": "mean level (%)",
        "diff": "diff (points)",
        "ci": "95% CI of diff",
        "p_value": "p",
        "q_value": "q (FDR)",
    }
    body = note_html(
        "Replicate-level comparison (each sample is one replicate); diff in percentage "
        "points with its confidence interval; q: false-discovery-rate adjusted p-value."
    )
    if shared:
        body += "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in shared) + "</ul>"
    body += table(
        shown,
        formats=formats,
        headers=headers,
        cell_attributes=lambda row, col: (
            {"data-population": str(row["population"])}
            if col == "q_value" and "population" in row
            else {}
        ),
        table_id="comparison",
    )
    pops = rows_of_tests(table_of(results, "populations"))
    if not figures:
        return body + note_html("Figures left out (figures=False).")
    if pops.empty:
        return body + note_html("Comparison plots need the populations table, which is empty.")
    return body + comparison_figure(pops, comparison)


KEY_POPULATIONS = ("BCSC", "HER2+ BCSC", "HER2- BCSC", "ALDH+ BCSC", "HER2+", "ALDH+")
"""Populations of the built-in template shown first (when a comparison has them)."""


def key_results(
    comparison: pd.DataFrame | None, populations: tuple[str, ...] = KEY_POPULATIONS
) -> str:
    """A short table of the main contrasts for the summary: means, difference with CI, q.

    Populations of ``populations`` present in the comparison, else its first six rows.

    Example
    -------
    >>> c = pd.DataFrame({"population": ["BCSC"], "reference": ["u"], "level": ["irr"],
    ...                   "mean_reference": [2.0], "mean_level": [5.5], "diff": [3.5],
    ...                   "ci_low": [2.0], "ci_high": [5.0], "q_value": [0.0031]})
    >>> "<td>irr vs u</td>" in key_results(c), key_results(None)
    (True, '')
    """
    if comparison is None or len(comparison) == 0 or "population" not in comparison:
        return ""
    rows = comparison[comparison["population"].astype(str).isin(populations)]
    if rows.empty:
        rows = comparison.head(6)
    frame = pd.DataFrame({"population": rows["population"].astype(str)})
    if {"level", "reference"} <= set(rows.columns):
        frame["contrast"] = rows["level"].astype(str) + " vs " + rows["reference"].astype(str)
    pct = fixed(PCT_DIGITS)
    for column in ("mean_reference", "mean_level"):
        if column in rows:
            frame[column] = rows[column]
    if {"diff", "ci_low", "ci_high"} <= set(rows.columns):
        frame["diff"] = [
            f"{pct(d)} [{pct(lo)}, {pct(hi)}]"
            for d, lo, hi in zip(rows["diff"], rows["ci_low"], rows["ci_high"], strict=True)
        ]
    if "q_value" in rows:
        frame["q_value"] = rows["q_value"]
    formats = column_formats(frame)
    if "diff" in frame:
        formats["diff"] = str
    headers = {
        "mean_reference": "mean ref. (%)",
        "mean_level": "mean level (%)",
        "diff": "diff, points [95% CI]",
        "q_value": "q (FDR)",
    }
    return "<h3>Key results</h3>" + table(
        frame, formats=formats, headers=headers, table_id="key-results"
    )
