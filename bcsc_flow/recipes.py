"""Data-driven gates: recipes that resolve, on data and controls, into ordinary frozen gates.

Every recipe is a frozen dataclass holding its parameters unchanged; ``resolve(data,
controls)`` returns ``(gate, provenance)``. ``data`` is a :class:`~bcsc_flow.sample.Sample`
holding only the events of the parent population (several samples pooled into one for a
``per_batch`` scope); ``controls`` maps a control *role* (``"fmo:CD44"``, ``"deab"``,
``"isotype:HER2"``, ``"unstained"``) to a Sample holding the control's events of the
population named by the recipe (its ``within``). The resolved gate is a plain
:class:`~bcsc_flow.gates.Threshold`, :class:`~bcsc_flow.gates.Range`,
:class:`~bcsc_flow.gates.Polygon`, :class:`~bcsc_flow.gates.Ellipse` or a boolean of them,
so it exports to Gating-ML; the :class:`Provenance` says where it came from and becomes
one row of the ``thresholds`` table (:func:`thresholds_frame`).

Recipes: :class:`ControlQuantile`, :class:`DensityValley`, :class:`Mixture`,
:class:`SingletFit`, :class:`Cells`, :class:`StableFlow` (this module and
:mod:`bcsc_flow.recipes_scatter`). Numeric cores on plain arrays live in
:mod:`bcsc_flow._density`, :mod:`bcsc_flow._recipes_fits`, :mod:`bcsc_flow._recipes_timeqc`.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> rng = np.random.default_rng(0)
>>> fmo = Sample.from_array(rng.normal(100, 50, (4000, 1)), ["APC-A"], name="fmo_cd44.fcs")
>>> test = Sample.from_array(rng.normal(100, 50, (10, 1)), ["APC-A"])
>>> gate, prov = ControlQuantile("APC-A", control="fmo:CD44").resolve(test, {"fmo:CD44": fmo})
>>> type(gate).__name__, prov.control_file, prov.control_events, round(prov.value)
('Threshold', 'fmo_cd44.fcs', 4000, 226)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from bcsc_flow._density import control_quantile, density_valley
from bcsc_flow._recipes_base import (
    SCOPES,
    THRESHOLD_COLUMNS,
    Provenance,
    Scope,
    Side,
    column,
    dim_of,
    from_gate_scale,
    source_name,
    threshold,
    thresholds_frame,
    to_gate_scale,
)
from bcsc_flow._recipes_fits import fit_mixture, posterior_interval
from bcsc_flow.dimensions import Dimension
from bcsc_flow.errors import RecipeError, did_you_mean
from bcsc_flow.gates import Ellipse, Gate, Range
from bcsc_flow.recipes_scatter import Cells, SingletFit, StableFlow

if TYPE_CHECKING:
    from bcsc_flow.sample import Sample

__all__ = [
    "SCOPES",
    "THRESHOLD_COLUMNS",
    "Cells",
    "ControlQuantile",
    "DensityValley",
    "Mixture",
    "Provenance",
    "Scope",
    "Side",
    "SingletFit",
    "StableFlow",
    "column",
    "thresholds_frame",
]


@dataclass(frozen=True)
class ControlQuantile:
    """Threshold at a quantile of a control: ``quantile(control, q) * multiply + offset``.

    The control (FMO, isotype, DEAB, unstained) is named by role; the caller passes the
    control's events of the right population (the same parent as the gated population
    unless the template says ``within``). The statistic is taken on compensated data units
    and then placed on the dimension's (transformed) axis. ``side="above"`` keeps events
    ``>=`` the cut (positives), ``"below"`` keeps events under it.

    Example
    -------
    >>> from bcsc_flow.sample import Sample
    >>> deab = Sample.from_array(np.arange(1000.0)[:, None], ["FITC-A"], name="deab")
    >>> g, p = ControlQuantile("FITC-A", control="deab", q=0.99).resolve(deab, {"deab": deab})
    >>> g.above, p.statistic
    (989.01, 'quantile q=0.99')
    """

    dimension: Dimension
    control: str
    side: Side = "above"
    q: float = 0.995
    multiply: float = 1.0
    offset: float = 0.0
    scope: Scope = "per_batch"

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimension", dim_of(self.dimension))
        if not 0.0 < self.q < 1.0:
            raise RecipeError(f"ControlQuantile: q must be in (0, 1), got {self.q!r}.")

    def resolve(
        self, data: Sample | None, controls: Mapping[str, Sample]
    ) -> tuple[Gate, Provenance]:
        """Compute the cut on the control; return the Threshold and its provenance."""
        if self.control not in controls:
            raise RecipeError(
                f"ControlQuantile on {self.dimension.channel}: control {self.control!r} was not "
                f"given.{did_you_mean(self.control, controls)} Given: {', '.join(controls) or 'none'}."
            )
        ctrl = controls[self.control]
        values = column(ctrl, self.dimension, transformed=False)
        if values.size == 0:
            raise RecipeError(
                f"ControlQuantile on {self.dimension.channel}: control {self.control!r} "
                f"({source_name(ctrl)}) has no events in its parent population."
            )
        value = control_quantile(values, self.q, multiply=self.multiply, offset=self.offset)
        gate_value = to_gate_scale(self.dimension, value)
        stat = f"quantile q={self.q:g}"
        if self.multiply != 1.0:
            stat += f" x{self.multiply:g}"
        if self.offset:
            stat += f" {self.offset:+g}"
        prov = Provenance(
            "control_quantile", self.scope, self.dimension.channel, stat, value, gate_value,
            self.control, source_name(ctrl), int(values.size),
            None if data is None else len(data),
        )  # fmt: skip
        return threshold(self.dimension, self.side, gate_value), prov


@dataclass(frozen=True)
class DensityValley:
    """Threshold at the deepest density minimum between the two main peaks of a channel.

    The density is estimated on the dimension's transformed scale (give the Dimension a
    transform such as Logicle); ``search`` bounds the cut on that scale. With one peak the
    cut falls back to an edge of ``search`` (``fallback="range_high"`` or ``"range_low"``),
    which the provenance states; ``fallback="error"`` raises instead.

    Example
    -------
    >>> from bcsc_flow.sample import Sample
    >>> rng = np.random.default_rng(1)
    >>> x = np.concatenate([rng.normal(1, 0.2, 3000), rng.normal(3, 0.3, 1000)])[:, None]
    >>> g, p = DensityValley("DAPI-A", side="below").resolve(Sample.from_array(x, ["DAPI-A"]), {})
    >>> 1.5 < g.below < 2.5, p.statistic
    (True, 'valley between peaks')
    """

    dimension: Dimension
    side: Side = "above"
    search: tuple[float, float] | None = None
    adjust: float = 1.0
    fallback: Literal["range_low", "range_high", "error"] = "range_high"
    scope: Scope = "per_sample"
    other_peak: Literal["any", "below", "above"] = "any"
    min_separation: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimension", dim_of(self.dimension))
        if self.search is not None:
            object.__setattr__(self, "search", (float(self.search[0]), float(self.search[1])))

    def resolve(
        self, data: Sample, controls: Mapping[str, Sample] | None = None
    ) -> tuple[Gate, Provenance]:
        """Find the valley on ``data``; return the Threshold and its provenance."""
        values = column(data, self.dimension)
        values = values[np.isfinite(values)]
        if values.size < 20:
            raise RecipeError(
                f"DensityValley on {self.dimension.channel}: {values.size} events in "
                f"{data.name!r} are too few to estimate a density (need 20)."
            )
        valley = density_valley(
            values,
            search=self.search,
            adjust=self.adjust,
            fallback=self.fallback,
            other_peak=self.other_peak,
            min_separation=self.min_separation,
        )
        stat = "valley between peaks" if valley.found else f"fallback {valley.fallback}"
        note = f"{valley.n_peaks} peak(s) at " + ", ".join(f"{p:.3g}" for p in valley.peaks)
        prov = Provenance(
            "density_valley", self.scope, self.dimension.channel, stat,
            from_gate_scale(self.dimension, valley.value), valley.value, events=int(values.size), note=note,
        )  # fmt: skip
        return threshold(self.dimension, self.side, valley.value), prov


@dataclass(frozen=True)
class Mixture:
    """Gaussian mixture on 1–2 dimensions; keep the component nearest ``target``.

    With ``quantile`` the gate is the component's ellipse holding that probability mass
    (2-D: :class:`~bcsc_flow.gates.Ellipse`; 1-D: a Range of ±z SD); with ``probability``
    (1-D only) it is the interval where the component's posterior is at least that value.
    Fitted on the dimensions' transformed scales; scikit-learn is imported when used.

    Example
    -------
    >>> from bcsc_flow.sample import Sample
    >>> rng = np.random.default_rng(2)
    >>> x = np.concatenate([rng.normal(0, 1, (800, 2)), rng.normal(6, 1, (400, 2))])
    >>> g, p = Mixture(("A", "B"), n_components=2, target=(6, 6), quantile=0.95).resolve(
    ...     Sample.from_array(x, ["A", "B"]), {})
    >>> type(g).__name__, [round(m) for m in g.mean]
    ('Ellipse', [6, 6])
    """

    dimensions: tuple[Dimension, ...]
    n_components: int = 2
    target: tuple[float, ...] | None = None
    quantile: float | None = None
    probability: float | None = None
    scope: Scope = "per_sample"
    seed: int = 0

    def __post_init__(self) -> None:
        dims = (
            (self.dimensions,) if isinstance(self.dimensions, str | Dimension) else self.dimensions
        )
        dims = tuple(dim_of(d) for d in dims)
        if not 1 <= len(dims) <= 2:
            raise RecipeError(f"Mixture: give 1 or 2 dimensions, got {len(dims)}.")
        if (self.quantile is None) == (self.probability is None):
            raise RecipeError("Mixture: give exactly one of quantile= (ellipse) or probability=.")
        object.__setattr__(self, "dimensions", dims)

    def resolve(
        self, data: Sample, controls: Mapping[str, Sample] | None = None
    ) -> tuple[Gate, Provenance]:
        """Fit the mixture on ``data``; return the gate of the kept component."""
        from scipy.stats import chi2, norm

        pts = np.column_stack([column(data, d) for d in self.dimensions])
        fit = fit_mixture(pts, n_components=self.n_components, target=self.target, seed=self.seed)
        channels = ",".join(d.channel for d in self.dimensions)
        weight = float(fit.weights[fit.kept])
        if self.probability is not None:
            lo, hi = posterior_interval(fit, self.probability)
            gate: Gate = Range(
                self.dimensions[0], None if np.isinf(lo) else lo, None if np.isinf(hi) else hi
            )
            stat = f"posterior >= {self.probability:g}"
        elif len(self.dimensions) == 1:
            z = float(norm.ppf(0.5 + self.quantile / 2))
            sd = float(np.sqrt(fit.cov[0, 0]))
            gate = Range(
                self.dimensions[0], float(fit.mean[0]) - z * sd, float(fit.mean[0]) + z * sd
            )
            stat = f"central {self.quantile:g} of component"
        else:
            dist = float(chi2.ppf(self.quantile, 2))
            cov = tuple(tuple(float(v) for v in row) for row in fit.cov)
            gate = Ellipse(self.dimensions, tuple(map(float, fit.mean)), cov, dist)
            stat = f"ellipse holding {self.quantile:g} of component"
        prov = Provenance(
            "mixture", self.scope, channels, stat, None, None, events=int(pts.shape[0]),
            note=f"{self.n_components} components; kept mean {np.round(fit.mean, 3).tolist()}, weight {weight:.3f}",
        )  # fmt: skip
        return gate, prov
