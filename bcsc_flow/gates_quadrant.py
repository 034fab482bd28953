"""Quadrant gates: dividers cut dimensions into intervals; named quadrants pick one per divider.

A :class:`Quadrant` is a container, not a gate: each of its named quadrants is a
:class:`QuadrantRegion` gate (``quadrant["CD44+ CD24-"]``) usable as a population's
gate, a parent and a boolean operand. Intervals are ``[lower, upper)``, open at both
ends; a divider a quadrant does not mention does not constrain it (Gating-ML 2.0).

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> q = Quadrant.cross("CD44", 1.0, "CD24", 2.0)
>>> q.names
('CD44- CD24-', 'CD44+ CD24-', 'CD44- CD24+', 'CD44+ CD24+')
>>> s = Sample.from_array(np.array([[1.0, 0.0], [0.0, 2.0]]), ["CD44", "CD24"])
>>> q["CD44+ CD24-"].mask(s).tolist()
[True, False]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bcsc_flow._evaluation import EvaluationContext
from bcsc_flow.dimensions import Dimension, RatioDimension, as_dimension
from bcsc_flow.errors import GateError, did_you_mean
from bcsc_flow.gates_base import Gate, context_for

__all__ = ["Divider", "Quadrant", "QuadrantRegion"]

AnyDimension = Dimension | RatioDimension


@dataclass(frozen=True)
class Divider:
    """Cut points on one dimension; ``values`` sorted, giving ``len(values) + 1`` intervals.

    Example
    -------
    >>> d = Divider("FSC", "FSC-H", (28.0, 70.0))
    >>> d.interval(28.0), d.interval(10.0), d.interval(99.0)
    (1, 0, 2)
    """

    name: str
    dimension: AnyDimension
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise GateError(f"Divider: name must be a non-empty string, got {self.name!r}.")
        object.__setattr__(self, "dimension", as_dimension(self.dimension))
        raw = (self.values,) if isinstance(self.values, int | float) else self.values
        try:
            values = tuple(sorted(float(v) for v in raw))
        except (TypeError, ValueError) as exc:
            raise GateError(
                f"Divider {self.name!r}: values must be numbers, got {self.values!r}."
            ) from exc
        if not values or any(not math.isfinite(v) for v in values):
            raise GateError(
                f"Divider {self.name!r}: needs at least one finite value, got {self.values!r}."
            )
        if len(set(values)) != len(values):
            raise GateError(f"Divider {self.name!r}: repeated value in {values}.")
        object.__setattr__(self, "values", values)

    def interval(self, location: float) -> int:
        """Index of the interval ``[v_{i-1}, v_i)`` holding ``location`` (0 = below all)."""
        return bisect.bisect_right(self.values, float(location))

    def bounds(self, index: int) -> tuple[float | None, float | None]:
        """(inclusive lower, exclusive upper) bound of interval ``index``; None = open."""
        low = self.values[index - 1] if index > 0 else None
        high = self.values[index] if index < len(self.values) else None
        return low, high


@dataclass(frozen=True)
class Quadrant:
    """Dividers plus named quadrants, each a mapping ``divider name -> interval index``.

    ``quadrants`` may be given as ``{name: {divider: index}}``; it is stored as
    sorted-free tuples so the value stays hashable. Use :meth:`cross` for the common
    2-D four-quadrant case.

    Example
    -------
    >>> q = Quadrant([Divider("x", "A", 0.0)], {"low": {"x": 0}, "high": {"x": 1}})
    >>> q.names, q["high"].describe()
    (('low', 'high'), 'Quadrant high (A >= 0)')
    """

    dividers: tuple[Divider, ...]
    quadrants: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]

    def __post_init__(self) -> None:
        dividers = tuple(self.dividers)
        if not dividers or not all(isinstance(d, Divider) for d in dividers):
            raise GateError(f"Quadrant: needs one or more Divider values, got {self.dividers!r}.")
        by_name = {d.name: d for d in dividers}
        if len(by_name) != len(dividers):
            raise GateError(f"Quadrant: divider names repeat: {[d.name for d in dividers]}.")
        items = self.quadrants.items() if isinstance(self.quadrants, Mapping) else self.quadrants
        quads: list[tuple[str, tuple[tuple[str, int], ...]]] = []
        for name, positions in items:
            if not isinstance(name, str) or not name:
                raise GateError(
                    f"Quadrant: quadrant names must be non-empty strings, got {name!r}."
                )
            pairs = tuple(positions.items() if isinstance(positions, Mapping) else positions)
            if not pairs:
                raise GateError(f"Quadrant {name!r}: needs at least one divider position.")
            seen: set[str] = set()
            for div_name, index in pairs:
                if div_name not in by_name:
                    raise GateError(
                        f"Quadrant {name!r}: unknown divider {div_name!r}."
                        f"{did_you_mean(div_name, by_name)} Dividers: {', '.join(by_name)}."
                    )
                if div_name in seen:
                    raise GateError(f"Quadrant {name!r}: divider {div_name!r} used twice.")
                seen.add(div_name)
                count = len(by_name[div_name].values) + 1
                if not isinstance(index, int | np.integer) or not 0 <= int(index) < count:
                    raise GateError(
                        f"Quadrant {name!r}: interval {index!r} of divider {div_name!r} must be "
                        f"an integer in 0..{count - 1}."
                    )
            quads.append((name, tuple((d, int(i)) for d, i in pairs)))
        if not quads:
            raise GateError("Quadrant: needs at least one named quadrant.")
        names = [q[0] for q in quads]
        if len(set(names)) != len(names):
            raise GateError(f"Quadrant: quadrant names repeat: {names}.")
        object.__setattr__(self, "dividers", dividers)
        object.__setattr__(self, "quadrants", tuple(quads))

    @classmethod
    def cross(
        cls,
        x: str | AnyDimension,
        x_at: float,
        y: str | AnyDimension,
        y_at: float,
        *,
        names: Sequence[str] | None = None,
    ) -> Quadrant:
        """Four quadrants from one cut on ``x`` and one on ``y``.

        ``names`` are given in the order (x−, y−), (x+, y−), (x−, y+), (x+, y+); by default
        ``"<x>- <y>-"`` and so on, with the channel names.
        """
        dx, dy = as_dimension(x), as_dimension(y)
        lx = dx.channel if isinstance(dx, Dimension) else dx.label
        ly = dy.channel if isinstance(dy, Dimension) else dy.label
        if names is None:
            names = [f"{lx}{sx} {ly}{sy}" for sy in "-+" for sx in "-+"]
        if len(names) != 4:
            raise GateError(f"Quadrant.cross: needs 4 names, got {len(names)}.")
        xname, yname = (f"{lx}_divider", f"{ly}_divider") if lx != ly else ("x", "y")
        dividers = (Divider(xname, dx, (x_at,)), Divider(yname, dy, (y_at,)))
        quads = {
            name: {xname: ix, yname: iy}
            for name, (ix, iy) in zip(names, [(0, 0), (1, 0), (0, 1), (1, 1)])
        }
        return cls(dividers, quads)

    @property
    def names(self) -> tuple[str, ...]:
        """Quadrant names in definition order."""
        return tuple(q[0] for q in self.quadrants)

    @property
    def dimensions(self) -> tuple[AnyDimension, ...]:
        """Dimensions of all dividers."""
        return tuple(dict.fromkeys(d.dimension for d in self.dividers))

    @property
    def references(self) -> frozenset[str]:
        """Quadrants never refer to populations."""
        return frozenset()

    def divider(self, name: str) -> Divider:
        """The divider called ``name``."""
        for d in self.dividers:
            if d.name == name:
                return d
        raise GateError(
            f"Quadrant: no divider {name!r}.{did_you_mean(name, [d.name for d in self.dividers])}"
        )

    def __getitem__(self, name: str) -> QuadrantRegion:
        if name not in self.names:
            raise GateError(
                f"Quadrant: no quadrant {name!r}.{did_you_mean(name, self.names)} "
                f"Quadrants: {', '.join(self.names)}."
            )
        return QuadrantRegion(self, name)

    def regions(self) -> tuple[QuadrantRegion, ...]:
        """One gate per named quadrant."""
        return tuple(QuadrantRegion(self, n) for n in self.names)

    def masks(
        self, data: Any, *, spillovers: Mapping[str, Any] | None = None
    ) -> dict[str, np.ndarray]:
        """Membership of every quadrant, by name."""
        ctx = context_for(data, spillovers)
        return {r.name: r.region(ctx) for r in self.regions()}

    def describe(self) -> str:
        """One-line description."""
        cuts = "; ".join(
            f"{d.dimension.label} at {', '.join(f'{v:g}' for v in d.values)}" for d in self.dividers
        )
        return f"Quadrant({cuts}; {len(self.quadrants)} quadrants)"


@dataclass(frozen=True)
class QuadrantRegion(Gate):
    """One named quadrant of a :class:`Quadrant`, as a gate.

    Example
    -------
    >>> q = Quadrant.cross("A", 0.0, "B", 0.0)
    >>> q["A+ B+"].positions
    (('A_divider', 1), ('B_divider', 1))
    """

    quadrant: Quadrant
    name: str

    def __post_init__(self) -> None:
        if self.name not in self.quadrant.names:
            raise GateError(
                f"QuadrantRegion: {self.name!r} is not a quadrant of {self.quadrant.describe()}."
            )

    @property
    def positions(self) -> tuple[tuple[str, int], ...]:
        """(divider name, interval index) pairs of this quadrant."""
        return dict(self.quadrant.quadrants)[self.name]

    @property
    def dimensions(self) -> tuple[AnyDimension, ...]:
        return tuple(dict.fromkeys(self.quadrant.divider(d).dimension for d, _ in self.positions))

    def region(self, context: EvaluationContext) -> np.ndarray:
        out: np.ndarray | None = None
        for div_name, index in self.positions:
            divider = self.quadrant.divider(div_name)
            low, high = divider.bounds(index)
            part = context.interval(divider.dimension, low, high)
            out = part if out is None else out & part
        assert out is not None
        return out

    def describe(self) -> str:
        parts = []
        for div_name, index in self.positions:
            divider = self.quadrant.divider(div_name)
            low, high = divider.bounds(index)
            label = divider.dimension.label
            if low is not None and high is not None:
                parts.append(f"{low:g} <= {label} < {high:g}")
            elif low is not None:
                parts.append(f"{label} >= {low:g}")
            else:
                parts.append(f"{label} < {high:g}")
        return f"Quadrant {self.name} ({', '.join(parts)})"
