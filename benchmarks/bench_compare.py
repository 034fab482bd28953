"""Benchmark: bcsc_flow.compare on many populations, against fitting statsmodels per population.

For P populations × 3 vs 3 replicates (beta-binomial counts, seeded) it times, median of
--repeats:

* compare      ``bcsc_flow.compare.compare(table)`` — the whole table (closed-form
               quasi-binomial GLM, effect sizes, notes, BH), DataFrame in and out
* statsmodels  a loop that fits ``GLM(k/n, X, Binomial(), var_weights=n).fit(scale="X2")``
               per population and reads the coefficient, its SE and the scale — the model
               alone, without effect sizes or the table around it

and checks that both give the same odds ratios. Run: ``python benchmarks/bench_compare.py``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def make_table(populations: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for condition, p in (("untreated", 0.02), ("irradiated", 0.03)):
        n = rng.integers(15_000, 25_000, (populations, 3))
        k = rng.binomial(n, rng.beta(p * 499, (1 - p) * 499, (populations, 3)))
        pop, rep = np.indices((populations, 3))
        parts.append(
            pd.DataFrame(
                {
                    "sample": [f"{condition}{r}" for r in rep.ravel()],
                    "population": [f"P{i}" for i in pop.ravel()],
                    "count": k.ravel(),
                    "parent_count": n.ravel(),
                    "condition": condition,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def per_population_statsmodels(table: pd.DataFrame) -> np.ndarray:
    import statsmodels.api as sm

    odds = []
    for _, rows in table.groupby("population", sort=False):
        k = rows["count"].to_numpy(float)
        n = rows["parent_count"].to_numpy(float)
        x = sm.add_constant((rows["condition"] == "irradiated").to_numpy(float))
        fit = sm.GLM(k / n, x, family=sm.families.Binomial(), var_weights=n).fit(scale="X2")
        odds.append(np.exp(fit.params[1]))
        _ = (fit.bse[1], fit.scale)
    return np.array(odds)


def median_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--populations", default="10,100,1000", help="comma-separated sizes")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from bcsc_flow.compare import compare
    from bcsc_flow.errors import StatisticsWarning

    def run_compare(table: pd.DataFrame) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticsWarning)
            return compare(table)

    print(
        f"{'populations':>11} {'compare s':>10} {'statsmodels s':>14} {'ratio sm/compare':>17} {'max |OR diff|':>14}"
    )
    for size in (int(s) for s in args.populations.split(",")):
        table = make_table(size)
        ours = run_compare(table)["odds_ratio"].to_numpy()
        theirs = per_population_statsmodels(table)
        t_ours = median_time(lambda t=table: run_compare(t), args.repeats)
        t_sm = median_time(lambda t=table: per_population_statsmodels(t), args.repeats)
        diff = float(np.max(np.abs(ours - theirs)))
        print(f"{size:>11} {t_ours:>10.3f} {t_sm:>14.3f} {t_sm / t_ours:>17.1f} {diff:>14.2e}")


if __name__ == "__main__":
    main()
