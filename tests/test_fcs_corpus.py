"""Real FCS files: values equal to the reference readers' manifest (events, names, sums).

The local subset in ``tests/data/fcs`` always runs; the full corpus runs when
``../shared/corpus`` (next to the repository) is present. With ``BCSC_ORACLE_PYTHON``
set, every Guava data set is also compared with flowio's raw values.
"""

from __future__ import annotations

import csv
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from bcsc_flow.errors import FCSError, FCSWarning
from bcsc_flow.io.fcs import read_fcs, read_fcs_datasets

HERE = Path(__file__).parent
LOCAL = HERE / "data" / "fcs"
CORPUS = HERE.parent.parent / "shared" / "corpus"
BROKEN = {"corrupted.fcs": "not an FCS file", "sample_header.fcs": "truncated"}


def rows(folder: Path, table: str) -> list:
    if not (folder / table).exists():
        reason = f"FCS corpus not found at {folder} (clone ../shared/corpus next to the repository)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="corpus-absent")]
    with open(folder / table, newline="") as f:
        return [pytest.param(r, id=r["file"]) for r in csv.DictReader(f)]


def read_all(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FCSWarning)
        return read_fcs_datasets(path)


def fcsparser_names(s) -> list[str]:
    """fcsparser 0.2.8's default names: $PnS, else $PnN per parameter; all $PnN if not unique."""
    pnn = [s.keywords[f"$P{n}N"] for n in range(1, len(s.channels) + 1)]
    pns = [s.keywords.get(f"$P{i}S") or name for i, name in enumerate(pnn, start=1)]
    return pns if len(set(pns)) == len(pns) else pnn


def check_against(row: dict, path: Path) -> None:
    name = Path(row["file"]).name
    if name in BROKEN:
        with pytest.raises(FCSError, match=BROKEN[name]) as info:
            read_all(path)
        assert name in str(info.value)
        return
    samples = read_all(path)
    counts = row["events_per_dataset"] or row["events"]
    assert [len(s) for s in samples] == [int(x) for x in counts.split("|")]
    first = samples[0]
    assert fcsparser_names(first) == row["pnn"].split("|")
    sums = np.asarray(first.raw, dtype=np.float64).sum(axis=0)
    expected = np.array([float(x) for x in row["stored_sum_per_channel"].split("|")])
    np.testing.assert_allclose(sums, expected, rtol=5.01e-6, atol=0)


@pytest.mark.parametrize("row", rows(LOCAL, "expected.csv"))
def test_local_subset_matches_the_manifest(row):
    check_against(row, LOCAL / row["file"])


@pytest.mark.parametrize("row", rows(CORPUS, "manifest.csv"))
def test_full_corpus_matches_the_manifest(row):
    check_against(row, CORPUS / row["file"])


def test_corpus_has_29_data_sets_in_26_readable_files():
    if not (CORPUS / "manifest.csv").exists():
        pytest.skip(f"FCS corpus not found at {CORPUS}")
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".fcs", ".lmd"))
    readable = [p for p in files if p.name not in BROKEN]
    assert len(files) == 28 and len(readable) == 26
    assert sum(len(read_all(p)) for p in readable) == 29


def test_quirks_of_the_local_files_are_reported():
    s = read_all(LOCAL / "fcs1_cleaned.lmd")[0]
    assert s.raw[:, 0].max() <= 1023 and set(np.unique(s.raw)) == {528}
    s = read_all(LOCAL / "SG_2014-09-26_Duplicate_Names.fcs")[0]
    assert s.keywords["$P8S"] == "GFP/FITC-A" and s.keywords["$P8F"] == "525//50 nm"
    assert any("one past the last byte" in w for w in s.warnings)
    assert any("$VOL" in w for w in s.warnings)
    s = read_all(LOCAL / "FCS_3.0_Fortessa_PBS_Specimen_001_A1_A01.fcs")[0]
    assert s.spillover is not None and s.spillover.keyword == "SPILL"
    assert s.spillover.matrix.shape == (4, 4) and set(s.spillover.detectors) <= set(s.names)
    assert s.events.dtype == np.float32 and s.events is not None
    s = read_all(LOCAL / "cyflow_cube_8.fcs")[0]
    assert s.raw.dtype == np.uint32 and "P$CFGTYPE" in s.keywords
    s = read_all(LOCAL / "Sample_Well_A02.fcs")[0]
    assert s.keywords["CREATOR"].startswith("CellQuest")
    assert any("decoded them as Latin-1" in w for w in s.warnings)


def test_strict_mode_refuses_a_quirky_file():
    with pytest.raises(FCSError, match="strict=True"):
        read_fcs(LOCAL / "SG_2014-09-26_Duplicate_Names.fcs", strict=True)


def test_guava_data_sets_and_float_log_channels():
    samples = read_all(LOCAL / "guava_muse_first2.fcs")
    assert [s.dataset for s in samples] == [0, 1]
    lin, log = samples[0]["FSC-HLin"], samples[0]["FSC-HLog"]
    raw = samples[0].raw
    gain = float(samples[0].keywords["$P1G"])
    np.testing.assert_allclose(lin, raw[:, 0].astype(np.float64) / gain)
    # log channels hold log10 of the linear value already: left as stored
    np.testing.assert_array_equal(log, raw[:, samples[0].index("FSC-HLog")].astype(np.float64))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s1 = read_fcs(LOCAL / "guava_muse_first2.fcs", dataset=1)
    assert [str(w.message) for w in caught] == list(s1.warnings) and s1.warnings
    assert len(s1) == 50081 and s1.dataset == 1
    np.testing.assert_array_equal(s1.raw, samples[1].raw)


@pytest.mark.skipif(
    not os.environ.get("BCSC_ORACLE_PYTHON"), reason="BCSC_ORACLE_PYTHON is not set"
)
def test_every_guava_data_set_equals_flowio(tmp_path):
    path = CORPUS / "instruments" / "GuavaMuse" / "Guava Muse.fcs"
    if not path.exists():
        path = LOCAL / "guava_muse_first2.fcs"
    samples = read_all(path)
    script = (
        "import sys, numpy as np, flowio\n"
        "sets = flowio.read_multiple_data_sets(sys.argv[1])\n"
        "np.savez(sys.argv[2], *[d.as_array(preprocess=False) for d in sets])\n"
    )
    out = tmp_path / "sets.npz"
    subprocess.run(
        [os.environ["BCSC_ORACLE_PYTHON"], "-c", script, str(path), str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    with np.load(out) as theirs:
        arrays = [theirs[f"arr_{k}"] for k in range(len(theirs.files))]
    assert len(arrays) == len(samples)
    for s, ref in zip(samples, arrays, strict=True):
        np.testing.assert_array_equal(np.asarray(s.raw, dtype=np.float64), ref)


def test_guava_data_set_sums_equal_flowio():
    with open(LOCAL / "guava_muse_sums.csv", newline="") as f:
        expected = list(csv.DictReader(f))
    paths = [LOCAL / "guava_muse_first2.fcs"]
    full = CORPUS / "instruments" / "GuavaMuse" / "Guava Muse.fcs"
    if full.exists():
        paths.append(full)
    for path in paths:
        samples = read_all(path)
        assert len(samples) == (4 if path == full else 2)
        for s, row in zip(samples, expected, strict=False):
            assert len(s) == int(row["events"])
            sums = np.asarray(s.raw, dtype=np.float64).sum(axis=0)
            ref = [float(x) for x in row["stored_sum_per_channel"].split("|")]
            np.testing.assert_allclose(sums, ref, rtol=5.01e-6, atol=0)
