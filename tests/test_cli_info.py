"""`bcsc-flow info FILE` on real files (uses the local copies in tests/data/fcs)."""

from __future__ import annotations

from pathlib import Path

from bcsc_flow.cli import main

DATA = Path(__file__).parent / "data" / "fcs"


def test_info_on_a_diva_file(capsys):
    assert main(["info", str(DATA / "FCS_3.0_Fortessa_PBS_Specimen_001_A1_A01.fcs")]) == 0
    out = capsys.readouterr().out
    assert "version:   FCS3.0" in out and "data sets: 1" in out
    assert "[data set 0] 11585 events, 11 channels, $DATATYPE=F" in out
    assert "spillover: 4x4 from SPILL" in out
    assert "warnings: 0" in out


def test_info_on_the_guava_file_lists_every_data_set(capsys):
    corpus = (
        DATA.parents[2].parent
        / "shared"
        / "corpus"
        / "instruments"
        / "GuavaMuse"
        / "Guava Muse.fcs"
    )
    path, counts = (
        (corpus, [108, 50081, 111496, 50037])
        if corpus.exists()
        else (DATA / "guava_muse_first2.fcs", [108, 50081])
    )
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"data sets: {len(counts)}" in out
    for k, n in enumerate(counts):
        assert f"[data set {k}] {n} events, 10 channels" in out
    assert "log $PnE (and any $PnG) on float data ignored" in out


def test_info_on_a_broken_file_exits_1_with_a_clear_message(capsys):
    assert main(["info", str(DATA / "sample_header.fcs")]) == 1
    err = capsys.readouterr().err
    assert "sample_header.fcs" in err and "truncated" in err and "Traceback" not in err
    assert main(["info", str(DATA / "corrupted.fcs")]) == 1
    assert "not an FCS file" in capsys.readouterr().err
