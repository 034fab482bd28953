"""Gating-ML 2.0 building blocks shared by the reader and the writer.

Namespaces (matched by URI, never by prefix), attribute access with the lenient /
strict policy of STANDARDS.md C.8, and parsing of transformations, spectrum matrices
and dimensions into bcsc_flow values.

Example
-------
>>> GATING.endswith("/gating"), qname(GATING, "id")
(True, '{http://www.isac-net.org/std/Gating-ML/v2.0/gating}id')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from bcsc_flow.dimensions import FILE_COMPENSATION, UNCOMPENSATED, Dimension, RatioDimension
from bcsc_flow.errors import BcscFlowError, GatingMLError, GatingWarning, did_you_mean, warn

__all__ = [
    "GATING",
    "TRANSFORMS",
    "DATATYPE",
    "NAME_ELEMENT",
    "ALIAS_ELEMENT",
    "Reader",
    "qname",
    "is_ncname",
]

GATING = "http://www.isac-net.org/std/Gating-ML/v2.0/gating"
TRANSFORMS = "http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
DATATYPE = "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes"
OUR_NAMESPACES = (GATING, TRANSFORMS, DATATYPE)
NAME_ELEMENT = "bcsc_flow"  # <data-type:custom_info><bcsc_flow name="human name"/></...>
ALIAS_ELEMENT = "alias"  # <bcsc_flow ...><alias id="Q_1" name="CD44+ CD24-"/></bcsc_flow>

_NCNAME = re.compile(r"^[^\W\d][\w.\-]*$")


def qname(namespace: str, local: str) -> str:
    """ElementTree's ``{uri}local`` form.

    Example
    -------
    >>> qname("urn:x", "id")
    '{urn:x}id'
    """
    return f"{{{namespace}}}{local}"


def split(tag: str) -> tuple[str, str]:
    """(namespace URI, local name) of an ElementTree tag or attribute key.

    Example
    -------
    >>> split("{urn:x}RectangleGate"), split("plain")
    (('urn:x', 'RectangleGate'), ('', 'plain'))
    """
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def is_ncname(text: str) -> bool:
    """True for an XML NCName (letter or ``_`` first; no spaces or colons).

    Example
    -------
    >>> is_ncname("CD44pos"), is_ncname("CD24-/low"), is_ncname("1st")
    (True, False, False)
    """
    return bool(_NCNAME.match(text))


def _number(where: str, text: str | None) -> float:
    try:
        return float(str(text).strip())
    except (TypeError, ValueError):
        raise GatingMLError(f"{where}: expected a number, got {text!r}.") from None


@dataclass
class Reader:
    """Parsing state: the lenient/strict policy and the objects defined so far.

    Example
    -------
    >>> Reader(strict=True).fail(Element("x"), "bad").args[0]
    'Gating-ML document: <x>: bad'
    """

    strict: bool = False
    source: str = "Gating-ML document"
    transforms: dict[str, Any] = field(default_factory=dict)
    ratios: dict[str, tuple[Any, str, str]] = field(default_factory=dict)
    spillovers: dict[str, Any] = field(default_factory=dict)
    spill_names: dict[str, str] = field(default_factory=dict)  # matrix id -> our name

    # ------------------------------------------------------------------ policy
    def lenient(self, message: str) -> None:
        """Refuse in strict mode; warn in lenient mode."""
        if self.strict:
            raise GatingMLError(f"{self.source}: {message} (strict mode).")
        warn(f"{self.source}: {message}; accepted (lenient mode).", GatingWarning)

    def fail(self, element: Element, message: str) -> GatingMLError:
        """A GatingMLError naming the element (and its id when it has one)."""
        _, local = split(element.tag)
        ident = self.attr(element, GATING, "id", quiet=True) or self.attr(
            element, TRANSFORMS, "id", quiet=True
        )
        label = f"<{local} id={ident!r}>" if ident else f"<{local}>"
        return GatingMLError(f"{self.source}: {label}: {message}")

    def attr(
        self,
        element: Element,
        namespace: str,
        name: str,
        *,
        required: bool = False,
        quiet: bool = False,
    ) -> str | None:
        """A namespace-qualified attribute; an unqualified one is accepted leniently."""
        value = element.get(qname(namespace, name))
        if value is None and name in element.attrib:
            value = element.attrib[name]
            if not quiet:
                self.lenient(
                    f"attribute {name!r} of <{split(element.tag)[1]}> has no namespace prefix"
                )
        if value is None and required:
            raise self.fail(element, f"missing required attribute {name!r}.")
        return value

    def number(
        self, element: Element, namespace: str, name: str, *, required: bool = True
    ) -> float | None:
        """A numeric attribute."""
        text = self.attr(element, namespace, name, required=required)
        if text is None:
            return None
        return _number(f"{self.source}: <{split(element.tag)[1]}> attribute {name!r}", text)

    def children(self, element: Element, namespace: str, *names: str) -> list[Element]:
        """Children with the given local names in the namespace; others are checked."""
        wanted = {qname(namespace, n) for n in names}
        return [c for c in element if c.tag in wanted]

    def unknown_child(self, parent: Element, child: Element) -> None:
        """Refuse Gating-ML elements out of place; skip foreign ones leniently."""
        uri, local = split(child.tag)
        if not isinstance(child.tag, str):  # comments / processing instructions
            return
        if uri in OUR_NAMESPACES:
            raise self.fail(parent, f"unexpected element <{local}> here.")
        if any(
            split(e.tag)[0] in OUR_NAMESPACES
            for e in child.iter()
            if isinstance(e.tag, str) and e is not child
        ):
            raise self.fail(
                parent,
                f"Gating-ML elements are nested inside the unknown element <{local}>; "
                "gates, transformations and matrices must be direct children of <Gating-ML>.",
            )
        self.lenient(f"unknown element <{local}> inside <{split(parent.tag)[1]}> ignored")

    def check_id(self, element: Element, ident: str) -> None:
        """Warn or refuse when an id is not an NCName."""
        if not is_ncname(ident):
            self.lenient(f"id {ident!r} of <{split(element.tag)[1]}> is not an XML NCName")

    # ------------------------------------------------------------------ transforms
    def transformation(self, element: Element) -> None:
        """Parse <transforms:transformation> into ``self.transforms`` or ``self.ratios``."""
        from bcsc_flow import transforms as tf

        ident = self.attr(element, TRANSFORMS, "id", required=True)
        assert ident is not None
        self.check_id(element, ident)
        bounds = {
            "bound_min": self.number(element, TRANSFORMS, "boundMin", required=False),
            "bound_max": self.number(element, TRANSFORMS, "boundMax", required=False),
        }
        kinds = [c for c in element if isinstance(c.tag, str) and split(c.tag)[0] == TRANSFORMS]
        if len(kinds) != 1:
            raise self.fail(
                element, f"expected exactly one transformation element, found {len(kinds)}."
            )
        inner = kinds[0]
        kind = split(inner.tag)[1]
        params = {
            "flin": (tf.Linear, ("T", "A")),
            "flog": (tf.Log, ("T", "M")),
            "fasinh": (tf.Asinh, ("T", "M", "A")),
            "logicle": (tf.Logicle, ("T", "W", "M", "A")),
            "hyperlog": (tf.Hyperlog, ("T", "W", "M", "A")),
            "fratio": (tf.Ratio, ("A", "B", "C")),
        }
        if kind not in params:
            raise self.fail(
                element,
                f"unsupported transformation <{kind}>; expected one of {', '.join(params)}.",
            )
        cls, names = params[kind]
        values = [self.number(inner, TRANSFORMS, n) for n in names]
        try:
            made = cls(*values, **bounds)
        except BcscFlowError as exc:
            raise self.fail(element, f"invalid {kind} parameters: {exc}") from None
        for c in element:
            if c is not inner and not (
                kind == "fratio" and c.tag == qname(DATATYPE, "fcs-dimension")
            ):
                self.unknown_child(element, c)
        if kind != "fratio":
            self.transforms[ident] = made
            return
        dims = self.children(inner, DATATYPE, "fcs-dimension")
        if len(dims) == 0:
            dims = self.children(element, DATATYPE, "fcs-dimension")
            if dims:
                self.lenient(f"fratio {ident!r} has its fcs-dimension elements as siblings")
        if len(dims) != 2:
            raise self.fail(
                element, f"fratio needs exactly two fcs-dimension elements, found {len(dims)}."
            )
        channels = [self.attr(d, DATATYPE, "name", required=True) for d in dims]
        self.ratios[ident] = (made, str(channels[0]), str(channels[1]))

    def spectrum_matrix(self, element: Element) -> None:
        """Parse <transforms:spectrumMatrix> into a named Spillover."""
        import numpy as np

        from bcsc_flow.compensation import Spillover

        ident = self.attr(element, TRANSFORMS, "id", required=True)
        assert ident is not None
        self.check_id(element, ident)

        def names(group: str) -> list[str]:
            found = self.children(element, TRANSFORMS, group)
            if len(found) != 1:
                raise self.fail(element, f"expected one <{group}> element, found {len(found)}.")
            return [str(self.attr(d, DATATYPE, "name", required=True)) for d in found[0]]

        fluorochromes, detectors = names("fluorochromes"), names("detectors")
        rows = [
            [
                self.number(c, TRANSFORMS, "value")
                for c in self.children(spec, TRANSFORMS, "coefficient")
            ]
            for spec in self.children(element, TRANSFORMS, "spectrum")
        ]
        inverted = (self.attr(element, TRANSFORMS, "matrix-inverted-already") or "false").strip()
        matrix = np.array(rows, dtype=np.float64)
        if inverted in ("true", "1"):
            if matrix.shape != (len(detectors), len(fluorochromes)):
                raise self.fail(
                    element,
                    f"an inverted matrix needs {len(detectors)} rows of {len(fluorochromes)} coefficients.",
                )
            matrix = np.linalg.pinv(matrix)
        if matrix.shape != (len(fluorochromes), len(detectors)):
            raise self.fail(
                element,
                f"needs {len(fluorochromes)} spectrum rows of {len(detectors)} coefficients "
                f"(one row per fluorochrome), got shape {matrix.shape}.",
            )
        name = ident
        for info in self.children(element, DATATYPE, "custom_info"):
            for marker in info.iter(NAME_ELEMENT):
                name = marker.get("name") or name
        self.spill_names[ident] = name
        try:
            self.spillovers[name] = Spillover(
                tuple(detectors), matrix, tuple(fluorochromes), name=name
            )
        except BcscFlowError as exc:
            raise self.fail(element, str(exc)) from None

    # ------------------------------------------------------------------ dimensions
    def dimension(self, element: Element) -> Dimension | RatioDimension:
        """A <gating:dimension> or <gating:divider> as a Dimension/RatioDimension."""
        compensation = self.attr(element, GATING, "compensation-ref")
        if compensation is None:
            self.lenient(f"<{split(element.tag)[1]}> has no compensation-ref; assuming 'FCS'")
            compensation = FILE_COMPENSATION
        elif compensation not in (FILE_COMPENSATION, UNCOMPENSATED):
            if compensation not in self.spill_names:
                raise self.fail(
                    element,
                    f"compensation-ref {compensation!r} names no spectrumMatrix of this document."
                    f"{did_you_mean(compensation, self.spill_names)} Use 'FCS', 'uncompensated' "
                    "or the id of a transforms:spectrumMatrix.",
                )
            compensation = self.spill_names[compensation]
        transform = None
        ref = self.attr(element, GATING, "transformation-ref")
        if ref is not None:
            if ref in self.ratios:
                raise self.fail(
                    element, f"transformation-ref {ref!r} is an fratio; use it in <new-dimension>."
                )
            if ref not in self.transforms:
                raise self.fail(
                    element,
                    f"unknown transformation-ref {ref!r}.{did_you_mean(ref, self.transforms)}",
                )
            transform = self.transforms[ref]
        fcs = self.children(element, DATATYPE, "fcs-dimension")
        new = self.children(element, DATATYPE, "new-dimension")
        if len(fcs) + len(new) != 1:
            raise self.fail(element, "needs exactly one fcs-dimension or new-dimension child.")
        try:
            if fcs:
                channel = self.attr(fcs[0], DATATYPE, "name", required=True)
                return Dimension(str(channel), transform, compensation)
            ratio_ref = self.attr(new[0], DATATYPE, "transformation-ref", required=True)
            if ratio_ref not in self.ratios:
                raise self.fail(
                    element,
                    f"new-dimension refers to {ratio_ref!r}, which is not an fratio."
                    f"{did_you_mean(str(ratio_ref), self.ratios)}",
                )
            ratio, numerator, denominator = self.ratios[str(ratio_ref)]
            return RatioDimension(
                numerator, denominator, ratio, transform, compensation, name=str(ratio_ref)
            )
        except BcscFlowError as exc:
            if isinstance(exc, GatingMLError):
                raise
            raise self.fail(element, str(exc)) from None


def finite(where: str, value: float) -> float:
    """Refuse NaN/inf coordinates.

    Example
    -------
    >>> finite("gate 'P'", 2.5)
    2.5
    """
    if not math.isfinite(value):
        raise GatingMLError(f"{where}: coordinate must be finite, got {value!r}.")
    return value
