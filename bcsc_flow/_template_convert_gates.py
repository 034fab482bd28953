"""The walk behind :func:`bcsc_flow.template_convert.template_from_strategy` (private).

:class:`Converter` turns frozen gates into template gate mappings, collecting the panel
(markers from the sample's channels), the transform and compensation of every
fluorescence dimension, and notes on polygons cut into pieces; the rules are those of
:mod:`bcsc_flow.template_convert`.

Example
-------
>>> import numpy as np
>>> _subdivide(np.array([[0.0, 0.0], [2.0, 2.0], [2.0, 0.0]]), 2).tolist()
[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [2.0, 0.0]]
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow._evaluation import EvaluationContext
from bcsc_flow.compensation import Spillover
from bcsc_flow.dimensions import FILE_COMPENSATION, UNCOMPENSATED, Dimension
from bcsc_flow.errors import ChannelNotFoundError, TemplateError
from bcsc_flow.gates import And, Not, Or, Polygon, Range, Rectangle, Threshold
from bcsc_flow.transforms import Asinh, Hyperlog, Linear, Log, Logicle

if TYPE_CHECKING:
    from bcsc_flow.sample import Channel, Sample
    from bcsc_flow.strategy import GatingStrategy

__all__ = ["EXPORT_HINT", "Converter", "transforms_section"]

_SEGMENTS = (16, 64, 256, 1024)
_WORDS = re.compile(r"[\s\-_/:;,()\[\]|+]+")
_FLUOR_WORDS = frozenset(
    _WORDS.split(
        "apc pe fitc percp cy3 cy5 cy5.5 cy7 h7 r700 a700 a647 a488 af488 af647 af700 alexa "
        "fluor bv421 bv480 bv510 bv570 bv605 bv650 bv711 bv786 buv395 buv496 buv563 buv661 "
        "buv737 buv805 bb515 bb700 pacific blue orange ecd cf594 txred texas red efluor vio "
        "violet green yellow dazzle spark nova sb436 sb600 sb702 fire"
    )
)
_AFFINE = (Linear,)
EXPORT_HINT = (
    "export Gating-ML instead (bcsc_flow.gatingml.write; bcsc-flow import-flowjo --out X.xml)"
)


def _kind(detector: str) -> str:
    upper = detector.upper()
    if upper.startswith(("FSC", "SSC")):
        return "scatter"
    return "time" if upper == "TIME" else "fluorescence"


def _marker_word(channel: Channel) -> str:
    """``"CD44 APC"`` → ``CD44``: the first $PnS word that is not a fluorochrome word."""
    words = [w for w in _WORDS.split(channel.marker or "") if w]
    kept = [w for w in words if w.lower() not in _FLUOR_WORDS and not w.isdigit()]
    return (kept or words or [channel.name])[0]


def _transform_spec(t: Any) -> dict[str, dict[str, float]] | None:
    """The template form of a transform; None when the schema cannot say it."""
    if getattr(t, "bound_min", None) is not None or getattr(t, "bound_max", None) is not None:
        return None
    kind = type(t)
    if kind is Linear:
        return {"linear": {"T": float(t.t), "A": float(t.a)}}
    if kind is Log:
        return {"log": {"T": float(t.t), "M": float(t.m)}}
    if kind is Asinh:
        return {"asinh": {"T": float(t.t), "M": float(t.m), "A": float(t.a)}}
    if kind in (Logicle, Hyperlog):
        name = "logicle" if kind is Logicle else "hyperlog"
        return {name: {"T": float(t.t), "W": float(t.w), "M": float(t.m), "A": float(t.a)}}
    return None


def _subdivide(vertices: np.ndarray, pieces: int) -> np.ndarray:
    """Vertices with every slanted edge cut into ``pieces`` equal parts (axis-parallel kept)."""
    out = []
    closed = np.vstack([vertices, vertices[:1]])
    steps = np.arange(pieces)[:, None] / pieces
    for p, q in itertools.pairwise(closed):
        if p[0] == q[0] or p[1] == q[1]:
            out.append(p[None, :])
        else:
            out.append(p + steps * (q - p))
    return np.vstack(out)


def _same_matrix(a: Spillover, b: Spillover) -> bool:
    if set(a.detectors) != set(b.detectors) or set(a.outputs) != set(b.outputs):
        return False
    rows = [list(b.outputs).index(o) for o in a.outputs]
    cols = [list(b.detectors).index(d) for d in a.detectors]
    return bool(np.allclose(a.matrix, b.matrix[np.ix_(rows, cols)], rtol=1e-9, atol=1e-12))


class Converter:
    """Walks a strategy once, collecting panel, transforms and compensation uses.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = GatingStrategy().add("x", Range("SSC-A", 1, 2))
    >>> conv = Converter(st, Sample.from_array(np.zeros((1, 1)), ["SSC-A"]))
    >>> conv.gate(st["x"].gate, "x"), conv.panel["SSC-A"]["kind"]
    ({'range': {'dim': 'SSC-A', 'min': 1.0, 'max': 2.0}}, 'scatter')
    """

    def __init__(self, strategy: GatingStrategy, sample: Sample) -> None:
        self.strategy = strategy
        self.sample = sample
        self.context = EvaluationContext(sample, strategy.spillovers)
        self.panel: dict[str, dict[str, Any]] = {}
        self.marker_of: dict[str, str] = {}
        self.transforms: dict[str, tuple[Any, str, str]] = {}
        self.comps: list[tuple[str, str, str]] = []
        self.notes: dict[str, str] = {}

    # ------------------------------------------------------------------ markers
    def marker(self, dim: Any, pop: str) -> str:
        """The panel marker of a dimension (added on first use), recording its transform."""
        if not isinstance(dim, Dimension):
            raise TemplateError(
                f"population {pop!r}: dimension {dim.label!r} is a ratio, which template schema 1 "
                f"cannot express; {EXPORT_HINT}."
            )
        name = dim.channel
        spill = self.strategy.spillovers.get(dim.compensation)
        if spill is not None and tuple(spill.outputs) != tuple(spill.detectors):
            if not spill.is_square or name not in spill.outputs:
                raise TemplateError(
                    f"population {pop!r}: dimension {dim.label!r} is not a detector of matrix "
                    f"{dim.compensation!r} ({', '.join(spill.detectors)}), and the matrix is not "
                    f"square; a template compensates detectors in place; {EXPORT_HINT}."
                )
            name = spill.detectors[spill.outputs.index(name)]  # square: output i is detector i
        try:
            channel = self.sample.channel(name)
        except ChannelNotFoundError:
            raise TemplateError(
                f"population {pop!r}: dimension {dim.label!r}: channel {dim.channel!r} is not a "
                f"channel of {self.sample.name!r} ({', '.join(self.sample.names)}); convert with the "
                "FCS file the gates were drawn on."
            ) from None
        marker = self.marker_of.get(channel.name) or self._add(channel)
        entry = self.panel[marker]
        if entry["kind"] == "fluorescence":
            self.comps.append((pop, dim.label, dim.compensation))
            seen = self.transforms.get(marker)
            if dim.transform is not None and seen is None:
                self.transforms[marker] = (dim.transform, pop, dim.label)
            elif dim.transform is not None and seen[0] != dim.transform:
                raise TemplateError(
                    f"population {pop!r}: dimension {dim.label!r} gates marker {marker!r} under "
                    f"{dim.transform!r}, but population {seen[1]!r} ({seen[2]}) uses {seen[0]!r}; a "
                    f"template has one transform per marker; {EXPORT_HINT}."
                )
        elif dim.compensation != UNCOMPENSATED and channel.name in self._matrix_detectors(dim):
            raise TemplateError(
                f"population {pop!r}: dimension {dim.label!r}: {entry['kind']} channels are "
                f"never compensated in a template; {EXPORT_HINT}."
            )
        return marker

    def _add(self, channel: Channel) -> str:
        kind = _kind(channel.name)
        name = _marker_word(channel) if kind == "fluorescence" else channel.name
        if name in self.panel or name == "fluorescence":
            name = channel.name
        entry: dict[str, Any] = {"kind": kind, "detectors": [channel.name]}
        entry["stain"] = [channel.marker] if kind == "fluorescence" and channel.marker else []
        self.panel[name] = entry
        self.marker_of[channel.name] = name
        return name

    def _matrix_detectors(self, dim: Dimension) -> tuple[str, ...]:
        if dim.compensation == FILE_COMPENSATION:
            fs = self.sample.spillover
            return () if fs is None else tuple(fs.detectors)
        return tuple(self.strategy.spillovers[dim.compensation].detectors)

    # ------------------------------------------------------------------ coordinates
    def data(self, dim: Dimension, drawn: np.ndarray, pop: str) -> np.ndarray:
        """Coordinates on the dimension's (transformed) axis in data units."""
        t = dim.transform
        if t is None:
            return np.asarray(drawn, dtype=np.float64)
        inverse = getattr(t, "inverse", None)
        if inverse is None:
            raise TemplateError(
                f"population {pop!r}: dimension {dim.label!r}: transform {t!r} has no inverse, so "
                f"its coordinates cannot be written in data units; {EXPORT_HINT}."
            )
        with np.errstate(all="ignore"):
            x = np.asarray(inverse(np.asarray(drawn, dtype=np.float64)), dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise TemplateError(
                f"population {pop!r}: dimension {dim.label!r}: coordinate(s) {drawn!r} on the "
                f"{type(t).__name__} axis have no finite data value; {EXPORT_HINT}."
            )
        return x

    def bound(self, dim: Dimension, drawn: float, pop: str) -> float:
        """One bound in data units, shortened (``999.9999999999998`` → ``1000``) when the
        shorter number maps to exactly the same transformed value."""
        x = float(self.data(dim, np.array([drawn]), pop)[0])
        if dim.transform is None:
            return x
        for digits in range(6, 16):
            short = float(f"{x:.{digits}g}")
            with np.errstate(all="ignore"):
                back = float(np.asarray(dim.transform(np.array([short])))[0])
            if back == drawn:
                return short
        return x

    def bounds(
        self, dim: Dimension, lo: float | None, hi: float | None, pop: str
    ) -> tuple[float | None, float | None]:
        low, high = (None if b is None else self.bound(dim, b, pop) for b in (lo, hi))
        if low is None and type(dim.transform) is Log:
            low = float(np.nextafter(0.0, 1.0))  # flog is NaN (outside) for x <= 0
        return low, high

    # ------------------------------------------------------------------ gates
    def gate(self, gate: Any, pop: str) -> dict[str, Any]:
        """The template gate mapping of a frozen gate."""
        if isinstance(gate, Threshold):
            marker = self.marker(gate.dimension, pop)
            low, high = self.bounds(gate.dimension, gate.above, gate.below, pop)
            if low is not None and high is not None:
                return {"range": {"dim": marker, "min": low, "max": high}}
            return {
                "threshold": {
                    "dim": marker,
                    **({"above": low} if high is None else {"below": high}),
                }
            }
        if isinstance(gate, Range | Rectangle):
            sides = (
                [(gate.dimension, gate.min, gate.max)]
                if isinstance(gate, Range)
                else list(zip(gate.dimensions, gate.min, gate.max))
            )
            return self.box(sides, pop)
        if isinstance(gate, Polygon):
            return self.polygon(gate, pop)
        if isinstance(gate, And | Or):
            kind = "and" if isinstance(gate, And) else "or"
            return {kind: [self.operand(op, pop) for op in gate.operands]}
        if isinstance(gate, Not):
            return {"not": self.operand(gate.operand, pop)}
        what = type(gate).__name__
        raise TemplateError(
            f"population {pop!r}: its {what} gate ({gate.describe()}) is not expressible in template "
            f"schema 1 (fixed gates are range, threshold, rectangle, polygon, and/or/not, ref); "
            f"{EXPORT_HINT}."
        )

    def box(self, sides: list[tuple[Any, Any, Any]], pop: str) -> dict[str, Any]:
        ranges = []
        for dim, lo, hi in sides:
            marker = self.marker(dim, pop)
            low, high = self.bounds(dim, lo, hi, pop)
            bounds = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
            ranges.append({"dim": marker, **bounds})
        if len(ranges) == 1:
            return {"range": ranges[0]}
        if all("min" in r and "max" in r for r in ranges):
            return {"rectangle": {"dims": [r["dim"] for r in ranges],
                                  "min": [r["min"] for r in ranges],
                                  "max": [r["max"] for r in ranges]}}  # fmt: skip
        return {"and": [{"range": r} for r in ranges]}

    def polygon(self, gate: Polygon, pop: str) -> dict[str, Any]:
        dims = gate.dimensions
        markers = [self.marker(d, pop) for d in dims]
        drawn = np.asarray(gate.vertices, dtype=np.float64)
        if all(d.transform is None or isinstance(d.transform, _AFFINE) for d in dims):
            points = self._to_data(dims, drawn, pop)
        else:
            points = self._densified(gate, drawn, pop)
        return {"polygon": {"dims": markers, "vertices": [[float(x), float(y)] for x, y in points]}}

    def _to_data(self, dims: tuple[Any, ...], points: np.ndarray, pop: str) -> np.ndarray:
        return np.column_stack([self.data(d, points[:, i], pop) for i, d in enumerate(dims)])

    def _densified(self, gate: Polygon, drawn: np.ndarray, pop: str) -> np.ndarray:
        plain = tuple(replace(d, transform=None) for d in gate.dimensions)
        wanted = gate.mask(self.context)
        axes = "/".join(
            type(d.transform).__name__ if d.transform is not None else "linear"
            for d in gate.dimensions
        )
        differ = 0
        for pieces in _SEGMENTS:
            points = self._to_data(gate.dimensions, _subdivide(drawn, pieces), pop)
            got = Polygon(plain, tuple(map(tuple, points))).mask(self.context)
            differ = int((got != wanted).sum())
            if differ == 0:
                self.notes[pop] = (
                    f"polygon drawn on {axes} axes ({len(drawn)} vertices); each slanted edge cut "
                    f"into {pieces} pieces so it keeps its shape in data units"
                )
                return points
        raise TemplateError(
            f"population {pop!r}: the polygon drawn on {axes} axes cannot be written in data "
            f"units without changing {differ} event(s) of {self.sample.name!r} (even with "
            f"{_SEGMENTS[-1]} pieces per edge); {EXPORT_HINT}."
        )

    def operand(self, op: Any, pop: str) -> dict[str, Any]:
        if not isinstance(op, str):
            return self.gate(op, pop)
        # An operand by name is its gate and its ancestors' gates; those the population's
        # own parents already impose are left out (true wherever the population is).
        own = set(self.strategy.ancestors(pop))
        chain = [op, *(a for a in self.strategy.ancestors(op) if a not in own)]
        refs = [{"ref": name} for name in chain]
        return refs[0] if len(refs) == 1 else {"and": refs}

    # ------------------------------------------------------------------ compensation
    def compensation(self) -> tuple[str, Spillover | None]:
        """``file``, ``none`` or ``matrix`` (with the matrix) for the fluorescence gates."""
        if not self.comps:
            return "file", None
        first = self.comps[0]
        for pop, label, comp in self.comps[1:]:
            if comp != first[2]:
                raise TemplateError(
                    f"population {pop!r}: dimension {label!r} uses compensation {comp!r} but "
                    f"population {first[0]!r} ({first[1]}) uses {first[2]!r}; a template has one "
                    f"compensation for all fluorescence markers; {EXPORT_HINT}."
                )
        comp = first[2]
        if comp == UNCOMPENSATED:
            return "none", None
        if comp == FILE_COMPENSATION:
            return "file", None
        named = self.strategy.spillovers[comp]
        matrix = Spillover(named.detectors, named.matrix, None, named.name)  # rows = detectors
        own = Spillover.from_sample(self.sample)
        if own is not None and _same_matrix(matrix, own):
            return "file", None
        return "matrix", matrix


def transforms_section(
    conv: Converter, axis: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The template ``transforms`` of the converted markers, and the ones it cannot say.

    Gate transforms first; ``axis`` (detector → display transform) fills in non-linear
    scales of fluorescence markers gated without one.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> from bcsc_flow.transforms import FlowJoBiex
    >>> st = GatingStrategy().add("x", Range("FL1-A", 1, 2))
    >>> conv = Converter(st, Sample.from_array(np.zeros((1, 1)), ["FL1-A"]))
    >>> _ = conv.gate(st["x"].gate, "x")
    >>> transforms_section(conv, {"FL1-A": Asinh(262144.0, 4.0)})
    ({'FL1-A': {'asinh': {'T': 262144.0, 'M': 4.0, 'A': 0.0}}}, [])
    >>> transforms_section(conv, {"FL1-A": FlowJoBiex()})
    ({}, [])
    """
    out: dict[str, Any] = {}
    skipped: list[str] = []
    for marker, (t, _, _) in conv.transforms.items():
        spec = _transform_spec(t)
        if spec is None:
            skipped.append(f"{marker} {getattr(t, 'gatingml_name', '') or type(t).__name__}")
        else:
            out[marker] = spec
    for marker, entry in conv.panel.items():
        if marker in conv.transforms or entry["kind"] != "fluorescence":
            continue
        t = axis.get(entry["detectors"][0])
        spec = None if t is None or isinstance(t, _AFFINE) else _transform_spec(t)
        if spec is not None:
            out[marker] = spec
    return out, skipped
