"""Numeric cores on plain arrays: control quantiles and density valleys.

These functions know nothing about samples, gates or templates; the recipe classes in
:mod:`bcsc_flow.recipes` call them on the (transformed) values of one population.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = np.concatenate([rng.normal(1.0, 0.2, 5000), rng.normal(3.0, 0.3, 5000)])
>>> v = density_valley(x)
>>> 1.5 < v.value < 2.5, v.n_peaks
(True, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bcsc_flow.errors import RecipeError

__all__ = ["Valley", "control_quantile", "density_valley", "kde_1d"]


def control_quantile(
    values: np.ndarray, q: float, *, multiply: float = 1.0, offset: float = 0.0
) -> float:
    """``quantile(values, q) * multiply + offset`` over the finite values.

    Example
    -------
    >>> control_quantile(np.arange(101.0), 0.99, multiply=2.0, offset=1.0)
    199.0
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise RecipeError("control_quantile: the control has no events in its parent population.")
    if not 0.0 < q < 1.0:
        raise RecipeError(f"control_quantile: q must be in (0, 1), got {q!r}.")
    return float(np.quantile(x, q)) * float(multiply) + float(offset)


def kde_1d(
    values: np.ndarray,
    *,
    grid_size: int = 512,
    adjust: float = 1.0,
    limits: tuple[float, float] | None = None,
    min_bandwidth: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """A binned Gaussian kernel density estimate: ``(grid, density)``.

    The bandwidth is Silverman's rule times ``adjust`` (at least ``min_bandwidth``); the estimate is a histogram on
    ``grid_size`` bins smoothed by a Gaussian (linear in the number of events).

    Example
    -------
    >>> g, d = kde_1d(np.random.default_rng(1).normal(size=2000))
    >>> bool(abs(g[np.argmax(d)]) < 0.3)
    True
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        raise RecipeError(f"kde_1d: need at least 2 finite values, got {x.size}.")
    sd = float(np.std(x))
    iqr = float(np.subtract(*np.quantile(x, [0.75, 0.25])))
    spread = min(sd, iqr / 1.349) if iqr > 0 else sd
    if spread <= 0:
        spread = max(abs(float(x[0])) * 1e-3, 1e-3)
    bw = max(0.9 * spread * x.size ** (-0.2) * float(adjust), float(min_bandwidth))
    lo, hi = limits if limits is not None else (float(x.min()) - 3 * bw, float(x.max()) + 3 * bw)
    if not hi > lo:
        hi = lo + 1.0
    counts, edges = np.histogram(x, bins=grid_size, range=(lo, hi))
    grid = 0.5 * (edges[:-1] + edges[1:])
    step = grid[1] - grid[0]
    half = int(np.ceil(4 * bw / step))
    offsets = np.arange(-half, half + 1) * step
    kernel = np.exp(-0.5 * (offsets / bw) ** 2)
    dens = np.convolve(counts.astype(np.float64), kernel, mode="same")
    if dens.size != grid.size:  # kernel longer than the grid: crop around the centre
        start = (dens.size - grid.size) // 2
        dens = dens[start : start + grid.size]
    dens /= dens.sum() * step
    return grid, dens


@dataclass(frozen=True)
class Valley:
    """Where a density valley was found.

    ``value`` is the cut; ``n_peaks`` the number of peaks seen; ``peaks`` the positions
    of the two main peaks (or one); ``fallback`` is ``None`` when a true valley was found,
    else the rule that produced ``value`` (``"range_low"``, ``"range_high"``, ...).

    Example
    -------
    >>> Valley(2.0, 2, (1.0, 3.0), None).found
    True
    """

    value: float
    n_peaks: int
    peaks: tuple[float, ...]
    fallback: str | None

    @property
    def found(self) -> bool:
        """True when the value is a real minimum between two peaks."""
        return self.fallback is None


def _local_maxima(d: np.ndarray, min_height: float) -> np.ndarray:
    inner = (d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:]) & (d[1:-1] >= min_height)
    return np.flatnonzero(inner) + 1


def _flat_middle(dens: np.ndarray, inside: np.ndarray) -> int:
    """Index of the density minimum over ``inside``; the middle of a flat minimum."""
    values = dens[inside]
    low = float(values.min())
    flat = values <= low + 1e-3 * (float(dens.max()) - low)
    start = int(np.argmin(values))
    end = start
    while end + 1 < flat.size and flat[end + 1]:
        end += 1
    while start > 0 and flat[start - 1]:
        start -= 1
    return int(inside[(start + end) // 2])


def density_valley(
    values: np.ndarray,
    *,
    search: tuple[float, float] | None = None,
    adjust: float = 1.0,
    min_peak_fraction: float = 0.005,
    fallback: str = "range_high",
    other_peak: str = "any",
    min_separation: float = 0.0,
    min_bandwidth_share: float = 0.02,
) -> Valley:
    """The deepest density minimum between the highest peak and the next main peak.

    The second peak is the highest other peak whose valley with the first can fall inside
    ``search`` (on the same scale as ``values``); ``other_peak="below"`` or ``"above"``
    looks for it only on that side of the highest peak (e.g. debris below cells). A peak
    must reach ``min_peak_fraction`` of the highest peak and lie at least ``min_separation``
    from it to count. Inside a flat minimum the cut is the middle of the flat stretch. The
    kernel is never narrower than ``min_bandwidth_share`` of the 1st–99th percentile span,
    so a spike (e.g. values clipped at a floor) cannot shred the other peaks into noise.
    With fewer than two peaks
    (or no minimum inside ``search``) the cut follows ``fallback``: ``"range_low"`` or
    ``"range_high"`` (an edge of ``search``), or ``"error"`` to raise :class:`RecipeError`.

    Example
    -------
    >>> x = np.random.default_rng(2).normal(0.0, 1.0, 3000)
    >>> density_valley(x, search=(1.0, 2.5), fallback="range_high").fallback
    'range_high'
    """
    if other_peak not in {"any", "below", "above"}:
        raise RecipeError(
            f"density_valley: other_peak {other_peak!r} is not 'any', 'below' or 'above'."
        )
    if fallback not in {"range_low", "range_high", "error"}:
        raise RecipeError(
            f"density_valley: fallback {fallback!r} is not one of 'range_low', 'range_high', 'error'."
        )
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        raise RecipeError(f"density_valley: need at least 2 finite values, got {x.size}.")
    q_lo, q_hi = np.quantile(x, [0.01, 0.99])
    grid, dens = kde_1d(x, adjust=adjust, min_bandwidth=min_bandwidth_share * float(q_hi - q_lo))
    top = float(dens.max())
    peaks = _local_maxima(dens, min_peak_fraction * top)
    lo, hi = search if search is not None else (float(grid[0]), float(grid[-1]))
    if not hi > lo:
        raise RecipeError(f"density_valley: search range ({lo}, {hi}) is empty; give low < high.")
    if peaks.size >= 2:
        first = int(peaks[np.argmax(dens[peaks])])
        others = [
            int(p)
            for p in peaks[np.argsort(dens[peaks])[::-1]]
            if p != first and abs(grid[p] - grid[first]) >= min_separation
        ]
        if other_peak == "below":
            others = [p for p in others if p < first]
        elif other_peak == "above":
            others = [p for p in others if p > first]
        for second in others:
            a, b = sorted((first, second))
            between = np.arange(a, b + 1)
            inside = between[(grid[between] >= lo) & (grid[between] <= hi)]
            if inside.size:
                cut = _flat_middle(dens, inside)
                if cut not in (a, b):
                    peaks_at = (float(grid[a]), float(grid[b]))
                    return Valley(float(grid[cut]), int(peaks.size), peaks_at, None)
    seen = tuple(float(grid[p]) for p in peaks[np.argsort(dens[peaks])[::-1][:2]])
    if fallback == "error":
        raise RecipeError(
            f"density_valley: found {peaks.size} peak(s) at {seen} and no valley inside "
            f"[{lo:g}, {hi:g}]; widen the search range or give a fallback."
        )
    value = lo if fallback == "range_low" else hi
    return Valley(float(value), int(peaks.size), seen, fallback)
