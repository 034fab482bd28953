"""Gating-ML reader: unsafe XML refused, invalid documents refused with the element and the
reason, lenient vs strict policy (STANDARDS C.8), namespace prefixes irrelevant."""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from bcsc_flow import gatingml
from bcsc_flow.errors import GatingMLError, GatingWarning
from bcsc_flow.gates import Not, Quadrant, Range
from bcsc_flow.sample import Sample

NS = (
    'xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating" '
    'xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations" '
    'xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes"'
)


def doc(body: str, ns: str = NS) -> bytes:
    return f'<?xml version="1.0"?>\n<gating:Gating-ML {ns}>{body}</gating:Gating-ML>'.encode()


def dim(name: str, comp: str = "uncompensated", extra: str = "") -> str:
    return (
        f'<gating:dimension gating:compensation-ref="{comp}" {extra}>'
        f'<data-type:fcs-dimension data-type:name="{name}"/></gating:dimension>'
    )


FSC_MIN_1 = dim("FSC-H", extra='gating:min="1"')
RANGE1 = (
    '<gating:RectangleGate gating:id="R1">'
    + dim("FSC-H", extra='gating:min="100"')
    + "</gating:RectangleGate>"
)


# ----------------------------------------------------------------------------- unsafe XML
def test_external_entity_to_local_file_is_refused_without_reading_it(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    evil = (
        f'<?xml version="1.0"?><!DOCTYPE g [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f'<gating:Gating-ML {NS}><gating:RectangleGate gating:id="&xxe;">'
        + FSC_MIN_1
        + "</gating:RectangleGate></gating:Gating-ML>"
    ).encode()
    with pytest.raises(GatingMLError, match="unsafe XML") as info:
        gatingml.read(evil)
    assert "TOPSECRET" not in str(info.value)


def test_billion_laughs_is_refused_quickly_and_without_memory_blowup():
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{lol}]>'
        f'<gating:Gating-ML {NS}><gating:RectangleGate gating:id="x">&lol9;</gating:RectangleGate></gating:Gating-ML>'
    ).encode()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(GatingMLError, match="unsafe XML"):
            gatingml.read(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 5.0
    assert peak < 20_000_000  # 10^9 'lol's would need gigabytes


def test_malformed_xml_and_wrong_root_are_refused():
    with pytest.raises(GatingMLError, match="not well-formed"):
        gatingml.read(b"<gating:Gating-ML")
    with pytest.raises(GatingMLError, match="root element"):
        gatingml.read(b'<Gating-ML xmlns="urn:other"/>')
    with pytest.raises(GatingMLError, match="cannot read"):
        gatingml.read(Path("/nonexistent/gates.xml"))


# ----------------------------------------------------------------------------- structure
def test_namespace_prefixes_do_not_matter():
    other = (
        'xmlns:g="http://www.isac-net.org/std/Gating-ML/v2.0/gating" '
        'xmlns:dt="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes"'
    )
    text = (
        f'<?xml version="1.0"?><g:Gating-ML {other}><g:RectangleGate g:id="R1">'
        '<g:dimension g:compensation-ref="uncompensated" g:min="100">'
        '<dt:fcs-dimension dt:name="FSC-H"/></g:dimension></g:RectangleGate></g:Gating-ML>'
    ).encode()
    assert (
        gatingml.read(text)["R1"].gate
        == gatingml.read(doc(RANGE1))["R1"].gate
        == Range("FSC-H", 100)
    )
    default_ns = text.replace(b"g:", b"").replace(b'xmlns:g="', b'xmlns="')
    with pytest.warns(GatingWarning, match="no namespace prefix"):  # unprefixed attributes
        assert gatingml.read(default_ns)["R1"].gate == Range("FSC-H", 100)


def test_forward_references_quadrant_parents_and_complements():
    body = (
        '<gating:BooleanGate gating:id="B"><gating:and>'
        '<gating:gateReference gating:ref="Q-hi"/>'
        '<gating:gateReference gating:ref="R1" gating:use-as-complement="1"/>'
        "</gating:and></gating:BooleanGate>"
        '<gating:RectangleGate gating:id="child" gating:parent_id="Q-hi">'
        + dim("SSC-H", extra='gating:max="5"')
        + "</gating:RectangleGate>"
        '<gating:QuadrantGate gating:id="Q"><gating:divider gating:id="d" gating:compensation-ref="FCS">'
        '<data-type:fcs-dimension data-type:name="FSC-H"/><gating:value>50</gating:value></gating:divider>'
        '<gating:Quadrant gating:id="Q-lo"><gating:position gating:divider_ref="d" gating:location="0"/></gating:Quadrant>'
        '<gating:Quadrant gating:id="Q-hi"><gating:position gating:divider_ref="d" gating:location="50"/></gating:Quadrant>'
        "</gating:QuadrantGate>" + RANGE1
    )
    st = gatingml.read(doc(body))
    assert isinstance(st["Q"].gate, Quadrant)
    assert st.parent("child") == "Q-hi"
    assert st["B"].gate.operands == ("Q-hi", Not("R1"))
    s = Sample.from_array(
        np.array([[40.0, 1.0], [50.0, 1.0], [120.0, 9.0], [60.0, 4.0]]), ["FSC-H", "SSC-H"]
    )
    res = st.apply(s)
    assert res.mask("Q-hi").tolist() == [False, True, True, True]
    assert res.mask("B").tolist() == [False, True, False, True]
    assert res.mask("child").tolist() == [False, True, False, True]


def error_for(body: str, **kw) -> str:
    with pytest.raises(GatingMLError) as info:
        gatingml.read(doc(body), **kw)
    return str(info.value)


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        (RANGE1 + RANGE1, r"id 'R1' is also used"),
        (
            '<gating:RectangleGate gating:id="C" gating:parent_id="R11">'
            + FSC_MIN_1
            + "</gating:RectangleGate>"
            + RANGE1,
            r"<RectangleGate id='C'>: parent_id 'R11' refers to no gate\. Did you mean 'R1'",
        ),
        (
            '<gating:RectangleGate gating:id="A" gating:parent_id="B">'
            + FSC_MIN_1
            + "</gating:RectangleGate>"
            + '<gating:RectangleGate gating:id="B" gating:parent_id="A">'
            + FSC_MIN_1
            + "</gating:RectangleGate>",
            "cycle",
        ),
        (
            '<gating:PolygonGate gating:id="P">'
            + dim("A")
            + dim("B")
            + '<gating:vertex><gating:coordinate data-type:value="1"/>'
            '<gating:coordinate data-type:value="1"/></gating:vertex></gating:PolygonGate>',
            r"<PolygonGate id='P'>: .*at least 3 vertices",
        ),
        (
            '<gating:PolygonGate gating:id="P">'
            + dim("A")
            + dim("B")
            + '<gating:vertex><gating:coordinate data-type:value="1"/>'
            "</gating:vertex></gating:PolygonGate>",
            r"each vertex needs 2 coordinates",
        ),
        (
            '<gating:EllipsoidGate gating:id="E">'
            + dim("A")
            + dim("B")
            + '<gating:mean><gating:coordinate data-type:value="0"/>'
            '<gating:coordinate data-type:value="0"/></gating:mean><gating:covarianceMatrix>'
            '<gating:row><gating:entry data-type:value="1"/><gating:entry data-type:value="2"/></gating:row>'
            '<gating:row><gating:entry data-type:value="2"/><gating:entry data-type:value="4"/></gating:row>'
            '</gating:covarianceMatrix><gating:distanceSquare data-type:value="1"/></gating:EllipsoidGate>',
            r"<EllipsoidGate id='E'>: .*singular",
        ),
        (
            '<transforms:transformation transforms:id="L"><transforms:logicle transforms:T="1000" '
            'transforms:W="3" transforms:M="4" transforms:A="0"/></transforms:transformation>',
            r"<transformation id='L'>: invalid logicle parameters",
        ),
        (
            '<gating:RectangleGate gating:id="R">'
            + dim("A", extra='gating:transformation-ref="nope" gating:min="0"')
            + "</gating:RectangleGate>",
            r"unknown transformation-ref 'nope'",
        ),
        (
            '<gating:QuadrantGate gating:id="Q"><gating:divider gating:id="d" gating:compensation-ref="FCS">'
            '<data-type:fcs-dimension data-type:name="A"/><gating:value>5</gating:value></gating:divider>'
            '<gating:Quadrant gating:id="Qa"><gating:position gating:divider_ref="d" gating:location="0"/></gating:Quadrant>'
            '</gating:QuadrantGate><gating:BooleanGate gating:id="N"><gating:not><gating:gateReference gating:ref="Q"/>'
            "</gating:not></gating:BooleanGate>",
            r"names a QuadrantGate",
        ),
        (
            '<gating:BooleanGate gating:id="N"><gating:and><gating:gateReference gating:ref="R1"/></gating:and>'
            "</gating:BooleanGate>" + RANGE1,
            r"<and> needs at least two operands",
        ),
        (
            '<gating:RectangleGate gating:id="R">'
            + dim("A", extra='gating:min="5" gating:max="1"')
            + "</gating:RectangleGate>",
            r"<RectangleGate id='R'>: .*min 5 must be below max 1",
        ),
        ('<gating:Rectangle gating:id="R"/>', r"unexpected element <Rectangle>"),
    ],
)
def test_invalid_documents_name_element_and_reason(body: str, pattern: str):
    assert re.search(pattern, error_for(body)), error_for(body)


# ----------------------------------------------------------------------------- lenient / strict
LENIENT_CASES = [
    # unprefixed attributes
    (
        '<gating:RectangleGate id="R1"><gating:dimension gating:compensation-ref="uncompensated" min="100">'
        '<data-type:fcs-dimension data-type:name="FSC-H"/></gating:dimension></gating:RectangleGate>',
        "has no namespace prefix",
    ),
    # missing compensation-ref
    (
        '<gating:RectangleGate gating:id="R1"><gating:dimension gating:min="100">'
        '<data-type:fcs-dimension data-type:name="FSC-H"/></gating:dimension></gating:RectangleGate>',
        "no compensation-ref",
    ),
    # unknown foreign element
    (RANGE1 + '<other xmlns="urn:x"><stuff/></other>', "unknown element <other>"),
    # id that is not an NCName
    (RANGE1.replace('"R1"', '"R 1"'), "not an XML NCName"),
]


@pytest.mark.parametrize(("body", "message"), LENIENT_CASES)
def test_lenient_warns_and_strict_refuses(body: str, message: str):
    with pytest.warns(GatingWarning, match=message):
        st = gatingml.read(doc(body))
    assert len(st) == 1
    s = Sample.from_array(np.array([[99.0], [100.0]]), ["FSC-H"])
    assert st.apply(s).mask(st.names[0]).tolist() == [False, True]
    with pytest.raises(GatingMLError, match="strict mode"):
        gatingml.read(doc(body), strict=True)


def test_fratio_dimensions_as_siblings_are_lenient():
    body = (
        '<transforms:transformation transforms:id="rat"><transforms:fratio transforms:A="1" transforms:B="0" '
        'transforms:C="0"/><data-type:fcs-dimension data-type:name="A"/>'
        '<data-type:fcs-dimension data-type:name="B"/></transforms:transformation>'
        '<gating:RectangleGate gating:id="R"><gating:dimension gating:compensation-ref="uncompensated" '
        'gating:min="1"><data-type:new-dimension data-type:transformation-ref="rat"/></gating:dimension>'
        "</gating:RectangleGate>"
    )
    with pytest.warns(GatingWarning, match="siblings"):
        st = gatingml.read(doc(body))
    s = Sample.from_array(np.array([[2.0, 1.0], [1.0, 2.0]]), ["A", "B"])
    assert st.apply(s).mask("R").tolist() == [True, False]
    with pytest.raises(GatingMLError, match="strict mode"):
        gatingml.read(doc(body), strict=True)


def test_non_square_spectrum_matrix_unmixes_with_the_pseudo_inverse():
    spectrum = [[1.0, 0.5, 0.1], [0.2, 1.0, 0.6]]
    rows = "".join(
        "<transforms:spectrum>"
        + "".join(f'<transforms:coefficient transforms:value="{v}"/>' for v in row)
        + "</transforms:spectrum>"
        for row in spectrum
    )
    body = (
        '<transforms:spectrumMatrix transforms:id="Spectral"><transforms:fluorochromes>'
        '<data-type:fcs-dimension data-type:name="FITC"/><data-type:fcs-dimension data-type:name="PE"/>'
        "</transforms:fluorochromes><transforms:detectors>"
        + "".join(f'<data-type:fcs-dimension data-type:name="D{i}"/>' for i in range(3))
        + "</transforms:detectors>"
        + rows
        + "</transforms:spectrumMatrix>"
        '<gating:RectangleGate gating:id="PEpos">'
        + dim("PE", comp="Spectral", extra='gating:min="50"')
        + "</gating:RectangleGate>"
    )
    st = gatingml.read(doc(body))
    detectors = np.random.default_rng(2).uniform(0, 200, size=(300, 3))
    s = Sample.from_array(detectors, ["D0", "D1", "D2"])
    unmixed = detectors @ np.linalg.pinv(np.array(spectrum))  # least squares, computed here
    clear = np.abs(unmixed[:, 1] - 50) > 1e-9  # leave rounding ties to the implementation
    assert np.array_equal(st.apply(s).mask("PEpos")[clear], (unmixed[:, 1] >= 50)[clear])
    assert 0 < st.apply(s).count("PEpos") < 300
