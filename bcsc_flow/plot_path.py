"""The gating path of one sample as a grid of panels: a publication gating-strategy figure.

Each panel shows a population's parent events on the gate's dimensions, the gate, and its
% of parent (see :func:`~bcsc_flow.plot_gating.gate_plot`). Quadrants of one quadrant
gate share a panel with one label per quadrant.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.gates import Range, Threshold
>>> from bcsc_flow.strategy import GatingStrategy
>>> s = Sample.from_array(np.random.default_rng(0).uniform(0, 10, (3000, 2)), ["FSC-A", "CD44"])
>>> st = GatingStrategy().add("cells", Range("FSC-A", 2, 10)).add("CD44+", Threshold("CD44", above=5), parent="cells")
>>> fig = gating_path(st.apply(s))
>>> [ax.get_title() for ax in fig.axes if ax.get_visible()]
['all events → cells', 'cells → CD44+']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bcsc_flow.errors import StrategyError, did_you_mean
from bcsc_flow.gates import QuadrantRegion
from bcsc_flow.plot_gates import gate_anchor
from bcsc_flow.plot_gating import gate_dimensions, gate_plot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bcsc_flow.sample import Sample
    from bcsc_flow.strategy import GatingResult, GatingStrategy

__all__ = ["gating_path", "path_panels"]


def path_panels(result: GatingResult, populations: Sequence[str] | None = None) -> list[list[str]]:
    """Populations drawn, one list per panel, in tree order: each target and its ancestors.

    Quadrants of the same quadrant gate (and parent) share one panel.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Quadrant, Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = (GatingStrategy().add("cells", Range("A", 0, 9))
    ...       .add("q", Quadrant.cross("A", 1, "B", 1), parent="cells"))
    >>> res = st.apply(Sample.from_array(np.zeros((2, 2)), ["A", "B"]))
    >>> path_panels(res, ["A+ B-", "A+ B+"])
    [['cells'], ['A+ B-', 'A+ B+']]
    """
    strategy = result.strategy
    names = list(result.names)
    if populations is None:
        wanted = set(names)
    else:
        wanted = set()
        for name in populations:
            if name not in result.masks:
                raise StrategyError(
                    f"gating_path: no population {name!r}.{did_you_mean(name, names)} "
                    f"Populations: {', '.join(names)}."
                )
            wanted |= {name, *strategy.ancestors(name)}
    panels: list[list[str]] = []
    shared: dict[Any, list[str]] = {}
    for name in names:
        if name not in wanted:
            continue
        gate = strategy.gate(name)
        if isinstance(gate, QuadrantRegion):
            key = (gate.quadrant, strategy.parent(name))
            if key in shared:
                shared[key].append(name)
                continue
            shared[key] = [name]
            panels.append(shared[key])
        else:
            panels.append([name])
    return panels


def _label_quadrants(ax: Any, result: GatingResult, names: Sequence[str]) -> None:
    dims = gate_dimensions(result, names[0])
    xdim, ydim = dims[0], (dims[1] if len(dims) > 1 else None)
    for name in names[1:]:
        gate = result.strategy.gate(name)
        anchor = gate_anchor(gate, xdim, ydim, ax.get_xlim(), ax.get_ylim())
        ax.text(
            *anchor,
            f"{name}\n{result.pct_of_parent(name):.2f} %",
            ha="center",
            va="center",
            fontsize="small",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.7, "linewidth": 0},
        )


def gating_path(
    result: GatingResult | None = None,
    populations: Sequence[str] | None = None,
    *,
    strategy: GatingStrategy | None = None,
    sample: Sample | None = None,
    ncols: int = 3,
    panel_size: float = 3.2,
    bins: int = 160,
) -> Figure:
    """A Figure with one panel per gate on the path to ``populations`` (default: all).

    Give a :class:`~bcsc_flow.strategy.GatingResult`, or ``strategy=`` and ``sample=``
    (the strategy is applied, never re-fitted). Panels follow tree order, ``ncols`` per
    row; the figure title is the sample's name. The Figure is not managed by pyplot:
    save it with ``fig.savefig(path)`` or show it as a notebook cell's value.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = GatingStrategy().add("a", Range("A", 0, 5)).add("b", Range("A", 0, 1), parent="a")
    >>> s = Sample.from_array(np.random.default_rng(3).uniform(0, 9, (500, 1)), ["A"], name="demo")
    >>> fig = gating_path(strategy=st, sample=s, populations=["a"])
    >>> len([ax for ax in fig.axes if ax.get_visible()]), fig.get_suptitle()
    (1, 'demo')
    """
    from matplotlib.figure import Figure

    if result is None:
        if strategy is None or sample is None:
            raise StrategyError("gating_path: give a GatingResult, or both strategy= and sample=.")
        result = strategy.apply(sample)
    elif strategy is not None or sample is not None:
        raise StrategyError("gating_path: give a GatingResult or strategy= and sample=, not both.")
    panels = path_panels(result, populations)
    if not panels:
        raise StrategyError("gating_path: the strategy has no populations to draw.")
    ncols = max(1, min(ncols, len(panels)))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(panel_size * ncols, panel_size * nrows + 0.4), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False)
    flat = list(grid.ravel())
    for ax, names in zip(flat, panels):
        gate_plot(result, names[0], ax=ax, bins=bins)
        if len(names) > 1:
            _label_quadrants(ax, result, names)
    for ax in flat[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(result.sample.name)
    return fig
