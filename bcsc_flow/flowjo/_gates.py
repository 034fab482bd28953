"""Turning FlowJo gate elements into bcsc_flow gates.

FlowJo coordinates (conformance README §3.2):

* rectangles (and the four pieces of a quadrant gate, one side open) and polygons are
  stored in **raw data units**. Rectangles are evaluated on the raw values (a monotone
  axis transform does not change ``min <= x < max``). Polygons are drawn with straight
  edges on the displayed axes, so on a non-linear axis the vertices and the events are
  both put through the axis transform (as FlowKit does);
* ellipses are stored as two foci and four edge points in **display coordinates**
  (0–256, linear over the axis transform's output). An event is inside when the sum of
  its distances to the foci is at most the major axis, i.e. the Gating-ML ellipsoid
  with mean = centre and covariance ``a²·uuᵀ + b²·vvᵀ`` (distance² 1), mapped from
  display units to the transform's units (×1/256, or ×16 for FlowJo's 0–4096 biex);
* ``eventsInside="0"`` means the complement of the drawn region.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np

from bcsc_flow.compensation import Spillover
from bcsc_flow.dimensions import Dimension
from bcsc_flow.errors import BcscFlowError, FlowJoError
from bcsc_flow.flowjo._xml import DATA_TYPE, GATING, attr, number, prefixed, q
from bcsc_flow.gates import Ellipse, Gate, Not, Polygon, Rectangle
from bcsc_flow.transforms import FlowJoBiex, Linear

__all__ = ["AxisContext", "SUPPORTED_GATES", "convert_gate"]

SUPPORTED_GATES = ("RectangleGate", "PolygonGate", "EllipsoidGate")
_DISPLAY = 256.0


@dataclass(frozen=True)
class AxisContext:
    """What a sample knows about its axes: transforms, compensation and channel ranges."""

    transforms: Mapping[str, Any]
    spillover: Spillover | None
    spillover_name: str
    prefix: str
    suffix: str
    ranges: Mapping[str, float]

    def resolve(self, name: str) -> tuple[str, str]:
        """(channel, compensation) for a FlowJo parameter name such as ``Comp-FITC-A``."""
        sp = self.spillover
        if sp is not None and self.prefix + self.suffix:
            stripped = name
            if self.prefix and stripped.startswith(self.prefix):
                stripped = stripped[len(self.prefix) :]
            if self.suffix and stripped.endswith(self.suffix):
                stripped = stripped[: -len(self.suffix)]
            if stripped != name and stripped in sp.outputs:
                return stripped, self.spillover_name
        return name, "uncompensated"

    def transform(self, name: str, channel: str) -> Any:
        """The axis transform of a parameter (prefixed name first); None when absent."""
        found = self.transforms.get(name)
        return found if found is not None else self.transforms.get(channel)

    def display_transform(self, name: str, channel: str) -> Any:
        """Axis transform for display coordinates; a linear 0..$PnR axis when none is given."""
        found = self.transform(name, channel)
        if found is not None:
            return found
        return Linear(self.ranges.get(channel, 262144.0))


def _dimension_names(gate_el: Element, where: str) -> list[tuple[Element, str]]:
    out = []
    for dim_el in gate_el.findall(q(GATING, "dimension")):
        fcs = dim_el.find(q(DATA_TYPE, "fcs-dimension"))
        name = None if fcs is None else attr(fcs, "name")
        if not name:
            raise FlowJoError(f"{where}: a <gating:dimension> names no fcs-dimension parameter.")
        out.append((dim_el, name))
    if not out:
        raise FlowJoError(f"{where}: <{prefixed(gate_el)}> has no dimensions.")
    return out


def _coordinates(vertex_el: Element, where: str) -> tuple[float, ...]:
    return tuple(number(c, "value", where) for c in vertex_el.findall(q(GATING, "coordinate")))


def _rectangle(gate_el: Element, axes: AxisContext, where: str) -> Gate:
    dims, lows, highs = [], [], []
    for dim_el, name in _dimension_names(gate_el, where):
        channel, comp = axes.resolve(name)
        dims.append(Dimension(channel, compensation=comp))
        low = attr(dim_el, "min")
        high = attr(dim_el, "max")
        lows.append(None if low is None else number(dim_el, "min", where))
        highs.append(None if high is None else number(dim_el, "max", where))
    return Rectangle(tuple(dims), min=tuple(lows), max=tuple(highs))


def _is_linear(transform: Any) -> bool:
    return transform is None or isinstance(transform, Linear)


def _polygon(gate_el: Element, axes: AxisContext, where: str) -> Gate:
    names = _dimension_names(gate_el, where)
    if len(names) != 2:
        raise FlowJoError(f"{where}: a polygon needs 2 dimensions, got {len(names)}.")
    vertices = [_coordinates(v, where) for v in gate_el.findall(q(GATING, "vertex"))]
    if len(vertices) < 3 or any(len(v) != 2 for v in vertices):
        raise FlowJoError(f"{where}: a polygon needs at least 3 vertices of 2 coordinates each.")
    dims = []
    columns = []
    for i, (_, name) in enumerate(names):
        channel, comp = axes.resolve(name)
        xf = axes.transform(name, channel)
        raw = np.array([v[i] for v in vertices], dtype=np.float64)
        if _is_linear(xf):  # straight edges are the same in raw units
            dims.append(Dimension(channel, compensation=comp))
            columns.append(raw)
        else:
            dims.append(Dimension(channel, transform=xf, compensation=comp))
            columns.append(np.asarray(xf(raw), dtype=np.float64))
    points = tuple((float(x), float(y)) for x, y in zip(columns[0], columns[1], strict=True))
    return Polygon(tuple(dims), points)


def _ellipse(gate_el: Element, axes: AxisContext, where: str) -> Gate:
    names = _dimension_names(gate_el, where)
    if len(names) != 2:
        raise FlowJoError(f"{where}: a FlowJo ellipse needs 2 dimensions, got {len(names)}.")
    foci_el = gate_el.find(q(GATING, "foci"))
    edge_el = gate_el.find(q(GATING, "edge"))
    foci = (
        []
        if foci_el is None
        else [_coordinates(v, where) for v in foci_el.findall(q(GATING, "vertex"))]
    )
    edges = (
        []
        if edge_el is None
        else [_coordinates(v, where) for v in edge_el.findall(q(GATING, "vertex"))]
    )
    if len(foci) != 2 or len(edges) != 4 or any(len(p) != 2 for p in foci + edges):
        raise FlowJoError(
            f"{where}: a FlowJo ellipse needs 2 foci and 4 edge points of 2 coordinates "
            f"(got {len(foci)} foci, {len(edges)} edge points)."
        )
    f1, f2 = np.array(foci[0]), np.array(foci[1])
    e = [np.array(p) for p in edges]
    semi_major = max(np.linalg.norm(e[0] - e[1]), np.linalg.norm(e[2] - e[3])) / 2.0
    half_focal = np.linalg.norm(f2 - f1) / 2.0
    minor_sq = semi_major**2 - half_focal**2
    if semi_major <= 0 or minor_sq <= 0:
        raise FlowJoError(
            f"{where}: degenerate FlowJo ellipse (major axis {2 * semi_major:g}, focal distance "
            f"{2 * half_focal:g} in display units)."
        )
    u = (f2 - f1) / (2 * half_focal) if half_focal > 0 else np.array([1.0, 0.0])
    v = np.array([-u[1], u[0]])
    cov_display = semi_major**2 * np.outer(u, u) + minor_sq * np.outer(v, v)
    centre = (f1 + f2) / 2.0
    dims, scale = [], []
    for _, name in names:
        channel, comp = axes.resolve(name)
        xf = axes.display_transform(name, channel)
        top = float(xf.channel_range) if isinstance(xf, FlowJoBiex) else 1.0
        scale.append(top / _DISPLAY)
        dims.append(Dimension(channel, transform=xf, compensation=comp))
    s = np.array(scale)
    mean = tuple(float(m) for m in centre * s)
    cov = cov_display * np.outer(s, s)
    return Ellipse(
        tuple(dims), mean=mean, covariance=tuple(map(tuple, cov.tolist())), distance_square=1.0
    )


_BUILDERS = {"RectangleGate": _rectangle, "PolygonGate": _polygon, "EllipsoidGate": _ellipse}


class UnsupportedGate(FlowJoError):
    """Internal: a gate element FlowJo can write but bcsc_flow does not read."""


def convert_gate(gate_el: Element, axes: AxisContext, where: str) -> tuple[Gate, str]:
    """The gate of a ``Population``'s ``Gate`` element, and the element's prefixed tag.

    Raises :class:`UnsupportedGate` (a :class:`FlowJoError`) for unknown gate elements.
    """
    children = list(gate_el)
    if len(children) != 1:
        raise FlowJoError(
            f"{where}: <Gate> must hold exactly one gate element, found {len(children)}."
        )
    el = children[0]
    tag = prefixed(el)
    kind = el.tag.rpartition("}")[2]
    build = _BUILDERS.get(kind) if el.tag.startswith(f"{{{GATING}}}") else None
    if build is None:
        raise UnsupportedGate(
            f"{where}: gate element <{tag}> is not supported; supported FlowJo gates are "
            f"{', '.join('gating:' + s for s in SUPPORTED_GATES)} (quadrants are read as their "
            "four rectangles) and And/Or/Not nodes."
        )
    try:
        gate = build(el, axes, where)
    except FlowJoError:
        raise
    except BcscFlowError as exc:
        raise FlowJoError(f"{where}: {exc}") from None
    inside = attr(el, "eventsInside", "1")
    if inside not in ("1", "true"):
        gate = Not(gate)
    return gate, tag
