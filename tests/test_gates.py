"""Gates on synthetic arrays: boundary semantics (Gating-ML 2.0, STANDARDS C.5), validation,
value semantics, and the FlowCytometryTools-style constructors."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest

from bcsc_flow.errors import GateError
from bcsc_flow.gates import (
    And,
    Dimension,
    Divider,
    Ellipse,
    IntervalGate,
    Not,
    Or,
    PolyGate,
    Polygon,
    QuadGate,
    Quadrant,
    Range,
    RatioDimension,
    Rectangle,
    Threshold,
    ThresholdGate,
)
from bcsc_flow.sample import Sample

NAN = float("nan")


def sample(points, names=("x", "y")) -> Sample:
    return Sample.from_array(np.asarray(points, dtype=float).reshape(-1, len(names)), list(names))


# ----------------------------------------------------------------------------- ranges
def test_range_min_inclusive_max_exclusive_and_nan_outside():
    s = sample([[1.0], [2.0], [2.9999999999], [3.0], [NAN], [-np.inf], [np.inf]], names=("x",))
    assert Range("x", 2, 3).mask(s).tolist() == [False, True, True, False, False, False, False]
    assert Range("x", min=2).mask(s).tolist() == [False, True, True, True, False, False, True]
    assert Range("x", max=2).mask(s).tolist() == [True, False, False, False, False, True, False]


def test_threshold_above_and_below():
    s = sample([[1.0], [2.0], [NAN]], names=("x",))
    assert Threshold("x", above=2).mask(s).tolist() == [False, True, False]
    assert Threshold("x", below=2).mask(s).tolist() == [True, False, False]


@pytest.mark.parametrize(
    "build",
    [
        lambda: Range("x", 3, 3),
        lambda: Range("x", 4, 3),
        lambda: Range("x"),
        lambda: Range("x", NAN, 3),
        lambda: Threshold("x"),
        lambda: Threshold("x", above=1, below=2),
        lambda: Rectangle(("x", "y"), min=(0, 0), max=(1,)),
        lambda: Rectangle(("x", "y"), min=(0, None), max=(1, None)),
        lambda: Rectangle(("x", "x"), min=(0, 0), max=(1, 1)),
        lambda: Polygon(("x", "y"), []),
        lambda: Polygon(("x", "y"), [(0, 0), (1, 1)]),
        lambda: Polygon(("x",), [(0, 0), (1, 1), (1, 0)]),
        lambda: Polygon(("x", "y"), [(0, 0), (1, NAN), (1, 0)]),
        lambda: Ellipse(("x", "y"), (0, 0), ((1, 1), (1, 1))),
        lambda: Ellipse(("x", "y"), (0, 0), ((1, 0), (0, 1)), -1.0),
        lambda: Ellipse(("x", "y"), (0,), ((1, 0), (0, 1))),
        lambda: Divider("d", "x", ()),
        lambda: Quadrant([Divider("d", "x", 1.0)], {"q": {"d": 2}}),
        lambda: Quadrant([Divider("d", "x", 1.0)], {"q": {"e": 0}}),
        lambda: And(Range("x", 0, 1)),
        lambda: Not(3),
        lambda: Dimension(""),
        lambda: Dimension("x", transform=5),
    ],
)
def test_invalid_gates_raise_gate_error(build):
    with pytest.raises(GateError):
        build()


def test_gate_error_is_value_error_and_names_the_problem():
    with pytest.raises(ValueError, match="min 4 must be below max 3"):
        Range("FSC-A", 4, 3)
    with pytest.raises(GateError, match="singular"):
        Ellipse(("x", "y"), (0, 0), ((1, 2), (2, 4)))


# ----------------------------------------------------------------------------- rectangle
def test_rectangle_boundaries_open_sides():
    g = Rectangle(("x", "y"), min=(0, None), max=(1, 5))
    s = sample([[0, -100], [1, 0], [0.5, 5], [0.5, 4.999], [NAN, 0], [0.5, NAN]])
    assert g.mask(s).tolist() == [True, False, False, True, False, False]


# ----------------------------------------------------------------------------- polygon
SQUARE = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]


def test_polygon_vertices_and_edges_are_inside():
    g = Polygon(("x", "y"), SQUARE)
    on_boundary = [*SQUARE, (1, 0), (2, 1), (1, 2), (0, 1), (0, 0.5)]
    outside = [(2.0000001, 1), (-1e-12, 1), (1, 2.0000001), (3, 3), (NAN, 1)]
    s = sample(on_boundary + outside + [(1, 1)])
    expected = [True] * len(on_boundary) + [False] * len(outside) + [True]
    assert g.mask(s).tolist() == expected


def test_polygon_slanted_edge_exact_points_inside():
    tri = Polygon(("x", "y"), [(0, 0), (4, 0), (0, 4)])
    s = sample([(1, 3), (2, 2), (3, 1), (2.5, 1.5), (2.5, 1.5000001)])
    assert tri.mask(s).tolist() == [True, True, True, True, False]


def test_polygon_self_intersecting_even_odd():
    # a pentagram: the centre pentagon is covered twice, so it is outside under even-odd
    angles = np.deg2rad(90 + 144 * np.arange(5))
    star = Polygon(("x", "y"), list(zip(np.cos(angles), np.sin(angles))))
    s = sample([(0.0, 0.0), (0.0, 0.7), (0.0, -0.6), (2.0, 2.0)])
    assert star.mask(s).tolist() == [False, True, False, False]


def test_polygon_large_and_small_bounding_box_paths_agree():
    rng = np.random.default_rng(5)
    pts = rng.uniform(-1, 3, size=(2000, 2))
    poly = Polygon(("x", "y"), [(0, 0), (2, 0.3), (1.7, 2), (0.4, 1.1)])
    tiny = Polygon(("x", "y"), [(0, 0), (0.2, 0.03), (0.17, 0.2)])
    s = sample(pts)
    for g in (poly, tiny):
        from matplotlib.path import Path  # independent implementation for interior points

        inside = Path(np.array(g.vertices)).contains_points(pts)
        assert np.array_equal(g.mask(s), inside)


# ----------------------------------------------------------------------------- ellipse
def test_ellipse_boundary_inside_and_covariance_used_as_written():
    g = Ellipse(
        ("x", "y"), mean=(1.0, 2.0), covariance=((4.0, 0.0), (0.0, 1.0)), distance_square=1.0
    )
    s = sample([(3, 2), (1, 3), (-1, 2), (3.0000001, 2), (1, 2), (NAN, 2)])
    assert g.mask(s).tolist() == [True, True, True, False, True, False]
    # a non-symmetric covariance is inverted as written, not symmetrised
    cov = ((2.0, 0.5), (-0.5, 1.0))
    g2 = Ellipse(("x", "y"), (0, 0), cov, 1.5)
    pts = np.random.default_rng(1).normal(size=(500, 2))
    inv = np.linalg.inv(np.array(cov))
    expected = np.einsum("ni,ij,nj->n", pts, inv, pts) <= 1.5
    assert np.array_equal(g2.mask(sample(pts)), expected)


def test_ellipse_three_dimensions():
    g = Ellipse(("a", "b", "c"), (0, 0, 0), np.eye(3).tolist(), 1.0)
    s = sample([(1, 0, 0), (0.6, 0.6, 0.6), (0, 0, -1)], names=("a", "b", "c"))
    assert g.mask(s).tolist() == [True, False, True]


# ----------------------------------------------------------------------------- quadrant
def test_quadrant_values_on_dividers_and_unmentioned_dividers():
    fsc = Divider("FSC", "x", (10.0, 20.0))
    ssc = Divider("SSC", "y", 5.0)
    q = Quadrant(
        [fsc, ssc],
        {"mid": {"FSC": 1}, "low-low": {"FSC": 0, "SSC": 0}, "hi-hi": {"FSC": 2, "SSC": 1}},
    )
    s = sample([(10, 0), (20, 0), (9.99, 4.99), (20, 5), (NAN, 1), (15, NAN)])
    masks = q.masks(s)
    assert masks["mid"].tolist() == [True, False, False, False, False, True]
    assert masks["low-low"].tolist() == [False, False, True, False, False, False]
    assert masks["hi-hi"].tolist() == [False, False, False, True, False, False]


def test_quadrant_cross_partitions_non_nan_events():
    rng = np.random.default_rng(2)
    pts = rng.integers(-3, 4, size=(400, 2)).astype(float)
    q = Quadrant.cross("x", 0.0, "y", 1.0)
    s = sample(pts)
    stacked = np.vstack([q[n].mask(s) for n in q.names])
    assert np.all(stacked.sum(axis=0) == 1)
    assert np.array_equal(q["x+ y-"].mask(s), (pts[:, 0] >= 0) & (pts[:, 1] < 1))


# ----------------------------------------------------------------------------- booleans
def test_boolean_operators_match_numpy_logic():
    s = sample(np.random.default_rng(3).uniform(0, 1, size=(300, 2)))
    a = Threshold("x", above=0.3)
    b = Range("y", 0.2, 0.7)
    ma, mb = a.mask(s), b.mask(s)
    assert np.array_equal((a & b).mask(s), ma & mb)
    assert np.array_equal((a | b).mask(s), ma | mb)
    assert np.array_equal((~a).mask(s), ~ma)
    assert ~~a == a
    assert (a & b & a).operands == (a, b, a)
    assert np.array_equal(Or(a, Not(b)).mask(s), ma | ~mb)


def test_boolean_with_name_needs_a_strategy():
    s = sample([(0, 0)])
    with pytest.raises(GateError, match="population name"):
        And("cells", Range("x", 0, 1)).mask(s)


# ----------------------------------------------------------------------------- values
def test_gates_are_frozen_hashable_values():
    g1 = Polygon(("x", "y"), SQUARE)
    g2 = Polygon(("x", "y"), [list(v) for v in SQUARE])
    assert g1 == g2 and hash(g1) == hash(g2)
    assert len({g1, g2, Range("x", 0, 1), Range("x", 0.0, 1.0)}) == 2
    with pytest.raises(AttributeError):
        g1.vertices = ()  # type: ignore[misc]
    assert [d.channel for d in (g1 & Range("z", 0, 1)).dimensions] == ["x", "y", "z"]


@dataclass(frozen=True)
class CountingScale:
    """A hashable transform that records how often it is evaluated."""

    factor: float
    calls: list = None  # type: ignore[assignment]

    def __hash__(self) -> int:
        return hash(self.factor)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CountingScale) and other.factor == self.factor

    def __call__(self, values):
        self.calls.append(1)
        return np.asarray(values) * self.factor


def test_each_dimension_is_computed_once_per_context():
    from bcsc_flow.gates import EvaluationContext

    scale = CountingScale(2.0, [])
    dim = Dimension("x", transform=scale)
    s = sample([(1, 1), (2, 2)])
    ctx = EvaluationContext(s)
    gates = [Range(dim, 0, 3), Threshold(dim, above=1), Polygon((dim, "y"), SQUARE)]
    for g in gates:
        g.mask(ctx)
    assert len(scale.calls) == 1
    assert Range(dim, 0, 3).mask(ctx).tolist() == [True, False]


def test_ratio_dimension_divides_then_transforms():
    s = sample([(2.0, 1.0), (1.0, 4.0), (1.0, 0.0)])
    ratio = RatioDimension("x", "y", lambda a, b: a / b)
    assert Range(ratio, 1.0, 3.0).mask(s).tolist() == [True, False, False]


# ----------------------------------------------------------------------------- FCT aliases
def test_fct_aliases_map_to_gates():
    pts = np.array(list(itertools.product([-1.0, 0.0, 1.0, 2.0], repeat=2)))
    s = sample(pts)
    x, y = pts[:, 0], pts[:, 1]
    assert np.array_equal(ThresholdGate(0.0, "x", "above").mask(s), x >= 0)
    assert np.array_equal(ThresholdGate(0.0, ["x"], "below").mask(s), x < 0)
    assert np.array_equal(IntervalGate((0, 2), "x", "in").mask(s), (x >= 0) & (x < 2))
    assert np.array_equal(IntervalGate((0, 2), "x", "out").mask(s), ~((x >= 0) & (x < 2)))
    assert np.array_equal(QuadGate((0, 1), ("x", "y"), "top right").mask(s), (x >= 0) & (y >= 1))
    assert np.array_equal(QuadGate((0, 1), ("x", "y"), "bottom left").mask(s), (x < 0) & (y < 1))
    tri = [(0, 0), (2, 0), (0, 2)]
    inside = PolyGate(tri, ("x", "y"), "in").mask(s)
    assert np.array_equal(PolyGate(tri, ("x", "y"), "out").mask(s), ~inside)
    assert inside[(x == 1) & (y == 1)].all()  # on the slanted edge
    with pytest.raises(GateError):
        QuadGate((0, 1), ("x", "y"), "upper right")
    with pytest.raises(GateError):
        ThresholdGate(0.0, "x", "in")


# ----------------------------------------------------------------------------- fast path
@pytest.mark.parametrize(
    "transform_name",
    ["Linear", "Log", "Asinh", "Logicle", "Hyperlog"],
)
def test_interval_on_monotone_transform_equals_transforming_every_event(transform_name):
    from bcsc_flow import transforms
    from bcsc_flow.gates import EvaluationContext

    transform = {
        "Linear": transforms.Linear(1000.0, 100.0),
        "Log": transforms.Log(10000.0, 4.0),
        "Asinh": transforms.Asinh(10000.0, 4.0, 1.0),
        "Logicle": transforms.Logicle(262144.0, 0.5, 4.5, 0.0),
        "Hyperlog": transforms.Hyperlog(10000.0, 1.0, 4.5, 0.0),
    }[transform_name]
    rng = np.random.default_rng(4)
    bounds = [0.1, 0.37, 0.5, 0.8]
    exact_edges = [float(transform.inverse(b)) for b in bounds]
    near = [np.nextafter(e, s) for e in exact_edges for s in (-np.inf, np.inf)]
    x = np.concatenate(
        [rng.normal(0, 3000, 20000), exact_edges, near, [0.0, -1.0, np.nan, np.inf, -np.inf]]
    )
    s = Sample.from_array(x[:, None], ["A"])
    dim = Dimension("A", transform)
    with np.errstate(all="ignore"):
        y = transform(x)
    for low, high in [(0.1, 0.5), (None, 0.37), (0.8, None), (0.37, 0.8)]:
        fast = Range(dim, low, high).region(EvaluationContext(s))  # column not computed yet
        full_ctx = EvaluationContext(s)
        full_ctx.column(dim)  # forces the transformed column first
        full = Range(dim, low, high).region(full_ctx)
        with np.errstate(invalid="ignore"):
            expected = np.ones(x.shape, bool) & ~np.isnan(y)
            if low is not None:
                expected &= y >= low
            if high is not None:
                expected &= y < high
        assert np.array_equal(full, expected)
        assert np.array_equal(fast, expected), (low, high, np.flatnonzero(fast != expected)[:5])
