"""The :func:`compare` table: one row per population × contrast (level vs reference)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bcsc_flow.compare._checks import (
    MAX_LIVE_LOGIT_SHIFT,
    SUMMARIES,
    Note,
    control_notes,
    viability_shift,
)
from bcsc_flow.compare._contrast import ContrastRows, compare_rows
from bcsc_flow.compare._intervals import adjust_pvalues
from bcsc_flow.errors import ComparisonError, StatisticsWarning, did_you_mean, warn

__all__ = ["COLUMNS", "METHODS", "compare"]

COLUMNS: tuple[str, ...] = (
    "population", "metric", "reference", "level", "n_reference", "n_level",
    "mean_reference", "mean_level", "diff", "ratio", "log2_ratio", "ci_low", "ci_high",
    "p_value", "q_value", "test", "note",
    "parent", "by", "ci_level",
    "ratio_ci_low", "ratio_ci_high", "log2_ratio_ci_low", "log2_ratio_ci_high",
    "odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high",
    "df", "dispersion", "p_value_welch",
    "arith_mean_reference", "arith_mean_level", "sd_reference", "sd_level",
)  # fmt: skip
"""Output columns: the public contract (ARCHITECTURE §4) first, then extensions."""

METHODS = ("quasibinomial", "welch", "paired")
_DENOMINATORS = {"pct_of_parent": "parent_count", "pct_of_total": "total_count"}


def compare(
    table: pd.DataFrame,
    /,
    *,
    by: str = "condition",
    reference: object = "untreated",
    metric: str = "pct_of_parent",
    pair_by: str | None = None,
    populations: Sequence[str] | None = None,
    method: str = "quasibinomial",
    alpha: float = 0.05,
    fdr: str = "bh",
) -> pd.DataFrame:
    """Compare each level of ``by`` with ``reference``, per population, replicates as units.

    ``table`` is a ``populations`` table (one row per sample × population with ``sample,
    population, count, parent_count, total_count`` and the sample-sheet columns). Rows whose
    ``role`` is a control are left out. ``metric`` is ``pct_of_parent`` (count of
    ``parent_count``) or ``pct_of_total`` (count of ``total_count``).

    Methods (``method``):

    * ``"quasibinomial"`` (default): GLM ``logit p ~ level`` on counts, variance
      φ·n·p(1−p), φ = Pearson χ²/df, Wald t-tests and intervals on t(df) (df = samples − 2).
      With ``pair_by`` (e.g. ``"pair_id"`` or ``"batch"``) a block term is added.
    * ``"welch"``: Welch t-test on per-sample logits (½ added to both cells).
    * ``"paired"``: paired t-test on logit differences within ``pair_by`` (default
      ``"pair_id"``); several samples of one arm in a pair are summed first.

    Columns (see :data:`COLUMNS`): ``mean_reference``/``mean_level`` are the model's arm
    estimates in percent (GLM: pooled proportion; t-tests: back-transformed mean logit);
    ``diff`` is ``mean_level − mean_reference`` in percentage points and **``ci_low`` /
    ``ci_high`` are the (1 − alpha) CI of ``diff``**. ``ratio_ci_*``, ``log2_ratio_ci_*`` and
    ``odds_ratio_ci_*`` are the intervals of the other effect sizes (delta method on the
    logit scale, same t reference). ``q_value`` is Benjamini–Hochberg (``fdr="by"``:
    Benjamini–Yekutieli) across populations within each metric × level. ``p_value_welch``
    is a sensitivity p-value. ``note`` lists caveats (few replicates, small parents, few
    expected positives, unusual dispersion, a shifted live fraction, missing controls); each
    kind of caveat is also emitted once as a :class:`~bcsc_flow.errors.StatisticsWarning`.
    Levels are compared with the reference one at a time (the model sees only those two arms).

    Example
    -------
    >>> rows = [("u1", "untreated", 200), ("u2", "untreated", 230), ("u3", "untreated", 180),
    ...         ("i1", "irradiated", 420), ("i2", "irradiated", 380), ("i3", "irradiated", 470)]
    >>> table = pd.DataFrame([{"sample": s, "condition": c, "population": "BCSC", "count": k,
    ...                        "parent_count": 10000} for s, c, k in rows])
    >>> out = compare(table, by="condition", reference="untreated")
    >>> out[["level", "mean_reference", "mean_level", "diff"]].round(2).values.tolist()
    [['irradiated', 2.03, 4.23, 2.2]]
    >>> bool(out["p_value"].iloc[0] < 0.01), out["test"].iloc[0]
    (True, 'quasibinomial_glm_t')
    """
    if method not in METHODS:
        raise ComparisonError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if method == "paired" and pair_by is None:
        pair_by = "pair_id"
    if method == "welch" and pair_by is not None:
        raise ComparisonError(
            f"method='welch' is unpaired but pair_by={pair_by!r} was given; "
            "use method='paired' or method='quasibinomial' for paired designs"
        )
    tests = _prepare(table, by=by, metric=metric, pair_by=pair_by)
    reference = _match_level(tests[by], reference, by)
    levels = [lv for lv in pd.unique(tests[by]) if lv != reference]
    if not levels:
        raise ComparisonError(
            f"column {by!r} has only the reference level {reference!r}; nothing to compare"
        )
    names = _select_populations(tests, populations)
    records = []
    for level in levels:
        arm = tests[by].map({reference: 0.0, level: 1.0})
        shared = _shared_notes(tests, table, arm)
        for record in _compare_level(
            tests[arm.notna()], arm, names, method=method, pair_by=pair_by, alpha=alpha
        ):
            record["_notes"] = shared + record["_notes"]
            record.update(
                metric=metric, reference=reference, level=level, by=by, ci_level=1 - alpha
            )
            records.append(record)
    _warn_notes(records)
    out = pd.DataFrame.from_records(records)
    out["q_value"] = np.nan
    for _, idx in out.groupby(["metric", "level"], sort=False).groups.items():
        out.loc[idx, "q_value"] = adjust_pvalues(out.loc[idx, "p_value"].to_numpy(float), fdr)
    out["note"] = ["; ".join(n.text for n in notes) for notes in out["_notes"]]
    return out.reindex(columns=list(COLUMNS)).reset_index(drop=True)


def _prepare(table: pd.DataFrame, *, by: str, metric: str, pair_by: str | None) -> pd.DataFrame:
    if metric not in _DENOMINATORS:
        raise ComparisonError(
            f"unknown metric {metric!r}; expected one of {', '.join(_DENOMINATORS)}"
        )
    needed = ["sample", "population", "count", _DENOMINATORS[metric], by] + (
        [pair_by] if pair_by else []
    )
    missing = [c for c in needed if c not in table.columns]
    if missing:
        hint = "".join(did_you_mean(c, table.columns) for c in missing)
        raise ComparisonError(
            f"populations table lacks column(s) {', '.join(map(repr, missing))} "
            f"(has {', '.join(map(str, table.columns))}).{hint}"
        )
    tests = table
    if "role" in table.columns:
        roles = table["role"].fillna("").astype(str).str.strip().str.lower()
        tests = table[roles.isin(["", "test"])]
    tests = tests[tests[by].notna() & (tests[by].astype(str).str.strip() != "")]
    dup = tests.duplicated(["sample", "population"])
    if dup.any():
        first = tests[dup].iloc[0]
        raise ComparisonError(
            f"sample {first['sample']!r} has several rows for population {first['population']!r}; "
            "the sample is the unit, so give one row per sample × population (sum technical repeats)"
        )
    k = tests["count"].to_numpy(float)
    n = tests[_DENOMINATORS[metric]].to_numpy(float)
    bad = ~((k >= 0) & (k <= n))
    if bad.any():
        first = tests[bad].iloc[0]
        raise ComparisonError(
            f"sample {first['sample']!r}, population {first['population']!r}: count {first['count']!r} "
            f"must lie between 0 and {_DENOMINATORS[metric]} ({first[_DENOMINATORS[metric]]!r})"
        )
    return tests.assign(_k=k, _n=n).reset_index(drop=True)


def _match_level(values: pd.Series, reference: object, by: str) -> object:
    levels = list(pd.unique(values))
    if reference in levels:
        return reference
    as_text = [lv for lv in levels if str(lv) == str(reference)]
    if as_text:
        return as_text[0]
    raise ComparisonError(
        f"reference {reference!r} is not a value of column {by!r}; levels present: "
        f"{', '.join(map(repr, levels))}.{did_you_mean(str(reference), map(str, levels))}"
    )


def _select_populations(tests: pd.DataFrame, populations: Sequence[str] | None) -> list[str]:
    present = list(pd.unique(tests["population"]))
    if populations is None:
        return present
    if isinstance(populations, str):
        populations = [populations]
    for name in populations:
        if name not in present:
            raise ComparisonError(
                f"population {name!r} is not in the table; present: {', '.join(map(repr, present))}."
                f"{did_you_mean(name, present)}"
            )
    return list(populations)


def _shared_notes(tests: pd.DataFrame, table: pd.DataFrame, arm: pd.Series) -> list[Note]:
    """Notes that concern every population of one contrast: controls and viability."""
    notes = control_notes(tests[arm.notna()].drop_duplicates("sample"), table)
    shift = viability_shift(tests, arm) if "parent_count" in tests.columns else None
    if shift is not None and abs(shift) > MAX_LIVE_LOGIT_SHIFT:
        text = (
            f"live fraction shifts by {shift:+.2f} on the logit scale between arms: "
            "fractions may reflect selection; compare absolute counts"
        )
        notes.append(Note("viability", text))
    return notes


def _compare_level(
    rows: pd.DataFrame, arm: pd.Series, names: list[str], *, method: str, pair_by: str | None,
    alpha: float,
) -> list[dict]:  # fmt: skip
    """One record per population for the samples of one contrast (``rows``)."""
    arm_values = arm[rows.index].to_numpy(float)
    samples = rows["sample"].to_numpy(object)
    k, n = rows["_k"].to_numpy(float), rows["_n"].to_numpy(float)
    pairs = None if pair_by is None else _labels(rows[pair_by])
    parents = rows["parent"].to_numpy(object) if "parent" in rows.columns else None
    groups = rows.groupby("population", sort=False).indices
    records = []
    for name in names:
        idx = groups.get(name, np.array([], dtype=int))
        subset = ContrastRows(samples[idx], k[idx], n[idx], arm_values[idx],
                              None if pairs is None else pairs[idx], pair_by or "pair_id")  # fmt: skip
        record = compare_rows(subset, method=method, alpha=alpha)
        record["population"] = name
        record["parent"] = parents[idx[0]] if parents is not None and len(idx) else None
        records.append(record)
    return records


def _labels(values: pd.Series) -> np.ndarray:
    """Pairing labels as stripped strings, ``""`` where missing."""
    return np.array(["" if pd.isna(v) else str(v).strip() for v in values], dtype=object)


def _warn_notes(records: list[dict]) -> None:
    by_kind: dict[str, list[str]] = {}
    for record in records:
        where = f"{record['population']} ({record['level']} vs {record['reference']})"
        for note in record["_notes"]:
            places = by_kind.setdefault(note.kind, [])
            if where not in places:
                places.append(where)
    for kind, places in by_kind.items():
        more = f" and {len(places) - 3} more" if len(places) > 3 else ""
        warn(
            f"{SUMMARIES.get(kind, kind)}: {'; '.join(places[:3])}{more}; see the 'note' column",
            StatisticsWarning,
        )
