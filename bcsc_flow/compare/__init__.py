"""Replicate-level comparisons between conditions (DOMAIN §4).

The biological replicate (one sample) is the unit: a population's events are never pooled
across samples into an event-level test. The default model is a quasi-binomial GLM per
population on counts; Welch and paired t-tests on logits are alternatives.

* :func:`compare` — populations table in, one row per population × contrast out.
* :func:`sample_intervals` — per-sample Wilson intervals, labelled as counting uncertainty.
* :func:`proportion_interval`, :func:`adjust_pvalues` — the building blocks.
* :func:`power`, :func:`replicates_needed` — planning replicates.

``bcsc_flow.compare`` is both this module and its main function; the module can be called
like :func:`compare`, so ``bf.compare(...)`` works however the module was imported.

Example
-------
>>> import bcsc_flow as bf
>>> from bcsc_flow.compare import sample_intervals
>>> callable(bf.compare)
True
"""

from __future__ import annotations

import sys
import types
from typing import Any

from bcsc_flow.compare._core import COLUMNS, METHODS, compare
from bcsc_flow.compare._intervals import (
    COUNTING_LABEL,
    adjust_pvalues,
    proportion_interval,
    sample_intervals,
)
from bcsc_flow.compare._power import power, replicates_needed

__all__ = [
    "COLUMNS",
    "COUNTING_LABEL",
    "METHODS",
    "adjust_pvalues",
    "compare",
    "power",
    "proportion_interval",
    "replicates_needed",
    "sample_intervals",
]


class _CallableModule(types.ModuleType):
    """Importing ``bcsc_flow.compare`` binds the module to ``bcsc_flow.compare``; make it callable."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return compare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
