"""GatingStrategy and GatingResult on synthetic arrays: editing, errors, display, counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bcsc_flow.errors import CompensationError, StrategyError
from bcsc_flow.gates import Dimension, Quadrant, Range, Threshold
from bcsc_flow.sample import Sample
from bcsc_flow.strategy import GatingResult, GatingStrategy, Population


@pytest.fixture
def data() -> Sample:
    rng = np.random.default_rng(11)
    events = np.column_stack(
        [rng.uniform(0, 10, 1000), rng.uniform(0, 1, 1000), rng.uniform(0, 1, 1000)]
    )
    return Sample.from_array(events, ["FSC-A", "CD44", "CD24"], name="synthetic")


def bcsc_tree() -> GatingStrategy:
    return (
        GatingStrategy()
        .add("cells", Range("FSC-A", 2, 9))
        .add("CD44+", Threshold("CD44", above=0.6), parent="cells")
        .add("CD24-/low", Threshold("CD24", below=0.3), parent="CD44+")
        .add("not CD24-/low", ~Threshold("CD24", below=0.3), parent="CD44+")
        .add("CD44+ or low", "CD44+" | Threshold("CD24", below=0.1))
    )


def test_counts_and_percentages_match_numpy(data: Sample):
    res = bcsc_tree().apply(data)
    fsc, cd44, cd24 = data["FSC-A"], data["CD44"], data["CD24"]
    cells = (fsc >= 2) & (fsc < 9)
    pos = cells & (cd44 >= 0.6)
    low = pos & (cd24 < 0.3)
    assert np.array_equal(res.mask("cells"), cells)
    assert np.array_equal(res.mask("CD24-/low"), low)
    assert np.array_equal(res.mask("not CD24-/low"), pos & ~(cd24 < 0.3))
    assert np.array_equal(res.mask("CD44+ or low"), pos | (cd24 < 0.1))
    assert res.count("CD24-/low") == low.sum()
    assert res.pct_of_parent("CD24-/low") == pytest.approx(100 * low.sum() / pos.sum())
    assert res.pct_of_total("CD24-/low") == pytest.approx(100 * low.sum() / 1000)
    table = res.table()
    assert list(table.columns) == [
        "population",
        "parent",
        "count",
        "parent_count",
        "total_count",
        "pct_of_parent",
        "pct_of_total",
    ]
    assert table["population"].tolist() == [
        "cells",
        "CD44+",
        "CD24-/low",
        "not CD24-/low",
        "CD44+ or low",
    ]
    row = table.set_index("population").loc["CD24-/low"]
    assert (row["count"], row["parent_count"], row["total_count"]) == (low.sum(), pos.sum(), 1000)
    assert res.populations.equals(table)
    with pytest.raises(ValueError):
        res.mask("cells").__setitem__(0, True)


def test_empty_parent_gives_nan_not_zero(data: Sample):
    st = (
        GatingStrategy()
        .add("none", Range("FSC-A", 100, 200))
        .add("child", Range("CD44", 0, 1), parent="none")
    )
    res = st.apply(data)
    assert res.count("none") == 0 and res.pct_of_total("none") == 0.0
    assert math.isnan(res.pct_of_parent("child"))
    assert math.isnan(res.table().set_index("population").loc["child", "pct_of_parent"])
    empty = Sample.from_array(np.zeros((0, 3)), ["FSC-A", "CD44", "CD24"])
    assert math.isnan(st.apply(empty).pct_of_total("none"))


def test_add_replace_remove_return_new_strategies():
    base = bcsc_tree()
    wider = base.replace("cells", Range("FSC-A", 0, 10))
    assert base["cells"].gate == Range("FSC-A", 2, 9)
    assert wider["cells"].gate == Range("FSC-A", 0, 10)
    assert wider.parent("CD44+") == "cells"
    moved = base.replace("CD24-/low", parent="cells")
    assert moved.parent("CD24-/low") == "cells" and base.parent("CD24-/low") == "CD44+"
    smaller = base.remove("not CD24-/low")
    assert "not CD24-/low" not in smaller and "not CD24-/low" in base
    with pytest.raises(StrategyError, match="still used by 'CD24-/low'"):
        base.remove("CD44+")
    assert base.remove("CD44+ or low").remove("cells", recursive=True).names == ()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda st: st.add("cells", Range("FSC-A", 0, 1)), "Duplicate population name 'cells'"),
        (lambda st: st.add("x", Range("FSC-A", 0, 1), parent="cels"), "Did you mean 'cells'"),
        (lambda st: st.add("x", "CD44" & Range("FSC-A", 0, 1)), "unknown boolean operand 'CD44'"),
        (lambda st: st.replace("cells", parent="CD24-/low"), "cycle"),
        (lambda st: st.replace("cellz", Range("FSC-A", 0, 1)), "Did you mean 'cells'"),
        (lambda st: st.remove("nope"), "no population 'nope'"),
        (
            lambda st: st.add("x", Range(Dimension("CD44", compensation="MySpil"), 0, 1)),
            "compensation 'MySpil'",
        ),
    ],
)
def test_strategy_errors(edit, message):
    with pytest.raises(StrategyError, match=message):
        edit(bcsc_tree())


def test_cycle_through_boolean_operand_is_refused():
    with pytest.raises(StrategyError, match="cycle"):
        GatingStrategy(
            [
                Population("a", Range("x", 0, 1), parent="b"),
                Population("b", "a" & Range("x", 0, 2)),
            ]
        )


def test_forward_references_in_constructor(data: Sample):
    st = GatingStrategy(
        [
            Population("child", Threshold("CD44", above=0.5), parent="root"),
            Population("both", "child" & Threshold("CD24", above=0.5)),
            Population("root", Range("FSC-A", 1, 5)),
        ]
    )
    res = st.apply(data)
    fsc, cd44, cd24 = data["FSC-A"], data["CD44"], data["CD24"]
    child = (fsc >= 1) & (fsc < 5) & (cd44 >= 0.5)
    assert np.array_equal(res.mask("both"), child & (cd24 >= 0.5))
    assert res.names == ("both", "root", "child")  # roots in definition order, then depth-first


def test_quadrant_regions_are_populations(data: Sample):
    quad = Quadrant.cross("CD44", 0.5, "CD24", 0.5, names=["--", "+-", "-+", "++"])
    st = (
        GatingStrategy()
        .add("cells", Range("FSC-A", 2, 9))
        .add("quad", quad, parent="cells")
        .add("++ small", Range("FSC-A", 2, 4), parent="++")
        .add("++ again", Threshold("CD44", above=0) & "++")
    )
    res = st.apply(data)
    fsc, cd44, cd24 = data["FSC-A"], data["CD44"], data["CD24"]
    cells = (fsc >= 2) & (fsc < 9)
    pp = cells & (cd44 >= 0.5) & (cd24 >= 0.5)
    assert np.array_equal(res.mask("++"), pp)
    assert np.array_equal(res.mask("++ small"), pp & (fsc < 4))
    assert sum(res.count(n) for n in ("--", "+-", "-+", "++")) == res.count("cells")
    assert res.parent("+-") == "cells"
    with pytest.raises(StrategyError, match="quadrant gate"):
        res.mask("quad")
    with pytest.raises(StrategyError, match="quadrant gate"):
        st.add("bad", Range("FSC-A", 0, 1), parent="quad")
    with pytest.raises(StrategyError, match="Duplicate population name"):
        st.add("++", Range("FSC-A", 0, 1))
    assert "  quad: Quadrant(" in str(st) and "    ++: Quadrant ++" in str(st)
    assert "      ++ small: Range(FSC-A: [2, 4))" in str(st)


def test_str_is_an_indented_tree():
    text = str(bcsc_tree())
    assert text.splitlines() == [
        "GatingStrategy (5 populations)",
        "cells: Range(FSC-A: [2, 9))",
        "  CD44+: Threshold(CD44 >= 0.6)",
        "    CD24-/low: Threshold(CD24 < 0.3)",
        "    not CD24-/low: ~Threshold(CD24 < 0.3)",
        "CD44+ or low: 'CD44+' | Threshold(CD24 < 0.1)",
    ]


def test_named_spillover_and_fcs_without_matrix(data: Sample):
    class Identity:
        detectors = ("CD44", "CD24")
        outputs = ("A", "B")

        def apply(self, values):
            return np.asarray(values) * 2.0

    st = GatingStrategy(
        [
            Population("a", Threshold(Dimension("A", compensation="M"), above=1.0)),
            Population("fcs", Threshold(Dimension("CD44", compensation="FCS"), above=0.5)),
            Population("passthrough", Threshold(Dimension("FSC-A", compensation="M"), above=5.0)),
        ],
        spillovers={"M": Identity()},
    )
    res = st.apply(data)
    assert np.array_equal(res.mask("a"), data["CD44"] * 2.0 >= 1.0)
    assert np.array_equal(res.mask("fcs"), data["CD44"] >= 0.5)  # no $SPILLOVER: uncompensated
    assert np.array_equal(res.mask("passthrough"), data["FSC-A"] >= 5.0)
    assert "spillover matrices: M" in str(st)
    with pytest.raises(CompensationError, match="not known"):
        Threshold(Dimension("A", compensation="M"), above=1.0).mask(data)


def test_result_type_and_subset(data: Sample):
    res = bcsc_tree().apply(data)
    assert isinstance(res, GatingResult)
    assert len(res.events("cells")) == res.count("cells")


def test_strategies_and_results_pickle(data: Sample):
    import pickle

    st = bcsc_tree()
    again = pickle.loads(pickle.dumps(st))
    assert again.names == st.names and str(again) == str(st)
    res = pickle.loads(pickle.dumps(st.apply(data)))
    assert np.array_equal(res.mask("CD24-/low"), st.apply(data).mask("CD24-/low"))


def test_fcs_compensation_uses_the_file_matrix():
    from bcsc_flow.sample import FileSpillover

    rng = np.random.default_rng(9)
    observed = rng.uniform(0, 1000, size=(500, 3))
    matrix = np.array([[1.0, 0.2, 0.05], [0.1, 1.0, 0.0], [0.0, 0.3, 1.0]])
    plain = Sample.from_array(observed, ["FL1-A", "FL2-A", "SSC-A"])
    spill = FileSpillover(("FL1-A", "FL2-A"), matrix[:2, :2], "$SPILLOVER")
    sample = Sample(plain.name, plain.events, plain.channels, spillover=spill)
    expected = observed[:, :2] @ np.linalg.inv(matrix[:2, :2])  # o · S⁻¹, computed here
    st = GatingStrategy(
        [
            Population("fl2", Range(Dimension("FL2-A", compensation="FCS"), 100.0, 600.0)),
            Population("ssc", Threshold(Dimension("SSC-A", compensation="FCS"), above=500.0)),
            Population("raw", Range("FL2-A", 100.0, 600.0)),
        ]
    )
    res = st.apply(sample)
    clear = (np.abs(expected[:, 1] - 100) > 1e-9) & (np.abs(expected[:, 1] - 600) > 1e-9)
    want = (expected[:, 1] >= 100) & (expected[:, 1] < 600)
    assert np.array_equal(res.mask("fl2")[clear], want[clear])
    assert np.array_equal(res.mask("ssc"), observed[:, 2] >= 500)  # not in the matrix: as is
    assert not np.array_equal(res.mask("fl2"), res.mask("raw"))


def test_ratio_dimension_bounds_clamp_before_gating():
    from bcsc_flow.gates import RatioDimension
    from bcsc_flow.transforms import Ratio

    s = Sample.from_array(np.array([[1.0, 1.0], [10.0, 1.0], [0.0, 1.0]]), ["A", "B"])
    clamped = RatioDimension("A", "B", Ratio(1.0, 0.0, 0.0, bound_max=5.0, bound_min=0.5))
    assert Range(clamped, 5.0, 6.0).mask(s).tolist() == [False, True, False]
    assert Range(clamped, 0.5, 0.6).mask(s).tolist() == [False, False, True]
