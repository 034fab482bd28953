"""Reading FCS files: data1.fcs scale values, multi data sets, errors (issue 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bcsc_flow.errors import FCSWarning
from bcsc_flow.io.fcs import read_fcs

DATA = Path(__file__).parent / "data" / "fcs"


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
