"""Per-population statistics against independent computations (numpy/scipy) on known data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from bcsc_flow.errors import StrategyError
from bcsc_flow.gates import Dimension, Range, Threshold
from bcsc_flow.sample import Sample
from bcsc_flow.stats import channel_statistics, population_statistics
from bcsc_flow.strategy import GatingStrategy


@pytest.fixture
def result():
    rng = np.random.default_rng(7)
    n = 20000
    fsc = rng.uniform(0, 10, n)
    cd44 = rng.lognormal(mean=3.0, sigma=0.5, size=n)
    cd24 = rng.normal(100.0, 15.0, n)
    cd24[:5] = np.nan
    s = Sample.from_array(np.column_stack([fsc, cd44, cd24]), ["FSC-A", "CD44", "CD24"])
    st = (
        GatingStrategy()
        .add("cells", Range("FSC-A", 1, 9))
        .add("bright", Threshold("CD44", above=30.0), parent="cells")
        .add("none", Range("FSC-A", 50, 60))
    )
    return st.apply(s)


def test_columns_rows_and_values_match_independent_computation(result):
    table = population_statistics(result, channels=["CD44", "CD24"], percentiles=(2.5, 50, 97.5))
    assert list(table.columns) == [
        "population",
        "channel",
        "count",
        "mean",
        "median",
        "sd",
        "geometric_mean",
        "n_positive",
        "cv",
        "robust_cv",
        "p2_5",
        "p50",
        "p97_5",
    ]
    assert table[["population", "channel"]].values.tolist() == [
        ["cells", "CD44"],
        ["cells", "CD24"],
        ["bright", "CD44"],
        ["bright", "CD24"],
        ["none", "CD44"],
        ["none", "CD24"],
    ]
    mask = result.mask("bright")
    x = result.sample["CD44"][mask]
    row = table.iloc[2]
    assert row["count"] == mask.sum()
    assert row["mean"] == pytest.approx(x.mean())
    assert row["median"] == pytest.approx(np.median(x))
    assert row["sd"] == pytest.approx(x.std(ddof=1))
    assert row["geometric_mean"] == pytest.approx(sps.gmean(x))
    assert row["cv"] == pytest.approx(100 * sps.variation(x, ddof=1))
    assert row["p97_5"] == pytest.approx(np.percentile(x, 97.5))
    # NaN values are ignored, not propagated
    cd24 = result.sample["CD24"][result.mask("cells")]
    assert table.iloc[1]["count"] == np.count_nonzero(~np.isnan(cd24))
    assert table.iloc[1]["mean"] == pytest.approx(np.nanmean(cd24))


def test_robust_cv_equals_cv_for_normal_data():
    x = np.random.default_rng(3).normal(1000.0, 100.0, 200_000)
    out = channel_statistics(x)
    assert out["robust_cv"] == pytest.approx(10.0, rel=0.02)
    assert out["cv"] == pytest.approx(10.0, rel=0.02)


def test_geometric_mean_uses_positive_values_only():
    out = channel_statistics(np.array([-5.0, 0.0, 2.0, 8.0]))
    assert out["geometric_mean"] == pytest.approx(4.0)
    assert out["n_positive"] == 2 and out["count"] == 4


def test_empty_population_gives_nan(result):
    row = population_statistics(result, channels=["CD44"], populations=["none"]).iloc[0]
    assert row["count"] == 0
    assert all(
        math.isnan(row[c]) for c in ("mean", "median", "geometric_mean", "cv", "robust_cv", "p5")
    )


def test_dimension_channels_are_transformed(result):
    from bcsc_flow.transforms import Log

    dim = Dimension("CD44", Log(1000.0, 3.0))
    row = population_statistics(result, channels=[dim], populations=["cells"], percentiles=()).iloc[
        0
    ]
    values = 1 + np.log10(result.sample["CD44"][result.mask("cells")] / 1000.0) / 3.0
    assert row["median"] == pytest.approx(np.median(values))
    assert row["channel"] == "CD44 flog"


def test_errors_name_the_problem(result):
    with pytest.raises(StrategyError, match="Did you mean 'cells'"):
        population_statistics(result, populations=["cell"])
    with pytest.raises(StrategyError, match="percentile 101"):
        population_statistics(result, percentiles=(101,))
