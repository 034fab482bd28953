"""Gate a BCSC-like tree on 1e6 and 1e7 events: bcsc_flow vs FlowKit vs a numpy floor.

Tree (logicle T=262144, W=0.5, M=4.5 on the fluorescence axes, uncompensated):

    cells          polygon FSC-A × SSC-A (6 vertices)
    └ singlets     polygon FSC-A × FSC-H (4 vertices)
      └ BCSC       rectangle CD44 (APC-A) ≥ 0.55, CD24 (PE-A) < 0.45
        ├ HER2+ BCSC    range HER2 (FITC-A) ≥ 0.5
        │ └ ALDH+ HER2+ BCSC  range ALDH (BB515-A) in [0.6, 1.2)
        └ ALDH- BCSC    boolean: BCSC & ~ALDH range

* bcsc_flow: ``GatingStrategy.apply`` then every count (best of ``--repeat`` runs).
* FlowKit 1.3.2 (``$BCSC_ORACLE_PYTHON`` or /tmp/oracle/bin/python): the same strategy,
  exported by ``bcsc_flow.gatingml.write``, parsed by FlowKit; only
  ``GatingStrategy.gate_sample`` + counts are timed, inside the FlowKit process; events
  are handed over as a .npy file (not timed).
* floor A: hand-written numpy on the same arrays with the same transform objects: each
  logicle column once, even-odd + on-edge polygon tests, boolean ANDs, counts.
* floor B: as A, but the rectangle/range bounds are mapped to data units once with the
  logicle inverse (no transform of the events at all), which is what bcsc_flow does
  (plus an exact check of the events within a hair of a bound).

Counts of all four must agree; the script stops otherwise.

Usage: ``python benchmarks/bench_gate.py [--sizes 1e6 1e7] [--repeat 3] [--no-flowkit]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from bcsc_flow import gatingml
from bcsc_flow.gates import Dimension, Polygon, Range, Rectangle
from bcsc_flow.sample import Sample
from bcsc_flow.strategy import GatingStrategy, Population
from bcsc_flow.transforms import Logicle

CHANNELS = ["FSC-A", "FSC-H", "SSC-A", "APC-A", "PE-A", "FITC-A", "BB515-A"]
LOGICLE = Logicle(262144.0, 0.5, 4.5, 0.0)
CELLS = [(30e3, 10e3), (240e3, 10e3), (250e3, 120e3), (200e3, 200e3), (60e3, 180e3), (25e3, 60e3)]
SINGLETS = [(30e3, 20e3), (250e3, 200e3), (250e3, 260e3), (30e3, 45e3)]
POP_NAMES = ["cells", "singlets", "BCSC", "HER2+ BCSC", "ALDH+ HER2+ BCSC", "ALDH- BCSC"]


def make_events(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    debris = rng.random(n) < 0.1
    doublet = rng.random(n) < 0.08
    fsc_h = np.where(debris, rng.uniform(0, 40e3, n), rng.normal(90e3, 20e3, n))
    fsc_a = fsc_h * np.where(doublet, 1.9, 1.05) + rng.normal(0, 3e3, n)
    ssc = np.where(debris, rng.uniform(0, 50e3, n), rng.normal(70e3, 20e3, n))

    def marker(frac_pos: float, pos: float, neg: float) -> np.ndarray:
        positive = rng.random(n) < frac_pos
        level = np.where(
            positive, rng.lognormal(np.log(pos), 0.4, n), rng.lognormal(np.log(neg), 0.8, n)
        )
        return level + rng.normal(0, 60.0, n)

    cd44 = marker(0.7, 20e3, 300.0)
    cd24 = marker(0.6, 12e3, 150.0)
    her2 = marker(0.3, 8e3, 200.0)
    aldh = marker(0.08, 30e3, 400.0)
    return np.column_stack([fsc_a, fsc_h, ssc, cd44, cd24, her2, aldh])


def strategy() -> GatingStrategy:
    def lg(channel: str) -> Dimension:
        return Dimension(channel, LOGICLE)

    aldh = Range(lg("BB515-A"), 0.6, 1.2)
    return GatingStrategy(
        [
            Population("cells", Polygon(("FSC-A", "SSC-A"), CELLS)),
            Population("singlets", Polygon(("FSC-A", "FSC-H"), SINGLETS), "cells"),
            Population(
                "BCSC", Rectangle((lg("APC-A"), lg("PE-A")), (0.55, None), (None, 0.45)), "singlets"
            ),
            Population("HER2+ BCSC", Range(lg("FITC-A"), min=0.5), "BCSC"),
            Population("ALDH+ HER2+ BCSC", aldh, "HER2+ BCSC"),
            Population("ALDH- BCSC", "BCSC" & ~aldh),
        ]
    )


# ----------------------------------------------------------------------------- ours
def run_ours(sample: Sample, st: GatingStrategy) -> dict[str, int]:
    result = st.apply(sample)
    return {name: result.count(name) for name in POP_NAMES}


# ----------------------------------------------------------------------------- floor
def _in_polygon(x: np.ndarray, y: np.ndarray, verts: list[tuple[float, float]]) -> np.ndarray:
    inside = np.zeros(x.shape, dtype=bool)
    edge = np.zeros(x.shape, dtype=bool)
    for k in range(len(verts)):
        xi, yi = verts[k]
        xj, yj = verts[k - 1]
        if yi != yj:
            inside ^= ((yi > y) != (yj > y)) & (x < xi + (y - yi) * (xj - xi) / (yj - yi))
        edge |= (
            ((xj - xi) * (y - yi) - (x - xi) * (yj - yi) == 0)
            & (x >= min(xi, xj))
            & (x <= max(xi, xj))
            & (y >= min(yi, yj))
            & (y <= max(yi, yj))
        )
    return inside | edge


def run_floor(events: np.ndarray) -> dict[str, int]:
    fsc_a, fsc_h, ssc = events[:, 0], events[:, 1], events[:, 2]
    apc, pe, fitc, aldh = (LOGICLE(events[:, k]) for k in (3, 4, 5, 6))
    cells = _in_polygon(fsc_a, ssc, CELLS)
    singlets = cells & _in_polygon(fsc_a, fsc_h, SINGLETS)
    bcsc = singlets & (apc >= 0.55) & (pe < 0.45)
    her2 = bcsc & (fitc >= 0.5)
    aldh_pos = (aldh >= 0.6) & (aldh < 1.2)
    masks = [cells, singlets, bcsc, her2, her2 & aldh_pos, bcsc & ~aldh_pos]
    return {name: int(np.count_nonzero(m)) for name, m in zip(POP_NAMES, masks)}


def run_floor_inverted(events: np.ndarray) -> dict[str, int]:
    """Floor without transforms: logicle bounds mapped to data units once (no exact band
    check, so events within ~1e-9 of a bound could differ; none do here)."""
    fsc_a, fsc_h, ssc = events[:, 0], events[:, 1], events[:, 2]
    apc, pe, fitc, aldh = (events[:, k] for k in (3, 4, 5, 6))
    inv = LOGICLE.inverse
    cells = _in_polygon(fsc_a, ssc, CELLS)
    singlets = cells & _in_polygon(fsc_a, fsc_h, SINGLETS)
    bcsc = singlets & (apc >= inv(0.55)) & (pe < inv(0.45))
    her2 = bcsc & (fitc >= inv(0.5))
    aldh_pos = (aldh >= inv(0.6)) & (aldh < inv(1.2))
    masks = [cells, singlets, bcsc, her2, her2 & aldh_pos, bcsc & ~aldh_pos]
    return {name: int(np.count_nonzero(m)) for name, m in zip(POP_NAMES, masks)}


# ----------------------------------------------------------------------------- FlowKit
FLOWKIT_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import pandas as pd
    import flowkit as fk

    xml, npy, channels, repeat = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
    events = np.load(npy)
    sample = fk.Sample(pd.DataFrame(events, columns=channels), sample_id="bench", subsample=0)
    strategy = fk.parse_gating_xml(xml)
    best = float("inf")
    counts = {}
    for _ in range(repeat):
        start = time.perf_counter()
        result = strategy.gate_sample(sample)
        report = result.report
        counts = {str(r.gate_name): int(r["count"]) for _, r in report.iterrows()}
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"seconds": best, "counts": counts}))
    """
)


def run_flowkit(
    python: str, events: np.ndarray, st: GatingStrategy, repeat: int
) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        xml = gatingml.write(st, Path(tmp) / "bench.xml")
        npy = Path(tmp) / "events.npy"
        np.save(npy, events)
        script = Path(tmp) / "fk_bench.py"
        script.write_text(FLOWKIT_SCRIPT, encoding="utf-8")
        done = subprocess.run(
            [python, str(script), str(xml), str(npy), ",".join(CHANNELS), str(repeat)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"FlowKit run failed:\n{done.stderr[-3000:]}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        ids = _ids_by_name(xml.read_text(encoding="utf-8"))
        counts = {name: out["counts"][ids[name]] for name in POP_NAMES}
        return out["seconds"], counts


def _ids_by_name(xml_text: str) -> dict[str, str]:
    from bcsc_flow.gatingml_parts import DATATYPE, GATING, NAME_ELEMENT, qname

    root = gatingml.parse_xml(xml_text.encode())
    found = {}
    for el in root:
        ident = el.get(qname(GATING, "id"))
        if ident is None:
            continue
        marker = next(
            (m for i in el.findall(qname(DATATYPE, "custom_info")) for m in i.iter(NAME_ELEMENT)),
            None,
        )
        found[marker.get("name") if marker is not None else ident] = ident
    return found


# ----------------------------------------------------------------------------- main
def best_of(repeat: int, fn, *args):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-flowkit", action="store_true")
    args = parser.parse_args()
    python = os.environ.get("BCSC_ORACLE_PYTHON", "/tmp/oracle/bin/python")
    use_flowkit = not args.no_flowkit and Path(python).exists()
    st = strategy()
    rows = []
    for size in args.sizes:
        n = int(size)
        events = make_events(n)
        sample = Sample.from_array(events, CHANNELS, name=f"bench{n}")
        t_ours, c_ours = best_of(args.repeat, run_ours, sample, st)
        t_floor, c_floor = best_of(args.repeat, run_floor, events)
        if c_ours != c_floor:
            sys.exit(f"count mismatch ours vs floor at n={n}: {c_ours} vs {c_floor}")
        t_inv, c_inv = best_of(args.repeat, run_floor_inverted, events)
        if c_inv != c_ours:
            sys.exit(f"count mismatch ours vs inverted floor at n={n}: {c_ours} vs {c_inv}")
        t_fk = float("nan")
        if use_flowkit:
            t_fk, c_fk = run_flowkit(python, events, st, max(1, args.repeat - 1))
            if c_fk != c_ours:
                sys.exit(f"count mismatch ours vs FlowKit at n={n}: {c_ours} vs {c_fk}")
        rows.append((n, t_ours, t_fk, t_floor, t_inv, c_ours))
        del events, sample
    print(
        f"BCSC-like tree, 6 populations, 4 logicle axes; best of {args.repeat} "
        f"(FlowKit {max(1, args.repeat - 1)}); floor A transforms every event, floor B maps bounds"
    )
    head = [
        "events",
        "bcsc_flow s",
        "FlowKit s",
        "floor A s",
        "floor B s",
        "FlowKit/ours",
        "ours/A",
        "ours/B",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for n, t_ours, t_fk, t_floor, t_inv, _ in rows:
        cells = [f"{n:.0e}", f"{t_ours:.3f}", f"{t_fk:.3f}", f"{t_floor:.3f}", f"{t_inv:.3f}"]
        cells += [f"{t_fk / t_ours:.1f}", f"{t_ours / t_floor:.2f}", f"{t_ours / t_inv:.2f}"]
        print("| " + " | ".join(cells) + " |")
    print("counts (identical in all four):", json.dumps(rows[-1][5]))


if __name__ == "__main__":
    main()
