"""bcsc_flow: flow-cytometry gating and sorting analysis for breast cancer stem cells.

Module map (imports flow down these layers; ``tests/test_layers.py`` checks it):

======================================  ================================================
``errors``, ``frozen``                  exceptions, warnings, ``warn``; FrozenMap
``sample``, ``jupyter``                 :class:`Channel`, :class:`Sample`; HTML views
``io.fcs`` (+ ``io._fcs_*``)            FCS 2.0–3.2 reader; ``io.fcs_write``: FCS 3.1 writer
``io.sheet``                            sample sheets: read, validate, infer
``simulate/``                           synthetic BCSC experiments with ground truth (a leaf)
``compensation/``, ``transforms/``      spillover and compensation; Gating-ML transforms
``dimensions``, ``gates*``              gate axes; frozen gates and boolean combinations
``strategy*``, ``stats``                gating trees, results, per-population statistics
``recipes*``                            data-driven gates (control quantiles, valleys, fits)
``template*``, ``markers``              portable templates: schema, markers, resolution
``gatingml*``, ``flowjo/``              Gating-ML 2.0 import/export; FlowJo 10 workspaces
``batch*``, ``compare/``, ``cohorts/``  folders in parallel; replicate and cohort statistics
``sorting*``, ``anndata_export``        purity, yield, sort planning, export; AnnData
``plot*``, ``report*``                  figures; the self-contained HTML report
``cli*``                                the ``bcsc-flow`` command, one module per area
======================================  ================================================

Names are imported lazily, so ``import bcsc_flow`` stays light.

Example
-------
>>> import bcsc_flow as bf
>>> bf.__version__
'0.1.0'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from bcsc_flow.errors import BcscFlowError, BcscFlowWarning, ChannelNotFoundError, FCSError
from bcsc_flow.sample import Channel, Sample

_LAZY: dict[str, str] = {
    # io
    "read_fcs": "bcsc_flow.io.fcs",
    "read_fcs_datasets": "bcsc_flow.io.fcs",
    "write_fcs": "bcsc_flow.io.fcs",
    "read_sheet": "bcsc_flow.io.sheet",
    # math
    "Spillover": "bcsc_flow.compensation",
    "compensate": "bcsc_flow.compensation",
    "Linear": "bcsc_flow.transforms",
    "Log": "bcsc_flow.transforms",
    "Asinh": "bcsc_flow.transforms",
    "Logicle": "bcsc_flow.transforms",
    "Hyperlog": "bcsc_flow.transforms",
    "Ratio": "bcsc_flow.transforms",
    "FlowJoBiex": "bcsc_flow.transforms",
    "spillover_from_controls": "bcsc_flow.compensation",
    "read_workspace": "bcsc_flow.flowjo",
    "Threshold": "bcsc_flow.gates",
    "Range": "bcsc_flow.gates",
    "Rectangle": "bcsc_flow.gates",
    "Polygon": "bcsc_flow.gates",
    "Ellipse": "bcsc_flow.gates",
    "Quadrant": "bcsc_flow.gates",
    "Dimension": "bcsc_flow.gates",
    "RatioDimension": "bcsc_flow.gates",
    "Divider": "bcsc_flow.gates",
    "QuadrantRegion": "bcsc_flow.gates",
    "And": "bcsc_flow.gates",
    "Or": "bcsc_flow.gates",
    "Not": "bcsc_flow.gates",
    "ThresholdGate": "bcsc_flow.gates",
    "IntervalGate": "bcsc_flow.gates",
    "QuadGate": "bcsc_flow.gates",
    "PolyGate": "bcsc_flow.gates",
    # tree
    "Population": "bcsc_flow.strategy",
    "GatingStrategy": "bcsc_flow.strategy",
    "GatingResult": "bcsc_flow.strategy",
    "population_statistics": "bcsc_flow.stats",
    "channel_statistics": "bcsc_flow.stats",
    # templates and experiments
    "load_template": "bcsc_flow.template",
    "Template": "bcsc_flow.template",
    "parse_template": "bcsc_flow.template",
    "template_from_strategy": "bcsc_flow.template_convert",
    "template_from_workspace": "bcsc_flow.template_convert",
    "Resolution": "bcsc_flow.template_resolve",
    "gate_folder": "bcsc_flow.batch",
    "gate_samples": "bcsc_flow.batch",
    "Results": "bcsc_flow.batch",
    "compare": "bcsc_flow.compare",
    "gate_files": "bcsc_flow.batch",
    "sample_intervals": "bcsc_flow.compare",
    "replicates_needed": "bcsc_flow.compare",
    "purity": "bcsc_flow.sorting",
    "sort_summary": "bcsc_flow.sorting",
    "plan_sort": "bcsc_flow.sorting",
    "export_population": "bcsc_flow.sorting",
    "index_sort_positions": "bcsc_flow.sorting",
    "to_anndata": "bcsc_flow.anndata_export",
    "call_specimens": "bcsc_flow.cohorts",
    "compare_cohorts": "bcsc_flow.cohorts",
}
_SUBMODULES = {
    "io",
    "gatingml",
    "flowjo",
    "simulate",
    "plot",
    "report",
    "sorting",
    "stats",
    "compensation",
    "transforms",
    "gates",
    "strategy",
    "recipes",
    "template",
    "batch",
    "cohorts",
    "jupyter",
    "anndata_export",
}

__all__ = [
    "BcscFlowError",
    "BcscFlowWarning",
    "Channel",
    "ChannelNotFoundError",
    "FCSError",
    "Sample",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"bcsc_flow.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'bcsc_flow' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | _SUBMODULES)
