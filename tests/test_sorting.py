"""Sorting arithmetic (hand-checked known answers), index-sort keywords, purity, export."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from bcsc_flow.errors import FCSWarning, SortingError, StrategyError
from bcsc_flow.sample import Sample
from bcsc_flow.sorting_index import index_sort_positions, plate_dimension, well_name
from bcsc_flow.sorting_plan import plan_sort, theoretical_efficiency_pct
from bcsc_flow.sorting_yield import sort_summary, wilson_interval

# ---------------------------------------------------------------- sort summary


def test_sort_summary_known_answers() -> None:
    table = sort_summary(
        pd.DataFrame(
            {
                "sort": ["HER2+ BCSC", "HER2- BCSC"],
                "pre_sort_pct": [0.3, 2.0],
                "post_sort_purity_pct": [95.0, 85.0],
                "events_sorted": [100_000, 50_000],
                "cells_recovered": [85_000, 40_000],
                "input_events": [40_000_000, 10_000_000],
                "conflicts": [15_000, 0],
                "negative_fraction_pct": [0.01, np.nan],
                "operator": ["ab", "cd"],
            }
        )
    )
    first, second = table.iloc[0], table.iloc[1]
    # enrichment = 95 / 0.3 = 316.666…
    assert first["enrichment_factor"] == pytest.approx(316.6667, rel=1e-6)
    # recovery = 85,000 / 100,000 = 85 %
    assert first["recovery_pct"] == pytest.approx(85.0)
    # targets that passed = 40e6 × 0.003 = 120,000; targets in tube = 85,000 × 0.95 = 80,750
    # yield = 80,750 / 120,000 = 67.2917 %
    assert first["target_cells_recovered"] == pytest.approx(80_750.0)
    assert first["yield_pct"] == pytest.approx(67.291667, rel=1e-6)
    # efficiency = 100,000 / (100,000 + 15,000) = 86.9565 %
    assert first["efficiency_pct"] == pytest.approx(86.956522, rel=1e-6)
    # depletion = 0.3 / 0.01 = 30
    assert first["depletion_factor"] == pytest.approx(30.0)
    assert first["note"] == ""
    # second sort: enrichment 85 / 2 = 42.5; yield = 40,000 × 0.85 / (10e6 × 0.02) = 17 %
    assert second["enrichment_factor"] == pytest.approx(42.5)
    assert second["yield_pct"] == pytest.approx(17.0)
    assert math.isnan(second["depletion_factor"])
    assert second["note"] == "purity < 90 %; yield < 50 %"
    assert second["operator"] == "cd"  # extra columns are carried along


def test_sort_summary_keywords_and_missing_inputs() -> None:
    table = sort_summary(pre_sort_pct=1.0, post_sort_purity_pct=92.0)
    assert len(table) == 1 and table.loc[0, "sort"] == "sort 1"
    assert table.loc[0, "enrichment_factor"] == pytest.approx(92.0)
    for column in ("recovery_pct", "yield_pct", "efficiency_pct"):
        assert math.isnan(table.loc[0, column])
    multi = sort_summary(pre_sort_pct=[1.0, 4.0], post_sort_purity_pct=[90.0, 96.0])
    assert multi["enrichment_factor"].tolist() == [90.0, 24.0]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"pre_sort_pct": 1.0}, "post_sort_purity_pct"),
        ({"pre_sort_pct": 1.0, "post_sort_purity_pct": 120.0}, "0–100"),
        ({"pre_sort_pct": "abc", "post_sort_purity_pct": 90.0}, "numeric"),
        ({"pre_sort_pct": 1.0, "post_sort_purity_pct": 90.0, "events_sorted": -5}, ">= 0"),
    ],
)
def test_sort_summary_rejects_bad_input(kwargs: dict, fragment: str) -> None:
    with pytest.raises(SortingError, match=fragment):
        sort_summary(**kwargs)


def test_sort_summary_needs_something() -> None:
    with pytest.raises(SortingError, match="nothing to summarise"):
        sort_summary()
    with pytest.raises(SortingError, match="not both"):
        sort_summary(pd.DataFrame({"pre_sort_pct": [1.0]}), post_sort_purity_pct=90.0)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (95, 100), (950, 1000), (1000, 1000)])
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    ours = wilson_interval(k, n)
    assert ours == pytest.approx((100 * low, 100 * high), abs=1e-9)


def test_wilson_empty_is_nan() -> None:
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


# ---------------------------------------------------------------- sort planning


def test_plan_sort_domain_example() -> None:
    # DOMAIN §1.7/§5.3: HER2+ BCSC at 0.3 %, 1e5 cells, yield 50–80 %, 15,000 events/s.
    # 1e5 / (0.003 × 0.8) = 41,666,666.7 → 41,666,667 events; / 15,000 / 60 = 46.30 min
    # 1e5 / (0.003 × 0.5) = 66,666,666.7 → 66,666,667 events; 74.07 min
    for yld, events, minutes in ((80, 41_666_667, 46.2963), (50, 66_666_667, 74.0741)):
        plan = plan_sort(
            fraction_pct=0.3,
            population="HER2+ BCSC",
            target_cells=100_000,
            expected_yield_pct=yld,
            event_rate_per_s=15_000,
        )
        assert plan.loc[0, "events_needed"] == events
        assert plan.loc[0, "sort_time_min"] == pytest.approx(minutes, abs=1e-3)
        assert plan.loc[0, "population"] == "HER2+ BCSC"


def test_theoretical_efficiency_domain_example() -> None:
    # exp(−20,000 × 0.997 × 1 / 80,000) = exp(−0.24925) = 0.7794; 2 drops: exp(−0.4985) = 0.6075
    assert theoretical_efficiency_pct(20_000, 0.3, 1, 80_000) == pytest.approx(77.94, abs=0.01)
    assert theoretical_efficiency_pct(20_000, 0.3, 2, 80_000) == pytest.approx(60.75, abs=0.01)
    plan = plan_sort(
        fraction_pct=0.3,
        target_cells=1000,
        event_rate_per_s=20_000,
        drop_envelope=1,
        drop_frequency_hz=80_000,
    )
    assert plan.loc[0, "efficiency_pct"] == pytest.approx(77.94, abs=0.01)


def test_plan_sort_per_condition_from_populations_table() -> None:
    pops = pd.DataFrame(
        {
            "sample": ["u1", "u2", "i1", "i2", "u1", "i1"],
            "condition": [
                "untreated",
                "untreated",
                "irradiated",
                "irradiated",
                "untreated",
                "irradiated",
            ],
            "population": ["HER2+ BCSC"] * 4 + ["live", "live"],
            "pct_of_total": [0.25, 0.35, 1.5, 2.5, 80.0, 70.0],
        }
    )
    plan = plan_sort(pops, population="HER2+ BCSC", target_cells=100_000, expected_yield_pct=50)
    assert plan["condition"].tolist() == ["untreated", "irradiated"]
    # untreated mean 0.3 % → 1e5 / (0.003 × 0.5) = 66,666,667; irradiated mean 2 % → 1e7
    assert plan["events_needed"].tolist() == [66_666_667, 10_000_000]
    assert plan["min_fraction_pct"].tolist() == [0.25, 1.5]
    assert plan["n_samples"].tolist() == [2, 2]
    assert plan["basis"].tolist() == ["pct_of_total"] * 2
    assert plan["sort_time_min"].isna().all()


def test_plan_sort_errors() -> None:
    with pytest.raises(SortingError, match="either"):
        plan_sort(target_cells=10)
    with pytest.raises(SortingError, match="expected_yield_pct"):
        plan_sort(fraction_pct=1.0, target_cells=10, expected_yield_pct=0)
    pops = pd.DataFrame({"population": ["a"], "pct_of_total": [0.0]})
    with pytest.raises(SortingError, match="0 %"):
        plan_sort(pops, target_cells=10)
    with pytest.raises(SortingError, match="not in the table"):
        plan_sort(pops, population="b", target_cells=10)


# ---------------------------------------------------------------- index sorting


def _indexed(keywords: dict[str, str], n_events: int) -> Sample:
    return Sample.from_array(np.zeros((n_events, 1)), ["FSC-A"], name="plate", keywords=keywords)


def test_well_names() -> None:
    assert [
        well_name(0, 0),
        well_name(7, 11),
        well_name(15, 23),
        well_name(25, 0),
        well_name(26, 4),
    ] == [
        "A1",
        "H12",
        "P24",
        "Z1",
        "AA5",
    ]


def test_index_sort_joins_pieces_in_numeric_order() -> None:
    # pieces _10 and _2 must be joined as 1, 2, …, 10 (numeric, not string, order)
    keywords = {
        f"INDEX SORTING LOCATIONS_{i}": f"{i - 1},0;" for i in (10, 2, 1, 3, 4, 5, 6, 7, 8, 9)
    }
    keywords["INDEX SORTING DEVICE_DIMENSION"] = "16,24"
    keywords["INDEX SORTING SORTED LOCATION COUNT"] = "10"
    table = index_sort_positions(_indexed(keywords, 10))
    assert table["row"].tolist() == list(range(10))
    assert table["well"].tolist()[:3] == ["A1", "B1", "C1"]
    assert plate_dimension(_indexed(keywords, 1)) == (16, 24)


def test_index_sort_absent_is_empty() -> None:
    table = index_sort_positions(_indexed({}, 3))
    assert table.empty and list(table.columns) == ["event", "row", "col", "well"]


def test_index_sort_malformed_entry_keeps_alignment() -> None:
    sample = _indexed({"INDEX SORTING LOCATIONS_1": "0,0;x,1;2,2;"}, 3)
    with pytest.warns(FCSWarning, match="not 'row,col'"):
        table = index_sort_positions(sample)
    assert table["well"].tolist() == ["A1", None, "C3"]
    assert table["row"].isna().tolist() == [False, True, False]


@pytest.mark.parametrize(
    ("keywords", "n_events", "fragment"),
    [
        ({"INDEX SORTING LOCATIONS_1": "0,0;", "INDEX SORTING LOCATIONS_3": "0,1;"}, 2, "gaps"),
        ({"INDEX SORTING LOCATIONS_1": "0,0;0,1;0,2"}, 2, "only 2 events"),
        ({"INDEX SORTING LOCATIONS_1": "0,0"}, 2, "first 1 events"),
        ({"INDEX SORTING LOCATIONS_1": "0,0;", "INDEX SORTING SORTED LOCATION COUNT": "5"}, 1, "5"),
        (
            {"INDEX SORTING LOCATIONS_1": "0,30;", "INDEX SORTING DEVICE_DIMENSION": "16,24"},
            1,
            "outside",
        ),
        (
            {"INDEX SORTING LOCATIONS_1": "0,0;", "INDEX SORTING DEVICE_DIMENSION": "big"},
            1,
            "rows,cols",
        ),
    ],
)
def test_index_sort_warns_on_inconsistencies(keywords: dict, n_events: int, fragment: str) -> None:
    with pytest.warns(FCSWarning, match=fragment):
        index_sort_positions(_indexed(keywords, n_events))


# ---------------------------------------------------------------- purity


def _bcsc_strategy():
    from bcsc_flow.gates import Range, Threshold
    from bcsc_flow.strategy import GatingStrategy

    return (
        GatingStrategy()
        .add("cells", Range("FSC-A", 20_000, None))
        .add("live", Threshold("DAPI", below=1_000), parent="cells")
        .add("BCSC", Threshold("CD44", above=1_000) & Threshold("CD24", below=1_000), parent="live")
        .add("HER2+ BCSC", Threshold("HER2", above=1_000), parent="BCSC")
        .add("HER2- BCSC", Threshold("HER2", below=1_000), parent="BCSC")
        .add("CD24+", Threshold("CD24", above=1_000), parent="live")
    )


# Known-membership classes, far from every threshold (1,000), so gate = truth:
#   columns FSC-A, DAPI, CD44, CD24, HER2
_CLASSES = {
    "HER2+ BCSC": (50_000, 100, 5_000, 100, 5_000),
    "HER2- BCSC": (50_000, 100, 5_000, 100, 100),
    "CD24+": (50_000, 100, 100, 5_000, 100),
    "dead": (50_000, 9_000, 5_000, 100, 5_000),
    "debris": (5_000, 100, 5_000, 100, 5_000),
}


def _sorted_tube(counts: dict[str, int], seed: int) -> Sample:
    rng = np.random.default_rng(seed)
    blocks = [np.tile(_CLASSES[k], (n, 1)) for k, n in counts.items()]
    events = np.vstack(blocks).astype(np.float64)
    events *= rng.uniform(0.8, 1.2, events.shape)  # jitter that never crosses a threshold
    rng.shuffle(events)
    return Sample.from_array(events, ["FSC-A", "DAPI", "CD44", "CD24", "HER2"], name=f"post{seed}")


def test_purity_recovers_known_contamination() -> None:
    from bcsc_flow.sorting import purity

    rng = np.random.default_rng(11)
    live = 2_000
    # 95 % target among live cells, 5 % others drawn at random from the other live classes
    n_target = int(rng.binomial(live, 0.95))
    n_sibling = int(rng.binomial(live - n_target, 0.6))
    counts = {"HER2+ BCSC": n_target, "HER2- BCSC": n_sibling, "CD24+": live - n_target - n_sibling,
              "dead": 150, "debris": 300}  # fmt: skip
    tube = _sorted_tube(counts, seed=11)
    r = purity(tube, "HER2+ BCSC", _bcsc_strategy(), of="live")
    assert (r.n_target, r.n_reference) == (n_target, live)
    assert r.purity_pct == pytest.approx(100 * n_target / live)
    assert r.ci_low < 95.0 < r.ci_high  # the true composition lies within the Wilson CI
    assert dict(r.contaminants) == {"HER2- BCSC": n_sibling, "CD24+": live - n_target - n_sibling}
    assert r.unassigned == 0
    row = r.to_frame().iloc[0]
    assert row["top_contaminant"] == "HER2- BCSC" and row["reference"] == "live"
    table = r.contaminant_table()
    assert table["count"].sum() == live - n_target
    # against all events, dead cells and debris count as non-target and fall in no leaf
    everything = purity(tube, "HER2+ BCSC", _bcsc_strategy())
    assert everything.n_reference == len(tube)
    assert everything.unassigned == 450


def test_purity_ci_coverage_over_many_sorts() -> None:
    """The Wilson 95 % CI covers the true 95 % purity in about 95 % of simulated sorts."""
    from bcsc_flow.sorting import purity

    rng = np.random.default_rng(12)
    strategy = _bcsc_strategy()
    covered = 0
    runs = 200
    for seed in range(runs):
        n_target = int(rng.binomial(300, 0.95))
        tube = _sorted_tube({"HER2+ BCSC": n_target, "CD24+": 300 - n_target}, seed=seed)
        r = purity(tube, "HER2+ BCSC", strategy, of="live")
        covered += r.ci_low <= 95.0 <= r.ci_high
    assert 0.90 * runs <= covered <= 0.99 * runs


def test_purity_with_bare_gate_and_population() -> None:
    from bcsc_flow.gates import Threshold
    from bcsc_flow.sorting import purity
    from bcsc_flow.strategy import Population

    tube = _sorted_tube({"HER2+ BCSC": 90, "HER2- BCSC": 10}, seed=3)
    bare = purity(tube, Threshold("HER2", above=1_000))
    assert (bare.population, bare.n_target, bare.reference) == ("sort gate", 90, "all events")
    inside = purity(tube, Threshold("HER2", above=1_000), _bcsc_strategy(), of="live")
    assert (inside.reference, inside.purity_pct) == ("live", 90.0)
    with pytest.raises(StrategyError, match="not a population"):
        purity(tube, Threshold("HER2", above=1_000), _bcsc_strategy(), of="alive")
    pop = Population("HER2 high", Threshold("HER2", above=1_000), parent="live")
    within = purity(tube, pop, _bcsc_strategy(), of="live", viability="live")
    assert within.purity_pct == 90.0 and within.viability_pct == 100.0


def test_purity_errors() -> None:
    from bcsc_flow.sorting import purity

    tube = _sorted_tube({"HER2+ BCSC": 5}, seed=1)
    with pytest.raises(StrategyError, match="pass the frozen strategy"):
        purity(tube, "HER2+ BCSC")
    with pytest.raises(StrategyError, match="not an ancestor"):
        purity(tube, "HER2+ BCSC", _bcsc_strategy(), of="CD24+")
    with pytest.raises(StrategyError, match=re.escape("Did you mean 'HER2+ BCSC'")):
        purity(tube, "HER2+ BCSCs", _bcsc_strategy())
    with pytest.raises(StrategyError, match="frozen GatingStrategy"):
        purity(tube, "HER2+ BCSC", {"not": "a strategy"})


# ---------------------------------------------------------------- export


def _float32_exact(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = np.array([100_000, 2_000, 2_000, 2_000, 2_000])  # FSC-A, DAPI, CD44, CD24, HER2
    return np.round(rng.uniform(0, 1, (n, 5)) * scale * 8) / 8  # multiples of 1/8: exact in float32


def test_export_population_reads_back_exactly(tmp_path) -> None:
    from bcsc_flow.io.fcs import read_fcs, write_fcs
    from bcsc_flow.sorting import export_population

    ev = _float32_exact(3_000, 5)
    src = Sample.from_array(ev, ["FSC-A", "DAPI", "CD44", "CD24", "HER2"],
                            markers=[None, "DAPI", "CD44 APC", "CD24 PE", "HER2"],
                            keywords={"$CYT": "Simulated Aria", "OPERATOR": "h7"})  # fmt: skip
    pre_path = write_fcs(tmp_path / "pre.fcs", src)
    pre = read_fcs(pre_path)
    strategy = _bcsc_strategy()
    result = strategy.apply(pre)
    out = export_population(
        result, "HER2+ BCSC", tmp_path / "her2pos.fcs", template_digest="abc123"
    )
    back = read_fcs(out)
    expected = ev[np.asarray(result.mask("HER2+ BCSC"))]
    assert len(back) == int(result.count("HER2+ BCSC")) > 0
    assert np.array_equal(np.asarray(back.events, dtype=np.float64), expected)
    assert back.markers == pre.markers and back.names == pre.names
    kw = back.keywords
    assert kw["BCSC_FLOW_POPULATION"] == "HER2+ BCSC"
    assert kw["BCSC_FLOW_GATE_PATH"] == "cells > live > BCSC > HER2+ BCSC"
    assert kw["BCSC_FLOW_SOURCE"] == str(pre_path)
    assert kw["BCSC_FLOW_SOURCE_EVENTS"] == "3000"
    assert kw["BCSC_FLOW_TEMPLATE_DIGEST"] == "abc123"
    assert kw["BCSC_FLOW_GATES"].startswith("cells: ")
    assert kw["$FIL"] == "her2pos.fcs"
    assert kw["$CYT"] == "Simulated Aria" and kw["OPERATOR"] == "h7"
    # the gate re-applied to the exported file keeps every event (an in-silico sort)
    assert strategy.apply(back).count("HER2+ BCSC") == len(back)
    from bcsc_flow.errors import FCSWriteError

    with pytest.raises(FCSWriteError, match="overwrite=True"):
        export_population(result, "HER2+ BCSC", out)


def test_export_population_checks_sample_length(tmp_path) -> None:
    from bcsc_flow.sorting import export_population

    src = Sample.from_array(_float32_exact(10, 1), ["FSC-A", "DAPI", "CD44", "CD24", "HER2"])
    result = _bcsc_strategy().apply(src)
    with pytest.raises(StrategyError, match="has 5 events"):
        export_population(result, "cells", tmp_path / "x.fcs", sample=src.subset(np.arange(5)))


def test_exported_file_reads_in_an_independent_reader(tmp_path) -> None:
    import json
    import os
    import subprocess

    oracle = os.environ.get("BCSC_ORACLE_PYTHON")
    if not oracle:
        pytest.skip("BCSC_ORACLE_PYTHON is not set (CI sets it)")
    from bcsc_flow.sorting import export_population

    src = Sample.from_array(_float32_exact(500, 2), ["FSC-A", "DAPI", "CD44", "CD24", "HER2"])
    result = _bcsc_strategy().apply(src)
    out = export_population(result, "BCSC", tmp_path / "bcsc.fcs")
    code = (
        "import flowio, json, sys\n"
        "f = flowio.FlowData(sys.argv[1])\n"
        "print(json.dumps({'n': f.event_count, 'gate_path': f.text.get('bcsc_flow_gate_path'),"
        " 'sum': float(sum(f.events))}))\n"
    )
    run = subprocess.run([oracle, "-c", code, str(out)], capture_output=True, text=True, check=True)
    got = json.loads(run.stdout)
    expected = np.asarray(src.events)[np.asarray(result.mask("BCSC"))]
    assert got["n"] == len(expected)
    assert got["gate_path"] == "cells > live > BCSC"
    assert got["sum"] == pytest.approx(float(expected.sum()))


# ---------------------------------------------------------------- command line


def _cli_strategy():
    from bcsc_flow.gates import Range, Threshold
    from bcsc_flow.strategy import GatingStrategy

    return (
        GatingStrategy()
        .add("cells", Range("FSC-A", 20_000, None))
        .add("live", Threshold("DAPI", below=1_000), parent="cells")
        .add("HER2pos", Threshold("HER2", above=1_000), parent="live")
        .add("HER2neg", Threshold("HER2", below=1_000), parent="live")
    )


def test_cli_sort_report_purity_from_gatingml(tmp_path, capsys) -> None:
    from bcsc_flow import gatingml
    from bcsc_flow.cli import main
    from bcsc_flow.io.fcs import write_fcs

    xml = gatingml.write(_cli_strategy(), tmp_path / "gates.xml")
    tubes = []
    for seed, (n_pos, n_neg) in enumerate([(190, 10), (96, 4)]):
        tube = _sorted_tube({"HER2+ BCSC": n_pos, "HER2- BCSC": n_neg, "debris": 7}, seed=seed)
        tubes.append(write_fcs(tmp_path / f"post{seed}.fcs", tube))
    out = tmp_path / "purity.csv"
    code = main(["sort-report", "--post", *map(str, tubes), "--gatingml", str(xml),
                 "--population", "HER2pos", "--of", "live", "--out", str(out)])  # fmt: skip
    assert code == 0
    table = pd.read_csv(out)
    # 190 / 200 = 95 %, 96 / 100 = 96 %; debris is outside the reference population
    assert table["purity_pct"].tolist() == [95.0, 96.0]
    assert table["n_reference"].tolist() == [200, 100]
    assert table["top_contaminant"].tolist() == ["HER2neg", "HER2neg"]
    assert "HER2pos" in capsys.readouterr().out


def test_cli_sort_report_summary_csv(tmp_path, capsys) -> None:
    from bcsc_flow.cli import main

    sorts = tmp_path / "sorts.csv"
    pd.DataFrame({"sort": ["a"], "pre_sort_pct": [0.5], "post_sort_purity_pct": [90.0],
                  "events_sorted": [1000], "cells_recovered": [800]}).to_csv(sorts, index=False)  # fmt: skip
    assert main(["sort-report", "--sorts", str(sorts)]) == 0
    printed = capsys.readouterr().out
    assert "180" in printed and "80" in printed  # enrichment 90 / 0.5; recovery 800 / 1000
    assert main(["sort-report", "--post", str(sorts)]) == 1  # purity needs --gatingml
    assert "--gatingml" in capsys.readouterr().err


def test_cli_export_population(tmp_path, capsys) -> None:
    from bcsc_flow import gatingml
    from bcsc_flow.cli import main
    from bcsc_flow.io.fcs import read_fcs, write_fcs

    xml = gatingml.write(_cli_strategy(), tmp_path / "gates.xml")
    source = write_fcs(
        tmp_path / "pre.fcs", _sorted_tube({"HER2+ BCSC": 30, "HER2- BCSC": 70, "dead": 5}, seed=9)
    )
    out = tmp_path / "her2pos.fcs"
    args = [
        "export-population",
        str(source),
        "--gatingml",
        str(xml),
        "--population",
        "HER2pos",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    back = read_fcs(out)
    assert len(back) == 30 and np.all(back["HER2"] > 1_000)
    assert back.keywords["BCSC_FLOW_GATE_PATH"] == "cells > live > HER2pos"
    assert "wrote 30 events of 'HER2pos'" in capsys.readouterr().out
    assert main(args) == 1  # refuses to overwrite
    assert "overwrite" in capsys.readouterr().err


# ---------------------------------------------------------------- sort sheet


def test_sort_sheet_raw_values_reproduce_the_gate() -> None:
    from bcsc_flow.dimensions import Dimension
    from bcsc_flow.gates import Polygon, Threshold
    from bcsc_flow.sorting import sort_sheet
    from bcsc_flow.strategy import GatingStrategy
    from bcsc_flow.transforms import Logicle

    f = Logicle(262144.0, 0.5, 4.5)
    cd44, cd24 = Dimension("APC-A", f, "FCS"), Dimension("PE-A", f, "FCS")
    strategy = (
        GatingStrategy()
        .add("cells", Polygon(("FSC-A", "SSC-A"), [(1e4, 1e4), (2e5, 1e4), (2e5, 2e5)]))
        .add("CD44+", Threshold(cd44, above=0.55), parent="cells")
        .add("CD24-", Threshold(cd24, below=0.45), parent="cells")
        .add("BCSC", "CD44+" & Threshold(cd24, below=0.45), parent="cells")
    )
    rng = np.random.default_rng(0)
    ev = np.column_stack([rng.uniform(0, 2e5, (500, 2)), rng.uniform(-100, 1e5, (500, 2))])
    sample = Sample.from_array(
        ev, ["FSC-A", "SSC-A", "APC-A", "PE-A"], markers=[None, None, "CD44", "CD24"]
    )
    result = strategy.apply(sample)
    sheet = sort_sheet(result, ["BCSC"])
    assert sheet["population"].tolist() == ["cells"] * 6 + ["CD44+", "BCSC"]  # tree order
    assert sheet.loc[sheet["population"] == "cells", "raw_value"].tolist() == [
        1e4,
        1e4,
        2e5,
        1e4,
        2e5,
        2e5,
    ]
    bcsc = sheet[sheet["population"] == "BCSC"].iloc[0]
    assert (bcsc["marker"], bcsc["transform"], bcsc["compensation"]) == ("CD24", "logicle", "FCS")
    cd44_raw = float(sheet.loc[sheet["population"] == "CD44+", "raw_value"].iloc[0])
    assert float(f(np.array([cd44_raw]))[0]) == pytest.approx(0.55, abs=1e-9)
    # an operator's gate at the raw value splits events exactly like the frozen gate
    # (the file has no $SPILLOVER, so "FCS" compensation leaves the values as they are)
    in_cells = np.asarray(result.mask("cells"))
    by_hand = in_cells & (sample["APC-A"] >= cd44_raw)
    assert np.array_equal(by_hand, np.asarray(result.mask("CD44+")))
    assert bcsc["pct_of_parent"] == pytest.approx(result.pct_of_parent("BCSC"))
    with pytest.raises(StrategyError, match="no population 'BSCS'"):
        sort_sheet(result, ["BSCS"])


def test_index_sort_with_gate_memberships() -> None:
    from bcsc_flow.gates import Threshold
    from bcsc_flow.strategy import GatingStrategy

    sample = Sample.from_array(
        np.array([[1.0], [5.0], [7.0]]),
        ["HER2"],
        keywords={"INDEX SORTING LOCATIONS_1": "0,0;0,1;0,2;"},
    )
    result = GatingStrategy().add("HER2+", Threshold("HER2", above=4.0)).apply(sample)
    table = index_sort_positions(sample, result)
    assert list(table.columns) == ["event", "row", "col", "well", "HER2+"]
    assert table["HER2+"].tolist() == [False, True, True]
    with pytest.raises(StrategyError, match="gate this sample"):
        index_sort_positions(sample.subset(np.array([0, 1])), result)
