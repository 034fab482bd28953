"""FlowCytometryTools-style gate constructors, as thin wrappers onto bcsc_flow gates.

Each function takes FlowCytometryTools' argument order ``(vert, channels, region)`` and
returns an ordinary bcsc_flow gate, so code written for FlowCytometryTools ports with
few changes. Boundaries follow Gating-ML (lower bounds inclusive, upper bounds
exclusive; polygon edges inside; NaN outside), which differs from FlowCytometryTools
only for events exactly on an interval's upper end or a polygon edge, and for NaN values
(FlowCytometryTools puts them in "below"/"out"/"left" regions). The ``name`` argument is accepted for compatibility; in
bcsc_flow a gate's name is the name of the population that uses it.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> s = Sample.from_array(np.array([[1.0, 5.0], [3.0, 1.0]]), ["FSC-A", "SSC-A"])
>>> ThresholdGate(2.0, "FSC-A", region="above").mask(s).tolist()
[False, True]
>>> QuadGate((2.0, 2.0), ("FSC-A", "SSC-A"), region="top left").mask(s).tolist()
[True, False]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bcsc_flow.errors import GateError
from bcsc_flow.gates_base import Gate, Not
from bcsc_flow.gates_geometry import Polygon, Range, Threshold
from bcsc_flow.gates_quadrant import Quadrant

__all__ = ["ThresholdGate", "IntervalGate", "QuadGate", "PolyGate"]

_QUAD_REGIONS = {"bottom left": 0, "bottom right": 1, "top left": 2, "top right": 3}


def _one_channel(owner: str, channel: Any) -> Any:
    if isinstance(channel, list | tuple):
        if len(channel) != 1:
            raise GateError(f"{owner}: needs exactly one channel, got {channel!r}.")
        return channel[0]
    return channel


def _in_out(owner: str, gate: Gate, region: str) -> Gate:
    region = str(region).lower()
    if region == "in":
        return gate
    if region == "out":
        return Not(gate)
    raise GateError(f"{owner}: region must be 'in' or 'out', got {region!r}.")


def ThresholdGate(
    threshold: float, channel: Any, region: str = "above", name: str | None = None
) -> Gate:
    """``region='above'``: x >= threshold; ``'below'``: x < threshold.

    Example
    -------
    >>> ThresholdGate(100.0, "FSC-A", "below")
    Threshold(dimension=Dimension(channel='FSC-A', transform=None, compensation='uncompensated'), above=None, below=100.0)
    """
    channel = _one_channel("ThresholdGate", channel)
    region = str(region).lower()
    if region == "above":
        return Threshold(channel, above=threshold)
    if region == "below":
        return Threshold(channel, below=threshold)
    raise GateError(f"ThresholdGate: region must be 'above' or 'below', got {region!r}.")


def IntervalGate(
    vert: Sequence[float], channel: Any, region: str = "in", name: str | None = None
) -> Gate:
    """``region='in'``: lo <= x < hi; ``'out'``: everything else.

    Example
    -------
    >>> type(IntervalGate((1, 2), "FSC-A", "out")).__name__
    'Not'
    """
    channel = _one_channel("IntervalGate", channel)
    if len(vert) != 2:
        raise GateError(f"IntervalGate: vert must be (low, high), got {vert!r}.")
    return _in_out("IntervalGate", Range(channel, vert[0], vert[1]), region)


def QuadGate(
    vert: Sequence[float], channels: Sequence[Any], region: str, name: str | None = None
) -> Gate:
    """One quadrant around the point ``vert = (x, y)``: 'top right', 'top left', 'bottom left', 'bottom right'.

    Example
    -------
    >>> QuadGate((1, 1), ("A", "B"), "top right").name
    'A+ B+'
    """
    if len(vert) != 2 or len(channels) != 2:
        raise GateError(
            f"QuadGate: needs vert=(x, y) and two channels, got {vert!r}, {channels!r}."
        )
    region = str(region).lower()
    if region not in _QUAD_REGIONS:
        raise GateError(
            f"QuadGate: region must be one of {', '.join(_QUAD_REGIONS)}; got {region!r}."
        )
    quadrant = Quadrant.cross(channels[0], vert[0], channels[1], vert[1])
    return quadrant[quadrant.names[_QUAD_REGIONS[region]]]


def PolyGate(
    vert: Sequence[Sequence[float]],
    channels: Sequence[Any],
    region: str = "in",
    name: str | None = None,
) -> Gate:
    """Polygon with ``vert`` vertices; ``region='in'`` (edges inside) or ``'out'``.

    Example
    -------
    >>> len(PolyGate([(0, 0), (1, 0), (1, 1)], ("A", "B")).vertices)
    3
    """
    if len(channels) != 2:
        raise GateError(f"PolyGate: needs two channels, got {channels!r}.")
    return _in_out("PolyGate", Polygon(tuple(channels), tuple(map(tuple, vert))), region)
