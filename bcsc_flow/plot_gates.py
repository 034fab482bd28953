"""Gate outlines on an Axes, in the transformed coordinates of the gate's dimensions.

:func:`draw_gate` draws what a gate looks like on a plot of dimension ``x`` (and ``y``):
lines for thresholds, ranges and quadrant dividers, a rectangle, a polygon or an ellipse
(its 2-D boundary). Boolean gates draw each geometric operand. Coordinates are those of
the gate (Gating-ML: gates live in transformed space), so the plot's data must be the
dimension's column as :class:`~bcsc_flow.gates.EvaluationContext` computes it.

Example
-------
>>> from bcsc_flow.gates import Polygon
>>> from bcsc_flow.plot_density import new_axes
>>> ax = new_axes()
>>> gate = Polygon(("FSC-A", "SSC-A"), [(0, 0), (2, 0), (1, 2)])
>>> artists = draw_gate(ax, gate, *gate.dimensions)
>>> type(artists[0]).__name__, len(artists[0].get_xy())
('Polygon', 4)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.gates import (
    And,
    Ellipse,
    Gate,
    Not,
    Or,
    Polygon,
    QuadrantRegion,
    Range,
    Rectangle,
    Threshold,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

__all__ = ["ellipse_boundary", "gate_anchor", "gate_extent", "draw_gate"]

GATE_STYLE: dict[str, Any] = {"color": "crimson", "linewidth": 1.4}


def ellipse_boundary(
    mean: Sequence[float], covariance: Any, distance_square: float, n: int = 181
) -> np.ndarray:
    """Points ``(n, 2)`` on the 2-D ellipse ``(p - mean)ᵀ inv(cov) (p - mean) = d²``.

    Example
    -------
    >>> pts = ellipse_boundary((0, 0), ((4, 0), (0, 1)), 1.0, n=5)
    >>> np.round(pts[:, 0].max(), 6), np.round(pts[:, 1].max(), 6)
    (np.float64(2.0), np.float64(1.0))
    """
    cov = np.asarray(covariance, dtype=np.float64)
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2.0)
    radii = np.sqrt(np.clip(vals, 0.0, None) * distance_square)
    theta = np.linspace(0.0, 2.0 * math.pi, n)
    unit = np.stack([np.cos(theta) * radii[0], np.sin(theta) * radii[1]])
    return (vecs @ unit).T + np.asarray(mean, dtype=np.float64)


def _axis_of(dim: Any, x: Any, y: Any) -> str | None:
    if dim == x:
        return "x"
    if y is not None and dim == y:
        return "y"
    return None


def _interval_bounds(gate: Any) -> list[tuple[Any, float | None, float | None]]:
    """(dimension, low, high) of a 1-D or box gate."""
    if isinstance(gate, Range | Threshold):
        return [(gate.dimension, gate.min, gate.max)]
    if isinstance(gate, Rectangle):
        return list(zip(gate.dimensions, gate.min, gate.max))
    if isinstance(gate, QuadrantRegion):
        out = []
        for div_name, index in gate.positions:
            divider = gate.quadrant.divider(div_name)
            low, high = divider.bounds(index)
            out.append((divider.dimension, low, high))
        return out
    return []


def _far(limits: tuple[float, float], side: int) -> float:
    lo, hi = limits
    span = (hi - lo) or 1.0
    return lo - 10 * span if side < 0 else hi + 10 * span


def draw_gate(ax: Axes, gate: Any, x: Any, y: Any = None, **style: Any) -> list[Artist]:
    """Draw ``gate`` on an Axes whose x (and y) show dimensions ``x`` and ``y``.

    Returns the artists added (empty when the gate does not involve the plotted
    dimensions). Open sides of boxes extend past the current axis limits, so set the
    limits first. ``style`` overrides the line style (default crimson, 1.4 pt).

    Example
    -------
    >>> from bcsc_flow.gates import Threshold
    >>> from bcsc_flow.plot_density import new_axes
    >>> ax = new_axes()
    >>> [round(float(a.get_xdata()[0]), 1) for a in draw_gate(ax, Threshold("CD44", above=2.5), Threshold("CD44", above=2.5).dimension)]
    [2.5]
    """
    from matplotlib.patches import Polygon as PolygonPatch
    from matplotlib.patches import Rectangle as RectanglePatch

    kw = {**GATE_STYLE, **style}
    if isinstance(gate, And | Or):
        return [
            a
            for op in gate.operands
            if isinstance(op, Gate)
            for a in draw_gate(ax, op, x, y, **style)
        ]
    if isinstance(gate, Not):
        return draw_gate(ax, gate.operand, x, y, **style) if isinstance(gate.operand, Gate) else []
    if isinstance(gate, Polygon | Ellipse):
        axes = [_axis_of(d, x, y) for d in gate.dimensions[:2]]
        if len(gate.dimensions) != 2 or set(axes) != {"x", "y"}:
            return []
        if isinstance(gate, Polygon):
            pts = np.asarray(gate.vertices, dtype=np.float64)
        else:
            pts = ellipse_boundary(gate.mean, gate.covariance, gate.distance_square)
        if axes[0] == "y":
            pts = pts[:, ::-1]
        patch = PolygonPatch(pts, closed=True, fill=False, **kw)
        ax.add_patch(patch)
        return [patch]
    bounds = [(axis, lo, hi) for d, lo, hi in _interval_bounds(gate) if (axis := _axis_of(d, x, y))]
    if not bounds:
        return []
    if isinstance(gate, Rectangle) and len(bounds) == 2:
        (_, x0, x1), (_, y0, y1) = sorted(bounds)
        xl, yl = ax.get_xlim(), ax.get_ylim()
        x0 = _far(xl, -1) if x0 is None else x0
        x1 = _far(xl, 1) if x1 is None else x1
        y0 = _far(yl, -1) if y0 is None else y0
        y1 = _far(yl, 1) if y1 is None else y1
        patch = RectanglePatch((x0, y0), x1 - x0, y1 - y0, fill=False, **kw)
        ax.add_patch(patch)
        return [patch]
    artists: list[Artist] = []
    for axis, lo, hi in bounds:
        for value in (lo, hi):
            if value is None:
                continue
            line = ax.axvline(value, **kw) if axis == "x" else ax.axhline(value, **kw)
            artists.append(line)
    return artists


def gate_extent(gate: Any, dim: Any) -> list[float]:
    """Finite gate coordinates on one dimension (vertices, bounds, ellipse extremes).

    Used to widen axis limits so that the whole gate is visible.

    Example
    -------
    >>> from bcsc_flow.gates import Range
    >>> g = Range("A", 1, 4)
    >>> gate_extent(g, g.dimension)
    [1.0, 4.0]
    """
    if isinstance(gate, And | Or):
        return [v for op in gate.operands if isinstance(op, Gate) for v in gate_extent(op, dim)]
    if isinstance(gate, Not):
        return gate_extent(gate.operand, dim) if isinstance(gate.operand, Gate) else []
    if isinstance(gate, Polygon | Ellipse):
        if dim not in gate.dimensions:
            return []
        k = gate.dimensions.index(dim)
        if isinstance(gate, Polygon):
            return [v[k] for v in gate.vertices]
        half = math.sqrt(gate.covariance[k][k] * gate.distance_square)
        return [gate.mean[k] - half, gate.mean[k] + half]
    return [
        v for d, lo, hi in _interval_bounds(gate) if d == dim for v in (lo, hi) if v is not None
    ]


def _leaves(gates: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for gate in gates:
        if isinstance(gate, And | Or):
            out += _leaves([op for op in gate.operands if isinstance(op, Gate)])
        elif isinstance(gate, Not):
            out += _leaves([gate.operand] if isinstance(gate.operand, Gate) else [])
        else:
            out.append(gate)
    return out


def gate_anchor(
    gates: Any, x: Any, y: Any, xlim: tuple[float, float], ylim: tuple[float, float]
) -> tuple[float, float]:
    """A point (data coordinates, inside the view) where a gate's % label reads well.

    ``gates`` is a gate or a sequence of gates drawn together (a boolean gate's
    operands): the label goes to the middle of a closed shape, near the top inside a
    polygon or ellipse, and to the positive side of thresholds.

    Example
    -------
    >>> from bcsc_flow.gates import Rectangle, Threshold
    >>> g = Rectangle(("A", "B"), min=(0, 0), max=(2, 4))
    >>> gate_anchor(g, *g.dimensions, (0, 10), (0, 10))
    (1.0, 2.0)
    >>> a, b = Threshold("A", above=4), Threshold("B", below=6)
    >>> gate_anchor(a & b, a.dimension, b.dimension, (0, 10), (0, 10))
    (7.0, 3.0)
    """
    leaves = _leaves(list(gates) if isinstance(gates, list | tuple) else [gates])

    def direction(dim: Any) -> bool | None:
        for gate in leaves:
            for d, lo, hi in _interval_bounds(gate):
                if d == dim:
                    return None if (lo is None) == (hi is None) else lo is not None
        return None

    def side(dim: Any, limits: tuple[float, float]) -> float:
        lo, hi = limits
        values = [v for g in leaves for v in gate_extent(g, dim)]
        positive = direction(dim)
        if not values:
            mid = (lo + hi) / 2.0
        elif positive is None:  # a closed shape: its middle
            mid = (min(values) + max(values)) / 2.0
        elif positive:
            mid = (max(min(values), lo) + hi) / 2.0
        else:
            mid = (lo + min(max(values), hi)) / 2.0
        return float(min(max(mid, lo), hi))

    span = ylim[1] - ylim[0]
    top = ylim[1] - 0.08 * span
    ax_ = side(x, xlim)
    if y is None:
        return (ax_, top)
    ay = side(y, ylim)
    shapes = [g for g in leaves if isinstance(g, Polygon | Ellipse) and y in g.dimensions]
    if shapes:  # just inside the top of the shape
        ys = [v for g in shapes for v in gate_extent(g, y)]
        ay = float(min(max(ys) - 0.07 * span, top))
    return (ax_, ay)
