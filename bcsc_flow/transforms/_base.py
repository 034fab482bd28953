"""Shared pieces of the transform classes: input coercion, bounds, parameter checks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bcsc_flow.errors import TransformError

__all__ = ["BoundedTransform", "as_float_array", "require"]


def as_float_array(x: Any) -> np.ndarray:
    """``x`` as a float64 array (a copy only when needed)."""
    return np.asarray(x, dtype=np.float64)


def require(ok: bool, transform: str, parameter: str, value: float, allowed: str) -> None:
    """Raise :class:`TransformError` naming the parameter, its value and the allowed range."""
    if not ok:
        raise TransformError(
            f"{transform}: parameter {parameter}={value!r} is out of range; allowed: {allowed}."
        )


def require_finite(transform: str, **params: float) -> None:
    """Every parameter must be a finite real number."""
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
            raise TransformError(
                f"{transform}: parameter {name} must be a real number, got {type(value).__name__} {value!r}."
            )
        if not math.isfinite(float(value)):
            raise TransformError(f"{transform}: parameter {name}={value!r} must be finite.")


class BoundedTransform:
    """Mixin: Gating-ML ``boundMin``/``boundMax`` clamping applied after the transform.

    Subclasses are frozen dataclasses with keyword-only ``bound_min``/``bound_max`` fields
    and implement ``_forward``; NaN stays NaN through the clamp.
    """

    gatingml_name: str = ""
    bound_min: float | None
    bound_max: float | None

    def _check_bounds(self) -> None:
        name = type(self).__name__
        for label in ("bound_min", "bound_max"):
            value = getattr(self, label)
            if value is not None:
                require_finite(name, **{label: value})
        if self.bound_min is not None and self.bound_max is not None:
            require(
                self.bound_min <= self.bound_max,
                name,
                "bound_min",
                self.bound_min,
                f"bound_min <= bound_max ({self.bound_max!r})",
            )

    def _clamp(self, y: np.ndarray) -> np.ndarray:
        if self.bound_max is not None:
            y = np.minimum(y, self.bound_max)
        if self.bound_min is not None:
            y = np.maximum(y, self.bound_min)
        return y
