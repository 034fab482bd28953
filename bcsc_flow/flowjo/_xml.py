"""Reading the XML of a FlowJo 10 workspace: namespaces, attributes, transforms, matrices.

FlowJo reuses the Gating-ML 2.0 namespaces but mixes qualified attributes
(``gating:min``, ``transforms:T``, ``data-type:name``) with plain ones (``name``,
``gain``, ``eventsInside``); :func:`attr` accepts either.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np

from bcsc_flow.compensation import Spillover
from bcsc_flow.errors import BcscFlowError, FlowJoError
from bcsc_flow.transforms import Asinh, FlowJoBiex, Linear, Log, Logicle

__all__ = [
    "DATA_TYPE",
    "GATING",
    "TRANSFORMS",
    "attr",
    "local_name",
    "parse_keywords",
    "parse_spillover",
    "parse_transforms",
    "q",
]

GATING = "http://www.isac-net.org/std/Gating-ML/v2.0/gating"
TRANSFORMS = "http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
DATA_TYPE = "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes"
_NAMESPACES = (GATING, TRANSFORMS, DATA_TYPE)


def q(namespace: str, local: str) -> str:
    """Clark notation ``{namespace}local`` of a qualified name.

    Example
    -------
    >>> q(GATING, "RectangleGate")
    '{http://www.isac-net.org/std/Gating-ML/v2.0/gating}RectangleGate'
    """
    return f"{{{namespace}}}{local}"


def local_name(element: Element) -> str:
    """The tag without its namespace.

    Example
    -------
    >>> from xml.etree.ElementTree import Element
    >>> local_name(Element(q(GATING, "PolygonGate")))
    'PolygonGate'
    """
    return element.tag.rpartition("}")[2]


def prefixed(element: Element) -> str:
    """The tag with a conventional prefix (``gating:PolygonGate``), for messages."""
    tag = element.tag
    for prefix, ns in (("gating", GATING), ("transforms", TRANSFORMS), ("data-type", DATA_TYPE)):
        if tag.startswith(f"{{{ns}}}"):
            return f"{prefix}:{local_name(element)}"
    return local_name(element)


def attr(element: Element, local: str, default: str | None = None) -> str | None:
    """An attribute by local name, plain or qualified in any Gating-ML namespace.

    Example
    -------
    >>> from xml.etree.ElementTree import Element
    >>> attr(Element("x", {q(GATING, "min"): "1.5", "gain": "1"}), "min")
    '1.5'
    """
    if local in element.attrib:
        return element.attrib[local]
    for ns in _NAMESPACES:
        key = q(ns, local)
        if key in element.attrib:
            return element.attrib[key]
    return default


def number(element: Element, local: str, where: str, default: float | None = None) -> float:
    """A numeric attribute; :class:`FlowJoError` naming ``where`` when missing or bad."""
    text = attr(element, local)
    if text is None:
        if default is not None:
            return default
        raise FlowJoError(f"{where}: <{prefixed(element)}> has no {local!r} attribute.")
    try:
        value = float(text)
    except ValueError:
        raise FlowJoError(
            f"{where}: <{prefixed(element)}> attribute {local}={text!r} is not a number."
        ) from None
    if not math.isfinite(value):
        raise FlowJoError(
            f"{where}: <{prefixed(element)}> attribute {local}={text!r} is not finite."
        )
    return value


def parse_keywords(sample_el: Element) -> dict[str, str]:
    """The ``Keywords/Keyword name= value=`` pairs of a workspace sample."""
    out: dict[str, str] = {}
    kw_el = sample_el.find("Keywords")
    if kw_el is None:
        return out
    for kw in kw_el.findall("Keyword"):
        name = kw.get("name")
        if name is not None:
            out.setdefault(name, kw.get("value", ""))
    return out


# ---------------------------------------------------------------------- transforms
def _linear(el: Element, where: str) -> Any:
    low = number(el, "minRange", where, 0.0)
    high = number(el, "maxRange", where, 262144.0)
    if high <= low:
        raise FlowJoError(f"{where}: linear axis with minRange={low:g} >= maxRange={high:g}.")
    # FlowJo's display axis spans [minRange, maxRange]: (x - min) / (max - min).
    return Linear(high, -low)


def _log(el: Element, where: str) -> Any:
    offset = number(el, "offset", where, 1.0)
    decades = number(el, "decades", where, 4.5)
    if offset <= 0 or decades <= 0:
        raise FlowJoError(
            f"{where}: log axis needs offset > 0 and decades > 0 (got {offset:g}, {decades:g})."
        )
    # (log10 x - log10 offset) / decades, i.e. flog with T = offset·10^decades; values
    # below the offset pile up at 0 as on FlowJo's axis.
    return Log(offset * 10.0**decades, decades, bound_min=0.0)


def _logicle(el: Element, where: str) -> Any:
    return Logicle(
        number(el, "T", where),
        number(el, "W", where),
        number(el, "M", where),
        number(el, "A", where, 0.0),
    )


def _fasinh(el: Element, where: str) -> Any:
    # FlowJo also writes W and length for its arcsinh axis; they do not change the scale.
    return Asinh(number(el, "T", where), number(el, "M", where), number(el, "A", where, 0.0))


def _biex(el: Element, where: str) -> Any:
    length = attr(el, "length", "256")
    if length != "256":
        raise FlowJoError(
            f"{where}: biex axis with length={length!r} is not supported (FlowJo 10 writes 256)."
        )
    return FlowJoBiex(
        max_value=number(el, "maxRange", where, 262144.0),
        width=number(el, "width", where, -10.0),
        neg=number(el, "neg", where, 0.0),
        pos=number(el, "pos", where, 4.418540),
    )


_TRANSFORMS: dict[str, Callable[[Element, str], Any]] = {
    "linear": _linear,
    "log": _log,
    "logicle": _logicle,
    "fasinh": _fasinh,
    "biex": _biex,
}


def parse_transforms(sample_el: Element, where: str) -> dict[str, Any]:
    """Per-parameter display transforms of a sample (``Transformations`` element).

    Unsupported transform elements raise :class:`FlowJoError` naming the element and
    the parameter.
    """
    out: dict[str, Any] = {}
    xf_el = sample_el.find("Transformations")
    if xf_el is None:
        return out
    for el in list(xf_el):
        param_el = el.find(q(DATA_TYPE, "parameter"))
        param = None if param_el is None else attr(param_el, "name")
        if not param:
            raise FlowJoError(f"{where}: <{prefixed(el)}> in Transformations names no parameter.")
        kind = local_name(el)
        build = _TRANSFORMS.get(kind)
        here = f"{where}, transform of {param!r}"
        if build is None:
            raise FlowJoError(
                f"{here}: transform element <{prefixed(el)}> is not supported; supported: "
                f"{', '.join(sorted(_TRANSFORMS))}. Re-save the axis in FlowJo as one of those."
            )
        try:
            out[param] = build(el, here)
        except FlowJoError:
            raise
        except BcscFlowError as exc:
            raise FlowJoError(f"{here}: {exc}") from None
    return out


# ---------------------------------------------------------------------- compensation
def parse_spillover(sample_el: Element, where: str) -> tuple[Spillover, str, str] | None:
    """The sample's ``transforms:spilloverMatrix`` as (Spillover, prefix, suffix), or None.

    Rows are the ``transforms:spillover`` elements (their ``data-type:parameter``), columns
    the coefficients' parameters; rows named like the columns give a square matrix in
    column order, otherwise the row names become fluorochromes (spectral matrices).
    """
    matrices = sample_el.findall(q(TRANSFORMS, "spilloverMatrix"))
    if not matrices:
        return None
    if len(matrices) > 1:
        raise FlowJoError(
            f"{where}: {len(matrices)} spillover matrices; one per sample is supported."
        )
    mel = matrices[0]
    name = attr(mel, "name") or attr(mel, "id") or "FlowJo matrix"
    algorithm = mel.get("weightOptAlgorithmType", "OLS")
    if mel.get("spectral") == "1" and algorithm != "OLS":
        raise FlowJoError(
            f"{where}: spectral matrix {name!r} uses unmixing {algorithm!r}; only ordinary "
            "least squares (OLS) is supported."
        )
    row_names: list[str] = []
    columns: list[str] | None = None
    rows: list[list[float]] = []
    for sp_el in mel.findall(q(TRANSFORMS, "spillover")):
        row_name = attr(sp_el, "parameter")
        coeffs = sp_el.findall(q(TRANSFORMS, "coefficient"))
        names = [attr(c, "parameter") or "" for c in coeffs]
        values = [number(c, "value", f"{where}, matrix {name!r}") for c in coeffs]
        if columns is None:
            columns = names
        elif names != columns:
            raise FlowJoError(f"{where}: matrix {name!r} rows list different detectors.")
        row_names.append(row_name or "")
        rows.append(values)
    if columns is None or not rows:
        raise FlowJoError(f"{where}: matrix {name!r} has no spillover rows.")
    matrix = np.array(rows, dtype=np.float64)
    try:
        if sorted(row_names) == sorted(columns):
            order = [row_names.index(c) for c in columns]
            spill = Spillover(tuple(columns), matrix[order], None, name)
        else:
            spill = Spillover(tuple(columns), matrix, tuple(row_names), name)
    except BcscFlowError as exc:
        raise FlowJoError(f"{where}: matrix {name!r}: {exc}") from None
    prefix = mel.get("prefix", "Comp-")
    suffix = mel.get("suffix", "")
    return spill, prefix, suffix
