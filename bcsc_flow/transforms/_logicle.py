"""Logicle, hyperlog (Gating-ML 2.0) and FlowJo's biexponential scale."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from bcsc_flow.transforms._base import BoundedTransform, as_float_array, require, require_finite
from bcsc_flow.transforms._biexp import BiexpCurve, solve_d

__all__ = ["FlowJoBiex", "Hyperlog", "Logicle"]

_LN10 = math.log(10.0)


class _CurveTransform(BoundedTransform):
    """A scale ``y = x1 + B⁻¹(x)`` around the data-zero point ``x1``, scaled by ``scale``."""

    _curve: BiexpCurve
    _x1: float
    _scale: float = 1.0

    def __call__(self, x: Any) -> np.ndarray:
        """Transform data values ``x`` (vectorised root finding, float64)."""
        u = self._curve.solve(as_float_array(x))
        return self._clamp(self._x1 + self._scale * u)

    def inverse(self, y: Any) -> np.ndarray:
        """Data values whose transform is ``y`` (bounds are not undone)."""
        return self._curve.value((as_float_array(y) - self._x1) / self._scale)

    @property
    def zero(self) -> float:
        """The transformed value of data zero."""
        return self._x1


def _set(obj: object, **values: Any) -> None:
    for key, value in values.items():
        object.__setattr__(obj, key, value)


def _check_logicle_family(name: str, t: float, w: float, m: float, a: float, w_min: str) -> None:
    require_finite(name, t=t, w=w, m=m, a=a)
    require(t > 0, name, "t", t, "t > 0")
    require(m > 0, name, "m", m, "m > 0")
    w_ok = w > 0 if w_min == ">" else w >= 0
    require(
        w_ok and w <= m / 2, name, "w", w, f"{'0 <' if w_min == '>' else '0 <='} w <= m/2 (m={m!r})"
    )
    require(-w <= a <= m - 2 * w, name, "a", a, f"-w <= a <= m - 2w (w={w!r}, m={m!r})")


def _family_constants(w: float, m: float, a: float) -> tuple[float, float, float, float]:
    """``w, x1, x0, b`` shared by logicle and hyperlog (Gating-ML 2.0 notation)."""
    m, a = float(m), float(a)
    w = float(w) / (m + a)
    x1 = a / (m + a) + w
    return w, x1, x1 + w, (m + a) * _LN10


@dataclass(frozen=True)
class Logicle(_CurveTransform):
    """Gating-ML ``logicle(T, W, M, A)``: the root ``y`` of ``B(y) = x`` (Parks & Moore).

    ``T`` maps to 1, data zero to ``(W + A)/(M + A)``; negative values use the odd
    reflection of ``B`` about data zero, as the specification's tables require.
    Parameters: ``t > 0``, ``m > 0``, ``0 <= w <= m/2``, ``-w <= a <= m - 2w``.

    Example
    -------
    >>> f = Logicle(1000.0, 1.0, 4.0, 0.0)
    >>> f([-10.0, 0.0, 10.0, 1000.0]).round(6).tolist()
    [0.067574, 0.25, 0.432426, 1.0]
    >>> round(float(f.inverse(f(123.0))), 9)
    123.0
    """

    t: float
    w: float
    m: float
    a: float = 0.0
    bound_min: float | None = field(default=None, kw_only=True)
    bound_max: float | None = field(default=None, kw_only=True)
    gatingml_name: ClassVar[str] = "logicle"

    def __post_init__(self) -> None:
        _check_logicle_family("Logicle", self.t, self.w, self.m, self.a, ">=")
        self._check_bounds()
        t = float(self.t)
        w, x1, x0, b = _family_constants(self.w, self.m, self.a)
        d = solve_d(b, w)
        ca = math.exp(x0 * (b + d))
        fa = math.exp(b * x1) - ca * math.exp(-d * x1)
        scale_a = t / (math.exp(b) - fa - ca * math.exp(-d))
        curve = BiexpCurve(
            scale_a * math.exp(b * x1), b, scale_a * ca * math.exp(-d * x1), d, 0.0, x_top=t
        )
        _set(self, _curve=curve, _x1=x1)

    @property
    def constants(self) -> dict[str, float]:
        """The constants ``a, b, c, d, f, x1`` of ``B(y) = a·e^{by} − c·e^{−dy} − f``.

        Example
        -------
        >>> {k: round(v, 6) for k, v in Logicle.typical().constants.items()}["d"]
        4.530271
        """
        k, x1 = self._curve, self._x1
        a = k.A * math.exp(-k.b * x1)
        c = k.C * math.exp(k.d * x1)
        return {"a": a, "b": k.b, "c": c, "d": k.d, "f": k.A - k.C, "x1": x1}

    @classmethod
    def typical(cls, t: float = 262144.0, **bounds: float | None) -> Logicle:
        """The usual setting for 18-bit data: ``T = 262144, W = 0.5, M = 4.5, A = 0``.

        Example
        -------
        >>> round(float(Logicle.typical()(1000.0)), 6)
        0.454338
        """
        return cls(t, 0.5, 4.5, 0.0, **bounds)

    @classmethod
    def from_data(
        cls,
        values: Any,
        *,
        t: float = 262144.0,
        m: float = 4.5,
        a: float = 0.0,
        percentile: float = 5.0,
    ) -> Logicle:
        """Logicle with ``W`` estimated from the data: ``W = (M − log10(T/|r|)) / 2``.

        ``r`` is the given low percentile of ``values``; when it is not negative ``W = 0``.
        ``W`` is clipped to ``[0, M/2]`` (and to ``M - 2W >= A``).

        Example
        -------
        >>> Logicle.from_data([-1000.0, 10.0, 5000.0], percentile=0).w
        1.040730039024
        """
        r = float(np.nanpercentile(as_float_array(values), percentile))
        w = 0.0 if r >= 0 else (m - math.log10(t / abs(r))) / 2.0
        w = min(max(w, 0.0), m / 2.0, (m - a) / 2.0)
        return cls(t, round(w, 12), m, a)


@dataclass(frozen=True)
class Hyperlog(_CurveTransform):
    """Gating-ML ``hyperlog(T, W, M, A)``: the root ``y`` of ``EH(y) = x`` (Bagwell).

    ``EH(y) = a·e^{b·y} + c·y − f`` above data zero, reflected oddly below it.
    Parameters: ``t > 0``, ``m > 0``, ``0 < w <= m/2``, ``-w <= a <= m - 2w``.

    Example
    -------
    >>> f = Hyperlog(1000.0, 1.0, 4.0, 0.0)
    >>> f([-10.0, 0.0, 10.0, 1000.0]).round(6).tolist()
    [0.083554, 0.25, 0.416446, 1.0]
    """

    t: float
    w: float
    m: float
    a: float = 0.0
    bound_min: float | None = field(default=None, kw_only=True)
    bound_max: float | None = field(default=None, kw_only=True)
    gatingml_name: ClassVar[str] = "hyperlog"

    def __post_init__(self) -> None:
        _check_logicle_family("Hyperlog", self.t, self.w, self.m, self.a, ">")
        self._check_bounds()
        t = float(self.t)
        w, x1, x0, b = _family_constants(self.w, self.m, self.a)
        ca = math.exp(b * x0) / w
        fa = math.exp(b * x1) + ca * x1
        scale_a = t / (math.exp(b) + ca - fa)
        curve = BiexpCurve(scale_a * math.exp(b * x1), b, 0.0, 0.0, scale_a * ca, x_top=t)
        _set(self, _curve=curve, _x1=x1)


@dataclass(frozen=True)
class FlowJoBiex(_CurveTransform):
    """FlowJo 10's "biex" display scale, as continuous function (no lookup-table steps).

    Output is on FlowJo's **channel scale**: data zero and the top ``max_value`` map to
    channels on a ``channel_range``-channel axis (0…4096 by default; FlowJo's lookup
    table row ``i`` maps ``lookup[i]`` to ``i``). Divide by ``channel_range`` for ``[0, 1]``.
    ``width`` is FlowJo's (negative) width basis, ``neg``/``pos`` its negative and positive
    decades. Values beyond the table's ends are extrapolated, not clamped; pass
    ``bound_min=0, bound_max=4095`` to pile them on the edges as FlowJo draws them.
    The curve is a logicle-type biexponential with FlowJo's own parametrisation
    (zero channel rounded down to an integer, ``channel_range + 1`` grid points).

    Example
    -------
    >>> f = FlowJoBiex()
    >>> f([0.0, 262144.0]).round(1).tolist()
    [463.0, 4096.8]
    """

    max_value: float = 262144.0
    width: float = -10.0
    neg: float = 0.0
    pos: float = 4.41854
    channel_range: int = 4096
    bound_min: float | None = field(default=None, kw_only=True)
    bound_max: float | None = field(default=None, kw_only=True)
    gatingml_name: ClassVar[str] = "biex"

    def __post_init__(self) -> None:
        name = "FlowJoBiex"
        require_finite(name, max_value=self.max_value, width=self.width, neg=self.neg, pos=self.pos)
        require(self.max_value > 0, name, "max_value", self.max_value, "max_value > 0")
        require(self.width <= -1, name, "width", self.width, "width <= -1 (FlowJo's width basis)")
        require(self.neg >= 0, name, "neg", self.neg, "neg >= 0")
        require(self.pos > 0, name, "pos", self.pos, "pos > 0")
        require(
            isinstance(self.channel_range, int) and self.channel_range >= 2,
            name, "channel_range", self.channel_range, "an integer >= 2",
        )  # fmt: skip
        self._check_bounds()
        n_channels = self.channel_range
        width_decades = math.log10(-self.width)
        decades = self.pos - width_decades / 2.0
        extra = self.neg + width_decades / 2.0
        zero = min(int(extra * n_channels / (extra + decades)), n_channels // 2)
        if zero > 0:
            decades = extra * n_channels / zero
        w = width_decades / (2.0 * decades)
        b = _LN10 * decades
        d = solve_d(b, w)
        lowest = self.max_value / math.exp(b)
        s = math.exp((b + d) * (w + extra / decades))
        points = n_channels + 1  # grid point i sits at y = i / points
        y0 = zero / points
        curve = BiexpCurve(
            lowest * math.exp(b * y0),
            b,
            lowest * s * math.exp(-d * y0),
            d,
            0.0,
            x_top=self.max_value,
        )
        _set(self, _curve=curve, _x1=float(zero), _scale=float(points))
