"""Numeric cores on plain arrays: singlet band, scatter (cells) box, Gaussian mixtures.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> area = rng.normal(1e5, 2e4, 4000)
>>> band = singlet_band(area, area * rng.normal(0.78, 0.03, 4000))
>>> round(band.slope, 2), band.polygon().shape
(0.78, (4, 2))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bcsc_flow.errors import RecipeError

__all__ = ["MixtureFit", "SingletBand", "fit_mixture", "posterior_interval", "singlet_band"]

_MAD = 1.4826


def _finite_pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


@dataclass(frozen=True)
class SingletBand:
    """A robust line ``y = intercept + slope * x`` with a relative band ``±width``.

    Events are singlets when ``y / fit(x) - 1`` lies in ``[-width, +width]`` and ``x``
    lies in ``[x_low, x_high]``; :meth:`polygon` gives that region's 4 vertices.

    Example
    -------
    >>> SingletBand(0.0, 0.8, 0.1, 0.0, 10.0).polygon().tolist()
    [[0.0, 0.0], [10.0, 7.2], [10.0, 8.8], [0.0, 0.0]]
    """

    intercept: float
    slope: float
    width: float
    x_low: float
    x_high: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fitted line at ``x``."""
        return self.intercept + self.slope * np.asarray(x, dtype=np.float64)

    def polygon(self) -> np.ndarray:
        """Vertices (x, y) of the band between ``x_low`` and ``x_high``."""
        xs = np.array([self.x_low, self.x_high])
        fit = self.predict(xs)
        lower, upper = fit * (1 - self.width), fit * (1 + self.width)
        return np.array(
            [[xs[0], lower[0]], [xs[1], lower[1]], [xs[1], upper[1]], [xs[0], upper[0]]]
        )


def singlet_band(
    x: np.ndarray,
    y: np.ndarray,
    *,
    band: float = 4.0,
    max_events: int = 50_000,
    seed: int = 0,
    iterations: int = 20,
) -> SingletBand:
    """Fit ``y`` (e.g. FSC-H) against ``x`` (FSC-A) robustly; band = ``band`` robust SDs.

    The fit is iteratively reweighted least squares with Tukey's biweight on relative
    residuals ``y / fit - 1`` (signal spread grows with size), so doublets (low ``y/x``)
    do not pull the line. The band's half-width is ``band`` × 1.4826 × MAD of the relative
    residuals of the retained events. At most ``max_events`` events (a seeded subsample)
    enter the fit; the band spans every ``x`` given.

    Example
    -------
    >>> rng = np.random.default_rng(1)
    >>> a = rng.uniform(2e4, 2e5, 3000)
    >>> h = a * np.where(np.arange(3000) < 2700, rng.normal(0.8, 0.02, 3000), 0.45)
    >>> b = singlet_band(a, h)
    >>> round(b.slope, 2), round(b.width, 1)
    (0.8, 0.1)
    """
    x, y = _finite_pairs(x, y)
    if x.size < 10:
        raise RecipeError(f"singlet fit: need at least 10 events, got {x.size}.")
    fx, fy = x, y
    if x.size > max_events:
        pick = np.random.default_rng(seed).choice(x.size, max_events, replace=False)
        fx, fy = x[pick], y[pick]
    ratio = fy / np.where(fx == 0, np.nan, fx)
    slope, intercept = float(np.nanmedian(ratio)), 0.0
    design = np.column_stack([np.ones_like(fx), fx])
    for _ in range(iterations):
        fit = intercept + slope * fx
        rel = fy / np.where(fit == 0, np.nan, fit) - 1
        scale = _MAD * float(np.nanmedian(np.abs(rel - np.nanmedian(rel))))
        if not scale > 0:
            break
        u = rel / (4.685 * scale)
        w = np.where(np.abs(u) < 1, (1 - u**2) ** 2, 0.0)
        w = np.nan_to_num(w) / np.maximum(fit, 1e-12) ** 2  # relative residuals
        sw = np.sqrt(w)
        coef, *_ = np.linalg.lstsq(design * sw[:, None], fy * sw, rcond=None)
        new_i, new_s = float(coef[0]), float(coef[1])
        done = abs(new_s - slope) <= 1e-9 * max(abs(slope), 1.0)
        intercept, slope = new_i, new_s
        if done:
            break
    fit = intercept + slope * fx
    rel = fy / np.where(fit == 0, np.nan, fit) - 1
    dev = np.abs(rel - np.nanmedian(rel))
    core = dev <= 5 * _MAD * np.nanmedian(dev)
    scale = (
        _MAD * float(np.nanmedian(np.abs(rel[core] - np.nanmedian(rel[core]))))
        if core.any()
        else 0.0
    )
    if not np.isfinite(scale) or scale <= 0:
        raise RecipeError("singlet fit: residuals have zero spread; are height and area identical?")
    span = float(x.max() - x.min()) or 1.0
    return SingletBand(
        intercept, slope, band * scale, float(x.min()) - 0.01 * span, float(x.max()) + 0.01 * span
    )


@dataclass(frozen=True, eq=False)
class MixtureFit:
    """A Gaussian mixture fitted on ``d`` dimensions and the component kept.

    Example
    -------
    >>> m = MixtureFit(np.array([[0.0], [5.0]]), np.ones((2, 1, 1)), np.array([0.5, 0.5]), 1)
    >>> m.mean.tolist(), m.cov.tolist()
    ([5.0], [[1.0]])
    """

    means: np.ndarray
    covariances: np.ndarray
    weights: np.ndarray
    kept: int

    @property
    def mean(self) -> np.ndarray:
        """Mean of the kept component."""
        return self.means[self.kept]

    @property
    def cov(self) -> np.ndarray:
        """Covariance of the kept component."""
        return self.covariances[self.kept]

    def posterior(self, values: np.ndarray) -> np.ndarray:
        """Probability of the kept component for each row of ``values`` (n, d)."""
        from scipy.stats import multivariate_normal

        pts = np.atleast_2d(np.asarray(values, dtype=np.float64))
        if pts.shape[1] != self.means.shape[1]:
            pts = pts.T
        dens = np.column_stack(
            [
                w * multivariate_normal(m, c, allow_singular=True).pdf(pts)
                for w, m, c in zip(self.weights, self.means, self.covariances)
            ]
        ).reshape(pts.shape[0], -1)
        total = dens.sum(axis=1)
        return np.where(total > 0, dens[:, self.kept] / np.where(total > 0, total, 1), 0.0)


def fit_mixture(
    values: np.ndarray,
    *,
    n_components: int,
    target: tuple[float, ...] | None = None,
    seed: int = 0,
    max_events: int = 50_000,
) -> MixtureFit:
    """Fit a Gaussian mixture (scikit-learn) and keep the component nearest ``target``.

    Without ``target`` the heaviest component is kept. Fitting uses a seeded subsample of
    at most ``max_events`` rows, so the result is deterministic.

    Example
    -------
    >>> rng = np.random.default_rng(3)
    >>> x = np.concatenate([rng.normal(0, 1, (500, 1)), rng.normal(8, 1, (300, 1))])
    >>> round(float(fit_mixture(x, n_components=2, target=(7.0,)).mean[0]))
    8
    """
    from sklearn.mixture import GaussianMixture

    pts = np.asarray(values, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts[:, None]
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if pts.shape[0] < 5 * n_components:
        raise RecipeError(
            f"mixture: {pts.shape[0]} events are too few for {n_components} components."
        )
    if pts.shape[0] > max_events:
        pts = pts[np.random.default_rng(seed).choice(pts.shape[0], max_events, replace=False)]
    gmm = GaussianMixture(n_components=n_components, covariance_type="full", random_state=seed)
    gmm.fit(pts)
    means = np.asarray(gmm.means_)
    if target is None:
        kept = int(np.argmax(gmm.weights_))
    else:
        tgt = np.asarray(target, dtype=np.float64)
        if tgt.shape != (means.shape[1],):
            raise RecipeError(
                f"mixture: target {tuple(target)} has {tgt.size} values for {means.shape[1]} dimensions."
            )
        kept = int(np.argmin(np.linalg.norm(means - tgt, axis=1)))
    return MixtureFit(means, np.asarray(gmm.covariances_), np.asarray(gmm.weights_), kept)


def posterior_interval(
    fit: MixtureFit, probability: float, *, points: int = 4001
) -> tuple[float, float]:
    """1-D only: the interval around the kept mean where its posterior is ≥ ``probability``.

    Example
    -------
    >>> m = MixtureFit(np.array([[0.0], [10.0]]), np.ones((2, 1, 1)), np.array([0.5, 0.5]), 0)
    >>> lo, hi = posterior_interval(m, 0.5)
    >>> round(hi, 1)
    5.0
    """
    if fit.means.shape[1] != 1:
        raise RecipeError("mixture: a probability gate needs one dimension; use quantile in 2-D.")
    mu = float(fit.mean[0])
    sd = float(np.sqrt(fit.cov[0, 0]))
    grid = np.linspace(mu - 8 * sd, mu + 8 * sd, points)
    inside = fit.posterior(grid[:, None]) >= probability
    centre = points // 2
    if not inside[centre]:
        raise RecipeError(
            f"mixture: the kept component never reaches posterior {probability}; lower it."
        )
    left = centre - int(np.argmin(inside[centre::-1])) if not inside[:centre].all() else 0
    right = (
        centre + int(np.argmin(inside[centre:])) - 1 if not inside[centre:].all() else points - 1
    )
    lo = -np.inf if left == 0 and inside[0] else float(grid[left])
    hi = np.inf if right == points - 1 and inside[-1] else float(grid[right])
    return lo, hi
