"""Scatter and time recipes: singlets, cells (debris and off-scale out), stable flow.

Each is a frozen dataclass with ``resolve(data, controls) -> (gate, provenance)`` like
the recipes of :mod:`bcsc_flow.recipes` (which re-exports them). Scatter gates are
polygons in data units on untransformed dimensions.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> rng = np.random.default_rng(0)
>>> a = rng.normal(1e5, 2e4, 3000)
>>> s = Sample.from_array(np.column_stack([a, a * rng.normal(0.78, 0.04, 3000)]), ["FSC-A", "FSC-H"])
>>> gate, prov = SingletFit(("FSC-A", "FSC-H")).resolve(s, {})
>>> type(gate).__name__, int(gate.mask(s).sum()) > 2950
('Polygon', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from bcsc_flow._density import density_valley
from bcsc_flow._recipes_base import Provenance, Scope, column, dim_of
from bcsc_flow._recipes_fits import fit_mixture, singlet_band
from bcsc_flow._recipes_timeqc import stable_segments
from bcsc_flow.dimensions import Dimension
from bcsc_flow.errors import RecipeError
from bcsc_flow.gates import Gate, Or, Polygon, Range

if TYPE_CHECKING:
    from bcsc_flow.sample import Sample

__all__ = ["Cells", "SingletFit", "StableFlow"]


def _pair(dims: tuple[str | Dimension, ...], owner: str) -> tuple[Dimension, Dimension]:
    if len(dims) != 2:
        raise RecipeError(f"{owner}: give exactly two dimensions, got {len(dims)}.")
    a, b = (dim_of(d) for d in dims)
    return a, b


def _top(data: Sample, dim: Dimension, values: np.ndarray) -> float:
    """Upper limit of a scatter axis: just under $PnR (off-scale out) or above the data."""
    try:
        rng = data.channel(dim.channel).range
    except KeyError:
        rng = None
    if rng:
        return float(rng) * 0.999
    finite = values[np.isfinite(values)]
    return float(finite.max()) * 1.01 + 1.0 if finite.size else 1.0


@dataclass(frozen=True)
class SingletFit:
    """Singlets: robust fit of height (or width) against area; a band of the residuals.

    ``dimensions`` are ``(area, height)`` (e.g. FSC-A, FSC-H) on data units; the band is
    ``band`` robust SDs of the relative residuals around the fitted line, as a 4-vertex
    :class:`~bcsc_flow.gates.Polygon`. Doublets (low height for their area, or high width)
    fall outside.

    Example
    -------
    >>> SingletFit(("FSC-A", "FSC-H")).band
    4.0
    """

    dimensions: tuple[Dimension, Dimension]
    band: float = 4.0
    scope: Scope = "per_sample"

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", _pair(tuple(self.dimensions), "SingletFit"))
        if not self.band > 0:
            raise RecipeError(f"SingletFit: band must be > 0 robust SDs, got {self.band!r}.")

    def resolve(
        self, data: Sample, controls: Mapping[str, Sample] | None = None
    ) -> tuple[Gate, Provenance]:
        """Fit on ``data``; return the polygon and its provenance."""
        x = column(data, self.dimensions[0])
        y = column(data, self.dimensions[1])
        fit = singlet_band(x, y, band=self.band)
        gate = Polygon(self.dimensions, tuple(map(tuple, fit.polygon())))
        channels = f"{self.dimensions[0].channel},{self.dimensions[1].channel}"
        prov = Provenance(
            "singlet_fit", self.scope, channels, f"band {self.band:g} robust SD",
            float(fit.slope), None, events=int(x.size),
            note=f"{self.dimensions[1].channel} = {fit.intercept:.4g} + {fit.slope:.4g} x "
            f"{self.dimensions[0].channel}; relative half-width {fit.width:.3f}",
        )  # fmt: skip
        return gate, prov


@dataclass(frozen=True)
class Cells:
    """Cells: debris and off-scale events out, on forward vs side scatter → a polygon.

    ``method="density"`` cuts forward scatter at the density valley below the main (cell)
    peak on a log10 scale (``search`` bounds the cut in log10 units; the debris peak must
    sit at least 0.3 decades below the cells); with no debris peak
    the cut falls to the lowest event (nothing removed), as the provenance states.
    ``method="mixture"`` fits ``components`` Gaussians on log10 (FSC, SSC), keeps the
    component with the largest FSC mean and takes its ellipse holding ``quantile`` of it.
    In both, events at the top of either axis ($PnR, saturated) are removed.

    Example
    -------
    >>> Cells(("FSC-A", "SSC-A")).method
    'density'
    """

    dimensions: tuple[Dimension, Dimension]
    method: Literal["density", "mixture"] = "density"
    search: tuple[float, float] | None = None
    components: int = 2
    quantile: float = 0.99
    scope: Scope = "per_sample"

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", _pair(tuple(self.dimensions), "Cells"))
        if self.method not in ("density", "mixture"):
            raise RecipeError(f"Cells: method must be 'density' or 'mixture', got {self.method!r}.")

    def resolve(
        self, data: Sample, controls: Mapping[str, Sample] | None = None
    ) -> tuple[Gate, Provenance]:
        """Find the cell cloud in ``data``; return the polygon and its provenance."""
        fsc = column(data, self.dimensions[0])
        ssc = column(data, self.dimensions[1])
        fsc_top = _top(data, self.dimensions[0], fsc)
        ssc_top = _top(data, self.dimensions[1], ssc)
        on_scale = (fsc < fsc_top) & (ssc < ssc_top) & (fsc > 0) & (ssc > 0)
        if on_scale.sum() < 20:
            raise RecipeError(
                f"Cells: {int(on_scale.sum())} on-scale events in {data.name!r}; need 20."
            )
        lf, ls = np.log10(fsc[on_scale]), np.log10(ssc[on_scale])
        channels = f"{self.dimensions[0].channel},{self.dimensions[1].channel}"
        if self.method == "density":
            valley = density_valley(
                lf, search=self.search, other_peak="below", fallback="range_low", min_separation=0.3
            )
            cut = 10.0**valley.value
            floor = min(0.0, float(np.nanmin(ssc))) - 1.0
            verts = ((cut, floor), (fsc_top, floor), (fsc_top, ssc_top), (cut, ssc_top))
            stat = "valley below cell peak" if valley.found else "no debris peak: nothing cut"
            prov = Provenance("cells", self.scope, channels, stat, cut, None, events=int(fsc.size),
                              note=f"log10 FSC peaks {', '.join(f'{p:.3g}' for p in valley.peaks)}")  # fmt: skip
            return Polygon(self.dimensions, verts), prov
        from scipy.stats import chi2

        fit = fit_mixture(np.column_stack([lf, ls]), n_components=self.components)
        kept = int(np.argmax(fit.means[:, 0]))
        mean, cov = fit.means[kept], fit.covariances[kept]
        radius = np.sqrt(chi2.ppf(self.quantile, 2))
        vals, vecs = np.linalg.eigh(cov)
        angles = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
        circle = np.column_stack([np.cos(angles), np.sin(angles)]) * radius * np.sqrt(vals)
        pts = 10.0 ** (mean + circle @ vecs.T)
        pts = np.minimum(pts, [fsc_top, ssc_top])
        prov = Provenance("cells", self.scope, channels, f"mixture ellipse {self.quantile:g}", None, None,
                          events=int(fsc.size), note=f"log10 mean {np.round(mean, 3).tolist()}")  # fmt: skip
        return Polygon(self.dimensions, tuple(map(tuple, pts))), prov


@dataclass(frozen=True)
class StableFlow:
    """Time QC: keep the stretches where event rate and watched medians are stable.

    ``time`` is the time dimension; ``watch`` are dimensions (transformed as given) whose
    per-bin medians must stay within ``z`` robust SDs; bins whose event rate departs by
    more than ``z`` robust SDs (never less than Poisson noise) are dropped too, as flowAI
    and PeacoQC do. The gate is a Range on time (an Or of ranges for several stretches).

    Example
    -------
    >>> StableFlow("Time").z
    5.0
    """

    time: Dimension
    watch: tuple[Dimension, ...] = ()
    z: float = 5.0
    bins: int | None = None
    scope: Scope = "per_sample"

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", dim_of(self.time))
        object.__setattr__(self, "watch", tuple(dim_of(d) for d in self.watch))

    def resolve(
        self, data: Sample, controls: Mapping[str, Sample] | None = None
    ) -> tuple[Gate, Provenance]:
        """Find stable stretches of ``data``; return the time gate and its provenance."""
        t = column(data, self.time)
        watched = np.column_stack([column(data, d) for d in self.watch]) if self.watch else None
        flow = stable_segments(t, watched, n_bins=self.bins, z=self.z)
        span = float(np.nanmax(t) - np.nanmin(t))
        ranges = []
        for i, (a, b) in enumerate(flow.segments):
            last = i == len(flow.segments) - 1
            ranges.append(Range(self.time, a, b + (1e-9 * span + 1e-12 if last else 0.0)))
        gate: Gate = ranges[0] if len(ranges) == 1 else Or(*ranges)
        prov = Provenance(
            "stable_flow", self.scope, self.time.channel,
            f"{flow.unstable_bins} of {flow.n_bins} bins unstable (z > {self.z:g})",
            flow.removed_fraction, None, events=int(t.size),
            note=f"{len(flow.segments)} stable stretch(es); removed fraction {flow.removed_fraction:.4f}",
        )  # fmt: skip
        return gate, prov
