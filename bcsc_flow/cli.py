"""The ``bcsc-flow`` command line: parses arguments and calls the library.

Exit codes: 0 success, 1 a :class:`~bcsc_flow.errors.BcscFlowError` (message only,
traceback with ``--debug``), 2 usage error.

Example
-------
>>> sorted(build_parser()._subparsers._group_actions[0].choices)[:3]
['analyze', 'cohorts', 'compare']
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from bcsc_flow import __version__
from bcsc_flow.cli_analyze import add_analyze
from bcsc_flow.cli_report import add_report
from bcsc_flow.errors import BcscFlowError

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def _cmd_info(args: argparse.Namespace) -> int:
    from bcsc_flow.io.fcs import read_fcs_datasets

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        samples = read_fcs_datasets(args.file)
    out = sys.stdout
    first = samples[0]
    out.write(f"file:      {args.file}\n")
    out.write(f"version:   {first.version or 'unknown'}\n")
    out.write(f"data sets: {len(samples)}\n")
    for k, s in enumerate(samples):
        out.write(f"\n[data set {k}] {len(s)} events, {len(s.channels)} channels")
        out.write(f", $DATATYPE={s.keywords.get('$DATATYPE', '?').strip()}\n")
        out.write(f"  {'#':>3}  {'$PnN':<24} {'$PnS':<28} {'$PnR':>12} {'$PnB':>5}\n")
        for i, c in enumerate(s.channels, start=1):
            rng = "" if c.range is None else f"{c.range:g}"
            bits = "" if c.bits is None else str(c.bits)
            out.write(f"  {i:>3}  {c.name:<24} {c.marker or '':<28} {rng:>12} {bits:>5}\n")
        if s.spillover is not None:
            n = len(s.spillover.detectors)
            out.write(
                f"  spillover: {n}x{n} from {s.spillover.keyword} ({', '.join(s.spillover.detectors)})\n"
            )
        else:
            out.write("  spillover: none\n")
    messages = [str(w.message) for w in caught]
    out.write(f"\nwarnings: {len(messages)}\n")
    for m in messages:
        out.write(f"  - {m}\n")
    return 0


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe an FCS file: data sets, events, channels, spillover")
    p.add_argument("file", help="path to an FCS file")
    p.set_defaults(func=_cmd_info)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from bcsc_flow.simulate import experiment

    res = experiment(
        args.dir,
        seed=args.seed,
        profile=args.profile,
        scenario=args.scenario,
        n_replicates=args.replicates,
        n_batches=args.batches,
        events_per_tube=args.events,
        clog_samples=tuple(args.clog),
        already_compensated=args.already_compensated,
        progress=not args.quiet,
    )
    sys.stdout.write(
        f"wrote {len(res.files)} FCS files, {res.sheet_path.name}, {res.truth_path.name}, "
        f"{res.params_path.name} and {res.truth_dir.name}/ to {res.out_dir}\n"
    )
    return 0


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate", help="write a seeded synthetic irradiation experiment with ground truth"
    )
    p.add_argument("dir", help="output folder (created; files of the same names are replaced)")
    p.add_argument("--seed", type=int, required=True, help="random seed (same seed, same bytes)")
    p.add_argument("--profile", default="aria", help="instrument: aria, fortessa, cytoflex, legacy")
    p.add_argument("--scenario", default="default", help="default, realistic, null, null_damaged")
    p.add_argument("--events", type=int, default=40_000, help="events per test tube")
    p.add_argument("--replicates", type=int, default=3, help="replicates per arm")
    p.add_argument("--batches", type=int, default=3, help="batches (days)")
    p.add_argument(
        "--clog", nargs="*", default=[], metavar="SAMPLE", help="test samples with a clog"
    )
    p.add_argument(
        "--already-compensated",
        action="store_true",
        help="write compensated data but keep $SPILLOVER (the compensate-twice trap)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_simulate)


def _cmd_sort_report(args: argparse.Namespace) -> int:
    import pandas as pd

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
        table.to_csv(args.out, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        sys.stdout.write(table.to_string(index=False, float_format=lambda v: f"{v:.4g}") + "\n")
    return 0


def _add_sort_report(sub: argparse._SubParsersAction) -> None:
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


def _add_export_population(sub: argparse._SubParsersAction) -> None:
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


def _write_table_atomic(frame: object, path: str) -> None:
    """Write a DataFrame as CSV via a temporary file in the same folder, then rename."""
    import os
    import tempfile
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            frame.to_csv(handle, index=False)  # type: ignore[attr-defined]
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from bcsc_flow.compare import compare

    table = pd.read_csv(args.populations)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = compare(
            table,
            by=args.by,
            reference=args.reference,
            metric=args.metric,
            method=args.method,
            pair_by=args.pair_by,
            populations=args.population,
            alpha=args.alpha,
            fdr=args.fdr,
        )
    _write_table_atomic(out, args.out)
    for w in caught:
        sys.stderr.write(f"bcsc-flow: warning: {w.message}\n")
    tested = out["p_value"].notna().sum()
    sys.stdout.write(
        f"wrote {len(out)} comparisons ({tested} tested, {out['test'].iloc[0]}) to {args.out}\n"
    )
    return 0


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="replicate-level comparison of conditions from a populations table",
        description=(
            "Compare each level of --by with --reference, per population, with biological "
            "replicates (samples) as the unit. Default: quasi-binomial GLM on counts with t-based "
            "95%% CIs; ci_low/ci_high are the CI of the difference in percentage points."
        ),
    )
    p.add_argument("populations", metavar="POPULATIONS.csv", help="populations table (CSV)")
    p.add_argument("--by", default="condition", help="column with the conditions")
    p.add_argument("--reference", default="untreated", help="the reference level of --by")
    p.add_argument("--metric", default="pct_of_parent", choices=["pct_of_parent", "pct_of_total"])
    p.add_argument(
        "--method", default="quasibinomial", choices=["quasibinomial", "welch", "paired"]
    )
    p.add_argument(
        "--pair-by", metavar="COLUMN", help="pairing/block column, e.g. pair_id or batch"
    )
    p.add_argument(
        "--population",
        action="append",
        metavar="NAME",
        help="compare only this population (repeatable)",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level (default 0.05)")
    p.add_argument(
        "--fdr", default="bh", choices=["bh", "by"], help="Benjamini-Hochberg or -Yekutieli"
    )
    p.add_argument("--out", required=True, metavar="CSV", help="comparison table to write")
    p.set_defaults(func=_cmd_compare)


def _read_rule_argument(text: str) -> object:
    """A --rule value: a YAML/JSON file, an inline YAML/JSON mapping, or 'POP:METRIC>=X'."""
    from pathlib import Path

    import yaml

    path = Path(text)
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.is_file():
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    if text.lstrip().startswith(("{", "[")):
        return yaml.safe_load(text)
    return text


def _cmd_cohorts(args: argparse.Namespace) -> int:
    import pandas as pd

    from bcsc_flow.cohorts import call_specimens, compare_cohorts, parse_rule

    specs = [_read_rule_argument(r) for r in args.rule]
    rule = parse_rule(specs[0] if len(specs) == 1 else {("any" if args.any else "all"): specs})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calls = call_specimens(pd.read_csv(args.populations), rule)
        result = compare_cohorts(
            calls, by=args.by, reference=args.reference, alternative=args.alternative
        )
    if args.calls_out:
        _write_table_atomic(calls, args.calls_out)
    _write_table_atomic(result, args.out)
    for w in caught:
        sys.stderr.write(f"bcsc-flow: warning: {w.message}\n")
    out = sys.stdout
    out.write(f"rule: {rule.describe()}\n")
    for _, row in result.iterrows():
        for arm in ("reference", "level"):
            out.write(
                f"  {row[arm]}: {row[f'n_positive_{arm}']}/{row[f'n_{arm}']} = "
                f"{row[f'pct_{arm}']:.1f} % (Wilson 95 % CI {row[f'pct_{arm}_ci_low']:.1f}-"
                f"{row[f'pct_{arm}_ci_high']:.1f} %)\n"
            )
        out.write(
            f"  {row['level']} vs {row['reference']}: odds ratio {row['odds_ratio']:.2f}, "
            f"Fisher exact p = {row['p_value']:.3g} ({row['alternative']}); chi2 p = "
            f"{row['p_value_chi2']:.3g}, with Yates {row['p_value_chi2_yates']:.3g}\n"
        )
    out.write(f"wrote {args.out}\n")
    return 0


def _add_cohorts(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cohorts",
        help="call specimens positive by a rule and compare cohorts (Fisher exact, Wilson CIs)",
        description=(
            "Call each specimen positive or negative by --rule (e.g. 'HER2+ BCSC:pct_of_parent>=1', "
            "a YAML/JSON file, or an inline mapping such as '{population: BCSC, threshold: 5}'); "
            "several --rule must all hold (or any, with --any). Then compare each cohort's "
            "positive rate with --reference."
        ),
    )
    p.add_argument("populations", metavar="POPULATIONS.csv", help="populations table (CSV)")
    p.add_argument("--rule", action="append", required=True, help="call rule (repeatable)")
    p.add_argument("--any", action="store_true", help="positive if any --rule holds")
    p.add_argument("--by", default="cohort", help="column with the cohorts (default cohort)")
    p.add_argument("--reference", default="primary", help="reference cohort (default primary)")
    p.add_argument("--alternative", default="two-sided", choices=["two-sided", "greater", "less"])
    p.add_argument("--calls-out", metavar="CSV", help="also write the per-specimen calls")
    p.add_argument("--out", required=True, metavar="CSV", help="cohort comparison to write")
    p.set_defaults(func=_cmd_cohorts)


# Each entry adds one subcommand; modules of later layers append theirs here.
def _cmd_import_flowjo(args: argparse.Namespace) -> int:
    from bcsc_flow.flowjo import read_workspace

    ws = read_workspace(args.wsp, folder=args.folder, skip_unsupported=args.skip_unsupported)
    out = sys.stdout
    chosen = [ws.sample(args.sample)] if args.sample else list(ws.samples)
    for s in chosen:
        out.write(f"sample {s.name!r} ({s.file_name}): {len(s.populations)} populations, ")
        out.write(f"FlowJo total {s.flowjo_total if s.flowjo_total is not None else '?'}\n")
        for p in s.populations:
            count = "-" if p.flowjo_count is None else str(p.flowjo_count)
            out.write(f"  {'/'.join(p.path):<48} {p.element:<22} {count:>10}\n")
    if args.compare:
        table = ws.compare_counts(args.folder)
        out.write(table.to_string(index=False) + "\n")
    if args.out and args.out.lower().endswith((".yaml", ".yml")):
        from pathlib import Path

        from bcsc_flow.errors import FlowJoError
        from bcsc_flow.template_convert import template_from_workspace

        if not chosen:
            raise FlowJoError(f"import-flowjo: the workspace {args.wsp} has no samples.")
        target = Path(args.out)  # a template of --sample, else of the first sample
        tpl = template_from_workspace(ws, chosen[0].name, name=args.name, folder=args.folder,
                                      matrix_csv=target.with_suffix(".spillover.csv"))  # fmt: skip
        path = tpl.save(target)
        out.write(f"wrote template {tpl.name!r} for sample {chosen[0].name!r} to {path}\n")
    elif args.out:
        from bcsc_flow import gatingml
        from bcsc_flow.errors import FlowJoError

        if len(chosen) != 1:
            raise FlowJoError(
                f"import-flowjo: the workspace has {len(chosen)} samples; choose one with --sample "
                f"({', '.join(ws.sample_names)})."
            )
        path = gatingml.write(chosen[0].strategy(), args.out)
        out.write(f"wrote Gating-ML 2.0 for sample {chosen[0].name!r} to {path}\n")
    return 0


def _add_import_flowjo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-flowjo", help="read a FlowJo 10 workspace; write its gates as Gating-ML"
    )
    p.add_argument("wsp", help="FlowJo workspace (.wsp)")
    p.add_argument(
        "--out",
        help="write the sample's gating strategy as Gating-ML 2.0 to this file, or as a "
        "bcsc_flow template when it ends in .yaml/.yml",
    )
    p.add_argument("--sample", help="sample name (needed with --out when there are several)")
    p.add_argument("--name", help="template name with --out *.yaml (default: the workspace's)")
    p.add_argument("--folder", help="folder holding the FCS files (default: as the workspace says)")
    p.add_argument("--compare", action="store_true", help="gate the FCS files, compare with FlowJo")
    p.add_argument(
        "--skip-unsupported", action="store_true", help="leave out unsupported gates (warning)"
    )
    p.set_defaults(func=_cmd_import_flowjo)


def _cmd_template(args: argparse.Namespace) -> int:
    from bcsc_flow.template import load_template
    from bcsc_flow.template_tools import describe, export_gatingml

    tpl = load_template(args.template)
    if args.template_command == "check":
        sample = None
        if args.fcs:
            from bcsc_flow.io.fcs import read_fcs

            sample = read_fcs(args.fcs)
        sys.stdout.write(describe(tpl, sample) + "\n")
        return 0
    paths = export_gatingml(tpl, args.folder, args.sheet, args.out)
    sys.stdout.write(f"wrote {len(paths) - 1} Gating-ML file(s) and thresholds.csv to {args.out}\n")
    return 0


def _add_template(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("template", help="check a gating template or export it frozen as Gating-ML")
    tsub = p.add_subparsers(dest="template_command", metavar="ACTION", required=True)
    check = tsub.add_parser("check", help="validate; print the tree (and markers found in --fcs)")
    check.add_argument("template", help="built-in template name (bcsc) or a YAML file")
    check.add_argument("--fcs", help="an FCS file: show how each panel marker is found in it")
    check.set_defaults(func=_cmd_template)
    export = tsub.add_parser(
        "export-gatingml", help="freeze against a sheet; one Gating-ML file per test sample"
    )
    export.add_argument("template", help="built-in template name (bcsc) or a YAML file")
    export.add_argument("--folder", required=True, help="folder holding the FCS files")
    export.add_argument("--sheet", required=True, help="sample sheet CSV")
    export.add_argument("--out", required=True, help="output folder for the XML files")
    export.set_defaults(func=_cmd_template)


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_info, add_analyze]
_SUBCOMMANDS.append(_add_simulate)
_SUBCOMMANDS.append(_add_sort_report)
_SUBCOMMANDS.append(_add_export_population)
_SUBCOMMANDS.append(_add_compare)
_SUBCOMMANDS.append(_add_import_flowjo)
_SUBCOMMANDS.append(_add_cohorts)
_SUBCOMMANDS.append(_add_template)
_SUBCOMMANDS.append(add_report)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``bcsc-flow`` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="bcsc-flow", description="Flow-cytometry gating and sorting analysis (bcsc_flow)."
    )
    parser.add_argument("--version", action="version", version=f"bcsc-flow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except BcscFlowError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"bcsc-flow: error: {exc}\n")
        return 1
    except FileNotFoundError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"bcsc-flow: error: {exc}\n")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
