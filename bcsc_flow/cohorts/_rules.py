"""Specimen calls: rules as plain data, applied to a populations table.

Example
-------
>>> parse_rule(["BCSC:pct_of_parent>=5", "HER2+ BCSC:count>=20"]).to_dict()["all"][1]["metric"]
'count'
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bcsc_flow.errors import ComparisonError, did_you_mean

__all__ = ["AllOf", "AnyOf", "Rule", "RuleLike", "call_specimens", "parse_rule"]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_COMPACT = re.compile(
    r"^\s*(?P<population>.+?)\s*:\s*(?P<metric>[A-Za-z_]\w*)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<threshold>\S+)\s*$"
)
_POPULATION_COLUMNS = {
    "population",
    "parent",
    "count",
    "parent_count",
    "total_count",
    "pct_of_parent",
    "pct_of_total",
}


@dataclass(frozen=True)
class Rule:
    """``population``'s ``metric`` compared with ``threshold`` by ``op`` (>=, >, <=, <, ==, !=).

    ``metric`` is any numeric column of the populations table: ``pct_of_parent``,
    ``pct_of_total`` (percent) or ``count`` (events).

    Example
    -------
    >>> Rule("HER2+ BCSC", "count", ">=", 50).describe()
    'HER2+ BCSC count >= 50'
    """

    population: str
    metric: str = "pct_of_parent"
    op: str = ">="
    threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ComparisonError(f"rule operator {self.op!r} is not one of {', '.join(_OPS)}")
        try:
            float(self.threshold)
        except (TypeError, ValueError):
            raise ComparisonError(
                f"rule threshold must be a number, got {self.threshold!r}"
            ) from None

    def leaves(self) -> tuple[Rule, ...]:
        """The simple rules inside (here: itself)."""
        return (self,)

    def label(self) -> str:
        """Column name for this rule's value: ``"<population> <metric>"``."""
        return f"{self.population} {self.metric}"

    def describe(self) -> str:
        """Human-readable text of the rule."""
        return f"{self.population} {self.metric} {self.op} {self.threshold:g}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (YAML/JSON-able); :func:`parse_rule` reads it back."""
        return {
            "population": self.population,
            "metric": self.metric,
            "op": self.op,
            "threshold": float(self.threshold),
        }

    def evaluate(self, values: Mapping[str, pd.Series]) -> pd.Series:
        """Boolean (nullable) call per specimen from the value columns."""
        value = values[self.label()]
        called = _OPS[self.op](value, float(self.threshold)).astype("boolean")
        return called.mask(value.isna())


@dataclass(frozen=True)
class AllOf:
    """Positive when every rule holds (missing values make the call missing unless one fails).

    Example
    -------
    >>> AllOf((Rule("BCSC", threshold=1.0), Rule("HER2+", threshold=2.0))).describe()
    '(BCSC pct_of_parent >= 1 and HER2+ pct_of_parent >= 2)'
    """

    rules: tuple[RuleLike, ...]

    def leaves(self) -> tuple[Rule, ...]:
        """Every simple rule inside, in order."""
        return tuple(leaf for r in self.rules for leaf in r.leaves())

    def describe(self) -> str:
        """Human-readable text of the rule."""
        return "(" + " and ".join(r.describe() for r in self.rules) + ")"

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"all": [...]}``."""
        return {"all": [r.to_dict() for r in self.rules]}

    def evaluate(self, values: Mapping[str, pd.Series]) -> pd.Series:
        """Kleene AND of the rules' calls."""
        calls = [r.evaluate(values) for r in self.rules]
        out = calls[0]
        for c in calls[1:]:
            out = out & c
        return out


@dataclass(frozen=True)
class AnyOf:
    """Positive when at least one rule holds.

    Example
    -------
    >>> AnyOf((Rule("BCSC", threshold=1.0), Rule("ALDH+", threshold=2.0))).to_dict()["any"][1]["population"]
    'ALDH+'
    """

    rules: tuple[RuleLike, ...]

    def leaves(self) -> tuple[Rule, ...]:
        """Every simple rule inside, in order."""
        return tuple(leaf for r in self.rules for leaf in r.leaves())

    def describe(self) -> str:
        """Human-readable text of the rule."""
        return "(" + " or ".join(r.describe() for r in self.rules) + ")"

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"any": [...]}``."""
        return {"any": [r.to_dict() for r in self.rules]}

    def evaluate(self, values: Mapping[str, pd.Series]) -> pd.Series:
        """Kleene OR of the rules' calls."""
        calls = [r.evaluate(values) for r in self.rules]
        out = calls[0]
        for c in calls[1:]:
            out = out | c
        return out


RuleLike = Rule | AllOf | AnyOf
"""A simple rule or a combination of rules."""


def parse_rule(spec: Any) -> RuleLike:
    """Build a rule from plain data.

    Accepts a :class:`Rule`/:class:`AllOf`/:class:`AnyOf`; a dict ``{"population", "metric",
    "op", "threshold"}`` (``metric`` defaults to ``pct_of_parent``, ``op`` to ``>=``); a dict
    ``{"all": [...]}`` or ``{"any": [...]}``; a compact string
    ``"POPULATION:METRIC OP THRESHOLD"``; or a list (all must hold).

    Example
    -------
    >>> parse_rule({"any": ["BCSC:pct_of_parent>=5", {"population": "ALDH+", "threshold": 2}]}).describe()
    '(BCSC pct_of_parent >= 5 or ALDH+ pct_of_parent >= 2)'
    """
    if isinstance(spec, Rule | AllOf | AnyOf):
        return spec
    if isinstance(spec, str):
        match = _COMPACT.match(spec)
        if not match:
            raise ComparisonError(
                f"cannot read rule {spec!r}; expected 'POPULATION:METRIC OP THRESHOLD', "
                "e.g. 'HER2+ BCSC:pct_of_parent>=1'"
            )
        return Rule(match["population"], match["metric"], match["op"], _number(match["threshold"]))
    if isinstance(spec, Sequence):
        return _combine(AllOf, list(spec))
    if isinstance(spec, Mapping):
        keys = set(spec)
        if keys == {"all"}:
            return _combine(AllOf, list(spec["all"]))
        if keys == {"any"}:
            return _combine(AnyOf, list(spec["any"]))
        unknown = keys - {"population", "metric", "op", "threshold"}
        if unknown or "population" not in spec or "threshold" not in spec:
            raise ComparisonError(
                f"rule {dict(spec)!r} needs the keys population and threshold (optional: metric, "
                f"op), or a single key all/any; unexpected: {', '.join(sorted(unknown)) or 'none'}"
            )
        return Rule(
            str(spec["population"]),
            str(spec.get("metric", "pct_of_parent")),
            str(spec.get("op", ">=")),
            _number(spec["threshold"]),
        )
    raise ComparisonError(f"cannot read a rule from {type(spec).__name__} {spec!r}")


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ComparisonError(f"rule threshold must be a number, got {value!r}") from None


def _combine(kind: type[AllOf] | type[AnyOf], items: list[Any]) -> RuleLike:
    if not items:
        raise ComparisonError(f"an {kind.__name__} rule needs at least one rule")
    rules = tuple(parse_rule(item) for item in items)
    return rules[0] if len(rules) == 1 else kind(rules)


def call_specimens(populations: pd.DataFrame, rule: Any) -> pd.DataFrame:
    """Call each specimen (sample) positive or negative by ``rule``.

    Returns one row per sample: ``sample``, ``positive`` (nullable boolean; missing when a
    needed population or value is absent and the rule cannot be decided), one column per
    simple rule with the value that drove the call (named ``"<population> <metric>"``),
    ``rule`` (its text), ``note``, and the sample-sheet columns (``cohort``, ``condition``,
    ...). Control rows (a ``role`` other than ``test``) are left out.

    Example
    -------
    >>> table = pd.DataFrame({"sample": ["s1", "s2"], "population": ["HER2+ BCSC"] * 2,
    ...                       "pct_of_parent": [2.5, 0.4], "cohort": ["recurrent", "primary"]})
    >>> calls = call_specimens(table, "HER2+ BCSC:pct_of_parent>=1")
    >>> calls[["sample", "positive", "HER2+ BCSC pct_of_parent", "cohort"]].values.tolist()
    [['s1', True, 2.5, 'recurrent'], ['s2', False, 0.4, 'primary']]
    """
    parsed = parse_rule(rule)
    missing = [c for c in ("sample", "population") if c not in populations.columns]
    if missing:
        raise ComparisonError(f"populations table lacks column(s) {', '.join(missing)}")
    table = populations
    if "role" in table.columns:
        roles = table["role"].fillna("").astype(str).str.strip().str.lower()
        table = table[roles.isin(["", "test"])]
    samples = pd.Index(pd.unique(table["sample"]), name="sample")
    present = set(table["population"])
    values: dict[str, pd.Series] = {}
    notes = pd.Series("", index=samples, dtype=object)
    for leaf in parsed.leaves():
        if leaf.metric not in table.columns:
            raise ComparisonError(
                f"rule metric {leaf.metric!r} is not a column of the populations table."
                f"{did_you_mean(leaf.metric, table.columns)}"
            )
        if leaf.population not in present:
            raise ComparisonError(
                f"rule population {leaf.population!r} is not in the populations table."
                f"{did_you_mean(leaf.population, map(str, present))}"
            )
        rows = table[table["population"] == leaf.population].drop_duplicates("sample")
        value = pd.to_numeric(rows.set_index("sample")[leaf.metric], errors="coerce").reindex(
            samples
        )
        values[leaf.label()] = value
        lacking = value.index[value.isna()]
        notes[lacking] = notes[lacking] + f"no {leaf.label()}; "
    out = pd.DataFrame({"sample": samples, "positive": parsed.evaluate(values).to_numpy()})
    for label, value in values.items():
        out[label] = value.to_numpy()
    out["rule"] = parsed.describe()
    out["note"] = notes.str.rstrip("; ").to_numpy()
    sheet = [
        c
        for c in table.columns
        if c not in _POPULATION_COLUMNS and c != "sample" and c not in out.columns
    ]
    per_sample = table.drop_duplicates("sample").set_index("sample")[sheet].reindex(samples)
    return pd.concat([out, per_sample.reset_index(drop=True)], axis=1)
