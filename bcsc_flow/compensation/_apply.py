"""Compensating a :class:`~bcsc_flow.sample.Sample` with a :class:`Spillover`."""

from __future__ import annotations

import numpy as np

from bcsc_flow.compensation._spillover import Spillover
from bcsc_flow.errors import CompensationError, CompensationWarning, warn
from bcsc_flow.sample import Sample

__all__ = ["COMPENSATED_KEYWORD", "compensate"]

COMPENSATED_KEYWORD = "BCSC_FLOW_COMPENSATION"
"""Keyword :func:`compensate` adds to a compensated sample (kept by ``write_fcs``)."""


# ---------------------------------------------------------------------- compensate
def _over_compensation_hint(sp: Spillover, compensated: np.ndarray) -> str | None:
    """Describe a pair of detectors that compensation pushed clearly negative, if any.

    Rule: take the events brightest in compensated detector ``i`` (top 2 %, at least 25
    events; samples of 500+ events). For each spill ``S[i, j] >= 0.01`` the expected
    size of a second subtraction is ``e = S[i, j] · median_i(bright)``. Flag the pair when
    those events' median in ``j`` is below ``-e/2`` and ``e`` exceeds their robust spread
    in ``j`` (1.4826·MAD). Correct compensation leaves them near zero in ``j`` (or
    positive, for double-positive cells); compensating twice moves them to ``-e``. On the
    simulator's raw files no pair comes near the rule; on its already-compensated files
    every tube with a bright spilling population is flagged.
    """
    n = compensated.shape[0]
    if n < 500:
        return None
    k = max(int(0.02 * n), 25)
    names = sp.detectors
    for i in range(len(names)):
        spills = [j for j in range(len(names)) if j != i and sp.matrix[i, j] >= 0.01]
        if not spills:
            continue
        bright = np.argpartition(compensated[:, i], n - k)[n - k :]
        top = float(np.median(compensated[bright, i]))
        if not top > 0:
            continue
        for j in spills:
            values = compensated[bright, j]
            med_j = float(np.median(values))
            spread = 1.4826 * float(np.median(np.abs(values - med_j)))
            expected = float(sp.matrix[i, j]) * top
            if med_j < -0.5 * expected and expected > spread:
                return (
                    f"events brightest in {names[i]} (median {top:.4g}) end up at median "
                    f"{med_j:.4g} in {names[j]} after compensation, about what a second "
                    f"subtraction of the {sp.matrix[i, j]:.3g} spill would give ({-expected:.4g})"
                )
    return None


def compensate(sample: Sample, spillover: Spillover | None = None) -> Sample:
    """Compensate a sample's detector columns; other channels pass through unchanged.

    By default the file's own matrix (:meth:`Spillover.from_sample`) is used. Channels
    and names are kept; the result carries the keyword ``BCSC_FLOW_COMPENSATION``.

    Already-compensated data (a :class:`CompensationWarning`, never silent): the sample
    carries ``BCSC_FLOW_COMPENSATION`` (we compensated it before), or after compensation
    the brightest events of a detector sit clearly below zero in a detector it spills
    into (see ``_over_compensation_hint``). BD's ``APPLY COMPENSATION`` is *not* used:
    it describes the acquisition display only and stored data are raw (STANDARDS A.9).

    Raises :class:`CompensationError` naming the sample when no matrix exists, when the
    matrix names detectors the sample lacks, or when the matrix is not square (use
    :meth:`Spillover.apply` for spectral unmixing).

    Example
    -------
    >>> import numpy as np
    >>> s = Sample.from_array([[100.0, 30.0, 5.0]], ["FITC-A", "PE-A", "FSC-A"], name="t1")
    >>> sp = Spillover.from_array([[1.0, 0.2], [0.0, 1.0]], ["FITC-A", "PE-A"])
    >>> compensate(s, sp).events.round(6).tolist()
    [[100.0, 10.0, 5.0]]
    """
    where = f"Sample {sample.name!r}" + (f" ({sample.path})" if sample.path else "")
    sp = spillover if spillover is not None else Spillover.from_sample(sample)
    if sp is None:
        raise CompensationError(
            f"{where} has no spillover matrix ($SPILLOVER, $SPILL or SPILL) and none was given; "
            "pass spillover=Spillover.from_csv(path) or spillover_from_controls(...)."
        )
    if not sp.is_square:
        raise CompensationError(
            f"{where}: {sp!r} has {len(sp.outputs)} fluorochromes for {len(sp.detectors)} detectors;"
            " compensate() needs a square matrix. Use spillover.apply(values) to unmix."
        )
    names = sample.names
    missing = [d for d in sp.detectors if d not in names]
    if missing:
        hint = ""
        if all(f"Comp-{d}" in names for d in missing):
            hint = " The sample has 'Comp-' channels instead: it was exported already compensated."
        raise CompensationError(
            f"{where}: detectors {missing} of {sp!r} are not channels of the sample "
            f"(channels: {', '.join(names)}).{hint}"
        )
    if COMPENSATED_KEYWORD in sample.keywords:
        warn(
            f"{where} was already compensated ({COMPENSATED_KEYWORD}="
            f"{sample.keywords[COMPENSATED_KEYWORD]!r}); compensating again subtracts spillover twice.",
            CompensationWarning,
        )
    idx = [names.index(d) for d in sp.detectors]
    events = np.array(sample.events, dtype=np.float64)
    events[:, idx] = sp.apply(events[:, idx])
    hint = _over_compensation_hint(sp, events[:, idx])
    if hint is not None and COMPENSATED_KEYWORD not in sample.keywords:
        warn(
            f"{where} looks already compensated or over-compensated: {hint}. If the file was "
            "exported compensated, do not compensate it again.",
            CompensationWarning,
        )
    note = f"{sp.name or 'matrix'} ({len(sp.detectors)} detectors)"
    return sample.with_events(events, keywords={COMPENSATED_KEYWORD: note})
