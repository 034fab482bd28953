"""Shared pieces of the recipes: provenance records, the thresholds table, column access.

Example
-------
>>> Provenance("density_valley", "per_sample", "DAPI-A", "valley between peaks", 900.0).recipe
'density_valley'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from bcsc_flow.dimensions import Dimension, as_dimension
from bcsc_flow.errors import RecipeError
from bcsc_flow.gates import Threshold, context_for

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow.sample import Sample

__all__ = [
    "SCOPES",
    "THRESHOLD_COLUMNS",
    "Provenance",
    "Scope",
    "Side",
    "column",
    "dim_of",
    "from_gate_scale",
    "source_name",
    "threshold",
    "thresholds_frame",
    "to_gate_scale",
]

Scope = Literal["per_sample", "per_batch", "fixed"]
Side = Literal["above", "below"]
SCOPES: tuple[str, ...] = ("per_sample", "per_batch", "fixed")

THRESHOLD_COLUMNS: tuple[str, ...] = (
    "sample",
    "population",
    "recipe",
    "scope",
    "channel",
    "statistic",
    "value",
    "gate_value",
    "control_role",
    "control_file",
    "control_events",
    "events",
    "note",
)
"""Columns of the thresholds table (``sample`` and ``population`` filled by the caller)."""


@dataclass(frozen=True)
class Provenance:
    """Where a resolved gate came from: recipe, statistic, value, control and event counts.

    ``value`` is in data units (compensated scale values) when the statistic is one
    number; ``gate_value`` is the same on the gate's (transformed) axis. ``control_events``
    is the number of control events in the population the statistic was taken in.

    Example
    -------
    >>> Provenance("control_quantile", "per_batch", "APC-A", "q=0.995", 480.0).row()["value"]
    480.0
    """

    recipe: str
    scope: str
    channel: str
    statistic: str
    value: float | None = None
    gate_value: float | None = None
    control_role: str | None = None
    control_file: str | None = None
    control_events: int | None = None
    events: int | None = None
    note: str = ""

    def row(self, **extra: Any) -> dict[str, Any]:
        """This provenance as one thresholds-table row (plus ``extra`` columns)."""
        out = {name: getattr(self, name, None) for name in THRESHOLD_COLUMNS}
        out.update(extra)
        return out


def thresholds_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A thresholds table (columns :data:`THRESHOLD_COLUMNS` first) from provenance rows.

    Example
    -------
    >>> thresholds_frame([]).columns[:3].tolist()
    ['sample', 'population', 'recipe']
    """
    import pandas as pd

    frame = pd.DataFrame(rows)
    for name in THRESHOLD_COLUMNS:
        if name not in frame.columns:
            frame[name] = pd.Series(dtype=object)
    extra = [c for c in frame.columns if c not in THRESHOLD_COLUMNS]
    return frame[list(THRESHOLD_COLUMNS) + extra]


def column(data: Sample, dimension: Dimension, *, transformed: bool = True) -> np.ndarray:
    """The values of ``dimension`` over ``data`` (compensated; transformed unless told not).

    Example
    -------
    >>> from bcsc_flow.sample import Sample
    >>> column(Sample.from_array([[3.0]], ["A"]), Dimension("A")).tolist()
    [3.0]
    """
    dim = dimension if transformed else Dimension(dimension.channel, None, dimension.compensation)
    return np.asarray(context_for(data).column(dim), dtype=np.float64)


def source_name(sample: Sample) -> str:
    """The file name of a sample (or its name when it has no file)."""
    return str(sample.path.name) if getattr(sample, "path", None) else sample.name


def threshold(dim: Dimension, side: str, value: float) -> Threshold:
    """``Threshold(dim, above=value)`` or ``below=value``."""
    if side not in ("above", "below"):
        raise RecipeError(f"side must be 'above' or 'below', got {side!r}.")
    return Threshold(dim, **{side: float(value)})


def to_gate_scale(dim: Dimension, value: float) -> float:
    """A data-unit value on the dimension's (transformed) axis."""
    if dim.transform is None:
        return float(value)
    return float(np.asarray(dim.transform(np.array([value], dtype=np.float64)))[0])


def from_gate_scale(dim: Dimension, value: float) -> float:
    """A value on the dimension's axis back in data units."""
    if dim.transform is None:
        return float(value)
    return float(np.asarray(dim.transform.inverse(np.array([value], dtype=np.float64)))[0])


def dim_of(value: str | Dimension) -> Dimension:
    """A plain :class:`Dimension` from a channel name or a Dimension."""
    dim = as_dimension(value)
    if not isinstance(dim, Dimension):
        raise RecipeError(f"recipes work on plain channel dimensions, got {dim!r}.")
    return dim
