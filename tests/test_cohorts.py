"""Specimen calls and cohort comparison (issue 9), checked against scipy and statsmodels.

Known answer (DOMAIN §1.8): 22 of 26 recurrent vs 8 of 14 primary tumours co-express
HER2/CD44 -> 84.6 % and 57.1 %, Wilson 95 % CIs 66.5-93.8 % and 32.6-78.6 %, Fisher exact
two-sided p ~ 0.12 (odds ratio ~ 4.1), chi-squared p ~ 0.056 uncorrected, ~ 0.126 with Yates.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from bcsc_flow.cohorts import AllOf, AnyOf, Rule, call_specimens, compare_cohorts, parse_rule
from bcsc_flow.errors import ComparisonError, StatisticsWarning

RULE = {"population": "HER2+ BCSC", "metric": "pct_of_parent", "op": ">=", "threshold": 1.0}


def _specimens(groups: dict[str, tuple[int, int]], seed: int = 0) -> pd.DataFrame:
    """A populations table: per cohort (positives, total) specimens with BCSC and HER2+ BCSC rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for cohort, (positives, total) in groups.items():
        for i in range(total):
            sample = f"{cohort}_{i:02d}"
            bcsc = int(rng.integers(800, 3000))
            pct = rng.uniform(1.0, 12.0) if i < positives else rng.uniform(0.0, 0.99)
            her2 = round(bcsc * pct / 100)
            if i < positives:
                her2 = max(her2, int(np.ceil(bcsc / 100)))  # stays >= 1 % after rounding
            else:
                her2 = min(her2, bcsc // 100 - (bcsc % 100 == 0))
            for population, parent, k, n in (
                ("BCSC", "live", bcsc, 60_000),
                ("HER2+ BCSC", "BCSC", her2, bcsc),
            ):
                rows.append(
                    {"sample": sample, "population": population, "parent": parent, "count": k,
                     "parent_count": n, "total_count": 80_000, "pct_of_parent": 100 * k / n,
                     "pct_of_total": 100 * k / 80_000, "template_digest": "d", "cohort": cohort,
                     "role": "test", "patient": f"pt{sample}"}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_duru_known_answer_against_scipy_and_statsmodels():
    table = _specimens({"recurrent": (22, 26), "primary": (8, 14)})
    calls = call_specimens(table, RULE)
    assert len(calls) == 40 and calls["positive"].sum() == 30
    # expected cell (primary, negative) = 14 * 10 / 40 = 3.5 < 5
    with pytest.warns(StatisticsWarning, match="expected cell count under 5"):
        result = compare_cohorts(calls, by="cohort", reference="primary")
    row = result.iloc[0]
    assert (row["level"], row["reference"]) == ("recurrent", "primary")
    assert (
        row["n_positive_level"],
        row["n_level"],
        row["n_positive_reference"],
        row["n_reference"],
    ) == (22, 26, 8, 14)
    assert round(row["pct_level"], 1) == 84.6 and round(row["pct_reference"], 1) == 57.1
    # Wilson CIs: the published numbers and statsmodels' own computation
    assert [round(row["pct_level_ci_low"], 1), round(row["pct_level_ci_high"], 1)] == [66.5, 93.8]
    assert [round(row["pct_reference_ci_low"], 1), round(row["pct_reference_ci_high"], 1)] == [
        32.6,
        78.6,
    ]
    for k, n, arm in ((22, 26, "level"), (8, 14, "reference")):
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert row[f"pct_{arm}_ci_low"] == pytest.approx(100 * lo) and row[
            f"pct_{arm}_ci_high"
        ] == pytest.approx(100 * hi)
    # Fisher exact and chi-squared against scipy
    two_by_two = [[22, 4], [8, 6]]
    fisher = stats.fisher_exact(two_by_two)
    assert row["p_value"] == pytest.approx(fisher.pvalue) and row["p_value"] == pytest.approx(
        0.12, abs=0.005
    )
    assert (
        row["odds_ratio"] == pytest.approx(fisher.statistic) and round(row["odds_ratio"], 1) == 4.1
    )
    chi2 = stats.chi2_contingency(two_by_two, correction=False)
    yates = stats.chi2_contingency(two_by_two, correction=True)
    assert row["p_value_chi2"] == pytest.approx(chi2.pvalue) and row[
        "p_value_chi2"
    ] == pytest.approx(0.056, abs=0.001)
    assert row["p_value_chi2_yates"] == pytest.approx(yates.pvalue) and row[
        "p_value_chi2_yates"
    ] == pytest.approx(0.126, abs=0.001)
    assert row["min_expected"] == pytest.approx(3.5) and "chi-squared unreliable" in row["note"]
    # difference (Newcombe hybrid score) and exact conditional odds-ratio CI
    lo, hi = confint_proportions_2indep(22, 26, 8, 14, method="newcomb", compare="diff")
    assert row["diff"] == pytest.approx(100 * (22 / 26 - 8 / 14))
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((100 * lo, 100 * hi))
    ci = stats.contingency.odds_ratio(two_by_two, kind="conditional").confidence_interval()
    assert (row["odds_ratio_ci_low"], row["odds_ratio_ci_high"]) == pytest.approx((ci.low, ci.high))


def test_one_sided_fisher_on_request():
    calls = call_specimens(_specimens({"recurrent": (22, 26), "primary": (8, 14)}), RULE)
    with pytest.warns(StatisticsWarning):
        row = compare_cohorts(calls, alternative="greater").iloc[0]
    expected = stats.fisher_exact([[22, 4], [8, 6]], alternative="greater").pvalue
    assert row["p_value"] == pytest.approx(expected) and row["alternative"] == "greater"
    assert row["p_value"] < 0.07
    with pytest.raises(ComparisonError, match="alternative"):
        compare_cohorts(calls, alternative="bigger")


def test_no_warning_when_every_expected_cell_is_large():
    calls = pd.DataFrame({"positive": [True] * 30 + [False] * 20 + [True] * 20 + [False] * 30,
                          "cohort": ["recurrent"] * 50 + ["primary"] * 50})  # fmt: skip
    row = compare_cohorts(calls).iloc[0]  # filterwarnings=error: any warning fails here
    assert row["min_expected"] == pytest.approx(25) and row["note"] == ""
    assert row["p_value"] == pytest.approx(stats.fisher_exact([[30, 20], [20, 30]]).pvalue)


def test_several_cohorts_each_against_the_reference():
    calls = pd.DataFrame({"positive": [True] * 30 + [False] * 20 + [True] * 20 + [False] * 30 + [True] * 22 + [False] * 28,
                          "cohort": ["recurrent"] * 50 + ["primary"] * 50 + ["metastasis"] * 50})  # fmt: skip
    result = compare_cohorts(calls)
    assert result["level"].tolist() == ["recurrent", "metastasis"]
    np.testing.assert_allclose(result["q_value"], stats.false_discovery_control(result["p_value"]))


def test_calls_keep_the_values_that_drove_them_and_the_sheet_columns():
    table = _specimens({"recurrent": (3, 4), "primary": (1, 3)})
    control = table.iloc[:2].assign(sample="fmo", role="fmo:HER2")
    calls = call_specimens(pd.concat([table, control], ignore_index=True), RULE)
    assert "fmo" not in set(calls["sample"]) and len(calls) == 7
    her2 = table[table["population"] == "HER2+ BCSC"].set_index("sample")["pct_of_parent"]
    np.testing.assert_allclose(
        calls.set_index("sample")["HER2+ BCSC pct_of_parent"], her2[calls["sample"]]
    )
    assert (calls["positive"] == (calls["HER2+ BCSC pct_of_parent"] >= 1.0)).all()
    assert {"cohort", "patient", "rule", "note"} <= set(calls.columns)
    assert calls["rule"].iloc[0] == "HER2+ BCSC pct_of_parent >= 1"


def test_combined_rules_and_count_thresholds():
    table = _specimens({"recurrent": (3, 4), "primary": (1, 3)})
    wide = table.pivot(index="sample", columns="population", values=["pct_of_parent", "count"])
    both = call_specimens(table, ["HER2+ BCSC:pct_of_parent>=1", "BCSC:count>=1500"]).set_index(
        "sample"
    )
    expected = (wide[("pct_of_parent", "HER2+ BCSC")] >= 1) & (wide[("count", "BCSC")] >= 1500)
    assert (both["positive"] == expected[both.index]).all()
    assert {"HER2+ BCSC pct_of_parent", "BCSC count"} <= set(both.columns)
    either = call_specimens(
        table, {"any": ["HER2+ BCSC:pct_of_parent>=1", "BCSC:count>=1500"]}
    ).set_index("sample")
    expected_any = (wide[("pct_of_parent", "HER2+ BCSC")] >= 1) | (wide[("count", "BCSC")] >= 1500)
    assert (either["positive"] == expected_any[either.index]).all()


def test_missing_population_for_a_specimen_gives_no_call():
    table = _specimens({"recurrent": (2, 3), "primary": (1, 2)})
    table = table[~((table["sample"] == "recurrent_00") & (table["population"] == "HER2+ BCSC"))]
    calls = call_specimens(table, RULE).set_index("sample")
    assert pd.isna(calls.loc["recurrent_00", "positive"])
    assert "no HER2+ BCSC pct_of_parent" in calls.loc["recurrent_00", "note"]
    # Kleene logic: a failing rule decides an 'all' even when another value is missing
    low_bcsc = call_specimens(
        table, ["HER2+ BCSC:pct_of_parent>=1", "BCSC:count>=10000000"]
    ).set_index("sample")
    assert low_bcsc.loc["recurrent_00", "positive"] == False  # noqa: E712
    with pytest.warns(StatisticsWarning):
        result = compare_cohorts(calls.reset_index())
    assert (
        result.iloc[0]["n_level"] == 2 and "1 specimen(s) without a call" in result.iloc[0]["note"]
    )


def test_rules_are_plain_data_that_round_trip_through_yaml():
    rule = parse_rule(
        {"all": [RULE, {"any": ["BCSC:count>=100", {"population": "ALDH+", "threshold": 2}]}]}
    )
    assert isinstance(rule, AllOf) and isinstance(rule.rules[1], AnyOf)
    assert rule.rules[1].rules[1] == Rule("ALDH+", "pct_of_parent", ">=", 2.0)
    text = yaml.safe_dump(rule.to_dict())
    assert parse_rule(yaml.safe_load(text)) == rule
    assert parse_rule("HER2+ BCSC : pct_of_total < 0.5") == Rule(
        "HER2+ BCSC", "pct_of_total", "<", 0.5
    )


@pytest.mark.parametrize(
    "spec,match",
    [
        ("HER2+ BCSC >= 1", "POPULATION:METRIC"),
        ({"population": "BCSC", "op": "=>", "threshold": 1}, "operator"),
        ({"population": "BCSC", "threshold": "high"}, "number"),
        ({"population": "BCSC", "limit": 1}, "population and threshold"),
        ({"all": []}, "at least one"),
    ],
)
def test_bad_rules_are_refused(spec, match):
    with pytest.raises(ComparisonError, match=match):
        parse_rule(spec)


def test_rule_names_must_exist_in_the_table():
    table = _specimens({"recurrent": (2, 3), "primary": (1, 2)})
    with pytest.raises(ComparisonError, match=re.escape("Did you mean 'HER2+ BCSC'")):
        call_specimens(table, "HER2+ BSCS:pct_of_parent>=1")
    with pytest.raises(ComparisonError, match="Did you mean 'pct_of_parent'"):
        call_specimens(table, "HER2+ BCSC:pct_of_parnt>=1")
    with pytest.raises(ComparisonError, match="levels present"):
        compare_cohorts(call_specimens(table, RULE), reference="benign")


def test_cli_cohorts(tmp_path, capsys):
    from bcsc_flow.cli import main

    src = tmp_path / "populations.csv"
    _specimens({"recurrent": (22, 26), "primary": (8, 14)}).to_csv(src, index=False)
    rule_file = tmp_path / "rule.yaml"
    rule_file.write_text(yaml.safe_dump(RULE))
    out, calls_out = tmp_path / "cohorts.csv", tmp_path / "calls.csv"
    argv = ["cohorts", str(src), "--rule", str(rule_file), "--by", "cohort", "--reference", "primary",
            "--out", str(out), "--calls-out", str(calls_out)]  # fmt: skip
    assert main(argv) == 0
    row = pd.read_csv(out).iloc[0]
    assert row["p_value"] == pytest.approx(stats.fisher_exact([[22, 4], [8, 6]]).pvalue)
    assert len(pd.read_csv(calls_out)) == 40
    captured = capsys.readouterr()
    assert "22/26 = 84.6 %" in captured.out and "expected cell count under 5" in captured.err
    # compact and inline forms, combined with --any
    argv = ["cohorts", str(src), "--rule", "HER2+ BCSC:pct_of_parent>=1", "--rule",
            "{population: BCSC, metric: count, threshold: 100000}", "--any", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert pd.read_csv(out).iloc[0]["n_positive_level"] == 22
    assert main(["cohorts", str(src), "--rule", "nonsense", "--out", str(out)]) == 1
