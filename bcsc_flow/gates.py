"""Frozen gates: ranges, thresholds, rectangles, polygons, ellipses, quadrants, booleans.

Every gate is a frozen, hashable value. It knows its :attr:`~Gate.dimensions` (channel,
compensation, transform) and computes its own membership with :meth:`Gate.mask`, on a
:class:`~bcsc_flow.sample.Sample` or inside a gating strategy, where each dimension's
column is computed once per apply. Boundary rules are those of Gating-ML 2.0: lower
bounds inclusive, upper bounds exclusive, polygon edges inside, ellipse boundary
inside, NaN outside. Combine gates with ``&``, ``|`` and ``~``; boolean operands may
also be population *names*, resolved by the strategy.

The implementation is split by concept: :mod:`bcsc_flow.dimensions`,
:mod:`bcsc_flow.gates_base` (protocol and booleans), :mod:`bcsc_flow.gates_geometry`,
:mod:`bcsc_flow.gates_quadrant` and :mod:`bcsc_flow.fct_compat`
(FlowCytometryTools-style constructors).

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> s = Sample.from_array(np.array([[1.0, 0.1], [5.0, 0.9]]), ["CD44", "CD24"])
>>> g = Threshold("CD44", above=2) & Threshold("CD24", below=0.5)
>>> g.mask(s).tolist(), (~g).mask(s).tolist()
([False, False], [True, True])
"""

from __future__ import annotations

from bcsc_flow._evaluation import EvaluationContext
from bcsc_flow.dimensions import Dimension, RatioDimension, as_dimension
from bcsc_flow.fct_compat import IntervalGate, PolyGate, QuadGate, ThresholdGate
from bcsc_flow.gates_base import And, Gate, Not, Operand, Or, context_for
from bcsc_flow.gates_geometry import Ellipse, Polygon, Range, Rectangle, Threshold
from bcsc_flow.gates_quadrant import Divider, Quadrant, QuadrantRegion

__all__ = [
    "And",
    "Dimension",
    "Divider",
    "Ellipse",
    "EvaluationContext",
    "Gate",
    "IntervalGate",
    "Not",
    "Operand",
    "Or",
    "PolyGate",
    "Polygon",
    "QuadGate",
    "Quadrant",
    "QuadrantRegion",
    "Range",
    "RatioDimension",
    "Rectangle",
    "Threshold",
    "ThresholdGate",
    "as_dimension",
    "context_for",
]
