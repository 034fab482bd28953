"""Transform and compensation speed: ours vs FlowUtils / FlowKit (oracle) and numpy baselines.

Not a test. For n events drawn like flow data (sign × 10^U(0, 5.4)), times, best of
``--repeat`` runs in this process:

* ``Linear``, ``Asinh`` (closed forms; baseline ``np.arcsinh``),
* ``Logicle``, ``Hyperlog``, ``FlowJoBiex`` forward (vectorised root finding) and inverse,
* ``Spillover.apply`` on an n × 8 block (linear solve),

and, in the oracle environment (``$BCSC_ORACLE_PYTHON`` or /tmp/oracle/bin/python), the
same forward transforms with FlowUtils' C kernels and FlowKit's FlowJo biex (lookup table
+ interpolation), checking that the values agree. Columns: seconds, million events per
second, and ratio = ours / reference (below 1 = we are faster).

Usage: ``python benchmarks/bench_transforms.py [--events 1000000 10000000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bcsc_flow.compensation import Spillover
from bcsc_flow.transforms import Asinh, FlowJoBiex, Hyperlog, Linear, Logicle

ORACLE_SCRIPT = r"""
import json, sys, time
import numpy as np
from flowutils import transforms as t
from flowkit._models.transforms._wsp_transforms import WSPBiexTransform
x = np.load(sys.argv[1]); repeat = int(sys.argv[2]); out_prefix = sys.argv[3]
def best(f):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter(); y = f(); times.append(time.perf_counter() - t0)
    return min(times), y
res = {}
col = x[:, None]
s, y = best(lambda: t.logicle(col.copy(), [0], t=262144, m=4.5, w=0.5, a=0)[:, 0])
res["logicle"] = s; np.save(out_prefix + "logicle.npy", y)
s, y = best(lambda: t.hyperlog(col.copy(), [0], t=262144, m=4.5, w=0.5, a=0)[:, 0])
res["hyperlog"] = s; np.save(out_prefix + "hyperlog.npy", y)
biex = WSPBiexTransform(negative=0, width=-10, positive=4.41854, max_value=262144)
s, y = best(lambda: biex.apply(x))
res["biex"] = s; np.save(out_prefix + "biex.npy", y)
print(json.dumps(res))
"""


def _best(func, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - t0)
    return min(times), value


def _oracle(x: np.ndarray, repeat: int) -> tuple[dict[str, float], dict[str, np.ndarray]] | None:
    python = os.environ.get("BCSC_ORACLE_PYTHON") or "/tmp/oracle/bin/python"
    if not Path(python).exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.npy"
        np.save(path, x)
        prefix = str(Path(tmp) / "y_")
        out = subprocess.run(
            [python, "-c", ORACLE_SCRIPT, str(path), str(repeat), prefix],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        times = json.loads(out.stdout)
        values = {k: np.load(prefix + f"{k}.npy") for k in times}
    return times, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    lg, hl, bx = Logicle(262144, 0.5, 4.5), Hyperlog(262144, 0.5, 4.5), FlowJoBiex()
    print(f"machine: {os.cpu_count()} cores (shared with other jobs; numbers are indicative)")
    header = (
        f"{'n':>10}  {'operation':<28} {'seconds':>9} {'M ev/s':>8} {'reference':<26} {'ratio':>7}"
    )
    for n in args.events:
        x = rng.choice([-1.0, 1.0], n, p=[0.2, 0.8]) * 10 ** rng.uniform(0, 5.4, n)
        block = rng.lognormal(6, 1.5, (n, 8))
        spill = Spillover.from_array(
            np.eye(8) + rng.uniform(0, 0.05, (8, 8)) * (1 - np.eye(8)), [f"D{i}" for i in range(8)]
        )
        rows: list[tuple[str, float, str, float | None]] = []
        base, _ = _best(lambda x=x: np.arcsinh(x / 150.0), args.repeat)
        for label, func in (
            ("Linear", lambda x=x: Linear(262144)(x)),
            ("Asinh (fasinh)", lambda x=x: Asinh(262144, 4.5)(x)),
        ):
            s, _ = _best(func, args.repeat)
            rows.append((label, s, "np.arcsinh(x/150)", base))
        oracle = _oracle(x, args.repeat)
        for label, tf, key in (
            ("Logicle", lg, "logicle"),
            ("Hyperlog", hl, "hyperlog"),
            ("FlowJoBiex", bx, "biex"),
        ):
            s, y = _best(lambda tf=tf, x=x: tf(x), args.repeat)
            ref = None if oracle is None else oracle[0][key]
            name = {
                "logicle": "FlowUtils C logicle",
                "hyperlog": "FlowUtils C hyperlog",
                "biex": "FlowKit biex LUT",
            }[key]
            if oracle is not None:
                ref_y = oracle[1][key]
                inside = (ref_y > 0) & (ref_y < 4096) if key == "biex" else np.isfinite(ref_y)
                diff = np.max(np.abs(np.asarray(y)[inside] - ref_y[inside]))  # FlowKit clamps
                name += f" (max|Δ| {diff:.1e})"
            rows.append((f"{label} forward", s, name, ref))
            yv = np.asarray(y)
            s_inv, _ = _best(lambda tf=tf, yv=yv: tf.inverse(yv), args.repeat)
            rows.append((f"{label} inverse", s_inv, "np.arcsinh(x/150)", base))
        s, _ = _best(lambda b=block, sp=spill: sp.apply(b), args.repeat)
        s_ref, _ = _best(lambda b=block, sp=spill: b @ np.linalg.inv(sp.matrix), args.repeat)
        rows.append(("Spillover.apply (8 det.)", s, "x @ inv(S) (numpy)", s_ref))
        print()
        print(header)
        for label, s, ref_name, ref in rows:
            ratio = "" if ref is None else f"{s / ref:7.2f}"
            print(f"{n:>10}  {label:<28} {s:9.3f} {n / s / 1e6:8.1f} {ref_name:<26} {ratio:>7}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
