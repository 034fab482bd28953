"""Numeric core of time-based QC: find the stretches of an acquisition where the flow was stable.

Like flowAI and PeacoQC (R), the acquisition is cut into time bins; a bin is unstable when
its event rate or the median of a watched channel departs from the run's typical value by
more than ``z`` robust standard deviations. Runs of stable bins become the kept segments.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> t = np.sort(rng.uniform(0, 100, 20000))
>>> x = rng.normal(5, 1, t.size) + np.where((t > 40) & (t < 50), 4.0, 0.0)  # a bubble
>>> flow = stable_segments(t, x[:, None])
>>> flow.segments[0][1] <= 41.0 and flow.segments[-1][0] >= 49.0
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bcsc_flow.errors import RecipeError

__all__ = ["FlowStability", "stable_segments"]

_MAD = 1.4826


@dataclass(frozen=True)
class FlowStability:
    """Stable time segments and the bin statistics behind them.

    ``segments`` are ``(start, end)`` times of kept stretches; ``unstable_bins`` counts
    flagged bins; ``removed_fraction`` is the share of events outside every segment.

    Example
    -------
    >>> FlowStability(((0.0, 10.0),), 0, 20, 0.0).segments
    ((0.0, 10.0),)
    """

    segments: tuple[tuple[float, float], ...]
    unstable_bins: int
    n_bins: int
    removed_fraction: float


def _robust_z(values: np.ndarray, floor: np.ndarray | float) -> np.ndarray:
    centre = np.median(values)
    scale = np.maximum(_MAD * np.median(np.abs(values - centre)), floor)
    return (values - centre) / scale


def stable_segments(
    time: np.ndarray,
    channels: np.ndarray | None = None,
    *,
    n_bins: int | None = None,
    z: float = 5.0,
    min_segment_bins: int = 3,
) -> FlowStability:
    """Flag unstable time bins (event rate, channel medians) and return stable segments.

    ``channels`` is an ``(n_events, k)`` array of (transformed) values to watch. With
    ``n_bins`` unset, bins hold about 200 events each (between 10 and 400 bins). Rate
    deviations below Poisson noise are never flagged; stable runs shorter than
    ``min_segment_bins`` are dropped with their unstable neighbours.

    Example
    -------
    >>> t = np.linspace(0, 10, 5000)
    >>> stable_segments(t).removed_fraction
    0.0
    """
    t = np.asarray(time, dtype=np.float64)
    if t.ndim != 1 or t.size < 50:
        raise RecipeError(f"stable flow: need at least 50 events with a time value, got {t.size}.")
    bins = n_bins or int(np.clip(t.size // 200, 10, 400))
    lo, hi = float(np.nanmin(t)), float(np.nanmax(t))
    if not hi > lo:
        raise RecipeError("stable flow: every event has the same time; is this the Time channel?")
    edges = np.linspace(lo, hi, bins + 1)
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins).astype(np.float64)
    bad = np.abs(_robust_z(counts, np.sqrt(max(float(np.median(counts)), 1.0)))) > z
    if channels is not None:
        vals = np.asarray(channels, dtype=np.float64)
        vals = vals[:, None] if vals.ndim == 1 else vals
        order = np.argsort(which, kind="stable")
        starts = np.searchsorted(which[order], np.arange(bins))
        for col in vals.T:
            pieces = np.split(col[order], starts[1:])
            med = np.array([np.median(p) if p.size else np.nan for p in pieces])
            spread = _MAD * np.median(np.abs(col - np.median(col)))
            sem = spread / np.sqrt(np.maximum(counts, 1.0))  # noise of a bin median
            ok = np.isfinite(med)
            zs = np.zeros(bins)
            zs[ok] = _robust_z(med[ok], np.maximum(sem[ok], 1e-12))
            bad |= np.abs(zs) > z
    good = ~bad
    segments: list[tuple[float, float]] = []
    start = None
    for i in range(bins + 1):
        if i < bins and good[i]:
            start = i if start is None else start
            continue
        if start is not None and i - start >= min_segment_bins:
            segments.append((float(edges[start]), float(edges[i])))
        start = None
    if not segments:
        raise RecipeError(
            f"stable flow: no stable stretch of {min_segment_bins} bins among {bins}; "
            "raise z or check the Time channel."
        )
    kept = np.zeros(t.size, dtype=bool)
    for a, b in segments:
        kept |= (t >= a) & (t <= b)
    return FlowStability(tuple(segments), int(bad.sum()), bins, float(1 - kept.mean()))
