"""Sample sheets: which FCS file is which sample, condition, replicate, batch and control role.

A sheet is a CSV with the columns ``file, sample, condition, replicate, batch, role,
pair_id`` (ARCHITECTURE §6); extra columns are kept and copied to results. ``role`` is
``test``, ``unstained``, ``deab``, ``fmo:<MARKER>``, ``isotype:<MARKER>`` or
``single:<MARKER>``. A DEAB tube is paired with its test sample by ``pair_id`` (the test
sample's name or a shared id), else by batch + condition.

:func:`read_sheet` validates a sheet against its folder and reports *every* problem in one
:class:`~bcsc_flow.errors.SheetError`. :func:`infer_sheet` builds a sheet from file names
and FCS keywords when a lab has none, and says so with a warning.

Example
-------
>>> import pandas as pd
>>> frame = pd.DataFrame({"file": ["a.fcs", "a_deab.fcs"], "sample": ["a", "a_deab"],
...                       "role": ["test", "deab"], "pair_id": ["a", "a"]})
>>> sheet = SampleSheet.from_frame(frame)
>>> sheet.tests()["sample"].tolist(), sheet.deab_for("a")
(['a'], 'a_deab')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bcsc_flow.errors import FCSError, SheetError, SheetWarning, did_you_mean, warn

__all__ = [
    "COLUMNS",
    "SampleSheet",
    "infer_sheet",
    "parse_role",
    "read_sheet",
]

COLUMNS: tuple[str, ...] = ("file", "sample", "condition", "replicate", "batch", "role", "pair_id")
"""The standard columns, in order; ``file``, ``sample`` and ``role`` are required."""

_REQUIRED = ("file", "sample", "role")
_SIMPLE_ROLES = {"test", "unstained", "deab"}
_MARKER_ROLES = {"fmo", "isotype", "single"}


def parse_role(role: str) -> tuple[str, str | None]:
    """Split a role into its kind and marker: ``"fmo:CD44"`` → ``("fmo", "CD44")``.

    Raises :class:`SheetError` for an unknown role.

    Example
    -------
    >>> parse_role("fmo:CD44"), parse_role("DEAB")
    (('fmo', 'CD44'), ('deab', None))
    """
    text = str(role).strip()
    kind, sep, marker = text.partition(":")
    kind = kind.strip().lower()
    if not sep and kind in _SIMPLE_ROLES:
        return kind, None
    if sep and kind in _MARKER_ROLES and marker.strip():
        return kind, marker.strip()
    raise SheetError(
        f"unknown role {role!r}; expected one of test, unstained, deab, fmo:<MARKER>, "
        "isotype:<MARKER>, single:<MARKER>"
    )


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


@dataclass(frozen=True, eq=False)
class SampleSheet:
    """A validated sample sheet: one row per FCS file, standard columns first.

    ``source`` is ``"file"`` for a sheet read from CSV, ``"inferred"`` when it was built
    from file names and keywords. ``folder`` is where the files live.

    Example
    -------
    >>> sheet = SampleSheet.from_frame(pd.DataFrame({"file": ["x.fcs"], "sample": ["x"], "role": ["test"]}))
    >>> sheet.frame.columns.tolist()[:7]
    ['file', 'sample', 'condition', 'replicate', 'batch', 'role', 'pair_id']
    """

    frame: pd.DataFrame
    folder: Path | None = None
    source: str = "file"

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, *, folder: str | Path | None = None, source: str = "file"
    ) -> SampleSheet:
        """Normalise a DataFrame into a sheet (strings, standard columns present) without checking files."""
        missing = [c for c in _REQUIRED if c not in frame.columns]
        if missing:
            raise SheetError(
                f"sample sheet lacks the column(s) {', '.join(missing)}; "
                f"expected columns {', '.join(COLUMNS)} (extra columns are kept)"
            )
        out = frame.copy()
        for col in COLUMNS:
            if col not in out.columns:
                out[col] = ""
        for col in out.columns:
            out[col] = [_clean(v) for v in out[col]]
        extra = [c for c in out.columns if c not in COLUMNS]
        out = out[list(COLUMNS) + extra].reset_index(drop=True)
        return cls(out, None if folder is None else Path(folder), source)

    # ------------------------------------------------------------------ queries
    def tests(self) -> pd.DataFrame:
        """Rows of test samples."""
        return self.frame[self.frame["role"].str.lower() == "test"]

    def controls(self, role: str | None = None) -> pd.DataFrame:
        """Rows of control tubes, optionally of one role (case-insensitive)."""
        roles = self.frame["role"].str.lower()
        if role is None:
            return self.frame[roles != "test"]
        return self.frame[roles == role.strip().lower()]

    def row(self, sample: str) -> pd.Series:
        """The row of one sample name; :class:`SheetError` if absent."""
        hits = self.frame[self.frame["sample"] == sample]
        if hits.empty:
            names = self.frame["sample"].tolist()
            raise SheetError(
                f"sample {sample!r} is not in the sample sheet.{did_you_mean(sample, names)}"
                f" Samples: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}"
            )
        return hits.iloc[0]

    def path(self, sample: str) -> Path:
        """The file of one sample, resolved against the sheet's folder."""
        name = self.row(sample)["file"]
        return Path(name) if self.folder is None else self.folder / name

    def deab_for(self, sample: str) -> str | None:
        """The DEAB tube paired with a test sample (by ``pair_id``, else batch + condition)."""
        row = self.row(sample)
        deab = self.controls("deab")
        keys = {row["pair_id"], row["sample"]} - {""}
        paired = deab[deab["pair_id"].isin(keys)] if keys else deab.iloc[0:0]
        if paired.empty:
            paired = deab[
                (deab["pair_id"] == "")
                & (deab["batch"] == row["batch"])
                & (deab["condition"] == row["condition"])
            ]
        return None if paired.empty else str(paired.iloc[0]["sample"])

    def control_for(self, sample: str, role: str) -> str | None:
        """The control tube of a role for a test sample: same batch (``deab`` is paired)."""
        if role.strip().lower() == "deab":
            return self.deab_for(sample)
        row = self.row(sample)
        ctrl = self.controls(role)
        same = ctrl[ctrl["batch"] == row["batch"]]
        pick = same if not same.empty else (ctrl if ctrl["batch"].eq("").all() else same)
        return None if pick.empty else str(pick.iloc[0]["sample"])

    # ------------------------------------------------------------------ validation
    def problems(
        self,
        *,
        check_files: bool = True,
        require_deab: bool = False,
        required_roles: Sequence[str] = (),
    ) -> list[str]:
        """Every problem of the sheet, as sentences (empty when the sheet is fine)."""
        found: list[str] = []
        frame = self.frame
        for i, role in enumerate(frame["role"]):
            try:
                parse_role(role)
            except SheetError as exc:
                found.append(f"row {i + 2}: {exc}")
        for col in ("sample", "file"):
            blank = [str(i + 2) for i, v in enumerate(frame[col]) if not v]
            if blank:
                found.append(f"rows {', '.join(blank)}: empty {col!r}")
        dups = frame["sample"][frame["sample"].duplicated() & (frame["sample"] != "")]
        for name in sorted(set(dups)):
            found.append(f"duplicate sample name {name!r}")
        dupf = frame["file"][frame["file"].duplicated() & (frame["file"] != "")]
        for name in sorted(set(dupf)):
            found.append(f"file {name!r} is listed more than once")
        if check_files and self.folder is not None:
            found += _file_problems(frame["file"], self.folder)
        tests = self.tests()
        for _, deab in self.controls("deab").iterrows():
            if not _deab_has_test(deab, tests):
                found.append(
                    f"DEAB tube {deab['sample']!r} has no test sample "
                    f"(pair_id {deab['pair_id']!r}, batch {deab['batch']!r}, "
                    f"condition {deab['condition']!r})"
                )
        if require_deab:
            for name in tests["sample"]:
                if self.deab_for(name) is None:
                    found.append(f"test sample {name!r} has no DEAB tube (set pair_id)")
        for role in required_roles:
            for name in tests["sample"]:
                if self.control_for(name, role) is None:
                    batch = self.row(name)["batch"]
                    found.append(f"test sample {name!r} (batch {batch!r}) has no {role!r} control")
        return found

    def validate(self, **kwargs: object) -> SampleSheet:
        """Raise one :class:`SheetError` listing every problem; return self when none."""
        found = self.problems(**kwargs)  # type: ignore[arg-type]
        if found:
            where = f" ({self.folder})" if self.folder is not None else ""
            lines = "\n  - ".join(found)
            raise SheetError(f"sample sheet{where} has {len(found)} problem(s):\n  - {lines}")
        return self


def _deab_has_test(deab: pd.Series, tests: pd.DataFrame) -> bool:
    if deab["pair_id"]:
        return bool(
            tests["pair_id"].eq(deab["pair_id"]).any() or tests["sample"].eq(deab["pair_id"]).any()
        )
    same = tests[(tests["batch"] == deab["batch"]) & (tests["condition"] == deab["condition"])]
    return not same.empty


def _fcs_files(folder: Path) -> list[str]:
    return sorted(
        p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in {".fcs", ".lmd"}
    )


def _file_problems(files: Iterable[str], folder: Path) -> list[str]:
    if not folder.is_dir():
        return [f"folder {str(folder)!r} does not exist"]
    listed = [f for f in files if f]
    found = [
        f"file {f!r} is listed but not in the folder" for f in listed if not (folder / f).is_file()
    ]
    unlisted = sorted(set(_fcs_files(folder)) - {Path(f).name for f in listed})
    found += [f"FCS file {f!r} is in the folder but not in the sheet" for f in unlisted]
    return found


def read_sheet(
    path: str | Path,
    *,
    folder: str | Path | None = None,
    check_files: bool = True,
    require_deab: bool = False,
    required_roles: Sequence[str] = (),
) -> SampleSheet:
    """Read and validate a sample sheet CSV; all problems are reported together.

    ``folder`` defaults to the sheet's own folder. With ``check_files`` the sheet must
    list every FCS file of the folder and each listed file must exist.

    Example
    -------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "s.csv").write_text("file,sample,role\\nx.fcs,x,test\\n")
    >>> read_sheet(d / "s.csv", check_files=False).tests()["sample"].tolist()
    ['x']
    """
    path = Path(path)
    if not path.is_file():
        raise SheetError(f"sample sheet {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise SheetError(f"sample sheet {str(path)!r} is not a readable CSV: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    try:
        sheet = SampleSheet.from_frame(frame, folder=folder if folder is not None else path.parent)
    except SheetError as exc:
        raise SheetError(f"{path}: {exc}") from exc
    return sheet.validate(
        check_files=check_files, require_deab=require_deab, required_roles=required_roles
    )


# ---------------------------------------------------------------------- inference
_ROLE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:^|[^a-z])deab(?:[^a-z]|$)", re.I), "deab"),
    (re.compile(r"unstain|(?:^|[^a-z])uns(?:[^a-z]|$)", re.I), "unstained"),
    (re.compile(r"fmo[\s_\-:]*([a-z0-9]+)", re.I), "fmo"),
    (re.compile(r"iso(?:type)?[\s_\-:]+([a-z0-9]+)", re.I), "isotype"),
    (re.compile(r"single[\s_\-:]+([a-z0-9]+)", re.I), "single"),
)
_IRRADIATED = re.compile(r"(?:^|[^a-z])(irr|irradiated|ir|\d+(?:\.\d+)?gy)(?:[^a-z]|$)", re.I)
_UNTREATED = re.compile(r"(?:^|[^a-z])(unt|untreated|ctrl|control|sham|0gy)(?:[^a-z]|$)", re.I)
_REPLICATE = re.compile(r"(?:^|[^a-z])(?:r|rep|replicate)[\s_\-]?(\d+)(?:[^0-9]|$)", re.I)
_BATCH = re.compile(r"(?:^|[^a-z])(?:b|batch|day)[\s_\-]?(\d+)(?:[^0-9]|$)", re.I)


def _infer_row(file: str, label: str) -> dict[str, str]:
    text = f"{Path(file).stem} {label}"
    role = "test"
    for pattern, kind in _ROLE_PATTERNS:
        m = pattern.search(text)
        if m:
            role = kind if kind in _SIMPLE_ROLES else f"{kind}:{m.group(1).upper()}"
            break
    if _UNTREATED.search(text):  # checked first: "0Gy" is untreated, "4Gy" irradiated
        condition = "untreated"
    elif _IRRADIATED.search(text):
        condition = "irradiated"
    else:
        condition = ""
    rep = _REPLICATE.search(text)
    batch = _BATCH.search(text)
    return {
        "file": file,
        "sample": Path(file).stem,
        "condition": condition,
        "replicate": rep.group(1) if rep else "",
        "batch": batch.group(1) if batch else "",
        "role": role,
        "pair_id": "",
    }


_LABEL_KEYWORDS = ("TUBE NAME", "$SRC", "$SMNO", "SAMPLE ID")


def _keyword_label(path: Path) -> tuple[str, str]:
    """Words from a file's tube/sample keywords and its ``$DATE``; empty for an unreadable
    file (the batch reports it when it reads the file)."""
    from bcsc_flow.io.fcs import read_fcs_keywords

    try:
        kw = read_fcs_keywords(path)
    except (FCSError, OSError):
        return "", ""
    label = " ".join(kw[k] for k in _LABEL_KEYWORDS if k in kw)
    return label, kw.get("$DATE", "").strip()


def infer_sheet(folder: str | Path, *, labels: dict[str, str] | None = None) -> SampleSheet:
    """Build a sheet from the FCS file names of a folder and their tube keywords.

    Roles, conditions, replicates and batches are guessed from words in the file name
    and in the ``TUBE NAME``, ``$SRC``, ``$SMNO`` and ``SAMPLE ID`` keywords (or in
    ``labels[file]`` when given): ``deab``, ``unstained``,
    ``fmo_CD44``, ``iso_HER2``, ``single_CD24``; ``unt``/``untreated``/``ctrl`` vs
    ``irr``/``irradiated``/``4Gy``; ``r2``; ``b1``/``day1``. When some file has no batch
    word, every file's batch is its acquisition day (``$DATE``). A DEAB tube is paired with the
    test sample whose name remains when ``deab`` is removed from its own. A
    :class:`~bcsc_flow.errors.SheetWarning` says the sheet was inferred.

    Example
    -------
    >>> _infer_row("deab_irr_r2.fcs", "")["role"], _infer_row("b1_fmo_CD44.fcs", "")["role"]
    ('deab', 'fmo:CD44')
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SheetError(f"folder {str(folder)!r} does not exist")
    files = _fcs_files(folder)
    if not files:
        raise SheetError(f"folder {str(folder)!r} holds no FCS files (*.fcs, *.lmd)")
    dates: dict[str, str] = {}
    if labels is None:
        found = {f: _keyword_label(folder / f) for f in files}
        labels = {f: label for f, (label, _) in found.items()}
        dates = {f: date for f, (_, date) in found.items()}
    rows = [_infer_row(f, labels.get(f, "")) for f in files]
    how = "file names and tube keywords"
    if any(not r["batch"] for r in rows) and dates and all(dates.values()):
        for r in rows:  # a batch is an acquisition day
            r["batch"] = dates[r["file"]]
        how += "; batches are acquisition days ($DATE)"
    tests = {r["sample"].lower(): r["sample"] for r in rows if r["role"] == "test"}
    by_name = {r["sample"]: r for r in rows}
    for r in rows:
        if r["role"] == "deab":
            key = re.sub(r"[\s_\-]*deab[\s_\-]*", "_", r["sample"], flags=re.I).strip("_").lower()
            if key in tests:
                r["pair_id"] = tests[key]
                by_name[tests[key]]["pair_id"] = tests[key]
    warn(
        f"no sample sheet given: roles, conditions, replicates and batches of {len(rows)} files in "
        f"{folder} were inferred from {how}; check them or pass a sheet",
        SheetWarning,
    )
    return SampleSheet.from_frame(pd.DataFrame(rows), folder=folder, source="inferred")
