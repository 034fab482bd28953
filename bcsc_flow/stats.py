"""Per-population statistics on any channel: count, mean, median (MFI), geometric mean, CV,
robust CV and percentiles, as one tidy DataFrame.

Definitions (NaN values of a channel are ignored; an empty population gives NaN):

* ``mean``, ``median`` (the usual "MFI"), ``sd`` (sample standard deviation, ddof = 1);
* ``geometric_mean`` = exp(mean(ln x)) over the **positive** values only
  (``n_positive`` says how many there were);
* ``cv`` = 100 · sd / mean (percent);
* ``robust_cv`` = 100 · ½ · (P84.13 − P15.87) / median (FlowJo's rCV; equals the CV
  for normal data);
* ``p<q>`` = the q-th percentile (numpy's linear interpolation).

Channels may be names (scale values as stored in the sample) or
:class:`~bcsc_flow.dimensions.Dimension` values (compensated and/or transformed, using the
strategy's spillover matrices).

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.gates import Range
>>> from bcsc_flow.strategy import GatingStrategy
>>> s = Sample.from_array(np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 40.0]]), ["FSC-A", "CD44"])
>>> res = GatingStrategy().add("big", Range("FSC-A", 1.5, 9)).apply(s)
>>> population_statistics(res, channels=["CD44"], percentiles=())[["population", "channel", "count", "median"]]
  population channel  count  median
0        big    CD44      2    30.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.dimensions import Dimension, RatioDimension
from bcsc_flow.errors import StrategyError

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow.strategy_result import GatingResult

__all__ = ["population_statistics", "channel_statistics", "STATISTICS"]

STATISTICS = (
    "count",
    "mean",
    "median",
    "sd",
    "geometric_mean",
    "n_positive",
    "cv",
    "robust_cv",
)
_RCV_LOW, _RCV_HIGH = 15.865525393145708, 84.13447460685429  # 50 ∓ 34.13 (±1 sd of a normal)


def _percentile_label(q: float) -> str:
    return f"p{q:g}".replace(".", "_")


def channel_statistics(
    values: np.ndarray, percentiles: Sequence[float] = (5.0, 95.0)
) -> dict[str, float]:
    """Statistics of one set of values (NaN ignored), as a dict.

    Example
    -------
    >>> stats = channel_statistics(np.array([1.0, 10.0, 100.0, np.nan]), percentiles=(50,))
    >>> stats["count"], round(stats["geometric_mean"], 6), stats["p50"]
    (3, 10.0, 10.0)
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    n = int(x.size)
    out: dict[str, Any] = {"count": n}
    nan = float("nan")
    if n == 0:
        out.update(dict.fromkeys(STATISTICS[1:], nan))
        out["n_positive"] = 0
        out.update({_percentile_label(q): nan for q in percentiles})
        return out
    mean = float(np.mean(x))
    # one selection pass for the median, the robust-CV pair and the asked percentiles
    qs = np.percentile(x, [50.0, _RCV_LOW, _RCV_HIGH, *percentiles])
    median, low, high = float(qs[0]), qs[1], qs[2]
    sd = float(np.std(x, ddof=1)) if n > 1 else nan
    positive = x[x > 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        geo = float(np.exp(np.mean(np.log(positive)))) if positive.size else nan
        cv = 100.0 * sd / mean if mean != 0 else nan
        rcv = 100.0 * 0.5 * float(high - low) / median if median != 0 else nan
    out.update(
        {
            "mean": mean,
            "median": median,
            "sd": sd,
            "geometric_mean": geo,
            "n_positive": int(positive.size),
            "cv": cv,
            "robust_cv": rcv,
        }
    )
    out.update({_percentile_label(q): float(v) for q, v in zip(percentiles, qs[3:])})
    return out


def population_statistics(
    result: GatingResult,
    channels: Sequence[str | Dimension | RatioDimension] | None = None,
    *,
    populations: Sequence[str] | None = None,
    percentiles: Sequence[float] = (5.0, 95.0),
) -> pd.DataFrame:
    """Statistics of every (population, channel) pair of a gating result, one row each.

    Columns: ``population, channel, count, mean, median, sd, geometric_mean, n_positive,
    cv, robust_cv`` and one ``p<q>`` column per percentile (``p2_5`` for 2.5).
    ``channels`` defaults to every channel of the sample; ``populations`` to every
    population of the result, in tree order.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Threshold
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> s = Sample.from_array(np.array([[1.0], [2.0], [4.0]]), ["A"])
    >>> res = GatingStrategy().add("pos", Threshold("A", above=1.5)).apply(s)
    >>> population_statistics(res)[["channel", "mean", "geometric_mean"]].round(4).values.tolist()
    [['A', 3.0, 2.8284]]
    """
    import pandas as pd

    sample = result.sample
    for q in percentiles:
        if not 0 <= float(q) <= 100:
            raise StrategyError(f"population_statistics: percentile {q!r} is outside 0..100.")
    names = list(result.names) if populations is None else list(populations)
    for name in names:
        result.mask(name)  # raises a StrategyError with did-you-mean for unknown names
    keys: list[str | Dimension | RatioDimension] = (
        list(sample.names) if channels is None else list(channels)
    )
    context = result.context  # columns the gates already computed are reused
    columns: list[tuple[str, np.ndarray]] = []
    for key in keys:
        if isinstance(key, Dimension | RatioDimension):
            columns.append((key.label, context.column(key)))
        else:
            columns.append((str(key), sample[str(key)]))
    rows = []
    for name in names:
        mask = result.mask(name)
        for label, column in columns:
            rows.append(
                {
                    "population": name,
                    "channel": label,
                    **channel_statistics(column[mask], percentiles),
                }
            )
    stat_columns = [
        "population",
        "channel",
        *STATISTICS,
        *(_percentile_label(q) for q in percentiles),
    ]
    frame = pd.DataFrame(rows, columns=stat_columns)
    return frame.astype({"count": "int64", "n_positive": "int64"})
