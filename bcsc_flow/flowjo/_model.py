"""FlowJo 10 workspaces: samples, groups, gate trees, FlowJo's counts, and ours."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from bcsc_flow.compensation import Spillover
from bcsc_flow.errors import FlowJoError
from bcsc_flow.gates import Gate
from bcsc_flow.strategy import GatingStrategy, Population

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow.sample import Sample

__all__ = ["EXAMPLE_WSP", "FlowJoPopulation", "FlowJoSample", "Workspace"]

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
    >>> from bcsc_flow.flowjo import read_workspace
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
    >>> from bcsc_flow.flowjo import read_workspace
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
        >>> from bcsc_flow.flowjo import read_workspace
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
        >>> from bcsc_flow.flowjo import read_workspace
        >>> read_workspace(EXAMPLE_WSP).samples[0].file_name
        'a.fcs'
        """
        path = unquote(urlparse(self.uri).path) if self.uri else ""
        base = path.replace("\\", "/").rsplit("/", 1)[-1]
        return base or self.keywords.get("$FIL", "")


@dataclass(frozen=True, eq=False)
class Workspace:
    """A parsed FlowJo 10 workspace (``.wsp``).

    ``groups`` maps each group name to the names of its samples; ``group_trees`` holds
    the gate trees of groups that have gates (as :class:`FlowJoSample` values without
    counts). FCS files are found
    with :meth:`fcs_path`: in ``folder`` (argument, else the one given to
    :func:`read_workspace`), at the URI's path, next to the workspace, in that order.

    Example
    -------
    >>> from bcsc_flow.flowjo import read_workspace
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
    group_trees: Mapping[str, FlowJoSample] = field(default_factory=dict)

    @property
    def sample_names(self) -> tuple[str, ...]:
        """Names of the samples (FlowJo's ``SampleNode`` names)."""
        return tuple(s.name for s in self.samples)

    def sample(self, name: str) -> FlowJoSample:
        """A sample by name, sample id or FCS file name.

        Example
        -------
        >>> from bcsc_flow.flowjo import read_workspace
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
        >>> from bcsc_flow.flowjo import read_workspace
        >>> read_workspace(EXAMPLE_WSP).strategy("a.fcs")["high"].gate.describe()
        'Rectangle(FSC-A: [4, ))'
        """
        return self.sample(sample_name).strategy()

    def group_strategy(self, group: str) -> GatingStrategy:
        """The gate tree FlowJo keeps for a group (its template for the group's samples).

        Read on the axes (transforms, matrix) of the group's first sample; see
        :func:`~bcsc_flow.flowjo.read_workspace`.

        Example
        -------
        >>> from bcsc_flow.flowjo import read_workspace
        >>> read_workspace(EXAMPLE_WSP).group_strategy("All Samples")
        Traceback (most recent call last):
        ...
        bcsc_flow.errors.FlowJoError: Workspace (from memory): group 'All Samples' has no gates; groups with gates: (none).
        """
        tree = self.group_trees.get(group)
        if tree is None:
            raise FlowJoError(
                f"Workspace {self._label}: group {group!r} has no gates; groups with gates: "
                f"{', '.join(self.group_trees) or '(none)'}."
            )
        return tree.strategy()

    @property
    def _label(self) -> str:
        return repr(str(self.path)) if self.path else "(from memory)"

    def fcs_path(self, sample_name: str, folder: str | os.PathLike[str] | None = None) -> Path:
        """The FCS file of a sample; :class:`FlowJoError` listing the places tried.

        Example
        -------
        >>> from bcsc_flow.flowjo import read_workspace
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
        >>> from bcsc_flow.flowjo import read_workspace
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
        >>> from bcsc_flow.flowjo import read_workspace
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
