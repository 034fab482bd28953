"""A whole synthetic irradiation experiment on disk: FCS files, sample sheet and truth.

Layout of ``out_dir`` after :func:`experiment`:

* ``unt_r1.fcs`` … ``irr_rN.fcs`` — test tubes (role ``test``), one per replicate and arm;
  replicate ``r`` is acquired in batch ``(r-1) mod n_batches + 1`` (sheet column ``batch``;
  control files are prefixed ``b<batch>_``).
* ``deab_<sample>.fcs`` — the ALDEFLUOR + DEAB tube of each test sample (role ``deab``,
  ``pair_id`` = the test sample's name, which is also the test row's ``pair_id``).
* per batch ``b<k>_unstained.fcs``, ``b<k>_fmo_<M>.fcs`` (CD44, CD24, HER2),
  ``b<k>_isotype_HER2.fcs`` and ``b<k>_single_<M>.fcs`` (ALDH, CD24, CD44, HER2 and the
  viability dye; beads for the antibodies, cells for ALDEFLUOR and the dye, half of them
  heat-killed). Controls hold cells pooled from the batch's test samples.
* ``samples.csv`` — the sample sheet (ARCHITECTURE §6 columns).
* ``truth.csv`` — per test sample and population: ``true_count``, ``true_parent_count``,
  ``true_pct_of_parent`` (0–100) and the sheet columns (see :mod:`bcsc_flow.simulate.truth`).
* ``truth/<file stem>.npz`` — per-event truth of every tube, in file event order.
* ``simulation.json`` — seed, generator version, profile, scenario and the realised
  per-sample probabilities and per-batch drifts.

Nothing varies between runs with the same arguments: ``$DATE``/``$BTIM``/``$ETIM`` are
derived from the seed, so files are byte-identical.

Example
-------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     res = experiment(d, seed=1, n_replicates=1, n_batches=1, events_per_tube=2000)
...     res.sheet["role"].value_counts()["test"], sorted(res.truth["population"].unique())[:2]
(np.int64(2), ['ALDH+', 'ALDH+ BCSC'])
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bcsc_flow.errors import SimulationError
from bcsc_flow.io.fcs import write_fcs
from bcsc_flow.sample import Sample
from bcsc_flow.simulate._fcs2_legacy import write_fcs2_integer
from bcsc_flow.simulate.events import REF_COLUMNS, Staining, TubeContent, simulate_events
from bcsc_flow.simulate.params import SCENARIOS, ArmParams, Scenario
from bcsc_flow.simulate.profiles import (
    PROFILES,
    Acquisition,
    InstrumentProfile,
    acquire,
    marker_name,
)
from bcsc_flow.simulate.truth import truth_rows, write_event_truth

__all__ = [
    "GENERATOR_VERSION",
    "ExperimentResult",
    "TubePlan",
    "experiment",
    "plan_experiment",
    "write_acquisition",
]

GENERATOR_VERSION = "2"
"""Bumped whenever the same seed would produce different files."""

_SHORT = {"untreated": "unt", "irradiated": "irr"}
_SHEET_COLUMNS = ["file", "sample", "condition", "replicate", "batch", "role", "pair_id"]


@dataclass(frozen=True)
class TubePlan:
    """One tube to simulate: its sheet row, event count and content.

    Example
    -------
    >>> TubePlan.__dataclass_fields__["role"].type
    'str'
    """

    file: str
    sample: str
    condition: str
    replicate: int | None
    batch: str
    role: str
    pair_id: str
    n_events: int
    content: TubeContent
    clog: bool = False


@dataclass(frozen=True, eq=False)
class ExperimentResult:
    """What :func:`experiment` wrote: the folder, file paths, sheet and truth tables.

    Example
    -------
    >>> ExperimentResult.__dataclass_fields__.keys() >= {"sheet", "truth", "files"}
    True
    """

    out_dir: Path
    files: tuple[Path, ...]
    sheet: pd.DataFrame
    truth: pd.DataFrame
    sheet_path: Path
    truth_path: Path
    truth_dir: Path
    params_path: Path


def _resolve(
    profile: str | InstrumentProfile, scenario: str | Scenario
) -> tuple[InstrumentProfile, Scenario]:
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise SimulationError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}.")
        profile = PROFILES[profile]
    if isinstance(scenario, str):
        if scenario not in SCENARIOS:
            raise SimulationError(
                f"unknown scenario {scenario!r}; choose one of {sorted(SCENARIOS)}."
            )
        scenario = SCENARIOS[scenario]
    return profile, scenario


def plan_experiment(
    *,
    scenario: Scenario,
    profile: InstrumentProfile,
    realised: dict[str, ArmParams],
    n_replicates: int,
    n_batches: int,
    events_per_tube: int,
    clog_samples: tuple[str, ...] = (),
) -> list[TubePlan]:
    """The tubes of an experiment, in a fixed order (tests, DEABs, then controls by batch).

    ``realised`` maps each test sample name to its jittered :class:`ArmParams`.

    Example
    -------
    >>> s = SCENARIOS["default"]
    >>> plans = plan_experiment(scenario=s, profile=PROFILES["aria"],
    ...     realised={"unt_r1": s.untreated, "irr_r1": s.irradiated},
    ...     n_replicates=1, n_batches=1, events_per_tube=1000)
    >>> [p.file for p in plans][:4], len(plans)
    (['unt_r1.fcs', 'irr_r1.fcs', 'deab_unt_r1.fcs', 'deab_irr_r1.fcs'], 14)
    """
    n = events_per_tube
    n_deab, n_ctrl, n_small = max(500, n // 3), max(500, n // 8), max(300, n // 16)
    full = Staining.full()
    tests, deabs, batch_arms = [], [], {f"b{k}": [] for k in range(1, n_batches + 1)}
    for cond in ("untreated", "irradiated"):
        for r in range(1, n_replicates + 1):
            name = f"{_SHORT[cond]}_r{r}"
            batch = f"b{(r - 1) % n_batches + 1}"
            arm = realised[name]
            batch_arms[batch].append(arm)
            content = TubeContent((arm,), full)
            tests.append(
                TubePlan(
                    f"{name}.fcs",
                    name,
                    cond,
                    r,
                    batch,
                    "test",
                    name,
                    n,
                    content,
                    name in clog_samples,
                )
            )
            deab = TubeContent((arm,), Staining(full.stains, deab=True))
            deabs.append(
                TubePlan(
                    f"deab_{name}.fcs", f"deab_{name}", cond, r, batch, "deab", name, n_deab, deab
                )
            )
    controls = []
    for batch, arms in batch_arms.items():
        pool = tuple(arms) or (scenario.untreated, scenario.irradiated)

        def ctrl(
            kind: str, marker: str, count: int, content: TubeContent, batch: str = batch
        ) -> TubePlan:
            stem = f"{batch}_{kind}" + (f"_{marker}" if marker else "")
            role = kind + (f":{marker}" if marker else "")
            return TubePlan(f"{stem}.fcs", stem, "", None, batch, role, "", count, content)

        controls.append(ctrl("unstained", "", n_small, TubeContent(pool, Staining())))
        for m in ("CD44", "CD24", "HER2"):
            controls.append(ctrl("fmo", m, n_ctrl, TubeContent(pool, full.without(m))))
        iso = Staining(full.stains - {"HER2"}, isotype=frozenset({"HER2"}))
        controls.append(ctrl("isotype", "HER2", n_ctrl, TubeContent(pool, iso)))
        for stain in ("ALDH", "CD24", "CD44", "HER2", "VIABILITY"):
            one = Staining(frozenset({stain}))
            beads = stain in ("CD24", "CD44", "HER2")
            dead = 0.5 if stain == "VIABILITY" else None
            content = TubeContent(pool, one, beads=beads, dead_share=dead)
            controls.append(ctrl("single", marker_name(profile, stain), n_small, content))
    return tests + deabs + controls


def _date(seed: int, batch: str) -> str:
    day = _dt.date(2012, 1, 2) + _dt.timedelta(days=seed % 3650 + 7 * (int(batch[1:]) - 1))
    return day.strftime("%d-%b-%Y").upper()


def _clock(seconds: float) -> str:
    s = round(seconds) % 86400
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def write_acquisition(
    path: str | Path,
    acq: Acquisition,
    profile: InstrumentProfile,
    *,
    name: str,
    keywords: dict[str, str],
) -> Path:
    """Write one acquired tube in the profile's format (FCS 3.1 float, or legacy FCS 2.0).

    FCS 3.1 files get ``$SPILLOVER`` (the profile's detector matrix) and ``$TIMESTEP``.

    Example
    -------
    >>> import numpy as np, tempfile, os
    >>> acq = acquire(PROFILES["legacy"], np.full((3, 8), 500.0), np.ones(8), np.random.default_rng(0))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_acquisition(os.path.join(d, "t.fcs"), acq, PROFILES["legacy"], name="t", keywords={})
    ...     p.read_bytes()[:6]
    b'FCS2.0'
    """
    kw = dict(keywords)
    if profile.fcs_version.startswith("2"):
        return write_fcs2_integer(path, acq.scale, acq.channels, kw)
    if acq.spillover is not None:
        names, m = acq.spillover
        vals = ",".join(f"{v:.6g}" for v in m.ravel())
        kw["$SPILLOVER"] = f"{len(names)},{','.join(names)},{vals}"
    if profile.timestep is not None:
        kw["$TIMESTEP"] = f"{profile.timestep:g}"
    sample = Sample(name=name, events=acq.scale.astype(np.float32), channels=acq.channels)
    return write_fcs(path, sample, keywords=kw, overwrite=True)


def experiment(
    out_dir: str | Path,
    *,
    seed: int = 0,
    profile: str | InstrumentProfile = "aria",
    scenario: str | Scenario = "default",
    n_replicates: int = 3,
    n_batches: int = 3,
    events_per_tube: int = 40_000,
    clog_samples: tuple[str, ...] = (),
    already_compensated: bool = False,
    progress: bool = False,
) -> ExperimentResult:
    """Simulate a seeded irradiation experiment with controls and write it to ``out_dir``.

    ``events_per_tube`` is the size of each test tube; DEAB tubes get a quarter, FMO and
    isotype tubes an eighth, unstained and single stains a sixteenth (with small minimums).
    ``clog_samples`` names test samples whose acquisition has a clog (the event rate drops
    25-fold for 2 % of the events; flagged ``in_clog`` in the per-event truth).
    ``already_compensated=True`` writes compensated values while ``$SPILLOVER`` stays in
    the files (the trap of compensating twice). Existing files of the same names are
    replaced. ``progress=True`` shows a tqdm bar.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     res = experiment(d, seed=3, n_replicates=1, n_batches=1, events_per_tube=1000,
    ...                      profile="legacy", scenario="null")
    ...     sorted(p.name for p in res.files)[:2]
    ['b1_fmo_CD24.fcs', 'b1_fmo_CD44.fcs']
    """
    prof, scen = _resolve(profile, scenario)
    if n_replicates < 1 or n_batches < 1:
        raise SimulationError(
            f"n_replicates={n_replicates!r}, n_batches={n_batches!r}: both must be >= 1."
        )
    if events_per_tube < 100:
        raise SimulationError(f"events_per_tube={events_per_tube!r}: expected at least 100.")
    out = Path(out_dir)
    truth_dir = out / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)

    bio = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    realised: dict[str, ArmParams] = {}
    for cond in ("untreated", "irradiated"):
        for r in range(1, n_replicates + 1):
            realised[f"{_SHORT[cond]}_r{r}"] = scen.arm(cond).jittered(bio, scen.replicate_logit_sd)
    # one factor for forward scatter (area and height alike), side scatter and each stain
    drift = {}
    for k in range(1, n_batches + 1):
        f = 10.0 ** bio.normal(0.0, scen.batch_shift_log10, len(REF_COLUMNS) - 1)
        drift[f"b{k}"] = np.concatenate([f[:1], f])
    unknown = set(clog_samples) - set(realised)
    if unknown:
        raise SimulationError(
            f"clog_samples {sorted(unknown)} are not test samples ({sorted(realised)})."
        )
    plans = plan_experiment(
        scenario=scen, profile=prof, realised=realised, n_replicates=n_replicates,
        n_batches=n_batches, events_per_tube=events_per_tube, clog_samples=tuple(clog_samples),
    )  # fmt: skip

    iterator = enumerate(plans)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(plans), desc="simulate", unit="tube")
    files, rows, truth_tables = [], [], []
    for i, plan in iterator:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, i]))
        ref, truth = simulate_events(rng, plan.n_events, plan.content, scen.intensities)
        acq = acquire(
            prof, ref, drift[plan.batch], rng, clog=plan.clog, compensated=already_compensated
        )
        if plan.clog:
            truth.extra["in_clog"] = acq.in_clog
        start = 9 * 3600 + 300 * i
        kw = {
            "$CYT": prof.cytometer,
            "$DATE": _date(seed, plan.batch),
            "$BTIM": _clock(start),
            "$ETIM": _clock(start + acq.duration_s),
            "$FIL": plan.file,
            "$SRC": plan.sample,
            "$SYS": f"bcsc_flow.simulate generator {GENERATOR_VERSION}",
            "$COM": f"synthetic data seed {seed} scenario {scen.name} profile {prof.name}",
            "TUBE NAME": plan.sample,
            "EXPERIMENT NAME": f"BCSC irradiation synthetic seed {seed}",
        }
        path = out / plan.file
        write_acquisition(path, acq, prof, name=plan.sample, keywords=kw)
        write_event_truth(truth_dir / f"{path.stem}.npz", truth)
        files.append(path)
        row = {
            "file": plan.file, "sample": plan.sample, "condition": plan.condition,
            "replicate": "" if plan.replicate is None else plan.replicate, "batch": int(plan.batch[1:]),
            "role": plan.role, "pair_id": plan.pair_id,
        }  # fmt: skip
        rows.append(row)
        if plan.role == "test":
            for t in truth_rows(truth):
                truth_tables.append(
                    {
                        **{
                            k: row[k] for k in ("sample", "file", "condition", "replicate", "batch")
                        },
                        **t,
                    }
                )

    sheet = pd.DataFrame(rows, columns=_SHEET_COLUMNS)
    truth_frame = pd.DataFrame(truth_tables)
    sheet_path, truth_path = out / "samples.csv", out / "truth.csv"
    sheet.to_csv(sheet_path, index=False, lineterminator="\n")
    truth_frame.to_csv(truth_path, index=False, lineterminator="\n", float_format="%.6f")
    params = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "profile": prof.name,
        "scenario": scen.name,
        "replicate_logit_sd": scen.replicate_logit_sd,
        "batch_shift_log10": scen.batch_shift_log10,
        "arms": {"untreated": scen.untreated.as_dict(), "irradiated": scen.irradiated.as_dict()},
        "realised": {k: v.as_dict() for k, v in realised.items()},
        "batch_drift": {k: dict(zip(REF_COLUMNS, map(float, v))) for k, v in drift.items()},
        "events_per_tube": events_per_tube,
        "already_compensated": already_compensated,
    }
    params_path = out / "simulation.json"
    params_path.write_text(json.dumps(params, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return ExperimentResult(
        out_dir=out, files=tuple(files), sheet=sheet, truth=truth_frame, sheet_path=sheet_path,
        truth_path=truth_path, truth_dir=truth_dir, params_path=params_path,
    )  # fmt: skip
