"""The work of one batch task: read a group of files, freeze the template, gate, tabulate.

A *unit* is the smallest set of files that can be gated on its own: a sheet batch (its
test samples with the control tubes they need, since controls and per-batch recipes are
shared inside a batch), or a single test file when the template needs no controls and no
per-batch pooling. A unit's controls are resolved before its samples, each file is read
once, and only tables come back from the worker.

Inside a unit, a file that cannot be read is reported and left out; when freezing the
whole unit fails (e.g. a control is missing), each test sample is frozen on its own so
that one sample's problem never costs another sample its result.

Example
-------
>>> units_of(["b1", "b1", "b2"], needs_batch=True)
[[0, 1], [2]]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bcsc_flow.errors import BcscFlowError

__all__ = ["UnitTask", "describe", "load", "make_units", "run_unit", "units_of"]


def load(template: Any) -> Any:
    """A :class:`~bcsc_flow.template.Template` from a name, a path or a Template."""
    from bcsc_flow.template import load_template

    return load_template(template)


def describe(template: Any) -> dict[str, str]:
    """Name, version and digest of a template, for stamping results."""
    return {"name": template.name, "version": template.version, "digest": template.digest}


def _has_batch_scope(node: Any) -> bool:
    if isinstance(node, Mapping):
        return node.get("scope") == "per_batch" or any(_has_batch_scope(v) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_has_batch_scope(v) for v in node)
    return False


def _needs_batch(template: Any) -> bool:
    """Files must be gated together by batch when controls or per-batch recipes are shared."""
    return bool(template.required_roles()) or _has_batch_scope(template.to_document())


def _roles_needed(template: Any) -> set[str]:
    """Control roles the template reads (lower case); singles and unstained only for compensation."""
    roles = {"test"}
    for role, spec in template.controls.items():
        roles.add(str(role).lower())
        roles.update(str(a).lower() for a in spec.get("alternatives", ()) or ())
    policy = template.compensation
    if "controls" in repr(policy):
        roles.add("unstained")
        roles.update(f"single:{m}".lower() for m in template.panel)
    return roles


def units_of(batches: Sequence[str], *, needs_batch: bool) -> list[list[int]]:
    """Group row indices into units: by batch when ``needs_batch``, else one row each."""
    if not needs_batch:
        return [[i] for i in range(len(batches))]
    groups: dict[str, list[int]] = {}
    for i, b in enumerate(batches):
        groups.setdefault(str(b), []).append(i)
    return list(groups.values())


@dataclass(frozen=True)
class UnitTask:
    """One unit of work: the sheet rows of its files, their folder and the template."""

    key: str
    rows: tuple[Mapping[str, str], ...]
    folder: str
    template: Any
    keep_results: bool = False

    @property
    def tests(self) -> list[str]:
        """Names of the test samples of the unit."""
        return [r["sample"] for r in self.rows if r["role"].lower() == "test"]


def make_units(
    template: Any, sheet_frame: pd.DataFrame, folder: Path, keep: bool
) -> list[UnitTask]:
    """Split a sheet into unit tasks (only units holding at least one test sample)."""
    needed = _roles_needed(template)
    rows = [
        dict(r)
        for r in sheet_frame.astype(str).to_dict("records")
        if str(r["role"]).lower() in needed
    ]
    groups = units_of([r["batch"] for r in rows], needs_batch=_needs_batch(template))
    tasks = []
    for group in groups:
        members = tuple(rows[i] for i in group)
        if any(r["role"].lower() == "test" for r in members):
            key = members[0]["batch"] if len(members) > 1 else members[0]["sample"]
            tasks.append(UnitTask(key, members, str(folder), template, keep))
    return tasks


def _problem(row: Mapping[str, str], stage: str, exc: BaseException) -> dict[str, str]:
    return {
        "sample": row.get("sample", ""),
        "file": row.get("file", ""),
        "role": row.get("role", ""),
        "stage": stage,
        "error": type(exc).__name__,
        "message": str(exc),
    }


def _read_unit(task: UnitTask) -> tuple[dict[str, Any], list[dict[str, str]]]:
    from dataclasses import replace

    from bcsc_flow.io.fcs import read_fcs

    samples: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for row in task.rows:
        path = Path(task.folder) / row["file"]
        try:
            if not path.is_file():
                raise FileNotFoundError(f"{path}: listed in the sample sheet but not found")
            samples[row["sample"]] = replace(read_fcs(path), name=row["sample"])
        except (BcscFlowError, OSError) as exc:
            problems.append(_problem(row, "read", exc))
    return samples, problems


def _tables(
    task: UnitTask, resolution: Any, samples: Mapping[str, Any], names: Sequence[str]
) -> dict[str, Any]:
    from bcsc_flow.dimensions import Dimension
    from bcsc_flow.stats import population_statistics

    pops, stats, kept = [], [], {}
    for name in names:
        strategy = resolution.strategies[name]
        result = strategy.apply(samples[name])
        table = result.table()
        table.insert(0, "sample", name)
        table["template_digest"] = resolution.template_digest
        pops.append(table)
        dims = sorted(
            {
                (d.channel, d.compensation)
                for pop in strategy
                for d in pop.gate.dimensions
                if isinstance(d, Dimension)
            }
        )
        channels = [Dimension(ch, compensation=comp) for ch, comp in dims]
        if channels:
            st = population_statistics(result, channels=channels)
            st.insert(0, "sample", name)
            stats.append(st)
        if task.keep_results:
            kept[name] = result
    qc = (
        resolution.qc[resolution.qc["sample"].isin(names)]
        if not resolution.qc.empty
        else resolution.qc
    )
    thresholds = resolution.thresholds
    if not thresholds.empty and "sample" in thresholds.columns:
        thresholds = thresholds[thresholds["sample"].isin(names)]
    return {
        "populations": pd.concat(pops, ignore_index=True) if pops else pd.DataFrame(),
        "statistics": pd.concat(stats, ignore_index=True) if stats else pd.DataFrame(),
        "thresholds": thresholds,
        "markers": resolution.markers,
        "qc": qc,
        "results": kept,
    }


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"results": {}}
    for key in ("populations", "statistics", "thresholds", "markers", "qc"):
        frames = [p[key] for p in parts if p.get(key) is not None and not p[key].empty]
        merged[key] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not merged["markers"].empty:  # every part reports the whole unit's markers
        merged["markers"] = merged["markers"].drop_duplicates(ignore_index=True)
    for p in parts:
        merged["results"].update(p["results"])
    return merged


def run_unit(task: UnitTask) -> dict[str, Any]:
    """Read, freeze and gate one unit; return its tables, problems and warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        samples, problems = _read_unit(task)
        frame = pd.DataFrame([r for r in task.rows if r["sample"] in samples])
        tests = [t for t in task.tests if t in samples]
        parts: list[dict[str, Any]] = []
        if tests:
            try:
                resolution = task.template.resolve(samples, frame)
                parts.append(_tables(task, resolution, samples, tests))
            except BcscFlowError:
                parts = []
                controls = frame[frame["role"].str.lower() != "test"]
                for name in tests:
                    sub = pd.concat([frame[frame["sample"] == name], controls], ignore_index=True)
                    try:
                        resolution = task.template.resolve(samples, sub)
                        parts.append(_tables(task, resolution, samples, [name]))
                    except BcscFlowError as exc:
                        row = next(r for r in task.rows if r["sample"] == name)
                        problems.append(_problem(row, "gate", exc))
    out = _merge(parts)
    out["problems"] = problems
    out["warnings"] = [
        {"unit": task.key, "category": w.category.__name__, "message": str(w.message)}
        for w in caught
    ]
    return out
