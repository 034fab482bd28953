"""The per-evaluation cache that gives gates their columns.

An :class:`EvaluationContext` wraps one :class:`~bcsc_flow.sample.Sample` and the named
spillover matrices of a strategy. Gates ask it for the float64 column of a dimension;
the context compensates (once per compensation reference) and transforms (once per
unique dimension), so a strategy with twenty gates on four channels computes four
columns. Population names used as boolean operands are resolved through an optional
``resolve`` callback supplied by the gating strategy.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.dimensions import Dimension
>>> ctx = EvaluationContext(Sample.from_array(np.array([[1.0, 2.0]]), ["A", "B"]))
>>> ctx.column(Dimension("B")).tolist()
[2.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.dimensions import (
    FILE_COMPENSATION,
    UNCOMPENSATED,
    Dimension,
    RatioDimension,
)
from bcsc_flow.errors import CompensationError, GateError, did_you_mean

if TYPE_CHECKING:
    from bcsc_flow.sample import Sample

__all__ = ["EvaluationContext"]


_MARGIN = 1e-9  # in transformed units; transforms are far more accurate than this
_BLOCK = 1 << 15  # events per block, so temporaries stay in the CPU cache


def _compare(column: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    """low <= column < high with open sides; NaN is outside."""
    if low is not None and high is not None:
        out = column >= low
        out &= column < high
        return out
    if low is not None:
        return column >= low
    if high is not None:
        return column < high
    return ~np.isnan(column)


def _is_increasing(transform: Any) -> bool:
    """Our Gating-ML scale transforms without bounds are strictly increasing."""
    from bcsc_flow.transforms import Asinh, Hyperlog, Linear, Log, Logicle

    return (
        type(transform) in (Linear, Log, Asinh, Logicle, Hyperlog)
        and getattr(transform, "bound_min", None) is None
        and getattr(transform, "bound_max", None) is None
    )


def _nan_below_domain(transform: Any) -> bool:
    from bcsc_flow.transforms import Log

    return type(transform) is Log


def _preimage(transform: Any, bound: float | None) -> tuple[float, float] | bool | None:
    """Data values (below, above) that map just under / just over ``bound``; False if unusable."""
    if bound is None:
        return None
    delta = _MARGIN * max(1.0, abs(bound))
    with np.errstate(all="ignore"):
        below = float(np.asarray(transform.inverse(bound - delta)))
        above = float(np.asarray(transform.inverse(bound + delta)))
    if not (np.isfinite(below) and np.isfinite(above) and below < above):
        return False
    return below, above


def _readonly(values: np.ndarray) -> np.ndarray:
    view = values.view()
    view.flags.writeable = False
    return view


class EvaluationContext:
    """Columns of one sample, compensated and transformed on demand, each computed once.

    ``spillovers`` maps a compensation name to a :class:`bcsc_flow.compensation.Spillover`;
    ``resolve`` maps a population name to its final mask (set by a gating strategy).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> ctx = EvaluationContext(Sample.from_array(np.zeros((4, 1)), ["A"]))
    >>> ctx.n_events
    4
    """

    def __init__(
        self,
        sample: Sample,
        spillovers: Mapping[str, Any] | None = None,
        *,
        resolve: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        self.sample = sample
        self.spillovers: Mapping[str, Any] = dict(spillovers or {})
        self._resolve = resolve
        self._columns: dict[Dimension | RatioDimension, np.ndarray] = {}
        self._compensated: dict[str, tuple[dict[str, int], np.ndarray] | None] = {}
        self._regions: dict[Any, np.ndarray] = {}

    @property
    def n_events(self) -> int:
        """Number of events of the sample."""
        return len(self.sample)

    # ------------------------------------------------------------------ compensation
    def _compensated_block(self, reference: str) -> tuple[dict[str, int], np.ndarray] | None:
        """(output name -> column, compensated values) for a reference; None = uncompensated."""
        if reference in self._compensated:
            return self._compensated[reference]
        block: tuple[dict[str, int], np.ndarray] | None
        if reference == UNCOMPENSATED:
            block = None
        elif reference == FILE_COMPENSATION:
            if getattr(self.sample, "spillover", None) is None:
                block = None  # Gating-ML: "FCS" without a file matrix = uncompensated
            else:
                from bcsc_flow.compensation import Spillover

                file_matrix = Spillover.from_sample(self.sample)
                block = None if file_matrix is None else self._apply(file_matrix)
        elif reference in self.spillovers:
            block = self._apply(self.spillovers[reference])
        else:
            known = [UNCOMPENSATED, FILE_COMPENSATION, *self.spillovers]
            raise CompensationError(
                f"Compensation {reference!r} is not known for sample {self.sample.name!r}."
                f"{did_you_mean(reference, known)} Known: {', '.join(known)}; register a "
                "named matrix with GatingStrategy(..., spillovers={name: Spillover(...)})."
            )
        self._compensated[reference] = block
        return block

    def _apply(self, spillover: Any) -> tuple[dict[str, int], np.ndarray]:
        detectors = list(spillover.detectors)
        values = self.sample.columns(detectors)
        with np.errstate(all="ignore"):
            out = np.asarray(spillover.apply(values), dtype=np.float64)
        names = {name: i for i, name in enumerate(spillover.outputs)}
        return names, out

    def channel(self, name: str, compensation: str = UNCOMPENSATED) -> np.ndarray:
        """A channel's float64 scale values in the given compensation (not transformed).

        A channel the chosen matrix does not produce passes through uncompensated.
        """
        block = self._compensated_block(compensation)
        if block is not None and name in block[0]:
            return block[1][:, block[0][name]]
        return self.sample[name]

    # ------------------------------------------------------------------ dimensions
    def column(self, dimension: Dimension | RatioDimension) -> np.ndarray:
        """The read-only float64 column of a dimension, computed once per context."""
        cached = self._columns.get(dimension)
        if cached is not None:
            return cached
        with np.errstate(all="ignore"):
            if isinstance(dimension, RatioDimension):
                values = dimension.ratio(
                    self.channel(dimension.numerator, dimension.compensation),
                    self.channel(dimension.denominator, dimension.compensation),
                )
            else:
                values = self.channel(dimension.channel, dimension.compensation)
            if dimension.transform is not None:
                values = dimension.transform(values)
        column = _readonly(np.asarray(values, dtype=np.float64))  # a strided view is fine
        if column.shape != (self.n_events,):
            raise GateError(
                f"Dimension {dimension.label!r} gave shape {column.shape}, expected "
                f"({self.n_events},); check its transform."
            )
        self._columns[dimension] = column
        return column

    def base(self, dimension: Dimension | RatioDimension) -> np.ndarray:
        """The dimension's column before its scale transform (compensated, ratio taken)."""
        if dimension.transform is None:
            return self.column(dimension)
        return self.column(replace(dimension, transform=None))

    def interval(
        self, dimension: Dimension | RatioDimension, low: float | None, high: float | None
    ) -> np.ndarray:
        """``low <= column < high`` (open sides allowed, NaN outside) for one dimension.

        For a monotone transform whose column has not been computed, the bounds are
        mapped back to data units and only the events within a hair of a bound are
        transformed; the answer is the same as transforming every event.
        """
        transform = dimension.transform
        if transform is None or dimension in self._columns or not _is_increasing(transform):
            return _compare(self.column(dimension), low, high)
        values = self.base(dimension)
        edges = [_preimage(transform, b) for b in (low, high)]
        if any(e is False for e in edges) or (low is None and high is None):
            return _compare(self.column(dimension), low, high)
        positive_only = _nan_below_domain(transform)
        out = np.empty(values.shape, dtype=bool)
        for start in range(0, values.size, _BLOCK):
            block = np.ascontiguousarray(values[start : start + _BLOCK])  # strided column
            part: np.ndarray | None = None
            bands: list[np.ndarray] = []
            for bound, edge, is_low in ((low, edges[0], True), (high, edges[1], False)):
                if bound is None:
                    continue
                below, above = edge  # type: ignore[misc]
                sure = block > above if is_low else block < below
                part = sure if part is None else part & sure
                band = np.flatnonzero((block >= below) & (block <= above))
                if band.size:
                    bands.append(band)
            assert part is not None
            if positive_only and high is not None:
                part &= block > 0  # flog is NaN (outside) for x <= 0
            for band in bands:  # events within a hair of a bound: transform them exactly
                with np.errstate(all="ignore"):
                    exact = np.asarray(transform(block[band]), dtype=np.float64)
                inside = ~np.isnan(exact)
                if low is not None:
                    inside &= exact >= low
                if high is not None:
                    inside &= exact < high
                part[band] = inside
            out[start : start + _BLOCK] = part
        return out

    def region(self, gate: Any) -> np.ndarray:
        """A gate's own region, computed once per context (gates are hashable values)."""
        cached = self._regions.get(gate)
        if cached is None:
            cached = np.asarray(gate.region(self), dtype=bool)
            cached.flags.writeable = False
            self._regions[gate] = cached
        return cached

    def population(self, name: str) -> np.ndarray:
        """The final mask of a named population (needs a strategy's ``resolve``)."""
        if self._resolve is None:
            raise GateError(
                f"Boolean operand {name!r} is a population name; evaluate it through "
                "GatingStrategy.apply(sample), or pass gates instead of names."
            )
        return self._resolve(name)
