"""FlowJo 10 workspaces: samples, groups, gate trees, FlowJo's counts, and ours."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse
from xml.etree.ElementTree import Element, ParseError

from bcsc_flow.compensation import Spillover
from bcsc_flow.errors import BcscFlowError, FlowJoError, GatingWarning, warn
from bcsc_flow.flowjo._gates import AxisContext, UnsupportedGate, convert_gate
from bcsc_flow.flowjo._xml import parse_keywords, parse_spillover, parse_transforms
from bcsc_flow.gates import And, Gate, Not, Or
from bcsc_flow.strategy import GatingStrategy, Population

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow.sample import Sample

__all__ = ["FlowJoPopulation", "FlowJoSample", "Workspace", "read_workspace"]

_BOOLEAN_NODES = {"AndNode": "and", "OrNode": "or", "NotNode": "not"}

EXAMPLE_WSP = b"""<Workspace version="20.0"
  xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
  xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
 <SampleList><Sample><DataSet uri="file:/data/a.fcs" sampleID="1"/>
  <Keywords><Keyword name="$TOT" value="3"/></Keywords>
  <SampleNode name="a.fcs" count="3" sampleID="1"><Subpopulations>
   <Population name="high" count="2"><Gate><gating:RectangleGate>
    <gating:dimension gating:min="4"><data-type:fcs-dimension data-type:name="FSC-A"/>
    </gating:dimension></gating:RectangleGate></Gate></Population>
  </Subpopulations></SampleNode></Sample></SampleList></Workspace>"""
"""A minimal FlowJo workspace (one sample, one gate) used by the examples."""


@dataclass(frozen=True)
class FlowJoPopulation:
    """One population of a sample's FlowJo gate tree.

    ``name`` is the population name in :meth:`FlowJoSample.strategy` (the FlowJo name,
    or the full path ``a/b/c`` when that name occurs twice in the tree); ``path`` is the
    FlowJo path from the root; ``element`` the FlowJo element (``gating:RectangleGate``,
    ``AndNode``, ...); ``flowjo_count`` FlowJo's stored count (None when FlowJo never
    computed it, ``count="-1"``).

    Example
    -------
    >>> ws = read_workspace(EXAMPLE_WSP)
    >>> pop = ws.samples[0].populations[0]
    >>> pop.name, pop.path, pop.element, pop.flowjo_count
    ('high', ('high',), 'gating:RectangleGate', 2)
    """

    name: str
    path: tuple[str, ...]
    parent: str | None
    gate: Gate
    element: str
    flowjo_count: int | None


@dataclass(frozen=True, eq=False)
class FlowJoSample:
    """A sample of a workspace: FCS reference, keywords, matrix, axis transforms, gates.

    Example
    -------
    >>> s = read_workspace(EXAMPLE_WSP).sample("a.fcs")
    >>> s.file_name, s.flowjo_total, s.keywords["$TOT"]
    ('a.fcs', 3, '3')
    """

    sample_id: str
    name: str
    uri: str
    keywords: Mapping[str, str]
    transforms: Mapping[str, Any]
    spillover: Spillover | None
    populations: tuple[FlowJoPopulation, ...]
    flowjo_total: int | None = None

    def strategy(self) -> GatingStrategy:
        """The sample's gate tree as a :class:`~bcsc_flow.strategy.GatingStrategy`.

        Example
        -------
        >>> read_workspace(EXAMPLE_WSP).samples[0].strategy().names
        ('high',)
        """
        pops = [Population(p.name, p.gate, p.parent) for p in self.populations]
        spills = {} if self.spillover is None else {self.spillover.name: self.spillover}
        return GatingStrategy(tuple(pops), spills)

    @property
    def file_name(self) -> str:
        """The FCS file name from the data set URI (or ``$FIL``).

        Example
        -------
        >>> read_workspace(EXAMPLE_WSP).samples[0].file_name
        'a.fcs'
        """
        path = unquote(urlparse(self.uri).path) if self.uri else ""
        base = path.replace("\\", "/").rsplit("/", 1)[-1]
        return base or self.keywords.get("$FIL", "")


@dataclass(frozen=True, eq=False)
class Workspace:
    """A parsed FlowJo 10 workspace (``.wsp``).

    ``groups`` maps each group name to the names of its samples. FCS files are found
    with :meth:`fcs_path`: in ``folder`` (argument, else the one given to
    :func:`read_workspace`), at the URI's path, next to the workspace, in that order.

    Example
    -------
    >>> import tempfile
    >>> from bcsc_flow.io.fcs import write_fcs
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_fcs(Path(d) / "a.fcs", [[1.0], [5.0], [9.0]], channels=["FSC-A"])
    ...     ws = read_workspace(EXAMPLE_WSP, folder=d)
    ...     table = ws.compare_counts()
    >>> table[["population", "flowjo_count", "count", "difference"]].values.tolist()
    [['(all events)', 3, 3, 0], ['high', 2, 2, 0]]
    """

    path: Path | None
    version: str
    samples: tuple[FlowJoSample, ...]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    folder: Path | None = None

    @property
    def sample_names(self) -> tuple[str, ...]:
        """Names of the samples (FlowJo's ``SampleNode`` names)."""
        return tuple(s.name for s in self.samples)

    def sample(self, name: str) -> FlowJoSample:
        """A sample by name, sample id or FCS file name.

        Example
        -------
        >>> read_workspace(EXAMPLE_WSP).sample("1").name
        'a.fcs'
        """
        for s in self.samples:
            if name in (s.name, s.sample_id, s.file_name):
                return s
        raise FlowJoError(
            f"Workspace {self._label}: no sample {name!r}; samples: {', '.join(self.sample_names) or '(none)'}."
        )

    def strategy(self, sample_name: str) -> GatingStrategy:
        """The gating strategy of one sample (FlowJo's sample-level gate tree).

        Example
        -------
        >>> read_workspace(EXAMPLE_WSP).strategy("a.fcs")["high"].gate.describe()
        'Rectangle(FSC-A: [4, ))'
        """
        return self.sample(sample_name).strategy()

    @property
    def _label(self) -> str:
        return repr(str(self.path)) if self.path else "(from memory)"

    def fcs_path(self, sample_name: str, folder: str | os.PathLike[str] | None = None) -> Path:
        """The FCS file of a sample; :class:`FlowJoError` listing the places tried.

        Example
        -------
        >>> read_workspace(EXAMPLE_WSP).fcs_path("a.fcs", folder="/nowhere")
        Traceback (most recent call last):
        ...
        bcsc_flow.errors.FlowJoError: Workspace (from memory): FCS file of sample 'a.fcs' (URI 'file:/data/a.fcs') not found; tried /nowhere/a.fcs, /data/a.fcs. Pass folder=... .
        """
        s = self.sample(sample_name)
        base = s.file_name
        tried: list[Path] = []
        where = folder if folder is not None else self.folder
        if where is not None and base:
            tried.append(Path(where) / base)
        uri_path = unquote(urlparse(s.uri).path) if s.uri else ""
        if uri_path:
            tried.append(Path(uri_path))
            if self.path is not None and not os.path.isabs(uri_path):
                tried.append(self.path.parent / uri_path)
        if self.path is not None and base:
            tried.append(self.path.parent / base)
        for candidate in tried:
            if candidate.is_file():
                return candidate
        raise FlowJoError(
            f"Workspace {self._label}: FCS file of sample {s.name!r} (URI {s.uri!r}) not found; "
            f"tried {', '.join(str(t) for t in tried) or 'nothing'}. Pass folder=... ."
        )

    def load(self, sample_name: str, folder: str | os.PathLike[str] | None = None) -> Sample:
        """Read a sample's FCS file (see :meth:`fcs_path`).

        Example
        -------
        >>> import tempfile
        >>> from bcsc_flow.io.fcs import write_fcs
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = write_fcs(Path(d) / "a.fcs", [[1.0], [5.0], [9.0]], channels=["FSC-A"])
        ...     len(read_workspace(EXAMPLE_WSP).load("a.fcs", folder=d))
        3
        """
        from bcsc_flow.io.fcs import read_fcs

        return read_fcs(self.fcs_path(sample_name, folder))

    def table(self) -> pd.DataFrame:
        """Every population of every sample with FlowJo's stored count (no FCS needed).

        Columns: ``sample, population, path, parent, element, flowjo_count`` (NaN where
        FlowJo never computed the count).

        Example
        -------
        >>> read_workspace(EXAMPLE_WSP).table()[["population", "flowjo_count"]].values.tolist()
        [['high', 2.0]]
        """
        import pandas as pd

        rows = [
            {
                "sample": s.name,
                "population": p.name,
                "path": "/".join(p.path),
                "parent": p.parent,
                "element": p.element,
                "flowjo_count": float("nan") if p.flowjo_count is None else float(p.flowjo_count),
            }
            for s in self.samples
            for p in s.populations
        ]
        columns = ["sample", "population", "path", "parent", "element", "flowjo_count"]
        return pd.DataFrame(rows, columns=columns)

    def compare_counts(self, folder: str | os.PathLike[str] | None = None) -> pd.DataFrame:
        """FlowJo's stored counts next to ours, one row per sample × population.

        Columns: ``sample, population, path, element, flowjo_count, count, difference``
        (``count − flowjo_count``; NaN where FlowJo never computed a count). The first row
        of each sample is ``(all events)``: FlowJo's total against the file's events.
        See the example of :class:`Workspace`.
        """
        import pandas as pd

        rows: list[dict[str, Any]] = []
        for s in self.samples:
            data = self.load(s.name, folder)
            result = s.strategy().apply(data)
            rows.append(_row(s.name, "(all events)", "", "SampleNode", s.flowjo_total, len(data)))
            for p in s.populations:
                rows.append(
                    _row(
                        s.name,
                        p.name,
                        "/".join(p.path),
                        p.element,
                        p.flowjo_count,
                        result.count(p.name),
                    )
                )
        return pd.DataFrame(
            rows,
            columns=[
                "sample",
                "population",
                "path",
                "element",
                "flowjo_count",
                "count",
                "difference",
            ],
        )


def _row(
    sample: str, pop: str, path: str, element: str, fj: int | None, ours: int
) -> dict[str, Any]:
    return {
        "sample": sample,
        "population": pop,
        "path": path,
        "element": element,
        "flowjo_count": float("nan") if fj is None else fj,
        "count": ours,
        "difference": float("nan") if fj is None else ours - fj,
    }


# ---------------------------------------------------------------------- parsing
def _parse_root(data: bytes, label: str) -> Element:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise FlowJoError(f"FlowJo workspace {label}: not readable XML ({exc}).") from None
    if root.tag != "Workspace":
        raise FlowJoError(
            f"FlowJo workspace {label}: root element is <{root.tag}>, expected <Workspace> "
            "(FlowJo 10 .wsp)."
        )
    return root


def _count(el: Element) -> int | None:
    try:
        value = int(el.get("count", "-1"))
    except ValueError:
        return None
    return None if value < 0 else value


@dataclass
class _Node:
    path: tuple[str, ...]
    element: str
    gate: Gate | None
    boolean: str | None
    dependents: tuple[str, ...]
    count: int | None


class _SampleReader:
    """Collects one sample's gate tree (sample-level copy)."""

    def __init__(self, label: str, sample_name: str, axes: AxisContext, skip: bool) -> None:
        self.where = f"FlowJo workspace {label}, sample {sample_name!r}"
        self.axes = axes
        self.skip = skip
        self.nodes: list[_Node] = []

    def walk(self, subpops: Element | None, parent: tuple[str, ...]) -> None:
        if subpops is None:
            return
        for child in subpops:
            tag = child.tag
            if tag not in ("Population", *_BOOLEAN_NODES) and not tag.endswith("Node"):
                continue  # graphs, statistics and other annotations
            name = child.get("name", "")
            path = (*parent, name)
            where = f"{self.where}, gate {'/'.join(path)!r}"
            if tag == "Population":
                gate_el = child.find("Gate")
                if gate_el is None:
                    raise FlowJoError(f"{where}: <Population> has no <Gate>.")
                try:
                    gate, element = convert_gate(gate_el, self.axes, where)
                except UnsupportedGate as exc:
                    if not self.skip:
                        raise
                    warn(f"{exc} Skipped with its subpopulations.", GatingWarning)
                    continue
                self.nodes.append(_Node(path, element, gate, None, (), _count(child)))
            elif tag in _BOOLEAN_NODES:
                deps_el = child.find("Dependents")
                deps = (
                    ()
                    if deps_el is None
                    else tuple(d.get("name", "") for d in deps_el.findall("Dependent"))
                )
                self.nodes.append(_Node(path, tag, None, _BOOLEAN_NODES[tag], deps, _count(child)))
            else:
                msg = (
                    f"{where}: node <{tag}> is not supported (supported: Population, "
                    f"{', '.join(_BOOLEAN_NODES)})."
                )
                if not self.skip:
                    raise FlowJoError(msg)
                warn(msg + " Skipped with its subpopulations.", GatingWarning)
                continue
            self.walk(child.find("Subpopulations"), path)

    def populations(self) -> tuple[FlowJoPopulation, ...]:
        last = [n.path[-1] for n in self.nodes]
        names = {
            n.path: (n.path[-1] if last.count(n.path[-1]) == 1 else "/".join(n.path))
            for n in self.nodes
        }
        out: list[FlowJoPopulation] = []
        dropped: set[tuple[str, ...]] = set()
        for node in self.nodes:
            if node.path[:-1] in dropped:
                dropped.add(node.path)
                continue
            parent = names.get(node.path[:-1]) if len(node.path) > 1 else None
            gate = node.gate
            if node.boolean is not None:
                try:
                    refs = [self._dependent(d, node, names) for d in node.dependents]
                    gate = _boolean(node.boolean, refs)
                except FlowJoError as exc:
                    if not self.skip:
                        raise
                    warn(f"{exc} Skipped with its subpopulations.", GatingWarning)
                    dropped.add(node.path)
                    continue
            assert gate is not None
            out.append(
                FlowJoPopulation(
                    names[node.path], node.path, parent, gate, node.element, node.count
                )
            )
        return tuple(out)

    def _dependent(self, ref: str, node: _Node, names: Mapping[tuple[str, ...], str]) -> str:
        where = f"{self.where}, gate {'/'.join(node.path)!r}"
        parts = tuple(p for p in ref.split("/") if p)
        exact = [p for p in names if p == parts]
        if not exact:  # a path relative to somewhere above, or just a name
            exact = [p for p in names if p[-len(parts) :] == parts] if parts else []
        if len(exact) != 1:
            known = ", ".join("/".join(p) for p in names)
            raise FlowJoError(
                f"{where}: boolean operand {ref!r} matches {len(exact)} gates; known gates: {known}."
            )
        return names[exact[0]]


def _boolean(kind: str, refs: list[str]) -> Gate:
    if kind == "not":
        if len(refs) != 1:
            raise FlowJoError(f"a NotNode needs one operand, got {len(refs)}.")
        return Not(refs[0])
    if len(refs) < 2:
        raise FlowJoError(f"an {kind.title()}Node needs at least two operands, got {len(refs)}.")
    return And(*refs) if kind == "and" else Or(*refs)


def _ranges(keywords: Mapping[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    upper = {k.upper(): v for k, v in keywords.items()}
    i = 1
    while f"$P{i}N" in upper:
        with contextlib.suppress(ValueError):
            out[upper[f"$P{i}N"]] = float(upper.get(f"$P{i}R", "262144"))
        i += 1
    return out


def _read_sample(sample_el: Element, label: str, skip: bool) -> FlowJoSample:
    node_el = sample_el.find("SampleNode")
    ds_el = sample_el.find("DataSet")
    if node_el is None:
        raise FlowJoError(f"FlowJo workspace {label}: a <Sample> has no <SampleNode>.")
    name = node_el.get("name", "")
    sample_id = node_el.get("sampleID") or (ds_el.get("sampleID", "") if ds_el is not None else "")
    where = f"FlowJo workspace {label}, sample {name!r}"
    keywords = parse_keywords(sample_el)
    transforms = parse_transforms(sample_el, where)
    matrix = parse_spillover(sample_el, where)
    spill, prefix, suffix = (None, "", "") if matrix is None else matrix
    spill_name = ""
    if spill is not None:
        spill_name = (
            spill.name
            if spill.name not in ("", "FCS", "uncompensated")
            else f"FlowJo {spill.name}".strip()
        )
        if spill_name != spill.name:
            spill = Spillover(spill.detectors, spill.matrix, spill.fluorochromes, spill_name)
    axes = AxisContext(transforms, spill, spill_name, prefix, suffix, _ranges(keywords))
    reader = _SampleReader(label, name, axes, skip)
    reader.walk(node_el.find("Subpopulations"), ())
    try:
        pops = reader.populations()
    except BcscFlowError as exc:
        if isinstance(exc, FlowJoError):
            raise
        raise FlowJoError(f"{where}: {exc}") from None
    return FlowJoSample(
        sample_id=sample_id,
        name=name,
        uri=ds_el.get("uri", "") if ds_el is not None else "",
        keywords=MappingProxyType(keywords),
        transforms=MappingProxyType(transforms),
        spillover=spill,
        populations=pops,
        flowjo_total=_count(node_el),
    )


def read_workspace(
    path: str | os.PathLike[str] | bytes,
    *,
    folder: str | os.PathLike[str] | None = None,
    skip_unsupported: bool = False,
) -> Workspace:
    """Read a FlowJo 10 workspace: samples, groups, matrices, transforms, gate trees.

    Gates come from each sample's own (sample-level) tree, whose counts are FlowJo's
    real results; group-level copies only give group membership. Unsupported gate or
    node types raise :class:`FlowJoError` naming the gate and the element, or, with
    ``skip_unsupported=True``, are left out (with their subpopulations) with a
    :class:`GatingWarning`. ``folder`` is where :meth:`Workspace.fcs_path` looks first.
    XML is parsed with defusedxml.

    Example
    -------
    >>> wsp = b'''<Workspace version="20.0"><SampleList><Sample>
    ...   <DataSet uri="file:/data/a.fcs" sampleID="1"/>
    ...   <SampleNode name="a.fcs" count="10" sampleID="1"/></Sample></SampleList></Workspace>'''
    >>> ws = read_workspace(wsp)
    >>> ws.sample_names, ws.sample("a.fcs").flowjo_total
    (('a.fcs',), 10)
    """
    if isinstance(path, bytes):
        data, file_path, label = path, None, "(bytes)"
    else:
        file_path = Path(path)
        label = repr(str(file_path))
        try:
            data = file_path.read_bytes()
        except OSError as exc:
            raise FlowJoError(f"Cannot read FlowJo workspace {label}: {exc}.") from None
    root = _parse_root(data, label)
    sample_list = root.find("SampleList")
    samples = tuple(
        _read_sample(el, label, skip_unsupported)
        for el in ([] if sample_list is None else sample_list.findall("Sample"))
    )
    by_id = {s.sample_id: s.name for s in samples}
    groups: dict[str, tuple[str, ...]] = {}
    groups_el = root.find("Groups")
    for gnode in [] if groups_el is None else groups_el.findall("GroupNode"):
        refs = gnode.findall("Group/SampleRefs/SampleRef")
        groups[gnode.get("name", "")] = tuple(
            by_id[r.get("sampleID", "")] for r in refs if r.get("sampleID", "") in by_id
        )
    return Workspace(
        path=file_path,
        version=root.get("version", ""),
        samples=samples,
        groups=MappingProxyType(groups),
        folder=None if folder is None else Path(folder),
    )
