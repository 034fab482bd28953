"""Frozen strategies (FlowJo gating) as static templates: YAML round trip, same events.

Ground truth: FlowJo's own counts (tests/data/flowjo/expected_counts.csv, rows marked
use_as_reference=yes) and the strategy applied directly to the same FCS file; every
converted template is saved as YAML, loaded back and resolved against that file.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bcsc_flow import gatingml
from bcsc_flow.cli import main
from bcsc_flow.compensation import Spillover
from bcsc_flow.dimensions import Dimension, RatioDimension
from bcsc_flow.errors import FCSWarning, TemplateError
from bcsc_flow.flowjo import read_workspace
from bcsc_flow.gates import And, Not, Or, Polygon, Quadrant, Range, Rectangle, Threshold
from bcsc_flow.io.fcs import read_fcs, write_fcs
from bcsc_flow.strategy import GatingStrategy
from bcsc_flow.template import load_template
from bcsc_flow.template_convert import template_from_strategy, template_from_workspace
from bcsc_flow.transforms import Asinh, Logicle, Ratio

DATA = Path(__file__).parent / "data" / "flowjo"
EXPRESSIBLE = [
    "simple_diamond_example/simple_diamond_example_quad_gate.wsp",
    "simple_diamond_example/test_data_diamond_asinh_rect.wsp",
    "simple_diamond_example/test_data_diamond_asinh_rect2.wsp",
    "simple_diamond_example/test_data_diamond_biex_rect.wsp",
    "simple_line_example/simple_poly_and_rect.wsp",
    "simple_line_example/simple_poly_and_rect_v2_poly50.wsp",
]


def _flowjo_counts(wsp: str) -> dict[str, int]:
    with open(DATA / "expected_counts.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {
        r["gate_name"]: int(r["flowjo_count"])
        for r in rows
        if r["wsp_file"] == wsp and r["use_as_reference"] == "yes"
    }


def _resolve(template, sample):
    sheet = pd.DataFrame({"sample": ["s1"], "role": ["test"], "batch": ["b1"]})
    return template.resolve({"s1": sample}, sheet).strategies["s1"].apply(sample)


def _assert_same_events(template, strategy, sample) -> None:
    ours, direct = _resolve(template, sample), strategy.apply(sample)
    for name in strategy.names:
        assert ours.count(name) == direct.count(name), name
        np.testing.assert_array_equal(ours.mask(name), direct.mask(name), err_msg=name)


# --------------------------------------------------------------------- FlowJo workspaces
@pytest.mark.parametrize("wsp", EXPRESSIBLE)
def test_flowjo_gating_round_trips_through_a_yaml_template(wsp, tmp_path):
    ws = read_workspace(DATA / wsp)
    name = ws.sample_names[0]
    tpl = template_from_workspace(ws, name, name="converted", check=False)
    back = load_template(tpl.save(tmp_path / "converted.yaml"))
    assert back.digest == tpl.digest and back.name == "converted"
    sample = ws.load(name)
    _assert_same_events(back, ws.strategy(name), sample)
    ours = _resolve(back, sample)
    for pop, count in _flowjo_counts(wsp).items():  # FlowJo's own counts
        assert ours.count(pop) == count, pop
    assert _flowjo_counts(wsp) or "simple_line" in wsp  # the diamond files are references


def test_flowjo_reference_counts_are_all_used():
    used = sum(len(_flowjo_counts(w)) for w in EXPRESSIBLE)
    assert used == 7  # 4 quadrant pieces + 3 transformed rectangles (the 8th is the ellipse)


def test_quadrant_pieces_become_ranges_and_axis_transforms_are_carried():
    ws = read_workspace(DATA / EXPRESSIBLE[0])
    doc = template_from_workspace(ws, ws.sample_names[0]).to_document()
    assert doc["name"] == "simple_diamond_example_quad_gate"
    assert doc["compensation"] == {"source": "none"} and doc["transforms"] == {}
    assert doc["panel"]["channel_A"]["detectors"] == ["channel_A"]
    q2 = next(p for p in doc["populations"] if p["name"].startswith("Q2"))
    assert [next(iter(r["range"])) for r in q2["gate"]["and"]] == ["dim", "dim"]
    assert all(set(r["range"]) == {"dim", "min"} for r in q2["gate"]["and"])
    ws = read_workspace(DATA / EXPRESSIBLE[2])
    tpl = template_from_workspace(ws, ws.sample_names[0])
    assert tpl.transform("channel_B") == Asinh(262144.0, 1.3, 0.0)  # FlowJo's fasinh axis


def test_flowjo_group_gate_tree_becomes_a_template(tmp_path):
    # The group copy of this workspace's rectangle has the coordinates of the biex
    # workspace's sample gate, for which FlowJo computed 50605.
    ws = read_workspace(DATA / EXPRESSIBLE[1])
    tpl = template_from_workspace(ws, ws.sample_names[0], group="All Samples", check=False)
    back = load_template(tpl.save(tmp_path / "group.yaml"))
    assert "group 'All Samples'" in back.description
    assert _resolve(back, ws.load(ws.sample_names[0])).count("upper_right") == 50605


def test_flowjo_ellipse_is_refused_with_a_pointer_to_gatingml():
    ws = read_workspace(DATA / "simple_line_example/single_ellipse_51_events.wsp")
    with pytest.raises(TemplateError, match=r"'ellipse1'.*Ellipse.*Gating-ML"):
        template_from_workspace(ws, ws.sample_names[0])


# --------------------------------------------------------------------- Gating-ML conformance
GML = Path(__file__).parent / "data" / "gatingml2"
MANIFEST = list(csv.DictReader((GML / "manifest.csv").read_text(encoding="utf-8").splitlines()))


@pytest.mark.parametrize("row", MANIFEST, ids=[r["gate_id"] for r in MANIFEST])
def test_gatingml_reference_results_survive_conversion(row, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FCSWarning)  # CellQuest quirks, asserted elsewhere
        sample = read_fcs(GML / "data1.fcs")
    strategy = gatingml.read(GML / row["xml_file"])
    kinds = {type(strategy[n].gate).__name__ for n in strategy.names}
    ratio = any(
        isinstance(d, RatioDimension) for n in strategy.names for d in strategy[n].gate.dimensions
    )
    if kinds & {"Ellipse", "QuadrantRegion"} or ratio:
        with pytest.raises(TemplateError, match="Gating-ML"):
            template_from_strategy(strategy, sample, name="x", matrix_csv=tmp_path / "m.csv")
        return
    tpl = template_from_strategy(strategy, sample, name="x", matrix_csv=tmp_path / "m.csv")
    back = load_template(tpl.save(tmp_path / "x.yaml"))
    got = _resolve(back, sample).mask(row["gate_id"])
    lines = (GML / row["result_file"]).read_text(encoding="ascii").split()
    np.testing.assert_array_equal(got, np.array([line == "1" for line in lines]))


# --------------------------------------------------------------------- synthetic strategy
SPILL = np.array([[1.0, 0.15], [0.03, 1.0]])
LG = Logicle(262144.0, 0.5, 4.5)


def _sample(tmp_path: Path):
    rng = np.random.default_rng(8)
    n = 20000
    bright = rng.random(n) < 0.5
    cd44 = np.where(bright, rng.lognormal(8.5, 0.8, n), rng.lognormal(4.0, 1.0, n))
    cd24 = rng.lognormal(5.5, 1.5, n)
    truth = np.c_[cd44, cd24] + rng.normal(0.0, 20.0, (n, 2))
    raw = truth @ SPILL
    events = np.c_[rng.normal(80000, 25000, n), rng.normal(50000, 20000, n), raw, np.arange(n)]
    path = write_fcs(
        tmp_path / "synthetic.fcs",
        events,
        channels=["FSC-A", "SSC-A", "R670-A", "B530-A", "Time"],
        markers=[None, None, "CD44 APC", "FITC-CD24", None],
        keywords={
            "$SPILLOVER": "2,R670-A,B530-A," + ",".join(repr(float(v)) for v in SPILL.ravel())
        },
    )
    return read_fcs(path)


def _strategy(comp: str = "FCS", matrix: Spillover | None = None) -> GatingStrategy:
    cd44, cd24 = Dimension("R670-A", LG, comp), Dimension("B530-A", LG, comp)
    corners = [(0.62, 0.25), (0.95, 0.3), (0.9, 0.72), (0.68, 0.6)]  # logicle units
    cd24_hi = Range(cd24, float(LG(2000.0)[()]), 1.0)
    return (
        GatingStrategy((), {} if matrix is None else {comp: matrix})
        .add("cells", Rectangle(("FSC-A", "SSC-A"), (40000, 10000), (150000, 120000)))
        .add("BCSC", Polygon((cd44, cd24), corners), parent="cells")
        .add("CD44+", Threshold(cd44, above=float(LG(1000.0)[()])), parent="cells")
        .add("CD24 hi", cd24_hi, parent="cells")
        .add("CD44+ not BCSC", And("CD44+", Not("BCSC")), parent="cells")
        .add("either", Or("BCSC", "CD24 hi"))  # operands' parents count: ref + ancestors
        .add("not CD44+", Not("CD44+"))
        .add("mixed", And(~cd24_hi, "CD44+"), parent="cells")
    )


def test_synthetic_logicle_polygon_and_booleans_round_trip(tmp_path):
    sample = _sample(tmp_path)
    strategy = _strategy()
    direct = strategy.apply(sample)
    for name in strategy.names:  # every population is a real test
        assert 0 < direct.count(name) < len(sample), name
    tpl = template_from_strategy(strategy, sample, name="synthetic", description="demo")
    back = load_template(tpl.save(tmp_path / "synthetic.yaml"))
    _assert_same_events(back, strategy, sample)
    doc = back.to_document()
    assert doc["panel"]["CD44"] == {"stain": ["CD44 APC"], "detectors": ["R670-A"],
                                    "kind": "fluorescence", "optional": False}  # fmt: skip
    assert doc["panel"]["CD24"]["stain"] == ["FITC-CD24"]
    assert doc["panel"]["FSC-A"]["kind"] == "scatter" and "Time" not in doc["panel"]
    assert doc["compensation"] == {"source": "file"}
    assert doc["transforms"]["CD44"] == {"logicle": {"T": 262144.0, "W": 0.5, "M": 4.5, "A": 0.0}}
    gates = {p["name"]: p["gate"] for p in doc["populations"]}
    assert gates["CD44+"]["threshold"]["above"] == 1000.0  # drawn at logicle(1000)
    assert gates["CD44+ not BCSC"] == {"and": [{"ref": "CD44+"}, {"not": {"ref": "BCSC"}}]}
    either = next(p for p in doc["populations"] if p["name"] == "either")
    assert either["gate"]["or"][0] == {"and": [{"ref": "BCSC"}, {"ref": "cells"}]}


def test_polygon_on_logicle_axes_keeps_its_shape(tmp_path):
    sample = _sample(tmp_path)
    strategy = _strategy()
    gate = strategy["BCSC"].gate
    tpl = template_from_strategy(strategy, sample, name="synthetic")
    verts = np.asarray(tpl.population("BCSC")["gate"]["polygon"]["vertices"])
    assert len(verts) > len(gate.vertices)
    # The engine draws fixed polygons in data units: the corners alone would differ ...
    plain = tuple(Dimension(d.channel, None, d.compensation) for d in gate.dimensions)
    corners = np.c_[
        LG.inverse(np.asarray(gate.vertices)[:, 0]), LG.inverse(np.asarray(gate.vertices)[:, 1])
    ]
    naive = Polygon(plain, [tuple(v) for v in corners]).mask(sample)
    assert (naive != gate.mask(sample)).sum() > 0
    # ... while every added vertex lies on an edge drawn on the logicle axes.
    drawn = np.asarray(gate.vertices)
    shown = np.c_[LG(verts[:, 0]), LG(verts[:, 1])]
    for p in shown:
        gaps = []
        for a, b in zip(drawn, np.roll(drawn, -1, axis=0)):
            t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0, 1)
            gaps.append(np.linalg.norm(a + t * (b - a) - p))
        assert min(gaps) < 1e-9


def test_uncompensated_gates_give_compensation_none(tmp_path):
    sample = _sample(tmp_path)
    strategy = _strategy("uncompensated")
    tpl = template_from_strategy(strategy, sample, name="raw")
    assert tpl.compensation == {"source": "none"}
    _assert_same_events(tpl, strategy, sample)


def test_named_matrix_equal_to_the_files_is_compensation_file(tmp_path):
    sample = _sample(tmp_path)
    own = Spillover.from_array(SPILL, ["R670-A", "B530-A"], name="Acquisition")
    strategy = _strategy("Acquisition", own)
    tpl = template_from_strategy(strategy, sample, name="acq")
    assert tpl.compensation == {"source": "file"}
    _assert_same_events(tpl, strategy, sample)


def test_other_named_matrix_is_written_as_csv_or_refused(tmp_path):
    sample = _sample(tmp_path)
    other = Spillover.from_array([[1.0, 0.3], [0.0, 1.0]], ["R670-A", "B530-A"], name="Edited")
    strategy = _strategy("Edited", other)
    with pytest.raises(TemplateError, match=r"'Edited'.*matrix_csv"):
        template_from_strategy(strategy, sample, name="edited")
    out = tmp_path / "out"
    out.mkdir()
    tpl = template_from_strategy(strategy, sample, name="edited", matrix_csv=out / "edited.csv")
    assert tpl.compensation == {"source": "matrix", "matrix": "edited.csv"}
    assert Spillover.from_csv(out / "edited.csv").matrix.tolist() == other.matrix.tolist()
    _assert_same_events(load_template(tpl.save(out / "edited.yaml")), strategy, sample)


def test_two_transforms_on_one_marker_name_population_and_dimension(tmp_path):
    sample = _sample(tmp_path)
    other = Dimension("R670-A", Asinh(262144.0, 4.0, 0.0), "FCS")
    strategy = _strategy().add("asinh cut", Threshold(other, above=0.5), parent="cells")
    with pytest.raises(TemplateError, match=r"'asinh cut'.*R670-A.*one transform per marker"):
        template_from_strategy(strategy, sample, name="x")


def test_mixed_compensation_is_refused(tmp_path):
    sample = _sample(tmp_path)
    raw = Dimension("B530-A", compensation="uncompensated")
    strategy = _strategy().add("raw cut", Threshold(raw, above=100.0), parent="cells")
    with pytest.raises(TemplateError, match=r"'raw cut'.*B530-A.*one compensation"):
        template_from_strategy(strategy, sample, name="x")


@pytest.mark.parametrize(
    "gate, needle",
    [
        (Quadrant.cross("R670-A", 1000.0, "B530-A", 1000.0), "quadrant gate"),
        (Threshold(RatioDimension("R670-A", "B530-A", Ratio(1.0, 0.0, 0.0)), above=1.0), "ratio"),
    ],
)
def test_inexpressible_gates_point_to_gatingml(tmp_path, gate, needle):
    sample = _sample(tmp_path)
    strategy = GatingStrategy().add("odd", gate)
    with pytest.raises(TemplateError, match=rf"'odd'.*{needle}.*Gating-ML"):
        template_from_strategy(strategy, sample, name="x")


# --------------------------------------------------------------------- CLI
def test_cli_import_flowjo_writes_a_template(tmp_path, capsys):
    wsp = DATA / "simple_diamond_example/simple_diamond_example_quad_gate.wsp"
    out = tmp_path / "quad.yaml"
    assert main(["import-flowjo", str(wsp), "--out", str(out), "--name", "quads"]) == 0
    assert "template" in capsys.readouterr().out
    tpl = load_template(out)
    assert tpl.name == "quads"
    ws = read_workspace(wsp)
    ours = _resolve(tpl, ws.load(ws.sample_names[0]))
    for pop, count in _flowjo_counts(
        "simple_diamond_example/simple_diamond_example_quad_gate.wsp"
    ).items():
        assert ours.count(pop) == count, pop


def test_cli_import_flowjo_template_error_exits_1(tmp_path, capsys):
    wsp = DATA / "simple_line_example/single_ellipse_51_events.wsp"
    assert main(["import-flowjo", str(wsp), "--out", str(tmp_path / "e.yml")]) == 1
    assert "Gating-ML" in capsys.readouterr().err
    assert not (tmp_path / "e.yml").exists()


# --------------------------------------------------------------------- synthetic FlowJo workspace
def _dim(name: str, low: float | None = None, high: float | None = None) -> str:
    bounds = "".join(
        f' gating:{k}="{v!r}"' for k, v in (("min", low), ("max", high)) if v is not None
    )
    return f'<gating:dimension{bounds}><data-type:fcs-dimension data-type:name="{name}"/></gating:dimension>'


def _pop(name: str, gate_xml: str, children: str = "", inside: str = "1") -> str:
    subs = f"<Subpopulations>{children}</Subpopulations>" if children else ""
    kind = "PolygonGate" if "vertex" in gate_xml else "RectangleGate"
    gate = f'<Gate><gating:{kind} eventsInside="{inside}">{gate_xml}</gating:{kind}></Gate>'
    return f'<Population name="{name}" count="-1">{gate}{subs}</Population>'


def _bool(tag: str, name: str, deps: list[str]) -> str:
    inner = "".join(f'<Dependent name="{d}"/>' for d in deps)
    return f'<{tag} name="{name}" count="-1"><Dependents>{inner}</Dependents></{tag}>'


def _workspace(tmp_path: Path, matrix: np.ndarray) -> Path:
    """The FCS file of _sample and a FlowJo workspace gating it with ``matrix`` as 'Comp'."""
    _sample(tmp_path)
    chans = ["R670-A", "B530-A"]
    coeff = "".join(
        f'<transforms:spillover data-type:parameter="{row}">'
        + "".join(f'<transforms:coefficient data-type:parameter="{col}" transforms:value="{float(matrix[i, j])!r}"/>'
                  for j, col in enumerate(chans))
        + "</transforms:spillover>"
        for i, row in enumerate(chans)
    )  # fmt: skip
    params = "".join(f'<data-type:parameter data-type:name="{c}"/>' for c in chans)
    spill = (
        '<transforms:spilloverMatrix name="Comp" prefix="Comp-" suffix="">'
        f"<data-type:parameters>{params}</data-type:parameters>{coeff}</transforms:spilloverMatrix>"
    )
    logicle = "".join(
        '<transforms:logicle transforms:T="262144" transforms:W="0.5" transforms:M="4.5" transforms:A="0">'
        f'<data-type:parameter data-type:name="Comp-{c}"/></transforms:logicle>'
        for c in chans
    )
    corners = [
        (LG.inverse(x), LG.inverse(y))
        for x, y in [(0.62, 0.25), (0.95, 0.3), (0.9, 0.72), (0.68, 0.6)]
    ]
    verts = "".join(
        f'<gating:vertex><gating:coordinate data-type:value="{float(a)!r}"/>'
        f'<gating:coordinate data-type:value="{float(b)!r}"/></gating:vertex>'
        for a, b in corners
    )
    tree = _pop(
        "cells",
        _dim("FSC-A", 40000.0, 150000.0),
        _pop("CD44+", _dim("Comp-R670-A", 1000.0))
        + _pop("BCSC", _dim("Comp-R670-A") + _dim("Comp-B530-A") + verts)
        + _pop("CD24 not hi", _dim("Comp-B530-A", 2000.0), inside="0")
        + _bool("AndNode", "both", ["cells/CD44+", "cells/BCSC"])
        + _bool("OrNode", "either", ["cells/BCSC", "cells/CD24 not hi"])
        + _bool("NotNode", "not CD44+", ["cells/CD44+"]),
    )
    wsp = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Workspace version="20.0" xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating" '
        'xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations" '
        'xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">'
        '<SampleList><Sample><DataSet uri="file:/elsewhere/synthetic.fcs" sampleID="1"/>'
        f"<Transformations>{logicle}</Transformations>{spill}"
        '<SampleNode name="synthetic" count="-1" sampleID="1">'
        f"<Subpopulations>{tree}</Subpopulations></SampleNode></Sample></SampleList></Workspace>"
    )
    path = tmp_path / "synthetic.wsp"
    path.write_text(wsp, encoding="utf-8")
    return path


@pytest.mark.parametrize("edited", [False, True])
def test_cli_converts_flowjo_booleans_compensation_and_logicle_polygon(tmp_path, capsys, edited):
    matrix = np.array([[1.0, 0.3], [0.0, 1.0]]) if edited else SPILL
    wsp = _workspace(tmp_path, matrix)
    out = tmp_path / "tpl" / "synthetic.yaml"
    out.parent.mkdir()
    assert main(["import-flowjo", str(wsp), "--folder", str(tmp_path), "--out", str(out)]) == 0
    tpl = load_template(out)
    ws = read_workspace(wsp, folder=tmp_path)
    strategy, sample = ws.strategy("synthetic"), ws.load("synthetic")
    direct = strategy.apply(sample)
    for name in strategy.names:
        assert 0 < direct.count(name) < len(sample), name
    _assert_same_events(tpl, strategy, sample)
    if edited:  # FlowJo's matrix is not the file's: written beside the template
        assert tpl.compensation == {"source": "matrix", "matrix": "synthetic.spillover.csv"}
        assert (out.parent / "synthetic.spillover.csv").is_file()
    else:
        assert tpl.compensation == {"source": "file"}
    assert (
        tpl.transform("CD44") == LG
        and len(tpl.population("BCSC")["gate"]["polygon"]["vertices"]) > 4
    )
    assert "not CD44+" in capsys.readouterr().out
