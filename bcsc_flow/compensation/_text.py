"""Parsing spillover matrices written as delimited text (CSV, TSV, FlowJo exports)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

import numpy as np

from bcsc_flow.errors import CompensationError

__all__ = ["ParsedMatrix", "parse_matrix_text"]


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


def parse_matrix_text(text: str, source: str = "<text>") -> ParsedMatrix:
    """Parse a header row of detector names and numeric rows (optionally row-named).

    Example
    -------
    >>> p = parse_matrix_text("My comp\\nFITC-A\\tPE-A\\n1\\t0.2\\n0.01\\t1\\n")
    >>> p.title, p.columns, p.rows, p.values.tolist()
    ('My comp', ('FITC-A', 'PE-A'), None, [[1.0, 0.2], [0.01, 1.0]])
    """
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    title = ""
    delimiter = _delimiter(lines)
    while lines:
        cells = [c for c in _split(lines[0], delimiter) if c]
        if len(cells) >= 2:
            break
        title = title or (cells[0] if cells else "")
        lines.pop(0)
    if len(lines) < 2:
        raise CompensationError(
            f"Spillover file {source!r}: expected a header row of detector names and at least "
            "one row of numbers."
        )
    header = _split(lines[0], delimiter)
    body = [(_split(ln, delimiter), number) for number, ln in enumerate(lines[1:], start=2)]
    named_rows = all(_number(cells[0]) is None for cells, _ in body if cells)
    n_values = len(header) - (1 if named_rows and len(header) == len(body[0][0]) else 0)
    columns = tuple(header[-n_values:]) if n_values else ()
    if not columns or any(not c for c in columns):
        raise CompensationError(
            f"Spillover file {source!r}: header {header!r} has empty detector names."
        )
    rows: list[str] = []
    values: list[list[float]] = []
    for cells, number in body:
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
