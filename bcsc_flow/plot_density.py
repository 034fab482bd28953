"""Plot primitives on plain arrays: binned density scatter and overlaid histograms.

A density scatter bins the events into a 2-D histogram and shows it as one image, so a
million events draw as fast as a thousand (no marker per event). Empty bins stay
transparent; counts are coloured on a log scale, as flow cytometrists expect.

matplotlib is imported inside the functions; a new Axes comes from a
:class:`matplotlib.figure.Figure` that pyplot does not manage (show it with
``ax.figure`` in a notebook, or save it with ``ax.figure.savefig(path)``).

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ax = density_scatter(rng.normal(size=1000), rng.normal(size=1000), bins=32)
>>> int(ax.images[0].get_array().sum()) <= 1000
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Limits", "bin_counts", "density_scatter", "histogram", "new_axes", "robust_limits"]

Limits = tuple[float, float]


def new_axes(figsize: tuple[float, float] = (4.0, 4.0)) -> Axes:
    """A fresh Axes on a Figure not managed by pyplot (no global state, no figure limit).

    Example
    -------
    >>> new_axes().figure.get_size_inches().tolist()
    [4.0, 4.0]
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def robust_limits(
    values: np.ndarray, *, low: float = 0.1, high: float = 99.9, pad: float = 0.05
) -> Limits:
    """Axis limits from the ``low``–``high`` percentiles of the finite values, padded.

    Example
    -------
    >>> robust_limits(np.arange(101.0), low=0, high=100, pad=0.1)
    (-10.0, 110.0)
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = np.percentile(finite, [low, high])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    span = hi - lo
    return (float(lo - pad * span), float(hi + pad * span))


def _floats(limits: Sequence[float]) -> Limits:
    return (float(limits[0]), float(limits[1]))


def bin_counts(
    x: np.ndarray, y: np.ndarray, limits: tuple[Limits, Limits], bins: int | tuple[int, int]
) -> np.ndarray:
    """Counts of events per bin, shape ``(nx, ny)``; events outside the limits are dropped.

    Equivalent to ``np.histogram2d`` over the same limits (half-open bins).

    Example
    -------
    >>> bin_counts(np.array([0.1, 0.9, 0.9]), np.array([0.1, 0.9, 0.8]), ((0, 1), (0, 1)), 2).tolist()
    [[1, 0], [0, 2]]
    """
    nx, ny = (bins, bins) if isinstance(bins, int) else bins
    (x0, x1), (y0, y1) = limits
    with np.errstate(invalid="ignore"):
        fx = (np.asarray(x, dtype=np.float64) - x0) * (nx / (x1 - x0))
        fy = (np.asarray(y, dtype=np.float64) - y0) * (ny / (y1 - y0))
        keep = (fx >= 0) & (fx < nx) & (fy >= 0) & (fy < ny)
    ix = fx[keep].astype(np.int64)
    iy = fy[keep].astype(np.int64)
    return np.bincount(ix * ny + iy, minlength=nx * ny).reshape(nx, ny)


def density_scatter(
    x: np.ndarray,
    y: np.ndarray,
    *,
    ax: Axes | None = None,
    bins: int | tuple[int, int] = 256,
    xlim: Limits | None = None,
    ylim: Limits | None = None,
    cmap: str = "viridis",
    log: bool = True,
    alpha: float = 1.0,
    xlabel: str | None = None,
    ylabel: str | None = None,
    zorder: float = 1.0,
) -> Axes:
    """A binned density plot of ``y`` against ``x``; returns the Axes.

    Limits default to the padded 0.1–99.9th percentiles; events outside them are not
    drawn. The image's array holds the counts (masked where empty).

    Example
    -------
    >>> ax = density_scatter(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]),
    ...                      xlim=(0, 4), ylim=(0, 4), bins=4, xlabel="FSC-A")
    >>> [float(v) for v in ax.get_xlim()], ax.get_xlabel(), int(ax.images[0].get_array().sum())
    ([0.0, 4.0], 'FSC-A', 3)
    """
    from matplotlib.colors import LogNorm, Normalize

    ax = ax if ax is not None else new_axes()
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xlim = _floats(xlim) if xlim is not None else robust_limits(x)
    ylim = _floats(ylim) if ylim is not None else robust_limits(y)
    counts = bin_counts(x, y, (xlim, ylim), bins)
    image = np.ma.masked_less(counts.T, 1)
    vmax = max(int(counts.max()), 1)
    norm = LogNorm(vmin=1, vmax=max(vmax, 2)) if log else Normalize(vmin=0, vmax=vmax)
    ax.imshow(
        image,
        origin="lower",
        extent=(xlim[0], xlim[1], ylim[0], ylim[1]),
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        norm=norm,
        alpha=alpha,
        zorder=zorder,
    )
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax


def _pct_above(values: np.ndarray, threshold: float, above: bool) -> float:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan")
    hit = finite > threshold if above else finite < threshold
    return 100.0 * float(hit.mean())


def histogram(
    values: np.ndarray,
    *,
    control: np.ndarray | None = None,
    threshold: float | None = None,
    above: bool = True,
    ax: Axes | None = None,
    bins: int = 200,
    xlim: Limits | None = None,
    label: str = "sample",
    control_label: str = "control",
    xlabel: str | None = None,
    colors: Sequence[str] = ("tab:blue", "0.45"),
) -> Axes:
    """Histogram of ``values`` (normalised to % of events per bin), optionally with a
    control's distribution overlaid and a threshold line with the % beyond it for each.

    ``above`` says which side of the threshold is positive. The legend names each
    distribution with its % positive, e.g. ``ALDEFLUOR: 2.1 % +``.

    Example
    -------
    >>> rng = np.random.default_rng(1)
    >>> ax = histogram(rng.normal(1, 1, 2000), control=rng.normal(0, 1, 2000), threshold=2.0,
    ...                label="ALDEFLUOR", control_label="DEAB")
    >>> [t.get_text().split(":")[0] for t in ax.get_legend().get_texts()]
    ['ALDEFLUOR', 'DEAB']
    """
    ax = ax if ax is not None else new_axes((4.5, 3.2))
    values = np.asarray(values, dtype=np.float64)
    series: list[tuple[np.ndarray, str, str]] = [(values, label, colors[0])]
    if control is not None:
        series.append((np.asarray(control, dtype=np.float64), control_label, colors[1]))
    if xlim is None:
        xlim = robust_limits(np.concatenate([s[0] for s in series]))
    xlim = _floats(xlim)
    edges = np.linspace(xlim[0], xlim[1], bins + 1)
    sign = ">" if above else "<"
    for k, (data, name, color) in enumerate(series):
        finite = data[np.isfinite(data)]
        weights = np.full(finite.shape, 100.0 / max(finite.size, 1))
        text = name
        if threshold is not None:
            text = f"{name}: {_pct_above(data, threshold, above):.2f} % {sign} {threshold:.4g}"
        ax.hist(
            finite,
            bins=edges,
            weights=weights,
            histtype="stepfilled" if k == 0 else "step",
            alpha=0.55 if k == 0 else 1.0,
            color=color,
            linewidth=1.2,
            label=text,
        )
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1.0)
    ax.set_xlim(xlim)
    ax.set_ylabel("% of events")
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    ax.legend(loc="upper right", fontsize="small", frameon=False)
    return ax
