"""Index sorting: which plate well each sorted event went to, read from FCS keywords.

Format parsed (BD FACSDiva / FACSAria / FACSymphony index-sort files; the same layout is
read by flowCore's ``getIndexSort`` and by several public scripts):

* ``INDEX SORTING LOCATIONS_1``, ``INDEX SORTING LOCATIONS_2``, … — the numbered pieces
  of one list (split only because of keyword-length limits). They are joined in the
  order of their number. The list is ``;``-separated entries ``row,col``: zero-based
  row and column of the well, one entry per sorted event, **in event order** (entry *i*
  belongs to event *i* of the data set). A trailing ``;`` is allowed.
* ``INDEX SORTING DEVICE_DIMENSION`` — the plate as ``rows,cols`` (``16,24`` for 384
  wells; ``rows:cols`` and ``rowsxcols`` are accepted too). Optional.
* ``INDEX SORTING SORTED LOCATION COUNT`` — number of entries. Optional, checked.

Keyword names match case-insensitively. Problems never raise: a malformed entry keeps
its event's place with no well, and every problem (gap in the numbering, count or plate
mismatch, more entries than events) is reported with an :class:`FCSWarning`.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> s = Sample.from_array(np.zeros((3, 1)), ["FSC-A"],
...     keywords={"INDEX SORTING LOCATIONS_1": "0,0;0,1;", "INDEX SORTING LOCATIONS_2": "7,11;"})
>>> index_sort_positions(s)["well"].tolist()
['A1', 'A2', 'H12']
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bcsc_flow.errors import FCSWarning, StrategyError, warn

if TYPE_CHECKING:
    from bcsc_flow.sample import Sample

__all__ = ["INDEX_COLUMNS", "index_sort_positions", "plate_dimension", "well_name"]

INDEX_COLUMNS: tuple[str, ...] = ("event", "row", "col", "well")
"""Columns of :func:`index_sort_positions` (population columns follow when asked)."""

_LOCATIONS = re.compile(r"^\s*INDEX SORTING LOCATIONS_(\d+)\s*$", re.IGNORECASE)
_DIMENSION = "INDEX SORTING DEVICE_DIMENSION"
_COUNT = "INDEX SORTING SORTED LOCATION COUNT"


def well_name(row: int, col: int) -> str:
    """Plate well name of a zero-based row and column: rows A–Z, then AA, AB, …

    Example
    -------
    >>> well_name(0, 0), well_name(15, 23), well_name(27, 0)
    ('A1', 'P24', 'AB1')
    """
    letters = ""
    r = row
    while True:
        letters = chr(ord("A") + r % 26) + letters
        r = r // 26 - 1
        if r < 0:
            break
    return f"{letters}{col + 1}"


def plate_dimension(sample: Sample) -> tuple[int, int] | None:
    """``(rows, cols)`` from ``INDEX SORTING DEVICE_DIMENSION``, or None (warns if malformed).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> s = Sample.from_array(np.zeros((1, 1)), ["A"], keywords={_DIMENSION: "16,24"})
    >>> plate_dimension(s)
    (16, 24)
    """
    text = sample.keywords.get(_DIMENSION)
    if text is None:
        return None
    parts = [p for p in re.split(r"[,:xX;\s]+", text.strip()) if p]
    if len(parts) == 2 and all(p.isdigit() and int(p) > 0 for p in parts):
        return (int(parts[0]), int(parts[1]))
    warn(
        f"Sample {sample.name!r}: {_DIMENSION} is {text!r}, expected 'rows,cols' such as "
        "'16,24'; the plate size is ignored.",
        FCSWarning,
    )
    return None


def _location_text(sample: Sample) -> str:
    pieces: dict[int, str] = {}
    for key, value in sample.keywords.items():
        match = _LOCATIONS.match(key)
        if match:
            pieces[int(match.group(1))] = value
    if not pieces:
        return ""
    numbers = sorted(pieces)
    expected = list(range(numbers[0], numbers[0] + len(numbers)))
    if numbers[0] != 1 or numbers != expected:
        warn(
            f"Sample {sample.name!r}: INDEX SORTING LOCATIONS keywords are numbered {numbers}, "
            "expected 1, 2, 3, … without gaps; joined in numeric order, so events after a gap "
            "may be matched to the wrong wells.",
            FCSWarning,
        )
    # Each piece normally ends with ';', but do not let a missing one glue two entries.
    return ";".join(pieces[n].strip().rstrip(";") for n in numbers)


def _parse_entries(sample: Sample, text: str) -> tuple[list[int], list[int]]:
    entries = [e.strip() for e in text.split(";")]
    rows: list[int] = []
    cols: list[int] = []
    bad: list[str] = []
    empty = 0
    for entry in entries:
        if not entry:
            empty += 1
            continue
        parts = [p.strip() for p in entry.split(",")]
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            rows.append(int(parts[0]))
            cols.append(int(parts[1]))
        else:
            rows.append(-1)
            cols.append(-1)
            bad.append(entry)
    if bad:
        warn(
            f"Sample {sample.name!r}: {len(bad)} INDEX SORTING LOCATIONS entries are not "
            f"'row,col' pairs of non-negative integers (first: {bad[0]!r}); those events get no well.",
            FCSWarning,
        )
    if empty:
        warn(
            f"Sample {sample.name!r}: {empty} empty INDEX SORTING LOCATIONS entries (';;') were "
            "skipped; check that events and wells still line up.",
            FCSWarning,
        )
    return rows, cols


def _check_count(sample: Sample, n_locations: int) -> None:
    declared = sample.keywords.get(_COUNT)
    if declared is None:
        return
    text = declared.strip()
    if not text.isdigit() or int(text) != n_locations:
        warn(
            f"Sample {sample.name!r}: {_COUNT} is {declared!r} but {n_locations} locations "
            "were found.",
            FCSWarning,
        )


def index_sort_positions(sample: Sample, result: Any = None) -> pd.DataFrame:
    """One row per index-sorted event: ``event`` (0-based), ``row``, ``col`` (0-based), ``well``.

    Returns an empty table (same columns) when the sample has no index-sort keywords.
    Events whose entry is malformed have ``row``/``col`` ``<NA>`` and ``well`` None.
    With a :class:`~bcsc_flow.strategy.GatingResult` of the same sample as ``result``,
    one boolean column per population says which gates each sorted cell was in, so per-well
    outcomes (sphere formed, clone grew) can be joined and modelled against phenotype.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> s = Sample.from_array(np.zeros((2, 1)), ["FSC-A"],
    ...                       keywords={"index sorting locations_1": "1,2;3,4"})
    >>> index_sort_positions(s).to_dict("list")
    {'event': [0, 1], 'row': [1, 3], 'col': [2, 4], 'well': ['B3', 'D5']}
    """
    if result is not None and result.total_count != len(sample):
        raise StrategyError(
            f"index_sort_positions: the gating result has {result.total_count} events but "
            f"sample {sample.name!r} has {len(sample)}; gate this sample."
        )
    text = _location_text(sample)
    rows, cols = _parse_entries(sample, text) if text else ([], [])
    _check_count(sample, len(rows))
    n_events = len(sample)
    if len(rows) > n_events:
        warn(
            f"Sample {sample.name!r}: {len(rows)} index-sort locations but only {n_events} "
            f"events; the last {len(rows) - n_events} locations are ignored.",
            FCSWarning,
        )
        rows, cols = rows[:n_events], cols[:n_events]
    elif 0 < len(rows) < n_events:
        warn(
            f"Sample {sample.name!r}: {n_events} events but {len(rows)} index-sort locations; "
            f"the first {len(rows)} events are matched to them in order.",
            FCSWarning,
        )
    plate = plate_dimension(sample)
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    valid = r >= 0
    if plate is not None and valid.any():
        outside = valid & ((r >= plate[0]) | (c >= plate[1]))
        if outside.any():
            k = int(np.flatnonzero(outside)[0])
            warn(
                f"Sample {sample.name!r}: {int(outside.sum())} index-sort locations lie outside "
                f"the {plate[0]}x{plate[1]} plate (first: event {k}, row {r[k]}, col {c[k]}).",
                FCSWarning,
            )
    table = pd.DataFrame(
        {
            "event": np.arange(len(rows), dtype=np.int64),
            "row": pd.array(np.where(valid, r, 0), dtype="Int64"),
            "col": pd.array(np.where(valid, c, 0), dtype="Int64"),
            "well": [well_name(a, b) if ok else None for a, b, ok in zip(rows, cols, valid)],
        }
    )
    table.loc[~valid, ["row", "col"]] = pd.NA
    if result is not None:
        for name in result.names:
            table[name] = np.asarray(result.mask(name))[: len(table)]
    return table
