"""``bcsc-flow report RESULTS_DIR``: rebuild the HTML report from the tables of a batch.

Reads the tables :meth:`~bcsc_flow.batch.Results.write` and ``bcsc-flow analyze`` leave in
a folder (``populations.csv`` is required; ``thresholds``, ``statistics``, ``problems``,
``markers``, ``qc``, ``warnings`` and ``comparison`` are used when present) and writes a
self-contained report. Gating figures need the events and are left out with a note;
comparison plots are drawn from the tables.

Example
-------
>>> from bcsc_flow.cli import main
>>> main(["report", "results", "--out", "results/report.html"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bcsc_flow.errors import BcscFlowError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLES", "add_report", "read_results"]

TABLES = ("populations", "thresholds", "statistics", "problems", "markers", "qc", "warnings")
"""Tables read from the results folder (``<name>.csv``)."""


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BcscFlowError(f"{path}: not a readable CSV table ({exc})") from exc


def _template_info(populations: pd.DataFrame) -> dict[str, str]:
    """Digest from the table; name and version when it is a built-in template's digest."""
    if "template_digest" not in populations or populations["template_digest"].dropna().empty:
        return {}
    digests = list(dict.fromkeys(populations["template_digest"].dropna().astype(str)))
    info = {"name": "", "version": "", "digest": ", ".join(digests)}
    from bcsc_flow.template import builtin_templates, load_template

    for name in builtin_templates():
        template = load_template(name)
        if template.digest in digests:
            info.update(name=template.name, version=template.version)
    if not info["name"]:
        info["name"] = "(not recorded in the tables)"
    return info


def read_results(folder: str | Path) -> tuple[object, pd.DataFrame | None]:
    """A :class:`~bcsc_flow.batch.Results` and the comparison table read from a folder.

    Example
    -------
    >>> read_results("no/such/folder")
    Traceback (most recent call last):
    ...
    bcsc_flow.errors.BcscFlowError: no/such/folder: no populations.csv; give the folder written by `bcsc-flow analyze` or Results.write
    """
    import pandas as pd

    from bcsc_flow.batch import Results

    root = Path(folder)
    if not (root / "populations.csv").is_file():
        raise BcscFlowError(
            f"{folder}: no populations.csv; give the folder written by `bcsc-flow analyze` "
            "or Results.write"
        )
    tables = {name: _read_csv(root / f"{name}.csv") for name in TABLES}
    comparison = _read_csv(root / "comparison.csv")
    results = Results(
        populations=tables["populations"],
        thresholds=tables["thresholds"],
        statistics=tables["statistics"],
        problems=tables["problems"],
        sheet=pd.DataFrame(),
        markers=tables["markers"],
        qc=tables["qc"],
        warnings=tables["warnings"],
        template=_template_info(tables["populations"]),
    )
    return results, (comparison if not comparison.empty else None)


def _cmd_report(args: argparse.Namespace) -> int:
    from bcsc_flow.report import write_report

    results, comparison = read_results(args.results_dir)
    out = Path(args.out) if args.out else Path(args.results_dir) / "report.html"
    path = write_report(
        results,
        comparison,
        out,
        title=args.title,
        figures=not args.no_figures,
        notes=[
            f"Rebuilt from the tables in {args.results_dir}; gating figures need the events "
            "and are not included."
        ],
    )
    if not args.quiet:
        sys.stdout.write(f"wrote {path}\n")
    return 0


def add_report(sub: argparse._SubParsersAction) -> None:
    """Register ``bcsc-flow report``."""
    p = sub.add_parser(
        "report", help="rebuild report.html from the tables of a results folder (no events)"
    )
    p.add_argument("results_dir", help="folder with populations.csv, thresholds.csv, ...")
    p.add_argument("--out", help="report file (default: RESULTS_DIR/report.html)")
    p.add_argument("--title", help="title of the report")
    p.add_argument("--no-figures", action="store_true", help="leave the comparison plots out")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_cmd_report)
