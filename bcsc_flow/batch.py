"""Batch gating of a folder of FCS files with a sample sheet: the main job of the library.

:func:`gate_folder` reads the sheet (or infers one), resolves the template's controls
first (one task per control tube: FMO, isotype, DEAB, unstained), then gates every test
sample with the thresholds of its own controls (one task per test file). Tasks run in
this process, in worker processes (``jobs``) or on a Dask cluster (``scheduler``); each
task reads one file and sends back only tables. A file that cannot be read or gated is
listed in :attr:`Results.problems` with the reason and every other result is kept.

Example
-------
>>> import bcsc_flow as bf
>>> res = bf.gate_folder("sample_fcs", "bcsc", progress=False)  # doctest: +SKIP
>>> res.populations.query("population == 'BCSC'")[["sample", "pct_of_parent"]]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bcsc_flow.atomic import atomic_path
from bcsc_flow.batch_runner import TaskOutcome, run_tasks
from bcsc_flow.errors import BcscFlowError, QCWarning, warn
from bcsc_flow.io.sheet import SampleSheet, infer_sheet, read_sheet

__all__ = ["Results", "gate_files", "gate_folder", "gate_samples", "write_table"]

PROBLEM_COLUMNS = ("sample", "file", "role", "stage", "error", "message")


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass(frozen=True, eq=False)
class Results:
    """Tidy tables of a batch (one row per sample × population, etc.).

    ``populations``: ``sample, population, parent, count, parent_count, total_count,
    pct_of_parent, pct_of_total, template_digest`` + every sheet column.
    ``thresholds``: every resolved data-driven threshold with its control and statistic.
    ``statistics``: per population × channel (count, median, mean, CV, ...).
    ``problems``: ``sample, file, role, stage, error, message`` — files that could not be
    read or gated, and the reason. ``markers``: how each marker was found per file.
    ``qc``: the template's QC expectations per sample (``ok`` False when not met).
    ``warnings``: warnings raised while gating (unit, category, message).
    ``samples``: per-sample gating results when asked for (``keep_results=True``).

    Example
    -------
    >>> res = Results(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    >>> res.ok, res.summary().empty
    (True, True)
    """

    populations: pd.DataFrame
    thresholds: pd.DataFrame
    statistics: pd.DataFrame
    problems: pd.DataFrame
    sheet: pd.DataFrame
    markers: pd.DataFrame = field(default_factory=pd.DataFrame)
    qc: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: pd.DataFrame = field(default_factory=pd.DataFrame)
    template: Mapping[str, str] = field(default_factory=dict)
    samples: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no file had a problem."""
        return self.problems.empty

    def summary(self, populations: Sequence[str] | None = None) -> pd.DataFrame:
        """Test samples × populations, % of parent (a compact view for the terminal)."""
        pops = self.populations
        if pops.empty:
            return pd.DataFrame()
        if populations is not None:
            pops = pops[pops["population"].isin(populations)]
        index = [c for c in ("sample", "condition") if c in pops.columns]
        table = pops.pivot_table(
            index=index, columns="population", values="pct_of_parent", sort=False
        )
        return table.round(2)

    def write(self, out_dir: str | Path, *, parquet: bool | None = None) -> list[Path]:
        """Write every table as CSV (and Parquet when pyarrow is present) atomically.

        Each file is written to a temporary name in ``out_dir`` and renamed into place,
        so a reader never sees half a table. Returns the paths written.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = {
            "populations": self.populations,
            "thresholds": self.thresholds,
            "statistics": self.statistics,
            "problems": self.problems,
            "markers": self.markers,
            "qc": self.qc,
            "warnings": self.warnings,
        }
        if parquet is None:
            try:
                import pyarrow  # noqa: F401

                parquet = True
            except ImportError:
                parquet = False
        written: list[Path] = []
        for name, frame in tables.items():
            written.append(write_table(frame, out / f"{name}.csv"))
            if parquet:
                written.append(write_table(frame, out / f"{name}.parquet"))
        return written

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>bcsc_flow Results</b>: {self.sheet.shape[0]} files, "
            f"{self.populations['sample'].nunique() if not self.populations.empty else 0} gated samples, "
            f"{len(self.problems)} problem(s); template {self.template.get('name', '?')} "
            f"{self.template.get('version', '')} ({self.template.get('digest', '')[:12]})</p>"
        )
        return head + self.summary().to_html()


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV (or Parquet for ``.parquet``) atomically; return the path.

    Example
    -------
    >>> import tempfile
    >>> p = write_table(pd.DataFrame({"a": [1]}), Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text().splitlines()
    ['a', '1']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    return path


def _problem(row: Mapping[str, Any], stage: str, outcome: TaskOutcome) -> dict[str, str]:
    return {
        "sample": str(row.get("sample", "")),
        "file": str(row.get("file", "")),
        "role": str(row.get("role", "")),
        "stage": stage,
        "error": outcome.error_type,
        "message": outcome.message,
    }


def _progress(total: int, enabled: bool, desc: str) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="file", leave=False)


def gate_samples(
    sheet: SampleSheet,
    template: Any,
    *,
    jobs: int = 1,
    scheduler: Any = None,
    progress: bool = True,
    keep_results: bool = False,
) -> Results:
    """Gate the files of a sheet with a template; see :func:`gate_folder`.

    Files are grouped into units (a batch with its controls, or a single file when the
    template needs no controls), each unit is one task.

    Example
    -------
    >>> from bcsc_flow.io.sheet import read_sheet
    >>> sheet = read_sheet("sample_fcs/samples.csv")  # doctest: +SKIP
    >>> gate_samples(sheet, "bcsc", jobs=2).problems.empty  # doctest: +SKIP
    True
    """
    from bcsc_flow import batch_gating

    tpl = batch_gating.load(template)
    folder = sheet.folder if sheet.folder is not None else Path(".")
    units = batch_gating.make_units(tpl, sheet.frame, folder, keep_results)
    bar = _progress(sum(len(u.rows) for u in units), progress, "gating")

    def tick(outcome: TaskOutcome) -> None:
        if bar is not None:
            bar.update(len(units[outcome.index].rows))

    try:
        outcomes = run_tasks(
            batch_gating.run_unit, units, jobs=jobs, scheduler=scheduler, on_done=tick
        )
    finally:
        if bar is not None:
            bar.close()
    keys = ("populations", "thresholds", "statistics", "markers", "qc")
    pieces: dict[str, list[pd.DataFrame]] = {k: [] for k in keys}
    problems: list[dict[str, str]] = []
    notes: list[dict[str, str]] = []
    kept: dict[str, Any] = {}
    for unit, outcome in zip(units, outcomes, strict=True):
        if not outcome.ok:
            problems += [_problem(row, "unit", outcome) for row in unit.rows]
            continue
        out = outcome.value
        problems += out["problems"]
        notes += out["warnings"]
        kept.update(out["results"])
        for key in keys:
            if out[key] is not None and not out[key].empty:
                pieces[key].append(out[key])
    results = Results(
        populations=_attach_sheet(_concat(pieces["populations"]), sheet.frame),
        thresholds=_concat(pieces["thresholds"]),
        statistics=_concat(pieces["statistics"]),
        problems=pd.DataFrame(problems, columns=list(PROBLEM_COLUMNS))
        if problems
        else _empty(PROBLEM_COLUMNS),
        sheet=sheet.frame,
        markers=_concat(pieces["markers"]).drop_duplicates(),
        qc=_concat(pieces["qc"]),
        warnings=pd.DataFrame(notes, columns=["unit", "category", "message"]).drop_duplicates(),
        template=batch_gating.describe(tpl),
        samples=kept,
    )
    if not results.ok:
        first = results.problems.iloc[0]
        warn(
            f"{len(results.problems)} file(s) could not be read or gated; see Results.problems "
            f"(first: {first['file']}: {first['message']})",
            QCWarning,
        )
    return results


def _gate_file(task: tuple[str, str, Any]) -> dict[str, pd.DataFrame]:
    from bcsc_flow.io.fcs import read_fcs

    path, name, strategy = task
    result = strategy.apply(read_fcs(path))
    table = result.table()
    table.insert(0, "sample", name)
    table.insert(1, "file", Path(path).name)
    return {"populations": table}


def gate_files(
    files: Sequence[str | Path],
    strategy: Any,
    *,
    jobs: int = 1,
    scheduler: Any = None,
    progress: bool = True,
) -> Results:
    """Apply one frozen :class:`~bcsc_flow.strategy.GatingStrategy` to many FCS files.

    For gating that is already fixed (a Gating-ML file, a FlowJo workspace, a frozen
    template): one task per file, in this process, in ``jobs`` worker processes or on a
    Dask ``scheduler``. Unreadable files are listed in ``problems``.

    Example
    -------
    >>> import bcsc_flow as bf
    >>> strategy = bf.gatingml.read("gates.xml")  # doctest: +SKIP
    >>> bf.gate_files(sorted(Path("data").glob("*.fcs")), strategy, jobs=2).populations  # doctest: +SKIP
    """
    paths = [Path(f) for f in files]
    names = [p.stem for p in paths]
    tasks = [(str(p), n, strategy) for p, n in zip(paths, names, strict=True)]
    bar = _progress(len(tasks), progress, "gating")
    try:
        outcomes = run_tasks(
            _gate_file,
            tasks,
            jobs=jobs,
            scheduler=scheduler,
            on_done=(lambda _o: bar.update(1)) if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    rows = [{"file": p.name, "sample": n} for p, n in zip(paths, names, strict=True)]
    problems = [_problem(row, "gate", o) for row, o in zip(rows, outcomes, strict=True) if not o.ok]
    frames = [o.value["populations"] for o in outcomes if o.ok]
    return Results(
        populations=_concat(frames),
        thresholds=pd.DataFrame(),
        statistics=pd.DataFrame(),
        problems=pd.DataFrame(problems, columns=list(PROBLEM_COLUMNS))
        if problems
        else _empty(PROBLEM_COLUMNS),
        sheet=pd.DataFrame(rows),
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _attach_sheet(populations: pd.DataFrame, sheet: pd.DataFrame) -> pd.DataFrame:
    if populations.empty:
        return populations
    extra = [c for c in sheet.columns if c not in populations.columns or c == "sample"]
    return populations.merge(sheet[extra], on="sample", how="left")


def gate_folder(
    folder: str | Path,
    template: Any = "bcsc",
    *,
    sheet: str | Path | SampleSheet | None = None,
    jobs: int = 1,
    scheduler: Any = None,
    progress: bool = True,
    keep_results: bool = False,
) -> Results:
    """Gate every FCS file of a folder with a template and return tidy tables.

    ``template`` is a built-in name (``"bcsc"``), a path to a YAML template or a
    :class:`~bcsc_flow.template.Template`. ``sheet`` is a CSV path (default:
    ``folder/samples.csv`` when it exists, else inferred from file names with a warning).
    ``jobs`` worker processes on this machine, or a Dask ``scheduler`` (address or
    ``distributed.Client``). Broken files end up in ``Results.problems``; nothing in the
    folder is written. Worker processes are started with ``forkserver`` (``spawn``
    outside Linux), so a *script* that uses ``jobs > 1`` needs the usual
    ``if __name__ == "__main__":`` guard; notebooks and the CLI do not.

    Example
    -------
    >>> import bcsc_flow as bf
    >>> res = bf.gate_folder("sample_fcs", "bcsc", jobs=2, progress=False)  # doctest: +SKIP
    >>> sorted(res.populations["population"].unique())[:3]  # doctest: +SKIP
    ['ALDH+', 'ALDH+ BCSC', 'BCSC']
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BcscFlowError(f"gate_folder: folder {str(folder)!r} does not exist")
    if isinstance(sheet, SampleSheet):
        table = sheet
    elif sheet is not None:
        table = read_sheet(sheet, folder=folder, check_files=False)
    elif (folder / "samples.csv").is_file():
        table = read_sheet(folder / "samples.csv", folder=folder, check_files=False)
    else:
        table = infer_sheet(folder)
    return gate_samples(
        table,
        template,
        jobs=jobs,
        scheduler=scheduler,
        progress=progress,
        keep_results=keep_results,
    )
