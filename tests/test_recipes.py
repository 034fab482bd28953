"""Data-driven recipes on synthetic arrays with known answers (no simulator needed)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from bcsc_flow.dimensions import Dimension
from bcsc_flow.errors import RecipeError
from bcsc_flow.gates import Ellipse, Or, Polygon, Range, Threshold
from bcsc_flow.recipes import (
    THRESHOLD_COLUMNS,
    Cells,
    ControlQuantile,
    DensityValley,
    Mixture,
    SingletFit,
    StableFlow,
    thresholds_frame,
)
from bcsc_flow.sample import Channel, Sample
from bcsc_flow.transforms import Logicle


def _sample(
    columns: dict[str, np.ndarray], name: str = "s", ranges: dict[str, float] | None = None
) -> Sample:
    names = list(columns)
    chans = [Channel(n, range=(ranges or {}).get(n)) for n in names]
    return Sample(
        name=name, events=np.column_stack([columns[n] for n in names]), channels=tuple(chans)
    )


def test_control_quantile_matches_the_control_distribution_quantile() -> None:
    rng = np.random.default_rng(0)
    fmo = _sample({"APC-A": rng.normal(100.0, 50.0, 200_000)}, "fmo.fcs")
    gate, prov = ControlQuantile("APC-A", control="fmo:CD44", q=0.995).resolve(
        None, {"fmo:CD44": fmo}
    )
    expected = norm.ppf(0.995, 100.0, 50.0)
    assert isinstance(gate, Threshold)
    assert gate.above == pytest.approx(expected, rel=0.01)
    assert prov.control_events == 200_000 and prov.control_role == "fmo:CD44"


def test_control_quantile_multiplier_offset_and_transformed_axis() -> None:
    rng = np.random.default_rng(1)
    fmo = _sample({"PE-A": rng.normal(500.0, 100.0, 100_000)})
    t = Logicle(262144.0, 0.5, 4.5)
    rec = ControlQuantile(
        Dimension("PE-A", t), control="fmo:CD24", side="below", q=0.99, multiply=2.0, offset=10.0
    )
    gate, prov = rec.resolve(None, {"fmo:CD24": fmo})
    expected = norm.ppf(0.99, 500.0, 100.0) * 2.0 + 10.0
    assert prov.value == pytest.approx(expected, rel=0.01)
    assert gate.below == pytest.approx(float(t(np.array([prov.value]))[0]))
    assert "x2" in prov.statistic and "+10" in prov.statistic


def test_control_quantile_missing_control_names_role_and_given() -> None:
    with pytest.raises(RecipeError, match=r"'fmo:CD44' was not given.*Did you mean 'fmo:CD24'"):
        ControlQuantile("APC-A", control="fmo:CD44").resolve(
            None, {"fmo:CD24": _sample({"APC-A": np.ones(5)})}
        )


def test_density_valley_falls_at_the_mixture_density_minimum() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(1.0, 0.25, 60_000), rng.normal(3.0, 0.35, 40_000)])
    gate, prov = DensityValley("X", side="above").resolve(_sample({"X": x}), {})
    grid = np.linspace(1.0, 3.0, 20001)
    dens = 0.6 * norm.pdf(grid, 1.0, 0.25) + 0.4 * norm.pdf(grid, 3.0, 0.35)
    assert gate.above == pytest.approx(grid[np.argmin(dens)], abs=0.08)
    assert prov.statistic == "valley between peaks"


def test_density_valley_one_peak_uses_stated_fallback_or_raises() -> None:
    x = np.random.default_rng(3).normal(0.0, 1.0, 5000)
    gate, prov = DensityValley("X", side="below", search=(1.5, 2.5), fallback="range_high").resolve(
        _sample({"X": x})
    )
    assert gate.below == 2.5 and prov.statistic == "fallback range_high"
    with pytest.raises(RecipeError, match="no valley"):
        DensityValley("X", search=(1.5, 2.5), fallback="error").resolve(_sample({"X": x}))


def test_mixture_two_dimensional_ellipse_holds_the_asked_mass() -> None:
    rng = np.random.default_rng(4)
    main = rng.multivariate_normal([5.0, 5.0], [[1.0, 0.5], [0.5, 1.0]], 20_000)
    other = rng.normal(0.0, 1.0, (20_000, 2))
    s = _sample({"A": np.r_[main[:, 0], other[:, 0]], "B": np.r_[main[:, 1], other[:, 1]]})
    gate, _ = Mixture(("A", "B"), n_components=2, target=(5.0, 5.0), quantile=0.9).resolve(s)
    assert isinstance(gate, Ellipse)
    inside = gate.mask(s)
    assert inside[:20_000].mean() == pytest.approx(0.9, abs=0.02)
    assert inside[20_000:].mean() < 0.01


def test_mixture_one_dimensional_probability_interval() -> None:
    rng = np.random.default_rng(5)
    s = _sample({"A": np.r_[rng.normal(0.0, 1.0, 5000), rng.normal(10.0, 1.0, 5000)]})
    gate, _ = Mixture("A", n_components=2, target=(10.0,), probability=0.5).resolve(s)
    assert isinstance(gate, Range)
    assert gate.min == pytest.approx(
        5.0, abs=0.2
    )  # equal weights and SDs: posterior 0.5 at midpoint


def test_singlet_fit_separates_doublets() -> None:
    rng = np.random.default_rng(6)
    n, k = 20_000, 1_000
    area = np.clip(rng.normal(1e5, 2e4, n), 2e4, 2.5e5)
    height = area * rng.normal(0.78, 0.04, n)
    a1, a2 = rng.normal(1e5, 2e4, (2, k))
    d_area = a1 + a2
    d_height = np.maximum(a1, a2) * 0.78 * rng.normal(1.1, 0.03, k)
    s = _sample({"FSC-A": np.r_[area, d_area], "FSC-H": np.r_[height, d_height]})
    gate, prov = SingletFit(("FSC-A", "FSC-H")).resolve(s)
    mask = gate.mask(s)
    assert isinstance(gate, Polygon)
    assert mask[:n].mean() > 0.995 and mask[n:].mean() < 0.05
    assert float(prov.value) == pytest.approx(0.78, abs=0.01)


def test_singlet_fit_on_width_flags_wide_doublets() -> None:
    rng = np.random.default_rng(9)
    n, k = 10_000, 500
    area = np.r_[rng.normal(1e5, 2e4, n), rng.normal(2e5, 3e4, k)]
    width = np.r_[rng.normal(60.0, 2.0, n), rng.normal(95.0, 5.0, k)]
    s = _sample({"FSC-A": area, "FSC-W": width})
    mask = SingletFit(("FSC-A", "FSC-W")).resolve(s)[0].mask(s)
    assert mask[:n].mean() > 0.99 and mask[n:].mean() < 0.02


def test_cells_cuts_debris_and_off_scale() -> None:
    rng = np.random.default_rng(7)
    cells = np.clip(rng.normal(1e5, 2e4, 9000), 2e4, 2.5e5)
    debris = 12_000 * 10 ** rng.normal(0, 0.25, 1000)
    fsc = np.r_[cells, debris, np.full(50, 262143.0)]
    ssc = np.r_[
        60_000 * 10 ** rng.normal(0, 0.12, 9000),
        15_000 * 10 ** rng.normal(0, 0.3, 1000),
        np.full(50, 5e4),
    ]
    s = _sample({"FSC-A": fsc, "SSC-A": ssc}, ranges={"FSC-A": 262144.0, "SSC-A": 262144.0})
    for method in ("density", "mixture"):
        gate, _ = Cells(("FSC-A", "SSC-A"), method=method).resolve(s)
        mask = gate.mask(s)
        assert mask[:9000].mean() > 0.9, method
        assert mask[9000:10000].mean() < 0.1, method
        assert not mask[10000:].any(), method


def test_stable_flow_drops_a_clog() -> None:
    rng = np.random.default_rng(8)
    t = np.sort(rng.uniform(0.0, 100.0, 30_000))
    x = rng.normal(2.0, 0.3, t.size)
    clog = (t > 60) & (t < 70)
    x[clog] += 1.0
    s = _sample({"Time": t, "X": x})
    gate, prov = StableFlow("Time", watch=(Dimension("X"),)).resolve(s)
    mask = gate.mask(s)
    assert isinstance(gate, Or)
    assert mask[clog].mean() < 0.1 and mask[~clog].mean() > 0.97
    assert prov.value == pytest.approx(1 - mask.mean())


def test_thresholds_frame_has_documented_columns() -> None:
    _, prov = ControlQuantile("A", control="deab").resolve(
        None, {"deab": _sample({"A": np.arange(100.0)}, "d.fcs")}
    )
    frame = thresholds_frame([prov.row(sample="s1", population="ALDH+")])
    assert tuple(frame.columns) == THRESHOLD_COLUMNS
    assert frame.loc[0, "control_file"] == "d.fcs" and frame.loc[0, "sample"] == "s1"
