"""Parsing a FlowJo 10 workspace into :class:`~bcsc_flow.flowjo._model.Workspace` values."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from xml.etree.ElementTree import Element, ParseError

from bcsc_flow.compensation import Spillover
from bcsc_flow.errors import BcscFlowError, FlowJoError, GatingWarning, warn
from bcsc_flow.flowjo._gates import AxisContext, UnsupportedGate, convert_gate
from bcsc_flow.flowjo._model import FlowJoPopulation, FlowJoSample, Workspace
from bcsc_flow.flowjo._xml import parse_keywords, parse_spillover, parse_transforms
from bcsc_flow.gates import And, Gate, Not, Or

__all__ = ["read_workspace"]

_BOOLEAN_NODES = {"AndNode": "and", "OrNode": "or", "NotNode": "not"}


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

    def __init__(self, label: str, owner: str, axes: AxisContext, skip: bool) -> None:
        self.where = f"FlowJo workspace {label}, {owner}"
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


def _read_sample(sample_el: Element, label: str, skip: bool) -> tuple[FlowJoSample, AxisContext]:
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
    reader = _SampleReader(label, f"sample {name!r}", axes, skip)
    reader.walk(node_el.find("Subpopulations"), ())
    try:
        pops = reader.populations()
    except BcscFlowError as exc:
        if isinstance(exc, FlowJoError):
            raise
        raise FlowJoError(f"{where}: {exc}") from None
    sample = FlowJoSample(
        sample_id=sample_id,
        name=name,
        uri=ds_el.get("uri", "") if ds_el is not None else "",
        keywords=MappingProxyType(keywords),
        transforms=MappingProxyType(transforms),
        spillover=spill,
        populations=pops,
        flowjo_total=_count(node_el),
    )
    return sample, axes


def _read_group(
    gnode: Element, members: tuple[str, ...], axes: AxisContext | None, label: str, skip: bool
) -> FlowJoSample | None:
    """A group's gate tree, read on the axes of its first sample (None without gates)."""
    subpops = gnode.find("Subpopulations")
    if subpops is None or not len(subpops):
        return None
    name = gnode.get("name", "")
    if axes is None:
        axes = AxisContext({}, None, "", "", "", {})
    reader = _SampleReader(label, f"group {name!r}", axes, skip)
    reader.walk(subpops, ())
    pops = tuple(replace(p, flowjo_count=None) for p in reader.populations())
    return FlowJoSample(
        sample_id="",
        name=name,
        uri="",
        keywords=MappingProxyType({}),
        transforms=MappingProxyType(dict(axes.transforms)),
        spillover=axes.spillover,
        populations=pops,
        flowjo_total=None,
    )


def read_workspace(
    path: str | os.PathLike[str] | bytes,
    *,
    folder: str | os.PathLike[str] | None = None,
    skip_unsupported: bool = False,
) -> Workspace:
    """Read a FlowJo 10 workspace: samples, groups, matrices, transforms, gate trees.

    Gates come from each sample's own (sample-level) tree, whose counts are FlowJo's
    real results. Group-level gate trees (FlowJo's templates for the group) are kept in
    :attr:`Workspace.group_trees`, read on the axes of the group's first sample, without
    their counts (FlowJo leaves them at -1, 0 or stale values). Unsupported gate or
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
    read = [
        _read_sample(el, label, skip_unsupported)
        for el in ([] if sample_list is None else sample_list.findall("Sample"))
    ]
    samples = tuple(sample for sample, _ in read)
    axes_by_id = {sample.sample_id: axes for sample, axes in read}
    by_id = {s.sample_id: s.name for s in samples}
    groups: dict[str, tuple[str, ...]] = {}
    templates: dict[str, FlowJoSample] = {}
    groups_el = root.find("Groups")
    for gnode in [] if groups_el is None else groups_el.findall("GroupNode"):
        ids = [r.get("sampleID", "") for r in gnode.findall("Group/SampleRefs/SampleRef")]
        ids = [i for i in ids if i in by_id]
        name = gnode.get("name", "")
        groups[name] = tuple(by_id[i] for i in ids)
        tree = _read_group(
            gnode, groups[name], axes_by_id.get(ids[0]) if ids else None, label, skip_unsupported
        )
        if tree is not None:
            templates[name] = tree
    return Workspace(
        path=file_path,
        version=root.get("version", ""),
        samples=samples,
        groups=MappingProxyType(groups),
        folder=None if folder is None else Path(folder),
        group_trees=MappingProxyType(templates),
    )
