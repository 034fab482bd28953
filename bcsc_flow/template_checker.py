"""The value checker of template validation: typed fields with messages naming file, key path, value.

Example
-------
>>> c = Checker("t.yaml")
>>> c.probability(0.5, "q")
0.5
>>> c.probability(2, "populations[0].gate.threshold.above.control_quantile.q")
Traceback (most recent call last):
...
bcsc_flow.errors.TemplateError: t.yaml: populations[0].gate.threshold.above.control_quantile.q = 2: expected a number strictly between 0 and 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bcsc_flow.errors import TemplateError, did_you_mean

__all__ = [
    "COMPENSATION",
    "CURRENT_SCHEMA",
    "MATCHES",
    "ROLE",
    "ROOT",
    "SCOPES",
    "TRANSFORM_PARAMS",
    "Checker",
    "Spec",
]

CURRENT_SCHEMA = 1
ROOT = "root"
SCOPES = ("per_sample", "per_batch", "fixed")
COMPENSATION = ("file", "controls", "none")
MATCHES = ("batch", "pair")
TRANSFORM_PARAMS: dict[str, tuple[str, ...]] = {
    "linear": ("T", "A"),
    "log": ("T", "M"),
    "asinh": ("T", "M", "A"),
    "logicle": ("T", "W", "M", "A"),
    "hyperlog": ("T", "W", "M", "A"),
}
ROLE = re.compile(r"^(unstained|deab|(fmo|isotype|single):(?P<marker>.+))$")

Spec = Callable[[Any, str], Any]


class Checker:
    """Validation helpers bound to one file name (for messages)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(
        self, path: str, value: Any, expected: str, choices: list[str] | None = None
    ) -> TemplateError:
        hint = did_you_mean(str(value), choices) if choices and isinstance(value, str) else ""
        return TemplateError(f"{self.source}: {path} = {value!r}: {expected}.{hint}")

    def mapping(
        self, value: Any, path: str, fields: Mapping[str, tuple[Spec, bool, Any]]
    ) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, value, "expected a mapping (key: value)")
        out: dict[str, Any] = {}
        for key in value:
            if key not in fields:
                allowed = ", ".join(fields)
                raise TemplateError(
                    f"{self.source}: {path}.{key}: unknown key {key!r}; allowed keys: {allowed}."
                    f"{did_you_mean(str(key), fields)}"
                )
        for key, (spec, required, default) in fields.items():
            sub = f"{path}.{key}" if path else key
            if key in value and value[key] is not None:
                out[key] = spec(value[key], sub)
            elif required:
                raise TemplateError(f"{self.source}: {sub}: required key is missing.")
            elif default is not None:
                out[key] = default() if callable(default) else default
        return out

    def text(self, value: Any, path: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path, value, "expected text")
        text = str(value).strip()
        if not text:
            raise self.fail(path, value, "expected non-empty text")
        return text

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, value, "expected a number")
        return float(value)

    def probability(self, value: Any, path: str) -> float:
        q = self.number(value, path)
        if not 0.0 < q < 1.0:
            raise self.fail(path, value, "expected a number strictly between 0 and 1")
        return q

    def positive_int(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(path, value, "expected a whole number >= 1")
        return int(value)

    def flag(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, value, "expected true or false")
        return value

    def choice(self, options: tuple[str, ...]) -> Spec:
        def check(value: Any, path: str) -> str:
            if value not in options:
                raise self.fail(path, value, f"allowed: {', '.join(options)}", list(options))
            return str(value)

        return check

    def listof(self, spec: Spec, *, min_len: int = 0, max_len: int | None = None) -> Spec:
        def check(value: Any, path: str) -> list[Any]:
            if isinstance(value, str) or not isinstance(value, list | tuple):
                raise self.fail(path, value, "expected a list")
            if len(value) < min_len or (max_len is not None and len(value) > max_len):
                span = f"{min_len}" if max_len == min_len else f"{min_len} to {max_len or 'any'}"
                raise self.fail(path, value, f"expected a list of {span} items")
            return [spec(v, f"{path}[{i}]") for i, v in enumerate(value)]

        return check

    def pair(self, value: Any, path: str) -> list[float]:
        lo, hi = self.listof(self.number, min_len=2, max_len=2)(value, path)
        if not lo < hi:
            raise self.fail(path, value, "expected [low, high] with low < high")
        return [lo, hi]
