"""ISAC Gating-ML 2.0 compliance suite: every reference result reproduced event by event.

Ground truth: ``tests/data/gatingml2/truth/Results_*.txt`` (one 0/1 line per event of
``data1.fcs``), listed in ``manifest.csv``. Each gate is checked from its dedicated XML
and, for the 49 gates it defines, from the ISAC file ``gml_all_gates.xml``.
"""

from __future__ import annotations

import csv
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import xmlschema

from bcsc_flow import gatingml
from bcsc_flow.errors import FCSWarning, GatingMLError
from bcsc_flow.io.fcs import read_fcs
from bcsc_flow.strategy import GatingStrategy

DATA = Path(__file__).parent / "data" / "gatingml2"
MANIFEST = list(csv.DictReader((DATA / "manifest.csv").read_text(encoding="utf-8").splitlines()))
ALL_GATES = DATA / "gml" / "gml_all_gates.xml"


@cache
def data1():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FCSWarning)  # CellQuest quirks, asserted in the FCS tests
        return read_fcs(DATA / "data1.fcs")


@cache
def truth(result_file: str) -> np.ndarray:
    lines = (DATA / result_file).read_text(encoding="ascii").split()
    return np.array([line == "1" for line in lines])


@cache
def strategy(xml_file: str) -> GatingStrategy:
    return gatingml.read(DATA / xml_file)


@cache
def masks(xml_file: str):
    return strategy(xml_file).apply(data1())


def test_manifest_and_data_are_consistent():
    assert len(MANIFEST) == 51
    sample = data1()
    assert len(sample) == 13367 and sample.events.dtype == np.float64
    for row in MANIFEST:
        expected = truth(row["result_file"])
        assert expected.shape == (13367,)
        assert expected.sum() == int(row["expected_events_in"])


@pytest.mark.parametrize("row", MANIFEST, ids=[r["gate_id"] for r in MANIFEST])
def test_reference_result_from_dedicated_xml(row):
    got = masks(row["xml_file"]).mask(row["gate_id"])
    expected = truth(row["result_file"])
    mismatches = int(np.count_nonzero(got != expected))
    assert mismatches == 0, f"{row['gate_id']}: {mismatches} events differ"


ALL_ROWS = [r for r in MANIFEST if r["in_gml_all_gates"] == "yes"]


@pytest.mark.parametrize("row", ALL_ROWS, ids=[r["gate_id"] for r in ALL_ROWS])
def test_reference_result_from_all_gates_file(row):
    got = masks("gml/gml_all_gates.xml").mask(row["gate_id"])
    expected = truth(row["result_file"])
    mismatches = int(np.count_nonzero(got != expected))
    assert mismatches == 0, f"{row['gate_id']}: {mismatches} events differ"


def test_all_gates_file_covers_49_results():
    assert len(ALL_ROWS) == 49
    names = set(strategy("gml/gml_all_gates.xml").names)
    assert {r["gate_id"] for r in ALL_ROWS} <= names


def test_counts_table_matches_truth_sums():
    table = masks("gml/gml_all_gates.xml").table().set_index("population")
    for row in ALL_ROWS:
        assert table.loc[row["gate_id"], "count"] == int(row["expected_events_in"])
        assert table.loc[row["gate_id"], "total_count"] == 13367


def test_ellipse2_parses():
    st = strategy("gml/gml_ellipse2_gate.xml")
    assert "myEllipse2" in st.names


def test_invalid_document_is_refused_with_element_and_reason():
    with pytest.raises(GatingMLError, match=r"<sample>.*must be direct children of <Gating-ML>"):
        gatingml.read(DATA / "gml" / "gml_range_gate_attr_testing.xml")
    with pytest.raises(GatingMLError):
        gatingml.read(DATA / "gml" / "gml_range_gate_attr_testing.xml", strict=True)


def test_invalid_document_fails_schema_validation_too():
    schema = xmlschema.XMLSchema(str(DATA / "xsd" / "Gating-ML.v2.0.xsd"))
    assert not schema.is_valid(str(DATA / "gml" / "gml_range_gate_attr_testing.xml"))
    assert schema.is_valid(str(ALL_GATES))
