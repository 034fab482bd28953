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
        column = _readonly(np.ascontiguousarray(values, dtype=np.float64))
        if column.shape != (self.n_events,):
            raise GateError(
                f"Dimension {dimension.label!r} gave shape {column.shape}, expected "
                f"({self.n_events},); check its transform."
            )
        self._columns[dimension] = column
        return column

    def population(self, name: str) -> np.ndarray:
        """The final mask of a named population (needs a strategy's ``resolve``)."""
        if self._resolve is None:
            raise GateError(
                f"Boolean operand {name!r} is a population name; evaluate it through "
                "GatingStrategy.apply(sample), or pass gates instead of names."
            )
        return self._resolve(name)
