"""The sections of the batch report, each built from one table of the Results.

Every function takes the :class:`~bcsc_flow.batch.Results` (or any object with the same
table attributes, e.g. tables read back from disk) and returns trusted HTML whose values
are escaped by :mod:`bcsc_flow.report_html`. Missing or empty tables give a short note,
never an error, so a partial batch still gets a report.

Example
-------
>>> import pandas as pd
>>> from types import SimpleNamespace
>>> res = SimpleNamespace(qc=pd.DataFrame({"sample": ["a"], "check": ["live"], "ok": [False]}))
>>> '<tr class="bad">' in qc_section(res)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import pandas as pd

from bcsc_flow.report_figures import gating_figures
from bcsc_flow.report_html import Formatter, fixed, format_p, significant, table

__all__ = [
    "PCT_DIGITS",
    "column_formats",
    "gating_section",
    "markers_section",
    "note_html",
    "populations_section",
    "problems_section",
    "qc_section",
    "summary_section",
    "rows_of_tests",
    "thresholds_section",
]

PCT_DIGITS = 2
"""Decimals of every percentage on the page (``pct_of_parent`` 2.015… → ``2.02``)."""


def table_of(results: Any, name: str) -> pd.DataFrame:
    """The DataFrame attribute ``name`` of ``results`` (empty when absent).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> table_of(SimpleNamespace(), "qc").empty
    True
    """
    value = getattr(results, name, None)
    return value if isinstance(value, pd.DataFrame) else pd.DataFrame()


def note_html(text: str) -> str:
    """An escaped explanatory paragraph.

    Example
    -------
    >>> note_html("a < b")
    '<p class="note">a &lt; b</p>'
    """
    return f'<p class="note">{escape(text)}</p>'


def column_formats(frame: pd.DataFrame) -> dict[str, Formatter]:
    """Formatters by column: percentages fixed, p/q-values, other floats 4 significant.

    Example
    -------
    >>> f = column_formats(pd.DataFrame({"pct_of_parent": [2.016], "q_value": [0.0031502]}))
    >>> f["pct_of_parent"](2.016), f["q_value"](0.0031502)
    ('2.02', '0.00315')
    """
    out: dict[str, Formatter] = {}
    for column in frame.columns:
        name = str(column)
        if name in ("p_value", "q_value", "p_value_welch"):
            out[name] = format_p
        elif name.startswith("pct") or name in ("mean_reference", "mean_level", "diff"):
            out[name] = fixed(PCT_DIGITS)
        elif pd.api.types.is_float_dtype(frame[column]):
            out[name] = significant(4)
        elif pd.api.types.is_integer_dtype(frame[column]):
            out[name] = str
    return out


def rows_of_tests(populations: pd.DataFrame) -> pd.DataFrame:
    """Rows of test samples (all rows when the table has no ``role`` column).

    Example
    -------
    >>> rows_of_tests(pd.DataFrame({"role": ["test", "deab"], "x": [1, 2]}))["x"].tolist()
    [1]
    """
    if "role" not in populations.columns:
        return populations
    return populations[populations["role"].astype(str).str.lower().isin(["test", "nan", ""])]


def _card(label: str, value: Any, bad: bool = False) -> str:
    css = "card bad" if bad else "card"
    return f'<div class="{css}"><b>{escape(str(value))}</b>{escape(label)}</div>'


def summary_section(results: Any, comparison: pd.DataFrame | None, notes: Sequence[str]) -> str:
    """Counts at a glance: files, gated samples, conditions, problems, QC failures, warnings.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> res = SimpleNamespace(populations=pd.DataFrame({"sample": ["a", "a"]}))
    >>> "<b>1</b>gated samples" in summary_section(res, None, [])
    True
    """
    sheet = table_of(results, "sheet")
    pops = table_of(results, "populations")
    problems = table_of(results, "problems")
    warnings_table = table_of(results, "warnings")
    qc = table_of(results, "qc")
    samples = list(dict.fromkeys(pops["sample"])) if "sample" in pops else []
    cards = []
    if not sheet.empty:
        cards.append(_card("files in the sheet", len(sheet)))
        if "role" in sheet:
            n_tests = int((sheet["role"].astype(str).str.lower() == "test").sum())
            cards.append(_card("test samples in the sheet", n_tests))
    cards.append(_card("gated samples", len(samples)))
    if "condition" in pops and samples:
        per = pops.drop_duplicates("sample")["condition"].astype(str).value_counts(sort=False)
        cards.append(_card("conditions", len(per)))
    if "batch" in pops and samples:
        cards.append(_card("batches", pops["batch"].astype(str).nunique()))
    cards.append(_card("problems", len(problems), bad=not problems.empty))
    failed = int((~qc["ok"].astype(bool)).sum()) if "ok" in qc else 0
    cards.append(_card("QC checks not met", failed, bad=failed > 0))
    cards.append(_card("warnings", len(warnings_table), bad=False))
    body = f'<div class="cards">{"".join(cards)}</div>'
    if "condition" in pops and samples:
        first = pops.drop_duplicates("sample")
        groups = first.groupby(first["condition"].astype(str), sort=False)["sample"]
        items = "".join(
            f"<li><b>{escape(cond)}</b>: {escape(', '.join(map(str, names)))}</li>"
            for cond, names in groups
        )
        body += f"<h3>Samples per condition</h3><ul>{items}</ul>"
    if comparison is None or len(comparison) == 0:
        body += note_html("No comparison between conditions in this report.")
    lines = list(notes)
    if sheet.empty and not pops.empty:
        lines.append("Built from result tables: the sample sheet itself was not available.")
    if lines:
        body += "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"
    return body


def markers_section(results: Any) -> str:
    """Template name, version and digest; how each marker was found in the files.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> res = SimpleNamespace(template={"name": "bcsc", "version": "1", "digest": "abc"})
    >>> "<td>abc</td>" in markers_section(res)
    True
    """
    info = dict(getattr(results, "template", {}) or {})
    meta = pd.DataFrame(
        {
            "field": ["name", "version", "digest"],
            "value": [info.get(k, "") for k in ("name", "version", "digest")],
        }
    )
    body = table(meta, table_id="template-info")
    markers = table_of(results, "markers")
    if markers.empty or "marker" not in markers:
        return body + note_html("No marker resolution table (not recorded for this batch).")
    keys = [c for c in ("marker", "channel", "how", "stain") if c in markers.columns]
    label = "sample" if "sample" in markers else "file"
    n_files = markers[label].nunique() if label in markers else 0
    rows = []
    for key, group in markers.fillna("").groupby(keys, sort=False):
        values = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        members = list(dict.fromkeys(group[label].astype(str))) if label in group else []
        values["files"] = (
            f"all {n_files} files"
            if len(members) == n_files
            else f"{len(members)}: " + ", ".join(members)
        )
        rows.append(values)
    headers = {"how": "found by", "stain": "$PnS"}
    body += "<h3>Marker resolution</h3>" + table(
        pd.DataFrame(rows), headers=headers, table_id="markers"
    )
    return body


def thresholds_section(results: Any) -> str:
    """Resolved data-driven gates with the control and statistic behind each value.

    Rows that differ only by sample (a per-batch threshold shared by its samples) are
    merged, their samples listed together.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> t = pd.DataFrame({"sample": ["a", "b"], "population": ["BCSC"] * 2, "value": [4.0, 4.0]})
    >>> "<td>a, b</td>" in thresholds_section(SimpleNamespace(thresholds=t))
    True
    """
    frame = table_of(results, "thresholds")
    if frame.empty:
        return note_html("No data-driven thresholds in this batch.")
    frame = frame.drop(columns=[c for c in ("template_digest", "events") if c in frame])
    keys = [c for c in frame.columns if c != "sample"]
    if "sample" in frame.columns:
        frame = frame.astype(object).where(frame.notna(), "")
        merged = (
            frame.groupby(keys, sort=False, dropna=False)["sample"]
            .agg(lambda s: ", ".join(dict.fromkeys(map(str, s))))
            .reset_index()
        )
        frame = merged[["sample", *keys]].rename(columns={"sample": "samples"})
    formats: dict[str, Formatter] = {
        c: significant(5) for c in ("value", "gate_value") if c in frame
    }
    if "control_events" in frame:
        formats["control_events"] = _integer
    legend = note_html(
        "value: the threshold in the channel's scale units; gate_value: the same cut on the "
        "gate's (transformed) axis."
    )
    if "control_file" not in frame:
        return legend + table(frame, formats=formats, table_id="thresholds")
    from_control = frame["control_file"].astype(str).str.len() > 0
    controlled = frame[from_control].drop(columns=["recipe"], errors="ignore")
    others = frame[~from_control].drop(
        columns=[c for c in ("control_role", "control_file", "control_events") if c in frame]
    )
    body = legend + "<h3>Thresholds from control tubes</h3>"
    body += (
        table(controlled, formats=formats, table_id="thresholds")
        if not controlled.empty
        else note_html("None: no threshold of this template came from a control tube.")
    )
    if not others.empty:
        body += (
            f"<details><summary>Per-sample data-driven gates ({len(others)})</summary>"
            + table(others, formats=formats, table_id="thresholds-data")
            + "</details>"
        )
    return body


def _integer(value: Any) -> str:
    return fixed(0)(value)


def populations_section(results: Any) -> str:
    """% of parent per test sample (rows) and population (columns, tree order).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> p = pd.DataFrame({"sample": ["a"], "population": ["BCSC"], "parent": ["live"],
    ...                   "pct_of_parent": [2.015], "count": [5], "parent_count": [248]})
    >>> '<td data-sample="a" data-population="BCSC" class="num">2.02</td>' in populations_section(
    ...     SimpleNamespace(populations=p))
    True
    """
    pops = rows_of_tests(table_of(results, "populations"))
    if pops.empty or not {"sample", "population", "pct_of_parent"} <= set(pops.columns):
        return note_html("No populations were gated.")
    names = list(dict.fromkeys(pops["population"].astype(str)))
    parents = pops.drop_duplicates("population").set_index("population").get("parent")
    wide = pops.pivot_table(
        index="sample", columns="population", values="pct_of_parent", sort=False
    )
    wide = wide.reindex(index=list(dict.fromkeys(pops["sample"])), columns=names)
    info = [c for c in ("condition", "replicate", "batch") if c in pops.columns]
    first = pops.drop_duplicates("sample").set_index("sample")
    frame = pd.concat([first[info].reindex(wide.index), wide], axis=1).reset_index()
    headers = {}
    for name in names:
        parent = parents.get(name) if parents is not None else None
        parent = "all events" if parent is None or pd.isna(parent) else str(parent)
        headers[name] = f"{name} (% of {parent})"

    def attrs(row: pd.Series, column: str) -> dict[str, str]:
        if column in names:
            return {"data-sample": str(row["sample"]), "data-population": column}
        return {}

    body = note_html(f"% of parent population, {PCT_DIGITS} decimals; one row per test sample.")
    body += table(
        frame,
        formats={n: fixed(PCT_DIGITS) for n in names},
        headers=headers,
        cell_attributes=attrs,
        table_id="populations",
    )
    counts = pops[[c for c in ("sample", "population", "count", "parent_count") if c in pops]]
    body += "<details><summary>Event counts</summary>" + table(counts) + "</details>"
    return body


def gating_section(results: Any, figures: bool, limit: int | None = None) -> str:
    """The gating path of each test sample (needs ``Results.samples``), at most ``limit``.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> "keep_results=True" in gating_section(SimpleNamespace(samples={}), figures=True)
    True
    """
    if not figures:
        return note_html("Figures left out (figures=False).")
    kept = dict(getattr(results, "samples", {}) or {})
    if not kept:
        return (
            '<p class="missing">Gating figures need the events of each sample and are not '
            "in this report: the batch was gated without keeping per-sample results, or the "
            "report was rebuilt from tables. Gate with <code>gate_folder(..., "
            "keep_results=True)</code> and call <code>write_report</code> to include them.</p>"
        )
    pops = table_of(results, "populations")
    order = list(dict.fromkeys(pops["sample"])) if "sample" in pops else []
    names = [n for n in order if n in kept] + [n for n in kept if n not in order]
    omitted = []
    if limit is not None and len(names) > limit:
        names, omitted = names[: max(limit, 0)], names[max(limit, 0) :]
    first = pops.drop_duplicates("sample").set_index("sample") if "sample" in pops else None
    captions = {}
    for name in names:
        parts = []
        if first is not None and name in first.index:
            parts = [
                f"{c} {first.loc[name, c]}"
                for c in ("condition", "replicate", "batch")
                if c in first.columns and pd.notna(first.loc[name, c])
            ]
        captions[name] = f"{name}" + (f" — {', '.join(parts)}" if parts else "")
    body = note_html("Each panel: the parent population's events, the gate, and the % of parent.")
    if omitted:
        body += (
            f'<p class="missing">{len(omitted)} more sample(s) not drawn (limit {limit}): '
            f"{escape(', '.join(map(str, omitted)))}.</p>"
        )
    return body + gating_figures({n: kept[n] for n in names}, captions)


def qc_section(results: Any) -> str:
    """The template's QC expectations per sample; unmet rows highlighted.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> "No QC" in qc_section(SimpleNamespace())
    True
    """
    qc = table_of(results, "qc")
    if qc.empty:
        return note_html("No QC expectations were evaluated.")
    ok = qc["ok"].astype(bool) if "ok" in qc else pd.Series(True, index=qc.index)
    summary = note_html(f"{int(ok.sum())} of {len(qc)} checks met.")
    return summary + table(
        qc,
        formats={c: significant(4) for c in ("value", "min", "max") if c in qc},
        row_class=lambda row: "" if bool(row.get("ok", True)) else "bad",
        table_id="qc",
    )


def problems_section(results: Any) -> str:
    """Files that could not be read or gated, and the warnings raised while gating.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> "No problems" in problems_section(SimpleNamespace())
    True
    """
    problems = table_of(results, "problems")
    warnings_table = table_of(results, "warnings")
    if problems.empty:
        body = note_html("No problems: every file was read and gated.")
    else:
        body = "<h3>Problems</h3>" + table(
            problems, row_class=lambda row: "bad", table_id="problems"
        )
    if warnings_table.empty:
        body += note_html("No warnings while gating.")
    else:
        body += "<h3>Warnings</h3>" + table(warnings_table, table_id="warnings")
    return body
