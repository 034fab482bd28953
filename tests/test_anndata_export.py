"""AnnData export (optional extra): shapes, values, membership, sheet columns, h5ad round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bcsc_flow.errors import (
    ChannelNotFoundError,
    OptionalDependencyError,
    SheetError,
    StrategyError,
)
from bcsc_flow.gates import Range, Threshold
from bcsc_flow.sample import Sample
from bcsc_flow.strategy import GatingStrategy

anndata = pytest.importorskip("anndata")

from bcsc_flow.anndata_export import to_anndata  # noqa: E402


def _sample(name: str, n: int, seed: int, order=("FSC-A", "APC-A", "PE-A")) -> Sample:
    rng = np.random.default_rng(seed)
    markers = {"FSC-A": None, "APC-A": "CD44 APC", "PE-A": "CD24 PE"}
    values = rng.uniform(0, 10, (n, len(order)))
    return Sample.from_array(values, list(order), markers=[markers[c] for c in order], name=name)


STRATEGY = (
    GatingStrategy()
    .add("cells", Range("FSC-A", 2.0, None))
    .add("CD44+", Threshold("APC-A", above=5.0), parent="cells")
)


def test_single_sample_values_and_var() -> None:
    s = _sample("s1", 50, 0)
    adata = to_anndata(s)
    assert adata.shape == (50, 3)
    assert np.array_equal(adata.X, np.asarray(s.events, dtype=np.float32))
    assert adata.var.index.tolist() == ["FSC-A", "APC-A", "PE-A"]
    assert adata.var["marker"].tolist() == ["", "CD44 APC", "CD24 PE"]
    assert adata.obs["event"].tolist() == list(range(50))
    assert adata.obs.index[3] == "s1:3"
    assert adata.uns["bcsc_flow"]["samples"]["s1"]["n_events"] == 50


def test_batch_with_membership_sheet_and_marker_channels(tmp_path) -> None:
    a = _sample("a", 40, 1)
    b = _sample("b", 30, 2, order=("PE-A", "FSC-A", "APC-A"))  # other column order
    results = [STRATEGY.apply(a), STRATEGY.apply(b)]
    sheet = pd.DataFrame(
        {
            "sample": ["a", "b", "c"],
            "condition": ["untreated", "irradiated", "x"],
            "replicate": [1, 1, 2],
        }
    )
    adata = to_anndata(results, sheet=sheet, channels=["FSC-A", "CD44", "CD24"])
    assert adata.shape == (70, 3)
    assert adata.var.index.tolist() == ["FSC-A", "CD44", "CD24"]
    assert adata.var["detector"].tolist() == ["FSC-A", "APC-A", "PE-A"]
    # the values follow the marker, whatever the column order of each file
    assert np.array_equal(adata.X[40:, 1], b["APC-A"].astype(np.float32))
    for res, part in zip(results, (adata[:40], adata[40:])):
        for pop in ("cells", "CD44+"):
            assert part.obs[pop].tolist() == np.asarray(res.mask(pop)).tolist()
    assert adata.obs["condition"].tolist() == ["untreated"] * 40 + ["irradiated"] * 30
    assert str(adata.obs["sample"].dtype) == "category"
    path = tmp_path / "batch.h5ad"
    adata.write_h5ad(path)
    back = anndata.read_h5ad(path)
    assert back.shape == adata.shape and back.obs["CD44+"].sum() == adata.obs["CD44+"].sum()


def test_subsampling_keeps_original_event_numbers() -> None:
    s = _sample("s", 1000, 3)
    res = STRATEGY.apply(s)
    adata = to_anndata(res, max_events_per_sample=100, seed=4, populations=["CD44+"])
    events = adata.obs["event"].to_numpy()
    assert adata.n_obs == 100 and len(set(events)) == 100
    assert np.array_equal(adata.X[:, 0], np.asarray(s.events[events, 0], dtype=np.float32))
    assert adata.obs["CD44+"].tolist() == np.asarray(res.mask("CD44+"))[events].tolist()
    assert "cells" not in adata.obs


def test_batch_results_object_is_accepted() -> None:
    class FakeResults:  # the shape of bcsc_flow.batch.Results with keep_results=True
        def __init__(self, samples, sheet):
            self.samples = samples
            self.sheet = sheet

    res = {"a": STRATEGY.apply(_sample("a", 10, 5))}
    adata = to_anndata(FakeResults(res, pd.DataFrame({"sample": ["a"], "batch": ["b1"]})))
    assert adata.obs["batch"].tolist() == ["b1"] * 10


def test_errors_name_the_problem() -> None:
    a, b = _sample("a", 5, 1), _sample("a", 5, 2)
    with pytest.raises(SheetError, match="unique"):
        to_anndata([a, b])
    with pytest.raises(ChannelNotFoundError, match="HER2"):
        to_anndata(a, channels=["HER2"])
    with pytest.raises(StrategyError, match="population 'BCSC'"):
        to_anndata(STRATEGY.apply(a), populations=["BCSC"])
    with pytest.raises(SheetError, match="'sample' column"):
        to_anndata(a, sheet=pd.DataFrame({"file": ["a.fcs"]}))
    with pytest.raises(StrategyError, match="Samples or GatingResults"):
        to_anndata([1, 2])


def test_missing_anndata_gives_install_hint(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "anndata":
            raise ImportError("No module named 'anndata'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(OptionalDependencyError, match=r"pip install 'bcsc_flow\[anndata\]'"):
        to_anndata(_sample("a", 3, 0))
