"""Static templates from frozen gating strategies: FlowJo gating as a shareable template.

:func:`template_from_strategy` writes a frozen :class:`~bcsc_flow.strategy.GatingStrategy`
(read from a FlowJo workspace, from Gating-ML, or built in Python) as a schema-1
:class:`~bcsc_flow.template.Template`, resolving its detectors on the FCS sample the
gates were drawn on; :func:`template_from_workspace` does it for one sample of a FlowJo
workspace. Save the result with :meth:`Template.save <bcsc_flow.template.Template.save>`.

What becomes what:

* **panel** — every gated detector becomes a marker, named by the marker word of its
  ``$PnS`` (``"CD44 APC"`` → ``CD44``, fluorochrome words skipped) or else by the
  detector; ``stain`` holds the ``$PnS``, ``detectors`` the detector. ``FSC*``/``SSC*``
  are ``scatter``, ``Time`` is ``time``.
* **gates** — ``Threshold``/``Range`` → ``threshold``/``range``; ``Rectangle`` → ``range``
  (one axis), ``rectangle`` (closed) or an ``and`` of ranges (open sides, e.g. FlowJo's
  quadrant pieces); ``And``/``Or``/``Not`` → ``and``/``or``/``not``. A boolean operand
  given by *name* means that population's membership (its parents included) while a
  template ``ref`` reuses a gate alone, so a name becomes ``ref`` of the population and
  of each of its ancestors that the converted population's own parents do not imply. Ellipses, quadrant gates and ratio dimensions have no
  schema-1 form: :class:`~bcsc_flow.errors.TemplateError`, export Gating-ML instead.
* **coordinates** — template coordinates are data units (compensated): a bound drawn on
  a transformed axis is mapped back with the transform's inverse (monotone, so ranges
  and rectangles select the same events), as a short number when one maps to exactly
  the drawn value (``logicle(1000)`` → ``1000``). The template engine evaluates fixed polygons
  on the *untransformed* channels, so a polygon drawn on a non-linear axis (logicle,
  asinh, log, biex), whose straight edges are curves in data units, has each slanted
  edge cut into pieces in the drawn space before mapping back; the number of pieces is
  raised (16, 64, 256, 1024) until the polygon selects exactly the events the original
  selects on the sample. The added vertices lie on the original edges, so the polygon
  is also unchanged if it is drawn on the transformed axis.
* **transforms** — a fluorescence marker's gate transform (or, from a workspace, its
  non-linear FlowJo axis) goes to ``transforms`` when the template can say it (linear,
  log, asinh, logicle, hyperlog without bounds; FlowJo's biex cannot); two different
  gate transforms on one marker are an error.
* **compensation** — ``file`` when fluorescence gates use the file's matrix (``"FCS"`` or
  a named matrix equal to ``$SPILLOVER``), ``none`` when uncompensated; another named
  matrix is written as CSV when ``matrix_csv`` is given (``{matrix: name.csv}``, kept
  next to the template) and is an error otherwise.

With ``check=True`` (default) the template is resolved on the sample and every
population's events are compared with the strategy's; any difference is an error.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.gates import Range, Threshold
>>> from bcsc_flow.strategy import GatingStrategy
>>> s = Sample.from_array(np.array([[1.0, 5.0], [3.0, 50.0], [4.0, 9.0]]), ["FSC-A", "R670-A"],
...                       markers=[None, "CD44 APC"])
>>> st = GatingStrategy().add("cells", Range("FSC-A", 2, 10)).add(
...     "CD44+", Threshold("R670-A", above=20), parent="cells")
>>> tpl = template_from_strategy(st, s, name="demo")
>>> tpl.to_document()["panel"]["CD44"], tpl.compensation["source"]
({'stain': ['CD44 APC'], 'detectors': ['R670-A'], 'kind': 'fluorescence', 'optional': False}, 'none')
>>> tpl.to_document()["populations"][1]["gate"]
{'threshold': {'dim': 'CD44', 'above': 20.0, 'tolerance': 0.25}}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow._template_convert_gates import EXPORT_HINT, Converter, transforms_section
from bcsc_flow.errors import BcscFlowError, TemplateError
from bcsc_flow.gates_quadrant import Quadrant
from bcsc_flow.template import Template
from bcsc_flow.template_schema import CURRENT_SCHEMA, ROOT

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    from bcsc_flow.flowjo import Workspace
    from bcsc_flow.sample import Sample
    from bcsc_flow.strategy import GatingStrategy

__all__ = ["template_from_strategy", "template_from_workspace"]


def template_from_strategy(
    strategy: GatingStrategy,
    sample: Sample,
    *,
    name: str,
    version: str = "1.0.0",
    description: str = "",
    matrix_csv: str | os.PathLike[str] | None = None,
    axis_transforms: Mapping[str, Any] | None = None,
    check: bool = True,
) -> Template:
    """A static template (fixed gates, in markers and data units) equivalent to a strategy.

    ``description`` defaults to one naming the sample (the schema wants non-empty text).
    ``sample`` is the FCS sample the gates were drawn on: its channels give the markers,
    its ``$SPILLOVER`` decides ``compensation: file``. ``matrix_csv`` is where to write
    a named matrix that is not the file's (the template refers to it by file name, so
    save the template in the same folder). ``axis_transforms`` maps detectors to display
    transforms carried into ``transforms`` for markers whose gates use none. With
    ``check`` the template is resolved on ``sample`` and must select exactly the
    strategy's events in every population. See the module docstring for the rules.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Ellipse
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> s = Sample.from_array(np.zeros((2, 2)), ["A", "B"])
    >>> st = GatingStrategy().add("e", Ellipse(("A", "B"), (0, 0), ((1, 0), (0, 1)), 1.0))
    >>> template_from_strategy(st, s, name="x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bcsc_flow.errors.TemplateError: population 'e': its Ellipse gate (...) is not expressible in template schema 1 ...
    """
    # (never empty: Template.to_yaml writes "" and the schema refuses it on load)
    description = description or f"Converted from a gating strategy on {sample.name!r}."
    conv = Converter(strategy, sample)
    pops = []
    for pop in strategy.populations:
        if pop.name == ROOT:
            raise TemplateError(
                f"population {pop.name!r}: 'root' is reserved in templates; rename it."
            )
        if isinstance(pop.gate, Quadrant):
            raise TemplateError(
                f"population {pop.name!r}: a quadrant gate is not expressible in template schema 1 "
                f"(write its quadrants as rectangles); {EXPORT_HINT}."
            )
        entry: dict[str, Any] = {"name": pop.name, "parent": pop.parent or ROOT,
                                 "gate": conv.gate(pop.gate, pop.name)}  # fmt: skip
        if pop.name in conv.notes:
            entry["description"] = conv.notes[pop.name]
        pops.append(entry)
    transforms, skipped = transforms_section(conv, axis_transforms or {})
    if skipped:
        description = (description + " " if description else "") + (
            f"Gate transforms without a template form (coordinates kept in data units): {', '.join(skipped)}."
        )
    policy, matrix = conv.compensation()
    comp: Any = policy
    check_comp: Any = policy
    if matrix is not None:
        if matrix_csv is None:
            raise TemplateError(
                f"strategy uses spillover matrix {matrix.name!r}, which is not the matrix of "
                f"{sample.name!r}; pass matrix_csv=PATH to write it as CSV beside the template "
                f"(compensation: {{matrix: PATH}}), or {EXPORT_HINT}."
            )
        path = Path(matrix_csv)
        matrix.to_csv(path)
        comp, check_comp = {"matrix": path.name}, {"matrix": str(path.resolve())}
    doc = {"schema_version": CURRENT_SCHEMA, "name": name, "version": version,
           "panel": conv.panel, "compensation": comp, "transforms": transforms,
           "populations": pops, "description": description}  # fmt: skip
    template = Template.from_document(doc, f"<template {name!r} from a gating strategy>")
    if check:
        probe = (
            template
            if check_comp == comp
            else Template.from_document({**doc, "compensation": check_comp})
        )
        _check(probe, strategy, sample)
    return template


def _check(template: Template, strategy: GatingStrategy, sample: Sample) -> None:
    """Resolve ``template`` on ``sample``; every population must match the strategy's."""
    import pandas as pd

    sheet = pd.DataFrame({"sample": ["sample"], "role": ["test"], "batch": ["1"]})
    try:
        resolved = template.resolve({"sample": sample}, sheet).strategies["sample"]
    except BcscFlowError as exc:
        raise TemplateError(
            f"template {template.name!r} does not resolve on {sample.name!r}, the sample it was "
            f"converted from: {exc}"
        ) from exc
    ours, theirs = resolved.apply(sample), strategy.apply(sample)
    bad = [
        f"{n!r} ({int((ours.mask(n) != theirs.mask(n)).sum())} events)"
        for n in strategy.names
        if not np.array_equal(ours.mask(n), theirs.mask(n))
    ]
    if bad:
        raise TemplateError(
            f"template {template.name!r} selects other events than the strategy on "
            f"{sample.name!r} in population(s) {', '.join(bad)}; {EXPORT_HINT}."
        )


def template_from_workspace(
    workspace: Workspace,
    sample_name: str,
    *,
    name: str | None = None,
    version: str = "1.0.0",
    description: str | None = None,
    folder: str | os.PathLike[str] | None = None,
    matrix_csv: str | os.PathLike[str] | None = None,
    group: str | None = None,
    check: bool = True,
) -> Template:
    """A static template from one sample's FlowJo gating (see :func:`template_from_strategy`).

    The sample's FCS file is read (``folder`` as in
    :meth:`~bcsc_flow.flowjo.Workspace.fcs_path`); FlowJo's non-linear axis transforms of
    gated fluorescence channels are carried into ``transforms``. With ``group`` the gates
    are the group's gate tree (FlowJo's template for the group,
    :meth:`~bcsc_flow.flowjo.Workspace.group_strategy`), checked on this sample's file.
    ``name`` defaults to the workspace file's stem.

    Example
    -------
    >>> import tempfile
    >>> from bcsc_flow.flowjo import read_workspace
    >>> from bcsc_flow.flowjo._model import EXAMPLE_WSP
    >>> from bcsc_flow.io.fcs import write_fcs
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_fcs(Path(d) / "a.fcs", [[1.0], [5.0], [9.0]], channels=["FSC-A"])
    ...     tpl = template_from_workspace(read_workspace(EXAMPLE_WSP, folder=d), "a.fcs", name="a")
    >>> tpl.to_document()["populations"][0]["gate"], tpl.panel["FSC-A"]["kind"]
    ({'range': {'dim': 'FSC-A', 'min': 4.0}}, 'scatter')
    """
    fj = workspace.sample(sample_name)
    label = workspace.path.name if workspace.path is not None else "(from memory)"
    if name is None:
        name = workspace.path.stem if workspace.path is not None else fj.name
    if description is None:
        file = "" if fj.file_name == fj.name else f" ({fj.file_name})"
        whose = f"group {group!r}, checked on sample" if group else "sample"
        description = f"Converted from FlowJo workspace {label}, {whose} {fj.name!r}{file}."
    sample = workspace.load(fj.name, folder)
    axis: dict[str, Any] = {}
    tree = fj if group is None else workspace.group_trees.get(group, fj)
    strategy = fj.strategy() if group is None else workspace.group_strategy(group)
    for key, t in sorted(tree.transforms.items(), key=lambda kv: kv[0].startswith("Comp-")):
        axis[key[5:] if key.startswith("Comp-") else key] = t  # compensated axes win
    return template_from_strategy(
        strategy, sample, name=name, version=version, description=description,
        matrix_csv=matrix_csv, axis_transforms=axis, check=check,
    )  # fmt: skip
