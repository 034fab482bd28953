"""Gating-ML export: every written document validates against the ISAC XSDs, and reading
it back gives the same populations with identical masks (reference strategies on
``data1.fcs`` and a synthetic strategy using every gate type)."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import xmlschema

from bcsc_flow import gatingml
from bcsc_flow.errors import FCSWarning, GatingMLError
from bcsc_flow.gates import (
    Dimension,
    Divider,
    Ellipse,
    Polygon,
    QuadGate,
    Quadrant,
    Range,
    RatioDimension,
    Rectangle,
    Threshold,
)
from bcsc_flow.io.fcs import read_fcs
from bcsc_flow.strategy import GatingStrategy, Population
from bcsc_flow.transforms import Asinh, Hyperlog, Linear, Log, Logicle, Ratio

DATA = Path(__file__).parent / "data" / "gatingml2"
XML_FILES = sorted(
    p.name for p in (DATA / "gml").glob("*.xml") if p.name != "gml_range_gate_attr_testing.xml"
)


@cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(DATA / "xsd" / "Gating-ML.v2.0.xsd"))


@cache
def data1():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FCSWarning)
        return read_fcs(DATA / "data1.fcs")


def assert_schema_valid(text: str) -> None:
    errors = list(schema().iter_errors(text))
    assert not errors, str(errors[0])


def assert_same_masks(first: GatingStrategy, second: GatingStrategy, sample) -> None:
    a, b = first.apply(sample), second.apply(sample)
    assert a.names == b.names
    for name in a.names:
        assert np.array_equal(a.mask(name), b.mask(name)), name


@pytest.mark.parametrize("xml_file", XML_FILES)
def test_reference_strategy_round_trip(xml_file: str, tmp_path: Path):
    original = gatingml.read(DATA / "gml" / xml_file)
    out = gatingml.write(original, tmp_path / "out.xml")
    text = out.read_text(encoding="utf-8")
    assert_schema_valid(text)
    again = gatingml.read(out, strict=True)
    assert again.names == original.names
    assert dict(again.spillovers).keys() == dict(original.spillovers).keys()
    for name in original.names:
        assert again.parent(name) == original.parent(name)
    assert_same_masks(original, again, data1())


def synthetic_strategy() -> GatingStrategy:
    logicle = Logicle(262144.0, 0.5, 4.5, 0.0)
    from bcsc_flow.compensation import Spillover

    spill = Spillover(
        ("FL1-H", "FL2-H"), np.array([[1.0, 0.1], [0.05, 1.0]]), ("FITC", "PE"), name="comp 1"
    )
    quad = Quadrant(
        (Divider("fsc cut", "FSC-H", (20.0, 60.0)), Divider("ssc", "SSC-H", 15.0)),
        {"mid/low": {"fsc cut": 1, "ssc": 0}, "high": {"fsc cut": 2}},
    )
    return GatingStrategy(
        [
            Population(
                "cells", Polygon(("FSC-H", "SSC-H"), [(10, 0), (200, 0), (200, 100), (10, 60)])
            ),
            Population(
                "CD44+/CD24-low",
                Rectangle(
                    (Dimension("FL1-H", logicle, "FCS"), Dimension("FL2-H", logicle, "FCS")),
                    (0.3, None),
                    (None, 0.6),
                ),
                parent="cells",
            ),
            Population(
                "HER2+",
                Threshold(Dimension("PE", Asinh(1000.0, 4.0, 1.0), "comp 1"), above=0.4),
                "cells",
            ),
            Population("lin", Range(Dimension("FITC", Linear(1000.0, 10.0), "comp 1"), 0.0, 0.5)),
            Population("log", Range(Dimension("FL3-H", Log(10000.0, 4.0, bound_min=0.0)), 0.2)),
            Population(
                "hyper", Range(Dimension("FL4-H", Hyperlog(10000.0, 1.0, 4.5, 0.0)), max=0.5)
            ),
            Population(
                "ratio",
                Range(
                    RatioDimension(
                        "FL2-H", "FL2-A", Ratio(1.0, 0.0, -1.0), Log(100.0, 2.0), name="r"
                    ),
                    0.4,
                    0.66,
                ),
            ),
            Population(
                "ell", Ellipse(("FL3-H", "FL4-H"), (12.0, 16.0), ((62.5, 37.5), (37.5, 62.5)), 1.0)
            ),
            Population("quad", quad, parent="cells"),
            Population("x", QuadGate((30.0, 20.0), ("FSC-H", "SSC-H"), "top right")),
            Population("both", "HER2+" & ~Threshold("FL1-H", above=5.0) | "high", parent="cells"),
            Population("neither", ~("ell" | Range("Time", 20, 80))),
        ],
        {"comp 1": spill},
    )


def test_synthetic_strategy_with_every_gate_type_round_trips(tmp_path: Path):
    original = synthetic_strategy()
    out = gatingml.write(original, tmp_path / "s.xml")
    text = out.read_text(encoding="utf-8")
    assert_schema_valid(text)
    again = gatingml.read(out, strict=True)
    assert again.names == original.names
    for before, after in zip(original.populations, again.populations):
        if before.name == "x":  # a lone quadrant region is written as an open-sided rectangle
            assert isinstance(after.gate, Rectangle)
        else:
            assert after.gate == before.gate, before.name
    lines = [line for line in str(original).splitlines() if not line.startswith("x: ")]
    assert [line for line in str(again).splitlines() if not line.startswith("x: ")] == lines
    assert_same_masks(original, again, data1())
    counts = original.apply(data1()).table().set_index("population")["count"]
    assert (counts > 0).sum() >= 10  # the gates select something on data1


def test_each_transformation_defined_once_and_all_attributes_qualified(tmp_path: Path):
    text = gatingml.to_string(synthetic_strategy())
    assert text.count("<transforms:logicle ") == 1
    root = gatingml.parse_xml(text.encode())
    for element in root.iter():
        if not element.tag.startswith("{"):  # our custom_info content (no namespace)
            continue
        for key in element.attrib:
            assert key.startswith("{"), f"unqualified attribute {key!r} on {element.tag}"


def test_write_refuses_transforms_without_gatingml_form(tmp_path: Path):
    from bcsc_flow.transforms import FlowJoBiex

    st = GatingStrategy().add("x", Range(Dimension("A", FlowJoBiex()), 0, 100))
    with pytest.raises(GatingMLError, match=r"no Gating-ML 2\.0 form"):
        gatingml.write(st, tmp_path / "x.xml")
