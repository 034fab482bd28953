"""Gate dimensions: which channel a gate looks at, in which compensation and on which scale.

A :class:`Dimension` names a channel (``$PnN``, or a fluorochrome produced by a named
spillover matrix), the compensation to use (``"uncompensated"``, ``"FCS"`` for the file's
own matrix, or the name of a matrix known to the strategy) and an optional scale
transform (a callable such as :class:`bcsc_flow.transforms.Logicle`). A
:class:`RatioDimension` is a derived dimension: a ratio of two compensated channels,
optionally transformed. Both are frozen and hashable, so they serve as cache keys: each
unique dimension is computed once per evaluation, whatever the number of gates using it.

Example
-------
>>> d = Dimension("FSC-A")
>>> d.channel, d.compensation, d.transform is None
('FSC-A', 'uncompensated', True)
>>> as_dimension("SSC-A") == Dimension("SSC-A")
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bcsc_flow.errors import GateError

__all__ = ["UNCOMPENSATED", "FILE_COMPENSATION", "Dimension", "RatioDimension", "as_dimension"]

UNCOMPENSATED = "uncompensated"
FILE_COMPENSATION = "FCS"


def _check_transform(owner: str, transform: Any) -> None:
    if transform is not None and not callable(transform):
        raise GateError(
            f"{owner}: transform must be callable (e.g. bcsc_flow.transforms.Logicle), "
            f"got {transform!r}."
        )
    if transform is not None:
        try:
            hash(transform)
        except TypeError as exc:
            raise GateError(
                f"{owner}: transform {transform!r} is not hashable; use a frozen transform "
                "from bcsc_flow.transforms."
            ) from exc


def _check_compensation(owner: str, compensation: Any) -> None:
    if not isinstance(compensation, str) or not compensation.strip():
        raise GateError(
            f"{owner}: compensation must be 'uncompensated', 'FCS' or the name of a "
            f"spillover matrix, got {compensation!r}."
        )


@dataclass(frozen=True)
class Dimension:
    """One gate axis: a channel, its compensation and an optional scale transform.

    ``compensation`` is ``"uncompensated"`` (scale values as read), ``"FCS"`` (the
    sample's own ``$SPILLOVER``; behaves like ``"uncompensated"`` when the file has
    none) or the name of a spillover matrix registered in the gating strategy.
    Gate coordinates are in the units of ``transform(channel values)``.

    Example
    -------
    >>> Dimension("APC-A", compensation="FCS").label
    'APC-A [FCS]'
    """

    channel: str
    transform: Callable[..., Any] | None = None
    compensation: str = UNCOMPENSATED

    def __post_init__(self) -> None:
        if not isinstance(self.channel, str) or not self.channel:
            raise GateError(f"Dimension: channel must be a non-empty string, got {self.channel!r}.")
        _check_transform(f"Dimension({self.channel!r})", self.transform)
        _check_compensation(f"Dimension({self.channel!r})", self.compensation)

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels this dimension reads (one)."""
        return (self.channel,)

    @property
    def label(self) -> str:
        """Short human-readable description, e.g. ``APC-A [FCS] logicle``."""
        text = self.channel
        if self.compensation != UNCOMPENSATED:
            text += f" [{self.compensation}]"
        if self.transform is not None:
            text += f" {getattr(self.transform, 'gatingml_name', type(self.transform).__name__)}"
        return text


@dataclass(frozen=True)
class RatioDimension:
    """A derived axis: ``ratio(numerator, denominator)``, then an optional transform.

    ``ratio`` is a :class:`bcsc_flow.transforms.Ratio` (Gating-ML ``fratio``); both
    channels are compensated as ``compensation`` says before the ratio is taken.
    ``name`` is used as the Gating-ML id of the ratio when the gate is exported.

    Example
    -------
    >>> RatioDimension("FL2-H", "FL2-A", lambda x1, x2: x1 / x2).channels
    ('FL2-H', 'FL2-A')
    """

    numerator: str
    denominator: str
    ratio: Callable[..., Any]
    transform: Callable[..., Any] | None = None
    compensation: str = UNCOMPENSATED
    name: str = ""

    def __post_init__(self) -> None:
        for field_name in ("numerator", "denominator"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not value:
                raise GateError(
                    f"RatioDimension: {field_name} must be a non-empty channel name, got {value!r}."
                )
        owner = f"RatioDimension({self.numerator!r}, {self.denominator!r})"
        if not callable(self.ratio):
            raise GateError(
                f"{owner}: ratio must be a bcsc_flow.transforms.Ratio, got {self.ratio!r}."
            )
        _check_transform(owner, self.ratio)
        _check_transform(owner, self.transform)
        _check_compensation(owner, self.compensation)

    @property
    def channels(self) -> tuple[str, ...]:
        """The two channels this dimension reads."""
        return (self.numerator, self.denominator)

    @property
    def label(self) -> str:
        """Short human-readable description, e.g. ``FL2-H/FL2-A``."""
        text = self.name or f"{self.numerator}/{self.denominator}"
        if self.compensation != UNCOMPENSATED:
            text += f" [{self.compensation}]"
        if self.transform is not None:
            text += f" {getattr(self.transform, 'gatingml_name', type(self.transform).__name__)}"
        return text


AnyDimension = Dimension | RatioDimension


def as_dimension(value: str | Dimension | RatioDimension) -> Dimension | RatioDimension:
    """Turn a channel name into an uncompensated, untransformed :class:`Dimension`.

    Example
    -------
    >>> as_dimension("FSC-A")
    Dimension(channel='FSC-A', transform=None, compensation='uncompensated')
    """
    if isinstance(value, Dimension | RatioDimension):
        return value
    if isinstance(value, str):
        return Dimension(value)
    raise GateError(
        f"A gate dimension must be a channel name, a Dimension or a RatioDimension, got {value!r}."
    )
