"""Plot functions: image-free checks (limits, artists, labels, texts) plus one PNG each."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from bcsc_flow.errors import ComparisonError, SheetError
from bcsc_flow.plot_compare import comparison_plot, mean_ci
from bcsc_flow.plot_density import bin_counts, density_scatter, histogram


def save_png(figure, tmp_path: Path, name: str) -> Path:
    """Render to PNG in tmp_path (and copy to $BCSC_ARTIFACTS when set); check it is a PNG."""
    path = tmp_path / f"{name}.png"
    figure.savefig(path, dpi=80)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("BCSC_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
    return path


def test_bin_counts_equals_numpy_histogram2d() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=20_000), rng.normal(size=20_000)
    ours = bin_counts(x, y, ((-2, 2), (-1.5, 2.5)), (40, 30))
    ref, _, _ = np.histogram2d(x, y, bins=(40, 30), range=((-2, 2), (-1.5, 2.5)))
    # numpy closes the last bin on the right; no sample sits exactly on an edge here
    assert np.array_equal(ours, ref.astype(np.int64))


def test_density_scatter_image_holds_counts(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=50_000), rng.normal(size=50_000)
    ax = density_scatter(x, y, xlim=(-3, 3), ylim=(-3, 3), bins=64, xlabel="CD44", ylabel="CD24")
    assert len(ax.images) == 1
    inside = int(((np.abs(x) < 3) & (np.abs(y) < 3)).sum())
    assert int(ax.images[0].get_array().sum()) == inside
    assert tuple(ax.get_xlim()) == (-3.0, 3.0) and tuple(ax.get_ylim()) == (-3.0, 3.0)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("CD44", "CD24")
    save_png(ax.figure, tmp_path, "density_scatter")


def test_density_scatter_default_limits_cover_bulk() -> None:
    x = np.concatenate([np.linspace(0, 100, 10_001), [np.nan, np.inf]])
    ax = density_scatter(x, x)
    lo, hi = ax.get_xlim()
    assert lo < 1 and hi > 99 and hi < 120


def test_histogram_percentages_and_threshold(tmp_path: Path) -> None:
    sample = np.r_[np.zeros(970), np.full(30, 5.0)]  # 3 % above 2
    control = np.r_[np.zeros(995), np.full(5, 5.0)]  # 0.5 % above 2
    ax = histogram(
        sample,
        control=control,
        threshold=2.0,
        label="ALDEFLUOR",
        control_label="DEAB",
        xlim=(-1, 6),
        xlabel="ALDH",
    )
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["ALDEFLUOR: 3.00 % > 2", "DEAB: 0.50 % > 2"]
    assert any(line.get_xdata()[0] == 2.0 for line in ax.get_lines())
    assert len(ax.patches) == 2  # one filled sample outline, one control outline
    assert ax.get_xlabel() == "ALDH" and ax.get_ylabel() == "% of events"
    save_png(ax.figure, tmp_path, "histogram")


def test_histogram_below_threshold() -> None:
    ax = histogram(np.r_[np.zeros(9), 10.0], threshold=1.0, above=False, xlim=(-1, 11))
    assert ax.get_legend().get_texts()[0].get_text() == "sample: 90.00 % < 1"


def _pops() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample": ["u1", "u2", "u3", "i1", "i2", "i3"],
            "population": ["BCSC"] * 6,
            "condition": ["untreated"] * 3 + ["irradiated"] * 3,
            "pct_of_parent": [2.0, 2.5, 3.0, 5.0, 6.0, 7.0],
        }
    )


def test_comparison_plot_dots_means_cis_and_q(tmp_path: Path) -> None:
    cmp = pd.DataFrame(
        {
            "population": ["BCSC", "BCSC"],
            "metric": ["pct_of_parent", "pct_of_total"],
            "reference": ["untreated", "untreated"],
            "level": ["irradiated", "irradiated"],
            "diff": [3.5, 9.9],
            "ci_low": [1.8, 0.0],
            "ci_high": [5.2, 0.0],
            "q_value": [0.0042, 0.5],
        }
    )
    ax = comparison_plot(_pops().iloc[::-1], cmp, population="BCSC")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["untreated", "irradiated"]
    dots = [c for c in ax.collections if c.get_offsets().shape[0] == 3 and hasattr(c, "get_sizes")]
    assert len(dots) >= 2
    ys = sorted(float(v) for c in dots[:2] for v in c.get_offsets()[:, 1])
    assert ys == [2.0, 2.5, 3.0, 5.0, 6.0, 7.0]
    assert [t.get_text() for t in ax.texts] == ["Δ 3.5 [1.8, 5.2]\nq = 0.0042"]
    assert ax.get_ylabel() == "% of parent" and ax.get_title() == "BCSC"
    # the means (2.5 and 6.0) are drawn as horizontal bars
    segments = [
        s for c in ax.collections if type(c).__name__ == "LineCollection" for s in c.get_segments()
    ]
    flat = {round(float(s[0][1]), 6) for s in segments if s[0][1] == s[1][1]}
    assert {2.5, 6.0} <= flat
    save_png(ax.figure, tmp_path, "comparison_plot")


def test_mean_ci_matches_scipy() -> None:
    from scipy import stats

    values = [5.0, 6.0, 7.0]
    low, high = stats.t.interval(0.95, 2, loc=6.0, scale=stats.sem(values))
    assert mean_ci(values) == pytest.approx((6.0, low, high))


def test_comparison_plot_errors() -> None:
    with pytest.raises(ComparisonError, match="no rows for population"):
        comparison_plot(_pops(), population="ALDH+")
    with pytest.raises(ComparisonError, match="no column 'batch'"):
        comparison_plot(_pops(), population="BCSC", by="batch")


def test_comparison_plot_with_real_compare_output() -> None:
    import bcsc_flow as bf

    pops = _pops().assign(count=[20, 25, 30, 50, 60, 70], parent_count=1000)
    cmp = bf.compare(pops, by="condition", reference="untreated")
    ax = comparison_plot(pops, cmp, population="BCSC")
    row = cmp[(cmp["population"] == "BCSC") & (cmp["level"] == "irradiated")].iloc[0]
    (text,) = [t.get_text() for t in ax.texts]
    assert text.startswith(f"Δ {row['diff']:.3g} [{row['ci_low']:.3g}, {row['ci_high']:.3g}]")
    assert text.endswith(f"q = {row['q_value']:.2g}" if row["q_value"] >= 0.001 else "q < 0.001")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["untreated", "irradiated"]


def test_plate_plot_from_index_sort_keywords(tmp_path: Path) -> None:
    from bcsc_flow.plot_plate import plate_plot
    from bcsc_flow.sample import Sample
    from bcsc_flow.sorting_index import index_sort_positions

    locations = ";".join(f"{r},{c}" for r, c in [(0, 0), (0, 1), (3, 11), (15, 23)])
    sample = Sample.from_array(
        np.array([[1.0], [5.0], [7.0], [2.0]]),
        ["HER2"],
        keywords={"INDEX SORTING LOCATIONS_1": locations},
    )
    wells = index_sort_positions(sample).assign(HER2_high=lambda t: sample["HER2"] > 4)
    ax = plate_plot(wells, color_by="HER2_high")
    assert len(ax.collections[0].get_offsets()) == 16 * 24  # a 384-well plate (row 15 is used)
    filled = ax.collections[1]
    assert sorted(map(tuple, filled.get_offsets().tolist())) == [(0, 0), (1, 0), (11, 3), (23, 15)]
    assert ax.get_title() == "HER2_high: 2 of 4 wells"
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "P"
    save_png(ax.figure, tmp_path, "plate_plot")
    numeric = plate_plot(wells.iloc[:3], color_by="event")
    assert len(numeric.collections[0].get_offsets()) == 96
    with pytest.raises(SheetError, match="no column 'x'"):
        plate_plot(wells, color_by="x")
