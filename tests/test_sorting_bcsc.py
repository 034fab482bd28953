"""Purity of a sort simulated from the simulator's per-event truth, gated with the built-in
BCSC template frozen on the pre-sort sample (DOMAIN.md §5.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bcsc_flow as bf
from bcsc_flow.simulate import experiment, population_masks, read_event_truth
from bcsc_flow.sorting import export_population, purity


@pytest.fixture(scope="module")
def presort(tmp_path_factory):
    out = tmp_path_factory.mktemp("presort")
    res = experiment(
        out, seed=21, profile="aria", n_replicates=2, n_batches=1, events_per_tube=40_000
    )
    sheet = res.sheet.astype(str)
    samples = {row.sample: bf.read_fcs(out / row.file) for row in sheet.itertuples()}
    resolution = bf.load_template("bcsc").resolve(samples, sheet)
    truth = population_masks(read_event_truth(res.truth_dir / "irr_r1.npz"))
    return samples["irr_r1"], resolution, truth


@pytest.mark.parametrize("true_purity", [95.0, 80.0])
def test_purity_of_simulated_sort_matches_truth(presort, true_purity: float) -> None:
    pre, resolution, truth = presort
    strategy = resolution.strategy("irr_r1")  # frozen on the pre-sort sample, never re-fitted
    rng = np.random.default_rng(int(true_purity))
    # The "sorted tube": every truly HER2+ BCSC event, live non-target cells in the amount
    # that makes the true purity (of live) what we ask, and some debris.
    target = np.flatnonzero(truth["HER2+ BCSC"])
    others = np.flatnonzero(truth["live"] & ~truth["HER2+ BCSC"])
    n_other = round(len(target) * (100 - true_purity) / true_purity)
    debris = np.flatnonzero(~truth["cells"])
    picked = [
        target,
        rng.choice(others, n_other, replace=False),
        rng.choice(debris, 60, replace=False),
    ]
    post = pre.subset(np.sort(np.concatenate(picked)))
    r = purity(post, "HER2+ BCSC", strategy, of="live")
    real = 100.0 * len(target) / (len(target) + n_other)
    assert r.ci_low <= real <= r.ci_high
    assert r.purity_pct == pytest.approx(real, abs=2.0)
    assert r.n_reference == pytest.approx(len(target) + n_other, rel=0.02)  # debris stays out
    assert r.note == ("" if true_purity >= 90 else "purity < 90 %")


def test_in_silico_sort_then_purity_is_complete(presort, tmp_path: Path) -> None:
    """Exporting a population and re-analysing the file with the same frozen gates gives 100 %."""
    pre, resolution, _ = presort
    strategy = resolution.strategy("irr_r1")
    result = strategy.apply(pre)
    path = export_population(result, "HER2+ BCSC", tmp_path / "her2pos.fcs",
                             template_digest=resolution.template_digest)  # fmt: skip
    back = bf.read_fcs(path)
    assert back.keywords["BCSC_FLOW_GATE_PATH"] == "cells > singlets > live > BCSC > HER2+ BCSC"
    assert back.keywords["BCSC_FLOW_TEMPLATE_DIGEST"] == resolution.template_digest
    r = purity(back, "HER2+ BCSC", strategy, of="live")
    assert r.n_reference == r.n_target == result.count("HER2+ BCSC")
