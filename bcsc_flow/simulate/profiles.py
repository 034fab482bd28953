"""Instrument profiles: how the same biology arrives under different names, gains and scales.

A profile lists its detectors (``$PnN``), which reference column each one sees, its
``$PnS`` label style, per-detector gains (voltages), ``$PnR`` and the spillover of its
optics. :func:`acquire` turns reference-scale compensated values into the values a file
holds: ``raw = (truth × gain) · S'`` with ``S'[i, j] = S[i, j] · g_j / g_i`` (the
spillover seen between the profile's detectors), written to ``$SPILLOVER``; compensating
with that matrix gives back ``truth × gain`` exactly (up to float32).

Profiles: ``aria`` (FACSAria-like, FCS 3.1 float, ``FITC-A`` names, "CD44 APC" labels),
``fortessa`` (LSRFortessa-like, laser/filter names ``B530-A``…, "APC-CD44" labels, gains
0.6–1.8), ``cytoflex`` (``FL1-A`` names, "CD44-APC" labels, 22-bit range) and ``legacy``
(FCS 2.0, 10-bit integers, 4-decade log amplifiers ``$PnE/4,1/`` on fluorescence, linear
scatter, "APC CD44" labels, hardware-compensated so no spillover keyword, no time).

Example
-------
>>> p = PROFILES["fortessa"]
>>> [d.name for d in p.detectors][:4], p.label("CD44")
(['FSC-A', 'FSC-H', 'SSC-A', 'B530-A'], 'APC-CD44')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bcsc_flow.errors import SimulationError
from bcsc_flow.sample import Channel
from bcsc_flow.simulate.events import FLUORS, REF_COLUMNS

__all__ = ["Detector", "InstrumentProfile", "Acquisition", "PROFILES", "acquire", "marker_name"]

_MARKER_WORDS = {
    "ALDH": "ALDH",
    "CD24": "CD24",
    "CD44": "CD44",
    "HER2": "HER2",
    "VIABILITY": "Viability",
}


@dataclass(frozen=True)
class Detector:
    """One parameter of a profile: ``name`` ($PnN) sees reference column ``source``.

    ``source`` is one of :data:`~bcsc_flow.simulate.events.REF_COLUMNS` or ``"Time"``.
    ``log_decades > 0`` marks a log-amplified integer channel (legacy profile only).

    Example
    -------
    >>> PROFILES["legacy"].detector_of("CD44")
    Detector(name='FL4-H', source='CD44', gain=0.12, log_decades=4.0)
    """

    name: str
    source: str
    gain: float = 1.0
    log_decades: float = 0.0


@dataclass(frozen=True)
class InstrumentProfile:
    """An instrument: detectors, labels, gains, range, spillover and file format.

    ``spillover`` is the 5×5 reference matrix over :data:`FLUORS` (row = dye, column =
    the detector of that dye); ``fluor_names`` gives each stain's dye for labels such as
    ``"CD44 APC"`` (``label_style`` uses ``{marker}`` and ``{fluor}``).

    Example
    -------
    >>> PROFILES["aria"].label("VIABILITY")
    'Viability DAPI'
    """

    name: str
    cytometer: str
    fcs_version: str
    detectors: tuple[Detector, ...]
    label_style: str
    fluor_names: tuple[tuple[str, str], ...]
    range: float
    spillover: tuple[tuple[float, ...], ...] | None
    timestep: float | None = 0.01
    event_rate: float = 2000.0

    def fluor(self, stain: str) -> str:
        """The dye of a stain on this instrument (e.g. ``"APC"`` for CD44)."""
        return dict(self.fluor_names)[stain]

    def label(self, stain: str) -> str:
        """The ``$PnS`` label of the detector of ``stain``."""
        return self.label_style.format(marker=_MARKER_WORDS[stain], fluor=self.fluor(stain))

    def detector_of(self, source: str) -> Detector:
        """The detector that sees reference column ``source``."""
        for d in self.detectors:
            if d.source == source:
                return d
        raise SimulationError(f"profile {self.name!r} has no detector for {source!r}.")

    def file_spillover(self) -> tuple[tuple[str, ...], np.ndarray] | None:
        """Detector names and the spillover matrix between detectors, as written to the file."""
        if self.spillover is None:
            return None
        dets = [self.detector_of(f) for f in FLUORS]
        s = np.array(self.spillover, dtype=np.float64)
        g = np.array([d.gain for d in dets])
        m = s * g[None, :] / g[:, None]
        m = np.array([[float(f"{v:.6g}") for v in row] for row in m])
        return tuple(d.name for d in dets), m


def marker_name(profile: InstrumentProfile, stain: str) -> str:
    """The marker word used in control roles: ``CD44`` …, or the viability dye (``DAPI``).

    Example
    -------
    >>> marker_name(PROFILES["legacy"], "VIABILITY"), marker_name(PROFILES["aria"], "CD44")
    ('7-AAD', 'CD44')
    """
    return profile.fluor(stain) if stain == "VIABILITY" else stain


@dataclass(frozen=True, eq=False)
class Acquisition:
    """The values of one tube as the instrument records them.

    ``scale`` holds float64 scale values before the file's quantisation (float32, or the
    legacy 10-bit channels; already clipped to what the legacy channels can represent).
    ``in_clog`` flags events acquired during a simulated clog.

    Example
    -------
    >>> import numpy as np
    >>> acq = acquire(PROFILES["legacy"], np.zeros((1, 8)), np.ones(8), np.random.default_rng(0))
    >>> acq.scale.tolist(), acq.spillover
    ([[0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]], None)
    """

    scale: np.ndarray
    channels: tuple[Channel, ...]
    spillover: tuple[tuple[str, ...], np.ndarray] | None
    duration_s: float
    in_clog: np.ndarray


def _times(
    rng: np.random.Generator, n: int, rate: float, clog: bool
) -> tuple[np.ndarray, np.ndarray]:
    gaps = rng.exponential(1.0 / rate, n)
    in_clog = np.zeros(n, dtype=bool)
    if clog and n >= 20:
        start = int(n * rng.uniform(0.3, 0.6))
        stop = start + max(1, n // 50)
        gaps[start:stop] *= 25.0  # the flow nearly stops for a while
        in_clog[start:stop] = True
    return np.cumsum(gaps), in_clog


def acquire(
    profile: InstrumentProfile,
    ref: np.ndarray,
    drift: np.ndarray,
    rng: np.random.Generator,
    *,
    clog: bool = False,
    compensated: bool = False,
) -> Acquisition:
    """Detector values of ``ref`` (compensated reference units) on ``profile``.

    ``drift`` is a per-reference-column multiplicative factor (batch drift).
    ``compensated=True`` skips the spillover mixing but still reports the matrix, as a
    file that was compensated and kept its ``$SPILLOVER`` would.

    Example
    -------
    >>> import numpy as np
    >>> ref = np.full((2, 8), 1000.0)
    >>> acq = acquire(PROFILES["aria"], ref, np.ones(8), np.random.default_rng(0))
    >>> [c.name for c in acq.channels][-1], acq.scale.shape
    ('Time', (2, 9))
    """
    n = ref.shape[0]
    comp = np.empty((n, len(profile.detectors)))
    times, in_clog = _times(rng, n, profile.event_rate, clog)
    duration = float(times[-1]) if n else 0.0
    for j, det in enumerate(profile.detectors):
        if det.source == "Time":
            comp[:, j] = times / float(profile.timestep or 1.0)
        else:
            k = REF_COLUMNS.index(det.source)
            comp[:, j] = ref[:, k] * drift[k] * det.gain
    spill = profile.file_spillover()
    if spill is not None and not compensated:
        cols = [[d.name for d in profile.detectors].index(name) for name in spill[0]]
        comp[:, cols] = comp[:, cols] @ spill[1]
    if profile.fcs_version.startswith("2"):
        for j, det in enumerate(profile.detectors):
            if det.log_decades > 0:
                comp[:, j] = np.clip(comp[:, j], 1.0, 10.0**det.log_decades)
            else:
                comp[:, j] = np.clip(comp[:, j], 0.0, profile.range - 1)
    channels = []
    for det in profile.detectors:
        marker = (
            None if det.source in ("Time", "FSC-A", "FSC-H", "SSC-A") else profile.label(det.source)
        )
        channels.append(
            Channel(
                det.name,
                marker,
                range=float(profile.range),
                bits=16 if profile.fcs_version.startswith("2") else 32,
                log_decades=det.log_decades,
                log_offset=1.0 if det.log_decades else 0.0,
            )
        )
    return Acquisition(comp, tuple(channels), spill, duration, in_clog)


def _detectors(
    names: list[str], gains: list[float], log_decades: float = 0.0
) -> tuple[Detector, ...]:
    sources = [*REF_COLUMNS, "Time"]
    dets = []
    for name, source, gain in zip(names, sources, gains):
        log = log_decades if source in FLUORS else 0.0
        dets.append(Detector(name, source, gain, log))
    return tuple(dets)


_S_ARIA = (
    (1.0, 0.18, 0.0, 0.004, 0.0),
    (0.02, 1.0, 0.0, 0.03, 0.0),
    (0.0, 0.002, 1.0, 0.01, 0.0),
    (0.0, 0.02, 0.003, 1.0, 0.0),
    (0.005, 0.0, 0.0, 0.0, 1.0),
)
_S_FORTESSA = (
    (1.0, 0.08, 0.0, 0.002, 0.0),
    (0.01, 1.0, 0.0, 0.05, 0.0),
    (0.0, 0.001, 1.0, 0.015, 0.0),
    (0.0, 0.03, 0.004, 1.0, 0.0),
    (0.01, 0.0, 0.0, 0.0, 1.0),
)
_S_CYTOFLEX = (
    (1.0, 0.12, 0.0, 0.003, 0.0),
    (0.015, 1.0, 0.0, 0.04, 0.0),
    (0.0, 0.002, 1.0, 0.02, 0.0),
    (0.0, 0.025, 0.005, 1.0, 0.0),
    (0.008, 0.0, 0.0, 0.0, 1.0),
)
_DAPI_PANEL = (
    ("ALDH", "ALDEFLUOR"),
    ("CD24", "PE"),
    ("CD44", "APC"),
    ("HER2", "PE-Cy7"),
    ("VIABILITY", "DAPI"),
)

PROFILES: dict[str, InstrumentProfile] = {
    "aria": InstrumentProfile(
        name="aria",
        cytometer="FACSAria III (simulated)",
        fcs_version="3.1",
        detectors=_detectors(
            ["FSC-A", "FSC-H", "SSC-A", "FITC-A", "PE-A", "APC-A", "PE-Cy7-A", "DAPI-A", "Time"],
            [1.0] * 9,
        ),
        label_style="{marker} {fluor}",
        fluor_names=_DAPI_PANEL,
        range=262144.0,
        spillover=_S_ARIA,
    ),
    "fortessa": InstrumentProfile(
        name="fortessa",
        cytometer="LSRFortessa (simulated)",
        fcs_version="3.1",
        detectors=_detectors(
            ["FSC-A", "FSC-H", "SSC-A", "B530-A", "YG586-A", "R670-A", "YG780-A", "V450-A", "Time"],
            [0.8, 0.8, 1.3, 1.4, 0.7, 0.6, 1.8, 1.2, 1.0],
        ),
        label_style="{fluor}-{marker}",
        fluor_names=_DAPI_PANEL,
        range=262144.0,
        spillover=_S_FORTESSA,
    ),
    "cytoflex": InstrumentProfile(
        name="cytoflex",
        cytometer="CytoFLEX (simulated)",
        fcs_version="3.1",
        detectors=_detectors(
            ["FSC-A", "FSC-H", "SSC-A", "FL1-A", "FL2-A", "FL4-A", "FL5-A", "FL9-A", "Time"],
            [6.0, 6.0, 4.0, 8.0, 5.0, 12.0, 4.0, 6.0, 1.0],
        ),
        label_style="{marker}-{fluor}",
        fluor_names=_DAPI_PANEL,
        range=4194304.0,
        spillover=_S_CYTOFLEX,
        timestep=0.001,
        event_rate=1500.0,
    ),
    "legacy": InstrumentProfile(
        name="legacy",
        cytometer="FACSCalibur-like 10-bit analyser (simulated)",
        fcs_version="2.0",
        detectors=_detectors(
            ["FSC-A", "FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL4-H", "FL5-H", "FL3-H"],
            [1 / 400, 1 / 400, 1 / 400, 0.1, 0.06, 0.12, 0.08, 0.05],
            log_decades=4.0,
        ),
        label_style="{fluor} {marker}",
        fluor_names=(*_DAPI_PANEL[:4], ("VIABILITY", "7-AAD")),
        range=1024.0,
        spillover=None,
        timestep=None,
        event_rate=800.0,
    ),
}
"""Built-in instrument profiles by name."""
