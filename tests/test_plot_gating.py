"""Plots of gated samples: gate outlines, gate plots, thresholds vs control, backgating, path."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from test_plot import save_png

from bcsc_flow.dimensions import Dimension
from bcsc_flow.errors import GateError, StrategyError
from bcsc_flow.gates import Ellipse, Polygon, Quadrant, Range, Rectangle, Threshold
from bcsc_flow.plot_density import new_axes
from bcsc_flow.plot_gates import draw_gate, ellipse_boundary
from bcsc_flow.plot_gating import backgate, gate_plot, threshold_plot
from bcsc_flow.plot_path import gating_path, path_panels
from bcsc_flow.sample import Sample
from bcsc_flow.strategy import GatingStrategy

CD44 = Dimension("APC-A", transform=np.arcsinh)
CD24 = Dimension("PE-A", transform=np.arcsinh)
QUADRANTS = ["CD44- CD24-", "CD44+ CD24-", "CD44- CD24+", "CD44+ CD24+"]


def _sample(n: int = 20_000, seed: int = 0, aldh_shift: float = 0.0) -> Sample:
    rng = np.random.default_rng(seed)
    fsc = rng.normal(60_000, 12_000, n)
    fsc[: n // 10] = rng.uniform(0, 15_000, n // 10)  # debris
    ssc = rng.normal(40_000, 9_000, n)
    cd44 = np.sinh(rng.normal(5.0, 1.2, n))
    cd24 = np.sinh(rng.normal(6.0, 1.0, n))
    aldh = rng.normal(100 + aldh_shift, 30, n)
    events = np.column_stack([fsc, ssc, cd44, cd24, aldh])
    return Sample.from_array(
        events, ["FSC-A", "SSC-A", "APC-A", "PE-A", "FITC-A"],
        markers=[None, None, "CD44", "CD24", "ALDH"], name=f"tube{seed}",
    )  # fmt: skip


def _strategy() -> GatingStrategy:
    return (
        GatingStrategy()
        .add("cells", Polygon(("FSC-A", "SSC-A"), [(20_000, 5_000), (110_000, 5_000), (110_000, 90_000), (20_000, 90_000)]))
        .add("core", Ellipse(("FSC-A", "SSC-A"), mean=(60_000, 40_000), covariance=((1.5e8, 0), (0, 8e7)), distance_square=4.0), parent="cells")
        .add("q", Quadrant.cross(CD44, 5.5, CD24, 5.0, names=QUADRANTS), parent="core")
        .add("CD44+", Threshold(CD44, above=5.5), parent="core")
        .add("CD24-", Threshold(CD24, below=5.0), parent="core")
        .add("BCSC", Threshold(CD44, above=5.5) & "CD24-", parent="core")
        .add("ALDH+", Threshold("FITC-A", above=160.0), parent="cells")
        .add("box", Rectangle(("FSC-A", "SSC-A"), min=(50_000, None), max=(70_000, 45_000)), parent="cells")
    )  # fmt: skip


@pytest.fixture(scope="module")
def result():
    return _strategy().apply(_sample())


# ---------------------------------------------------------------- outlines


def test_ellipse_boundary_lies_on_the_gate_boundary() -> None:
    cov = np.array([[4.0, 1.2], [1.2, 1.0]])
    pts = ellipse_boundary((1.0, -2.0), cov, 2.5, n=50)
    diff = pts - np.array([1.0, -2.0])
    d2 = np.einsum("ij,jk,ik->i", diff, np.linalg.inv(cov), diff)
    assert np.allclose(d2, 2.5)


def test_polygon_outline_swaps_when_axes_are_swapped() -> None:
    gate = Polygon(("A", "B"), [(0, 0), (2, 0), (1, 5)])
    ax = new_axes()
    (patch,) = draw_gate(ax, gate, Dimension("B"), Dimension("A"))
    assert patch.get_xy()[:3].tolist() == [[0, 0], [0, 2], [5, 1]]
    assert draw_gate(ax, gate, Dimension("C"), Dimension("A")) == []  # not on these axes


def test_threshold_quadrant_and_open_rectangle_outlines() -> None:
    ax = new_axes()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    a, b = Dimension("A"), Dimension("B")
    (vline,) = draw_gate(ax, Threshold("A", above=3.0), a, b)
    assert vline.get_xdata()[0] == 3.0
    (hline,) = draw_gate(ax, Range("B", 2.0, None), a, b)
    assert hline.get_ydata()[0] == 2.0
    quad = Quadrant.cross("A", 4.0, "B", 6.0)
    lines = draw_gate(ax, quad["A+ B-"], a, b)
    assert sorted(
        float(ln.get_xdata()[0]) for ln in lines if ln.get_xdata()[0] == ln.get_xdata()[1]
    ) == [4.0]
    (rect,) = draw_gate(ax, Rectangle((a, b), min=(1.0, None), max=(5.0, 7.0)), a, b)
    assert rect.get_x() == 1.0 and rect.get_width() == 4.0
    assert rect.get_y() < 0 and rect.get_y() + rect.get_height() == 7.0  # open side runs off-view


# ---------------------------------------------------------------- gate plots


def test_gate_plot_polygon_on_all_events(result, tmp_path: Path) -> None:
    ax = gate_plot(result, "cells")
    assert ax.get_title() == "all events → cells"
    assert ax.get_xlabel() == "FSC-A" and ax.get_ylabel() == "SSC-A"
    assert len(ax.images) == 1 and len(ax.patches) == 1
    assert ax.texts[0].get_text() == f"cells\n{result.pct_of_parent('cells'):.2f} %"
    # the whole polygon is in view
    x0, x1 = ax.get_xlim()
    assert x0 <= 20_000 and x1 >= 110_000
    # the image counts only parent (here: all) events inside the limits
    assert int(ax.images[0].get_array().sum()) <= result.total_count
    save_png(ax.figure, tmp_path, "gate_plot_polygon")


def test_gate_plot_uses_parent_events_and_transformed_axes(result) -> None:
    ax = gate_plot(result, "CD44+", y=CD24)
    assert ax.get_xlabel() == "APC-A (CD44) · ufunc" and ax.get_title() == "core → CD44+"
    assert int(ax.images[0].get_array().sum()) <= result.count("core")
    # the threshold line sits at 5.5 in arcsinh units, inside the view
    xs = [ln.get_xdata()[0] for ln in ax.get_lines()]
    assert 5.5 in xs and ax.get_xlim()[0] < 5.5 < ax.get_xlim()[1]


def test_gate_plot_boolean_of_names_draws_operands(result) -> None:
    ax = gate_plot(result, "BCSC")
    assert ax.get_xlabel().startswith("APC-A (CD44)") and ax.get_ylabel().startswith("PE-A (CD24)")
    assert {
        ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_xdata()[0] == ln.get_xdata()[1]
    } == {5.5}
    assert {
        ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_ydata()[0] == ln.get_ydata()[1]
    } == {5.0}
    assert ax.texts[0].get_text().endswith(f"{result.pct_of_parent('BCSC'):.2f} %")


def test_gate_plot_1d_is_a_histogram(result) -> None:
    ax = gate_plot(result, "ALDH+")
    assert len(ax.images) == 0 and len(ax.patches) == 1
    assert ax.get_ylabel() == "% of parent events" and ax.get_xlabel() == "FITC-A (ALDH)"
    assert [ln.get_xdata()[0] for ln in ax.get_lines()] == [160.0]


def test_gate_plot_rectangle_and_ellipse(result) -> None:
    ax = gate_plot(result, "box")
    assert type(ax.patches[0]).__name__ == "Rectangle"
    ax = gate_plot(result, "core")
    assert type(ax.patches[0]).__name__ == "Polygon" and len(ax.patches[0].get_xy()) > 100


def test_gate_plot_refuses_quadrant_container(result) -> None:
    with pytest.raises(StrategyError, match="quadrant"):
        gate_plot(result, "q")


# ---------------------------------------------------------------- threshold vs control


def test_threshold_plot_against_control(tmp_path: Path) -> None:
    st = _strategy()
    test = st.apply(_sample(seed=1, aldh_shift=30))
    deab = st.apply(_sample(seed=2))
    ax = threshold_plot(test, "ALDH+", deab, label="ALDEFLUOR", control_label="DEAB")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == [
        f"ALDEFLUOR: {test.pct_of_parent('ALDH+'):.2f} % > 160",
        f"DEAB: {deab.pct_of_parent('ALDH+'):.2f} % > 160",
    ]
    assert ax.get_title() == "cells → ALDH+"
    save_png(ax.figure, tmp_path, "threshold_plot")


def test_threshold_plot_needs_1d_gate(result) -> None:
    with pytest.raises(GateError, match="1-D"):
        threshold_plot(result, "cells")


# ---------------------------------------------------------------- backgating


def test_backgate_highlights_population(result, tmp_path: Path) -> None:
    ax = backgate(result, "BCSC", x="FSC-A", y="SSC-A", ancestor="cells")
    assert len(ax.images) == 2
    assert int(ax.images[1].get_array().sum()) <= result.count("BCSC")
    pct = 100 * result.count("BCSC") / result.count("cells")
    assert ax.texts[0].get_text() == f"BCSC: {result.count('BCSC')} events, {pct:.2f} % of cells"
    save_png(ax.figure, tmp_path, "backgate")
    with pytest.raises(StrategyError, match="not an ancestor"):
        backgate(result, "cells", x="FSC-A", y="SSC-A", ancestor="BCSC")


def test_backgate_picks_strategy_transform_for_channel(result) -> None:
    ax = backgate(result, "BCSC", x="APC-A", y="PE-A")
    assert ax.get_xlim()[1] < 50  # arcsinh units, not raw intensities
    assert ax.get_xlabel() == "APC-A (CD44) · ufunc"


# ---------------------------------------------------------------- gating path


def test_path_panels_merge_quadrants_and_follow_tree_order(result) -> None:
    assert path_panels(result, ["CD44+ CD24-", "CD44+ CD24+", "BCSC"]) == [
        ["cells"], ["core"], ["CD44+ CD24-", "CD44+ CD24+"], ["BCSC"],
    ]  # fmt: skip
    with pytest.raises(StrategyError, match="no population 'BCSCs'"):
        path_panels(result, ["BCSCs"])


def test_gating_path_figure(result, tmp_path: Path) -> None:
    fig = gating_path(result, ["CD44+ CD24-", "CD44+ CD24+", "BCSC", "ALDH+"], ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == [
        "all events → cells", "cells → core", "core → CD44+ CD24-", "core → BCSC", "cells → ALDH+",
    ]  # fmt: skip
    quad_panel = visible[2]
    labels = sorted(t.get_text().split("\n")[0] for t in quad_panel.texts)
    assert labels == ["CD44+ CD24+", "CD44+ CD24-"]
    assert fig.get_suptitle() == "tube0"
    assert len(fig.axes) == 6 and not fig.axes[5].get_visible()
    save_png(fig, tmp_path, "gating_path")


def test_gating_path_from_strategy_and_sample() -> None:
    fig = gating_path(strategy=_strategy(), sample=_sample(n=2000), populations=["cells"])
    assert [ax.get_title() for ax in fig.axes] == ["all events → cells"]
    with pytest.raises(StrategyError, match="strategy= and sample="):
        gating_path()


def test_density_scatter_is_fast_enough_on_a_million_events() -> None:
    """Not a timing test: checks that 10⁶ events become one image, not 10⁶ markers."""
    sample = _sample(n=1_000_000, seed=5)
    res = GatingStrategy().add("cells", Range("FSC-A", 20_000, None)).apply(sample)
    ax = gate_plot(res, "cells", y="SSC-A")
    assert len(ax.images) == 1 and len(ax.collections) == 0


def test_logicle_polygon_is_drawn_in_transformed_units(tmp_path: Path) -> None:
    from bcsc_flow.transforms import Logicle

    f = Logicle(262144.0, 0.5, 4.5)
    x, y = Dimension("APC-A", transform=f), Dimension("PE-A", transform=f)
    verts = [(0.55, 0.2), (0.95, 0.2), (0.95, 0.6), (0.55, 0.6)]
    strategy = GatingStrategy().add("CD44+CD24-", Polygon((x, y), verts))
    res = strategy.apply(_sample(n=5_000, seed=7))
    ax = gate_plot(res, "CD44+CD24-")
    assert ax.patches[0].get_xy()[:4].tolist() == [list(v) for v in verts]
    lo, hi = ax.get_xlim()
    assert -0.5 < lo < 0.55 and 0.95 < hi < 1.5  # logicle units, gate fully in view
    assert ax.get_xlabel() == "APC-A (CD44) · logicle"
    # the image shows exactly the transformed parent events inside the limits
    tx, ty = f(res.sample["APC-A"]), f(res.sample["PE-A"])
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    inside = int(((tx >= x0) & (tx < x1) & (ty >= y0) & (ty < y1)).sum())
    assert abs(int(ax.images[0].get_array().sum()) - inside) <= 2  # bin-edge rounding only
    save_png(ax.figure, tmp_path, "gate_plot_logicle")


def test_axes_can_be_named_by_marker(result) -> None:
    ax = backgate(result, "BCSC", x="CD44", y="CD24")
    assert ax.get_xlabel() == "APC-A (CD44) · ufunc" and ax.get_ylabel() == "PE-A (CD24) · ufunc"
