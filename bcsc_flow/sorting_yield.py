"""Sort outcome arithmetic: purity CI, enrichment, recovery, yield and sort efficiency.

Definitions follow DOMAIN.md §5.1 (Riddell et al. 2015 and common core-facility usage):

* **enrichment factor** = post-sort target % / pre-sort target %;
* **recovery %** = 100 × cells counted in the collection tube / the sorter's sort count;
* **yield %** = 100 × (cells in tube × purity) / (input events × pre-sort target fraction),
  where *input events* are the events of the same reference population (e.g. live
  singlets) that passed the sorter — the basis of ``pre_sort_pct``;
* **sort efficiency %** = 100 × sorted / (sorted + conflicts) from the sorter's counters;
* **depletion factor** = pre-sort target % / target % left in a fraction sorted *against*
  the target.

:func:`sort_summary` turns one row per sort into a tidy table with all of them.

Example
-------
>>> table = sort_summary(sort="HER2+ BCSC", pre_sort_pct=0.3, post_sort_purity_pct=95.0)
>>> round(float(table.loc[0, "enrichment_factor"]), 1)
316.7
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bcsc_flow.errors import SortingError

__all__ = [
    "PURITY_FLAG_PCT",
    "SUMMARY_COLUMNS",
    "YIELD_FLAG_PCT",
    "enrichment_factor",
    "recovery_pct",
    "sort_efficiency_pct",
    "sort_summary",
    "wilson_interval",
    "yield_pct",
]

PURITY_FLAG_PCT = 90.0
"""A sort whose purity is below this % is flagged in :func:`sort_summary`'s ``note``."""
YIELD_FLAG_PCT = 50.0
"""A sort whose yield is below this % is flagged in :func:`sort_summary`'s ``note``."""

_REQUIRED = ("pre_sort_pct", "post_sort_purity_pct")
_OPTIONAL = (
    "events_sorted",
    "cells_recovered",
    "input_events",
    "conflicts",
    "negative_fraction_pct",
)
_PERCENT = ("pre_sort_pct", "post_sort_purity_pct", "negative_fraction_pct")

SUMMARY_COLUMNS: tuple[str, ...] = (
    "sort",
    *_REQUIRED,
    *_OPTIONAL,
    "target_cells_recovered",
    "enrichment_factor",
    "recovery_pct",
    "yield_pct",
    "efficiency_pct",
    "depletion_factor",
    "note",
)
"""Columns of :func:`sort_summary` (extra input columns follow them, unchanged)."""


def wilson_interval(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion, in percent (0–100).

    Returns ``(nan, nan)`` when ``total`` is 0. Computed by
    :func:`bcsc_flow.compare.proportion_interval`.

    Example
    -------
    >>> low, high = wilson_interval(95, 100)
    >>> round(low, 2), round(high, 2)
    (88.82, 97.85)
    """
    from bcsc_flow.compare import proportion_interval

    if total <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= total:
        raise SortingError(
            f"wilson_interval: successes must be within 0..total, got {successes} of {total}."
        )
    low, high = proportion_interval(successes, total, alpha=1.0 - confidence, method="wilson")
    return (100.0 * float(low), 100.0 * float(high))


def enrichment_factor(pre_sort_pct: float, post_sort_pct: float) -> float:
    """Post-sort target % divided by pre-sort target %.

    Example
    -------
    >>> enrichment_factor(2.0, 96.0)
    48.0
    """
    return post_sort_pct / pre_sort_pct if pre_sort_pct > 0 else math.nan


def recovery_pct(cells_recovered: float, events_sorted: float) -> float:
    """Cells counted in the tube as % of the sorter's sort count.

    Example
    -------
    >>> recovery_pct(80_000, 100_000)
    80.0
    """
    return 100.0 * cells_recovered / events_sorted if events_sorted > 0 else math.nan


def yield_pct(
    cells_recovered: float, post_sort_purity_pct: float, input_events: float, pre_sort_pct: float
) -> float:
    """Target cells in the tube as % of the target cells that passed the sorter.

    Example
    -------
    >>> yield_pct(50_000, 90.0, 10_000_000, 0.6)   # 45,000 of 60,000 targets
    75.0
    """
    targets_in = input_events * pre_sort_pct / 100.0
    if targets_in <= 0:
        return math.nan
    return 100.0 * cells_recovered * post_sort_purity_pct / 100.0 / targets_in


def sort_efficiency_pct(events_sorted: float, conflicts: float) -> float:
    """Sorted events as % of sorted + conflicted (aborted) target events.

    Example
    -------
    >>> sort_efficiency_pct(78_000, 22_000)
    78.0
    """
    total = events_sorted + conflicts
    return 100.0 * events_sorted / total if total > 0 else math.nan


def _as_frame(sorts: pd.DataFrame | None, values: Mapping[str, Any]) -> pd.DataFrame:
    if sorts is not None and values:
        raise SortingError(
            f"sort_summary: give a table of sorts or keyword values, not both "
            f"(got a table and {sorted(values)})."
        )
    if sorts is None:
        if not values:
            raise SortingError(
                "sort_summary: nothing to summarise; give a DataFrame with one row per sort or "
                f"keyword values such as pre_sort_pct=0.3, post_sort_purity_pct=95 (needs {_REQUIRED})."
            )
        scalar = all(np.ndim(v) == 0 for v in values.values())
        return pd.DataFrame({k: [v] for k, v in values.items()} if scalar else dict(values))
    if not isinstance(sorts, pd.DataFrame):
        raise SortingError(
            f"sort_summary: expected a pandas DataFrame of sorts, got {type(sorts).__name__}."
        )
    return sorts.reset_index(drop=True).copy()


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise SortingError(
            f"sort_summary: column {column!r} must be numeric; row {row} holds "
            f"{frame[column].iloc[row]!r}."
        )
    negative = values < 0
    if column in _PERCENT:
        negative |= values > 100
    if negative.any():
        row = int(np.flatnonzero(negative.to_numpy())[0])
        span = "0–100 %" if column in _PERCENT else ">= 0"
        raise SortingError(
            f"sort_summary: column {column!r} must be {span}; row {row} holds {values.iloc[row]!r}."
        )
    return values.astype(float)


def _note(purity: float, yld: float) -> str:
    notes = []
    if purity < PURITY_FLAG_PCT:
        notes.append(f"purity < {PURITY_FLAG_PCT:g} %")
    if yld < YIELD_FLAG_PCT:
        notes.append(f"yield < {YIELD_FLAG_PCT:g} %")
    return "; ".join(notes)


def sort_summary(sorts: pd.DataFrame | None = None, /, **values: Any) -> pd.DataFrame:
    """One tidy row per sort: inputs plus enrichment, recovery, yield, efficiency and flags.

    Input columns (or keyword values; scalars give one row, sequences several):
    ``pre_sort_pct`` and ``post_sort_purity_pct`` (required, 0–100, same reference
    population, e.g. % of live singlets); optional ``sort`` (a name), ``events_sorted``
    (the sorter's sort count), ``cells_recovered`` (cells counted in the tube),
    ``input_events`` (reference events that passed the sorter), ``conflicts`` (sort
    conflicts/aborts) and ``negative_fraction_pct`` (target % left in a fraction sorted
    against the target). Quantities whose inputs are missing are NaN. ``note`` flags
    purity below 90 % and yield below 50 %. Other columns are copied unchanged.

    Example
    -------
    >>> t = sort_summary(pre_sort_pct=2.0, post_sort_purity_pct=96.0, events_sorted=100_000,
    ...                  cells_recovered=80_000, input_events=5_000_000)
    >>> t[["enrichment_factor", "recovery_pct", "yield_pct"]].round(1).iloc[0].tolist()
    [48.0, 80.0, 76.8]
    """
    frame = _as_frame(sorts, values)
    missing = [c for c in _REQUIRED if c not in frame]
    if missing:
        raise SortingError(
            f"sort_summary: missing column(s) {missing}; columns given: {list(frame.columns)}. "
            f"Each sort needs {list(_REQUIRED)}."
        )
    num = {c: _numeric(frame, c) for c in (*_REQUIRED, *_OPTIONAL)}
    for c in _REQUIRED:
        if num[c].isna().any():
            row = int(np.flatnonzero(num[c].isna().to_numpy())[0])
            raise SortingError(f"sort_summary: column {c!r} is empty in row {row}.")
    pre, purity = num["pre_sort_pct"], num["post_sort_purity_pct"]
    out = pd.DataFrame(index=frame.index)
    out["sort"] = frame["sort"] if "sort" in frame else [f"sort {i + 1}" for i in frame.index]
    for c in (*_REQUIRED, *_OPTIONAL):
        out[c] = num[c]
    out["target_cells_recovered"] = num["cells_recovered"] * purity / 100.0
    out["enrichment_factor"] = [enrichment_factor(a, b) for a, b in zip(pre, purity)]
    out["recovery_pct"] = [
        recovery_pct(r, s) for r, s in zip(num["cells_recovered"], num["events_sorted"])
    ]
    out["yield_pct"] = [
        yield_pct(r, p, i, f)
        for r, p, i, f in zip(num["cells_recovered"], purity, num["input_events"], pre)
    ]
    out["efficiency_pct"] = [
        sort_efficiency_pct(s, c) for s, c in zip(num["events_sorted"], num["conflicts"])
    ]
    neg = num["negative_fraction_pct"]
    out["depletion_factor"] = np.where(neg > 0, pre / neg.where(neg > 0), np.nan)
    out["note"] = [_note(p, y) for p, y in zip(purity, out["yield_pct"])]
    extra = [c for c in frame.columns if c not in out.columns]
    return pd.concat([out, frame[extra]], axis=1)
