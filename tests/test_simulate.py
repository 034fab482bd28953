"""The simulator: reproducible bytes, consistent truth, readable files, recoverable truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bcsc_flow as bf
from bcsc_flow.cli import main
from bcsc_flow.errors import SimulationError
from bcsc_flow.io.sheet import read_sheet
from bcsc_flow.simulate import (
    CLASS_NAMES,
    PROFILES,
    SCENARIOS,
    TRUTH_POPULATIONS,
    Intensities,
    Staining,
    TubeContent,
    acquire,
    experiment,
    population_masks,
    read_event_truth,
    simulate_events,
)
from bcsc_flow.simulate.events import REF_COLUMNS
from bcsc_flow.simulate.experiment import write_acquisition
from bcsc_flow.simulate.params import ArmParams

REPO = Path(__file__).resolve().parents[1]
SAMPLE_FCS = REPO / "sample_fcs"
# The one documented command that made sample_fcs/ (also in sample_fcs/README.md).
SAMPLE_FCS_ARGS = ["--seed", "2012", "--profile", "aria", "--events", "30000", "--quiet"]


def _small(out: Path, **kw: object):
    args = {"seed": 11, "n_replicates": 2, "n_batches": 1, "events_per_tube": 3000, **kw}
    return experiment(out, **args)


def _tree_bytes(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "README.md"
    }


# ----------------------------------------------------------------- reproducibility
def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    a = _tree_bytes(_small(tmp_path / "a").out_dir)
    b = _tree_bytes(_small(tmp_path / "b").out_dir)
    c = _tree_bytes(_small(tmp_path / "c", seed=12).out_dir)
    assert a.keys() == b.keys() and len(a) > 20
    assert all(a[k] == b[k] for k in a)
    fcs = [k for k in a if k.endswith(".fcs")]
    assert all(a[k] != c[k] for k in fcs)


def test_sample_fcs_is_a_bit_identical_regeneration(tmp_path: Path) -> None:
    committed = _tree_bytes(SAMPLE_FCS)
    assert main(["simulate", str(tmp_path), *SAMPLE_FCS_ARGS]) == 0
    fresh = _tree_bytes(tmp_path)
    assert sorted(committed) == sorted(fresh)
    different = [k for k in committed if committed[k] != fresh[k]]
    assert different == []
    assert sum(len(v) for v in committed.values()) <= 12_000_000


# ----------------------------------------------------------------- truth bookkeeping
def test_event_truth_sums_to_the_truth_table(tmp_path: Path) -> None:
    res = _small(tmp_path, clog_samples=("unt_r1",))
    table = pd.read_csv(res.truth_path)
    assert table.equals(pd.read_csv(res.truth_path))  # a plain CSV
    tests = res.sheet[res.sheet["role"] == "test"]
    assert set(table["sample"]) == set(tests["sample"])
    for _, row in res.sheet.iterrows():
        truth = read_event_truth(res.truth_dir / f"{Path(row['file']).stem}.npz")
        sample = bf.read_fcs(res.out_dir / row["file"])
        assert len(truth.event_class) == len(sample)
        assert set(np.unique(truth.event_class)) <= set(range(len(CLASS_NAMES)))
        if row["role"] != "test":
            continue
        masks = population_masks(truth)
        mine = table[table["sample"] == row["sample"]].set_index("population")
        assert list(mine.index) == [p for p, _ in TRUTH_POPULATIONS]
        for pop, parent in TRUTH_POPULATIONS:
            assert mine.loc[pop, "parent"] == parent
            assert mine.loc[pop, "true_count"] == masks[pop].sum()
            assert mine.loc[pop, "true_parent_count"] == masks[parent].sum()
            assert mine.loc[pop, "true_pct_of_parent"] == pytest.approx(
                100 * masks[pop].sum() / masks[parent].sum(), abs=1e-6
            )
            assert not (masks[pop] & ~masks[parent]).any()  # nested
        # the partition of BCSC by HER2 and the class counts add up
        assert (
            mine.loc["HER2+ BCSC", "true_count"] + mine.loc["HER2- BCSC", "true_count"]
            == (mine.loc["BCSC", "true_count"])
        )
        assert mine.loc["cells", "true_parent_count"] == len(sample)
    clog = read_event_truth(res.truth_dir / "unt_r1.npz").extra["in_clog"]
    assert clog.any() and not clog.all()


def test_event_classes_have_their_signatures(tmp_path: Path) -> None:
    res = _small(tmp_path, events_per_tube=20000, n_replicates=1)
    s = bf.read_fcs(res.out_dir / "irr_r1.fcs")
    t = read_event_truth(res.truth_dir / "irr_r1.npz")
    cls = np.array(CLASS_NAMES)[t.event_class]
    ratio = s["FSC-H"] / s["FSC-A"]
    assert np.median(ratio[cls == "doublet"]) < np.median(ratio[cls == "live"]) - 0.2
    assert np.median(s["FSC-A"][cls == "debris"]) < 0.3 * np.median(s["FSC-A"][cls == "live"])
    assert np.median(s["DAPI"][cls == "dead"]) > 20 * np.median(s["DAPI"][cls == "live"])
    # nonspecific binding: dead CD44- cells are brighter in CD44 than live CD44- cells
    neg = ~t.cd44_pos
    assert (
        np.median(s["CD44"][(cls == "dead") & neg])
        > np.median(s["CD44"][(cls == "live") & neg]) + 300
    )


# ----------------------------------------------------------------- files and profiles
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_files_read_back_with_channels_markers_and_spillover(tmp_path: Path, name: str) -> None:
    profile = PROFILES[name]
    res = _small(tmp_path, profile=name, n_replicates=1)
    s = bf.read_fcs(res.out_dir / "unt_r1.fcs")
    assert s.version == f"FCS{profile.fcs_version}"
    assert s.names == tuple(d.name for d in profile.detectors)
    for stain in ("ALDH", "CD24", "CD44", "HER2"):
        assert s.channel(stain).name == profile.detector_of(stain).name
        assert s.channel(stain).marker == profile.label(stain)
    dye = profile.fluor("VIABILITY")
    assert s.channel(dye).name == profile.detector_of("VIABILITY").name
    expected = profile.file_spillover()
    if expected is None:
        assert s.spillover is None
    else:
        assert s.spillover.detectors == expected[0]
        np.testing.assert_array_equal(s.spillover.matrix, expected[1])
    assert {"$DATE", "$BTIM", "$ETIM", "$CYT"} <= {k.upper() for k in s.keywords}
    sheet = read_sheet(res.sheet_path)  # every file listed, roles valid
    assert sheet.deab_for("unt_r1") == "deab_unt_r1"
    roles = set(res.sheet["role"])
    assert {
        "unstained",
        "fmo:CD44",
        "fmo:CD24",
        "fmo:HER2",
        "isotype:HER2",
        f"single:{dye}",
    } <= roles


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_stored_values_decode_to_the_acquired_scale(tmp_path: Path, name: str) -> None:
    profile = PROFILES[name]
    rng = np.random.default_rng(3)
    content = TubeContent((SCENARIOS["default"].irradiated,), Staining.full())
    ref, _ = simulate_events(rng, 5000, content, Intensities())
    acq = acquire(profile, ref, np.ones(8), rng)
    path = write_acquisition(tmp_path / "t.fcs", acq, profile, name="t", keywords={})
    got = np.asarray(bf.read_fcs(path).events, dtype=np.float64)
    if profile.fcs_version.startswith("3"):
        np.testing.assert_allclose(got, acq.scale.astype(np.float32), rtol=0, atol=0)
        # compensating with the file's matrix gives truth x gain (float32 rounding only)
        names, m = acq.spillover
        dets = [profile.detectors[[d.name for d in profile.detectors].index(n)] for n in names]
        cols = [profile.detectors.index(d) for d in dets]
        comp = np.linalg.solve(m.T, got[:, cols].T).T
        gains = np.array([d.gain for d in dets])
        truth = ref[:, [REF_COLUMNS.index(d.source) for d in dets]] * gains
        np.testing.assert_allclose(comp, truth, rtol=1e-5, atol=0.05)
        return
    for j, det in enumerate(profile.detectors):
        want, have = acq.scale[:, j], got[:, j]
        if det.log_decades:  # 10-bit log: one channel step is a factor 10**(4/1024)
            step = 10 ** (det.log_decades / profile.range)
            assert np.all(have <= want * (1 + 1e-9))
            assert np.all(want <= have * step * (1 + 1e-9))
        else:
            assert np.all((have <= want) & (want < have + 1))
    # and the decoded values follow the truth where the 10-bit range is not clipped
    j = [d.source for d in profile.detectors].index("CD44")
    inside = (acq.scale[:, j] > 1) & (acq.scale[:, j] < 10**4)
    expect = ref[inside, 5] * profile.detectors[j].gain
    assert np.all(np.abs(np.log10(got[inside, j] / expect)) <= 4 / 1024 + 1e-9)


def test_already_compensated_files_keep_their_matrix(tmp_path: Path) -> None:
    profile = PROFILES["aria"]
    rng = np.random.default_rng(5)
    content = TubeContent((SCENARIOS["default"].untreated,), Staining.full())
    ref, _ = simulate_events(rng, 2000, content, Intensities())
    acq = acquire(profile, ref, np.ones(8), rng, compensated=True)
    s = bf.read_fcs(write_acquisition(tmp_path / "c.fcs", acq, profile, name="c", keywords={}))
    assert s.spillover is not None and s.spillover.matrix[0, 1] == pytest.approx(0.18)
    fitc = ref[:, REF_COLUMNS.index("ALDH")]
    np.testing.assert_allclose(s["FITC-A"], fitc, rtol=1e-6, atol=1e-3)  # no spillover mixed in
    res = _small(tmp_path / "e", n_replicates=1, already_compensated=True)
    assert '"already_compensated": true' in res.params_path.read_text()


# ----------------------------------------------------------------- truth is recoverable
def _compensated(sample: bf.Sample) -> np.ndarray:
    ev = np.array(sample.events, dtype=np.float64)
    sp = sample.spillover
    idx = [sample.names.index(n) for n in sp.detectors]
    ev[:, idx] = np.linalg.solve(sp.matrix.T, ev[:, idx].T).T
    return ev


def _gate_inputs(path: Path) -> dict[str, np.ndarray]:
    s = bf.read_fcs(path)
    ev = _compensated(s)
    cols = {
        k: ev[:, s.index(k)] for k in ("FSC-A", "FSC-H", "CD44", "CD24", "HER2", "ALDH", "DAPI")
    }
    # truth-independent rules: scatter floor, height/area ratio, dye-negative
    cells = cols["FSC-A"] > 40_000
    singlets = cells & (cols["FSC-H"] / cols["FSC-A"] > 0.65)
    cols["live"] = singlets & (cols["DAPI"] < 3_000)
    return cols


def test_plain_control_thresholds_recover_the_truth(tmp_path: Path) -> None:
    res = _small(tmp_path, n_replicates=3, n_batches=3, events_per_tube=20000, seed=4)
    sheet, truth = res.sheet, res.truth.set_index(["sample", "population"])["true_pct_of_parent"]
    for _, test in sheet[sheet["role"] == "test"].iterrows():
        batch = sheet[sheet["batch"] == test["batch"]].set_index("role")["file"]
        q = {}
        for marker in ("CD44", "CD24", "HER2"):
            fmo = _gate_inputs(res.out_dir / batch[f"fmo:{marker}"])
            q[marker] = np.percentile(fmo[marker][fmo["live"]], 99.5)
        deab_file = sheet[(sheet["role"] == "deab") & (sheet["pair_id"] == test["sample"])]["file"]
        deab = _gate_inputs(res.out_dir / deab_file.iloc[0])
        q["ALDH"] = np.percentile(deab["ALDH"][deab["live"]], 99.5)
        x = _gate_inputs(res.out_dir / test["file"])
        live = x["live"]
        bcsc = live & (x["CD44"] > q["CD44"]) & (x["CD24"] < 2.5 * q["CD24"])
        pct_bcsc = 100 * bcsc.sum() / live.sum()
        pct_her2 = 100 * (bcsc & (x["HER2"] > q["HER2"])).sum() / bcsc.sum()
        pct_aldh = 100 * (live & (x["ALDH"] > q["ALDH"])).sum() / live.sum()
        name = test["sample"]
        assert abs(pct_bcsc - truth[name, "BCSC"]) < 0.5, name
        assert abs(pct_her2 - truth[name, "HER2+ BCSC"]) < 5.0, name
        assert abs(pct_aldh - truth[name, "ALDH+"]) < 0.7, name
    bcsc = res.truth[res.truth["population"] == "BCSC"].groupby("condition")["true_pct_of_parent"]
    assert bcsc.min()["irradiated"] > bcsc.max()["untreated"]


def test_sample_fcs_shows_the_irradiation_effect_in_truth() -> None:
    truth = pd.read_csv(SAMPLE_FCS / "truth.csv")
    for pop in ("BCSC", "HER2+ BCSC"):
        by = truth[truth["population"] == pop].groupby("condition")["true_pct_of_parent"]
        assert by.min()["irradiated"] > 1.5 * by.max()["untreated"], pop
    sheet = read_sheet(SAMPLE_FCS / "samples.csv")
    assert sorted(sheet.tests()["sample"]) == [
        f"{a}_r{r}" for a in ("irr", "unt") for r in (1, 2, 3)
    ]


# ----------------------------------------------------------------- scenarios and errors
def test_null_scenario_has_equal_arms(tmp_path: Path) -> None:
    null = SCENARIOS["null"]
    assert null.untreated == null.irradiated
    from dataclasses import replace

    flat = replace(null, replicate_logit_sd=0.0, batch_shift_log10=0.0)
    res = _small(tmp_path, scenario=flat, events_per_tube=30000, n_replicates=1)
    pct = res.truth[res.truth["population"] == "BCSC"].set_index("condition")["true_pct_of_parent"]
    assert abs(pct["untreated"] - pct["irradiated"]) < 0.6  # binomial noise only (~0.13 SD)


def test_bad_requests_raise_simulation_errors(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="unknown profile 'nope'"):
        experiment(tmp_path, profile="nope")
    with pytest.raises(SimulationError, match="unknown scenario"):
        experiment(tmp_path, scenario="nope")
    with pytest.raises(SimulationError, match="clog_samples"):
        experiment(tmp_path, clog_samples=("x",), events_per_tube=200)
    with pytest.raises(SimulationError, match="probability"):
        ArmParams(bcsc=1.5)
    with pytest.raises(ValueError):
        experiment(tmp_path, events_per_tube=5)


def test_cli_simulate_writes_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", str(tmp_path), "--seed", "3", "--events", "1000", "--replicates", "1"]
    assert main([*args, "--batches", "1", "--profile", "legacy", "--quiet"]) == 0
    assert "samples.csv" in capsys.readouterr().out
    assert (tmp_path / "unt_r1.fcs").read_bytes()[:6] == b"FCS2.0"
    assert main(["simulate", str(tmp_path), "--seed", "1", "--profile", "zzz", "--quiet"]) == 1
    assert "unknown profile" in capsys.readouterr().err


# ----------------------------------------------------------------- independent reader
_FLOWIO = """
import sys, numpy as np, flowio
f = flowio.FlowData(sys.argv[1])
np.save(sys.argv[2], f.as_array(preprocess=True).astype(np.float64))
"""


@pytest.mark.parametrize("name", ["aria", "legacy"])
def test_flowio_decodes_the_same_scale_values(tmp_path: Path, name: str) -> None:
    import os
    import subprocess

    oracle = os.environ.get("BCSC_ORACLE_PYTHON")
    if not oracle:
        pytest.skip("BCSC_ORACLE_PYTHON is not set (the oracle venv with flowio)")
    res = _small(tmp_path / "x", profile=name, n_replicates=1, events_per_tube=2000)
    fcs, out = res.out_dir / "irr_r1.fcs", tmp_path / "flowio.npy"
    subprocess.run([oracle, "-c", _FLOWIO, str(fcs), str(out)], check=True, timeout=120)
    sample = bf.read_fcs(fcs)
    keep = [i for i, c in enumerate(sample.channels) if not c.is_time]  # flowio scales Time
    ours = np.asarray(sample.events, dtype=np.float64)[:, keep]
    np.testing.assert_allclose(np.load(out)[:, keep], ours, rtol=1e-6, atol=0)
