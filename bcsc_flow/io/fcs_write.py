"""Write FCS 3.1 files: float32 little-endian list-mode data, written atomically.

STANDARDS part B: HEADER with right offsets on both sides of the 99,999,999-byte limit,
a TEXT whose delimiter occurs in no key or value, layout keywords regenerated (``$PnE 0,0``,
no ``$PnG``), the other keywords kept.

Example
-------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "w.fcs")
>>> _ = write_fcs(path, np.array([[1.0, 2.0]]), channels=["FSC-A", "SSC-A"])
>>> from pathlib import Path
>>> Path(path).read_bytes()[:6]
b'FCS3.1'
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bcsc_flow.atomic import atomic_path
from bcsc_flow.errors import FCSWriteError
from bcsc_flow.sample import Channel, Sample

__all__ = ["write_fcs"]

TEXT_BEGIN = 256
_LIMIT = 99_999_999
_DELIMITERS = b"/|\\\x1e\x0c!#%&*~^"
_LAYOUT = {
    "$BEGINANALYSIS", "$ENDANALYSIS", "$BEGINSTEXT", "$ENDSTEXT", "$BEGINDATA", "$ENDDATA",
    "$BYTEORD", "$DATATYPE", "$MODE", "$NEXTDATA", "$PAR", "$TOT",
}  # fmt: skip
_PER_PARAMETER = re.compile(r"^\$P(\d+)([A-Z]+)$")
_REGENERATED = {"N", "S", "B", "E", "G", "R", "DATATYPE"}


def _scale_range(ch: Channel, column: np.ndarray) -> str:
    """``$PnR`` for scale values: the channel's own range mapped to scale units, else the max."""
    if ch.range and ch.range > 0:
        if ch.log_decades > 0:
            return _number((ch.log_offset or 1.0) * 10.0**ch.log_decades)
        if ch.gain not in (0.0, 1.0) and not ch.is_time:
            return _number(ch.range / ch.gain)
        return _number(ch.range)
    finite = column[np.isfinite(column)]
    top = float(finite.max()) if finite.size else 1.0
    return str(max(1, math.ceil(top)))


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _channels(
    source: Sample | None,
    n: int,
    names: Sequence[str | Channel] | None,
    markers: Sequence[str | None] | None,
) -> list[Channel]:
    if names is not None:
        kept = (
            list(source.channels) if source is not None and len(names) == n else [None] * len(names)
        )
        chans = [
            x if isinstance(x, Channel) else replace(old, name=str(x)) if old else Channel(str(x))
            for x, old in zip(names, kept, strict=False)
        ]
    elif source is not None:
        chans = list(source.channels)
    else:
        raise FCSWriteError(
            "write_fcs: give channels=[...] (one $PnN per column) when writing an array."
        )
    if len(chans) != n:
        raise FCSWriteError(f"write_fcs: {n} columns of events but {len(chans)} channel names.")
    if markers is not None:
        if len(markers) != n:
            raise FCSWriteError(f"write_fcs: {n} columns of events but {len(markers)} markers.")
        chans = [
            replace(c, marker=str(m) if m else None) for c, m in zip(chans, markers, strict=True)
        ]
    seen: set[str] = set()
    for c in chans:
        if not c.name.strip() or "," in c.name:
            raise FCSWriteError(
                f"write_fcs: channel name {c.name!r} must be non-empty and without commas ($PnN rule)."
            )
        if c.name.lower() in seen:
            raise FCSWriteError(
                f"write_fcs: channel name {c.name!r} is used twice; $PnN must be unique."
            )
        seen.add(c.name.lower())
    return chans


def _checked_extra(extra: Mapping[str, Any] | None, par: int) -> dict[str, tuple[str, str]]:
    """User keywords by upper-case key; layout keys refused, ``$PnR`` checked."""
    out: dict[str, tuple[str, str]] = {}
    for key, value in (extra or {}).items():
        k, v = str(key).strip(), str(value)
        up = k.upper()
        m = _PER_PARAMETER.match(up)
        if m and m.group(2) in ("N", "S"):
            raise FCSWriteError(f"write_fcs: set {k} through channels= / markers=, not keywords=.")
        if up in _LAYOUT or (m and m.group(2) != "R" and m.group(2) in _REGENERATED):
            raise FCSWriteError(
                f"write_fcs: keyword {k} describes the file layout and is written by write_fcs itself."
            )
        if m and m.group(2) == "R":
            try:
                ok = 1 <= int(m.group(1)) <= par and float(v) > 0
            except ValueError:
                ok = False
            if not ok:
                raise FCSWriteError(
                    f"write_fcs: {k}={v!r}; expected a positive range for one of {par} parameters."
                )
        out[up] = (k, v)
    return out


def _keywords(
    source: Sample | None, chans: list[Channel], events: np.ndarray, extra: Mapping[str, Any] | None
) -> list[tuple[str, str]]:
    overrides = _checked_extra(extra, len(chans))
    pairs = [
        ("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$NEXTDATA", "0"),
        ("$PAR", str(len(chans))), ("$TOT", str(events.shape[0])),
        ("$BEGINANALYSIS", "0"), ("$ENDANALYSIS", "0"), ("$BEGINSTEXT", "0"), ("$ENDSTEXT", "0"),
    ]  # fmt: skip
    for n, (c, column) in enumerate(zip(chans, events.T, strict=True), start=1):
        rng = overrides.pop(f"$P{n}R", (None, None))[1] or _scale_range(c, column)
        pairs += [(f"$P{n}N", c.name), (f"$P{n}B", "32"), (f"$P{n}E", "0,0"), (f"$P{n}R", rng)]
        if c.marker:
            pairs.append((f"$P{n}S", c.marker))
    carried: list[tuple[str, str]] = []
    old_par = len(source.channels) if source is not None else 0
    for key, value in source.keywords.items() if source is not None else ():
        up = key.strip().upper()
        m = _PER_PARAMETER.match(up)
        if (
            up in _LAYOUT
            or up in overrides
            or (m and (m.group(2) in _REGENERATED or old_par != len(chans)))
        ):
            continue
        carried.append((key.strip(), str(value)))
    return [(k, v) for k, v in pairs + carried + list(overrides.values()) if v != ""]


def _delimiter(pairs: list[tuple[bytes, bytes]]) -> bytes:
    used = set().union(*(set(k) | set(v) for k, v in pairs)) if pairs else set()
    for d in _DELIMITERS:
        if d not in used:
            return bytes([d])
    for d in range(1, 127):
        if d not in used and bytes([d]) not in b" \r\n\t0123456789":
            return bytes([d])
    raise FCSWriteError("write_fcs: every ASCII byte occurs in the keywords; no delimiter is free.")


def _text(pairs: list[tuple[bytes, bytes]], delim: bytes) -> bytes:
    return delim + b"".join(k + delim + v + delim for k, v in pairs)


def _layout(encoded: list[tuple[bytes, bytes]], delim: bytes, nbytes: int) -> tuple[bytes, bytes]:
    """HEADER and TEXT bytes with $BEGINDATA/$ENDDATA consistent with the TEXT length."""
    begin = end = 0
    for _ in range(10):
        offsets = [(b"$BEGINDATA", str(begin).encode()), (b"$ENDDATA", str(end).encode())]
        text = _text(offsets + encoded, delim)
        new_begin = TEXT_BEGIN + len(text) if nbytes else 0
        new_end = new_begin + nbytes - 1 if nbytes else 0
        if (new_begin, new_end) == (begin, end):
            break
        begin, end = new_begin, new_end
    text_end = TEXT_BEGIN + len(text) - 1
    if text_end > _LIMIT:
        raise FCSWriteError(
            f"write_fcs: the TEXT segment ends at byte {text_end}, beyond 99,999,999."
        )
    head_begin, head_end = (begin, end) if end <= _LIMIT else (0, 0)
    fields = [TEXT_BEGIN, text_end, head_begin, head_end, 0, 0]
    header = b"FCS3.1    " + b"".join(str(f).rjust(8).encode() for f in fields)
    return header.ljust(TEXT_BEGIN, b" "), text


def write_fcs(
    path: str | os.PathLike[str],
    sample_or_array: Sample | Any,
    *,
    channels: Sequence[str | Channel] | None = None,
    markers: Sequence[str | None] | None = None,
    keywords: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write events (a :class:`Sample` or an array) as an FCS 3.1 float32 file; return the path.

    Events are written as given (a Sample's scale values), so ``$PnE`` is ``0,0`` and no
    ``$PnG`` is written. ``channels`` are names (or :class:`Channel` values) for ``$PnN``,
    ``markers`` give ``$PnS``; ``$PnR`` comes from the channel's range (in scale units),
    ``keywords`` (which may set ``$PnR``) or the data maximum. Keywords of a Sample and
    ``keywords`` are kept, except those that describe the layout. The file appears atomically; an existing file is replaced only
    with ``overwrite=True`` (else :class:`~bcsc_flow.errors.FCSWriteError`).

    Example
    -------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.fcs")
    >>> _ = write_fcs(path, np.zeros((2, 1)), channels=["Time"], keywords={"$TIMESTEP": "0.01"})
    >>> write_fcs(path, np.zeros((2, 1)), channels=["Time"])
    Traceback (most recent call last):
    ...
    bcsc_flow.errors.FCSWriteError: write_fcs: ... already exists; pass overwrite=True to replace it.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FCSWriteError(
            f"write_fcs: {str(target)!r} already exists; pass overwrite=True to replace it."
        )
    source = sample_or_array if isinstance(sample_or_array, Sample) else None
    try:
        values = np.asarray(source.events if source is not None else sample_or_array)
    except (TypeError, ValueError) as exc:
        raise FCSWriteError(f"write_fcs: events must be a numeric array ({exc}).") from None
    if values.dtype.kind not in "fiub":
        raise FCSWriteError(f"write_fcs: events must be numbers, got dtype {values.dtype}.")
    if values.ndim != 2 or values.shape[1] < 1:
        raise FCSWriteError(
            f"write_fcs: events must be 2-D (events x channels), got shape {values.shape}."
        )
    chans = _channels(source, values.shape[1], channels, markers)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32 range -> inf
        data = np.ascontiguousarray(values, dtype="<f4")
    pairs = _keywords(source, chans, data, keywords)
    encoded = [(k.encode("utf-8"), v.encode("utf-8")) for k, v in pairs]
    delim = _delimiter(encoded)
    header, text = _layout(encoded, delim, data.nbytes)
    with atomic_path(target) as tmp, open(tmp, "wb") as out:
        out.write(header)
        out.write(text)
        if data.size:
            out.write(memoryview(data).cast("B"))
        out.write(b"00000000")
    return target
