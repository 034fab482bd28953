"""Gating-ML 2.0 import and export.

:func:`read` turns a Gating-ML 2.0 document into a :class:`~bcsc_flow.strategy.GatingStrategy`:
gate ids become population names (or the human name our writer stores in
``custom_info``), quadrant ids become populations, spectrum matrices become named
spillovers and transformations are attached to the gate dimensions. References may
point forward. Elements are matched by namespace URI, never by prefix. XML is parsed
with :mod:`defusedxml`: DTD entities (billion laughs) and external entities are refused
before anything is expanded or fetched.

Lenient mode (default) accepts, with a :class:`~bcsc_flow.errors.GatingWarning`,
unprefixed attributes, a missing ``compensation-ref`` (read as ``FCS``), fratio
dimensions placed as siblings, unknown foreign elements and ids that are not NCNames;
``strict=True`` refuses them. Always refused: dangling references, cycles, references
to a QuadrantGate id, wrong vertex/coordinate counts, singular covariance matrices,
invalid transform parameters and Gating-ML elements nested in unknown elements.

:func:`write` is in :mod:`bcsc_flow.gatingml_write`.

Example
-------
>>> doc = b'''<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
...   xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
...   <gating:RectangleGate gating:id="Range1">
...     <gating:dimension gating:compensation-ref="uncompensated" gating:min="100">
...       <data-type:fcs-dimension data-type:name="FSC-H"/>
...     </gating:dimension>
...   </gating:RectangleGate>
... </gating:Gating-ML>'''
>>> strategy = read(doc)
>>> strategy.names, strategy["Range1"].gate.min
(('Range1',), 100.0)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from bcsc_flow.dimensions import Dimension, RatioDimension
from bcsc_flow.errors import BcscFlowError, GatingMLError, did_you_mean
from bcsc_flow.gates import (
    And,
    Divider,
    Ellipse,
    Gate,
    Not,
    Or,
    Polygon,
    Quadrant,
    Range,
    Rectangle,
    Threshold,
)
from bcsc_flow.gatingml_parts import (
    ALIAS_ELEMENT,
    DATATYPE,
    GATING,
    NAME_ELEMENT,
    TRANSFORMS,
    Reader,
    finite,
    qname,
    split,
)
from bcsc_flow.gatingml_write import OPERAND_ROLE, THRESHOLD_ROLE, to_string, write
from bcsc_flow.strategy import GatingStrategy, Population

__all__ = ["read", "write", "to_string", "parse_xml"]

_GATES = ("RectangleGate", "PolygonGate", "EllipsoidGate", "QuadrantGate", "BooleanGate")
_MAX_BYTES = 256 * 1024 * 1024


def parse_xml(data: bytes, source: str = "Gating-ML document") -> Element:
    """Parse XML safely (no DTD entities, no external references) into an Element.

    Example
    -------
    >>> parse_xml(b"<a><b/></a>").tag
    'a'
    """
    import defusedxml
    import defusedxml.ElementTree as safe_et

    try:
        return safe_et.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise GatingMLError(
            f"{source}: refused unsafe XML ({type(exc).__name__}: {exc}); Gating-ML needs no DTD "
            "entities or external references."
        ) from None
    except ParseError as exc:
        raise GatingMLError(f"{source}: not well-formed XML: {exc}.") from None


def _load(source: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray):
        return bytes(source), "Gating-ML document"
    if isinstance(source, str) and source.lstrip().startswith("<"):
        return source.encode("utf-8"), "Gating-ML document"
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > _MAX_BYTES:
            raise GatingMLError(f"{path}: {size} bytes is too large for a Gating-ML document.")
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise GatingMLError(
            f"{path}: cannot read the Gating-ML file ({exc.strerror or exc})."
        ) from None


def read(source: str | os.PathLike[str] | bytes, *, strict: bool = False) -> GatingStrategy:
    """Read a Gating-ML 2.0 document (path, bytes or XML text) into a GatingStrategy.

    Example
    -------
    >>> read(b"<notgatingml/>")
    Traceback (most recent call last):
    ...
    bcsc_flow.errors.GatingMLError: Gating-ML document: the root element is <notgatingml> (namespace ''); expected <Gating-ML> in namespace http://www.isac-net.org/std/Gating-ML/v2.0/gating.
    """
    data, name = _load(source)
    root = parse_xml(data, name)
    if root.tag != qname(GATING, "Gating-ML"):
        uri, local = split(root.tag)
        raise GatingMLError(
            f"{name}: the root element is <{local}> (namespace {uri!r}); expected <Gating-ML> "
            f"in namespace {GATING}."
        )
    reader = Reader(strict=strict, source=name)
    gates: list[Element] = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if child.tag == qname(TRANSFORMS, "transformation"):
            reader.transformation(child)
        elif child.tag == qname(TRANSFORMS, "spectrumMatrix"):
            reader.spectrum_matrix(child)
        elif child.tag in {qname(GATING, g) for g in _GATES}:
            gates.append(child)
        elif child.tag == qname(DATATYPE, "custom_info"):
            continue
        else:
            reader.unknown_child(root, child)
    _check_unique_ids(reader, root)
    return _GateBuilder(reader).build(gates)


def _check_unique_ids(reader: Reader, root: Element) -> None:
    seen: dict[str, str] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for namespace in (GATING, TRANSFORMS):
            ident = element.get(qname(namespace, "id"))
            if ident is None:
                continue
            local = split(element.tag)[1]
            if ident in seen:
                raise reader.fail(
                    element, f"id {ident!r} is also used by <{seen[ident]}>; ids must be unique."
                )
            seen[ident] = local


class _GateBuilder:
    """Second pass: gates, their names and their references."""

    def __init__(self, reader: Reader) -> None:
        self.r = reader
        self.names: dict[str, str] = {}  # Gating-ML id -> population name
        self.quadrant_gate_ids: set[str] = set()
        self.operands: dict[str, Element] = {}
        self.folding: set[str] = set()

    def build(self, elements: list[Element]) -> GatingStrategy:
        for el in elements:
            ident = str(self.r.attr(el, GATING, "id", required=True))
            self.r.check_id(el, ident)
            self.names[ident] = self._human_name(el) or ident
            if el.tag == qname(GATING, "QuadrantGate"):
                self.quadrant_gate_ids.add(ident)
                aliases = self._aliases(el)
                for q in self.r.children(el, GATING, "Quadrant"):
                    qid = str(self.r.attr(q, GATING, "id", required=True))
                    self.r.check_id(q, qid)
                    self.names[qid] = aliases.get(qid, qid)
        self.operands = {
            str(self.r.attr(el, GATING, "id")): el
            for el in elements
            if OPERAND_ROLE in self._roles(el)
        }
        populations = []
        for el in elements:
            ident = str(self.r.attr(el, GATING, "id"))
            if ident in self.operands:
                continue
            parent_id = self.r.attr(el, GATING, "parent_id")
            parent = self._ref(el, parent_id, "parent_id") if parent_id is not None else None
            try:
                gate = self._gate(el)
                populations.append(Population(self.names[ident], gate, parent))
            except GatingMLError:
                raise
            except BcscFlowError as exc:
                raise self.r.fail(el, str(exc)) from None
        try:
            return GatingStrategy(tuple(populations), dict(self.r.spillovers))
        except BcscFlowError as exc:
            raise GatingMLError(f"{self.r.source}: {exc}") from None

    def _marker(self, element: Element, key: str) -> str | None:
        for info in self.r.children(element, DATATYPE, "custom_info"):
            for item in info.iter(NAME_ELEMENT):
                value = item.get(key)
                if value:
                    return value
        return None

    def _aliases(self, element: Element) -> dict[str, str]:
        """Human names of quadrants and dividers kept by our writer (id -> name)."""
        found: dict[str, str] = {}
        for info in self.r.children(element, DATATYPE, "custom_info"):
            for alias in info.iter(ALIAS_ELEMENT):
                if alias.get("id") and alias.get("name"):
                    found[str(alias.get("id"))] = str(alias.get("name"))
        return found

    def _human_name(self, element: Element) -> str | None:
        return self._marker(element, "name")

    def _roles(self, element: Element) -> list[str]:
        return (self._marker(element, "role") or "").split()

    def _ref(self, element: Element, ident: str, role: str) -> str:
        if ident in self.quadrant_gate_ids:
            raise self.r.fail(
                element,
                f"{role} {ident!r} names a QuadrantGate; refer to one of its Quadrant ids instead.",
            )
        if ident not in self.names:
            raise self.r.fail(
                element, f"{role} {ident!r} refers to no gate.{did_you_mean(ident, self.names)}"
            )
        return self.names[ident]

    def _dimensions(self, element: Element) -> list[Dimension | RatioDimension]:
        return [self.r.dimension(d) for d in self.r.children(element, GATING, "dimension")]

    def _check_children(self, element: Element, allowed: tuple[tuple[str, str], ...]) -> None:
        tags = {qname(ns, local) for ns, local in allowed} | {qname(DATATYPE, "custom_info")}
        for child in element:
            if isinstance(child.tag, str) and child.tag not in tags:
                self.r.unknown_child(element, child)

    def _gate(self, el: Element) -> Gate | Quadrant:
        kind = split(el.tag)[1]
        if kind == "RectangleGate":
            self._check_children(el, ((GATING, "dimension"),))
            dims_el = self.r.children(el, GATING, "dimension")
            if not dims_el:
                raise self.r.fail(el, "needs at least one <dimension>.")
            lows = [self.r.number(d, GATING, "min", required=False) for d in dims_el]
            highs = [self.r.number(d, GATING, "max", required=False) for d in dims_el]
            dims = self._dimensions(el)
            if len(dims) == 1:
                if THRESHOLD_ROLE in self._roles(el) and (lows[0] is None) != (highs[0] is None):
                    return Threshold(dims[0], above=lows[0], below=highs[0])
                return Range(dims[0], lows[0], highs[0])
            return Rectangle(tuple(dims), tuple(lows), tuple(highs))
        if kind == "PolygonGate":
            self._check_children(el, ((GATING, "dimension"), (GATING, "vertex")))
            dims = self._dimensions(el)
            if len(dims) != 2:
                raise self.r.fail(el, f"a polygon needs exactly 2 dimensions, found {len(dims)}.")
            vertices = []
            for v in self.r.children(el, GATING, "vertex"):
                coords = self.r.children(v, GATING, "coordinate")
                if len(coords) != 2:
                    raise self.r.fail(el, f"each vertex needs 2 coordinates, found {len(coords)}.")
                vertices.append(tuple(self._value(el, c) for c in coords))
            return Polygon(tuple(dims), tuple(vertices))
        if kind == "EllipsoidGate":
            return self._ellipse(el)
        if kind == "QuadrantGate":
            return self._quadrant(el)
        return self._boolean(el)

    def _value(self, gate: Element, element: Element) -> float:
        value = self.r.number(element, DATATYPE, "value")
        assert value is not None
        return finite(
            f"{self.r.source}: gate {self.r.attr(gate, GATING, 'id', quiet=True)!r}", value
        )

    def _ellipse(self, el: Element) -> Ellipse:
        allowed = (
            (GATING, "dimension"),
            (GATING, "mean"),
            (GATING, "covarianceMatrix"),
            (GATING, "distanceSquare"),
        )
        self._check_children(el, allowed)
        dims = self._dimensions(el)
        means = self.r.children(el, GATING, "mean")
        covs = self.r.children(el, GATING, "covarianceMatrix")
        dist = self.r.children(el, GATING, "distanceSquare")
        if len(means) != 1 or len(covs) != 1 or len(dist) != 1:
            raise self.r.fail(
                el, "needs one <mean>, one <covarianceMatrix> and one <distanceSquare>."
            )
        mean = [self._value(el, c) for c in self.r.children(means[0], GATING, "coordinate")]
        rows = [
            [self._value(el, e) for e in self.r.children(row, GATING, "entry")]
            for row in self.r.children(covs[0], GATING, "row")
        ]
        n = len(dims)
        if len(mean) != n or len(rows) != n or any(len(r) != n for r in rows):
            raise self.r.fail(
                el, f"{n} dimensions need {n} mean coordinates and an {n}x{n} covariance matrix."
            )
        return Ellipse(tuple(dims), tuple(mean), tuple(map(tuple, rows)), self._value(el, dist[0]))

    def _quadrant(self, el: Element) -> Quadrant:
        self._check_children(el, ((GATING, "divider"), (GATING, "Quadrant")))
        dividers: dict[str, Divider] = {}
        aliases = self._aliases(el)
        for d in self.r.children(el, GATING, "divider"):
            ident = str(self.r.attr(d, GATING, "id", required=True))
            values = []
            for v in self.r.children(d, GATING, "value"):
                try:
                    values.append(float((v.text or "").strip()))
                except ValueError:
                    raise self.r.fail(d, f"divider value {v.text!r} is not a number.") from None
            dividers[ident] = Divider(aliases.get(ident, ident), self.r.dimension(d), tuple(values))
        quadrants: dict[str, dict[str, int]] = {}
        for q in self.r.children(el, GATING, "Quadrant"):
            qid = str(self.r.attr(q, GATING, "id"))
            positions: dict[str, int] = {}
            for p in self.r.children(q, GATING, "position"):
                ref = str(self.r.attr(p, GATING, "divider_ref", required=True))
                if ref not in dividers:
                    raise self.r.fail(
                        q,
                        f"divider_ref {ref!r} is not a divider of this gate.{did_you_mean(ref, dividers)}",
                    )
                location = self.r.number(p, GATING, "location")
                assert location is not None
                positions[dividers[ref].name] = dividers[ref].interval(location)
            quadrants[self.names[qid]] = positions
        return Quadrant(tuple(dividers.values()), quadrants)

    def _boolean(self, el: Element) -> Gate:
        ops = [
            c
            for c in el
            if isinstance(c.tag, str) and c.tag in {qname(GATING, k) for k in ("and", "or", "not")}
        ]
        self._check_children(el, ((GATING, "and"), (GATING, "or"), (GATING, "not")))
        if len(ops) != 1:
            raise self.r.fail(
                el, f"a BooleanGate needs exactly one of <and>, <or>, <not>; found {len(ops)}."
            )
        op = ops[0]
        kind = split(op.tag)[1]
        operands: list[Any] = []
        for ref_el in op:
            if not isinstance(ref_el.tag, str):
                continue
            if ref_el.tag != qname(GATING, "gateReference"):
                self.r.unknown_child(op, ref_el)
                continue
            ref = str(self.r.attr(ref_el, GATING, "ref", required=True))
            if ref in self.operands:  # an inline operand gate written by our writer
                if ref in self.folding:
                    raise self.r.fail(el, f"operand gate {ref!r} refers to itself.")
                self.folding.add(ref)
                name: Any = self._gate(self.operands[ref])
                self.folding.discard(ref)
            else:
                name = self._ref(el, ref, "gateReference")
            complement = (self.r.attr(ref_el, GATING, "use-as-complement") or "false").strip()
            if complement not in ("true", "false", "1", "0"):
                raise self.r.fail(
                    el, f"use-as-complement must be true/false/1/0, got {complement!r}."
                )
            operands.append(Not(name) if complement in ("true", "1") else name)
        if kind == "not":
            if len(operands) != 1:
                raise self.r.fail(el, f"<not> takes exactly one operand, found {len(operands)}.")
            return Not(operands[0])
        if len(operands) < 2:
            raise self.r.fail(el, f"<{kind}> needs at least two operands, found {len(operands)}.")
        return And(*operands) if kind == "and" else Or(*operands)
