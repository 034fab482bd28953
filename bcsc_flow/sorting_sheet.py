"""A sort sheet: every coordinate of the sort gates, in display and in raw channel units.

Sorter software draws gates in its own interface; an operator reproduces a frozen gate by
hand from this table and checks that the live % matches (DOMAIN.md §5.4). One row per
gate coordinate along the path to each population: thresholds and range bounds, rectangle
sides, polygon vertices, ellipse centres and quadrant cuts. ``display_value`` is in the
gate's own (transformed) units; ``raw_value`` is the channel value, the transform
inverted, in the dimension's ``compensation``.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.dimensions import Dimension
>>> from bcsc_flow.gates import Threshold
>>> from bcsc_flow.strategy import GatingStrategy
>>> from bcsc_flow.transforms import Asinh
>>> f = Asinh(262144.0, 4.5)
>>> st = GatingStrategy().add("CD44+", Threshold(Dimension("APC-A", f), above=0.5))
>>> res = st.apply(Sample.from_array(np.array([[10.0], [5000.0]]), ["APC-A"], markers=["CD44"]))
>>> row = sort_sheet(res, ["CD44+"]).iloc[0]
>>> row["coordinate"], row["marker"], round(float(row["raw_value"]), 1), float(row["pct_of_parent"])
('above', 'CD44', 1474.1, 50.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bcsc_flow.dimensions import RatioDimension
from bcsc_flow.errors import StrategyError, did_you_mean
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
    from bcsc_flow.strategy import GatingResult

__all__ = ["SHEET_COLUMNS", "sort_sheet"]

SHEET_COLUMNS: tuple[str, ...] = (
    "population",
    "parent",
    "gate",
    "dimension",
    "marker",
    "transform",
    "compensation",
    "coordinate",
    "display_value",
    "raw_value",
    "count",
    "pct_of_parent",
)
"""Columns of :func:`sort_sheet`."""


def _coordinates(gate: Any) -> list[tuple[Any, str, float]]:
    """(dimension, coordinate name, display value) of a geometric gate."""
    if isinstance(gate, Threshold):
        side = "above" if gate.above is not None else "below"
        return [(gate.dimension, side, gate.above if gate.above is not None else gate.below)]
    if isinstance(gate, Range):
        return [
            (gate.dimension, k, v)
            for k, v in (("min", gate.min), ("max", gate.max))
            if v is not None
        ]
    if isinstance(gate, Rectangle):
        return [
            (d, k, v)
            for d, lo, hi in zip(gate.dimensions, gate.min, gate.max)
            for k, v in (("min", lo), ("max", hi))
            if v is not None
        ]
    if isinstance(gate, Polygon):
        return [
            (d, f"vertex {k + 1}", vertex[i])
            for k, vertex in enumerate(gate.vertices)
            for i, d in enumerate(gate.dimensions)
        ]
    if isinstance(gate, Ellipse):
        return [(d, "centre", m) for d, m in zip(gate.dimensions, gate.mean)]
    if isinstance(gate, QuadrantRegion):
        out = []
        for div_name, index in gate.positions:
            divider = gate.quadrant.divider(div_name)
            low, high = divider.bounds(index)
            out += [
                (divider.dimension, k, v) for k, v in (("min", low), ("max", high)) if v is not None
            ]
        return out
    if isinstance(gate, And | Or):
        return [c for op in gate.operands if isinstance(op, Gate) for c in _coordinates(op)]
    if isinstance(gate, Not) and isinstance(gate.operand, Gate):
        return [(d, f"not {k}", v) for d, k, v in _coordinates(gate.operand)]
    return []


def _raw(dimension: Any, value: float) -> float:
    transform = getattr(dimension, "transform", None)
    if transform is None:
        return float(value)
    inverse = getattr(transform, "inverse", None)
    if inverse is None:
        return float("nan")
    return float(np.asarray(inverse(np.array([value], dtype=np.float64)))[0])


def _names(dimension: Any, result: GatingResult) -> tuple[str, str]:
    if isinstance(dimension, RatioDimension):
        return (dimension.label, "")
    try:
        channel = result.sample.channel(dimension.channel)
    except KeyError:
        return (dimension.channel, "")
    return (channel.name, channel.marker or "")


def sort_sheet(result: GatingResult, populations: Sequence[str]) -> pd.DataFrame:
    """One row per gate coordinate on the path to each population, raw and display units.

    ``count`` and ``pct_of_parent`` are those of ``result`` (the pre-sort sample): the
    operator checks them on the sorter. Gates of populations named as boolean operands
    appear under their own names when they are on a path; rows keep tree order.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Polygon
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = GatingStrategy().add("cells", Polygon(("FSC-A", "SSC-A"), [(1, 1), (9, 1), (5, 9)]))
    >>> res = st.apply(Sample.from_array(np.array([[5.0, 3.0]]), ["FSC-A", "SSC-A"]))
    >>> sheet = sort_sheet(res, ["cells"])
    >>> sheet["coordinate"].tolist()[:2], sheet["raw_value"].tolist()[:2]
    (['vertex 1', 'vertex 1'], [1.0, 1.0])
    """
    strategy = result.strategy
    wanted: set[str] = set()
    for name in populations:
        if name not in result.masks:
            raise StrategyError(
                f"sort_sheet: no population {name!r}.{did_you_mean(name, result.names)} "
                f"Populations: {', '.join(result.names)}."
            )
        wanted |= {name, *strategy.ancestors(name)}
        gate = strategy.gate(name)
        wanted |= set(getattr(gate, "references", ()))
    rows: list[dict[str, Any]] = []
    for name in result.names:
        if name not in wanted:
            continue
        for dimension, coordinate, value in _coordinates(strategy.gate(name)):
            channel, marker = _names(dimension, result)
            transform = getattr(dimension, "transform", None)
            rows.append(
                {
                    "population": name,
                    "parent": strategy.parent(name),
                    "gate": type(strategy.gate(name)).__name__,
                    "dimension": channel,
                    "marker": marker,
                    "transform": ""
                    if transform is None
                    else getattr(transform, "gatingml_name", "") or type(transform).__name__,
                    "compensation": getattr(dimension, "compensation", ""),
                    "coordinate": coordinate,
                    "display_value": float(value),
                    "raw_value": _raw(dimension, value),
                    "count": result.count(name),
                    "pct_of_parent": result.pct_of_parent(name),
                }
            )
    return pd.DataFrame(rows, columns=list(SHEET_COLUMNS))
