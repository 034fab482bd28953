"""Design and data checks behind the ``note`` column of :func:`bcsc_flow.compare.compare`.

Each check returns :class:`Note` values: a short ``kind`` used to group warnings and a
sentence for the ``note`` column that names the samples or numbers involved.

Example
-------
>>> import numpy as np
>>> [n.kind for n in replicate_notes(2, 3)]
['few_replicates']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bcsc_flow.compare._models import haldane_logit

__all__ = [
    "MIN_PARENT_EVENTS",
    "Note",
    "control_notes",
    "count_notes",
    "dispersion_notes",
    "join_names",
    "replicate_notes",
    "viability_shift",
]

MIN_PARENT_EVENTS = 100
"""Parent gates with fewer events than this get a note (DOMAIN §4.6)."""
MIN_EXPECTED_POSITIVES = 10
"""Samples whose expected positive count is below this get a note (rare-event instability)."""
MAX_LIVE_LOGIT_SHIFT = 1.0
"""A live/dead fraction whose arm means differ by more than this on the logit scale is noted."""
MAX_REPLICATE_LOGIT_SD = 1.0
"""A between-replicate logit SD implied by the dispersion above this is noted."""

SUMMARIES = {
    "refused": "inference refused: an arm has fewer than 2 replicates",
    "few_replicates": "fewer than 3 replicates in an arm: low power",
    "small_parent": f"parent gate under {MIN_PARENT_EVENTS} events",
    "few_expected": f"fewer than {MIN_EXPECTED_POSITIVES} expected positive events",
    "extreme_fraction": "samples with zero or all events positive",
    "dispersion": "unusual dispersion",
    "viability": "live/dead fraction differs between arms (selection may drive fractions)",
    "controls": "missing controls",
    "fallback": "GLM undefined for an arm with no positive (or no negative) events",
    "unpaired": "samples without a partner were left out of a paired analysis",
    "fit": "the model fit reported a problem",
}


@dataclass(frozen=True)
class Note:
    """One caveat for one comparison row: a grouping ``kind`` and a readable ``text``."""

    kind: str
    text: str


def join_names(samples: pd.Series | np.ndarray, limit: int = 4) -> str:
    """``"a, b, c, d and 2 more"``: the first ``limit`` names of a list, for notes."""
    labels = [str(s) for s in samples]
    more = f" and {len(labels) - limit} more" if len(labels) > limit else ""
    return ", ".join(labels[:limit]) + more


def replicate_notes(n_reference: int, n_level: int) -> list[Note]:
    """Notes on the number of replicates per arm (< 2: refused; < 3: low power).

    Example
    -------
    >>> replicate_notes(1, 3)[0].kind
    'refused'
    """
    smallest = min(n_reference, n_level)
    counts = f"reference {n_reference}, level {n_level}"
    if smallest < 2:
        return [Note("refused", f"inference refused: fewer than 2 replicates in an arm ({counts})")]
    if smallest < 3:
        return [Note("few_replicates", f"fewer than 3 replicates in an arm ({counts}): low power")]
    return []


def count_notes(
    labels: np.ndarray, k: np.ndarray, n: np.ndarray, expected_p: np.ndarray
) -> list[Note]:
    """Notes on small parents, small expected positives and all-or-nothing samples.

    ``labels`` name the units (samples); ``expected_p`` is each unit's fitted (arm)
    proportion, so the expected positive count is ``n * expected_p``.

    Example
    -------
    >>> labels = np.array(["a", "b"])
    >>> [x.kind for x in count_notes(labels, np.array([0, 5]), np.array([50, 500]), np.array([0.01, 0.01]))]
    ['small_parent', 'few_expected', 'extreme_fraction']
    """
    samples = np.asarray(labels)
    notes = []
    small = n < MIN_PARENT_EVENTS
    if small.any():
        notes.append(
            Note(
                "small_parent",
                f"parent under {MIN_PARENT_EVENTS} events in {join_names(samples[small])}",
            )
        )
    few = n * expected_p < MIN_EXPECTED_POSITIVES
    if few.any():
        notes.append(
            Note(
                "few_expected",
                f"expected positives under {MIN_EXPECTED_POSITIVES} in {join_names(samples[few])}",
            )
        )
    extreme = (k == 0) | (k == n)
    if extreme.any():
        notes.append(
            Note(
                "extreme_fraction", f"zero or all events positive in {join_names(samples[extreme])}"
            )
        )
    return notes


def dispersion_notes(dispersion: float, df: float, n: np.ndarray, mu: float) -> list[Note]:
    """Notes on a suspicious quasi-binomial dispersion φ (estimated on ``df`` degrees of freedom).

    Under-dispersion (less spread than binomial counting allows: duplicated files?) is noted
    when φ < 0.5 *and* the Pearson χ² is below its 0.1 % quantile for ``df`` (with few
    replicates φ < 0.5 happens by chance in a quarter of pure-binomial experiments). A
    large φ is judged by the between-replicate logit SD it implies,
    ``sqrt((φ − 1) / (mean(n) p (1 − p)))``, because φ grows with the parent size; above
    1.0 suggests an outlier sample or a batch effect.

    Example
    -------
    >>> dispersion_notes(0.01, 4, np.array([1000, 1000]), 0.05)[0].text[:15]
    'dispersion 0.01'
    >>> dispersion_notes(0.3, 4, np.array([1000, 1000]), 0.05)
    []
    """
    if not (np.isfinite(dispersion) and df > 0):
        return []
    if dispersion < 0.5 and stats.chi2.cdf(dispersion * df, df) < 0.001:
        return [
            Note(
                "dispersion",
                f"dispersion {dispersion:.2g} is below binomial counting noise (P < 0.001): "
                "duplicated files or summed replicates?",
            )
        ]
    implied = np.sqrt(max(dispersion - 1, 0) / (float(np.mean(n)) * mu * (1 - mu)))
    if implied > MAX_REPLICATE_LOGIT_SD:
        return [
            Note(
                "dispersion",
                f"dispersion {dispersion:.3g} implies a between-replicate logit SD of {implied:.2f} "
                f"(> {MAX_REPLICATE_LOGIT_SD}): check for outlier samples or batch effects",
            )
        ]
    return []


def viability_shift(populations: pd.DataFrame, arm: pd.Series) -> float | None:
    """Difference in mean logit of the ``live`` (or ``dead``) fraction between arms.

    ``arm`` maps each row of ``populations`` to 0 (reference), 1 (level) or NaN. Returns
    None when no population is named ``live`` or ``dead`` (case-insensitive).

    Example
    -------
    >>> table = pd.DataFrame({"population": ["live"] * 4, "count": [90, 92, 60, 62],
    ...                       "parent_count": [100] * 4})
    >>> round(viability_shift(table, pd.Series([0, 0, 1, 1])), 2)
    -1.83
    """
    names = populations["population"].astype(str).str.strip().str.lower()
    for name in ("live", "dead"):
        rows = names == name
        if rows.any():
            sub = populations[rows]
            logit = haldane_logit(sub["count"].to_numpy(float), sub["parent_count"].to_numpy(float))
            which = arm[rows].to_numpy(dtype=float)
            if (which == 0).any() and (which == 1).any():
                return float(logit[which == 1].mean() - logit[which == 0].mean())
    return None


def control_notes(rows: pd.DataFrame, table: pd.DataFrame) -> list[Note]:
    """Notes on missing controls for the compared samples.

    Two sources, both optional: a ``missing_controls`` column (any non-empty value other
    than false/0/no names the missing roles), and, when the table also carries control
    rows (a ``role`` column with values other than ``test``) and a ``batch`` column, any
    compared batch without a control row.

    Example
    -------
    >>> rows = pd.DataFrame({"sample": ["a"], "missing_controls": ["deab"]})
    >>> control_notes(rows, rows)[0].text
    'missing controls: a (deab)'
    """
    notes = []
    if "missing_controls" in rows.columns:
        flagged = [
            (s, str(v))
            for s, v in zip(rows["sample"], rows["missing_controls"])
            if not pd.isna(v) and str(v).strip().lower() not in {"", "false", "0", "no", "none"}
        ]
        if flagged:
            text = ", ".join(
                f"{s} ({v})" if v.lower() != "true" else str(s) for s, v in flagged[:4]
            )
            notes.append(Note("controls", f"missing controls: {text}"))
    if {"role", "batch"} <= set(table.columns):
        roles = table["role"].fillna("").astype(str).str.strip().str.lower()
        controls = table[~roles.isin(["", "test"])]
        if len(controls):
            have = set(controls["batch"].astype(str))
            lacking = sorted(set(rows["batch"].astype(str)) - have)
            if lacking:
                notes.append(Note("controls", f"no control tubes for batch {', '.join(lacking)}"))
    return notes
