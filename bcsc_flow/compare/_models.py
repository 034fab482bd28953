"""Replicate-level models behind :func:`bcsc_flow.compare.compare`.

Every model reduces one contrast (level vs reference) to a :class:`Contrast`: the two arm
proportions, the sampling covariance of their logits, the log odds ratio with its standard
error, the reference distribution's degrees of freedom and the p-value. Effect sizes and
their intervals are then derived the same way for every model (:func:`effect_sizes`).

* :func:`quasibinomial_two_group` — quasi-binomial GLM with a logit link and one indicator
  for the level, in closed form and vectorised over many experiments: the fitted arm
  proportions are the pooled proportions ``sum(k) / sum(n)``, the dispersion φ is Pearson
  χ² / (N − 2), and the Wald statistic is referred to t(N − 2). It equals statsmodels'
  ``GLM(k/n, X, Binomial(), var_weights=n).fit(scale="X2")`` (tested).
* :func:`quasibinomial_blocked` — the same model with a block (pair/batch) term, fitted by
  statsmodels in the proportion + ``var_weights`` form (the two-column ``[k, n−k]`` form
  mis-scales the dispersion; DOMAIN §4.3).
* :func:`welch_logit` and :func:`paired_logit` — t-tests on per-sample logits with the
  Haldane ½ correction.

Example
-------
>>> import numpy as np
>>> fit = quasibinomial_two_group(np.array([[20, 25, 30]]), np.array([[1000, 1000, 1000]]),
...                               np.array([[40, 50, 45]]), np.array([[1000, 1000, 1000]]))
>>> round(float(fit["mu_level"][0] / fit["mu_reference"][0]), 3)
1.8
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "Contrast",
    "effect_sizes",
    "haldane_logit",
    "paired_logit",
    "quasibinomial_blocked",
    "quasibinomial_contrast",
    "quasibinomial_two_group",
    "welch_logit",
]


@dataclass(frozen=True)
class Contrast:
    """One fitted contrast, on the logit scale.

    ``cov`` is the 2×2 sampling covariance of (logit mu_reference, logit mu_level).
    ``df`` is the common degrees of freedom of the t reference; for Welch it is NaN and
    ``arm_df`` holds each arm's degrees of freedom for Satterthwaite's approximation.
    """

    mu_reference: float
    mu_level: float
    cov: np.ndarray
    log_or: float
    log_or_se: float
    p_value: float
    df: float
    test: str
    dispersion: float = float("nan")
    arm_df: tuple[float, float] | None = None
    notes: tuple[str, ...] = ()


def haldane_logit(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Logit of a fraction with ½ added to both cells: ``log((k+½)/(n−k+½))``.

    Example
    -------
    >>> round(float(haldane_logit(np.array(0), np.array(99))), 3)
    -5.293
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    return np.log((k + 0.5) / (n - k + 0.5))


def quasibinomial_two_group(
    k0: np.ndarray, n0: np.ndarray, k1: np.ndarray, n1: np.ndarray
) -> dict[str, np.ndarray]:
    """Closed-form two-group quasi-binomial GLM, vectorised over rows (experiments).

    Inputs are 2-D arrays ``(experiments, replicates)`` of positive counts and parent
    counts for the reference (0) and level (1) arms. Returns arrays of ``mu_reference``,
    ``mu_level``, ``v_reference``, ``v_level`` (sampling variances of the arm logits),
    ``dispersion``, ``df``, ``log_or``, ``se`` and the two-sided t-based ``p_value``.
    Arms with a pooled proportion of exactly 0 or 1 give NaN (the logit is infinite).

    Example
    -------
    >>> out = quasibinomial_two_group(np.array([[10, 12]]), np.array([[100, 100]]),
    ...                               np.array([[20, 18]]), np.array([[100, 100]]))
    >>> int(out["df"][0]), round(float(out["dispersion"][0]), 3)
    (2, 0.167)
    """
    k0, n0, k1, n1 = (np.atleast_2d(np.asarray(a, dtype=float)) for a in (k0, n0, k1, n1))
    with np.errstate(divide="ignore", invalid="ignore"):
        mu0 = k0.sum(axis=1) / n0.sum(axis=1)
        mu1 = k1.sum(axis=1) / n1.sum(axis=1)
        w0 = mu0 * (1 - mu0)
        w1 = mu1 * (1 - mu1)
        pearson = (n0 * (k0 / n0 - mu0[:, None]) ** 2).sum(axis=1) / w0 + (
            n1 * (k1 / n1 - mu1[:, None]) ** 2
        ).sum(axis=1) / w1
        df = np.full(mu0.shape, float(k0.shape[1] + k1.shape[1] - 2))
        dispersion = np.where(df > 0, pearson / df, np.nan)
        v0 = dispersion / (n0.sum(axis=1) * w0)
        v1 = dispersion / (n1.sum(axis=1) * w1)
        log_or = np.log(mu1 / (1 - mu1)) - np.log(mu0 / (1 - mu0))
        se = np.sqrt(v0 + v1)
        p_value = 2 * special.stdtr(df, -np.abs(log_or / se))
    bad = (w0 <= 0) | (w1 <= 0) | ~(df > 0)
    for arr in (v0, v1, log_or, se, p_value, dispersion):
        arr[bad] = np.nan
    return {
        "mu_reference": mu0,
        "mu_level": mu1,
        "v_reference": v0,
        "v_level": v1,
        "dispersion": dispersion,
        "df": df,
        "log_or": log_or,
        "se": se,
        "p_value": p_value,
    }


def quasibinomial_contrast(
    k0: np.ndarray, n0: np.ndarray, k1: np.ndarray, n1: np.ndarray
) -> Contrast:
    """:func:`quasibinomial_two_group` for one contrast, as a :class:`Contrast`.

    Example
    -------
    >>> c = quasibinomial_contrast(np.array([10, 12]), np.array([100, 100]),
    ...                            np.array([20, 18]), np.array([100, 100]))
    >>> c.test, round(c.mu_level, 2)
    ('quasibinomial_glm_t', 0.19)
    """
    fit = {key: float(v[0]) for key, v in quasibinomial_two_group(k0, n0, k1, n1).items()}
    return Contrast(
        mu_reference=fit["mu_reference"],
        mu_level=fit["mu_level"],
        cov=np.diag([fit["v_reference"], fit["v_level"]]),
        log_or=fit["log_or"],
        log_or_se=fit["se"],
        p_value=fit["p_value"],
        df=fit["df"],
        test="quasibinomial_glm_t",
        dispersion=fit["dispersion"],
    )


def quasibinomial_blocked(
    k: np.ndarray, n: np.ndarray, is_level: np.ndarray, block: np.ndarray
) -> Contrast:
    """Quasi-binomial GLM ``logit p ~ level + block`` fitted by statsmodels.

    The endog is the 1-D proportion ``k / n`` with ``var_weights = n`` and
    ``fit(scale="X2")`` (φ = Pearson χ² / residual df); Wald tests use t(residual df).
    The arm proportions are the fitted proportions averaged over blocks, with
    delta-method covariances of their logits. Warnings of the fit (separation,
    convergence) are returned as notes instead of being raised.

    Example
    -------
    >>> c = quasibinomial_blocked(np.array([10, 22, 14, 30]), np.full(4, 500),
    ...                           np.array([0, 1, 0, 1]), np.array(["a", "a", "b", "b"]))
    >>> c.df, round(float(np.exp(c.log_or)), 2)
    (1.0, 2.23)
    """
    import statsmodels.api as sm

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    x = np.asarray(is_level, dtype=float)
    labels = np.asarray(block).astype(str)
    levels = sorted(set(labels.tolist()))
    dummies = [(labels == b).astype(float) for b in levels[1:]]
    design = np.column_stack([np.ones_like(x), x, *dummies])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.GLM(k / n, design, family=sm.families.Binomial(), var_weights=n)
        result = model.fit(scale="X2")
    notes = tuple(f"GLM fit: {w.message}" for w in caught)
    params = np.asarray(result.params, dtype=float)
    cov_params = np.asarray(result.cov_params(), dtype=float)
    df = float(result.df_resid)
    beta, se = params[1], float(np.sqrt(cov_params[1, 1]))
    p_value = _t_p_value(float(beta), se, df)
    block_rows = np.column_stack(
        [np.ones(len(levels)), np.zeros(len(levels))]
        + [(np.asarray(levels) == b).astype(float) for b in levels[1:]]
    )
    logits, jacobian = [], []
    for arm in (0.0, 1.0):
        rows = block_rows.copy()
        rows[:, 1] = arm
        mu = 1 / (1 + np.exp(-(rows @ params)))
        mean = float(mu.mean())
        grad = (mu * (1 - mu)) @ rows / len(levels)
        logits.append(mean)
        jacobian.append(grad / (mean * (1 - mean)))
    jac = np.vstack(jacobian)
    return Contrast(
        mu_reference=logits[0],
        mu_level=logits[1],
        cov=jac @ cov_params @ jac.T,
        log_or=float(beta),
        log_or_se=se,
        p_value=p_value,
        df=df,
        test="quasibinomial_glm_block_t",
        dispersion=float(result.scale),
        notes=notes,
    )


def welch_logit(k0: np.ndarray, n0: np.ndarray, k1: np.ndarray, n1: np.ndarray) -> Contrast:
    """Welch t-test on Haldane logits; arm proportions are back-transformed mean logits.

    Example
    -------
    >>> c = welch_logit(np.array([10, 12, 9]), np.full(3, 100), np.array([20, 18, 25]), np.full(3, 100))
    >>> c.test, c.arm_df
    ('welch_logit_t', (2.0, 2.0))
    """
    l0, l1 = haldane_logit(k0, n0), haldane_logit(k1, n1)
    v0 = float(np.var(l0, ddof=1) / l0.size)
    v1 = float(np.var(l1, ddof=1) / l1.size)
    se = float(np.sqrt(v0 + v1))
    df = (v0 + v1) ** 2 / (v0**2 / (l0.size - 1) + v1**2 / (l1.size - 1)) if se > 0 else np.nan
    return Contrast(
        mu_reference=float(_expit(l0.mean())),
        mu_level=float(_expit(l1.mean())),
        cov=np.diag([v0, v1]),
        log_or=float(l1.mean() - l0.mean()),
        log_or_se=se,
        p_value=_t_p_value(float(l1.mean() - l0.mean()), se, float(df)),
        df=float(df),
        test="welch_logit_t",
        arm_df=(float(l0.size - 1), float(l1.size - 1)),
    )


def paired_logit(k0: np.ndarray, n0: np.ndarray, k1: np.ndarray, n1: np.ndarray) -> Contrast:
    """Paired t-test on Haldane-logit differences; inputs are aligned by pair.

    Example
    -------
    >>> c = paired_logit(np.array([10, 12, 9]), np.full(3, 100), np.array([20, 25, 17]), np.full(3, 100))
    >>> c.test, c.df
    ('paired_logit_t', 2.0)
    """
    l0, l1 = haldane_logit(k0, n0), haldane_logit(k1, n1)
    pairs = l0.size
    cov = np.cov(np.vstack([l0, l1]), ddof=1) / pairs
    log_or = float(np.mean(l1 - l0))
    se = float(np.std(l1 - l0, ddof=1) / np.sqrt(pairs))
    return Contrast(
        mu_reference=float(_expit(l0.mean())),
        mu_level=float(_expit(l1.mean())),
        cov=cov,
        log_or=log_or,
        log_or_se=se,
        p_value=_t_p_value(log_or, se, float(pairs - 1)),
        df=float(pairs - 1),
        test="paired_logit_t",
    )


def _t_p_value(estimate: float, se: float, df: float) -> float:
    """Two-sided p-value of ``estimate / se`` on t(df); NaN when undefined."""
    if not (se > 0 and df > 0):
        return float("nan")
    return float(2 * special.stdtr(df, -abs(estimate / se)))


def _t_quantile(alpha: float, df: float) -> float:
    """Upper alpha/2 quantile of t(df) (scipy.special is much faster than scipy.stats here)."""
    return float(-special.stdtrit(df, alpha / 2))


def _expit(x: np.ndarray | float) -> np.ndarray:
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def _interval(estimate: float, grad: np.ndarray, c: Contrast, alpha: float) -> tuple[float, float]:
    """t-interval of a smooth function of the arm logits with gradient ``grad``."""
    parts = grad**2 * np.diag(c.cov)
    if c.arm_df is None:
        variance = float(grad @ c.cov @ grad)
        df = c.df
    else:  # independent arms: Satterthwaite
        variance = float(parts.sum())
        denom = float(np.sum(parts**2 / np.asarray(c.arm_df)))
        df = variance**2 / denom if denom > 0 else float("nan")
    if not (variance > 0 and df > 0):
        return float("nan"), float("nan")
    half = _t_quantile(alpha, df) * np.sqrt(variance)
    return estimate - half, estimate + half


def effect_sizes(c: Contrast, alpha: float = 0.05) -> dict[str, float]:
    """Difference (points), ratio, log2 ratio and odds ratio with t-based (1−alpha) CIs.

    Intervals use the delta method on the arm logits: the difference ``mu1 − mu0`` with
    gradient ``(−mu0(1−mu0), mu1(1−mu1))``; the log ratio with ``(−(1−mu0), 1−mu1)``;
    the log odds ratio is the model's own estimate and standard error. Proportions are
    reported in percent.

    Example
    -------
    >>> c = quasibinomial_contrast(np.array([10, 12]), np.array([100, 100]),
    ...                            np.array([20, 18]), np.array([100, 100]))
    >>> round(effect_sizes(c)["diff"], 1)
    8.0
    """
    mu0, mu1 = c.mu_reference, c.mu_level
    diff_lo, diff_hi = _interval(mu1 - mu0, np.array([-mu0 * (1 - mu0), mu1 * (1 - mu1)]), c, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = float(np.log(mu1) - np.log(mu0)) if mu0 > 0 and mu1 > 0 else float("nan")
    lr_lo, lr_hi = _interval(log_ratio, np.array([-(1 - mu0), 1 - mu1]), c, alpha)
    if c.arm_df is None:
        df = c.df
    else:
        df = (
            (c.cov[0, 0] + c.cov[1, 1]) ** 2
            / (c.cov[0, 0] ** 2 / c.arm_df[0] + c.cov[1, 1] ** 2 / c.arm_df[1])
            if c.log_or_se > 0
            else float("nan")
        )
    if c.log_or_se > 0 and df > 0:
        half = _t_quantile(alpha, df) * c.log_or_se
        or_lo, or_hi = np.exp(c.log_or - half), np.exp(c.log_or + half)
    else:
        or_lo = or_hi = float("nan")
    return {
        "mean_reference": 100 * mu0,
        "mean_level": 100 * mu1,
        "diff": 100 * (mu1 - mu0),
        "ci_low": 100 * diff_lo,
        "ci_high": 100 * diff_hi,
        "ratio": float(np.exp(log_ratio)),
        "ratio_ci_low": float(np.exp(lr_lo)),
        "ratio_ci_high": float(np.exp(lr_hi)),
        "log2_ratio": log_ratio / np.log(2),
        "log2_ratio_ci_low": lr_lo / np.log(2),
        "log2_ratio_ci_high": lr_hi / np.log(2),
        "odds_ratio": float(np.exp(c.log_or)),
        "odds_ratio_ci_low": float(or_lo),
        "odds_ratio_ci_high": float(or_hi),
        "df": float(df),
        "dispersion": c.dispersion,
    }
