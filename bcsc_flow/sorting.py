"""Sorting analysis: purity of sorted fractions, sort outcomes, planning, in-silico sorts.

============================  ============================================================
:func:`purity`                re-analyse a post-sort sample with the *frozen* sort gate
:func:`sort_summary`          enrichment, recovery, yield, efficiency per sort (a table)
:func:`plan_sort`             events and time needed for a target number of cells
:func:`export_population`     a population's events as a new FCS file, with provenance
:func:`index_sort_positions`  wells of index-sorted events (BD keywords)
:func:`sort_sheet`            sort-gate coordinates in raw and display units, for operators
============================  ============================================================

Purity follows DOMAIN.md §5.2: the post-sort sample is gated with the gates frozen on the
pre-sort sample (a :class:`~bcsc_flow.strategy.GatingStrategy` holds only frozen gates;
data-driven recipes are never re-fitted on a 95 %-positive sample, where valleys and
percentiles move and purity would be overestimated).

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.gates import Threshold
>>> from bcsc_flow.strategy import GatingStrategy
>>> st = GatingStrategy().add("HER2+", Threshold("HER2", above=1.0))
>>> post = Sample.from_array(np.r_[np.full(95, 2.0), np.zeros(5)][:, None], ["HER2"], name="tube")
>>> r = purity(post, "HER2+", st)
>>> r.purity_pct, r.n_target, r.n_reference
(95.0, 95, 100)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.errors import StrategyError, did_you_mean
from bcsc_flow.gates import Gate
from bcsc_flow.sorting_export import export_population
from bcsc_flow.sorting_index import index_sort_positions
from bcsc_flow.sorting_plan import plan_sort, theoretical_efficiency_pct
from bcsc_flow.sorting_sheet import sort_sheet
from bcsc_flow.sorting_yield import PURITY_FLAG_PCT, sort_summary, wilson_interval
from bcsc_flow.strategy import GatingStrategy, Population

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow.sample import Sample

__all__ = [
    "PurityResult",
    "export_population",
    "index_sort_positions",
    "plan_sort",
    "purity",
    "sort_sheet",
    "sort_summary",
    "theoretical_efficiency_pct",
    "wilson_interval",
]

_TARGET = "sort gate"


@dataclass(frozen=True)
class PurityResult:
    """Purity of one sorted fraction: target events among reference events, with a CI.

    ``contaminants`` lists ``(population, count)`` for the strategy's leaf populations
    among the reference events that are *not* target, largest first; ``unassigned``
    counts non-target reference events in no leaf population. ``viability_pct`` is the
    % of parent of the ``viability`` population when one was named.

    Example
    -------
    >>> r = PurityResult("tube", "HER2+", "live", 200, 190, 95.0, 91.0, 97.3, (("HER2-", 8),), 2)
    >>> r.row()["top_contaminant"], r.note
    ('HER2-', '')
    """

    sample: str
    population: str
    reference: str
    n_reference: int
    n_target: int
    purity_pct: float
    ci_low: float
    ci_high: float
    contaminants: tuple[tuple[str, int], ...] = ()
    unassigned: int = 0
    viability_pct: float = float("nan")
    confidence: float = 0.95

    @property
    def note(self) -> str:
        """``"purity < 90 %"`` when the purity is below the flag level, else ``""``."""
        return f"purity < {PURITY_FLAG_PCT:g} %" if self.purity_pct < PURITY_FLAG_PCT else ""

    def row(self) -> dict[str, Any]:
        """The tidy row: sample, population, reference, counts, purity, CI, contaminants, note."""
        top = self.contaminants[0] if self.contaminants and self.contaminants[0][1] > 0 else None
        listed = "; ".join(f"{name}: {count}" for name, count in self.contaminants if count > 0)
        return {
            "sample": self.sample,
            "population": self.population,
            "reference": self.reference,
            "n_reference": self.n_reference,
            "n_target": self.n_target,
            "purity_pct": self.purity_pct,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "top_contaminant": None if top is None else top[0],
            "top_contaminant_count": 0 if top is None else top[1],
            "contaminants": listed,
            "unassigned": self.unassigned,
            "viability_pct": self.viability_pct,
            "note": self.note,
        }

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of :meth:`row` (concatenate several with ``pd.concat``)."""
        import pandas as pd

        return pd.DataFrame([self.row()])

    def contaminant_table(self) -> pd.DataFrame:
        """``population, count, pct_of_reference`` for every contaminating leaf population."""
        import pandas as pd

        rows = [
            {
                "population": n,
                "count": c,
                "pct_of_reference": 100.0 * c / self.n_reference
                if self.n_reference
                else float("nan"),
            }
            for n, c in (*self.contaminants, ("(no leaf population)", self.unassigned))
        ]
        return pd.DataFrame(rows, columns=["population", "count", "pct_of_reference"])


def _strategy_for(
    target: Any, strategy: GatingStrategy | None, of: str | None
) -> tuple[GatingStrategy, str]:
    if strategy is not None and not isinstance(strategy, GatingStrategy):
        raise StrategyError(
            f"purity: strategy must be a frozen GatingStrategy, got {type(strategy).__name__}. "
            "Resolve a template's recipes on the pre-sort sample first and pass the resulting "
            "strategy; gates are never re-fitted on a sorted sample."
        )
    base = strategy if strategy is not None else GatingStrategy()
    if isinstance(target, str):
        if strategy is None:
            raise StrategyError(
                f"purity: population {target!r} is a name; pass the frozen strategy that defines it."
            )
        if target not in strategy:
            raise StrategyError(
                f"purity: no population {target!r} in the strategy."
                f"{did_you_mean(target, strategy.names)} Populations: {', '.join(strategy.names)}."
            )
        return strategy, target
    if isinstance(target, Population):
        if target.name in base:
            if base[target.name] != target:
                raise StrategyError(
                    f"purity: the strategy already has a different population {target.name!r}."
                )
            return base, target.name
        return base.add(target), target.name
    if isinstance(target, Gate):
        if of is not None and of not in base:
            raise StrategyError(
                f"purity: reference {of!r} is not a population of the strategy."
                f"{did_you_mean(of, base.names)}"
            )
        return base.add(_TARGET, target, parent=of), _TARGET
    raise StrategyError(
        f"purity: the sort gate must be a population name, a Population or a gate, got "
        f"{type(target).__name__}."
    )


def purity(
    post_sort_sample: Sample,
    gate_or_population: str | Population | Gate,
    strategy: GatingStrategy | None = None,
    *,
    of: str | None = None,
    viability: str | None = None,
    confidence: float = 0.95,
) -> PurityResult:
    """Purity of a sorted fraction, re-analysed with the frozen sort gate.

    ``gate_or_population`` is a population name of ``strategy``, a
    :class:`~bcsc_flow.strategy.Population` (its parent must be in ``strategy``) or a bare
    gate (applied within ``of``, else to all events; ``strategy`` supplies the upstream
    populations and named compensations). Purity is
    ``100 × target / reference`` where the reference is the population ``of`` — an
    ancestor of the target such as ``"live"`` (debris, doublets and dead cells out, as
    DOMAIN §5.1 defines purity) — or all events when ``of`` is None. The CI is Wilson's.
    Contaminants are the strategy's leaf populations among non-target reference events.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Range, Threshold
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = (GatingStrategy().add("cells", Range("FSC-A", 1, 10))
    ...       .add("HER2+", Threshold("HER2", above=1.0), parent="cells")
    ...       .add("HER2-", Threshold("HER2", below=1.0), parent="cells"))
    >>> ev = np.array([[5, 2.0]] * 90 + [[5, 0.0]] * 10 + [[0, 0.0]] * 50)  # 50 debris
    >>> r = purity(Sample.from_array(ev, ["FSC-A", "HER2"]), "HER2+", st, of="cells")
    >>> r.purity_pct, r.contaminants, r.unassigned
    (90.0, (('HER2-', 10),), 0)
    """
    full, target = _strategy_for(gate_or_population, strategy, of)
    if of is not None and of not in full.ancestors(target):
        raise StrategyError(
            f"purity: reference {of!r} is not an ancestor of {target!r}; purity is measured "
            f"within an ancestor: {list(full.ancestors(target)) or '(none: give of=None)'}."
        )
    result = full.apply(post_sort_sample)
    hit = result.mask(target)
    base = np.ones(len(post_sort_sample), dtype=bool) if of is None else result.mask(of)
    n_ref = int(np.count_nonzero(base))
    n_hit = int(np.count_nonzero(hit & base))
    low, high = wilson_interval(n_hit, n_ref, confidence)
    others = base & ~hit
    lineage = {target, *full.ancestors(target)}
    leaves = [
        n
        for n in result.names
        if not full.children(n) and n not in lineage and target not in full.ancestors(n)
    ]
    counts = [(n, int(np.count_nonzero(others & result.mask(n)))) for n in leaves]
    counts.sort(key=lambda item: -item[1])
    covered = np.zeros(len(post_sort_sample), dtype=bool)
    for n in leaves:
        covered |= result.mask(n)
    viable = float("nan")
    if viability is not None:
        viable = result.pct_of_parent(viability)
    return PurityResult(
        sample=post_sort_sample.name,
        population=target,
        reference=of or "all events",
        n_reference=n_ref,
        n_target=n_hit,
        purity_pct=100.0 * n_hit / n_ref if n_ref else float("nan"),
        ci_low=low,
        ci_high=high,
        contaminants=tuple(counts),
        unassigned=int(np.count_nonzero(others & ~covered)),
        viability_pct=viable,
        confidence=confidence,
    )
