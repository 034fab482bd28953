"""Known-answer tests of bcsc_flow.compare against independent computations.

Welch/paired t come from scipy.stats on logits computed here, the GLM from statsmodels (and
an independent maximum-likelihood fit with scipy.optimize), intervals from statsmodels'
proportion_confint, BH from a hand-worked example and scipy.stats.false_discovery_control.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

import bcsc_flow.compare._models as models
from bcsc_flow.compare import (
    COLUMNS,
    COUNTING_LABEL,
    adjust_pvalues,
    compare,
    power,
    proportion_interval,
    replicates_needed,
    sample_intervals,
)
from bcsc_flow.errors import ComparisonError, StatisticsWarning

CONTRACT = [
    "population", "metric", "reference", "level", "n_reference", "n_level",
    "mean_reference", "mean_level", "diff", "ratio", "log2_ratio", "ci_low", "ci_high",
    "p_value", "q_value", "test", "note",
]  # fmt: skip


def _table(
    arms: dict[str, list[tuple[int, int]]], population: str = "BCSC", **extra
) -> pd.DataFrame:
    """A populations table from {condition: [(count, parent_count), ...]}."""
    rows = []
    for condition, samples in arms.items():
        for r, (k, n) in enumerate(samples, start=1):
            rows.append(
                {
                    "sample": f"{condition}_{r}",
                    "population": population,
                    "parent": "live",
                    "count": k,
                    "parent_count": n,
                    "total_count": 2 * n,
                    "pct_of_parent": 100 * k / n,
                    "pct_of_total": 50 * k / n,
                    "template_digest": "abc",
                    "condition": condition,
                    "replicate": str(r),
                    "batch": f"b{r}",
                    "pair_id": f"p{r}",
                    "role": "test",
                    **extra,
                }
            )
    return pd.DataFrame(rows)


UNT = [(410, 20_000), (380, 21_500), (455, 19_000), (400, 20_500)]
IRR = [(820, 19_500), (690, 18_000), (905, 21_000), (760, 20_000)]


def _logits(samples):
    k = np.array([s[0] for s in samples], float)
    n = np.array([s[1] for s in samples], float)
    return np.log((k + 0.5) / (n - k + 0.5))


# ----------------------------------------------------------------- contract


def test_columns_start_with_the_public_contract():
    out = compare(_table({"untreated": UNT, "irradiated": IRR}))
    assert list(out.columns[: len(CONTRACT)]) == CONTRACT
    assert list(out.columns) == list(COLUMNS)
    row = out.iloc[0]
    assert (row["population"], row["reference"], row["level"]) == (
        "BCSC",
        "untreated",
        "irradiated",
    )
    assert (row["n_reference"], row["n_level"]) == (4, 4)
    assert row["parent"] == "live" and row["ci_level"] == 0.95 and row["note"] == ""


def test_bf_compare_is_callable_even_after_importing_the_submodule():
    code = (
        "import bcsc_flow as bf\n"
        "from bcsc_flow.compare import sample_intervals\n"
        "import pandas as pd\n"
        "t = pd.DataFrame({'sample': list('abcdef'), 'population': 'P', 'count': [5, 6, 7, 15, 16, 14],"
        " 'parent_count': 200, 'condition': ['u'] * 3 + ['i'] * 3})\n"
        "print(bf.compare(t, reference='u')['level'].iloc[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "i"


# ----------------------------------------------------------------- quasi-binomial GLM


def _statsmodels_glm(k, n, x):
    design = sm.add_constant(np.asarray(x, float))
    return sm.GLM(k / n, design, family=sm.families.Binomial(), var_weights=n).fit(scale="X2")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_closed_form_equals_statsmodels_glm(seed):
    rng = np.random.default_rng(seed)
    reps0, reps1 = 3 + seed % 2, 3 + seed // 2
    n0 = rng.integers(500, 30_000, reps0).astype(float)
    n1 = rng.integers(500, 30_000, reps1).astype(float)
    k0 = rng.binomial(n0.astype(int), rng.beta(4, 150, reps0)).astype(float)
    k1 = rng.binomial(n1.astype(int), rng.beta(8, 150, reps1)).astype(float)
    fit = models.quasibinomial_two_group(k0[None], n0[None], k1[None], n1[None])
    ref = _statsmodels_glm(np.r_[k0, k1], np.r_[n0, n1], np.r_[np.zeros(reps0), np.ones(reps1)])
    assert fit["log_or"][0] == pytest.approx(ref.params[1], rel=1e-7)
    assert fit["se"][0] == pytest.approx(ref.bse[1], rel=1e-6)
    assert fit["dispersion"][0] == pytest.approx(ref.scale, rel=1e-6)
    # The pinned pitfall (DOMAIN §4.3): the dispersion is Pearson chi2 / residual df.
    assert ref.scale == pytest.approx(ref.pearson_chi2 / ref.df_resid, rel=1e-9)
    assert fit["df"][0] == ref.df_resid
    t = ref.params[1] / ref.bse[1]
    assert fit["p_value"][0] == pytest.approx(2 * stats.t.sf(abs(t), ref.df_resid), rel=1e-6)


def test_compare_default_matches_statsmodels_and_hand_computed_intervals():
    table = _table({"untreated": UNT, "irradiated": IRR})
    out = compare(table).iloc[0]
    k0, n0 = np.array(UNT, float).T
    k1, n1 = np.array(IRR, float).T
    ref = _statsmodels_glm(np.r_[k0, k1], np.r_[n0, n1], np.r_[np.zeros(4), np.ones(4)])
    tq = stats.t.ppf(0.975, ref.df_resid)
    assert out["test"] == "quasibinomial_glm_t" and out["df"] == 6
    assert out["odds_ratio"] == pytest.approx(np.exp(ref.params[1]), rel=1e-7)
    lo, hi = np.exp(ref.params[1] - tq * ref.bse[1]), np.exp(ref.params[1] + tq * ref.bse[1])
    assert (out["odds_ratio_ci_low"], out["odds_ratio_ci_high"]) == pytest.approx(
        (lo, hi), rel=1e-6
    )
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(abs(ref.tvalues[1]), 6), rel=1e-6)
    # Arm means are the fitted (pooled) proportions; the difference CI is phi-scaled binomial.
    p0, p1 = k0.sum() / n0.sum(), k1.sum() / n1.sum()
    assert out["mean_reference"] == pytest.approx(100 * p0) and out["mean_level"] == pytest.approx(
        100 * p1
    )
    assert out["diff"] == pytest.approx(100 * (p1 - p0))
    se = np.sqrt(ref.scale * (p0 * (1 - p0) / n0.sum() + p1 * (1 - p1) / n1.sum()))
    assert (out["ci_low"], out["ci_high"]) == pytest.approx(
        (100 * (p1 - p0 - tq * se), 100 * (p1 - p0 + tq * se))
    )
    se_log = np.sqrt(ref.scale * ((1 - p0) / (p0 * n0.sum()) + (1 - p1) / (p1 * n1.sum())))
    ratio = p1 / p0
    assert out["ratio"] == pytest.approx(ratio) and out["log2_ratio"] == pytest.approx(
        np.log2(ratio)
    )
    assert out["ratio_ci_low"] == pytest.approx(ratio * np.exp(-tq * se_log))
    assert out["log2_ratio_ci_high"] == pytest.approx(np.log2(ratio) + tq * se_log / np.log(2))
    # arithmetic summaries
    pct0 = 100 * k0 / n0
    assert out["arith_mean_reference"] == pytest.approx(pct0.mean())
    assert out["sd_reference"] == pytest.approx(pct0.std(ddof=1))


def test_glm_is_fitted_on_proportions_with_var_weights_never_two_columns(monkeypatch):
    """Pin DOMAIN §4.3: the two-column [k, n-k] endog mis-scales the dispersion."""
    calls = []
    real_glm = sm.GLM

    class SpyGLM(real_glm):
        def __init__(self, endog, exog, *args, **kwargs):
            calls.append({"ndim": np.ndim(endog), "var_weights": kwargs.get("var_weights")})
            super().__init__(endog, exog, *args, **kwargs)

        def fit(self, *args, **kwargs):
            calls[-1]["scale"] = kwargs.get("scale")
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(sm, "GLM", SpyGLM)
    out = compare(_table({"untreated": UNT, "irradiated": IRR}), pair_by="batch")
    assert out["test"].iloc[0] == "quasibinomial_glm_block_t"
    assert calls, "the blocked model should be fitted with statsmodels"
    for call in calls:
        assert call["ndim"] == 1 and call["var_weights"] is not None and call["scale"] == "X2"


def test_blocked_glm_matches_an_independent_maximum_likelihood_fit():
    table = _table({"untreated": UNT, "irradiated": IRR})
    out = compare(table, pair_by="batch").iloc[0]
    k = np.array([s[0] for s in UNT + IRR], float)
    n = np.array([s[1] for s in UNT + IRR], float)
    level = np.r_[np.zeros(4), np.ones(4)]
    block = np.tile(np.arange(4), 2)
    design = np.column_stack([np.ones(8), level] + [(block == b).astype(float) for b in (1, 2, 3)])

    def nll(beta):
        eta = design @ beta
        return -np.sum(k * eta - n * np.logaddexp(0, eta))

    beta = optimize.minimize(nll, np.zeros(5), method="BFGS", options={"gtol": 1e-10}).x
    mu = 1 / (1 + np.exp(-design @ beta))
    df = 8 - 5
    phi = np.sum((k - n * mu) ** 2 / (n * mu * (1 - mu))) / df
    cov = phi * np.linalg.inv(design.T @ (design * (n * mu * (1 - mu))[:, None]))
    se = np.sqrt(cov[1, 1])
    assert out["df"] == df
    assert out["dispersion"] == pytest.approx(phi, rel=1e-4)
    assert out["odds_ratio"] == pytest.approx(np.exp(beta[1]), rel=1e-5)
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(abs(beta[1] / se), df), rel=1e-3)
    tq = stats.t.ppf(0.975, df)
    assert out["odds_ratio_ci_low"] == pytest.approx(np.exp(beta[1] - tq * se), rel=1e-4)


# ----------------------------------------------------------------- t-tests on logits


def test_welch_matches_scipy_on_logits():
    out = compare(_table({"untreated": UNT[:3], "irradiated": IRR}), method="welch").iloc[0]
    l0, l1 = _logits(UNT[:3]), _logits(IRR)
    ref = stats.ttest_ind(l1, l0, equal_var=False)
    assert out["test"] == "welch_logit_t"
    assert out["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert out["df"] == pytest.approx(ref.df, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert out["odds_ratio"] == pytest.approx(np.exp(l1.mean() - l0.mean()))
    assert (out["odds_ratio_ci_low"], out["odds_ratio_ci_high"]) == pytest.approx(
        (np.exp(ci.low), np.exp(ci.high)), rel=1e-9
    )
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    assert out["mean_level"] == pytest.approx(100 * expit(l1.mean()))


def test_default_reports_welch_as_sensitivity_p_value():
    out = compare(_table({"untreated": UNT, "irradiated": IRR})).iloc[0]
    ref = stats.ttest_ind(_logits(IRR), _logits(UNT), equal_var=False)
    assert out["p_value_welch"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_paired_matches_scipy_ttest_rel_and_summed_technical_repeats():
    table = _table({"untreated": UNT, "irradiated": IRR})
    out = compare(table, method="paired", pair_by="pair_id").iloc[0]
    l0, l1 = _logits(UNT), _logits(IRR)
    ref = stats.ttest_rel(l1, l0)
    assert out["test"] == "paired_logit_t" and out["n_reference"] == 4
    assert out["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert out["odds_ratio_ci_low"] == pytest.approx(np.exp(ci.low), rel=1e-9)
    # default pair_by for method="paired" is pair_id
    assert compare(table, method="paired").iloc[0]["p_value"] == pytest.approx(ref.pvalue)
    # an unpaired extra sample is left out with a note
    extra = _table({"untreated": [(400, 20_000)]}).assign(sample="lonely", pair_id="p9")
    with pytest.warns(StatisticsWarning, match="without a partner"):
        noted = compare(pd.concat([table, extra]), method="paired").iloc[0]
    assert "lonely" in noted["note"] and noted["p_value"] == pytest.approx(ref.pvalue)


# ----------------------------------------------------------------- intervals and FDR


@pytest.mark.parametrize(
    "method,sm_method",
    [("wilson", "wilson"), ("clopper-pearson", "beta"), ("jeffreys", "jeffreys")],
)
def test_proportion_interval_matches_statsmodels(method, sm_method):
    k = np.array([0, 1, 5, 22, 8, 90, 300, 50])
    n = np.array([50, 40, 100, 26, 14, 30_000, 300, 50])
    lo, hi = proportion_interval(k, n, method=method)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=0.05, method=sm_method)
    np.testing.assert_allclose(lo, ref_lo, atol=1e-10)
    np.testing.assert_allclose(hi, ref_hi, atol=1e-10)


def test_sample_intervals_are_labelled_counting_uncertainty():
    table = _table({"untreated": UNT, "irradiated": IRR})
    out = sample_intervals(table)
    ref_lo, ref_hi = proportion_confint(table["count"], table["parent_count"], method="wilson")
    np.testing.assert_allclose(out["wilson_low"], 100 * ref_lo)
    np.testing.assert_allclose(out["wilson_high"], 100 * ref_hi)
    assert (out["interval_kind"] == COUNTING_LABEL).all() and "counting" in COUNTING_LABEL
    total = sample_intervals(table, metric="pct_of_total")
    lo, _ = proportion_confint(table["count"], table["total_count"], method="wilson")
    np.testing.assert_allclose(total["wilson_low"], 100 * lo)


def test_benjamini_hochberg_hand_computed():
    # m = 4: p*m/rank = .02, .04, .0533, .30 -> already monotone
    q = adjust_pvalues([0.04, 0.005, 0.30, 0.02])
    np.testing.assert_allclose(q, [0.04 * 4 / 3, 0.02, 0.30, 0.04])
    # step-up: p = .01,.04,.045 -> .03,.06,.045 -> min from the top gives .03,.045,.045
    np.testing.assert_allclose(adjust_pvalues([0.01, 0.04, 0.045]), [0.03, 0.045, 0.045])
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 0.2, 17)
    np.testing.assert_allclose(adjust_pvalues(p), stats.false_discovery_control(p, method="bh"))
    np.testing.assert_allclose(
        adjust_pvalues(p, "by"), stats.false_discovery_control(p, method="by")
    )


def test_q_values_are_bh_within_each_level():
    rng = np.random.default_rng(11)
    parts = []
    for i in range(5):
        unt = [(int(rng.integers(300, 500)), 20_000) for _ in range(3)]
        irr = [(int(rng.integers(300 + 40 * i, 500 + 80 * i)), 20_000) for _ in range(3)]
        low = [(int(rng.integers(300, 500)), 20_000) for _ in range(3)]
        parts.append(_table({"untreated": unt, "irradiated": irr, "low": low}, population=f"P{i}"))
    out = compare(pd.concat(parts, ignore_index=True))
    assert len(out) == 10 and set(out["level"]) == {"irradiated", "low"}
    for _, group in out.groupby("level"):
        np.testing.assert_allclose(
            group["q_value"], stats.false_discovery_control(group["p_value"])
        )


# ----------------------------------------------------------------- designs and notes


def test_each_level_is_compared_with_the_reference_alone():
    third = [(2000, 20_000), (2600, 21_000), (1500, 19_000)]
    table = _table({"untreated": UNT, "irradiated": IRR, "10Gy": third})
    out = compare(table)
    assert out["level"].tolist() == ["irradiated", "10Gy"]
    alone = compare(table[table["condition"] != "10Gy"]).iloc[0]
    assert out.iloc[0]["p_value"] == pytest.approx(alone["p_value"])
    assert out.iloc[0]["dispersion"] == pytest.approx(alone["dispersion"])


def test_control_rows_are_not_compared_and_numeric_levels_match_by_text():
    table = _table({"0": UNT, "2": IRR})
    table["condition"] = table["condition"].astype(int)
    control = _table({"0": [(5, 20_000)] * 4}).assign(role="fmo:CD44", condition=0)
    control["sample"] = ["fmo1", "fmo2", "fmo3", "fmo4"]
    out = compare(pd.concat([table, control], ignore_index=True), reference="0")
    assert out.iloc[0]["n_reference"] == 4 and out.iloc[0]["level"] == 2


def test_few_replicates_warn_and_one_replicate_refuses_inference():
    with pytest.warns(StatisticsWarning, match="fewer than 3 replicates"):
        two = compare(_table({"untreated": UNT[:2], "irradiated": IRR[:2]})).iloc[0]
    assert "fewer than 3 replicates" in two["note"] and np.isfinite(two["p_value"])
    with pytest.warns(StatisticsWarning, match="refused"):
        one = compare(_table({"untreated": UNT[:1], "irradiated": IRR})).iloc[0]
    assert np.isnan(one["p_value"]) and np.isnan(one["ci_low"]) and one["test"] == "none"
    assert one["diff"] == pytest.approx(
        100 * (sum(k for k, _ in IRR) / sum(n for _, n in IRR) - UNT[0][0] / UNT[0][1])
    )


def test_small_parents_and_rare_events_are_noted():
    with pytest.warns(StatisticsWarning) as caught:
        out = compare(
            _table(
                {
                    "untreated": [(2, 80), (3, 90), (1, 85)],
                    "irradiated": [(6, 95), (5, 99), (9, 120)],
                }
            )
        )
    note = out.iloc[0]["note"]
    assert "parent under 100 events in untreated_1" in note
    assert "expected positives under 10" in note
    kinds = " ".join(str(w.message) for w in caught)
    assert "parent gate under 100" in kinds and "expected positive" in kinds


def test_zero_arm_falls_back_to_welch_with_a_note():
    table = _table(
        {
            "untreated": [(0, 5000), (0, 6000), (0, 5500)],
            "irradiated": [(30, 5000), (25, 5100), (40, 6000)],
        }
    )
    with pytest.warns(StatisticsWarning) as caught:
        out = compare(table).iloc[0]
    assert any("GLM undefined" in str(w.message) for w in caught)
    assert out["test"] == "welch_logit_t" and "zero or all events positive" in out["note"]
    assert np.isfinite(out["p_value"])


def test_live_fraction_shift_is_noted_on_every_population():
    live = _table({"untreated": [(18_000, 20_000), (18_500, 20_500), (17_900, 19_800)],
                   "irradiated": [(9_000, 20_000), (8_500, 19_000), (9_900, 21_000)]}, population="live")  # fmt: skip
    bcsc = _table({"untreated": UNT[:3], "irradiated": IRR[:3]})
    with pytest.warns(StatisticsWarning, match="live/dead fraction differs"):
        out = compare(pd.concat([live, bcsc], ignore_index=True))
    assert all("selection" in note for note in out["note"])
    calm = _table({"untreated": [(18_000, 20_000), (18_100, 20_000), (17_950, 20_000)],
                   "irradiated": [(17_000, 20_000), (17_150, 20_000), (16_900, 20_000)]}, population="live")  # fmt: skip
    quiet = compare(pd.concat([calm, bcsc], ignore_index=True))
    assert not any("selection" in note for note in quiet["note"])


def test_missing_controls_are_noted():
    table = _table({"untreated": UNT[:3], "irradiated": IRR[:3]})
    table["missing_controls"] = ["", "", "", "deab", "", ""]
    with pytest.warns(StatisticsWarning, match="missing controls"):
        out = compare(table).iloc[0]
    assert "irradiated_1 (deab)" in out["note"]
    with_controls = pd.concat(
        [_table({"untreated": UNT[:3], "irradiated": IRR[:3]}),
         _table({"untreated": [(3, 20_000)]}).assign(sample="fmo1", role="fmo:CD44", batch="b1")],
        ignore_index=True,
    )  # fmt: skip
    with pytest.warns(StatisticsWarning, match="missing controls"):
        out = compare(with_controls).iloc[0]
    assert "no control tubes for batch b2, b3" in out["note"]


def test_underdispersed_replicates_are_noted():
    same = [(400, 20_000)] * 3
    with pytest.warns(StatisticsWarning, match="unusual dispersion"):
        out = compare(_table({"untreated": same, "irradiated": [(800, 20_000)] * 3})).iloc[0]
    assert "below binomial counting noise" in out["note"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"reference": "sham"}, "reference 'sham' is not a value"),
        ({"by": "dose"}, "lacks column"),
        ({"metric": "median_CD44"}, "unknown metric"),
        ({"populations": ["BCSCs"]}, "Did you mean 'BCSC'"),
        ({"method": "chi2"}, "unknown method"),
        ({"method": "welch", "pair_by": "batch"}, "unpaired"),
    ],
)
def test_errors_name_the_problem(kwargs, match):
    with pytest.raises(ComparisonError, match=match):
        compare(_table({"untreated": UNT, "irradiated": IRR}), **kwargs)


def test_bad_tables_are_refused():
    table = _table({"untreated": UNT, "irradiated": IRR})
    with pytest.raises(ComparisonError, match="several rows"):
        compare(pd.concat([table, table.iloc[:1]]))
    broken = table.copy()
    broken.loc[0, "count"] = 10**6
    with pytest.raises(ComparisonError, match="must lie between 0"):
        compare(broken)
    with pytest.raises(ValueError):  # ComparisonError is also a ValueError
        compare(table, reference="none")


# ----------------------------------------------------------------- planning


def test_power_reproduces_domain_table_and_matches_the_analytic_approximation():
    # DOMAIN §4.1 (independent simulation, 2,000 experiments): quasi-binomial power for
    # 2 % -> 4 %, logit SD 0.3, 20,000 parents: 0.55 / 0.78 / 0.95 at 3 / 4 / 6 replicates.
    for reps, expected in ((3, 0.55), (4, 0.78), (6, 0.95)):
        simulated = power(0.02, 0.04, n_replicates=reps, n_sim=3000, seed=reps)
        assert simulated == pytest.approx(expected, abs=0.045)
        assert power(0.02, 0.04, n_replicates=reps, approach="analytic") == pytest.approx(
            simulated, abs=0.06
        )
    # Welch row of the same table: 0.48 at 3 replicates
    assert power(0.02, 0.04, n_replicates=3, test="welch", n_sim=3000) == pytest.approx(
        0.48, abs=0.045
    )
    # under the null the rejection rate is alpha
    assert power(0.02, 0.02, n_replicates=3, n_sim=4000) == pytest.approx(0.05, abs=0.015)


def test_replicates_needed_is_the_first_count_reaching_the_target():
    needed = replicates_needed(0.02, 0.04, target_power=0.8, approach="analytic")
    assert power(0.02, 0.04, n_replicates=needed, approach="analytic") >= 0.8
    assert power(0.02, 0.04, n_replicates=needed - 1, approach="analytic") < 0.8
    assert replicates_needed(0.02, 0.06, approach="analytic") < needed
    # cv is an alternative way to give the replicate spread
    same = power(0.02, 0.04, cv=0.3 * 0.98, approach="analytic")
    assert same == pytest.approx(power(0.02, 0.04, logit_sd=0.3, approach="analytic"))
    with pytest.raises(ComparisonError, match="reach only power"):
        replicates_needed(0.02, 0.021, max_replicates=4, approach="analytic")
    with pytest.raises(ComparisonError, match="not percent"):
        power(2.0, 4.0)


# ----------------------------------------------------------------- command line


def test_cli_compare_writes_the_table_atomically(tmp_path, capsys):
    from bcsc_flow.cli import main

    table = pd.concat(
        [
            _table({"untreated": UNT, "irradiated": IRR}),
            _table({"untreated": UNT[:2], "irradiated": IRR[:2]}, population="ALDH+"),
        ],
        ignore_index=True,
    )
    src = tmp_path / "populations.csv"
    table.to_csv(src, index=False)
    out = tmp_path / "sub" / "comparison.csv"
    code = main(
        ["compare", str(src), "--by", "condition", "--reference", "untreated", "--out", str(out)]
    )
    assert code == 0
    written = pd.read_csv(out, keep_default_na=False, na_values=[""])
    expected = compare(table[table["population"] == "BCSC"]).iloc[0]
    assert list(written.columns) == list(COLUMNS) and len(written) == 2
    assert written.loc[0, "p_value"] == pytest.approx(expected["p_value"])
    assert written.loc[0, "ci_low"] == pytest.approx(expected["ci_low"])
    captured = capsys.readouterr()
    assert "fewer than 3 replicates" in captured.err and "wrote 2 comparisons" in captured.out
    assert [p.name for p in out.parent.iterdir()] == ["comparison.csv"]  # no temporary left

    welch = tmp_path / "welch.csv"
    argv = ["compare", str(src), "--method", "welch", "--population", "BCSC", "--out", str(welch)]
    assert main(argv) == 0
    assert pd.read_csv(welch)["test"].tolist() == ["welch_logit_t"]
    # a bad reference is an error (exit 1) naming the levels, and writes nothing
    bad = tmp_path / "bad.csv"
    assert main(["compare", str(src), "--reference", "sham", "--out", str(bad)]) == 1
    assert "levels present" in capsys.readouterr().err and not bad.exists()
