"""``bcsc-flow compare`` and ``cohorts``: statistics on written population tables."""

from __future__ import annotations

import argparse
import sys
import warnings

from bcsc_flow.batch import write_table

__all__ = ["add_compare", "add_cohorts"]


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
    write_table(out, args.out)
    for w in caught:
        sys.stderr.write(f"bcsc-flow: warning: {w.message}\n")
    tested = out["p_value"].notna().sum()
    sys.stdout.write(
        f"wrote {len(out)} comparisons ({tested} tested, {out['test'].iloc[0]}) to {args.out}\n"
    )
    return 0


def add_compare(sub: argparse._SubParsersAction) -> None:
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
        write_table(calls, args.calls_out)
    write_table(result, args.out)
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


def add_cohorts(sub: argparse._SubParsersAction) -> None:
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
