"""``bcsc-flow sort-report`` and ``export-population``: sorting from the command line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_sort_report", "add_export_population"]


def _cmd_sort_report(args: argparse.Namespace) -> int:
    import pandas as pd

    from bcsc_flow.batch import write_table
    from bcsc_flow.errors import StrategyError

    if args.sorts is not None:
        from bcsc_flow.sorting_yield import sort_summary

        table = sort_summary(pd.read_csv(args.sorts))
    else:
        from bcsc_flow import gatingml
        from bcsc_flow.io.fcs import read_fcs
        from bcsc_flow.sorting import purity

        if args.gatingml is None or args.population is None:
            raise StrategyError(
                "sort-report: purity needs --gatingml XML (the frozen sort gates) and "
                "--population NAME, or give --sorts CSV for a sort summary."
            )
        strategy = gatingml.read(args.gatingml)
        rows = [
            purity(read_fcs(path), args.population, strategy, of=args.of, viability=args.viability)
            .to_frame()
            .assign(file=str(path))
            for path in args.post
        ]
        table = pd.concat(rows, ignore_index=True)
    if args.out:
        write_table(table, args.out)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        sys.stdout.write(table.to_string(index=False, float_format=lambda v: f"{v:.4g}") + "\n")
    return 0


def add_sort_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sort-report",
        help="purity of post-sort FCS files (frozen Gating-ML gates), or a summary of sorts",
        description=(
            "Either re-analyse post-sort FCS files with frozen sort gates (--post, --gatingml, "
            "--population) and report purity with a Wilson CI and contaminants, or summarise "
            "sorts from a CSV (--sorts: columns pre_sort_pct, post_sort_purity_pct and optionally "
            "sort, events_sorted, cells_recovered, input_events, conflicts, negative_fraction_pct)."
        ),
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--post", nargs="+", metavar="FCS", help="post-sort FCS file(s)")
    mode.add_argument("--sorts", metavar="CSV", help="one row per sort: enrichment, yield, ...")
    p.add_argument("--gatingml", metavar="XML", help="Gating-ML 2.0 file with the frozen gates")
    p.add_argument("--population", metavar="NAME", help="the sorted population (gate id)")
    p.add_argument(
        "--of", metavar="NAME", help="reference population, e.g. live (default: all events)"
    )
    p.add_argument("--viability", metavar="NAME", help="population whose %% of parent is viability")
    p.add_argument("--out", metavar="CSV", help="also write the table as CSV")
    p.set_defaults(func=_cmd_sort_report)


def _cmd_export_population(args: argparse.Namespace) -> int:
    from bcsc_flow import gatingml
    from bcsc_flow.io.fcs import read_fcs
    from bcsc_flow.sorting import export_population

    sample = read_fcs(args.fcs)
    result = gatingml.read(args.gatingml).apply(sample)
    path = export_population(
        result,
        args.population,
        args.out,
        template_digest=args.template_digest,
        overwrite=args.overwrite,
    )
    sys.stdout.write(
        f"wrote {result.count(args.population)} events of {args.population!r} "
        f"({result.pct_of_parent(args.population):.2f} % of parent) to {path}\n"
    )
    return 0


def add_export_population(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-population",
        help="write the events of one population as a new FCS file (an in-silico sort)",
    )
    p.add_argument("fcs", metavar="FCS", help="source FCS file")
    p.add_argument("--gatingml", metavar="XML", required=True, help="Gating-ML 2.0 gates")
    p.add_argument("--population", metavar="NAME", required=True, help="population (gate id)")
    p.add_argument("--out", metavar="FILE", required=True, help="FCS file to write")
    p.add_argument("--template-digest", metavar="HEX", help="record this template digest")
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=_cmd_export_population)
