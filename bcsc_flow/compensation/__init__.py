"""Spillover matrices and compensation (and spectral unmixing).

A :class:`Spillover` holds a ``k × m`` matrix ``S``: row ``i`` is the spectrum of
fluorochrome ``i`` over the ``m`` detectors (diagonal 1 for a classic square matrix,
``S[i, j]`` = fraction of fluorochrome ``i``'s signal seen in detector ``j``). For an
event's detector values ``d`` (row vector, scale values), compensated values are
``f = d · S⁻¹`` (square; computed with a linear solve) or the least-squares unmixing
``f = d · S⁺`` (``m > k``, as Gating-ML's ``spectrumMatrix``). Compensation comes before
any display transform.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.compensation import Spillover, compensate
>>> sp = Spillover.from_array([[1.0, 0.2], [0.0, 1.0]], ["FITC-A", "PE-A"])
>>> raw = np.array([[1000.0, 250.0]])            # true FITC 1000, PE 50; 20 % spill
>>> sp.apply(raw).round(6).tolist()
[[1000.0, 50.0]]
>>> s = Sample.from_array(raw, ["FITC-A", "PE-A"])
>>> compensate(s, sp).events.round(6).tolist()
[[1000.0, 50.0]]
"""

from __future__ import annotations

from bcsc_flow.compensation._apply import COMPENSATED_KEYWORD, compensate
from bcsc_flow.compensation._controls import spillover_from_controls
from bcsc_flow.compensation._spillover import Spillover

__all__ = ["COMPENSATED_KEYWORD", "Spillover", "compensate", "spillover_from_controls"]
