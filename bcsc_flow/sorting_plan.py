"""Sort planning: how many events must pass the sorter, for how long, at what efficiency.

For a target of ``target_cells`` cells of a population present at ``fraction_pct`` % of
the events that pass the sorter, at an expected yield ``expected_yield_pct`` %::

    events_needed = target_cells / (fraction_pct / 100 × expected_yield_pct / 100)
    sort_time_min = events_needed / event_rate_per_s / 60

When the drop envelope is known, the theoretical efficiency of a Poisson arrival process
(Cossarizza et al. 2017, DOMAIN.md §5.1) is reported too::

    efficiency = exp(−rate × (1 − fraction) × drop_envelope / drop_frequency)

Example
-------
>>> plan = plan_sort(fraction_pct=0.3, target_cells=100_000, expected_yield_pct=80,
...                  event_rate_per_s=15_000)
>>> int(plan.loc[0, "events_needed"]), round(float(plan.loc[0, "sort_time_min"]), 1)
(41666667, 46.3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bcsc_flow.errors import SortingError

__all__ = ["PLAN_COLUMNS", "plan_sort", "theoretical_efficiency_pct"]

PLAN_COLUMNS: tuple[str, ...] = (
    "population",
    "fraction_pct",
    "basis",
    "target_cells",
    "expected_yield_pct",
    "events_needed",
    "event_rate_per_s",
    "sort_time_min",
    "efficiency_pct",
)
"""Columns of :func:`plan_sort` (grouping columns such as ``condition`` come first)."""


def theoretical_efficiency_pct(
    event_rate_per_s: float, fraction_pct: float, drop_envelope: float, drop_frequency_hz: float
) -> float:
    """Expected % of target events sorted without conflict (Poisson arrivals).

    Example
    -------
    >>> round(theoretical_efficiency_pct(20_000, 0.3, 1, 80_000), 1)   # DOMAIN §5.1
    77.9
    >>> round(theoretical_efficiency_pct(20_000, 0.3, 2, 80_000), 1)
    60.7
    """
    for name, value in (
        ("event_rate_per_s", event_rate_per_s),
        ("drop_envelope", drop_envelope),
        ("drop_frequency_hz", drop_frequency_hz),
    ):
        if not value > 0:
            raise SortingError(f"theoretical_efficiency_pct: {name} must be > 0, got {value!r}.")
    f = fraction_pct / 100.0
    return 100.0 * math.exp(-event_rate_per_s * (1.0 - f) * drop_envelope / drop_frequency_hz)


def _positive(name: str, value: float | None, *, upper: float | None = None) -> None:
    if value is None:
        return
    ok = value > 0 and (upper is None or value <= upper)
    if not ok:
        span = f"in (0, {upper:g}]" if upper is not None else "> 0"
        raise SortingError(f"plan_sort: {name} must be {span}, got {value!r}.")


def _fractions_from_table(
    populations: pd.DataFrame, population: str | Sequence[str] | None, by: Sequence[str], basis: str
) -> pd.DataFrame:
    need = ["population", basis]
    missing = [c for c in [*need, *by] if c not in populations]
    if missing:
        raise SortingError(
            f"plan_sort: the populations table lacks column(s) {missing}; it has "
            f"{list(populations.columns)}. Use by=[...] and basis=... naming existing columns."
        )
    table = populations
    if population is not None:
        wanted = [population] if isinstance(population, str) else list(population)
        known = set(table["population"].astype(str))
        unknown = [p for p in wanted if p not in known]
        if unknown:
            raise SortingError(
                f"plan_sort: population(s) {unknown} not in the table; it has {sorted(known)}."
            )
        table = table[table["population"].isin(wanted)]
    keys = [*by, "population"]
    grouped = table.groupby(keys, sort=False, dropna=False)[basis]
    out = grouped.agg(["mean", "min", "count"]).reset_index()
    return out.rename(
        columns={"mean": "fraction_pct", "min": "min_fraction_pct", "count": "n_samples"}
    )


def plan_sort(
    populations: pd.DataFrame | None = None,
    *,
    population: str | Sequence[str] | None = None,
    fraction_pct: float | None = None,
    target_cells: float,
    expected_yield_pct: float = 70.0,
    event_rate_per_s: float | None = None,
    by: str | Sequence[str] = "condition",
    basis: str = "pct_of_total",
    drop_envelope: float | None = None,
    drop_frequency_hz: float | None = None,
) -> pd.DataFrame:
    """Events needed (and time) to collect ``target_cells`` cells of a population.

    Either give ``fraction_pct`` (the population's % of the events that pass the sorter)
    or a tidy ``populations`` table (``bf.gate_folder(...).populations``): its ``basis``
    column (default ``pct_of_total``, i.e. % of all acquired events, which is what the
    sorter's event rate counts) is averaged over the samples of each ``by`` group (default
    ``condition``), one row per group × population; ``min_fraction_pct`` and ``n_samples``
    are added so the least favourable replicate can be planned for too. With
    ``basis="pct_of_parent"`` or a fraction of live cells, ``events_needed`` counts events
    of that reference population, not all events.

    ``sort_time_min`` needs ``event_rate_per_s``; ``efficiency_pct`` needs
    ``event_rate_per_s``, ``drop_envelope`` (drops per sort decision) and
    ``drop_frequency_hz``. The expected yield is *not* reduced by the efficiency: give a
    yield that already includes it, or compare the two columns.

    Example
    -------
    >>> import pandas as pd
    >>> pops = pd.DataFrame({"condition": ["untreated", "untreated", "irradiated"],
    ...                      "population": ["HER2+ BCSC"] * 3,
    ...                      "pct_of_total": [0.2, 0.4, 2.0]})
    >>> plan = plan_sort(pops, target_cells=100_000, expected_yield_pct=50)
    >>> plan[["condition", "events_needed"]].values.tolist()
    [['untreated', 66666667], ['irradiated', 10000000]]
    """
    _positive("target_cells", target_cells)
    _positive("expected_yield_pct", expected_yield_pct, upper=100.0)
    _positive("event_rate_per_s", event_rate_per_s)
    if (populations is None) == (fraction_pct is None):
        raise SortingError(
            "plan_sort: give either a populations table or fraction_pct= (one of them, not both)."
        )
    if populations is not None:
        by_cols = [by] if isinstance(by, str) else list(by)
        by_cols = [c for c in by_cols if c in populations] if by == "condition" else by_cols
        rows = _fractions_from_table(populations, population, by_cols, basis)
        rows.insert(len(by_cols) + 2, "basis", basis)
    else:
        _positive("fraction_pct", fraction_pct, upper=100.0)
        name = population if isinstance(population, str) else "target"
        rows = pd.DataFrame(
            {"population": [name], "fraction_pct": [fraction_pct], "basis": ["given"]}
        )
    fractions = rows["fraction_pct"].astype(float)
    if (fractions <= 0).any():
        zero = rows.loc[fractions <= 0, "population"].tolist()
        raise SortingError(
            f"plan_sort: population(s) {zero} have a fraction of 0 %; no number of events "
            "would collect them. Check the gate or give fraction_pct."
        )
    rows["target_cells"] = target_cells
    rows["expected_yield_pct"] = float(expected_yield_pct)
    needed = target_cells / (fractions / 100.0 * expected_yield_pct / 100.0)
    needed = np.ceil(needed.round(6))  # no extra event from floating-point noise
    rows["events_needed"] = needed.astype(np.int64)
    rows["event_rate_per_s"] = np.nan if event_rate_per_s is None else float(event_rate_per_s)
    rows["sort_time_min"] = rows["events_needed"] / rows["event_rate_per_s"] / 60.0
    if event_rate_per_s and drop_envelope and drop_frequency_hz:
        rows["efficiency_pct"] = [
            theoretical_efficiency_pct(event_rate_per_s, f, drop_envelope, drop_frequency_hz)
            for f in fractions
        ]
    else:
        rows["efficiency_pct"] = np.nan
    return rows
