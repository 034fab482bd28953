"""A small, deliberately independent FCS byte builder for the reader tests.

It writes exactly what it is told (including broken things), so tests can produce each
quirk of STANDARDS A.13. It shares no code with ``bcsc_flow.io``.

Example
-------
>>> blob = build([("$PAR", "1"), ("$TOT", "2"), ("$DATATYPE", "I"), ("$BYTEORD", "1,2"),
...               ("$P1B", "16"), ("$P1R", "1024"), ("$P1N", "A")], b"\\x01\\x00\\x02\\x00")
>>> blob[:6], len(blob) > 58
(b'FCS3.1', True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Pair = tuple[str | bytes, str | bytes]


def _b(x: str | bytes) -> bytes:
    return x if isinstance(x, bytes) else x.encode("utf-8")


def text_segment(
    pairs: Sequence[Pair], delim: bytes = b"/", *, escape: bool = True, final: bool = True
) -> bytes:
    """``delim key delim value delim ...``; delimiters inside words are doubled if ``escape``."""
    out = [delim]
    for k, v in pairs:
        for word in (_b(k), _b(v)):
            out.append(word.replace(delim, delim + delim) if escape else word)
            out.append(delim)
    seg = b"".join(out)
    return seg if final else seg[:-1]


def header(version: str, fields: Sequence[int | str]) -> bytes:
    """58-byte HEADER: version, four spaces, six 8-byte right-justified fields (ints or raw strings)."""
    cells = [(str(f).rjust(8) if isinstance(f, int) else f) for f in fields]
    raw = version.encode() + b"    " + "".join(cells).encode()
    assert len(raw) == 58, raw
    return raw


def build(
    pairs: Sequence[Pair],
    data: bytes,
    *,
    version: str = "FCS3.1",
    delim: bytes = b"/",
    text_begin: int = 256,
    text_offsets: bool = True,
    nextdata: int | None = 0,
    header_fields: Callable[[int, int, int, int], Sequence[int | str]] | None = None,
    text_override: Callable[[bytes], bytes] | None = None,
    data_offsets: Callable[[int, int], tuple[int, int]] | None = None,
    gap: int = 0,
    trailer: bytes = b"",
) -> bytes:
    """One data set: HEADER, TEXT (with $BEGINDATA/$ENDDATA, 10-digit zero padded), DATA.

    ``data_offsets(begin, end)`` lets a test lie in the TEXT offsets; ``header_fields``
    lets it lie in (or blank) the HEADER; ``text_override`` edits the final TEXT bytes
    (the offsets must then still fit, so keep lengths equal).
    """
    extra: list[Pair] = []
    if nextdata is not None:
        extra.append(("$NEXTDATA", f"{nextdata:010d}"))
    probe = text_segment([("$BEGINDATA", "0" * 10), ("$ENDDATA", "0" * 10), *extra, *pairs], delim)
    if not text_offsets:
        probe = text_segment([*extra, *pairs], delim)
    text_end = text_begin + len(probe) - 1
    begin = text_end + 1 + gap
    end = begin + len(data) - 1
    tb, te = (begin, end) if data_offsets is None else data_offsets(begin, end)
    lead: list[Pair] = (
        [("$BEGINDATA", f"{tb:010d}"), ("$ENDDATA", f"{te:010d}")] if text_offsets else []
    )
    seg = text_segment([*lead, *extra, *pairs], delim)
    if text_override is not None:
        seg = text_override(seg)
    assert len(seg) == len(probe) or text_override is not None
    fields = [text_begin, text_begin + len(seg) - 1, begin, end, 0, 0]
    if header_fields is not None:
        fields = list(header_fields(*fields[:4]))
    head = header(version, fields).ljust(text_begin, b" ")
    filler = b" " * (begin - (text_begin + len(seg))) if begin >= text_begin + len(seg) else b""
    return head + seg + filler + data + trailer


def params(
    kind: str,
    bits: Sequence[int],
    *,
    ranges: Sequence[float] | None = None,
    byteord: str = "1,2,3,4",
    names: Sequence[str] | None = None,
) -> list[Pair]:
    """Layout keywords for ``len(bits)`` parameters (and $TOT left to the caller)."""
    out: list[Pair] = [
        ("$PAR", str(len(bits))),
        ("$DATATYPE", kind),
        ("$BYTEORD", byteord),
        ("$MODE", "L"),
    ]
    for n, b in enumerate(bits, start=1):
        out.append((f"$P{n}N", names[n - 1] if names else f"P{n}"))
        out.append((f"$P{n}B", str(b)))
        r = ranges[n - 1] if ranges else 2**b if kind == "I" and b < 64 else 262144
        out.append((f"$P{n}R", str(int(r)) if float(r).is_integer() else str(r)))
        out.append((f"$P{n}E", "0,0"))
    return out
