"""Benchmark: density plots and gating-path figures against one-marker-per-event scatter.

For each size, times (median of --repeats, rendered to PNG at 80 dpi with Agg):

* scatter     ``ax.scatter(x, y, s=1)`` — one marker per event, the naive plot
* density     ``bcsc_flow.plot.density_scatter(x, y)`` — one binned image
* gate_plot   ``bcsc_flow.plot.gate_plot(result, "cells")`` — columns, gate, label included
* purity      ``bcsc_flow.sorting.purity(sample, "HER2+", strategy, of="cells")`` (no render)

and prints each time with its ratio to ``density``. Run:
``python benchmarks/bench_plot.py --sizes 1e5,1e6``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: imports and caches are not timed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _render(ax) -> None:
    ax.figure.savefig(io.BytesIO(), format="png", dpi=80)


def main() -> None:
    import numpy as np

    from bcsc_flow.gates import Range, Threshold
    from bcsc_flow.plot import density_scatter, gate_plot, new_axes
    from bcsc_flow.sample import Sample
    from bcsc_flow.sorting import purity
    from bcsc_flow.strategy import GatingStrategy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,1e6", help="comma-separated event counts")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    strategy = (
        GatingStrategy()
        .add("cells", Range("FSC-A", 20_000, None))
        .add("HER2+", Threshold("HER2", above=1_000), parent="cells")
    )
    print(f"{'events':>10} {'plot':>10} {'seconds':>9} {'x density':>10}")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        rng = np.random.default_rng(0)
        events = np.column_stack(
            [
                rng.normal(60_000, 15_000, size),
                rng.normal(40_000, 9_000, size),
                rng.lognormal(6, 1.2, size),
            ]
        )
        sample = Sample.from_array(events, ["FSC-A", "SSC-A", "HER2"])
        result = strategy.apply(sample)
        x, y = events[:, 0], events[:, 1]

        def scatter(x=x, y=y) -> None:
            ax = new_axes()
            ax.scatter(x, y, s=1)
            _render(ax)

        cases = {
            "density": lambda x=x, y=y: _render(density_scatter(x, y)),
            "scatter": scatter,
            "gate_plot": lambda r=result: _render(gate_plot(r, "cells", y="SSC-A")),
            "purity": lambda s=sample: purity(s, "HER2+", strategy, of="cells"),
        }
        timings = {name: _median_seconds(fn, args.repeats) for name, fn in cases.items()}
        for name, seconds in timings.items():
            ratio = seconds / timings["density"]
            print(f"{size:>10} {name:>10} {seconds:>9.3f} {ratio:>10.2f}")


if __name__ == "__main__":
    main()
