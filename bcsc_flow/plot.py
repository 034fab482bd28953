"""matplotlib figures for gated samples and experiments (``bcsc_flow.plot``).

=============================  ==========================================================
:func:`density_scatter`        binned density plot of two arrays (fast on 10⁶ events)
:func:`histogram`              histogram with a threshold and a control overlaid
:func:`gate_plot`              a population's gate on its parent's events, with its %
:func:`threshold_plot`         a 1-D gate against a control tube (ALDEFLUOR vs DEAB)
:func:`backgate`               a population highlighted on an ancestor's events
:func:`gating_path`            the gating strategy of one sample as a grid (a Figure)
:func:`comparison_plot`        replicates per condition, means, CIs and q-values
:func:`draw_gate`              a gate's outline on an existing Axes
:func:`plate_plot`             wells of an index sort, coloured by population or value
=============================  ==========================================================

Every plotting function takes an optional ``ax`` and returns the Axes (``gating_path``
returns its Figure). New figures are :class:`matplotlib.figure.Figure` objects that pyplot
does not manage: save them with ``ax.figure.savefig(path)``, or display ``ax.figure`` in
a notebook. matplotlib is imported by this module, never by ``import bcsc_flow``.

Example
-------
>>> import numpy as np
>>> from bcsc_flow import plot
>>> ax = plot.density_scatter(np.arange(10.0), np.arange(10.0), bins=8)
>>> int(ax.images[0].get_array().sum())
10
"""

from __future__ import annotations

from bcsc_flow.plot_compare import comparison_plot, mean_ci
from bcsc_flow.plot_density import density_scatter, histogram, new_axes
from bcsc_flow.plot_gates import draw_gate
from bcsc_flow.plot_gating import backgate, gate_plot, threshold_plot
from bcsc_flow.plot_path import gating_path
from bcsc_flow.plot_plate import plate_plot

__all__ = [
    "backgate",
    "comparison_plot",
    "density_scatter",
    "draw_gate",
    "gate_plot",
    "gating_path",
    "histogram",
    "mean_ci",
    "new_axes",
    "plate_plot",
    "threshold_plot",
]
