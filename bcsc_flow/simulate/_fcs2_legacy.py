"""A tiny FCS 2.0 integer writer for *synthetic test data* of the legacy profile.

It exists only so the simulator can emit what old 10-bit analysers wrote: list-mode
``$DATATYPE/I/`` data in 16-bit words, ``$PnR/1024/``, log-amplified fluorescence with
``$PnE/4,1/`` and linear scatter with ``$PnE/0,0/``. It is not a general FCS writer (the
library's writer is :func:`bcsc_flow.io.fcs.write_fcs`, FCS 3.1 float); reading always goes
through :func:`bcsc_flow.io.fcs.read_fcs`.

Channel value ``x`` of a log channel with ``$PnE/f1,f2/`` and range ``r`` stands for the scale
value ``f2 · 10**(f1 · x / r)``; :func:`encode` picks the largest ``x`` whose value does not
exceed the scale value (so decoding loses at most one step, a factor ``10**(f1 / r)``).

Example
-------
>>> import numpy as np
>>> encode(np.array([1.0, 10.0, 1e4]), decades=4.0, bins=1024).tolist()
[0, 256, 1023]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from bcsc_flow.errors import FCSWriteError
from bcsc_flow.sample import Channel

__all__ = ["encode", "write_fcs2_integer"]


def encode(values: np.ndarray, *, decades: float, bins: int) -> np.ndarray:
    """Channel numbers of scale values: log (``decades > 0``, offset 1) or linear."""
    v = np.asarray(values, dtype=np.float64)
    if decades > 0:
        x = np.floor(bins * np.log10(np.maximum(v, 1.0)) / decades + 1e-9)
    else:
        x = np.floor(v)
    return np.clip(x, 0, bins - 1).astype(np.uint16)


def write_fcs2_integer(
    path: str | Path,
    values: np.ndarray,
    channels: Sequence[Channel],
    keywords: Mapping[str, str],
) -> Path:
    """Write ``values`` (scale values) as an FCS 2.0 file of 16-bit little-endian integers.

    Each channel's ``range`` gives ``$PnR`` and its ``log_decades`` ``$PnE`` (offset 1).

    Example
    -------
    >>> import tempfile, os
    >>> ch = [Channel("FL1-H", "CD44", range=1024.0, log_decades=4.0)]
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_fcs2_integer(os.path.join(d, "x.fcs"), np.array([[10.0]]), ch, {})
    ...     p.read_bytes()[:6]
    b'FCS2.0'
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(channels):
        raise FCSWriteError(
            f"{path}: values have shape {arr.shape}, expected (events, {len(channels)})."
        )
    data = np.empty(arr.shape, dtype="<u2")
    text: list[tuple[str, str]] = [
        ("$BYTEORD", "1,2"),
        ("$DATATYPE", "I"),
        ("$MODE", "L"),
        ("$NEXTDATA", "0"),
        ("$PAR", str(len(channels))),
        ("$TOT", str(arr.shape[0])),
    ]
    for i, ch in enumerate(channels, start=1):
        bins = int(ch.range or 1024)
        if bins > 65536:
            raise FCSWriteError(f"{path}: $P{i}R={bins} does not fit 16-bit integers.")
        data[:, i - 1] = encode(arr[:, i - 1], decades=ch.log_decades, bins=bins)
        text += [(f"$P{i}N", ch.name), (f"$P{i}B", "16"), (f"$P{i}R", str(bins))]
        text.append((f"$P{i}E", f"{ch.log_decades:g},1" if ch.log_decades > 0 else "0,0"))
        if ch.marker:
            text.append((f"$P{i}S", ch.marker))
    text += [(k, str(v)) for k, v in keywords.items()]
    joined = "".join(k + v for k, v in text)
    delim = next((c for c in "/|\\!" if c not in joined), None)
    if delim is None:
        raise FCSWriteError(f"{path}: no delimiter character is free of the keyword text.")
    body = (delim + "".join(f"{k}{delim}{v}{delim}" for k, v in text)).encode("ascii")
    text_begin = 58
    text_end = text_begin + len(body) - 1
    data_bytes = data.tobytes()
    data_begin = text_end + 1
    data_end = data_begin + len(data_bytes) - 1
    if data_end > 99_999_999:
        raise FCSWriteError(
            f"{path}: {len(data_bytes)} data bytes are too many for an FCS 2.0 HEADER."
        )
    offsets = (text_begin, text_end, data_begin, data_end, 0, 0)
    header = b"FCS2.0    " + b"".join(f"{o:>8d}".encode("ascii") for o in offsets)
    out = Path(path)
    out.write_bytes(header + body + data_bytes)
    return out
