"""FlowJo 10 workspace import against FlowJo's own counts and the FlowJo biex table.

Ground truth: FlowJo's stored counts (tests/data/flowjo/expected_counts.csv, the rows
marked use_as_reference=yes), FlowJo's exported biex lookup table, and, for the
synthetic workspace built here, independent numpy computations on known events.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bcsc_flow.errors import FlowJoError, GatingWarning
from bcsc_flow.flowjo import read_workspace
from bcsc_flow.gates import Not
from bcsc_flow.io.fcs import write_fcs
from bcsc_flow.transforms import Asinh, FlowJoBiex, Linear, Logicle

DATA = Path(__file__).parent / "data" / "flowjo"
XFORMS = Path(__file__).parent / "data" / "flowjo_xforms"


def _expected_rows() -> list[dict[str, str]]:
    with open(DATA / "expected_counts.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


REFERENCE = [r for r in _expected_rows() if r["use_as_reference"] == "yes"]


def test_reference_rows_are_the_eight_flowjo_counts():
    assert len(REFERENCE) == 8


@pytest.mark.parametrize(
    "row", REFERENCE, ids=lambda r: f"{Path(r['wsp_file']).stem}:{r['gate_name']}"
)
def test_flowjo_reference_counts_reproduced_exactly(row):
    ws = read_workspace(DATA / row["wsp_file"])
    table = ws.compare_counts()
    hit = table[table["path"] == row["gate_name"]]
    assert len(hit) == 1
    assert int(hit["flowjo_count"].iloc[0]) == int(row["flowjo_count"])
    assert int(hit["count"].iloc[0]) == int(row["flowjo_count"])
    assert hit["difference"].iloc[0] == 0
    total = table[table["population"] == "(all events)"]
    assert (
        int(total["count"].iloc[0])
        == int(row["parent_count"])
        == int(total["flowjo_count"].iloc[0])
    )


@pytest.mark.parametrize(
    "row", _expected_rows(), ids=lambda r: f"{Path(r['wsp_file']).stem}:{r['gate_name']}"
)
def test_stored_counts_and_gate_elements_are_parsed(row):
    ws = read_workspace(DATA / row["wsp_file"])
    (sample,) = ws.samples
    pop = next(p for p in sample.populations if p.path == (row["gate_name"],))
    stored = int(row["flowjo_count"])
    assert pop.flowjo_count == (None if stored < 0 else stored)
    assert pop.element == f"gating:{row['flowjo_gate_type']}"
    assert sample.file_name == Path(row["fcs_file"]).name


def test_sample_level_copy_is_used_not_the_stale_group_copy():
    ws = read_workspace(DATA / "simple_diamond_example" / "test_data_diamond_asinh_rect.wsp")
    (pop,) = ws.samples[0].populations
    assert pop.flowjo_count == 50559  # the group-level copy says 50605
    assert ws.groups["All Samples"] == ("test_data_diamond_01.fcs",)


def test_axis_transforms_are_parsed():
    biex = read_workspace(
        DATA / "simple_diamond_example" / "test_data_diamond_biex_rect.wsp"
    ).samples[0]
    assert biex.transforms["channel_A"] == FlowJoBiex(262144.0, -10.0, 0.0, 4.418539922)
    asinh2 = read_workspace(
        DATA / "simple_diamond_example" / "test_data_diamond_asinh_rect2.wsp"
    ).samples[0]
    assert asinh2.transforms["channel_B"] == Asinh(262144.0, 1.3, 0.0)
    line = read_workspace(DATA / "simple_line_example" / "simple_poly_and_rect.wsp").samples[0]
    assert line.transforms["channel_B"] == Linear(135000.0, -105000.0)
    assert line.keywords["$TOT"] == "100"


def test_biex_from_a_workspace_matches_flowjo_lookup_table():
    text = (DATA / "simple_diamond_example" / "test_data_diamond_biex_rect.wsp").read_text()
    text = text.replace('transforms:maxRange="262144"', 'transforms:maxRange="262144.000029"')
    text = text.replace('transforms:neg="0"', 'transforms:neg="1"')
    text = text.replace('transforms:width="-10"', 'transforms:width="-7.943282"')
    text = text.replace('transforms:pos="4.418539922"', 'transforms:pos="4.418540"')
    biex = read_workspace(text.encode()).samples[0].transforms["channel_A"]
    table = np.loadtxt(
        XFORMS / "tr_biex_l256_w-7.943282_n1.000000_m4.418540_r262144.000029.csv",
        delimiter=",",
        skiprows=1,
    )
    err = np.abs(biex(table[:, 1]) - table[:, 0])
    assert err[1:].max() < 0.002 and err[0] < 0.01


def test_ellipse_is_read_from_display_coordinates():
    ws = read_workspace(DATA / "simple_line_example" / "single_ellipse_51_events.wsp")
    gate = ws.samples[0].populations[0].gate
    # foci (62.77, 157.40) and (94.23, 93.60) on 256 display units -> centre / 256
    assert gate.mean == pytest.approx(
        ((62.7724519002 + 94.2275480998) / 512, (157.4044547167 + 93.5955452833) / 512)
    )
    sample = ws.load("data_set_simple_line_100.fcs")
    xy = sample.columns(["channel_A", "channel_B"]) * 256 / 262144
    f1 = np.array([62.7724519002, 157.4044547167])
    f2 = np.array([94.2275480998, 93.5955452833])
    major = math.dist((96, 90), (61, 161))
    expected = np.linalg.norm(xy - f1, axis=1) + np.linalg.norm(xy - f2, axis=1) <= major
    np.testing.assert_array_equal(gate.mask(sample), expected)


def test_fcs_files_are_found_in_a_given_folder_or_reported(tmp_path):
    wsp = tmp_path / "moved.wsp"
    wsp.write_bytes((DATA / "simple_line_example" / "single_ellipse_51_events.wsp").read_bytes())
    ws = read_workspace(wsp)
    with pytest.raises(FlowJoError) as info:
        ws.fcs_path("data_set_simple_line_100.fcs")
    text = str(info.value)
    assert "data_set_simple_line_100.fcs" in text and "tried" in text and str(tmp_path) in text
    found = ws.fcs_path("data_set_simple_line_100.fcs", folder=DATA / "simple_line_example")
    assert found.name == "data_set_simple_line_100.fcs"
    table = read_workspace(wsp, folder=DATA / "simple_line_example").compare_counts()
    assert table.loc[table["population"] == "ellipse1", "count"].item() == 51


def test_unknown_sample_name_lists_samples():
    ws = read_workspace(DATA / "simple_line_example" / "single_ellipse_51_events.wsp")
    with pytest.raises(FlowJoError, match=r"no sample 'nope'.*data_set_simple_line_100.fcs"):
        ws.strategy("nope")


# --------------------------------------------------------------------- unsupported input
def _quad_text() -> str:
    return (DATA / "simple_diamond_example" / "simple_diamond_example_quad_gate.wsp").read_text()


def test_unsupported_gate_type_names_gate_and_element():
    text = _quad_text().replace("gating:RectangleGate", "gating:CurlyQuadGate", 2)  # Q1 only
    with pytest.raises(FlowJoError) as info:
        read_workspace(text.encode())
    msg = str(info.value)
    assert "'Q1: channel_A- , channel_B+'" in msg and "gating:CurlyQuadGate" in msg
    assert "test_data_diamond_01.fcs" in msg
    assert not isinstance(info.value, KeyError)


def test_unsupported_gate_can_be_skipped_with_a_warning():
    text = _quad_text().replace("gating:RectangleGate", "gating:CurlyQuadGate", 2)
    with pytest.warns(GatingWarning, match="CurlyQuadGate"):
        ws = read_workspace(text.encode(), skip_unsupported=True)
    names = [p.name for p in ws.samples[0].populations]
    assert names == [
        "Q2: channel_A+ , channel_B+",
        "Q3: channel_A+ , channel_B-",
        "Q4: channel_A- , channel_B-",
    ]


def test_unsupported_transform_names_element_and_parameter():
    text = _quad_text().replace("transforms:linear", "transforms:miltenyi")
    with pytest.raises(FlowJoError, match=r"'channel_A'.*transforms:miltenyi"):
        read_workspace(text.encode())


def test_bad_attribute_value_is_reported_not_a_crash():
    text = _quad_text().replace('gating:max="49536.60093896714"', 'gating:max="lots"', 1)
    with pytest.raises(FlowJoError, match=r"max='lots' is not a number"):
        read_workspace(text.encode())


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"<Workspace><SampleList>", "not readable XML"),
        (b"<Gating-ML/>", "expected <Workspace>"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><Workspace>&a;</Workspace>', "not readable XML"),
    ],
)
def test_malformed_or_unsafe_xml(data, needle):
    with pytest.raises(FlowJoError, match=needle):
        read_workspace(data)


# --------------------------------------------------------------------- synthetic workspace
SPILL = np.array([[1.0, 0.2], [0.05, 1.0]])


def _dim(name: str, low: float | None = None, high: float | None = None) -> str:
    bounds = "".join(
        f' gating:{k}="{v!r}"' for k, v in (("min", low), ("max", high)) if v is not None
    )
    return f'<gating:dimension{bounds}><data-type:fcs-dimension data-type:name="{name}"/></gating:dimension>'


def _rect(dims: str, inside: str = "1") -> str:
    return (
        f'<Gate><gating:RectangleGate eventsInside="{inside}">{dims}</gating:RectangleGate></Gate>'
    )


def _polygon(x: str, y: str, points: list[tuple[float, float]]) -> str:
    verts = "".join(
        f'<gating:vertex><gating:coordinate data-type:value="{a!r}"/><gating:coordinate data-type:value="{b!r}"/></gating:vertex>'
        for a, b in points
    )
    return f"<Gate><gating:PolygonGate>{_dim(x)}{_dim(y)}{verts}</gating:PolygonGate></Gate>"


def _pop(name: str, gate: str, children: str = "", count: int = -1) -> str:
    subs = f"<Subpopulations>{children}</Subpopulations>" if children else ""
    return f'<Population name="{name}" count="{count}">{gate}{subs}</Population>'


def _bool(tag: str, name: str, deps: list[str]) -> str:
    inner = "".join(f'<Dependent name="{d}"/>' for d in deps)
    return f'<{tag} name="{name}" count="-1"><Dependents>{inner}</Dependents></{tag}>'


def _synthetic_workspace(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(21)
    n = 4000
    truth = np.c_[rng.lognormal(7, 1.2, n), rng.lognormal(6, 1.0, n)] - 300
    raw = truth @ SPILL
    scatter = rng.uniform(0, 262144, n)
    events = np.c_[scatter, raw]
    write_fcs(tmp_path / "synthetic.fcs", events, channels=["FSC-A", "FITC-A", "PE-A"])
    coeff = "".join(
        f'<transforms:spillover data-type:parameter="{row}">'
        + "".join(
            f'<transforms:coefficient data-type:parameter="{col}" transforms:value="{float(SPILL[i, j])!r}"/>'
            for j, col in enumerate(["FITC-A", "PE-A"])
        )
        + "</transforms:spillover>"
        for i, row in enumerate(["FITC-A", "PE-A"])
    )
    matrix = (
        '<transforms:spilloverMatrix name="Comp Matrix" prefix="Comp-" suffix="">'
        '<data-type:parameters><data-type:parameter data-type:name="FITC-A"/>'
        f'<data-type:parameter data-type:name="PE-A"/></data-type:parameters>{coeff}</transforms:spilloverMatrix>'
    )
    logicle = (
        '<transforms:logicle transforms:T="262144" transforms:W="0.5" transforms:M="4.5" transforms:A="0">'
        '<data-type:parameter data-type:name="Comp-{0}"/></transforms:logicle>'
    )
    xforms = (
        f"<Transformations>{logicle.format('FITC-A')}{logicle.format('PE-A')}</Transformations>"
    )
    tree = _pop(
        "big",
        _rect(_dim("FSC-A", 50000.0)),
        _pop(
            "fitc",
            _rect(_dim("Comp-FITC-A", 1000.0) + _dim("Comp-PE-A", None, 2000.0)),
            _pop("dup", _rect(_dim("Comp-PE-A", 100.0))),
        )
        + _pop(
            "box",
            _polygon(
                "Comp-FITC-A",
                "Comp-PE-A",
                [(0.0, 0.0), (5000.0, 0.0), (5000.0, 800.0), (0.0, 800.0)],
            ),
        )
        + _pop("dup", _rect(_dim("FSC-A", None, 100000.0)))
        + _pop("outside", _rect(_dim("Comp-FITC-A", None, 500.0), inside="0"))
        + _bool("AndNode", "both", ["big/fitc", "big/box"])
        + _bool("OrNode", "either", ["fitc", "box"])
        + _bool("NotNode", "not fitc", ["big/fitc"]),
        count=1234,
    )
    wsp = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Workspace version="20.0" xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating" '
        'xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations" '
        'xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">'
        '<Groups><GroupNode name="All Samples"><Group><SampleRefs><SampleRef sampleID="7"/></SampleRefs></Group></GroupNode></Groups>'
        '<SampleList><Sample><DataSet uri="file:/elsewhere/synthetic.fcs" sampleID="7"/>'
        f'{xforms}{matrix}<Keywords><Keyword name="$FIL" value="synthetic.fcs"/></Keywords>'
        f'<SampleNode name="synthetic" count="{n}" sampleID="7"><Subpopulations>{tree}</Subpopulations></SampleNode>'
        "</Sample></SampleList></Workspace>"
    )
    path = tmp_path / "synthetic.wsp"
    path.write_text(wsp, encoding="utf-8")
    comp = raw.astype(np.float32).astype(np.float64) @ np.linalg.inv(SPILL)
    return path, np.c_[scatter.astype(np.float32).astype(np.float64), comp], events


def test_synthetic_workspace_with_compensation_booleans_and_complements(tmp_path):
    path, comp, _ = _synthetic_workspace(tmp_path)
    ws = read_workspace(path, folder=tmp_path)
    s = ws.samples[0]
    assert s.spillover is not None and s.spillover.name == "Comp Matrix"
    np.testing.assert_array_equal(s.spillover.matrix, SPILL)
    assert ws.groups == {"All Samples": ("synthetic",)}
    names = {p.path: p.name for p in s.populations}
    assert names[("big", "fitc", "dup")] == "big/fitc/dup" and names[("big", "dup")] == "big/dup"
    assert isinstance(next(p for p in s.populations if p.name == "outside").gate, Not)
    fsc, fitc, pe = comp.T
    big = fsc >= 50000
    fitc_pop = big & (fitc >= 1000) & (pe < 2000)
    box = (
        big & (fitc >= 0) & (fitc <= 5000) & (pe >= 0) & (pe <= 800)
    )  # a box stays a box under logicle
    expected = {
        "big": big,
        "fitc": fitc_pop,
        "big/fitc/dup": fitc_pop & (pe >= 100),
        "box": box,
        "big/dup": big & (fsc < 100000),
        "outside": big & ~(fitc < 500),
        "both": big & fitc_pop & box,
        "either": big & (fitc_pop | box),
        "not fitc": big & ~fitc_pop,
    }
    result = ws.strategy("synthetic").apply(ws.load("synthetic"))
    for name, mask in expected.items():
        assert result.count(name) == int(mask.sum()), name
        assert 0 < mask.sum() < len(mask), name  # every population is a real test
    table = ws.compare_counts()
    row = table[table["population"] == "big"].iloc[0]
    assert row["flowjo_count"] == 1234 and row["difference"] == row["count"] - 1234


def test_polygon_on_logicle_axes_is_straight_in_display_space(tmp_path):
    path, _, _ = _synthetic_workspace(tmp_path)
    s = read_workspace(path).samples[0]
    box = next(p for p in s.populations if p.name == "box").gate
    lg = Logicle(262144.0, 0.5, 4.5, 0.0)
    assert [d.transform for d in box.dimensions] == [lg, lg]
    assert [d.compensation for d in box.dimensions] == ["Comp Matrix", "Comp Matrix"]
    assert box.vertices[1] == pytest.approx((float(lg(5000.0)), float(lg(0.0))))


def test_boolean_with_unknown_dependent_is_an_error(tmp_path):
    path, _, _ = _synthetic_workspace(tmp_path)
    text = path.read_text().replace(
        '<Dependent name="big/box"/>', '<Dependent name="big/nothing"/>'
    )
    with pytest.raises(FlowJoError, match=r"gate 'big/both'.*'big/nothing'"):
        read_workspace(text.encode())


# --------------------------------------------------------------------- CLI
def test_cli_import_flowjo_writes_gatingml_with_the_same_counts(tmp_path, capsys):
    from bcsc_flow import gatingml
    from bcsc_flow.cli import main
    from bcsc_flow.io.fcs import read_fcs

    wsp = DATA / "simple_diamond_example" / "simple_diamond_example_quad_gate.wsp"
    out = tmp_path / "quad.xml"
    assert main(["import-flowjo", str(wsp), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Q1: channel_A- , channel_B+" in printed and "49671" in printed
    strategy = gatingml.read(out)
    result = strategy.apply(read_fcs(DATA / "simple_diamond_example" / "test_data_diamond_01.fcs"))
    counts = sorted(result.count(n) for n in strategy.names)
    assert counts == [49403, 49671, 50330, 50596]


def test_cli_import_flowjo_reports_errors(tmp_path, capsys):
    from bcsc_flow.cli import main

    bad = tmp_path / "bad.wsp"
    bad.write_text(re.sub("gating:RectangleGate", "gating:CurlyQuadGate", _quad_text()))
    assert main(["import-flowjo", str(bad), "--out", str(tmp_path / "x.xml")]) == 1
    assert "CurlyQuadGate" in capsys.readouterr().err


# --------------------------------------------------------------------- oracle (FlowKit)
FLOWKIT_WSP = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import flowkit as fk
out = {}
for wsp in sys.argv[1:]:
    ws = fk.Workspace(wsp, fcs_samples=wsp.rsplit("/", 1)[0])
    ws.analyze_samples(group_name="All Samples")
    rep = ws.get_analysis_report(group_name="All Samples")
    out[wsp] = {r.gate_name: int(r["count"]) for _, r in rep.iterrows()}
print(json.dumps(out))
"""
WORKSPACES = sorted(DATA.glob("*/*.wsp"))


@pytest.fixture(scope="module")
def flowkit_counts() -> dict[str, dict[str, int]]:
    python = os.environ.get("BCSC_ORACLE_PYTHON")
    if not python:
        pytest.skip("BCSC_ORACLE_PYTHON not set")
    out = subprocess.run(
        [python, "-c", FLOWKIT_WSP, *map(str, WORKSPACES)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    return json.loads(out.stdout)


@pytest.mark.parametrize("wsp", WORKSPACES, ids=lambda p: p.stem)
def test_every_workspace_count_agrees_with_flowkit(wsp, flowkit_counts):
    theirs = flowkit_counts[str(wsp)]
    table = read_workspace(wsp).compare_counts()
    ours = dict(zip(table["population"], table["count"], strict=True))
    assert theirs and all(ours[name] == count for name, count in theirs.items())


FLOWKIT_GML = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import flowkit as fk
sample = fk.Sample(sys.argv[2])
result = fk.parse_gating_xml(sys.argv[1]).gate_sample(sample)
report = result.report
print(json.dumps({r.gate_name: int(r["count"]) for _, r in report.iterrows()}))
"""


@pytest.mark.skipif(not os.environ.get("BCSC_ORACLE_PYTHON"), reason="BCSC_ORACLE_PYTHON not set")
def test_exported_gatingml_gives_flowjo_counts_in_flowkit(tmp_path):
    from bcsc_flow import gatingml

    cases = [
        (
            "simple_line_example/single_ellipse_51_events.wsp",
            "simple_line_example/data_set_simple_line_100.fcs",
        ),
        (
            "simple_diamond_example/simple_diamond_example_quad_gate.wsp",
            "simple_diamond_example/test_data_diamond_01.fcs",
        ),
    ]
    for wsp, fcs in cases:
        ws = read_workspace(DATA / wsp)
        out = gatingml.write(ws.samples[0].strategy(), tmp_path / (Path(wsp).stem + ".xml"))
        res = subprocess.run(
            [os.environ["BCSC_ORACLE_PYTHON"], "-c", FLOWKIT_GML, str(out), str(DATA / fcs)],
            capture_output=True, text=True, check=True, timeout=300,
        )  # fmt: skip
        theirs = json.loads(res.stdout)
        stored = [p.flowjo_count for p in ws.samples[0].populations]
        assert sorted(theirs.values()) == sorted(stored)  # ids are sanitised names


def test_group_gate_tree_is_kept_as_a_template():
    ws = read_workspace(DATA / "simple_diamond_example" / "test_data_diamond_asinh_rect.wsp")
    assert list(ws.group_trees) == ["All Samples"]
    group = ws.group_trees["All Samples"]
    assert [p.flowjo_count for p in group.populations] == [None]  # group counts are not results
    result = ws.group_strategy("All Samples").apply(ws.load("test_data_diamond_01.fcs"))
    # the group copy's rectangle has the coordinates of the biex workspace's sample gate,
    # for which FlowJo computed 50605 (the sample copy here was edited: 50559)
    assert result.count("upper_right") == 50605
    biex = read_workspace(DATA / "simple_diamond_example" / "test_data_diamond_biex_rect.wsp")
    assert group.populations[0].gate == biex.samples[0].populations[0].gate
    with pytest.raises(FlowJoError, match="group 'Compensation' has no gates"):
        ws.group_strategy("Compensation")
