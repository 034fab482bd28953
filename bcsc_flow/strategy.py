"""Gating strategies: an immutable tree of named populations, and applying it to a sample.

A :class:`Population` is a name, a gate and an optional parent name. A
:class:`GatingStrategy` holds populations (in any order; parents and boolean operands
may be named before they are defined), named spillover matrices, and checks that the
whole is consistent: unique names, known parents and operands, known compensation
names, no cycles. ``add``/``replace``/``remove`` return new strategies.
:meth:`GatingStrategy.apply` evaluates every population once, computing each needed
column once, and returns a :class:`~bcsc_flow.strategy_result.GatingResult`.

Names are opaque strings (``"CD24-/low"`` is fine). A population whose gate is a
:class:`~bcsc_flow.gates.Quadrant` contributes one population per named quadrant (same
parent); the quadrant population itself is only a container.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.gates import Range, Threshold
>>> s = Sample.from_array(np.array([[1.0, 0.0], [5.0, 1.0], [6.0, 0.0]]), ["FSC-A", "CD44"])
>>> st = GatingStrategy().add("cells", Range("FSC-A", 2, 10)).add("CD44+", Threshold("CD44", above=0.5), parent="cells")
>>> res = st.apply(s)
>>> res.count("cells"), res.count("CD44+"), res.pct_of_parent("CD44+")
(2, 1, 50.0)
>>> print(st)
GatingStrategy (2 populations)
cells: Range(FSC-A: [2, 10))
  CD44+: Threshold(CD44 >= 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bcsc_flow.dimensions import FILE_COMPENSATION, UNCOMPENSATED
from bcsc_flow.errors import StrategyError, did_you_mean
from bcsc_flow.frozen import FrozenMap
from bcsc_flow.gates_base import Gate
from bcsc_flow.gates_quadrant import Quadrant
from bcsc_flow.strategy_result import GatingResult, evaluate

if TYPE_CHECKING:
    from bcsc_flow.sample import Sample

__all__ = ["Population", "GatingStrategy", "GatingResult"]

_KEEP: Any = object()


@dataclass(frozen=True)
class Population:
    """A named gate with an optional parent population.

    Example
    -------
    >>> from bcsc_flow.gates import Threshold
    >>> Population("CD44+", Threshold("CD44", above=1.0), parent="live").parent
    'live'
    """

    name: str
    gate: Gate | Quadrant
    parent: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise StrategyError(f"Population: name must be a non-empty string, got {self.name!r}.")
        if not isinstance(self.gate, Gate | Quadrant):
            raise StrategyError(
                f"Population {self.name!r}: gate must be a bcsc_flow gate (Range, Polygon, ...), "
                f"got {type(self.gate).__name__}."
            )
        if self.parent is not None and (not isinstance(self.parent, str) or not self.parent):
            raise StrategyError(
                f"Population {self.name!r}: parent must be a population name or None, got {self.parent!r}."
            )
        if self.parent == self.name:
            raise StrategyError(f"Population {self.name!r} cannot be its own parent.")


@dataclass(frozen=True)
class _Node:
    """One evaluable population (a quadrant region counts as one)."""

    name: str
    gate: Gate
    parent: str | None
    owner: str  # the Population that defines it (the quadrant container for regions)


def _check_acyclic(nodes: Mapping[str, _Node]) -> tuple[str, ...]:
    """Topological order (dependencies first); StrategyError naming a cycle otherwise."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = in progress, 2 = done

    def deps(name: str) -> list[str]:
        node = nodes[name]
        found = [node.parent] if node.parent is not None else []
        return found + sorted(node.gate.references)

    for start in nodes:
        if state.get(start):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(deps(start)))]
        state[start] = 1
        while stack:
            name, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[name] = 2
                order.append(name)
            elif state.get(nxt) == 1:
                path = [n for n, _ in stack]
                cycle = [*path[path.index(nxt) :], nxt]
                raise StrategyError(
                    "Gating strategy has a cycle (parents and boolean operands): "
                    + " -> ".join(repr(c) for c in cycle)
                    + ". Break it by changing one parent or operand."
                )
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(deps(nxt))))
    return tuple(order)


@dataclass(frozen=True, eq=False)
class GatingStrategy:
    """An immutable, validated tree of named populations plus named spillover matrices.

    ``spillovers`` maps names (usable as a dimension's ``compensation``) to
    :class:`bcsc_flow.compensation.Spillover` values; a sequence of spillovers is keyed
    by their ``name``.

    Example
    -------
    >>> from bcsc_flow.gates import Range
    >>> st = GatingStrategy([Population("b", Range("A", 0, 1), parent="a"), Population("a", Range("A", 0, 2))])
    >>> st.names, st.children("a")
    (('b', 'a'), ('b',))
    """

    populations: tuple[Population, ...] = ()
    spillovers: Mapping[str, Any] = field(default_factory=dict)
    _nodes: Mapping[str, _Node] = field(init=False, repr=False)
    _order: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pops = tuple(self.populations)
        for p in pops:
            if not isinstance(p, Population):
                raise StrategyError(
                    f"GatingStrategy: expected Population values, got {type(p).__name__}."
                )
        spills = self.spillovers
        if not isinstance(spills, Mapping):
            spills = {getattr(s, "name", ""): s for s in spills}
        for key in spills:
            if not isinstance(key, str) or not key or key in (UNCOMPENSATED, FILE_COMPENSATION):
                raise StrategyError(
                    f"Spillover name {key!r} is not allowed: give each matrix a non-empty name other "
                    f"than {UNCOMPENSATED!r} and {FILE_COMPENSATION!r}."
                )
        object.__setattr__(self, "populations", pops)
        object.__setattr__(self, "spillovers", FrozenMap(dict(spills)))
        nodes: dict[str, _Node] = {}
        containers: dict[str, Population] = {}
        taken: set[str] = set()

        def claim(name: str, where: str) -> None:
            if name in taken:
                raise StrategyError(
                    f"Duplicate population name {name!r} ({where}); names must be unique."
                )
            taken.add(name)

        for p in pops:
            claim(p.name, "population")
            if isinstance(p.gate, Quadrant):
                containers[p.name] = p
                for region in p.gate.regions():
                    claim(region.name, f"quadrant of {p.name!r}")
                    nodes[region.name] = _Node(region.name, region, p.parent, p.name)
            else:
                nodes[p.name] = _Node(p.name, p.gate, p.parent, p.name)
        known = list(nodes)
        for node in nodes.values():
            wanted = [("parent", node.parent)] if node.parent is not None else []
            wanted += [("boolean operand", r) for r in sorted(node.gate.references)]
            for role, ref in wanted:
                if ref in containers:
                    raise StrategyError(
                        f"Population {node.name!r}: {role} {ref!r} is a quadrant gate, which is only a "
                        f"container; use one of its quadrants: {', '.join(containers[ref].gate.names)}."
                    )
                if ref not in nodes:
                    raise StrategyError(
                        f"Population {node.owner!r}: unknown {role} {ref!r}.{did_you_mean(ref, known)}"
                        f" Known populations: {', '.join(known) or '(none)'}."
                    )
            for dim in node.gate.dimensions:
                comp = dim.compensation
                if comp not in (UNCOMPENSATED, FILE_COMPENSATION) and comp not in self.spillovers:
                    choices = [UNCOMPENSATED, FILE_COMPENSATION, *self.spillovers]
                    raise StrategyError(
                        f"Population {node.owner!r}: dimension {dim.label!r} uses compensation "
                        f"{comp!r}, which is not defined.{did_you_mean(comp, choices)} "
                        f"Add it with with_spillover({comp!r}, Spillover(...)); known: {', '.join(choices)}."
                    )
        object.__setattr__(self, "_nodes", FrozenMap(nodes))
        object.__setattr__(self, "_order", _check_acyclic(nodes))

    # ------------------------------------------------------------------ lookup
    @property
    def names(self) -> tuple[str, ...]:
        """Names of the evaluable populations (quadrants expanded), in definition order."""
        return tuple(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Population]:
        return iter(self.populations)

    def __contains__(self, name: object) -> bool:
        return name in self._nodes or any(p.name == name for p in self.populations)

    def __getitem__(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        node = self._nodes.get(name)
        if node is not None:  # a quadrant region
            return Population(name, node.gate, node.parent)
        raise StrategyError(f"No population {name!r}.{did_you_mean(name, self._all_names())}")

    def _all_names(self) -> list[str]:
        return list(dict.fromkeys([*self._nodes, *(p.name for p in self.populations)]))

    def gate(self, name: str) -> Gate | Quadrant:
        """The gate of a population (a quadrant region's gate for quadrant names)."""
        return self[name].gate

    def parent(self, name: str) -> str | None:
        """The parent name of a population (None for a root)."""
        return self[name].parent

    def children(self, name: str | None) -> tuple[str, ...]:
        """Direct children of a population (``None``: the roots), quadrants expanded."""
        if name is not None and name not in self:
            raise StrategyError(f"No population {name!r}.{did_you_mean(name, self._all_names())}")
        return tuple(n.name for n in self._nodes.values() if n.parent == name)

    def ancestors(self, name: str) -> tuple[str, ...]:
        """Parent, grandparent, ... of a population."""
        out: list[str] = []
        parent = self.parent(name)
        while parent is not None:
            out.append(parent)
            parent = self.parent(parent)
        return tuple(out)

    @property
    def evaluation_order(self) -> tuple[str, ...]:
        """Evaluable population names with every dependency before its dependents."""
        return self._order

    # ------------------------------------------------------------------ editing
    def add(
        self,
        population: Population | str,
        gate: Gate | Quadrant | None = None,
        *,
        parent: str | None = None,
    ) -> GatingStrategy:
        """A new strategy with one more population (``add(Population(...))`` or ``add(name, gate, parent=...)``).

        Example
        -------
        >>> from bcsc_flow.gates import Range
        >>> GatingStrategy().add("x", Range("A", 0, 1)).names
        ('x',)
        """
        if isinstance(population, Population):
            if gate is not None or parent is not None:
                raise StrategyError("add(Population(...)) takes no gate or parent arguments.")
            pop = population
        else:
            if gate is None:
                raise StrategyError(f"add({population!r}): give a gate.")
            pop = Population(population, gate, parent)
        if pop.name in self:
            raise StrategyError(
                f"Duplicate population name {pop.name!r}; use replace({pop.name!r}, ...) to change it."
            )
        return GatingStrategy((*self.populations, pop), self.spillovers)

    def replace(
        self,
        population: Population | str,
        gate: Gate | Quadrant | None = None,
        *,
        parent: str | None = _KEEP,
    ) -> GatingStrategy:
        """A new strategy where one population's gate and/or parent is changed.

        Example
        -------
        >>> from bcsc_flow.gates import Range
        >>> st = GatingStrategy().add("x", Range("A", 0, 1)).replace("x", Range("A", 0, 5))
        >>> st["x"].gate.max
        5.0
        """
        name = population.name if isinstance(population, Population) else population
        index = next((i for i, p in enumerate(self.populations) if p.name == name), None)
        if index is None:
            raise StrategyError(
                f"replace: no population {name!r} (quadrant regions are replaced through their "
                f"quadrant population).{did_you_mean(name, [p.name for p in self.populations])}"
            )
        old = self.populations[index]
        if isinstance(population, Population):
            new = population
        else:
            new = Population(
                name, old.gate if gate is None else gate, old.parent if parent is _KEEP else parent
            )
        pops = list(self.populations)
        pops[index] = new
        return GatingStrategy(tuple(pops), self.spillovers)

    def remove(self, name: str, *, recursive: bool = False) -> GatingStrategy:
        """A new strategy without ``name`` (and its descendants when ``recursive``).

        Refuses if other populations still refer to it (children, or boolean operands).

        Example
        -------
        >>> from bcsc_flow.gates import Range
        >>> st = GatingStrategy().add("a", Range("A", 0, 2)).add("b", Range("A", 0, 1), parent="a")
        >>> st.remove("a", recursive=True).names
        ()
        """
        if not any(p.name == name for p in self.populations):
            raise StrategyError(
                f"remove: no population {name!r}.{did_you_mean(name, [p.name for p in self.populations])}"
            )
        gone = {name}
        if recursive:
            changed = True
            while changed:
                changed = False
                removed = gone | self._region_names(gone)
                for p in self.populations:
                    if p.name not in gone and p.parent in removed:
                        gone.add(p.name)
                        changed = True
        removed = gone | self._region_names(gone)
        kept = tuple(p for p in self.populations if p.name not in gone)
        blockers = [p.name for p in kept if (p.parent in removed) or (p.gate.references & removed)]
        if blockers:
            raise StrategyError(
                f"remove({name!r}): still used by {', '.join(repr(b) for b in blockers)} (as parent or "
                "boolean operand); remove those first or pass recursive=True for descendants."
            )
        return GatingStrategy(kept, self.spillovers)

    def _region_names(self, names: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for p in self.populations:
            if p.name in names and isinstance(p.gate, Quadrant):
                out |= set(p.gate.names)
        return out

    def with_spillover(self, name: str, spillover: Any) -> GatingStrategy:
        """A new strategy with a named spillover matrix added or replaced.

        Example
        -------
        >>> GatingStrategy().with_spillover("MySpill", object()).spillovers.keys() == {"MySpill"}
        True
        """
        return GatingStrategy(self.populations, {**self.spillovers, name: spillover})

    # ------------------------------------------------------------------ evaluation
    def apply(self, sample: Sample) -> GatingResult:
        """Evaluate every population on a sample; each needed column is computed once.

        Example
        -------
        >>> import numpy as np
        >>> from bcsc_flow.sample import Sample
        >>> from bcsc_flow.gates import Range
        >>> st = GatingStrategy().add("x", Range("A", 0, 1))
        >>> st.apply(Sample.from_array(np.array([[0.5], [2.0]]), ["A"])).mask("x").tolist()
        [True, False]
        """
        return evaluate(self, sample)

    # ------------------------------------------------------------------ display
    def _tree_lines(self, parent: str | None, depth: int, lines: list[str]) -> None:
        for p in self.populations:
            if p.parent != parent:
                continue
            pad = "  " * depth
            lines.append(f"{pad}{p.name}: {p.gate.describe()}")
            if isinstance(p.gate, Quadrant):
                for region in p.gate.regions():
                    lines.append(f"{pad}  {region.name}: {region.describe()}")
                    self._tree_lines(region.name, depth + 2, lines)
            else:
                self._tree_lines(p.name, depth + 1, lines)

    def __str__(self) -> str:
        head = f"GatingStrategy ({len(self)} population{'s' if len(self) != 1 else ''}"
        if self.spillovers:
            head += f"; spillover matrices: {', '.join(self.spillovers)}"
        lines = [head + ")"]
        self._tree_lines(None, 0, lines)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """HTML view for Jupyter."""
        from bcsc_flow.jupyter import strategy_html

        return strategy_html(self)

    def __repr__(self) -> str:
        return f"GatingStrategy({len(self)} populations: {', '.join(self.names)})"
