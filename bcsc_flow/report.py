"""A self-contained HTML report of a batch: one file to read, mail or archive.

:func:`write_report` turns the :class:`~bcsc_flow.batch.Results` of
:func:`~bcsc_flow.batch.gate_folder` and the table of :func:`bcsc_flow.compare` into one
``report.html``: summary, template (name, version, digest) and how each marker was found,
thresholds with their controls, the gating path of every test sample, the population
table, the comparison table and plots, QC expectations, problems and warnings. Figures are
embedded PNGs and the style is inline: the page loads nothing from anywhere.

Gating figures need each sample's events and frozen gates, i.e. the per-sample
:class:`~bcsc_flow.strategy.GatingResult` objects that ``gate_folder(...,
keep_results=True)`` keeps in ``Results.samples``. Without them (tables read back from
disk, or a batch gated without ``keep_results``) those figures are left out and the page
says why; the comparison plots need only the tables and are always drawn.

Example
-------
>>> import bcsc_flow as bf
>>> res = bf.gate_folder("sample_fcs", "bcsc", progress=False, keep_results=True)  # doctest: +SKIP
>>> cmp = bf.compare(res.populations, by="condition", reference="untreated")  # doctest: +SKIP
>>> write_report(res, cmp, "results/report.html")  # doctest: +SKIP
PosixPath('results/report.html')
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bcsc_flow.atomic import atomic_write_text
from bcsc_flow.report_comparison import comparison_section, key_results
from bcsc_flow.report_html import page
from bcsc_flow.report_sections import (
    gating_section,
    markers_section,
    populations_section,
    problems_section,
    qc_section,
    summary_section,
    thresholds_section,
)

__all__ = ["MAX_GATING_FIGURES", "render_report", "write_report"]

MAX_GATING_FIGURES = 48
"""Default cap on per-sample gating figures (keeps a large batch's page small)."""


def _version() -> str:
    from bcsc_flow import __version__

    return str(__version__)


def render_report(
    results: Any,
    comparison: pd.DataFrame | None = None,
    *,
    title: str | None = None,
    figures: bool = True,
    notes: Sequence[str] = (),
    max_gating_figures: int | None = MAX_GATING_FIGURES,
) -> str:
    """The report as one HTML string (see :func:`write_report`).

    ``notes`` are extra lines shown in the summary (e.g. where the tables came from).

    Example
    -------
    >>> import pandas as pd
    >>> from bcsc_flow.batch import Results
    >>> empty = pd.DataFrame()
    >>> res = Results(empty, empty, empty, empty, empty, template={"name": "bcsc", "digest": "ab12"})
    >>> html = render_report(res, None, title="Empty <batch>")
    >>> "<title>Empty &lt;batch&gt;</title>" in html, "ab12" in html
    (True, True)
    """
    template = dict(getattr(results, "template", {}) or {})
    name = template.get("name") or "unknown template"
    heading = title or f"bcsc_flow report — {name}"
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"bcsc_flow {_version()} · template {name} {template.get('version', '')}".rstrip()
    subtitle += f" · digest {str(template.get('digest', ''))[:12]} · written {stamp}"
    sections = [
        (
            "summary",
            "Summary",
            summary_section(results, comparison, notes) + key_results(comparison),
        ),
        ("template", "Template and markers", markers_section(results)),
        ("thresholds", "Thresholds and controls", thresholds_section(results)),
        ("populations", "Populations", populations_section(results)),
        ("comparison", "Comparison", comparison_section(results, comparison, figures)),
        ("gating", "Gating per sample", gating_section(results, figures, max_gating_figures)),
        ("qc", "QC expectations", qc_section(results)),
        ("problems", "Problems and warnings", problems_section(results)),
    ]
    return page(heading, subtitle, sections)


def write_report(
    results: Any,
    comparison: pd.DataFrame | None,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    figures: bool = True,
    notes: Sequence[str] = (),
    max_gating_figures: int | None = MAX_GATING_FIGURES,
) -> Path:
    """Write a self-contained ``report.html`` of a batch atomically; return its path.

    ``results`` is a :class:`~bcsc_flow.batch.Results`; ``comparison`` the DataFrame of
    :func:`bcsc_flow.compare` (or None when there is nothing to compare). The page embeds
    its figures as PNG data URIs and its CSS inline and references nothing outside itself.
    Gating figures are drawn for the samples in ``results.samples`` (gate with
    ``keep_results=True``); ``figures=False`` leaves every figure out (fast, small).
    ``notes`` are extra lines for the summary (e.g. where the tables came from).
    ``max_gating_figures`` caps the gating-path grids (about 1 s and 150 KiB each; None:
    every kept sample); the samples left out are listed.
    The file is written under a temporary name beside ``path`` and renamed into place.

    Example
    -------
    >>> import tempfile, pandas as pd
    >>> from bcsc_flow.batch import Results
    >>> empty = pd.DataFrame()
    >>> res = Results(empty, empty, empty, empty, empty, template={"name": "bcsc"})
    >>> out = write_report(res, None, Path(tempfile.mkdtemp()) / "report.html")
    >>> out.name, "<script" in out.read_text()
    ('report.html', False)
    """
    html = render_report(
        results,
        comparison,
        title=title,
        figures=figures,
        notes=notes,
        max_gating_figures=max_gating_figures,
    )
    return atomic_write_text(path, html)
