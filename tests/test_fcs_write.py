"""Writing FCS 3.1 (STANDARDS part B, D.2): round trips, offsets, delimiters, safety."""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from bcsc_flow.errors import FCSWarning, FCSWriteError
from bcsc_flow.io.fcs import read_fcs, write_fcs

DATA = Path(__file__).parent / "data" / "fcs"
ORACLE = os.environ.get("BCSC_ORACLE_PYTHON")


def segments(path: Path) -> dict[str, int]:
    """HEADER and TEXT offsets of a written file, parsed here independently of the reader."""
    blob = path.read_bytes()
    head = [int(blob[10 + 8 * i : 18 + 8 * i]) for i in range(6)]
    text = blob[head[0] : head[1] + 1]
    words = text[1:-1].split(text[:1])
    kw = dict(zip(words[::2], words[1::2], strict=True))
    return {
        "text_begin": head[0],
        "text_end": head[1],
        "header_begin": head[2],
        "header_end": head[3],
        "begin": int(kw[b"$BEGINDATA"]),
        "end": int(kw[b"$ENDDATA"]),
        "size": len(blob),
        "delimiter": text[0],
    }


def test_array_round_trip_is_bit_exact(tmp_path):
    rng = np.random.default_rng(1)
    values = rng.normal(size=(1000, 4)).astype(np.float32) * 1e4
    values[0] = [np.inf, -np.inf, 0.0, -0.0]
    path = write_fcs(
        tmp_path / "a.fcs",
        values,
        channels=["FSC-A", "SSC-A", "Side/scatter", "APC-A"],
        markers=[None, "", "CD3 µ-test", "CD44 APC"],
        keywords={"$COM": "a/b//c", "Operator": "me", "$CYT": "Sim|X", "EMPTY": ""},
    )
    s = read_fcs(path)
    assert s.events.dtype == np.float32
    assert s.events.tobytes() == values.tobytes()
    assert s.names == ("FSC-A", "SSC-A", "Side/scatter", "APC-A")
    assert s.markers == (None, None, "CD3 µ-test", "CD44 APC")
    assert s.keywords["$COM"] == "a/b//c" and s.keywords["operator"] == "me"
    assert s.keywords["$CYT"] == "Sim|X" and "EMPTY" not in s.keywords
    assert s.version == "FCS3.1" and s.warnings == ()
    seg = segments(path)
    assert seg["delimiter"] not in b"/|" and seg["text_end"] + 1 == seg["begin"]
    assert (seg["header_begin"], seg["header_end"]) == (seg["begin"], seg["end"])
    assert seg["end"] == seg["begin"] + values.nbytes - 1 and seg["size"] == seg["end"] + 9


def test_delimiter_falls_back_when_the_usual_ones_are_used(tmp_path):
    crowded = "/|\\\x1e\x0c!#%&*~^ and more"
    path = write_fcs(
        tmp_path / "c.fcs", np.ones((2, 1)), channels=["A"], keywords={"NOTE": crowded}
    )
    assert read_fcs(path).keywords["NOTE"] == crowded
    assert bytes([segments(path)["delimiter"]]) not in crowded.encode()


def test_sample_round_trip_keeps_scale_values_and_keywords(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FCSWarning)
        original = read_fcs(DATA / "data1.fcs")
    path = write_fcs(tmp_path / "d.fcs", original)
    again = read_fcs(path)
    np.testing.assert_array_equal(again.events, original.events.astype(np.float32))
    assert again.names == original.names and again.markers == original.markers
    for n in range(1, 9):
        assert again.keywords[f"$P{n}E"] == "0,0" and f"$P{n}G" not in again.keywords
    layout = {
        "$BEGINDATA",
        "$ENDDATA",
        "$BYTEORD",
        "$DATATYPE",
        "$TOT",
        "$PAR",
        "$NEXTDATA",
        "$MODE",
    }
    for key, value in original.keywords.items():
        up = key.upper()
        if up in layout or (up.startswith("$P") and up[2:-1].isdigit()) or value == "":
            continue
        assert again.keywords[key] == value, key
    assert again.keywords["$DATATYPE"] == "F" and again.keywords["$BYTEORD"] == "1,2,3,4"
    assert [c.range for c in again.channels][2] == 10000  # 10^4 decades: the scale range


def test_refuses_to_overwrite_unless_asked(tmp_path):
    path = write_fcs(tmp_path / "o.fcs", np.zeros((3, 1)), channels=["A"])
    s = read_fcs(path)
    with pytest.raises(FCSWriteError, match="already exists"):
        write_fcs(path, s)
    with pytest.raises(FCSWriteError, match="already exists"):
        write_fcs(s.path, np.ones((1, 1)), channels=["A"])
    assert read_fcs(path).events.tolist() == [[0.0]] * 3
    write_fcs(path, s.with_events(np.full((3, 1), 2.0)), overwrite=True)
    assert read_fcs(path).events.tolist() == [[2.0]] * 3
    assert s.events.tolist() == [[0.0]] * 3
    assert sorted(os.listdir(tmp_path)) == ["o.fcs"]


def test_write_is_atomic(tmp_path, monkeypatch):
    path = write_fcs(tmp_path / "x.fcs", np.zeros((3, 1)), channels=["A"])
    before = path.read_bytes()

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_fcs(path, np.ones((5, 1)), channels=["A"], overwrite=True)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["x.fcs"]


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes")
def test_written_file_has_the_usual_mode(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    path = write_fcs(tmp_path / "m.fcs", np.zeros((1, 1)), channels=["A"])
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize(
    "kwargs,what",
    [
        ({"channels": ["A", "a"]}, "used twice"),
        ({"channels": ["A,B", "C"]}, "commas"),
        ({"channels": ["A"]}, "2 columns"),
        ({}, "channels="),
        ({"channels": ["A", "B"], "markers": ["x"]}, "markers"),
        ({"channels": ["A", "B"], "keywords": {"$tot": "9"}}, "layout"),
        ({"channels": ["A", "B"], "keywords": {"$P1G": "2"}}, "layout"),
        ({"channels": ["A", "B"], "keywords": {"$P1S": "CD44"}}, "markers="),
        ({"channels": ["A", "B"], "keywords": {"$P3R": "1024"}}, "positive range"),
        ({"channels": ["A", "B"], "keywords": {"$P1R": "-1"}}, "positive range"),
    ],
)
def test_bad_input_is_refused(tmp_path, kwargs, what):
    with pytest.raises(FCSWriteError, match=what):
        write_fcs(tmp_path / "bad.fcs", np.zeros((2, 2)), **kwargs)
    assert os.listdir(tmp_path) == []


def test_ranges_from_channels_keywords_or_data(tmp_path):
    from bcsc_flow.sample import Channel

    values = np.array([[1.0, 2.0, 300.5], [4.0, 5.0, 6.0]])
    chans = [Channel("FSC-A", "size", range=262144.0), "SSC-A", "APC-A"]
    path = write_fcs(tmp_path / "r.fcs", values, channels=chans, keywords={"$p2r": "1024"})
    s = read_fcs(path)
    assert [s.keywords[f"$P{n}R"] for n in (1, 2, 3)] == ["262144", "1024", "301"]
    assert s.markers == ("size", None, None)


def test_bad_shapes_and_types_are_refused(tmp_path):
    with pytest.raises(FCSWriteError, match="2-D"):
        write_fcs(tmp_path / "b.fcs", np.zeros(3), channels=["A"])
    with pytest.raises(FCSWriteError, match="numbers"):
        write_fcs(tmp_path / "b.fcs", np.array([["x"]]), channels=["A"])


def test_zero_events(tmp_path):
    path = write_fcs(tmp_path / "z.fcs", np.zeros((0, 2)), channels=["A", "B"])
    s = read_fcs(path)
    assert len(s) == 0 and s.names == ("A", "B")


def test_begindata_digit_boundaries(tmp_path):
    """Pad the TEXT so $BEGINDATA walks across 9999 -> 10000 (and 999 -> 1000)."""
    values = np.arange(6, dtype=np.float32).reshape(3, 2)
    short = write_fcs(tmp_path / "probe.fcs", values, channels=["A", "B"], keywords={"PAD": "x"})
    base = segments(short)["begin"] - 1  # $BEGINDATA with a 1-byte PAD value
    seen = set()
    for target in (1000, 10000):
        for begin in range(target - 6, target + 6):
            pad = begin - base
            if pad < 1:
                continue
            path = write_fcs(
                tmp_path / f"p{target}_{begin}.fcs",
                values,
                channels=["A", "B"],
                keywords={"PAD": "x" * pad},
            )
            seg = segments(path)
            seen.add(seg["begin"])
            assert seg["text_end"] + 1 == seg["begin"] == seg["header_begin"]
            assert seg["end"] == seg["header_end"] == seg["begin"] + values.nbytes - 1
            s = read_fcs(path)
            assert s.events.tobytes() == values.tobytes() and s.warnings == ()
    assert {9998, 9999, 10001, 10002} <= seen and {998, 999} <= seen


@pytest.mark.slow
def test_data_past_99999999_bytes_round_trips(tmp_path):
    """Two files right on each side of the HEADER's 8-digit limit; the second is > 100 MB."""
    limit = 99_999_999
    n = (limit - 400) // 4
    rng = np.random.default_rng(7)
    values = rng.random(n + 200, dtype=np.float32).reshape(-1, 1)
    path = write_fcs(tmp_path / "guess.fcs", values[:n], channels=["FSC-A"])
    begin = segments(path)["begin"]
    path.unlink()
    below = (limit - begin + 1) // 4  # DATA end <= 99,999,999
    for count, fits in ((below, True), (below + 1, False)):
        path = write_fcs(tmp_path / "big.fcs", values[:count], channels=["FSC-A"], overwrite=True)
        seg = segments(path)
        assert (seg["end"] <= limit) is fits
        if fits:
            assert (seg["header_begin"], seg["header_end"]) == (seg["begin"], seg["end"])
            assert limit - seg["end"] < 4
        else:
            assert (seg["header_begin"], seg["header_end"]) == (0, 0)
            assert seg["size"] > 100_000_000
        s = read_fcs(path)
        assert s.warnings == () and len(s) == count
        assert np.array_equal(s.events, values[:count])
        if ORACLE and not fits:  # the reference readers must find DATA through TEXT alone
            check_with_oracle(path, values[:count])
        del s


def check_with_oracle(path: Path, values: np.ndarray) -> None:
    script = (
        "import sys, numpy as np, flowio, fcsparser\n"
        "f = flowio.FlowData(sys.argv[1])\n"
        "a = f.as_array(preprocess=False)\n"
        "meta, df = fcsparser.parse(sys.argv[1], reformat_meta=False, channel_naming='$PnN')\n"
        "np.savez(sys.argv[2], flowio=a, fcsparser=df.to_numpy(), names=np.array(list(df.columns)))\n"
    )
    out = path.with_suffix(".npz")
    subprocess.run(
        [ORACLE, "-c", script, str(path), str(out)], check=True, capture_output=True, timeout=600
    )
    with np.load(out) as theirs:
        np.testing.assert_array_equal(theirs["flowio"], values.astype(np.float64))
        np.testing.assert_array_equal(
            theirs["fcsparser"].astype(np.float64), values.astype(np.float64)
        )
    out.unlink()


@pytest.mark.skipif(not ORACLE, reason="BCSC_ORACLE_PYTHON is not set")
def test_flowio_and_fcsparser_read_our_files_identically(tmp_path):
    rng = np.random.default_rng(3)
    values = (rng.normal(size=(2345, 3)) * 1000).astype(np.float32)
    path = write_fcs(
        tmp_path / "o.fcs",
        values,
        channels=["FSC-A", "SSC-A", "Time"],
        markers=["size", None, None],
        keywords={"$COM": "x/y"},
    )
    check_with_oracle(path, values)
