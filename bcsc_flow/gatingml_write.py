"""Gating-ML 2.0 export of a GatingStrategy (strict, schema-valid output).

Every population becomes a gate whose id is an NCName derived from its name (the exact
name is kept in ``data-type:custom_info`` when they differ); every transformation is
defined once and referenced; each named spillover becomes a ``spectrumMatrix``; every
attribute is namespace-qualified. Gates used *inside* a boolean gate (rather than by
population name) are written as extra gates marked as operands, which :func:`read`
folds back in.

Example
-------
>>> from bcsc_flow.gates import Range
>>> from bcsc_flow.strategy import GatingStrategy
>>> text = to_string(GatingStrategy().add("CD24-/low", Range("PE-A", max=0.3)))
>>> 'gating:id="CD24-_low"' in text, 'name="CD24-/low"' in text
(True, True)
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from bcsc_flow.atomic import atomic_write_text
from bcsc_flow.dimensions import FILE_COMPENSATION, UNCOMPENSATED, Dimension, RatioDimension
from bcsc_flow.errors import GatingMLError
from bcsc_flow.gates import (
    And,
    Ellipse,
    Gate,
    Not,
    Or,
    Polygon,
    Quadrant,
    QuadrantRegion,
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
    is_ncname,
    qname,
)
from bcsc_flow.strategy import GatingStrategy

__all__ = ["write", "to_string"]

OPERAND_ROLE = "operand"
THRESHOLD_ROLE = "threshold"  # a 1-D RectangleGate that was a Threshold (not a Range)
_PARAMS = {
    "flin": (("T", "t"), ("A", "a")),
    "flog": (("T", "t"), ("M", "m")),
    "fasinh": (("T", "t"), ("M", "m"), ("A", "a")),
    "logicle": (("T", "t"), ("W", "w"), ("M", "m"), ("A", "a")),
    "hyperlog": (("T", "t"), ("W", "w"), ("M", "m"), ("A", "a")),
    "fratio": (("A", "a"), ("B", "b"), ("C", "c")),
}


def _num(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        raise GatingMLError("Cannot write NaN to Gating-ML.")
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def _g(tag: str) -> str:
    return qname(GATING, tag)


class _Writer:
    def __init__(self, strategy: GatingStrategy) -> None:
        self.strategy = strategy
        self.used: set[str] = set()
        self.root = ET.Element(_g("Gating-ML"))
        self.transform_ids: dict[Any, str] = {}
        self.ratio_ids: dict[tuple[Any, str, str], str] = {}
        self.spill_ids: dict[str, str] = {}
        self.ids: dict[str, str] = {}  # population / quadrant name -> id
        self.gates: list[ET.Element] = []
        self.definitions: list[ET.Element] = []
        self.operand_count = 0

    def new_id(self, wanted: str) -> str:
        base = re.sub(r"[^\w.\-]", "_", wanted) or "id"
        if not is_ncname(base):
            base = "_" + base
        ident, k = base, 1
        while ident in self.used:
            k += 1
            ident = f"{base}_{k}"
        self.used.add(ident)
        return ident

    # ------------------------------------------------------------------ definitions
    def spillover_id(self, name: str) -> str:
        if name in (UNCOMPENSATED, FILE_COMPENSATION):
            return name
        return self.spill_ids[name]

    def write_spillovers(self) -> None:
        for name, spill in self.strategy.spillovers.items():
            ident = self.new_id(name)
            self.spill_ids[name] = ident
            el = ET.Element(qname(TRANSFORMS, "spectrumMatrix"), {qname(TRANSFORMS, "id"): ident})
            self._custom_name(el, name, ident)
            outputs = tuple(getattr(spill, "outputs", None) or spill.detectors)
            for group, names in (("fluorochromes", outputs), ("detectors", tuple(spill.detectors))):
                g = ET.SubElement(el, qname(TRANSFORMS, group))
                for n in names:
                    ET.SubElement(
                        g, qname(DATATYPE, "fcs-dimension"), {qname(DATATYPE, "name"): str(n)}
                    )
            for row in spill.matrix:
                spec = ET.SubElement(el, qname(TRANSFORMS, "spectrum"))
                for v in row:
                    ET.SubElement(
                        spec,
                        qname(TRANSFORMS, "coefficient"),
                        {qname(TRANSFORMS, "value"): _num(v)},
                    )
            self.definitions.append(el)

    def _transformation(self, transform: Any, ident: str, channels: tuple[str, ...] = ()) -> None:
        kind = getattr(transform, "gatingml_name", "")
        if kind not in _PARAMS:
            raise GatingMLError(
                f"Transform {transform!r} has no Gating-ML 2.0 form; use Linear, Log, Asinh, Logicle, "
                "Hyperlog or Ratio."
            )
        attrs = {qname(TRANSFORMS, "id"): ident}
        for attr, field_name in (("boundMin", "bound_min"), ("boundMax", "bound_max")):
            bound = getattr(transform, field_name, None)
            if bound is not None:
                attrs[qname(TRANSFORMS, attr)] = _num(bound)
        el = ET.Element(qname(TRANSFORMS, "transformation"), attrs)
        inner = ET.SubElement(
            el,
            qname(TRANSFORMS, kind),
            {qname(TRANSFORMS, p): _num(getattr(transform, f)) for p, f in _PARAMS[kind]},
        )
        for channel in channels:
            ET.SubElement(
                inner, qname(DATATYPE, "fcs-dimension"), {qname(DATATYPE, "name"): channel}
            )
        self.definitions.append(el)

    def transform_id(self, transform: Any) -> str:
        if transform not in self.transform_ids:
            ident = self.new_id(
                f"{getattr(transform, 'gatingml_name', 'transform')}_{len(self.transform_ids) + 1}"
            )
            self._transformation(transform, ident)
            self.transform_ids[transform] = ident
        return self.transform_ids[transform]

    def ratio_id(self, dim: RatioDimension) -> str:
        key = (dim.ratio, dim.numerator, dim.denominator)
        if key not in self.ratio_ids:
            ident = self.new_id(dim.name or f"ratio_{len(self.ratio_ids) + 1}")
            self._transformation(dim.ratio, ident, (dim.numerator, dim.denominator))
            self.ratio_ids[key] = ident
        return self.ratio_ids[key]

    # ------------------------------------------------------------------ gates
    def _custom_name(
        self,
        el: ET.Element,
        name: str,
        ident: str,
        role: str | None = None,
        aliases: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Keep a human name (and names of quadrants/dividers) in ``custom_info``."""
        aliases = tuple((i, n) for i, n in aliases if i != n)
        if name == ident and role is None and not aliases:
            return
        info = ET.SubElement(el, qname(DATATYPE, "custom_info"))
        attrs = {"name": name}
        if role is not None:
            attrs["role"] = role
        marker = ET.SubElement(info, NAME_ELEMENT, attrs)
        for alias_id, alias_name in aliases:
            ET.SubElement(marker, ALIAS_ELEMENT, {"id": alias_id, "name": alias_name})

    def dimension(
        self,
        parent: ET.Element,
        dim: Dimension | RatioDimension,
        tag: str = "dimension",
        **bounds: float | None,
    ) -> ET.Element:
        attrs = {_g("compensation-ref"): self.spillover_id(dim.compensation)}
        if dim.transform is not None:
            attrs[_g("transformation-ref")] = self.transform_id(dim.transform)
        for key, value in bounds.items():
            if value is not None:
                attrs[_g(key)] = _num(value)
        el = ET.SubElement(parent, _g(tag), attrs)
        if isinstance(dim, RatioDimension):
            ET.SubElement(
                el,
                qname(DATATYPE, "new-dimension"),
                {qname(DATATYPE, "transformation-ref"): self.ratio_id(dim)},
            )
        else:
            ET.SubElement(
                el, qname(DATATYPE, "fcs-dimension"), {qname(DATATYPE, "name"): dim.channel}
            )
        return el

    def gate(
        self,
        name: str,
        ident: str,
        gate: Gate | Quadrant,
        parent: str | None,
        role: str | None = None,
    ) -> None:
        attrs = {_g("id"): ident}
        if parent is not None:
            attrs[_g("parent_id")] = self.ids[parent]
        if isinstance(gate, QuadrantRegion):  # a lone quadrant region: an open-sided rectangle
            gate = self._region_as_rectangle(gate)
        if isinstance(gate, Threshold):
            role = f"{role} {THRESHOLD_ROLE}" if role else THRESHOLD_ROLE
        if isinstance(gate, Range | Threshold):
            gate = Rectangle((gate.dimension,), (gate.min,), (gate.max,))
        kind = {
            Rectangle: "RectangleGate",
            Polygon: "PolygonGate",
            Ellipse: "EllipsoidGate",
            Quadrant: "QuadrantGate",
        }.get(type(gate), "BooleanGate")
        el = ET.Element(_g(kind), attrs)
        divider_ids: dict[str, str] = {}
        aliases: tuple[tuple[str, str], ...] = ()
        if isinstance(gate, Quadrant):
            divider_ids = {d.name: self.new_id(d.name) for d in gate.dividers}
            aliases = tuple((i, n) for n, i in divider_ids.items())
            aliases += tuple((self.ids[q], q) for q in gate.names)
        self._custom_name(el, name, ident, role, aliases)
        self.gates.append(el)
        if isinstance(gate, Rectangle):
            for d, lo, hi in zip(gate.dimensions, gate.min, gate.max):
                self.dimension(el, d, min=lo, max=hi)
        elif isinstance(gate, Polygon):
            for d in gate.dimensions:
                self.dimension(el, d)
            for vx, vy in gate.vertices:
                v = ET.SubElement(el, _g("vertex"))
                for c in (vx, vy):
                    ET.SubElement(v, _g("coordinate"), {qname(DATATYPE, "value"): _num(c)})
        elif isinstance(gate, Ellipse):
            self._ellipse(el, gate)
        elif isinstance(gate, Quadrant):
            self._quadrant(el, gate, divider_ids)
        elif isinstance(gate, And | Or | Not):
            self._boolean(el, name, gate)
        else:
            raise GatingMLError(
                f"Population {name!r}: gate type {type(gate).__name__} has no Gating-ML form."
            )

    def _region_as_rectangle(self, region: QuadrantRegion) -> Rectangle:
        dims, lows, highs = [], [], []
        for div_name, index in region.positions:
            divider = region.quadrant.divider(div_name)
            low, high = divider.bounds(index)
            dims.append(divider.dimension)
            lows.append(low)
            highs.append(high)
        return Rectangle(tuple(dims), tuple(lows), tuple(highs))

    def _ellipse(self, el: ET.Element, gate: Ellipse) -> None:
        for d in gate.dimensions:
            self.dimension(el, d)
        mean = ET.SubElement(el, _g("mean"))
        for m in gate.mean:
            ET.SubElement(mean, _g("coordinate"), {qname(DATATYPE, "value"): _num(m)})
        cov = ET.SubElement(el, _g("covarianceMatrix"))
        for row in gate.covariance:
            r = ET.SubElement(cov, _g("row"))
            for v in row:
                ET.SubElement(r, _g("entry"), {qname(DATATYPE, "value"): _num(v)})
        ET.SubElement(
            el, _g("distanceSquare"), {qname(DATATYPE, "value"): _num(gate.distance_square)}
        )

    def _quadrant(self, el: ET.Element, gate: Quadrant, divider_ids: dict[str, str]) -> None:
        for divider in gate.dividers:
            d_el = self.dimension(el, divider.dimension, tag="divider")
            d_el.set(_g("id"), divider_ids[divider.name])
            for v in divider.values:
                ET.SubElement(d_el, _g("value")).text = _num(v)
        for qname_, positions in gate.quadrants:
            q_el = ET.SubElement(el, _g("Quadrant"), {_g("id"): self.ids[qname_]})
            for div_name, index in positions:
                values = gate.divider(div_name).values
                if index == 0:
                    location = values[0] - max(1.0, abs(values[0]))
                elif index == len(values):
                    location = values[-1] + max(1.0, abs(values[-1]))
                else:
                    location = (values[index - 1] + values[index]) / 2.0
                ET.SubElement(
                    q_el,
                    _g("position"),
                    {_g("divider_ref"): divider_ids[div_name], _g("location"): _num(location)},
                )

    def _operand_ref(self, owner: str, operand: Any) -> tuple[str, bool]:
        """(id, complement) of a boolean operand, writing operand gates as extra gates."""
        if isinstance(operand, str):
            return self.ids[operand], False
        if isinstance(operand, Not) and isinstance(operand.operand, str):
            return self.ids[operand.operand], True
        self.operand_count += 1
        ident = self.new_id(f"{self.ids[owner]}_operand{self.operand_count}")
        self.ids[ident] = ident
        self.gate(ident, ident, operand, None, role=OPERAND_ROLE)
        return ident, False

    def _boolean(self, el: ET.Element, name: str, gate: And | Or | Not) -> None:
        if isinstance(gate, Not):
            op_el = ET.SubElement(el, _g("not"))
            inner = gate.operand
            ident = self.ids[inner] if isinstance(inner, str) else self._operand_ref(name, inner)[0]
            ET.SubElement(op_el, _g("gateReference"), {_g("ref"): ident})
            return
        op_el = ET.SubElement(el, _g("and" if isinstance(gate, And) else "or"))
        for operand in gate.operands:
            ident, complement = self._operand_ref(name, operand)
            attrs = {_g("ref"): ident}
            if complement:
                attrs[_g("use-as-complement")] = "true"
            ET.SubElement(op_el, _g("gateReference"), attrs)

    def document(self) -> ET.Element:
        self.write_spillovers()
        for p in self.strategy.populations:
            self.ids[p.name] = self.new_id(p.name)
            if isinstance(p.gate, Quadrant):
                for region in p.gate.names:
                    self.ids[region] = self.new_id(region)
        for p in self.strategy.populations:
            self.gate(p.name, self.ids[p.name], p.gate, p.parent)
        self.root.extend(self.definitions)
        self.root.extend(self.gates)
        return self.root


def to_string(strategy: GatingStrategy) -> str:
    """The Gating-ML 2.0 document of a strategy, as text.

    Example
    -------
    >>> to_string(GatingStrategy()).startswith('<?xml version="1.0" encoding="UTF-8"?>')
    True
    """
    if not isinstance(strategy, GatingStrategy):
        raise GatingMLError(f"write: expected a GatingStrategy, got {type(strategy).__name__}.")
    for prefix, uri in (("gating", GATING), ("transforms", TRANSFORMS), ("data-type", DATATYPE)):
        ET.register_namespace(prefix, uri)
    root = _Writer(strategy).document()
    used = {
        uri for e in root.iter() for key in (e.tag, *e.attrib) if (uri := key[1:].partition("}")[0])
    }
    for prefix, uri in (("transforms", TRANSFORMS), ("data-type", DATATYPE)):
        if uri not in used:  # declare all three namespaces, as STANDARDS C.8 asks
            root.set(f"xmlns:{prefix}", uri)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def write(
    strategy: GatingStrategy, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a strategy as a Gating-ML 2.0 file (UTF-8) atomically and return its path.

    An existing file is replaced only with ``overwrite=True`` (GatingMLError otherwise).

    Example
    -------
    >>> import tempfile, os
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.gatingml import read
    >>> st = GatingStrategy().add("cells", Range("FSC-A", 10, 20))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write(st, os.path.join(tmp, "gates.xml"))
    ...     read(out)["cells"].gate == st["cells"].gate
    True
    """
    text = to_string(strategy)
    target = Path(path)
    if target.exists() and not overwrite:
        raise GatingMLError(f"{target}: file exists; pass overwrite=True to replace it.")
    try:
        atomic_write_text(target, text)
    except OSError as exc:
        raise GatingMLError(
            f"{target}: cannot write the Gating-ML file ({exc.strerror or exc})."
        ) from None
    return target
