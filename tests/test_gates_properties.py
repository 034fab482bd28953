"""Property tests (hypothesis): hierarchy, boolean algebra and exact boundary semantics."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bcsc_flow.gates import Ellipse, Polygon, Range, Rectangle, Threshold
from bcsc_flow.sample import Sample
from bcsc_flow.strategy import GatingStrategy

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
values = st.lists(st.one_of(finite, st.just(float("nan"))), min_size=1, max_size=60)


def interval():
    return st.tuples(finite, finite).filter(lambda t: t[0] != t[1]).map(sorted)


def column_sample(xs, ys=None) -> Sample:
    ys = xs if ys is None else ys
    return Sample.from_array(np.column_stack([xs, ys]), ["x", "y"])


@settings(max_examples=60, deadline=None)
@given(values, st.lists(interval(), min_size=1, max_size=4))
def test_child_is_subset_of_parent(xs, bounds):
    strategy = GatingStrategy()
    parent = None
    for k, (lo, hi) in enumerate(bounds):
        strategy = strategy.add(f"p{k}", Range("x", lo, hi), parent=parent)
        parent = f"p{k}"
    result = strategy.apply(column_sample(xs))
    for k in range(1, len(bounds)):
        child, up = result.mask(f"p{k}"), result.mask(f"p{k - 1}")
        assert not np.any(child & ~up)
        assert result.count(f"p{k}") <= result.count(f"p{k - 1}")


@settings(max_examples=60, deadline=None)
@given(values, interval(), finite)
def test_boolean_algebra_matches_elementwise_logic(xs, bounds, cut):
    s = column_sample(xs)
    a, b = Range("x", *bounds), Threshold("y", above=cut)
    ma, mb = a.mask(s), b.mask(s)
    assert np.array_equal((a & b).mask(s), ma & mb)
    assert np.array_equal((a | b).mask(s), ma | mb)
    assert np.array_equal((~a).mask(s), ~ma)
    assert np.array_equal((~~a).mask(s), ma)
    assert np.array_equal((~(a & b)).mask(s), (~a | ~b).mask(s))


@settings(max_examples=60, deadline=None)
@given(interval(), interval())
def test_rectangle_min_inclusive_max_exclusive(bx, by):
    (x0, x1), (y0, y1) = bx, by
    rect = Rectangle(("x", "y"), (x0, y0), (x1, y1))
    s = column_sample([x0, x1, x0, x1], [y0, y0, y1, y1])
    assert rect.mask(s).tolist() == [True, False, False, False]


small = st.integers(min_value=-50, max_value=50)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(small, small), min_size=3, max_size=8, unique=True))
def test_polygon_vertices_and_edge_midpoints_are_inside(points):
    # even integer vertices make every edge midpoint exactly representable
    verts = [(2.0 * px, 2.0 * py) for px, py in points]
    poly = Polygon(("x", "y"), verts)
    mids = [
        ((ax + bx) / 2, (ay + by) / 2) for (ax, ay), (bx, by) in zip(verts, verts[1:] + verts[:1])
    ]
    pts = np.array(verts + mids)
    assert poly.mask(column_sample(pts[:, 0], pts[:, 1])).all()


@settings(max_examples=60, deadline=None)
@given(small, small, st.integers(0, 6), st.integers(0, 6), st.sampled_from([1.0, 4.0, 0.25]))
def test_ellipse_boundary_is_inside(mx, my, ex, ey, dist):
    a, b = 2.0**ex, 2.0**ey  # half-axes for D = 1; covariance diag(a², b²)
    ell = Ellipse(("x", "y"), (mx, my), ((a * a, 0.0), (0.0, b * b)), dist)
    r = dist**0.5
    on = [(mx + a * r, my), (mx - a * r, my), (mx, my + b * r), (mx, my - b * r)]
    out = [(mx + a * r * 1.01, my), (mx, my - b * r * 1.01)]
    pts = np.array(on + out)
    assert ell.mask(column_sample(pts[:, 0], pts[:, 1])).tolist() == [True] * 4 + [False] * 2


def reference_polygon(x, y, verts):
    """The rule of STANDARDS C.5 written plainly over all events and edges."""
    inside = np.zeros(x.shape, dtype=bool)
    edge = np.zeros(x.shape, dtype=bool)
    for k in range(len(verts)):
        xi, yi = verts[k]
        xj, yj = verts[k - 1]
        with np.errstate(all="ignore"):
            if yi != yj:
                inside ^= ((yi > y) != (yj > y)) & (x < xi + (y - yi) * (xj - xi) / (yj - yi))
            edge |= (
                ((xj - xi) * (y - yi) - (x - xi) * (yj - yi) == 0)
                & (x >= min(xi, xj))
                & (x <= max(xi, xj))
                & (y >= min(yi, yj))
                & (y <= max(yi, yj))
            )
    return inside | edge


coordinate = st.one_of(small.map(float), st.floats(-60, 60, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=7),
    st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=40),
    st.floats(0.1, 1e6, allow_nan=False),
)
def test_polygon_matches_the_plain_rule_exactly(verts, points, scale):
    verts = [(vx * scale / 7, vy * scale / 7) for vx, vy in verts]
    pts = [(px * scale / 7, py * scale / 7) for px, py in points]
    # add every vertex and points on every edge (midpoints and thirds)
    for (ax, ay), (bx, by) in zip(verts, verts[1:] + verts[:1]):
        pts += [(ax, ay), ((ax + bx) / 2, (ay + by) / 2), (ax + (bx - ax) / 3, ay + (by - ay) / 3)]
    arr = np.array(pts)
    got = Polygon(("x", "y"), verts).mask(column_sample(arr[:, 0], arr[:, 1]))
    assert np.array_equal(got, reference_polygon(arr[:, 0], arr[:, 1], verts))
