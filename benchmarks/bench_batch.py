"""Batch gating speed: our template and frozen-gate batches on 1, 2 processes and Dask, vs FlowKit.

Not a test. Simulates an experiment (default ≈ 200 files × 10⁵ events, 2 batches of
tubes), then times, in one run on this machine:

* ``gate_folder`` with the built-in ``bcsc`` template (data-driven gates resolved from
  the controls of each batch), ``jobs=1``, ``jobs=2`` and a 2-worker Dask LocalCluster;
* ``gate_files`` with one frozen strategy (the template frozen on the first test sample,
  exported to Gating-ML), same three ways;
* FlowKit's ``Session`` with that same Gating-ML file over the same files, in the oracle
  environment (``$BCSC_ORACLE_PYTHON`` or /tmp/oracle/bin/python), with and without its
  own multiprocessing — and checks that FlowKit's counts equal ours.

Usage: ``python benchmarks/bench_batch.py [--replicates 48] [--events 100000] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

import bcsc_flow as bf
from bcsc_flow import gatingml

FLOWKIT_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import flowkit as fk
xml, files, use_mp = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == "1"
t0 = time.perf_counter()
session = fk.Session(gating_strategy=xml, fcs_samples=files)
session.analyze_samples(use_mp=use_mp)
report = session.get_analysis_report()
elapsed = time.perf_counter() - t0
counts = {f"{r['sample_id']}|{r['gate_name']}": int(r['count']) for _, r in report.iterrows()}
print(json.dumps({"seconds": elapsed, "counts": counts}))
"""


def _time(label: str, func, rows: list[dict]) -> object:
    t0 = time.perf_counter()
    out = func()
    rows.append({"run": label, "seconds": time.perf_counter() - t0})
    print(f"  {label}: {rows[-1]['seconds']:.2f} s", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=48, help="replicates per arm")
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--events", type=int, default=100_000, help="events per tube")
    parser.add_argument("--keep", help="folder to simulate into (kept); default a temp folder")
    parser.add_argument("--no-flowkit", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    tmp = tempfile.TemporaryDirectory()
    folder = Path(args.keep or tmp.name) / "experiment"
    if not (folder / "samples.csv").is_file():
        print(f"simulating into {folder} ...", file=sys.stderr)
        bf.simulate.experiment(
            folder,
            seed=7,
            profile="aria",
            n_replicates=args.replicates,
            n_batches=args.batches,
            events_per_tube=args.events,
        )
    files = sorted(folder.glob("*.fcs"))
    sheet = pd.read_csv(folder / "samples.csv", dtype=str)
    n_template_files = int(
        sheet["role"]
        .isin(["test", "deab", "fmo:CD44", "fmo:CD24", "fmo:HER2", "isotype:HER2"])
        .sum()
    )
    print(
        f"{len(files)} files x {args.events} events; template reads {n_template_files}",
        file=sys.stderr,
    )

    rows: list[dict] = []
    from distributed import Client, LocalCluster

    res1 = _time("template, jobs=1", lambda: bf.gate_folder(folder, "bcsc", progress=False), rows)
    _time("template, jobs=2", lambda: bf.gate_folder(folder, "bcsc", jobs=2, progress=False), rows)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        _time(
            "template, Dask 2 workers",
            lambda: bf.gate_folder(folder, "bcsc", scheduler=client, progress=False),
            rows,
        )

    # one frozen strategy for every file
    first = res1.populations["sample"].iloc[0]
    tpl = bf.load_template("bcsc")
    test = sheet[sheet["sample"] == first]
    batch = test["batch"].iloc[0]
    unit = sheet[(sheet["batch"] == batch)]
    samples = {r["sample"]: bf.read_fcs(folder / r["file"]) for _, r in unit.iterrows()}
    strategy = tpl.resolve(samples, unit).strategy(first)
    xml = Path(tmp.name) / "frozen.xml"
    gatingml.write(strategy, xml)
    frozen = gatingml.read(xml)
    ours = _time("frozen gates, jobs=1", lambda: bf.gate_files(files, frozen, progress=False), rows)
    _time(
        "frozen gates, jobs=2", lambda: bf.gate_files(files, frozen, jobs=2, progress=False), rows
    )
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        _time(
            "frozen gates, Dask 2 workers",
            lambda: bf.gate_files(files, frozen, scheduler=client, progress=False),
            rows,
        )

    oracle = os.environ.get("BCSC_ORACLE_PYTHON", "/tmp/oracle/bin/python")
    agree = "n/a"
    if not args.no_flowkit and Path(oracle).exists():
        for use_mp in ("0", "1"):
            out = subprocess.run(
                [
                    oracle,
                    "-c",
                    FLOWKIT_SCRIPT,
                    str(xml),
                    json.dumps([str(f) for f in files]),
                    use_mp,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(
                {"run": f"FlowKit Session, use_mp={use_mp == '1'}", "seconds": data["seconds"]}
            )
            print(f"  FlowKit use_mp={use_mp}: {data['seconds']:.2f} s", file=sys.stderr)
        pops = ours.populations
        mine = {
            f"{r.file}|{re.sub(r'[^A-Za-z0-9_.-]', '_', r.population)}": int(r.count)
            for r in pops.itertuples()
        }
        theirs = {k: v for k, v in data["counts"].items() if k in mine}
        agree = f"{sum(mine[k] == v for k, v in theirs.items())}/{len(theirs)} counts equal"

    table = pd.DataFrame(rows)
    base = {
        "template": table.loc[table["run"] == "template, jobs=1", "seconds"].iloc[0],
        "frozen": table.loc[table["run"] == "frozen gates, jobs=1", "seconds"].iloc[0],
    }
    table["files_per_s"] = [
        (n_template_files if r.startswith("template") else len(files)) / s
        for r, s in zip(table["run"], table["seconds"], strict=True)
    ]
    table["speed_up_vs_jobs1"] = [
        base["template" if r.startswith("template") else "frozen"] / s
        for r, s in zip(table["run"], table["seconds"], strict=True)
    ]
    print(
        f"\n{len(files)} files x {args.events:,} events (template runs read {n_template_files}); "
        f"{os.cpu_count()} cores; FlowKit vs ours: {agree}\n"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
