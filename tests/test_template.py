"""Templates: loading, strict validation messages, digest, upgrades, marker matching, resolve errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bcsc_flow.errors import (
    ChannelNotFoundError,
    QCWarning,
    SheetError,
    TemplateError,
    TemplateWarning,
)
from bcsc_flow.markers import match_panel
from bcsc_flow.sample import Sample
from bcsc_flow.template import BUILTIN_DIR, Template, load_template, parse_template

DATA = Path(__file__).parent / "data" / "templates"


def _doc(name: str = "minimal_v1.yaml") -> dict:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def _err(doc: dict) -> str:
    with pytest.raises(TemplateError) as info:
        Template.from_document(doc, "t.yaml")
    return str(info.value)


# ----------------------------------------------------------------------------- loading
def test_builtin_and_path_load_the_same_template() -> None:
    by_name = load_template("bcsc")
    by_path = load_template(BUILTIN_DIR / "bcsc.yaml")
    archived = load_template(DATA / "bcsc_v1.yaml")
    assert by_name == by_path
    assert [p["name"] for p in archived.populations] == [p["name"] for p in by_name.populations]
    names = [p["name"] for p in by_name.populations]
    assert names == [
        "cells",
        "singlets",
        "live",
        "BCSC",
        "HER2+ BCSC",
        "HER2- BCSC",
        "HER2+",
        "ALDH+",
        "ALDH+ BCSC",
    ]


def test_save_and_reload_keeps_the_digest(tmp_path: Path) -> None:
    tpl = load_template("bcsc")
    back = load_template(tpl.save(tmp_path / "copy.yaml"))
    assert back.digest == tpl.digest and back.source.endswith("copy.yaml")


def test_template_pickles_for_worker_processes() -> None:
    import pickle

    tpl = load_template("bcsc")
    back = pickle.loads(pickle.dumps(tpl))
    assert back == tpl and back.populations == tpl.populations and back.source == tpl.source


def test_unknown_template_name_suggests_builtin() -> None:
    with pytest.raises(TemplateError, match=r"neither a built-in.*Did you mean 'bcsc'"):
        load_template("bcsd")


def test_template_is_shipped_inside_the_package() -> None:
    assert (BUILTIN_DIR / "bcsc.yaml").is_file()
    assert BUILTIN_DIR.parent.name == "bcsc_flow"


def test_digest_is_stable_across_key_order_and_layout() -> None:
    doc = _doc()
    a = Template.from_document(doc, "a")
    reordered = dict(reversed(list(doc.items())))
    reordered["panel"] = {"CD44": dict(reversed(list(doc["panel"]["CD44"].items())))}
    b = parse_template(yaml.safe_dump(reordered, default_flow_style=True), "b")
    c = parse_template(yaml.safe_dump(doc, default_flow_style=False, indent=4), "c")
    assert a.digest == b.digest == c.digest
    assert len(a.digest) == 64 and int(a.digest, 16) >= 0
    changed = _doc()
    changed["populations"][1]["gate"]["threshold"]["above"]["control_quantile"]["q"] = 0.995
    assert Template.from_document(changed, "d").digest != a.digest


def test_schema_zero_upgrades_with_a_warning_to_the_same_template() -> None:
    with pytest.warns(TemplateWarning, match=r"schema_version 0 upgraded to 1"):
        old = load_template(DATA / "minimal_v0.yaml")
    assert old.digest == load_template(DATA / "minimal_v1.yaml").digest


def test_future_schema_is_refused() -> None:
    doc = _doc()
    doc["schema_version"] = 7
    assert "reads schema versions 0 to 1" in _err(doc)


# ----------------------------------------------------------------------------- validation
def test_typo_in_a_key_names_path_and_suggests() -> None:
    doc = _doc()
    cq = doc["populations"][1]["gate"]["threshold"]["above"]["control_quantile"]
    cq["multipy"] = 2.0
    msg = _err(doc)
    assert msg.startswith("t.yaml: ")
    assert "populations[1].gate.threshold.above.control_quantile.multipy: unknown key" in msg
    assert "Did you mean 'multiply'?" in msg


def test_wrong_type_names_value_and_expectation() -> None:
    doc = _doc()
    doc["populations"][1]["gate"]["threshold"]["above"]["control_quantile"]["q"] = 99.5
    msg = _err(doc)
    assert "populations[1].gate.threshold.above.control_quantile.q = 99.5" in msg
    assert "strictly between 0 and 1" in msg


def test_unknown_gate_kind_lists_allowed_kinds() -> None:
    doc = _doc()
    doc["populations"][0]["gate"] = {"rang": {"dim": "CD44", "min": 0}}
    msg = _err(doc)
    assert "populations[0].gate = 'rang'" in msg and "Did you mean 'range'?" in msg


def test_unknown_parent_is_reported() -> None:
    doc = _doc()
    doc["populations"][1]["parent"] = "event"
    msg = _err(doc)
    assert (
        "populations[1].parent = 'event'" in msg
        and "unknown parent" in msg
        and "Did you mean 'events'?" in msg
    )


def test_cycle_in_parents_is_reported() -> None:
    doc = _doc()
    doc["populations"][0]["parent"] = "CD44+"
    msg = _err(doc)
    assert "cycle in parents" in msg and "events -> CD44+ -> events" in msg


def test_unknown_marker_in_a_gate_is_reported() -> None:
    doc = _doc()
    doc["populations"][1]["gate"]["threshold"]["dim"] = "CD45"
    msg = _err(doc)
    assert "populations[1].gate.threshold.dim = 'CD45'" in msg and "not in the panel" in msg
    assert "Did you mean 'CD44'?" in msg


def test_undeclared_control_role_is_reported() -> None:
    doc = _doc()
    doc["populations"][1]["gate"]["threshold"]["above"]["control_quantile"]["control"] = "fmo:CD44 "
    doc["controls"] = {"deab": {"match": "pair"}}
    msg = _err(doc)
    assert "control role is not declared under `controls:`" in msg


def test_control_role_with_unknown_marker_is_reported() -> None:
    doc = _doc()
    doc["controls"] = {"fmo:CD4": {"match": "batch"}}
    msg = _err(doc)
    assert "controls key = 'fmo:CD4'" in msg and "marker 'CD4' is not in the panel" in msg


def test_duplicate_population_and_missing_required_key() -> None:
    doc = _doc()
    doc["populations"][1]["name"] = "events"
    assert "population names must be unique" in _err(doc)
    doc = _doc()
    del doc["version"]
    assert "version: required key is missing" in _err(doc)


def test_yaml_is_loaded_safely() -> None:
    with pytest.raises(TemplateError, match="not valid YAML"):
        parse_template(
            "schema_version: 1\nname: !!python/object/apply:os.system ['true']\n", "evil.yaml"
        )


# ----------------------------------------------------------------------------- markers
PANEL = {
    "CD44": {"stain": ["CD44"], "detectors": ["APC-A", "R670-A"]},
    "HER2": {"stain": ["HER2", "ErbB2"], "detectors": ["PE-Cy7-A", "YG780-A"]},
    "viability": {"stain": ["Viability", "DAPI"], "detectors": ["DAPI-A"], "optional": True},
}


def _s(names: list[str], markers: list[str | None], name: str = "f.fcs") -> Sample:
    return Sample.from_array(np.zeros((2, len(names))), names, markers=markers, name=name)


def test_marker_resolution_reports_each_rule() -> None:
    s = _s(["APC-A", "YG780-A", "V450-A"], ["CD44", None, "DAPI-Viability"])
    mm = match_panel(s, PANEL)
    how = {m.marker: (m.channel, m.how) for m in mm.matches}
    assert how == {
        "CD44": ("APC-A", "$PnS exact"),
        "HER2": ("YG780-A", "detector alias"),
        "viability": ("V450-A", "$PnS word"),
    }
    over = match_panel(s, {"HER2": PANEL["HER2"]}, {"HER2": "v450-a"})
    assert (over.matches[0].channel, over.matches[0].how) == ("V450-A", "sheet override")


def test_marker_matching_two_channels_is_an_error() -> None:
    s = _s(["APC-A", "PE-A"], ["CD44 APC", "CD44 PE"])
    with pytest.raises(
        ChannelNotFoundError, match=r"f.fcs: marker 'CD44' matches 2 channels by \$PnS word"
    ):
        match_panel(s, PANEL)


def test_absent_marker_is_an_error_naming_candidates_unless_optional() -> None:
    s = _s(["FSC-A", "PE-A"], [None, "CD24 PE"])
    with pytest.raises(ChannelNotFoundError) as info:
        match_panel(s, {"CD44": PANEL["CD44"]})
    msg = str(info.value)
    assert "marker 'CD44' not found" in msg and "APC-A, R670-A" in msg and "PE-A (CD24 PE)" in msg
    mm = match_panel(s, {"viability": PANEL["viability"]})
    assert mm.matches[0].how == "absent (optional)" and not mm.has("viability")


def test_two_markers_on_one_channel_is_an_error() -> None:
    s = _s(["APC-A"], [None])
    panel = {"CD44": {"detectors": ["APC-A"]}, "CD24": {"detectors": ["APC-A"]}}
    with pytest.raises(ChannelNotFoundError, match="both resolve to channel APC-A"):
        match_panel(s, panel)


# ----------------------------------------------------------------------------- resolve errors
def _tiny_experiment() -> tuple[dict[str, Sample], pd.DataFrame]:
    rng = np.random.default_rng(0)
    test = Sample.from_array(rng.normal(600, 100, (500, 1)), ["APC-A"], markers=["CD44"], name="t1")
    fmo = Sample.from_array(rng.normal(100, 30, (500, 1)), ["APC-A"], markers=["CD44"], name="fmo")
    sheet = pd.DataFrame(
        {"sample": ["t1", "fmo"], "role": ["test", "fmo:CD44"], "batch": ["b1", "b1"]}
    )
    return {"t1": test, "fmo": fmo}, sheet


def test_resolve_freezes_a_control_quantile_per_batch() -> None:
    samples, sheet = _tiny_experiment()
    res = load_template(DATA / "minimal_v1.yaml").resolve(samples, sheet)
    cut = float(np.quantile(samples["fmo"]["APC-A"], 0.99))
    gate = res.strategies["t1"]["CD44+"].gate
    assert gate.above == pytest.approx(cut)
    row = res.thresholds.query("population == 'CD44+'").iloc[0]
    assert (
        row["control_file"] == "fmo"
        and row["control_events"] == 500
        and row["value"] == pytest.approx(cut)
    )
    assert set(res.thresholds["template_digest"]) == {
        load_template(DATA / "minimal_v1.yaml").digest
    }


def test_missing_control_names_batch_and_role() -> None:
    samples, sheet = _tiny_experiment()
    sheet = sheet[sheet["role"] == "test"]
    with pytest.raises(SheetError) as info:
        load_template(DATA / "minimal_v1.yaml").resolve(samples, sheet)
    msg = str(info.value)
    assert "batch 'b1' has no control with role 'fmo:CD44'" in msg and "population 'CD44+'" in msg


def test_sheet_sample_without_data_is_an_error() -> None:
    samples, sheet = _tiny_experiment()
    del samples["fmo"]
    with pytest.raises(SheetError, match=r"not given to resolve\(\): fmo"):
        load_template(DATA / "minimal_v1.yaml").resolve(samples, sheet)


def test_unknown_marker_in_file_at_resolve() -> None:
    samples, sheet = _tiny_experiment()
    samples["t1"] = Sample.from_array(np.zeros((5, 1)), ["FL9-A"], name="t1")
    with pytest.raises(ChannelNotFoundError, match="t1: marker 'CD44' not found"):
        load_template(DATA / "minimal_v1.yaml").resolve(samples, sheet)


DEAB_TEMPLATE = """
schema_version: 1
name: deab
version: "1"
panel:
  ALDH: {stain: [ALDH]}
controls:
  deab: {match: pair}
populations:
  - {name: ALDH+, parent: root, gate: {threshold: {dim: ALDH, above: {control_quantile: {control: deab, q: 0.99}}}}}
qc:
  - {population: ALDH+, of: root, max: 0.5}
"""


def _aldh(name: str, loc: float, seed: int) -> Sample:
    values = np.random.default_rng(seed).normal(loc, 50.0, (400, 1))
    return Sample.from_array(values, ["FITC-A"], markers=["ALDH"], name=name)


def test_deab_pairs_by_pair_id_else_batch_and_condition() -> None:
    tpl = parse_template(DEAB_TEMPLATE, "deab.yaml")
    samples = {
        "a": _aldh("a", 1000, 1),
        "b": _aldh("b", 1000, 2),
        "da": _aldh("da", 100, 3),
        "db": _aldh("db", 500, 4),
    }
    sheet = pd.DataFrame(
        {
            "sample": ["a", "b", "da", "db"],
            "role": ["test", "test", "DEAB", "deab"],
            "batch": ["1", "1", "1", "1"],
            "condition": ["x", "y", "x", "y"],
            "pair_id": ["a", "", "a", ""],
        }
    )
    with pytest.warns(QCWarning, match=r"2 QC expectation\(s\) not met"):
        res = tpl.resolve(samples, sheet)
    files = res.thresholds.set_index("sample")["control_file"].to_dict()
    assert files == {"a": "da", "b": "db"}
    assert res.strategies["b"]["ALDH+"].gate.above == pytest.approx(
        np.quantile(samples["db"]["FITC-A"], 0.99)
    )
    assert not res.qc["ok"].any()


def test_two_unpaired_deab_tubes_for_one_condition_are_ambiguous() -> None:
    tpl = parse_template(
        DEAB_TEMPLATE.replace("qc:\n  - {population: ALDH+, of: root, max: 0.5}\n", ""), "d.yaml"
    )
    samples = {"a": _aldh("a", 1000, 1), "d1": _aldh("d1", 100, 3), "d2": _aldh("d2", 100, 4)}
    sheet = pd.DataFrame(
        {"sample": ["a", "d1", "d2"], "role": ["test", "deab", "deab"], "batch": ["1"] * 3}
    )
    with pytest.raises(
        SheetError, match=r"2 controls with role 'deab' match sample 'a' \(d1, d2\)"
    ):
        tpl.resolve(samples, sheet)
