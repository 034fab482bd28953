"""TEXT segment tokenising (STANDARDS A.3): delimiters, escapes, empty values, encodings."""

from __future__ import annotations

import numpy as np
import pytest
from fcs_bytes import build, params, text_segment
from test_fcs_read import load

from bcsc_flow.errors import FCSFormatError
from bcsc_flow.io._fcs_text import Issues, tokenize_text

DELIMITERS = [b"/", b"\\", b"|", b"\x0c", b"\x1e", b"\r", b"\t"]


def tok(segment: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    issues = Issues("t.fcs")
    return tokenize_text(segment, issues), issues.messages


@pytest.mark.parametrize("d", DELIMITERS, ids=repr)
def test_each_delimiter_with_escapes(d):
    seg = text_segment([("$COM", b"a" + d + b"b"), ("K2", b"x" + d + d + b"y"), ("K3", "v")], d)
    pairs, msgs = tok(seg)
    assert pairs == [
        ("$COM", ("a" + d.decode() + "b")),
        ("K2", "x" + d.decode() * 2 + "y"),
        ("K3", "v"),
    ]
    assert msgs == []


@pytest.mark.parametrize("d", DELIMITERS, ids=repr)
def test_each_delimiter_in_a_whole_file(tmp_path, d):
    p = [
        ("$TOT", "2"),
        *params("F", [32, 32]),
        ("$P1S", b"side" + d + b"scatter"),
        ("$COM", " padded "),
    ]
    s, msgs = load(tmp_path, build(p, np.arange(4, dtype="<f4").tobytes(), delim=d))
    assert msgs == []
    assert s.markers[0] == "side" + d.decode() + "scatter"
    assert s.keywords["$COM"] == " padded "
    assert s.events.tolist() == [[0, 1], [2, 3]]


def test_runs_of_delimiters():
    # `a//b` one literal; `a////b` two literals (Miltenyi double escape); `a///b` literal + separator
    pairs, msgs = tok(b"/K1/a//b/K2/525////50 nm/")
    assert pairs == [("K1", "a/b"), ("K2", "525//50 nm")] and msgs == []
    pairs, msgs = tok(b"/K1/a///K2/v/")
    assert pairs == [("K1", "a/"), ("K2", "v")] and msgs == []


def test_empty_final_value_like_data1():
    pairs, msgs = tok(b"\\A\\1\\&13Analysis Doc.\\\\")
    assert pairs == [("A", "1"), ("&13Analysis Doc.", "")]
    assert msgs == []


def test_empty_middle_values_are_repaired_with_one_warning():
    pairs, msgs = tok(b"/K1//K2/v/K3//K4//K5/w/")
    assert pairs == [("K1", ""), ("K2", "v"), ("K3", ""), ("K4", ""), ("K5", "w")]
    assert len(msgs) == 1 and "empty values" in msgs[0]


def test_escaped_delimiter_in_a_value_is_not_an_empty_value():
    pairs, msgs = tok(b"/$P8S/GFP//FITC-A/$P8F/525////50 nm/")
    assert pairs == [("$P8S", "GFP/FITC-A"), ("$P8F", "525//50 nm")] and msgs == []


def test_missing_final_delimiter_keeps_the_value_with_a_warning():
    pairs, msgs = tok(b"\x0cK1\x0cv1\x0cGROUPNAME\x0c20200722")
    assert pairs == [("K1", "v1"), ("GROUPNAME", "20200722")]
    assert len(msgs) == 1 and "does not end with its delimiter" in msgs[0]


@pytest.mark.parametrize("pad", [b" ", b" " * 40, b"\x00\x00", b"\r\n"])
def test_trailing_padding_after_the_last_delimiter(pad):
    pairs, msgs = tok(b"/K1/v1/K2/v2/" + pad)
    assert pairs == [("K1", "v1"), ("K2", "v2")] and msgs == []


def test_padding_is_not_stripped_when_it_is_the_delimiter():
    pairs, msgs = tok(b"\rK1\rv1\rK2\r  v2 \r")
    assert pairs == [("K1", "v1"), ("K2", "  v2 ")] and msgs == []


def test_odd_token_count_drops_the_dangling_key():
    pairs, msgs = tok(b"/K1/v1/K2/")
    assert pairs == [("K1", "v1")]
    assert len(msgs) == 1 and "K2" in msgs[0]


def test_invalid_utf8_falls_back_to_latin1_per_value_without_losing_bytes():
    pairs, msgs = tok(
        "/CREATOR/CellQuest Pro\xaa 5.2/$P1S/CD3 µ/".encode("latin-1").replace(
            b"\xb5", "µ".encode()
        )
    )
    assert pairs == [("CREATOR", "CellQuest Pro\xaa 5.2"), ("$P1S", "CD3 µ")]
    assert len(msgs) == 1 and "CREATOR" in msgs[0]


def test_keys_with_inner_dollar_and_padded_numbers_are_kept_raw():
    pairs, msgs = tok(b"/FJ$ACQSTATE/x/GTI$BEGINLOG/   84823/$TOT/83411              /")
    assert pairs == [
        ("FJ$ACQSTATE", "x"),
        ("GTI$BEGINLOG", "   84823"),
        ("$TOT", "83411              "),
    ]
    assert msgs == []


def test_supplemental_text_without_leading_delimiter():
    issues = Issues("t.fcs")
    assert tokenize_text(b"SORTSTATS|a|K|b|", issues, leading_delimiter=b"|") == [
        ("SORTSTATS", "a"),
        ("K", "b"),
    ]
    assert tokenize_text(b"|SORTSTATS|a|", issues, leading_delimiter=b"|") == [("SORTSTATS", "a")]


def test_empty_text_is_an_error():
    with pytest.raises(FCSFormatError, match=r"t\.fcs"):
        tok(b"")


def test_duplicate_keys_first_wins_in_a_file(tmp_path):
    p = [("$TOT", "1"), *params("F", [32]), ("$VOL", "10"), ("$vol", "12"), ("$P1N", "other")]
    s, msgs = load(tmp_path, build(p, bytes(4)))
    assert s.keywords["$VOL"] == "10" and s.names == ("P1",)
    assert any("$vol" in m and "values differ" in m for m in msgs)


def test_supplemental_text_adds_keywords_primary_wins(tmp_path):
    stext = b"/EXTRA/yes/$TOT/99/"
    p = [
        ("$TOT", "1"),
        *params("F", [32]),
        ("$BEGINSTEXT", "0000000000"),
        ("$ENDSTEXT", "0000000000"),
    ]
    blob = build(p, bytes(4), trailer=stext)
    begin = len(blob) - len(stext)
    blob = blob.replace(b"$BEGINSTEXT/0000000000", f"$BEGINSTEXT/{begin:010d}".encode())
    blob = blob.replace(b"$ENDSTEXT/0000000000", f"$ENDSTEXT/{len(blob) - 1:010d}".encode())
    s, msgs = load(tmp_path, blob)
    assert s.keywords["EXTRA"] == "yes" and s.keywords["$TOT"] == "1" and msgs == []


def test_supplemental_zip_is_skipped(tmp_path):
    p = [
        ("$TOT", "1"),
        *params("F", [32]),
        ("$BEGINSTEXT", "0000000000"),
        ("$ENDSTEXT", "0000000000"),
    ]
    zipped = b"PK\x03\x04/zip/data/"
    blob = build(p, bytes(4), trailer=zipped)
    blob = blob.replace(
        b"$BEGINSTEXT/0000000000", f"$BEGINSTEXT/{len(blob) - len(zipped):010d}".encode()
    )
    blob = blob.replace(b"$ENDSTEXT/0000000000", f"$ENDSTEXT/{len(blob) - 1:010d}".encode())
    s, msgs = load(tmp_path, blob)
    assert "ZIP" not in s.keywords and msgs == []
