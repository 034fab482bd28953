"""Locating and decoding the DATA segment of an FCS data set, in bulk with numpy.

Internal to :mod:`bcsc_flow.io.fcs` (STANDARDS A.5, A.6). The segment is read once into a
buffer we own, viewed as the file's dtype, byte-swapped in place when needed, and masked;
there is no Python loop over events.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.io._fcs_layout import Column, Layout
>>> lay = Layout((Column("I", 16, 2, (2, 1), 0x3FF), Column("I", 16, 2, (2, 1), None)), 2)
>>> decode(np.frombuffer(b"\\x42\\x10\\x00\\x07\\x00\\x01\\x01\\x00", np.uint8).copy(), lay, 2, "x").tolist()
[[528, 7], [1, 256]]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from bcsc_flow.errors import FCSFormatError, FCSTruncatedError
from bcsc_flow.io._fcs_layout import Column, Layout, keyword_int, storage_options
from bcsc_flow.io._fcs_text import Header, Issues

__all__ = ["DataPlace", "decode", "locate_data", "read_segment"]

_LOOK_IN_TEXT = 99_999_999


@dataclass(frozen=True)
class DataPlace:
    """Where the DATA of a data set is (relative to the data set) and how it is stored."""

    begin: int
    nbytes: int
    layout: Layout
    total: int


def _pairs(
    header: Header, kw: Mapping[str, str], version: str, issues: Issues
) -> list[tuple[str, int, int]]:
    cands: list[tuple[str, int, int]] = []
    text_pair: tuple[int, int] | None = None
    if "$BEGINDATA" in kw or "$ENDDATA" in kw:
        try:
            b = keyword_int(kw, "$BEGINDATA", issues.label, default=0)
            e = keyword_int(kw, "$ENDDATA", issues.label, default=0)
        except FCSFormatError as exc:
            issues.note(f"ignored unreadable TEXT DATA offsets ({exc})")
        else:
            assert b is not None and e is not None
            if (b, e) != (0, 0):
                text_pair = (b, e)
    head_pair: tuple[int, int] | None = None
    hb, he = header.data_begin, header.data_end
    if (hb, he) != (0, 0) and he != _LOOK_IN_TEXT and not (hb != 0 and he == 0):
        head_pair = (hb, he)
    named = [("HEADER", head_pair), ("TEXT", text_pair)]
    if version != "FCS2.0":
        named.reverse()
    for name, pair in named:
        if pair is not None:
            cands.append((name, *pair))
    if text_pair and head_pair and text_pair != head_pair:
        issues.note(
            f"HEADER DATA offsets {head_pair} and TEXT $BEGINDATA/$ENDDATA {text_pair} differ;"
            " used the pair that fits $TOT"
        )
    return cands


def _need(layout: Layout, total: int) -> int:
    if layout.packed:
        return (total * layout.event_bits + 7) // 8
    return total * layout.event_bytes


def locate_data(
    header: Header,
    kw: Mapping[str, str],
    layout: Layout,
    version: str,
    available: int,
    issues: Issues,
) -> DataPlace:
    """Find the DATA bytes of a data set (A.5) and check they lie inside the file.

    ``available`` is the number of file bytes from the data set's first byte to the end.
    """
    label = issues.label
    cands = _pairs(header, kw, version, issues)
    free_ascii = any(c.bits is None for c in layout.columns)
    total = layout.total
    if total is None or free_ascii:
        if not cands:
            if total == 0:
                return DataPlace(0, 0, layout, 0)
            raise FCSFormatError(f"{label}: no DATA offsets in HEADER or TEXT.")
        _, b, e = cands[0]
        length = e - b + 1
        if length < 0 or b + length > available:
            raise FCSTruncatedError(
                f"{label}: DATA segment {b}..{e} lies beyond the end of the file ({available} bytes)."
            )
        if free_ascii:
            return DataPlace(b, max(length, 0), layout, -1 if total is None else total)
        width = layout.event_bytes
        total = length // width
        if length % width:
            issues.note(f"DATA length {length} is not a multiple of the event width {width}")
        if version != "FCS2.0":  # optional in 2.0 only
            issues.note(f"$TOT is missing; counted {total} events from the DATA length")
        return DataPlace(b, total * width, layout, total)
    options = storage_options(layout)
    chosen: tuple[int, Layout] | None = None
    for slack in (0, 1):
        for name, b, e in cands:
            for opt in options:
                if e - b + 1 == _need(opt, total) + slack:
                    chosen = (b, opt)
                    if slack:
                        issues.note(
                            f"{name} DATA end offset is one past the last byte (off-by-one); ignored that byte"
                        )
                    if any(c.kind == "I" and (c.bits or 0) % 8 for c in layout.columns):
                        how = (
                            "bit-packed"
                            if opt.packed
                            else f"{[c.nbytes * 8 for c in opt.columns]}-bit words"
                        )
                        issues.note(
                            f"$PnB {[c.bits for c in layout.columns]} is not whole bytes; DATA is stored as {how}"
                        )
                    break
            if chosen:
                break
        if chosen:
            break
    if chosen is None:
        need = _need(options[0], total)
        if not cands:
            if need == 0:
                return DataPlace(0, 0, layout, 0)
            raise FCSFormatError(f"{label}: no DATA offsets in HEADER or TEXT but $TOT is {total}.")
        name, b, e = cands[0]
        if need:
            issues.note(
                f"{name} DATA segment {b}..{e} holds {e - b + 1} bytes but $TOT x event width"
                f" = {need}; read {need} bytes from {b}"
            )
        chosen = (b, options[0])
    begin, lay = chosen
    need = _need(lay, total)
    if begin < 0 or (need and begin + need > available):
        raise FCSTruncatedError(
            f"{label}: declares {total} events ({need} bytes of DATA from byte {begin}) but the"
            f" data set has only {max(available - begin, 0)} bytes from there: the file is truncated."
        )
    return DataPlace(begin, need, lay, total)


def read_segment(handle: BinaryIO, position: int, nbytes: int, label: str) -> np.ndarray:
    """Read ``nbytes`` at ``position`` into a new uint8 array (one read, no extra copy)."""
    buf = np.empty(nbytes, dtype=np.uint8)
    handle.seek(position)
    got = handle.readinto(memoryview(buf)) if nbytes else 0
    if got != nbytes:
        raise FCSTruncatedError(
            f"{label}: expected {nbytes} bytes at byte {position}, the file holds {got}."
        )
    return buf


def _simple_dtype(cols: tuple[Column, ...]) -> np.dtype | None:
    first = cols[0]
    if first.kind == "A" or first.nbytes not in (1, 2, 4, 8):
        return None
    if any((c.kind, c.nbytes, c.order) != (first.kind, first.nbytes, first.order) for c in cols):
        return None
    n = first.nbytes
    if first.order == tuple(range(1, n + 1)):
        end = "<"
    elif first.order == tuple(range(n, 0, -1)):
        end = ">"
    else:
        return None
    return np.dtype(f"{end}{'u' if first.kind == 'I' else 'f'}{n}")


def _to_native(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.byteorder not in ("=", "|") and not arr.dtype.isnative:
        arr.byteswap(inplace=True)
        arr = arr.view(arr.dtype.newbyteorder("="))
    return arr


def _apply_masks(arr: np.ndarray, cols: tuple[Column, ...]) -> None:
    masks = [c.mask for c in cols]
    if all(m is None for m in masks):
        return
    if len(set(masks)) == 1:
        arr &= arr.dtype.type(masks[0])
        return
    for j, m in enumerate(masks):
        if m is not None:
            arr[:, j] &= arr.dtype.type(m)


def _assemble(sub: np.ndarray, col: Column) -> np.ndarray:
    """One column from its ``(events, nbytes)`` bytes, any width and byte permutation."""
    width = 1 << (col.nbytes - 1).bit_length()
    tmp = np.zeros((sub.shape[0], width), dtype=np.uint8)
    for i, significance in enumerate(col.order):
        tmp[:, significance - 1] = sub[:, i]
    kind = "u" if col.kind == "I" else "f"
    value = tmp.view(f"<{kind}{width}").reshape(-1).astype(f"={kind}{width}", copy=False)
    if col.mask is not None:
        value &= value.dtype.type(col.mask)
    return value


def _decode_packed(buf: np.ndarray, layout: Layout, total: int) -> np.ndarray:
    bits = np.unpackbits(buf)[: total * layout.event_bits].reshape(total, layout.event_bits)
    out = np.empty((total, len(layout.columns)), dtype=np.uint64)
    start = 0
    for j, col in enumerate(layout.columns):
        b = col.bits or 0
        padded = np.zeros((total, 64), dtype=np.uint8)
        padded[:, 64 - b :] = bits[:, start : start + b]
        out[:, j] = np.packbits(padded, axis=1).view(">u8").reshape(-1)
        start += b
    _apply_masks(out, layout.columns)
    return out


def _decode_ascii(buf: np.ndarray, layout: Layout, total: int, label: str) -> np.ndarray:
    par = len(layout.columns)
    try:
        if layout.columns[0].bits is None:
            words = re.split(rb"[\s,]+", buf.tobytes().strip())
            words = [w for w in words if w]
            if total < 0:
                total = len(words) // par
            if len(words) < total * par:
                raise FCSTruncatedError(
                    f"{label}: ASCII DATA holds {len(words)} values; $TOT x $PAR = {total * par}."
                )
            return np.array(words[: total * par]).astype(np.float64).reshape(total, par)
        rows = buf.reshape(total, layout.event_bytes)
        out = np.empty((total, par), dtype=np.float64)
        start = 0
        for j, col in enumerate(layout.columns):
            field = np.ascontiguousarray(rows[:, start : start + col.nbytes])
            out[:, j] = field.view(f"S{col.nbytes}").reshape(-1).astype(np.float64)
            start += col.nbytes
        return out
    except ValueError as exc:
        if isinstance(exc, FCSTruncatedError):
            raise
        raise FCSFormatError(
            f"{label}: ASCII DATA holds a value that is not a number ({exc})."
        ) from None


def decode(buf: np.ndarray, layout: Layout, total: int, label: str) -> np.ndarray:
    """Decode DATA bytes into a native ``(events, parameters)`` array of stored values.

    Uniform columns give the file's own dtype (uint8..uint64, float32, float64); mixed
    integer widths give the widest unsigned type; mixed kinds give float64.
    """
    cols = layout.columns
    if cols[0].kind == "A":
        return _decode_ascii(buf, layout, total, label)
    if layout.packed:
        return _decode_packed(buf, layout, total)
    dtype = _simple_dtype(cols)
    if dtype is not None:
        arr = _to_native(buf.view(dtype).reshape(total, len(cols)))
        if dtype.kind == "u":
            _apply_masks(arr, cols)
        return arr
    rows = buf.reshape(total, layout.event_bytes)
    if all(c.kind == "I" for c in cols):
        widest = max(1 << (c.nbytes - 1).bit_length() for c in cols)
        out = np.empty((total, len(cols)), dtype=f"=u{widest}")
    else:
        out = np.empty((total, len(cols)), dtype=np.float64)
    start = 0
    for j, col in enumerate(cols):
        out[:, j] = _assemble(rows[:, start : start + col.nbytes], col)
        start += col.nbytes
    return out
