"""Interoperability with FlowKit (the oracle, run in its own interpreter via subprocess).

* FlowKit reads the Gating-ML we write and its memberships on ``data1.fcs`` equal ours.
* We read the Gating-ML FlowKit writes (from the ISAC all-gates file) and our memberships
  equal FlowKit's.

Needs ``BCSC_ORACLE_PYTHON`` (CI sets it; locally ``/tmp/oracle/bin/python``).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from bcsc_flow import gatingml
from bcsc_flow.compensation import Spillover
from bcsc_flow.errors import FCSWarning
from bcsc_flow.gates import (
    Dimension,
    Ellipse,
    Polygon,
    Quadrant,
    Range,
    RatioDimension,
    Rectangle,
    Threshold,
)
from bcsc_flow.gatingml_parts import ALIAS_ELEMENT, DATATYPE, GATING, NAME_ELEMENT, qname
from bcsc_flow.io.fcs import read_fcs
from bcsc_flow.strategy import GatingStrategy, Population
from bcsc_flow.transforms import Asinh, Hyperlog, Linear, Log, Logicle, Ratio

ORACLE = os.environ.get("BCSC_ORACLE_PYTHON")
pytestmark = pytest.mark.skipif(not ORACLE, reason="BCSC_ORACLE_PYTHON is not set (FlowKit oracle)")
DATA = Path(__file__).parent / "data" / "gatingml2"

ORACLE_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import flowkit as fk

    xml_in, fcs, npz_out = sys.argv[1:4]
    xml_out = sys.argv[4] if len(sys.argv) > 4 else None
    strategy = fk.parse_gating_xml(xml_in)
    result = strategy.gate_sample(fk.Sample(fcs))
    masks = {}
    for gate_id, path in strategy.get_gate_ids():
        try:
            if type(strategy.get_gate(gate_id, gate_path=path)).__name__ == "QuadrantGate":
                continue  # a container; its quadrants are listed on their own
        except fk.exceptions.QuadrantReferenceError:
            pass  # a quadrant id: FlowKit gives its membership below
        masks[gate_id] = np.asarray(result.get_gate_membership(gate_id, gate_path=path), dtype=bool)
    np.savez(npz_out, **masks)
    if xml_out:
        with open(xml_out, "wb") as handle:
            fk.export_gatingml(strategy, handle)
    """
)


def run_oracle(tmp_path: Path, xml: Path, export: Path | None = None) -> dict[str, np.ndarray]:
    script = tmp_path / "oracle.py"
    script.write_text(ORACLE_SCRIPT, encoding="utf-8")
    npz = tmp_path / "masks.npz"
    args = [str(ORACLE), str(script), str(xml), str(DATA / "data1.fcs"), str(npz)]
    if export is not None:
        args.append(str(export))
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(npz) as loaded:
        return {k: loaded[k] for k in loaded.files}


def data1():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FCSWarning)
        return read_fcs(DATA / "data1.fcs")


def ids_to_names(xml_text: str) -> dict[str, str]:
    """Gating-ML id -> our population name, from the custom_info our writer leaves."""
    root = gatingml.parse_xml(xml_text.encode())
    out: dict[str, str] = {}
    for el in root:
        ident = el.get(qname(GATING, "id"))
        if ident is None:
            continue
        marker = next(
            (
                m
                for info in el.findall(qname(DATATYPE, "custom_info"))
                for m in info.iter(NAME_ELEMENT)
            ),
            None,
        )
        out[ident] = marker.get("name") if marker is not None else ident
        if marker is not None:
            for alias in marker.iter(ALIAS_ELEMENT):
                out[alias.get("id")] = alias.get("name")
        for quadrant in el.findall(qname(GATING, "Quadrant")):
            qid = quadrant.get(qname(GATING, "id"))
            out.setdefault(qid, qid)
    return out


def bcsc_like_strategy() -> GatingStrategy:
    logicle = Logicle(10000.0, 0.5, 4.5, 0.0)
    spill = Spillover(
        ("FL1-H", "FL2-H", "FL3-H"),
        np.array([[1.0, 0.02, 0.06], [0.11, 1.0, 0.07], [0.09, 0.01, 1.0]]),
        ("FITC", "PE", "PerCP"),
        name="panel matrix",
    )
    return GatingStrategy(
        [
            Population(
                "cells",
                Polygon(("FSC-H", "SSC-H"), [(20, 5), (250, 5), (250, 150), (60, 120), (20, 40)]),
            ),
            Population(
                "CD44+/CD24-low",
                Rectangle(
                    (
                        Dimension("FITC", logicle, "panel matrix"),
                        Dimension("PE", logicle, "panel matrix"),
                    ),
                    (0.25, None),
                    (None, 0.55),
                ),
                parent="cells",
            ),
            Population(
                "HER2+",
                Threshold(Dimension("PerCP", Asinh(10000.0, 4.0, 1.0), "panel matrix"), above=0.3),
                "CD44+/CD24-low",
            ),
            Population(
                "ALDH",
                Range(Dimension("FL4-H", Hyperlog(10000.0, 1.0, 4.5, 0.0)), 0.2, 0.6),
                "cells",
            ),
            Population("lin", Range(Dimension("FL1-H", Linear(10000.0, 500.0)), max=0.06)),
            Population("log", Range(Dimension("FL3-H", Log(10000.0, 5.0)), 0.31, 0.69)),
            Population(
                "ratio",
                Range(
                    RatioDimension(
                        "FL2-H", "FL2-A", Ratio(1.0, 0.0, -1.0), Log(100.0, 2.0), name="FL2 ratio"
                    ),
                    0.4,
                    0.66,
                ),
            ),
            Population(
                "ell", Ellipse(("FL3-H", "FL4-H"), (12.0, 16.0), ((62.5, 37.5), (37.5, 62.5)), 1.0)
            ),
            Population(
                "quad",
                Quadrant.cross("FL2-H", 12.0, "FL4-H", 8.0, names=["Q--", "Q+-", "Q-+", "Q++"]),
                "cells",
            ),
            Population("Q++ small", Range("FSC-H", 20, 80), parent="Q++"),
            Population("boolean", ("HER2+" & ~Threshold("FL1-H", above=5.0)) | "Q-+"),
            Population("not ell", ~Range("Time", 20, 80) & "ell"),
        ],
        {"panel matrix": spill},
    )


def test_flowkit_reads_our_export_and_agrees(tmp_path: Path):
    strategy = bcsc_like_strategy()
    xml = gatingml.write(strategy, tmp_path / "ours.xml")
    names = ids_to_names(xml.read_text(encoding="utf-8"))
    theirs = run_oracle(tmp_path, xml)
    ours = strategy.apply(data1())
    compared = 0
    for gate_id, mask in theirs.items():
        name = names[gate_id]
        if name not in ours.names:  # an operand gate our writer added
            continue
        assert np.array_equal(ours.mask(name), mask), (
            f"{name}: {np.count_nonzero(ours.mask(name) != mask)} differ"
        )
        compared += 1
    assert compared == len(ours.names) == 15
    assert sum(int(m.sum()) > 0 for m in theirs.values()) >= 12  # the gates select events


def test_we_read_flowkit_export_and_agree(tmp_path: Path):
    exported = tmp_path / "flowkit.xml"
    theirs = run_oracle(tmp_path, DATA / "gml" / "gml_all_gates.xml", export=exported)
    strategy = gatingml.read(exported)
    ours = strategy.apply(data1())
    assert len(theirs) >= 49
    for gate_id, mask in theirs.items():
        assert np.array_equal(ours.mask(gate_id), mask), gate_id
