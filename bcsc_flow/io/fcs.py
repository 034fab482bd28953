"""Read FCS 2.0–3.2 files into :class:`~bcsc_flow.sample.Sample` values; write FCS 3.1.

Reading follows STANDARDS part A: every data set of a ``$NEXTDATA`` chain, every
``$DATATYPE`` (I of any width, F, D, A, and 3.2 ``$PnDATATYPE``), every ``$BYTEORD``, and
the real-world quirks of A.13, each tolerated with one :class:`~bcsc_flow.errors.FCSWarning`
(also kept in ``Sample.warnings``) or refused with an :class:`~bcsc_flow.errors.FCSError`
when ``strict=True``. ``Sample.events`` are scale values (``$PnE`` log decoding and ``$PnG``
division); ``Sample.raw`` keeps the stored values. The input file is only read.

Example
-------
>>> import numpy as np, tempfile, os
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "demo.fcs")
>>> _ = write_fcs(path, np.array([[1.5, 2.0], [3.0, 4.0]]), channels=["FSC-A", "APC-A"],
...               markers=[None, "CD44"])
>>> s = read_fcs(path)
>>> s.names, s.markers, s.events.tolist()
(('FSC-A', 'APC-A'), (None, 'CD44'), [[1.5, 2.0], [3.0, 4.0]])
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from bcsc_flow.errors import (
    FCSError,
    FCSFileNotFoundError,
    FCSFormatError,
    FCSTruncatedError,
    FCSWarning,
    warn,
)
from bcsc_flow.io._fcs_data import decode, locate_data, read_segment
from bcsc_flow.io._fcs_layout import keyword_int, read_layout
from bcsc_flow.io._fcs_params import build_channels, read_spillover, to_scale
from bcsc_flow.io._fcs_text import HEADER_BYTES, Header, Issues, parse_header, tokenize_text
from bcsc_flow.io.fcs_write import write_fcs
from bcsc_flow.sample import Keywords, Sample

__all__ = ["read_fcs", "read_fcs_datasets", "read_fcs_keywords", "write_fcs"]

_SAFETY_NET = (
    IndexError,
    KeyError,
    TypeError,
    ValueError,
    OverflowError,
    AssertionError,
    MemoryError,
)


@dataclass(frozen=True)
class _DataSetText:
    """HEADER and keywords of one data set, located at ``offset`` in the file."""

    offset: int
    header: Header
    keywords: Keywords
    issues: Issues


def _dedupe(pairs: list[tuple[str, str]], issues: Issues) -> list[tuple[str, str]]:
    first: dict[str, str] = {}
    kept: list[tuple[str, str]] = []
    for key, value in pairs:
        up = key.strip().upper()
        if up in first:
            differ = "; the values differ" if first[up] != value else ""
            issues.note(
                f"keyword {key.strip()} appears more than once; kept the first value{differ}"
            )
            continue
        first[up] = value
        kept.append((key, value))
    return kept


def _supplemental(
    handle: BinaryIO,
    size: int,
    offset: int,
    header: Header,
    kw: Keywords,
    delim: bytes,
    issues: Issues,
) -> list[tuple[str, str]]:
    try:
        b = keyword_int(kw, "$BEGINSTEXT", issues.label, default=0) or 0
        e = keyword_int(kw, "$ENDSTEXT", issues.label, default=0) or 0
    except FCSFormatError as exc:
        issues.note(f"ignored unreadable supplemental TEXT offsets ({exc})")
        return []
    if (b, e) == (0, 0) or (b, e) == (header.text_begin, header.text_end):
        return []
    if b < HEADER_BYTES or e < b or offset + e >= size:
        issues.note(f"supplemental TEXT offsets {b}..{e} are outside the file; ignored")
        return []
    handle.seek(offset + b)
    raw = handle.read(e - b + 1)
    if raw.startswith(b"PK"):  # a ZIP archive (CyFlow), not keywords
        return []
    return tokenize_text(raw, issues, leading_delimiter=delim)


def _read_text(handle: BinaryIO, size: int, offset: int, label: str, strict: bool) -> _DataSetText:
    issues = Issues(label, strict=strict)
    handle.seek(offset)
    header = parse_header(handle.read(HEADER_BYTES), issues)
    tb, te = header.text_begin, header.text_end
    if te == header.data_begin and te > tb:
        issues.note(
            "HEADER TEXT end equals DATA begin (off-by-one); TEXT read up to the byte before"
        )
        te -= 1
    if tb < HEADER_BYTES or te < tb:
        raise FCSFormatError(
            f"{label}: HEADER gives the TEXT segment as bytes {tb}..{te}; expected a range after"
            f" the {HEADER_BYTES}-byte HEADER."
        )
    if offset + te >= size:
        raise FCSTruncatedError(
            f"{label}: TEXT segment {tb}..{te} runs past the end of the file ({size} bytes)."
        )
    handle.seek(offset + tb)
    segment = handle.read(te - tb + 1)
    pairs = _dedupe(tokenize_text(segment, issues), issues)
    kw = Keywords(pairs)
    extra = _supplemental(handle, size, offset, header, kw, segment[:1], issues)
    if extra:
        kw = Keywords(pairs + [(k, v) for k, v in extra if k not in kw])
    return _DataSetText(offset, header, kw, issues)


def _next_offset(handle: BinaryIO, size: int, part: _DataSetText, visited: set[int]) -> int | None:
    issues = part.issues
    try:
        step = keyword_int(part.keywords, "$NEXTDATA", issues.label, default=0) or 0
    except FCSFormatError as exc:
        issues.note(f"$NEXTDATA unreadable ({exc}); no further data sets read")
        return None
    if step == 0:
        return None

    def is_fcs(pos: int) -> bool:
        if pos < 0 or pos + HEADER_BYTES > size or pos in visited:
            return False
        handle.seek(pos)
        return handle.read(3) == b"FCS"

    relative = part.offset + step
    if is_fcs(relative):
        return relative
    if step != relative and is_fcs(step):
        issues.note(f"$NEXTDATA {step} only works as an absolute offset; used it so")
        return step
    why = "an already read data set" if relative in visited else "no data set"
    issues.note(f"$NEXTDATA {step} points at {why} (byte {relative}); no further data sets read")
    return None


def _texts(
    handle: BinaryIO, size: int, label: str, strict: bool, upto: int | None
) -> list[_DataSetText]:
    parts: list[_DataSetText] = []
    visited: set[int] = set()
    offset: int | None = 0
    while offset is not None:
        name = label if not parts else f"{label} (data set {len(parts)})"
        visited.add(offset)
        part = _read_text(handle, size, offset, name, strict)
        parts.append(part)
        if upto is not None and len(parts) > upto:
            break
        offset = _next_offset(handle, size, part, visited)
    return parts


def _sample(handle: BinaryIO, size: int, path: Path, index: int, part: _DataSetText) -> Sample:
    issues, header = part.issues, part.header
    kw = {k.strip().upper(): v for k, v in part.keywords.items()}  # plain dict: fast lookups
    layout = read_layout(kw, header.version, issues)
    place = locate_data(header, kw, layout, header.version, size - part.offset, issues)
    buf = read_segment(handle, part.offset + place.begin, place.nbytes, issues.label)
    raw = decode(buf, place.layout, place.total, issues.label)
    chans = build_channels(kw, len(layout.columns), issues)
    events = to_scale(raw, chans, [c.kind for c in place.layout.columns], issues)
    spill = read_spillover(kw, chans, issues)
    return Sample(
        name=path.stem if index == 0 else f"{path.stem}#{index}",
        events=events,
        channels=chans,
        keywords=part.keywords,
        path=path,
        dataset=index,
        version=header.version,
        raw=raw,
        spillover=spill,
        warnings=tuple(issues.messages),
    )


def _open(path: str | os.PathLike[str]) -> BinaryIO:
    """Open an FCS file for reading, with the library's errors for a missing or closed file."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise FCSFileNotFoundError(
            f"{path}: no such FCS file (working folder {os.getcwd()}); check the path"
        ) from None
    except OSError as exc:
        raise FCSError(
            f"{path}: cannot open the file for reading ({exc.strerror or exc})."
        ) from None


def _read(path: str | os.PathLike[str], strict: bool, dataset: int | None) -> list[Sample]:
    p = Path(path)
    label = str(path)
    try:
        with _open(p) as handle, np.errstate(all="ignore"):  # NaN/overflow bits are data
            size = os.fstat(handle.fileno()).st_size
            parts = _texts(handle, size, label, strict, dataset)
            if dataset is not None:
                if dataset >= len(parts):
                    raise FCSError(
                        f"{label}: asked for data set {dataset} but the file holds {len(parts)}"
                        " (numbered from 0)."
                    )
                chosen = [(dataset, parts[dataset])]
            else:
                chosen = list(enumerate(parts))
            samples = [_sample(handle, size, p, i, part) for i, part in chosen]
    except FCSError:
        raise
    except _SAFETY_NET as exc:  # a malformed file must never leak a non-library error
        raise FCSFormatError(
            f"{label}: could not be read as FCS ({type(exc).__name__}: {exc})."
        ) from exc
    for s in samples:
        for message in s.warnings:
            warn(message, FCSWarning)
    return samples


def read_fcs_keywords(path: str | os.PathLike[str], *, dataset: int = 0) -> Keywords:
    """The keywords (HEADER and TEXT) of one data set, without reading its DATA.

    Fast enough to scan a folder (e.g. for ``TUBE NAME`` or ``$SRC``); the reader's
    warnings are not emitted here (:func:`read_fcs` emits them when the file is read).

    Example
    -------
    >>> import numpy as np, tempfile, pathlib
    >>> from bcsc_flow.io.fcs_write import write_fcs
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.fcs"
    >>> _ = write_fcs(path, np.zeros((2, 1)), channels=["FSC-A"], keywords={"TUBE NAME": "irr r1"})
    >>> read_fcs_keywords(path)["tube name"]
    'irr r1'
    """
    label = str(path)
    try:
        with _open(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            parts = _texts(handle, size, label, False, dataset)
    except FCSError:
        raise
    except _SAFETY_NET as exc:
        raise FCSFormatError(
            f"{label}: could not be read as FCS ({type(exc).__name__}: {exc})."
        ) from exc
    if dataset >= len(parts):
        raise FCSError(
            f"{label}: asked for data set {dataset} but the file holds {len(parts)} (numbered from 0)."
        )
    return parts[dataset].keywords


def read_fcs(path: str | os.PathLike[str], *, dataset: int = 0, strict: bool = False) -> Sample:
    """Read one data set of an FCS file (the first unless ``dataset`` says otherwise).

    ``strict=True`` turns every tolerated deviation (off-by-one offsets, missing final
    delimiter, ...) into an :class:`~bcsc_flow.errors.FCSFormatError`.

    Example
    -------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "one.fcs")
    >>> _ = write_fcs(path, np.ones((4, 1)), channels=["FSC-A"])
    >>> s = read_fcs(path)
    >>> len(s), s.version, s.raw.dtype
    (4, 'FCS3.1', dtype('float32'))
    """
    if isinstance(dataset, bool) or not isinstance(dataset, int) or dataset < 0:
        raise FCSError(f"read_fcs(dataset={dataset!r}): expected a data set number >= 0.")
    return _read(path, strict, dataset)[0]


def read_fcs_datasets(path: str | os.PathLike[str], *, strict: bool = False) -> list[Sample]:
    """Read every data set of an FCS file, following ``$NEXTDATA`` (loop-safe).

    Example
    -------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "one.fcs")
    >>> _ = write_fcs(path, np.ones((4, 2)), channels=["FSC-A", "SSC-A"])
    >>> [len(s) for s in read_fcs_datasets(path)]
    [4]
    """
    return _read(path, strict, None)
