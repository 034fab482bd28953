"""`bcsc-flow analyze`: the main job on the bundled data, and its refusals and failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from bcsc_flow.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FCS = ROOT / "sample_fcs"


def test_analyze_sample_fcs_finds_the_irradiation_effect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    assert main(["analyze", str(SAMPLE_FCS), "--out", str(out), "--no-report"]) == 0
    for name in ("populations", "thresholds", "statistics", "comparison", "problems", "qc"):
        assert (out / f"{name}.csv").is_file(), name
    comparison = pd.read_csv(out / "comparison.csv").set_index("population")
    for population in ("BCSC", "HER2+ BCSC"):
        row = comparison.loc[population]
        assert row["level"] == "irradiated" and row["reference"] == "untreated"
        assert row["diff"] > 0 and row["ci_low"] > 0, row
        assert row["q_value"] < 0.05, row
    printed = capsys.readouterr().out
    assert "HER2+ BCSC" in printed and "comparison vs untreated" in printed
    assert pd.read_csv(out / "problems.csv").empty


def test_analyze_refuses_to_write_into_the_input_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.fcs").write_bytes(b"")
    assert main(["analyze", str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "is the input folder" in capsys.readouterr().err


def test_analyze_reports_a_broken_file_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    shutil.copytree(SAMPLE_FCS, folder, ignore=shutil.ignore_patterns("truth*", "*.json", "*.md"))
    (folder / "unt_r2.fcs").write_bytes(b"FCS3.1    junk")
    out = tmp_path / "out"
    assert main(["analyze", str(folder), "--out", str(out), "--no-report", "--quiet"]) == 1
    assert "unt_r2.fcs" in capsys.readouterr().err
    problems = pd.read_csv(out / "problems.csv")
    assert problems["sample"].tolist() == ["unt_r2"]
    populations = pd.read_csv(out / "populations.csv")
    assert set(populations["sample"]) == {"unt_r1", "unt_r3", "irr_r1", "irr_r2", "irr_r3"}


def test_analyze_without_a_sheet_says_it_inferred_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    shutil.copytree(
        SAMPLE_FCS, folder, ignore=shutil.ignore_patterns("truth*", "*.json", "*.md", "samples.csv")
    )
    out = tmp_path / "out"
    assert main(["analyze", str(folder), "--out", str(out), "--no-report", "--quiet"]) == 0
    assert "inferred from file names" in capsys.readouterr().err
    populations = pd.read_csv(out / "populations.csv")
    assert set(populations["sample"]) == {f"{c}_r{r}" for c in ("unt", "irr") for r in (1, 2, 3)}
    assert set(populations["condition"]) == {"untreated", "irradiated"}
