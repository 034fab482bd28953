"""Template chores behind ``bcsc-flow template``: a checked summary, Gating-ML export.

Example
-------
>>> from bcsc_flow.template import load_template
>>> print(describe(load_template("bcsc")).splitlines()[0])
template bcsc 1.0.0 (schema 1)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bcsc_flow.atomic import atomic_write_text

if TYPE_CHECKING:
    from bcsc_flow.sample import Sample
    from bcsc_flow.template import Template
    from bcsc_flow.template_resolve import Resolution

__all__ = ["describe", "export_gatingml", "resolve_folder"]


def describe(template: Template, sample: Sample | None = None) -> str:
    """Header, population tree, controls and QC of a template; with ``sample``, how each
    panel marker was found in it (raises if a required marker is absent or ambiguous).

    Example
    -------
    >>> from bcsc_flow.template import load_template
    >>> "deab (match: pair)" in describe(load_template("bcsc"))
    True
    """
    t = template
    lines = [
        f"template {t.name} {t.version} (schema {t.schema_version})",
        f"source:   {t.source}",
        f"digest:   {t.digest}",
        f"authors:  {', '.join(t.authors) or '-'}",
        f"compensation: {t.compensation['source']}"
        + (f" ({t.compensation['matrix']})" if "matrix" in t.compensation else ""),
        "",
        "populations:",
        *(f"  {line}" for line in t.tree().splitlines()),
        "",
        "controls:",
    ]
    for role, spec in t.controls.items():
        alt = f", else {', '.join(spec['alternatives'])}" if spec["alternatives"] else ""
        lines.append(f"  {role} (match: {spec['match']}{alt})")
    if t.qc:
        lines += ["", "qc:"]
        for item in t.qc:
            of = item.get("of") or t.population(item["population"])["parent"]
            where = "" if item["in"] == "test" else f" in {item['in']}"
            bounds = f"[{item.get('min', '-inf')}, {item.get('max', 'inf')}]"
            lines.append(f"  {item['population']}/{of}{where} in {bounds}")
    if sample is not None:
        mm = t.match_markers(sample)
        lines += ["", f"markers in {mm.file}:", *(f"  {line}" for line in mm.lines())]
    return "\n".join(lines)


def resolve_folder(template: Template, folder: str | Path, sheet: str | Path) -> Resolution:
    """Read a sheet and its folder's FCS files, then resolve ``template`` against them.

    Example
    -------
    >>> resolve_folder  # doctest: +ELLIPSIS
    <function resolve_folder at ...>
    """
    from bcsc_flow.io.fcs import read_fcs
    from bcsc_flow.io.sheet import read_sheet

    base = Path(folder)
    frame = read_sheet(sheet, folder=base, check_files=False).frame
    samples = {str(row["sample"]): read_fcs(base / str(row["file"])) for _, row in frame.iterrows()}
    return template.resolve(samples, frame)


def export_gatingml(
    template: Template,
    folder: str | Path,
    sheet: str | Path,
    out: str | Path,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """Freeze ``template`` against a sheet; write ``OUT/<sample>.xml`` per test sample and
    ``OUT/thresholds.csv``. Returns the written paths. Existing XML files are replaced
    only with ``overwrite=True``.

    Example
    -------
    >>> export_gatingml  # doctest: +ELLIPSIS
    <function export_gatingml at ...>
    """
    from bcsc_flow import gatingml

    resolution = resolve_folder(template, folder, sheet)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    written = [
        gatingml.write(st, target / f"{name}.xml", overwrite=overwrite)
        for name, st in resolution.strategies.items()
    ]
    thresholds = target / "thresholds.csv"
    atomic_write_text(thresholds, resolution.thresholds.to_csv(index=False, lineterminator="\n"))
    return [*written, thresholds]
