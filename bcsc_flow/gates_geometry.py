"""Geometric gates: ranges, thresholds, rectangles, polygons and ellipses.

Boundary rules follow Gating-ML 2.0 (STANDARDS.md C.5): a range or rectangle side
includes its minimum and excludes its maximum; a polygon contains the points on its
edges and vertices and uses the even-odd rule inside; an ellipse contains the points
with (x − μ)ᵀ Σ⁻¹ (x − μ) ≤ D using Σ exactly as given. An event with a NaN
coordinate is outside. All arithmetic is float64.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> s = Sample.from_array(np.array([[0.0, 0.0], [1.0, 0.5], [3.0, 3.0]]), ["x", "y"])
>>> Polygon(("x", "y"), [(0, 0), (2, 0), (2, 2), (0, 2)]).mask(s).tolist()
[True, True, False]
>>> Rectangle(("x", "y"), min=(0, None), max=(1, 1)).mask(s).tolist()
[True, False, False]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bcsc_flow._evaluation import EvaluationContext
from bcsc_flow.dimensions import Dimension, RatioDimension, as_dimension
from bcsc_flow.errors import GateError
from bcsc_flow.gates_base import Gate

__all__ = ["Range", "Threshold", "Rectangle", "Polygon", "Ellipse"]

AnyDimension = Dimension | RatioDimension


def _bound(owner: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise GateError(f"{owner}: {name} must be a number or None, got {value!r}.") from exc
    if math.isnan(number):
        raise GateError(f"{owner}: {name} is NaN; give a number or None (open side).")
    return number


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@dataclass(frozen=True)
class Range(Gate):
    """1-D interval ``min <= x < max``; either side may be open (``None``).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> s = Sample.from_array(np.array([[1.0], [2.0], [3.0], [np.nan]]), ["A"])
    >>> Range("A", 1, 3).mask(s).tolist()
    [True, True, False, False]
    """

    dimension: AnyDimension
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        dim = as_dimension(self.dimension)
        object.__setattr__(self, "dimension", dim)
        owner = f"Range({dim.label!r})"
        low = _bound(owner, "min", self.min)
        high = _bound(owner, "max", self.max)
        if low is None and high is None:
            raise GateError(f"{owner}: give min, max or both (both are None).")
        if low is not None and high is not None and low >= high:
            raise GateError(
                f"{owner}: min {low:g} must be below max {high:g} (min inclusive, max exclusive)."
            )
        object.__setattr__(self, "min", low)
        object.__setattr__(self, "max", high)

    @property
    def dimensions(self) -> tuple[AnyDimension, ...]:
        return (self.dimension,)

    def region(self, context: EvaluationContext) -> np.ndarray:
        return context.interval(self.dimension, self.min, self.max)

    def describe(self) -> str:
        return f"Range({self.dimension.label}: [{_fmt(self.min)}, {_fmt(self.max)}))"


@dataclass(frozen=True)
class Threshold(Gate):
    """Open-ended 1-D gate: ``above=t`` keeps ``x >= t``, ``below=t`` keeps ``x < t``.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> s = Sample.from_array(np.array([[1.0], [2.0]]), ["A"])
    >>> Threshold("A", above=2).mask(s).tolist(), Threshold("A", below=2).mask(s).tolist()
    ([False, True], [True, False])
    """

    dimension: AnyDimension
    above: float | None = None
    below: float | None = None

    def __post_init__(self) -> None:
        dim = as_dimension(self.dimension)
        object.__setattr__(self, "dimension", dim)
        owner = f"Threshold({dim.label!r})"
        above = _bound(owner, "above", self.above)
        below = _bound(owner, "below", self.below)
        if (above is None) == (below is None):
            raise GateError(f"{owner}: give exactly one of above= or below= (use Range for both).")
        object.__setattr__(self, "above", above)
        object.__setattr__(self, "below", below)

    @property
    def dimensions(self) -> tuple[AnyDimension, ...]:
        return (self.dimension,)

    @property
    def min(self) -> float | None:
        """Inclusive lower bound (``above``) or None."""
        return self.above

    @property
    def max(self) -> float | None:
        """Exclusive upper bound (``below``) or None."""
        return self.below

    def region(self, context: EvaluationContext) -> np.ndarray:
        return context.interval(self.dimension, self.above, self.below)

    def describe(self) -> str:
        side = f">= {self.above:g}" if self.above is not None else f"< {self.below:g}"
        return f"Threshold({self.dimension.label} {side})"


def _dimension_tuple(
    owner: str, dimensions: Any, minimum: int, maximum: int | None = None
) -> tuple[AnyDimension, ...]:
    if isinstance(dimensions, str | Dimension | RatioDimension):
        dimensions = (dimensions,)
    dims = tuple(as_dimension(d) for d in dimensions)
    if len(dims) < minimum or (maximum is not None and len(dims) > maximum):
        want = f"exactly {minimum}" if maximum == minimum else f"at least {minimum}"
        raise GateError(f"{owner}: needs {want} dimensions, got {len(dims)}.")
    if len(set(dims)) != len(dims):
        raise GateError(f"{owner}: a dimension is repeated: {[d.label for d in dims]}.")
    return dims


@dataclass(frozen=True)
class Rectangle(Gate):
    """n-D box: ``min[i] <= x_i < max[i]`` for every dimension; ``None`` = open side.

    Example
    -------
    >>> Rectangle(("A", "B"), min=(0, 0), max=(1, None)).describe()
    'Rectangle(A: [0, 1), B: [0, ))'
    """

    dimensions: tuple[AnyDimension, ...]  # type: ignore[assignment]
    min: tuple[float | None, ...] = ()
    max: tuple[float | None, ...] = ()

    def __post_init__(self) -> None:
        dims = _dimension_tuple("Rectangle", self.dimensions, 1)
        n = len(dims)
        lows = tuple(self.min) if self.min not in ((), None) else (None,) * n
        highs = tuple(self.max) if self.max not in ((), None) else (None,) * n
        if len(lows) != n or len(highs) != n:
            raise GateError(
                f"Rectangle: {n} dimensions but {len(lows)} min and {len(highs)} max values; "
                "give one per dimension (None for an open side)."
            )
        lows = tuple(_bound("Rectangle", f"min[{i}]", v) for i, v in enumerate(lows))
        highs = tuple(_bound("Rectangle", f"max[{i}]", v) for i, v in enumerate(highs))
        for d, lo, hi in zip(dims, lows, highs):
            if lo is None and hi is None:
                raise GateError(f"Rectangle: dimension {d.label!r} has neither min nor max.")
            if lo is not None and hi is not None and lo >= hi:
                raise GateError(f"Rectangle: dimension {d.label!r} has min {lo:g} >= max {hi:g}.")
        object.__setattr__(self, "dimensions", dims)
        object.__setattr__(self, "min", lows)
        object.__setattr__(self, "max", highs)

    def region(self, context: EvaluationContext) -> np.ndarray:
        out: np.ndarray | None = None
        for dim, lo, hi in zip(self.dimensions, self.min, self.max):
            part = context.interval(dim, lo, hi)
            if out is None:
                out = part
            else:
                out &= part
        assert out is not None
        return out

    def describe(self) -> str:
        sides = ", ".join(
            f"{d.label}: [{_fmt(lo)}, {_fmt(hi)})"
            for d, lo, hi in zip(self.dimensions, self.min, self.max)
        )
        return f"Rectangle({sides})"


_CHUNK = 1 << 15  # events per block: keeps every temporary in the CPU cache


def _polygon_block(
    x: np.ndarray, y: np.ndarray, vertices: tuple[tuple[float, float], ...]
) -> np.ndarray:
    """Even-odd rule plus exact on-edge test for one block of events (float64).

    Per edge (i, j): an event straddles it when ``(y < y_i) != (y < y_j)``; it crosses the
    ray to +x when ``x < x_i + (y - y_i)(x_j - x_i)/(y_j - y_i)`` (the formula of
    STANDARDS C.5, same rounding). An event is on the edge when the cross product
    ``(x_j - x_i)(y - y_i) - (x - x_i)(y_j - y_i)`` is exactly 0 inside the edge's
    bounding box. That exact test only runs on candidates: straddling events within
    1e-9 (far above rounding error) of the crossing point, plus events level with the
    edge's upper end (or with a horizontal edge), a superset of all exact hits.
    """
    below = [y < vy for _, vy in vertices]
    levels: dict[float, np.ndarray] = {}

    def level(value: float) -> np.ndarray:
        if value not in levels:
            levels[value] = np.flatnonzero(y == value)
        return levels[value]

    inside = np.zeros(x.shape, dtype=bool)
    on_edge: list[np.ndarray] = []
    for k in range(len(vertices)):
        xi, yi = vertices[k]
        xj, yj = vertices[k - 1]
        if yi == yj:
            candidates = level(yi)
        else:
            straddle = np.flatnonzero(below[k] != below[k - 1])
            near = straddle[:0]
            if straddle.size:
                xs, ys = x[straddle], y[straddle]
                xc = xi + (ys - yi) * (xj - xi) / (yj - yi)
                inside[straddle] ^= xs < xc
                tolerance = 1e-9 * (1.0 + max(abs(xi), abs(xj)))
                near = straddle[np.abs(xs - xc) <= tolerance]
            top = level(max(yi, yj))
            candidates = np.concatenate([near, top]) if top.size else near
        if candidates.size:
            px, py = x[candidates], y[candidates]
            ok = (xj - xi) * (py - yi) - (px - xi) * (yj - yi) == 0
            ok &= (px >= min(xi, xj)) & (px <= max(xi, xj))
            ok &= (py >= min(yi, yj)) & (py <= max(yi, yj))
            on_edge.append(candidates[ok])
    for hits in on_edge:  # after the parity pass: boundary points are inside whatever it says
        inside[hits] = True
    return inside


def _polygon_region(
    x: np.ndarray, y: np.ndarray, vertices: tuple[tuple[float, float], ...]
) -> np.ndarray:
    """Membership of every event, block by block; events outside the bounding box are
    skipped when that saves work."""
    xs = [v[0] for v in vertices]
    ys = [v[1] for v in vertices]
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    out = np.zeros(x.shape, dtype=bool)
    for start in range(0, x.size, _CHUNK):
        # contiguous copies of the block: columns of the event matrix are strided views
        bx = np.ascontiguousarray(x[start : start + _CHUNK])
        by = np.ascontiguousarray(y[start : start + _CHUNK])
        box = bx >= x_lo
        box &= bx <= x_hi
        box &= by >= y_lo
        box &= by <= y_hi
        hits = np.flatnonzero(box)
        if hits.size * 2 > box.size:
            out[start : start + _CHUNK] = _polygon_block(bx, by, vertices)
        elif hits.size:
            out[start + hits] = _polygon_block(bx[hits], by[hits], vertices)
    return out


@dataclass(frozen=True)
class Polygon(Gate):
    """2-D polygon (closed automatically); even-odd rule, edges and vertices inside.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> s = Sample.from_array(np.array([[2.0, 0.0], [1.0, 1.0], [5.0, 1.0]]), ["x", "y"])
    >>> Polygon(("x", "y"), [(0, 0), (2, 0), (1, 2)]).mask(s).tolist()
    [True, True, False]
    """

    dimensions: tuple[AnyDimension, ...]  # type: ignore[assignment]
    vertices: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        dims = _dimension_tuple("Polygon", self.dimensions, 2, 2)
        try:
            verts = tuple((float(px), float(py)) for px, py in self.vertices)
        except (TypeError, ValueError) as exc:
            raise GateError(
                f"Polygon({dims[0].label!r}, {dims[1].label!r}): vertices must be (x, y) number pairs, "
                f"got {self.vertices!r}."
            ) from exc
        if len(verts) < 3:
            raise GateError(
                f"Polygon({dims[0].label!r}, {dims[1].label!r}): needs at least 3 vertices, got {len(verts)}."
            )
        if any(math.isnan(v) or math.isinf(v) for pair in verts for v in pair):
            raise GateError(
                f"Polygon({dims[0].label!r}, {dims[1].label!r}): vertices must be finite."
            )
        object.__setattr__(self, "dimensions", dims)
        object.__setattr__(self, "vertices", verts)

    def region(self, context: EvaluationContext) -> np.ndarray:
        x = context.column(self.dimensions[0])
        y = context.column(self.dimensions[1])
        return _polygon_region(x, y, self.vertices)

    def describe(self) -> str:
        return f"Polygon({self.dimensions[0].label}, {self.dimensions[1].label}; {len(self.vertices)} vertices)"


@dataclass(frozen=True)
class Ellipse(Gate):
    """n-D ellipsoid: inside iff ``(x - mean)ᵀ inv(covariance) (x - mean) <= distance_square``.

    The covariance is used exactly as written (no symmetrising); a singular matrix is
    refused.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> s = Sample.from_array(np.array([[2.0, 0.0], [2.1, 0.0]]), ["x", "y"])
    >>> Ellipse(("x", "y"), mean=(0, 0), covariance=((4, 0), (0, 1))).mask(s).tolist()
    [True, False]
    """

    dimensions: tuple[AnyDimension, ...]  # type: ignore[assignment]
    mean: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    distance_square: float = 1.0
    _inverse: tuple[tuple[float, ...], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        dims = _dimension_tuple("Ellipse", self.dimensions, 2)
        n = len(dims)
        owner = f"Ellipse({', '.join(d.label for d in dims)})"
        try:
            mean = tuple(float(v) for v in self.mean)
            cov = np.array(self.covariance, dtype=np.float64)
            dist = float(self.distance_square)
        except (TypeError, ValueError) as exc:
            raise GateError(
                f"{owner}: mean, covariance and distance_square must be numbers."
            ) from exc
        if len(mean) != n or cov.shape != (n, n):
            raise GateError(
                f"{owner}: {n} dimensions need a mean of {n} values and a {n}x{n} covariance; "
                f"got {len(mean)} values and shape {cov.shape}."
            )
        if not (np.all(np.isfinite(cov)) and all(map(math.isfinite, mean)) and math.isfinite(dist)):
            raise GateError(f"{owner}: mean, covariance and distance_square must be finite.")
        if dist < 0:
            raise GateError(f"{owner}: distance_square must be >= 0, got {dist:g}.")
        try:
            inverse = np.linalg.inv(cov)
            singular = np.linalg.cond(cov) > 1e14 or not np.all(np.isfinite(inverse))
        except np.linalg.LinAlgError:
            singular = True
        if singular:
            raise GateError(
                f"{owner}: the covariance matrix {cov.tolist()} is singular; it cannot be inverted."
            )
        object.__setattr__(self, "dimensions", dims)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "covariance", tuple(tuple(float(v) for v in row) for row in cov))
        object.__setattr__(self, "distance_square", dist)
        object.__setattr__(self, "_inverse", tuple(tuple(float(v) for v in row) for row in inverse))

    def region(self, context: EvaluationContext) -> np.ndarray:
        diffs = [context.column(d) - m for d, m in zip(self.dimensions, self.mean)]
        n = len(diffs)
        total = np.zeros_like(diffs[0])
        for i in range(n):
            acc = diffs[0] * self._inverse[i][0]
            for j in range(1, n):
                acc += diffs[j] * self._inverse[i][j]
            acc *= diffs[i]
            total += acc
        return total <= self.distance_square

    def describe(self) -> str:
        centre = ", ".join(f"{m:g}" for m in self.mean)
        labels = ", ".join(d.label for d in self.dimensions)
        return f"Ellipse({labels}; mean ({centre}), D={self.distance_square:g})"
