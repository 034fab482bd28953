"""``bcsc-flow template check|export-gatingml`` on simulator files (truth: the simulator's files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bcsc_flow as bf
from bcsc_flow import gatingml
from bcsc_flow.cli import main
from bcsc_flow.simulate import experiment


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    experiment(out, seed=21, profile="fortessa", n_replicates=2, n_batches=1, events_per_tube=8000)
    return out


def test_check_prints_tree_and_markers(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "check", "bcsc", "--fcs", str(folder / "unt_r1.fcs")]) == 0
    out = capsys.readouterr().out
    assert "template bcsc 1.0.0" in out and bf.load_template("bcsc").digest in out
    assert "      BCSC  [CD44 above fmo:CD44" in out
    assert "CD44 <- R670-A ($PnS 'APC-CD44') by $PnS word" in out


def test_check_reports_invalid_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nname: x\nversion: '1'\npanel: {CD44: {}}\npopulation: []\n")
    assert main(["template", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert (
        "bad.yaml" in err
        and "unknown key 'population'" in err
        and "Did you mean 'populations'?" in err
    )


def test_export_gatingml_writes_one_file_per_test_sample(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "xml"
    argv = ["template", "export-gatingml", "bcsc", "--folder", str(folder)]
    assert main([*argv, "--sheet", str(folder / "samples.csv"), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.xml")) == [
        "irr_r1.xml",
        "irr_r2.xml",
        "unt_r1.xml",
        "unt_r2.xml",
    ]
    assert (out / "thresholds.csv").is_file()
    sample = bf.read_fcs(folder / "irr_r1.fcs")
    strategy = gatingml.read(out / "irr_r1.xml")
    result = strategy.apply(sample)
    truth = bf.simulate.read_event_truth(folder / "truth" / "irr_r1.npz")
    live = bf.simulate.population_masks(truth)["live"]
    assert np.mean(result.mask("live") == live) > 0.99
