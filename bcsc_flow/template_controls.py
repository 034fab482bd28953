"""Controls and compensation for template resolution: match control tubes, build matrices.

Example
-------
>>> looks_compensated_names(["FSC-A", "Comp-FITC-A"])
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.errors import CompensationError, CompensationWarning, SheetError, warn

if TYPE_CHECKING:
    from bcsc_flow.sample import Sample
    from bcsc_flow.template import Template

__all__ = [
    "batch_looks_compensated",
    "looks_compensated",
    "looks_compensated_names",
    "match_control",
    "template_spillover",
]


_PROBE_EVENTS = 20_000


def looks_compensated_names(names: list[str] | tuple[str, ...]) -> bool:
    """True when channel names carry FlowJo's ``Comp-`` prefix (exported compensated)."""
    return any(n.lower().startswith("comp-") for n in names)


def looks_compensated(sample: Sample) -> bool:
    """True when a file's data are already compensated although it carries a matrix.

    Signs: ``Comp-`` channels, bcsc_flow's own compensation keyword, or the rule of
    :func:`bcsc_flow.compensation.compensate` (bright events pushed below zero by a
    second subtraction), whose warning is caught here; the rule runs on the first
    20,000 events.
    """
    import warnings

    from bcsc_flow.compensation import COMPENSATED_KEYWORD, compensate

    if looks_compensated_names(sample.names) or COMPENSATED_KEYWORD in sample.keywords:
        return True
    probe = sample if len(sample) <= _PROBE_EVENTS else sample.subset(np.arange(_PROBE_EVENTS))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            compensate(probe)
        except CompensationError:
            return False
    return any(issubclass(w.category, CompensationWarning) for w in caught)


def batch_looks_compensated(
    rows: Mapping[str, Mapping[str, Any]], samples: Mapping[str, Sample], batch: str
) -> bool:
    """True (with one CompensationWarning) when any file of the batch that carries a
    matrix looks compensated already; the whole batch is then left uncompensated so that
    controls and test samples stay on the same footing."""
    files = [n for n, r in rows.items() if r["batch"] == batch and samples[n].spillover is not None]
    flagged = [n for n in files if looks_compensated(samples[n])]
    if flagged:
        example = rows[flagged[0]].get("file") or flagged[0]
        warn(
            f"batch {batch!r}: {len(flagged)} of {len(files)} files look compensated already although "
            f"they carry a spillover matrix (e.g. {example}); the matrix is not applied again to any "
            "file of the batch (compensation: file).",
            CompensationWarning,
        )
    return bool(flagged)


def template_spillover(
    template: Template,
    rows: Mapping[str, Mapping[str, Any]],
    samples: Mapping[str, Sample],
    batch: str,
) -> Any:
    """The matrix of a ``matrix: path`` or ``controls`` compensation policy for one batch.

    ``controls``: :func:`bcsc_flow.compensation.spillover_from_controls` on the batch's
    ``unstained`` and ``single:<MARKER>`` tubes, using the events above the unstained
    99.5th percentile of each stain's primary detector (bead tubes are half negative).
    """
    from pathlib import Path

    from bcsc_flow.compensation import Spillover, spillover_from_controls

    if template.compensation["source"] == "matrix":
        path = Path(template.compensation["matrix"])
        if not path.is_absolute() and Path(template.source).is_file():
            path = Path(template.source).parent / path
        return Spillover.from_csv(path)
    mine = {n: r for n, r in rows.items() if r["batch"] == batch}
    singles = {
        r["role"].split(":", 1)[1]: samples[n]
        for n, r in mine.items()
        if r["role"].startswith("single:")
    }
    unstained = [n for n, r in mine.items() if r["role"] == "unstained"]
    if not singles or len(unstained) != 1:
        raise SheetError(
            f"batch {batch!r}: compensation 'controls' of template {template.name!r} needs one "
            f"'unstained' control and 'single:<MARKER>' controls; found {len(unstained)} unstained "
            f"and {len(singles)} single stains."
        )
    return spillover_from_controls(samples[unstained[0]], singles, positive_percentile=99.5)


def match_control(
    template: Template, rows: Mapping[str, Mapping[str, Any]], name: str, role: str, *, purpose: str
) -> str:
    """The sample name of the control of ``role`` (or an alternative) for sample ``name``.

    ``match: batch`` takes the batch's one control of the role; ``match: pair`` the control
    whose ``pair_id`` equals the sample's, else the batch's unpaired control of the same
    condition. Absence or ambiguity raises :class:`SheetError` naming batch and role.

    Example
    -------
    >>> from bcsc_flow.template import load_template
    >>> rows = {"t": {"role": "test", "batch": "b1", "pair_id": "t", "condition": "x"},
    ...         "d": {"role": "deab", "batch": "b1", "pair_id": "t", "condition": "x"}}
    >>> match_control(load_template("bcsc"), rows, "t", "deab", purpose="ALDH+")
    'd'
    """
    row = rows[name]
    entry = template.controls.get(role, {"match": "batch", "alternatives": []})
    if row["role"] == role:
        return name
    roles = [role, *entry["alternatives"]]
    batch_rows = {n: r for n, r in rows.items() if r["batch"] == row["batch"]}
    for r in roles:
        if entry["match"] == "pair":
            hits = [
                n
                for n, x in rows.items()
                if x["role"] == r and row["pair_id"] and x["pair_id"] == row["pair_id"]
            ]
            if not hits:
                hits = [n for n, x in batch_rows.items()
                        if x["role"] == r and x["condition"] == row["condition"] and not x["pair_id"]]  # fmt: skip
        else:
            hits = [n for n, x in batch_rows.items() if x["role"] == r]
        if len(hits) > 1:
            raise SheetError(
                f"batch {row['batch']!r}: {len(hits)} controls with role {r!r} match sample {name!r} "
                f"({', '.join(hits)}); keep one per batch (or give pair_id to pair them)."
            )
        if hits:
            return hits[0]
    have = sorted({x["role"] for x in batch_rows.values()})
    how = "pair_id " + repr(row["pair_id"]) if entry["match"] == "pair" else "batch"
    raise SheetError(
        f"batch {row['batch']!r} has no control with role {' or '.join(map(repr, roles))} for sample "
        f"{name!r} (matched by {how}; needed by {purpose} of template {template.name!r}). "
        f"Roles in this batch: {', '.join(have)}. Add the control to the sample sheet."
    )
