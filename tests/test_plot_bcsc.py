"""Figures of the built-in BCSC template on a simulated experiment (one PNG each)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest
from test_plot import save_png

import bcsc_flow as bf
from bcsc_flow.plot import gating_path, threshold_plot
from bcsc_flow.simulate import experiment

CONTRACT = [
    "cells",
    "singlets",
    "live",
    "BCSC",
    "HER2+ BCSC",
    "HER2- BCSC",
    "HER2+",
    "ALDH+",
    "ALDH+ BCSC",
]


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    out = tmp_path_factory.mktemp("bcsc")
    res = experiment(
        out, seed=4, profile="fortessa", n_replicates=2, n_batches=1, events_per_tube=20_000
    )
    sheet = res.sheet.astype(str)
    samples = {row.sample: bf.read_fcs(out / row.file) for row in sheet.itertuples()}
    resolution = bf.load_template("bcsc").resolve(samples, sheet)
    return samples, resolution


def test_gating_path_of_the_bcsc_template(gated, tmp_path: Path) -> None:
    samples, resolution = gated
    result = resolution.strategy("irr_r1").apply(samples["irr_r1"])
    fig = gating_path(result, ["HER2+ BCSC", "HER2- BCSC", "ALDH+ BCSC", "HER2+", "ALDH+"])
    panels = [ax for ax in fig.axes if ax.get_visible()]
    drawn = [ax.get_title().split(" → ")[1] for ax in panels]
    assert set(drawn) <= set(CONTRACT) and {"cells", "singlets", "live", "BCSC"} <= set(drawn)
    for ax in panels:
        name = ax.get_title().split(" → ")[1]
        label = next(t.get_text() for t in ax.texts if t.get_text().startswith(name + "\n"))
        assert label == f"{name}\n{result.pct_of_parent(name):.2f} %"
        assert ax.get_xlabel()  # every panel names its axis (detector, marker, transform)
    save_png(fig, tmp_path, "bcsc_gating_path")


def test_aldh_against_its_deab_control(gated, tmp_path: Path) -> None:
    samples, resolution = gated
    strategy = resolution.strategy("irr_r1")
    test, deab = strategy.apply(samples["irr_r1"]), strategy.apply(samples["deab_irr_r1"])
    ax = threshold_plot(test, "ALDH+", deab, label="ALDEFLUOR", control_label="DEAB")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0].startswith(f"ALDEFLUOR: {test.pct_of_parent('ALDH+'):.2f} %")
    assert texts[1].startswith(f"DEAB: {deab.pct_of_parent('ALDH+'):.2f} %")
    # the DEAB gate leaves about 0.5 % of the DEAB tube positive (DOMAIN §2.2)
    assert deab.pct_of_parent("ALDH+") < 1.5 < test.pct_of_parent("ALDH+")
    save_png(ax.figure, tmp_path, "bcsc_aldh_vs_deab")
