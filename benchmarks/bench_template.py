"""Template resolution cost: resolving the ``bcsc`` recipes vs applying the frozen strategies.

Not a test. Simulates one experiment (default 3 replicates × 2 arms, 2 batches,
100,000 events per test tube, controls as the simulator sizes them), reads every file,
then times in this process:

* ``resolve`` — ``load_template("bcsc").resolve(samples, sheet)``: marker matching, the
  scatter/viability recipes on every test and control file, control quantiles, QC;
* ``apply`` — ``strategy.apply(sample)`` of every test sample's frozen strategy;
* ``gatingml`` — write + read back every frozen strategy.

and prints a table with events per second and the ratio of each step to ``apply``.

Usage: ``python benchmarks/bench_template.py [--replicates 3] [--events 100000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import bcsc_flow as bf
from bcsc_flow import gatingml


def _best(func, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=3)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        res = bf.simulate.experiment(
            folder, seed=0, n_replicates=args.replicates, n_batches=2, events_per_tube=args.events
        )
        sheet = res.sheet.astype(str)
        samples = {row.sample: bf.read_fcs(folder / row.file) for row in sheet.itertuples()}
        tpl = bf.load_template("bcsc")
        tests = sheet.loc[sheet["role"] == "test", "sample"].tolist()
        resolution = tpl.resolve(samples, sheet)
        total = sum(len(s) for s in samples.values())
        test_events = sum(len(samples[n]) for n in tests)

        def apply_all() -> None:
            for name in tests:
                resolution.strategies[name].apply(samples[name])

        def roundtrip() -> None:
            for name in tests:
                path = gatingml.write(resolution.strategies[name], folder / f"{name}.xml")
                gatingml.read(path)

        times = {
            "resolve": _best(lambda: tpl.resolve(samples, sheet), args.repeat),
            "apply": _best(apply_all, args.repeat),
            "gatingml": _best(roundtrip, args.repeat),
        }
    events = {"resolve": total, "apply": test_events, "gatingml": test_events}
    print(f"{len(samples)} files ({len(tests)} test), {total:,} events; best of {args.repeat}")
    print(f"{'step':<10} {'seconds':>9} {'events/s':>12} {'x apply':>8}")
    for step, sec in times.items():
        print(f"{step:<10} {sec:>9.3f} {events[step] / sec:>12,.0f} {sec / times['apply']:>8.2f}")


if __name__ == "__main__":
    main()
