"""HEADER quirks, DATA location, $NEXTDATA chains and refusals of the FCS reader."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
from fcs_bytes import build, header, params
from test_fcs_read import load

from bcsc_flow.errors import FCSError, FCSFormatError, FCSTruncatedError, FCSUnsupportedError
from bcsc_flow.io.fcs import read_fcs, read_fcs_datasets

VALUES = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
DATA = VALUES.astype("<f4").tobytes()


def pairs(tot: int = 3) -> list:
    return [("$TOT", str(tot)), *params("F", [32, 32])]


def check(s) -> None:
    np.testing.assert_array_equal(s.events, VALUES)


@pytest.mark.parametrize("text_begin", [58, 74, 256, 1000])
def test_text_anywhere_after_the_header(tmp_path, text_begin):
    s, msgs = load(tmp_path, build(pairs(), DATA, text_begin=text_begin))
    check(s)
    assert msgs == []


def test_other_segment_pair_before_text(tmp_path):
    blob = bytearray(build(pairs(), DATA, text_begin=74))
    blob[58:74] = b"   16681   58392"
    s, msgs = load(tmp_path, bytes(blob))
    check(s)
    assert msgs == []


def test_blank_header_data_fields_use_text(tmp_path):
    blob = build(
        pairs(),
        DATA,
        version="FCS3.0",
        header_fields=lambda tb, te, db, de: [tb, te, " " * 8, " " * 8, " " * 8, " " * 8],
    )
    s, msgs = load(tmp_path, blob)
    check(s)
    assert msgs == []


@pytest.mark.parametrize("fields", [(0, 99999999), (1234, 0)])
def test_header_99999999_and_split_offsets_mean_look_in_text(tmp_path, fields):
    blob = build(pairs(), DATA, header_fields=lambda tb, te, db, de: [tb, te, *fields, 0, 0])
    s, msgs = load(tmp_path, blob)
    check(s)
    assert msgs == []


def test_shifted_header_fields(tmp_path):
    def shifted(tb, te, db, de):
        return [f"{tb:>7} ", f"{te:>7} ", f"{db:<8}", f"{de:>7} ", "        ", "       0"]

    s, msgs = load(
        tmp_path, build(pairs(), DATA, version="FCS2.0", text_offsets=False, header_fields=shifted)
    )
    check(s)
    assert msgs == []


def test_header_and_text_disagree_the_pair_that_fits_tot_wins(tmp_path):
    blob = build(pairs(), DATA, header_fields=lambda tb, te, db, de: [tb, te, db, de + 40, 0, 0])
    s, msgs = load(tmp_path, blob + bytes(40))
    check(s)
    assert len(msgs) == 1 and "differ" in msgs[0]
    blob = build(pairs(), DATA, data_offsets=lambda b, e: (b - 8, e))
    s, msgs = load(tmp_path, blob)
    check(s)
    assert len(msgs) == 1 and "differ" in msgs[0]


def test_off_by_one_end_is_tolerated_with_a_warning_and_refused_when_strict(tmp_path):
    blob = build(
        pairs(),
        DATA,
        data_offsets=lambda b, e: (b, e + 1),
        header_fields=lambda tb, te, db, de: [tb, te, db, de + 1, 0, 0],
        trailer=b"00000000",
    )
    s, msgs = load(tmp_path, blob)
    check(s)
    assert len(msgs) == 1 and "one past the last byte" in msgs[0]
    with pytest.raises(FCSFormatError, match="strict"):
        read_fcs(tmp_path / "t.fcs", strict=True)


def test_enddata_equal_to_begindata_falls_back_to_tot(tmp_path):
    blob = build(
        pairs(),
        DATA,
        data_offsets=lambda b, e: (b, b),
        header_fields=lambda tb, te, db, de: [tb, te, 0, 0, 0, 0],
    )
    s, msgs = load(tmp_path, blob)
    check(s)
    assert len(msgs) == 1 and "holds 1 bytes" in msgs[0]


def test_text_end_equal_to_data_begin(tmp_path):
    blob = build(pairs(), DATA, header_fields=lambda tb, te, db, de: [tb, te + 1, db, de, 0, 0])
    s, msgs = load(tmp_path, blob)
    check(s)
    assert len(msgs) == 1 and "TEXT end equals DATA begin" in msgs[0]


def test_fcs20_without_text_offsets_and_without_tot(tmp_path):
    p = [kv for kv in pairs() if kv[0] != "$TOT"]
    s, msgs = load(tmp_path, build(p, DATA, version="FCS2.0", text_offsets=False))
    check(s)
    assert msgs == []  # $TOT is optional in FCS 2.0
    s, msgs = load(tmp_path, build(p, DATA, version="FCS3.0"))
    check(s)
    assert len(msgs) == 1 and "$TOT is missing" in msgs[0]


def test_extra_bytes_in_data_are_ignored_with_a_warning(tmp_path):
    s, msgs = load(tmp_path, build(pairs(2), DATA))
    np.testing.assert_array_equal(s.events, VALUES[:2])
    assert len(msgs) == 1 and "read 16 bytes" in msgs[0]


@pytest.mark.parametrize("version", ["FCS3.3", "FCS4.0"])
def test_unknown_version_is_read_as_31(tmp_path, version):
    s, msgs = load(tmp_path, build(pairs(), DATA, version=version))
    check(s)
    assert msgs and "unknown version" in msgs[0]


def test_refusals_name_the_file_and_the_problem(tmp_path):
    cases = {
        "v1.fcs": (build(pairs(), DATA, version="FCS1.0"), FCSUnsupportedError, "FCS1.0"),
        "junk.fcs": (b"oi21j08cn\n", FCSFormatError, "not an FCS file"),
        "empty.fcs": (b"", FCSFormatError, "not an FCS file"),
        "short.fcs": (b"FCS3.1    " + b" " * 20, FCSTruncatedError, "HEADER"),
        "cut.fcs": (build(pairs(), DATA)[:-5], FCSTruncatedError, "truncated"),
        "text.fcs": (build(pairs(), DATA)[:300], FCSTruncatedError, "TEXT"),
        "hist.fcs": (build([*pairs(), ("$MODE", "C")][::-1], DATA), FCSUnsupportedError, r"\$MODE"),
        "type.fcs": (
            build([*pairs()[:1], ("$DATATYPE", "X"), *pairs()[1:]], DATA),
            FCSUnsupportedError,
            "DATATYPE",
        ),
        "hugetot.fcs": (
            build(pairs(10**15), DATA),
            FCSTruncatedError,
            "declares 1000000000000000 events",
        ),
        "hugepar.fcs": (
            build([(k, "999999999999" if k == "$PAR" else v) for k, v in pairs()], DATA),
            FCSFormatError,
            r"\$PAR",
        ),
        "nobits.fcs": (
            build([kv for kv in pairs() if kv[0] != "$P2B"], DATA),
            FCSFormatError,
            r"\$P2B",
        ),
    }
    for name, (blob, error, what) in cases.items():
        path = tmp_path / name
        path.write_bytes(blob)
        with pytest.raises(error, match=what) as info:
            read_fcs_datasets(path)
        assert name in str(info.value)


def test_reader_does_not_modify_or_hold_the_file(tmp_path):
    path = tmp_path / "keep.fcs"
    path.write_bytes(build(pairs(), DATA))
    os.chmod(path, 0o444)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns)
    s = read_fcs(path)
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns) == before
    os.chmod(path, 0o644)
    os.replace(tmp_path / "keep.fcs", tmp_path / "moved.fcs")  # not locked
    os.remove(tmp_path / "moved.fcs")
    check(s)  # events do not depend on the file any more


# ----------------------------------------------------------------- $NEXTDATA chains
def chain(steps: list[int | None], tots: list[int]) -> bytes:
    """Data sets laid end to end; steps[k] is data set k's $NEXTDATA (None: the next one)."""
    out = b""
    for step, tot in zip(steps, tots, strict=True):
        size = len(build(pairs(tot), DATA[: tot * 8], nextdata=0))  # $NEXTDATA has a fixed width
        out += build(pairs(tot), DATA[: tot * 8], nextdata=size if step is None else step)
    return out


def test_two_data_sets_relative_nextdata(tmp_path):
    blob = chain([None, 0], [3, 2])
    ss, msgs = load(tmp_path, blob, every=True)
    assert [len(s) for s in ss] == [3, 2] and msgs == []
    assert [s.dataset for s in ss] == [0, 1]
    s, _ = load(tmp_path, blob, dataset=1)
    np.testing.assert_array_equal(s.events, VALUES[:2])
    with pytest.raises(FCSError, match="holds 2"):
        read_fcs(tmp_path / "t.fcs", dataset=2)


def test_nextdata_loop_stops(tmp_path):
    first = len(build(pairs(3), DATA, nextdata=0))
    blob = chain([first, -first], [3, 3])
    ss, msgs = load(tmp_path, blob, every=True)
    assert len(ss) == 2 and any("already read" in m for m in msgs)


def test_nextdata_past_end_of_file_stops_with_a_warning(tmp_path):
    blob = chain([10**9], [3])
    ss, msgs = load(tmp_path, blob, every=True)
    assert len(ss) == 1 and any("no further data sets" in m for m in msgs)


def test_nextdata_absolute_offset_fallback(tmp_path):
    a = len(build(pairs(3), DATA, nextdata=0))
    b = len(build(pairs(2), DATA[:16], nextdata=0))
    # data set 1 gives the third one's absolute offset; taken as relative it is past the end
    blob = chain([a, a + b, 0], [3, 2, 1])
    ss, msgs = load(tmp_path, blob, every=True)
    assert [len(s) for s in ss] == [3, 2, 1]
    assert any("absolute" in m for m in msgs)


def test_header_helper_is_58_bytes():
    assert len(header("FCS3.0", [1, 2, 3, 4, 5, 6])) == 58


@pytest.mark.parametrize("dataset", [-1, "1", 1.0, True])
def test_dataset_argument_is_checked(tmp_path, dataset):
    path = tmp_path / "d.fcs"
    path.write_bytes(build(pairs(), DATA))
    with pytest.raises(FCSError, match="dataset"):
        read_fcs(path, dataset=dataset)


def test_each_warning_is_emitted_once_and_kept_on_the_sample(tmp_path):
    blob = build(
        pairs(),
        DATA,
        data_offsets=lambda b, e: (b, e + 1),
        header_fields=lambda tb, te, db, de: [tb, te, db, de + 1, 0, 0],
        trailer=b"0",
    )
    s, msgs = load(tmp_path, blob)
    assert msgs == list(s.warnings) and len(msgs) == 1
    assert msgs[0].startswith(str(tmp_path / "t.fcs") + ": ")
