"""The :class:`Spillover` value: names, matrix, constructors and the compensation maths."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bcsc_flow.atomic import atomic_write_text
from bcsc_flow.compensation._text import parse_matrix_text, parse_matrix_xml
from bcsc_flow.errors import CompensationError
from bcsc_flow.sample import Sample

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Spillover"]


@dataclass(frozen=True, eq=False)
class Spillover:
    """A spillover (spectrum) matrix: ``k`` outputs × ``m`` detectors, float64, read-only.

    ``outputs`` are the fluorochromes when given, else the detectors (square matrices).
    Equality and hashing use names and matrix values.

    Example
    -------
    >>> sp = Spillover.from_array([[1, 0.1], [0.02, 1]], ["FL1-H", "FL2-H"], name="demo")
    >>> sp.outputs, sp.matrix.shape, sp.is_square
    (('FL1-H', 'FL2-H'), (2, 2), True)
    """

    detectors: tuple[str, ...]
    matrix: np.ndarray
    fluorochromes: tuple[str, ...] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        label = f"Spillover {self.name!r}" if self.name else "Spillover"
        detectors = tuple(str(d) for d in self.detectors)
        fluors = None if self.fluorochromes is None else tuple(str(f) for f in self.fluorochromes)
        try:
            m = np.array(self.matrix, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise CompensationError(f"{label}: matrix values must be numbers ({exc}).") from None
        if m.ndim != 2:
            raise CompensationError(f"{label}: matrix must be 2-D, got shape {m.shape}.")
        k, n = m.shape
        if n != len(detectors):
            raise CompensationError(
                f"{label}: matrix has {n} columns but {len(detectors)} detectors were named."
            )
        rows = fluors if fluors is not None else detectors
        if k != len(rows):
            what = "fluorochromes" if fluors is not None else "detectors (square matrix expected)"
            raise CompensationError(f"{label}: matrix has {k} rows but {len(rows)} {what}.")
        if k > n:
            raise CompensationError(
                f"{label}: {k} fluorochromes cannot be separated with only {n} detectors."
            )
        for kind, names in (("detector", detectors), ("fluorochrome", fluors or ())):
            dupes = sorted({x for x in names if names.count(x) > 1})
            if dupes:
                raise CompensationError(f"{label}: duplicate {kind} names {dupes}.")
        if not np.isfinite(m).all():
            raise CompensationError(f"{label}: matrix contains NaN or infinite values.")
        if k and np.linalg.matrix_rank(m) < k:
            raise CompensationError(
                f"{label}: matrix is singular (rank {np.linalg.matrix_rank(m)} < {k}); "
                "compensation would be undefined. Check the matrix values."
            )
        m.flags.writeable = False
        object.__setattr__(self, "detectors", detectors)
        object.__setattr__(self, "fluorochromes", fluors)
        object.__setattr__(self, "matrix", m)

    # ------------------------------------------------------------------ identity
    def _key(self) -> tuple[Any, ...]:
        return (self.detectors, self.fluorochromes, self.name, self.matrix.tobytes())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spillover):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[Any, ...]:  # re-validate (and re-freeze) when unpickled
        return (Spillover, (self.detectors, np.array(self.matrix), self.fluorochromes, self.name))

    def __repr__(self) -> str:
        k, m = self.matrix.shape
        return f"Spillover({self.name!r}, {k}x{m}, detectors={list(self.detectors)})"

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the compensated columns: the fluorochromes, else the detectors."""
        return self.fluorochromes if self.fluorochromes is not None else self.detectors

    @property
    def is_square(self) -> bool:
        """True for classic compensation (as many outputs as detectors)."""
        return self.matrix.shape[0] == self.matrix.shape[1]

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_array(
        cls,
        matrix: Any,
        detectors: Sequence[str],
        *,
        fluorochromes: Sequence[str] | None = None,
        name: str = "",
    ) -> Spillover:
        """A spillover from a matrix (rows = fluorochromes, columns = ``detectors``).

        Example
        -------
        >>> Spillover.from_array([[1, 0], [0, 1]], ["A", "B"]).matrix.flags.writeable
        False
        """
        fl = None if fluorochromes is None else tuple(fluorochromes)
        return cls(tuple(detectors), np.asarray(matrix), fl, name)

    @classmethod
    def from_sample(cls, sample: Sample) -> Spillover | None:
        """The matrix the FCS file carries (``$SPILLOVER``/``$SPILL``/``SPILL``), or ``None``.

        Example
        -------
        >>> import numpy as np
        >>> Spillover.from_sample(Sample.from_array(np.zeros((1, 1)), ["A"])) is None
        True
        """
        fs = sample.spillover
        if fs is None:
            return None
        return cls(tuple(fs.detectors), fs.matrix, None, f"{sample.name} {fs.keyword}".strip())

    @classmethod
    def from_csv(cls, path: str | Path, *, name: str | None = None) -> Spillover:
        """Read a matrix from CSV/TSV text (also FlowJo-style exported matrices).

        Layout: a header row of detector names, then one row per fluorochrome, optionally
        preceded by a row-name column (an empty or label corner cell is allowed). Comma,
        tab, semicolon or whitespace separators; quotes; an optional single-field first
        line is taken as the matrix name. Rows named like the header are reordered to the
        header's order; other row names become ``fluorochromes``. A matrix whose
        diagonal is 100 is read as percent and divided by 100. FlowJo's XML ``.mtx``
        files (``CompensationMatrix`` or ``spilloverMatrix``) are recognised and read too.

        Example
        -------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = Path(d) / "m.csv"
        ...     _ = p.write_text(",PE-A,FITC-A\\nFITC-A,0.2,1\\nPE-A,1,0.01\\n")
        ...     Spillover.from_csv(p).matrix.tolist()
        [[1.0, 0.01], [0.2, 1.0]]
        """
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise CompensationError(f"Cannot read spillover file {str(p)!r}: {exc}.") from None
        if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            parsed = parse_matrix_xml(data, str(p))
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
            parsed = parse_matrix_text(text, str(p))
        label = name if name is not None else (parsed.title or p.stem)
        detectors, rows, matrix = parsed.columns, parsed.rows, parsed.values
        fluors: tuple[str, ...] | None = None
        if rows is not None and sorted(rows) == sorted(detectors):
            matrix = matrix[[rows.index(d) for d in detectors]]
        elif rows is not None:
            fluors = rows
        elif matrix.shape[0] != matrix.shape[1]:
            raise CompensationError(
                f"Spillover file {str(p)!r}: {matrix.shape[0]} rows x {matrix.shape[1]} columns "
                "without row names; a non-square matrix needs fluorochrome names in a first column."
            )
        if matrix.shape[0] == matrix.shape[1] and fluors is None:
            diag = np.diag(matrix)
            if np.allclose(diag, 100.0) and not np.allclose(diag, 1.0):
                matrix = matrix / 100.0
        return cls(detectors, matrix, fluors, label)

    # ------------------------------------------------------------------ maths
    def _values(self, values: Any, width: int, what: str) -> tuple[np.ndarray, bool]:
        arr = np.asarray(values, dtype=np.float64)
        single = arr.ndim == 1
        arr2 = arr[None, :] if single else arr
        if arr2.ndim != 2 or arr2.shape[1] != width:
            raise CompensationError(
                f"{self!r}: expected {what} values with {width} columns, got shape {arr.shape}."
            )
        return arr2, single

    def apply(self, values: Any) -> np.ndarray:
        """Compensate (square) or unmix (``m > k``) detector values: ``d·S⁻¹`` or ``d·S⁺``.

        ``values`` is ``(n_events, m)`` in the order of :attr:`detectors` (or one event
        as a 1-D array); the result is ``(n_events, k)`` in the order of :attr:`outputs`.

        Example
        -------
        >>> sp = Spillover.from_array([[1, 0.5, 0.0], [0, 0.5, 1]], ["B1", "B2", "B3"],
        ...                           fluorochromes=["X", "Y"])
        >>> sp.apply([2.0, 2.0, 2.0]).round(6).tolist()
        [2.0, 2.0]
        """
        d, single = self._values(values, len(self.detectors), "detector")
        if self.is_square:
            from scipy.linalg import lu_solve

            # f·S = d  <=>  Sᵀ·fᵀ = dᵀ, solved with one LU factorisation of Sᵀ
            out = lu_solve(self._lu(), d.T, check_finite=False).T
        else:
            out = d @ np.linalg.pinv(self.matrix)
        return out[0] if single else out

    def _lu(self) -> Any:
        cached = self.__dict__.get("_lu_cache")
        if cached is None:
            from scipy.linalg import lu_factor

            cached = lu_factor(self.matrix.T)
            object.__setattr__(self, "_lu_cache", cached)
        return cached

    def mix(self, values: Any) -> np.ndarray:
        """The inverse of :meth:`apply` for exact data: detector values ``f·S``.

        Example
        -------
        >>> sp = Spillover.from_array([[1.0, 0.2], [0.0, 1.0]], ["A", "B"])
        >>> sp.mix([1000.0, 50.0]).tolist()
        [1000.0, 250.0]
        """
        f, single = self._values(values, len(self.outputs), "compensated")
        out = f @ self.matrix
        return out[0] if single else out

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a DataFrame (index = outputs, columns = detectors).

        Example
        -------
        >>> Spillover.from_array([[1.0, 0.2], [0.0, 1.0]], ["A", "B"]).to_frame().loc["A", "B"]
        np.float64(0.2)
        """
        import pandas as pd

        return pd.DataFrame(
            np.array(self.matrix), index=list(self.outputs), columns=list(self.detectors)
        )

    def to_csv(self, path: str | Path) -> None:
        """Write the matrix as CSV (row names in the first column), readable by :meth:`from_csv`.

        Example
        -------
        >>> import tempfile, os
        >>> sp = Spillover.from_array([[1.0, 0.2], [0.0, 1.0]], ["A", "B"])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     sp.to_csv(os.path.join(d, "m.csv"))
        ...     Spillover.from_csv(os.path.join(d, "m.csv")).matrix.tolist()
        [[1.0, 0.2], [0.0, 1.0]]
        """
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["", *self.detectors])
        for label, row in zip(self.outputs, self.matrix, strict=True):
            writer.writerow([label, *(repr(float(v)) for v in row)])
        atomic_write_text(path, buf.getvalue())
