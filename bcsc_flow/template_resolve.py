"""Freezing a template: samples + sample sheet → one frozen GatingStrategy per test sample.

:func:`resolve` inputs are deliberately plain:

* ``samples`` — a mapping *sample name → Sample* holding every test sample and every
  control the template needs (names are the sheet's ``sample`` column);
* ``sheet`` — a DataFrame with columns ``sample``, ``role`` and ``batch`` (required) and
  ``file``, ``condition``, ``replicate``, ``pair_id`` (optional; extra columns are ignored).
  ``role`` is ``test``, ``unstained``, ``deab``, ``fmo:<MARKER>``, ``isotype:<MARKER>`` or
  ``single:<MARKER>``. A column ``channel:<MARKER>`` overrides the panel for that row's
  file (the detector ``$PnN`` to use).

Controls are matched to each test sample as the template's ``controls`` section says:
``match: batch`` → the batch's control of that role (or of an ``alternatives`` role);
``match: pair`` → the control row whose ``pair_id`` equals the test sample's ``pair_id``
(else the one of the same batch and condition). A missing or ambiguous control raises
:class:`~bcsc_flow.errors.SheetError` naming the batch, the role and what the sheet has.

Every recipe is resolved with the parent population's events (controls are gated through
their own scatter/viability gates first), per sample, per batch (pooled test samples of
the batch) or once for all (``fixed``). The result is a :class:`Resolution`.

Example
-------
>>> import numpy as np, pandas as pd
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.template import parse_template
>>> tpl = parse_template('''
... schema_version: 1
... name: demo
... version: "1"
... panel: {CD44: {}}
... controls: {"fmo:CD44": {match: batch}}
... populations:
...   - {name: CD44+, parent: root, gate: {threshold: {dim: CD44, above: {control_quantile: {control: "fmo:CD44"}}}}}
... ''')
>>> rng = np.random.default_rng(0)
>>> test = Sample.from_array(rng.normal(500, 100, (1000, 1)), ["APC-A"], markers=["CD44"], name="t1")
>>> fmo = Sample.from_array(rng.normal(100, 50, (1000, 1)), ["APC-A"], markers=["CD44"], name="f")
>>> sheet = pd.DataFrame({"sample": ["t1", "f"], "role": ["test", "fmo:CD44"], "batch": ["b1", "b1"]})
>>> res = resolve(tpl, {"t1": test, "f": fmo}, sheet)
>>> res.strategies["t1"].apply(test).count("CD44+") > 990, res.thresholds["control_file"].tolist()
(True, ['f'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.errors import QCWarning, SheetError, warn
from bcsc_flow.template_engine import Engine

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow.sample import Sample
    from bcsc_flow.strategy import GatingStrategy
    from bcsc_flow.template import Template

__all__ = ["QC_COLUMNS", "Resolution", "resolve"]

QC_COLUMNS = (
    "sample",
    "check",
    "population",
    "of",
    "in",
    "control_file",
    "value",
    "min",
    "max",
    "ok",
)


@dataclass(frozen=True, eq=False)
class Resolution:
    """A template frozen against a sheet: strategies, thresholds, marker and QC reports.

    ``strategies`` maps each test sample to its frozen
    :class:`~bcsc_flow.strategy.GatingStrategy` (export with :func:`bcsc_flow.gatingml.write`);
    ``thresholds`` has one row per resolved recipe value and sample
    (:data:`bcsc_flow.recipes.THRESHOLD_COLUMNS` plus ``batch`` and ``template_digest``);
    ``markers`` says how each marker was found in each file (``file, sample, marker,
    channel, how, stain``); ``qc`` has one row per QC expectation and test sample
    (:data:`QC_COLUMNS`, ``value`` a fraction 0–1); ``skipped`` lists populations that pass
    every event because an optional marker is absent.

    Example
    -------
    >>> Resolution.__dataclass_fields__["strategies"].type
    'Mapping[str, GatingStrategy]'
    """

    template_digest: str
    strategies: Mapping[str, GatingStrategy]
    thresholds: pd.DataFrame
    markers: pd.DataFrame
    qc: pd.DataFrame
    skipped: Mapping[str, tuple[str, ...]]

    def strategy(self, sample: str) -> GatingStrategy:
        """The frozen strategy of one test sample."""
        if sample not in self.strategies:
            raise SheetError(f"no test sample {sample!r}; resolved: {', '.join(self.strategies)}.")
        return self.strategies[sample]


def _canonical_roles(frame: pd.DataFrame, template: Template) -> pd.DataFrame:
    """Spell roles as the template does (``FMO:cd44`` → ``fmo:CD44``); ``test`` lower-case."""
    known = {"test", "unstained", "deab"}
    for role, spec in template.controls.items():
        known |= {role, *spec["alternatives"]}
    spelled = {r.lower(): r for r in known}
    frame["role"] = [spelled.get(r.strip().lower(), r.strip()) for r in frame["role"]]
    return frame


def _check_sheet(sheet: pd.DataFrame, samples: Mapping[str, Sample]) -> pd.DataFrame:
    missing = [c for c in ("sample", "role", "batch") if c not in sheet.columns]
    if missing:
        raise SheetError(
            f"sample sheet lacks column(s) {', '.join(missing)}; it needs sample, role, batch "
            f"(and optionally file, condition, replicate, pair_id). Columns: {', '.join(map(str, sheet.columns))}."
        )
    frame = sheet.copy()
    for col in ("file", "condition", "replicate", "pair_id"):
        if col not in frame.columns:
            frame[col] = ""
    frame = frame.fillna("").astype(
        {c: str for c in ("sample", "role", "batch", "condition", "pair_id", "file")}
    )
    dup = frame["sample"][frame["sample"].duplicated()].tolist()
    if dup:
        raise SheetError(f"sample sheet: sample names must be unique; repeated: {', '.join(dup)}.")
    absent = [s for s in frame["sample"] if s not in samples]
    if absent:
        raise SheetError(
            f"sample sheet lists {len(absent)} sample(s) not given to resolve(): {', '.join(absent[:5])}"
            f"{' ...' if len(absent) > 5 else ''}; pass every test and control Sample by its sheet name."
        )
    if not (frame["role"] == "test").any():
        raise SheetError("sample sheet has no row with role 'test'; nothing to resolve.")
    return frame


def _qc_rows(engine: Engine, template: Template, tests: list[str]) -> list[dict[str, Any]]:
    rows = []
    for item in template.qc:
        pop = item["population"]
        of = item.get("of") or template.population(pop)["parent"]
        where = item["in"]
        for name in tests:
            target, ctrl_file = name, None
            if where != "test":
                target = engine.control_for(name, where, purpose=f"qc {pop} in {where}")
                ctrl_file = engine.file_of(target)
            gate_mask = engine.gate(name, pop).mask(engine.context(target))
            parent_mask = engine.mask(target, template.population(pop)["parent"])
            inside = gate_mask & parent_mask
            denom = engine.mask(target, of)
            n_of = int(denom.sum())
            value = float(inside.sum() / n_of) if n_of else float("nan")
            lo, hi = item.get("min"), item.get("max")
            ok = bool(
                np.isfinite(value) and (lo is None or value >= lo) and (hi is None or value <= hi)
            )
            check = f"{pop}/{of}" + ("" if where == "test" else f" in {where}")
            rows.append({"sample": name, "check": check, "population": pop, "of": of, "in": where,
                         "control_file": ctrl_file, "value": value, "min": lo, "max": hi, "ok": ok})  # fmt: skip
    return rows


def resolve(template: Template, samples: Mapping[str, Sample], sheet: pd.DataFrame) -> Resolution:
    """Resolve every recipe of ``template`` for the test samples of ``sheet``.

    See the module docstring for the inputs. Emits a :class:`~bcsc_flow.errors.GatingWarning`
    when a population is skipped (optional marker absent) and a
    :class:`~bcsc_flow.errors.QCWarning` listing failed QC expectations.
    """
    import pandas as pd

    from bcsc_flow.recipes import thresholds_frame
    from bcsc_flow.strategy import GatingStrategy, Population

    frame = _canonical_roles(_check_sheet(sheet, samples), template)
    engine = Engine(template, samples, frame)
    tests = frame.loc[frame["role"] == "test", "sample"].tolist()
    strategies: dict[str, GatingStrategy] = {}
    for name in tests:
        pops = [
            Population(
                p["name"],
                engine.gate(name, p["name"]),
                None if p["parent"] == "root" else p["parent"],
            )
            for p in template.populations
        ]
        strategies[name] = GatingStrategy(tuple(pops), spillovers=engine.spillovers(name))
    engine.warn_skipped(tests)
    qc_rows = _qc_rows(engine, template, tests)
    failed = [r for r in qc_rows if not r["ok"]]
    if failed:
        text = "; ".join(
            f"{r['sample']}: {r['check']} = {r['value']:.4g} outside [{r['min'] if r['min'] is not None else '-inf'}, "
            f"{r['max'] if r['max'] is not None else 'inf'}]"
            for r in failed[:8]
        )
        warn(
            f"template {template.name!r}: {len(failed)} QC expectation(s) not met: {text}.",
            QCWarning,
        )
    rows = [dict(r, template_digest=template.digest) for r in engine.threshold_rows(tests)]
    return Resolution(
        template_digest=template.digest,
        strategies=strategies,
        thresholds=thresholds_frame(rows),
        markers=engine.marker_report(),
        qc=pd.DataFrame(qc_rows, columns=list(QC_COLUMNS)),
        skipped={k: tuple(v) for k, v in engine.skipped.items()},
    )
