"""Panel matching: find the channel ($PnN) of every template marker in a file, and say how.

Rules, tried in order for each marker of a panel (ARCHITECTURE §5):

1. **sheet override** — the sample sheet names the detector for this marker and file;
2. **$PnS exact** — the channel's ``$PnS`` equals one of the marker's stain names
   (case-insensitive);
3. **$PnS word** — every word of a stain name is a word of ``$PnS``, so ``CD44`` finds
   ``"CD44 APC"``, ``"CD44-APC"`` and ``"APC CD44"``;
4. **detector alias** — the channel's ``$PnN`` is one of the marker's detector aliases
   (first alias present wins; channels claimed by another marker's ``$PnS`` are skipped).

When a rule finds several channels and exactly one is an area (``-A``) channel, that one
wins; otherwise the match is ambiguous. Absence of a required marker, ambiguity, or two
markers on one channel raise :class:`~bcsc_flow.errors.ChannelNotFoundError` naming the
file, the marker and the candidates. Optional markers may be absent.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> s = Sample.from_array(np.zeros((1, 3)), ["FSC-A", "R670-A", "B530-A"], markers=[None, "CD44 APC", None])
>>> mm = match_panel(s, {"CD44": {"stain": ["CD44"]}, "ALDH": {"stain": ["ALDH"], "detectors": ["B530-A"]}})
>>> [(m.marker, m.channel, m.how) for m in mm.matches]
[('CD44', 'R670-A', '$PnS word'), ('ALDH', 'B530-A', 'detector alias')]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bcsc_flow.errors import ChannelNotFoundError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow.sample import Sample

__all__ = ["MarkerMap", "MarkerMatch", "match_panel"]

_WORDS = re.compile(r"[\s\-_/:;,()\[\]|+]+")

HOW = ("sheet override", "$PnS exact", "$PnS word", "detector alias", "absent (optional)")


def _words(text: str) -> set[str]:
    return {w for w in _WORDS.split(text.lower()) if w}


@dataclass(frozen=True)
class MarkerMatch:
    """How one marker was found: the channel (``$PnN``, None if absent) and the rule used.

    Example
    -------
    >>> MarkerMatch("CD44", "APC-A", "$PnS exact", "CD44").describe()
    "CD44 <- APC-A ($PnS 'CD44') by $PnS exact"
    """

    marker: str
    channel: str | None
    how: str
    stain: str | None = None

    def describe(self) -> str:
        """One line, e.g. ``HER2 <- PE-Cy7-A by detector alias``."""
        if self.channel is None:
            return f"{self.marker}: absent (optional)"
        pns = f" ($PnS {self.stain!r})" if self.stain else ""
        return f"{self.marker} <- {self.channel}{pns} by {self.how}"


@dataclass(frozen=True)
class MarkerMap:
    """The resolved panel of one file: marker → channel, with the rule of each match.

    Example
    -------
    >>> mm = MarkerMap("a.fcs", (MarkerMatch("CD44", "APC-A", "detector alias"),))
    >>> mm.channel("CD44"), mm.has("CD24")
    ('APC-A', False)
    """

    file: str
    matches: tuple[MarkerMatch, ...]

    def has(self, marker: str) -> bool:
        """True when the marker was found in the file."""
        return any(m.marker == marker and m.channel for m in self.matches)

    def channel(self, marker: str) -> str:
        """The ``$PnN`` of a marker; error if it is absent."""
        for m in self.matches:
            if m.marker == marker and m.channel:
                return m.channel
        known = [m.marker for m in self.matches if m.channel]
        raise ChannelNotFoundError(
            f"{self.file}: marker {marker!r} is not in this file's resolved panel."
            f"{did_you_mean(marker, known)} Resolved: {', '.join(known)}."
        )

    @property
    def mapping(self) -> dict[str, str]:
        """marker → ``$PnN`` for every marker found."""
        return {m.marker: m.channel for m in self.matches if m.channel}

    def report(self) -> pd.DataFrame:
        """One row per marker: ``file, marker, channel, how, stain``."""
        import pandas as pd

        rows = [{"file": self.file, "marker": m.marker, "channel": m.channel, "how": m.how, "stain": m.stain}
                for m in self.matches]  # fmt: skip
        return pd.DataFrame(rows, columns=["file", "marker", "channel", "how", "stain"])

    def lines(self) -> list[str]:
        """Human-readable lines, one per marker."""
        return [m.describe() for m in self.matches]


def _prefer_area(hits: list[int], names: tuple[str, ...]) -> list[int]:
    if len(hits) > 1:
        area = [i for i in hits if names[i].upper().endswith("-A")]
        if len(area) == 1:
            return area
    return hits


def _file_of(sample: Sample) -> str:
    return str(sample.path) if getattr(sample, "path", None) else sample.name


def _ambiguous(
    file: str, marker: str, how: str, hits: list[int], sample: Sample
) -> ChannelNotFoundError:
    which = ", ".join(sample.channels[i].label for i in hits)
    return ChannelNotFoundError(
        f"{file}: marker {marker!r} matches {len(hits)} channels by {how} ({which}); "
        f"name the detector with a sheet override column 'channel:{marker}' or edit the panel."
    )


def match_panel(
    sample: Sample,
    panel: Mapping[str, Mapping[str, Any]],
    overrides: Mapping[str, str] | None = None,
) -> MarkerMap:
    """Resolve every panel marker to a channel of ``sample`` (see the module rules).

    ``panel`` maps a marker to ``{"stain": [...], "detectors": [...], "optional": bool}``
    (the template's normalised panel); ``overrides`` maps a marker to a ``$PnN``.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> s = Sample.from_array(np.zeros((1, 1)), ["FSC-A"])
    >>> match_panel(s, {"CD44": {"stain": ["CD44"], "detectors": ["APC-A"]}})
    Traceback (most recent call last):
    ...
    bcsc_flow.errors.ChannelNotFoundError: sample: marker 'CD44' not found: no $PnS matches 'CD44' and no detector alias (APC-A) is present. Channels: FSC-A. Add the detector to the panel's detectors or give a sheet override column 'channel:CD44'.
    """
    file = (
        _file_of(sample)
        if sample.name == "sample" or getattr(sample, "path", None)
        else sample.name
    )
    names = sample.names
    lower_names = {n.lower(): i for i, n in enumerate(names)}
    overrides = dict(overrides or {})
    matches: list[MarkerMatch] = []
    claimed: dict[int, str] = {}
    pns = [(c.marker or "").strip() for c in sample.channels]
    for marker, entry in panel.items():
        stains = list(entry.get("stain") or [])
        hits: list[int] = []
        how = ""
        if marker in overrides:
            det = str(overrides[marker]).strip()
            if det.lower() not in lower_names:
                raise ChannelNotFoundError(
                    f"{file}: sheet override channel:{marker} = {det!r} is not a channel."
                    f"{did_you_mean(det, names)} Channels: {', '.join(names)}."
                )
            hits, how = [lower_names[det.lower()]], HOW[0]
        if not hits and stains:
            low = {s.lower() for s in stains}
            hits = _prefer_area([i for i, p in enumerate(pns) if p and p.lower() in low], names)
            how = HOW[1]
            if not hits:
                wanted = [_words(s) for s in stains]
                hits = [
                    i for i, p in enumerate(pns) if p and any(w and w <= _words(p) for w in wanted)
                ]
                hits = _prefer_area(hits, names)
                how = HOW[2]
        if not hits:
            for alias in list(entry.get("detectors") or []) + (
                [marker] if entry.get("kind") in ("scatter", "time") else []
            ):
                i = lower_names.get(alias.lower())
                if i is not None and not _claimed_by_other(pns[i], marker, panel):
                    hits, how = [i], HOW[3]
                    break
        if len(hits) > 1:
            raise _ambiguous(file, marker, how, hits, sample)
        if not hits:
            if entry.get("optional"):
                matches.append(MarkerMatch(marker, None, HOW[4]))
                continue
            aliases = ", ".join(entry.get("detectors") or []) or "none listed"
            stain_txt = " or ".join(repr(s) for s in stains) or "(no stain names)"
            raise ChannelNotFoundError(
                f"{file}: marker {marker!r} not found: no $PnS matches {stain_txt} and no "
                f"detector alias ({aliases}) is present. Channels: "
                f"{', '.join(c.label for c in sample.channels)}. Add the detector to the panel's "
                f"detectors or give a sheet override column 'channel:{marker}'."
            )
        i = hits[0]
        if i in claimed:
            raise ChannelNotFoundError(
                f"{file}: markers {claimed[i]!r} and {marker!r} both resolve to channel "
                f"{sample.channels[i].label}; fix the panel's stain names or detector aliases."
            )
        claimed[i] = marker
        matches.append(MarkerMatch(marker, names[i], how, pns[i] or None))
    return MarkerMap(file, tuple(matches))


def _claimed_by_other(pns: str, marker: str, panel: Mapping[str, Mapping[str, Any]]) -> bool:
    if not pns:
        return False
    words = _words(pns)
    for other, entry in panel.items():
        if other == marker:
            continue
        for s in entry.get("stain") or []:
            w = _words(s)
            if w and w <= words:
                return True
    return False
