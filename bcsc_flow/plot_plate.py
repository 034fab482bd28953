"""Plate map of an index sort: one circle per well, filled where a cell was sorted.

Input is the table of :func:`bcsc_flow.sorting.index_sort_positions` (``row``, ``col``,
``well`` and, when a gating result was given, one boolean column per population).

Example
-------
>>> import pandas as pd
>>> wells = pd.DataFrame({"event": [0, 1], "row": [0, 7], "col": [0, 11], "well": ["A1", "H12"]})
>>> ax = plate_plot(wells, plate=(8, 12))
>>> [t.get_text() for t in ax.get_yticklabels()][:2]
['A', 'B']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bcsc_flow.errors import SheetError
from bcsc_flow.plot_density import new_axes
from bcsc_flow.sorting_index import well_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plate_plot"]


def plate_plot(
    positions: pd.DataFrame,
    *,
    color_by: str | None = None,
    plate: tuple[int, int] | None = None,
    ax: Axes | None = None,
    cmap: str = "viridis",
) -> Axes:
    """Wells of a plate; sorted wells filled, coloured by ``color_by`` when given.

    ``color_by`` names a boolean column (a population: in = red, out = grey) or a numeric
    one (e.g. a marker's intensity, or an outcome joined per well) drawn with ``cmap``.
    ``plate`` is ``(rows, cols)``; by default the smallest of 96 and 384 wells that holds
    every position.

    Example
    -------
    >>> import pandas as pd
    >>> wells = pd.DataFrame({"row": [0, 0], "col": [0, 1], "well": ["A1", "A2"], "BCSC": [True, False]})
    >>> ax = plate_plot(wells, color_by="BCSC", plate=(8, 12))
    >>> len(ax.collections[1].get_offsets())
    2
    """
    for column in ("row", "col"):
        if column not in positions:
            raise SheetError(
                f"plate_plot: the table needs 'row' and 'col' columns (from "
                f"index_sort_positions); it has {list(positions.columns)}."
            )
    placed = positions.dropna(subset=["row", "col"])
    rows = placed["row"].to_numpy(dtype=np.int64)
    cols = placed["col"].to_numpy(dtype=np.int64)
    if plate is None:
        fits96 = (rows.max(initial=0) < 8) and (cols.max(initial=0) < 12)
        plate = (8, 12) if fits96 else (16, 24)
    n_rows, n_cols = plate
    ax = ax if ax is not None else new_axes((0.35 * n_cols + 1.2, 0.35 * n_rows + 0.8))
    grid_r, grid_c = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    ax.scatter(
        grid_c.ravel(), grid_r.ravel(), s=60, facecolor="none", edgecolor="0.75", linewidth=0.6
    )
    if color_by is None:
        ax.scatter(cols, rows, s=60, color="tab:blue")
    elif color_by not in placed:
        raise SheetError(
            f"plate_plot: no column {color_by!r} to colour by; columns are {list(positions.columns)}."
        )
    elif placed[color_by].dtype == bool:
        colors = np.where(placed[color_by].to_numpy(), "crimson", "0.6")
        ax.scatter(cols, rows, s=60, c=colors)
        ax.set_title(
            f"{color_by}: {int(placed[color_by].sum())} of {len(placed)} wells", fontsize="medium"
        )
    else:
        values = pd.to_numeric(placed[color_by], errors="coerce").to_numpy(dtype=np.float64)
        points = ax.scatter(cols, rows, s=60, c=values, cmap=cmap)
        ax.figure.colorbar(points, ax=ax, label=color_by, shrink=0.8)
    ax.set_xticks(range(n_cols), [str(c + 1) for c in range(n_cols)], fontsize="x-small")
    ax.set_yticks(range(n_rows), [well_name(r, 0)[:-1] for r in range(n_rows)], fontsize="x-small")
    ax.set_xlim(-0.7, n_cols - 0.3)
    ax.set_ylim(n_rows - 0.3, -0.7)  # row A at the top, as on the plate
    ax.set_aspect("equal")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    return ax
