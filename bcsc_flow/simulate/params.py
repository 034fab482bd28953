"""Parameters of the synthetic BCSC model: per-arm probabilities, intensities, scenarios.

All values are defaults chosen to look like MCF7 irradiation studies (DOMAIN.md §2.6–2.7);
they are estimates, not measurements. Intensities are *compensated linear units on an
18-bit scale* (the "reference scale"); an instrument profile later multiplies them by its
gains and mixes them through its spillover matrix.

Example
-------
>>> s = SCENARIOS["default"]
>>> s.untreated.bcsc < s.irradiated.bcsc
True
>>> SCENARIOS["null"].untreated == SCENARIOS["null"].irradiated
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from bcsc_flow.errors import SimulationError

__all__ = ["ArmParams", "Intensities", "Scenario", "SCENARIOS", "PROBABILITY_FIELDS"]

PROBABILITY_FIELDS: tuple[str, ...] = (
    "debris",
    "dead",
    "doublet",
    "bcsc",
    "her2_given_bcsc",
    "her2_given_bulk",
    "aldh_given_her2_bcsc",
    "aldh_given_her2neg_bcsc",
    "aldh_given_bulk",
)
"""The :class:`ArmParams` fields that receive replicate jitter on the logit scale."""


@dataclass(frozen=True)
class ArmParams:
    """Event-class and phenotype probabilities of one condition (an "arm").

    ``debris`` is a share of all events; ``doublet`` and ``dead`` are shares of cell
    (non-debris) events; the live singlets are the rest. Among live singlets, ``bcsc`` is
    the CD44+CD24-/low share; the bulk (non-BCSC) cells split into CD44-CD24hi,
    CD44+CD24hi and CD44-CD24lo by ``bulk_split``. HER2 and ALDH states are drawn given
    BCSC/bulk class. ``fsc_scale`` multiplies the forward scatter of cells (irradiated
    cells are larger).

    Example
    -------
    >>> ArmParams().bcsc
    0.02
    """

    debris: float = 0.08
    dead: float = 0.05
    doublet: float = 0.04
    bcsc: float = 0.02
    her2_given_bcsc: float = 0.15
    her2_given_bulk: float = 0.015
    aldh_given_her2_bcsc: float = 0.30
    aldh_given_her2neg_bcsc: float = 0.08
    aldh_given_bulk: float = 0.015
    bulk_split: tuple[float, float, float] = (0.75, 0.20, 0.05)
    fsc_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in PROBABILITY_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise SimulationError(
                    f"ArmParams.{name}={value!r}: expected a probability in [0, 1)."
                )
        if self.dead + self.doublet >= 1.0:
            raise SimulationError(
                f"ArmParams: dead ({self.dead}) + doublet ({self.doublet}) must stay below 1."
            )
        split = tuple(float(v) for v in self.bulk_split)
        if len(split) != 3 or min(split) < 0 or abs(sum(split) - 1.0) > 1e-9:
            raise SimulationError(
                f"ArmParams.bulk_split={self.bulk_split!r}: expected three shares summing to 1."
            )
        if not self.fsc_scale > 0:
            raise SimulationError(f"ArmParams.fsc_scale={self.fsc_scale!r}: expected > 0.")

    def jittered(self, rng: np.random.Generator, logit_sd: float) -> ArmParams:
        """A copy with every probability moved by ``N(0, logit_sd)`` on the logit scale.

        Example
        -------
        >>> import numpy as np
        >>> a = ArmParams().jittered(np.random.default_rng(1), 0.3)
        >>> 0 < a.bcsc < 1 and a.bcsc != 0.02
        True
        """
        shifts = rng.normal(0.0, logit_sd, size=len(PROBABILITY_FIELDS))
        changes = {}
        for name, shift in zip(PROBABILITY_FIELDS, shifts, strict=True):
            p = getattr(self, name)
            if p <= 0.0 or logit_sd == 0.0:
                continue
            logit = np.log(p / (1.0 - p)) + shift
            changes[name] = float(1.0 / (1.0 + np.exp(-logit)))
        if changes.get("dead", self.dead) + changes.get("doublet", self.doublet) >= 1.0:
            changes.pop("dead", None)
        return replace(self, **changes)

    def as_dict(self) -> dict[str, float | list[float]]:
        """Plain values for JSON."""
        out: dict[str, float | list[float]] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else float(v)
        return out


@dataclass(frozen=True)
class Intensities:
    """Medians (reference units) and log10 spreads of every channel component.

    Lognormal components are ``median * 10**N(0, sigma)``; every cell also carries
    autofluorescence (a per-cell factor ``10**N(0, af_sigma)`` shared by all channels,
    times the channel's ``af_*`` median) and additive residual spread ``N(0, spread_*)``,
    so compensated values go negative as real data do. Dead cells bind antibodies
    nonspecifically (``dead_ab_factor`` × specific + ``dead_ab_offset``) and do not
    retain ALDEFLUOR.

    Example
    -------
    >>> Intensities().cd24_bright
    20000.0
    """

    # CD24 (PE)
    cd24_low: float = 300.0
    cd24_low_sigma: float = 0.30
    cd24_bright: float = 20000.0
    cd24_bright_sigma: float = 0.25
    af_cd24: float = 250.0
    spread_cd24: float = 200.0
    # CD44 (APC)
    cd44_pos: float = 6000.0
    cd44_pos_sigma: float = 0.30
    af_cd44: float = 100.0
    spread_cd44: float = 120.0
    # HER2 (PE-Cy7)
    her2_low: float = 60.0
    her2_low_sigma: float = 0.25
    her2_pos: float = 8000.0
    her2_pos_sigma: float = 0.30
    af_her2: float = 150.0
    spread_her2: float = 180.0
    isotype_her2: float = 60.0
    # ALDH (ALDEFLUOR, FITC)
    aldh_low: float = 1200.0
    aldh_low_sigma: float = 0.22
    aldh_bright: float = 10000.0
    aldh_bright_sigma: float = 0.28
    aldh_dead: float = 300.0
    af_aldh: float = 400.0
    spread_aldh: float = 150.0
    # viability dye (DAPI / 7-AAD)
    dye_dead: float = 30000.0
    dye_dead_sigma: float = 0.30
    af_dye: float = 200.0
    spread_dye: float = 150.0
    # shared
    af_sigma: float = 0.20
    dead_ab_factor: float = 1.5
    dead_ab_offset: float = 500.0


@dataclass(frozen=True)
class Scenario:
    """Both arms plus the experiment-level noise: everything biology, nothing instrument.

    ``replicate_logit_sd`` jitters each replicate's probabilities on the logit scale;
    ``batch_shift_log10`` is the SD of the per-batch (day) multiplicative drift of every
    channel, ``10**N(0, batch_shift_log10)``.

    Example
    -------
    >>> from dataclasses import replace
    >>> s = replace(SCENARIOS["default"], replicate_logit_sd=0.0)
    >>> s.replicate_logit_sd
    0.0
    """

    name: str
    untreated: ArmParams
    irradiated: ArmParams
    intensities: Intensities = field(default_factory=Intensities)
    replicate_logit_sd: float = 0.20
    batch_shift_log10: float = 0.05

    def __post_init__(self) -> None:
        if self.replicate_logit_sd < 0 or self.batch_shift_log10 < 0:
            raise SimulationError(
                f"Scenario {self.name!r}: replicate_logit_sd and batch_shift_log10 must be >= 0, "
                f"got {self.replicate_logit_sd!r} and {self.batch_shift_log10!r}."
            )

    def arm(self, condition: str) -> ArmParams:
        """The parameters of ``"untreated"`` or ``"irradiated"``."""
        if condition == "untreated":
            return self.untreated
        if condition == "irradiated":
            return self.irradiated
        raise SimulationError(
            f"Scenario {self.name!r}: unknown condition {condition!r}; use 'untreated' or 'irradiated'."
        )


_UNTREATED = ArmParams()
_IRRADIATED = ArmParams(
    debris=0.20,
    dead=0.20,
    doublet=0.06,
    bcsc=0.06,
    her2_given_bcsc=0.40,
    her2_given_bulk=0.04,
    aldh_given_bulk=0.025,
    fsc_scale=1.1,
)

SCENARIOS: dict[str, Scenario] = {
    # Clear, well-separated populations; a 3-fold BCSC rise and HER2 induction.
    "default": Scenario("default", _UNTREATED, _IRRADIATED),
    # Dimmer positives and more overlap (DOMAIN §2.7.8 "realistic").
    "realistic": Scenario(
        "realistic",
        _UNTREATED,
        replace(_IRRADIATED, dead=0.25),
        intensities=Intensities(her2_pos=4000.0, aldh_bright=8000.0, cd24_low=500.0),
        replicate_logit_sd=0.30,
    ),
    # No treatment effect: both arms are the untreated arm (type-I error checks).
    "null": Scenario("null", _UNTREATED, _UNTREATED),
    # A null where both arms carry the irradiated level of debris and death.
    "null_damaged": Scenario(
        "null_damaged",
        replace(_UNTREATED, debris=0.20, dead=0.20, doublet=0.06),
        replace(_UNTREATED, debris=0.20, dead=0.20, doublet=0.06),
    ),
}
"""Built-in scenarios by name: ``default``, ``realistic``, ``null``, ``null_damaged``."""
