"""Ground truth: true population membership per event, per-sample tables, and truth files.

True membership of the populations of the built-in BCSC template (ARCHITECTURE §5):

=============  ========  =====================================================================
population     parent    an event belongs when
=============  ========  =====================================================================
cells          root      it is not debris (and not a bead)
singlets       cells     it is a cell and not a doublet
live           singlets  it is a singlet and not a dead cell
BCSC           live      it is live and its phenotype state is CD44+ and CD24-/low
HER2+ BCSC     BCSC      it is BCSC and its state is HER2+
HER2- BCSC     BCSC      it is BCSC and its state is not HER2+
HER2+          live      it is live and HER2+
ALDH+          live      it is live and ALDH-bright (its state; DEAB does not change truth)
ALDH+ BCSC     BCSC      it is BCSC and ALDH-bright
=============  ========  =====================================================================

"State" is the drawn phenotype, not a thresholded signal: a truly HER2+ cell stays HER2+
even when its signal falls below any threshold. Per-event truth files are ``.npz``
archives (written deterministically: fixed zip timestamps) with the arrays
``event_class`` (uint8 codes, see :data:`~bcsc_flow.simulate.events.CLASS_NAMES`),
``cd44_pos``, ``cd24_low``, ``her2_pos``, ``aldh_bright`` (bool), ``class_names``
and, where relevant, ``bead_positive`` / ``in_clog``; :func:`read_event_truth` loads one.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.simulate.events import EventTruth, LIVE
>>> t = EventTruth.empty(4)
>>> t.event_class[:] = LIVE
>>> t.cd44_pos[:2] = True; t.cd24_low[:] = True
>>> population_masks(t)["BCSC"].sum()
np.int64(2)
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from bcsc_flow.simulate.events import BEAD, CLASS_NAMES, DEAD, DEBRIS, DOUBLET, EventTruth

__all__ = [
    "TRUTH_POPULATIONS",
    "population_masks",
    "truth_rows",
    "write_event_truth",
    "read_event_truth",
]

TRUTH_POPULATIONS: tuple[tuple[str, str], ...] = (
    ("cells", "root"),
    ("singlets", "cells"),
    ("live", "singlets"),
    ("BCSC", "live"),
    ("HER2+ BCSC", "BCSC"),
    ("HER2- BCSC", "BCSC"),
    ("HER2+", "live"),
    ("ALDH+", "live"),
    ("ALDH+ BCSC", "BCSC"),
)
"""(population, parent) pairs of the built-in BCSC template, in tree order."""


def population_masks(truth: EventTruth) -> dict[str, np.ndarray]:
    """Boolean true-membership mask of every population (plus ``root``), by name.

    Example
    -------
    >>> sorted(population_masks(EventTruth.empty(2)))[:3]
    ['ALDH+', 'ALDH+ BCSC', 'BCSC']
    """
    cls = truth.event_class
    cells = (cls != DEBRIS) & (cls != BEAD)
    singlets = cells & (cls != DOUBLET)
    live = singlets & (cls != DEAD)
    bcsc = live & truth.cd44_pos & truth.cd24_low
    return {
        "root": np.ones(cls.shape, dtype=bool),
        "cells": cells,
        "singlets": singlets,
        "live": live,
        "BCSC": bcsc,
        "HER2+ BCSC": bcsc & truth.her2_pos,
        "HER2- BCSC": bcsc & ~truth.her2_pos,
        "HER2+": live & truth.her2_pos,
        "ALDH+": live & truth.aldh_bright,
        "ALDH+ BCSC": bcsc & truth.aldh_bright,
    }


def truth_rows(truth: EventTruth) -> list[dict[str, object]]:
    """One row per population: counts and the true percentage of the parent (0–100).

    Example
    -------
    >>> truth_rows(EventTruth.empty(5))[0]["true_parent_count"]
    5
    """
    masks = population_masks(truth)
    rows: list[dict[str, object]] = []
    for name, parent in TRUTH_POPULATIONS:
        count = int(masks[name].sum())
        parent_count = int(masks[parent].sum())
        pct = 100.0 * count / parent_count if parent_count else float("nan")
        rows.append(
            {
                "population": name,
                "parent": parent,
                "true_count": count,
                "true_parent_count": parent_count,
                "true_pct_of_parent": pct,
            }
        )
    return rows


def write_event_truth(path: str | Path, truth: EventTruth) -> Path:
    """Save per-event truth as a deterministic ``.npz`` (same truth → same bytes).

    Example
    -------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     a = write_event_truth(os.path.join(d, "a.npz"), EventTruth.empty(3)).read_bytes()
    ...     b = write_event_truth(os.path.join(d, "b.npz"), EventTruth.empty(3)).read_bytes()
    >>> a == b
    True
    """
    out = Path(path)
    arrays = {**truth.arrays(), "class_names": np.array(CLASS_NAMES)}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    return out


def read_event_truth(path: str | Path) -> EventTruth:
    """Load a per-event truth file written by the simulator.

    Example
    -------
    >>> import tempfile, os
    >>> t = EventTruth.empty(3)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = read_event_truth(write_event_truth(os.path.join(d, "t.npz"), t))
    >>> back.event_class.tolist()
    [0, 0, 0]
    """
    with np.load(Path(path), allow_pickle=False) as z:
        base = [z[k] for k in ("event_class", "cd44_pos", "cd24_low", "her2_pos", "aldh_bright")]
        extra = {
            k: z[k] for k in z.files if k not in {*EventTruth.empty(0).arrays(), "class_names"}
        }
    return EventTruth(*base, extra=extra)
