"""``bcsc-flow analyze``: gate a folder, compare conditions, write tables and the report.

Example
-------
>>> from bcsc_flow.cli import main
>>> main(["analyze", "sample_fcs", "--out", "results"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from bcsc_flow.errors import BcscFlowError, SheetWarning

__all__ = ["add_analyze"]

KEY_POPULATIONS = ("BCSC", "HER2+ BCSC", "HER2+", "ALDH+", "ALDH+ BCSC")


def _check_out(folder: Path, out: Path) -> None:
    if out.resolve() == folder.resolve():
        raise BcscFlowError(
            f"--out {str(out)!r} is the input folder; choose another folder so that nothing "
            "in the input is written or overwritten"
        )


def _cmd_analyze(args: argparse.Namespace) -> int:
    import bcsc_flow as bf
    from bcsc_flow.batch import gate_folder

    folder, out = Path(args.folder), Path(args.out)
    _check_out(folder, out)
    interactive = sys.stderr.isatty()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = gate_folder(
            folder,
            args.template,
            sheet=args.sheet,
            jobs=args.jobs,
            scheduler=args.scheduler,
            progress=interactive and not args.quiet,
            keep_results=not args.no_report,
        )
        comparison = None
        tests = results.populations
        if not tests.empty and "condition" in tests.columns and tests["condition"].nunique() > 1:
            reference = args.reference
            comparison = bf.compare(tests, by="condition", reference=reference)
    written = results.write(out)
    if comparison is not None:
        from bcsc_flow.batch import write_table

        written.append(write_table(comparison, out / "comparison.csv"))
    if not args.no_report:
        try:
            from bcsc_flow.report import write_report
        except ImportError:
            write_report = None
        if write_report is not None:
            written.append(write_report(results, comparison, out / "report.html"))
    summary = results.summary(
        [p for p in KEY_POPULATIONS if p in set(results.populations.get("population", []))]
    )
    if not args.quiet:
        sys.stdout.write(
            f"% of parent per test sample (template {results.template.get('name')} "
            f"{results.template.get('version')}):\n"
        )
        sys.stdout.write(summary.to_string() + "\n")
        if comparison is not None:
            cols = [
                "population",
                "level",
                "mean_reference",
                "mean_level",
                "diff",
                "ci_low",
                "ci_high",
                "q_value",
            ]
            key = comparison[comparison["population"].isin(KEY_POPULATIONS)]
            sys.stdout.write("\ncomparison vs " + args.reference + ":\n")
            sys.stdout.write(
                key[[c for c in cols if c in key.columns]].round(4).to_string(index=False) + "\n"
            )
        sys.stdout.write(f"\nwrote {len(written)} files to {out}\n")
    for w in caught:
        if args.verbose or issubclass(w.category, SheetWarning):
            sys.stderr.write(f"warning: {w.message}\n")
    if not results.ok:
        sys.stderr.write(f"bcsc-flow: {len(results.problems)} file(s) had problems:\n")
        for _, row in results.problems.iterrows():
            sys.stderr.write(
                f"  - {row['file']} [{row['stage']}] {row['error']}: {row['message']}\n"
            )
        return 1
    return 0


def add_analyze(sub: argparse._SubParsersAction) -> None:
    """Register ``bcsc-flow analyze``."""
    p = sub.add_parser(
        "analyze",
        help="gate a folder of FCS files with a template, compare conditions, write tables and report",
    )
    p.add_argument("folder", help="folder of FCS files")
    p.add_argument("--sheet", help="sample sheet CSV (default: FOLDER/samples.csv, else inferred)")
    p.add_argument(
        "--template", default="bcsc", help="built-in template name or YAML path (default: bcsc)"
    )
    p.add_argument("--out", required=True, help="output folder (never the input folder)")
    p.add_argument(
        "--jobs", type=int, default=1, help="worker processes on this machine (default 1)"
    )
    p.add_argument("--scheduler", help="Dask scheduler address (runs on that cluster)")
    p.add_argument(
        "--reference", default="untreated", help="reference condition (default untreated)"
    )
    p.add_argument("--no-report", action="store_true", help="do not write report.html")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.add_argument("--verbose", action="store_true", help="print warnings raised while gating")
    p.set_defaults(func=_cmd_analyze)
