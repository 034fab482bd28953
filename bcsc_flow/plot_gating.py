"""Plots of gated samples: one gate on its parent's events, a threshold against a control,
and backgating (a population highlighted on an ancestor's plot).

All functions take a :class:`~bcsc_flow.strategy.GatingResult`, read the columns of the
gate's dimensions (compensated and transformed exactly as the gate sees them), take an
optional ``ax`` and return the Axes.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.gates import Threshold
>>> from bcsc_flow.strategy import GatingStrategy
>>> rng = np.random.default_rng(0)
>>> s = Sample.from_array(rng.normal(size=(500, 2)), ["FSC-A", "CD44"])
>>> res = GatingStrategy().add("CD44+", Threshold("CD44", above=1.0)).apply(s)
>>> ax = gate_plot(res, "CD44+", y="FSC-A")
>>> ax.texts[0].get_text() == f"CD44+\\n{res.pct_of_parent('CD44+'):.2f} %"
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.dimensions import Dimension, RatioDimension
from bcsc_flow.errors import GateError, StrategyError
from bcsc_flow.gates import Gate, QuadrantRegion, Range, Threshold
from bcsc_flow.plot_density import Limits, density_scatter, histogram, new_axes, robust_limits
from bcsc_flow.plot_gates import draw_gate, gate_anchor, gate_extent

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from bcsc_flow.strategy import GatingResult, GatingStrategy

__all__ = ["axis_label", "backgate", "gate_dimensions", "gate_plot", "threshold_plot"]

AnyDimension = Dimension | RatioDimension


def axis_label(result: GatingResult, dim: AnyDimension) -> str:
    """``"APC-A (CD44)"`` plus the transform's Gating-ML name, e.g. ``"APC-A (CD44) · logicle"``.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> from bcsc_flow.gates import Range
    >>> s = Sample.from_array(np.zeros((1, 1)), ["APC-A"], markers=["CD44"])
    >>> axis_label(GatingStrategy().add("a", Range("APC-A", 0, 1)).apply(s), Dimension("APC-A"))
    'APC-A (CD44)'
    """
    if isinstance(dim, RatioDimension):
        text = dim.name or f"{dim.numerator} / {dim.denominator}"
    else:
        try:
            text = result.sample.channel(dim.channel).label
        except KeyError:  # a fluorochrome produced by a named spillover matrix
            text = dim.channel
    if dim.transform is not None:
        name = getattr(dim.transform, "gatingml_name", "") or type(dim.transform).__name__
        text += f" · {name}"
    return text


def _referenced_dimensions(strategy: GatingStrategy, gate: Any, depth: int = 0) -> list[Any]:
    """Dimensions of a gate; for boolean gates of population names, those of the operands."""
    dims = list(getattr(gate, "dimensions", ()))
    if depth < 3:
        for ref in sorted(getattr(gate, "references", ())):
            dims += _referenced_dimensions(strategy, strategy.gate(ref), depth + 1)
    return list(dict.fromkeys(dims))


def _gates_drawn(strategy: GatingStrategy, gate: Any, depth: int = 0) -> list[Any]:
    """The gate plus the gates of populations it names (for boolean gates of names)."""
    out = [gate]
    if depth < 3:
        for ref in sorted(getattr(gate, "references", ())):
            out += _gates_drawn(strategy, strategy.gate(ref), depth + 1)
    return out


def _as_dimension(result: GatingResult, key: Any) -> AnyDimension:
    """A Dimension as given, else the dimension of some gate reading that channel, else plain.

    A channel is named by detector or marker (``"CD44"`` finds ``APC-A``).
    """
    if isinstance(key, Dimension | RatioDimension):
        return key
    if not isinstance(key, str):
        raise GateError(f"A plot axis is a channel name or a Dimension, got {key!r}.")
    strategy = result.strategy
    with contextlib.suppress(KeyError):  # a fluorochrome made by a named matrix stays as is
        key = result.sample.channel(key).name
    for name in strategy.names:
        for dim in getattr(strategy.gate(name), "dimensions", ()):
            if isinstance(dim, Dimension) and dim.channel == key:
                return dim
    return Dimension(key)


def gate_dimensions(result: GatingResult, population: str) -> tuple[AnyDimension, ...]:
    """The dimensions a population's gate is drawn on (operands' dimensions for booleans).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Threshold
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = (GatingStrategy().add("a", Threshold("A", above=0)).add("b", Threshold("B", below=0))
    ...       .add("ab", Threshold("A", above=0) & "b"))
    >>> [d.channel for d in gate_dimensions(st.apply(Sample.from_array(np.zeros((1, 2)), ["A", "B"])), "ab")]
    ['A', 'B']
    """
    return tuple(_referenced_dimensions(result.strategy, result.strategy.gate(population)))


def _parent_mask(result: GatingResult, population: str) -> np.ndarray:
    parent = result.parent(population)
    return np.ones(result.total_count, dtype=bool) if parent is None else result.mask(parent)


def _limits(values: np.ndarray, gates: Sequence[Any], dim: Any) -> Limits:
    lo, hi = robust_limits(values)
    extent = [v for g in gates for v in gate_extent(g, dim) if np.isfinite(v)]
    if extent:
        span = hi - lo
        lo = min(lo, min(extent) - 0.05 * span)
        hi = max(hi, max(extent) + 0.05 * span)
    return (lo, hi)


def _title(result: GatingResult, population: str) -> str:
    parent = result.parent(population)
    return f"{parent or 'all events'} → {population}"


def gate_plot(
    result: GatingResult,
    population: str,
    *,
    x: Any = None,
    y: Any = None,
    ax: Axes | None = None,
    bins: int = 200,
    label: str | None = None,
    cmap: str = "viridis",
) -> Axes:
    """The parent's events on the gate's dimensions, the gate drawn, its % of parent shown.

    Two or more dimensions give a binned density plot of the first two (``x``/``y``
    override, as channel names or :class:`~bcsc_flow.dimensions.Dimension`); a 1-D gate
    gives a histogram unless ``y`` is given. Boolean gates of population names are drawn
    on their operands' dimensions with every operand's gate. The label ``name\\nP %`` is
    written next to the gate (``label`` replaces the name).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Rectangle
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> s = Sample.from_array(np.random.default_rng(1).uniform(0, 10, (1000, 2)), ["A", "B"])
    >>> res = GatingStrategy().add("box", Rectangle(("A", "B"), (2, 2), (5, 5))).apply(s)
    >>> ax = gate_plot(res, "box")
    >>> ax.get_xlabel(), len(ax.patches), ax.get_title()
    ('A', 1, 'all events → box')
    """
    strategy = result.strategy
    gate = strategy.gate(population)
    if not isinstance(gate, Gate):
        raise StrategyError(
            f"gate_plot: {population!r} is a quadrant container; plot one of its quadrants."
        )
    dims = list(gate_dimensions(result, population))
    xdim = _as_dimension(result, x) if x is not None else (dims[0] if dims else None)
    if xdim is None:
        raise GateError(
            f"gate_plot: the gate of {population!r} has no dimensions; give x= (and y=)."
        )
    rest = [d for d in dims if d != xdim]
    ydim = _as_dimension(result, y) if y is not None else (rest[0] if rest else None)
    parent = _parent_mask(result, population)
    ctx = result.context
    xv = ctx.column(xdim)[parent]
    gates = _gates_drawn(strategy, gate)
    pct = result.pct_of_parent(population)
    text = f"{label or population}\n{pct:.2f} %"
    if ydim is None:
        ax = ax if ax is not None else new_axes((4.0, 3.2))
        xlim = _limits(xv, gates, xdim)
        histogram(xv, ax=ax, xlim=xlim, bins=bins, label=result.parent(population) or "all events")
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
        ax.set_ylabel("% of parent events")
    else:
        yv = ctx.column(ydim)[parent]
        ax = density_scatter(
            xv,
            yv,
            ax=ax,
            bins=bins,
            xlim=_limits(xv, gates, xdim),
            ylim=_limits(yv, gates, ydim),
            cmap=cmap,
        )
        ax.set_ylabel(axis_label(result, ydim))
    for g in gates:
        draw_gate(ax, g, xdim, ydim)
    anchor = gate_anchor(gates, xdim, ydim, ax.get_xlim(), ax.get_ylim())
    ax.text(
        *anchor,
        text,
        ha="center",
        va="center",
        fontsize="small",
        color="black",
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.7, "linewidth": 0},
    )
    ax.set_xlabel(axis_label(result, xdim))
    ax.set_title(_title(result, population), fontsize="medium")
    return ax


def _threshold_of(gate: Any) -> tuple[float, bool]:
    if isinstance(gate, Threshold):
        return (gate.above, True) if gate.above is not None else (gate.below, False)
    if isinstance(gate, Range):
        return (gate.min, True) if gate.min is not None else (gate.max, False)
    if isinstance(gate, QuadrantRegion) and len(gate.positions) == 1:
        divider = gate.quadrant.divider(gate.positions[0][0])
        low, high = divider.bounds(gate.positions[0][1])
        return (low, True) if low is not None else (high, False)
    raise GateError(
        f"threshold_plot: needs a 1-D gate (Threshold, Range), got {type(gate).__name__}; "
        "use gate_plot for 2-D gates."
    )


def threshold_plot(
    result: GatingResult,
    population: str,
    control: GatingResult | None = None,
    *,
    ax: Axes | None = None,
    bins: int = 200,
    label: str | None = None,
    control_label: str = "control",
) -> Axes:
    """Histogram of a 1-D gate's dimension on the parent's events, the control overlaid.

    ``control`` is the control tube gated with the *same* strategy (e.g. the DEAB tube:
    ``strategy.apply(deab_sample)``); its events in the same parent population are
    overlaid and the % beyond the threshold is printed for both (the control's % is the
    assay's false-positive floor).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Threshold
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = GatingStrategy().add("ALDH+", Threshold("ALDH", above=2.0))
    >>> test = st.apply(Sample.from_array(np.r_[np.zeros(97), np.full(3, 3.0)][:, None], ["ALDH"]))
    >>> deab = st.apply(Sample.from_array(np.r_[np.zeros(199), [3.0]][:, None], ["ALDH"]))
    >>> ax = threshold_plot(test, "ALDH+", deab, label="ALDEFLUOR", control_label="DEAB")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['ALDEFLUOR: 3.00 % > 2', 'DEAB: 0.50 % > 2']
    """
    gate = result.strategy.gate(population)
    value, above = _threshold_of(gate)
    dim = gate.dimensions[0]
    xv = result.context.column(dim)[_parent_mask(result, population)]
    cv = None
    if control is not None:
        cv = control.context.column(dim)[_parent_mask(control, population)]
    xlim = _limits(xv if cv is None else np.concatenate([xv, cv]), [gate], dim)
    ax = histogram(
        xv,
        control=cv,
        threshold=value,
        above=above,
        ax=ax,
        bins=bins,
        xlim=xlim,
        label=label or result.sample.name,
        control_label=control_label,
        xlabel=axis_label(result, dim),
    )
    ax.set_title(_title(result, population), fontsize="medium")
    return ax


def backgate(
    result: GatingResult,
    population: str,
    *,
    x: Any,
    y: Any,
    ancestor: str | None = None,
    ax: Axes | None = None,
    bins: int = 200,
) -> Axes:
    """A population's events (red) over an ancestor's events (grey) on any two dimensions.

    ``ancestor`` defaults to all events; ``x``/``y`` are channel names (drawn in the
    transform the strategy uses for that channel, if any) or dimensions. The gate of the
    ancestor's own child on the path is not drawn; the label gives the population's
    count and % of the ancestor.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> s = Sample.from_array(np.random.default_rng(2).uniform(0, 10, (2000, 2)), ["A", "B"])
    >>> res = GatingStrategy().add("low A", Range("A", 0, 1)).apply(s)
    >>> ax = backgate(res, "low A", x="A", y="B")
    >>> len(ax.images), ax.texts[0].get_text().startswith("low A: ")
    (2, True)
    """
    strategy = result.strategy
    if ancestor is not None and ancestor not in strategy.ancestors(population):
        raise StrategyError(
            f"backgate: {ancestor!r} is not an ancestor of {population!r}; its ancestors are "
            f"{list(strategy.ancestors(population)) or '(none: it is a root)'}."
        )
    xdim, ydim = _as_dimension(result, x), _as_dimension(result, y)
    base = np.ones(result.total_count, dtype=bool) if ancestor is None else result.mask(ancestor)
    ctx = result.context
    xv, yv = ctx.column(xdim), ctx.column(ydim)
    xlim, ylim = robust_limits(xv[base]), robust_limits(yv[base])
    ax = density_scatter(xv[base], yv[base], ax=ax, bins=bins, xlim=xlim, ylim=ylim, cmap="Greys")
    hit = result.mask(population)
    density_scatter(
        xv[hit], yv[hit], ax=ax, bins=bins, xlim=xlim, ylim=ylim, cmap="autumn", zorder=2
    )
    n_base = int(base.sum())
    pct = 100.0 * int(hit.sum()) / n_base if n_base else float("nan")
    ax.text(
        0.02,
        0.98,
        f"{population}: {int(hit.sum())} events, {pct:.2f} % of {ancestor or 'all events'}",
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize="small",
        color="darkred",
    )
    ax.set_xlabel(axis_label(result, xdim))
    ax.set_ylabel(axis_label(result, ydim))
    ax.set_title(f"backgating {population} on {ancestor or 'all events'}", fontsize="medium")
    return ax
