"""Parameters of an FCS data set: channels, stored → scale values, spillover keywords.

Internal to :mod:`bcsc_flow.io.fcs` (STANDARDS A.7, A.8, A.9).

Example
-------
>>> import numpy as np
>>> from bcsc_flow.io._fcs_text import Issues
>>> kw = {"$P1N": "FSC-H", "$P1R": "1024", "$P1E": "0,0", "$P1G": "4",
...       "$P2N": "FL1-H", "$P2R": "1024", "$P2E": "4,0"}
>>> chans = build_channels(kw, 2, Issues("x.fcs"))
>>> to_scale(np.array([[8, 256]], dtype=np.uint16), chans, "I", Issues("x.fcs")).tolist()
[[2.0, 10.0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from bcsc_flow.io._fcs_layout import keyword_float
from bcsc_flow.io._fcs_text import Issues
from bcsc_flow.sample import Channel, FileSpillover

__all__ = ["build_channels", "read_spillover", "to_scale"]

SPILLOVER_KEYS = ("$SPILLOVER", "$SPILL", "SPILL")


def _amplification(raw: str | None, key: str, issues: Issues) -> tuple[float, float]:
    if raw is None or not raw.strip():
        return 0.0, 0.0
    parts = raw.replace(" ", "").split(",")
    try:
        f1, f2 = (float(parts[0]), float(parts[1])) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        f1 = f2 = math.nan
    if not (math.isfinite(f1) and math.isfinite(f2)) or f1 < 0 or f2 < 0:
        issues.note(
            f"{key} is {raw!r}; expected 'decades,offset' such as 0,0 or 4,1; read as linear"
        )
        return 0.0, 0.0
    return f1, f2


def build_channels(kw: Mapping[str, str], par: int, issues: Issues) -> tuple[Channel, ...]:
    """One :class:`Channel` per parameter, names made unique (``name-2``, ...) with a warning."""
    chans: list[Channel] = []
    seen: dict[str, int] = {}
    for n in range(1, par + 1):
        name = (kw.get(f"$P{n}N") or "").strip()
        marker = (kw.get(f"$P{n}S") or "").strip() or None
        if not name:
            name = marker or f"P{n}"
            issues.note(f"$P{n}N is missing; named the parameter {name!r}")
        key = name.lower()
        if key in seen:
            seen[key] += 1
            new = f"{name}-{seen[key]}"
            issues.note(f"$P{n}N {name!r} is used by another parameter; renamed it {new!r}")
            name = new
        else:
            seen[key] = 1
        bits_raw = (kw.get(f"$P{n}B") or "").strip()
        f1, f2 = _amplification(kw.get(f"$P{n}E"), f"$P{n}E", issues)
        gain = keyword_float(kw, f"$P{n}G")
        chans.append(
            Channel(
                name=name,
                marker=marker,
                range=keyword_float(kw, f"$P{n}R"),
                bits=int(bits_raw) if bits_raw.isdigit() else None,
                log_decades=f1,
                log_offset=f2,
                gain=1.0 if gain is None else gain,
            )
        )
    return tuple(chans)


def _conversions(
    chans: tuple[Channel, ...], kinds: list[str], issues: Issues
) -> list[tuple[str, float, float, float] | None]:
    out: list[tuple[str, float, float, float] | None] = []
    f1_zero: list[str] = []
    float_log: list[str] = []
    for c, kind in zip(chans, kinds, strict=True):
        f1, f2, g = c.log_decades, c.log_offset, c.gain
        if f1 > 0 and kind != "I":  # Guava: stored floats are already log10 values
            float_log.append(c.name)
            f1, f2, g = 0.0, 0.0, 1.0
        if f1 > 0:
            if f2 == 0:
                f1_zero.append(c.name)
                f2 = 1.0
            if g not in (0.0, 1.0):
                issues.note(f"{c.name}: $PnG {g:g} combined with log $PnE; the gain was ignored")
            if c.range and c.range > 0:
                out.append(("log", f1, f2, c.range))
            else:
                issues.note(f"{c.name}: log $PnE needs a positive $PnR; values left as stored")
                out.append(None)
            continue
        if f1 == 0 and f2 > 0:
            issues.note(f"{c.name}: $PnE 0,{f2:g} is not meaningful; read as linear")
        if g in (0.0, 1.0) or c.is_time:  # never a gain on the time parameter (A.7)
            out.append(None)
        else:
            out.append(("gain", g, 0.0, 1.0))
    if f1_zero:
        issues.note(f"$PnE f1,0 read as f1,1 (3.1 rule) for {', '.join(f1_zero)}")
    if float_log:
        issues.note(
            "log $PnE (and any $PnG) on float data ignored, the values are taken as stored, for "
            + ", ".join(float_log)
        )
    return out


def to_scale(
    raw: np.ndarray, chans: tuple[Channel, ...], kinds: list[str] | str, issues: Issues
) -> np.ndarray:
    """Scale values (A.7): ``f2·10^(f1·x/r)`` for log integer channels, ``x/g`` for gains.

    Returns ``raw`` itself when nothing converts and it is already float (no copy);
    otherwise a new float64 array.
    """
    kinds_list = [kinds] * len(chans) if isinstance(kinds, str) else list(kinds)
    convs = _conversions(chans, kinds_list, issues)
    if all(c is None for c in convs):
        return raw if raw.dtype.kind == "f" else raw.astype(np.float64)
    events = raw.astype(np.float64)
    for j, conv in enumerate(convs):
        if conv is None:
            continue
        how, a, b, r = conv
        col = events[:, j]
        if how == "log":  # f2 * 10 ** (f1 * x / r), in that order of operations
            col *= a
            col /= r
            np.power(10.0, col, out=col)
            col *= b
        else:
            col /= a
    return events


def _parse_matrix(
    key: str, raw: str, chans: tuple[Channel, ...], issues: Issues
) -> FileSpillover | None:
    fields = [f.strip() for f in raw.split(",")]
    try:
        n = int(fields[0])
    except ValueError:
        n = 0
    if n < 1 or len(fields) != 1 + n + n * n:
        issues.note(
            f"{key} has {len(fields)} fields (expected 1 + n + n^2 with n = {fields[0]!r}); no usable matrix"
        )
        return None
    names = fields[1 : 1 + n]
    try:
        values = np.array([float(v) for v in fields[1 + n :]], dtype=np.float64).reshape(n, n)
    except ValueError:
        issues.note(f"{key} holds a coefficient that is not a number; no usable matrix")
        return None
    exact = {c.name: c.name for c in chans}
    folded = {c.name.lower(): c.name for c in chans}
    resolved = [exact.get(x) or folded.get(x.lower()) for x in names]
    if any(r is None for r in resolved):
        if all(x.isdigit() and 1 <= int(x) <= len(chans) for x in names):
            resolved = [chans[int(x) - 1].name for x in names]
            issues.note(f"{key} names parameters by index; mapped them to $PnN")
        else:
            missing = [x for x, r in zip(names, resolved, strict=True) if r is None]
            issues.note(
                f"{key} names detectors not in the file ({', '.join(missing)}); no usable matrix"
            )
            return None
    if len(set(resolved)) != n or not np.all(np.isfinite(values)):
        issues.note(f"{key} repeats a detector or holds non-finite values; no usable matrix")
        return None
    return FileSpillover(tuple(r for r in resolved if r is not None), values, key)


def read_spillover(
    kw: Mapping[str, str], chans: tuple[Channel, ...], issues: Issues
) -> FileSpillover | None:
    """The first usable matrix of ``$SPILLOVER``, ``$SPILL``, ``SPILL`` (in that order)."""
    for key in SPILLOVER_KEYS:
        raw = kw.get(key)
        if raw is None or not raw.strip():
            continue
        found = _parse_matrix(key, raw, chans, issues)
        if found is not None:
            return found
    return None
