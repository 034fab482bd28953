"""Evaluating a gating strategy on a sample, and the result: masks, counts, percentages.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.gates import Range
>>> from bcsc_flow.strategy import GatingStrategy
>>> st = GatingStrategy().add("a", Range("A", 0, 1)).add("b", Range("A", 5, 6), parent="a")
>>> res = st.apply(Sample.from_array(np.array([[0.5], [2.0]]), ["A"]))
>>> res.populations[["population", "parent", "count", "parent_count", "pct_of_parent"]].to_string(index=False)
'population parent  count  parent_count  pct_of_parent\\n         a   None      1             2           50.0\\n         b      a      0             1            0.0'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow._evaluation import EvaluationContext
from bcsc_flow.errors import StrategyError, did_you_mean
from bcsc_flow.frozen import FrozenMap

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow.sample import Sample
    from bcsc_flow.strategy import GatingStrategy

__all__ = ["GatingResult", "evaluate", "POPULATION_COLUMNS"]

POPULATION_COLUMNS = (
    "population",
    "parent",
    "count",
    "parent_count",
    "total_count",
    "pct_of_parent",
    "pct_of_total",
)


def evaluate(strategy: GatingStrategy, sample: Sample) -> GatingResult:
    """Final masks of every population of ``strategy`` on ``sample`` (see GatingStrategy.apply).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = GatingStrategy().add("a", Range("A", 0, 1))
    >>> evaluate(st, Sample.from_array(np.array([[0.5]]), ["A"])).count("a")
    1
    """
    masks: dict[str, np.ndarray] = {}

    def resolve(name: str) -> np.ndarray:
        try:
            return masks[name]
        except KeyError:  # pragma: no cover - the evaluation order prevents this
            raise StrategyError(f"Population {name!r} used before it was evaluated.") from None

    context = EvaluationContext(sample, strategy.spillovers, resolve=resolve)
    nodes = strategy._nodes
    for name in strategy.evaluation_order:
        node = nodes[name]
        own = context.region(node.gate)
        if own.shape != (len(sample),):
            raise StrategyError(
                f"Population {name!r}: gate returned shape {own.shape}, expected ({len(sample)},)."
            )
        if node.parent is not None:
            own = own & masks[node.parent]
            own.flags.writeable = False
        masks[name] = own
    ordered = {name: masks[name] for name in _display_order(strategy)}
    return GatingResult(
        strategy=strategy, sample=sample, masks=FrozenMap(ordered), _context=context
    )


def _display_order(strategy: GatingStrategy) -> list[str]:
    """Evaluable names depth-first from the roots, siblings in definition order."""
    out: list[str] = []

    def walk(parent: str | None) -> None:
        for child in strategy.children(parent):
            out.append(child)
            walk(child)

    walk(None)
    return out


@dataclass(frozen=True, eq=False)
class GatingResult:
    """Masks of every population of a strategy on one sample, with counts and percentages.

    Percentages are 0–100; a percentage of an empty parent (or of an empty sample) is
    NaN, not 0.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = GatingStrategy().add("none", Range("A", 5, 6)).add("child", Range("A", 0, 9), parent="none")
    >>> res = st.apply(Sample.from_array(np.array([[1.0]]), ["A"]))
    >>> res.count("child"), res.pct_of_parent("child"), res.pct_of_total("none")
    (0, nan, 0.0)
    """

    strategy: GatingStrategy
    sample: Sample
    masks: Mapping[str, np.ndarray]
    _context: EvaluationContext | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_context"] = None  # caches stay behind; rebuilt on demand after unpickling
        return state

    @property
    def context(self) -> EvaluationContext:
        """The evaluation context of this apply: every compensated and transformed column
        computed for the gates, reused by statistics and plots instead of recomputed."""
        if self._context is None:
            object.__setattr__(
                self, "_context", EvaluationContext(self.sample, self.strategy.spillovers)
            )
        return self._context  # type: ignore[return-value]

    @property
    def names(self) -> tuple[str, ...]:
        """Population names in tree order."""
        return tuple(self.masks)

    @property
    def total_count(self) -> int:
        """Number of events in the sample."""
        return len(self.sample)

    def _check(self, name: str) -> None:
        if name not in self.masks:
            extra = ""
            pop = next((p for p in self.strategy.populations if p.name == name), None)
            if pop is not None:  # a quadrant container
                names = ", ".join(getattr(pop.gate, "names", ()))
                extra = f" {name!r} is a quadrant gate; use one of its quadrants: {names}."
            raise StrategyError(
                f"No population {name!r} in this result.{extra or did_you_mean(name, self.masks)}"
                f"{'' if extra else ' Populations: ' + ', '.join(self.masks) + '.'}"
            )

    def mask(self, name: str) -> np.ndarray:
        """Read-only boolean membership of a population, its parents already applied."""
        self._check(name)
        return self.masks[name]

    def parent(self, name: str) -> str | None:
        """The parent population's name (None for a root)."""
        self._check(name)
        return self.strategy.parent(name)

    def count(self, name: str) -> int:
        """Number of events in a population."""
        return int(np.count_nonzero(self.mask(name)))

    def parent_count(self, name: str) -> int:
        """Number of events in the parent (all events for a root population)."""
        parent = self.parent(name)
        return self.total_count if parent is None else self.count(parent)

    def pct_of_parent(self, name: str) -> float:
        """100 × count / parent count; NaN when the parent is empty."""
        denominator = self.parent_count(name)
        return math.nan if denominator == 0 else 100.0 * self.count(name) / denominator

    def pct_of_total(self, name: str) -> float:
        """100 × count / all events; NaN for an empty sample."""
        total = self.total_count
        return math.nan if total == 0 else 100.0 * self.count(name) / total

    def events(self, name: str) -> Sample:
        """A new sample with only the events of a population."""
        return self.sample.subset(self.mask(name))

    def table(self) -> pd.DataFrame:
        """Tidy table, one row per population: ``population, parent, count, parent_count,
        total_count, pct_of_parent, pct_of_total``."""
        import pandas as pd

        counts = {name: int(np.count_nonzero(m)) for name, m in self.masks.items()}
        total = self.total_count
        rows: list[dict[str, Any]] = []
        for name in self.masks:
            parent = self.strategy.parent(name)
            pc = total if parent is None else counts[parent]
            rows.append(
                {
                    "population": name,
                    "parent": parent,
                    "count": counts[name],
                    "parent_count": pc,
                    "total_count": total,
                    "pct_of_parent": math.nan if pc == 0 else 100.0 * counts[name] / pc,
                    "pct_of_total": math.nan if total == 0 else 100.0 * counts[name] / total,
                }
            )
        frame = pd.DataFrame(rows, columns=list(POPULATION_COLUMNS))
        return frame.astype({"count": "int64", "parent_count": "int64", "total_count": "int64"})

    @property
    def populations(self) -> pd.DataFrame:
        """Same as :meth:`table`."""
        return self.table()

    def _repr_html_(self) -> str:
        """HTML view for Jupyter."""
        from bcsc_flow.jupyter import result_html

        return result_html(self)

    def __repr__(self) -> str:
        return f"GatingResult({self.sample.name!r}, {len(self.masks)} populations, {self.total_count} events)"
