"""Exception and warning classes of bcsc_flow, and the one helper that emits warnings.

Every error the library raises is a :class:`BcscFlowError` and also the matching
built-in exception, so ``except ValueError`` keeps working for callers that do not
know our types.

Example
-------
>>> from bcsc_flow.errors import FCSError, BcscFlowError
>>> issubclass(FCSError, ValueError) and issubclass(FCSError, BcscFlowError)
True
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Iterable

__all__ = [
    "BcscFlowError",
    "FCSError",
    "FCSFormatError",
    "FCSTruncatedError",
    "FCSUnsupportedError",
    "FCSFileNotFoundError",
    "FCSWriteError",
    "ChannelNotFoundError",
    "SampleError",
    "CompensationError",
    "TransformError",
    "GateError",
    "StrategyError",
    "GatingMLError",
    "FlowJoError",
    "TemplateError",
    "SheetError",
    "RecipeError",
    "ComparisonError",
    "SimulationError",
    "SortingError",
    "OptionalDependencyError",
    "BcscFlowWarning",
    "FCSWarning",
    "CompensationWarning",
    "GatingWarning",
    "QCWarning",
    "StatisticsWarning",
    "SheetWarning",
    "TemplateWarning",
    "warn",
    "did_you_mean",
]


class BcscFlowError(Exception):
    """Base class of every error raised by bcsc_flow.

    Example
    -------
    >>> import bcsc_flow as bf
    >>> try:
    ...     bf.read_fcs("no/such/file.fcs")
    ... except bf.BcscFlowError as exc:
    ...     print(type(exc).__name__, isinstance(exc, FileNotFoundError))
    FCSFileNotFoundError True
    """


class FCSError(BcscFlowError, ValueError):
    """An FCS file could not be read or written as asked.

    Example
    -------
    >>> issubclass(FCSError, ValueError)
    True
    """


class FCSFormatError(FCSError):
    """The bytes of an FCS file break the format (bad HEADER, TEXT or DATA)."""


class FCSTruncatedError(FCSFormatError):
    """An FCS file ends before a segment it announces (e.g. DATA beyond end of file)."""


class FCSFileNotFoundError(FCSError, FileNotFoundError):
    """The FCS file to read does not exist (also a :class:`FileNotFoundError`)."""


class FCSUnsupportedError(FCSError):
    """A valid but unsupported FCS feature (e.g. histogram ``$MODE`` C/U, FCS 1.0)."""


class FCSWriteError(FCSError):
    """An FCS file could not be written (bad input, or refusing to overwrite)."""


class SampleError(BcscFlowError, ValueError):
    """Events and channels of a sample do not fit together (shape, mask, column choice)."""


class ChannelNotFoundError(BcscFlowError, KeyError):
    """A channel or marker name matched no channel, or more than one.

    Example
    -------
    >>> from bcsc_flow.sample import Sample
    >>> try:
    ...     Sample.from_array([[1.0]], ["APC-A"], markers=["CD44"], name="s")["CD4"]
    ... except KeyError as exc:
    ...     print(str(exc).split(".")[0])
    Sample 's': no channel or marker 'CD4'
    """

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class CompensationError(BcscFlowError, ValueError):
    """A spillover matrix is missing, malformed or does not fit the data."""


class TransformError(BcscFlowError, ValueError):
    """A transformation has invalid parameters or input."""


class GateError(BcscFlowError, ValueError):
    """A gate is malformed (e.g. an empty polygon, min >= max)."""


class StrategyError(BcscFlowError, ValueError):
    """A gating strategy is inconsistent (unknown parent, cycle, duplicate name)."""


class GatingMLError(BcscFlowError, ValueError):
    """A Gating-ML document is invalid, unsafe or unsupported."""


class FlowJoError(BcscFlowError, ValueError):
    """A FlowJo workspace could not be read."""


class TemplateError(BcscFlowError, ValueError):
    """A gating template is invalid."""


class SheetError(BcscFlowError, ValueError):
    """A sample sheet is invalid or does not match its folder."""


class RecipeError(BcscFlowError, ValueError):
    """A data-driven gate could not be resolved from its data or controls."""


class ComparisonError(BcscFlowError, ValueError):
    """A comparison between conditions cannot be computed as asked."""


class SimulationError(BcscFlowError, ValueError):
    """A simulation was asked for with invalid parameters."""


class SortingError(BcscFlowError, ValueError):
    """Sort figures (events, recoveries, purities, rates) are invalid or inconsistent."""


class OptionalDependencyError(BcscFlowError, ImportError):
    """An optional extra (e.g. anndata, dask) is needed for this call but not installed."""


class BcscFlowWarning(UserWarning):
    """Base class of every warning emitted by bcsc_flow.

    Example
    -------
    >>> import warnings
    >>> warnings.filterwarnings("ignore", category=BcscFlowWarning)  # silence them all
    >>> warnings.resetwarnings()
    """


class FCSWarning(BcscFlowWarning):
    """An FCS file deviates from the standard in a way the reader tolerated."""


class CompensationWarning(BcscFlowWarning):
    """Something about compensation deserves attention (e.g. data look compensated)."""


class GatingWarning(BcscFlowWarning):
    """Gating succeeded but something deserves attention."""


class QCWarning(BcscFlowWarning):
    """A quality-control expectation was not met."""


class StatisticsWarning(BcscFlowWarning):
    """A statistical result should be read with care (few replicates, small counts)."""


class TemplateWarning(BcscFlowWarning):
    """A template was read leniently (e.g. an older schema upgraded)."""


class SheetWarning(BcscFlowWarning):
    """A sample sheet was inferred, or a sheet entry was interpreted leniently."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _external_stacklevel() -> int:
    """Return the stacklevel that points at the first frame outside bcsc_flow."""
    import sys

    frame = sys._getframe(2)  # caller of warn()
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning] = BcscFlowWarning) -> None:
    """Emit a bcsc_flow warning attributed to the user's line of code.

    Example
    -------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("look here", FCSWarning)
    >>> caught[0].category.__name__
    'FCSWarning'
    """
    warnings.warn(message, category, stacklevel=_external_stacklevel())


def did_you_mean(key: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or ``""``.

    Example
    -------
    >>> did_you_mean("CD4", ["CD44", "CD24"])
    " Did you mean 'CD44'?"
    """
    cands = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in cands}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    return f" Did you mean {lowered[close[0]]!r}?" if close else ""
