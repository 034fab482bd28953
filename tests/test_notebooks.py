"""The example notebooks in notebooks/ run without errors, and are committed without outputs.

Each notebook is executed with nbclient in a fresh ``python3`` kernel of the current
environment (the one that has bcsc_flow installed), from the notebooks folder; a cell that
raises fails the test with the cell's source and the error. The notebooks assert their own
key results against the simulator's truth (e.g. BCSC % within 0.3 point of truth.csv,
the Gating-ML round trip gives equal counts, the sort purity matches the mixed fraction).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
TIMEOUT_S = 600


def test_the_four_notebooks_exist() -> None:
    assert NAMES == [
        "01_quickstart.ipynb",
        "02_build_and_share_a_template.ipynb",
        "03_irradiated_vs_untreated.ipynb",
        "04_sort_analysis.ipynb",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name: str) -> None:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: a cell has outputs; strip them before committing"
            assert cell.execution_count is None, f"{name}: execution counts must be cleared"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name: str, tmp_path: Path) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        book,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        allow_errors=False,
    )
    env_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env_path}"
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{name}: a cell failed:\n{exc}")
    finally:
        os.environ["PATH"] = env_path
    errors = [
        out
        for cell in book.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.get("output_type") == "error"
    ]
    assert errors == []
    assert all(c.execution_count for c in book.cells if c.cell_type == "code")
