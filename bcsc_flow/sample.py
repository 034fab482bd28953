"""Channels and samples: the events of one FCS data set with their names and keywords.

A :class:`Sample` is a frozen value: events are a read-only ``(n_events, n_channels)``
array of *scale* values (``$PnE`` log decoding and ``$PnG`` division already done by
the reader), the channels describe the columns, and the keywords are the file's TEXT.

Example
-------
>>> import numpy as np
>>> s = Sample.from_array(np.zeros((3, 2)), ["FSC-A", "APC-A"], markers=[None, "CD44 APC"])
>>> len(s), s["CD44"].shape, s.channel("cd44").name
(3, (3,), 'APC-A')
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.errors import ChannelNotFoundError, SampleError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Channel", "Keywords", "Sample", "FileSpillover"]

# Words that name a fluorochrome or a detector feature rather than a marker; they are
# ignored when a marker is looked up in a $PnS label such as "CD44 APC" or "APC-CD44".
_SPLIT = re.compile(r"[\s\-_/:;,()\[\]|+]+")


@dataclass(frozen=True)
class Channel:
    """One parameter of a data set.

    ``name`` is ``$PnN`` (the identity used by Gating-ML and spillover matrices),
    ``marker`` is ``$PnS`` or ``None``; ``range`` is ``$PnR``, ``bits`` is ``$PnB``;
    ``log_decades``/``log_offset`` are ``$PnE`` and ``gain`` is ``$PnG`` as found in the
    file (the reader has already applied them to ``Sample.events``).

    Example
    -------
    >>> Channel("APC-A", "CD44").label
    'APC-A (CD44)'
    """

    name: str
    marker: str | None = None
    range: float | None = None
    bits: int | None = None
    log_decades: float = 0.0
    log_offset: float = 0.0
    gain: float = 1.0

    @property
    def label(self) -> str:
        """``name (marker)`` or just the name."""
        return f"{self.name} ({self.marker})" if self.marker else self.name

    @property
    def is_time(self) -> bool:
        """True for the time parameter (``$PnN`` equal to ``Time``, any case)."""
        return self.name.strip().lower() in {"time", "hdr-t"}


class Keywords(Mapping[str, str]):
    """Read-only, case-insensitive mapping of FCS keywords that keeps the original keys.

    Example
    -------
    >>> kw = Keywords({"$TOT": "10", "Creator": "x"})
    >>> kw["$tot"], "CREATOR" in kw, list(kw)
    ('10', True, ['$TOT', 'Creator'])
    """

    __slots__ = ("_items", "_upper")

    def __init__(self, items: Mapping[str, str] | Sequence[tuple[str, str]] = ()) -> None:
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        self._items: dict[str, str] = {}
        self._upper: dict[str, str] = {}
        for key, value in pairs:
            up = key.strip().upper()
            if up in self._upper:  # first occurrence wins
                continue
            self._items[key] = value
            self._upper[up] = key

    def __getitem__(self, key: str) -> str:
        return self._items[self._upper[key.strip().upper()]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.strip().upper() in self._upper

    def __repr__(self) -> str:
        return f"Keywords({self._items!r})"

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def updated(self, extra: Mapping[str, str], drop: Sequence[str] = ()) -> Keywords:
        """A new mapping with ``extra`` set (replacing same keys, any case) and ``drop`` removed."""
        gone = {k.strip().upper() for k in drop} | {k.strip().upper() for k in extra}
        kept = [(k, v) for k, v in self._items.items() if k.strip().upper() not in gone]
        return Keywords(kept + list(extra.items()))


@dataclass(frozen=True, eq=False)
class FileSpillover:
    """A spillover matrix as written in a file's keywords (not applied).

    ``matrix[i, j]`` is the fraction of detector ``i``'s signal seen in detector ``j``.
    """

    detectors: tuple[str, ...]
    matrix: np.ndarray
    keyword: str

    def __post_init__(self) -> None:
        m = np.array(self.matrix, dtype=np.float64)
        m.flags.writeable = False
        object.__setattr__(self, "matrix", m)


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


def _tokens(text: str) -> set[str]:
    return {t for t in _SPLIT.split(text.lower()) if t}


@dataclass(frozen=True, eq=False)
class Sample:
    """Events of one FCS data set, as scale values, with channels and keywords.

    Build one with :func:`bcsc_flow.read_fcs`, :meth:`from_array` or :meth:`from_frame`.

    Example
    -------
    >>> import numpy as np
    >>> s = Sample.from_array(np.arange(6.0).reshape(3, 2), ["FSC-A", "SSC-A"], name="demo")
    >>> s.subset(s["FSC-A"] > 1).events.tolist()
    [[2.0, 3.0], [4.0, 5.0]]
    """

    name: str
    events: np.ndarray
    channels: tuple[Channel, ...]
    keywords: Keywords = field(default_factory=Keywords)
    path: Path | None = None
    dataset: int = 0
    version: str = ""
    raw: np.ndarray | None = None
    spillover: FileSpillover | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        ev = np.asarray(self.events)
        if ev.ndim != 2:
            raise SampleError(
                f"Sample {self.name!r}: events must be 2-D (events x channels), got shape {ev.shape}."
            )
        if ev.shape[1] != len(self.channels):
            raise SampleError(
                f"Sample {self.name!r}: {ev.shape[1]} event columns but {len(self.channels)} channels."
            )
        if ev.dtype.kind != "f":
            ev = ev.astype(np.float64)
        object.__setattr__(self, "events", _readonly(ev))
        object.__setattr__(self, "channels", tuple(self.channels))
        if not isinstance(self.keywords, Keywords):
            object.__setattr__(self, "keywords", Keywords(self.keywords))
        if self.raw is not None:
            object.__setattr__(self, "raw", _readonly(np.asarray(self.raw)))

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_array(
        cls,
        events: Any,
        channels: Sequence[str | Channel],
        *,
        markers: Sequence[str | None] | None = None,
        name: str = "sample",
        keywords: Mapping[str, str] | None = None,
    ) -> Sample:
        """Build a sample from an ``(n_events, n_channels)`` array, no file involved.

        Example
        -------
        >>> Sample.from_array([[1, 2]], ["A", "B"]).events.dtype
        dtype('float64')
        """
        arr = np.asarray(events)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
        marks = list(markers) if markers is not None else [None] * len(channels)
        if len(marks) != len(channels):
            raise SampleError(
                f"Sample {name!r}: {len(channels)} channels but {len(marks)} markers given."
            )
        chans = tuple(
            c if isinstance(c, Channel) else Channel(str(c), m or None)
            for c, m in zip(channels, marks, strict=True)
        )
        return cls(name=name, events=arr, channels=chans, keywords=Keywords(keywords or {}))

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        markers: Mapping[str, str] | None = None,
        name: str = "sample",
        keywords: Mapping[str, str] | None = None,
    ) -> Sample:
        """Build a sample from a DataFrame whose columns are detector names.

        Example
        -------
        >>> import pandas as pd
        >>> Sample.from_frame(pd.DataFrame({"FSC-A": [1.0]}), markers={"FSC-A": "size"}).channels[0].marker
        'size'
        """
        cols = [str(c) for c in frame.columns]
        marks = [(markers or {}).get(c) for c in cols]
        return cls.from_array(
            frame.to_numpy(dtype=np.float64), cols, markers=marks, name=name, keywords=keywords
        )

    # ----------------------------------------------------------------- lookup
    def __len__(self) -> int:
        return int(self.events.shape[0])

    @property
    def names(self) -> tuple[str, ...]:
        """Detector names (``$PnN``) in column order."""
        return tuple(c.name for c in self.channels)

    @property
    def markers(self) -> tuple[str | None, ...]:
        """Marker labels (``$PnS``) in column order."""
        return tuple(c.marker for c in self.channels)

    def index(self, key: str) -> int:
        """Column index of a detector name or marker (see :meth:`channel`)."""
        names = self.names
        if key in names:
            return names.index(key)
        low = key.strip().lower()
        hits = [i for i, n in enumerate(names) if n.lower() == low]
        if not hits:
            hits = [
                i
                for i, c in enumerate(self.channels)
                if c.marker and c.marker.strip().lower() == low
            ]
        if not hits:
            key_tokens = _tokens(key)
            hits = [
                i
                for i, c in enumerate(self.channels)
                if c.marker and key_tokens and key_tokens <= _tokens(c.marker)
            ]
        if len(hits) > 1:
            area = [i for i in hits if names[i].upper().endswith("-A")]
            if len(area) == 1:
                hits = area
        if len(hits) == 1:
            return hits[0]
        available = ", ".join(c.label for c in self.channels)
        if not hits:
            cands = list(names) + [c.marker for c in self.channels if c.marker]
            raise ChannelNotFoundError(
                f"Sample {self.name!r}: no channel or marker {key!r}.{did_you_mean(key, cands)}"
                f" Channels are: {available}."
            )
        which = ", ".join(self.channels[i].label for i in hits)
        raise ChannelNotFoundError(
            f"Sample {self.name!r}: {key!r} matches {len(hits)} channels ({which});"
            " name the detector ($PnN) instead."
        )

    def channel(self, key: str) -> Channel:
        """The channel for a detector name or marker.

        Detector names match exactly (then case-insensitively); markers match
        case-insensitively, as the whole ``$PnS`` label or as a word of it, so
        ``"CD44"`` finds ``"CD44 APC"``, ``"CD44-APC"`` and ``"APC CD44"``. When a
        marker is on several channels and exactly one is an area (``-A``) channel,
        that one wins. Absence or ambiguity raises :class:`ChannelNotFoundError`.
        """
        return self.channels[self.index(key)]

    def __getitem__(self, key: str) -> np.ndarray:
        """One column as float64, by detector name or marker."""
        return np.asarray(self.events[:, self.index(key)], dtype=np.float64)

    def columns(self, keys: Sequence[str]) -> np.ndarray:
        """Several columns as a float64 ``(n_events, len(keys))`` array."""
        idx = [self.index(k) for k in keys]
        return np.asarray(self.events[:, idx], dtype=np.float64)

    # ----------------------------------------------------------------- derived samples
    def subset(self, mask: Any) -> Sample:
        """A new sample holding only the events where ``mask`` is true (or the given indices)."""
        sel = np.asarray(mask)
        if sel.dtype == bool and sel.shape != (len(self),):
            raise SampleError(
                f"Sample {self.name!r}: mask has shape {sel.shape}, expected ({len(self)},)."
            )
        raw = None if self.raw is None else self.raw[sel]
        return replace(self, events=self.events[sel], raw=raw)

    def with_events(
        self, events: np.ndarray, *, keywords: Mapping[str, str] | None = None
    ) -> Sample:
        """A new sample with the same channels and new event values (e.g. compensated)."""
        kw = self.keywords if keywords is None else self.keywords.updated(keywords)
        return replace(self, events=events, raw=None, keywords=kw)

    def to_frame(self, *, columns: str = "name") -> pd.DataFrame:
        """Events as a DataFrame with columns named by detector (``"name"``) or ``"label"``.

        Example
        -------
        >>> import numpy as np
        >>> Sample.from_array(np.ones((2, 1)), ["FSC-A"]).to_frame().columns.tolist()
        ['FSC-A']
        """
        import pandas as pd

        if columns not in {"name", "label"}:
            raise SampleError(f"to_frame(columns={columns!r}): use 'name' or 'label'.")
        cols = self.names if columns == "name" else [c.label for c in self.channels]
        return pd.DataFrame(np.asarray(self.events, dtype=np.float64), columns=list(cols))

    def _repr_html_(self) -> str:
        """HTML view for Jupyter."""
        from bcsc_flow.jupyter import sample_html

        return sample_html(self)

    def __repr__(self) -> str:
        return f"Sample({self.name!r}, {len(self)} events, {len(self.channels)} channels)"
