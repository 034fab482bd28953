"""Estimating a spillover matrix from single-stain controls and an unstained control."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bcsc_flow.compensation._spillover import Spillover
from bcsc_flow.errors import CompensationError, CompensationWarning, warn
from bcsc_flow.sample import Sample

__all__ = ["spillover_from_controls"]

_MIN_EVENTS = 20


def _fluorescence_channels(sample: Sample) -> list[str]:
    """Channels that are neither scatter nor time; area (``-A``) channels when any exist."""
    names = [
        c.name
        for c in sample.channels
        if not c.is_time and not c.name.upper().startswith(("FSC", "SSC"))
    ]
    area = [n for n in names if n.upper().endswith("-A")]
    return area or names


def _columns(sample: Sample, channels: Sequence[str], label: str) -> np.ndarray:
    missing = [c for c in channels if c not in sample.names]
    if missing:
        raise CompensationError(
            f"Control {label!r} (sample {sample.name!r}) lacks channels {missing}; "
            f"it has {', '.join(sample.names)}."
        )
    return np.asarray(sample.events[:, [sample.names.index(c) for c in channels]], dtype=np.float64)


def spillover_from_controls(
    unstained: Sample,
    singles: Mapping[str, Sample] | Sequence[Sample],
    *,
    channels: Sequence[str] | None = None,
    positive_percentile: float | None = None,
) -> Spillover:
    """Median-based spillover matrix from single-stain controls and an unstained control.

    For each single stain, the primary detector is the one brightest relative to the
    unstained control (largest difference of medians; with ``positive_percentile``, of
    the single stain's 99th percentile to the unstained median, and then only events above
    that percentile of the unstained control in the primary detector are used). Its row is
    ``(median_j(single) − median_j(unstained)) / (median_p(single) − median_p(unstained))``.
    Rows are placed at their primary detector; detectors without a control get an
    identity row (with a :class:`CompensationWarning`). ``channels`` defaults to the
    unstained control's fluorescence channels (no FSC/SSC/Time; ``-A`` ones if present).

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> S = np.array([[1.0, 0.25], [0.05, 1.0]])
    >>> def make(truth, name):
    ...     raw = truth @ S + rng.normal(0, 5, truth.shape)
    ...     return Sample.from_array(raw, ["FITC-A", "PE-A"], name=name)
    >>> unst = make(np.zeros((2000, 2)), "unstained")
    >>> fitc = make(np.c_[rng.lognormal(8, 0.3, 2000), np.zeros(2000)], "FITC")
    >>> pe = make(np.c_[np.zeros(2000), rng.lognormal(8, 0.3, 2000)], "PE")
    >>> spillover_from_controls(unst, [fitc, pe]).matrix.round(2).tolist()
    [[1.0, 0.25], [0.05, 1.0]]
    """
    labelled = (
        list(singles.items()) if isinstance(singles, Mapping) else [(s.name, s) for s in singles]
    )
    if not labelled:
        raise CompensationError("spillover_from_controls: no single-stain controls were given.")
    chans = list(channels) if channels is not None else _fluorescence_channels(unstained)
    if len(chans) < 2:
        raise CompensationError(
            f"spillover_from_controls: need at least 2 channels, got {chans} "
            f"(unstained control {unstained.name!r} has {', '.join(unstained.names)})."
        )
    base = _columns(unstained, chans, "unstained")
    base_median = np.median(base, axis=0)
    base_spread = 1.4826 * np.median(np.abs(base - base_median), axis=0)
    thresholds = (
        None if positive_percentile is None else np.percentile(base, positive_percentile, axis=0)
    )
    rows: dict[int, tuple[str, np.ndarray]] = {}
    for label, sample in labelled:
        vals = _columns(sample, chans, label)
        if thresholds is not None:
            primary = int(np.argmax(np.percentile(vals, 99.0, axis=0) - base_median))
            vals = vals[vals[:, primary] > thresholds[primary]]
        else:
            primary = int(np.argmax(np.median(vals, axis=0) - base_median))
        if vals.shape[0] < _MIN_EVENTS:
            raise CompensationError(
                f"Control {label!r}: only {vals.shape[0]} positive events in {chans[primary]} "
                f"(need {_MIN_EVENTS}); lower positive_percentile or check the control."
            )
        shift = np.median(vals, axis=0) - base_median
        if shift[primary] <= max(base_spread[primary], 0.0) or shift[primary] <= 0:
            raise CompensationError(
                f"Control {label!r} is not clearly brighter than the unstained control in any of "
                f"{chans} (best: {chans[primary]}, median shift {shift[primary]:.4g} vs unstained "
                f"spread {base_spread[primary]:.4g})."
            )
        if primary in rows:
            raise CompensationError(
                f"Controls {rows[primary][0]!r} and {label!r} are both brightest in "
                f"{chans[primary]}; each detector can have one single-stain control."
            )
        row = shift / shift[primary]
        row[primary] = 1.0
        rows[primary] = (label, row)
    matrix = np.eye(len(chans))
    for primary, (_, row) in rows.items():
        matrix[primary] = row
    uncovered = [c for i, c in enumerate(chans) if i not in rows]
    if uncovered:
        warn(
            f"spillover_from_controls: no single-stain control is brightest in {uncovered}; "
            "their rows are identity (pass channels=... to leave them out).",
            CompensationWarning,
        )
    names = ", ".join(label for label, _ in labelled)
    return Spillover(tuple(chans), matrix, None, f"from controls: {names}")
