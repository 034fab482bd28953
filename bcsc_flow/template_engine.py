"""The machinery behind :func:`bcsc_flow.template_resolve.resolve` (private).

An :class:`Engine` holds the samples, the sheet rows and caches: marker maps, evaluation
contexts, population masks, resolved gates with their provenance, and pooled recipe
results. Gates are built lazily and recursively: a population's gate needs its parent's
mask, a control-quantile needs the control gated to its ``within`` population, a ``ref``
needs the other population's gate.

Recipes run on *views*: small Samples whose columns are the needed markers' compensated
data values (named by marker) over the events of one population, pooled over samples for
``per_batch``/``fixed`` scopes. The gate a recipe returns on a view is then moved onto the
target file's real dimensions (detector, compensation, transform).

Example
-------
>>> _key("cq", {"q": 0.995})
'["cq", {"q": 0.995}]'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.dimensions import FILE_COMPENSATION, UNCOMPENSATED, Dimension
from bcsc_flow.errors import (
    GatingWarning,
    TemplateError,
    warn,
)
from bcsc_flow.gates import And, Ellipse, Gate, Not, Or, Polygon, Range, Rectangle, Threshold
from bcsc_flow.recipes import (
    Cells,
    ControlQuantile,
    DensityValley,
    Mixture,
    Provenance,
    SingletFit,
    StableFlow,
)
from bcsc_flow.sample import Channel, Sample
from bcsc_flow.template_controls import (
    batch_looks_compensated,
    match_control,
    template_spillover,
)
from bcsc_flow.template_schema import ROOT

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow._evaluation import EvaluationContext
    from bcsc_flow.markers import MarkerMap
    from bcsc_flow.template import Template

__all__ = ["Engine"]

_PASS_ALL = -1e300


def _key(*parts: Any) -> str:
    """A JSON cache key of plain and read-only-mapping values."""

    def plain(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    return json.dumps(plain(parts), sort_keys=True, default=str)


class _Absent(Exception):
    """An optional marker used by a gate is absent from the file."""


def _redim(gate: Gate, mapping: Mapping[Dimension, Dimension]) -> Gate:
    """The same gate with its dimensions replaced through ``mapping``."""
    if isinstance(gate, Threshold | Range):
        return replace(gate, dimension=mapping.get(gate.dimension, gate.dimension))
    if isinstance(gate, Polygon | Ellipse | Rectangle):
        return replace(gate, dimensions=tuple(mapping.get(d, d) for d in gate.dimensions))
    if isinstance(gate, And | Or):
        return type(gate)(*(_redim(op, mapping) for op in gate.operands))
    if isinstance(gate, Not):
        return Not(_redim(gate.operand, mapping))
    raise TemplateError(f"cannot move gate {gate!r} onto a file's dimensions.")


class Engine:
    """Lazy, cached resolution of a template's gates on named samples (see module doc)."""

    def __init__(
        self, template: Template, samples: Mapping[str, Sample], sheet: pd.DataFrame
    ) -> None:
        self.t = template
        self.samples = samples
        self.rows: dict[str, dict[str, Any]] = {
            str(r["sample"]): dict(r) for r in sheet.to_dict("records")
        }
        self.pops = {p["name"]: p for p in template.populations}
        self.tests = [n for n, r in self.rows.items() if r["role"] == "test"]
        self._maps: dict[str, MarkerMap] = {}
        self._contexts: dict[str, EvaluationContext] = {}
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._gates: dict[tuple[str, str], Gate] = {}
        self._prov: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._pooled: dict[str, tuple[Gate, Provenance]] = {}
        self._comp: dict[str, str] = {}
        self._spill: dict[str, dict[str, Any]] = {}
        self._batch_spill: dict[str, Any] = {}
        self.skipped: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ files, markers, dims
    def file_of(self, name: str) -> str:
        """The sheet's file of a sample (or the sample name)."""
        return str(self.rows.get(name, {}).get("file") or name)

    def markers(self, name: str) -> MarkerMap:
        """The marker map of one sample (sheet ``channel:<MARKER>`` columns override)."""
        if name not in self._maps:
            row = self.rows.get(name, {})
            overrides = {k.split(":", 1)[1]: str(v) for k, v in row.items()
                         if isinstance(k, str) and k.startswith("channel:") and str(v).strip()}  # fmt: skip
            self._maps[name] = self.t.match_markers(self.samples[name], overrides)
        return self._maps[name]

    def compensation(self, name: str) -> str:
        """The compensation reference fluorescence dimensions of this sample use."""
        if name in self._comp:
            return self._comp[name]
        policy = self.t.compensation["source"]
        ref = UNCOMPENSATED
        if policy == "file" and self.samples[name].spillover is not None:
            ref = (
                FILE_COMPENSATION
                if not self._batch_compensated(self.rows[name]["batch"])
                else UNCOMPENSATED
            )
        elif policy in ("matrix", "controls"):
            ref = "template"
            self._spill[name] = {"template": self._template_spillover(name)}
        self._comp[name] = ref
        return ref

    def _batch_compensated(self, batch: str) -> bool:
        """Whether a batch's files look compensated already (decided once, with a warning)."""
        key = f"compensated:{batch}"
        if key not in self._batch_spill:
            self._batch_spill[key] = batch_looks_compensated(self.rows, self.samples, batch)
        return bool(self._batch_spill[key])

    def _template_spillover(self, name: str) -> Any:
        batch = self.rows[name]["batch"]
        if batch not in self._batch_spill:
            self._batch_spill[batch] = template_spillover(self.t, self.rows, self.samples, batch)
        return self._batch_spill[batch]

    def spillovers(self, name: str) -> dict[str, Any]:
        """Named spillover matrices the strategy of this sample needs."""
        self.compensation(name)
        return self._spill.get(name, {})

    def _transform(self, marker: str) -> Any:
        return self.t.transform(marker)

    def dim(self, name: str, marker: str, *, transformed: bool = True) -> Dimension:
        """The real dimension of a marker in one sample's file."""
        mm = self.markers(name)
        if not mm.has(marker):
            raise _Absent(marker)
        fluor = self.t.panel[marker]["kind"] == "fluorescence"
        comp = self.compensation(name) if fluor else UNCOMPENSATED
        return Dimension(mm.channel(marker), self._transform(marker) if transformed else None, comp)

    def context(self, name: str) -> EvaluationContext:
        """The cached evaluation context of a sample."""
        if name not in self._contexts:
            from bcsc_flow.gates import EvaluationContext

            self._contexts[name] = EvaluationContext(self.samples[name], self.spillovers(name))
        return self._contexts[name]

    # ------------------------------------------------------------------ masks and gates
    def mask(self, name: str, pop: str) -> np.ndarray:
        """Membership of population ``pop`` (parents applied) in sample ``name``."""
        if pop == ROOT:
            return np.ones(len(self.samples[name]), dtype=bool)
        key = (name, pop)
        if key not in self._masks:
            parent = self.mask(name, self.pops[pop]["parent"])
            self._masks[key] = parent & self.gate(name, pop).mask(self.context(name))
        return self._masks[key]

    def gate(self, name: str, pop: str) -> Gate:
        """The resolved gate of population ``pop`` for sample ``name`` (cached)."""
        key = (name, pop)
        if key not in self._gates:
            rows: list[dict[str, Any]] = []
            try:
                gate = self._build(name, pop, self.pops[pop]["gate"], rows)
            except _Absent as absent:
                gate = self._pass_all(name)
                rows = [Provenance("skipped", "fixed", "", f"marker {absent.args[0]!r} absent (optional)",
                                   note="population passes every event of its parent").row()]  # fmt: skip
                self.skipped.setdefault(name, []).append(pop)
            self._gates[key], self._prov[key] = gate, rows
        return self._gates[key]

    def _pass_all(self, name: str) -> Gate:
        sample = self.samples[name]
        mm = self.markers(name)
        scatter = [m for m, e in self.t.panel.items() if e["kind"] == "scatter" and mm.has(m)]
        channel = mm.channel(scatter[0]) if scatter else sample.names[0]
        return Range(Dimension(channel), min=_PASS_ALL)

    def _build(
        self, name: str, pop: str, spec: Mapping[str, Any], rows: list[dict[str, Any]]
    ) -> Gate:
        ((kind, args),) = spec.items()
        if kind == "and":
            return And(*(self._build(name, pop, g, rows) for g in args))
        if kind == "or":
            return Or(*(self._build(name, pop, g, rows) for g in args))
        if kind == "not":
            return Not(self._build(name, pop, args, rows))
        if kind == "ref":
            gate = self.gate(name, args)
            rows.extend(
                dict(r, note=(r.get("note") or "") + f" (gate of {args!r})")
                for r in self._prov[(name, args)]
            )
            return gate
        if kind == "threshold":
            return self._threshold(name, pop, args, rows)
        if kind == "range":
            dim = self.dim(name, args["dim"])
            lo, hi = (
                None if args.get(k) is None else _gate_scale(dim, args[k]) for k in ("min", "max")
            )
            return Range(dim, lo, hi)
        if kind == "rectangle":
            dims = [self.dim(name, m) for m in args["dims"]]
            return Rectangle(tuple(dims), tuple(_gate_scale(d, v) for d, v in zip(dims, args["min"])),
                             tuple(_gate_scale(d, v) for d, v in zip(dims, args["max"])))  # fmt: skip
        if kind == "polygon":
            dims = tuple(self.dim(name, m, transformed=False) for m in args["dims"])
            return Polygon(dims, tuple(tuple(v) for v in args["vertices"]))
        return self._recipe_gate(name, pop, kind, args, rows)

    # ------------------------------------------------------------------ recipes
    def _threshold(
        self, name: str, pop: str, args: Mapping[str, Any], rows: list[dict[str, Any]]
    ) -> Gate:
        marker = args["dim"]
        dim = self.dim(name, marker)
        side = "above" if "above" in args else "below"
        value, prov = self._value(name, pop, marker, side, args[side])
        rows.append(prov.row())
        if args.get("check") is not None:
            other, cprov = self._value(name, pop, marker, side, args["check"])
            differs = abs(other - value) > args["tolerance"]
            note = f"check only (not used); differs from the cut by {other - value:+.3f} on the gate axis"
            rows.append(replace(cprov, note=note + ("; " + cprov.note if cprov.note else "")).row())
            if differs:
                warn(f"{self.file_of(name)}: population {pop!r}: the {marker} cut {value:.3f} ({prov.recipe}) "
                     f"and its check {other:.3f} ({cprov.recipe}) differ by more than {args['tolerance']:g} "
                     "on the gate axis; inspect the thresholds table.", GatingWarning)  # fmt: skip
        return Threshold(dim, **{side: value})

    def _value(
        self, name: str, pop: str, marker: str, side: str, spec: Any
    ) -> tuple[float, Provenance]:
        dim = self.dim(name, marker)
        if isinstance(spec, float):
            gv = _gate_scale(dim, spec)
            return gv, Provenance("fixed", "fixed", dim.channel, "template value", spec, gv)
        ((kind, args),) = spec.items()
        if kind == "control_quantile":
            role = args["control"]
            within = args.get("within") or self.pops[pop]["parent"]
            ctrl = self.control_for(name, role, purpose=f"population {pop!r}")
            used_role = self.rows[ctrl]["role"]
            ckey = _key("cq", ctrl, within, marker, side, args)
            if ckey not in self._pooled:
                cdim = self.dim(ctrl, marker, transformed=False)
                values = np.asarray(self.context(ctrl).column(cdim))[self.mask(ctrl, within)]
                view = Sample(
                    name=Path(self.file_of(ctrl)).name,
                    events=values[:, None],
                    channels=(Channel(marker),),
                )
                match = self.t.controls[role]["match"]
                recipe = ControlQuantile(Dimension(marker, self._transform(marker)), used_role, side,
                                         args["q"], args["multiply"], args["offset"],
                                         "per_sample" if match == "pair" else "per_batch")  # fmt: skip
                self._pooled[ckey] = recipe.resolve(None, {used_role: view})
            gate, prov = self._pooled[ckey]
            prov = replace(prov, channel=dim.channel, events=int(self.mask(name, self.pops[pop]["parent"]).sum()),
                           note=f"control {self.file_of(ctrl)} in its {within!r} population")  # fmt: skip
            return _gate_scale(dim, prov.value), prov
        # density valley: on a view of the parent population (pooled by scope)
        members = self._scope_members(name, args["scope"])
        parent = self.pops[pop]["parent"]
        vdim = Dimension(marker, dim.transform)
        recipe = DensityValley(vdim, side, tuple(args["search"]) if args.get("search") else None,
                               args["adjust"], args["fallback"], args["scope"], args["other_peak"],
                               args["min_separation"])  # fmt: skip
        gate, prov = self._on_view(members, parent, [marker], recipe, ("valley", side, _key(args)))
        return float(gate.above if side == "above" else gate.below), replace(
            prov, channel=dim.channel
        )

    def _recipe_gate(
        self, name: str, pop: str, kind: str, args: Mapping[str, Any], rows: list[dict[str, Any]]
    ) -> Gate:
        markers = list(args.get("dims") or [])
        if kind == "stable_flow":
            markers = [args["time"], *args["watch"]]
        real = [self.dim(name, m) for m in markers]
        vdims = [Dimension(m, d.transform) for m, d in zip(markers, real)]
        scope = args.get("scope", "per_sample")
        recipe: Any
        if kind == "singlet_fit":
            recipe = SingletFit(tuple(vdims), args["band"], scope)
        elif kind == "cells":
            recipe = Cells(tuple(vdims), args["method"], tuple(args["search"]) if args.get("search") else None,
                           args["components"], args["quantile"], scope)  # fmt: skip
        elif kind == "mixture":
            recipe = Mixture(tuple(vdims), args["components"], tuple(args["target"]) if args.get("target") else None,
                             args.get("quantile"), args.get("probability"), scope)  # fmt: skip
        elif kind == "stable_flow":
            recipe = StableFlow(vdims[0], tuple(vdims[1:]), args["z"], args.get("bins"), scope)
        else:  # pragma: no cover - the schema admits no other kind
            raise TemplateError(f"unknown gate kind {kind!r}")
        members = self._scope_members(name, scope)
        gate, prov = self._on_view(members, self.pops[pop]["parent"], markers, recipe,
                                   (kind, _key(args)))  # fmt: skip
        rows.append(replace(prov, channel=",".join(d.channel for d in real)).row())
        return _redim(gate, dict(zip(vdims, real)))

    def _scope_members(self, name: str, scope: str) -> list[str]:
        if scope == "per_sample":
            return [name]
        if scope == "per_batch":
            batch = self.rows[name]["batch"]
            members = [t for t in self.tests if self.rows[t]["batch"] == batch]
            return members or [name]
        return list(self.tests)

    def _on_view(
        self, members: list[str], pop: str, markers: list[str], recipe: Any, key: tuple[Any, ...]
    ) -> tuple[Gate, Provenance]:
        cache = _key(members, pop, markers, *key)
        if cache not in self._pooled:
            blocks, channels = [], []
            for m in markers:
                cols = []
                for member in members:
                    d = self.dim(member, m, transformed=False)
                    cols.append(np.asarray(self.context(member).column(d))[self.mask(member, pop)])
                blocks.append(np.concatenate(cols))
                first = self.samples[members[0]].channel(self.dim(members[0], m).channel)
                channels.append(Channel(m, range=first.range))
            label = members[0] if len(members) == 1 else f"{len(members)} pooled samples"
            view = Sample(name=label, events=np.column_stack(blocks), channels=tuple(channels))
            self._pooled[cache] = recipe.resolve(view, {})
        return self._pooled[cache]

    # ------------------------------------------------------------------ controls
    def control_for(self, name: str, role: str, *, purpose: str) -> str:
        """The sample name of the control of ``role`` matched to sample ``name``."""
        return match_control(self.t, self.rows, name, role, purpose=purpose)

    # ------------------------------------------------------------------ reports
    def threshold_rows(self, tests: list[str]) -> list[dict[str, Any]]:
        """Provenance rows of every population of every test sample, in template order."""
        out = []
        for name in tests:
            for pop in self.pops:
                self.gate(name, pop)
                for r in self._prov[(name, pop)]:
                    out.append(dict(r, sample=name, population=pop, batch=self.rows[name]["batch"]))
        return out

    def marker_report(self) -> pd.DataFrame:
        """How each marker was found, for every file resolved."""
        import pandas as pd

        frames = [mm.report().assign(sample=name) for name, mm in self._maps.items()]
        cols = ["file", "sample", "marker", "channel", "how", "stain"]
        return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)

    def warn_skipped(self, tests: list[str]) -> None:
        """One GatingWarning for populations skipped in test samples."""
        hits = {n: v for n, v in self.skipped.items() if n in tests}
        if hits:
            pops = sorted({p for v in hits.values() for p in v})
            warn(f"template {self.t.name!r}: population(s) {', '.join(map(repr, pops))} skipped (pass every "
                 f"event) in {len(hits)} test sample(s) because an optional marker is absent: "
                 f"{', '.join(sorted(hits))[:200]}.", GatingWarning)  # fmt: skip


def _gate_scale(dim: Dimension, value: float) -> float:
    if dim.transform is None:
        return float(value)
    return float(np.asarray(dim.transform(np.array([value], dtype=np.float64)))[0])
