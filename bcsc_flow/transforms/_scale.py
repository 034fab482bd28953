"""Closed-form Gating-ML 2.0 transforms: flin, flog, fasinh and fratio."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from bcsc_flow.transforms._base import BoundedTransform, as_float_array, require, require_finite

__all__ = ["Asinh", "Linear", "Log", "Ratio"]

_LN10 = math.log(10.0)


@dataclass(frozen=True)
class Linear(BoundedTransform):
    """Gating-ML ``flin``: ``y = (x + A) / (T + A)``, mapping ``[-A, T]`` onto ``[0, 1]``.

    Parameters: ``t > 0`` and ``-t < a <= t``; optional keyword-only ``bound_min`` /
    ``bound_max`` clamp the result.

    Example
    -------
    >>> f = Linear(1000.0, a=100.0)
    >>> f([-100.0, 0.0, 1000.0]).round(6).tolist()
    [0.0, 0.090909, 1.0]
    >>> float(f.inverse(f(250.0)))
    250.0
    """

    t: float
    a: float = 0.0
    bound_min: float | None = field(default=None, kw_only=True)
    bound_max: float | None = field(default=None, kw_only=True)
    gatingml_name: ClassVar[str] = "flin"

    def __post_init__(self) -> None:
        require_finite("Linear", t=self.t, a=self.a)
        require(self.t > 0, "Linear", "t", self.t, "t > 0")
        require(-self.t < self.a <= self.t, "Linear", "a", self.a, f"-t < a <= t (t={self.t!r})")
        self._check_bounds()

    def __call__(self, x: Any) -> np.ndarray:
        """Transform data values ``x``."""
        return self._clamp((as_float_array(x) + self.a) / (self.t + self.a))

    def inverse(self, y: Any) -> np.ndarray:
        """Data values whose transform is ``y`` (bounds are not undone)."""
        return as_float_array(y) * (self.t + self.a) - self.a


@dataclass(frozen=True)
class Log(BoundedTransform):
    """Gating-ML ``flog``: ``y = 1 + log10(x / T) / M``; ``x <= 0`` gives NaN.

    ``T`` maps to 1 and ``M`` decades span ``[0, 1]``. Parameters: ``t > 0``, ``m > 0``.

    Example
    -------
    >>> f = Log(10000.0, 5.0)
    >>> f([-1.0, 1.0, 10000.0]).round(6).tolist()
    [nan, 0.2, 1.0]
    >>> round(float(f.inverse(0.6)), 9)
    100.0
    """

    t: float
    m: float
    bound_min: float | None = field(default=None, kw_only=True)
    bound_max: float | None = field(default=None, kw_only=True)
    gatingml_name: ClassVar[str] = "flog"

    def __post_init__(self) -> None:
        require_finite("Log", t=self.t, m=self.m)
        require(self.t > 0, "Log", "t", self.t, "t > 0")
        require(self.m > 0, "Log", "m", self.m, "m > 0")
        self._check_bounds()

    def __call__(self, x: Any) -> np.ndarray:
        """Transform data values ``x`` (NaN where ``x <= 0``)."""
        xa = as_float_array(x)
        positive = xa > 0
        safe = np.where(positive, xa, 1.0)
        y = np.where(positive, 1.0 + np.log10(safe / self.t) / self.m, np.nan)
        return self._clamp(y)

    def inverse(self, y: Any) -> np.ndarray:
        """Data values whose transform is ``y``."""
        with np.errstate(over="ignore"):
            return self.t * np.power(10.0, self.m * (as_float_array(y) - 1.0))


@dataclass(frozen=True)
class Asinh(BoundedTransform):
    """Gating-ML ``fasinh``: ``[asinh(x·sinh(M·ln10)/T) + A·ln10] / [(M + A)·ln10]``.

    ``T`` maps to 1 and data zero to ``A / (M + A)``. Parameters: ``t > 0``, ``m > 0``,
    ``0 <= a <= m``. For the common ``asinh(x / cofactor)`` use :meth:`from_cofactor`.

    Example
    -------
    >>> f = Asinh(1000.0, 4.0, a=1.0)
    >>> f([0.0, 1000.0]).round(6).tolist()
    [0.2, 1.0]
    >>> round(float(Asinh.from_cofactor(150.0)(300.0)), 12) == round(float(np.arcsinh(2.0)), 12)
    True
    """

    t: float
    m: float
    a: float = 0.0
    bound_min: float | None = field(default=None, kw_only=True)
    bound_max: float | None = field(default=None, kw_only=True)
    gatingml_name: ClassVar[str] = "fasinh"

    def __post_init__(self) -> None:
        require_finite("Asinh", t=self.t, m=self.m, a=self.a)
        require(self.t > 0, "Asinh", "t", self.t, "t > 0")
        require(self.m > 0, "Asinh", "m", self.m, "m > 0")
        require(0 <= self.a <= self.m, "Asinh", "a", self.a, f"0 <= a <= m (m={self.m!r})")
        self._check_bounds()

    @classmethod
    def from_cofactor(cls, cofactor: float, **bounds: float | None) -> Asinh:
        """``asinh(x / cofactor)`` as an fasinh: ``T = c·sinh(1)``, ``M = 1/ln 10``, ``A = 0``.

        Then ``(M + A)·ln 10 = 1`` and the formula reduces to ``asinh(x / c)`` (equal up to
        a few units in the last place). Typical cofactors: 150 for flow, 5 for mass cytometry.

        Example
        -------
        >>> f = Asinh.from_cofactor(5.0)
        >>> abs(float(f(50.0)) - float(np.arcsinh(10.0))) < 1e-14
        True
        """
        require_finite("Asinh.from_cofactor", cofactor=cofactor)
        require(cofactor > 0, "Asinh.from_cofactor", "cofactor", cofactor, "cofactor > 0")
        return cls(float(cofactor) * math.sinh(1.0), 1.0 / _LN10, 0.0, **bounds)

    def __call__(self, x: Any) -> np.ndarray:
        """Transform data values ``x``."""
        scale = math.sinh(self.m * _LN10) / self.t
        y = (np.arcsinh(as_float_array(x) * scale) + self.a * _LN10) / ((self.m + self.a) * _LN10)
        return self._clamp(y)

    def inverse(self, y: Any) -> np.ndarray:
        """Data values whose transform is ``y``."""
        inner = (self.m + self.a) * _LN10 * as_float_array(y) - self.a * _LN10
        with np.errstate(over="ignore"):
            return self.t * np.sinh(inner) / math.sinh(self.m * _LN10)


@dataclass(frozen=True)
class Ratio(BoundedTransform):
    """Gating-ML ``fratio``: ``A·(x1 − B) / (x2 − C)``, a new dimension from two channels.

    Call it as ``ratio(x1, x2)``. ``0/0`` gives NaN; ``nonzero/0`` gives ±inf (no warning).

    Example
    -------
    >>> r = Ratio(2.0, 1.0, 0.0)
    >>> r([3.0, 1.0, 5.0], [2.0, 0.0, 0.0]).tolist()
    [2.0, nan, inf]
    >>> r.inverse(2.0, 2.0).tolist()
    3.0
    """

    a: float
    b: float
    c: float
    bound_min: float | None = field(default=None, kw_only=True)
    bound_max: float | None = field(default=None, kw_only=True)
    gatingml_name: ClassVar[str] = "fratio"

    def __post_init__(self) -> None:
        require_finite("Ratio", a=self.a, b=self.b, c=self.c)
        self._check_bounds()

    def __call__(self, x1: Any, x2: Any) -> np.ndarray:
        """The ratio of the first channel's values ``x1`` to the second's ``x2``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            y = self.a * (as_float_array(x1) - self.b) / (as_float_array(x2) - self.c)
        return self._clamp(y)

    def inverse(self, y: Any, x2: Any) -> np.ndarray:
        """The first channel's value ``x1`` giving ratio ``y`` with second channel ``x2``."""
        if self.a == 0:
            from bcsc_flow.errors import TransformError

            raise TransformError("Ratio with a=0 is constant and has no inverse.")
        return as_float_array(y) * (as_float_array(x2) - self.c) / self.a + self.b
