"""Batch gating of a folder: truth recovered, same results however it runs, faults contained."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import bcsc_flow as bf
from bcsc_flow.batch import gate_folder
from bcsc_flow.errors import QCWarning

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FCS = ROOT / "sample_fcs"
# Tolerances of the template issue: BCSC % of live, HER2+ % of BCSC, ALDH+ % of live.
TOLERANCE = {"BCSC": 0.5, "HER2+ BCSC": 5.0, "ALDH+": 0.7}


@pytest.fixture(scope="module")
def results() -> bf.Results:
    return gate_folder(SAMPLE_FCS, "bcsc", progress=False)


def _key(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["sample", "population", "parent", "count", "parent_count", "total_count"]
    return frame[cols].sort_values(["sample", "population"]).reset_index(drop=True)


def test_sample_fcs_recovers_truth(results: bf.Results) -> None:
    assert results.ok, results.problems.to_string()
    truth = pd.read_csv(SAMPLE_FCS / "truth.csv")
    merged = results.populations.merge(truth, on=["sample", "population"], suffixes=("", "_truth"))
    assert set(merged["sample"]) == {f"{c}_r{r}" for c in ("unt", "irr") for r in (1, 2, 3)}
    for population, tol in TOLERANCE.items():
        rows = merged[merged["population"] == population]
        assert len(rows) == 6
        err = (rows["pct_of_parent"] - rows["true_pct_of_parent"]).abs()
        assert err.max() <= tol, f"{population}: errors {err.round(3).tolist()} > {tol}"


def test_populations_table_contract(results: bf.Results) -> None:
    cols = results.populations.columns.tolist()
    contract = [
        "sample", "population", "parent", "count", "parent_count", "total_count",
        "pct_of_parent", "pct_of_total", "template_digest",
    ]  # fmt: skip
    assert cols[: len(contract)] == contract
    for extra in ("condition", "replicate", "batch", "role", "pair_id", "file"):
        assert extra in cols
    assert results.populations["template_digest"].eq(bf.load_template("bcsc").digest).all()
    assert set(results.thresholds["control_file"].dropna()) >= {
        "b1_fmo_CD44.fcs",
        "deab_unt_r1.fcs",
    }
    assert {"median", "cv", "robust_cv"} <= set(results.statistics.columns)


def test_jobs_and_dask_give_identical_results(results: bf.Results) -> None:
    two = gate_folder(SAMPLE_FCS, "bcsc", jobs=2, progress=False)
    pd.testing.assert_frame_equal(_key(results.populations), _key(two.populations))
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        on_dask = gate_folder(
            SAMPLE_FCS, "bcsc", scheduler=cluster.scheduler_address, progress=False
        )
    pd.testing.assert_frame_equal(_key(results.populations), _key(on_dask.populations))


def test_faults_are_reported_and_nothing_else_is_lost(tmp_path: Path, results: bf.Results) -> None:
    folder = tmp_path / "data"
    shutil.copytree(SAMPLE_FCS, folder, ignore=shutil.ignore_patterns("truth*", "*.json", "*.md"))
    broken = folder / "irr_r2.fcs"
    broken.write_bytes(broken.read_bytes()[:5000])  # truncated mid-DATA
    sheet = pd.read_csv(folder / "samples.csv", dtype=str, keep_default_na=False)
    ghost = sheet[sheet["sample"] == "unt_r3"].assign(
        sample="unt_r4", file="unt_r4.fcs", replicate="4"
    )
    pd.concat([sheet, ghost]).to_csv(folder / "samples.csv", index=False)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    with pytest.warns(QCWarning, match="could not be read or gated"):
        faulty = gate_folder(folder, "bcsc", jobs=2, progress=False)
    problems = faulty.problems.set_index("sample")
    assert set(problems.index) == {"irr_r2", "unt_r4"}
    assert "irr_r2.fcs" in problems.loc["irr_r2", "message"]
    assert "not found" in problems.loc["unt_r4", "message"]
    kept = faulty.populations[faulty.populations["sample"] != "irr_r2"]
    expected = results.populations[results.populations["sample"] != "irr_r2"]
    pd.testing.assert_frame_equal(_key(kept), _key(expected))
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before  # input untouched


def test_results_write_atomically(tmp_path: Path, results: bf.Results) -> None:
    written = results.write(tmp_path / "out", parquet=False)
    names = sorted(p.name for p in written)
    assert "populations.csv" in names and "thresholds.csv" in names and "problems.csv" in names
    back = pd.read_csv(tmp_path / "out" / "populations.csv")
    assert len(back) == len(results.populations)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _cpu_seconds(pid: int) -> float:
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_worker_killed_mid_batch_loses_nothing(results: bf.Results) -> None:
    """SIGKILL a busy worker process while the batch runs: every result still arrives."""
    import os
    import signal
    import threading

    killed: list[int] = []
    stop = threading.Event()

    def kill_a_busy_worker() -> None:
        while not stop.is_set() and not killed:
            for server in _children(os.getpid()):  # the forkserver; workers are its children
                for worker in _children(server):
                    if _cpu_seconds(worker) > 0.3:  # it is running a task, not starting up
                        os.kill(worker, signal.SIGKILL)
                        killed.append(worker)
                        return
            stop.wait(0.02)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    try:
        survived = gate_folder(SAMPLE_FCS, "bcsc", jobs=2, progress=False)
    finally:
        stop.set()
        killer.join()
    assert killed, "no busy worker was found to kill; the test proved nothing"
    assert survived.ok, survived.problems.to_string()
    pd.testing.assert_frame_equal(_key(results.populations), _key(survived.populations))
