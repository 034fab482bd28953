"""Sample sheets: reading, validation against the folder (all problems at once), inference."""

from __future__ import annotations

from pathlib import Path

import pytest

from bcsc_flow.errors import SheetError, SheetWarning
from bcsc_flow.io.sheet import SampleSheet, infer_sheet, parse_role, read_sheet

HEADER = "file,sample,condition,replicate,batch,role,pair_id,dose_gy\n"
GOOD_ROWS = [
    "unt_r1.fcs,unt_r1,untreated,1,1,test,unt_r1,0",
    "irr_r1.fcs,irr_r1,irradiated,1,1,test,irr_r1,4",
    "deab_unt_r1.fcs,deab_unt_r1,untreated,1,1,deab,unt_r1,0",
    "deab_irr_r1.fcs,deab_irr_r1,irradiated,1,1,deab,irr_r1,4",
    "b1_fmo_CD44.fcs,b1_fmo_CD44,,,1,fmo:CD44,,",
]


def _folder(tmp_path: Path, rows: list[str], files: list[str] | None = None) -> Path:
    (tmp_path / "samples.csv").write_text(HEADER + "\n".join(rows) + "\n")
    for name in files if files is not None else [r.split(",")[0] for r in rows]:
        (tmp_path / name).write_bytes(b"FCS3.1")
    return tmp_path / "samples.csv"


def test_good_sheet_reads_and_keeps_extra_columns(tmp_path: Path) -> None:
    sheet = read_sheet(_folder(tmp_path, GOOD_ROWS), require_deab=True, required_roles=["fmo:CD44"])
    assert sheet.frame["dose_gy"].tolist() == ["0", "4", "0", "4", ""]
    assert sheet.tests()["sample"].tolist() == ["unt_r1", "irr_r1"]
    assert sheet.deab_for("irr_r1") == "deab_irr_r1"
    assert sheet.control_for("unt_r1", "fmo:CD44") == "b1_fmo_CD44"
    assert sheet.path("unt_r1") == tmp_path / "unt_r1.fcs"
    assert sheet.source == "file"


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    rows = [
        *GOOD_ROWS,
        "unt_r1b.fcs,unt_r1,untreated,2,1,test,,",  # duplicate sample name
        "ghost.fcs,ghost,untreated,3,1,test,,",  # file missing on disk
        "x.fcs,x,untreated,3,1,stain:CD44,,",  # unknown role
        "deab_orphan.fcs,deab_orphan,untreated,9,1,deab,nobody,",  # DEAB with no test
    ]
    files = [r.split(",")[0] for r in rows if not r.startswith("ghost")] + ["stray.fcs"]
    with pytest.raises(SheetError) as info:
        read_sheet(_folder(tmp_path, rows, files), require_deab=True, required_roles=["fmo:CD24"])
    msg = str(info.value)
    assert "duplicate sample name 'unt_r1'" in msg
    assert "'ghost.fcs' is listed but not in the folder" in msg
    assert "'stray.fcs' is in the folder but not in the sheet" in msg
    assert "unknown role 'stain:CD44'" in msg
    assert "DEAB tube 'deab_orphan' has no test sample" in msg
    assert "test sample 'ghost' has no DEAB tube" in msg
    assert "has no 'fmo:CD24' control" in msg
    assert str(tmp_path) in msg


def test_deab_pairs_by_batch_and_condition_without_pair_id() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "file": ["a.fcs", "d.fcs"],
            "sample": ["a", "d"],
            "condition": ["irradiated", "irradiated"],
            "batch": ["2", "2"],
            "role": ["test", "deab"],
        }
    )
    sheet = SampleSheet.from_frame(frame)
    assert sheet.deab_for("a") == "d"
    assert sheet.problems(check_files=False, require_deab=True) == []


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("file,condition\nx.fcs,untreated\n")
    with pytest.raises(SheetError, match=r"lacks the column\(s\) sample, role"):
        read_sheet(tmp_path / "s.csv")


def test_missing_sheet_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SheetError, match="does not exist"):
        read_sheet(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("role", "parsed"),
    [
        ("test", ("test", None)),
        ("FMO:CD24", ("fmo", "CD24")),
        ("isotype:HER2", ("isotype", "HER2")),
    ],
)
def test_parse_role(role: str, parsed: tuple[str, str | None]) -> None:
    assert parse_role(role) == parsed


@pytest.mark.parametrize("role", ["fmo", "fmo:", "sorted", ""])
def test_parse_role_rejects(role: str) -> None:
    with pytest.raises(SheetError, match="unknown role"):
        parse_role(role)


def test_infer_sheet_from_file_names(tmp_path: Path) -> None:
    for name in ["unt_r1.fcs", "irr_r2.fcs", "deab_irr_r2.fcs", "b1_fmo_CD44.fcs", "notes.txt"]:
        (tmp_path / name).write_bytes(b"")
    with pytest.warns(SheetWarning, match="inferred from file names"):
        sheet = infer_sheet(tmp_path)
    frame = sheet.frame.set_index("sample")
    assert sheet.source == "inferred"
    assert len(frame) == 4
    assert frame.loc["irr_r2", "condition"] == "irradiated"
    assert frame.loc["unt_r1", "replicate"] == "1"
    assert frame.loc["deab_irr_r2", "role"] == "deab"
    assert frame.loc["deab_irr_r2", "pair_id"] == "irr_r2"
    assert frame.loc["b1_fmo_CD44", "role"] == "fmo:CD44"
    assert sheet.deab_for("irr_r2") == "deab_irr_r2"


def test_infer_sheet_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SheetError, match="holds no FCS files"):
        infer_sheet(tmp_path)


def test_infer_sheet_reads_tube_keywords(tmp_path: Path) -> None:
    import numpy as np

    from bcsc_flow.io.fcs import write_fcs

    tubes = {
        "tube01.fcs": "MCF7 irr r2 day1",
        "tube02.fcs": "DEAB irr r2 day1",
        "tube03.fcs": "FMO CD44 day1",
    }
    for name, tube in tubes.items():
        write_fcs(
            tmp_path / name, np.zeros((3, 1)), channels=["FSC-A"], keywords={"TUBE NAME": tube}
        )
    with pytest.warns(SheetWarning, match="inferred"):
        sheet = infer_sheet(tmp_path)
    frame = sheet.frame.set_index("sample")
    assert frame.loc["tube01", ["role", "condition", "replicate", "batch"]].tolist() == [
        "test", "irradiated", "2", "1"
    ]  # fmt: skip
    assert frame.loc["tube02", "role"] == "deab"
    assert frame.loc["tube03", "role"] == "fmo:CD44"
    assert sheet.deab_for("tube01") == "tube02"  # same batch and condition
