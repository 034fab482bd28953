"""Reading FCS files: data1.fcs scale values, DATA layouts, HEADER quirks, data set chains.

Synthetic files come from ``fcs_bytes`` (an independent byte builder); expected values are
computed here with numpy from the numbers the test put in.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from fcs_bytes import build, params

from bcsc_flow.errors import (
    FCSWarning,
)
from bcsc_flow.io.fcs import read_fcs, read_fcs_datasets

DATA = Path(__file__).parent / "data" / "fcs"


def load(tmp_path: Path, blob: bytes, *, name: str = "t.fcs", every: bool = False, **kw):
    """Write ``blob`` and read it; return (result, warning messages)."""
    path = tmp_path / name
    path.write_bytes(blob)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = read_fcs_datasets(path, **kw) if every else read_fcs(path, **kw)
    for w in caught:
        assert issubclass(w.category, FCSWarning), w
    return result, [str(w.message) for w in caught]


def int_file(
    values: np.ndarray, bits: list[int], *, byteord: str = "1,2,3,4", ranges=None, **kw
) -> bytes:
    """A file of unsigned integers, each column stored with its own byte width and order."""
    big = byteord.startswith(("4", "2,1")) or byteord == "2,1"
    cols = []
    for j, b in enumerate(bits):
        nb = (b + 7) // 8
        col = [int(v).to_bytes(nb, "big" if big else "little") for v in values[:, j]]
        cols.append(col)
    data = b"".join(b"".join(c[i] for c in cols) for i in range(values.shape[0]))
    pairs = [("$TOT", str(values.shape[0])), *params("I", bits, ranges=ranges, byteord=byteord)]
    return build(pairs, data, **kw)


# ----------------------------------------------------------------- data1.fcs (Gating-ML)
def test_data1_scale_values_follow_the_gatingml_formulas():
    with pytest.warns(FCSWarning):
        s = read_fcs(DATA / "data1.fcs")
    assert s.names == ("FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL2-A", "FL4-H", "Time")
    assert len(s) == 13367
    x = np.asarray(s.raw, dtype=np.float64)
    assert x.max() <= 1023  # $PnR 1024: 10 data bits
    expected = np.column_stack(
        [
            x[:, 0] / 3.67,
            x[:, 1] / 8,
            10 ** (4 * x[:, 2] / 1024),
            10 ** (4 * x[:, 3] / 1024),
            10 ** (4 * x[:, 4] / 1024),
            x[:, 5],
            10 ** (4 * x[:, 6] / 1024),
            x[:, 7],
        ]
    )
    assert s.events.dtype == np.float64
    np.testing.assert_array_equal(s.events, expected)
    assert s.spillover is None
    assert s.keywords["&13Analysis Doc."] == ""
    assert s.keywords["CREATOR"] == "CELLQuest\xaa 3.3"
    assert s.events.flags.writeable is False


def test_data1_raw_values_match_an_independent_struct_decode():
    blob = (DATA / "data1.fcs").read_bytes()
    begin, end = int(blob[26:34]), int(blob[34:42])
    stored = np.frombuffer(blob[begin : end + 1], dtype=">u2").reshape(-1, 8) & 0x3FF
    with pytest.warns(FCSWarning):
        s = read_fcs(DATA / "data1.fcs")
    np.testing.assert_array_equal(s.raw, stored)


# ----------------------------------------------------------------- integer layouts
@pytest.mark.parametrize("bits", [8, 16, 24, 32, 64])
@pytest.mark.parametrize("byteord", ["1,2,3,4", "4,3,2,1"])
def test_integer_widths_in_both_byte_orders(tmp_path, bits, byteord):
    rng = np.random.default_rng(bits)
    top = 2**bits - 1
    values = rng.integers(0, top, size=(50, 3), dtype=np.uint64, endpoint=True)
    values[0] = [0, top, 1]
    ranges = [2**bits] * 3 if bits < 64 else [2**64] * 3
    s, msgs = load(tmp_path, int_file(values, [bits] * 3, byteord=byteord, ranges=ranges))
    assert msgs == []
    np.testing.assert_array_equal(np.asarray(s.raw, dtype=np.uint64), values)
    assert s.events.dtype == np.float64


@pytest.mark.parametrize("byteord", ["1,2", "2,1"])
def test_two_byte_orders_for_16_bit(tmp_path, byteord):
    values = np.array([[1, 258], [65535, 0]], dtype=np.uint64)
    s, msgs = load(tmp_path, int_file(values, [16, 16], byteord=byteord, version="FCS3.0"))
    assert msgs == []
    np.testing.assert_array_equal(s.raw, values)


def test_mixed_integer_widths(tmp_path):
    values = np.array([[65535, 4294967295, 255], [1, 65536, 7], [300, 2, 0]], dtype=np.uint64)
    s, _ = load(tmp_path, int_file(values, [16, 32, 8], version="FCS3.0"))
    np.testing.assert_array_equal(s.raw, values)


def test_mask_follows_pnr(tmp_path):
    stored = np.array([[0x4210, 0xFFFF, 0xFFFFFFFF, 0xFFFF]], dtype=np.uint64)
    ranges = [1024, 30000, 4294967296, 65536]
    s, msgs = load(tmp_path, int_file(stored, [16, 16, 32, 16], ranges=ranges, version="FCS3.0"))
    assert msgs == []
    assert s.raw.tolist() == [[528, 0x7FFF, 0xFFFFFFFF, 0xFFFF]]


def test_ten_bit_values_stored_in_16_bit_words(tmp_path):
    values = np.array([[0x0FFF, 5], [1023, 1024]], dtype=np.uint64)
    blob = int_file(values, [16, 16], ranges=[1024, 1024], version="FCS2.0", byteord="1,2")
    blob = blob.replace(b"/$P1B/16/", b"/$P1B/10/").replace(b"/$P2B/16/", b"/$P2B/10/")
    s, msgs = load(tmp_path, blob)
    assert s.raw.tolist() == [[1023, 5], [1023, 0]]
    assert any("not whole bytes" in m for m in msgs)


def test_bit_packed_ten_bit_values(tmp_path):
    values = [1023, 0, 512, 7]  # two events x two 10-bit parameters, packed MSB first
    bits = "".join(f"{v:010b}" for v in values)
    data = int(bits, 2).to_bytes(5, "big")
    pairs = [("$TOT", "2"), *params("I", [10, 10], ranges=[1024, 1024])]
    s, msgs = load(tmp_path, build(pairs, data, version="FCS3.0"))
    assert s.raw.tolist() == [[1023, 0], [512, 7]]
    assert any("bit-packed" in m for m in msgs)


def test_permuted_byte_order_3412(tmp_path):
    value = 0x11223344
    stored = bytes([0x22, 0x11, 0x44, 0x33])  # byte i has significance 3,4,1,2
    pairs = [("$TOT", "1"), *params("I", [32], ranges=[2**32], byteord="3,4,1,2")]
    s, msgs = load(tmp_path, build(pairs, stored, version="FCS3.0"))
    assert s.raw.tolist() == [[value]]
    assert msgs == []


def test_permuted_order_is_flagged_in_31(tmp_path):
    pairs = [("$TOT", "1"), *params("I", [32], ranges=[2**32], byteord="3,4,1,2")]
    s, msgs = load(tmp_path, build(pairs, bytes([0x22, 0x11, 0x44, 0x33])))
    assert s.raw.tolist() == [[0x11223344]]
    assert any("BYTEORD" in m for m in msgs)


# ----------------------------------------------------------------- float, ascii, mixed
@pytest.mark.parametrize("kind,dtype", [("F", "f4"), ("D", "f8")])
@pytest.mark.parametrize("byteord,end", [("1,2,3,4", "<"), ("4,3,2,1", ">")])
def test_float_and_double_both_orders(tmp_path, kind, dtype, byteord, end):
    values = np.array([[1.5, -2.25, 1e30], [np.pi, 0.0, -1e-30]], dtype=dtype)
    bits = 32 if kind == "F" else 64
    pairs = [("$TOT", "2"), *params(kind, [bits] * 3, byteord=byteord)]
    s, msgs = load(tmp_path, build(pairs, values.astype(end + dtype).tobytes()))
    assert msgs == []
    assert s.events.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(s.events, values)
    assert np.shares_memory(s.events, s.raw)  # nothing to convert: no copy


def test_ascii_fixed_width(tmp_path):
    pairs = [("$TOT", "2"), *params("A", [4, 3])]
    s, msgs = load(tmp_path, build(pairs, b"  127.5   13.0", version="FCS3.0"))
    assert s.events.tolist() == [[12.0, 7.5], [1.0, 3.0]] and msgs == []


def test_ascii_free_format(tmp_path):
    pairs = [("$TOT", "3"), ("$PAR", "2"), ("$DATATYPE", "A"), ("$P1B", "*"), ("$P2B", "*")]
    pairs += [("$P1N", "a"), ("$P2N", "b"), ("$P1R", "100"), ("$P2R", "100")]
    s, _ = load(tmp_path, build(pairs, b"1 2,3\r\n4\t\t5 6 ", version="FCS3.0"))
    assert s.events.tolist() == [[1, 2], [3, 4], [5, 6]]


def test_pndatatype_mixes_integer_float_double(tmp_path):
    pairs = [("$TOT", "2"), *params("F", [32, 16, 64], ranges=[100, 1024, 100])]
    pairs += [("$P2DATATYPE", "I"), ("$P3DATATYPE", "D")]
    rows = [(1.5, 0x4401, 2.5e100), (-3.0, 7, -1.0)]
    data = b"".join(
        np.float32(a).tobytes() + np.uint16(b).tobytes() + np.float64(c).tobytes()
        for a, b, c in rows
    )
    s, _ = load(tmp_path, build(pairs, data, version="FCS3.2"))
    assert s.events.tolist() == [[1.5, 0x0001, 2.5e100], [-3.0, 7, -1.0]]


# ----------------------------------------------------------------- scale values
def test_log_gain_and_time_conversions(tmp_path):
    values = np.array([[512, 100, 256, 40, 9]], dtype=np.uint64)
    pairs = [
        ("$TOT", "1"),
        *params("I", [16] * 5, ranges=[1024] * 5, names=["L", "G", "Z", "T", "Time"]),
    ]
    pairs = [(k, v) for k, v in pairs if not (k.startswith("$P") and k.endswith("E"))]
    pairs += [("$P1E", "2,10"), ("$P2E", "0,0"), ("$P2G", "4"), ("$P3E", "4,0")]
    pairs += [("$P4E", "0,0"), ("$P5E", "0,0"), ("$P5G", "0.01"), ("$TIMESTEP", "0.01")]
    data = values.astype("<u2").tobytes()
    s, msgs = load(tmp_path, build(pairs, data))
    assert s.events.tolist() == [
        [10 * 10 ** (2 * 512 / 1024), 25.0, 10 ** (4 * 256 / 1024), 40.0, 9.0]
    ]
    assert msgs == ["$PnE f1,0 read as f1,1 (3.1 rule) for Z"] or any("f1,0" in m for m in msgs)


def test_log_amplification_on_float_data_is_ignored(tmp_path):
    pairs = [("$TOT", "1"), *params("F", [32, 32])]
    pairs = [(k, "4,1" if k == "$P2E" else v) for k, v in pairs]
    s, msgs = load(
        tmp_path, build(pairs, np.array([2.0, 2.683], "<f4").tobytes(), version="FCS3.0")
    )
    assert s.events.tolist() == np.array([[2.0, 2.683]], dtype=np.float32).tolist()
    assert [m for m in msgs if "log $PnE (and any $PnG) on float data ignored" in m]


def test_gain_on_float_data_divides(tmp_path):
    pairs = [("$TOT", "1"), *params("F", [32]), ("$P1G", "2")]
    s, msgs = load(tmp_path, build(pairs, np.array([5.0], "<f4").tobytes()))
    assert s.events.dtype == np.float64 and s.events.tolist() == [[2.5]]
    assert s.raw.tolist() == [[5.0]] and msgs == []


# ----------------------------------------------------------------- keywords
def test_spillover_priority_and_names(tmp_path):
    pairs = [("$TOT", "1"), *params("F", [32, 32], names=["FL1-A", "FL2-A"])]
    pairs += [("SPILL", "2,FL1-A,FL2-A,1,0.5,0.5,1"), ("$SPILLOVER", "2,FL2-A,FL1-A,1,0.1,0.2,1")]
    pairs += [("$COMP", "2,100,0,0,100")]
    s, msgs = load(tmp_path, build(pairs, bytes(8)))
    assert msgs == []
    assert s.spillover.keyword == "$SPILLOVER"
    assert s.spillover.detectors == ("FL2-A", "FL1-A")
    assert s.spillover.matrix.tolist() == [[1, 0.1], [0.2, 1]]


def test_spillover_by_index_and_malformed(tmp_path):
    pairs = [("$TOT", "1"), *params("F", [32, 32], names=["FL1-A", "FL2-A"])]
    s, msgs = load(tmp_path, build([*pairs, ("$SPILL", "2,2,1,1,0,0.3,1")], bytes(8)))
    assert s.spillover.detectors == ("FL2-A", "FL1-A")
    assert any("index" in m for m in msgs)
    s, msgs = load(tmp_path, build([*pairs, ("$SPILLOVER", "2,FL1-A,FL2-A")], bytes(8)))
    assert s.spillover is None and any("no usable matrix" in m for m in msgs)
    s, msgs = load(tmp_path, build([*pairs, ("SPILL", "2,FL1-A,XX,1,0,0,1")], bytes(8)))
    assert s.spillover is None and any("XX" in m for m in msgs)


def test_duplicate_channel_names_are_renamed(tmp_path):
    pairs = [("$TOT", "1"), *params("F", [32, 32], names=["FSC", "FSC"])]
    s, msgs = load(tmp_path, build(pairs, bytes(8)))
    assert s.names == ("FSC", "FSC-2") and any("renamed" in m for m in msgs)


def test_markers_and_lower_case_keys(tmp_path):
    pairs = [(k.lower(), v) for k, v in [("$TOT", "1"), *params("F", [32, 32])]]
    pairs += [("$p2s", "CD44 APC"), ("FJ_$P1R", "x")]
    s, msgs = load(tmp_path, build(pairs, np.array([1, 2], "<f4").tobytes()))
    assert msgs == [] and s.markers == (None, "CD44 APC") and s["CD44"].tolist() == [2.0]
    assert s.keywords["FJ_$p1r"] == "x" and "$tot" in list(s.keywords)


def test_a_missing_file_is_a_library_error_and_a_file_not_found_error(tmp_path) -> None:
    from bcsc_flow.errors import FCSFileNotFoundError
    from bcsc_flow.io.fcs import read_fcs_keywords

    missing = tmp_path / "nope.fcs"
    for reader in (read_fcs, read_fcs_keywords):
        with pytest.raises(FCSFileNotFoundError, match=r"nope\.fcs: no such FCS file") as info:
            reader(missing)
        assert isinstance(info.value, FileNotFoundError)
