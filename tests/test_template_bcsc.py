"""The built-in BCSC template on the simulator's experiments: accuracy against truth,
portability across instrument profiles, QC rows, and Gating-ML round trips.

Truth comes from the simulator (``truth.csv``: true per-sample percentages of every
population). Experiments are small (20,000 events per test tube) to keep the suite fast.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bcsc_flow as bf
from bcsc_flow import gatingml
from bcsc_flow.errors import CompensationWarning, GatingWarning, SheetError
from bcsc_flow.simulate import experiment
from bcsc_flow.template import Template

PROFILES = ("aria", "fortessa", "cytoflex", "legacy")
SEEDS = (0, 1, 2, 3, 4)
EVENTS = 20_000


def _run(tmp: Path, profile: str, seed: int, **kw):
    res = experiment(
        tmp, seed=seed, profile=profile, n_replicates=3, n_batches=2, events_per_tube=EVENTS, **kw
    )
    sheet = res.sheet.astype(str)
    samples = {row.sample: bf.read_fcs(tmp / row.file) for row in sheet.itertuples()}
    return res, sheet, samples


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("profile", PROFILES)
def test_bcsc_template_recovers_truth(tmp_path: Path, profile: str, seed: int) -> None:
    res, sheet, samples = _run(tmp_path, profile, seed)
    resolution = bf.load_template("bcsc").resolve(samples, sheet)  # no warning expected
    truth = res.truth.set_index(["sample", "population"])["true_pct_of_parent"]
    ours, true_bcsc = {}, {}
    for name, strategy in resolution.strategies.items():
        r = strategy.apply(samples[name])
        live = r.count("live")
        bcsc = 100.0 * r.count("BCSC") / live
        assert bcsc == pytest.approx(truth[(name, "BCSC")], abs=0.5), (name, "BCSC % of live")
        assert r.pct_of_parent("HER2+ BCSC") == pytest.approx(truth[(name, "HER2+ BCSC")], abs=5.0)
        aldh = 100.0 * r.count("ALDH+") / live
        assert aldh == pytest.approx(truth[(name, "ALDH+")], abs=0.7), (name, "ALDH+ % of live")
        ours[name], true_bcsc[name] = bcsc, truth[(name, "BCSC")]
    irr = [n for n in ours if n.startswith("irr")]
    unt = [n for n in ours if n.startswith("unt")]
    ratio = np.mean([ours[n] for n in irr]) / np.mean([ours[n] for n in unt])
    true_ratio = np.mean([true_bcsc[n] for n in irr]) / np.mean([true_bcsc[n] for n in unt])
    assert ratio == pytest.approx(true_ratio, rel=0.15)


def test_same_template_same_structure_on_two_profiles(tmp_path: Path) -> None:
    tpl = bf.load_template("bcsc")
    structures, hows = [], []
    for profile in ("aria", "fortessa"):
        _, sheet, samples = _run(tmp_path / profile, profile, 11)
        resolution = tpl.resolve(samples, sheet)
        st = resolution.strategies["unt_r1"]
        structures.append([(p.name, p.parent) for p in st])
        rep = resolution.markers.query("sample == 'unt_r1'").set_index("marker")
        hows.append(rep)
    assert structures[0] == structures[1]
    aria, fortessa = hows
    assert aria.loc["CD44", "channel"] == "APC-A" and fortessa.loc["CD44", "channel"] == "R670-A"
    assert aria.loc["ALDH", "channel"] == "FITC-A" and fortessa.loc["ALDH", "channel"] == "B530-A"
    assert set(aria["how"]) <= {"$PnS exact", "$PnS word", "detector alias", "sheet override"}
    assert (
        fortessa.loc["HER2", "how"] == "$PnS word"
        and fortessa.loc["HER2", "stain"] == "PE-Cy7-HER2"
    )
    assert fortessa.loc["FSC-A", "how"] == "detector alias"


def test_sheet_override_is_reported(tmp_path: Path) -> None:
    _, sheet, samples = _run(tmp_path, "aria", 12)
    sheet = sheet.assign(**{"channel:CD44": "APC-A"})
    resolution = bf.load_template("bcsc").resolve(samples, sheet)
    rep = resolution.markers.set_index(["sample", "marker"])
    assert rep.loc[("unt_r1", "CD44"), "how"] == "sheet override"


def test_thresholds_and_qc_tables(tmp_path: Path) -> None:
    _, sheet, samples = _run(tmp_path, "fortessa", 13)
    resolution = bf.load_template("bcsc").resolve(samples, sheet)
    th = resolution.thresholds
    aldh = th[(th["population"] == "ALDH+") & (th["sample"] == "unt_r2")].iloc[0]
    assert aldh["control_file"] == "deab_unt_r2.fcs" and aldh["statistic"] == "quantile q=0.995"
    cd44 = th[(th["population"] == "BCSC") & (th["channel"] == "R670-A")].iloc[0]
    by_file = sheet.set_index("file")
    assert by_file.loc[cd44["control_file"], "role"] == "fmo:CD44"
    assert by_file.loc[cd44["control_file"], "batch"] == cd44["batch"]
    # the control's event count is the count of its live population
    ctrl = by_file.loc[cd44["control_file"], "sample"]
    assert 0 < cd44["control_events"] < len(samples[ctrl])
    qc = resolution.qc.set_index(["sample", "check"])
    floor = qc.loc[("unt_r1", "ALDH+/live in deab"), "value"]
    assert 0.0 < floor <= 0.01 and qc["ok"].all()


def test_missing_fmo_in_a_batch_is_a_clear_error(tmp_path: Path) -> None:
    _, sheet, samples = _run(tmp_path, "aria", 14)
    batch = sheet.set_index("sample").loc["unt_r2", "batch"]
    sheet = sheet[~((sheet["role"] == "fmo:CD24") & (sheet["batch"] == batch))]
    expected = rf"batch '{batch}' has no control with role 'fmo:CD24' for sample 'unt_r2'"
    with pytest.raises(SheetError, match=expected):
        bf.load_template("bcsc").resolve(samples, sheet)


def test_isotype_replaces_missing_her2_fmo(tmp_path: Path) -> None:
    _, sheet, samples = _run(tmp_path, "aria", 15)
    sheet = sheet[~sheet["role"].eq("fmo:HER2")]
    resolution = bf.load_template("bcsc").resolve(samples, sheet)
    her2 = resolution.thresholds.query("population == 'HER2+'")
    assert set(her2["control_role"]) == {"isotype:HER2"}


def test_no_viability_dye_skips_live_with_warning(tmp_path: Path) -> None:
    _, sheet, samples = _run(tmp_path, "aria", 16)
    keep = [c for c in samples["unt_r1"].names if c != "DAPI-A"]
    samples = {
        k: bf.Sample.from_array(
            s.columns(keep), keep, markers=[s.channel(c).marker for c in keep], name=k
        )
        for k, s in samples.items()
    }
    with pytest.warns(GatingWarning, match=r"population\(s\) 'live' skipped"):
        resolution = bf.load_template("bcsc").resolve(samples, sheet)
    r = resolution.strategies["unt_r1"].apply(samples["unt_r1"])
    assert r.count("live") == r.count("singlets")
    assert "live" in resolution.skipped["unt_r1"]


@pytest.mark.parametrize("profile", ["aria", "legacy"])
def test_frozen_strategy_round_trips_through_gatingml(tmp_path: Path, profile: str) -> None:
    _, sheet, samples = _run(tmp_path, profile, 17)
    resolution = bf.load_template("bcsc").resolve(samples, sheet)
    for name in ("unt_r1", "irr_r2"):
        strategy = resolution.strategies[name]
        path = gatingml.write(strategy, tmp_path / f"{name}.xml")
        back = gatingml.read(path)
        a, b = strategy.apply(samples[name]), back.apply(samples[name])
        for pop in strategy.names:
            assert np.array_equal(a.mask(pop), b.mask(pop)), (name, pop)


def test_resolve_warns_nothing_on_clean_data(tmp_path: Path) -> None:
    _, sheet, samples = _run(tmp_path, "cytoflex", 18)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolution = bf.load_template("bcsc").resolve(samples, sheet)
    assert isinstance(resolution.thresholds, pd.DataFrame) and len(resolution.strategies) == 6


def _errors(resolution, samples, truth) -> list[tuple[float, float]]:
    out = []
    for name, strategy in resolution.strategies.items():
        r = strategy.apply(samples[name])
        live = r.count("live")
        out.append(
            (
                100.0 * r.count("BCSC") / live - truth[(name, "BCSC")],
                100.0 * r.count("ALDH+") / live - truth[(name, "ALDH+")],
            )
        )
    return out


def test_already_compensated_files_are_not_compensated_twice(tmp_path: Path) -> None:
    res, sheet, samples = _run(tmp_path, "aria", 19, already_compensated=True)
    with pytest.warns(CompensationWarning, match="look compensated already"):
        resolution = bf.load_template("bcsc").resolve(samples, sheet)
    truth = res.truth.set_index(["sample", "population"])["true_pct_of_parent"]
    for bcsc, aldh in _errors(resolution, samples, truth):
        assert abs(bcsc) <= 0.5 and abs(aldh) <= 0.7
    dims = {d.compensation for d in resolution.strategies["unt_r1"]["BCSC"].gate.dimensions}
    assert dims == {"uncompensated"}


def test_compensation_from_single_stain_controls(tmp_path: Path) -> None:
    res, sheet, samples = _run(tmp_path, "fortessa", 20)
    doc = bf.load_template("bcsc").to_document()
    doc["compensation"] = "controls"
    tpl = Template.from_document(doc, "controls.yaml")
    resolution = tpl.resolve(samples, sheet)
    strategy = resolution.strategies["irr_r1"]
    assert "template" in strategy.spillovers
    truth = res.truth.set_index(["sample", "population"])["true_pct_of_parent"]
    for bcsc, aldh in _errors(resolution, samples, truth):
        assert abs(bcsc) <= 0.5 and abs(aldh) <= 0.7


FLOW_TEMPLATE = """
schema_version: 1
name: flow
version: "1"
panel:
  Time: {kind: time, detectors: [Time, HDR-T]}
  CD44: {stain: [CD44]}
  viability: {stain: [Viability]}
populations:
  - {name: stable, parent: root, gate: {stable_flow: {time: Time, watch: [CD44]}}}
  - name: live
    parent: stable
    gate: {threshold: {dim: viability, below: {density_valley: {other_peak: above, min_separation: 0.3, scope: SCOPE}}}}
"""


def test_stable_flow_removes_a_clog_and_scopes_pool_samples(tmp_path: Path) -> None:
    from bcsc_flow.simulate import read_event_truth

    _, sheet, samples = _run(tmp_path, "aria", 22, clog_samples=("unt_r1",))
    for scope in ("per_sample", "per_batch", "fixed"):
        tpl = bf.template.parse_template(FLOW_TEMPLATE.replace("SCOPE", scope), f"{scope}.yaml")
        resolution = tpl.resolve(samples, sheet)
        cuts = {n: st["live"].gate.below for n, st in resolution.strategies.items()}
        batches = sheet.set_index("sample")["batch"]
        by_batch = {}
        for n, cut in cuts.items():
            by_batch.setdefault(batches[n], set()).add(cut)
        if scope == "per_sample":
            assert len(set(cuts.values())) == len(cuts)
        elif scope == "per_batch":
            assert all(len(v) == 1 for v in by_batch.values()) and len(set(cuts.values())) == len(
                by_batch
            )
        else:
            assert len(set(cuts.values())) == 1
    clog = read_event_truth(tmp_path / "truth" / "unt_r1.npz").extra["in_clog"]
    kept = resolution.strategies["unt_r1"].apply(samples["unt_r1"]).mask("stable")
    assert (~kept[clog]).mean() > 0.9 and (~kept[~clog]).mean() < 0.01
    kept_clean = resolution.strategies["irr_r1"].apply(samples["irr_r1"]).mask("stable")
    assert kept_clean.mean() > 0.99
