"""Parsing spillover matrices written as delimited text (CSV, TSV, FlowJo exports)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

import numpy as np

from bcsc_flow.errors import CompensationError

__all__ = ["ParsedMatrix", "parse_matrix_text", "parse_matrix_xml"]


@dataclass(frozen=True)
class ParsedMatrix:
    """A matrix read from text: optional title line, column names, optional row names."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[str, ...] | None
    values: np.ndarray


def _number(text: str) -> float | None:
    try:
        return float(text.strip().rstrip("%"))
    except ValueError:
        return None


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    cells = [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]
    while len(cells) > 1 and cells[-1] == "":  # trailing separators
        cells.pop()
    return cells


def _delimiter(lines: list[str]) -> str | None:
    """The separator used on most lines (tab, comma, semicolon), else whitespace."""
    for d in ("\t", ",", ";"):
        if sum(d in ln for ln in lines) * 2 > len(lines):
            return d
    return None


def _names_like(cells: list[str]) -> bool:
    return len(cells) >= 2 and all(_number(c) is None for c in cells)


def parse_matrix_text(text: str, source: str = "<text>") -> ParsedMatrix:
    """Parse a header row of detector names and numeric rows (optionally row-named).

    Leading lines with a single field are a title (the first one is kept); a line of
    names followed by the header is skipped (FlowJo's old text export writes the
    compensated-name prefix and suffix there). Lines starting with ``#`` are comments.

    Example
    -------
    >>> p = parse_matrix_text("My comp\\nFITC-A\\tPE-A\\n1\\t0.2\\n0.01\\t1\\n")
    >>> p.title, p.columns, p.rows, p.values.tolist()
    ('My comp', ('FITC-A', 'PE-A'), None, [[1.0, 0.2], [0.01, 1.0]])
    >>> parse_matrix_text("HRH 960814\\r<\\t>\\rFluor\\tPhyEry\\r1\\t0.18\\r0.009\\t1\\r").columns
    ('Fluor', 'PhyEry')
    """
    numbered = [
        (number, ln)
        for number, ln in enumerate(text.splitlines(), start=1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    delimiter = _delimiter([ln for _, ln in numbered])
    lines = [(number, _split(ln, delimiter)) for number, ln in numbered]
    title = ""
    while lines and len([c for c in lines[0][1] if c]) < 2:
        title = title or " ".join(c for c in lines[0][1] if c)
        lines.pop(0)
    while len(lines) > 2 and _names_like(lines[0][1]) and _names_like(lines[1][1]):
        lines.pop(0)  # a prefix/suffix line before the header
    if len(lines) < 2:
        raise CompensationError(
            f"Spillover file {source!r}: expected a header row of detector names and at least "
            "one row of numbers."
        )
    header = lines[0][1]
    body = lines[1:]
    named_rows = all(_number(cells[0]) is None for _, cells in body if cells)
    n_values = len(header) - (1 if named_rows and len(header) == len(body[0][1]) else 0)
    columns = tuple(header[-n_values:]) if n_values else ()
    if not columns or any(not c for c in columns):
        raise CompensationError(
            f"Spillover file {source!r}: header {header!r} has empty detector names."
        )
    rows: list[str] = []
    values: list[list[float]] = []
    for number, cells in body:
        if named_rows:
            rows.append(cells[0])
            cells = cells[1:]
        if len(cells) != len(columns):
            raise CompensationError(
                f"Spillover file {source!r}, line {number}: {len(cells)} values for "
                f"{len(columns)} detectors ({', '.join(columns)})."
            )
        row = []
        for cell in cells:
            value = _number(cell)
            if value is None:
                raise CompensationError(
                    f"Spillover file {source!r}, line {number}: {cell!r} is not a number."
                )
            row.append(value)
        values.append(row)
    names = tuple(re.sub(r"\s+", " ", r).strip() for r in rows) if named_rows else None
    return ParsedMatrix(title, columns, names, np.array(values, dtype=np.float64))


def parse_matrix_xml(data: bytes, source: str = "<xml>") -> ParsedMatrix:
    """Parse a FlowJo ``.mtx`` matrix: ``CompensationMatrix/Channel/ChannelValue`` (FlowJo 7+)
    or a ``transforms:spilloverMatrix`` (FlowJo 10), with defusedxml.

    Example
    -------
    >>> xml = (b'<CompensationMatrix name="m" prefix="Comp-" suffix="">'
    ...        b'<Channel name="FITC"><ChannelValue name="FITC" value="1"/>'
    ...        b'<ChannelValue name="PE" value="0.16"/></Channel>'
    ...        b'<Channel name="PE"><ChannelValue name="FITC" value="0.02"/>'
    ...        b'<ChannelValue name="PE" value="1"/></Channel></CompensationMatrix>')
    >>> p = parse_matrix_xml(xml)
    >>> p.title, p.columns, p.rows, p.values.tolist()
    ('m', ('FITC', 'PE'), ('FITC', 'PE'), [[1.0, 0.16], [0.02, 1.0]])
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise CompensationError(f"Spillover file {source!r}: not readable XML ({exc}).") from None
    local = root.tag.rpartition("}")[2]
    if local == "CompensationMatrix":
        row_tag, cell_tag, row_key, cell_key, value_key = (
            "Channel",
            "ChannelValue",
            "name",
            "name",
            "value",
        )
    elif local == "spilloverMatrix":
        row_tag, cell_tag, row_key, cell_key, value_key = (
            "spillover",
            "coefficient",
            "parameter",
            "parameter",
            "value",
        )
    else:
        raise CompensationError(
            f"Spillover file {source!r}: XML root <{local}> is not a FlowJo compensation matrix "
            "(CompensationMatrix or spilloverMatrix)."
        )

    def get(el: object, key: str) -> str | None:
        attrib = el.attrib  # type: ignore[attr-defined]
        for name, value in attrib.items():
            if name.rpartition("}")[2] == key:
                return value
        return None

    rows: list[str] = []
    columns: list[str] | None = None
    values: list[list[float]] = []
    for row_el in [e for e in root if e.tag.rpartition("}")[2] == row_tag]:
        cells = [e for e in row_el if e.tag.rpartition("}")[2] == cell_tag]
        names = [get(c, cell_key) or "" for c in cells]
        numbers = [_number(get(c, value_key) or "") for c in cells]
        if any(v is None for v in numbers):
            raise CompensationError(
                f"Spillover file {source!r}: row {get(row_el, row_key)!r} has a non-numeric value."
            )
        if columns is None:
            columns = names
        elif names != columns:
            raise CompensationError(f"Spillover file {source!r}: rows name different detectors.")
        rows.append(get(row_el, row_key) or "")
        values.append([float(v) for v in numbers])  # type: ignore[arg-type]
    if not columns or not values:
        raise CompensationError(f"Spillover file {source!r}: the matrix has no rows.")
    title = get(root, "name") or ""
    return ParsedMatrix(title, tuple(columns), tuple(rows), np.array(values, dtype=np.float64))
