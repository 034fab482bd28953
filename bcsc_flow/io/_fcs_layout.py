"""What the keywords of one FCS data set say about its DATA: columns, widths, byte order.

Internal to :mod:`bcsc_flow.io.fcs` (STANDARDS A.4, A.6). No bytes of DATA are touched here.

Example
-------
>>> from bcsc_flow.io._fcs_text import Issues
>>> kw = {"$PAR": "2", "$TOT": "5", "$DATATYPE": "I", "$BYTEORD": "4,3,2,1",
...       "$P1B": "16", "$P1R": "1024", "$P2B": "8", "$P2R": "256"}
>>> lay = read_layout(kw, "FCS3.0", Issues("x.fcs"))
>>> [c.kind + str(c.nbytes) for c in lay.columns], lay.columns[0].mask, lay.event_bytes
(['I2', 'I1'], 1023, 3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from bcsc_flow.errors import FCSFormatError, FCSUnsupportedError
from bcsc_flow.io._fcs_text import Issues

__all__ = ["Column", "Layout", "keyword_int", "read_layout"]


@dataclass(frozen=True)
class Column:
    """How one parameter is stored: kind ``I``/``F``/``D``/``A``, bits, bytes and byte order."""

    kind: str
    bits: int | None  # $PnB; None for ASCII free format
    nbytes: int  # bytes per value in DATA (0 for ASCII free format)
    order: tuple[int, ...]  # significance (1 = least) of each stored byte, file order
    mask: int | None  # bit mask for I data, None when every stored bit is data


@dataclass(frozen=True)
class Layout:
    """The DATA layout of a data set."""

    columns: tuple[Column, ...]
    total: int | None  # $TOT (None when absent, FCS 2.0)
    packed: bool = False  # I data bit-packed with non-byte widths

    @property
    def event_bytes(self) -> int:
        """Bytes per event (0 for ASCII free format)."""
        return sum(c.nbytes for c in self.columns)

    @property
    def event_bits(self) -> int:
        """Bits per event as declared by ``$PnB``."""
        return sum(c.bits or 0 for c in self.columns)

    def with_storage(self, nbytes: list[int], packed: bool = False) -> Layout:
        """The same layout with other per-column storage widths (non-byte ``$PnB``)."""
        cols = tuple(
            Column(c.kind, c.bits, n, _order_for(c.order, n), c.mask)
            for c, n in zip(self.columns, nbytes, strict=True)
        )
        return Layout(cols, self.total, packed)


def keyword_int(
    kw: Mapping[str, str], key: str, label: str, *, default: int | None = None
) -> int | None:
    """Parse a trimmed integer keyword; absent or blank gives ``default``."""
    raw = kw.get(key)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value == int(value):
            return int(value)
        raise FCSFormatError(f"{label}: keyword {key} is {raw!r}; expected an integer.") from None


def keyword_float(kw: Mapping[str, str], key: str) -> float | None:
    """Parse a trimmed float keyword; ``None`` when absent, blank or not a number."""
    raw = kw.get(key)
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _order_for(order: tuple[int, ...], nbytes: int) -> tuple[int, ...]:
    """Byte significances for an ``nbytes`` value given a ``$BYTEORD`` list."""
    if len(order) == nbytes and sorted(order) == list(range(1, nbytes + 1)):
        return order
    big = len(order) > 1 and order[0] > order[-1]
    return tuple(range(nbytes, 0, -1)) if big else tuple(range(1, nbytes + 1))


def _byteorder(kw: Mapping[str, str], issues: Issues) -> tuple[int, ...]:
    raw = kw.get("$BYTEORD")
    if raw is None:
        issues.note("$BYTEORD is missing; assumed little-endian (1,2,3,4)")
        return (1, 2, 3, 4)
    try:
        order = tuple(int(p) for p in raw.replace(" ", "").split(","))
    except ValueError:
        raise FCSFormatError(
            f"{issues.label}: $BYTEORD is {raw!r}; expected a comma list such as 1,2,3,4 or 4,3,2,1."
        ) from None
    if not order or sorted(order) != list(range(1, len(order) + 1)):
        raise FCSFormatError(
            f"{issues.label}: $BYTEORD is {raw!r}; expected a permutation of 1..n such as 4,3,2,1."
        )
    return order


def _mask(range_value: float | None, bits: int, storage_bits: int) -> int | None:
    data_bits = bits
    if range_value is not None and 1 < range_value < 2.0**64:
        data_bits = min(data_bits, (math.ceil(range_value) - 1).bit_length())
    return (1 << data_bits) - 1 if data_bits < storage_bits else None


def read_layout(kw: Mapping[str, str], version: str, issues: Issues) -> Layout:
    """Column kinds, widths, masks and byte order of a data set from its keywords."""
    label = issues.label
    mode = kw.get("$MODE", "L").strip().upper() or "L"
    if mode in ("C", "U"):
        raise FCSUnsupportedError(
            f"{label}: $MODE is {mode} (histogram data); only list mode (L) is supported."
        )
    if mode != "L":
        issues.note(f"$MODE is {mode!r}; read as list mode (L)")
    par = keyword_int(kw, "$PAR", label)
    if par is None or par < 1:
        raise FCSFormatError(f"{label}: $PAR is {kw.get('$PAR')!r}; expected a positive integer.")
    if par > len(kw):
        raise FCSFormatError(
            f"{label}: $PAR is {par} but the TEXT holds only {len(kw)} keywords;"
            " each parameter needs its own $PnB."
        )
    total = keyword_int(kw, "$TOT", label)
    if total is not None and total < 0:
        raise FCSFormatError(f"{label}: $TOT is {total}; expected a count >= 0.")
    datatype = kw.get("$DATATYPE", "").strip().upper()
    if datatype not in ("I", "F", "D", "A"):
        raise FCSUnsupportedError(
            f"{label}: $DATATYPE is {kw.get('$DATATYPE')!r}; expected I, F, D or A."
        )
    order: tuple[int, ...] = (1,)
    if datatype != "A":
        order = _byteorder(kw, issues)
    monotone = order in (tuple(sorted(order)), tuple(sorted(order, reverse=True)))
    if version in ("FCS3.1", "FCS3.2") and datatype != "A" and (len(order) != 4 or not monotone):
        issues.note(
            f"$BYTEORD {kw.get('$BYTEORD')!r} is not 1,2,3,4 or 4,3,2,1 as {version} requires"
        )
    cols: list[Column] = []
    for n in range(1, par + 1):
        kind = datatype
        own = kw.get(f"$P{n}DATATYPE")
        if own is not None and own.strip():
            kind = own.strip().upper()
            if kind not in ("I", "F", "D"):
                raise FCSFormatError(f"{label}: $P{n}DATATYPE is {own!r}; expected I, F or D.")
            if datatype == "A":
                raise FCSFormatError(f"{label}: $P{n}DATATYPE cannot override $DATATYPE A.")
        braw = kw.get(f"$P{n}B")
        if braw is None:
            raise FCSFormatError(
                f"{label}: $P{n}B is missing; every parameter needs its bit width."
            )
        if kind == "A" and braw.strip() == "*":
            cols.append(Column("A", None, 0, (), None))
            continue
        bits = keyword_int(kw, f"$P{n}B", label)
        assert bits is not None
        if (kind == "F" and bits != 32) or (kind == "D" and bits != 64):
            want = 32 if kind == "F" else 64
            issues.note(f"$P{n}B is {bits} for $DATATYPE {kind}; read as {want} bits")
            bits = want
        if bits < 1 or (kind != "A" and bits > 64):
            raise FCSFormatError(f"{label}: $P{n}B is {bits}; expected 1..64 (or * for ASCII).")
        if kind == "A":
            cols.append(Column("A", bits, bits, (), None))
            continue
        nbytes = (bits + 7) // 8
        mask = None
        if kind == "I":
            mask = _mask(keyword_float(kw, f"$P{n}R"), bits, nbytes * 8)
        cols.append(Column(kind, bits, nbytes, _order_for(order, nbytes), mask))
    free = [c.bits is None for c in cols]
    if any(free) and not all(free):
        raise FCSFormatError(f"{label}: ASCII data mixes $PnB * with fixed widths.")
    return Layout(tuple(cols), total)


def storage_options(layout: Layout) -> list[Layout]:
    """Candidate storages for integer columns whose ``$PnB`` is not a multiple of 8.

    The declared width rounded up to whole bytes, then to a power-of-two word (the CXP
    ``$PnB/10/`` in 16 bits case), then bit-packed.
    """
    if all(c.kind != "I" or (c.bits or 0) % 8 == 0 for c in layout.columns):
        return [layout]
    whole = [c.nbytes for c in layout.columns]
    words = [
        1 << (n - 1).bit_length() if c.kind == "I" else n
        for c, n in zip(layout.columns, whole, strict=True)
    ]
    options = [layout]
    if words != whole:
        options.append(layout.with_storage(words))
    if all(c.kind == "I" for c in layout.columns):
        options.append(Layout(layout.columns, layout.total, packed=True))
    return options
