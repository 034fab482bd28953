"""Time the HTML report of sample_fcs against the gating it reports on.

Steps (each best of ``--repeat`` runs, single process):

* gate: ``gate_folder(sample_fcs, "bcsc")`` (the reference, ratio 1.0), and with
  ``keep_results=True`` (keeps every test sample's events and frozen gates for figures);
* report without figures; with the comparison plot only (no kept results); with the
  comparison plot and a gating-path grid per test sample (6 × 9 panels);
* ``bcsc-flow report`` rebuilding the page from the written tables;
* loading the page in headless Chromium (``--dump-dom``), when ``chromium`` is installed.

Usage: ``python benchmarks/bench_report.py [--repeat 2]`` from the repository root.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bcsc_flow as bf
from bcsc_flow.batch import Results, write_table
from bcsc_flow.cli import main
from bcsc_flow.report import write_report

SAMPLE_FCS = Path(__file__).resolve().parents[1] / "sample_fcs"


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main_bench(repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench_report_"))
    rows: list[tuple[str, float, str]] = []
    t_gate, res = best(lambda: bf.gate_folder(SAMPLE_FCS, "bcsc", progress=False), repeat)
    rows.append(("gate_folder (reference)", t_gate, ""))
    t_keep, kept = best(
        lambda: bf.gate_folder(SAMPLE_FCS, "bcsc", progress=False, keep_results=True), repeat
    )
    rows.append(("gate_folder keep_results=True", t_keep, f"{len(kept.samples)} results kept"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = bf.compare(res.populations, by="condition", reference="untreated")
    lean = Results(
        res.populations, res.thresholds, res.statistics, res.problems, res.sheet,
        markers=res.markers, qc=res.qc, warnings=res.warnings, template=res.template,
    )  # fmt: skip
    cases = [
        ("report, figures=False", lambda: write_report(lean, cmp, work / "a.html", figures=False)),
        ("report, comparison plot only", lambda: write_report(lean, cmp, work / "b.html")),
        ("report, comparison + 6 gating paths", lambda: write_report(kept, cmp, work / "c.html")),
    ]
    for label, fn in cases:
        seconds, path = best(fn, repeat)
        rows.append((label, seconds, f"{path.stat().st_size / 1024:.0f} KiB"))
    tables = work / "tables"
    res.write(tables, parquet=False)
    write_table(cmp, tables / "comparison.csv")
    seconds, _ = best(
        lambda: main(["report", str(tables), "--out", str(work / "d.html"), "--quiet"]), repeat
    )
    rows.append(("bcsc-flow report (from tables)", seconds, ""))
    chromium = shutil.which("chromium")
    if chromium:
        command = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", f"--user-data-dir={work / 'profile'}",
            "--dump-dom", (work / "c.html").as_uri(),
        ]  # fmt: skip
        seconds, _ = best(
            lambda: subprocess.run(command, capture_output=True, check=True, timeout=180), repeat
        )
        rows.append(("chromium --dump-dom of the full report", seconds, "process start included"))
    print(f"sample_fcs: {len(res.sheet)} files, {res.populations['sample'].nunique()} test samples")
    print(f"{'step':40} {'seconds':>8} {'x gate':>7}  note")
    for label, seconds, note in rows:
        print(f"{label:40} {seconds:8.2f} {seconds / t_gate:7.2f}  {note}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    main_bench(parser.parse_args().repeat)
