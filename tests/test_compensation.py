"""Spillover matrices, compensation, unmixing, CSV parsing and matrices from controls.

Ground truth: independent numpy computations (explicit inverse, lstsq) and synthetic
controls built here from a known matrix (truth × S + noise).
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from bcsc_flow.compensation import (
    COMPENSATED_KEYWORD,
    Spillover,
    compensate,
    spillover_from_controls,
)
from bcsc_flow.errors import CompensationError, CompensationWarning
from bcsc_flow.sample import FileSpillover, Sample

DETS = ["FITC-A", "PE-A", "PE-Cy7-A", "APC-A"]
S4 = np.array(
    [
        [1.00, 0.18, 0.00, 0.00],
        [0.02, 1.00, 0.03, 0.00],
        [0.00, 0.02, 1.00, 0.00],
        [0.00, 0.00, 0.01, 1.00],
    ]
)


def _random_spillover(rng: np.random.Generator, n: int) -> np.ndarray:
    m = rng.uniform(0, 0.3, (n, n))
    np.fill_diagonal(m, 1.0)
    return m


# --------------------------------------------------------------------- maths
def test_apply_equals_observed_times_inverse():
    rng = np.random.default_rng(1)
    for n in (2, 4, 8):
        s = _random_spillover(rng, n)
        d = rng.normal(1000, 800, (500, n))
        sp = Spillover.from_array(s, [f"D{i}" for i in range(n)])
        np.testing.assert_allclose(sp.apply(d), d @ np.linalg.inv(s), rtol=1e-10, atol=1e-8)


def test_round_trip_compensate_and_decompensate():
    rng = np.random.default_rng(2)
    sp = Spillover.from_array(S4, DETS)
    truth = rng.lognormal(6, 1.5, (1000, 4))
    raw = sp.mix(truth)
    np.testing.assert_allclose(raw, truth @ S4, rtol=1e-14)
    np.testing.assert_allclose(sp.apply(raw), truth, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(sp.mix(sp.apply(raw)), raw, rtol=1e-10, atol=1e-9)


def test_single_event_vector():
    sp = Spillover.from_array(S4, DETS)
    one = np.array([1000.0, 400.0, 50.0, 10.0])
    assert sp.apply(one).shape == (4,)
    np.testing.assert_allclose(sp.apply(one), sp.apply(one[None, :])[0])


def test_non_square_unmixing_matches_lstsq():
    rng = np.random.default_rng(3)
    k, m = 3, 7
    spectra = rng.uniform(0, 1, (k, m))
    sp = Spillover.from_array(
        spectra, [f"V{i}" for i in range(m)], fluorochromes=["FITC", "PE", "APC"]
    )
    assert sp.outputs == ("FITC", "PE", "APC") and not sp.is_square
    truth = rng.lognormal(5, 1, (400, k))
    d = truth @ spectra + rng.normal(0, 5, (400, m))
    expected = np.linalg.lstsq(spectra.T, d.T, rcond=None)[0].T
    np.testing.assert_allclose(sp.apply(d), expected, rtol=1e-9, atol=1e-8)
    # noiseless data unmix exactly
    np.testing.assert_allclose(sp.apply(truth @ spectra), truth, rtol=1e-9)


def test_square_with_fluorochrome_names_uses_them_as_outputs():
    sp = Spillover.from_array(np.eye(2), ["FL1-H", "FL2-H"], fluorochromes=["FITC", "PE"])
    assert sp.outputs == ("FITC", "PE") and sp.is_square


# --------------------------------------------------------------------- value semantics
def test_spillover_is_frozen_read_only_and_hashable():
    sp = Spillover.from_array(S4, DETS, name="acq")
    with pytest.raises(ValueError, match="read-only"):
        sp.matrix[0, 1] = 0.5
    assert sp == Spillover.from_array(S4.copy(), DETS, name="acq")
    assert hash(sp) == hash(Spillover.from_array(S4.copy(), DETS, name="acq"))
    assert sp != Spillover.from_array(S4 * 1.0001, DETS, name="acq")
    df = sp.to_frame()
    assert df.loc["FITC-A", "PE-A"] == 0.18


@pytest.mark.parametrize(
    ("matrix", "detectors", "fluors", "needle"),
    [
        (np.eye(3), ["A", "B"], None, "3 columns but 2 detectors"),
        (np.ones((2, 3)), ["A", "B", "C"], None, "2 rows but 3 detectors"),
        (np.ones((3, 2)), ["A", "B"], ["X", "Y", "Z"], "3 fluorochromes cannot be separated"),
        (np.eye(2), ["A", "A"], None, "duplicate detector names ['A']"),
        ([[1, np.nan], [0, 1]], ["A", "B"], None, "NaN"),
        ([[1, 1], [1, 1]], ["A", "B"], None, "singular"),
        (np.ones(3), ["A", "B", "C"], None, "2-D"),
        ([["x", 1], [0, 1]], ["A", "B"], None, "numbers"),
    ],
)
def test_malformed_matrices_raise(matrix, detectors, fluors, needle):
    with pytest.raises(CompensationError, match=None) as info:
        Spillover.from_array(matrix, detectors, fluorochromes=fluors)
    assert needle in str(info.value)


def test_apply_with_wrong_width_raises():
    sp = Spillover.from_array(S4, DETS)
    with pytest.raises(CompensationError, match="4 columns"):
        sp.apply(np.zeros((3, 3)))


# --------------------------------------------------------------------- samples
def _sample(
    events: np.ndarray, *, spill: np.ndarray | None = None, name: str = "s1", keywords=None
) -> Sample:
    names = ["FSC-A", *DETS, "Time"]
    base = Sample.from_array(events, names, name=name, keywords=keywords)
    if spill is None:
        return base
    from dataclasses import replace

    return replace(base, spillover=FileSpillover(tuple(DETS), spill, "$SPILLOVER"))


def _raw_events(rng: np.random.Generator, n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    truth = np.zeros((n, 4))
    for j in range(4):  # each fluorochrome bright on a quarter of the cells
        on = rng.random(n) < 0.25
        truth[on, j] = rng.lognormal(9, 0.4, on.sum())
    truth += rng.normal(0, 30, truth.shape)
    scatter = rng.uniform(1e4, 2e5, (n, 1))
    time = np.arange(n, dtype=float)[:, None]
    return truth, np.hstack([scatter, truth @ S4, time])


def test_compensate_uses_file_matrix_and_keeps_other_channels():
    rng = np.random.default_rng(4)
    truth, raw = _raw_events(rng)
    s = _sample(raw, spill=S4)
    out = compensate(s)
    assert out.names == s.names and out.channels == s.channels and len(out) == len(s)
    np.testing.assert_allclose(
        out.events[:, 1:5], raw[:, 1:5] @ np.linalg.inv(S4), rtol=1e-9, atol=1e-7
    )
    np.testing.assert_allclose(out.events[:, 1:5], truth, rtol=1e-9, atol=1e-7)
    np.testing.assert_array_equal(out.events[:, [0, 5]], raw[:, [0, 5]])
    assert COMPENSATED_KEYWORD in out.keywords
    assert not out.events.flags.writeable
    # the input is untouched
    np.testing.assert_array_equal(s.events, raw)


def test_compensate_with_explicit_matrix_in_other_order():
    rng = np.random.default_rng(5)
    truth, raw = _raw_events(rng)
    order = [2, 0, 3, 1]
    sp = Spillover.from_array(S4[np.ix_(order, order)], [DETS[i] for i in order])
    out = compensate(_sample(raw), sp)
    np.testing.assert_allclose(out.events[:, 1:5], truth, rtol=1e-9, atol=1e-7)


def test_compensate_without_any_matrix_names_the_sample():
    with pytest.raises(CompensationError, match=r"'tube_7'.*no spillover matrix"):
        compensate(_sample(np.zeros((3, 6)), name="tube_7"))


def test_compensate_with_missing_detectors_names_them():
    sp = Spillover.from_array(np.eye(3), ["FITC-A", "BV421-A", "BV510-A"])
    with pytest.raises(CompensationError) as info:
        compensate(_sample(np.zeros((3, 6)), name="tube_8"), sp)
    text = str(info.value)
    assert "'tube_8'" in text and "['BV421-A', 'BV510-A']" in text


def test_compensate_hints_at_flowjo_comp_prefix():
    s = Sample.from_array(np.zeros((2, 2)), ["Comp-FITC-A", "Comp-PE-A"], name="exported")
    sp = Spillover.from_array(np.eye(2), ["FITC-A", "PE-A"])
    with pytest.raises(CompensationError, match="already compensated"):
        compensate(s, sp)


def test_compensate_rejects_non_square():
    sp = Spillover.from_array(np.ones((1, 2)), ["FITC-A", "PE-A"], fluorochromes=["FITC"])
    with pytest.raises(CompensationError, match="square"):
        compensate(_sample(np.zeros((3, 6))), sp)


def test_compensating_twice_warns():
    rng = np.random.default_rng(6)
    _, raw = _raw_events(rng)
    once = compensate(_sample(raw, spill=S4))
    with pytest.warns(CompensationWarning, match="already compensated"):
        compensate(once)


def test_already_compensated_data_are_detected_from_the_events():
    rng = np.random.default_rng(7)
    truth, _ = _raw_events(rng)
    events = np.hstack([np.ones((len(truth), 1)), truth, np.zeros((len(truth), 1))])
    # a file exported compensated that still carries its $SPILLOVER
    with pytest.warns(CompensationWarning, match=r"FITC-A.*PE-A"):
        compensate(_sample(events, spill=S4))


def test_raw_data_compensate_without_warning():
    rng = np.random.default_rng(8)
    _, raw = _raw_events(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compensate(_sample(raw, spill=S4))


def test_from_sample_reads_file_spillover():
    s = _sample(np.zeros((2, 6)), spill=S4, name="tube")
    sp = Spillover.from_sample(s)
    assert sp is not None and sp.detectors == tuple(DETS)
    np.testing.assert_array_equal(sp.matrix, S4)
    assert "tube" in sp.name and "$SPILLOVER" in sp.name
    assert Spillover.from_sample(_sample(np.zeros((2, 6)))) is None


# --------------------------------------------------------------------- CSV / text
def _write(tmp_path: Path, text: str, name: str = "m.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_header_only(tmp_path):
    sp = Spillover.from_csv(_write(tmp_path, "FITC-A,PE-A\n1,0.2\n0.01,1\n"))
    assert sp.detectors == ("FITC-A", "PE-A") and sp.name == "m"
    assert sp.matrix.tolist() == [[1.0, 0.2], [0.01, 1.0]]


def test_csv_with_row_names_reorders_rows(tmp_path):
    text = '"","FITC-A","PE-A","APC-A"\n"PE-A",0.02,1,0\n"APC-A",0,0.001,1\n"FITC-A",1,0.2,0.0\n'
    sp = Spillover.from_csv(_write(tmp_path, text))
    assert sp.detectors == ("FITC-A", "PE-A", "APC-A") and sp.fluorochromes is None
    assert sp.matrix.tolist() == [[1.0, 0.2, 0.0], [0.02, 1.0, 0.0], [0.0, 0.001, 1.0]]


def test_tsv_flowjo_style_with_title_and_percent(tmp_path):
    text = "Comp Matrix 1\nFITC-A\tPE-A\n100\t18.5\n2\t100\n"
    sp = Spillover.from_csv(_write(tmp_path, text, "comp.txt"))
    assert sp.name == "Comp Matrix 1"
    np.testing.assert_allclose(sp.matrix, [[1.0, 0.185], [0.02, 1.0]])


def test_row_names_without_corner_cell_and_semicolons(tmp_path):
    sp = Spillover.from_csv(_write(tmp_path, "FITC-A;PE-A\nFITC-A;1;0.1\nPE-A;0;1\n"))
    assert sp.matrix.tolist() == [[1.0, 0.1], [0.0, 1.0]]


def test_whitespace_separated(tmp_path):
    sp = Spillover.from_csv(_write(tmp_path, "FL1 FL2\n1 0.3\n0.1 1\n"))
    assert sp.detectors == ("FL1", "FL2") and sp.matrix[0, 1] == 0.3


def test_csv_with_fluorochrome_rows_gives_non_square(tmp_path):
    text = ",V1,V2,V3\nFITC,1,0.5,0.1\nPE,0.1,0.4,1\n"
    sp = Spillover.from_csv(_write(tmp_path, text))
    assert sp.fluorochromes == ("FITC", "PE") and sp.matrix.shape == (2, 3)


def test_flowjo_classic_text_export_with_prefix_line_and_cr_endings(tmp_path):
    # FlowJo's old matrix text: title, prefix<TAB>suffix, names, rows; CR line ends
    text = "HRH 960814\r<\t>\rFluor\tPhyEry\tCy5PE\r1.0000\t0.1803\t0.0404\r0.0091\t1.0000\t0.2595\r0.0045\t0.0473\t1.0000\r"
    sp = Spillover.from_csv(_write(tmp_path, text, "comp.txt"))
    assert sp.name == "HRH 960814" and sp.detectors == ("Fluor", "PhyEry", "Cy5PE")
    np.testing.assert_allclose(sp.matrix[0], [1.0, 0.1803, 0.0404])
    np.testing.assert_allclose(sp.matrix[2], [0.0045, 0.0473, 1.0])


def test_flowjo_mtx_xml(tmp_path):
    rows = {
        "Fluor": [1.0, 0.16476, 0.03454],
        "PhyEry": [0.0172, 1.0, 0.21598],
        "Cy5PE": [0.00632, 0.23652, 1.0],
    }
    names = list(rows)
    body = "".join(
        f'<Channel name="{r}">'
        + "".join(f'<ChannelValue name="{c}" value="{v}"/>' for c, v in zip(names, vals))
        + "</Channel>"
        for r, vals in reversed(rows.items())  # row order differs from column order
    )
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<CompensationMatrix name="compensation2.mtx" prefix="Comp-" suffix="">{body}</CompensationMatrix>'
    sp = Spillover.from_csv(_write(tmp_path, xml, "m.mtx"))
    assert sp.name == "compensation2.mtx" and sp.detectors == tuple(names)
    np.testing.assert_allclose(sp.matrix, np.array(list(rows.values())))


def test_flowjo10_spillover_matrix_xml(tmp_path):
    t = "http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
    d = "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes"
    rows = "".join(
        f'<transforms:spillover data-type:parameter="{r}">'
        + "".join(
            f'<transforms:coefficient data-type:parameter="{c}" transforms:value="{float(S4[i, j])!r}"/>'
            for j, c in enumerate(DETS)
        )
        + "</transforms:spillover>"
        for i, r in enumerate(DETS)
    )
    xml = f'<transforms:spilloverMatrix xmlns:transforms="{t}" xmlns:data-type="{d}" name="Acq">{rows}</transforms:spilloverMatrix>'
    sp = Spillover.from_csv(_write(tmp_path, xml, "m.mtx"))
    assert sp.name == "Acq" and sp.detectors == tuple(DETS)
    np.testing.assert_array_equal(sp.matrix, S4)


def test_unreadable_or_foreign_xml(tmp_path):
    with pytest.raises(CompensationError, match="not readable XML"):
        Spillover.from_csv(_write(tmp_path, "<CompensationMatrix><Channel>", "a.mtx"))
    with pytest.raises(CompensationError, match="not a FlowJo compensation matrix"):
        Spillover.from_csv(_write(tmp_path, "<Gating-ML/>", "b.mtx"))


def test_csv_round_trip(tmp_path):
    sp = Spillover.from_array(S4, DETS, name="x")
    sp.to_csv(tmp_path / "out.csv")
    back = Spillover.from_csv(tmp_path / "out.csv", name="x")
    assert back == sp


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("FITC-A,PE-A\n1,zero\n0,1\n", "line 2: 'zero' is not a number"),
        ("FITC-A,PE-A\n1,0.2,7\n0,1\n", "line 2: 3 values for 2 detectors"),
        ("FITC-A,PE-A\n", "at least one row"),
        ("A,B,C\n1,0,0\n0,1,0\n", "without row names"),
    ],
)
def test_csv_errors_name_file_line_and_value(tmp_path, text, needle):
    p = _write(tmp_path, text)
    with pytest.raises(CompensationError) as info:
        Spillover.from_csv(p)
    assert needle in str(info.value) and str(p) in str(info.value)


def test_csv_missing_file(tmp_path):
    with pytest.raises(CompensationError, match="Cannot read spillover file"):
        Spillover.from_csv(tmp_path / "nope.csv")


# --------------------------------------------------------------------- controls
def _control(
    rng, stained: int | None, n: int = 4000, frac_pos: float = 1.0, name: str = "c"
) -> Sample:
    truth = np.zeros((n, 4))
    if stained is not None:
        on = rng.random(n) < frac_pos
        truth[on, stained] = rng.lognormal(9.5, 0.3, on.sum())
    autofluor = rng.lognormal(4, 0.3, (n, 4))
    raw = (truth + autofluor) @ S4 + rng.normal(0, 20, (n, 4))
    events = np.hstack([rng.uniform(1e4, 2e5, (n, 2)), raw, np.arange(n, dtype=float)[:, None]])
    return Sample.from_array(events, ["FSC-A", "SSC-A", *DETS, "Time"], name=name)


def test_spillover_from_controls_recovers_known_matrix():
    rng = np.random.default_rng(10)
    unstained = _control(rng, None, name="unstained")
    singles = {f"single {d}": _control(rng, j, name=d) for j, d in enumerate(DETS)}
    sp = spillover_from_controls(unstained, singles)
    assert sp.detectors == tuple(DETS)
    np.testing.assert_allclose(sp.matrix, S4, atol=0.004)
    assert np.all(np.diag(sp.matrix) == 1.0)


def test_spillover_from_controls_with_positive_selection_handles_dim_controls():
    rng = np.random.default_rng(11)
    unstained = _control(rng, None, name="unstained")
    # only 30 % of cells stained: medians of all events would sit in the negatives
    singles = [_control(rng, j, frac_pos=0.3, name=d) for j, d in enumerate(DETS)]
    sp = spillover_from_controls(unstained, singles, positive_percentile=99.5)
    np.testing.assert_allclose(sp.matrix, S4, atol=0.004)


def test_spillover_from_controls_order_of_singles_does_not_matter():
    rng = np.random.default_rng(12)
    unstained = _control(rng, None)
    singles = [_control(rng, j, name=d) for j, d in enumerate(DETS)]
    a = spillover_from_controls(unstained, singles)
    b = spillover_from_controls(unstained, singles[::-1])
    np.testing.assert_array_equal(a.matrix, b.matrix)


def test_spillover_from_controls_duplicate_primary_and_missing_control():
    rng = np.random.default_rng(13)
    unstained = _control(rng, None)
    with pytest.raises(CompensationError, match=r"'a' and 'b' are both brightest in FITC-A"):
        spillover_from_controls(unstained, {"a": _control(rng, 0), "b": _control(rng, 0)})
    with pytest.warns(CompensationWarning, match=r"\['PE-Cy7-A', 'APC-A'\]"):
        sp = spillover_from_controls(unstained, [_control(rng, 0), _control(rng, 1)])
    assert sp.matrix[2].tolist() == [0.0, 0.0, 1.0, 0.0]
    only = spillover_from_controls(
        unstained, [_control(rng, 0), _control(rng, 1)], channels=DETS[:2]
    )
    np.testing.assert_allclose(only.matrix, S4[:2, :2], atol=0.004)


def test_spillover_from_controls_errors():
    rng = np.random.default_rng(14)
    unstained = _control(rng, None)
    with pytest.raises(CompensationError, match="no single-stain controls"):
        spillover_from_controls(unstained, [])
    with pytest.raises(CompensationError, match=r"lacks channels \['BV421-A'\]"):
        spillover_from_controls(unstained, [_control(rng, 0)], channels=["FITC-A", "BV421-A"])
    with pytest.raises(CompensationError, match="not clearly brighter"):
        spillover_from_controls(
            unstained, {"blank": _control(rng, None)}, channels=["FITC-A", "PE-A"]
        )


# --------------------------------------------------------------------- simulator files
@pytest.mark.parametrize("profile", ["aria", "fortessa"])
def test_simulated_already_compensated_files_warn_and_raw_files_do_not(tmp_path, profile):
    from bcsc_flow.io.fcs import read_fcs
    from bcsc_flow.simulate import experiment

    kwargs = dict(seed=5, profile=profile, n_replicates=1, n_batches=1, events_per_tube=8000)
    raw = experiment(tmp_path / "raw", **kwargs)
    done = experiment(tmp_path / "done", already_compensated=True, **kwargs)
    tests = ["irr_r1.fcs", "unt_r1.fcs"]
    for name in tests:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compensate(read_fcs(next(p for p in raw.files if p.name == name)))
        with pytest.warns(CompensationWarning, match="already compensated or over-compensated"):
            compensate(read_fcs(next(p for p in done.files if p.name == name)))


def test_spillover_survives_pickling_read_only():
    import copy
    import pickle

    sp = Spillover.from_array(S4, DETS, name="acq")
    back = pickle.loads(pickle.dumps(sp))
    assert back == sp and not back.matrix.flags.writeable
    assert copy.deepcopy(sp) == sp


# --------------------------------------------------------------------- oracle (FlowKit)
FLOWKIT_COMP = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import flowkit as fk
s = fk.Sample(sys.argv[1])
s.apply_compensation(s.metadata["spill"])
print(json.dumps({"names": list(s.pnn_labels), "events": s.get_events(source="comp").tolist()}))
"""


@pytest.mark.skipif(not os.environ.get("BCSC_ORACLE_PYTHON"), reason="BCSC_ORACLE_PYTHON not set")
def test_file_compensation_agrees_with_flowkit():
    from bcsc_flow.io.fcs import read_fcs

    path = Path(__file__).parent / "data" / "fcs" / "FCS_3.0_Fortessa_PBS_Specimen_001_A1_A01.fcs"
    out = subprocess.run(
        [os.environ["BCSC_ORACLE_PYTHON"], "-c", FLOWKIT_COMP, str(path)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    theirs = json.loads(out.stdout)
    sample = read_fcs(path)
    assert sample.spillover is not None and sample.spillover.keyword == "SPILL"
    ours = compensate(sample)
    assert list(ours.names) == theirs["names"]
    cols = [ours.names.index(d) for d in sample.spillover.detectors]  # Time scaling differs
    expected = np.array(theirs["events"])[:, cols]
    np.testing.assert_allclose(ours.events[:, cols], expected, rtol=1e-9, atol=1e-6)
    assert not np.allclose(sample.events[:, cols], expected)  # compensation did something
