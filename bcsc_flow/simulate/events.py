"""Events of one tube on the reference scale, with a truth label for every event.

An event is debris, a dead cell, a doublet, a live singlet or a compensation bead. Cells
carry a phenotype state (CD44+, CD24-/low, HER2+, ALDH-bright); the stains of the tube
decide which states become signal. Values come out as *compensated* reference units in the
columns :data:`REF_COLUMNS`; instrument profiles turn them into detector values.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.simulate.params import ArmParams, Intensities
>>> content = TubeContent(arms=(ArmParams(),), staining=Staining.full())
>>> values, truth = simulate_events(np.random.default_rng(0), 1000, content, Intensities())
>>> values.shape, len(truth.event_class)
((1000, 8), 1000)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bcsc_flow.errors import SimulationError
from bcsc_flow.simulate.params import ArmParams, Intensities

__all__ = [
    "CLASS_NAMES",
    "DEBRIS",
    "DEAD",
    "DOUBLET",
    "LIVE",
    "BEAD",
    "FLUORS",
    "REF_COLUMNS",
    "EventTruth",
    "Staining",
    "TubeContent",
    "simulate_events",
]

DEBRIS, DEAD, DOUBLET, LIVE, BEAD = 0, 1, 2, 3, 4
CLASS_NAMES: tuple[str, ...] = ("debris", "dead", "doublet", "live", "bead")
"""Names of the event classes, indexed by the codes stored in ``event_class``."""

FLUORS: tuple[str, ...] = ("ALDH", "CD24", "CD44", "HER2", "VIABILITY")
"""The stains of the panel: ALDEFLUOR, three antibodies and a viability dye."""
REF_COLUMNS: tuple[str, ...] = ("FSC-A", "FSC-H", "SSC-A", *FLUORS)
"""Columns of the reference-scale event array, in order."""

_ANTIBODIES = ("CD24", "CD44", "HER2")


@dataclass(frozen=True)
class Staining:
    """Which stains a tube received; ``deab`` inhibits ALDH; ``isotype`` names antibodies
    replaced by their isotype control.

    Example
    -------
    >>> sorted(Staining.full().without("CD44").stains)
    ['ALDH', 'CD24', 'HER2', 'VIABILITY']
    """

    stains: frozenset[str] = frozenset()
    deab: bool = False
    isotype: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = (set(self.stains) | set(self.isotype)) - set(FLUORS)
        if unknown:
            raise SimulationError(f"Staining: unknown stains {sorted(unknown)}; expected {FLUORS}.")

    @classmethod
    def full(cls) -> Staining:
        """Every stain of the panel (a test tube)."""
        return cls(frozenset(FLUORS))

    def without(self, marker: str) -> Staining:
        """The same staining minus one stain (an FMO tube)."""
        return Staining(self.stains - {marker}, self.deab, self.isotype - {marker})


@dataclass(frozen=True)
class TubeContent:
    """What is in a tube: cells pooled in equal parts from ``arms`` (or beads), and stains.

    ``dead_share`` overrides the arms' dead fraction (e.g. 0.5 for a heat-killed
    viability single stain); ``beads=True`` makes a 50/50 negative/positive bead tube for
    the one antibody in ``staining``.

    Example
    -------
    >>> from bcsc_flow.simulate.params import ArmParams
    >>> TubeContent((ArmParams(),), Staining(), dead_share=0.5).dead_share
    0.5
    """

    arms: tuple[ArmParams, ...]
    staining: Staining
    beads: bool = False
    dead_share: float | None = None


@dataclass(frozen=True, eq=False)
class EventTruth:
    """Per-event truth: class code (:data:`CLASS_NAMES`) and phenotype flags.

    Flags describe the cell's phenotype state, not its measured signal: live singlets and
    dead cells carry their drawn state; debris, doublets and beads carry all-False flags.

    Example
    -------
    >>> t = EventTruth.empty(0)
    >>> t.bcsc.shape
    (0,)
    """

    event_class: np.ndarray
    cd44_pos: np.ndarray
    cd24_low: np.ndarray
    her2_pos: np.ndarray
    aldh_bright: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls, n: int) -> EventTruth:
        """All-False flags, class debris, for ``n`` events."""
        z = np.zeros(n, dtype=bool)
        return cls(np.zeros(n, dtype=np.uint8), z, z.copy(), z.copy(), z.copy())

    @property
    def bcsc(self) -> np.ndarray:
        """CD44+ and CD24-/low phenotype state."""
        return self.cd44_pos & self.cd24_low

    def arrays(self) -> dict[str, np.ndarray]:
        """Named arrays (for saving)."""
        return {
            "event_class": self.event_class,
            "cd44_pos": self.cd44_pos,
            "cd24_low": self.cd24_low,
            "her2_pos": self.her2_pos,
            "aldh_bright": self.aldh_bright,
            **self.extra,
        }

    def take(self, order: np.ndarray) -> EventTruth:
        """Events reordered (or selected) by ``order``."""
        return EventTruth(
            *(a[order] for a in list(self.arrays().values())[:5]),
            extra={k: v[order] for k, v in self.extra.items()},
        )


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * 10.0 ** rng.normal(0.0, sigma, n)


def _phenotypes(rng: np.random.Generator, n: int, arm: ArmParams) -> dict[str, np.ndarray]:
    u = rng.random((3, n))
    bcsc = u[0] < arm.bcsc
    s0, s1, _ = arm.bulk_split
    # bulk state from the remaining uniform draw: CD44-CD24hi, CD44+CD24hi, CD44-CD24lo
    v = (u[0] - arm.bcsc) / max(1.0 - arm.bcsc, 1e-12)
    cd44_hi_bulk = ~bcsc & (v >= s0) & (v < s0 + s1)
    cd24_lo_bulk = ~bcsc & (v >= s0 + s1)
    her2 = u[1] < np.where(bcsc, arm.her2_given_bcsc, arm.her2_given_bulk)
    p_aldh = np.where(
        bcsc,
        np.where(her2, arm.aldh_given_her2_bcsc, arm.aldh_given_her2neg_bcsc),
        arm.aldh_given_bulk,
    )
    return {
        "cd44_pos": bcsc | cd44_hi_bulk,
        "cd24_low": bcsc | cd24_lo_bulk,
        "her2_pos": her2,
        "aldh_bright": u[2] < p_aldh,
    }


def _cell_fluorescence(
    rng: np.random.Generator,
    ph: dict[str, np.ndarray],
    dead: np.ndarray,
    staining: Staining,
    it: Intensities,
) -> np.ndarray:
    n = dead.shape[0]
    out = np.zeros((n, len(FLUORS)))
    specific = {
        "CD24": np.where(
            ph["cd24_low"],
            _lognormal(rng, it.cd24_low, it.cd24_low_sigma, n),
            _lognormal(rng, it.cd24_bright, it.cd24_bright_sigma, n),
        ),
        "CD44": np.where(ph["cd44_pos"], _lognormal(rng, it.cd44_pos, it.cd44_pos_sigma, n), 0.0),
        "HER2": np.where(
            ph["her2_pos"],
            _lognormal(rng, it.her2_pos, it.her2_pos_sigma, n),
            _lognormal(rng, it.her2_low, it.her2_low_sigma, n),
        ),
    }
    iso = {"HER2": _lognormal(rng, it.isotype_her2, 0.3, n)}
    for k, marker in enumerate(_ANTIBODIES, start=1):
        if marker in staining.isotype:
            signal = iso.get(marker, np.zeros(n))
        elif marker in staining.stains:
            signal = specific[marker]
        else:
            continue
        out[:, k] = np.where(dead, signal * it.dead_ab_factor + it.dead_ab_offset, signal)
    if "ALDH" in staining.stains:
        low = _lognormal(rng, it.aldh_low, it.aldh_low_sigma, n)
        bright = _lognormal(rng, it.aldh_bright, it.aldh_bright_sigma, n)
        live_signal = np.where(ph["aldh_bright"] & (not staining.deab), bright, low)
        out[:, 0] = np.where(dead, _lognormal(rng, it.aldh_dead, 0.3, n), live_signal)
    if "VIABILITY" in staining.stains:
        out[:, 4] = np.where(dead, _lognormal(rng, it.dye_dead, it.dye_dead_sigma, n), 0.0)
    af = 10.0 ** rng.normal(0.0, it.af_sigma, n)
    af_medians = np.array([it.af_aldh, it.af_cd24, it.af_cd44, it.af_her2, it.af_dye])
    spreads = np.array(
        [it.spread_aldh, it.spread_cd24, it.spread_cd44, it.spread_her2, it.spread_dye]
    )
    out += af[:, None] * af_medians + rng.normal(0.0, 1.0, (n, len(FLUORS))) * spreads
    return out


def _cell_scatter(rng: np.random.Generator, n: int, arm: ArmParams, dead: np.ndarray) -> np.ndarray:
    fsc_a = np.clip(rng.normal(100_000.0 * arm.fsc_scale, 20_000.0, n), 20_000.0, 250_000.0)
    fsc_a = np.where(dead, fsc_a * 0.85, fsc_a)
    fsc_h = fsc_a * rng.normal(0.78, 0.04, n)
    ssc_a = _lognormal(rng, 60_000.0, 0.12, n) * np.where(dead, 1.15, 1.0)
    return np.column_stack([fsc_a, fsc_h, ssc_a])


def _cells(
    rng: np.random.Generator, n: int, arm: ArmParams, content: TubeContent, it: Intensities
) -> tuple[np.ndarray, EventTruth]:
    dead_share = arm.dead if content.dead_share is None else content.dead_share
    probs = np.array(
        [
            arm.debris,
            (1 - arm.debris) * dead_share,
            (1 - arm.debris) * arm.doublet,
            (1 - arm.debris) * (1 - dead_share - arm.doublet),
        ]
    )
    if probs[3] < 0:
        raise SimulationError(f"dead share {dead_share} + doublet {arm.doublet} exceed 1.")
    cls = np.searchsorted(np.cumsum(probs), rng.random(n) * probs.sum(), side="right")
    cls = np.minimum(cls, 3).astype(np.uint8)
    values = np.zeros((n, len(REF_COLUMNS)))
    truth = EventTruth.empty(n)
    truth.event_class[:] = cls

    single = (cls == DEAD) | (cls == LIVE)
    m = int(single.sum())
    ph = _phenotypes(rng, m, arm)
    dead = cls[single] == DEAD
    values[single, :3] = _cell_scatter(rng, m, arm, dead)
    values[single, 3:] = _cell_fluorescence(rng, ph, dead, content.staining, it)
    for key in ("cd44_pos", "cd24_low", "her2_pos", "aldh_bright"):
        getattr(truth, key)[single] = ph[key]

    dbl = cls == DOUBLET
    k = int(dbl.sum())
    if k:
        alive = np.zeros(2 * k, dtype=bool)
        ph2 = _phenotypes(rng, 2 * k, arm)
        sc = _cell_scatter(rng, 2 * k, arm, alive)
        fl = _cell_fluorescence(rng, ph2, alive, content.staining, it)
        a, b = sc[:k], sc[k:]
        fsc_h = np.maximum(a[:, 1], b[:, 1]) * rng.normal(1.1, 0.03, k)
        values[dbl, :3] = np.column_stack([a[:, 0] + b[:, 0], fsc_h, a[:, 2] + b[:, 2]])
        values[dbl, 3:] = fl[:k] + fl[k:]

    deb = cls == DEBRIS
    d = int(deb.sum())
    if d:
        fsc_a = _lognormal(rng, 12_000.0, 0.25, d)
        scatter = np.column_stack(
            [fsc_a, fsc_a * rng.normal(0.85, 0.05, d), _lognormal(rng, 15_000.0, 0.3, d)]
        )
        values[deb, :3] = scatter
        spreads = np.array(
            [it.spread_aldh, it.spread_cd24, it.spread_cd44, it.spread_her2, it.spread_dye]
        )
        fl = _lognormal(rng, 200.0, 0.5, d * len(FLUORS)).reshape(d, -1)
        fl += rng.normal(0.0, 1.0, fl.shape) * spreads
        if "VIABILITY" in content.staining.stains:  # half of the debris takes up the dye dimly
            dim = rng.random(d) < 0.5
            fl[:, 4] += np.where(dim, _lognormal(rng, 3000.0, 0.3, d), 0.0)
        values[deb, 3:] = fl
    return values, truth


def _beads(
    rng: np.random.Generator, n: int, content: TubeContent, it: Intensities
) -> tuple[np.ndarray, EventTruth]:
    values = np.zeros((n, len(REF_COLUMNS)))
    fsc_a = _lognormal(rng, 50_000.0, 0.04, n)
    values[:, 0] = fsc_a
    values[:, 1] = fsc_a * rng.normal(0.9, 0.02, n)
    values[:, 2] = _lognormal(rng, 8_000.0, 0.06, n)
    spreads = np.array(
        [it.spread_aldh, it.spread_cd24, it.spread_cd44, it.spread_her2, it.spread_dye]
    )
    values[:, 3:] = _lognormal(rng, 50.0, 0.1, n * len(FLUORS)).reshape(n, -1)
    values[:, 3:] += rng.normal(0.0, 1.0, (n, len(FLUORS))) * spreads * 0.5
    positive = rng.random(n) < 0.5
    for marker in content.staining.stains:
        j = 3 + FLUORS.index(marker)
        values[:, j] += np.where(positive, _lognormal(rng, 40_000.0, 0.08, n), 0.0)
    truth = EventTruth.empty(n)
    truth.event_class[:] = BEAD
    truth.extra["bead_positive"] = positive
    return values, truth


def simulate_events(
    rng: np.random.Generator, n: int, content: TubeContent, it: Intensities
) -> tuple[np.ndarray, EventTruth]:
    """``n`` events of one tube, in random order: reference-scale values and truth.

    Cells are pooled in equal expected parts from ``content.arms``.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.simulate.params import ArmParams, Intensities
    >>> tube = TubeContent(arms=(ArmParams(),), staining=Staining(frozenset({"CD44"})), beads=True)
    >>> v, t = simulate_events(np.random.default_rng(1), 10, tube, Intensities())
    >>> set(t.event_class.tolist())
    {4}
    """
    if n < 1:
        raise SimulationError(f"simulate_events: n={n!r}; expected at least one event.")
    if content.beads:
        return _beads(rng, n, content, it)
    if not content.arms:
        raise SimulationError("TubeContent.arms is empty; a cell tube needs at least one arm.")
    counts = rng.multinomial(n, [1.0 / len(content.arms)] * len(content.arms))
    parts = [_cells(rng, int(c), arm, content, it) for c, arm in zip(counts, content.arms) if c]
    values = np.concatenate([p[0] for p in parts])
    truth = EventTruth(
        *(np.concatenate([getattr(p[1], k) for p in parts]) for k in list(parts[0][1].arrays())[:5])
    )
    order = rng.permutation(n)
    return values[order], truth.take(order)
