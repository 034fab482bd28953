"""Robustness: mutated, truncated and lying FCS files either read or raise an FCSError.

Never another exception, never a hang, never an allocation sized by a lying $TOT/$PAR.
"""

from __future__ import annotations

import re
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from fcs_bytes import build, params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bcsc_flow.errors import FCSError, FCSWarning
from bcsc_flow.io.fcs import read_fcs_datasets

DATA = Path(__file__).parent / "data" / "fcs"
SMALL = build(
    [
        ("$TOT", "4"),
        *params("I", [16, 8, 32], ranges=[1024, 256, 2**20]),
        ("$SPILLOVER", "2,P1,P2,1,0.1,0,1"),
    ],
    bytes(range(28)),
)
SEEDS = {
    "small": SMALL,
    "cyflow": (DATA / "cyflow_cube_8.fcs").read_bytes(),
    "data1": (DATA / "data1.fcs").read_bytes()[:40_000],  # TEXT and the first events; DATA cut
    "guava": (DATA / "guava_muse_first2.fcs").read_bytes()[:12_000],  # data set 0 whole, 1 cut
}
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)


def attempt(blob: bytes, folder: Path) -> None:
    """Read ``blob``; only FCSError may escape, only FCSWarning may be warned, memory stays small."""
    path = folder / "fuzz.fcs"
    path.write_bytes(blob)
    tracemalloc.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                samples = read_fcs_datasets(path)
            except FCSError as exc:
                assert str(path) in str(exc)
                samples = []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(issubclass(w.category, FCSWarning) for w in caught), [str(w.message) for w in caught]
    assert peak < 40 * len(blob) + 8_000_000, peak
    for s in samples:
        assert s.events.shape == (len(s), len(s.channels))


@FUZZ
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_flipped_bytes(tmp_path, seed, flips):
    blob = bytearray(SEEDS[seed])
    text_end = min(len(blob), 4000)
    for where, value in flips:  # mostly in HEADER and TEXT, where structure lives
        blob[int(where * (text_end - 1))] = value
    attempt(bytes(blob), tmp_path)


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)), cut=st.floats(0, 1))
def test_truncated(tmp_path, seed, cut):
    blob = SEEDS[seed]
    attempt(blob[: int(cut * len(blob))], tmp_path)


@FUZZ
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    field=st.integers(0, 5),
    value=st.one_of(
        st.integers(0, 99_999_999), st.sampled_from(["", "-1", "abc", "99999999", " 1 2"])
    ),
)
def test_header_offsets_changed(tmp_path, seed, field, value):
    blob = bytearray(SEEDS[seed])
    blob[10 + 8 * field : 18 + 8 * field] = str(value).rjust(8)[:8].encode()
    attempt(bytes(blob), tmp_path)


KEYS = [
    "$TOT",
    "$PAR",
    "$P1B",
    "$P2B",
    "$P1R",
    "$BYTEORD",
    "$DATATYPE",
    "$BEGINDATA",
    "$ENDDATA",
    "$NEXTDATA",
    "$P1E",
    "$P1N",
    "$SPILLOVER",
    "$MODE",
    "$BEGINSTEXT",
    "$ENDSTEXT",
]


@FUZZ
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    key=st.sampled_from(KEYS),
    value=st.one_of(
        st.sampled_from(
            [
                "",
                "0",
                "-5",
                "1e300",
                "10000000000000",
                "999999999999999999999",
                "x",
                "4,3",
                "3,1,2",
                "*",
                "C",
            ]
        ),
        st.integers(0, 10**12).map(str),
    ),
    remove=st.booleans(),
)
def test_keywords_removed_or_lying(tmp_path, seed, key, value, remove):
    blob = SEEDS[seed]
    delim = blob[int(blob[10:18]) : int(blob[10:18]) + 1] if blob[10:18].strip().isdigit() else b"/"
    d = re.escape(delim)
    pattern = re.compile(d + re.escape(key.encode()) + d + b"[^" + d + b"]*" + d, re.IGNORECASE)
    replacement = (
        delim if remove else delim + key.encode() + delim + (value.encode() or b" ") + delim
    )
    attempt(pattern.sub(lambda m: replacement, blob, count=1), tmp_path)


def test_every_cut_point_of_a_small_file(tmp_path):
    for cut in range(len(SMALL) + 1):
        attempt(SMALL[:cut], tmp_path)


@pytest.mark.parametrize(
    "tot,par", [("10000000000000", None), (None, "100000000"), ("3000000000", "3")]
)
def test_lying_counts_do_not_allocate(tmp_path, tot, par):
    pairs = [("$TOT", tot or "4"), *params("F", [32, 32, 32])]
    if par:
        pairs = [(k, par if k == "$PAR" else v) for k, v in pairs]
    attempt(build(pairs, np.zeros(12, "<f4").tobytes()), tmp_path)
