"""Files the library writes are written atomically and never replace a file unasked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bcsc_flow import gatingml
from bcsc_flow.errors import GatingMLError, TemplateError
from bcsc_flow.gates import Range
from bcsc_flow.strategy import GatingStrategy
from bcsc_flow.template import load_template, parse_template


def test_gatingml_write_refuses_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "gates.xml"
    target.write_text("precious")
    strategy = GatingStrategy().add("cells", Range("FSC-A", 1, 2))
    with pytest.raises(GatingMLError, match="file exists"):
        gatingml.write(strategy, target)
    assert target.read_text() == "precious"
    gatingml.write(strategy, target, overwrite=True)
    assert gatingml.read(target)["cells"].gate == strategy["cells"].gate
    assert [p.name for p in tmp_path.iterdir()] == ["gates.xml"]  # no temporary left over


def test_template_save_refuses_an_existing_file_and_round_trips(tmp_path: Path) -> None:
    tpl = parse_template(
        "schema_version: 1\nname: t\nversion: '1'\npanel: {CD44: {}}\n"
        "populations:\n  - {name: pos, parent: root, gate: {threshold: {dim: CD44, above: 5}}}\n"
    )
    path = tpl.save(tmp_path / "t.yaml")  # no description: written without one, loads back
    assert load_template(path).digest == tpl.digest
    with pytest.raises(TemplateError, match="file exists"):
        tpl.save(path)
    assert tpl.save(path, overwrite=True) == path
