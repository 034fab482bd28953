"""FlowJo 10 workspace (``.wsp``) import.

:func:`read_workspace` returns a :class:`Workspace`: its samples (FCS reference,
keywords, spillover matrix, per-channel axis transforms — linear, log, logicle, biex,
arcsinh — and the sample-level gate tree with FlowJo's stored counts) and groups.
``workspace.strategy(name)`` gives a :class:`~bcsc_flow.strategy.GatingStrategy` and
``workspace.compare_counts()`` a table of FlowJo's counts against ours.

Supported gates: rectangles (incl. the four one-side-open rectangles of a quadrant
gate), polygons, ellipses (foci and edge points in display coordinates) and And/Or/Not
nodes; ``eventsInside="0"`` gives the complement. How FlowJo's coordinates are read is
described in :mod:`bcsc_flow.flowjo._gates`. FlowJo evaluates polygons and ellipses on
binned display data, so on real data those counts may differ from ours by a few events.

Example
-------
>>> from bcsc_flow.flowjo import read_workspace
>>> ws = read_workspace(b'<Workspace version="20.0"><SampleList/></Workspace>')
>>> ws.version, ws.samples
('20.0', ())
"""

from __future__ import annotations

from bcsc_flow.flowjo._model import FlowJoPopulation, FlowJoSample, Workspace
from bcsc_flow.flowjo._reader import read_workspace

__all__ = ["FlowJoPopulation", "FlowJoSample", "Workspace", "read_workspace"]
