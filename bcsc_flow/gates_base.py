"""The gate protocol and boolean gates (``&``, ``|``, ``~``).

Every gate is a frozen, hashable value that knows its dimensions and computes its own
region from an :class:`~bcsc_flow._evaluation.EvaluationContext` (or directly from a
:class:`~bcsc_flow.sample.Sample` through :meth:`Gate.mask`). Boolean gates combine
other gates or *names* of populations; names are resolved by the gating strategy, where
an operand's membership includes its own parent chain.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> from bcsc_flow.gates import Range
>>> s = Sample.from_array(np.array([[1.0], [5.0], [9.0]]), ["A"])
>>> (Range("A", 2, 8) | Range("A", 9, 10)).mask(s).tolist()
[False, True, True]
>>> (~Range("A", 2, 8)).mask(s).tolist()
[True, False, True]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from bcsc_flow._evaluation import EvaluationContext
from bcsc_flow.errors import GateError

if TYPE_CHECKING:
    from bcsc_flow.dimensions import Dimension, RatioDimension
    from bcsc_flow.sample import Sample

__all__ = ["Gate", "And", "Or", "Not", "Operand", "context_for"]


def context_for(data: Any, spillovers: Mapping[str, Any] | None = None) -> EvaluationContext:
    """An evaluation context for a Sample (new) or an existing context (returned as is).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> context_for(Sample.from_array(np.zeros((2, 1)), ["A"])).n_events
    2
    """
    if isinstance(data, EvaluationContext):
        return data
    from bcsc_flow.sample import Sample

    if isinstance(data, Sample):
        return EvaluationContext(data, spillovers)
    raise GateError(f"A gate is evaluated on a Sample, got {type(data).__name__}.")


class Gate:
    """Base class of all gates: a region in the space of some dimensions.

    Subclasses implement :meth:`region` and :attr:`dimensions`; everything else
    (``mask``, ``&``, ``|``, ``~``) comes from here.

    Example
    -------
    >>> from bcsc_flow.gates import Threshold
    >>> g = Threshold("A", above=1) & Threshold("B", below=2)
    >>> type(g).__name__, [d.channel for d in g.dimensions]
    ('And', ['A', 'B'])
    """

    __slots__ = ()

    # Every subclass provides ``dimensions``: the dimensions it reads, in order, without
    # duplicates (a dataclass field or a property; not declared here so that dataclass
    # subclasses can make it a field).
    dimensions: tuple[Dimension | RatioDimension, ...]

    @property
    def references(self) -> frozenset[str]:
        """Names of populations this gate refers to (boolean operands given by name)."""
        return frozenset()

    def region(self, context: EvaluationContext) -> np.ndarray:
        """This gate's own membership (no parent) as a boolean array."""
        raise NotImplementedError

    def mask(
        self, data: Sample | EvaluationContext, *, spillovers: Mapping[str, Any] | None = None
    ) -> np.ndarray:
        """Boolean membership of every event of a Sample (or of an evaluation context).

        ``spillovers`` supplies named matrices for dimensions that use them.
        """
        return self.region(context_for(data, spillovers))

    def describe(self) -> str:
        """One-line description used by ``str(strategy)``."""
        return repr(self)

    def __and__(self, other: Operand) -> And:
        return And(self, other)

    def __rand__(self, other: Operand) -> And:
        return And(other, self)

    def __or__(self, other: Operand) -> Or:
        return Or(self, other)

    def __ror__(self, other: Operand) -> Or:
        return Or(other, self)

    def __invert__(self) -> Gate:
        return Not(self)


Operand = Union[Gate, str]  # noqa: UP007 - used at runtime in isinstance checks below


def _check_operand(owner: str, operand: Any) -> Operand:
    if isinstance(operand, Gate):
        return operand
    if isinstance(operand, str) and operand:
        return operand
    raise GateError(
        f"{owner}: operands must be gates or population names, got {operand!r}"
        f" ({type(operand).__name__})."
    )


def _operand_mask(operand: Operand, context: EvaluationContext) -> np.ndarray:
    if isinstance(operand, str):
        return context.population(operand)
    return context.region(operand)


def _operand_text(operand: Operand) -> str:
    if isinstance(operand, str):
        return repr(operand)
    return operand.describe()


class _Combination(Gate):
    """Shared code of And/Or: a flat tuple of at least two operands."""

    __slots__ = ()
    operands: tuple[Operand, ...]
    _symbol = ""

    def _init(self, operands: tuple[Any, ...]) -> None:
        name = type(self).__name__
        flat: list[Operand] = []
        for op in operands:
            checked = _check_operand(name, op)
            if type(checked) is type(self):
                flat.extend(checked.operands)  # type: ignore[attr-defined]
            else:
                flat.append(checked)
        if len(flat) < 2:
            raise GateError(f"{name} needs at least two operands, got {len(flat)}.")
        object.__setattr__(self, "operands", tuple(flat))

    @property
    def dimensions(self) -> tuple[Dimension | RatioDimension, ...]:
        seen: dict[Any, None] = {}
        for op in self.operands:
            if isinstance(op, Gate):
                seen.update(dict.fromkeys(op.dimensions))
        return tuple(seen)

    @property
    def references(self) -> frozenset[str]:
        refs: set[str] = set()
        for op in self.operands:
            refs |= {op} if isinstance(op, str) else op.references
        return frozenset(refs)

    def describe(self) -> str:
        return f" {self._symbol} ".join(
            f"({_operand_text(op)})" if isinstance(op, _Combination) else _operand_text(op)
            for op in self.operands
        )


@dataclass(frozen=True, init=False)
class And(_Combination):
    """Events inside every operand; ``a & b`` builds one.

    Example
    -------
    >>> And("CD44+", "CD24-").references == {"CD44+", "CD24-"}
    True
    """

    operands: tuple[Operand, ...]
    _symbol = "&"

    def __init__(self, *operands: Operand) -> None:
        self._init(operands)

    def region(self, context: EvaluationContext) -> np.ndarray:
        out = _operand_mask(self.operands[0], context).copy()
        for op in self.operands[1:]:
            out &= _operand_mask(op, context)
        return out


@dataclass(frozen=True, init=False)
class Or(_Combination):
    """Events inside at least one operand; ``a | b`` builds one.

    Example
    -------
    >>> Or("A", "B", "C").operands
    ('A', 'B', 'C')
    """

    operands: tuple[Operand, ...]
    _symbol = "|"

    def __init__(self, *operands: Operand) -> None:
        self._init(operands)

    def region(self, context: EvaluationContext) -> np.ndarray:
        out = _operand_mask(self.operands[0], context).copy()
        for op in self.operands[1:]:
            out |= _operand_mask(op, context)
        return out


@dataclass(frozen=True)
class Not(Gate):
    """Events outside the operand; ``~gate`` builds one (and ``~~gate`` is ``gate``).

    Example
    -------
    >>> Not("debris").references == {"debris"}
    True
    """

    operand: Operand

    def __post_init__(self) -> None:
        _check_operand("Not", self.operand)

    @property
    def dimensions(self) -> tuple[Dimension | RatioDimension, ...]:
        return self.operand.dimensions if isinstance(self.operand, Gate) else ()

    @property
    def references(self) -> frozenset[str]:
        if isinstance(self.operand, str):
            return frozenset({self.operand})
        return self.operand.references

    def region(self, context: EvaluationContext) -> np.ndarray:
        return ~_operand_mask(self.operand, context)

    def describe(self) -> str:
        inner = _operand_text(self.operand)
        return f"~({inner})" if isinstance(self.operand, _Combination) else f"~{inner}"

    def __invert__(self) -> Gate:
        if isinstance(self.operand, str):
            return Not(Not(self.operand))  # a name cannot stand alone as a gate
        return self.operand
