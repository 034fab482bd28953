"""Time the simulator: one test tube of 10^4 … 10^6 events, simulated, acquired and written.

Run: ``python benchmarks/bench_simulate.py``. The budget (issue 4) is a 10^6-event file in
well under 10 s; the table prints each stage and the total as a ratio of that budget.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bcsc_flow.simulate import PROFILES, SCENARIOS, Staining, TubeContent, acquire, simulate_events
from bcsc_flow.simulate.experiment import write_acquisition
from bcsc_flow.simulate.truth import write_event_truth

BUDGET_S = 10.0


def _one(n: int, profile: str, folder: Path) -> tuple[float, float, float, float]:
    rng = np.random.default_rng(0)
    content = TubeContent((SCENARIOS["default"].irradiated,), Staining.full())
    t0 = time.perf_counter()
    ref, truth = simulate_events(rng, n, content, SCENARIOS["default"].intensities)
    t1 = time.perf_counter()
    acq = acquire(PROFILES[profile], ref, np.ones(ref.shape[1]), rng)
    t2 = time.perf_counter()
    write_acquisition(folder / "t.fcs", acq, PROFILES[profile], name="t", keywords={})
    write_event_truth(folder / "t.npz", truth)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, t3 - t0


def main() -> None:
    print(
        f"{'profile':<9} {'events':>9} {'events s':>9} {'acquire s':>10} {'write s':>8} {'total s':>8} {'/budget':>8}"
    )
    with tempfile.TemporaryDirectory() as d:
        for profile in ("aria", "legacy"):
            for n in (10_000, 100_000, 1_000_000):
                ev, aq, wr, tot = _one(n, profile, Path(d))
                print(
                    f"{profile:<9} {n:>9} {ev:>9.3f} {aq:>10.3f} {wr:>8.3f} {tot:>8.3f} {tot / BUDGET_S:>8.3f}"
                )


if __name__ == "__main__":
    main()
