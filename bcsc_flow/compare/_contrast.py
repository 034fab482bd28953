"""One population × one contrast: choose the replicate units, fit the model, collect notes.

Works on plain numpy arrays (one entry per sample) so that a table of many populations is
compared quickly.

Example
-------
>>> rows = ContrastRows(samples=np.array(["u1", "u2", "i1", "i2"]), k=np.array([10.0, 12, 20, 18]),
...                     n=np.full(4, 1000.0), arm=np.array([0.0, 0, 1, 1]))
>>> record = compare_rows(rows, method="quasibinomial", alpha=0.05)
>>> record["test"], record["n_reference"], [n.kind for n in record["_notes"]]
('quasibinomial_glm_t', 2, ['few_replicates'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bcsc_flow.compare._checks import (
    Note,
    count_notes,
    dispersion_notes,
    join_names,
    replicate_notes,
)
from bcsc_flow.compare._models import (
    Contrast,
    effect_sizes,
    paired_logit,
    quasibinomial_blocked,
    quasibinomial_contrast,
    welch_logit,
)

__all__ = ["ContrastRows", "compare_rows"]


@dataclass(frozen=True)
class ContrastRows:
    """The samples of one population in one contrast: ``arm`` is 0 (reference) or 1 (level).

    ``pair`` holds the pairing/block label of each sample (``""`` when missing) and is
    None for unpaired designs.
    """

    samples: np.ndarray
    k: np.ndarray
    n: np.ndarray
    arm: np.ndarray
    pair: np.ndarray | None = None
    pair_by: str = "pair_id"


@dataclass(frozen=True)
class _Units:
    """The replicate units actually modelled: counts and parents per arm, labels, blocks."""

    k0: np.ndarray
    n0: np.ndarray
    k1: np.ndarray
    n1: np.ndarray
    labels: np.ndarray  # reference units first, then level units
    blocks: np.ndarray | None = None


def _sum_pairs(r: ContrastRows) -> tuple[_Units, list[Note]]:
    """Sum counts per pair × arm; keep pairs present in both arms."""
    assert r.pair is not None
    sums: dict[tuple[str, float], list[float]] = {}
    for pair, arm, k, n in zip(r.pair, r.arm, r.k, r.n):
        if pair:
            cell = sums.setdefault((pair, arm), [0.0, 0.0, 0.0])
            cell[0] += k
            cell[1] += n
            cell[2] += 1
    keys = [p for p in dict.fromkeys(p for p, _ in sums) if (p, 0.0) in sums and (p, 1.0) in sums]
    notes = []
    left_out = r.samples[~np.isin(r.pair, keys)]
    if len(left_out):
        notes.append(
            Note("unpaired", f"no partner by {r.pair_by!r} for {join_names(left_out)}: left out")
        )
    if any(sums[(p, a)][2] > 1 for p in keys for a in (0.0, 1.0)):
        notes.append(
            Note("unpaired", f"several samples of one arm share a {r.pair_by!r}: counts summed")
        )
    cells = [np.array([sums[(p, a)][i] for p in keys]) for a in (0.0, 1.0) for i in (0, 1)]
    labels = np.array([f"{r.pair_by} {p}" for p in keys] * 2, dtype=object)
    return _Units(cells[0], cells[1], cells[2], cells[3], labels), notes


def _units(r: ContrastRows, method: str) -> tuple[_Units, list[Note]]:
    notes = []
    empty = r.n <= 0
    if empty.any():
        notes.append(
            Note(
                "small_parent", f"parent has no events in {join_names(r.samples[empty])}: left out"
            )
        )
        keep = ~empty
        r = ContrastRows(r.samples[keep], r.k[keep], r.n[keep], r.arm[keep],
                         None if r.pair is None else r.pair[keep], r.pair_by)  # fmt: skip
    if method == "paired":
        units, more = _sum_pairs(r)
        return units, notes + more
    keep = np.ones(len(r.k), dtype=bool)
    if r.pair is not None:
        complete = set(r.pair[r.arm == 0]) & set(r.pair[r.arm == 1]) - {""}
        keep = np.isin(r.pair, list(complete))
        if not keep.all():
            text = f"no partner by {r.pair_by!r} for {join_names(r.samples[~keep])}: left out"
            notes.append(Note("unpaired", text))
    ref, lvl = keep & (r.arm == 0), keep & (r.arm == 1)
    order = np.r_[np.flatnonzero(ref), np.flatnonzero(lvl)]
    blocks = None if r.pair is None else r.pair[order]
    return _Units(r.k[ref], r.n[ref], r.k[lvl], r.n[lvl], r.samples[order], blocks), notes


def _fit(u: _Units, method: str) -> tuple[Contrast, list[Note]]:
    pooled = (u.k0.sum() / u.n0.sum(), u.k1.sum() / u.n1.sum())
    if method == "quasibinomial" and not all(0 < p < 1 for p in pooled):
        text = (
            "an arm has no positive (or no negative) events: GLM undefined, "
            "Welch t on Haldane logits reported instead"
        )
        return welch_logit(u.k0, u.n0, u.k1, u.n1), [Note("fallback", text)]
    if method == "quasibinomial" and u.blocks is None:
        return quasibinomial_contrast(u.k0, u.n0, u.k1, u.n1), []
    if method == "quasibinomial":
        is_level = np.r_[np.zeros(len(u.k0)), np.ones(len(u.k1))]
        c = quasibinomial_blocked(np.r_[u.k0, u.k1], np.r_[u.n0, u.n1], is_level, u.blocks)
        return c, [Note("fit", text) for text in c.notes]
    if method == "welch":
        return welch_logit(u.k0, u.n0, u.k1, u.n1), []
    return paired_logit(u.k0, u.n0, u.k1, u.n1), []


def _describe(values: np.ndarray) -> tuple[float, float]:
    mean = float(values.mean()) if len(values) else float("nan")
    sd = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return mean, sd


def compare_rows(r: ContrastRows, *, method: str, alpha: float) -> dict:
    """Fit one contrast; return the comparison record with its notes under ``"_notes"``.

    Example
    -------
    >>> rows = ContrastRows(samples=np.array(["u1", "i1"]), k=np.array([10.0, 20]),
    ...                     n=np.full(2, 1000.0), arm=np.array([0.0, 1]))
    >>> record = compare_rows(rows, method="welch", alpha=0.05)
    >>> record["test"], round(record["diff"], 1)
    ('none', 1.0)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(r.n > 0, r.k / r.n * 100, np.nan)
    mean0, sd0 = _describe(values[r.arm == 0])
    mean1, sd1 = _describe(values[r.arm == 1])
    record: dict = {
        "arith_mean_reference": mean0, "arith_mean_level": mean1,
        "sd_reference": sd0, "sd_level": sd1,
        "p_value": np.nan, "p_value_welch": np.nan, "test": "none",
    }  # fmt: skip
    u, notes = _units(r, method)
    record["n_reference"], record["n_level"] = len(u.k0), len(u.k1)
    refused = replicate_notes(len(u.k0), len(u.k1))
    notes += refused
    with np.errstate(divide="ignore", invalid="ignore"):
        mu0, mu1 = u.k0.sum() / u.n0.sum(), u.k1.sum() / u.n1.sum()
        if refused and refused[0].kind == "refused":
            record.update(
                mean_reference=float(100 * mu0), mean_level=float(100 * mu1),
                diff=float(100 * (mu1 - mu0)), ratio=float(mu1 / mu0),
                log2_ratio=float(np.log2(mu1 / mu0)),
            )  # fmt: skip
    if not (refused and refused[0].kind == "refused"):
        contrast, more = _fit(u, method)
        notes += more
        record.update(effect_sizes(contrast, alpha), p_value=contrast.p_value, test=contrast.test)
        welch = contrast if method != "quasibinomial" else welch_logit(u.k0, u.n0, u.k1, u.n1)
        record["p_value_welch"] = welch.p_value if welch.test == "welch_logit_t" else np.nan
        mu0, mu1 = contrast.mu_reference, contrast.mu_level
        if contrast.test.startswith("quasibinomial"):
            n_all = np.r_[u.n0, u.n1]
            notes += dispersion_notes(contrast.dispersion, contrast.df, n_all, (mu0 + mu1) / 2)
    expected = np.nan_to_num(np.r_[np.full(len(u.k0), mu0), np.full(len(u.k1), mu1)])
    notes += count_notes(u.labels, np.r_[u.k0, u.k1], np.r_[u.n0, u.n1], expected)
    record["_notes"] = notes
    return record
