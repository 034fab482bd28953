"""Seeded synthetic BCSC irradiation experiments with per-event ground truth.

The model (DOMAIN.md §2.7): every event is debris, a dead cell (DAPI/7-AAD bright,
nonspecific antibody binding, no ALDEFLUOR retention), a doublet (FSC-A summed, FSC-H not)
or a live singlet with a phenotype state — CD44/CD24 class (BCSC = CD44+CD24-/low), HER2+
given BCSC or bulk, ALDH-bright given class. Two arms, ``untreated`` and ``irradiated``,
with replicate jitter on the logit scale and per-batch intensity drift; null scenarios use
equal arms. Acquisition mixes the compensated truth through an instrument's spillover
(written to ``$SPILLOVER``) under its detector names, ``$PnS`` style, gains and range.

Main entry point: :func:`experiment` (CLI: ``bcsc-flow simulate DIR --seed N``). Modules:
``params`` (arms, intensities, scenarios), ``events`` (classes, phenotypes, intensities),
``profiles`` (instruments, acquisition), ``truth`` (true membership, truth files),
``experiment`` (tubes, controls, sheet, output folder) and ``_fcs2_legacy`` (a private FCS
2.0 integer writer for the legacy 10-bit log profile's test data).

Example
-------
>>> import tempfile
>>> import bcsc_flow as bf
>>> with tempfile.TemporaryDirectory() as d:
...     res = bf.simulate.experiment(d, seed=7, n_replicates=2, n_batches=1, events_per_tube=3000)
...     s = bf.read_fcs(res.out_dir / "irr_r1.fcs")
>>> s.channel("CD44").name, s.spillover is not None
('APC-A', True)
"""

from __future__ import annotations

from bcsc_flow.simulate.events import (
    CLASS_NAMES,
    EventTruth,
    Staining,
    TubeContent,
    simulate_events,
)
from bcsc_flow.simulate.experiment import GENERATOR_VERSION, ExperimentResult, experiment
from bcsc_flow.simulate.params import SCENARIOS, ArmParams, Intensities, Scenario
from bcsc_flow.simulate.profiles import PROFILES, InstrumentProfile, acquire
from bcsc_flow.simulate.truth import TRUTH_POPULATIONS, population_masks, read_event_truth

__all__ = [
    "CLASS_NAMES",
    "GENERATOR_VERSION",
    "PROFILES",
    "SCENARIOS",
    "TRUTH_POPULATIONS",
    "ArmParams",
    "EventTruth",
    "ExperimentResult",
    "InstrumentProfile",
    "Intensities",
    "Scenario",
    "Staining",
    "TubeContent",
    "acquire",
    "experiment",
    "population_masks",
    "read_event_truth",
    "simulate_events",
]
