"""HEADER and TEXT segments of an FCS data set: byte offsets and keyword tokenising.

Internal to :mod:`bcsc_flow.io.fcs`. Everything works on bytes; offsets are never computed
on decoded text (STANDARDS A.2, A.3).

Example
-------
>>> issues = Issues("demo.fcs")
>>> tokenize_text(b"/$TOT/3/$PAR/2/", issues)
[('$TOT', '3'), ('$PAR', '2')]
>>> tokenize_text(b"|K1||K2|v|", issues), issues.messages
([('K1', ''), ('K2', 'v')], ['demo.fcs: TEXT has empty values written as a doubled delimiter (K1); read them as empty'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bcsc_flow.errors import FCSFormatError, FCSTruncatedError, FCSUnsupportedError

__all__ = ["Header", "Issues", "parse_header", "tokenize_text"]

HEADER_BYTES = 58
VERSIONS = ("FCS2.0", "FCS3.0", "FCS3.1", "FCS3.2")
_PAD = b" \x00\r\n"


class Issues:
    """Collects the deviations a read tolerated; in strict mode the first one is an error.

    Example
    -------
    >>> Issues("a.fcs", strict=True).note("odd")
    Traceback (most recent call last):
    ...
    bcsc_flow.errors.FCSFormatError: a.fcs: odd (refused because strict=True)
    """

    def __init__(self, label: str, *, strict: bool = False) -> None:
        self.label = label
        self.strict = strict
        self.messages: list[str] = []

    def note(self, message: str) -> None:
        """Record one tolerated deviation (or raise it when strict)."""
        text = f"{self.label}: {message}"
        if self.strict:
            raise FCSFormatError(f"{text} (refused because strict=True)")
        if text not in self.messages:
            self.messages.append(text)


@dataclass(frozen=True)
class Header:
    """The HEADER of one data set; offsets relative to the data set's first byte."""

    version: str
    text_begin: int
    text_end: int
    data_begin: int
    data_end: int
    analysis_begin: int
    analysis_end: int


def _field(raw: bytes, name: str, label: str) -> int:
    text = raw.strip(b" \x00")
    if not text:
        return 0
    if text.startswith(b"-") and text[1:].isdigit():
        return 0
    if not text.isdigit():
        raise FCSFormatError(
            f"{label}: HEADER field {name} holds {raw.decode('latin-1')!r}; expected a decimal offset."
        )
    return int(text)


def parse_header(raw: bytes, issues: Issues) -> Header:
    """Parse the 58 HEADER bytes of a data set.

    Example
    -------
    >>> h = parse_header(b"FCS3.1    " + b"     256    1000    1001    2000       0       0", Issues("x"))
    >>> h.version, h.text_begin, h.data_end
    ('FCS3.1', 256, 2000)
    """
    label = issues.label
    if len(raw) < 6 or raw[:3] != b"FCS":
        shown = raw[:10].decode("latin-1")
        raise FCSFormatError(
            f"{label}: not an FCS file (starts with {shown!r}; an FCS file starts with 'FCS2.0'..'FCS3.2')."
        )
    version = raw[:6].decode("latin-1")
    if version.startswith("FCS1"):
        raise FCSUnsupportedError(f"{label}: {version} files are not supported (FCS 2.0-3.2 are).")
    if len(raw) < HEADER_BYTES:
        raise FCSTruncatedError(
            f"{label}: file ends inside the HEADER ({len(raw)} of {HEADER_BYTES} bytes)."
        )
    if version not in VERSIONS:
        issues.note(f"unknown version {version!r}; read as FCS3.1")
    names = ("TEXT begin", "TEXT end", "DATA begin", "DATA end", "ANALYSIS begin", "ANALYSIS end")
    vals = [_field(raw[10 + 8 * i : 18 + 8 * i], n, label) for i, n in enumerate(names)]
    return Header(version, *vals)


def _decode(raw: bytes, key: str, bad: list[str]) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        bad.append(key)
        return raw.decode("latin-1")


def _words(body: bytes, delim: bytes) -> tuple[list[list[bytes]], bool]:
    """Split on delimiter runs: a run of k is k//2 literal delimiters plus a separator if k is odd.

    Each word is returned as its pieces joined by single-escaped delimiters (runs of two) so an
    empty-value repair can split them again; other runs are resolved in place.
    """
    parts = re.split(b"(" + re.escape(delim) + b"+)", body)
    words: list[list[bytes]] = []
    current: list[bytes] = [parts[0]]
    terminated = False
    last = len(parts) - 1
    for i in range(1, len(parts), 2):
        run = len(parts[i])
        following = parts[i + 1] if i + 1 <= last else b""
        at_end = i + 1 >= last and following == b""
        if at_end:
            terminated = True
            if run % 2 == 1:
                current[-1] += delim * (run // 2)
                words.append(current)
            else:  # "...KEY//" at the end: separator, empty final value, terminator
                current[-1] += delim * ((run - 2) // 2)
                words.append(current)
                words.append([b""])
            return words, terminated
        if run == 2:
            current.append(following)
        else:
            current[-1] += delim * (run // 2)
            if run % 2 == 1:
                words.append(current)
                current = [following]
            else:
                current[-1] += following
    words.append(current)
    return words, terminated


def tokenize_text(
    segment: bytes, issues: Issues, *, leading_delimiter: bytes | None = None
) -> list[tuple[str, str]]:
    """Tokenise a TEXT segment into ``(key, value)`` pairs in file order (A.3 rules).

    ``leading_delimiter`` is given for supplemental TEXT, which uses the primary delimiter
    and may or may not start with it.
    """
    if leading_delimiter is None:
        if not segment:
            raise FCSFormatError(f"{issues.label}: the TEXT segment is empty.")
        delim = segment[:1]
        body = segment[1:]
    else:
        delim = leading_delimiter
        body = segment[1:] if segment.startswith(delim) else segment
    if delim[0] == 0 or delim[0] > 126:
        issues.note(f"unusual TEXT delimiter byte 0x{delim[0]:02x}")
    if delim not in _PAD:
        stripped = body.rstrip(_PAD)
        if len(stripped) != len(body) and stripped.endswith(delim):
            body = stripped
    if not body:
        return []
    words, terminated = _words(body, delim)
    if not terminated:
        issues.note(
            "TEXT does not end with its delimiter; the trailing bytes were read as the last value"
        )
    tokens: list[bytes] = []
    repaired: list[str] = []
    for pieces in words:
        if len(pieces) > 1 and len(tokens) % 2 == 0:  # a key holding a delimiter: empty values
            repaired.append(pieces[0].decode("latin-1").strip())
            for j, piece in enumerate(pieces):
                if j:
                    tokens.append(b"")
                tokens.append(piece)
        else:
            tokens.append(delim.join(pieces))
    if repaired:
        shown = ", ".join(repaired[:5]) + (" ..." if len(repaired) > 5 else "")
        issues.note(
            f"TEXT has empty values written as a doubled delimiter ({shown}); read them as empty"
        )
    if len(tokens) % 2:
        dropped = tokens.pop().decode("latin-1")
        issues.note(f"TEXT has an odd number of words; dropped the dangling key {dropped[:40]!r}")
    bad: list[str] = []
    pairs = []
    for k in range(0, len(tokens), 2):
        key = _decode(tokens[k], f"key {tokens[k][:40]!r}", bad)
        pairs.append((key, _decode(tokens[k + 1], key, bad)))
    if bad:
        shown = ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        issues.note(f"TEXT values are not valid UTF-8 ({shown}); decoded them as Latin-1")
    return pairs
